//! The nightly audit's judgements, without IO: orders the store missed or holds out of date
//! (compared with a full re-pull of the window), and anomalies a person should look at —
//! negative stock, a velocity jump since the last audit, a single order carrying more than half of
//! a SKU's window demand (likely wholesale), SKUs selling with no supplier or no lead time, and
//! stale data; and what kind of finding each draft the audit settled is
//! ([`settled_draft_kind`]). `app/reconcile.rs` gathers the inputs, applies the fixes and reports.
//!
//! Decisions (the issue is silent):
//! - An order is "changed" when the re-pulled copy is newer (`updatedAt`) and differs in what
//!   planning reads: cancellation, test flag, financial status, or a line's currentQuantity.
//! - A velocity jump needs a previous standard deviation above 0 (with none, any change would be
//!   "infinitely many σ").
//! - A large order needs the SKU to have at least two counting orders in the window (one order is
//!   trivially all of its demand) and is judged per Cin7 SKU over all locations.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::core::demand::{Window, blank_sku, order_counts};
use crate::core::issues;
use crate::core::model::{Order, Receipt};
use crate::core::plan::Plan;
use crate::core::settle::{CloseReason, Recovered};

/// One thing the audit found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub kind: String,
    pub sku: Option<String>,
    pub supplier: Option<String>,
    pub location: Option<String>,
    pub detail: String,
}

impl Finding {
    pub fn new(kind: &str, detail: String) -> Finding {
        Finding {
            kind: kind.to_string(),
            sku: None,
            supplier: None,
            location: None,
            detail,
        }
    }

    fn sku(mut self, sku: Option<&str>) -> Finding {
        self.sku = sku.map(str::to_string);
        self
    }

    fn location(mut self, location: Option<&str>) -> Finding {
        self.location = location.map(str::to_string);
        self
    }
}

/// Finding kinds.
pub mod kind {
    pub const DRAFT_APPROVED: &str = "draft_approved";
    pub const DRAFT_VOIDED: &str = "draft_voided";
    pub const DRAFT_EDITED: &str = "draft_edited";
    pub const DRAFT_GONE: &str = "draft_gone";
    pub const DRAFT_STALE: &str = "draft_stale";
    pub const DRAFT_RECOVERED: &str = "draft_recovered";
    pub const DRAFT_UNCHECKED: &str = "draft_unchecked";
    pub const MISSED_ORDER: &str = "missed_order";
    pub const ORDER_CHANGED: &str = "order_changed";
    pub const NEGATIVE_STOCK: &str = "negative_stock";
    pub const VELOCITY_JUMP: &str = "velocity_jump";
    pub const LARGE_ORDER: &str = "large_order";
    pub const NO_SUPPLIER: &str = "no_supplier";
    pub const NO_LEAD_TIME: &str = "no_lead_time";
    pub const STALE_DATA: &str = "stale_data";
    pub const RECEIPT_MISMATCH: &str = "receipt_mismatch";
    pub const WEBHOOK_UNUSABLE: &str = "webhook_unusable";
}

/// The finding kind for a draft settled at the start of the audit: approved, voided, edited by a
/// person or gone by the reason its row was closed, any other settlement (adopted, finished,
/// never created) `draft_recovered`.
pub fn settled_draft_kind(what: &Recovered) -> &'static str {
    match what {
        Recovered::Closed(CloseReason::Approved { .. }) => kind::DRAFT_APPROVED,
        Recovered::Closed(CloseReason::Voided) => kind::DRAFT_VOIDED,
        Recovered::Closed(CloseReason::EditedByPerson(_)) => kind::DRAFT_EDITED,
        Recovered::Closed(CloseReason::Gone) => kind::DRAFT_GONE,
        _ => kind::DRAFT_RECOVERED,
    }
}

/// Receipts between two kept snapshots, checked against the change in stock on hand.
#[derive(Debug, Clone, Default)]
pub struct ReceiptCheck {
    /// The purchases received in the interval (order numbers), for the finding's words.
    pub purchases: Vec<String>,
    /// Received units per (SKU, key location).
    pub received: BTreeMap<(String, String), f64>,
    /// On hand per (SKU, key location) in the snapshot before and the one after.
    pub before: BTreeMap<(String, String), f64>,
    pub after: BTreeMap<(String, String), f64>,
    /// Units that left stock in between (ordered on Shopify, not cancelled, not test).
    pub sold: BTreeMap<(String, String), f64>,
}

