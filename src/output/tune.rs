//! Rendering of `replenish tune`'s report: every candidate (sorted by fill rate, the frontier
//! and the recommended one marked), the baselines beside them, and the `[policy]` block to paste.
//! No decisions are made here.

use chrono::NaiveDate;
use comfy_table::CellAlignment;
use serde::Serialize;

use crate::output::backtest::{money, pct};
use crate::output::safe::{self, Col, csv_text, ident, wrap};

/// One simulated policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub name: String,
    pub fill_rate: f64,
    pub avg_on_hand_value: f64,
    pub pos_per_week: f64,
    pub lost_revenue: Option<f64>,
    /// No other candidate fills at least as much with no more inventory.
    pub frontier: bool,
    pub recommended: bool,
}

/// The report (`tune --format json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TuneReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: usize,
    pub units: usize,
    pub candidates: Vec<Point>,
    /// configured, naive, oracle.
    pub baselines: Vec<Point>,
    /// The `[policy]` block selecting the recommended candidate.
    pub recommended_block: Option<String>,
}

pub fn json(r: &TuneReport) -> serde_json::Result<String> {
    let mut s = serde_json::to_string_pretty(r)?;
    s.push('\n');
    Ok(s)
}

/// A row per candidate, then the baselines (`kind` says which).
pub fn csv(r: &TuneReport) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "kind",
        "policy",
        "fill_rate",
        "avg_on_hand_value",
        "pos_per_week",
        "lost_revenue",
        "frontier",
        "recommended",
    ])?;
    let rows = r
        .candidates
        .iter()
        .map(|p| ("candidate", p))
        .chain(r.baselines.iter().map(|p| ("baseline", p)));
    for (kind, p) in rows {
        w.write_record([
            kind.to_string(),
            csv_text(&p.name),
            p.fill_rate.to_string(),
            p.avg_on_hand_value.to_string(),
            p.pos_per_week.to_string(),
            p.lost_revenue.map(|x| x.to_string()).unwrap_or_default(),
            p.frontier.to_string(),
            p.recommended.to_string(),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

pub fn table(r: &TuneReport, width: u16) -> String {
    let head = format!(
        "Tune {} – {}: {} days, {} units; each unit judged from its lead time on. ★ on the frontier (no other candidate fills as much with less inventory), ◆ recommended.\n",
        r.from, r.to, r.days, r.units
    );
    let mut out = wrap(&head, width, 2);
    let mut t = safe::table(width);
    t.set_header(vec![
        "",
        "Policy",
        "Fill rate",
        "Avg on-hand value",
        "POs / week",
        "Lost revenue",
    ]);
    let rows = r.candidates.iter().chain(&r.baselines);
    for p in rows {
        let mark = match (p.recommended, p.frontier) {
            (true, _) => "◆",
            (false, true) => "★",
            _ => "",
        };
        t.add_row(vec![
            mark.to_string(),
            ident(&p.name),
            pct(p.fill_rate),
            money(p.avg_on_hand_value),
            format!("{:.1}", p.pos_per_week),
            p.lost_revenue
                .map(money)
                .unwrap_or_else(|| "unknown".into()),
        ]);
    }
    for i in 2..6 {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut kinds = vec![Col::Whole; 6];
    kinds[1] = Col::Wrap;
    safe::fit(&mut t, &kinds);
    out.push_str(&t.to_string());
    out.push('\n');
    match &r.recommended_block {
        Some(b) => {
            out.push_str("\nTo use the recommended point, put this in replenish.toml:\n\n");
            out.push_str(b);
        }
        None => out.push_str("\nNo candidate to recommend.\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(name: &str, fill: f64, frontier: bool, recommended: bool) -> Point {
        Point {
            name: name.into(),
            fill_rate: fill,
            avg_on_hand_value: 1234.4,
            pos_per_week: 3.25,
            lost_revenue: Some(10.0),
            frontier,
            recommended,
        }
    }

    #[test]
    fn the_table_marks_the_frontier_and_prints_the_block() {
        let r = TuneReport {
            from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            to: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default(),
            days: 60,
            units: 3,
            candidates: vec![
                point("fill=0.99,carry=0.25,models=all", 0.97, true, true),
                point("fill=0.9,carry=0.25,models=all", 0.9, false, false),
            ],
            baselines: vec![point("=cmd()", 0.5, false, false)],
            recommended_block: Some("[policy]\nmethod = \"adaptive\"\n".into()),
        };
        let text = table(&r, 120);
        assert!(text.contains("◆"), "{text}");
        assert!(text.contains("97.0%") && text.contains("1,234"), "{text}");
        assert!(
            text.ends_with("[policy]\nmethod = \"adaptive\"\n"),
            "{text}"
        );
        // A formula-looking name is neutralised in the CSV.
        let c = csv(&r).unwrap_or_default();
        assert!(c.contains("'=cmd()"), "{c}");
    }
}
