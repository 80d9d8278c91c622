//! The backtest's day-by-day simulation: stock per unit, purchase orders placed by a policy and
//! received after their lead time, each day's demand served from stock (lost beyond it, or
//! backordered), and the metrics a buyer compares policies by. Pure: no IO.
//!
//! A policy only ever sees the days before the simulated one: [`DayView`] hands it the sales and
//! out-of-stock record as slices ending at yesterday (the recorded warm-up days, then the simulated
//! ones), so "no data from the future" holds by construction, and is tested. True demand is not
//! in the view at all: like the real tool, a policy sees sales, which stockouts censor.
//!
//! Decisions (the issue is silent):
//! - Order of a day T: receipts arrive first (and serve any backlog), then T's demand is served,
//!   then the policy plans as of T, like the day's last cron run: sales and the stockout record
//!   up to T−1 (the velocity window ends at yesterday), and the stock as it stands now. An order
//!   placed on T arrives at the start of T + lead time (the plan's `required_by`), at the
//!   earliest the next morning. Planning at the start of the day instead would add a day of
//!   review lag that the real tool, which runs every two hours, does not have: with a reorder
//!   point of d̄ × L and no variability it would run dry one day in every cycle.
//! - A simulated day is out of stock when it opens with no stock (after receipts): the store's
//!   rule, "every snapshot of the day showed Available ≤ 0", at a day's resolution.
//! - With `backorder`, unmet demand waits and is served first from later receipts. Policies see
//!   it as Cin7 and Shopify would: the whole demand is a sale on its own day, and Available is on
//!   hand − backlog (negative while orders wait). Fill rate counts only units served the day they
//!   were demanded, a day with unmet demand is a stockout day either way, and lost revenue is
//!   only what still waits at the end.
//! - Lead-time jitter is drawn per order from (seed, unit, day placed): the same order is
//!   delayed alike under every policy.
//! - `cin7-levels` fires on Available ≤ Min, as the issue words it (not on the position): while
//!   an order is in transit it tops up each day's sales, so it places many small POs.
//! - A purchase order is one (day, supplier, location) group of orders, as `draft` writes them;
//!   its lines are the units ordered in it. A unit without a supplier cannot be ordered (no PO can
//!   be written), whatever the policy says.
//! - Values: inventory and ordered value at the unit cost (the supplier's Cost), lost revenue at
//!   the selling price; units whose price is unknown add nothing to a value.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::plan::PlanError;

/// One planning unit's simulated world.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimUnit {
    pub sku: String,
    pub location: String,
    pub supplier: Option<String>,
    /// The supplier's minimum order value (`suppliers."<name>".min_order_value`), if any.
    pub min_order_value: Option<f64>,
    /// Unit cost (the product-supplier Cost), for inventory and ordered value.
    pub unit_cost: Option<f64>,
    /// Selling price (Cin7 PriceTier1), for lost revenue.
    pub price: Option<f64>,
    pub lead_time_days: u32,
    /// MOQ and pack (whole units, pack ≥ 1), as the plan resolves them.
    pub moq: f64,
    pub pack: f64,
    pub initial_on_hand: f64,
    /// Recorded sales on the warm-up days before the first simulated day.
    pub history: Vec<f64>,
    /// Whether the store showed the unit out of stock on each warm-up day.
    pub history_out: Vec<bool>,
    /// Demand per simulated day (recorded, or estimated on recorded stockout days).
    pub demand: Vec<f64>,
    /// Cin7 reorder level (minimum before reorder, reorder quantity), if any.
    pub reorder_level: Option<(f64, f64)>,
}

/// What a policy sees on a simulated day. The units' true demand is not reachable from here:
/// only their terms, the stock, and the history of sales and stockouts up to yesterday.
#[derive(Debug)]
pub struct DayView<'a> {
    /// Simulated day index (0 = the first simulated day).
    pub day: usize,
    /// Stock per unit now: after today's receipts and sales.
    pub on_hand: &'a [f64],
    /// Ordered, not received, per unit.
    pub on_order: &'a [f64],
    /// Sold but not yet delivered per unit (`--backorder` only; 0 otherwise).
    pub backlog: &'a [f64],
    units: &'a [SimUnit],
    sales: &'a [Vec<f64>],
    out: &'a [Vec<bool>],
}

