//! Demand models of the `adaptive` policy, and the per-unit choice between them by how well each
//! forecast that unit's own recent days out of sample. Pure: no IO, no clock.
//!
//! A [`Forecaster`] is fed a unit's daily sales one day at a time, oldest first, with whether the
//! unit was out of stock that day. Before it learns from a day, every model forecasts it; the
//! error of that forecast is the model's score (a rolling origin that moves one day at a time,
//! so every error is out of sample). Days out of stock are skipped by every model and every
//! score: their sales are censored, not demand.
//!
//! The models:
//! - `flat`: the mean of the last `flat_window` in-stock days (what `classic` uses);
//! - `holt`: exponential smoothing with a damped trend, for units that grow or fade;
//! - `croston_sba`: Croston's method with the Syntetos–Boylan bias correction, for intermittent
//!   demand (size and interval smoothed separately, updated on selling days only);
//! - `tsb`: Teunter–Syntetos–Babai, intermittent demand whose probability of selling is
//!   smoothed every day, so a unit that stops selling fades instead of staying at its old rate;
//! - `weekday`: the flat level times a weekday index (exponentially smoothed per weekday);
//! - `yearly`: the flat level times the change over the same days a year ago (364 days, so the
//!   weekdays align); ready once a year and a window of history are stored.
//!
//! The score is the root mean squared scaled error (RMSSE, the M5 competition's measure):
//! exponentially weighted squared one-step errors, scaled by those of the naive "same as
//! yesterday" forecast. Squared, not absolute (MASE): on intermittent series the absolute error
//! is smallest for a forecast of zero, which would never order anything. The same weighted
//! squared errors give the spread of forecast errors that sets the safety stock.

/// One demand model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Model {
    Flat,
    Holt,
    Croston,
    Tsb,
    Weekday,
    Yearly,
}

impl Model {
    /// Every model, in the order ties are broken (simplest first).
    pub const ALL: [Model; 6] = [
        Model::Flat,
        Model::Holt,
        Model::Croston,
        Model::Tsb,
        Model::Weekday,
        Model::Yearly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Model::Flat => "flat",
            Model::Holt => "holt",
            Model::Croston => "croston_sba",
            Model::Tsb => "tsb",
            Model::Weekday => "weekday",
            Model::Yearly => "yearly",
        }
    }

    /// The model named `s` (as [`Model::as_str`] spells it).
    pub fn parse(s: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// What the model is for, in words (for `--explain`).
    pub fn describe(self) -> &'static str {
        match self {
            Model::Flat => "the mean of the recent in-stock days",
            Model::Holt => "exponential smoothing with a damped trend (growing or fading demand)",
            Model::Croston => "Croston's method with the SBA correction (intermittent demand)",
            Model::Tsb => {
                "Teunter–Syntetos–Babai (intermittent demand whose chance of selling changes)"
            }
            Model::Weekday => "the recent mean times a weekday profile",
            Model::Yearly => "the recent mean times last year's change over the same days",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Which models may be chosen (`flat` always may: it is the fallback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSet(u8);

impl ModelSet {
    pub fn all() -> ModelSet {
        ModelSet(0b11_1111)
    }

    /// `flat` alone: the mean, as `classic` forecasts.
    pub fn flat_only() -> ModelSet {
        ModelSet(1)
    }

    pub fn with(self, m: Model, on: bool) -> ModelSet {
        let bit = 1u8 << m.index();
        let set = if on { self.0 | bit } else { self.0 & !bit };
        ModelSet(set | 1)
    }

    pub fn contains(self, m: Model) -> bool {
        self.0 & (1 << m.index()) != 0
    }

    /// The names of the models in the set, in [`Model::ALL`] order.
    pub fn names(self) -> Vec<&'static str> {
        Model::ALL
            .into_iter()
            .filter(|m| self.contains(*m))
            .map(Model::as_str)
            .collect()
    }
}

/// The smoothing constants (fixed, the textbook values; not per unit, so a forecaster costs a few
/// multiplications a day).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// In-stock days the flat mean (and the level of `weekday` and `yearly`) covers.
    pub flat_window: usize,
    /// Holt: level, trend, damping.
    pub holt_alpha: f64,
    pub holt_beta: f64,
    pub holt_phi: f64,
    /// Croston/SBA: smoothing of size and interval.
    pub croston_alpha: f64,
    /// TSB: smoothing of size and of the probability of selling.
    pub tsb_alpha: f64,
    pub tsb_beta: f64,
    /// Weekday index: smoothing of each weekday's mean (updated once a week).
    pub weekday_alpha: f64,
    /// Weight of an error one in-stock day older than the next (memory ≈ 1 / (1 − decay) days).
    pub error_decay: f64,
    /// In-stock days a unit needs before errors are scored.
    pub min_days: usize,
    /// Weighted number of scored errors a model needs before it may be chosen.
    pub min_scored: f64,
    /// How much lower (as a share of RMSSE) a model's error must be to be chosen over a
    /// simpler one (25 %: at 10 % the sandbox catalogs filled less at the same inventory).
    pub selection_margin: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            flat_window: 28,
            holt_alpha: 0.2,
            holt_beta: 0.05,
            holt_phi: 0.9,
            croston_alpha: 0.1,
            tsb_alpha: 0.1,
            tsb_beta: 0.05,
            weekday_alpha: 0.2,
            error_decay: 0.97,
            min_days: 14,
            min_scored: 7.0,
            selection_margin: 0.25,
        }
    }
}

