//! What the Shopify token may read, checked once before a command reads orders: a token without
//! `read_orders` (or without the fulfillment-order scopes while `[locations.shopify]` maps
//! locations, or without `read_all_orders` for more than 60 days) stops the command with exit 2
//! naming the scope to grant, instead of failing later with an error nobody can act on — or,
//! worse, planning from orders Shopify silently cut short. The verdicts themselves are
//! [`crate::adapters::shopify::scopes::judge`]'s; `doctor` shows the same ones.

use anyhow::Result;

use crate::adapters::http::{Counters, build_client};
use crate::adapters::shopify::ShopifyClient;
use crate::adapters::shopify::scopes::{self, Needs, Severity};
use crate::app::UsageError;
use crate::clock::Clock;
use crate::config::Settings;

/// What reading orders over `order_days` days needs from the token, under `settings`.
pub fn order_needs(settings: &Settings, order_days: u32) -> Needs {
    Needs {
        orders: true,
        order_days,
        mapped_locations: !settings.locations.shopify.is_empty(),
        variants: false,
        locations: false,
    }
}

/// A Shopify client for reading orders over `order_days` days, after checking the token's
/// scopes: a scope the work cannot do without is a [`UsageError`] (exit 2) naming it; without
/// any fulfillment-order scope, while nothing is located by fulfillment orders, the client reads
/// orders without them. When the scopes cannot be read at all, the client is returned as it is
/// (a denied query still names its scope when it comes).
pub async fn orders_client(
    settings: &Settings,
    counters: &Counters,
    clock: Clock,
    order_days: u32,
) -> Result<ShopifyClient> {
    let client = ShopifyClient::new(
        settings,
        build_client(&settings.http),
        counters.clone(),
        clock,
    )?;
    let granted = match client.access_scopes().await {
        Ok(granted) => granted,
        Err(e) => {
            tracing::warn!(
                "could not read the Shopify token's access scopes ({e}); going on without checking them"
            );
            return Ok(client);
        }
    };
    let verdicts = scopes::judge(&granted, &order_needs(settings, order_days));
    let missing: Vec<String> = verdicts
        .iter()
        .filter(|v| v.severity == Severity::Missing)
        .map(|v| format!("{} — without it {}", v.named(), v.cost))
        .collect();
    if !missing.is_empty() {
        return Err(UsageError(format!(
            "the Shopify access token lacks {}: {}. Grant {} in the Shopify app's Admin API access scopes (then `replenish doctor` checks them)",
            if missing.len() == 1 { "a scope this needs" } else { "scopes this needs" },
            missing.join("; "),
            if missing.len() == 1 { "it" } else { "them" },
        ))
        .into());
    }
    if granted.has_fulfillment_orders() {
        Ok(client)
    } else {
        tracing::info!(
            "the Shopify token has no fulfillment-order scope ({}); orders are read without fulfillment orders, which is fine while [locations.shopify] maps no location",
            scopes::FULFILLMENT_ORDER_SCOPES[0]
        );
        Ok(client.without_fulfillment_orders())
    }
}
