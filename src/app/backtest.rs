//! `replenish backtest`: reads the store (no network), builds the simulated world with the pure
//! core, runs every policy over it (one thread per core, a progress bar over simulated days),
//! then prints the comparison and draws the charts. A report: exit 0 whatever it finds.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::app::UsageError;
use crate::app::plan::{plan_config, start_of_day, today};
use crate::cli::{BacktestArgs, BacktestFormat};
use crate::clock::Clock;
use crate::config::Settings;
use crate::core::backtest::{
    Adaptive, Cin7Levels, Judge, Naive, Oracle, Planned, Policy, Recorded, SimOptions, Trajectory,
    World, grid_name, outcome, prepare, simulate,
};
use crate::core::model::AvailabilityRow;
use crate::core::plan::{Explain, PlanConfig};
use crate::core::settings::Method;
use crate::output::backtest::{PolicyReport, Report, RunNotes};
use crate::output::backtest_plot::{SkuSeries, TradeoffPoint, sku_png, tradeoff_png};
use crate::output::progress::Progress;
use crate::store::Store;

/// One policy to simulate.
#[derive(Debug, Clone)]
pub enum PolicySpec {
    /// The planner under this config: `configured`, or a grid point.
    Planner {
        name: String,
        config: Box<PlanConfig>,
    },
    Naive {
        window_days: usize,
        cover_days: f64,
    },
    Cin7Levels,
    /// The adaptive method (`policy.method = "adaptive"`) under these settings.
    Adaptive {
        name: String,
        settings: crate::core::adaptive::Settings,
        below_minimum: crate::core::settings::BelowMinimum,
    },
    /// Knows the future: the ceiling.
    Oracle,
}

impl PolicySpec {
    pub fn name(&self) -> String {
        match self {
            PolicySpec::Planner { name, .. } => name.clone(),
            PolicySpec::Naive { .. } => "naive".into(),
            PolicySpec::Cin7Levels => "cin7-levels".into(),
            PolicySpec::Adaptive { name, .. } => name.clone(),
            PolicySpec::Oracle => "oracle".into(),
        }
    }

    pub fn params(&self) -> BTreeMap<String, f64> {
        match self {
            PolicySpec::Planner { config, .. } => BTreeMap::from([
                ("service_level".to_string(), config.policy.service_level),
                ("cover_days".to_string(), config.policy.cover_days),
                (
                    "velocity_window_days".to_string(),
                    f64::from(config.policy.velocity_window_days),
                ),
            ]),
            PolicySpec::Naive {
                window_days,
                cover_days,
            } => BTreeMap::from([
                ("window_days".to_string(), *window_days as f64),
                ("cover_days".to_string(), *cover_days),
            ]),
            PolicySpec::Adaptive { settings, .. } => BTreeMap::from([
                ("target_fill_rate".to_string(), settings.target_fill_rate),
                ("carrying_rate".to_string(), settings.carrying_rate),
                ("order_cost_po".to_string(), settings.order_cost_po),
                ("order_cost_line".to_string(), settings.order_cost_line),
            ]),
            PolicySpec::Cin7Levels | PolicySpec::Oracle => BTreeMap::new(),
        }
    }
}

