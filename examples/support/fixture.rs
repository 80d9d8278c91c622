//! The benchmarks' shared fixture: a deterministic store with `skus` products × `locations`
//! locations from 50 suppliers, `lines` order lines spread over the `days` before [`now`] (skewed
//! towards a head of popular SKUs), and one full snapshot a day with ~4% of pairs out of stock.
//! Included by `bench_plan`, `bench_backtest` and `bench_tune` with `#[path]`.

#![allow(dead_code)]

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use replenish::config::Settings;
use replenish::core::model::{
    AvailabilityRow, Location, Order, OrderLine, Product, ProductSupplier, Purchase, Supplier,
    SupplierOption,
};
use replenish::store::{SnapshotInput, Store};
use rust_decimal::Decimal;

pub struct Params {
    pub skus: usize,
    pub locations: usize,
    pub lines: usize,
    pub days: i64,
    pub runs: usize,
}

/// splitmix64: a tiny deterministic generator, enough for fixtures.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).unwrap_or_default()
}

pub fn now() -> DateTime<Utc> {
    as_of().and_hms_opt(8, 0, 0).unwrap_or_default().and_utc()
}

pub fn location_name(i: usize) -> String {
    format!("WH{}", i + 1)
}

pub fn settings(store: &Path, p: &Params) -> Settings {
    let mut s = Settings::for_sandbox("http://127.0.0.1:9", store);
    s.locations.default = location_name(0);
    for i in 0..p.locations {
        s.locations.shopify.insert(
            format!("gid://shopify/Location/{}", i + 1),
            location_name(i),
        );
    }
    s
}

