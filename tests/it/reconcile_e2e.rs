//! `reconcile` end to end against the sandbox: each kind of finding is seeded, reported once, and
//! the ledger or the store is corrected.

use std::collections::BTreeMap;

use chrono::Duration;
use replenish::app::reconcile::{ReconcileOutcome, ReconcileReport, VELOCITIES_STATE};
use replenish::core::reconcile::Finding;
use replenish::store::Store;
use reqwest::Method;
use serde_json::Value;

use crate::common::bin::{output_of, replenish_with};
use crate::common::run::{draft_at, open_purchase_ids, plan_at, reconcile_at};
use crate::common::sandbox::sandbox_and_dir;
use crate::common::sandbox::{
    binary_config, cin7_request, person_edit, purchase_in, sandbox_post, send_ok, tick,
};
use crate::common::{first_sync, sandbox_state, start_sandbox, t0};

fn count(r: &ReconcileReport, kind: &str) -> usize {
    r.counts.get(kind).copied().unwrap_or(0)
}

/// The findings of `kind` in `r`.
fn findings<'a>(r: &'a ReconcileReport, kind: &str) -> Vec<&'a Finding> {
    r.findings.iter().filter(|f| f.kind == kind).collect()
}

/// `draft --yes --no-sync` at [`t0`], which must finish.
async fn draft_now(settings: &replenish::config::Settings, store: &mut Store) {
    draft_at(settings, store, t0(), false, false).await.unwrap();
}

/// A sandbox of `skus` at two locations, synced once into `dir` and drafted at [`t0`]: its
/// handle, settings, store and the open drafts' ledger rows.
async fn drafted(
    skus: usize,
    dir: &std::path::Path,
) -> (
    replenish::sandbox::SandboxHandle,
    replenish::config::Settings,
    Store,
    Vec<replenish::store::LedgerEntry>,
) {
    let handle = start_sandbox(skus, 2, 0.0).await;
    let (settings, mut store, _) = first_sync(&handle, dir).await;
    draft_now(&settings, &mut store).await;
    let ledger = store.open_drafts().unwrap();
    (handle, settings, store, ledger)
}

