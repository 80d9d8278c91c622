//! `replenish listen`: the event-driven path. An HTTP server takes Shopify webhooks
//! (`orders/paid`, `orders/updated`, `orders/cancelled`, `refunds/create`), verifies each (HMAC of
//! the raw body, old and new secret during a rotation), records it in the store and answers 200
//! at once; a worker then coalesces the affected SKUs over `listen.debounce_ms`, updates the
//! orders, refreshes Cin7 availability for just those SKUs, and drafts through the same
//! exactly-once path as `draft` — so three orders in a burst give one PO, not three.
//!
//! - Acknowledgement: verify, then one durable write through a single writer task that commits
//!   whatever is queued in one transaction (grouped commits), then 200. Nothing else is done
//!   before the answer. A restart loses nothing: accepted events stay `pending` in the store until
//!   processed, and the worker starts with them.
//! - Dedupe: on `X-Shopify-Event-Id` (else `X-Shopify-Webhook-Id`, else the body's SHA-256), so a
//!   delivery seen twice is processed once; an order snapshot older than the stored one is
//!   ignored by the store's upsert.
//! - The worker re-reads each order a batch names through GraphQL (the sync's own query, filtered
//!   by id), so both paths store identical records. When that read fails or finds nothing, the
//!   webhook body is mapped to the same internal order instead (fulfillment-order locations are
//!   not in it: the stored one is kept), and a refund is applied to the stored order.
//! - After processing a batch, the worker plans the whole store (the core is fast enough that
//!   re-planning only the touched units is not worth a second code path) and runs `draft`'s
//!   exactly-once drafting under the writer lock, without a full sync.
//! - `GET /healthz` (store reachable, last event, queue depth) and `GET /metrics` (Prometheus text),
//!   answered from memory: the queue depth is counted by the writer and the worker, and a probe
//!   thread checks the store every few seconds, so no request opens the store.
//! - Hostile input (anyone who can reach the port, without the secret): the HTTP/1.1 server is
//!   driven here rather than by `axum::serve`, so that every connection has a deadline for its
//!   request head (`listen.header_timeout_ms`, from the connection's opening for its first
//!   request, from the first byte of each later one), for its body (`listen.body_timeout_ms`) and
//!   for idling between requests (`listen.idle_timeout_ms`); at most `listen.max_connections` are
//!   served at once (a few more get a quick 503, `/healthz` and `/metrics` still answered; beyond
//!   those the socket is closed at once); and request bodies held in memory — reserved at the
//!   declared length before any is read, or as they arrive, and released once the delivery is
//!   recorded — are capped at `listen.max_buffered_mib` (503 beyond).
//!   Not here: TLS, per-client rate limits — the reverse proxy in front does those.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use secrecy::SecretString;
use sha2::Digest;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};

use std::collections::BTreeMap;

use crate::adapters::cin7::Cin7Client;
use crate::adapters::http::{Counters, build_client};
use crate::adapters::shopify::ShopifyClient;
use crate::adapters::shopify::webhook::{
    self, Topic, Verification, apply_refund, order_from_webhook, refund_from_webhook,
};
use crate::app::draft::{Confirm, DraftOptions, PoResult, draft};
use crate::cli::ListenArgs;
use crate::clock::Clock;
use crate::config::Settings;
use crate::core::model::Order;
use crate::output::progress::Progress;
use crate::store::{Store, WebhookEvent};

/// Shopify's bodies are small; anything bigger is refused before it is read whole.
pub const MAX_BODY: usize = 1 << 20;

/// Connections over `listen.max_connections` that are still read (briefly, one request, no
/// keep-alive) to answer 503 — or `/healthz` and `/metrics` — rather than being closed unanswered.
pub const OVERFLOW_CONNECTIONS: usize = 64;

/// The longest an overflow connection may take to send its request head or sit idle.
const OVERFLOW_TIMEOUT: Duration = Duration::from_secs(1);

/// A request head larger than this is answered 431 (Shopify's are a few KiB).
const MAX_HEADER_BYTES: usize = 16 << 10;

/// Each connection's read buffer stops growing here (hyper's default is ~400 KiB).
const MAX_READ_BUFFER: usize = 64 << 10;

/// Connections the kernel queues before `accept` (capped by `net.core.somaxconn`; tokio's
/// default is 1024).
const LISTEN_BACKLOG: u32 = 4096;

/// How often the probe thread checks that the store can be opened and read.
const STORE_PROBE_EVERY: Duration = Duration::from_secs(5);

/// Latency buckets of the acknowledgement histogram, in seconds.
const ACK_BUCKETS: [f64; 8] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub received: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected: AtomicU64,
    pub malformed: AtomicU64,
    pub ignored: AtomicU64,
    pub processed: AtomicU64,
    pub failed: AtomicU64,
    pub drafts_created: AtomicU64,
    pub drafts_updated: AtomicU64,
    /// Connections over `listen.max_connections` (answered 503 on the overflow lane, or closed).
    pub connections_refused: AtomicU64,
    /// Connections closed because their request head did not arrive within the header timeout.
    pub header_timeouts: AtomicU64,
    /// Requests answered 408 because their body did not arrive within the body timeout.
    pub body_timeouts: AtomicU64,
    /// Keep-alive connections closed after idling for the idle timeout.
    pub idle_closed: AtomicU64,
    /// Deliveries answered 503 because the bodies in memory were at `listen.max_buffered_mib`.
    pub busy: AtomicU64,
    ack_buckets: [AtomicU64; ACK_BUCKETS.len()],
    ack_count: AtomicU64,
    ack_sum_us: AtomicU64,
}