/// Exponentially weighted squared errors.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Ew {
    weight: f64,
    squares: f64,
    sum: f64,
}

impl Ew {
    fn add(&mut self, e: f64, decay: f64) {
        self.weight = self.weight * decay + 1.0;
        self.squares = self.squares * decay + e * e;
        self.sum = self.sum * decay + e;
    }

    fn mse(&self) -> Option<f64> {
        (self.weight > 0.0).then(|| self.squares / self.weight)
    }
}

/// One day of history the `yearly` model looks back on.
#[derive(Debug, Clone, Copy, Default)]
struct Prefix {
    /// Sum of in-stock sales and count of in-stock days up to (not including) this day.
    sum: f64,
    count: u32,
}

/// A unit's demand models, fed one day at a time.
#[derive(Debug, Clone)]
pub struct Forecaster {
    params: Params,
    models: ModelSet,
    /// Days pushed so far (the calendar index of the next day).
    day: usize,
    /// Weekday (0 = Monday) of day 0.
    weekday0: usize,
    in_stock_days: usize,
    last_sale: Option<f64>,
    // flat
    recent: std::collections::VecDeque<f64>,
    recent_sum: f64,
    // holt: (level, trend); the trend is NaN until the second in-stock day
    holt: Option<(f64, f64)>,
    // croston: (size, interval) and in-stock days since the last sale
    croston: Option<(f64, f64)>,
    since_sale: f64,
    // tsb: (size, probability)
    tsb_size: Option<f64>,
    tsb_prob: Option<f64>,
    // weekday means and how often each was seen
    weekday_mean: [f64; 7],
    weekday_seen: [u32; 7],
    // yearly: prefix sums of in-stock sales per calendar day (only when `yearly` is on)
    prefix: Vec<Prefix>,
    // scores
    errors: [Ew; 6],
    naive: Ew,
    /// Lead-time scoring: the horizon h (0: off), the last h days (sales, out of stock), the
    /// forecasts of the next h days made on each recent day (NaN: model not ready) with the
    /// naive one (the last h days again), and their errors once the h days have passed.
    horizon: usize,
    last_days: std::collections::VecDeque<(f64, bool)>,
    made: std::collections::VecDeque<(usize, [f64; 6], f64)>,
    horizon_errors: [Ew; 6],
    horizon_naive: Ew,
}

/// Days back the `yearly` model looks (52 weeks, so weekdays align).
pub const YEAR: usize = 364;

impl Forecaster {
    /// A forecaster whose day 0 falls on `weekday0` (0 = Monday … 6 = Sunday).
    pub fn new(params: Params, models: ModelSet, weekday0: usize) -> Forecaster {
        let mut f = Forecaster::blank(params, models, weekday0);
        f.recent.reserve(params.flat_window.max(1));
        f.start_prefix();
        f
    }

