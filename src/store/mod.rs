//! The embedded SQLite store: orders, catalog cache, purchases, availability (latest + the per-day
//! out-of-stock record the stockout rule needs + a few recent full snapshots), sync watermarks and
//! run history. One file, WAL, foreign keys on, migrations by `PRAGMA user_version`.
//!
//! Writes go through [`Store::write`], one transaction per call, so a failed run leaves the store as
//! it was. This module knows nothing of HTTP or planning; it stores and returns `core::model` types.
//!
//! Layout: `migrations` (the schema), `codec` (column encodings, error context), then one file per
//! table family: `orders`, `catalog`, `purchases`, `snapshots` (availability and the out-of-stock
//! record), `runs` (run history and the `state` key/value table) and `alerts` (the alert outbox).
//! `spool` is not part of the store: a scratch file beside it that groups records by key (how a
//! bulk-operation result is put back together without holding it in memory).
//! This file is the API.

mod alerts;
mod catalog;
mod codec;
mod events;
mod ledger;
mod lock;
mod migrations;
mod orders;
mod purchases;
mod runs;
mod snapshots;
mod spool;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rusqlite::{Connection, TransactionBehavior};

use crate::core::model::{AvailabilityRow, Location, Order, Product, Purchase, Supplier};
use crate::core::sales::Sales;
use codec::Context;

pub use alerts::{Channel, ChannelState, Channels, NewAlert, RaiseCounts, StoredAlert};
pub use events::WebhookEvent;
pub use ledger::{LedgerEntry, LedgerState, NewIntent, WrittenLine, tag};
pub use lock::WriterLock;
pub use snapshots::STOCK_EPSILON;
pub use spool::{Spool, SpoolRecord};

/// How long a statement waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A store failure, naming what was being done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("store {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("store: {context}: {source}")]
    Sqlite {
        context: String,
        source: rusqlite::Error,
    },
    #[error("store: {context}: {message}")]
    Corrupt { context: String, message: String },
    #[error(
        "store {path} has schema version {found}, newer than this build knows ({known}); upgrade replenish"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("store lock {path}: {message}")]
    Lock { path: PathBuf, message: String },
    #[error("cannot create the store {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A read-only command found no store (see [`Store::open_read_only`]).
    #[error("store {path} does not exist yet: run `replenish sync` first (store.path)")]
    Missing { path: PathBuf },
    /// A read-only command found a store an older build wrote; it cannot migrate it.
    #[error(
        "store {path} has schema version {found}, older than this build's {known}: run `replenish sync` (or any command that writes) once to migrate it"
    )]
    TooOld {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("store: {context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

/// What a full sync's availability snapshot is made of.
pub struct SnapshotInput<'a> {
    pub taken_at: DateTime<Utc>,
    /// `taken_at` as a calendar date in the shop timezone (the caller converts).
    pub day: NaiveDate,
    pub rows: &'a [AvailabilityRow],
    /// Every (SKU) the snapshot covers: products without a row at a location count as 0 there.
    pub skus: &'a [String],
    /// Every Cin7 location name the snapshot covers.
    pub locations: &'a [String],
}

/// Creates `path` readable and writable by its owner only (0600) when it does not exist yet: the
/// store keeps webhook bodies (customer data) and its ledger. SQLite gives the `-wal` and `-shm`
/// files the database file's mode. An existing file is left as it is.
pub(crate) fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// A store as [`Store::inspect`] found it.
#[derive(Debug, Clone)]
pub struct StoreInfo {
    /// The file's schema version (`PRAGMA user_version`).
    pub version: i64,
    /// The version this build writes.
    pub known_version: i64,
    /// The file's size.
    pub bytes: u64,
    /// The newest full availability snapshot (current schema only).
    pub latest_snapshot: Option<SnapshotInfo>,
    /// The newest runs, newest first (current schema only).
    pub last_runs: Vec<RunRecord>,
}

/// A recorded snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotInfo {
    pub id: i64,
    pub taken_at: DateTime<Utc>,
    pub day: NaiveDate,
    pub rows: u64,
}