/// The policies of a run, in report order: configured, the grid (classic), the other method
/// (`adaptive` when classic is configured, `classic` when adaptive is), naive, cin7-levels,
/// oracle.
pub fn policy_specs(
    config: &PlanConfig,
    service_levels: &[f64],
    cover_days: &[f64],
) -> Result<Vec<PolicySpec>> {
    fractions("--service-level", service_levels, "0.95")?;
    for &c in cover_days {
        if !(c.is_finite() && (0.0..=crate::config::limits::MAX_DAYS).contains(&c)) {
            return Err(UsageError(format!(
                "--cover-days: {c} must be a number of days from 0 to {}, e.g. 30",
                crate::config::limits::MAX_DAYS
            ))
            .into());
        }
    }
    // The configured policy first, then the other method beside it, so both always show.
    let mut classic = config.clone();
    classic.policy.method = Method::Classic;
    let adaptive = |name: &str| PolicySpec::Adaptive {
        name: name.into(),
        settings: crate::core::adaptive::Settings::from_policy(&config.policy),
        below_minimum: config.policy.below_minimum,
    };
    let mut specs = match config.policy.method {
        Method::Classic => vec![PolicySpec::Planner {
            name: "configured".into(),
            config: Box::new(classic.clone()),
        }],
        Method::Adaptive => vec![adaptive("configured")],
    };
    if !service_levels.is_empty() || !cover_days.is_empty() {
        let sls = if service_levels.is_empty() {
            vec![config.policy.service_level]
        } else {
            service_levels.to_vec()
        };
        let covers = if cover_days.is_empty() {
            vec![config.policy.cover_days]
        } else {
            cover_days.to_vec()
        };
        for &s in &sls {
            for &c in &covers {
                let name = grid_name(s, c);
                if specs.iter().any(|p| p.name() == name) {
                    continue;
                }
                let mut cfg = classic.clone();
                cfg.policy.service_level = s;
                cfg.policy.cover_days = c;
                specs.push(PolicySpec::Planner {
                    name,
                    config: Box::new(cfg),
                });
            }
        }
    }
    specs.push(match config.policy.method {
        Method::Classic => adaptive("adaptive"),
        Method::Adaptive => PolicySpec::Planner {
            name: "classic".into(),
            config: Box::new(classic),
        },
    });
    specs.push(PolicySpec::Naive {
        window_days: config.policy.velocity_window_days as usize,
        cover_days: config.policy.cover_days,
    });
    specs.push(PolicySpec::Cin7Levels);
    specs.push(PolicySpec::Oracle);
    Ok(specs)
}

/// Checks that every value of a list flag is strictly between 0 and 1 (a usage error naming the
/// flag and the value otherwise).
pub(crate) fn fractions(flag: &str, values: &[f64], example: &str) -> Result<()> {
    match values.iter().find(|v| !(**v > 0.0 && **v < 1.0)) {
        Some(v) => Err(UsageError(format!(
            "{flag}: {v} must be strictly between 0 and 1, e.g. {example}"
        ))
        .into()),
        None => Ok(()),
    }
}

/// Everything the backtest reads from the store, owned.
#[derive(Debug)]
pub struct Loaded {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub sales: crate::core::sales::Sales,
    pub locations: Vec<crate::core::model::Location>,
    pub products: Vec<crate::core::model::Product>,
    pub suppliers: Vec<crate::core::model::Supplier>,
    pub availability: Vec<AvailabilityRow>,
    pub stockout_days: Vec<(String, String, NaiveDate)>,
    pub snapshot_days: Vec<NaiveDate>,
    /// Where the starting stock came from, in words.
    pub stock_source: String,
    /// History days before `from` that policies see (see [`Recorded::warmup_days`]).
    pub warmup_days: usize,
    /// Said on stderr: the warm-up starts before the stored history, or the range runs past the
    /// last sync.
    pub warnings: Vec<String>,
}

impl Loaded {
    pub fn recorded(&self) -> Recorded<'_> {
        Recorded {
            sales: &self.sales,
            locations: &self.locations,
            products: &self.products,
            suppliers: &self.suppliers,
            availability: &self.availability,
            stockout_days: &self.stockout_days,
            snapshot_days: &self.snapshot_days,
            warmup_days: self.warmup_days,
        }
    }
}

