//! Whether the tool's open drafts are still its own, decided from what Cin7 shows (docs/design.md,
//! "Drafting exactly once"). Every `draft` (and `reconcile`) run first settles each open ledger
//! row against its purchase in Cin7; this module makes the choices, the app makes the calls and
//! records the steps. Pure: no IO, no clock (ages and instants are passed in).
//!
//! - An **intent** (a create whose answer was never recorded) is adopted when the lookup by its tag
//!   finds the purchase, closed `never_created` when it does not and the intent is older than
//!   twice the request timeout, and otherwise left for the next run ([`intent_step`]).
//! - A row with a purchase is judged by it ([`verdict`]): the buyer's once its order is
//!   `AUTHORISED` or its status is past ORDERING; a person's when its Note lost the tag, it moved
//!   to another location or supplier, a line carries a discount or tax, or its lines are neither
//!   what the tool wrote nor what it was writing; voided; or still the tool's (untouched, or an
//!   interrupted write that landed). [`settle`] turns that into what happens to the row.
//! - Why a row was closed ([`CloseReason`]), what a run reports about a settled row
//!   ([`Recovered`]) and why a (supplier, location) is not written this run ([`Blocked`]) are
//!   enums; each renders as the exact words the ledger, the reports and the alerts have always
//!   carried, so the JSON and the stored reasons are unchanged.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

use crate::core::drafts::same_lines;
use crate::core::ledger::{LedgerEntry, LedgerState, WrittenLine};
use crate::core::model::Purchase;
use crate::core::num::{decimal_from_f64, line_total};

/// How far before the intent the lookup of a lost purchase starts (clock skew between us and
/// Cin7, or a `--now` left set).
pub const LOOKUP_MARGIN_HOURS: i64 = 24;

/// How a person changed one of the tool's drafts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Its Note no longer starts with the tool's tag.
    Untagged,
    /// It delivers to another location now (as Cin7 names it).
    MovedLocation(String),
    /// It is another supplier's now.
    MovedSupplier,
    /// A line's Total is not Quantity × Price: a discount or tax.
    Repriced,
    /// Its lines are neither what the tool wrote nor what it was writing.
    LinesDiffer,
}

impl fmt::Display for Edit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edit::Untagged => f.write_str("its Note no longer starts with the tool's tag"),
            Edit::MovedLocation(location) => write!(f, "moved to location {location}"),
            Edit::MovedSupplier => f.write_str("moved to another supplier"),
            Edit::Repriced => f.write_str("a line carries a discount or tax"),
            Edit::LinesDiffer => f.write_str("its lines differ from what the tool wrote"),
        }
    }
}

/// What a tool draft's purchase in Cin7 says about it.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Voided,
    /// Authorised (or further along): the buyer's now. The statuses as Cin7 gave them
    /// (trimmed, upper case).
    Approved {
        status: String,
        order_status: String,
    },
    /// A person changed it.
    Edited(Edit),
    /// An interrupted write of these lines had landed.
    Landed(Vec<WrittenLine>),
    /// As the tool left it (a header without lines yet counts too).
    Untouched,
}

fn upper(s: Option<&str>) -> String {
    s.unwrap_or_default().trim().to_ascii_uppercase()
}

/// A purchase's lines as (SKU, quantity, price).
fn purchase_lines(p: &Purchase) -> Vec<(String, f64, Decimal)> {
    p.detail
        .as_ref()
        .map(|d| {
            d.lines
                .iter()
                .map(|l| (l.sku.clone(), l.quantity, l.price))
                .collect()
        })
        .unwrap_or_default()
}

fn same(a: &[(String, f64, Decimal)], b: &[WrittenLine]) -> bool {
    same_lines(
        a.iter().map(|(s, q, p)| (s.as_str(), *q, *p)),
        b.iter().map(|l| (l.sku.as_str(), l.quantity, l.price)),
    )
}

