//! `replenish demo`: starts the sandbox in-process on a free port with a temporary store, runs
//! sync → plan → draft against it, prints what happened and where the state lives, and suggests what to try next.
//! It needs no configuration and no credentials: the zero-configuration tour.

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::app::draft::{Confirm, DraftOptions, draft};
use crate::app::plan::{PlanFilter, apply_filter, plan_from_store, today};
use crate::app::resolve_format;
use crate::app::sandbox::SandboxSettings;
use crate::app::sync::{SyncOptions, print_summary, sync};
use crate::cli::{DemoArgs, Format};
use crate::clock::Clock;
use crate::core::plan::Explain;
use crate::output::progress::Progress;
use crate::sandbox::{self, SandboxOptions};
use crate::store::Store;

/// The sandbox's Cin7 limit in the demo (the client runs at `Settings::for_sandbox`'s rate, below it).
const DEMO_SANDBOX_RPM: u32 = 6000;

pub async fn exec(args: &DemoArgs, clock: Clock) -> Result<ExitCode> {
    let now = clock.now();
    let opts = SandboxOptions {
        seed: args.seed,
        skus: args.skus,
        cin7_rpm: DEMO_SANDBOX_RPM,
        now,
        ..SandboxOptions::default()
    };
    opts.validate().map_err(crate::app::UsageError)?;
    let dir = tempfile::Builder::new()
        .prefix("replenish-demo-")
        .tempdir()
        .context("cannot create a temporary folder for the demo store")?
        .keep();
    let handle = sandbox::start("127.0.0.1:0", opts).await?;
    eprintln!(
        "sandbox serving Cin7 Core and Shopify at {}",
        handle.base_url()
    );

    let store_path = dir.join("replenish.db");
    let mut settings = handle.settings(&store_path);
    // The demo's sandbox allows far more than Cin7's 60 calls a minute.
    settings.cin7.requests_per_minute = DEMO_SANDBOX_RPM / 2;
    let mut store = Store::open(&store_path)?;
    let progress = Progress::auto();
    let result = sync(
        &settings,
        &mut store,
        clock,
        &SyncOptions::default(),
        &progress,
    )
    .await;
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            handle.shutdown().await;
            return Err(e);
        }
    };
    let plan = plan_from_store(&settings, &store, now, today(&settings, now), Explain::None)?;
    let plan = apply_filter(plan, &PlanFilter::default());
    // The draft step: the plan's POs become draft purchase orders in the sandbox's Cin7.
    let drafted = draft(
        &settings,
        &mut store,
        clock,
        &DraftOptions {
            sync: false,
            dry_run: false,
            confirm: Confirm::Yes,
        },
        &progress,
    )
    .await;
    handle.shutdown().await;
    let drafted = drafted?;

    match resolve_format(args.format) {
        Format::Json => {
            let both = serde_json::json!({ "sync": summary, "plan": plan, "draft": drafted });
            println!("{}", serde_json::to_string_pretty(&both)?);
        }
        Format::Table => {
            print_summary(&summary, Format::Table)?;
            println!();
            let width = crate::app::stdout_width();
            print!("{}", crate::output::plan::table(&plan, width));
            println!();
            println!("Draft purchase orders pushed into the sandbox's Cin7:");
            print!("{}", crate::output::draft::table(&drafted, width));
            println!();
            println!("The demo's state lives in {}", store_path.display());
            println!("Next, run the sandbox in one terminal and try the tool against it yourself:");
            println!(
                "  replenish sandbox     # prints a replenish.toml snippet and the env vars to export"
            );
            println!("  replenish --config replenish.toml sync");
            println!("  replenish --config replenish.toml plan");
            println!("  replenish --config replenish.toml plan --explain <a SKU from the plan>");
            println!("  replenish --config replenish.toml draft --dry-run");
        }
    }
    Ok(ExitCode::SUCCESS)
}
