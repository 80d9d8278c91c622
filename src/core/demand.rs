//! Demand: Shopify orders → daily units per planning unit, in one pass over the orders.
//!
//! Rules (docs/planning.md): an order counts when it is not a test, not cancelled, and its
//! `displayFinancialStatus` is PAID, PARTIALLY_REFUNDED or REFUNDED; a line's units are its
//! `currentQuantity`; gift-card lines are skipped; a null/empty/whitespace SKU is skipped and
//! reported (one `unmapped_sku` issue, sku null); the SKU goes through the mapping table first,
//! then an exact match against active Cin7 SKUs; an active non-Stock product contributes nothing
//! silently; the demand day is `createdAt` in the shop timezone; the window is T−W … T−1.
//!
//! Decisions (planning.md is silent):
//! - Financial statuses are compared ignoring ASCII case.
//! - A counting line of an unmapped SKU raises `unmapped_sku` even when its currentQuantity is 0
//!   (the SKU still sold and maps to nothing; a person should fix the mapping).
//! - The Shopify SKU is used verbatim (no trimming) for mapping and matching; only the "blank SKU"
//!   test trims.
//! - For `--explain`, a line that does not count is attributed to one reason, checked in this
//!   order: `outside_window`, `test`, `cancelled`, `financial_status <STATUS>`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::core::catalog::{Catalog, Resolved};
use crate::core::locations::Locations;
use crate::core::model::Order;
use crate::core::num::{FxMap, fx_map};
use crate::core::sales::Sales;

/// Financial statuses of orders that count ("paid orders only", kept units of refunds).
pub const COUNTING_STATUSES: [&str; 3] = ["PAID", "PARTIALLY_REFUNDED", "REFUNDED"];

/// The velocity window: W whole days T−W … T−1 in the shop timezone.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: NaiveDate,
    pub days: u32,
    pub tz: Tz,
}

impl Window {
    pub fn new(as_of: NaiveDate, days: u32, tz: Tz) -> Window {
        let start = as_of
            .checked_sub_days(chrono::Days::new(u64::from(days)))
            .unwrap_or(NaiveDate::MIN);
        Window { start, days, tz }
    }

    /// The shop-timezone date of an instant.
    pub fn local_day(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    /// Index 0..W of a day inside the window.
    pub fn index(&self, day: NaiveDate) -> Option<usize> {
        let i = (day - self.start).num_days();
        (i >= 0 && i < i64::from(self.days)).then_some(i as usize)
    }

    /// The date of window day `i`.
    pub fn date(&self, i: usize) -> NaiveDate {
        self.start
            .checked_add_days(chrono::Days::new(i as u64))
            .unwrap_or(NaiveDate::MAX)
    }

    pub fn len(&self) -> usize {
        self.days as usize
    }

    pub fn is_empty(&self) -> bool {
        self.days == 0
    }
}

/// Why an order does not count (the window aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotCounting<'a> {
    Test,
    Cancelled,
    FinancialStatus(&'a str),
}

/// The order rules: `Ok` when the order counts.
pub fn order_counts(order: &Order) -> Result<(), NotCounting<'_>> {
    counts(
        order.test,
        order.cancelled_at.is_some(),
        &order.financial_status,
    )
}

/// The order rules on an order's test flag, cancellation and `displayFinancialStatus` (compared
/// ignoring ASCII case and surrounding space).
pub fn counts(test: bool, cancelled: bool, status: &str) -> Result<(), NotCounting<'_>> {
    if test {
        return Err(NotCounting::Test);
    }
    if cancelled {
        return Err(NotCounting::Cancelled);
    }
    if !COUNTING_STATUSES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(status.trim()))
    {
        return Err(NotCounting::FinancialStatus(status));
    }
    Ok(())
}

/// Whether a line's SKU is missing for the rules (null, empty or whitespace only).
pub fn blank_sku(sku: Option<&str>) -> bool {
    sku.is_none_or(|s| s.trim().is_empty())
}

/// Unmapped sales seen in the window, per Shopify SKU (None: blank SKU).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unmapped {
    pub lines: u64,
    pub units: i64,
}

/// Demand of every unit (unit = product index × key count + key index).
#[derive(Debug, Default)]
pub struct Demand {
    /// CSR offsets into `entries` by unit.
    offsets: Vec<u32>,
    /// (window day index, units) of counting lines.
    entries: Vec<(u32, i64)>,
    /// Counting lines and their units, by unit.
    pub lines: Vec<u32>,
    pub units: Vec<i64>,
    /// (unit, reason code) of lines that did not count, sorted.
    excluded: Vec<(u32, u32)>,
    reasons: Vec<String>,
    /// Unmapped SKUs of counting lines in the window.
    pub unmapped: BTreeMap<Option<String>, Unmapped>,
}