impl Metrics {
    fn observe_ack(&self, elapsed: Duration) {
        let s = elapsed.as_secs_f64();
        for (i, le) in ACK_BUCKETS.iter().enumerate() {
            if s <= *le {
                self.ack_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.ack_count.fetch_add(1, Ordering::Relaxed);
        self.ack_sum_us
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// Prometheus text exposition.
    pub fn render(&self, gauges: &Gauges) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        for (name, help, v) in [
            (
                "replenish_webhooks_received_total",
                "Webhook deliveries accepted (new).",
                g(&self.received),
            ),
            (
                "replenish_webhooks_duplicate_total",
                "Deliveries already seen (not processed again).",
                g(&self.duplicates),
            ),
            (
                "replenish_webhooks_rejected_total",
                "Deliveries refused for a missing or wrong signature.",
                g(&self.rejected),
            ),
            (
                "replenish_webhooks_malformed_total",
                "Signed deliveries whose body is not JSON.",
                g(&self.malformed),
            ),
            (
                "replenish_webhooks_ignored_total",
                "Deliveries of topics the tool does not use.",
                g(&self.ignored),
            ),
            (
                "replenish_events_processed_total",
                "Deliveries processed.",
                g(&self.processed),
            ),
            (
                "replenish_events_failed_total",
                "Deliveries that could not be applied.",
                g(&self.failed),
            ),
            (
                "replenish_drafts_created_total",
                "Draft purchase orders created by the listener.",
                g(&self.drafts_created),
            ),
            (
                "replenish_drafts_updated_total",
                "Draft purchase orders updated by the listener.",
                g(&self.drafts_updated),
            ),
            (
                "replenish_http_connections_refused_total",
                "Connections over listen.max_connections (503, or closed).",
                g(&self.connections_refused),
            ),
            (
                "replenish_http_header_timeouts_total",
                "Connections closed for not sending a request head within listen.header_timeout_ms.",
                g(&self.header_timeouts),
            ),
            (
                "replenish_http_body_timeouts_total",
                "Requests answered 408 for not sending their body within listen.body_timeout_ms.",
                g(&self.body_timeouts),
            ),
            (
                "replenish_http_idle_closed_total",
                "Keep-alive connections closed after listen.idle_timeout_ms without a request.",
                g(&self.idle_closed),
            ),
            (
                "replenish_http_busy_total",
                "Deliveries answered 503 because request bodies in memory reached listen.max_buffered_mib.",
                g(&self.busy),
            ),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"
            ));
        }
        for (name, help, v) in [
            (
                "replenish_queue_depth",
                "Deliveries waiting to be processed.",
                gauges.queue_depth,
            ),
            (
                "replenish_http_connections_open",
                "Connections being served (at most listen.max_connections).",
                gauges.connections_open,
            ),
            (
                "replenish_http_buffered_bytes",
                "Bytes of request bodies held in memory (at most listen.max_buffered_mib).",
                gauges.buffered_bytes,
            ),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"
            ));
        }
        let name = "replenish_webhook_ack_seconds";
        out.push_str(&format!(
            "# HELP {name} Time from request to acknowledgement.\n# TYPE {name} histogram\n"
        ));
        for (i, le) in ACK_BUCKETS.iter().enumerate() {
            out.push_str(&format!(
                "{name}_bucket{{le=\"{le}\"}} {}\n",
                g(&self.ack_buckets[i])
            ));
        }
        let count = g(&self.ack_count);
        out.push_str(&format!("{name}_bucket{{le=\"+Inf\"}} {count}\n"));
        out.push_str(&format!(
            "{name}_sum {}\n{name}_count {count}\n",
            g(&self.ack_sum_us) as f64 / 1e6
        ));
        out
    }
}

/// The gauges `/metrics` shows beside the counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    pub queue_depth: u64,
    pub connections_open: u64,
    pub buffered_bytes: u64,
}

/// What `/healthz` reports, kept current by the writer, the worker and the probe thread so that
/// answering never touches the store.
#[derive(Debug)]
struct Health {
    /// Pending deliveries: counted at start, +1 per new pending delivery the writer records, −1
    /// per delivery the worker marks (signed: the two threads may pass each other).
    queue_depth: AtomicI64,
    /// The store's state as last seen by the probe or the writer: `Err` holds the error.
    store: Mutex<Result<(), String>>,
}

impl Health {
    fn queue_depth(&self) -> u64 {
        u64::try_from(self.queue_depth.load(Ordering::Relaxed).max(0)).unwrap_or(0)
    }
    fn set_store(&self, state: Result<(), String>) {
        if let Ok(mut s) = self.store.lock() {
            *s = state;
        }
    }
    fn store(&self) -> Result<(), String> {
        self.store
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|_| Err("health state poisoned".into()))
    }
}

