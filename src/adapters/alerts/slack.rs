//! Slack incoming webhook: `POST {"text": "…"}` to the configured URL; Slack answers 200 `ok`.
//!
//! The webhook URL is a secret (anyone holding it can post to the channel): it is never logged,
//! and errors name the webhook by its host only ([`SlackError`]). Any non-2xx answer is a failure.
//! Nothing here touches the store; `app::alerts` records the outcomes.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::describe;
use crate::adapters::http::excerpt;
use crate::store::StoredAlert;

/// At most this many alerts go into one Slack message.
pub const MAX_ALERTS_PER_MESSAGE: usize = 25;

/// A message is closed before it would pass this many characters (Slack shows about 4,000 in
/// full and truncates longer texts). A single alert line longer than this is cut.
pub const MAX_MESSAGE_CHARS: usize = 3500;

/// A failed post, safe to show: the webhook is named by its host only.
#[derive(Debug, Clone, thiserror::Error)]
#[error("Slack webhook at {host}: {message}")]
pub struct SlackError {
    /// The webhook URL's host (`hooks.slack.com`), or `?` when the URL could not be parsed.
    pub host: String,
    /// What went wrong (no URL in it).
    pub message: String,
}

/// A configured incoming webhook and the HTTP client that posts to it. Its `Debug` shows the
/// host only.
pub struct SlackWebhook {
    client: reqwest::Client,
    /// The secret URL: never printed.
    url: reqwest::Url,
    host: String,
}

impl std::fmt::Debug for SlackWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackWebhook")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl SlackWebhook {
    /// Checks the URL (http or https) and builds a client with `timeout` per request.
    pub fn new(url: &SecretString, timeout: Duration) -> Result<SlackWebhook, SlackError> {
        let invalid = |message: &str| SlackError {
            host: "?".to_owned(),
            message: message.to_owned(),
        };
        // url's parse errors do not quote the input, so they are safe to show.
        let url = reqwest::Url::parse(url.expose_secret().trim()).map_err(|e| {
            invalid(&format!(
                "the webhook URL (SLACK_WEBHOOK_URL / alerts.slack_webhook_url) is not a URL: {e}"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(
                "the webhook URL (SLACK_WEBHOOK_URL / alerts.slack_webhook_url) must be https",
            ));
        }
        let host = url.host_str().unwrap_or("?").to_owned();
        crate::adapters::http::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("replenish/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SlackError {
                host: host.clone(),
                message: format!("building the HTTP client: {}", chain(&e.without_url())),
            })?;
        Ok(SlackWebhook { client, url, host })
    }

    /// Posts `text` as one message. `Ok` on any 2xx answer.
    pub async fn post(&self, text: &str) -> Result<(), SlackError> {
        let fail = |message: String| SlackError {
            host: self.host.clone(),
            message,
        };
        let response = self
            .client
            .post(self.url.clone())
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await
            .map_err(|e| {
                let what = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "request failed"
                };
                fail(format!("{what}: {}", chain(&e.without_url())))
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // Only an excerpt is shown: read at most a little.
        let body = crate::adapters::http::read_body(response, "slack", 64 << 10)
            .await
            .unwrap_or_default();
        let body = excerpt(&body);
        Err(fail(if body.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {body}")
        }))
    }
}

/// An error and its sources, joined by `: ` (reqwest's own text stops at "error sending request").
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

/// One Slack message and the alerts it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackMessage {
    /// The alerts in this message (their ids), in order.
    pub alert_ids: Vec<i64>,
    /// The message text (Slack mrkdwn, `&`, `<` and `>` escaped).
    pub text: String,
}

