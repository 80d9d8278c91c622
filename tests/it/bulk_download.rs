//! The bulk result download (issue 13, "a real shop on day one"): a file slower than the request
//! timeout still syncs, a cut connection is resumed with a `Range` request (and stores exactly
//! what an unbroken download stores), a server that ignores ranges makes it start over, a stall
//! fails naming the bulk download, and `reconcile`'s re-pull resumes the same way.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use replenish::adapters::http::{Counters, RetryPolicy, build_download_client};
use replenish::adapters::shopify::bulk::{self, BulkScratch};
use replenish::app::sync::{ORDERS_WATERMARK, SyncSummary};
use replenish::clock::Clock;
use replenish::config::Settings;
use replenish::core::model::Order;
use replenish::sandbox::{SandboxHandle, SandboxOptions};
use replenish::store::Store;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::run::{reconcile_at, sync_at};
use crate::common::sandbox::{start_world, world};
use crate::common::{sandbox_settings, sandbox_state, t0};

/// A small shop (about 1,700 orders in the backfill window) whose bulk results are served as
/// `rate` and `drop_after` say.
async fn shop(rate: Option<u64>, drop_after: Option<u64>) -> SandboxHandle {
    start_world(SandboxOptions {
        retry_after_secs: 1,
        bulk_bytes_per_sec: rate,
        bulk_drop_after: drop_after,
        ..world(60, 2)
    })
    .await
}

/// A first sync of a fresh store in `dir` against `handle`, with `tune` applied to the settings.
async fn first_sync(
    handle: &SandboxHandle,
    dir: &std::path::Path,
    tune: impl FnOnce(&mut Settings),
) -> (Store, anyhow::Result<SyncSummary>) {
    let mut settings = sandbox_settings(handle, &dir.join("s.db"));
    tune(&mut settings);
    let mut store = Store::open(&settings.store.path).unwrap();
    let result = sync_at(&settings, &mut store, t0()).await;
    (store, result)
}

/// Every stored order (lines included) and the orders watermark.
fn contents(store: &Store) -> (Vec<Order>, Option<String>) {
    let all = store
        .orders_between(
            "2000-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap(),
            "2100-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap(),
        )
        .unwrap();
    (all, store.state(ORDERS_WATERMARK).unwrap())
}

/// What an unbroken, unthrottled download of the same shop stores, and the result file's size.
async fn reference() -> ((Vec<Order>, Option<String>), u64) {
    let handle = shop(None, None).await;
    let dir = tempfile::tempdir().unwrap();
    let (store, result) = first_sync(&handle, dir.path(), |_| {}).await;
    result.unwrap();
    let state = sandbox_state(&handle).await;
    let size = state["bulk_downloads"][0]["size"].as_u64().unwrap();
    handle.shutdown().await;
    let stored = contents(&store);
    assert!(stored.0.len() > 1000, "{} orders", stored.0.len());
    (stored, size)
}

fn downloads(state: &Value) -> Vec<Value> {
    state["bulk_downloads"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn bulk_requests(summary: &SyncSummary) -> (u64, u64) {
    summary
        .requests
        .iter()
        .find(|r| r.endpoint == bulk::DOWNLOAD)
        .map(|r| (r.requests, r.retries))
        .unwrap_or_default()
}

#[tokio::test]
async fn a_bulk_file_slower_than_the_request_timeout_still_syncs() {
    let (expected, size) = reference().await;
    // Served over about four seconds, against a one-second request timeout.
    let handle = shop(Some((size / 4).max(1)), None).await;
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (store, result) = first_sync(&handle, dir.path(), |s| s.http.timeout_secs = 1).await;
    let took = started.elapsed();
    let summary = result.unwrap();
    assert!(
        took > Duration::from_secs(3),
        "the file took longer than the 1 s request timeout: {took:?}"
    );
    assert_eq!(
        bulk_requests(&summary),
        (1, 0),
        "one request, never cut off by the total timeout"
    );
    let state = sandbox_state(&handle).await;
    assert_eq!(downloads(&state).len(), 1, "{state}");
    assert_eq!(contents(&store), expected);
    // The scratch files are gone; only the store (and its WAL files) remain.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(name.starts_with("s.db"), "left behind: {name}");
    }
    handle.shutdown().await;
}

#[tokio::test]
async fn a_cut_download_resumes_with_a_range_request_and_stores_the_same_orders() {
    let (expected, size) = reference().await;
    let handle = shop(None, Some(size / 2)).await;
    let dir = tempfile::tempdir().unwrap();
    let (store, result) = first_sync(&handle, dir.path(), |_| {}).await;
    let summary = result.unwrap();
    let state = sandbox_state(&handle).await;
    let log = downloads(&state);
    assert_eq!(log.len(), 2, "{state}");
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[0]["cut_after"], size / 2);
    // The second request asked for the rest only, and got it as a partial answer.
    let from = log[1]["from"].as_u64().unwrap();
    assert!(from > 0 && from <= size / 2, "resumed from {from}");
    assert_eq!(log[1]["range"], format!("bytes={from}-").as_str());
    assert_eq!(log[1]["status"], 206);
    assert_eq!(log[1]["bytes"], size - from);
    assert_eq!(bulk_requests(&summary), (2, 1));
    assert_eq!(contents(&store), expected);
    handle.shutdown().await;
}

