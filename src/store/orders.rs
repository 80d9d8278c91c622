//! Shopify orders: `orders` (one row per order) and `order_lines` (its line items, in order).
//!
//! An order is stored whole: an upsert replaces the header and every line when the incoming
//! `updated_at` is newer than the stored one, and ignores it otherwise. The velocity window is read
//! as compact [`Sales`] by two index scans walked in step.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::codec::{self, Context, Rec};
use super::{StoreError, UpsertCounts};
use crate::core::model::{Order, OrderLine};
use crate::core::sales::{Sales, SalesBuilder};

/// Header columns then line columns; the line columns are NULL for an order without lines.
const SELECT_ORDERS: &str =
    "SELECT o.id, o.name, o.created_at, o.updated_at, o.cancelled_at, o.test,
        o.financial_status, o.retail_location_id, o.fulfillment_location_id,
        l.position, l.id, l.sku, l.variant_id, l.quantity, l.current_quantity, l.is_gift_card
    FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id";

/// An order without lines from the first nine columns of a row: id, name, created_at, updated_at,
/// cancelled_at, test, financial_status, retail_location_id, fulfillment_location_id.
fn read_header(r: &Rec<'_, '_>) -> Result<Order, StoreError> {
    Ok(Order {
        id: r.text(0, "id")?,
        name: r.opt_text(1, "name")?,
        created_at: r.ts(2, "created_at")?,
        updated_at: r.ts(3, "updated_at")?,
        cancelled_at: r.opt_ts(4, "cancelled_at")?,
        test: r.bool(5, "test")?,
        financial_status: r.text(6, "financial_status")?,
        retail_location_id: r.opt_text(7, "retail_location_id")?,
        fulfillment_location_id: r.opt_text(8, "fulfillment_location_id")?,
        lines: Vec::new(),
    })
}

/// Key columns of a joined row, for error messages: order id and line position.
const JOINED_KEY: &[usize] = &[0, 9];

/// Reads joined rows (as [`SELECT_ORDERS`] lays them out, the rows of one order consecutive) into
/// orders, in the order they come. Lines are put in position order (SQLite's primary-key walk
/// already yields them so; the check keeps that from being an assumption).
fn collect_orders(mut rows: rusqlite::Rows<'_>, context: &str) -> Result<Vec<Order>, StoreError> {
    let mut orders: Vec<Order> = Vec::new();
    // Positions of the last order's lines, while it is being read.
    let mut positions: Vec<i64> = Vec::new();
    while let Some(row) = rows.next().ctx(context)? {
        let header = Rec::new(row, "orders", JOINED_KEY);
        let id = header.str(0, "id")?;
        let same = orders.last().is_some_and(|o| o.id == id);
        if !same {
            if let Some(last) = orders.last_mut() {
                put_in_position_order(last, &mut positions);
            }
            orders.push(read_header(&header)?);
        }
        let line = Rec::new(row, "order_lines", JOINED_KEY);
        let Some(position) = line.opt_int(9, "position")? else {
            continue; // LEFT JOIN: an order without lines
        };
        positions.push(position);
        let line = OrderLine {
            id: line.text(10, "id")?,
            sku: line.opt_text(11, "sku")?,
            variant_id: line.opt_text(12, "variant_id")?,
            quantity: line.int(13, "quantity")?,
            current_quantity: line.int(14, "current_quantity")?,
            is_gift_card: line.bool(15, "is_gift_card")?,
        };
        if let Some(order) = orders.last_mut() {
            order.lines.push(line);
        }
    }
    if let Some(last) = orders.last_mut() {
        put_in_position_order(last, &mut positions);
    }
    Ok(orders)
}

/// Sorts `order.lines` by `positions` (one per line) unless already in order; clears `positions`.
fn put_in_position_order(order: &mut Order, positions: &mut Vec<i64>) {
    if !positions.is_sorted() {
        let mut pairs: Vec<(i64, OrderLine)> = positions
            .iter()
            .copied()
            .zip(order.lines.drain(..))
            .collect();
        pairs.sort_by_key(|(p, _)| *p);
        order.lines = pairs.into_iter().map(|(_, l)| l).collect();
    }
    positions.clear();
}

