//! The binary end to end (assert_cmd): init, configuration errors, secrets kept out of logs,
//! the demo, and exit codes.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use replenish::sandbox::SandboxHandle;

use crate::common::bin::{SANDBOX_SECRETS, output_of, po_results};
use crate::common::sandbox::sandbox_and_dir;
use crate::common::t0;

fn replenish() -> Command {
    let mut cmd = Command::cargo_bin("replenish").unwrap();
    cmd.env_remove("SHOPIFY_ACCESS_TOKEN")
        .env_remove("CIN7_ACCOUNT_ID")
        .env_remove("CIN7_APPLICATION_KEY")
        .env_remove("REPLENISH_NOW")
        .env_remove("RUST_LOG");
    cmd
}

/// A replenish.toml as a person writes one for the sandbox: the two base URLs, a store `store.db`
/// beside it and the default location; nothing else (no `[http]`, no location mapping).
fn minimal_config(handle: &SandboxHandle, dir: &Path) -> PathBuf {
    let path = dir.join("replenish.toml");
    std::fs::write(
        &path,
        format!(
            "[shopify]\nshop = \"sandbox.myshopify.com\"\nbase_url = \"{}\"\n\n[cin7]\nbase_url = \"{}\"\nrequests_per_minute = 60000\n\n[store]\npath = \"store.db\"\n\n[locations]\ndefault = \"Main Warehouse\"\n",
            handle.shopify_base_url(),
            handle.cin7_base_url()
        ),
    )
    .unwrap();
    path
}

/// Writes `text` as `replenish.toml` in `dir`, returning its path.
fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("replenish.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn init_writes_both_files_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    replenish()
        .args(["init", "--dir"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("replenish.toml"));
    let toml = std::fs::read_to_string(dir.path().join("replenish.toml")).unwrap();
    let env = std::fs::read_to_string(dir.path().join(".env.example")).unwrap();
    for secret in [
        "SHOPIFY_ACCESS_TOKEN",
        "CIN7_ACCOUNT_ID",
        "CIN7_APPLICATION_KEY",
    ] {
        assert!(env.contains(secret), "{secret} named in .env.example");
    }
    std::fs::write(dir.path().join("replenish.toml"), "# mine\n").unwrap();
    replenish()
        .args(["init", "--dir"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("replenish.toml")).unwrap(),
        "# mine\n"
    );
    assert!(toml.contains("[policy]"));
}

#[test]
fn config_errors_name_file_line_and_key_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        "[shopify]\nshop = \"x.myshopify.com\"\n\n[locations]\ndefault = \"Main\"\n\n[policy]\nservce_level = 0.9\n",
    );
    replenish()
        .arg("--config")
        .arg(&path)
        .arg("sync")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("replenish.toml:8"))
        .stderr(predicate::str::contains("policy.servce_level"));
}

#[test]
fn a_missing_secret_names_its_environment_variable() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        "[shopify]\nshop = \"x.myshopify.com\"\n[locations]\ndefault = \"Main\"\n",
    );
    replenish()
        .arg("--config")
        .arg(&path)
        .arg("sync")
        .env("SHOPIFY_ACCESS_TOKEN", "t")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("CIN7_ACCOUNT_ID"));
}

#[test]
fn bad_sandbox_flags_are_usage_errors_naming_the_flag() {
    replenish()
        .args(["sandbox", "--bind", "127.0.0.1:0", "--fault-rate", "1.5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--fault-rate"));
}