/// Whether a stock receipt's units are in stock, so that the receipt check counts them: only an
/// authorised receipt (`AUTHORISED`; `RECEIVED` is taken to say the same) has moved stock. A
/// `DRAFT` receipt is the warehouse still counting (its lines are what it expects, not what is
/// on the shelf), a voided one moved nothing, and one without a status is not guessed at.
pub fn receipt_counts(receipt: &Receipt) -> bool {
    receipt.status.as_deref().is_some_and(|s| {
        matches!(
            s.trim().to_ascii_uppercase().as_str(),
            "AUTHORISED" | "AUTHORIZED" | "RECEIVED"
        )
    })
}

/// Received units that do not show in stock: on hand after should be on hand before + received −
/// sold. A difference above max(1 unit, 5 % of the received quantity) is reported — a miscount
/// at the dock, a receipt booked at the wrong location, or stock moved without a record.
pub fn receipt_mismatches(check: &ReceiptCheck) -> Vec<Finding> {
    let get = |m: &BTreeMap<(String, String), f64>, k: &(String, String)| {
        m.get(k).copied().unwrap_or(0.0)
    };
    let mut out = Vec::new();
    for (key, &received) in &check.received {
        let (before, after, sold) = (
            get(&check.before, key),
            get(&check.after, key),
            get(&check.sold, key),
        );
        let expected = before + received - sold;
        let diff = after - expected;
        let tolerance = (received.abs() * 0.05).max(1.0);
        if diff.abs() > tolerance {
            out.push(
                Finding::new(
                    kind::RECEIPT_MISMATCH,
                    format!(
                        "received {received} ({}) but on hand went {before} → {after} with {sold} sold in between: {} unit(s) {}",
                        check.purchases.join(", "),
                        crate::core::num::clean(diff.abs()),
                        if diff < 0.0 { "missing" } else { "too many" }
                    ),
                )
                .sku(Some(&key.0))
                .location(Some(&key.1)),
            );
        }
    }
    out
}

fn label(o: &Order) -> String {
    o.name.clone().unwrap_or_else(|| o.id.clone())
}

/// Whether two copies of an order differ in what planning reads.
fn differs(a: &Order, b: &Order) -> Option<String> {
    if a.cancelled_at.is_some() != b.cancelled_at.is_some() {
        return Some(if b.cancelled_at.is_some() {
            "now cancelled".into()
        } else {
            "no longer cancelled".into()
        });
    }
    if a.test != b.test {
        return Some(format!("test flag now {}", b.test));
    }
    if !a.financial_status.eq_ignore_ascii_case(&b.financial_status) {
        return Some(format!(
            "financial status {} → {}",
            a.financial_status, b.financial_status
        ));
    }
    let quantities = |o: &Order| -> Vec<(Option<String>, i64)> {
        let mut v: Vec<_> = o
            .lines
            .iter()
            .map(|l| (l.sku.clone(), l.current_quantity))
            .collect();
        v.sort();
        v
    };
    if quantities(a) != quantities(b) {
        return Some("line quantities changed (a refund or an edit)".into());
    }
    None
}

/// Compares a full re-pull of the window (`fetched`) with what the store holds (`stored`, same
/// window): the orders the store lacks and those it holds out of date, as findings, plus the
/// orders to write to fix the store.
pub fn missed_orders(fetched: &[Order], stored: &[Order]) -> (Vec<Finding>, Vec<Order>) {
    let by_id: BTreeMap<&str, &Order> = stored.iter().map(|o| (o.id.as_str(), o)).collect();
    let mut findings = Vec::new();
    let mut fixes = Vec::new();
    for o in fetched {
        match by_id.get(o.id.as_str()) {
            None => {
                findings.push(Finding::new(
                    kind::MISSED_ORDER,
                    format!(
                        "order {} (created {}) was missing from the store; added",
                        label(o),
                        o.created_at.format("%Y-%m-%d %H:%M UTC")
                    ),
                ));
                fixes.push(o.clone());
            }
            Some(s) if o.updated_at > s.updated_at => {
                if let Some(change) = differs(s, o) {
                    findings.push(Finding::new(
                        kind::ORDER_CHANGED,
                        format!("order {}: {change}; updated in the store", label(o)),
                    ));
                }
                fixes.push(o.clone());
            }
            Some(_) => {}
        }
    }
    findings.sort();
    (findings, fixes)
}

