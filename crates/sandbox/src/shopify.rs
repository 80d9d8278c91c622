//! The Shopify Admin GraphQL imitation (`POST /shopify/admin/api/{version}/graphql.json`): access
//! token check, recognition of the client's documents by root field, cost-based throttling with
//! `extensions.cost`, the `orders`/`order`/`locations`/`productVariants` connections and bulk
//! operations.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use super::App;
use super::faults::{self, Fault};
use super::graphql::{self, Args, Document, Field};
use super::search::Search;
use super::state::*;
use super::util::*;

/// Shopify's single-query cost ceiling.
pub const MAX_COST: u64 = 1000;

fn errors(messages: &[Value]) -> Value {
    json!({ "errors": messages })
}

fn error_msg(msg: &str) -> Value {
    json!({ "message": msg })
}

/// Entry point for every GraphQL request.
pub async fn handle(
    State(app): State<App>,
    Path(_version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token_ok = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().is_empty());
    if !token_ok {
        app.lock().count_request("shopify unauthorized".into());
        return json(
            StatusCode::UNAUTHORIZED,
            &json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
        );
    }
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            app.lock().count_request("shopify invalid".into());
            return json(
                StatusCode::BAD_REQUEST,
                &json!({"errors": {"query": format!("Required parameter missing or invalid: {e}")}}),
            );
        }
    };
    let Some(query) = req.get("query").and_then(Value::as_str).map(str::to_string) else {
        app.lock().count_request("shopify invalid".into());
        return json(
            StatusCode::BAD_REQUEST,
            &json!({"errors": {"query": "Required parameter missing or invalid"}}),
        );
    };
    let vars = req.get("variables").cloned().unwrap_or(Value::Null);
    let doc = Document::parse(&query);
    let op_name = doc
        .as_ref()
        .map(|d| d.root.name.clone())
        .unwrap_or_else(|_| "unknown".into());
    let (fault, retry_after) = {
        let mut w = app.lock();
        w.count_request(format!("shopify {op_name}"));
        (faults::draw(&mut w, false, false), w.opts.retry_after_secs)
    };
    match fault {
        Some(Fault::Slow) => tokio::time::sleep(faults::SLOW).await,
        Some(f) => return faults::respond(f, false, retry_after),
        None => {}
    }
    let mut w = app.lock();
    let answer = execute(&mut w, doc, &vars);
    json(StatusCode::OK, &answer)
}

/// Refills the bucket for the real time elapsed.
fn refill(w: &mut World) {
    let now = Instant::now();
    let secs = now.duration_since(w.bucket.last).as_secs_f64();
    w.bucket.available =
        (w.bucket.available + secs * w.opts.shopify_restore_rate).min(w.opts.shopify_bucket);
    w.bucket.last = now;
}

fn cost_ext(w: &World, requested: u64, actual: Option<u64>) -> Value {
    json!({
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": num(w.opts.shopify_bucket),
                "currentlyAvailable": w.bucket.available.floor().max(0.0) as u64,
                "restoreRate": num(w.opts.shopify_restore_rate),
            }
        }
    })
}

/// An argument as a non-negative integer.
fn int_arg(args: &Args, name: &str) -> Result<Option<u64>, String> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("Argument '{name}' must be a non-negative integer")),
    }
}

fn str_arg(args: &Args, name: &str) -> Option<String> {
    args.get(name).and_then(Value::as_str).map(str::to_string)
}

/// Runs a recognised document: the data under its root key and the actual cost.
type Runner = Box<dyn FnOnce(&mut World) -> Result<(Value, u64), String>>;

/// What one recognised document asks for.
struct Plan {
    requested: u64,
    run: Runner,
}

fn first_arg(args: &Args, field: &str) -> Result<u64, String> {
    match int_arg(args, "first")? {
        Some(n) if n > 250 => Err(format!(
            "The page size requested for '{field}' is {n}: 'first' cannot exceed 250"
        )),
        Some(n) => Ok(n),
        None => Err(format!(
            "you must provide one of first or last for the '{field}' connection"
        )),
    }
}

