//! The Cin7 client against wiremock: paging, throttling, ErrorCode bodies, decode errors; the
//! write half (creating a draft purchase order, finding a tagged purchase) against wiremock and,
//! for one round trip, the sandbox.

use chrono::{DateTime, NaiveDate, Utc};
use replenish::adapters::cin7::{
    Cin7Client, DraftLine, NewPurchase, PurchaseHint, TaggedPurchase, create_outcome_unknown,
};
use replenish::adapters::http::{Counters, ErrorClass, build_client};
use replenish::clock::Clock;
use replenish::config::Settings;
use replenish::core::model::{Receipt, ReceiptLine};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::MockServer;
use wiremock::matchers::{body_json, header, query_param, query_param_is_missing};

use crate::common::mock::{get, json as answer, mount, mount_then, post, text};
use crate::common::sandbox::sandbox_and_dir;
use crate::common::sandbox::sandbox_settings;
use crate::common::{settings_for, t0};

fn client(server: &MockServer, page_size: u32) -> (Cin7Client, Counters) {
    client_with(server, |s| s.cin7.page_size = page_size)
}

/// A client for `server` with the test settings, adjusted by `tweak`.
fn client_with(server: &MockServer, tweak: impl FnOnce(&mut Settings)) -> (Cin7Client, Counters) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings_for(&server.uri(), &dir.path().join("x.db"));
    tweak(&mut s);
    let counters = Counters::default();
    (
        Cin7Client::new(&s, build_client(&s.http), counters.clone(), Clock::system()).unwrap(),
        counters,
    )
}

fn rows(from: usize, n: usize) -> Vec<Value> {
    (from..from + n)
        .map(|i| json!({"ID": format!("p{i}"), "SKU": format!("S{i}"), "Location": "Main", "Available": i as f64, "OnHand": 1.0}))
        .collect()
}

#[tokio::test]
async fn pages_are_counted_from_total() {
    let server = MockServer::start().await;
    for (page, n) in [(1, 1000), (2, 1000), (3, 500)] {
        let given = get("/ref/productavailability")
            .and(query_param("Page", page.to_string()))
            .and(query_param("Limit", "1000"))
            .and(header("api-auth-accountid", "sandbox"));
        let body = json!({
            "Total": 2500, "Page": page, "ProductAvailabilityList": rows((page - 1) * 1000, n)
        });
        mount(&server, given, answer(200, body), 1).await;
    }
    let (c, counters) = client(&server, 1000);
    let got = c.availability(None, &mut |_| {}).await.unwrap();
    assert_eq!(got.len(), 2500);
    assert_eq!(got[2499].sku, "S2499");
    assert_eq!(counters.get("cin7 GET ref/productavailability").requests, 3);
}

/// Mounts `pages` of `path` (1-based, in order), each answered whatever `Limit` asked.
async fn mount_pages(server: &MockServer, path_: &str, pages: Vec<Value>) {
    for (i, body) in pages.into_iter().enumerate() {
        let given = get(path_).and(query_param("Page", (i + 1).to_string()));
        mount(server, given, answer(200, body), 1).await;
    }
}

#[tokio::test]
async fn short_pages_are_followed_until_the_rows_reach_total() {
    let server = MockServer::start().await;
    // Asked for 1000 a page, the server serves 100 (then 50): no page is the last for being short.
    mount_pages(
        &server,
        "/ref/productavailability",
        vec![
            json!({"Total": 250, "Page": 1, "ProductAvailabilityList": rows(0, 100)}),
            json!({"Total": 250, "Page": 2, "ProductAvailabilityList": rows(100, 100)}),
            json!({"Total": 250, "Page": 3, "ProductAvailabilityList": rows(200, 50)}),
        ],
    )
    .await;
    let (c, counters) = client(&server, 1000);
    let mut seen = Vec::new();
    let got = c
        .availability(None, &mut |p| seen.push((p.rows, p.total)))
        .await
        .unwrap();
    assert_eq!(got.len(), 250);
    let skus: Vec<&str> = got.iter().map(|r| r.sku.as_str()).collect();
    assert_eq!((skus[0], skus[100], skus[249]), ("S0", "S100", "S249"));
    assert_eq!(seen, [(100, Some(250)), (200, Some(250)), (250, Some(250))]);
    // Three requests: the rows reached Total, so no empty page was asked for.
    assert_eq!(counters.get("cin7 GET ref/productavailability").requests, 3);
    for r in server.received_requests().await.unwrap() {
        let limit = r.url.query_pairs().find(|(k, _)| k == "Limit").unwrap().1;
        assert_eq!(limit, "1000");
    }
}

