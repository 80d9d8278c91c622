//! replenish-sandbox: a local, stateful imitation of the Cin7 Core API v2 and the Shopify Admin
//! GraphQL API, served by axum on one port (see `docs/sandbox.md` in the shared docs).
//! `replenish sandbox`, `replenish demo`, the product's tests and its benchmarks start it; the
//! product re-exports this crate as `replenish::sandbox`.
//!
//! It is its own crate so that the compiler keeps the boundary: the sandbox imitates the two
//! services from their documented behaviour and knows nothing of the client that talks to them.
//! It must never depend on the `replenish` package (that would be a cycle, and would let the
//! imitation bend to the client); what joins the two, such as `Settings` pointing the tool at a
//! running sandbox, lives in the product (`replenish::app::sandbox`). Its own tests speak HTTP
//! with documents shaped like the client's; the product's `tests/it/sandbox_contract.rs` sends the
//! client's real documents. Its clock is its own discrete one (the world's `now`, which starts at
//! [`SandboxOptions::now`] and moves only on `POST /sandbox/tick`): it never reads the wall clock.
//!
//! - [`SandboxOptions`] / [`start`] / [`SandboxHandle`] / [`banner`]: the public entry points;
//!   [`VariantTruth`]: the generated catalog's ground truth, for tests of the SKU audit.
//! - `generator` (catalog), `orders` (the order stream and true demand), `stock` (availability and
//!   purchases): the world, a pure function of the seed and the options (`rng` is the only source
//!   of randomness).
//! - `cin7`, `shopify` (+ `graphql`, `search`): the two APIs, with their paths, envelopes, limits
//!   and errors.
//! - `control`: the `/sandbox/*` routes (clock, buyer/warehouse actions, truth and demand shapes,
//!   state, bulk files).
//! - `faults`, `webhooks`: injected failures and signed webhook deliveries.
//!
//! The sandbox is test and demo infrastructure: it must never be pointed at real services.

mod cin7;
mod control;
mod faults;
mod generator;
mod graphql;
mod orders;
mod rng;
mod search;
mod shopify;
mod state;
mod stock;
mod util;
mod webhooks;

#[cfg(test)]
mod test_documents;
#[cfg(test)]
mod tests;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::{any, get, post};
use chrono::{DateTime, Utc};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use generator::{HOSTILE_FORMULA, HOSTILE_LONG_SKU_CHARS, HOSTILE_TITLE};
use state::World;

/// Everything that shapes the generated world and the sandbox's behaviour.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// PRNG seed; everything generated is a pure function of it and the other options.
    pub seed: u64,
    /// Number of Cin7 products.
    pub skus: usize,
    /// Number of Cin7 warehouse locations (plus a deprecated "Old Depot" and "Returns").
    pub locations: usize,
    pub suppliers: usize,
    /// Days of order history before `now`.
    pub days: u32,
    pub orders_per_day: u32,
    /// Share of products whose Shopify SKU differs by case/space/dash.
    pub mismatch_rate: f64,
    /// Share of API requests that fail at random.
    pub fault_rate: f64,
    /// Share of `POST purchase` requests that create the purchase and then lose the answer, on
    /// top of `fault_rate` (1.0: every create; for exactly-once tests).
    pub lost_answer_rate: f64,
    /// Cin7 requests allowed per rolling 60 s.
    pub cin7_rpm: u32,
    /// 503 (Cin7's documented answer) or 429 (with `Retry-After`).
    pub throttle_status: u16,
    /// `Retry-After` seconds sent with 429s.
    pub retry_after_secs: u64,
    /// Shopify cost bucket size (`maximumAvailable`).
    pub shopify_bucket: f64,
    /// Shopify cost points restored per second.
    pub shopify_restore_rate: f64,
    /// The sandbox clock's start (the end of the generated history).
    pub now: DateTime<Utc>,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    /// Most rows served on one Cin7 page, whatever `Limit` asks (1..=1000).
    pub cin7_page_cap: u32,
    /// Access scopes granted to the Shopify token.
    pub scopes: Vec<String>,
    /// Bytes a second at which bulk-operation result files are served (`None`: unthrottled).
    pub bulk_bytes_per_sec: Option<u64>,
    /// The first download of each bulk result file is cut after this many bytes.
    pub bulk_drop_after: Option<u64>,
    /// Plant hostile upstream text: a SKU, a product name and a location name carrying a terminal
    /// escape ([`HOSTILE_TITLE`]), a 100,000-character SKU, and a SKU, product name and supplier
    /// name that are a spreadsheet formula ([`HOSTILE_FORMULA`]). For checking that reports show
    /// them safely.
    pub hostile_names: bool,
}

