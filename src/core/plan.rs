//! The plan: its inputs, its output (the JSON shape of `plan --format json` in docs/planning.md),
//! and the entry point [`compute`] that turns one into the other. Pure: no IO, no clock.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::core::model::{AvailabilityRow, Location, Product, Purchase, Supplier};
use crate::core::sales::Sales;
use crate::core::settings::{LocationSettings, Policy, SkuOverride, SupplierOverride};

/// Everything configured that planning reads.
#[derive(Debug, Clone)]
pub struct PlanConfig {
    pub policy: Policy,
    pub locations: LocationSettings,
    pub skus: BTreeMap<String, SkuOverride>,
    pub suppliers: BTreeMap<String, SupplierOverride>,
    /// The SKU mapping table: Shopify SKU → Cin7 SKU.
    pub mapping: BTreeMap<String, String>,
    /// Which lines carry their [`Trace`].
    pub explain: Explain,
}

/// Which plan lines carry a [`Trace`]: only `plan --explain` reads one, and building it for every
/// line of a 300,000-line plan costs a sixth of the plan's memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Explain {
    #[default]
    None,
    /// The lines of one Cin7 SKU.
    Sku(String),
    All,
}

impl Explain {
    pub fn wants(&self, sku: &str) -> bool {
        match self {
            Explain::None => false,
            Explain::Sku(s) => s == sku,
            Explain::All => true,
        }
    }
}

/// A draft purchase order the tool itself wrote and recorded in its ledger, with the lines as it
/// last wrote them (empty until the drafting issue lands). Used to tell "own untouched" drafts
/// (left out of on_draft; their PO gets status `update`) from drafts a person edited.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnDraft {
    pub purchase_id: String,
    pub supplier_id: String,
    pub location: String,
    /// (SKU, quantity, price) as last written.
    pub lines: Vec<(String, f64, Decimal)>,
}

/// Everything stored that planning reads.
#[derive(Debug, Clone, Copy)]
pub struct PlanData<'a> {
    /// Sales of orders created in (at least) the window's UTC span; others are ignored.
    pub sales: &'a Sales,
    pub locations: &'a [Location],
    /// Products as `GET product` returned them (active ones).
    pub products: &'a [Product],
    pub suppliers: &'a [Supplier],
    /// Latest availability rows (last full sync + later targeted refreshes).
    pub availability: &'a [AvailabilityRow],
    /// Purchases; drafts (status ORDERING / order status DRAFT) carry their detail.
    pub purchases: &'a [Purchase],
    /// (SKU, Cin7 location, day) out of stock all day (see the store's stockout record).
    pub stockout_days: &'a [(String, String, NaiveDate)],
    /// Days on which at least one full snapshot was taken.
    pub snapshot_days: &'a [NaiveDate],
    pub own_drafts: &'a [OwnDraft],
    /// Age in minutes of the newest availability snapshot when the plan runs (`None`: no snapshot).
    pub snapshot_age_minutes: Option<f64>,
}

/// A configuration error only visible against Cin7's data (exit code 2).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    #[error("config: {key}: {message}")]
    Config { key: String, message: String },
}

/// The plan, serialized exactly as docs/planning.md's Output section says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub as_of: NaiveDate,
    pub policy: PolicyEcho,
    pub lines: Vec<PlanLine>,
    pub purchase_orders: Vec<PurchaseOrder>,
    pub issues: Vec<Issue>,
}

/// The effective `[policy]` values, as printed in the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyEcho {
    pub timezone: String,
    pub velocity_window_days: u32,
    pub cover_days: f64,
    pub service_level: f64,
    pub default_lead_time_days: u32,
    pub stockout_adjust: bool,
    pub min_in_stock_days: u32,
    pub use_cin7_reorder_levels: bool,
    pub below_minimum: String,
    pub max_data_age_minutes: u64,
    pub snapshot_retention_days: u32,
    pub method: String,
    pub history_days: u32,
    pub demand_models: Vec<String>,
    pub target_fill_rate: f64,
    pub carrying_rate: f64,
    pub order_cost_po: f64,
    pub order_cost_line: f64,
}

