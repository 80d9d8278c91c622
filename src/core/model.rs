//! Domain types shared by the adapters (which produce them), the store (which keeps them) and the
//! planning core (which reads them). They are plain data: no IO, no validation against outside systems.
//!
//! Quantities are `f64` (Cin7 allows 4 decimal places); money is exact `Decimal`; Shopify unit counts
//! are whole numbers (`i64`). Timestamps are UTC.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A Shopify order as the planning rules need it, keyed by its GraphQL gid
/// (`gid://shopify/Order/…`). Both the GraphQL and (later) the webhook path produce this shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub test: bool,
    /// `displayFinancialStatus`, upper case as GraphQL spells it (`PAID`, `PARTIALLY_REFUNDED`, …).
    pub financial_status: String,
    /// `retailLocation.id` (a `gid://shopify/Location/…`), for POS orders.
    pub retail_location_id: Option<String>,
    /// The assigned location of the order's first fulfillment order (smallest numeric id).
    pub fulfillment_location_id: Option<String>,
    pub lines: Vec<OrderLine>,
}

/// One line item of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    pub id: String,
    pub sku: Option<String>,
    pub variant_id: Option<String>,
    pub quantity: i64,
    /// Ordered minus refunded and removed units.
    pub current_quantity: i64,
    pub is_gift_card: bool,
}

/// A Cin7 Core location (`ref/location`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    pub deprecated: bool,
    pub parent_id: Option<String>,
}

/// One row of `ref/productavailability`: product × location (× bin × batch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AvailabilityRow {
    pub product_id: String,
    pub sku: String,
    pub location: String,
    pub bin: Option<String>,
    pub batch: Option<String>,
    pub on_hand: f64,
    pub allocated: f64,
    pub available: f64,
    pub on_order: f64,
    pub in_transit: f64,
}

/// A Cin7 Core product with its supplier links and reorder levels (`GET product`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    pub sku: String,
    pub name: String,
    /// `Type`: `Stock`, `Service`, …
    pub product_type: String,
    /// `Status`: `Active`, `Deprecated`, …
    pub status: String,
    pub uom: Option<String>,
    pub carton_quantity: f64,
    pub minimum_before_reorder: f64,
    pub reorder_quantity: f64,
    pub purchase_tax_rule: Option<String>,
    /// `PriceTier1`: the selling price (None when Cin7 has none or 0), for the backtest's lost
    /// revenue.
    #[serde(default)]
    pub price: Option<Decimal>,
    pub suppliers: Vec<ProductSupplier>,
    pub reorder_levels: Vec<ReorderLevel>,
}

/// A product's link to one supplier (Cin7's Product Supplier Model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductSupplier {
    pub supplier_id: String,
    pub supplier_name: String,
    /// `SupplierInventoryCode`: the supplier's own SKU.
    pub supplier_sku: Option<String>,
    pub supplier_product_name: Option<String>,
    /// Latest purchase cost, in the supplier's currency.
    pub cost: Decimal,
    pub currency: Option<String>,
    pub options: Vec<SupplierOption>,
}

/// `ProductSupplierOptions` entry: per-location (or default, when `location_id` is empty) terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupplierOption {
    pub location_id: Option<String>,
    pub location_name: Option<String>,
    pub lead: f64,
    pub safety: f64,
    pub minimum_to_reorder: f64,
    pub reorder_quantity: f64,
}

/// A per-location reorder level of a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReorderLevel {
    pub location_id: Option<String>,
    pub location_name: Option<String>,
    pub minimum_before_reorder: f64,
    pub reorder_quantity: f64,
}

/// A Cin7 Core supplier (`GET supplier`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Supplier {
    pub id: String,
    pub name: String,
    pub currency: Option<String>,
    pub payment_term: Option<String>,
    pub tax_rule: Option<String>,
    pub status: Option<String>,
    pub addresses: Vec<Address>,
}

/// A supplier address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    /// `Billing`, `Business` or `Shipping`.
    pub address_type: Option<String>,
    pub default_for_type: bool,
}

/// A purchase as `purchaseList` reports it, plus the detail (`GET purchase?ID=`) when fetched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Purchase {
    pub id: String,
    pub order_number: String,
    /// Purchase status: `DRAFT`, `ORDERING`, `ORDERED`, `RECEIVED`, `VOIDED`, …
    pub status: String,
    /// Order task status: `DRAFT`, `AUTHORISED`, `NOT AVAILABLE`, …
    pub order_status: Option<String>,
    pub supplier_id: Option<String>,
    pub supplier: Option<String>,
    pub required_by: Option<NaiveDate>,
    pub last_updated: Option<NaiveDateTime>,
    /// Present once the detail has been fetched.
    pub detail: Option<PurchaseDetail>,
}

/// What only `GET purchase?ID=` tells: delivery location, note and the order lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurchaseDetail {
    pub location: Option<String>,
    pub note: Option<String>,
    pub order_status: Option<String>,
    pub lines: Vec<PurchaseLine>,
}

/// One order line of a purchase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurchaseLine {
    pub product_id: Option<String>,
    pub sku: String,
    pub name: Option<String>,
    pub quantity: f64,
    pub price: Decimal,
    pub total: Decimal,
    pub supplier_sku: Option<String>,
}

/// One stock receipt of a purchase (a `StockReceived` task of `GET purchase?ID=`), for the
/// nightly audit's receipt check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// The receipt task's status: `DRAFT` while the warehouse is still counting, `AUTHORISED`
    /// once the units are in stock, `VOIDED`; `None` when Cin7 did not say.
    pub status: Option<String>,
    pub lines: Vec<ReceiptLine>,
}

/// One received line: units of a SKU at a Cin7 location (a name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptLine {
    pub sku: String,
    pub location: String,
    pub quantity: f64,
}

/// A Shopify product variant (`productVariants`), as the SKU audit reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// `gid://shopify/ProductVariant/…`
    pub id: String,
    /// The SKU verbatim; Shopify allows none, an empty one, or one of spaces.
    pub sku: Option<String>,
    /// The variant's title (`Default Title` for a product without options).
    pub title: String,
    /// The product's title, to find a variant without a SKU.
    pub product_title: String,
    /// The product's status, upper case as GraphQL spells it: `ACTIVE`, `ARCHIVED`, `DRAFT`, …
    pub product_status: String,
    /// The product is a gift card (never a stock item).
    pub gift_card: bool,
}
