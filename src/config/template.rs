//! The files `replenish init` writes: a commented `replenish.toml` with every key (set to its
//! default, or commented out where it has none or is a secret) and `.env.example` naming every
//! secret. A test checks the template against the keys the serde types declare, so a new key
//! cannot be left out of it.

use super::env::SECRETS;

const TEMPLATE_TOML: &str = r#"# replenish configuration, written by `replenish init`.
# Every key below shows its default. Unknown keys are errors, so a typo never silently falls back to a default.
# Secrets (tokens, keys, passwords) belong in the environment (see .env.example); the environment wins over
# this file. Relative paths are relative to this file's folder.

[shopify]
# Your shop's myshopify.com domain (required unless base_url is set; no default).
shop = "your-store.myshopify.com"
# Shopify Admin GraphQL API version (default "2026-01").
api_version = "2026-01"
# API host override, e.g. a local sandbox; the client appends /admin/api/{api_version}/graphql.json (default "https://{shop}").
# base_url = "http://127.0.0.1:8787/shopify"
# Orders per GraphQL page, 1 to 250; small pages stay well under Shopify's query cost cap (default 10).
orders_page_size = 10
# Line items fetched with each order, 1 to 250; an order with more fetches the rest separately (default 30).
line_items_page_size = 30
# Seconds subtracted from the updated_at watermark on incremental syncs, so late writes are not missed (default 300).
watermark_overlap_secs = 300
# Milliseconds between polls of a running bulk operation, used by the first backfill (default 2000).
bulk_poll_ms = 2000
# Milliseconds the bulk result download may receive nothing before it counts as stalled; the download itself has no total timeout, and a stalled or broken one resumes where it stopped (default 60000).
bulk_stall_ms = 60000
# Admin API access token: secret, set SHOPIFY_ACCESS_TOKEN in the environment (or access_token = "..." here; no default).
# access_token = ""
# Webhook signing secret for `listen`: secret, set SHOPIFY_WEBHOOK_SECRET (or webhook_secret = "..." here; no default).
# webhook_secret = ""
# Previous webhook secret, also accepted during a rotation: secret, set SHOPIFY_WEBHOOK_SECRET_OLD (or webhook_secret_old; no default).
# webhook_secret_old = ""

[cin7]
# Cin7 Core API v2 base URL; a trailing / is added if missing (default "https://inventory.dearsystems.com/ExternalApi/v2/").
base_url = "https://inventory.dearsystems.com/ExternalApi/v2/"
# Requests per minute, evenly spaced; lowered automatically when Cin7 throttles, and Cin7 documents 60 per API application (default 100).
requests_per_minute = 100
# Rows per page on paged endpoints, 1 to 1000 (default 1000).
page_size = 1000
# Approach of the purchases `draft` creates: "INVOICE" (invoice first) or "STOCK" (stock first) (default "INVOICE").
purchase_approach = "INVOICE"
# Cin7 API account id: secret, set CIN7_ACCOUNT_ID in the environment (or account_id = "..." here; no default).
# account_id = ""
# Cin7 API application key: secret, set CIN7_APPLICATION_KEY in the environment (or application_key = "..." here; no default).
# application_key = ""

[http]
# Seconds before one API request times out; not the bulk result download, which has shopify.bulk_stall_ms instead (default 30).
timeout_secs = 30
# Retries of a throttled or transiently failed request; requests that create something are never blindly retried (default 5).
max_retries = 5
# First retry delay in milliseconds, doubled each retry with jitter; a Retry-After header wins (default 1000).
retry_initial_ms = 1000
# Longest delay between two retries, in milliseconds (default 60000).
retry_max_ms = 60000

[store]
# SQLite database holding orders, snapshots, the draft ledger and the alert outbox (default "replenish.db").
path = "replenish.db"

[policy]
# Shop timezone, an IANA name such as "Europe/London"; sets demand days and the plan date (default "UTC").
timezone = "UTC"
# Whole days of paid-order history used for velocity, ending yesterday (default 28).
velocity_window_days = 28
# Days of demand an order should cover beyond the lead time (default 30).
cover_days = 30
# Chance of not running out during the lead time, strictly between 0 and 1; sets safety stock (default 0.95).
service_level = 0.95
# Lead time in days when neither this file nor Cin7 gives one (default 14).
default_lead_time_days = 14
# Leave out-of-stock days out of velocity, so a stockout does not hide demand (default true).
stockout_adjust = true
# Fewest in-stock days in the window for the stockout adjustment to apply, at most velocity_window_days (default 7).
min_in_stock_days = 7
# Also order when stock falls to Cin7's product reorder levels (default true).
use_cin7_reorder_levels = true
# A PO below its supplier's min_order_value: "hold" it for a person, or "top_up" by whole packs (default "hold").
below_minimum = "hold"
# Availability older than this many minutes is stale and its lines are held, not drafted (default 180).
max_data_age_minutes = 180
# Days of availability snapshots kept for stockout history (default 120).
snapshot_retention_days = 120
# Planning rules: "classic" (one service level and cover for every unit) or "adaptive" (per-unit demand models, service levels allocated to reach target_fill_rate, economic order quantities) (default "classic").
method = "classic"
# Adaptive: days of sales history the demand models learn from; 392 or more lets the yearly model in (default 120).
history_days = 120
# Adaptive: the demand models a unit may get, chosen per unit by forecast error; "flat" is always among them (default all: ["flat", "holt", "croston_sba", "tsb", "weekday", "yearly"]).
demand_models = ["flat", "holt", "croston_sba", "tsb", "weekday", "yearly"]
# Adaptive: share of demand (weighted by units) the service levels are allocated to fill from stock, strictly between 0 and 1; the backtest shows what it reaches (default 0.99).
target_fill_rate = 0.99
# Adaptive: yearly cost of holding stock, as a share of its unit cost (default 0.25).
carrying_rate = 0.25
# Adaptive: cost of placing one purchase order, in supplier currency (default 40).
order_cost_po = 40
# Adaptive: cost of one more line on a purchase order (default 2).
order_cost_line = 2

