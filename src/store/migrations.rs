//! The schema, as an ordered list of SQL batches keyed on `PRAGMA user_version`.
//!
//! Migration N (1-based) runs in its own IMMEDIATE transaction and sets `user_version = N`, so a
//! crash leaves the store at the last complete version and two processes opening a fresh store at
//! once cannot both apply the same step. Never edit a released migration: append a new one.
//!
//! Column encodings are described in `codec.rs`.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;
use super::codec::Context;

/// Every migration, in order. `MIGRATIONS[i]` brings the schema to version `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: orders, catalog, purchases, availability and snapshots, state, runs.
    r#"
    CREATE TABLE orders (
        id                      TEXT PRIMARY KEY NOT NULL,  -- gid://shopify/Order/…
        name                    TEXT,
        created_at              TEXT NOT NULL,              -- RFC 3339 UTC, fixed precision
        updated_at              TEXT NOT NULL,
        cancelled_at            TEXT,
        test                    INTEGER NOT NULL,
        financial_status        TEXT NOT NULL,
        retail_location_id      TEXT,
        fulfillment_location_id TEXT
    ) WITHOUT ROWID;
    CREATE INDEX orders_by_created_at ON orders (created_at);

    CREATE TABLE order_lines (
        order_id         TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
        position         INTEGER NOT NULL,
        id               TEXT NOT NULL,
        sku              TEXT,
        variant_id       TEXT,
        quantity         INTEGER NOT NULL,
        current_quantity INTEGER NOT NULL,
        is_gift_card     INTEGER NOT NULL,
        PRIMARY KEY (order_id, position)
    ) WITHOUT ROWID;

    CREATE TABLE locations (
        id         TEXT PRIMARY KEY NOT NULL,
        name       TEXT NOT NULL,
        is_default INTEGER NOT NULL,
        deprecated INTEGER NOT NULL,
        parent_id  TEXT
    );

    CREATE TABLE products (
        id                     TEXT PRIMARY KEY NOT NULL,
        sku                    TEXT NOT NULL,
        name                   TEXT NOT NULL,
        product_type           TEXT NOT NULL,
        status                 TEXT NOT NULL,
        uom                    TEXT,
        carton_quantity        REAL NOT NULL,
        minimum_before_reorder REAL NOT NULL,
        reorder_quantity       REAL NOT NULL,
        purchase_tax_rule      TEXT
    );
    CREATE INDEX products_by_sku ON products (sku);

    -- A product's suppliers in the product's own order (the first one is the default supplier).
    CREATE TABLE product_suppliers (
        product_id            TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
        position              INTEGER NOT NULL,
        supplier_id           TEXT NOT NULL,
        supplier_name         TEXT NOT NULL,
        supplier_sku          TEXT,
        supplier_product_name TEXT,
        cost                  TEXT NOT NULL,  -- exact Decimal
        currency              TEXT,
        PRIMARY KEY (product_id, position)
    ) WITHOUT ROWID;

    CREATE TABLE product_supplier_options (
        product_id         TEXT NOT NULL,
        supplier_position  INTEGER NOT NULL,
        position           INTEGER NOT NULL,
        location_id        TEXT,
        location_name      TEXT,
        lead               REAL NOT NULL,
        safety             REAL NOT NULL,
        minimum_to_reorder REAL NOT NULL,
        reorder_quantity   REAL NOT NULL,
        PRIMARY KEY (product_id, supplier_position, position),
        FOREIGN KEY (product_id, supplier_position)
            REFERENCES product_suppliers (product_id, position) ON DELETE CASCADE
    ) WITHOUT ROWID;

    CREATE TABLE product_reorder_levels (
        product_id             TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
        position               INTEGER NOT NULL,
        location_id            TEXT,
        location_name          TEXT,
        minimum_before_reorder REAL NOT NULL,
        reorder_quantity       REAL NOT NULL,
        PRIMARY KEY (product_id, position)
    ) WITHOUT ROWID;

    CREATE TABLE suppliers (
        id             TEXT PRIMARY KEY NOT NULL,
        name           TEXT NOT NULL,
        currency       TEXT,
        payment_term   TEXT,
        tax_rule       TEXT,
        status         TEXT,
        addresses_json TEXT NOT NULL  -- JSON array of core::model::Address
    );

    -- Purchase headers from purchaseList; detail_* and the lines only once the detail was fetched.
    CREATE TABLE purchases (
        id                  TEXT PRIMARY KEY NOT NULL,
        order_number        TEXT NOT NULL,
        status              TEXT NOT NULL,
        order_status        TEXT,
        supplier_id         TEXT,
        supplier            TEXT,
        required_by         TEXT,     -- YYYY-MM-DD
        last_updated        TEXT,     -- naive date-time, fixed precision
        has_detail          INTEGER NOT NULL,
        detail_location     TEXT,
        detail_note         TEXT,
        detail_order_status TEXT
    );

    CREATE TABLE purchase_lines (
        purchase_id  TEXT NOT NULL REFERENCES purchases (id) ON DELETE CASCADE,
        position     INTEGER NOT NULL,
        product_id   TEXT,
        sku          TEXT NOT NULL,
        name         TEXT,
        quantity     REAL NOT NULL,
        price        TEXT NOT NULL,
        total        TEXT NOT NULL,
        supplier_sku TEXT,
        PRIMARY KEY (purchase_id, position)
    ) WITHOUT ROWID;

    -- Current availability: the last full snapshot's rows, as Cin7 sent them (bins and batches).
    CREATE TABLE availability_latest (
        product_id TEXT NOT NULL,
        sku        TEXT NOT NULL,
        location   TEXT NOT NULL,
        bin        TEXT,
        batch      TEXT,
        on_hand    REAL NOT NULL,
        allocated  REAL NOT NULL,
        available  REAL NOT NULL,
        on_order   REAL NOT NULL,
        in_transit REAL NOT NULL
    );
    CREATE INDEX availability_latest_by_key ON availability_latest (sku, location, bin, batch);

    -- Every full snapshot until retention; rows_kept = 1 while snapshot_rows holds its rows.
    CREATE TABLE snapshots (
        id        INTEGER PRIMARY KEY,
        taken_at  TEXT NOT NULL,
        day       TEXT NOT NULL,   -- shop-timezone date of taken_at
        row_count INTEGER NOT NULL,
        rows_kept INTEGER NOT NULL
    );
    CREATE INDEX snapshots_by_taken_at ON snapshots (taken_at);
    CREATE INDEX snapshots_by_day ON snapshots (day);

    -- Rows of the newest few snapshots, summed per (SKU, location) over bins and batches.
    CREATE TABLE snapshot_rows (
        snapshot_id INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
        sku         TEXT NOT NULL,
        location    TEXT NOT NULL,
        product_id  TEXT NOT NULL,
        on_hand     REAL NOT NULL,
        allocated   REAL NOT NULL,
        available   REAL NOT NULL,
        on_order    REAL NOT NULL,
        in_transit  REAL NOT NULL,
        PRIMARY KEY (snapshot_id, sku, location)
    ) WITHOUT ROWID;

    -- Days on which at least one full snapshot was taken, with how many.
    CREATE TABLE snapshot_days (
        day   TEXT PRIMARY KEY NOT NULL,
        count INTEGER NOT NULL
    ) WITHOUT ROWID;

    -- (SKU, Cin7 location) pairs that every snapshot of the day showed with Available <= 0.
    CREATE TABLE stockout_days (
        day      TEXT NOT NULL,
        sku      TEXT NOT NULL,
        location TEXT NOT NULL,
        PRIMARY KEY (day, sku, location)
    ) WITHOUT ROWID;

    CREATE TABLE state (
        key   TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE runs (
        id           INTEGER PRIMARY KEY,
        command      TEXT NOT NULL,
        started_at   TEXT NOT NULL,
        ended_at     TEXT,
        outcome      TEXT NOT NULL,
        error        TEXT,
        summary_json TEXT
    );
    CREATE INDEX runs_by_started_at ON runs (started_at);

    CREATE TABLE run_requests (
        run_id    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        endpoint  TEXT NOT NULL,
        requests  INTEGER NOT NULL,
        throttled INTEGER NOT NULL,
        retries   INTEGER NOT NULL,
        PRIMARY KEY (run_id, endpoint)
    ) WITHOUT ROWID;
    "#,
    // 2: reading a plan's window without seeks. The window query walks orders and their lines in
    // (created_at, id) order; with the lines' created_at copied onto them, both walks are plain
    // range scans of covering indexes instead of one B-tree seek per order into each table
    // (measured: 3.0 s of page reads for 1M lines before).
    r#"
    CREATE INDEX orders_window ON orders (
        created_at, id, name, updated_at, cancelled_at, test, financial_status,
        retail_location_id, fulfillment_location_id
    );
    DROP INDEX orders_by_created_at;
    ALTER TABLE order_lines ADD COLUMN created_at TEXT;
    UPDATE order_lines
       SET created_at = (SELECT o.created_at FROM orders o WHERE o.id = order_lines.order_id);
    CREATE INDEX order_lines_window ON order_lines (
        created_at, order_id, position, id, sku, variant_id, quantity, current_quantity,
        is_gift_card
    );
    "#,
    // 3: the draft ledger (exactly-once PO creation) and the alert outbox.
    r#"
    -- One row per draft purchase the tool meant to create. The row is written (state 'intent')
    -- before `POST purchase`, so a crash or a lost answer leaves a trace the next run resolves by
    -- finding the purchase whose Note carries `replenish:<intent_id>`.
    --   intent   -> POST purchase not known to have succeeded; purchase_id NULL
    --   created  -> header exists in Cin7 (purchase_id, order_number); lines not known written
    --   done     -> lines written; `lines_json` is exactly what the tool last wrote
    --   updating -> a re-POST of the lines was started; `pending_lines_json` is what it sent
    --   closed   -> no longer the tool's (approved, voided, edited by a person, rejected, gone)
    CREATE TABLE draft_ledger (
        intent_id          TEXT PRIMARY KEY NOT NULL,
        supplier_id        TEXT NOT NULL,
        supplier           TEXT NOT NULL,
        location           TEXT NOT NULL,      -- the key location (Cin7 name)
        state              TEXT NOT NULL,
        purchase_id        TEXT,
        order_number       TEXT,
        lines_json         TEXT NOT NULL,      -- [{sku, quantity, price}] last written ([] before)
        pending_lines_json TEXT,
        created_at         TEXT NOT NULL,      -- when the intent was written
        updated_at         TEXT NOT NULL,
        closed_reason      TEXT,
        run_id             INTEGER             -- the run that last touched the row
    );
    -- At most one open tool draft per (supplier, location), enforced by the store itself.
    CREATE UNIQUE INDEX draft_ledger_open ON draft_ledger (supplier_id, location)
        WHERE state <> 'closed';
    CREATE UNIQUE INDEX draft_ledger_purchase ON draft_ledger (purchase_id)
        WHERE purchase_id IS NOT NULL;

    -- Alerts for people, written in the same transaction as the run outcome, then delivered.
    -- `group_key` identifies "the same alert" (kind, supplier, SKU, location, reason): raising an
    -- alert whose key is still undelivered bumps `occurrences` instead of adding a row.
    -- Per channel: 'pending' (to send), 'sent', or 'off' (channel not configured when raised).
    CREATE TABLE alerts (
        id              INTEGER PRIMARY KEY,
        group_key       TEXT NOT NULL,
        kind            TEXT NOT NULL,
        sku             TEXT,
        supplier        TEXT,
        location        TEXT,
        message         TEXT NOT NULL,
        first_raised_at TEXT NOT NULL,
        last_raised_at  TEXT NOT NULL,
        occurrences     INTEGER NOT NULL,
        run_id          INTEGER,
        slack           TEXT NOT NULL,
        email           TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        delivered_at    TEXT
    );
    CREATE INDEX alerts_by_key ON alerts (group_key, last_raised_at);
    CREATE INDEX alerts_pending ON alerts (id) WHERE slack = 'pending' OR email = 'pending';
    "#,
    // 4: Shopify webhook deliveries accepted by `listen`, kept until processed (and after, for
    // dedupe): a restart loses nothing, and a delivery seen twice is processed once.
    r#"
    CREATE TABLE webhook_events (
        event_id     TEXT PRIMARY KEY NOT NULL,  -- X-Shopify-Event-Id (else X-Shopify-Webhook-Id)
        topic        TEXT NOT NULL,
        received_at  TEXT NOT NULL,
        body         BLOB NOT NULL,              -- the raw, verified body
        state        TEXT NOT NULL,              -- pending, done, failed, malformed
        error        TEXT,
        processed_at TEXT
    ) WITHOUT ROWID;
    CREATE INDEX webhook_events_pending ON webhook_events (received_at) WHERE state = 'pending';
    "#,
    // 5: the product's selling price (Cin7 PriceTier1), for the backtest's lost revenue.
    r#"
    ALTER TABLE products ADD COLUMN price TEXT;  -- exact decimal text; NULL when unknown
    "#,
];

/// The schema version this build knows.
pub(crate) fn known_version() -> i64 {
    MIGRATIONS.len() as i64
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Brings the store to [`known_version`], or fails with [`StoreError::TooNew`].
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let known = known_version();
    let too_new = |found| StoreError::TooNew {
        path: path.to_owned(),
        found,
        known,
    };
    let found = user_version(conn).ctx("reading the schema version")?;
    if found > known {
        return Err(too_new(found));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        if version <= found {
            continue;
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .with_ctx(|| format!("starting migration {version}"))?;
        // Another process may have migrated between our first look and taking the write lock.
        let current = user_version(&tx).ctx("reading the schema version")?;
        if current > known {
            return Err(too_new(current));
        }
        if current >= version {
            continue;
        }
        tx.execute_batch(sql)
            .with_ctx(|| format!("applying migration {version}"))?;
        tx.pragma_update(None, "user_version", version)
            .with_ctx(|| format!("setting schema version {version}"))?;
        tx.commit()
            .with_ctx(|| format!("committing migration {version}"))?;
    }
    Ok(())
}