#[tokio::test]
async fn a_decode_error_names_the_records_place_in_the_whole_list() {
    let server = MockServer::start().await;
    let mut second = rows(100, 100);
    second[5]["Available"] = json!("lots");
    mount_pages(
        &server,
        "/ref/productavailability",
        vec![
            json!({"Total": 250, "Page": 1, "ProductAvailabilityList": rows(0, 100)}),
            json!({"Total": 250, "Page": 2, "ProductAvailabilityList": second}),
        ],
    )
    .await;
    let (c, _) = client(&server, 1000);
    let err = c.availability(None, &mut |_| {}).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Decode);
    // Record 105 (not 1005, which `Limit` would make of it).
    assert!(
        err.message
            .contains("ProductAvailabilityList[105] (page 2) ID=p105 SKU=S105"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn a_total_the_rows_never_reach_is_an_error_naming_the_endpoint() {
    let server = MockServer::start().await;
    // Total says 20, but the pages hold 10 and 3 and then nothing.
    mount_pages(
        &server,
        "/product",
        vec![
            json!({"Total": 20, "Page": 1, "Products": rows(0, 10)}),
            json!({"Total": 20, "Page": 2, "Products": rows(10, 3)}),
            json!({"Total": 20, "Page": 3, "Products": []}),
        ],
    )
    .await;
    let (c, counters) = client(&server, 10);
    let err = c.products(&mut |_| {}).await.unwrap_err();
    assert_eq!(err.endpoint, "cin7 GET product");
    assert_eq!(err.class, ErrorClass::Decode);
    assert!(
        err.message.contains("read 13 rows") && err.message.contains("Total is 20"),
        "{}",
        err.message
    );
    assert!(err.to_string().starts_with("cin7 GET product: "), "{err}");
    assert_eq!(counters.get("cin7 GET product").requests, 3);
}

#[tokio::test]
async fn more_rows_than_total_is_an_error_too() {
    let server = MockServer::start().await;
    mount_pages(
        &server,
        "/supplier",
        vec![json!({"Total": 3, "Page": 1, "SupplierList": [
            {"ID": "s1", "Name": "A"}, {"ID": "s2", "Name": "B"},
            {"ID": "s3", "Name": "C"}, {"ID": "s4", "Name": "D"}
        ]})],
    )
    .await;
    let (c, _) = client(&server, 1000);
    let err = c.suppliers(&mut |_| {}).await.unwrap_err();
    assert_eq!(err.endpoint, "cin7 GET supplier");
    assert!(
        err.message.contains("read 4 rows") && err.message.contains("Total is 3"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn without_total_paging_stops_at_an_empty_page() {
    let server = MockServer::start().await;
    let loc = |i: usize| json!({"ID": format!("l{i}"), "Name": format!("Site {i}")});
    // No `Total` at all, and the first pages are short of the `Limit` of 10.
    mount_pages(
        &server,
        "/ref/location",
        vec![
            json!({"Page": 1, "LocationList": (0..4).map(loc).collect::<Vec<_>>()}),
            json!({"Page": 2, "LocationList": (4..7).map(loc).collect::<Vec<_>>()}),
            json!({"Page": 3, "LocationList": []}),
        ],
    )
    .await;
    let (c, counters) = client(&server, 10);
    let got = c.locations(&mut |_| {}).await.unwrap();
    let names: Vec<&str> = got.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Site 0", "Site 1", "Site 2", "Site 3", "Site 4", "Site 5", "Site 6"
        ]
    );
    assert_eq!(counters.get("cin7 GET ref/location").requests, 3);
}

#[tokio::test]
async fn a_server_that_ignores_page_is_stopped() {
    let server = MockServer::start().await;
    // Every page is the first one, and there is no `Total` to reach.
    let body =
        json!({"LocationList": [{"ID": "l1", "Name": "Main"}, {"ID": "l2", "Name": "East"}]});
    mount(&server, get("/ref/location"), answer(200, body), 2).await;
    let (c, _) = client(&server, 10);
    let err = c.locations(&mut |_| {}).await.unwrap_err();
    assert_eq!(err.endpoint, "cin7 GET ref/location");
    assert!(err.message.contains("ignores `Page`"), "{}", err.message);
}

#[tokio::test]
async fn a_server_serving_rows_forever_is_stopped() {
    let server = MockServer::start().await;
    // Each page holds 10 new rows and a Total one page further on: the rows never reach it.
    get("/product")
        .respond_with(|req: &wiremock::Request| {
            let page: usize = req
                .url
                .query_pairs()
                .find(|(k, _)| k == "Page")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(1);
            answer(
                200,
                json!({
                    "Total": page * 10 + 10, "Page": page, "Products": rows((page - 1) * 10, 10)
                }),
            )
        })
        .mount(&server)
        .await;
    let (c, counters) = client(&server, 10);
    let err = c.products(&mut |_| {}).await.unwrap_err();
    assert_eq!(err.endpoint, "cin7 GET product");
    assert!(
        err.message.contains("still serving rows"),
        "{}",
        err.message
    );
    // ⌈20 / 10⌉ = 2 pages expected from the first Total, and 10 more allowed.
    assert_eq!(counters.get("cin7 GET product").requests, 12);
}

#[tokio::test]
async fn throttled_429_with_retry_after_then_success() {
    let server = MockServer::start().await;
    let throttled = text(429, "Too Many Requests").insert_header("Retry-After", "1");
    let location = json!({"Total": 1, "Page": 1, "LocationList": [{"ID": "l1", "Name": "Main Warehouse", "IsDefault": true}]});
    mount_then(
        &server,
        get("/ref/location").respond_with(throttled).expect(1),
        1,
        get("/ref/location")
            .respond_with(answer(200, location))
            .expect(1),
    )
    .await;
    let (c, counters) = client(&server, 1000);
    let started = std::time::Instant::now();
    let got = c.locations(&mut |_| {}).await.unwrap();
    assert_eq!(got[0].name, "Main Warehouse");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(950),
        "waited for Retry-After"
    );
    let count = counters.get("cin7 GET ref/location");
    assert_eq!((count.requests, count.throttled, count.retries), (2, 1, 1));
    assert_eq!(c.rate(), 36_000, "no limit named: lowered to 60% of 60000");
}

/// `GET supplier` answering an empty list.
fn no_suppliers() -> wiremock::Mock {
    get("/supplier").respond_with(answer(
        200,
        json!({"Total": 0, "Page": 1, "SupplierList": []}),
    ))
}

#[tokio::test]
async fn throttled_503_names_the_limit_and_the_rate_drops_to_it() {
    let server = MockServer::start().await;
    let limit = text(503, "You reached 60 calls per minute API limit");
    mount_then(
        &server,
        get("/supplier").respond_with(limit),
        1,
        no_suppliers(),
    )
    .await;
    let (c, counters) = client(&server, 1000);
    let got = c.suppliers(&mut |_| {}).await.unwrap();
    assert!(got.is_empty());
    assert_eq!(c.rate(), 60);
    assert_eq!(counters.get("cin7 GET supplier").throttled, 1);
}

#[tokio::test]
async fn plain_503_is_a_server_error_retried_without_lowering_the_rate() {
    let server = MockServer::start().await;
    let unavailable = text(503, "Service Unavailable");
    mount_then(
        &server,
        get("/supplier").respond_with(unavailable),
        2,
        no_suppliers(),
    )
    .await;
    let (c, counters) = client(&server, 1000);
    c.suppliers(&mut |_| {}).await.unwrap();
    assert_eq!(c.rate(), 60_000);
    let count = counters.get("cin7 GET supplier");
    assert_eq!((count.requests, count.throttled, count.retries), (3, 0, 2));
}

#[tokio::test]
async fn error_code_with_http_200_is_a_failure() {
    let server = MockServer::start().await;
    let body = json!([{"ErrorCode": 400, "Exception": "Purchase not found"}]);
    mount(&server, get("/purchase"), answer(200, body), 1).await;
    let (c, _) = client(&server, 1000);
    let err = c.purchase_detail("abc").await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Client);
    assert!(
        err.message.contains("Purchase not found"),
        "{}",
        err.message
    );
    assert_eq!(err.endpoint, "cin7 GET purchase");
}

// ---- GET purchase?ID= and 404 ----

/// `GET purchase?ID=pur-x` answers 404 the way Cin7 answers a missing record.
async fn mount_purchase_404(server: &MockServer) {
    let body =
        json!([{"ErrorCode": 404, "Exception": "Purchase with ID = 'pur-x' was not found."}]);
    let given = get("/purchase").and(query_param("ID", "pur-x"));
    mount(server, given, answer(404, body), ..).await;
}

fn hint_since() -> PurchaseHint<'static> {
    PurchaseHint {
        order_number: Some("PO-00042"),
        updated_since: Some(since()),
    }
}

