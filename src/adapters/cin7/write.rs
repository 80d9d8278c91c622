//! The write half of [`Cin7Client`]: a draft purchase order in two calls — `POST purchase` for
//! the header, `POST purchase/order` for the lines — and finding a purchase the tool created by
//! the tag in its `Note` when the answer to `POST purchase` was lost.
//!
//! Cin7 has no idempotency key: `POST purchase` creates a new purchase (a new `OrderNumber`) each
//! time it arrives, so it is never retried. After it fails, [`create_outcome_unknown`] tells
//! whether the purchase may exist anyway, and [`Cin7Client::find_tagged_purchase`] looks for it
//! before anything creates it again. `POST purchase/order` replaces the lines of its purchase, so
//! it is retried like a read. What to order, and remembering what was written, is not decided
//! here (core and app do that).

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::Method;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use serde_json::Value;

use super::{Cin7Client, decode_value, dto};
use crate::adapters::http::{ApiError, ErrorClass};
use crate::core::model::{Purchase, PurchaseDetail, PurchaseLine};

/// The header of a purchase to create (`POST purchase`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewPurchase {
    /// The Cin7 supplier ID (a GUID).
    pub supplier_id: String,
    /// The Cin7 location **name** the goods are delivered to.
    pub location: String,
    /// `INVOICE` (invoice first) or `STOCK` (stock first).
    pub approach: String,
    /// Sent as `yyyy-MM-ddT00:00:00`.
    pub required_by: NaiveDate,
    /// Payment terms; `None` (or blank) leaves Cin7's supplier default.
    pub terms: Option<String>,
    /// Tax rule of the purchase; `None` (or blank) leaves Cin7's supplier default.
    pub tax_rule: Option<String>,
    /// Cin7's `CurrencyRate` for the supplier's currency (1 when it is the base currency); must
    /// be a positive number.
    pub currency_rate: f64,
    /// The note, carrying the tool's tag so the purchase can be found again.
    pub note: String,
}

/// One line of a draft purchase order (`POST purchase/order`).
#[derive(Debug, Clone, PartialEq)]
pub struct DraftLine {
    /// The Cin7 product ID (a GUID).
    pub product_id: String,
    /// The product's SKU in Cin7.
    pub sku: String,
    /// The product name shown on the order line.
    pub name: String,
    /// Units to order; sent rounded to Cin7's 4 decimal places.
    pub quantity: f64,
    /// Price per unit in the supplier's currency; sent rounded to 4 decimal places.
    pub price: Decimal,
    /// The line's tax rule; `None` (or blank) leaves it out.
    pub tax_rule: Option<String>,
    /// The supplier's own SKU; `None` (or blank) leaves it out.
    pub supplier_sku: Option<String>,
}

/// What `POST purchase` answered for a created purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedPurchase {
    /// The purchase ID, which is also the `TaskID` of its order.
    pub id: String,
    /// Cin7's number for it, like `PO-00042`.
    pub order_number: String,
}

/// A purchase found by the tag in its note: its `purchaseList` row and its detail.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedPurchase {
    /// The `purchaseList` row (its `detail` is `None`; [`TaggedPurchase::into_purchase`] fills it).
    pub purchase: Purchase,
    /// `GET purchase?ID=`: location, note, order status and lines.
    pub detail: PurchaseDetail,
}

impl TaggedPurchase {
    /// The purchase ID (the `TaskID` of its order).
    pub fn id(&self) -> &str {
        &self.purchase.id
    }

    /// Cin7's order number, like `PO-00042`.
    pub fn order_number(&self) -> &str {
        &self.purchase.order_number
    }

    /// The purchase status (`DRAFT`, `ORDERING`, `ORDERED`, `VOIDED`, …).
    pub fn status(&self) -> &str {
        &self.purchase.status
    }

    /// The order task status: the detail's, else the list row's (`NOT AVAILABLE`, `DRAFT`, …).
    pub fn order_status(&self) -> Option<&str> {
        self.detail
            .order_status
            .as_deref()
            .or(self.purchase.order_status.as_deref())
    }

