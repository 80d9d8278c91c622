//! What `draft` does to Cin7, decided without touching it: the data-quality gates that hold lines
//! and purchase orders back, then one action per (supplier, key location) — create a draft,
//! update the tool's own draft, leave it unchanged, hold the PO, or leave a draft alone. Pure: no
//! IO; the app carries the actions out and records each step in the ledger.
//!
//! Gates (product.md §5), applied to the plan's purchase orders before any write:
//! - **stale data** (the plan's `stale_data` issue: the newest availability snapshot is older than
//!   `policy.max_data_age_minutes`, or there is none): every PO is held.
//! - **negative stock** (a line flagged `negative_available`): that line is held.
//! - **a SKU selling that maps to nothing** (an `unmapped_sku` issue): its demand is missing from
//!   the plan, so the product it most likely is — the one active Cin7 SKU equal to it ignoring
//!   case, spaces, dashes and underscores — has its lines held. When no Cin7 SKU matches that way,
//!   no line can be blamed; the issue is still alerted.
//!
//! Decisions (the shared docs are silent):
//! - A PO that loses lines to a gate keeps the rest. Its total is recomputed; below the supplier's
//!   `min_order_value` it is held (no second top-up: the plan's top-up was for the full PO). A PO
//!   that loses every line is held.
//! - A held PO leaves the tool's open draft for it as it is (planning.md: "the draft is left as it
//!   is and reported").
//! - An open tool draft the plan has no PO for is left as it is and reported (planning.md).
//! - "Unchanged" needs the draft's lines to be known written (ledger state `done`) and equal, as a
//!   multiset at 4 decimal places, to the PO's; anything else is rewritten (the re-POST replaces
//!   the lines, so rewriting is always safe for the tool's own draft).

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;

use crate::core::drafts::same_lines;
use crate::core::issues;
use crate::core::plan::{Plan, PurchaseOrder};
use crate::core::settings::SupplierOverride;

/// A line a gate kept out of its PO.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldLine {
    /// The gate: `stale_data`, `negative_available` or `unmapped_sku`.
    pub gate: &'static str,
    pub sku: String,
    pub supplier: String,
    pub location: String,
    pub quantity: f64,
    /// In words, for the report and the alert.
    pub reason: String,
}

/// The plan's POs after the gates, and what they held.
#[derive(Debug, Clone, PartialEq)]
pub struct Gated {
    pub orders: Vec<PurchaseOrder>,
    pub held: Vec<HeldLine>,
}

/// A SKU compared loosely (one definition, shared with the SKU audit).
pub use crate::core::skumatch::loose_sku;

