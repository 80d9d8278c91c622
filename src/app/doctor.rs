//! `replenish doctor`: checks a setup before the first sync, and in monitoring. Config, secrets,
//! Cin7 (reachable, credentials accepted), Shopify (reachable, token accepted, granted scopes
//! against what the tool needs), locations on both sides, the store, the writer lock and the
//! alert channels — one line each, with the fix. It writes nothing (the store is read without
//! being created or migrated; the only effect is `--send-test-alert`'s message).
//!
//! The judgements are pure ([`crate::core::doctor`], [`crate::adapters::shopify::scopes`]); this
//! module fetches what they judge and turns each failure into a check rather than an error.

use std::process::ExitCode;

use anyhow::Result;

use crate::adapters::alerts;
use crate::adapters::cin7::Cin7Client;
use crate::adapters::http::{ApiError, Counters, ErrorClass, build_client};
use crate::adapters::shopify::ShopifyClient;
use crate::adapters::shopify::scopes::{self, Needs, Severity};
use crate::cli::DoctorArgs;
use crate::clock::Clock;
use crate::config::{DotEnv, Env, Layered, ProcessEnv, SECRETS, Settings};
use crate::core::doctor::{Check, LocationInputs, Report, Status, location_checks};
use crate::store::{Store, WriterLock};

/// Where to grant a Shopify custom app's scopes.
const SCOPES_WHERE: &str = "Shopify admin → Settings → Apps and sales channels → Develop apps → your app → Configuration → Admin API access scopes (then reinstall the app to get a token with them)";

/// The CLI entry point: always prints the report; the exit code is the report's.
pub async fn exec(
    cli_config: Option<&std::path::Path>,
    args: &DoctorArgs,
    clock: Clock,
) -> Result<ExitCode> {
    let report = doctor(cli_config, &ProcessEnv, clock, args.send_test_alert).await;
    crate::app::print_report(
        &report,
        crate::app::resolve_format(args.format),
        crate::output::doctor::table,
    )?;
    Ok(ExitCode::from(report.exit_code))
}

/// Runs every check. `env` stands for the process environment (tests pass a map).
pub async fn doctor(
    cli_config: Option<&std::path::Path>,
    env: &dyn Env,
    clock: Clock,
    send_test_alert: bool,
) -> Report {
    let mut checks = Vec::new();
    let path = match crate::config::locate(cli_config) {
        Ok(p) => p,
        Err(e) => {
            checks.push(
                Check::new("config", Status::Fail, e.to_string())
                    .with_fix("run `replenish init` here, or pass --config PATH"),
            );
            return Report::new(None, checks);
        }
    };
    let shown = path.display().to_string();
    let dot_env_path = crate::app::dot_env_path(&path);
    let dot_env = match DotEnv::read(&dot_env_path) {
        Ok(d) => d,
        Err(e) => {
            checks.push(
                Check::new("secret", Status::Fail, e.to_string())
                    .with_fix("one KEY=value line per secret (see .env.example)"),
            );
            None
        }
    };
    let layered = Layered {
        first: env,
        then: dot_env.as_ref(),
    };
    let settings = match Settings::load(&path, &layered) {
        Ok(s) => s,
        Err(e) => {
            checks.push(
                Check::new("config", Status::Fail, e.to_string())
                    .with_fix("fix the file at the line named (`replenish init --dir /tmp/x` writes a commented example)"),
            );
            return Report::new(Some(shown), checks);
        }
    };
    crate::secrets::register(&settings);
    checks.push(Check::ok("config", format!("{shown} is valid")));
    for warning in crate::app::setup_warnings(&settings, &path, &layered) {
        checks.push(Check::new("config", Status::Warn, warning));
    }
    checks.extend(secret_checks(&settings, env, dot_env.as_ref()));
    // A check should answer in seconds: one quick retry, not a run's patient backoff.
    let mut settings = settings;
    settings.http.max_retries = settings.http.max_retries.min(1);
    settings.http.retry_max_ms = settings.http.retry_max_ms.min(2_000);
    settings.http.timeout_secs = settings.http.timeout_secs.min(15);

    let counters = Counters::default();
    let cin7_locations = cin7_checks(&settings, clock, &counters, &mut checks).await;
    let shopify_locations = shopify_checks(&settings, clock, &counters, &mut checks).await;
    checks.extend(location_checks(&LocationInputs {
        default: &settings.locations.default,
        ignore: &settings.locations.ignore,
        pools: &settings.locations.pools,
        mapping: &settings.locations.shopify,
        cin7: cin7_locations.as_deref(),
        shopify: shopify_locations.as_deref(),
    }));
    checks.extend(store_checks(&settings, clock));
    checks.extend(alert_checks(&settings, clock, send_test_alert).await);
    Report::new(Some(shown), checks)
}

