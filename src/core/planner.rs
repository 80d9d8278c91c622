//! The assembly behind [`crate::core::plan::compute`]: resolve locations and products, take one
//! pass each over orders, availability, purchases and the stockout record, then compute every unit
//! (key location × active Stock product) in output order, group POs and collect issues.
//! Pure: no IO, no clock.
//!
//! Cost: O(orders + order lines + rows + stockout records + units × W). Every per-row lookup is a
//! hash of a SKU or location name into dense indexes; there is no per-unit scan of the inputs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::NaiveDate;

use crate::core::adaptive::{self, Decision, Decisions, ReorderUse, UnitInput};
use crate::core::catalog::Catalog;
use crate::core::demand::{Demand, Window};
use crate::core::drafts::Drafts;
use crate::core::forecast::Forecaster;
use crate::core::issues::{self, Issues};
use crate::core::locations::Locations;
use crate::core::model::{Product, Supplier, SupplierOption};
use crate::core::num::{FxMap, clean, fx_map};
use crate::core::plan::AdaptiveLine;
use crate::core::plan::{Plan, PlanConfig, PlanData, PlanError, PlanLine, PolicyEcho, Trace};
use crate::core::po::{self, PoLineInput, PoRules};
use crate::core::policy::{self, Inputs, LeadSource, ReorderSource, Trigger, reason};
use crate::core::position::Stock;
use crate::core::settings::Method;
use crate::core::settings::SupplierOverride;
use crate::core::stats::inverse_normal_cdf;
use crate::core::velocity::{Stockouts, velocity};

/// The effective `[policy]` echoed in the plan.
pub fn policy_echo(p: &crate::core::settings::Policy) -> PolicyEcho {
    PolicyEcho {
        timezone: p.timezone.name().to_string(),
        velocity_window_days: p.velocity_window_days,
        cover_days: p.cover_days,
        service_level: p.service_level,
        default_lead_time_days: p.default_lead_time_days,
        stockout_adjust: p.stockout_adjust,
        min_in_stock_days: p.min_in_stock_days,
        use_cin7_reorder_levels: p.use_cin7_reorder_levels,
        below_minimum: p.below_minimum.as_str().to_string(),
        max_data_age_minutes: p.max_data_age_minutes,
        snapshot_retention_days: p.snapshot_retention_days,
        method: p.method.as_str().to_string(),
        history_days: p.history_days,
        demand_models: p
            .demand_models
            .names()
            .into_iter()
            .map(str::to_string)
            .collect(),
        target_fill_rate: p.target_fill_rate,
        carrying_rate: p.carrying_rate,
        order_cost_po: p.order_cost_po,
        order_cost_line: p.order_cost_line,
    }
}

fn fmt_qty(x: f64) -> String {
    format!("{}", clean(x))
}

/// What planning needs of a product that does not depend on the location.
struct ProductInfo<'a> {
    choice: Result<policy::SupplierChoice<'a>, String>,
    supplier_override: Option<&'a SupplierOverride>,
    default_option: Option<&'a SupplierOption>,
    currency: Option<String>,
    /// The lead time when no location option applies.
    fallback_lead: policy::LeadTime,
    moq: f64,
    pack: f64,
    moq_source: Arc<str>,
    pack_source: Arc<str>,
    supplier_note: Arc<str>,
}

