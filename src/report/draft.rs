//! The report of one `draft` run: what was done (or would be, with `--dry-run`) per purchase
//! order, what checking the tool's earlier drafts found, the lines the gates held and the alerts
//! raised. The JSON is serde's rendering of [`DraftReport`]; every state is an enum that
//! serialises to the word the report has always carried.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::core::plan::PurchaseOrder;
use crate::core::push::{Action, HeldLine};
use crate::core::settle::Recovered;
use crate::report::sync::SyncSummary;
use crate::store::{EndpointCount, NewAlert};

/// What was decided for one PO (or open tool draft). Serialised in snake case: `create`,
/// `update`, `unchanged`, `hold`, `leave_alone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PoAction {
    Create,
    Update,
    Unchanged,
    Hold,
    LeaveAlone,
}

impl PoAction {
    /// The action a decision stands for.
    pub fn of(action: &Action) -> PoAction {
        match action {
            Action::Create { .. } => PoAction::Create,
            Action::Update { .. } => PoAction::Update,
            Action::Unchanged { .. } => PoAction::Unchanged,
            Action::Hold { .. } => PoAction::Hold,
            Action::LeaveAlone { .. } => PoAction::LeaveAlone,
        }
    }
}

/// What came of it. Serialised in snake case: `created`, `updated`, `unchanged`, `held`,
/// `left_alone`, `rejected`, `failed`, and with `--dry-run` `would_create`, `would_update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PoResult {
    Created,
    Updated,
    Unchanged,
    Held,
    LeftAlone,
    /// Cin7 said no (its message in the detail).
    Rejected,
    /// Not written this run; the next run picks it up.
    Failed,
    WouldCreate,
    WouldUpdate,
}

impl PoResult {
    /// The word the JSON carries.
    pub fn as_str(self) -> &'static str {
        match self {
            PoResult::Created => "created",
            PoResult::Updated => "updated",
            PoResult::Unchanged => "unchanged",
            PoResult::Held => "held",
            PoResult::LeftAlone => "left_alone",
            PoResult::Rejected => "rejected",
            PoResult::Failed => "failed",
            PoResult::WouldCreate => "would_create",
            PoResult::WouldUpdate => "would_update",
        }
    }
}

/// How a draft run ended. Serialised `done`, `attention` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftOutcome {
    Done,
    /// Done, but alerts were raised or POs or lines held: a person should look.
    Attention,
    /// Some PO could not be written now (the next run picks it up).
    Failed,
}

impl DraftOutcome {
    /// `failed` when some PO could not be written; else `attention` when something needs a
    /// person (POs or lines held, alerts) — never for a dry run, which only looks; else `done`.
    pub fn of(failed: bool, dry_run: bool, needs_person: bool) -> DraftOutcome {
        if failed {
            DraftOutcome::Failed
        } else if !dry_run && needs_person {
            DraftOutcome::Attention
        } else {
            DraftOutcome::Done
        }
    }

    /// The word the JSON carries (and the run history records).
    pub fn as_str(self) -> &'static str {
        match self {
            DraftOutcome::Done => "done",
            DraftOutcome::Attention => "attention",
            DraftOutcome::Failed => "failed",
        }
    }
}

/// What happened to one purchase order (or open tool draft).
#[derive(Debug, Clone, Serialize)]
pub struct PoOutcome {
    pub supplier: String,
    pub supplier_id: String,
    pub location: String,
    pub action: PoAction,
    pub result: PoResult,
    pub order_number: Option<String>,
    pub lines: usize,
    #[serde(serialize_with = "crate::core::plan::money_opt")]
    pub total: Option<Decimal>,
    pub currency: Option<String>,
    /// Why, in words (hold reason, Cin7's rejection, what is left to do).
    pub detail: Option<String>,
}

impl PoOutcome {
    /// The outcome of `action` on `po`.
    pub fn for_po(
        po: &PurchaseOrder,
        action: PoAction,
        result: PoResult,
        order_number: Option<String>,
        detail: Option<String>,
    ) -> PoOutcome {
        PoOutcome {
            supplier: po.supplier.clone(),
            supplier_id: po.supplier_id.clone(),
            location: po.location.clone(),
            action,
            result,
            order_number,
            lines: po.lines.len(),
            total: Some(po.total),
            currency: po.currency.clone(),
            detail,
        }
    }

