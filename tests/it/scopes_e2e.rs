//! Shopify access scopes, as a real shop's token has them: the sandbox grants only what it is
//! told (`SandboxOptions::scopes`) and denies the rest the way Shopify does (`ACCESS_DENIED`, a
//! bulk operation ending `FAILED`, orders older than 60 days silently missing). The tool names the
//! scope to grant and never plans from what it could not read.

use replenish::adapters::http::{Counters, ErrorClass, build_client};
use replenish::adapters::shopify::ShopifyClient;
use replenish::clock::Clock;
use replenish::sandbox::{DEFAULT_SCOPES, SandboxHandle, SandboxOptions};
use replenish::store::Store;

use crate::common::bin::{output_of, replenish_with};
use crate::common::run::sync_at;
use crate::common::sandbox::{binary_config, edit_config, start_world, world};
use crate::common::{sandbox_settings, sandbox_state, t0};

const FO_SCOPE: &str = "read_merchant_managed_fulfillment_orders";

/// The default scopes without those named.
fn all_but(left_out: &[&str]) -> Vec<String> {
    DEFAULT_SCOPES
        .iter()
        .filter(|s| !left_out.contains(s))
        .map(|s| s.to_string())
        .collect()
}

async fn sandbox_with(scopes: Vec<String>, days: u32) -> SandboxHandle {
    start_world(SandboxOptions {
        days,
        orders_per_day: 40,
        scopes,
        ..world(30, 2)
    })
    .await
}

/// `replenish --now t0 <args>` against `handle` (config with the sandbox's location mapping
/// unless `unmapped`); returns (exit code, stdout, stderr).
async fn run(
    handle: &SandboxHandle,
    dir: &std::path::Path,
    unmapped: bool,
    args: &[&str],
) -> (Option<i32>, String, String) {
    let config = binary_config(handle, dir);
    if unmapped {
        edit_config(&config, |text| {
            let cut = text.find("[locations.shopify]").unwrap();
            text[..cut].to_string()
        });
    }
    let mut cmd = replenish_with(&config);
    cmd.args(["--now", &t0().to_rfc3339()])
        .args(args)
        .env_remove("RUST_LOG");
    let out = output_of(cmd).await;
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_fulfillment_order_scopes_a_mapped_shop_stops_naming_the_scope() {
    let handle = sandbox_with(all_but(&[FO_SCOPE]), 20).await;
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(&handle, dir.path(), false, &["sync"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(FO_SCOPE), "{stderr}");
    assert!(
        stderr.contains("retailLocation"),
        "says what it costs: {stderr}"
    );
    // Nothing was planned from orders it could not locate: no order reached the store.
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    assert_eq!(
        store
            .orders_between(t0() - chrono::Duration::days(30), t0())
            .unwrap()
            .len(),
        0
    );
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_fulfillment_order_scopes_an_unmapped_shop_syncs_without_them() {
    let handle = sandbox_with(all_but(&[FO_SCOPE]), 20).await;
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(&handle, dir.path(), true, &["-v", "sync"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains(FO_SCOPE), "the log names it: {stderr}");
    // The backfill's bulk query asked for no fulfillment orders, so it was not denied.
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["orders_mode"], "backfill");
    assert!(summary["rows"]["shopify orders fetched"].as_u64().unwrap() > 100);
    assert_eq!(
        sandbox_state(&handle).await["requests"]["shopify bulkOperationRunQuery"],
        1
    );
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_read_orders_sync_stops_naming_it() {
    let handle = sandbox_with(all_but(&["read_orders"]), 20).await;
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(&handle, dir.path(), false, &["sync"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("read_orders"), "{stderr}");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_beyond_sixty_days_without_read_all_orders_stops_naming_it() {
    let handle = sandbox_with(all_but(&["read_all_orders"]), 90).await;
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(
        &handle,
        dir.path(),
        false,
        &["sync", "--backfill-days", "90"],
    )
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("read_all_orders"), "{stderr}");
    assert!(
        stderr.contains("only the last 60 of the 90 days"),
        "{stderr}"
    );
    // Within 60 days it needs no read_all_orders.
    let (code, _, stderr) = run(&handle, dir.path(), false, &["sync"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    handle.shutdown().await;
}

/// Without the scope check in front (say the scopes could not be read), the denial itself is
/// recognised: named, classed as a client error (never retried), and exit 2 material.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_query_or_bulk_operation_names_the_scope_and_is_not_retried() {
    let handle = sandbox_with(all_but(&[FO_SCOPE]), 20).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = sandbox_settings(&handle, &dir.path().join("s.db"));
    let client = ShopifyClient::new(
        &settings,
        build_client(&settings.http),
        Counters::default(),
        Clock::starting_at(t0()),
    )
    .unwrap();
    let granted = client.access_scopes().await.unwrap();
    assert!(granted.has("read_orders") && !granted.has_fulfillment_orders());

    let err = client
        .orders_updated_since(t0() - chrono::Duration::days(2), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Client, "{err}");
    assert!(
        err.missing_scope
            .as_deref()
            .unwrap_or("")
            .contains(FO_SCOPE),
        "{err:?}"
    );
    assert!(err.to_string().contains(FO_SCOPE), "{err}");

    let scratch = replenish::adapters::shopify::bulk::BulkScratch::beside(&dir.path().join("s.db"));
    let Err(err) = client
        .bulk_orders_created_since(t0() - chrono::Duration::days(10), &scratch, &mut |_| {})
        .await
    else {
        panic!("the bulk operation was denied");
    };
    assert!(err.to_string().contains("ACCESS_DENIED"), "{err}");
    assert!(err.missing_scope.is_some(), "{err:?}");
    assert_eq!(
        client
            .counters()
            .snapshot()
            .iter()
            .map(|c| c.retries)
            .sum::<u64>(),
        0,
        "a denial is not retried"
    );

    // The same client without fulfillment orders reads every order.
    let orders = client
        .without_fulfillment_orders()
        .orders_updated_since(t0() - chrono::Duration::days(2), &mut |_| {})
        .await
        .unwrap();
    assert!(!orders.is_empty());
    handle.shutdown().await;
}

/// The sync's own path, in-process: the same refusal, recorded as a failed run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_sync_is_recorded_as_failed_and_changes_nothing_else() {
    let handle = sandbox_with(all_but(&["read_orders"]), 20).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = sandbox_settings(&handle, &dir.path().join("s.db"));
    let mut store = Store::open(&settings.store.path).unwrap();
    let err = sync_at(&settings, &mut store, t0()).await.unwrap_err();
    assert!(format!("{err:#}").contains("read_orders"), "{err:#}");
    let runs = store.runs(10).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, "failed");
    assert!(store.products().unwrap().is_empty(), "nothing stored");
    handle.shutdown().await;
}
