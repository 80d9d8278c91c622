//! `replenish sync`: pulls Cin7 (locations, products with suppliers and reorder levels, suppliers,
//! availability, purchases and draft-purchase detail) and Shopify (locations, orders) into the
//! store, records one availability snapshot, advances the watermarks, and reports what it did.
//!
//! Everything is fetched first and written in ONE store transaction, together with the run's
//! outcome, so a failed sync leaves the store exactly as it was (and the run recorded as failed).
//! Cin7 and Shopify are fetched concurrently; Cin7 requests are paced by its limiter. A bulk
//! backfill is the exception to "fetched into memory": its orders wait on disk beside the store
//! (see `adapters::shopify::bulk`) and are fed into that one transaction a batch at a time.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration as ChronoDuration, NaiveDateTime, SecondsFormat, Utc};

use crate::adapters::cin7::Cin7Client;
use crate::adapters::http::{Counters, build_client};
use crate::adapters::shopify::{BulkOrders, BulkScratch, OrderProgress, ShopifyClient};
use crate::app::run_scope::{Failure, RunCommand, RunOutcome, RunScope};
use crate::cli::{Format, SyncArgs};
use crate::clock::Clock;
use crate::config::Settings;
use crate::core::model::{AvailabilityRow, Location, Order, Product, Purchase, Supplier};
use crate::output::progress::Progress;
use crate::store::{SnapshotInput, Store, UpsertCounts};

pub use crate::report::sync::SyncSummary;

/// Store state keys for the watermarks.
pub const ORDERS_WATERMARK: &str = "shopify.orders.updated_at";
pub const PURCHASES_WATERMARK: &str = "cin7.purchases.updated_since";
pub const SHOPIFY_LOCATIONS: &str = "shopify.locations";

/// Full snapshots whose rows are kept for reconciliation.
pub const KEEP_FULL_SNAPSHOTS: usize = 3;

/// Orders of a bulk result upserted per batch (memory holds one batch, not the result).
pub const BULK_BATCH: usize = 500;

/// Where bulk results wait while a run uses them: beside the store. Leftovers of a killed run are
/// removed first; callers hold the writer lock (as `sync` and `reconcile` do), so no other run is
/// using them.
pub fn bulk_scratch(settings: &Settings) -> BulkScratch {
    let scratch = BulkScratch::beside(&settings.store.path);
    scratch.remove_leftovers();
    scratch
}

/// What the caller asks of a sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Force a bulk backfill of this many days of orders.
    pub backfill_days: Option<u32>,
}

struct Cin7Data {
    locations: Vec<Location>,
    products: Vec<Product>,
    suppliers: Vec<Supplier>,
    availability: Vec<AvailabilityRow>,
    purchases: Vec<Purchase>,
    details_fetched: u64,
    purchases_watermark: Option<NaiveDateTime>,
}

/// The orders a sync fetched: an incremental page walk's (in memory), or a backfill's (on disk).
enum FetchedOrders {
    Paged(Vec<Order>),
    Bulk(BulkOrders),
}

impl FetchedOrders {
    fn len(&self) -> u64 {
        match self {
            FetchedOrders::Paged(orders) => orders.len() as u64,
            FetchedOrders::Bulk(bulk) => bulk.len(),
        }
    }

    fn newest_updated_at(&self) -> Option<DateTime<Utc>> {
        match self {
            FetchedOrders::Paged(orders) => orders.iter().map(|o| o.updated_at).max(),
            FetchedOrders::Bulk(bulk) => bulk.newest_updated_at(),
        }
    }

    /// Upserts every order, a batch at a time for a bulk result, reporting progress on `line`.
    fn store(
        &self,
        w: &crate::store::Writer<'_>,
        line: &crate::output::progress::Line,
    ) -> Result<UpsertCounts> {
        match self {
            FetchedOrders::Paged(orders) => Ok(w.upsert_orders(orders)?),
            FetchedOrders::Bulk(bulk) => {
                let mut counts = UpsertCounts::default();
                let mut stored = 0u64;
                bulk.for_each_batch(BULK_BATCH, |batch| -> Result<()> {
                    counts += w.upsert_orders(batch)?;
                    stored += batch.len() as u64;
                    line.set(format!("{stored}/{} orders", bulk.len()));
                    Ok(())
                })?;
                Ok(counts)
            }
        }
    }
}

