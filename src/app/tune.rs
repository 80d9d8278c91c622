//! `replenish tune`: runs the backtest over candidate settings of the adaptive method (target
//! fill rate × carrying rate × demand models), beside the configured policy, naive and the
//! oracle; marks the frontier (no other candidate fills more with less inventory) and the
//! recommended point, and prints the `[policy]` block that selects it. A report: exit 0.
//!
//! The recommended point: among frontier candidates whose average inventory value is no higher
//! than the configured policy's, the one that fills most; when none is that lean, the frontier
//! candidate with the least inventory. It never recommends a point the configured policy
//! dominates without saying so (the table shows both).

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::app::UsageError;
use crate::app::backtest::{Loaded, PolicySpec, fractions, load, run_policies};
use crate::app::plan::plan_config;
use crate::cli::{BacktestFormat, TuneArgs};
use crate::clock::Clock;
use crate::config::Settings;
use crate::core::adaptive::Settings as AdaptiveSettings;
use crate::core::backtest::{Judge, SimOptions, World, outcome, prepare};
use crate::core::forecast::{Model, ModelSet};
use crate::core::plan::{Explain, PlanConfig};
use crate::core::settings::Method;
use crate::output::backtest_plot::{TradeoffPoint, tradeoff_png};
use crate::output::progress::Progress;
use crate::output::tune::{Point, TuneReport};
use crate::store::Store;

/// One candidate setting of the adaptive method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub target_fill_rate: f64,
    pub carrying_rate: f64,
    pub models: ModelSet,
}

impl Candidate {
    /// The name the report prints: `fill=0.98,carry=0.25,models=all`.
    pub fn name(&self) -> String {
        format!(
            "fill={},carry={},models={}",
            self.target_fill_rate,
            self.carrying_rate,
            models_name(self.models)
        )
    }
}

fn models_name(m: ModelSet) -> String {
    if m == ModelSet::all() {
        "all".into()
    } else {
        m.names().join("+")
    }
}

/// Parses `--models`: `all`, `flat`, or model names joined by `+` (e.g. `flat+croston_sba`).
pub fn parse_models(s: &str) -> Result<ModelSet, String> {
    match s {
        "all" => Ok(ModelSet::all()),
        _ => {
            s.split('+').try_fold(ModelSet::flat_only(), |set, name| {
                Model::parse(name.trim()).map(|m| set.with(m, true)).ok_or_else(|| {
                format!(
                    "unknown demand model \"{name}\": use all, or names joined by + among {}",
                    ModelSet::all().names().join(", ")
                )
            })
            })
        }
    }
}

/// Every combination, in order.
pub fn candidates(
    targets: &[f64],
    carrying: &[f64],
    models: &[ModelSet],
) -> Result<Vec<Candidate>> {
    fractions("--target-fill-rate", targets, "0.98")?;
    for &c in carrying {
        if !(c > 0.0 && c <= crate::config::limits::MAX_CARRYING_RATE) {
            return Err(UsageError(format!(
                "--carrying-rate: {c} must be above 0 and at most {} (a yearly share of unit cost, e.g. 0.25)",
                crate::config::limits::MAX_CARRYING_RATE
            ))
            .into());
        }
    }
    let mut out = Vec::new();
    for &models in models {
        for &carrying_rate in carrying {
            for &target_fill_rate in targets {
                out.push(Candidate {
                    target_fill_rate,
                    carrying_rate,
                    models,
                });
            }
        }
    }
    if out.is_empty() {
        return Err(
            UsageError("no candidate to try: give at least one value of each list".into()).into(),
        );
    }
    Ok(out)
}

