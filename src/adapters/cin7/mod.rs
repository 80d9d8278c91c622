//! Cin7 Core API v2 client. Read half (here): locations, availability, products with suppliers
//! and reorder levels, suppliers, the purchase list and purchase detail. Write half (`write.rs`):
//! draft purchase orders (`POST purchase`, `POST purchase/order`) and finding a purchase the tool
//! created by the tag in its note.
//!
//! Every request is paced by the process-wide [`Pacer`] (GCRA, `cin7.requests_per_minute`,
//! lowered when Cin7 throttles), retried through [`with_retry`], and counted per endpoint. List
//! endpoints page with `Page`/`Limit` (`cin7.page_size`, max 1000) until the rows read reach
//! `Total` or a page is empty, whatever each page held (Cin7 may serve fewer rows than asked), and
//! fail when the rows read disagree with `Total`. Cin7 sometimes reports errors as an `ErrorCode`
//! body with HTTP 200; those are failures too.

pub mod dto;
mod write;

pub use write::{
    CreatedPurchase, DraftLine, NewPurchase, TaggedPurchase, create_outcome_unknown, line_total,
};

use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::adapters::http::{
    ApiError, Counters, ErrorClass, MAX_ANSWER_BYTES, Pacer, RetryPolicy, Wording, classify_status,
    excerpt, parse_retry_after, read_body, with_retry,
};
use crate::clock::Clock;
use crate::config::Settings;
use crate::core::model::{
    AvailabilityRow, Location, Product, Purchase, PurchaseDetail, Receipt, Supplier,
};

/// What a caller knows of a purchase besides its ID, so that a 404 from `GET purchase?ID=` can be
/// checked against `purchaseList` before the purchase is taken to be gone. The list is asked for
/// purchases updated since `updated_since` when given (a rename cannot hide the purchase then),
/// else searched for `order_number`, else read whole; the purchase is looked for by its ID.
#[derive(Debug, Clone, Copy, Default)]
pub struct PurchaseHint<'a> {
    /// Its order number, like `PO-00042`.
    pub order_number: Option<&'a str>,
    /// An instant at or before its last update in Cin7 (its creation less a margin for clock
    /// differences, or the `LastUpdatedDate` last seen).
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
}

/// Where paging stands, for progress reporting.
#[derive(Debug, Clone, Copy)]
pub struct PageProgress {
    /// Records read so far.
    pub rows: usize,
    /// All matching records, when the answer said (`Total`).
    pub total: Option<usize>,
}

/// The Cin7 Core client. Cheap to clone; clones share the pacer and counters.
#[derive(Clone)]
pub struct Cin7Client {
    http: reqwest::Client,
    base: String,
    account_id: SecretString,
    application_key: SecretString,
    page_size: u32,
    pacer: Arc<Pacer>,
    retry: RetryPolicy,
    counters: Counters,
    /// Reads the time for `Retry-After` dates.
    clock: Clock,
}

impl Cin7Client {
    /// A client for `settings.cin7` (base URL, credentials, page size, rate) on `http`, counting
    /// requests into `counters`; `clock` is the process's clock.
    pub fn new(
        settings: &Settings,
        http: reqwest::Client,
        counters: Counters,
        clock: Clock,
    ) -> Result<Cin7Client, crate::config::ConfigError> {
        let (account_id, application_key) = settings.cin7_credentials()?;
        let mut base = settings.cin7.base_url.clone();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(Cin7Client {
            http,
            base,
            account_id,
            application_key,
            page_size: settings.cin7.page_size.clamp(1, 1000),
            pacer: Arc::new(Pacer::new(
                settings.cin7.requests_per_minute,
                std::time::Duration::from_millis(settings.http.retry_max_ms),
            )),
            retry: RetryPolicy::from_settings(&settings.http),
            counters,
            clock,
        })
    }

    /// The current request rate (after any lowering).
    pub fn rate(&self) -> u32 {
        self.pacer.rate()
    }