impl<'a> ProductInfo<'a> {
    fn new(
        product: &'a Product,
        config: &'a PlanConfig,
        suppliers: &FxMap<&str, &'a Supplier>,
    ) -> ProductInfo<'a> {
        let policy_default = config.policy.default_lead_time_days;
        let sku_o = config.skus.get(&product.sku);
        let choice = policy::choose_supplier(product, sku_o, |id| suppliers.get(id).copied());
        let pack = policy::pack(sku_o, product);
        let pack_source = match (sku_o.and_then(|s| s.pack), product.carton_quantity) {
            (Some(x), _) => format!("skus.\"{}\".pack = {x}", product.sku),
            (None, c) if c > 0.0 => format!("Cin7 CartonQuantity {c}"),
            _ => "no pack size (1)".to_string(),
        };
        match choice {
            Ok(c) => {
                let sup_o = config.suppliers.get(&c.record.name);
                let def_opt = policy::default_option(c.link);
                let moq_source = if let Some(x) = sku_o.and_then(|s| s.moq) {
                    format!("skus.\"{}\".moq = {x}", product.sku)
                } else if let Some(x) = sup_o.and_then(|s| s.moq) {
                    format!("suppliers.\"{}\".moq = {x}", c.record.name)
                } else if let Some(x) = def_opt.map(|o| o.minimum_to_reorder) {
                    format!("Cin7 default supplier option MinimumToReorder {x}")
                } else {
                    "no MOQ".to_string()
                };
                let supplier_note = match sku_o.and_then(|s| s.supplier.as_deref()) {
                    Some(name) => format!("{name} (skus.\"{}\".supplier)", product.sku),
                    None => format!("{} (the product's first supplier in Cin7)", c.record.name),
                };
                ProductInfo {
                    fallback_lead: policy::lead_time(
                        &c.record.name,
                        sup_o,
                        None,
                        def_opt,
                        "",
                        policy_default,
                    ),
                    currency: c
                        .record
                        .currency
                        .clone()
                        .or_else(|| c.link.currency.clone()),
                    moq: policy::moq(sku_o, sup_o, def_opt),
                    choice: Ok(c),
                    supplier_override: sup_o,
                    default_option: def_opt,
                    pack,
                    moq_source: moq_source.into(),
                    pack_source: pack_source.into(),
                    supplier_note: supplier_note.into(),
                }
            }
            Err(why) => ProductInfo {
                fallback_lead: policy::LeadTime {
                    days: policy_default,
                    source: LeadSource::PolicyDefault,
                    note: format!(
                        "{policy_default} days from policy.default_lead_time_days: the supplier is missing"
                    ),
                },
                moq_source: match sku_o.and_then(|s| s.moq) {
                    Some(x) => format!("skus.\"{}\".moq = {x}", product.sku).into(),
                    None => "no MOQ (supplier missing)".into(),
                },
                supplier_note: format!("missing: {why}").into(),
                choice: Err(why),
                supplier_override: None,
                default_option: None,
                currency: None,
                moq: policy::moq(sku_o, None, None),
                pack,
                pack_source: pack_source.into(),
            },
        }
    }
}

