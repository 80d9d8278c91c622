//! The economics of the `adaptive` policy: the distribution of demand over a lead time (normal for
//! fast movers, Poisson or negative binomial for slow ones), its quantiles and expected
//! shortage, the allocation of service levels across units to reach an aggregate fill rate at
//! the least inventory value, and the economic order quantity. Pure arithmetic.
//!
//! The allocation is the classic marginal analysis, solved with one multiplier θ instead of a
//! unit-at-a-time greedy: raising a unit's reorder point by one unit fills `P(X > s)` more units
//! per replenishment cycle, `D/Q` cycles a day, for `c` more inventory value; at the optimum every
//! unit stops where that gain per unit of value falls below θ, i.e. at the cycle service level
//! α = 1 − θ·c·Q/D. Cheap, fast, steady units get high levels; dear, slow, lumpy ones low. A
//! bisection on θ finds the largest θ (least inventory) whose demand-weighted fill reaches the
//! target. Fill of one unit is 1 − E[shortage per cycle] / Q.

use crate::core::stats::inverse_normal_cdf;

/// Lead-time demand below this mean is modelled as discrete (Poisson / negative binomial).
pub const DISCRETE_BELOW: f64 = 20.0;

/// Demand over a lead time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    Normal {
        mean: f64,
        sd: f64,
    },
    Poisson {
        mean: f64,
    },
    /// Negative binomial with this mean and variance (variance > mean).
    NegBin {
        mean: f64,
        var: f64,
    },
}

impl Dist {
    /// The distribution of a lead time's demand with this mean and standard deviation: discrete
    /// below [`DISCRETE_BELOW`] (negative binomial when the variance exceeds the mean by more
    /// than 5 %, else Poisson), normal above.
    pub fn for_demand(mean: f64, sd: f64) -> Dist {
        let mean = if mean.is_finite() { mean.max(0.0) } else { 0.0 };
        let sd = if sd.is_finite() { sd.max(0.0) } else { 0.0 };
        if mean >= DISCRETE_BELOW {
            return Dist::Normal { mean, sd };
        }
        let var = sd * sd;
        if mean > 0.0 && var > mean * 1.05 {
            Dist::NegBin { mean, var }
        } else {
            Dist::Poisson { mean }
        }
    }

    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Normal { mean, .. } | Dist::Poisson { mean } | Dist::NegBin { mean, .. } => mean,
        }
    }

    /// The name shown in `--explain`.
    pub fn name(&self) -> &'static str {
        match self {
            Dist::Normal { .. } => "normal",
            Dist::Poisson { .. } => "poisson",
            Dist::NegBin { .. } => "negative_binomial",
        }
    }

    /// Calls `f(k, P(X = k))` for k = 0, 1, … until it returns false or the tail is negligible.
    fn walk(&self, mut f: impl FnMut(u32, f64) -> bool) {
        // P(0) and the ratio P(k+1)/P(k) = (a + b·k)/(k + 1).
        let (mean, p0, a, b) = match *self {
            Dist::Poisson { mean } => (mean, (-mean).exp(), mean, 0.0),
            Dist::NegBin { mean, var } => {
                let p = mean / var;
                let r = mean * mean / (var - mean);
                (mean, p.powf(r), r * (1.0 - p), 1.0 - p)
            }
            Dist::Normal { .. } => return,
        };
        let cap = (mean * 20.0 + 200.0) as u32;
        let mut pk = p0;
        let mut cum = 0.0;
        for k in 0..=cap {
            if !f(k, pk) {
                return;
            }
            cum += pk;
            if cum >= 1.0 - 1e-12 {
                return;
            }
            pk *= (a + b * f64::from(k)) / f64::from(k + 1);
        }
    }

    /// The smallest level s with P(X ≤ s) ≥ α (whole units for discrete demand).
    pub fn quantile(&self, alpha: f64) -> f64 {
        let alpha = alpha.clamp(0.0, 1.0 - 1e-12);
        match *self {
            Dist::Normal { mean, sd } => {
                if sd <= 0.0 {
                    return mean;
                }
                mean + sd * inverse_normal_cdf(alpha.max(1e-12)).unwrap_or(0.0)
            }
            _ => {
                let (mut cum, mut at) = (0.0, 0u32);
                self.walk(|k, p| {
                    cum += p;
                    at = k;
                    cum < alpha
                });
                f64::from(at)
            }
        }
    }

    /// Expected shortage E[(X − s)⁺] when `s` units protect the lead time.
    pub fn expected_shortage(&self, s: f64) -> f64 {
        match *self {
            Dist::Normal { mean, sd } => {
                if sd <= 0.0 {
                    return (mean - s).max(0.0);
                }
                let z = (s - mean) / sd;
                sd * (normal_pdf(z) - z * (1.0 - normal_cdf(z)))
            }
            _ => {
                let mean = self.mean();
                if s <= 0.0 {
                    return mean - s;
                }
                // E[(X − s)⁺] = mean − Σ_{k<s} P(X > k), for whole s.
                let whole = s.floor() as u32;
                let mut cum = 0.0;
                let mut covered = 0.0;
                self.walk(|k, p| {
                    if k >= whole {
                        return false;
                    }
                    cum += p;
                    covered += 1.0 - cum;
                    true
                });
                // A fractional level protects as its whole part; a walk that stopped at a
                // negligible tail before `whole` has covered (almost) the whole mean.
                (mean - covered).max(0.0)
            }
        }
    }
}

fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Φ(z), from the complementary error function (W. J. Cody's rational approximations via
/// erfc; absolute error below 1e-7, plenty for service levels).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// erfc(x), Numerical Recipes' Chebyshev fit (fractional error < 1.2e-7 everywhere).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// One unit as the allocation sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Expected demand per day (0: the unit is left out).
    pub rate: f64,
    /// Units per replenishment cycle (the order quantity).
    pub cycle: f64,
    /// Unit cost (its inventory value).
    pub cost: f64,
    /// Demand over the lead time.
    pub dist: Dist,
}

/// The level a unit got.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    /// Cycle service level: P(no stockout in a replenishment cycle).
    pub alpha: f64,
    /// Reorder point (units protecting the lead time).
    pub reorder_point: f64,
    /// Expected fill rate: 1 − E[shortage per cycle] / cycle.
    pub fill: f64,
}

/// The service levels of a set of units.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    pub levels: Vec<Level>,
    /// Demand-weighted expected fill over the units.
    pub fill: f64,
    /// Whether `fill` reaches the target (else every unit is at `max_alpha`).
    pub reached: bool,
    /// The multiplier: value of one more unit of fill per unit of inventory value, at the margin.
    pub theta: f64,
}

/// Bounds of the cycle service level a unit may get.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub min_alpha: f64,
    pub max_alpha: f64,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            min_alpha: 0.5,
            max_alpha: 0.999,
        }
    }
}

fn level_at(c: &Candidate, theta: f64, b: Bounds) -> Level {
    if c.rate <= 0.0 || c.cycle <= 0.0 {
        return Level {
            alpha: b.min_alpha,
            reorder_point: 0.0,
            fill: 1.0,
        };
    }
    let alpha = (1.0 - theta * c.cost.max(0.0) * c.cycle / c.rate).clamp(b.min_alpha, b.max_alpha);
    let s = c.dist.quantile(alpha);
    let fill = (1.0 - c.dist.expected_shortage(s) / c.cycle).clamp(0.0, 1.0);
    Level {
        alpha,
        reorder_point: s,
        fill,
    }
}

fn aggregate(cands: &[Candidate], levels: &[Level]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (c, l) in cands.iter().zip(levels) {
        if c.rate > 0.0 {
            num += c.rate * l.fill;
            den += c.rate;
        }
    }
    if den > 0.0 { num / den } else { 1.0 }
}

/// Service levels reaching a demand-weighted fill of `target` at the least inventory value.
pub fn allocate(cands: &[Candidate], target: f64, b: Bounds) -> Allocation {
    allocate_from(cands, target, b, None)
}