/// The policies a tune run simulates: the candidates, then configured, naive and the oracle.
pub fn specs(config: &PlanConfig, cands: &[Candidate]) -> Vec<PolicySpec> {
    let mut specs: Vec<PolicySpec> = cands
        .iter()
        .map(|c| {
            let mut s = AdaptiveSettings::from_policy(&config.policy);
            s.target_fill_rate = c.target_fill_rate;
            s.carrying_rate = c.carrying_rate;
            s.models = c.models;
            PolicySpec::Adaptive {
                name: c.name(),
                settings: s,
                below_minimum: config.policy.below_minimum,
            }
        })
        .collect();
    specs.push(match config.policy.method {
        Method::Classic => PolicySpec::Planner {
            name: "configured".into(),
            config: Box::new(config.clone()),
        },
        Method::Adaptive => PolicySpec::Adaptive {
            name: "configured".into(),
            settings: AdaptiveSettings::from_policy(&config.policy),
            below_minimum: config.policy.below_minimum,
        },
    });
    specs.push(PolicySpec::Naive {
        window_days: config.policy.velocity_window_days as usize,
        cover_days: config.policy.cover_days,
    });
    specs.push(PolicySpec::Oracle);
    specs
}

/// Simulates every spec and judges it (each unit from its lead time on). `on_day` is called
/// after each simulated day of each policy.
pub fn evaluate(
    specs: &[PolicySpec],
    world: &World,
    loaded: &Loaded,
    on_day: &(dyn Fn() + Sync),
) -> Result<Vec<crate::core::backtest::Outcome>> {
    let ts = run_policies(specs, world, loaded, SimOptions::default(), on_day)?;
    let judge = Judge {
        include: &|_| true,
        skip_start_up: true,
    };
    Ok(ts.iter().map(|t| outcome(&world.units, t, judge)).collect())
}

/// Marks the frontier among the candidates: a candidate is on it when no other candidate fills
/// at least as much with no more inventory (and is better in one).
pub fn frontier(points: &[(f64, f64)]) -> Vec<bool> {
    points
        .iter()
        .enumerate()
        .map(|(i, &(fill, value))| {
            !points
                .iter()
                .enumerate()
                .any(|(j, &(f, v))| j != i && f >= fill && v <= value && (f > fill || v < value))
        })
        .collect()
}

/// The recommended candidate (see the module docs), by index.
pub fn recommend(points: &[(f64, f64)], on_frontier: &[bool], budget: f64) -> Option<usize> {
    let frontier = || (0..points.len()).filter(|&i| on_frontier[i]);
    frontier()
        .filter(|&i| points[i].1 <= budget)
        .max_by(|&a, &b| points[a].0.total_cmp(&points[b].0))
        .or_else(|| frontier().min_by(|&a, &b| points[a].1.total_cmp(&points[b].1)))
}

