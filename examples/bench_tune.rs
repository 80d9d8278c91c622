//! Benchmark: `replenish tune` over 10,000 units × 90 days with its default 12 candidate
//! policies (4 target fill rates × 3 carrying rates, every demand model), plus the configured
//! policy, naive and the oracle it reports beside them. Target: under 60 s in release on 2 cores.
//!
//!     cargo run --release --example bench_tune
//!     cargo run --release --example bench_tune -- --skus 2000 --days 30   # smaller
//!
//! The fixture store is `bench_backtest`'s (10,000 SKUs at one location, ~1 order line per SKU
//! a day over the 28 warm-up days and the simulated days, a snapshot a day), built once under
//! `target/` and shared. Each measurement runs in a fresh child process doing what `tune` does
//! short of printing: read the store, build the world, simulate every policy (a thread per
//! core), judge each, mark the frontier.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use replenish::app::tune::{candidates, evaluate, frontier, specs};
use replenish::core::forecast::ModelSet;

#[path = "support/fixture.rs"]
mod fixture;
use fixture::{
    BacktestWorld, Params, backtest_params, backtest_world, fixture_path, max, median,
    print_measurement, run_children, settings,
};

fn measure(path: &Path, p: &Params) -> Result<()> {
    let s = settings(path, p);
    let started = Instant::now();
    let BacktestWorld {
        loaded,
        config,
        world,
    } = backtest_world(&s, path, p)?;
    let prepared = started.elapsed();
    let cands = candidates(
        &[0.9, 0.95, 0.98, 0.99],
        &[0.25, 0.5, 1.0],
        &[ModelSet::all()],
    )?;
    let specs = specs(&config, &cands);
    let outcomes = evaluate(&specs, &world, &loaded, &|| {})?;
    let xy: Vec<(f64, f64)> = outcomes[..cands.len()]
        .iter()
        .map(|o| (o.fill_rate, o.avg_on_hand_value))
        .collect();
    let on_frontier = frontier(&xy);
    let wall = started.elapsed();
    print_measurement(
        wall,
        serde_json::json!({
            "prepare_ms": prepared.as_secs_f64() * 1000.0,
            "days": world.days(),
            "units": world.units.len(),
            "candidates": cands.len(),
            "policies": specs.len(),
            "fill_rates": outcomes.iter().map(|o| o.fill_rate).collect::<Vec<_>>(),
            "frontier": on_frontier.iter().filter(|f| **f).count(),
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
        "tune {} days x {} units x {} candidates (+ configured, naive, oracle): median {:.1} s wall (of which {:.1} s reading the store and building the world; CPU {:.1} s user + {:.1} s system on {} cores) over {} runs, peak RSS {:.0} MiB",
        results[0]["days"],
        results[0]["units"],
        results[0]["candidates"],
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