/// [`allocate`], starting the search near `hint` (a previous θ): a day's allocation moves little
/// from the day before's, so a narrow bracket saves most of the bisection.
pub fn allocate_from(cands: &[Candidate], target: f64, b: Bounds, hint: Option<f64>) -> Allocation {
    let at = |theta: f64| -> (Vec<Level>, f64) {
        let levels: Vec<Level> = cands.iter().map(|c| level_at(c, theta, b)).collect();
        let fill = aggregate(cands, &levels);
        (levels, fill)
    };
    // θ where even the cheapest unit is at the floor: 1 − θ·c·Q/D ≤ min_alpha for all.
    let top = cands
        .iter()
        .filter(|c| c.rate > 0.0 && c.cost * c.cycle > 0.0)
        .map(|c| (1.0 - b.min_alpha) * c.rate / (c.cost * c.cycle))
        .fold(0.0_f64, f64::max)
        .max(1e-12)
        * 2.0;
    // A bracket [lo, hi] with fill(lo) ≥ target > fill(hi).
    let (mut lo, mut hi) = match hint.filter(|h| h.is_finite() && *h > 0.0 && *h < top) {
        Some(h) => (h / 1.5, (h * 1.5).min(top)),
        None => (0.0, top),
    };
    let mut kept = at(lo);
    while kept.1 < target && lo > 0.0 {
        hi = lo;
        lo = if lo < 1e-12 { 0.0 } else { lo / 4.0 };
        kept = at(lo);
    }
    if kept.1 < target {
        return Allocation {
            levels: kept.0,
            fill: kept.1,
            reached: false,
            theta: 0.0,
        };
    }
    loop {
        let high = at(hi);
        if high.1 < target {
            break;
        }
        if hi >= top {
            return Allocation {
                levels: high.0,
                fill: high.1,
                reached: true,
                theta: hi,
            };
        }
        lo = hi;
        kept = high;
        hi = (hi * 4.0).min(top);
    }
    // Bisection in θ (monotone: a larger θ never raises a level), to a relative 1e-3: closer
    // moves each α by under 0.1 % of its 1 − α.
    for _ in 0..60 {
        if hi - lo <= hi * 1e-3 {
            break;
        }
        let mid = 0.5 * (lo + hi);
        let (levels, fill) = at(mid);
        if fill >= target {
            lo = mid;
            kept = (levels, fill);
        } else {
            hi = mid;
        }
    }
    Allocation {
        levels: kept.0,
        fill: kept.1,
        reached: true,
        theta: lo,
    }
}

/// Days in a year, for yearly rates.
pub const YEAR_DAYS: f64 = 365.0;

