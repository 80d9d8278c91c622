//! From the store's record to the simulated world: which units are simulated, with which
//! supplier, lead time, cost, price and reorder level, their recorded sales and stockout days, and
//! the demand each simulated day serves. Pure: no IO.
//!
//! Everything is read through the planning core itself, so the backtest cannot disagree with
//! `plan` about what counts as a sale, where it lands, or which supplier and lead time a unit has:
//! - the units and their terms are the lines of one plan computed over the whole span (warm-up +
//!   simulated days) on the starting stock, so every unit with a sale, stock or a reorder level
//!   in the span appears;
//! - recorded daily units and the stockout record come from the same `Demand` and `Stockouts`
//!   passes `plan` makes.
//!
//! Demand (the issue: "recorded sales are censored" on stockout days): on a simulated day the
//! store shows in stock, demand = the recorded units. On a day it shows out of stock, demand =
//! the stockout-adjusted velocity there, taken as the mean of the last W in-stock days before it
//! (W = `velocity_window_days`; looking further back than W calendar days when stockouts fill the
//! window, so a long stockout is not estimated as zero demand; no in-stock day at all → the
//! recorded units). Estimates are turned into whole units by carrying the fraction from one
//! estimated day to the next (0.4 a day → 0, 1, 0, 1, 0, …), so totals are kept and every
//! simulated sale is a whole unit, like a real order line. A recorded sale above the estimate is
//! kept (sales are a floor on demand).

use std::collections::VecDeque;

use chrono::{Days, NaiveDate};

use crate::core::backtest::engine::SimUnit;
use crate::core::catalog::{Catalog, Resolved};
use crate::core::demand::{Demand, Window};
use crate::core::locations::Locations;
use crate::core::model::{AvailabilityRow, Location, Product, Supplier};
use crate::core::plan::{Explain, PlanConfig, PlanData, PlanError, compute};
use crate::core::policy;
use crate::core::sales::Sales;
use crate::core::velocity::Stockouts;

/// What the store recorded, as the backtest reads it.
#[derive(Debug, Clone, Copy)]
pub struct Recorded<'a> {
    /// Orders created in (at least) the warm-up and simulated days.
    pub sales: &'a Sales,
    pub locations: &'a [Location],
    pub products: &'a [Product],
    pub suppliers: &'a [Supplier],
    /// The stock to start from (the snapshot nearest the first simulated day).
    pub availability: &'a [AvailabilityRow],
    /// (SKU, Cin7 location, day) the store showed out of stock all day.
    pub stockout_days: &'a [(String, String, NaiveDate)],
    pub snapshot_days: &'a [NaiveDate],
    /// Days of history before the first simulated day that policies see: at least
    /// `velocity_window_days`; more (up to the adaptive method's history) when stored.
    pub warmup_days: usize,
}

/// The simulated world.
#[derive(Debug, Clone, PartialEq)]
pub struct World {
    /// First and last simulated day (inclusive).
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Warm-up days before `from` that policies see as history (`velocity_window_days`).
    pub warmup_days: usize,
    pub units: Vec<SimUnit>,
    /// Recorded sales per unit and simulated day.
    pub recorded: Vec<Vec<f64>>,
    /// Whether each unit's demand was estimated on each simulated day.
    pub estimated: Vec<Vec<bool>>,
}

impl World {
    /// Number of simulated days.
    pub fn days(&self) -> usize {
        self.units
            .first()
            .map(|u| u.demand.len())
            .unwrap_or_else(|| days_between(self.from, self.to))
    }
}

impl World {
    /// The weekday (0 = Monday) of the first history day (the warm-up's first).
    pub fn first_weekday(&self) -> usize {
        use chrono::Datelike;
        self.from
            .checked_sub_days(Days::new(self.warmup_days as u64))
            .unwrap_or(self.from)
            .weekday()
            .num_days_from_monday() as usize
    }
}

fn days_between(from: NaiveDate, to: NaiveDate) -> usize {
    usize::try_from((to - from).num_days() + 1).unwrap_or(0)
}

