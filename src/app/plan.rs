//! `replenish plan`: reads the store (no network unless `--sync`), computes the plan with the pure
//! core, filters it as asked and prints it as a table, CSV, JSON or an explanation in words.
//! `plan` is a report: it exits 0 whatever it finds.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use crate::app::sync::{SyncOptions, sync_locked};
use crate::cli::{PlanArgs, PlanFormat};
use crate::clock::Clock;
use crate::config::{ConfigError, Settings};
use crate::core::plan::{Explain, OwnDraft, Plan, PlanConfig, PlanData, compute};
use crate::output::progress::Progress;
use crate::store::{LedgerEntry, Store};

/// What to show of a computed plan.
#[derive(Debug, Clone, Default)]
pub struct PlanFilter {
    pub all: bool,
    pub sku: Option<String>,
    pub supplier: Option<String>,
    pub location: Option<String>,
}

pub async fn exec(settings: &Settings, args: &PlanArgs, clock: Clock) -> Result<ExitCode> {
    let now = clock.now();
    if args.sync {
        sync_locked(settings, clock, &SyncOptions::default(), &Progress::auto()).await?;
    }
    // A report: it reads the store without writing it.
    let store = Store::open_read_only(&settings.store.path)?;
    check_filters(&store, args)?;
    let as_of = args.as_of.unwrap_or_else(|| today(settings, now));
    if as_of > today(settings, now) {
        eprintln!(
            "warning: --as-of {as_of} is after today ({}): the plan uses today's stock, and the window's days after today have no sales yet, so velocities read low",
            today(settings, now)
        );
    }
    let explain = match &args.explain {
        Some(sku) => Explain::Sku(sku.clone()),
        None => Explain::None,
    };
    let plan = plan_from_store(settings, &store, now, as_of, explain)?;
    let width = crate::app::stdout_width();
    if let Some(sku) = &args.explain {
        crate::app::write_stdout(&crate::output::plan::explain(&plan, sku, width))?;
        return Ok(ExitCode::SUCCESS);
    }
    let filter = PlanFilter {
        all: args.all,
        sku: args.sku.clone(),
        supplier: args.supplier.clone(),
        location: args.location.clone(),
    };
    let plan = apply_filter(plan, &filter);
    let format = crate::app::pick_format(args.format, PlanFormat::Table, PlanFormat::Json);
    let text = match format {
        PlanFormat::Json => crate::output::plan::json(&plan)?,
        PlanFormat::Csv => crate::output::plan::csv(&plan)?,
        PlanFormat::Table => crate::output::plan::table(&plan, width),
    };
    crate::app::write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `--sku`, `--explain`, `--supplier` and `--location` must name something the store knows: a
/// misspelt filter would otherwise print "nothing needs ordering", which reads as an answer.
fn check_filters(store: &Store, args: &PlanArgs) -> Result<()> {
    fn unknown(flag: &str, value: &str, known: &[String]) -> anyhow::Error {
        let folded = value.to_lowercase();
        let mut close: Vec<&str> = known
            .iter()
            .filter(|k| {
                let k = k.to_lowercase();
                k == folded || k.contains(&folded) || folded.contains(&k)
            })
            .map(String::as_str)
            .take(5)
            .collect();
        close.sort_unstable();
        let hint = if close.is_empty() {
            String::new()
        } else {
            format!(" (did you mean {}?)", close.join(", "))
        };
        crate::app::UsageError(format!(
            "{flag} {value:?}: no such {} in the store{hint}",
            match flag {
                "--supplier" => "Cin7 supplier",
                "--location" => "Cin7 location",
                _ => "active Cin7 product SKU",
            }
        ))
        .into()
    }
    let skus =
        || -> Result<Vec<String>> { Ok(store.products()?.into_iter().map(|p| p.sku).collect()) };
    for (flag, value) in [("--sku", &args.sku), ("--explain", &args.explain)] {
        if let Some(sku) = value {
            let known = skus()?;
            if !known.iter().any(|k| k == sku) {
                return Err(unknown(flag, sku, &known));
            }
        }
    }
    if let Some(name) = &args.supplier {
        let known: Vec<String> = store.suppliers()?.into_iter().map(|s| s.name).collect();
        if !known.iter().any(|k| k == name) {
            return Err(unknown("--supplier", name, &known));
        }
    }
    if let Some(name) = &args.location {
        let known: Vec<String> = store.locations()?.into_iter().map(|l| l.name).collect();
        if !known.iter().any(|k| k == name) {
            return Err(unknown("--location", name, &known));
        }
    }
    Ok(())
}

/// Today in the shop timezone.
pub fn today(settings: &Settings, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&settings.policy.timezone).date_naive()
}

