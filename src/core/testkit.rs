//! Test helpers for the planning core: small builders for model values and a [`Fixture`] that owns
//! everything [`compute`] reads. Compiled for tests only.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::core::model::{
    AvailabilityRow, Location, Order, OrderLine, Product, ProductSupplier, Purchase,
    PurchaseDetail, PurchaseLine, Supplier, SupplierOption,
};
use crate::core::plan::{
    Explain, OwnDraft, Plan, PlanConfig, PlanData, PlanError, PlanLine, Trace, compute,
};
use crate::core::sales::Sales;
use crate::core::settings::{LocationSettings, Policy, SupplierOverride};

pub const ZERO_GUID: &str = "00000000-0000-0000-0000-000000000000";

pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}"))
}

pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A default supplier option (LocationID = zero GUID) with the given lead time.
pub fn opt_default(lead: f64) -> SupplierOption {
    SupplierOption {
        location_id: Some(ZERO_GUID.to_string()),
        location_name: None,
        lead,
        safety: 0.0,
        minimum_to_reorder: 0.0,
        reorder_quantity: 0.0,
    }
}

/// A per-location supplier option.
pub fn opt_at(name: &str, lead: f64) -> SupplierOption {
    SupplierOption {
        location_id: Some(format!("id-{name}")),
        location_name: Some(name.to_string()),
        lead,
        safety: 0.0,
        minimum_to_reorder: 0.0,
        reorder_quantity: 0.0,
    }
}

/// A link to supplier `sup-1` ("Acme") costing 10, default option Lead 10.
pub fn link(supplier_id: &str, name: &str, cost: &str) -> ProductSupplier {
    ProductSupplier {
        supplier_id: supplier_id.to_string(),
        supplier_name: name.to_string(),
        supplier_sku: Some(format!("{name}-code")),
        supplier_product_name: None,
        cost: dec(cost),
        currency: None,
        options: vec![opt_default(10.0)],
    }
}

/// An active Stock product supplied by Acme (`sup-1`) at 10, default option Lead 10.
pub fn product(sku: &str) -> Product {
    Product {
        id: format!("p-{sku}"),
        sku: sku.to_string(),
        name: format!("Name of {sku}"),
        product_type: "Stock".to_string(),
        status: "Active".to_string(),
        uom: None,
        carton_quantity: 0.0,
        minimum_before_reorder: 0.0,
        reorder_quantity: 0.0,
        purchase_tax_rule: None,
        price: None,
        suppliers: vec![link("sup-1", "Acme", "10")],
        reorder_levels: Vec::new(),
    }
}

pub fn supplier(id: &str, name: &str) -> Supplier {
    Supplier {
        id: id.to_string(),
        name: name.to_string(),
        currency: Some("USD".to_string()),
        payment_term: Some("30 days".to_string()),
        tax_rule: Some("Tax on Purchases".to_string()),
        status: Some("Active".to_string()),
        addresses: Vec::new(),
    }
}

pub fn location(name: &str) -> Location {
    Location {
        id: format!("id-{name}"),
        name: name.to_string(),
        is_default: false,
        deprecated: false,
        parent_id: None,
    }
}

pub fn line(sku: &str, qty: i64) -> OrderLine {
    OrderLine {
        id: format!("line-{sku}-{qty}"),
        sku: Some(sku.to_string()),
        variant_id: None,
        quantity: qty,
        current_quantity: qty,
        is_gift_card: false,
    }
}

/// A paid, live order created at `created` (RFC 3339).
pub fn order(id: &str, created: &str, lines: Vec<OrderLine>) -> Order {
    Order {
        id: format!("gid://shopify/Order/{id}"),
        name: Some(format!("#{id}")),
        created_at: t(created),
        updated_at: t(created),
        cancelled_at: None,
        test: false,
        financial_status: "PAID".to_string(),
        retail_location_id: None,
        fulfillment_location_id: None,
        lines,
    }
}

pub fn avail(sku: &str, location: &str, available: f64) -> AvailabilityRow {
    AvailabilityRow {
        product_id: format!("p-{sku}"),
        sku: sku.to_string(),
        location: location.to_string(),
        bin: None,
        batch: None,
        on_hand: available,
        allocated: 0.0,
        available,
        on_order: 0.0,
        in_transit: 0.0,
    }
}

/// An open draft purchase (status ORDERING, order status DRAFT) delivered to `location`.
pub fn draft(id: &str, location: &str, note: &str, lines: &[(&str, f64, &str)]) -> Purchase {
    Purchase {
        id: id.to_string(),
        order_number: format!("PO-{id}"),
        status: "ORDERING".to_string(),
        order_status: Some("DRAFT".to_string()),
        supplier_id: Some("sup-1".to_string()),
        supplier: Some("Acme".to_string()),
        required_by: None,
        last_updated: None,
        detail: Some(PurchaseDetail {
            location: Some(location.to_string()),
            note: Some(note.to_string()),
            order_status: Some("DRAFT".to_string()),
            lines: lines
                .iter()
                .map(|(sku, q, price)| PurchaseLine {
                    product_id: Some(format!("p-{sku}")),
                    sku: sku.to_string(),
                    name: None,
                    quantity: *q,
                    price: dec(price),
                    total: dec(price) * Decimal::from_f64_retain(*q).unwrap_or_default(),
                    supplier_sku: None,
                })
                .collect(),
        }),
    }
}

