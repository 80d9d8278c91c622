//! `replenish reconcile`: the nightly audit. It syncs (unless `--no-sync`), settles the tool's
//! drafts against Cin7 (approved, voided, edited by a person, gone — and still draft after
//! `reconcile.stale_draft_days`), re-pulls the whole order window from Shopify to catch orders the
//! incremental path or the listener missed and orders whose status changed (fixing the store),
//! and reports anomalies (negative stock, a velocity jump since the last audit, likely wholesale
//! orders, SKUs selling with no supplier or lead time, stale data). The findings go out as one
//! grouped alert through the outbox; exit code 3 when there are any.
//! Received purchases are checked against the change in stock on hand between the kept
//! snapshots around the receipt, allowing for what sold in between.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Duration as ChronoDuration, Utc};

use crate::adapters::cin7::Cin7Client;
use crate::adapters::http::{Counters, build_client};
use crate::app::EXIT_ATTENTION;
use crate::app::draft::settle_drafts;
use crate::app::plan::{plan_config, plan_from_store, start_of_day, today};
use crate::app::run_scope::{Failure, Finish, RunCommand, RunOutcome, RunScope};
use crate::app::sync::{BULK_BATCH, SyncOptions, SyncSummary, bulk_scratch, sync};
use crate::cli::{ReconcileArgs, ReportFormat};
use crate::clock::Clock;
use crate::config::Settings;
use crate::core::plan::Explain;
use crate::core::reconcile::{
    Finding, kind, large_orders, missed_orders, plan_anomalies, settled_draft_kind, velocities,
    velocity_jumps,
};
use crate::core::settle::Blocked;
use crate::output::progress::Progress;
use crate::store::{LedgerState, NewAlert, Store};

pub use crate::report::reconcile::{ReconcileOutcome, ReconcileReport};

/// Webhook deliveries per state at the last audit (to report only new unusable ones).
pub const WEBHOOKS_STATE: &str = "reconcile.webhook_counts";

/// Purchases whose receipt was already checked (so each is reported once).
pub const RECEIPTS_STATE: &str = "reconcile.receipts_checked";

/// How many checked purchase ids are remembered.
const RECEIPTS_REMEMBERED: usize = 5000;