/// Anomalies the plan shows: negative stock, SKUs selling with no supplier or no lead time, stale
/// data. "Selling" means a velocity above 0 on the unit.
pub fn plan_anomalies(plan: &Plan) -> Vec<Finding> {
    let selling = |sku: Option<&str>, location: Option<&str>| {
        plan.lines.iter().any(|l| {
            Some(l.sku.as_str()) == sku && Some(l.location.as_str()) == location && l.velocity > 0.0
        })
    };
    let mut out = Vec::new();
    for i in &plan.issues {
        let (sku, location) = (i.sku.as_deref(), i.location.as_deref());
        let k = match i.kind.as_str() {
            issues::NEGATIVE_AVAILABLE => kind::NEGATIVE_STOCK,
            issues::MISSING_SUPPLIER if selling(sku, location) => kind::NO_SUPPLIER,
            issues::MISSING_LEAD_TIME if selling(sku, location) => kind::NO_LEAD_TIME,
            issues::STALE_DATA => kind::STALE_DATA,
            _ => continue,
        };
        out.push(
            Finding::new(k, i.detail.clone())
                .sku(sku)
                .location(location),
        );
    }
    out
}

/// Velocity per unit, keyed `SKU|location`, with its standard deviation: what the next audit
/// compares against.
pub fn velocities(plan: &Plan) -> BTreeMap<String, (f64, f64)> {
    plan.lines
        .iter()
        .map(|l| (format!("{}|{}", l.sku, l.location), (l.velocity, l.stddev)))
        .collect()
}

/// Units whose velocity rose by more than `k` previous standard deviations.
pub fn velocity_jumps(
    plan: &Plan,
    previous: &BTreeMap<String, (f64, f64)>,
    k: f64,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for l in &plan.lines {
        let Some(&(v0, s0)) = previous.get(&format!("{}|{}", l.sku, l.location)) else {
            continue;
        };
        if s0 > 0.0 && l.velocity > v0 + k * s0 {
            out.push(
                Finding::new(
                    kind::VELOCITY_JUMP,
                    format!(
                        "velocity {:.2}/day, up from {:.2}/day at the last reconcile (σ {:.2}): {:.1} σ",
                        l.velocity,
                        v0,
                        s0,
                        (l.velocity - v0) / s0
                    ),
                )
                .sku(Some(&l.sku))
                .location(Some(&l.location)),
            );
        }
    }
    out
}

