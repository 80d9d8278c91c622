//! The replenishment policy of one unit: supplier choice, supplier options, lead time and its
//! source, safety days, MOQ, pack, reorder level; then safety stock, reorder point, target,
//! trigger and the order quantity (⌈raw⌉, MOQ, then pack). Pure arithmetic on plain values.
//!
//! Rules: docs/planning.md, "Supplier, lead time, MOQ, pack, reorder level" and "Position, cover,
//! triggers, quantity".
//!
//! Decisions (planning.md is silent):
//! - `missing_supplier` lines use no supplier data at all: lead time = policy default (source
//!   `policy_default`, no `missing_lead_time` issue), safety days 0, MOQ = `skus."X".moq` or 0
//!   (neither `suppliers."<name>"` overrides nor Cin7 supplier options apply, even when the product
//!   still links to a supplier that `GET supplier` no longer returns). Pack still applies
//!   (`skus."X".pack`, else CartonQuantity). The line still gets an order quantity, reported but
//!   never put on a PO.
//! - `skus."X".supplier` is matched exactly (case-sensitive) against the product's supplier
//!   names; the first match wins. The matched supplier must also be in `GET supplier` (by ID).
//! - `suppliers."<name>"` overrides are looked up by the name in Cin7's supplier record.
//! - A location option is the first `ProductSupplierOptions` entry whose `LocationName` equals the
//!   key; the default option is the first whose `LocationID` is null, empty or an all-zero GUID.
//! - An option `Lead` of 0 (or negative) means "not set" and falls through to the next source; a
//!   fractional lead or config lead time is rounded up with the same 1e-9 tolerance as quantities.
//!   A configured `lead_time_days = 0` is used as 0 (a person set it).
//! - `safety_days` is used as Cin7 gives it (not rounded).
//! - The default option's `MinimumToReorder` is the Cin7 MOQ even when it is 0; a location
//!   option's `MinimumToReorder` is not used (the contract names the default option only).
//! - Negative MOQ/pack values from Cin7 are treated as unset (MOQ 0, pack 1).
//! - Reorder level with m > 0 and r = 0: the target is raised to m (m + 0) when IP ≤ m, so the
//!   order brings the position back to m. A `ReorderLevels` entry for the key with m = 0 (even if
//!   the product-level m > 0) switches the reorder level off for that location.
//! - When the reorder level raises the target, the line gets reason `reorder_level_raised_target`.

use crate::core::model::{Product, ProductSupplier, Supplier, SupplierOption};
use crate::core::num::{ceil_tol, clean};
use crate::core::settings::{SkuOverride, SupplierOverride};

/// Reason codes carried in a line's `reasons`.
pub mod reason {
    pub const INSUFFICIENT_IN_STOCK_HISTORY: &str = "insufficient_in_stock_history";
    pub const REORDER_LEVEL_RAISED_TARGET: &str = "reorder_level_raised_target";
    pub const RAISED_TO_MOQ: &str = "raised_to_moq";
    pub const ROUNDED_TO_PACK: &str = "rounded_to_pack";
    pub const TOPPED_UP_TO_SUPPLIER_MINIMUM: &str = "topped_up_to_supplier_minimum";
}

/// The supplier of a unit, when it resolves.
#[derive(Debug, Clone, Copy)]
pub struct SupplierChoice<'a> {
    /// The product's link to the supplier (cost, options, supplier SKU).
    pub link: &'a ProductSupplier,
    /// Cin7's supplier record (name, currency, terms).
    pub record: &'a Supplier,
}

/// Chooses the supplier of a product: `skus."X".supplier` by name among the product's suppliers,
/// else the first. `Err` holds the `missing_supplier` detail.
pub fn choose_supplier<'a>(
    product: &'a Product,
    sku: Option<&SkuOverride>,
    find_record: impl Fn(&str) -> Option<&'a Supplier>,
) -> Result<SupplierChoice<'a>, String> {
    let link = match sku.and_then(|o| o.supplier.as_deref()) {
        Some(name) => product
            .suppliers
            .iter()
            .find(|s| s.supplier_name == name)
            .ok_or_else(|| {
                format!(
                    "skus.\"{}\".supplier = \"{name}\" is not among the product's suppliers in Cin7",
                    product.sku
                )
            })?,
        None => product
            .suppliers
            .first()
            .ok_or_else(|| "the product has no supplier in Cin7".to_string())?,
    };
    let record = find_record(&link.supplier_id).ok_or_else(|| {
        format!(
            "supplier \"{}\" ({}) has no record in Cin7's supplier list",
            link.supplier_name, link.supplier_id
        )
    })?;
    Ok(SupplierChoice { link, record })
}

