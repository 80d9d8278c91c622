//! The Cin7 Core API v2 imitation under `/cin7/ExternalApi/v2/`: auth headers, the rolling-minute
//! rate limit, paging envelopes, the read endpoints the client uses, and the two-step purchase
//! order writes with Cin7-style validation.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::App;
use super::faults::{self, Fault};
use super::state::*;
use super::util::*;

/// A Cin7 error answer: `[{"ErrorCode": code, "Exception": message}]` with the given status.
pub fn error(status: StatusCode, message: &str) -> Response {
    json(
        status,
        &json!([{"ErrorCode": status.as_u16(), "Exception": message}]),
    )
}

fn bad(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message)
}

/// The canonical endpoint name for a lower-cased path, for routing and request counting.
fn endpoint(path: &str) -> Option<&'static str> {
    let p = path.trim_matches('/').to_ascii_lowercase();
    Some(match p.as_str() {
        "ref/location" => "ref/location",
        "ref/productavailability" => "ref/productavailability",
        "product" => "product",
        "supplier" => "supplier",
        "purchaselist" => "purchaseList",
        "purchase" => "purchase",
        "purchase/order" => "purchase/order",
        "me" => "me",
        _ => return None,
    })
}

/// Entry point for every Cin7 request.
pub async fn handle(
    State(app): State<App>,
    method: Method,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ep = endpoint(&path);
    let name = ep.map(str::to_string).unwrap_or_else(|| path.clone());
    let creates = ep == Some("purchase") && method == Method::POST;
    let fault = {
        let mut w = app.lock();
        w.count_request(format!("cin7 {method} {name}"));
        if let Some(resp) = throttle(&mut w) {
            return resp;
        }
        let has = |h: &str| {
            headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| !v.trim().is_empty())
        };
        if !has("api-auth-accountid") || !has("api-auth-applicationkey") {
            return (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Incorrect credentials!",
            )
                .into_response();
        }
        faults::draw(&mut w, true, creates)
    };
    let retry_after = app.lock().opts.retry_after_secs;
    match fault {
        Some(Fault::Slow) => tokio::time::sleep(faults::SLOW).await,
        Some(
            f @ (Fault::Unavailable
            | Fault::TooManyRequests
            | Fault::Internal
            | Fault::ErrorCode200
            | Fault::Dropped),
        ) => {
            return faults::respond(f, true, retry_after);
        }
        _ => {}
    }
    let params = Params::parse(query.as_deref());
    let resp = {
        let mut w = app.lock();
        match (ep, &method) {
            (Some("ref/location"), &Method::GET) => locations(&w, &params),
            (Some("ref/productavailability"), &Method::GET) => availability(&w, &params),
            (Some("product"), &Method::GET) => products(&w, &params),
            (Some("supplier"), &Method::GET) => suppliers(&w, &params),
            (Some("purchaseList"), &Method::GET) => purchase_list(&w, &params),
            (Some("purchase"), &Method::GET) => get_purchase(&w, &params),
            (Some("purchase"), &Method::POST) => post_purchase(&mut w, &body),
            (Some("purchase"), &Method::DELETE) => delete_purchase(&mut w, &params),
            (Some("purchase/order"), &Method::GET) => get_purchase_order(&w, &params),
            (Some("purchase/order"), &Method::POST) => post_purchase_order(&mut w, &body),
            (Some("me"), &Method::GET) => me(&w),
            (Some(_), _) => error(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("Method {method} is not allowed for {name}"),
            ),
            (None, _) => error(
                StatusCode::NOT_FOUND,
                &format!("Endpoint not found: {path}"),
            ),
        }
    };
    if fault == Some(Fault::CreatedLost) {
        return faults::lose_answer(resp).await;
    }
    resp
}

/// The rolling-minute limit. Every request (throttled ones too) enters the window.
fn throttle(w: &mut World) -> Option<Response> {
    let now = Instant::now();
    while w
        .cin7_window
        .front()
        .is_some_and(|&t| now.duration_since(t) >= Duration::from_secs(60))
    {
        w.cin7_window.pop_front();
    }
    let over = w.cin7_window.len() >= w.opts.cin7_rpm as usize;
    w.cin7_window.push_back(now);
    if !over {
        return None;
    }
    w.throttled_cin7 += 1;
    let text = format!("You reached {} calls per minute API limit", w.opts.cin7_rpm);
    if w.opts.throttle_status == 429 {
        let mut r = error(StatusCode::TOO_MANY_REQUESTS, &text);
        if let Ok(v) = HeaderValue::from_str(&w.opts.retry_after_secs.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        Some(r)
    } else {
        Some(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                text,
            )
                .into_response(),
        )
    }
}