impl DayView<'_> {
    /// How many units are simulated.
    pub fn unit_count(&self) -> usize {
        self.units.len()
    }

    /// Lead time of unit `u`, in days.
    pub fn lead_time_days(&self, u: usize) -> u32 {
        self.units.get(u).map(|x| x.lead_time_days).unwrap_or(0)
    }

    /// Cin7 reorder level (minimum before reorder, reorder quantity) of unit `u`, if any.
    pub fn reorder_level(&self, u: usize) -> Option<(f64, f64)> {
        self.units.get(u).and_then(|x| x.reorder_level)
    }

    /// `q` raised to the unit's MOQ, then rounded up to whole packs (as a buyer must order).
    pub fn order_quantity(&self, u: usize, q: f64) -> f64 {
        let Some(unit) = self.units.get(u) else {
            return q;
        };
        let pack = if unit.pack >= 1.0 { unit.pack } else { 1.0 };
        (q.ceil().max(unit.moq) / pack).ceil() * pack
    }

    /// Available = on hand − backlog (negative while backorders wait, as Cin7 shows it).
    pub fn available(&self, u: usize) -> f64 {
        self.on_hand.get(u).copied().unwrap_or(0.0) - self.backlog.get(u).copied().unwrap_or(0.0)
    }

    /// Inventory position: available + on order.
    pub fn position(&self, u: usize) -> f64 {
        self.available(u) + self.on_order.get(u).copied().unwrap_or(0.0)
    }

    /// Sales of unit `u` on every day before today: the warm-up days, then the simulated days
    /// so far. Never today or later.
    pub fn sales(&self, u: usize) -> &[f64] {
        self.sales.get(u).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether unit `u` was out of stock all day, for the same days as [`DayView::sales`].
    pub fn out_of_stock(&self, u: usize) -> &[bool] {
        self.out.get(u).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// A replenishment policy: the quantity to order per unit today.
pub trait Policy {
    fn name(&self) -> String;
    fn orders(&mut self, view: &DayView<'_>) -> Result<Vec<(usize, f64)>, PlanError>;
}

/// How the simulation treats demand it cannot serve, and lead-time variability.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimOptions {
    pub backorder: bool,
    /// Up to this many days added to a lead time, drawn per order from `seed`.
    pub lead_time_jitter: u32,
    pub seed: u64,
}

/// One order a policy placed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placed {
    pub day: usize,
    /// The day it arrives (may be after the last simulated day: never received).
    pub arrives: usize,
    pub unit: usize,
    pub quantity: f64,
}

/// What happened to each unit over the simulated days: the raw record the metrics are computed
/// from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trajectory {
    pub days: usize,
    /// End-of-day on hand per unit and day.
    pub on_hand: Vec<Vec<f64>>,
    /// Demand served the day it was demanded, per unit and day.
    pub served: Vec<Vec<f64>>,
    /// Every order placed, in the order placed.
    pub placed: Vec<Placed>,
    /// Backordered units still waiting at the end, per unit (`--backorder` only).
    pub backlog_end: Vec<f64>,
    /// Whether unmet demand was backordered rather than lost.
    pub backorder: bool,
}

/// splitmix64's finalizer.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The extra days of an order of unit `u` placed on `day`: drawn from (seed, unit, day) alone,
/// so the same order is delayed alike under every policy and one unit's orders never shift
/// another's draws.
fn jitter(opts: SimOptions, u: usize, day: usize) -> usize {
    if opts.lead_time_jitter == 0 {
        return 0;
    }
    let z = mix(opts.seed ^ mix((u as u64) << 32 ^ day as u64));
    (z % (u64::from(opts.lead_time_jitter) + 1)) as usize
}

/// Runs `policy` over `days` days; `on_day` is called after each simulated day (progress).
pub fn simulate(
    units: &[SimUnit],
    days: usize,
    policy: &mut dyn Policy,
    opts: SimOptions,
    on_day: &dyn Fn(),
) -> Result<Trajectory, PlanError> {
    let n = units.len();
    let mut on_hand: Vec<f64> = units.iter().map(|u| u.initial_on_hand.max(0.0)).collect();
    let mut on_order = vec![0.0_f64; n];
    let mut backlog = vec![0.0_f64; n];
    let mut arriving: Vec<Vec<(usize, f64)>> = vec![Vec::new(); days];
    let mut sales: Vec<Vec<f64>> = units
        .iter()
        .map(|u| {
            let mut v = Vec::with_capacity(u.history.len() + days);
            v.extend_from_slice(&u.history);
            v
        })
        .collect();
    let mut out: Vec<Vec<bool>> = units
        .iter()
        .map(|u| {
            let mut v = Vec::with_capacity(u.history_out.len() + days);
            v.extend_from_slice(&u.history_out);
            v
        })
        .collect();
    let mut t = Trajectory {
        days,
        on_hand: vec![Vec::with_capacity(days); n],
        served: vec![Vec::with_capacity(days); n],
        placed: Vec::new(),
        backlog_end: Vec::new(),
        backorder: opts.backorder,
    };
    // Today's sale and whether it opened empty, per unit: they join the history after the policy.
    let mut sold_today = vec![0.0_f64; n];
    let mut opened_empty = vec![false; n];
    for day in 0..days {
        for &(u, q) in &arriving[day] {
            on_hand[u] += q;
            on_order[u] -= q;
            if opts.backorder && backlog[u] > 0.0 {
                let s = backlog[u].min(on_hand[u]);
                backlog[u] -= s;
                on_hand[u] -= s;
            }
        }
        for (u, unit) in units.iter().enumerate() {
            opened_empty[u] = on_hand[u] <= 0.0;
            let want = unit.demand.get(day).copied().unwrap_or(0.0).max(0.0);
            let served = want.min(on_hand[u]);
            on_hand[u] -= served;
            // A backorder is a paid sale on its own day; a lost sale is no sale at all.
            sold_today[u] = if opts.backorder {
                backlog[u] += want - served;
                want
            } else {
                served
            };
            t.served[u].push(served);
            t.on_hand[u].push(on_hand[u]);
        }
        let orders = policy.orders(&DayView {
            day,
            on_hand: &on_hand,
            on_order: &on_order,
            backlog: &backlog,
            units,
            sales: &sales,
            out: &out,
        })?;
        for (u, q) in orders {
            let Some(unit) = units.get(u) else { continue };
            if q.is_nan() || q <= 0.0 || unit.supplier.is_none() {
                continue;
            }
            let arrives = day + (unit.lead_time_days as usize).max(1) + jitter(opts, u, day);
            on_order[u] += q;
            if let Some(slot) = arriving.get_mut(arrives) {
                slot.push((u, q));
            }
            t.placed.push(Placed {
                day,
                arrives,
                unit: u,
                quantity: q,
            });
        }
        // Today joins the history only now: the policy planned without it.
        for u in 0..n {
            sales[u].push(sold_today[u]);
            out[u].push(opened_empty[u]);
        }
        on_day();
    }
    t.backlog_end = backlog;
    Ok(t)
}