    /// The purchase note (it contains the tag that found it).
    pub fn note(&self) -> &str {
        self.detail.note.as_deref().unwrap_or("")
    }

    /// The order lines as Cin7 holds them now.
    pub fn lines(&self) -> &[PurchaseLine] {
        &self.detail.lines
    }

    /// The purchase in the shape sync stores: the list row with its detail filled in.
    pub fn into_purchase(self) -> Purchase {
        Purchase {
            detail: Some(self.detail),
            ..self.purchase
        }
    }
}

/// Whether a `POST purchase` that failed with `e` may nevertheless have created the purchase, so
/// that the caller must look for it ([`Cin7Client::find_tagged_purchase`]) before creating it
/// again. Wrongly answering "no" makes a duplicate purchase order; wrongly answering "yes" costs
/// one look-up. So every doubt answers "yes":
///
/// - [`ErrorClass::Transient`] → true: the request may have reached Cin7 before the connection
///   failed or timed out. (A refused connection certainly sent nothing, but the class does not
///   tell it apart from a timeout or a dropped answer.)
/// - [`ErrorClass::Server`] → true: a 5xx (or an `ErrorCode` ≥ 500) can come after the purchase
///   was written, or from a proxy that had already passed the request on.
/// - [`ErrorClass::Decode`] → true: a 2xx whose body is not the purchase still came from Cin7
///   having processed the request.
/// - [`ErrorClass::Client`] → false: Cin7 rejected the request (4xx or an `ErrorCode` < 500 with
///   its reason, or 403 credentials), or it was refused before being sent.
/// - [`ErrorClass::Throttling`] → false: 429, or Cin7's 503 "calls per minute" text, is the rate
///   limiter refusing the request before it is processed.
///
/// The match is exhaustive, so a new [`ErrorClass`] variant must be decided here to compile.
pub fn create_outcome_unknown(e: &ApiError) -> bool {
    match e.class {
        ErrorClass::Transient | ErrorClass::Server | ErrorClass::Decode => true,
        // Timeouts and conflicts a proxy or the server reports with a 4xx say nothing about
        // whether the purchase was written.
        ErrorClass::Client => matches!(e.status, Some(408 | 409 | 425 | 499)),
        ErrorClass::Throttling => false,
    }
}

pub use crate::core::num::line_total;

/// An optional text, `None` when blank (otherwise sent exactly as the caller wrote it).
fn non_blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.trim().is_empty())
}

/// Encodes a request body; a failure is the caller's data (it was never sent).
fn to_json<T: Serialize>(label: &str, body: &T) -> Result<Value, ApiError> {
    serde_json::to_value(body).map_err(|e| {
        ApiError::new(
            label,
            ErrorClass::Client,
            format!("could not encode the request body: {e}"),
        )
    })
}

/// Candidates in a fixed order: shorter order numbers first, then alphabetical (numeric order for
/// Cin7's `PO-nnnnn`), then by ID.
fn by_order_number(a: &Purchase, b: &Purchase) -> std::cmp::Ordering {
    (a.order_number.len(), &a.order_number, &a.id).cmp(&(
        b.order_number.len(),
        &b.order_number,
        &b.id,
    ))
}