fn execute(w: &mut World, doc: Result<Document, String>, vars: &Value) -> Value {
    refill(w);
    let doc = match doc {
        Ok(doc) => doc,
        Err(msg) => return with_ext(errors(&[error_msg(&msg)]), cost_ext(w, 0, Some(0))),
    };
    let root = &doc.root;
    if let Some(denied) = access_denied(w, &doc) {
        // Like Shopify: the root field is null and the error names the field (and, for a root
        // field, the scope it needs).
        let mut d = Map::new();
        d.insert(root.response_key.clone(), Value::Null);
        return with_ext(
            json!({ "data": Value::Object(d), "errors": [denied] }),
            cost_ext(w, 1, Some(1)),
        );
    }
    let plan = match plan(w, &doc, vars) {
        Ok(p) => p,
        Err(msg) => return with_ext(errors(&[error_msg(&msg)]), cost_ext(w, 0, Some(0))),
    };
    if plan.requested > MAX_COST {
        let msg = format!(
            "Query cost is {}, which exceeds the single query max cost limit ({MAX_COST}).",
            plan.requested
        );
        let e = json!({
            "message": msg,
            "extensions": {
                "code": "MAX_COST_EXCEEDED",
                "cost": plan.requested,
                "maxCost": MAX_COST,
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            }
        });
        return with_ext(errors(&[e]), cost_ext(w, plan.requested, None));
    }
    if plan.requested as f64 > w.bucket.available {
        w.throttled_shopify += 1;
        let e = json!({
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            }
        });
        return with_ext(errors(&[e]), cost_ext(w, plan.requested, None));
    }
    w.bucket.available -= plan.requested as f64;
    match (plan.run)(w) {
        Ok((data, actual)) => {
            let actual = actual.min(plan.requested);
            w.bucket.available =
                (w.bucket.available + (plan.requested - actual) as f64).min(w.opts.shopify_bucket);
            let mut d = Map::new();
            d.insert(root.response_key.clone(), data);
            let mut out = json!({ "data": Value::Object(d) });
            if let Some(search) = search_warnings(root, vars, w) {
                out["extensions"] = json!({});
                let ext = cost_ext(w, plan.requested, Some(actual));
                out["extensions"]["cost"] = ext["cost"].clone();
                out["extensions"]["search"] = search;
                return out;
            }
            with_ext(out, cost_ext(w, plan.requested, Some(actual)))
        }
        Err(msg) => {
            w.bucket.available =
                (w.bucket.available + plan.requested as f64).min(w.opts.shopify_bucket);
            with_ext(
                errors(&[error_msg(&msg)]),
                cost_ext(w, plan.requested, Some(0)),
            )
        }
    }
}

/// Whether the token was granted `scope` (a `write_` scope includes its `read_` one).
pub fn has_scope(w: &World, scope: &str) -> bool {
    let write = scope
        .strip_prefix("read_")
        .map(|rest| format!("write_{rest}"));
    w.opts
        .scopes
        .iter()
        .any(|s| s == scope || Some(s) == write.as_ref())
}

/// The fulfillment-order scopes, any one of which lets a query read `fulfillmentOrders`.
const FULFILLMENT_ORDER_SCOPES: [&str; 4] = [
    "read_merchant_managed_fulfillment_orders",
    "read_assigned_fulfillment_orders",
    "read_third_party_fulfillment_orders",
    "read_marketplace_fulfillment_orders",
];

