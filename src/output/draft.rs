//! Rendering of a `draft` run for people: what was done (or would be, with `--dry-run`) per
//! purchase order, what the run found when it checked its earlier drafts, what the gates held,
//! and the alerts raised. JSON comes straight from serde.

use std::fmt::Write;

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use crate::app::draft::{DraftReport, PoOutcome};

/// One row per PO: action, result, supplier, location, PO number, lines, total, detail.
pub fn actions_table(pos: &[PoOutcome]) -> String {
    if pos.is_empty() {
        return "No purchase order to create or update.\n".into();
    }
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    t.set_header(vec![
        "result", "supplier", "location", "PO", "lines", "total", "detail",
    ]);
    for p in pos {
        t.add_row(vec![
            p.result.replace('_', " "),
            p.supplier.clone(),
            p.location.clone(),
            p.order_number.clone().unwrap_or_else(|| "-".into()),
            p.lines.to_string(),
            match (&p.total, &p.currency) {
                (Some(t), Some(c)) => format!("{t} {c}"),
                (Some(t), None) => t.to_string(),
                _ => "-".into(),
            },
            p.detail.clone().unwrap_or_default(),
        ]);
    }
    format!("{t}\n")
}

/// The whole report.
pub fn table(r: &DraftReport) -> String {
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
            let _ = writeln!(
                out,
                "  {} at {} ({}): {}",
                rec.supplier,
                rec.location,
                rec.order_number.as_deref().unwrap_or("no PO number"),
                rec.what
            );
        }
    }
    out.push_str(&actions_table(&r.purchase_orders));
    if !r.held_lines.is_empty() {
        out.push_str("Lines held by data-quality gates:\n");
        for h in &r.held_lines {
            let _ = writeln!(
                out,
                "  {} at {} ({}, {} units): {}",
                h.sku, h.location, h.supplier, h.quantity, h.reason
            );
        }
    }
    if !r.alerts.is_empty() {
        let _ = writeln!(out, "Alerts ({}):", r.alerts.len());
        for a in &r.alerts {
            let subject: Vec<&str> = [a.sku.as_deref(), a.location.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            let subject = if subject.is_empty() {
                String::new()
            } else {
                format!("{}: ", subject.join(" at "))
            };
            let _ = writeln!(out, "  [{}] {subject}{}", a.kind, a.message);
        }
    }
    let count = |result: &str| {
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
    let _ = writeln!(
        out,
        "{}: {} {created}, {} {updated}, {} unchanged, {} held, {} left alone, {} rejected, {} failed",
        match r.outcome {
            "failed" => "FAILED (the next run finishes what is left)",
            "attention" => "done, but something needs a person",
            _ => "done",
        },
        count("created") + count("would_create"),
        count("updated") + count("would_update"),
        count("unchanged"),
        count("held"),
        count("left_alone"),
        count("rejected"),
        count("failed"),
    );
    out
}
