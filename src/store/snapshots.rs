//! Availability: `availability_latest` (the current rows), `snapshots` (one record per full
//! snapshot), `snapshot_rows` (per-(SKU, location) sums of the newest few snapshots only),
//! `snapshot_days` and `stockout_days` (the per-day out-of-stock record the velocity rule needs).
//!
//! Full snapshots of ~300k rows every two hours are too many to keep, and the planning rule only
//! asks, per (SKU, Cin7 location) and day, "did EVERY snapshot of that day show Available ≤ 0?".
//! That set can only shrink during a day, so it is kept incrementally:
//! - the first snapshot of a day inserts every out-of-stock pair of its universe (`skus ×
//!   locations`, plus any pair with rows; a pair without rows has Available 0);
//! - each later snapshot of the day deletes the pairs it shows in stock, and never adds any.
//!
//! A pair is in stock when its Available summed over bins and batches is above [`STOCK_EPSILON`]
//! (Cin7 quantities have four decimals; the tolerance only absorbs f64 summing noise such as
//! `0.1 + 0.2 - 0.3`).

use std::collections::{HashMap, HashSet};

use chrono::{Days, NaiveDate};
use rusqlite::{Connection, params};

use super::codec::{self, Context, Rec};
use super::{SnapshotInfo, SnapshotInput, StoreError};
use crate::core::model::AvailabilityRow;

/// Summed Available at or below this is out of stock.
pub const STOCK_EPSILON: f64 = 1e-9;

/// Sums of one (SKU, location) over its bins and batches.
struct Sum<'a> {
    product_id: &'a str,
    on_hand: f64,
    allocated: f64,
    available: f64,
    on_order: f64,
    in_transit: f64,
}

fn aggregate(rows: &[AvailabilityRow]) -> HashMap<(&str, &str), Sum<'_>> {
    let mut sums: HashMap<(&str, &str), Sum<'_>> = HashMap::with_capacity(rows.len());
    for r in rows {
        let s = sums
            .entry((r.sku.as_str(), r.location.as_str()))
            .or_insert_with(|| Sum {
                product_id: &r.product_id,
                on_hand: 0.0,
                allocated: 0.0,
                available: 0.0,
                on_order: 0.0,
                in_transit: 0.0,
            });
        s.on_hand += r.on_hand;
        s.allocated += r.allocated;
        s.available += r.available;
        s.on_order += r.on_order;
        s.in_transit += r.in_transit;
    }
    sums
}

fn in_stock(available: f64) -> bool {
    available > STOCK_EPSILON
}

pub(crate) fn record_snapshot(
    conn: &Connection,
    input: &SnapshotInput<'_>,
    keep_full: usize,
    retention_days: u32,
) -> Result<SnapshotInfo, StoreError> {
    let day = codec::date(&input.day);
    let row_count = input.rows.len() as u64;
    let row_count_sql = codec::count_to_sql(row_count, "recording the snapshot")?;
    let sums = aggregate(input.rows);

    // The snapshot record and the day count; the count says whether this is the day's first.
    conn.prepare_cached(
        "INSERT INTO snapshots (taken_at, day, row_count, rows_kept) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut s| {
        s.execute(params![
            codec::ts(&input.taken_at),
            day,
            row_count_sql,
            keep_full > 0
        ])
    })
    .ctx("recording the snapshot")?;
    let id = conn.last_insert_rowid();
    let day_count: i64 = conn
        .prepare_cached(
            "INSERT INTO snapshot_days (day, count) VALUES (?1, 1)
             ON CONFLICT (day) DO UPDATE SET count = count + 1
             RETURNING count",
        )
        .and_then(|mut s| s.query_row([&day], |r| r.get(0)))
        .with_ctx(|| format!("counting the snapshots of {day}"))?;

    if day_count == 1 {
        insert_stockouts(conn, input, &day, &sums)?;
    } else {
        delete_restocked(conn, &day, &sums)?;
    }

    replace_latest(conn, input.rows)?;

    if keep_full > 0 {
        insert_snapshot_rows(conn, id, &sums)?;
    }
    drop_old_full_rows(conn, keep_full)?;
    prune(conn, input.day, retention_days)?;

    Ok(SnapshotInfo {
        id,
        taken_at: input.taken_at,
        day: input.day,
        rows: row_count,
    })
}

