//! `replenish draft`: sync (unless `--no-sync`), check the tool's open drafts against Cin7, plan,
//! apply the data-quality gates, then create or update one draft purchase order per (supplier,
//! key location) — exactly once — and raise alerts for whatever needs a person.
//!
//! Exactly once (docs/design.md, "Drafting exactly once"): before `POST purchase` the intent is
//! committed to the ledger and its id goes into the purchase's Note (`replenish:<id>`). A create
//! whose outcome is unknown (timeout, lost answer, 5xx) is never retried blindly: the purchase is
//! looked for by its tag first, and adopted when found. Each later step (purchase created, lines
//! written) is committed right after Cin7 confirms it, so a run killed at any point leaves a
//! ledger the next run can finish from. One process at a time: the store's writer lock.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::Serialize;

use crate::adapters::cin7::{
    Cin7Client, CreatedPurchase, DraftLine, NewPurchase, PurchaseHint, create_outcome_unknown,
};
use crate::adapters::http::{ApiError, Counters, ErrorClass, build_client};
use crate::app::plan::{own_drafts, plan_with_drafts, today};
use crate::app::sync::{SyncOptions, SyncSummary, sync};
use crate::app::{EXIT_ATTENTION, RunEnd, UsageError, record_run_end, run_failed_alert};
use crate::cli::{DraftArgs, Format};
use crate::clock::Clock;
use crate::config::Settings;
use crate::core::drafts::same_lines;
use crate::core::issues;
use crate::core::model::Purchase;
use crate::core::plan::{Explain, Plan, PurchaseOrder};
use crate::core::push::{self, Action, OpenDraft};
use crate::output::progress::Progress;
use crate::store::{LedgerEntry, LedgerState, NewAlert, NewIntent, Store, WrittenLine};

/// The test-only environment variable that stops the process (abort, like a kill) right after a
/// named step of the first PO it reaches: `after_intent`, `after_header` or `after_lines`.
pub const CRASH_AT_ENV: &str = "REPLENISH_TEST_CRASH_AT";

/// How often a create is attempted when Cin7 refused it without creating it (throttled), or an
/// unknown outcome was checked and nothing was found.
const CREATE_ATTEMPTS: u32 = 3;

/// How far before the intent the lookup of a lost purchase starts (clock skew between us and Cin7,
/// or a `--now` left set).
const LOOKUP_MARGIN_HOURS: i64 = 24;

/// Whether `draft` may write without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// `--yes`: go ahead.
    Yes,
    /// Ask on the terminal.
    Ask,
    /// No terminal to ask on and no `--yes`: refuse to write.
    Refuse,
}

/// What the caller asks of a draft run.
#[derive(Debug, Clone, Copy)]
pub struct DraftOptions {
    pub sync: bool,
    pub dry_run: bool,
    pub confirm: Confirm,
}

/// What happened to one purchase order (or open tool draft).
#[derive(Debug, Clone, Serialize)]
pub struct PoOutcome {
    pub supplier: String,
    pub supplier_id: String,
    pub location: String,
    /// `create`, `update`, `unchanged`, `hold` or `leave_alone`.
    pub action: &'static str,
    /// `created`, `updated`, `unchanged`, `held`, `left_alone`, `rejected`, `failed`, or with
    /// `--dry-run` `would_create`, `would_update`.
    pub result: &'static str,
    pub order_number: Option<String>,
    pub lines: usize,
    #[serde(serialize_with = "crate::core::plan::money_opt")]
    pub total: Option<rust_decimal::Decimal>,
    pub currency: Option<String>,
    /// Why, in words (hold reason, Cin7's rejection, what is left to do).
    pub detail: Option<String>,
}

/// A ledger entry settled by checking Cin7 at the start of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    pub supplier: String,
    pub location: String,
    pub order_number: Option<String>,
    /// `adopted` (a purchase created by an interrupted run was found by its tag), `finished`
    /// (an interrupted line write had landed), or `closed: <reason>`.
    pub what: String,
}

/// A line held back by a data-quality gate.
#[derive(Debug, Clone, Serialize)]
pub struct HeldLineOut {
    pub gate: &'static str,
    pub sku: String,
    pub supplier: String,
    pub location: String,
    pub quantity: f64,
    pub reason: String,
}

/// Everything a draft run did, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct DraftReport {
    pub run_id: Option<i64>,
    pub dry_run: bool,
    /// `done`, `attention` (alerts raised or POs held) or `failed` (some PO could not be written
    /// now; the next run picks it up).
    pub outcome: &'static str,
    pub sync: Option<SyncSummary>,
    pub recovered: Vec<Recovery>,
    pub purchase_orders: Vec<PoOutcome>,
    pub held_lines: Vec<HeldLineOut>,
    pub alerts: Vec<AlertOut>,
    /// Requests per Cin7 endpoint made by the drafting itself (the sync reports its own).
    pub requests: Vec<crate::store::EndpointCount>,
}

/// An alert raised by the run.
#[derive(Debug, Clone, Serialize)]
pub struct AlertOut {
    pub kind: String,
    pub sku: Option<String>,
    pub supplier: Option<String>,
    pub location: Option<String>,
    pub message: String,
}

impl DraftReport {
    pub fn exit_code(&self) -> ExitCode {
        match self.outcome {
            "failed" => ExitCode::from(1),
            "attention" => ExitCode::from(EXIT_ATTENTION),
            _ => ExitCode::SUCCESS,
        }
    }
}

/// The CLI entry point.
pub async fn exec(settings: &Settings, args: &DraftArgs, clock: Clock) -> Result<ExitCode> {
    settings.cin7_credentials()?;
    if !args.no_sync {
        settings.shopify_token()?;
    }
    let lock =
        crate::app::acquire_lock(&settings.store.path, Duration::from_secs(args.lock_timeout))
            .await?;
    let mut store = Store::open(&settings.store.path)?;
    let confirm = if args.yes || args.dry_run {
        Confirm::Yes
    } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        Confirm::Ask
    } else {
        Confirm::Refuse
    };
    let options = DraftOptions {
        sync: !args.no_sync,
        dry_run: args.dry_run,
        confirm,
    };
    let report = draft(settings, &mut store, clock, &options, &Progress::auto()).await?;
    drop(lock);
    let text = match crate::app::resolve_format(args.format) {
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Table => crate::output::draft::table(
            &report,
            crate::output::safe::terminal_width(crate::output::safe::Stream::Stdout),
        ),
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(report.exit_code())
}

