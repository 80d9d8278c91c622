//! Configuration: one TOML file plus secrets from the environment, validated once into [`Settings`].
//!
//! Key names are fixed by the shared config contract (users' cron jobs depend on them). Unknown keys
//! are errors naming file, line and key. Secrets are `SecretString`s: they are redacted in `Debug`
//! and never logged. Environment variables win over the file for secrets.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rust_decimal::Decimal;
use secrecy::SecretString;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub use crate::core::settings::{
    BelowMinimum, LocationSettings, Policy, SkuOverride, SupplierOverride,
};

/// Everything a command needs, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file the settings came from (`None` for built-in settings such as the demo's).
    pub source: Option<PathBuf>,
    pub shopify: ShopifySettings,
    pub cin7: Cin7Settings,
    pub http: HttpSettings,
    pub store: StoreSettings,
    pub policy: Policy,
    pub locations: LocationSettings,
    pub skus: SkuSettings,
    pub suppliers: BTreeMap<String, SupplierOverride>,
    pub alerts: AlertSettings,
    pub listen: ListenSettings,
    pub reconcile: ReconcileSettings,
}

#[derive(Debug, Clone)]
pub struct ShopifySettings {
    pub shop: String,
    pub api_version: String,
    /// Resolved base URL without trailing slash: `base_url` if set, else `https://{shop}`.
    pub base_url: String,
    pub access_token: Option<SecretString>,
    pub webhook_secret: Option<SecretString>,
    pub webhook_secret_old: Option<SecretString>,
    /// Orders per GraphQL page (default 10, so a page stays well under the 1000-point cap).
    pub orders_page_size: u32,
    /// Line items fetched with each order (default 30; more are fetched separately).
    pub line_items_page_size: u32,
    /// Overlap subtracted from the `updated_at` watermark on incremental syncs (default 300 s).
    pub watermark_overlap_secs: u64,
    /// How often a running bulk operation is polled (default 2000 ms).
    pub bulk_poll_ms: u64,
    /// How long the bulk result download may go without receiving a byte before it counts as
    /// stalled (default 60000 ms). The download has no total timeout (`http.timeout_secs` is per
    /// API request); a stalled or cut download is resumed with a `Range` request.
    pub bulk_stall_ms: u64,
}

#[derive(Debug, Clone)]
pub struct Cin7Settings {
    /// Base URL ending in `/` (the client joins endpoint names to it).
    pub base_url: String,
    pub requests_per_minute: u32,
    pub page_size: u32,
    /// `Approach` of the purchases `draft` creates: `INVOICE` (invoice first) or `STOCK`.
    pub purchase_approach: PurchaseApproach,
    pub account_id: Option<SecretString>,
    pub application_key: Option<SecretString>,
}

/// Cin7's purchase `Approach` (`cin7.purchase_approach`, an addition to the fixed keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PurchaseApproach {
    /// Invoice first (Cin7's `INVOICE`).
    #[default]
    Invoice,
    /// Stock first (Cin7's `STOCK`).
    Stock,
}

impl PurchaseApproach {
    /// The value Cin7 takes.
    pub fn as_cin7(self) -> &'static str {
        match self {
            PurchaseApproach::Invoice => "INVOICE",
            PurchaseApproach::Stock => "STOCK",
        }
    }
}

/// How email alerts reach the SMTP server (`alerts.smtp_tls`, an addition to the fixed keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required), usually port 587.
    #[default]
    StartTls,
    /// TLS from the first byte, usually port 465.
    Tls,
    /// No encryption: only for a relay on the same host (and tests).
    None,
}

/// Timeouts and retry limits shared by both API clients (`[http]`, an addition to the fixed keys).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub timeout_secs: u64,
    pub max_retries: u32,
    pub retry_initial_ms: u64,
    pub retry_max_ms: u64,
}

#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub path: PathBuf,
}

#[derive(Debug, Clone, Default)]
pub struct SkuSettings {
    /// Resolved against the config file's folder.
    pub mapping_file: Option<PathBuf>,
    pub overrides: BTreeMap<String, SkuOverride>,
}

#[derive(Debug, Clone)]
pub struct AlertSettings {
    pub slack_webhook_url: Option<SecretString>,
    pub email_to: Vec<String>,
    pub email_from: Option<String>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<SecretString>,
    pub smtp_tls: SmtpTls,
    /// An alert already delivered is not sent again for the same thing within this many hours.
    pub repeat_after_hours: u32,
}

/// `[reconcile]` (an addition to the fixed keys): the nightly audit's thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconcileSettings {
    /// A tool draft still a draft after this many days is reported.
    pub stale_draft_days: u32,
    /// A velocity above the previous reconcile's by more than this many standard deviations is
    /// reported.
    pub velocity_jump_sigma: f64,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        ReconcileSettings {
            stale_draft_days: 3,
            velocity_jump_sigma: 3.0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ListenSettings {
    pub bind: String,
    pub debounce_ms: u64,
    /// A request head must arrive whole within this, counted from the connection's first byte
    /// (from its opening, for its first request).
    pub header_timeout_ms: u64,
    /// A request body must arrive whole within this, counted from the end of its head.
    pub body_timeout_ms: u64,
    /// A keep-alive connection without a request for this long is closed.
    pub idle_timeout_ms: u64,
    /// Connections served at once; beyond, a few get a quick 503 and the rest are closed.
    pub max_connections: u32,
    /// Request bodies held in memory at once, in MiB; a delivery beyond it is answered 503.
    pub max_buffered_mib: u32,
}

/// A configuration problem, always naming where it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file a config key names (the SKU mapping file) cannot be read.
    #[error("{key}: cannot read {path}: {source}")]
    ReadNamed {
        key: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Syntax, type or unknown-key errors, and value checks, with the location in the file.
    #[error("{path}:{line}: {key}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
    /// A required secret is missing from both the environment and the file.
    #[error("missing secret: set the environment variable {env} (or `{key}` in the config file)")]
    MissingSecret {
        env: &'static str,
        key: &'static str,
    },
    #[error("no config file: looked for {looked_in}; run `replenish init` to write one")]
    NotFound { looked_in: String },
}

impl From<crate::core::mapping::MappingError> for ConfigError {
    /// A malformed SKU mapping file is a configuration error naming `skus.mapping_file`.
    fn from(e: crate::core::mapping::MappingError) -> Self {
        ConfigError::Invalid {
            path: e.path,
            line: e.line,
            key: crate::core::mapping::MAPPING_KEY.to_string(),
            message: e.message,
        }
    }
}

/// Where a secret comes from; `Env` abstracts the process environment so tests need not mutate it.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// A fixed map standing in for the environment (tests, embedding). Empty values count as unset.
impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).cloned()
    }
}

/// The `.env` file beside the config file (what `.env.example` suggests copying it to): the file
/// `replenish` reads secrets from after the process environment and before the config file.
pub const DOT_ENV: &str = ".env";

/// Secrets read from a `.env` file: `KEY=value` lines, `export KEY=value` accepted, `#` comment
/// and blank lines skipped. A value runs to the end of its line (a `#` in it is kept: passwords
/// may hold one) with surrounding spaces trimmed; a value wholly in single or double quotes is
/// taken without them. Only the secrets in [`SECRETS`] are ever looked up in it.
#[derive(Clone)]
pub struct DotEnv {
    pub path: PathBuf,
    vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for DotEnv {
    /// Names the keys, never the values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DotEnv")
            .field("path", &self.path)
            .field("keys", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl DotEnv {
    /// Reads `path`; `Ok(None)` when there is no such file.
    pub fn read(path: &Path) -> Result<Option<DotEnv>, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        DotEnv::parse(&text, path).map(Some)
    }

    /// Parses `.env` text as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<DotEnv, ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut vars = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let invalid = |key: &str, message: &str| ConfigError::Invalid {
                path: path.to_path_buf(),
                line: i + 1,
                key: key.to_string(),
                message: message.to_string(),
            };
            let line = line
                .strip_prefix("export ")
                .map(str::trim_start)
                .unwrap_or(line);
            let Some((key, value)) = line.split_once('=') else {
                return Err(invalid(
                    "(line)",
                    "not a KEY=value line (secrets go one per line, e.g. CIN7_ACCOUNT_ID=…)",
                ));
            };
            let key = key.trim();
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(invalid(
                    "(line)",
                    "the name before `=` must be letters, digits and underscores",
                ));
            }
            let value = value.trim();
            let unquoted = [('"', '"'), ('\'', '\'')]
                .iter()
                .find_map(|(open, close)| {
                    value
                        .strip_prefix(*open)
                        .and_then(|v| v.strip_suffix(*close))
                })
                .filter(|_| value.len() >= 2)
                .unwrap_or(value);
            if vars.insert(key.to_string(), unquoted.to_string()).is_some() {
                return Err(invalid(key, "set twice in this file"));
            }
        }
        Ok(DotEnv {
            path: path.to_path_buf(),
            vars,
        })
    }

    /// Whether the file sets `name` (to a non-empty value).
    pub fn sets(&self, name: &str) -> bool {
        self.vars.get(name).is_some_and(|v| !v.is_empty())
    }
}

impl Env for DotEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).filter(|v| !v.is_empty()).cloned()
    }
}

/// The process environment first, then a `.env` file (when there is one).
pub struct Layered<'a> {
    pub first: &'a dyn Env,
    pub then: Option<&'a DotEnv>,
}

impl Env for Layered<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.first
            .var(name)
            .or_else(|| self.then.and_then(|d| d.var(name)))
    }
}

// ---------------------------------------------------------------------------------------------
// Defaults and secret names
// ---------------------------------------------------------------------------------------------

/// `shopify.api_version` default.
pub const DEFAULT_SHOPIFY_API_VERSION: &str = "2026-01";
/// `cin7.base_url` default.
pub const DEFAULT_CIN7_BASE_URL: &str = "https://inventory.dearsystems.com/ExternalApi/v2/";
/// `store.path` default (relative to the config file's folder).
pub const DEFAULT_STORE_PATH: &str = "replenish.db";
/// `listen.bind` default.
pub const DEFAULT_LISTEN_BIND: &str = "127.0.0.1:8080";

/// The sane range of every numeric setting. A value outside it is a configuration error naming
/// the key (exit 2), never a panic or an absurd purchase order later: `velocity_window_days =
/// 4294967295` once passed validation and crashed the planner's date arithmetic, and
/// `cover_days = 1e300` pushed POs for 6e299 units. The bounds are wide enough for any real shop.
pub mod limits {
    /// Days: two years covers a yearly-seasonal window and then some.
    pub const MAX_WINDOW_DAYS: u64 = 730;
    /// Days of cover, lead times and retention: ten years.
    pub const MAX_DAYS: f64 = 3650.0;
    /// Whole-day settings (lead time, retention, stale drafts).
    pub const MAX_WHOLE_DAYS: u32 = 3650;
    /// Units (MOQ, pack): a billion.
    pub const MAX_UNITS: f64 = 1e9;
    /// Money (a supplier's minimum order value): a trillion in the supplier's currency.
    pub const MAX_MONEY: i64 = 1_000_000_000_000;
    /// Currency rate: nothing real is a million to one.
    pub const MAX_RATE: f64 = 1e6;
    /// Minutes of data age: a year.
    pub const MAX_AGE_MINUTES: u64 = 525_600;
    /// Seconds of request timeout: an hour.
    pub const MAX_TIMEOUT_SECS: u64 = 3600;
    /// Retries of one request.
    pub const MAX_RETRIES: u32 = 20;
    /// Milliseconds of a retry's wait, a bulk poll interval or a debounce: an hour.
    pub const MAX_MS: u64 = 3_600_000;
    /// Seconds of watermark overlap: a day.
    pub const MAX_OVERLAP_SECS: u64 = 86_400;
    /// Cin7 requests a minute (Cin7 allows 60 per application; a sandbox may allow more).
    pub const MAX_RPM: u32 = 1_000_000;
    /// Standard deviations for a velocity jump.
    pub const MAX_SIGMA: f64 = 1000.0;
}
use limits::*;

/// Largest `first:` page Shopify's GraphQL Admin API accepts.
const SHOPIFY_MAX_PAGE: u64 = 250;
/// Largest `Limit` Cin7 Core accepts.
const CIN7_MAX_PAGE: u64 = 1000;

/// One secret: its environment variable and its config key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretSpec {
    pub env: &'static str,
    pub key: &'static str,
    /// One line saying what it is for (used in `.env.example`).
    pub what: &'static str,
}

