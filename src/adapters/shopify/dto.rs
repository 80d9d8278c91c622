//! Shopify GraphQL wire shapes (camelCase, the schema's own field names) and their conversion into
//! `core::model::Order`. The same conversion serves paged queries and bulk JSONL, so both paths
//! store identical records.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::core::model::{Order, OrderLine, Variant};

#[derive(Debug, Deserialize)]
pub struct IdRef {
    pub id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    #[serde(default)]
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// A connection; the client asks for `nodes` (or `edges { node }` in bulk documents).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection<T> {
    pub nodes: Option<Vec<T>>,
    pub edges: Option<Vec<Edge<T>>>,
    pub page_info: Option<PageInfo>,
}

#[derive(Debug, Deserialize)]
pub struct Edge<T> {
    pub cursor: Option<String>,
    pub node: T,
}

impl<T> Connection<T> {
    /// The cursor of the next page, when there is one.
    pub fn next_cursor(&self) -> Option<String> {
        self.page_info
            .as_ref()
            .filter(|p| p.has_next_page)
            .and_then(|p| p.end_cursor.clone())
    }

    pub fn into_items(self) -> Vec<T> {
        match (self.nodes, self.edges) {
            (Some(nodes), _) => nodes,
            (None, Some(edges)) => edges.into_iter().map(|e| e.node).collect(),
            (None, None) => Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItemNode {
    pub id: String,
    pub sku: Option<String>,
    pub quantity: i64,
    pub current_quantity: i64,
    #[serde(default)]
    pub is_gift_card: bool,
    pub variant: Option<IdRef>,
}

impl From<LineItemNode> for OrderLine {
    fn from(n: LineItemNode) -> OrderLine {
        OrderLine {
            id: n.id,
            sku: n.sku,
            variant_id: n.variant.map(|v| v.id),
            quantity: n.quantity,
            current_quantity: n.current_quantity,
            is_gift_card: n.is_gift_card,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedLocation {
    pub location: Option<IdRef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrderNode {
    pub id: String,
    pub assigned_location: Option<AssignedLocation>,
}

/// An order node; in bulk JSONL the connections are absent (children come as their own lines).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderNode {
    pub id: String,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub test: bool,
    pub display_financial_status: Option<String>,
    pub retail_location: Option<IdRef>,
    pub fulfillment_orders: Option<Connection<FulfillmentOrderNode>>,
    pub line_items: Option<Connection<LineItemNode>>,
}

/// The numeric tail of a gid (`gid://shopify/FulfillmentOrder/123` → 123).
pub fn gid_number(gid: &str) -> Option<u64> {
    gid.rsplit('/').next()?.split('?').next()?.parse().ok()
}

/// The assigned location of the fulfillment order with the smallest numeric id.
pub fn first_fulfillment_location(fos: &[FulfillmentOrderNode]) -> Option<String> {
    fos.iter()
        .min_by_key(|fo| (gid_number(&fo.id).unwrap_or(u64::MAX), fo.id.clone()))
        .and_then(|fo| fo.assigned_location.as_ref())
        .and_then(|a| a.location.as_ref())
        .map(|l| l.id.clone())
}

impl OrderNode {
    /// Builds the order from the node plus separately gathered children (bulk) — pass empty
    /// vectors to use the node's own connections.
    pub fn into_order(
        self,
        extra_lines: Vec<LineItemNode>,
        extra_fulfillment_orders: Vec<FulfillmentOrderNode>,
    ) -> Order {
        let mut fos = self
            .fulfillment_orders
            .map(Connection::into_items)
            .unwrap_or_default();
        fos.extend(extra_fulfillment_orders);
        let mut lines: Vec<LineItemNode> = self
            .line_items
            .map(Connection::into_items)
            .unwrap_or_default();
        lines.extend(extra_lines);
        Order {
            id: self.id,
            name: self.name,
            created_at: self.created_at,
            updated_at: self.updated_at,
            cancelled_at: self.cancelled_at,
            test: self.test,
            financial_status: self
                .display_financial_status
                .unwrap_or_default()
                .to_ascii_uppercase(),
            retail_location_id: self.retail_location.map(|l| l.id),
            fulfillment_location_id: first_fulfillment_location(&fos),
            lines: lines.into_iter().map(OrderLine::from).collect(),
        }
    }
}

/// A product variant (`productVariants` query).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantNode {
    pub id: String,
    pub sku: Option<String>,
    pub title: Option<String>,
    pub product: Option<VariantProduct>,
}

/// The product of a variant.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantProduct {
    pub title: Option<String>,
    pub status: Option<String>,
    #[serde(default)]
    pub is_gift_card: bool,
}

impl From<VariantNode> for Variant {
    fn from(n: VariantNode) -> Variant {
        let product = n.product;
        Variant {
            id: n.id,
            sku: n.sku,
            title: n.title.unwrap_or_default(),
            product_title: product
                .as_ref()
                .and_then(|p| p.title.clone())
                .unwrap_or_default(),
            product_status: product
                .as_ref()
                .and_then(|p| p.status.clone())
                .unwrap_or_default(),
            gift_card: product.is_some_and(|p| p.is_gift_card),
        }
    }
}

/// A Shopify location (`locations` query).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyLocation {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub is_active: bool,
}

/// One of `currentAppInstallation.accessScopes`.
#[derive(Debug, Deserialize)]
pub struct AccessScope {
    pub handle: String,
}

/// A bulk operation's state (`bulkOperation(id:)`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperation {
    pub id: String,
    pub status: String,
    pub error_code: Option<String>,
    pub object_count: Option<serde_json::Value>,
    pub url: Option<String>,
    pub partial_data_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_fulfillment_order_is_the_smallest_numeric_id_not_the_first_listed() {
        let fo = |id: &str, loc: &str| FulfillmentOrderNode {
            id: id.into(),
            assigned_location: Some(AssignedLocation {
                location: Some(IdRef { id: loc.into() }),
            }),
        };
        let fos = vec![
            fo(
                "gid://shopify/FulfillmentOrder/900",
                "gid://shopify/Location/2",
            ),
            fo(
                "gid://shopify/FulfillmentOrder/1000",
                "gid://shopify/Location/3",
            ),
            fo(
                "gid://shopify/FulfillmentOrder/89",
                "gid://shopify/Location/1",
            ),
        ];
        assert_eq!(
            first_fulfillment_location(&fos).as_deref(),
            Some("gid://shopify/Location/1"),
            "89 < 900 < 1000 numerically (not as text)"
        );
        assert_eq!(first_fulfillment_location(&[]), None);
    }
}
