//! The fixed set of GraphQL documents the Shopify client sends. Field names are the schema's own
//! (no aliases), so any implementation of the Admin API answers them. The sandbox recognises each
//! document by its operation name and reads sizes from the variables.

/// One page of orders. Variables: `first` (orders per page), `lineItemsFirst`, `after` (cursor or
/// null), `query` (search syntax, e.g. `updated_at:>='2026-01-01T00:00:00Z'`).
pub const ORDERS: &str = r#"query ReplenishOrders($first: Int!, $after: String, $query: String, $lineItemsFirst: Int!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    edges {
      cursor
      node {
        id
        name
        createdAt
        updatedAt
        cancelledAt
        test
        displayFinancialStatus
        retailLocation { id }
        fulfillmentOrders(first: 5) {
          nodes { id assignedLocation { location { id } } }
        }
        lineItems(first: $lineItemsFirst) {
          nodes { id sku quantity currentQuantity isGiftCard variant { id } }
          pageInfo { hasNextPage endCursor }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}"#;

/// The `fulfillmentOrders` selection of [`ORDERS`], left out by [`orders`] for a token that may
/// not read fulfillment orders.
const ORDERS_FULFILLMENT_ORDERS: &str = r#"
        fulfillmentOrders(first: 5) {
          nodes { id assignedLocation { location { id } } }
        }"#;

/// [`ORDERS`], with or without the orders' fulfillment orders.
pub fn orders(fulfillment_orders: bool) -> String {
    if fulfillment_orders {
        ORDERS.to_string()
    } else {
        ORDERS.replacen(ORDERS_FULFILLMENT_ORDERS, "", 1)
    }
}

/// The access scopes granted to the app's token (no scope is needed to ask).
pub const ACCESS_SCOPES: &str = r#"query ReplenishAccessScopes {
  currentAppInstallation {
    accessScopes { handle }
  }
}"#;

/// The rest of one order's line items, for the rare order with more lines than `lineItemsFirst`.
/// Variables: `id`, `first`, `after`.
pub const ORDER_LINE_ITEMS: &str = r#"query ReplenishOrderLineItems($id: ID!, $first: Int!, $after: String) {
  order(id: $id) {
    id
    lineItems(first: $first, after: $after) {
      nodes { id sku quantity currentQuantity isGiftCard variant { id } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"#;

/// Shopify locations (one request per sync; a shop has far fewer than 250).
pub const LOCATIONS: &str = r#"query ReplenishLocations($first: Int!, $after: String) {
  locations(first: $first, after: $after, includeLegacy: true, includeInactive: true) {
    nodes { id name isActive }
    pageInfo { hasNextPage endCursor }
  }
}"#;

/// Starts a bulk operation. Variables: `query` (the bulk document below, with the search filled in).
pub const BULK_RUN: &str = r#"mutation ReplenishBulkOrders($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message }
  }
}"#;

/// Polls one bulk operation by id (API 2026-01 and later). Variables: `id`.
pub const BULK_POLL: &str = r#"query ReplenishBulkPoll($id: ID!) {
  bulkOperation(id: $id) {
    id
    status
    errorCode
    objectCount
    url
    partialDataUrl
  }
}"#;

/// The bulk orders document: `{SEARCH}` is replaced by the search string (quotes escaped).
/// Nested connections have no `first` in bulk queries; children come back as their own JSONL lines
/// carrying `__parentId`.
pub const BULK_ORDERS_TEMPLATE: &str = r#"{
  orders(query: "{SEARCH}") {
    edges {
      node {
        id
        name
        createdAt
        updatedAt
        cancelledAt
        test
        displayFinancialStatus
        retailLocation { id }
        fulfillmentOrders {
          edges { node { id assignedLocation { location { id } } } }
        }
        lineItems {
          edges { node { id sku quantity currentQuantity isGiftCard variant { id } } }
        }
      }
    }
  }
}"#;

/// The `fulfillmentOrders` selection of [`BULK_ORDERS_TEMPLATE`].
const BULK_FULFILLMENT_ORDERS: &str = r#"
        fulfillmentOrders {
          edges { node { id assignedLocation { location { id } } } }
        }"#;

/// The bulk orders document for the search string `search`, with or without fulfillment orders.
pub fn bulk_orders(search: &str, fulfillment_orders: bool) -> String {
    let document = BULK_ORDERS_TEMPLATE.replace("{SEARCH}", &search.replace('"', "\\\""));
    if fulfillment_orders {
        document
    } else {
        document.replacen(BULK_FULFILLMENT_ORDERS, "", 1)
    }
}

/// Shopify product variants (for the SKU audit). Variables: `first`, `after`. Requested cost
/// 2 + first × 2 (a variant and its product): 502 points for a page of 250.
pub const PRODUCT_VARIANTS: &str = r#"query ReplenishProductVariants($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    nodes { id sku title product { id title status isGiftCard } }
    pageInfo { hasNextPage endCursor }
  }
}"#;

/// Requested cost of one `ORDERS` page, by Shopify's published rule: objects cost 1, a connection
/// costs 2 plus `first` times the cost of one of its nodes. Kept under 1000 by the client.
pub fn orders_query_cost(first: u32, line_items_first: u32, fulfillment_orders: bool) -> u32 {
    let line_item = 1 + 1; // LineItem + variant
    let line_items = 2 + line_items_first * line_item;
    // FulfillmentOrder + assignedLocation + location
    let fulfillment_orders = if fulfillment_orders {
        2 + 5 * (1 + 1 + 1)
    } else {
        0
    };
    let order = 1 + 1 + fulfillment_orders + line_items; // Order + retailLocation
    2 + first * order
}

/// Variants per `PRODUCT_VARIANTS` page: the API's maximum, at 502 points well under the
/// single-query limit of 1000.
pub const VARIANTS_PAGE_SIZE: u32 = 250;

/// Requested cost of one `PRODUCT_VARIANTS` page: the connection, then a variant and its product
/// per node.
pub fn product_variants_query_cost(first: u32) -> u32 {
    2 + first * (1 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_without_fulfillment_orders_select_everything_else() {
        let without = orders(false);
        assert!(!without.contains("fulfillmentOrders"));
        assert!(without.contains("retailLocation { id }") && without.contains("lineItems("));
        assert_eq!(orders(true), ORDERS);
        let bulk = bulk_orders("created_at:>='2026-01-01'", false);
        assert!(!bulk.contains("fulfillmentOrders") && bulk.contains("lineItems {"));
        assert!(bulk_orders("x", true).contains("fulfillmentOrders {"));
        assert!(orders_query_cost(50, 30, false) < orders_query_cost(50, 30, true));
    }

    #[test]
    fn a_variants_page_stays_under_the_single_query_limit() {
        assert_eq!(product_variants_query_cost(VARIANTS_PAGE_SIZE), 502);
        assert!(product_variants_query_cost(VARIANTS_PAGE_SIZE) < 1000);
    }
}
