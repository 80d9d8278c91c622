//! Benchmark of `listen`: webhook acknowledgement latency under load on loopback, and the time from
//! an `orders/paid` that crosses a reorder point to the draft existing in the sandbox.
//! Targets: ack p99 < 50 ms at ≥ 500 requests/s; event → draft < 2 s without rate-limit waits.
//!
//!     cargo run --release --example bench_listen
//!     cargo run --release --example bench_listen -- --requests 10000 --concurrency 64
//!
//! Everything runs in this process on 127.0.0.1: the sandbox (Cin7 + Shopify), the listener with a
//! fresh store synced once, and the load generator (signed deliveries, every one distinct).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use replenish::app::listen::start;
use replenish::app::sandbox::SandboxSettings;
use replenish::app::sync::{SyncOptions, sync};
use replenish::clock::Clock;
use replenish::output::progress::Progress;
use replenish::sandbox::{self, SandboxOptions};
use replenish::store::Store;
use secrecy::SecretString;

#[path = "support/fixture.rs"]
mod fixture;
use fixture::arg;

#[path = "support/webhook.rs"]
mod webhook;
use webhook::{SECRET, sign};

/// Quantity of `sku` on each open draft purchase (ORDERING), by purchase ID.
fn sku_on_drafts(state: &serde_json::Value, sku: &str) -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    for p in state["purchases"].as_array().into_iter().flatten() {
        if p["Status"] != "ORDERING" {
            continue;
        }
        let q: f64 = p["Order"]["Lines"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| l["SKU"] == sku)
            .filter_map(|l| l["Quantity"].as_f64())
            .sum();
        if q > 0.0 {
            out.insert(p["ID"].as_str().unwrap_or("").to_string(), q);
        }
    }
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    replenish::app::init_tracing(0, false);
    let args: Vec<String> = std::env::args().collect();
    let requests = arg(&args, "--requests", 5000)?;
    let concurrency = arg(&args, "--concurrency", 32)?;
    let t0: DateTime<Utc> = "2026-11-27T08:00:00Z".parse()?;
    let clock = Clock::starting_at(t0);
    let sandbox = sandbox::start(
        "127.0.0.1:0",
        SandboxOptions {
            skus: 200,
            locations: 2,
            days: 40,
            orders_per_day: 100,
            cin7_rpm: 1_000_000,
            now: t0,
            ..SandboxOptions::default()
        },
    )
    .await?;
    let dir = tempfile::tempdir()?;
    let mut settings = sandbox.settings(&dir.path().join("bench.db"));
    settings.cin7.requests_per_minute = 500_000;
    settings.shopify.webhook_secret = Some(SecretString::from(SECRET));
    settings.listen.bind = "127.0.0.1:0".into();
    {
        let mut store = Store::open(&settings.store.path)?;
        sync(
            &settings,
            &mut store,
            clock,
            &SyncOptions::default(),
            &Progress::hidden(),
        )
        .await?;
    }
    // Drafts the world's current needs first, so that the timed event is the only change.
    let listener = start(settings.clone(), clock).await?;
    let quiet = {
        let store = Store::open(&settings.store.path)?;
        let _lock =
            replenish::app::acquire_lock(&settings.store.path, Duration::from_secs(60)).await?;
        let mut store_w = Store::open(&settings.store.path)?;
        replenish::app::draft::draft(
            &settings,
            &mut store_w,
            clock,
            &replenish::app::draft::DraftOptions {
                sync: false,
                dry_run: false,
                confirm: replenish::app::draft::Confirm::Yes,
            },
            &Progress::hidden(),
        )
        .await?;
        let plan = replenish::app::plan::plan_from_store(
            &settings,
            &store,
            t0,
            replenish::app::plan::today(&settings, t0),
            replenish::core::plan::Explain::None,
        )?;
        plan.lines
            .iter()
            // At the default location, where a web order with no location lands.
            .find(|l| {
                l.supplier_id.is_some()
                    && l.order_qty == 0.0
                    && l.flags.is_empty()
                    && l.location == settings.locations.default
            })
            .context("a SKU with a supplier and nothing to order")?
            .clone()
    };

    // 1. Acknowledgement latency under load: distinct signed deliveries of a SKU nobody stocks
    // (so the worker's drafting stays out of the measurement's way as much as it can).
    replenish::adapters::http::install_crypto_provider();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let url = format!("http://{}/webhooks/shopify", listener.addr);
    let bodies: Vec<(String, Vec<u8>, String)> = (0..requests as u64)
        .map(|i| {
            let body = webhook::order_body(1_000_000 + i, 1_000_000 + i, "BENCH-NOT-STOCKED", 1)?;
            let sig = sign(&body)?;
            Ok((format!("bench-{i}"), body, sig))
        })
        .collect::<Result<_>>()?;
    let started = Instant::now();
    let mut latencies: Vec<f64> = Vec::with_capacity(requests);
    for chunk in bodies.chunks(concurrency) {
        let answers = futures_util::future::join_all(chunk.iter().map(|(id, body, sig)| {
            let client = client.clone();
            let url = url.clone();
            let body = body.clone();
            async move {
                let t = Instant::now();
                let r = client
                    .post(url)
                    .header("X-Shopify-Topic", "orders/paid")
                    .header("X-Shopify-Event-Id", id.as_str())
                    .header("X-Shopify-Hmac-Sha256", sig.as_str())
                    .body(body)
                    .send()
                    .await;
                (t.elapsed(), r.map(|r| r.status().as_u16()))
            }
        }))
        .await;
        for (elapsed, status) in answers {
            if status.as_ref().ok() != Some(&200) {
                anyhow::bail!("a delivery was not acknowledged with 200: {status:?}");
            }
            latencies.push(elapsed.as_secs_f64() * 1000.0);
        }
    }
    let wall = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let rps = requests as f64 / wall;
    println!(
        "ack latency over {requests} deliveries, {concurrency} in flight: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms at {rps:.0} requests/s",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
    );
    if !listener.wait_idle(Duration::from_secs(300)).await {
        anyhow::bail!("the worker did not catch up");
    }

    // 2. Event → draft: a big order for a quiet SKU; time until a draft holds more of it.
    let before = sku_on_drafts(&sandbox.state_json(), &quiet.sku);
    let body = webhook::order_body(9_000_000, 9_000_000, &quiet.sku, 500)?;
    let sig = sign(&body)?;
    let t = Instant::now();
    let r = client
        .post(&url)
        .header("X-Shopify-Topic", "orders/paid")
        .header("X-Shopify-Event-Id", "bench-event-to-draft")
        .header("X-Shopify-Hmac-Sha256", sig)
        .body(body)
        .send()
        .await?;
    let ack = t.elapsed();
    anyhow::ensure!(
        r.status().as_u16() == 200,
        "not acknowledged: {}",
        r.status()
    );
    let drafted = loop {
        // A draft (new, or the tool's own updated) whose quantity of the SKU differs from before.
        let now_lines = sku_on_drafts(&sandbox.state_json(), &quiet.sku);
        if now_lines != before {
            break t.elapsed();
        }
        if t.elapsed() > Duration::from_secs(30) {
            anyhow::bail!("no draft for {} within 30 s", quiet.sku);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    println!(
        "orders/paid for {} ({} at {}) → acknowledged in {:.1} ms → draft in Cin7 after {:.0} ms (debounce {} ms)",
        quiet.sku,
        quiet.supplier.as_deref().unwrap_or("?"),
        quiet.location,
        ack.as_secs_f64() * 1000.0,
        drafted.as_secs_f64() * 1000.0,
        settings.listen.debounce_ms
    );
    listener.shutdown().await;
    sandbox.shutdown().await;
    Ok(())
}
