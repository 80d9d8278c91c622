//! `draft` end to end against the in-process sandbox: exactly one draft per (supplier, location),
//! reruns that change nothing, updates of the tool's own untouched drafts, a person's edit left
//! alone, `--dry-run` writing nothing, injected faults (lost answers included) and a binary killed
//! at exact steps — always zero duplicates and zero missing POs.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use replenish::app::draft::{DraftOutcome, DraftReport};
use replenish::config::Settings;
use replenish::core::plan::PurchaseOrder;
use replenish::core::settle::{CloseReason, Recovered};
use replenish::sandbox::{SandboxHandle, SandboxOptions};
use replenish::store::Store;
use reqwest::Method;
use serde_json::Value;

use crate::common::bin::{SANDBOX_SECRETS, output_of, po_results, replenish_with};
use crate::common::mock::{mount, post, text};
use crate::common::run::{draft_at, open_purchase_ids, plan_at};
use crate::common::sandbox::sandbox_and_dir;
use crate::common::sandbox::{
    SANDBOX_CIN7, binary_config, cin7_request, person_edit, purchase_in, sandbox_post, send_ok,
    start_world, tick, world,
};
use crate::common::{first_sync, sandbox_settings, sandbox_state, start_sandbox, t0};

/// (supplier ID, location) → the tool-tagged purchases there: (order number, status, lines).
type Drafts = BTreeMap<(String, String), Vec<(String, String, Vec<(String, f64, f64)>)>>;

/// The sandbox's purchases tagged with any intent the tool ever recorded (open or closed): a
/// second purchase for one PO would carry a different intent's tag, so counting these catches
/// duplicates. (The sandbox's own person-made `replenish:` draft is in no ledger.)
fn tool_drafts(state: &Value, store: &Store) -> Drafts {
    let intents: std::collections::BTreeSet<String> = store
        .recent_drafts(100_000)
        .unwrap()
        .into_iter()
        .map(|e| replenish::store::tag(&e.intent_id))
        .collect();
    let mut out: Drafts = BTreeMap::new();
    for p in state["purchases"].as_array().into_iter().flatten() {
        let note = p["Note"].as_str().unwrap_or("");
        if !intents.contains(note) {
            continue;
        }
        let lines = p["Order"]["Lines"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| {
                (
                    l["SKU"].as_str().unwrap_or("").to_string(),
                    l["Quantity"].as_f64().unwrap_or(f64::NAN),
                    l["Price"].as_f64().unwrap_or(f64::NAN),
                )
            })
            .collect();
        out.entry((
            p["SupplierID"].as_str().unwrap_or("").to_string(),
            p["Location"].as_str().unwrap_or("").to_string(),
        ))
        .or_default()
        .push((
            p["OrderNumber"].as_str().unwrap_or("").to_string(),
            p["Status"].as_str().unwrap_or("").to_string(),
            lines,
        ));
    }
    out
}

