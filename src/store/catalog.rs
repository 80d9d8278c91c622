//! The Cin7 catalog cache: `locations`, `products` (+ `product_suppliers`,
//! `product_supplier_options`, `product_reorder_levels`, each in the product's own order) and
//! `suppliers` (addresses as JSON). Each `replace_*` swaps the whole set.
//!
//! Child lists live in tables rather than JSON so that every `f64` and `Decimal` comes back bit for
//! bit (REAL and exact text) and the rows stay queryable.

use rusqlite::{Connection, params};

use super::StoreError;
use super::codec::{self, Context, Rec};
use crate::core::model::{
    Location, Product, ProductSupplier, ReorderLevel, Supplier, SupplierOption,
};

pub(crate) fn replace_locations(
    conn: &Connection,
    locations: &[Location],
) -> Result<(), StoreError> {
    conn.execute("DELETE FROM locations", [])
        .ctx("clearing locations")?;
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO locations (id, name, is_default, deprecated, parent_id)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .ctx("preparing the location insert")?;
    for l in locations {
        insert
            .execute(params![
                l.id,
                l.name,
                l.is_default,
                l.deprecated,
                l.parent_id
            ])
            .with_ctx(|| format!("storing location {} ({})", l.id, l.name))?;
    }
    Ok(())
}

/// Locations sorted by name, then id.
pub(crate) fn locations(conn: &Connection) -> Result<Vec<Location>, StoreError> {
    codec::query_all(
        conn,
        "SELECT id, name, is_default, deprecated, parent_id FROM locations ORDER BY name, id",
        [],
        "reading locations",
        |row| {
            let r = Rec::new(row, "locations", &[0]);
            Ok(Location {
                id: r.text(0, "id")?,
                name: r.text(1, "name")?,
                is_default: r.bool(2, "is_default")?,
                deprecated: r.bool(3, "deprecated")?,
                parent_id: r.opt_text(4, "parent_id")?,
            })
        },
    )
}

pub(crate) fn replace_products(conn: &Connection, products: &[Product]) -> Result<(), StoreError> {
    // Children first, so that no cascade has to look anything up.
    for table in [
        "product_supplier_options",
        "product_suppliers",
        "product_reorder_levels",
        "products",
    ] {
        conn.execute(&format!("DELETE FROM {table}"), [])
            .with_ctx(|| format!("clearing {table}"))?;
    }
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO products (id, sku, name, product_type, status, uom, carton_quantity,
                minimum_before_reorder, reorder_quantity, purchase_tax_rule, price)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .ctx("preparing the product insert")?;
    let mut insert_supplier = conn
        .prepare_cached(
            "INSERT INTO product_suppliers (product_id, position, supplier_id, supplier_name,
                supplier_sku, supplier_product_name, cost, currency)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .ctx("preparing the product supplier insert")?;
    let mut insert_option = conn
        .prepare_cached(
            "INSERT INTO product_supplier_options (product_id, supplier_position, position,
                location_id, location_name, lead, safety, minimum_to_reorder, reorder_quantity)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .ctx("preparing the supplier option insert")?;
    let mut insert_level = conn
        .prepare_cached(
            "INSERT INTO product_reorder_levels (product_id, position, location_id, location_name,
                minimum_before_reorder, reorder_quantity)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .ctx("preparing the reorder level insert")?;

    for p in products {
        let context = || format!("storing product {} ({})", p.id, p.sku);
        insert
            .execute(params![
                p.id,
                p.sku,
                p.name,
                p.product_type,
                p.status,
                p.uom,
                p.carton_quantity,
                p.minimum_before_reorder,
                p.reorder_quantity,
                p.purchase_tax_rule,
                p.price.map(|d| d.to_string()),
            ])
            .with_ctx(context)?;
        for (si, s) in p.suppliers.iter().enumerate() {
            insert_supplier
                .execute(params![
                    p.id,
                    si as i64,
                    s.supplier_id,
                    s.supplier_name,
                    s.supplier_sku,
                    s.supplier_product_name,
                    s.cost.to_string(),
                    s.currency,
                ])
                .with_ctx(context)?;
            for (oi, o) in s.options.iter().enumerate() {
                insert_option
                    .execute(params![
                        p.id,
                        si as i64,
                        oi as i64,
                        o.location_id,
                        o.location_name,
                        o.lead,
                        o.safety,
                        o.minimum_to_reorder,
                        o.reorder_quantity,
                    ])
                    .with_ctx(context)?;
            }
        }
        for (li, l) in p.reorder_levels.iter().enumerate() {
            insert_level
                .execute(params![
                    p.id,
                    li as i64,
                    l.location_id,
                    l.location_name,
                    l.minimum_before_reorder,
                    l.reorder_quantity,
                ])
                .with_ctx(context)?;
        }
    }
    Ok(())
}