#[test]
fn a_bad_now_is_a_usage_error() {
    replenish()
        .args(["--now", "yesterday", "init"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("RFC 3339"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_logs_or_reports() {
    let (handle, dir) = sandbox_and_dir(40, 1, 0.0).await;
    let path = minimal_config(&handle, dir.path());
    let secrets = [
        "shpat_SECRET_token_4f9a",
        "acct-SECRET-77c1",
        "appkey-SECRET-0b3e",
    ];
    let mut cmd = replenish();
    cmd.arg("--config")
        .arg(&path)
        .args([
            "--now",
            &t0().to_rfc3339(),
            "-vvv",
            "sync",
            "--format",
            "json",
        ])
        .env("SHOPIFY_ACCESS_TOKEN", secrets[0])
        .env("CIN7_ACCOUNT_ID", secrets[1])
        .env("CIN7_APPLICATION_KEY", secrets[2])
        // Everything, including the HTTP stack's own traces.
        .env("RUST_LOG", "trace");
    let output = output_of(cmd).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.len() > 200, "trace logging produced output to check");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(summary["requests_total"].as_u64().unwrap() > 0);
    for secret in secrets {
        assert!(!stdout.contains(secret), "secret in stdout");
        assert!(!stderr.contains(secret), "secret in stderr");
    }
    assert!(
        dir.path().join("store.db").exists(),
        "store path relative to the config file"
    );
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dot_env_beside_the_config_supplies_the_secrets() {
    let (handle, dir) = sandbox_and_dir(30, 1, 0.0).await;
    let path = minimal_config(&handle, dir.path());
    let run = |path: PathBuf| {
        let mut cmd = replenish();
        cmd.arg("--config").arg(&path).args([
            "--now",
            &t0().to_rfc3339(),
            "sync",
            "--format",
            "json",
        ]);
        output_of(cmd)
    };
    // No secret anywhere: the missing one is named.
    let out = run(path.clone()).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CIN7_ACCOUNT_ID"));
    // The .env that .env.example suggests: read, no export needed.
    std::fs::write(
        dir.path().join(".env"),
        "# copied from .env.example\nSHOPIFY_ACCESS_TOKEN=sandbox\nexport CIN7_ACCOUNT_ID=sandbox\nCIN7_APPLICATION_KEY=\"sandbox\"\n",
    )
    .unwrap();
    let out = run(path.clone()).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A malformed line is a configuration error naming the file and the line.
    std::fs::write(
        dir.path().join(".env"),
        "SHOPIFY_ACCESS_TOKEN=sandbox\noops\n",
    )
    .unwrap();
    let out = run(path).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(".env:2:"), "{stderr}");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_written_to_a_file_carry_no_terminal_escape_codes() {
    let (handle, dir) = sandbox_and_dir(30, 1, 0.0).await;
    let path = minimal_config(&handle, dir.path());
    // As cron runs it: `replenish -v sync 2>> replenish.log`.
    let log_path = dir.path().join("replenish.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("replenish"))
            .arg("--config")
            .arg(&path)
            .args([
                "--now",
                &t0().to_rfc3339(),
                "-v",
                "sync",
                "--format",
                "json",
            ])
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            .envs(SANDBOX_SECRETS)
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .status()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(status.success());
    let written = std::fs::read(&log_path).unwrap();
    let text = String::from_utf8_lossy(&written);
    assert!(text.contains("INFO"), "-v logged info lines: {text}");
    assert!(
        !written.contains(&0x1b),
        "no escape byte in a log file: {text:?}"
    );
    handle.shutdown().await;
}

#[test]
fn demo_runs_with_no_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let output = replenish()
        .current_dir(dir.path())
        .args(["demo", "--skus", "60", "--format", "json"])
        .env("TMPDIR", dir.path())
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let both: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let summary = &both["sync"];
    assert_eq!(summary["orders_mode"], "backfill");
    assert!(summary["rows"]["cin7 products"].as_u64().unwrap() > 0);
    assert!(summary["rows"]["shopify orders fetched"].as_u64().unwrap() > 0);
    let plan = &both["plan"];
    assert!(
        !plan["lines"].as_array().unwrap().is_empty(),
        "the demo world needs reordering"
    );
    assert!(!plan["purchase_orders"].as_array().unwrap().is_empty());
    // The draft step pushed every PO the plan did not hold into the sandbox's Cin7.
    // (minus any a data-quality gate held back).
    let results = po_results(&both["draft"]);
    let count = |r: &str| results.iter().filter(|x| **x == r).count();
    assert!(count("created") > 0, "{}", both["draft"]);
    assert_eq!(
        count("created") + count("held"),
        plan["purchase_orders"].as_array().unwrap().len(),
        "{}",
        both["draft"]
    );
}