/// Counts from an order upsert.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertCounts {
    pub inserted: u64,
    pub updated: u64,
    /// Payloads not newer than what the store holds (ignored).
    pub ignored: u64,
}

impl std::ops::AddAssign for UpsertCounts {
    fn add_assign(&mut self, other: UpsertCounts) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.ignored += other.ignored;
    }
}

/// Requests made to one endpoint during a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EndpointCount {
    pub endpoint: String,
    pub requests: u64,
    pub throttled: u64,
    pub retries: u64,
}

/// One row of run history.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub id: i64,
    pub command: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `running`, `ok`, `failed`, …
    pub outcome: String,
    pub error: Option<String>,
    pub summary_json: Option<String>,
    pub requests: Vec<EndpointCount>,
}

/// The stored version of a purchase, to decide whether its detail must be fetched again.
#[derive(Debug, Clone, PartialEq)]
pub struct PurchaseVersion {
    pub status: String,
    pub last_updated: Option<NaiveDateTime>,
    pub has_detail: bool,
}

/// The open store.
pub struct Store {
    conn: rusqlite::Connection,
    path: PathBuf,
}

/// Write access inside one transaction (see [`Store::write`]).
pub struct Writer<'a> {
    tx: &'a rusqlite::Transaction<'a>,
}

