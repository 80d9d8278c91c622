//! The report of one sync.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::store::EndpointCount;

/// What a sync did: rows per entity, requests per endpoint, throttling, retries, time.
#[derive(Debug, Clone, Serialize)]
pub struct SyncSummary {
    pub run_id: i64,
    pub started_at: String,
    pub elapsed_ms: u64,
    /// `backfill` (one bulk operation) or `incremental` (orders updated since the watermark).
    pub orders_mode: String,
    pub orders_since: String,
    pub rows: BTreeMap<String, u64>,
    pub requests: Vec<EndpointCount>,
    pub requests_total: u64,
    pub throttled_total: u64,
    pub retries_total: u64,
    /// The Cin7 request rate at the end (lower than configured if Cin7 throttled).
    pub cin7_rate_per_minute: u32,
    pub snapshot_day: String,
}
