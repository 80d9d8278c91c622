//! `backtest` end to end: the demand estimate on recorded stockout days checked against the
//! sandbox's true demand, and the command's JSON, CSV, charts and errors.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use replenish::app::backtest::{load, policy_specs, run_policies};
use replenish::app::plan::plan_config;
use replenish::app::sync::SyncOptions;
use replenish::core::backtest::{Judge, SimOptions, outcome, prepare};
use replenish::core::plan::Explain;
use replenish::sandbox::SandboxOptions;
use replenish::store::Store;

use crate::common::run::{sync_at, sync_with};
use crate::common::sandbox::{start_world, tick, world};
use crate::common::{sandbox_settings, t0};

/// A sandbox started with `options`, settings pointing at it and an empty store at `store`.
async fn world_and_store(
    options: SandboxOptions,
    store: &std::path::Path,
) -> (
    replenish::sandbox::SandboxHandle,
    replenish::config::Settings,
    Store,
) {
    let handle = start_world(options).await;
    let settings = sandbox_settings(&handle, store);
    let store = Store::open(&settings.store.path).unwrap();
    (handle, settings, store)
}

fn day(t: DateTime<Utc>) -> NaiveDate {
    t.date_naive()
}

/// The sandbox lives through `days` more days with nobody reordering: a tick of a day, then a
/// sync (one snapshot a day), so stock runs out and the store records the stockouts. Then the
/// estimate on those days is compared with the sandbox's true demand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demand_on_recorded_stockout_days_is_estimated_closer_to_the_truth_than_sales() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, settings, mut store) = world_and_store(
        SandboxOptions {
            seed: 11,
            suppliers: 4,
            days: 35,
            orders_per_day: 160,
            mismatch_rate: 0.0,
            // A generous GraphQL cost bucket: thirty incremental syncs page through ~5,000 orders.
            shopify_bucket: 1e6,
            shopify_restore_rate: 1e6,
            ..world(60, 1)
        },
        &dir.path().join("s.db"),
    )
    .await;
    let http = crate::common::http();
    let days = 30;
    let mut now = t0();
    sync_at(&settings, &mut store, now).await.unwrap();
    for _ in 0..days {
        tick(&handle, "24").await;
        now += Duration::hours(24);
        sync_at(&settings, &mut store, now).await.unwrap();
    }
    // Simulate the lived days (each has its one snapshot), after a full warm-up window.
    let (from, to) = (day(t0()) + Duration::days(1), day(now) - Duration::days(1));
    let loaded = load(&settings, &store, now, Some(from), Some(to)).unwrap();
    let config = plan_config(&settings, Explain::None).unwrap();
    let world = prepare(&config, &loaded.recorded(), from, to).unwrap();
    assert_eq!(world.days(), (to - from).num_days() as usize + 1);

    let (mut truth, mut sold, mut estimate, mut unit_days) = (0.0, 0.0, 0.0, 0);
    for (u, unit) in world.units.iter().enumerate() {
        if !world.estimated[u].iter().any(|e| *e) {
            continue;
        }
        let url = format!(
            "{}/sandbox/demand?sku={}&location={}&from={from}&to={to}",
            handle.base_url(),
            urlencode(&unit.sku),
            urlencode(&unit.location)
        );
        let body: serde_json::Value = http.get(url).send().await.unwrap().json().await.unwrap();
        let true_days = body["days"].as_array().expect("days");
        assert_eq!(true_days.len(), world.days());
        for (d, est) in world.estimated[u].iter().enumerate() {
            if *est {
                truth += true_days[d]["demand"].as_f64().unwrap();
                sold += world.recorded[u][d];
                estimate += unit.demand[d];
                unit_days += 1;
            }
        }
    }
    assert!(
        unit_days >= 30,
        "the lived month ran some units out of stock ({unit_days} unit-days)"
    );
    let (err_sold, err_est) = ((sold - truth).abs(), (estimate - truth).abs());
    eprintln!(
        "{unit_days} stockout unit-days: true demand {truth}, recorded sales {sold}, estimate {estimate}"
    );
    assert!(
        err_est < err_sold / 2.0,
        "the estimate ({estimate}) should be much nearer the truth ({truth}) than the censored sales ({sold})"
    );
    assert!(
        err_est <= 0.35 * truth,
        "estimate {estimate} vs true {truth}: within 35%"
    );

    // And the whole run works on this world: every policy simulates, the planner serves more
    // of the demand than the naive rule.
    let specs = policy_specs(&config, &[0.99], &[]).unwrap();
    let ts = run_policies(&specs, &world, &loaded, SimOptions::default(), &|| {}).unwrap();
    let names: Vec<String> = specs.iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        [
            "configured",
            "sl=0.99,cover=30",
            "adaptive",
            "naive",
            "cin7-levels",
            "oracle"
        ]
    );
    let fill: Vec<f64> = ts
        .iter()
        .map(|t| outcome(&world.units, t, Judge::all()).fill_rate)
        .collect();
    assert!(fill.iter().all(|f| (0.0..=1.0).contains(f)), "{fill:?}");
    assert!(
        fill[1] >= fill[0],
        "a higher service level fills at least as much: {fill:?}"
    );
    // The oracle knows the demand: no policy fills more.
    let oracle = fill[5];
    assert!(
        fill.iter().all(|f| *f <= oracle + 1e-12),
        "the oracle is the ceiling: {fill:?}"
    );
    handle.shutdown().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn replenish() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("replenish").unwrap();
    cmd.env_remove("RUST_LOG").env("NO_COLOR", "1");
    cmd
}