/// Single counting orders in the window carrying more than half of a Cin7 SKU's window units
/// (over all locations): likely wholesale, named so a person can exclude it. `resolve` maps a
/// Shopify SKU to the Cin7 SKU it plans as (mapping table, then exact), `None` when it maps to
/// nothing.
pub fn large_orders(
    orders: &[Order],
    as_of: NaiveDate,
    window_days: u32,
    tz: chrono_tz::Tz,
    resolve: &dyn Fn(&str) -> Option<String>,
) -> Vec<Finding> {
    let window = Window::new(as_of, window_days, tz);
    // Per Cin7 SKU: total units, and per order (label) its units.
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    let mut per_order: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for o in orders {
        if window.index(window.local_day(o.created_at)).is_none() || order_counts(o).is_err() {
            continue;
        }
        for l in &o.lines {
            if l.is_gift_card || blank_sku(l.sku.as_deref()) {
                continue;
            }
            let Some(sku) = l.sku.as_deref().and_then(resolve) else {
                continue;
            };
            *totals.entry(sku.clone()).or_default() += l.current_quantity;
            *per_order
                .entry(sku)
                .or_default()
                .entry(label(o))
                .or_default() += l.current_quantity;
        }
    }
    let mut out = Vec::new();
    for (sku, orders) in &per_order {
        let total = totals.get(sku).copied().unwrap_or(0);
        if orders.len() < 2 || total <= 0 {
            continue;
        }
        for (name, units) in orders {
            if *units * 2 > total {
                out.push(
                    Finding::new(
                        kind::LARGE_ORDER,
                        format!(
                            "order {name} carries {units} of the {total} units of the window's demand (likely wholesale: exclude it if it is not regular demand)"
                        ),
                    )
                    .sku(Some(sku)),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::{Issue, PlanLine};
    use crate::core::testkit::*;

    fn o(id: &str, created: &str, lines: Vec<crate::core::model::OrderLine>) -> Order {
        order(id, created, lines)
    }

    #[test]
    fn only_authorised_receipts_count() {
        let r = |status: Option<&str>| Receipt {
            status: status.map(str::to_string),
            lines: Vec::new(),
        };
        assert!(receipt_counts(&r(Some("AUTHORISED"))));
        assert!(receipt_counts(&r(Some(" authorised "))));
        assert!(receipt_counts(&r(Some("RECEIVED"))));
        assert!(!receipt_counts(&r(Some("DRAFT"))), "still being counted");
        assert!(!receipt_counts(&r(Some("VOIDED"))));
        assert!(!receipt_counts(&r(Some("NOT AVAILABLE"))));
        assert!(!receipt_counts(&r(None)), "no status, no guess");
    }

    #[test]
    fn missed_and_changed_orders_are_found_and_fixed() {
        let a = o("1", "2024-05-10T12:00:00Z", vec![line("A", 2)]);
        let b = o("2", "2024-05-11T12:00:00Z", vec![line("A", 1)]);
        let mut b_cancelled = b.clone();
        b_cancelled.cancelled_at = Some(t("2024-05-12T00:00:00Z"));
        b_cancelled.updated_at = t("2024-05-12T00:00:00Z");
        let c = o("3", "2024-05-12T12:00:00Z", vec![line("B", 4)]);
        // Newer but identical in what planning reads: refreshed, not reported.
        let mut c_touched = c.clone();
        c_touched.updated_at = t("2024-05-13T00:00:00Z");
        let (findings, fixes) = missed_orders(
            &[a.clone(), b_cancelled.clone(), c_touched.clone()],
            &[b.clone(), c.clone()],
        );
        let kinds: Vec<(&str, &str)> = findings
            .iter()
            .map(|f| (f.kind.as_str(), f.detail.as_str()))
            .collect();
        assert_eq!(kinds.len(), 2, "{kinds:?}");
        assert!(kinds.contains(&(
            kind::MISSED_ORDER,
            "order #1 (created 2024-05-10 12:00 UTC) was missing from the store; added"
        )));
        assert!(kinds.contains(&(
            kind::ORDER_CHANGED,
            "order #2: now cancelled; updated in the store"
        )));
        let fixed: Vec<&str> = fixes.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(
            fixed,
            [
                "gid://shopify/Order/1",
                "gid://shopify/Order/2",
                "gid://shopify/Order/3"
            ]
        );
        // A clean store: nothing.
        let (none, no_fixes) = missed_orders(std::slice::from_ref(&a), std::slice::from_ref(&a));
        assert!(none.is_empty() && no_fixes.is_empty());
    }

    fn plan_with(lines: Vec<PlanLine>, issues: Vec<Issue>) -> Plan {
        let mut p = Fixture::new()
            .try_plan(d("2024-06-01"))
            .unwrap_or_else(|e| panic!("{e}"));
        p.lines = lines;
        p.issues = issues;
        p
    }

    fn unit(sku: &str, velocity: f64, stddev: f64) -> PlanLine {
        PlanLine {
            sku: sku.into(),
            location: "Main".into(),
            velocity,
            stddev,
            ..PlanLine::default()
        }
    }

    #[test]
    fn anomalies_from_the_plan_only_for_selling_units() {
        let issue = |kind: &str, sku: &str| Issue {
            kind: kind.into(),
            sku: Some(sku.into()),
            location: Some("Main".into()),
            detail: format!("{kind} {sku}"),
        };
        let p = plan_with(
            vec![unit("A", 2.0, 1.0), unit("B", 0.0, 0.0)],
            vec![
                issue(issues::NEGATIVE_AVAILABLE, "B"),
                issue(issues::MISSING_SUPPLIER, "A"),
                issue(issues::MISSING_SUPPLIER, "B"), // not selling: not an anomaly
                issue(issues::MISSING_LEAD_TIME, "A"),
            ],
        );
        let got: Vec<(String, Option<String>)> = plan_anomalies(&p)
            .into_iter()
            .map(|f| (f.kind, f.sku))
            .collect();
        assert_eq!(
            got,
            [
                (kind::NEGATIVE_STOCK.to_string(), Some("B".to_string())),
                (kind::NO_SUPPLIER.to_string(), Some("A".to_string())),
                (kind::NO_LEAD_TIME.to_string(), Some("A".to_string())),
            ]
        );
        assert!(plan_anomalies(&plan_with(vec![unit("A", 2.0, 1.0)], vec![])).is_empty());
    }

    #[test]
    fn a_velocity_jump_is_more_than_k_previous_sigmas() {
        let p = plan_with(
            vec![
                unit("A", 8.0, 2.0),
                unit("B", 4.0, 1.0),
                unit("C", 9.0, 0.0),
            ],
            vec![],
        );
        let mut prev = BTreeMap::new();
        prev.insert("A|Main".to_string(), (2.0, 1.5)); // 8 > 2 + 3·1.5 = 6.5: a jump (4.0 σ)
        prev.insert("B|Main".to_string(), (2.0, 1.0)); // 4 > 2 + 3·1 = 5? no
        prev.insert("C|Main".to_string(), (1.0, 0.0)); // no previous σ: not judged
        let jumps = velocity_jumps(&p, &prev, 3.0);
        assert_eq!(jumps.len(), 1);
        assert_eq!(jumps[0].sku.as_deref(), Some("A"));
        assert!(jumps[0].detail.contains("4.0 σ"), "{}", jumps[0].detail);
        // The stored velocities round-trip for the next audit.
        assert_eq!(velocities(&p).get("B|Main"), Some(&(4.0, 1.0)));
    }

    #[test]
    fn receipts_must_show_in_stock_within_tolerance() {
        let k = |s: &str| (s.to_string(), "Main".to_string());
        let mut c = ReceiptCheck {
            purchases: vec!["PO-00007".into()],
            ..ReceiptCheck::default()
        };
        // A: 10 + 24 received − 4 sold = 30 expected; 30 on hand: fine.
        c.received.insert(k("A"), 24.0);
        c.before.insert(k("A"), 10.0);
        c.sold.insert(k("A"), 4.0);
        c.after.insert(k("A"), 30.0);
        // B: 0 + 100 − 0 = 100 expected; 96 on hand: 4 ≤ max(1, 5) tolerated.
        c.received.insert(k("B"), 100.0);
        c.after.insert(k("B"), 96.0);
        // C: 5 + 12 − 0 = 17 expected; 12 on hand: 5 missing > max(1, 0.6).
        c.received.insert(k("C"), 12.0);
        c.before.insert(k("C"), 5.0);
        c.after.insert(k("C"), 12.0);
        let got = receipt_mismatches(&c);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].sku.as_deref(), Some("C"));
        assert_eq!(
            got[0].detail,
            "received 12 (PO-00007) but on hand went 5 → 12 with 0 sold in between: 5 unit(s) missing"
        );
    }

    #[test]
    fn a_single_order_over_half_of_the_window_demand_is_named() {
        let orders = vec![
            o(
                "1",
                "2024-05-10T12:00:00Z",
                vec![line("A", 2), line("B", 5)],
            ),
            o("2", "2024-05-11T12:00:00Z", vec![line("A", 30)]),
            o("3", "2024-05-12T12:00:00Z", vec![line("A", 3)]),
            // B: one order only (trivially all of it): not reported.
            // Outside the window (today): not counted.
            o("4", "2024-06-01T01:00:00Z", vec![line("A", 500)]),
        ];
        let resolve = |s: &str| Some(s.to_string());
        let got = large_orders(&orders, d("2024-06-01"), 28, chrono_tz::Tz::UTC, &resolve);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].sku.as_deref(), Some("A"));
        assert!(
            got[0]
                .detail
                .starts_with("order #2 carries 30 of the 35 units")
        );
        // Exactly half is not "over half".
        let even = vec![
            o("5", "2024-05-10T12:00:00Z", vec![line("C", 5)]),
            o("6", "2024-05-11T12:00:00Z", vec![line("C", 5)]),
        ];
        assert!(large_orders(&even, d("2024-06-01"), 28, chrono_tz::Tz::UTC, &resolve).is_empty());
    }

    #[test]
    fn settled_drafts_are_findings_by_their_close_reason() {
        let approved = CloseReason::Approved {
            status: "ORDERED".into(),
            order_status: "AUTHORISED".into(),
        };
        let cases = [
            (Recovered::Closed(approved), kind::DRAFT_APPROVED),
            (Recovered::Closed(CloseReason::Voided), kind::DRAFT_VOIDED),
            (
                Recovered::Closed(CloseReason::EditedByPerson(
                    crate::core::settle::Edit::Repriced,
                )),
                kind::DRAFT_EDITED,
            ),
            (
                Recovered::Closed(CloseReason::EditedByPerson(
                    crate::core::settle::Edit::MovedLocation("East".into()),
                )),
                kind::DRAFT_EDITED,
            ),
            (Recovered::Closed(CloseReason::Gone), kind::DRAFT_GONE),
            (
                Recovered::Closed(CloseReason::NeverCreated),
                kind::DRAFT_RECOVERED,
            ),
            (Recovered::Adopted, kind::DRAFT_RECOVERED),
            (Recovered::Finished, kind::DRAFT_RECOVERED),
        ];
        for (what, expected) in cases {
            assert_eq!(settled_draft_kind(&what), expected, "{what}");
        }
    }
}