/// Whether a `LocationID` marks the default option (null, empty or the all-zero GUID).
pub fn is_default_location_id(id: Option<&str>) -> bool {
    match id.map(str::trim) {
        None | Some("") => true,
        Some(s) => s.chars().all(|c| c == '0' || c == '-') && s.contains('0'),
    }
}

/// The supplier option for the key location (matched by `LocationName`).
pub fn location_option<'a>(link: &'a ProductSupplier, key: &str) -> Option<&'a SupplierOption> {
    link.options
        .iter()
        .find(|o| o.location_name.as_deref() == Some(key))
}

/// The supplier's default option.
pub fn default_option(link: &ProductSupplier) -> Option<&SupplierOption> {
    link.options
        .iter()
        .find(|o| is_default_location_id(o.location_id.as_deref()))
}

/// Where a lead time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadSource {
    Config,
    Cin7Location,
    Cin7Default,
    PolicyDefault,
}

impl LeadSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadSource::Config => "config",
            LeadSource::Cin7Location => "cin7_location",
            LeadSource::Cin7Default => "cin7_default",
            LeadSource::PolicyDefault => "policy_default",
        }
    }
}

/// A lead time in whole days, its source and a note for `--explain`.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadTime {
    pub days: u32,
    pub source: LeadSource,
    pub note: String,
}

fn whole_days(x: f64) -> u32 {
    let c = ceil_tol(x);
    if c <= 0.0 {
        0
    } else if c >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        c as u32
    }
}

/// Lead time: config, else the location option's Lead > 0, else the default option's Lead > 0,
/// else the policy default.
pub fn lead_time(
    supplier_name: &str,
    config: Option<&SupplierOverride>,
    location: Option<&SupplierOption>,
    default: Option<&SupplierOption>,
    key: &str,
    policy_default: u32,
) -> LeadTime {
    if let Some(l) = config.and_then(|c| c.lead_time_days) {
        let days = whole_days(l);
        return LeadTime {
            days,
            source: LeadSource::Config,
            note: format!("{days} days from suppliers.\"{supplier_name}\".lead_time_days = {l}"),
        };
    }
    if let Some(o) = location.filter(|o| o.lead > 0.0) {
        let days = whole_days(o.lead);
        return LeadTime {
            days,
            source: LeadSource::Cin7Location,
            note: format!(
                "{days} days from Cin7: {supplier_name}'s supplier option for {key} (Lead {})",
                o.lead
            ),
        };
    }
    if let Some(o) = default.filter(|o| o.lead > 0.0) {
        let days = whole_days(o.lead);
        return LeadTime {
            days,
            source: LeadSource::Cin7Default,
            note: format!(
                "{days} days from Cin7: {supplier_name}'s default supplier option (Lead {})",
                o.lead
            ),
        };
    }
    LeadTime {
        days: policy_default,
        source: LeadSource::PolicyDefault,
        note: format!(
            "{policy_default} days from policy.default_lead_time_days: no lead time for {supplier_name} in config or Cin7"
        ),
    }
}

/// Safety days: the location option's Safety if > 0, else the default option's if > 0, else 0.
pub fn safety_days(location: Option<&SupplierOption>, default: Option<&SupplierOption>) -> f64 {
    location
        .map(|o| o.safety)
        .filter(|s| *s > 0.0)
        .or_else(|| default.map(|o| o.safety).filter(|s| *s > 0.0))
        .unwrap_or(0.0)
}

/// MOQ (whole units): `skus."X".moq`, else `suppliers."<name>".moq`, else the default option's
/// MinimumToReorder, else 0.
pub fn moq(
    sku: Option<&SkuOverride>,
    supplier: Option<&SupplierOverride>,
    default: Option<&SupplierOption>,
) -> f64 {
    let raw = sku
        .and_then(|o| o.moq)
        .or_else(|| supplier.and_then(|o| o.moq))
        .or_else(|| default.map(|o| o.minimum_to_reorder))
        .unwrap_or(0.0);
    if raw > 0.0 { ceil_tol(raw) } else { 0.0 }
}

/// Pack (whole units, ≥ 1): `skus."X".pack`, else the product's CartonQuantity if > 0, else 1.
pub fn pack(sku: Option<&SkuOverride>, product: &Product) -> f64 {
    let raw = sku
        .and_then(|o| o.pack)
        .or(Some(product.carton_quantity).filter(|c| *c > 0.0))
        .unwrap_or(1.0);
    let p = ceil_tol(raw);
    if p >= 1.0 { p } else { 1.0 }
}

