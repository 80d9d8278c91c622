//! `replenish status`: what the operations engineer checks first — the last runs and how they
//! ended, the tool's open drafts in Cin7, alerts waiting to be delivered, and how old the data is.
//! Reads the store only (no network); a report, so it exits 0. The table is rendered by
//! [`crate::output::status`].

use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::app::run_scope::RunOutcome;
use crate::app::sync::ORDERS_WATERMARK;
use crate::cli::StatusArgs;
use crate::clock::Clock;
use crate::config::Settings;
use crate::store::{Store, WriterLock};

pub use crate::report::status::{AlertOut, DataAge, DraftOut, RunOut, StatusReport};

/// How many runs the report lists.
const RUNS_SHOWN: usize = 10;

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Gathers the report from the store. A run still marked `running` while no process holds the
/// writer lock was killed: it is shown as `interrupted` (the next writing command marks it so).
pub fn status(settings: &Settings, store: &Store, now: DateTime<Utc>) -> Result<StatusReport> {
    let writer_alive = WriterLock::is_held(&settings.store.path)?;
    let snapshot = store.latest_snapshot()?;
    let age = snapshot.as_ref().map(|s| (now - s.taken_at).num_minutes());
    let max = settings.policy.max_data_age_minutes;
    let stale = age.is_none_or(|a| a > i64::try_from(max).unwrap_or(i64::MAX));
    Ok(StatusReport {
        store: settings.store.path.display().to_string(),
        now: ts(&now),
        data: DataAge {
            snapshot_taken_at: snapshot.as_ref().map(|s| ts(&s.taken_at)),
            snapshot_age_minutes: age,
            max_data_age_minutes: max,
            stale,
            orders_watermark: store.state(ORDERS_WATERMARK)?,
        },
        runs: store
            .runs(RUNS_SHOWN)?
            .into_iter()
            .map(|r| RunOut {
                id: r.id,
                command: r.command,
                started_at: ts(&r.started_at),
                ended_at: r.ended_at.as_ref().map(ts),
                outcome: if r.outcome == RunOutcome::Running.as_str() && !writer_alive {
                    RunOutcome::Interrupted.as_str().to_string()
                } else {
                    r.outcome
                },
                error: r.error,
            })
            .collect(),
        open_drafts: store
            .open_drafts()?
            .into_iter()
            .map(|e| DraftOut {
                supplier: e.supplier,
                location: e.location,
                order_number: e.order_number,
                state: e.state.as_str(),
                lines: e.lines.len(),
                updated_at: ts(&e.updated_at),
            })
            .collect(),
        pending_alerts: store
            .pending_alerts()?
            .into_iter()
            .map(|a| AlertOut {
                kind: a.kind,
                sku: a.sku,
                supplier: a.supplier,
                location: a.location,
                message: a.message,
                occurrences: a.occurrences,
                last_raised_at: ts(&a.last_raised_at),
                attempts: a.attempts,
                last_error: a.last_error,
            })
            .collect(),
    })
}

pub fn exec(settings: &Settings, args: &StatusArgs, clock: Clock) -> Result<ExitCode> {
    let store = Store::open_read_only(&settings.store.path)?;
    let report = status(settings, &store, clock.now())?;
    crate::app::print_report(
        &report,
        crate::app::resolve_format(args.format),
        crate::output::status::table,
    )?;
    Ok(ExitCode::SUCCESS)
}
