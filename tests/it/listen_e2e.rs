//! `listen` end to end: signatures (valid, wrong, missing, rotated), body size, malformed bodies and
//! unknown topics; a thousand shuffled deliveries with duplicates ending in the final order
//! states, each processed once; a burst of orders on one SKU giving exactly one draft.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use hmac::{KeyInit, Mac};
use replenish::app::listen::{ListenHandle, start};
use replenish::clock::Clock;
use replenish::config::Settings;
use replenish::sandbox::SandboxHandle;
use replenish::store::Store;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::common::run::plan_at;
use crate::common::sandbox::{sandbox_and_dir, start_world, tick, world};
use crate::common::{first_sync, sandbox_state, t0};

pub(crate) const SECRET: &str = "whsec-new";
const OLD_SECRET: &str = "whsec-old";

pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A REST-shaped `orders/paid` body.
pub(crate) fn order_body(
    id: u64,
    sku: &str,
    quantity: i64,
    updated: &str,
    status: &str,
) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": id,
        "admin_graphql_api_id": format!("gid://shopify/Order/{id}"),
        "name": format!("#W{id}"),
        "created_at": "2026-11-26T10:00:00Z",
        "updated_at": updated,
        "cancelled_at": null,
        "test": false,
        "financial_status": status,
        "location_id": null,
        "line_items": [{
            "id": (id % 1_000_000_000) * 10 + 1,
            "sku": sku,
            "variant_id": null,
            "quantity": quantity,
            "current_quantity": if status == "refunded" { 0 } else { quantity },
            "gift_card": false,
        }],
        "refunds": [],
    }))
    .unwrap()
}

async fn listen(handle: &SandboxHandle, dir: &std::path::Path) -> (Settings, ListenHandle) {
    let (mut settings, store, _) = first_sync(handle, dir).await;
    drop(store);
    settings.shopify.webhook_secret = Some(SecretString::from(SECRET));
    settings.shopify.webhook_secret_old = Some(SecretString::from(OLD_SECRET));
    settings.listen.bind = "127.0.0.1:0".into();
    settings.listen.debounce_ms = 100;
    let l = start(settings.clone(), Clock::starting_at(t0()))
        .await
        .unwrap();
    (settings, l)
}

/// A sandbox of `skus` at `locations`, synced once, and [`listen`] started on its store: the
/// sandbox, the store's folder, the listener's settings and the listener.
async fn listening(
    skus: usize,
    locations: usize,
) -> (SandboxHandle, tempfile::TempDir, Settings, ListenHandle) {
    let (sandbox, dir) = sandbox_and_dir(skus, locations, 0.0).await;
    let (settings, l) = listen(&sandbox, dir.path()).await;
    (sandbox, dir, settings, l)
}

/// Shuts the listener down, then the sandbox.
async fn stop(l: ListenHandle, sandbox: SandboxHandle) {
    l.shutdown().await;
    sandbox.shutdown().await;
}

