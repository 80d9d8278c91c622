//! The alert outbox, run by the app: the store's pending alerts are read, each channel's batch is
//! handed to the adapter (`adapters::alerts::send`, which sends and returns outcomes without
//! touching the store), and each outcome is recorded back on its alert — one transaction per
//! channel, right after its send, so a crash between a send and its record re-sends at most that
//! channel's batch next run. A channel that failed leaves the alert pending there; a failure to
//! deliver never fails a run (the alerts wait for the next one).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::adapters::alerts;
use crate::config::{AlertSettings, Settings};
use crate::store::{Channel, ChannelState, Store, StoreError, StoredAlert};

/// What a delivery did, for the caller to log.
///
/// Counts are per (alert, channel): an alert sent to Slack and by email counts 2 in `sent`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Alert deliveries that succeeded.
    pub sent: usize,
    /// Alert deliveries that failed (those alerts stay pending on that channel).
    pub failed: usize,
    /// Each distinct failure, prefixed by its channel; free of secrets.
    pub errors: Vec<String>,
}

/// Sends every pending alert on its pending channels and records each outcome in `store`.
/// Returns `Err` only when the store fails (sending failures are in the report, and their
/// alerts stay pending).
pub async fn deliver_pending(
    store: &mut Store,
    settings: &AlertSettings,
    now: DateTime<Utc>,
) -> Result<DeliveryReport, StoreError> {
    let pending = store.pending_alerts()?;
    let mut report = DeliveryReport::default();
    for channel in Channel::ALL {
        let batch: Vec<&StoredAlert> = pending
            .iter()
            .filter(|a| a.state(channel) == ChannelState::Pending)
            .collect();
        if batch.is_empty() {
            continue;
        }
        let outcomes = alerts::send(settings, channel, &batch, now).await;
        store.write(|w| {
            for (id, outcome) in &outcomes {
                w.mark_alert_channel(*id, channel, outcome.clone(), now)?;
            }
            Ok(())
        })?;
        let mut errors = BTreeSet::new();
        for (_, outcome) in outcomes {
            match outcome {
                Ok(()) => report.sent += 1,
                Err(e) => {
                    report.failed += 1;
                    errors.insert(format!("{channel}: {e}"));
                }
            }
        }
        report.errors.extend(errors);
    }
    Ok(report)
}

/// Sends what the outbox holds; a failure only logs (the alerts stay for the next run).
pub async fn deliver(store: &mut Store, settings: &Settings, now: DateTime<Utc>) {
    match deliver_pending(store, &settings.alerts, now).await {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_can_run_on_a_spawned_task() {
        fn assert_send<T: Send>(_: &T) {}
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("a.db")).unwrap();
        let settings = AlertSettings::default();
        let fut = deliver_pending(&mut store, &settings, DateTime::UNIX_EPOCH);
        assert_send(&fut);
    }
}
