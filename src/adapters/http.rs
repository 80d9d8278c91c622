//! The HTTP layer shared by both API clients: error classification, retries with backoff and
//! jitter (honouring `Retry-After`), the Cin7 request limiter, and per-endpoint request counters.
//!
//! Each adapter classifies its own answers (Cin7 and Shopify put errors in different places, both
//! sometimes inside an HTTP 200) into the small vocabulary of [`ErrorClass`]; what a status code
//! alone says (429 with its `Retry-After`, refused credentials, 5xx, other 4xx, a 2xx that is not
//! JSON) is mapped once, in [`classify_status`], in each API's own words. Everything after that —
//! whether to retry, how long to wait, what to count and log — is decided here, once.
//! Nothing here knows about planning, and no secret is ever put into an error or a log line.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use reqwest::header::HeaderMap;

use crate::config::HttpSettings;
use crate::store::EndpointCount;

/// What kind of failure an answer was — the only thing retry decisions look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The request never got a complete answer (connect error, timeout, dropped connection).
    Transient,
    /// The service asked us to slow down (429, Cin7's 503 limit text, Shopify `THROTTLED`).
    Throttling,
    /// The service failed (5xx, or an error body that says so).
    Server,
    /// The request itself is wrong (4xx, validation errors): retrying cannot help.
    Client,
    /// The answer arrived but is not what the API documents.
    Decode,
}

/// A failed API call: which endpoint, what class, and a message fit for a person.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{endpoint}: {message}")]
pub struct ApiError {
    pub endpoint: String,
    pub class: ErrorClass,
    pub status: Option<u16>,
    pub message: String,
    /// How long the service asked us to wait (`Retry-After`, or computed from a cost bucket).
    pub retry_after: Option<Duration>,
    /// A per-minute limit named by a throttling answer ("You reached 60 calls per minute …").
    pub limit_per_minute: Option<u32>,
    /// The access scope(s) the service said the credentials lack (Shopify `ACCESS_DENIED`): a
    /// configuration problem for a person, never retried.
    pub missing_scope: Option<String>,
}

impl ApiError {
    /// A new error; the message is scrubbed of every known secret value (an upstream may echo
    /// the request's credential headers in its error body).
    pub fn new(endpoint: &str, class: ErrorClass, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError {
            endpoint: endpoint.to_string(),
            class,
            status: None,
            message: crate::secrets::redact(&message).into_owned(),
            retry_after: None,
            limit_per_minute: None,
            missing_scope: None,
        }
    }

    pub fn with_status(mut self, status: u16) -> ApiError {
        self.status = Some(status);
        self
    }

    /// Whether trying the same (idempotent) request again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.class,
            ErrorClass::Transient | ErrorClass::Throttling | ErrorClass::Server
        )
    }

    /// Classifies a transport-level reqwest failure (no usable answer).
    pub fn from_transport(endpoint: &str, err: &reqwest::Error) -> ApiError {
        let what = if err.is_timeout() {
            "timed out"
        } else if err.is_connect() {
            "could not connect"
        } else if err.is_body() || err.is_decode() {
            "connection dropped while reading the answer"
        } else {
            "request failed"
        };
        // reqwest's Display includes the URL (no credentials: they travel in headers only).
        ApiError::new(endpoint, ErrorClass::Transient, format!("{what}: {err}"))
    }
}

/// Reads `Retry-After` as delta-seconds or as an HTTP date (relative to now).
pub fn parse_retry_after(
    headers: &HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.with_timezone(&chrono::Utc) - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// How one API words the answers [`classify_status`] maps by status alone.
pub struct Wording<'a> {
    /// The statuses that mean the credentials were refused (Shopify: 401 and 403; Cin7: 403).
    pub refused: &'a [u16],
    /// What a person is told when they were, given the status.
    pub refused_message: &'a dyn Fn(u16) -> String,
    /// What the body says, for a server or client error (Cin7 digs its own words out of the
    /// JSON; Shopify's body is shown as it is).
    pub said: &'a dyn Fn() -> String,
    /// Whether a server error's `Retry-After` is kept (Shopify sends one with its 503s).
    pub server_retry_after: bool,
}

