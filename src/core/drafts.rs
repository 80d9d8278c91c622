//! On-draft quantities D: open draft purchases (purchase status ORDERING, order status DRAFT)
//! delivered to a pool member, whoever made them — except the tool's own untouched drafts, which
//! the plan replaces (their (supplier, location) PO gets status `update`). Pure: no IO.
//!
//! A draft is the tool's own untouched draft when all hold: its `Note` starts with `replenish:`,
//! its purchase ID is in the tool's ledger (`own_drafts`), and its current lines, as a multiset of
//! (SKU, quantity, price) compared at 4 decimal places and in any order, equal what the tool last
//! wrote. A tagged draft missing from the ledger and a tool draft a person edited count in D.
//!
//! Decisions (planning.md is silent):
//! - The order status is the detail's (`GET purchase`) when fetched, else the list's. Statuses
//!   are compared ignoring ASCII case. A draft without its detail has no known delivery location
//!   or lines and adds nothing.
//! - Lines are matched to products by SKU; a line with a blank SKU falls back to its ProductID.
//! - The `replenish:` prefix is matched exactly at the start of the note (case-sensitive).
//! - Lines are compared as a multiset: a person who duplicates a line has edited the draft.
//!   Rounding to 4 places is half away from zero, for quantities and prices alike.
//! - A purchase listed twice (same ID) counts once.
//! - The (supplier, location) a ledger draft stands for is the ledger's supplier ID and
//!   location (mapped to its key), not whatever the purchase header says now.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::{Decimal, RoundingStrategy};

use crate::core::catalog::{Catalog, Resolved};
use crate::core::locations::Locations;
use crate::core::model::{Purchase, PurchaseLine};
use crate::core::num::{FxMap, QtySum, fx_map};
use crate::core::plan::OwnDraft;

/// The note prefix the tool tags its drafts with.
pub const TOOL_NOTE_PREFIX: &str = "replenish:";

/// Whether a purchase is an open draft: purchase status ORDERING and order status DRAFT.
pub fn is_open_draft(p: &Purchase) -> bool {
    let order_status = p
        .detail
        .as_ref()
        .and_then(|d| d.order_status.as_deref())
        .or(p.order_status.as_deref());
    p.status.trim().eq_ignore_ascii_case("ORDERING")
        && order_status.is_some_and(|s| s.trim().eq_ignore_ascii_case("DRAFT"))
}

/// A line as compared with the ledger: (SKU, quantity × 10⁴ rounded, price at 4 places).
fn line_key(sku: &str, quantity: f64, price: Decimal) -> (String, i64, Decimal) {
    (
        sku.to_string(),
        (quantity * 1e4).round() as i64,
        price
            .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
            .normalize(),
    )
}

/// Whether the current lines of a draft equal what the tool last wrote (order ignored, 4 places).
pub fn lines_untouched(current: &[PurchaseLine], written: &[(String, f64, Decimal)]) -> bool {
    same_lines(
        current
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity, l.price)),
        written.iter().map(|(s, q, p)| (s.as_str(), *q, *p)),
    )
}

/// Whether two sets of (SKU, quantity, price) lines are equal as multisets at 4 decimal places:
/// the one comparison behind "untouched" and "nothing to update".
pub fn same_lines<'a>(
    a: impl Iterator<Item = (&'a str, f64, Decimal)>,
    b: impl Iterator<Item = (&'a str, f64, Decimal)>,
) -> bool {
    let mut a: Vec<_> = a.map(|(s, q, p)| line_key(s, q, p)).collect();
    let mut b: Vec<_> = b.map(|(s, q, p)| line_key(s, q, p)).collect();
    a.sort();
    b.sort();
    a == b
}

/// How a draft relates to the tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftKind {
    /// Not the tool's: counts in D.
    Other,
    /// Tagged `replenish:` but not in the ledger: counts in D.
    TaggedNotInLedger,
    /// The tool's, but edited by a person (or its tag removed): counts in D.
    Edited,
    /// The tool's own untouched draft: left out of D.
    OwnUntouched,
}

impl DraftKind {
    pub fn describe(self) -> &'static str {
        match self {
            DraftKind::Other => "draft",
            DraftKind::TaggedNotInLedger => "draft tagged replenish: but not in the tool's ledger",
            DraftKind::Edited => "tool draft edited by a person",
            DraftKind::OwnUntouched => "the tool's own untouched draft",
        }
    }
}

/// Classifies an open draft against the ledger entry with its ID (if any).
pub fn classify(p: &Purchase, ledger: Option<&OwnDraft>) -> DraftKind {
    let note = p.detail.as_ref().and_then(|d| d.note.as_deref());
    let tagged = note.is_some_and(|n| n.starts_with(TOOL_NOTE_PREFIX));
    match (tagged, ledger) {
        (false, None) => DraftKind::Other,
        (false, Some(_)) => DraftKind::Edited,
        (true, None) => DraftKind::TaggedNotInLedger,
        (true, Some(own)) => {
            let lines = p.detail.as_ref().map(|d| d.lines.as_slice()).unwrap_or(&[]);
            if lines_untouched(lines, &own.lines) {
                DraftKind::OwnUntouched
            } else {
                DraftKind::Edited
            }
        }
    }
}

/// A counted draft line, for `--explain`: (order number, what it is, quantity).
pub type CountedDraft = (String, String, f64);

