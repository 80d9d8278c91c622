//! The draft ledger (`draft_ledger`): what the tool did, or set out to do, to Cin7, one row per
//! draft purchase it meant to create. It is what makes `draft` exactly-once.
//!
//! Every step is its own committed transaction, written *before* (intent, pending lines) or
//! *right after* (purchase id, lines written) the Cin7 call it describes, so that after a crash,
//! a timeout or a lost answer the next run knows what may have happened and checks Cin7 instead of
//! guessing. States (see migration 3): `intent` → `created` → `done`, `done` → `updating` →
//! `done`, and any → `closed`. The store itself refuses a second open row for one
//! (supplier, location) (a partial unique index). The row types are plain data in
//! `core::ledger`, re-exported here.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::StoreError;
use super::codec::{self, Context, Rec};

pub use crate::core::ledger::{LedgerEntry, LedgerState, WrittenLine, tag};

/// An intent to create one draft purchase.
#[derive(Debug, Clone)]
pub struct NewIntent<'a> {
    pub intent_id: &'a str,
    pub supplier_id: &'a str,
    pub supplier: &'a str,
    pub location: &'a str,
    /// The lines about to be written.
    pub lines: &'a [WrittenLine],
}

const COLUMNS: &str = "intent_id, supplier_id, supplier, location, state, purchase_id, \
     order_number, lines_json, pending_lines_json, created_at, updated_at, closed_reason";

fn lines_to_json(lines: &[WrittenLine], what: &str) -> Result<String, StoreError> {
    serde_json::to_string(lines).map_err(|e| StoreError::Corrupt {
        context: what.to_owned(),
        message: format!("lines do not serialize: {e}"),
    })
}

fn read_entry(r: &Rec<'_, '_>) -> Result<LedgerEntry, StoreError> {
    let lines = |idx: usize, column: &str| -> Result<Vec<WrittenLine>, StoreError> {
        serde_json::from_str(r.str(idx, column)?).map_err(|e| r.corrupt(column, e))
    };
    let state_text = r.str(4, "state")?;
    let state = LedgerState::parse(state_text)
        .ok_or_else(|| r.corrupt("state", format!("unknown state {state_text:?}")))?;
    Ok(LedgerEntry {
        intent_id: r.text(0, "intent_id")?,
        supplier_id: r.text(1, "supplier_id")?,
        supplier: r.text(2, "supplier")?,
        location: r.text(3, "location")?,
        state,
        purchase_id: r.opt_text(5, "purchase_id")?,
        order_number: r.opt_text(6, "order_number")?,
        lines: lines(7, "lines_json")?,
        pending_lines: match r.opt_str(8, "pending_lines_json")? {
            None => None,
            Some(_) => Some(lines(8, "pending_lines_json")?),
        },
        created_at: r.ts(9, "created_at")?,
        updated_at: r.ts(10, "updated_at")?,
        closed_reason: r.opt_text(11, "closed_reason")?,
    })
}