#[tokio::test]
async fn a_404_that_the_purchase_list_confirms_is_a_gone_purchase() {
    let server = MockServer::start().await;
    mount_purchase_404(&server).await;
    // Updated since the hint's instant, by ID: another purchase, not this one.
    let given = get("/purchaseList")
        .and(query_param("UpdatedSince", "2026-11-27T07:30:00"))
        .and(query_param_is_missing("Search"));
    let body = json!({
        "Total": 1, "Page": 1,
        "PurchaseList": [{"ID": "pur-y", "OrderNumber": "PO-00043", "Status": "ORDERING"}]
    });
    mount(&server, given, answer(200, body), 2).await;
    let (c, counters) = client(&server, 1000);
    assert_eq!(c.purchase("pur-x", &hint_since()).await.unwrap(), None);
    assert_eq!(counters.get("cin7 GET purchase").requests, 1);
    assert_eq!(counters.get("cin7 GET purchaseList").requests, 1);
    assert_eq!(
        c.purchase_receipt("pur-x", &hint_since()).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn without_a_date_the_404_check_searches_the_order_number() {
    let server = MockServer::start().await;
    mount_purchase_404(&server).await;
    let given = get("/purchaseList")
        .and(query_param("Search", "PO-00042"))
        .and(query_param_is_missing("UpdatedSince"));
    let body = json!({"Total": 0, "Page": 1, "PurchaseList": []});
    mount(&server, given, answer(200, body), 1).await;
    let (c, _) = client(&server, 1000);
    let hint = PurchaseHint {
        order_number: Some("PO-00042"),
        updated_since: None,
    };
    assert_eq!(c.purchase("pur-x", &hint).await.unwrap(), None);
}

#[tokio::test]
async fn a_404_for_a_purchase_the_list_still_holds_is_an_error() {
    let server = MockServer::start().await;
    mount_purchase_404(&server).await;
    let body = json!({
        "Total": 2, "Page": 1,
        "PurchaseList": [
            {"ID": "pur-y", "OrderNumber": "PO-00043", "Status": "ORDERING"},
            {"ID": "PUR-X", "OrderNumber": "PO-00042", "Status": "ORDERING"}
        ]
    });
    mount(&server, get("/purchaseList"), answer(200, body), 2).await;
    let (c, _) = client(&server, 1000);
    let err = c.purchase("pur-x", &hint_since()).await.unwrap_err();
    assert_eq!(err.endpoint, "cin7 GET purchase");
    assert!(
        err.message
            .contains("still lists it (PO-00042, status ORDERING)"),
        "{}",
        err.message
    );
    assert!(
        c.purchase_receipt("pur-x", &hint_since()).await.is_err(),
        "the receipt check is not let go either"
    );
}

#[tokio::test]
async fn a_404_everywhere_is_an_error_not_a_gone_purchase() {
    // A wrong base URL: every endpoint answers 404.
    let server = MockServer::start().await;
    mount_purchase_404(&server).await;
    let not_found = text(404, "<html>Not Found</html>");
    mount(&server, get("/purchaseList"), not_found, 1).await;
    let (c, _) = client(&server, 1000);
    let err = c.purchase("pur-x", &hint_since()).await.unwrap_err();
    assert_eq!(err.endpoint, "cin7 GET purchase");
    assert_eq!(err.status, Some(404));
    assert!(
        err.message.contains("could not confirm it is gone")
            && err.message.contains("cin7 GET purchaseList: HTTP 404"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn receipts_come_with_their_status_in_either_shape() {
    let server = MockServer::start().await;
    // A simple purchase: one receipt object, still a draft.
    let body = json!({
        "ID": "pur-1", "Location": "Main Warehouse",
        "StockReceived": {"Status": "DRAFT", "Lines": [
            {"SKU": "A-1", "Quantity": 4, "Received": true}
        ]}
    });
    let given = get("/purchase").and(query_param("ID", "pur-1"));
    mount(&server, given, answer(200, body), ..).await;
    // Received in two goes: a list of receipts, one authorised at another location.
    let body = json!({
        "ID": "pur-2", "Location": "Main Warehouse",
        "StockReceived": [
            {"Status": "AUTHORISED", "Lines": [{"SKU": "B-1", "Quantity": 2, "Location": "East"}]},
            {"Status": "DRAFT", "Lines": [{"SKU": "B-1", "Quantity": 3}]}
        ]
    });
    let given = get("/purchase").and(query_param("ID", "pur-2"));
    mount(&server, given, answer(200, body), ..).await;
    let (c, _) = client(&server, 1000);
    let one = c
        .purchase_receipt("pur-1", &hint_since())
        .await
        .unwrap()
        .unwrap();
    let line = |sku: &str, location: &str, quantity: f64| ReceiptLine {
        sku: sku.into(),
        location: location.into(),
        quantity,
    };
    assert_eq!(
        one,
        [Receipt {
            status: Some("DRAFT".into()),
            lines: vec![line("A-1", "Main Warehouse", 4.0)],
        }]
    );
    let two = c
        .purchase_receipt("pur-2", &hint_since())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        two,
        [
            Receipt {
                status: Some("AUTHORISED".into()),
                lines: vec![line("B-1", "East", 2.0)],
            },
            Receipt {
                status: Some("DRAFT".into()),
                lines: vec![line("B-1", "Main Warehouse", 3.0)],
            },
        ]
    );
}

#[tokio::test]
async fn malformed_json_and_bad_fields_name_endpoint_record_and_path() {
    let server = MockServer::start().await;
    let body = json!({
        "Total": 2, "Page": 1,
        "ProductAvailabilityList": [
            {"ID": "p1", "SKU": "A", "Location": "Main", "Available": 3},
            {"ID": "p2", "SKU": "B", "Location": "Main", "Available": "lots"}
        ]
    });
    mount(
        &server,
        get("/ref/productavailability"),
        answer(200, body),
        ..,
    )
    .await;
    let cut = text(200, "{\"Total\": 1, \"LocationList\": [ {\"ID\": ");
    mount(&server, get("/ref/location"), cut, ..).await;
    let (c, _) = client(&server, 1000);
    let err = c.availability(None, &mut |_| {}).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Decode);
    assert_eq!(err.endpoint, "cin7 GET ref/productavailability");
    assert!(
        err.message.contains("ProductAvailabilityList[1]"),
        "{}",
        err.message
    );
    assert!(err.message.contains("SKU=B"), "{}", err.message);
    assert!(err.message.contains("Available"), "{}", err.message);
    let err = c.locations(&mut |_| {}).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Decode);
    assert!(err.message.contains("malformed JSON"), "{}", err.message);
}

// ---- the write half ----

fn new_purchase() -> NewPurchase {
    NewPurchase {
        supplier_id: "6a1f7c2e-0b5d-4c8e-9f3a-2d4b6c8e0f12".into(),
        location: "Main Warehouse".into(),
        approach: "INVOICE".into(),
        required_by: NaiveDate::from_ymd_opt(2026, 12, 15).unwrap(),
        terms: None,
        tax_rule: None,
        currency_rate: 1.25,
        note: "replenish: run 42 key=acme-main-20261127".into(),
    }
}

/// The full purchase Cin7 answers to `POST purchase` (the fields the example shows).
fn created_answer() -> Value {
    json!({
        "ID": "0f3c9a4e-1d2b-4e6f-8a7c-5b9d1e3f2a40",
        "SupplierID": "6a1f7c2e-0b5d-4c8e-9f3a-2d4b6c8e0f12",
        "Supplier": "Acme Supplies",
        "Location": "Main Warehouse",
        "Approach": "INVOICE",
        "RequiredBy": "2026-12-15T00:00:00",
        "Note": "replenish: run 42 key=acme-main-20261127",
        "OrderNumber": "PO-00042",
        "Status": "DRAFT",
        "Type": "Simple Purchase",
        "CurrencyRate": 1.25,
        "Order": {"Status": "NOT AVAILABLE", "Lines": []}
    })
}

#[tokio::test]
async fn create_purchase_sends_the_header_and_reads_id_and_order_number() {
    let server = MockServer::start().await;
    // The exact body: Terms and TaxRule are None, so they must be absent.
    let given = post("/purchase")
        .and(header("api-auth-accountid", "sandbox"))
        .and(header("api-auth-applicationkey", "sandbox"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "SupplierID": "6a1f7c2e-0b5d-4c8e-9f3a-2d4b6c8e0f12",
            "Location": "Main Warehouse",
            "Approach": "INVOICE",
            "RequiredBy": "2026-12-15T00:00:00",
            "CurrencyRate": 1.25,
            "Note": "replenish: run 42 key=acme-main-20261127"
        })));
    mount(&server, given, answer(200, created_answer()), 1).await;
    let (c, counters) = client(&server, 1000);
    let created = c.create_purchase(&new_purchase()).await.unwrap();
    assert_eq!(created.id, "0f3c9a4e-1d2b-4e6f-8a7c-5b9d1e3f2a40");
    assert_eq!(created.order_number, "PO-00042");
    let count = counters.get("cin7 POST purchase");
    assert_eq!((count.requests, count.retries), (1, 0));
}

