//! Alert delivery end to end: the outbox in a real store, a Slack webhook on wiremock (or a closed
//! port), and a tiny fake SMTP server on 127.0.0.1. Failed channels stay pending and are sent by
//! a later delivery; a channel that succeeded is never sent again; no error shows the Slack URL.

use std::time::Duration;

use chrono::{DateTime, Utc};
use replenish::adapters::alerts::configured_channels;
use replenish::app::alerts::deliver_pending;
use replenish::config::{AlertSettings, SmtpTls};
use replenish::store::{ChannelState, NewAlert, Store};
use secrecy::SecretString;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use wiremock::MockServer;

use crate::common::mock::{mount, post, text};

/// The secret part of the test webhook URL: must never appear in an error or in the store.
const HOOK_PATH: &str = "/services/T000/B000/s3cr3tW3bh00k";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn open_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("replenish.db")).unwrap();
    (dir, store)
}

fn rejected_po() -> NewAlert {
    NewAlert {
        kind: "po_rejected".into(),
        sku: Some("ABC-123".into()),
        supplier: Some("Acme Ltd".into()),
        location: Some("Main Warehouse".into()),
        message: "Cin7 rejected PO: TaxRule 'GST' not found".into(),
    }
}

fn raise(store: &mut Store, settings: &AlertSettings, alerts: &[NewAlert]) {
    store
        .write(|w| {
            w.raise_alerts(
                alerts,
                now(),
                None,
                configured_channels(settings),
                chrono::Duration::hours(24),
            )
        })
        .unwrap();
}

/// A port nothing listens on (bound, then released).
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

fn slack_settings(base: &str) -> AlertSettings {
    AlertSettings {
        slack_webhook_url: Some(SecretString::from(format!("{base}{HOOK_PATH}"))),
        ..AlertSettings::default()
    }
}

fn assert_no_secret(text: &str) {
    assert!(!text.contains("s3cr3tW3bh00k"), "secret leaked: {text}");
    assert!(!text.contains(HOOK_PATH), "webhook path leaked: {text}");
}

#[tokio::test]
async fn slack_down_keeps_the_alert_pending_then_it_is_sent_once() {
    let (_dir, mut store) = open_store();
    let server = MockServer::start().await;
    let settings = slack_settings(&server.uri());
    raise(&mut store, &settings, &[rejected_po()]);

    // Down: Slack answers 500.
    mount(&server, post(HOOK_PATH), text(500, "internal_error"), ..).await;
    let report = deliver_pending(&mut store, &settings, now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 1));
    assert_eq!(report.errors.len(), 1);
    assert!(report.errors[0].contains("500"), "{:?}", report.errors);
    assert!(
        report.errors[0].contains("127.0.0.1"),
        "{:?}",
        report.errors
    );
    report.errors.iter().for_each(|e| assert_no_secret(e));
    let pending = store.pending_alerts().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].slack, ChannelState::Pending);
    assert_eq!(pending[0].email, ChannelState::Off);
    assert_eq!(pending[0].attempts, 1);
    assert_no_secret(pending[0].last_error.as_deref().unwrap_or_default());

    // Up: answers 200 "ok".
    server.reset().await;
    mount(&server, post(HOOK_PATH), text(200, "ok"), ..).await;
    let report = deliver_pending(&mut store, &settings, now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 0));
    assert!(report.errors.is_empty());
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("ABC-123"), "{text}");
    assert!(text.contains("Acme Ltd"), "{text}");
    assert!(text.contains("Main Warehouse"), "{text}");
    assert!(
        text.contains("Cin7 rejected PO: TaxRule 'GST' not found"),
        "{text}"
    );
    assert!(store.pending_alerts().unwrap().is_empty());
    let row = store.recent_alerts(1).unwrap().remove(0);
    assert_eq!(row.slack, ChannelState::Sent);
    assert_eq!(row.delivered_at, Some(now()));

    // Nothing left: a third delivery sends nothing.
    let report = deliver_pending(&mut store, &settings, now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 0));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn slack_unreachable_error_names_the_host_not_the_url() {
    let (_dir, mut store) = open_store();
    let port = closed_port().await;
    let settings = slack_settings(&format!("http://127.0.0.1:{port}"));
    raise(&mut store, &settings, &[rejected_po()]);

    let report = deliver_pending(&mut store, &settings, now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 1));
    let error = &report.errors[0];
    assert!(
        error.starts_with("slack: Slack webhook at 127.0.0.1"),
        "{error}"
    );
    assert!(error.contains("could not connect"), "{error}");
    assert!(!error.contains(&format!(":{port}/")), "{error}");
    assert_no_secret(error);
    let row = store.pending_alerts().unwrap().remove(0);
    assert_eq!(row.slack, ChannelState::Pending);
    assert_no_secret(row.last_error.as_deref().unwrap_or_default());
}

