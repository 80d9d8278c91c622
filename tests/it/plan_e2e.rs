//! `plan` end to end: sandbox → sync → plan. Committed snapshots of the table, CSV and JSON for a
//! small fixed catalog; byte-identical reruns of the binary; `--explain` in words.

use chrono::NaiveDate;
use replenish::app::plan::{PlanFilter, apply_filter, plan_from_store};
use replenish::config::Settings;
use replenish::core::plan::Explain;
use replenish::sandbox::SandboxOptions;
use replenish::store::Store;

use crate::common::sandbox::{start_world, world};
use crate::common::{first_sync, t0};

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
}

/// A small fixed world, synced once into a fresh store.
async fn synced(dir: &std::path::Path) -> (Settings, Store) {
    let handle = start_world(SandboxOptions {
        seed: 7,
        suppliers: 4,
        orders_per_day: 40,
        ..world(24, 2)
    })
    .await;
    let (settings, store, _) = first_sync(&handle, dir).await;
    handle.shutdown().await;
    (settings, store)
}

#[tokio::test]
async fn plan_outputs_match_the_committed_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let (settings, store) = synced(dir.path()).await;
    let plan = plan_from_store(&settings, &store, t0(), as_of(), Explain::None).unwrap();
    let all = apply_filter(
        plan.clone(),
        &PlanFilter {
            all: true,
            ..PlanFilter::default()
        },
    );
    let ordering = apply_filter(plan, &PlanFilter::default());
    assert!(
        !ordering.lines.is_empty(),
        "the fixed world has something to order"
    );
    assert!(all.lines.len() > ordering.lines.len());
    insta::assert_snapshot!(
        "plan_all_json",
        replenish::output::plan::json(&all).unwrap()
    );
    insta::assert_snapshot!("plan_csv", replenish::output::plan::csv(&ordering).unwrap());
    // At the default width (100, a pipe without COLUMNS) and on a 140-column terminal.
    insta::assert_snapshot!("plan_table", replenish::output::plan::table(&ordering, 100));
    insta::assert_snapshot!(
        "plan_table_140",
        replenish::output::plan::table(&ordering, 140)
    );

    let sku = ordering.lines[0].sku.clone();
    let traced =
        plan_from_store(&settings, &store, t0(), as_of(), Explain::Sku(sku.clone())).unwrap();
    // Tracing changes no number.
    assert_eq!(
        replenish::output::plan::json(&apply_filter(
            traced.clone(),
            &PlanFilter {
                all: true,
                ..PlanFilter::default()
            }
        ))
        .unwrap(),
        replenish::output::plan::json(&all).unwrap()
    );
    let story = replenish::output::plan::explain(&traced, &sku, 100);
    for needle in [
        "Demand:",
        "Velocity:",
        "lead time",
        "Position:",
        "Quantity:",
        "Order:",
    ] {
        assert!(story.contains(needle), "explain lacks {needle:?}:\n{story}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_identical_bytes_on_reruns() {
    let dir = tempfile::tempdir().unwrap();
    let (settings, store) = synced(dir.path()).await;
    drop(store);
    let config = dir.path().join("replenish.toml");
    let shopify: String = settings
        .locations
        .shopify
        .iter()
        .map(|(gid, name)| format!("\"{gid}\" = \"{name}\"\n"))
        .collect();
    std::fs::write(
        &config,
        format!(
            "[shopify]\nshop = \"sandbox.myshopify.com\"\n[store]\npath = \"s.db\"\n[locations]\ndefault = \"{}\"\nignore = [\"Returns\"]\n[locations.shopify]\n{shopify}",
            settings.locations.default
        ),
    )
    .unwrap();
    let run = move |args: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("replenish")
            .unwrap()
            .arg("--config")
            .arg(&config)
            .args(["--now", &t0().to_rfc3339(), "plan", "--as-of", "2026-11-27"])
            .args(args)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let (first, second, csv, story) = tokio::task::spawn_blocking(move || {
        (
            run(&["--format", "json", "--all"]),
            run(&["--format", "json", "--all"]),
            run(&["--format", "csv"]),
            run(&["--explain", "SKU-00001"]),
        )
    })
    .await
    .unwrap();
    assert_eq!(first, second, "same store and flags, same bytes");
    let json: serde_json::Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(json["as_of"], "2026-11-27");
    assert!(String::from_utf8(csv).unwrap().starts_with("sku,location,"));
    let story = String::from_utf8(story).unwrap();
    assert!(
        story.starts_with("SKU-00001 at ") && story.contains("Demand: "),
        "{story}"
    );
}
