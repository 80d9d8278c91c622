//! `listen` under hostile input from clients without the webhook secret (issue 14): a request head
//! or body that dribbles in is cut off at its deadline while a signed delivery is still answered;
//! an idle keep-alive connection is closed; connections over the cap get a quick 503 while
//! `/healthz` still answers; bodies in memory over the byte cap get 503 before they are read;
//! `/healthz` answers from memory while the server is saturated and the store's path cannot be
//! opened; a bind
//! address other machines can reach is warned about. Limits are shrunk through settings, so no
//! test waits long.

use std::time::{Duration, Instant};

use replenish::app::listen::{ListenHandle, start};
use replenish::app::sandbox::SandboxSettings;
use replenish::clock::Clock;
use replenish::config::{ListenSettings, Settings};
use replenish::sandbox::SandboxHandle;
use secrecy::SecretString;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::fast;
use crate::common::sandbox::sandbox_and_dir;
use crate::common::t0;
use crate::listen_e2e::{SECRET, order_body, sign};

/// A listener on a fresh store (no sync: these tests are about the HTTP server), with `limits`
/// applied to `[listen]`.
async fn listener(
    sandbox: &SandboxHandle,
    dir: &std::path::Path,
    limits: impl FnOnce(&mut ListenSettings),
) -> (Settings, ListenHandle) {
    let mut settings = fast(sandbox.settings(&dir.join("listen.db")));
    settings.shopify.webhook_secret = Some(SecretString::from(SECRET));
    settings.listen.bind = "127.0.0.1:0".into();
    settings.listen.debounce_ms = 100;
    limits(&mut settings.listen);
    let l = start(settings.clone(), Clock::starting_at(t0()))
        .await
        .unwrap();
    (settings, l)
}

/// A signed `orders/paid` delivery through an ordinary client: (status, body).
async fn signed_delivery(l: &ListenHandle, event: &str) -> (u16, String) {
    let body = order_body(
        6_100_000_000_000_000_001,
        "SKU-00001",
        1,
        "2026-11-26T10:05:00Z",
        "paid",
    );
    let r = crate::common::http()
        .post(format!("http://{}/webhooks/shopify", l.addr))
        .header("X-Shopify-Topic", "orders/paid")
        .header("X-Shopify-Event-Id", event)
        .header("X-Shopify-Hmac-Sha256", sign(SECRET, &body))
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

async fn get(l: &ListenHandle, path: &str) -> reqwest::Response {
    crate::common::http()
        .get(format!("http://{}{path}", l.addr))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path} within 2 s: {e}"))
}

/// What a raw connection saw.
#[derive(Debug, PartialEq)]
enum Seen {
    /// An HTTP answer with this status.
    Status(u16),
    /// Closed (or reset) without an answer.
    Closed,
    /// Nothing within the time allowed.
    Nothing,
}

/// Reads `s` until a status line, a close or `within`.
async fn seen(s: &mut TcpStream, within: Duration) -> Seen {
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(within, async {
        while !answer.windows(2).any(|w| w == b"\r\n") {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return Seen::Closed,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
        let line = String::from_utf8_lossy(&answer).to_string();
        Seen::Status(
            line.split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| panic!("not a status line: {line:?}")),
        )
    })
    .await;
    read.unwrap_or(Seen::Nothing)
}

/// Opens a connection and sends the start of a request head (no blank line: the head never ends).
async fn partial_head(l: &ListenHandle) -> TcpStream {
    let mut s = TcpStream::connect(l.addr).await.unwrap();
    s.write_all(b"POST /webhooks/shopify HTTP/1.1\r\nHost: test\r\n")
        .await
        .unwrap();
    s
}

/// A head for `POST /webhooks/shopify` declaring `length` bytes of body.
fn head_declaring(l: &ListenHandle, length: usize, signature: &str) -> String {
    format!(
        "POST /webhooks/shopify HTTP/1.1\r\nHost: {}\r\nX-Shopify-Topic: orders/paid\r\n\
         X-Shopify-Event-Id: raw-{length}\r\nX-Shopify-Hmac-Sha256: {signature}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
        l.addr
    )
}