pub(crate) fn order(conn: &Connection, id: &str) -> Result<Option<Order>, StoreError> {
    let context = format!("reading order {id}");
    let mut stmt = conn
        .prepare_cached(&format!(
            "{SELECT_ORDERS} WHERE o.id = ?1 ORDER BY l.position"
        ))
        .ctx(&context)?;
    let rows = stmt.query([id]).ctx(&context)?;
    Ok(collect_orders(rows, &context)?.pop())
}

/// The window's headers, in (created_at, id) order, read straight from the covering index
/// `orders_window` (migration 2): a range scan, no seek per order and no sort.
const WINDOW_HEADERS: &str = "SELECT id, created_at, cancelled_at, test, financial_status, \
     retail_location_id, fulfillment_location_id \
     FROM orders INDEXED BY orders_window \
     WHERE created_at >= ?1 AND created_at < ?2 ORDER BY created_at, id";

/// The window's lines in the same (created_at, order id) order, then by position, from the
/// covering index `order_lines_window` — walked in step with the headers.
const WINDOW_LINES: &str = "SELECT order_id, position, sku, current_quantity, is_gift_card \
     FROM order_lines INDEXED BY order_lines_window \
     WHERE created_at >= ?1 AND created_at < ?2 ORDER BY created_at, order_id, position";