/// The UTC instant at which `day` starts in the shop timezone (the earliest, across a DST change).
pub(crate) fn start_of_day(settings: &Settings, day: NaiveDate) -> DateTime<Utc> {
    let tz = settings.policy.timezone;
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&midnight).earliest() {
        Some(t) => t.with_timezone(&Utc),
        // Midnight skipped by a DST change: the day starts an hour later.
        None => tz
            .from_local_datetime(&(midnight + Duration::hours(1)))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&midnight)),
    }
}

/// The SKU mapping table (`skus.mapping_file`) read and validated; empty when none is configured.
pub fn mapping_table(settings: &Settings) -> Result<BTreeMap<String, String>> {
    Ok(match &settings.skus.mapping_file {
        None => Default::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadNamed {
                key: crate::core::mapping::MAPPING_KEY,
                path: path.clone(),
                source,
            })?;
            crate::core::mapping::parse_mapping(&text, path).map_err(ConfigError::from)?
        }
    })
}

/// The plan's configuration from the settings, with the SKU mapping table read and validated.
pub fn plan_config(settings: &Settings, explain: Explain) -> Result<PlanConfig> {
    let mapping = mapping_table(settings)?;
    Ok(PlanConfig {
        policy: settings.policy.clone(),
        locations: settings.locations.clone(),
        skus: settings.skus.overrides.clone(),
        suppliers: settings.suppliers.clone(),
        mapping,
        explain,
    })
}

/// Loads what planning needs from the store and computes the plan for `as_of`; the lines
/// `explain` names carry their trace. The tool's own drafts are the ledger's open entries.
pub fn plan_from_store(
    settings: &Settings,
    store: &Store,
    now: DateTime<Utc>,
    as_of: NaiveDate,
    explain: Explain,
) -> Result<Plan> {
    let own = own_drafts(&store.open_drafts()?);
    plan_with_drafts(settings, store, now, as_of, explain, &own)
}

/// The tool's own drafts for planning, from open ledger entries: those with a purchase in Cin7,
/// with the lines last written (none yet for a purchase whose lines were never confirmed).
pub fn own_drafts(open: &[LedgerEntry]) -> Vec<OwnDraft> {
    open.iter()
        .filter_map(|e| {
            let purchase_id = e.purchase_id.clone()?;
            Some(OwnDraft {
                purchase_id,
                supplier_id: e.supplier_id.clone(),
                location: e.location.clone(),
                lines: e
                    .lines
                    .iter()
                    .map(|l| (l.sku.clone(), l.quantity, l.price))
                    .collect(),
            })
        })
        .collect()
}

