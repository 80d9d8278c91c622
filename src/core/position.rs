//! Stock figures of every unit from the latest availability rows: A = Σ Available,
//! O = Σ OnOrder, I = Σ InTransit over the pool's members (several bins or batches of one SKU and
//! location are summed; a missing row is 0). One pass over the rows. Pure: no IO.
//!
//! Decisions (planning.md is silent):
//! - Rows are matched to products by SKU (exactly), not by product ID; rows of SKUs that are not
//!   active Stock products, and of ignored or unknown locations, are left out.
//! - Sums are exact on a 1e-9 grid (see `num::QtySum`), so input order never changes a digit.

use crate::core::catalog::{Catalog, Resolved};
use crate::core::locations::Locations;
use crate::core::model::AvailabilityRow;
use crate::core::num::QtySum;

/// A, O and I of every unit (unit = product index × key count + key index).
#[derive(Debug, Clone, Default)]
pub struct Stock {
    pub available: Vec<QtySum>,
    pub on_order: Vec<QtySum>,
    pub in_transit: Vec<QtySum>,
}

impl Stock {
    pub fn collect(rows: &[AvailabilityRow], catalog: &Catalog<'_>, locs: &Locations) -> Stock {
        let keys = locs.keys.len();
        let n = catalog.stock.len() * keys;
        let mut s = Stock {
            available: vec![QtySum::default(); n],
            on_order: vec![QtySum::default(); n],
            in_transit: vec![QtySum::default(); n],
        };
        let mut last: Option<(&str, Option<usize>)> = None;
        for r in rows {
            let p = match last {
                Some((sku, p)) if sku == r.sku.as_str() => p,
                _ => {
                    let p = match catalog.cin7_sku(&r.sku) {
                        Resolved::Stock(p) => Some(p),
                        _ => None,
                    };
                    last = Some((r.sku.as_str(), p));
                    p
                }
            };
            let (Some(p), Some(k)) = (p, locs.key_of(&r.location)) else {
                continue;
            };
            let unit = p * keys + k;
            s.available[unit].add(r.available);
            s.on_order[unit].add(r.on_order);
            s.in_transit[unit].add(r.in_transit);
        }
        s
    }
}