pub fn build_fixture(path: &Path, p: &Params) -> Result<()> {
    let started = Instant::now();
    let tmp = path.with_extension("building");
    let _ = std::fs::remove_file(&tmp);
    let mut store = Store::open(&tmp)?;
    let mut rng = Rng(42);
    let locations: Vec<Location> = (0..p.locations)
        .map(|i| Location {
            id: format!("loc-{i}"),
            name: location_name(i),
            is_default: i == 0,
            deprecated: false,
            parent_id: None,
        })
        .collect();
    let suppliers: Vec<Supplier> = (0..50)
        .map(|i| Supplier {
            id: format!("sup-{i}"),
            name: format!("Supplier {i:02}"),
            currency: Some("USD".into()),
            payment_term: Some("30 days".into()),
            tax_rule: Some("Tax on Purchases".into()),
            status: Some("Active".into()),
            addresses: Vec::new(),
        })
        .collect();
    let products: Vec<Product> = (0..p.skus)
        .map(|i| {
            let s = &suppliers[i % suppliers.len()];
            let mut options = vec![SupplierOption {
                location_id: None,
                location_name: None,
                lead: (7 + rng.below(28)) as f64,
                safety: rng.below(3) as f64,
                minimum_to_reorder: if i % 7 == 0 { 24.0 } else { 0.0 },
                reorder_quantity: 0.0,
            }];
            if i % 5 == 0 {
                options.push(SupplierOption {
                    location_id: Some("loc-1".into()),
                    location_name: Some(location_name(1 % p.locations)),
                    lead: (3 + rng.below(20)) as f64,
                    safety: 0.0,
                    minimum_to_reorder: 0.0,
                    reorder_quantity: 0.0,
                });
            }
            Product {
                id: format!("prod-{i}"),
                sku: format!("B{i:06}"),
                name: format!("Bench product {i}"),
                product_type: "Stock".into(),
                status: "Active".into(),
                uom: Some("Item".into()),
                carton_quantity: if i % 3 == 0 { 12.0 } else { 0.0 },
                minimum_before_reorder: 0.0,
                reorder_quantity: 0.0,
                purchase_tax_rule: None,
                price: None,
                suppliers: vec![ProductSupplier {
                    supplier_id: s.id.clone(),
                    supplier_name: s.name.clone(),
                    supplier_sku: Some(format!("S-{i}")),
                    supplier_product_name: None,
                    cost: Decimal::new(100 + (i as i64 % 5000), 2),
                    currency: Some("USD".into()),
                    options,
                }],
                reorder_levels: Vec::new(),
            }
        })
        .collect();
    let skus: Vec<String> = products.iter().map(|p| p.sku.clone()).collect();
    let names: Vec<String> = locations.iter().map(|l| l.name.clone()).collect();

    // Orders: ~1M lines over the window, 1–4 lines each, skewed towards a head of popular SKUs.
    let mut orders = Vec::new();
    let mut lines_made = 0usize;
    let mut n = 0u64;
    let start = now() - Duration::days(p.days);
    let span = (p.days * 86_400) as u64;
    while lines_made < p.lines {
        n += 1;
        let created = start + Duration::seconds(rng.below(span) as i64);
        let k = (1 + rng.below(4) as usize).min(p.lines - lines_made);
        let lines = (0..k)
            .map(|j| {
                let head = rng.below(10) < 7;
                let sku_idx = if head {
                    rng.below((p.skus / 10).max(1) as u64)
                } else {
                    rng.below(p.skus as u64)
                } as usize;
                let q = 1 + rng.below(3) as i64;
                OrderLine {
                    id: format!("gid://shopify/LineItem/{n}{j}"),
                    sku: Some(skus[sku_idx].clone()),
                    variant_id: None,
                    quantity: q,
                    current_quantity: q,
                    is_gift_card: false,
                }
            })
            .collect::<Vec<_>>();
        lines_made += lines.len();
        let status = if rng.below(20) == 0 {
            "PENDING"
        } else {
            "PAID"
        };
        orders.push(Order {
            id: format!("gid://shopify/Order/{n}"),
            name: Some(format!("#{n}")),
            created_at: created,
            updated_at: created,
            cancelled_at: None,
            test: false,
            financial_status: status.into(),
            retail_location_id: None,
            fulfillment_location_id: Some(format!(
                "gid://shopify/Location/{}",
                1 + rng.below(p.locations as u64)
            )),
            lines,
        });
    }
    store.write(|w| {
        w.replace_locations(&locations)?;
        w.replace_products(&products)?;
        w.replace_suppliers(&suppliers)?;
        w.upsert_purchases(&Vec::<Purchase>::new())?;
        w.upsert_orders(&orders)?;
        Ok(())
    })?;
    drop(orders);
    eprintln!(
        "fixture: catalog and {lines_made} order lines in {:.1?}",
        started.elapsed()
    );

    // One full snapshot per day (the stockout record keeps pairs out of stock all day; more
    // snapshots a day only shrink it), ~4% of pairs out of stock on any day.
    for d in (0..p.days).rev() {
        let taken = now() - Duration::days(d);
        let mut rows = Vec::with_capacity(p.skus * p.locations);
        for (i, prod) in products.iter().enumerate() {
            for (li, loc) in names.iter().enumerate() {
                let out = (i as i64 * 31 + li as i64 * 7 + d * 13) % 25 == 0;
                rows.push(AvailabilityRow {
                    product_id: prod.id.clone(),
                    sku: prod.sku.clone(),
                    location: loc.clone(),
                    bin: None,
                    batch: None,
                    on_hand: if out { 0.0 } else { 20.0 },
                    allocated: 0.0,
                    available: if out { 0.0 } else { (5 + (i % 40)) as f64 },
                    on_order: if i % 9 == 0 { 12.0 } else { 0.0 },
                    in_transit: 0.0,
                });
            }
        }
        let input = SnapshotInput {
            taken_at: taken,
            day: taken.date_naive(),
            rows: &rows,
            skus: &skus,
            locations: &names,
        };
        store.write(|w| w.record_snapshot(&input, 3, 120).map(|_| ()))?;
    }
    drop(store);
    for ext in ["building-wal", "building-shm"] {
        let _ = std::fs::remove_file(path.with_extension(ext));
    }
    std::fs::rename(&tmp, path).context("cannot move the fixture into place")?;
    eprintln!(
        "fixture: built {} in {:.1?}",
        path.display(),
        started.elapsed()
    );
    Ok(())
}

/// User and system CPU time of this process so far, in ms (from /proc/self/stat, in clock ticks
/// of 10 ms). Wall time on a shared machine swings with the system time spent on page faults;
/// user time shows what the plan itself costs.
pub fn cpu_ms() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? * 10.0, ticks(12)? * 10.0))
}

pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Prints a child's measurement as one JSON line: `fields` (an object) with `wall_ms` from
/// `wall` and this process's `peak_rss_mib`, `cpu_user_ms` and `cpu_sys_ms` added (serde_json
/// writes an object's keys sorted, so where they are added does not matter).
pub fn print_measurement(wall: std::time::Duration, mut fields: serde_json::Value) {
    if let Some(map) = fields.as_object_mut() {
        map.insert("wall_ms".into(), (wall.as_secs_f64() * 1000.0).into());
        map.insert("peak_rss_mib".into(), peak_rss_mib().into());
        map.insert("cpu_user_ms".into(), cpu_ms().map(|c| c.0).into());
        map.insert("cpu_sys_ms".into(), cpu_ms().map(|c| c.1).into());
    }
    println!("{fields}");
}