/// Each secret the main job needs: present, and where from (never its value).
fn secret_checks(settings: &Settings, env: &dyn Env, dot_env: Option<&DotEnv>) -> Vec<Check> {
    let mut out = Vec::new();
    let from = |name: &str| {
        if env.var(name).is_some() {
            "the environment"
        } else if dot_env.is_some_and(|d| d.sets(name)) {
            "the .env file"
        } else {
            "the config file"
        }
    };
    let present = |name: &str| match name {
        "SHOPIFY_ACCESS_TOKEN" => settings.shopify.access_token.is_some(),
        "CIN7_ACCOUNT_ID" => settings.cin7.account_id.is_some(),
        "CIN7_APPLICATION_KEY" => settings.cin7.application_key.is_some(),
        "SHOPIFY_WEBHOOK_SECRET" => settings.shopify.webhook_secret.is_some(),
        _ => true,
    };
    for spec in SECRETS {
        let (required, needed_by) = match spec.env {
            "SHOPIFY_ACCESS_TOKEN" | "CIN7_ACCOUNT_ID" | "CIN7_APPLICATION_KEY" => {
                (true, "sync, draft, reconcile and listen need it")
            }
            "SHOPIFY_WEBHOOK_SECRET" => (false, "only `listen` needs it"),
            // The rest (old webhook secret, Slack, SMTP) are optional; the alerts check covers
            // the channels.
            _ => continue,
        };
        if present(spec.env) {
            out.push(Check::ok(
                "secret",
                format!("{} is set (from {})", spec.env, from(spec.env)),
            ));
        } else {
            out.push(
                Check::new(
                    "secret",
                    if required { Status::Fail } else { Status::Warn },
                    format!("{} is not set; {needed_by}", spec.env),
                )
                .with_fix(format!(
                    "put {}=… in {} (or export it, or set `{}` in the config file)",
                    spec.env,
                    dot_env
                        .map(|d| d.path.display().to_string())
                        .unwrap_or_else(|| ".env beside the config file".to_string()),
                    spec.key
                )),
            );
        }
    }
    #[cfg(unix)]
    if let Some(d) = dot_env {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(&d.path)
            && meta.permissions().mode() & 0o077 != 0
        {
            out.push(
                Check::new(
                    "secret",
                    Status::Warn,
                    format!(
                        "{} can be read by other users (mode {:o})",
                        d.path.display(),
                        meta.permissions().mode() & 0o777
                    ),
                )
                .with_fix(format!("chmod 600 {}", d.path.display())),
            );
        }
    }
    out
}

/// The client, or a `Skipped` check saying why there is none (a missing secret, already
/// reported by the secret checks).
fn or_skip<T, E>(
    client: Result<T, E>,
    area: &'static str,
    why: &str,
    checks: &mut Vec<Check>,
) -> Option<T> {
    match client {
        Ok(c) => Some(c),
        Err(_) => {
            checks.push(Check::new(
                area,
                Status::Skipped,
                format!("not checked: {why}"),
            ));
            None
        }
    }
}

/// A failed request as a check: unreachable (exit 1) or something to fix (exit 2).
fn api_failure(area: &'static str, what: &str, e: &ApiError, fix: &str) -> Check {
    let status = match e.class {
        ErrorClass::Transient | ErrorClass::Server | ErrorClass::Throttling => Status::Unreachable,
        ErrorClass::Client | ErrorClass::Decode => Status::Fail,
    };
    let fix = if status == Status::Unreachable {
        "check the network and the service's status, then run doctor again".to_string()
    } else {
        fix.to_string()
    };
    Check::new(area, status, format!("{what}: {}", e.message)).with_fix(fix)
}

/// Cin7: credentials accepted (`GET me`), then its locations for the location checks.
async fn cin7_checks(
    settings: &Settings,
    clock: Clock,
    counters: &Counters,
    checks: &mut Vec<Check>,
) -> Option<Vec<(String, bool)>> {
    let base = settings.cin7.base_url.clone();
    let client = or_skip(
        Cin7Client::new(
            settings,
            build_client(&settings.http),
            counters.clone(),
            clock,
        ),
        "cin7",
        "the Cin7 credentials are missing",
        checks,
    )?;
    match client.me().await {
        Ok(me) => {
            let company = me
                .get("Company")
                .and_then(|v| v.as_str())
                .unwrap_or("(no company name)");
            checks.push(Check::ok(
                "cin7",
                format!("{base} accepted the credentials (account {company:?})"),
            ));
        }
        Err(e) => {
            let fix = match e.status {
                Some(401 | 403) => {
                    "check CIN7_ACCOUNT_ID and CIN7_APPLICATION_KEY (Cin7 → Integrations → API)"
                }
                Some(404) => {
                    "check cin7.base_url (Cin7 Core's is https://inventory.dearsystems.com/ExternalApi/v2/)"
                }
                _ => "check cin7.base_url and the credentials",
            };
            checks.push(api_failure("cin7", &format!("{base}: GET me"), &e, fix));
            return None;
        }
    }
    match client.locations(&mut |_| {}).await {
        Ok(locations) => Some(
            locations
                .into_iter()
                .map(|l| (l.name, l.deprecated))
                .collect(),
        ),
        Err(e) => {
            checks.push(api_failure(
                "cin7",
                "reading Cin7's locations (ref/location)",
                &e,
                "check the API application's permissions in Cin7",
            ));
            None
        }
    }
}

