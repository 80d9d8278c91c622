//! One run's lifecycle, for every command that records runs (`sync`, `draft`, `reconcile`, and
//! `listen` through `draft`): [`RunScope::start`] records the run as `running` at the clock's
//! instant; the run ends exactly once, with [`RunScope::finish`] (its alerts and outcome in one
//! store transaction, then the outbox delivered), [`RunScope::finish_in`] (a sync: its outcome
//! inside the sync's own transaction, so data and outcome commit together) or
//! [`RunScope::fail`] (the error scrubbed of every known secret, a `run_failed` alert when the
//! command calls for one, a failure to record only logged, then the outbox delivered).
//!
//! Runs a killed process left `running` are marked `interrupted` in one place, when the caller
//! takes the writer lock (`app::acquire_lock`). A run that records nothing (`draft --dry-run`)
//! has a scope too ([`RunScope::unrecorded`]), whose ends do nothing.

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::config::Settings;
use crate::report::draft::DraftOutcome;
use crate::report::reconcile::ReconcileOutcome;
use crate::store::{EndpointCount, NewAlert, Store, StoreError, Writer};

/// The commands that record runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunCommand {
    Sync,
    Draft,
    Reconcile,
}

impl RunCommand {
    /// The command as the run history records it.
    pub fn as_str(self) -> &'static str {
        match self {
            RunCommand::Sync => "sync",
            RunCommand::Draft => "draft",
            RunCommand::Reconcile => "reconcile",
        }
    }

    /// Whether the run raises and delivers alerts. A sync does not: the command it runs in
    /// (`draft`, `reconcile`) alerts its failure, and a plain `replenish sync` reports it on
    /// stderr, in its exit code and in `status`.
    fn alerts(self) -> bool {
        !matches!(self, RunCommand::Sync)
    }
}

/// How a run ended, as the run history records it. `running` and `interrupted` are the store's
/// own (a run not ended yet, one a kill left).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// A sync that stored everything.
    Ok,
    /// A draft run's own outcome.
    Draft(DraftOutcome),
    /// An audit's own outcome.
    Reconcile(ReconcileOutcome),
    /// Ended by an error.
    Failed,
    /// `draft` was refused (no confirmation): a usage problem, not a failure to alert.
    Refused,
    /// Started and not ended: alive, or killed when no process holds the writer lock.
    Running,
    /// Killed while running (marked by the next writer).
    Interrupted,
}

impl RunOutcome {
    /// The word the run history holds.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Ok => "ok",
            RunOutcome::Draft(o) => o.as_str(),
            RunOutcome::Reconcile(o) => o.as_str(),
            RunOutcome::Failed => "failed",
            RunOutcome::Refused => "refused",
            RunOutcome::Running => "running",
            RunOutcome::Interrupted => "interrupted",
        }
    }
}

impl From<DraftOutcome> for RunOutcome {
    fn from(o: DraftOutcome) -> RunOutcome {
        match o {
            DraftOutcome::Failed => RunOutcome::Failed,
            other => RunOutcome::Draft(other),
        }
    }
}

impl From<ReconcileOutcome> for RunOutcome {
    fn from(o: ReconcileOutcome) -> RunOutcome {
        RunOutcome::Reconcile(o)
    }
}

/// How a run that succeeded ends.
pub struct Finish<'a> {
    pub outcome: RunOutcome,
    pub requests: &'a [EndpointCount],
    /// The report as JSON, kept with the run.
    pub summary: Option<&'a str>,
    /// What the run raised (grouped with earlier ones, on the configured channels).
    pub alerts: Vec<NewAlert>,
}

/// How a run that failed ends.
pub struct Failure<'a> {
    /// `failed`, or `refused` for a refusal.
    pub outcome: RunOutcome,
    pub requests: &'a [EndpointCount],
    /// What the run raised before it failed.
    pub alerts: Vec<NewAlert>,
    /// The text of the `run_failed` alert up to the error message, which follows it (`None`: no
    /// such alert, as for a refusal).
    pub alert: Option<String>,
}

/// A run in progress (see the module docs). Ending it consumes it, so a run ends once.
#[derive(Debug)]
pub struct RunScope {
    id: Option<i64>,
    command: RunCommand,
    clock: Clock,
    started: DateTime<Utc>,
}

impl RunScope {
    /// Records the run as `running` at `clock`'s instant, which is the run's instant.
    pub fn start(store: &mut Store, command: RunCommand, clock: Clock) -> Result<RunScope> {
        let started = clock.now();
        let id = store.write(|w| w.start_run(command.as_str(), started))?;
        Ok(RunScope {
            id: Some(id),
            command,
            clock,
            started,
        })
    }