/// `Page`/`Limit` with Cin7's defaults and bounds.
fn paging(params: &Params) -> Result<(usize, usize), String> {
    let page = match params.non_empty("Page") {
        None => 1,
        Some(v) => match v.parse::<i64>() {
            Ok(p) if p >= 1 => p as usize,
            _ => {
                return Err(format!(
                    "Page must be a whole number of 1 or more, got '{v}'"
                ));
            }
        },
    };
    let limit = match params.non_empty("Limit") {
        None => 100,
        Some(v) => match v.parse::<i64>() {
            Ok(l) if (1..=1000).contains(&l) => l as usize,
            _ => return Err(format!("Limit must be between 1 and 1000, got '{v}'")),
        },
    };
    Ok((page, limit))
}

/// One page of a list: `{Total, Page, <key>: [...]}`. A page holds s = min(`Limit`, the page cap)
/// rows — like Cin7, the sandbox may serve fewer rows than asked (`--cin7-page-cap`) — and page p
/// covers rows [(p − 1)·s, p·s); `Total` counts every matching row.
fn envelope(w: &World, params: &Params, key: &str, rows: Vec<Value>) -> Response {
    let (page, limit) = match paging(params) {
        Ok(x) => x,
        Err(e) => return bad(&e),
    };
    let served = limit.min(w.opts.cin7_page_cap.max(1) as usize);
    let total = rows.len();
    let rows: Vec<Value> = rows
        .into_iter()
        .skip((page - 1).saturating_mul(served))
        .take(served)
        .collect();
    let mut obj = serde_json::Map::new();
    obj.insert("Total".into(), json!(total));
    obj.insert("Page".into(), json!(page));
    obj.insert(key.into(), Value::Array(rows));
    json(StatusCode::OK, &Value::Object(obj))
}

fn since(params: &Params, name: &str) -> Result<Option<chrono::NaiveDateTime>, String> {
    match params.non_empty(name) {
        None => Ok(None),
        Some(v) => parse_datetime(v)
            .map(|t| Some(t.naive_utc()))
            .ok_or_else(|| {
                format!("{name} must be a date-time like 2026-01-31T00:00:00, got '{v}'")
            }),
    }
}

fn me(w: &World) -> Response {
    json(
        StatusCode::OK,
        &json!({
            "Company": "Sandbox Trading Co",
            "Currency": "USD",
            "TimeZone": "(UTC) Coordinated Universal Time",
            "DefaultLocation": w.locations.first().map(|l| l.name.clone()),
        }),
    )
}

fn locations(w: &World, params: &Params) -> Response {
    let rows = w
        .locations
        .iter()
        .filter(|l| {
            params
                .non_empty("Name")
                .is_none_or(|n| l.name.eq_ignore_ascii_case(n))
        })
        .filter(|l| {
            params
                .non_empty("ID")
                .is_none_or(|id| l.id.eq_ignore_ascii_case(id))
        })
        .map(|l| {
            json!({
                "ID": l.id,
                "Name": l.name,
                "IsDefault": l.is_default,
                "Deprecated": l.kind == LocKind::Deprecated,
                "ParentID": null,
                "IsCoMan": false,
                "IsStaging": false,
                "Bins": [],
            })
        })
        .collect();
    envelope(w, params, "LocationList", rows)
}