/// First snapshot of the day: every out-of-stock pair of the universe.
fn insert_stockouts(
    conn: &Connection,
    input: &SnapshotInput<'_>,
    day: &str,
    sums: &HashMap<(&str, &str), Sum<'_>>,
) -> Result<(), StoreError> {
    let skus: HashSet<&str> = input.skus.iter().map(String::as_str).collect();
    let locations: HashSet<&str> = input.locations.iter().map(String::as_str).collect();
    let available = |key: &(&str, &str)| sums.get(key).map_or(0.0, |s| s.available);

    let mut out: Vec<(&str, &str)> = Vec::new();
    for &sku in &skus {
        for &location in &locations {
            if !in_stock(available(&(sku, location))) {
                out.push((sku, location));
            }
        }
    }
    for (&(sku, location), s) in sums {
        let in_universe = skus.contains(sku) && locations.contains(location);
        if !in_universe && !in_stock(s.available) {
            out.push((sku, location));
        }
    }
    // In key order, so the B-tree only ever appends.
    out.sort_unstable();

    let context = || format!("recording the out-of-stock pairs of {day}");
    let mut insert = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO stockout_days (day, sku, location) VALUES (?1, ?2, ?3)",
        )
        .with_ctx(context)?;
    for (sku, location) in out {
        insert
            .execute(params![day, sku, location])
            .with_ctx(context)?;
    }
    Ok(())
}

/// A later snapshot of the day: the pairs it shows in stock were not out of stock all day.
fn delete_restocked(
    conn: &Connection,
    day: &str,
    sums: &HashMap<(&str, &str), Sum<'_>>,
) -> Result<(), StoreError> {
    let context = || format!("updating the out-of-stock pairs of {day}");
    let mut restocked: Vec<(String, String)> = Vec::new();
    {
        let mut stmt = conn
            .prepare_cached("SELECT sku, location FROM stockout_days WHERE day = ?1")
            .with_ctx(context)?;
        let mut rows = stmt.query([day]).with_ctx(context)?;
        while let Some(row) = rows.next().with_ctx(context)? {
            let r = Rec::new(row, "stockout_days", &[0, 1]);
            let key = (r.str(0, "sku")?, r.str(1, "location")?);
            if sums.get(&key).is_some_and(|s| in_stock(s.available)) {
                restocked.push((key.0.to_owned(), key.1.to_owned()));
            }
        }
    }
    let mut delete = conn
        .prepare_cached("DELETE FROM stockout_days WHERE day = ?1 AND sku = ?2 AND location = ?3")
        .with_ctx(context)?;
    for (sku, location) in &restocked {
        delete
            .execute(params![day, sku, location])
            .with_ctx(context)?;
    }
    Ok(())
}

const INSERT_LATEST: &str = "INSERT INTO availability_latest (product_id, sku, location, bin,
        batch, on_hand, allocated, available, on_order, in_transit)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

fn insert_latest(conn: &Connection, rows: &[&AvailabilityRow]) -> Result<(), StoreError> {
    let mut insert = conn
        .prepare_cached(INSERT_LATEST)
        .ctx("preparing the availability insert")?;
    for r in rows {
        insert
            .execute(params![
                r.product_id,
                r.sku,
                r.location,
                r.bin,
                r.batch,
                r.on_hand,
                r.allocated,
                r.available,
                r.on_order,
                r.in_transit,
            ])
            .with_ctx(|| format!("storing availability of {} at {}", r.sku, r.location))?;
    }
    Ok(())
}

/// Sorted by the index key, so that index inserts append.
fn sorted(rows: &[AvailabilityRow]) -> Vec<&AvailabilityRow> {
    let mut sorted: Vec<&AvailabilityRow> = rows.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.sku, &a.location, &a.bin, &a.batch).cmp(&(&b.sku, &b.location, &b.bin, &b.batch))
    });
    sorted
}