#[tokio::test]
async fn repeats_are_grouped_into_one_message_with_a_count() {
    let (_dir, mut store) = open_store();
    let server = MockServer::start().await;
    mount(&server, post(HOOK_PATH), text(200, "ok"), ..).await;
    let settings = slack_settings(&server.uri());
    let other = NewAlert {
        kind: "unmapped_sku".into(),
        sku: Some("XYZ-9".into()),
        supplier: None,
        location: None,
        message: "selling on Shopify, no Cin7 product".into(),
    };
    raise(&mut store, &settings, &[rejected_po(), other.clone()]);
    raise(&mut store, &settings, &[rejected_po()]);
    raise(&mut store, &settings, &[rejected_po()]);

    let report = deliver_pending(&mut store, &settings, now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (2, 0));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "one combined message");
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with("*replenish: 2 alerts*"), "{text}");
    assert!(text.contains("(×3)"), "{text}");
    assert!(text.contains("XYZ-9"), "{text}");

    // Raised again within the repeat window after delivery: counted, not sent.
    raise(&mut store, &settings, &[rejected_po(), other]);
    assert!(store.pending_alerts().unwrap().is_empty());
    deliver_pending(&mut store, &settings, now()).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

/// What the fake SMTP server received in one transaction.
#[derive(Debug)]
struct Received {
    rcpt: Vec<String>,
    data: String,
}

/// A fake SMTP server on 127.0.0.1: just enough of the protocol for one client (220, 250 to
/// EHLO/MAIL/RCPT/RSET/NOOP, 354 to DATA, 250 after the `.` line, 221 to QUIT). Each message it
/// accepts is sent on the returned channel.
async fn fake_smtp() -> (u16, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 fake.test ESMTP\r\n").await;
                let mut rcpt = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 fake.test\r\n",
                        "MAIL" | "RSET" | "NOOP" => b"250 OK\r\n",
                        "RCPT" => {
                            rcpt.push(line.clone());
                            b"250 OK\r\n"
                        }
                        "DATA" => {
                            let _ = write.write_all(b"354 go ahead\r\n").await;
                            let mut data = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                data.push_str(&l);
                                data.push('\n');
                            }
                            let _ = tx.send(Received {
                                rcpt: std::mem::take(&mut rcpt),
                                data,
                            });
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"502 not implemented\r\n",
                    };
                    if write.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, rx)
}

