//! GraphQL documents shaped like the ones the replenish client sends (its
//! `adapters/shopify/queries.rs`), for the sandbox's own tests: the sandbox cannot depend on the
//! client. Copies, so they can drift; the product's `tests/it/sandbox_contract.rs` sends the
//! client's real documents to the sandbox and checks the same answers and costs.

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

pub const ORDER_LINE_ITEMS: &str = r#"query ReplenishOrderLineItems($id: ID!, $first: Int!, $after: String) {
  order(id: $id) {
    id
    lineItems(first: $first, after: $after) {
      nodes { id sku quantity currentQuantity isGiftCard variant { id } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"#;

pub const LOCATIONS: &str = r#"query ReplenishLocations($first: Int!, $after: String) {
  locations(first: $first, after: $after, includeLegacy: true, includeInactive: true) {
    nodes { id name isActive }
    pageInfo { hasNextPage endCursor }
  }
}"#;

pub const BULK_RUN: &str = r#"mutation ReplenishBulkOrders($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message }
  }
}"#;

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

pub const PRODUCT_VARIANTS: &str = r#"query ReplenishProductVariants($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    nodes { id sku title product { id title status isGiftCard } }
    pageInfo { hasNextPage endCursor }
  }
}"#;

/// The requested cost of one [`ORDERS`] page with fulfillment orders (Shopify's rule: an object
/// costs 1, a connection 2 plus `first` times its node's cost).
pub fn orders_query_cost(first: u64, line_items_first: u64) -> u64 {
    let line_items = 2 + line_items_first * 2; // LineItem + variant
    let fulfillment_orders = 2 + 5 * 3; // FulfillmentOrder + assignedLocation + location
    2 + first * (1 + 1 + fulfillment_orders + line_items) // Order + retailLocation
}