/// One supplier's share of a policy's outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SupplierOutcome {
    /// The supplier's name (null: units without a supplier).
    pub supplier: Option<String>,
    pub fill_rate: f64,
    pub avg_on_hand_value: f64,
    pub purchase_orders: u64,
}

/// What a policy achieved over the simulated days (the JSON of `backtest --format json`, less
/// the name and parameters).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Outcome {
    /// Served the day demanded ÷ demanded (1 without demand).
    pub fill_rate: f64,
    /// Unit-days with demand not served that day.
    pub stockout_unit_days: u64,
    /// Demand not served the day it was demanded, at the selling price; null when no unit in
    /// the report has a known price.
    pub lost_revenue: Option<f64>,
    pub avg_on_hand_units: f64,
    pub avg_on_hand_value: f64,
    /// Average on hand ÷ average daily demand (null without demand).
    pub days_of_inventory: Option<f64>,
    pub purchase_orders: u64,
    pub po_lines: u64,
    pub ordered_value: f64,
    /// Share of purchase orders whose value is below the supplier's minimum order value.
    pub below_minimum_share: f64,
    pub suppliers: Vec<SupplierOutcome>,
    #[serde(skip)]
    pub demanded: f64,
    #[serde(skip)]
    pub served: f64,
}

/// Which units and days the metrics judge.
#[derive(Clone, Copy)]
pub struct Judge<'a> {
    /// The units reported on (`--sku`, `--location`).
    pub include: &'a dyn Fn(usize) -> bool,
    /// Leave out each unit's start-up: the days before its lead time, when no order any policy
    /// placed can have arrived yet, so stock is the starting stock's doing, the same under
    /// every policy. (A unit whose lead time is the whole run is not judged at all.)
    pub skip_start_up: bool,
}

impl Judge<'_> {
    /// Every unit, every day.
    pub fn all() -> Judge<'static> {
        Judge {
            include: &|_| true,
            skip_start_up: false,
        }
    }
}

/// The metrics of a trajectory. Demand-side figures sum over the judged unit-days; inventory
/// figures are each judged unit's average over its judged days, summed over units. A purchase
/// order counts (all of them, start-up included: they are what the policy did) when it has a
/// line of an included unit; whether it is below the minimum is judged on its whole value.
pub fn outcome(units: &[SimUnit], t: &Trajectory, judge: Judge<'_>) -> Outcome {
    let include = judge.include;
    let backorder = t.backorder;
    #[derive(Default)]
    struct Acc {
        demanded: f64,
        served: f64,
        value: f64,
        pos: u64,
    }
    let mut o = Outcome::default();
    let mut by_supplier: BTreeMap<Option<&str>, Acc> = BTreeMap::new();
    let (mut on_hand_sum, mut value_sum, mut lost, mut daily_demand) = (0.0, 0.0, 0.0, 0.0);
    let mut any_price = false;
    for (u, unit) in units.iter().enumerate() {
        if !include(u) {
            continue;
        }
        let acc = by_supplier.entry(unit.supplier.as_deref()).or_default();
        let cost = unit.unit_cost.unwrap_or(0.0);
        any_price |= unit.price.is_some();
        let first = if judge.skip_start_up {
            (unit.lead_time_days as usize).max(1).min(t.days)
        } else {
            0
        };
        let judged = (t.days - first) as f64;
        let (mut stock_sum, mut demand_sum) = (0.0, 0.0);
        for d in first..t.days {
            let want = unit.demand.get(d).copied().unwrap_or(0.0).max(0.0);
            let served = t
                .served
                .get(u)
                .and_then(|s| s.get(d))
                .copied()
                .unwrap_or(0.0);
            let stock = t
                .on_hand
                .get(u)
                .and_then(|s| s.get(d))
                .copied()
                .unwrap_or(0.0);
            if want - served > 1e-9 {
                o.stockout_unit_days += 1;
                if !backorder {
                    lost += (want - served) * unit.price.unwrap_or(0.0);
                }
            }
            o.demanded += want;
            o.served += served;
            acc.demanded += want;
            acc.served += served;
            stock_sum += stock;
            demand_sum += want;
        }
        if backorder {
            // Nothing is lost but what still waits at the end.
            lost += t.backlog_end.get(u).copied().unwrap_or(0.0) * unit.price.unwrap_or(0.0);
        }
        if judged > 0.0 {
            on_hand_sum += stock_sum / judged;
            value_sum += stock_sum * cost / judged;
            acc.value += stock_sum * cost / judged;
            daily_demand += demand_sum / judged;
        }
    }
    // Purchase orders: (day, supplier, location) groups over all units.
    let mut pos: BTreeMap<(usize, &str, &str), (f64, bool)> = BTreeMap::new();
    for p in &t.placed {
        let Some(unit) = units.get(p.unit) else {
            continue;
        };
        let Some(supplier) = unit.supplier.as_deref() else {
            continue;
        };
        let e = pos
            .entry((p.day, supplier, unit.location.as_str()))
            .or_insert((0.0, false));
        e.0 += p.quantity * unit.unit_cost.unwrap_or(0.0);
        e.1 |= include(p.unit);
        if include(p.unit) {
            o.po_lines += 1;
            o.ordered_value += p.quantity * unit.unit_cost.unwrap_or(0.0);
        }
    }
    let minimum_of: BTreeMap<&str, f64> = units
        .iter()
        .filter_map(|u| Some((u.supplier.as_deref()?, u.min_order_value?)))
        .collect();
    let mut below = 0u64;
    for ((_, supplier, _), (value, included)) in &pos {
        if !included {
            continue;
        }
        o.purchase_orders += 1;
        by_supplier.entry(Some(supplier)).or_default().pos += 1;
        if minimum_of.get(supplier).is_some_and(|m| value + 1e-9 < *m) {
            below += 1;
        }
    }
    o.fill_rate = ratio(o.served, o.demanded);
    o.lost_revenue = any_price.then_some(lost);
    o.avg_on_hand_units = on_hand_sum;
    o.avg_on_hand_value = value_sum;
    o.days_of_inventory = (daily_demand > 0.0).then(|| o.avg_on_hand_units / daily_demand);
    o.below_minimum_share = if o.purchase_orders > 0 {
        below as f64 / o.purchase_orders as f64
    } else {
        0.0
    };
    o.suppliers = by_supplier
        .into_iter()
        .map(|(s, a)| SupplierOutcome {
            supplier: s.map(str::to_string),
            fill_rate: ratio(a.served, a.demanded),
            avg_on_hand_value: a.value,
            purchase_orders: a.pos,
        })
        .collect();
    o
}