/// Undoes quoted-printable (soft line breaks, `=XX`) on a message's lines joined by `\n`.
fn unquote(qp: &str) -> String {
    let joined = qp.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn email_settings(port: u16) -> AlertSettings {
    AlertSettings {
        email_to: vec!["buyers@example.com".into(), "ops@example.com".into()],
        email_from: Some("replenish@example.com".into()),
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: Some(port),
        smtp_tls: SmtpTls::None,
        ..AlertSettings::default()
    }
}

#[tokio::test]
async fn email_reaches_the_smtp_server_after_a_failed_try() {
    let (_dir, mut store) = open_store();
    let down = email_settings(closed_port().await);
    raise(&mut store, &down, &[rejected_po()]);
    let report = deliver_pending(&mut store, &down, now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 1));
    assert!(
        report.errors[0].starts_with("email: "),
        "{:?}",
        report.errors
    );
    let row = store.pending_alerts().unwrap().remove(0);
    assert_eq!(
        (row.slack, row.email, row.attempts),
        (ChannelState::Off, ChannelState::Pending, 1)
    );

    let (port, mut inbox) = fake_smtp().await;
    let up = email_settings(port);
    let report = deliver_pending(&mut store, &up, now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 0), "{:?}", report.errors);
    let got = tokio::time::timeout(Duration::from_secs(5), inbox.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.rcpt.len(), 2, "{:?}", got.rcpt);
    assert!(got.rcpt[0].contains("buyers@example.com"));
    assert!(
        got.data.contains("From: replenish@example.com"),
        "{}",
        got.data
    );
    assert!(
        got.data
            .contains("Subject: replenish: PO rejected by Cin7 (ABC-123)")
    );
    let text = unquote(&got.data);
    assert!(text.contains("SKU: ABC-123"), "{text}");
    assert!(text.contains("Supplier: Acme Ltd"), "{text}");
    assert!(
        text.contains("Reason: Cin7 rejected PO: TaxRule 'GST' not found"),
        "{text}"
    );
    assert!(store.pending_alerts().unwrap().is_empty());

    // Nothing more to send.
    let report = deliver_pending(&mut store, &up, now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 0));
    assert!(inbox.try_recv().is_err());
}

#[tokio::test]
async fn a_channel_that_succeeded_is_not_sent_again_while_the_other_retries() {
    let (_dir, mut store) = open_store();
    let (port, mut inbox) = fake_smtp().await;
    let slack_port = closed_port().await;
    let mut settings = email_settings(port);
    settings.slack_webhook_url = Some(SecretString::from(format!(
        "http://127.0.0.1:{slack_port}{HOOK_PATH}"
    )));
    raise(&mut store, &settings, &[rejected_po()]);

    // Slack down, email up.
    let report = deliver_pending(&mut store, &settings, now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 1));
    report.errors.iter().for_each(|e| assert_no_secret(e));
    tokio::time::timeout(Duration::from_secs(5), inbox.recv())
        .await
        .unwrap()
        .unwrap();
    let row = store.pending_alerts().unwrap().remove(0);
    assert_eq!(
        (row.slack, row.email),
        (ChannelState::Pending, ChannelState::Sent)
    );
    assert_eq!(row.delivered_at, None);

    // Slack up: only Slack is sent; no second email.
    let server = MockServer::start().await;
    mount(&server, post(HOOK_PATH), text(200, "ok"), 1).await;
    settings.slack_webhook_url = Some(SecretString::from(format!("{}{HOOK_PATH}", server.uri())));
    let report = deliver_pending(&mut store, &settings, now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 0));
    assert!(store.pending_alerts().unwrap().is_empty());
    let row = store.recent_alerts(1).unwrap().remove(0);
    assert_eq!(
        (row.slack, row.email, row.attempts),
        (ChannelState::Sent, ChannelState::Sent, 1)
    );
    assert!(inbox.try_recv().is_err(), "email was sent twice");
    server.verify().await;
}

#[tokio::test]
async fn a_channel_removed_from_the_config_keeps_its_alerts_pending() {
    let (_dir, mut store) = open_store();
    let port = closed_port().await;
    let settings = slack_settings(&format!("http://127.0.0.1:{port}"));
    raise(&mut store, &settings, &[rejected_po()]);

    let report = deliver_pending(&mut store, &AlertSettings::default(), now())
        .await
        .unwrap();
    assert_eq!((report.sent, report.failed), (0, 1));
    assert!(
        report.errors[0].contains("SLACK_WEBHOOK_URL"),
        "{:?}",
        report.errors
    );
    assert_eq!(store.pending_alerts().unwrap().len(), 1);
}