/// Resolves the simulated range and reads what the world is built from.
pub fn load(
    settings: &Settings,
    store: &Store,
    now: DateTime<Utc>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Loaded> {
    let w = u64::from(settings.policy.velocity_window_days);
    let tz = settings.policy.timezone;
    let usage = |message: String| -> anyhow::Error { UsageError(message).into() };
    let first_day = store
        .first_order_created_at()?
        .map(|t| t.with_timezone(&tz).date_naive());
    // The store's record is complete up to the day before its last sync.
    let Some(last_sync) = store.latest_snapshot()? else {
        return Err(usage(format!(
            "the store at {} has no Cin7 stock yet, so there is nothing to simulate: run `replenish sync --backfill-days 90` first",
            store.path().display()
        )));
    };
    let today = today(settings, now);
    let last_day = last_sync
        .taken_at
        .with_timezone(&tz)
        .date_naive()
        .pred_opt();
    let last_day = last_day
        .unwrap_or(today)
        .min(today.pred_opt().unwrap_or(today));
    let from = match (from, first_day) {
        (Some(f), _) => f,
        (None, Some(first)) => first.checked_add_days(Days::new(w)).unwrap_or(first),
        (None, None) => {
            return Err(usage(format!(
                "the store at {} holds no orders to replay: run `replenish sync --backfill-days 90` first (or give --from)",
                store.path().display()
            )));
        }
    };
    let to = to.unwrap_or(last_day);
    if chrono::Datelike::year(&from) < 1970 {
        return Err(usage(format!(
            "--from {from}: the first simulated day must be in 1970 or later"
        )));
    }
    if to >= today {
        return Err(usage(format!(
            "--to {to}: the last simulated day must be before today ({today}), whose sales are not complete"
        )));
    }
    let mut warnings = Vec::new();
    if to > last_day {
        warnings.push(format!(
            "the store was last synced {}: days after {last_day} have no recorded sales, so every policy sees demand stop (run `replenish sync` first)",
            last_sync.taken_at.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    if from > to {
        return Err(UsageError(format!(
            "nothing to simulate: the first day {from} is after the last day {to} (the first {w} days of stored history are the warm-up; backfill more with `replenish sync --backfill-days 90`, or give --from/--to)"
        ))
        .into());
    }
    if (to - from).num_days() > 3660 {
        return Err(usage(format!(
            "--from {from} to --to {to} is more than 10 years: pick a shorter range"
        )));
    }
    let (Some(warm_start), Some(end)) = (
        from.checked_sub_days(Days::new(w)),
        to.checked_add_days(Days::new(2)),
    ) else {
        return Err(usage(format!(
            "--from {from} / --to {to}: dates out of range"
        )));
    };
    if let Some(first) = first_day.filter(|first| *first > warm_start) {
        warnings.push(format!(
            "the warm-up window starts {warm_start}, before the first stored order ({first}): policies start with less than {w} days of history"
        ));
    }
    // The adaptive policy learns from more history when the store has it (`history_days`):
    // the warm-up reaches back to the first stored order, at most that far.
    let history = u64::from(
        settings
            .policy
            .history_days
            .max(settings.policy.velocity_window_days),
    );
    let stored_before = first_day
        .map(|first| u64::try_from((from - first).num_days()).unwrap_or(0))
        .unwrap_or(0);
    let warmup = history.min(stored_before).max(w);
    let warm_start = from
        .checked_sub_days(Days::new(warmup))
        .unwrap_or(warm_start);
    let sales = store.sales_between(
        start_of_day(settings, warm_start) - chrono::Duration::days(1),
        start_of_day(settings, end),
    )?;
    let (availability, stock_source) = starting_stock(settings, store, from)?;
    Ok(Loaded {
        from,
        to,
        sales,
        locations: store.locations()?,
        products: store.products()?,
        suppliers: store.suppliers()?,
        availability,
        stockout_days: store.out_of_stock_days(warm_start, to)?,
        snapshot_days: store.snapshot_days(warm_start, to)?,
        stock_source,
        warmup_days: usize::try_from(warmup).unwrap_or(usize::MAX),
        warnings,
    })
}

/// The kept snapshot nearest the start of `from`, else the latest stock.
fn starting_stock(
    settings: &Settings,
    store: &Store,
    from: NaiveDate,
) -> Result<(Vec<AvailabilityRow>, String)> {
    let at = start_of_day(settings, from);
    let nearest = store
        .kept_snapshots()?
        .into_iter()
        .min_by_key(|s| (s.taken_at - at).num_seconds().abs());
    if let Some(s) = nearest {
        let rows = store.snapshot_rows(s.id)?;
        if !rows.is_empty() {
            return Ok((
                rows,
                format!(
                    "the snapshot of {} (nearest to {from})",
                    s.taken_at.format("%Y-%m-%d %H:%M UTC")
                ),
            ));
        }
    }
    let rows = store.latest_availability()?;
    let source = if rows.is_empty() {
        "none recorded: every unit starts empty".to_string()
    } else {
        "the latest stock in the store".to_string()
    };
    Ok((rows, source))
}

/// Simulates every policy over `world`, a thread per core; `on_day` is called after each
/// simulated day of each policy.
pub fn run_policies(
    specs: &[PolicySpec],
    world: &World,
    loaded: &Loaded,
    opts: SimOptions,
    on_day: &(dyn Fn() + Sync),
) -> Result<Vec<Trajectory>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Trajectory>>>> =
        Mutex::new((0..specs.len()).map(|_| None).collect());
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(specs.len())
        .max(1);
    let panicked = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(spec) = specs.get(i) else { break };
                        let result = simulate_one(spec, world, loaded, opts, on_day);
                        let mut r = results.lock().unwrap_or_else(|e| e.into_inner());
                        r[i] = Some(result);
                    }
                })
            })
            .collect();
        // Every thread joined here (no short cut), so a panic comes back as an error instead of
        // re-panicking the scope.
        let joined: Vec<bool> = handles.into_iter().map(|h| h.join().is_err()).collect();
        joined.contains(&true)
    });
    if panicked {
        anyhow::bail!("a backtest thread panicked (a bug: please report it with the command line)");
    }
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results
        .into_iter()
        .zip(specs)
        .map(|(r, spec)| {
            r.unwrap_or_else(|| Err(anyhow::anyhow!("policy {} did not run", spec.name())))
        })
        .collect()
}