/// Every Shopify access scope the tool uses (see the README's set-up section): what the sandbox
/// grants unless told otherwise.
pub const DEFAULT_SCOPES: [&str; 5] = [
    "read_orders",
    "read_all_orders",
    "read_products",
    "read_locations",
    "read_merchant_managed_fulfillment_orders",
];

impl SandboxOptions {
    /// Checks the options, naming the flag of the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        if self.throttle_status != 503 && self.throttle_status != 429 {
            return Err(format!(
                "--throttle-status must be 503 or 429, not {}",
                self.throttle_status
            ));
        }
        for (flag, rate) in [
            ("--fault-rate", self.fault_rate),
            ("--lost-answer-rate", self.lost_answer_rate),
            ("--mismatch-rate", self.mismatch_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{flag} must be between 0 and 1, not {rate}"));
            }
        }
        if self.cin7_rpm == 0 {
            return Err("--cin7-rpm must be at least 1".to_string());
        }
        for (flag, value, max) in [
            ("--skus", self.skus as u64, 1_000_000),
            ("--locations", self.locations as u64, 50),
            ("--suppliers", self.suppliers as u64, 10_000),
            ("--days", u64::from(self.days), 3650),
        ] {
            if !(1..=max).contains(&value) {
                return Err(format!("{flag} must be between 1 and {max}, not {value}"));
            }
        }
        if self.orders_per_day > 1_000_000 {
            return Err(format!(
                "--orders-per-day must be at most 1000000, not {}",
                self.orders_per_day
            ));
        }
        if self.retry_after_secs > 3600 {
            return Err(format!(
                "--retry-after-secs must be at most 3600, not {}",
                self.retry_after_secs
            ));
        }
        if !(1..=1000).contains(&self.cin7_page_cap) {
            return Err(format!(
                "--cin7-page-cap must be between 1 and 1000, not {}",
                self.cin7_page_cap
            ));
        }
        if self.bulk_bytes_per_sec == Some(0) {
            return Err("--bulk-bytes-per-sec must be at least 1".to_string());
        }
        Ok(())
    }
}

/// Where the sandbox's clock starts when the options do not say: a fixed instant, so that a world
/// built from options alone is a pure function of them. `replenish sandbox` and `replenish demo`
/// start it at the process's clock (the wall clock, or `--now`).
pub const DEFAULT_NOW: DateTime<Utc> = match DateTime::from_timestamp(1_768_035_600, 0) {
    // 2026-01-10T09:00:00Z
    Some(t) => t,
    None => DateTime::UNIX_EPOCH,
};

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            seed: 42,
            skus: 500,
            locations: 2,
            suppliers: 12,
            days: 90,
            orders_per_day: 200,
            mismatch_rate: 0.08,
            fault_rate: 0.0,
            lost_answer_rate: 0.0,
            cin7_rpm: 60,
            throttle_status: 503,
            retry_after_secs: 60,
            shopify_bucket: 1000.0,
            shopify_restore_rate: 50.0,
            now: DEFAULT_NOW,
            webhook_url: None,
            webhook_secret: None,
            cin7_page_cap: 1000,
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
            bulk_bytes_per_sec: None,
            bulk_drop_after: None,
            hostile_names: false,
        }
    }
}

