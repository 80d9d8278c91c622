//! Alert delivery: a batch of alerts pending on one channel is sent to Slack ([`slack`]) or by
//! email ([`email`]) and each alert's outcome returned ([`send`]). The outbox itself (the store's
//! `alerts` table) is read and the outcomes recorded by the app (`app::alerts`): a channel that
//! fails leaves the alert pending on that channel for the next run (it is never lost); a channel
//! that succeeded is never sent again. Nothing here touches the store.
//!
//! Shape of a delivery:
//! - **Slack**: the alerts pending on Slack are combined into as few messages as fit Slack's
//!   readable size (one line per alert, at most [`slack::MAX_ALERTS_PER_MESSAGE`] alerts or about
//!   [`slack::MAX_MESSAGE_CHARS`] characters per message), so fifty unmapped SKUs are one
//!   message, not fifty. Each message's outcome is recorded on the alerts it carried. After a
//!   message fails, the rest are not tried in this delivery (the webhook is likely down and each
//!   try could wait out the timeout); their alerts are recorded as failed with the same error.
//! - **Email**: one email for all the alerts pending on email.
//! - Neither is retried within the run: posting is not idempotent, so a lost answer must not
//!   turn into a duplicate; the next run tries again.
//! - The app writes the outcomes right after each channel's send (one transaction per channel),
//!   so a crash between a send and its record re-sends at most that channel's batch next run.
//!
//! Secrets (the Slack webhook URL, the SMTP password) never appear in an error, a log line or
//! the store: errors name the Slack webhook by host only, and every error text is scrubbed of
//! the secrets' values before it leaves this module.

pub mod email;
pub mod slack;

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

use crate::config::AlertSettings;
use crate::store::{Channel, ChannelState, Channels, StoredAlert};

/// How long one delivery (a Slack POST, an SMTP command) may take before it counts as failed.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);

/// The channels `settings` configures: Slack when a webhook URL is set; email when there is at
/// least one recipient, a sender and an SMTP host. Pass this to `Writer::raise_alerts`.
pub fn configured_channels(settings: &AlertSettings) -> Channels {
    Channels {
        slack: settings
            .slack_webhook_url
            .as_ref()
            .is_some_and(|u| !u.expose_secret().trim().is_empty()),
        email: !settings.email_to.is_empty()
            && settings.email_from.is_some()
            && settings.smtp_host.is_some(),
    }
}

/// Sends `alerts` (pending on `channel`) as one delivery on that channel and returns each
/// alert's outcome, errors free of secrets. Nothing is stored: the app reads the outbox and records
/// these outcomes (`app::alerts`).
///
/// See the module docs for the shape (Slack: combined messages; email: one for the batch). A
/// channel no longer configured fails every alert with a sentence saying so (the alert waits,
/// visible in `status`, until the channel is configured again).
pub async fn send(
    settings: &AlertSettings,
    channel: Channel,
    alerts: &[&StoredAlert],
    now: DateTime<Utc>,
) -> Vec<(i64, Result<(), String>)> {
    let outcomes: Vec<(i64, Result<(), String>)> = if !configured_channels(settings).has(channel) {
        let why = not_configured(channel);
        alerts.iter().map(|a| (a.id, Err(why.clone()))).collect()
    } else {
        match channel {
            Channel::Slack => send_slack(settings, alerts).await,
            Channel::Email => {
                let outcome = email::send_batch(settings, alerts, now)
                    .await
                    .map_err(|e| e.to_string());
                alerts.iter().map(|a| (a.id, outcome.clone())).collect()
            }
        }
    };
    let secrets = secrets(settings);
    outcomes
        .into_iter()
        .map(|(id, r)| (id, r.map_err(|e| redact(&e, &secrets))))
        .collect()
}