/// One draft run: sync, check the ledger against Cin7, plan, gate, decide, write, alert. The
/// run plans as of `clock.now()` when it starts; every ledger step is stamped when it happens.
pub async fn draft(
    settings: &Settings,
    store: &mut Store,
    clock: Clock,
    options: &DraftOptions,
    progress: &Progress,
) -> Result<DraftReport> {
    let now = clock.now();
    let run_id = if options.dry_run {
        None
    } else {
        // Runs a killed process left `running` were marked interrupted when the caller took the
        // writer lock (`app::acquire_lock`).
        Some(store.write(|w| w.start_run("draft", now))?)
    };
    let counters = Counters::default();
    let cin7 = Cin7Client::new(
        settings,
        build_client(&settings.http),
        counters.clone(),
        clock,
    )?;
    let mut run = Run {
        settings,
        cin7: &cin7,
        clock,
        now,
        run_id,
        dry_run: options.dry_run,
        alerts: Vec::new(),
        recovered: Vec::new(),
        failed: false,
        blocked: BTreeMap::new(),
    };
    // The sync runs inside the draft run, so that its failure is recorded and alerted too.
    let result = async {
        let synced = if options.sync {
            Some(sync(settings, store, clock, &SyncOptions::default(), progress).await?)
        } else {
            None
        };
        let (orders, held) = run.go(store, options.confirm).await?;
        Ok::<_, anyhow::Error>((synced, orders, held))
    }
    .await;
    let requests = counters.snapshot();
    let Some(run_id) = run_id else {
        // A dry run records nothing (the sync it starts records its own run, like any sync).
        let (synced, orders, held) = result?;
        return Ok(report(run, synced, None, orders, held, requests));
    };
    match result {
        Ok((synced, orders, held)) => {
            let report = report(run, synced, Some(run_id), orders, held, requests);
            let summary = serde_json::to_string(&report).ok();
            let alerts = new_alerts(&report.alerts);
            record_run_end(
                store,
                settings,
                &RunEnd {
                    run_id,
                    at: clock.now(),
                    outcome: report.outcome,
                    error: None,
                    requests: &report.requests,
                    summary: summary.as_deref(),
                    alerts: &alerts,
                },
            )?;
            deliver_alerts(store, settings, clock.now()).await;
            Ok(report)
        }
        Err(err) => {
            let message = crate::secrets::redact(&format!("{err:#}")).into_owned();
            let mut alerts = new_alerts(&run.alerts_out());
            // Refusing to write without confirmation is not a failure a person must be told of.
            let refused = err.downcast_ref::<UsageError>().is_some();
            if !refused {
                alerts.push(run_failed_alert(format!(
                    "replenish draft failed: {message}"
                )));
            }
            let outcome = if refused { "refused" } else { "failed" };
            if let Err(record_err) = record_run_end(
                store,
                settings,
                &RunEnd {
                    run_id,
                    at: clock.now(),
                    outcome,
                    error: Some(&message),
                    requests: &requests,
                    summary: None,
                    alerts: &alerts,
                },
            ) {
                tracing::error!("could not record the failed run: {record_err}");
            }
            deliver_alerts(store, settings, clock.now()).await;
            Err(err)
        }
    }
}

/// The tool's open drafts after checking each against Cin7, and what that found.
#[derive(Debug)]
pub struct Settled {
    /// Rows adopted, finished or closed (approved, voided, edited, gone, never created).
    pub recovered: Vec<Recovery>,
    /// Rows still the tool's open drafts.
    pub open: Vec<LedgerEntry>,
    /// (supplier ID, location) that could not be checked, and why.
    pub unchecked: Vec<((String, String), String)>,
}

/// What `draft` does first, for `reconcile`: settles every open ledger row against Cin7 (the
/// caller holds the writer lock).
pub async fn settle_drafts(
    settings: &Settings,
    store: &mut Store,
    cin7: &Cin7Client,
    clock: Clock,
) -> Result<Settled> {
    let mut run = Run {
        settings,
        cin7,
        clock,
        now: clock.now(),
        run_id: None,
        dry_run: false,
        alerts: Vec::new(),
        recovered: Vec::new(),
        failed: false,
        blocked: BTreeMap::new(),
    };
    let open = run.check_ledger(store).await?;
    Ok(Settled {
        recovered: run.recovered,
        open,
        unchecked: run.blocked.into_iter().collect(),
    })
}

/// Sends what the outbox holds; a failure only logs (the alerts stay for the next run).
pub async fn deliver_alerts(store: &mut Store, settings: &Settings, now: DateTime<Utc>) {
    match crate::adapters::alerts::deliver_pending(store, &settings.alerts, now).await {
        Ok(r) => {
            if r.failed > 0 {
                tracing::warn!(
                    "{} alert deliveries failed and will be retried on the next run: {}",
                    r.failed,
                    r.errors.join("; ")
                );
            }
        }
        Err(e) => tracing::warn!("alerts not delivered now (kept for the next run): {e}"),
    }
}

fn new_alerts(alerts: &[AlertOut]) -> Vec<NewAlert> {
    alerts
        .iter()
        .map(|a| NewAlert {
            kind: a.kind.clone(),
            sku: a.sku.clone(),
            supplier: a.supplier.clone(),
            location: a.location.clone(),
            message: a.message.clone(),
        })
        .collect()
}

