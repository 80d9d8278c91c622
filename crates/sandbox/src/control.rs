//! The `/sandbox/*` routes: the clock (`tick`), the buyer and the warehouse (`approve`, `receive`),
//! the true demand and the products' demand shapes, the inspection state, and the bulk-operation
//! result files. No auth, no faults, no rate limits: these are for tests, benchmarks and demos, not
//! imitations of a real API — except the result files, which behave like the signed storage URLs
//! Shopify hands out (byte ranges), optionally slow (`bulk_bytes_per_sec`) or cut once
//! (`bulk_drop_after`).

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate};
use serde_json::{Value, json};

use super::state::*;
use super::util::*;
use super::{App, cin7, orders, shopify, webhooks};

fn problem(status: StatusCode, msg: &str) -> Response {
    json(status, &json!({"error": msg}))
}

/// Receives every line of a purchase into stock at its location.
pub fn receive_purchase(w: &mut World, idx: usize) {
    receive_purchase_short(w, idx, 0.0);
}

/// Receives a purchase, putting `short` fewer units of its first line into stock than the receipt
/// records (a miscount on the dock, for reconcile tests).
pub fn receive_purchase_short(w: &mut World, idx: usize, short: f64) {
    let now = w.now.naive_utc();
    let lines: Vec<(u32, f64)> = w.purchases[idx]
        .lines
        .iter()
        .map(|l| (l.product, l.quantity))
        .collect();
    let loc = w.purchases[idx].location;
    for (i, (p, q)) in lines.into_iter().enumerate() {
        w.add_stock(p, loc, if i == 0 { q - short } else { q });
    }
    let p = &mut w.purchases[idx];
    p.status = "RECEIVED".into();
    p.order_status = "AUTHORISED".into();
    p.stock_received_status = "AUTHORISED".into();
    p.last_updated = now;
}

/// Advances the clock by `hours`: new orders, a few refunds/cancellations, arrivals.
pub fn advance(w: &mut World, hours: f64) -> (Value, Vec<webhooks::Delivery>) {
    let from = w.now;
    let to = from + Duration::seconds((hours * 3600.0).round() as i64);
    let new = orders::generate_span(w, from, to, true);
    let updated = orders::update_orders(w, from, to);
    w.now = to;
    let due: Vec<usize> = (0..w.purchases.len())
        .filter(|&i| {
            let p = &w.purchases[i];
            p.is_on_order() && p.required_by.is_some_and(|r| r <= to.naive_utc())
        })
        .collect();
    let mut received = Vec::new();
    for i in due {
        receive_purchase(w, i);
        received.push(w.purchases[i].order_number.clone());
    }
    let deliveries = webhooks::plan(w, &new);
    (
        json!({
            "now": shopify_dt(w.now),
            "new_orders": new.len(),
            "updated_orders": updated,
            "received_purchases": received,
            "webhooks_queued": deliveries.len(),
        }),
        deliveries,
    )
}

/// `POST /sandbox/tick?hours=N`
pub async fn tick(State(app): State<App>, RawQuery(q): RawQuery) -> Response {
    let params = Params::parse(q.as_deref());
    let Some(raw) = params.non_empty("hours") else {
        return problem(
            StatusCode::BAD_REQUEST,
            "hours is required, e.g. /sandbox/tick?hours=24",
        );
    };
    let hours = match raw.parse::<f64>() {
        Ok(h) if h > 0.0 && h <= 24.0 * 366.0 => h,
        _ => {
            return problem(
                StatusCode::BAD_REQUEST,
                &format!("hours must be a number above 0 and at most 8784, got '{raw}'"),
            );
        }
    };
    let (body, deliveries) = {
        let mut w = app.lock();
        advance(&mut w, hours)
    };
    if !deliveries.is_empty() {
        tokio::spawn(webhooks::deliver(app.clone(), deliveries));
    }
    json(StatusCode::OK, &body)
}

/// Records a receipt as a DRAFT: the warehouse is still counting, so nothing reaches the stock
/// and the goods stay on order; the purchase is `RECEIVING` and its `StockReceived` lines show.
pub fn receive_purchase_draft(w: &mut World, idx: usize) {
    let now = w.now.naive_utc();
    let p = &mut w.purchases[idx];
    p.status = "RECEIVING".into();
    p.order_status = "AUTHORISED".into();
    p.stock_received_status = "DRAFT".into();
    p.last_updated = now;
}

/// What the warehouse does with a purchase (`None` in [`purchase_action`]: the buyer approves it).
#[derive(Debug, Clone, Copy)]
enum Receive {
    /// Receive it (authorised), `short` fewer units of the first line reaching the stock.
    Authorised { short: f64 },
    /// Record a draft receipt.
    Draft,
}

