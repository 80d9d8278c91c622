//! Email alerts over SMTP (lettre): one plain-text email per delivery listing every alert
//! pending on email, from `alerts.email_from` to every address of `alerts.email_to`.
//!
//! The connection follows `alerts.smtp_tls`: STARTTLS (required, default port 587), TLS from
//! the first byte (default port 465), or none (default port 25; only for a relay on the same
//! host, and tests). `alerts.smtp_port` overrides the port; `alerts.smtp_username` turns on
//! login with `alerts.smtp_password`. The password never appears in an error.
//! Nothing here touches the store; `app::alerts` records the outcome.

use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use super::{DELIVERY_TIMEOUT, describe, kind_label};
use crate::config::{AlertSettings, SmtpTls};
use crate::store::StoredAlert;

/// A failed email delivery, safe to show (no password in it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmailError {
    /// A setting email needs is missing.
    #[error("email alerts: {0} is not set")]
    Missing(&'static str),
    /// An address in the settings is not one lettre accepts.
    #[error("email alerts: {key} {address:?} is not a valid address: {reason}")]
    Address {
        /// The setting (`alerts.email_from`, `alerts.email_to`).
        key: &'static str,
        /// The address as configured.
        address: String,
        /// Why lettre refused it.
        reason: String,
    },
    /// The email could not be built.
    #[error("email alerts: building the message: {0}")]
    Build(String),
    /// The SMTP server could not be reached, refused the message or failed.
    #[error("email alerts: SMTP {host}: {message}")]
    Smtp {
        /// `alerts.smtp_host`.
        host: String,
        /// What failed, with the server's answer when there was one.
        message: String,
    },
}

/// Sends one email listing `alerts` (nothing when empty).
pub async fn send_batch(
    settings: &AlertSettings,
    alerts: &[&StoredAlert],
    now: DateTime<Utc>,
) -> Result<(), EmailError> {
    if alerts.is_empty() {
        return Ok(());
    }
    let message = build_message(settings, alerts, now)?;
    let transport = transport(settings)?;
    let host = settings.smtp_host.clone().unwrap_or_default();
    let sent = transport.send(message).await;
    // Closes the pooled connection (QUIT) instead of leaving it for the pool's idle timer.
    transport.shutdown().await;
    sent.map(|_| ()).map_err(|e| EmailError::Smtp {
        host,
        message: chain(&e),
    })
}

/// The email for `alerts`: subject `replenish: N alert(s)`, dated `now`, plain text,
/// quoted-printable (7-bit safe for any server, readable as it travels).
pub fn build_message(
    settings: &AlertSettings,
    alerts: &[&StoredAlert],
    now: DateTime<Utc>,
) -> Result<Message, EmailError> {
    let from = settings
        .email_from
        .as_deref()
        .ok_or(EmailError::Missing("alerts.email_from"))?;
    if settings.email_to.is_empty() {
        return Err(EmailError::Missing("alerts.email_to"));
    }
    let mut builder = Message::builder()
        .from(mailbox("alerts.email_from", from)?)
        .subject(subject(alerts))
        .date(SystemTime::from(now))
        .message_id(None)
        .header(ContentType::TEXT_PLAIN);
    for to in &settings.email_to {
        builder = builder.to(mailbox("alerts.email_to", to)?);
    }
    let body = Body::new_with_encoding(body_text(alerts), ContentTransferEncoding::QuotedPrintable)
        .map_err(|_| EmailError::Build("the body cannot be quoted-printable".to_owned()))?;
    builder
        .body(body)
        .map_err(|e| EmailError::Build(e.to_string()))
}

fn mailbox(key: &'static str, address: &str) -> Result<Mailbox, EmailError> {
    address.parse::<Mailbox>().map_err(|e| EmailError::Address {
        key,
        address: address.to_owned(),
        reason: e.to_string(),
    })
}

/// `replenish: 3 alerts`, or for one alert `replenish: Unmapped SKU (ABC-1)`.
fn subject(alerts: &[&StoredAlert]) -> String {
    match alerts {
        [one] => match &one.sku {
            Some(sku) => format!("replenish: {} ({sku})", kind_label(&one.kind)),
            None => format!("replenish: {}", kind_label(&one.kind)),
        },
        many => format!("replenish: {} alerts", many.len()),
    }
}

/// The plain-text body: a numbered entry per alert with its one-line description, then each
/// part on its own line.
pub fn body_text(alerts: &[&StoredAlert]) -> String {
    let n = alerts.len();
    let mut out = format!(
        "replenish raised {n} alert{} that need{} a person:\n",
        if n == 1 { "" } else { "s" },
        if n == 1 { "s" } else { "" },
    );
    let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    for (i, a) in alerts.iter().enumerate() {
        out.push_str(&format!("\n{}. {}\n", i + 1, describe(a)));
        out.push_str(&format!("   Kind: {}\n", a.kind));
        for (label, value) in [
            ("SKU", &a.sku),
            ("Supplier", &a.supplier),
            ("Location", &a.location),
        ] {
            if let Some(v) = value {
                out.push_str(&format!("   {label}: {v}\n"));
            }
        }
        out.push_str(&format!("   Reason: {}\n", a.message));
        if a.occurrences > 1 {
            out.push_str(&format!(
                "   Raised {} times, first {}, last {}\n",
                a.occurrences,
                time(&a.first_raised_at),
                time(&a.last_raised_at)
            ));
        } else {
            out.push_str(&format!("   Raised {}\n", time(&a.first_raised_at)));
        }
    }
    out
}

