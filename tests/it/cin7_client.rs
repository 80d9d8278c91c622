//! The Cin7 client against wiremock: paging, throttling, ErrorCode bodies, decode errors.

use replenish::adapters::cin7::Cin7Client;
use replenish::adapters::http::{Counters, ErrorClass, build_client};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::settings_for;

fn client(server: &MockServer, page_size: u32) -> (Cin7Client, Counters) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings_for(&server.uri(), &dir.path().join("x.db"));
    s.cin7.page_size = page_size;
    let counters = Counters::default();
    (
        Cin7Client::new(&s, build_client(&s.http), counters.clone()).unwrap(),
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
        Mock::given(method("GET"))
            .and(path("/ref/productavailability"))
            .and(query_param("Page", page.to_string()))
            .and(query_param("Limit", "1000"))
            .and(header("api-auth-accountid", "sandbox"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "Total": 2500, "Page": page, "ProductAvailabilityList": rows((page - 1) * 1000, n)
            })))
            .expect(1)
            .mount(&server)
            .await;
    }
    let (c, counters) = client(&server, 1000);
    let got = c.availability(None, &mut |_| {}).await.unwrap();
    assert_eq!(got.len(), 2500);
    assert_eq!(got[2499].sku, "S2499");
    assert_eq!(counters.get("cin7 GET ref/productavailability").requests, 3);
}

#[tokio::test]
async fn a_full_last_page_matching_total_needs_no_extra_request_and_a_short_page_stops() {
    let server = MockServer::start().await;
    // Total says 20 but the second page is short: stop there (Total can be stale).
    Mock::given(method("GET"))
        .and(path("/product"))
        .and(query_param("Page", "1"))
        .and(query_param("IncludeSuppliers", "true"))
        .and(query_param("IncludeReorderLevels", "true"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"Total": 20, "Page": 1, "Products": rows(0, 10)})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/product"))
        .and(query_param("Page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"Total": 20, "Page": 2, "Products": rows(10, 3)})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (c, counters) = client(&server, 10);
    let got = c.products(&mut |_| {}).await.unwrap();
    assert_eq!(got.len(), 13);
    assert_eq!(counters.get("cin7 GET product").requests, 2);
}

#[tokio::test]
async fn throttled_429_with_retry_after_then_success() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ref/location"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_string("Too Many Requests"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ref/location"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Total": 1, "Page": 1, "LocationList": [{"ID": "l1", "Name": "Main Warehouse", "IsDefault": true}]})))
        .expect(1)
        .mount(&server)
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

#[tokio::test]
async fn throttled_503_names_the_limit_and_the_rate_drops_to_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/supplier"))
        .respond_with(
            ResponseTemplate::new(503).set_body_string("You reached 60 calls per minute API limit"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/supplier"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"Total": 0, "Page": 1, "SupplierList": []})),
        )
        .mount(&server)
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
    Mock::given(method("GET"))
        .and(path("/supplier"))
        .respond_with(ResponseTemplate::new(503).set_body_string("Service Unavailable"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/supplier"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"Total": 0, "Page": 1, "SupplierList": []})),
        )
        .mount(&server)
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
    Mock::given(method("GET"))
        .and(path("/purchase"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"ErrorCode": 400, "Exception": "Purchase not found"}])),
        )
        .expect(1)
        .mount(&server)
        .await;
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

#[tokio::test]
async fn malformed_json_and_bad_fields_name_endpoint_record_and_path() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ref/productavailability"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "Total": 2, "Page": 1,
            "ProductAvailabilityList": [
                {"ID": "p1", "SKU": "A", "Location": "Main", "Available": 3},
                {"ID": "p2", "SKU": "B", "Location": "Main", "Available": "lots"}
            ]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ref/location"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("{\"Total\": 1, \"LocationList\": [ {\"ID\": "),
        )
        .mount(&server)
        .await;
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