fn purchase_action(app: &App, id: &str, receive: Option<Receive>) -> Response {
    let mut w = app.lock();
    let Some(i) = w.purchase_by_id(id) else {
        return problem(
            StatusCode::NOT_FOUND,
            &format!("no purchase with ID or order number '{id}'"),
        );
    };
    let status = w.purchases[i].status.clone();
    if let Some(how) = receive {
        let allowed = match how {
            Receive::Authorised { .. } => ["ORDERING", "ORDERED", "RECEIVING"].as_slice(),
            Receive::Draft => ["ORDERING", "ORDERED"].as_slice(),
        };
        if !allowed.contains(&status.as_str()) {
            return problem(
                StatusCode::CONFLICT,
                &format!(
                    "purchase {id} is {status}; only {} purchases can be received that way",
                    allowed.join(" or ")
                ),
            );
        }
        if w.purchases[i].lines.is_empty() {
            return problem(StatusCode::CONFLICT, &format!("purchase {id} has no lines"));
        }
        match how {
            Receive::Authorised { short } => receive_purchase_short(&mut w, i, short),
            Receive::Draft => receive_purchase_draft(&mut w, i),
        }
    } else {
        if status != "ORDERING" {
            return problem(
                StatusCode::CONFLICT,
                &format!(
                    "purchase {id} is {status}; only a DRAFT order (status ORDERING) can be approved"
                ),
            );
        }
        let now = w.now.naive_utc();
        let p = &mut w.purchases[i];
        p.status = "ORDERED".into();
        p.order_status = "AUTHORISED".into();
        p.last_updated = now;
    }
    json(StatusCode::OK, &cin7::purchase_json(&w, &w.purchases[i]))
}

/// `POST /sandbox/purchase/{id}/approve`: the buyer authorises a draft.
pub async fn approve(State(app): State<App>, Path(id): Path<String>) -> Response {
    purchase_action(&app, &id, None)
}

/// `POST /sandbox/purchase/{id}/receive[?stock_short=N][?draft=true]`: the warehouse receives
/// the goods (`stock_short`: N fewer units of the first line reach the stock than the receipt
/// records), or with `draft=true` records a DRAFT receipt that moves no stock yet (receiving it
/// again later authorises it).
pub async fn receive(
    State(app): State<App>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let params = Params::parse(q.as_deref());
    let short = match params.non_empty("stock_short").map(str::parse::<f64>) {
        None => 0.0,
        Some(Ok(n)) if n.is_finite() && n >= 0.0 => n,
        Some(_) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "stock_short must be a number of units, 0 or more",
            );
        }
    };
    let how = if params.flag("draft") {
        if short != 0.0 {
            return problem(
                StatusCode::BAD_REQUEST,
                "a draft receipt moves no stock: stock_short does not apply",
            );
        }
        Receive::Draft
    } else {
        Receive::Authorised { short }
    };
    purchase_action(&app, &id, Some(how))
}

/// `GET /sandbox/demand?sku=&location=&from=&to=`: the true daily demand (before stockouts
/// censored the sales), summed over all locations when `location` is absent.
pub async fn demand(State(app): State<App>, RawQuery(q): RawQuery) -> Response {
    let params = Params::parse(q.as_deref());
    let w = app.lock();
    let Some(sku) = params.non_empty("sku") else {
        return problem(StatusCode::BAD_REQUEST, "sku is required");
    };
    let Some(p) = w.product_by_sku(sku) else {
        return problem(
            StatusCode::NOT_FOUND,
            &format!("no Cin7 product with SKU '{sku}'"),
        );
    };
    let loc = match params.non_empty("location") {
        None => None,
        Some(name) => match w.location_by_name(name) {
            Some(l) => Some(l as u16),
            None => {
                return problem(
                    StatusCode::NOT_FOUND,
                    &format!("no Cin7 location named '{name}'"),
                );
            }
        },
    };
    let date = |name: &str, default: NaiveDate| -> Result<NaiveDate, String> {
        match params.non_empty(name) {
            None => Ok(default),
            Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| format!("{name} must be YYYY-MM-DD, got '{v}'")),
        }
    };
    let from = match date("from", w.history_start.date_naive()) {
        Ok(d) => d,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &e),
    };
    let to = match date("to", w.now.date_naive()) {
        Ok(d) => d,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &e),
    };
    if to < from || (to - from).num_days() > 3660 {
        return problem(
            StatusCode::BAD_REQUEST,
            "from must not be after to, and the range at most 10 years",
        );
    }
    let locs: Vec<u16> = match loc {
        Some(l) => vec![l],
        None => (0..w.locations.len() as u16).collect(),
    };
    let mut days = Vec::new();
    let mut d = from;
    while d <= to {
        let k = chrono::Datelike::num_days_from_ce(&d);
        let mut demand = 0.0;
        let mut censored = 0.0;
        for &l in &locs {
            demand += w.demand.get(&(p as u32, l, k)).copied().unwrap_or(0.0);
            censored += w.censored.get(&(p as u32, l, k)).copied().unwrap_or(0.0);
        }
        days.push(json!({
            "date": d.format("%Y-%m-%d").to_string(),
            "demand": num(demand),
            "sold": num(demand - censored),
            "stocked_out": censored > 0.0,
        }));
        d += Duration::days(1);
    }
    json(
        StatusCode::OK,
        &json!({
            "sku": sku,
            "location": loc.map(|l| w.locations[l as usize].name.clone()),
            "days": days,
        }),
    )
}