/// The server's limits on hostile input, from `[listen]`.
#[derive(Debug, Clone, Copy)]
struct Limits {
    header_timeout: Duration,
    body_timeout: Duration,
    idle_timeout: Duration,
    max_connections: usize,
    max_buffered: usize,
}

impl Limits {
    fn from(settings: &crate::config::ListenSettings) -> Limits {
        Limits {
            header_timeout: Duration::from_millis(settings.header_timeout_ms),
            body_timeout: Duration::from_millis(settings.body_timeout_ms),
            idle_timeout: Duration::from_millis(settings.idle_timeout_ms),
            max_connections: settings.max_connections as usize,
            max_buffered: (settings.max_buffered_mib as usize).saturating_mul(1 << 20),
        }
    }
}

/// A write for the writer task: deliveries to record, and where to say which were new.
type WriteRequest = (
    Vec<(WebhookEvent, &'static str)>,
    oneshot::Sender<Result<Vec<bool>, String>>,
);

struct Shared {
    secrets: (SecretString, Option<SecretString>),
    writer: mpsc::Sender<WriteRequest>,
    work: Notify,
    metrics: Arc<Metrics>,
    last_event: Mutex<Option<DateTime<Utc>>>,
    store_path: std::path::PathBuf,
    clock: Clock,
    /// Re-reads the orders deliveries name (configured by the token's scopes at start).
    shopify: ShopifyClient,
    busy: AtomicBool,
    stopping: AtomicBool,
    health: Arc<Health>,
    limits: Limits,
    /// One permit per connection served (`listen.max_connections`).
    connections: Arc<Semaphore>,
    /// One permit per byte of request body held in memory (`listen.max_buffered_mib`).
    buffered: Arc<Semaphore>,
}

impl Shared {
    fn gauges(&self) -> Gauges {
        let used = |s: &Semaphore, of: usize| of.saturating_sub(s.available_permits()) as u64;
        Gauges {
            queue_depth: self.health.queue_depth(),
            connections_open: used(&self.connections, self.limits.max_connections),
            buffered_bytes: used(&self.buffered, self.limits.max_buffered),
        }
    }
}

/// A running listener.
pub struct ListenHandle {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl ListenHandle {
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Connections being served now (at most `listen.max_connections`; overflow not counted).
    pub fn connections_open(&self) -> u64 {
        self.shared.gauges().connections_open
    }

    /// Bytes of request bodies held in memory now (reserved by declared length or as read).
    pub fn buffered_bytes(&self) -> u64 {
        self.shared.gauges().buffered_bytes
    }

    /// Waits until every accepted delivery is processed and the worker is idle (for tests and
    /// benchmarks); false on timeout.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < timeout {
            let pending = Store::open(&self.shared.store_path)
                .and_then(|s| s.pending_events(1))
                .map(|p| p.len())
                .unwrap_or(1);
            if pending == 0 && !self.shared.busy.load(Ordering::SeqCst) {
                // Once more after a debounce-length pause: a batch may have just been taken.
                tokio::time::sleep(Duration::from_millis(50)).await;
                if !self.shared.busy.load(Ordering::SeqCst) {
                    return true;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// Stops serving and lets the worker finish the batch it is on (deliveries not processed yet
    /// stay pending in the store).
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.work.notify_one();
        if let Some(w) = self.worker.take() {
            let _ = tokio::task::spawn_blocking(move || w.join()).await;
        }
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

pub async fn exec(
    settings: &Settings,
    args: &ListenArgs,
    clock: Clock,
) -> Result<std::process::ExitCode> {
    settings.cin7_credentials()?;
    settings.shopify_token()?;
    settings.webhook_secrets()?;
    let mut settings = settings.clone();
    if let Some(bind) = &args.bind {
        settings.listen.bind = bind.clone();
    }
    if let Some(ms) = args.debounce_ms {
        settings.listen.debounce_ms = ms;
    }
    let handle = start(settings.clone(), clock).await?;
    eprintln!(
        "listening for Shopify webhooks on http://{}/webhooks/shopify (health: /healthz, metrics: /metrics)",
        handle.addr
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    eprintln!("stopping; accepted deliveries not processed yet stay in the store for next time");
    handle.shutdown().await;
    Ok(std::process::ExitCode::SUCCESS)
}

/// A warning for a bind address other machines can reach: `listen` speaks plain HTTP and expects a
/// TLS-terminating reverse proxy on the same host in front of it.
pub fn exposure_warning(addr: &SocketAddr) -> Option<String> {
    (!addr.ip().is_loopback()).then(|| {
        format!(
            "listen.bind {addr} is not a loopback address: the listener speaks plain HTTP and can be \
             reached from other machines; bind 127.0.0.1 and put a TLS-terminating reverse proxy in \
             front (Shopify delivers only to HTTPS)"
        )
    })
}

/// Binds `spec` (host:port) with a listen backlog of [`LISTEN_BACKLOG`]: a burst of connections
/// beyond the kernel's queue waits a second for the SYN to be sent again.
async fn bind(spec: &str) -> std::io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host(spec).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket
            .bind(addr)
            .and_then(|()| socket.listen(LISTEN_BACKLOG))
        {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the address resolves to nothing",
        )
    }))
}

/// Starts the server and its worker on `settings.listen.bind` (port 0: any free port).
pub async fn start(settings: Settings, clock: Clock) -> Result<ListenHandle> {
    let secrets = settings.webhook_secrets()?;
    // The store exists and is migrated before the first request; its pending deliveries start
    // the queue depth.
    let pending = Store::open(&settings.store.path)?
        .event_counts()?
        .get("pending")
        .copied()
        .unwrap_or(0);
    // A token that may not read what the worker re-reads stops the listener now (exit 2).
    let shopify = crate::app::access::orders_client(
        &settings,
        &Counters::default(),
        clock,
        settings.policy.history_window_days() + 1,
    )
    .await?;
    let listener = bind(&settings.listen.bind)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen.bind))?;
    let addr = listener.local_addr()?;
    if let Some(warning) = exposure_warning(&addr) {
        tracing::warn!("{warning}");
    }
    let limits = Limits::from(&settings.listen);
    let health = Arc::new(Health {
        queue_depth: AtomicI64::new(i64::try_from(pending).unwrap_or(i64::MAX)),
        store: Mutex::new(Ok(())),
    });
    let (writer_tx, writer_rx) = mpsc::channel::<WriteRequest>(4096);
    let shared = Arc::new(Shared {
        secrets,
        writer: writer_tx,
        work: Notify::new(),
        metrics: Arc::new(Metrics::default()),
        last_event: Mutex::new(None),
        store_path: settings.store.path.clone(),
        clock,
        shopify,
        busy: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
        health: health.clone(),
        limits,
        connections: Arc::new(Semaphore::new(limits.max_connections)),
        buffered: Arc::new(Semaphore::new(limits.max_buffered)),
    });
    // A plain thread (not the runtime's blocking pool), so that a runtime shutting down never
    // waits on it; it ends when the last sender is dropped.
    {
        let path = settings.store.path.clone();
        let health = health.clone();
        std::thread::Builder::new()
            .name("replenish-listen-writer".into())
            .spawn(move || writer_task(path, writer_rx, &health))
            .context("cannot start the listen writer")?;
    }
    // The store probe, for /healthz; it ends with the listener.
    {
        let path = settings.store.path.clone();
        let shared = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("replenish-listen-probe".into())
            .spawn(move || probe_task(path, shared))
            .context("cannot start the listen store probe")?;
    }
    // The worker drives the same (not `Send`) code as `draft`, so it runs on its own thread with
    // its own single-threaded runtime.
    let worker = {
        let settings = settings.clone();
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("replenish-listen-worker".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(worker_task(settings, shared)),
                    Err(e) => tracing::error!("listen: cannot start the worker: {e}"),
                }
            })
            .context("cannot start the listen worker")?
    };
    // Deliveries accepted before a restart are processed first.
    shared.work.notify_one();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(accept_loop(listener, shared.clone(), stop_rx));
    Ok(ListenHandle {
        addr,
        shared,
        shutdown: Some(stop_tx),
        tasks: vec![server],
        worker: Some(worker),
    })
}