    /// A run that records nothing (a dry run): its instant only; its ends do nothing.
    pub fn unrecorded(command: RunCommand, clock: Clock) -> RunScope {
        RunScope {
            id: None,
            command,
            clock,
            started: clock.now(),
        }
    }

    /// The run's id in the history (`None` when it records nothing).
    pub fn id(&self) -> Option<i64> {
        self.id
    }

    /// The run's instant: what it plans as of, its snapshot's time.
    pub fn started(&self) -> DateTime<Utc> {
        self.started
    }

    /// When a step happens: the clock's instant now, never before the run's start.
    fn now(&self) -> DateTime<Utc> {
        self.clock.now().max(self.started)
    }

    /// Ends the run inside the caller's transaction `w` (a sync: its outcome commits with its
    /// data, or not at all). Raises no alerts and delivers nothing.
    pub fn finish_in(
        &self,
        w: &Writer<'_>,
        outcome: RunOutcome,
        requests: &[EndpointCount],
        summary: Option<&str>,
    ) -> Result<(), StoreError> {
        match self.id {
            Some(id) => w.finish_run(id, self.now(), outcome.as_str(), None, requests, summary),
            None => Ok(()),
        }
    }

    /// Ends a run that succeeded: its alerts and its outcome in one transaction (an alert is
    /// never recorded without the run that raised it), then the outbox is delivered. A failure
    /// to record is the caller's error.
    pub async fn finish(
        self,
        store: &mut Store,
        settings: &Settings,
        end: Finish<'_>,
    ) -> Result<()> {
        let Some(id) = self.id else {
            return Ok(());
        };
        record(
            store,
            settings,
            self.command,
            &Ended {
                id,
                at: self.now(),
                outcome: end.outcome,
                error: None,
                requests: end.requests,
                summary: end.summary,
                alerts: &end.alerts,
            },
        )?;
        self.deliver(store, settings).await;
        Ok(())
    }

    /// Ends a run that failed with `err` (which the caller then returns): the message scrubbed
    /// of every known secret is recorded with the failure's outcome, together with the alerts
    /// raised before the failure and the `run_failed` alert when the failure calls for one. A
    /// failure to record is logged, not returned. Then the outbox is delivered.
    pub async fn fail(
        self,
        store: &mut Store,
        settings: &Settings,
        err: &anyhow::Error,
        failure: Failure<'_>,
    ) {
        let Some(id) = self.id else {
            return;
        };
        let message = crate::secrets::redact(&format!("{err:#}")).into_owned();
        let mut alerts = failure.alerts;
        if let Some(text) = failure.alert {
            alerts.push(run_failed_alert(format!("{text}{message}")));
        }
        let recorded = record(
            store,
            settings,
            self.command,
            &Ended {
                id,
                at: self.now(),
                outcome: failure.outcome,
                error: Some(&message),
                requests: failure.requests,
                summary: None,
                alerts: &alerts,
            },
        );
        if let Err(e) = recorded {
            tracing::error!("could not record the failed run: {e}");
        }
        self.deliver(store, settings).await;
    }

    async fn deliver(&self, store: &mut Store, settings: &Settings) {
        if self.command.alerts() {
            crate::app::alerts::deliver(store, settings, self.clock.now()).await;
        }
    }
}

/// A run's end as recorded.
struct Ended<'a> {
    id: i64,
    at: DateTime<Utc>,
    outcome: RunOutcome,
    error: Option<&'a str>,
    requests: &'a [EndpointCount],
    summary: Option<&'a str>,
    alerts: &'a [NewAlert],
}

/// Records a run's end: its alerts (when the command raises any) and its outcome, in one store
/// transaction.
fn record(
    store: &mut Store,
    settings: &Settings,
    command: RunCommand,
    end: &Ended<'_>,
) -> Result<(), StoreError> {
    store.write(|w| {
        if command.alerts() {
            w.raise_alerts(
                end.alerts,
                end.at,
                Some(end.id),
                crate::adapters::alerts::configured_channels(&settings.alerts),
                chrono::Duration::hours(i64::from(settings.alerts.repeat_after_hours)),
            )?;
        }
        w.finish_run(
            end.id,
            end.at,
            end.outcome.as_str(),
            end.error,
            end.requests,
            end.summary,
        )
    })
}