async fn post(
    client: &reqwest::Client,
    l: &ListenHandle,
    topic: &str,
    event: &str,
    body: Vec<u8>,
    signature: Option<String>,
) -> (u16, String) {
    let mut req = client
        .post(format!("http://{}/webhooks/shopify", l.addr))
        .header("X-Shopify-Topic", topic)
        .header("X-Shopify-Event-Id", event)
        .header("X-Shopify-Shop-Domain", "sandbox.myshopify.com")
        .body(body);
    if let Some(s) = signature {
        req = req.header("X-Shopify-Hmac-Sha256", s);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

/// The status `listen` answers to a signed-looking delivery that declares `length` bytes of body
/// and sends none of them.
async fn declared_length_status(l: &ListenHandle, length: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(l.addr).await.unwrap();
    let head = format!(
        "POST /webhooks/shopify HTTP/1.1\r\nHost: {}\r\nX-Shopify-Topic: orders/paid\r\n\
         X-Shopify-Event-Id: e-big\r\nX-Shopify-Hmac-Sha256: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
        l.addr,
        sign(SECRET, b"")
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buf))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        assert!(
            n > 0,
            "closed without an answer: {:?}",
            String::from_utf8_lossy(&answer)
        );
        answer.extend_from_slice(&buf[..n]);
    }
    let status_line = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP status line: {status_line:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_sizes_malformed_bodies_and_unknown_topics() {
    let (sandbox, _dir, settings, l) = listening(20, 1).await;
    let c = crate::common::http();
    let body = order_body(
        5723456789012345678,
        "SKU-00001",
        2,
        "2026-11-26T10:05:00Z",
        "paid",
    );

    let signed = Some(sign(SECRET, &body));
    assert_eq!(
        post(&c, &l, "orders/paid", "e-1", body.clone(), signed.clone()).await,
        (200, "accepted".into())
    );
    assert_eq!(
        post(&c, &l, "orders/paid", "e-1", body.clone(), signed).await,
        (200, "duplicate".into())
    );
    // Rotation: the old secret still signs; an unknown one does not.
    let old = Some(sign(OLD_SECRET, &body));
    assert_eq!(
        post(&c, &l, "orders/paid", "e-2", body.clone(), old)
            .await
            .0,
        200
    );
    let unknown = Some(sign("someone-else", &body));
    assert_eq!(
        post(&c, &l, "orders/paid", "e-3", body.clone(), unknown)
            .await
            .0,
        401
    );
    assert_eq!(
        post(&c, &l, "orders/paid", "e-4", body.clone(), None)
            .await
            .0,
        401
    );
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert_eq!(
        post(
            &c,
            &l,
            "orders/paid",
            "e-5",
            tampered,
            Some(sign(SECRET, &body))
        )
        .await
        .0,
        401
    );
    // Over 1 MiB: refused on its declared length, before any of the body is read. (Sent over a
    // raw socket: an HTTP client streaming the body may see the connection closed under it
    // before it reads the answer.)
    assert_eq!(declared_length_status(&l, 2 << 20).await, 413);
    // Signed but not JSON: 400, and recorded for reconcile.
    let junk = b"{not json".to_vec();
    assert_eq!(
        post(
            &c,
            &l,
            "orders/paid",
            "e-7",
            junk.clone(),
            Some(sign(SECRET, &junk))
        )
        .await
        .0,
        400
    );
    // A topic the tool does not use: 200, ignored.
    assert_eq!(
        post(
            &c,
            &l,
            "products/update",
            "e-8",
            body.clone(),
            Some(sign(SECRET, &body))
        )
        .await,
        (200, "ignored".into())
    );

    assert!(l.wait_idle(Duration::from_secs(20)).await);
    let store = Store::open(&settings.store.path).unwrap();
    let counts = store.event_counts().unwrap();
    assert_eq!(counts.get("done"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("malformed"), Some(&1), "{counts:?}");
    assert!(!counts.contains_key("pending"));
    let stored = store
        .order("gid://shopify/Order/5723456789012345678")
        .unwrap()
        .expect("the order is stored under its exact 64-bit id");
    assert_eq!(stored.lines[0].current_quantity, 2);

    let health: Value = c
        .get(format!("http://{}/healthz", l.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["queue_depth"], 0);
    let metrics = crate::common::get_text(format!("http://{}/metrics", l.addr)).await;
    // The malformed delivery is reported by the next nightly audit, once.
    let mut audit_store = Store::open(&settings.store.path).unwrap();
    let audit = replenish::app::reconcile::reconcile(
        &settings,
        &mut audit_store,
        Clock::starting_at(t0()),
        false,
        &replenish::output::progress::Progress::hidden(),
    )
    .await
    .unwrap();
    assert!(
        audit.findings.iter().any(|f| f.kind == "webhook_unusable"
            && f.detail
                .starts_with("1 webhook delivery was signed but not JSON")),
        "{:#?}",
        audit.findings
    );
    for line in [
        "replenish_webhooks_received_total 2",
        "replenish_webhooks_duplicate_total 1",
        "replenish_webhooks_rejected_total 3",
        "replenish_webhooks_malformed_total 1",
        "replenish_webhooks_ignored_total 1",
        "replenish_events_processed_total 2",
        "replenish_webhook_ack_seconds_count 3",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in:\n{metrics}");
    }
    stop(l, sandbox).await;
}

/// splitmix64, for a deterministic shuffle.
fn rng(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_shuffled_deliveries_with_duplicates_end_in_the_final_states() {
    let (sandbox, _dir, settings, l) = listening(20, 1).await;
    // 350 orders, each delivered as paid and then as refunded (a newer snapshot): 700 events,
    // plus 300 repeats of random ones; all shuffled, as Shopify may deliver them.
    let mut events: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..350u64 {
        let id = 9_007_199_254_740_993 + i; // above 2^53
        events.push((
            format!("paid-{i}"),
            order_body(
                id,
                &format!("LISTEN-{}", i % 7),
                3,
                "2026-11-26T10:05:00Z",
                "paid",
            ),
        ));
        events.push((
            format!("refund-{i}"),
            order_body(
                id,
                &format!("LISTEN-{}", i % 7),
                3,
                "2026-11-26T11:00:00Z",
                "refunded",
            ),
        ));
    }
    let mut seed = 7u64;
    for _ in 0..300 {
        let k = (rng(&mut seed) % 700) as usize;
        events.push(events[k].clone());
    }
    for i in (1..events.len()).rev() {
        let j = (rng(&mut seed) % (i as u64 + 1)) as usize;
        events.swap(i, j);
    }
    assert_eq!(events.len(), 1000);
    let c = crate::common::http();
    let addr = l.addr;
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for chunk in events.chunks(25) {
        let answers = futures_util::future::join_all(chunk.iter().map(|(id, body)| {
            let c = c.clone();
            let body = body.clone();
            let id = id.clone();
            async move {
                c.post(format!("http://{addr}/webhooks/shopify"))
                    .header("X-Shopify-Topic", "orders/updated")
                    .header("X-Shopify-Event-Id", id)
                    .header("X-Shopify-Hmac-Sha256", sign(SECRET, &body))
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        }))
        .await;
        for a in answers {
            *statuses.entry(a).or_default() += 1;
        }
    }
    assert_eq!(statuses.get("accepted"), Some(&700), "{statuses:?}");
    assert_eq!(statuses.get("duplicate"), Some(&300), "{statuses:?}");
    assert!(
        l.wait_idle(Duration::from_secs(60)).await,
        "the worker caught up"
    );
    let store = Store::open(&settings.store.path).unwrap();
    assert_eq!(store.event_counts().unwrap().get("done"), Some(&700));
    assert_eq!(
        l.metrics()
            .processed
            .load(std::sync::atomic::Ordering::Relaxed),
        700,
        "each event processed once"
    );
    for i in 0..350u64 {
        let id = 9_007_199_254_740_993 + i;
        let o = store
            .order(&format!("gid://shopify/Order/{id}"))
            .unwrap()
            .unwrap_or_else(|| panic!("order {id} stored"));
        assert_eq!(
            (o.financial_status.as_str(), o.lines[0].current_quantity),
            ("REFUNDED", 0),
            "order {id} ends in its newest state, whatever the delivery order"
        );
    }
    stop(l, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_orders_on_one_sku_gives_exactly_one_draft() {
    let (sandbox, _dir, settings, l) = listening(40, 1).await;
    // A SKU with a supplier that does not need ordering yet.
    let plan = {
        let store = Store::open(&settings.store.path).unwrap();
        plan_at(&settings, &store, t0())
    };
    let quiet = plan
        .lines
        .iter()
        .find(|p| p.supplier_id.is_some() && p.order_qty == 0.0 && p.flags.is_empty())
        .expect("a quiet SKU with a supplier")
        .clone();
    // Three big orders for it, yesterday, in one burst.
    let c = crate::common::http();
    for i in 0..3u64 {
        let body = order_body(
            77_000_000_000 + i,
            &quiet.sku,
            400,
            "2026-11-26T10:05:00Z",
            "paid",
        );
        let sig = Some(sign(SECRET, &body));
        assert_eq!(
            post(&c, &l, "orders/paid", &format!("burst-{i}"), body, sig)
                .await
                .0,
            200
        );
    }
    assert!(l.wait_idle(Duration::from_secs(60)).await);
    let store = Store::open(&settings.store.path).unwrap();
    let state = sandbox_state(&sandbox).await;
    let tags: std::collections::BTreeSet<String> = store
        .recent_drafts(1000)
        .unwrap()
        .into_iter()
        .map(|e| replenish::store::tag(&e.intent_id))
        .collect();
    let mut per_key: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    for p in state["purchases"].as_array().unwrap() {
        if tags.contains(p["Note"].as_str().unwrap_or("")) {
            per_key
                .entry((
                    p["SupplierID"].as_str().unwrap_or("").to_string(),
                    p["Location"].as_str().unwrap_or("").to_string(),
                ))
                .or_default()
                .push(p.clone());
        }
    }
    assert!(
        per_key.values().all(|v| v.len() == 1),
        "no duplicates: {per_key:#?}"
    );
    let key = (quiet.supplier_id.clone().unwrap(), quiet.location.clone());
    let po = per_key
        .get(&key)
        .expect("the burst made a draft for the SKU's supplier");
    let lines = po[0]["Order"]["Lines"].as_array().unwrap();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["SKU"] == quiet.sku.as_str())
            .count(),
        1,
        "one line for the SKU, not three"
    );
    assert!(
        l.metrics()
            .drafts_created
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    stop(l, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_stores_the_order_as_graphql_reads_it() {
    let (sandbox, _dir, settings, l) = listening(20, 2).await;
    // An order the sync stored (with its fulfillment location, which webhook bodies lack).
    let original = {
        let store = Store::open(&settings.store.path).unwrap();
        store
            .orders_between(t0() - chrono::Duration::days(3), t0())
            .unwrap()
            .into_iter()
            .find(|o| o.fulfillment_location_id.is_some() && !o.lines.is_empty())
            .expect("a stored order with a fulfillment location")
    };
    let n: u64 = original.id.rsplit('/').next().unwrap().parse().unwrap();
    // A delivery for it that says something else, dated later: were the body used, the store
    // would take it; the worker reads the order from Shopify instead.
    let body = order_body(n, "SOMETHING-ELSE", 99, "2026-11-27T09:00:00Z", "paid");
    let sig = Some(sign(SECRET, &body));
    let c = crate::common::http();
    assert_eq!(
        post(&c, &l, "orders/updated", "reread-1", body, sig)
            .await
            .0,
        200
    );
    assert!(l.wait_idle(Duration::from_secs(30)).await);
    let store = Store::open(&settings.store.path).unwrap();
    assert_eq!(store.order(&original.id).unwrap().unwrap(), original);
    stop(l, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandboxs_live_deliveries_are_verified_and_processed() {
    // The listener's port, known before the sandbox starts delivering to it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sandbox = start_world(replenish::sandbox::SandboxOptions {
        webhook_url: Some(format!("http://127.0.0.1:{port}/webhooks/shopify")),
        webhook_secret: Some(SECRET.to_string()),
        ..world(20, 1)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (mut settings, store, _) = first_sync(&sandbox, dir.path()).await;
    drop(store);
    settings.shopify.webhook_secret = Some(SecretString::from(SECRET));
    settings.listen.bind = format!("127.0.0.1:{port}");
    settings.listen.debounce_ms = 100;
    let l = start(settings.clone(), Clock::starting_at(t0()))
        .await
        .unwrap();
    let tick = tick(&sandbox, "3").await;
    assert!(tick["new_orders"].as_u64().unwrap_or(0) > 0, "{tick}");
    // The sandbox delivers in the background: wait for every delivery to be answered.
    let started = std::time::Instant::now();
    let log = loop {
        let state = sandbox_state(&sandbox).await;
        let log = state["webhooks"].as_array().cloned().unwrap_or_default();
        let answered = log.iter().filter(|d| d["status"].is_u64()).count();
        if !log.is_empty()
            && answered == log.len()
            && state["webhook_deliveries"].as_u64() == Some(log.len() as u64)
        {
            break log;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "deliveries did not finish: {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        log.iter().all(|d| d["status"] == 200),
        "every delivery acknowledged: {log:?}"
    );
    assert!(l.wait_idle(Duration::from_secs(30)).await);
    let m = l.metrics();
    let get = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(get(&m.rejected), 0, "the sandbox's signatures verify");
    let distinct: std::collections::BTreeSet<&str> =
        log.iter().filter_map(|d| d["event_id"].as_str()).collect();
    assert_eq!(get(&m.received) as usize, distinct.len());
    assert_eq!(get(&m.received) + get(&m.duplicates), log.len() as u64);
    assert_eq!(get(&m.processed), get(&m.received));
    stop(l, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_accepted_before_a_restart_are_processed_after_it() {
    let (sandbox, dir) = sandbox_and_dir(20, 1, 0.0).await;
    let (mut settings, mut store, _) = first_sync(&sandbox, dir.path()).await;
    // What a listener killed after answering 200 but before its worker ran leaves behind.
    let body = order_body(
        4_611_686_018_427_387_904,
        "SKU-00002",
        5,
        "2026-11-26T10:05:00Z",
        "paid",
    );
    let event = replenish::store::WebhookEvent {
        event_id: "before-restart".into(),
        topic: "orders/paid".into(),
        received_at: t0(),
        body,
    };
    store
        .write(|w| w.record_events(&[(event, "pending")]))
        .unwrap();
    drop(store);
    settings.shopify.webhook_secret = Some(SecretString::from(SECRET));
    settings.listen.bind = "127.0.0.1:0".into();
    settings.listen.debounce_ms = 50;
    let l = start(settings.clone(), Clock::starting_at(t0()))
        .await
        .unwrap();
    assert!(l.wait_idle(Duration::from_secs(30)).await);
    let store = Store::open(&settings.store.path).unwrap();
    assert!(store.pending_events(10).unwrap().is_empty());
    assert_eq!(store.event_counts().unwrap().get("done"), Some(&1));
    assert!(
        store
            .order("gid://shopify/Order/4611686018427387904")
            .unwrap()
            .is_some()
    );
    stop(l, sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_delivered_twice_under_different_ids_is_counted_once() {
    let (sandbox, _dir, settings, l) = listening(20, 1).await;
    let c = crate::common::http();
    let id: u64 = 8_100_000_000_000_000_001;
    let body = order_body(id, "SKU-00003", 3, "2026-11-26T10:05:00Z", "paid");
    let sig = Some(sign(SECRET, &body));
    assert_eq!(
        post(&c, &l, "orders/paid", "paid-1", body, sig).await.0,
        200
    );
    assert!(l.wait_idle(Duration::from_secs(30)).await);
    let line_id = (id % 1_000_000_000) * 10 + 1;
    let refund = serde_json::to_vec(&json!({
        "id": 77,
        "order_id": id,
        "created_at": "2026-11-26T11:00:00Z",
        "refund_line_items": [{"id": 78, "line_item_id": line_id, "quantity": 1}],
    }))
    .unwrap();
    // Two subscriptions: the same refund, two webhook ids (no event id).
    for webhook_id in ["w-1", "w-2"] {
        let r = c
            .post(format!("http://{}/webhooks/shopify", l.addr))
            .header("X-Shopify-Topic", "refunds/create")
            .header("X-Shopify-Webhook-Id", webhook_id)
            .header("X-Shopify-Hmac-Sha256", sign(SECRET, &refund))
            .body(refund.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert!(l.wait_idle(Duration::from_secs(30)).await);
    }
    let store = Store::open(&settings.store.path).unwrap();
    let o = store
        .order(&format!("gid://shopify/Order/{id}"))
        .unwrap()
        .unwrap();
    assert_eq!(
        o.lines[0].current_quantity, 2,
        "3 ordered, 1 refunded, once"
    );
    stop(l, sandbox).await;
}
