//! Cin7 Core wire shapes (PascalCase JSON, as the API documents them) and their conversion into
//! `core::model` types. Fields Cin7 may omit or send as null default to empty/zero, because the
//! API is inconsistent about it; a field of the wrong type is a decode error naming the field.

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use serde_json::Value;

use crate::core::model::{
    Address, AvailabilityRow, Location, Product, ProductSupplier, Purchase, PurchaseDetail,
    PurchaseLine, Receipt, ReceiptLine, ReorderLevel, Supplier, SupplierOption,
};

/// A number that may be null or absent (→ 0).
fn num<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(0.0))
}

/// Money: a JSON number or numeric string, converted exactly. A JSON number is read as f64 and
/// turned into the shortest decimal that round-trips (what the sender wrote for any price with up
/// to 15 significant digits), so 12.35 stays 12.35 and never becomes 12.3499999….
fn money<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Num(f64),
        Str(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(Decimal::ZERO),
        Some(Raw::Num(f)) => decimal_from_f64(f).ok_or_else(|| {
            serde::de::Error::custom(format!("{f} is not a representable amount of money"))
        }),
        Some(Raw::Str(s)) if s.trim().is_empty() => Ok(Decimal::ZERO),
        Some(Raw::Str(s)) => s
            .trim()
            .parse::<Decimal>()
            .map_err(|e| serde::de::Error::custom(format!("{s:?} is not an amount: {e}"))),
    }
}

pub use crate::core::num::decimal_from_f64;

fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.trim().is_empty()))
}

fn string_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// Cin7 timestamps: `2012-11-14T13:28:33.363` (UTC, no offset), sometimes with `Z` or an offset,
/// sometimes a bare date.
pub fn parse_cin7_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(dt.naive_utc());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(dt);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

fn datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => parse_cin7_datetime(&s)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a date/time"))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LocationDto {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(deserialize_with = "string_or_empty", default)]
    pub name: String,
    #[serde(deserialize_with = "opt_bool", default)]
    pub is_default: bool,
    #[serde(deserialize_with = "opt_bool", default)]
    pub deprecated: bool,
    #[serde(deserialize_with = "opt_bool", default)]
    pub is_deprecated: bool,
    #[serde(rename = "ParentID", deserialize_with = "opt_string", default)]
    pub parent_id: Option<String>,
}