/// Where a reorder level came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReorderSource {
    Location,
    Product,
    Disabled,
}

/// The reorder level (m, r) for the key: the product's `ReorderLevels` entry for the key (even
/// when 0), else the product-level values; (0, 0) when Cin7 reorder levels are not used.
pub fn reorder_level(product: &Product, key: &str, use_cin7: bool) -> (f64, f64, ReorderSource) {
    if !use_cin7 {
        return (0.0, 0.0, ReorderSource::Disabled);
    }
    match product
        .reorder_levels
        .iter()
        .find(|r| r.location_name.as_deref() == Some(key))
    {
        Some(r) => (
            r.minimum_before_reorder,
            r.reorder_quantity,
            ReorderSource::Location,
        ),
        None => (
            product.minimum_before_reorder,
            product.reorder_quantity,
            ReorderSource::Product,
        ),
    }
}

/// What triggered an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Velocity,
    ReorderLevel,
    None,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Velocity => "velocity",
            Trigger::ReorderLevel => "reorder_level",
            Trigger::None => "none",
        }
    }
}

/// Inputs of the quantity arithmetic of one unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inputs {
    /// d̄ and σ.
    pub velocity: f64,
    pub stddev: f64,
    /// IP = A + O + I + D.
    pub position: f64,
    /// L (days), safety days, z, C.
    pub lead_time_days: u32,
    pub safety_days: f64,
    pub z: f64,
    pub cover_days: f64,
    /// Reorder level m and r.
    pub min_before_reorder: f64,
    pub reorder_quantity: f64,
    pub moq: f64,
    pub pack: f64,
}

/// Results of the quantity arithmetic.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub safety_stock: f64,
    pub reorder_point: f64,
    pub target: f64,
    pub trigger: Trigger,
    pub raw_qty: f64,
    /// max(⌈raw⌉, MOQ), or 0 when nothing is ordered.
    pub q1: f64,
    pub order_qty: f64,
    /// Whether the reorder level raised the target, MOQ raised ⌈raw⌉, pack rounding changed q1.
    pub raised_target: bool,
    pub raised_to_moq: bool,
    pub rounded_to_pack: bool,
}

impl Outcome {
    /// The reason codes this outcome adds, in the order they were applied.
    pub fn reasons(&self) -> Vec<&'static str> {
        let mut r = Vec::new();
        if self.raised_target {
            r.push(reason::REORDER_LEVEL_RAISED_TARGET);
        }
        if self.raised_to_moq {
            r.push(reason::RAISED_TO_MOQ);
        }
        if self.rounded_to_pack {
            r.push(reason::ROUNDED_TO_PACK);
        }
        r
    }
}

/// A target after Cin7's reorder level (m, r).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Floor {
    pub target: f64,
    /// The position is at or below m (m > 0).
    pub at_min: bool,
    /// m + r was above the target and replaced it.
    pub raised: bool,
}

/// Cin7's reorder level on a target: with m > 0 and the position at or below m, the target is
/// at least m + r. The rule of both methods (docs/planning.md).
pub fn reorder_floor(target: f64, position: f64, m: f64, r: f64) -> Floor {
    let at_min = m > 0.0 && position <= m;
    let raised = at_min && m + r > target;
    Floor {
        target: if raised { m + r } else { target },
        at_min,
        raised,
    }
}

/// What triggers an order: the method's own rule (`due`) first, else the reorder level.
pub fn trigger(due: bool, at_min: bool) -> Trigger {
    if due {
        Trigger::Velocity
    } else if at_min {
        Trigger::ReorderLevel
    } else {
        Trigger::None
    }
}

/// An order quantity from a raw need, and which adjustments changed it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rounded {
    /// max(⌈raw⌉, MOQ), and that in whole packs (both 0 when `raw` ≤ 0).
    pub q1: f64,
    pub order: f64,
    pub raised_to_moq: bool,
    pub rounded_to_pack: bool,
}

/// ⌈raw⌉ (1e-9 tolerance), raised to the MOQ, then rounded up to whole packs (a pack below 1
/// counts as 1); nothing when `raw` ≤ 0. The one quantity rule of both methods.
pub fn round_order(raw: f64, moq: f64, pack: f64) -> Rounded {
    if raw <= 0.0 {
        return Rounded::default();
    }
    let up = ceil_tol(raw);
    let q1 = up.max(moq);
    let pack = if pack >= 1.0 { pack } else { 1.0 };
    let order = ceil_tol(q1 / pack) * pack;
    Rounded {
        q1,
        order,
        raised_to_moq: q1 > up,
        rounded_to_pack: order != q1,
    }
}

