//! Hostile upstream text (issue 14, items 4 and 10): a sandbox started with `hostile_names`
//! serves a SKU, a product name and a location name carrying a terminal escape that retitles the
//! terminal, a 100,000-character SKU, and a SKU, product and supplier named
//! `=HYPERLINK("http://x","y")`. The binary's tables and lists send no escape, fit the width
//! (`COLUMNS`, as on a pipe), cut the long SKU; CSV cells are neutralised while numbers stay
//! numbers; JSON is serde's rendering of the plan, values untouched; the mapping template
//! round-trips through the tool's own reader. Hand-built reports cover the renderers a sandbox
//! run cannot steer (reconcile findings, draft, status, backtest, sync, errors).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use replenish::app::plan::{PlanFilter, apply_filter, plan_from_store};
use replenish::core::plan::Explain;
use replenish::sandbox::{
    HOSTILE_FORMULA, HOSTILE_LONG_SKU_CHARS, HOSTILE_TITLE, SandboxHandle, SandboxOptions,
    toml_string,
};
use replenish::store::Store;
use serde_json::Value;

use crate::common::sandbox::{start_world, world};
use crate::common::t0;

const AS_OF: &str = "2026-11-27";
/// What a terminal escape looks like once escaped.
const SHOWN_TITLE: &str = "\\u{1b}]0;pwned\\u{7}";

async fn hostile_sandbox() -> SandboxHandle {
    start_world(SandboxOptions {
        seed: 7,
        suppliers: 4,
        orders_per_day: 40,
        mismatch_rate: 0.1,
        hostile_names: true,
        ..world(40, 2)
    })
    .await
}