fn replace_latest(conn: &Connection, rows: &[AvailabilityRow]) -> Result<(), StoreError> {
    conn.execute("DELETE FROM availability_latest", [])
        .ctx("clearing the latest availability")?;
    insert_latest(conn, &sorted(rows))
}

/// A targeted refresh: replaces the latest rows of `skus` and of every SKU in `rows`.
pub(crate) fn refresh_availability(
    conn: &Connection,
    skus: &[String],
    rows: &[AvailabilityRow],
) -> Result<(), StoreError> {
    let mut delete = conn
        .prepare_cached("DELETE FROM availability_latest WHERE sku = ?1")
        .ctx("preparing the availability delete")?;
    let all: HashSet<&str> = skus
        .iter()
        .map(String::as_str)
        .chain(rows.iter().map(|r| r.sku.as_str()))
        .collect();
    for sku in all {
        delete
            .execute([sku])
            .with_ctx(|| format!("replacing the availability of {sku}"))?;
    }
    insert_latest(conn, &sorted(rows))
}

fn insert_snapshot_rows(
    conn: &Connection,
    snapshot_id: i64,
    sums: &HashMap<(&str, &str), Sum<'_>>,
) -> Result<(), StoreError> {
    let mut keys: Vec<&(&str, &str)> = sums.keys().collect();
    keys.sort_unstable();
    let context = || format!("storing the rows of snapshot {snapshot_id}");
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO snapshot_rows (snapshot_id, sku, location, product_id, on_hand, allocated,
                available, on_order, in_transit)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .with_ctx(context)?;
    for key in keys {
        let s = &sums[key];
        insert
            .execute(params![
                snapshot_id,
                key.0,
                key.1,
                s.product_id,
                s.on_hand,
                s.allocated,
                s.available,
                s.on_order,
                s.in_transit,
            ])
            .with_ctx(context)?;
    }
    Ok(())
}

/// Keeps the rows of the newest `keep_full` snapshots (by taken_at, then id) only.
fn drop_old_full_rows(conn: &Connection, keep_full: usize) -> Result<(), StoreError> {
    let context = "dropping the rows of older snapshots";
    let keep = i64::try_from(keep_full).unwrap_or(i64::MAX);
    let old: Vec<i64> = {
        let mut stmt = conn
            .prepare_cached(
                "SELECT id FROM snapshots WHERE rows_kept = 1
                 ORDER BY taken_at DESC, id DESC LIMIT -1 OFFSET ?1",
            )
            .ctx(context)?;
        stmt.query_map([keep], |r| r.get(0))
            .ctx(context)?
            .collect::<Result<_, _>>()
            .ctx(context)?
    };
    let mut delete = conn
        .prepare_cached("DELETE FROM snapshot_rows WHERE snapshot_id = ?1")
        .ctx(context)?;
    let mut mark = conn
        .prepare_cached("UPDATE snapshots SET rows_kept = 0 WHERE id = ?1")
        .ctx(context)?;
    for id in old {
        delete.execute([id]).ctx(context)?;
        mark.execute([id]).ctx(context)?;
    }
    Ok(())
}

/// Deletes history of days before `day − retention_days`.
fn prune(conn: &Connection, day: NaiveDate, retention_days: u32) -> Result<(), StoreError> {
    let Some(cutoff) = day.checked_sub_days(Days::new(u64::from(retention_days))) else {
        return Ok(());
    };
    let cutoff = codec::date(&cutoff);
    for table in ["stockout_days", "snapshot_days", "snapshots"] {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE day < ?1"))
            .and_then(|mut s| s.execute([&cutoff]))
            .with_ctx(|| format!("pruning {table} before {cutoff}"))?;
    }
    Ok(())
}