/// D of every unit, and which (supplier, key) pairs have an own untouched draft.
#[derive(Debug, Default)]
pub struct Drafts {
    pub on_draft: Vec<QtySum>,
    /// Drafts counted in D, by unit.
    pub counted: FxMap<usize, Vec<CountedDraft>>,
    /// Own untouched drafts left out of D, by unit (order numbers).
    pub left_out: FxMap<usize, Vec<String>>,
    /// (supplier ID, key index) with an open own untouched draft.
    pub own_untouched: BTreeSet<(String, usize)>,
}

impl Drafts {
    pub fn collect(
        purchases: &[Purchase],
        own: &[OwnDraft],
        catalog: &Catalog<'_>,
        locs: &Locations,
    ) -> Drafts {
        let keys = locs.keys.len();
        let ledger: BTreeMap<&str, &OwnDraft> =
            own.iter().map(|o| (o.purchase_id.as_str(), o)).collect();
        let mut out = Drafts {
            on_draft: vec![QtySum::default(); catalog.stock.len() * keys],
            counted: fx_map(16),
            left_out: fx_map(16),
            own_untouched: BTreeSet::new(),
        };
        // Deterministic order for the trace: by order number, then ID.
        let mut open: Vec<&Purchase> = purchases.iter().filter(|p| is_open_draft(p)).collect();
        open.sort_by(|a, b| {
            a.order_number
                .cmp(&b.order_number)
                .then_with(|| a.id.cmp(&b.id))
        });
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for p in open {
            if !seen.insert(p.id.as_str()) {
                continue; // the same purchase listed twice counts once
            }
            let entry = ledger.get(p.id.as_str()).copied();
            let kind = classify(p, entry);
            if kind == DraftKind::OwnUntouched
                && let Some(own) = entry
                && let Some(k) = locs.key_of(&own.location)
            {
                out.own_untouched.insert((own.supplier_id.clone(), k));
            }
            let Some(detail) = p.detail.as_ref() else {
                continue;
            };
            let Some(k) = detail.location.as_deref().and_then(|l| locs.key_of(l)) else {
                continue;
            };
            for line in &detail.lines {
                let product = if line.sku.trim().is_empty() {
                    line.product_id
                        .as_deref()
                        .and_then(|id| catalog.stock_by_id(id))
                } else {
                    match catalog.cin7_sku(&line.sku) {
                        Resolved::Stock(i) => Some(i),
                        _ => None,
                    }
                };
                let Some(i) = product else {
                    continue;
                };
                let unit = i * keys + k;
                if kind == DraftKind::OwnUntouched {
                    let v = out.left_out.entry(unit).or_default();
                    if v.last() != Some(&p.order_number) {
                        v.push(p.order_number.clone());
                    }
                    continue;
                }
                out.on_draft[unit].add(line.quantity);
                let v = out.counted.entry(unit).or_default();
                match v.last_mut() {
                    Some(last) if last.0 == p.order_number => last.2 += line.quantity,
                    _ => v.push((
                        p.order_number.clone(),
                        kind.describe().to_string(),
                        line.quantity,
                    )),
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::*;

    fn own(id: &str, lines: &[(&str, f64, &str)]) -> OwnDraft {
        OwnDraft {
            purchase_id: id.to_string(),
            supplier_id: "sup-1".to_string(),
            location: "Main".to_string(),
            lines: lines
                .iter()
                .map(|(s, q, p)| (s.to_string(), *q, dec(p)))
                .collect(),
        }
    }

    #[test]
    fn open_draft_statuses() {
        let mut p = draft("1", "Main", "", &[("A", 1.0, "1")]);
        assert!(is_open_draft(&p));
        p.status = "ORDERED".to_string();
        assert!(!is_open_draft(&p));
        // Header-only DRAFT purchase (order status NOT AVAILABLE) is not an open draft.
        let mut p = draft("1", "Main", "", &[]);
        p.status = "DRAFT".to_string();
        if let Some(d) = p.detail.as_mut() {
            d.order_status = Some("NOT AVAILABLE".to_string());
        }
        assert!(!is_open_draft(&p));
        // Authorised order.
        let mut p = draft("1", "Main", "", &[]);
        if let Some(d) = p.detail.as_mut() {
            d.order_status = Some("AUTHORISED".to_string());
        }
        assert!(!is_open_draft(&p));
    }

    #[test]
    fn own_untouched_needs_tag_ledger_and_same_lines() {
        let p = draft(
            "1",
            "Main",
            "replenish: plan 42",
            &[("A", 10.0, "2.5"), ("B", 4.0, "1.10")],
        );
        // Same lines in another order, price written with another scale, qty within 4 places.
        let ledger = own("1", &[("B", 4.000_01, "1.1"), ("A", 10.0, "2.50")]);
        assert_eq!(classify(&p, Some(&ledger)), DraftKind::OwnUntouched);
        // A person changed a quantity.
        let edited = own("1", &[("B", 5.0, "1.1"), ("A", 10.0, "2.50")]);
        assert_eq!(classify(&p, Some(&edited)), DraftKind::Edited);
        // A person added a line.
        let fewer = own("1", &[("A", 10.0, "2.5")]);
        assert_eq!(classify(&p, Some(&fewer)), DraftKind::Edited);
        // Tagged but not in the ledger.
        assert_eq!(classify(&p, None), DraftKind::TaggedNotInLedger);
        // In the ledger but the tag was removed.
        let untagged = draft(
            "1",
            "Main",
            "by hand",
            &[("A", 10.0, "2.5"), ("B", 4.0, "1.1")],
        );
        assert_eq!(classify(&untagged, Some(&ledger)), DraftKind::Edited);
        assert_eq!(classify(&untagged, None), DraftKind::Other);
    }
}