/// The date of a [`day_key`].
fn day_date(key: i32) -> String {
    NaiveDate::from_num_days_from_ce_opt(key)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The demand truth per Cin7 product sold on Shopify (`GET /sandbox/catalog`), in product order:
/// its shape and the shape's parameters, so tests and analyses can group products by shape.
/// `units_per_day` is the approximate mean true demand at a shape factor of 1 (all warehouses),
/// from the orders' expected volume; `growth` (trending, fading) the factor every 120 days;
/// `season_peak_day` (day of the year) and `season_amplitude` (seasonal); `promotions` the
/// windows, first and last day included. `GET /sandbox/demand` has the real daily figures.
/// Products never sold on Shopify (wholesale-only) are absent.
pub fn catalog_value(w: &World) -> Value {
    let total: f64 = w.sellables.iter().map(|s| s.base).sum();
    let volume = f64::from(w.opts.orders_per_day) * crate::generator::UNITS_PER_ORDER;
    let mut weight = vec![0.0; w.products.len()];
    let mut first: Vec<Option<usize>> = vec![None; w.products.len()];
    for (i, s) in w.sellables.iter().enumerate() {
        if let Some(p) = s.product {
            weight[p as usize] += s.base;
            first[p as usize].get_or_insert(i);
        }
    }
    let rows: Vec<Value> = first
        .iter()
        .enumerate()
        .filter_map(|(p, i)| i.map(|i| (&w.products[p], &w.sellables[i], weight[p])))
        .map(|(p, s, weight)| {
            let trend = matches!(s.shape, Shape::Trending | Shape::Fading);
            let seasonal = s.shape == Shape::Seasonal;
            let promotions: Vec<Value> = s
                .promotions
                .iter()
                .map(|x| {
                    json!({
                        "first_day": day_date(x.from),
                        "last_day": day_date(x.to - 1),
                        "uplift": num(x.uplift),
                    })
                })
                .collect();
            json!({
                "sku": p.sku,
                "shape": s.shape.as_str(),
                "units_per_day": num(if total > 0.0 { volume * weight / total } else { 0.0 }),
                "growth": if trend { num(s.growth) } else { Value::Null },
                "season_peak_day": if seasonal { json!(s.peak_day) } else { Value::Null },
                "season_amplitude": if seasonal { num(s.amplitude) } else { Value::Null },
                "promotions": promotions,
                "sells_until": s.until.map(shopify_dt),
                "active": p.active,
                "type": p.kind,
            })
        })
        .collect();
    Value::Array(rows)
}

/// `GET /sandbox/catalog`
pub async fn catalog(State(app): State<App>) -> Response {
    let w = app.lock();
    json(StatusCode::OK, &catalog_value(&w))
}

/// The inspection JSON (`GET /sandbox/state`).
pub fn state_value(w: &World) -> Value {
    let purchases: Vec<Value> = w
        .purchases
        .iter()
        .map(|p| cin7::purchase_json(w, p))
        .collect();
    json!({
        "now": shopify_dt(w.now),
        "start": shopify_dt(w.start),
        "history_start": shopify_dt(w.history_start),
        "purchases": purchases,
        "requests": w.requests,
        "throttled": {"cin7": w.throttled_cin7, "shopify": w.throttled_shopify},
        "faults": w.faults,
        "faults_by_kind": w.faults_by_kind,
        "webhook_deliveries": w.webhook_deliveries,
        "webhooks": w.webhook_log,
        "orders": w.orders.len(),
        "products": w.products.len(),
        "bulk_operations": w.bulk_ops.len(),
        "bulk_downloads": w.bulk_downloads,
        "shopify_bucket": {
            "currentlyAvailable": num(w.bucket.available),
            "maximumAvailable": num(w.opts.shopify_bucket),
        },
    })
}

/// `GET /sandbox/state`
pub async fn state(State(app): State<App>) -> Response {
    let w = app.lock();
    json(StatusCode::OK, &state_value(&w))
}

/// `GET /sandbox/bulk/{n}.jsonl`: a completed bulk operation's result (no auth, like a signed URL).
///
/// Like the signed storage URLs Shopify hands out, it honours `Range: bytes=N-` (and `N-M`) with
/// `206 Partial Content`, `Content-Range` and `Accept-Ranges: bytes` (416 past the end; other
/// range forms are ignored and the whole file is served). `bulk_bytes_per_sec` paces the body;
/// `bulk_drop_after` cuts the connection after that many bytes of a file's first download.
/// Every request is logged in `bulk_downloads` of `GET /sandbox/state`.
pub async fn bulk_file(
    State(app): State<App>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (body, rate, cut_after, status, from, to) = {
        let mut w = app.lock();
        let num = file
            .strip_suffix(".jsonl")
            .and_then(|n| n.parse::<u64>().ok());
        let Some(idx) = num.and_then(|n| w.bulk_ops.iter().position(|b| b.num == n)) else {
            return (
                StatusCode::NOT_FOUND,
                "NoSuchKey: the specified key does not exist.",
            )
                .into_response();
        };
        if w.bulk_ops[idx].status != BulkStatus::Completed {
            return (
                StatusCode::NOT_FOUND,
                "NoSuchKey: the operation has not completed.",
            )
                .into_response();
        }
        let body = Bytes::from(shopify::bulk_jsonl(&w, &w.bulk_ops[idx]));
        let size = body.len() as u64;
        let first = w.bulk_ops[idx].downloads == 0;
        w.bulk_ops[idx].downloads += 1;
        let (status, from, to) = match range.as_deref().and_then(byte_range) {
            None => (StatusCode::OK, 0, size),
            Some((start, _)) if start >= size => (StatusCode::RANGE_NOT_SATISFIABLE, size, size),
            Some((start, end)) => (
                StatusCode::PARTIAL_CONTENT,
                start,
                end.map_or(size, |e| e.saturating_add(1).min(size)),
            ),
        };
        let cut_after = w.opts.bulk_drop_after.filter(|&n| first && n < to - from);
        w.bulk_downloads.push(BulkDownloadRecord {
            file: file.clone(),
            range: range.clone(),
            status: status.as_u16(),
            from,
            bytes: to - from,
            size,
            cut_after,
        });
        (body, w.opts.bulk_bytes_per_sec, cut_after, status, from, to)
    };
    let size = body.len() as u64;
    if status == StatusCode::RANGE_NOT_SATISFIABLE {
        return (
            status,
            [
                (header::CONTENT_RANGE, format!("bytes */{size}")),
                (header::ACCEPT_RANGES, "bytes".to_string()),
            ],
        )
            .into_response();
    }
    let part = body.slice(from as usize..to as usize);
    let len = part.len();
    let body = if rate.is_none() && cut_after.is_none() {
        Body::from(part)
    } else {
        Body::from_stream(paced(part, rate, cut_after))
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jsonl"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) =
            HeaderValue::from_str(&format!("bytes {from}-{}/{size}", to.saturating_sub(1)))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    response
}

/// `bytes=N-` or `bytes=N-M` → (N, M); any other form (suffix, several ranges) → None.
fn byte_range(value: &str) -> Option<(u64, Option<u64>)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end = match end.trim() {
        "" => None,
        e => Some(e.parse::<u64>().ok().filter(|&e| e >= start)?),
    };
    Some((start, end))
}

/// The body of a bulk answer: `data` in chunks, at `rate` bytes a second when given (on a fixed
/// schedule, so slow polling does not lower the rate), ending in a broken connection after
/// `cut_after` bytes when given.
fn paced(
    data: Bytes,
    rate: Option<u64>,
    cut_after: Option<u64>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    struct Pace {
        data: Bytes,
        sent: usize,
        started: tokio::time::Instant,
        done: bool,
    }
    let chunk = rate.map_or(64 * 1024, |r| (r / 20).clamp(1, 64 * 1024) as usize);
    let start = Pace {
        data,
        sent: 0,
        started: tokio::time::Instant::now(),
        done: false,
    };
    futures_util::stream::unfold(start, move |mut p| async move {
        if p.done || p.sent >= p.data.len() {
            return None;
        }
        let limit = cut_after.map_or(p.data.len(), |c| (c as usize).min(p.data.len()));
        if p.sent >= limit {
            // Let what was sent reach the client, then break the connection.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            p.done = true;
            let cut = std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "sandbox: connection cut (bulk_drop_after)",
            );
            return Some((Err(cut), p));
        }
        if let Some(rate) = rate {
            let due = p.started + std::time::Duration::from_secs_f64(p.sent as f64 / rate as f64);
            tokio::time::sleep_until(due).await;
        }
        let n = chunk.min(limit - p.sent);
        let piece = p.data.slice(p.sent..p.sent + n);
        p.sent += n;
        Some((Ok(piece), p))
    })
}
