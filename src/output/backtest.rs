//! Rendering of `replenish backtest`'s report: the JSON the issue fixes, a CSV with one row per
//! policy and per (policy, supplier), and tables for people. No decisions are made here.
//!
//! Supplier names come from Cin7: the tables escape and cut them and fit the terminal's width,
//! the CSV neutralises text cells against spreadsheet formulas ([`crate::output::safe`]).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use comfy_table::CellAlignment;
use serde::Serialize;

use crate::core::backtest::Outcome;
use crate::output::safe::{self, Col, csv_text, ident, ident_or, wrap};

/// The report: `{"from", "to", "policies": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub policies: Vec<PolicyReport>,
}

/// One policy's name, parameters and outcome, flattened as the JSON lists them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyReport {
    pub name: String,
    pub params: BTreeMap<String, f64>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// What the table's heading says about the run.
#[derive(Debug, Clone, Default)]
pub struct RunNotes {
    pub days: usize,
    pub units: usize,
    pub backorder: bool,
    pub lead_time_jitter: u32,
    /// Demand unit-days estimated on recorded stockout days.
    pub estimated_days: usize,
    /// Where the starting stock came from, in words.
    pub stock_source: String,
    /// What the report is narrowed to (`--sku`, `--location`), in words.
    pub scope: Option<String>,
    /// Each unit's start-up (the days before its lead time) is left out of the judgement.
    pub skip_start_up: bool,
}

pub fn json(r: &Report) -> serde_json::Result<String> {
    let mut s = serde_json::to_string_pretty(r)?;
    s.push('\n');
    Ok(s)
}

fn params_text(p: &BTreeMap<String, f64>) -> String {
    p.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(";")
}