fn availability(w: &World, params: &Params) -> Response {
    let on_order = w.on_order();
    let mut keys: Vec<(u32, u16)> = w.stock_index.keys().copied().collect();
    for k in on_order.keys() {
        if !w.stock_index.contains_key(k) {
            keys.push(*k);
        }
    }
    keys.sort_by(|a, b| {
        w.products[a.0 as usize]
            .sku
            .cmp(&w.products[b.0 as usize].sku)
            .then(a.1.cmp(&b.1))
    });
    let sku = params.non_empty("Sku");
    let loc = params.non_empty("Location");
    let id = params.non_empty("ID");
    let name = params.non_empty("Name").map(str::to_lowercase);
    let batch = params.non_empty("Batch");
    let empty: Vec<usize> = Vec::new();
    let mut rows = Vec::new();
    for (p, l) in keys {
        let prod = &w.products[p as usize];
        let location = &w.locations[l as usize];
        if sku.is_some_and(|s| s != prod.sku)
            || loc.is_some_and(|n| !n.eq_ignore_ascii_case(&location.name))
            || id.is_some_and(|i| !i.eq_ignore_ascii_case(&prod.id))
            || name
                .as_ref()
                .is_some_and(|n| !prod.name.to_lowercase().contains(n))
        {
            continue;
        }
        let (ordered, next) = match on_order.get(&(p, l)) {
            Some((q, when)) => (*q, Some(cin7_date(when.date()))),
            None => (0.0, None),
        };
        let stock_rows = w.stock_index.get(&(p, l)).unwrap_or(&empty);
        let synthetic = StockRow {
            product: p,
            location: l,
            bin: None,
            batch: None,
            expiry: None,
            on_hand: 0.0,
            allocated: 0.0,
            in_transit: 0.0,
        };
        let list: Vec<&StockRow> = if stock_rows.is_empty() {
            vec![&synthetic]
        } else {
            stock_rows.iter().map(|&i| &w.stock[i]).collect()
        };
        for (k, r) in list.into_iter().enumerate() {
            let oo = if k == 0 { ordered } else { 0.0 };
            let available = r.on_hand - r.allocated;
            if r.on_hand == 0.0 && available == 0.0 && oo == 0.0 && r.in_transit == 0.0 {
                continue;
            }
            if batch.is_some_and(|b| r.batch.as_deref() != Some(b)) {
                continue;
            }
            rows.push(json!({
                "ID": prod.id,
                "SKU": prod.sku,
                "Name": prod.name,
                "Barcode": prod.barcode,
                "Location": location.name,
                "Bin": r.bin,
                "Batch": r.batch,
                "ExpiryDate": r.expiry.map(cin7_date),
                "OnHand": num(r.on_hand),
                "Allocated": num(r.allocated),
                "Available": num(available),
                "OnOrder": num(oo),
                "StockOnHand": num(round2(r.on_hand * prod.average_cost_cents as f64 / 100.0)),
                "InTransit": num(r.in_transit),
                "NextDeliveryDate": if k == 0 { next.clone() } else { None },
            }));
        }
    }
    envelope(w, params, "ProductAvailabilityList", rows)
}

fn option_json(w: &World, o: &SupplierOption) -> Value {
    let (lid, lname) = match o.location {
        Some(l) => (
            Value::String(w.locations[l as usize].id.clone()),
            Value::String(w.locations[l as usize].name.clone()),
        ),
        None => (
            Value::String(ZERO_GUID.into()),
            if o.null_name {
                Value::Null
            } else {
                Value::String(String::new())
            },
        ),
    };
    json!({
        "ID": o.id,
        "LocationID": lid,
        "LocationName": lname,
        "ReorderQuantity": num(o.reorder_quantity),
        "Lead": o.lead,
        "Safety": o.safety,
        "MinimumToReorder": num(o.minimum_to_reorder),
        "SupplyIntervals": [],
    })
}

