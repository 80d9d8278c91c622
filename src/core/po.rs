//! Purchase orders: plan lines with an order quantity and a supplier, grouped by (supplier ID,
//! key location) into one draft PO each, priced in exact decimal money, checked against the
//! supplier's minimum order value (hold, or top up one pack at a time). Pure: no IO.
//!
//! Rules (docs/planning.md, "Purchase orders"): required_by = T + max(L over its lines); line
//! price = the product-supplier Cost; line total = quantity × price; PO total = Σ. Below
//! `suppliers."<name>".min_order_value`: `hold` → status `hold`; `top_up` → add one pack at a time
//! to the line with the lowest projected cover (IP + order_qty) / d̄, recomputed after every
//! addition (lines with d̄ = 0 last, ties by SKU, lines priced 0 never chosen) until total ≥ the
//! minimum; no line priced above 0 → `hold`. A held PO is `hold` even when the tool has an open
//! draft for it; otherwise `update` when it has one, else `new`.
//!
//! Decisions (planning.md is silent):
//! - Money is never rounded: a total is the exact product/sum of the decimal prices (Cin7 keeps
//!   4 places), so a PO total may carry more than 2 decimals.
//! - The PO currency is the supplier record's currency, else (when Cin7 has none) the
//!   product-supplier currency of the first line by SKU.
//! - Ties in top-up choice: equal projected cover → smaller SKU. Among d̄ = 0 lines: smaller SKU.
//! - The minimum is compared after top-up with `total ≥ minimum`; a minimum of 0 never holds.
//! - Lines priced below 0 are treated like lines priced 0 (never chosen for a top-up).
//! - `hold_reason` names the total and the minimum (the alert text), or that no line is priced.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::core::num::clean;
use crate::core::plan::{PurchaseOrder, PurchaseOrderLine};
use crate::core::settings::{BelowMinimum, SupplierOverride};

/// One plan line that goes on a PO.
#[derive(Debug, Clone, PartialEq)]
pub struct PoLineInput<'a> {
    pub sku: &'a str,
    pub product_id: &'a str,
    pub name: &'a str,
    pub supplier_sku: Option<&'a str>,
    pub supplier_id: &'a str,
    /// The supplier's name in Cin7's supplier record.
    pub supplier: &'a str,
    pub location: &'a str,
    pub currency: Option<&'a str>,
    pub payment_term: Option<&'a str>,
    pub tax_rule: Option<&'a str>,
    pub price: Decimal,
    pub quantity: f64,
    pub pack: f64,
    pub lead_time_days: u32,
    /// d̄ and IP, for the top-up's projected cover.
    pub velocity: f64,
    pub position: f64,
}

/// What decides a PO's status.
#[derive(Debug, Clone, Copy)]
pub struct PoRules<'a> {
    pub below_minimum: BelowMinimum,
    /// `[suppliers."<name>"]`, for `min_order_value`.
    pub suppliers: &'a BTreeMap<String, SupplierOverride>,
    /// (supplier ID, key location) pairs with an open own untouched draft.
    pub own_untouched: &'a BTreeSet<(String, String)>,
}

/// POs, and the quantity a top-up added to each input line (same index as the inputs).
#[derive(Debug, Clone, PartialEq)]
pub struct PoResult {
    pub orders: Vec<PurchaseOrder>,
    pub added: Vec<f64>,
}

/// An f64 quantity as an exact decimal (whole numbers directly, others by shortest form).
pub fn qty_decimal(q: f64) -> Decimal {
    if q.fract() == 0.0 && q.abs() < 9.0e15 {
        Decimal::from(q as i64)
    } else {
        format!("{q}").parse().unwrap_or(Decimal::ZERO)
    }
}

fn line_total(q: f64, price: Decimal) -> Decimal {
    qty_decimal(q)
        .checked_mul(price)
        .unwrap_or(if price.is_sign_negative() {
            Decimal::MIN
        } else {
            Decimal::MAX
        })
}

/// The top-up order of a line: d̄ = 0 last, then projected cover, then SKU.
#[derive(Debug, Clone, Copy)]
struct Pick<'a> {
    no_velocity: bool,
    cover: f64,
    sku: &'a str,
    at: usize,
}

impl Pick<'_> {
    fn key(&self) -> (bool, f64, &str, usize) {
        (self.no_velocity, self.cover, self.sku, self.at)
    }
}

impl PartialEq for Pick<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pick<'_> {}

impl PartialOrd for Pick<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pick<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.key(), other.key());
        a.0.cmp(&b.0)
            .then_with(|| a.1.total_cmp(&b.1))
            .then_with(|| a.2.cmp(b.2))
            .then_with(|| a.3.cmp(&b.3))
    }
}

