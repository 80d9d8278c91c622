//! One clock: no code in `src/` (nor in the sandbox crate, `crates/sandbox/src`, which has its own
//! discrete clock) reads the wall clock except `src/clock.rs`, and a whole
//! reproduction pinned with `--now` (sandbox, draft, reconcile, each its own process) runs in one
//! timeline whatever today's date is.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::common::scan;

/// Ways Rust code (or SQL inside it) reads the wall clock. Matched with all whitespace removed.
const WALL_CLOCK_READS: [&str; 12] = [
    "Utc::now(",
    "Local::now(",
    "SystemTime::now(",
    "Utc::today(",
    "Local::today(",
    "OffsetDateTime::now_utc(",
    "OffsetDateTime::now_local(",
    "UNIX_EPOCH.elapsed(",
    "'now'",
    "CURRENT_TIMESTAMP",
    "CURRENT_DATE",
    "CURRENT_TIME",
];

/// The one module allowed to read the wall clock.
const CLOCK_MODULE: &str = "src/clock.rs";

/// `(line number, line)` of each wall-clock read in `text` (comment lines are skipped).
fn wall_clock_reads(text: &str) -> Vec<(usize, String)> {
    scan::lines_with(text, &WALL_CLOCK_READS)
}

#[test]
fn the_scan_recognises_every_way_of_reading_the_wall_clock() {
    let code = "let a = chrono::Utc::now();\n\
                // Utc::now() in a comment is not a read\n\
                let b = Utc :: now ();\n\
                let c = std::time::SystemTime::now();\n\
                let d = Local::now().date_naive();\n\
                conn.execute(\"UPDATE t SET at = datetime('now')\", [])?;\n\
                conn.execute(\"INSERT INTO t VALUES (CURRENT_TIMESTAMP)\", [])?;\n\
                let e = clock.now();\n\
                let f = Instant::now();\n";
    let found: Vec<usize> = wall_clock_reads(code).into_iter().map(|(n, _)| n).collect();
    assert_eq!(found, vec![1, 3, 4, 5, 6, 7]);
}

#[test]
fn nothing_outside_the_clock_module_reads_the_wall_clock() {
    let mut files = scan::rust_files("src");
    let product = files.len();
    // The sandbox crate: its clock moves only on `POST /sandbox/tick`.
    files.extend(scan::rust_files("crates/sandbox/src"));
    assert!(
        product > 50 && files.len() - product > 10,
        "the scan found the sources: {product} in src/, {} in crates/sandbox/src",
        files.len() - product
    );
    let mut offenders = Vec::new();
    let mut allowed_reads = 0;
    for path in &files {
        let relative = scan::relative(path);
        let reads = wall_clock_reads(&std::fs::read_to_string(path).unwrap());
        if relative == CLOCK_MODULE {
            allowed_reads = reads.len();
            continue;
        }
        for (line, text) in reads {
            offenders.push(format!("{relative}:{line}: {text}"));
        }
    }
    assert!(
        offenders.is_empty(),
        "the wall clock is read outside {CLOCK_MODULE}; take the time from the process's \
         `Clock` instead (passed down from app::run):\n{}",
        offenders.join("\n")
    );
    assert_eq!(
        allowed_reads, 1,
        "{CLOCK_MODULE} reads the wall clock in one place"
    );
}

/// A `replenish` child process, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn replenish() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("replenish"));
    cmd.env_remove("REPLENISH_NOW")
        .env_remove("RUST_LOG")
        .env("SHOPIFY_ACCESS_TOKEN", "sandbox")
        .env("CIN7_ACCOUNT_ID", "sandbox")
        .env("CIN7_APPLICATION_KEY", "sandbox");
    cmd
}

/// Starts `replenish --now <now> sandbox` on a free port and returns it with the replenish.toml
/// part of its banner.
fn sandbox_binary(now: &str) -> (Running, String) {
    let mut child = replenish()
        .args(["sandbox", "--now", now, "--bind", "127.0.0.1:0"])
        .args(["--skus", "60", "--days", "40", "--orders-per-day", "60"])
        .args(["--cin7-rpm", "100000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut toml = String::new();
    let mut in_toml = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.starts_with("# replenish.toml") {
            in_toml = true;
        } else if line.starts_with("# environment") {
            break;
        } else if in_toml {
            toml.push_str(&line);
            toml.push('\n');
        }
    }
    assert!(
        toml.contains("[cin7]"),
        "the sandbox printed its config: {toml}"
    );
    (running, toml)
}

#[test]
fn drafts_made_on_one_pinned_day_are_stale_to_a_reconcile_pinned_four_days_later() {
    let drafted_at = "2026-01-10T09:00:00Z";
    let audited_at = "2026-01-14T09:00:00Z";
    let (_sandbox, toml) = sandbox_binary(drafted_at);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("replenish.toml");
    std::fs::write(&config, format!("{toml}\n[store]\npath = \"s.db\"\n")).unwrap();

    let draft = replenish()
        .arg("--config")
        .arg(&config)
        .args(["--now", drafted_at, "draft", "--yes", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        matches!(draft.status.code(), Some(0) | Some(3)),
        "{}",
        String::from_utf8_lossy(&draft.stderr)
    );
    let drafted: Value = serde_json::from_slice(&draft.stdout).unwrap();
    let mut created: Vec<String> = drafted["purchase_orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["result"] == "created")
        .map(|p| p["order_number"].as_str().unwrap().to_string())
        .collect();
    created.sort();
    assert!(created.len() >= 2, "{drafted:#}");

    let audit = replenish()
        .arg("--config")
        .arg(&config)
        .args(["--now", audited_at, "reconcile", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        audit.status.code(),
        Some(3),
        "findings: {}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let report: Value = serde_json::from_slice(&audit.stdout).unwrap();
    let stale: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "draft_stale")
        .collect();
    // Every draft the first run created, each by its number, is four days old.
    let mut named: Vec<String> = stale
        .iter()
        .map(|f| {
            let detail = f["detail"].as_str().unwrap();
            // Made a few seconds after 09:00 on the 10th, audited just after 09:00 on the 14th.
            assert!(
                detail.contains("still a draft after 3 days")
                    || detail.contains("still a draft after 4 days"),
                "{detail}"
            );
            detail.split_whitespace().next().unwrap().to_string()
        })
        .collect();
    named.sort();
    assert_eq!(named, created, "{report:#}");
}
