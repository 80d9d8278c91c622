//! Benchmark: plan 100,000 SKUs × 3 locations with 1,000,000 order lines and 28 days of stockout
//! history from the store, and report wall time and peak memory. Target: under 2 s and under 1 GiB.
//!
//!     cargo run --release --example bench_plan
//!     cargo run --release --example bench_plan -- --skus 20000 --lines 200000   # smaller
//!     cargo run --release --example bench_plan -- --adaptive   # policy.method = "adaptive"
//!
//! The fixture store is generated once (deterministically) under `target/` and reused. Each
//! measurement runs in a fresh child process that only opens the store, loads what planning needs
//! and computes the plan, so its peak RSS (VmHWM) is the plan's own, not the fixture builder's.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use replenish::core::plan::Explain;
use replenish::store::Store;

#[path = "support/fixture.rs"]
mod fixture;
use fixture::{
    Params, arg, as_of, fixture_path, max, median, now, print_measurement, run_children, settings,
};

fn measure(path: &Path, p: &Params) -> Result<()> {
    let mut s = settings(path, p);
    if std::env::args().any(|a| a == "--adaptive") {
        s.policy.method = replenish::core::settings::Method::Adaptive;
    }
    let started = Instant::now();
    let store = Store::open(path)?;
    let plan = replenish::app::plan::plan_from_store(&s, &store, now(), as_of(), Explain::None)?;
    let wall = started.elapsed();
    let triggered = plan.lines.iter().filter(|l| l.trigger != "none").count();
    print_measurement(
        wall,
        serde_json::json!({
            "units": plan.lines.len(),
            "triggered": triggered,
            "purchase_orders": plan.purchase_orders.len(),
        }),
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let p = Params {
        skus: arg(&args, "--skus", 100_000)?,
        locations: arg(&args, "--locations", 3)?,
        lines: arg(&args, "--lines", 1_000_000)?,
        days: arg(&args, "--days", 28)? as i64,
        runs: arg(&args, "--runs", 5)?,
    };
    let path = fixture_path("bench-plan", &p);
    let Some(results) = run_children(&path, &p, || measure(&path, &p))? else {
        return Ok(());
    };
    let median = |key: &str| median(&results, key);
    let peak = max(&results, "peak_rss_mib");
    println!(
        "plan {} SKUs x {} locations, {} order lines, {} days of stockout history: median {:.0} ms wall (CPU {:.0} ms user + {:.0} ms system) over {} runs, peak RSS {:.0} MiB ({} units, {} to order, {} POs)",
        p.skus,
        p.locations,
        p.lines,
        p.days,
        median("wall_ms"),
        median("cpu_user_ms"),
        median("cpu_sys_ms"),
        results.len(),
        peak,
        results[0]["units"],
        results[0]["triggered"],
        results[0]["purchase_orders"],
    );
    Ok(())
}
