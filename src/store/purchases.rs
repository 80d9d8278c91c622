//! Cin7 purchases: `purchases` (the `purchaseList` header, plus the detail fields once fetched) and
//! `purchase_lines` (the detail's order lines).
//!
//! The detail of a purchase is only trusted for the version it was fetched for: an upsert without
//! detail keeps the stored detail only while `last_updated` is unchanged.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::codec::{self, Context, Rec};
use super::{PurchaseVersion, StoreError};
use crate::core::model::{Purchase, PurchaseDetail, PurchaseLine};

pub(crate) fn upsert_purchases(
    conn: &Connection,
    purchases: &[Purchase],
) -> Result<(), StoreError> {
    let mut find = conn
        .prepare_cached("SELECT last_updated, has_detail FROM purchases WHERE id = ?1")
        .ctx("preparing the purchase lookup")?;
    // Upserts the header and leaves the detail columns as they are.
    let mut upsert = conn
        .prepare_cached(
            "INSERT INTO purchases (id, order_number, status, order_status, supplier_id, supplier,
                required_by, last_updated, has_detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0)
             ON CONFLICT (id) DO UPDATE SET
                order_number = excluded.order_number, status = excluded.status,
                order_status = excluded.order_status, supplier_id = excluded.supplier_id,
                supplier = excluded.supplier, required_by = excluded.required_by,
                last_updated = excluded.last_updated",
        )
        .ctx("preparing the purchase upsert")?;
    let mut set_detail = conn
        .prepare_cached(
            "UPDATE purchases SET has_detail = ?2, detail_location = ?3, detail_note = ?4,
                detail_order_status = ?5
             WHERE id = ?1",
        )
        .ctx("preparing the purchase detail update")?;
    let mut delete_lines = conn
        .prepare_cached("DELETE FROM purchase_lines WHERE purchase_id = ?1")
        .ctx("preparing the purchase line delete")?;
    let mut insert_line = conn
        .prepare_cached(
            "INSERT INTO purchase_lines (purchase_id, position, product_id, sku, name, quantity,
                price, total, supplier_sku)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .ctx("preparing the purchase line insert")?;

    for p in purchases {
        let context = || format!("storing purchase {} ({})", p.id, p.order_number);
        let stored: Option<(Option<String>, i64)> = find
            .query_row([&p.id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .with_ctx(context)?;
        upsert
            .execute(params![
                p.id,
                p.order_number,
                p.status,
                p.order_status,
                p.supplier_id,
                p.supplier,
                codec::opt_date(p.required_by.as_ref()),
                codec::opt_naive_dt(p.last_updated.as_ref()),
            ])
            .with_ctx(context)?;

        match &p.detail {
            Some(detail) => {
                set_detail
                    .execute(params![
                        p.id,
                        true,
                        detail.location,
                        detail.note,
                        detail.order_status
                    ])
                    .with_ctx(context)?;
                delete_lines.execute([&p.id]).with_ctx(context)?;
                for (position, l) in detail.lines.iter().enumerate() {
                    insert_line
                        .execute(params![
                            p.id,
                            position as i64,
                            l.product_id,
                            l.sku,
                            l.name,
                            l.quantity,
                            l.price.to_string(),
                            l.total.to_string(),
                            l.supplier_sku,
                        ])
                        .with_ctx(|| {
                            format!("storing line {position} ({}) of purchase {}", l.sku, p.id)
                        })?;
                }
            }
            None => {
                let keep = match stored {
                    None | Some((_, 0)) => false,
                    Some((stored_text, _)) => {
                        let stored_at = stored_text
                            .as_deref()
                            .map(codec::parse_naive_dt)
                            .transpose()
                            .map_err(|message| StoreError::Corrupt {
                                context: format!(
                                    "reading purchases.last_updated of row ({:?})",
                                    p.id
                                ),
                                message,
                            })?;
                        stored_at == p.last_updated
                    }
                };
                if !keep {
                    let none: Option<&str> = None;
                    set_detail
                        .execute(params![p.id, false, none, none, none])
                        .with_ctx(context)?;
                    delete_lines.execute([&p.id]).with_ctx(context)?;
                }
            }
        }
    }
    Ok(())
}

/// Every purchase sorted by id, with its detail (lines in stored order) when stored.
/// Forgets a purchase Cin7 no longer has (its lines go with it).
pub(crate) fn delete_purchase(conn: &Connection, id: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM purchases WHERE id = ?1")
        .and_then(|mut s| s.execute([id]))
        .with_ctx(|| format!("deleting purchase {id}"))?;
    Ok(())
}

pub(crate) fn purchases(conn: &Connection) -> Result<Vec<Purchase>, StoreError> {
    let context = "reading purchases";
    let tx = conn.unchecked_transaction().ctx(context)?;
    let mut out: Vec<Purchase> = Vec::new();
    {
        let mut stmt = tx
            .prepare_cached(
                "SELECT id, order_number, status, order_status, supplier_id, supplier, required_by,
                    last_updated, has_detail, detail_location, detail_note, detail_order_status
                 FROM purchases ORDER BY id",
            )
            .ctx(context)?;
        let mut rows = stmt.query([]).ctx(context)?;
        while let Some(row) = rows.next().ctx(context)? {
            let r = Rec::new(row, "purchases", &[0]);
            let detail = if r.bool(8, "has_detail")? {
                Some(PurchaseDetail {
                    location: r.opt_text(9, "detail_location")?,
                    note: r.opt_text(10, "detail_note")?,
                    order_status: r.opt_text(11, "detail_order_status")?,
                    lines: Vec::new(),
                })
            } else {
                None
            };
            out.push(Purchase {
                id: r.text(0, "id")?,
                order_number: r.text(1, "order_number")?,
                status: r.text(2, "status")?,
                order_status: r.opt_text(3, "order_status")?,
                supplier_id: r.opt_text(4, "supplier_id")?,
                supplier: r.opt_text(5, "supplier")?,
                required_by: r.opt_date(6, "required_by")?,
                last_updated: r.opt_naive_dt(7, "last_updated")?,
                detail,
            });
        }
    }
    let index: HashMap<String, usize> = out
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.clone(), i))
        .collect();
    {
        let context = "reading purchase lines";
        let mut stmt = tx
            .prepare_cached(
                "SELECT purchase_id, position, product_id, sku, name, quantity, price, total,
                    supplier_sku
                 FROM purchase_lines ORDER BY purchase_id, position",
            )
            .ctx(context)?;
        let mut rows = stmt.query([]).ctx(context)?;
        while let Some(row) = rows.next().ctx(context)? {
            let r = Rec::new(row, "purchase_lines", &[0, 1]);
            let purchase_id = r.str(0, "purchase_id")?;
            let detail = index
                .get(purchase_id)
                .and_then(|&i| out[i].detail.as_mut())
                .ok_or_else(|| {
                    r.corrupt("purchase_id", "line of a purchase without stored detail")
                })?;
            detail.lines.push(PurchaseLine {
                product_id: r.opt_text(2, "product_id")?,
                sku: r.text(3, "sku")?,
                name: r.opt_text(4, "name")?,
                quantity: r.real(5, "quantity")?,
                price: r.decimal(6, "price")?,
                total: r.decimal(7, "total")?,
                supplier_sku: r.opt_text(8, "supplier_sku")?,
            });
        }
    }
    tx.finish().ctx(context)?;
    Ok(out)
}

