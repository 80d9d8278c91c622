//! `replenish skus`: the SKU mapping audit. Fetches every Shopify product variant, reads the Cin7
//! products, the window's sales (from the store; `--sync` refreshes it first) and the mapping
//! table, runs the pure audit ([`crate::core::skumatch`]), prints it, and writes the mapping
//! template when asked.
//!
//! Exit codes: 0 done; 2 for a store without Cin7 products ("run `replenish sync` first"), a
//! template file that already exists, or a bad mapping file; 3 when a SKU that maps to nothing
//! (normalized, fuzzy, unmatched, blank) sold in the window.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{Duration, NaiveDate, NaiveTime};

use crate::adapters::http::{Counters, build_client};
use crate::adapters::shopify::ShopifyClient;
use crate::app::sync::{SyncOptions, sync_locked};
use crate::app::{EXIT_ATTENTION, UsageError};
use crate::cli::{SkusArgs, SkusFormat};
use crate::clock::Clock;
use crate::config::Settings;
use crate::core::demand::{Window, blank_sku};
use crate::core::model::{Product, Variant};
use crate::core::skumatch::{
    Audit, AuditInput, UnitsSold, audit, blank_units_by_variant, units_by_sku,
};
use crate::output::progress::Progress;
use crate::output::skus::Context as ReportContext;
use crate::store::Store;

/// The CLI entry point.
pub async fn exec(settings: &Settings, args: &SkusArgs, clock: Clock) -> Result<ExitCode> {
    // Refuse before anything touches the network: the template never replaces a file.
    if let Some(path) = &args.write_mapping {
        refuse_existing(path)?;
    }
    settings.shopify_token()?;
    let now = clock.now();
    let progress = Progress::auto();
    if args.sync {
        sync_locked(settings, clock, &SyncOptions::default(), &progress).await?;
    }
    let store = Store::open_read_only(&settings.store.path)?;
    let as_of = args
        .as_of
        .unwrap_or_else(|| crate::app::plan::today(settings, now));
    let report = audit_skus(settings, &store, as_of, clock, &progress).await?;

    let template = match &args.write_mapping {
        Some(path) => {
            let rows = write_template(path, &report)?;
            tracing::info!(path = %path.display(), rows, "wrote the mapping template");
            Some((path.clone(), rows))
        }
        None => None,
    };
    let format = crate::app::pick_format(args.format, SkusFormat::Table, SkusFormat::Json);
    let context = ReportContext {
        as_of,
        window_days: settings.policy.velocity_window_days,
        template,
        all: args.all,
    };
    let text = match format {
        SkusFormat::Json => crate::output::skus::json(&report)?,
        SkusFormat::Csv => crate::output::skus::csv(&report)?,
        SkusFormat::Table => {
            crate::output::skus::table(&report, &context, crate::app::stdout_width())
        }
    };
    crate::app::write_stdout(&text)?;
    Ok(if report.needs_attention() {
        ExitCode::from(EXIT_ATTENTION)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs the audit as of `as_of`: Shopify variants fetched now, Cin7 products, sales and the
/// mapping table from the store and the settings. Fails with a [`UsageError`] when the store holds
/// no Cin7 products yet.
pub async fn audit_skus(
    settings: &Settings,
    store: &Store,
    as_of: NaiveDate,
    clock: Clock,
    progress: &Progress,
) -> Result<Audit> {
    // Checked before the variants are fetched: neither needs the network to fail.
    store_products(settings, store)?;
    crate::app::plan::mapping_table(settings)?;
    let variants = fetch_variants(settings, clock, progress).await?;
    audit_variants(settings, store, as_of, &variants)
}

/// The audit of `variants` (already fetched) against the store and the mapping table.
pub fn audit_variants(
    settings: &Settings,
    store: &Store,
    as_of: NaiveDate,
    variants: &[Variant],
) -> Result<Audit> {
    let products = store_products(settings, store)?;
    let mapping = crate::app::plan::mapping_table(settings)?;
    let sold = units_sold(settings, store, as_of, variants)?;
    Ok(audit(&AuditInput {
        variants,
        products: &products,
        mapping: &mapping,
        sold: &sold,
    }))
}

/// The store's Cin7 products; none is a usage problem (nothing synced yet).
fn store_products(settings: &Settings, store: &Store) -> Result<Vec<Product>> {
    let products = store.products()?;
    if products.is_empty() {
        return Err(UsageError(format!(
            "the store {} holds no Cin7 products: run `replenish sync` first (or `replenish skus --sync`)",
            settings.store.path.display()
        ))
        .into());
    }
    Ok(products)
}

/// Every Shopify product variant.
pub async fn fetch_variants(
    settings: &Settings,
    clock: Clock,
    progress: &Progress,
) -> Result<Vec<Variant>> {
    let client = ShopifyClient::new(
        settings,
        build_client(&settings.http),
        Counters::default(),
        clock,
    )?;
    let line = progress.line("shopify productVariants");
    let variants = client
        .product_variants(&mut |n| line.rows(n, None))
        .await
        .context("fetching Shopify product variants failed")?;
    line.finish(format!("{} variants", variants.len()));
    Ok(variants)
}

/// Units sold in the velocity window before `as_of`: per Shopify SKU, and per blank-SKU variant.
pub fn units_sold(
    settings: &Settings,
    store: &Store,
    as_of: NaiveDate,
    variants: &[Variant],
) -> Result<UnitsSold> {
    let days = settings.policy.velocity_window_days;
    let window = Window::new(as_of, days, settings.policy.timezone);
    // A day of margin on both sides of the UTC midnights (no shop is 24 h off UTC); the core
    // keeps only orders whose shop-timezone day is in the window.
    let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN).and_utc();
    let out_of_range = || {
        crate::app::UsageError(format!(
            "--as-of {as_of} is outside the calendar the tool works with"
        ))
    };
    let from = midnight(window.start)
        .checked_sub_signed(Duration::days(1))
        .ok_or_else(out_of_range)?;
    let to = midnight(as_of)
        .checked_add_signed(Duration::days(1))
        .ok_or_else(out_of_range)?;
    let sales = store.sales_between(from, to)?;
    let blank: Vec<String> = variants
        .iter()
        .filter(|v| blank_sku(v.sku.as_deref()))
        .map(|v| v.id.clone())
        .collect();
    let orders = store.orders_with_variants_between(from, to, &blank)?;
    Ok(UnitsSold {
        by_sku: units_by_sku(&sales, &window),
        blank_by_variant: blank_units_by_variant(&orders, &window),
    })
}

fn refuse_existing(path: &Path) -> Result<()> {
    if path.exists() {
        return Err(already_exists(path).into());
    }
    Ok(())
}

fn already_exists(path: &Path) -> UsageError {
    UsageError(format!(
        "--write-mapping: {} already exists; the template never overwrites a file (choose another name or move it away)",
        path.display()
    ))
}

/// Writes the template to a new file (never over an existing one); returns its row count.
pub fn write_template(path: &Path, report: &Audit) -> Result<usize> {
    let text = crate::output::skus::template(report)?;
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(already_exists(path).into());
        }
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    };
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(report.template_rows().len())
}