/// [`plan_from_store`] with the tool's own drafts given (`draft` passes them after checking each
/// against Cin7).
pub fn plan_with_drafts(
    settings: &Settings,
    store: &Store,
    now: DateTime<Utc>,
    as_of: NaiveDate,
    explain: Explain,
    own_drafts: &[OwnDraft],
) -> Result<Plan> {
    let config = plan_config(settings, explain)?;
    let window = u64::from(settings.policy.history_window_days());
    let out_of_range = || {
        crate::app::UsageError(format!(
            "--as-of {as_of}: the velocity window around it is outside the calendar the tool works with"
        ))
    };
    let first_day = as_of
        .checked_sub_days(chrono::Days::new(window))
        .ok_or_else(out_of_range)?;
    let last_day = as_of
        .checked_sub_days(chrono::Days::new(1))
        .ok_or_else(out_of_range)?;
    // A day of margin on both sides; the core keeps only orders whose shop-timezone day is in the window.
    let from = start_of_day(settings, first_day)
        .checked_sub_signed(Duration::days(1))
        .ok_or_else(out_of_range)?;
    let to = start_of_day(settings, as_of)
        .checked_add_signed(Duration::days(1))
        .ok_or_else(out_of_range)?;
    let sales = store.sales_between(from, to)?;
    let locations = store.locations()?;
    let products = store.products()?;
    let suppliers = store.suppliers()?;
    let availability = store.latest_availability()?;
    let purchases = store.purchases()?;
    let stockout_days = store.out_of_stock_days(first_day, last_day)?;
    let snapshot_days = store.snapshot_days(first_day, last_day)?;
    let snapshot_age_minutes = store
        .latest_snapshot()?
        .map(|s| (now - s.taken_at).num_seconds() as f64 / 60.0);
    let data = PlanData {
        sales: &sales,
        locations: &locations,
        products: &products,
        suppliers: &suppliers,
        availability: &availability,
        purchases: &purchases,
        stockout_days: &stockout_days,
        snapshot_days: &snapshot_days,
        own_drafts,
        snapshot_age_minutes,
    };
    compute(&config, &data, as_of).with_context(|| locations_mismatch(settings))
}

/// The context of a [`crate::core::plan::PlanError`]: which config does not match Cin7.
pub(crate) fn locations_mismatch(settings: &Settings) -> String {
    let file = settings
        .source
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "the built-in settings".into());
    format!("{file} does not match Cin7's locations")
}

/// Keeps the lines, purchase orders and issues the filter asks for.
pub fn apply_filter(mut plan: Plan, filter: &PlanFilter) -> Plan {
    let keep_sku = |sku: &str| filter.sku.as_deref().is_none_or(|s| s == sku);
    let keep_location = |loc: &str| filter.location.as_deref().is_none_or(|l| l == loc);
    let keep_supplier =
        |sup: Option<&str>| filter.supplier.as_deref().is_none_or(|s| sup == Some(s));
    plan.lines.retain(|l| {
        (filter.all || l.trigger != "none")
            && keep_sku(&l.sku)
            && keep_location(&l.location)
            && keep_supplier(l.supplier.as_deref())
    });
    plan.purchase_orders.retain(|po| {
        keep_location(&po.location)
            && keep_supplier(Some(&po.supplier))
            && (filter.sku.is_none() || po.lines.iter().any(|l| keep_sku(&l.sku)))
    });
    plan.issues.retain(|i| {
        i.sku.as_deref().is_none_or(keep_sku) && i.location.as_deref().is_none_or(keep_location)
    });
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A malformed mapping file is a configuration error: `file:line: skus.mapping_file: …`,
    /// exit code 2.
    #[test]
    fn a_malformed_mapping_file_is_a_config_error_naming_file_line_and_key() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let map = dir.path().join("sku-map.csv");
        std::fs::write(&map, "shopify_sku,cin7_sku\na,b\na,c\n").unwrap_or_else(|e| panic!("{e}"));
        let mut settings = Settings::for_sandbox("http://127.0.0.1:1", &dir.path().join("s.db"));
        settings.skus.mapping_file = Some(map.clone());
        let err = match mapping_table(&settings) {
            Err(e) => e,
            Ok(_) => panic!("expected an error"),
        };
        assert!(err.downcast_ref::<ConfigError>().is_some(), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "{}:3: skus.mapping_file: shopify_sku \"a\" is mapped twice (first on line 2)",
                map.display()
            )
        );
        assert_eq!(
            crate::app::report_error(&err),
            std::process::ExitCode::from(2)
        );
    }
}