    /// `yearly`'s prefix sums start with the empty prefix (days 0..0); the day being learned
    /// joins after it is scored. Kept only when `yearly` is on.
    fn start_prefix(&mut self) {
        if self.models.contains(Model::Yearly) {
            self.prefix.push(Prefix::default());
        }
    }

    /// A forecaster that has learned nothing, with no buffer allocated yet.
    fn blank(params: Params, models: ModelSet, weekday0: usize) -> Forecaster {
        Forecaster {
            params,
            models,
            day: 0,
            weekday0: weekday0 % 7,
            in_stock_days: 0,
            last_sale: None,
            recent: std::collections::VecDeque::new(),
            recent_sum: 0.0,
            holt: None,
            croston: None,
            since_sale: 0.0,
            tsb_size: None,
            tsb_prob: None,
            weekday_mean: [0.0; 7],
            weekday_seen: [0; 7],
            prefix: Vec::new(),
            errors: [Ew::default(); 6],
            naive: Ew::default(),
            horizon: 0,
            last_days: std::collections::VecDeque::new(),
            made: std::collections::VecDeque::new(),
            horizon_errors: [Ew::default(); 6],
            horizon_naive: Ew::default(),
        }
    }

    /// A forecaster that also scores each model on the sum of the next `h` days (a unit's lead
    /// time), the errors that matter for its safety stock.
    pub fn with_horizon(params: Params, models: ModelSet, weekday0: usize, h: usize) -> Forecaster {
        let mut f = Forecaster::new(params, models, weekday0);
        f.horizon = h;
        f.last_days = std::collections::VecDeque::with_capacity(h + 1);
        f.made = std::collections::VecDeque::with_capacity(h + 1);
        f
    }

    /// Starts over for another unit, as [`Forecaster::with_horizon`] would, keeping the buffers
    /// already allocated (a plan forecasts every unit in turn with one forecaster).
    pub fn restart(&mut self, weekday0: usize, h: usize) {
        let mut recent = std::mem::take(&mut self.recent);
        let mut last_days = std::mem::take(&mut self.last_days);
        let mut made = std::mem::take(&mut self.made);
        let mut prefix = std::mem::take(&mut self.prefix);
        recent.clear();
        last_days.clear();
        made.clear();
        prefix.clear();
        *self = Forecaster {
            recent,
            last_days,
            made,
            prefix,
            horizon: h,
            ..Forecaster::blank(self.params, self.models, weekday0)
        };
        self.start_prefix();
    }

    /// The horizon bookkeeping of day `day` (after it was learned, or skipped).
    fn track_horizon(&mut self, day: usize, sales: f64, out: bool) {
        let h = self.horizon;
        if h == 0 {
            return;
        }
        if self.last_days.len() == h {
            self.last_days.pop_front();
        }
        self.last_days.push_back((sales, out));
        let decay = self.params.error_decay;
        if let Some(&(when, forecasts, naive)) = self.made.front()
            && when + h == day
        {
            self.made.pop_front();
            if self.last_days.iter().all(|(_, o)| !o) {
                let actual: f64 = self.last_days.iter().map(|(y, _)| y).sum();
                for (m, f) in forecasts.iter().enumerate() {
                    if f.is_finite() {
                        self.horizon_errors[m].add(actual - f, decay);
                    }
                }
                if naive.is_finite() {
                    self.horizon_naive.add(actual - naive, decay);
                }
            }
        }
        if self.in_stock_days >= self.params.min_days {
            let mut forecasts = [f64::NAN; 6];
            for m in Model::ALL {
                if self.models.contains(m)
                    && let Some(f) = self.sum_from(m, day + 1, h)
                {
                    forecasts[m.index()] = f;
                }
            }
            let naive = if self.last_days.len() == h && self.last_days.iter().all(|(_, o)| !o) {
                self.last_days.iter().map(|(y, _)| y).sum()
            } else {
                f64::NAN
            };
            self.made.push_back((day, forecasts, naive));
        }
    }

    /// Days pushed so far.
    pub fn days(&self) -> usize {
        self.day
    }

