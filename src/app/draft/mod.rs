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
//!
//! Where things are: this module is the command and the run (sync, settle, plan, gate, decide,
//! confirm, carry out, report, all inside one [`RunScope`]); [`ledger`] settles the tool's open
//! drafts against Cin7 before anything is planned (`reconcile` calls it too, as
//! [`settle_drafts`]); [`write`] creates and updates drafts in Cin7, committing each ledger step.
//! The choices themselves are pure and live in `core`: whether a draft is still the tool's and
//! what happens to its row (`core::settle`), the gates, one action per PO and the held lines an
//! update keeps (`core::push`). The report types are in `report::draft`.

mod ledger;
mod write;

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::adapters::cin7::Cin7Client;
use crate::adapters::http::{Counters, build_client};
use crate::app::plan::{own_drafts, plan_with_drafts, today};
use crate::app::run_scope::{Failure, Finish, RunCommand, RunOutcome, RunScope};
use crate::app::sync::{SyncOptions, SyncSummary, sync};
use crate::app::{EXIT_ATTENTION, UsageError};
use crate::cli::DraftArgs;
use crate::clock::Clock;
use crate::config::Settings;
use crate::core::issues;
use crate::core::plan::{Explain, Plan};
use crate::core::push::{self, Action, HeldLine, OpenDraft};
use crate::core::settle::Blocked;
use crate::output::progress::Progress;
use crate::store::{LedgerEntry, NewAlert, Store};

pub use crate::report::draft::{
    DraftOutcome, DraftReport, PoAction, PoOutcome, PoResult, Recovery,
};
pub use ledger::{Settled, settle_drafts};

/// The test-only environment variable that stops the process (abort, like a kill) right after a
/// named step of the first PO it reaches: `after_intent`, `after_header` or `after_lines`.
pub const CRASH_AT_ENV: &str = "REPLENISH_TEST_CRASH_AT";

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

impl DraftReport {
    /// 1 when some PO could not be written now, 3 when something needs a person, else 0.
    pub fn exit_code(&self) -> ExitCode {
        match self.outcome {
            DraftOutcome::Failed => ExitCode::from(1),
            DraftOutcome::Attention => ExitCode::from(EXIT_ATTENTION),
            DraftOutcome::Done => ExitCode::SUCCESS,
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
    crate::app::print_report(
        &report,
        crate::app::resolve_format(args.format),
        crate::output::draft::table,
    )?;
    Ok(report.exit_code())
}

/// One draft run: sync, check the ledger against Cin7, plan, gate, decide, write, alert. The
/// run plans as of `clock.now()` when it starts; every ledger step is stamped when it happens.
/// A dry run records nothing (the sync it starts records its own run, like any sync).
pub async fn draft(
    settings: &Settings,
    store: &mut Store,
    clock: Clock,
    options: &DraftOptions,
    progress: &Progress,
) -> Result<DraftReport> {
    // Runs a killed process left `running` were marked interrupted when the caller took the
    // writer lock (`app::acquire_lock`).
    let scope = if options.dry_run {
        RunScope::unrecorded(RunCommand::Draft, clock)
    } else {
        RunScope::start(store, RunCommand::Draft, clock)?
    };
    let counters = Counters::default();
    let cin7 = Cin7Client::new(
        settings,
        build_client(&settings.http),
        counters.clone(),
        clock,
    )?;
    let mut run = Run::new(settings, &cin7, clock, scope.started(), options.dry_run);
    run.run_id = scope.id();
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
    match result {
        Ok((synced, orders, held)) => {
            let report = run.into_report(synced, orders, held, requests);
            let summary = serde_json::to_string(&report).ok();
            scope
                .finish(
                    store,
                    settings,
                    Finish {
                        outcome: report.outcome.into(),
                        requests: &report.requests,
                        summary: summary.as_deref(),
                        alerts: report.alerts.clone(),
                    },
                )
                .await?;
            Ok(report)
        }
        Err(err) => {
            // Refusing to write without confirmation is not a failure a person must be told of.
            let refused = err.downcast_ref::<UsageError>().is_some();
            scope
                .fail(
                    store,
                    settings,
                    &err,
                    Failure {
                        outcome: if refused {
                            RunOutcome::Refused
                        } else {
                            RunOutcome::Failed
                        },
                        requests: &requests,
                        alerts: run.alerts.clone(),
                        alert: (!refused).then(|| "replenish draft failed: ".to_string()),
                    },
                )
                .await;
            Err(err)
        }
    }
}

/// The state of one run while it works (shared by [`ledger`] and [`write`]).
struct Run<'a> {
    settings: &'a Settings,
    cin7: &'a Cin7Client,
    /// Stamps each ledger step when it happens.
    clock: Clock,
    /// The run's instant: what it plans as of.
    now: DateTime<Utc>,
    run_id: Option<i64>,
    dry_run: bool,
    alerts: Vec<NewAlert>,
    recovered: Vec<Recovery>,
    /// Some PO could not be written now (the next run finishes it).
    failed: bool,
    /// (supplier ID, location) that must not be written this run, and why.
    blocked: BTreeMap<(String, String), Blocked>,
}

impl<'a> Run<'a> {
    fn new(
        settings: &'a Settings,
        cin7: &'a Cin7Client,
        clock: Clock,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Run<'a> {
        Run {
            settings,
            cin7,
            clock,
            now,
            run_id: None,
            dry_run,
            alerts: Vec::new(),
            recovered: Vec::new(),
            failed: false,
            blocked: BTreeMap::new(),
        }
    }

