//! Where secrets come from: the process environment, a `.env` file beside the config file, and
//! the config file itself, in that order (the first that sets a non-empty value wins). Also the
//! list of every secret `replenish` reads ([`SECRETS`]), which `init`, `doctor` and the error
//! scrubber share.
//!
//! Secrets are `SecretString`s from the moment they are read: redacted in `Debug`, never logged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use super::ConfigError;

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

/// A secret's value: the environment variable `var` wins, else the file's value (`from_file`);
/// an empty value counts as unset either way.
pub(crate) fn resolve_secret(
    from_file: Option<SecretString>,
    env: &dyn Env,
    var: &str,
) -> Option<SecretString> {
    if let Some(value) = env.var(var).filter(|v| !v.is_empty()) {
        return Some(SecretString::from(value));
    }
    from_file.filter(|v| !v.expose_secret().is_empty())
}
