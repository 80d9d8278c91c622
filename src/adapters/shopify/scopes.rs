//! The Shopify access scopes the tool uses, what each is for, and what a token lacking one costs.
//! Pure: callers pass the granted scopes (`currentAppInstallation { accessScopes { handle } }`)
//! and what they are about to do; `doctor` reports the verdicts, and `sync`, `reconcile` and
//! `listen` stop (or read orders without fulfillment orders) by them.

use std::collections::BTreeSet;

/// Orders: the velocity window's sales. Required by everything that reads orders.
pub const READ_ORDERS: &str = "read_orders";
/// Orders older than 60 days (without it Shopify silently returns only the last 60 days).
pub const READ_ALL_ORDERS: &str = "read_all_orders";
/// Product variants, for the SKU audit (`replenish skus`).
pub const READ_PRODUCTS: &str = "read_products";
/// Shopify's locations, to check the `[locations.shopify]` mapping.
pub const READ_LOCATIONS: &str = "read_locations";
/// Any one of these lets the orders query read `fulfillmentOrders` (where an order ships from);
/// the first is the one a merchant fulfilling from their own locations grants.
pub const FULFILLMENT_ORDER_SCOPES: [&str; 4] = [
    "read_merchant_managed_fulfillment_orders",
    "read_assigned_fulfillment_orders",
    "read_third_party_fulfillment_orders",
    "read_marketplace_fulfillment_orders",
];

/// How far back Shopify serves orders without `read_all_orders`.
pub const DAYS_WITHOUT_READ_ALL_ORDERS: u32 = 60;

/// The scopes a token was granted. A `write_x` scope includes `read_x`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Granted(BTreeSet<String>);

impl Granted {
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(handles: I) -> Granted {
        Granted(handles.into_iter().map(Into::into).collect())
    }

    /// Whether `scope` (a `read_…` scope) is granted, directly or through its `write_…` scope.
    pub fn has(&self, scope: &str) -> bool {
        self.0.contains(scope)
            || scope
                .strip_prefix("read_")
                .is_some_and(|rest| self.0.contains(&format!("write_{rest}")))
    }

    /// Whether any of the fulfillment-order scopes is granted.
    pub fn has_fulfillment_orders(&self) -> bool {
        FULFILLMENT_ORDER_SCOPES.iter().any(|s| self.has(s))
    }

    pub fn handles(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// What the caller is about to ask Shopify for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// Orders are read (sync, draft, reconcile, listen).
    pub orders: bool,
    /// How many days back orders are read (the velocity window, or a backfill).
    pub order_days: u32,
    /// `[locations.shopify]` maps at least one Shopify location: orders are located by their
    /// fulfillment orders, so those must be readable.
    pub mapped_locations: bool,
    /// Product variants are read (the SKU audit).
    pub variants: bool,
    /// Shopify's locations are read (to check the mapping).
    pub locations: bool,
}

/// How much a missing scope matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Granted.
    Ok,
    /// Not granted, and the work can go on without it (said in a warning).
    Warn,
    /// Not granted, and the work cannot be done right without it.
    Missing,
}

/// One scope's verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    /// The scope to grant (for fulfillment orders, the usual one of the four).
    pub scope: &'static str,
    /// Other scopes that would do instead.
    pub alternatives: Vec<&'static str>,
    pub severity: Severity,
    /// What the tool uses it for.
    pub used_for: &'static str,
    /// What going without it costs (empty when granted).
    pub cost: String,
}

impl Verdict {
    /// "read_x" or "read_x (or read_y, read_z)".
    pub fn named(&self) -> String {
        if self.alternatives.is_empty() {
            self.scope.to_string()
        } else {
            format!("{} (or {})", self.scope, self.alternatives.join(", "))
        }
    }
}

/// Every scope the tool knows, judged against `granted` for `needs`.
pub fn judge(granted: &Granted, needs: &Needs) -> Vec<Verdict> {
    let verdict = |scope: &'static str,
                   ok: bool,
                   needed: bool,
                   required: bool,
                   used_for: &'static str,
                   cost: String| Verdict {
        scope,
        alternatives: Vec::new(),
        severity: match (ok, needed && required) {
            (true, _) => Severity::Ok,
            (false, true) => Severity::Missing,
            (false, false) => Severity::Warn,
        },
        used_for,
        cost: if ok { String::new() } else { cost },
    };
    let mut out = vec![verdict(
        READ_ORDERS,
        granted.has(READ_ORDERS),
        needs.orders,
        true,
        "paid orders: the sales every velocity is computed from",
        "no order can be read: nothing can be planned".to_string(),
    )];
    let fulfillment = granted.has_fulfillment_orders();
    let mut fo = verdict(
        FULFILLMENT_ORDER_SCOPES[0],
        fulfillment,
        needs.orders,
        needs.mapped_locations,
        "where each order ships from (its first fulfillment order's location), to put its demand at the right Cin7 location",
        if needs.mapped_locations {
            "orders cannot be located by the Shopify locations that [locations.shopify] maps; only by retailLocation and locations.default, which would put online orders' demand at the default location".to_string()
        } else {
            "none while [locations.shopify] maps no location (orders are located at locations.default); needed once it does".to_string()
        },
    );
    fo.alternatives = FULFILLMENT_ORDER_SCOPES[1..].to_vec();
    out.push(fo);
    out.push(verdict(
        READ_ALL_ORDERS,
        granted.has(READ_ALL_ORDERS),
        needs.orders,
        needs.order_days > DAYS_WITHOUT_READ_ALL_ORDERS,
        "orders older than 60 days (a velocity window or backfill beyond 60 days, and backtests over it)",
        if needs.order_days > DAYS_WITHOUT_READ_ALL_ORDERS {
            format!(
                "Shopify silently returns only the last {DAYS_WITHOUT_READ_ALL_ORDERS} of the {} days asked for",
                needs.order_days
            )
        } else {
            format!(
                "none for a {}-day window; a backfill or backtest beyond {DAYS_WITHOUT_READ_ALL_ORDERS} days would silently get only {DAYS_WITHOUT_READ_ALL_ORDERS}",
                needs.order_days
            )
        },
    ));
    out.push(verdict(
        READ_PRODUCTS,
        granted.has(READ_PRODUCTS),
        needs.variants,
        true,
        "product variants, for the SKU audit (replenish skus)",
        "replenish skus cannot read Shopify's variants".to_string(),
    ));
    out.push(verdict(
        READ_LOCATIONS,
        granted.has(READ_LOCATIONS),
        needs.locations,
        false,
        "Shopify's locations, to check the [locations.shopify] mapping",
        "the mapping's Shopify location ids cannot be checked against the shop".to_string(),
    ));
    out
}

