//! `replenish doctor` end to end: through the binary against the sandbox (scopes as a real token
//! has them), against a Cin7 that refuses the credentials, with nothing listening, and with a
//! Slack webhook that receives the test alert. Exit codes: 0 works, 2 fix something, 1 a service
//! cannot be reached.

use replenish::sandbox::{DEFAULT_SCOPES, SandboxHandle, SandboxOptions};
use serde_json::Value;
use wiremock::MockServer;

use crate::common::mock::{get, mount, post, text};
use crate::common::sandbox::{binary_config, edit_config, start_world, world};
use crate::common::t0;

const TOKEN: &str = "shpat_doctor_SECRET_91f2";
const ACCOUNT: &str = "acct-doctor-SECRET-11aa";
const KEY: &str = "key-doctor-SECRET-22bb";

/// A small world (20 SKUs, 10 days of 20 orders) whose Shopify token has `scopes`.
async fn sandbox_with(scopes: Vec<String>) -> SandboxHandle {
    start_world(SandboxOptions {
        days: 10,
        orders_per_day: 20,
        scopes,
        ..world(20, 2)
    })
    .await
}

/// A sandbox whose token has every scope the tool asks for, and its config in `dir`.
async fn granted_sandbox(dir: &std::path::Path) -> (SandboxHandle, std::path::PathBuf) {
    let handle = sandbox_with(DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()).await;
    let config = binary_config(&handle, dir);
    (handle, config)
}

/// Runs `replenish doctor --format json [extra]` with the secrets in `.env`; returns the exit
/// code, the report and everything printed.
async fn doctor(config: &std::path::Path, extra: &[&str]) -> (Option<i32>, Value, String) {
    let dir = config.parent().unwrap();
    std::fs::write(
        dir.join(".env"),
        format!(
            "SHOPIFY_ACCESS_TOKEN={TOKEN}\nCIN7_ACCOUNT_ID={ACCOUNT}\nCIN7_APPLICATION_KEY={KEY}\n"
        ),
    )
    .unwrap();
    let config = config.to_path_buf();
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("replenish"))
            .arg("--config")
            .arg(&config)
            .args(["--now", &t0().to_rfc3339(), "doctor", "--format", "json"])
            .args(&extra)
            .env_remove("RUST_LOG")
            .env_remove("SHOPIFY_ACCESS_TOKEN")
            .env_remove("CIN7_ACCOUNT_ID")
            .env_remove("CIN7_APPLICATION_KEY")
            .env_remove("SLACK_WEBHOOK_URL")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in [TOKEN, ACCOUNT, KEY] {
        assert!(!printed.contains(secret), "a secret was printed: {printed}");
    }
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor printed JSON ({e}): {printed}"));
    assert_eq!(
        report["exit_code"].as_i64().map(|c| c as i32),
        out.status.code(),
        "the report's exit code is the process's"
    );
    (out.status.code(), report, printed)
}