/// An alert of `kind` raised once at `now` and not sent yet: pending on both channels, no run,
/// no SKU, supplier or location, its group key its kind. `send_test` sends one; the channels'
/// tests build theirs from it.
pub(crate) fn unsent_alert(kind: &str, message: &str, now: DateTime<Utc>) -> StoredAlert {
    StoredAlert {
        id: 0,
        group_key: kind.to_owned(),
        kind: kind.to_owned(),
        sku: None,
        supplier: None,
        location: None,
        message: message.to_owned(),
        first_raised_at: now,
        last_raised_at: now,
        occurrences: 1,
        run_id: None,
        slack: ChannelState::Pending,
        email: ChannelState::Pending,
        attempts: 0,
        last_error: None,
        delivered_at: None,
    }
}

/// A stored alert for the channels' tests: number `id` (group key `k{id}`, SKU `SKU-{id}`) at
/// `Main`, raised once at 2024-05-01 10:00 UTC and pending on both channels.
#[cfg(test)]
pub(crate) fn sample_alert(id: i64, kind: &str, message: &str) -> StoredAlert {
    let t = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    StoredAlert {
        id,
        group_key: format!("k{id}"),
        sku: Some(format!("SKU-{id}")),
        location: Some("Main".into()),
        ..unsent_alert(kind, message, t)
    }
}

/// Sends one test alert on every configured channel, outside the outbox (nothing is stored);
/// returns each configured channel's outcome, errors free of secrets. For `doctor
/// --send-test-alert`.
pub async fn send_test(
    settings: &AlertSettings,
    now: DateTime<Utc>,
) -> Vec<(Channel, Result<(), String>)> {
    let configured = configured_channels(settings);
    let alert = unsent_alert(
        "test",
        "a test alert from `replenish doctor --send-test-alert`: this channel works",
        now,
    );
    let mut out = Vec::new();
    for channel in Channel::ALL.into_iter().filter(|c| configured.has(*c)) {
        let outcome = send(settings, channel, &[&alert], now)
            .await
            .into_iter()
            .map(|(_, r)| r)
            .next()
            .unwrap_or(Ok(()));
        out.push((channel, outcome));
    }
    out
}

async fn send_slack(
    settings: &AlertSettings,
    alerts: &[&StoredAlert],
) -> Vec<(i64, Result<(), String>)> {
    let Some(url) = settings.slack_webhook_url.as_ref() else {
        let why = not_configured(Channel::Slack);
        return alerts.iter().map(|a| (a.id, Err(why.clone()))).collect();
    };
    let hook = match slack::SlackWebhook::new(url, DELIVERY_TIMEOUT) {
        Ok(hook) => hook,
        Err(e) => {
            let why = e.to_string();
            return alerts.iter().map(|a| (a.id, Err(why.clone()))).collect();
        }
    };
    let mut outcomes = Vec::with_capacity(alerts.len());
    let mut failed: Option<String> = None;
    for message in slack::messages(alerts) {
        let outcome = match &failed {
            Some(earlier) => Err(format!(
                "not sent after an earlier Slack message of this delivery failed: {earlier}"
            )),
            None => hook.post(&message.text).await.map_err(|e| e.to_string()),
        };
        if let (Err(e), None) = (&outcome, &failed) {
            failed = Some(e.clone());
        }
        outcomes.extend(message.alert_ids.iter().map(|&id| (id, outcome.clone())));
    }
    outcomes
}

fn not_configured(channel: Channel) -> String {
    match channel {
        Channel::Slack => "Slack is not configured now (set SLACK_WEBHOOK_URL or \
                           alerts.slack_webhook_url); the alert waits until it is"
            .to_owned(),
        Channel::Email => "email is not configured now (alerts.email_to, alerts.email_from and \
                           alerts.smtp_host); the alert waits until it is"
            .to_owned(),
    }
}

/// The secret values that must never leave this module in an error.
fn secrets(settings: &AlertSettings) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(url) = &settings.slack_webhook_url {
        let url = url.expose_secret().trim();
        out.push(url.to_owned());
        // The path is the secret part of a webhook URL; catch it wherever it shows up alone.
        if let Ok(parsed) = reqwest::Url::parse(url)
            && parsed.path().len() > 1
        {
            out.push(parsed.path().to_owned());
        }
    }
    if let Some(password) = &settings.smtp_password {
        out.push(password.expose_secret().to_owned());
    }
    // Longest first, so a secret containing another is replaced whole.
    out.retain(|s| s.len() >= 4);
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// `text` with every secret value replaced by `[redacted]`.
fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .fold(text.to_owned(), |t, s| t.replace(s.as_str(), "[redacted]"))
}