impl From<LocationDto> for Location {
    fn from(d: LocationDto) -> Location {
        Location {
            id: d.id,
            name: d.name,
            is_default: d.is_default,
            deprecated: d.deprecated || d.is_deprecated,
            parent_id: d.parent_id,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AvailabilityDto {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "SKU")]
    pub sku: String,
    #[serde(deserialize_with = "string_or_empty", default)]
    pub location: String,
    #[serde(deserialize_with = "opt_string", default)]
    pub bin: Option<String>,
    #[serde(deserialize_with = "opt_string", default)]
    pub batch: Option<String>,
    #[serde(deserialize_with = "num", default)]
    pub on_hand: f64,
    #[serde(deserialize_with = "num", default)]
    pub allocated: f64,
    #[serde(deserialize_with = "num", default)]
    pub available: f64,
    #[serde(deserialize_with = "num", default)]
    pub on_order: f64,
    #[serde(deserialize_with = "num", default)]
    pub in_transit: f64,
}

impl From<AvailabilityDto> for AvailabilityRow {
    fn from(d: AvailabilityDto) -> AvailabilityRow {
        AvailabilityRow {
            product_id: d.id,
            sku: d.sku,
            location: d.location,
            bin: d.bin,
            batch: d.batch,
            on_hand: d.on_hand,
            allocated: d.allocated,
            available: d.available,
            on_order: d.on_order,
            in_transit: d.in_transit,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProductDto {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "SKU")]
    pub sku: String,
    #[serde(deserialize_with = "string_or_empty", default)]
    pub name: String,
    #[serde(deserialize_with = "string_or_empty", default)]
    pub r#type: String,
    #[serde(deserialize_with = "string_or_empty", default)]
    pub status: String,
    #[serde(rename = "UOM", deserialize_with = "opt_string", default)]
    pub uom: Option<String>,
    #[serde(deserialize_with = "num", default)]
    pub carton_quantity: f64,
    #[serde(deserialize_with = "num", default)]
    pub minimum_before_reorder: f64,
    #[serde(deserialize_with = "num", default)]
    pub reorder_quantity: f64,
    #[serde(deserialize_with = "opt_string", default)]
    pub purchase_tax_rule: Option<String>,
    #[serde(rename = "PriceTier1", deserialize_with = "money", default)]
    pub price_tier1: Decimal,
    #[serde(default)]
    pub suppliers: Option<Vec<ProductSupplierDto>>,
    #[serde(default)]
    pub reorder_levels: Option<Vec<ReorderLevelDto>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProductSupplierDto {
    #[serde(rename = "SupplierID")]
    pub supplier_id: String,
    #[serde(deserialize_with = "string_or_empty", default)]
    pub supplier_name: String,
    #[serde(deserialize_with = "opt_string", default)]
    pub supplier_inventory_code: Option<String>,
    #[serde(deserialize_with = "opt_string", default)]
    pub supplier_product_name: Option<String>,
    #[serde(deserialize_with = "money", default)]
    pub cost: Decimal,
    #[serde(deserialize_with = "opt_string", default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub product_supplier_options: Option<Vec<SupplierOptionDto>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SupplierOptionDto {
    #[serde(rename = "LocationID", deserialize_with = "opt_string", default)]
    pub location_id: Option<String>,
    #[serde(deserialize_with = "opt_string", default)]
    pub location_name: Option<String>,
    #[serde(deserialize_with = "num", default)]
    pub lead: f64,
    #[serde(deserialize_with = "num", default)]
    pub safety: f64,
    #[serde(deserialize_with = "num", default)]
    pub minimum_to_reorder: f64,
    #[serde(deserialize_with = "num", default)]
    pub reorder_quantity: f64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReorderLevelDto {
    #[serde(rename = "LocationID", deserialize_with = "opt_string", default)]
    pub location_id: Option<String>,
    #[serde(deserialize_with = "opt_string", default)]
    pub location_name: Option<String>,
    #[serde(deserialize_with = "num", default)]
    pub minimum_before_reorder: f64,
    #[serde(deserialize_with = "num", default)]
    pub reorder_quantity: f64,
}

impl From<ProductDto> for Product {
    fn from(d: ProductDto) -> Product {
        Product {
            id: d.id,
            sku: d.sku,
            name: d.name,
            product_type: d.r#type,
            status: d.status,
            uom: d.uom,
            carton_quantity: d.carton_quantity,
            minimum_before_reorder: d.minimum_before_reorder,
            reorder_quantity: d.reorder_quantity,
            purchase_tax_rule: d.purchase_tax_rule,
            price: (d.price_tier1 > Decimal::ZERO).then_some(d.price_tier1),
            suppliers: d
                .suppliers
                .unwrap_or_default()
                .into_iter()
                .map(|s| ProductSupplier {
                    supplier_id: s.supplier_id,
                    supplier_name: s.supplier_name,
                    supplier_sku: s.supplier_inventory_code,
                    supplier_product_name: s.supplier_product_name,
                    cost: s.cost,
                    currency: s.currency,
                    options: s
                        .product_supplier_options
                        .unwrap_or_default()
                        .into_iter()
                        .map(|o| SupplierOption {
                            location_id: o.location_id,
                            location_name: o.location_name,
                            lead: o.lead,
                            safety: o.safety,
                            minimum_to_reorder: o.minimum_to_reorder,
                            reorder_quantity: o.reorder_quantity,
                        })
                        .collect(),
                })
                .collect(),
            reorder_levels: d
                .reorder_levels
                .unwrap_or_default()
                .into_iter()
                .map(|r| ReorderLevel {
                    location_id: r.location_id,
                    location_name: r.location_name,
                    minimum_before_reorder: r.minimum_before_reorder,
                    reorder_quantity: r.reorder_quantity,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SupplierDto {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(deserialize_with = "string_or_empty", default)]
    pub name: String,
    #[serde(deserialize_with = "opt_string", default)]
    pub currency: Option<String>,
    #[serde(deserialize_with = "opt_string", default)]
    pub payment_term: Option<String>,
    #[serde(deserialize_with = "opt_string", default)]
    pub tax_rule: Option<String>,
    #[serde(deserialize_with = "opt_string", default)]
    pub status: Option<String>,
    #[serde(default)]
    pub addresses: Option<Vec<AddressDto>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddressDto {
    #[serde(deserialize_with = "opt_string", default)]
    pub line1: Option<String>,
    #[serde(deserialize_with = "opt_string", default)]
    pub line2: Option<String>,
    #[serde(deserialize_with = "opt_string", default)]
    pub city: Option<String>,
    #[serde(deserialize_with = "opt_string", default)]
    pub state: Option<String>,
    #[serde(deserialize_with = "opt_string", default)]
    pub postcode: Option<String>,
    #[serde(deserialize_with = "opt_string", default)]
    pub country: Option<String>,
    #[serde(deserialize_with = "opt_string", default)]
    pub r#type: Option<String>,
    #[serde(deserialize_with = "opt_bool", default)]
    pub default_for_type: bool,
}

impl From<SupplierDto> for Supplier {
    fn from(d: SupplierDto) -> Supplier {
        Supplier {
            id: d.id,
            name: d.name,
            currency: d.currency,
            payment_term: d.payment_term,
            tax_rule: d.tax_rule,
            status: d.status,
            addresses: d
                .addresses
                .unwrap_or_default()
                .into_iter()
                .map(|a| Address {
                    line1: a.line1,
                    line2: a.line2,
                    city: a.city,
                    state: a.state,
                    postcode: a.postcode,
                    country: a.country,
                    address_type: a.r#type,
                    default_for_type: a.default_for_type,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PurchaseListDto {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(deserialize_with = "string_or_empty", default)]
    pub order_number: String,
    #[serde(deserialize_with = "string_or_empty", default)]
    pub status: String,
    #[serde(deserialize_with = "opt_string", default)]
    pub order_status: Option<String>,
    #[serde(deserialize_with = "opt_string", default)]
    pub supplier: Option<String>,
    #[serde(rename = "SupplierID", deserialize_with = "opt_string", default)]
    pub supplier_id: Option<String>,
    #[serde(deserialize_with = "datetime", default)]
    pub required_by: Option<NaiveDateTime>,
    #[serde(deserialize_with = "datetime", default)]
    pub last_updated_date: Option<NaiveDateTime>,
}

impl From<PurchaseListDto> for Purchase {
    fn from(d: PurchaseListDto) -> Purchase {
        Purchase {
            id: d.id,
            order_number: d.order_number,
            status: d.status,
            order_status: d.order_status,
            supplier_id: d.supplier_id,
            supplier: d.supplier,
            required_by: d.required_by.map(|t| t.date()),
            last_updated: d.last_updated_date,
            detail: None,
        }
    }
}

/// `GET purchase?ID=`: what the warehouse received (`StockReceived`), for the nightly audit.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PurchaseReceiptDto {
    #[serde(deserialize_with = "opt_string", default)]
    pub location: Option<String>,
    #[serde(default)]
    pub stock_received: Option<StockReceivedField>,
}

/// `StockReceived`: one receipt task on a simple purchase; a list of them on a purchase received
/// in several goes.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StockReceivedField {
    One(StockReceivedDto),
    Many(Vec<StockReceivedDto>),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StockReceivedDto {
    /// The receipt task's status: `DRAFT`, `AUTHORISED`, `VOIDED`, `NOT AVAILABLE`.
    #[serde(deserialize_with = "opt_string", default)]
    pub status: Option<String>,
    #[serde(default)]
    pub lines: Option<Vec<ReceivedLineDto>>,
}

impl PurchaseReceiptDto {
    /// Each receipt with its status; a line without a location is at the purchase's.
    pub fn into_receipts(self) -> Vec<Receipt> {
        let location = self.location.unwrap_or_default();
        let tasks = match self.stock_received {
            None => Vec::new(),
            Some(StockReceivedField::One(r)) => vec![r],
            Some(StockReceivedField::Many(v)) => v,
        };
        tasks
            .into_iter()
            .map(|r| Receipt {
                status: r.status,
                lines: r
                    .lines
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| ReceiptLine {
                        sku: l.sku,
                        location: l.location.unwrap_or_else(|| location.clone()),
                        quantity: l.quantity,
                    })
                    .collect(),
            })
            .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceivedLineDto {
    #[serde(rename = "SKU", deserialize_with = "string_or_empty", default)]
    pub sku: String,
    #[serde(deserialize_with = "num", default)]
    pub quantity: f64,
    /// Per line when the receipt split locations; else the purchase's.
    #[serde(deserialize_with = "opt_string", default)]
    pub location: Option<String>,
}

/// `GET purchase?ID=`: the fields of the detail the tool reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PurchaseDetailDto {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(deserialize_with = "opt_string", default)]
    pub location: Option<String>,
    #[serde(deserialize_with = "opt_string", default)]
    pub note: Option<String>,
    #[serde(deserialize_with = "opt_string", default)]
    pub status: Option<String>,
    #[serde(deserialize_with = "datetime", default)]
    pub last_updated_date: Option<NaiveDateTime>,
    #[serde(default)]
    pub order: Option<PurchaseOrderDto>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PurchaseOrderDto {
    #[serde(deserialize_with = "opt_string", default)]
    pub status: Option<String>,
    #[serde(default)]
    pub lines: Option<Vec<PurchaseLineDto>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PurchaseLineDto {
    #[serde(rename = "ProductID", deserialize_with = "opt_string", default)]
    pub product_id: Option<String>,
    #[serde(rename = "SKU", deserialize_with = "string_or_empty", default)]
    pub sku: String,
    #[serde(deserialize_with = "opt_string", default)]
    pub name: Option<String>,
    #[serde(deserialize_with = "num", default)]
    pub quantity: f64,
    #[serde(deserialize_with = "money", default)]
    pub price: Decimal,
    #[serde(deserialize_with = "money", default)]
    pub total: Decimal,
    #[serde(rename = "SupplierSKU", deserialize_with = "opt_string", default)]
    pub supplier_sku: Option<String>,
}

impl From<PurchaseDetailDto> for PurchaseDetail {
    fn from(d: PurchaseDetailDto) -> PurchaseDetail {
        let order = d.order;
        PurchaseDetail {
            location: d.location,
            note: d.note,
            order_status: order.as_ref().and_then(|o| o.status.clone()),
            lines: order
                .and_then(|o| o.lines)
                .unwrap_or_default()
                .into_iter()
                .map(|l| PurchaseLine {
                    product_id: l.product_id,
                    sku: l.sku,
                    name: l.name,
                    quantity: l.quantity,
                    price: l.price,
                    total: l.total,
                    supplier_sku: l.supplier_sku,
                })
                .collect(),
        }
    }
}

/// An exact decimal as a JSON number (Cin7 wants numbers, not strings): a whole number as an
/// integer, anything else as the f64 whose shortest representation is the decimal's own digits
/// (exact up to 15 significant digits, far more than any quantity or price sent here has).
fn json_number<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    let n = d.normalize();
    if n.scale() == 0
        && let Some(i) = n.to_i64()
    {
        return s.serialize_i64(i);
    }
    let f: f64 = n
        .to_string()
        .parse()
        .map_err(|e| serde::ser::Error::custom(format!("{n} as a JSON number: {e}")))?;
    s.serialize_f64(f)
}

/// `POST purchase`: the header of a new Simple Purchase. Absent options are left out, so Cin7
/// applies the supplier's defaults.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PurchasePostDto<'a> {
    #[serde(rename = "SupplierID")]
    pub supplier_id: &'a str,
    pub location: &'a str,
    pub approach: &'a str,
    /// `yyyy-MM-ddT00:00:00`.
    pub required_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_rule: Option<&'a str>,
    pub currency_rate: f64,
    pub note: &'a str,
}

/// What the tool reads from the `POST purchase` answer (the full purchase).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatedPurchaseDto {
    #[serde(rename = "ID")]
    pub id: String,
    pub order_number: String,
}

/// `POST purchase/order`: the order task (lines) of a purchase.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PurchaseOrderPostDto<'a> {
    #[serde(rename = "TaskID")]
    pub task_id: &'a str,
    pub combine_additional_charges: bool,
    pub memo: &'a str,
    /// `DRAFT` or `AUTHORISED`.
    pub status: &'a str,
    pub lines: Vec<PurchaseOrderLinePostDto<'a>>,
    /// Always empty: the tool adds no freight or other charges.
    pub additional_charges: Vec<Value>,
}

/// One line of `POST purchase/order`. Numbers go out as JSON numbers; `Total` must equal
/// Quantity × Price × (1 − Discount/100) + Tax, which Cin7 validates.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PurchaseOrderLinePostDto<'a> {
    #[serde(rename = "ProductID")]
    pub product_id: &'a str,
    #[serde(rename = "SKU")]
    pub sku: &'a str,
    pub name: &'a str,
    #[serde(serialize_with = "json_number")]
    pub quantity: Decimal,
    #[serde(serialize_with = "json_number")]
    pub price: Decimal,
    #[serde(serialize_with = "json_number")]
    pub discount: Decimal,
    #[serde(serialize_with = "json_number")]
    pub tax: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_rule: Option<&'a str>,
    #[serde(rename = "SupplierSKU", skip_serializing_if = "Option::is_none")]
    pub supplier_sku: Option<&'a str>,
    #[serde(serialize_with = "json_number")]
    pub total: Decimal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_from_numbers_is_exact_and_strings_accepted() {
        #[derive(Deserialize)]
        struct M {
            #[serde(deserialize_with = "money")]
            v: Decimal,
        }
        let m: M = serde_json::from_str(r#"{"v": 12.35}"#).unwrap();
        assert_eq!(m.v.to_string(), "12.35");
        let m: M = serde_json::from_str(r#"{"v": 0.1}"#).unwrap();
        assert_eq!(m.v.to_string(), "0.1");
        let m: M = serde_json::from_str(r#"{"v": "7.1234"}"#).unwrap();
        assert_eq!(m.v.to_string(), "7.1234");
        let m: M = serde_json::from_str(r#"{"v": null}"#).unwrap();
        assert_eq!(m.v, Decimal::ZERO);
    }

    #[test]
    fn decimals_go_out_as_json_numbers_with_their_own_digits() {
        #[derive(Serialize)]
        struct N {
            #[serde(serialize_with = "json_number")]
            v: Decimal,
        }
        let out = |s: &str| {
            serde_json::to_string(&N {
                v: s.parse().unwrap(),
            })
            .unwrap()
        };
        assert_eq!(out("3"), r#"{"v":3}"#);
        assert_eq!(out("3.000"), r#"{"v":3}"#);
        assert_eq!(out("0"), r#"{"v":0}"#);
        assert_eq!(out("3.02"), r#"{"v":3.02}"#);
        assert_eq!(out("2.3333"), r#"{"v":2.3333}"#);
        assert_eq!(out("16.33"), r#"{"v":16.33}"#);
        assert_eq!(out("1234567.8901"), r#"{"v":1234567.8901}"#);
        assert_eq!(out("-0.1"), r#"{"v":-0.1}"#);
    }

    #[test]
    fn cin7_dates_in_their_several_shapes() {
        let want = NaiveDate::from_ymd_opt(2012, 11, 14)
            .unwrap()
            .and_hms_milli_opt(13, 28, 33, 363)
            .unwrap();
        assert_eq!(parse_cin7_datetime("2012-11-14T13:28:33.363"), Some(want));
        assert_eq!(parse_cin7_datetime("2012-11-14T13:28:33.363Z"), Some(want));
        assert_eq!(
            parse_cin7_datetime("2012-11-14").map(|d| d.date()),
            NaiveDate::from_ymd_opt(2012, 11, 14)
        );
        assert_eq!(parse_cin7_datetime("not a date"), None);
    }

    #[test]
    fn product_without_a_price_tier_has_no_selling_price() {
        let json = r#"{"ID":"p1","SKU":"A-1","PriceTier1":0}"#;
        let p: Product = serde_json::from_str::<ProductDto>(json).unwrap().into();
        assert_eq!(p.price, None);
    }

    #[test]
    fn product_with_options_and_default_option_converts() {
        let json = r#"{"ID":"p1","SKU":"A-1","Name":"Apple","Type":"Stock","Status":"Active",
            "CartonQuantity":12,"MinimumBeforeReorder":null,"PriceTier1":24.95,
            "Suppliers":[{"SupplierID":"s1","SupplierName":"Acme","Cost":3.3,"SupplierInventoryCode":"AC-1",
              "ProductSupplierOptions":[{"LocationID":"00000000-0000-0000-0000-000000000000","LocationName":"","Lead":10,"Safety":2,"MinimumToReorder":24}]}],
            "ReorderLevels":[{"LocationID":"l1","LocationName":"Main","MinimumBeforeReorder":5,"ReorderQuantity":20}]}"#;
        let p: Product = serde_json::from_str::<ProductDto>(json).unwrap().into();
        assert_eq!(p.carton_quantity, 12.0);
        assert_eq!(p.price.map(|d| d.to_string()), Some("24.95".into()));
        assert_eq!(p.minimum_before_reorder, 0.0);
        assert_eq!(p.suppliers[0].cost.to_string(), "3.3");
        assert_eq!(p.suppliers[0].options[0].lead, 10.0);
        assert_eq!(
            p.suppliers[0].options[0].location_name, None,
            "empty name is none"
        );
        assert_eq!(p.reorder_levels[0].reorder_quantity, 20.0);
    }
}