fn simulate_one(
    spec: &PolicySpec,
    world: &World,
    loaded: &Loaded,
    opts: SimOptions,
    on_day: &(dyn Fn() + Sync),
) -> Result<Trajectory> {
    let mut policy: Box<dyn Policy + '_> = match spec {
        PolicySpec::Planner { name, config } => Box::new(Planned::new(
            name.clone(),
            config,
            &loaded.locations,
            &loaded.products,
            &loaded.suppliers,
            &world.units,
            world.from,
        )?),
        PolicySpec::Naive {
            window_days,
            cover_days,
        } => Box::new(Naive {
            window_days: *window_days,
            cover_days: *cover_days,
        }),
        PolicySpec::Cin7Levels => Box::new(Cin7Levels),
        PolicySpec::Adaptive {
            name,
            settings,
            below_minimum,
        } => Box::new(Adaptive::new(
            name.clone(),
            *settings,
            *below_minimum,
            &world.units,
            world.first_weekday(),
        )),
        PolicySpec::Oracle => Box::new(Oracle::new(&world.units, opts)),
    };
    Ok(simulate(
        &world.units,
        world.days(),
        policy.as_mut(),
        opts,
        on_day,
    )?)
}

pub fn exec(settings: &Settings, args: &BacktestArgs, clock: Clock) -> Result<ExitCode> {
    let now = clock.now();
    let config = plan_config(settings, Explain::None)?;
    let specs = policy_specs(&config, &args.service_level, &args.cover_days)?;
    let store = Store::open_read_only(&settings.store.path)?;
    let loaded = load(settings, &store, now, args.from, args.to)?;
    drop(store);
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let world = prepare(&config, &loaded.recorded(), loaded.from, loaded.to)
        .with_context(|| crate::app::plan::locations_mismatch(settings))?;
    if world.units.is_empty() {
        return Err(UsageError(format!(
            "nothing to simulate: no product sold, held stock or has a reorder level in {} – {} (is the store synced? `replenish sync --backfill-days 90`)",
            loaded.from, loaded.to
        ))
        .into());
    }
    let include = |u: usize| {
        let unit = &world.units[u];
        args.sku.as_deref().is_none_or(|s| s == unit.sku)
            && args.location.as_deref().is_none_or(|l| l == unit.location)
    };
    // The units reported on, once.
    let included: Vec<usize> = (0..world.units.len()).filter(|&u| include(u)).collect();
    if included.is_empty() {
        return Err(UsageError(format!(
            "no simulated unit matches{}{}: a unit is simulated when it sold, held stock or has a reorder level in {} – {}",
            args.sku.as_deref().map(|s| format!(" --sku {s}")).unwrap_or_default(),
            args.location
                .as_deref()
                .map(|l| format!(" --location {l}"))
                .unwrap_or_default(),
            loaded.from,
            loaded.to
        ))
        .into());
    }
    let opts = SimOptions {
        backorder: args.backorder,
        lead_time_jitter: args.lead_time_jitter,
        seed: args.seed,
    };
    let days = world.days();
    let bar = Progress::auto().bar("simulating days", (days * specs.len()) as u64);
    let trajectories = run_policies(&specs, &world, &loaded, opts, &|| bar.inc(1))?;
    bar.finish("done");
    let report = Report {
        from: loaded.from,
        to: loaded.to,
        policies: specs
            .iter()
            .zip(&trajectories)
            .map(|(spec, t)| PolicyReport {
                name: spec.name(),
                params: spec.params(),
                outcome: outcome(
                    &world.units,
                    t,
                    Judge {
                        include: &include,
                        skip_start_up: !args.include_start_up,
                    },
                ),
            })
            .collect(),
    };
    if let Some(path) = &args.plot {
        draw(
            path,
            args.sku.as_deref(),
            &report,
            &world,
            &trajectories,
            &included,
        )?;
    }
    let format = crate::app::pick_format(args.format, BacktestFormat::Table, BacktestFormat::Json);
    let text = match format {
        BacktestFormat::Json => crate::output::backtest::json(&report)?,
        BacktestFormat::Csv => crate::output::backtest::csv(&report)?,
        BacktestFormat::Table => {
            let estimated_days = included
                .iter()
                .map(|&u| world.estimated[u].iter().filter(|e| **e).count())
                .sum();
            let scope = match (&args.sku, &args.location) {
                (None, None) => None,
                (s, l) => Some(
                    [
                        s.as_ref().map(|s| format!("SKU {s}")),
                        l.as_ref().map(|l| format!("location {l}")),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" at "),
                ),
            };
            crate::output::backtest::table(
                &report,
                &RunNotes {
                    days,
                    units: included.len(),
                    backorder: args.backorder,
                    lead_time_jitter: args.lead_time_jitter,
                    estimated_days,
                    stock_source: loaded.stock_source.clone(),
                    scope,
                    skip_start_up: !args.include_start_up,
                },
                crate::app::stdout_width(),
            )
        }
    };
    crate::app::write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The stock chart's file: `<stem>-stock.png` beside the trade-off chart.
pub fn stock_chart_path(path: &std::path::Path) -> std::path::PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backtest".into());
    path.with_file_name(format!("{stem}-stock.png"))
}