/// Every secret `replenish` reads, in the order `.env.example` lists them.
pub const SECRETS: [SecretSpec; 7] = [
    SecretSpec {
        env: "SHOPIFY_ACCESS_TOKEN",
        key: "shopify.access_token",
        what: "Shopify Admin API access token (custom app; scopes read_orders, read_merchant_managed_fulfillment_orders, read_products, read_locations; read_all_orders beyond 60 days; `replenish doctor` checks them). Needed by sync, draft, reconcile, skus, listen.",
    },
    SecretSpec {
        env: "SHOPIFY_WEBHOOK_SECRET",
        key: "shopify.webhook_secret",
        what: "Shopify webhook signing secret, used by `listen` to verify X-Shopify-Hmac-Sha256.",
    },
    SecretSpec {
        env: "SHOPIFY_WEBHOOK_SECRET_OLD",
        key: "shopify.webhook_secret_old",
        what: "Previous webhook signing secret, also accepted while a rotation is in progress (optional).",
    },
    SecretSpec {
        env: "CIN7_ACCOUNT_ID",
        key: "cin7.account_id",
        what: "Cin7 Core API account id (api-auth-accountid). Needed by sync, draft, reconcile, skus, listen.",
    },
    SecretSpec {
        env: "CIN7_APPLICATION_KEY",
        key: "cin7.application_key",
        what: "Cin7 Core API application key (api-auth-applicationkey). Needed with CIN7_ACCOUNT_ID.",
    },
    SecretSpec {
        env: "SLACK_WEBHOOK_URL",
        key: "alerts.slack_webhook_url",
        what: "Slack incoming-webhook URL for alerts (optional).",
    },
    SecretSpec {
        env: "SMTP_PASSWORD",
        key: "alerts.smtp_password",
        what: "SMTP password for email alerts (optional; used with alerts.smtp_username).",
    },
];

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            slack_webhook_url: None,
            email_to: Vec::new(),
            email_from: None,
            smtp_host: None,
            smtp_port: None,
            smtp_username: None,
            smtp_password: None,
            smtp_tls: SmtpTls::StartTls,
            repeat_after_hours: 24,
        }
    }
}

impl Default for Cin7Settings {
    fn default() -> Self {
        Cin7Settings {
            base_url: DEFAULT_CIN7_BASE_URL.to_string(),
            requests_per_minute: 100,
            page_size: 1000,
            purchase_approach: PurchaseApproach::Invoice,
            account_id: None,
            application_key: None,
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout_secs: 30,
            max_retries: 5,
            retry_initial_ms: 1000,
            retry_max_ms: 60_000,
        }
    }
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            path: PathBuf::from(DEFAULT_STORE_PATH),
        }
    }
}

impl Default for ListenSettings {
    fn default() -> Self {
        ListenSettings {
            bind: DEFAULT_LISTEN_BIND.to_string(),
            debounce_ms: 500,
            header_timeout_ms: 5_000,
            body_timeout_ms: 5_000,
            idle_timeout_ms: 30_000,
            max_connections: 1_024,
            max_buffered_mib: 64,
        }
    }
}

impl ShopifySettings {
    /// Defaults for everything but the shop and its resolved base URL.
    fn with(shop: String, base_url: String) -> Self {
        ShopifySettings {
            shop,
            api_version: DEFAULT_SHOPIFY_API_VERSION.to_string(),
            base_url,
            access_token: None,
            webhook_secret: None,
            webhook_secret_old: None,
            orders_page_size: 10,
            line_items_page_size: 30,
            watermark_overlap_secs: 300,
            bulk_poll_ms: 2000,
            bulk_stall_ms: 60_000,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

impl Settings {
    /// Loads and validates the file at `path`, taking secrets from `env` first.
    pub fn load(path: &Path, env: &dyn Env) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Settings::from_toml_str(&text, path, env)
    }

    /// Parses TOML text as if read from `path` (relative paths resolve against `path`'s folder).
    pub fn from_toml_str(text: &str, path: &Path, env: &dyn Env) -> Result<Settings, ConfigError> {
        // A UTF-8 BOM has no newline in it, so dropping it leaves line numbers unchanged.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let doc = Doc { path, text };
        let parsed = DeTable::parse(text).map_err(|e| doc.syntax(&e))?;
        let root = Tbl::root(&doc, parsed.get_ref());
        root.deny_unknown(&[
            "shopify",
            "cin7",
            "http",
            "store",
            "policy",
            "locations",
            "skus",
            "suppliers",
            "alerts",
            "listen",
            "reconcile",
        ])?;
        let base_dir = path.parent().unwrap_or_else(|| Path::new(""));

        Ok(Settings {
            source: Some(path.to_path_buf()),
            shopify: parse_shopify(&root.table("shopify")?, env)?,
            cin7: parse_cin7(&root.table("cin7")?, env)?,
            http: parse_http(&root.table("http")?)?,
            store: parse_store(&root.table("store")?, base_dir)?,
            policy: parse_policy(&root.table("policy")?)?,
            locations: parse_locations(&root.table("locations")?)?,
            skus: parse_skus(&root.table("skus")?, base_dir)?,
            suppliers: parse_suppliers(&root.table("suppliers")?)?,
            alerts: parse_alerts(&root.table("alerts")?, env)?,
            listen: parse_listen(&root.table("listen")?)?,
            reconcile: parse_reconcile(&root.table("reconcile")?)?,
        })
    }

    /// Settings pointing at a local sandbox (used by `demo` and tests): every default, the two base
    /// URLs, placeholder credentials and the given store path.
    pub fn for_sandbox(base: &str, store_path: &Path) -> Settings {
        let base = base.trim_end_matches('/');
        let placeholder = || Some(SecretString::from("sandbox"));
        let mut shopify = ShopifySettings::with(
            "sandbox.myshopify.com".to_string(),
            format!("{base}/shopify"),
        );
        shopify.access_token = placeholder();
        shopify.bulk_poll_ms = 200;
        Settings {
            source: None,
            shopify,
            cin7: Cin7Settings {
                base_url: format!("{base}/cin7/ExternalApi/v2/"),
                requests_per_minute: 600,
                account_id: placeholder(),
                application_key: placeholder(),
                ..Cin7Settings::default()
            },
            http: HttpSettings {
                retry_initial_ms: 200,
                retry_max_ms: 2000,
                ..HttpSettings::default()
            },
            store: StoreSettings {
                path: store_path.to_path_buf(),
            },
            policy: Policy::default(),
            locations: LocationSettings {
                default: "Main Warehouse".to_string(),
                ..LocationSettings::default()
            },
            skus: SkuSettings::default(),
            suppliers: BTreeMap::new(),
            alerts: AlertSettings::default(),
            listen: ListenSettings::default(),
            reconcile: ReconcileSettings::default(),
        }
    }

    /// Both Cin7 secrets, or the error naming the missing environment variable.
    pub fn cin7_credentials(&self) -> Result<(SecretString, SecretString), ConfigError> {
        let account = require(
            self.cin7.account_id.as_ref(),
            "CIN7_ACCOUNT_ID",
            "cin7.account_id",
        )?;
        let key = require(
            self.cin7.application_key.as_ref(),
            "CIN7_APPLICATION_KEY",
            "cin7.application_key",
        )?;
        Ok((account, key))
    }

    /// The Shopify access token, or the error naming `SHOPIFY_ACCESS_TOKEN`.
    pub fn shopify_token(&self) -> Result<SecretString, ConfigError> {
        require(
            self.shopify.access_token.as_ref(),
            "SHOPIFY_ACCESS_TOKEN",
            "shopify.access_token",
        )
    }

    /// The secret named by its environment variable (one of [`SECRETS`]), when set.
    pub fn secret(&self, env: &str) -> Option<&SecretString> {
        match env {
            "SHOPIFY_ACCESS_TOKEN" => self.shopify.access_token.as_ref(),
            "SHOPIFY_WEBHOOK_SECRET" => self.shopify.webhook_secret.as_ref(),
            "SHOPIFY_WEBHOOK_SECRET_OLD" => self.shopify.webhook_secret_old.as_ref(),
            "CIN7_ACCOUNT_ID" => self.cin7.account_id.as_ref(),
            "CIN7_APPLICATION_KEY" => self.cin7.application_key.as_ref(),
            "SLACK_WEBHOOK_URL" => self.alerts.slack_webhook_url.as_ref(),
            "SMTP_PASSWORD" => self.alerts.smtp_password.as_ref(),
            _ => None,
        }
    }

    /// The webhook secrets `listen` verifies against: the current one (required, else the error
    /// naming `SHOPIFY_WEBHOOK_SECRET`) and the previous one during a rotation.
    pub fn webhook_secrets(&self) -> Result<(SecretString, Option<SecretString>), ConfigError> {
        let current = require(
            self.shopify.webhook_secret.as_ref(),
            "SHOPIFY_WEBHOOK_SECRET",
            "shopify.webhook_secret",
        )?;
        Ok((current, self.shopify.webhook_secret_old.clone()))
    }
}

fn require(
    secret: Option<&SecretString>,
    env: &'static str,
    key: &'static str,
) -> Result<SecretString, ConfigError> {
    secret
        .cloned()
        .ok_or(ConfigError::MissingSecret { env, key })
}

// ---------------------------------------------------------------------------------------------
// Locating the file
// ---------------------------------------------------------------------------------------------

/// Finds the config file: `--config PATH`, else `./replenish.toml`, else the platform config dir
/// (`$XDG_CONFIG_HOME/replenish/replenish.toml` or `~/.config/replenish/replenish.toml`).
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
    locate_in(explicit, Path::new("."), &ProcessEnv)
}

/// [`locate`] with the working directory and environment given (for tests).
pub fn locate_in(
    explicit: Option<&Path>,
    cwd: &Path,
    env: &dyn Env,
) -> Result<PathBuf, ConfigError> {
    if let Some(path) = explicit {
        return if path.exists() {
            Ok(path.to_path_buf())
        } else {
            Err(ConfigError::NotFound {
                looked_in: path.display().to_string(),
            })
        };
    }
    let mut candidates = vec![if cwd == Path::new(".") {
        PathBuf::from("replenish.toml")
    } else {
        cwd.join("replenish.toml")
    }];
    let xdg = env
        .var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let config_dir = xdg.or_else(|| {
        env.var("HOME")
            .map(|home| PathBuf::from(home).join(".config"))
    });
    if let Some(dir) = config_dir {
        candidates.push(dir.join("replenish").join("replenish.toml"));
    }
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let looked_in = candidates
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(ConfigError::NotFound { looked_in })
}

// ---------------------------------------------------------------------------------------------
// The spanned document walker
// ---------------------------------------------------------------------------------------------

/// The text being parsed and where it came from, for error positions.
struct Doc<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Doc<'_> {
    /// 1-based line of a byte offset.
    fn line(&self, offset: usize) -> usize {
        let bytes = self.text.as_bytes();
        let end = offset.min(bytes.len());
        bytes[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    fn invalid(
        &self,
        offset: usize,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line: self.line(offset),
            key: key.into(),
            message: message.into(),
        }
    }

    fn syntax(&self, e: &toml::de::Error) -> ConfigError {
        let offset = e.span().map_or(0, |s| s.start);
        let mut message = e.message().trim().to_string();
        if message == "duplicate key"
            && let Some(key) = e.span().and_then(|s| self.text.get(s))
        {
            message = format!("duplicate key `{}`", key.trim());
        }
        self.invalid(offset, "syntax error", message)
    }
}

/// True when `key` can be written bare in TOML.
fn is_bare(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn quote_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 2);
    out.push('"');
    for c in key.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

type Res<T> = Result<T, ConfigError>;
type Entry<'a, 'i> = (&'a Spanned<Cow<'i, str>>, &'a Spanned<DeValue<'i>>);

/// One table of the document (possibly absent), with its dotted name for messages.
struct Tbl<'a, 'i> {
    doc: &'a Doc<'a>,
    /// Dotted name as written in messages (`""` for the root).
    name: String,
    /// Where "missing key" errors point: the table's header, or its parent's when absent.
    at: usize,
    table: Option<&'a DeTable<'i>>,
}

impl<'a, 'i> Tbl<'a, 'i> {
    fn root(doc: &'a Doc<'a>, table: &'a DeTable<'i>) -> Self {
        Tbl {
            doc,
            name: String::new(),
            at: 0,
            table: Some(table),
        }
    }

    /// The full dotted key of `key` in this table. `quote` forces quotes (user-named keys such as
    /// SKUs, suppliers and locations are always shown quoted, as the docs write them).
    fn path_of(&self, key: &str, quote: bool) -> String {
        let seg = if quote || !is_bare(key) {
            quote_key(key)
        } else {
            key.to_string()
        };
        if self.name.is_empty() {
            seg
        } else {
            format!("{}.{}", self.name, seg)
        }
    }