/// Finds the product of each child row by walking the products in id order in step with child
/// rows sorted by product id (SQLite's BINARY collation orders text as Rust's `str` does): no hash
/// table and no copy of 100,000 ids. A child row without a parent (impossible with foreign keys
/// on, but the file may have been edited) is a Corrupt error.
struct Parents {
    by_id: Vec<usize>,
    at: usize,
}

impl Parents {
    fn new(products: &[Product]) -> Parents {
        let mut by_id: Vec<usize> = (0..products.len()).collect();
        by_id.sort_unstable_by(|&a, &b| products[a].id.cmp(&products[b].id));
        Parents { by_id, at: 0 }
    }

    /// Starts over, for the next child table.
    fn rewind(&mut self) {
        self.at = 0;
    }

    fn find(
        &mut self,
        products: &[Product],
        r: &Rec<'_, '_>,
        product_id: &str,
    ) -> Result<usize, StoreError> {
        while let Some(&p) = self.by_id.get(self.at) {
            match products[p].id.as_str().cmp(product_id) {
                std::cmp::Ordering::Less => self.at += 1,
                std::cmp::Ordering::Equal => return Ok(p),
                std::cmp::Ordering::Greater => break,
            }
        }
        Err(r.corrupt("product_id", format!("no product {product_id:?}")))
    }
}

/// Products sorted by SKU, then id, each with its suppliers, options and reorder levels in the
/// order they were stored.
pub(crate) fn products(conn: &Connection) -> Result<Vec<Product>, StoreError> {
    let context = "reading products";
    let tx = conn.unchecked_transaction().ctx(context)?;
    let mut products = Vec::new();
    {
        let mut stmt = tx
            .prepare_cached(
                "SELECT id, sku, name, product_type, status, uom, carton_quantity,
                    minimum_before_reorder, reorder_quantity, purchase_tax_rule, price
                 FROM products ORDER BY sku, id",
            )
            .ctx(context)?;
        let mut rows = stmt.query([]).ctx(context)?;
        while let Some(row) = rows.next().ctx(context)? {
            let r = Rec::new(row, "products", &[0]);
            products.push(Product {
                id: r.text(0, "id")?,
                sku: r.text(1, "sku")?,
                name: r.text(2, "name")?,
                product_type: r.text(3, "product_type")?,
                status: r.text(4, "status")?,
                uom: r.opt_text(5, "uom")?,
                carton_quantity: r.real(6, "carton_quantity")?,
                minimum_before_reorder: r.real(7, "minimum_before_reorder")?,
                reorder_quantity: r.real(8, "reorder_quantity")?,
                purchase_tax_rule: r.opt_text(9, "purchase_tax_rule")?,
                price: r.opt_decimal(10, "price")?,
                suppliers: Vec::new(),
                reorder_levels: Vec::new(),
            });
        }
    }
    let mut parents = Parents::new(&products);

    {
        let context = "reading product suppliers";
        let mut stmt = tx
            .prepare_cached(
                "SELECT product_id, position, supplier_id, supplier_name, supplier_sku,
                    supplier_product_name, cost, currency
                 FROM product_suppliers ORDER BY product_id, position",
            )
            .ctx(context)?;
        let mut rows = stmt.query([]).ctx(context)?;
        while let Some(row) = rows.next().ctx(context)? {
            let r = Rec::new(row, "product_suppliers", &[0, 1]);
            let p = parents.find(&products, &r, r.str(0, "product_id")?)?;
            let position = r.int(1, "position")?;
            if position != products[p].suppliers.len() as i64 {
                return Err(r.corrupt("position", "supplier positions are not 0, 1, 2, …"));
            }
            products[p].suppliers.push(ProductSupplier {
                supplier_id: r.text(2, "supplier_id")?,
                supplier_name: r.text(3, "supplier_name")?,
                supplier_sku: r.opt_text(4, "supplier_sku")?,
                supplier_product_name: r.opt_text(5, "supplier_product_name")?,
                cost: r.decimal(6, "cost")?,
                currency: r.opt_text(7, "currency")?,
                options: Vec::new(),
            });
        }
    }
    {
        parents.rewind();
        let context = "reading product supplier options";
        let mut stmt = tx
            .prepare_cached(
                "SELECT product_id, supplier_position, position, location_id, location_name, lead,
                    safety, minimum_to_reorder, reorder_quantity
                 FROM product_supplier_options ORDER BY product_id, supplier_position, position",
            )
            .ctx(context)?;
        let mut rows = stmt.query([]).ctx(context)?;
        while let Some(row) = rows.next().ctx(context)? {
            let r = Rec::new(row, "product_supplier_options", &[0, 1, 2]);
            let p = parents.find(&products, &r, r.str(0, "product_id")?)?;
            let supplier_position = r.int(1, "supplier_position")?;
            let supplier = usize::try_from(supplier_position)
                .ok()
                .and_then(|s| products[p].suppliers.get_mut(s))
                .ok_or_else(|| r.corrupt("supplier_position", "no such product supplier"))?;
            supplier.options.push(SupplierOption {
                location_id: r.opt_text(3, "location_id")?,
                location_name: r.opt_text(4, "location_name")?,
                lead: r.real(5, "lead")?,
                safety: r.real(6, "safety")?,
                minimum_to_reorder: r.real(7, "minimum_to_reorder")?,
                reorder_quantity: r.real(8, "reorder_quantity")?,
            });
        }
    }
    {
        parents.rewind();
        let context = "reading product reorder levels";
        let mut stmt = tx
            .prepare_cached(
                "SELECT product_id, position, location_id, location_name, minimum_before_reorder,
                    reorder_quantity
                 FROM product_reorder_levels ORDER BY product_id, position",
            )
            .ctx(context)?;
        let mut rows = stmt.query([]).ctx(context)?;
        while let Some(row) = rows.next().ctx(context)? {
            let r = Rec::new(row, "product_reorder_levels", &[0, 1]);
            let p = parents.find(&products, &r, r.str(0, "product_id")?)?;
            products[p].reorder_levels.push(ReorderLevel {
                location_id: r.opt_text(2, "location_id")?,
                location_name: r.opt_text(3, "location_name")?,
                minimum_before_reorder: r.real(4, "minimum_before_reorder")?,
                reorder_quantity: r.real(5, "reorder_quantity")?,
            });
        }
    }
    tx.finish().ctx(context)?;
    Ok(products)
}

