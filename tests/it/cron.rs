//! The scheduling files in `cron/`: every crontab line is a valid five-field schedule running
//! `replenish` without overlap (`flock -n`) into a log file; the systemd units pass
//! `systemd-analyze verify` where it exists.

use std::path::{Path, PathBuf};

fn cron_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cron")
}

/// Whether one crontab time field is valid for values in `lo..=hi`: `*`, numbers, ranges `a-b`,
/// steps `/n`, and comma lists of those.
fn field_ok(field: &str, lo: u32, hi: u32) -> bool {
    let num = |s: &str| s.parse::<u32>().ok().filter(|n| (lo..=hi).contains(n));
    field.split(',').all(|part| {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        let step_ok = step.is_none_or(|s| s.parse::<u32>().is_ok_and(|n| n >= 1 && n <= hi.max(1)));
        let range_ok = match range {
            "*" => true,
            r => match r.split_once('-') {
                Some((a, b)) => matches!((num(a), num(b)), (Some(a), Some(b)) if a <= b),
                None => num(r).is_some(),
            },
        };
        step_ok && range_ok && !part.is_empty()
    })
}

#[test]
fn the_field_checker_itself_rejects_bad_fields() {
    assert!(field_ok("*/2", 0, 23) && field_ok("5", 0, 59) && field_ok("1-5,7", 0, 7));
    assert!(!field_ok("60", 0, 59));
    assert!(!field_ok("*/0", 0, 23));
    assert!(!field_ok("5-1", 0, 59));
    assert!(!field_ok("", 0, 59));
    assert!(!field_ok("x", 0, 59));
}

#[test]
fn every_crontab_line_is_a_valid_non_overlapping_logged_replenish_job() {
    let text = std::fs::read_to_string(cron_dir().join("crontab")).unwrap();
    let bounds = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
    let mut jobs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Environment lines: NAME=value.
        if let Some((name, _)) = line.split_once('=')
            && !name.contains(' ')
            && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert!(
            fields.len() > 5,
            "line {}: five time fields and a command: {line}",
            n + 1
        );
        for (i, (lo, hi)) in bounds.iter().enumerate() {
            assert!(
                field_ok(fields[i], *lo, *hi),
                "line {}: time field {} {:?} is not valid",
                n + 1,
                i + 1,
                fields[i]
            );
        }
        let command = fields[5..].join(" ");
        assert!(
            command.starts_with("flock -n "),
            "line {}: no overlap: {command}",
            n + 1
        );
        assert!(
            command.contains("exec replenish --config "),
            "line {}: {command}",
            n + 1
        );
        assert!(
            command.contains(">> /var/log/replenish/") && command.ends_with("2>&1"),
            "line {}: logs stdout and stderr to a file: {command}",
            n + 1
        );
        assert!(
            command.contains("set -a && . /var/lib/replenish/env && set +a"),
            "line {}: secrets exported from the env file: {command}",
            n + 1
        );
        jobs.push((fields[..5].join(" "), command));
    }
    // Draft every two hours with --yes; reconcile once a night.
    assert!(
        jobs.iter()
            .any(|(when, c)| c.contains(" draft --yes") && when.split(' ').nth(1) == Some("*/2")),
        "a two-hourly draft job with --yes: {jobs:?}"
    );
    assert!(
        jobs.iter().any(|(when, c)| c.contains(" reconcile")
            && when
                .split(' ')
                .nth(1)
                .is_some_and(|h| h.parse::<u32>().is_ok())),
        "a nightly reconcile job: {jobs:?}"
    );
    // Each job has its own lock file, so one job never skips the other.
    let locks: std::collections::BTreeSet<&str> = jobs
        .iter()
        .filter_map(|(_, c)| c.split_whitespace().nth(2))
        .collect();
    assert_eq!(locks.len(), jobs.len(), "{jobs:?}");
}

#[test]
fn the_systemd_units_verify() {
    let Ok(probe) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        eprintln!("systemd-analyze is not installed here: skipping the unit verification");
        return;
    };
    assert!(probe.status.success());
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("replenish");
    let mut units = Vec::new();
    for entry in std::fs::read_dir(cron_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !(name.ends_with(".service") || name.ends_with(".timer")) {
            continue;
        }
        // The units name the installed binary; verify against the one just built.
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("/usr/local/bin/replenish", &bin.display().to_string());
        std::fs::write(dir.path().join(&name), text).unwrap();
        units.push(dir.path().join(&name));
    }
    assert_eq!(
        units.len(),
        4,
        "a service and a timer for draft and for reconcile"
    );
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .args(&units)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.trim().is_empty(),
        "systemd-analyze warnings: {stderr}"
    );
}