pub(crate) fn purchase_versions(
    conn: &Connection,
) -> Result<HashMap<String, PurchaseVersion>, StoreError> {
    let context = "reading purchase versions";
    let mut stmt = conn
        .prepare_cached("SELECT id, status, last_updated, has_detail FROM purchases")
        .ctx(context)?;
    let mut rows = stmt.query([]).ctx(context)?;
    let mut out = HashMap::new();
    while let Some(row) = rows.next().ctx(context)? {
        let r = Rec::new(row, "purchases", &[0]);
        out.insert(
            r.text(0, "id")?,
            PurchaseVersion {
                status: r.text(1, "status")?,
                last_updated: r.opt_naive_dt(2, "last_updated")?,
                has_detail: r.bool(3, "has_detail")?,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use chrono::{NaiveDate, NaiveDateTime};
    use rust_decimal::Decimal;

    use super::super::test_util::open_temp;
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").unwrap()
    }

    fn purchase(id: &str, last_updated: &str, detail: Option<PurchaseDetail>) -> Purchase {
        Purchase {
            id: id.to_owned(),
            order_number: format!("PO-{id}"),
            status: "ORDERING".to_owned(),
            order_status: Some("DRAFT".to_owned()),
            supplier_id: Some("S1".to_owned()),
            supplier: Some("Alpha Inc".to_owned()),
            required_by: NaiveDate::from_ymd_opt(2024, 6, 1),
            last_updated: Some(at(last_updated)),
            detail,
        }
    }

    fn detail(qty: f64) -> PurchaseDetail {
        PurchaseDetail {
            location: Some("Main Warehouse".to_owned()),
            note: Some("replenish:abc".to_owned()),
            order_status: Some("DRAFT".to_owned()),
            lines: vec![
                PurchaseLine {
                    product_id: Some("P1".to_owned()),
                    sku: "RED".to_owned(),
                    name: Some("Red".to_owned()),
                    quantity: qty,
                    price: Decimal::from_str("2.50").unwrap(),
                    total: Decimal::from_str("2.50").unwrap() * Decimal::from_str("4").unwrap(),
                    supplier_sku: None,
                },
                PurchaseLine {
                    product_id: None,
                    sku: "BLUE".to_owned(),
                    name: None,
                    quantity: 0.3333,
                    price: Decimal::from_str("1.1111").unwrap(),
                    total: Decimal::from_str("0.37033").unwrap(),
                    supplier_sku: Some("B-1".to_owned()),
                },
            ],
        }
    }

    #[test]
    fn detail_is_kept_only_while_last_updated_is_unchanged() {
        let (_dir, mut store) = open_temp();
        let a = purchase("A", "2024-05-01T10:00:00.123", Some(detail(4.0)));
        let b = purchase("B", "2024-05-01T10:00:00", Some(detail(1.0)));
        store
            .write(|w| w.upsert_purchases(&[a.clone(), b.clone()]))
            .unwrap();
        assert_eq!(store.purchases().unwrap(), vec![a.clone(), b.clone()]);

        // A: same last_updated, no detail, new status: detail kept, header updated.
        let mut a2 = purchase("A", "2024-05-01T10:00:00.123", None);
        a2.status = "ORDERED".to_owned();
        // B: changed last_updated, no detail: detail dropped (must be fetched again).
        let b2 = purchase("B", "2024-05-02T09:00:00", None);
        // C: new, no detail.
        let c = purchase("C", "2024-05-02T09:00:00", None);
        store
            .write(|w| w.upsert_purchases(&[a2.clone(), b2.clone(), c.clone()]))
            .unwrap();

        let got = store.purchases().unwrap();
        assert_eq!(got[0].status, "ORDERED");
        assert_eq!(got[0].detail, a.detail);
        assert_eq!(got[1], b2);
        assert_eq!(got[2], c);
        let lines: i64 = store
            .conn
            .query_row("SELECT count(*) FROM purchase_lines", [], |r| r.get(0))
            .unwrap();
        assert_eq!(lines, 2, "B's two lines are gone, A's two stay");

        let versions = store.purchase_versions().unwrap();
        assert_eq!(versions.len(), 3);
        assert_eq!(
            versions["A"],
            PurchaseVersion {
                status: "ORDERED".to_owned(),
                last_updated: Some(at("2024-05-01T10:00:00.123")),
                has_detail: true,
            }
        );
        assert!(!versions["B"].has_detail);
        assert!(!versions["C"].has_detail);

        // A detail again (Some) replaces the stored one and its lines.
        let mut a3 = purchase("A", "2024-05-03T00:00:00", Some(detail(9.0)));
        if let Some(d) = a3.detail.as_mut() {
            d.lines.truncate(1);
        }
        store.write(|w| w.upsert_purchases(&[a3.clone()])).unwrap();
        assert_eq!(store.purchases().unwrap()[0], a3);
    }
}