pub(crate) fn replace_suppliers(
    conn: &Connection,
    suppliers: &[Supplier],
) -> Result<(), StoreError> {
    conn.execute("DELETE FROM suppliers", [])
        .ctx("clearing suppliers")?;
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO suppliers (id, name, currency, payment_term, tax_rule, status, addresses_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .ctx("preparing the supplier insert")?;
    for s in suppliers {
        let context = || format!("storing supplier {} ({})", s.id, s.name);
        let addresses = serde_json::to_string(&s.addresses).map_err(|e| StoreError::Corrupt {
            context: context(),
            message: format!("addresses do not serialize: {e}"),
        })?;
        insert
            .execute(params![
                s.id,
                s.name,
                s.currency,
                s.payment_term,
                s.tax_rule,
                s.status,
                addresses,
            ])
            .with_ctx(context)?;
    }
    Ok(())
}

/// Suppliers sorted by name, then id.
pub(crate) fn suppliers(conn: &Connection) -> Result<Vec<Supplier>, StoreError> {
    codec::query_all(
        conn,
        "SELECT id, name, currency, payment_term, tax_rule, status, addresses_json
         FROM suppliers ORDER BY name, id",
        [],
        "reading suppliers",
        |row| {
            let r = Rec::new(row, "suppliers", &[0]);
            Ok(Supplier {
                id: r.text(0, "id")?,
                name: r.text(1, "name")?,
                currency: r.opt_text(2, "currency")?,
                payment_term: r.opt_text(3, "payment_term")?,
                tax_rule: r.opt_text(4, "tax_rule")?,
                status: r.opt_text(5, "status")?,
                addresses: r.json(6, "addresses_json")?,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use rust_decimal::Decimal;

    use super::super::test_util::open_temp;
    use crate::core::model::Address;

    use super::*;

    fn product(id: &str, sku: &str) -> Product {
        Product {
            id: id.to_owned(),
            sku: sku.to_owned(),
            name: format!("Product {sku}"),
            product_type: "Stock".to_owned(),
            status: "Active".to_owned(),
            uom: Some("Item".to_owned()),
            carton_quantity: 12.0,
            minimum_before_reorder: 0.1 + 0.2, // 0.30000000000000004: must come back bit for bit
            reorder_quantity: 7.1234,
            purchase_tax_rule: None,
            price: None,
            suppliers: vec![
                ProductSupplier {
                    supplier_id: "S2".to_owned(),
                    supplier_name: "Zeta Ltd".to_owned(),
                    supplier_sku: Some("Z-1".to_owned()),
                    supplier_product_name: None,
                    cost: Decimal::from_str("12.3456").unwrap(),
                    currency: Some("EUR".to_owned()),
                    options: vec![
                        SupplierOption {
                            location_id: Some("L1".to_owned()),
                            location_name: Some("Main Warehouse".to_owned()),
                            lead: 21.0,
                            safety: 3.5,
                            minimum_to_reorder: 10.0,
                            reorder_quantity: 0.0,
                        },
                        SupplierOption {
                            location_id: None,
                            location_name: None,
                            lead: 14.0,
                            safety: 0.0,
                            minimum_to_reorder: 5.5,
                            reorder_quantity: 1e-4,
                        },
                    ],
                },
                ProductSupplier {
                    supplier_id: "S1".to_owned(),
                    supplier_name: "Alpha Inc".to_owned(),
                    supplier_sku: None,
                    supplier_product_name: Some("Widget".to_owned()),
                    cost: Decimal::from_str("0.5000").unwrap(),
                    currency: None,
                    options: vec![],
                },
            ],
            reorder_levels: vec![ReorderLevel {
                location_id: Some("L2".to_owned()),
                location_name: Some("Store".to_owned()),
                minimum_before_reorder: 4.0,
                reorder_quantity: 8.0,
            }],
        }
    }

    #[test]
    fn products_round_trip_exactly_and_replace_the_whole_set() {
        let (_dir, mut store) = open_temp();
        let old = vec![product("P9", "GONE")];
        store.write(|w| w.replace_products(&old)).unwrap();

        let mut plain = product("P1", "B-SKU");
        plain.suppliers.clear();
        plain.reorder_levels.clear();
        let mut full = product("P2", "A-SKU");
        full.price = Some(Decimal::from_str("19.9900").unwrap());
        store
            .write(|w| w.replace_products(&[plain.clone(), full.clone()]))
            .unwrap();
        let got = store.products().unwrap();
        // Sorted by SKU; P9 is gone with its children.
        assert_eq!(got, vec![full.clone(), plain]);
        assert_eq!(got[0].suppliers[0].cost.to_string(), "12.3456");
        assert_eq!(got[0].price.map(|p| p.to_string()), Some("19.9900".into()));
        assert_eq!(got[1].price, None);
        assert_eq!(got[0].suppliers[1].cost.to_string(), "0.5000");
        assert_eq!(
            got[0].minimum_before_reorder.to_bits(),
            (0.1f64 + 0.2).to_bits()
        );
        // The first supplier stays first (it is the default supplier).
        assert_eq!(got[0].suppliers[0].supplier_name, "Zeta Ltd");
        let options: i64 = store
            .conn
            .query_row("SELECT count(*) FROM product_supplier_options", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(options, 2);
    }

    #[test]
    fn suppliers_and_locations_round_trip() {
        let (_dir, mut store) = open_temp();
        let suppliers = vec![
            Supplier {
                id: "S1".to_owned(),
                name: "Alpha Inc".to_owned(),
                currency: Some("USD".to_owned()),
                payment_term: Some("30 days".to_owned()),
                tax_rule: Some("Tax Exempt".to_owned()),
                status: Some("Active".to_owned()),
                addresses: vec![Address {
                    line1: Some("1 Main St".to_owned()),
                    line2: None,
                    city: Some("Springfield".to_owned()),
                    state: None,
                    postcode: Some("12345".to_owned()),
                    country: Some("US".to_owned()),
                    address_type: Some("Billing".to_owned()),
                    default_for_type: true,
                }],
            },
            Supplier {
                id: "S2".to_owned(),
                name: "Beta \"Quoted\" Ltd".to_owned(),
                currency: None,
                payment_term: None,
                tax_rule: None,
                status: None,
                addresses: vec![],
            },
        ];
        let locations = vec![
            Location {
                id: "L1".to_owned(),
                name: "Main Warehouse".to_owned(),
                is_default: true,
                deprecated: false,
                parent_id: None,
            },
            Location {
                id: "L2".to_owned(),
                name: "Annex".to_owned(),
                is_default: false,
                deprecated: true,
                parent_id: Some("L1".to_owned()),
            },
        ];
        store
            .write(|w| {
                w.replace_suppliers(&suppliers)?;
                w.replace_locations(&locations)
            })
            .unwrap();
        assert_eq!(store.suppliers().unwrap(), suppliers);
        // Sorted by name: Annex first.
        assert_eq!(
            store.locations().unwrap(),
            vec![locations[1].clone(), locations[0].clone()]
        );
        store
            .write(|w| w.replace_locations(&locations[..1]))
            .unwrap();
        assert_eq!(store.locations().unwrap(), vec![locations[0].clone()]);
    }

    #[test]
    fn a_corrupt_value_names_table_column_and_row() {
        let (_dir, mut store) = open_temp();
        store
            .write(|w| w.replace_products(&[product("P2", "A-SKU")]))
            .unwrap();
        store
            .conn
            .execute(
                "UPDATE product_suppliers SET cost = 'abc' WHERE position = 1",
                [],
            )
            .unwrap();
        let err = store.products().unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{text}");
        assert!(text.contains("product_suppliers.cost"), "{text}");
        assert!(text.contains("\"P2\", 1"), "{text}");
    }
}
