//! Benchmark: backtest 90 days × 10,000 units × 8 policies (configured, three grid points,
//! adaptive, naive, cin7-levels, oracle) from the store, and report wall time and peak memory. Target: under 30 s
//! in release.
//!
//!     cargo run --release --example bench_backtest
//!     cargo run --release --example bench_backtest -- --skus 2000 --days 30   # smaller
//!
//! The fixture store (the same generator as `bench_plan`: 10,000 SKUs at one location, ~10,000
//! order lines a day over the 28 warm-up days and the simulated days, one snapshot a day with ~4%
//! out of stock) is built once under `target/` and reused. Each measurement runs in a fresh child
//! process doing what `replenish backtest` does short of printing: read the store, build the
//! world, simulate every policy (a thread per core), compute every policy's metrics.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use replenish::app::backtest::{policy_specs, run_policies};
use replenish::config::SupplierOverride;
use replenish::core::backtest::{Judge, SimOptions, outcome};

#[path = "support/fixture.rs"]
mod fixture;
use fixture::{
    BacktestWorld, Params, backtest_params, backtest_world, fixture_path, max, median,
    print_measurement, run_children, settings,
};

fn measure(path: &Path, p: &Params) -> Result<()> {
    let mut s = settings(path, p);
    // A supplier minimum on every fifth supplier, so the planner's holds and top-ups run.
    for i in (0..50).step_by(5) {
        s.suppliers.insert(
            format!("Supplier {i:02}"),
            SupplierOverride {
                min_order_value: Some(rust_decimal::Decimal::new(500, 0)),
                ..SupplierOverride::default()
            },
        );
    }
    let started = Instant::now();
    let BacktestWorld {
        loaded,
        config,
        world,
    } = backtest_world(&s, path, p)?;
    let prepared = started.elapsed();
    let specs = policy_specs(&config, &[0.9, 0.97, 0.99], &[21.0])?;
    let trajectories = run_policies(&specs, &world, &loaded, SimOptions::default(), &|| {})?;
    let outcomes: Vec<_> = trajectories
        .iter()
        .map(|t| {
            outcome(
                &world.units,
                t,
                Judge {
                    include: &|_| true,
                    skip_start_up: true,
                },
            )
        })
        .collect();
    let wall = started.elapsed();
    print_measurement(
        wall,
        serde_json::json!({
            "prepare_ms": prepared.as_secs_f64() * 1000.0,
            "days": world.days(),
            "units": world.units.len(),
            "policies": specs.len(),
            "fill_rates": outcomes.iter().map(|o| o.fill_rate).collect::<Vec<_>>(),
            "purchase_orders": outcomes.iter().map(|o| o.purchase_orders).collect::<Vec<_>>(),
        }),
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let p = backtest_params(&args)?;
    let path = fixture_path("bench-backtest", &p);
    let Some(results) = run_children(&path, &p, || measure(&path, &p))? else {
        return Ok(());
    };
    let median = |key: &str| median(&results, key);
    let peak = max(&results, "peak_rss_mib");
    println!(
        "backtest {} days x {} units x {} policies: median {:.1} s wall (of which {:.1} s reading the store and building the world; CPU {:.1} s user + {:.1} s system on {} cores) over {} runs, peak RSS {:.0} MiB",
        results[0]["days"],
        results[0]["units"],
        results[0]["policies"],
        median("wall_ms") / 1000.0,
        median("prepare_ms") / 1000.0,
        median("cpu_user_ms") / 1000.0,
        median("cpu_sys_ms") / 1000.0,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        results.len(),
        peak,
    );
    Ok(())
}
