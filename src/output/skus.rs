//! Rendering of the SKU audit: JSON (`{"summary": {<class>: count, "match_rate": r}, "entries":
//! [...]}`), CSV (one row per finding), a table for people (the match rate first, then one table
//! per class, what needs a person first and the exact matches only with `--all`), and the mapping
//! template CSV. Rendering only.
//!
//! CSV and the template neutralise text cells a spreadsheet would run as a formula (the template's
//! reader, [`crate::core::mapping::parse_mapping`], takes the guard off again); the table escapes
//! and cuts upstream SKUs and fits the terminal's width.

use std::path::PathBuf;

use chrono::NaiveDate;
use comfy_table::CellAlignment;
use serde::Serialize;

use crate::core::formula;
use crate::core::skumatch::{Audit, Class, Entry, FUZZY_THRESHOLD};
use crate::output::plan::num;
use crate::output::safe::{self, Col, csv_text, free_text, ident, wrap};

/// What the table says besides the audit itself.
#[derive(Debug, Clone)]
pub struct Context {
    pub as_of: NaiveDate,
    pub window_days: u32,
    /// The mapping template written, and its row count.
    pub template: Option<(PathBuf, usize)>,
    /// List the exact matches too (`--all`); otherwise the table only counts them.
    pub all: bool,
}

/// The table's sections in order: what needs a person first (SKUs that sell into nothing,
/// suggestions to confirm, variants without a SKU, duplicates, mapping rows pointing at nothing),
/// then what is only worth a look (unsold Cin7 products, the mapping table's working rows), and
/// the exact matches last (listed only with `--all`).
pub const TABLE_ORDER: [Class; 9] = [
    Class::Unmatched,
    Class::Normalized,
    Class::Fuzzy,
    Class::Blank,
    Class::Duplicate,
    Class::DanglingMapping,
    Class::Unsold,
    Class::Mapped,
    Class::Exact,
];

/// The JSON summary: entries per class, in report order, then the match rate.
#[derive(Serialize)]
struct SummaryJson {
    exact: usize,
    mapped: usize,
    normalized: usize,
    fuzzy: usize,
    blank: usize,
    duplicate: usize,
    unmatched: usize,
    unsold: usize,
    dangling_mapping: usize,
    match_rate: Option<f64>,
}

#[derive(Serialize)]
struct Json<'a> {
    summary: SummaryJson,
    entries: &'a [Entry],
}

/// The audit as pretty JSON, newline-terminated.
pub fn json(audit: &Audit) -> anyhow::Result<String> {
    let s = &audit.summary;
    let summary = SummaryJson {
        exact: s.count(Class::Exact),
        mapped: s.count(Class::Mapped),
        normalized: s.count(Class::Normalized),
        fuzzy: s.count(Class::Fuzzy),
        blank: s.count(Class::Blank),
        duplicate: s.count(Class::Duplicate),
        unmatched: s.count(Class::Unmatched),
        unsold: s.count(Class::Unsold),
        dangling_mapping: s.count(Class::DanglingMapping),
        match_rate: s.match_rate,
    };
    Ok(serde_json::to_string_pretty(&Json {
        summary,
        entries: &audit.entries,
    })? + "\n")
}

/// The CSV columns, one row per finding (variant ids joined by `;`).
pub const CSV_FIELDS: [&str; 7] = [
    "class",
    "shopify_sku",
    "cin7_sku",
    "score",
    "variant_ids",
    "units_sold",
    "detail",
];

