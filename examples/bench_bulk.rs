//! Benchmark of a first sync whose bulk backfill file is about 1 GB: wall time and peak RSS.
//! Target (issue 13): peak RSS under 100 MiB however large the file.
//!
//!     cargo run --release --example bench_bulk
//!     cargo run --release --example bench_bulk -- --mb 256 --runs 3
//!     cargo run --release --example bench_bulk -- --rate 20000000   # serve it at 20 MB/s
//!
//! The parent writes a realistic bulk JSONL file once under `target/` (Shopify's bulk shape for the
//! sync's own query: each order, then its fulfillment orders and line items carrying
//! `__parentId`; a third of the orders have their children held back until 1–200 orders later,
//! so children come anywhere after their parent). It then serves, on 127.0.0.1: the sandbox's
//! Cin7 (500 SKUs), and a minimal Shopify that answers the sync's locations query, runs the bulk
//! operation, and serves the file from disk with byte ranges (like a signed storage URL). Each
//! measurement is a fresh child process of this program running the real `sync` (the real
//! client, download, staging and store write) into a fresh store under `target/`, so the peak
//! RSS (VmHWM) is the sync's own.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use replenish::app::sync::{SyncOptions, sync};
use replenish::clock::Clock;
use replenish::output::progress::Progress;
use replenish::sandbox::{self, SandboxOptions};
use replenish::store::Store;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

#[path = "support/fixture.rs"]
mod fixture;
use fixture::{Rng, arg, cpu_ms, now, peak_rss_mib};

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Writes about `mb` MiB of bulk JSONL to `path` (deterministic); returns (bytes, orders).
fn generate(path: &Path, mb: u64) -> Result<(u64, u64)> {
    let target = mb * 1024 * 1024;
    let tmp = path.with_extension("partial");
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
    let mut rng = Rng(0x5eed_b01c);
    let start = now() - Duration::days(91);
    let span_secs = 91 * 24 * 3600;
    let locations = [
        "gid://shopify/Location/71001",
        "gid://shopify/Location/71002",
    ];
    let statuses = [
        "PAID",
        "PAID",
        "PAID",
        "PAID",
        "PAID",
        "PAID",
        "PARTIALLY_REFUNDED",
        "REFUNDED",
        "PENDING",
        "AUTHORIZED",
    ];
    let (mut written, mut orders) = (0u64, 0u64);
    let (mut line_id, mut fo_id) = (14_200_000_000_000u64, 6_410_000_000_000u64);
    // Children held back: (release after this many more orders, lines).
    let mut held: Vec<(u64, Vec<String>)> = Vec::new();
    while written < target {
        orders += 1;
        let id = 5_830_000_000_000 + orders;
        let gid = format!("gid://shopify/Order/{id}");
        let created = start + Duration::seconds((orders * 7 + rng.below(7)) as i64 % span_secs);
        let updated = created + Duration::minutes(rng.below(3000) as i64);
        let cancelled = rng.below(40) == 0;
        let head = json!({
            "id": gid,
            "name": format!("#{}", 1000 + orders),
            "createdAt": ts(created),
            "updatedAt": ts(updated),
            "cancelledAt": if cancelled { Value::from(ts(updated)) } else { Value::Null },
            "test": rng.below(200) == 0,
            "displayFinancialStatus": statuses[rng.below(statuses.len() as u64) as usize],
            "retailLocation": if rng.below(10) == 0 { json!({"id": locations[1]}) } else { Value::Null },
        });
        let mut lines = vec![head.to_string()];
        let mut children = Vec::new();
        for _ in 0..(1 + rng.below(8) / 6) {
            fo_id += 1;
            children.push(
                json!({
                    "id": format!("gid://shopify/FulfillmentOrder/{fo_id}"),
                    "assignedLocation": {"location": {"id": locations[rng.below(2) as usize]}},
                    "__parentId": gid,
                })
                .to_string(),
            );
        }
        // 1–8 lines, most orders 2–4.
        let n_lines = 1 + (rng.below(4) + rng.below(4) + rng.below(2)) as usize;
        for _ in 0..n_lines {
            line_id += 1;
            let sku = (rng.below(60) * rng.below(100)) % 5000;
            let quantity = 1 + rng.below(3) as i64;
            let current = if rng.below(12) == 0 { 0 } else { quantity };
            let gift = rng.below(150) == 0;
            children.push(
                json!({
                    "id": format!("gid://shopify/LineItem/{line_id}"),
                    "sku": if gift { Value::Null } else { Value::from(format!("SKU-{sku:05}")) },
                    "quantity": quantity,
                    "currentQuantity": current,
                    "isGiftCard": gift,
                    "variant": {"id": format!("gid://shopify/ProductVariant/{}", 44_000_000_000_000 + sku)},
                    "__parentId": gid,
                })
                .to_string(),
            );
        }
        if rng.below(3) == 0 {
            held.push((1 + rng.below(200), children));
        } else {
            lines.extend(children);
        }
        // Release the held-back children that are due (after this order's own line).
        let mut i = 0;
        while i < held.len() {
            if held[i].0 == 0 {
                let (_, due) = held.swap_remove(i);
                lines.extend(due);
            } else {
                held[i].0 -= 1;
                i += 1;
            }
        }
        for l in lines {
            out.write_all(l.as_bytes())?;
            out.write_all(b"\n")?;
            written += l.len() as u64 + 1;
        }
    }
    for (_, due) in held {
        for l in due {
            out.write_all(l.as_bytes())?;
            out.write_all(b"\n")?;
            written += l.len() as u64 + 1;
        }
    }
    out.flush()?;
    drop(out);
    std::fs::rename(&tmp, path)?;
    Ok((written, orders))
}