[locations]
# Cin7 location that receives demand from orders with no mapped location (required; no default).
default = "Main Warehouse"
# Cin7 locations never planned and never counted, e.g. ["Returns"] (default []).
ignore = []

# Shopify location id -> Cin7 location name; unmapped Shopify locations go to locations.default (default none).
[locations.shopify]
# "gid://shopify/Location/1" = "Main Warehouse"

# Key location -> Cin7 locations whose stock counts for it; the key is always a member (default none).
[locations.pools]
# "Main Warehouse" = ["Main Warehouse", "Overflow"]

[skus]
# CSV with header shopify_sku,cin7_sku for SKUs that differ between the two systems (default none).
# mapping_file = "sku-map.csv"

# Per-SKU overrides (they win over Cin7's values): supplier by Cin7 supplier name, moq, and pack (carton size, above 0).
# [skus."ABC-123"]
# supplier = "Acme Ltd"
# moq = 12
# pack = 6

# Per-supplier overrides, by Cin7 supplier name: lead_time_days, moq, min_order_value (supplier currency),
# and currency_rate (the CurrencyRate sent on its purchases; default 1).
# [suppliers."Acme Ltd"]
# lead_time_days = 21
# moq = 0
# min_order_value = 500
# currency_rate = 1

[alerts]
# Slack incoming-webhook URL for alerts: secret, set SLACK_WEBHOOK_URL (or slack_webhook_url = "..." here; default none).
# slack_webhook_url = ""
# Addresses that receive email alerts; needs smtp_host and email_from (default [], no email).
email_to = []
# Sender address of email alerts (default none), e.g. "replenish@example.com".
# email_from = "replenish@example.com"
# SMTP server for email alerts (default none).
# smtp_host = "smtp.example.com"
# SMTP port (default none: the mailer's choice, usually 587 with STARTTLS).
# smtp_port = 587
# SMTP user name (default none: no login).
# smtp_username = "replenish"
# SMTP password: secret, set SMTP_PASSWORD in the environment (or smtp_password = "..." here; default none).
# smtp_password = ""
# How to reach the SMTP server: "starttls" (port 587), "tls" (port 465) or "none" (a relay on this host only) (default "starttls").
smtp_tls = "starttls"
# Hours before an alert already delivered is sent again for the same thing; repeats in between are counted, not sent (default 24).
repeat_after_hours = 24

[listen]
# Address the `listen` webhook server binds to; keep it on 127.0.0.1 behind a TLS proxy (default "127.0.0.1:8080").
bind = "127.0.0.1:8080"
# Milliseconds to wait after a webhook for more before replanning the SKUs it touched (default 500).
debounce_ms = 500
# Milliseconds a client has to send a request's headers, from its first byte; slower connections are closed (default 5000).
header_timeout_ms = 5000
# Milliseconds a client has to send a request's body once its headers are in; slower ones get 408 (default 5000).
body_timeout_ms = 5000
# Milliseconds a kept-alive connection may wait for its next request before it is closed (default 30000).
idle_timeout_ms = 30000
# Connections served at once; beyond it a few get a quick 503 (health checks still answered) and the rest are closed (default 1024).
max_connections = 1024
# MiB of request bodies held in memory at once; a delivery beyond it gets 503 before it is read, and Shopify retries (default 64).
max_buffered_mib = 64

[reconcile]
# Report a tool draft that is still a draft (not approved or voided) after this many days (default 3).
stale_draft_days = 3
# Report a velocity that rose by more than this many standard deviations since the last reconcile (default 3).
velocity_jump_sigma = 3
"#;

/// The commented `replenish.toml` that `replenish init` writes (every key, with a comment).
pub fn template_toml() -> String {
    TEMPLATE_TOML.to_string()
}

/// The `.env.example` that `replenish init` writes, naming every secret.
pub fn template_env() -> String {
    let mut out = String::from(
        "# Secrets for replenish. Copy this file to .env beside replenish.toml (replenish reads it; keep\n\
         # it out of version control and readable only by you: chmod 600 .env), or export these in the\n\
         # environment of the cron job / service. The environment wins over .env, and both win over\n\
         # the same keys in replenish.toml.\n\
         # `plan` needs none of them; sync, draft, reconcile, skus and listen need the Shopify and Cin7 ones.\n",
    );
    for s in SECRETS {
        out.push('\n');
        out.push_str(&format!(
            "# {} (or `{}` in replenish.toml)\n",
            s.what, s.key
        ));
        out.push_str(s.env);
        out.push_str("=\n");
    }
    out
}