fn read_availability(
    rows: &mut rusqlite::Rows<'_>,
    table: &'static str,
    context: &str,
) -> Result<Vec<AvailabilityRow>, StoreError> {
    let mut out = Vec::new();
    while let Some(row) = rows.next().ctx(context)? {
        let r = Rec::new(row, table, &[1, 2, 3, 4]);
        out.push(AvailabilityRow {
            product_id: r.text(0, "product_id")?,
            sku: r.text(1, "sku")?,
            location: r.text(2, "location")?,
            bin: r.opt_text(3, "bin")?,
            batch: r.opt_text(4, "batch")?,
            on_hand: r.real(5, "on_hand")?,
            allocated: r.real(6, "allocated")?,
            available: r.real(7, "available")?,
            on_order: r.real(8, "on_order")?,
            in_transit: r.real(9, "in_transit")?,
        });
    }
    Ok(out)
}

/// The latest rows, sorted by (SKU, location, bin, batch) with NULL bins and batches first.
pub(crate) fn latest_availability(conn: &Connection) -> Result<Vec<AvailabilityRow>, StoreError> {
    let context = "reading the latest availability";
    let mut stmt = conn
        .prepare_cached(
            "SELECT product_id, sku, location, bin, batch, on_hand, allocated, available, on_order,
                in_transit
             FROM availability_latest ORDER BY sku, location, bin, batch, rowid",
        )
        .ctx(context)?;
    let mut rows = stmt.query([]).ctx(context)?;
    read_availability(&mut rows, "availability_latest", context)
}

/// A kept snapshot's rows (one per SKU and location, bin and batch empty), sorted by SKU then
/// location; empty when the snapshot's rows were dropped or it does not exist.
pub(crate) fn snapshot_rows(
    conn: &Connection,
    snapshot_id: i64,
) -> Result<Vec<AvailabilityRow>, StoreError> {
    let context = format!("reading the rows of snapshot {snapshot_id}");
    let mut stmt = conn
        .prepare_cached(
            "SELECT product_id, sku, location, NULL, NULL, on_hand, allocated, available, on_order,
                in_transit
             FROM snapshot_rows WHERE snapshot_id = ?1 ORDER BY sku, location",
        )
        .ctx(&context)?;
    let mut rows = stmt.query([snapshot_id]).ctx(&context)?;
    read_availability(&mut rows, "snapshot_rows", &context)
}

/// The full snapshots whose rows are still kept (the newest few), oldest first.
pub(crate) fn kept_snapshots(conn: &Connection) -> Result<Vec<SnapshotInfo>, StoreError> {
    let context = "reading the kept snapshots";
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, taken_at, day, row_count FROM snapshots
             WHERE rows_kept = 1 ORDER BY taken_at, id",
        )
        .ctx(context)?;
    let mut rows = stmt.query([]).ctx(context)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().ctx(context)? {
        let r = Rec::new(row, "snapshots", &[0]);
        out.push(SnapshotInfo {
            id: r.int(0, "id")?,
            taken_at: r.ts(1, "taken_at")?,
            day: r.date(2, "day")?,
            rows: r.count(3, "row_count")?,
        });
    }
    Ok(out)
}

pub(crate) fn latest_snapshot(conn: &Connection) -> Result<Option<SnapshotInfo>, StoreError> {
    let context = "reading the latest snapshot";
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, taken_at, day, row_count FROM snapshots
             ORDER BY taken_at DESC, id DESC LIMIT 1",
        )
        .ctx(context)?;
    let mut rows = stmt.query([]).ctx(context)?;
    let Some(row) = rows.next().ctx(context)? else {
        return Ok(None);
    };
    let r = Rec::new(row, "snapshots", &[0]);
    Ok(Some(SnapshotInfo {
        id: r.int(0, "id")?,
        taken_at: r.ts(1, "taken_at")?,
        day: r.date(2, "day")?,
        rows: r.count(3, "row_count")?,
    }))
}