/// Judges a tool draft by its purchase in Cin7. Not by the purchase `Status` right after the
/// create (cin7-core-api.md: Cin7 may answer `ORDERING` with `Order.Status: NOT AVAILABLE`): a
/// purchase is the buyer's once its order is `AUTHORISED` or its status is past ORDERING; it is
/// a person's edit when its Note no longer starts with the tag, it moved to another location or
/// supplier, a line carries a discount or tax (its Total is not Quantity × Price), or its lines
/// are neither what the tool wrote nor what it was writing.
pub fn verdict(e: &LedgerEntry, p: &Purchase) -> Verdict {
    let status = upper(Some(&p.status));
    let order_status = upper(
        p.detail
            .as_ref()
            .and_then(|d| d.order_status.as_deref())
            .or(p.order_status.as_deref()),
    );
    if status == "VOIDED" || order_status == "VOIDED" {
        return Verdict::Voided;
    }
    if order_status == "AUTHORISED" || !matches!(status.as_str(), "DRAFT" | "ORDERING" | "") {
        return Verdict::Approved {
            status,
            order_status,
        };
    }
    let detail = p.detail.as_ref();
    let note = detail.and_then(|d| d.note.as_deref()).unwrap_or("");
    if !note.starts_with(&e.tag()) {
        return Verdict::Edited(Edit::Untagged);
    }
    if let Some(location) = detail.and_then(|d| d.location.as_deref())
        && !location.trim().eq_ignore_ascii_case(e.location.trim())
    {
        return Verdict::Edited(Edit::MovedLocation(location.to_string()));
    }
    if let Some(supplier) = p.supplier_id.as_deref()
        && !supplier.trim().eq_ignore_ascii_case(e.supplier_id.trim())
    {
        return Verdict::Edited(Edit::MovedSupplier);
    }
    let lines = detail.map(|d| d.lines.as_slice()).unwrap_or(&[]);
    let priced_as_written = lines.iter().all(|l| {
        match decimal_from_f64(l.quantity).and_then(|q| line_total(q, l.price)) {
            Some(t) => (t - l.total).abs() <= Decimal::new(1, 2),
            None => false,
        }
    });
    if !priced_as_written {
        return Verdict::Edited(Edit::Repriced);
    }
    let current = purchase_lines(p);
    if e.state != LedgerState::Done
        && let Some(pending) = e.pending_lines.as_ref().filter(|pl| same(&current, pl))
    {
        return Verdict::Landed(pending.clone());
    }
    let nothing_written_yet = e.state == LedgerState::Created && e.lines.is_empty();
    if (nothing_written_yet && current.is_empty()) || same(&current, &e.lines) {
        return Verdict::Untouched;
    }
    Verdict::Edited(Edit::LinesDiffer)
}

/// Why a ledger row was closed. Its `Display` is what the ledger's `closed_reason` holds (and,
/// after `closed: `, what a report says about the row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// An intent Cin7 still shows nothing for, once no request of its run can be in flight.
    NeverCreated,
    /// The purchase is gone from Cin7.
    Gone,
    /// Voided in Cin7.
    Voided,
    /// Authorised or further along: the buyer's now.
    Approved {
        status: String,
        order_status: String,
    },
    /// A person changed it.
    EditedByPerson(Edit),
    /// Cin7 throttled the create: refused before processing, so nothing was created.
    NotCreatedThrottled,
    /// Cin7 rejected the create (its message).
    Rejected(String),
    /// Cin7 took the header but rejected the lines (its message); the tool voided its empty
    /// purchase, or says why that failed too.
    RejectedLines {
        message: String,
        void_failed: Option<String>,
    },
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::NeverCreated => f.write_str("never_created"),
            CloseReason::Gone => f.write_str("gone"),
            CloseReason::Voided => f.write_str("voided"),
            CloseReason::Approved {
                status,
                order_status,
            } => write!(f, "approved (status {status}, order {order_status})"),
            CloseReason::EditedByPerson(edit) => write!(f, "edited_by_person ({edit})"),
            CloseReason::NotCreatedThrottled => f.write_str("not_created (throttled)"),
            CloseReason::Rejected(message) => write!(f, "rejected: {message}"),
            CloseReason::RejectedLines {
                message,
                void_failed: None,
            } => write!(
                f,
                "rejected (lines): {message}; the empty purchase was voided"
            ),
            CloseReason::RejectedLines {
                message,
                void_failed: Some(error),
            } => write!(
                f,
                "rejected (lines): {message}; voiding the empty purchase failed too: {error}"
            ),
        }
    }
}