fn report(
    run: Run<'_>,
    sync: Option<SyncSummary>,
    run_id: Option<i64>,
    purchase_orders: Vec<PoOutcome>,
    held_lines: Vec<HeldLineOut>,
    requests: Vec<crate::store::EndpointCount>,
) -> DraftReport {
    let alerts = run.alerts_out();
    let held = purchase_orders.iter().any(|p| p.result == "held") || !held_lines.is_empty();
    let outcome = if run.failed {
        "failed"
    } else if !run.dry_run && (held || !alerts.is_empty()) {
        "attention"
    } else {
        "done"
    };
    DraftReport {
        run_id,
        dry_run: run.dry_run,
        outcome,
        sync,
        recovered: run.recovered,
        purchase_orders,
        held_lines,
        alerts,
        requests,
    }
}

/// The state of one run while it works.
struct Run<'a> {
    settings: &'a Settings,
    cin7: &'a Cin7Client,
    /// Stamps each ledger step when it happens.
    clock: Clock,
    /// The run's instant: what it plans as of.
    now: DateTime<Utc>,
    run_id: Option<i64>,
    dry_run: bool,
    alerts: Vec<AlertOut>,
    recovered: Vec<Recovery>,
    /// Some PO could not be written now (the next run finishes it).
    failed: bool,
    /// (supplier ID, location) that must not be written this run, and why.
    blocked: BTreeMap<(String, String), String>,
}

/// A purchase's lines as (SKU, quantity, price).
fn purchase_lines(p: &Purchase) -> Vec<(String, f64, rust_decimal::Decimal)> {
    p.detail
        .as_ref()
        .map(|d| {
            d.lines
                .iter()
                .map(|l| (l.sku.clone(), l.quantity, l.price))
                .collect()
        })
        .unwrap_or_default()
}

fn written(lines: &[WrittenLine]) -> Vec<(String, f64, rust_decimal::Decimal)> {
    lines
        .iter()
        .map(|l| (l.sku.clone(), l.quantity, l.price))
        .collect()
}

fn same(a: &[(String, f64, rust_decimal::Decimal)], b: &[WrittenLine]) -> bool {
    same_lines(
        a.iter().map(|(s, q, p)| (s.as_str(), *q, *p)),
        b.iter().map(|l| (l.sku.as_str(), l.quantity, l.price)),
    )
}

/// Stops the process at a named step when the test-only variable asks for it.
fn crash_point(step: &str) {
    if std::env::var(CRASH_AT_ENV).is_ok_and(|v| v == step) {
        eprintln!("{CRASH_AT_ENV}={step}: stopping the process here");
        std::process::abort();
    }
}

