//! The alert outbox (`alerts`, migration 3): alerts for people are written here in the same
//! transaction as the run outcome that raised them, then delivered (Slack, email) by
//! `adapters::alerts`, which records each channel's outcome back here. An alert that could not be
//! sent stays `pending` and is tried again on the next delivery: it is never lost.
//!
//! Grouping (see [`raise_alerts`]): the same alert — same kind, supplier, SKU, location and
//! message — raised again while still undelivered, or within the repeat window after it was
//! delivered, is counted on the existing row (`occurrences`) instead of being sent again.
//!
//! This module stores and returns rows; it sends nothing and knows no secret. Callers must not
//! put secrets into `last_error` (the delivery code redacts them before calling
//! [`mark_alert_channel`]).

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::StoreError;
use super::codec::{self, Context, Rec};

/// `last_error` is cut to this many characters (a server's error page must not bloat the store).
const MAX_ERROR_CHARS: usize = 1000;

/// An alert a run wants a person to see.
///
/// `kind` is a free string; callers use `missing_supplier`, `unmapped_sku`, `po_rejected`,
/// `po_held`, `gate_held`, `draft_edited` and `run_failed`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewAlert {
    /// What happened, as a short machine-readable word (`unmapped_sku`, …).
    pub kind: String,
    /// The SKU concerned, when there is one.
    pub sku: Option<String>,
    /// The supplier concerned (Cin7 name), when there is one.
    pub supplier: Option<String>,
    /// The location concerned (Cin7 name), when there is one.
    pub location: Option<String>,
    /// The reason, for a person ("Cin7 rejected PO: …"). Part of the group key.
    pub message: String,
}

impl NewAlert {
    /// The stable key that identifies "the same alert": the SHA-256 (hex) of the JSON array
    /// `[kind, supplier, sku, location, message]` (absent parts are `null`, so `None` and `""`
    /// differ and no separator can make two different alerts collide).
    pub fn group_key(&self) -> String {
        let parts = serde_json::json!([
            self.kind,
            self.supplier,
            self.sku,
            self.location,
            self.message
        ]);
        let digest = Sha256::digest(parts.to_string().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Which delivery channels are configured when alerts are raised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Channels {
    /// A Slack incoming-webhook URL is set.
    pub slack: bool,
    /// Email is set up (recipients, sender and SMTP host).
    pub email: bool,
}

impl Channels {
    /// Whether `channel` is configured.
    pub fn has(&self, channel: Channel) -> bool {
        match channel {
            Channel::Slack => self.slack,
            Channel::Email => self.email,
        }
    }
}

/// A delivery channel (one state column of the `alerts` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The Slack incoming webhook (`alerts.slack`).
    Slack,
    /// SMTP email (`alerts.email`).
    Email,
}

impl Channel {
    /// Both channels, in the order they are delivered.
    pub const ALL: [Channel; 2] = [Channel::Slack, Channel::Email];

    /// The channel's name (also its column name).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Slack => "slack",
            Channel::Email => "email",
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one alert stands on one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    /// To be sent (not yet sent, or every try so far failed).
    Pending,
    /// Sent successfully.
    Sent,
    /// The channel was not configured when the alert was raised: never sent there.
    Off,
}

impl ChannelState {
    /// The stored text: `pending`, `sent` or `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelState::Pending => "pending",
            ChannelState::Sent => "sent",
            ChannelState::Off => "off",
        }
    }

    fn parse(s: &str) -> Option<ChannelState> {
        match s {
            "pending" => Some(ChannelState::Pending),
            "sent" => Some(ChannelState::Sent),
            "off" => Some(ChannelState::Off),
            _ => None,
        }
    }

    fn configured(on: bool) -> ChannelState {
        if on {
            ChannelState::Pending
        } else {
            ChannelState::Off
        }
    }
}