struct ShopifyData {
    locations_json: String,
    locations: u64,
    orders: FetchedOrders,
    mode: &'static str,
    since: DateTime<Utc>,
    watermark: DateTime<Utc>,
}

/// The CLI entry point.
pub async fn exec(settings: &Settings, args: &SyncArgs, clock: Clock) -> Result<ExitCode> {
    let options = SyncOptions {
        backfill_days: args.backfill_days,
    };
    let summary = sync_locked(settings, clock, &options, &Progress::auto()).await?;
    let format = crate::app::resolve_format(args.format);
    print_summary(&summary, format)?;
    Ok(ExitCode::SUCCESS)
}

/// A whole sync as a command runs it: the credentials checked first (configuration problems
/// surface before anything touches the store or the network), then the writer lock taken (one
/// writer at a time: a sync's single large write must not land in the middle of a draft) and
/// held until the sync is done. For `sync`, and for `plan --sync` and `skus --sync` before they
/// read the store.
pub async fn sync_locked(
    settings: &Settings,
    clock: Clock,
    options: &SyncOptions,
    progress: &Progress,
) -> Result<SyncSummary> {
    settings.cin7_credentials()?;
    settings.shopify_token()?;
    let _lock =
        crate::app::acquire_lock(&settings.store.path, crate::app::SYNC_LOCK_TIMEOUT).await?;
    let mut store = Store::open(&settings.store.path)?;
    sync(settings, &mut store, clock, options, progress).await
}

/// Prints what a sync did: its JSON, or its table.
pub fn print_summary(summary: &SyncSummary, format: Format) -> Result<()> {
    crate::app::print_report(summary, format, crate::output::sync::summary_table)
}