/// Days in `from..=to` with at least one snapshot, ascending.
pub(crate) fn snapshot_days(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<NaiveDate>, StoreError> {
    let context = format!("reading snapshot days {from}..={to}");
    let mut stmt = conn
        .prepare_cached("SELECT day FROM snapshot_days WHERE day BETWEEN ?1 AND ?2 ORDER BY day")
        .ctx(&context)?;
    let mut rows = stmt
        .query([codec::date(&from), codec::date(&to)])
        .ctx(&context)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().ctx(&context)? {
        out.push(Rec::new(row, "snapshot_days", &[0]).date(0, "day")?);
    }
    Ok(out)
}

/// Out-of-stock (SKU, location, day) for days in `from..=to`, sorted by day, then SKU, then
/// location (the table's key order: no sort needed).
pub(crate) fn out_of_stock_days(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, String, NaiveDate)>, StoreError> {
    let context = format!("reading out-of-stock days {from}..={to}");
    let mut stmt = conn
        .prepare_cached(
            "SELECT sku, location, day FROM stockout_days WHERE day BETWEEN ?1 AND ?2
             ORDER BY day, sku, location",
        )
        .ctx(&context)?;
    let mut rows = stmt
        .query([codec::date(&from), codec::date(&to)])
        .ctx(&context)?;
    let mut out = Vec::new();
    // Rows come grouped by day: parse each day's text once.
    let mut last: Option<(String, NaiveDate)> = None;
    while let Some(row) = rows.next().ctx(&context)? {
        let r = Rec::new(row, "stockout_days", &[2, 0, 1]);
        let text = r.str(2, "day")?;
        let day = match &last {
            Some((t, d)) if t == text => *d,
            _ => {
                let d = r.date(2, "day")?;
                last = Some((text.to_owned(), d));
                d
            }
        };
        out.push((r.text(0, "sku")?, r.text(1, "location")?, day));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::super::Store;
    use super::super::test_util::{open_temp, utc};
    use super::*;

    fn row(sku: &str, location: &str, bin: Option<&str>, available: f64) -> AvailabilityRow {
        AvailabilityRow {
            product_id: format!("P-{sku}"),
            sku: sku.to_owned(),
            location: location.to_owned(),
            bin: bin.map(str::to_owned),
            batch: None,
            on_hand: available.max(0.0) + 1.0,
            allocated: 1.0,
            available,
            on_order: 2.0,
            in_transit: 0.5,
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// Records a snapshot of `rows` over SKUs A–D at L1 and L2.
    fn record(
        store: &mut Store,
        taken_at: &str,
        rows: &[AvailabilityRow],
        keep_full: usize,
        retention_days: u32,
    ) -> SnapshotInfo {
        let skus = strings(&["A", "B", "C", "D"]);
        let locations = strings(&["L1", "L2"]);
        let taken_at: DateTime<Utc> = utc(taken_at);
        let input = SnapshotInput {
            taken_at,
            day: taken_at.date_naive(),
            rows,
            skus: &skus,
            locations: &locations,
        };
        store
            .write(|w| w.record_snapshot(&input, keep_full, retention_days))
            .unwrap()
    }

    fn oos(sku: &str, location: &str, day: &str) -> (String, String, NaiveDate) {
        (sku.to_owned(), location.to_owned(), d(day))
    }

    #[test]
    fn out_of_stock_means_every_snapshot_of_the_day_showed_zero_or_less() {
        let (_dir, mut store) = open_temp();
        // Day 1, first snapshot.
        let first = vec![
            row("A", "L1", Some("bin-1"), -2.0), // bins summed: -2 + 3 = 1, in stock
            row("A", "L1", Some("bin-2"), 3.0),
            row("A", "L2", None, 0.0),  // 0: out
            row("B", "L1", None, -1.0), // out
            row("B", "L2", None, 5.0),  // in
            row("C", "L1", None, 0.0),  // out now, in stock later today
            // C@L2: no row, so Available 0: out (and stays missing)
            row("D", "L1", None, 2.0), // in now, 0 later: was not out all day
            // D@L2: no row now, 3 later
            row("E", "L3", None, -1.0), // outside skus × locations but has a row: out
        ];
        let info = record(&mut store, "2024-05-01T08:00:00Z", &first, 2, 120);
        assert_eq!(info.rows, 8);
        assert_eq!(info.day, d("2024-05-01"));
        assert_eq!(
            store
                .out_of_stock_days(d("2024-05-01"), d("2024-05-01"))
                .unwrap(),
            vec![
                oos("A", "L2", "2024-05-01"),
                oos("B", "L1", "2024-05-01"),
                oos("C", "L1", "2024-05-01"),
                oos("C", "L2", "2024-05-01"),
                oos("D", "L2", "2024-05-01"),
                oos("E", "L3", "2024-05-01"),
            ]
        );

        // Day 1, second snapshot.
        let second = vec![
            row("A", "L1", None, -5.0), // out now, but was in stock this morning: not re-added
            row("A", "L2", None, 0.0),
            row("B", "L1", None, -1.0),
            row("B", "L2", None, 5.0),
            row("C", "L1", None, 4.0), // back in stock: removed
            row("D", "L1", None, 0.0), // not re-added
            row("D", "L2", None, 3.0), // removed
        ];
        record(&mut store, "2024-05-01T14:00:00Z", &second, 2, 120);

        // Day 3 (no snapshot on day 2): f64 noise 0.1 + 0.2 - 0.3 is still zero.
        let third = vec![
            row("A", "L1", Some("x"), 0.1),
            row("A", "L1", Some("y"), 0.2),
            row("A", "L1", Some("z"), -0.3),
            row("A", "L2", None, 1.0),
            row("B", "L1", None, 1.0),
            row("B", "L2", None, 1.0),
            row("C", "L1", None, 1.0),
            row("C", "L2", None, 1.0),
            row("D", "L1", None, 1.0),
            row("D", "L2", None, 0.0001), // the smallest Cin7 quantity is in stock
        ];
        let noise: f64 = third[..3].iter().map(|r| r.available).sum();
        assert!(noise > 0.0 && noise < STOCK_EPSILON, "{noise}");
        record(&mut store, "2024-05-03T10:00:00Z", &third, 2, 120);

        assert_eq!(
            store
                .out_of_stock_days(d("2024-05-01"), d("2024-05-03"))
                .unwrap(),
            vec![
                oos("A", "L2", "2024-05-01"),
                oos("B", "L1", "2024-05-01"),
                oos("C", "L2", "2024-05-01"),
                oos("E", "L3", "2024-05-01"),
                oos("A", "L1", "2024-05-03"),
            ]
        );
        // Day 2 had no snapshot: no record at all, and it is not a snapshot day.
        assert!(
            store
                .out_of_stock_days(d("2024-05-02"), d("2024-05-02"))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .snapshot_days(d("2024-04-01"), d("2024-06-01"))
                .unwrap(),
            vec![d("2024-05-01"), d("2024-05-03")]
        );
        assert_eq!(
            store
                .snapshot_days(d("2024-05-02"), d("2024-05-03"))
                .unwrap(),
            vec![d("2024-05-03")]
        );
        let count: i64 = store
            .conn
            .query_row(
                "SELECT count FROM snapshot_days WHERE day = '2024-05-01'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(count, 2);
    }

    #[test]
    fn latest_availability_is_the_last_snapshot_sorted_plus_targeted_refreshes() {
        let (_dir, mut store) = open_temp();
        assert_eq!(store.latest_snapshot().unwrap(), None);
        record(
            &mut store,
            "2024-05-01T08:00:00Z",
            &[row("Z", "L1", None, 1.0)],
            1,
            120,
        );
        let rows = vec![
            row("B", "L1", None, 1.0),
            row("A", "L2", Some("b2"), 2.0),
            row("A", "L2", None, 3.0),
            row("A", "L1", Some("b1"), 4.0),
        ];
        let info = record(&mut store, "2024-05-01T10:00:00Z", &rows, 1, 120);
        assert_eq!(store.latest_snapshot().unwrap(), Some(info.clone()));
        // Z is gone (replaced wholesale); sorted by sku, location, bin (none first).
        let latest = store.latest_availability().unwrap();
        assert_eq!(
            latest,
            vec![
                rows[3].clone(),
                rows[2].clone(),
                rows[1].clone(),
                rows[0].clone()
            ]
        );

        // A targeted refresh of A replaces all of A's rows and leaves B alone.
        let fresh = vec![row("A", "L1", None, 7.0)];
        store
            .write(|w| w.refresh_availability(&strings(&["A"]), &fresh))
            .unwrap();
        assert_eq!(
            store.latest_availability().unwrap(),
            vec![fresh[0].clone(), rows[0].clone()]
        );
        // Not a snapshot.
        assert_eq!(
            store.latest_snapshot().unwrap().map(|s| s.id),
            Some(info.id)
        );
    }

    #[test]
    fn only_the_newest_keep_full_snapshots_keep_their_rows() {
        let (_dir, mut store) = open_temp();
        let rows = vec![
            row("A", "L1", Some("b1"), -2.0),
            row("A", "L1", Some("b2"), 3.0),
            row("B", "L2", None, 4.0),
        ];
        let ids: Vec<i64> = ["08", "10", "12", "14"]
            .iter()
            .map(|h| record(&mut store, &format!("2024-05-01T{h}:00:00Z"), &rows, 2, 120).id)
            .collect();
        assert!(store.snapshot_rows(ids[0]).unwrap().is_empty());
        assert!(store.snapshot_rows(ids[1]).unwrap().is_empty());
        let kept = store.snapshot_rows(ids[3]).unwrap();
        assert_eq!(store.snapshot_rows(ids[2]).unwrap(), kept);
        // Aggregated per (sku, location): A@L1 = -2 + 3 = 1 available, on_hand 1 + 4 = 5.
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].sku, "A");
        assert_eq!(kept[0].available, 1.0);
        assert_eq!(kept[0].on_hand, 5.0);
        assert_eq!(kept[0].on_order, 4.0);
        assert_eq!(kept[0].bin, None);
        assert_eq!(
            kept[1],
            AvailabilityRow {
                bin: None,
                ..rows[2].clone()
            }
        );
        // The snapshot records stay; only two are marked as keeping rows.
        let (records, kept_flags): (i64, i64) = store
            .conn
            .query_row("SELECT count(*), sum(rows_kept) FROM snapshots", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((records, kept_flags), (4, 2));
        let stored_rows: i64 = store
            .conn
            .query_row("SELECT count(*) FROM snapshot_rows", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored_rows, 4);

        // keep_full = 0 keeps no rows at all.
        let id = record(&mut store, "2024-05-01T16:00:00Z", &rows, 0, 120).id;
        assert!(store.snapshot_rows(id).unwrap().is_empty());
        assert!(store.snapshot_rows(ids[3]).unwrap().is_empty());
    }

    #[test]
    fn retention_prunes_days_before_the_cutoff() {
        let (_dir, mut store) = open_temp();
        // Everything out of stock: each snapshot day records 8 pairs.
        record(&mut store, "2024-05-01T08:00:00Z", &[], 1, 5);
        record(&mut store, "2024-05-05T08:00:00Z", &[], 1, 5);
        // Cutoff 2024-05-10 − 5 = 2024-05-05: May 1 goes, May 5 (not before the cutoff) stays.
        record(&mut store, "2024-05-10T08:00:00Z", &[], 1, 5);
        let all = (d("2024-01-01"), d("2024-12-31"));
        assert_eq!(
            store.snapshot_days(all.0, all.1).unwrap(),
            vec![d("2024-05-05"), d("2024-05-10")]
        );
        let days: Vec<NaiveDate> = store
            .out_of_stock_days(all.0, all.1)
            .unwrap()
            .into_iter()
            .map(|(_, _, day)| day)
            .collect();
        assert_eq!(days.len(), 16);
        assert!(days.iter().all(|&day| day >= d("2024-05-05")));
        let snapshots: i64 = store
            .conn
            .query_row("SELECT count(*) FROM snapshots", [], |r| r.get(0))
            .unwrap();
        assert_eq!(snapshots, 2);

        // One more day moves the cutoff to May 6.
        record(&mut store, "2024-05-11T08:00:00Z", &[], 1, 5);
        assert_eq!(
            store.snapshot_days(all.0, all.1).unwrap(),
            vec![d("2024-05-10"), d("2024-05-11")]
        );
        assert_eq!(store.out_of_stock_days(all.0, all.1).unwrap().len(), 16);
    }
}
