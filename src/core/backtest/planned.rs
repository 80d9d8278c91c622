//! The configured policy in the backtest: on each simulated day, the real planning core
//! ([`crate::core::plan::compute`], the code path of `plan` and `draft`, not a copy) plans as of
//! that day from the simulated world, and the purchase orders it would draft are placed.
//! Pure: no IO.
//!
//! What the planner is shown on day T, built from the [`DayView`] only (so from days before T):
//! - sales: one paid order per (key location, day) of the window T−W … T−1 at local noon, with a
//!   line per unit that sold that day, carrying the Cin7 SKU itself and a location gid that the
//!   backtest maps to the key (the SKU mapping table is not needed: the units are Cin7 SKUs);
//! - stock: one availability row per unit at its key location: Available = simulated on hand
//!   less any backlog, OnOrder = simulated open orders;
//! - the stockout record: the window days the unit was out of stock (recorded on warm-up days,
//!   simulated after) at every member of its key's pool, with a snapshot on every day;
//! - no purchases, no drafts, fresh data (the data-age gate never holds).
//!
//! POs the planner holds (below a supplier minimum with `below_minimum = "hold"`) are not placed:
//! `draft` would not write them either.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};

use crate::core::backtest::engine::{DayView, Policy, SimUnit};
use crate::core::catalog::{Catalog, Resolved};
use crate::core::locations::Locations;
use crate::core::model::{AvailabilityRow, Location, Product, Supplier};
use crate::core::plan::{Explain, PlanConfig, PlanData, PlanError, compute};
use crate::core::sales::SalesBuilder;

/// The real planner as a backtest policy.
#[derive(Debug)]
pub struct Planned<'a> {
    name: String,
    config: PlanConfig,
    locations: &'a [Location],
    products: &'a [Product],
    suppliers: &'a [Supplier],
    /// The date of simulated day 0.
    start: NaiveDate,
    /// The synthetic Shopify location gid of each key.
    gids: Vec<String>,
    /// Units by key index.
    by_key: Vec<Vec<usize>>,
    /// The Cin7 location names of each key's pool (the key first), by key index: a unit is out
    /// of stock only when every member is, so a stockout is recorded at each of them.
    members: Vec<Vec<String>>,
    /// Each unit's SKU.
    skus: Vec<String>,
    /// (SKU, key location) → unit.
    unit_of: HashMap<(String, String), usize>,
    /// One availability row per unit; only the quantities change from day to day.
    rows: Vec<AvailabilityRow>,
}

impl<'a> Planned<'a> {
    /// The planner under `config` (the configured policy, or a grid point), for `units`
    /// simulated from `start`.
    pub fn new(
        name: String,
        config: &PlanConfig,
        locations: &'a [Location],
        products: &'a [Product],
        suppliers: &'a [Supplier],
        units: &[SimUnit],
        start: NaiveDate,
    ) -> Result<Planned<'a>, PlanError> {
        let locs = Locations::resolve(&config.locations, locations)?;
        let mut config = config.clone();
        config.mapping.clear();
        config.explain = Explain::None;
        let gids: Vec<String> = (0..locs.keys.len())
            .map(|k| format!("gid://replenish/BacktestLocation/{k}"))
            .collect();
        for (gid, key) in gids.iter().zip(&locs.keys) {
            config.locations.shopify.insert(gid.clone(), key.clone());
        }
        let catalog = Catalog::new(products);
        let members: Vec<Vec<String>> = (0..locs.keys.len())
            .map(|k| {
                locs.member_names_of(k)
                    .into_iter()
                    .map(str::to_string)
                    .collect()
            })
            .collect();
        let mut by_key = vec![Vec::new(); locs.keys.len()];
        let mut unit_of = HashMap::with_capacity(units.len());
        let mut rows = Vec::with_capacity(units.len());
        for (u, unit) in units.iter().enumerate() {
            if let Some(k) = locs.keys.iter().position(|key| *key == unit.location) {
                by_key[k].push(u);
            }
            unit_of.insert((unit.sku.clone(), unit.location.clone()), u);
            let product_id = match catalog.cin7_sku(&unit.sku) {
                Resolved::Stock(p) => catalog.stock[p].id.clone(),
                _ => String::new(),
            };
            rows.push(AvailabilityRow {
                product_id,
                sku: unit.sku.clone(),
                location: unit.location.clone(),
                bin: None,
                batch: None,
                on_hand: 0.0,
                allocated: 0.0,
                available: 0.0,
                on_order: 0.0,
                in_transit: 0.0,
            });
        }
        Ok(Planned {
            name,
            config,
            locations,
            products,
            suppliers,
            start,
            gids,
            by_key,
            members,
            skus: units.iter().map(|u| u.sku.clone()).collect(),
            unit_of,
            rows,
        })
    }

    /// Local noon of `day` in the shop timezone, as UTC.
    fn noon(&self, day: NaiveDate) -> DateTime<Utc> {
        let local = day.and_hms_opt(12, 0, 0).unwrap_or_default();
        self.config
            .policy
            .timezone
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&local))
    }
}