/// Shopify's `ACCESS_DENIED` error for a document the token's scopes do not cover, if any: the
/// root field's own scope, then fulfillment orders selected without a fulfillment-order scope.
fn access_denied(w: &World, doc: &Document) -> Option<Value> {
    let (root, key) = (doc.root.name.as_str(), doc.root.response_key.as_str());
    let scope = match root {
        "orders" | "order" => Some("read_orders"),
        "locations" | "location" => Some("read_locations"),
        "productVariants" | "productVariant" => Some("read_products"),
        _ => None,
    };
    if let Some(scope) = scope.filter(|s| !has_scope(w, s)) {
        return Some(json!({
            "message": format!("Access denied for {root} field. Required access: `{scope}` access scope."),
            "locations": [{"line": 2, "column": 3}],
            "path": [key],
            "extensions": {
                "code": "ACCESS_DENIED",
                "documentation": "https://shopify.dev/api/usage/access-scopes",
                "requiredAccess": format!("`{scope}` access scope."),
            }
        }));
    }
    let fulfillment = FULFILLMENT_ORDER_SCOPES.iter().any(|s| has_scope(w, s));
    if matches!(root, "orders" | "order") && doc.selects("fulfillmentOrders") && !fulfillment {
        let path = if root == "orders" {
            json!([key, "edges", 0, "node", "fulfillmentOrders"])
        } else {
            json!([key, "fulfillmentOrders"])
        };
        return Some(json!({
            "message": "Access denied for fulfillmentOrders field.",
            "locations": [{"line": 12, "column": 9}],
            "path": path,
            "extensions": {"code": "ACCESS_DENIED"},
        }));
    }
    None
}

/// Whether an order is visible to the token: without `read_all_orders` Shopify serves only the
/// last 60 days' orders (silently).
pub fn visible(w: &World, o: &Order) -> bool {
    has_scope(w, "read_all_orders") || o.created >= w.now - chrono::Duration::days(60)
}

fn with_ext(mut v: Value, ext: Value) -> Value {
    v["extensions"] = ext;
    v
}

fn search_warnings(root: &Field, vars: &Value, w: &World) -> Option<Value> {
    if root.name != "orders" {
        return None;
    }
    let args = root.args(vars);
    let q = str_arg(&args, "query")?;
    let s = Search::parse(&q, w.now);
    if s.warnings.is_empty() {
        return None;
    }
    let warnings: Vec<Value> = s
        .warnings
        .iter()
        .map(|(f, m)| json!({"field": f, "message": m}))
        .collect();
    Some(json!([{ "path": ["orders"], "query": q, "warnings": warnings }]))
}