impl Store {
    /// Opens (creating if needed) and migrates the store at `path`.
    ///
    /// The file is created if missing (its directory is not). Settings: WAL journal, foreign keys
    /// on, `busy_timeout` 5 s, `synchronous = NORMAL`. Fails with [`StoreError::TooNew`] when the
    /// file was written by a newer build.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        create_private(path).map_err(|source| StoreError::Create {
            path: path.to_owned(),
            source,
        })?;
        let mut conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source,
        })?;
        let setting = |what: &str| format!("opening {}: setting {what}", path.display());
        // First, so that everything after it (WAL switch, migrations) waits for other processes.
        conn.busy_timeout(BUSY_TIMEOUT)
            .with_ctx(|| setting("busy_timeout"))?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .with_ctx(|| setting("journal_mode = WAL"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "store: SQLite refused WAL journal mode");
        }
        conn.pragma_update(None, "foreign_keys", true)
            .with_ctx(|| setting("foreign_keys = ON"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .with_ctx(|| setting("synchronous = NORMAL"))?;
        conn.set_prepared_statement_cache_capacity(64);
        migrations::migrate(&mut conn, path)?;
        Ok(Store {
            conn,
            path: path.to_owned(),
        })
    }

    /// Opens the store for reading only (`plan`, `status`, `backtest`, `skus` without `--sync`):
    /// nothing is created or written — no WAL switch, no migration — so a store in a read-only
    /// folder (a backup, another user's) can be read. A missing store is
    /// [`StoreError::Missing`]; one an older build wrote is [`StoreError::TooOld`] (a writing
    /// command migrates it).
    ///
    /// SQLite needs the WAL index (`-shm`) to read a WAL store; when it cannot create one (the
    /// folder is read-only and no writer left one) the file is read as immutable, which is right
    /// as long as nothing writes it meanwhile — and nothing can write in a read-only folder.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_owned(),
            });
        }
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let open = |conn: Connection| -> Result<(Connection, i64), rusqlite::Error> {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            let version = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
            Ok((conn, version))
        };
        let opened = Connection::open_with_flags(path, flags).and_then(open);
        let (conn, version) = match opened {
            Ok(x) => x,
            Err(first) => {
                let uri = format!(
                    "file:{}?immutable=1",
                    path.display()
                        .to_string()
                        .replace('%', "%25")
                        .replace('?', "%3f")
                        .replace('#', "%23")
                );
                Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
                    .and_then(open)
                    .map_err(|_| StoreError::Open {
                        path: path.to_owned(),
                        source: first,
                    })?
            }
        };
        let known = migrations::known_version();
        if version > known {
            return Err(StoreError::TooNew {
                path: path.to_owned(),
                found: version,
                known,
            });
        }
        if version < known {
            return Err(StoreError::TooOld {
                path: path.to_owned(),
                found: version,
                known,
            });
        }
        Ok(Store {
            conn,
            path: path.to_owned(),
        })
    }

    /// The schema version this build writes (the number of migrations).
    pub fn schema_version() -> i64 {
        migrations::known_version()
    }

    /// What `doctor` reports of the store at `path`, read without creating, migrating or
    /// writing it; `None` when there is no file yet. The newest snapshot and runs are read only
    /// when the schema is this build's.
    pub fn inspect(path: &Path) -> Result<Option<StoreInfo>, StoreError> {
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source,
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .ctx("inspecting the store: busy_timeout")?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .ctx("inspecting the store: reading the schema version")?;
        let known = migrations::known_version();
        let (latest_snapshot, last_runs) = if version == known {
            (snapshots::latest_snapshot(&conn)?, runs::runs(&conn, 20)?)
        } else {
            (None, Vec::new())
        };
        Ok(Some(StoreInfo {
            version,
            known_version: known,
            bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            latest_snapshot,
            last_runs,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one transaction: committed when it returns `Ok`, rolled back otherwise.
    pub fn write<T>(
        &mut self,
        f: impl FnOnce(&Writer<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write_with(f)
    }

    /// [`Store::write`] for a closure whose errors are not only the store's (say, a stream of
    /// orders read from elsewhere while writing): committed on `Ok`, rolled back on any `Err`.
    pub fn write_with<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&Writer<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("starting a write transaction")?;
        // On `Err` the transaction is dropped, which rolls it back.
        let value = f(&Writer { tx: &tx })?;
        tx.commit().ctx("committing a write transaction")?;
        Ok(value)
    }

    pub fn order(&self, id: &str) -> Result<Option<Order>, StoreError> {
        orders::order(&self.conn, id)
    }
    /// What planning reads of the orders with `from <= created_at < to` (see [`Sales`]).
    pub fn sales_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Sales, StoreError> {
        orders::sales_between(&self.conn, from, to)
    }
    /// Whole orders with `from <= created_at < to` (lines included), in (created_at, id) order.
    pub fn orders_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Order>, StoreError> {
        orders::orders_between(&self.conn, from, to)
    }
    /// Orders with `from <= created_at < to` holding a line of one of `variant_ids`, with only
    /// those lines, in (created_at, id) order.
    pub fn orders_with_variants_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        variant_ids: &[String],
    ) -> Result<Vec<Order>, StoreError> {
        orders::orders_with_variants_between(&self.conn, from, to, variant_ids)
    }
    /// The stored orders among `ids` (lines included), in id order; unknown ids are skipped.
    pub fn orders_by_ids(&self, ids: &[&str]) -> Result<Vec<Order>, StoreError> {
        orders::orders_by_ids(&self.conn, ids)
    }
    pub fn order_count(&self) -> Result<u64, StoreError> {
        orders::order_count(&self.conn)
    }
    /// The earliest `created_at` of the stored orders (None when there are none).
    pub fn first_order_created_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        orders::first_created_at(&self.conn)
    }
    /// Locations sorted by name, then id.
    pub fn locations(&self) -> Result<Vec<Location>, StoreError> {
        catalog::locations(&self.conn)
    }
    /// Products sorted by SKU, then id; suppliers, options and reorder levels in stored order.
    pub fn products(&self) -> Result<Vec<Product>, StoreError> {
        catalog::products(&self.conn)
    }
    /// Suppliers sorted by name, then id.
    pub fn suppliers(&self) -> Result<Vec<Supplier>, StoreError> {
        catalog::suppliers(&self.conn)
    }
    /// Every stored purchase, with its detail when stored, sorted by id.
    pub fn purchases(&self) -> Result<Vec<Purchase>, StoreError> {
        purchases::purchases(&self.conn)
    }
    /// Purchase id → stored version.
    pub fn purchase_versions(&self) -> Result<HashMap<String, PurchaseVersion>, StoreError> {
        purchases::purchase_versions(&self.conn)
    }
    /// Current availability: the last full snapshot's rows, updated by any later targeted refresh.
    /// Sorted by (SKU, location, bin, batch), an empty bin or batch first.
    pub fn latest_availability(&self) -> Result<Vec<AvailabilityRow>, StoreError> {
        snapshots::latest_availability(&self.conn)
    }
    /// The snapshot with the latest `taken_at` (ties: the last recorded).
    /// The full snapshots whose rows are kept (for reconciliation), oldest first.
    pub fn kept_snapshots(&self) -> Result<Vec<SnapshotInfo>, StoreError> {
        snapshots::kept_snapshots(&self.conn)
    }
    pub fn latest_snapshot(&self) -> Result<Option<SnapshotInfo>, StoreError> {
        snapshots::latest_snapshot(&self.conn)
    }
    /// Days in `from..=to` on which at least one full snapshot was taken, ascending.
    pub fn snapshot_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        snapshots::snapshot_days(&self.conn, from, to)
    }
    /// (SKU, Cin7 location, day) for days in `from..=to` on which every snapshot of the day showed
    /// Available ≤ 0 (summed over bins/batches; a missing row counts as 0).
    ///
    /// Sorted by day, then SKU, then location. "≤ 0" allows [`STOCK_EPSILON`] of f64 summing noise.
    pub fn out_of_stock_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(String, String, NaiveDate)>, StoreError> {
        snapshots::out_of_stock_days(&self.conn, from, to)
    }
    /// Rows of a kept full snapshot, aggregated per (SKU, location).
    ///
    /// Sorted by SKU then location, `bin` and `batch` empty, `product_id` of the pair's first row.
    /// Empty when the snapshot does not exist or its rows are no longer kept.
    pub fn snapshot_rows(&self, snapshot_id: i64) -> Result<Vec<AvailabilityRow>, StoreError> {
        snapshots::snapshot_rows(&self.conn, snapshot_id)
    }
    pub fn state(&self, key: &str) -> Result<Option<String>, StoreError> {
        runs::state(&self.conn, key)
    }
    /// The newest `limit` runs, newest first.
    ///
    /// Newest = latest `started_at`, then highest id; request counts sorted by endpoint.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        runs::runs(&self.conn, limit)
    }

    // Webhook deliveries (events.rs).
    /// Pending deliveries, oldest first.
    pub fn pending_events(&self, limit: usize) -> Result<Vec<WebhookEvent>, StoreError> {
        events::pending_events(&self.conn, limit)
    }
    /// Deliveries per state (`pending`, `done`, `failed`, `malformed`).
    pub fn event_counts(&self) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        events::event_counts(&self.conn)
    }

    // The draft ledger (ledger.rs).
    /// Ledger rows not closed, by supplier ID then location.
    pub fn open_drafts(&self) -> Result<Vec<LedgerEntry>, StoreError> {
        ledger::open_drafts(&self.conn)
    }
    /// The newest `limit` ledger rows, newest first.
    pub fn recent_drafts(&self, limit: usize) -> Result<Vec<LedgerEntry>, StoreError> {
        ledger::recent(&self.conn, limit)
    }
    pub fn ledger_entry(&self, intent_id: &str) -> Result<Option<LedgerEntry>, StoreError> {
        ledger::entry(&self.conn, intent_id)
    }

    // --- The alert outbox (`alerts.rs`). ---

    /// Every alert still pending on some channel, oldest first (by id).
    pub fn pending_alerts(&self) -> Result<Vec<StoredAlert>, StoreError> {
        alerts::pending_alerts(&self.conn)
    }
    /// The newest `limit` alerts with their channel states, delivered or not, for `status`:
    /// latest `last_raised_at` first, then highest id.
    pub fn recent_alerts(&self, limit: usize) -> Result<Vec<StoredAlert>, StoreError> {
        alerts::recent_alerts(&self.conn, limit)
    }
}