impl Policy for Planned<'_> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn orders(&mut self, view: &DayView<'_>) -> Result<Vec<(usize, f64)>, PlanError> {
        let as_of = self
            .start
            .checked_add_days(Days::new(view.day as u64))
            .unwrap_or(NaiveDate::MAX);
        let w = self.config.policy.history_window_days() as usize;
        // Index of window day i in the view's series: they end at yesterday.
        let seen = view.sales(0).len();
        let dates: Vec<(NaiveDate, Option<usize>)> = (0..w)
            .map(|i| {
                let back = (w - i) as u64;
                let idx = (seen + i).checked_sub(w);
                let date = as_of.checked_sub_days(Days::new(back));
                (date.unwrap_or(NaiveDate::MIN), idx)
            })
            .collect();
        let mut b = SalesBuilder::with_capacity(w * self.gids.len(), self.skus.len() * w);
        let mut stockout_days = Vec::new();
        for &(date, idx) in &dates {
            let Some(idx) = idx else { continue };
            let at = self.noon(date);
            for (k, units) in self.by_key.iter().enumerate() {
                b.order(at, false, false, "PAID", Some(&self.gids[k]), None);
                for &u in units {
                    let q = view.sales(u).get(idx).copied().unwrap_or(0.0).round();
                    if q > 0.0 {
                        b.line(Some(&self.skus[u]), q as i64, false);
                    }
                    if view.out_of_stock(u).get(idx).copied().unwrap_or(false) {
                        for member in &self.members[k] {
                            stockout_days.push((self.skus[u].clone(), member.clone(), date));
                        }
                    }
                }
            }
        }
        let sales = b.finish();
        for (u, row) in self.rows.iter_mut().enumerate() {
            row.on_hand = view.on_hand.get(u).copied().unwrap_or(0.0);
            row.available = view.available(u);
            row.on_order = view.on_order.get(u).copied().unwrap_or(0.0);
        }
        let snapshot_days: Vec<NaiveDate> = dates.iter().map(|(d, _)| *d).collect();
        let plan = compute(
            &self.config,
            &PlanData {
                sales: &sales,
                locations: self.locations,
                products: self.products,
                suppliers: self.suppliers,
                availability: &self.rows,
                purchases: &[],
                stockout_days: &stockout_days,
                snapshot_days: &snapshot_days,
                own_drafts: &[],
                snapshot_age_minutes: Some(0.0),
            },
            as_of,
        )?;
        let mut out = Vec::new();
        for po in plan.purchase_orders.iter().filter(|po| po.status != "hold") {
            for line in &po.lines {
                if let Some(&u) = self.unit_of.get(&(line.sku.clone(), po.location.clone())) {
                    out.push((u, line.quantity));
                }
            }
        }
        Ok(out)
    }
}
