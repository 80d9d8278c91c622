//! Shopify webhook deliveries (`webhook_events`, migration 4): what `listen` accepted, written
//! before it answers 200 so that a restart loses nothing, deduplicated on the event id so that a
//! delivery seen twice is processed once, and marked when processed.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::StoreError;
use super::codec::{self, Context, Rec};

/// One accepted delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    pub event_id: String,
    pub topic: String,
    pub received_at: DateTime<Utc>,
    pub body: Vec<u8>,
}

/// Records deliveries in one transaction (the caller's); returns, per delivery, whether it was new
/// (`false`: a duplicate of one already recorded). `state` is `pending`, or `malformed` for a
/// signed body that is not JSON (kept for reconcile, never processed).
pub(crate) fn record_events(
    conn: &Connection,
    events: &[(WebhookEvent, &str)],
) -> Result<Vec<bool>, StoreError> {
    let mut insert = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO webhook_events (event_id, topic, received_at, body, state)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .ctx("preparing the webhook event insert")?;
    let mut out = Vec::with_capacity(events.len());
    for (e, state) in events {
        let n = insert
            .execute(params![
                e.event_id,
                e.topic,
                codec::ts(&e.received_at),
                e.body,
                state
            ])
            .with_ctx(|| format!("recording webhook event {}", e.event_id))?;
        out.push(n == 1);
    }
    Ok(out)
}

/// Pending deliveries, oldest first.
pub(crate) fn pending_events(
    conn: &Connection,
    limit: usize,
) -> Result<Vec<WebhookEvent>, StoreError> {
    codec::query_all(
        conn,
        "SELECT event_id, topic, received_at, body FROM webhook_events
         WHERE state = 'pending' ORDER BY received_at, event_id LIMIT ?1",
        [i64::try_from(limit).unwrap_or(i64::MAX)],
        "reading pending webhook events",
        |row| {
            let r = Rec::new(row, "webhook_events", &[0]);
            let body: Vec<u8> = row.get(3).map_err(|e| r.corrupt("body", e))?;
            Ok(WebhookEvent {
                event_id: r.text(0, "event_id")?,
                topic: r.text(1, "topic")?,
                received_at: r.ts(2, "received_at")?,
                body,
            })
        },
    )
}

/// Marks a delivery processed: `done`, or `failed` with the reason.
pub(crate) fn mark_event(
    conn: &Connection,
    event_id: &str,
    outcome: Result<(), &str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (state, error) = match outcome {
        Ok(()) => ("done", None),
        Err(e) => ("failed", Some(e)),
    };
    conn.prepare_cached(
        "UPDATE webhook_events SET state = ?2, error = ?3, processed_at = ?4 WHERE event_id = ?1",
    )
    .and_then(|mut s| s.execute(params![event_id, state, error, codec::ts(&now)]))
    .with_ctx(|| format!("marking webhook event {event_id}"))?;
    Ok(())
}

/// Deliveries per state.
pub(crate) fn event_counts(
    conn: &Connection,
) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
    let context = "counting webhook events";
    let mut stmt = conn
        .prepare_cached("SELECT state, count(*) FROM webhook_events GROUP BY state")
        .ctx(context)?;
    let mut rows = stmt.query([]).ctx(context)?;
    let mut out = std::collections::BTreeMap::new();
    while let Some(row) = rows.next().ctx(context)? {
        let r = Rec::new(row, "webhook_events", &[0]);
        out.insert(r.text(0, "state")?, r.count(1, "count")?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{open_temp, utc};
    use super::*;

    fn event(id: &str, at: &str) -> WebhookEvent {
        WebhookEvent {
            event_id: id.into(),
            topic: "orders/paid".into(),
            received_at: utc(at),
            body: format!("{{\"id\":{}}}", id.len()).into_bytes(),
        }
    }

    #[test]
    fn a_delivery_is_recorded_once_then_processed() {
        let (_dir, mut store) = open_temp();
        let a = event("e-1", "2026-11-27T08:00:00Z");
        let b = event("e-2", "2026-11-27T08:00:01Z");
        let fresh = store
            .write(|w| {
                w.record_events(&[
                    (a.clone(), "pending"),
                    (b.clone(), "pending"),
                    (a.clone(), "pending"),
                ])
            })
            .unwrap();
        assert_eq!(fresh, [true, true, false], "the repeat is a duplicate");
        assert_eq!(store.pending_events(10).unwrap(), [a.clone(), b.clone()]);
        store
            .write(|w| w.mark_event("e-1", Ok(()), utc("2026-11-27T08:00:02Z")))
            .unwrap();
        store
            .write(|w| w.mark_event("e-2", Err("bad order"), utc("2026-11-27T08:00:02Z")))
            .unwrap();
        assert!(store.pending_events(10).unwrap().is_empty());
        let counts = store.event_counts().unwrap();
        assert_eq!(counts.get("done"), Some(&1));
        assert_eq!(counts.get("failed"), Some(&1));
        // Seen again after processing: still a duplicate, never processed twice.
        let again = store.write(|w| w.record_events(&[(a, "pending")])).unwrap();
        assert_eq!(again, [false]);
        assert!(store.pending_events(10).unwrap().is_empty());
    }
}
