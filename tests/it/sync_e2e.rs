//! `sync` end to end against the in-process sandbox: request counts, backfill then incremental,
//! a failed sync leaving the store untouched.

use std::collections::BTreeMap;

use chrono::Duration;
use replenish::store::Store;

use crate::common::run::sync_at;
use crate::common::sandbox::sandbox_and_dir;
use crate::common::sandbox::tick;
use crate::common::{first_sync, sandbox_settings, sandbox_state, settings_for, t0};

fn requests_of(summary: &replenish::app::sync::SyncSummary) -> BTreeMap<String, u64> {
    summary
        .requests
        .iter()
        .map(|r| (r.endpoint.clone(), r.requests))
        .collect()
}

#[tokio::test]
async fn first_sync_pages_by_thousand_and_backfills_with_one_bulk_operation() {
    let (handle, dir) = sandbox_and_dir(500, 2, 0.0).await;
    let (_, store, summary) = first_sync(&handle, dir.path()).await;
    let req = requests_of(&summary);
    let rows = &summary.rows;
    let pages = |n: u64| n.div_ceil(1000).max(1) + 1; // ⌈rows/1000⌉ (+1 tolerance)
    assert!(req["cin7 GET ref/productavailability"] <= pages(rows["cin7 availability rows"]));
    assert!(req["cin7 GET product"] <= pages(rows["cin7 products"]));
    assert!(req["cin7 GET supplier"] <= pages(rows["cin7 suppliers"]));
    assert!(req["cin7 GET ref/location"] <= pages(rows["cin7 locations"]));
    assert!(req["cin7 GET purchaseList"] <= pages(rows["cin7 purchases changed"]));
    assert_eq!(
        req.get("cin7 GET purchase").copied().unwrap_or(0),
        rows["cin7 draft purchase details"]
    );
    assert_eq!(req["shopify bulkOperationRunQuery"], 1);
    assert_eq!(
        req.get("shopify orders"),
        None,
        "the backfill pages nothing"
    );
    assert_eq!(summary.orders_mode, "backfill");
    assert!(rows["cin7 products"] >= 400, "{rows:?}");
    assert!(rows["shopify orders fetched"] > 500, "{rows:?}");
    assert_eq!(rows["orders inserted"], rows["shopify orders fetched"]);

    // The sandbox saw the same number of availability requests the client counted.
    let state = sandbox_state(&handle).await;
    assert_eq!(
        state["requests"]["cin7 GET ref/productavailability"].as_u64(),
        Some(req["cin7 GET ref/productavailability"])
    );
    // The store holds what was fetched.
    assert_eq!(store.order_count().unwrap(), rows["orders inserted"]);
    assert_eq!(
        store.products().unwrap().len() as u64,
        rows["cin7 products"]
    );
    assert!(store.latest_snapshot().unwrap().is_some());
    let runs = store.runs(5).unwrap();
    assert_eq!(runs[0].outcome, "ok");
    handle.shutdown().await;
}

#[tokio::test]
async fn second_sync_is_incremental_and_fetches_only_changed_orders() {
    let (handle, dir) = sandbox_and_dir(120, 2, 0.0).await;
    let (settings, mut store, first) = first_sync(&handle, dir.path()).await;
    let stored_after_first = store.order_count().unwrap();

    let tick = tick(&handle, "2").await;
    let new_orders = tick["new_orders"].as_u64().unwrap();
    assert!(new_orders > 0, "{tick}");

    let second = sync_at(&settings, &mut store, t0() + Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(second.orders_mode, "incremental");
    let fetched = second.rows["shopify orders fetched"];
    assert!(
        fetched >= new_orders,
        "all new orders fetched: {fetched} < {new_orders}"
    );
    assert!(
        fetched < first.rows["shopify orders fetched"] / 4,
        "only changed orders: {fetched} of {}",
        first.rows["shopify orders fetched"]
    );
    assert_eq!(second.rows["orders inserted"], new_orders);
    assert_eq!(
        store.order_count().unwrap(),
        stored_after_first + new_orders
    );
    let req = requests_of(&second);
    assert_eq!(req.get("shopify bulkOperationRunQuery"), None);
    assert!(req["shopify orders"] >= 1);
    // Purchases are incremental too: the second list asks only for what changed since.
    assert!(second.rows["cin7 purchases changed"] < first.rows["cin7 purchases changed"].max(1));
    handle.shutdown().await;
}

#[tokio::test]
async fn a_failed_sync_changes_nothing_but_run_history() {
    let (handle, dir) = sandbox_and_dir(60, 1, 0.0).await;
    let mut settings = settings_for(&handle.base_url(), &dir.path().join("s.db"));
    settings.cin7.base_url = handle.cin7_base_url();
    // Shopify points at a path that answers 404: the Shopify half fails after Cin7 succeeded.
    settings.shopify.base_url = format!("{}/nowhere", handle.base_url());
    let mut store = Store::open(&settings.store.path).unwrap();
    let err = sync_at(&settings, &mut store, t0()).await.unwrap_err();
    assert!(format!("{err:#}").contains("Shopify"), "{err:#}");
    assert_eq!(
        store.products().unwrap().len(),
        0,
        "Cin7 data was not half-written"
    );
    assert_eq!(store.order_count().unwrap(), 0);
    assert!(store.latest_snapshot().unwrap().is_none());
    let runs = store.runs(5).unwrap();
    assert_eq!(runs[0].outcome, "failed");
    assert!(runs[0].error.as_deref().unwrap_or("").contains("Shopify"));
    handle.shutdown().await;
}

#[tokio::test]
async fn sync_survives_random_faults_through_retries() {
    let (handle, dir) = sandbox_and_dir(80, 2, 0.08).await;
    let mut settings = sandbox_settings(&handle, &dir.path().join("s.db"));
    settings.http.max_retries = 8;
    settings.http.timeout_secs = 5;
    let mut store = Store::open(&settings.store.path).unwrap();
    let summary = sync_at(&settings, &mut store, t0()).await.unwrap();
    let state = sandbox_state(&handle).await;
    let faults = state["faults"].as_u64().unwrap_or(0);
    assert!(faults > 0, "the sandbox injected faults: {state}");
    assert!(
        summary.retries_total > 0,
        "and the client retried through them"
    );
    assert!(store.order_count().unwrap() > 0);
    handle.shutdown().await;
}