/// The one `receipt_mismatch` of `r`: on `sku`, 5 units short.
fn assert_one_receipt_short_by_5(r: &ReconcileReport, sku: &str) {
    let mismatches = findings(r, "receipt_mismatch");
    assert_eq!(mismatches.len(), 1, "{:#?}", r.findings);
    assert_eq!(mismatches[0].sku.as_deref(), Some(sku));
    assert!(
        mismatches[0].detail.contains("5 unit(s) missing"),
        "{}",
        mismatches[0].detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_approved_voided_and_edited_are_reported_once_and_let_go() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, settings, mut store, ledger) = drafted(80, dir.path()).await;
    assert!(ledger.len() >= 3);
    let id = |i: usize| ledger[i].purchase_id.clone().unwrap();
    let person = ("x", "y");
    // A buyer approves one, voids one and edits one.
    sandbox_post(&handle, &format!("purchase/{}/approve", id(0))).await;
    let void = format!("purchase?ID={}&Void=true", id(1));
    send_ok(cin7_request(&handle, Method::DELETE, &void, person)).await;
    let edit = person_edit(&sandbox_state(&handle).await, &id(2), 1.0);
    send_ok(cin7_request(&handle, Method::POST, "purchase/order", person).json(&edit)).await;

    let report = reconcile_at(&settings, &mut store, t0(), true).await;
    assert_eq!(
        count(&report, "draft_approved"),
        1,
        "{:#?}",
        report.findings
    );
    assert_eq!(count(&report, "draft_voided"), 1, "{:#?}", report.findings);
    assert_eq!(count(&report, "draft_edited"), 1, "{:#?}", report.findings);
    assert_eq!(report.outcome, ReconcileOutcome::Findings);
    // The sandbox world's seeded anomalies are reported too.
    for kind in [
        "negative_stock",
        "no_supplier",
        "no_lead_time",
        "large_order",
    ] {
        assert!(count(&report, kind) > 0, "{kind}: {:?}", report.counts);
    }
    let open = open_purchase_ids(&store);
    for i in 0..3 {
        assert!(!open.contains(&id(i)), "ledger row {i} was closed");
    }
    // The findings go out as one grouped alert.
    let alerts = store.recent_alerts(100).unwrap();
    assert_eq!(alerts.iter().filter(|a| a.kind == "reconcile").count(), 1);

    // Reported once: the next audit has nothing more to say about those drafts.
    let again = reconcile_at(&settings, &mut store, t0(), false).await;
    for kind in ["draft_approved", "draft_voided", "draft_edited"] {
        assert_eq!(count(&again, kind), 0, "{kind}: {:#?}", again.findings);
    }
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_and_changed_orders_are_found_and_fixed_in_the_store() {
    let (handle, dir) = sandbox_and_dir(40, 2, 0.0).await;
    let (settings, store, _) = first_sync(&handle, dir.path()).await;
    let path = settings.store.path.clone();
    let (missing, changed): (String, String) = {
        // The incremental path or the listener missed one order, and another's refund.
        let conn = rusqlite::Connection::open(&path).unwrap();
        let ids: Vec<String> = conn
            .prepare(
                "SELECT id FROM orders WHERE financial_status = 'PAID' AND cancelled_at IS NULL
                 AND test = 0 ORDER BY created_at DESC LIMIT 2",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        conn.execute("DELETE FROM orders WHERE id = ?1", [&ids[0]])
            .unwrap();
        conn.execute(
            "UPDATE orders SET financial_status = 'PENDING',
                updated_at = '2000-01-01T00:00:00.000000000Z' WHERE id = ?1",
            [&ids[1]],
        )
        .unwrap();
        // And the cancellation of a third, which the store still holds as not cancelled.
        let cancelled: String = conn
            .query_row(
                "SELECT id FROM orders WHERE cancelled_at IS NOT NULL AND created_at >= ?1
                 ORDER BY created_at DESC LIMIT 1",
                ["2026-11-01"],
                |r| r.get(0),
            )
            .unwrap();
        conn.execute(
            "UPDATE orders SET cancelled_at = NULL,
                updated_at = '2000-01-01T00:00:00.000000000Z' WHERE id = ?1",
            [&cancelled],
        )
        .unwrap();
        (ids[0].clone(), ids[1].clone())
    };
    drop(store);
    let mut store = Store::open(&path).unwrap();
    let report = reconcile_at(&settings, &mut store, t0(), false).await;
    assert_eq!(count(&report, "missed_order"), 1, "{:#?}", report.findings);
    assert_eq!(count(&report, "order_changed"), 2, "{:#?}", report.findings);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == "order_changed" && f.detail.contains("now cancelled")),
        "{:#?}",
        report.findings
    );
    assert!(report.orders_fixed >= 3);
    assert!(report.orders_repulled > 100);
    let restored = store
        .order(&missing)
        .unwrap()
        .expect("the missed order is stored now");
    assert_eq!(restored.financial_status, "PAID");
    assert_eq!(
        store.order(&changed).unwrap().unwrap().financial_status,
        "PAID"
    );
    let again = reconcile_at(&settings, &mut store, t0(), false).await;
    assert_eq!(
        count(&again, "missed_order") + count(&again, "order_changed"),
        0
    );
    assert_eq!(again.orders_fixed, 0);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_left_for_days_and_velocity_jumps_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, settings, mut store, ledger) = drafted(60, dir.path()).await;
    let open = ledger.len();
    assert!(open >= 2);

    // The last audit saw a unit selling at a tenth of today's rate.
    let plan = plan_at(&settings, &store, t0());
    let unit = plan
        .lines
        .iter()
        .filter(|l| l.velocity > 1.0 && l.stddev > 0.0)
        .max_by(|a, b| a.velocity.total_cmp(&b.velocity))
        .expect("a selling unit");
    let mut previous: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    previous.insert(
        format!("{}|{}", unit.sku, unit.location),
        (unit.velocity / 10.0, unit.velocity / 100.0),
    );
    store
        .write(|w| w.set_state(VELOCITIES_STATE, &serde_json::to_string(&previous).unwrap()))
        .unwrap();

    // Four days on, the drafts are still drafts.
    let later = t0() + Duration::days(4);
    let report = reconcile_at(&settings, &mut store, later, false).await;
    assert_eq!(
        count(&report, "draft_stale"),
        open,
        "{:#?}",
        report.findings
    );
    let jumps = findings(&report, "velocity_jump");
    assert_eq!(jumps.len(), 1, "{jumps:#?}");
    assert_eq!(jumps[0].sku.as_deref(), Some(unit.sku.as_str()));
    // Stale data (the snapshot is four days old) is reported too.
    assert_eq!(count(&report, "stale_data"), 1);
    // The velocities are kept for the next audit: no jump against itself.
    let again = reconcile_at(&settings, &mut store, later, false).await;
    assert_eq!(count(&again, "velocity_jump"), 0);
    let md = replenish::output::reconcile::markdown(&again);
    assert!(
        md.starts_with("# replenish reconcile") && md.contains("## draft_stale"),
        "{md}"
    );
    let _: Value = serde_json::to_value(&again).unwrap();
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_that_does_not_show_in_stock_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, settings, mut store, ledger) = drafted(60, dir.path()).await;
    assert!(ledger.len() >= 2);
    // Half a minute after the first sync (the sandbox's clock moves only when told to) ...
    tick(&handle, "0.01").await;
    // ... one PO arrives in full; on the other, 5 units of its first line never reach the shelf.
    let full = ledger[0].purchase_id.clone().unwrap();
    let short = ledger[1].purchase_id.clone().unwrap();
    for (id, query) in [(&full, ""), (&short, "?stock_short=5")] {
        sandbox_post(&handle, &format!("purchase/{id}/receive{query}")).await;
    }
    let short_sku = ledger[1].lines[0].sku.clone();

    // The receipt (t0 + 36 s) falls between the first sync's snapshot and the audit's own.
    let later = t0() + Duration::minutes(1);
    let report = reconcile_at(&settings, &mut store, later, true).await;
    assert_one_receipt_short_by_5(&report, &short_sku);
    let again = reconcile_at(&settings, &mut store, later + Duration::minutes(1), true).await;
    assert_eq!(count(&again, "receipt_mismatch"), 0, "reported once");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_receipt_is_not_counted_until_it_is_authorised() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, settings, mut store, ledger) = drafted(60, dir.path()).await;
    let id = ledger[0].purchase_id.clone().unwrap();
    let sku = ledger[0].lines[0].sku.clone();

    // The warehouse starts counting the delivery: a DRAFT receipt with all the lines, nothing
    // in stock yet (t0 + 36 s, between the first sync and the audit's own).
    tick(&handle, "0.01").await;
    sandbox_post(&handle, &format!("purchase/{id}/receive?draft=true")).await;
    let detail = purchase_in(&sandbox_state(&handle).await, &id);
    assert_eq!(detail["Status"], "RECEIVING", "{detail}");
    assert_eq!(detail["StockReceived"]["Status"], "DRAFT", "{detail}");
    assert!(
        !detail["StockReceived"]["Lines"]
            .as_array()
            .unwrap()
            .is_empty(),
        "a draft receipt shows its lines: {detail}"
    );
    let later = t0() + Duration::minutes(1);
    let report = reconcile_at(&settings, &mut store, later, true).await;
    assert_eq!(
        count(&report, "receipt_mismatch"),
        0,
        "draft lines are not stock: {:#?}",
        report.findings
    );

    // The receipt is authorised, 5 units of its first line short on the shelf: now it counts
    // (the purchase waited for it rather than being let go as checked).
    tick(&handle, "0.01").await;
    sandbox_post(&handle, &format!("purchase/{id}/receive?stock_short=5")).await;
    let report = reconcile_at(&settings, &mut store, later + Duration::minutes(1), true).await;
    assert_one_receipt_short_by_5(&report, &sku);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_state_reports_nothing_and_exits_0() {
    // A world small enough to hold none of the sandbox's seeded anomalies but one: a supplier with
    // no lead time anywhere. Configuring every supplier's lead time removes that one too.
    let (handle, dir) = sandbox_and_dir(4, 1, 0.0).await;
    let (mut settings, mut store, _) = first_sync(&handle, dir.path()).await;
    for s in store.suppliers().unwrap() {
        settings.suppliers.insert(
            s.name.clone(),
            replenish::config::SupplierOverride {
                lead_time_days: Some(10.0),
                ..Default::default()
            },
        );
    }
    let report = reconcile_at(&settings, &mut store, t0(), true).await;
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.outcome, ReconcileOutcome::Clean);
    assert_eq!(report.exit_code(), std::process::ExitCode::SUCCESS);
    assert!(report.orders_repulled > 0 && report.orders_fixed == 0);
    assert!(
        store.recent_alerts(10).unwrap().is_empty(),
        "no finding, no alert"
    );
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_markdown_and_exits_3_on_findings() {
    let (handle, dir) = sandbox_and_dir(40, 2, 0.0).await;
    let mut cmd = replenish_with(&binary_config(&handle, dir.path()));
    cmd.args(["--now", &t0().to_rfc3339(), "reconcile", "--format", "md"]);
    let out = output_of(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("# replenish reconcile\n"), "{stdout}");
    assert!(stdout.contains("\n## negative_stock\n"), "{stdout}");
    handle.shutdown().await;
}
