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
//! - `GET /healthz` (store reachable, last event, queue depth) and `GET /metrics` (Prometheus text).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sha2::Digest;
use tokio::sync::{Notify, mpsc, oneshot};

use std::collections::BTreeMap;

use crate::adapters::cin7::Cin7Client;
use crate::adapters::http::{Counters, build_client};
use crate::adapters::shopify::ShopifyClient;
use crate::adapters::shopify::webhook::{
    self, Topic, Verification, apply_refund, order_from_webhook, refund_from_webhook,
};
use crate::app::draft::{Confirm, DraftOptions, draft};
use crate::cli::ListenArgs;
use crate::clock::Clock;
use crate::config::Settings;
use crate::core::model::Order;
use crate::output::progress::Progress;
use crate::store::{Store, WebhookEvent};

/// Shopify's bodies are small; anything bigger is refused before it is read whole.
pub const MAX_BODY: usize = 1 << 20;

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
    pub fn render(&self, queue_depth: u64) -> String {
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
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"
            ));
        }
        out.push_str(&format!(
            "# HELP replenish_queue_depth Deliveries waiting to be processed.\n# TYPE replenish_queue_depth gauge\nreplenish_queue_depth {queue_depth}\n"
        ));
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

/// Starts the server and its worker on `settings.listen.bind` (port 0: any free port).
pub async fn start(settings: Settings, clock: Clock) -> Result<ListenHandle> {
    let secrets = settings.webhook_secrets()?;
    // The store exists and is migrated before the first request.
    drop(Store::open(&settings.store.path)?);
    // A token that may not read what the worker re-reads stops the listener now (exit 2).
    let shopify = crate::app::access::orders_client(
        &settings,
        &Counters::default(),
        clock,
        settings.policy.velocity_window_days + 1,
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(&settings.listen.bind)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen.bind))?;
    let addr = listener.local_addr()?;
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
    });
    // A plain thread (not the runtime's blocking pool), so that a runtime shutting down never
    // waits on it; it ends when the last sender is dropped.
    {
        let path = settings.store.path.clone();
        std::thread::Builder::new()
            .name("replenish-listen-writer".into())
            .spawn(move || writer_task(path, writer_rx))
            .context("cannot start the listen writer")?;
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
    let app = Router::new()
        .route("/webhooks/shopify", post(receive))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(refuse_declared_oversize))
        .with_state(shared.clone());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await;
    });
    Ok(ListenHandle {
        addr,
        shared,
        shutdown: Some(stop_tx),
        tasks: vec![server],
        worker: Some(worker),
    })
}

/// A request that declares a body over [`MAX_BODY`] is answered 413 before any of it is read (a
/// body without a declared length is cut off at the limit by `DefaultBodyLimit`).
async fn refuse_declared_oversize(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the body is larger than 1 MiB",
        )
            .into_response();
    }
    next.run(request).await
}

/// The one task that writes deliveries: takes whatever is queued and commits it together.
fn writer_task(path: std::path::PathBuf, mut rx: mpsc::Receiver<WriteRequest>) {
    let mut store = match Store::open(&path) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("listen: cannot open the store for writing: {e}");
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
                let mut at = 0;
                for (events, reply) in batch {
                    let n = events.len();
                    let _ = reply.send(Ok(fresh[at..at + n].to_vec()));
                    at += n;
                }
            }
            Err(e) => {
                let message = e.to_string();
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

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let m = &shared.metrics;
    let (current, old) = &shared.secrets;
    match webhook::verify_with(
        current,
        old.as_ref(),
        &body,
        webhook::header(&headers, webhook::HEADER_HMAC),
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
    let topic_text = webhook::header(&headers, webhook::HEADER_TOPIC).unwrap_or("");
    let Some(topic) = Topic::parse(topic_text) else {
        m.ignored.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            topic = topic_text,
            "ignoring a webhook topic the tool does not use"
        );
        return (StatusCode::OK, "ignored").into_response();
    };
    let event_id = webhook::event_id(&headers)
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
        body: body.to_vec(),
    };
    let state = if malformed { "malformed" } else { "pending" };
    let fresh = match record(&shared, event, state).await {
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

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let store = Store::open(&shared.store_path).and_then(|s| s.event_counts());
    let last = shared.last_event.lock().ok().and_then(|l| *l);
    match store {
        Ok(counts) => {
            let body = serde_json::json!({
                "status": "ok",
                "store": "reachable",
                "last_event_at": last.map(|t| t.to_rfc3339()),
                "queue_depth": counts.get("pending").copied().unwrap_or(0),
            });
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "error", "store": e.to_string()})),
        )
            .into_response(),
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let depth = Store::open(&shared.store_path)
        .and_then(|s| s.event_counts())
        .map(|c| c.get("pending").copied().unwrap_or(0))
        .unwrap_or(0);
    (
        StatusCode::OK,
        [("content-type", "text/plain; version=0.0.4")],
        shared.metrics.render(depth),
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
            "created" => shared
                .metrics
                .drafts_created
                .fetch_add(1, Ordering::Relaxed),
            "updated" => shared
                .metrics
                .drafts_updated
                .fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }
    tracing::info!(
        skus = skus.len(),
        outcome = report.outcome,
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