    fn auth_headers(&self) -> Result<HeaderMap, ApiError> {
        let mut headers = HeaderMap::new();
        for (name, secret) in [
            ("api-auth-accountid", &self.account_id),
            ("api-auth-applicationkey", &self.application_key),
        ] {
            let mut value = HeaderValue::from_str(secret.expose_secret()).map_err(|_| {
                ApiError::new(
                    "cin7",
                    ErrorClass::Client,
                    format!("the Cin7 credential for header {name} contains characters not allowed in a header"),
                )
            })?;
            value.set_sensitive(true);
            headers.insert(HeaderName::from_static(name), value);
        }
        Ok(headers)
    }

    /// One GET with pacing, retries, counting and classification; returns the parsed JSON body.
    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ApiError> {
        self.send(reqwest::Method::GET, path, query, None, true)
            .await
    }

    /// One request with pacing, counting and classification, labelled `cin7 {METHOD} {path}`;
    /// retried through [`with_retry`] only when `idempotent`. `body` goes out as JSON. Returns
    /// the parsed JSON answer.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<Value, ApiError> {
        let label = format!("cin7 {method} {path}");
        let url = format!("{}{}", self.base, path);
        let headers = self.auth_headers()?;
        with_retry(&self.retry, &self.counters, &label, idempotent, || async {
            self.pacer.until_ready().await;
            self.counters.request(&label);
            tracing::debug!(endpoint = %label, ?query, "request");
            let mut request = self
                .http
                .request(method.clone(), &url)
                .headers(headers.clone())
                .query(query);
            if let Some(body) = body {
                request = request.json(body);
            }
            let resp = request
                .send()
                .await
                .map_err(|e| ApiError::from_transport(&label, &e))?;
            let status = resp.status().as_u16();
            let resp_headers = resp.headers().clone();
            let body = read_body(resp, &label, MAX_ANSWER_BYTES).await?;
            match classify(&label, status, &resp_headers, &body, self.clock.now()) {
                Ok(value) => Ok(value),
                Err(e) => {
                    if e.class == ErrorClass::Throttling {
                        self.counters.throttled(&label);
                        self.pacer.throttled(e.limit_per_minute, e.retry_after);
                    }
                    Err(e)
                }
            }
        })
        .await
    }

    /// Fetches every page of a list endpoint and decodes each record into `T`.
    ///
    /// The rows a page holds are the server's choice (Cin7 may serve fewer than `Limit`), so a
    /// short page says nothing about the end. Paging goes on until the rows read reach `Total`
    /// (the newest page's) or a page comes back empty; rows read that then disagree with `Total`
    /// are an error, not the end of the data (a partial snapshot would read missing stock as
    /// zero). An answer without `Total` pages until an empty page. A server that keeps serving
    /// rows (the same page again, or far more pages than `Total` needs) is stopped with an error.
    async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        list_key: &str,
        params: &[(&str, String)],
        on_page: &mut dyn FnMut(PageProgress),
    ) -> Result<Vec<T>, ApiError> {
        let label = format!("cin7 GET {path}");
        let limit = self.page_size as usize;
        let mut out = Vec::new();
        let mut total: Option<usize> = None;
        // The first `Total` seen bounds the pages: a `Total` that grows with every page must not
        // move the bound along with it.
        let mut first_total: Option<usize> = None;
        // The most rows one page has held: what the server serves per page.
        let mut served = 0usize;
        // The first record of the previous page, to catch a server that ignores `Page`.
        let mut previous_first: Option<Value> = None;
        let mut page = 1usize;
        loop {
            let mut query: Vec<(&str, String)> = params.to_vec();
            query.push(("Page", page.to_string()));
            query.push(("Limit", limit.to_string()));
            let body = self.get(path, &query).await?;
            if let Some(t) = page_total(&label, page, &body)? {
                total = Some(t);
                first_total.get_or_insert(t);
            }
            let empty = Vec::new();
            let items = match body.get(list_key) {
                Some(Value::Array(items)) => items,
                Some(Value::Null) | None if total == Some(0) => &empty,
                Some(Value::Null) | None => {
                    return Err(ApiError::new(
                        &label,
                        ErrorClass::Decode,
                        format!(
                            "page {page}: the answer has no `{list_key}` list: {}",
                            excerpt(body.to_string().as_bytes())
                        ),
                    ));
                }
                Some(other) => {
                    return Err(ApiError::new(
                        &label,
                        ErrorClass::Decode,
                        format!(
                            "page {page}: `{list_key}` is not a list but {}",
                            kind(other)
                        ),
                    ));
                }
            };
            let Some(first) = items.first() else {
                break;
            };
            if previous_first.as_ref() == Some(first) {
                return Err(ApiError::new(
                    &label,
                    ErrorClass::Decode,
                    format!(
                        "page {page} starts with the same record as page {}: the server ignores `Page` \
                         ({} rows read, Total {})",
                        page - 1,
                        out.len(),
                        total_text(total)
                    ),
                ));
            }
            previous_first = Some(first.clone());
            served = served.max(items.len());
            for item in items {
                let index = out.len();
                out.push(decode_record(&label, list_key, page, index, item)?);
            }
            on_page(PageProgress {
                rows: out.len(),
                total,
            });
            if total.is_some_and(|t| out.len() >= t) {
                break;
            }
            if page >= page_limit(first_total, served) {
                return Err(ApiError::new(
                    &label,
                    ErrorClass::Decode,
                    format!(
                        "still serving rows after {page} pages of up to {served}: {} rows read, \
                         Total {}; stopped",
                        out.len(),
                        total_text(total)
                    ),
                ));
            }
            page += 1;
        }
        if let Some(t) = total
            && out.len() != t
        {
            return Err(ApiError::new(
                &label,
                ErrorClass::Decode,
                format!(
                    "read {} rows in {page} pages, but Total is {t}: the list is not whole",
                    out.len()
                ),
            ));
        }
        Ok(out)
    }

    /// The account the credentials belong to (`GET me`): one cheap request that proves the base
    /// URL and the credentials (403 when Cin7 refuses them).
    pub async fn me(&self) -> Result<Value, ApiError> {
        self.get("me", &[]).await
    }

    /// Every location (`ref/location`).
    pub async fn locations(
        &self,
        on_page: &mut dyn FnMut(PageProgress),
    ) -> Result<Vec<Location>, ApiError> {
        let rows: Vec<dto::LocationDto> = self
            .list("ref/location", "LocationList", &[], on_page)
            .await?;
        Ok(rows.into_iter().map(Location::from).collect())
    }

    /// Every availability row (product × location × bin × batch), or those of one SKU.
    pub async fn availability(
        &self,
        sku: Option<&str>,
        on_page: &mut dyn FnMut(PageProgress),
    ) -> Result<Vec<AvailabilityRow>, ApiError> {
        let mut params = Vec::new();
        if let Some(sku) = sku {
            params.push(("Sku", sku.to_string()));
        }
        let rows: Vec<dto::AvailabilityDto> = self
            .list(
                "ref/productavailability",
                "ProductAvailabilityList",
                &params,
                on_page,
            )
            .await?;
        Ok(rows.into_iter().map(AvailabilityRow::from).collect())
    }

    /// Active products with their suppliers (and supplier options) and reorder levels.
    pub async fn products(
        &self,
        on_page: &mut dyn FnMut(PageProgress),
    ) -> Result<Vec<Product>, ApiError> {
        let params = [
            ("IncludeSuppliers", "true".to_string()),
            ("IncludeReorderLevels", "true".to_string()),
        ];
        let rows: Vec<dto::ProductDto> = self.list("product", "Products", &params, on_page).await?;
        Ok(rows.into_iter().map(Product::from).collect())
    }

    /// Every supplier (`GET supplier`).
    pub async fn suppliers(
        &self,
        on_page: &mut dyn FnMut(PageProgress),
    ) -> Result<Vec<Supplier>, ApiError> {
        let rows: Vec<dto::SupplierDto> =
            self.list("supplier", "SupplierList", &[], on_page).await?;
        Ok(rows.into_iter().map(Supplier::from).collect())
    }

    /// Purchases, all of them or those updated since `updated_since` (Cin7's UTC format).
    pub async fn purchase_list(
        &self,
        updated_since: Option<chrono::NaiveDateTime>,
        on_page: &mut dyn FnMut(PageProgress),
    ) -> Result<Vec<Purchase>, ApiError> {
        let mut params = Vec::new();
        if let Some(since) = updated_since {
            params.push((
                "UpdatedSince",
                since.format("%Y-%m-%dT%H:%M:%S").to_string(),
            ));
        }
        let rows: Vec<dto::PurchaseListDto> = self
            .list("purchaseList", "PurchaseList", &params, on_page)
            .await?;
        Ok(rows.into_iter().map(Purchase::from).collect())
    }

    /// One purchase's detail (`GET purchase?ID=`).
    pub async fn purchase_detail(&self, id: &str) -> Result<PurchaseDetail, ApiError> {
        let label = "cin7 GET purchase";
        let body = self.get("purchase", &[("ID", id.to_string())]).await?;
        let dto: dto::PurchaseDetailDto = decode_value(label, &format!("purchase {id}"), &body)?;
        Ok(dto.into())
    }

    /// `GET purchase?ID=`, or `None` when the purchase is gone. Cin7 documents 404 as "endpoint
    /// not found", so a 404 alone (a wrong base URL would give one for every purchase) is not
    /// taken as gone: `purchaseList` is asked (see [`PurchaseHint`]) and the purchase is gone only
    /// when that list answers normally and lacks its ID. When the list call fails, or lists the
    /// purchase, the answer is an error.
    async fn get_purchase(
        &self,
        id: &str,
        hint: &PurchaseHint<'_>,
    ) -> Result<Option<Value>, ApiError> {
        match self.get("purchase", &[("ID", id.to_string())]).await {
            Ok(body) => Ok(Some(body)),
            Err(e) if e.status == Some(404) => {
                self.confirm_gone(id, hint, &e).await?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// After `GET purchase?ID=` answered 404 (`not_found`): `Ok` when `purchaseList` answers
    /// normally without the purchase, an error otherwise.
    async fn confirm_gone(
        &self,
        id: &str,
        hint: &PurchaseHint<'_>,
        not_found: &ApiError,
    ) -> Result<(), ApiError> {
        const LABEL: &str = "cin7 GET purchase";
        let mut params = Vec::new();
        let order_number = hint.order_number.map(str::trim).filter(|n| !n.is_empty());
        if let Some(since) = hint.updated_since {
            params.push((
                "UpdatedSince",
                since.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string(),
            ));
        } else if let Some(number) = order_number {
            params.push(("Search", number.to_string()));
        }
        let rows: Vec<Value> = self
            .list("purchaseList", "PurchaseList", &params, &mut |_| {})
            .await
            .map_err(|e| {
                let mut err = ApiError::new(
                    LABEL,
                    e.class,
                    format!(
                        "purchase {id} answered 404 ({}), and purchaseList could not confirm it is \
                         gone: {e}",
                        not_found.message
                    ),
                );
                err.status = e.status;
                err
            })?;
        let listed = rows.iter().find(|row| {
            row.get("ID")
                .and_then(Value::as_str)
                .is_some_and(|r| r.trim().eq_ignore_ascii_case(id.trim()))
        });
        match listed {
            None => Ok(()),
            Some(row) => {
                let field = |key: &str| row.get(key).and_then(Value::as_str).unwrap_or("?");
                Err(ApiError::new(
                    LABEL,
                    ErrorClass::Server,
                    format!(
                        "purchase {id} answered 404 ({}), but purchaseList still lists it ({}, \
                         status {}): not taken as gone",
                        not_found.message,
                        field("OrderNumber"),
                        field("Status")
                    ),
                )
                .with_status(404))
            }
        }
    }

    /// One purchase, header and detail (`GET purchase?ID=`), or `None` when it is gone: a 404
    /// that `purchaseList` confirms ([`PurchaseHint`] says how to look). The order status is the
    /// detail's `Order.Status`.
    pub async fn purchase(
        &self,
        id: &str,
        hint: &PurchaseHint<'_>,
    ) -> Result<Option<Purchase>, ApiError> {
        let label = "cin7 GET purchase";
        let Some(body) = self.get_purchase(id, hint).await? else {
            return Ok(None);
        };
        let record = format!("purchase {id}");
        let header: dto::PurchaseListDto = decode_value(label, &record, &body)?;
        let detail: dto::PurchaseDetailDto = decode_value(label, &record, &body)?;
        let detail: PurchaseDetail = detail.into();
        let mut purchase = Purchase::from(header);
        if detail.order_status.is_some() {
            purchase.order_status = detail.order_status.clone();
        }
        purchase.detail = Some(detail);
        Ok(Some(purchase))
    }

    /// What the warehouse received on a purchase: each stock receipt (`StockReceived`, one
    /// object on a simple purchase, a list of them elsewhere) with its status and lines, each
    /// line at its location, the purchase's when the line has none. `None` when the purchase is
    /// gone (a 404 that `purchaseList` confirms, as for [`Cin7Client::purchase`]).
    pub async fn purchase_receipt(
        &self,
        id: &str,
        hint: &PurchaseHint<'_>,
    ) -> Result<Option<Vec<Receipt>>, ApiError> {
        let label = "cin7 GET purchase";
        let Some(body) = self.get_purchase(id, hint).await? else {
            return Ok(None);
        };
        let dto: dto::PurchaseReceiptDto = decode_value(label, &format!("purchase {id}"), &body)?;
        Ok(Some(dto.into_receipts()))
    }

    /// The request counters this client adds to.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Pages a list may take beyond ⌈Total / rows served per page⌉ before the server is taken to be
/// serving rows forever: enough for rows added while the pages are read.
const EXTRA_PAGES: usize = 10;

/// Pages read from a list whose answers carry no `Total` before giving up (10 million rows at
/// Cin7's largest page).
const MAX_PAGES_WITHOUT_TOTAL: usize = 10_000;

/// The last page a list may read: ⌈Total / served⌉ (the first `Total` seen, the most rows a page
/// held) plus a tenth and [`EXTRA_PAGES`], or [`MAX_PAGES_WITHOUT_TOTAL`] when the answers carry
/// no `Total`.
fn page_limit(total: Option<usize>, served: usize) -> usize {
    match total {
        Some(t) => {
            let expected = t.div_ceil(served.max(1));
            expected + expected / 10 + EXTRA_PAGES
        }
        None => MAX_PAGES_WITHOUT_TOTAL,
    }
}

/// A page's `Total`: `None` when absent or null (a few endpoints omit it), an error when it is
/// not a whole number of 0 or more.
fn page_total(label: &str, page: usize, body: &Value) -> Result<Option<usize>, ApiError> {
    let total = match body.get("Total") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < u64::MAX as f64)
                .map(|f| f as u64)
        }),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    total
        .and_then(|t| usize::try_from(t).ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::new(
                label,
                ErrorClass::Decode,
                format!(
                    "page {page}: `Total` is not a count of rows: {}",
                    body.get("Total").map(Value::to_string).unwrap_or_default()
                ),
            )
        })
}