/// A person's name for an alert kind (`unmapped_sku` → "Unmapped SKU"); unknown kinds as given.
pub fn kind_label(kind: &str) -> String {
    match kind {
        "missing_supplier" => "Missing supplier data".to_owned(),
        "unmapped_sku" => "Unmapped SKU".to_owned(),
        "po_rejected" => "PO rejected by Cin7".to_owned(),
        "po_held" => "PO held".to_owned(),
        "gate_held" => "Held by a data-quality gate".to_owned(),
        "draft_edited" => "Draft edited by a person".to_owned(),
        "run_failed" => "Run failed".to_owned(),
        "test" => "Test alert".to_owned(),
        other => other.replace('_', " "),
    }
}

/// One plain-text line for an alert: label, what it concerns, the reason, and `(×N)` when it was
/// raised more than once. E.g. `Unmapped SKU — SKU ABC-1, supplier Acme Ltd: not in Cin7 (×3)`.
pub fn describe(alert: &StoredAlert) -> String {
    let mut about = Vec::new();
    if let Some(sku) = &alert.sku {
        about.push(format!("SKU {sku}"));
    }
    if let Some(supplier) = &alert.supplier {
        about.push(format!("supplier {supplier}"));
    }
    if let Some(location) = &alert.location {
        about.push(format!("location {location}"));
    }
    let mut line = kind_label(&alert.kind);
    if !about.is_empty() {
        line.push_str(" — ");
        line.push_str(&about.join(", "));
    }
    line.push_str(": ");
    line.push_str(&alert.message);
    if alert.occurrences > 1 {
        line.push_str(&format!(" (×{})", alert.occurrences));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn stored(kind: &str, occurrences: u64) -> StoredAlert {
        let t = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        StoredAlert {
            id: 1,
            group_key: "k".into(),
            sku: Some("ABC-1".into()),
            supplier: Some("Acme Ltd".into()),
            occurrences,
            email: ChannelState::Off,
            ..unsent_alert(kind, "not in Cin7", t)
        }
    }

    #[test]
    fn describe_names_what_and_why_and_counts_repeats() {
        assert_eq!(
            describe(&stored("unmapped_sku", 3)),
            "Unmapped SKU — SKU ABC-1, supplier Acme Ltd: not in Cin7 (×3)"
        );
        assert_eq!(
            describe(&stored("something_new", 1)),
            "something new — SKU ABC-1, supplier Acme Ltd: not in Cin7"
        );
    }

    #[test]
    fn channels_follow_the_settings() {
        let mut s = AlertSettings::default();
        assert_eq!(configured_channels(&s), Channels::default());
        s.slack_webhook_url = Some(SecretString::from("https://hooks.example/services/T/B/X"));
        s.email_to = vec!["a@b.c".into()];
        s.email_from = Some("r@b.c".into());
        assert_eq!(
            configured_channels(&s),
            Channels {
                slack: true,
                email: false
            }
        );
        s.smtp_host = Some("smtp.b.c".into());
        assert!(configured_channels(&s).email);
    }

    #[test]
    fn redaction_removes_the_url_its_path_and_the_password() {
        let s = AlertSettings {
            slack_webhook_url: Some(SecretString::from(
                "https://hooks.example/services/T0/B0/SECRET",
            )),
            smtp_password: Some(SecretString::from("hunter22")),
            ..AlertSettings::default()
        };
        let secrets = secrets(&s);
        let text = "posting https://hooks.example/services/T0/B0/SECRET failed; \
                    path /services/T0/B0/SECRET; login hunter22 refused";
        let clean = redact(text, &secrets);
        assert!(
            !clean.contains("SECRET") && !clean.contains("hunter22"),
            "{clean}"
        );
        assert!(clean.contains("[redacted]"));
    }
}
