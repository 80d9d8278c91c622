//! Tests of the sandbox: the generated world's coverage of the planning rules (directly on the
//! generator), and the HTTP behaviour of both APIs (a real server on 127.0.0.1:0, called with
//! reqwest).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::generator;
use super::state::*;
use super::*;
use crate::test_documents as queries;

fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0)
        .single()
        .expect("valid date")
}

fn small() -> SandboxOptions {
    SandboxOptions {
        seed: 7,
        skus: 60,
        locations: 2,
        suppliers: 6,
        days: 12,
        orders_per_day: 60,
        now: fixed_now(),
        ..SandboxOptions::default()
    }
}

async fn up(opts: SandboxOptions) -> SandboxHandle {
    start("127.0.0.1:0", opts).await.expect("sandbox starts")
}

fn client() -> reqwest::Client {
    crate::install_crypto_provider();
    reqwest::Client::new()
}

/// A request to the sandbox's Cin7 API, with the account's credentials.
fn cin7_request(h: &SandboxHandle, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    client()
        .request(method, format!("{}{path}", h.cin7_base_url()))
        .header("api-auth-accountid", "acct")
        .header("api-auth-applicationkey", "key")
}

async fn cin7(h: &SandboxHandle, path: &str) -> (u16, String) {
    let r = cin7_request(h, reqwest::Method::GET, path)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

async fn cin7_json(h: &SandboxHandle, path: &str) -> Value {
    let (status, body) = cin7(h, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("json")
}

async fn cin7_post(h: &SandboxHandle, path: &str, body: &Value) -> (u16, Value) {
    let r = cin7_request(h, reqwest::Method::POST, path)
        .json(body)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn gql(h: &SandboxHandle, query: &str, variables: Value) -> Value {
    client()
        .post(format!(
            "{}/admin/api/2026-01/graphql.json",
            h.shopify_base_url()
        ))
        .header("X-Shopify-Access-Token", "tok")
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

async fn state(h: &SandboxHandle) -> Value {
    client()
        .get(format!("{}/sandbox/state", h.base_url()))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

fn normalize(s: &str) -> String {
    s.to_lowercase().replace([' ', '-'], "")
}

#[test]
fn generated_world_covers_every_rule_case() {
    let w = generator::build(&small(), "http://x".into());
    let o = &w.orders;
    assert!(o.len() > 400, "orders: {}", o.len());
    let count = |f: &dyn Fn(&Order) -> bool| o.iter().filter(|x| f(x)).count();
    assert!(count(&|x| x.test) > 0, "test orders");
    assert!(count(&|x| x.cancelled.is_some()) > 0, "cancelled");
    for fin in [
        Fin::Paid,
        Fin::PartiallyRefunded,
        Fin::Refunded,
        Fin::Pending,
        Fin::Authorized,
        Fin::PartiallyPaid,
        Fin::Voided,
        Fin::Expired,
    ] {
        assert!(count(&|x| x.fin == fin) > 0, "{fin:?}");
    }
    assert!(
        count(&|x| x.fin == Fin::PartiallyRefunded
            && x.lines.iter().any(|l| l.current < l.quantity)
            && x.lines.iter().any(|l| l.current > 0))
            > 0
    );
    assert!(count(&|x| x.fin == Fin::Refunded && x.lines.iter().all(|l| l.current == 0)) > 0);
    assert!(
        count(&|x| x.lines.iter().any(|l| l.gift_card)) > 0,
        "gift cards"
    );
    assert!(
        count(&|x| x.lines.iter().any(|l| l.sku.is_none() && !l.gift_card)) > 0,
        "null sku"
    );
    assert!(
        count(&|x| x.lines.iter().any(|l| l.sku.as_deref() == Some(""))) > 0,
        "empty sku"
    );
    assert!(
        count(&|x| x.lines.iter().any(|l| l
            .sku
            .as_deref()
            .is_some_and(|s| !s.is_empty() && s.trim().is_empty())))
            > 0,
        "whitespace sku"
    );
    let skus: HashSet<&str> = w.products.iter().map(|p| p.sku.as_str()).collect();
    let norm: HashSet<String> = w.products.iter().map(|p| normalize(&p.sku)).collect();
    let unknown = |s: &str| !s.trim().is_empty() && !skus.contains(s);
    assert!(
        count(&|x| x.lines.iter().any(|l| !l.gift_card
            && l.sku
                .as_deref()
                .is_some_and(|s| unknown(s) && !norm.contains(&normalize(s)))))
            > 0,
        "SKUs not in Cin7"
    );
    assert!(
        count(&|x| x.lines.iter().any(|l| l
            .sku
            .as_deref()
            .is_some_and(|s| unknown(s) && norm.contains(&normalize(s)))))
            > 0,
        "SKUs differing by case/space/dash"
    );
    assert!(
        count(&|x| x.retail.is_some() && x.fos.is_empty()) > 0,
        "POS orders"
    );
    assert!(
        count(&|x| x.retail.is_none() && x.fos.is_empty()) > 0,
        "no location"
    );
    assert!(
        count(&|x| x.fos.len() == 2 && x.fos[0].num > x.fos[1].num) > 0,
        "FOs out of id order"
    );
    assert!(
        count(&|x| x.lines.len() > 30) > 0,
        "orders with more than 30 lines"
    );
    assert!(count(&|x| x.updated > x.created) > 0);
    assert!(
        o.iter()
            .all(|x| x.updated >= x.created && x.created < w.start)
    );
    let locs: HashSet<u16> = o.iter().map(|x| x.cin7_loc).collect();
    assert!(locs.len() >= 2, "several locations");
    let ids: HashSet<u64> = o.iter().map(|x| x.num).collect();
    assert_eq!(ids.len(), o.len(), "unique order ids");

    // Cin7 side.
    let p = &w.products;
    assert!(p.iter().any(|x| x.kind == "Service"));
    assert!(p.iter().any(|x| !x.active));
    assert!(
        p.iter()
            .any(|x| x.kind == "Stock" && x.suppliers.is_empty())
    );
    assert!(p.iter().any(|x| x.suppliers.len() == 2));
    assert!(p.iter().any(|x| x.carton_quantity > 0.0));
    assert!(p.iter().any(|x| !x.reorder_levels.is_empty()));
    assert!(p.iter().any(|x| {
        x.suppliers
            .iter()
            .any(|s| s.options.iter().any(|o| o.minimum_to_reorder > 0.0))
    }));
    assert!(p.iter().any(|x| {
        x.suppliers
            .iter()
            .any(|s| s.options.iter().any(|o| o.safety > 0))
    }));
    assert!(p.iter().any(|x| {
        !x.suppliers.is_empty()
            && x.suppliers
                .iter()
                .all(|s| s.options.iter().all(|o| o.lead == 0))
    }));
    assert!(
        w.stock.iter().any(|r| r.on_hand - r.allocated < 0.0),
        "negative available"
    );
    assert!(w.stock.iter().any(|r| r.bin.is_some() || r.batch.is_some()));
    assert!(w.stock.iter().any(|r| r.in_transit > 0.0));
    assert!(
        w.stock_index.values().any(|v| v.len() > 1),
        "several rows for one SKU and location"
    );
    for status in ["ORDERED", "ORDERING", "RECEIVED", "DRAFT"] {
        assert!(w.purchases.iter().any(|x| x.status == status), "{status}");
    }
    assert!(
        w.censored.values().sum::<f64>() > 0.0,
        "stockouts censored some demand"
    );
}

#[test]
fn generation_is_deterministic_and_seed_dependent() {
    let digest = |seed: u64| {
        let opts = SandboxOptions { seed, ..small() };
        let w = generator::build(&opts, "http://x".into());
        let products: Vec<Value> = w
            .products
            .iter()
            .map(|p| json!([p.id, p.sku, p.suppliers.len(), p.average_cost_cents]))
            .collect();
        let orders: Vec<Value> = w
            .orders
            .iter()
            .map(|o| {
                json!([
                    o.num,
                    o.created.timestamp(),
                    o.fin.as_str(),
                    o.lines
                        .iter()
                        .map(|l| (l.sku.clone(), l.current))
                        .collect::<Vec<_>>()
                ])
            })
            .collect();
        let stock: Vec<Value> = w
            .stock
            .iter()
            .map(|r| json!([r.product, r.location, r.on_hand]))
            .collect();
        let shapes: Vec<Value> = w
            .sellables
            .iter()
            .map(|s| {
                let promotions: Vec<Value> = s
                    .promotions
                    .iter()
                    .map(|p| json!([p.from, p.to, p.uplift]))
                    .collect();
                json!([
                    s.shape.as_str(),
                    s.base,
                    s.growth,
                    s.peak_day,
                    s.amplitude,
                    promotions
                ])
            })
            .collect();
        json!([
            products,
            orders,
            stock,
            w.purchases.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
            shapes
        ])
        .to_string()
    };
    assert_eq!(digest(7), digest(7));
    assert_ne!(digest(7), digest(8));
}

#[test]
fn default_volume_generates_quickly() {
    let opts = SandboxOptions {
        now: fixed_now(),
        ..SandboxOptions::default()
    };
    let t = Instant::now();
    let w = generator::build(&opts, "http://x".into());
    let took = t.elapsed();
    eprintln!("default world: {} orders in {took:?}", w.orders.len());
    assert!(
        w.orders.len() > 15_000 && w.orders.len() < 21_000,
        "{}",
        w.orders.len()
    );
    // Debug builds are ~10x slower than release; release must be well under a second.
    assert!(
        took < Duration::from_secs(if cfg!(debug_assertions) { 8 } else { 1 }),
        "{took:?}"
    );
}

#[tokio::test]
async fn http_answers_are_deterministic() {
    let a = up(small()).await;
    let b = up(small()).await;
    let c = up(SandboxOptions { seed: 8, ..small() }).await;
    let path = "product?IncludeSuppliers=true&IncludeReorderLevels=true&Limit=1000";
    let pa = cin7_json(&a, path).await;
    assert_eq!(pa, cin7_json(&b, path).await);
    assert_ne!(pa, cin7_json(&c, path).await);
    let q = "ref/productavailability?limit=1000";
    assert_eq!(cin7_json(&a, q).await, cin7_json(&b, q).await);
    let vars = json!({"first": 20, "lineItemsFirst": 5, "after": null, "query": null});
    let oa = gql(&a, queries::ORDERS, vars.clone()).await;
    let ob = gql(&b, queries::ORDERS, vars).await;
    assert_eq!(oa["data"], ob["data"]);
    let catalog = |h: &SandboxHandle| {
        let url = format!("{}/sandbox/catalog", h.base_url());
        async move {
            let r = client().get(url).send().await.expect("catalog");
            r.json::<Value>().await.expect("json")
        }
    };
    let ca = catalog(&a).await;
    assert_eq!(ca, catalog(&b).await);
    assert_ne!(ca, catalog(&c).await);
    for h in [a, b, c] {
        h.shutdown().await;
    }
}

#[tokio::test]
async fn the_cin7_page_cap_serves_fewer_rows_than_limit_asks() {
    let h = up(SandboxOptions {
        cin7_page_cap: 7,
        ..small()
    })
    .await;
    let all = up(small()).await;
    let every = cin7_json(&all, "product?Limit=1000").await["Products"].clone();
    let every = every.as_array().expect("products");
    let total = every.len();
    assert!(total > 14, "{total}");
    // Limit 10 capped to 7: page p covers rows [(p − 1)·7, p·7), Total counts them all.
    let mut seen = Vec::new();
    for page in 1..=total.div_ceil(7) {
        let v = cin7_json(&h, &format!("product?Page={page}&Limit=10")).await;
        assert_eq!(v["Total"].as_u64(), Some(total as u64));
        let rows = v["Products"].as_array().expect("page").clone();
        assert_eq!(rows.len(), 7.min(total - (page - 1) * 7), "page {page}");
        seen.extend(rows);
    }
    assert_eq!(&seen, every);
    // Below the cap, `Limit` rules.
    let v = cin7_json(&h, "product?Page=2&Limit=5").await;
    assert_eq!(
        v["Products"].as_array().map(Vec::as_slice),
        Some(&every[5..10])
    );
    // Every list endpoint is capped.
    for (path, key) in [
        (
            "ref/productavailability?Limit=1000",
            "ProductAvailabilityList",
        ),
        ("supplier?Limit=1000&IncludeDeprecated=true", "SupplierList"),
        ("purchaseList?Limit=1000", "PurchaseList"),
        ("ref/location?Limit=1000", "LocationList"),
    ] {
        let v = cin7_json(&h, path).await;
        let total = v["Total"].as_u64().expect("Total") as usize;
        assert_eq!(
            v[key].as_array().map(Vec::len),
            Some(total.min(7)),
            "{path}"
        );
    }
    let v = cin7_json(&h, "ref/productavailability?Limit=1000").await;
    assert!(v["Total"].as_u64() > Some(7), "{v}");
    // An unknown purchase is a 404 with Cin7's error body.
    let (status, body) = cin7(&h, "purchase?ID=00000000-0000-0000-0000-000000000000").await;
    assert_eq!(status, 404, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json error body");
    assert_eq!(v[0]["ErrorCode"], 404);
}

#[tokio::test]
async fn cin7_paging_envelope_and_limits() {
    let h = up(small()).await;
    let all = cin7_json(&h, "product?Limit=1000").await;
    let total = all["Total"].as_u64().expect("Total") as usize;
    assert_eq!(all["Products"].as_array().map(Vec::len), Some(total));
    assert!(
        all["Products"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|p| p["Status"] == "Active")
    );
    let pages = total.div_ceil(25);
    let mut seen = 0;
    for page in 1..=pages {
        let v = cin7_json(&h, &format!("product?page={page}&limit=25")).await;
        assert_eq!(v["Total"].as_u64(), Some(total as u64));
        assert_eq!(v["Page"].as_u64(), Some(page as u64));
        let n = v["Products"].as_array().map(Vec::len).unwrap_or(0);
        if page < pages {
            assert_eq!(n, 25);
        } else {
            assert!(n < 25 && n > 0, "last page is short: {n}");
        }
        seen += n;
    }
    assert_eq!(seen, total);
    let beyond = cin7_json(&h, &format!("product?Page={}&Limit=25", pages + 1)).await;
    assert_eq!(beyond["Products"], json!([]));
    let far = cin7_json(&h, "product?Page=9223372036854775807&Limit=1000").await;
    assert_eq!(far["Products"], json!([]));
    assert_eq!(cin7(&h, "product?Page=0").await.0, 400);
    let with_dep = cin7_json(&h, "product?Limit=1000&IncludeDeprecated=true").await;
    assert!(with_dep["Total"].as_u64() > Some(total as u64));

    let (status, body) = cin7(&h, "product?Limit=1001").await;
    assert_eq!(status, 400);
    let v: Value = serde_json::from_str(&body).expect("json error body");
    assert_eq!(v[0]["ErrorCode"], 400);
    assert!(
        v[0]["Exception"]
            .as_str()
            .is_some_and(|e| e.contains("1000"))
    );

    // Suppliers and reorder levels only when asked.
    let plain = cin7_json(&h, "product?Limit=1000").await;
    assert!(
        plain["Products"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|p| p["Suppliers"] == json!([]))
    );
    let full = cin7_json(
        &h,
        "Product?IncludeSuppliers=true&includereorderlevels=TRUE&Limit=1000",
    )
    .await;
    let prods = full["Products"].as_array().cloned().unwrap_or_default();
    let opt = prods
        .iter()
        .flat_map(|p| p["Suppliers"].as_array().cloned().unwrap_or_default())
        .flat_map(|s| {
            s["ProductSupplierOptions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .find(|o| o["LocationID"] == "00000000-0000-0000-0000-000000000000");
    assert!(opt.is_some(), "default supplier option");
    assert!(
        prods
            .iter()
            .any(|p| p["ReorderLevels"].as_array().is_some_and(|r| !r.is_empty()))
    );

    let locs = cin7_json(&h, "ref/location").await;
    let names: Vec<&str> = locs["LocationList"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["Name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["Main Warehouse", "East Warehouse", "Old Depot", "Returns"]
    );
    let sup = cin7_json(&h, "supplier").await;
    assert!(
        sup["SupplierList"][0]["Addresses"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    let av = cin7_json(
        &h,
        "ref/productavailability?Location=East%20Warehouse&Limit=1000",
    )
    .await;
    assert!(
        av["ProductAvailabilityList"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|r| r["Location"] == "East Warehouse")
    );
    h.shutdown().await;
}

#[tokio::test]
async fn cin7_requires_credentials() {
    let h = up(small()).await;
    let r = client()
        .get(format!("{}ref/location", h.cin7_base_url()))
        .header("api-auth-accountid", "acct")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(r.text().await.unwrap_or_default(), "Incorrect credentials!");
    h.shutdown().await;
}

#[tokio::test]
async fn cin7_throttles_with_503_text() {
    let h = up(SandboxOptions {
        cin7_rpm: 5,
        ..small()
    })
    .await;
    for _ in 0..5 {
        assert_eq!(cin7(&h, "ref/location").await.0, 200);
    }
    let r = client()
        .get(format!("{}ref/location", h.cin7_base_url()))
        .header("api-auth-accountid", "acct")
        .header("api-auth-applicationkey", "key")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.headers().get("retry-after").is_none());
    assert_eq!(
        r.text().await.unwrap_or_default(),
        "You reached 5 calls per minute API limit"
    );
    let s = state(&h).await;
    assert_eq!(s["throttled"]["cin7"], 1);
    assert_eq!(s["requests"]["cin7 GET ref/location"], 6);
    h.shutdown().await;
}

#[tokio::test]
async fn cin7_throttles_with_429_and_retry_after() {
    let h = up(SandboxOptions {
        cin7_rpm: 2,
        throttle_status: 429,
        retry_after_secs: 7,
        ..small()
    })
    .await;
    cin7(&h, "me").await;
    cin7(&h, "me").await;
    let r = client()
        .get(format!("{}me", h.cin7_base_url()))
        .header("api-auth-accountid", "acct")
        .header("api-auth-applicationkey", "key")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("7")
    );
    let v: Value = r.json().await.expect("json");
    assert_eq!(v[0]["ErrorCode"], 429);
    h.shutdown().await;
}

#[tokio::test]
async fn shopify_auth_throttling_and_max_cost() {
    let h = up(SandboxOptions {
        shopify_bucket: 100.0,
        shopify_restore_rate: 1.0,
        ..small()
    })
    .await;
    let r = client()
        .post(format!(
            "{}/admin/api/2026-01/graphql.json",
            h.shopify_base_url()
        ))
        .json(&json!({"query": queries::LOCATIONS, "variables": {"first": 10}}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 401);

    let ok = gql(&h, queries::LOCATIONS, json!({"first": 10, "after": null})).await;
    let nodes = ok["data"]["locations"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(nodes.len(), 3);
    assert_eq!(nodes[0]["id"], "gid://shopify/Location/1");
    let cost = &ok["extensions"]["cost"];
    assert_eq!(cost["requestedQueryCost"], 12);
    assert_eq!(cost["throttleStatus"]["maximumAvailable"], 100.0);

    let vars = json!({"first": 10, "lineItemsFirst": 5, "after": null, "query": null});
    let t = gql(&h, queries::ORDERS, vars).await;
    assert_eq!(t["errors"][0]["extensions"]["code"], "THROTTLED");
    assert_eq!(t["errors"][0]["message"], "Throttled");
    assert!(t.get("data").is_none());
    assert_eq!(t["extensions"]["cost"]["actualQueryCost"], Value::Null);
    assert_eq!(
        t["extensions"]["cost"]["requestedQueryCost"],
        queries::orders_query_cost(10, 5)
    );

    let big = gql(
        &h,
        queries::ORDERS,
        json!({"first": 250, "lineItemsFirst": 30}),
    )
    .await;
    let want = format!(
        "Query cost is {}, which exceeds the single query max cost limit (1000).",
        queries::orders_query_cost(250, 30)
    );
    assert_eq!(big["errors"][0]["extensions"]["code"], "MAX_COST_EXCEEDED");
    assert_eq!(big["errors"][0]["message"], want.as_str());

    let unknown = gql(&h, "{ shop { name } }", json!({})).await;
    assert!(
        unknown["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("shop"))
    );
    let s = state(&h).await;
    assert_eq!(s["throttled"]["shopify"], 1);
    h.shutdown().await;
}

/// Pages through every order matching `query` with the client's ORDERS document (at most 24
/// orders a page, to stay under the single-query cost limit).
async fn all_orders(h: &SandboxHandle, query: Option<&str>, first: u64) -> Vec<Value> {
    let first = first.min(24);
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let v = gql(
            h,
            queries::ORDERS,
            json!({"first": first, "lineItemsFirst": 10, "after": after, "query": query}),
        )
        .await;
        let conn = &v["data"]["orders"];
        assert!(conn.is_object(), "{v}");
        let edges = conn["edges"].as_array().cloned().unwrap_or_default();
        assert_eq!(Some(edges.len()), conn["nodes"].as_array().map(Vec::len));
        out.extend(edges.into_iter().map(|e| e["node"].clone()));
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    out
}

#[tokio::test]
async fn shopify_orders_filter_sort_and_paging() {
    let h = up(SandboxOptions {
        shopify_bucket: 1_000_000.0,
        ..small()
    })
    .await;
    let everything = all_orders(&h, None, 250).await;
    let total = state(&h).await["orders"].as_u64().unwrap_or(0) as usize;
    assert_eq!(everything.len(), total);
    let since = "2026-02-25T00:00:00Z";
    let q = format!("updated_at:>='{since}'");
    let got = all_orders(&h, Some(&q), 37).await;
    let expected = everything
        .iter()
        .filter(|o| o["updatedAt"].as_str().is_some_and(|u| u >= since))
        .count();
    assert!(expected > 0 && expected < total);
    assert_eq!(got.len(), expected);
    let ups: Vec<&str> = got.iter().filter_map(|o| o["updatedAt"].as_str()).collect();
    assert!(ups.windows(2).all(|w| w[0] <= w[1]), "sorted by updatedAt");
    let ids: HashSet<&str> = got.iter().filter_map(|o| o["id"].as_str()).collect();
    assert_eq!(ids.len(), got.len(), "no duplicates across pages");

    let paid = all_orders(&h, Some("financial_status:paid test:false"), 250).await;
    assert!(
        paid.iter()
            .all(|o| o["displayFinancialStatus"] == "PAID" && o["test"] == false)
    );
    let cancelled = all_orders(&h, Some("status:cancelled"), 250).await;
    assert!(!cancelled.is_empty() && cancelled.iter().all(|o| !o["cancelledAt"].is_null()));

    // An order with more lines than lineItemsFirst: page the rest with ORDER_LINE_ITEMS.
    let big = everything
        .iter()
        .find(|o| o["lineItems"]["pageInfo"]["hasNextPage"] == true)
        .expect("an order with more than 10 lines");
    let mut lines = big["lineItems"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut after = big["lineItems"]["pageInfo"]["endCursor"].clone();
    loop {
        let v = gql(
            &h,
            queries::ORDER_LINE_ITEMS,
            json!({"id": big["id"], "first": 10, "after": after}),
        )
        .await;
        let li = &v["data"]["order"]["lineItems"];
        lines.extend(li["nodes"].as_array().cloned().unwrap_or_default());
        if li["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = li["pageInfo"]["endCursor"].clone();
    }
    assert!(lines.len() > 30);
    let line_ids: HashSet<&str> = lines.iter().filter_map(|l| l["id"].as_str()).collect();
    assert_eq!(line_ids.len(), lines.len());

    let pv = gql(&h, queries::PRODUCT_VARIANTS, json!({"first": 250})).await;
    let variants = pv["data"]["productVariants"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        variants
            .iter()
            .any(|v| v["sku"].is_null() || v["sku"] == "")
    );
    let mut counts: HashMap<String, usize> = HashMap::new();
    for v in &variants {
        if let Some(s) = v["sku"].as_str().filter(|s| !s.is_empty()) {
            *counts.entry(s.to_string()).or_default() += 1;
        }
    }
    assert!(counts.values().any(|&n| n > 1), "one duplicate SKU");
    h.shutdown().await;
}

#[tokio::test]
async fn bulk_operation_completes_with_jsonl() {
    let h = up(small()).await;
    let doc = queries::BULK_ORDERS_TEMPLATE
        .replace("{SEARCH}", "created_at:>=\\\"2026-02-26T00:00:00Z\\\"");
    let run = gql(&h, queries::BULK_RUN, json!({"query": doc})).await;
    let op = &run["data"]["bulkOperationRunQuery"];
    assert_eq!(op["userErrors"], json!([]));
    assert_eq!(op["bulkOperation"]["status"], "CREATED");
    let id = op["bulkOperation"]["id"].as_str().expect("id").to_string();
    let first = gql(&h, queries::BULK_POLL, json!({"id": id})).await;
    assert_eq!(first["data"]["bulkOperation"]["status"], "RUNNING");
    let done = gql(&h, queries::BULK_POLL, json!({"id": id})).await;
    let b = &done["data"]["bulkOperation"];
    assert_eq!(b["status"], "COMPLETED");
    let url = b["url"].as_str().expect("url");
    let cur = gql(
        &h,
        "query { currentBulkOperation(type: QUERY) { id status url } }",
        json!({}),
    )
    .await;
    assert_eq!(cur["data"]["currentBulkOperation"]["id"], id.as_str());
    let node = gql(
        &h,
        "query($id: ID!) { node(id: $id) { ... on BulkOperation { id status } } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(node["data"]["node"]["status"], "COMPLETED");

    let text = client()
        .get(url)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    let mut parents: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut not_adjacent = 0;
    let mut children = 0;
    let mut last_parent = String::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("jsonl line");
        match v["__parentId"].as_str() {
            Some(p) => {
                children += 1;
                assert!(seen.contains(p), "child before its parent");
                if p != last_parent {
                    not_adjacent += 1;
                }
                let id = v["id"].as_str().unwrap_or("");
                assert!(
                    id.starts_with("gid://shopify/LineItem/")
                        || id.starts_with("gid://shopify/FulfillmentOrder/")
                );
            }
            None => {
                let id = v["id"].as_str().expect("order id").to_string();
                assert!(
                    v["createdAt"]
                        .as_str()
                        .is_some_and(|c| c >= "2026-02-26T00:00:00Z")
                );
                assert!(id.starts_with("gid://shopify/Order/"));
                seen.insert(id.clone());
                parents.push(id.clone());
                last_parent = id;
            }
        }
    }
    assert!(children > parents.len());
    assert!(
        not_adjacent > 0,
        "some children are not directly after their parent"
    );
    assert_eq!(b["rootObjectCount"], parents.len().to_string());
    assert_eq!(b["objectCount"], (parents.len() + children).to_string());
    h.shutdown().await;
}

#[tokio::test]
async fn purchase_writes_and_validation() {
    let h = up(small()).await;
    let products = cin7_json(&h, "product?IncludeSuppliers=true&Limit=1000").await;
    let prod = products["Products"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["Type"] == "Stock" && p["Suppliers"].as_array().is_some_and(|s| !s.is_empty()))
        .cloned()
        .expect("a product with a supplier");
    let supplier_id = prod["Suppliers"][0]["SupplierID"].clone();
    let product_id = prod["ID"].clone();
    let sku = prod["SKU"].as_str().expect("sku").to_string();

    let (s, v) = cin7_post(
        &h,
        "purchase",
        &json!({"SupplierID": supplier_id, "Location": "Nowhere", "Approach": "INVOICE"}),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        v[0]["Exception"]
            .as_str()
            .is_some_and(|e| e.contains("Nowhere"))
    );
    let (s, _) = cin7_post(
        &h,
        "purchase",
        &json!({"SupplierID": supplier_id, "Approach": "INVOICE"}),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = cin7_post(
        &h,
        "purchase",
        &json!({"SupplierID": "nope", "Location": "Main Warehouse", "Approach": "INVOICE"}),
    )
    .await;
    assert_eq!(s, 400);

    let (s, created) = cin7_post(
        &h,
        "purchase",
        &json!({"SupplierID": supplier_id, "Location": "Main Warehouse", "Approach": "INVOICE",
                "RequiredBy": "2026-03-20T00:00:00", "Note": "replenish: test-1"}),
    )
    .await;
    assert_eq!(s, 200, "{created}");
    assert_eq!(created["Status"], "ORDERING");
    assert_eq!(created["Order"]["Status"], "NOT AVAILABLE");
    assert!(
        created["OrderNumber"]
            .as_str()
            .is_some_and(|n| n.starts_with("PO-") && n.len() == 8)
    );
    let task = created["ID"].clone();

    let line = |qty: Value, price: f64, total: f64| json!({"ProductID": product_id, "SKU": sku, "Quantity": qty, "Price": price, "Discount": 0, "Tax": 0, "Total": total});
    let post_order =
        |status: &str, lines: Vec<Value>| json!({"TaskID": task, "Status": status, "Lines": lines});
    let bad_total = cin7_post(
        &h,
        "purchase/order",
        &post_order("DRAFT", vec![line(json!(10), 2.5, 26.0)]),
    )
    .await;
    assert_eq!(bad_total.0, 400);
    assert_eq!(bad_total.1[0]["ErrorCode"], 400);
    assert!(
        bad_total.1[0]["Exception"]
            .as_str()
            .is_some_and(|e| e.contains("Total"))
    );
    // Refused: a status a new order cannot have, a fractional quantity, a quantity with too
    // many decimals, a product Cin7 does not know.
    let mut unknown = line(json!(1), 1.0, 1.0);
    unknown["ProductID"] = json!("00000000-0000-0000-0000-000000000001");
    for (status, bad_line) in [
        ("ORDERED", line(json!(10), 2.5, 25.0)),
        ("DRAFT", line(json!(0.5), 2.0, 1.0)),
        ("DRAFT", line(json!(1.23456), 1.0, 1.23)),
        ("DRAFT", unknown),
    ] {
        let (s, body) = cin7_post(&h, "purchase/order", &post_order(status, vec![bad_line])).await;
        assert_eq!(s, 400, "{status}: {body}");
    }

    let on_order = |v: &Value| -> f64 {
        v["ProductAvailabilityList"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["Location"] == "Main Warehouse")
            .map(|r| r["OnOrder"].as_f64().unwrap_or(0.0))
            .sum()
    };
    let avail_path = format!("ref/productavailability?Sku={sku}");
    let before = on_order(&cin7_json(&h, &avail_path).await);
    let (s, order) = cin7_post(
        &h,
        "purchase/order",
        &post_order("DRAFT", vec![line(json!(10), 2.5, 25.0)]),
    )
    .await;
    assert_eq!(s, 200, "{order}");
    assert_eq!(order["Status"], "DRAFT");
    let p = cin7_json(&h, &format!("purchase?ID={}", task.as_str().unwrap_or(""))).await;
    assert_eq!(p["Status"], "ORDERING");
    assert_eq!(p["Note"], "replenish: test-1");
    assert_eq!(p["Order"]["Lines"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        on_order(&cin7_json(&h, &avail_path).await),
        before,
        "drafts are not on order"
    );

    let (s, _) = cin7_post(
        &h,
        "purchase/order",
        &post_order("AUTHORISED", vec![line(json!(12), 2.5, 30.0)]),
    )
    .await;
    assert_eq!(s, 200);
    let po = cin7_json(
        &h,
        &format!("purchase/order?TaskID={}", task.as_str().unwrap_or("")),
    )
    .await;
    assert_eq!(po["Lines"][0]["Quantity"], 12.0);
    assert_eq!(on_order(&cin7_json(&h, &avail_path).await), before + 12.0);
    let list = cin7_json(&h, "purchaseList?Search=replenish&Limit=1000").await;
    assert!(list["PurchaseList"].is_array());
    let by_status = cin7_json(
        &h,
        "purchaseList?Status=ORDERED&UpdatedSince=2026-03-02T12:00:00&Limit=1000",
    )
    .await;
    assert!(
        by_status["PurchaseList"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["ID"] == task)
    );
    let (status, _) = cin7(&h, "purchase?ID=00000000-0000-0000-0000-00000000beef").await;
    assert_eq!(status, 404);

    let s = state(&h).await;
    assert!(
        s["purchases"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["ID"] == task && p["Status"] == "ORDERED")
    );
    h.shutdown().await;
}

#[tokio::test]
async fn tick_advances_clock_and_receives_due_purchases() {
    let h = up(SandboxOptions {
        shopify_bucket: 1_000_000.0,
        ..small()
    })
    .await;
    let before = state(&h).await;
    let due = before["purchases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["Status"] == "ORDERED" && p["RequiredBy"].as_str().is_some_and(|r| r <= "2026-03-04")
        })
        .count();
    let r: Value = client()
        .post(format!("{}/sandbox/tick?hours=36", h.base_url()))
        .send()
        .await
        .expect("tick")
        .json()
        .await
        .expect("json");
    assert_eq!(r["now"], "2026-03-04T00:00:00Z");
    assert!(r["new_orders"].as_u64() > Some(0));
    assert!(r["updated_orders"].as_u64() > Some(0));
    assert_eq!(r["received_purchases"].as_array().map(Vec::len), Some(due));
    let after = state(&h).await;
    assert!(after["orders"].as_u64() > before["orders"].as_u64());
    let since = all_orders(&h, Some("created_at:>='2026-03-02T12:00:00Z'"), 250).await;
    assert_eq!(since.len() as u64, r["new_orders"].as_u64().unwrap_or(0));

    // Buyer and warehouse.
    let draft = after["purchases"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["Status"] == "ORDERING")
        .cloned()
        .expect("a draft");
    let id = draft["ID"].as_str().unwrap_or("");
    let approved: Value = client()
        .post(format!("{}/sandbox/purchase/{id}/approve", h.base_url()))
        .send()
        .await
        .expect("approve")
        .json()
        .await
        .expect("json");
    assert_eq!(approved["Status"], "ORDERED");
    let received: Value = client()
        .post(format!("{}/sandbox/purchase/{id}/receive", h.base_url()))
        .send()
        .await
        .expect("receive")
        .json()
        .await
        .expect("json");
    assert_eq!(received["Status"], "RECEIVED");

    let sku = cin7_json(&h, "product?Limit=1").await["Products"][0]["SKU"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let d: Value = client()
        .get(format!(
            "{}/sandbox/demand?sku={sku}&location=Main%20Warehouse&from=2026-02-20&to=2026-03-03",
            h.base_url()
        ))
        .send()
        .await
        .expect("demand")
        .json()
        .await
        .expect("json");
    assert_eq!(d["days"].as_array().map(Vec::len), Some(12));
    assert_eq!(d["days"][0]["date"], "2026-02-20");
    h.shutdown().await;
}

#[tokio::test]
async fn faults_break_requests_and_lost_creations_still_create() {
    let h = up(SandboxOptions {
        fault_rate: 1.0,
        seed: 11,
        ..small()
    })
    .await;
    let base = h.cin7_base_url();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let url = format!("{base}purchase");
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = client()
                .post(url)
                .header("api-auth-accountid", "a")
                .header("api-auth-applicationkey", "k")
                .json(&json!({"Supplier": "Acme Ltd", "Location": "Main Warehouse", "Approach": "STOCK"}))
                .send()
                .await;
            let outcome = match r {
                Err(_) => "error".to_string(),
                Ok(r) => {
                    let status = r.status().as_u16();
                    match r.text().await {
                        Err(_) => format!("{status} broken body"),
                        Ok(b) if status == 200 && b.contains("ErrorCode") => "200 ErrorCode".into(),
                        Ok(b) if status == 200 && serde_json::from_str::<Value>(&b).is_err() => "200 broken".into(),
                        Ok(_) => format!("{status}"),
                    }
                }
            };
            (outcome, t.elapsed())
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.expect("task"));
    }
    for (o, took) in &outcomes {
        assert!(
            o != "200" || *took >= Duration::from_secs(2),
            "a 200 without a fault: {o}"
        );
    }
    let s = state(&h).await;
    assert_eq!(s["faults"], 8);
    let kinds = &s["faults_by_kind"];
    let created_quietly = kinds["created_but_answer_lost"].as_u64().unwrap_or(0)
        + kinds["slow"].as_u64().unwrap_or(0);
    let new = s["purchases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["Supplier"] == "Acme Ltd"
                && p["Order"]["Status"] == "NOT AVAILABLE"
                && p["Note"] == ""
        })
        .filter(|p| {
            p["LastUpdatedDate"]
                .as_str()
                .is_some_and(|d| d.starts_with("2026-03-02T12:00:00"))
        })
        .count() as u64;
    assert_eq!(new, created_quietly, "{outcomes:?} {kinds}");
    h.shutdown().await;
}

#[tokio::test]
async fn banner_points_at_the_sandbox() {
    let opts = small();
    let h = up(opts.clone()).await;
    let b = banner(&h, &opts);
    assert!(b.contains(&format!("base_url = \"{}/shopify\"", h.base_url())));
    assert!(b.contains(&format!(
        "base_url = \"{}/cin7/ExternalApi/v2/\"",
        h.base_url()
    )));
    assert!(b.contains("requests_per_minute = 60"));
    assert!(b.contains("default = \"Main Warehouse\""));
    assert!(b.contains("\"gid://shopify/Location/1\" = \"Main Warehouse\""));
    assert!(b.contains("SHOPIFY_ACCESS_TOKEN="));
    let toml_part: String = b
        .lines()
        .skip_while(|l| !l.starts_with("[shopify]"))
        .take_while(|l| !l.starts_with("# environment"))
        .collect::<Vec<_>>()
        .join("\n");
    let parsed: Result<toml::Value, _> = toml::from_str(&toml_part);
    assert!(parsed.is_ok(), "{toml_part}");
    h.shutdown().await;
}

#[tokio::test]
async fn webhooks_are_signed_and_delivered() {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    use std::sync::{Arc, Mutex};

    let got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let h = up(SandboxOptions {
        webhook_url: Some(format!("http://{addr}/hook")),
        webhook_secret: Some("s3cret".into()),
        ..small()
    })
    .await;
    let r: Value = client()
        .post(format!("{}/sandbox/tick?hours=12", h.base_url()))
        .send()
        .await
        .expect("tick")
        .json()
        .await
        .expect("json");
    let queued = r["webhooks_queued"].as_u64().unwrap_or(0);
    assert!(queued > 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while (got.lock().map(|g| g.len()).unwrap_or(0) as u64) < queued && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = got.lock().map(|g| g.clone()).unwrap_or_default();
    assert_eq!(got.len() as u64, queued);
    for (headers, body) in &got {
        let hv = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        assert_eq!(hv("x-shopify-topic"), "orders/paid");
        assert_eq!(hv("x-shopify-hmac-sha256"), webhooks::sign("s3cret", body));
        assert!(!hv("x-shopify-event-id").is_empty() && !hv("x-shopify-webhook-id").is_empty());
        let v: Value = serde_json::from_slice(body).expect("payload");
        assert!(v["line_items"].is_array());
    }
    assert_eq!(state(&h).await["webhook_deliveries"].as_u64(), Some(queued));
    h.shutdown().await;
    server.abort();
}

#[test]
fn hostile_names_are_planted_only_when_asked_and_the_banner_quotes_them() {
    let plain = generator::build(&small(), "http://x".into());
    let w = generator::build(
        &SandboxOptions {
            hostile_names: true,
            ..small()
        },
        "http://x".into(),
    );
    let skus: Vec<&str> = w.products.iter().map(|p| p.sku.as_str()).collect();
    assert!(skus.iter().any(|s| s.ends_with(HOSTILE_TITLE)));
    assert!(
        skus.iter()
            .any(|s| s.chars().count() == HOSTILE_LONG_SKU_CHARS)
    );
    assert!(skus.contains(&HOSTILE_FORMULA));
    assert!(w.locations.iter().any(|l| l.name.ends_with(HOSTILE_TITLE)));
    assert!(w.suppliers[0].name.starts_with(HOSTILE_FORMULA));
    // Shopify spells the formula SKU in lower case; the others as Cin7 does.
    let lower = HOSTILE_FORMULA.to_lowercase();
    assert!(w.variants.iter().any(|v| v.sku.as_deref() == Some(&lower)));
    assert!(
        w.variants
            .iter()
            .any(|v| v.sku.as_deref().is_some_and(|s| s.ends_with(HOSTILE_TITLE)))
    );
    // Without the flag nothing of it.
    assert!(
        plain
            .products
            .iter()
            .all(|p| !p.sku.contains('\u{1b}') && p.sku.len() < 100 && !p.sku.starts_with('='))
    );
    assert!(plain.locations.iter().all(|l| !l.name.contains('\u{1b}')));
    // The banner's TOML strings read back as the names, and send no escape.
    for name in w
        .locations
        .iter()
        .map(|l| l.name.as_str())
        .chain(["a \"b\" \\ c"])
    {
        let quoted = toml_string(name);
        assert!(!quoted.contains(['\u{1b}', '\u{7}']), "{quoted}");
        let doc: toml::Table = toml::from_str(&format!("k = {quoted}")).expect("valid TOML");
        assert_eq!(doc["k"].as_str(), Some(name));
    }
}

/// Runs a bulk operation over the whole history to completion and returns its result URL.
async fn completed_bulk_url(h: &SandboxHandle) -> String {
    let doc = queries::BULK_ORDERS_TEMPLATE
        .replace("{SEARCH}", "created_at:>=\\\"2026-02-20T00:00:00Z\\\"");
    let run = gql(h, queries::BULK_RUN, json!({"query": doc})).await;
    let id = run["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    gql(h, queries::BULK_POLL, json!({"id": id})).await;
    let done = gql(h, queries::BULK_POLL, json!({"id": id})).await;
    done["data"]["bulkOperation"]["url"]
        .as_str()
        .expect("url")
        .to_string()
}

#[tokio::test]
async fn bulk_files_honour_byte_ranges_like_signed_storage_urls() {
    let h = up(small()).await;
    let url = completed_bulk_url(&h).await;
    let whole = client().get(&url).send().await.expect("get");
    assert_eq!(whole.status().as_u16(), 200);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    let whole = whole.bytes().await.expect("body");
    let size = whole.len();
    assert!(size > 10_000, "{size}");

    let part = client()
        .get(&url)
        .header("Range", "bytes=1000-")
        .send()
        .await
        .expect("get");
    assert_eq!(part.status().as_u16(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 1000-{}/{size}", size - 1).as_str()
    );
    assert_eq!(part.headers()["accept-ranges"], "bytes");
    assert_eq!(part.bytes().await.expect("body"), whole.slice(1000..));

    let closed = client()
        .get(&url)
        .header("Range", "bytes=10-19")
        .send()
        .await
        .expect("get");
    assert_eq!(closed.status().as_u16(), 206);
    assert_eq!(closed.bytes().await.expect("body"), whole.slice(10..20));

    let past = client()
        .get(&url)
        .header("Range", format!("bytes={size}-"))
        .send()
        .await
        .expect("get");
    assert_eq!(past.status().as_u16(), 416);
    assert_eq!(
        past.headers()["content-range"],
        format!("bytes */{size}").as_str()
    );
    // A form it does not serve (a suffix range) is ignored: the whole file.
    let suffix = client()
        .get(&url)
        .header("Range", "bytes=-10")
        .send()
        .await
        .expect("get");
    assert_eq!(suffix.status().as_u16(), 200);

    let log = h.state_json()["bulk_downloads"].clone();
    let statuses: Vec<u64> = log
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|d| d["status"].as_u64())
        .collect();
    assert_eq!(statuses, vec![200, 206, 206, 416, 200]);
    assert_eq!(log[1]["range"], "bytes=1000-");
    assert_eq!(log[1]["from"], 1000);
    h.shutdown().await;
}

#[tokio::test]
async fn bulk_files_are_paced_and_the_first_download_is_cut() {
    let h = up(SandboxOptions {
        bulk_drop_after: Some(5_000),
        ..small()
    })
    .await;
    let url = completed_bulk_url(&h).await;
    // First download: the connection breaks after 5000 bytes.
    let first = client().get(&url).send().await.expect("get");
    assert_eq!(first.status().as_u16(), 200);
    let declared = first.content_length().expect("length");
    let broken = first.bytes().await;
    assert!(broken.is_err(), "the body must end in an error");
    // The next one is whole, and a resume from the cut gives the rest.
    let whole = client()
        .get(&url)
        .send()
        .await
        .expect("get")
        .bytes()
        .await
        .expect("second download is whole");
    assert_eq!(whole.len() as u64, declared);
    let rest = client()
        .get(&url)
        .header("Range", "bytes=5000-")
        .send()
        .await
        .expect("get")
        .bytes()
        .await
        .expect("rest");
    assert_eq!(rest, whole.slice(5000..));
    assert_eq!(h.state_json()["bulk_downloads"][0]["cut_after"], 5000);
    h.shutdown().await;

    // Pacing: 20 KB at 40 KB/s takes about half a second.
    let h = up(SandboxOptions {
        bulk_bytes_per_sec: Some(40_000),
        ..small()
    })
    .await;
    let url = completed_bulk_url(&h).await;
    let started = Instant::now();
    let got = client()
        .get(&url)
        .header("Range", "bytes=0-19999")
        .send()
        .await
        .expect("get")
        .bytes()
        .await
        .expect("body");
    let took = started.elapsed();
    assert_eq!(got.len(), 20_000);
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "{took:?}"
    );
    h.shutdown().await;
}

// Demand shapes.

use generator::{
    FADING_GROWTH, INTERMITTENT_UNITS_PER_DAY, PROMOTION_UPLIFT, SEASONAL_AMPLITUDE, SHAPE_SHARES,
    TRENDING_GROWTH,
};

/// A catalog-sized world, built once for the shape tests: 500 SKUs, 120 days, 200 orders a day.
fn catalog_world() -> &'static World {
    static WORLD: std::sync::OnceLock<World> = std::sync::OnceLock::new();
    WORLD.get_or_init(|| {
        let opts = SandboxOptions {
            seed: 42,
            skus: 500,
            days: 120,
            now: fixed_now(),
            ..SandboxOptions::default()
        };
        generator::build(&opts, "http://x".into())
    })
}

/// Each Cin7 product sold on Shopify with its first listing (the one that carries its shape).
fn shaped_products(w: &World) -> Vec<(u32, &Sellable)> {
    let mut seen = HashSet::new();
    w.sellables
        .iter()
        .filter_map(|s| s.product.map(|p| (p, s)))
        .filter(|(p, _)| seen.insert(*p))
        .collect()
}

/// The days of the history that are whole days (its first and last are partial).
fn whole_days(w: &World) -> std::ops::RangeInclusive<i32> {
    day_key(w.history_start) + 1..=day_key(w.start) - 1
}

/// A product's true demand on `day`, all locations.
fn demand_on(w: &World, p: u32, day: i32) -> f64 {
    (0..w.locations.len() as u16)
        .map(|l| w.demand.get(&(p, l, day)).copied().unwrap_or(0.0))
        .sum()
}

/// True demand of the products of `shape` (sold all along: not deprecated) over `days`.
fn shape_demand(w: &World, shape: Shape, days: impl Iterator<Item = i32> + Clone) -> f64 {
    shaped_products(w)
        .into_iter()
        .filter(|(_, s)| s.shape == shape && s.until.is_none())
        .map(|(p, _)| days.clone().map(|d| demand_on(w, p, d)).sum::<f64>())
        .sum()
}

#[test]
fn every_demand_shape_has_its_share_of_a_catalog_sized_world() {
    let w = catalog_world();
    let products = shaped_products(w);
    let n = products.len();
    assert!(n > 480, "{n} products sold on Shopify");
    let count = |shape: Shape| products.iter().filter(|(_, s)| s.shape == shape).count();
    let mut rest = 1.0;
    for (shape, share) in SHAPE_SHARES {
        let c = count(shape);
        assert!(
            (c as f64 - share * n as f64).abs() <= 1.0,
            "{shape:?}: {c} of {n}, wanted {share}"
        );
        rest -= share;
    }
    let steady = count(Shape::Steady);
    assert!(
        (steady as f64 - rest * n as f64).abs() <= 3.0,
        "steady: {steady} of {n}"
    );
    // A product's bundle listing sells with the product's shape.
    for s in &w.sellables {
        if let Some(p) = s.product {
            let first = products.iter().find(|(q, _)| *q == p).map(|(_, f)| f.shape);
            assert_eq!(Some(s.shape), first);
        }
    }
    // Each shape's parameters, and only its own.
    for (_, s) in &products {
        match s.shape {
            Shape::Trending => {
                assert!((TRENDING_GROWTH.0..TRENDING_GROWTH.1).contains(&s.growth))
            }
            Shape::Fading => assert!((FADING_GROWTH.0..FADING_GROWTH.1).contains(&s.growth)),
            _ => assert_eq!(s.growth, 1.0),
        }
        if s.shape == Shape::Seasonal {
            assert!((SEASONAL_AMPLITUDE.0..SEASONAL_AMPLITUDE.1).contains(&s.amplitude));
        } else {
            assert_eq!(s.amplitude, 0.0);
        }
        assert_eq!(s.shape == Shape::Promoted, !s.promotions.is_empty());
    }

    // Heavy-tailed volume: Pareto levels (index 1.6) put about half the volume on the top sixth
    // of the non-intermittent products, that is the top tenth of the catalog; the intermittent
    // 40 % carry about 0.2 units a day each, some 10 % of the ~400 units a day.
    let mut volume: Vec<f64> = products
        .iter()
        .map(|(p, _)| whole_days(w).map(|d| demand_on(w, *p, d)).sum())
        .collect();
    let total: f64 = volume.iter().sum();
    volume.sort_by(|a, b| b.total_cmp(a));
    let top: f64 = volume.iter().take(n / 10).sum();
    assert!(
        top > 0.38 * total,
        "the top tenth carries {:.0} % of the volume",
        100.0 * top / total
    );
    let intermittent = shape_demand(w, Shape::Intermittent, whole_days(w));
    assert!(
        intermittent < 0.15 * total,
        "the intermittent products carry {:.0} % of the volume",
        100.0 * intermittent / total
    );
}

#[test]
fn intermittent_products_sell_on_few_days() {
    let w = catalog_world();
    let days: Vec<i32> = whole_days(w).collect();
    let zero_share = |p: u32| {
        days.iter().filter(|&&d| demand_on(w, p, d) == 0.0).count() as f64 / days.len() as f64
    };
    let mut intermittent: Vec<(f64, f64)> = shaped_products(w)
        .into_iter()
        .filter(|(_, s)| s.shape == Shape::Intermittent && s.until.is_none())
        .map(|(p, _)| {
            let mean = days.iter().map(|&d| demand_on(w, p, d)).sum::<f64>() / days.len() as f64;
            (zero_share(p), mean)
        })
        .collect();
    assert!(intermittent.len() > 150, "{}", intermittent.len());
    // Rates are log-uniform in 0.05–0.5 units a day: a mean of 0.195; the median 0.16 units is
    // about 0.11 order lines a day (1.4 units a line), so ~89 % of its days sell nothing.
    let (lo, hi) = INTERMITTENT_UNITS_PER_DAY;
    let expected = (hi - lo) / (hi / lo).ln();
    let mean = intermittent.iter().map(|x| x.1).sum::<f64>() / intermittent.len() as f64;
    assert!(
        (0.7 * expected..1.3 * expected).contains(&mean),
        "mean {mean} units a day, expected {expected}"
    );
    intermittent.sort_by(|a, b| a.0.total_cmp(&b.0));
    let median = intermittent[intermittent.len() / 2].0;
    assert!(median > 0.8, "median share of zero days {median}");
    // Even the busiest (0.5 units × a warehouse factor up to 1.5: ~0.5 lines a day) mostly sell
    // nothing.
    let most = intermittent.iter().filter(|x| x.0 > 0.5).count();
    assert!(
        most as f64 >= 0.95 * intermittent.len() as f64,
        "{most} of {} intermittent products have mostly zero days",
        intermittent.len()
    );
}

#[test]
fn trending_products_grow_and_fading_ones_decline_while_the_volume_stays() {
    let w = catalog_world();
    let days = whole_days(w);
    let (first, last) = (*days.start(), *days.end());
    let head = first..first + 30;
    let tail = last - 29..last + 1;
    let ratio =
        |shape: Shape| shape_demand(w, shape, tail.clone()) / shape_demand(w, shape, head.clone());
    // The windows' midpoints lie ~3/4 of the history apart: a product growing ×g over the history
    // ends ×g^0.74 up (×1.67 at the smallest g, 2), a fading one ×g^0.74 down (×0.51 at the
    // largest g, 0.4), and a steady one, like the whole volume, ×1.08 (the mild global trend).
    let trending = ratio(Shape::Trending);
    assert!(
        trending > 1.5,
        "trending: last 30 days / first 30 days {trending}"
    );
    let fading = ratio(Shape::Fading);
    assert!(
        fading < 0.65,
        "fading: last 30 days / first 30 days {fading}"
    );
    let steady = ratio(Shape::Steady);
    assert!(
        (0.9..1.3).contains(&steady),
        "steady: last 30 days / first 30 days {steady}"
    );
    let all = |r: std::ops::Range<i32>| -> f64 {
        r.map(|d| {
            w.demand
                .iter()
                .filter(|(k, _)| k.2 == d)
                .map(|(_, v)| *v)
                .sum::<f64>()
        })
        .sum()
    };
    let volume = all(tail.clone()) / all(head.clone());
    assert!((0.9..1.25).contains(&volume), "volume ratio {volume}");
    // Most trending products grow on their own, not just on average.
    let growing = shaped_products(w)
        .into_iter()
        .filter(|(_, s)| s.shape == Shape::Trending && s.until.is_none())
        .map(|(p, _)| {
            let sum = |r: std::ops::Range<i32>| r.map(|d| demand_on(w, p, d)).sum::<f64>();
            (sum(head.clone()), sum(tail.clone()))
        })
        .filter(|(h, _)| *h >= 20.0)
        .map(|(h, t)| t > 1.2 * h)
        .collect::<Vec<_>>();
    assert!(
        growing.len() >= 5,
        "{} busy trending products",
        growing.len()
    );
    assert!(
        growing.iter().filter(|g| **g).count() as f64 >= 0.8 * growing.len() as f64,
        "{growing:?}"
    );
}

#[test]
fn promotion_windows_lift_demand() {
    let w = catalog_world();
    let days = whole_days(w);
    let (mut inside, mut baseline, mut windows) = (0.0, 0.0, 0);
    for (p, s) in shaped_products(w) {
        if s.shape != Shape::Promoted || s.until.is_some() {
            continue;
        }
        let promoted = |d: i32| s.promotions.iter().any(|x| d >= x.from && d < x.to);
        let normal: Vec<i32> = days.clone().filter(|&d| !promoted(d)).collect();
        let normal_mean =
            normal.iter().map(|&d| demand_on(w, p, d)).sum::<f64>() / normal.len() as f64;
        for x in &s.promotions {
            if x.from < *days.start() || x.to > *days.end() + 1 {
                continue;
            }
            windows += 1;
            inside += (x.from..x.to).map(|d| demand_on(w, p, d)).sum::<f64>();
            baseline += normal_mean * f64::from(x.to - x.from);
        }
    }
    assert!(windows >= 10, "{windows} promotion windows in the history");
    // Every window multiplies demand by 3–6 (mean 4.5).
    let lift = inside / baseline;
    assert!(
        (0.8 * PROMOTION_UPLIFT.0..1.2 * PROMOTION_UPLIFT.1).contains(&lift),
        "demand in promotions is ×{lift:.2} the product's usual"
    );
}

#[test]
fn seasonal_products_peak_on_their_day_of_the_year() {
    // Over 400 days every day of the year is in the history.
    let opts = SandboxOptions {
        seed: 3,
        skus: 150,
        days: 400,
        orders_per_day: 60,
        now: fixed_now(),
        ..SandboxOptions::default()
    };
    let w = generator::build(&opts, "http://x".into());
    let (mut peak, mut trough, mut products) = (0.0, 0.0, 0);
    for (p, s) in shaped_products(&w) {
        if s.shape != Shape::Seasonal || s.until.is_some() {
            continue;
        }
        products += 1;
        // Days within 30 of the peak (or of the trough, half a year away), across the new year.
        let near = |day: i32, centre: f64| {
            let date = chrono::NaiveDate::from_num_days_from_ce_opt(day).expect("date");
            let off = (f64::from(chrono::Datelike::ordinal(&date)) - centre).rem_euclid(365.25);
            off.min(365.25 - off) <= 30.0
        };
        let centre = f64::from(s.peak_day);
        for d in whole_days(&w) {
            if near(d, centre) {
                peak += demand_on(&w, p, d);
            } else if near(d, centre + 182.625) {
                trough += demand_on(&w, p, d);
            }
        }
    }
    assert!(products >= 10, "{products} seasonal products");
    // Within 30 days of the peak the cycle is at cos ≥ 0.86 (mean 0.96): with an amplitude of at
    // least 0.5 that is (1 + 0.48) / (1 − 0.48) ≈ 2.8 times the trough's demand.
    let ratio = peak / trough;
    assert!(ratio > 2.0, "peak / trough demand {ratio}");
}

#[test]
fn ticks_go_on_with_the_same_shapes() {
    // A 30-day history lived on for 60 days of ticks.
    let opts = SandboxOptions {
        seed: 5,
        skus: 300,
        days: 30,
        orders_per_day: 150,
        now: fixed_now(),
        ..SandboxOptions::default()
    };
    let mut w = generator::build(&opts, "http://x".into());
    let today = day_key(w.start);
    for _ in 0..60 {
        control::advance(&mut w, 24.0);
    }
    // The history's last 29 whole days, and 29 days of ticks 60 days later.
    let history = today - 29..today;
    let lived = today + 31..today + 60;
    let ratio = |shape: Shape| {
        shape_demand(&w, shape, lived.clone()) / shape_demand(&w, shape, history.clone())
    };
    // The mild global trend, 1 + 0.1 (x − 0.5) at x history spans from the history's start, is
    // 1.0 in the history window (x ≈ 0.5) and 1.2 in the lived one (x ≈ 2.5): steady products
    // follow it.
    let global = 1.2;
    let steady = ratio(Shape::Steady);
    assert!(
        (0.85 * global..1.15 * global).contains(&steady),
        "steady: ×{steady} in the ticks"
    );
    // Trends run on for TREND_DAYS past the history's middle: ×g^0.5 in 60 days beyond the global
    // trend (at least ×1.41 for trending, at most ×0.63 for fading). Trends stopped at the
    // history's end would give ×g^0.12 (about ×1.13 and ×0.89).
    let trending = ratio(Shape::Trending) / global;
    assert!(trending > 1.3, "trending: ×{trending} in the ticks");
    let fading = ratio(Shape::Fading) / global;
    assert!(fading < 0.72, "fading: ×{fading} in the ticks");
    // Promotion windows after the history lift the ticks' demand too.
    let (mut inside, mut outside, mut days_in, mut days_out) = (0.0, 0.0, 0, 0);
    for (p, s) in shaped_products(&w) {
        if s.shape != Shape::Promoted || s.until.is_some() {
            continue;
        }
        for d in today + 1..today + 60 {
            if s.promotions.iter().any(|x| d >= x.from && d < x.to) {
                inside += demand_on(&w, p, d);
                days_in += 1;
            } else {
                outside += demand_on(&w, p, d);
                days_out += 1;
            }
        }
    }
    assert!(
        days_in >= 10,
        "{days_in} promoted product-days in the ticks"
    );
    let lift = (inside / f64::from(days_in)) / (outside / f64::from(days_out));
    assert!(
        lift > 0.8 * PROMOTION_UPLIFT.0,
        "×{lift:.2} on promotion days"
    );
}

#[tokio::test]
async fn the_catalog_route_tells_each_products_shape() {
    let h = up(small()).await;
    let catalog: Value = client()
        .get(format!("{}/sandbox/catalog", h.base_url()))
        .send()
        .await
        .expect("catalog")
        .json()
        .await
        .expect("json");
    let rows = catalog.as_array().expect("an array");
    let w = generator::build(&small(), "http://x".into());
    assert_eq!(rows.len(), shaped_products(&w).len());
    let mut shapes = HashSet::new();
    for r in rows {
        let sku = r["sku"].as_str().expect("sku");
        assert!(w.product_by_sku(sku).is_some(), "{sku}");
        let shape = r["shape"].as_str().expect("shape");
        shapes.insert(shape.to_string());
        let growth = r["growth"].as_f64();
        match shape {
            "trending" => assert!(growth > Some(TRENDING_GROWTH.0 - 1e-9), "{r}"),
            "fading" => assert!(growth < Some(FADING_GROWTH.1), "{r}"),
            _ => assert_eq!(growth, None, "{r}"),
        }
        assert_eq!(shape == "seasonal", r["season_peak_day"].is_u64(), "{r}");
        assert_eq!(shape == "seasonal", r["season_amplitude"].is_f64(), "{r}");
        let promotions = r["promotions"].as_array().expect("promotions");
        assert_eq!(shape == "promoted", !promotions.is_empty(), "{r}");
        for x in promotions {
            let day = |k: &str| {
                chrono::NaiveDate::parse_from_str(x[k].as_str().unwrap_or(""), "%Y-%m-%d")
                    .expect("a date")
            };
            let days = (day("last_day") - day("first_day")).num_days() + 1;
            assert!((3..=10).contains(&days), "{x}");
            let uplift = x["uplift"].as_f64().unwrap_or(0.0);
            assert!((PROMOTION_UPLIFT.0..PROMOTION_UPLIFT.1).contains(&uplift));
        }
        let units = r["units_per_day"].as_f64().expect("units_per_day");
        if shape == "intermittent" {
            // Up to 0.5 units a day (a service sells a fifth, the bundle listing adds 0.3).
            assert!(units <= 1.3 * INTERMITTENT_UNITS_PER_DAY.1, "{r}");
        } else {
            assert!(units > 0.0, "{r}");
        }
    }
    // Every shape shows up even in a 60-SKU world (shapes are dealt by quota).
    assert_eq!(shapes.len(), 6, "{shapes:?}");
    h.shutdown().await;
}