fn total_text(total: Option<usize>) -> String {
    total.map_or_else(|| "not given".to_string(), |t| t.to_string())
}

/// Decodes one list record, naming endpoint, record (its position in the whole list, ID and SKU
/// when present) and the JSON path of the bad field.
fn decode_record<T: DeserializeOwned>(
    label: &str,
    list_key: &str,
    page: usize,
    index: usize,
    item: &Value,
) -> Result<T, ApiError> {
    let mut record = format!("{list_key}[{index}] (page {page})");
    for key in ["ID", "SKU", "Name", "OrderNumber"] {
        if let Some(v) = item.get(key).and_then(Value::as_str) {
            record.push_str(&format!(" {key}={v}"));
        }
    }
    decode_value(label, &record, item)
}

fn decode_value<T: DeserializeOwned>(
    label: &str,
    record: &str,
    value: &Value,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::new(
            label,
            ErrorClass::Decode,
            format!("{record}: field `{path}`: {}", e.inner()),
        )
    })
}

/// The per-minute limit named in a throttling text ("You reached 60 calls per minute API limit").
pub fn named_limit(text: &str) -> Option<u32> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("calls per minute")?;
    let digits: String = lower[..at]
        .trim_end()
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok()
}

/// The `ErrorCode` and text of a Cin7 Error Model body (object or list of objects).
fn error_model(body: &Value) -> Option<(i64, String)> {
    let first = match body {
        Value::Array(items) => items.first()?,
        other => other,
    };
    let code = first.get("ErrorCode")?;
    let code = code
        .as_i64()
        .or_else(|| code.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0);
    Some((code, error_text(body).unwrap_or_default()))
}