fn plan(w: &World, doc: &Document, vars: &Value) -> Result<Plan, String> {
    let root = &doc.root;
    let args = root.args(vars);
    // The arguments of the first nested field of that name that has any.
    let nested = |field: &str| doc.field(field).map(|f| f.args(vars));
    match root.name.as_str() {
        "orders" => {
            let first = first_arg(&args, "orders")?;
            let li = nested("lineItems");
            let li_first = match &li {
                Some(a) => first_arg(a, "lineItems")?,
                None => 0,
            };
            let fo_first = match nested("fulfillmentOrders") {
                Some(a) => first_arg(&a, "fulfillmentOrders")?,
                None => 0,
            };
            let has_retail = doc.selects("retailLocation");
            let has_li = li.is_some();
            let has_fo = fo_first > 0;
            let node_cost = move |lines: u64, fos: u64| {
                1 + u64::from(has_retail)
                    + if has_fo { 2 + fos * 3 } else { 0 }
                    + if has_li { 2 + lines * 2 } else { 0 }
            };
            let requested = 2 + first * node_cost(li_first, fo_first);
            let sort = str_arg(&args, "sortKey").unwrap_or_else(|| "PROCESSED_AT".into());
            if !matches!(
                sort.as_str(),
                "UPDATED_AT" | "CREATED_AT" | "PROCESSED_AT" | "ID"
            ) {
                return Err(format!(
                    "Argument 'sortKey' on Field 'orders' has an invalid value ({sort}). Expected type 'OrderSortKeys'."
                ));
            }
            let reverse = args
                .get("reverse")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let after = str_arg(&args, "after");
            let search = Search::parse(&str_arg(&args, "query").unwrap_or_default(), w.now);
            Ok(Plan {
                requested,
                run: Box::new(move |w| {
                    orders(w, first, after, &search, &sort, reverse, li_first, fo_first).map(
                        |(v, counts)| {
                            let actual =
                                2 + counts.iter().map(|&(l, f)| node_cost(l, f)).sum::<u64>();
                            (v, actual)
                        },
                    )
                }),
            })
        }
        "order" => {
            let id = str_arg(&args, "id").ok_or("Argument 'id' on Field 'order' is required")?;
            let li = nested("lineItems");
            let (li_first, li_after) = match &li {
                Some(a) => (first_arg(a, "lineItems")?, str_arg(a, "after")),
                None => (0, None),
            };
            let requested = 1 + if li.is_some() { 2 + li_first * 2 } else { 0 };
            Ok(Plan {
                requested,
                run: Box::new(move |w| {
                    let num = gid_num(&id, "Order");
                    let Some(&idx) = num.and_then(|n| w.order_index.get(&n)) else {
                        return Ok((Value::Null, 1));
                    };
                    let o = &w.orders[idx];
                    let mut v = order_json(w, o, 5);
                    let (lines, n) = line_items_json(w, o, li_first, li_after.as_deref())?;
                    v["lineItems"] = lines;
                    Ok((v, 1 + if li_first > 0 { 2 + n * 2 } else { 0 }))
                }),
            })
        }
        "locations" => {
            let first = first_arg(&args, "locations")?;
            let after = str_arg(&args, "after");
            Ok(Plan {
                requested: 2 + first,
                run: Box::new(move |w| {
                    let items: Vec<(u64, Value)> = w
                        .shop_locations
                        .iter()
                        .map(|l| {
                            (
                                l.num,
                                json!({
                                    "id": format!("gid://shopify/Location/{}", l.num),
                                    "name": l.name,
                                    "isActive": l.active,
                                    "fulfillsOnlineOrders": !l.pos,
                                    "legacyResourceId": l.num.to_string(),
                                }),
                            )
                        })
                        .collect();
                    let (conn, n) = connection(items, first, after.as_deref())?;
                    Ok((conn, 2 + n))
                }),
            })
        }
        "productVariants" => {
            let first = first_arg(&args, "productVariants")?;
            let after = str_arg(&args, "after");
            let per = 1 + u64::from(doc.selects("product"));
            Ok(Plan {
                requested: 2 + first * per,
                run: Box::new(move |w| {
                    let items: Vec<(u64, Value)> = w
                        .variants
                        .iter()
                        .map(|v| {
                            (
                                v.num,
                                json!({
                                    "id": format!("gid://shopify/ProductVariant/{}", v.num),
                                    "sku": v.sku,
                                    "title": v.title,
                                    "displayName": format!("{} - {}", v.product_title, v.title),
                                    "price": format!("{:.2}", v.price_cents as f64 / 100.0),
                                    "product": {
                                        "id": format!("gid://shopify/Product/{}", v.product_num),
                                        "title": v.product_title,
                                        "status": v.product_status,
                                        "isGiftCard": v.gift_card,
                                    },
                                }),
                            )
                        })
                        .collect();
                    let (conn, n) = connection(items, first, after.as_deref())?;
                    Ok((conn, 2 + n * per))
                }),
            })
        }
        "bulkOperationRunQuery" => {
            let doc = str_arg(&args, "query")
                .ok_or("Argument 'query' on Field 'bulkOperationRunQuery' is required")?;
            Ok(Plan {
                requested: 10,
                run: Box::new(move |w| Ok((bulk_run(w, &doc), 10))),
            })
        }
        "bulkOperation" | "node" => {
            let id = str_arg(&args, "id")
                .ok_or_else(|| format!("Argument 'id' on Field '{}' is required", root.name))?;
            let is_node = root.name == "node";
            Ok(Plan {
                requested: 1,
                run: Box::new(move |w| {
                    let num = gid_num(&id, "BulkOperation");
                    let idx = num.and_then(|n| w.bulk_ops.iter().position(|b| b.num == n));
                    Ok((
                        match idx {
                            Some(i) => {
                                let mut v = poll(w, i);
                                if is_node {
                                    v["__typename"] = json!("BulkOperation");
                                }
                                v
                            }
                            None => Value::Null,
                        },
                        1,
                    ))
                }),
            })
        }
        "currentAppInstallation" => Ok(Plan {
            requested: 2,
            run: Box::new(|w| {
                let scopes: Vec<Value> = w
                    .opts
                    .scopes
                    .iter()
                    .map(|s| json!({ "handle": s, "description": format!("sandbox scope {s}") }))
                    .collect();
                Ok((
                    json!({
                        "id": "gid://shopify/AppInstallation/1",
                        "accessScopes": scopes,
                    }),
                    2,
                ))
            }),
        }),
        "currentBulkOperation" => Ok(Plan {
            requested: 1,
            run: Box::new(|w| {
                let v = if w.bulk_ops.is_empty() {
                    Value::Null
                } else {
                    poll(w, w.bulk_ops.len() - 1)
                };
                Ok((v, 1))
            }),
        }),
        other => Err(format!(
            "Field '{other}' doesn't exist on type '{}' (the sandbox answers orders, order, locations, productVariants and bulk operations)",
            if doc.operation == "mutation" {
                "Mutation"
            } else {
                "QueryRoot"
            }
        )),
    }
}