    /// In-stock days pushed so far.
    pub fn in_stock_days(&self) -> usize {
        self.in_stock_days
    }

    fn weekday(&self, day: usize) -> usize {
        (self.weekday0 + day) % 7
    }

    fn flat(&self) -> Option<f64> {
        (!self.recent.is_empty()).then(|| self.recent_sum / self.recent.len() as f64)
    }

    fn weekday_index(&self) -> Option<[f64; 7]> {
        if self.weekday_seen.iter().any(|&n| n < 2) {
            return None;
        }
        let mean = self.weekday_mean.iter().sum::<f64>() / 7.0;
        if mean <= 0.0 {
            return None;
        }
        Some(self.weekday_mean.map(|m| m / mean))
    }

    /// Sum and count of in-stock days in calendar days `from..to` (clipped to the stored ones).
    fn stored(&self, from: usize, to: usize) -> (f64, u32) {
        let last = self.prefix.len().saturating_sub(1);
        let (a, b) = (from.min(last), to.min(last));
        match (self.prefix.get(a), self.prefix.get(b)) {
            (Some(pa), Some(pb)) if b > a => (pb.sum - pa.sum, pb.count - pa.count),
            _ => (0.0, 0),
        }
    }

    /// `yearly`'s factor for the `h` days starting at calendar day `start`: last year's mean over
    /// those days (widened evenly to a week when shorter) ÷ last year's mean over the flat window
    /// before them.
    fn yearly_factor(&self, start: usize, h: usize) -> Option<f64> {
        let w = self.params.flat_window.max(1);
        let s = start.checked_sub(YEAR)?;
        let base_start = s.checked_sub(w)?;
        let pad = 7usize.saturating_sub(h).div_ceil(2);
        let (base_sum, base_n) = self.stored(base_start, s);
        let (same_sum, same_n) = self.stored(s.saturating_sub(pad), s + h + pad);
        if (base_n as usize) < w / 2 || same_n < 3 || base_sum <= 0.0 {
            return None;
        }
        Some((same_sum / f64::from(same_n)) / (base_sum / f64::from(base_n)))
    }

    /// The rate per day model `m` forecasts for each of the `h` days from calendar day `start`,
    /// summed; `None` while the model is not ready.
    fn sum_from(&self, m: Model, start: usize, h: usize) -> Option<f64> {
        let hf = h as f64;
        let v = match m {
            Model::Flat => self.flat()? * hf,
            Model::Holt => {
                let (l, b) = self.holt.filter(|(_, b)| b.is_finite())?;
                let phi = self.params.holt_phi;
                // Day k forecasts l + b·S_k, S_k = φ + … + φ^k. In closed form unless a falling
                // trend would take a day below zero (then day by day, each day at least 0).
                let limit = if phi < 1.0 {
                    phi / (1.0 - phi)
                } else {
                    f64::INFINITY
                };
                if b >= 0.0 || l + b * limit.min(hf) >= 0.0 {
                    let s = if phi < 1.0 {
                        limit * (hf - phi * (1.0 - phi.powi(h as i32)) / (1.0 - phi))
                    } else {
                        hf * (hf + 1.0) / 2.0
                    };
                    l * hf + b * s
                } else {
                    let (mut acc, mut damp, mut total) = (0.0, 1.0, 0.0);
                    for _ in 0..h {
                        damp *= phi;
                        acc += damp;
                        total += (l + acc * b).max(0.0);
                    }
                    total
                }
            }
            Model::Croston => {
                let (z, p) = self.croston?;
                (1.0 - self.params.croston_alpha / 2.0) * z / p.max(1.0) * hf
            }
            Model::Tsb => self.tsb_prob? * self.tsb_size? * hf,
            Model::Weekday => {
                let idx = self.weekday_index()?;
                let level = self.flat()?;
                // Whole weeks sum the index to 7; then the days left over.
                let part: f64 = (0..h % 7).map(|k| idx[self.weekday(start + k)]).sum();
                level * ((h / 7) as f64 * 7.0 + part)
            }
            Model::Yearly => {
                if !self.models.contains(Model::Yearly) {
                    return None;
                }
                self.flat()? * self.yearly_factor(start, h)? * hf
            }
        };
        Some(v.max(0.0))
    }