/// Reads the store every few seconds on its own connection (opened again after a failure), for
/// `/healthz`.
fn probe_task(path: std::path::PathBuf, shared: Weak<Shared>) {
    let step = Duration::from_millis(100);
    let mut waited = Duration::ZERO;
    let mut store: Option<Store> = None;
    loop {
        std::thread::sleep(step);
        waited += step;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        if waited < STORE_PROBE_EVERY {
            continue;
        }
        waited = Duration::ZERO;
        let health = shared.health.clone();
        // Not held while the store is read: a slow store must not keep the listener alive.
        drop(shared);
        let read = match store.take() {
            Some(s) => Ok(s),
            None => Store::open(&path),
        }
        .and_then(|s| s.event_counts().map(|_| s));
        match read {
            Ok(s) => {
                store = Some(s);
                health.set_store(Ok(()));
            }
            Err(e) => health.set_store(Err(e.to_string())),
        }
    }
}

/// Which service a connection gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// Under `listen.max_connections`: everything, with keep-alive.
    Main,
    /// Over it: one request, `/healthz` and `/metrics` answered, anything else 503.
    Overflow,
}

/// Accepts connections until told to stop; each is served on its own task, within the limits.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    let (stopping_tx, stopping) = watch::channel(false);
    let overflow = Arc::new(Semaphore::new(OVERFLOW_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors or memory (the caps keep this away): wait rather than spin.
                tracing::warn!("listen: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        match shared.connections.clone().try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(serve_connection(
                    stream,
                    shared.clone(),
                    Lane::Main,
                    stopping.clone(),
                    permit,
                ));
            }
            Err(_) => {
                shared
                    .metrics
                    .connections_refused
                    .fetch_add(1, Ordering::Relaxed);
                match overflow.clone().try_acquire_owned() {
                    Ok(permit) => {
                        tokio::spawn(serve_connection(
                            stream,
                            shared.clone(),
                            Lane::Overflow,
                            stopping.clone(),
                            permit,
                        ));
                    }
                    // Closed at once: the client sees the connection end, not a hang.
                    Err(_) => drop(stream),
                }
            }
        }
    }
    let _ = stopping_tx.send(true);
}