impl Writer<'_> {
    /// Inserts or replaces whole orders (lines included), keeping the one with the newest
    /// `updated_at`: an incoming order not newer than the stored one is ignored.
    pub fn upsert_orders(&self, orders: &[Order]) -> Result<UpsertCounts, StoreError> {
        orders::upsert_orders(self.tx, orders)
    }
    pub fn replace_locations(&self, locations: &[Location]) -> Result<(), StoreError> {
        catalog::replace_locations(self.tx, locations)
    }
    pub fn replace_products(&self, products: &[Product]) -> Result<(), StoreError> {
        catalog::replace_products(self.tx, products)
    }
    pub fn replace_suppliers(&self, suppliers: &[Supplier]) -> Result<(), StoreError> {
        catalog::replace_suppliers(self.tx, suppliers)
    }
    /// Upserts purchase headers. A purchase with `detail: Some` replaces its stored detail and lines;
    /// with `detail: None` the stored detail is kept only if `last_updated` did not change.
    pub fn upsert_purchases(&self, purchases: &[Purchase]) -> Result<(), StoreError> {
        purchases::upsert_purchases(self.tx, purchases)
    }
    /// Forgets a purchase Cin7 no longer has, with its lines.
    pub fn delete_purchase(&self, id: &str) -> Result<(), StoreError> {
        purchases::delete_purchase(self.tx, id)
    }
    /// Records a full snapshot: replaces the latest availability, updates the per-day out-of-stock
    /// record, keeps the newest `keep_full` full snapshots' rows, and prunes history older than
    /// `retention_days` before `input.day`.
    ///
    /// Out of stock on a day = every snapshot of that day showed the pair's Available (summed over
    /// its rows; no row = 0) ≤ 0. The first snapshot of a day records every out-of-stock pair of
    /// `skus × locations` and of the rows; later ones of the same day only remove pairs they show
    /// in stock. History (out-of-stock record, snapshot days, snapshot records) of days before
    /// `input.day − retention_days` is deleted.
    pub fn record_snapshot(
        &self,
        input: &SnapshotInput<'_>,
        keep_full: usize,
        retention_days: u32,
    ) -> Result<SnapshotInfo, StoreError> {
        snapshots::record_snapshot(self.tx, input, keep_full, retention_days)
    }
    /// A targeted refresh (the listener's few SKUs): replaces the latest availability rows of every
    /// SKU in `skus` and in `rows`, at every location, by `rows`. Not a snapshot: the out-of-stock
    /// record and snapshot history are untouched.
    pub fn refresh_availability(
        &self,
        skus: &[String],
        rows: &[AvailabilityRow],
    ) -> Result<(), StoreError> {
        snapshots::refresh_availability(self.tx, skus, rows)
    }
    pub fn set_state(&self, key: &str, value: &str) -> Result<(), StoreError> {
        runs::set_state(self.tx, key, value)
    }
    /// Marks every run that never finished (its process was killed) as `interrupted`. Only for
    /// a caller that just took the writer lock: then no run can still be alive.
    pub fn mark_interrupted_runs(&self) -> Result<usize, StoreError> {
        runs::mark_interrupted(self.tx)
    }
    /// Starts a run record with outcome `running`; returns its id.
    pub fn start_run(&self, command: &str, started_at: DateTime<Utc>) -> Result<i64, StoreError> {
        runs::start_run(self.tx, command, started_at)
    }
    /// Ends a run: outcome, error, summary and request counts (replacing any stored for it; an
    /// endpoint listed twice is summed). Fails if the run does not exist.
    pub fn finish_run(
        &self,
        run_id: i64,
        ended_at: DateTime<Utc>,
        outcome: &str,
        error: Option<&str>,
        requests: &[EndpointCount],
        summary_json: Option<&str>,
    ) -> Result<(), StoreError> {
        runs::finish_run(
            self.tx,
            run_id,
            ended_at,
            outcome,
            error,
            requests,
            summary_json,
        )
    }

    // Webhook deliveries (events.rs).
    /// Records deliveries (`pending`, or `malformed`); per delivery, whether it was new.
    pub fn record_events(&self, events: &[(WebhookEvent, &str)]) -> Result<Vec<bool>, StoreError> {
        events::record_events(self.tx, events)
    }
    /// Marks a delivery processed: `done`, or `failed` with the reason.
    pub fn mark_event(
        &self,
        event_id: &str,
        outcome: Result<(), &str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        events::mark_event(self.tx, event_id, outcome, now)
    }

    // The draft ledger (ledger.rs): each step is committed before the Cin7 call that follows it.
    /// Records the intent to create a draft (state `intent`, the planned lines pending). Fails if
    /// the (supplier, location) already has an open row.
    pub fn ledger_intent(
        &self,
        intent: &NewIntent<'_>,
        now: DateTime<Utc>,
        run_id: Option<i64>,
    ) -> Result<(), StoreError> {
        ledger::record_intent(self.tx, intent, now, run_id)
    }
    /// The purchase exists in Cin7 (state `created`).
    pub fn ledger_created(
        &self,
        intent_id: &str,
        purchase_id: &str,
        order_number: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        ledger::record_created(self.tx, intent_id, purchase_id, order_number, now)
    }
    /// A (re)write of the lines is about to be sent: they become pending (`done` → `updating`).
    pub fn ledger_updating(
        &self,
        intent_id: &str,
        lines: &[WrittenLine],
        now: DateTime<Utc>,
        run_id: Option<i64>,
    ) -> Result<(), StoreError> {
        ledger::record_updating(self.tx, intent_id, lines, now, run_id)
    }
    /// The lines were written (state `done`, nothing pending).
    pub fn ledger_lines_written(
        &self,
        intent_id: &str,
        lines: &[WrittenLine],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        ledger::record_lines_written(self.tx, intent_id, lines, now)
    }
    /// The draft is no longer the tool's (approved, voided, edited, rejected, never created, gone).
    pub fn ledger_close(
        &self,
        intent_id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        ledger::close(self.tx, intent_id, reason, now)
    }

    // --- The alert outbox (`alerts.rs`). ---

    /// Records alerts raised at `now` by run `run_id` (in the caller's transaction), grouping
    /// repeats: the same alert (kind, supplier, SKU, location, message) still undelivered, or
    /// delivered less than `repeat_after` ago, is counted on its row instead of added. New rows
    /// are `pending` on the `channels` configured, `off` on the others. Rules in detail:
    /// `alerts::raise_alerts`.
    pub fn raise_alerts(
        &self,
        alerts: &[NewAlert],
        now: DateTime<Utc>,
        run_id: Option<i64>,
        channels: Channels,
        repeat_after: chrono::Duration,
    ) -> Result<RaiseCounts, StoreError> {
        alerts::raise_alerts(self.tx, alerts, now, run_id, channels, repeat_after)
    }
    /// Records one delivery outcome of alert `id` on `channel` (only a `pending` channel
    /// changes): `Ok` → `sent` (and `delivered_at = now` once no channel is pending); `Err` →
    /// still pending, `attempts + 1`, `last_error` = the message, which must hold no secret.
    /// Fails if the alert does not exist.
    pub fn mark_alert_channel(
        &self,
        id: i64,
        channel: Channel,
        outcome: Result<(), String>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        alerts::mark_alert_channel(self.tx, id, channel, outcome, now)
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Helpers shared by the store's tests.

    use chrono::{DateTime, Utc};

    use super::Store;

    /// A fresh store in a temporary directory (kept alive by the returned guard).
    pub(crate) fn open_temp() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("replenish.db")).expect("open store");
        (dir, store)
    }

    pub(crate) fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test timestamp")
            .with_timezone(&Utc)
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::{open_temp, utc};
    use super::*;

    fn user_version(store: &Store) -> i64 {
        store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn open_migrates_once_and_is_idempotent() {
        let (dir, mut store) = open_temp();
        assert_eq!(user_version(&store), migrations::MIGRATIONS.len() as i64);
        assert_eq!(Store::schema_version(), migrations::MIGRATIONS.len() as i64);
        store.write(|w| w.set_state("k", "v")).unwrap();
        drop(store);

        let path = dir.path().join("replenish.db");
        let again = Store::open(&path).unwrap();
        assert_eq!(user_version(&again), migrations::MIGRATIONS.len() as i64);
        // Data survived the second open (no migration re-ran).
        assert_eq!(again.state("k").unwrap().as_deref(), Some("v"));
        assert_eq!(again.path(), path);
        let mode: String = again
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = again
            .conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn a_store_from_a_newer_build_is_refused() {
        let (dir, store) = open_temp();
        let newer = migrations::MIGRATIONS.len() as i64 + 1;
        store
            .conn
            .pragma_update(None, "user_version", newer)
            .unwrap();
        drop(store);
        match Store::open(&dir.path().join("replenish.db")) {
            Err(StoreError::TooNew { found, known, .. }) => {
                assert_eq!(found, newer);
                assert_eq!(known, newer - 1);
            }
            Err(other) => panic!("expected TooNew, got {other}"),
            Ok(_) => panic!("expected TooNew, the store opened"),
        }
    }

    #[test]
    fn a_missing_directory_is_an_open_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("replenish.db");
        let err = Store::open(&path).err().expect("must fail");
        assert!(matches!(err, StoreError::Create { .. }), "{err}");
        assert!(err.to_string().contains("no-such-dir"), "{err}");
    }

    #[test]
    fn a_failing_closure_rolls_everything_back() {
        let (_dir, mut store) = open_temp();
        store.write(|w| w.set_state("watermark", "1")).unwrap();
        let result: Result<(), StoreError> = store.write(|w| {
            w.set_state("watermark", "2")?;
            w.start_run("sync", utc("2024-05-01T00:00:00Z"))?;
            w.replace_locations(&[])?;
            Err(StoreError::Corrupt {
                context: "test".to_owned(),
                message: "boom".to_owned(),
            })
        });
        assert!(result.is_err());
        assert_eq!(store.state("watermark").unwrap().as_deref(), Some("1"));
        assert!(store.runs(10).unwrap().is_empty());
        // The connection is usable afterwards.
        store.write(|w| w.set_state("watermark", "3")).unwrap();
        assert_eq!(store.state("watermark").unwrap().as_deref(), Some("3"));
    }

    #[test]
    fn two_connections_share_the_store() {
        let (dir, mut a) = open_temp();
        let mut b = Store::open(&dir.path().join("replenish.db")).unwrap();
        a.write(|w| w.set_state("from", "a")).unwrap();
        assert_eq!(b.state("from").unwrap().as_deref(), Some("a"));
        b.write(|w| w.set_state("from", "b")).unwrap();
        assert_eq!(a.state("from").unwrap().as_deref(), Some("b"));
    }
}

