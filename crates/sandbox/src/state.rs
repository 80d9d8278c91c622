//! The sandbox's in-memory world: Cin7 records, Shopify records, the true demand, the clock and the
//! counters the inspection routes report. Plain data plus small bookkeeping helpers; no HTTP here.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::SandboxOptions;
use super::rng::Rng;

/// Cin7's "no location" id, used by default `ProductSupplierOptions`.
pub const ZERO_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// What a Cin7 location is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocKind {
    Warehouse,
    Deprecated,
    Returns,
}

#[derive(Debug, Clone)]
pub struct Cin7Location {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    pub kind: LocKind,
}

#[derive(Debug, Clone)]
pub struct Address {
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    pub country: String,
    pub kind: &'static str,
}

#[derive(Debug, Clone)]
pub struct Contact {
    pub name: String,
    pub phone: String,
    pub email: String,
}

#[derive(Debug, Clone)]
pub struct Supplier {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub payment_term: String,
    pub tax_rule: String,
    pub active: bool,
    pub discount: f64,
    pub comments: String,
    pub last_modified: NaiveDateTime,
    pub addresses: Vec<Address>,
    pub contacts: Vec<Contact>,
}

#[derive(Debug, Clone)]
pub struct SupplierOption {
    pub id: String,
    /// `None` = the default option (all-zero LocationID).
    pub location: Option<u16>,
    /// For the default option: send `LocationName: null` instead of `""`.
    pub null_name: bool,
    pub reorder_quantity: f64,
    pub lead: u32,
    pub safety: u32,
    pub minimum_to_reorder: f64,
}

#[derive(Debug, Clone)]
pub struct ProductSupplier {
    pub supplier: usize,
    pub product_supplier_id: String,
    pub inventory_code: String,
    pub product_name: String,
    pub cost_cents: i64,
    pub fixed_cost_cents: i64,
    pub drop_ship: bool,
    pub last_supplied: Option<NaiveDate>,
    pub options: Vec<SupplierOption>,
}

#[derive(Debug, Clone)]
pub struct ReorderLevel {
    pub location: u16,
    pub minimum_before_reorder: f64,
    pub reorder_quantity: f64,
    pub stock_locator: String,
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub barcode: String,
    pub category: String,
    /// `Stock` or `Service`.
    pub kind: &'static str,
    pub active: bool,
    pub minimum_before_reorder: f64,
    pub reorder_quantity: f64,
    pub average_cost_cents: i64,
    pub price_cents: i64,
    pub carton_quantity: f64,
    pub last_modified: NaiveDateTime,
    pub suppliers: Vec<ProductSupplier>,
    pub reorder_levels: Vec<ReorderLevel>,
    /// The Shopify variant SKU differs from this SKU by case/space/dash.
    pub mismatched: bool,
}

/// One availability row: product × location × bin × batch.
#[derive(Debug, Clone)]
pub struct StockRow {
    pub product: u32,
    pub location: u16,
    pub bin: Option<String>,
    pub batch: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub on_hand: f64,
    pub allocated: f64,
    pub in_transit: f64,
}

#[derive(Debug, Clone)]
pub struct PurchaseLine {
    pub product: u32,
    pub sku: String,
    pub name: String,
    pub quantity: f64,
    pub price: f64,
    pub discount: f64,
    pub tax: f64,
    pub tax_rule: String,
    pub supplier_sku: String,
    pub comment: String,
    pub total: f64,
}

#[derive(Debug, Clone)]
pub struct Purchase {
    pub id: String,
    pub order_number: String,
    pub supplier: usize,
    pub location: u16,
    pub approach: String,
    /// DRAFT, ORDERING, ORDERED, RECEIVING (receipt still a draft), RECEIVED, VOIDED.
    pub status: String,
    /// NOT AVAILABLE, DRAFT, AUTHORISED, VOIDED.
    pub order_status: String,
    pub stock_received_status: String,
    pub invoice_status: String,
    pub required_by: Option<NaiveDateTime>,
    pub order_date: NaiveDateTime,
    pub note: String,
    pub terms: String,
    pub tax_rule: String,
    pub currency_rate: f64,
    pub memo: String,
    pub combine_additional_charges: bool,
    pub last_updated: NaiveDateTime,
    pub lines: Vec<PurchaseLine>,
}

impl Purchase {
    pub fn is_on_order(&self) -> bool {
        // A purchase being received (its receipt still a draft) has not reached the stock yet.
        (self.status == "ORDERED" || self.status == "RECEIVING")
            && self.order_status == "AUTHORISED"
    }
}

