//! Every numeric setting and flag is bounded: any value is either planned with or refused with a
//! configuration error naming the key (exit 2), never a panic (exit 101) or an absurd purchase
//! order. A property test drives every numeric key of the config through the planner; the
//! inputs that once crashed the release binary are replayed through it.

use std::path::Path;

use proptest::prelude::*;
use replenish::app::plan::{plan_from_store, today};
use replenish::config::{ConfigError, Settings};
use replenish::core::plan::Explain;
use replenish::store::Store;

use crate::common::sandbox::sandbox_and_dir;
use crate::common::{first_sync, t0};

/// Every numeric key, with the table it lives in.
const NUMERIC_KEYS: [(&str, &str); 38] = [
    ("shopify", "orders_page_size"),
    ("shopify", "bulk_stall_ms"),
    ("shopify", "line_items_page_size"),
    ("shopify", "watermark_overlap_secs"),
    ("shopify", "bulk_poll_ms"),
    ("cin7", "requests_per_minute"),
    ("cin7", "page_size"),
    ("http", "timeout_secs"),
    ("http", "max_retries"),
    ("http", "retry_initial_ms"),
    ("http", "retry_max_ms"),
    ("policy", "velocity_window_days"),
    ("policy", "cover_days"),
    ("policy", "service_level"),
    ("policy", "default_lead_time_days"),
    ("policy", "min_in_stock_days"),
    ("policy", "max_data_age_minutes"),
    ("policy", "snapshot_retention_days"),
    ("policy", "history_days"),
    ("policy", "carrying_rate"),
    ("policy", "order_cost_po"),
    ("policy", "order_cost_line"),
    ("skus.\"SKU-00001\"", "moq"),
    ("skus.\"SKU-00001\"", "pack"),
    ("suppliers.\"Acme Ltd\"", "lead_time_days"),
    ("suppliers.\"Acme Ltd\"", "moq"),
    ("suppliers.\"Acme Ltd\"", "min_order_value"),
    ("suppliers.\"Acme Ltd\"", "currency_rate"),
    ("alerts", "smtp_port"),
    ("alerts", "repeat_after_hours"),
    ("listen", "debounce_ms"),
    ("listen", "header_timeout_ms"),
    ("listen", "body_timeout_ms"),
    ("listen", "idle_timeout_ms"),
    ("listen", "max_connections"),
    ("listen", "max_buffered_mib"),
    ("reconcile", "stale_draft_days"),
    ("reconcile", "velocity_jump_sigma"),
];

/// A config for the store at `store` with `table.key = value` added.
fn config_text(store: &Path, table: &str, key: &str, value: &str) -> String {
    let mut tables: Vec<(String, Vec<String>)> = vec![
        (
            "shopify".into(),
            vec!["shop = \"sandbox.myshopify.com\"".into()],
        ),
        (
            "store".into(),
            vec![format!("path = {:?}", store.display().to_string())],
        ),
        (
            "locations".into(),
            vec!["default = \"Main Warehouse\"".into()],
        ),
    ];
    match tables.iter_mut().find(|(t, _)| t == table) {
        Some((_, lines)) => lines.push(format!("{key} = {value}")),
        None => tables.push((table.to_string(), vec![format!("{key} = {value}")])),
    }
    tables
        .iter()
        .map(|(t, lines)| format!("[{t}]\n{}\n", lines.join("\n")))
        .collect()
}