    /// What model `m` forecasts for the next `h` days, summed (`None` while it is not ready or
    /// not in the set).
    pub fn model_sum(&self, m: Model, h: usize) -> Option<f64> {
        if !self.models.contains(m) {
            return None;
        }
        self.sum_from(m, self.day, h)
    }

    /// Whether model `m` has been scored enough to be chosen.
    fn scored(&self, m: Model) -> bool {
        self.errors[m.index()].weight >= self.params.min_scored
    }

    /// Learns one day: `sales` units sold; `out` when the unit was out of stock (the day is
    /// skipped, apart from moving the calendar on).
    pub fn push(&mut self, sales: f64, out: bool) {
        let day = self.day;
        self.day += 1;
        let counted = !out && sales.is_finite();
        if !counted {
            self.extend_prefix(0.0, false);
            self.track_horizon(day, 0.0, true);
            return;
        }
        let y = sales.max(0.0);
        let p = self.params;
        // Score every ready model on this day before learning it.
        if self.in_stock_days >= p.min_days {
            for m in Model::ALL {
                if !self.models.contains(m) {
                    continue;
                }
                if let Some(f) = self.sum_from(m, day, 1) {
                    self.errors[m.index()].add(y - f, p.error_decay);
                }
            }
            if let Some(last) = self.last_sale {
                self.naive.add(y - last, p.error_decay);
            }
        }
        self.in_stock_days += 1;
        self.last_sale = Some(y);
        // flat
        if self.recent.len() == p.flat_window.max(1)
            && let Some(old) = self.recent.pop_front()
        {
            self.recent_sum -= old;
        }
        self.recent.push_back(y);
        self.recent_sum += y;
        // holt
        self.holt = Some(match self.holt {
            None => (y, f64::NAN),
            Some((l, b)) if b.is_nan() => (y, y - l),
            Some((l, b)) => {
                let level = p.holt_alpha * y + (1.0 - p.holt_alpha) * (l + p.holt_phi * b);
                let trend = p.holt_beta * (level - l) + (1.0 - p.holt_beta) * p.holt_phi * b;
                (level, trend)
            }
        });
        // croston
        self.since_sale += 1.0;
        if y > 0.0 {
            let q = self.since_sale;
            self.croston = Some(match self.croston {
                None => (y, q),
                Some((z, i)) => (z + p.croston_alpha * (y - z), i + p.croston_alpha * (q - i)),
            });
            self.since_sale = 0.0;
        }
        // tsb
        let hit = if y > 0.0 { 1.0 } else { 0.0 };
        self.tsb_prob = Some(match self.tsb_prob {
            None => hit,
            Some(pr) => pr + p.tsb_beta * (hit - pr),
        });
        if y > 0.0 {
            self.tsb_size = Some(match self.tsb_size {
                None => y,
                Some(z) => z + p.tsb_alpha * (y - z),
            });
        }
        // weekday
        let wd = self.weekday(day);
        self.weekday_mean[wd] = if self.weekday_seen[wd] == 0 {
            y
        } else {
            self.weekday_mean[wd] + p.weekday_alpha * (y - self.weekday_mean[wd])
        };
        self.weekday_seen[wd] += 1;
        self.extend_prefix(y, true);
        self.track_horizon(day, y, false);
    }

    /// Adds the day just learned to `yearly`'s prefix sums (kept only when `yearly` is on).
    fn extend_prefix(&mut self, y: f64, in_stock: bool) {
        if !self.models.contains(Model::Yearly) {
            return;
        }
        let last = self.prefix.last().copied().unwrap_or_default();
        self.prefix.push(Prefix {
            sum: last.sum + if in_stock { y } else { 0.0 },
            count: last.count + u32::from(in_stock),
        });
    }