fn ratio(served: f64, demanded: f64) -> f64 {
    if demanded > 0.0 {
        served / demanded
    } else {
        1.0
    }
}

/// The flat average of the last `window` days of `sales` (all of them when fewer).
fn flat_average(sales: &[f64], window: usize) -> Option<f64> {
    let w = &sales[sales.len().saturating_sub(window)..];
    (!w.is_empty()).then(|| w.iter().sum::<f64>() / w.len() as f64)
}

/// The common rule: flat average of sales over the window (no stockout adjustment, no safety
/// stock); when days of cover fall below the lead time, order up to lead time + cover days of
/// demand, raised to the MOQ and rounded up to whole packs.
#[derive(Debug, Clone)]
pub struct Naive {
    pub window_days: usize,
    pub cover_days: f64,
}

impl Policy for Naive {
    fn name(&self) -> String {
        "naive".into()
    }

    fn orders(&mut self, view: &DayView<'_>) -> Result<Vec<(usize, f64)>, PlanError> {
        let mut out = Vec::new();
        for u in 0..view.unit_count() {
            let Some(avg) = flat_average(view.sales(u), self.window_days) else {
                continue;
            };
            if avg <= 0.0 {
                continue;
            }
            let position = view.position(u);
            let lead = f64::from(view.lead_time_days(u));
            if position / avg < lead {
                let q = (avg * (lead + self.cover_days) - position).ceil();
                if q > 0.0 {
                    out.push((u, view.order_quantity(u, q)));
                }
            }
        }
        Ok(out)
    }
}

/// The ceiling: knows every unit's future demand (and each order's real lead time) and orders
/// just in time: on day T, for the day its order would arrive (A), what A's demand needs beyond
/// the stock it projects for A (today's stock, less the demand of the days before A, lost beyond
/// stock, plus what it already ordered for then), raised to the MOQ and whole packs. A
/// (supplier, location) PO below the supplier's minimum pulls later days' needs forward, a day
/// at a time up to 60 days, until it reaches the minimum (placed below it when even that is not
/// enough). What it cannot fill no policy can: demand before a first order can arrive, units
/// without a supplier. Its projection counts unmet demand as lost, so with `--backorder` it is
/// an approximation.
#[derive(Debug, Clone)]
pub struct Oracle<'a> {
    units: &'a [SimUnit],
    opts: SimOptions,
    groups: PoGroups,
    /// Its own open orders per unit: (arrival day, quantity).
    pending: Vec<Vec<(usize, f64)>>,
}

/// The units' purchase-order groups, as `draft` writes POs: one per (supplier, location).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoGroups {
    /// Each unit's group (`None`: no supplier, so never ordered).
    pub of: Vec<Option<usize>>,
    /// Each group's units, groups in (supplier, location) order.
    pub members: Vec<Vec<usize>>,
}

impl PoGroups {
    pub fn of_units(units: &[SimUnit]) -> PoGroups {
        let mut by_key: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
        for (u, unit) in units.iter().enumerate() {
            if let Some(s) = unit.supplier.as_deref() {
                by_key
                    .entry((s, unit.location.as_str()))
                    .or_default()
                    .push(u);
            }
        }
        let mut of = vec![None; units.len()];
        let members: Vec<Vec<usize>> = by_key.into_values().collect();
        for (g, m) in members.iter().enumerate() {
            for &u in m {
                of[u] = Some(g);
            }
        }
        PoGroups { of, members }
    }
}

/// Days the oracle may pull forward to reach a supplier minimum.
const ORACLE_PULL_DAYS: usize = 60;

