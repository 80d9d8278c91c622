//! The `adaptive` policy in the backtest: the same per-unit decisions `plan` makes under
//! `policy.method = "adaptive"` ([`crate::core::adaptive::decide`]), fed from the simulated days.
//! Pure: no IO.
//!
//! Each unit keeps one [`Forecaster`] that learns each simulated day's sales as it joins the
//! history (the warm-up days first), so a day costs a few operations per unit instead of a
//! re-fit: the forecasters are incremental, so this is exactly what a plan over the same history
//! computes. Days the unit opened empty are out of stock and skipped, as `plan` skips recorded
//! stockout days. A (supplier, location) PO below the supplier's minimum first takes in the
//! group's other units that are within half a cycle of their reorder point (ordered up to their
//! target: the "can-order" rule of joint replenishment), then follows `policy.below_minimum`:
//! held, or topped up a pack at a time on the line with the least projected cover.

use crate::core::adaptive::{self, Decisions, Settings, UnitInput};
use crate::core::backtest::engine::{DayView, PoGroups, Policy, SimUnit};
use crate::core::forecast::Forecaster;
use crate::core::plan::PlanError;
use crate::core::settings::BelowMinimum;

/// The adaptive policy over simulated units.
#[derive(Debug)]
pub struct Adaptive<'a> {
    name: String,
    settings: Settings,
    below_minimum: BelowMinimum,
    units: &'a [SimUnit],
    forecasters: Vec<Forecaster>,
    /// Days of each unit's history already fed.
    fed: Vec<usize>,
    sold: Vec<bool>,
    groups: PoGroups,
    theta: Option<f64>,
}

impl<'a> Adaptive<'a> {
    /// `weekday0`: the weekday (0 = Monday) of the first history day.
    pub fn new(
        name: String,
        settings: Settings,
        below_minimum: BelowMinimum,
        units: &'a [SimUnit],
        weekday0: usize,
    ) -> Adaptive<'a> {
        Adaptive {
            name,
            settings,
            below_minimum,
            units,
            forecasters: units
                .iter()
                .map(|u| {
                    Forecaster::with_horizon(
                        settings.params,
                        settings.models,
                        weekday0,
                        u.lead_time_days.max(1) as usize,
                    )
                })
                .collect(),
            fed: vec![0; units.len()],
            sold: vec![false; units.len()],
            groups: PoGroups::of_units(units),
            theta: None,
        }
    }

    /// The decisions of today, after feeding the days the view adds.
    pub fn decide(&mut self, view: &DayView<'_>) -> Decisions {
        for u in 0..self.units.len() {
            let sales = view.sales(u);
            let out = view.out_of_stock(u);
            for (d, &y) in sales.iter().enumerate().skip(self.fed[u]) {
                self.sold[u] |= y > 0.0;
                self.forecasters[u].push(y, out.get(d).copied().unwrap_or(false));
            }
            self.fed[u] = sales.len();
        }
        let inputs: Vec<UnitInput> = self
            .units
            .iter()
            .enumerate()
            .map(|(u, unit)| UnitInput {
                forecast: self.forecasters[u].forecast(unit.lead_time_days.max(1) as usize),
                lead_time_days: unit.lead_time_days,
                unit_cost: unit.unit_cost,
                moq: unit.moq,
                pack: unit.pack,
                position: view.position(u),
                reorder_level: unit.reorder_level,
                group: self.groups.of[u],
                sold: self.sold[u],
            })
            .collect();
        let d = adaptive::decide(inputs, &self.settings, self.theta);
        self.theta = Some(d.theta).filter(|t| *t > 0.0);
        d
    }
}