/// What a run did with one open ledger row when it checked it in Cin7. Serialised as the words
/// reports have always shown: `adopted`, `finished` or `closed: <reason>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// A purchase an interrupted run created was found by its tag and adopted.
    Adopted,
    /// An interrupted line write had landed.
    Finished,
    /// No longer the tool's draft.
    Closed(CloseReason),
}

impl fmt::Display for Recovered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recovered::Adopted => f.write_str("adopted"),
            Recovered::Finished => f.write_str("finished"),
            Recovered::Closed(reason) => write!(f, "closed: {reason}"),
        }
    }
}

impl Serialize for Recovered {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Why nothing is written for one (supplier, location) this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// Checking its open draft in Cin7 failed: `what` names the draft, `error` says why.
    Unchecked { what: String, error: String },
    /// An earlier create is not confirmed yet (Cin7 may still be working on it).
    Unconfirmed,
    /// Its draft was approved after the stock snapshot: in neither on_draft nor OnOrder yet.
    ApprovedAfterSnapshot,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blocked::Unchecked { what, error } => {
                write!(f, "could not check {what} in Cin7: {error}")
            }
            Blocked::Unconfirmed => f.write_str(
                "an earlier create is not confirmed yet; the next run looks for it again",
            ),
            Blocked::ApprovedAfterSnapshot => f.write_str(
                "its draft was approved after the stock snapshot; the next run plans it with fresh stock",
            ),
        }
    }
}

/// What to do with an intent, given whether the lookup by its tag found the purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentStep {
    /// Found: record it as created and check it like any other draft.
    Adopt,
    /// Not found, and old enough that no request of its run can still be in flight: close it.
    NeverCreated,
    /// Not found, but too young to be sure Cin7 is not still working on it: ask again next run
    /// (its key is [`Blocked::Unconfirmed`] for this one).
    Wait,
}

/// The step for an intent `age` old whose lookup `found` the purchase or not; `confirm_after` is
/// [`confirm_after`] of the request timeout.
pub fn intent_step(found: bool, age: Duration, confirm_after: Duration) -> IntentStep {
    if found {
        IntentStep::Adopt
    } else if age >= confirm_after {
        IntentStep::NeverCreated
    } else {
        IntentStep::Wait
    }
}

/// How old an unconfirmed intent must be before "Cin7 shows no such purchase" is believed:
/// twice the request timeout, so that no request of the run that wrote it can still be in
/// flight.
pub fn confirm_after(request_timeout_secs: u64) -> Duration {
    let secs = i64::try_from(request_timeout_secs).unwrap_or(30);
    Duration::try_seconds(secs.saturating_mul(2)).unwrap_or(Duration::MAX)
}

/// Where a lookup for a lost purchase starts: well before the intent (or before this run, if an
/// earlier run was made with a later `--now`); Cin7's clock may differ from ours.
pub fn lookup_since(intent_at: DateTime<Utc>, run_at: DateTime<Utc>) -> DateTime<Utc> {
    intent_at.min(run_at) - Duration::hours(LOOKUP_MARGIN_HOURS)
}

/// What settling one open row with a purchase comes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement {
    /// No longer the tool's draft: close the row, and when `block` says so, write nothing for
    /// its (supplier, location) this run.
    Close {
        reason: CloseReason,
        block: Option<Blocked>,
    },
    /// An interrupted write of these lines had landed: record them as written; the row stays
    /// open.
    Finish(Vec<WrittenLine>),
    /// Still the tool's draft as it left it (an unfinished write is simply redone).
    Keep,
}