fn draw(
    path: &std::path::Path,
    sku: Option<&str>,
    report: &Report,
    world: &World,
    trajectories: &[Trajectory],
    units: &[usize],
) -> Result<()> {
    let points: Vec<TradeoffPoint> = report
        .policies
        .iter()
        .map(|p| TradeoffPoint {
            name: p.name.clone(),
            fill_rate: p.outcome.fill_rate,
            avg_on_hand_value: p.outcome.avg_on_hand_value,
        })
        .collect();
    let title = format!("Backtest {} – {}", report.from, report.to);
    tradeoff_png(path, &title, &points)?;
    eprintln!(
        "wrote the trade-off chart to {}",
        crate::output::terminal_safe(&path.display().to_string())
    );
    let Some(sku) = sku else { return Ok(()) };
    let series: Vec<SkuSeries> = report
        .policies
        .iter()
        .zip(trajectories)
        .map(|(p, t)| SkuSeries {
            policy: p.name.clone(),
            on_hand: (0..t.days)
                .map(|d| {
                    units
                        .iter()
                        .map(|&u| t.on_hand[u].get(d).copied().unwrap_or(0.0))
                        .sum()
                })
                .collect(),
            orders: t
                .placed
                .iter()
                .filter(|o| units.contains(&o.unit))
                .map(|o| (o.day, o.quantity))
                .collect(),
            receipts: t
                .placed
                .iter()
                .filter(|o| units.contains(&o.unit) && o.arrives < t.days)
                .map(|o| (o.arrives, o.quantity))
                .collect(),
        })
        .collect();
    let stock_path = stock_chart_path(path);
    let locations: Vec<&str> = units
        .iter()
        .map(|&u| world.units[u].location.as_str())
        .collect();
    sku_png(
        &stock_path,
        &format!("{sku} at {}: stock on hand", locations.join(" + ")),
        world.from,
        &series,
    )?;
    eprintln!(
        "wrote {}'s stock chart to {}",
        crate::output::safe::ident(sku),
        crate::output::terminal_safe(&stock_path.display().to_string())
    );
    Ok(())
}
