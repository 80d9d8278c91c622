//! Rendering of the sync summary as a table for people (JSON comes straight from serde), fitted
//! to the terminal's width with every cell made terminal-safe ([`crate::output::safe`]).

use crate::output::safe::{self, Col, ident, wrap};
use crate::report::sync::SyncSummary;

/// Rows per entity, then requests per endpoint, then totals, in `width` columns.
pub fn summary_table(s: &SyncSummary, width: u16) -> String {
    let mut rows = safe::table(width);
    rows.set_header(vec!["entity", "rows"]);
    for (entity, n) in &s.rows {
        rows.add_row(vec![ident(entity), n.to_string()]);
    }
    safe::fit(&mut rows, &[Col::Wrap, Col::Whole]);
    let mut reqs = safe::table(width);
    reqs.set_header(vec!["endpoint", "requests", "throttled", "retries"]);
    for r in &s.requests {
        reqs.add_row(vec![
            ident(&r.endpoint),
            r.requests.to_string(),
            r.throttled.to_string(),
            r.retries.to_string(),
        ]);
    }
    safe::fit(&mut reqs, &[Col::Wrap, Col::Whole, Col::Whole, Col::Whole]);
    let head = format!(
        "sync {run} at {at}: orders {mode} since {since}; snapshot for {day}",
        run = s.run_id,
        at = s.started_at,
        mode = ident(&s.orders_mode),
        since = ident(&s.orders_since),
        day = s.snapshot_day,
    );
    let tail = format!(
        "{req} requests, {thr} throttled answers, {ret} retries, {secs:.1} s; Cin7 rate now {rate}/min",
        req = s.requests_total,
        thr = s.throttled_total,
        ret = s.retries_total,
        secs = s.elapsed_ms as f64 / 1000.0,
        rate = s.cin7_rate_per_minute,
    );
    format!(
        "{}\n{rows}\n{reqs}\n{}\n",
        wrap(&head, width, 2),
        wrap(&tail, width, 2)
    )
}