/// The messages that carry `alerts`, in order: a bold header line
/// (`*replenish: 3 alerts*`, or `*replenish: 3 alerts (part 1 of 2)*`) then one bullet line per
/// alert (see [`describe`]), split by [`MAX_ALERTS_PER_MESSAGE`] and [`MAX_MESSAGE_CHARS`].
pub fn messages(alerts: &[&StoredAlert]) -> Vec<SlackMessage> {
    // Leaves room for the header line.
    let budget = MAX_MESSAGE_CHARS - 80;
    let mut groups: Vec<(Vec<i64>, Vec<String>, usize)> = Vec::new();
    for alert in alerts {
        let line = format!("• {}", cut_escaped(&escape(&describe(alert)), budget - 2));
        let len = line.chars().count() + 1;
        match groups.last_mut() {
            Some((ids, lines, chars))
                if ids.len() < MAX_ALERTS_PER_MESSAGE && *chars + len <= budget =>
            {
                ids.push(alert.id);
                lines.push(line);
                *chars += len;
            }
            _ => groups.push((vec![alert.id], vec![line], len)),
        }
    }
    let parts = groups.len();
    let total = alerts.len();
    groups
        .into_iter()
        .enumerate()
        .map(|(i, (alert_ids, lines, _))| {
            let mut header = format!(
                "*replenish: {total} alert{}",
                if total == 1 { "" } else { "s" }
            );
            if parts > 1 {
                header.push_str(&format!(" (part {} of {parts})", i + 1));
            }
            header.push('*');
            let text = std::iter::once(header)
                .chain(lines)
                .collect::<Vec<_>>()
                .join("\n");
            SlackMessage { alert_ids, text }
        })
        .collect()
}

/// Slack's three control characters in message text.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `s` (already escaped) cut to at most `max_chars` characters, ending with `…` when cut, and
/// never in the middle of an `&amp;`-style entity.
fn cut_escaped(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_owned();
    }
    let at = s
        .char_indices()
        .nth(max_chars.saturating_sub(1))
        .map_or(s.len(), |(at, _)| at);
    let mut head = &s[..at];
    if let Some(amp) = head.rfind('&')
        && !head[amp..].contains(';')
    {
        head = &head[..amp];
    }
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(id: i64, message: &str) -> StoredAlert {
        StoredAlert {
            supplier: Some("Smith & Sons <UK>".into()),
            occurrences: 2,
            ..super::super::sample_alert(id, "po_rejected", message)
        }
    }

    #[test]
    fn one_message_lists_every_alert_escaped() {
        let a = alert(1, "Cin7 rejected PO: bad tax rule");
        let b = alert(2, "Cin7 rejected PO: no supplier");
        let got = messages(&[&a, &b]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].alert_ids, vec![1, 2]);
        assert_eq!(
            got[0].text,
            "*replenish: 2 alerts*\n\
             • PO rejected by Cin7 — SKU SKU-1, supplier Smith &amp; Sons &lt;UK&gt;, location Main: Cin7 rejected PO: bad tax rule (×2)\n\
             • PO rejected by Cin7 — SKU SKU-2, supplier Smith &amp; Sons &lt;UK&gt;, location Main: Cin7 rejected PO: no supplier (×2)"
        );
    }

    #[test]
    fn many_or_long_alerts_are_split_and_every_alert_is_carried_once() {
        let alerts: Vec<StoredAlert> = (0..60).map(|i| alert(i, "x")).collect();
        let refs: Vec<&StoredAlert> = alerts.iter().collect();
        let got = messages(&refs);
        assert_eq!(got.len(), 3);
        assert!(
            got[0]
                .text
                .starts_with("*replenish: 60 alerts (part 1 of 3)*")
        );
        let ids: Vec<i64> = got.iter().flat_map(|m| m.alert_ids.clone()).collect();
        assert_eq!(ids, (0..60).collect::<Vec<_>>());

        let long = alert(1, &"y&".repeat(5_000));
        let short = alert(2, "z");
        let got = messages(&[&long, &short]);
        assert!(
            got.iter()
                .all(|m| m.text.chars().count() <= MAX_MESSAGE_CHARS)
        );
        let ids: Vec<i64> = got.iter().flat_map(|m| m.alert_ids.clone()).collect();
        assert_eq!(ids, vec![1, 2]);
        assert!(got[0].text.contains('…'));
        // Cut before an entity, never inside one.
        assert!(
            got[0]
                .text
                .split('&')
                .skip(1)
                .all(|rest| rest.starts_with("amp;")
                    || rest.starts_with("lt;")
                    || rest.starts_with("gt;"))
        );
    }

    #[test]
    fn debug_shows_the_host_only() {
        let hook = SlackWebhook::new(
            &SecretString::from("https://hooks.example/services/T0/B0/SECRET"),
            Duration::from_secs(1),
        )
        .unwrap();
        let shown = format!("{hook:?}");
        assert!(
            shown.contains("hooks.example") && !shown.contains("SECRET"),
            "{shown}"
        );
    }

    #[test]
    fn a_bad_url_is_refused_without_quoting_it() {
        let err = SlackWebhook::new(
            &SecretString::from("ftp://hooks.example/services/SECRET"),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        let err = SlackWebhook::new(
            &SecretString::from("not a url SECRET"),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
    }
}