    /// The report of the run: `failed` when some PO could not be written, else `attention` when
    /// a PO or line was held or an alert raised (not for a dry run), else `done`.
    fn into_report(
        self,
        sync: Option<SyncSummary>,
        purchase_orders: Vec<PoOutcome>,
        held_lines: Vec<HeldLine>,
        requests: Vec<crate::store::EndpointCount>,
    ) -> DraftReport {
        let held =
            purchase_orders.iter().any(|p| p.result == PoResult::Held) || !held_lines.is_empty();
        let outcome = DraftOutcome::of(self.failed, self.dry_run, held || !self.alerts.is_empty());
        DraftReport {
            run_id: self.run_id,
            dry_run: self.dry_run,
            outcome,
            sync,
            recovered: self.recovered,
            purchase_orders,
            held_lines,
            alerts: self.alerts,
            requests,
        }
    }

    fn alert(
        &mut self,
        kind: &str,
        sku: Option<&str>,
        supplier: Option<&str>,
        location: Option<&str>,
        message: String,
    ) {
        self.alerts.push(NewAlert {
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
    ) -> Result<(Vec<PoOutcome>, Vec<HeldLine>)> {
        let open = self.check_ledger(store).await?;
        let settings = self.settings;
        let open_drafts: Vec<OpenDraft> = open.iter().filter_map(OpenDraft::from_entry).collect();
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
            .map(|a| push::keep_held_lines(a, &plan, &gated))
            .collect();
        let held = gated.held.clone();

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
                    let preview: Vec<PoOutcome> = actions.iter().map(PoOutcome::preview).collect();
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
                let mut o = PoOutcome::preview(action);
                o.result = PoResult::Failed;
                o.detail = Some(format!("not written this run: {why}"));
                self.failed = true;
                o
            } else if self.dry_run {
                PoOutcome::preview(action)
            } else {
                match action {
                    Action::Create { po } => self.create(store, po).await?,
                    Action::Update { draft, po } => {
                        let entry = by_intent.get(draft.intent_id.as_str()).copied();
                        self.update(store, draft, entry, po).await?
                    }
                    other => PoOutcome::preview(other),
                }
            };
            outcomes.push(outcome);
        }
        Ok((outcomes, held))
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
}

/// Asks a yes/no question on the terminal (stderr, stdin).
fn ask(question: &str) -> Result<bool> {
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}