    /// Entries in file order.
    fn entries(&self) -> Vec<Entry<'a, 'i>> {
        let mut entries: Vec<Entry<'a, 'i>> =
            self.table.map(|t| t.iter().collect()).unwrap_or_default();
        entries.sort_by_key(|(k, _)| k.span().start);
        entries
    }

    fn deny_unknown(&self, allowed: &[&str]) -> Res<()> {
        match self
            .entries()
            .into_iter()
            .find(|(k, _)| !allowed.contains(&k.get_ref().as_ref()))
        {
            Some((k, _)) => Err(self.doc.invalid(
                k.span().start,
                self.path_of(k.get_ref(), false),
                "unknown key",
            )),
            None => Ok(()),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.table.and_then(|t| t.get(key))
    }

    fn err(&self, key: &str, offset: usize, message: impl Into<String>) -> ConfigError {
        self.doc.invalid(offset, self.path_of(key, false), message)
    }

    fn missing(&self, key: &str, message: impl Into<String>) -> ConfigError {
        self.doc.invalid(self.at, self.path_of(key, false), message)
    }

    /// A sub-table (absent is fine: every key in it then takes its default).
    fn table(&self, key: &str) -> Res<Tbl<'a, 'i>> {
        self.sub(key, false)
    }

    fn sub(&self, key: &str, quote: bool) -> Res<Tbl<'a, 'i>> {
        let name = self.path_of(key, quote);
        match self.get(key) {
            None => Ok(Tbl {
                doc: self.doc,
                name,
                at: self.at,
                table: None,
            }),
            Some(v) => match v.get_ref() {
                DeValue::Table(t) => Ok(Tbl {
                    doc: self.doc,
                    name,
                    at: v.span().start,
                    table: Some(t),
                }),
                _ => Err(self.doc.invalid(v.span().start, name, "expected a table")),
            },
        }
    }

    fn string(&self, key: &str) -> Res<Option<Spanned<String>>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.get_ref() {
            DeValue::String(s) => Ok(Some(Spanned::new(v.span(), s.to_string()))),
            _ => Err(self.err(key, v.span().start, "expected a string")),
        }
    }

    /// A string that, when present, must not be empty or only whitespace.
    fn name_string(&self, key: &str) -> Res<Option<Spanned<String>>> {
        let s = self.string(key)?;
        if let Some(s) = &s
            && s.get_ref().trim().is_empty()
        {
            return Err(self.err(key, s.span().start, "must not be empty"));
        }
        Ok(s)
    }

    fn bool(&self, key: &str) -> Res<Option<bool>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.get_ref() {
            DeValue::Boolean(b) => Ok(Some(*b)),
            _ => Err(self.err(key, v.span().start, "expected true or false")),
        }
    }

    /// A whole number in `min..=max`.
    fn int(&self, key: &str, min: u64, max: u64) -> Res<Option<Spanned<u64>>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let at = v.span().start;
        let DeValue::Integer(i) = v.get_ref() else {
            return Err(self.err(key, at, "expected an integer"));
        };
        let Ok(n) = i128::from_str_radix(i.as_str(), i.radix()) else {
            return Err(self.err(key, at, format!("must be at most {max}")));
        };
        if n < i128::from(min) {
            let message = if min == 0 {
                "must not be negative".to_string()
            } else {
                format!("must be at least {min}")
            };
            return Err(self.err(key, at, message));
        }
        match u64::try_from(n) {
            Ok(n) if n <= max => Ok(Some(Spanned::new(v.span(), n))),
            _ => Err(self.err(key, at, format!("must be at most {max}"))),
        }
    }

    fn u32(&self, key: &str, min: u32, max: u32, default: u32) -> Res<u32> {
        Ok(self
            .int(key, u64::from(min), u64::from(max))?
            .and_then(|n| u32::try_from(n.into_inner()).ok())
            .unwrap_or(default))
    }

    fn u64(&self, key: &str, min: u64, max: u64, default: u64) -> Res<u64> {
        Ok(self
            .int(key, min, max)?
            .map_or(default, Spanned::into_inner))
    }

    /// A finite number (integer or float).
    fn f64(&self, key: &str) -> Res<Option<Spanned<f64>>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let at = v.span().start;
        let n = match v.get_ref() {
            DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix())
                .ok()
                .and_then(|n| i64::try_from(n).ok())
                .map(|n| n as f64),
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            _ => return Err(self.err(key, at, "expected a number")),
        };
        match n {
            Some(n) if n.is_finite() => Ok(Some(Spanned::new(v.span(), n))),
            _ => Err(self.err(key, at, "must be a finite number")),
        }
    }

    /// A number that must be ≥ 0 (or > 0 when `positive`) and at most `max`.
    fn non_negative(&self, key: &str, positive: bool, max: f64) -> Res<Option<f64>> {
        let Some(n) = self.f64(key)? else {
            return Ok(None);
        };
        let value = *n.get_ref();
        if positive && value <= 0.0 {
            return Err(self.err(key, n.span().start, "must be greater than 0"));
        }
        if value < 0.0 {
            return Err(self.err(key, n.span().start, "must not be negative"));
        }
        if value > max {
            return Err(self.err(key, n.span().start, format!("must be at most {max}")));
        }
        Ok(Some(value))
    }

    /// An exact decimal amount: a TOML integer, float or string.
    fn decimal(&self, key: &str) -> Res<Option<Spanned<Decimal>>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let at = v.span().start;
        let bad = || self.err(key, at, "expected an amount, e.g. 500, 500.5 or \"500.50\"");
        let d = match v.get_ref() {
            DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix())
                .ok()
                .and_then(|n| i64::try_from(n).ok())
                .map(Decimal::from),
            DeValue::Float(_) => match self.f64(key)? {
                // Shortest round-trip form of the f64, so 500.1 becomes exactly 500.1.
                Some(f) => Decimal::from_str(&format!("{}", f.get_ref())).ok(),
                None => None,
            },
            DeValue::String(s) => Decimal::from_str_exact(s.trim()).ok(),
            _ => return Err(bad()),
        };
        d.map(|d| Some(Spanned::new(v.span(), d))).ok_or_else(bad)
    }

    /// An array of non-empty strings.
    fn strings(&self, key: &str) -> Res<Option<Spanned<Vec<Spanned<String>>>>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let DeValue::Array(items) = v.get_ref() else {
            return Err(self.err(key, v.span().start, "expected an array of strings"));
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) if s.trim().is_empty() => {
                    return Err(self.err(
                        key,
                        item.span().start,
                        "must not contain an empty string",
                    ));
                }
                DeValue::String(s) => out.push(Spanned::new(item.span(), s.to_string())),
                _ => return Err(self.err(key, item.span().start, "expected an array of strings")),
            }
        }
        Ok(Some(Spanned::new(v.span(), out)))
    }

    /// A secret: the environment variable wins, else the file's string (empty counts as unset).
    fn secret(&self, key: &str, env: &dyn Env, var: &str) -> Res<Option<SecretString>> {
        let from_file = self.string(key)?;
        if let Some(value) = env.var(var).filter(|v| !v.is_empty()) {
            return Ok(Some(SecretString::from(value)));
        }
        Ok(from_file
            .map(Spanned::into_inner)
            .filter(|v| !v.is_empty())
            .map(SecretString::from))
    }
}

fn resolve_path(base_dir: &Path, value: &str) -> PathBuf {
    let p = Path::new(value);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base_dir.join(p)
    }
}

