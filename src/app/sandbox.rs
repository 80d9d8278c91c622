//! `replenish sandbox`: serves the local imitation of Cin7 Core and Shopify until Ctrl-C. Also
//! what ties the sandbox crate to the product: [`SandboxSettings`], the settings that point
//! `replenish` at a running sandbox (the sandbox crate cannot name `Settings`: it does not depend
//! on this crate).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::app::UsageError;
use crate::cli::SandboxArgs;
use crate::clock::Clock;
use crate::config::Settings;
use crate::sandbox::{self, SandboxHandle, SandboxOptions};

/// Settings for a running sandbox: `handle.settings(store_path)` wherever this trait is in scope.
pub trait SandboxSettings {
    /// Settings pointing `replenish` at this sandbox (the same mapping the banner prints), with
    /// the store at `store_path`.
    fn settings(&self, store_path: &Path) -> Settings;
}

impl SandboxSettings for SandboxHandle {
    fn settings(&self, store_path: &Path) -> Settings {
        let mut settings = Settings::for_sandbox(&self.base_url(), store_path);
        settings.locations.default = self.default_location();
        settings.locations.ignore = vec!["Returns".to_string()];
        settings.locations.shopify = self.shopify_locations().into_iter().collect();
        settings
    }
}

/// Turns the CLI flags into sandbox options (validated: bad values are usage errors).
pub fn options(args: &SandboxArgs, now: DateTime<Utc>) -> Result<SandboxOptions> {
    let opts = SandboxOptions {
        seed: args.seed,
        skus: args.skus,
        locations: args.locations,
        suppliers: args.suppliers,
        days: args.days,
        orders_per_day: args.orders_per_day,
        mismatch_rate: args.mismatch_rate,
        fault_rate: args.fault_rate,
        lost_answer_rate: args.lost_answer_rate,
        cin7_rpm: args.cin7_rpm,
        throttle_status: args.throttle_status,
        retry_after_secs: args.retry_after_secs,
        now,
        webhook_url: args.webhook_url.clone(),
        webhook_secret: args.webhook_secret.clone(),
        cin7_page_cap: args.cin7_page_cap,
        scopes: args
            .scopes
            .clone()
            .unwrap_or_else(|| SandboxOptions::default().scopes),
        bulk_bytes_per_sec: args.bulk_bytes_per_sec,
        bulk_drop_after: args.bulk_drop_after,
        hostile_names: args.hostile_names,
        ..SandboxOptions::default()
    };
    opts.validate().map_err(UsageError)?;
    Ok(opts)
}

pub async fn exec(args: &SandboxArgs, clock: Clock) -> Result<ExitCode> {
    let opts = options(args, clock.now())?;
    let handle = sandbox::start(&args.bind, opts.clone()).await?;
    print!("{}", sandbox::banner(&handle, &opts));
    eprintln!("serving until Ctrl-C");
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