pub fn exec(settings: &Settings, args: &TuneArgs, clock: Clock) -> Result<ExitCode> {
    let models: Vec<ModelSet> = args
        .models
        .iter()
        .map(|m| {
            parse_models(m).map_err(|e| anyhow::Error::from(UsageError(format!("--models: {e}"))))
        })
        .collect::<Result<_>>()?;
    let cands = candidates(&args.target_fill_rate, &args.carrying_rate, &models)?;
    let config = plan_config(settings, Explain::None)?;
    let store = Store::open_read_only(&settings.store.path)?;
    let loaded = load(settings, &store, clock.now(), args.from, args.to)?;
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
    let specs = specs(&config, &cands);
    let days = world.days();
    let bar = Progress::auto().bar("simulating candidates", (days * specs.len()) as u64);
    let outcomes = evaluate(&specs, &world, &loaded, &|| bar.inc(1))?;
    bar.finish("done");

    let n = cands.len();
    let weeks = days as f64 / 7.0;
    let xy: Vec<(f64, f64)> = outcomes[..n]
        .iter()
        .map(|o| (o.fill_rate, o.avg_on_hand_value))
        .collect();
    let on_frontier = frontier(&xy);
    let configured = &outcomes[n];
    let pick = recommend(&xy, &on_frontier, configured.avg_on_hand_value);
    let point = |name: String, o: &crate::core::backtest::Outcome| Point {
        name,
        fill_rate: o.fill_rate,
        avg_on_hand_value: o.avg_on_hand_value,
        pos_per_week: if weeks > 0.0 {
            o.purchase_orders as f64 / weeks
        } else {
            0.0
        },
        lost_revenue: o.lost_revenue,
        frontier: false,
        recommended: false,
    };
    let mut points: Vec<Point> = cands
        .iter()
        .zip(&outcomes)
        .enumerate()
        .map(|(i, (c, o))| Point {
            frontier: on_frontier[i],
            recommended: pick == Some(i),
            ..point(c.name(), o)
        })
        .collect();
    let baselines: Vec<Point> = ["configured", "naive", "oracle"]
        .iter()
        .zip(&outcomes[n..])
        .map(|(name, o)| point((*name).to_string(), o))
        .collect();
    let block = pick.map(|i| {
        let c = cands[i];
        let mut b = format!(
            "[policy]\nmethod = \"adaptive\"\ntarget_fill_rate = {}\ncarrying_rate = {}\n",
            c.target_fill_rate, c.carrying_rate
        );
        if c.models != ModelSet::all() {
            let names: Vec<String> = c
                .models
                .names()
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect();
            b.push_str(&format!("demand_models = [{}]\n", names.join(", ")));
        }
        b
    });
    points.sort_by(|a, b| b.fill_rate.total_cmp(&a.fill_rate));
    let report = TuneReport {
        from: loaded.from,
        to: loaded.to,
        days,
        units: world.units.len(),
        candidates: points,
        baselines,
        recommended_block: block,
    };
    if let Some(path) = &args.plot {
        let pts: Vec<TradeoffPoint> = report
            .candidates
            .iter()
            .filter(|p| p.frontier)
            .chain(&report.baselines)
            .map(|p| TradeoffPoint {
                name: if p.recommended {
                    format!("{} (recommended)", p.name)
                } else {
                    p.name.clone()
                },
                fill_rate: p.fill_rate,
                avg_on_hand_value: p.avg_on_hand_value,
            })
            .collect();
        tradeoff_png(
            path,
            &format!("Tune {} – {}: the frontier", report.from, report.to),
            &pts,
        )?;
        eprintln!(
            "wrote the frontier chart to {}",
            crate::output::terminal_safe(&path.display().to_string())
        );
    }
    let format = crate::app::pick_format(args.format, BacktestFormat::Table, BacktestFormat::Json);
    let text = match format {
        BacktestFormat::Json => crate::output::tune::json(&report)?,
        BacktestFormat::Csv => crate::output::tune::csv(&report)?,
        BacktestFormat::Table => crate::output::tune::table(&report, crate::app::stdout_width()),
    };
    crate::app::write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frontier_and_the_recommendation() {
        // (fill, value): B dominates A; C fills more at more value; D is leanest.
        let pts = [(0.90, 200.0), (0.92, 180.0), (0.95, 260.0), (0.85, 100.0)];
        let f = frontier(&pts);
        assert_eq!(f, vec![false, true, true, true]);
        // Budget 200 (the configured policy's value): B, the best fill within it.
        assert_eq!(recommend(&pts, &f, 200.0), Some(1));
        // Budget 50: nothing within it, so the leanest frontier point, D.
        assert_eq!(recommend(&pts, &f, 50.0), Some(3));
        // Budget 300: C.
        assert_eq!(recommend(&pts, &f, 300.0), Some(2));
    }

    #[test]
    fn candidates_are_every_combination_and_bad_values_are_named() {
        let c = candidates(
            &[0.9, 0.98],
            &[0.25],
            &[ModelSet::all(), ModelSet::flat_only()],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<String> = c.iter().map(Candidate::name).collect();
        assert_eq!(
            names,
            [
                "fill=0.9,carry=0.25,models=all",
                "fill=0.98,carry=0.25,models=all",
                "fill=0.9,carry=0.25,models=flat",
                "fill=0.98,carry=0.25,models=flat"
            ]
        );
        let e = candidates(&[1.5], &[0.25], &[ModelSet::all()])
            .map(|_| ())
            .unwrap_err();
        assert!(e.to_string().contains("--target-fill-rate: 1.5"), "{e}");
        assert_eq!(
            parse_models("flat+tsb").map(|m| m.names()),
            Ok(vec!["flat", "tsb"])
        );
        assert!(parse_models("flat+magic").is_err());
    }
}
