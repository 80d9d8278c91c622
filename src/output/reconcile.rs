//! Rendering of the nightly audit: a table on a terminal and Markdown for email (JSON comes
//! straight from serde). Findings are grouped by kind.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::app::reconcile::ReconcileReport;
use crate::core::reconcile::Finding;

fn by_kind(r: &ReconcileReport) -> BTreeMap<&str, Vec<&Finding>> {
    let mut m: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &r.findings {
        m.entry(f.kind.as_str()).or_default().push(f);
    }
    m
}

fn subject(f: &Finding) -> String {
    let parts: Vec<&str> = [f.sku.as_deref(), f.location.as_deref()]
        .into_iter()
        .flatten()
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

/// For a terminal.
pub fn table(r: &ReconcileReport) -> String {
    let mut out = headline(r);
    out.push('\n');
    if r.findings.is_empty() {
        out.push_str("Nothing to report.\n");
    }
    for (kind, findings) in by_kind(r) {
        let _ = writeln!(out, "\n{kind} ({})", findings.len());
        for f in findings {
            let _ = writeln!(out, "  {}{}", subject(f), f.detail);
        }
    }
    out
}

/// For email: a heading, a summary list, then one section per kind.
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
        let _ = writeln!(out, "\n## {kind}\n");
        for f in findings {
            let _ = writeln!(out, "- {}{}", subject(f), f.detail);
        }
    }
    out
}