/// The numeric part of `gid://shopify/<kind>/<n>`.
pub fn gid_num(gid: &str, kind: &str) -> Option<u64> {
    gid.strip_prefix("gid://shopify/")?
        .strip_prefix(kind)?
        .strip_prefix('/')?
        .split('?')
        .next()?
        .parse()
        .ok()
}

fn cursor(id: u64, value: &str) -> String {
    B64.encode(json!({"last_id": id, "last_value": value}).to_string())
}

fn decode_cursor(c: &str) -> Result<(u64, String), String> {
    let bad = || format!("Invalid cursor for current pagination sort: '{c}'");
    let bytes = B64.decode(c.trim()).map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let id = v.get("last_id").and_then(Value::as_u64).ok_or_else(bad)?;
    let value = match v.get("last_value") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(bad()),
    };
    Ok((id, value))
}

fn page_info(has_next: bool, has_prev: bool, start: Option<String>, end: Option<String>) -> Value {
    json!({
        "hasNextPage": has_next,
        "hasPreviousPage": has_prev,
        "startCursor": start,
        "endCursor": end,
    })
}

/// A connection over items ordered by id; cursors carry the id.
fn connection(
    items: Vec<(u64, Value)>,
    first: u64,
    after: Option<&str>,
) -> Result<(Value, u64), String> {
    let start = match after {
        Some(c) => {
            let (id, _) = decode_cursor(c)?;
            items
                .iter()
                .position(|(n, _)| *n > id)
                .unwrap_or(items.len())
        }
        None => 0,
    };
    let rest = &items[start..];
    let page: Vec<&(u64, Value)> = rest.iter().take(first as usize).collect();
    let has_next = rest.len() > page.len();
    let edges: Vec<Value> = page
        .iter()
        .map(|(n, v)| json!({"cursor": cursor(*n, &n.to_string()), "node": v}))
        .collect();
    let nodes: Vec<Value> = page.iter().map(|(_, v)| v.clone()).collect();
    let sc = page.first().map(|(n, _)| cursor(*n, &n.to_string()));
    let ec = page.last().map(|(n, _)| cursor(*n, &n.to_string()));
    let n = page.len() as u64;
    Ok((
        json!({"edges": edges, "nodes": nodes, "pageInfo": page_info(has_next, start > 0, sc, ec)}),
        n,
    ))
}

fn line_json(l: &LineItem, w: &World) -> Value {
    json!({
        "id": format!("gid://shopify/LineItem/{}", l.num),
        "sku": l.sku,
        "quantity": l.quantity,
        "currentQuantity": l.current,
        "isGiftCard": l.gift_card,
        "variant": l.variant.map(|v| json!({"id": format!("gid://shopify/ProductVariant/{}", w.variants[v as usize].num)})),
    })
}