    /// What an action is, without doing it: what a dry run reports and the confirmation shows,
    /// and the outcome of the actions that make no call (hold, leave alone, unchanged).
    pub fn preview(action: &Action) -> PoOutcome {
        match action {
            Action::Create { po } => {
                PoOutcome::for_po(po, PoAction::Create, PoResult::WouldCreate, None, None)
            }
            Action::Update { draft, po } => PoOutcome::for_po(
                po,
                PoAction::Update,
                PoResult::WouldUpdate,
                draft.order_number.clone(),
                None,
            ),
            Action::Unchanged { draft, po } => PoOutcome::for_po(
                po,
                PoAction::Unchanged,
                PoResult::Unchanged,
                draft.order_number.clone(),
                Some("the tool's draft already has exactly these lines".into()),
            ),
            Action::Hold { po, draft } => PoOutcome::for_po(
                po,
                PoAction::Hold,
                PoResult::Held,
                draft.as_ref().and_then(|d| d.order_number.clone()),
                Some(match (&po.hold_reason, draft) {
                    (Some(r), Some(_)) => format!("{r}; the tool's open draft is left as it is"),
                    (Some(r), None) => r.clone(),
                    (None, _) => "held".into(),
                }),
            ),
            Action::LeaveAlone { draft } => PoOutcome {
                supplier: draft.supplier.clone(),
                supplier_id: draft.supplier_id.clone(),
                location: draft.location.clone(),
                action: PoAction::LeaveAlone,
                result: PoResult::LeftAlone,
                order_number: draft.order_number.clone(),
                lines: draft.written.len(),
                total: None,
                currency: None,
                detail: Some(
                    "the plan has nothing to order here now; the tool's draft is left as it is"
                        .into(),
                ),
            },
        }
    }
}

/// A ledger entry settled by checking Cin7 at the start of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    pub supplier: String,
    pub location: String,
    pub order_number: Option<String>,
    /// `adopted` (a purchase created by an interrupted run was found by its tag), `finished`
    /// (an interrupted line write had landed), or `closed: <reason>`.
    pub what: Recovered,
}

/// Everything a draft run did, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct DraftReport {
    pub run_id: Option<i64>,
    pub dry_run: bool,
    pub outcome: DraftOutcome,
    pub sync: Option<SyncSummary>,
    pub recovered: Vec<Recovery>,
    pub purchase_orders: Vec<PoOutcome>,
    /// The lines the data-quality gates held back, as the core's gates found them.
    pub held_lines: Vec<HeldLine>,
    /// The alerts the run raised, as they go to the store's outbox.
    pub alerts: Vec<NewAlert>,
    /// Requests per Cin7 endpoint made by the drafting itself (the sync reports its own).
    pub requests: Vec<EndpointCount>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_serialise_to_the_words_the_report_always_carried() {
        let actions = [
            (PoAction::Create, "create"),
            (PoAction::Update, "update"),
            (PoAction::Unchanged, "unchanged"),
            (PoAction::Hold, "hold"),
            (PoAction::LeaveAlone, "leave_alone"),
        ];
        for (action, word) in actions {
            assert_eq!(serde_json::to_value(action).unwrap(), word);
        }
        let results = [
            (PoResult::Created, "created"),
            (PoResult::Updated, "updated"),
            (PoResult::Unchanged, "unchanged"),
            (PoResult::Held, "held"),
            (PoResult::LeftAlone, "left_alone"),
            (PoResult::Rejected, "rejected"),
            (PoResult::Failed, "failed"),
            (PoResult::WouldCreate, "would_create"),
            (PoResult::WouldUpdate, "would_update"),
        ];
        for (result, word) in results {
            assert_eq!(serde_json::to_value(result).unwrap(), word);
            assert_eq!(result.as_str(), word);
        }
        let outcomes = [
            (DraftOutcome::Done, "done"),
            (DraftOutcome::Attention, "attention"),
            (DraftOutcome::Failed, "failed"),
        ];
        for (outcome, word) in outcomes {
            assert_eq!(serde_json::to_value(outcome).unwrap(), word);
            assert_eq!(outcome.as_str(), word);
        }
    }

    #[test]
    fn a_run_is_failed_then_attention_then_done() {
        // (failed, dry run, needs a person) → outcome
        let cases = [
            (false, false, false, DraftOutcome::Done),
            (false, false, true, DraftOutcome::Attention),
            (false, true, true, DraftOutcome::Done),
            (false, true, false, DraftOutcome::Done),
            (true, false, false, DraftOutcome::Failed),
            (true, false, true, DraftOutcome::Failed),
            (true, true, true, DraftOutcome::Failed),
        ];
        for (failed, dry_run, needs_person, expected) in cases {
            assert_eq!(
                DraftOutcome::of(failed, dry_run, needs_person),
                expected,
                "failed {failed}, dry run {dry_run}, needs a person {needs_person}"
            );
        }
    }
}