/// A TOML number: integers anywhere in i64, floats of any magnitude (and inf/nan), and the
/// edges that once broke things.
fn toml_number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (-1000i64..100_000).prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| {
            if f.is_nan() {
                "nan".to_string()
            } else if f.is_infinite() {
                if f > 0.0 { "inf".into() } else { "-inf".into() }
            } else {
                format!("{f:?}")
            }
        }),
        prop::sample::select(vec![
            "4294967295",
            "4294967296",
            "18446744073709551615",
            "1e300",
            "1e308",
            "-1e300",
            "0",
            "-1",
            "0.0",
            "1e-300",
            "0.5",
            "730",
            "731",
            "3650",
            "3651",
        ])
        .prop_map(str::to_string),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_value_of_any_numeric_key_is_planned_or_refused_never_a_panic() {
    let (handle, dir) = sandbox_and_dir(20, 1, 0.0).await;
    let store_path = {
        let (settings, store, _) = first_sync(&handle, dir.path()).await;
        drop(store);
        settings.store.path
    };
    handle.shutdown().await;
    let store = Store::open(&store_path).unwrap();
    let env = std::collections::BTreeMap::new();
    let config = dir.path().join("replenish.toml");
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 400,
        failure_persistence: None,
        ..Default::default()
    });
    let planned = std::cell::Cell::new(0usize);
    let refused = std::cell::Cell::new(0usize);
    runner
        .run(&(0..NUMERIC_KEYS.len(), toml_number()), |(k, value)| {
            let (table, key) = NUMERIC_KEYS[k];
            let text = config_text(&store_path, table, key, &value);
            match Settings::from_toml_str(&text, &config, &env) {
                Err(ConfigError::Invalid {
                    key: named, line, ..
                }) => {
                    prop_assert!(named.ends_with(key), "{named} for {table}.{key} = {value}");
                    prop_assert!(line > 0);
                    refused.set(refused.get() + 1);
                }
                Err(other) => {
                    prop_assert!(false, "{table}.{key} = {value}: unexpected {other}")
                }
                Ok(settings) => {
                    let as_of = today(&settings, t0());
                    let plan = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        plan_from_store(&settings, &store, t0(), as_of, Explain::None)
                    }));
                    prop_assert!(plan.is_ok(), "{table}.{key} = {value} panicked the planner");
                    if let Ok(Ok(plan)) = plan {
                        // Whatever the value, no line orders an absurd quantity.
                        for line in &plan.lines {
                            prop_assert!(
                                line.order_qty.is_finite() && line.order_qty < 1e13,
                                "{table}.{key} = {value}: {} orders {}",
                                line.sku,
                                line.order_qty
                            );
                        }
                    }
                    planned.set(planned.get() + 1);
                }
            }
            Ok(())
        })
        .unwrap();
    let (planned, refused) = (planned.get(), refused.get());
    assert!(
        planned > 50 && refused > 50,
        "both kinds were tried: {planned} planned, {refused} refused"
    );
}

/// The inputs that crashed the release binary (exit 101) or pushed POs of 6e299 units: each is
/// now a usage or configuration error (exit 2) naming what is wrong.
#[test]
fn the_inputs_that_once_crashed_are_exit_2_naming_the_key_or_flag() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    let config = dir.path().join("replenish.toml");
    let run = |text: &str, args: &[&str]| {
        std::fs::write(&config, text).unwrap();
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("replenish"))
            .arg("--config")
            .arg(&config)
            .args(["--now", &t0().to_rfc3339()])
            .args(args)
            .env_remove("RUST_LOG")
            .env("SHOPIFY_ACCESS_TOKEN", "x")
            .env("CIN7_ACCOUNT_ID", "x")
            .env("CIN7_APPLICATION_KEY", "x")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for (table, key, value) in [
        ("policy", "velocity_window_days", "4294967295"),
        ("policy", "cover_days", "1e300"),
        ("suppliers.\"Acme Ltd\"", "lead_time_days", "1e300"),
        ("suppliers.\"Acme Ltd\"", "moq", "1e308"),
    ] {
        let (code, stderr) = run(&config_text(&store, table, key, value), &["plan"]);
        assert_eq!(code, Some(2), "{table}.{key} = {value}: {stderr}");
        assert!(
            stderr.contains(key) && stderr.contains("at most"),
            "{stderr}"
        );
    }
    let plain = config_text(&store, "policy", "cover_days", "30");
    for (args, named) in [
        (vec!["plan", "--as-of=+262142-12-31"], "--as-of"),
        (vec!["plan", "--as-of=-262143-01-05"], "--as-of"),
        (vec!["plan", "--as-of=0001-01-01"], "--as-of"),
        (
            vec!["sync", "--backfill-days", "100000000"],
            "--backfill-days",
        ),
        (vec!["backtest", "--cover-days", "1e300"], "--cover-days"),
    ] {
        let (code, stderr) = run(&plain, &args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
    }
    assert!(!store.exists(), "nothing was run, so no store was created");
}
