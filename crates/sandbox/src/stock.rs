//! Cin7 stock and purchases for a freshly generated world: availability rows sized from the recent
//! true demand (bins/batches, negative and zero rows, in-transit), and purchases "made by a person"
//! (received, authorised, draft, voided, a header-only draft and a tool-tagged draft).

use chrono::{Duration, NaiveDateTime};

use super::generator::round2;
use super::rng::Rng;
use super::state::*;

/// Mean daily true demand over the last (up to) 28 days of history, summed in day order so the
/// result does not depend on hash-map iteration order.
fn recent_rate(w: &World, product: u32, location: u16) -> f64 {
    let window = w.opts.days.clamp(1, 28) as i32;
    let today = day_key(w.start);
    (1..=window)
        .map(|d| {
            w.demand
                .get(&(product, location, today - d))
                .copied()
                .unwrap_or(0.0)
        })
        .sum::<f64>()
        / f64::from(window)
}

pub fn gen_stock(w: &mut World) {
    let mut rng = Rng::stream(w.opts.seed, "stock");
    let today = day_key(w.start);
    let mut bin_counter = 0u32;
    for p in 0..w.products.len() {
        let prod = &w.products[p];
        if !prod.active || prod.kind != "Stock" {
            continue;
        }
        let cost = prod.average_cost_cents;
        let _ = cost;
        for l in 0..w.locations.len() {
            let kind = w.locations[l].kind;
            let (on_hand, allocated) = match kind {
                LocKind::Returns => {
                    if rng.chance(0.05) {
                        (rng.range(1, 4) as f64, 0.0)
                    } else {
                        continue;
                    }
                }
                LocKind::Deprecated => {
                    if rng.chance(0.02) {
                        (rng.range(1, 10) as f64, 0.0)
                    } else {
                        continue;
                    }
                }
                LocKind::Warehouse => {
                    let r = recent_rate(w, p as u32, l as u16);
                    let out_now = w.is_stocked_out(p as u32, l as u16, today);
                    if out_now {
                        match rng.below(3) {
                            0 => (0.0, 0.0),
                            1 => (0.0, rng.range(1, 3) as f64),
                            _ => (-(rng.range(1, 2) as f64), 0.0),
                        }
                    } else if rng.chance(0.01) {
                        let oh = rng.range(0, 3) as f64;
                        (oh, oh + rng.range(1, 5) as f64)
                    } else {
                        let base = if r > 0.0 {
                            (r * rng.uniform(2.0, 90.0)).round()
                        } else if rng.chance(0.5) {
                            0.0
                        } else {
                            rng.range(1, 40) as f64
                        };
                        let alloc = if base > 0.0 && rng.chance(0.3) {
                            rng.range(1, 5) as f64
                        } else {
                            0.0
                        };
                        // Cin7 quantities may have decimals (up to 4 places).
                        let frac = if base > 0.0 && rng.chance(0.01) {
                            *rng.pick(&[0.25, 0.5, 0.125])
                        } else {
                            0.0
                        };
                        (base + alloc + frac, alloc)
                    }
                }
            };
            let in_transit = if kind == LocKind::Warehouse && rng.chance(0.03) {
                rng.range(5, 50) as f64
            } else {
                0.0
            };
            let split = if kind == LocKind::Warehouse && on_hand >= 4.0 && rng.chance(0.08) {
                rng.range(2, 3) as usize
            } else {
                1
            };
            let batches = split > 1 && rng.chance(0.4);
            let mut left = on_hand;
            for k in 0..split {
                let part = if k + 1 == split {
                    left
                } else {
                    (left * rng.uniform(0.3, 0.7)).floor()
                };
                left -= part;
                bin_counter += 1;
                let (bin, batch, expiry) = if split == 1 {
                    (
                        if kind == LocKind::Returns {
                            Some("RETURNS".to_string())
                        } else {
                            None
                        },
                        None,
                        None,
                    )
                } else if batches {
                    (
                        None,
                        Some(format!("LOT-{:04}", 2400 + bin_counter % 600)),
                        Some((w.start + Duration::days(rng.range(60, 720))).date_naive()),
                    )
                } else {
                    (
                        Some(format!(
                            "{}-{:02}-{:02}",
                            (b'A' + (k as u8)) as char,
                            rng.range(1, 30),
                            rng.range(1, 9)
                        )),
                        None,
                        None,
                    )
                };
                w.stock.push(StockRow {
                    product: p as u32,
                    location: l as u16,
                    bin,
                    batch,
                    expiry,
                    on_hand: part,
                    allocated: if k == 0 { allocated } else { 0.0 },
                    in_transit: if k == 0 { in_transit } else { 0.0 },
                });
            }
        }
    }
    w.rebuild_stock_index();
}