    /// The chosen model and its forecast for the next `h` days (from the next day on).
    pub fn forecast(&self, h: usize) -> Option<Forecast> {
        let flat = self.sum_from(Model::Flat, self.day, h)?;
        // Score on the lead time's sum when this forecaster tracks it and has enough of those
        // errors; else on single days.
        let on_horizon = h > 0
            && h == self.horizon
            && Model::ALL
                .into_iter()
                .any(|m| self.horizon_errors[m.index()].weight >= self.params.min_scored);
        let (table, naive) = if on_horizon {
            (&self.horizon_errors, self.horizon_naive.mse())
        } else {
            (&self.errors, self.naive.mse())
        };
        let mut best: Option<(Model, f64)> = None;
        for m in Model::ALL {
            if !self.models.contains(m) || table[m.index()].weight < self.params.min_scored {
                continue;
            }
            let Some(mse) = table[m.index()].mse() else {
                continue;
            };
            if self.sum_from(m, self.day, h.max(1)).is_none() {
                continue;
            }
            // Another model replaces the one before (simpler ones first) only when its
            // RMSSE is lower by more than the margin: a difference within the noise of a few
            // weeks of errors is no reason to leave the simpler model.
            let keep = 1.0 - self.params.selection_margin;
            if best.is_none_or(|(_, b)| mse < b * keep * keep - 1e-12) {
                best = Some((m, mse));
            }
        }
        let (model, mse) = match best {
            Some(b) => b,
            None => (Model::Flat, f64::NAN),
        };
        let sum = self.sum_from(model, self.day, h).unwrap_or(flat);
        // Spread of one-day errors: the chosen model's, else (not scored yet) the spread of
        // the recent days themselves.
        let sigma = match self.errors[model.index()].mse() {
            Some(m) if self.scored(model) => m.sqrt(),
            _ => {
                let m = self.flat().unwrap_or(0.0);
                let n = self.recent.len();
                if n >= 2 {
                    (self.recent.iter().map(|y| (y - m).powi(2)).sum::<f64>() / (n - 1) as f64)
                        .sqrt()
                } else {
                    0.0
                }
            }
        };
        let rmsse = match (mse.is_finite(), naive) {
            (true, Some(n)) if n > 0.0 => Some((mse / n).sqrt()),
            _ => None,
        };
        let bias = if mse.is_finite() {
            let e = table[model.index()];
            Some(e.sum / e.weight)
        } else {
            None
        };
        Some(Forecast {
            model,
            sum,
            rate: if h > 0 { sum / h as f64 } else { 0.0 },
            sigma_day: sigma,
            sigma_horizon: (on_horizon && mse.is_finite()).then(|| mse.sqrt()),
            rmsse,
            bias,
            scores: Model::ALL
                .into_iter()
                .filter(|m| {
                    self.models.contains(*m) && table[m.index()].weight >= self.params.min_scored
                })
                .filter_map(|m| {
                    let mse = table[m.index()].mse()?;
                    let n = naive.filter(|n| *n > 0.0)?;
                    Some((m, (mse / n).sqrt()))
                })
                .collect(),
            selling_share: self.tsb_prob.unwrap_or(0.0),
        })
    }
}