/// Received purchases not checked yet, grouped by the pair of kept snapshots around their receipt
/// (receipts in one interval are checked together), each group against the change in on hand.
/// Only authorised receipts count (a draft receipt is the warehouse still counting): a purchase
/// whose receipts are all drafts waits, like one with no kept snapshot after it yet; one older
/// than the oldest kept snapshot can no longer be checked and is let go, unless it is still
/// receiving (its authorisation will bring it into a later interval).
async fn check_receipts(
    settings: &Settings,
    store: &mut Store,
    cin7: &Cin7Client,
    mapping: &BTreeMap<String, String>,
    planned: &BTreeSet<&str>,
) -> Result<Vec<Finding>> {
    use crate::adapters::cin7::PurchaseHint;
    use crate::core::locations::Locations;
    use crate::core::reconcile::{ReceiptCheck, receipt_counts, receipt_mismatches};

    let mut checked: Vec<String> = store
        .state(RECEIPTS_STATE)?
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default();
    let kept = store.kept_snapshots()?;
    let locs = Locations::resolve(&settings.locations, &store.locations()?)?;
    let key_name = |cin7_location: &str| -> Option<String> {
        locs.key_of(cin7_location)
            .and_then(|k| locs.keys.get(k).cloned())
    };
    let mut groups: BTreeMap<(i64, i64), Vec<crate::core::model::Purchase>> = BTreeMap::new();
    for p in store.purchases()? {
        let status = p.status.to_ascii_uppercase();
        if !status.contains("RECEIV") || checked.contains(&p.id) {
            continue;
        }
        let Some(at) = p.last_updated.map(|t| t.and_utc()) else {
            continue;
        };
        let after = kept.iter().find(|s| s.taken_at > at);
        let before = kept.iter().rev().find(|s| s.taken_at <= at);
        match (before, after) {
            (_, None) => {} // not yet: the next snapshot tells
            // Still receiving (a receipt may be a draft): its authorisation will update it and
            // bring it into a later interval, so it is not let go.
            (None, Some(_)) if status.contains("RECEIVING") => {}
            (None, Some(_)) => checked.push(p.id.clone()), // too old to check now
            (Some(b), Some(a)) => groups.entry((b.id, a.id)).or_default().push(p),
        }
    }
    let on_hand = |rows: Vec<crate::core::model::AvailabilityRow>| {
        let mut m: BTreeMap<(String, String), f64> = BTreeMap::new();
        for r in rows {
            if let Some(key) = key_name(&r.location) {
                *m.entry((r.sku, key)).or_default() += r.on_hand;
            }
        }
        m
    };
    let mut findings = Vec::new();
    for ((before_id, after_id), purchases) in groups {
        let mut check = ReceiptCheck::default();
        let mut done = Vec::new();
        for p in &purchases {
            // A 404 is confirmed against the purchases updated since a day before the update
            // the store saw (whether Cin7 compares `UpdatedSince` with > or ≥, it is listed).
            let hint = PurchaseHint {
                order_number: Some(&p.order_number),
                updated_since: p
                    .last_updated
                    .map(|t| t.and_utc() - ChronoDuration::days(1)),
            };
            let Some(receipts) = cin7.purchase_receipt(&p.id, &hint).await? else {
                done.push(p.id.clone()); // gone from Cin7: nothing to check
                continue;
            };
            // Only authorised receipts moved stock; a purchase whose receipts are all drafts
            // waits (its authorisation updates it into a later interval).
            let counted: Vec<_> = receipts.into_iter().filter(receipt_counts).collect();
            if counted.is_empty() {
                continue;
            }
            done.push(p.id.clone());
            check.purchases.push(p.order_number.clone());
            for line in counted.into_iter().flat_map(|r| r.lines) {
                if let Some(key) = key_name(&line.location) {
                    *check.received.entry((line.sku, key)).or_default() += line.quantity;
                }
            }
        }
        check.before = on_hand(store.snapshot_rows(before_id)?);
        check.after = on_hand(store.snapshot_rows(after_id)?);
        let (Some(b), Some(a)) = (
            kept.iter().find(|s| s.id == before_id),
            kept.iter().find(|s| s.id == after_id),
        ) else {
            continue;
        };
        for o in store.orders_between(b.taken_at, a.taken_at)? {
            if o.test || o.cancelled_at.is_some() {
                continue;
            }
            let Some(key) = locs.keys.get(locs.order_key(
                o.fulfillment_location_id.as_deref(),
                o.retail_location_id.as_deref(),
            )) else {
                continue;
            };
            for l in o.lines.iter().filter(|l| !l.is_gift_card) {
                let Some(sku) = l.sku.as_deref() else {
                    continue;
                };
                let cin7 = mapping.get(sku).map(String::as_str).unwrap_or(sku);
                if planned.contains(cin7) {
                    *check
                        .sold
                        .entry((cin7.to_string(), key.clone()))
                        .or_default() += l.current_quantity as f64; // refunded units never left
                }
            }
        }
        findings.extend(receipt_mismatches(&check));
        checked.extend(done);
    }
    let skip = checked.len().saturating_sub(RECEIPTS_REMEMBERED);
    let json = serde_json::to_string(&checked[skip..])?;
    store.write(|w| w.set_state(RECEIPTS_STATE, &json))?;
    Ok(findings)
}

/// Where the velocities of the last audit are kept, for the next one's jump check.
pub const VELOCITIES_STATE: &str = "reconcile.velocities";

impl ReconcileReport {
    /// 3 when the audit found anything, else 0.
    pub fn exit_code(&self) -> ExitCode {
        if self.findings.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_ATTENTION)
        }
    }
}

pub async fn exec(settings: &Settings, args: &ReconcileArgs, clock: Clock) -> Result<ExitCode> {
    settings.cin7_credentials()?;
    settings.shopify_token()?;
    let lock =
        crate::app::acquire_lock(&settings.store.path, Duration::from_secs(args.lock_timeout))
            .await?;
    let mut store = Store::open(&settings.store.path)?;
    let report = reconcile(
        settings,
        &mut store,
        clock,
        !args.no_sync,
        &Progress::auto(),
    )
    .await?;
    drop(lock);
    let format = crate::app::pick_format(args.format, ReportFormat::Table, ReportFormat::Json);
    let text = match format {
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        ReportFormat::Md => crate::output::reconcile::markdown(&report),
        ReportFormat::Table => crate::output::reconcile::table(&report, crate::app::stdout_width()),
    };
    crate::app::write_stdout(&text)?;
    Ok(report.exit_code())
}