/// Runs one sync against the configured APIs and records it in `store`. The run's instant (its
/// start, the snapshot's time, the backfill's reference) is `clock.now()` when it starts; its end
/// is recorded when it ends.
pub async fn sync(
    settings: &Settings,
    store: &mut Store,
    clock: Clock,
    options: &SyncOptions,
    progress: &Progress,
) -> Result<SyncSummary> {
    let started = Instant::now();
    let scope = RunScope::start(store, RunCommand::Sync, clock)?;
    let counters = Counters::default();
    let result = fetch_and_store(
        settings, store, clock, &scope, options, progress, &counters, started,
    )
    .await;
    match result {
        Ok(summary) => Ok(summary),
        Err(err) => {
            let requests = counters.snapshot();
            scope
                .fail(
                    store,
                    settings,
                    &err,
                    Failure {
                        outcome: RunOutcome::Failed,
                        requests: &requests,
                        alerts: Vec::new(),
                        alert: None,
                    },
                )
                .await;
            Err(err)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn fetch_and_store(
    settings: &Settings,
    store: &mut Store,
    clock: Clock,
    scope: &RunScope,
    options: &SyncOptions,
    progress: &Progress,
    counters: &Counters,
    started: Instant,
) -> Result<SyncSummary> {
    let now = scope.started();
    let run_id = scope.id().unwrap_or_default();
    let http = build_client(&settings.http);
    let cin7 = Cin7Client::new(settings, http, counters.clone(), clock)?;
    let order_days = options
        .backfill_days
        .unwrap_or(0)
        .max(settings.policy.history_window_days() + 1);
    let shopify = crate::app::access::orders_client(settings, counters, clock, order_days).await?;

    let purchases_since = store
        .state(PURCHASES_WATERMARK)?
        .and_then(|s| NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S").ok());
    let orders_watermark = store
        .state(ORDERS_WATERMARK)?
        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc));
    let versions = store.purchase_versions()?;

    // Both halves run at once; the first failure ends the sync (the other half is dropped).
    let (cin7_data, shopify_data) = tokio::try_join!(
        async {
            fetch_cin7(&cin7, purchases_since, &versions, progress)
                .await
                .context("Cin7 sync failed")
        },
        async {
            fetch_shopify(&shopify, settings, now, orders_watermark, options, progress)
                .await
                .context("Shopify sync failed")
        },
    )?;

    // The snapshot's universe: every active product at every live location.
    let skus: Vec<String> = cin7_data.products.iter().map(|p| p.sku.clone()).collect();
    let location_names: Vec<String> = cin7_data
        .locations
        .iter()
        .filter(|l| !l.deprecated)
        .map(|l| l.name.clone())
        .collect();
    let day = now.with_timezone(&settings.policy.timezone).date_naive();

    let mut rows = BTreeMap::new();
    rows.insert(
        "cin7 locations".to_string(),
        cin7_data.locations.len() as u64,
    );
    rows.insert("cin7 products".to_string(), cin7_data.products.len() as u64);
    rows.insert(
        "cin7 suppliers".to_string(),
        cin7_data.suppliers.len() as u64,
    );
    rows.insert(
        "cin7 availability rows".to_string(),
        cin7_data.availability.len() as u64,
    );
    rows.insert(
        "cin7 purchases changed".to_string(),
        cin7_data.purchases.len() as u64,
    );
    rows.insert(
        "cin7 draft purchase details".to_string(),
        cin7_data.details_fetched,
    );
    rows.insert("shopify locations".to_string(), shopify_data.locations);
    rows.insert(
        "shopify orders fetched".to_string(),
        shopify_data.orders.len(),
    );

    let requests = counters.snapshot();
    let mut summary = SyncSummary {
        run_id,
        started_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        elapsed_ms: 0,
        orders_mode: shopify_data.mode.to_string(),
        orders_since: shopify_data
            .since
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        rows,
        requests_total: requests.iter().map(|r| r.requests).sum(),
        throttled_total: requests.iter().map(|r| r.throttled).sum(),
        retries_total: requests.iter().map(|r| r.retries).sum(),
        requests,
        cin7_rate_per_minute: cin7.rate(),
        snapshot_day: day.to_string(),
    };

    let retention = settings.policy.snapshot_retention_days;
    let store_line = progress.line("store orders");
    let upserted = store.write_with(|w| -> Result<UpsertCounts> {
        w.replace_locations(&cin7_data.locations)?;
        w.replace_products(&cin7_data.products)?;
        w.replace_suppliers(&cin7_data.suppliers)?;
        w.upsert_purchases(&cin7_data.purchases)?;
        let counts = shopify_data.orders.store(w, &store_line)?;
        w.record_snapshot(
            &SnapshotInput {
                taken_at: now,
                day,
                rows: &cin7_data.availability,
                skus: &skus,
                locations: &location_names,
            },
            KEEP_FULL_SNAPSHOTS,
            retention,
        )?;
        w.set_state(
            ORDERS_WATERMARK,
            &shopify_data
                .watermark
                .to_rfc3339_opts(SecondsFormat::Millis, true),
        )?;
        if let Some(mark) = cin7_data.purchases_watermark {
            w.set_state(
                PURCHASES_WATERMARK,
                &mark.format("%Y-%m-%dT%H:%M:%S").to_string(),
            )?;
        }
        w.set_state(SHOPIFY_LOCATIONS, &shopify_data.locations_json)?;
        summary
            .rows
            .insert("orders inserted".to_string(), counts.inserted);
        summary
            .rows
            .insert("orders updated".to_string(), counts.updated);
        summary
            .rows
            .insert("orders unchanged".to_string(), counts.ignored);
        summary.elapsed_ms = started.elapsed().as_millis() as u64;
        let json = serde_json::to_string(&summary).unwrap_or_default();
        scope.finish_in(w, RunOutcome::Ok, &summary.requests, Some(&json))?;
        Ok(counts)
    })?;
    store_line.finish(format!(
        "{} inserted, {} updated",
        upserted.inserted, upserted.updated
    ));
    tracing::info!(
        inserted = upserted.inserted,
        updated = upserted.updated,
        "sync stored"
    );
    Ok(summary)
}

async fn fetch_cin7(
    cin7: &Cin7Client,
    purchases_since: Option<NaiveDateTime>,
    versions: &std::collections::HashMap<String, crate::store::PurchaseVersion>,
    progress: &Progress,
) -> Result<Cin7Data> {
    let line = progress.line("cin7 locations");
    let locations = cin7.locations(&mut |p| line.rows(p.rows, p.total)).await?;
    line.finish(format!("{} locations", locations.len()));

    let line = progress.line("cin7 products");
    let products = cin7.products(&mut |p| line.rows(p.rows, p.total)).await?;
    line.finish(format!("{} products", products.len()));

    let line = progress.line("cin7 suppliers");
    let suppliers = cin7.suppliers(&mut |p| line.rows(p.rows, p.total)).await?;
    line.finish(format!("{} suppliers", suppliers.len()));

    let line = progress.line("cin7 purchases");
    let mut purchases = cin7
        .purchase_list(purchases_since, &mut |p| line.rows(p.rows, p.total))
        .await?;
    line.finish(format!("{} changed", purchases.len()));
    let purchases_watermark = purchases
        .iter()
        .filter_map(|p| p.last_updated)
        .max()
        .or(purchases_since);

    // Line detail only for draft purchases (ORDERING) that are new or changed: authorised
    // orders are already in availability's OnOrder.
    let line = progress.line("cin7 draft purchase detail");
    let mut details_fetched = 0u64;
    let wanted: Vec<usize> = purchases
        .iter()
        .enumerate()
        .filter(|(_, p)| p.status.eq_ignore_ascii_case("ORDERING"))
        .filter(|(_, p)| match versions.get(&p.id) {
            None => true,
            Some(v) => !v.has_detail || v.last_updated != p.last_updated,
        })
        .map(|(i, _)| i)
        .collect();
    let total = wanted.len();
    for i in wanted {
        let detail = cin7.purchase_detail(&purchases[i].id).await?;
        purchases[i].detail = Some(detail);
        details_fetched += 1;
        line.rows(details_fetched as usize, Some(total));
    }
    line.finish(format!("{details_fetched} fetched"));

    // Availability last: a draft approved while the sync runs is then seen as a draft (purchases,
    // above) and possibly also in OnOrder (here) — counted twice, so the plan under-orders for one
    // run — rather than in neither, which would order it again.
    let line = progress.line("cin7 availability");
    let availability = cin7
        .availability(None, &mut |p| line.rows(p.rows, p.total))
        .await?;
    line.finish(format!("{} rows", availability.len()));

    Ok(Cin7Data {
        locations,
        products,
        suppliers,
        availability,
        purchases,
        details_fetched,
        purchases_watermark,
    })
}

async fn fetch_shopify(
    shopify: &ShopifyClient,
    settings: &Settings,
    now: DateTime<Utc>,
    watermark: Option<DateTime<Utc>>,
    options: &SyncOptions,
    progress: &Progress,
) -> Result<ShopifyData> {
    let line = progress.line("shopify locations");
    let locations = shopify.locations().await?;
    line.finish(format!("{} locations", locations.len()));
    let locations_json = serde_json::to_string(&locations)?;

    let line = progress.line("shopify orders");
    let mut report = |p: OrderProgress| match p {
        OrderProgress::Page { orders } => line.set(format!("{orders} orders")),
        OrderProgress::BulkRunning { status, objects } => {
            line.set(format!("bulk operation {status}, {objects} objects"))
        }
        OrderProgress::BulkDownloading { bytes, total } => line.set(match total {
            Some(total) => format!(
                "downloading the bulk result: {} of {}",
                mib(bytes),
                mib(total)
            ),
            None => format!("downloading the bulk result: {}", mib(bytes)),
        }),
        OrderProgress::BulkReading { lines } => {
            line.set(format!("reading the bulk result: {lines} lines"))
        }
    };
    let backfill_days = match (options.backfill_days, watermark) {
        (Some(days), _) => Some(days),
        // The window is T−W … T−1 in the shop's timezone: one extra day covers any offset.
        (None, None) => Some(settings.policy.history_window_days() + 1),
        (None, Some(_)) => None,
    };
    let (orders, mode, since) = match backfill_days {
        Some(days) => {
            // The token's read_all_orders was checked before (`app::access`) when it matters.
            let since = now - ChronoDuration::days(i64::from(days));
            let scratch = bulk_scratch(settings);
            let orders = shopify
                .bulk_orders_created_since(since, &scratch, &mut report)
                .await?;
            (FetchedOrders::Bulk(orders), "backfill", since)
        }
        None => {
            let mark = watermark.unwrap_or(now);
            let since =
                mark - ChronoDuration::seconds(settings.shopify.watermark_overlap_secs as i64);
            let orders = shopify.orders_updated_since(since, &mut report).await?;
            (FetchedOrders::Paged(orders), "incremental", since)
        }
    };
    line.finish(format!("{} orders ({mode})", orders.len()));
    let newest = orders.newest_updated_at();
    let new_watermark = [watermark, newest, Some(since)]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(since);
    Ok(ShopifyData {
        locations_json,
        locations: locations.len() as u64,
        orders,
        mode,
        since,
        watermark: new_watermark,
    })
}

/// Bytes as MiB with one decimal, for progress lines.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