/// Applies the gates to `plan`'s purchase orders.
pub fn gate(plan: &Plan, suppliers: &BTreeMap<String, SupplierOverride>) -> Gated {
    let stale = plan
        .issues
        .iter()
        .find(|i| i.kind == issues::STALE_DATA)
        .map(|i| i.detail.clone());
    let negative: BTreeSet<(&str, &str)> = plan
        .lines
        .iter()
        .filter(|l| l.flags.iter().any(|f| f == issues::NEGATIVE_AVAILABLE))
        .map(|l| (l.sku.as_str(), l.location.as_str()))
        .collect();
    // Cin7 SKU → the unmapped Shopify SKU that most likely is it.
    let suspects: BTreeMap<String, String> = {
        let mut by_loose: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
        for l in &plan.lines {
            by_loose
                .entry(loose_sku(&l.sku))
                .or_default()
                .insert(l.sku.as_str());
        }
        let mut out = BTreeMap::new();
        for i in plan
            .issues
            .iter()
            .filter(|i| i.kind == issues::UNMAPPED_SKU)
        {
            let Some(shopify) = &i.sku else { continue };
            if let Some(skus) = by_loose.get(&loose_sku(shopify))
                && skus.len() == 1
                && let Some(cin7) = skus.first()
            {
                out.insert((*cin7).to_string(), shopify.clone());
            }
        }
        out
    };

    let mut held = Vec::new();
    let mut orders = Vec::with_capacity(plan.purchase_orders.len());
    for po in &plan.purchase_orders {
        let mut po = po.clone();
        let hold_line =
            |l: &crate::core::plan::PurchaseOrderLine| -> Option<(&'static str, String)> {
                if let Some(detail) = &stale {
                    return Some((
                        issues::STALE_DATA,
                        format!("held: stock data is stale ({detail})"),
                    ));
                }
                if negative.contains(&(l.sku.as_str(), po.location.as_str())) {
                    return Some((
                        issues::NEGATIVE_AVAILABLE,
                        format!(
                            "held: {} has negative available stock at {}; fix the stock in Cin7 first",
                            l.sku, po.location
                        ),
                    ));
                }
                suspects.get(&l.sku).map(|shopify| {
                (
                    issues::UNMAPPED_SKU,
                    format!(
                        "held: Shopify SKU \"{shopify}\" sells but maps to nothing; it looks like {} (map it in skus.mapping_file)",
                        l.sku
                    ),
                )
            })
            };
        if po.status == "hold" {
            orders.push(po);
            continue;
        }
        let (keep, gone): (Vec<_>, Vec<_>) = po
            .lines
            .iter()
            .cloned()
            .partition(|l| hold_line(l).is_none());
        for l in &gone {
            if let Some((gate, reason)) = hold_line(l) {
                held.push(HeldLine {
                    gate,
                    sku: l.sku.clone(),
                    supplier: po.supplier.clone(),
                    location: po.location.clone(),
                    quantity: l.quantity,
                    reason,
                });
            }
        }
        if gone.is_empty() {
            orders.push(po);
            continue;
        }
        po.total = keep.iter().map(|l| l.total).sum::<Decimal>();
        po.lines = keep;
        let minimum = suppliers
            .get(&po.supplier)
            .and_then(|s| s.min_order_value)
            .filter(|m| *m > Decimal::ZERO);
        if po.lines.is_empty() {
            po.status = "hold".into();
            po.hold_reason = Some("every line is held by a data-quality gate".into());
        } else if let Some(m) = minimum
            && po.total < m
        {
            po.status = "hold".into();
            po.hold_reason = Some(format!(
                "below the supplier minimum once gated lines are held: total {} < minimum {m}",
                po.total
            ));
        }
        orders.push(po);
    }
    Gated { orders, held }
}

/// A tool draft open in the ledger, as the decision needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenDraft {
    pub intent_id: String,
    pub supplier_id: String,
    pub supplier: String,
    pub location: String,
    pub order_number: Option<String>,
    /// The lines last written.
    pub written: Vec<(String, f64, Decimal)>,
    /// Whether `written` is known to be what Cin7 holds (ledger state `done`).
    pub settled: bool,
}

/// What to do for one (supplier, key location).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// No tool draft yet: create one with the PO's lines.
    Create { po: PurchaseOrder },
    /// Rewrite the tool's own draft with the PO's lines.
    Update { draft: OpenDraft, po: PurchaseOrder },
    /// The tool's draft already holds exactly these lines: no call.
    Unchanged { draft: OpenDraft, po: PurchaseOrder },
    /// The PO is held (supplier minimum or a gate); any tool draft for it stays as it is.
    Hold {
        po: PurchaseOrder,
        draft: Option<OpenDraft>,
    },
    /// A tool draft the plan has no PO for: left as it is, reported.
    LeaveAlone { draft: OpenDraft },
}

