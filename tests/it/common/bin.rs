//! The `replenish` binary in a child process: a command pointed at a config with the sandbox's
//! credentials, run on a blocking thread so the in-process sandbox it talks to keeps serving.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;

/// The sandbox's credentials, under the environment variables the binary reads them from.
pub const SANDBOX_SECRETS: [(&str, &str); 3] = [
    ("SHOPIFY_ACCESS_TOKEN", "sandbox"),
    ("CIN7_ACCOUNT_ID", "sandbox"),
    ("CIN7_APPLICATION_KEY", "sandbox"),
];

/// `replenish --config <config>`, with the sandbox's credentials in its environment.
pub fn replenish_with(config: &Path) -> Command {
    let mut cmd = Command::cargo_bin("replenish").unwrap();
    cmd.arg("--config").arg(config).envs(SANDBOX_SECRETS);
    cmd
}

/// The `result` of each purchase order in a `draft --format json` report.
pub fn po_results(draft: &serde_json::Value) -> Vec<&str> {
    draft["purchase_orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["result"].as_str())
        .collect()
}

/// Runs `cmd` to its end on a blocking thread and returns what it printed and its status.
pub async fn output_of(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}