/// The fields of a serialized [`PlanLine`], in the order docs/planning.md lists them (also the CSV
/// header).
pub const LINE_FIELDS: [&str; 29] = [
    "sku",
    "location",
    "supplier_id",
    "supplier",
    "velocity",
    "stddev",
    "in_stock_days",
    "window_days",
    "available",
    "on_order",
    "in_transit",
    "on_draft",
    "position",
    "days_of_cover",
    "position_cover_days",
    "lead_time_days",
    "lead_time_source",
    "safety_stock",
    "reorder_point",
    "target",
    "trigger",
    "raw_qty",
    "moq",
    "pack",
    "order_qty",
    "unit_cost",
    "currency",
    "reasons",
    "flags",
];

/// One planning unit (Cin7 SKU × key location).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PlanLine {
    pub sku: String,
    pub location: String,
    pub supplier_id: Option<String>,
    pub supplier: Option<String>,
    pub velocity: f64,
    pub stddev: f64,
    pub in_stock_days: u32,
    pub window_days: u32,
    pub available: f64,
    pub on_order: f64,
    pub in_transit: f64,
    pub on_draft: f64,
    pub position: f64,
    pub days_of_cover: Option<f64>,
    pub position_cover_days: Option<f64>,
    pub lead_time_days: u32,
    /// `config`, `cin7_location`, `cin7_default` or `policy_default`.
    pub lead_time_source: String,
    pub safety_stock: f64,
    pub reorder_point: f64,
    pub target: f64,
    /// `velocity`, `reorder_level` or `none`.
    pub trigger: String,
    pub raw_qty: f64,
    pub moq: f64,
    pub pack: f64,
    pub order_qty: f64,
    #[serde(serialize_with = "money_opt")]
    pub unit_cost: Option<Decimal>,
    pub currency: Option<String>,
    pub reasons: Vec<String>,
    pub flags: Vec<String>,
    /// What the adaptive method decided for the unit (`policy.method = "adaptive"` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adaptive: Option<Box<AdaptiveLine>>,
    /// Everything `--explain` needs to tell the story in words (not part of the JSON); only on
    /// the lines [`PlanConfig::explain`] asks for.
    #[serde(skip)]
    pub trace: Option<Box<Trace>>,
}

/// The adaptive method's view of one unit (extra JSON fields of a line under
/// `policy.method = "adaptive"`; `velocity` and `stddev` are then the chosen model's forecast per
/// day and the spread of its one-day errors, and `safety_stock` is the reorder point less the
/// lead time's expected demand).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdaptiveLine {
    /// The demand model chosen (`flat`, `holt`, `croston_sba`, `tsb`, `weekday`, `yearly`), or
    /// null when the unit has no in-stock day to learn from.
    pub model: Option<String>,
    /// RMSSE of every model scored on the unit's recent days (below 1: better than "same as
    /// yesterday").
    pub model_scores: BTreeMap<String, f64>,
    /// ABC (share of demand value) and XYZ (lead-time variability) class, e.g. `AX`.
    pub class: String,
    /// Cycle service level the allocation gave the unit, and the fill rate it expects.
    pub service_level: f64,
    pub expected_fill: f64,
    /// Demand over the lead time: mean, spread and the distribution used.
    pub lead_time_demand: f64,
    pub lead_time_sd: f64,
    pub distribution: String,
    /// The order quantity per cycle, and the unbounded EOQ it came from (null without a cost).
    pub cycle_qty: f64,
    pub eoq: Option<f64>,
    /// Cin7's reorder level: `none`, `applied`, or `ignored_no_demand` (the unit never sold
    /// here, so no stock is held for it).
    pub reorder_level_use: String,
}