/// A replenish.toml pointing at `handle` (location names written as TOML strings: one carries
/// an escape), with a store in `dir` and, when given, a mapping file.
fn config(handle: &SandboxHandle, dir: &Path, name: &str, mapping: Option<&Path>) -> PathBuf {
    let shopify: String = handle
        .shopify_locations()
        .into_iter()
        .map(|(gid, name)| format!("\"{gid}\" = {}\n", toml_string(&name)))
        .collect();
    let skus = mapping
        .map(|p| {
            format!(
                "[skus]\nmapping_file = {}\n",
                toml_string(&p.display().to_string())
            )
        })
        .unwrap_or_default();
    let text = format!(
        "[shopify]\nshop = \"sandbox.myshopify.com\"\nbase_url = \"{}\"\n\
         [cin7]\nbase_url = \"{}\"\nrequests_per_minute = 60000\n\
         [http]\nretry_initial_ms = 10\nretry_max_ms = 2000\nmax_retries = 3\n\
         [store]\npath = \"s.db\"\n{skus}\
         [locations]\ndefault = {}\nignore = [\"Returns\"]\n[locations.shopify]\n{shopify}",
        handle.shopify_base_url(),
        handle.cin7_base_url(),
        toml_string(&handle.default_location()),
    );
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the binary at [`t0`] with `COLUMNS` set as given (stdout is a pipe, so it decides the
/// width) or unset.
fn run(config: &Path, args: &[&str], columns: Option<&str>) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("replenish").unwrap();
    cmd.arg("--config")
        .arg(config)
        .args(["--now", &t0().to_rfc3339()])
        .args(args)
        .env("SHOPIFY_ACCESS_TOKEN", "sandbox")
        .env("CIN7_ACCOUNT_ID", "sandbox")
        .env("CIN7_APPLICATION_KEY", "sandbox")
        .env_remove("RUST_LOG")
        .env_remove("COLUMNS");
    if let Some(c) = columns {
        cmd.env("COLUMNS", c);
    }
    cmd.output().unwrap()
}

fn stdout(out: &Output, ok_codes: &[i32]) -> String {
    assert!(
        out.status.code().is_some_and(|c| ok_codes.contains(&c)),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Terminal text: no ESC or BEL byte anywhere, no line wider than `width` characters, the
/// 100,000-character SKU nowhere whole.
fn assert_terminal_safe(text: &str, width: usize, what: &str) {
    assert!(
        !text.contains(['\u{1b}', '\u{7}']),
        "{what}: a raw escape reached the terminal"
    );
    for line in text.lines() {
        let n = line.chars().count();
        assert!(
            n <= width,
            "{what}: a line of {n} characters at width {width}:\n{line}"
        );
    }
    assert!(
        !text.contains(&"L".repeat(200)),
        "{what}: the long SKU is shown whole"
    );
}

/// A CSV for spreadsheets: no cell starts a formula; a cell starting with `-` is a number.
/// Returns the parsed rows.
fn assert_csv_safe(text: &str, what: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    for row in &rows {
        for cell in row {
            match cell.chars().next() {
                Some('=' | '+' | '@' | '\t' | '\r') => panic!("{what}: formula cell {cell:?}"),
                Some('-') => assert!(
                    cell.parse::<f64>().is_ok(),
                    "{what}: text cell starting with '-': {cell:?}"
                ),
                _ => {}
            }
        }
    }
    rows
}

fn column<'a>(rows: &'a [Vec<String>], name: &str) -> Vec<&'a str> {
    let i = rows[0].iter().position(|h| h == name).unwrap();
    rows[1..].iter().map(|r| r[i].as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_shows_hostile_upstream_text_safely_and_fits_the_terminal() {
    let handle = hostile_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(&handle, dir.path(), "replenish.toml", None);
    let cfg = config.clone();
    let outs = tokio::task::spawn_blocking(move || {
        let sync = run(&cfg, &["sync", "--format", "json"], None);
        let title_sku_plan = run(
            &cfg,
            &["plan", "--as-of", AS_OF, "--format", "json", "--all"],
            None,
        );
        let mut outs = BTreeMap::new();
        outs.insert("sync", sync);
        outs.insert("json", title_sku_plan);
        outs.insert(
            "json again",
            run(
                &cfg,
                &["plan", "--as-of", AS_OF, "--format", "json", "--all"],
                None,
            ),
        );
        outs.insert(
            "csv",
            run(
                &cfg,
                &["plan", "--as-of", AS_OF, "--format", "csv", "--all"],
                None,
            ),
        );
        for (name, columns) in [
            ("all 100", Some("100")),
            ("all 140", Some("140")),
            ("all default", None),
        ] {
            outs.insert(
                name,
                run(
                    &cfg,
                    &["plan", "--as-of", AS_OF, "--format", "table", "--all"],
                    columns,
                ),
            );
        }
        for (name, columns) in [("ordering 100", Some("100")), ("ordering 140", Some("140"))] {
            outs.insert(
                name,
                run(
                    &cfg,
                    &["plan", "--as-of", AS_OF, "--format", "table"],
                    columns,
                ),
            );
        }
        outs
    })
    .await
    .unwrap();
    stdout(&outs["sync"], &[0]);

    // JSON: the values exactly as Cin7 has them, and exactly serde's rendering of the plan.
    let json_text = stdout(&outs["json"], &[0]);
    assert_eq!(json_text, stdout(&outs["json again"], &[0]));
    let json: Value = serde_json::from_str(&json_text).unwrap();
    let skus: Vec<&str> = json["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["sku"].as_str().unwrap())
        .collect();
    let title_sku = skus
        .iter()
        .find(|s| s.ends_with(HOSTILE_TITLE))
        .expect("the SKU with an escape is planned");
    let long_sku = skus
        .iter()
        .find(|s| s.chars().count() == HOSTILE_LONG_SKU_CHARS)
        .expect("the 100,000-character SKU is planned whole");
    assert!(skus.contains(&HOSTILE_FORMULA), "{skus:?}");
    assert!(
        json["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["supplier"]
                .as_str()
                .is_some_and(|s| s.starts_with(HOSTILE_FORMULA))),
        "the formula supplier supplies something"
    );
    assert!(
        json["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["location"]
                .as_str()
                .is_some_and(|s| s.ends_with(HOSTILE_TITLE))),
        "a unit at the location with an escape"
    );
    let settings = replenish::app::load_settings(Some(&config)).unwrap();
    let store = Store::open(&settings.store.path).unwrap();
    let plan = plan_from_store(
        &settings,
        &store,
        t0(),
        AS_OF.parse().unwrap(),
        Explain::None,
    )
    .unwrap();
    let all = apply_filter(
        plan,
        &PlanFilter {
            all: true,
            ..PlanFilter::default()
        },
    );
    assert_eq!(
        json_text,
        serde_json::to_string_pretty(&all).unwrap() + "\n",
        "plan --format json is serde's rendering of the plan, byte for byte"
    );

    // CSV: formula cells neutralised, numbers (negative ones too) still numbers.
    let rows = assert_csv_safe(&stdout(&outs["csv"], &[0]), "plan csv");
    let sku_cells = column(&rows, "sku");
    assert!(sku_cells.contains(&format!("'{HOSTILE_FORMULA}").as_str()));
    assert!(sku_cells.contains(title_sku), "other text is left as it is");
    assert!(sku_cells.contains(long_sku), "CSV is data: never cut");
    assert!(
        column(&rows, "supplier")
            .iter()
            .any(|s| s.starts_with(&format!("'{HOSTILE_FORMULA}"))),
    );
    let raw: Vec<f64> = column(&rows, "raw_qty")
        .iter()
        .map(|c| c.parse::<f64>().unwrap())
        .collect();
    assert!(
        raw.iter().any(|q| *q < 0.0),
        "a negative raw_qty, written as a number"
    );
    assert!(column(&rows, "raw_qty").iter().any(|c| c.starts_with('-')));

    // Tables: no escape sent, the width kept, the long SKU cut, the escape shown as text.
    for (name, width) in [
        ("all 100", 100),
        ("all 140", 140),
        ("all default", 100),
        ("ordering 100", 100),
        ("ordering 140", 140),
    ] {
        let text = stdout(&outs[name], &[0]);
        assert_terminal_safe(&text, width, name);
        assert!(
            text.starts_with("Plan as of 2026-11-27\n"),
            "{name}:\n{text}"
        );
    }
    let table = stdout(&outs["all 140"], &[0]);
    assert!(table.contains(SHOWN_TITLE), "{table}");
    assert!(table.contains('…'), "the long SKU is cut with an ellipsis");
    assert!(
        table.contains("=HYPERLINK"),
        "a table shows the formula as text"
    );
    let narrow = stdout(&outs["all 100"], &[0]);
    assert!(
        narrow.contains("Vel/day") && narrow.contains("Avail: available"),
        "100 columns take the short headers, explained under the table:\n{narrow}"
    );

    // --explain for the SKU with an escape, on a 100-column terminal.
    let sku = title_sku.to_string();
    let cfg = config.clone();
    let story = tokio::task::spawn_blocking(move || {
        run(
            &cfg,
            &["plan", "--as-of", AS_OF, "--explain", &sku],
            Some("100"),
        )
    })
    .await
    .unwrap();
    let story = stdout(&story, &[0]);
    assert_terminal_safe(&story, 100, "plan --explain");
    assert!(
        story.contains(SHOWN_TITLE) && story.contains("Demand:"),
        "{story}"
    );
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skus_shows_what_needs_a_person_first_safely_and_its_template_round_trips() {
    let handle = hostile_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("map.csv");
    let plain = config(&handle, dir.path(), "replenish.toml", None);
    let mapped = config(&handle, dir.path(), "mapped.toml", Some(&template));
    let t = template.display().to_string();
    let outs = tokio::task::spawn_blocking(move || {
        let skus = |cfg: &Path, args: &[&str], columns: Option<&str>| {
            let mut all = vec!["skus", "--as-of", AS_OF];
            all.extend_from_slice(args);
            run(cfg, &all, columns)
        };
        let mut outs = BTreeMap::new();
        outs.insert(
            "table",
            skus(
                &plain,
                &["--sync", "--format", "table", "--write-mapping", &t],
                Some("100"),
            ),
        );
        outs.insert(
            "all",
            skus(&plain, &["--format", "table", "--all"], Some("120")),
        );
        outs.insert("csv", skus(&plain, &["--format", "csv"], None));
        outs.insert("json", skus(&plain, &["--format", "json"], None));
        outs.insert("mapped", skus(&mapped, &["--format", "json"], None));
        outs
    })
    .await
    .unwrap();
    let lower = HOSTILE_FORMULA.to_lowercase();

    // JSON: the SKUs as Shopify and Cin7 spell them.
    let json: Value = serde_json::from_str(&stdout(&outs["json"], &[0, 3])).unwrap();
    let entries = json["entries"].as_array().unwrap();
    let formula = entries
        .iter()
        .find(|e| e["shopify_sku"] == lower.as_str())
        .expect("the formula SKU is audited");
    assert_eq!(formula["class"], "normalized");
    assert_eq!(formula["cin7_sku"], HOSTILE_FORMULA);
    // An exact match named nowhere else in the audit, to look for in the tables.
    let named = |sku: &str| {
        entries
            .iter()
            .filter(|e| e["shopify_sku"] == sku || e["cin7_sku"] == sku)
            .count()
    };
    let exact: Vec<&str> = entries
        .iter()
        .filter(|e| e["class"] == "exact")
        .filter_map(|e| e["shopify_sku"].as_str())
        .collect();
    let lone_exact = exact
        .iter()
        .copied()
        .find(|s| named(s) == 1 && s.starts_with("SKU-") && s.len() < 12)
        .expect("an exact SKU found only once");
    assert!(exact.iter().any(|s| s.ends_with(HOSTILE_TITLE)));

    // The table: what needs a person first, the exact matches only counted, in 100 columns.
    let table = stdout(&outs["table"], &[0, 3]);
    assert_terminal_safe(&table, 100, "skus table");
    let order = [
        "unmatched",
        "normalized",
        "fuzzy",
        "blank",
        "duplicate",
        "dangling_mapping",
        "unsold",
        "mapped",
        "exact",
    ];
    // The sections present, in the order the text shows them.
    let positions = |text: &str| -> Vec<(usize, &str)> {
        let mut found: Vec<(usize, &str)> = order
            .iter()
            .filter_map(|c| text.find(&format!("\n{c} (")).map(|p| (p, *c)))
            .collect();
        found.sort_unstable();
        found
    };
    let shown = positions(&table);
    let classes: Vec<&str> = shown.iter().map(|(_, c)| *c).collect();
    let want: Vec<&str> = order
        .iter()
        .copied()
        .filter(|c| classes.contains(c))
        .collect();
    assert_eq!(classes, want);
    assert!(
        classes.starts_with(&["unmatched", "normalized"]) && classes.last() == Some(&"exact"),
        "{classes:?}"
    );
    assert!(table.contains("not listed (--all lists them)"), "{table}");
    assert!(
        !table.contains(lone_exact),
        "exact rows are not listed without --all"
    );
    assert!(table.contains("=hyperlink(\"http://x\",\"y\")"), "{table}");
    assert!(table.contains("mapping template: "));

    // --all lists the exact matches, last, escaped, in 120 columns.
    let all = stdout(&outs["all"], &[0, 3]);
    assert_terminal_safe(&all, 120, "skus --all table");
    let shown_all = positions(&all);
    let classes_all: Vec<&str> = shown_all.iter().map(|(_, c)| *c).collect();
    assert_eq!(classes_all, classes, "--all changes no order");
    let exact_at = shown_all.last().map(|(p, _)| *p).unwrap_or(0);
    assert!(all[exact_at..].contains(lone_exact));
    assert!(all[exact_at..].contains(SHOWN_TITLE));
    assert!(all[exact_at..].contains('…'), "the long SKU is cut");

    // CSV: formula cells neutralised, numbers left as numbers.
    let rows = assert_csv_safe(&stdout(&outs["csv"], &[0, 3]), "skus csv");
    assert!(column(&rows, "shopify_sku").contains(&format!("'{lower}").as_str()));
    assert!(column(&rows, "cin7_sku").contains(&format!("'{HOSTILE_FORMULA}").as_str()));
    assert!(
        column(&rows, "units_sold")
            .iter()
            .all(|n| n.parse::<i64>().is_ok())
    );
    assert_eq!(rows.len(), entries.len() + 1, "csv holds every finding");

    // The template: safe in a spreadsheet, and read back by the tool as the SKUs it wrote.
    let text = std::fs::read_to_string(&template).unwrap();
    let cells = assert_csv_safe(&text, "mapping template");
    assert!(
        cells
            .iter()
            .any(|r| r[0] == format!("'{lower}") && r[1] == format!("'{HOSTILE_FORMULA}"))
    );
    let map = replenish::core::mapping::parse_mapping(&text, &template).unwrap();
    assert_eq!(
        map.get(lower.as_str()).map(String::as_str),
        Some(HOSTILE_FORMULA)
    );
    assert_eq!(map.len(), cells.len() - 1);
    // Pointed at by skus.mapping_file, the formula SKU now resolves through it.
    let mapped: Value = serde_json::from_str(&stdout(&outs["mapped"], &[0, 3])).unwrap();
    let entry = mapped["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["shopify_sku"] == lower.as_str())
        .unwrap();
    assert_eq!(entry["class"], "mapped", "{entry}");
    assert_eq!(entry["cin7_sku"], HOSTILE_FORMULA);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_other_report_of_a_hostile_world_is_terminal_safe() {
    let handle = hostile_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&handle, dir.path(), "replenish.toml", None);
    let outs = tokio::task::spawn_blocking(move || {
        let mut outs = Vec::new();
        for (name, args, codes) in [
            ("sync", vec!["sync", "--format", "table"], vec![0]),
            (
                "draft",
                vec!["draft", "--dry-run", "--no-sync", "--format", "table"],
                vec![0, 3],
            ),
            (
                "reconcile",
                vec!["reconcile", "--format", "table"],
                vec![0, 3],
            ),
            ("status", vec!["status", "--format", "table"], vec![0]),
            ("doctor", vec!["doctor", "--format", "table"], vec![0, 1, 2]),
            ("backtest", vec!["backtest", "--format", "table"], vec![0]),
        ] {
            outs.push((name, run(&cfg, &args, Some("100")), codes));
        }
        let md = run(&cfg, &["reconcile", "--no-sync", "--format", "md"], None);
        let csv = run(&cfg, &["backtest", "--format", "csv"], None);
        (outs, md, csv)
    })
    .await
    .unwrap();
    let (outs, md, csv) = outs;
    for (name, out, codes) in &outs {
        let text = stdout(out, codes);
        assert_terminal_safe(&text, 100, name);
        assert!(!text.is_empty(), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains(['\u{1b}', '\u{7}']), "{name} stderr");
    }
    // The draft preview names the hostile supplier and location, escaped.
    let draft = stdout(&outs[1].1, &outs[1].2);
    assert!(
        draft.contains("=HYPERLINK") && draft.contains(SHOWN_TITLE),
        "{draft}"
    );
    let md = stdout(&md, &[0, 3]);
    assert!(!md.contains(['\u{1b}', '\u{7}']), "{md}");
    assert!(md.starts_with("# replenish reconcile\n"));
    let rows = assert_csv_safe(&stdout(&csv, &[0]), "backtest csv");
    assert!(
        column(&rows, "supplier")
            .iter()
            .any(|s| s.starts_with(&format!("'{HOSTILE_FORMULA}"))),
        "the formula supplier's row is neutralised"
    );
    handle.shutdown().await;
}

/// Markdown table rows: the number of unescaped `|` in `line`.
fn cell_borders(line: &str) -> usize {
    let mut n = 0;
    let mut escaped = false;
    for c in line.chars() {
        match (c, escaped) {
            ('\\', false) => escaped = true,
            ('|', false) => n += 1,
            _ => escaped = false,
        }
    }
    n
}

#[test]
fn reconcile_findings_with_hostile_text_stay_in_their_cells() {
    use replenish::app::reconcile::{ReconcileOutcome, ReconcileReport};
    use replenish::core::reconcile::Finding;
    let long = format!("SKU-{}", "L".repeat(HOSTILE_LONG_SKU_CHARS - 4));
    let finding = |sku: &str, location: &str, detail: &str| Finding {
        kind: "negative_stock".into(),
        sku: Some(sku.into()),
        supplier: Some(format!("{HOSTILE_FORMULA} | Acme")),
        location: Some(location.into()),
        detail: detail.into(),
    };
    let findings = vec![
        finding(
            &format!("SKU-1{HOSTILE_TITLE}"),
            &format!("East {HOSTILE_TITLE}"),
            "available -3 | on hand\n# not a heading *nor bold* [a](http://x) <b>",
        ),
        finding(&long, "West", &format!("{long} is below zero")),
        finding(HOSTILE_FORMULA, "West | Annex", HOSTILE_FORMULA),
    ];
    let report = ReconcileReport {
        run_id: 7,
        outcome: ReconcileOutcome::Findings,
        sync: None,
        orders_repulled: 10,
        orders_fixed: 0,
        counts: [("negative_stock".to_string(), findings.len())].into(),
        findings,
    };

    let table = replenish::output::reconcile::table(&report, 100);
    assert_terminal_safe(&table, 100, "reconcile table");
    assert!(
        table.contains(SHOWN_TITLE) && table.contains('…'),
        "{table}"
    );

    let md = replenish::output::reconcile::markdown(&report);
    assert!(!md.contains(['\u{1b}', '\u{7}']), "{md}");
    assert!(
        !md.contains(&"L".repeat(HOSTILE_LONG_SKU_CHARS - 4)),
        "the long SKU is cut"
    );
    assert!(md.lines().all(|l| l.chars().count() < 1_000), "{md}");
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
    // Header, separator, one row per finding: a line break in a detail did not end its row.
    assert_eq!(rows.len(), 2 + 3, "{md}");
    let borders = cell_borders(rows[0]);
    assert_eq!(
        borders, 5,
        "SKU | Supplier | Location | Detail: {}",
        rows[0]
    );
    for row in &rows {
        assert_eq!(
            cell_borders(row),
            borders,
            "a pipe broke out of its cell: {row}"
        );
    }
    assert!(md.contains("West \\| Annex"), "{md}");
    assert!(
        md.contains("\\# not a heading \\*nor bold\\* \\[a\\]\\(http://x\\) \\<b\\>"),
        "{md}"
    );
    assert!(md.contains("=HYPERLINK\\(\"http://x\",\"y\"\\)"), "{md}");
    assert!(md.contains("\n## negative_stock\n"), "{md}");
}

#[test]
fn status_shows_hostile_errors_names_and_alerts_safely() {
    use replenish::app::status::{AlertOut, DataAge, DraftOut, RunOut, StatusReport};
    let long = format!("SKU-{}", "L".repeat(HOSTILE_LONG_SKU_CHARS - 4));
    let report = StatusReport {
        store: "/srv/replenish/s.db".into(),
        now: "2026-11-27T08:00:00Z".into(),
        data: DataAge {
            snapshot_taken_at: Some("2026-11-27T06:00:00Z".into()),
            snapshot_age_minutes: Some(120),
            max_data_age_minutes: 180,
            stale: false,
            orders_watermark: None,
        },
        runs: vec![RunOut {
            id: 3,
            command: "draft".into(),
            started_at: "2026-11-27T07:00:00Z".into(),
            ended_at: None,
            outcome: "failed".into(),
            error: Some(format!(
                "Cin7 rejected {long}: HTTP 400: [{{\"Exception\":\"{HOSTILE_TITLE}\"}}]"
            )),
        }],
        open_drafts: vec![DraftOut {
            supplier: format!("{HOSTILE_FORMULA} {HOSTILE_TITLE}"),
            location: format!("East {HOSTILE_TITLE}"),
            order_number: Some(format!("PO-1{HOSTILE_TITLE}")),
            state: "done",
            lines: 3,
            updated_at: "2026-11-27T07:00:00Z".into(),
        }],
        pending_alerts: vec![AlertOut {
            kind: "reconcile".into(),
            sku: None,
            supplier: None,
            location: None,
            message: format!(
                "reconcile: 2 finding(s)\n- [negative_stock] {long}: below zero\n- [negative_stock] SKU-1{HOSTILE_TITLE}: below zero"
            ),
            occurrences: 2,
            last_raised_at: "2026-11-27T07:00:00Z".into(),
            attempts: 1,
            last_error: Some(format!("Slack said {HOSTILE_TITLE}")),
        }],
    };
    for width in [80, 100, 140] {
        let text = replenish::output::status::table(&report, width);
        assert_terminal_safe(&text, usize::from(width), "status");
        assert!(text.contains(SHOWN_TITLE) && text.contains('…'), "{text}");
        // The grouped alert keeps one finding a line, under its heading.
        let alert = text.find("[reconcile] reconcile: 2 finding(s)").unwrap();
        assert!(
            text[alert..].contains("\n      - [negative_stock] SKU-"),
            "{text}"
        );
    }
}