impl Cin7Client {
    /// Creates a purchase header (`POST purchase`) and returns its ID and order number.
    ///
    /// Never retried: each request that reaches Cin7 creates another purchase. When it fails, ask
    /// [`create_outcome_unknown`] whether to look for the purchase before trying again. A
    /// `currency_rate` that is not a positive number is refused before sending (a Client error).
    pub async fn create_purchase(&self, p: &NewPurchase) -> Result<CreatedPurchase, ApiError> {
        const LABEL: &str = "cin7 POST purchase";
        if !(p.currency_rate.is_finite() && p.currency_rate > 0.0) {
            return Err(ApiError::new(
                LABEL,
                ErrorClass::Client,
                format!(
                    "CurrencyRate must be a positive number, got {}",
                    p.currency_rate
                ),
            ));
        }
        let body = to_json(
            LABEL,
            &dto::PurchasePostDto {
                supplier_id: &p.supplier_id,
                location: &p.location,
                approach: &p.approach,
                required_by: p.required_by.format("%Y-%m-%dT00:00:00").to_string(),
                terms: non_blank(&p.terms),
                tax_rule: non_blank(&p.tax_rule),
                currency_rate: p.currency_rate,
                note: &p.note,
            },
        )?;
        let answer = self
            .send(Method::POST, "purchase", &[], Some(&body), false)
            .await?;
        let created: dto::CreatedPurchaseDto =
            decode_value(LABEL, "the created purchase", &answer)?;
        if created.id.trim().is_empty() {
            return Err(ApiError::new(
                LABEL,
                ErrorClass::Decode,
                "the created purchase: field `ID`: empty",
            ));
        }
        Ok(CreatedPurchase {
            id: created.id,
            order_number: created.order_number,
        })
    }

    /// Writes the order lines of purchase `task_id` as a DRAFT (`POST purchase/order`), replacing
    /// whatever lines it had. Retried like a read: writing the same lines twice leaves the same
    /// order.
    ///
    /// Quantity and price go out as JSON numbers rounded to 4 decimal places (half away from
    /// zero); `Total` is their product rounded to 2 places ([`line_total`]), with no discount and
    /// no tax. A line whose quantity is not a finite number, or whose total overflows, is refused
    /// before sending (a Client error naming the line).
    pub async fn write_purchase_order(
        &self,
        task_id: &str,
        lines: &[DraftLine],
    ) -> Result<(), ApiError> {
        const LABEL: &str = "cin7 POST purchase/order";
        let round4 =
            |d: Decimal| d.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
        let mut out = Vec::with_capacity(lines.len());
        for (i, l) in lines.iter().enumerate() {
            let refuse = |what: String| {
                ApiError::new(
                    LABEL,
                    ErrorClass::Client,
                    format!("line {i} (SKU {}): {what}", l.sku),
                )
            };
            let quantity = dto::decimal_from_f64(l.quantity)
                .map(round4)
                .ok_or_else(|| refuse(format!("quantity {} is not a number", l.quantity)))?;
            let price = round4(l.price);
            let total = line_total(quantity, price)
                .ok_or_else(|| refuse(format!("{quantity} × {price} is too large")))?;
            out.push(dto::PurchaseOrderLinePostDto {
                product_id: &l.product_id,
                sku: &l.sku,
                name: &l.name,
                quantity,
                price,
                discount: Decimal::ZERO,
                tax: Decimal::ZERO,
                tax_rule: non_blank(&l.tax_rule),
                supplier_sku: non_blank(&l.supplier_sku),
                total,
            });
        }
        let body = to_json(
            LABEL,
            &dto::PurchaseOrderPostDto {
                task_id,
                combine_additional_charges: false,
                memo: "",
                status: "DRAFT",
                lines: out,
                additional_charges: Vec::new(),
            },
        )?;
        self.send(Method::POST, "purchase/order", &[], Some(&body), true)
            .await?;
        Ok(())
    }

    /// Voids a purchase (`DELETE purchase?ID=&Void=true`): how the tool withdraws an empty
    /// purchase header of its own whose lines Cin7 rejected. Voiding twice is harmless, so it is
    /// retried like a read.
    pub async fn void_purchase(&self, id: &str) -> Result<(), ApiError> {
        self.send(
            Method::DELETE,
            "purchase",
            &[("ID", id.to_string()), ("Void", "true".to_string())],
            None,
            true,
        )
        .await?;
        Ok(())
    }

