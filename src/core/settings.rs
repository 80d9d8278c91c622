//! The planning settings: `[policy]`, `[locations]`, and the per-SKU and per-supplier overrides,
//! as the planner reads them (docs/planning.md).
//!
//! They belong to the core because the planning arithmetic is defined in their terms; the
//! `config` module builds them from the TOML file (with every range and cross-field check done
//! there) and re-exports them, so `config::Policy` and `core::settings::Policy` are one type.
//! Plain data: no parsing, no IO, no serde; the core never reaches into `config`.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

/// `[policy]`: the planning knobs (see docs/planning.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub timezone: chrono_tz::Tz,
    pub velocity_window_days: u32,
    pub cover_days: f64,
    pub service_level: f64,
    pub default_lead_time_days: u32,
    pub stockout_adjust: bool,
    pub min_in_stock_days: u32,
    pub use_cin7_reorder_levels: bool,
    pub below_minimum: BelowMinimum,
    pub max_data_age_minutes: u64,
    pub snapshot_retention_days: u32,
    /// Which rules plan (`policy.method`): `classic` (docs/planning.md exactly) or `adaptive`.
    pub method: Method,
    /// Days of sales history the adaptive method's demand models learn from
    /// (`policy.history_days`; the yearly model needs 392 or more).
    pub history_days: u32,
    /// Which demand models the adaptive method may choose (`policy.demand_models`).
    pub demand_models: crate::core::forecast::ModelSet,
    /// The adaptive policy's knobs (see `core::adaptive`): aggregate fill rate to reach, yearly
    /// carrying rate, cost of a PO and of a line.
    pub target_fill_rate: f64,
    pub carrying_rate: f64,
    pub order_cost_po: f64,
    pub order_cost_line: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            timezone: chrono_tz::Tz::UTC,
            velocity_window_days: 28,
            cover_days: 30.0,
            service_level: 0.95,
            default_lead_time_days: 14,
            stockout_adjust: true,
            min_in_stock_days: 7,
            use_cin7_reorder_levels: true,
            below_minimum: BelowMinimum::Hold,
            max_data_age_minutes: 180,
            snapshot_retention_days: 120,
            method: Method::Classic,
            history_days: 120,
            demand_models: crate::core::forecast::ModelSet::all(),
            target_fill_rate: 0.99,
            carrying_rate: 0.25,
            order_cost_po: 40.0,
            order_cost_line: 2.0,
        }
    }
}

impl Policy {
    /// Days of sales history planning reads: the velocity window for `classic`, the longer of
    /// it and `history_days` for `adaptive`. Sync, plan and listen load this much.
    pub fn history_window_days(&self) -> u32 {
        match self.method {
            Method::Classic => self.velocity_window_days,
            Method::Adaptive => self.velocity_window_days.max(self.history_days),
        }
    }
}

/// The planning rules (`policy.method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// docs/planning.md, exactly: flat stockout-adjusted velocity, one service level, a fixed
    /// cover.
    Classic,
    /// Per-unit demand models, allocated service levels and economic order quantities
    /// (`core::adaptive`).
    Adaptive,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Classic => "classic",
            Method::Adaptive => "adaptive",
        }
    }
}

/// What happens to a purchase order below its supplier's minimum order value
/// (`policy.below_minimum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BelowMinimum {
    Hold,
    TopUp,
}

impl BelowMinimum {
    /// The config spelling (`"hold"` / `"top_up"`).
    pub fn as_str(self) -> &'static str {
        match self {
            BelowMinimum::Hold => "hold",
            BelowMinimum::TopUp => "top_up",
        }
    }
}

impl std::fmt::Display for BelowMinimum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[locations]`: the default location, ignored locations, the Shopify → Cin7 mapping and pools.
#[derive(Debug, Clone, Default)]
pub struct LocationSettings {
    pub default: String,
    pub ignore: Vec<String>,
    /// Shopify location gid → Cin7 location name.
    pub shopify: BTreeMap<String, String>,
    /// Key location → member Cin7 locations.
    pub pools: BTreeMap<String, Vec<String>>,
}

/// `[skus."<SKU>"]`: per-SKU overrides (they win over Cin7's values).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SkuOverride {
    pub supplier: Option<String>,
    pub moq: Option<f64>,
    pub pack: Option<f64>,
}

/// `[suppliers."<name>"]`: per-supplier overrides, by Cin7 supplier name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SupplierOverride {
    pub lead_time_days: Option<f64>,
    pub moq: Option<f64>,
    pub min_order_value: Option<Decimal>,
    /// `CurrencyRate` sent on this supplier's purchases (default 1).
    pub currency_rate: Option<f64>,
}