/// Computes the plan (see [`crate::core::plan::compute`]).
pub fn run(config: &PlanConfig, data: &PlanData<'_>, as_of: NaiveDate) -> Result<Plan, PlanError> {
    let pol = &config.policy;
    let z = inverse_normal_cdf(pol.service_level).ok_or_else(|| PlanError::Config {
        key: "policy.service_level".to_string(),
        message: format!(
            "{} must be strictly between 0 and 1, e.g. 0.95",
            pol.service_level
        ),
    })?;
    if data.locations.is_empty() {
        // Nothing synced from Cin7 yet: nothing to plan, and the location config cannot be
        // checked against Cin7. Only the data-age verdict is reported.
        let mut issues = Issues::default();
        if let Some(detail) =
            issues::stale_data(data.snapshot_age_minutes, pol.max_data_age_minutes)
        {
            issues.add(issues::STALE_DATA, None, None, detail);
        }
        return Ok(Plan {
            as_of,
            policy: policy_echo(pol),
            lines: Vec::new(),
            purchase_orders: Vec::new(),
            issues: issues.into_vec(),
        });
    }
    let locs = Locations::resolve(&config.locations, data.locations)?;
    let catalog = Catalog::new(data.products);
    let adaptive = pol.method == Method::Adaptive;
    // Classic: the velocity window; adaptive: the longer history its models learn from.
    let window = Window::new(as_of, pol.history_window_days(), pol.timezone);
    let demand = Demand::collect(data.sales, &config.mapping, &catalog, &locs, &window);
    let stock = Stock::collect(data.availability, &catalog, &locs);
    let drafts = Drafts::collect(data.purchases, data.own_drafts, &catalog, &locs);
    let stockouts = Stockouts::build(data.stockout_days, &catalog, &locs, &window);

    let mut suppliers: FxMap<&str, &Supplier> = fx_map(data.suppliers.len());
    {
        // Duplicate IDs (should not happen): the first by name wins, whatever the input order.
        let mut sorted: Vec<&Supplier> = data.suppliers.iter().collect();
        sorted.sort_by(|a, b| a.id.cmp(&b.id).then_with(|| a.name.cmp(&b.name)));
        for s in sorted {
            suppliers.entry(s.id.as_str()).or_insert(s);
        }
    }
    let snapshot_days: BTreeSet<NaiveDate> = data
        .snapshot_days
        .iter()
        .copied()
        .filter(|d| window.index(*d).is_some())
        .collect();
    let days_without_snapshot = (window.len() - snapshot_days.len()) as u32;

    let keys = locs.keys.len();
    let w = window.len();

    // Which units appear (one cheap pass), so the output is allocated once.
    let reorder_of = |p: usize, k: usize| {
        policy::reorder_level(catalog.stock[p], &locs.keys[k], pol.use_cin7_reorder_levels)
    };
    let appears = |unit: usize, m: f64| {
        demand.units_of(unit) > 0
            || !stock.available[unit].is_zero()
            || !stock.on_order[unit].is_zero()
            || !stock.in_transit[unit].is_zero()
            || !drafts.on_draft[unit].is_zero()
            || m > 0.0
    };
    let mut count = 0usize;
    let mut product_used = vec![false; catalog.stock.len()];
    for (p, used) in product_used.iter_mut().enumerate() {
        for k in 0..keys {
            if appears(p * keys + k, reorder_of(p, k).0) {
                count += 1;
                *used = true;
            }
        }
    }
    // What depends on the product only, once per product.
    let infos: Vec<Option<ProductInfo<'_>>> = catalog
        .stock
        .iter()
        .zip(&product_used)
        .map(|(product, used)| used.then(|| ProductInfo::new(product, config, &suppliers)))
        .collect();

    let mut daily = vec![0i64; w];
    let mut oos = vec![false; w];
    // Adaptive: every unit's decision first (the service levels are allocated over all of them),
    // in the order the lines are made.
    let decisions = if adaptive {
        Some(adaptive_decisions(
            config,
            &Pass {
                locs: &locs,
                catalog: &catalog,
                demand: &demand,
                stock: &stock,
                drafts: &drafts,
                stockouts: &stockouts,
                window: &window,
                infos: &infos,
                sales: data.sales,
            },
            &appears,
            &reorder_of,
        ))
    } else {
        None
    };
    let mut next_decision = 0usize;
    let mut lines: Vec<PlanLine> = Vec::with_capacity(count);
    let mut po_inputs: Vec<PoLineInput<'_>> = Vec::new();
    let mut po_line_of: Vec<usize> = Vec::new();
    let mut issues = Issues::default();

    for (k, key) in locs.keys.iter().enumerate() {
        let members = &locs.members[k];
        let member_names: Arc<[String]> = locs
            .member_names_of(k)
            .into_iter()
            .map(str::to_string)
            .collect();
        for (p, product) in catalog.stock.iter().enumerate() {
            let unit = p * keys + k;
            let (m, r, rl_source) = reorder_of(p, k);
            if !appears(unit, m) {
                continue;
            }
            let Some(info) = infos[p].as_ref() else {
                continue;
            };
            let units = demand.units_of(unit);

            // Velocity.
            if demand.lines_of(unit) > 0 {
                demand.daily_into(unit, &mut daily);
            } else {
                daily.iter_mut().for_each(|x| *x = 0);
            }
            stockouts.unit_into(p, members, &mut oos);
            let v = velocity(&daily, &oos, pol.stockout_adjust, pol.min_in_stock_days);

            // Supplier terms at this key.
            let (lead, safety_days) = terms(info, key, pol.default_lead_time_days);
            let (moq, pack) = (info.moq, info.pack);

            // Position and quantity.
            let (av, oo, it, od) = (
                stock.available[unit].value(),
                stock.on_order[unit].value(),
                stock.in_transit[unit].value(),
                drafts.on_draft[unit].value(),
            );
            let position = clean(av + oo + it + od);
            let decision = decisions.as_ref().and_then(|d| d.units.get(next_decision));
            next_decision += 1;
            let classic_out = policy::quantity(&Inputs {
                velocity: v.mean,
                stddev: v.stddev,
                position,
                lead_time_days: lead.days,
                safety_days,
                z,
                cover_days: pol.cover_days,
                min_before_reorder: m,
                reorder_quantity: r,
                moq,
                pack,
            });
            let (out, rate, spread) = match decision {
                Some(d) => (
                    policy::Outcome {
                        safety_stock: clean(d.reorder_point - d.lead_demand),
                        reorder_point: d.reorder_point,
                        target: d.target,
                        trigger: d.trigger,
                        raw_qty: d.raw_qty,
                        q1: d.q1,
                        order_qty: d.order_qty,
                        raised_target: d.raised_target,
                        raised_to_moq: d.raised_to_moq,
                        rounded_to_pack: d.rounded_to_pack,
                    },
                    d.rate,
                    d.forecast.as_ref().map_or(0.0, |f| f.sigma_day),
                ),
                None => (classic_out, v.mean, v.stddev),
            };
            let (days_of_cover, position_cover_days) = if rate > 0.0 {
                (Some(clean(av / rate)), Some(clean(position / rate)))
            } else {
                (None, None)
            };

            let mut reasons: Vec<String> = Vec::new();
            if v.insufficient {
                reasons.push(reason::INSUFFICIENT_IN_STOCK_HISTORY.to_string());
            }
            reasons.extend(out.reasons().into_iter().map(str::to_string));
            let mut flags: Vec<String> = Vec::new();
            if days_of_cover.is_some_and(|c| c < f64::from(lead.days)) {
                flags.push("stockout_before_arrival".to_string());
            }
            if av < 0.0 {
                flags.push("negative_available".to_string());
                issues.add(
                    issues::NEGATIVE_AVAILABLE,
                    Some(&product.sku),
                    Some(key),
                    format!(
                        "Available is {} at {key} (summed over {})",
                        fmt_qty(av),
                        member_names.join(", ")
                    ),
                );
            }
            match &info.choice {
                Err(why) => issues.add(
                    issues::MISSING_SUPPLIER,
                    Some(&product.sku),
                    Some(key),
                    format!("PO draft failed: missing supplier data: {why}"),
                ),
                Ok(c) if lead.source == LeadSource::PolicyDefault => issues.add(
                    issues::MISSING_LEAD_TIME,
                    Some(&product.sku),
                    Some(key),
                    format!(
                        "no lead time for {} in config (suppliers.\"{}\".lead_time_days) or in Cin7's supplier options; used policy.default_lead_time_days = {}",
                        c.record.name, c.record.name, pol.default_lead_time_days
                    ),
                ),
                Ok(_) => {}
            }

            let window_dates = |days: &[usize]| -> Vec<NaiveDate> {
                days.iter().map(|&d| window.date(d)).collect()
            };
            let trace = config.explain.wants(&product.sku).then(|| Trace {
                orders_counted: u64::from(demand.lines_of(unit)),
                units_counted: units as f64,
                excluded: demand.excluded_of(unit),
                stockout_days: if v.dropped {
                    window_dates(&v.out_of_stock)
                } else {
                    Vec::new()
                },
                insufficient_in_stock_history: v.insufficient,
                lead_time_note: lead.note,
                z,
                safety_days,
                reorder_level: (m > 0.0).then_some((m, r)),
                drafts: drafts.counted.get(&unit).cloned().unwrap_or_default(),
                q1: out.q1,
                after_pack: out.order_qty,
                topped_up: 0.0,
                out_of_stock_days: window_dates(&v.out_of_stock),
                days_without_snapshot,
                members: member_names.clone(),
                supplier_note: info.supplier_note.clone(),
                reorder_level_source: match rl_source {
                    ReorderSource::Location => "location",
                    ReorderSource::Product => "product",
                    ReorderSource::Disabled => "disabled",
                },
                own_drafts_left_out: drafts.left_out.get(&unit).cloned().unwrap_or_default(),
                moq_source: info.moq_source.clone(),
                pack_source: info.pack_source.clone(),
            });

            let (supplier_id, supplier_name, unit_cost) = match &info.choice {
                Ok(c) => (
                    Some(c.record.id.clone()),
                    Some(c.record.name.clone()),
                    Some(c.link.cost),
                ),
                Err(_) => (None, None, None),
            };
            if let Ok(c) = &info.choice
                && out.order_qty > 0.0
            {
                po_line_of.push(lines.len());
                po_inputs.push(PoLineInput {
                    sku: &product.sku,
                    product_id: &product.id,
                    name: &product.name,
                    supplier_sku: c.link.supplier_sku.as_deref(),
                    supplier_id: &c.record.id,
                    supplier: &c.record.name,
                    location: key,
                    currency: info.currency.as_deref(),
                    payment_term: c.record.payment_term.as_deref(),
                    tax_rule: c.record.tax_rule.as_deref(),
                    price: c.link.cost,
                    quantity: out.order_qty,
                    pack,
                    lead_time_days: lead.days,
                    velocity: rate,
                    position,
                });
            }
            lines.push(PlanLine {
                sku: product.sku.clone(),
                location: key.clone(),
                supplier_id,
                supplier: supplier_name,
                velocity: clean(rate),
                stddev: clean(spread),
                in_stock_days: v.in_stock_days,
                window_days: window.days,
                available: av,
                on_order: oo,
                in_transit: it,
                on_draft: od,
                position,
                days_of_cover,
                position_cover_days,
                lead_time_days: lead.days,
                lead_time_source: lead.source.as_str().to_string(),
                safety_stock: out.safety_stock,
                reorder_point: out.reorder_point,
                target: out.target,
                trigger: out.trigger.as_str().to_string(),
                raw_qty: out.raw_qty,
                moq,
                pack,
                order_qty: out.order_qty,
                unit_cost,
                currency: info.currency.clone(),
                reasons,
                flags,
                adaptive: decision.map(|d| Box::new(adaptive_line(d))),
                trace: trace.map(Box::new),
            });
            debug_assert!(out.trigger != Trigger::None || out.order_qty == 0.0);
        }
    }

    // Purchase orders (and top-ups back into the lines).
    let own_untouched: BTreeSet<(String, String)> = drafts
        .own_untouched
        .iter()
        .filter_map(|(s, k)| locs.keys.get(*k).map(|name| (s.clone(), name.clone())))
        .collect();
    let result = po::build(
        &po_inputs,
        &PoRules {
            below_minimum: pol.below_minimum,
            suppliers: &config.suppliers,
            own_untouched: &own_untouched,
        },
        as_of,
    );
    drop(po_inputs);
    for (n, added) in result.added.iter().enumerate() {
        if *added > 0.0
            && let Some(line) = po_line_of.get(n).and_then(|&l| lines.get_mut(l))
        {
            line.order_qty = clean(line.order_qty + added);
            if let Some(t) = &mut line.trace {
                t.topped_up = *added;
            }
            line.reasons
                .push(reason::TOPPED_UP_TO_SUPPLIER_MINIMUM.to_string());
        }
    }

    // Issues not tied to a line.
    for (sku, u) in &demand.unmapped {
        let detail = match sku {
            Some(s) => format!(
                "Shopify SKU \"{s}\" maps to no active Cin7 product: {} order line(s), {} unit(s) in the window carry no demand",
                u.lines, u.units
            ),
            None => format!(
                "{} order line(s) with a blank SKU in the window ({} unit(s)) were skipped",
                u.lines, u.units
            ),
        };
        issues.add(issues::UNMAPPED_SKU, sku.as_deref(), None, detail);
    }
    if let Some(detail) = issues::stale_data(data.snapshot_age_minutes, pol.max_data_age_minutes) {
        issues.add(issues::STALE_DATA, None, None, detail);
    }

    Ok(Plan {
        as_of,
        policy: policy_echo(pol),
        lines,
        purchase_orders: result.orders,
        issues: issues.into_vec(),
    })
}