fn sorted_lines(po: &PurchaseOrder) -> Vec<(String, f64, f64)> {
    use rust_decimal::prelude::ToPrimitive;
    let mut v: Vec<_> = po
        .lines
        .iter()
        .map(|l| {
            (
                l.sku.clone(),
                l.quantity,
                l.price.to_f64().unwrap_or(f64::NAN),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Every pushable PO of the current plan has exactly one open tool draft in the sandbox, with
/// exactly its lines, and no tool draft exists anywhere else.
async fn assert_exactly_the_plan(
    handle: &SandboxHandle,
    settings: &Settings,
    store: &Store,
    now: DateTime<Utc>,
) -> usize {
    let plan = plan_at(settings, store, now);
    // What draft pushes: the plan's POs after the data-quality gates.
    let gated = replenish::core::push::gate(&plan, &settings.suppliers);
    let drafts = tool_drafts(&sandbox_state(handle).await, store);
    let mut expected = 0;
    for po in gated.orders.iter().filter(|p| p.status != "hold") {
        expected += 1;
        let key = (po.supplier_id.clone(), po.location.clone());
        let found = drafts.get(&key).cloned().unwrap_or_default();
        let open: Vec<_> = found.iter().filter(|d| d.1 == "ORDERING").collect();
        assert_eq!(
            open.len(),
            1,
            "exactly one open tool draft for {} at {}: {found:?}",
            po.supplier,
            po.location
        );
        let mut got = open[0].2.clone();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            sorted_lines(po),
            "lines of {} at {}",
            po.supplier,
            po.location
        );
    }
    let total: usize = drafts.values().map(Vec::len).sum();
    assert_eq!(
        total, expected,
        "no tool draft outside the plan's POs (no duplicates): {drafts:#?}"
    );
    expected
}

async fn run(
    settings: &Settings,
    store: &mut Store,
    now: DateTime<Utc>,
    dry_run: bool,
) -> DraftReport {
    try_run(settings, store, now, dry_run).await.unwrap()
}

async fn try_run(
    settings: &Settings,
    store: &mut Store,
    now: DateTime<Utc>,
    dry_run: bool,
) -> anyhow::Result<DraftReport> {
    draft_at(settings, store, now, true, dry_run).await
}

/// An 80-SKU sandbox at two locations, synced into `dir` and drafted at [`t0`] (at least two POs):
/// its handle, settings, store and the open drafts' ledger rows.
async fn drafted(
    dir: &std::path::Path,
) -> (
    SandboxHandle,
    Settings,
    Store,
    Vec<replenish::store::LedgerEntry>,
) {
    let handle = start_sandbox(80, 2, 0.0).await;
    let (settings, mut store, _) = first_sync(&handle, dir).await;
    run(&settings, &mut store, t0(), false).await;
    let ledger = store.open_drafts().unwrap();
    assert!(ledger.len() >= 2);
    (handle, settings, store, ledger)
}

/// A sandbox of `skus` at two locations with a config for the binary in a fresh folder, and the
/// sandbox's purchases before the binary runs.
async fn binary_world(
    skus: usize,
) -> (SandboxHandle, tempfile::TempDir, std::path::PathBuf, Value) {
    let (handle, dir) = sandbox_and_dir(skus, 2, 0.0).await;
    let config = binary_config(&handle, dir.path());
    let before = sandbox_state(&handle).await["purchases"].clone();
    (handle, dir, config, before)
}

fn results(r: &DraftReport) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for p in &r.purchase_orders {
        *m.entry(p.result.as_str()).or_default() += 1;
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_draft_creates_one_po_per_supplier_and_location_and_a_rerun_nothing() {
    let (handle, dir) = sandbox_and_dir(80, 2, 0.0).await;
    let (settings, mut store, _) = first_sync(&handle, dir.path()).await;

    let first = run(&settings, &mut store, t0(), false).await;
    let created = results(&first).get("created").copied().unwrap_or(0);
    assert!(
        created >= 2,
        "the fixed world orders from several suppliers: {first:#?}"
    );
    assert_ne!(first.outcome, DraftOutcome::Failed, "{first:#?}");
    let expected = assert_exactly_the_plan(&handle, &settings, &store, t0()).await;
    assert_eq!(created, expected);
    assert_eq!(store.open_drafts().unwrap().len(), expected);
    // `status` shows them, with the run and fresh data.
    let status = replenish::app::status::status(&settings, &store, t0()).unwrap();
    assert_eq!(status.open_drafts.len(), expected);
    assert!(
        status
            .open_drafts
            .iter()
            .all(|d| d.state == "done" && d.order_number.is_some())
    );
    assert!(
        status
            .runs
            .iter()
            .any(|r| r.command == "draft" && r.outcome != "running")
    );
    assert!(!status.data.stale);

    let before = tool_drafts(&sandbox_state(&handle).await, &store);
    let again = run(&settings, &mut store, t0(), false).await;
    assert_eq!(results(&again).get("created"), None, "{again:#?}");
    assert_eq!(results(&again).get("updated"), None, "{again:#?}");
    assert_eq!(
        results(&again).get("unchanged").copied().unwrap_or(0),
        expected
    );
    assert_eq!(tool_drafts(&sandbox_state(&handle).await, &store), before);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_changes_nothing_anywhere() {
    let (handle, dir) = sandbox_and_dir(60, 2, 0.0).await;
    let (settings, mut store, _) = first_sync(&handle, dir.path()).await;
    let before = sandbox_state(&handle).await["purchases"].clone();
    let runs_before = store.runs(100).unwrap().len();
    let report = run(&settings, &mut store, t0(), true).await;
    assert!(report.dry_run);
    assert!(
        results(&report).get("would_create").copied().unwrap_or(0) >= 2,
        "{report:#?}"
    );
    assert_eq!(sandbox_state(&handle).await["purchases"], before);
    assert!(store.open_drafts().unwrap().is_empty());
    assert!(store.recent_drafts(10).unwrap().is_empty());
    // Only the sync's own run was recorded; the dry run recorded nothing.
    assert_eq!(store.runs(100).unwrap().len(), runs_before + 1);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_plan_updates_the_untouched_draft_and_a_person_edit_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, settings, mut store, ledger) = drafted(dir.path()).await;

    // A buyer edits one draft in Cin7: a quantity changed.
    let edited = &ledger[0];
    let purchase_id = edited.purchase_id.clone().unwrap();
    let edit = person_edit(&sandbox_state(&handle).await, &purchase_id, 5.0);
    send_ok(cin7_request(&handle, Method::POST, "purchase/order", SANDBOX_CIN7).json(&edit)).await;
    let person_lines =
        purchase_in(&sandbox_state(&handle).await, &purchase_id)["Order"]["Lines"].clone();

    // A day later, new orders: the plan changes.
    let later = t0() + Duration::hours(24);
    tick(&handle, "24").await;
    let report = run(&settings, &mut store, later, false).await;
    assert!(
        report
            .recovered
            .iter()
            .any(|r| matches!(r.what, Recovered::Closed(CloseReason::EditedByPerson(_)))),
        "{report:#?}"
    );
    let after = sandbox_state(&handle).await;
    let still = purchase_in(&after, &purchase_id);
    assert_eq!(
        still["Order"]["Lines"], person_lines,
        "the person's draft is untouched"
    );
    assert!(
        results(&report).get("updated").copied().unwrap_or(0) >= 1,
        "new demand changes some untouched draft: {report:#?}"
    );
    // Every open tool draft matches the new plan; the edited one is no longer the tool's.
    let open = store.open_drafts().unwrap();
    assert!(open.iter().all(|e| e.intent_id != edited.intent_id));
    let plan = plan_at(&settings, &store, later);
    let drafts = tool_drafts(&after, &store);
    let gated = replenish::core::push::gate(&plan, &settings.suppliers);
    for po in gated.orders.iter().filter(|p| p.status != "hold") {
        let key = (po.supplier_id.clone(), po.location.clone());
        let tool_open: Vec<_> = drafts
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|d| {
                d.1 == "ORDERING"
                    && open
                        .iter()
                        .any(|e| e.order_number.as_deref() == Some(d.0.as_str()))
            })
            .collect();
        assert_eq!(tool_open.len(), 1, "{} at {}", po.supplier, po.location);
        let mut got = tool_open[0].2.clone();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        // A line a data-quality gate now holds stays in an updated draft at the quantity the tool
        // last wrote, at the plan's price (`push::keep_held_lines`).
        let mut want = sorted_lines(po);
        let updated = ledger.iter().find(|e| {
            (&e.supplier_id, &e.location) == (&po.supplier_id, &po.location)
                && open.iter().any(|o| o.intent_id == e.intent_id)
        });
        for h in gated
            .held
            .iter()
            .filter(|h| (&h.supplier, &h.location) == (&po.supplier, &po.location))
        {
            let written = updated.and_then(|e| e.lines.iter().find(|l| l.sku == h.sku));
            let planned = plan
                .purchase_orders
                .iter()
                .filter(|p| (&p.supplier_id, &p.location) == (&po.supplier_id, &po.location))
                .flat_map(|p| p.lines.iter())
                .find(|l| l.sku == h.sku);
            if let (Some(w), Some(l)) = (written, planned) {
                use rust_decimal::prelude::ToPrimitive;
                want.push((
                    h.sku.clone(),
                    w.quantity,
                    l.price.to_f64().unwrap_or(f64::NAN),
                ));
            }
        }
        want.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, want);
    }
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_faults_and_lost_answers_every_po_exists_exactly_once() {
    let (handle, dir) = sandbox_and_dir(80, 2, 0.3).await;
    let mut settings = sandbox_settings(&handle, &dir.path().join("s.db"));
    settings.http.max_retries = 5;
    // Above the sandbox's 2 s "slow" answers; an unconfirmed create is re-checked after 2 × this.
    settings.http.timeout_secs = 3;
    let mut store = Store::open(&settings.store.path).unwrap();
    // A run that gives up (the sync or a check exhausting its retries, or a PO left for later)
    // is simply run again, as cron would.
    let mut last = None;
    for attempt in 0..6 {
        // As cron would, each run some time after the last: a create whose outcome was unknown
        // is settled once it is old enough to be sure (2 × timeout_secs = 6 s).
        let at = t0() + Duration::seconds(10 * attempt);
        match try_run(&settings, &mut store, at, false).await {
            Ok(report) if report.outcome != DraftOutcome::Failed => {
                last = Some(report);
                break;
            }
            Ok(report) => last = Some(report),
            Err(e) => eprintln!("run gave up: {e:#}"),
        }
    }
    let last = last.expect("some run finished");
    assert_ne!(last.outcome, DraftOutcome::Failed, "{last:#?}");
    let state = sandbox_state(&handle).await;
    assert!(
        state["faults"].as_u64().unwrap_or(0) > 0,
        "faults were injected: {}",
        state["faults_by_kind"]
    );
    eprintln!("faults injected: {}", state["faults_by_kind"]);
    assert_exactly_the_plan(&handle, &settings, &store, t0()).await;
    handle.shutdown().await;
}

/// Runs `replenish --now <now> draft --yes` in a child process; `crash_at` stops it at that step.
async fn draft_binary(
    config: &std::path::Path,
    now: DateTime<Utc>,
    crash_at: Option<&str>,
) -> std::process::Output {
    let mut cmd = replenish_with(config);
    cmd.args(["--now", &now.to_rfc3339()])
        .args(["draft", "--yes", "--format", "json"])
        .env_remove("RUST_LOG")
        .env_remove(replenish::app::draft::CRASH_AT_ENV);
    if let Some(step) = crash_at {
        cmd.env(replenish::app::draft::CRASH_AT_ENV, step);
    }
    output_of(cmd).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_each_step_the_rerun_finishes_without_duplicates() {
    for step in ["after_intent", "after_header", "after_lines"] {
        let (handle, dir) = sandbox_and_dir(60, 2, 0.0).await;
        let config = binary_config(&handle, dir.path());

        let crashed = draft_binary(&config, t0(), Some(step)).await;
        assert!(
            !crashed.status.success() && crashed.status.code() != Some(3),
            "{step}: the process was stopped: {:?}\n{}",
            crashed.status,
            String::from_utf8_lossy(&crashed.stderr)
        );
        assert!(
            String::from_utf8_lossy(&crashed.stderr).contains(step),
            "{step}: {}",
            String::from_utf8_lossy(&crashed.stderr)
        );
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let interrupted = store.open_drafts().unwrap();
        assert_eq!(interrupted.len(), 1, "{step}: one PO was under way");
        drop(store);
        // The next run, a minute later. (An intent Cin7 shows nothing for is only believed
        // "never created" once no request of the run that wrote it can still be in flight:
        // 2 × timeout_secs, 2 s here.)
        let rerun = draft_binary(&config, t0() + Duration::minutes(1), None).await;
        assert!(
            matches!(rerun.status.code(), Some(0) | Some(3)),
            "{step}: {}",
            String::from_utf8_lossy(&rerun.stderr)
        );
        let report: Value = serde_json::from_slice(&rerun.stdout).unwrap();
        let recovered = report["recovered"].to_string();
        let results = po_results(&report);
        let count = |r: &str| results.iter().filter(|x| **x == r).count();
        match step {
            // The create was never sent: the intent is closed and the PO created afresh.
            "after_intent" => {
                assert!(recovered.contains("closed: never_created"), "{recovered}");
                assert_eq!(count("updated") + count("unchanged"), 0, "{results:?}");
            }
            // The purchase exists without lines: the rerun writes them into it.
            "after_header" => assert_eq!(count("updated"), 1, "{results:?}"),
            // Everything was recorded: nothing to redo for that PO.
            _ => assert_eq!(count("unchanged"), 1, "{results:?}"),
        }
        let settings = sandbox_settings(&handle, &dir.path().join("s.db"));
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        assert_exactly_the_plan(&handle, &settings, &store, t0()).await;
        handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_create_losing_its_answer_still_gives_exactly_one_po_each() {
    let handle = start_world(SandboxOptions {
        lost_answer_rate: 1.0,
        ..world(60, 2)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (settings, mut store, _) = first_sync(&handle, dir.path()).await;
    let report = run(&settings, &mut store, t0(), false).await;
    let created = results(&report).get("created").copied().unwrap_or(0);
    let state = sandbox_state(&handle).await;
    assert_eq!(
        state["faults_by_kind"]["created_but_answer_lost"].as_u64(),
        Some(created as u64),
        "every create lost its answer, and each was found by its tag instead of made again"
    );
    assert!(created >= 2, "{report:#?}");
    assert_eq!(
        assert_exactly_the_plan(&handle, &settings, &store, t0()).await,
        created
    );
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_arbitrary_moments_the_last_run_still_leaves_one_po_each() {
    let (handle, dir) = sandbox_and_dir(60, 2, 0.0).await;
    let config = binary_config(&handle, dir.path());
    let bin = assert_cmd::cargo::cargo_bin("replenish");
    let command = |args: &[&str]| {
        let mut c = std::process::Command::new(&bin);
        c.arg("--config")
            .arg(&config)
            .args(["--now", &t0().to_rfc3339()])
            .args(args)
            .envs(SANDBOX_SECRETS)
            .env_remove("RUST_LOG")
            .env_remove(replenish::app::draft::CRASH_AT_ENV)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    };
    // Synced once, so that the kills land in the drafting itself (a few hundred ms of work).
    let synced = command(&["sync"]).status().unwrap();
    assert!(synced.success());
    // SIGKILL after these many milliseconds (a whole draft of this world takes ~100 ms in a debug
    // build), one run after another, then a run left alone.
    for delay_ms in [10u64, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120] {
        let mut child = command(&["draft", "--yes", "--no-sync"]).spawn().unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        let _ = child.kill(); // SIGKILL; it may already have finished
        let _ = child.wait();
    }
    {
        // Where the kills landed, for the log (timing-dependent, so not asserted).
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let ledger: Vec<String> = store
            .recent_drafts(1000)
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e.state.as_str(),
                    e.closed_reason.as_deref().unwrap_or("")
                )
            })
            .collect();
        let runs: Vec<String> = store
            .runs(100)
            .unwrap()
            .iter()
            .map(|r| format!("{} {}", r.command, r.outcome))
            .collect();
        eprintln!("ledger after the kills: {ledger:?}\nruns: {runs:?}");
    }
    // A minute later: an intent a killed run left unconfirmed is settled once old enough
    // (2 × timeout_secs, 2 s here).
    let last = draft_binary(&config, t0() + Duration::minutes(1), None).await;
    let report: Value = serde_json::from_slice(&last.stdout).unwrap_or_default();
    eprintln!("the last run recovered: {}", report["recovered"]);
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    assert!(
        store
            .runs(100)
            .unwrap()
            .iter()
            .all(|r| r.outcome != "running"),
        "killed runs are marked interrupted by the next one"
    );
    drop(store);
    assert!(
        matches!(last.status.code(), Some(0) | Some(3)),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    let settings = sandbox_settings(&handle, &dir.path().join("s.db"));
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    assert!(assert_exactly_the_plan(&handle, &settings, &store, t0()).await >= 2);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_draft_waits_for_the_lock_then_gives_up_with_exit_1() {
    let (handle, dir, config, before) = binary_world(40).await;
    let held = replenish::store::WriterLock::try_acquire(&dir.path().join("s.db"))
        .unwrap()
        .expect("the lock is free");
    let mut cmd = replenish_with(&config);
    cmd.args(["draft", "--yes", "--no-sync", "--lock-timeout", "1"]);
    let out = output_of(cmd).await;
    drop(held);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("holds the writer lock") && stderr.contains("s.db.lock"),
        "{stderr}"
    );
    assert_eq!(
        sandbox_state(&handle).await["purchases"],
        before,
        "nothing was written"
    );
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_slack_and_wait_in_the_outbox_while_it_is_down() {
    use wiremock::MockServer;
    use wiremock::matchers::method;
    let (handle, dir) = sandbox_and_dir(80, 2, 0.0).await;
    let (mut settings, mut store, _) = first_sync(&handle, dir.path()).await;
    let slack = MockServer::start().await;
    settings.alerts.slack_webhook_url = Some(secrecy::SecretString::from(format!(
        "{}/services/T000/B000/XXXX",
        slack.uri()
    )));

    // Slack is down: the run still finishes, its alerts stay in the outbox.
    wiremock::Mock::given(method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&slack)
        .await;
    let first = run(&settings, &mut store, t0(), false).await;
    assert_eq!(
        first.outcome,
        DraftOutcome::Attention,
        "the fixed world has alerts: {first:#?}"
    );
    assert!(!first.alerts.is_empty());
    let pending = store.pending_alerts().unwrap();
    assert_eq!(
        pending.len(),
        first.alerts.len(),
        "every alert waits to be sent"
    );

    // Slack is back: the next run delivers them (and groups the repeats instead of adding rows).
    slack.reset().await;
    mount(
        &slack,
        post("/services/T000/B000/XXXX"),
        text(200, "ok"),
        ..,
    )
    .await;
    run(&settings, &mut store, t0(), false).await;
    assert!(store.pending_alerts().unwrap().is_empty());
    let bodies: Vec<String> = slack
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).to_string())
        .collect();
    let all = bodies.join("\n");
    let example = &first.alerts[0];
    assert!(all.contains("\"text\""), "{all}");
    assert!(
        all.contains(
            example
                .sku
                .as_deref()
                .or(example.supplier.as_deref())
                .unwrap_or("")
        ),
        "{all}"
    );
    assert_eq!(
        store.recent_alerts(1000).unwrap().len(),
        first.alerts.len(),
        "the second run's identical alerts were grouped, not added"
    );
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_or_voided_draft_is_no_longer_the_tools() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, settings, mut store, ledger) = drafted(dir.path()).await;
    let approved = ledger[0].purchase_id.clone().unwrap();
    let voided = ledger[1].purchase_id.clone().unwrap();
    sandbox_post(&handle, &format!("purchase/{approved}/approve")).await;
    let void = format!("purchase?ID={voided}&Void=true");
    send_ok(cin7_request(&handle, Method::DELETE, &void, SANDBOX_CIN7)).await;
    let both = |state: Value| [purchase_in(&state, &approved), purchase_in(&state, &voided)];
    let before = both(sandbox_state(&handle).await);

    let report = run(&settings, &mut store, t0(), false).await;
    let closed: Vec<&Recovered> = report.recovered.iter().map(|r| &r.what).collect();
    assert!(
        closed
            .iter()
            .any(|w| matches!(w, Recovered::Closed(CloseReason::Approved { .. }))),
        "{closed:?}"
    );
    assert!(
        closed.contains(&&Recovered::Closed(CloseReason::Voided)),
        "{closed:?}"
    );
    let open = open_purchase_ids(&store);
    assert!(!open.contains(&approved) && !open.contains(&voided));
    let after = both(sandbox_state(&handle).await);
    assert_eq!(after, before, "the tool never touches them again");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_draft_is_gone_but_a_404_from_a_wrong_base_url_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, settings, mut store, ledger) = drafted(dir.path()).await;

    // Cin7 answers 404 for every path of a wrong base URL; the run must not take that for
    // "every draft was deleted". (No sync: it would fail first on the same URL.)
    let mut wrong = settings.clone();
    wrong.cin7.base_url = format!("{}/cin7/ExternalApi/v9/", handle.base_url());
    let report = draft_at(&wrong, &mut store, t0(), false, false)
        .await
        .unwrap();
    assert!(
        report
            .recovered
            .iter()
            .all(|r| r.what != Recovered::Closed(CloseReason::Gone)),
        "{:#?}",
        report.recovered
    );
    assert_eq!(report.outcome, DraftOutcome::Failed, "{report:#?}");
    let open: Vec<_> = store.open_drafts().unwrap();
    assert_eq!(open.len(), ledger.len(), "every draft is still the tool's");
    let alerts = store.recent_alerts(50).unwrap();
    assert!(
        alerts
            .iter()
            .any(|a| a.kind == "draft_unchecked"
                && a.message.contains("could not confirm it is gone")),
        "{alerts:#?}"
    );

    // A person deletes one draft in Cin7: now it is gone for real, and the list says so.
    let deleted = ledger[0].purchase_id.clone().unwrap();
    let delete = format!("purchase?ID={deleted}&Void=false");
    send_ok(cin7_request(&handle, Method::DELETE, &delete, SANDBOX_CIN7)).await;
    let report = run(&settings, &mut store, t0(), false).await;
    let gone: Vec<_> = report
        .recovered
        .iter()
        .filter(|r| r.what == Recovered::Closed(CloseReason::Gone))
        .collect();
    assert_eq!(gone.len(), 1, "{:#?}", report.recovered);
    assert_eq!(gone[0].order_number, ledger[0].order_number);
    let open = open_purchase_ids(&store);
    assert!(!open.contains(&deleted), "{open:?}");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draft_without_yes_and_without_a_terminal_refuses_to_write() {
    let (handle, dir, config, before) = binary_world(60).await;
    let mut cmd = replenish_with(&config);
    cmd.args(["--now", &t0().to_rfc3339(), "draft"]);
    let out = output_of(cmd).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--yes") && stderr.contains("--dry-run"),
        "{stderr}"
    );
    assert_eq!(
        sandbox_state(&handle).await["purchases"],
        before,
        "nothing written"
    );
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    assert!(
        store.open_drafts().unwrap().is_empty(),
        "no intent recorded"
    );
    handle.shutdown().await;
}
