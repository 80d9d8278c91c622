//! Configuration: one TOML file plus secrets from the environment, validated once into [`Settings`].
//!
//! Key names are fixed by the shared config contract (users' cron jobs depend on them). Unknown keys
//! are errors naming file, line and key. Secrets are `SecretString`s: they are redacted in `Debug`
//! and never logged. Environment variables win over the file for secrets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use secrecy::SecretString;

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
}

#[derive(Debug, Clone)]
pub struct Cin7Settings {
    /// Base URL ending in `/` (the client joins endpoint names to it).
    pub base_url: String,
    pub requests_per_minute: u32,
    pub page_size: u32,
    pub account_id: Option<SecretString>,
    pub application_key: Option<SecretString>,
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

/// `[policy]`: the planning knobs (see docs/planning.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub timezone: chrono_tz::Tz,
    pub velocity_window_days: u32,
    pub cover_days: f64,
    pub service_level: f64,
    pub default_lead_time_days: u32,
    pub stockout_adjust: bool,
    pub min_in_stock_days: u32,
    pub use_cin7_reorder_levels: bool,
    pub below_minimum: BelowMinimum,
    pub max_data_age_minutes: u64,
    pub snapshot_retention_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BelowMinimum {
    Hold,
    TopUp,
}

#[derive(Debug, Clone, Default)]
pub struct LocationSettings {
    pub default: String,
    pub ignore: Vec<String>,
    /// Shopify location gid → Cin7 location name.
    pub shopify: BTreeMap<String, String>,
    /// Key location → member Cin7 locations.
    pub pools: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct SkuSettings {
    /// Resolved against the config file's folder.
    pub mapping_file: Option<PathBuf>,
    pub overrides: BTreeMap<String, SkuOverride>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SkuOverride {
    pub supplier: Option<String>,
    pub moq: Option<f64>,
    pub pack: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SupplierOverride {
    pub lead_time_days: Option<f64>,
    pub moq: Option<f64>,
    pub min_order_value: Option<Decimal>,
}

#[derive(Debug, Clone, Default)]
pub struct AlertSettings {
    pub slack_webhook_url: Option<SecretString>,
    pub email_to: Vec<String>,
    pub email_from: Option<String>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<SecretString>,
}

#[derive(Debug, Clone)]
pub struct ListenSettings {
    pub bind: String,
    pub debounce_ms: u64,
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
    MissingSecret { env: &'static str, key: &'static str },
    #[error("no config file: looked for {looked_in}; run `replenish init` to write one")]
    NotFound { looked_in: String },
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

impl Settings {
    /// Loads and validates the file at `path`, taking secrets from `env` first.
    pub fn load(path: &Path, env: &dyn Env) -> Result<Settings, ConfigError> {
        let _ = (path, env);
        todo!("config helper")
    }

    /// Parses TOML text as if read from `path` (relative paths resolve against `path`'s folder).
    pub fn from_toml_str(text: &str, path: &Path, env: &dyn Env) -> Result<Settings, ConfigError> {
        let _ = (text, path, env);
        todo!("config helper")
    }

    /// Settings pointing at a local sandbox (used by `demo` and tests): every default, the two base
    /// URLs, placeholder credentials and the given store path.
    pub fn for_sandbox(base: &str, store_path: &Path) -> Settings {
        let _ = (base, store_path);
        todo!("config helper")
    }

    /// Both Cin7 secrets, or the error naming the missing environment variable.
    pub fn cin7_credentials(&self) -> Result<(SecretString, SecretString), ConfigError> {
        todo!("config helper")
    }

    /// The Shopify access token, or the error naming `SHOPIFY_ACCESS_TOKEN`.
    pub fn shopify_token(&self) -> Result<SecretString, ConfigError> {
        todo!("config helper")
    }
}

/// Finds the config file: `--config PATH`, else `./replenish.toml`, else the platform config dir
/// (`$XDG_CONFIG_HOME/replenish/replenish.toml` or `~/.config/replenish/replenish.toml`).
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
    let _ = explicit;
    todo!("config helper")
}

/// The commented `replenish.toml` that `replenish init` writes (every key, with a comment).
pub fn template_toml() -> String {
    todo!("config helper")
}

/// The `.env.example` that `replenish init` writes, naming every secret.
pub fn template_env() -> String {
    todo!("config helper")
}