    /// Finds the purchase of supplier `supplier_id` whose `Note` contains `tag`, among those
    /// updated since `updated_since` — how the tool finds a purchase it created when the answer
    /// to `POST purchase` was lost.
    ///
    /// Pages `purchaseList` with `UpdatedSince` only (not `Search` by supplier name: a supplier
    /// renamed since the create would hide its purchase), keeps the rows whose `SupplierID` equals
    /// `supplier_id` ignoring ASCII case (GUIDs), and reads each one's detail (`GET purchase`), in
    /// order-number order, until a note contains `tag` (case-sensitive). Pass an `updated_since` a
    /// little before the create attempt: Cin7's clock may differ from ours. Candidates come at
    /// one detail request each, paced like any other request. An empty `tag` would match any
    /// purchase and is refused (a Client error).
    pub async fn find_tagged_purchase(
        &self,
        supplier_id: &str,
        supplier_name: &str,
        updated_since: DateTime<Utc>,
        tag: &str,
    ) -> Result<Option<TaggedPurchase>, ApiError> {
        if tag.trim().is_empty() {
            return Err(ApiError::new(
                "cin7 GET purchaseList",
                ErrorClass::Client,
                "looking for a tagged purchase needs a non-empty tag",
            ));
        }
        let params = vec![(
            "UpdatedSince",
            updated_since
                .naive_utc()
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string(),
        )];
        // Kept for the log line only: the filter is the supplier ID.
        tracing::debug!(supplier = supplier_name, "looking for a tagged purchase");
        let rows: Vec<dto::PurchaseListDto> = self
            .list("purchaseList", "PurchaseList", &params, &mut |_| {})
            .await?;
        let wanted = supplier_id.trim();
        let mut candidates: Vec<Purchase> = rows
            .into_iter()
            .map(Purchase::from)
            .filter(|p| {
                p.supplier_id
                    .as_deref()
                    .is_some_and(|s| s.trim().eq_ignore_ascii_case(wanted))
            })
            .collect();
        candidates.sort_by(by_order_number);
        // A row can be listed twice when purchases change while the pages are read.
        let mut seen = HashSet::new();
        candidates.retain(|p| seen.insert(p.id.to_ascii_lowercase()));
        for purchase in candidates {
            let detail = self.purchase_detail(&purchase.id).await?;
            if detail.note.as_deref().is_some_and(|n| n.contains(tag)) {
                return Ok(Some(TaggedPurchase { purchase, detail }));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn line_totals_round_half_away_from_zero_to_cents() {
        assert_eq!(line_total(d("3"), d("1.005")), Some(d("3.02")));
        assert_eq!(line_total(d("7"), d("2.3333")), Some(d("16.33")));
        assert_eq!(line_total(d("2.5"), d("0.01")), Some(d("0.03")));
        assert_eq!(line_total(d("1"), d("0.004")), Some(d("0.00")));
        assert_eq!(line_total(Decimal::MAX, d("2")), None);
    }

    #[test]
    fn the_outcome_of_a_create_is_unknown_unless_refused() {
        let e = |class| ApiError::new("cin7 POST purchase", class, "x");
        assert!(create_outcome_unknown(&e(ErrorClass::Transient)));
        assert!(create_outcome_unknown(&e(ErrorClass::Server)));
        assert!(create_outcome_unknown(&e(ErrorClass::Decode)));
        assert!(!create_outcome_unknown(&e(ErrorClass::Client)));
        assert!(!create_outcome_unknown(&e(ErrorClass::Throttling)));
    }

    #[test]
    fn candidates_sort_by_order_number_numerically() {
        let p = |n: &str, id: &str| Purchase {
            id: id.into(),
            order_number: n.into(),
            status: "ORDERING".into(),
            order_status: None,
            supplier_id: None,
            supplier: None,
            required_by: None,
            last_updated: None,
            detail: None,
        };
        let mut v = [p("PO-100000", "a"), p("PO-00042", "b"), p("PO-00007", "c")];
        v.sort_by(by_order_number);
        let got: Vec<&str> = v.iter().map(|p| p.order_number.as_str()).collect();
        assert_eq!(got, ["PO-00007", "PO-00042", "PO-100000"]);
    }
}