/// Settles row `e` against its purchase as Cin7 shows it now (`None`: gone, after the 404 was
/// confirmed). An approval that may be newer than the stock snapshot taken at `snapshot_at`
/// blocks the key for this run: the purchase is then in neither on_draft (no longer a draft) nor
/// the snapshot's OnOrder, so ordering now would order it twice. When either time is unknown
/// the approval is taken to be newer.
pub fn settle(
    e: &LedgerEntry,
    purchase: Option<&Purchase>,
    snapshot_at: Option<DateTime<Utc>>,
) -> Settlement {
    let Some(p) = purchase else {
        return Settlement::Close {
            reason: CloseReason::Gone,
            block: None,
        };
    };
    match verdict(e, p) {
        Verdict::Voided => Settlement::Close {
            reason: CloseReason::Voided,
            block: None,
        },
        Verdict::Approved {
            status,
            order_status,
        } => {
            let after_snapshot = match (p.last_updated, snapshot_at) {
                (Some(at), Some(snap)) => at.and_utc() >= snap,
                _ => true,
            };
            Settlement::Close {
                reason: CloseReason::Approved {
                    status,
                    order_status,
                },
                block: after_snapshot.then_some(Blocked::ApprovedAfterSnapshot),
            }
        }
        Verdict::Edited(edit) => Settlement::Close {
            reason: CloseReason::EditedByPerson(edit),
            block: None,
        },
        Verdict::Landed(lines) => Settlement::Finish(lines),
        Verdict::Untouched => Settlement::Keep,
    }
}