fn line_items_json(
    w: &World,
    o: &Order,
    first: u64,
    after: Option<&str>,
) -> Result<(Value, u64), String> {
    let start = match after {
        Some(c) => {
            let (id, _) = decode_cursor(c)?;
            match o.lines.iter().position(|l| l.num == id) {
                Some(i) => i + 1,
                None => return Err(format!("Invalid cursor for line items: '{c}'")),
            }
        }
        None => 0,
    };
    let page: Vec<&LineItem> = o.lines.iter().skip(start).take(first as usize).collect();
    let has_next = start + page.len() < o.lines.len();
    let nodes: Vec<Value> = page.iter().map(|l| line_json(l, w)).collect();
    let edges: Vec<Value> = page
        .iter()
        .zip(&nodes)
        .map(|(l, n)| json!({"cursor": cursor(l.num, &l.num.to_string()), "node": n}))
        .collect();
    Ok((
        json!({
            "nodes": nodes,
            "edges": edges,
            "pageInfo": page_info(
                has_next,
                start > 0,
                page.first().map(|l| cursor(l.num, &l.num.to_string())),
                page.last().map(|l| cursor(l.num, &l.num.to_string())),
            ),
        }),
        page.len() as u64,
    ))
}

/// An order node with its fulfillment orders (first `fo_first`) and no line items.
fn order_json(w: &World, o: &Order, fo_first: u64) -> Value {
    let fos: Vec<Value> = o
        .fos
        .iter()
        .take(fo_first as usize)
        .map(|f| {
            json!({
                "id": format!("gid://shopify/FulfillmentOrder/{}", f.num),
                "assignedLocation": {"location": {"id": w.shop_location_gid(f.location)}},
            })
        })
        .collect();
    let fo_edges: Vec<Value> = o
        .fos
        .iter()
        .zip(&fos)
        .map(|(f, n)| json!({"cursor": cursor(f.num, &f.num.to_string()), "node": n}))
        .collect();
    json!({
        "id": format!("gid://shopify/Order/{}", o.num),
        "legacyResourceId": o.num.to_string(),
        "name": format!("#{}", o.number),
        "createdAt": shopify_dt(o.created),
        "updatedAt": shopify_dt(o.updated),
        "processedAt": shopify_dt(o.created),
        "cancelledAt": o.cancelled.map(shopify_dt),
        "test": o.test,
        "displayFinancialStatus": o.fin.as_str(),
        "retailLocation": o.retail.map(|r| json!({"id": w.shop_location_gid(r)})),
        "fulfillmentOrders": {
            "nodes": fos,
            "edges": fo_edges,
            "pageInfo": page_info(o.fos.len() > fo_first as usize, false, None, None),
        },
    })
}

fn sort_value(o: &Order, sort: &str) -> i64 {
    match sort {
        "UPDATED_AT" => o.updated.timestamp_millis(),
        "ID" => o.num as i64,
        _ => o.created.timestamp_millis(),
    }
}

