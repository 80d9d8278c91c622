//! The report of `replenish status`: data age, the last runs, the tool's open drafts and the
//! alerts waiting to be delivered.

use serde::Serialize;

/// The whole status report.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub store: String,
    pub now: String,
    pub data: DataAge,
    pub runs: Vec<RunOut>,
    pub open_drafts: Vec<DraftOut>,
    pub pending_alerts: Vec<AlertOut>,
}

/// How old the stock data and the order watermark are.
#[derive(Debug, Serialize)]
pub struct DataAge {
    pub snapshot_taken_at: Option<String>,
    pub snapshot_age_minutes: Option<i64>,
    pub max_data_age_minutes: u64,
    /// Whether `draft` would hold every PO for stale data now.
    pub stale: bool,
    pub orders_watermark: Option<String>,
}

/// One run of the history, as the store recorded it (a run a kill left `running` shows as
/// `interrupted`).
#[derive(Debug, Serialize)]
pub struct RunOut {
    pub id: i64,
    pub command: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub outcome: String,
    pub error: Option<String>,
}

/// One of the tool's open drafts (a ledger row not closed).
#[derive(Debug, Serialize)]
pub struct DraftOut {
    pub supplier: String,
    pub location: String,
    pub order_number: Option<String>,
    pub state: &'static str,
    pub lines: usize,
    pub updated_at: String,
}

/// An alert still pending on some channel.
#[derive(Debug, Serialize)]
pub struct AlertOut {
    pub kind: String,
    pub sku: Option<String>,
    pub supplier: Option<String>,
    pub location: Option<String>,
    pub message: String,
    pub occurrences: u64,
    pub last_raised_at: String,
    pub attempts: u64,
    pub last_error: Option<String>,
}