/// Child mode: open, load, plan; print one JSON line.
pub fn arg(args: &[String], name: &str, default: usize) -> Result<usize> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("{name} needs a number")),
    }
}

/// Where the fixture store for `p` lives: under `target/`, named by `prefix` and its size.
pub fn fixture_path(prefix: &str, p: &Params) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(format!(
            "{prefix}-{}x{}-{}-{}d.db",
            p.skus, p.locations, p.lines, p.days
        ))
}

/// Runs the benchmark: in a child (`REPLENISH_BENCH_CHILD` set), `measure` once and return None;
/// in the parent, build the fixture at `path` if missing, then run `runs` children of this same
/// program and return each child's JSON line. Each measurement in a fresh process keeps its peak
/// RSS its own, not the fixture builder's.
pub fn run_children(
    path: &Path,
    p: &Params,
    measure: impl FnOnce() -> Result<()>,
) -> Result<Option<Vec<serde_json::Value>>> {
    if std::env::var_os("REPLENISH_BENCH_CHILD").is_some() {
        measure()?;
        return Ok(None);
    }
    if !path.exists() {
        build_fixture(path, p)?;
    }
    let exe = std::env::current_exe()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut results = Vec::new();
    for _ in 0..p.runs.max(1) {
        let out = std::process::Command::new(&exe)
            .args(&args)
            .env("REPLENISH_BENCH_CHILD", "1")
            .output()?;
        if !out.status.success() {
            anyhow::bail!(
                "measurement failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        eprintln!("run: {v}");
        results.push(v);
    }
    Ok(Some(results))
}

/// The median of a numeric field over the runs (NaN when absent).
pub fn median(results: &[serde_json::Value], key: &str) -> f64 {
    let mut v: Vec<f64> = results.iter().filter_map(|r| r[key].as_f64()).collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The largest value of a numeric field over the runs.
pub fn max(results: &[serde_json::Value], key: &str) -> f64 {
    results
        .iter()
        .filter_map(|r| r[key].as_f64())
        .fold(0.0, f64::max)
}

/// Warm-up days before the backtest benchmarks' simulated days.
pub const BACKTEST_WARMUP: i64 = 28;

/// The backtest benchmarks' fixture size from the command line: `--days` simulated (default
/// 90) after the warm-up, `--skus` (10,000) at one location, ~1 order line per SKU a day
/// (`--lines`), `--runs` (3). One store, shared by `bench_backtest` and `bench_tune`.
pub fn backtest_params(args: &[String]) -> Result<Params> {
    let simulated = arg(args, "--days", 90)? as i64;
    let skus = arg(args, "--skus", 10_000)?;
    Ok(Params {
        skus,
        locations: 1,
        lines: arg(
            args,
            "--lines",
            skus * (simulated + BACKTEST_WARMUP) as usize,
        )?,
        days: simulated + BACKTEST_WARMUP,
        runs: arg(args, "--runs", 3)?,
    })
}

/// What a backtest benchmark simulates: the fixture's days after the warm-up, read from the
/// store as `replenish backtest` reads it.
pub struct BacktestWorld {
    pub loaded: replenish::app::backtest::Loaded,
    pub config: replenish::core::plan::PlanConfig,
    pub world: replenish::core::backtest::World,
}

/// Reads the store at `path` under `s` and builds the world, as `backtest` and `tune` do.
pub fn backtest_world(s: &Settings, path: &Path, p: &Params) -> Result<BacktestWorld> {
    let simulated = (p.days - BACKTEST_WARMUP).max(1) as u64;
    let to = as_of() - chrono::Days::new(1);
    let from = to - chrono::Days::new(simulated - 1);
    let store = Store::open(path)?;
    let loaded = replenish::app::backtest::load(s, &store, now(), Some(from), Some(to))?;
    let config = replenish::app::plan::plan_config(s, replenish::core::plan::Explain::None)?;
    let world = replenish::core::backtest::prepare(&config, &loaded.recorded(), from, to)?;
    Ok(BacktestWorld {
        loaded,
        config,
        world,
    })
}