/// Checks an http(s) URL: scheme, a host, no spaces.
fn check_url(t: &Tbl<'_, '_>, key: &str, url: &Spanned<String>) -> Res<()> {
    let u = url.get_ref();
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"));
    match rest {
        None => Err(t.err(key, url.span().start, "must start with http:// or https://")),
        Some(rest) if rest.trim_matches('/').is_empty() => {
            Err(t.err(key, url.span().start, "must name a host after the scheme"))
        }
        Some(_) if u.chars().any(char::is_whitespace) => {
            Err(t.err(key, url.span().start, "must not contain spaces"))
        }
        Some(_) => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

fn parse_shopify(t: &Tbl<'_, '_>, env: &dyn Env) -> Res<ShopifySettings> {
    t.deny_unknown(&[
        "shop",
        "api_version",
        "base_url",
        "access_token",
        "webhook_secret",
        "webhook_secret_old",
        "orders_page_size",
        "line_items_page_size",
        "watermark_overlap_secs",
        "bulk_poll_ms",
        "bulk_stall_ms",
    ])?;
    let shop = t.string("shop")?;
    if let Some(s) = &shop {
        let v = s.get_ref();
        if v.contains("://") || v.contains('/') || v.chars().any(char::is_whitespace) {
            return Err(t.err(
                "shop",
                s.span().start,
                "give the shop's domain only, e.g. \"your-store.myshopify.com\" (use shopify.base_url for a full URL)",
            ));
        }
    }
    let base_url = match t.string("base_url")? {
        Some(url) => {
            check_url(t, "base_url", &url)?;
            url.get_ref().trim_end_matches('/').to_string()
        }
        None => match &shop {
            Some(s) if !s.get_ref().is_empty() => format!("https://{}", s.get_ref()),
            Some(s) => {
                return Err(t.err(
                    "shop",
                    s.span().start,
                    "must not be empty (or set shopify.base_url)",
                ));
            }
            None => {
                return Err(t.missing(
                    "shop",
                    "required: your shop's domain, e.g. shop = \"your-store.myshopify.com\" (or set shopify.base_url)",
                ));
            }
        },
    };
    let mut s = ShopifySettings::with(shop.map(Spanned::into_inner).unwrap_or_default(), base_url);
    if let Some(v) = t.string("api_version")? {
        if !is_api_version(v.get_ref()) {
            return Err(t.err(
                "api_version",
                v.span().start,
                "expected a Shopify API version like \"2026-01\" (or \"unstable\")",
            ));
        }
        s.api_version = v.into_inner();
    }
    s.access_token = t.secret("access_token", env, "SHOPIFY_ACCESS_TOKEN")?;
    s.webhook_secret = t.secret("webhook_secret", env, "SHOPIFY_WEBHOOK_SECRET")?;
    s.webhook_secret_old = t.secret("webhook_secret_old", env, "SHOPIFY_WEBHOOK_SECRET_OLD")?;
    let max_page = u32::try_from(SHOPIFY_MAX_PAGE).unwrap_or(u32::MAX);
    s.orders_page_size = t.u32("orders_page_size", 1, max_page, s.orders_page_size)?;
    s.line_items_page_size = t.u32("line_items_page_size", 1, max_page, s.line_items_page_size)?;
    s.watermark_overlap_secs = t.u64(
        "watermark_overlap_secs",
        0,
        MAX_OVERLAP_SECS,
        s.watermark_overlap_secs,
    )?;
    s.bulk_poll_ms = t.u64("bulk_poll_ms", 1, MAX_MS, s.bulk_poll_ms)?;
    s.bulk_stall_ms = t.u64("bulk_stall_ms", 1, MAX_MS, s.bulk_stall_ms)?;
    Ok(s)
}

/// `YYYY-MM` with a month 01–12, or `unstable`.
fn is_api_version(v: &str) -> bool {
    if v == "unstable" {
        return true;
    }
    let b = v.as_bytes();
    b.len() == 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..].iter().all(u8::is_ascii_digit)
        && matches!(v.get(5..).and_then(|m| m.parse::<u8>().ok()), Some(1..=12))
}

fn parse_cin7(t: &Tbl<'_, '_>, env: &dyn Env) -> Res<Cin7Settings> {
    t.deny_unknown(&[
        "base_url",
        "requests_per_minute",
        "page_size",
        "purchase_approach",
        "account_id",
        "application_key",
    ])?;
    let mut c = Cin7Settings::default();
    if let Some(url) = t.string("base_url")? {
        check_url(t, "base_url", &url)?;
        let mut url = url.into_inner();
        if !url.ends_with('/') {
            url.push('/');
        }
        c.base_url = url;
    }
    c.requests_per_minute = t.u32("requests_per_minute", 1, MAX_RPM, c.requests_per_minute)?;
    let max_page = u32::try_from(CIN7_MAX_PAGE).unwrap_or(u32::MAX);
    c.page_size = t.u32("page_size", 1, max_page, c.page_size)?;
    if let Some(a) = t.string("purchase_approach")? {
        c.purchase_approach = match a.get_ref().trim().to_ascii_uppercase().as_str() {
            "INVOICE" => PurchaseApproach::Invoice,
            "STOCK" => PurchaseApproach::Stock,
            _ => {
                return Err(t.err(
                    "purchase_approach",
                    a.span().start,
                    format!(
                        "expected \"INVOICE\" or \"STOCK\", found \"{}\"",
                        a.get_ref()
                    ),
                ));
            }
        };
    }
    c.account_id = t.secret("account_id", env, "CIN7_ACCOUNT_ID")?;
    c.application_key = t.secret("application_key", env, "CIN7_APPLICATION_KEY")?;
    Ok(c)
}

fn parse_http(t: &Tbl<'_, '_>) -> Res<HttpSettings> {
    t.deny_unknown(&[
        "timeout_secs",
        "max_retries",
        "retry_initial_ms",
        "retry_max_ms",
    ])?;
    let mut h = HttpSettings::default();
    h.timeout_secs = t.u64("timeout_secs", 1, MAX_TIMEOUT_SECS, h.timeout_secs)?;
    h.max_retries = t.u32("max_retries", 0, MAX_RETRIES, h.max_retries)?;
    let initial = t.int("retry_initial_ms", 0, MAX_MS)?;
    let max = t.int("retry_max_ms", 0, MAX_MS)?;
    h.retry_initial_ms = initial
        .as_ref()
        .map_or(h.retry_initial_ms, |v| *v.get_ref());
    h.retry_max_ms = max.as_ref().map_or(h.retry_max_ms, |v| *v.get_ref());
    if h.retry_max_ms < h.retry_initial_ms {
        let message = format!(
            "retry_max_ms ({}) must not be less than retry_initial_ms ({})",
            h.retry_max_ms, h.retry_initial_ms
        );
        return Err(match (&max, &initial) {
            (Some(m), _) => t.err("retry_max_ms", m.span().start, message),
            (None, Some(i)) => t.err("retry_initial_ms", i.span().start, message),
            (None, None) => t.missing("retry_max_ms", message),
        });
    }
    Ok(h)
}

fn parse_store(t: &Tbl<'_, '_>, base_dir: &Path) -> Res<StoreSettings> {
    t.deny_unknown(&["path"])?;
    let path = t
        .name_string("path")?
        .map_or_else(|| DEFAULT_STORE_PATH.to_string(), Spanned::into_inner);
    Ok(StoreSettings {
        path: resolve_path(base_dir, &path),
    })
}

fn parse_policy(t: &Tbl<'_, '_>) -> Res<Policy> {
    t.deny_unknown(&[
        "timezone",
        "velocity_window_days",
        "cover_days",
        "service_level",
        "default_lead_time_days",
        "stockout_adjust",
        "min_in_stock_days",
        "use_cin7_reorder_levels",
        "below_minimum",
        "max_data_age_minutes",
        "snapshot_retention_days",
    ])?;
    let mut p = Policy::default();
    if let Some(tz) = t.string("timezone")? {
        p.timezone = chrono_tz::Tz::from_str(tz.get_ref()).map_err(|_| {
            t.err(
                "timezone",
                tz.span().start,
                format!(
                    "unknown time zone \"{}\": expected an IANA name such as \"Europe/London\" or \"UTC\"",
                    tz.get_ref()
                ),
            )
        })?;
    }
    let window = t.int("velocity_window_days", 1, MAX_WINDOW_DAYS)?;
    p.velocity_window_days = window
        .as_ref()
        .and_then(|w| u32::try_from(*w.get_ref()).ok())
        .unwrap_or(p.velocity_window_days);
    if let Some(c) = t.non_negative("cover_days", false, MAX_DAYS)? {
        p.cover_days = c;
    }
    if let Some(s) = t.f64("service_level")? {
        let v = *s.get_ref();
        if v <= 0.0 || v >= 1.0 {
            return Err(t.err(
                "service_level",
                s.span().start,
                "must be strictly between 0 and 1, e.g. 0.95",
            ));
        }
        p.service_level = v;
    }
    p.default_lead_time_days = t.u32(
        "default_lead_time_days",
        0,
        MAX_WHOLE_DAYS,
        p.default_lead_time_days,
    )?;
    p.stockout_adjust = t.bool("stockout_adjust")?.unwrap_or(p.stockout_adjust);
    let min_in_stock = t.int("min_in_stock_days", 0, MAX_WINDOW_DAYS)?;
    p.min_in_stock_days = min_in_stock
        .as_ref()
        .and_then(|m| u32::try_from(*m.get_ref()).ok())
        .unwrap_or(p.min_in_stock_days);
    if p.min_in_stock_days > p.velocity_window_days {
        let message = format!(
            "min_in_stock_days ({}) must not exceed velocity_window_days ({})",
            p.min_in_stock_days, p.velocity_window_days
        );
        return Err(match (&min_in_stock, &window) {
            (Some(m), _) => t.err("min_in_stock_days", m.span().start, message),
            (None, Some(w)) => t.err("velocity_window_days", w.span().start, message),
            (None, None) => t.missing("min_in_stock_days", message),
        });
    }
    p.use_cin7_reorder_levels = t
        .bool("use_cin7_reorder_levels")?
        .unwrap_or(p.use_cin7_reorder_levels);
    if let Some(b) = t.string("below_minimum")? {
        p.below_minimum = match b.get_ref().as_str() {
            "hold" => BelowMinimum::Hold,
            "top_up" => BelowMinimum::TopUp,
            other => {
                return Err(t.err(
                    "below_minimum",
                    b.span().start,
                    format!("expected \"hold\" or \"top_up\", found \"{other}\""),
                ));
            }
        };
    }
    p.max_data_age_minutes = t.u64(
        "max_data_age_minutes",
        0,
        MAX_AGE_MINUTES,
        p.max_data_age_minutes,
    )?;
    p.snapshot_retention_days = t.u32(
        "snapshot_retention_days",
        1,
        MAX_WHOLE_DAYS,
        p.snapshot_retention_days,
    )?;
    Ok(p)
}

fn parse_locations(t: &Tbl<'_, '_>) -> Res<LocationSettings> {
    t.deny_unknown(&["default", "ignore", "shopify", "pools"])?;
    let default = t.name_string("default")?.ok_or_else(|| {
        t.missing(
            "default",
            "required: the Cin7 location that receives demand from orders with no mapped location, e.g. default = \"Main Warehouse\"",
        )
    })?;
    let ignore: Vec<String> = t
        .strings("ignore")?
        .map(|v| {
            v.into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect()
        })
        .unwrap_or_default();
    let ignored = |name: &str| ignore.iter().any(|i| i == name);
    if ignored(default.get_ref()) {
        return Err(t.err(
            "default",
            default.span().start,
            format!(
                "\"{}\" is also listed in locations.ignore; the default location must be planned",
                default.get_ref()
            ),
        ));
    }

    let shopify_t = t.table("shopify")?;
    let mut shopify = BTreeMap::new();
    for (k, v) in shopify_t.entries() {
        let key = shopify_t.path_of(k.get_ref(), true);
        let DeValue::String(name) = v.get_ref() else {
            return Err(t.doc.invalid(
                v.span().start,
                key,
                "expected a string (a Cin7 location name)",
            ));
        };
        if k.get_ref().trim().is_empty() {
            return Err(t.doc.invalid(
                k.span().start,
                key,
                "the Shopify location id must not be empty",
            ));
        }
        if name.trim().is_empty() {
            return Err(t.doc.invalid(v.span().start, key, "must not be empty"));
        }
        if ignored(name) {
            return Err(t.doc.invalid(
                v.span().start,
                key,
                format!("maps to \"{name}\", which is listed in locations.ignore"),
            ));
        }
        shopify.insert(k.get_ref().to_string(), name.to_string());
    }

    let pools_t = t.table("pools")?;
    let mut pools = BTreeMap::new();
    // location -> the pool key it belongs to
    let mut pool_of: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in pools_t.entries() {
        let pool = k.get_ref().to_string();
        let key = pools_t.path_of(&pool, true);
        if pool.trim().is_empty() {
            return Err(t.doc.invalid(
                k.span().start,
                key,
                "the pool's key location must not be empty",
            ));
        }
        let DeValue::Array(items) = v.get_ref() else {
            return Err(t.doc.invalid(
                v.span().start,
                key,
                "expected an array of Cin7 location names",
            ));
        };
        if ignored(&pool) {
            return Err(t.doc.invalid(
                k.span().start,
                key,
                format!(
                    "\"{pool}\" is listed in locations.ignore; an ignored location cannot be pooled"
                ),
            ));
        }
        let mut members: Vec<String> = Vec::with_capacity(items.len());
        let mut claim = |name: &str, offset: usize| -> Res<()> {
            if let Some(other) = pool_of.get(name)
                && *other != pool
            {
                return Err(t.doc.invalid(
                    offset,
                    key.clone(),
                    format!(
                        "\"{name}\" is already in the pool \"{other}\"; a location can be in one pool only"
                    ),
                ));
            }
            pool_of.insert(name.to_string(), pool.clone());
            Ok(())
        };
        claim(&pool, k.span().start)?;
        for item in items.iter() {
            let at = item.span().start;
            let DeValue::String(name) = item.get_ref() else {
                return Err(t
                    .doc
                    .invalid(at, key, "expected an array of Cin7 location names"));
            };
            if name.trim().is_empty() {
                return Err(t
                    .doc
                    .invalid(at, key, "must not contain an empty location name"));
            }
            if members.iter().any(|m| m == name.as_ref()) {
                return Err(t.doc.invalid(at, key, format!("names \"{name}\" twice")));
            }
            if ignored(name) {
                return Err(t.doc.invalid(
                    at,
                    key,
                    format!("\"{name}\" is listed in locations.ignore; an ignored location cannot be pooled"),
                ));
            }
            claim(name, at)?;
            members.push(name.to_string());
        }
        pools.insert(pool, members);
    }

    Ok(LocationSettings {
        default: default.into_inner(),
        ignore,
        shopify,
        pools,
    })
}

fn parse_skus(t: &Tbl<'_, '_>, base_dir: &Path) -> Res<SkuSettings> {
    let mut out = SkuSettings::default();
    for (k, v) in t.entries() {
        let name = k.get_ref();
        if name.as_ref() == "mapping_file" {
            continue;
        }
        let key = t.path_of(name, true);
        if !matches!(v.get_ref(), DeValue::Table(_)) {
            // Anything but a per-SKU table here is a misspelt key.
            return Err(t
                .doc
                .invalid(k.span().start, t.path_of(name, false), "unknown key"));
        }
        if name.trim().is_empty() {
            return Err(t
                .doc
                .invalid(k.span().start, key, "the SKU must not be empty"));
        }
        let sku = t.sub(name, true)?;
        sku.deny_unknown(&["supplier", "moq", "pack"])?;
        let o = SkuOverride {
            supplier: sku.name_string("supplier")?.map(Spanned::into_inner),
            moq: sku.non_negative("moq", false, MAX_UNITS)?,
            pack: sku.non_negative("pack", true, MAX_UNITS)?,
        };
        out.overrides.insert(name.to_string(), o);
    }
    out.mapping_file = t
        .name_string("mapping_file")?
        .map(|p| resolve_path(base_dir, p.get_ref()));
    Ok(out)
}

fn parse_suppliers(t: &Tbl<'_, '_>) -> Res<BTreeMap<String, SupplierOverride>> {
    let mut out = BTreeMap::new();
    for (k, v) in t.entries() {
        let name = k.get_ref();
        let key = t.path_of(name, true);
        if !matches!(v.get_ref(), DeValue::Table(_)) {
            return Err(t.doc.invalid(
                k.span().start,
                key,
                "expected a table of supplier overrides, e.g. [suppliers.\"Acme Ltd\"]",
            ));
        }
        if name.trim().is_empty() {
            return Err(t
                .doc
                .invalid(k.span().start, key, "the supplier name must not be empty"));
        }
        let s = t.sub(name, true)?;
        s.deny_unknown(&["lead_time_days", "moq", "min_order_value", "currency_rate"])?;
        let min_order_value = match s.decimal("min_order_value")? {
            Some(d) if d.get_ref().is_sign_negative() && !d.get_ref().is_zero() => {
                return Err(s.err("min_order_value", d.span().start, "must not be negative"));
            }
            Some(d) if *d.get_ref() > Decimal::from(MAX_MONEY) => {
                return Err(s.err(
                    "min_order_value",
                    d.span().start,
                    format!("must be at most {MAX_MONEY}"),
                ));
            }
            d => d.map(Spanned::into_inner),
        };
        out.insert(
            name.to_string(),
            SupplierOverride {
                lead_time_days: s.non_negative("lead_time_days", false, MAX_DAYS)?,
                moq: s.non_negative("moq", false, MAX_UNITS)?,
                min_order_value,
                currency_rate: s.non_negative("currency_rate", true, MAX_RATE)?,
            },
        );
    }
    Ok(out)
}

fn parse_alerts(t: &Tbl<'_, '_>, env: &dyn Env) -> Res<AlertSettings> {
    t.deny_unknown(&[
        "slack_webhook_url",
        "email_to",
        "email_from",
        "smtp_host",
        "smtp_port",
        "smtp_username",
        "smtp_password",
        "smtp_tls",
        "repeat_after_hours",
    ])?;
    let email_to = t.strings("email_to")?;
    if let Some(list) = &email_to {
        for addr in list.get_ref() {
            if !looks_like_email(addr.get_ref()) {
                return Err(t.err(
                    "email_to",
                    addr.span().start,
                    format!("\"{}\" is not an email address", addr.get_ref()),
                ));
            }
        }
    }
    let email_from = t.name_string("email_from")?;
    if let Some(from) = &email_from
        && !looks_like_email(from.get_ref())
    {
        return Err(t.err(
            "email_from",
            from.span().start,
            format!("\"{}\" is not an email address", from.get_ref()),
        ));
    }
    let smtp_host = t.name_string("smtp_host")?;
    let smtp_port = t
        .int("smtp_port", 1, u64::from(u16::MAX))?
        .and_then(|p| u16::try_from(p.into_inner()).ok());
    let smtp_username = t.name_string("smtp_username")?;
    let smtp_tls = match t.string("smtp_tls")? {
        None => SmtpTls::StartTls,
        Some(v) => match v.get_ref().as_str() {
            "starttls" => SmtpTls::StartTls,
            "tls" => SmtpTls::Tls,
            "none" => SmtpTls::None,
            other => {
                return Err(t.err(
                    "smtp_tls",
                    v.span().start,
                    format!("expected \"starttls\", \"tls\" or \"none\", found \"{other}\""),
                ));
            }
        },
    };
    if let Some(list) = email_to.as_ref().filter(|l| !l.get_ref().is_empty()) {
        let missing: Vec<&str> = [
            ("alerts.smtp_host", smtp_host.is_none()),
            ("alerts.email_from", email_from.is_none()),
        ]
        .into_iter()
        .filter_map(|(k, m)| m.then_some(k))
        .collect();
        if !missing.is_empty() {
            return Err(t.err(
                "email_to",
                list.span().start,
                format!("email alerts also need {}", missing.join(" and ")),
            ));
        }
    }
    Ok(AlertSettings {
        slack_webhook_url: t.secret("slack_webhook_url", env, "SLACK_WEBHOOK_URL")?,
        email_to: email_to
            .map(|l| {
                l.into_inner()
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect()
            })
            .unwrap_or_default(),
        email_from: email_from.map(Spanned::into_inner),
        smtp_host: smtp_host.map(Spanned::into_inner),
        smtp_port,
        smtp_username: smtp_username.map(Spanned::into_inner),
        smtp_password: t.secret("smtp_password", env, "SMTP_PASSWORD")?,
        smtp_tls,
        repeat_after_hours: t.u32("repeat_after_hours", 0, 24 * 365, 24)?,
    })
}

fn looks_like_email(s: &str) -> bool {
    // Accept "Name <addr@host>" as well as a bare address.
    let addr = match (s.rfind('<'), s.strip_suffix('>')) {
        (Some(i), Some(inner)) => inner.get(i + 1..).unwrap_or(""),
        _ => s,
    };
    match addr.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !addr.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

fn parse_listen(t: &Tbl<'_, '_>) -> Res<ListenSettings> {
    t.deny_unknown(&[
        "bind",
        "debounce_ms",
        "header_timeout_ms",
        "body_timeout_ms",
        "idle_timeout_ms",
        "max_connections",
        "max_buffered_mib",
    ])?;
    let mut l = ListenSettings::default();
    if let Some(bind) = t.string("bind")? {
        if !is_bind_address(bind.get_ref()) {
            return Err(t.err(
                "bind",
                bind.span().start,
                "expected host:port, e.g. \"127.0.0.1:8080\"",
            ));
        }
        l.bind = bind.into_inner();
    }
    l.debounce_ms = t.u64("debounce_ms", 0, MAX_MS, l.debounce_ms)?;
    l.header_timeout_ms = t.u64("header_timeout_ms", 1, MAX_MS, l.header_timeout_ms)?;
    l.body_timeout_ms = t.u64("body_timeout_ms", 1, MAX_MS, l.body_timeout_ms)?;
    l.idle_timeout_ms = t.u64("idle_timeout_ms", 1, MAX_MS, l.idle_timeout_ms)?;
    l.max_connections = t.u32("max_connections", 1, 1_000_000, l.max_connections)?;
    l.max_buffered_mib = t.u32("max_buffered_mib", 1, 65_536, l.max_buffered_mib)?;
    Ok(l)
}

fn parse_reconcile(t: &Tbl<'_, '_>) -> Res<ReconcileSettings> {
    t.deny_unknown(&["stale_draft_days", "velocity_jump_sigma"])?;
    let mut r = ReconcileSettings::default();
    r.stale_draft_days = t.u32("stale_draft_days", 1, MAX_WHOLE_DAYS, r.stale_draft_days)?;
    if let Some(k) = t.non_negative("velocity_jump_sigma", true, MAX_SIGMA)? {
        r.velocity_jump_sigma = k;
    }
    Ok(r)
}

fn is_bind_address(s: &str) -> bool {
    if s.parse::<std::net::SocketAddr>().is_ok() {
        return true;
    }
    match s.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && !host.contains(':')
                && !host.chars().any(char::is_whitespace)
                && port.parse::<u16>().is_ok()
        }
        None => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Templates written by `replenish init`
// ---------------------------------------------------------------------------------------------

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

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    /// Lines 1–5; extra text appended by [`with_min`] starts on line 6.
    const MIN: &str = "[shopify]\nshop = \"s.myshopify.com\"\n\n[locations]\ndefault = \"Main\"\n";

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn parse(text: &str) -> Result<Settings, ConfigError> {
        Settings::from_toml_str(text, Path::new("replenish.toml"), &env(&[]))
    }

    fn ok(text: &str) -> Settings {
        match parse(text) {
            Ok(s) => s,
            Err(e) => panic!("expected the config to load, got: {e}"),
        }
    }

    fn with_min(extra: &str) -> String {
        format!("{MIN}{extra}")
    }

    /// (line, key, message) of an `Invalid` error.
    fn invalid(text: &str) -> (usize, String, String) {
        match parse(text) {
            Err(ConfigError::Invalid {
                line, key, message, ..
            }) => (line, key, message),
            Err(other) => panic!("expected Invalid, got {other}"),
            Ok(_) => panic!("expected Invalid, but the config loaded"),
        }
    }

    fn assert_invalid(text: &str, line: usize, key: &str, message_part: &str) {
        let (l, k, m) = invalid(text);
        assert_eq!((l, k.as_str()), (line, key), "message was: {m}");
        assert!(
            m.contains(message_part),
            "message {m:?} lacks {message_part:?}"
        );
    }

    #[test]
    fn minimal_config_takes_every_default() {
        let s = ok(MIN);
        assert_eq!(s.source.as_deref(), Some(Path::new("replenish.toml")));
        assert_eq!(s.shopify.shop, "s.myshopify.com");
        assert_eq!(s.shopify.base_url, "https://s.myshopify.com");
        assert_eq!(s.shopify.api_version, "2026-01");
        assert_eq!(s.shopify.orders_page_size, 10);
        assert_eq!(s.shopify.line_items_page_size, 30);
        assert_eq!(s.shopify.watermark_overlap_secs, 300);
        assert_eq!(s.shopify.bulk_poll_ms, 2000);
        assert_eq!(s.shopify.bulk_stall_ms, 60_000);
        assert!(s.shopify.access_token.is_none());
        assert_eq!(
            s.cin7.base_url,
            "https://inventory.dearsystems.com/ExternalApi/v2/"
        );
        assert_eq!(s.cin7.requests_per_minute, 100);
        assert_eq!(s.cin7.page_size, 1000);
        assert_eq!(s.http.timeout_secs, 30);
        assert_eq!(s.http.max_retries, 5);
        assert_eq!(s.http.retry_initial_ms, 1000);
        assert_eq!(s.http.retry_max_ms, 60_000);
        assert_eq!(s.store.path, PathBuf::from("replenish.db"));
        let p = &s.policy;
        assert_eq!(p.timezone, chrono_tz::Tz::UTC);
        assert_eq!(p.velocity_window_days, 28);
        assert_eq!(p.cover_days, 30.0);
        assert_eq!(p.service_level, 0.95);
        assert_eq!(p.default_lead_time_days, 14);
        assert!(p.stockout_adjust);
        assert_eq!(p.min_in_stock_days, 7);
        assert!(p.use_cin7_reorder_levels);
        assert_eq!(p.below_minimum, BelowMinimum::Hold);
        assert_eq!(p.max_data_age_minutes, 180);
        assert_eq!(p.snapshot_retention_days, 120);
        assert_eq!(*p, Policy::default());
        assert_eq!(s.locations.default, "Main");
        assert!(s.locations.ignore.is_empty() && s.locations.pools.is_empty());
        assert!(s.skus.mapping_file.is_none() && s.skus.overrides.is_empty());
        assert!(s.suppliers.is_empty());
        assert!(s.alerts.email_to.is_empty() && s.alerts.smtp_port.is_none());
        assert_eq!(s.listen.bind, "127.0.0.1:8080");
        assert_eq!(s.listen.debounce_ms, 500);
        assert_eq!(s.listen.header_timeout_ms, 5_000);
        assert_eq!(s.listen.body_timeout_ms, 5_000);
        assert_eq!(s.listen.idle_timeout_ms, 30_000);
        assert_eq!(s.listen.max_connections, 1_024);
        assert_eq!(s.listen.max_buffered_mib, 64);
    }

    #[test]
    fn the_config_md_example_loads_with_its_values() {
        let text = r#"[shopify]
shop = "your-store.myshopify.com"
api_version = "2026-01"

[cin7]
base_url = "https://inventory.dearsystems.com/ExternalApi/v2/"
requests_per_minute = 100
page_size = 1000

[store]
path = "replenish.db"

[policy]
timezone = "Europe/London"
velocity_window_days = 28
cover_days = 30
service_level = 0.95
default_lead_time_days = 14
stockout_adjust = true
min_in_stock_days = 7
use_cin7_reorder_levels = true
below_minimum = "top_up"
max_data_age_minutes = 180
snapshot_retention_days = 120

[locations]
default = "Main Warehouse"
ignore = ["Returns"]

[locations.shopify]
"gid://shopify/Location/1" = "Main Warehouse"

[locations.pools]
"Main Warehouse" = ["Main Warehouse", "Overflow"]

[skus]
mapping_file = "sku-map.csv"

[skus."ABC-123"]
supplier = "Acme Ltd"
moq = 12
pack = 6

[suppliers."Acme Ltd"]
lead_time_days = 21
moq = 0
min_order_value = 500

[alerts]
email_to = ["buyers@example.com"]
email_from = "replenish@example.com"
smtp_host = "smtp.example.com"
smtp_port = 587
smtp_username = "replenish"

[listen]
bind = "127.0.0.1:8080"
debounce_ms = 500
"#;
        let s = ok(text);
        assert_eq!(s.policy.timezone, chrono_tz::Europe::London);
        assert_eq!(s.policy.below_minimum, BelowMinimum::TopUp);
        assert_eq!(s.locations.ignore, vec!["Returns".to_string()]);
        assert_eq!(
            s.locations
                .shopify
                .get("gid://shopify/Location/1")
                .map(String::as_str),
            Some("Main Warehouse")
        );
        assert_eq!(
            s.locations.pools.get("Main Warehouse"),
            Some(&vec!["Main Warehouse".to_string(), "Overflow".to_string()])
        );
        assert_eq!(
            s.skus.overrides.get("ABC-123"),
            Some(&SkuOverride {
                supplier: Some("Acme Ltd".into()),
                moq: Some(12.0),
                pack: Some(6.0),
            })
        );
        assert_eq!(
            s.suppliers.get("Acme Ltd"),
            Some(&SupplierOverride {
                lead_time_days: Some(21.0),
                moq: Some(0.0),
                min_order_value: Some(Decimal::from(500)),
                currency_rate: None,
            })
        );
        assert_eq!(s.alerts.email_to, vec!["buyers@example.com".to_string()]);
        assert_eq!(s.alerts.smtp_port, Some(587));
        assert_eq!(s.alerts.smtp_username.as_deref(), Some("replenish"));
    }

    #[test]
    fn additions_are_read() {
        let s = ok(&with_min(
            "[http]\ntimeout_secs = 5\nmax_retries = 0\nretry_initial_ms = 0\nretry_max_ms = 10\n",
        ));
        assert_eq!(s.http.timeout_secs, 5);
        assert_eq!(s.http.max_retries, 0);
        assert_eq!(s.http.retry_initial_ms, 0);
        assert_eq!(s.http.retry_max_ms, 10);

        let s = ok(
            "[shopify]\nshop = \"a.myshopify.com\"\norders_page_size = 50\nline_items_page_size = 100\nwatermark_overlap_secs = 0\nbulk_poll_ms = 10\nbulk_stall_ms = 250\n[locations]\ndefault = \"M\"\n",
        );
        assert_eq!(s.shopify.orders_page_size, 50);
        assert_eq!(s.shopify.line_items_page_size, 100);
        assert_eq!(s.shopify.watermark_overlap_secs, 0);
        assert_eq!(s.shopify.bulk_poll_ms, 10);
        assert_eq!(s.shopify.bulk_stall_ms, 250);
    }

    // ----- unknown keys, types, syntax ---------------------------------------------------------

    #[test]
    fn unknown_top_level_key_names_line_and_key() {
        assert_invalid(
            &with_min("\n[polcy]\ncover_days = 3\n"),
            7,
            "polcy",
            "unknown key",
        );
        assert_invalid(
            &format!("verbose = true\n{MIN}"),
            1,
            "verbose",
            "unknown key",
        );
    }

    #[test]
    fn unknown_key_in_policy_names_the_dotted_key() {
        let text = with_min("\n[policy]\ncover_days = 30\nservce_level = 0.9\n");
        assert_invalid(&text, 9, "policy.servce_level", "unknown key");
        let (line, key, _) = invalid(&text);
        let shown = ConfigError::Invalid {
            path: PathBuf::from("replenish.toml"),
            line,
            key,
            message: "unknown key".into(),
        }
        .to_string();
        assert_eq!(shown, "replenish.toml:9: policy.servce_level: unknown key");
        // A dotted key reports its first unknown segment.
        assert_invalid(
            &with_min("[policy]\nfoo.bar = 1\n"),
            7,
            "policy.foo",
            "unknown key",
        );
    }

    #[test]
    fn unknown_keys_in_every_fixed_table_are_errors() {
        for table in [
            "shopify",
            "cin7",
            "http",
            "store",
            "locations",
            "alerts",
            "listen",
        ] {
            let text = if table == "shopify" {
                "[shopify]\nshop = \"x.myshopify.com\"\nbogus = 1\n[locations]\ndefault = \"M\"\n"
                    .to_string()
            } else if table == "locations" {
                "[shopify]\nshop = \"x.myshopify.com\"\n[locations]\ndefault = \"M\"\nbogus = 1\n"
                    .to_string()
            } else {
                with_min(&format!("[{table}]\nbogus = 1\n"))
            };
            let (line, key, message) = invalid(&text);
            assert_eq!(key, format!("{table}.bogus"));
            assert_eq!(message, "unknown key");
            assert!(line == 3 || line == 5 || line == 7, "{table}: line {line}");
        }
    }

    #[test]
    fn unknown_key_in_a_sku_table() {
        let text = with_min("\n[skus.\"X\"]\nsupplier = \"Acme\"\nmoqq = 3\n");
        assert_invalid(&text, 9, "skus.\"X\".moqq", "unknown key");
        // A non-table key in [skus] other than mapping_file is a misspelling.
        assert_invalid(
            &with_min("[skus]\nmaping_file = \"m.csv\"\n"),
            7,
            "skus.maping_file",
            "unknown key",
        );
    }

    #[test]
    fn unknown_key_in_a_supplier_table() {
        let text = with_min("[suppliers.\"Acme Ltd\"]\nlead_time = 3\n");
        assert_invalid(&text, 7, "suppliers.\"Acme Ltd\".lead_time", "unknown key");
        assert_invalid(
            &with_min("[suppliers]\nAcme = 3\n"),
            7,
            "suppliers.\"Acme\"",
            "expected a table",
        );
    }

    #[test]
    fn type_errors_name_line_and_key() {
        let text = with_min("\n[policy]\ntimezone = \"UTC\"\ncover_days = \"thirty\"\n");
        assert_invalid(&text, 9, "policy.cover_days", "expected a number");
        assert_invalid(
            &with_min("[policy]\nstockout_adjust = \"yes\"\n"),
            7,
            "policy.stockout_adjust",
            "expected true or false",
        );
        assert_invalid(
            &with_min("[policy]\nvelocity_window_days = 28.5\n"),
            7,
            "policy.velocity_window_days",
            "expected an integer",
        );
        assert_invalid(
            &with_min("[cin7]\nbase_url = 5\n"),
            7,
            "cin7.base_url",
            "expected a string",
        );
        assert_invalid(
            &format!("policy = 5\n{MIN}"),
            1,
            "policy",
            "expected a table",
        );
        assert_invalid(
            &format!("{MIN}[[policy]]\ncover_days = 1\n"),
            6,
            "policy",
            "expected a table",
        );
        assert_invalid(
            &with_min("[alerts]\nemail_to = [\n  \"a@b.c\",\n  7,\n]\n"),
            9,
            "alerts.email_to",
            "expected an array of strings",
        );
        assert_invalid(
            &with_min("[alerts]\nsmtp_port = 70000\n"),
            7,
            "alerts.smtp_port",
            "at most 65535",
        );
    }

    #[test]
    fn drafting_and_alert_delivery_keys() {
        let s = ok(MIN);
        assert_eq!(s.cin7.purchase_approach, PurchaseApproach::Invoice);
        assert_eq!(s.alerts.smtp_tls, SmtpTls::StartTls);
        assert_eq!(s.alerts.repeat_after_hours, 24);
        let s = ok(&with_min(
            "[cin7]\npurchase_approach = \"stock\"\n[suppliers.\"Acme\"]\ncurrency_rate = 1.25\n[alerts]\nsmtp_tls = \"none\"\nrepeat_after_hours = 0\n",
        ));
        assert_eq!(s.cin7.purchase_approach.as_cin7(), "STOCK");
        assert_eq!(
            s.suppliers.get("Acme").and_then(|o| o.currency_rate),
            Some(1.25)
        );
        assert_eq!(s.alerts.smtp_tls, SmtpTls::None);
        assert_eq!(s.alerts.repeat_after_hours, 0);
        assert_invalid(
            &with_min("[cin7]\npurchase_approach = \"Simple\"\n"),
            7,
            "cin7.purchase_approach",
            "expected \"INVOICE\" or \"STOCK\"",
        );
        assert_invalid(
            &with_min("[suppliers.\"Acme\"]\ncurrency_rate = 0\n"),
            7,
            "suppliers.\"Acme\".currency_rate",
            "greater than 0",
        );
        assert_invalid(
            &with_min("[alerts]\nsmtp_tls = \"ssl\"\n"),
            7,
            "alerts.smtp_tls",
            "\"starttls\", \"tls\" or \"none\"",
        );
    }

    #[test]
    fn syntax_errors_give_the_line() {
        let text = "[shopify]\nshop = \"s.myshopify.com\"\n\n[policy\ncover_days = 3\n";
        assert_invalid(text, 4, "syntax error", "");
        let text = "[shopify]\nshop = \"s\"\nshop = \"t\"\n";
        assert_invalid(text, 3, "syntax error", "duplicate key `shop`");
        let text = "[shopify]\nshop = \"s.myshopify.com\"\napi_version = \n";
        assert_invalid(text, 3, "syntax error", "");
    }

    // ----- value validation ----------------------------------------------------------------------

    #[test]
    fn shop_is_required_unless_base_url_is_set() {
        assert_invalid(
            "[locations]\ndefault = \"M\"\n",
            1,
            "shopify.shop",
            "required",
        );
        assert_invalid(
            "\n[shopify]\napi_version = \"2026-01\"\n[locations]\ndefault = \"M\"\n",
            2,
            "shopify.shop",
            "required",
        );
        assert_invalid(
            "[shopify]\nshop = \"\"\n[locations]\ndefault = \"M\"\n",
            2,
            "shopify.shop",
            "must not be empty",
        );
        assert_invalid(
            "[shopify]\nshop = \"https://x.myshopify.com\"\n[locations]\ndefault = \"M\"\n",
            2,
            "shopify.shop",
            "domain only",
        );
        let s = ok(
            "[shopify]\nbase_url = \"http://127.0.0.1:8787/shopify/\"\n[locations]\ndefault = \"M\"\n",
        );
        assert_eq!(s.shopify.base_url, "http://127.0.0.1:8787/shopify");
        assert_eq!(s.shopify.shop, "");
    }

    #[test]
    fn base_urls_are_checked_and_normalised() {
        assert_invalid(
            "[shopify]\nshop = \"x\"\nbase_url = \"ftp://host\"\n[locations]\ndefault = \"M\"\n",
            3,
            "shopify.base_url",
            "http:// or https://",
        );
        let s = ok(&with_min(
            "[cin7]\nbase_url = \"http://127.0.0.1:8787/cin7/ExternalApi/v2\"\n",
        ));
        assert_eq!(
            s.cin7.base_url,
            "http://127.0.0.1:8787/cin7/ExternalApi/v2/"
        );
        assert_invalid(
            &with_min("[cin7]\nbase_url = \"inventory.dearsystems.com\"\n"),
            7,
            "cin7.base_url",
            "http:// or https://",
        );
        assert_invalid(
            "[shopify]\nshop = \"x\"\napi_version = \"jan-2026\"\n[locations]\ndefault = \"M\"\n",
            3,
            "shopify.api_version",
            "2026-01",
        );
    }

    #[test]
    fn cin7_limits_are_checked() {
        assert_invalid(
            &with_min("[cin7]\npage_size = 0\n"),
            7,
            "cin7.page_size",
            "at least 1",
        );
        assert_invalid(
            &with_min("[cin7]\n\npage_size = 1001\n"),
            8,
            "cin7.page_size",
            "at most 1000",
        );
        assert_invalid(
            &with_min("[cin7]\nrequests_per_minute = 0\n"),
            7,
            "cin7.requests_per_minute",
            "at least 1",
        );
        assert_invalid(
            &with_min("[cin7]\nrequests_per_minute = -5\n"),
            7,
            "cin7.requests_per_minute",
            "at least 1",
        );
        assert_eq!(
            ok(&with_min("[cin7]\npage_size = 1000\n")).cin7.page_size,
            1000
        );
    }

    #[test]
    fn policy_values_are_checked() {
        assert_invalid(
            &with_min("[policy]\ntimezone = \"Mars/Olympus\"\n"),
            7,
            "policy.timezone",
            "IANA",
        );
        for bad in ["0", "1", "1.5", "-0.2", "0.0"] {
            assert_invalid(
                &with_min(&format!("[policy]\nservice_level = {bad}\n")),
                7,
                "policy.service_level",
                "strictly between 0 and 1",
            );
        }
        assert_invalid(
            &with_min("[policy]\nvelocity_window_days = 0\n"),
            7,
            "policy.velocity_window_days",
            "at least 1",
        );
        assert_invalid(
            &with_min("[policy]\nvelocity_window_days = 5\nmin_in_stock_days = 6\n"),
            8,
            "policy.min_in_stock_days",
            "must not exceed",
        );
        // Window below the default minimum: the window is the key to blame.
        assert_invalid(
            &with_min("[policy]\nvelocity_window_days = 5\n"),
            7,
            "policy.velocity_window_days",
            "must not exceed",
        );
        assert_invalid(
            &with_min("[policy]\ncover_days = -1\n"),
            7,
            "policy.cover_days",
            "must not be negative",
        );
        assert_eq!(
            ok(&with_min("[policy]\ncover_days = 0\n"))
                .policy
                .cover_days,
            0.0
        );
        assert_eq!(
            ok(&with_min("[policy]\ncover_days = 12.5\n"))
                .policy
                .cover_days,
            12.5
        );
        assert_invalid(
            &with_min("[policy]\nbelow_minimum = \"topup\"\n"),
            7,
            "policy.below_minimum",
            "\"hold\" or \"top_up\"",
        );
        assert_invalid(
            &with_min("[policy]\ncover_days = nan\n"),
            7,
            "policy.cover_days",
            "finite",
        );
    }

    #[test]
    fn http_retry_delays_are_consistent() {
        assert_invalid(
            &with_min("[http]\nretry_initial_ms = 5000\nretry_max_ms = 100\n"),
            8,
            "http.retry_max_ms",
            "must not be less",
        );
        assert_invalid(
            &with_min("[http]\ntimeout_secs = 0\n"),
            7,
            "http.timeout_secs",
            "at least 1",
        );
    }

    #[test]
    fn locations_default_is_required() {
        assert_invalid(
            "[shopify]\nshop = \"x\"\n",
            1,
            "locations.default",
            "required",
        );
        assert_invalid(
            "[shopify]\nshop = \"x\"\n\n[locations]\nignore = []\n",
            4,
            "locations.default",
            "required",
        );
        assert_invalid(
            "[shopify]\nshop = \"x\"\n[locations]\ndefault = \" \"\n",
            4,
            "locations.default",
            "must not be empty",
        );
    }

    const SHOP: &str = "[shopify]\nshop = \"x\"\n";

    #[test]
    fn pool_naming_a_location_twice_is_an_error() {
        let text = format!(
            "{SHOP}[locations]\ndefault = \"A\"\n[locations.pools]\n\"A\" = [\"A\", \"B\", \"B\"]\n"
        );
        assert_invalid(&text, 6, "locations.pools.\"A\"", "names \"B\" twice");
    }

    #[test]
    fn location_in_two_pools_is_an_error() {
        let text = format!(
            "{SHOP}[locations]\ndefault = \"A\"\n[locations.pools]\n\"A\" = [\"B\"]\n\"C\" = [\"D\", \"B\"]\n"
        );
        assert_invalid(
            &text,
            7,
            "locations.pools.\"C\"",
            "already in the pool \"A\"",
        );
        // A pool key listed as another pool's member is in two pools as well.
        let text = format!(
            "{SHOP}[locations]\ndefault = \"A\"\n[locations.pools]\n\"A\" = [\"B\"]\n\"B\" = [\"D\"]\n"
        );
        assert_invalid(
            &text,
            7,
            "locations.pools.\"B\"",
            "already in the pool \"A\"",
        );
        // The key listed as its own member is fine.
        let s = ok(&format!(
            "{SHOP}[locations]\ndefault = \"A\"\n[locations.pools]\n\"A\" = [\"A\", \"B\"]\n"
        ));
        assert_eq!(
            s.locations.pools["A"],
            vec!["A".to_string(), "B".to_string()]
        );
    }

    #[test]
    fn ignored_locations_cannot_be_default_pooled_or_mapped() {
        assert_invalid(
            &format!("{SHOP}[locations]\nignore = [\"R\"]\ndefault = \"R\"\n"),
            5,
            "locations.default",
            "listed in locations.ignore",
        );
        assert_invalid(
            &format!(
                "{SHOP}[locations]\ndefault = \"A\"\nignore = [\"R\"]\n[locations.pools]\n\"R\" = []\n"
            ),
            7,
            "locations.pools.\"R\"",
            "locations.ignore",
        );
        assert_invalid(
            &format!(
                "{SHOP}[locations]\ndefault = \"A\"\nignore = [\"R\"]\n[locations.pools]\n\"A\" = [\n  \"B\",\n  \"R\",\n]\n"
            ),
            9,
            "locations.pools.\"A\"",
            "locations.ignore",
        );
        assert_invalid(
            &format!(
                "{SHOP}[locations]\ndefault = \"A\"\nignore = [\"R\"]\n[locations.shopify]\n\"gid://shopify/Location/9\" = \"R\"\n"
            ),
            7,
            "locations.shopify.\"gid://shopify/Location/9\"",
            "maps to \"R\"",
        );
    }

    #[test]
    fn sku_and_supplier_numbers_are_checked() {
        assert_invalid(
            &with_min("[skus.\"X\"]\nmoq = -1\n"),
            7,
            "skus.\"X\".moq",
            "must not be negative",
        );
        assert_invalid(
            &with_min("[skus.\"X\"]\npack = 0\n"),
            7,
            "skus.\"X\".pack",
            "greater than 0",
        );
        assert_invalid(
            &with_min("[skus.\"X\"]\npack = -2\n"),
            7,
            "skus.\"X\".pack",
            "greater than 0",
        );
        assert_invalid(
            &with_min("[suppliers.\"Acme\"]\nlead_time_days = -3\n"),
            7,
            "suppliers.\"Acme\".lead_time_days",
            "must not be negative",
        );
        assert_invalid(
            &with_min("[suppliers.\"Acme\"]\nmoq = -3\n"),
            7,
            "suppliers.\"Acme\".moq",
            "must not be negative",
        );
        assert_invalid(
            &with_min("[suppliers.\"Acme\"]\nmin_order_value = \"lots\"\n"),
            7,
            "suppliers.\"Acme\".min_order_value",
            "expected an amount",
        );
        assert_invalid(
            &with_min("[suppliers.\"Acme\"]\nmin_order_value = -1\n"),
            7,
            "suppliers.\"Acme\".min_order_value",
            "must not be negative",
        );
        let s = ok(&with_min(
            "[skus.\"X\"]\nmoq = 2.5\npack = 1\n[suppliers.\"Acme\"]\nlead_time_days = 3.5\n",
        ));
        assert_eq!(s.skus.overrides["X"].moq, Some(2.5));
        assert_eq!(s.skus.overrides["X"].pack, Some(1.0));
        assert_eq!(s.suppliers["Acme"].lead_time_days, Some(3.5));
    }

    #[test]
    fn min_order_value_is_an_exact_decimal() {
        let mov = |v: &str| {
            ok(&with_min(&format!(
                "[suppliers.\"Acme\"]\nmin_order_value = {v}\n"
            )))
            .suppliers["Acme"]
                .min_order_value
        };
        assert_eq!(
            mov("500.1"),
            Some(Decimal::from_str_exact("500.1").unwrap_or_default())
        );
        assert_eq!(
            mov("500.1").map(|d| d.to_string()),
            Some("500.1".to_string())
        );
        assert_eq!(mov("0.3").map(|d| d.to_string()), Some("0.3".to_string()));
        assert_eq!(mov("500"), Some(Decimal::from(500)));
        assert_eq!(
            mov("\"1234.56\"").map(|d| d.to_string()),
            Some("1234.56".to_string())
        );
        assert_eq!(mov("1_000"), Some(Decimal::from(1000)));
    }

    #[test]
    fn alert_settings_are_checked() {
        assert_invalid(
            &with_min("[alerts]\nemail_to = [\"nobody\"]\n"),
            7,
            "alerts.email_to",
            "not an email address",
        );
        assert_invalid(
            &with_min("[alerts]\nemail_to = [\"a@b.c\"]\n"),
            7,
            "alerts.email_to",
            "alerts.smtp_host",
        );
        assert_invalid(
            &with_min("[listen]\nbind = \"8080\"\n"),
            7,
            "listen.bind",
            "host:port",
        );
        assert_eq!(
            ok(&with_min("[listen]\nbind = \"localhost:9000\"\n"))
                .listen
                .bind,
            "localhost:9000"
        );
        assert_eq!(
            ok(&with_min("[listen]\nbind = \"[::1]:9000\"\n"))
                .listen
                .bind,
            "[::1]:9000"
        );
    }

    // ----- paths -----------------------------------------------------------------------------------

    #[test]
    fn relative_paths_resolve_against_the_config_folder() {
        let text = with_min("[store]\npath = \"data/r.db\"\n[skus]\nmapping_file = \"map.csv\"\n");
        let s =
            Settings::from_toml_str(&text, Path::new("/etc/replenish/replenish.toml"), &env(&[]))
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.store.path, PathBuf::from("/etc/replenish/data/r.db"));
        assert_eq!(
            s.skus.mapping_file,
            Some(PathBuf::from("/etc/replenish/map.csv"))
        );

        let text = with_min("[store]\npath = \"/var/lib/r.db\"\n");
        let s =
            Settings::from_toml_str(&text, Path::new("/etc/replenish/replenish.toml"), &env(&[]))
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.store.path, PathBuf::from("/var/lib/r.db"));
        // Default store path, too.
        let s = Settings::from_toml_str(MIN, Path::new("/srv/x/replenish.toml"), &env(&[]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.store.path, PathBuf::from("/srv/x/replenish.db"));
    }

    // ----- secrets ---------------------------------------------------------------------------------

    const WITH_SECRETS: &str = "[shopify]\nshop = \"s\"\naccess_token = \"file-token\"\nwebhook_secret = \"file-hook\"\n\
        [cin7]\naccount_id = \"file-account\"\napplication_key = \"file-key\"\n\
        [alerts]\nslack_webhook_url = \"https://hooks.slack.com/file\"\nsmtp_password = \"file-smtp\"\n\
        [locations]\ndefault = \"M\"\n";

    #[test]
    fn environment_wins_over_the_file_for_secrets() {
        let e = env(&[
            ("SHOPIFY_ACCESS_TOKEN", "env-token"),
            ("CIN7_ACCOUNT_ID", "env-account"),
            ("SMTP_PASSWORD", "env-smtp"),
            ("SHOPIFY_WEBHOOK_SECRET_OLD", "env-old"),
            ("CIN7_APPLICATION_KEY", ""),
        ]);
        let s = Settings::from_toml_str(WITH_SECRETS, Path::new("replenish.toml"), &e)
            .unwrap_or_else(|e| panic!("{e}"));
        let token = s.shopify_token().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(token.expose_secret(), "env-token");
        let (account, key) = s.cin7_credentials().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(account.expose_secret(), "env-account");
        // An empty environment value counts as unset: the file's value is used.
        assert_eq!(key.expose_secret(), "file-key");
        assert_eq!(
            s.alerts.smtp_password.as_ref().map(|p| p.expose_secret()),
            Some("env-smtp")
        );
        assert_eq!(
            s.alerts
                .slack_webhook_url
                .as_ref()
                .map(|p| p.expose_secret()),
            Some("https://hooks.slack.com/file")
        );
        let (current, old) = s.webhook_secrets().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(current.expose_secret(), "file-hook");
        assert_eq!(old.as_ref().map(|o| o.expose_secret()), Some("env-old"));
    }

    #[test]
    fn secrets_can_come_from_the_environment_alone() {
        let e = env(&[
            ("CIN7_ACCOUNT_ID", "a"),
            ("CIN7_APPLICATION_KEY", "k"),
            ("SLACK_WEBHOOK_URL", "https://h"),
        ]);
        let s = Settings::from_toml_str(MIN, Path::new("replenish.toml"), &e)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(s.cin7_credentials().is_ok());
        assert!(s.alerts.slack_webhook_url.is_some());
    }

    #[test]
    fn dot_env_lines_quotes_comments_and_errors() {
        let path = Path::new("/cfg/.env");
        let d = DotEnv::parse(
            "\u{feff}# secrets\n\nexport CIN7_ACCOUNT_ID = acct-1 \nSMTP_PASSWORD=p#ss word\n\
             SHOPIFY_ACCESS_TOKEN=\"shpat_x\"\nSLACK_WEBHOOK_URL='https://hooks.example/a'\nEMPTY=\n",
            path,
        )
        .unwrap();
        assert_eq!(d.var("CIN7_ACCOUNT_ID").as_deref(), Some("acct-1"));
        assert_eq!(
            d.var("SMTP_PASSWORD").as_deref(),
            Some("p#ss word"),
            "a # inside a value is part of it"
        );
        assert_eq!(d.var("SHOPIFY_ACCESS_TOKEN").as_deref(), Some("shpat_x"));
        assert_eq!(
            d.var("SLACK_WEBHOOK_URL").as_deref(),
            Some("https://hooks.example/a")
        );
        assert_eq!(d.var("EMPTY"), None, "an empty value counts as unset");
        assert!(
            !format!("{d:?}").contains("shpat_x"),
            "Debug names keys only"
        );

        let err = DotEnv::parse("A=1\njust words\n", path)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("/cfg/.env:2: "), "{err}");
        let err = DotEnv::parse("A=1\nA=2\n", path).unwrap_err().to_string();
        assert_eq!(err, "/cfg/.env:2: A: set twice in this file");
        let err = DotEnv::parse("BAD-NAME=1\n", path).unwrap_err().to_string();
        assert!(err.contains(":1: "), "{err}");
    }

    #[test]
    fn the_environment_wins_over_dot_env_which_wins_over_the_file() {
        let d = DotEnv::parse(
            "CIN7_ACCOUNT_ID=from-dotenv\nCIN7_APPLICATION_KEY=key-dotenv\n",
            Path::new(".env"),
        )
        .unwrap();
        let process = env(&[("CIN7_ACCOUNT_ID", "from-env")]);
        let layered = Layered {
            first: &process,
            then: Some(&d),
        };
        let s = Settings::from_toml_str(
            &format!("{MIN}\n[cin7]\naccount_id = \"from-file\"\napplication_key = \"key-file\"\n"),
            Path::new("replenish.toml"),
            &layered,
        )
        .unwrap();
        let (account, key) = s.cin7_credentials().unwrap();
        assert_eq!(account.expose_secret(), "from-env");
        assert_eq!(key.expose_secret(), "key-dotenv");
    }

    #[test]
    fn missing_secrets_are_not_a_load_error_but_name_the_env_var() {
        let s = ok(MIN);
        match s.cin7_credentials() {
            Err(ConfigError::MissingSecret { env, key }) => {
                assert_eq!((env, key), ("CIN7_ACCOUNT_ID", "cin7.account_id"));
            }
            other => panic!("expected MissingSecret, got {:?}", other.map(|_| ())),
        }
        let e = env(&[("CIN7_ACCOUNT_ID", "a")]);
        let s = Settings::from_toml_str(MIN, Path::new("replenish.toml"), &e)
            .unwrap_or_else(|e| panic!("{e}"));
        match s.cin7_credentials() {
            Err(ConfigError::MissingSecret { env, .. }) => assert_eq!(env, "CIN7_APPLICATION_KEY"),
            other => panic!("expected MissingSecret, got {:?}", other.map(|_| ())),
        }
        let err = match s.shopify_token() {
            Err(e) => e,
            Ok(_) => panic!("expected MissingSecret"),
        };
        assert!(err.to_string().contains("SHOPIFY_ACCESS_TOKEN"), "{err}");
        assert!(matches!(
            s.webhook_secrets(),
            Err(ConfigError::MissingSecret {
                env: "SHOPIFY_WEBHOOK_SECRET",
                ..
            })
        ));
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let e = env(&[("SHOPIFY_WEBHOOK_SECRET_OLD", "env-old-hook")]);
        let s = Settings::from_toml_str(WITH_SECRETS, Path::new("replenish.toml"), &e)
            .unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{s:?}");
        for secret in [
            "file-token",
            "file-hook",
            "env-old-hook",
            "file-account",
            "file-key",
            "hooks.slack.com",
            "file-smtp",
        ] {
            assert!(!shown.contains(secret), "Debug shows {secret}");
        }
        assert!(shown.contains("REDACTED"));
        let sandbox = format!(
            "{:?}",
            Settings::for_sandbox("http://127.0.0.1:1", Path::new("x.db"))
        );
        assert!(!sandbox.contains("\"sandbox\""), "{sandbox}");
    }

    // ----- sandbox, locate, templates -------------------------------------------------------------

    #[test]
    fn sandbox_settings() {
        let s = Settings::for_sandbox("http://127.0.0.1:8787/", Path::new("/tmp/demo.db"));
        assert!(s.source.is_none());
        assert_eq!(s.shopify.shop, "sandbox.myshopify.com");
        assert_eq!(s.shopify.base_url, "http://127.0.0.1:8787/shopify");
        assert_eq!(
            s.cin7.base_url,
            "http://127.0.0.1:8787/cin7/ExternalApi/v2/"
        );
        assert_eq!(s.cin7.requests_per_minute, 600);
        assert_eq!(s.cin7.page_size, 1000);
        assert_eq!(s.shopify.bulk_poll_ms, 200);
        assert_eq!((s.http.retry_initial_ms, s.http.retry_max_ms), (200, 2000));
        assert_eq!(s.http.timeout_secs, 30);
        assert_eq!(s.locations.default, "Main Warehouse");
        assert_eq!(s.store.path, PathBuf::from("/tmp/demo.db"));
        assert_eq!(s.policy, Policy::default());
        let token = s.shopify_token().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(token.expose_secret(), "sandbox");
        let (a, k) = s.cin7_credentials().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (a.expose_secret(), k.expose_secret()),
            ("sandbox", "sandbox")
        );
    }

    #[test]
    fn load_reads_the_file_and_reports_read_errors() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("replenish.toml");
        std::fs::write(&path, format!("\u{feff}{MIN}[policy]\ncover_days = 10\n"))
            .unwrap_or_else(|e| panic!("{e}"));
        let s = Settings::load(&path, &env(&[])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.policy.cover_days, 10.0);
        assert_eq!(s.store.path, dir.path().join("replenish.db"));
        assert_eq!(s.source.as_deref(), Some(path.as_path()));

        std::fs::write(&path, format!("{MIN}[policy]\ncover_days = \"x\"\n"))
            .unwrap_or_else(|e| panic!("{e}"));
        let err = Settings::load(&path, &env(&[]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            err,
            format!("{}:7: policy.cover_days: expected a number", path.display())
        );

        let missing = dir.path().join("nope.toml");
        assert!(matches!(
            Settings::load(&missing, &env(&[])),
            Err(ConfigError::Read { .. })
        ));
    }

    #[test]
    fn locate_prefers_explicit_then_cwd_then_config_dir() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cwd = dir.path().join("cwd");
        let xdg = dir.path().join("xdg");
        let home = dir.path().join("home");
        for d in [
            &cwd,
            &xdg.join("replenish"),
            &home.join(".config/replenish"),
        ] {
            std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
        }
        let e = env(&[
            ("XDG_CONFIG_HOME", xdg.to_str().unwrap_or_default()),
            ("HOME", home.to_str().unwrap_or_default()),
        ]);

        // Nothing anywhere: every place is listed.
        let looked = match locate_in(None, &cwd, &e) {
            Err(ConfigError::NotFound { looked_in }) => looked_in,
            other => panic!("expected NotFound, got {other:?}"),
        };
        assert!(
            looked.contains(&cwd.join("replenish.toml").display().to_string()),
            "{looked}"
        );
        assert!(
            looked.contains(&xdg.join("replenish/replenish.toml").display().to_string()),
            "{looked}"
        );

        // Without XDG_CONFIG_HOME, ~/.config is used.
        let home_file = home.join(".config/replenish/replenish.toml");
        std::fs::write(&home_file, MIN).unwrap_or_else(|e| panic!("{e}"));
        let home_only = env(&[("HOME", home.to_str().unwrap_or_default())]);
        assert_eq!(
            locate_in(None, &cwd, &home_only).ok(),
            Some(home_file.clone())
        );

        let xdg_file = xdg.join("replenish/replenish.toml");
        std::fs::write(&xdg_file, MIN).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(locate_in(None, &cwd, &e).ok(), Some(xdg_file));

        let cwd_file = cwd.join("replenish.toml");
        std::fs::write(&cwd_file, MIN).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(locate_in(None, &cwd, &e).ok(), Some(cwd_file.clone()));

        // An explicit path wins, and must exist.
        assert_eq!(locate_in(Some(&home_file), &cwd, &e).ok(), Some(home_file));
        let missing = dir.path().join("missing.toml");
        match locate_in(Some(&missing), &cwd, &e) {
            Err(ConfigError::NotFound { looked_in }) => {
                assert_eq!(looked_in, missing.display().to_string())
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
        assert!(matches!(
            locate(Some(&missing)),
            Err(ConfigError::NotFound { .. })
        ));
    }

    /// Every key fixed by docs/config.md, plus this module's additions.
    const FIXED_KEYS: &[(&str, &[&str])] = &[
        (
            "shopify",
            &[
                "shop",
                "api_version",
                "base_url",
                "access_token",
                "webhook_secret",
                "webhook_secret_old",
            ],
        ),
        (
            "cin7",
            &[
                "base_url",
                "requests_per_minute",
                "page_size",
                "account_id",
                "application_key",
            ],
        ),
        ("store", &["path"]),
        (
            "policy",
            &[
                "timezone",
                "velocity_window_days",
                "cover_days",
                "service_level",
                "default_lead_time_days",
                "stockout_adjust",
                "min_in_stock_days",
                "use_cin7_reorder_levels",
                "below_minimum",
                "max_data_age_minutes",
                "snapshot_retention_days",
            ],
        ),
        ("locations", &["default", "ignore"]),
        ("locations.shopify", &[]),
        ("locations.pools", &[]),
        ("skus", &["mapping_file"]),
        ("skus.\"ABC-123\"", &["supplier", "moq", "pack"]),
        (
            "suppliers.\"Acme Ltd\"",
            &["lead_time_days", "moq", "min_order_value"],
        ),
        (
            "alerts",
            &[
                "slack_webhook_url",
                "email_to",
                "email_from",
                "smtp_host",
                "smtp_port",
                "smtp_username",
                "smtp_password",
            ],
        ),
        ("listen", &["bind", "debounce_ms"]),
    ];

    const ADDED_KEYS: &[(&str, &[&str])] = &[
        (
            "shopify",
            &[
                "orders_page_size",
                "line_items_page_size",
                "watermark_overlap_secs",
                "bulk_poll_ms",
                "bulk_stall_ms",
            ],
        ),
        (
            "http",
            &[
                "timeout_secs",
                "max_retries",
                "retry_initial_ms",
                "retry_max_ms",
            ],
        ),
        ("cin7", &["purchase_approach"]),
        ("suppliers.\"Acme Ltd\"", &["currency_rate"]),
        ("alerts", &["smtp_tls", "repeat_after_hours"]),
        ("reconcile", &["stale_draft_days", "velocity_jump_sigma"]),
        (
            "listen",
            &[
                "header_timeout_ms",
                "body_timeout_ms",
                "idle_timeout_ms",
                "max_connections",
                "max_buffered_mib",
            ],
        ),
    ];

    #[test]
    fn template_loads_and_names_every_key_with_a_comment() {
        let template = template_toml();
        let s = Settings::from_toml_str(&template, Path::new("replenish.toml"), &env(&[]))
            .unwrap_or_else(|e| panic!("the template must load: {e}"));
        assert_eq!(s.policy, Policy::default());
        assert_eq!(s.cin7.base_url, DEFAULT_CIN7_BASE_URL);
        assert_eq!(s.http.retry_max_ms, HttpSettings::default().retry_max_ms);
        assert!(s.shopify.access_token.is_none());

        let lines: Vec<&str> = template.lines().collect();
        for (table, keys) in FIXED_KEYS.iter().chain(ADDED_KEYS) {
            let header = format!("[{table}]");
            let start = lines
                .iter()
                .position(|l| {
                    l.trim_start_matches("# ").trim_end() == header
                        || l.starts_with(&format!("{header} "))
                })
                .unwrap_or_else(|| panic!("template lacks {header}"));
            for key in *keys {
                // The key appears (set or commented out) after its header, with a comment line above it.
                let at = lines[start..]
                    .iter()
                    .position(|l| l.trim_start_matches("# ").starts_with(&format!("{key} =")))
                    .map(|i| i + start)
                    .unwrap_or_else(|| panic!("template lacks {table}.{key}"));
                assert!(
                    lines[at - 1].starts_with('#'),
                    "{table}.{key} has no comment above it"
                );
            }
        }
        for spec in SECRETS {
            assert!(
                template.contains(spec.env),
                "template does not name {}",
                spec.env
            );
        }
        // Secrets only as comments.
        for key in [
            "access_token",
            "webhook_secret",
            "account_id",
            "application_key",
            "smtp_password",
            "slack_webhook_url",
        ] {
            assert!(
                !lines.iter().any(|l| l.starts_with(&format!("{key} ="))),
                "{key} is set in the template"
            );
        }
    }

    #[test]
    fn env_template_names_every_secret_with_empty_values() {
        let t = template_env();
        for spec in SECRETS {
            let line = format!("{}=", spec.env);
            assert!(t.lines().any(|l| l == line), "missing {line}");
        }
        for name in [
            "SHOPIFY_ACCESS_TOKEN",
            "SHOPIFY_WEBHOOK_SECRET",
            "SHOPIFY_WEBHOOK_SECRET_OLD",
            "CIN7_ACCOUNT_ID",
            "CIN7_APPLICATION_KEY",
            "SLACK_WEBHOOK_URL",
            "SMTP_PASSWORD",
        ] {
            assert!(t.contains(&format!("\n{name}=\n")), "missing {name}");
        }
        // Every non-comment line is an empty assignment.
        assert!(
            t.lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .all(|l| l.ends_with('='))
        );
    }
}