/// Builds the world for simulated days `from..=to` (inclusive), with `rec.warmup_days` (at least
/// `velocity_window_days`) of warm-up before `from`.
pub fn prepare(
    config: &PlanConfig,
    rec: &Recorded<'_>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<World, PlanError> {
    let velocity_days = config.policy.velocity_window_days as usize;
    let warmup = rec.warmup_days.max(velocity_days);
    let days = days_between(from, to);
    let span = warmup + days;
    let end = to.checked_add_days(Days::new(1)).unwrap_or(NaiveDate::MAX);
    let mut base = config.clone();
    base.policy.velocity_window_days = u32::try_from(span).unwrap_or(u32::MAX);
    // One classic plan over the span only finds the units and their terms.
    base.policy.method = crate::core::settings::Method::Classic;
    base.explain = Explain::None;
    let plan = compute(
        &base,
        &PlanData {
            sales: rec.sales,
            locations: rec.locations,
            products: rec.products,
            suppliers: rec.suppliers,
            availability: rec.availability,
            purchases: &[],
            stockout_days: rec.stockout_days,
            snapshot_days: rec.snapshot_days,
            own_drafts: &[],
            snapshot_age_minutes: Some(0.0),
        },
        end,
    )?;
    let mut world = World {
        from,
        to,
        warmup_days: warmup,
        units: Vec::with_capacity(plan.lines.len()),
        recorded: Vec::with_capacity(plan.lines.len()),
        estimated: Vec::with_capacity(plan.lines.len()),
    };
    if rec.locations.is_empty() {
        return Ok(world);
    }
    let locs = Locations::resolve(&config.locations, rec.locations)?;
    let catalog = Catalog::new(rec.products);
    let window = Window::new(
        end,
        base.policy.velocity_window_days,
        config.policy.timezone,
    );
    let demand = Demand::collect(rec.sales, &config.mapping, &catalog, &locs, &window);
    let stockouts = Stockouts::build(rec.stockout_days, &catalog, &locs, &window);
    let mut daily = vec![0i64; span];
    let mut out = vec![false; span];
    for line in &plan.lines {
        let (Resolved::Stock(p), Some(k)) = (
            catalog.cin7_sku(&line.sku),
            locs.keys.iter().position(|key| *key == line.location),
        ) else {
            continue;
        };
        let product = catalog.stock[p];
        demand.daily_into(p * locs.keys.len() + k, &mut daily);
        stockouts.unit_into(p, &locs.members[k], &mut out);
        let (demand_days, estimated) = estimate_demand(&daily, &out, warmup, velocity_days);
        let (m, r, _) = policy::reorder_level(product, &line.location, true);
        let min_order_value = line
            .supplier
            .as_ref()
            .and_then(|s| config.suppliers.get(s))
            .and_then(|o| o.min_order_value)
            .map(decimal_f64);
        world.units.push(SimUnit {
            sku: line.sku.clone(),
            location: line.location.clone(),
            supplier: line.supplier.clone(),
            min_order_value,
            unit_cost: line.unit_cost.map(decimal_f64),
            price: product.price.map(decimal_f64),
            lead_time_days: line.lead_time_days,
            moq: line.moq,
            pack: line.pack,
            initial_on_hand: line.available.max(0.0),
            history: daily[..warmup].iter().map(|&u| u as f64).collect(),
            history_out: out[..warmup].to_vec(),
            demand: demand_days,
            reorder_level: (m > 0.0).then_some((m, r)),
        });
        world
            .recorded
            .push(daily[warmup..].iter().map(|&u| u as f64).collect());
        world.estimated.push(estimated);
    }
    Ok(world)
}

fn decimal_f64(d: rust_decimal::Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64().unwrap_or(0.0)
}

/// Demand on days `first..` of a unit's record (see the module docs): recorded units on in-stock
/// days; on out-of-stock days the mean of the last `window` in-stock days before, as whole units
/// with the fraction carried. Returns the demand and which days were estimated.
pub fn estimate_demand(
    recorded: &[i64],
    out: &[bool],
    first: usize,
    window: usize,
) -> (Vec<f64>, Vec<bool>) {
    let window = window.max(1);
    let mut seen: VecDeque<i64> = VecDeque::with_capacity(window);
    let mut sum: i64 = 0;
    let (mut carried, mut emitted) = (0.0_f64, 0.0_f64);
    let mut demand = Vec::with_capacity(recorded.len().saturating_sub(first));
    let mut estimated = Vec::with_capacity(demand.capacity());
    for (d, &units) in recorded.iter().enumerate() {
        let is_out = out.get(d).copied().unwrap_or(false);
        if d >= first {
            if is_out && !seen.is_empty() {
                carried += sum as f64 / seen.len() as f64;
                let whole = carried.round() - emitted;
                emitted += whole;
                demand.push(whole.max(units as f64));
                estimated.push(true);
            } else {
                demand.push(units as f64);
                estimated.push(false);
            }
        }
        if !is_out {
            if seen.len() == window
                && let Some(old) = seen.pop_front()
            {
                sum -= old;
            }
            seen.push_back(units);
            sum += units;
        }
    }
    (demand, estimated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_stock_days_keep_their_sales_and_stockout_days_get_the_in_stock_mean() {
        // Window 4. Days 0–3 in stock (2, 4, 2, 4: mean 3); days 4–5 out (sold 0 and 1).
        let recorded = [2, 4, 2, 4, 0, 1, 5];
        let out = [false, false, false, false, true, true, false];
        let (d, est) = estimate_demand(&recorded, &out, 2, 4);
        assert_eq!(d, vec![2.0, 4.0, 3.0, 3.0, 5.0]);
        assert_eq!(est, vec![false, false, true, true, false]);
    }

    #[test]
    fn fractional_estimates_carry_so_the_total_is_kept() {
        // Mean 0.4 over the window: five stockout days estimate 0.4 × 5 = 2 units.
        let recorded = [0, 1, 0, 1, 0, 0, 0, 0, 0, 0];
        let out = [
            false, false, false, false, false, true, true, true, true, true,
        ];
        let (d, _) = estimate_demand(&recorded, &out, 5, 5);
        assert_eq!(d.iter().sum::<f64>(), 2.0);
        assert!(d.iter().all(|x| x.fract() == 0.0), "{d:?}");
        assert_eq!(d, vec![0.0, 1.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn a_long_stockout_looks_back_past_the_window_and_never_forward() {
        // Window 2: in-stock days 0–1 sold 6 and 8; then 5 days out; then a day selling 100.
        let recorded = [6, 8, 0, 0, 0, 0, 0, 100];
        let out = [false, false, true, true, true, true, true, false];
        let (d, _) = estimate_demand(&recorded, &out, 2, 2);
        // Every stockout day uses days 0–1 (mean 7), not the later 100.
        assert_eq!(d, vec![7.0, 7.0, 7.0, 7.0, 7.0, 100.0]);
        // No in-stock day before: the recorded units stand.
        let (d, est) = estimate_demand(&[3, 0], &[true, true], 0, 2);
        assert_eq!((d, est), (vec![3.0, 0.0], vec![false, false]));
    }
}
