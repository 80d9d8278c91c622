//! Rendering of a computed plan: JSON (the documented shape), CSV (one row per line), a table for
//! buyers, and `--explain` (the whole reasoning chain for one SKU in words). Rendering only.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use comfy_table::CellAlignment;

use crate::core::forecast::Model;
use crate::core::plan::{AdaptiveLine, LINE_FIELDS, Plan, PlanLine};
use crate::output::safe::{self, Col, csv_text, free_text, ident, ident_or, wrap};

/// The plan as pretty JSON (docs/planning.md's shape), newline-terminated.
pub fn json(plan: &Plan) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(plan)? + "\n")
}

/// A number for people and spreadsheets: at most 4 decimals, no trailing zeros.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Money for people: exact, with at least two decimals (9 → 9.00, 5.7425 stays 5.7425).
pub fn money(d: &rust_decimal::Decimal) -> String {
    let d = d.normalize();
    if d.scale() < 2 {
        format!("{d:.2}")
    } else {
        d.to_string()
    }
}

fn opt_num(v: Option<f64>) -> String {
    v.map(num).unwrap_or_default()
}

/// One row per planning line, with a header row.
pub fn csv(plan: &Plan) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(LINE_FIELDS)?;
    for l in &plan.lines {
        // Text cells are neutralised against spreadsheet formulas; numbers are written as numbers.
        let text = |s: &str| csv_text(s);
        w.write_record([
            text(&l.sku),
            text(&l.location),
            text(l.supplier_id.as_deref().unwrap_or_default()),
            text(l.supplier.as_deref().unwrap_or_default()),
            num(l.velocity),
            num(l.stddev),
            l.in_stock_days.to_string(),
            l.window_days.to_string(),
            num(l.available),
            num(l.on_order),
            num(l.in_transit),
            num(l.on_draft),
            num(l.position),
            opt_num(l.days_of_cover),
            opt_num(l.position_cover_days),
            l.lead_time_days.to_string(),
            text(&l.lead_time_source),
            num(l.safety_stock),
            num(l.reorder_point),
            num(l.target),
            text(&l.trigger),
            num(l.raw_qty),
            num(l.moq),
            num(l.pack),
            num(l.order_qty),
            l.unit_cost.map(|c| c.to_string()).unwrap_or_default(),
            text(l.currency.as_deref().unwrap_or_default()),
            text(&l.reasons.join(";")),
            text(&l.flags.join(";")),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// Why a line orders, in a few words.
fn why(l: &PlanLine) -> String {
    let mut parts = Vec::new();
    match l.trigger.as_str() {
        "velocity" => parts.push(format!(
            "position {} < reorder point {}",
            num(l.position),
            num(l.reorder_point)
        )),
        "reorder_level" => parts.push("at or below the Cin7 reorder level".to_string()),
        _ => {}
    }
    for r in &l.reasons {
        parts.push(r.replace('_', " "));
    }
    for f in &l.flags {
        parts.push(f.replace('_', " "));
    }
    free_text(&parts.join("; "))
}

/// The line table's headers.
const FULL_HEADERS: [&str; 10] = [
    "SKU",
    "Location",
    "Supplier",
    "Available",
    "Position",
    "Velocity/day",
    "Days of cover",
    "Lead time",
    "Order qty",
    "Why",
];
/// The line table's headers on a narrow terminal, and what they stand for.
const SHORT_HEADERS: [&str; 10] = [
    "SKU", "Location", "Supplier", "Avail", "Pos", "Vel/day", "Cover", "Lead", "Order", "Why",
];
/// What the short headers stand for, printed under the table when they are used.
const SHORT_LEGEND: &str = "Avail: available · Pos: position (available + on order + in transit + on draft) · Vel/day: velocity, units a day · Cover: days of cover · Lead: lead time · Order: order quantity";
/// Below this many columns for Why, the line table switches to its short headers.
const WHY_ROOM: usize = 24;

/// How the line table's columns may be squeezed.
const LINE_COLUMNS: [Col; 10] = [
    Col::Wrap,
    Col::Wrap,
    Col::Wrap,
    Col::Whole,
    Col::Whole,
    Col::Whole,
    Col::Whole,
    Col::Whole,
    Col::Whole,
    Col::Rest,
];

/// The line table laid out in `width` columns: full headers when the Why column still gets
/// [`WHY_ROOM`], else short headers when they give Why more room (the legend is then due).
fn lines_table(plan: &Plan, width: u16) -> (comfy_table::Table, bool) {
    let mut t = safe::table(width);
    t.set_header(FULL_HEADERS.to_vec());
    for l in &plan.lines {
        t.add_row(vec![
            ident(&l.sku),
            ident(&l.location),
            ident_or(l.supplier.as_deref(), "—"),
            num(l.available),
            num(l.position),
            num(l.velocity),
            l.days_of_cover
                .map(|d| format!("{d:.1}"))
                .unwrap_or_else(|| "—".into()),
            format!("{} d", l.lead_time_days),
            num(l.order_qty),
            why(l),
        ]);
    }
    for col in 3..9 {
        if let Some(c) = t.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let full = safe::fit(&mut t, &LINE_COLUMNS);
    if full.is_some_and(|w| w >= WHY_ROOM) {
        return (t, false);
    }
    t.set_header(SHORT_HEADERS.to_vec());
    let short = safe::fit(&mut t, &LINE_COLUMNS);
    if short.unwrap_or(0) > full.unwrap_or(0) {
        return (t, true);
    }
    t.set_header(FULL_HEADERS.to_vec());
    safe::fit(&mut t, &LINE_COLUMNS);
    (t, false)
}

/// The buyer's table, laid out in `width` columns (see [`crate::output::safe`]): one row per SKU
/// that needs ordering (the Why column wraps), one block per purchase order, issues. Upstream
/// names are escaped and cut.
pub fn table(plan: &Plan, width: u16) -> String {
    let mut out = String::new();
    let line = |out: &mut String, text: String| {
        out.push_str(&wrap(&text, width, 2));
        out.push('\n');
    };
    line(&mut out, format!("Plan as of {}", plan.as_of));
    // Stale or missing stock data makes every number below suspect: say so first, not last.
    for issue in plan.issues.iter().filter(|i| i.kind == "stale_data") {
        line(
            &mut out,
            format!(
                "WARNING: stale data, this plan may be wrong: {}",
                free_text(&issue.detail)
            ),
        );
    }
    if plan.lines.is_empty() {
        line(&mut out, "Nothing needs ordering.".to_string());
    } else {
        // On a narrow terminal the number columns take short headers (explained under the
        // table) so Why is not squeezed.
        let (t, legend) = lines_table(plan, width);
        out.push_str(&t.to_string());
        out.push('\n');
        if legend {
            line(&mut out, SHORT_LEGEND.to_string());
        }
    }
    for po in &plan.purchase_orders {
        let currency = po.currency.as_deref().map(ident).unwrap_or_default();
        line(
            &mut out,
            format!(
                "\nPO [{}] {} → {} · required by {} · total {} {}{}",
                po.status,
                ident(&po.supplier),
                ident(&po.location),
                po.required_by,
                money(&po.total),
                currency,
                po.hold_reason
                    .as_deref()
                    .map(|r| format!(" · held: {}", free_text(r)))
                    .unwrap_or_default()
            ),
        );
        let mut t = safe::table(width);
        t.set_header(vec!["SKU", "Name", "Quantity", "Price", "Total"]);
        for l in &po.lines {
            t.add_row(vec![
                ident(&l.sku),
                ident(&l.name),
                num(l.quantity),
                money(&l.price),
                money(&l.total),
            ]);
        }
        safe::fit(
            &mut t,
            &[Col::Wrap, Col::Wrap, Col::Whole, Col::Whole, Col::Whole],
        );
        out.push_str(&t.to_string());
        out.push('\n');
    }
    if !plan.issues.is_empty() {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for i in &plan.issues {
            *counts.entry(i.kind.as_str()).or_default() += 1;
        }
        let summary: Vec<String> = counts
            .iter()
            .map(|(k, n)| format!("{n} {}", ident(k)))
            .collect();
        line(
            &mut out,
            format!(
                "\nIssues: {} (plan --format json lists them)",
                summary.join(", ")
            ),
        );
    }
    out
}

/// The reasoning chain for every location of `sku`, in words, wrapped to `width` columns.
/// Upstream names are escaped and cut.
pub fn explain(plan: &Plan, sku: &str, width: u16) -> String {
    let mut out = String::new();
    let lines: Vec<&PlanLine> = plan.lines.iter().filter(|l| l.sku == sku).collect();
    if lines.is_empty() {
        let _ = writeln!(
            out,
            "{}: no planning unit as of {} — it is not an active Cin7 stock product, or it had no demand, stock, open orders or reorder level at any key location.",
            ident(sku),
            plan.as_of
        );
        for issue in plan.issues.iter().filter(|i| i.sku.as_deref() == Some(sku)) {
            let _ = writeln!(
                out,
                "  issue {}: {}",
                ident(&issue.kind),
                free_text(&issue.detail)
            );
        }
    } else {
        for l in lines {
            explain_line(&mut out, plan, l);
        }
    }
    wrap(&out, width, 2)
}

/// The adaptive method's demand story: the model, why it won, and the forecast.
fn adaptive_demand(out: &mut String, l: &PlanLine, a: &AdaptiveLine) {
    match a.model.as_deref().and_then(Model::parse) {
        Some(m) => {
            let _ = writeln!(
                out,
                "  Demand model: {} — {}; forecast {} units/day over the lead time, one-day errors spread {} ({} in-stock day(s) learned).",
                m.as_str(),
                m.describe(),
                num(l.velocity),
                num(l.stddev),
                l.in_stock_days
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  Demand model: none — no in-stock day to learn from, so nothing is forecast."
            );
        }
    }
    if a.model_scores.is_empty() {
        let _ = writeln!(
            out,
            "    Too few scored days to compare models: the recent mean is used."
        );
    } else {
        let scores: Vec<String> = a
            .model_scores
            .iter()
            .map(|(m, s)| format!("{} {}", ident(m), num(*s)))
            .collect();
        let _ = writeln!(
            out,
            "    Out-of-sample error of each model (RMSSE on its lead times' demand, or on single days until enough lead times have passed; lower is better, and a model must beat a simpler one by 25 %): {}.",
            scores.join(", ")
        );
    }
}

/// The adaptive method's service level and quantities in words.
fn adaptive_levels(out: &mut String, l: &PlanLine, a: &AdaptiveLine) {
    let _ = writeln!(
        out,
        "  Class {}: service level {} (allocated to reach policy.target_fill_rate at the least inventory value; expected fill {}).",
        ident(&a.class),
        num(a.service_level),
        num(a.expected_fill)
    );
    let _ = writeln!(
        out,
        "    Lead-time demand: mean {}, spread {} ({} distribution); safety stock above the mean {}.",
        num(a.lead_time_demand),
        num(a.lead_time_sd),
        ident(&a.distribution),
        num(l.safety_stock)
    );
    match a.eoq {
        Some(e) => {
            let _ = writeln!(
                out,
                "    Cycle quantity {}: economic order quantity {} (ordering vs carrying cost), bounded by a day to a year of demand, the MOQ and whole packs.",
                num(a.cycle_qty),
                num(e)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "    Cycle quantity {}: no unit cost to weigh, so a month of demand.",
                num(a.cycle_qty)
            );
        }
    }
}

fn explain_line(out: &mut String, plan: &Plan, l: &PlanLine) {
    let Some(t) = l.trace.as_deref() else {
        let _ = writeln!(
            out,
            "{} at {}: no trace (the plan was computed without --explain)",
            ident(&l.sku),
            ident(&l.location)
        );
        return;
    };
    let _ = writeln!(
        out,
        "{} at {} (as of {})",
        ident(&l.sku),
        ident(&l.location),
        plan.as_of
    );
    let _ = writeln!(
        out,
        "  Demand: {} order line(s) counted in the {}-day window, {} unit(s).",
        t.orders_counted,
        l.window_days,
        num(t.units_counted)
    );
    if t.excluded.is_empty() {
        let _ = writeln!(out, "    No order lines of this SKU were excluded.");
    } else {
        let parts: Vec<String> = t
            .excluded
            .iter()
            .map(|(k, n)| format!("{n} {}", ident(k)))
            .collect();
        let _ = writeln!(out, "    Excluded: {}.", parts.join(", "));
    }
    if t.stockout_days.is_empty() {
        let _ = writeln!(out, "  Stockouts: no window day was out of stock all day.");
    } else {
        let days: Vec<String> = t.stockout_days.iter().map(|d| d.to_string()).collect();
        let _ = writeln!(
            out,
            "  Stockouts: {} day(s) out of stock all day {}: {}.",
            days.len(),
            if t.insufficient_in_stock_history {
                "(too few in-stock days left, so all window days were used)"
            } else {
                "were dropped"
            },
            days.join(", ")
        );
    }
    if let Some(a) = l.adaptive.as_deref() {
        adaptive_demand(out, l, a);
    } else {
        let _ = writeln!(
            out,
            "  Velocity: {} units/day over {} in-stock day(s); standard deviation {}.",
            num(l.velocity),
            l.in_stock_days,
            num(l.stddev)
        );
    }
    let _ = writeln!(
        out,
        "  Supplier: {}; lead time {} day(s) ({}).",
        ident_or(l.supplier.as_deref(), "none (missing supplier data)"),
        l.lead_time_days,
        if t.lead_time_note.is_empty() {
            ident(&l.lead_time_source)
        } else {
            free_text(&t.lead_time_note)
        }
    );
    if let Some(a) = l.adaptive.as_deref() {
        adaptive_levels(out, l, a);
    } else {
        let _ = writeln!(
            out,
            "  Safety stock: max(z {} × σ {} × √L {}, safety days {} × velocity {}) = {}.",
            num(t.z),
            num(l.stddev),
            num((l.lead_time_days as f64).sqrt()),
            num(t.safety_days),
            num(l.velocity),
            num(l.safety_stock)
        );
    }
    let _ = writeln!(
        out,
        "  Position: available {} + on order {} + in transit {} + on draft {} = {}.",
        num(l.available),
        num(l.on_order),
        num(l.in_transit),
        num(l.on_draft),
        num(l.position)
    );
    for (number, status, qty) in &t.drafts {
        let _ = writeln!(
            out,
            "    draft {} ({}): {}",
            ident(number),
            ident(status),
            num(*qty)
        );
    }
    if let Some(a) = l.adaptive.as_deref() {
        let _ = writeln!(
            out,
            "  Reorder point: the {} quantile of lead-time demand = {}; target: reorder point + cycle quantity {} = {}.",
            num(a.service_level),
            num(l.reorder_point),
            num(a.cycle_qty),
            num(l.target)
        );
    } else {
        let _ = writeln!(
            out,
            "  Reorder point: velocity × lead time + safety stock = {}; target: velocity × (lead time + cover days) + safety stock = {}.",
            num(l.reorder_point),
            num(l.target)
        );
    }
    if let Some((m, r)) = t.reorder_level {
        let ignored = l
            .adaptive
            .as_deref()
            .is_some_and(|a| a.reorder_level_use == "ignored_no_demand");
        let _ = writeln!(
            out,
            "    Cin7 reorder level: minimum {}, reorder quantity {}{}.",
            num(m),
            num(r),
            if ignored {
                " — ignored: the unit sold nothing here in the history, so no stock is held for it"
            } else {
                ""
            }
        );
    }
    let trigger = match l.trigger.as_str() {
        "velocity" => "position is below the reorder point",
        "reorder_level" => "position is at or below the Cin7 reorder level",
        _ => "no trigger: nothing to order",
    };
    let _ = writeln!(out, "  Trigger: {trigger}.");
    let _ = writeln!(out, "  Quantity: target − position = {}.", num(l.raw_qty));
    if l.order_qty > 0.0 {
        let _ = writeln!(
            out,
            "    rounded up and raised to the MOQ {}: {}; to whole packs of {}: {}.",
            num(l.moq),
            num(t.q1),
            num(l.pack),
            num(t.after_pack)
        );
        if t.topped_up > 0.0 {
            let _ = writeln!(
                out,
                "    topped up by {} to reach the supplier minimum.",
                num(t.topped_up)
            );
        }
        let _ = writeln!(out, "  Order: {}.", num(l.order_qty));
    }
    if !l.flags.is_empty() {
        let _ = writeln!(out, "  Flags: {}.", free_text(&l.flags.join(", ")));
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use super::num;

    #[test]
    fn stale_data_is_a_warning_at_the_top_of_the_table() {
        use crate::core::plan::{Issue, Plan};
        let plan = Plan {
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            policy: crate::core::planner::policy_echo(&crate::core::settings::Policy::default()),
            lines: Vec::new(),
            purchase_orders: Vec::new(),
            issues: vec![Issue {
                kind: "stale_data".into(),
                sku: None,
                location: None,
                detail: "no availability snapshot has been taken: run `replenish sync`".into(),
            }],
        };
        let text = super::table(&plan, 140);
        let second_line = text.lines().nth(1).unwrap_or_default();
        assert!(second_line.starts_with("WARNING: stale data"), "{text}");
        assert!(second_line.contains("replenish sync"), "{text}");
    }

    #[test]
    fn money_shows_at_least_two_decimals_and_never_rounds() {
        use rust_decimal::Decimal;
        assert_eq!(super::money(&Decimal::new(9, 0)), "9.00");
        assert_eq!(super::money(&Decimal::new(2810, 1)), "281.00");
        assert_eq!(super::money(&Decimal::new(57425, 4)), "5.7425");
        assert_eq!(super::money(&Decimal::new(28126, 2)), "281.26");
    }

    #[test]
    fn numbers_have_at_most_four_decimals_and_no_trailing_zeros() {
        assert_eq!(num(48.0), "48");
        assert_eq!(num(1.214_285_714), "1.2143");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(-0.00001), "0");
        assert_eq!(num(f64::NAN), "");
    }
}
