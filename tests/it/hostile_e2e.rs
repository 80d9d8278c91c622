//! Bad input, crashes and hostile upstreams (issue 14): files created private, read-only commands
//! that read a store without writing it, runs a kill left `running`, a store in a missing folder,
//! and credentials an upstream echoes back never reaching stderr or the store.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use replenish::store::{Store, WriterLock};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::sandbox::sandbox_and_dir;
use crate::common::sandbox::{binary_config, edit_config};
use crate::common::{first_sync, start_sandbox, t0};

fn replenish() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("replenish"));
    cmd.env_remove("RUST_LOG")
        .env_remove("REPLENISH_NOW")
        .env("SHOPIFY_ACCESS_TOKEN", "sandbox")
        .env("CIN7_ACCOUNT_ID", "sandbox")
        .env("CIN7_APPLICATION_KEY", "sandbox");
    cmd
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[test]
fn the_store_its_wal_the_lock_and_init_files_are_created_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut store = Store::open(&path).unwrap();
    store.write(|w| w.set_state("k", "v")).unwrap();
    for p in [
        path.clone(),
        dir.path().join("s.db-wal"),
        dir.path().join("s.db-shm"),
    ] {
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    let lock = WriterLock::try_acquire(&path).unwrap().unwrap();
    assert_eq!(mode(lock.path()), 0o600);
    let out = replenish()
        .args(["init", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    for name in ["replenish.toml", ".env.example"] {
        assert_eq!(mode(&dir.path().join(name)), 0o600, "{name}");
    }
}

/// Whether this process runs as root (who ignores file permissions).
#[cfg(unix)]
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn listing(dir: &Path) -> BTreeSet<(String, u64)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .collect()
}

/// `plan` and `status` read a store in a folder they cannot write (a backup, another user's),
/// and write nothing there. As root, the commands run as `nobody`, for whom the folder is
/// read-only (root ignores permissions).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_commands_read_a_store_in_a_read_only_folder() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let handle = start_sandbox(30, 1, 0.0).await;
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("ro");
    std::fs::create_dir(&dir).unwrap();
    {
        let (_, store, _) = first_sync(&handle, &dir).await;
        drop(store);
    }
    handle.shutdown().await;
    std::fs::write(
        dir.join("replenish.toml"),
        "[shopify]\nshop = \"x.myshopify.com\"\n[store]\npath = \"s.db\"\n[locations]\ndefault = \"Main Warehouse\"\n",
    )
    .unwrap();
    // The binary where `nobody` may run it (the build folder may be private to its owner).
    let bin: PathBuf = outer.path().join("replenish");
    std::fs::copy(assert_cmd::cargo::cargo_bin("replenish"), &bin).unwrap();
    for f in std::fs::read_dir(&dir).unwrap() {
        std::fs::set_permissions(f.unwrap().path(), std::fs::Permissions::from_mode(0o644))
            .unwrap();
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(outer.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = listing(&dir);
    for args in [
        vec!["plan", "--format", "json", "--all"],
        vec!["status", "--format", "json"],
    ] {
        let mut cmd = Command::new(&bin);
        cmd.arg("--config")
            .arg(dir.join("replenish.toml"))
            .args(["--now", &t0().to_rfc3339()])
            .args(&args)
            .env_remove("RUST_LOG");
        if is_root() {
            cmd.uid(65534).gid(65534);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(report.is_object());
    }
    assert_eq!(
        listing(&dir),
        before,
        "nothing written in the store's folder"
    );
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_shows_as_interrupted_and_the_next_writer_marks_it() {
    let dir = tempfile::tempdir().unwrap();
    let settings = crate::common::settings_for("http://127.0.0.1:9", &dir.path().join("s.db"));
    let mut store = Store::open(&settings.store.path).unwrap();
    // A sync killed half-way: started, never finished.
    store.write(|w| w.start_run("sync", t0())).unwrap();
    let outcome = |store: &Store| {
        replenish::app::status::status(&settings, store, t0())
            .unwrap()
            .runs[0]
            .outcome
            .clone()
    };
    assert_eq!(outcome(&store), "interrupted", "no process holds the lock");
    {
        let _live = WriterLock::try_acquire(&settings.store.path)
            .unwrap()
            .unwrap();
        assert_eq!(outcome(&store), "running", "a live holder may be that run");
    }
    assert_eq!(store.runs(1).unwrap()[0].outcome, "running");
    let lock =
        replenish::app::acquire_lock(&settings.store.path, std::time::Duration::from_secs(1))
            .await
            .unwrap();
    assert_eq!(
        store.runs(1).unwrap()[0].outcome,
        "interrupted",
        "the next writer marks it in the store"
    );
    drop(lock);
}

#[test]
fn a_store_in_a_missing_folder_or_not_synced_yet_is_a_usage_error_naming_store_path() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("replenish.toml");
    std::fs::write(
        &config,
        "[shopify]\nshop = \"x.myshopify.com\"\nbase_url = \"http://127.0.0.1:9\"\n[cin7]\nbase_url = \"http://127.0.0.1:9/\"\n[store]\npath = \"nowhere/s.db\"\n[locations]\ndefault = \"Main\"\n",
    )
    .unwrap();
    let out = replenish()
        .arg("--config")
        .arg(&config)
        .args(["--now", &t0().to_rfc3339(), "sync"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("store.path") && stderr.contains("nowhere"),
        "{stderr}"
    );

    std::fs::write(
        &config,
        "[shopify]\nshop = \"x.myshopify.com\"\n[store]\npath = \"s.db\"\n[locations]\ndefault = \"Main\"\n",
    )
    .unwrap();
    let out = replenish()
        .arg("--config")
        .arg(&config)
        .args(["--now", &t0().to_rfc3339(), "plan"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("run `replenish sync` first"), "{stderr}");
    assert!(!dir.path().join("s.db").exists(), "plan created no store");
}

/// An upstream (or a proxy) that echoes the request's headers in its error body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_an_upstream_echoes_never_reach_stderr_or_the_store() {
    let account = "acct-ECHOED-5b7e21";
    let key = "appkey-ECHOED-90ac3f";
    let handle = start_sandbox(20, 1, 0.0).await;
    let cin7 = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(400).set_body_string(format!(
            "[{{\"ErrorCode\":400,\"Exception\":\"bad request; headers were api-auth-accountid: {account}, api-auth-applicationkey: {key}\"}}]"
        )))
        .mount(&cin7)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = binary_config(&handle, dir.path());
    edit_config(&config, |text| {
        text.replace(&handle.cin7_base_url(), &format!("{}/", cin7.uri()))
    });
    let out = replenish()
        .arg("--config")
        .arg(&config)
        .args(["--now", &t0().to_rfc3339(), "-vv", "sync"])
        .env("CIN7_ACCOUNT_ID", account)
        .env("CIN7_APPLICATION_KEY", key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[redacted]"),
        "the echo was scrubbed: {stderr}"
    );
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    let runs = store.runs(5).unwrap();
    let stored = runs[0].error.clone().unwrap_or_default();
    assert!(
        stored.contains("ErrorCode") || stored.contains("400"),
        "{stored}"
    );
    for secret in [account, key] {
        assert!(!stderr.contains(secret), "{secret} on stderr: {stderr}");
        assert!(!stored.contains(secret), "{secret} in the store: {stored}");
    }
    handle.shutdown().await;
}

/// Messages that used to mislead: a misspelt filter read as "nothing needs ordering", a future
/// `--as-of` planned silently, an unreadable mapping file was called the config file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misleading_messages_now_say_what_is_wrong() {
    let (handle, dir) = sandbox_and_dir(20, 1, 0.0).await;
    let config = binary_config(&handle, dir.path());
    {
        let (_, store, _) = first_sync(&handle, dir.path()).await;
        drop(store);
    }
    handle.shutdown().await;
    let plan = |extra: &[&str]| {
        let out = replenish()
            .arg("--config")
            .arg(&config)
            .args(["--now", &t0().to_rfc3339(), "plan", "--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = plan(&["--sku", "NO-SUCH-SKU"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("no such active Cin7 product SKU"),
        "{stderr}"
    );
    let (code, stderr) = plan(&["--sku", "sku-00001"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("did you mean SKU-00001"), "{stderr}");
    let (code, stderr) = plan(&["--location", "Nowhere"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("no such Cin7 location"), "{stderr}");
    let (code, stderr) = plan(&["--as-of", "2027-01-15"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: --as-of 2027-01-15 is after today"),
        "{stderr}"
    );
    let (code, stderr) = plan(&["--as-of", "2026-11-20"]);
    assert_eq!(code, Some(0));
    assert!(!stderr.contains("warning"), "{stderr}");

    edit_config(&config, |text| {
        text + "\n[skus]\nmapping_file = \"missing-map.csv\"\n"
    });
    let (code, stderr) = plan(&[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("skus.mapping_file") && !stderr.contains("config file"),
        "{stderr}"
    );
}

/// A server that never stops sending: the client stops reading at the answer cap instead of
/// growing its memory until the timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_answer_is_cut_off_at_the_cap_with_a_clear_error() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let declared = String::from_utf8_lossy(&request).contains("declared");
                let head = if declared {
                    // A length declared up front: refused before a byte of the body is read.
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n"
                } else {
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
                };
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b' '; 1 << 20];
                while socket.write_all(&chunk).await.is_ok() {}
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut settings =
        crate::common::settings_for(&format!("http://{addr}"), &dir.path().join("s.db"));
    settings.http.timeout_secs = 60;
    let client_for = |settings: &replenish::config::Settings| {
        replenish::adapters::cin7::Cin7Client::new(
            settings,
            replenish::adapters::http::build_client(&settings.http),
            replenish::adapters::http::Counters::default(),
            replenish::clock::Clock::starting_at(t0()),
        )
        .unwrap()
    };
    let client = client_for(&settings);
    let started = std::time::Instant::now();
    let err = client.locations(&mut |_| {}).await.unwrap_err();
    assert!(err.message.contains("larger than 64 MiB"), "{err}");
    assert_eq!(
        err.class,
        replenish::adapters::http::ErrorClass::Decode,
        "never retried"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "stopped at the cap, not at the timeout: {:?}",
        started.elapsed()
    );
    settings.cin7.base_url = format!("http://{addr}/declared/");
    let client = client_for(&settings);
    let err = client.locations(&mut |_| {}).await.unwrap_err();
    assert!(err.message.contains("larger than 64 MiB"), "{err}");
}