/// The status → error mapping both APIs share, for answers their bodies do not explain first: a
/// 2xx is parsed as JSON (a `Decode` error when it is not); 429 is `Throttling`, waiting the
/// `Retry-After` (seconds, or an HTTP date read against `now`); a refused-credentials status is
/// a `Client` error saying so; 5xx is `Server` (with its `Retry-After` when the API's wording
/// keeps it); anything else is a `Client` error. Every error carries the status.
pub fn classify_status(
    label: &str,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    now: chrono::DateTime<chrono::Utc>,
    wording: &Wording<'_>,
) -> Result<serde_json::Value, ApiError> {
    let error =
        |class, message: String| Err(ApiError::new(label, class, message).with_status(status));
    match status {
        200..=299 => serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                label,
                ErrorClass::Decode,
                format!("malformed JSON ({e}): {}", excerpt(body)),
            )
            .with_status(status)
        }),
        429 => {
            let mut e = ApiError::new(
                label,
                ErrorClass::Throttling,
                format!("throttled (429): {}", excerpt(body)),
            )
            .with_status(status);
            e.retry_after = parse_retry_after(headers, now);
            Err(e)
        }
        s if wording.refused.contains(&s) => {
            error(ErrorClass::Client, (wording.refused_message)(s))
        }
        500..=599 => {
            let mut e = ApiError::new(
                label,
                ErrorClass::Server,
                format!("server error {status}: {}", (wording.said)()),
            )
            .with_status(status);
            if wording.server_retry_after {
                e.retry_after = parse_retry_after(headers, now);
            }
            Err(e)
        }
        _ => error(
            ErrorClass::Client,
            format!("HTTP {status}: {}", (wording.said)()),
        ),
    }
}

/// Retry limits, from `[http]` in the config.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub initial: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    pub fn from_settings(http: &HttpSettings) -> RetryPolicy {
        RetryPolicy {
            max_retries: http.max_retries,
            initial: Duration::from_millis(http.retry_initial_ms),
            max_delay: Duration::from_millis(http.retry_max_ms.max(http.retry_initial_ms)),
        }
    }

    /// The wait before the next attempt: the service's `Retry-After` when it gave one (it knows
    /// best), else the jittered exponential backoff. `None` stops retrying: attempts are used up,
    /// or the service asks for a wait longer than the cap.
    fn next_delay(&self, err: &ApiError, backoff: Option<Duration>) -> Option<Duration> {
        let backoff = backoff?;
        match err.retry_after {
            Some(asked) if asked > self.max_delay => None,
            Some(asked) => Some(asked),
            None => Some(backoff),
        }
    }
}

/// Requests, throttled answers and retries per endpoint, shared by all clients of one run.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    inner: Arc<Mutex<BTreeMap<String, EndpointCount>>>,
}

impl Counters {
    fn bump(&self, endpoint: &str, f: impl FnOnce(&mut EndpointCount)) {
        let mut map = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = map
            .entry(endpoint.to_string())
            .or_insert_with(|| EndpointCount {
                endpoint: endpoint.to_string(),
                ..EndpointCount::default()
            });
        f(entry);
    }
    pub fn request(&self, endpoint: &str) {
        self.bump(endpoint, |c| c.requests += 1);
    }
    pub fn throttled(&self, endpoint: &str) {
        self.bump(endpoint, |c| c.throttled += 1);
    }
    pub fn retry(&self, endpoint: &str) {
        self.bump(endpoint, |c| c.retries += 1);
    }
    /// Every endpoint's counts, sorted by endpoint name.
    pub fn snapshot(&self) -> Vec<EndpointCount> {
        let map = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.values().cloned().collect()
    }
    pub fn get(&self, endpoint: &str) -> EndpointCount {
        let map = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.get(endpoint).cloned().unwrap_or_else(|| EndpointCount {
            endpoint: endpoint.to_string(),
            ..EndpointCount::default()
        })
    }
}