/// The economic order quantity: √(2·D·K / (r·c)) with D the yearly demand, K the cost of
/// ordering one line, r the yearly carrying rate and c the unit cost. `None` without demand or
/// without a cost to carry.
pub fn eoq(rate: f64, order_cost: f64, carrying_rate: f64, unit_cost: f64) -> Option<f64> {
    let holding = carrying_rate * unit_cost;
    (rate > 0.0 && holding > 0.0 && order_cost >= 0.0)
        .then(|| (2.0 * rate * YEAR_DAYS * order_cost / holding).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() < tol, "{a} vs {b}");
    }

    #[test]
    fn poisson_quantiles_and_shortage_by_hand() {
        // Poisson(1): P(0) = P(1) = e⁻¹ = 0.367879, P(2) = 0.183940, P(3) = 0.061313.
        // F: 0.367879, 0.735759, 0.919699, 0.981012.
        let d = Dist::Poisson { mean: 1.0 };
        assert_eq!(d.quantile(0.3), 0.0);
        assert_eq!(d.quantile(0.5), 1.0);
        assert_eq!(d.quantile(0.9), 2.0);
        assert_eq!(d.quantile(0.95), 3.0);
        // E[(X − s)⁺] = 1 − Σ_{k<s} P(X > k): 1, 0.367879, 0.103638, 0.023337.
        close(d.expected_shortage(0.0), 1.0, 1e-9);
        close(d.expected_shortage(1.0), 0.367_879, 1e-6);
        close(d.expected_shortage(2.0), 0.103_638, 1e-6);
        close(d.expected_shortage(3.0), 0.023_337, 1e-6);
    }

    #[test]
    fn negative_binomial_when_demand_is_lumpy() {
        // Mean 2, variance 6: p = 1/3, r = 1 (a geometric): P(k) = (1/3)(2/3)^k, so P(X > k) =
        // (2/3)^(k+1) and E[(X − 2)⁺] = 2 − 2/3 − 4/9 = 8/9.
        let d = Dist::for_demand(2.0, 6.0_f64.sqrt());
        assert!(matches!(d, Dist::NegBin { .. }), "{d:?}");
        close(d.expected_shortage(2.0), 8.0 / 9.0, 1e-9);
        // P(X ≤ 1) = 1/3 + 2/9 = 5/9: the 0.5-quantile is 1.
        assert_eq!(d.quantile(0.5), 1.0);
        assert!(matches!(Dist::for_demand(2.0, 1.4), Dist::Poisson { .. }));
        assert!(matches!(Dist::for_demand(50.0, 9.0), Dist::Normal { .. }));
    }

    #[test]
    fn normal_quantile_and_loss() {
        let d = Dist::Normal {
            mean: 100.0,
            sd: 10.0,
        };
        close(d.quantile(0.95), 116.448_536, 1e-5);
        // Standard normal loss at z = 0: φ(0) = 0.398942; times σ = 10.
        close(d.expected_shortage(100.0), 3.989_423, 1e-5);
        close(normal_cdf(1.644_853_627), 0.95, 1e-7);
    }

    #[test]
    fn allocation_of_three_units_by_hand() {
        // Three units, each with lead-time demand Poisson(1) and 0.1 a day:
        //   A: cycle 2, cost 1;  B: cycle 2, cost 5;  C: cycle 10, cost 1.
        // Gain per unit of value of raising s from k to k+1 is (D/Q)·P(X > k)/c:
        //   A: 0.05·P(X > k);  B and C: 0.01·P(X > k)   (P(X > k) = .632, .264, .080, .019, .004)
        // so s rises in this order: A→1 (.0316), A→2 (.0132), B,C→1 (.0063), A→3 (.0040),
        // B,C→2 (.0026), A→4 (.00095), B,C→3 (.0008).
        // Fill 1 − E[(X−s)⁺]/Q per unit:  A, B: s=1 .81606, 2 .94818, 3 .98833, 4 .99782;
        //                                  C:   s=1 .96321, 2 .98964, 3 .99767.
        // Equal demand, so the aggregate is the mean:
        //   (3,1,1): .92253;  (3,2,2): .97538;  (4,2,2): .97855;  (4,3,3): .99461.
        let p1 = Dist::Poisson { mean: 1.0 };
        let unit = |cycle, cost| Candidate {
            rate: 0.1,
            cycle,
            cost,
            dist: p1,
        };
        let cands = [unit(2.0, 1.0), unit(2.0, 5.0), unit(10.0, 1.0)];
        let bounds = Bounds {
            min_alpha: 0.0,
            max_alpha: 0.9999,
        };
        let s = |target: f64| -> (Vec<f64>, f64) {
            let a = allocate(&cands, target, bounds);
            assert!(a.reached);
            (a.levels.iter().map(|l| l.reorder_point).collect(), a.fill)
        };
        let (levels, fill) = s(0.92);
        assert_eq!(levels, vec![3.0, 1.0, 1.0]);
        close(fill, 0.922_53, 1e-5);
        let (levels, fill) = s(0.95);
        assert_eq!(levels, vec![3.0, 2.0, 2.0]);
        close(fill, 0.975_38, 1e-5);
        let (levels, fill) = s(0.98);
        assert_eq!(levels, vec![4.0, 3.0, 3.0]);
        close(fill, 0.994_61, 1e-5);
        // Starting near a previous θ finds the same levels.
        for hint in [1e-6, 0.003, 0.5] {
            let a = allocate_from(&cands, 0.95, bounds, Some(hint));
            let got: Vec<f64> = a.levels.iter().map(|l| l.reorder_point).collect();
            assert_eq!(got, vec![3.0, 2.0, 2.0], "hint {hint}");
        }
        // Out of reach: every unit at the ceiling, said so.
        let a = allocate(
            &cands,
            0.999_99,
            Bounds {
                min_alpha: 0.0,
                max_alpha: 0.9,
            },
        );
        assert!(!a.reached);
        assert!(a.levels.iter().all(|l| l.alpha == 0.9));
    }

    #[test]
    fn economic_order_quantity() {
        // 10 a day (3,650 a year), 10 per order, 25 % a year on a cost of 20 (5 a unit-year):
        // √(2·3650·10/5) = √14600 = 120.83.
        close(
            eoq(10.0, 10.0, 0.25, 20.0).unwrap_or(f64::NAN),
            14_600.0_f64.sqrt(),
            1e-9,
        );
        assert_eq!(eoq(0.0, 10.0, 0.25, 20.0), None);
        assert_eq!(eoq(1.0, 10.0, 0.25, 0.0), None);
    }
}