/// The sales planning reads of orders with `from <= created_at < to`, in (created_at, id) order.
///
/// Two statements over the same index range run side by side in one read transaction: each header
/// row is followed by the line rows of the same order, compared in place, so nothing is allocated
/// per order or line beyond the compact [`Sales`] rows (each distinct string is kept once).
pub(crate) fn sales_between(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Sales, StoreError> {
    let context = format!("reading orders created in [{from}, {to})");
    let range = [codec::ts(&from), codec::ts(&to)];
    let tx = conn.unchecked_transaction().ctx(&context)?;
    let mut sales = SalesBuilder::with_capacity(1024, 4096);
    {
        let mut headers_stmt = tx.prepare_cached(WINDOW_HEADERS).ctx(&context)?;
        let mut lines_stmt = tx.prepare_cached(WINDOW_LINES).ctx(&context)?;
        let mut headers = headers_stmt.query([&range[0], &range[1]]).ctx(&context)?;
        let mut lines = lines_stmt.query([&range[0], &range[1]]).ctx(&context)?;
        let mut line = lines.next().ctx(&context)?;
        while let Some(row) = headers.next().ctx(&context)? {
            let h = Rec::new(row, "orders", &[0]);
            let id = h.str(0, "id")?;
            sales.order(
                h.ts(1, "created_at")?,
                h.bool(3, "test")?,
                h.opt_str(2, "cancelled_at")?.is_some(),
                h.str(4, "financial_status")?,
                h.opt_str(6, "fulfillment_location_id")?,
                h.opt_str(5, "retail_location_id")?,
            );
            while let Some(row) = line {
                let l = Rec::new(row, "order_lines", &[0, 1]);
                if l.str(0, "order_id")? != id {
                    break;
                }
                sales.line(
                    l.opt_str(2, "sku")?,
                    l.int(3, "current_quantity")?,
                    l.bool(4, "is_gift_card")?,
                );
                line = lines.next().ctx(&context)?;
            }
        }
        if let Some(row) = line {
            // Lines are matched to headers in (created_at, order id) order; one left over has no
            // header in the window (its created_at differs from its order's).
            return Err(Rec::new(row, "order_lines", &[0, 1]).corrupt(
                "created_at",
                "a line whose order is not in the window with the same created_at",
            ));
        }
    }
    tx.finish().ctx(&context)?;
    Ok(sales.finish())
}

/// Whole orders with `from <= created_at < to`, lines included, in (created_at, id) order: for
/// the nightly audit, which needs order names and ids (planning reads [`sales_between`]).
pub(crate) fn orders_between(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Order>, StoreError> {
    let context = format!("reading whole orders created in [{from}, {to})");
    let mut stmt = conn
        .prepare_cached(&format!(
            "{SELECT_ORDERS} WHERE o.created_at >= ?1 AND o.created_at < ?2
             ORDER BY o.created_at, o.id, l.position"
        ))
        .ctx(&context)?;
    let rows = stmt
        .query([codec::ts(&from), codec::ts(&to)])
        .ctx(&context)?;
    collect_orders(rows, &context)
}

/// Orders with `from <= created_at < to` that have a line of one of `variant_ids`, holding only
/// those lines, in (created_at, id) order (the SKU audit's units per blank-SKU variant).
pub(crate) fn orders_with_variants_between(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    variant_ids: &[String],
) -> Result<Vec<Order>, StoreError> {
    if variant_ids.is_empty() {
        return Ok(Vec::new());
    }
    let context = format!(
        "reading the lines of {} variants in orders created in [{from}, {to})",
        variant_ids.len()
    );
    // The ids travel as one JSON array parameter, whatever their number.
    let ids = serde_json::to_string(variant_ids).map_err(|e| StoreError::Corrupt {
        context: context.clone(),
        message: e.to_string(),
    })?;
    let mut stmt = conn
        .prepare_cached(&format!(
            "{SELECT_ORDERS} WHERE o.created_at >= ?1 AND o.created_at < ?2 \
             AND l.variant_id IN (SELECT value FROM json_each(?3)) \
             ORDER BY o.created_at, o.id, l.position"
        ))
        .ctx(&context)?;
    let rows = stmt
        .query(params![codec::ts(&from), codec::ts(&to), ids])
        .ctx(&context)?;
    collect_orders(rows, &context)
}

/// The stored orders among `ids`, lines included, in id order (the audit's re-pull compares a
/// batch of fetched orders with these). The ids travel as one JSON array parameter.
pub(crate) fn orders_by_ids(conn: &Connection, ids: &[&str]) -> Result<Vec<Order>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let context = format!("reading {} orders by id", ids.len());
    let json = serde_json::to_string(ids).map_err(|e| StoreError::Corrupt {
        context: context.clone(),
        message: e.to_string(),
    })?;
    let mut stmt = conn
        .prepare_cached(&format!(
            "{SELECT_ORDERS} WHERE o.id IN (SELECT value FROM json_each(?1)) \
             ORDER BY o.id, l.position"
        ))
        .ctx(&context)?;
    let rows = stmt.query([json]).ctx(&context)?;
    collect_orders(rows, &context)
}

pub(crate) fn order_count(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn
        .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
        .ctx("counting orders")?;
    u64::try_from(n).map_err(|_| StoreError::Corrupt {
        context: "counting orders".to_owned(),
        message: format!("negative count {n}"),
    })
}

/// The earliest `created_at` of the stored orders (None when there are none).
pub(crate) fn first_created_at(conn: &Connection) -> Result<Option<DateTime<Utc>>, StoreError> {
    let context = "reading the first stored order's created_at";
    let first: Option<String> = conn
        .query_row("SELECT min(created_at) FROM orders", [], |r| r.get(0))
        .ctx(context)?;
    first
        .map(|s| {
            codec::parse_ts(&s).map_err(|message| StoreError::Corrupt {
                context: format!("{context}: orders.created_at"),
                message,
            })
        })
        .transpose()
}

pub(crate) fn upsert_orders(
    conn: &Connection,
    orders: &[Order],
) -> Result<UpsertCounts, StoreError> {
    let mut counts = UpsertCounts::default();
    let mut find = conn
        .prepare_cached("SELECT updated_at FROM orders WHERE id = ?1")
        .ctx("preparing the order lookup")?;
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO orders (id, name, created_at, updated_at, cancelled_at, test,
                financial_status, retail_location_id, fulfillment_location_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .ctx("preparing the order insert")?;
    let mut update = conn
        .prepare_cached(
            "UPDATE orders SET name = ?2, created_at = ?3, updated_at = ?4, cancelled_at = ?5,
                test = ?6, financial_status = ?7, retail_location_id = ?8,
                fulfillment_location_id = ?9
             WHERE id = ?1",
        )
        .ctx("preparing the order update")?;
    let mut delete_lines = conn
        .prepare_cached("DELETE FROM order_lines WHERE order_id = ?1")
        .ctx("preparing the order line delete")?;
    let mut insert_line = conn
        .prepare_cached(
            "INSERT INTO order_lines (order_id, position, id, sku, variant_id, quantity,
                current_quantity, is_gift_card, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .ctx("preparing the order line insert")?;

    for order in orders {
        let context = || format!("storing order {}", order.id);
        let stored: Option<String> = find
            .query_row([&order.id], |r| r.get(0))
            .optional()
            .with_ctx(context)?;
        let exists = match stored {
            None => false,
            Some(text) => {
                let stored_at = codec::parse_ts(&text).map_err(|message| StoreError::Corrupt {
                    context: format!("reading orders.updated_at of row ({:?})", order.id),
                    message,
                })?;
                if order.updated_at <= stored_at {
                    counts.ignored += 1;
                    continue;
                }
                true
            }
        };
        let header = params![
            order.id,
            order.name,
            codec::ts(&order.created_at),
            codec::ts(&order.updated_at),
            codec::opt_ts(order.cancelled_at.as_ref()),
            order.test,
            order.financial_status,
            order.retail_location_id,
            order.fulfillment_location_id,
        ];
        if exists {
            update.execute(header).with_ctx(context)?;
            delete_lines.execute([&order.id]).with_ctx(context)?;
            counts.updated += 1;
        } else {
            insert.execute(header).with_ctx(context)?;
            counts.inserted += 1;
        }
        let created_at = codec::ts(&order.created_at);
        for (position, line) in order.lines.iter().enumerate() {
            insert_line
                .execute(params![
                    order.id,
                    position as i64,
                    line.id,
                    line.sku,
                    line.variant_id,
                    line.quantity,
                    line.current_quantity,
                    line.is_gift_card,
                    created_at,
                ])
                .with_ctx(|| format!("storing line {} of order {}", line.id, order.id))?;
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{open_temp, utc};
    use super::*;

    fn line(id: &str, sku: &str, qty: i64) -> OrderLine {
        OrderLine {
            id: id.to_owned(),
            sku: Some(sku.to_owned()),
            variant_id: Some(format!("gid://shopify/ProductVariant/{id}")),
            quantity: qty,
            current_quantity: qty,
            is_gift_card: false,
        }
    }

    fn order(id: &str, created: &str, updated: &str, lines: Vec<OrderLine>) -> Order {
        Order {
            id: id.to_owned(),
            name: Some(format!("#{id}")),
            created_at: utc(created),
            updated_at: utc(updated),
            cancelled_at: None,
            test: false,
            financial_status: "PAID".to_owned(),
            retail_location_id: None,
            fulfillment_location_id: Some("gid://shopify/Location/1".to_owned()),
            lines,
        }
    }

    #[test]
    fn upsert_keeps_the_newest_updated_at() {
        let (_dir, mut store) = open_temp();
        let v1 = order(
            "A",
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00Z",
            vec![line("1", "RED", 2), line("2", "BLUE", 1)],
        );
        let counts = store
            .write(|w| w.upsert_orders(std::slice::from_ref(&v1)))
            .unwrap();
        assert_eq!(
            counts,
            UpsertCounts {
                inserted: 1,
                updated: 0,
                ignored: 0
            }
        );

        // Newer: header and lines replaced (two lines become one, quantity refunded to 0).
        let mut v2 = order(
            "A",
            "2024-05-01T10:00:00Z",
            "2024-05-02T08:00:00Z",
            vec![line("1", "RED", 2)],
        );
        v2.lines[0].current_quantity = 0;
        v2.financial_status = "REFUNDED".to_owned();
        // Older than v2 (but newer than v1) and equal to v2: both ignored.
        let stale = order("A", "2024-05-01T10:00:00Z", "2024-05-01T12:00:00Z", vec![]);
        let mut same = v2.clone();
        same.financial_status = "PAID".to_owned();
        let counts = store
            .write(|w| w.upsert_orders(&[v2.clone(), stale, same]))
            .unwrap();
        assert_eq!(
            counts,
            UpsertCounts {
                inserted: 0,
                updated: 1,
                ignored: 2
            }
        );

        let stored = store.order("A").unwrap().unwrap();
        assert_eq!(stored, v2);
        assert_eq!(stored.lines.len(), 1);
        assert_eq!(stored.financial_status, "REFUNDED");
        assert_eq!(store.order_count().unwrap(), 1);
        assert_eq!(store.order("missing").unwrap(), None);
    }

    #[test]
    fn orders_by_ids_returns_the_known_ones_whole_in_id_order() {
        let (_dir, mut store) = open_temp();
        let a = order(
            "A",
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00Z",
            vec![line("1", "RED", 2), line("2", "BLUE", 1)],
        );
        let b = order("B", "2024-04-01T10:00:00Z", "2024-04-01T10:00:00Z", vec![]);
        store
            .write(|w| w.upsert_orders(&[b.clone(), a.clone()]))
            .unwrap();
        assert_eq!(
            store.orders_by_ids(&["B", "missing", "A"]).unwrap(),
            vec![a, b]
        );
        assert_eq!(store.orders_by_ids(&[]).unwrap(), vec![]);
    }

    #[test]
    fn orders_with_variants_hold_only_those_lines_in_the_range() {
        let (_dir, mut store) = open_temp();
        let mut blank = line("7", "", 2);
        blank.sku = None;
        let orders = [
            order(
                "A",
                "2024-05-01T10:00:00Z",
                "2024-05-01T10:00:00Z",
                vec![line("1", "RED", 2), blank.clone(), line("8", "X", 1)],
            ),
            order(
                "B",
                "2024-04-01T10:00:00Z",
                "2024-04-01T10:00:00Z",
                vec![blank.clone()],
            ),
            order(
                "C",
                "2024-05-02T10:00:00Z",
                "2024-05-02T10:00:00Z",
                vec![line("1", "RED", 1)],
            ),
        ];
        store.write(|w| w.upsert_orders(&orders)).unwrap();
        let ids = [
            "gid://shopify/ProductVariant/7".to_string(),
            "gid://shopify/ProductVariant/8".to_string(),
        ];
        let got = store
            .orders_with_variants_between(
                utc("2024-04-15T00:00:00Z"),
                utc("2024-06-01T00:00:00Z"),
                &ids,
            )
            .unwrap();
        // B is before the range, C has none of the variants; A keeps only lines 7 and 8.
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, "A");
        let lines: Vec<(&str, Option<&str>)> = got[0]
            .lines
            .iter()
            .map(|l| (l.id.as_str(), l.sku.as_deref()))
            .collect();
        assert_eq!(lines, vec![("7", None), ("8", Some("X"))]);
        assert!(
            store
                .orders_with_variants_between(
                    utc("2024-01-01T00:00:00Z"),
                    utc("2025-01-01T00:00:00Z"),
                    &[]
                )
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn older_payload_first_then_newer_replaces() {
        let (_dir, mut store) = open_temp();
        let old = order(
            "B",
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00Z",
            vec![line("1", "X", 1)],
        );
        let new = order(
            "B",
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00.5Z",
            vec![line("1", "X", 3), line("2", "Y", 4)],
        );
        // One batch holding both, old first: the newer one wins (half a second newer is enough).
        let counts = store
            .write(|w| w.upsert_orders(&[old, new.clone()]))
            .unwrap();
        assert_eq!(
            counts,
            UpsertCounts {
                inserted: 1,
                updated: 1,
                ignored: 0
            }
        );
        assert_eq!(store.order("B").unwrap().unwrap(), new);
    }

    #[test]
    fn the_window_is_from_inclusive_to_exclusive_in_created_at_order() {
        let (_dir, mut store) = open_temp();
        let orders = vec![
            order(
                "D",
                "2024-05-02T00:00:00Z",
                "2024-05-02T00:00:00Z",
                vec![line("1", "A", 1)],
            ),
            order(
                "C",
                "2024-05-01T00:00:00Z",
                "2024-05-01T00:00:00Z",
                vec![line("1", "A", 1)],
            ),
            // One nanosecond before `to`: inside.
            order(
                "B",
                "2024-05-02T23:59:59.999999999Z",
                "2024-05-03T00:00:00Z",
                // Twelve lines: position 10 must come after 9 (not text order).
                (1..=12).map(|i| line(&i.to_string(), "A", i)).collect(),
            ),
            order(
                "A",
                "2024-05-03T00:00:00Z",
                "2024-05-03T00:00:00Z",
                vec![line("1", "A", 1)],
            ),
            order("E", "2024-04-30T23:59:59Z", "2024-05-01T00:00:00Z", vec![]),
            order("F", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z", vec![]),
        ];
        store.write(|w| w.upsert_orders(&orders)).unwrap();
        let got = store
            .sales_between(utc("2024-05-01T00:00:00Z"), utc("2024-05-03T00:00:00Z"))
            .unwrap();
        // C at `from` is in; A at `to` and E before `from` are out; F has no lines but counts.
        // In created_at order: C, F, D, B — and B's twelve lines in position order.
        let expected = [&orders[1], &orders[5], &orders[0], &orders[2]].map(Order::clone);
        assert_eq!(got, Sales::from_orders(&expected));
        let quantities: Vec<i64> = got
            .orders()
            .last()
            .map(|(_, ls)| ls.iter().map(|l| l.current_quantity).collect())
            .unwrap_or_default();
        assert_eq!(quantities, (1..=12).collect::<Vec<i64>>());
    }

    #[test]
    fn a_corrupt_timestamp_is_reported_with_table_column_and_row() {
        let (_dir, mut store) = open_temp();
        let o = order(
            "G",
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00Z",
            vec![line("1", "A", 1)],
        );
        store.write(|w| w.upsert_orders(&[o])).unwrap();
        store
            .conn
            .execute(
                "UPDATE orders SET created_at = 'yesterday' WHERE id = 'G'",
                [],
            )
            .unwrap();
        let err = store.order("G").unwrap_err().to_string();
        assert!(err.contains("orders.created_at"), "{err}");
        assert!(err.contains("\"G\""), "{err}");
        assert!(err.contains("yesterday"), "{err}");
        // The upsert path reads updated_at back: corrupt that and it must not panic either.
        store
            .conn
            .execute("UPDATE orders SET updated_at = 'never' WHERE id = 'G'", [])
            .unwrap();
        let again = order("G", "2024-05-01T10:00:00Z", "2024-05-02T10:00:00Z", vec![]);
        let err = store
            .write(|w| w.upsert_orders(&[again]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("orders.updated_at"), "{err}");
    }

    #[test]
    fn migration_2_copies_created_at_onto_existing_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            // A store as version 1 left it, with one order of two lines.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(super::super::migrations::MIGRATIONS[0])
                .unwrap();
            conn.execute_batch(
                "INSERT INTO orders VALUES ('O1', '#1', '2024-05-01T10:00:00.000000000Z',
                    '2024-05-01T10:00:00.000000000Z', NULL, 0, 'PAID', NULL, NULL);
                 INSERT INTO order_lines VALUES ('O1', 0, 'L1', 'A', NULL, 2, 2, 0);
                 INSERT INTO order_lines VALUES ('O1', 1, 'L2', 'B', NULL, 1, 0, 0);
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let store = super::super::Store::open(&path).unwrap();
        let got = store
            .sales_between(utc("2024-05-01T00:00:00Z"), utc("2024-05-02T00:00:00Z"))
            .unwrap();
        assert_eq!(got.order_count(), 1);
        let lines: Vec<(&str, i64)> = got
            .orders()
            .flat_map(|(_, ls)| ls.iter())
            .map(|l| (l.sku.map(|i| got.sku(i)).unwrap_or("-"), l.current_quantity))
            .collect();
        assert_eq!(
            lines,
            [("A", 2), ("B", 0)],
            "both old lines found through the new window index"
        );
    }

    #[test]
    fn window_queries_scan_covering_indexes_without_sorting() {
        let (_dir, store) = open_temp();
        for (sql, index) in [
            (WINDOW_HEADERS, "COVERING INDEX orders_window"),
            (WINDOW_LINES, "COVERING INDEX order_lines_window"),
        ] {
            let mut stmt = store
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let plan: Vec<String> = stmt
                .query_map(["a", "b"], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let plan = plan.join("\n");
            assert!(plan.contains(index), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }
}