fn select(
    conn: &Connection,
    filter: &str,
    context: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<LedgerEntry>, StoreError> {
    codec::query_all(
        conn,
        &format!("SELECT {COLUMNS} FROM draft_ledger {filter}"),
        args,
        context,
        |row| read_entry(&Rec::new(row, "draft_ledger", &[0])),
    )
}

/// Open rows (not closed), by supplier ID then location.
pub(crate) fn open_drafts(conn: &Connection) -> Result<Vec<LedgerEntry>, StoreError> {
    select(
        conn,
        "WHERE state <> 'closed' ORDER BY supplier_id, location",
        "reading the open drafts of the ledger",
        [],
    )
}

/// The newest `limit` rows, newest first (for `status`).
pub(crate) fn recent(conn: &Connection, limit: usize) -> Result<Vec<LedgerEntry>, StoreError> {
    select(
        conn,
        "ORDER BY updated_at DESC, intent_id LIMIT ?1",
        "reading the ledger",
        [i64::try_from(limit).unwrap_or(i64::MAX)],
    )
}

pub(crate) fn entry(conn: &Connection, intent_id: &str) -> Result<Option<LedgerEntry>, StoreError> {
    Ok(select(
        conn,
        "WHERE intent_id = ?1",
        &format!("reading ledger entry {intent_id}"),
        [intent_id],
    )?
    .pop())
}

pub(crate) fn record_intent(
    conn: &Connection,
    intent: &NewIntent<'_>,
    now: DateTime<Utc>,
    run_id: Option<i64>,
) -> Result<(), StoreError> {
    let context = format!(
        "recording the intent to create a draft for {} at {}",
        intent.supplier, intent.location
    );
    let pending = lines_to_json(intent.lines, &context)?;
    conn.prepare_cached(
        "INSERT INTO draft_ledger (intent_id, supplier_id, supplier, location, state, lines_json,
            pending_lines_json, created_at, updated_at, run_id)
         VALUES (?1, ?2, ?3, ?4, 'intent', '[]', ?5, ?6, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            intent.intent_id,
            intent.supplier_id,
            intent.supplier,
            intent.location,
            pending,
            codec::ts(&now),
            run_id,
        ])
    })
    .ctx(&context)?;
    Ok(())
}