impl Policy for Adaptive<'_> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn orders(&mut self, view: &DayView<'_>) -> Result<Vec<(usize, f64)>, PlanError> {
        let d = self.decide(view);
        let cost = |u: usize| self.units[u].unit_cost.unwrap_or(0.0);
        let mut out = Vec::new();
        for members in &self.groups.members {
            let mut qty: Vec<(usize, f64)> = members
                .iter()
                .map(|&u| (u, d.units[u].order_qty))
                .filter(|(_, q)| *q > 0.0)
                .collect();
            if qty.is_empty() {
                continue;
            }
            let minimum = self.units[members[0]].min_order_value.unwrap_or(0.0);
            let value = |qty: &[(usize, f64)]| qty.iter().map(|&(u, q)| q * cost(u)).sum::<f64>();
            if value(&qty) + 1e-9 < minimum {
                // Can-order: units within half a cycle of their reorder point join the PO.
                for &u in members {
                    let x = &d.units[u];
                    if x.order_qty > 0.0 {
                        continue;
                    }
                    let position = view.position(u);
                    if x.cycle > 0.0 && position <= x.reorder_point + x.cycle / 2.0 {
                        let q = view.order_quantity(u, x.target - position);
                        if q > 0.0 {
                            qty.push((u, q));
                        }
                    }
                }
            }
            if value(&qty) + 1e-9 < minimum {
                match self.below_minimum {
                    BelowMinimum::Hold => continue,
                    BelowMinimum::TopUp => {
                        // A pack at a time to the line with the least projected cover.
                        let priced: Vec<usize> =
                            (0..qty.len()).filter(|&i| cost(qty[i].0) > 0.0).collect();
                        if priced.is_empty() {
                            continue;
                        }
                        let mut guard = 0;
                        while value(&qty) + 1e-9 < minimum && guard < 100_000 {
                            guard += 1;
                            let cover = |i: usize| {
                                let (u, q) = qty[i];
                                let rate = d.units[u].rate;
                                if rate > 0.0 {
                                    (view.position(u) + q) / rate
                                } else {
                                    f64::INFINITY
                                }
                            };
                            let Some(&i) = priced
                                .iter()
                                .min_by(|&&a, &&b| cover(a).total_cmp(&cover(b)))
                            else {
                                break;
                            };
                            let pack = self.units[qty[i].0].pack.max(1.0);
                            qty[i].1 += pack;
                        }
                    }
                }
            }
            out.extend(qty);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::backtest::engine::{Judge, SimOptions, outcome, simulate};

    /// The engine tests' unit (A at Main from Acme, cost 2), with 28 warm-up days selling
    /// `history` and 60 simulated days demanding `demand`.
    fn unit(history: f64, demand: f64, lead: u32, on_hand: f64) -> SimUnit {
        SimUnit {
            pack: 1.0,
            history: vec![history; 28],
            history_out: vec![false; 28],
            ..crate::core::backtest::engine::tests::unit(vec![demand; 60], lead, on_hand)
        }
    }

    #[test]
    fn steady_demand_orders_the_economic_quantity_at_the_reorder_point() {
        // 10 a day with no error, lead 5: the flat model is exact, so the lead time's demand is
        // 50 with no spread and the reorder point is 50. One selling unit in its PO: K = 2 + 40
        // = 42; holding 0.25 × 2 = 0.5 a unit-year; EOQ √(2·3650·42/0.5) = 783.1 → 784.
        // Target 50 + 784 = 834. Day 4 ends at 100 − 50 = 50 ≤ 50: order 784, arriving on day 9.
        let units = vec![unit(10.0, 10.0, 5, 100.0)];
        let mut p = Adaptive::new(
            "adaptive".into(),
            Settings::default(),
            BelowMinimum::Hold,
            &units,
            0,
        );
        let t = simulate(&units, 60, &mut p, SimOptions::default(), &|| {})
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (t.placed[0].day, t.placed[0].arrives, t.placed[0].quantity),
            (4, 9, 784.0)
        );
        let o = outcome(&units, &t, Judge::all());
        assert_eq!(o.stockout_unit_days, 0);
        assert_eq!(o.fill_rate, 1.0);
    }

    #[test]
    fn a_reorder_level_where_nothing_sells_is_ignored() {
        // Cin7 asks for at least 20 at a location that never sold: classic would order 20 + 30;
        // adaptive orders nothing. Where the unit sells, the same level applies.
        let mut idle = unit(0.0, 0.0, 5, 0.0);
        idle.reorder_level = Some((20.0, 30.0));
        let mut selling = unit(1.0, 1.0, 5, 0.0);
        selling.sku = "B".into();
        selling.reorder_level = Some((20.0, 30.0));
        let units = vec![idle, selling];
        let mut p = Adaptive::new(
            "adaptive".into(),
            Settings::default(),
            BelowMinimum::Hold,
            &units,
            0,
        );
        let t = simulate(&units, 10, &mut p, SimOptions::default(), &|| {})
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(t.placed.iter().all(|o| o.unit == 1), "{:?}", t.placed);
        let first = t.placed.first().map(|o| (o.day, o.quantity));
        // B: position 0 ≤ 20 on day 0 (after its sale of the day, with nothing on hand), so the
        // target is at least 20 + 30.
        assert!(first.is_some_and(|(d, q)| d == 0 && q >= 50.0), "{first:?}");
    }
}
