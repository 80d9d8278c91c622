//! Helpers shared by the integration tests.

use std::path::Path;

use replenish::config::Settings;

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