/// A unit's lead time and safety days at key `key` (docs/planning.md).
fn terms(info: &ProductInfo<'_>, key: &str, default_lead: u32) -> (policy::LeadTime, f64) {
    match &info.choice {
        Ok(c) => {
            let loc_opt = policy::location_option(c.link, key);
            let configured = info
                .supplier_override
                .is_some_and(|o| o.lead_time_days.is_some());
            // Only a location option's lead time depends on the key.
            let lead = if !configured && loc_opt.is_some_and(|o| o.lead > 0.0) {
                policy::lead_time(
                    &c.record.name,
                    info.supplier_override,
                    loc_opt,
                    info.default_option,
                    key,
                    default_lead,
                )
            } else {
                info.fallback_lead.clone()
            };
            (lead, policy::safety_days(loc_opt, info.default_option))
        }
        Err(_) => (info.fallback_lead.clone(), 0.0),
    }
}

/// What the adaptive pre-pass reads.
struct Pass<'a, 'b> {
    locs: &'a Locations,
    catalog: &'a Catalog<'b>,
    demand: &'a Demand,
    stock: &'a Stock,
    drafts: &'a Drafts,
    stockouts: &'a Stockouts,
    window: &'a Window,
    infos: &'a [Option<ProductInfo<'b>>],
    sales: &'a crate::core::sales::Sales,
}