fn pick<'a>(line: &PoLineInput<'a>, quantity: f64, at: usize) -> Pick<'a> {
    let no_velocity = line.velocity <= 0.0;
    let cover = if no_velocity {
        0.0
    } else {
        clean((line.position + quantity) / line.velocity)
    };
    Pick {
        no_velocity,
        cover,
        sku: line.sku,
        at,
    }
}

/// Adds packs to `qty` (indexes into `lines`) until `total` ≥ `min`. Returns false (nothing
/// changed) when no line is priced above 0.
fn top_up(lines: &[&PoLineInput<'_>], qty: &mut [f64], total: &mut Decimal, min: Decimal) -> bool {
    let mut heap: BinaryHeap<std::cmp::Reverse<Pick<'_>>> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.price > Decimal::ZERO)
        .map(|(i, l)| std::cmp::Reverse(pick(l, qty[i], i)))
        .collect();
    if heap.is_empty() {
        return false;
    }
    while *total < min {
        let Some(std::cmp::Reverse(best)) = heap.pop() else {
            break;
        };
        let l = lines[best.at];
        let step = qty_decimal(l.pack)
            .checked_mul(l.price)
            .unwrap_or(Decimal::MAX);
        if heap.is_empty() {
            // One candidate left: it takes every remaining pack; count them at once.
            let gap = min - *total;
            let mut k = (gap / step).ceil().max(Decimal::ONE);
            while k > Decimal::ONE && *total + (k - Decimal::ONE) * step >= min {
                k -= Decimal::ONE;
            }
            while *total + k * step < min {
                k += Decimal::ONE;
            }
            let packs: f64 = k.to_string().parse().unwrap_or(1.0);
            qty[best.at] += packs * l.pack;
            *total += k * step;
            break;
        }
        qty[best.at] += l.pack;
        *total += step;
        heap.push(std::cmp::Reverse(pick(l, qty[best.at], best.at)));
    }
    true
}

/// Groups, prices and checks the POs (see the module docs).
pub fn build(inputs: &[PoLineInput<'_>], rules: &PoRules<'_>, as_of: NaiveDate) -> PoResult {
    let mut groups: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, l) in inputs.iter().enumerate() {
        if l.quantity > 0.0 {
            groups
                .entry((l.supplier_id, l.location))
                .or_default()
                .push(i);
        }
    }
    let mut added = vec![0.0; inputs.len()];
    let mut orders = Vec::with_capacity(groups.len());
    for ((supplier_id, location), mut idx) in groups {
        idx.sort_by(|&a, &b| inputs[a].sku.cmp(inputs[b].sku).then(a.cmp(&b)));
        let lines: Vec<&PoLineInput<'_>> = idx.iter().map(|&i| &inputs[i]).collect();
        let Some(first) = lines.first() else {
            continue;
        };
        let mut qty: Vec<f64> = lines.iter().map(|l| l.quantity).collect();
        let mut total = lines
            .iter()
            .zip(&qty)
            .fold(Decimal::ZERO, |acc, (l, q)| acc + line_total(*q, l.price));
        let min = rules
            .suppliers
            .get(first.supplier)
            .and_then(|s| s.min_order_value);
        let mut hold_reason = None;
        if let Some(min) = min
            && total < min
        {
            match rules.below_minimum {
                BelowMinimum::Hold => {
                    hold_reason = Some(format!(
                        "supplier {} total {} is below its minimum order value {}",
                        first.supplier, total, min
                    ));
                }
                BelowMinimum::TopUp => {
                    let before = total;
                    if !top_up(&lines, &mut qty, &mut total, min) {
                        hold_reason = Some(format!(
                            "supplier {} total {} is below its minimum order value {} and no line has a price above 0 to top up",
                            first.supplier, before, min
                        ));
                    }
                }
            }
        }
        for (k, &i) in idx.iter().enumerate() {
            added[i] = clean(qty[k] - inputs[i].quantity);
        }
        let status = if hold_reason.is_some() {
            "hold"
        } else if rules
            .own_untouched
            .contains(&(supplier_id.to_string(), location.to_string()))
        {
            "update"
        } else {
            "new"
        };
        let lead = lines.iter().map(|l| l.lead_time_days).max().unwrap_or(0);
        let required_by = as_of
            .checked_add_days(chrono::Days::new(u64::from(lead)))
            .unwrap_or(NaiveDate::MAX);
        let currency = first
            .currency
            .or_else(|| lines.iter().find_map(|l| l.currency))
            .map(str::to_string);
        let po_lines: Vec<PurchaseOrderLine> = lines
            .iter()
            .zip(&qty)
            .map(|(l, q)| PurchaseOrderLine {
                sku: l.sku.to_string(),
                product_id: l.product_id.to_string(),
                name: l.name.to_string(),
                quantity: *q,
                price: l.price,
                total: line_total(*q, l.price),
                supplier_sku: l.supplier_sku.map(str::to_string),
            })
            .collect();
        orders.push(PurchaseOrder {
            supplier_id: supplier_id.to_string(),
            supplier: first.supplier.to_string(),
            location: location.to_string(),
            required_by,
            currency,
            status: status.to_string(),
            total,
            lines: po_lines,
            payment_term: first.payment_term.map(str::to_string),
            tax_rule: first.tax_rule.map(str::to_string),
            min_order_value: min,
            hold_reason,
        });
    }
    orders.sort_by(|a, b| {
        a.location
            .cmp(&b.location)
            .then_with(|| a.supplier.cmp(&b.supplier))
            .then_with(|| a.supplier_id.cmp(&b.supplier_id))
    });
    PoResult { orders, added }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::*;

    fn input<'a>(
        sku: &'a str,
        qty: f64,
        price: &str,
        velocity: f64,
        position: f64,
    ) -> PoLineInput<'a> {
        PoLineInput {
            sku,
            product_id: sku,
            name: sku,
            supplier_sku: None,
            supplier_id: "sup-1",
            supplier: "Acme",
            location: "Main",
            currency: Some("USD"),
            payment_term: None,
            tax_rule: None,
            price: dec(price),
            quantity: qty,
            pack: 1.0,
            lead_time_days: 10,
            velocity,
            position,
        }
    }

    fn rules<'a>(
        mode: BelowMinimum,
        suppliers: &'a BTreeMap<String, SupplierOverride>,
        own: &'a BTreeSet<(String, String)>,
    ) -> PoRules<'a> {
        PoRules {
            below_minimum: mode,
            suppliers,
            own_untouched: own,
        }
    }

    fn minimum(v: &str) -> BTreeMap<String, SupplierOverride> {
        let mut m = BTreeMap::new();
        m.insert(
            "Acme".to_string(),
            SupplierOverride {
                min_order_value: Some(dec(v)),
                ..SupplierOverride::default()
            },
        );
        m
    }

    #[test]
    fn grouping_totals_required_by_and_sorting() {
        let mut a = input("B", 3.0, "2.50", 1.0, 0.0);
        a.lead_time_days = 7;
        let b = input("A", 2.0, "1.1", 1.0, 0.0);
        let mut c = input("C", 1.0, "4", 1.0, 0.0);
        c.location = "East";
        let mut e = input("D", 1.0, "4", 1.0, 0.0);
        e.supplier_id = "sup-0";
        e.supplier = "Zeta";
        let none = BTreeMap::new();
        let own = BTreeSet::new();
        let r = build(
            &[a, b, c, e],
            &rules(BelowMinimum::Hold, &none, &own),
            d("2024-06-01"),
        );
        // Sorted by location, then supplier name: East/Acme, Main/Acme, Main/Zeta.
        let keys: Vec<(&str, &str)> = r
            .orders
            .iter()
            .map(|o| (o.location.as_str(), o.supplier.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![("East", "Acme"), ("Main", "Acme"), ("Main", "Zeta")]
        );
        let main = &r.orders[1];
        // Lines by SKU: A (2 × 1.1 = 2.2), B (3 × 2.50 = 7.50); total 9.7.
        assert_eq!(main.lines[0].sku, "A");
        assert_eq!(main.lines[0].total, dec("2.2"));
        assert_eq!(main.lines[1].total, dec("7.5"));
        assert_eq!(main.total, dec("9.7"));
        // required_by = T + max(7, 10).
        assert_eq!(main.required_by, d("2024-06-11"));
        assert_eq!(main.status, "new");
    }

    #[test]
    fn hold_below_minimum_even_with_an_own_draft() {
        let m = minimum("100");
        let mut own = BTreeSet::new();
        own.insert(("sup-1".to_string(), "Main".to_string()));
        let r = build(
            &[input("A", 2.0, "10", 1.0, 0.0)],
            &rules(BelowMinimum::Hold, &m, &own),
            d("2024-06-01"),
        );
        // 2 × 10 = 20 < 100 → hold, quantities untouched.
        assert_eq!(r.orders[0].status, "hold");
        assert_eq!(r.orders[0].total, dec("20"));
        assert!(r.orders[0].hold_reason.is_some());
        assert_eq!(r.added, vec![0.0]);
        // At the minimum: not held, and the own draft makes it an update.
        let r = build(
            &[input("A", 10.0, "10", 1.0, 0.0)],
            &rules(BelowMinimum::Hold, &m, &own),
            d("2024-06-01"),
        );
        assert_eq!(r.orders[0].status, "update");
    }

    #[test]
    fn top_up_goes_to_the_lowest_projected_cover() {
        // Minimum 100. Lines:
        //   A: qty 2 at 10, d̄ = 1, IP = 0  → cover (0 + 2)/1 = 2
        //   B: qty 4 at 5,  d̄ = 2, IP = 2  → cover (2 + 4)/2 = 3
        // Total 2·10 + 4·5 = 40.
        // 1: A (2 < 3) → A = 3, cover 3, total 50.
        // 2: A 3 = B 3 → tie by SKU → A = 4, cover 4, total 60.
        // 3: B (3 < 4) → B = 5, cover 3.5, total 65.
        // 4: B (3.5 < 4) → B = 6, cover 4, total 70.
        // 5: tie 4 = 4 → A = 5, cover 5, total 80.
        // 6: B (4) → B = 7, cover 4.5, total 85.
        // 7: B (4.5) → B = 8, cover 5, total 90.
        // 8: tie 5 = 5 → A = 6, total 100 ≥ 100: stop. A +4, B +4.
        let m = minimum("100");
        let own = BTreeSet::new();
        let r = build(
            &[
                input("B", 4.0, "5", 2.0, 2.0),
                input("A", 2.0, "10", 1.0, 0.0),
            ],
            &rules(BelowMinimum::TopUp, &m, &own),
            d("2024-06-01"),
        );
        let po = &r.orders[0];
        assert_eq!(po.status, "new");
        assert_eq!(po.total, dec("100"));
        assert_eq!((po.lines[0].sku.as_str(), po.lines[0].quantity), ("A", 6.0));
        assert_eq!((po.lines[1].sku.as_str(), po.lines[1].quantity), ("B", 8.0));
        // added is by input index: B first.
        assert_eq!(r.added, vec![4.0, 4.0]);
    }

    #[test]
    fn top_up_skips_free_lines_and_puts_no_velocity_last() {
        // Minimum 30. A: free (price 0, lowest cover) never chosen; Z: d̄ = 0 (cover ∞) last;
        // M: d̄ = 1, IP 0, qty 1 at 10, pack 2. Total 1·10 + 1·5 (Z) = 15.
        // M gets a pack of 2 (+20) → 35 ≥ 30.
        let m = minimum("30");
        let own = BTreeSet::new();
        let mut mline = input("M", 1.0, "10", 1.0, 0.0);
        mline.pack = 2.0;
        let r = build(
            &[
                input("A", 1.0, "0", 5.0, 0.0),
                mline,
                input("Z", 1.0, "5", 0.0, 0.0),
            ],
            &rules(BelowMinimum::TopUp, &m, &own),
            d("2024-06-01"),
        );
        assert_eq!(r.added, vec![0.0, 2.0, 0.0]);
        assert_eq!(r.orders[0].total, dec("35"));
        // Only the d̄ = 0 line is priced: it takes the packs. 15 → 5 per pack → 3 more → 30.
        let r = build(
            &[
                input("A", 1.0, "0", 5.0, 0.0),
                input("Z", 3.0, "5", 0.0, 0.0),
            ],
            &rules(BelowMinimum::TopUp, &m, &own),
            d("2024-06-01"),
        );
        assert_eq!(r.added, vec![0.0, 3.0]);
        assert_eq!(r.orders[0].total, dec("30"));
    }

    #[test]
    fn top_up_with_no_priced_line_holds() {
        let m = minimum("30");
        let own = BTreeSet::new();
        let r = build(
            &[input("A", 1.0, "0", 5.0, 0.0)],
            &rules(BelowMinimum::TopUp, &m, &own),
            d("2024-06-01"),
        );
        assert_eq!(r.orders[0].status, "hold");
        assert_eq!(r.added, vec![0.0]);
    }

    #[test]
    fn one_candidate_counts_packs_at_once() {
        // Minimum 1000.01, price 0.01, pack 3: 1 unit = 0.01 → need 999.99 more → 33333 packs
        // of 0.03 = 999.99 → total exactly 1000.00 < 1000.01 → one more: 33334 packs.
        let m = minimum("1000.01");
        let own = BTreeSet::new();
        let mut l = input("A", 1.0, "0.01", 1.0, 0.0);
        l.pack = 3.0;
        let r = build(&[l], &rules(BelowMinimum::TopUp, &m, &own), d("2024-06-01"));
        assert_eq!(r.added, vec![100_002.0]);
        assert_eq!(r.orders[0].total, dec("1000.03"));
    }
}
