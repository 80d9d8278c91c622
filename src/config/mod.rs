//! Configuration: one TOML file plus secrets from the environment, validated once into [`Settings`].
//!
//! Key names are fixed by the shared config contract (docs/config.md; users' cron jobs depend on
//! them). Unknown keys are errors naming file, line and key. Secrets are `SecretString`s: they are
//! redacted in `Debug` and never logged. Environment variables win over the file for secrets.
//!
//! This file holds the settings types every command reads, [`Settings::load`] and [`locate`].
//! Loading goes text → `source` (toml's spanned document, kept for line numbers) → `file` (the
//! file's shape as serde types, `deny_unknown_fields`) → `validate` (defaults, ranges and
//! cross-field checks, plain functions) → [`Settings`]. The rest:
//!
//! - `env`: secrets from the environment, `.env` and the file ([`Env`], [`DotEnv`], [`SECRETS`]);
//! - [`limits`]: the range of every numeric setting;
//! - `template`: what `replenish init` writes;
//! - the planning settings themselves ([`Policy`], [`LocationSettings`], the overrides) are the
//!   core's (`core::settings`), re-exported here.

mod env;
mod file;
pub mod limits;
mod source;
mod template;
#[cfg(test)]
mod tests;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

pub use self::env::{DOT_ENV, DotEnv, Env, Layered, ProcessEnv, SECRETS, SecretSpec};
pub use self::template::{template_env, template_toml};
pub use crate::core::settings::{
    BelowMinimum, LocationSettings, Method, Policy, SkuOverride, SupplierOverride,
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

// ---------------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------------

/// `shopify.api_version` default.
pub const DEFAULT_SHOPIFY_API_VERSION: &str = "2026-01";
/// `cin7.base_url` default.
pub const DEFAULT_CIN7_BASE_URL: &str = "https://inventory.dearsystems.com/ExternalApi/v2/";
/// `store.path` default (relative to the config file's folder).
pub const DEFAULT_STORE_PATH: &str = "replenish.db";
/// `listen.bind` default.
pub const DEFAULT_LISTEN_BIND: &str = "127.0.0.1:8080";

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
        let src = source::Source::parse(text, path)?;
        let shape = file::read(&src)?;
        validate::settings(&src, shape, env)
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