/// One audit, recorded as a `reconcile` run (the caller holds the writer lock). Draft ages and
/// the order window are judged as of `clock.now()` when it starts.
pub async fn reconcile(
    settings: &Settings,
    store: &mut Store,
    clock: Clock,
    with_sync: bool,
    progress: &Progress,
) -> Result<ReconcileReport> {
    // Runs a killed process left `running` were marked interrupted when the caller took the
    // writer lock (`app::acquire_lock`).
    let scope = RunScope::start(store, RunCommand::Reconcile, clock)?;
    let (now, run_id) = (scope.started(), scope.id().unwrap_or_default());
    let counters = Counters::default();
    // Findings are gathered as the audit goes, so that a failure half-way still reports those
    // already found (the fixes behind them are already in the store and would not be found again).
    let mut found = Vec::new();
    let result = audit(
        settings, store, clock, now, with_sync, progress, &counters, &mut found,
    )
    .await;
    let requests = counters.snapshot();
    match result {
        Ok((synced, repulled, fixed)) => {
            let mut findings = found;
            findings.sort();
            findings.dedup();
            let counts = counts_by_kind(&findings);
            let report = ReconcileReport {
                run_id,
                outcome: ReconcileOutcome::of(&findings),
                sync: synced,
                orders_repulled: repulled,
                orders_fixed: fixed,
                counts,
                findings,
            };
            let summary = serde_json::to_string(&report).ok();
            scope
                .finish(
                    store,
                    settings,
                    Finish {
                        outcome: report.outcome.into(),
                        requests: &requests,
                        summary: summary.as_deref(),
                        alerts: grouped_alert(&report),
                    },
                )
                .await?;
            Ok(report)
        }
        Err(err) => {
            let partial = ReconcileReport {
                run_id,
                outcome: ReconcileOutcome::Findings,
                sync: None,
                orders_repulled: 0,
                orders_fixed: 0,
                counts: counts_by_kind(&found),
                findings: found,
            };
            scope
                .fail(
                    store,
                    settings,
                    &err,
                    Failure {
                        outcome: RunOutcome::Failed,
                        requests: &requests,
                        alerts: grouped_alert(&partial),
                        alert: Some(format!(
                            "replenish reconcile failed ({} finding(s) reported before the failure): ",
                            partial.findings.len()
                        )),
                    },
                )
                .await;
            Err(err)
        }
    }
}

/// Findings per kind.
fn counts_by_kind(findings: &[Finding]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for f in findings {
        *counts.entry(f.kind.clone()).or_insert(0) += 1;
    }
    counts
}

/// The findings as one alert (grouped: the same findings tomorrow are counted, not re-sent).
fn grouped_alert(report: &ReconcileReport) -> Vec<NewAlert> {
    if report.findings.is_empty() {
        return Vec::new();
    }
    let counts: Vec<String> = report
        .counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    let mut message = format!(
        "reconcile: {} finding(s): {}",
        report.findings.len(),
        counts.join(", ")
    );
    for f in report.findings.iter().take(20) {
        message.push_str(&format!(
            "\n- [{}] {}{}",
            f.kind,
            f.sku
                .as_deref()
                .map(|s| format!("{s}: "))
                .unwrap_or_default(),
            f.detail
        ));
    }
    if report.findings.len() > 20 {
        message.push_str(&format!(
            "\n… and {} more (replenish reconcile --format md)",
            report.findings.len() - 20
        ));
    }
    vec![NewAlert {
        kind: "reconcile".into(),
        sku: None,
        supplier: None,
        location: None,
        message,
    }]
}

type Audit = (Option<SyncSummary>, usize, usize);

