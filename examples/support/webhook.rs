//! The listener benchmarks' Shopify webhook deliveries: an `orders/paid` body and its HMAC
//! signature under the benchmarks' webhook secret. Included by `bench_listen` and
//! `bench_listen_abuse` with `#[path]`.

#![allow(dead_code)]

use anyhow::Result;
use base64::Engine;
use hmac::{KeyInit, Mac};
use serde_json::json;

/// The webhook secret the benchmarks configure and sign with.
pub const SECRET: &str = "bench-secret";

/// The `X-Shopify-Hmac-Sha256` value of `body`: base64 of its HMAC-SHA256 under [`SECRET`].
pub fn sign(body: &[u8]) -> Result<String> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes())
        .map_err(|e| anyhow::anyhow!("hmac key: {e}"))?;
    mac.update(body);
    Ok(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// A paid order `id` (named `#B{id}`) with one line `line_id` of `quantity` × `sku`, as
/// Shopify's `orders/paid` webhook sends it.
pub fn order_body(id: u64, line_id: u64, sku: &str, quantity: i64) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(&json!({
        "id": id,
        "admin_graphql_api_id": format!("gid://shopify/Order/{id}"),
        "name": format!("#B{id}"),
        "created_at": "2026-11-26T10:00:00Z",
        "updated_at": "2026-11-26T10:00:00Z",
        "cancelled_at": null,
        "test": false,
        "financial_status": "paid",
        "location_id": null,
        "line_items": [{"id": line_id, "sku": sku, "variant_id": null, "quantity": quantity,
                        "current_quantity": quantity, "gift_card": false}],
        "refunds": [],
    }))?)
}