/// A Shopify location; `cin7` is the Cin7 location the banner maps it to.
#[derive(Debug, Clone)]
pub struct ShopLocation {
    pub num: u64,
    pub name: String,
    pub active: bool,
    pub cin7: u16,
    pub pos: bool,
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub num: u64,
    pub sku: Option<String>,
    pub title: String,
    pub product_num: u64,
    pub product_title: String,
    pub product_status: &'static str,
    /// The Cin7 product this variant really is (even when its SKU is spelled differently).
    pub product: Option<u32>,
    pub price_cents: i64,
    pub gift_card: bool,
}

/// `displayFinancialStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fin {
    Paid,
    PartiallyRefunded,
    Refunded,
    Pending,
    Authorized,
    PartiallyPaid,
    Voided,
    Expired,
}

impl Fin {
    pub fn as_str(self) -> &'static str {
        match self {
            Fin::Paid => "PAID",
            Fin::PartiallyRefunded => "PARTIALLY_REFUNDED",
            Fin::Refunded => "REFUNDED",
            Fin::Pending => "PENDING",
            Fin::Authorized => "AUTHORIZED",
            Fin::PartiallyPaid => "PARTIALLY_PAID",
            Fin::Voided => "VOIDED",
            Fin::Expired => "EXPIRED",
        }
    }

    /// Whether the planning rules count an order with this status (when not test/cancelled).
    pub fn counts(self) -> bool {
        matches!(self, Fin::Paid | Fin::PartiallyRefunded | Fin::Refunded)
    }
}

#[derive(Debug, Clone)]
pub struct LineItem {
    pub num: u64,
    pub variant: Option<u32>,
    pub sku: Option<String>,
    pub quantity: u32,
    pub current: u32,
    pub gift_card: bool,
    /// The Cin7 product behind the line (for the true-demand bookkeeping).
    pub product: Option<u32>,
    pub price_cents: i64,
}

#[derive(Debug, Clone)]
pub struct FulfillmentOrder {
    pub num: u64,
    /// Index into `World::shop_locations`.
    pub location: u32,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub num: u64,
    pub number: u32,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub cancelled: Option<DateTime<Utc>>,
    pub test: bool,
    pub fin: Fin,
    /// Index into `World::shop_locations`.
    pub retail: Option<u32>,
    /// In the order the API lists them (not always by id).
    pub fos: Vec<FulfillmentOrder>,
    pub lines: Vec<LineItem>,
    /// The Cin7 location the planning rules attribute this order to (with the banner's mapping).
    pub cin7_loc: u16,
}

impl Order {
    pub fn counts(&self) -> bool {
        !self.test && self.cancelled.is_none() && self.fin.counts()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkStatus {
    Created,
    Running,
    Completed,
    /// Ended without a result (`errorCode` says why, e.g. `ACCESS_DENIED`).
    Failed,
}

impl BulkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkStatus::Created => "CREATED",
            BulkStatus::Running => "RUNNING",
            BulkStatus::Completed => "COMPLETED",
            BulkStatus::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct BulkOp {
    pub num: u64,
    pub status: BulkStatus,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub polls: u32,
    pub query: String,
    /// Order ids matched when the operation ran.
    pub orders: Vec<u64>,
    /// Why it will fail (`ACCESS_DENIED` when its query reads what the token may not).
    pub fails_with: Option<&'static str>,
    /// Requests for the result file so far (only the first is cut by `bulk_drop_after`).
    pub downloads: u32,
}

/// A record of one request for a bulk result file (`GET /sandbox/state` lists them).
#[derive(Debug, Clone, serde::Serialize)]
pub struct BulkDownloadRecord {
    /// The file asked for, e.g. `1.jsonl`.
    pub file: String,
    /// The `Range` header as sent, if any.
    pub range: Option<String>,
    /// 200, 206 or 416.
    pub status: u16,
    /// The first byte served.
    pub from: u64,
    /// Bytes this answer was to carry.
    pub bytes: u64,
    /// The whole file's size.
    pub size: u64,
    /// Where the connection was cut (`bulk_drop_after`, first download only).
    pub cut_after: Option<u64>,
}

/// The time profile of a sellable's demand (see [`Sellable::factor`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A flat level.
    Steady,
    /// A flat, tiny level (0.05–0.5 units a day): most days sell nothing.
    Intermittent,
    /// Grows ×[`Sellable::growth`] (2–3.5) every [`TREND_DAYS`].
    Trending,
    /// Declines to [`Sellable::growth`] (0.2–0.4) of its level every [`TREND_DAYS`].
    Fading,
    /// A yearly cycle by calendar day of year.
    Seasonal,
    /// A steady level with 1–3 promotion windows of ×3–6.
    Promoted,
}

impl Shape {
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Steady => "steady",
            Shape::Intermittent => "intermittent",
            Shape::Trending => "trending",
            Shape::Fading => "fading",
            Shape::Seasonal => "seasonal",
            Shape::Promoted => "promoted",
        }
    }
}

