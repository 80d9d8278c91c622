//! Cin7 paging end to end: a sandbox that serves at most 100 rows a page, whatever `Limit` asks,
//! is read whole — the binary's sync and plan come out byte for byte as against one that serves
//! 1000 — in ⌈rows / 100⌉ requests per list endpoint.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use replenish::sandbox::{SandboxHandle, SandboxOptions};
use serde_json::Value;

use crate::common::bin::replenish_with;
use crate::common::sandbox::{start_world, world};
use crate::common::{sandbox_state, t0};

/// 300 SKUs at 2 locations: more than 100 products and availability rows. Only the page cap
/// differs between the two worlds.
async fn sandbox_with_page_cap(cap: u32) -> SandboxHandle {
    start_world(SandboxOptions {
        seed: 11,
        cin7_page_cap: cap,
        ..world(300, 2)
    })
    .await
}

/// `replenish --config <config> --now <t0> <args…>`; its stdout, after checking it succeeded.
async fn replenish(config: &Path, args: &[&str]) -> Vec<u8> {
    let config: PathBuf = config.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = replenish_with(&config)
            .args(["--now", &t0().to_rfc3339()])
            .args(&args)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "replenish {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    })
    .await
    .unwrap()
}

/// What one capped world gave: the sync's row counts, the Cin7 requests the sandbox counted per
/// endpoint during the sync, and the plan's JSON bytes.
struct Run {
    rows: BTreeMap<String, u64>,
    requests: BTreeMap<String, u64>,
    plan: Vec<u8>,
}

async fn sync_and_plan(cap: u32) -> Run {
    let handle = sandbox_with_page_cap(cap).await;
    let dir = tempfile::tempdir().unwrap();
    let config = crate::common::sandbox::binary_config(&handle, dir.path());
    let summary: Value =
        serde_json::from_slice(&replenish(&config, &["sync", "--format", "json"]).await).unwrap();
    let rows = serde_json::from_value(summary["rows"].clone()).unwrap();
    let state = sandbox_state(&handle).await;
    let requests = state["requests"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("cin7 "))
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    let plan = replenish(&config, &["plan", "--all", "--format", "json"]).await;
    handle.shutdown().await;
    Run {
        rows,
        requests,
        plan,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cin7_serving_100_rows_a_page_is_read_whole_in_rows_over_100_requests() {
    let capped = sync_and_plan(100).await;
    let full = sync_and_plan(1000).await;

    // Enough rows that a one-page read would have lost some.
    for key in ["cin7 products", "cin7 availability rows"] {
        assert!(capped.rows[key] > 200, "{key}: {:?}", capped.rows);
    }
    assert_eq!(capped.rows, full.rows, "the same rows read either way");
    let plan: Value = serde_json::from_slice(&capped.plan).unwrap();
    assert!(plan["lines"].as_array().unwrap().len() > 100);
    assert!(
        capped.plan == full.plan,
        "the plans differ:\n{}\n---\n{}",
        String::from_utf8_lossy(&capped.plan),
        String::from_utf8_lossy(&full.plan)
    );

    // ⌈rows / 100⌉ requests per list endpoint (at least one), no empty page asked for.
    for (endpoint, rows) in [
        ("cin7 GET ref/location", "cin7 locations"),
        ("cin7 GET product", "cin7 products"),
        ("cin7 GET supplier", "cin7 suppliers"),
        ("cin7 GET ref/productavailability", "cin7 availability rows"),
        ("cin7 GET purchaseList", "cin7 purchases changed"),
    ] {
        let want = capped.rows[rows].div_ceil(100).max(1);
        assert_eq!(
            capped.requests.get(endpoint).copied(),
            Some(want),
            "{endpoint} for {} rows: {:?}",
            capped.rows[rows],
            capped.requests
        );
        assert_eq!(
            full.requests.get(endpoint).copied(),
            Some(full.rows[rows].div_ceil(1000).max(1)),
            "{endpoint}: {:?}",
            full.requests
        );
    }
}