/// Where a connection stands, for its deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading a request head (since the connection opened, or since its first byte).
    Head,
    /// A request is being handled (its body has its own deadline).
    Request,
    /// Between requests.
    Idle,
}

/// A connection's phase and when it began, shared by its socket, its service and its watchdog.
struct Watch {
    phase: Mutex<(Phase, Instant)>,
    changed: Notify,
}

impl Watch {
    fn new() -> Watch {
        Watch {
            phase: Mutex::new((Phase::Head, Instant::now())),
            changed: Notify::new(),
        }
    }
    fn get(&self) -> (Phase, Instant) {
        self.phase
            .lock()
            .map(|p| *p)
            .unwrap_or((Phase::Request, Instant::now()))
    }
    fn set(&self, phase: Phase) {
        if let Ok(mut p) = self.phase.lock() {
            *p = (phase, Instant::now());
        }
        self.changed.notify_one();
    }
    /// Bytes arrived: an idle connection has started its next request head.
    fn read_some(&self) {
        let started = match self.phase.lock() {
            Ok(mut p) if p.0 == Phase::Idle => {
                *p = (Phase::Head, Instant::now());
                true
            }
            _ => false,
        };
        if started {
            self.changed.notify_one();
        }
    }
}

/// The socket, telling its [`Watch`] when bytes arrive.
struct Watched {
    stream: TcpStream,
    watch: Arc<Watch>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.watch.read_some();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Serves one connection (HTTP/1.1) until it ends, a deadline passes or the listener stops. A
/// connection whose head or idle deadline passes is closed without an answer.
async fn serve_connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    lane: Lane,
    mut stopping: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let limits = shared.limits;
    let (header_timeout, idle_timeout) = match lane {
        Lane::Main => (limits.header_timeout, limits.idle_timeout),
        Lane::Overflow => (
            limits.header_timeout.min(OVERFLOW_TIMEOUT),
            limits.idle_timeout.min(OVERFLOW_TIMEOUT),
        ),
    };
    let watch = Arc::new(Watch::new());
    let io = TokioIo::new(Watched {
        stream,
        watch: watch.clone(),
    });
    let service = {
        let shared = shared.clone();
        let watch = watch.clone();
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let shared = shared.clone();
            let watch = watch.clone();
            async move {
                watch.set(Phase::Request);
                let response = match lane {
                    Lane::Main => route(&shared, request).await,
                    Lane::Overflow => route_overflow(&shared, request),
                };
                watch.set(Phase::Idle);
                Ok::<_, Infallible>(response)
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .keep_alive(lane == Lane::Main)
        // The deadlines are this function's (hyper's own runs one timer for head and idle both).
        .header_read_timeout(None)
        .max_header_size(MAX_HEADER_BYTES)
        .max_buf_size(MAX_READ_BUFFER);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut stop_asked = false;
    loop {
        let (phase, since) = watch.get();
        let deadline = match phase {
            Phase::Head => Some(since + header_timeout),
            Phase::Idle => Some(since + idle_timeout),
            Phase::Request => None,
        };
        let expired = async move {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = watch.changed.notified() => {}
            _ = stopping.changed(), if !stop_asked => {
                stop_asked = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = expired => {
                if watch.get() == (phase, since) {
                    let counter = if phase == Phase::Head {
                        &shared.metrics.header_timeouts
                    } else {
                        &shared.metrics.idle_closed
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    // Dropping the connection closes the socket.
                    return;
                }
            }
        }
    }
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (status, body).into_response()
}

/// The same, closing the connection after it (the request's body was not read whole).
fn text_and_close(status: StatusCode, body: &'static str) -> Response {
    let mut response = text(status, body);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

const PATHS: [&str; 3] = ["/webhooks/shopify", "/healthz", "/metrics"];

async fn route(shared: &Arc<Shared>, request: Request<Incoming>) -> Response {
    let method = request.method().clone();
    match (method, request.uri().path()) {
        (Method::POST, "/webhooks/shopify") => webhook(shared, request).await,
        (Method::GET | Method::HEAD, "/healthz") => healthz(shared),
        (Method::GET | Method::HEAD, "/metrics") => metrics(shared),
        (_, path) if PATHS.contains(&path) => {
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        }
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

/// A connection over the cap: health and metrics still answer (from memory), deliveries are
/// told to come back (Shopify retries a 503).
fn route_overflow(shared: &Arc<Shared>, request: Request<Incoming>) -> Response {
    match (request.method(), request.uri().path()) {
        (&Method::GET | &Method::HEAD, "/healthz") => healthz(shared),
        (&Method::GET | &Method::HEAD, "/metrics") => metrics(shared),
        _ => text_and_close(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many connections (listen.max_connections); retry shortly",
        ),
    }
}

/// `POST /webhooks/shopify`: the body is read within the limits, then [`receive`]d.
async fn webhook(shared: &Arc<Shared>, request: Request<Incoming>) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    // Declared over the limit: refused before any of it is read.
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return text_and_close(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the body is larger than 1 MiB",
        );
    }
    let declared = declared.map(|n| n as usize);
    let (body, permit) = match read_body(shared, body, declared).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let response = receive(shared, &parts.headers, body).await;
    // The body's bytes are released once it is recorded (or refused).
    drop(permit);
    response
}

/// Reads a request body whole, within [`MAX_BODY`], `listen.body_timeout_ms` and the bytes left
/// under `listen.max_buffered_mib` (a declared length is reserved before anything is read).
async fn read_body(
    shared: &Shared,
    mut body: Incoming,
    declared: Option<usize>,
) -> Result<(Vec<u8>, OwnedSemaphorePermit), Response> {
    let busy = || {
        shared.metrics.busy.fetch_add(1, Ordering::Relaxed);
        text_and_close(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many request bodies in flight (listen.max_buffered_mib); retry shortly",
        )
    };
    let reserve = |n: usize| {
        u32::try_from(n)
            .ok()
            .and_then(|n| shared.buffered.clone().try_acquire_many_owned(n).ok())
    };
    let Some(mut permit) = reserve(declared.unwrap_or(0)) else {
        return Err(busy());
    };
    let mut buf: Vec<u8> = Vec::with_capacity(declared.unwrap_or(0));
    let deadline = tokio::time::Instant::now() + shared.limits.body_timeout;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => {
                shared.metrics.body_timeouts.fetch_add(1, Ordering::Relaxed);
                return Err(text_and_close(
                    StatusCode::REQUEST_TIMEOUT,
                    "the body did not arrive in time",
                ));
            }
            Ok(None) => break,
            Ok(Some(Err(_))) => {
                return Err(text_and_close(
                    StatusCode::BAD_REQUEST,
                    "the body could not be read",
                ));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let len = buf.len() + data.len();
        if len > MAX_BODY {
            return Err(text_and_close(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the body is larger than 1 MiB",
            ));
        }
        if len > permit.num_permits() {
            // No declared length (chunked): reserve in doubling steps, as the buffer grows.
            let want = len.max(permit.num_permits() * 2).clamp(16 << 10, MAX_BODY);
            let Some(more) = reserve(want - permit.num_permits()) else {
                return Err(busy());
            };
            permit.merge(more);
            buf.reserve_exact(want - buf.len());
        }
        buf.extend_from_slice(&data);
    }
    Ok((buf, permit))
}

/// The one task that writes deliveries: takes whatever is queued and commits it together.
fn writer_task(path: std::path::PathBuf, mut rx: mpsc::Receiver<WriteRequest>, health: &Health) {
    let mut store = match Store::open(&path) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("listen: cannot open the store for writing: {e}");
            health.set_store(Err(e.to_string()));
            return;
        }
    };
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let all: Vec<(WebhookEvent, &'static str)> = batch
            .iter()
            .flat_map(|(events, _)| events.iter().cloned())
            .collect();
        match store.write(|w| w.record_events(&all)) {
            Ok(fresh) => {
                let queued = all
                    .iter()
                    .zip(&fresh)
                    .filter(|((_, state), new)| **new && *state == "pending")
                    .count();
                health
                    .queue_depth
                    .fetch_add(i64::try_from(queued).unwrap_or(0), Ordering::Relaxed);
                health.set_store(Ok(()));
                let mut at = 0;
                for (events, reply) in batch {
                    let n = events.len();
                    let _ = reply.send(Ok(fresh[at..at + n].to_vec()));
                    at += n;
                }
            }
            Err(e) => {
                let message = e.to_string();
                health.set_store(Err(message.clone()));
                for (_, reply) in batch {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }
}

async fn record(shared: &Shared, event: WebhookEvent, state: &'static str) -> Result<bool, String> {
    let (tx, rx) = oneshot::channel();
    shared
        .writer
        .send((vec![(event, state)], tx))
        .await
        .map_err(|_| "the store writer stopped".to_string())?;
    rx.await
        .map_err(|_| "the store writer stopped".to_string())?
        .map(|fresh| fresh.first().copied().unwrap_or(false))
}

async fn receive(shared: &Shared, headers: &HeaderMap, body: Vec<u8>) -> Response {
    let started = Instant::now();
    let m = &shared.metrics;
    let (current, old) = &shared.secrets;
    match webhook::verify_with(
        current,
        old.as_ref(),
        &body,
        webhook::header(headers, webhook::HEADER_HMAC),
    ) {
        Verification::Valid => {}
        Verification::Missing | Verification::Invalid => {
            m.rejected.fetch_add(1, Ordering::Relaxed);
            return (
                StatusCode::UNAUTHORIZED,
                "invalid or missing webhook signature",
            )
                .into_response();
        }
    }
    let topic_text = webhook::header(headers, webhook::HEADER_TOPIC).unwrap_or("");
    let Some(topic) = Topic::parse(topic_text) else {
        m.ignored.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            topic = topic_text,
            "ignoring a webhook topic the tool does not use"
        );
        return (StatusCode::OK, "ignored").into_response();
    };
    let event_id = webhook::event_id(headers)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let digest = sha2::Sha256::digest(&body);
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256:{hex}")
        });
    let malformed = serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err();
    let now = shared.clock.now();
    let event = WebhookEvent {
        event_id,
        topic: topic.as_str().to_string(),
        received_at: now,
        body,
    };
    let state = if malformed { "malformed" } else { "pending" };
    let fresh = match record(shared, event, state).await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!("listen: could not record a delivery: {e}");
            // Shopify retries a 5xx, so nothing is lost.
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "could not record the delivery",
            )
                .into_response();
        }
    };
    if malformed {
        m.malformed.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::BAD_REQUEST,
            "the body is not JSON (recorded for reconcile)",
        )
            .into_response();
    }
    if fresh {
        m.received.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = shared.last_event.lock() {
            *last = Some(now);
        }
        shared.work.notify_one();
    } else {
        m.duplicates.fetch_add(1, Ordering::Relaxed);
    }
    m.observe_ack(started.elapsed());
    (StatusCode::OK, if fresh { "accepted" } else { "duplicate" }).into_response()
}

