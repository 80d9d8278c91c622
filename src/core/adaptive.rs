//! The `adaptive` replenishment policy for a set of units: each unit's demand model (the one that
//! forecast its own recent days best, [`crate::core::forecast`]), its order quantity from the
//! economics of ordering against carrying ([`service::eoq`], bounded by MOQ and pack), its service
//! level from the allocation that reaches `target_fill_rate` at the least inventory value
//! ([`service::allocate`]), and from those its reorder point, target and order quantity. Pure.
//!
//! Rules, per unit with lead time L and inventory position IP:
//! - μ_L = the chosen model's forecast of the next L days; σ_L = the spread of its one-day
//!   errors × √L; the lead-time demand is Poisson / negative binomial below a mean of 20, else
//!   normal ([`service::Dist::for_demand`]);
//! - cycle Q = EOQ with K = `order_cost_line` + `order_cost_po` shared by the selling units of the
//!   unit's (supplier, location), and holding `carrying_rate` × unit cost a year; at least one
//!   day of demand, MOQ and 1; at most a year of demand; a whole number of packs;
//! - reorder point s = the α-quantile of lead-time demand, α from the allocation; target S = s + Q;
//! - order when the unit sells (μ_L > 0) and IP ≤ s: ⌈S − IP⌉, then MOQ, then pack;
//! - Cin7's reorder level (m, r) applies as in `classic` (IP ≤ m raises the target to m + r)
//!   only where the unit sold in the history shown; where it never sold, it is ignored: stock
//!   held where nothing sells is cash tied up for nothing (said in `--explain`).
//! - classes: ABC by share of demand value (A: the units making the first 80 %, B: the next
//!   15 %, C: the rest), XYZ by the lead-time coefficient of variation σ_L/μ_L (X ≤ 0.25,
//!   Y ≤ 0.5, Z above). Shown, never configured.

use crate::core::forecast::{Forecast, Model, ModelSet, Params};
use crate::core::num::{ceil_tol, clean};
use crate::core::policy::{Rounded, Trigger, reorder_floor, round_order, trigger};
use crate::core::service::{self, Bounds, Candidate, Dist};

/// The knobs of the adaptive policy (`[policy]` keys).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Demand-weighted fill rate to reach (`policy.target_fill_rate`).
    pub target_fill_rate: f64,
    /// Yearly cost of holding one unit, as a share of its cost (`policy.carrying_rate`).
    pub carrying_rate: f64,
    /// Cost of placing one purchase order and of one line on it (`policy.order_cost_po`,
    /// `policy.order_cost_line`).
    pub order_cost_po: f64,
    pub order_cost_line: f64,
    /// Which demand models may be chosen.
    pub models: ModelSet,
    pub params: Params,
    pub bounds: Bounds,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from_policy(&crate::core::settings::Policy::default())
    }
}

impl Settings {
    /// The knobs `[policy]` sets, with the textbook smoothing constants.
    pub fn from_policy(p: &crate::core::settings::Policy) -> Settings {
        Settings {
            target_fill_rate: p.target_fill_rate,
            carrying_rate: p.carrying_rate,
            order_cost_po: p.order_cost_po,
            order_cost_line: p.order_cost_line,
            models: p.demand_models,
            params: Params::default(),
            bounds: Bounds::default(),
        }
    }
}

/// Longest cycle, in days of demand.
pub const MAX_CYCLE_DAYS: f64 = 365.0;

/// One unit as the policy sees it today.
#[derive(Debug, Clone)]
pub struct UnitInput {
    /// Its forecaster's view of the lead time ([`crate::core::forecast::Forecaster::forecast`] of its days,
    /// fed with the unit's sales up to yesterday); `None`: nothing to learn from.
    pub forecast: Option<Forecast>,
    pub lead_time_days: u32,
    pub unit_cost: Option<f64>,
    pub moq: f64,
    pub pack: f64,
    pub position: f64,
    /// Cin7's reorder level (m, r), when m > 0.
    pub reorder_level: Option<(f64, f64)>,
    /// The (supplier, location) group the unit is ordered in; `None`: no supplier.
    pub group: Option<usize>,
    /// Whether the unit sold at all in the history shown.
    pub sold: bool,
}

/// What became of Cin7's reorder level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReorderUse {
    /// No reorder level (m = 0).
    None,
    /// Applied as in `classic`.
    Applied,
    /// Ignored: the unit never sold here.
    IgnoredNoDemand,
}

/// The policy's decision for one unit, with everything `--explain` says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub forecast: Option<Forecast>,
    /// Demand per day the model expects over the lead time.
    pub rate: f64,
    pub lead_demand: f64,
    pub lead_sd: f64,
    pub dist: Dist,
    pub cycle: f64,
    pub eoq: Option<f64>,
    pub alpha: f64,
    pub expected_fill: f64,
    pub reorder_point: f64,
    pub target: f64,
    pub trigger: Trigger,
    pub raw_qty: f64,
    pub q1: f64,
    pub order_qty: f64,
    pub raised_to_moq: bool,
    pub rounded_to_pack: bool,
    pub raised_target: bool,
    pub reorder_use: ReorderUse,
    /// ABC and XYZ class letters.
    pub abc: char,
    pub xyz: char,
}