/// Right before an update the draft is read once more: why it is no longer the tool's to
/// rewrite (in words, for the report), or `None` when it still is. `fresh` is `None` when it is
/// gone.
pub fn changed_meanwhile(e: &LedgerEntry, fresh: Option<&Purchase>) -> Option<String> {
    let Some(p) = fresh else {
        return Some("it is gone from Cin7".to_string());
    };
    match verdict(e, p) {
        Verdict::Untouched | Verdict::Landed(_) => None,
        Verdict::Voided => Some("it was voided".into()),
        Verdict::Approved {
            status,
            order_status,
        } => Some(format!(
            "it was approved (status {status}, order {order_status})"
        )),
        Verdict::Edited(why) => Some(format!("a person edited it ({why})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{PurchaseDetail, PurchaseLine};
    use chrono::NaiveDate;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn wl(sku: &str, quantity: f64, price: &str) -> WrittenLine {
        WrittenLine {
            sku: sku.into(),
            quantity,
            price: d(price),
        }
    }

    /// A `done` row of intent `i-1` (tag `replenish:i-1`) for supplier `sup-1` at `Main`, having
    /// written A × 10 at 2.50 and B × 3 at 1.005.
    fn entry() -> LedgerEntry {
        LedgerEntry {
            intent_id: "i-1".into(),
            supplier_id: "sup-1".into(),
            supplier: "Acme".into(),
            location: "Main".into(),
            state: LedgerState::Done,
            purchase_id: Some("p-1".into()),
            order_number: Some("PO-1".into()),
            lines: vec![wl("A", 10.0, "2.50"), wl("B", 3.0, "1.005")],
            pending_lines: None,
            created_at: at("2026-05-04T08:00:00Z"),
            updated_at: at("2026-05-04T08:00:00Z"),
            closed_reason: None,
        }
    }

    /// A Cin7 line whose Total is worked out by hand.
    fn pl(sku: &str, quantity: f64, price: &str, total: &str) -> PurchaseLine {
        PurchaseLine {
            product_id: None,
            sku: sku.into(),
            name: None,
            quantity,
            price: d(price),
            total: d(total),
            supplier_sku: None,
        }
    }

    /// The purchase as the tool left it: ORDERING / DRAFT, tagged, at Main, for sup-1, with the
    /// entry's lines (10 × 2.50 = 25.00; 3 × 1.005 = 3.015 → 3.02 half away from zero).
    fn purchase() -> Purchase {
        Purchase {
            id: "p-1".into(),
            order_number: "PO-1".into(),
            status: "ORDERING".into(),
            order_status: Some("DRAFT".into()),
            supplier_id: Some("sup-1".into()),
            supplier: Some("Acme".into()),
            required_by: None,
            last_updated: Some(
                NaiveDate::from_ymd_opt(2026, 5, 4)
                    .unwrap()
                    .and_hms_opt(9, 0, 0)
                    .unwrap(),
            ),
            detail: Some(PurchaseDetail {
                location: Some("Main".into()),
                note: Some("replenish:i-1".into()),
                order_status: Some("DRAFT".into()),
                lines: vec![
                    pl("B", 3.0, "1.005", "3.02"),
                    pl("A", 10.0, "2.50", "25.00"),
                ],
            }),
        }
    }

    fn detail(p: &mut Purchase) -> &mut PurchaseDetail {
        p.detail.as_mut().unwrap()
    }

    #[test]
    fn verdicts() {
        type Case = (
            &'static str,
            fn(&mut LedgerEntry),
            fn(&mut Purchase),
            Verdict,
        );
        let approved = |s: &str, o: &str| Verdict::Approved {
            status: s.into(),
            order_status: o.into(),
        };
        let cases: Vec<Case> = vec![
            ("as the tool left it", |_| {}, |_| {}, Verdict::Untouched),
            (
                "statuses in any case and padded",
                |_| {},
                |p| {
                    p.status = " ordering ".into();
                    detail(p).order_status = Some("draft".into());
                },
                Verdict::Untouched,
            ),
            (
                "a note that goes on after the tag",
                |_| {},
                |p| detail(p).note = Some("replenish:i-1 call before delivery".into()),
                Verdict::Untouched,
            ),
            (
                "location and supplier compared trimmed, ignoring case",
                |_| {},
                |p| {
                    detail(p).location = Some(" MAIN ".into());
                    p.supplier_id = Some("SUP-1 ".into());
                },
                Verdict::Untouched,
            ),
            (
                "a Total off by exactly one cent is still as written",
                |_| {},
                |p| detail(p).lines[1].total = d("25.01"),
                Verdict::Untouched,
            ),
            (
                "voided purchase",
                |_| {},
                |p| p.status = "VOIDED".into(),
                Verdict::Voided,
            ),
            (
                "voided order, even when authorised before",
                |_| {},
                |p| {
                    p.status = "ORDERED".into();
                    detail(p).order_status = Some("voided".into());
                },
                Verdict::Voided,
            ),
            (
                "order authorised while the purchase is still ORDERING",
                |_| {},
                |p| detail(p).order_status = Some("AUTHORISED".into()),
                approved("ORDERING", "AUTHORISED"),
            ),
            (
                "status past ORDERING",
                |_| {},
                |p| p.status = "received".into(),
                approved("RECEIVED", "DRAFT"),
            ),
            (
                "the detail's order status wins over the list's",
                |_| {},
                |p| {
                    p.order_status = Some("AUTHORISED".into());
                    detail(p).order_status = Some("DRAFT".into());
                },
                Verdict::Untouched,
            ),
            (
                "no detail: the list's order status counts",
                |_| {},
                |p| {
                    p.order_status = Some("AUTHORISED".into());
                    p.detail = None;
                },
                approved("ORDERING", "AUTHORISED"),
            ),
            (
                "right after the create: ORDERING, order NOT AVAILABLE, no lines yet",
                |e| {
                    e.state = LedgerState::Created;
                    e.lines = vec![];
                },
                |p| {
                    detail(p).order_status = Some("NOT AVAILABLE".into());
                    detail(p).lines = vec![];
                },
                Verdict::Untouched,
            ),
            (
                "the tag is gone from the note",
                |_| {},
                |p| detail(p).note = Some("call before delivery".into()),
                Verdict::Edited(Edit::Untagged),
            ),
            (
                "the tag must start the note",
                |_| {},
                |p| detail(p).note = Some("see replenish:i-1".into()),
                Verdict::Edited(Edit::Untagged),
            ),
            (
                "another intent's tag",
                |_| {},
                |p| detail(p).note = Some("replenish:i-2".into()),
                Verdict::Edited(Edit::Untagged),
            ),
            (
                "moved to another location (named as Cin7 has it)",
                |_| {},
                |p| detail(p).location = Some("East ".into()),
                Verdict::Edited(Edit::MovedLocation("East ".into())),
            ),
            (
                "moved to another supplier",
                |_| {},
                |p| p.supplier_id = Some("sup-2".into()),
                Verdict::Edited(Edit::MovedSupplier),
            ),
            (
                "a discount: Total 22.50 for 10 × 2.50",
                |_| {},
                |p| detail(p).lines[1].total = d("22.50"),
                Verdict::Edited(Edit::Repriced),
            ),
            (
                "a quantity changed, Total to match",
                |_| {},
                |p| detail(p).lines[1] = pl("A", 12.0, "2.50", "30.00"),
                Verdict::Edited(Edit::LinesDiffer),
            ),
            (
                "a line added",
                |_| {},
                |p| detail(p).lines.push(pl("C", 1.0, "4", "4")),
                Verdict::Edited(Edit::LinesDiffer),
            ),
            (
                "lines removed from a done draft",
                |_| {},
                |p| detail(p).lines = vec![],
                Verdict::Edited(Edit::LinesDiffer),
            ),
            (
                "an interrupted update that landed",
                |e| {
                    e.state = LedgerState::Updating;
                    e.pending_lines = Some(vec![wl("A", 12.0, "2.5")]);
                },
                |p| detail(p).lines = vec![pl("A", 12.0, "2.50", "30.00")],
                Verdict::Landed(vec![wl("A", 12.0, "2.5")]),
            ),
            (
                "an interrupted update that did not land: the old lines",
                |e| {
                    e.state = LedgerState::Updating;
                    e.pending_lines = Some(vec![wl("A", 12.0, "2.5")]);
                },
                |_| {},
                Verdict::Untouched,
            ),
            (
                "a first write that landed",
                |e| {
                    e.state = LedgerState::Created;
                    e.pending_lines = Some(e.lines.clone());
                    e.lines = vec![];
                },
                |_| {},
                Verdict::Landed(vec![wl("A", 10.0, "2.50"), wl("B", 3.0, "1.005")]),
            ),
            (
                "pending lines of a done row do not count",
                |e| e.pending_lines = Some(vec![wl("A", 12.0, "2.5")]),
                |p| detail(p).lines = vec![pl("A", 12.0, "2.50", "30.00")],
                Verdict::Edited(Edit::LinesDiffer),
            ),
        ];
        for (name, change_entry, change_purchase, expected) in cases {
            let mut e = entry();
            change_entry(&mut e);
            let mut p = purchase();
            change_purchase(&mut p);
            assert_eq!(verdict(&e, &p), expected, "{name}");
        }
    }

    #[test]
    fn settlements() {
        let snap_before = Some(at("2026-05-04T08:30:00Z")); // the purchase was updated at 09:00
        let snap_after = Some(at("2026-05-04T09:30:00Z"));
        let snap_same = Some(at("2026-05-04T09:00:00Z"));
        let approve = |p: &mut Purchase| p.status = "ORDERED".into();
        let approved = CloseReason::Approved {
            status: "ORDERED".into(),
            order_status: "DRAFT".into(),
        };
        type Case = (
            &'static str,
            Option<fn(&mut Purchase)>,
            Option<DateTime<Utc>>,
            Settlement,
        );
        let cases: Vec<Case> = vec![
            (
                "gone",
                None,
                snap_before,
                Settlement::Close {
                    reason: CloseReason::Gone,
                    block: None,
                },
            ),
            ("untouched", Some(|_| {}), snap_before, Settlement::Keep),
            (
                "voided",
                Some(|p| p.status = "VOIDED".into()),
                snap_before,
                Settlement::Close {
                    reason: CloseReason::Voided,
                    block: None,
                },
            ),
            (
                "approved after the snapshot: its key waits for fresh stock",
                Some(approve),
                snap_before,
                Settlement::Close {
                    reason: approved.clone(),
                    block: Some(Blocked::ApprovedAfterSnapshot),
                },
            ),
            (
                "approved at the snapshot's instant counts as after",
                Some(approve),
                snap_same,
                Settlement::Close {
                    reason: approved.clone(),
                    block: Some(Blocked::ApprovedAfterSnapshot),
                },
            ),
            (
                "approved before the snapshot: in its OnOrder already",
                Some(approve),
                snap_after,
                Settlement::Close {
                    reason: approved.clone(),
                    block: None,
                },
            ),
            (
                "approved, no snapshot at all",
                Some(approve),
                None,
                Settlement::Close {
                    reason: approved.clone(),
                    block: Some(Blocked::ApprovedAfterSnapshot),
                },
            ),
            (
                "approved, update time unknown",
                Some(|p| {
                    p.status = "ORDERED".into();
                    p.last_updated = None;
                }),
                snap_after,
                Settlement::Close {
                    reason: approved.clone(),
                    block: Some(Blocked::ApprovedAfterSnapshot),
                },
            ),
            (
                "edited",
                Some(|p| p.supplier_id = Some("sup-9".into())),
                snap_before,
                Settlement::Close {
                    reason: CloseReason::EditedByPerson(Edit::MovedSupplier),
                    block: None,
                },
            ),
        ];
        for (name, change, snapshot_at, expected) in cases {
            let purchase = change.map(|f| {
                let mut p = purchase();
                f(&mut p);
                p
            });
            assert_eq!(
                settle(&entry(), purchase.as_ref(), snapshot_at),
                expected,
                "{name}"
            );
        }
        let mut e = entry();
        e.state = LedgerState::Updating;
        e.pending_lines = Some(vec![wl("B", 3.0, "1.005"), wl("A", 10.0, "2.5")]);
        e.lines = vec![wl("A", 1.0, "2.5")];
        assert_eq!(
            settle(&e, Some(&purchase()), None),
            Settlement::Finish(vec![wl("B", 3.0, "1.005"), wl("A", 10.0, "2.5")]),
            "landed"
        );
    }

    #[test]
    fn intent_steps() {
        let confirm = confirm_after(30); // 60 s
        let cases = [
            (true, 0, IntentStep::Adopt),
            (true, 3600, IntentStep::Adopt),
            (false, 0, IntentStep::Wait),
            (false, 59, IntentStep::Wait),
            (false, 60, IntentStep::NeverCreated),
            (false, 86_400, IntentStep::NeverCreated),
            // A run made with an earlier --now than the intent's: a negative age waits.
            (false, -600, IntentStep::Wait),
        ];
        for (found, age, expected) in cases {
            assert_eq!(
                intent_step(found, Duration::seconds(age), confirm),
                expected,
                "found {found}, age {age} s"
            );
        }
    }

    #[test]
    fn confirmation_waits_twice_the_request_timeout() {
        assert_eq!(confirm_after(30), Duration::seconds(60));
        assert_eq!(confirm_after(1), Duration::seconds(2));
        assert_eq!(confirm_after(0), Duration::zero());
        assert_eq!(confirm_after(u64::MAX), Duration::seconds(60), "not an i64");
    }

    #[test]
    fn lookups_start_a_day_before_the_earlier_of_intent_and_run() {
        let cases = [
            // (intent, run, lookup from)
            (
                "2026-05-04T08:00:00Z",
                "2026-05-05T08:00:00Z",
                "2026-05-03T08:00:00Z",
            ),
            (
                "2026-05-06T08:00:00Z",
                "2026-05-05T07:00:00Z",
                "2026-05-04T07:00:00Z",
            ),
            (
                "2026-05-04T08:00:00Z",
                "2026-05-04T08:00:00Z",
                "2026-05-03T08:00:00Z",
            ),
        ];
        for (intent, run, from) in cases {
            assert_eq!(
                lookup_since(at(intent), at(run)),
                at(from),
                "{intent} {run}"
            );
        }
    }

    #[test]
    fn reasons_read_as_the_ledger_and_the_reports_have_always_said() {
        let approved = CloseReason::Approved {
            status: "ORDERED".into(),
            order_status: "AUTHORISED".into(),
        };
        let cases: Vec<(Recovered, &str)> = vec![
            (Recovered::Adopted, "adopted"),
            (Recovered::Finished, "finished"),
            (
                Recovered::Closed(CloseReason::NeverCreated),
                "closed: never_created",
            ),
            (Recovered::Closed(CloseReason::Gone), "closed: gone"),
            (Recovered::Closed(CloseReason::Voided), "closed: voided"),
            (
                Recovered::Closed(approved),
                "closed: approved (status ORDERED, order AUTHORISED)",
            ),
            (
                Recovered::Closed(CloseReason::EditedByPerson(Edit::Untagged)),
                "closed: edited_by_person (its Note no longer starts with the tool's tag)",
            ),
            (
                Recovered::Closed(CloseReason::EditedByPerson(Edit::MovedLocation(
                    "East".into(),
                ))),
                "closed: edited_by_person (moved to location East)",
            ),
            (
                Recovered::Closed(CloseReason::EditedByPerson(Edit::MovedSupplier)),
                "closed: edited_by_person (moved to another supplier)",
            ),
            (
                Recovered::Closed(CloseReason::EditedByPerson(Edit::Repriced)),
                "closed: edited_by_person (a line carries a discount or tax)",
            ),
            (
                Recovered::Closed(CloseReason::EditedByPerson(Edit::LinesDiffer)),
                "closed: edited_by_person (its lines differ from what the tool wrote)",
            ),
        ];
        for (recovered, text) in cases {
            assert_eq!(recovered.to_string(), text);
            assert_eq!(
                serde_json::to_string(&recovered).unwrap(),
                serde_json::to_string(text).unwrap(),
                "{text}"
            );
        }
        let closes = [
            (CloseReason::NotCreatedThrottled, "not_created (throttled)"),
            (
                CloseReason::Rejected("bad supplier".into()),
                "rejected: bad supplier",
            ),
            (
                CloseReason::RejectedLines {
                    message: "bad SKU".into(),
                    void_failed: None,
                },
                "rejected (lines): bad SKU; the empty purchase was voided",
            ),
            (
                CloseReason::RejectedLines {
                    message: "bad SKU".into(),
                    void_failed: Some("timeout".into()),
                },
                "rejected (lines): bad SKU; voiding the empty purchase failed too: timeout",
            ),
        ];
        for (reason, text) in closes {
            assert_eq!(reason.to_string(), text);
        }
        let blocks = [
            (
                Blocked::Unchecked {
                    what: "the tool's draft PO-1 for Acme at Main".into(),
                    error: "HTTP 500".into(),
                },
                "could not check the tool's draft PO-1 for Acme at Main in Cin7: HTTP 500",
            ),
            (
                Blocked::Unconfirmed,
                "an earlier create is not confirmed yet; the next run looks for it again",
            ),
            (
                Blocked::ApprovedAfterSnapshot,
                "its draft was approved after the stock snapshot; the next run plans it with fresh stock",
            ),
        ];
        for (blocked, text) in blocks {
            assert_eq!(blocked.to_string(), text);
        }
    }

    #[test]
    fn a_draft_read_again_before_its_update() {
        let e = entry();
        type Case = (Option<fn(&mut Purchase)>, Option<&'static str>);
        let cases: Vec<Case> = vec![
            (Some(|_| {}), None),
            (None, Some("it is gone from Cin7")),
            (Some(|p| p.status = "VOIDED".into()), Some("it was voided")),
            (
                Some(|p| detail(p).order_status = Some("AUTHORISED".into())),
                Some("it was approved (status ORDERING, order AUTHORISED)"),
            ),
            (
                Some(|p| detail(p).note = None),
                Some("a person edited it (its Note no longer starts with the tool's tag)"),
            ),
        ];
        for (change, expected) in cases {
            let fresh = change.map(|f| {
                let mut p = purchase();
                f(&mut p);
                p
            });
            assert_eq!(
                changed_meanwhile(&e, fresh.as_ref()).as_deref(),
                expected,
                "{expected:?}"
            );
        }
        // An interrupted write that landed is still the tool's.
        let mut e = entry();
        e.state = LedgerState::Updating;
        e.pending_lines = Some(vec![wl("A", 10.0, "2.5"), wl("B", 3.0, "1.005")]);
        e.lines = vec![];
        assert_eq!(changed_meanwhile(&e, Some(&purchase())), None);
    }
}