/// Applies one update to one open row; fails when the row is missing or closed, so a step never
/// silently lands on nothing.
fn update_open(
    conn: &Connection,
    intent_id: &str,
    set: &str,
    context: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<(), StoreError> {
    let sql = format!("UPDATE draft_ledger SET {set} WHERE intent_id = ?1 AND state <> 'closed'");
    let mut all: Vec<&dyn rusqlite::ToSql> = vec![&intent_id];
    all.extend_from_slice(args);
    let changed = conn
        .prepare_cached(&sql)
        .and_then(|mut s| s.execute(all.as_slice()))
        .ctx(context)?;
    if changed == 0 {
        return Err(StoreError::Corrupt {
            context: context.to_owned(),
            message: format!("no open ledger entry {intent_id}"),
        });
    }
    Ok(())
}

pub(crate) fn record_created(
    conn: &Connection,
    intent_id: &str,
    purchase_id: &str,
    order_number: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    update_open(
        conn,
        intent_id,
        "state = 'created', purchase_id = ?2, order_number = ?3, updated_at = ?4",
        &format!("recording purchase {order_number} for intent {intent_id}"),
        &[&purchase_id, &order_number, &codec::ts(&now)],
    )
}

pub(crate) fn record_updating(
    conn: &Connection,
    intent_id: &str,
    lines: &[WrittenLine],
    now: DateTime<Utc>,
    run_id: Option<i64>,
) -> Result<(), StoreError> {
    let context = format!("recording a line update of intent {intent_id}");
    let pending = lines_to_json(lines, &context)?;
    update_open(
        conn,
        intent_id,
        "state = CASE state WHEN 'done' THEN 'updating' ELSE state END,
         pending_lines_json = ?2, updated_at = ?3, run_id = ?4",
        &context,
        &[&pending, &codec::ts(&now), &run_id],
    )
}

pub(crate) fn record_lines_written(
    conn: &Connection,
    intent_id: &str,
    lines: &[WrittenLine],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let context = format!("recording the lines written for intent {intent_id}");
    let json = lines_to_json(lines, &context)?;
    update_open(
        conn,
        intent_id,
        "state = 'done', lines_json = ?2, pending_lines_json = NULL, updated_at = ?3",
        &context,
        &[&json, &codec::ts(&now)],
    )
}

pub(crate) fn close(
    conn: &Connection,
    intent_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    update_open(
        conn,
        intent_id,
        "state = 'closed', closed_reason = ?2, pending_lines_json = NULL, updated_at = ?3",
        &format!("closing ledger entry {intent_id}"),
        &[&reason, &codec::ts(&now)],
    )
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::super::test_util::{open_temp, utc};
    use super::*;

    fn line(sku: &str, q: f64, price: i64) -> WrittenLine {
        WrittenLine {
            sku: sku.into(),
            quantity: q,
            price: Decimal::from(price),
        }
    }

    #[test]
    fn an_intent_goes_through_created_and_done_and_updates() {
        let (_dir, mut store) = open_temp();
        let t = utc("2026-11-27T08:00:00Z");
        let planned = vec![line("A", 12.0, 3), line("B", 0.5, 7)];
        let intent = NewIntent {
            intent_id: "i-1",
            supplier_id: "sup-1",
            supplier: "Acme",
            location: "Main",
            lines: &planned,
        };
        store
            .write(|w| w.ledger_intent(&intent, t, Some(1)))
            .unwrap();
        let open = store.open_drafts().unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].state, LedgerState::Intent);
        assert_eq!(open[0].purchase_id, None);
        assert!(open[0].lines.is_empty(), "nothing written yet");
        assert_eq!(open[0].pending_lines.as_deref(), Some(planned.as_slice()));
        assert_eq!(open[0].tag(), "replenish:i-1");

        store
            .write(|w| w.ledger_created("i-1", "p-9", "PO-00009", t))
            .unwrap();
        store
            .write(|w| w.ledger_lines_written("i-1", &planned, t))
            .unwrap();
        let e = store.ledger_entry("i-1").unwrap().unwrap();
        assert_eq!(e.state, LedgerState::Done);
        assert_eq!(
            (e.purchase_id.as_deref(), e.order_number.as_deref()),
            (Some("p-9"), Some("PO-00009"))
        );
        assert_eq!(e.lines, planned);
        assert_eq!(e.pending_lines, None);

        let newer = vec![line("A", 24.0, 3)];
        store
            .write(|w| w.ledger_updating("i-1", &newer, t, Some(2)))
            .unwrap();
        let e = store.ledger_entry("i-1").unwrap().unwrap();
        assert_eq!(e.state, LedgerState::Updating);
        assert_eq!(
            e.lines, planned,
            "the old lines stay until the new are written"
        );
        assert_eq!(e.pending_lines.as_deref(), Some(newer.as_slice()));

        store
            .write(|w| w.ledger_close("i-1", "approved", t))
            .unwrap();
        assert!(store.open_drafts().unwrap().is_empty());
        let e = store.ledger_entry("i-1").unwrap().unwrap();
        assert_eq!(
            (e.state, e.closed_reason.as_deref()),
            (LedgerState::Closed, Some("approved"))
        );
        // A closed row takes no further step.
        let err = store
            .write(|w| w.ledger_lines_written("i-1", &newer, t))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no open ledger entry i-1"), "{err}");
    }

    #[test]
    fn the_store_refuses_a_second_open_draft_for_one_supplier_and_location() {
        let (_dir, mut store) = open_temp();
        let t = utc("2026-11-27T08:00:00Z");
        let intent = |id: &'static str, location: &'static str| NewIntent {
            intent_id: id,
            supplier_id: "sup-1",
            supplier: "Acme",
            location,
            lines: &[],
        };
        store
            .write(|w| w.ledger_intent(&intent("i-1", "Main"), t, None))
            .unwrap();
        let err = store
            .write(|w| w.ledger_intent(&intent("i-2", "Main"), t, None))
            .unwrap_err()
            .to_string();
        assert!(err.contains("UNIQUE"), "{err}");
        // Another location is fine; so is the same one once the first is closed.
        store
            .write(|w| w.ledger_intent(&intent("i-3", "East"), t, None))
            .unwrap();
        store
            .write(|w| w.ledger_close("i-1", "never_created", t))
            .unwrap();
        store
            .write(|w| w.ledger_intent(&intent("i-2", "Main"), t, None))
            .unwrap();
        let open: Vec<String> = store
            .open_drafts()
            .unwrap()
            .into_iter()
            .map(|e| e.intent_id)
            .collect();
        assert_eq!(open, ["i-3", "i-2"]);
    }
}
