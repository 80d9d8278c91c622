//! Signed Shopify `orders/paid` webhook deliveries for the orders a tick creates (when
//! `webhook_url` and `webhook_secret` are set): REST-shaped snake_case payloads, the real headers,
//! base64 HMAC-SHA256 of the raw body, some duplicates and a shuffled order, like Shopify.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::App;
use super::state::{Fin, Order, WebhookRecord, World};

/// The API version the sandbox's webhooks claim.
pub const API_VERSION: &str = "2026-01";
pub const SHOP_DOMAIN: &str = "sandbox.myshopify.com";

/// One delivery to make.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub topic: &'static str,
    pub body: String,
    pub order_gid: String,
    pub webhook_id: String,
    pub event_id: String,
    pub triggered_at: String,
    pub duplicate: bool,
}

/// base64(HMAC-SHA256(secret, body)), Shopify's `X-Shopify-Hmac-Sha256`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            B64.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

fn rest_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

/// The REST-shaped order payload.
pub fn payload(w: &World, o: &Order) -> Value {
    let lines: Vec<Value> = o
        .lines
        .iter()
        .map(|l| {
            let v = l.variant.map(|v| &w.variants[v as usize]);
            json!({
                "id": l.num,
                "admin_graphql_api_id": format!("gid://shopify/LineItem/{}", l.num),
                "variant_id": v.map(|v| v.num),
                "product_id": v.map(|v| v.product_num),
                "sku": l.sku,
                "title": v.map(|v| v.product_title.clone()).unwrap_or_else(|| "Custom item".into()),
                "name": v.map(|v| v.product_title.clone()).unwrap_or_else(|| "Custom item".into()),
                "quantity": l.quantity,
                "current_quantity": l.current,
                "fulfillable_quantity": l.current,
                "gift_card": l.gift_card,
                "requires_shipping": !l.gift_card,
                "price": format!("{:.2}", l.price_cents as f64 / 100.0),
                "total_discount": "0.00",
            })
        })
        .collect();
    let location_id = o
        .retail
        .and_then(|r| w.shop_locations.get(r as usize))
        .map(|l| l.num);
    json!({
        "id": o.num,
        "admin_graphql_api_id": format!("gid://shopify/Order/{}", o.num),
        "name": format!("#{}", o.number),
        "order_number": o.number,
        "created_at": rest_time(o.created),
        "updated_at": rest_time(o.updated),
        "processed_at": rest_time(o.created),
        "cancelled_at": o.cancelled.map(rest_time),
        "test": o.test,
        "financial_status": o.fin.as_str().to_ascii_lowercase(),
        "fulfillment_status": null,
        "location_id": location_id,
        "source_name": if o.retail.is_some() { "pos" } else { "web" },
        "currency": "USD",
        "presentment_currency": "USD",
        "line_items": lines,
        "refunds": [],
    })
}

/// The deliveries for the orders created by a tick (paid ones), duplicated and shuffled a little.
pub fn plan(w: &mut World, new_orders: &[usize]) -> Vec<Delivery> {
    if w.opts.webhook_url.is_none() {
        return Vec::new();
    }
    let mut rng = std::mem::replace(&mut w.rng_webhooks, super::rng::Rng::new(0));
    let mut out = Vec::new();
    for &i in new_orders {
        let o = &w.orders[i];
        if !matches!(o.fin, Fin::Paid | Fin::PartiallyRefunded | Fin::Refunded) {
            continue;
        }
        let d = Delivery {
            topic: "orders/paid",
            body: payload(w, o).to_string(),
            order_gid: format!("gid://shopify/Order/{}", o.num),
            webhook_id: rng.guid(),
            event_id: rng.guid(),
            triggered_at: o.created.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            duplicate: false,
        };
        if rng.chance(0.1) {
            out.push(Delivery {
                duplicate: true,
                ..d.clone()
            });
        }
        out.push(d);
    }
    // Mostly in order, with some neighbours swapped.
    for k in 1..out.len() {
        if rng.chance(0.15) {
            out.swap(k - 1, k);
        }
    }
    w.rng_webhooks = rng;
    out
}

/// Sends the deliveries one after another and records each in the world.
pub async fn deliver(app: App, deliveries: Vec<Delivery>) {
    let (url, secret) = {
        let w = app.lock();
        (
            w.opts.webhook_url.clone(),
            w.opts.webhook_secret.clone().unwrap_or_default(),
        )
    };
    let Some(url) = url else {
        return;
    };
    for d in deliveries {
        let sig = sign(&secret, d.body.as_bytes());
        let res = app
            .http
            .post(&url)
            .header("Content-Type", "application/json")
            .header("X-Shopify-Topic", d.topic)
            .header("X-Shopify-Hmac-Sha256", sig)
            .header("X-Shopify-Shop-Domain", SHOP_DOMAIN)
            .header("X-Shopify-API-Version", API_VERSION)
            .header("X-Shopify-Webhook-Id", &d.webhook_id)
            .header("X-Shopify-Event-Id", &d.event_id)
            .header("X-Shopify-Triggered-At", &d.triggered_at)
            .body(d.body.clone())
            .send()
            .await;
        let (status, error) = match res {
            Ok(r) => (Some(r.status().as_u16()), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let mut w = app.lock();
        w.webhook_deliveries += 1;
        w.webhook_log.push(WebhookRecord {
            topic: d.topic.to_string(),
            order_id: d.order_gid,
            webhook_id: d.webhook_id,
            event_id: d.event_id,
            duplicate: d.duplicate,
            status,
            error,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_a_known_vector() {
        // RFC 4231 test case 2, base64-encoded.
        let sig = sign("Jefe", b"what do ya want for nothing?");
        let hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0))
            .collect();
        assert_eq!(sig, B64.encode(bytes));
    }
}