fn opt(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// Header row, then a `total` row per policy followed by its suppliers' rows (which fill only
/// fill_rate, avg_on_hand_value and purchase_orders).
pub fn csv(r: &Report) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "policy",
        "params",
        "supplier",
        "fill_rate",
        "stockout_unit_days",
        "lost_revenue",
        "avg_on_hand_units",
        "avg_on_hand_value",
        "days_of_inventory",
        "purchase_orders",
        "po_lines",
        "ordered_value",
        "below_minimum_share",
    ])?;
    for p in &r.policies {
        let o = &p.outcome;
        w.write_record([
            csv_text(&p.name),
            csv_text(&params_text(&p.params)),
            String::new(),
            o.fill_rate.to_string(),
            o.stockout_unit_days.to_string(),
            opt(o.lost_revenue),
            o.avg_on_hand_units.to_string(),
            o.avg_on_hand_value.to_string(),
            opt(o.days_of_inventory),
            o.purchase_orders.to_string(),
            o.po_lines.to_string(),
            o.ordered_value.to_string(),
            o.below_minimum_share.to_string(),
        ])?;
        for s in &o.suppliers {
            w.write_record([
                csv_text(&p.name),
                csv_text(&params_text(&p.params)),
                csv_text(s.supplier.as_deref().unwrap_or("(no supplier)")),
                s.fill_rate.to_string(),
                String::new(),
                String::new(),
                String::new(),
                s.avg_on_hand_value.to_string(),
                String::new(),
                s.purchase_orders.to_string(),
                String::new(),
                String::new(),
                String::new(),
            ])?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

pub(crate) fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

pub(crate) fn money(x: f64) -> String {
    let whole = x.round() as i64;
    let out = group_thousands(&whole.abs().to_string());
    if whole < 0 { format!("-{out}") } else { out }
}

/// A run of digits with a comma between each group of three: `1234567` → `1,234,567`.
pub(crate) fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The comparison table, then fill rate and POs per supplier for each policy, in `width`
/// columns.
pub fn table(r: &Report, notes: &RunNotes, width: u16) -> String {
    let mut out = format!(
        "Backtest {} – {}: {} days, {} unit{}; {}; lead-time jitter up to {} days\n",
        r.from,
        r.to,
        notes.days,
        notes.units,
        if notes.units == 1 { "" } else { "s" },
        if notes.backorder {
            "unmet demand backordered"
        } else {
            "unmet demand lost"
        },
        notes.lead_time_jitter
    );
    out.push_str(&format!(
        "Starting stock: {}. Demand estimated on {} unit-days the store showed out of stock.\n",
        notes.stock_source, notes.estimated_days
    ));
    if notes.skip_start_up {
        out.push_str(
            "Each unit is judged from its lead time on: before that no policy's order can have arrived (--include-start-up to count those days).\n",
        );
    }
    if let Some(scope) = &notes.scope {
        out.push_str(&format!("Report narrowed to {}.\n", ident(scope)));
    }
    let mut out = wrap(&out, width, 2);
    let mut t = safe::table(width);
    t.set_header(vec![
        "Policy",
        "Fill rate",
        "Stockout unit-days",
        "Lost revenue",
        "Avg on hand",
        "Avg on-hand value",
        "Days of inventory",
        "POs",
        "PO lines",
        "Ordered value",
        "POs below minimum",
    ]);
    for p in &r.policies {
        let o = &p.outcome;
        t.add_row(vec![
            ident(&p.name),
            pct(o.fill_rate),
            o.stockout_unit_days.to_string(),
            o.lost_revenue
                .map(money)
                .unwrap_or_else(|| "unknown".into()),
            money(o.avg_on_hand_units),
            money(o.avg_on_hand_value),
            o.days_of_inventory
                .map(|d| format!("{d:.1}"))
                .unwrap_or_else(|| "-".into()),
            o.purchase_orders.to_string(),
            o.po_lines.to_string(),
            money(o.ordered_value),
            pct(o.below_minimum_share),
        ]);
    }
    for i in 1..11 {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut kinds = vec![Col::Whole; 11];
    kinds[0] = Col::Wrap;
    safe::fit(&mut t, &kinds);
    out.push_str(&t.to_string());
    out.push('\n');

    // Per supplier: fill rate and POs, a column per policy.
    let mut suppliers: Vec<Option<String>> = r
        .policies
        .iter()
        .flat_map(|p| p.outcome.suppliers.iter().map(|s| s.supplier.clone()))
        .collect();
    suppliers.sort();
    suppliers.dedup();
    if !suppliers.is_empty() {
        let mut t = safe::table(width);
        let mut header = vec!["Supplier (fill rate · POs)".to_string()];
        header.extend(r.policies.iter().map(|p| ident(&p.name)));
        t.set_header(header);
        for s in &suppliers {
            let mut row = vec![ident_or(s.as_deref(), "(no supplier)")];
            for p in &r.policies {
                row.push(
                    p.outcome
                        .suppliers
                        .iter()
                        .find(|x| &x.supplier == s)
                        .map(|x| format!("{} · {}", pct(x.fill_rate), x.purchase_orders))
                        .unwrap_or_default(),
                );
            }
            t.add_row(row);
        }
        let mut kinds = vec![Col::Whole; 1 + r.policies.len()];
        kinds[0] = Col::Wrap;
        safe::fit(&mut t, &kinds);
        out.push_str(&t.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::backtest::SupplierOutcome;

    fn report() -> Report {
        Report {
            from: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 9, 30).unwrap(),
            policies: vec![PolicyReport {
                name: "sl=0.95,cover=30".into(),
                params: BTreeMap::from([
                    ("cover_days".to_string(), 30.0),
                    ("service_level".to_string(), 0.95),
                ]),
                outcome: Outcome {
                    fill_rate: 0.975,
                    stockout_unit_days: 12,
                    lost_revenue: None,
                    avg_on_hand_units: 1500.5,
                    avg_on_hand_value: 12345.25,
                    days_of_inventory: Some(20.0),
                    purchase_orders: 4,
                    po_lines: 9,
                    ordered_value: 5000.0,
                    below_minimum_share: 0.25,
                    suppliers: vec![SupplierOutcome {
                        supplier: Some("Acme".into()),
                        fill_rate: 0.975,
                        avg_on_hand_value: 12345.25,
                        purchase_orders: 4,
                    }],
                    demanded: 400.0,
                    served: 390.0,
                },
            }],
        }
    }

    #[test]
    fn json_has_exactly_the_issue_s_keys() {
        let v: serde_json::Value = serde_json::from_str(&json(&report()).unwrap()).unwrap();
        let mut top: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        top.sort();
        assert_eq!(top, ["from", "policies", "to"]);
        let p = &v["policies"][0];
        let mut got: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
        got.sort();
        let mut want = vec![
            "name",
            "params",
            "fill_rate",
            "stockout_unit_days",
            "lost_revenue",
            "avg_on_hand_units",
            "avg_on_hand_value",
            "days_of_inventory",
            "purchase_orders",
            "po_lines",
            "ordered_value",
            "below_minimum_share",
            "suppliers",
        ];
        want.sort();
        assert_eq!(got, want);
        assert_eq!(v["from"], "2026-09-01");
        assert_eq!(p["lost_revenue"], serde_json::Value::Null);
        assert_eq!(p["params"]["service_level"], 0.95);
        let s = &p["suppliers"][0];
        let mut sk: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
        sk.sort();
        assert_eq!(
            sk,
            [
                "avg_on_hand_value",
                "fill_rate",
                "purchase_orders",
                "supplier"
            ]
        );
    }

    #[test]
    fn csv_has_a_total_row_then_a_row_per_supplier() {
        let text = csv(&report()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("policy,params,supplier,fill_rate"));
        assert!(
            lines[1].starts_with(
                "\"sl=0.95,cover=30\",cover_days=30;service_level=0.95,,0.975,12,,1500.5"
            ),
            "{}",
            lines[1]
        );
        assert!(lines[2].contains(",Acme,0.975,"), "{}", lines[2]);
    }

    #[test]
    fn table_shows_rates_as_percentages_and_money_with_separators() {
        let text = table(&report(), &RunNotes::default(), 100);
        assert!(text.contains("97.5%"), "{text}");
        assert!(text.contains("12,345"), "{text}");
        assert!(text.contains("unknown"), "{text}");
        assert!(text.contains("25.0%"), "{text}");
        assert!(text.contains("Acme"), "{text}");
    }
}