/// What a generated Shopify variant really is: the ground truth a SKU audit is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantTruth {
    /// `gid://shopify/ProductVariant/…`, as `productVariants` answers.
    pub id: String,
    /// The SKU Shopify shows (possibly spelled differently from Cin7's, blank, or unknown to Cin7).
    pub sku: Option<String>,
    /// `ACTIVE` or `ARCHIVED`.
    pub product_status: String,
    pub gift_card: bool,
    /// The Cin7 product the variant really is; `None` for Shopify-only items.
    pub cin7_sku: Option<String>,
    /// That product is active (not deprecated), and of type `Stock`.
    pub cin7_active: bool,
    pub cin7_stock: bool,
    /// The SKU was seeded to differ from the Cin7 SKU (`--mismatch-rate`: case, space or dash).
    pub mismatched: bool,
}

/// Shared state of the running sandbox.
#[derive(Clone)]
pub(crate) struct App {
    world: Arc<Mutex<World>>,
    http: reqwest::Client,
}

/// Installs rustls's `ring` as the process's TLS crypto provider, once. reqwest is built without a
/// provider of its own (the product's choice: one C crypto library, not two) and refuses to build
/// a client before one is installed; the sandbox's own client (webhook deliveries) is built after
/// this. Installing again, or after the product did, changes nothing.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // An error means a provider is already installed, which is all that is needed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl App {
    fn new(world: World) -> App {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        App {
            world: Arc::new(Mutex::new(world)),
            http,
        }
    }

    /// Locks the world (a panic in another handler does not make it unusable).
    pub fn lock(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running sandbox.
pub struct SandboxHandle {
    addr: SocketAddr,
    base: String,
    app: App,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl SandboxHandle {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.base.clone()
    }

    pub fn cin7_base_url(&self) -> String {
        format!("{}/cin7/ExternalApi/v2/", self.base)
    }

    pub fn shopify_base_url(&self) -> String {
        format!("{}/shopify", self.base)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The generated Shopify locations and the Cin7 location each maps to: `(gid, cin7 name)`.
    pub fn shopify_locations(&self) -> Vec<(String, String)> {
        let w = self.app.lock();
        w.shop_locations
            .iter()
            .map(|l| {
                (
                    format!("gid://shopify/Location/{}", l.num),
                    w.locations[l.cin7 as usize].name.clone(),
                )
            })
            .collect()
    }

    /// The name of the default Cin7 location (the first warehouse).
    pub fn default_location(&self) -> String {
        let w = self.app.lock();
        w.locations
            .first()
            .map(|l| l.name.clone())
            .unwrap_or_default()
    }

    /// Every generated Shopify variant with the Cin7 product it really is (read-only), so tests
    /// can check the SKU audit against the seeded mismatches: nothing the two APIs answer links a
    /// misspelt variant to its product.
    pub fn variant_truth(&self) -> Vec<VariantTruth> {
        let w = self.app.lock();
        w.variants
            .iter()
            .map(|v| {
                let p = v.product.and_then(|p| w.products.get(p as usize));
                VariantTruth {
                    id: format!("gid://shopify/ProductVariant/{}", v.num),
                    sku: v.sku.clone(),
                    product_status: v.product_status.to_string(),
                    gift_card: v.gift_card,
                    cin7_sku: p.map(|p| p.sku.clone()),
                    cin7_active: p.is_some_and(|p| p.active),
                    cin7_stock: p.is_some_and(|p| p.kind == "Stock"),
                    mismatched: p.is_some_and(|p| p.mismatched),
                }
            })
            .collect()
    }

    /// The same JSON as `GET /sandbox/state`.
    pub fn state_json(&self) -> serde_json::Value {
        control::state_value(&self.app.lock())
    }

    /// Stops serving; waits briefly for open requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let abort = self.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(3), &mut self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

fn router(app: App) -> Router {
    Router::new()
        .route("/cin7/ExternalApi/v2/{*path}", any(cin7::handle))
        .route(
            "/shopify/admin/api/{version}/graphql.json",
            post(shopify::handle),
        )
        .route("/sandbox/tick", post(control::tick))
        .route("/sandbox/purchase/{id}/approve", post(control::approve))
        .route("/sandbox/purchase/{id}/receive", post(control::receive))
        .route("/sandbox/demand", get(control::demand))
        .route("/sandbox/catalog", get(control::catalog))
        .route("/sandbox/state", get(control::state))
        .route("/sandbox/bulk/{file}", get(control::bulk_file))
        .with_state(app)
}

/// Binds `bind` (e.g. "127.0.0.1:0" for a free port), generates the state and serves in a spawned
/// tokio task.
pub async fn start(bind: &str, opts: SandboxOptions) -> anyhow::Result<SandboxHandle> {
    opts.validate().map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot bind the sandbox to {bind}"))?;
    let addr = listener.local_addr().context("sandbox local address")?;
    let ip = if addr.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        addr.ip()
    };
    let base = match ip {
        IpAddr::V4(v4) => format!("http://{v4}:{}", addr.port()),
        IpAddr::V6(v6) => format!("http://[{v6}]:{}", addr.port()),
    };
    let base_for_world = base.clone();
    let world = tokio::task::spawn_blocking(move || generator::build(&opts, base_for_world))
        .await
        .context("generating the sandbox world")?;
    let app = App::new(world);
    let router = router(app.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!("sandbox server stopped: {e}");
        }
    });
    Ok(SandboxHandle {
        addr,
        base,
        app,
        shutdown: Some(tx),
        task,
    })
}

