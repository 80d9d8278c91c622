//! The commands run in-process at a chosen instant, with the options the tests use and no
//! progress shown: [`sync_at`], [`draft_at`], [`reconcile_at`], and a plan from the store.

use chrono::{DateTime, Utc};
use replenish::app::draft::{Confirm, DraftOptions, DraftReport, draft};
use replenish::app::reconcile::{ReconcileReport, reconcile};
use replenish::app::sync::{SyncOptions, SyncSummary, sync};
use replenish::clock::Clock;
use replenish::config::Settings;
use replenish::core::plan::{Explain, Plan};
use replenish::output::progress::Progress;
use replenish::store::Store;

/// `sync` with the default options at `now`.
pub async fn sync_at(
    settings: &Settings,
    store: &mut Store,
    now: DateTime<Utc>,
) -> anyhow::Result<SyncSummary> {
    sync_with(settings, store, now, &SyncOptions::default()).await
}

/// `sync` with `options` at `now`.
pub async fn sync_with(
    settings: &Settings,
    store: &mut Store,
    now: DateTime<Utc>,
    options: &SyncOptions,
) -> anyhow::Result<SyncSummary> {
    sync(
        settings,
        store,
        Clock::starting_at(now),
        options,
        &Progress::hidden(),
    )
    .await
}

/// `draft --yes` at `now`, syncing first if `sync`, writing nothing if `dry_run`.
pub async fn draft_at(
    settings: &Settings,
    store: &mut Store,
    now: DateTime<Utc>,
    sync: bool,
    dry_run: bool,
) -> anyhow::Result<DraftReport> {
    let options = DraftOptions {
        sync,
        dry_run,
        confirm: Confirm::Yes,
    };
    draft(
        settings,
        store,
        Clock::starting_at(now),
        &options,
        &Progress::hidden(),
    )
    .await
}

/// `reconcile` at `now` (syncing first if `with_sync`), which must finish.
pub async fn reconcile_at(
    settings: &Settings,
    store: &mut Store,
    now: DateTime<Utc>,
    with_sync: bool,
) -> ReconcileReport {
    reconcile(
        settings,
        store,
        Clock::starting_at(now),
        with_sync,
        &Progress::hidden(),
    )
    .await
    .unwrap()
}

/// The Cin7 purchase IDs of the drafts the store's ledger holds open.
pub fn open_purchase_ids(store: &Store) -> Vec<String> {
    store
        .open_drafts()
        .unwrap()
        .into_iter()
        .filter_map(|e| e.purchase_id)
        .collect()
}

/// The plan of the stored data at `now`, for today as `now` makes it, without explanations.
pub fn plan_at(settings: &Settings, store: &Store, now: DateTime<Utc>) -> Plan {
    replenish::app::plan::plan_from_store(
        settings,
        store,
        now,
        replenish::app::plan::today(settings, now),
        Explain::None,
    )
    .unwrap()
}
