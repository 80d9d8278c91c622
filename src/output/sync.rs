//! Rendering of the sync summary as a table for people (JSON comes straight from serde).

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use crate::app::sync::SyncSummary;

/// Rows per entity, then requests per endpoint, then totals.
pub fn summary_table(s: &SyncSummary) -> String {
    let mut rows = Table::new();
    rows.load_preset(UTF8_BORDERS_ONLY);
    rows.set_header(vec!["entity", "rows"]);
    for (entity, n) in &s.rows {
        rows.add_row(vec![entity.clone(), n.to_string()]);
    }
    let mut reqs = Table::new();
    reqs.load_preset(UTF8_BORDERS_ONLY);
    reqs.set_header(vec!["endpoint", "requests", "throttled", "retries"]);
    for r in &s.requests {
        reqs.add_row(vec![
            r.endpoint.clone(),
            r.requests.to_string(),
            r.throttled.to_string(),
            r.retries.to_string(),
        ]);
    }
    format!(
        "sync {run} at {at}: orders {mode} since {since}; snapshot for {day}\n{rows}\n{reqs}\n\
         {req} requests, {thr} throttled answers, {ret} retries, {secs:.1} s; Cin7 rate now {rate}/min\n",
        run = s.run_id,
        at = s.started_at,
        mode = s.orders_mode,
        since = s.orders_since,
        day = s.snapshot_day,
        req = s.requests_total,
        thr = s.throttled_total,
        ret = s.retries_total,
        secs = s.elapsed_ms as f64 / 1000.0,
        rate = s.cin7_rate_per_minute,
    )
}