/// The scope(s) an `ACCESS_DENIED` GraphQL error is about, from its `requiredAccess` text or its
/// path: e.g. `["orders", "edges", 0, "node", "fulfillmentOrders"]` → the fulfillment-order
/// scopes.
pub fn denied_scope(required_access: Option<&str>, path: &[String]) -> Option<String> {
    if let Some(text) = required_access {
        let named: Vec<&str> = text
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|s| s.starts_with("read_") || s.starts_with("write_"))
            .collect();
        if !named.is_empty() {
            return Some(named.join(" or "));
        }
    }
    let field = path
        .iter()
        .rev()
        .find(|p| p.parse::<u64>().is_err() && !matches!(p.as_str(), "edges" | "node" | "nodes"))?;
    match field.as_str() {
        "fulfillmentOrders" | "assignedLocation" => Some(FULFILLMENT_ORDER_SCOPES.join(" or ")),
        "orders" | "order" | "lineItems" | "retailLocation" => Some(READ_ORDERS.to_string()),
        "productVariants" | "product" => Some(READ_PRODUCTS.to_string()),
        "locations" | "location" => Some(READ_LOCATIONS.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(mapped: bool, days: u32) -> Needs {
        Needs {
            orders: true,
            order_days: days,
            mapped_locations: mapped,
            variants: true,
            locations: true,
        }
    }

    fn severities(v: &[Verdict]) -> Vec<(&str, Severity)> {
        v.iter().map(|v| (v.scope, v.severity)).collect()
    }

    #[test]
    fn a_write_scope_includes_its_read_scope() {
        let g = Granted::new(["write_orders", "read_assigned_fulfillment_orders"]);
        assert!(g.has("read_orders"));
        assert!(!g.has("read_products"));
        assert!(g.has_fulfillment_orders());
        assert!(!Granted::new(["read_orders"]).has_fulfillment_orders());
    }

    #[test]
    fn everything_granted_is_ok() {
        let g = Granted::new([
            "read_orders",
            "read_all_orders",
            "read_products",
            "read_locations",
            "read_merchant_managed_fulfillment_orders",
        ]);
        assert!(
            judge(&g, &needs(true, 90))
                .iter()
                .all(|v| v.severity == Severity::Ok && v.cost.is_empty())
        );
    }

    #[test]
    fn fulfillment_orders_are_required_only_while_shopify_locations_are_mapped() {
        let g = Granted::new(["read_orders", "read_products", "read_locations"]);
        let mapped = judge(&g, &needs(true, 28));
        assert_eq!(
            severities(&mapped),
            vec![
                ("read_orders", Severity::Ok),
                (
                    "read_merchant_managed_fulfillment_orders",
                    Severity::Missing
                ),
                ("read_all_orders", Severity::Warn),
                ("read_products", Severity::Ok),
                ("read_locations", Severity::Ok),
            ]
        );
        assert_eq!(
            mapped[1].named(),
            "read_merchant_managed_fulfillment_orders (or read_assigned_fulfillment_orders, read_third_party_fulfillment_orders, read_marketplace_fulfillment_orders)"
        );
        assert!(
            mapped[1].cost.contains("retailLocation"),
            "{}",
            mapped[1].cost
        );
        let unmapped = judge(&g, &needs(false, 28));
        assert_eq!(unmapped[1].severity, Severity::Warn);
    }

    #[test]
    fn read_all_orders_is_required_beyond_sixty_days_and_read_orders_always() {
        let g = Granted::new(["read_merchant_managed_fulfillment_orders"]);
        let v = judge(&g, &needs(true, 61));
        assert_eq!(v[0].severity, Severity::Missing);
        assert_eq!(v[2].severity, Severity::Missing);
        assert!(
            v[2].cost.contains("only the last 60 of the 61 days"),
            "{}",
            v[2].cost
        );
        assert_eq!(judge(&g, &needs(true, 60))[2].severity, Severity::Warn);
    }

    #[test]
    fn the_denied_scope_comes_from_required_access_or_the_path() {
        let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            denied_scope(Some("`read_orders` access scope."), &path(&["orders"])).as_deref(),
            Some("read_orders")
        );
        assert_eq!(
            denied_scope(
                None,
                &path(&["orders", "edges", "0", "node", "fulfillmentOrders"])
            )
            .as_deref(),
            Some(
                "read_merchant_managed_fulfillment_orders or read_assigned_fulfillment_orders or read_third_party_fulfillment_orders or read_marketplace_fulfillment_orders"
            )
        );
        assert_eq!(
            denied_scope(None, &path(&["productVariants"])).as_deref(),
            Some("read_products")
        );
        assert_eq!(denied_scope(None, &path(&["shop"])), None);
    }
}