#[tokio::test]
async fn create_purchase_sends_terms_and_tax_rule_when_given() {
    let server = MockServer::start().await;
    mount(&server, post("/purchase"), answer(200, created_answer()), 1).await;
    let (c, _) = client(&server, 1000);
    let p = NewPurchase {
        terms: Some("30 days".into()),
        tax_rule: Some("Tax on Purchases".into()),
        approach: "STOCK".into(),
        ..new_purchase()
    };
    c.create_purchase(&p).await.unwrap();
    let sent = &server.received_requests().await.unwrap()[0];
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["Terms"], "30 days");
    assert_eq!(body["TaxRule"], "Tax on Purchases");
    assert_eq!(body["Approach"], "STOCK");
    assert_eq!(body.as_object().unwrap().len(), 8, "{body}");
}

#[tokio::test]
async fn create_purchase_answer_without_an_order_number_is_a_decode_error_of_unknown_outcome() {
    let server = MockServer::start().await;
    let body = json!({"ID": "abc", "Status": "DRAFT"});
    mount(&server, post("/purchase"), answer(200, body), 1).await;
    let (c, _) = client(&server, 1000);
    let err = c.create_purchase(&new_purchase()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Decode);
    assert_eq!(err.endpoint, "cin7 POST purchase");
    assert!(err.message.contains("OrderNumber"), "{}", err.message);
    assert!(
        create_outcome_unknown(&err),
        "Cin7 answered 200: it was created"
    );
}