/// `GET /healthz`, from memory: the store as the probe or the writer last found it, the last
/// delivery, the queue depth.
fn healthz(shared: &Shared) -> Response {
    let last = shared.last_event.lock().ok().and_then(|l| *l);
    let depth = shared.health.queue_depth();
    match shared.health.store() {
        Ok(()) => {
            let body = serde_json::json!({
                "status": "ok",
                "store": "reachable",
                "last_event_at": last.map(|t| t.to_rfc3339()),
                "queue_depth": depth,
            });
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({
                "status": "error",
                "store": e,
                "last_event_at": last.map(|t| t.to_rfc3339()),
                "queue_depth": depth,
            })),
        )
            .into_response(),
    }
}

/// `GET /metrics`, from memory.
fn metrics(shared: &Shared) -> Response {
    (
        StatusCode::OK,
        [("content-type", "text/plain; version=0.0.4")],
        shared.metrics.render(&shared.gauges()),
    )
        .into_response()
}

/// Waits for work, lets a burst gather for `debounce_ms`, then processes everything pending.
async fn worker_task(settings: Settings, shared: Arc<Shared>) {
    let debounce = Duration::from_millis(settings.listen.debounce_ms);
    // SKUs touched by deliveries already applied but not drafted yet (a failed batch keeps them).
    let mut touched: BTreeSet<String> = BTreeSet::new();
    loop {
        if touched.is_empty() {
            shared.work.notified().await;
        } else {
            // A batch failed: try again soon even if no new delivery comes.
            let _ = tokio::time::timeout(Duration::from_secs(5), shared.work.notified()).await;
        }
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        shared.busy.store(true, Ordering::SeqCst);
        tokio::time::sleep(debounce).await;
        if let Err(e) = process(&settings, &shared, &mut touched).await {
            // Applied deliveries are marked in the same transaction as their order; the rest
            // stay pending, and the touched SKUs are kept for the retry.
            tracing::error!("listen: a batch did not finish; retrying in a few seconds: {e:#}");
        }
        shared.busy.store(false, Ordering::SeqCst);
    }
}