fn purchase_lines(
    w: &World,
    rng: &mut Rng,
    products: &[u32],
    location: u16,
    with_tax: bool,
) -> Vec<PurchaseLine> {
    let count = rng.range(2, 6).min(products.len() as i64).max(1) as usize;
    let mut chosen: Vec<u32> = Vec::new();
    while chosen.len() < count {
        let p = *rng.pick(products);
        if !chosen.contains(&p) {
            chosen.push(p);
        }
    }
    chosen
        .into_iter()
        .map(|p| {
            let prod = &w.products[p as usize];
            let link = &prod.suppliers[0];
            let rate = recent_rate(w, p, location);
            let mut qty = (rate * rng.uniform(14.0, 45.0))
                .round()
                .max(rng.range(5, 30) as f64);
            if prod.carton_quantity > 0.0 {
                qty = (qty / prod.carton_quantity).ceil() * prod.carton_quantity;
            }
            let price = link.cost_cents as f64 / 100.0;
            let discount = if rng.chance(0.1) { 5.0 } else { 0.0 };
            let net = round2(qty * price * (1.0 - discount / 100.0));
            let tax = if with_tax { round2(net * 0.1) } else { 0.0 };
            PurchaseLine {
                product: p,
                sku: prod.sku.clone(),
                name: prod.name.clone(),
                quantity: qty,
                price,
                discount,
                tax,
                tax_rule: if with_tax {
                    "Tax on Purchases".into()
                } else {
                    "Tax Exempt".into()
                },
                supplier_sku: link.inventory_code.clone(),
                comment: String::new(),
                total: round2(net + tax),
            }
        })
        .collect()
}