#[tokio::test]
async fn create_purchase_is_not_retried_after_a_503_and_its_outcome_is_unknown() {
    let server = MockServer::start().await;
    let unavailable = text(503, "Service Unavailable");
    mount(&server, post("/purchase"), unavailable, 1).await;
    let (c, counters) = client(&server, 1000);
    let err = c.create_purchase(&new_purchase()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Server);
    assert_eq!(err.status, Some(503));
    assert!(create_outcome_unknown(&err));
    let count = counters.get("cin7 POST purchase");
    assert_eq!((count.requests, count.retries), (1, 0));
}

#[tokio::test]
async fn create_purchase_is_not_retried_after_a_timeout_and_its_outcome_is_unknown() {
    let server = MockServer::start().await;
    let slow = answer(200, created_answer()).set_delay(std::time::Duration::from_millis(2500));
    mount(&server, post("/purchase"), slow, 1).await;
    let (c, counters) = client_with(&server, |s| s.http.timeout_secs = 1);
    let err = c.create_purchase(&new_purchase()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Transient, "{err}");
    assert!(create_outcome_unknown(&err));
    assert_eq!(counters.get("cin7 POST purchase").retries, 0);
}

#[tokio::test]
async fn create_purchase_throttled_is_refused_not_processed_and_not_retried() {
    let server = MockServer::start().await;
    let limit = text(503, "You reached 60 calls per minute API limit");
    mount(&server, post("/purchase"), limit, 1).await;
    let (c, counters) = client(&server, 1000);
    let err = c.create_purchase(&new_purchase()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Throttling);
    assert!(!create_outcome_unknown(&err));
    let count = counters.get("cin7 POST purchase");
    assert_eq!((count.requests, count.throttled, count.retries), (1, 1, 0));
}

