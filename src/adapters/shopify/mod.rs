//! Shopify Admin GraphQL client: orders (paged incrementally, or backfilled with one bulk
//! operation), locations, and product variants.
//!
//! Pacing is cost-based: every answer's `extensions.cost.throttleStatus` updates a local model of
//! the app's bucket, and before a request whose cost the bucket cannot cover the client waits
//! `(cost − available) / restoreRate` instead of hammering. A `THROTTLED` error (HTTP 200) is a
//! throttling error with exactly that wait; HTTP 429 honours `Retry-After`.
//!
//! A bulk operation's result is fetched by [`bulk`]: streamed to a scratch file beside the store,
//! resumed after a stall or a cut, and read back as whole orders a batch at a time.

pub mod bulk;
pub mod dto;
pub mod queries;
pub mod scopes;
pub mod webhook;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::adapters::http::{
    ApiError, Counters, ErrorClass, MAX_ANSWER_BYTES, RetryPolicy, Wording, classify_status,
    excerpt, read_body, with_retry,
};
use crate::clock::Clock;
use crate::config::Settings;
use crate::core::model::{Order, Variant};
pub use bulk::{BulkOrders, BulkScratch};
use dto::{BulkOperation, Connection, LineItemNode, OrderNode, ShopifyLocation, VariantNode};

/// The app's cost bucket as last reported.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    available: f64,
    maximum: f64,
    restore_rate: f64,
    at: Instant,
}

impl Bucket {
    fn available_now(&self) -> f64 {
        (self.available + self.at.elapsed().as_secs_f64() * self.restore_rate).min(self.maximum)
    }

    /// How long to wait before spending `cost` points.
    fn wait_for(&self, cost: f64) -> Duration {
        let short = cost.min(self.maximum) - self.available_now();
        if short <= 0.0 || self.restore_rate <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(short / self.restore_rate)
        }
    }
}

/// Progress of an order fetch.
#[derive(Debug, Clone)]
pub enum OrderProgress {
    Page {
        orders: usize,
    },
    BulkRunning {
        status: String,
        objects: u64,
    },
    /// Bytes of the result file on disk so far (and its size, once the server said).
    BulkDownloading {
        bytes: u64,
        total: Option<u64>,
    },
    /// Lines of the downloaded file staged so far.
    BulkReading {
        lines: u64,
    },
}

/// The Shopify Admin GraphQL client. Cheap to clone; clones share pacing and counters.
#[derive(Clone)]
pub struct ShopifyClient {
    http: reqwest::Client,
    endpoint: String,
    token: SecretString,
    retry: RetryPolicy,
    counters: Counters,
    bucket: Arc<Mutex<Option<Bucket>>>,
    orders_page_size: u32,
    line_items_page_size: u32,
    bulk_poll: Duration,
    /// The client for bulk result files: no total timeout (see [`bulk`]).
    download_http: reqwest::Client,
    /// No byte of a bulk result for this long is a stall.
    bulk_stall: Duration,
    /// Reads the time for `Retry-After` dates.
    clock: Clock,
    /// Orders are read with their fulfillment orders (needs one of the fulfillment-order scopes).
    fulfillment_orders: bool,
}

impl ShopifyClient {
    /// A client for `settings.shopify` on `http`, counting requests into `counters`; `clock` is
    /// the process's clock.
    pub fn new(
        settings: &Settings,
        http: reqwest::Client,
        counters: Counters,
        clock: Clock,
    ) -> Result<ShopifyClient, crate::config::ConfigError> {
        let token = settings.shopify_token()?;
        let endpoint = format!(
            "{}/admin/api/{}/graphql.json",
            settings.shopify.base_url.trim_end_matches('/'),
            settings.shopify.api_version
        );
        Ok(ShopifyClient {
            http,
            endpoint,
            token,
            retry: RetryPolicy::from_settings(&settings.http),
            counters,
            bucket: Arc::new(Mutex::new(None)),
            orders_page_size: settings.shopify.orders_page_size.clamp(1, 250),
            line_items_page_size: settings.shopify.line_items_page_size.clamp(1, 250),
            bulk_poll: Duration::from_millis(settings.shopify.bulk_poll_ms.max(10)),
            download_http: crate::adapters::http::build_download_client(&settings.http),
            bulk_stall: Duration::from_millis(settings.shopify.bulk_stall_ms.max(1)),
            clock,
            fulfillment_orders: true,
        })
    }

    /// Orders are read without `fulfillmentOrders` (a token without any fulfillment-order scope,
    /// where nothing locates orders by them).
    pub fn without_fulfillment_orders(mut self) -> ShopifyClient {
        self.fulfillment_orders = false;
        self
    }

