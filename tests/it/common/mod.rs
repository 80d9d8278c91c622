//! Helpers shared by the integration tests: settings for a mock server, the sandbox fixtures
//! ([`sandbox`]), wiremock shorthands ([`mock`]), in-process runs of the commands ([`run`]) and
//! the binary in a child process ([`bin`]) and source scans for the guard tests ([`scan`]).

pub mod bin;
pub mod mock;
pub mod run;
pub mod sandbox;
pub mod scan;

use std::path::Path;

use replenish::config::Settings;

pub use sandbox::{first_sync, sandbox_settings, sandbox_state, start_sandbox, t0};

/// A plain HTTP client for a test's own requests (the sandbox's control endpoints, a listener).
/// reqwest here has no TLS crypto provider of its own (docs/design.md, "Cold build"), so a
/// client is built only after the product's provider is installed; `reqwest::Client::new()`
/// anywhere else in the tests would panic or not depending on which test ran first
/// (`guards::every_http_client_is_built_after_the_crypto_provider` keeps it so).
pub fn http() -> reqwest::Client {
    replenish::adapters::http::install_crypto_provider();
    reqwest::Client::new()
}

/// Sends `request` and returns its body as JSON (any status).
pub async fn send_json(request: reqwest::RequestBuilder) -> serde_json::Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// GETs `url` and returns its body as text (any status).
pub async fn get_text(url: impl reqwest::IntoUrl) -> String {
    http().get(url).send().await.unwrap().text().await.unwrap()
}

/// Test knobs: fast retries and a generous Cin7 quota, so tests never wait long.
pub fn fast(mut s: Settings) -> Settings {
    s.cin7.requests_per_minute = 60_000;
    s.http.retry_initial_ms = 10;
    s.http.retry_max_ms = 3_000;
    s.http.max_retries = 3;
    s.http.timeout_secs = 10;
    s
}

/// Settings pointing both clients at one mock server.
pub fn settings_for(server: &str, store: &Path) -> Settings {
    let mut s = fast(Settings::for_sandbox(server, store));
    s.cin7.base_url = format!("{server}/");
    s.shopify.base_url = server.to_string();
    s
}
