//! One module per subcommand: orchestration only (args → calls on adapters, store and core).
//! Errors are wrapped with context here (anyhow) and mapped to exit codes once, in [`report_error`].

pub mod access;
pub mod alerts;
pub mod backtest;
pub mod demo;
pub mod doctor;
pub mod draft;
pub mod init;
pub mod listen;
pub mod plan;
pub mod reconcile;
pub mod run_scope;
pub mod sandbox;
pub mod skus;
pub mod status;
pub mod sync;
pub mod tune;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::cli::{Cli, Command, Format};
use crate::clock::Clock;
use crate::config::{ConfigError, DotEnv, Layered, ProcessEnv, Settings};
use crate::store::WriterLock;

/// Exit code: done, but something needs a person.
pub const EXIT_ATTENTION: u8 = 3;

/// A usage problem found after parsing (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The lock was not obtained in time (exit code 1).
#[derive(Debug, thiserror::Error)]
#[error(
    "another replenish process holds the writer lock {path} (waited {waited_secs} s); try again later or raise --lock-timeout"
)]
pub struct LockTimeout {
    pub path: String,
    pub waited_secs: u64,
}

/// Waits up to `timeout` for the store's writer lock. Once it holds it, no other run can be
/// alive, so every run the store still shows as `running` was killed: those are marked
/// `interrupted` (whatever their command), and the caller finishes what they left.
pub async fn acquire_lock(store: &std::path::Path, timeout: Duration) -> Result<WriterLock> {
    if let Some(folder) = store.parent().filter(|p| !p.as_os_str().is_empty())
        && !folder.is_dir()
    {
        return Err(UsageError(format!(
            "store.path: the folder {} does not exist; create it, or point store.path elsewhere",
            folder.display()
        ))
        .into());
    }
    let started = std::time::Instant::now();
    let mut logged = false;
    loop {
        if let Some(lock) = WriterLock::try_acquire(store)? {
            let interrupted =
                crate::store::Store::open(store)?.write(|w| w.mark_interrupted_runs())?;
            if interrupted > 0 {
                tracing::warn!(
                    "{interrupted} earlier run(s) were interrupted (killed); finishing what they left"
                );
            }
            return Ok(lock);
        }
        if started.elapsed() >= timeout {
            return Err(LockTimeout {
                path: WriterLock::path_for(store).display().to_string(),
                waited_secs: timeout.as_secs(),
            }
            .into());
        }
        if !logged {
            tracing::warn!(
                "another replenish process holds the writer lock; waiting up to {} s",
                timeout.as_secs()
            );
            logged = true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How long `sync` and `plan --sync` wait for the writer lock (`draft` has `--lock-timeout`).
pub const SYNC_LOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// Logs go to stderr; `RUST_LOG` overrides the verbosity flags.
///
/// `RUST_LOG` takes comma-separated `target=level` directives and a bare default level
/// (`replenish=debug,warn`), read by `tracing_subscriber::filter::Targets`: the directives this
/// tool's logs need, without `EnvFilter`'s span and field matching and the regex engine it
/// compiles in. An unset, empty or unreadable `RUST_LOG` leaves the flags' level.
pub fn init_tracing(verbose: u8, quiet: bool) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    let level = match (quiet, verbose) {
        (true, _) => LevelFilter::ERROR,
        (false, 0) => LevelFilter::WARN,
        (false, 1) => LevelFilter::INFO,
        (false, 2) => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| {
            Targets::new()
                .with_target("replenish", level)
                .with_default(LevelFilter::WARN)
        });
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(log_colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        ))
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(filter)
        .try_init();
}

/// Colour in log lines only on a terminal, and never when `NO_COLOR` is set to anything but the
/// empty string (<https://no-color.org>): a log file (cron's `>> replenish.log`, journald) gets
/// plain text.
pub fn log_colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// The process's one clock: `--now` / `REPLENISH_NOW` when given (that instant, moving forward
/// with real time), else the wall clock.
pub fn resolve_clock(now: Option<&str>) -> Result<Clock> {
    match now {
        None => Ok(Clock::system()),
        Some(text) => {
            let at = DateTime::parse_from_rfc3339(text.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    UsageError(format!(
                        "--now / REPLENISH_NOW: {text:?} is not an RFC 3339 instant (e.g. 2026-11-27T08:00:00Z): {e}"
                    ))
                })?;
            let earliest = DateTime::<Utc>::UNIX_EPOCH;
            if at < earliest {
                return Err(UsageError(format!(
                    "--now / REPLENISH_NOW: {text:?} is before 1970-01-01"
                ))
                .into());
            }
            Ok(Clock::starting_at(at))
        }
    }
}