/// `text` as a TOML basic string: quotes and backslashes escaped, and control characters and
/// bidi overrides written as `\uXXXX`, so a location name (`--hostile-names`) neither breaks
/// the snippet nor reaches the terminal raw.
pub fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The text `replenish sandbox` prints after starting: both base URLs, a `replenish.toml` snippet
/// pointing at them, and the environment variables to export.
pub fn banner(handle: &SandboxHandle, opts: &SandboxOptions) -> String {
    let base = handle.base_url();
    let mut s = String::new();
    s.push_str(&format!("replenish sandbox listening on {base}\n"));
    s.push_str(&format!("  Cin7 Core API:  {}\n", handle.cin7_base_url()));
    s.push_str(&format!(
        "  Shopify API:    {}/admin/api/2026-01/graphql.json\n",
        handle.shopify_base_url()
    ));
    s.push_str(&format!("  Inspect:        {base}/sandbox/state\n"));
    s.push_str(&format!(
        "  seed {}, {} SKUs, {} locations, {} suppliers, {} days x {} orders/day, fault rate {}\n\n",
        opts.seed,
        opts.skus,
        opts.locations,
        opts.suppliers,
        opts.days,
        opts.orders_per_day,
        opts.fault_rate
    ));
    s.push_str("# replenish.toml\n");
    s.push_str("[shopify]\n");
    s.push_str("shop = \"sandbox.myshopify.com\"\n");
    s.push_str(&format!("base_url = \"{}\"\n", handle.shopify_base_url()));
    s.push_str("api_version = \"2026-01\"\n\n");
    s.push_str("[cin7]\n");
    s.push_str(&format!("base_url = \"{}\"\n", handle.cin7_base_url()));
    s.push_str(&format!("requests_per_minute = {}\n\n", opts.cin7_rpm));
    s.push_str("[locations]\n");
    s.push_str(&format!(
        "default = {}\n",
        toml_string(&handle.default_location())
    ));
    s.push_str("ignore = [\"Returns\"]\n\n");
    s.push_str("[locations.shopify]\n");
    for (gid, name) in handle.shopify_locations() {
        s.push_str(&format!("\"{gid}\" = {}\n", toml_string(&name)));
    }
    s.push_str("\n# environment (any non-empty values work)\n");
    s.push_str("export SHOPIFY_ACCESS_TOKEN=sandbox\n");
    s.push_str("export CIN7_ACCOUNT_ID=sandbox\n");
    s.push_str("export CIN7_APPLICATION_KEY=sandbox\n");
    if let Some(secret) = &opts.webhook_secret {
        s.push_str(&format!("export SHOPIFY_WEBHOOK_SECRET={secret}\n"));
    }
    s
}
