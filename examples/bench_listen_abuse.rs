//! Benchmark of `listen` under hostile input from someone who can reach its port but has no
//! webhook secret. Each scenario runs against a fresh listener in a child process (this program
//! started again with `--serve`), so the resident memory and open descriptors read from
//! `/proc/<pid>` are the server's alone:
//!
//! 1. `--dribblers` (1,000) connections that send a request line and then one header line a
//!    second for `--dribble-secs` (30): how many the server still holds, for how long, its open
//!    descriptors meanwhile, and the answer to one signed delivery sent during the attack.
//! 2. `--bodies` (400) unsigned deliveries of 1 MiB − 1, each sent one byte short until all are,
//!    then finished together: the answers and the server's peak resident memory.
//! 3. `--health` (2,000) concurrent `GET /healthz`, one connection each: latency and answers.
//! 4. `--idle-nofile` (2,000): the server's descriptor limit lowered to that, then that many + 100
//!    idle connections, then `GET /healthz`.
//!
//! ```text
//! cargo run --release --example bench_listen_abuse
//! cargo run --release --example bench_listen_abuse -- --dribblers 1000 --dribble-secs 70
//! ```
//!
//! Everything runs on 127.0.0.1: the sandbox (only for the token's scopes at start), the listener
//! and the clients. Every loop is bounded in count and time.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use replenish::clock::Clock;
use replenish::config::Settings;
use secrecy::SecretString;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[path = "support/fixture.rs"]
mod fixture;
use fixture::arg;

#[path = "support/webhook.rs"]
mod webhook;
use webhook::SECRET;

fn now0() -> Result<DateTime<Utc>> {
    Ok("2026-11-27T08:00:00Z".parse()?)
}

/// The child: a listener on 127.0.0.1 with default limits, its address on stdout, until stdin
/// closes.
async fn serve(args: &[String]) -> Result<()> {
    let base = args.get(2).context("--serve needs the sandbox URL")?;
    let store = args.get(3).context("--serve needs a store path")?;
    let nofile = arg(args, "--nofile", 0)?;
    if nofile > 0 {
        let limit = libc::rlimit {
            rlim_cur: nofile as libc::rlim_t,
            rlim_max: nofile as libc::rlim_t,
        };
        // SAFETY: setrlimit reads the struct we pass and nothing else.
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
        anyhow::ensure!(rc == 0, "setrlimit(RLIMIT_NOFILE, {nofile}) failed");
    }
    let mut settings = Settings::for_sandbox(base, std::path::Path::new(store));
    settings.shopify.webhook_secret = Some(SecretString::from(SECRET));
    settings.listen.bind = "127.0.0.1:0".into();
    let handle = replenish::app::listen::start(settings, Clock::starting_at(now0()?)).await?;
    println!("ADDR {}", handle.addr);
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    handle.shutdown().await;
    Ok(())
}

/// A listener in a child process.
struct Server {
    child: tokio::process::Child,
    addr: String,
    pid: u32,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(sandbox: &str, nofile: usize) -> Result<Server> {
        let dir = tempfile::tempdir()?;
        let store = dir.path().join("listen.db");
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .arg("--serve")
            .arg(sandbox)
            .arg(&store)
            .arg("--nofile")
            .arg(nofile.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the listener child")?;
        let pid = child.id().context("child pid")?;
        let stdout = child.stdout.take().context("child stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(a) = line.strip_prefix("ADDR ") {
                    return Ok::<_, anyhow::Error>(a.to_string());
                }
            }
            anyhow::bail!("the listener child exited before listening")
        })
        .await
        .context("the listener child did not start within 60 s")??;
        Ok(Server {
            child,
            addr,
            pid,
            _dir: dir,
        })
    }

    /// A `/proc/<pid>/status` field in MiB (`VmRSS`, `VmHWM`).
    fn mib(&self, field: &str) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kib| kib.parse::<f64>().ok())
            })
            .map_or(f64::NAN, |kib| kib / 1024.0)
    }

    fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid)).map_or(0, |d| d.count())
    }

    async fn stop(mut self) {
        drop(self.child.stdin.take());
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// The status code of an HTTP answer read from `s`, or what happened instead.
async fn status_of(s: &mut TcpStream, within: Duration) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 2048];
    let read = tokio::time::timeout(within, async {
        while !answer.windows(2).any(|w| w == b"\r\n") {
            match s.read(&mut buf).await {
                Ok(0) => return "closed".to_string(),
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(_) => return "reset".to_string(),
            }
        }
        String::from_utf8_lossy(&answer)
            .split_whitespace()
            .nth(1)
            .unwrap_or("garbled")
            .to_string()
    })
    .await;
    read.unwrap_or_else(|_| "no answer".to_string())
}