/// A promotion: demand × `uplift` on the days `[from, to)` (keys of [`day_key`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Promotion {
    pub from: i32,
    pub to: i32,
    pub uplift: f64,
}

/// One thing that sells in Shopify, with its demand parameters: its weight on a day is
/// `base * factor(day) * loc_factor[warehouse]`, its share of the orders' lines that weight over
/// the sum of all sellables' weights (and the order volume follows that sum, see
/// `orders::weights_for`).
#[derive(Debug, Clone)]
pub struct Sellable {
    pub variant: u32,
    pub product: Option<u32>,
    pub base: f64,
    pub shape: Shape,
    /// Trending and fading: the level's factor over [`TREND_DAYS`] (1 for the other shapes).
    pub growth: f64,
    /// Seasonal: the day of the year (1–365) demand peaks on.
    pub peak_day: u16,
    /// Seasonal: the swing around the level, as a share of it (0 for the other shapes).
    pub amplitude: f64,
    pub promotions: Vec<Promotion>,
    /// Per warehouse multiplier.
    pub loc_factor: Vec<f64>,
    /// Sales stop at this time (deprecated products).
    pub until: Option<DateTime<Utc>>,
}

/// The length of the seasonal cycle in days.
pub const YEAR_DAYS: f64 = 365.25;
/// The days over which a trending or fading product's level changes ×[`Sellable::growth`]: a
/// 120-day history shows the whole factor, a shorter one part of it (no product triples in a
/// month). A trend runs at most this long either side of the history's middle, then levels off,
/// so a long history or a long run of ticks does not grow or shrink a product without bound.
pub const TREND_DAYS: f64 = 120.0;

impl Sellable {
    /// The shape's multiplier of `base` at `t`; `mid` is the middle of the history, where a
    /// trend's factor is 1. The same function of time for the history and for the ticks after it.
    pub fn factor(&self, t: DateTime<Utc>, mid: DateTime<Utc>) -> f64 {
        let mut f = 1.0;
        if self.growth != 1.0 {
            // Geometric: ×growth every TREND_DAYS, for at most TREND_DAYS either side of `mid`.
            let days = (t - mid).num_seconds() as f64 / 86_400.0;
            f *= self.growth.powf((days / TREND_DAYS).clamp(-1.0, 1.0));
        }
        if self.amplitude != 0.0 {
            use chrono::Datelike;
            let phase = f64::from(t.ordinal()) - f64::from(self.peak_day);
            f *= 1.0 + self.amplitude * (std::f64::consts::TAU * phase / YEAR_DAYS).cos();
        }
        let day = day_key(t);
        if let Some(uplift) = self
            .promotions
            .iter()
            .filter(|p| day >= p.from && day < p.to)
            .map(|p| p.uplift)
            .reduce(f64::max)
        {
            f *= uplift;
        }
        f
    }
}

/// A record of one outgoing Shopify webhook delivery.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WebhookRecord {
    pub topic: String,
    pub order_id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub duplicate: bool,
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// The Shopify cost bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub available: f64,
    pub last: Instant,
}

/// Everything the sandbox knows.
pub struct World {
    pub opts: SandboxOptions,
    pub base_url: String,
    /// The sandbox clock.
    pub now: DateTime<Utc>,
    /// `opts.now`: the end of the generated history.
    pub start: DateTime<Utc>,
    pub history_start: DateTime<Utc>,

    pub locations: Vec<Cin7Location>,
    pub warehouses: usize,
    pub suppliers: Vec<Supplier>,
    pub products: Vec<Product>,
    pub stock: Vec<StockRow>,
    pub stock_index: HashMap<(u32, u16), Vec<usize>>,
    pub purchases: Vec<Purchase>,
    pub next_po: u32,

    pub shop_locations: Vec<ShopLocation>,
    pub variants: Vec<Variant>,
    pub gift_variants: Vec<u32>,
    pub sellables: Vec<Sellable>,
    pub stockouts: HashMap<(u32, u16), Vec<(i32, i32)>>,
    pub orders: Vec<Order>,
    pub order_index: HashMap<u64, usize>,
    pub next_order_num: u64,
    pub next_order_name: u32,
    pub next_line_num: u64,
    pub next_fo_num: u64,
    pub order_seq: u64,
    /// True demand (units of counting lines, censored ones included) per (product, location, day).
    pub demand: HashMap<(u32, u16, i32), f64>,
    /// The part of `demand` that was lost to stockouts.
    pub censored: HashMap<(u32, u16, i32), f64>,

    pub bulk_ops: Vec<BulkOp>,
    pub next_bulk: u64,
    pub bulk_downloads: Vec<BulkDownloadRecord>,