/// Shopify: token accepted and its scopes judged; then its locations (when it may read them).
async fn shopify_checks(
    settings: &Settings,
    clock: Clock,
    counters: &Counters,
    checks: &mut Vec<Check>,
) -> Option<Vec<(String, String, bool)>> {
    let client = or_skip(
        ShopifyClient::new(
            settings,
            build_client(&settings.http),
            counters.clone(),
            clock,
        ),
        "shopify",
        "SHOPIFY_ACCESS_TOKEN is missing",
        checks,
    )?;
    let shop = &settings.shopify.base_url;
    let granted = match client.access_scopes().await {
        Ok(g) => g,
        Err(e) => {
            let fix = match e.status {
                Some(401 | 403) => {
                    "check SHOPIFY_ACCESS_TOKEN (the custom app's Admin API access token, shpat_…)"
                }
                Some(404) => {
                    "check shopify.shop (your-store.myshopify.com) and shopify.api_version"
                }
                _ => "check shopify.shop and the access token",
            };
            checks.push(api_failure(
                "shopify",
                &format!("{shop}: access scopes"),
                &e,
                fix,
            ));
            return None;
        }
    };
    checks.push(Check::ok(
        "shopify",
        format!("{shop} accepted the access token"),
    ));
    let needs = Needs {
        orders: true,
        order_days: settings.policy.history_window_days() + 1,
        mapped_locations: !settings.locations.shopify.is_empty(),
        // Only `skus` reads variants and only doctor reads locations: a missing scope there
        // is a warning, not a broken setup.
        variants: false,
        locations: false,
    };
    for v in scopes::judge(&granted, &needs) {
        checks.push(match v.severity {
            Severity::Ok => Check::ok("scope", format!("{}: granted — {}", v.scope, v.used_for)),
            Severity::Warn => Check::new(
                "scope",
                Status::Warn,
                format!("{} not granted: {}", v.named(), v.cost),
            )
            .with_fix(format!("grant it if you need it: {SCOPES_WHERE}")),
            Severity::Missing => Check::new(
                "scope",
                Status::Fail,
                format!("{} not granted: {}", v.named(), v.cost),
            )
            .with_fix(format!("grant it: {SCOPES_WHERE}")),
        });
    }
    if !granted.has(scopes::READ_LOCATIONS) {
        return None;
    }
    match client.locations().await {
        Ok(locations) => Some(
            locations
                .into_iter()
                .map(|l| (l.id, l.name, l.is_active))
                .collect(),
        ),
        Err(e) => {
            checks.push(api_failure(
                "shopify",
                "reading Shopify's locations",
                &e,
                "check the token's read_locations scope",
            ));
            None
        }
    }
}