/// Checks of one status, as "area: detail" lines.
fn with_status(report: &Value, status: &str) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == status)
        .map(|c| {
            format!(
                "{}: {}",
                c["area"].as_str().unwrap(),
                c["detail"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_working_setup_passes_and_names_where_each_secret_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let (handle, config) = granted_sandbox(dir.path()).await;
    let (code, report, printed) = doctor(&config, &[]).await;
    assert_eq!(code, Some(0), "{printed}");
    assert!(with_status(&report, "fail").is_empty(), "{printed}");
    let ok = with_status(&report, "ok");
    for expected in [
        "secret: SHOPIFY_ACCESS_TOKEN is set (from the .env file)",
        "cin7: ",
        "scope: read_orders: granted",
        "scope: read_merchant_managed_fulfillment_orders: granted",
        "location: locations.default \"Main Warehouse\" is a Cin7 location",
        "store: ",
        "lock: the writer lock is free",
    ] {
        assert!(
            ok.iter().any(|l| l.starts_with(expected)),
            "{expected}: {ok:#?}"
        );
    }
    // Every Shopify location the sandbox's config maps was found in the shop.
    assert_eq!(
        ok.iter()
            .filter(|l| l.starts_with("location: Shopify location gid://"))
            .count(),
        handle.shopify_locations().len()
    );
    // Nothing was written: doctor creates no store.
    assert!(!dir.path().join("s.db").exists());
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_scopes_are_named_with_their_cost_and_exit_2() {
    let fo = "read_merchant_managed_fulfillment_orders";
    for (left_out, named) in [(fo, fo), ("read_orders", "read_orders")] {
        let scopes = DEFAULT_SCOPES
            .iter()
            .filter(|s| **s != left_out)
            .map(|s| s.to_string())
            .collect();
        let handle = sandbox_with(scopes).await;
        let dir = tempfile::tempdir().unwrap();
        let config = binary_config(&handle, dir.path());
        let (code, report, printed) = doctor(&config, &[]).await;
        assert_eq!(code, Some(2), "{printed}");
        let failed = with_status(&report, "fail");
        assert_eq!(failed.len(), 1, "{failed:#?}");
        assert!(
            failed[0].starts_with(&format!("scope: {named}")),
            "{failed:?}"
        );
        assert!(
            failed[0].contains("not granted: "),
            "says what it costs: {failed:?}"
        );
        handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_exit_2_and_an_unreachable_service_exits_1() {
    let cin7 = MockServer::start().await;
    mount(&cin7, get("/me"), text(403, "Incorrect credentials!"), ..).await;
    let dir = tempfile::tempdir().unwrap();
    let (handle, config) = granted_sandbox(dir.path()).await;
    let original = std::fs::read_to_string(&config).unwrap();
    edit_config(&config, |text| {
        text.replace(&handle.cin7_base_url(), &format!("{}/", cin7.uri()))
    });
    let (code, report, printed) = doctor(&config, &[]).await;
    assert_eq!(code, Some(2), "{printed}");
    let failed = &report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "fail")
        .unwrap()
        .clone();
    assert_eq!(failed["area"], "cin7");
    assert!(
        failed["fix"].as_str().unwrap().contains("CIN7_ACCOUNT_ID"),
        "{failed}"
    );

    // Nothing listens at either address: both unreachable, nothing to fix in the config.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    std::fs::write(
        &config,
        original
            .replace(&handle.cin7_base_url(), &format!("http://{closed}/"))
            .replace(&handle.shopify_base_url(), &format!("http://{closed}")),
    )
    .unwrap();
    let (code, report, printed) = doctor(&config, &[]).await;
    assert_eq!(code, Some(1), "{printed}");
    assert_eq!(with_status(&report, "unreachable").len(), 2, "{printed}");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_broken_config_exits_2_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("replenish.toml");
    let out = assert_cmd::Command::cargo_bin("replenish")
        .unwrap()
        .arg("--config")
        .arg(&config)
        .args(["doctor", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["checks"][0]["area"], "config");
    assert!(
        report["checks"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("replenish init")
    );
    std::fs::write(
        &config,
        "[shopify]\nshop = \"x.myshopify.com\"\n[locations]\ndefault = 3\n",
    )
    .unwrap();
    let (code, report, _) = doctor(&config, &[]).await;
    assert_eq!(code, Some(2));
    let detail = report["checks"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("replenish.toml:4:"), "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_test_alert_posts_to_the_slack_webhook() {
    let slack = MockServer::start().await;
    let hook = post("/services/T0/B0/doctorSECRETpath");
    mount(&slack, hook, text(200, "ok"), 1).await;
    let dir = tempfile::tempdir().unwrap();
    let (handle, config) = granted_sandbox(dir.path()).await;
    edit_config(&config, |text| {
        text + &format!(
            "\n[alerts]\nslack_webhook_url = \"{}/services/T0/B0/doctorSECRETpath\"\n",
            slack.uri()
        )
    });
    let (code, report, printed) = doctor(&config, &["--send-test-alert"]).await;
    assert_eq!(code, Some(0), "{printed}");
    assert!(!printed.contains("doctorSECRETpath"), "{printed}");
    assert!(
        with_status(&report, "ok")
            .iter()
            .any(|l| l == "alerts: a test alert was sent by slack"),
        "{printed}"
    );
    let received = slack.received_requests().await.unwrap();
    let body = String::from_utf8_lossy(&received[0].body);
    assert!(body.contains("test alert"), "{body}");
    handle.shutdown().await;
}