/// The adaptive decisions of every unit that appears, in line order. Each unit's models learn
/// its window days from the store's first recorded order on (days before it are not zero sales,
/// just not recorded), skipping the days it was out of stock.
fn adaptive_decisions(
    config: &PlanConfig,
    x: &Pass<'_, '_>,
    appears: &dyn Fn(usize, f64) -> bool,
    reorder_of: &dyn Fn(usize, usize) -> (f64, f64, ReorderSource),
) -> Decisions {
    let pol = &config.policy;
    let settings = adaptive::Settings::from_policy(pol);
    let keys = x.locs.keys.len();
    let w = x.window.len();
    let first = x
        .sales
        .orders()
        .filter_map(|(o, _)| x.window.index(x.window.local_day(o.created_at)))
        .min()
        .unwrap_or(0);
    let weekday0 = {
        use chrono::Datelike;
        x.window.date(first).weekday().num_days_from_monday() as usize
    };
    let mut daily = vec![0i64; w];
    let mut oos = vec![false; w];
    let mut inputs: Vec<UnitInput> = Vec::new();
    let mut f = Forecaster::new(settings.params, settings.models, weekday0);
    let mut groups: BTreeMap<(&str, usize), usize> = BTreeMap::new();
    for (k, key) in x.locs.keys.iter().enumerate() {
        let members = &x.locs.members[k];
        for p in 0..x.catalog.stock.len() {
            let unit = p * keys + k;
            let (m, r, _) = reorder_of(p, k);
            if !appears(unit, m) {
                continue;
            }
            let Some(info) = x.infos[p].as_ref() else {
                continue;
            };
            x.demand.daily_into(unit, &mut daily);
            x.stockouts.unit_into(p, members, &mut oos);
            let (lead, _) = terms(info, key, pol.default_lead_time_days);
            f.restart(weekday0, lead.days.max(1) as usize);
            for d in first..w {
                f.push(daily[d] as f64, oos[d]);
            }
            // Only the forecast is kept: a forecaster's history is a few KiB, times every unit.
            let forecast = f.forecast(lead.days.max(1) as usize);
            let position = clean(
                x.stock.available[unit].value()
                    + x.stock.on_order[unit].value()
                    + x.stock.in_transit[unit].value()
                    + x.drafts.on_draft[unit].value(),
            );
            let (cost, group) = match &info.choice {
                Ok(c) => {
                    let n = groups.len();
                    let g = *groups.entry((c.record.id.as_str(), k)).or_insert(n);
                    (decimal_f64(c.link.cost), Some(g))
                }
                Err(_) => (None, None),
            };
            inputs.push(UnitInput {
                forecast,
                lead_time_days: lead.days,
                unit_cost: cost,
                moq: info.moq,
                pack: info.pack,
                position,
                reorder_level: (m > 0.0).then_some((m, r)),
                group,
                sold: x.demand.units_of(unit) > 0,
            });
        }
    }
    adaptive::decide(inputs, &settings, None)
}

fn decimal_f64(d: rust_decimal::Decimal) -> Option<f64> {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64()
}

/// The JSON view of a decision.
fn adaptive_line(d: &Decision) -> AdaptiveLine {
    AdaptiveLine {
        model: d.model().map(|m| m.as_str().to_string()),
        model_scores: d
            .forecast
            .as_ref()
            .map(|f| {
                f.scores
                    .iter()
                    .map(|(m, s)| (m.as_str().to_string(), clean(*s)))
                    .collect()
            })
            .unwrap_or_default(),
        class: d.class(),
        service_level: clean(d.alpha),
        expected_fill: clean(d.expected_fill),
        lead_time_demand: d.lead_demand,
        lead_time_sd: d.lead_sd,
        distribution: d.dist.name().to_string(),
        cycle_qty: d.cycle,
        eoq: d.eoq.map(clean),
        reorder_level_use: match d.reorder_use {
            ReorderUse::None => "none",
            ReorderUse::Applied => "applied",
            ReorderUse::IgnoredNoDemand => "ignored_no_demand",
        }
        .to_string(),
    }
}