/// One row per finding, with a header row.
pub fn csv(audit: &Audit) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_FIELDS)?;
    for e in &audit.entries {
        // Text cells are neutralised against spreadsheet formulas; numbers are written as numbers.
        w.write_record([
            csv_text(e.class.as_str()),
            csv_text(e.shopify_sku.as_deref().unwrap_or_default()),
            csv_text(e.cin7_sku.as_deref().unwrap_or_default()),
            e.score.map(num).unwrap_or_default(),
            csv_text(&e.variant_ids.join(";")),
            e.units_sold.to_string(),
            csv_text(&e.detail),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// The template columns: the mapping file's two, then what a reviewer needs to judge a row.
pub const TEMPLATE_FIELDS: [&str; 5] = [
    "shopify_sku",
    "cin7_sku",
    "confidence",
    "class",
    "units_sold",
];

/// The mapping template: the table's working rows (confidence 1) and every suggestion (its
/// score), by Shopify SKU. `core::mapping::parse_mapping` reads it as it is.
///
/// A field is quoted when CSV needs it and also when it starts or ends with whitespace: SKUs are
/// matched verbatim, and spreadsheets trim unquoted spaces. A SKU a spreadsheet would run as a
/// formula gets a leading `'` ([`formula::neutralise`]), which the mapping reader removes again
/// ([`formula::restore`]): a person reviews the template in a spreadsheet, and the tool reads
/// back the SKU it wrote.
pub fn template(audit: &Audit) -> anyhow::Result<String> {
    let mut out = TEMPLATE_FIELDS.join(",") + "\n";
    for e in audit.template_rows() {
        let row = [
            formula::neutralise(e.shopify_sku.as_deref().unwrap_or_default()).into_owned(),
            formula::neutralise(e.cin7_sku.as_deref().unwrap_or_default()).into_owned(),
            num(e.score.unwrap_or(1.0)),
            e.class.as_str().to_string(),
            e.units_sold.to_string(),
        ];
        let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    Ok(out)
}

/// One CSV field, quoted (quotes doubled) when it holds a separator, a quote, a line break or
/// whitespace at either end, or is empty.
fn csv_field(f: &str) -> String {
    let quote = f.is_empty() || f.trim() != f || f.contains([',', '"', '\n', '\r']);
    if quote {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

/// What each class means, for the table's section headings.
fn meaning(class: Class) -> String {
    match class {
        Class::Exact => "the Shopify SKU is an active Cin7 SKU".to_string(),
        Class::Mapped => "mapped by the mapping table".to_string(),
        Class::Normalized => {
            "equal once case, spaces, dashes and underscores are ignored: suggested mappings"
                .to_string()
        }
        Class::Fuzzy => format!(
            "a close spelling with the same numbers (score ≥ {FUZZY_THRESHOLD}): suggestions to check"
        ),
        Class::Blank => "Shopify variants without a SKU: give them one in Shopify".to_string(),
        Class::Duplicate => "a SKU on two or more variants or Cin7 products".to_string(),
        Class::Unmatched => "no Cin7 product: map it, or it is not a stock item".to_string(),
        Class::Unsold => "active Cin7 stock products that sold nothing in the window".to_string(),
        Class::DanglingMapping => "mapping-table rows that point at nothing".to_string(),
    }
}

/// A SKU for people: escaped and cut, and quoted when spaces at its ends would otherwise be
/// invisible.
fn show(sku: Option<&str>) -> String {
    match sku {
        None => String::new(),
        Some(s) if s.is_empty() || s.trim() != s => format!("\"{}\"", ident(s)),
        Some(s) => ident(s),
    }
}

/// Variant gids shortened to their numbers.
fn variants(ids: &[String]) -> String {
    let shown: Vec<String> = ids
        .iter()
        .map(|id| ident(id.rsplit('/').next().unwrap_or(id)))
        .collect();
    free_text(&shown.join(" "))
}

/// The match rate and counts first, then one table per class that has findings, in
/// [`TABLE_ORDER`], laid out in `width` columns. Exact matches are only counted unless
/// `ctx.all`.
pub fn table(audit: &Audit, ctx: &Context, width: u16) -> String {
    let s = &audit.summary;
    let mut out = String::new();
    let line = |out: &mut String, text: String| {
        out.push_str(&wrap(&text, width, 2));
        out.push('\n');
    };
    let rate = match s.match_rate {
        Some(r) => format!("{}%", num(r * 100.0)),
        None => "n/a".to_string(),
    };
    line(
        &mut out,
        format!(
            "SKU audit as of {} ({}-day window): match rate {rate}: {} of {} Shopify SKUs resolve to an active Cin7 product exactly or through the mapping table",
            ctx.as_of, ctx.window_days, s.resolved, s.shopify_skus,
        ),
    );
    let counts: Vec<String> = TABLE_ORDER
        .iter()
        .map(|c| format!("{} {}", c.as_str(), s.count(*c)))
        .collect();
    line(&mut out, counts.join(" · "));
    line(
        &mut out,
        format!(
            "{} variants audited ({} gift cards and unsold archived products left out), {} active Cin7 products",
            s.variants, s.variants_skipped, s.cin7_products
        ),
    );
    let selling: i64 = audit
        .entries
        .iter()
        .filter(|e| e.class.is_unmapped() && e.units_sold > 0)
        .map(|e| e.units_sold)
        .sum();
    if selling > 0 {
        line(
            &mut out,
            format!(
                "needs a person: SKUs that map to nothing sold {selling} units in the window; planning does not see them"
            ),
        );
    }
    for class in TABLE_ORDER {
        let entries: Vec<&Entry> = audit.entries.iter().filter(|e| e.class == class).collect();
        if entries.is_empty() {
            continue;
        }
        let heading = format!(
            "\n{} ({}): {}",
            class.as_str(),
            entries.len(),
            meaning(class)
        );
        if class == Class::Exact && !ctx.all {
            line(
                &mut out,
                format!("{heading}; not listed (--all lists them)"),
            );
            continue;
        }
        line(&mut out, heading);
        let mut t = safe::table(width);
        t.set_header(vec![
            "shopify_sku",
            "cin7_sku",
            "score",
            "units sold",
            "variants",
            "detail",
        ]);
        for e in entries {
            t.add_row(vec![
                show(e.shopify_sku.as_deref()),
                show(e.cin7_sku.as_deref()),
                e.score.map(num).unwrap_or_default(),
                e.units_sold.to_string(),
                variants(&e.variant_ids),
                free_text(&e.detail),
            ]);
        }
        for i in [2, 3] {
            if let Some(col) = t.column_mut(i) {
                col.set_cell_alignment(CellAlignment::Right);
            }
        }
        safe::fit(
            &mut t,
            &[
                Col::Wrap,
                Col::Wrap,
                Col::Whole,
                Col::Whole,
                Col::Wrap,
                Col::Rest,
            ],
        );
        out.push_str(&t.to_string());
        out.push('\n');
    }
    if let Some((path, rows)) = &ctx.template {
        line(
            &mut out,
            format!(
                "\nmapping template: {} ({rows} rows); check it, delete wrong rows, then point skus.mapping_file at it",
                crate::output::terminal_safe(&path.display().to_string())
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::skumatch::Summary;
    use std::collections::BTreeMap;

    fn entry(class: Class, shopify: Option<&str>, cin7: Option<&str>, score: Option<f64>) -> Entry {
        Entry {
            class,
            shopify_sku: shopify.map(str::to_string),
            cin7_sku: cin7.map(str::to_string),
            score,
            variant_ids: shopify
                .map(|_| vec!["gid://shopify/ProductVariant/42".to_string()])
                .unwrap_or_default(),
            units_sold: 3,
            detail: "why".to_string(),
        }
    }

    fn sample() -> Audit {
        let entries = vec![
            entry(Class::Exact, Some("A-1"), Some("A-1"), Some(1.0)),
            entry(Class::Normalized, Some(" a 2"), Some("A-2"), Some(1.0)),
            entry(
                Class::Fuzzy,
                Some("TEE-BKL-003"),
                Some("TEE-BLK-003"),
                Some(0.8889),
            ),
            entry(Class::Unsold, None, Some("B-9"), None),
        ];
        let mut counts: BTreeMap<Class, usize> = Class::ALL.iter().map(|c| (*c, 0)).collect();
        for e in &entries {
            *counts.entry(e.class).or_insert(0) += 1;
        }
        Audit {
            summary: Summary {
                counts,
                shopify_skus: 3,
                resolved: 1,
                match_rate: Some(0.3333),
                variants: 3,
                variants_skipped: 0,
                cin7_products: 4,
            },
            entries,
        }
    }

    #[test]
    fn json_has_exactly_the_documented_shape() {
        let v: serde_json::Value =
            serde_json::from_str(&json(&sample()).unwrap_or_default()).unwrap_or_default();
        let keys: Vec<&str> = v["summary"]
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut want: Vec<&str> = Class::ALL.iter().map(|c| c.as_str()).collect();
        want.push("match_rate");
        want.sort_unstable();
        let mut got = keys.clone();
        got.sort_unstable();
        assert_eq!(got, want);
        assert_eq!(v["summary"]["fuzzy"], 1);
        assert_eq!(v["summary"]["match_rate"], 0.3333);
        let e = &v["entries"][2];
        let mut fields: Vec<&str> = e
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "cin7_sku",
                "class",
                "score",
                "shopify_sku",
                "units_sold",
                "variant_ids"
            ]
        );
        assert_eq!(e["class"], "fuzzy");
        assert_eq!(e["score"], 0.8889);
        assert_eq!(v["entries"][3]["shopify_sku"], serde_json::Value::Null);
        assert_eq!(v["entries"][3]["class"], "unsold");
    }

    #[test]
    fn template_loads_as_a_mapping_file() {
        let text = template(&sample()).unwrap_or_default();
        assert_eq!(
            text,
            "shopify_sku,cin7_sku,confidence,class,units_sold\n\
             \" a 2\",A-2,1,normalized,3\n\
             TEE-BKL-003,TEE-BLK-003,0.8889,fuzzy,3\n"
        );
        let m = crate::core::mapping::parse_mapping(&text, std::path::Path::new("t.csv"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.get(" a 2").map(String::as_str), Some("A-2"));
        assert_eq!(m.len(), 2);
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(csv_field("SKU 1"), "SKU 1");
        assert_eq!(csv_field("SKU 1 "), "\"SKU 1 \"");
    }

    #[test]
    fn table_starts_with_the_match_rate_and_csv_has_one_row_per_entry() {
        let ctx = Context {
            as_of: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap_or_default(),
            window_days: 28,
            template: None,
            all: false,
        };
        let t = table(&sample(), &ctx, 100);
        assert!(
            t.starts_with("SKU audit as of 2026-11-27 (28-day window): match rate 33.33%: 1 of 3"),
            "{t}"
        );
        assert!(t.contains("normalized (1):"), "{t}");
        assert!(t.contains("\" a 2\""), "the leading space is visible: {t}");
        assert!(t.contains("needs a person"), "{t}");
        let c = csv(&sample()).unwrap_or_default();
        assert_eq!(c.lines().count(), 5);
        assert!(c.starts_with("class,shopify_sku,cin7_sku,score,variant_ids,units_sold,detail\n"));
        assert!(c.contains(
            "fuzzy,TEE-BKL-003,TEE-BLK-003,0.8889,gid://shopify/ProductVariant/42,3,why"
        ));
    }

    #[test]
    fn formula_skus_are_neutralised_in_csv_and_template_and_read_back() {
        let formula = "=HYPERLINK(\"http://x\",\"y\")";
        let mut audit = sample();
        audit.entries.push(entry(
            Class::Normalized,
            Some("=hyperlink(\"http://x\",\"y\")"),
            Some(formula),
            Some(1.0),
        ));
        audit
            .entries
            .push(entry(Class::Normalized, Some("-3"), Some("+3"), Some(1.0)));
        let text = template(&audit).unwrap_or_default();
        assert!(
            text.contains("\"'=hyperlink(\"\"http://x\"\",\"\"y\"\")\",\"'=HYPERLINK("),
            "{text}"
        );
        assert!(text.contains("'-3,'+3,1,normalized,3\n"), "{text}");
        let m = crate::core::mapping::parse_mapping(&text, std::path::Path::new("t.csv"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            m.get("=hyperlink(\"http://x\",\"y\")").map(String::as_str),
            Some(formula)
        );
        assert_eq!(m.get("-3").map(String::as_str), Some("+3"));
        let c = csv(&audit).unwrap_or_default();
        assert!(c.contains("normalized,'-3,'+3,1,"), "{c}");
        // units_sold and score stay numbers.
        assert!(
            c.contains(",1,gid://shopify/ProductVariant/42,3,why"),
            "{c}"
        );
    }

    #[test]
    fn the_table_puts_what_needs_a_person_first_and_exact_matches_last() {
        let mut audit = sample();
        audit
            .entries
            .push(entry(Class::Unmatched, Some("NOPE-1"), None, None));
        let mut ctx = Context {
            as_of: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap_or_default(),
            window_days: 28,
            template: None,
            all: false,
        };
        let at = |t: &str, heading: &str| t.find(heading).unwrap_or(usize::MAX);
        let t = table(&audit, &ctx, 100);
        assert!(
            at(&t, "\nunmatched (1)") < at(&t, "\nnormalized (1)"),
            "{t}"
        );
        assert!(at(&t, "\nfuzzy (1)") < at(&t, "\nunsold (1)"), "{t}");
        assert!(at(&t, "\nunsold (1)") < at(&t, "\nexact (1)"), "{t}");
        assert!(t.contains("exact (1): the Shopify SKU is an active Cin7 SKU; not listed"));
        assert!(!t.contains("A-1"), "exact rows only with --all: {t}");
        ctx.all = true;
        let t = table(&audit, &ctx, 100);
        let exact = at(&t, "\nexact (1)");
        assert!(at(&t, "\nunsold (1)") < exact, "{t}");
        assert!(t[exact..].contains("A-1"), "{t}");
    }
}