#[allow(clippy::too_many_arguments)]
fn orders(
    w: &World,
    first: u64,
    after: Option<String>,
    search: &Search,
    sort: &str,
    reverse: bool,
    li_first: u64,
    fo_first: u64,
) -> Result<(Value, Vec<(u64, u64)>), String> {
    let mut matched: Vec<(i64, u64, usize)> = w
        .orders
        .iter()
        .enumerate()
        .filter(|(_, o)| search.matches(o) && visible(w, o))
        .map(|(i, o)| (sort_value(o, sort), o.num, i))
        .collect();
    matched.sort_unstable();
    if reverse {
        matched.reverse();
    }
    let start = match after.as_deref() {
        Some(c) => {
            let (id, value) = decode_cursor(c)?;
            let key: i64 = value
                .parse()
                .map_err(|_| format!("Invalid cursor for current pagination sort: '{c}'"))?;
            matched
                .iter()
                .position(|&(k, n, _)| {
                    if reverse {
                        (k, n) < (key, id)
                    } else {
                        (k, n) > (key, id)
                    }
                })
                .unwrap_or(matched.len())
        }
        None => 0,
    };
    let rest = &matched[start..];
    let page = &rest[..rest.len().min(first as usize)];
    let has_next = rest.len() > page.len();
    let mut edges = Vec::with_capacity(page.len());
    let mut nodes = Vec::with_capacity(page.len());
    let mut counts = Vec::with_capacity(page.len());
    for &(k, n, i) in page {
        let o = &w.orders[i];
        let mut v = order_json(w, o, fo_first);
        let (lines, ln) = line_items_json(w, o, li_first, None)?;
        v["lineItems"] = lines;
        counts.push((ln, (o.fos.len() as u64).min(fo_first)));
        edges.push(json!({"cursor": cursor(n, &k.to_string()), "node": v.clone()}));
        nodes.push(v);
    }
    let sc = page.first().map(|&(k, n, _)| cursor(n, &k.to_string()));
    let ec = page.last().map(|&(k, n, _)| cursor(n, &k.to_string()));
    Ok((
        json!({"edges": edges, "nodes": nodes, "pageInfo": page_info(has_next, start > 0, sc, ec)}),
        counts,
    ))
}

fn bulk_json(w: &World, b: &BulkOp) -> Value {
    let total = bulk_object_count(w, b);
    let (objects, url) = match b.status {
        BulkStatus::Created | BulkStatus::Failed => (0, None),
        BulkStatus::Running => (total / 2, None),
        BulkStatus::Completed => (
            total,
            if total > 0 {
                Some(format!("{}/sandbox/bulk/{}.jsonl", w.base_url, b.num))
            } else {
                None
            },
        ),
    };
    let roots = match b.status {
        BulkStatus::Completed => b.orders.len(),
        BulkStatus::Running => b.orders.len() / 2,
        BulkStatus::Created | BulkStatus::Failed => 0,
    };
    json!({
        "id": format!("gid://shopify/BulkOperation/{}", b.num),
        "status": b.status.as_str(),
        "errorCode": b.fails_with.filter(|_| b.status == BulkStatus::Failed),
        "createdAt": shopify_dt(b.created_at),
        "completedAt": b.completed_at.map(shopify_dt),
        "objectCount": objects.to_string(),
        "rootObjectCount": roots.to_string(),
        "fileSize": null,
        "url": url,
        "partialDataUrl": null,
        "type": "QUERY",
        "query": b.query,
    })
}

fn bulk_object_count(w: &World, b: &BulkOp) -> u64 {
    let fos = graphql::selects(&b.query, "fulfillmentOrders");
    b.orders
        .iter()
        .filter_map(|n| w.order_index.get(n))
        .map(|&i| {
            1 + w.orders[i].lines.len() as u64 + if fos { w.orders[i].fos.len() as u64 } else { 0 }
        })
        .sum()
}

/// Answers a poll: the first poll sees RUNNING, the next COMPLETED.
fn poll(w: &mut World, idx: usize) -> Value {
    let now = w.now;
    let b = &mut w.bulk_ops[idx];
    b.polls += 1;
    match (b.status, b.fails_with) {
        (BulkStatus::Created, Some(_)) | (BulkStatus::Running, Some(_)) => {
            b.status = BulkStatus::Failed;
            b.completed_at = Some(now);
        }
        (BulkStatus::Created, None) => b.status = BulkStatus::Running,
        (BulkStatus::Running, None) => {
            b.status = BulkStatus::Completed;
            b.completed_at = Some(now);
        }
        (BulkStatus::Completed | BulkStatus::Failed, _) => {}
    }
    let b = w.bulk_ops[idx].clone();
    bulk_json(w, &b)
}