#[allow(clippy::too_many_arguments)]
async fn audit(
    settings: &Settings,
    store: &mut Store,
    clock: Clock,
    now: DateTime<Utc>,
    with_sync: bool,
    progress: &Progress,
    counters: &Counters,
    findings: &mut Vec<Finding>,
) -> Result<Audit> {
    let synced = if with_sync {
        Some(sync(settings, store, clock, &SyncOptions::default(), progress).await?)
    } else {
        None
    };
    let http = build_client(&settings.http);
    let cin7 = Cin7Client::new(settings, http, counters.clone(), clock)?;
    let shopify = crate::app::access::orders_client(
        settings,
        counters,
        clock,
        settings.policy.velocity_window_days + 1,
    )
    .await?;

    // 1. The tool's drafts vs Cin7.
    let settled = settle_drafts(settings, store, &cin7, clock).await?;
    for r in &settled.recovered {
        let mut f = Finding::new(
            settled_draft_kind(&r.what),
            format!(
                "{} for {} at {}: {}",
                r.order_number.as_deref().unwrap_or("a draft"),
                r.supplier,
                r.location,
                r.what
            ),
        );
        f.supplier = Some(r.supplier.clone());
        f.location = Some(r.location.clone());
        findings.push(f);
    }
    for ((supplier, location), why) in &settled.unchecked {
        if matches!(why, Blocked::Unchecked { .. }) {
            let mut f = Finding::new(kind::DRAFT_UNCHECKED, why.to_string());
            f.supplier = Some(supplier.clone());
            f.location = Some(location.clone());
            findings.push(f);
        }
    }
    let stale_after = ChronoDuration::days(i64::from(settings.reconcile.stale_draft_days));
    for e in &settled.open {
        if e.state != LedgerState::Intent && now - e.created_at > stale_after {
            let mut f = Finding::new(
                kind::DRAFT_STALE,
                format!(
                    "{} for {} at {} is still a draft after {} days: approve or void it in Cin7",
                    e.order_number.as_deref().unwrap_or("a draft"),
                    e.supplier,
                    e.location,
                    (now - e.created_at).num_days()
                ),
            );
            f.supplier = Some(e.supplier.clone());
            f.location = Some(e.location.clone());
            findings.push(f);
        }
    }

    // 2. Missed events: the whole window again, compared with the store and fixed in it.
    let as_of = today(settings, now);
    let window_days = settings.policy.velocity_window_days;
    // The window itself (from the start of its first day in the shop timezone): what the first
    // sync backfilled and every later sync kept up to date.
    let from = start_of_day(
        settings,
        as_of - ChronoDuration::days(i64::from(window_days)),
    );
    let to = now + ChronoDuration::days(1);
    let line = progress.line("shopify orders (re-pull)");
    let scratch = bulk_scratch(settings);
    let fetched = shopify
        .bulk_orders_created_since(from, &scratch, &mut |_| {})
        .await?;
    line.finish(format!("{} orders", fetched.len()));
    // The re-pull waits on disk and is compared a batch at a time with the same orders in the
    // store (by id), so it is never held whole; only the differences (normally few) are kept, and
    // written together.
    let mut order_findings = Vec::new();
    let mut fixes = Vec::new();
    fetched.for_each_batch(BULK_BATCH, |batch| -> Result<()> {
        let ids: Vec<&str> = batch.iter().map(|o| o.id.as_str()).collect();
        let stored = store.orders_by_ids(&ids)?;
        let (found, fix) = missed_orders(batch, &stored);
        order_findings.extend(found);
        fixes.extend(fix);
        Ok(())
    })?;
    order_findings.sort();
    if !fixes.is_empty() {
        store.write(|w| w.upsert_orders(&fixes))?;
    }
    findings.extend(order_findings);

    // 3. Anomalies, on the store as fixed.
    let plan = plan_from_store(settings, store, now, as_of, Explain::None)?;
    findings.extend(plan_anomalies(&plan));
    let previous: BTreeMap<String, (f64, f64)> = store
        .state(VELOCITIES_STATE)?
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default();
    findings.extend(velocity_jumps(
        &plan,
        &previous,
        settings.reconcile.velocity_jump_sigma,
    ));
    let config = plan_config(settings, Explain::None)?;
    let planned: BTreeSet<&str> = plan.lines.iter().map(|l| l.sku.as_str()).collect();
    let resolve = |shopify_sku: &str| -> Option<String> {
        let cin7 = config
            .mapping
            .get(shopify_sku)
            .map(String::as_str)
            .unwrap_or(shopify_sku);
        planned.contains(cin7).then(|| cin7.to_string())
    };
    let window_orders = store.orders_between(from, to)?;
    findings.extend(large_orders(
        &window_orders,
        as_of,
        window_days,
        settings.policy.timezone,
        &resolve,
    ));
    // 4. Webhook deliveries `listen` could not use since the last audit (signed but not JSON, or
    //    not applicable to the store): the incremental sync and the re-pull above cover their
    //    orders; a person may want to know Shopify sent them.
    let counts = store.event_counts()?;
    let previous: BTreeMap<String, u64> = store
        .state(WEBHOOKS_STATE)?
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default();
    for state in ["malformed", "failed"] {
        let now_n = counts.get(state).copied().unwrap_or(0);
        let before = previous.get(state).copied().unwrap_or(0);
        if now_n > before {
            findings.push(Finding::new(
                kind::WEBHOOK_UNUSABLE,
                format!(
                    "{} webhook deliver{} {} since the last audit (see the store's webhook_events)",
                    now_n - before,
                    if now_n - before == 1 {
                        "y was"
                    } else {
                        "ies were"
                    },
                    if state == "malformed" {
                        "signed but not JSON"
                    } else {
                        "not applicable to the store"
                    }
                ),
            ));
        }
    }
    let counts_json = serde_json::to_string(&counts)?;
    store.write(|w| w.set_state(WEBHOOKS_STATE, &counts_json))?;

    // 5. Received purchases vs the change in stock.
    findings.extend(check_receipts(settings, store, &cin7, &config.mapping, &planned).await?);

    let now_velocities = serde_json::to_string(&velocities(&plan))?;
    store.write(|w| w.set_state(VELOCITIES_STATE, &now_velocities))?;
    Ok((synced, fetched.len() as usize, fixes.len()))
}