#[tokio::test]
async fn a_stalled_download_fails_naming_the_bulk_download_and_changes_nothing() {
    // One byte a second: after each byte, a second without data. The stall limit sits halfway
    // between the two clocks that race: the first byte (with the answer's head) must arrive
    // within it, and it must fire before the second byte does, a second later, so a loaded
    // machine has half a second of slack either way.
    let handle = shop(Some(1), None).await;
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (store, result) = first_sync(&handle, dir.path(), |s| {
        s.shopify.bulk_stall_ms = 500;
        s.http.max_retries = 1;
    })
    .await;
    let err = format!("{:#}", result.unwrap_err());
    assert!(
        err.contains("shopify bulk download: stalled: no data for 0.5 s"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // The retry resumed after the byte it had.
    let state = sandbox_state(&handle).await;
    let log = downloads(&state);
    assert_eq!(log.len(), 2, "{state}");
    assert_eq!(log[1]["range"], "bytes=1-");
    // A failed sync changes nothing but the run history.
    assert_eq!(store.order_count().unwrap(), 0);
    assert!(store.products().unwrap().is_empty());
    assert!(store.state(ORDERS_WATERMARK).unwrap().is_none());
    let runs = store.runs(1).unwrap();
    assert_eq!(runs[0].outcome, "failed");
    assert!(
        runs[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("bulk download"),
        "{:?}",
        runs[0].error
    );
    handle.shutdown().await;
}

/// Two JSONL orders (the second with a line that arrives after another order).
const JSONL: &str = concat!(
    r#"{"id":"gid://shopify/Order/1","createdAt":"2026-11-01T10:00:00Z","updatedAt":"2026-11-01T10:00:00Z","cancelledAt":null,"test":false,"displayFinancialStatus":"PAID","retailLocation":null}"#,
    "\n",
    r#"{"id":"gid://shopify/Order/2","createdAt":"2026-11-02T10:00:00Z","updatedAt":"2026-11-02T12:00:00Z","cancelledAt":null,"test":false,"displayFinancialStatus":"PAID","retailLocation":null}"#,
    "\n",
    r#"{"id":"gid://shopify/LineItem/11","sku":"A","quantity":2,"currentQuantity":2,"isGiftCard":false,"variant":null,"__parentId":"gid://shopify/Order/1"}"#,
    "\n",
    r#"{"id":"gid://shopify/LineItem/21","sku":"B","quantity":1,"currentQuantity":1,"isGiftCard":false,"variant":null,"__parentId":"gid://shopify/Order/2"}"#,
    "\n",
);

/// Reads one request's head and returns it.
async fn read_head(socket: &mut tokio::net::TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).to_lowercase()
}

#[tokio::test]
async fn a_server_that_ignores_the_range_makes_the_download_start_over() {
    // A file server without range support: the first answer breaks off half-way; the second
    // answers the Range request with the whole file (200).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/result.jsonl", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let mut heads = Vec::new();
        for whole in [false, true] {
            let (mut socket, _) = listener.accept().await.unwrap();
            heads.push(read_head(&mut socket).await);
            let body = JSONL.as_bytes();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/jsonl\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await.unwrap();
            let sent = if whole { body } else { &body[..body.len() / 2] };
            socket.write_all(sent).await.unwrap();
            socket.flush().await.unwrap();
        }
        heads
    });
    let dir = tempfile::tempdir().unwrap();
    let scratch = BulkScratch::beside(&dir.path().join("s.db"));
    let counters = Counters::default();
    let retry = RetryPolicy {
        max_retries: 2,
        initial: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    let client = build_download_client(&Settings::for_sandbox("http://x", dir.path()).http);
    let link = bulk::Link {
        client: &client,
        url: &url,
        stall: Duration::from_secs(5),
        clock: Clock::starting_at(t0()),
    };
    let result = bulk::fetch(&link, &scratch, &retry, &counters, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        result.bytes(),
        JSONL.len() as u64,
        "not the half plus the whole"
    );
    let orders = result.into_vec().unwrap();
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[0].lines[0].sku.as_deref(), Some("A"));
    assert_eq!(orders[1].lines[0].sku.as_deref(), Some("B"));
    let heads = server.await.unwrap();
    assert!(!heads[0].contains("range:"), "{}", heads[0]);
    let half = JSONL.len() / 2;
    assert!(
        heads[1].contains(&format!("range: bytes={half}-")),
        "{}",
        heads[1]
    );
    assert_eq!(counters.get(bulk::DOWNLOAD).requests, 2);
    assert_eq!(counters.get(bulk::DOWNLOAD).retries, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_re_pulls_through_a_cut_download_too() {
    // Every result file's first download is cut, the audit's as well as the first sync's.
    let handle = shop(None, Some(100_000)).await;
    let dir = tempfile::tempdir().unwrap();
    let (mut store, result) = first_sync(&handle, dir.path(), |_| {}).await;
    result.unwrap();
    let settings = sandbox_settings(&handle, &dir.path().join("s.db"));
    let report = reconcile_at(&settings, &mut store, t0(), false).await;
    let ranged: Vec<Value> = downloads(&sandbox_state(&handle).await)
        .into_iter()
        .filter(|d| d["status"] == 206)
        .collect();
    assert_eq!(ranged.len(), 2, "one resume per result file: {ranged:?}");
    assert_ne!(ranged[0]["file"], ranged[1]["file"]);
    assert!(report.orders_repulled > 1000, "{}", report.orders_repulled);
    assert_eq!(report.orders_fixed, 0, "{:#?}", report.findings);
    handle.shutdown().await;
}