fn bulk_run(w: &mut World, doc: &str) -> Value {
    let user_error = |msg: &str| {
        json!({
            "bulkOperation": null,
            "userErrors": [{"field": ["query"], "message": msg}],
        })
    };
    let parsed = match Document::parse(doc) {
        Ok(parsed) => parsed,
        Err(e) => return user_error(&format!("Invalid bulk query: {e}")),
    };
    let root = &parsed.root;
    if root.name != "orders" {
        return user_error(&format!(
            "Invalid bulk query: the sandbox runs bulk queries over 'orders' only, not '{}'",
            root.name
        ));
    }
    let args = root.args(&Value::Null);
    let running = w
        .bulk_ops
        .iter()
        .filter(|b| matches!(b.status, BulkStatus::Created | BulkStatus::Running))
        .count();
    if running >= 5 {
        let id = w
            .bulk_ops
            .iter()
            .rev()
            .find(|b| matches!(b.status, BulkStatus::Created | BulkStatus::Running))
            .map(|b| b.num)
            .unwrap_or(0);
        return user_error(&format!(
            "A bulk query operation for this app and shop is already in progress: gid://shopify/BulkOperation/{id}."
        ));
    }
    let search = Search::parse(&str_arg(&args, "query").unwrap_or_default(), w.now);
    let mut orders: Vec<u64> = w
        .orders
        .iter()
        .filter(|o| search.matches(o) && visible(w, o))
        .map(|o| o.num)
        .collect();
    // A bulk query reading what the token may not is accepted, then ends FAILED.
    let fails_with = access_denied(w, &parsed).map(|_| "ACCESS_DENIED");
    orders.sort_unstable();
    let num = w.next_bulk;
    w.next_bulk += 1;
    let op = BulkOp {
        num,
        status: BulkStatus::Created,
        created_at: w.now,
        completed_at: None,
        polls: 0,
        query: doc.to_string(),
        orders,
        fails_with,
        downloads: 0,
    };
    let v = bulk_json(w, &op);
    w.bulk_ops.push(op);
    json!({"bulkOperation": v, "userErrors": []})
}

/// The JSONL result of a bulk operation: each order, then its line items and fulfillment orders
/// carrying `__parentId`. Children of every other order are held back until after the next order's
/// line, so children follow their parent but not always directly.
pub fn bulk_jsonl(w: &World, b: &BulkOp) -> String {
    let with_fulfillment_orders = graphql::selects(&b.query, "fulfillmentOrders");
    let mut out = String::new();
    let mut held: Vec<String> = Vec::new();
    for (k, num) in b.orders.iter().enumerate() {
        let Some(&i) = w.order_index.get(num) else {
            continue;
        };
        let o = &w.orders[i];
        let gid = format!("gid://shopify/Order/{}", o.num);
        let head = json!({
            "id": gid,
            "name": format!("#{}", o.number),
            "createdAt": shopify_dt(o.created),
            "updatedAt": shopify_dt(o.updated),
            "cancelledAt": o.cancelled.map(shopify_dt),
            "test": o.test,
            "displayFinancialStatus": o.fin.as_str(),
            "retailLocation": o.retail.map(|r| json!({"id": w.shop_location_gid(r)})),
        });
        out.push_str(&head.to_string());
        out.push('\n');
        for line in held.drain(..) {
            out.push_str(&line);
            out.push('\n');
        }
        let mut children = Vec::new();
        for f in o.fos.iter().filter(|_| with_fulfillment_orders) {
            children.push(
                json!({
                    "id": format!("gid://shopify/FulfillmentOrder/{}", f.num),
                    "assignedLocation": {"location": {"id": w.shop_location_gid(f.location)}},
                    "__parentId": gid,
                })
                .to_string(),
            );
        }
        for l in &o.lines {
            let mut v = line_json(l, w);
            v["__parentId"] = json!(gid);
            children.push(v.to_string());
        }
        if k % 2 == 1 {
            held = children;
        } else {
            for line in children {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    for line in held {
        out.push_str(&line);
        out.push('\n');
    }
    out
}