    pub rng_orders: Rng,
    pub rng_tick: Rng,
    pub rng_faults: Rng,
    pub rng_webhooks: Rng,

    pub requests: BTreeMap<String, u64>,
    pub throttled_cin7: u64,
    pub throttled_shopify: u64,
    pub faults: u64,
    pub faults_by_kind: BTreeMap<String, u64>,
    pub webhook_deliveries: u64,
    pub webhook_log: Vec<WebhookRecord>,
    pub cin7_window: VecDeque<Instant>,
    pub bucket: Bucket,
}

/// Days since the common era, the key of the demand maps.
pub fn day_key(t: DateTime<Utc>) -> i32 {
    use chrono::Datelike;
    t.date_naive().num_days_from_ce()
}

impl World {
    pub fn count_request(&mut self, key: String) {
        *self.requests.entry(key).or_insert(0) += 1;
    }

    pub fn location_by_name(&self, name: &str) -> Option<usize> {
        self.locations.iter().position(|l| l.name == name)
    }

    pub fn product_by_sku(&self, sku: &str) -> Option<usize> {
        self.products.iter().position(|p| p.sku == sku)
    }

    pub fn purchase_by_id(&self, id: &str) -> Option<usize> {
        self.purchases
            .iter()
            .position(|p| p.id.eq_ignore_ascii_case(id) || p.order_number == id)
    }

    pub fn available(&self, product: u32, location: u16) -> f64 {
        self.stock_index
            .get(&(product, location))
            .map(|rows| {
                rows.iter()
                    .map(|&i| self.stock[i].on_hand - self.stock[i].allocated)
                    .sum()
            })
            .unwrap_or(0.0)
    }

    /// Adds `qty` units to the first row of (product, location), creating it when absent.
    pub fn add_stock(&mut self, product: u32, location: u16, qty: f64) {
        if let Some(&i) = self
            .stock_index
            .get(&(product, location))
            .and_then(|v| v.first())
        {
            self.stock[i].on_hand += qty;
            return;
        }
        self.stock.push(StockRow {
            product,
            location,
            bin: None,
            batch: None,
            expiry: None,
            on_hand: qty,
            allocated: 0.0,
            in_transit: 0.0,
        });
        let idx = self.stock.len() - 1;
        self.stock_index
            .entry((product, location))
            .or_default()
            .push(idx);
    }

    pub fn rebuild_stock_index(&mut self) {
        self.stock_index.clear();
        for (i, r) in self.stock.iter().enumerate() {
            self.stock_index
                .entry((r.product, r.location))
                .or_default()
                .push(i);
        }
    }

    /// Units on AUTHORISED (status ORDERED) purchases, per (product, location).
    pub fn on_order(&self) -> HashMap<(u32, u16), (f64, NaiveDateTime)> {
        let mut m: HashMap<(u32, u16), (f64, NaiveDateTime)> = HashMap::new();
        for p in self.purchases.iter().filter(|p| p.is_on_order()) {
            let when = p.required_by.unwrap_or(p.order_date);
            for l in &p.lines {
                let e = m.entry((l.product, p.location)).or_insert((0.0, when));
                e.0 += l.quantity;
                if when < e.1 {
                    e.1 = when;
                }
            }
        }
        m
    }

    /// The true-demand contribution of an order: (product, location, day) → units.
    pub fn contribution(order: &Order) -> Vec<((u32, u16, i32), f64)> {
        if !order.counts() {
            return Vec::new();
        }
        let day = day_key(order.created);
        order
            .lines
            .iter()
            .filter(|l| !l.gift_card && l.current > 0)
            .filter_map(|l| {
                l.product
                    .map(|p| ((p, order.cin7_loc, day), f64::from(l.current)))
            })
            .collect()
    }

    pub fn add_demand(&mut self, parts: &[((u32, u16, i32), f64)], sign: f64) {
        for (k, v) in parts {
            let e = self.demand.entry(*k).or_insert(0.0);
            *e += sign * v;
            if e.abs() < 1e-9 {
                self.demand.remove(k);
            }
        }
    }

    pub fn is_stocked_out(&self, product: u32, location: u16, day: i32) -> bool {
        self.stockouts
            .get(&(product, location))
            .is_some_and(|v| v.iter().any(|&(a, b)| day >= a && day < b))
    }

    pub fn push_order(&mut self, order: Order) -> usize {
        let parts = World::contribution(&order);
        self.add_demand(&parts, 1.0);
        self.order_index.insert(order.num, self.orders.len());
        self.orders.push(order);
        self.orders.len() - 1
    }

    pub fn shop_location_gid(&self, idx: u32) -> String {
        match self.shop_locations.get(idx as usize) {
            Some(l) => format!("gid://shopify/Location/{}", l.num),
            None => String::new(),
        }
    }
}