/// One batch: apply every pending delivery to the store, refresh the touched SKUs' stock, draft.
async fn process(
    settings: &Settings,
    shared: &Shared,
    touched: &mut BTreeSet<String>,
) -> Result<()> {
    let mut store = Store::open(&settings.store.path)?;
    let shopify = &shared.shopify;
    loop {
        let events = store.pending_events(500)?;
        if events.is_empty() {
            break;
        }
        // Each order the batch names is read once through GraphQL, as the sync reads it
        // (fulfillment-order locations included); when that fails, the webhook body stands in.
        let mut reread: BTreeMap<String, Option<Order>> = BTreeMap::new();
        for e in &events {
            let Some(gid) = order_gid(e) else { continue };
            if reread.contains_key(&gid) {
                continue;
            }
            let fresh = match shopify.order(&gid).await {
                Ok(o) => o,
                Err(err) => {
                    tracing::warn!(
                        "listen: re-reading {gid} failed ({}); using the webhook body",
                        err.message
                    );
                    None
                }
            };
            reread.insert(gid, fresh);
        }
        for e in events {
            let now = shared.clock.now();
            // A delivery that cannot be used (bad payload, refund of an unknown order) is marked
            // failed; a store error leaves it pending (the `?`), to be tried again.
            let update = match resolve(&store, &e, &reread) {
                Ok(u) => u,
                // The store itself failed: the delivery stays pending for the retry.
                Err(err) if err.downcast_ref::<crate::store::StoreError>().is_some() => {
                    return Err(err);
                }
                Err(err) => {
                    shared.metrics.failed.fetch_add(1, Ordering::Relaxed);
                    let message = crate::secrets::redact(&format!("{err:#}")).into_owned();
                    store.write(|w| w.mark_event(&e.event_id, Err(&message), now))?;
                    shared.health.queue_depth.fetch_sub(1, Ordering::Relaxed);
                    continue;
                }
            };
            // The order and the event's "done" in one transaction: never applied twice.
            store.write(|w| {
                if let Some(order) = &update {
                    w.upsert_orders(std::slice::from_ref(order))?;
                }
                w.mark_event(&e.event_id, Ok(()), now)
            })?;
            shared.health.queue_depth.fetch_sub(1, Ordering::Relaxed);
            shared.metrics.processed.fetch_add(1, Ordering::Relaxed);
            for l in update.iter().flat_map(|o| o.lines.iter()) {
                if let Some(sku) = l.sku.as_deref().filter(|s| !s.trim().is_empty()) {
                    touched.insert(sku.to_string());
                }
            }
        }
    }
    if touched.is_empty() {
        return Ok(());
    }
    // One writer at a time: the stock refresh and the drafting happen under the lock, so a cron
    // sync can neither overwrite the fresh rows nor plan between them.
    let _lock = crate::app::acquire_lock(&settings.store.path, Duration::from_secs(120)).await?;
    // Fresh stock for just the touched SKUs (Cin7 SKUs through the mapping table).
    let mapping =
        crate::app::plan::plan_config(settings, crate::core::plan::Explain::None)?.mapping;
    let skus: Vec<String> = touched
        .iter()
        .map(|s| mapping.get(s).cloned().unwrap_or_else(|| s.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let cin7 = Cin7Client::new(
        settings,
        build_client(&settings.http),
        Counters::default(),
        shared.clock,
    )?;
    let mut rows = Vec::new();
    for sku in &skus {
        rows.extend(cin7.availability(Some(sku), &mut |_| {}).await?);
    }
    store.write(|w| w.refresh_availability(&skus, &rows))?;
    // Draft through the exactly-once path.
    let report = draft(
        settings,
        &mut store,
        shared.clock,
        &DraftOptions {
            sync: false,
            dry_run: false,
            confirm: Confirm::Yes,
        },
        &Progress::hidden(),
    )
    .await?;
    for p in &report.purchase_orders {
        match p.result {
            PoResult::Created => shared
                .metrics
                .drafts_created
                .fetch_add(1, Ordering::Relaxed),
            PoResult::Updated => shared
                .metrics
                .drafts_updated
                .fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }
    tracing::info!(
        skus = skus.len(),
        outcome = report.outcome.as_str(),
        "listen: drafted after {} touched SKU(s)",
        skus.len()
    );
    touched.clear();
    Ok(())
}

/// The order gid a delivery is about.
fn order_gid(e: &WebhookEvent) -> Option<String> {
    match Topic::parse(&e.topic)? {
        Topic::RefundsCreate => refund_from_webhook(&e.body).ok().map(|r| r.order_id),
        _ => order_from_webhook(&e.body).ok().map(|o| o.id),
    }
}

/// What one delivery makes of the stored order: the order as Shopify has it now when it could be
/// read, else as the delivery says (a refund applied to the stored order). `None`: nothing to
/// write (a refund the stored order already reflects).
fn resolve(
    store: &Store,
    e: &WebhookEvent,
    reread: &BTreeMap<String, Option<Order>>,
) -> Result<Option<Order>> {
    let topic = Topic::parse(&e.topic).with_context(|| format!("unknown topic {}", e.topic))?;
    if let Some(Some(current)) = order_gid(e).and_then(|gid| reread.get(&gid)) {
        return Ok(Some(current.clone()));
    }
    let mut order = match topic {
        Topic::RefundsCreate => {
            let refund = refund_from_webhook(&e.body)?;
            let Some(mut order) = store.order(&refund.order_id)? else {
                anyhow::bail!(
                    "refund for order {} which the store does not hold yet (the next sync brings it)",
                    refund.order_id
                );
            };
            // A stored order updated at or after the refund already reflects it (a retried
            // delivery, an orders/updated or a sync came first): applying it again would count
            // the refunded units twice.
            if refund.created_at.is_some_and(|at| order.updated_at >= at) {
                return Ok(None);
            }
            apply_refund(&mut order, &refund);
            let at = refund.created_at.unwrap_or(order.updated_at);
            order.updated_at = at.max(order.updated_at + chrono::Duration::milliseconds(1));
            order
        }
        _ => order_from_webhook(&e.body)?,
    };
    if order.fulfillment_location_id.is_none()
        && let Some(stored) = store.order(&order.id)?
    {
        // The webhook body has no fulfillment orders: keep where the stored order ships from.
        order.fulfillment_location_id = stored.fulfillment_location_id;
    }
    Ok(Some(order))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_binds_go_unwarned() {
        for quiet in ["127.0.0.1:8080", "127.0.0.2:80", "[::1]:8080"] {
            let addr: SocketAddr = quiet.parse().unwrap();
            assert_eq!(exposure_warning(&addr), None, "{quiet}");
        }
        for loud in ["0.0.0.0:8080", "[::]:8080", "192.0.2.10:8080"] {
            let addr: SocketAddr = loud.parse().unwrap();
            let warning = exposure_warning(&addr).unwrap_or_default();
            assert!(
                warning.contains("not a loopback address"),
                "{loud}: {warning}"
            );
        }
    }
}