/// Timings at production sizes. Not run by default (slow in a debug build); run with
/// `cargo test --release --lib store::perf -- --ignored --nocapture`.
#[cfg(test)]
mod perf {
    use std::time::Instant;

    use chrono::{Days, TimeZone};

    use super::test_util::open_temp;
    use super::*;
    use crate::core::model::OrderLine;

    const SKUS: usize = 100_000;
    const LOCATIONS: [&str; 3] = ["Main Warehouse", "Store East", "Store West"];

    fn rows(seed: usize) -> Vec<AvailabilityRow> {
        let mut rows = Vec::with_capacity(SKUS * LOCATIONS.len() + SKUS / 10);
        for i in 0..SKUS {
            for (j, location) in LOCATIONS.iter().enumerate() {
                // About a third out of stock, shifting with the seed.
                let base = ((i * 7 + j * 3) % 9) as f64 - 2.0;
                let available = if (i + seed).is_multiple_of(20) {
                    3.0
                } else {
                    base
                };
                let row = AvailabilityRow {
                    product_id: format!("prod-{i:06}"),
                    sku: format!("SKU-{i:06}"),
                    location: (*location).to_owned(),
                    bin: None,
                    batch: None,
                    on_hand: available.max(0.0),
                    allocated: 0.0,
                    available,
                    on_order: 1.0,
                    in_transit: 0.0,
                };
                if i.is_multiple_of(10) && j == 0 {
                    rows.push(AvailabilityRow {
                        bin: Some("B-2".to_owned()),
                        available: 1.5,
                        ..row.clone()
                    });
                }
                rows.push(row);
            }
        }
        rows
    }