/// The reasoning behind one line, for `plan --explain`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    /// Counting order lines of this unit's SKU in the window, and their units.
    pub orders_counted: u64,
    pub units_counted: f64,
    /// Order lines of this SKU that did not count, by reason (e.g. `test`, `cancelled`,
    /// `financial_status PENDING`, `gift_card`, `outside_window`), with counts.
    pub excluded: BTreeMap<String, u64>,
    /// Window days dropped as out of stock.
    pub stockout_days: Vec<NaiveDate>,
    /// Whether the in-stock history was too short and all window days were used.
    pub insufficient_in_stock_history: bool,
    /// Where the lead time came from, in words.
    pub lead_time_note: String,
    pub z: f64,
    pub safety_days: f64,
    /// Reorder level (m, r) applied, if any.
    pub reorder_level: Option<(f64, f64)>,
    /// Open draft purchases counted in on_draft: (order number, status, quantity).
    pub drafts: Vec<(String, String, f64)>,
    /// Quantity after ⌈raw⌉ and MOQ (q1), after pack, and added by a top-up.
    pub q1: f64,
    pub after_pack: f64,
    pub topped_up: f64,
    /// Every window day the unit was out of stock (dropped or not).
    pub out_of_stock_days: Vec<NaiveDate>,
    /// Window days without any full snapshot (counted as in stock).
    pub days_without_snapshot: u32,
    /// The pool members whose stock, POs and drafts were summed (the key first).
    pub members: Arc<[String]>,
    /// Why the supplier is missing (`missing_supplier`), or which supplier was chosen and why.
    pub supplier_note: Arc<str>,
    /// Where the reorder level came from: `location`, `product` or `disabled`.
    pub reorder_level_source: &'static str,
    /// The tool's own untouched drafts left out of on_draft (order numbers).
    pub own_drafts_left_out: Vec<String>,
    /// MOQ and pack as configured or read from Cin7, before use.
    pub moq_source: Arc<str>,
    pub pack_source: Arc<str>,
}

/// One draft purchase order per (supplier, key location).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PurchaseOrder {
    pub supplier_id: String,
    pub supplier: String,
    pub location: String,
    pub required_by: NaiveDate,
    pub currency: Option<String>,
    /// `new`, `update` or `hold`.
    pub status: String,
    #[serde(serialize_with = "money")]
    pub total: Decimal,
    pub lines: Vec<PurchaseOrderLine>,
    /// Vendor details from the Cin7 supplier record (extra fields).
    pub payment_term: Option<String>,
    pub tax_rule: Option<String>,
    /// The supplier minimum when one is configured, and why the PO is held.
    #[serde(serialize_with = "money_opt")]
    pub min_order_value: Option<Decimal>,
    pub hold_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PurchaseOrderLine {
    pub sku: String,
    pub product_id: String,
    pub name: String,
    pub quantity: f64,
    #[serde(serialize_with = "money")]
    pub price: Decimal,
    #[serde(serialize_with = "money")]
    pub total: Decimal,
    pub supplier_sku: Option<String>,
}

/// Something a person should know about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Issue {
    /// `unmapped_sku`, `missing_supplier`, `missing_lead_time`, `negative_available`, `stale_data`.
    pub kind: String,
    pub sku: Option<String>,
    pub location: Option<String>,
    pub detail: String,
}

/// Money as a JSON number (docs/planning.md: numbers, not strings).
fn money<S: serde::Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    use rust_decimal::prelude::ToPrimitive;
    s.serialize_f64(value.to_f64().unwrap_or(0.0))
}

pub(crate) fn money_opt<S: serde::Serializer>(
    value: &Option<Decimal>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => money(v, s),
        None => s.serialize_none(),
    }
}

/// Computes the plan for `as_of` (a date in the shop timezone). Every unit is returned; callers
/// filter (`--all`, `--sku`, …) on the result.
///
/// Decisions (planning.md is silent), beyond those written in the modules it calls:
/// - A `missing_supplier` line has supplier_id, supplier, unit_cost and currency null, the policy
///   default lead time, and still an order quantity (reported, never put on a PO).
/// - `days_of_cover` and `position_cover_days` are null when d̄ = 0; so `stockout_before_arrival`
///   is never raised for a unit with no velocity.
/// - `reasons` are listed in the order the rules apply: `insufficient_in_stock_history`,
///   `reorder_level_raised_target`, `raised_to_moq`, `rounded_to_pack`,
///   `topped_up_to_supplier_minimum`. `flags` in the order `stockout_before_arrival`,
///   `negative_available`.
/// - A unit "has demand in the window" when its counting units over all W days (stockout days
///   included) are above 0; the reorder level m that makes a unit appear is the one in force
///   (0 when `use_cin7_reorder_levels` is false).
/// - With no Cin7 locations at all (nothing synced yet) the plan has no lines and no POs, only
///   `stale_data` when due; the location config is checked against Cin7 once there is data.
/// - Output is independent of input order: products are ordered by SKU, locations by name,
///   sums are exact, and every tie is broken by a name or ID.
pub fn compute(
    config: &PlanConfig,
    data: &PlanData<'_>,
    as_of: NaiveDate,
) -> Result<Plan, PlanError> {
    crate::core::planner::run(config, data, as_of)
}
