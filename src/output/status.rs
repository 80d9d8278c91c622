//! Rendering of `replenish status` for people (JSON comes straight from serde): the store and
//! its data age, the last runs, the tool's open drafts and the alerts waiting to be delivered.
//! Run errors, supplier and location names, PO numbers and alert messages come from Cin7,
//! Shopify and the alert channels: they are escaped and cut, and every line is wrapped to the
//! terminal's width ([`crate::output::safe`]).

use std::fmt::Write as _;

use crate::output::safe::{free_text, ident, ident_or, terminal_safe, wrap};
use crate::report::status::StatusReport;

/// The report as lines for a person, wrapped to `width` columns.
pub fn table(r: &StatusReport, width: u16) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "store {} at {}", terminal_safe(&r.store), r.now);
    match (&r.data.snapshot_taken_at, r.data.snapshot_age_minutes) {
        (Some(at), Some(age)) => {
            let _ = writeln!(
                out,
                "stock data: snapshot {at}, {age} min old (limit {}){}",
                r.data.max_data_age_minutes,
                if r.data.stale {
                    " — STALE: draft would hold every PO"
                } else {
                    ""
                }
            );
        }
        _ => out.push_str("stock data: no snapshot yet — run `replenish sync`\n"),
    }
    if let Some(w) = &r.data.orders_watermark {
        let _ = writeln!(out, "orders synced up to {}", ident(w));
    }
    out.push_str("\nlast runs:\n");
    if r.runs.is_empty() {
        out.push_str("  none\n");
    }
    for run in &r.runs {
        let _ = writeln!(
            out,
            "  #{} {} {} {}{}",
            run.id,
            ident(&run.command),
            run.started_at,
            ident(&run.outcome),
            run.error
                .as_deref()
                .map(|e| format!(": {}", free_text(e)))
                .unwrap_or_default()
        );
    }
    out.push_str("\nopen tool drafts:\n");
    if r.open_drafts.is_empty() {
        out.push_str("  none\n");
    }
    for d in &r.open_drafts {
        let _ = writeln!(
            out,
            "  {} at {}: {} ({}, {} lines, {})",
            ident(&d.supplier),
            ident(&d.location),
            ident_or(d.order_number.as_deref(), "no PO yet"),
            d.state,
            d.lines,
            d.updated_at
        );
    }
    out.push_str("\nalerts waiting to be delivered:\n");
    if r.pending_alerts.is_empty() {
        out.push_str("  none\n");
    }
    for a in &r.pending_alerts {
        // A grouped alert holds one finding a line: its first line heads the entry, the others
        // follow indented; each is escaped and cut on its own.
        let mut message = a.message.split('\n').map(free_text);
        let _ = writeln!(
            out,
            "  [{}] {} (×{}, last {}, {} failed attempts{})",
            ident(&a.kind),
            message.next().unwrap_or_default(),
            a.occurrences,
            a.last_raised_at,
            a.attempts,
            a.last_error
                .as_deref()
                .map(|e| format!(": {}", free_text(e)))
                .unwrap_or_default()
        );
        for more in message {
            let _ = writeln!(out, "      {more}");
        }
    }
    wrap(&out, width, 4)
}