#[tokio::test]
async fn a_cin7_rejection_is_a_client_error_carrying_its_text_and_no_secret() {
    let server = MockServer::start().await;
    let given = post("/purchase")
        .and(header("api-auth-accountid", "acct-7f3e-SECRET"))
        .and(header("api-auth-applicationkey", "key-91ab-SECRET"));
    let body = json!([
        {"ErrorCode": 400, "Exception": "Supplier with ID = '6a1f7c2e-0b5d-4c8e-9f3a-2d4b6c8e0f12' was not found."}
    ]);
    mount(&server, given, answer(400, body), 1).await;
    let (c, _) = client_with(&server, |s| {
        s.cin7.account_id = Some(SecretString::from("acct-7f3e-SECRET"));
        s.cin7.application_key = Some(SecretString::from("key-91ab-SECRET"));
    });
    let err = c.create_purchase(&new_purchase()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Client);
    assert_eq!(err.status, Some(400));
    assert!(
        err.message
            .contains("Supplier with ID = '6a1f7c2e-0b5d-4c8e-9f3a-2d4b6c8e0f12' was not found."),
        "{}",
        err.message
    );
    assert!(!create_outcome_unknown(&err));
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
}

#[tokio::test]
async fn a_rejection_with_a_message_object_carries_the_message() {
    let server = MockServer::start().await;
    let body = json!({"Message": "Location 'Nowhere' was not found."});
    mount(&server, post("/purchase"), answer(400, body), 1).await;
    let (c, _) = client(&server, 1000);
    let err = c.create_purchase(&new_purchase()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Client);
    assert_eq!(err.message, "HTTP 400: Location 'Nowhere' was not found.");
    assert!(!create_outcome_unknown(&err));
}

fn draft_lines() -> Vec<DraftLine> {
    vec![
        DraftLine {
            product_id: "p-1".into(),
            sku: "A-1".into(),
            name: "Apple".into(),
            quantity: 3.0,
            price: "1.005".parse().unwrap(),
            tax_rule: Some("Tax on Purchases".into()),
            supplier_sku: Some("AC-1".into()),
        },
        DraftLine {
            product_id: "p-2".into(),
            sku: "B-2".into(),
            name: "Banana".into(),
            quantity: 7.0,
            price: "2.3333".parse().unwrap(),
            tax_rule: None,
            supplier_sku: None,
        },
        DraftLine {
            product_id: "p-3".into(),
            sku: "C-3".into(),
            name: "Cherry".into(),
            quantity: 2.5,
            price: "12.345678".parse().unwrap(),
            tax_rule: None,
            supplier_sku: Some("".into()),
        },
    ]
}

fn order_body() -> Value {
    json!({
        "TaskID": "0f3c9a4e-1d2b-4e6f-8a7c-5b9d1e3f2a40",
        "CombineAdditionalCharges": false,
        "Memo": "",
        "Status": "DRAFT",
        "Lines": [
            {"ProductID": "p-1", "SKU": "A-1", "Name": "Apple", "Quantity": 3, "Price": 1.005,
             "Discount": 0, "Tax": 0, "TaxRule": "Tax on Purchases", "SupplierSKU": "AC-1", "Total": 3.02},
            {"ProductID": "p-2", "SKU": "B-2", "Name": "Banana", "Quantity": 7, "Price": 2.3333,
             "Discount": 0, "Tax": 0, "Total": 16.33},
            // Price to 4 places (12.3457), Total 2.5 × 12.3457 = 30.86425 → 30.86.
            {"ProductID": "p-3", "SKU": "C-3", "Name": "Cherry", "Quantity": 2.5, "Price": 12.3457,
             "Discount": 0, "Tax": 0, "Total": 30.86}
        ],
        "AdditionalCharges": []
    })
}

#[tokio::test]
async fn write_purchase_order_sends_a_draft_with_exact_totals_and_is_retried_after_a_503() {
    let server = MockServer::start().await;
    let unavailable = text(503, "Service Unavailable");
    let written = json!({
        "TaskID": "0f3c9a4e-1d2b-4e6f-8a7c-5b9d1e3f2a40", "Status": "DRAFT", "Lines": []
    });
    mount_then(
        &server,
        post("/purchase/order").respond_with(unavailable).expect(1),
        1,
        post("/purchase/order")
            .and(header("api-auth-accountid", "sandbox"))
            .and(header("content-type", "application/json"))
            .and(body_json(order_body()))
            .respond_with(answer(200, written))
            .expect(1),
    )
    .await;
    let (c, counters) = client(&server, 1000);
    c.write_purchase_order("0f3c9a4e-1d2b-4e6f-8a7c-5b9d1e3f2a40", &draft_lines())
        .await
        .unwrap();
    let count = counters.get("cin7 POST purchase/order");
    assert_eq!((count.requests, count.retries), (2, 1));
    // Numbers went out as JSON numbers, the same body both times.
    let sent = server.received_requests().await.unwrap();
    assert_eq!(sent.len(), 2);
    for r in &sent {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert!(body["Lines"][0]["Quantity"].is_number());
        assert!(body["Lines"][0]["Price"].is_number());
        assert!(body["Lines"][0]["Total"].is_number());
        assert!(body["Lines"][1].get("TaxRule").is_none());
        assert!(
            body["Lines"][2].get("SupplierSKU").is_none(),
            "blank is left out"
        );
    }
}