/// What a forecaster says about the next days.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub model: Model,
    /// Demand expected over the horizon, and per day on average.
    pub sum: f64,
    pub rate: f64,
    /// Spread (RMS) of the chosen model's one-day-ahead errors.
    pub sigma_day: f64,
    /// Spread (RMS, bias included) of its errors on the sum of the horizon's days, once the
    /// forecaster has scored enough of them (see [`Forecaster::with_horizon`]).
    pub sigma_horizon: Option<f64>,
    /// The chosen model's RMSSE (below 1: better than the naive forecast: "same as yesterday"
    /// for single days, "the last h days again" on the horizon).
    pub rmsse: Option<f64>,
    /// Mean one-day error (positive: the model under-forecast).
    pub bias: Option<f64>,
    /// Every scored model's RMSSE, for `--explain`.
    pub scores: Vec<(Model, f64)>,
    /// Smoothed share of in-stock days with a sale.
    pub selling_share: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(series: &[f64], params: Params, models: ModelSet, weekday0: usize) -> Forecaster {
        let mut f = Forecaster::new(params, models, weekday0);
        for &y in series {
            f.push(y, false);
        }
        f
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }

    #[test]
    fn croston_sba_on_a_known_series() {
        // α = 0.1. Sales of 3 on day 2 (interval 3), then 6 on day 7 (interval 5):
        // first sale: size 3, interval 3; second: size 3 + 0.1·(6 − 3) = 3.3,
        // interval 3 + 0.1·(5 − 3) = 3.2. SBA rate (1 − 0.1/2)·3.3/3.2 = 0.9796875 a day.
        let f = feed(
            &[0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 6.0],
            Params::default(),
            ModelSet::all(),
            0,
        );
        close(
            f.model_sum(Model::Croston, 10).unwrap_or(f64::NAN),
            9.796875,
        );
    }

    #[test]
    fn tsb_smooths_the_chance_of_selling_every_day() {
        // β = 0.05, α = 0.1. Day 0 sells 2: p = 1, size 2. Day 1 sells 0: p = 0.95. Day 2 sells
        // 4: p = 0.95 + 0.05·0.05 = 0.9525, size 2 + 0.1·2 = 2.2. Rate 0.9525·2.2 = 2.0955.
        let f = feed(&[2.0, 0.0, 4.0], Params::default(), ModelSet::all(), 0);
        close(f.model_sum(Model::Tsb, 1).unwrap_or(f64::NAN), 2.0955);
        // A long silence fades it (Croston would keep its last rate).
        let mut g = f.clone();
        for _ in 0..60 {
            g.push(0.0, false);
        }
        close(
            g.model_sum(Model::Tsb, 1).unwrap_or(f64::NAN),
            0.9525 * 0.95_f64.powi(60) * 2.2,
        );
        assert_eq!(
            g.model_sum(Model::Croston, 1),
            f.model_sum(Model::Croston, 1)
        );
    }

    #[test]
    fn holt_follows_a_line_and_is_chosen_for_it() {
        // y = 5 + 2t for t = 0..29, no damping: level and trend are exact from day 1 on (level
        // 7, trend 2; then α·y + (1 − α)(l + b) = y and β(Δl) + (1 − β)b = 2 every day), so the
        // next three days are 65 + 67 + 69 = 201, with no error.
        let params = Params {
            holt_phi: 1.0,
            ..Params::default()
        };
        let line: Vec<f64> = (0..30).map(|t| 5.0 + 2.0 * f64::from(t)).collect();
        let f = feed(&line, params, ModelSet::all(), 0);
        let fc = f.forecast(3).unwrap_or_else(|| panic!("a forecast"));
        assert_eq!(fc.model, Model::Holt);
        close(fc.sum, 201.0);
        close(fc.sigma_day, 0.0);
        // The flat mean of the last 28 days (t = 2..29: 36 on average) lags far behind.
        close(f.model_sum(Model::Flat, 3).unwrap_or(f64::NAN), 3.0 * 36.0);
        // Without Holt in the set, it is not chosen.
        let g = feed(&line, params, ModelSet::all().with(Model::Holt, false), 0);
        assert_ne!(g.forecast(3).map(|f| f.model), Some(Model::Holt));
    }

    #[test]
    fn a_weekday_profile_is_found_and_forecast() {
        // Six weeks of Mon–Fri 10, Sat 30, Sun 0, starting on a Monday. Weekday means are exact
        // from the first week, the flat level over 28 days (4 weeks) is 80/7, so the profile
        // forecasts each day exactly: Monday 10, the week 80.
        let week = [10.0, 10.0, 10.0, 10.0, 10.0, 30.0, 0.0];
        let series: Vec<f64> = week.iter().copied().cycle().take(42).collect();
        let f = feed(&series, Params::default(), ModelSet::all(), 0);
        let fc = f.forecast(7).unwrap_or_else(|| panic!("a forecast"));
        assert_eq!(fc.model, Model::Weekday);
        close(fc.sum, 80.0);
        close(f.model_sum(Model::Weekday, 1).unwrap_or(f64::NAN), 10.0);
        close(f.model_sum(Model::Weekday, 6).unwrap_or(f64::NAN), 80.0);
        // Starting the same series on a Tuesday shifts the calendar: the next day is a
        // Tuesday whose mean is the series' Monday-position value, still 10; the sixth day
        // ahead is the series' Saturday position (30) landing on a Sunday.
        let g = feed(&series, Params::default(), ModelSet::all(), 1);
        close(g.model_sum(Model::Weekday, 7).unwrap_or(f64::NAN), 80.0);
    }

    #[test]
    fn yearly_compares_the_same_days_a_year_ago() {
        // 10 a day, except days 100–129 of each 364-day year, which sell 30. After 464 days the
        // next week is days 100–106 of the second year: last year they sold 30 a day against 10
        // over the 28 days before, so the factor is 3 and the flat level (10) becomes 30 a day.
        let series: Vec<f64> = (0..464)
            .map(|t| {
                if (100..130).contains(&(t % 364)) {
                    30.0
                } else {
                    10.0
                }
            })
            .collect();
        let f = feed(&series, Params::default(), ModelSet::all(), 0);
        close(f.model_sum(Model::Yearly, 7).unwrap_or(f64::NAN), 210.0);
        // Less than a year and a window of history: not ready.
        let g = feed(&series[..380], Params::default(), ModelSet::all(), 0);
        assert_eq!(g.model_sum(Model::Yearly, 7), None);
        // Off unless asked for.
        let h = feed(&series, Params::default(), ModelSet::flat_only(), 0);
        assert_eq!(h.model_sum(Model::Yearly, 7), None);
    }

    #[test]
    fn out_of_stock_days_teach_nothing_but_move_the_calendar() {
        let mut a = Forecaster::new(Params::default(), ModelSet::all(), 0);
        let mut b = a.clone();
        for t in 0..30 {
            a.push(f64::from(t % 3), false);
            b.push(f64::from(t % 3), false);
        }
        // b is out of stock for five days, selling nothing.
        for _ in 0..5 {
            b.push(0.0, true);
        }
        assert_eq!(b.days(), 35);
        assert_eq!(b.in_stock_days(), a.in_stock_days());
        for m in [Model::Flat, Model::Holt, Model::Croston, Model::Tsb] {
            assert_eq!(a.model_sum(m, 4), b.model_sum(m, 4), "{m:?}");
        }
    }

    #[test]
    fn a_restarted_forecaster_is_a_fresh_one() {
        // A plan reuses one forecaster for every unit: nothing of the first unit may leak into
        // the second, whatever the horizon, weekday or models.
        let first: Vec<f64> = (0..450).map(|t| f64::from(t % 7)).collect();
        let second: Vec<f64> = (0..420)
            .map(|t| if t % 5 == 0 { 3.0 } else { 0.0 })
            .collect();
        let mut reused = Forecaster::with_horizon(Params::default(), ModelSet::all(), 0, 9);
        for &y in &first {
            reused.push(y, false);
        }
        reused.restart(3, 14);
        let mut fresh = Forecaster::with_horizon(Params::default(), ModelSet::all(), 3, 14);
        for (t, &y) in second.iter().enumerate() {
            reused.push(y, t % 50 == 0);
            fresh.push(y, t % 50 == 0);
        }
        let fc = fresh.forecast(14);
        assert!(
            fc.as_ref().is_some_and(|f| f.sigma_horizon.is_some()),
            "lead-time errors were scored: {fc:?}"
        );
        assert_eq!(reused.forecast(14), fc);
        for m in Model::ALL {
            assert_eq!(reused.model_sum(m, 14), fresh.model_sum(m, 14), "{m:?}");
        }
    }

    #[test]
    fn intermittent_demand_is_not_forecast_as_zero() {
        // One unit every fourth day: absolute error would favour a zero forecast; the squared
        // error picks a rate near the true 0.25 a day.
        let series: Vec<f64> = (0..80)
            .map(|t| if t % 4 == 3 { 1.0 } else { 0.0 })
            .collect();
        let f = feed(&series, Params::default(), ModelSet::all(), 2);
        let fc = f.forecast(28).unwrap_or_else(|| panic!("a forecast"));
        assert!((fc.rate - 0.25).abs() < 0.03, "{fc:?}");
        assert!(fc.rmsse.is_some_and(|r| r < 1.0), "{fc:?}");
    }
}