impl std::fmt::Display for ChannelState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `Writer::raise_alerts` did with each alert it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RaiseCounts {
    /// New rows (to be delivered on every configured channel).
    pub inserted: u64,
    /// Counted on a row that is still waiting for delivery (it will be sent once, with its count).
    pub grouped: u64,
    /// Counted on a row delivered less than the repeat window ago: not sent again.
    pub suppressed: u64,
}

/// One row of the outbox, every column.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    /// Row id.
    pub id: i64,
    /// See [`NewAlert::group_key`].
    pub group_key: String,
    /// As raised (see [`NewAlert`]).
    pub kind: String,
    /// As raised.
    pub sku: Option<String>,
    /// As raised.
    pub supplier: Option<String>,
    /// As raised.
    pub location: Option<String>,
    /// As raised.
    pub message: String,
    /// When this row was inserted.
    pub first_raised_at: DateTime<Utc>,
    /// The latest raise counted on this row.
    pub last_raised_at: DateTime<Utc>,
    /// How many times the alert was raised (1 when new).
    pub occurrences: u64,
    /// The run that last raised it (while undelivered), when known.
    pub run_id: Option<i64>,
    /// Delivery state on Slack.
    pub slack: ChannelState,
    /// Delivery state by email.
    pub email: ChannelState,
    /// Failed delivery attempts, all channels together.
    pub attempts: u64,
    /// The last delivery failure (secrets redacted by the sender).
    pub last_error: Option<String>,
    /// When the last pending channel was sent.
    pub delivered_at: Option<DateTime<Utc>>,
}

impl StoredAlert {
    /// The state of `channel`.
    pub fn state(&self, channel: Channel) -> ChannelState {
        match channel {
            Channel::Slack => self.slack,
            Channel::Email => self.email,
        }
    }

    /// Whether any channel still waits for delivery.
    pub fn is_pending(&self) -> bool {
        self.slack == ChannelState::Pending || self.email == ChannelState::Pending
    }
}

const COLUMNS: &str = "id, group_key, kind, sku, supplier, location, message, first_raised_at, \
     last_raised_at, occurrences, run_id, slack, email, attempts, last_error, delivered_at";

fn read_alert(row: &rusqlite::Row<'_>) -> Result<StoredAlert, StoreError> {
    let r = Rec::new(row, "alerts", &[0]);
    let state = |idx: usize, column: &str| -> Result<ChannelState, StoreError> {
        let s = r.str(idx, column)?;
        ChannelState::parse(s).ok_or_else(|| {
            r.corrupt(
                column,
                format!("{s:?} is not a channel state (pending, sent, off)"),
            )
        })
    };
    Ok(StoredAlert {
        id: r.int(0, "id")?,
        group_key: r.text(1, "group_key")?,
        kind: r.text(2, "kind")?,
        sku: r.opt_text(3, "sku")?,
        supplier: r.opt_text(4, "supplier")?,
        location: r.opt_text(5, "location")?,
        message: r.text(6, "message")?,
        first_raised_at: r.ts(7, "first_raised_at")?,
        last_raised_at: r.ts(8, "last_raised_at")?,
        occurrences: r.count(9, "occurrences")?,
        run_id: r.opt_int(10, "run_id")?,
        slack: state(11, "slack")?,
        email: state(12, "email")?,
        attempts: r.count(13, "attempts")?,
        last_error: r.opt_text(14, "last_error")?,
        delivered_at: r.opt_ts(15, "delivered_at")?,
    })
}