/// A config for the sandbox and a synced store of 60 days, written into `dir`.
async fn synced_config(dir: &std::path::Path) -> std::path::PathBuf {
    let options = SandboxOptions {
        seed: 5,
        suppliers: 3,
        days: 60,
        orders_per_day: 80,
        ..world(40, 1)
    };
    let (handle, settings, mut store) = world_and_store(options, &dir.join("store.db")).await;
    let backfill = SyncOptions {
        backfill_days: Some(60),
    };
    sync_with(&settings, &mut store, t0(), &backfill)
        .await
        .unwrap();
    handle.shutdown().await;
    let path = dir.join("replenish.toml");
    std::fs::write(
        &path,
        format!(
            "[shopify]\nshop = \"sandbox.myshopify.com\"\n\n[store]\npath = \"store.db\"\n\n[locations]\ndefault = \"{}\"\nignore = [\"Returns\"]\n\n[suppliers.\"{}\"]\nmin_order_value = 500\n",
            settings.locations.default,
            store.suppliers().unwrap()[0].name
        ),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_reports_json_csv_and_charts_and_explains_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let config = synced_config(dir.path()).await;
    let run = |args: &[&str]| {
        replenish()
            .arg("--config")
            .arg(&config)
            .args(["--now", &t0().to_rfc3339(), "backtest"])
            .args(args)
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .unwrap()
    };
    let plot = dir.path().join("tradeoff.png");
    let sku = {
        let store = Store::open(&dir.path().join("store.db")).unwrap();
        store.products().unwrap()[0].sku.clone()
    };
    let p = plot.to_string_lossy().to_string();
    let out = run(&[
        "--format",
        "json",
        "--service-level",
        "0.9,0.99",
        "--cover-days",
        "14",
        "--plot",
        &p,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // 60 stored days, 28 of warm-up: simulated 2026-10-26 … 2026-11-26 (yesterday).
    assert_eq!(v["to"], "2026-11-26");
    let names: Vec<&str> = v["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "configured",
            "sl=0.9,cover=14",
            "sl=0.99,cover=14",
            "adaptive",
            "naive",
            "cin7-levels",
            "oracle"
        ]
    );
    for p in v["policies"].as_array().unwrap() {
        let fill = p["fill_rate"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&fill), "{p}");
        let share = p["below_minimum_share"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&share), "{p}");
        assert!(p["avg_on_hand_value"].as_f64().unwrap() >= 0.0);
        assert!(!p["suppliers"].as_array().unwrap().is_empty(), "{p}");
    }
    let configured = &v["policies"][0];
    assert!(
        configured["purchase_orders"].as_u64().unwrap() > 0,
        "{configured}"
    );
    // The planner holds POs below a supplier minimum (below_minimum = hold by default), so none
    // it places is below; naive knows nothing of minimums.
    assert_eq!(configured["below_minimum_share"], 0.0);
    let png = std::fs::read(&plot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // CSV with --sku: one unit's report and its stock chart.
    let out = run(&["--format", "csv", "--sku", &sku, "--plot", &p]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("policy,params,supplier,fill_rate"),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("naive,")), "{text}");
    let stock = dir.path().join("tradeoff-stock.png");
    assert_eq!(&std::fs::read(&stock).unwrap()[..8], b"\x89PNG\r\n\x1a\n");

    // Bad input: exit 2, saying what and where.
    let out = run(&["--service-level", "1.5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--service-level: 1.5"));
    let out = run(&["--from", "2026-11-20", "--to", "2026-11-01"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("2026-11-20 is after the last day 2026-11-01")
    );
    let out = run(&["--to", "2026-11-27"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be before today (2026-11-27)"));
    let out = run(&["--from", "1900-01-01", "--to", "1900-02-01"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1970 or later"));
    let out = run(&["--sku", "NO-SUCH-SKU"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--sku NO-SUCH-SKU"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tune_marks_the_frontier_and_prints_a_block_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let config = synced_config(dir.path()).await;
    let run = |args: &[&str]| {
        replenish()
            .arg("--config")
            .arg(&config)
            .args(["--now", &t0().to_rfc3339(), "tune"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&[
        "--format",
        "json",
        "--target-fill-rate",
        "0.9,0.99",
        "--carrying-rate",
        "0.25",
        "--models",
        "all,flat",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cands = v["candidates"].as_array().unwrap();
    assert_eq!(
        cands.len(),
        4,
        "2 fill rates × 1 carrying rate × 2 model sets"
    );
    let base: Vec<&str> = v["baselines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(base, ["configured", "naive", "oracle"]);
    // Exactly one recommended, on the frontier; nothing on the frontier is dominated.
    let recommended: Vec<&serde_json::Value> =
        cands.iter().filter(|c| c["recommended"] == true).collect();
    assert_eq!(recommended.len(), 1);
    assert_eq!(recommended[0]["frontier"], true);
    let xy = |c: &serde_json::Value| {
        (
            c["fill_rate"].as_f64().unwrap(),
            c["avg_on_hand_value"].as_f64().unwrap(),
        )
    };
    for a in cands.iter().filter(|c| c["frontier"] == true) {
        let (fa, va) = xy(a);
        assert!(
            !cands.iter().any(|b| {
                let (fb, vb) = xy(b);
                fb >= fa && vb <= va && (fb > fa || vb < va)
            }),
            "{a} is dominated"
        );
    }
    // The oracle fills at least as much as any candidate.
    let oracle = v["baselines"][2]["fill_rate"].as_f64().unwrap();
    assert!(cands.iter().all(|c| xy(c).0 <= oracle + 1e-12));
    // The block selects the recommended candidate, and the tool loads it.
    let block = v["recommended_block"].as_str().unwrap();
    assert!(block.contains("method = \"adaptive\""), "{block}");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push('\n');
    text.push_str(block);
    std::fs::write(&config, text).unwrap();
    let out = replenish()
        .arg("--config")
        .arg(&config)
        .args([
            "--now",
            &t0().to_rfc3339(),
            "plan",
            "--format",
            "json",
            "--all",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["policy"]["method"], "adaptive");
    let line = plan["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["velocity"].as_f64().unwrap() > 0.0)
        .unwrap();
    assert!(line["adaptive"]["model"].is_string(), "{line}");
    assert!(
        line["adaptive"]["class"].as_str().unwrap().len() == 2,
        "{line}"
    );
    // Bad input names the flag.
    let out = run(&["--carrying-rate", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--carrying-rate: 0"));
    let out = run(&["--models", "crystal_ball"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("crystal_ball"));
}
