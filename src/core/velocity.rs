//! Stockout-adjusted velocity: which window days a unit was out of stock, and the mean and sample
//! standard deviation of daily units over the days it was in stock.
//!
//! Rules (docs/planning.md): a (SKU, Cin7 location) was out of stock on d when every snapshot of d
//! showed Available ≤ 0 (the store's stockout record lists exactly those); a unit was out of stock
//! when every member of its pool was; days with no snapshot count as in stock. With
//! `stockout_adjust`, D_in = window days not out of stock, falling back to all W days (reason
//! `insufficient_in_stock_history`) when |D_in| < `min_in_stock_days`. d̄ = Σ u_d / |D_in|,
//! σ = sample standard deviation over D_in (0 when |D_in| < 2).
//!
//! Decisions (planning.md is silent):
//! - A stockout record is taken as proof that a snapshot was taken that day; `snapshot_days` is
//!   only used to tell `--explain` how many window days had no snapshot.
//! - When every window day was out of stock and `min_in_stock_days` is 0 (so the fallback rule
//!   does not fire), D_in would be empty and d̄ = 0/0: all W days are used instead, with reason
//!   `insufficient_in_stock_history`, exactly as when the history is too short.
//! - With W = 0 there is no demand to measure: d̄ = σ = 0.
//! - The fallback is applied literally: when W itself is below `min_in_stock_days`, every unit
//!   gets `insufficient_in_stock_history` (all W days are used either way).

use chrono::NaiveDate;

use crate::core::catalog::{Catalog, Resolved};
use crate::core::demand::Window;
use crate::core::locations::Locations;

/// Velocity of one unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Velocity {
    /// d̄, units per day.
    pub mean: f64,
    /// σ, sample standard deviation of daily units over D_in.
    pub stddev: f64,
    /// |D_in|.
    pub in_stock_days: u32,
    /// Window day indexes the unit was out of stock on.
    pub out_of_stock: Vec<usize>,
    /// Whether those days were dropped from D_in.
    pub dropped: bool,
    /// The in-stock history was too short, so all W days were used.
    pub insufficient: bool,
}

/// Computes the velocity of one unit from its daily units and out-of-stock days (`oos[d]`).
/// σ is computed exactly as [`crate::core::stats::sample_stddev`] does (two passes, days in order), without
/// allocating the values.
pub fn velocity(daily: &[i64], oos: &[bool], adjust: bool, min_in_stock_days: u32) -> Velocity {
    let w = daily.len();
    let is_out = |d: usize| oos.get(d).copied().unwrap_or(false);
    let out_of_stock: Vec<usize> = (0..w).filter(|&d| is_out(d)).collect();
    let in_stock = w - out_of_stock.len();
    let (use_all, insufficient) = if !adjust {
        (true, false)
    } else if in_stock < min_in_stock_days as usize || (in_stock == 0 && w > 0) {
        (true, true)
    } else {
        (false, false)
    };
    let used = |d: usize| use_all || !is_out(d);
    let mut n = 0usize;
    let mut total: i64 = 0;
    let mut any = false;
    for (d, &u) in daily.iter().enumerate() {
        if used(d) {
            n += 1;
            total += u;
            any |= u != 0;
        }
    }
    let mean = if n == 0 { 0.0 } else { total as f64 / n as f64 };
    let stddev = if n < 2 || !any {
        0.0
    } else {
        // sample_stddev: mean of the f64 values (the integer total is exact), then Σ(x − mean)².
        let m = daily
            .iter()
            .enumerate()
            .filter(|(d, _)| used(*d))
            .map(|(_, &u)| u as f64)
            .sum::<f64>()
            / n as f64;
        let ss: f64 = daily
            .iter()
            .enumerate()
            .filter(|(d, _)| used(*d))
            .map(|(_, &u)| (u as f64 - m) * (u as f64 - m))
            .sum();
        (ss / (n as f64 - 1.0)).sqrt()
    };
    Velocity {
        mean,
        stddev,
        in_stock_days: n as u32,
        dropped: !use_all && !out_of_stock.is_empty(),
        out_of_stock,
        insufficient,
    }
}

/// The stockout record as bitsets: per (product, planned Cin7 location), the window days it was
/// out of stock all day.
#[derive(Debug)]
pub struct Stockouts {
    words: usize,
    members: usize,
    bits: Vec<u64>,
}

