//! The report of one nightly audit (`reconcile`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::reconcile::Finding;
use crate::report::sync::SyncSummary;

/// How an audit ended. Serialised `clean` or `findings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconcileOutcome {
    Clean,
    Findings,
}

impl ReconcileOutcome {
    /// `findings` when there are any, else `clean`.
    pub fn of(findings: &[Finding]) -> ReconcileOutcome {
        if findings.is_empty() {
            ReconcileOutcome::Clean
        } else {
            ReconcileOutcome::Findings
        }
    }

    /// The word the JSON carries (and the run history records).
    pub fn as_str(self) -> &'static str {
        match self {
            ReconcileOutcome::Clean => "clean",
            ReconcileOutcome::Findings => "findings",
        }
    }
}

/// What the audit found and fixed.
#[derive(Debug, Clone, Serialize)]
pub struct ReconcileReport {
    pub run_id: i64,
    pub outcome: ReconcileOutcome,
    pub sync: Option<SyncSummary>,
    /// Orders in the window as Shopify has them now, and how many the store lacked or held out
    /// of date (now fixed).
    pub orders_repulled: usize,
    pub orders_fixed: usize,
    /// Findings per kind.
    pub counts: BTreeMap<String, usize>,
    pub findings: Vec<Finding>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audit_is_clean_only_without_findings() {
        assert_eq!(ReconcileOutcome::of(&[]), ReconcileOutcome::Clean);
        let one = [Finding::new("negative_stock", "A at Main: -2".into())];
        assert_eq!(ReconcileOutcome::of(&one), ReconcileOutcome::Findings);
        for (outcome, word) in [
            (ReconcileOutcome::Clean, "clean"),
            (ReconcileOutcome::Findings, "findings"),
        ] {
            assert_eq!(serde_json::to_value(outcome).unwrap(), word);
            assert_eq!(outcome.as_str(), word);
        }
    }
}