/// The SMTP transport `settings` describe (not connected yet).
pub fn transport(
    settings: &AlertSettings,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, EmailError> {
    let host = settings
        .smtp_host
        .as_deref()
        .ok_or(EmailError::Missing("alerts.smtp_host"))?;
    let tls_error = |e: lettre::transport::smtp::Error| EmailError::Smtp {
        host: host.to_owned(),
        message: format!("setting up TLS: {}", chain(&e)),
    };
    let mut builder = match settings.smtp_tls {
        SmtpTls::StartTls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(tls_error)?
        }
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(tls_error)?,
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
    };
    if let Some(port) = settings.smtp_port {
        builder = builder.port(port);
    }
    if let Some(user) = &settings.smtp_username {
        let password = settings
            .smtp_password
            .as_ref()
            .map(|p| p.expose_secret().to_owned())
            .unwrap_or_default();
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok(builder.timeout(Some(DELIVERY_TIMEOUT)).build())
}

/// An error and its sources, joined by `: `.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ChannelState;

    fn alert(id: i64, occurrences: u64) -> StoredAlert {
        let a = super::super::sample_alert(id, "unmapped_sku", "selling on Shopify, not in Cin7");
        StoredAlert {
            last_raised_at: a.first_raised_at + chrono::Duration::hours(2),
            occurrences,
            slack: ChannelState::Off,
            ..a
        }
    }

    fn settings() -> AlertSettings {
        AlertSettings {
            email_to: vec!["buyers@example.com".into(), "Ops <ops@example.com>".into()],
            email_from: Some("replenish@example.com".into()),
            smtp_host: Some("smtp.example.com".into()),
            ..AlertSettings::default()
        }
    }

    #[test]
    fn the_message_lists_every_alert_to_every_recipient() {
        let (a, b) = (alert(1, 1), alert(2, 3));
        let now = DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let msg = build_message(&settings(), &[&a, &b], now).unwrap();
        let to: Vec<String> = msg.envelope().to().iter().map(|a| a.to_string()).collect();
        assert_eq!(to, vec!["buyers@example.com", "ops@example.com"]);
        let raw = String::from_utf8(msg.formatted()).unwrap();
        assert!(raw.contains("Subject: replenish: 2 alerts"), "{raw}");
        assert!(raw.contains("Date: Wed, 01 May 2024 12:00:00"), "{raw}");
        assert!(raw.contains("Content-Transfer-Encoding: quoted-printable"));
        assert!(raw.contains("Message-ID: <"), "{raw}");
        let body = body_text(&[&a, &b]);
        assert!(body.starts_with("replenish raised 2 alerts that need a person:\n"));
        assert!(body.contains(
            "1. Unmapped SKU — SKU SKU-1, location Main: selling on Shopify, not in Cin7\n"
        ));
        assert!(body.contains("   SKU: SKU-2\n"));
        assert!(
            body.contains("Raised 3 times, first 2024-05-01T10:00:00Z, last 2024-05-01T12:00:00Z")
        );
        assert_eq!(subject(&[&a]), "replenish: Unmapped SKU (SKU-1)");
    }

    #[test]
    fn bad_or_missing_addresses_are_named() {
        let mut s = settings();
        s.email_from = Some("not an address".into());
        let a = alert(1, 1);
        let now = DateTime::UNIX_EPOCH;
        let err = build_message(&s, &[&a], now).unwrap_err().to_string();
        assert!(err.contains("alerts.email_from"), "{err}");
        s.email_from = None;
        let err = build_message(&s, &[&a], now).unwrap_err().to_string();
        assert!(err.contains("alerts.email_from is not set"), "{err}");
    }

    #[tokio::test]
    async fn every_tls_mode_builds_a_transport() {
        // Building (not connecting) sets up rustls: this catches a crypto-provider mix-up.
        for tls in [SmtpTls::StartTls, SmtpTls::Tls, SmtpTls::None] {
            let mut s = settings();
            s.smtp_tls = tls;
            s.smtp_port = Some(2525);
            s.smtp_username = Some("replenish".into());
            s.smtp_password = Some(secrecy::SecretString::from("hunter22"));
            let t = transport(&s).unwrap();
            assert!(!format!("{t:?}").contains("hunter22"));
        }
        let mut s = settings();
        s.smtp_host = None;
        assert!(matches!(transport(&s), Err(EmailError::Missing(_))));
    }
}
