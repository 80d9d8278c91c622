//! The in-process sandbox as a test fixture: the fixed instant [`t0`] every world starts at, the
//! options a world starts from, a store synced once, the sandbox's own state and control
//! endpoints, and a `replenish.toml` for the binary.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use replenish::app::sandbox::SandboxSettings;
use replenish::app::sync::SyncSummary;
use replenish::config::Settings;
use replenish::sandbox::{self, SandboxHandle, SandboxOptions};
use replenish::store::Store;
use serde_json::Value;

use crate::common::run::sync_at;

/// The instant every test world is generated up to, and the tool's "now" against it.
pub fn t0() -> DateTime<Utc> {
    "2026-11-27T08:00:00Z".parse().unwrap()
}

/// The options most worlds start from: `skus` at `locations`, 40 days of 60 orders a day, a Cin7
/// quota no test reaches, generated up to [`t0`]. Tests change the rest with `..world(…)`.
pub fn world(skus: usize, locations: usize) -> SandboxOptions {
    SandboxOptions {
        skus,
        locations,
        days: 40,
        orders_per_day: 60,
        cin7_rpm: 100_000,
        now: t0(),
        ..SandboxOptions::default()
    }
}

/// Starts a sandbox with `opts` on a free local port.
pub async fn start_world(opts: SandboxOptions) -> SandboxHandle {
    sandbox::start("127.0.0.1:0", opts).await.unwrap()
}

/// A [`world`] whose answers fail at `fault_rate`, asking for a one-second `Retry-After`.
pub async fn start_sandbox(skus: usize, locations: usize, fault_rate: f64) -> SandboxHandle {
    start_world(SandboxOptions {
        fault_rate,
        retry_after_secs: 1,
        ..world(skus, locations)
    })
    .await
}

/// [`start_sandbox`], and a fresh folder for the test's store and config.
pub async fn sandbox_and_dir(
    skus: usize,
    locations: usize,
    fault_rate: f64,
) -> (SandboxHandle, tempfile::TempDir) {
    let handle = start_sandbox(skus, locations, fault_rate).await;
    (handle, tempfile::tempdir().unwrap())
}

/// Settings pointing at a running sandbox, with fast retries.
pub fn sandbox_settings(handle: &SandboxHandle, store: &Path) -> Settings {
    crate::common::fast(handle.settings(store))
}

/// A fresh store in `dir`, synced once against `handle` at [`t0`].
pub async fn first_sync(handle: &SandboxHandle, dir: &Path) -> (Settings, Store, SyncSummary) {
    let settings = sandbox_settings(handle, &dir.join("s.db"));
    let mut store = Store::open(&settings.store.path).unwrap();
    let summary = sync_at(&settings, &mut store, t0()).await.unwrap();
    (settings, store, summary)
}

/// The sandbox's `/sandbox/state`: its requests, faults, purchases, downloads and deliveries.
pub async fn sandbox_state(handle: &SandboxHandle) -> Value {
    super::send_json(super::http().get(format!("{}/sandbox/state", handle.base_url()))).await
}

/// The purchase `id` in a [`sandbox_state`].
pub fn purchase_in(state: &Value, id: &str) -> Value {
    state["purchases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["ID"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("purchase {id} in the sandbox"))
}

/// The `POST purchase/order` body of a person editing purchase `id` of `state` in Cin7: its first
/// line's quantity raised by `more`, the line's total to match.
pub fn person_edit(state: &Value, id: &str, more: f64) -> Value {
    let purchase = purchase_in(state, id);
    let mut lines = purchase["Order"]["Lines"].as_array().unwrap().clone();
    let q = lines[0]["Quantity"].as_f64().unwrap() + more;
    let price = lines[0]["Price"].as_f64().unwrap();
    lines[0]["Quantity"] = serde_json::json!(q);
    lines[0]["Total"] = serde_json::json!(((q * price) * 100.0).round() / 100.0);
    serde_json::json!({"TaskID": id, "Status": "DRAFT", "Lines": lines})
}

/// The credentials the sandbox's Cin7 accepts, as (account ID, application key).
pub const SANDBOX_CIN7: (&str, &str) = ("sandbox", "sandbox");

/// POSTs to the sandbox's control endpoint `/sandbox/{what}` (a tick, a receipt, an approval)
/// and returns its answer, after checking it succeeded.
pub async fn sandbox_post(handle: &SandboxHandle, what: &str) -> reqwest::Response {
    let r = super::http()
        .post(format!("{}/sandbox/{what}", handle.base_url()))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "/sandbox/{what}: {}", r.status());
    r
}

/// Moves the sandbox's clock on by `hours`, returning the tick's JSON answer.
pub async fn tick(handle: &SandboxHandle, hours: &str) -> Value {
    sandbox_post(handle, &format!("tick?hours={hours}"))
        .await
        .json()
        .await
        .unwrap()
}

/// A request to the sandbox's Cin7 API at `path`, as a person's own client would send it with
/// `account` / `key` as the credentials.
pub fn cin7_request(
    handle: &SandboxHandle,
    method: reqwest::Method,
    path: &str,
    (account, key): (&str, &str),
) -> reqwest::RequestBuilder {
    super::http()
        .request(
            method,
            format!("{}/cin7/ExternalApi/v2/{path}", handle.base_url()),
        )
        .header("api-auth-accountid", account)
        .header("api-auth-applicationkey", key)
}

/// Sends `request` and checks the answer succeeded, showing its body if not.
pub async fn send_ok(request: reqwest::RequestBuilder) {
    let answer = request.send().await.unwrap();
    assert!(answer.status().is_success(), "{:?}", answer.text().await);
}

/// A replenish.toml for the binary, pointing at `handle` with a store `s.db` in `dir` and
/// `http` as the `[http]` table's keys (fast retries; some tests add a timeout).
pub fn binary_config_with(handle: &SandboxHandle, dir: &Path, http: &str) -> PathBuf {
    let shopify: String = handle
        .shopify_locations()
        .into_iter()
        .map(|(gid, name)| format!("\"{gid}\" = \"{name}\"\n"))
        .collect();
    let text = format!(
        "[shopify]\nshop = \"sandbox.myshopify.com\"\nbase_url = \"{}\"\n\
         [cin7]\nbase_url = \"{}\"\nrequests_per_minute = 60000\n\
         [http]\n{http}\n\
         [store]\npath = \"s.db\"\n\
         [locations]\ndefault = \"{}\"\nignore = [\"Returns\"]\n[locations.shopify]\n{shopify}",
        handle.shopify_base_url(),
        handle.cin7_base_url(),
        handle.default_location(),
    );
    let path = dir.join("replenish.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The `[http]` keys of [`binary_config`]: fast retries.
pub const FAST_RETRIES: &str = "retry_initial_ms = 10\nretry_max_ms = 2000\nmax_retries = 3";

/// [`binary_config_with`] fast retries and a one-second request timeout.
pub fn binary_config(handle: &SandboxHandle, dir: &Path) -> PathBuf {
    binary_config_with(handle, dir, &format!("{FAST_RETRIES}\ntimeout_secs = 1"))
}

/// Rewrites the config file at `config` with `edit` applied to its text.
pub fn edit_config(config: &Path, edit: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(config).unwrap();
    std::fs::write(config, edit(text)).unwrap();
}
