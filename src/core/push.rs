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
//! - An update keeps a line a gate held at the quantity the tool's draft last had
//!   ([`keep_held_lines`]): held means "not changed now", not "cancelled".
//!
//! Also here, for the write itself: the lines the ledger keeps for a PO ([`written_lines`]) and
//! the purchase as the tool just wrote it ([`written_purchase`]), which replaces the store's copy.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::Serialize;

use crate::core::drafts::same_lines;
use crate::core::issues;
use crate::core::ledger::{LedgerEntry, LedgerState, WrittenLine};
use crate::core::model::{Purchase, PurchaseDetail, PurchaseLine};
use crate::core::plan::{Plan, PurchaseOrder};
use crate::core::settings::SupplierOverride;

/// A line a gate kept out of its PO (also how the draft report lists it).
#[derive(Debug, Clone, PartialEq, Serialize)]
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

impl OpenDraft {
    /// An open ledger row as the decision needs it; `None` while it has no purchase yet (an
    /// intent), which no action can touch.
    pub fn from_entry(e: &LedgerEntry) -> Option<OpenDraft> {
        e.purchase_id.as_ref()?;
        Some(OpenDraft {
            intent_id: e.intent_id.clone(),
            supplier_id: e.supplier_id.clone(),
            supplier: e.supplier.clone(),
            location: e.location.clone(),
            order_number: e.order_number.clone(),
            written: e
                .lines
                .iter()
                .map(|l| (l.sku.clone(), l.quantity, l.price))
                .collect(),
            settled: e.state == LedgerState::Done,
        })
    }
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

/// An update must not take away lines a data-quality gate held: the tool's draft keeps them at
/// the quantity it last wrote (held means "not changed now", not "cancelled"). A held line goes
/// back into the PO (as the plan had it, at the written quantity) when the draft has it and the
/// PO lost it; the PO is then re-totalled, its lines sorted by SKU, and it is `Unchanged` when
/// its lines are now exactly what the settled draft holds. Any other action is returned as it is.
pub fn keep_held_lines(action: Action, plan: &Plan, gated: &Gated) -> Action {
    let Action::Update { draft, mut po } = action else {
        return action;
    };
    let mut kept = false;
    for h in gated
        .held
        .iter()
        .filter(|h| h.supplier == po.supplier && h.location == po.location)
    {
        let Some((_, quantity, _)) = draft.written.iter().find(|(sku, _, _)| *sku == h.sku) else {
            continue;
        };
        let original = plan
            .purchase_orders
            .iter()
            .filter(|p| p.supplier_id == po.supplier_id && p.location == po.location)
            .flat_map(|p| p.lines.iter())
            .find(|l| l.sku == h.sku);
        if let Some(line) = original
            && !po.lines.iter().any(|l| l.sku == h.sku)
        {
            let mut line = line.clone();
            line.quantity = *quantity;
            line.total = Decimal::try_from(*quantity).unwrap_or_default() * line.price;
            po.lines.push(line);
            kept = true;
        }
    }
    if kept {
        po.lines.sort_by(|a, b| a.sku.cmp(&b.sku));
        po.total = po.lines.iter().map(|l| l.total).sum();
        if draft.settled
            && same_lines(
                po.lines
                    .iter()
                    .map(|l| (l.sku.as_str(), l.quantity, l.price)),
                draft.written.iter().map(|(s, q, p)| (s.as_str(), *q, *p)),
            )
        {
            return Action::Unchanged { draft, po };
        }
    }
    Action::Update { draft, po }
}

/// A PO's lines as the ledger keeps them.
pub fn written_lines(po: &PurchaseOrder) -> Vec<WrittenLine> {
    po.lines
        .iter()
        .map(|l| WrittenLine {
            sku: l.sku.clone(),
            quantity: l.quantity,
            price: l.price,
        })
        .collect()
}

/// The purchase as the tool just wrote it: header, tag and lines, order status DRAFT. Its
/// `last_updated` is unknown until the next sync reads it (which then refreshes the detail too).
pub fn written_purchase(
    po: &PurchaseOrder,
    purchase_id: &str,
    order_number: Option<&str>,
    intent_id: &str,
) -> Purchase {
    Purchase {
        id: purchase_id.to_string(),
        order_number: order_number.unwrap_or_default().to_string(),
        status: "ORDERING".into(),
        order_status: Some("DRAFT".into()),
        supplier_id: Some(po.supplier_id.clone()),
        supplier: Some(po.supplier.clone()),
        required_by: Some(po.required_by),
        last_updated: None,
        detail: Some(PurchaseDetail {
            location: Some(po.location.clone()),
            note: Some(crate::core::ledger::tag(intent_id)),
            order_status: Some("DRAFT".into()),
            lines: po
                .lines
                .iter()
                .map(|l| PurchaseLine {
                    product_id: Some(l.product_id.clone()),
                    sku: l.sku.clone(),
                    name: Some(l.name.clone()),
                    quantity: l.quantity,
                    price: l.price,
                    total: l.total,
                    supplier_sku: l.supplier_sku.clone(),
                })
                .collect(),
        }),
    }
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

    fn held(sku: &str, supplier: &str, location: &str) -> HeldLine {
        HeldLine {
            gate: issues::NEGATIVE_AVAILABLE,
            sku: sku.into(),
            supplier: supplier.into(),
            location: location.into(),
            quantity: 4.0,
            reason: "held".into(),
        }
    }

    /// Lines of a PO as (SKU, quantity, total) and its total.
    fn summary(po: &PurchaseOrder) -> (Vec<(String, f64, Decimal)>, Decimal) {
        (
            po.lines
                .iter()
                .map(|l| (l.sku.clone(), l.quantity, l.total))
                .collect(),
            po.total,
        )
    }

    #[test]
    fn an_update_keeps_held_lines_at_their_written_quantity() {
        // The plan wants A 5 @ 2, B 4 @ 3 and C 2 @ 1 from Acme at Main; the tool's draft holds
        // A 5, B 6, C 2 at those prices. B has negative stock now, so its gate holds it.
        let planned = po(
            "Acme",
            "Main",
            vec![
                po_line("A", 5.0, 2),
                po_line("B", 4.0, 3),
                po_line("C", 2.0, 1),
            ],
        );
        let plan = plan(vec![], vec![planned], vec![]);
        let dec = |n: i64| Decimal::from(n);
        type Case = (
            &'static str,
            Vec<PurchaseOrderLine>,        // the gated PO's lines
            Vec<(&'static str, f64, i64)>, // the draft's written lines
            bool,                          // settled
            Vec<HeldLine>,
            &'static str,                  // expected action
            Vec<(&'static str, f64, i64)>, // expected (SKU, quantity, total)
            i64,                           // expected total
        );
        let written = vec![("A", 5.0, 2), ("B", 6.0, 3), ("C", 2.0, 1)];
        let cases: Vec<Case> = vec![
            (
                "B kept at 6 (6 × 3 = 18): exactly the settled draft, so unchanged",
                vec![po_line("C", 2.0, 1), po_line("A", 5.0, 2)],
                written.clone(),
                true,
                vec![held("B", "Acme", "Main")],
                "unchanged",
                vec![("A", 5.0, 10), ("B", 6.0, 18), ("C", 2.0, 2)],
                30,
            ),
            (
                "the same, but the draft's lines are not known written: rewritten",
                vec![po_line("A", 5.0, 2), po_line("C", 2.0, 1)],
                written.clone(),
                false,
                vec![held("B", "Acme", "Main")],
                "update",
                vec![("A", 5.0, 10), ("B", 6.0, 18), ("C", 2.0, 2)],
                30,
            ),
            (
                "A grows to 7 (14): B kept, the PO re-totalled 14 + 18 + 2",
                vec![po_line("A", 7.0, 2), po_line("C", 2.0, 1)],
                written.clone(),
                true,
                vec![held("B", "Acme", "Main")],
                "update",
                vec![("A", 7.0, 14), ("B", 6.0, 18), ("C", 2.0, 2)],
                34,
            ),
            (
                "the draft never had B: nothing to keep",
                vec![po_line("A", 5.0, 2), po_line("C", 2.0, 1)],
                vec![("A", 5.0, 2), ("C", 2.0, 1)],
                true,
                vec![held("B", "Acme", "Main")],
                "update",
                vec![("A", 5.0, 10), ("C", 2.0, 2)],
                12,
            ),
            (
                "a hold at another location is not this PO's",
                vec![po_line("A", 5.0, 2), po_line("C", 2.0, 1)],
                written.clone(),
                true,
                vec![held("B", "Acme", "East")],
                "update",
                vec![("A", 5.0, 10), ("C", 2.0, 2)],
                12,
            ),
            (
                "a hold of another supplier is not this PO's",
                vec![po_line("A", 5.0, 2), po_line("C", 2.0, 1)],
                written.clone(),
                true,
                vec![held("B", "Other", "Main")],
                "update",
                vec![("A", 5.0, 10), ("C", 2.0, 2)],
                12,
            ),
            (
                "a held line the PO still has is not added twice",
                vec![
                    po_line("A", 5.0, 2),
                    po_line("B", 4.0, 3),
                    po_line("C", 2.0, 1),
                ],
                written.clone(),
                true,
                vec![held("B", "Acme", "Main")],
                "update",
                vec![("A", 5.0, 10), ("B", 4.0, 12), ("C", 2.0, 2)],
                24,
            ),
        ];
        for (name, lines, written, settled, held_lines, expected, expected_lines, total) in cases {
            let draft = open("Acme", "Main", &written, settled);
            let gated = Gated {
                orders: vec![],
                held: held_lines,
            };
            let action = Action::Update {
                draft,
                po: po("Acme", "Main", lines),
            };
            let (kind, got) = match keep_held_lines(action, &plan, &gated) {
                Action::Update { po, .. } => ("update", po),
                Action::Unchanged { po, .. } => ("unchanged", po),
                other => panic!("{name}: {other:?}"),
            };
            let expected_lines: Vec<(String, f64, Decimal)> = expected_lines
                .into_iter()
                .map(|(s, q, t)| (s.to_string(), q, dec(t)))
                .collect();
            assert_eq!(kind, expected, "{name}");
            assert_eq!(summary(&got), (expected_lines, dec(total)), "{name}");
        }
        // A fractional written quantity: 2.5 × 3 = 7.5.
        let action = Action::Update {
            draft: open("Acme", "Main", &[("A", 5.0, 2), ("B", 2.5, 3)], true),
            po: po("Acme", "Main", vec![po_line("A", 5.0, 2)]),
        };
        let gated = Gated {
            orders: vec![],
            held: vec![held("B", "Acme", "Main")],
        };
        let Action::Unchanged { po: kept, .. } = keep_held_lines(action, &plan, &gated) else {
            panic!("A 5 and B 2.5 are what the draft holds");
        };
        assert_eq!(kept.total, "17.5".parse::<Decimal>().unwrap());
        // Only updates are touched.
        let create = Action::Create {
            po: po("Acme", "Main", vec![po_line("A", 5.0, 2)]),
        };
        assert_eq!(keep_held_lines(create.clone(), &plan, &gated), create);
    }

    #[test]
    fn what_the_tool_writes_and_what_it_then_holds() {
        let mut order = po(
            "Acme",
            "Main",
            vec![po_line("B", 2.0, 3), po_line("A", 1.5, 4)],
        );
        order.lines[0].supplier_sku = Some("AC-B".into());
        assert_eq!(
            written_lines(&order),
            vec![
                WrittenLine {
                    sku: "B".into(),
                    quantity: 2.0,
                    price: Decimal::from(3)
                },
                WrittenLine {
                    sku: "A".into(),
                    quantity: 1.5,
                    price: Decimal::from(4)
                },
            ]
        );
        let p = written_purchase(&order, "p-7", Some("PO-0007"), "i-7");
        assert_eq!(
            (
                p.id.as_str(),
                p.order_number.as_str(),
                p.status.as_str(),
                p.order_status.as_deref(),
                p.supplier_id.as_deref(),
                p.supplier.as_deref(),
                p.required_by,
                p.last_updated,
            ),
            (
                "p-7",
                "PO-0007",
                "ORDERING",
                Some("DRAFT"),
                Some("id-Acme"),
                Some("Acme"),
                Some(d("2026-12-11")),
                None
            )
        );
        let detail = p.detail.as_ref().unwrap();
        assert_eq!(detail.location.as_deref(), Some("Main"));
        assert_eq!(detail.note.as_deref(), Some("replenish:i-7"));
        assert_eq!(detail.order_status.as_deref(), Some("DRAFT"));
        let lines: Vec<_> = detail
            .lines
            .iter()
            .map(|l| {
                (
                    l.sku.as_str(),
                    l.product_id.as_deref(),
                    l.quantity,
                    l.total,
                    l.supplier_sku.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                ("B", Some("p-B"), 2.0, Decimal::from(6), Some("AC-B")),
                ("A", Some("p-A"), 1.5, Decimal::from(6), None),
            ]
        );
        // Before the header is known there is no order number.
        assert_eq!(
            written_purchase(&order, "p-7", None, "i-7").order_number,
            ""
        );
        // As the settle check then sees it: the tool's own draft, untouched.
        let entry = LedgerEntry {
            intent_id: "i-7".into(),
            supplier_id: "id-Acme".into(),
            supplier: "Acme".into(),
            location: "Main".into(),
            state: LedgerState::Done,
            purchase_id: Some("p-7".into()),
            order_number: Some("PO-0007".into()),
            lines: written_lines(&order),
            pending_lines: None,
            created_at: t("2026-11-27T08:00:00Z"),
            updated_at: t("2026-11-27T08:00:00Z"),
            closed_reason: None,
        };
        assert_eq!(
            crate::core::settle::verdict(&entry, &p),
            crate::core::settle::Verdict::Untouched
        );
        let draft = OpenDraft::from_entry(&entry).unwrap();
        assert_eq!(
            draft.written,
            vec![
                ("B".to_string(), 2.0, Decimal::from(3)),
                ("A".to_string(), 1.5, Decimal::from(4))
            ]
        );
        assert!(draft.settled);
        let intent = LedgerEntry {
            state: LedgerState::Intent,
            purchase_id: None,
            ..entry
        };
        assert_eq!(
            OpenDraft::from_entry(&intent),
            None,
            "an intent has no draft yet"
        );
    }
}