#[derive(Clone)]
struct Shop {
    base: String,
    file: PathBuf,
    size: u64,
    objects: u64,
    /// Bytes a second to serve the file at (None: as fast as loopback goes).
    rate: Option<u64>,
}

/// The three GraphQL operations a first sync sends, by operation name.
async fn graphql(State(shop): State<Shop>, body: Bytes) -> Response {
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let query = req["query"].as_str().unwrap_or("");
    let cost = json!({"cost": {"requestedQueryCost": 1, "actualQueryCost": 1,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990.0, "restoreRate": 100.0}}});
    let data = if query.contains("ReplenishLocations") {
        json!({"locations": {"nodes": [
            {"id": "gid://shopify/Location/71001", "name": "Main", "isActive": true},
            {"id": "gid://shopify/Location/71002", "name": "Shop", "isActive": true}],
            "pageInfo": {"hasNextPage": false, "endCursor": null}}})
    } else if query.contains("ReplenishBulkOrders") {
        json!({"bulkOperationRunQuery": {"bulkOperation": {"id": "gid://shopify/BulkOperation/1",
            "status": "CREATED"}, "userErrors": []}})
    } else if query.contains("ReplenishBulkPoll") {
        json!({"bulkOperation": {"id": "gid://shopify/BulkOperation/1", "status": "COMPLETED",
            "errorCode": null, "objectCount": shop.objects.to_string(),
            "url": format!("{}/files/bulk.jsonl", shop.base), "partialDataUrl": null}})
    } else {
        return (StatusCode::BAD_REQUEST, "unknown operation").into_response();
    };
    axum::Json(json!({"data": data, "extensions": cost})).into_response()
}

/// The result file from disk, with `Range: bytes=N-` support.
async fn file(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let from = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.strip_suffix('-'))
        .and_then(|v| v.parse::<u64>().ok());
    let start = from.unwrap_or(0).min(shop.size);
    let Ok(mut f) = tokio::fs::File::open(&shop.file).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if f.seek(std::io::SeekFrom::Start(start)).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let rate = shop.rate;
    let started = tokio::time::Instant::now();
    let stream = futures_util::stream::unfold((f, 0u64), move |(mut f, sent)| async move {
        if let Some(rate) = rate {
            let due = started + std::time::Duration::from_secs_f64(sent as f64 / rate as f64);
            tokio::time::sleep_until(due).await;
        }
        let mut buf = vec![0u8; 256 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((
                    Ok::<_, std::io::Error>(Bytes::from(buf)),
                    (f, sent + n as u64),
                ))
            }
            Err(e) => Some((Err(e), (f, sent))),
        }
    });
    let mut resp = Response::new(Body::from_stream(stream));
    if from.is_some() {
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    let h = resp.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(shop.size - start));
    if from.is_some()
        && let Ok(v) = HeaderValue::from_str(&format!(
            "bytes {start}-{}/{}",
            shop.size.saturating_sub(1),
            shop.size
        ))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    resp
}