impl Stockouts {
    /// Builds the bitsets from (SKU, Cin7 location, day) records; others (unknown SKUs, ignored
    /// locations, days outside the window) are skipped.
    pub fn build(
        records: &[(String, String, NaiveDate)],
        catalog: &Catalog<'_>,
        locs: &Locations,
        window: &Window,
    ) -> Stockouts {
        let words = window.len().div_ceil(64);
        let members = locs.member_names.len();
        let mut bits = vec![0u64; catalog.stock.len() * members * words];
        // Records usually come grouped by SKU: remember the last lookup.
        let mut last: Option<(&str, Option<usize>)> = None;
        for (sku, location, day) in records {
            let Some(d) = window.index(*day) else {
                continue;
            };
            let p = match last {
                Some((s, p)) if s == sku.as_str() => p,
                _ => {
                    let p = match catalog.cin7_sku(sku) {
                        Resolved::Stock(p) => Some(p),
                        _ => None,
                    };
                    last = Some((sku.as_str(), p));
                    p
                }
            };
            let (Some(p), Some((m, _))) = (p, locs.member(location)) else {
                continue;
            };
            let at = (p * members + m) * words + d / 64;
            if let Some(word) = bits.get_mut(at) {
                *word |= 1u64 << (d % 64);
            }
        }
        Stockouts {
            words,
            members,
            bits,
        }
    }

    /// Fills `oos` (length W) with whether the unit (product `p`, pool `members`) was out of stock
    /// each day: only when every member was.
    pub fn unit_into(&self, p: usize, members: &[usize], oos: &mut [bool]) {
        for (d, x) in oos.iter_mut().enumerate() {
            let (word, bit) = (d / 64, d % 64);
            *x = !members.is_empty()
                && members.iter().all(|&m| {
                    let at = (p * self.members + m) * self.words + word;
                    self.bits.get(at).is_some_and(|w| w & (1u64 << bit) != 0)
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::stats::sample_stddev;
    use crate::core::testkit::close;

    #[test]
    fn stockout_days_are_dropped() {
        // 10 days: 4 units on in-stock days, 0 on the 3 out-of-stock days (1, 5, 6).
        let mut daily = [4i64; 10];
        let mut oos = [false; 10];
        for d in [1, 5, 6] {
            daily[d] = 0;
            oos[d] = true;
        }
        let v = velocity(&daily, &oos, true, 7);
        // D_in = 7 days (7 ≥ 7, no fallback), 28 units → d̄ = 4, σ = 0.
        assert_eq!(v.in_stock_days, 7);
        close(v.mean, 4.0);
        assert_eq!(v.stddev, 0.0);
        assert!(v.dropped);
        assert!(!v.insufficient);
        assert_eq!(v.out_of_stock, vec![1, 5, 6]);
    }

    #[test]
    fn too_little_in_stock_history_uses_all_days() {
        // Same data, min_in_stock_days = 8: 7 < 8 → all 10 days: 28 / 10 = 2.8.
        let mut daily = [4i64; 10];
        let mut oos = [false; 10];
        for d in [1, 5, 6] {
            daily[d] = 0;
            oos[d] = true;
        }
        let v = velocity(&daily, &oos, true, 8);
        assert_eq!(v.in_stock_days, 10);
        close(v.mean, 2.8);
        // Values: seven 4s and three 0s, mean 2.8; squared deviations 7·1.44 + 3·7.84 = 33.6;
        // /9 = 3.7333…; σ = √3.7333… = 1.932183566158…
        close(v.stddev, (33.6f64 / 9.0).sqrt());
        assert!(v.insufficient);
        assert!(!v.dropped);
    }

    #[test]
    fn no_adjustment_uses_all_days() {
        let daily = [2i64, 0, 4, 0];
        let oos = [false, true, false, true];
        let v = velocity(&daily, &oos, false, 7);
        // 6 / 4 = 1.5; deviations .25, 2.25, 6.25, 2.25 = 11 / 3 → σ = √(11/3).
        close(v.mean, 1.5);
        close(v.stddev, (11.0f64 / 3.0).sqrt());
        assert_eq!(v.in_stock_days, 4);
        assert!(!v.insufficient);
    }

    #[test]
    fn all_days_out_with_zero_minimum_falls_back() {
        let v = velocity(&[0, 3], &[true, true], true, 0);
        assert_eq!(v.in_stock_days, 2);
        close(v.mean, 1.5);
        assert!(v.insufficient);
        let v = velocity(&[], &[], true, 0);
        assert_eq!((v.mean, v.stddev, v.in_stock_days), (0.0, 0.0, 0));
    }

    #[test]
    fn stddev_matches_sample_stddev_exactly() {
        let daily = [3i64, 0, 7, 1, 0, 0, 12, 5, 2, 9];
        let oos = [
            false, true, false, false, true, false, false, false, false, false,
        ];
        let v = velocity(&daily, &oos, true, 3);
        let kept: Vec<f64> = daily
            .iter()
            .zip(oos)
            .filter(|(_, o)| !o)
            .map(|(u, _)| *u as f64)
            .collect();
        assert_eq!(v.stddev, sample_stddev(&kept));
        assert_eq!(v.mean, kept.iter().sum::<f64>() / kept.len() as f64);
    }

    #[test]
    fn one_in_stock_day_has_zero_stddev() {
        let v = velocity(&[5, 0], &[false, true], true, 1);
        assert_eq!(v.in_stock_days, 1);
        close(v.mean, 5.0);
        assert_eq!(v.stddev, 0.0);
    }
}