impl<'a> Oracle<'a> {
    pub fn new(units: &'a [SimUnit], opts: SimOptions) -> Oracle<'a> {
        Oracle {
            units,
            opts,
            groups: PoGroups::of_units(units),
            pending: vec![Vec::new(); units.len()],
        }
    }

    fn arrival(&self, u: usize, day: usize) -> usize {
        let lead = self.units.get(u).map_or(0, |x| x.lead_time_days as usize);
        day + lead.max(1) + jitter(self.opts, u, day)
    }

    /// What unit `u` must order on `day` so that no demand from its arrival through `extra`
    /// days later goes unserved.
    fn need(&self, view: &DayView<'_>, u: usize, day: usize, extra: usize) -> f64 {
        let Some(unit) = self.units.get(u) else {
            return 0.0;
        };
        let arrives = self.arrival(u, day);
        let demand = |d: usize| unit.demand.get(d).copied().unwrap_or(0.0).max(0.0);
        let receipts = |d: usize| -> f64 {
            self.pending[u]
                .iter()
                .filter(|(a, _)| *a == d)
                .map(|(_, q)| q)
                .sum()
        };
        // Stock at the end of the day before arrival, demand beyond it lost.
        let mut stock = view.on_hand.get(u).copied().unwrap_or(0.0).max(0.0);
        for d in day + 1..arrives {
            stock = (stock + receipts(d) - demand(d)).max(0.0);
        }
        // From the arrival on, the order must cover every day's shortfall.
        let (mut short, mut worst) = (0.0_f64, 0.0_f64);
        let last = (arrives + extra).min(unit.demand.len().saturating_sub(1));
        for d in arrives..=last {
            short += demand(d) - receipts(d);
            worst = worst.max(short - stock);
        }
        if worst > 1e-9 {
            view.order_quantity(u, worst)
        } else {
            0.0
        }
    }
}

impl Policy for Oracle<'_> {
    fn name(&self) -> String {
        "oracle".into()
    }

    fn orders(&mut self, view: &DayView<'_>) -> Result<Vec<(usize, f64)>, PlanError> {
        let day = view.day;
        let mut out = Vec::new();
        for members in &self.groups.members {
            let value = |extra: usize| -> (Vec<(usize, f64)>, f64) {
                let qs: Vec<(usize, f64)> = members
                    .iter()
                    .map(|&u| (u, self.need(view, u, day, extra)))
                    .filter(|(_, q)| *q > 0.0)
                    .collect();
                let v = qs
                    .iter()
                    .map(|&(u, q)| q * self.units[u].unit_cost.unwrap_or(0.0))
                    .sum();
                (qs, v)
            };
            let (first, v0) = value(0);
            if first.is_empty() {
                continue;
            }
            let minimum = self.units[members[0]].min_order_value.unwrap_or(0.0);
            let mut chosen = first.clone();
            if v0 + 1e-9 < minimum {
                chosen = (1..=ORACLE_PULL_DAYS)
                    .map(value)
                    .find(|(_, v)| *v + 1e-9 >= minimum)
                    .map(|(qs, _)| qs)
                    .unwrap_or(first);
            }
            out.extend(chosen);
        }
        for &(u, q) in &out {
            let a = self.arrival(u, day);
            self.pending[u].retain(|(arrive, _)| *arrive > day);
            self.pending[u].push((a, q));
        }
        Ok(out)
    }
}

/// Cin7 reorder levels only: when available ≤ Min, order ReorderQuantity + Min − position.
#[derive(Debug, Clone, Default)]
pub struct Cin7Levels;

impl Policy for Cin7Levels {
    fn name(&self) -> String {
        "cin7-levels".into()
    }