/// Records `alerts` raised at `now` by run `run_id`, grouping repeats.
///
/// For each alert, the row it groups with is the newest row with the same group key that is
/// still pending on a channel, else the newest row with that key. Then:
/// 1. that row is still pending on some channel → `occurrences + 1`, `last_raised_at = now`,
///    `run_id` = this run (when given); no new row (it will be sent once, with its count);
/// 2. else, when it "covered" every channel configured now (none of them is `off` on the row)
///    and `now` is less than `repeat_after` after its `delivered_at` (for a row never delivered
///    because every channel was `off`: after its `first_raised_at`) → `occurrences + 1` and
///    `last_raised_at = now` only (counted, not sent again);
/// 3. else → a new row, `pending` on the configured channels and `off` on the others.
///
/// The window runs from delivery, not from the last raise: a problem that persists is announced
/// again every `repeat_after`, while a re-raise every run would otherwise keep it silent forever.
/// A channel configured since the row was raised (`off` on it) makes the next raise a new row,
/// so turning alerts on does not wait out the window.
pub(crate) fn raise_alerts(
    conn: &Connection,
    alerts: &[NewAlert],
    now: DateTime<Utc>,
    run_id: Option<i64>,
    channels: Channels,
    repeat_after: Duration,
) -> Result<RaiseCounts, StoreError> {
    let mut counts = RaiseCounts::default();
    let now_text = codec::ts(&now);
    for alert in alerts {
        let key = alert.group_key();
        let context = || format!("raising a {} alert", alert.kind);
        let latest = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM alerts WHERE group_key = ?1
                 ORDER BY (slack = 'pending' OR email = 'pending') DESC, id DESC LIMIT 1"
            ))
            .and_then(|mut s| s.query_row([&key], |row| Ok(read_alert(row))).optional())
            .with_ctx(context)?
            .transpose()?;
        match latest {
            Some(row) if row.is_pending() => {
                conn.prepare_cached(
                    "UPDATE alerts SET occurrences = occurrences + 1, last_raised_at = ?2,
                            run_id = COALESCE(?3, run_id)
                     WHERE id = ?1",
                )
                .and_then(|mut s| s.execute(params![row.id, now_text, run_id]))
                .with_ctx(context)?;
                counts.grouped += 1;
            }
            Some(row) if within_window(&row, channels, now, repeat_after) => {
                conn.prepare_cached(
                    "UPDATE alerts SET occurrences = occurrences + 1, last_raised_at = ?2
                     WHERE id = ?1",
                )
                .and_then(|mut s| s.execute(params![row.id, now_text]))
                .with_ctx(context)?;
                counts.suppressed += 1;
            }
            _ => {
                conn.prepare_cached(
                    "INSERT INTO alerts (group_key, kind, sku, supplier, location, message,
                         first_raised_at, last_raised_at, occurrences, run_id, slack, email,
                         attempts)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1, ?8, ?9, ?10, 0)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        key,
                        alert.kind,
                        alert.sku,
                        alert.supplier,
                        alert.location,
                        alert.message,
                        now_text,
                        run_id,
                        ChannelState::configured(channels.slack).as_str(),
                        ChannelState::configured(channels.email).as_str(),
                    ])
                })
                .with_ctx(context)?;
                counts.inserted += 1;
            }
        }
    }
    Ok(counts)
}

/// Rule 2 of [`raise_alerts`]: `row` (not pending) still stands for a new raise at `now`.
fn within_window(
    row: &StoredAlert,
    channels: Channels,
    now: DateTime<Utc>,
    repeat_after: Duration,
) -> bool {
    let covers_configured = Channel::ALL
        .into_iter()
        .all(|c| !channels.has(c) || row.state(c) != ChannelState::Off);
    let since = row.delivered_at.unwrap_or(row.first_raised_at);
    covers_configured && now.signed_duration_since(since) < repeat_after
}

/// Every alert still pending on some channel, oldest first (by id).
pub(crate) fn pending_alerts(conn: &Connection) -> Result<Vec<StoredAlert>, StoreError> {
    codec::query_all(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM alerts WHERE slack = 'pending' OR email = 'pending'
             ORDER BY id"
        ),
        [],
        "reading pending alerts",
        read_alert,
    )
}

/// The newest `limit` alerts, delivered or not: latest `last_raised_at` first, then highest id.
pub(crate) fn recent_alerts(
    conn: &Connection,
    limit: usize,
) -> Result<Vec<StoredAlert>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    codec::query_all(
        conn,
        &format!("SELECT {COLUMNS} FROM alerts ORDER BY last_raised_at DESC, id DESC LIMIT ?1"),
        [limit],
        "reading recent alerts",
        read_alert,
    )
}