/// Runs `op` until it succeeds, fails with a non-retryable error, or the policy gives up.
/// `idempotent = false` (a request that creates something) means: never retried, whatever the error.
/// Each retry is counted and logged with its reason and wait.
pub async fn with_retry<T, F, Fut>(
    policy: &RetryPolicy,
    counters: &Counters,
    endpoint: &str,
    idempotent: bool,
    op: F,
) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(policy.initial)
        .with_max_delay(policy.max_delay)
        .with_max_times(policy.max_retries as usize)
        .with_jitter();
    let policy = *policy;
    op.retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|e: &ApiError| idempotent && e.is_retryable())
        .adjust(move |e: &ApiError, d| policy.next_delay(e, d))
        .notify(|e: &ApiError, wait: Duration| {
            counters.retry(endpoint);
            tracing::warn!(
                endpoint,
                class = ?e.class,
                status = e.status,
                wait_ms = wait.as_millis() as u64,
                "retrying after: {}",
                e.message
            );
        })
        .await
}

/// The Cin7 quota: `rpm` requests per minute, evenly spaced (burst 1), so that no 60-second
/// window holds more than `rpm` (the period is rounded up by a millisecond to stay clear of the
/// window's edge). `Quota::per_minute(n)` would allow a burst of n and so ~2n in the first minute.
pub fn cin7_quota(rpm: u32) -> Quota {
    let rpm = rpm.max(1);
    let period = Duration::from_secs(60) / rpm + Duration::from_millis(1);
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN)
}

type DirectLimiter<C> =
    RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The process-wide Cin7 pacing: a GCRA limiter at the configured rate that is lowered for the
/// rest of the process when Cin7 throttles (to the limit its answer names, else to 60% of the
/// current rate), saying so once in the log per change.
///
/// Lowering the rate is not enough on its own: Cin7 counts calls in a rolling minute, and the
/// calls that led to the throttle (and the throttled calls themselves) are still in that window.
/// So after a throttling answer every request also waits out a pause — the `Retry-After` when Cin7
/// gave one, else a whole window (capped at the retry delay cap) — before the lowered rate applies.
pub struct Pacer<C: Clock = DefaultClock> {
    clock: C,
    state: Mutex<(u32, Arc<DirectLimiter<C>>)>,
    paused_until: Mutex<Option<std::time::Instant>>,
    max_pause: Duration,
}

impl Pacer<DefaultClock> {
    /// A pacer at `rpm` whose pauses after throttling last at most `max_pause`.
    pub fn new(rpm: u32, max_pause: Duration) -> Pacer<DefaultClock> {
        let mut pacer = Pacer::with_clock(rpm, DefaultClock::default());
        pacer.max_pause = max_pause;
        pacer
    }

    /// Waits until the next request may go: past any pause, then the limiter.
    pub async fn until_ready(&self) {
        let until = *self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = until {
            tokio::time::sleep_until(until.into()).await;
        }
        let limiter = self.limiter();
        limiter.until_ready().await;
    }

    /// Reacts to a throttling answer: lowers the rate (see [`Pacer::lower`]) and pauses all
    /// requests for `retry_after`, else for one rolling window (60 s, capped at `max_pause`).
    pub fn throttled(&self, named_limit: Option<u32>, retry_after: Option<Duration>) {
        self.lower(named_limit);
        let pause = retry_after
            .unwrap_or(Duration::from_secs(60))
            .min(self.max_pause);
        let until = std::time::Instant::now() + pause;
        let mut paused = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }
}

impl<C: Clock + Clone> Pacer<C> {
    pub fn with_clock(rpm: u32, clock: C) -> Pacer<C> {
        let rpm = rpm.max(1);
        let limiter = Arc::new(RateLimiter::direct_with_clock(
            cin7_quota(rpm),
            clock.clone(),
        ));
        Pacer {
            clock,
            state: Mutex::new((rpm, limiter)),
            paused_until: Mutex::new(None),
            max_pause: Duration::from_secs(60),
        }
    }

    fn limiter(&self) -> Arc<DirectLimiter<C>> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&state.1)
    }

    /// Non-blocking check (used with a fake clock in tests).
    pub fn try_acquire(&self) -> bool {
        self.limiter().check().is_ok()
    }

    /// The current rate in requests per minute.
    pub fn rate(&self) -> u32 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).0
    }

    /// Lowers the rate after a throttling answer; returns the new rate when it changed.
    pub fn lower(&self, named_limit: Option<u32>) -> Option<u32> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let current = state.0;
        let target = match named_limit {
            Some(limit) => limit.min(current),
            None => ((current as f64) * 0.6).floor() as u32,
        }
        .max(1);
        if target >= current {
            return None;
        }
        *state = (
            target,
            Arc::new(RateLimiter::direct_with_clock(
                cin7_quota(target),
                self.clock.clone(),
            )),
        );
        tracing::warn!(
            from = current,
            to = target,
            "Cin7 throttled this application: lowering the request rate to {target}/min for the rest of this run"
        );
        Some(target)
    }
}

