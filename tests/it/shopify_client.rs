//! The Shopify client against wiremock: THROTTLED bodies, cost pacing, paging, bulk operations.

use replenish::adapters::http::{Counters, ErrorClass, build_client};
use replenish::adapters::shopify::{BulkScratch, ShopifyClient};
use replenish::clock::Clock;
use serde_json::{Value, json};
use wiremock::MockServer;
use wiremock::matchers::{body_string_contains, header};

use crate::common::mock::{get, json as answer, mount, post, text};
use crate::common::settings_for;

const GQL: &str = "/admin/api/2026-01/graphql.json";

fn client(server: &MockServer) -> (ShopifyClient, Counters) {
    let dir = tempfile::tempdir().unwrap();
    let s = settings_for(&server.uri(), &dir.path().join("x.db"));
    let counters = Counters::default();
    (
        ShopifyClient::new(&s, build_client(&s.http), counters.clone(), Clock::system()).unwrap(),
        counters,
    )
}

fn cost(available: f64) -> Value {
    json!({"requestedQueryCost": 10, "actualQueryCost": 10,
           "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": available, "restoreRate": 50.0}})
}

fn order(id: u64, updated: &str) -> Value {
    json!({"id": format!("gid://shopify/Order/{id}"), "name": format!("#{id}"),
           "createdAt": "2026-11-20T10:00:00Z", "updatedAt": updated, "cancelledAt": null,
           "test": false, "displayFinancialStatus": "PAID", "retailLocation": null,
           "fulfillmentOrders": {"nodes": [{"id": "gid://shopify/FulfillmentOrder/7", "assignedLocation": {"location": {"id": "gid://shopify/Location/1"}}}]},
           "lineItems": {"nodes": [{"id": format!("gid://shopify/LineItem/{id}0"), "sku": "A-1", "quantity": 2, "currentQuantity": 2, "isGiftCard": false, "variant": {"id": "gid://shopify/ProductVariant/1"}}],
                         "pageInfo": {"hasNextPage": false, "endCursor": null}}})
}

#[tokio::test]
async fn throttled_body_waits_and_retries_then_pages_with_cursor() {
    let server = MockServer::start().await;
    // First answer: THROTTLED in an HTTP 200, bucket nearly empty.
    let throttled = json!({
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {"cost": {"requestedQueryCost": 812, "actualQueryCost": null,
            "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 790.0, "restoreRate": 50.0}}}
    });
    post(GQL)
        .and(header("X-Shopify-Access-Token", "sandbox"))
        .respond_with(answer(200, throttled))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let first = json!({
        "data": {"orders": {"edges": [{"cursor": "c1", "node": order(1, "2026-11-21T00:00:00Z")}],
                             "pageInfo": {"hasNextPage": true, "endCursor": "c1"}}},
        "extensions": {"cost": cost(900.0)}
    });
    let second = json!({
        "data": {"orders": {"edges": [{"cursor": "c2", "node": order(2, "2026-11-22T00:00:00Z")}],
                             "pageInfo": {"hasNextPage": false, "endCursor": "c2"}}},
        "extensions": {"cost": cost(800.0)}
    });
    for (after, page) in [("\"after\":null", first), ("\"after\":\"c1\"", second)] {
        let given = post(GQL).and(body_string_contains(after));
        mount(&server, given, answer(200, page), ..).await;
    }
    let (c, counters) = client(&server);
    let since = "2026-11-20T00:00:00Z".parse().unwrap();
    let started = std::time::Instant::now();
    let orders = c.orders_updated_since(since, &mut |_| {}).await.unwrap();
    assert_eq!(orders.len(), 2);
    // (812 − 790) / 50 = 0.44 s for the bucket to cover the query again.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(400),
        "waited for the bucket"
    );
    assert_eq!(orders[0].lines[0].current_quantity, 2);
    assert_eq!(
        orders[0].fulfillment_location_id.as_deref(),
        Some("gid://shopify/Location/1")
    );
    let count = counters.get("shopify orders");
    assert_eq!((count.requests, count.throttled, count.retries), (3, 1, 1));
    let sent: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let query = sent[0]["variables"]["query"].as_str().unwrap();
    assert_eq!(query, "updated_at:>='2026-11-20T00:00:00Z'");
    assert!(
        sent[0]["query"]
            .as_str()
            .unwrap()
            .contains("sortKey: UPDATED_AT")
    );
}

#[tokio::test]
async fn max_cost_exceeded_is_a_client_error_not_retried() {
    let server = MockServer::start().await;
    let body = json!({
        "errors": [{"message": "Query cost is 1002, which exceeds the single query max cost limit (1000).", "extensions": {"code": "MAX_COST_EXCEEDED"}}]
    });
    mount(&server, post(GQL), answer(200, body), 1).await;
    let (c, _) = client(&server);
    let err = c.locations().await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Client);
    assert!(err.message.contains("MAX_COST_EXCEEDED"), "{}", err.message);
}