impl Decision {
    pub fn model(&self) -> Option<Model> {
        self.forecast.as_ref().map(|f| f.model)
    }

    pub fn class(&self) -> String {
        format!("{}{}", self.abc, self.xyz)
    }
}

/// The decisions for a set of units and the allocation behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct Decisions {
    pub units: Vec<Decision>,
    /// Expected demand-weighted fill over the units that sell.
    pub expected_fill: f64,
    /// Whether the target is reachable within the service-level bounds.
    pub reached: bool,
    /// The allocation's multiplier (a hint for the next day's allocation).
    pub theta: f64,
}

fn cycle_of(
    rate: f64,
    cost: Option<f64>,
    order_cost: f64,
    s: &Settings,
    moq: f64,
    pack: f64,
) -> (f64, Option<f64>) {
    if rate <= 0.0 {
        return (0.0, None);
    }
    let eoq = cost.and_then(|c| service::eoq(rate, order_cost, s.carrying_rate, c));
    // No cost to weigh: a month of demand.
    let raw = eoq.unwrap_or(rate * 30.0);
    let q = raw.min(rate * MAX_CYCLE_DAYS).max(rate).max(moq).max(1.0);
    let pack = if pack >= 1.0 { pack } else { 1.0 };
    (ceil_tol(q / pack) * pack, eoq)
}