/// One action per PO and per open draft without a PO, in the POs' order (then the drafts').
pub fn decide(orders: &[PurchaseOrder], open: &[OpenDraft]) -> Vec<Action> {
    let mut by_key: BTreeMap<(&str, &str), &OpenDraft> = BTreeMap::new();
    for d in open {
        by_key.insert((d.supplier_id.as_str(), d.location.as_str()), d);
    }
    let mut used = BTreeSet::new();
    let mut actions = Vec::with_capacity(orders.len() + open.len());
    for po in orders {
        let key = (po.supplier_id.as_str(), po.location.as_str());
        let draft = by_key.get(&key).copied();
        if draft.is_some() {
            used.insert(key);
        }
        let po = po.clone();
        actions.push(match draft {
            _ if po.status == "hold" => Action::Hold {
                po,
                draft: draft.cloned(),
            },
            None => Action::Create { po },
            Some(d)
                if d.settled
                    && same_lines(
                        po.lines
                            .iter()
                            .map(|l| (l.sku.as_str(), l.quantity, l.price)),
                        d.written.iter().map(|(s, q, p)| (s.as_str(), *q, *p)),
                    ) =>
            {
                Action::Unchanged {
                    draft: d.clone(),
                    po,
                }
            }
            Some(d) => Action::Update {
                draft: d.clone(),
                po,
            },
        });
    }
    for d in open {
        if !used.contains(&(d.supplier_id.as_str(), d.location.as_str())) {
            actions.push(Action::LeaveAlone { draft: d.clone() });
        }
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::{Issue, PlanLine, PurchaseOrderLine};
    use crate::core::testkit::*;

    fn po_line(sku: &str, quantity: f64, price: i64) -> PurchaseOrderLine {
        PurchaseOrderLine {
            sku: sku.into(),
            product_id: format!("p-{sku}"),
            name: sku.into(),
            quantity,
            price: Decimal::from(price),
            total: Decimal::from(price) * Decimal::try_from(quantity).unwrap_or_default(),
            supplier_sku: None,
        }
    }

    fn po(supplier: &str, location: &str, lines: Vec<PurchaseOrderLine>) -> PurchaseOrder {
        PurchaseOrder {
            supplier_id: format!("id-{supplier}"),
            supplier: supplier.into(),
            location: location.into(),
            required_by: d("2026-12-11"),
            currency: Some("USD".into()),
            status: "new".into(),
            total: lines.iter().map(|l| l.total).sum(),
            lines,
            payment_term: None,
            tax_rule: None,
            min_order_value: None,
            hold_reason: None,
        }
    }

    fn plan_line(sku: &str, location: &str, flags: &[&str]) -> PlanLine {
        PlanLine {
            sku: sku.into(),
            location: location.into(),
            flags: flags.iter().map(|f| f.to_string()).collect(),
            ..PlanLine::default()
        }
    }

    fn issue(kind: &str, sku: Option<&str>) -> Issue {
        Issue {
            kind: kind.into(),
            sku: sku.map(Into::into),
            location: None,
            detail: format!("{kind} detail"),
        }
    }

    fn plan(lines: Vec<PlanLine>, orders: Vec<PurchaseOrder>, issues: Vec<Issue>) -> Plan {
        let mut p = Fixture::new()
            .try_plan(d("2026-11-27"))
            .unwrap_or_else(|e| panic!("{e}"));
        p.lines = lines;
        p.purchase_orders = orders;
        p.issues = issues;
        p
    }

    #[test]
    fn loose_skus_ignore_case_spaces_dashes_and_underscores() {
        assert_eq!(loose_sku("ab-12 x_y"), "AB12XY");
        assert_eq!(loose_sku("AB12XY"), loose_sku("a b-1_2-x y"));
    }

    #[test]
    fn stale_data_holds_every_po() {
        let p = plan(
            vec![plan_line("A", "Main", &[])],
            vec![po("Acme", "Main", vec![po_line("A", 12.0, 3)])],
            vec![issue(issues::STALE_DATA, None)],
        );
        let g = gate(&p, &BTreeMap::new());
        assert_eq!(g.orders.len(), 1);
        assert_eq!(g.orders[0].status, "hold");
        assert!(g.orders[0].lines.is_empty());
        assert_eq!(g.held.len(), 1);
        assert_eq!(g.held[0].gate, issues::STALE_DATA);
        assert_eq!((g.held[0].sku.as_str(), g.held[0].quantity), ("A", 12.0));
        assert!(g.held[0].reason.contains("stale_data detail"));
    }

    #[test]
    fn negative_stock_and_a_look_alike_unmapped_sku_hold_their_lines_only() {
        let mut minimums = BTreeMap::new();
        minimums.insert(
            "Beta".to_string(),
            SupplierOverride {
                min_order_value: Some(Decimal::from(50)),
                ..SupplierOverride::default()
            },
        );
        let p = plan(
            vec![
                plan_line("A-1", "Main", &[issues::NEGATIVE_AVAILABLE]),
                plan_line("B-2", "Main", &[]),
                plan_line("C-3", "Main", &[]),
                plan_line("D-4", "Main", &[]),
                plan_line("E-5", "Main", &[]),
            ],
            vec![
                // 12×3 + 10×2 = 56: A-1 held → 20 left.
                po(
                    "Acme",
                    "Main",
                    vec![po_line("A-1", 12.0, 3), po_line("B-2", 10.0, 2)],
                ),
                // 6×5 + 5×5 = 55 ≥ 50; c3 sells unmapped and looks like C-3 → 25 < 50: held.
                po(
                    "Beta",
                    "Main",
                    vec![po_line("C-3", 6.0, 5), po_line("D-4", 5.0, 5)],
                ),
                po("Gamma", "Main", vec![po_line("E-5", 1.0, 1)]),
            ],
            vec![
                issue(issues::UNMAPPED_SKU, Some("c3")),
                // Matches nothing loosely: alerted elsewhere, holds nothing.
                issue(issues::UNMAPPED_SKU, Some("ZZZ")),
                issue(issues::UNMAPPED_SKU, None),
            ],
        );
        let g = gate(&p, &minimums);
        let held: Vec<(&str, &str)> = g.held.iter().map(|h| (h.sku.as_str(), h.gate)).collect();
        assert_eq!(
            held,
            [
                ("A-1", issues::NEGATIVE_AVAILABLE),
                ("C-3", issues::UNMAPPED_SKU)
            ]
        );
        assert!(g.held[1].reason.contains("\"c3\""));
        let acme = &g.orders[0];
        assert_eq!(acme.status, "new");
        assert_eq!(acme.total, Decimal::from(20));
        assert_eq!(acme.lines.len(), 1);
        let beta = &g.orders[1];
        assert_eq!(
            (beta.status.as_str(), beta.total),
            ("hold", Decimal::from(25))
        );
        assert!(
            beta.hold_reason
                .as_deref()
                .unwrap_or("")
                .contains("minimum 50")
        );
        assert_eq!(g.orders[2], p.purchase_orders[2], "untouched by the gates");
    }

    fn open(
        supplier: &str,
        location: &str,
        written: &[(&str, f64, i64)],
        settled: bool,
    ) -> OpenDraft {
        OpenDraft {
            intent_id: format!("i-{supplier}-{location}"),
            supplier_id: format!("id-{supplier}"),
            supplier: supplier.into(),
            location: location.into(),
            order_number: Some("PO-1".into()),
            written: written
                .iter()
                .map(|(s, q, p)| (s.to_string(), *q, Decimal::from(*p)))
                .collect(),
            settled,
        }
    }

    #[test]
    fn one_action_per_po_and_per_orphaned_draft() {
        let mut held = po("Held", "Main", vec![po_line("H", 1.0, 1)]);
        held.status = "hold".into();
        let orders = vec![
            po("New", "Main", vec![po_line("A", 1.0, 1)]),
            // Same lines in another order: unchanged.
            po(
                "Same",
                "Main",
                vec![po_line("B", 2.0, 3), po_line("C", 1.0, 1)],
            ),
            // A quantity changed: update.
            po("Changed", "Main", vec![po_line("D", 5.0, 1)]),
            // Same lines, but not known written: update (a rewrite is safe).
            po("Unsettled", "Main", vec![po_line("E", 1.0, 1)]),
            held,
        ];
        let drafts = vec![
            open("Same", "Main", &[("C", 1.0, 1), ("B", 2.0, 3)], true),
            open("Changed", "Main", &[("D", 4.0, 1)], true),
            open("Unsettled", "Main", &[("E", 1.0, 1)], false),
            open("Held", "Main", &[("H", 1.0, 1)], true),
            open("Orphan", "East", &[("Z", 1.0, 1)], true),
        ];
        let kinds: Vec<String> = decide(&orders, &drafts)
            .iter()
            .map(|a| match a {
                Action::Create { po } => format!("create {}", po.supplier),
                Action::Update { po, .. } => format!("update {}", po.supplier),
                Action::Unchanged { po, .. } => format!("unchanged {}", po.supplier),
                Action::Hold { po, draft } => {
                    format!("hold {} draft={}", po.supplier, draft.is_some())
                }
                Action::LeaveAlone { draft } => format!("leave {}", draft.supplier_id),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "create New",
                "unchanged Same",
                "update Changed",
                "update Unsettled",
                "hold Held draft=true",
                "leave id-Orphan",
            ]
        );
    }
}