/// The alert of a run that failed.
fn run_failed_alert(message: String) -> NewAlert {
    NewAlert {
        kind: "run_failed".into(),
        sku: None,
        supplier: None,
        location: None,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_recorded_as_the_history_has_always_said() {
        let cases = [
            (RunOutcome::Ok, "ok"),
            (RunOutcome::from(DraftOutcome::Done), "done"),
            (RunOutcome::from(DraftOutcome::Attention), "attention"),
            (RunOutcome::from(DraftOutcome::Failed), "failed"),
            (RunOutcome::from(ReconcileOutcome::Clean), "clean"),
            (RunOutcome::from(ReconcileOutcome::Findings), "findings"),
            (RunOutcome::Failed, "failed"),
            (RunOutcome::Refused, "refused"),
            (RunOutcome::Running, "running"),
            (RunOutcome::Interrupted, "interrupted"),
        ];
        for (outcome, word) in cases {
            assert_eq!(outcome.as_str(), word, "{outcome:?}");
        }
        assert_eq!(RunCommand::Sync.as_str(), "sync");
        assert_eq!(RunCommand::Draft.as_str(), "draft");
        assert_eq!(RunCommand::Reconcile.as_str(), "reconcile");
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// A new store in a temporary folder (kept while the `TempDir` lives), sandbox settings
    /// pointing at it, and a clock starting at 2026-05-04 08:00 UTC.
    fn temp_store() -> (tempfile::TempDir, Store, Settings, Clock) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replenish.db");
        let store = Store::open(&path).unwrap();
        let settings = Settings::for_sandbox("http://127.0.0.1:9", &path);
        let clock = Clock::starting_at(at("2026-05-04T08:00:00Z"));
        (dir, store, settings, clock)
    }

    #[tokio::test]
    async fn a_failed_run_is_recorded_scrubbed_with_its_alerts() {
        let (_dir, mut store, settings, clock) = temp_store();
        let scope = RunScope::start(&mut store, RunCommand::Draft, clock).unwrap();
        let t0 = at("2026-05-04T08:00:00Z");
        assert!(scope.started() >= t0 && scope.started() - t0 < chrono::Duration::minutes(1));
        crate::secrets::register_values(["s3cr3t-token-for-runscope".to_string()]);
        let err =
            anyhow::anyhow!("Cin7 said no to s3cr3t-token-for-runscope").context("creating a PO");
        let gathered = NewAlert {
            kind: "po_held".into(),
            sku: None,
            supplier: Some("Acme".into()),
            location: Some("Main".into()),
            message: "held".into(),
        };
        scope
            .fail(
                &mut store,
                &settings,
                &err,
                Failure {
                    outcome: RunOutcome::Failed,
                    requests: &[],
                    alerts: vec![gathered],
                    alert: Some("replenish draft failed: ".into()),
                },
            )
            .await;
        let run = &store.runs(1).unwrap()[0];
        assert_eq!(
            (run.command.as_str(), run.outcome.as_str()),
            ("draft", "failed")
        );
        assert_eq!(
            run.error.as_deref(),
            Some("creating a PO: Cin7 said no to [redacted]")
        );
        assert!(run.ended_at.is_some_and(|t| t >= run.started_at));
        let mut kinds: Vec<(String, String)> = store
            .recent_alerts(10)
            .unwrap()
            .into_iter()
            .map(|a| (a.kind, a.message))
            .collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                ("po_held".to_string(), "held".to_string()),
                (
                    "run_failed".to_string(),
                    "replenish draft failed: creating a PO: Cin7 said no to [redacted]".to_string()
                ),
            ]
        );
    }

    #[tokio::test]
    async fn a_sync_alerts_nothing_and_a_dry_run_records_nothing() {
        let (_dir, mut store, settings, clock) = temp_store();
        let sync = RunScope::start(&mut store, RunCommand::Sync, clock).unwrap();
        sync.fail(
            &mut store,
            &settings,
            &anyhow::anyhow!("Shopify sync failed"),
            Failure {
                outcome: RunOutcome::Failed,
                requests: &[],
                alerts: vec![],
                alert: Some("ignored for a sync: ".into()),
            },
        )
        .await;
        assert_eq!(store.runs(5).unwrap().len(), 1);
        assert!(
            store.recent_alerts(10).unwrap().is_empty(),
            "a sync alerts nothing"
        );

        let dry = RunScope::unrecorded(RunCommand::Draft, clock);
        assert_eq!(dry.id(), None);
        dry.finish(
            &mut store,
            &settings,
            Finish {
                outcome: RunOutcome::from(DraftOutcome::Done),
                requests: &[],
                summary: None,
                alerts: vec![],
            },
        )
        .await
        .unwrap();
        assert_eq!(store.runs(5).unwrap().len(), 1, "a dry run records nothing");
    }
}
