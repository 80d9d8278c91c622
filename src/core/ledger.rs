//! The draft ledger's rows as plain data: where a row stands ([`LedgerState`]), the lines the
//! tool wrote ([`WrittenLine`]) and a row ([`LedgerEntry`]). The store keeps them
//! (`store::ledger`, which re-exports these types); [`crate::core::settle`] judges them against
//! Cin7. Pure: no IO.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Where a ledger row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerState {
    /// `POST purchase` is about to be sent or was sent without a known answer.
    Intent,
    /// The purchase exists in Cin7; its lines are not known to be written.
    Created,
    /// The lines in `lines` were written.
    Done,
    /// A re-POST of the lines (`pending_lines`) was started.
    Updating,
    /// No longer the tool's draft (see `closed_reason`).
    Closed,
}

impl LedgerState {
    /// The state as the store writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerState::Intent => "intent",
            LedgerState::Created => "created",
            LedgerState::Done => "done",
            LedgerState::Updating => "updating",
            LedgerState::Closed => "closed",
        }
    }

    /// The state the store wrote as `s`, if it is one.
    pub fn parse(s: &str) -> Option<LedgerState> {
        Some(match s {
            "intent" => LedgerState::Intent,
            "created" => LedgerState::Created,
            "done" => LedgerState::Done,
            "updating" => LedgerState::Updating,
            "closed" => LedgerState::Closed,
            _ => return None,
        })
    }
}

/// A line as the tool wrote it to Cin7: what "untouched" is compared against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WrittenLine {
    pub sku: String,
    pub quantity: f64,
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
}

/// One ledger row.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    /// The uuid in the purchase's Note (`replenish:<intent_id>`).
    pub intent_id: String,
    pub supplier_id: String,
    pub supplier: String,
    /// The key location (a Cin7 location name) the purchase delivers to.
    pub location: String,
    pub state: LedgerState,
    pub purchase_id: Option<String>,
    pub order_number: Option<String>,
    /// The lines last written (empty until the first write succeeded).
    pub lines: Vec<WrittenLine>,
    /// The lines of a write started but not confirmed (intent, created, updating).
    pub pending_lines: Option<Vec<WrittenLine>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_reason: Option<String>,
}

impl LedgerEntry {
    /// The tag the purchase's Note carries.
    pub fn tag(&self) -> String {
        tag(&self.intent_id)
    }
}

/// The Note tag of an intent.
pub fn tag(intent_id: &str) -> String {
    format!("{}{intent_id}", crate::core::drafts::TOOL_NOTE_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_as_written() {
        for state in [
            LedgerState::Intent,
            LedgerState::Created,
            LedgerState::Done,
            LedgerState::Updating,
            LedgerState::Closed,
        ] {
            assert_eq!(LedgerState::parse(state.as_str()), Some(state));
        }
        assert_eq!(LedgerState::parse("Done"), None, "case matters");
        assert_eq!(LedgerState::parse(""), None);
    }
}