/// Everything a plan reads, owned.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub config: PlanConfig,
    pub orders: Vec<Order>,
    pub locations: Vec<Location>,
    pub products: Vec<Product>,
    pub suppliers: Vec<Supplier>,
    pub availability: Vec<AvailabilityRow>,
    pub purchases: Vec<Purchase>,
    pub stockout_days: Vec<(String, String, NaiveDate)>,
    pub snapshot_days: Vec<NaiveDate>,
    pub own_drafts: Vec<OwnDraft>,
    pub snapshot_age_minutes: Option<f64>,
}

impl Fixture {
    /// One location "Main" (the default), supplier Acme (`sup-1`), no products, fresh data.
    pub fn new() -> Fixture {
        Fixture {
            config: PlanConfig {
                policy: Policy::default(),
                locations: LocationSettings {
                    default: "Main".to_string(),
                    ..LocationSettings::default()
                },
                skus: BTreeMap::new(),
                suppliers: BTreeMap::new(),
                mapping: BTreeMap::new(),
                explain: Explain::All,
            },
            orders: Vec::new(),
            locations: vec![location("Main")],
            products: Vec::new(),
            suppliers: vec![supplier("sup-1", "Acme")],
            availability: Vec::new(),
            purchases: Vec::new(),
            stockout_days: Vec::new(),
            snapshot_days: Vec::new(),
            own_drafts: Vec::new(),
            snapshot_age_minutes: Some(10.0),
        }
    }

    pub fn try_plan(&self, as_of: NaiveDate) -> Result<Plan, PlanError> {
        let sales = Sales::from_orders(&self.orders);
        let data = PlanData {
            sales: &sales,
            locations: &self.locations,
            products: &self.products,
            suppliers: &self.suppliers,
            availability: &self.availability,
            purchases: &self.purchases,
            stockout_days: &self.stockout_days,
            snapshot_days: &self.snapshot_days,
            own_drafts: &self.own_drafts,
            snapshot_age_minutes: self.snapshot_age_minutes,
        };
        compute(&self.config, &data, as_of)
    }

    pub fn plan(&self, as_of: NaiveDate) -> Plan {
        self.try_plan(as_of).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Adds `units` sold of `sku` at noon UTC on each of `days`.
    pub fn sell(&mut self, sku: &str, days: &[NaiveDate], units: i64) {
        for day in days {
            let n = self.orders.len();
            let created = format!("{day}T12:00:00Z");
            self.orders
                .push(order(&format!("{n}"), &created, vec![line(sku, units)]));
        }
    }

    /// Adds one sale of `units` of `sku` at noon UTC on `day`.
    pub fn sell_on(&mut self, sku: &str, day: &str, units: i64) {
        self.sell(sku, &[d(day)], units);
    }

    /// Gives `supplier` (by name) a minimum order value of `value`.
    pub fn min_order_value(&mut self, supplier: &str, value: &str) {
        self.config.suppliers.insert(
            supplier.to_string(),
            SupplierOverride {
                min_order_value: Some(dec(value)),
                ..SupplierOverride::default()
            },
        );
    }

    /// Marks (sku, location) out of stock on each of `days`.
    pub fn stockouts(&mut self, sku: &str, location: &str, days: &[NaiveDate]) {
        for &day in days {
            self.stockout(sku, location, day);
        }
    }

    /// Marks (sku, location) out of stock on `day`.
    pub fn stockout(&mut self, sku: &str, location: &str, day: NaiveDate) {
        self.stockout_days
            .push((sku.to_string(), location.to_string(), day));
        if !self.snapshot_days.contains(&day) {
            self.snapshot_days.push(day);
        }
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

/// The line for (sku, location), or a panic naming what is there.
pub fn find<'p>(plan: &'p Plan, sku: &str, location: &str) -> &'p PlanLine {
    plan.lines
        .iter()
        .find(|l| l.sku == sku && l.location == location)
        .unwrap_or_else(|| {
            let have: Vec<(String, String)> = plan
                .lines
                .iter()
                .map(|l| (l.sku.clone(), l.location.clone()))
                .collect();
            panic!("no line for ({sku}, {location}); lines: {have:?}")
        })
}

/// Whole days `from`..=`to` (inclusive).
pub fn days(from: &str, to: &str) -> Vec<NaiveDate> {
    let (a, b) = (d(from), d(to));
    a.iter_days().take_while(|x| *x <= b).collect()
}

/// Asserts two floats agree to 1e-9 (relative for large values).
#[track_caller]
pub fn close(got: f64, want: f64) {
    let tol = 1e-9 * want.abs().max(1.0);
    assert!((got - want).abs() <= tol, "got {got}, want {want}");
}

/// The trace of a plan line (the fixture plans with `Explain::All`).
pub trait Traced {
    fn tr(&self) -> &Trace;
}

impl Traced for PlanLine {
    fn tr(&self) -> &Trace {
        self.trace
            .as_deref()
            .unwrap_or_else(|| panic!("no trace on {} at {}", self.sku, self.location))
    }
}
