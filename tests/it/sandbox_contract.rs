//! The sandbox understands the client's real documents. The sandbox crate cannot depend on the
//! product, so its own tests send copies of these documents; this module sends the originals
//! (`adapters::shopify::queries`) and checks that each is recognised by its root field, that
//! nested arguments and selections are read (the requested cost matches the client's own
//! estimate), and that a bulk query runs to a file.

use replenish::adapters::shopify::queries;
use replenish::sandbox::{DEFAULT_SCOPES, SandboxHandle, SandboxOptions};
use serde_json::{Value, json};

use crate::common::sandbox::start_world;
use crate::common::{sandbox_state, t0};

async fn small() -> SandboxHandle {
    start_world(SandboxOptions {
        skus: 40,
        days: 10,
        orders_per_day: 30,
        shopify_bucket: 100_000.0,
        now: t0(),
        ..SandboxOptions::default()
    })
    .await
}

async fn gql(h: &SandboxHandle, query: &str, variables: Value) -> Value {
    let request = crate::common::http()
        .post(format!(
            "{}/admin/api/2026-01/graphql.json",
            h.shopify_base_url()
        ))
        .header("X-Shopify-Access-Token", "tok")
        .json(&json!({"query": query, "variables": variables}));
    crate::common::send_json(request).await
}

fn requested(answer: &Value) -> u64 {
    answer["extensions"]["cost"]["requestedQueryCost"]
        .as_u64()
        .unwrap_or_else(|| panic!("no requested cost: {answer}"))
}

#[tokio::test]
async fn the_sandbox_answers_every_client_document_at_the_clients_estimated_cost() {
    let h = small().await;
    for fulfillment_orders in [true, false] {
        let doc = queries::orders(fulfillment_orders);
        let vars = json!({"first": 3, "lineItemsFirst": 4, "after": null, "query": null});
        let a = gql(&h, &doc, vars).await;
        let edges = a["data"]["orders"]["edges"].as_array().cloned();
        assert_eq!(edges.map(|e| e.len()), Some(3), "{a}");
        assert_eq!(
            requested(&a),
            u64::from(queries::orders_query_cost(3, 4, fulfillment_orders)),
            "fulfillment orders: {fulfillment_orders}"
        );
        // The sandbox answers a fixed shape; what the document asks for sets the page sizes.
        for edge in a["data"]["orders"]["edges"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let node = &edge["node"];
            let lines = node["lineItems"]["nodes"].as_array().map(Vec::len);
            assert!(lines.is_some_and(|n| n <= 4), "{node}");
            let fos = node["fulfillmentOrders"]["nodes"].as_array().map(Vec::len);
            assert!(fulfillment_orders || fos == Some(0), "{node}");
        }
    }

    let orders = gql(
        &h,
        &queries::orders(true),
        json!({"first": 1, "lineItemsFirst": 1}),
    )
    .await;
    let id = orders["data"]["orders"]["edges"][0]["node"]["id"].clone();
    let lines = gql(
        &h,
        queries::ORDER_LINE_ITEMS,
        json!({"id": id, "first": 2, "after": null}),
    )
    .await;
    assert_eq!(lines["data"]["order"]["id"], id, "{lines}");
    assert!(lines["data"]["order"]["lineItems"]["nodes"].is_array());

    let locations = gql(&h, queries::LOCATIONS, json!({"first": 250, "after": null})).await;
    assert!(
        locations["data"]["locations"]["nodes"]
            .as_array()
            .is_some_and(|l| !l.is_empty()),
        "{locations}"
    );

    let first = queries::VARIANTS_PAGE_SIZE;
    let variants = gql(&h, queries::PRODUCT_VARIANTS, json!({"first": first})).await;
    assert!(variants["data"]["productVariants"]["nodes"].is_array());
    assert_eq!(
        requested(&variants),
        u64::from(queries::product_variants_query_cost(first))
    );

    let scopes = gql(&h, queries::ACCESS_SCOPES, json!({})).await;
    let handles: Vec<&str> = scopes["data"]["currentAppInstallation"]["accessScopes"]
        .as_array()
        .map(|s| s.iter().filter_map(|s| s["handle"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(handles, DEFAULT_SCOPES, "{scopes}");

    let counts = sandbox_state(&h).await["requests"].clone();
    for op in [
        "shopify orders",
        "shopify order",
        "shopify locations",
        "shopify productVariants",
        "shopify currentAppInstallation",
    ] {
        assert!(counts[op].as_u64().is_some_and(|n| n > 0), "{op}: {counts}");
    }
    assert!(counts.get("shopify unknown").is_none(), "{counts}");
    h.shutdown().await;
}

#[tokio::test]
async fn the_clients_bulk_documents_run_to_a_file_with_or_without_fulfillment_orders() {
    let h = small().await;
    let mut counts = Vec::new();
    for fulfillment_orders in [true, false] {
        let doc = queries::bulk_orders("created_at:>='2026-11-20T00:00:00Z'", fulfillment_orders);
        let run = gql(&h, queries::BULK_RUN, json!({"query": doc})).await;
        let op = &run["data"]["bulkOperationRunQuery"];
        assert_eq!(op["userErrors"], json!([]), "{run}");
        let id = op["bulkOperation"]["id"].as_str().unwrap().to_string();
        gql(&h, queries::BULK_POLL, json!({"id": id})).await;
        let done = gql(&h, queries::BULK_POLL, json!({"id": id})).await;
        let b = &done["data"]["bulkOperation"];
        assert_eq!(b["status"], "COMPLETED", "{done}");
        let text = crate::common::get_text(b["url"].as_str().unwrap()).await;
        let fos = text.matches("gid://shopify/FulfillmentOrder/").count();
        assert_eq!(
            fos > 0,
            fulfillment_orders,
            "fulfillment orders in the file"
        );
        counts.push((b["rootObjectCount"].clone(), text.lines().count()));
        assert_eq!(b["objectCount"], text.lines().count().to_string());
    }
    // The same orders either way; fewer lines without fulfillment orders.
    assert_eq!(counts[0].0, counts[1].0);
    assert!(counts[0].1 > counts[1].1, "{counts:?}");
    h.shutdown().await;
}