/// Polls `f` until it holds (the server's accept loop runs on its own task).
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_heads_are_cut_off_while_a_signed_delivery_is_answered() {
    let (sandbox, dir) = sandbox_and_dir(20, 1, 0.0).await;
    let (_, l) = listener(&sandbox, dir.path(), |s| {
        s.header_timeout_ms = 300;
        s.idle_timeout_ms = 60_000;
    })
    .await;
    // Ten clients that send one header line every 50 ms and never finish, and one that sends
    // nothing at all.
    let mut clients = Vec::new();
    for i in 0..11 {
        // Timed from before the connection opens: the server's deadline starts after that.
        let started = Instant::now();
        let mut s = if i < 10 {
            partial_head(&l).await
        } else {
            TcpStream::connect(l.addr).await.unwrap()
        };
        clients.push(tokio::spawn(async move {
            let mut buf = [0u8; 256];
            while started.elapsed() < Duration::from_secs(5) {
                tokio::select! {
                    n = s.read(&mut buf) => {
                        assert!(!matches!(n, Ok(n) if n > 0), "no answer to a head that never ended");
                        return Some(started.elapsed());
                    }
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {
                        if i < 10 && s.write_all(b"X-Slow: 1\r\n").await.is_err() {
                            return Some(started.elapsed());
                        }
                    }
                }
            }
            None
        }));
    }
    // Meanwhile a real delivery is answered as usual.
    assert_eq!(
        signed_delivery(&l, "during-slow-heads").await,
        (200, "accepted".into())
    );
    for c in clients {
        let held = c.await.unwrap().expect("the server closed the connection");
        assert!(
            held >= Duration::from_millis(250) && held < Duration::from_secs(3),
            "closed after {held:?}, expected about the 300 ms header timeout"
        );
    }
    assert_eq!(
        l.metrics()
            .header_timeouts
            .load(std::sync::atomic::Ordering::Relaxed),
        11
    );
    l.shutdown().await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let (sandbox, dir) = sandbox_and_dir(20, 1, 0.0).await;
    let (_, l) = listener(&sandbox, dir.path(), |s| {
        s.header_timeout_ms = 60_000;
        s.idle_timeout_ms = 300;
    })
    .await;
    let mut s = TcpStream::connect(l.addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    // The answer, then the connection stays open (keep-alive) until the idle timeout.
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let mut answered_at = None;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    answered_at.get_or_insert_with(Instant::now);
                }
            }
        }
    })
    .await
    .expect("the idle connection is closed");
    assert!(got.starts_with(b"HTTP/1.1 200"), "{got:?}");
    let idle = closed - answered_at.expect("an answer came first");
    assert!(
        idle >= Duration::from_millis(200) && idle < Duration::from_secs(3),
        "closed {idle:?} after the answer, expected about the 300 ms idle timeout"
    );
    assert_eq!(
        l.metrics()
            .idle_closed
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    l.shutdown().await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_gets_408_at_the_body_timeout() {
    let (sandbox, dir) = sandbox_and_dir(20, 1, 0.0).await;
    let (_, l) = listener(&sandbox, dir.path(), |s| {
        s.body_timeout_ms = 300;
    })
    .await;
    let body = order_body(61, "SKU-00001", 1, "2026-11-26T10:05:00Z", "paid");
    let mut s = TcpStream::connect(l.addr).await.unwrap();
    s.write_all(head_declaring(&l, body.len(), &sign(SECRET, &body)).as_bytes())
        .await
        .unwrap();
    // The body one byte every 50 ms: it keeps coming, but not fast enough.
    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(5), async {
        for byte in body.iter() {
            let answer = seen(&mut s, Duration::from_millis(50)).await;
            if answer != Seen::Nothing {
                return answer;
            }
            if s.write_all(std::slice::from_ref(byte)).await.is_err() {
                return Seen::Closed;
            }
        }
        seen(&mut s, Duration::from_secs(5)).await
    })
    .await
    .unwrap_or(Seen::Nothing);
    let elapsed = started.elapsed();
    assert_eq!(answer, Seen::Status(408));
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(3),
        "answered after {elapsed:?}, expected about the 300 ms body timeout"
    );
    // A body that arrives at once is unaffected.
    assert_eq!(
        signed_delivery(&l, "after-slow-body").await,
        (200, "accepted".into())
    );
    assert_eq!(
        l.metrics()
            .body_timeouts
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    l.shutdown().await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_get_a_quick_503_while_health_answers() {
    let (sandbox, dir) = sandbox_and_dir(20, 1, 0.0).await;
    let (_, l) = listener(&sandbox, dir.path(), |s| {
        s.max_connections = 3;
        s.header_timeout_ms = 60_000;
    })
    .await;
    let mut holders = Vec::new();
    for _ in 0..3 {
        holders.push(partial_head(&l).await);
    }
    until("3 connections served", || l.connections_open() == 3).await;
    // A fourth: a signed delivery, answered 503 at once (Shopify retries) without its body read.
    let body = order_body(62, "SKU-00001", 1, "2026-11-26T10:05:00Z", "paid");
    let mut s = TcpStream::connect(l.addr).await.unwrap();
    let started = Instant::now();
    let mut request = head_declaring(&l, body.len(), &sign(SECRET, &body)).into_bytes();
    request.extend_from_slice(&body);
    s.write_all(&request).await.unwrap();
    assert_eq!(
        seen(&mut s, Duration::from_secs(5)).await,
        Seen::Status(503)
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused in {:?} (the holders' head timeout is 60 s)",
        started.elapsed()
    );
    // Health and metrics still answer, from the overflow lane.
    let health = get(&l, "/healthz").await;
    assert_eq!(health.status().as_u16(), 200);
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let metrics = get(&l, "/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|m| m == "replenish_http_connections_open 3"),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|m| m == "replenish_http_connections_refused_total 3"),
        "{metrics}"
    );
    // Once the holders leave, deliveries are served again.
    drop(holders);
    until("the holders' connections closed", || {
        l.connections_open() == 0
    })
    .await;
    assert_eq!(
        signed_delivery(&l, "after-the-cap").await,
        (200, "accepted".into())
    );
    l.shutdown().await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_in_flight_over_the_byte_cap_get_503_before_they_are_read() {
    let (sandbox, dir) = sandbox_and_dir(20, 1, 0.0).await;
    let (_, l) = listener(&sandbox, dir.path(), |s| {
        s.max_buffered_mib = 1;
        s.body_timeout_ms = 60_000;
    })
    .await;
    // One client declares 700,000 bytes, sends a little and stalls: its length is reserved.
    let mut stalled = TcpStream::connect(l.addr).await.unwrap();
    stalled
        .write_all(head_declaring(&l, 700_000, "bogus").as_bytes())
        .await
        .unwrap();
    stalled.write_all(&[b' '; 1000]).await.unwrap();
    until("700,000 bytes reserved", || l.buffered_bytes() == 700_000).await;
    // A second 700,000 would pass the 1 MiB cap: 503 at once, before it sends any body.
    let mut second = TcpStream::connect(l.addr).await.unwrap();
    second
        .write_all(head_declaring(&l, 700_000, "bogus").as_bytes())
        .await
        .unwrap();
    assert_eq!(
        seen(&mut second, Duration::from_secs(5)).await,
        Seen::Status(503)
    );
    // A small signed delivery still fits under the cap.
    assert_eq!(
        signed_delivery(&l, "small-under-cap").await,
        (200, "accepted".into())
    );
    assert_eq!(
        l.metrics().busy.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // The stalled body's bytes are released when its client goes.
    drop(stalled);
    until("the reservation released", || l.buffered_bytes() == 0).await;
    let mut third = TcpStream::connect(l.addr).await.unwrap();
    let mut request = head_declaring(&l, 700_000, "bogus").into_bytes();
    request.resize(request.len() + 700_000, b' ');
    third.write_all(&request).await.unwrap();
    assert_eq!(
        seen(&mut third, Duration::from_secs(5)).await,
        Seen::Status(401),
        "read whole and refused for its signature, not for the cap"
    );
    l.shutdown().await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_from_memory_while_saturated_and_the_store_path_unopenable() {
    let (sandbox, dir) = sandbox_and_dir(20, 1, 0.0).await;
    let (settings, l) = listener(&sandbox, dir.path(), |s| {
        s.max_connections = 2;
        s.header_timeout_ms = 60_000;
        s.debounce_ms = 1_000;
    })
    .await;
    // The queue depth is counted in memory: one delivery waits out the worker's debounce.
    assert_eq!(
        signed_delivery(&l, "queued").await,
        (200, "accepted".into())
    );
    let health: Value = get(&l, "/healthz").await.json().await.unwrap();
    assert_eq!(health["queue_depth"], 1, "{health}");
    assert!(l.wait_idle(Duration::from_secs(30)).await);
    // The store's path no longer opens (its connections already open keep working) ...
    let moved = settings.store.path.with_extension("moved");
    std::fs::rename(&settings.store.path, &moved).unwrap();
    std::fs::create_dir(&settings.store.path).unwrap();
    // ... and every connection slot is taken by a head that never ends.
    let holders = vec![partial_head(&l).await, partial_head(&l).await];
    until("2 connections served", || l.connections_open() == 2).await;
    // Answered (within `get`'s 2 s), from the overflow lane and from memory.
    let health = get(&l, "/healthz").await;
    assert_eq!(health.status().as_u16(), 200);
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["queue_depth"], 0, "{health}");
    assert!(health["last_event_at"].is_string(), "{health}");
    let metrics = get(&l, "/metrics").await.text().await.unwrap();
    assert!(
        metrics.lines().any(|m| m == "replenish_queue_depth 0"),
        "{metrics}"
    );
    drop(holders);
    std::fs::remove_dir(&settings.store.path).unwrap();
    std::fs::rename(&moved, &settings.store.path).unwrap();
    l.shutdown().await;
    sandbox.shutdown().await;
}

/// Runs `replenish listen --bind <bind>` until it says it is listening; its stderr up to then.
async fn listen_stderr(sandbox: &SandboxHandle, dir: &std::path::Path, bind: &str) -> String {
    let config = dir.join("replenish.toml");
    std::fs::write(
        &config,
        format!(
            "[shopify]\nshop = \"sandbox.myshopify.com\"\nbase_url = \"{}\"\n\n[cin7]\nbase_url = \"{}\"\nrequests_per_minute = 60000\n\n[store]\npath = \"store.db\"\n\n[locations]\ndefault = \"Main Warehouse\"\n",
            sandbox.shopify_base_url(),
            sandbox.cin7_base_url()
        ),
    )
    .unwrap();
    let mut child = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("replenish"))
        .arg("--config")
        .arg(&config)
        .args(["--now", &t0().to_rfc3339(), "listen", "--bind", bind])
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("SHOPIFY_ACCESS_TOKEN", "sandbox")
        .env("SHOPIFY_WEBHOOK_SECRET", SECRET)
        .env("CIN7_ACCOUNT_ID", "sandbox")
        .env("CIN7_APPLICATION_KEY", "sandbox")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
    let mut seen = String::new();
    let listening = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push_str(&line);
            seen.push('\n');
            if line.starts_with("listening for Shopify webhooks") {
                return true;
            }
        }
        false
    })
    .await;
    child.kill().await.unwrap();
    assert_eq!(listening, Ok(true), "listen did not start: {seen}");
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bind_address_other_machines_can_reach_is_warned_about() {
    let (sandbox, dir) = sandbox_and_dir(20, 1, 0.0).await;
    let exposed = listen_stderr(&sandbox, dir.path(), "0.0.0.0:0").await;
    assert!(
        exposed.lines().any(|l| l.contains("WARN")
            && l.contains("is not a loopback address")
            && l.contains("TLS-terminating reverse proxy")),
        "{exposed}"
    );
    let local = listen_stderr(&sandbox, dir.path(), "127.0.0.1:0").await;
    assert!(!local.contains("loopback"), "{local}");
    sandbox.shutdown().await;
}