#[tokio::test]
async fn write_purchase_order_rejection_is_not_retried_and_carries_cin7_text() {
    let server = MockServer::start().await;
    let body = json!([
        {"ErrorCode": 400, "Exception": "Lines[0]: Product with ID = 'p-1' was not found."}
    ]);
    mount(&server, post("/purchase/order"), answer(400, body), 1).await;
    let (c, _) = client(&server, 1000);
    let err = c
        .write_purchase_order("t", &draft_lines()[..1])
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Client);
    assert_eq!(err.endpoint, "cin7 POST purchase/order");
    assert!(
        err.message
            .contains("Lines[0]: Product with ID = 'p-1' was not found."),
        "{}",
        err.message
    );
}

const ACME: &str = "6a1f7c2e-0b5d-4c8e-9f3a-2d4b6c8e0f12";

fn since() -> DateTime<Utc> {
    "2026-11-27T07:30:00.250Z".parse().unwrap()
}

/// purchaseList with two purchases of Acme (its ID in another letter case on one) and one of a
/// supplier with a similar name; the details of Acme's two.
async fn mount_tagged_purchases(server: &MockServer, calls: u64) {
    let given = get("/purchaseList")
        .and(query_param("UpdatedSince", "2026-11-27T07:30:00"))
        // By supplier ID, not by name: a supplier renamed since the create must not hide it.
        .and(query_param_is_missing("Search"))
        .and(query_param("Page", "1"));
    let list = json!({
            "Total": 3, "Page": 1,
            "PurchaseList": [
                {"ID": "pur-a", "OrderNumber": "PO-00012", "Status": "ORDERING", "OrderStatus": "DRAFT",
                 "Supplier": "Acme Supplies", "SupplierID": ACME.to_uppercase(),
                 "LastUpdatedDate": "2026-11-27T07:45:10.123"},
                {"ID": "pur-b", "OrderNumber": "PO-00011", "Status": "ORDERING", "OrderStatus": "DRAFT",
                 "Supplier": "Acme Supplies", "SupplierID": ACME,
                 "LastUpdatedDate": "2026-11-27T07:40:00.000"},
                {"ID": "pur-c", "OrderNumber": "PO-00010", "Status": "ORDERING", "OrderStatus": "DRAFT",
                 "Supplier": "Acme Supplies West", "SupplierID": "d2c4e6f8-0000-4000-8000-000000000001",
                 "Note": "replenish: run 42 key=acme-main-20261127",
                 "LastUpdatedDate": "2026-11-27T07:41:00.000"}
            ]
    });
    mount(server, given, answer(200, list), calls).await;
    let untagged = json!({
        "ID": "pur-b", "Location": "Main Warehouse", "Note": "ordered by Sam", "Status": "ORDERING",
        "Order": {"Status": "DRAFT", "Lines": [{"ProductID": "p-9", "SKU": "Z-9", "Quantity": 1, "Price": 5, "Total": 5}]}
    });
    let tagged = json!({
        "ID": "pur-a", "Location": "Main Warehouse", "Status": "ORDERING",
        "Note": "replenish: run 42 key=acme-main-20261127",
        "Order": {"Status": "DRAFT", "Lines": [
            {"ProductID": "p-1", "SKU": "A-1", "Name": "Apple", "Quantity": 3, "Price": 1.005, "Total": 3.02,
             "SupplierSKU": "AC-1"}
        ]}
    });
    // Another supplier's purchase is never read, whatever its note.
    for (id, body, times) in [
        ("pur-b", answer(200, untagged), calls),
        ("pur-a", answer(200, tagged), calls),
        ("pur-c", wiremock::ResponseTemplate::new(500), 0),
    ] {
        mount(
            server,
            get("/purchase").and(query_param("ID", id)),
            body,
            times,
        )
        .await;
    }
}

