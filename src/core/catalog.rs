//! The product side of planning: which Cin7 products are planned (active, type `Stock`), in what
//! order, and how a Shopify SKU resolves to one (mapping table first, then an exact match against
//! active Cin7 SKUs). Pure: no IO.
//!
//! Decisions (planning.md is silent):
//! - A product is active unless its `Status` is `Deprecated` (any case): `GET product` without
//!   `IncludeDeprecated` returns active products only, so a blank status is taken as active.
//! - `Type` is compared ignoring ASCII case (`Stock`).
//! - Two active products with the same SKU (Cin7 should not allow it): the one with the smallest
//!   product ID is used, so the result does not depend on input order.
//! - A mapping-table entry is final: when its Cin7 target is not an active product, the Shopify
//!   SKU is unmapped even if it happens to equal an active Cin7 SKU itself (the person who wrote
//!   the table said which product it is).

use crate::core::model::Product;
use crate::core::num::{FxMap, StrMap, fx_map};

/// What a SKU resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// An active `Stock` product: its index in [`Catalog::stock`].
    Stock(usize),
    /// An active product of another type (a service, say): contributes nothing, silently.
    NotStock,
    /// No active product.
    Unmapped,
}

/// Active products indexed for planning.
#[derive(Debug)]
pub struct Catalog<'a> {
    /// Active `Stock` products, sorted by SKU (the order plan lines are printed in).
    pub stock: Vec<&'a Product>,
    by_sku: StrMap<'a, Resolved>,
    by_id: FxMap<&'a str, usize>,
}

/// Whether a product is active (see the module docs).
pub fn is_active(p: &Product) -> bool {
    !p.status.trim().eq_ignore_ascii_case("deprecated")
}

/// Whether a product is of type `Stock`.
pub fn is_stock(p: &Product) -> bool {
    p.product_type.trim().eq_ignore_ascii_case("stock")
}

impl<'a> Catalog<'a> {
    pub fn new(products: &'a [Product]) -> Catalog<'a> {
        let mut active: Vec<&Product> = products.iter().filter(|p| is_active(p)).collect();
        active.sort_by(|a, b| a.sku.cmp(&b.sku).then_with(|| a.id.cmp(&b.id)));
        active.dedup_by(|later, first| later.sku == first.sku);
        let stock: Vec<&Product> = active.iter().copied().filter(|p| is_stock(p)).collect();
        let mut by_sku = StrMap::with_capacity(active.len());
        for p in &active {
            by_sku.insert(p.sku.as_str(), Resolved::NotStock);
        }
        let mut by_id = fx_map(stock.len());
        for (i, p) in stock.iter().enumerate() {
            by_sku.insert(p.sku.as_str(), Resolved::Stock(i));
            by_id.insert(p.id.as_str(), i);
        }
        Catalog {
            stock,
            by_sku,
            by_id,
        }
    }

    /// An exact match of a Cin7 SKU against active products.
    pub fn cin7_sku(&self, sku: &str) -> Resolved {
        self.by_sku.get(sku).unwrap_or(Resolved::Unmapped)
    }

    /// Index of an active Stock product by its Cin7 product ID.
    pub fn stock_by_id(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// Resolves a Shopify SKU: through the mapping table when it has the SKU, else as itself.
    pub fn shopify_sku(&self, sku: &str, mapping: &FxMap<&str, &str>) -> Resolved {
        match mapping.get(sku) {
            Some(target) => self.cin7_sku(target),
            None => self.cin7_sku(sku),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::product;

    #[test]
    fn mapping_table_first_then_exact_match() {
        let mut svc = product("SVC-1");
        svc.product_type = "Service".to_string();
        let mut old = product("OLD-1");
        old.status = "Deprecated".to_string();
        let products = vec![product("B-2"), product("A-1"), svc, old];
        let c = Catalog::new(&products);
        // Sorted by SKU.
        let skus: Vec<&str> = c.stock.iter().map(|p| p.sku.as_str()).collect();
        assert_eq!(skus, vec!["A-1", "B-2"]);
        let mut mapping: FxMap<&str, &str> = fx_map(4);
        mapping.insert("a 1", "A-1");
        mapping.insert("B-2", "OLD-1"); // a table target that is not active
        mapping.insert("x", "NOPE");
        assert_eq!(c.shopify_sku("a 1", &mapping), Resolved::Stock(0));
        assert_eq!(c.shopify_sku("A-1", &mapping), Resolved::Stock(0));
        // The table says B-2 is OLD-1, which is deprecated: unmapped, no fallback to B-2 itself.
        assert_eq!(c.shopify_sku("B-2", &mapping), Resolved::Unmapped);
        assert_eq!(c.shopify_sku("x", &mapping), Resolved::Unmapped);
        // No case folding, ever.
        assert_eq!(c.shopify_sku("a-1", &mapping), Resolved::Unmapped);
        assert_eq!(c.shopify_sku("OLD-1", &mapping), Resolved::Unmapped);
        assert_eq!(c.shopify_sku("SVC-1", &mapping), Resolved::NotStock);
    }
}