impl Run<'_> {
    fn alerts_out(&self) -> Vec<AlertOut> {
        self.alerts.clone()
    }

    fn alert(
        &mut self,
        kind: &str,
        sku: Option<&str>,
        supplier: Option<&str>,
        location: Option<&str>,
        message: String,
    ) {
        self.alerts.push(AlertOut {
            kind: kind.to_string(),
            sku: sku.map(str::to_string),
            supplier: supplier.map(str::to_string),
            location: location.map(str::to_string),
            message,
        });
    }

    /// Writes one ledger step, unless this is a dry run.
    fn record<T: Default>(
        &self,
        store: &mut Store,
        f: impl FnOnce(&crate::store::Writer<'_>) -> Result<T, crate::store::StoreError>,
    ) -> Result<T> {
        if self.dry_run {
            return Ok(T::default());
        }
        Ok(store.write(f)?)
    }

    async fn go(
        &mut self,
        store: &mut Store,
        confirm: Confirm,
    ) -> Result<(Vec<PoOutcome>, Vec<HeldLineOut>)> {
        let open = self.check_ledger(store).await?;
        let settings = self.settings;
        let open_drafts: Vec<OpenDraft> = open
            .iter()
            .filter(|e| e.purchase_id.is_some())
            .map(|e| OpenDraft {
                intent_id: e.intent_id.clone(),
                supplier_id: e.supplier_id.clone(),
                supplier: e.supplier.clone(),
                location: e.location.clone(),
                order_number: e.order_number.clone(),
                written: written(&e.lines),
                settled: e.state == LedgerState::Done,
            })
            .collect();
        let by_intent: BTreeMap<&str, &LedgerEntry> =
            open.iter().map(|e| (e.intent_id.as_str(), e)).collect();

        // The tool's own drafts are left out of on_draft because the plan replaces them. One the
        // plan has no PO for is left as it is, so it must count after all (else its SKUs are
        // ordered again elsewhere, say from a new supplier): plan again with it counted.
        let mut own = own_drafts(&open);
        let (plan, gated, actions) = loop {
            let plan = plan_with_drafts(
                settings,
                store,
                self.now,
                today(settings, self.now),
                Explain::None,
                &own,
            )?;
            let gated = push::gate(&plan, &settings.suppliers);
            let actions = push::decide(&gated.orders, &open_drafts);
            let orphans: Vec<&str> = actions
                .iter()
                .filter_map(|a| match a {
                    Action::LeaveAlone { draft } => by_intent
                        .get(draft.intent_id.as_str())
                        .and_then(|e| e.purchase_id.as_deref()),
                    _ => None,
                })
                .collect();
            let before = own.len();
            own.retain(|d| !orphans.contains(&d.purchase_id.as_str()));
            if own.len() == before {
                break (plan, gated, actions);
            }
        };
        self.plan_alerts(&plan, &gated);
        let actions: Vec<Action> = actions
            .into_iter()
            .map(|a| keep_held_lines(a, &plan, &gated))
            .collect();
        let held: Vec<HeldLineOut> = gated
            .held
            .iter()
            .map(|h| HeldLineOut {
                gate: h.gate,
                sku: h.sku.clone(),
                supplier: h.supplier.clone(),
                location: h.location.clone(),
                quantity: h.quantity,
                reason: h.reason.clone(),
            })
            .collect();

        let writes = actions
            .iter()
            .filter(|a| matches!(a, Action::Create { .. } | Action::Update { .. }))
            .count();
        if !self.dry_run && writes > 0 {
            match confirm {
                Confirm::Yes => {}
                Confirm::Refuse => {
                    return Err(UsageError(format!(
                        "draft would write {writes} purchase order(s) to Cin7, but there is no terminal to confirm on: pass --yes (as cron does) or --dry-run to only look"
                    ))
                    .into());
                }
                Confirm::Ask => {
                    let preview: Vec<PoOutcome> = actions.iter().map(|a| self.preview(a)).collect();
                    eprint!(
                        "{}",
                        crate::output::draft::actions_table(
                            &preview,
                            crate::output::safe::terminal_width(
                                crate::output::safe::Stream::Stderr
                            ),
                        )
                    );
                    if !ask(&format!("Write {writes} purchase order(s) to Cin7? [y/N] "))? {
                        return Err(UsageError("nothing written: not confirmed".into()).into());
                    }
                }
            }
        }

        let mut outcomes = Vec::with_capacity(actions.len());
        for action in &actions {
            let blocked = match action {
                Action::Create { po } | Action::Update { po, .. } => self
                    .blocked
                    .get(&(po.supplier_id.clone(), po.location.clone()))
                    .cloned(),
                _ => None,
            };
            let outcome = if let Some(why) = blocked {
                let mut o = self.preview(action);
                o.result = "failed";
                o.detail = Some(format!("not written this run: {why}"));
                self.failed = true;
                o
            } else if self.dry_run {
                self.preview(action)
            } else {
                match action {
                    Action::Create { po } => self.create(store, po).await?,
                    Action::Update { draft, po } => {
                        let entry = by_intent.get(draft.intent_id.as_str()).copied();
                        self.update(store, draft, entry, po).await?
                    }
                    other => self.preview(other),
                }
            };
            outcomes.push(outcome);
        }
        Ok((outcomes, held))
    }

    /// What an action is, without doing it (also the outcome of hold/leave-alone/unchanged).
    fn preview(&self, action: &Action) -> PoOutcome {
        let from_po = |po: &PurchaseOrder, action, result, order_number, detail| PoOutcome {
            supplier: po.supplier.clone(),
            supplier_id: po.supplier_id.clone(),
            location: po.location.clone(),
            action,
            result,
            order_number,
            lines: po.lines.len(),
            total: Some(po.total),
            currency: po.currency.clone(),
            detail,
        };
        match action {
            Action::Create { po } => from_po(po, "create", "would_create", None, None),
            Action::Update { draft, po } => from_po(
                po,
                "update",
                "would_update",
                draft.order_number.clone(),
                None,
            ),
            Action::Unchanged { draft, po } => from_po(
                po,
                "unchanged",
                "unchanged",
                draft.order_number.clone(),
                Some("the tool's draft already has exactly these lines".into()),
            ),
            Action::Hold { po, draft } => from_po(
                po,
                "hold",
                "held",
                draft.as_ref().and_then(|d| d.order_number.clone()),
                Some(match (&po.hold_reason, draft) {
                    (Some(r), Some(_)) => format!("{r}; the tool's open draft is left as it is"),
                    (Some(r), None) => r.clone(),
                    (None, _) => "held".into(),
                }),
            ),
            Action::LeaveAlone { draft } => PoOutcome {
                supplier: draft.supplier.clone(),
                supplier_id: draft.supplier_id.clone(),
                location: draft.location.clone(),
                action: "leave_alone",
                result: "left_alone",
                order_number: draft.order_number.clone(),
                lines: draft.written.len(),
                total: None,
                currency: None,
                detail: Some(
                    "the plan has nothing to order here now; the tool's draft is left as it is"
                        .into(),
                ),
            },
        }
    }

    /// Alerts the plan itself calls for: missing supplier data on lines that need ordering,
    /// unmapped SKUs that sell, held POs and gated lines.
    fn plan_alerts(&mut self, plan: &Plan, gated: &push::Gated) {
        let ordering: std::collections::BTreeSet<(&str, &str)> = plan
            .lines
            .iter()
            .filter(|l| l.order_qty > 0.0)
            .map(|l| (l.sku.as_str(), l.location.as_str()))
            .collect();
        for i in &plan.issues {
            match i.kind.as_str() {
                issues::MISSING_SUPPLIER
                    if ordering.contains(&(
                        i.sku.as_deref().unwrap_or(""),
                        i.location.as_deref().unwrap_or(""),
                    )) =>
                {
                    self.alert(
                        issues::MISSING_SUPPLIER,
                        i.sku.as_deref(),
                        None,
                        i.location.as_deref(),
                        i.detail.clone(),
                    );
                }
                issues::UNMAPPED_SKU => self.alert(
                    issues::UNMAPPED_SKU,
                    i.sku.as_deref(),
                    None,
                    None,
                    format!("unmapped SKU: {}", i.detail),
                ),
                _ => {}
            }
        }
        for po in gated.orders.iter().filter(|p| p.status == "hold") {
            let total = if po.lines.is_empty() {
                String::new()
            } else {
                format!(
                    " (total {} {})",
                    po.total,
                    po.currency.as_deref().unwrap_or("")
                )
            };
            self.alert(
                "po_held",
                None,
                Some(&po.supplier),
                Some(&po.location),
                format!(
                    "PO for {} at {} held{total}: {}",
                    po.supplier,
                    po.location,
                    po.hold_reason.as_deref().unwrap_or("held")
                ),
            );
        }
        let mut stale_alerted = false;
        for h in &gated.held {
            if h.gate == issues::STALE_DATA {
                // One alert for the whole run, not one per line.
                if !stale_alerted {
                    self.alert(
                        "gate_held",
                        None,
                        None,
                        None,
                        format!("every PO held: {}", h.reason),
                    );
                    stale_alerted = true;
                }
                continue;
            }
            self.alert(
                "gate_held",
                Some(&h.sku),
                Some(&h.supplier),
                Some(&h.location),
                h.reason.clone(),
            );
        }
    }

    /// Settles every open ledger entry against Cin7 before planning: adopts purchases an
    /// interrupted run created, finishes or rolls back interrupted line writes, and closes entries
    /// that are no longer the tool's (approved, voided, edited by a person, gone). Returns the
    /// entries still open. An entry that cannot be checked now blocks only its own (supplier,
    /// location) for this run, with an alert; the others go on.
    async fn check_ledger(&mut self, store: &mut Store) -> Result<Vec<LedgerEntry>> {
        let snapshot_at = store.latest_snapshot()?.map(|s| s.taken_at);
        let mut open = Vec::new();
        for e in store.open_drafts()? {
            let key = (e.supplier_id.clone(), e.location.clone());
            let what = format!(
                "the tool's draft {} for {} at {}",
                e.order_number.as_deref().unwrap_or("(not created yet)"),
                e.supplier,
                e.location
            );
            match self.check_entry(store, e, snapshot_at).await {
                Ok(Some(e)) => open.push(e),
                Ok(None) => {}
                Err(err) => {
                    let reason = format!("could not check {what} in Cin7: {err:#}");
                    self.alert(
                        "draft_unchecked",
                        None,
                        Some(&key.0),
                        Some(&key.1),
                        format!("{reason}; nothing is written for it until it can be checked"),
                    );
                    self.blocked.insert(key, reason);
                    self.failed = true;
                }
            }
        }
        Ok(open)
    }

    /// One ledger entry against Cin7: `Some` while it stays the tool's open draft.
    async fn check_entry(
        &mut self,
        store: &mut Store,
        mut e: LedgerEntry,
        snapshot_at: Option<DateTime<Utc>>,
    ) -> Result<Option<LedgerEntry>> {
        let key = (e.supplier_id.clone(), e.location.clone());
        if e.state == LedgerState::Intent {
            let found = self
                .cin7
                .find_tagged_purchase(
                    &e.supplier_id,
                    &e.supplier,
                    self.lookup_since(e.created_at),
                    &e.tag(),
                )
                .await?;
            match found {
                None if self.clock.now() - e.created_at >= self.confirm_after() => {
                    self.close(store, &e, "never_created")?;
                    return Ok(None);
                }
                None => {
                    // Too young to be sure Cin7 is not still working on it: ask again next run.
                    self.blocked.insert(
                        key,
                        "an earlier create is not confirmed yet; the next run looks for it again"
                            .into(),
                    );
                    self.failed = true;
                    return Ok(None);
                }
                Some(p) => {
                    let (id, number) = (p.id().to_string(), p.order_number().to_string());
                    self.record(store, |w| {
                        w.ledger_created(&e.intent_id, &id, &number, self.clock.now())
                    })?;
                    self.recovered.push(Recovery {
                        supplier: e.supplier.clone(),
                        location: e.location.clone(),
                        order_number: Some(number.clone()),
                        what: "adopted".into(),
                    });
                    e.state = LedgerState::Created;
                    e.purchase_id = Some(id);
                    e.order_number = Some(number);
                }
            }
        }
        let Some(purchase_id) = e.purchase_id.clone() else {
            return Ok(Some(e));
        };
        let Some(purchase) = self.cin7.purchase(&purchase_id, &self.hint(&e)).await? else {
            if !self.dry_run {
                store.write(|w| w.delete_purchase(&purchase_id))?;
            }
            self.close(store, &e, "gone")?;
            return Ok(None);
        };
        // The planning store sees Cin7 as it is now.
        if !self.dry_run {
            store.write(|w| w.upsert_purchases(std::slice::from_ref(&purchase)))?;
        }
        match verdict(&e, &purchase) {
            Verdict::Voided => {
                self.close(store, &e, "voided")?;
                Ok(None)
            }
            Verdict::Approved(status) => {
                self.close(store, &e, &format!("approved ({status})"))?;
                // Approved after the stock snapshot, it is in neither on_draft (no longer a
                // draft) nor the snapshot's OnOrder: ordering this key now would order it twice.
                let after_snapshot = match (purchase.last_updated, snapshot_at) {
                    (Some(at), Some(snap)) => at.and_utc() >= snap,
                    _ => true,
                };
                if after_snapshot {
                    self.blocked.insert(
                        key,
                        "its draft was approved after the stock snapshot; the next run plans it with fresh stock"
                            .into(),
                    );
                }
                Ok(None)
            }
            Verdict::Edited(why) => {
                self.close(store, &e, &format!("edited_by_person ({why})"))?;
                Ok(None)
            }
            Verdict::Landed(lines) => {
                // An interrupted write had landed.
                self.record(store, |w| {
                    w.ledger_lines_written(&e.intent_id, &lines, self.clock.now())
                })?;
                self.recovered.push(Recovery {
                    supplier: e.supplier.clone(),
                    location: e.location.clone(),
                    order_number: e.order_number.clone(),
                    what: "finished".into(),
                });
                e.lines = lines;
                e.state = LedgerState::Done;
                e.pending_lines = None;
                Ok(Some(e))
            }
            // Untouched; an unfinished write will simply be redone.
            Verdict::Untouched => Ok(Some(e)),
        }
    }

    /// Where a lookup for a lost purchase starts: well before the intent (or before this run, if
    /// an earlier run was made with a later `--now`); Cin7's clock may differ from ours.
    fn lookup_since(&self, intent_at: DateTime<Utc>) -> DateTime<Utc> {
        intent_at.min(self.now) - ChronoDuration::hours(LOOKUP_MARGIN_HOURS)
    }

    /// What a 404 from `GET purchase` is checked against before the entry's purchase is taken
    /// to be gone: `purchaseList` rows updated since the lookup start of its intent (every
    /// purchase it created was updated after that), looked for by ID.
    fn hint<'e>(&self, e: &'e LedgerEntry) -> PurchaseHint<'e> {
        PurchaseHint {
            order_number: e.order_number.as_deref(),
            updated_since: Some(self.lookup_since(e.created_at)),
        }
    }

    /// How old an unconfirmed intent must be before "Cin7 shows no such purchase" is believed:
    /// twice the request timeout, so that no request of the run that wrote it can still be in
    /// flight.
    fn confirm_after(&self) -> ChronoDuration {
        ChronoDuration::seconds(2 * i64::try_from(self.settings.http.timeout_secs).unwrap_or(30))
    }

    fn close(&mut self, store: &mut Store, e: &LedgerEntry, reason: &str) -> Result<()> {
        self.record(store, |w| {
            w.ledger_close(&e.intent_id, reason, self.clock.now())
        })?;
        self.recovered.push(Recovery {
            supplier: e.supplier.clone(),
            location: e.location.clone(),
            order_number: e.order_number.clone(),
            what: format!("closed: {reason}"),
        });
        Ok(())
    }

    fn outcome(
        &self,
        po: &PurchaseOrder,
        action: &'static str,
        result: &'static str,
        order_number: Option<String>,
        detail: Option<String>,
    ) -> PoOutcome {
        PoOutcome {
            supplier: po.supplier.clone(),
            supplier_id: po.supplier_id.clone(),
            location: po.location.clone(),
            action,
            result,
            order_number,
            lines: po.lines.len(),
            total: Some(po.total),
            currency: po.currency.clone(),
            detail,
        }
    }

    fn rejected(
        &mut self,
        po: &PurchaseOrder,
        action: &'static str,
        order_number: Option<String>,
        e: &ApiError,
    ) -> PoOutcome {
        let message = format!("Cin7 rejected PO: {}", e.message);
        let number = order_number
            .as_deref()
            .map(|n| format!(", {n}"))
            .unwrap_or_default();
        self.alert(
            "po_rejected",
            None,
            Some(&po.supplier),
            Some(&po.location),
            format!(
                "{message} (supplier {}, location {}{number})",
                po.supplier, po.location
            ),
        );
        self.outcome(po, action, "rejected", order_number, Some(message))
    }

    fn failed(
        &mut self,
        po: &PurchaseOrder,
        action: &'static str,
        order_number: Option<String>,
        detail: String,
    ) -> PoOutcome {
        self.failed = true;
        tracing::warn!(supplier = %po.supplier, location = %po.location, "{detail}");
        self.alert(
            "po_failed",
            None,
            Some(&po.supplier),
            Some(&po.location),
            format!(
                "PO for {} at {} not written this run: {detail}",
                po.supplier, po.location
            ),
        );
        self.outcome(po, action, "failed", order_number, Some(detail))
    }

    fn draft_lines(&self, po: &PurchaseOrder) -> Vec<DraftLine> {
        po.lines
            .iter()
            .map(|l| DraftLine {
                product_id: l.product_id.clone(),
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                price: l.price,
                tax_rule: po.tax_rule.clone(),
                supplier_sku: l.supplier_sku.clone(),
            })
            .collect()
    }

    /// Creates one draft: intent, `POST purchase`, purchase recorded, `POST purchase/order`,
    /// lines recorded — each step committed before the next call.
    async fn create(&mut self, store: &mut Store, po: &PurchaseOrder) -> Result<PoOutcome> {
        let lines = written_lines(po);
        for attempt in 1..=CREATE_ATTEMPTS {
            let intent_id = uuid::Uuid::new_v4().to_string();
            let intent = NewIntent {
                intent_id: &intent_id,
                supplier_id: &po.supplier_id,
                supplier: &po.supplier,
                location: &po.location,
                lines: &lines,
            };
            let intent_at = self.clock.now();
            store.write(|w| w.ledger_intent(&intent, intent_at, self.run_id))?;
            crash_point("after_intent");
            let header = NewPurchase {
                supplier_id: po.supplier_id.clone(),
                location: po.location.clone(),
                approach: self.settings.cin7.purchase_approach.as_cin7().to_string(),
                required_by: po.required_by,
                terms: po.payment_term.clone(),
                tax_rule: po.tax_rule.clone(),
                currency_rate: self
                    .settings
                    .suppliers
                    .get(&po.supplier)
                    .and_then(|o| o.currency_rate)
                    .unwrap_or(1.0),
                note: crate::store::tag(&intent_id),
            };
            let created: CreatedPurchase = match self.cin7.create_purchase(&header).await {
                Ok(c) => c,
                Err(e) if create_outcome_unknown(&e) => {
                    tracing::warn!(
                        "creating the PO for {} at {}: outcome unknown ({}); looking for it by its tag",
                        po.supplier,
                        po.location,
                        e.message
                    );
                    match self
                        .cin7
                        .find_tagged_purchase(
                            &po.supplier_id,
                            &po.supplier,
                            self.lookup_since(intent_at),
                            &crate::store::tag(&intent_id),
                        )
                        .await
                    {
                        Ok(Some(p)) => CreatedPurchase {
                            id: p.id().to_string(),
                            order_number: p.order_number().to_string(),
                        },
                        // Not there (yet): Cin7 may still be working on it, whatever it
                        // answered. The intent stays open and nothing more is sent for this PO
                        // now; the next run looks again before creating anything.
                        Ok(None) => {
                            return Ok(self.failed(
                                po,
                                "create",
                                None,
                                format!(
                                    "Cin7 may or may not have created the PO ({}) and does not show it yet; the next run looks for it again before creating anything",
                                    e.message
                                ),
                            ));
                        }
                        Err(lookup) => {
                            return Ok(self.failed(
                                po,
                                "create",
                                None,
                                format!(
                                    "Cin7 may or may not have created the PO ({}), and looking for it failed ({}); the next run looks again before creating anything",
                                    e.message, lookup.message
                                ),
                            ));
                        }
                    }
                }
                Err(e) if e.class == ErrorClass::Throttling => {
                    // Refused, not processed: safe to try again once the pacer allows.
                    store.write(|w| {
                        w.ledger_close(&intent_id, "not_created (throttled)", self.clock.now())
                    })?;
                    if attempt == CREATE_ATTEMPTS {
                        return Ok(self.failed(
                            po,
                            "create",
                            None,
                            format!("Cin7 kept throttling the create: {}", e.message),
                        ));
                    }
                    continue;
                }
                Err(e) => {
                    store.write(|w| {
                        w.ledger_close(
                            &intent_id,
                            &format!("rejected: {}", e.message),
                            self.clock.now(),
                        )
                    })?;
                    return Ok(self.rejected(po, "create", None, &e));
                }
            };
            store.write(|w| {
                w.ledger_created(
                    &intent_id,
                    &created.id,
                    &created.order_number,
                    self.clock.now(),
                )
            })?;
            crash_point("after_header");
            return self
                .write_lines(
                    store,
                    po,
                    "create",
                    &intent_id,
                    &created.id,
                    Some(created.order_number),
                    &lines,
                )
                .await;
        }
        Ok(self.failed(
            po,
            "create",
            None,
            format!("Cin7 did not create the PO in {CREATE_ATTEMPTS} attempts"),
        ))
    }

    /// Rewrites the lines of the tool's own draft — after reading it once more, so that a change
    /// a person made while this run worked (or waited for confirmation) is never overwritten.
    async fn update(
        &mut self,
        store: &mut Store,
        draft: &OpenDraft,
        entry: Option<&LedgerEntry>,
        po: &PurchaseOrder,
    ) -> Result<PoOutcome> {
        let Some(entry) = entry else {
            return Ok(self.failed(
                po,
                "update",
                draft.order_number.clone(),
                "the ledger entry of this draft is missing".into(),
            ));
        };
        let Some(purchase_id) = entry.purchase_id.clone() else {
            return Ok(self.failed(
                po,
                "update",
                draft.order_number.clone(),
                "the ledger entry of this draft has no purchase id".into(),
            ));
        };
        let fresh = match self.cin7.purchase(&purchase_id, &self.hint(entry)).await {
            Ok(p) => p,
            Err(e) => {
                return Ok(self.failed(
                    po,
                    "update",
                    draft.order_number.clone(),
                    format!(
                        "could not read the draft again before updating it: {}",
                        e.message
                    ),
                ));
            }
        };
        let still_ours = match &fresh {
            None => Some("it is gone from Cin7".to_string()),
            Some(p) => match verdict(entry, p) {
                Verdict::Untouched | Verdict::Landed(_) => None,
                Verdict::Voided => Some("it was voided".into()),
                Verdict::Approved(s) => Some(format!("it was approved ({s})")),
                Verdict::Edited(why) => Some(format!("a person edited it ({why})")),
            },
        };
        if let Some(why) = still_ours {
            // Settled by the next run's check; nothing is written now.
            return Ok(self.outcome(
                po,
                "update",
                "left_alone",
                draft.order_number.clone(),
                Some(format!(
                    "changed while this run worked: {why}; left as it is"
                )),
            ));
        }
        let lines = written_lines(po);
        store.write(|w| {
            w.ledger_updating(&draft.intent_id, &lines, self.clock.now(), self.run_id)
        })?;
        self.write_lines(
            store,
            po,
            "update",
            &draft.intent_id,
            &purchase_id,
            draft.order_number.clone(),
            &lines,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_lines(
        &mut self,
        store: &mut Store,
        po: &PurchaseOrder,
        action: &'static str,
        intent_id: &str,
        purchase_id: &str,
        order_number: Option<String>,
        lines: &[WrittenLine],
    ) -> Result<PoOutcome> {
        match self
            .cin7
            .write_purchase_order(purchase_id, &self.draft_lines(po))
            .await
        {
            Ok(()) => {
                // The store's copy of the purchase becomes what Cin7 now holds, so a plan made
                // before the next sync sees the tool's draft as written (and untouched).
                let purchase =
                    written_purchase(po, purchase_id, order_number.as_deref(), intent_id);
                store.write(|w| {
                    w.ledger_lines_written(intent_id, lines, self.clock.now())?;
                    w.upsert_purchases(std::slice::from_ref(&purchase))
                })?;
                crash_point("after_lines");
                let result = if action == "create" {
                    "created"
                } else {
                    "updated"
                };
                Ok(self.outcome(po, action, result, order_number, None))
            }
            Err(e) if e.class == ErrorClass::Client && action == "create" => {
                // Cin7 took the header but refuses these lines: withdraw the empty purchase
                // rather than leave it for a buyer to find, and let go of it.
                let voided = self.cin7.void_purchase(purchase_id).await;
                let reason = match &voided {
                    Ok(()) => format!(
                        "rejected (lines): {}; the empty purchase was voided",
                        e.message
                    ),
                    Err(v) => format!(
                        "rejected (lines): {}; voiding the empty purchase failed too: {}",
                        e.message, v.message
                    ),
                };
                store.write(|w| w.ledger_close(intent_id, &reason, self.clock.now()))?;
                Ok(self.rejected(po, action, order_number, &e))
            }
            // The tool's draft keeps its old lines (the ledger's pending lines are settled by the
            // next run's check).
            Err(e) if e.class == ErrorClass::Client => {
                Ok(self.rejected(po, action, order_number, &e))
            }
            Err(e) => Ok(self.failed(
                po,
                action,
                order_number,
                format!(
                    "the lines were not written ({}); the next run writes them",
                    e.message
                ),
            )),
        }
    }
}

/// An update must not take away lines a data-quality gate held: the tool's draft keeps them at
/// the quantity it last wrote (held means "not changed now", not "cancelled").
fn keep_held_lines(action: Action, plan: &Plan, gated: &push::Gated) -> Action {
    let Action::Update { draft, mut po } = action else {
        return action;
    };
    let mut kept = false;
    for h in gated
        .held
        .iter()
        .filter(|h| h.supplier == po.supplier && h.location == po.location)
    {
        let Some((_, quantity, _)) = draft.written.iter().find(|(sku, _, _)| *sku == h.sku) else {
            continue;
        };
        let original = plan
            .purchase_orders
            .iter()
            .filter(|p| p.supplier_id == po.supplier_id && p.location == po.location)
            .flat_map(|p| p.lines.iter())
            .find(|l| l.sku == h.sku);
        if let Some(line) = original
            && !po.lines.iter().any(|l| l.sku == h.sku)
        {
            let mut line = line.clone();
            line.quantity = *quantity;
            line.total =
                rust_decimal::Decimal::try_from(*quantity).unwrap_or_default() * line.price;
            po.lines.push(line);
            kept = true;
        }
    }
    if kept {
        po.lines.sort_by(|a, b| a.sku.cmp(&b.sku));
        po.total = po.lines.iter().map(|l| l.total).sum();
        if draft.settled
            && same_lines(
                po.lines
                    .iter()
                    .map(|l| (l.sku.as_str(), l.quantity, l.price)),
                draft.written.iter().map(|(s, q, p)| (s.as_str(), *q, *p)),
            )
        {
            return Action::Unchanged { draft, po };
        }
    }
    Action::Update { draft, po }
}

/// The purchase as the tool just wrote it: header, tag and lines, order status DRAFT.
fn written_purchase(
    po: &PurchaseOrder,
    purchase_id: &str,
    order_number: Option<&str>,
    intent_id: &str,
) -> Purchase {
    use crate::core::model::{PurchaseDetail, PurchaseLine};
    Purchase {
        id: purchase_id.to_string(),
        order_number: order_number.unwrap_or_default().to_string(),
        status: "ORDERING".into(),
        order_status: Some("DRAFT".into()),
        supplier_id: Some(po.supplier_id.clone()),
        supplier: Some(po.supplier.clone()),
        required_by: Some(po.required_by),
        // Unknown until the next sync reads it, which then refreshes the detail too.
        last_updated: None,
        detail: Some(PurchaseDetail {
            location: Some(po.location.clone()),
            note: Some(crate::store::tag(intent_id)),
            order_status: Some("DRAFT".into()),
            lines: po
                .lines
                .iter()
                .map(|l| PurchaseLine {
                    product_id: Some(l.product_id.clone()),
                    sku: l.sku.clone(),
                    name: Some(l.name.clone()),
                    quantity: l.quantity,
                    price: l.price,
                    total: l.total,
                    supplier_sku: l.supplier_sku.clone(),
                })
                .collect(),
        }),
    }
}

/// What a tool draft's purchase in Cin7 says about it.
enum Verdict {
    Voided,
    /// Authorised (or further along): the buyer's now.
    Approved(String),
    /// A person changed it: the reason in words.
    Edited(String),
    /// An interrupted write of these lines had landed.
    Landed(Vec<WrittenLine>),
    /// As the tool left it (a header without lines yet counts too).
    Untouched,
}

fn upper(s: Option<&str>) -> String {
    s.unwrap_or_default().trim().to_ascii_uppercase()
}

/// Judges a tool draft by its purchase in Cin7. Not by the purchase `Status` right after the
/// create (cin7-core-api.md: Cin7 may answer `ORDERING` with `Order.Status: NOT AVAILABLE`): a
/// purchase is the buyer's once its order is `AUTHORISED` or its status is past ORDERING; it is
/// a person's edit when its Note no longer starts with the tag, it moved to another location or
/// supplier, a line carries a discount or tax (its Total is not Quantity × Price), or its lines
/// are neither what the tool wrote nor what it was writing.
fn verdict(e: &LedgerEntry, p: &Purchase) -> Verdict {
    let status = upper(Some(&p.status));
    let order_status = upper(
        p.detail
            .as_ref()
            .and_then(|d| d.order_status.as_deref())
            .or(p.order_status.as_deref()),
    );
    if status == "VOIDED" || order_status == "VOIDED" {
        return Verdict::Voided;
    }
    if order_status == "AUTHORISED" || !matches!(status.as_str(), "DRAFT" | "ORDERING" | "") {
        return Verdict::Approved(format!("status {status}, order {order_status}"));
    }
    let detail = p.detail.as_ref();
    let note = detail.and_then(|d| d.note.as_deref()).unwrap_or("");
    if !note.starts_with(&e.tag()) {
        return Verdict::Edited("its Note no longer starts with the tool's tag".into());
    }
    if let Some(location) = detail.and_then(|d| d.location.as_deref())
        && !location.trim().eq_ignore_ascii_case(e.location.trim())
    {
        return Verdict::Edited(format!("moved to location {location}"));
    }
    if let Some(supplier) = p.supplier_id.as_deref()
        && !supplier.trim().eq_ignore_ascii_case(e.supplier_id.trim())
    {
        return Verdict::Edited("moved to another supplier".into());
    }
    let lines = detail.map(|d| d.lines.as_slice()).unwrap_or(&[]);
    let priced_as_written = lines.iter().all(|l| {
        let q = crate::adapters::cin7::dto::decimal_from_f64(l.quantity);
        match q.and_then(|q| crate::adapters::cin7::line_total(q, l.price)) {
            Some(t) => (t - l.total).abs() <= rust_decimal::Decimal::new(1, 2),
            None => false,
        }
    });
    if !priced_as_written {
        return Verdict::Edited("a line carries a discount or tax".into());
    }
    let current = purchase_lines(p);
    if e.state != LedgerState::Done
        && let Some(pending) = e.pending_lines.as_ref().filter(|pl| same(&current, pl))
    {
        return Verdict::Landed(pending.clone());
    }
    let nothing_written_yet = e.state == LedgerState::Created && e.lines.is_empty();
    if (nothing_written_yet && current.is_empty()) || same(&current, &e.lines) {
        return Verdict::Untouched;
    }
    Verdict::Edited("its lines differ from what the tool wrote".into())
}

/// A PO's lines as the ledger keeps them.
fn written_lines(po: &PurchaseOrder) -> Vec<WrittenLine> {
    po.lines
        .iter()
        .map(|l| WrittenLine {
            sku: l.sku.clone(),
            quantity: l.quantity,
            price: l.price,
        })
        .collect()
}

/// Asks a yes/no question on the terminal (stderr, stdin).
fn ask(question: &str) -> Result<bool> {
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}