/// Records one delivery outcome of alert `id` on `channel`.
///
/// Only a `pending` channel changes: `Ok` sets it `sent` (and `delivered_at = now` when no
/// channel is left pending); `Err(message)` keeps it pending, adds one to `attempts` and sets
/// `last_error` (cut to 1000 characters). An outcome for a channel that is not pending (already
/// sent, or off) changes nothing, so recording twice is harmless. Fails if the alert does not
/// exist.
pub(crate) fn mark_alert_channel(
    conn: &Connection,
    id: i64,
    channel: Channel,
    outcome: Result<(), String>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let context = || format!("recording {channel} delivery of alert {id}");
    let exists = conn
        .prepare_cached("SELECT 1 FROM alerts WHERE id = ?1")
        .and_then(|mut s| s.exists([id]))
        .with_ctx(context)?;
    if !exists {
        return Err(StoreError::Sqlite {
            context: format!("{}: no such alert", context()),
            source: rusqlite::Error::QueryReturnedNoRows,
        });
    }
    // The column name comes from the enum, never from outside.
    let column = channel.as_str();
    match outcome {
        Ok(()) => {
            let changed = conn
                .prepare_cached(&format!(
                    "UPDATE alerts SET {column} = 'sent' WHERE id = ?1 AND {column} = 'pending'"
                ))
                .and_then(|mut s| s.execute([id]))
                .with_ctx(context)?;
            if changed > 0 {
                conn.prepare_cached(
                    "UPDATE alerts SET delivered_at = ?2
                     WHERE id = ?1 AND slack <> 'pending' AND email <> 'pending'",
                )
                .and_then(|mut s| s.execute(params![id, codec::ts(&now)]))
                .with_ctx(context)?;
            }
        }
        Err(message) => {
            let message = truncate(&message, MAX_ERROR_CHARS);
            conn.prepare_cached(&format!(
                "UPDATE alerts SET attempts = attempts + 1, last_error = ?2
                 WHERE id = ?1 AND {column} = 'pending'"
            ))
            .and_then(|mut s| s.execute(params![id, message]))
            .with_ctx(context)?;
        }
    }
    Ok(())
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::super::test_util::{open_temp, utc};
    use super::*;

    fn alert(kind: &str, sku: &str, message: &str) -> NewAlert {
        NewAlert {
            kind: kind.to_owned(),
            sku: Some(sku.to_owned()),
            supplier: Some("Acme Ltd".to_owned()),
            location: Some("Main Warehouse".to_owned()),
            message: message.to_owned(),
        }
    }

    const BOTH: Channels = Channels {
        slack: true,
        email: true,
    };

    fn day() -> Duration {
        Duration::hours(24)
    }

    /// Raises `alerts` at `now` for run `run_id` on `channels`, with a day's repeat window.
    fn raise(
        store: &mut Store,
        alerts: &[NewAlert],
        now: DateTime<Utc>,
        run_id: Option<i64>,
        channels: Channels,
    ) -> RaiseCounts {
        store
            .write(|w| w.raise_alerts(alerts, now, run_id, channels, day()))
            .unwrap()
    }

    /// Records alert `id` as sent on both channels at `at`.
    fn deliver(store: &mut Store, id: i64, at: DateTime<Utc>) {
        store
            .write(|w| {
                w.mark_alert_channel(id, Channel::Slack, Ok(()), at)?;
                w.mark_alert_channel(id, Channel::Email, Ok(()), at)
            })
            .unwrap();
    }

    #[test]
    fn group_key_is_stable_and_covers_every_part() {
        let a = alert("po_rejected", "S1", "Cin7 rejected PO: X");
        assert_eq!(a.group_key(), a.clone().group_key());
        assert_eq!(a.group_key().len(), 64);
        let mut b = a.clone();
        b.message = "Cin7 rejected PO: Y".to_owned();
        assert_ne!(a.group_key(), b.group_key());
        let mut c = a.clone();
        c.location = None;
        assert_ne!(a.group_key(), c.group_key());
        c.location = Some(String::new());
        let mut d = a.clone();
        d.location = None;
        assert_ne!(c.group_key(), d.group_key());
        // Moving text between parts changes the key (no separator ambiguity).
        let e = NewAlert {
            kind: "a".into(),
            sku: Some("b c".into()),
            supplier: None,
            location: None,
            message: String::new(),
        };
        let f = NewAlert {
            sku: Some("b".into()),
            message: "c".into(),
            ..e.clone()
        };
        assert_ne!(e.group_key(), f.group_key());
    }

    #[test]
    fn the_same_alert_while_pending_is_one_row_with_occurrences() {
        let (_dir, mut store) = open_temp();
        let a = alert("unmapped_sku", "S1", "unmapped SKU");
        let t1 = utc("2024-05-01T10:00:00Z");
        let t2 = utc("2024-05-01T12:00:00Z");
        let first = raise(&mut store, std::slice::from_ref(&a), t1, Some(1), BOTH);
        assert_eq!(
            first,
            RaiseCounts {
                inserted: 1,
                ..RaiseCounts::default()
            }
        );
        let second = raise(&mut store, std::slice::from_ref(&a), t2, Some(2), BOTH);
        assert_eq!(
            second,
            RaiseCounts {
                grouped: 1,
                ..RaiseCounts::default()
            }
        );
        let pending = store.pending_alerts().unwrap();
        assert_eq!(pending.len(), 1);
        let row = &pending[0];
        assert_eq!(row.occurrences, 2);
        assert_eq!(row.first_raised_at, t1);
        assert_eq!(row.last_raised_at, t2);
        assert_eq!(row.run_id, Some(2));
        assert_eq!(row.group_key, a.group_key());
        assert_eq!(
            (row.slack, row.email),
            (ChannelState::Pending, ChannelState::Pending)
        );
        assert_eq!(row.attempts, 0);
        assert_eq!(row.delivered_at, None);

        // A different reason is a different alert; the same one twice in one call groups.
        let b = alert("unmapped_sku", "S1", "something else");
        let counts = raise(&mut store, &[b.clone(), b], t2, None, BOTH);
        assert_eq!((counts.inserted, counts.grouped), (1, 1));
        let pending = store.pending_alerts().unwrap();
        assert_eq!(pending.len(), 2);
        // Oldest first; a raise without a run id keeps the stored one.
        assert_eq!(pending[0].id, row.id);
        assert_eq!(pending[1].occurrences, 2);
        assert_eq!(pending[1].run_id, None);
    }

    #[test]
    fn delivered_within_the_repeat_window_is_counted_not_sent_again() {
        let (_dir, mut store) = open_temp();
        let a = alert("missing_supplier", "S1", "missing supplier data");
        let t0 = utc("2024-05-01T10:00:00Z");
        raise(&mut store, std::slice::from_ref(&a), t0, Some(1), BOTH);
        let id = store.pending_alerts().unwrap()[0].id;
        let delivered = utc("2024-05-01T10:01:00Z");
        deliver(&mut store, id, delivered);
        assert!(store.pending_alerts().unwrap().is_empty());

        // 23 h 59 min after delivery (and raised every two hours meanwhile): still grouped.
        for hours in [2, 4, 6] {
            let counts = raise(
                &mut store,
                std::slice::from_ref(&a),
                t0 + Duration::hours(hours),
                Some(hours),
                BOTH,
            );
            assert_eq!(counts.suppressed, 1);
        }
        let just_inside = delivered + day() - Duration::minutes(1);
        let counts = raise(
            &mut store,
            std::slice::from_ref(&a),
            just_inside,
            None,
            BOTH,
        );
        assert_eq!(counts.suppressed, 1);
        assert!(store.pending_alerts().unwrap().is_empty());
        let all = store.recent_alerts(10).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].occurrences, 5);
        assert_eq!(all[0].last_raised_at, just_inside);
        // Suppressed raises do not move the row to a later run.
        assert_eq!(all[0].run_id, Some(1));
        assert_eq!(all[0].delivered_at, Some(delivered));
    }

    #[test]
    fn after_the_repeat_window_a_new_row_is_raised() {
        let (_dir, mut store) = open_temp();
        let a = alert("gate_held", "S1", "stale availability");
        let t0 = utc("2024-05-01T10:00:00Z");
        raise(&mut store, std::slice::from_ref(&a), t0, None, BOTH);
        let id = store.pending_alerts().unwrap()[0].id;
        deliver(&mut store, id, t0);
        let later = t0 + day();
        let counts = raise(&mut store, std::slice::from_ref(&a), later, Some(9), BOTH);
        assert_eq!(counts.inserted, 1);
        let pending = store.pending_alerts().unwrap();
        assert_eq!(pending.len(), 1);
        assert_ne!(pending[0].id, id);
        assert_eq!(pending[0].occurrences, 1);
        assert_eq!(pending[0].first_raised_at, later);
        assert_eq!(pending[0].run_id, Some(9));
        // Newest first.
        let recent = store.recent_alerts(10).unwrap();
        assert_eq!(
            recent.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![pending[0].id, id]
        );
        assert_eq!(store.recent_alerts(1).unwrap().len(), 1);

        // A zero window never suppresses.
        let id2 = pending[0].id;
        deliver(&mut store, id2, later);
        let counts = store
            .write(|w| {
                w.raise_alerts(
                    std::slice::from_ref(&a),
                    later,
                    None,
                    BOTH,
                    Duration::zero(),
                )
            })
            .unwrap();
        assert_eq!(counts.inserted, 1);
    }

    #[test]
    fn channels_not_configured_are_off() {
        let (_dir, mut store) = open_temp();
        let t0 = utc("2024-05-01T10:00:00Z");
        let slack_only = Channels {
            slack: true,
            email: false,
        };
        let a = alert("po_held", "S1", "below minimum order value");
        raise(&mut store, std::slice::from_ref(&a), t0, None, slack_only);
        let row = &store.pending_alerts().unwrap()[0];
        assert_eq!(
            (row.slack, row.email),
            (ChannelState::Pending, ChannelState::Off)
        );

        // No channel at all: recorded (for `status`), never pending, and not repeated per run.
        let b = alert("run_failed", "S2", "boom");
        let none = Channels::default();
        raise(&mut store, std::slice::from_ref(&b), t0, None, none);
        let counts = raise(
            &mut store,
            std::slice::from_ref(&b),
            t0 + Duration::hours(2),
            None,
            none,
        );
        assert_eq!(counts.suppressed, 1);
        assert_eq!(store.pending_alerts().unwrap().len(), 1);
        let all = store.recent_alerts(10).unwrap();
        let off = all.iter().find(|r| r.kind == "run_failed").unwrap();
        assert_eq!(
            (off.slack, off.email),
            (ChannelState::Off, ChannelState::Off)
        );
        assert_eq!(off.occurrences, 2);
        assert_eq!(off.delivered_at, None);

        // Once a channel is configured, the next raise is a new row to send there, without
        // waiting out the window.
        let counts = raise(
            &mut store,
            std::slice::from_ref(&b),
            t0 + Duration::hours(4),
            None,
            slack_only,
        );
        assert_eq!(counts.inserted, 1);
        assert_eq!(store.pending_alerts().unwrap().len(), 2);
    }

    #[test]
    fn channel_outcomes_are_recorded_per_channel() {
        let (_dir, mut store) = open_temp();
        let t0 = utc("2024-05-01T10:00:00Z");
        let t1 = utc("2024-05-01T10:05:00Z");
        let t2 = utc("2024-05-01T12:00:00Z");
        let a = alert("po_rejected", "S1", "Cin7 rejected PO: bad tax rule");
        raise(&mut store, std::slice::from_ref(&a), t0, None, BOTH);
        let id = store.pending_alerts().unwrap()[0].id;

        store
            .write(|w| {
                w.mark_alert_channel(id, Channel::Slack, Ok(()), t1)?;
                w.mark_alert_channel(id, Channel::Email, Err("connection refused".into()), t1)
            })
            .unwrap();
        let row = store.pending_alerts().unwrap().remove(0);
        assert_eq!(
            (row.slack, row.email),
            (ChannelState::Sent, ChannelState::Pending)
        );
        assert_eq!(row.attempts, 1);
        assert_eq!(row.last_error.as_deref(), Some("connection refused"));
        assert_eq!(row.delivered_at, None);

        // Still pending (on email): a new raise groups, and Slack is not pending again.
        raise(&mut store, std::slice::from_ref(&a), t2, None, BOTH);
        let row = store.pending_alerts().unwrap().remove(0);
        assert_eq!(row.occurrences, 2);
        assert_eq!(row.slack, ChannelState::Sent);

        let long = "x".repeat(5000);
        store
            .write(|w| w.mark_alert_channel(id, Channel::Email, Err(long), t2))
            .unwrap();
        let row = store.pending_alerts().unwrap().remove(0);
        assert_eq!(row.attempts, 2);
        assert_eq!(
            row.last_error.as_ref().map(|e| e.chars().count()),
            Some(1001)
        );

        store
            .write(|w| w.mark_alert_channel(id, Channel::Email, Ok(()), t2))
            .unwrap();
        assert!(store.pending_alerts().unwrap().is_empty());
        let row = store.recent_alerts(1).unwrap().remove(0);
        assert_eq!(
            (row.slack, row.email),
            (ChannelState::Sent, ChannelState::Sent)
        );
        assert_eq!(row.delivered_at, Some(t2));

        // Outcomes for channels no longer pending change nothing.
        store
            .write(|w| {
                w.mark_alert_channel(id, Channel::Slack, Err("late".into()), t2)?;
                w.mark_alert_channel(id, Channel::Email, Ok(()), t2 + day())
            })
            .unwrap();
        let again = store.recent_alerts(1).unwrap().remove(0);
        assert_eq!(again, row);

        let missing = store.write(|w| w.mark_alert_channel(999, Channel::Slack, Ok(()), t2));
        assert!(missing.unwrap_err().to_string().contains("alert 999"));
    }

    #[test]
    fn off_channels_do_not_hold_delivery_and_sent_one_channel_at_a_time() {
        let (_dir, mut store) = open_temp();
        let t0 = utc("2024-05-01T10:00:00Z");
        let email_only = Channels {
            slack: false,
            email: true,
        };
        let a = alert("draft_edited", "S1", "draft edited by a person");
        raise(&mut store, std::slice::from_ref(&a), t0, None, email_only);
        let id = store.pending_alerts().unwrap()[0].id;
        // Ok on an off channel does not turn it on.
        store
            .write(|w| w.mark_alert_channel(id, Channel::Slack, Ok(()), t0))
            .unwrap();
        let row = store.pending_alerts().unwrap().remove(0);
        assert_eq!(row.slack, ChannelState::Off);
        assert_eq!(row.delivered_at, None);
        store
            .write(|w| w.mark_alert_channel(id, Channel::Email, Ok(()), t0))
            .unwrap();
        let row = store.recent_alerts(1).unwrap().remove(0);
        assert_eq!(
            (row.slack, row.email, row.delivered_at),
            (ChannelState::Off, ChannelState::Sent, Some(t0))
        );
    }

    #[test]
    fn alerts_roll_back_with_the_callers_transaction() {
        let (_dir, mut store) = open_temp();
        let a = alert("run_failed", "S1", "boom");
        let t0 = utc("2024-05-01T10:00:00Z");
        let failed: Result<(), StoreError> = store.write(|w| {
            w.raise_alerts(std::slice::from_ref(&a), t0, None, BOTH, day())?;
            Err(StoreError::Corrupt {
                context: "test".into(),
                message: "abort".into(),
            })
        });
        assert!(failed.is_err());
        assert!(store.recent_alerts(10).unwrap().is_empty());
    }
}