impl Demand {
    /// Collects demand in one pass over the window's sales. Each distinct SKU, status and
    /// location gid is resolved once; the pass over the lines only indexes.
    pub fn collect(
        sales: &Sales,
        mapping: &BTreeMap<String, String>,
        catalog: &Catalog<'_>,
        locs: &Locations,
        window: &Window,
    ) -> Demand {
        let keys = locs.keys.len();
        let n_units = catalog.stock.len() * keys;
        let map: FxMap<&str, &str> = {
            let mut m = fx_map(mapping.len());
            for (k, v) in mapping {
                m.insert(k.as_str(), v.as_str());
            }
            m
        };
        // Per distinct SKU: None for a blank one, else what it resolves to.
        let sku_res: Vec<Option<Resolved>> = sales
            .skus()
            .iter()
            .map(|sku| {
                if blank_sku(Some(sku)) {
                    None
                } else if map.is_empty() {
                    Some(catalog.cin7_sku(sku))
                } else {
                    Some(catalog.shopify_sku(sku, &map))
                }
            })
            .collect();
        // Per distinct label: the key of a mapped Shopify location gid, and whether a status counts.
        let label_key: Vec<Option<usize>> =
            sales.labels().iter().map(|g| locs.shopify_key(g)).collect();
        let mut raw: Vec<(u32, u32, i64)> = Vec::with_capacity(sales.line_count());
        let mut lines = vec![0u32; n_units];
        let mut units = vec![0i64; n_units];
        let mut excluded: Vec<(u32, u32)> = Vec::new();
        let mut reasons: Vec<String> = vec![
            "outside_window".to_string(),
            "test".to_string(),
            "cancelled".to_string(),
        ];
        // Reason code of each status label that does not count, made when first seen.
        let mut status_code: FxMap<u32, u32> = fx_map(8);
        let mut unmapped: FxMap<Option<u32>, Unmapped> = fx_map(16);

        for (order, order_lines) in sales.orders() {
            let index = window.index(window.local_day(order.created_at));
            let reason: Option<u32> = match (
                index,
                counts(order.test, order.cancelled, sales.label(order.status)),
            ) {
                (None, _) => Some(0),
                (Some(_), Ok(())) => None,
                (Some(_), Err(NotCounting::Test)) => Some(1),
                (Some(_), Err(NotCounting::Cancelled)) => Some(2),
                (Some(_), Err(NotCounting::FinancialStatus(status))) => {
                    Some(*status_code.entry(order.status).or_insert_with(|| {
                        reasons.push(format!("financial_status {status}"));
                        (reasons.len() - 1) as u32
                    }))
                }
            };
            let key_of =
                |g: Option<u32>| g.and_then(|g| label_key.get(g as usize).copied().flatten());
            let key = locs.attributed_key(key_of(order.fulfillment), key_of(order.retail));
            for l in order_lines {
                if l.is_gift_card {
                    continue;
                }
                let resolved = l
                    .sku
                    .and_then(|i| sku_res.get(i as usize).copied().flatten());
                let Some(resolved) = resolved else {
                    // A blank SKU.
                    if reason.is_none() {
                        let u = unmapped.entry(None).or_default();
                        u.lines += 1;
                        u.units += l.current_quantity;
                    }
                    continue;
                };
                match resolved {
                    Resolved::Unmapped => {
                        if reason.is_none() {
                            let u = unmapped.entry(l.sku).or_default();
                            u.lines += 1;
                            u.units += l.current_quantity;
                        }
                    }
                    Resolved::NotStock => {}
                    Resolved::Stock(p) => {
                        let unit = p * keys + key;
                        match (reason, index) {
                            (None, Some(i)) => {
                                raw.push((unit as u32, i as u32, l.current_quantity));
                                lines[unit] += 1;
                                units[unit] = units[unit].saturating_add(l.current_quantity);
                            }
                            (Some(code), _) => excluded.push((unit as u32, code)),
                            (None, None) => {}
                        }
                    }
                }
            }
        }

        // Counting sort of the entries by unit.
        let mut offsets = vec![0u32; n_units + 1];
        for &(unit, _, _) in &raw {
            offsets[unit as usize + 1] += 1;
        }
        for u in 0..n_units {
            offsets[u + 1] += offsets[u];
        }
        let mut next: Vec<u32> = offsets[..n_units].to_vec();
        let mut entries = vec![(0u32, 0i64); raw.len()];
        for (unit, day, qty) in raw {
            let at = &mut next[unit as usize];
            entries[*at as usize] = (day, qty);
            *at += 1;
        }
        excluded.sort_unstable();

        Demand {
            offsets,
            entries,
            lines,
            units,
            excluded,
            reasons,
            unmapped: unmapped
                .into_iter()
                .map(|(k, v)| (k.map(|i| sales.sku(i).to_string()), v))
                .collect(),
        }
    }

