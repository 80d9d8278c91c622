//! The backtest: replay history day by day with the real planning core and measure what a
//! policy would have achieved (fill rate, stockouts, inventory carried, purchase orders), side by
//! side with simpler policies. Pure: no IO, no clock, no threads.
//!
//! - [`world`]: the store's record → the simulated units and their demand (estimated on
//!   recorded stockout days);
//! - [`engine`]: the day-by-day simulation, the metrics, and the baselines `naive` and
//!   `cin7-levels`;
//! - [`planned`]: the configured policy (and grid points): `plan`'s own core run on every
//!   simulated day.

pub mod adaptive;
pub mod engine;
pub mod planned;
pub mod world;

pub use adaptive::Adaptive;
pub use engine::{
    Cin7Levels, DayView, Judge, Naive, Oracle, Outcome, Placed, Policy, SimOptions, SimUnit,
    SupplierOutcome, Trajectory, outcome, simulate,
};
pub use planned::Planned;
pub use world::{Recorded, World, estimate_demand, prepare};

/// The name of a grid point, as the report prints it: `sl=0.95,cover=30`.
pub fn grid_name(service_level: f64, cover_days: f64) -> String {
    format!("sl={service_level},cover={cover_days}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::*;
    use chrono::{Days, NaiveDate};

    /// One SKU "A" at Main from Acme (lead 10, cost 10), sold `warmup` per day over the 28
    /// warm-up days before `from`, `on_hand` in stock.
    fn fixture(warmup: i64, on_hand: f64) -> (Fixture, NaiveDate) {
        let from = d("2026-03-01");
        let mut f = Fixture::new();
        f.products.push(product("A"));
        f.sell("A", &days("2026-02-01", "2026-02-28"), warmup);
        f.availability.push(avail("A", "Main", on_hand));
        (f, from)
    }

    fn world(f: &Fixture, from: NaiveDate, to: NaiveDate) -> World {
        let sales = crate::core::sales::Sales::from_orders(&f.orders);
        prepare(
            &f.config,
            &Recorded {
                sales: &sales,
                locations: &f.locations,
                products: &f.products,
                suppliers: &f.suppliers,
                availability: &f.availability,
                stockout_days: &f.stockout_days,
                snapshot_days: &f.snapshot_days,
                warmup_days: 28,
            },
            from,
            to,
        )
        .unwrap()
    }

    fn run(w: &World, p: &mut dyn Policy) -> (Trajectory, Outcome) {
        let t = simulate(&w.units, w.days(), p, SimOptions::default(), &|| {}).unwrap();
        let o = outcome(&w.units, &t, Judge::all());
        (t, o)
    }

    fn planned<'a>(f: &'a Fixture, w: &World) -> Planned<'a> {
        Planned::new(
            "configured".into(),
            &f.config,
            &f.locations,
            &f.products,
            &f.suppliers,
            &w.units,
            w.from,
        )
        .unwrap()
    }

    #[test]
    fn the_world_takes_terms_from_the_plan_and_recorded_sales_as_demand() {
        let (mut f, from) = fixture(10, 200.0);
        // Sold 7 on 2026-03-02, inside the simulated days.
        f.sell_on("A", "2026-03-02", 7);
        let w = world(&f, from, d("2026-03-05"));
        assert_eq!(w.days(), 5);
        assert_eq!(w.warmup_days, 28);
        let u = &w.units[0];
        assert_eq!((u.sku.as_str(), u.location.as_str()), ("A", "Main"));
        assert_eq!(u.supplier.as_deref(), Some("Acme"));
        assert_eq!((u.lead_time_days, u.unit_cost), (10, Some(10.0)));
        assert_eq!(u.initial_on_hand, 200.0);
        assert_eq!(u.history, vec![10.0; 28]);
        assert_eq!(u.demand, vec![0.0, 7.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn constant_demand_never_stocks_out_under_the_configured_policy() {
        // 10 a day, before and during the 60 simulated days; lead 10; cover 30 (the default);
        // σ = 0 so no safety stock: reorder point 100, target 10 × (10 + 30) = 400.
        let (mut f, from) = fixture(10, 200.0);
        let to = from + Days::new(59);
        f.sell("A", &days("2026-03-01", "2026-04-29"), 10);
        let w = world(&f, from, to);
        assert_eq!(w.units[0].demand, vec![10.0; 60]);
        let (t, o) = run(&w, &mut planned(&f, &w));
        // Day 10 ends at 90 < 100: order 400 − 90 = 310, arriving at the start of day 20, when
        // days 11–19 have used the 90. Then every 31 days: day 41 ends at 90 again.
        let got: Vec<(usize, usize, f64)> = t
            .placed
            .iter()
            .map(|p| (p.day, p.arrives, p.quantity))
            .collect();
        assert_eq!(got, vec![(10, 20, 310.0), (41, 51, 310.0)]);
        assert_eq!(t.on_hand[0][19], 0.0);
        assert_eq!(t.on_hand[0][20], 300.0);
        assert_eq!(o.stockout_unit_days, 0);
        assert_eq!(o.fill_rate, 1.0);
        assert_eq!((o.purchase_orders, o.po_lines), (2, 2));
        assert_eq!(o.ordered_value, 6200.0);
    }

    #[test]
    fn a_demand_step_stocks_out_under_naive_and_the_planner_recovers_faster() {
        // 10 a day, then 25 a day from day 20 on.
        let (mut f, from) = fixture(10, 200.0);
        f.sell("A", &days("2026-03-01", "2026-03-20"), 10);
        f.sell("A", &days("2026-03-21", "2026-05-29"), 25);
        let w = world(&f, from, from + Days::new(89));
        let (_, naive) = run(
            &w,
            &mut Naive {
                window_days: 28,
                cover_days: 30.0,
            },
        );
        assert!(naive.stockout_unit_days > 0, "{naive:?}");
        let (_, planner) = run(&w, &mut planned(&f, &w));
        // The planner's stockout adjustment ignores the censored days that drag naive's flat
        // average down, so it loses fewer units.
        assert!(
            planner.fill_rate > naive.fill_rate,
            "planner {} vs naive {}",
            planner.fill_rate,
            naive.fill_rate
        );
    }

    #[test]
    fn no_policy_reads_the_future() {
        // Two worlds identical up to day 30 and wildly different after (demand and a reorder
        // level that cin7-levels acts on): every order placed on days 0–30 is the same in both,
        // under each policy.
        let (mut f, from) = fixture(10, 200.0);
        f.products[0].minimum_before_reorder = 150.0;
        f.products[0].reorder_quantity = 100.0;
        f.sell("A", &days("2026-03-01", "2026-03-31"), 10);
        let mut g = f.clone();
        f.sell("A", &days("2026-04-01", "2026-05-29"), 10);
        g.sell("A", &days("2026-04-01", "2026-05-29"), 90);
        let to = from + Days::new(89);
        let (wf, wg) = (world(&f, from, to), world(&g, from, to));
        let upto = |t: &Trajectory| -> Vec<Placed> {
            t.placed.iter().filter(|p| p.day <= 30).copied().collect()
        };
        let naive = || Naive {
            window_days: 28,
            cover_days: 30.0,
        };
        let runs: [(&str, Trajectory, Trajectory); 3] = [
            (
                "configured",
                run(&wf, &mut planned(&f, &wf)).0,
                run(&wg, &mut planned(&g, &wg)).0,
            ),
            ("naive", run(&wf, &mut naive()).0, run(&wg, &mut naive()).0),
            (
                "cin7-levels",
                run(&wf, &mut Cin7Levels).0,
                run(&wg, &mut Cin7Levels).0,
            ),
        ];
        for (name, tf, tg) in &runs {
            assert!(!upto(tf).is_empty(), "{name} ordered by day 30");
            assert_eq!(upto(tf), upto(tg), "{name}");
            assert_ne!(tf.placed, tg.placed, "{name}: the later demand does matter");
        }
    }

    #[test]
    fn a_pooled_unit_s_stockouts_reach_the_planner() {
        // A sold 10 a day on Feb 1–14, then was out of stock at every pool member on Feb 15–28
        // (selling nothing). The planner must drop those days from the velocity, pooled or not:
        // d̄ = 10, target 10 × (10 + 30) = 400 with nothing on hand.
        let first_order = |pooled: bool| {
            let mut f = Fixture::new();
            f.products.push(product("A"));
            f.sell("A", &days("2026-02-01", "2026-02-14"), 10);
            f.availability.push(avail("A", "Main", 0.0));
            let mut members = vec!["Main"];
            if pooled {
                f.locations.push(location("Annex"));
                f.config
                    .locations
                    .pools
                    .insert("Main".into(), vec!["Annex".into()]);
                members.push("Annex");
            }
            for day in days("2026-02-15", "2026-02-28") {
                for m in &members {
                    f.stockout("A", m, day);
                }
            }
            let from = d("2026-03-01");
            let w = world(&f, from, from);
            let (t, _) = run(&w, &mut planned(&f, &w));
            t.placed[0].quantity
        };
        assert_eq!(first_order(false), 400.0);
        assert_eq!(first_order(true), 400.0);
    }

    #[test]
    fn a_held_purchase_order_is_not_placed() {
        // Acme's minimum is far above anything the plan orders, and below_minimum = hold.
        let (mut f, from) = fixture(10, 200.0);
        f.sell("A", &days("2026-03-01", "2026-04-29"), 10);
        f.config.suppliers.insert(
            "Acme".into(),
            crate::core::settings::SupplierOverride {
                min_order_value: Some(dec("1000000")),
                ..Default::default()
            },
        );
        let w = world(&f, from, from + Days::new(59));
        assert_eq!(w.units[0].min_order_value, Some(1_000_000.0));
        let (t, o) = run(&w, &mut planned(&f, &w));
        assert!(t.placed.is_empty());
        assert!(o.stockout_unit_days > 0);
        // Naive knows nothing of minimums: every PO it places is below.
        let (_, naive) = run(
            &w,
            &mut Naive {
                window_days: 28,
                cover_days: 30.0,
            },
        );
        assert!(naive.purchase_orders > 0);
        assert_eq!(naive.below_minimum_share, 1.0);
    }

    #[test]
    fn a_recorded_stockout_day_gets_estimated_demand() {
        // 10 a day, but the store showed A out of stock on 2026-03-03 and sold nothing then.
        let (mut f, from) = fixture(10, 200.0);
        f.sell("A", &days("2026-03-01", "2026-03-02"), 10);
        f.sell("A", &days("2026-03-04", "2026-03-05"), 10);
        f.stockout("A", "Main", d("2026-03-03"));
        let w = world(&f, from, d("2026-03-05"));
        assert_eq!(w.recorded[0], vec![10.0, 10.0, 0.0, 10.0, 10.0]);
        assert_eq!(w.units[0].demand, vec![10.0; 5]);
        assert_eq!(w.estimated[0], vec![false, false, true, false, false]);
    }

    #[test]
    fn the_adaptive_plan_and_the_backtest_s_adaptive_policy_order_alike() {
        // The same unit, history and stock: `plan` under policy.method = "adaptive" (the real
        // planner, run as the backtest runs the configured policy) and the backtest's direct
        // adaptive policy place the same orders, day after day.
        let (mut f, from) = fixture(10, 60.0);
        f.sell_on("A", "2026-02-10", 30);
        f.config.policy.method = crate::core::settings::Method::Adaptive;
        f.config.policy.history_days = 28;
        let to = from + Days::new(39);
        f.sell("A", &days("2026-03-01", "2026-04-09"), 12);
        let w = world(&f, from, to);
        let (planner, _) = run(&w, &mut planned(&f, &w));
        let mut direct = Adaptive::new(
            "adaptive".into(),
            crate::core::adaptive::Settings::from_policy(&f.config.policy),
            f.config.policy.below_minimum,
            &w.units,
            w.first_weekday(),
        );
        let (backtest, _) = run(&w, &mut direct);
        assert!(!planner.placed.is_empty());
        // Within the first 28 days both have seen exactly the same days (the plan's window is
        // 28 days, the backtest's history starts 28 days before the first simulated one).
        let first: Vec<Placed> = planner
            .placed
            .iter()
            .filter(|p| p.day == 0)
            .copied()
            .collect();
        let same: Vec<Placed> = backtest
            .placed
            .iter()
            .filter(|p| p.day == 0)
            .copied()
            .collect();
        assert_eq!(first, same);
        assert_eq!(
            planner.placed.len(),
            backtest.placed.len(),
            "{planner:?} vs {backtest:?}"
        );
    }

    #[test]
    fn grid_points_are_named_as_the_report_prints_them() {
        assert_eq!(grid_name(0.95, 30.0), "sl=0.95,cover=30");
        assert_eq!(grid_name(0.9, 14.5), "sl=0.9,cover=14.5");
    }
}