/// The report format: as asked, else a table on a terminal and JSON otherwise.
pub fn resolve_format(asked: Option<Format>) -> Format {
    asked.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    })
}

/// A command's own report format: as asked, else its table on a terminal and its JSON otherwise.
pub fn pick_format<F>(asked: Option<F>, table: F, json: F) -> F {
    asked.unwrap_or(match resolve_format(None) {
        Format::Table => table,
        Format::Json => json,
    })
}

/// The width tables on stdout are laid out for (the terminal's, else a fixed default).
pub fn stdout_width() -> u16 {
    crate::output::safe::terminal_width(crate::output::safe::Stream::Stdout)
}

/// Writes a command's finished report text to stdout, as it is.
pub fn write_stdout(text: &str) -> Result<()> {
    use std::io::Write;
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

/// Prints a report in `format`: serde's pretty JSON with a final newline, or `table` laid out
/// for stdout's width.
pub fn print_report<T: serde::Serialize>(
    report: &T,
    format: Format,
    table: impl FnOnce(&T, u16) -> String,
) -> Result<()> {
    let text = match format {
        Format::Json => serde_json::to_string_pretty(report)? + "\n",
        Format::Table => table(report, stdout_width()),
    };
    write_stdout(&text)
}

/// Loads the settings for commands that need a config file: secrets from the process
/// environment, else the `.env` file beside the config file, else the config file itself.
pub fn load_settings(cli_config: Option<&std::path::Path>) -> Result<Settings> {
    let path = crate::config::locate(cli_config)?;
    let dot_env = DotEnv::read(&dot_env_path(&path))?;
    let env = Layered {
        first: &ProcessEnv,
        then: dot_env.as_ref(),
    };
    let settings = Settings::load(&path, &env)?;
    tracing::info!(config = %path.display(), "loaded configuration");
    if let Some(d) = &dot_env {
        tracing::info!(file = %d.path.display(), "read secrets from the .env file");
    }
    for warning in setup_warnings(&settings, &path, &env) {
        tracing::warn!("{warning}");
    }
    crate::secrets::register(&settings);
    Ok(settings)
}

/// What is risky in a loaded setup without being wrong: secrets in a config file others can read,
/// credentials sent in clear to a host that is not this machine.
pub fn setup_warnings(
    settings: &Settings,
    config: &std::path::Path,
    env: &dyn crate::config::Env,
) -> Vec<String> {
    let mut out = Vec::new();
    let in_file: Vec<&str> = crate::config::SECRETS
        .iter()
        .filter(|s| env.var(s.env).is_none() && settings.secret(s.env).is_some())
        .map(|s| s.key)
        .collect();
    #[cfg(unix)]
    if !in_file.is_empty() {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(config)
            && meta.permissions().mode() & 0o077 != 0
        {
            out.push(format!(
                "{} holds secrets ({}) and can be read by other users (mode {:o}): chmod 600 it, or move the secrets to the environment or .env",
                config.display(),
                in_file.join(", "),
                meta.permissions().mode() & 0o777
            ));
        }
    }
    for (key, url) in [
        ("shopify.base_url", settings.shopify.base_url.as_str()),
        ("cin7.base_url", settings.cin7.base_url.as_str()),
    ] {
        if let Some(host) = cleartext_remote_host(url) {
            out.push(format!(
                "{key} is http:// to {host}: the credentials would travel in clear; use https://"
            ));
        }
    }
    out
}

/// The host of an `http://` URL that is not this machine (loopback), if `url` is one.
pub fn cleartext_remote_host(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    if parsed.scheme() != "http" {
        return None;
    }
    let host = parsed.host_str()?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    (!loopback).then(|| host.to_string())
}

/// Where the `.env` file for the config file at `config` is: in the same folder.
pub fn dot_env_path(config: &std::path::Path) -> std::path::PathBuf {
    config
        .parent()
        .unwrap_or_else(|| std::path::Path::new(""))
        .join(crate::config::DOT_ENV)
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    crate::adapters::http::install_crypto_provider();
    let clock = resolve_clock(cli.now.as_deref())?;
    match cli.command {
        Command::Init(args) => init::exec(&args),
        Command::Doctor(args) => {
            runtime()?.block_on(doctor::exec(cli.config.as_deref(), &args, clock))
        }
        Command::Sync(args) => {
            let settings = load_settings(cli.config.as_deref())?;
            runtime()?.block_on(sync::exec(&settings, &args, clock))
        }
        Command::Plan(args) => {
            let settings = load_settings(cli.config.as_deref())?;
            runtime()?.block_on(plan::exec(&settings, &args, clock))
        }
        Command::Draft(args) => {
            let settings = load_settings(cli.config.as_deref())?;
            runtime()?.block_on(draft::exec(&settings, &args, clock))
        }
        Command::Reconcile(args) => {
            let settings = load_settings(cli.config.as_deref())?;
            runtime()?.block_on(reconcile::exec(&settings, &args, clock))
        }
        Command::Listen(args) => {
            let settings = load_settings(cli.config.as_deref())?;
            runtime()?.block_on(listen::exec(&settings, &args, clock))
        }
        Command::Status(args) => {
            let settings = load_settings(cli.config.as_deref())?;
            status::exec(&settings, &args, clock)
        }
        Command::Skus(args) => {
            let settings = load_settings(cli.config.as_deref())?;
            runtime()?.block_on(skus::exec(&settings, &args, clock))
        }
        Command::Backtest(args) => {
            let settings = load_settings(cli.config.as_deref())?;
            backtest::exec(&settings, &args, clock)
        }
        Command::Tune(args) => {
            let settings = load_settings(cli.config.as_deref())?;
            tune::exec(&settings, &args, clock)
        }
        Command::Sandbox(args) => runtime()?.block_on(sandbox::exec(&args, clock)),
        Command::Demo(args) => runtime()?.block_on(demo::exec(&args, clock)),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The error chain as printed on stderr: `error: …` then one `  caused by: …` per cause. The
/// messages carry upstream text (SKUs, Cin7 and Shopify error bodies), so control characters
/// are escaped (line breaks kept: a parser's message may point at the bad line) and each
/// message is cut at [`crate::output::safe::ERROR_MAX`] characters.
pub fn error_text(err: &anyhow::Error) -> String {
    use crate::output::safe::{Cut, ERROR_MAX, clip_keeping_lines};
    // Scrubbed of every known secret first (an upstream may echo credentials), then escaped
    // and cut.
    let line = |text: String| {
        clip_keeping_lines(&crate::secrets::redact(&text), ERROR_MAX, Cut::End).to_string()
    };
    let mut out = format!("error: {}\n", line(err.to_string()));
    for cause in err.chain().skip(1) {
        out.push_str(&format!("  caused by: {}\n", line(cause.to_string())));
    }
    out
}

/// Prints the error chain on stderr and picks the exit code: 2 for configuration and usage
/// problems, 0 for a closed pipe (`replenish plan | head`), 1 for everything else.
pub fn report_error(err: &anyhow::Error) -> ExitCode {
    for cause in err.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return ExitCode::SUCCESS;
        }
    }
    eprint!("{}", error_text(err));
    let usage = err.chain().any(|c| {
        c.downcast_ref::<ConfigError>().is_some()
            || c.downcast_ref::<UsageError>().is_some()
            || c.downcast_ref::<crate::adapters::http::ApiError>()
                .is_some_and(|e| e.missing_scope.is_some())
            || matches!(
                c.downcast_ref::<crate::store::StoreError>(),
                Some(
                    crate::store::StoreError::Missing { .. }
                        | crate::store::StoreError::TooOld { .. }
                )
            )
            || c.downcast_ref::<crate::core::plan::PlanError>().is_some()
    });
    if usage {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_clear_to_another_host_are_named() {
        assert_eq!(
            cleartext_remote_host("http://inventory.example.com/ExternalApi/v2/").as_deref(),
            Some("inventory.example.com")
        );
        assert_eq!(
            cleartext_remote_host("http://10.0.0.5:8787/shopify").as_deref(),
            Some("10.0.0.5")
        );
        for fine in [
            "https://inventory.dearsystems.com/ExternalApi/v2/",
            "http://127.0.0.1:8787/cin7/ExternalApi/v2/",
            "http://localhost:8787/shopify",
            "http://[::1]:8787/shopify",
        ] {
            assert_eq!(cleartext_remote_host(fine), None, "{fine}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn secrets_in_a_config_file_others_can_read_are_warned_about() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replenish.toml");
        std::fs::write(
            &path,
            "[shopify]\nshop = \"s.myshopify.com\"\naccess_token = \"shpat_in_file\"\n[locations]\ndefault = \"Main\"\n",
        )
        .unwrap();
        let env = std::collections::BTreeMap::new();
        let settings = Settings::load(&path, &env).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let warnings = setup_warnings(&settings, &path, &env);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("shopify.access_token"), "{warnings:?}");
        assert!(!warnings[0].contains("shpat_in_file"), "never the value");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(setup_warnings(&settings, &path, &env).is_empty());
        // The same secret from the environment is not in the file's keeping.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let env = std::collections::BTreeMap::from([(
            "SHOPIFY_ACCESS_TOKEN".to_string(),
            "shpat_from_env".to_string(),
        )]);
        let settings = Settings::load(&path, &env).unwrap();
        assert!(setup_warnings(&settings, &path, &env).is_empty());
    }

    #[test]
    fn error_messages_are_escaped_and_cut() {
        let sku = format!("\u{1b}]0;pwned\u{7}{}", "A".repeat(100_000));
        let err = anyhow::anyhow!("Cin7 said: no product {sku}\nsecond line")
            .context(format!("drafting {sku} failed"));
        let text = error_text(&err);
        assert!(!text.contains(['\u{1b}', '\u{7}']), "{}", &text[..200]);
        assert!(text.starts_with("error: drafting \\u{1b}]0;pwned\\u{7}AAA"));
        assert!(text.contains("\n  caused by: Cin7 said: no product \\u{1b}]0;pwned"));
        for line in text.lines() {
            assert!(
                line.chars().count() <= crate::output::safe::ERROR_MAX + 20,
                "{} characters",
                line.chars().count()
            );
        }
        // A message's own line break is kept (a parser's caret under the bad line).
        let plain = anyhow::anyhow!("bad line\n  ^ here");
        assert_eq!(error_text(&plain), "error: bad line\n  ^ here\n");
    }

    #[test]
    fn logs_are_coloured_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(log_colour(true, None));
        assert!(!log_colour(false, None), "a file or a pipe gets plain text");
        assert!(!log_colour(true, Some(OsStr::new("1"))), "NO_COLOR=1");
        assert!(
            log_colour(true, Some(OsStr::new(""))),
            "an empty NO_COLOR does not count (no-color.org)"
        );
    }
}