    #[test]
    #[ignore = "timing at production size; run in release"]
    fn record_snapshot_and_window_reads_at_production_size() {
        let (_dir, mut store) = open_temp();
        let skus: Vec<String> = (0..SKUS).map(|i| format!("SKU-{i:06}")).collect();
        let locations: Vec<String> = LOCATIONS.iter().map(|l| (*l).to_owned()).collect();
        let start = Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap();

        for day in 0..28u64 {
            for snap in 0..2usize {
                let rows = rows(day as usize * 2 + snap);
                let taken_at =
                    start + Days::new(day) + chrono::Duration::hours(8 + 6 * snap as i64);
                let input = SnapshotInput {
                    taken_at,
                    day: taken_at.date_naive(),
                    rows: &rows,
                    skus: &skus,
                    locations: &locations,
                };
                let t = Instant::now();
                store.write(|w| w.record_snapshot(&input, 3, 120)).unwrap();
                if day < 2 || day == 27 {
                    eprintln!(
                        "record_snapshot day {day} #{snap} ({} rows): {:?}",
                        rows.len(),
                        t.elapsed()
                    );
                }
            }
        }
        let t = Instant::now();
        let latest = store.latest_availability().unwrap();
        eprintln!(
            "latest_availability ({} rows): {:?}",
            latest.len(),
            t.elapsed()
        );
        let first = start.date_naive();
        let last = first + Days::new(27);
        let t = Instant::now();
        let oos = store.out_of_stock_days(first, last).unwrap();
        eprintln!(
            "out_of_stock_days over 28 days ({} rows): {:?}",
            oos.len(),
            t.elapsed()
        );
        assert!(!oos.is_empty());

        let orders: Vec<Order> = (0..250_000)
            .map(|i: i64| {
                let created = start + chrono::Duration::seconds(i * 9);
                Order {
                    id: format!("gid://shopify/Order/{}", 5_000_000_000i64 + i),
                    name: Some(format!("#{i}")),
                    created_at: created,
                    updated_at: created,
                    cancelled_at: None,
                    test: false,
                    financial_status: "PAID".to_owned(),
                    retail_location_id: None,
                    fulfillment_location_id: Some("gid://shopify/Location/1".to_owned()),
                    lines: (0..4)
                        .map(|j| OrderLine {
                            id: format!("gid://shopify/LineItem/{}", i * 4 + j),
                            sku: Some(format!("SKU-{:06}", (i * 31 + j * 7) % 100_000)),
                            variant_id: None,
                            quantity: 1 + j,
                            current_quantity: 1 + j,
                            is_gift_card: false,
                        })
                        .collect(),
                }
            })
            .collect();
        let t = Instant::now();
        let counts = store.write(|w| w.upsert_orders(&orders)).unwrap();
        eprintln!("upsert_orders (250k orders, 1M lines): {:?}", t.elapsed());
        assert_eq!(counts.inserted, 250_000);
        let t = Instant::now();
        let window = store.sales_between(start, start + Days::new(28)).unwrap();
        eprintln!(
            "sales_between (28 days, {} orders): {:?}",
            window.order_count(),
            t.elapsed()
        );
        assert_eq!(window.order_count(), 250_000);

        drop(window);
        let size = std::fs::metadata(store.path())
            .map(|m| m.len())
            .unwrap_or(0);
        eprintln!("store file: {} MiB (WAL not counted)", size / (1 << 20));
    }
}