/// SS, ROP, target, trigger and order quantity (docs/planning.md).
pub fn quantity(i: &Inputs) -> Outcome {
    let l = f64::from(i.lead_time_days);
    let d = i.velocity;
    let ss = (i.z * i.stddev * l.sqrt()).max(i.safety_days * d);
    let rop = d * l + ss;
    let floor = reorder_floor(
        d * (l + i.cover_days) + ss,
        i.position,
        i.min_before_reorder,
        i.reorder_quantity,
    );
    let (target, raised_target) = (floor.target, floor.raised);
    let trigger = trigger(d > 0.0 && i.position < rop, floor.at_min);
    let raw = target - i.position;
    let Rounded {
        q1,
        order,
        raised_to_moq,
        rounded_to_pack,
    } = if trigger != Trigger::None {
        round_order(raw, i.moq, i.pack)
    } else {
        Rounded::default()
    };
    Outcome {
        safety_stock: clean(ss),
        reorder_point: clean(rop),
        target: clean(target),
        trigger,
        raw_qty: clean(raw),
        q1: clean(q1),
        order_qty: clean(order),
        raised_target,
        raised_to_moq,
        rounded_to_pack,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::*;

    fn inputs() -> Inputs {
        Inputs {
            velocity: 0.0,
            stddev: 0.0,
            position: 0.0,
            lead_time_days: 10,
            safety_days: 0.0,
            z: 1.644_853_626_951_472_2,
            cover_days: 30.0,
            min_before_reorder: 0.0,
            reorder_quantity: 0.0,
            moq: 0.0,
            pack: 1.0,
        }
    }

    #[test]
    fn moq_then_pack() {
        // d̄ = 0.33, L = 10, C = 30, σ = 0 → SS = 0, ROP = 3.3, S = 0.33·40 = 13.2; IP = 0.
        // raw 13.2 → ⌈⌉ 14 → MOQ 20 → pack 12 → ⌈20/12⌉·12 = 24, both reasons.
        let o = quantity(&Inputs {
            velocity: 0.33,
            moq: 20.0,
            pack: 12.0,
            ..inputs()
        });
        assert_eq!(o.trigger, Trigger::Velocity);
        close(o.raw_qty, 13.2);
        assert_eq!(o.q1, 20.0);
        assert_eq!(o.order_qty, 24.0);
        assert!(o.raised_to_moq && o.rounded_to_pack);
        assert_eq!(o.reasons(), vec!["raised_to_moq", "rounded_to_pack"]);
        // Without MOQ: 14 → pack 12 → 24, only rounded_to_pack.
        let o = quantity(&Inputs {
            velocity: 0.33,
            pack: 12.0,
            ..inputs()
        });
        assert_eq!((o.q1, o.order_qty), (14.0, 24.0));
        assert_eq!(o.reasons(), vec!["rounded_to_pack"]);
        // MOQ below ⌈raw⌉ changes nothing; pack 7 divides 14: no reasons.
        let o = quantity(&Inputs {
            velocity: 0.33,
            moq: 10.0,
            pack: 7.0,
            ..inputs()
        });
        assert_eq!(o.order_qty, 14.0);
        assert!(o.reasons().is_empty());
    }

    #[test]
    fn ceiling_tolerance_in_quantities() {
        // d̄ = 0.1, L = 10, C = 30 → S = 0.1·40 = 4 → order 4.
        let o = quantity(&Inputs {
            velocity: 0.1,
            ..inputs()
        });
        assert_eq!(o.order_qty, 4.0);
        // raw = 4.0000000001 directly: position −0.0000000001 with S = 4 → ⌈⌉ = 4.
        let o = quantity(&Inputs {
            velocity: 0.1,
            position: -0.000_000_000_1,
            ..inputs()
        });
        assert_eq!(o.order_qty, 4.0);
    }

    #[test]
    fn safety_stock_rop_and_target() {
        // d̄ = 2, σ = 3, L = 9, z = 1.6448536…: z·σ·√L = 1.6448536·3·3 = 14.8036826…;
        // safety_days 5 → 5·2 = 10 < 14.80 → SS = 14.8036826…
        // ROP = 2·9 + SS = 32.8036826…; S = 2·(9 + 30) + SS = 92.8036826…
        let z = 1.644_853_626_951_472_2;
        let o = quantity(&Inputs {
            velocity: 2.0,
            stddev: 3.0,
            lead_time_days: 9,
            safety_days: 5.0,
            position: 40.0,
            ..inputs()
        });
        let ss = z * 9.0;
        close(o.safety_stock, ss);
        close(o.reorder_point, 18.0 + ss);
        close(o.target, 78.0 + ss);
        // IP 40 ≥ ROP 32.8 → no trigger, raw still reported: 92.80 − 40.
        assert_eq!(o.trigger, Trigger::None);
        close(o.raw_qty, 78.0 + ss - 40.0);
        assert_eq!(o.order_qty, 0.0);
        // safety days win when larger: 10 days · 2 = 20 > 14.8.
        let o = quantity(&Inputs {
            velocity: 2.0,
            stddev: 3.0,
            lead_time_days: 9,
            safety_days: 10.0,
            ..inputs()
        });
        close(o.safety_stock, 20.0);
    }

    #[test]
    fn reorder_level_raises_target_only_at_or_below_m() {
        // The quantity for (d̄, IP, m, r), L 10, C 30.
        let reorder = |velocity, position, min_before_reorder, reorder_quantity| {
            quantity(&Inputs {
                velocity,
                position,
                min_before_reorder,
                reorder_quantity,
                ..inputs()
            })
        };
        // d̄ = 0 (no sales), m = 10, r = 30, IP = 10 ≤ m → trigger reorder_level,
        // S = max(0, 10 + 30) = 40, raw = 30.
        let o = reorder(0.0, 10.0, 10.0, 30.0);
        assert_eq!(o.trigger, Trigger::ReorderLevel);
        assert_eq!(o.target, 40.0);
        assert_eq!(o.order_qty, 30.0);
        assert!(o.raised_target);
        // IP = 11 > m: no trigger, target stays 0.
        let o = reorder(0.0, 11.0, 10.0, 30.0);
        assert_eq!(o.trigger, Trigger::None);
        assert_eq!(o.target, 0.0);
        // d̄ = 1, L 10, C 30 → S = 40 > m + r = 15: velocity trigger (IP 5 < ROP 10), S unchanged.
        let o = reorder(1.0, 5.0, 10.0, 5.0);
        assert_eq!(o.trigger, Trigger::Velocity);
        assert_eq!(o.target, 40.0);
        assert!(!o.raised_target);
        assert_eq!(o.order_qty, 35.0);
        // m > 0, r = 0, IP = m: S = m, raw 0 → trigger reorder_level but nothing to order.
        let o = reorder(0.0, 10.0, 10.0, 0.0);
        assert_eq!(o.trigger, Trigger::ReorderLevel);
        assert_eq!((o.raw_qty, o.order_qty), (0.0, 0.0));
    }

    #[test]
    fn lead_time_sources_in_order() {
        let cfg = SupplierOverride {
            lead_time_days: Some(20.5),
            ..SupplierOverride::default()
        };
        let loc = opt_at("Main", 7.0);
        let def = opt_default(12.0);
        let l = lead_time("Acme", Some(&cfg), Some(&loc), Some(&def), "Main", 14);
        // Config wins, and 20.5 is rounded up to 21.
        assert_eq!((l.days, l.source), (21, LeadSource::Config));
        let l = lead_time("Acme", None, Some(&loc), Some(&def), "Main", 14);
        assert_eq!((l.days, l.source), (7, LeadSource::Cin7Location));
        // A location option with Lead 0 falls through to the default option.
        let zero = opt_at("Main", 0.0);
        let l = lead_time("Acme", None, Some(&zero), Some(&def), "Main", 14);
        assert_eq!((l.days, l.source), (12, LeadSource::Cin7Default));
        let l = lead_time(
            "Acme",
            None,
            Some(&zero),
            Some(&opt_default(0.0)),
            "Main",
            14,
        );
        assert_eq!((l.days, l.source), (14, LeadSource::PolicyDefault));
        let l = lead_time("Acme", None, None, None, "Main", 14);
        assert_eq!((l.days, l.source), (14, LeadSource::PolicyDefault));
        // A configured 0 is used.
        let cfg0 = SupplierOverride {
            lead_time_days: Some(0.0),
            ..SupplierOverride::default()
        };
        let l = lead_time("Acme", Some(&cfg0), Some(&loc), None, "Main", 14);
        assert_eq!((l.days, l.source), (0, LeadSource::Config));
    }

    #[test]
    fn options_by_key_name_and_default_ids() {
        assert!(is_default_location_id(None));
        assert!(is_default_location_id(Some("")));
        assert!(is_default_location_id(Some(ZERO_GUID)));
        assert!(!is_default_location_id(Some("id-Main")));
        let mut l = link("sup-1", "Acme", "10");
        let mut blank = opt_default(5.0);
        blank.location_id = Some(String::new());
        l.options = vec![opt_at("East", 3.0), blank];
        assert_eq!(location_option(&l, "East").map(|o| o.lead), Some(3.0));
        assert_eq!(location_option(&l, "Main"), None);
        assert_eq!(default_option(&l).map(|o| o.lead), Some(5.0));
    }

    #[test]
    fn safety_moq_pack_sources() {
        let mut loc = opt_at("Main", 7.0);
        let mut def = opt_default(12.0);
        def.safety = 2.0;
        def.minimum_to_reorder = 7.5;
        assert_eq!(safety_days(Some(&loc), Some(&def)), 2.0);
        loc.safety = 3.0;
        assert_eq!(safety_days(Some(&loc), Some(&def)), 3.0);
        assert_eq!(safety_days(None, None), 0.0);

        let sku = SkuOverride {
            moq: Some(6.0),
            pack: Some(2.5),
            supplier: None,
        };
        let sup = SupplierOverride {
            moq: Some(9.0),
            ..SupplierOverride::default()
        };
        assert_eq!(moq(Some(&sku), Some(&sup), Some(&def)), 6.0);
        assert_eq!(moq(None, Some(&sup), Some(&def)), 9.0);
        // Cin7's 7.5 is rounded up to 8.
        assert_eq!(moq(None, None, Some(&def)), 8.0);
        assert_eq!(moq(None, None, None), 0.0);

        let mut p = product("A");
        assert_eq!(pack(None, &p), 1.0);
        p.carton_quantity = 12.0;
        assert_eq!(pack(None, &p), 12.0);
        // Config wins, and 2.5 is rounded up to 3.
        assert_eq!(pack(Some(&sku), &p), 3.0);
    }

    #[test]
    fn supplier_choice() {
        let acme = supplier("sup-1", "Acme");
        let beta = supplier("sup-2", "Beta");
        let records = [acme.clone(), beta.clone()];
        let find = |id: &str| records.iter().find(|s| s.id == id);
        let mut p = product("A");
        p.suppliers.push(link("sup-2", "Beta", "8"));
        // The first supplier by default.
        let c = choose_supplier(&p, None, find).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.record.name, "Acme");
        // skus."A".supplier picks by name.
        let o = SkuOverride {
            supplier: Some("Beta".to_string()),
            ..SkuOverride::default()
        };
        let c = choose_supplier(&p, Some(&o), find).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.record.id, "sup-2");
        // A configured supplier not among the product's suppliers is missing.
        let o = SkuOverride {
            supplier: Some("Gamma".to_string()),
            ..SkuOverride::default()
        };
        assert!(choose_supplier(&p, Some(&o), find).is_err());
        // No supplier record.
        let only_acme = [acme];
        let find2 = |id: &str| only_acme.iter().find(|s| s.id == id);
        let mut q = product("B");
        q.suppliers = vec![link("sup-2", "Beta", "8"), link("sup-1", "Acme", "9")];
        // The first supplier (Beta) has no record: missing, no fall back to Acme.
        assert!(choose_supplier(&q, None, find2).is_err());
        let mut bare = product("C");
        bare.suppliers.clear();
        assert!(choose_supplier(&bare, None, find2).is_err());
    }

    #[test]
    fn reorder_levels_by_key_then_product() {
        let mut p = product("A");
        p.minimum_before_reorder = 5.0;
        p.reorder_quantity = 10.0;
        p.reorder_levels.push(crate::core::model::ReorderLevel {
            location_id: Some("id-East".to_string()),
            location_name: Some("East".to_string()),
            minimum_before_reorder: 0.0,
            reorder_quantity: 0.0,
        });
        assert_eq!(
            reorder_level(&p, "Main", true),
            (5.0, 10.0, ReorderSource::Product)
        );
        // East's own entry applies even though it is 0.
        assert_eq!(
            reorder_level(&p, "East", true),
            (0.0, 0.0, ReorderSource::Location)
        );
        assert_eq!(
            reorder_level(&p, "Main", false),
            (0.0, 0.0, ReorderSource::Disabled)
        );
    }
}
