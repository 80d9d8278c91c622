//! The secret values this process knows (the Shopify token, the Cin7 keys, webhook secrets, the
//! Slack URL, the SMTP password), so that any text the tool prints, logs or stores can be
//! scrubbed of them. An upstream or a proxy that echoes request headers in an error body would
//! otherwise put the Cin7 application key into stderr and the store's run history.
//!
//! Registered once when the settings are loaded (`app::load_settings`); [`redact`] is applied
//! where text leaves the process's control: every [`crate::adapters::http::ApiError`] message
//! (which also reaches logs and alerts), the run errors the store keeps, and the final error
//! printed on stderr.

use std::borrow::Cow;
use std::sync::RwLock;

use secrecy::ExposeSecret;

use crate::config::Settings;

/// Shorter values are not treated as secrets (they would match ordinary text).
const MIN_LEN: usize = 6;

static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Adds every secret in `settings` to the values [`redact`] replaces.
pub fn register(settings: &Settings) {
    let mut values: Vec<String> = crate::config::SECRETS
        .iter()
        .filter_map(|s| settings.secret(s.env))
        .map(|s| s.expose_secret().trim().to_string())
        .collect();
    // The path of a Slack webhook URL is its secret part; it can show up on its own.
    if let Some(url) = &settings.alerts.slack_webhook_url
        && let Ok(parsed) = reqwest::Url::parse(url.expose_secret().trim())
        && parsed.path().len() > 1
    {
        values.push(parsed.path().to_string());
    }
    register_values(values);
}

/// Adds `values` to the values [`redact`] replaces.
pub fn register_values(values: impl IntoIterator<Item = String>) {
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    for v in values {
        if v.len() >= MIN_LEN && !known.contains(&v) {
            known.push(v);
        }
    }
    // Longest first, so a secret containing another is replaced whole.
    known.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every registered secret value replaced by `[redacted]`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    if !known.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        known
            .iter()
            .fold(text.to_string(), |t, s| t.replace(s.as_str(), "[redacted]")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_are_replaced_wherever_they_appear() {
        register_values([
            "appkey-UNIT-7d1f".to_string(),
            "appkey-UNIT-7d1f-longer".to_string(),
            "abc".to_string(),
        ]);
        assert_eq!(
            redact(
                "HTTP 400: echoed headers api-auth-applicationkey: appkey-UNIT-7d1f-longer, again appkey-UNIT-7d1f"
            ),
            "HTTP 400: echoed headers api-auth-applicationkey: [redacted], again [redacted]"
        );
        assert!(
            matches!(redact("nothing secret here: abc"), Cow::Borrowed(_)),
            "short values are not secrets"
        );
    }
}