/// Decides every unit. `theta_hint` (the previous day's [`Decisions::theta`]) only speeds the
/// allocation up; the result does not depend on it beyond the bisection's tolerance.
pub fn decide(units: Vec<UnitInput>, s: &Settings, theta_hint: Option<f64>) -> Decisions {
    let (units, mut forecasts): (Vec<UnitInput>, Vec<Option<Forecast>>) = units
        .into_iter()
        .map(|mut u| {
            let f = u.forecast.take();
            (u, f)
        })
        .unzip();
    // Selling units per group, to share the PO's ordering cost.
    let groups = units
        .iter()
        .filter_map(|u| u.group)
        .max()
        .map_or(0, |g| g + 1);
    let mut selling = vec![0usize; groups];
    for (u, f) in units.iter().zip(&forecasts) {
        if let (Some(g), Some(f)) = (u.group, f)
            && f.rate > 0.0
        {
            selling[g] += 1;
        }
    }
    let mut costs: Vec<f64> = units
        .iter()
        .filter_map(|u| u.unit_cost.filter(|c| *c > 0.0))
        .collect();
    costs.sort_by(f64::total_cmp);
    let median_cost = costs.get(costs.len() / 2).copied().unwrap_or(1.0);

    let mut cands = Vec::with_capacity(units.len());
    let mut prep = Vec::with_capacity(units.len());
    for (u, f) in units.iter().zip(&forecasts) {
        let l = f64::from(u.lead_time_days.max(1));
        let (rate, lead_demand, lead_sd) = match f {
            Some(f) => (
                f.rate,
                f.sum,
                f.sigma_horizon.unwrap_or(f.sigma_day * l.sqrt()),
            ),
            None => (0.0, 0.0, 0.0),
        };
        let sells = rate > 0.0 && u.sold && u.group.is_some();
        let share = u.group.map_or(1, |g| selling[g].max(1)) as f64;
        let order_cost = s.order_cost_line + s.order_cost_po / share;
        let (cycle, eoq) = if sells {
            cycle_of(rate, u.unit_cost, order_cost, s, u.moq, u.pack)
        } else {
            (0.0, None)
        };
        let dist = Dist::for_demand(lead_demand, lead_sd);
        cands.push(Candidate {
            rate: if sells { rate } else { 0.0 },
            cycle,
            cost: u.unit_cost.filter(|c| *c > 0.0).unwrap_or(median_cost),
            dist,
        });
        prep.push((rate, lead_demand, lead_sd, dist, cycle, eoq, sells));
    }
    let alloc = service::allocate_from(&cands, s.target_fill_rate, s.bounds, theta_hint);

    // ABC by demand value.
    let mut by_value: Vec<(usize, f64)> = cands
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.rate * c.cost))
        .collect();
    by_value.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let total: f64 = by_value.iter().map(|(_, v)| v).sum();
    let mut abc = vec!['C'; units.len()];
    let mut acc = 0.0;
    for (i, v) in by_value {
        if v <= 0.0 {
            break;
        }
        abc[i] = if acc < 0.80 * total {
            'A'
        } else if acc < 0.95 * total {
            'B'
        } else {
            'C'
        };
        acc += v;
    }

    let mut out = Vec::with_capacity(units.len());
    for (i, u) in units.iter().enumerate() {
        let (rate, lead_demand, lead_sd, dist, cycle, eoq, sells) = prep[i];
        let level = alloc.levels[i];
        let (alpha, expected_fill, rop) = if sells {
            (level.alpha, level.fill, level.reorder_point)
        } else {
            (0.0, 1.0, 0.0)
        };
        let reorder_use = match u.reorder_level {
            Some((m, _)) if m > 0.0 && !u.sold => ReorderUse::IgnoredNoDemand,
            Some((m, _)) if m > 0.0 => ReorderUse::Applied,
            _ => ReorderUse::None,
        };
        let (m, r) = match reorder_use {
            ReorderUse::Applied => u.reorder_level.unwrap_or((0.0, 0.0)),
            _ => (0.0, 0.0),
        };
        let floor = reorder_floor(if sells { rop + cycle } else { 0.0 }, u.position, m, r);
        let (target, raised_target) = (floor.target, floor.raised);
        let trigger = trigger(sells && u.position <= rop + 1e-9, floor.at_min);
        let raw = target - u.position;
        let Rounded {
            q1,
            order,
            raised_to_moq,
            rounded_to_pack,
        } = if trigger != Trigger::None && u.group.is_some() {
            round_order(raw, u.moq, u.pack)
        } else {
            Rounded::default()
        };
        let cv = if lead_demand > 0.0 {
            lead_sd / lead_demand
        } else {
            f64::INFINITY
        };
        out.push(Decision {
            forecast: forecasts[i].take(),
            rate: clean(rate),
            lead_demand: clean(lead_demand),
            lead_sd: clean(lead_sd),
            dist,
            cycle,
            eoq,
            alpha,
            expected_fill,
            reorder_point: clean(rop),
            target: clean(target),
            trigger,
            raw_qty: clean(raw),
            q1,
            order_qty: order,
            raised_to_moq,
            rounded_to_pack,
            raised_target,
            reorder_use,
            abc: abc[i],
            xyz: if cv <= 0.25 {
                'X'
            } else if cv <= 0.5 {
                'Y'
            } else {
                'Z'
            },
        });
    }
    Decisions {
        units: out,
        expected_fill: alloc.fill,
        reached: alloc.reached,
        theta: alloc.theta,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::forecast::Forecaster;

    fn fed(series: &[f64]) -> Forecaster {
        let mut f = Forecaster::new(Params::default(), ModelSet::all(), 0);
        for &y in series {
            f.push(y, false);
        }
        f
    }

    fn input(f: &Forecaster, position: f64, sold: bool) -> UnitInput {
        UnitInput {
            forecast: f.forecast(5),
            lead_time_days: 5,
            unit_cost: Some(2.0),
            moq: 0.0,
            pack: 1.0,
            position,
            reorder_level: Some((20.0, 30.0)),
            group: Some(0),
            sold,
        }
    }

    #[test]
    fn reorder_levels_apply_only_where_the_unit_sells() {
        let idle = fed(&[0.0; 40]);
        let busy = fed(&[1.0; 40]);
        let d = decide(
            vec![input(&idle, 0.0, false), input(&busy, 0.0, true)],
            &Settings::default(),
            None,
        );
        let (a, b) = (&d.units[0], &d.units[1]);
        assert_eq!(a.reorder_use, ReorderUse::IgnoredNoDemand);
        assert_eq!((a.trigger, a.order_qty), (Trigger::None, 0.0));
        assert_eq!(b.reorder_use, ReorderUse::Applied);
        // B sells 1 a day with no error: reorder point 5 (a Poisson(5) quantile at its level,
        // at least the mean), and Cin7's level lifts the target to at least 20 + 30.
        assert!(b.target >= 50.0 && b.order_qty >= 50.0, "{b:?}");
        assert_eq!(b.model(), Some(Model::Flat));
    }

    #[test]
    fn classes_follow_demand_value_and_variability() {
        // Three units of equal cost: 10, 1 and 0.1 a day. Demand value 10 : 1 : 0.1, so the
        // first makes 90 % (A: the first 80 % starts with it), the second reaches 99.1 % (B),
        // the third is C. The steady 10 a day is X; the one-in-ten seller is Z.
        let fast = fed(&[10.0; 60]);
        let mid = fed(&[1.0; 60]);
        let slow: Vec<f64> = (0..60)
            .map(|t| if t % 10 == 0 { 1.0 } else { 0.0 })
            .collect();
        let slow = fed(&slow);
        let mk = |f| UnitInput {
            reorder_level: None,
            ..input(f, 1000.0, true)
        };
        let d = decide(
            vec![mk(&fast), mk(&mid), mk(&slow)],
            &Settings::default(),
            None,
        );
        let classes: Vec<String> = d.units.iter().map(Decision::class).collect();
        assert_eq!(classes[0], "AX");
        assert!(classes[1].starts_with('B'), "{classes:?}");
        assert_eq!(classes[2], "CZ");
        assert!(d.reached);
    }
}