pub fn gen_purchases(w: &mut World) {
    let mut rng = Rng::stream(w.opts.seed, "purchases");
    let start = w.start.naive_utc();
    let days = i64::from(w.opts.days.max(1));
    let notes = [
        "Spring restock",
        "Per call with rep — confirm ship date",
        "Top-up before promo",
        "",
        "Reorder from last month",
    ];
    let mut drafts: Vec<Purchase> = Vec::new();
    for s in 0..w.suppliers.len() {
        if !w.suppliers[s].active {
            continue;
        }
        for l in 0..w.warehouses {
            let products: Vec<u32> = (0..w.products.len() as u32)
                .filter(|&p| {
                    let pr = &w.products[p as usize];
                    pr.active
                        && pr.kind == "Stock"
                        && pr.suppliers.first().is_some_and(|x| x.supplier == s)
                })
                .collect();
            if products.is_empty() {
                continue;
            }
            let mut kinds = Vec::new();
            if rng.chance(0.6) {
                kinds.push("RECEIVED");
            }
            if rng.chance(0.5) {
                kinds.push("ORDERED");
            }
            if rng.chance(0.3) {
                kinds.push("ORDERING");
            }
            if rng.chance(0.1) {
                kinds.push("VOIDED");
            }
            for kind in kinds {
                let (order_date, required_by) = match kind {
                    "RECEIVED" => {
                        let od = start - Duration::days(rng.range(20, days + 30));
                        (od, od + Duration::days(rng.range(5, 30)))
                    }
                    "ORDERED" => (
                        start - Duration::days(rng.range(1, 20)),
                        start + Duration::days(rng.range(-3, 30)),
                    ),
                    _ => (
                        start - Duration::days(rng.range(0, 10)),
                        start + Duration::days(rng.range(7, 40)),
                    ),
                };
                let with_tax = rng.chance(0.3);
                let lines = purchase_lines(w, &mut rng, &products, l as u16, with_tax);
                let note = notes[rng.below(notes.len() as u64) as usize].to_string();
                drafts.push(make_purchase(
                    w,
                    &mut rng,
                    s,
                    l as u16,
                    kind,
                    order_date,
                    required_by,
                    lines,
                    note,
                    start,
                ));
            }
        }
    }
    // Guarantee one of each open kind, a header-only draft and a tool-tagged draft.
    let first = (0..w.products.len() as u32).find(|&p| {
        let pr = &w.products[p as usize];
        pr.active
            && pr.kind == "Stock"
            && pr
                .suppliers
                .first()
                .is_some_and(|x| w.suppliers[x.supplier].active)
    });
    if let Some(p) = first {
        let s = w.products[p as usize].suppliers[0].supplier;
        let od = start - Duration::days(2);
        let rb = start + Duration::days(14);
        for kind in ["ORDERED", "ORDERING"] {
            if !drafts.iter().any(|d| d.status == kind) {
                let lines = purchase_lines(w, &mut rng, &[p], 0, false);
                drafts.push(make_purchase(
                    w,
                    &mut rng,
                    s,
                    0,
                    kind,
                    od,
                    rb,
                    lines,
                    "Placed by phone".into(),
                    start,
                ));
            }
        }
        drafts.push(make_purchase(
            w,
            &mut rng,
            s,
            0,
            "DRAFT",
            od,
            rb,
            Vec::new(),
            "Started, not finished".into(),
            start,
        ));
        let lines = purchase_lines(w, &mut rng, &[p], 0, false);
        drafts.push(make_purchase(
            w,
            &mut rng,
            s,
            0,
            "ORDERING",
            od,
            rb,
            lines,
            "replenish: plan 0000 (copied by hand from another account)".into(),
            start,
        ));
    }
    drafts.sort_by(|a, b| a.order_date.cmp(&b.order_date).then(a.id.cmp(&b.id)));
    for mut d in drafts {
        d.order_number = format!("PO-{:05}", w.next_po);
        w.next_po += 1;
        w.purchases.push(d);
    }
}

#[allow(clippy::too_many_arguments)]
fn make_purchase(
    w: &World,
    rng: &mut Rng,
    supplier: usize,
    location: u16,
    kind: &str,
    order_date: NaiveDateTime,
    required_by: NaiveDateTime,
    lines: Vec<PurchaseLine>,
    note: String,
    now: NaiveDateTime,
) -> Purchase {
    let (order_status, received) = match kind {
        "DRAFT" => ("NOT AVAILABLE", "NOT AVAILABLE"),
        "ORDERING" => ("DRAFT", "NOT AVAILABLE"),
        "ORDERED" => ("AUTHORISED", "NOT AVAILABLE"),
        "RECEIVED" => ("AUTHORISED", "AUTHORISED"),
        _ => ("VOIDED", "NOT AVAILABLE"),
    };
    let sup = &w.suppliers[supplier];
    let updated = (order_date + Duration::hours(rng.range(1, 72))).min(now);
    Purchase {
        id: rng.guid(),
        order_number: String::new(),
        supplier,
        location,
        approach: if rng.chance(0.8) { "INVOICE" } else { "STOCK" }.into(),
        status: kind.into(),
        order_status: order_status.into(),
        stock_received_status: received.into(),
        invoice_status: "NOT AVAILABLE".into(),
        required_by: Some(
            required_by
                .date()
                .and_hms_opt(0, 0, 0)
                .unwrap_or(required_by),
        ),
        order_date: order_date.date().and_hms_opt(0, 0, 0).unwrap_or(order_date),
        note,
        terms: sup.payment_term.clone(),
        tax_rule: sup.tax_rule.clone(),
        currency_rate: 1.0,
        memo: String::new(),
        combine_additional_charges: false,
        last_updated: updated,
        lines,
    }
}