fn product_json(w: &World, p: &Product, with_suppliers: bool, with_levels: bool) -> Value {
    let suppliers: Vec<Value> = if with_suppliers {
        p.suppliers
            .iter()
            .map(|s| {
                let sup = &w.suppliers[s.supplier];
                json!({
                    "SupplierID": sup.id,
                    "SupplierName": sup.name,
                    "ProductID": p.id,
                    "ProductSKU": p.sku,
                    "ProductSupplierID": s.product_supplier_id,
                    "SupplierInventoryCode": s.inventory_code,
                    "SupplierProductName": s.product_name,
                    "Cost": money(s.cost_cents),
                    "FixedCost": money(s.fixed_cost_cents),
                    "Currency": sup.currency,
                    "DropShip": s.drop_ship,
                    "SupplierProductURL": "",
                    "LastSupplied": s.last_supplied.map(cin7_date),
                    "ProductSupplierOptions": s.options.iter().map(|o| option_json(w, o)).collect::<Vec<_>>(),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let levels: Vec<Value> = if with_levels {
        p.reorder_levels
            .iter()
            .map(|r| {
                let l = &w.locations[r.location as usize];
                json!({
                    "LocationID": l.id,
                    "LocationName": l.name,
                    "MinimumBeforeReorder": num(r.minimum_before_reorder),
                    "ReorderQuantity": num(r.reorder_quantity),
                    "StockLocator": r.stock_locator,
                    "PickZones": "",
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    json!({
        "ID": p.id,
        "SKU": p.sku,
        "Name": p.name,
        "Category": p.category,
        "Brand": "",
        "Type": p.kind,
        "CostingMethod": "FIFO",
        "DropShipMode": "No Drop Ship",
        "DefaultLocation": w.locations.first().map(|l| l.name.clone()),
        "Barcode": p.barcode,
        "Status": if p.active { "Active" } else { "Deprecated" },
        "UOM": "Item",
        "MinimumBeforeReorder": num(p.minimum_before_reorder),
        "ReorderQuantity": num(p.reorder_quantity),
        "AverageCost": money(p.average_cost_cents),
        "PriceTier1": money(p.price_cents),
        "PurchaseTaxRule": "Tax on Purchases",
        "SaleTaxRule": "Tax on Sales",
        "CartonQuantity": num(p.carton_quantity),
        "CartonInnerQuantity": 0,
        "LastModifiedOn": cin7_dt(p.last_modified),
        "Suppliers": suppliers,
        "ReorderLevels": levels,
    })
}

fn products(w: &World, params: &Params) -> Response {
    let modified = match since(params, "ModifiedSince") {
        Ok(v) => v,
        Err(e) => return bad(&e),
    };
    let with_deprecated = params.flag("IncludeDeprecated");
    let with_suppliers = params.flag("IncludeSuppliers");
    let with_levels = params.flag("IncludeReorderLevels");
    let sku = params.non_empty("Sku");
    let id = params.non_empty("ID");
    let name = params.non_empty("Name").map(str::to_lowercase);
    let rows = w
        .products
        .iter()
        .filter(|p| with_deprecated || p.active)
        .filter(|p| sku.is_none_or(|s| s == p.sku))
        .filter(|p| id.is_none_or(|i| i.eq_ignore_ascii_case(&p.id)))
        .filter(|p| {
            name.as_ref()
                .is_none_or(|n| p.name.to_lowercase().contains(n))
        })
        .filter(|p| modified.is_none_or(|m| p.last_modified >= m))
        .map(|p| product_json(w, p, with_suppliers, with_levels))
        .collect();
    envelope(w, params, "Products", rows)
}

fn supplier_json(s: &Supplier) -> Value {
    json!({
        "ID": s.id,
        "Name": s.name,
        "Currency": s.currency,
        "PaymentTerm": s.payment_term,
        "AccountPayable": "800",
        "TaxRule": s.tax_rule,
        "Status": if s.active { "Active" } else { "Deprecated" },
        "Discount": num(s.discount),
        "Comments": s.comments,
        "TaxNumber": "",
        "AttributeSet": null,
        "LastModifiedOn": cin7_dt(s.last_modified),
        "Addresses": s.addresses.iter().map(|a| json!({
            "Line1": a.line1,
            "Line2": a.line2,
            "City": a.city,
            "State": a.state,
            "Postcode": a.postcode,
            "Country": a.country,
            "Type": a.kind,
            "DefaultForType": true,
        })).collect::<Vec<_>>(),
        "Contacts": s.contacts.iter().map(|c| json!({
            "Name": c.name,
            "Phone": c.phone,
            "MobilePhone": "",
            "Fax": "",
            "Email": c.email,
            "Website": "",
            "Comment": "",
            "Default": true,
            "IncludeInEmail": true,
        })).collect::<Vec<_>>(),
    })
}

fn suppliers(w: &World, params: &Params) -> Response {
    let modified = match since(params, "ModifiedSince") {
        Ok(v) => v,
        Err(e) => return bad(&e),
    };
    let with_deprecated = params.flag("IncludeDeprecated");
    let id = params.non_empty("ID");
    let name = params.non_empty("Name").map(str::to_lowercase);
    let rows = w
        .suppliers
        .iter()
        .filter(|s| with_deprecated || s.active)
        .filter(|s| id.is_none_or(|i| i.eq_ignore_ascii_case(&s.id)))
        .filter(|s| {
            name.as_ref()
                .is_none_or(|n| s.name.to_lowercase().contains(n))
        })
        .filter(|s| modified.is_none_or(|m| s.last_modified >= m))
        .map(supplier_json)
        .collect();
    envelope(w, params, "SupplierList", rows)
}

fn order_totals(p: &Purchase) -> (f64, f64, f64) {
    let total: f64 = p.lines.iter().map(|l| l.total).sum();
    let tax: f64 = p.lines.iter().map(|l| l.tax).sum();
    (round2(total - tax), round2(tax), round2(total))
}

fn lines_json(w: &World, p: &Purchase) -> Vec<Value> {
    p.lines
        .iter()
        .map(|l| {
            json!({
                "ProductID": w.products[l.product as usize].id,
                "SKU": l.sku,
                "Name": l.name,
                "Quantity": num(l.quantity),
                "Price": num(l.price),
                "Discount": num(l.discount),
                "Tax": num(l.tax),
                "TaxRule": l.tax_rule,
                "SupplierSKU": l.supplier_sku,
                "Comment": l.comment,
                "Total": num(l.total),
            })
        })
        .collect()
}

/// The order task of a purchase (`GET purchase/order` and the `Order` member of `GET purchase`).
pub fn order_json(w: &World, p: &Purchase) -> Value {
    let (before, tax, total) = order_totals(p);
    let lines = lines_json(w, p);
    json!({
        "TaskID": p.id,
        "CombineAdditionalCharges": p.combine_additional_charges,
        "Memo": p.memo,
        "Status": p.order_status,
        "Lines": lines,
        "AdditionalCharges": [],
        "TotalBeforeTax": num(before),
        "Tax": num(tax),
        "Total": num(total),
    })
}

/// The full purchase, as `GET purchase?ID=` and `POST purchase` answer it.
pub fn purchase_json(w: &World, p: &Purchase) -> Value {
    let sup = &w.suppliers[p.supplier];
    let mut order = order_json(w, p);
    if let Some(o) = order.as_object_mut() {
        o.remove("TaskID");
        o.insert("SaleOrderNumber".into(), Value::Null);
    }
    let address = sup.addresses.first().map(|a| {
        json!({"Line1": a.line1, "Line2": a.line2, "City": a.city, "State": a.state, "Postcode": a.postcode, "Country": a.country})
    });
    json!({
        "ID": p.id,
        "SupplierID": sup.id,
        "Supplier": sup.name,
        "Contact": sup.contacts.first().map(|c| c.name.clone()),
        "Phone": sup.contacts.first().map(|c| c.phone.clone()),
        "InventoryAccount": "630",
        "BlindReceipt": false,
        "Approach": p.approach,
        "DropShipTaskID": null,
        "BaseCurrency": "USD",
        "SupplierCurrency": sup.currency,
        "TaxRule": p.tax_rule,
        "TaxCalculation": "Exclusive",
        "Terms": p.terms,
        "RequiredBy": p.required_by.map(|d| cin7_date(d.date())),
        "Location": w.locations[p.location as usize].name,
        "Note": p.note,
        "OrderNumber": p.order_number,
        "OrderDate": cin7_date(p.order_date.date()),
        "Status": p.status,
        "Type": "Simple Purchase",
        "CurrencyRate": num(p.currency_rate),
        "BillingAddress": address,
        "ShippingAddress": null,
        "LastUpdatedDate": cin7_dt(p.last_updated),
        "Order": order,
        "StockReceived": {
            "Status": p.stock_received_status,
            "Lines": if p.stock_received_status == "AUTHORISED" || p.stock_received_status == "DRAFT" { lines_json(w, p) } else { Vec::new() },
        },
        "Invoice": {"Status": p.invoice_status},
    })
}

fn list_row(w: &World, p: &Purchase) -> Value {
    let sup = &w.suppliers[p.supplier];
    let (_, _, total) = order_totals(p);
    json!({
        "ID": p.id,
        "BlindReceipt": false,
        "OrderNumber": p.order_number,
        "Status": p.status,
        "OrderDate": cin7_date(p.order_date.date()),
        "InvoiceDate": null,
        "Supplier": sup.name,
        "SupplierID": sup.id,
        "InvoiceNumber": "",
        "InvoiceAmount": num(total),
        "PaidAmount": 0,
        "InvoiceDueDate": null,
        "RequiredBy": p.required_by.map(|d| cin7_date(d.date())),
        "BaseCurrency": "USD",
        "SupplierCurrency": sup.currency,
        "CreditNoteNumber": "",
        "OrderStatus": p.order_status,
        "StockReceivedStatus": p.stock_received_status,
        "UnstockStatus": "NOT AVAILABLE",
        "InvoiceStatus": p.invoice_status,
        "CreditNoteStatus": "NOT AVAILABLE",
        "LastUpdatedDate": cin7_dt(p.last_updated),
        "Type": "Simple Purchase",
        "CombinedInvoiceStatus": p.invoice_status,
        "CombinedPaymentStatus": "UNPAID",
        "CombinedReceivingStatus": if p.stock_received_status == "AUTHORISED" { "FULLY RECEIVED" } else { "NOT RECEIVED" },
        "IsServiceOnly": false,
        "DropShipTaskID": null,
        "Location": w.locations[p.location as usize].name,
    })
}

fn purchase_list(w: &World, params: &Params) -> Response {
    let updated = match since(params, "UpdatedSince") {
        Ok(v) => v,
        Err(e) => return bad(&e),
    };
    let status = params.non_empty("Status");
    let order_status = params.non_empty("OrderStatus");
    let search = params.non_empty("Search").map(str::to_lowercase);
    let rows = w
        .purchases
        .iter()
        .filter(|p| status.is_none_or(|s| s.eq_ignore_ascii_case(&p.status)))
        .filter(|p| order_status.is_none_or(|s| s.eq_ignore_ascii_case(&p.order_status)))
        .filter(|p| updated.is_none_or(|u| p.last_updated >= u))
        .filter(|p| {
            search.as_ref().is_none_or(|s| {
                p.order_number.to_lowercase().contains(s)
                    || p.status.to_lowercase().contains(s)
                    || w.suppliers[p.supplier].name.to_lowercase().contains(s)
            })
        })
        .map(|p| list_row(w, p))
        .collect();
    envelope(w, params, "PurchaseList", rows)
}

fn not_found(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!("Purchase with ID = '{id}' was not found."),
    )
}

fn get_purchase(w: &World, params: &Params) -> Response {
    let Some(id) = params.non_empty("ID") else {
        return bad("ID is required.");
    };
    match w.purchases.iter().find(|p| p.id.eq_ignore_ascii_case(id)) {
        Some(p) => json(StatusCode::OK, &purchase_json(w, p)),
        None => not_found(id),
    }
}

fn get_purchase_order(w: &World, params: &Params) -> Response {
    let Some(id) = params.non_empty("TaskID") else {
        return bad("TaskID is required.");
    };
    match w.purchases.iter().find(|p| p.id.eq_ignore_ascii_case(id)) {
        Some(p) => json(StatusCode::OK, &order_json(w, p)),
        None => not_found(id),
    }
}

fn parse_body(body: &[u8]) -> Result<Value, String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| format!("The request body is not valid JSON: {e}"))?;
    if v.is_object() {
        Ok(v)
    } else {
        Err("The request body must be a JSON object.".to_string())
    }
}

fn post_purchase(w: &mut World, body: &[u8]) -> Response {
    let v = match parse_body(body) {
        Ok(v) => v,
        Err(e) => return bad(&e),
    };
    let supplier = if let Some(id) = member_str(&v, "SupplierID").filter(|s| !s.is_empty()) {
        match w
            .suppliers
            .iter()
            .position(|s| s.id.eq_ignore_ascii_case(id))
        {
            Some(s) => s,
            None => return bad(&format!("Supplier with ID = '{id}' was not found.")),
        }
    } else if let Some(name) = member_str(&v, "Supplier").filter(|s| !s.is_empty()) {
        match w
            .suppliers
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case(name))
        {
            Some(s) => s,
            None => return bad(&format!("Supplier '{name}' was not found.")),
        }
    } else {
        return bad("SupplierID or Supplier is required.");
    };
    if !w.suppliers[supplier].active {
        return bad(&format!(
            "Supplier '{}' is deprecated.",
            w.suppliers[supplier].name
        ));
    }
    let Some(loc_name) = member_str(&v, "Location").filter(|s| !s.trim().is_empty()) else {
        return bad("Location is required.");
    };
    let Some(location) = w
        .locations
        .iter()
        .position(|l| l.name.eq_ignore_ascii_case(loc_name.trim()))
    else {
        return bad(&format!("Location '{loc_name}' was not found."));
    };
    if w.locations[location].kind == LocKind::Deprecated {
        return bad(&format!("Location '{loc_name}' is deprecated."));
    }
    let approach = match member_str(&v, "Approach").map(|a| a.trim().to_ascii_uppercase()) {
        Some(a) if a == "INVOICE" || a == "STOCK" => a,
        Some(a) => return bad(&format!("Approach must be INVOICE or STOCK, got '{a}'.")),
        None => return bad("Approach is required (INVOICE or STOCK)."),
    };
    let required_by = match member(&v, "RequiredBy") {
        None => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => match parse_datetime(s) {
            Some(t) => Some(t.naive_utc()),
            None => return bad(&format!("RequiredBy is not a valid date: '{s}'.")),
        },
        Some(_) => return bad("RequiredBy must be a date string."),
    };
    let currency_rate = match member(&v, "CurrencyRate") {
        None => 1.0,
        Some(x) => match x.as_f64() {
            Some(r) if r > 0.0 => r,
            _ => return bad("CurrencyRate must be a positive number."),
        },
    };
    let sup = &w.suppliers[supplier];
    let text = |name: &str, default: &str| {
        member_str(&v, name)
            .map(str::to_string)
            .unwrap_or_else(|| default.to_string())
    };
    let now = w.now.naive_utc();
    let mut id_rng = w.rng_tick.clone();
    let id = id_rng.guid();
    w.rng_tick = id_rng;
    let purchase = Purchase {
        id,
        order_number: format!("PO-{:05}", w.next_po),
        supplier,
        location: location as u16,
        approach,
        // As the API reference's `POST purchase` example answers: ORDERING, with no order yet.
        status: "ORDERING".into(),
        order_status: "NOT AVAILABLE".into(),
        stock_received_status: "NOT AVAILABLE".into(),
        invoice_status: "NOT AVAILABLE".into(),
        required_by,
        order_date: now,
        note: text("Note", ""),
        terms: text("Terms", &sup.payment_term),
        tax_rule: text("TaxRule", &sup.tax_rule),
        currency_rate,
        memo: String::new(),
        combine_additional_charges: false,
        last_updated: now,
        lines: Vec::new(),
    };
    w.next_po += 1;
    let out = purchase_json(w, &purchase);
    w.purchases.push(purchase);
    json(StatusCode::OK, &out)
}

/// Number of decimal places in a JSON number as written.
fn decimals(n: &serde_json::Number) -> usize {
    let s = n.to_string();
    if s.contains(['e', 'E']) {
        return 0;
    }
    s.split_once('.').map(|(_, f)| f.len()).unwrap_or(0)
}

fn number(line: &Value, name: &str, i: usize, default: Option<f64>) -> Result<f64, String> {
    match member(line, name) {
        None => default.ok_or_else(|| format!("Lines[{i}].{name} is required.")),
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| format!("Lines[{i}].{name} is not a number.")),
        Some(_) => Err(format!("Lines[{i}].{name} must be a number.")),
    }
}

fn post_purchase_order(w: &mut World, body: &[u8]) -> Response {
    let v = match parse_body(body) {
        Ok(v) => v,
        Err(e) => return bad(&e),
    };
    let Some(task) = member_str(&v, "TaskID").filter(|s| !s.is_empty()) else {
        return bad("TaskID is required.");
    };
    let Some(pi) = w
        .purchases
        .iter()
        .position(|p| p.id.eq_ignore_ascii_case(task))
    else {
        return bad(&format!("Purchase with ID = '{task}' was not found."));
    };
    let status = match member_str(&v, "Status").map(|s| s.trim().to_ascii_uppercase()) {
        Some(s) if s == "DRAFT" || s == "AUTHORISED" => s,
        Some(s) => {
            return bad(&format!(
                "Status '{s}' is not valid: for POST only DRAFT and AUTHORISED values accepted."
            ));
        }
        None => return bad("Status is required (DRAFT or AUTHORISED)."),
    };
    {
        let p = &w.purchases[pi];
        match p.status.as_str() {
            "VOIDED" => return bad(&format!("Purchase {} is voided.", p.order_number)),
            "ORDERED" | "RECEIVING" | "RECEIVED" | "INVOICED" | "COMPLETED" => {
                return bad(&format!(
                    "Purchase order {} is already authorised and can't be changed.",
                    p.order_number
                ));
            }
            _ => {}
        }
    }
    let raw_lines = match member(&v, "Lines") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return bad("Lines must be an array."),
    };
    if status == "AUTHORISED" && raw_lines.is_empty() {
        return bad("An authorised purchase order needs at least one line.");
    }
    let supplier = w.purchases[pi].supplier;
    let mut lines = Vec::new();
    for (i, l) in raw_lines.iter().enumerate() {
        if !l.is_object() {
            return bad(&format!("Lines[{i}] must be an object."));
        }
        let product = if let Some(id) = member_str(l, "ProductID").filter(|s| !s.is_empty()) {
            match w
                .products
                .iter()
                .position(|p| p.id.eq_ignore_ascii_case(id))
            {
                Some(p) => p,
                None => {
                    return bad(&format!(
                        "Lines[{i}]: Product with ID = '{id}' was not found."
                    ));
                }
            }
        } else if let Some(sku) = member_str(l, "SKU").filter(|s| !s.is_empty()) {
            match w.products.iter().position(|p| p.sku == sku) {
                Some(p) => p,
                None => {
                    return bad(&format!(
                        "Lines[{i}]: Product with SKU = '{sku}' was not found."
                    ));
                }
            }
        } else {
            return bad(&format!("Lines[{i}]: ProductID is required."));
        };
        let prod = &w.products[product];
        if !prod.active {
            return bad(&format!(
                "Lines[{i}]: Product '{}' is deprecated.",
                prod.sku
            ));
        }
        let quantity = match number(l, "Quantity", i, None) {
            Ok(q) => q,
            Err(e) => return bad(&e),
        };
        if let Some(Value::Number(n)) = member(l, "Quantity")
            && decimals(n) > 4
        {
            return bad(&format!(
                "Lines[{i}].Quantity can have at most 4 decimal places."
            ));
        }
        if quantity < 1.0 {
            return bad(&format!(
                "Lines[{i}].Quantity must be at least 1, got {quantity}."
            ));
        }
        let price = match number(l, "Price", i, None) {
            Ok(x) if x >= 0.0 => x,
            Ok(x) => return bad(&format!("Lines[{i}].Price must not be negative, got {x}.")),
            Err(e) => return bad(&e),
        };
        let discount = match number(l, "Discount", i, Some(0.0)) {
            Ok(x) if (0.0..=100.0).contains(&x) => x,
            Ok(x) => {
                return bad(&format!(
                    "Lines[{i}].Discount must be between 0 and 100, got {x}."
                ));
            }
            Err(e) => return bad(&e),
        };
        let tax = match number(l, "Tax", i, Some(0.0)) {
            Ok(x) => x,
            Err(e) => return bad(&e),
        };
        let total = match number(l, "Total", i, None) {
            Ok(x) => x,
            Err(e) => return bad(&e),
        };
        let expected = round2(quantity * price * (1.0 - discount / 100.0) + tax);
        if (total - expected).abs() > 0.01 + 1e-9 {
            return bad(&format!(
                "Lines[{i}] ({}): Total {total} does not match Quantity x Price x (1 - Discount/100) + Tax = {expected}.",
                prod.sku
            ));
        }
        let link = prod.suppliers.iter().find(|s| s.supplier == supplier);
        lines.push(PurchaseLine {
            product: product as u32,
            sku: prod.sku.clone(),
            name: member_str(l, "Name").unwrap_or(&prod.name).to_string(),
            quantity,
            price,
            discount,
            tax,
            tax_rule: member_str(l, "TaxRule")
                .map(str::to_string)
                .unwrap_or_else(|| w.purchases[pi].tax_rule.clone()),
            supplier_sku: member_str(l, "SupplierSKU")
                .map(str::to_string)
                .or_else(|| link.map(|s| s.inventory_code.clone()))
                .unwrap_or_default(),
            comment: member_str(l, "Comment").unwrap_or("").to_string(),
            total,
        });
    }
    let now = w.now.naive_utc();
    let p = &mut w.purchases[pi];
    p.lines = lines;
    p.memo = member_str(&v, "Memo").unwrap_or(&p.memo).to_string();
    p.combine_additional_charges = member(&v, "CombineAdditionalCharges")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if status == "AUTHORISED" {
        p.order_status = "AUTHORISED".into();
        p.status = "ORDERED".into();
    } else {
        p.order_status = "DRAFT".into();
        p.status = "ORDERING".into();
    }
    p.last_updated = now;
    let out = order_json(w, &w.purchases[pi]);
    json(StatusCode::OK, &out)
}

fn delete_purchase(w: &mut World, params: &Params) -> Response {
    let Some(id) = params.non_empty("ID") else {
        return bad("ID is required.");
    };
    let Some(pi) = w
        .purchases
        .iter()
        .position(|p| p.id.eq_ignore_ascii_case(id))
    else {
        return not_found(id);
    };
    let void = params.flag("Void");
    let now = w.now.naive_utc();
    let status = w.purchases[pi].status.clone();
    if void {
        if status == "RECEIVED" || status == "VOIDED" {
            return bad(&format!("Purchase with status {status} can't be voided."));
        }
        let p = &mut w.purchases[pi];
        p.status = "VOIDED".into();
        p.order_status = "VOIDED".into();
        p.last_updated = now;
        let out = purchase_json(w, &w.purchases[pi]);
        json(StatusCode::OK, &out)
    } else {
        if status != "DRAFT" && status != "ORDERING" {
            return bad(&format!(
                "Only draft purchases can be deleted; this one is {status}."
            ));
        }
        let p = w.purchases.remove(pi);
        json(StatusCode::OK, &json!({"ID": p.id, "Deleted": true}))
    }
}