/// Installs the process's TLS crypto provider, rustls's `ring`, once. reqwest is built without a
/// provider of its own (one C crypto library for reqwest and lettre instead of two; see
/// docs/design.md, "Cold build") and refuses to build a client before one is installed, so every
/// client of the product is built through this module, and `app::run` calls it first thing.
/// Installing again, or after another part of the process did, changes nothing.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // An error means a provider is already installed, which is all that is needed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Builds the shared reqwest client (timeouts from config, gzip, no cookie store).
pub fn build_client(http: &HttpSettings) -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(http.timeout_secs.max(1)))
        .connect_timeout(Duration::from_secs(http.timeout_secs.clamp(1, 10)))
        .user_agent(concat!("replenish/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Builds the client for large downloads (bulk-operation results): the same connect timeout, but
/// no total timeout — a download may take as long as it keeps making progress, which the caller
/// watches (no bytes for `shopify.bulk_stall_ms` is a stall). No transparent decompression either:
/// a resumed download asks for a byte `Range`, which must count the bytes as stored.
pub fn build_download_client(http: &HttpSettings) -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(http.timeout_secs.clamp(1, 10)))
        .no_gzip()
        .user_agent(concat!("replenish/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// The most a Cin7 page or a Shopify query answer may hold. The largest real ones (a page of
/// 1,000 products with their suppliers and reorder levels) are a few MiB; an endless or
/// runaway body is cut off here instead of growing memory until the timeout.
pub const MAX_ANSWER_BYTES: usize = 64 << 20;

/// Reads a whole answer, refusing one longer than `max` bytes (by its declared length at once,
/// else as it arrives): a `Decode` error naming the endpoint, never retried.
pub async fn read_body(
    mut resp: reqwest::Response,
    label: &str,
    max: usize,
) -> Result<Vec<u8>, ApiError> {
    let too_big = || {
        ApiError::new(
            label,
            ErrorClass::Decode,
            format!(
                "the answer is larger than {} MiB: stopped reading it (a broken proxy or server?)",
                max >> 20
            ),
        )
    };
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ApiError::from_transport(label, &e))?
    {
        if body.len() + chunk.len() > max {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Short, single-line excerpt of a body for error messages.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 300 {
        let cut: String = one_line.chars().take(300).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::collections::VecDeque;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            initial: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
        }
    }

    /// Drives a pacer on a fake clock in 1 ms steps for `minutes` and returns the admit times.
    fn admits(pacer: &Pacer<FakeRelativeClock>, clock: &FakeRelativeClock, ms: u64) -> Vec<u64> {
        let mut times = Vec::new();
        for t in 0..ms {
            // Try as often as a greedy client would: several times per millisecond.
            for _ in 0..3 {
                if pacer.try_acquire() {
                    times.push(t);
                }
            }
            clock.advance(Duration::from_millis(1));
        }
        times
    }

    fn max_in_any_window(times: &[u64], window_ms: u64) -> usize {
        let mut window = VecDeque::new();
        let mut best = 0;
        for &t in times {
            window.push_back(t);
            // Closed window [t - window_ms, t]: the strictest reading.
            while let Some(&front) = window.front() {
                if front + window_ms < t {
                    window.pop_front();
                } else {
                    break;
                }
            }
            best = best.max(window.len());
        }
        best
    }

    #[test]
    fn limiter_never_exceeds_quota_in_any_sixty_second_window() {
        for rpm in [1, 60, 100, 250] {
            let clock = FakeRelativeClock::default();
            let pacer = Pacer::with_clock(rpm, clock.clone());
            let times = admits(&pacer, &clock, 180_000);
            assert!(
                max_in_any_window(&times, 60_000) <= rpm as usize,
                "rpm {rpm}: {} in a window",
                max_in_any_window(&times, 60_000)
            );
            // …and it is not needlessly slow: about 3 minutes' worth went through.
            assert!(
                times.len() >= 3 * rpm as usize - 3,
                "rpm {rpm}: only {}",
                times.len()
            );
        }
    }

    #[test]
    fn per_minute_quota_would_burst_which_is_why_we_do_not_use_it() {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::direct_with_clock(
            Quota::per_minute(NonZeroU32::new(100).unwrap()),
            clock.clone(),
        );
        let mut n = 0;
        for _ in 0..200 {
            if limiter.check().is_ok() {
                n += 1;
            }
        }
        assert_eq!(
            n, 100,
            "governor's per_minute allows a burst of the whole quota"
        );
    }

    #[test]
    fn lowering_uses_named_limit_else_sixty_percent_and_never_raises() {
        let clock = FakeRelativeClock::default();
        let pacer = Pacer::with_clock(100, clock.clone());
        assert_eq!(pacer.lower(Some(60)), Some(60));
        assert_eq!(pacer.rate(), 60);
        assert_eq!(
            pacer.lower(Some(60)),
            None,
            "same limit: no change, no second log"
        );
        assert_eq!(pacer.lower(Some(80)), None, "never raised");
        assert_eq!(pacer.lower(None), Some(36));
        let times = admits(&pacer, &clock, 120_000);
        assert!(max_in_any_window(&times, 60_000) <= 36);
    }

    #[tokio::test]
    async fn a_throttle_pauses_every_request_for_the_window_or_retry_after() {
        let pacer = Pacer::new(60_000, Duration::from_millis(300));
        pacer.until_ready().await;
        pacer.throttled(Some(50_000), None);
        assert_eq!(pacer.rate(), 50_000);
        let started = std::time::Instant::now();
        pacer.until_ready().await;
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(290),
            "paused a window (capped): {waited:?}"
        );
        // A Retry-After shorter than the cap is the pause.
        pacer.throttled(None, Some(Duration::from_millis(100)));
        let started = std::time::Instant::now();
        pacer.until_ready().await;
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(90) && waited < Duration::from_millis(290),
            "{waited:?}"
        );
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let mut h = HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            "Fri, 27 Nov 2026 10:00:30 GMT".parse().unwrap(),
        );
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert(
            "retry-after",
            "Fri, 27 Nov 2026 09:00:00 GMT".parse().unwrap(),
        );
        assert_eq!(parse_retry_after(&h, now), Some(Duration::ZERO));
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(parse_retry_after(&h, now), None);
    }

    #[tokio::test]
    async fn retries_retryable_errors_then_succeeds_and_counts() {
        let counters = Counters::default();
        let calls = Arc::new(Mutex::new(0));
        let c = Arc::clone(&calls);
        let out = with_retry(&policy(), &counters, "ep", true, move || {
            let c = Arc::clone(&c);
            async move {
                let mut n = c.lock().unwrap();
                *n += 1;
                if *n < 3 {
                    Err(ApiError::new("ep", ErrorClass::Server, "boom"))
                } else {
                    Ok(*n)
                }
            }
        })
        .await;
        assert_eq!(out.unwrap(), 3);
        assert_eq!(counters.get("ep").retries, 2);
    }

    #[tokio::test]
    async fn client_errors_and_non_idempotent_requests_are_not_retried() {
        for (class, idempotent) in [(ErrorClass::Client, true), (ErrorClass::Server, false)] {
            let counters = Counters::default();
            let calls = Arc::new(Mutex::new(0));
            let c = Arc::clone(&calls);
            let out: Result<(), _> =
                with_retry(&policy(), &counters, "ep", idempotent, move || {
                    let c = Arc::clone(&c);
                    async move {
                        *c.lock().unwrap() += 1;
                        Err(ApiError::new("ep", class, "no"))
                    }
                })
                .await;
            assert!(out.is_err());
            assert_eq!(
                *calls.lock().unwrap(),
                1,
                "{class:?} idempotent={idempotent}"
            );
        }
    }

    #[tokio::test]
    async fn gives_up_after_max_retries_and_when_asked_to_wait_past_the_cap() {
        let counters = Counters::default();
        let calls = Arc::new(Mutex::new(0));
        let c = Arc::clone(&calls);
        let out: Result<(), _> = with_retry(&policy(), &counters, "ep", true, move || {
            let c = Arc::clone(&c);
            async move {
                *c.lock().unwrap() += 1;
                Err(ApiError::new("ep", ErrorClass::Transient, "flaky"))
            }
        })
        .await;
        assert!(out.is_err());
        assert_eq!(*calls.lock().unwrap(), 4, "1 try + 3 retries");

        let calls = Arc::new(Mutex::new(0));
        let c = Arc::clone(&calls);
        let out: Result<(), _> = with_retry(&policy(), &counters, "ep2", true, move || {
            let c = Arc::clone(&c);
            async move {
                *c.lock().unwrap() += 1;
                let mut e = ApiError::new("ep2", ErrorClass::Throttling, "slow down");
                e.retry_after = Some(Duration::from_secs(3600));
                Err(e)
            }
        })
        .await;
        assert!(out.is_err());
        assert_eq!(
            *calls.lock().unwrap(),
            1,
            "an hour's Retry-After exceeds the cap"
        );
    }

    #[test]
    fn statuses_map_to_classes_in_each_apis_words() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-05-04T08:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let mut wait = HeaderMap::new();
        wait.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        let none = HeaderMap::new();
        let refused = |s: u16| format!("refused ({s})");
        let said = || "it said so".to_string();
        let strict = Wording {
            refused: &[403],
            refused_message: &refused,
            said: &said,
            server_retry_after: false,
        };
        let lenient = Wording {
            refused: &[401, 403],
            refused_message: &refused,
            said: &said,
            server_retry_after: true,
        };
        let secs = |n| Some(Duration::from_secs(n));
        // (status, headers, body, wording, class, message, retry_after)
        type Case<'a> = (
            u16,
            &'a HeaderMap,
            &'a str,
            &'a Wording<'a>,
            ErrorClass,
            &'a str,
            Option<Duration>,
        );
        let cases: Vec<Case> = vec![
            (
                200,
                &none,
                "not json",
                &strict,
                ErrorClass::Decode,
                "malformed JSON (expected ident at line 1 column 2): not json",
                None,
            ),
            (
                429,
                &wait,
                "slow  down\n",
                &strict,
                ErrorClass::Throttling,
                "throttled (429): slow down",
                secs(7),
            ),
            (
                429,
                &none,
                "",
                &lenient,
                ErrorClass::Throttling,
                "throttled (429): ",
                None,
            ),
            (
                403,
                &none,
                "",
                &strict,
                ErrorClass::Client,
                "refused (403)",
                None,
            ),
            (
                401,
                &none,
                "",
                &strict,
                ErrorClass::Client,
                "HTTP 401: it said so",
                None,
            ),
            (
                401,
                &none,
                "",
                &lenient,
                ErrorClass::Client,
                "refused (401)",
                None,
            ),
            (
                503,
                &wait,
                "",
                &strict,
                ErrorClass::Server,
                "server error 503: it said so",
                None,
            ),
            (
                503,
                &wait,
                "",
                &lenient,
                ErrorClass::Server,
                "server error 503: it said so",
                secs(7),
            ),
            (
                500,
                &none,
                "",
                &lenient,
                ErrorClass::Server,
                "server error 500: it said so",
                None,
            ),
            (
                404,
                &wait,
                "",
                &lenient,
                ErrorClass::Client,
                "HTTP 404: it said so",
                None,
            ),
            (
                302,
                &none,
                "",
                &strict,
                ErrorClass::Client,
                "HTTP 302: it said so",
                None,
            ),
        ];
        for (status, headers, body, wording, class, message, retry_after) in cases {
            let e = classify_status("ep", status, headers, body.as_bytes(), now, wording)
                .expect_err(&format!("{status} is an error"));
            assert_eq!(
                (
                    e.class,
                    e.message.as_str(),
                    e.retry_after,
                    e.status,
                    e.endpoint.as_str()
                ),
                (class, message, retry_after, Some(status), "ep"),
                "{status} {body:?}"
            );
        }
        let ok = classify_status("ep", 201, &none, br#"{"a":1}"#, now, &strict).unwrap();
        assert_eq!(ok, serde_json::json!({"a": 1}));
    }
}