    /// The access scopes granted to the token (`currentAppInstallation.accessScopes`).
    pub async fn access_scopes(&self) -> Result<scopes::Granted, ApiError> {
        let label = "shopify currentAppInstallation";
        let data = self
            .graphql(
                "currentAppInstallation",
                queries::ACCESS_SCOPES,
                json!({}),
                2,
            )
            .await?;
        let handles: Vec<dto::AccessScope> = decode(
            label,
            "accessScopes",
            data.pointer("/currentAppInstallation/accessScopes")
                .unwrap_or(&Value::Null),
        )?;
        Ok(scopes::Granted::new(handles.into_iter().map(|s| s.handle)))
    }

    fn bucket(&self) -> Option<Bucket> {
        *self.bucket.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update_bucket(&self, body: &Value) {
        let Some(status) = body.pointer("/extensions/cost/throttleStatus") else {
            return;
        };
        let get = |k: &str| status.get(k).and_then(Value::as_f64);
        if let (Some(available), Some(maximum), Some(restore_rate)) = (
            get("currentlyAvailable"),
            get("maximumAvailable"),
            get("restoreRate"),
        ) {
            *self.bucket.lock().unwrap_or_else(|p| p.into_inner()) = Some(Bucket {
                available,
                maximum,
                restore_rate,
                at: Instant::now(),
            });
        }
    }

    /// Sends one GraphQL operation (paced, retried, counted) and returns its `data`.
    async fn graphql(
        &self,
        operation: &str,
        query: &str,
        variables: Value,
        estimated_cost: u32,
    ) -> Result<Value, ApiError> {
        let label = format!("shopify {operation}");
        let body = json!({ "query": query, "variables": &variables });
        let mut token = HeaderValue::from_str(self.token.expose_secret()).map_err(|_| {
            ApiError::new(
                &label,
                ErrorClass::Client,
                "SHOPIFY_ACCESS_TOKEN contains characters not allowed in a header",
            )
        })?;
        token.set_sensitive(true);
        with_retry(&self.retry, &self.counters, &label, true, || async {
            if let Some(bucket) = self.bucket() {
                let wait = bucket.wait_for(estimated_cost as f64);
                if !wait.is_zero() {
                    tracing::debug!(
                        wait_ms = wait.as_millis() as u64,
                        "pacing Shopify query cost"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
            self.counters.request(&label);
            tracing::debug!(endpoint = %label, %variables, "request");
            let resp = self
                .http
                .post(&self.endpoint)
                .header("X-Shopify-Access-Token", token.clone())
                .json(&body)
                .send()
                .await
                .map_err(|e| ApiError::from_transport(&label, &e))?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let bytes = read_body(resp, &label, MAX_ANSWER_BYTES).await?;
            let result = self.classify(&label, status, &headers, &bytes);
            if let Err(e) = &result
                && e.class == ErrorClass::Throttling
            {
                self.counters.throttled(&label);
            }
            result
        })
        .await
    }

    fn classify(
        &self,
        label: &str,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        bytes: &[u8],
    ) -> Result<Value, ApiError> {
        let body = classify_status(
            label,
            status,
            headers,
            bytes,
            self.clock.now(),
            &Wording {
                refused: &[401, 403],
                refused_message: &|status| {
                    format!(
                        "Shopify refused the access token (HTTP {status}): check SHOPIFY_ACCESS_TOKEN and the app's scopes (read_orders, read_all_orders)"
                    )
                },
                said: &|| excerpt(bytes),
                server_retry_after: true,
            },
        )?;
        self.update_bucket(&body);
        if let Some(errors) = body
            .get("errors")
            .and_then(Value::as_array)
            .filter(|e| !e.is_empty())
        {
            let code_of = |e: &Value| {
                e.pointer("/extensions/code")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let messages = joined_messages(errors);
            if let Some(denied) = errors.iter().find(|e| code_of(e) == "ACCESS_DENIED") {
                let path: Vec<String> = denied
                    .get("path")
                    .and_then(Value::as_array)
                    .map(|p| {
                        p.iter()
                            .map(|s| match s {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let required = denied
                    .pointer("/extensions/requiredAccess")
                    .and_then(Value::as_str);
                let scope = scopes::denied_scope(required, &path);
                let mut e = ApiError::new(
                    label,
                    ErrorClass::Client,
                    match &scope {
                        Some(scope) => format!(
                            "Shopify denied access ({messages}): the app's access token lacks the {scope} access scope; grant it in the app's Admin API access scopes (then `replenish doctor` checks it)"
                        ),
                        None => format!(
                            "Shopify denied access: {messages}; check the app's Admin API access scopes with `replenish doctor`"
                        ),
                    },
                );
                e.missing_scope = scope.or_else(|| Some("(unknown)".to_string()));
                return Err(e);
            }
            if errors.iter().any(|e| code_of(e) == "THROTTLED") {
                let requested = body
                    .pointer("/extensions/cost/requestedQueryCost")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                let mut e = ApiError::new(
                    label,
                    ErrorClass::Throttling,
                    format!("throttled: {messages}"),
                );
                e.retry_after = self
                    .bucket()
                    .map(|b| b.wait_for(requested).max(Duration::from_millis(50)));
                return Err(e);
            }
            let codes: Vec<String> = errors
                .iter()
                .map(code_of)
                .filter(|c| !c.is_empty())
                .collect();
            let class = if codes.iter().any(|c| c == "INTERNAL_SERVER_ERROR") {
                ErrorClass::Server
            } else {
                ErrorClass::Client
            };
            return Err(ApiError::new(
                label,
                class,
                format!("GraphQL error {}: {messages}", codes.join(",")),
            ));
        }
        match body.get("data") {
            Some(data) if !data.is_null() => Ok(data.clone()),
            _ => Err(ApiError::new(
                label,
                ErrorClass::Decode,
                format!("the answer has no `data`: {}", excerpt(bytes)),
            )),
        }
    }

    /// Orders updated at or after `since`, oldest update first, every line item included.
    pub async fn orders_updated_since(
        &self,
        since: DateTime<Utc>,
        on_progress: &mut dyn FnMut(OrderProgress),
    ) -> Result<Vec<Order>, ApiError> {
        let search = format!(
            "updated_at:>='{}'",
            since.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
        self.orders_matching(&search, self.orders_page_size, on_progress)
            .await
    }

    /// One order by its gid (`gid://shopify/Order/<n>`), read like the sync reads orders (the
    /// same query, filtered `id:<n>`), so the webhook path stores the same record; `None` when
    /// Shopify has no such order.
    pub async fn order(&self, gid: &str) -> Result<Option<Order>, ApiError> {
        let Some(n) = gid
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        else {
            return Err(ApiError::new(
                "shopify orders",
                ErrorClass::Client,
                format!("{gid:?} is not an order gid"),
            ));
        };
        let mut found = self
            .orders_matching(&format!("id:{n}"), 1, &mut |_| {})
            .await?;
        found.retain(|o| o.id == gid);
        Ok(found.pop())
    }

    async fn orders_matching(
        &self,
        search: &str,
        page_size: u32,
        on_progress: &mut dyn FnMut(OrderProgress),
    ) -> Result<Vec<Order>, ApiError> {
        let label = "shopify orders";
        let cost = queries::orders_query_cost(
            page_size,
            self.line_items_page_size,
            self.fulfillment_orders,
        );
        let document = queries::orders(self.fulfillment_orders);
        let mut after: Option<String> = None;
        let mut orders = Vec::new();
        loop {
            let data = self
                .graphql(
                    "orders",
                    &document,
                    json!({
                        "first": page_size,
                        "after": after,
                        "query": search,
                        "lineItemsFirst": self.line_items_page_size,
                    }),
                    cost,
                )
                .await?;
            let conn: Connection<Value> =
                decode(label, "orders", data.get("orders").unwrap_or(&Value::Null))?;
            let next = conn.next_cursor();
            for raw in conn.into_items() {
                let node: OrderNode = decode_node(label, "order", &raw)?;
                let more = node.line_items.as_ref().and_then(Connection::next_cursor);
                let id = node.id.clone();
                let extra = match more {
                    Some(cursor) => self.remaining_line_items(&id, cursor).await?,
                    None => Vec::new(),
                };
                orders.push(node.into_order(extra, Vec::new()));
            }
            on_progress(OrderProgress::Page {
                orders: orders.len(),
            });
            match next {
                Some(cursor) => after = Some(cursor),
                None => return Ok(orders),
            }
        }
    }

    async fn remaining_line_items(
        &self,
        order_id: &str,
        mut after: String,
    ) -> Result<Vec<LineItemNode>, ApiError> {
        let label = "shopify order";
        let first = 100u32;
        let mut out = Vec::new();
        loop {
            let data = self
                .graphql(
                    "order",
                    queries::ORDER_LINE_ITEMS,
                    json!({ "id": order_id, "first": first, "after": after }),
                    2 + first * 2 + 1,
                )
                .await?;
            let conn: Connection<LineItemNode> = decode(
                label,
                &format!("order {order_id} lineItems"),
                data.pointer("/order/lineItems").unwrap_or(&Value::Null),
            )?;
            let next = conn.next_cursor();
            out.extend(conn.into_items());
            match next {
                Some(cursor) => after = cursor,
                None => return Ok(out),
            }
        }
    }

    /// Orders created at or after `since`, fetched with one bulk operation. The JSONL result is
    /// downloaded to, and staged in, scratch files in `scratch` (see [`bulk`]); the orders are read
    /// from the returned [`BulkOrders`] a batch at a time.
    pub async fn bulk_orders_created_since(
        &self,
        since: DateTime<Utc>,
        scratch: &BulkScratch,
        on_progress: &mut dyn FnMut(OrderProgress),
    ) -> Result<BulkOrders, ApiError> {
        let search = format!(
            "created_at:>='{}'",
            since.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
        let document = queries::bulk_orders(&search, self.fulfillment_orders);
        let label = "shopify bulkOperationRunQuery";
        // An earlier run killed mid-backfill may have left its operation running, and Shopify
        // refuses a new one while too many run: wait for the one it names, then ask again.
        let mut waited = 0;
        let id = loop {
            let data = self
                .graphql(
                    "bulkOperationRunQuery",
                    queries::BULK_RUN,
                    json!({ "query": document }),
                    10,
                )
                .await?;
            let run = data.get("bulkOperationRunQuery").unwrap_or(&Value::Null);
            if let Some(errors) = run
                .get("userErrors")
                .and_then(Value::as_array)
                .filter(|e| !e.is_empty())
            {
                let text = joined_messages(errors);
                if let Some(busy) = bulk_in_progress(&text).filter(|_| waited < 5) {
                    tracing::warn!(
                        "Shopify is still running an earlier bulk operation ({busy}); waiting for it to finish"
                    );
                    let _ = self.wait_for_bulk(&busy, &mut |_| {}).await;
                    waited += 1;
                    continue;
                }
                return Err(ApiError::new(
                    label,
                    ErrorClass::Client,
                    format!("Shopify refused the bulk query: {text}"),
                ));
            }
            break run
                .pointer("/bulkOperation/id")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ApiError::new(
                        label,
                        ErrorClass::Decode,
                        "no bulkOperation.id in the answer",
                    )
                })?
                .to_string();
        };
        let op = self.wait_for_bulk(&id, on_progress).await?;
        let Some(url) = op.url else {
            // A completed operation with no objects has no file.
            return Ok(BulkOrders::empty());
        };
        let link = bulk::Link {
            client: &self.download_http,
            url: &url,
            stall: self.bulk_stall,
            clock: self.clock,
        };
        bulk::fetch(&link, scratch, &self.retry, &self.counters, on_progress).await
    }

    async fn wait_for_bulk(
        &self,
        id: &str,
        on_progress: &mut dyn FnMut(OrderProgress),
    ) -> Result<BulkOperation, ApiError> {
        let label = "shopify bulkOperation";
        let started = Instant::now();
        loop {
            let data = self
                .graphql("bulkOperation", queries::BULK_POLL, json!({ "id": id }), 1)
                .await?;
            let op: BulkOperation =
                decode(label, id, data.get("bulkOperation").unwrap_or(&Value::Null))?;
            let objects = op
                .object_count
                .as_ref()
                .and_then(|v| {
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .unwrap_or(0);
            on_progress(OrderProgress::BulkRunning {
                status: op.status.clone(),
                objects,
            });
            match op.status.as_str() {
                "COMPLETED" => return Ok(op),
                "CREATED" | "RUNNING" => {}
                "FAILED" if op.error_code.as_deref() == Some("ACCESS_DENIED") => {
                    let scope = if self.fulfillment_orders {
                        format!(
                            "{} and one of {}",
                            scopes::READ_ORDERS,
                            scopes::FULFILLMENT_ORDER_SCOPES.join(", ")
                        )
                    } else {
                        scopes::READ_ORDERS.to_string()
                    };
                    let mut e = ApiError::new(
                        label,
                        ErrorClass::Client,
                        format!(
                            "bulk operation {id} was denied access (ACCESS_DENIED): the orders query needs the {scope} access scopes; grant them in the app's Admin API access scopes (`replenish doctor` names what is missing)"
                        ),
                    );
                    e.missing_scope = Some(scope);
                    return Err(e);
                }
                other => {
                    return Err(ApiError::new(
                        label,
                        ErrorClass::Server,
                        format!(
                            "bulk operation {id} ended {other} (error code {})",
                            op.error_code.as_deref().unwrap_or("none")
                        ),
                    ));
                }
            }
            if started.elapsed() > Duration::from_secs(6 * 3600) {
                return Err(ApiError::new(
                    label,
                    ErrorClass::Server,
                    format!("bulk operation {id} still running after 6 hours"),
                ));
            }
            tokio::time::sleep(self.bulk_poll).await;
        }
    }

    /// Shopify locations (id, name, active).
    pub async fn locations(&self) -> Result<Vec<ShopifyLocation>, ApiError> {
        let mut after: Option<String> = None;
        let mut out = Vec::new();
        loop {
            let data = self
                .graphql(
                    "locations",
                    queries::LOCATIONS,
                    json!({ "first": 250, "after": after }),
                    252,
                )
                .await?;
            let conn: Connection<ShopifyLocation> = decode(
                "shopify locations",
                "locations",
                data.get("locations").unwrap_or(&Value::Null),
            )?;
            let next = conn.next_cursor();
            out.extend(conn.into_items());
            match next {
                Some(cursor) => after = Some(cursor),
                None => return Ok(out),
            }
        }
    }

    /// Every product variant (id, SKU, title, product title, status and gift-card flag), in
    /// pages of [`queries::VARIANTS_PAGE_SIZE`]; `on_page` gets the number fetched so far.
    pub async fn product_variants(
        &self,
        on_page: &mut dyn FnMut(usize),
    ) -> Result<Vec<Variant>, ApiError> {
        let first = queries::VARIANTS_PAGE_SIZE;
        let cost = queries::product_variants_query_cost(first);
        let mut after: Option<String> = None;
        let mut out: Vec<Variant> = Vec::new();
        loop {
            let data = self
                .graphql(
                    "productVariants",
                    queries::PRODUCT_VARIANTS,
                    json!({ "first": first, "after": after }),
                    cost,
                )
                .await?;
            let conn: Connection<Value> = decode(
                "shopify productVariants",
                "productVariants",
                data.get("productVariants").unwrap_or(&Value::Null),
            )?;
            let next = conn.next_cursor();
            for raw in conn.into_items() {
                let node: VariantNode = decode_node("shopify productVariants", "variant", &raw)?;
                out.push(node.into());
            }
            on_page(out.len());
            match next {
                Some(cursor) => after = Some(cursor),
                None => return Ok(out),
            }
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

/// The `message`s of GraphQL `errors` or `userErrors`, joined for a person.
fn joined_messages(errors: &[Value]) -> String {
    errors
        .iter()
        .map(|e| e.get("message").and_then(Value::as_str).unwrap_or("?"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Decodes JSON into `T`, naming endpoint, record and the JSON path of a bad field.
fn decode<T: DeserializeOwned>(label: &str, record: &str, value: &Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        ApiError::new(
            label,
            ErrorClass::Decode,
            format!("{record}: field `{}`: {}", e.path(), e.inner()),
        )
    })
}

/// Decodes one node of a connection read as raw JSON, naming it in an error by what it is and
/// its `id` (`?` when it has none): "order gid://shopify/Order/1: field `…`: …".
fn decode_node<T: DeserializeOwned>(label: &str, what: &str, raw: &Value) -> Result<T, ApiError> {
    let id = raw.get("id").and_then(Value::as_str).unwrap_or("?");
    decode(label, &format!("{what} {id}"), raw)
}

/// The gid of the bulk operation a "… already in progress: gid://shopify/BulkOperation/N" refusal
/// names.
fn bulk_in_progress(text: &str) -> Option<String> {
    if !text.contains("already in progress") {
        return None;
    }
    let prefix = "gid://shopify/BulkOperation/";
    let at = text.find(prefix)?;
    let digits: String = text[at + prefix.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then(|| format!("{prefix}{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_wait_is_shortfall_over_restore_rate() {
        let b = Bucket {
            available: 100.0,
            maximum: 1000.0,
            restore_rate: 50.0,
            at: Instant::now(),
        };
        let w = b.wait_for(600.0).as_secs_f64();
        assert!((9.9..=10.0).contains(&w), "(600-100)/50 = 10 s, got {w}");
        assert_eq!(b.wait_for(50.0), Duration::ZERO);
    }

    #[test]
    fn a_refusal_names_the_bulk_operation_still_running() {
        assert_eq!(
            bulk_in_progress(
                "A bulk query operation for this app and shop is already in progress: gid://shopify/BulkOperation/5."
            )
            .as_deref(),
            Some("gid://shopify/BulkOperation/5")
        );
        assert_eq!(bulk_in_progress("Invalid bulk query: syntax error"), None);
        assert_eq!(
            bulk_in_progress("already in progress: gid://shopify/BulkOperation/"),
            None
        );
    }
}
