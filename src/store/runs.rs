//! Run history (`runs`, with per-endpoint request counts in `run_requests`) and the `state`
//! key/value table that holds sync watermarks.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::codec::{self, Context, Rec};
use super::{EndpointCount, RunRecord, StoreError};

pub(crate) fn state(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    conn.prepare_cached("SELECT value FROM state WHERE key = ?1")
        .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
        .with_ctx(|| format!("reading state {key:?}"))
}

pub(crate) fn set_state(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO state (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .and_then(|mut s| s.execute([key, value]))
    .with_ctx(|| format!("writing state {key:?}"))?;
    Ok(())
}

pub(crate) fn start_run(
    conn: &Connection,
    command: &str,
    started_at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO runs (command, started_at, outcome) VALUES (?1, ?2, 'running')",
    )
    .and_then(|mut s| s.insert([command, &codec::ts(&started_at)]))
    .with_ctx(|| format!("starting a {command} run"))
}

/// Marks `command` runs still `running` as `interrupted` (the caller holds the writer lock, so
/// none of them can still be alive); returns how many.
pub(crate) fn mark_interrupted(conn: &Connection) -> Result<usize, StoreError> {
    conn.prepare_cached("UPDATE runs SET outcome = 'interrupted' WHERE outcome = 'running'")
        .and_then(|mut s| s.execute([]))
        .ctx("marking interrupted runs")
}

pub(crate) fn finish_run(
    conn: &Connection,
    run_id: i64,
    ended_at: DateTime<Utc>,
    outcome: &str,
    error: Option<&str>,
    requests: &[EndpointCount],
    summary_json: Option<&str>,
) -> Result<(), StoreError> {
    let context = || format!("finishing run {run_id}");
    let changed = conn
        .prepare_cached(
            "UPDATE runs SET ended_at = ?2, outcome = ?3, error = ?4, summary_json = ?5
             WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                run_id,
                codec::ts(&ended_at),
                outcome,
                error,
                summary_json
            ])
        })
        .with_ctx(context)?;
    if changed == 0 {
        return Err(StoreError::Sqlite {
            context: format!("finishing run {run_id}: no such run"),
            source: rusqlite::Error::QueryReturnedNoRows,
        });
    }
    conn.prepare_cached("DELETE FROM run_requests WHERE run_id = ?1")
        .and_then(|mut s| s.execute([run_id]))
        .with_ctx(context)?;
    // An endpoint named twice is summed.
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO run_requests (run_id, endpoint, requests, throttled, retries)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (run_id, endpoint) DO UPDATE SET
                requests = requests + excluded.requests,
                throttled = throttled + excluded.throttled,
                retries = retries + excluded.retries",
        )
        .with_ctx(context)?;
    for c in requests {
        let what = format!("request counts of {} in run {run_id}", c.endpoint);
        insert
            .execute(params![
                run_id,
                c.endpoint,
                codec::count_to_sql(c.requests, &what)?,
                codec::count_to_sql(c.throttled, &what)?,
                codec::count_to_sql(c.retries, &what)?,
            ])
            .with_ctx(|| format!("storing {what}"))?;
    }
    Ok(())
}