    /// Fills `daily` (length W, zeroed here) with the unit's units per window day.
    pub fn daily_into(&self, unit: usize, daily: &mut [i64]) {
        daily.iter_mut().for_each(|x| *x = 0);
        let (Some(&a), Some(&b)) = (self.offsets.get(unit), self.offsets.get(unit + 1)) else {
            return;
        };
        for &(day, qty) in &self.entries[a as usize..b as usize] {
            if let Some(x) = daily.get_mut(day as usize) {
                *x += qty;
            }
        }
    }

    /// Counting lines of a unit in the window.
    pub fn lines_of(&self, unit: usize) -> u32 {
        self.lines.get(unit).copied().unwrap_or(0)
    }

    /// Units of a unit in the window.
    pub fn units_of(&self, unit: usize) -> i64 {
        self.units.get(unit).copied().unwrap_or(0)
    }

    /// Lines of the unit's SKU (attributed to its location) that did not count, by reason.
    pub fn excluded_of(&self, unit: usize) -> BTreeMap<String, u64> {
        let u = unit as u32;
        let from = self.excluded.partition_point(|&(x, _)| x < u);
        let mut out = BTreeMap::new();
        for &(x, code) in &self.excluded[from..] {
            if x != u {
                break;
            }
            if let Some(label) = self.reasons.get(code as usize) {
                *out.entry(label.clone()).or_insert(0) += 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::*;

    #[test]
    fn order_rules() {
        let base = order("1", "2024-05-10T12:00:00Z", vec![]);
        assert_eq!(order_counts(&base), Ok(()));
        let mut o = base.clone();
        o.test = true;
        assert_eq!(order_counts(&o), Err(NotCounting::Test));
        let mut o = base.clone();
        o.cancelled_at = Some(t("2024-05-11T00:00:00Z"));
        assert_eq!(order_counts(&o), Err(NotCounting::Cancelled));
        for s in ["PARTIALLY_REFUNDED", "REFUNDED", "PAID"] {
            let mut o = base.clone();
            o.financial_status = s.to_string();
            assert_eq!(order_counts(&o), Ok(()), "{s}");
        }
        for s in [
            "PENDING",
            "AUTHORIZED",
            "PARTIALLY_PAID",
            "VOIDED",
            "EXPIRED",
        ] {
            let mut o = base.clone();
            o.financial_status = s.to_string();
            assert_eq!(order_counts(&o), Err(NotCounting::FinancialStatus(s)));
        }
    }

    #[test]
    fn blank_skus() {
        assert!(blank_sku(None));
        assert!(blank_sku(Some("")));
        assert!(blank_sku(Some("  \t")));
        assert!(!blank_sku(Some(" A ")));
    }

    #[test]
    fn window_excludes_today_and_uses_the_shop_timezone() {
        let w = Window::new(d("2024-06-01"), 28, Tz::UTC);
        // T−28 = 2024-05-04 … T−1 = 2024-05-31.
        assert_eq!(w.start, d("2024-05-04"));
        assert_eq!(w.index(d("2024-05-04")), Some(0));
        assert_eq!(w.index(d("2024-05-31")), Some(27));
        assert_eq!(w.index(d("2024-06-01")), None); // today
        assert_eq!(w.index(d("2024-05-03")), None);
        // 23:30 UTC on 2024-05-10 is 01:30 on 2024-05-11 in Berlin (CEST, UTC+2).
        let berlin = Window::new(d("2024-06-01"), 28, Tz::Europe__Berlin);
        assert_eq!(berlin.local_day(t("2024-05-10T23:30:00Z")), d("2024-05-11"));
        // 03:00 UTC is the previous evening in New York (EDT, UTC−4).
        let ny = Window::new(d("2024-06-01"), 28, Tz::America__New_York);
        assert_eq!(ny.local_day(t("2024-05-11T03:00:00Z")), d("2024-05-10"));
        assert_eq!(w.date(27), d("2024-05-31"));
    }
}