/// Cin7's own words in an error body: the `Exception` (else `Message`) of an object, or of each
/// object of a list, joined with "; ". `None` when the body carries neither.
fn error_text(body: &Value) -> Option<String> {
    let text_of = |item: &Value| {
        ["Exception", "Message"].iter().find_map(|key| {
            item.get(*key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
        })
    };
    let texts: Vec<String> = match body {
        Value::Array(items) => items.iter().filter_map(text_of).collect(),
        other => text_of(other).into_iter().collect(),
    };
    if texts.is_empty() {
        None
    } else {
        Some(texts.join("; "))
    }
}

/// Turns one Cin7 answer into JSON or a classified error; `now` reads a `Retry-After` date. Cin7's
/// own signals come first (its 503 per-minute limit text, an `ErrorCode` body, even with HTTP
/// 200); the rest is the shared status mapping ([`crate::adapters::http::classify_status`]) in
/// Cin7's words.
pub fn classify(
    label: &str,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Value, ApiError> {
    let text = String::from_utf8_lossy(body);
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    // For other failures, Cin7's own words (`Exception`/`Message`) when the body has them.
    let said = || {
        parsed
            .as_ref()
            .and_then(error_text)
            .unwrap_or_else(|| excerpt(body))
    };
    let by_status = || {
        classify_status(
            label,
            status,
            headers,
            body,
            now,
            &Wording {
                refused: &[403],
                refused_message: &|_| {
                    "Cin7 refused the credentials (403): check CIN7_ACCOUNT_ID and CIN7_APPLICATION_KEY".to_string()
                },
                said: &said,
                server_retry_after: false,
            },
        )
    };
    if status == 429 {
        // The shared throttling answer, with the per-minute limit Cin7's text may name.
        return by_status().map_err(|mut e| {
            e.limit_per_minute = named_limit(&text);
            e
        });
    }
    let retry_after = parse_retry_after(headers, now);
    let throttled = |message: String| {
        let mut e = ApiError::new(label, ErrorClass::Throttling, message).with_status(status);
        e.retry_after = retry_after;
        e.limit_per_minute = named_limit(&text);
        e
    };
    if status == 503 && text.to_ascii_lowercase().contains("calls per minute") {
        return Err(throttled(format!("throttled (503): {}", excerpt(body))));
    }
    if let Some((code, message)) = parsed.as_ref().and_then(error_model) {
        let class = match code {
            429 => ErrorClass::Throttling,
            503 if message.to_ascii_lowercase().contains("calls per minute") => {
                ErrorClass::Throttling
            }
            c if c >= 500 => ErrorClass::Server,
            _ if status >= 500 => ErrorClass::Server,
            _ => ErrorClass::Client,
        };
        if class == ErrorClass::Throttling {
            return Err(throttled(format!(
                "throttled (ErrorCode {code}): {message}"
            )));
        }
        return Err(ApiError::new(
            label,
            class,
            format!("Cin7 error {code} (HTTP {status}): {message}"),
        )
        .with_status(status));
    }
    by_status()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_is_a_count_of_rows_or_absent() {
        let t = |body: Value| page_total("ep", 1, &body);
        assert_eq!(t(serde_json::json!({"Total": 250})).unwrap(), Some(250));
        assert_eq!(t(serde_json::json!({"Total": 250.0})).unwrap(), Some(250));
        assert_eq!(t(serde_json::json!({"Total": "41"})).unwrap(), Some(41));
        assert_eq!(t(serde_json::json!({"Total": null})).unwrap(), None);
        assert_eq!(t(serde_json::json!({"Products": []})).unwrap(), None);
        for bad in [
            serde_json::json!({"Total": -1}),
            serde_json::json!({"Total": 2.5}),
            serde_json::json!({"Total": "many"}),
            serde_json::json!({"Total": [3]}),
        ] {
            let e = t(bad).unwrap_err();
            assert_eq!(e.class, ErrorClass::Decode);
            assert!(e.message.contains("`Total`"), "{}", e.message);
        }
    }

    #[test]
    fn pages_beyond_what_total_needs_are_bounded() {
        // ⌈250 / 100⌉ = 3, plus a tenth (0) and 10.
        assert_eq!(page_limit(Some(250), 100), 13);
        // ⌈100000 / 100⌉ = 1000, plus 100 and 10.
        assert_eq!(page_limit(Some(100_000), 100), 1110);
        assert_eq!(page_limit(Some(0), 0), EXTRA_PAGES);
        assert_eq!(page_limit(None, 100), MAX_PAGES_WITHOUT_TOTAL);
    }

    #[test]
    fn named_limit_reads_the_number_before_the_phrase() {
        assert_eq!(
            named_limit("You reached 60 calls per minute API limit"),
            Some(60)
        );
        assert_eq!(named_limit("You reached 100 calls per minute"), Some(100));
        assert_eq!(named_limit("Too many calls per minute"), None);
        assert_eq!(named_limit("Service unavailable"), None);
    }

    /// How `classify` takes an answer with `status` and `body` and no headers.
    fn classify_answer(status: u16, body: &str) -> Result<Value, ApiError> {
        classify(
            "ep",
            status,
            &HeaderMap::new(),
            body.as_bytes(),
            chrono::DateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn classification_of_cin7_answers() {
        let c = classify_answer;
        assert_eq!(
            c(503, "You reached 60 calls per minute API limit")
                .unwrap_err()
                .class,
            ErrorClass::Throttling
        );
        assert_eq!(
            c(503, "You reached 60 calls per minute API limit")
                .unwrap_err()
                .limit_per_minute,
            Some(60)
        );
        assert_eq!(
            c(503, "Service Unavailable").unwrap_err().class,
            ErrorClass::Server
        );
        assert_eq!(c(429, "{}").unwrap_err().class, ErrorClass::Throttling);
        assert_eq!(c(500, "oops").unwrap_err().class, ErrorClass::Server);
        assert_eq!(
            c(400, r#"[{"ErrorCode":400,"Exception":"bad"}]"#)
                .unwrap_err()
                .class,
            ErrorClass::Client
        );
        let e = c(
            200,
            r#"[{"ErrorCode":500,"Exception":"object could not be parsed"}]"#,
        )
        .unwrap_err();
        assert_eq!(e.class, ErrorClass::Server);
        assert!(e.message.contains("object could not be parsed"));
        assert_eq!(
            c(200, r#"{"ErrorCode":400,"Exception":"no"}"#)
                .unwrap_err()
                .class,
            ErrorClass::Client
        );
        assert_eq!(c(200, "{not json").unwrap_err().class, ErrorClass::Decode);
        assert_eq!(
            c(403, "Incorrect credentials!").unwrap_err().class,
            ErrorClass::Client
        );
        assert!(c(200, r#"{"Total":0}"#).is_ok());
        assert!(
            c(200, r#"{"Message":"ok","ID":"x"}"#).is_ok(),
            "a Message without ErrorCode in a 200 is not an error"
        );
    }

    #[test]
    fn failures_carry_cin7s_own_words_when_the_body_has_them() {
        let c = |status, body: &str| classify_answer(status, body).unwrap_err();
        let e = c(
            400,
            r#"[{"ErrorCode":400,"Exception":"Supplier with ID = 'x' was not found."},{"ErrorCode":400,"Exception":"Location is required."}]"#,
        );
        assert_eq!(
            e.message,
            "Cin7 error 400 (HTTP 400): Supplier with ID = 'x' was not found.; Location is required."
        );
        let e = c(
            400,
            r#"{"ErrorCode":400,"Exception":" ","Message":"Approach is required."}"#,
        );
        assert_eq!(
            e.message,
            "Cin7 error 400 (HTTP 400): Approach is required."
        );
        let e = c(400, r#"{"Message":"The request is invalid."}"#);
        assert_eq!(e.class, ErrorClass::Client);
        assert_eq!(e.message, "HTTP 400: The request is invalid.");
        let e = c(502, r#"[{"Exception":"Upstream failed"}]"#);
        assert_eq!(e.class, ErrorClass::Server);
        assert_eq!(e.message, "server error 502: Upstream failed");
        let e = c(404, "<html> Not   Found </html>");
        assert_eq!(e.message, "HTTP 404: <html> Not Found </html>");
    }
}