/// The newest `limit` runs (by start time, then id), newest first, each with its request counts
/// sorted by endpoint.
pub(crate) fn runs(conn: &Connection, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
    let context = "reading runs";
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let tx = conn.unchecked_transaction().ctx(context)?;
    let mut out: Vec<RunRecord> = Vec::new();
    {
        let mut stmt = tx
            .prepare_cached(
                "SELECT id, command, started_at, ended_at, outcome, error, summary_json FROM runs
                 ORDER BY started_at DESC, id DESC LIMIT ?1",
            )
            .ctx(context)?;
        let mut rows = stmt.query([limit]).ctx(context)?;
        while let Some(row) = rows.next().ctx(context)? {
            let r = Rec::new(row, "runs", &[0]);
            out.push(RunRecord {
                id: r.int(0, "id")?,
                command: r.text(1, "command")?,
                started_at: r.ts(2, "started_at")?,
                ended_at: r.opt_ts(3, "ended_at")?,
                outcome: r.text(4, "outcome")?,
                error: r.opt_text(5, "error")?,
                summary_json: r.opt_text(6, "summary_json")?,
                requests: Vec::new(),
            });
        }
    }
    {
        let mut stmt = tx
            .prepare_cached(
                "SELECT endpoint, requests, throttled, retries FROM run_requests
                 WHERE run_id = ?1 ORDER BY endpoint",
            )
            .ctx(context)?;
        for run in &mut out {
            let mut rows = stmt.query([run.id]).ctx(context)?;
            while let Some(row) = rows.next().ctx(context)? {
                let r = Rec::new(row, "run_requests", &[0]);
                run.requests.push(EndpointCount {
                    endpoint: r.text(0, "endpoint")?,
                    requests: r.count(1, "requests")?,
                    throttled: r.count(2, "throttled")?,
                    retries: r.count(3, "retries")?,
                });
            }
        }
    }
    tx.finish().ctx(context)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{open_temp, utc};
    use super::*;

    fn count(endpoint: &str, requests: u64, throttled: u64, retries: u64) -> EndpointCount {
        EndpointCount {
            endpoint: endpoint.to_owned(),
            requests,
            throttled,
            retries,
        }
    }

    #[test]
    fn runs_round_trip_newest_first_with_request_counts() {
        let (_dir, mut store) = open_temp();
        let first = store
            .write(|w| w.start_run("sync", utc("2024-05-01T10:00:00Z")))
            .unwrap();
        let second = store
            .write(|w| w.start_run("plan", utc("2024-05-01T12:00:00Z")))
            .unwrap();
        store
            .write(|w| {
                w.finish_run(
                    first,
                    utc("2024-05-01T10:05:00Z"),
                    "ok",
                    None,
                    &[
                        count("shopify/graphql", 3, 1, 1),
                        count("cin7/productavailability", 300, 2, 4),
                        count("shopify/graphql", 2, 0, 0),
                    ],
                    Some(r#"{"orders":12}"#),
                )
            })
            .unwrap();

        let runs = store.runs(10).unwrap();
        assert_eq!(runs.len(), 2);
        // The second run started later and is still running.
        assert_eq!(runs[0].id, second);
        assert_eq!(runs[0].outcome, "running");
        assert_eq!(runs[0].ended_at, None);
        assert!(runs[0].requests.is_empty());
        assert_eq!(
            runs[1],
            RunRecord {
                id: first,
                command: "sync".to_owned(),
                started_at: utc("2024-05-01T10:00:00Z"),
                ended_at: Some(utc("2024-05-01T10:05:00Z")),
                outcome: "ok".to_owned(),
                error: None,
                summary_json: Some(r#"{"orders":12}"#.to_owned()),
                // Sorted by endpoint; the two shopify entries summed: 3+2, 1+0, 1+0.
                requests: vec![
                    count("cin7/productavailability", 300, 2, 4),
                    count("shopify/graphql", 5, 1, 1),
                ],
            }
        );
        assert_eq!(store.runs(1).unwrap().len(), 1);

        let missing =
            store.write(|w| w.finish_run(999, utc("2024-05-01T10:05:00Z"), "ok", None, &[], None));
        assert!(missing.unwrap_err().to_string().contains("run 999"));
    }

    #[test]
    fn state_is_a_key_value_table() {
        let (_dir, mut store) = open_temp();
        assert_eq!(store.state("orders.watermark").unwrap(), None);
        store
            .write(|w| w.set_state("orders.watermark", "a"))
            .unwrap();
        store
            .write(|w| w.set_state("orders.watermark", "b"))
            .unwrap();
        assert_eq!(
            store.state("orders.watermark").unwrap().as_deref(),
            Some("b")
        );
    }
}
