//! Rendering of the nightly audit: a table on a terminal and Markdown for email (JSON comes
//! straight from serde). Findings are grouped by kind.
//!
//! Upstream text (SKUs, locations, suppliers, details naming them) is escaped and cut
//! ([`crate::output::safe`]); the terminal text is wrapped to the terminal's width, and the
//! Markdown puts each kind's findings in a table whose cells cannot break out of it (pipes,
//! markup and line breaks escaped).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::core::reconcile::Finding;
use crate::output::safe::{Cut, IDENT_MAX, TEXT_MAX, free_text, ident, markdown as md, wrap};
use crate::report::reconcile::ReconcileReport;

fn by_kind(r: &ReconcileReport) -> BTreeMap<&str, Vec<&Finding>> {
    let mut m: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &r.findings {
        m.entry(f.kind.as_str()).or_default().push(f);
    }
    m
}

fn subject(f: &Finding) -> String {
    let parts: Vec<String> = [f.sku.as_deref(), f.location.as_deref()]
        .into_iter()
        .flatten()
        .map(ident)
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("{}: ", parts.join(" at "))
    }
}

fn headline(r: &ReconcileReport) -> String {
    format!(
        "reconcile run {}: {} finding(s); {} orders re-pulled, {} fixed in the store",
        r.run_id,
        r.findings.len(),
        r.orders_repulled,
        r.orders_fixed
    )
}

/// For a terminal, wrapped to `width` columns.
pub fn table(r: &ReconcileReport, width: u16) -> String {
    let mut out = headline(r);
    out.push('\n');
    if r.findings.is_empty() {
        out.push_str("Nothing to report.\n");
    }
    for (kind, findings) in by_kind(r) {
        let _ = writeln!(out, "\n{} ({})", ident(kind), findings.len());
        for f in findings {
            let _ = writeln!(out, "  {}{}", subject(f), free_text(&f.detail));
        }
    }
    wrap(&out, width, 4)
}

/// For email: a heading, a summary list, then one section per kind with a table of its
/// findings (SKU, supplier and location columns only when a finding of the kind has one).
pub fn markdown(r: &ReconcileReport) -> String {
    let mut out = format!("# replenish reconcile\n\n{}\n", headline(r));
    if r.findings.is_empty() {
        out.push_str("\nNothing to report.\n");
        return out;
    }
    out.push('\n');
    for (kind, n) in &r.counts {
        let _ = writeln!(out, "- **{kind}**: {n}");
    }
    for (kind, findings) in by_kind(r) {
        // Kinds are the tool's own codes (`negative_stock`), shown as they are.
        let _ = writeln!(out, "\n## {kind}\n");
        type Field = fn(&Finding) -> Option<&str>;
        let columns: Vec<(&str, Field)> = [
            ("SKU", (|f: &Finding| f.sku.as_deref()) as Field),
            ("Supplier", |f: &Finding| f.supplier.as_deref()),
            ("Location", |f: &Finding| f.location.as_deref()),
        ]
        .into_iter()
        .filter(|(_, get)| findings.iter().any(|f| get(f).is_some()))
        .collect();
        let mut header: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        header.push("Detail");
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
        for f in findings {
            let mut cells: Vec<String> = columns
                .iter()
                .map(|(_, get)| {
                    get(f)
                        .map(|v| md(v, IDENT_MAX, Cut::Middle))
                        .unwrap_or_default()
                })
                .collect();
            cells.push(md(&f.detail, TEXT_MAX, Cut::End));
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
    }
    out
}