fn tally(outcomes: impl IntoIterator<Item = String>) -> String {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for o in outcomes {
        *counts.entry(o).or_default() += 1;
    }
    counts
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One signed `orders/paid` delivery: (status, milliseconds).
async fn signed_delivery(addr: &str) -> (String, f64) {
    let body = webhook::order_body(4242, 1, "BENCH-ABUSE", 1)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let sig = webhook::sign(body.as_bytes()).unwrap_or_default();
    let t = Instant::now();
    let status = match TcpStream::connect(addr).await {
        Ok(mut s) => {
            let head = format!(
                "POST /webhooks/shopify HTTP/1.1\r\nHost: bench\r\nX-Shopify-Topic: orders/paid\r\n\
                 X-Shopify-Event-Id: bench-during-abuse\r\nX-Shopify-Hmac-Sha256: {sig}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            match s.write_all(head.as_bytes()).await {
                Ok(()) => status_of(&mut s, Duration::from_secs(30)).await,
                Err(_) => "reset".into(),
            }
        }
        Err(e) => format!("connect failed ({e})"),
    };
    (status, t.elapsed().as_secs_f64() * 1000.0)
}

/// 1. Header dribbling: when the server let go of each connection (`None`: still held at the end).
async fn dribble(sandbox: &str, clients: usize, secs: u64) -> Result<()> {
    let server = Server::start(sandbox, 0).await?;
    let addr = server.addr.clone();
    let limit = Duration::from_secs(secs);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let addr = addr.clone();
            tokio::spawn(async move {
                let Ok(s) = TcpStream::connect(&addr).await else {
                    return Some(Duration::ZERO);
                };
                let t = Instant::now();
                let (mut r, mut w) = s.into_split();
                if w.write_all(b"POST /webhooks/shopify HTTP/1.1\r\nHost: bench\r\n")
                    .await
                    .is_err()
                {
                    return Some(t.elapsed());
                }
                let mut buf = [0u8; 512];
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                tick.tick().await;
                loop {
                    tokio::select! {
                        _ = r.read(&mut buf) => return Some(t.elapsed()),
                        _ = tick.tick() => {
                            if t.elapsed() >= limit {
                                return None;
                            }
                            if w.write_all(b"X-Dribble: 1\r\n").await.is_err() {
                                return Some(t.elapsed());
                            }
                        }
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let fds_during = server.fds();
    let (status, ms) = signed_delivery(&addr).await;
    let mut held_for = Vec::new();
    let mut still_held = 0;
    for t in tasks {
        match t.await? {
            Some(d) => held_for.push(d.as_secs_f64()),
            None => still_held += 1,
        }
    }
    held_for.sort_by(f64::total_cmp);
    println!(
        "{clients} header-dribbling connections (one line a second for {secs} s): {still_held} still held at the end, \
         {} let go (median after {:.1} s, last after {:.1} s); server descriptors at 2 s: {fds_during}; \
         a signed delivery during the attack: {status} in {ms:.1} ms; run {:.0} s",
        held_for.len(),
        percentile(&held_for, 0.5),
        held_for.last().copied().unwrap_or(f64::NAN),
        started.elapsed().as_secs_f64(),
    );
    server.stop().await;
    Ok(())
}

/// 2. Unsigned 1 MiB − 1 bodies, all at once: answers and the server's peak memory.
async fn bodies(sandbox: &str, clients: usize) -> Result<()> {
    let server = Server::start(sandbox, 0).await?;
    let addr = server.addr.clone();
    let before = server.mib("VmRSS");
    let len = (1 << 20) - 1;
    let mut payload =
        format!("POST /webhooks/shopify HTTP/1.1\r\nHost: bench\r\nX-Shopify-Topic: orders/paid\r\nX-Shopify-Hmac-Sha256: AAAA\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
            .into_bytes();
    payload.resize(payload.len() + len, b'x');
    let payload = Arc::new(payload);
    // Every client sends all but the last byte, then all send their last byte together: the
    // most a server can be made to hold at once.
    let ready = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (go_tx, go_rx) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let addr = addr.clone();
            let payload = payload.clone();
            let ready = ready.clone();
            let mut go = go_rx.clone();
            tokio::spawn(async move {
                let Ok(mut s) = TcpStream::connect(&addr).await else {
                    ready.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    return "connect failed".to_string();
                };
                let (most, last) = payload.split_at(payload.len() - 1);
                // The answer may come before the whole body is sent (a refusal): read it anyway.
                let sent = matches!(
                    tokio::time::timeout(Duration::from_secs(30), s.write_all(most)).await,
                    Ok(Ok(()))
                );
                ready.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = tokio::time::timeout(Duration::from_secs(30), go.wait_for(|g| *g)).await;
                if sent {
                    let _ = s.write_all(last).await;
                }
                status_of(&mut s, Duration::from_secs(60)).await
            })
        })
        .collect();
    let mut peak = before;
    let hold_until = Instant::now() + Duration::from_secs(30);
    while ready.load(std::sync::atomic::Ordering::SeqCst) < clients && Instant::now() < hold_until {
        peak = peak.max(server.mib("VmRSS"));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    peak = peak.max(server.mib("VmRSS"));
    let held = server.mib("VmRSS");
    let _ = go_tx.send(true);
    let mut outcomes = Vec::new();
    let mut pending = tasks;
    while !pending.is_empty() {
        peak = peak.max(server.mib("VmRSS"));
        tokio::time::sleep(Duration::from_millis(10)).await;
        let (done, rest): (Vec<_>, Vec<_>) = pending.into_iter().partition(|t| t.is_finished());
        for t in done {
            outcomes.push(t.await?);
        }
        pending = rest;
    }
    println!(
        "{clients} unsigned bodies of 1 MiB − 1 at once (each held one byte short until all are sent): \
         {} in {:.2} s; server RSS {before:.0} MiB before, {held:.0} MiB with every body in flight, \
         peak {:.0} MiB (sampled every 10 ms), VmHWM {:.0} MiB",
        tally(outcomes),
        started.elapsed().as_secs_f64(),
        peak,
        server.mib("VmHWM"),
    );
    server.stop().await;
    Ok(())
}

async fn healthz_once(addr: &str) -> (String, f64) {
    let t = Instant::now();
    let status = match TcpStream::connect(addr).await {
        Ok(mut s) => {
            match s
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                .await
            {
                Ok(()) => status_of(&mut s, Duration::from_secs(30)).await,
                Err(_) => "reset".into(),
            }
        }
        Err(_) => "connect failed".into(),
    };
    (status, t.elapsed().as_secs_f64() * 1000.0)
}

/// 3. Concurrent health checks, one connection each.
async fn health(sandbox: &str, clients: usize) -> Result<()> {
    let server = Server::start(sandbox, 0).await?;
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let addr = server.addr.clone();
            tokio::spawn(async move { healthz_once(&addr).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    let mut ms = Vec::new();
    for t in tasks {
        let (status, elapsed) = t.await?;
        outcomes.push(status);
        ms.push(elapsed);
    }
    let wall = started.elapsed().as_secs_f64();
    ms.sort_by(f64::total_cmp);
    println!(
        "{clients} concurrent GET /healthz: {} ; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; all done in {wall:.2} s",
        tally(outcomes),
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms.last().copied().unwrap_or(f64::NAN),
    );
    server.stop().await;
    Ok(())
}

/// 4. More idle connections than the server has descriptors, then a health check.
async fn idle(sandbox: &str, nofile: usize) -> Result<()> {
    let server = Server::start(sandbox, nofile).await?;
    let n = nofile + 100;
    let mut held = Vec::with_capacity(n);
    let mut failed = 0;
    for _ in 0..n {
        match tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(&server.addr)).await {
            Ok(Ok(s)) => held.push(s),
            _ => failed += 1,
        }
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let fds = server.fds();
    let (status, ms) = healthz_once(&server.addr).await;
    // How many of the idle connections the server has closed by now.
    let mut closed = 0;
    for s in &mut held {
        let mut b = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(1), s.read(&mut b)).await
        {
            closed += 1;
        }
    }
    println!(
        "{n} idle connections against a descriptor limit of {nofile}: {failed} connects failed, server descriptors {fds}, \
         {closed} closed by the server after 1.5 s; then GET /healthz: {status} in {ms:.1} ms"
    );
    drop(held);
    server.stop().await;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        replenish::app::init_tracing(0, true);
        return serve(&args).await;
    }
    replenish::app::init_tracing(0, true);
    let dribblers = arg(&args, "--dribblers", 1000)?;
    let dribble_secs = arg(&args, "--dribble-secs", 30)? as u64;
    let body_clients = arg(&args, "--bodies", 400)?;
    let health_clients = arg(&args, "--health", 2000)?;
    let idle_nofile = arg(&args, "--idle-nofile", 2000)?;
    let sandbox = replenish::sandbox::start(
        "127.0.0.1:0",
        replenish::sandbox::SandboxOptions {
            skus: 20,
            locations: 1,
            days: 10,
            orders_per_day: 10,
            cin7_rpm: 1_000_000,
            now: now0()?,
            ..replenish::sandbox::SandboxOptions::default()
        },
    )
    .await?;
    let base = sandbox.base_url();
    if body_clients > 0 {
        bodies(&base, body_clients).await?;
    }
    if health_clients > 0 {
        health(&base, health_clients).await?;
    }
    if idle_nofile > 0 {
        idle(&base, idle_nofile).await?;
    }
    if dribblers > 0 {
        dribble(&base, dribblers, dribble_secs).await?;
    }
    sandbox.shutdown().await;
    Ok(())
}