/// The store (schema, age) and the writer lock, without creating or migrating anything.
fn store_checks(settings: &Settings, clock: Clock) -> Vec<Check> {
    let mut out = Vec::new();
    let path = &settings.store.path;
    let shown = path.display();
    match Store::inspect(path) {
        Ok(None) => {
            let folder_ok = path
                .parent()
                .is_none_or(|p| p.as_os_str().is_empty() || p.is_dir());
            if folder_ok {
                out.push(Check::ok(
                    "store",
                    format!("{shown} does not exist yet; the first sync creates it"),
                ));
            } else {
                out.push(
                    Check::new(
                        "store",
                        Status::Fail,
                        format!("{shown}: its folder does not exist"),
                    )
                    .with_fix("create the folder, or point store.path elsewhere"),
                );
                return out;
            }
        }
        Ok(Some(info)) if info.version > info.known_version => out.push(
            Check::new(
                "store",
                Status::Fail,
                format!(
                    "{shown} has schema version {}, newer than this build's {}",
                    info.version, info.known_version
                ),
            )
            .with_fix("run the newer replenish that wrote it, or point store.path elsewhere"),
        ),
        Ok(Some(info)) if info.version < info.known_version => out.push(Check::ok(
            "store",
            format!(
                "{shown} has schema version {}; the next command migrates it to {}",
                info.version, info.known_version
            ),
        )),
        Ok(Some(info)) => {
            let size = info.bytes as f64 / (1024.0 * 1024.0);
            out.push(Check::ok(
                "store",
                format!(
                    "{shown} opens (schema version {}, {size:.1} MiB)",
                    info.version
                ),
            ));
            let now = clock.now();
            let max_age = i64::try_from(settings.policy.max_data_age_minutes).unwrap_or(i64::MAX);
            match &info.latest_snapshot {
                None => out.push(
                    Check::new("store", Status::Warn, "no stock snapshot yet")
                        .with_fix("run `replenish sync`"),
                ),
                Some(s) => {
                    let age = (now - s.taken_at).num_minutes();
                    if age > max_age {
                        out.push(
                            Check::new(
                                "store",
                                Status::Warn,
                                format!(
                                    "the newest stock snapshot is {age} minutes old (policy.max_data_age_minutes = {max_age}): draft would hold every PO"
                                ),
                            )
                            .with_fix("run `replenish sync`, and check that the cron job runs"),
                        );
                    } else {
                        out.push(Check::ok(
                            "store",
                            format!("the newest stock snapshot is {age} minutes old"),
                        ));
                    }
                }
            }
            if let Some(run) = info.last_runs.first()
                && run.outcome == crate::app::run_scope::RunOutcome::Failed.as_str()
            {
                out.push(
                    Check::new(
                        "store",
                        Status::Warn,
                        format!(
                            "the last run ({} at {}) failed",
                            run.command,
                            run.started_at.format("%Y-%m-%d %H:%M UTC")
                        ),
                    )
                    .with_fix("`replenish status` shows its error"),
                );
            }
        }
        Err(e) => out.push(
            Check::new("store", Status::Fail, e.to_string())
                .with_fix("check store.path and its permissions"),
        ),
    }
    match WriterLock::try_acquire(path) {
        Ok(Some(lock)) => {
            drop(lock);
            out.push(Check::ok("lock", "the writer lock is free"));
        }
        Ok(None) => out.push(
            Check::new(
                "lock",
                Status::Warn,
                format!(
                    "another replenish process holds the writer lock {}",
                    WriterLock::path_for(path).display()
                ),
            )
            .with_fix(
                "fine while a sync or draft runs; if none does for long, look for a hung process",
            ),
        ),
        Err(e) => out.push(
            Check::new("lock", Status::Fail, e.to_string())
                .with_fix("the store's folder must be writable by this user"),
        ),
    }
    out
}

/// Which alert channels are configured, and with `--send-test-alert`, whether each delivers.
async fn alert_checks(settings: &Settings, clock: Clock, send_test: bool) -> Vec<Check> {
    let mut out = Vec::new();
    let channels = alerts::configured_channels(&settings.alerts);
    if !channels.slack && !channels.email {
        out.push(
            Check::new(
                "alerts",
                Status::Warn,
                "no alert channel is configured: failures reach only the exit code and `replenish status`",
            )
            .with_fix("set SLACK_WEBHOOK_URL, or [alerts] email_to, email_from and smtp_host"),
        );
        return out;
    }
    if channels.slack {
        out.push(Check::ok("alerts", "Slack is configured"));
    }
    if channels.email {
        out.push(Check::ok(
            "alerts",
            format!(
                "email is configured ({} recipient(s) via {})",
                settings.alerts.email_to.len(),
                settings.alerts.smtp_host.as_deref().unwrap_or("?")
            ),
        ));
    }
    if send_test {
        for (channel, outcome) in alerts::send_test(&settings.alerts, clock.now()).await {
            out.push(match outcome {
                Ok(()) => Check::ok("alerts", format!("a test alert was sent by {channel}")),
                Err(e) => {
                    let unreachable = ["could not connect", "timed out", "Connection refused"]
                        .iter()
                        .any(|w| e.contains(w));
                    Check::new(
                        "alerts",
                        if unreachable {
                            Status::Unreachable
                        } else {
                            Status::Fail
                        },
                        format!("the test alert by {channel} failed: {e}"),
                    )
                    .with_fix(match channel {
                        crate::store::Channel::Slack => {
                            "check SLACK_WEBHOOK_URL (an https://hooks.slack.com/… incoming webhook)"
                        }
                        crate::store::Channel::Email => {
                            "check [alerts] smtp_host, smtp_port, smtp_tls, smtp_username and SMTP_PASSWORD"
                        }
                    })
                }
            });
        }
    }
    out
}