#[tokio::test]
async fn bad_field_in_an_order_names_the_order_and_path() {
    let server = MockServer::start().await;
    let mut bad = order(5, "2026-11-21T00:00:00Z");
    bad["lineItems"]["nodes"][0]["currentQuantity"] = json!("two");
    let body = json!({
        "data": {"orders": {"edges": [{"cursor": "c", "node": bad}], "pageInfo": {"hasNextPage": false, "endCursor": null}}},
        "extensions": {"cost": cost(900.0)}
    });
    mount(&server, post(GQL), answer(200, body), ..).await;
    let (c, _) = client(&server);
    let err = c
        .orders_updated_since("2026-11-20T00:00:00Z".parse().unwrap(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Decode);
    assert_eq!(err.endpoint, "shopify orders");
    assert!(
        err.message.contains("gid://shopify/Order/5"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("lineItems.nodes[0].currentQuantity"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn bulk_operation_runs_polls_by_id_and_downloads_without_the_token() {
    let server = MockServer::start().await;
    let started = json!({
        "data": {"bulkOperationRunQuery": {"bulkOperation": {"id": "gid://shopify/BulkOperation/1", "status": "CREATED"}, "userErrors": []}},
        "extensions": {"cost": cost(990.0)}
    });
    let run = post(GQL).and(body_string_contains("bulkOperationRunQuery"));
    mount(&server, run, answer(200, started), 1).await;
    let url = format!("{}/files/result.jsonl", server.uri());
    let poll = |status: &str, url: Option<&str>| {
        post(GQL)
            .and(body_string_contains("ReplenishBulkPoll"))
            .respond_with(answer(200, json!({
                "data": {"bulkOperation": {"id": "gid://shopify/BulkOperation/1", "status": status, "objectCount": "3", "url": url}},
                "extensions": {"cost": cost(990.0)}
            })))
    };
    crate::common::mock::mount_then(
        &server,
        poll("RUNNING", None),
        1,
        poll("COMPLETED", Some(&url)),
    )
    .await;
    let jsonl = [
        r#"{"id":"gid://shopify/Order/1","createdAt":"2026-11-01T10:00:00Z","updatedAt":"2026-11-01T10:00:00Z","cancelledAt":null,"test":false,"displayFinancialStatus":"PAID","retailLocation":null}"#,
        r#"{"id":"gid://shopify/Order/2","createdAt":"2026-11-02T10:00:00Z","updatedAt":"2026-11-02T10:00:00Z","cancelledAt":null,"test":true,"displayFinancialStatus":"PAID","retailLocation":null}"#,
        r#"{"id":"gid://shopify/LineItem/11","sku":"A","quantity":1,"currentQuantity":1,"isGiftCard":false,"variant":null,"__parentId":"gid://shopify/Order/1"}"#,
    ]
    .join("\n");
    mount(&server, get("/files/result.jsonl"), text(200, &jsonl), 1).await;
    let (c, _) = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let scratch = BulkScratch::beside(&dir.path().join("s.db"));
    let orders = c
        .bulk_orders_created_since(
            "2026-10-01T00:00:00Z".parse().unwrap(),
            &scratch,
            &mut |_| {},
        )
        .await
        .unwrap()
        .into_vec()
        .unwrap();
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[0].lines.len(), 1);
    assert!(orders[1].test);
    let requests = server.received_requests().await.unwrap();
    let download = requests
        .iter()
        .find(|r| r.url.path() == "/files/result.jsonl")
        .unwrap();
    assert!(
        !download.headers.contains_key("x-shopify-access-token"),
        "the pre-signed result URL must not receive the access token"
    );
    let run: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert!(
        run["variables"]["query"]
            .as_str()
            .unwrap()
            .contains("created_at:>='2026-10-01T00:00:00Z'")
    );
}