/// Child mode: one first sync into a fresh store; prints one JSON line.
async fn measure() -> Result<()> {
    // The phases (download, staging, store write) show in the log, on stderr.
    use tracing_subscriber::prelude::*;
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(
            tracing_subscriber::filter::Targets::new()
                .with_target("replenish", tracing::Level::INFO),
        )
        .try_init();
    let var = |k: &str| std::env::var(k).with_context(|| format!("{k} is not set"));
    let dir = tempfile::tempdir_in(var("BENCH_DIR")?)?;
    let store_path = dir.path().join("bench.db");
    let mut settings =
        replenish::config::Settings::for_sandbox(&var("BENCH_SANDBOX")?, &store_path);
    settings.shopify.base_url = var("BENCH_SHOPIFY")?;
    settings.cin7.requests_per_minute = 60_000;
    settings.locations.default = var("BENCH_LOCATION")?;
    settings.locations.ignore = vec!["Returns".to_string()];
    let mut store = Store::open(&store_path)?;
    let started = Instant::now();
    let summary = sync(
        &settings,
        &mut store,
        Clock::starting_at(now()),
        &SyncOptions {
            backfill_days: Some(91),
        },
        &Progress::hidden(),
    )
    .await?;
    let wall = started.elapsed().as_secs_f64();
    let (user, sys) = cpu_ms().unwrap_or((f64::NAN, f64::NAN));
    let store_bytes: u64 = std::fs::read_dir(dir.path())?
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{}",
        json!({
            "wall_s": wall,
            "peak_rss_mib": peak_rss_mib(),
            "user_s": user / 1000.0,
            "sys_s": sys / 1000.0,
            "orders_fetched": summary.rows.get("shopify orders fetched"),
            "orders_inserted": summary.rows.get("orders inserted"),
            "store_and_wal_mib": store_bytes as f64 / 1048576.0,
            "stored_orders": store.order_count()?,
        })
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    if std::env::var_os("REPLENISH_BENCH_CHILD").is_some() {
        return measure().await;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mb = arg(&args, "--mb", 1024)? as u64;
    let runs = arg(&args, "--runs", 1)?;
    let rate = match arg(&args, "--rate", 0)? {
        0 => None,
        r => Some(r as u64),
    };
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    let path = target.join(format!("bench-bulk-{mb}mb.jsonl"));
    if !path.exists() {
        let started = Instant::now();
        let (bytes, orders) = generate(&path, mb)?;
        eprintln!(
            "fixture: wrote {} ({bytes} bytes, {orders} orders) in {:.1?}",
            path.display(),
            started.elapsed()
        );
    }
    let size = std::fs::metadata(&path)?.len();
    let text_lines = {
        use std::io::BufRead;
        std::io::BufReader::new(std::fs::File::open(&path)?)
            .split(b'\n')
            .count() as u64
    };

    let sandbox = sandbox::start(
        "127.0.0.1:0",
        SandboxOptions {
            skus: 500,
            locations: 2,
            days: 2,
            orders_per_day: 1,
            cin7_rpm: 100_000,
            now: now(),
            ..SandboxOptions::default()
        },
    )
    .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let shop = Shop {
        base: base.clone(),
        file: path.clone(),
        size,
        objects: text_lines,
        rate,
    };
    let app = Router::new()
        .route("/shopify/admin/api/{version}/graphql.json", post(graphql))
        .route("/files/bulk.jsonl", get(file))
        .with_state(shop);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let exe = std::env::current_exe()?;
    let mut results = Vec::new();
    for _ in 0..runs.max(1) {
        let out = tokio::process::Command::new(&exe)
            .env("REPLENISH_BENCH_CHILD", "1")
            .env("BENCH_DIR", &target)
            .env("BENCH_SANDBOX", sandbox.base_url())
            .env("BENCH_SHOPIFY", format!("{base}/shopify"))
            .env("BENCH_LOCATION", sandbox.default_location())
            .output()
            .await?;
        if !out.status.success() {
            anyhow::bail!(
                "measurement failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout)?;
        eprintln!("run: {v}");
        results.push(v);
    }
    sandbox.shutdown().await;
    let median = |key: &str| fixture::median(&results, key);
    println!(
        "first sync, bulk file {:.0} MiB ({size} bytes, {text_lines} lines{}): wall {:.1} s (median of {}), peak RSS {:.1} MiB (max {:.1}), CPU {:.1} s user + {:.1} s system, {} orders stored",
        size as f64 / 1048576.0,
        rate.map(|r| format!(", served at {r} B/s"))
            .unwrap_or_default(),
        median("wall_s"),
        results.len(),
        median("peak_rss_mib"),
        fixture::max(&results, "peak_rss_mib"),
        median("user_s"),
        median("sys_s"),
        results[0]["stored_orders"],
    );
    Ok(())
}