    fn orders(&mut self, view: &DayView<'_>) -> Result<Vec<(usize, f64)>, PlanError> {
        let mut out = Vec::new();
        for u in 0..view.unit_count() {
            let Some((min, reorder)) = view.reorder_level(u) else {
                continue;
            };
            if min <= 0.0 {
                continue;
            }
            let position = view.position(u);
            if view.available(u) <= min {
                let q = (reorder + min - position).ceil();
                if q > 0.0 {
                    out.push((u, q));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn unit(demand: Vec<f64>, lead: u32, on_hand: f64) -> SimUnit {
        SimUnit {
            sku: "A".into(),
            location: "Main".into(),
            supplier: Some("Acme".into()),
            unit_cost: Some(2.0),
            price: Some(5.0),
            lead_time_days: lead,
            initial_on_hand: on_hand,
            demand,
            ..SimUnit::default()
        }
    }

    fn run(units: &[SimUnit], days: usize, p: &mut dyn Policy, opts: SimOptions) -> Trajectory {
        simulate(units, days, p, opts, &|| {}).unwrap()
    }

    fn all(units: &[SimUnit], t: &Trajectory) -> Outcome {
        outcome(units, t, Judge::all())
    }

    /// Orders fixed quantities of unit 0 on given days; records what history it was shown.
    struct Script {
        orders: Vec<(usize, f64)>,
        seen: Vec<(usize, usize)>,
    }

    impl Policy for Script {
        fn name(&self) -> String {
            "script".into()
        }
        fn orders(&mut self, view: &DayView<'_>) -> Result<Vec<(usize, f64)>, PlanError> {
            self.seen
                .push((view.sales(0).len(), view.out_of_stock(0).len()));
            Ok(self
                .orders
                .iter()
                .filter(|(d, _)| *d == view.day)
                .map(|&(_, q)| (0, q))
                .collect())
        }
    }

    fn script(orders: Vec<(usize, f64)>) -> Script {
        Script {
            orders,
            seen: Vec::new(),
        }
    }

    #[test]
    fn a_receipt_arrives_after_its_lead_time_and_no_policy_sees_the_future() {
        // On hand 5, demand 2 a day; 10 ordered on day 0 with lead 3 arrive at the start of day 3.
        // Two recorded warm-up days come first.
        let mut u = unit(vec![2.0; 6], 3, 5.0);
        u.history = vec![1.0, 3.0];
        u.history_out = vec![false, false];
        let units = vec![u];
        let mut p = script(vec![(0, 10.0)]);
        let t = run(&units, 6, &mut p, SimOptions::default());
        // Day 0: 5−2=3; 1: 1; 2: 0 (1 served, 1 lost); 3: +10 → 8; 4: 6; 5: 4.
        assert_eq!(t.on_hand[0], vec![3.0, 1.0, 0.0, 8.0, 6.0, 4.0]);
        assert_eq!(
            t.placed,
            vec![Placed {
                day: 0,
                arrives: 3,
                unit: 0,
                quantity: 10.0
            }]
        );
        let o = all(&units, &t);
        assert_eq!(o.stockout_unit_days, 1);
        assert_eq!((o.demanded, o.served), (12.0, 11.0));
        assert!((o.fill_rate - 11.0 / 12.0).abs() < 1e-12);
        assert_eq!(o.lost_revenue, Some(5.0));
        assert_eq!((o.purchase_orders, o.po_lines), (1, 1));
        assert_eq!(o.ordered_value, 20.0);
        // Average on hand (3+1+0+8+6+4)/6 = 11/3 units, at cost 2; 12 demanded over 6 days.
        assert!((o.avg_on_hand_units - 22.0 / 6.0).abs() < 1e-12);
        assert!((o.avg_on_hand_value - 44.0 / 6.0).abs() < 1e-12);
        assert!((o.days_of_inventory.unwrap() - 22.0 / 12.0).abs() < 1e-12);
        // On day d the policy saw the 2 warm-up days and d simulated days: never today or later.
        assert_eq!(p.seen, (0..6).map(|d| (2 + d, 2 + d)).collect::<Vec<_>>());
    }

    #[test]
    fn the_policy_sees_censored_sales_and_the_simulated_out_of_stock_days() {
        // 4 on hand, 3 a day: day 0 sells 3, day 1 sells 1 (demand 3), day 2 opens empty.
        let units = vec![unit(vec![3.0; 4], 9, 4.0)];
        struct Peek(Vec<(Vec<f64>, Vec<bool>)>);
        impl Policy for Peek {
            fn name(&self) -> String {
                "peek".into()
            }
            fn orders(&mut self, v: &DayView<'_>) -> Result<Vec<(usize, f64)>, PlanError> {
                self.0
                    .push((v.sales(0).to_vec(), v.out_of_stock(0).to_vec()));
                Ok(Vec::new())
            }
        }
        let mut p = Peek(Vec::new());
        run(&units, 4, &mut p, SimOptions::default());
        assert_eq!(p.0[3], (vec![3.0, 1.0, 0.0], vec![false, false, true]));
    }

    #[test]
    fn lost_and_backordered_demand_are_counted_differently() {
        // No stock; 4 a day for 4 days; 10 arrive on day 2.
        let units = vec![unit(vec![4.0; 4], 2, 0.0)];
        let t = run(
            &units,
            4,
            &mut script(vec![(0, 10.0)]),
            SimOptions::default(),
        );
        let lost = all(&units, &t);
        // Days 0 and 1 lost (8 units); day 2: 10 → 6 left; day 3: 2 left.
        assert_eq!(t.on_hand[0], vec![0.0, 0.0, 6.0, 2.0]);
        assert_eq!((lost.served, lost.stockout_unit_days), (8.0, 2));
        assert_eq!(lost.lost_revenue, Some(40.0));
        let opts = SimOptions {
            backorder: true,
            ..SimOptions::default()
        };
        let t = run(&units, 4, &mut script(vec![(0, 10.0)]), opts);
        let back = all(&units, &t);
        // The 8 waiting units take 8 of the 10 on day 2, leaving 2: day 2 serves 2 of 4 (2
        // more wait), day 3 serves nothing (6 wait). Fill counts same-day service only.
        assert_eq!(t.on_hand[0], vec![0.0, 0.0, 0.0, 0.0]);
        assert_eq!(back.served, 2.0);
        assert_eq!(back.stockout_unit_days, 4);
        // Lost: the 8 units of days 0–1 (40 at price 5). Backordered: only the 6 still
        // waiting at the end (30); the other 8 were delivered late, not lost.
        assert_eq!(lost.lost_revenue, Some(40.0));
        assert_eq!(back.lost_revenue, Some(30.0));
        assert_eq!(t.backlog_end, vec![6.0]);
    }

    #[test]
    fn a_backorder_is_a_sale_on_its_day_and_shows_as_negative_available() {
        // The same world: what the policy saw at the end of each day.
        let units = vec![unit(vec![4.0; 4], 2, 0.0)];
        struct Watch(Vec<(f64, f64, Vec<f64>)>);
        impl Policy for Watch {
            fn name(&self) -> String {
                "watch".into()
            }
            fn orders(&mut self, v: &DayView<'_>) -> Result<Vec<(usize, f64)>, PlanError> {
                self.0
                    .push((v.available(0), v.position(0), v.sales(0).to_vec()));
                Ok(if v.day == 0 { vec![(0, 10.0)] } else { vec![] })
            }
        }
        let opts = SimOptions {
            backorder: true,
            ..SimOptions::default()
        };
        let mut w = Watch(Vec::new());
        run(&units, 4, &mut w, opts);
        // Day 0: 4 waiting (available −4), 10 then ordered; day 1: −8 with 10 on order; day 2:
        // the 10 arrive, serve the 8 waiting, then 2 of today's 4: −2; day 3: −6.
        let seen: Vec<(f64, f64)> = w.0.iter().map(|(a, p, _)| (*a, *p)).collect();
        assert_eq!(
            seen,
            vec![(-4.0, -4.0), (-8.0, 2.0), (-2.0, -2.0), (-6.0, -6.0)]
        );
        // Every day's demand is a sale on its day, whether or not it shipped.
        assert_eq!(w.0[3].2, vec![4.0, 4.0, 4.0]);
    }

    #[test]
    fn naive_orders_when_cover_falls_below_the_lead_time_and_lags_a_demand_step() {
        // 10 a day, lead 5, 30 days of cover, 100 on hand.
        let constant = vec![unit(vec![10.0; 60], 5, 100.0)];
        let mut naive = Naive {
            window_days: 28,
            cover_days: 30.0,
        };
        let t = run(&constant, 60, &mut naive, SimOptions::default());
        // Day 4 ends at 50 = 5 days of cover, not below the lead time; day 5 ends at 40: order
        // 10 × (5 + 30) − 40 = 310, arriving at the start of day 10. Days 6–9 use the 40.
        assert_eq!((t.placed[0].day, t.placed[0].arrives), (5, 10));
        assert_eq!(t.placed[0].quantity, 310.0);
        assert_eq!(t.on_hand[0][9], 0.0);
        assert_eq!(t.on_hand[0][10], 300.0);
        assert_eq!(
            all(&constant, &t).stockout_unit_days,
            0,
            "constant demand is covered"
        );
        // Demand triples on day 30: the flat average of censored sales lags, and it runs dry.
        let mut step = vec![10.0; 30];
        step.extend(vec![30.0; 30]);
        let stepped = vec![unit(step, 5, 100.0)];
        let t = run(&stepped, 60, &mut naive, SimOptions::default());
        let o = all(&stepped, &t);
        assert!(o.stockout_unit_days > 0);
        assert!(o.fill_rate < 1.0);
    }

    #[test]
    fn the_oracle_orders_just_in_time() {
        // 2 a day from day 1, lead 3, 3 on hand. Day 0: its order arrives on day 3; the 3 on
        // hand serve day 1 (2) and half of day 2 (1 lost), so day 3 needs 2: order 2. Every
        // later day orders the 2 its arrival day needs: from day 3 on nothing is lost and
        // nothing is left over.
        let mut d = vec![2.0; 10];
        d[0] = 0.0;
        let units = vec![unit(d, 3, 3.0)];
        let mut oracle = Oracle::new(&units, SimOptions::default());
        let t = run(&units, 10, &mut oracle, SimOptions::default());
        let got: Vec<(usize, usize, f64)> = t
            .placed
            .iter()
            .map(|p| (p.day, p.arrives, p.quantity))
            .collect();
        assert_eq!(got[..3], [(0, 3, 2.0), (1, 4, 2.0), (2, 5, 2.0)]);
        // Orders whose arrival is past the last day are for demand that never comes.
        assert!(got.iter().all(|&(_, a, _)| a <= 9));
        assert_eq!(t.on_hand[0][3..], [0.0; 7]);
        let o = all(&units, &t);
        assert_eq!((o.demanded, o.served), (18.0, 17.0));
        // A pack of 5: each order is rounded up, and the surplus is used before ordering again.
        let mut packed = units[0].clone();
        packed.pack = 5.0;
        let units = vec![packed];
        let mut oracle = Oracle::new(&units, SimOptions::default());
        let t = run(&units, 10, &mut oracle, SimOptions::default());
        assert!(t.placed.iter().all(|p| p.quantity == 5.0), "{:?}", t.placed);
        assert_eq!(all(&units, &t).served, 17.0);
    }

    #[test]
    fn the_oracle_pulls_demand_forward_to_reach_a_supplier_minimum() {
        // 1 a day at cost 2; the supplier's minimum is 10 (5 units): each PO covers 5 days.
        let mut u = unit(vec![1.0; 30], 2, 0.0);
        u.min_order_value = Some(10.0);
        let units = vec![u];
        let mut oracle = Oracle::new(&units, SimOptions::default());
        let t = run(&units, 30, &mut oracle, SimOptions::default());
        let o = all(&units, &t);
        assert!(
            t.placed
                .iter()
                .filter(|p| p.arrives < 25)
                .all(|p| p.quantity == 5.0),
            "{:?}",
            t.placed
        );
        // Below the minimum only at the end, where fewer than 5 days of demand remain.
        assert!(
            t.placed
                .iter()
                .filter(|p| p.quantity < 5.0)
                .all(|p| p.arrives + 5 > 30),
            "{:?}",
            t.placed
        );
        assert!(o.below_minimum_share > 0.0);
        // Only the first lead time's demand (days 0–1) is lost.
        assert_eq!(o.served, 28.0);
    }

    #[test]
    fn cin7_levels_order_up_to_min_plus_reorder_quantity() {
        // 3 a day, lead 2, Min 8 (above the 6 units a lead time sells), reorder quantity 12.
        let mut u = unit(vec![3.0; 10], 2, 10.0);
        u.reorder_level = Some((8.0, 12.0));
        let units = [u];
        let t = run(&units, 10, &mut Cin7Levels, SimOptions::default());
        // Day 0 ends at 7 ≤ 8: order 12 + 8 − 7 = 13 (arrives day 2). Day 1 ends at 4, position
        // 17: order 12 + 8 − 17 = 3 (arrives day 3).
        let got: Vec<(usize, usize, f64)> = t
            .placed
            .iter()
            .map(|p| (p.day, p.arrives, p.quantity))
            .collect();
        assert_eq!(got[..2], [(0, 2, 13.0), (1, 3, 3.0)]);
        assert_eq!(all(&units, &t).stockout_unit_days, 0);
    }

    #[test]
    fn the_start_up_before_a_unit_s_lead_time_can_be_left_out_of_the_judgement() {
        // Empty at the start, 2 a day, lead 3: days 0–2 are lost whatever any policy does. 20
        // ordered at the end of day 0 arrive at the start of day 3: days 3–5 are served.
        let units = vec![unit(vec![2.0; 6], 3, 0.0)];
        let t = run(
            &units,
            6,
            &mut script(vec![(0, 20.0)]),
            SimOptions::default(),
        );
        let every_day = all(&units, &t);
        assert_eq!(
            (every_day.fill_rate, every_day.stockout_unit_days),
            (0.5, 3)
        );
        let judged = outcome(
            &units,
            &t,
            Judge {
                include: &|_| true,
                skip_start_up: true,
            },
        );
        assert_eq!((judged.fill_rate, judged.stockout_unit_days), (1.0, 0));
        // On hand on days 3–5: 18, 16, 14 → 16 on average (48 at cost 2); 2 a day demanded.
        assert_eq!(judged.avg_on_hand_units, 16.0);
        assert_eq!(judged.avg_on_hand_value, 32.0);
        assert_eq!(judged.days_of_inventory, Some(8.0));
        // The order placed on day 0 still counts: it is what the policy did.
        assert_eq!(judged.purchase_orders, 1);
        assert_eq!(judged.lost_revenue, Some(0.0));
    }

    #[test]
    fn a_unit_without_a_supplier_is_never_ordered() {
        let mut u = unit(vec![1.0; 5], 1, 0.0);
        u.supplier = None;
        let units = [u];
        let t = run(
            &units,
            5,
            &mut script(vec![(0, 10.0)]),
            SimOptions::default(),
        );
        assert!(t.placed.is_empty());
        assert_eq!(all(&units, &t).served, 0.0);
    }

    #[test]
    fn purchase_orders_group_by_day_supplier_and_location_and_minimums_are_judged_per_po() {
        // Two units of Acme at Main and one at Annex; Acme's minimum is 30 (at cost 2: 15 units).
        let mut a = unit(vec![0.0; 3], 1, 0.0);
        a.min_order_value = Some(30.0);
        let mut b = a.clone();
        b.sku = "B".into();
        let mut c = a.clone();
        c.location = "Annex".into();
        let units = vec![a, b, c];
        struct Fixed;
        impl Policy for Fixed {
            fn name(&self) -> String {
                "fixed".into()
            }
            fn orders(&mut self, v: &DayView<'_>) -> Result<Vec<(usize, f64)>, PlanError> {
                // Day 0: A 10 + B 10 at Main (value 40), C 5 at Annex (value 10, below).
                // Day 1: A 5 at Main (value 10, below).
                Ok(match v.day {
                    0 => vec![(0, 10.0), (1, 10.0), (2, 5.0)],
                    1 => vec![(0, 5.0)],
                    _ => vec![],
                })
            }
        }
        let t = run(&units, 3, &mut Fixed, SimOptions::default());
        let o = all(&units, &t);
        assert_eq!((o.purchase_orders, o.po_lines), (3, 4));
        assert!((o.below_minimum_share - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(o.ordered_value, 60.0);
        assert_eq!(o.suppliers.len(), 1);
        assert_eq!(o.suppliers[0].purchase_orders, 3);
        // Only unit B: one PO (day 0 at Main), judged on its whole value 40: not below.
        let only_b = outcome(
            &units,
            &t,
            Judge {
                include: &|u| u == 1,
                skip_start_up: false,
            },
        );
        assert_eq!((only_b.purchase_orders, only_b.po_lines), (1, 1));
        assert_eq!(only_b.below_minimum_share, 0.0);
        assert_eq!(only_b.ordered_value, 20.0);
    }

    #[test]
    fn lead_time_jitter_is_seeded_and_bounded() {
        let units = vec![unit(vec![1.0; 30], 3, 100.0)];
        let orders: Vec<(usize, f64)> = (0..10).map(|d| (d, 1.0)).collect();
        let opts = SimOptions {
            lead_time_jitter: 2,
            seed: 9,
            ..SimOptions::default()
        };
        let a = run(&units, 30, &mut script(orders.clone()), opts);
        let b = run(&units, 30, &mut script(orders), opts);
        assert_eq!(a.placed, b.placed, "same seed, same run");
        assert!(
            a.placed
                .iter()
                .all(|p| (3..=5).contains(&(p.arrives - p.day)))
        );
        assert!(
            a.placed.iter().any(|p| p.arrives - p.day != 3),
            "some jitter"
        );
        // A unit's delays do not depend on what else was ordered: with a second unit ordered on
        // the same days too, unit 0's orders arrive exactly as before.
        let two = vec![units[0].clone(), units[0].clone()];
        struct Both;
        impl Policy for Both {
            fn name(&self) -> String {
                "both".into()
            }
            fn orders(&mut self, v: &DayView<'_>) -> Result<Vec<(usize, f64)>, PlanError> {
                Ok(if v.day < 10 {
                    vec![(1, 1.0), (0, 1.0)]
                } else {
                    vec![]
                })
            }
        }
        let c = run(&two, 30, &mut Both, opts);
        let unit0: Vec<Placed> = c.placed.iter().filter(|p| p.unit == 0).copied().collect();
        assert_eq!(unit0, a.placed);
    }
}