#[tokio::test]
async fn find_tagged_purchase_reads_the_suppliers_candidates_and_returns_the_tagged_one() {
    let server = MockServer::start().await;
    mount_tagged_purchases(&server, 1).await;
    let (c, counters) = client(&server, 1000);
    let found: TaggedPurchase = c
        .find_tagged_purchase(ACME, "Acme Supplies", since(), "key=acme-main-20261127")
        .await
        .unwrap()
        .expect("the tagged purchase");
    assert_eq!(found.id(), "pur-a");
    assert_eq!(found.order_number(), "PO-00012");
    assert_eq!(found.status(), "ORDERING");
    assert_eq!(found.order_status(), Some("DRAFT"));
    assert_eq!(found.note(), "replenish: run 42 key=acme-main-20261127");
    assert_eq!(found.lines().len(), 1);
    assert_eq!(found.lines()[0].sku, "A-1");
    assert_eq!(found.lines()[0].quantity, 3.0);
    assert_eq!(found.lines()[0].price, "1.005".parse::<Decimal>().unwrap());
    assert_eq!(found.detail.location.as_deref(), Some("Main Warehouse"));
    let stored = found.into_purchase();
    assert!(stored.detail.is_some());
    // The list, then PO-00011 (no tag) before PO-00012.
    assert_eq!(counters.get("cin7 GET purchaseList").requests, 1);
    assert_eq!(counters.get("cin7 GET purchase").requests, 2);
    let sent = server.received_requests().await.unwrap();
    let order: Vec<String> = sent
        .iter()
        .filter(|r| r.url.path() == "/purchase")
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "ID")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert_eq!(order, ["pur-b", "pur-a"]);
}

#[tokio::test]
async fn find_tagged_purchase_without_a_match_is_none() {
    let server = MockServer::start().await;
    mount_tagged_purchases(&server, 1).await;
    let (c, _) = client(&server, 1000);
    let found = c
        .find_tagged_purchase(ACME, "Acme Supplies", since(), "key=acme-main-20261128")
        .await
        .unwrap();
    assert_eq!(found, None);
    let err = c
        .find_tagged_purchase(ACME, "Acme Supplies", since(), " ")
        .await
        .unwrap_err();
    assert_eq!(
        err.class,
        ErrorClass::Client,
        "an empty tag matches anything"
    );
}

/// One round trip against the sandbox: create, write lines, find it by its tag.
#[tokio::test]
async fn draft_round_trip_against_the_sandbox() {
    let (handle, dir) = sandbox_and_dir(40, 1, 0.0).await;
    let settings = sandbox_settings(&handle, &dir.path().join("s.db"));
    let c = Cin7Client::new(
        &settings,
        build_client(&settings.http),
        Counters::default(),
        Clock::system(),
    )
    .unwrap();

    let suppliers = c.suppliers(&mut |_| {}).await.unwrap();
    let products = c.products(&mut |_| {}).await.unwrap();
    // An active supplier with at least two active products.
    let (supplier, mine) = suppliers
        .iter()
        .filter(|s| s.status.as_deref() == Some("Active"))
        .find_map(|s| {
            let mine: Vec<_> = products
                .iter()
                .filter(|p| p.status == "Active")
                .filter(|p| p.suppliers.iter().any(|l| l.supplier_id == s.id))
                .take(2)
                .collect();
            (mine.len() == 2).then_some((s, mine))
        })
        .expect("a supplier with two products");

    let tag = "replenish: key=round-trip-1";
    let created = c
        .create_purchase(&NewPurchase {
            supplier_id: supplier.id.to_lowercase(),
            location: settings.locations.default.clone(),
            approach: "INVOICE".into(),
            required_by: NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
            terms: None,
            tax_rule: None,
            currency_rate: 1.0,
            note: tag.into(),
        })
        .await
        .unwrap();
    assert!(created.order_number.starts_with("PO-"), "{created:?}");

    let lines: Vec<DraftLine> = mine
        .iter()
        .zip([(3.0, "1.005"), (7.0, "2.3333")])
        .map(|(p, (q, price))| DraftLine {
            product_id: p.id.clone(),
            sku: p.sku.clone(),
            name: p.name.clone(),
            quantity: q,
            price: price.parse().unwrap(),
            tax_rule: None,
            supplier_sku: None,
        })
        .collect();
    c.write_purchase_order(&created.id, &lines).await.unwrap();
    // Writing again replaces the lines (no duplicates).
    c.write_purchase_order(&created.id, &lines).await.unwrap();

    let since: DateTime<Utc> = t0() - chrono::Duration::hours(1);
    let found = c
        .find_tagged_purchase(&supplier.id, &supplier.name, since, "key=round-trip-1")
        .await
        .unwrap()
        .expect("found by its tag");
    assert_eq!(found.id(), created.id);
    assert_eq!(found.order_number(), created.order_number);
    assert_eq!(found.status(), "ORDERING");
    assert_eq!(found.order_status(), Some("DRAFT"));
    assert_eq!(found.note(), tag);
    let got: Vec<(String, f64, Decimal, Decimal)> = found
        .lines()
        .iter()
        .map(|l| (l.sku.clone(), l.quantity, l.price, l.total))
        .collect();
    let want: Vec<(String, f64, Decimal, Decimal)> = vec![
        (
            lines[0].sku.clone(),
            3.0,
            "1.005".parse().unwrap(),
            "3.02".parse().unwrap(),
        ),
        (
            lines[1].sku.clone(),
            7.0,
            "2.3333".parse().unwrap(),
            "16.33".parse().unwrap(),
        ),
    ];
    assert_eq!(got, want);

    assert_eq!(
        c.find_tagged_purchase(&supplier.id, &supplier.name, since, "key=round-trip-2")
            .await
            .unwrap(),
        None
    );
}
