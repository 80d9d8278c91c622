//! Rendering of a `draft` run for people: what was done (or would be, with `--dry-run`) per
//! purchase order, what the run found when it checked its earlier drafts, what the gates held,
//! and the alerts raised. JSON comes straight from serde. Upstream text (names, PO numbers,
//! Cin7's messages) is escaped and cut, and everything fits `width` columns
//! ([`crate::output::safe`]).

use std::fmt::Write;

use crate::output::safe::{self, Col, free_text, ident, ident_or, wrap};
use crate::report::draft::{DraftOutcome, DraftReport, PoOutcome, PoResult};

/// One row per PO: action, result, supplier, location, PO number, lines, total, detail; laid out
/// in `width` columns.
pub fn actions_table(pos: &[PoOutcome], width: u16) -> String {
    if pos.is_empty() {
        return "No purchase order to create or update.\n".into();
    }
    let mut t = safe::table(width);
    t.set_header(vec![
        "result", "supplier", "location", "PO", "lines", "total", "detail",
    ]);
    for p in pos {
        t.add_row(vec![
            p.result.as_str().replace('_', " "),
            ident(&p.supplier),
            ident(&p.location),
            ident_or(p.order_number.as_deref(), "-"),
            p.lines.to_string(),
            match (&p.total, &p.currency) {
                (Some(t), Some(c)) => format!("{t} {}", ident(c)),
                (Some(t), None) => t.to_string(),
                _ => "-".into(),
            },
            p.detail.as_deref().map(free_text).unwrap_or_default(),
        ]);
    }
    safe::fit(
        &mut t,
        &[
            Col::Wrap,
            Col::Wrap,
            Col::Wrap,
            Col::Wrap,
            Col::Whole,
            Col::Whole,
            Col::Rest,
        ],
    );
    format!("{t}\n")
}

/// The whole report, in `width` columns.
pub fn table(r: &DraftReport, width: u16) -> String {
    let mut out = String::new();
    if r.dry_run {
        out.push_str("DRY RUN: nothing was written to Cin7 or to the ledger.\n");
    }
    if let Some(s) = &r.sync {
        let _ = writeln!(
            out,
            "synced: {} requests, {} throttled answers, {} retries",
            s.requests_total, s.throttled_total, s.retries_total
        );
    }
    if !r.recovered.is_empty() {
        out.push_str("Checked the tool's earlier drafts in Cin7:\n");
        for rec in &r.recovered {
            let line = format!(
                "  {} at {} ({}): {}",
                ident(&rec.supplier),
                ident(&rec.location),
                ident_or(rec.order_number.as_deref(), "no PO number"),
                free_text(&rec.what.to_string())
            );
            let _ = writeln!(out, "{}", wrap(&line, width, 4));
        }
    }
    out.push_str(&actions_table(&r.purchase_orders, width));
    if !r.held_lines.is_empty() {
        out.push_str("Lines held by data-quality gates:\n");
        for h in &r.held_lines {
            let line = format!(
                "  {} at {} ({}, {} units): {}",
                ident(&h.sku),
                ident(&h.location),
                ident(&h.supplier),
                h.quantity,
                free_text(&h.reason)
            );
            let _ = writeln!(out, "{}", wrap(&line, width, 4));
        }
    }
    if !r.alerts.is_empty() {
        let _ = writeln!(out, "Alerts ({}):", r.alerts.len());
        for a in &r.alerts {
            let subject: Vec<String> = [a.sku.as_deref(), a.location.as_deref()]
                .into_iter()
                .flatten()
                .map(ident)
                .collect();
            let subject = if subject.is_empty() {
                String::new()
            } else {
                format!("{}: ", subject.join(" at "))
            };
            let line = format!("  [{}] {subject}{}", ident(&a.kind), free_text(&a.message));
            let _ = writeln!(out, "{}", wrap(&line, width, 4));
        }
    }
    let count = |result: PoResult| {
        r.purchase_orders
            .iter()
            .filter(|p| p.result == result)
            .count()
    };
    let (created, updated) = if r.dry_run {
        ("would be created", "would be updated")
    } else {
        ("created", "updated")
    };
    let summary = format!(
        "{}: {} {created}, {} {updated}, {} unchanged, {} held, {} left alone, {} rejected, {} failed",
        match r.outcome {
            DraftOutcome::Failed => "FAILED (the next run finishes what is left)",
            DraftOutcome::Attention => "done, but something needs a person",
            DraftOutcome::Done => "done",
        },
        count(PoResult::Created) + count(PoResult::WouldCreate),
        count(PoResult::Updated) + count(PoResult::WouldUpdate),
        count(PoResult::Unchanged),
        count(PoResult::Held),
        count(PoResult::LeftAlone),
        count(PoResult::Rejected),
        count(PoResult::Failed),
    );
    let _ = writeln!(out, "{}", wrap(&summary, width, 2));
    out
}
