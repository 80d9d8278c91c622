//! Sales: the part of a window of Shopify orders that planning reads, in a compact form.
//!
//! Planning needs, per order, only its creation instant, test flag, cancellation, financial status
//! and the two location gids, and per line its SKU, `currentQuantity` and gift-card flag. Holding a
//! million lines as full [`Order`] values costs millions of small heap strings (ids, names, variant
//! ids) that planning never looks at; `Sales` keeps each distinct SKU, status and location gid once
//! and refers to it by index, so the store can fill it without allocating per line and the core
//! resolves each distinct SKU once instead of once per line. Pure data: no IO.

use chrono::{DateTime, Utc};

use crate::core::model::Order;
use crate::core::num::{FxMap, ShortKey};

/// One order's header, as planning reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SaleOrder {
    pub created_at: DateTime<Utc>,
    pub test: bool,
    pub cancelled: bool,
    /// `displayFinancialStatus`, an index into [`Sales::label`].
    pub status: u32,
    /// The first fulfillment order's assigned location gid, an index into [`Sales::label`].
    pub fulfillment: Option<u32>,
    /// `retailLocation.id`, an index into [`Sales::label`].
    pub retail: Option<u32>,
    /// End (exclusive) of this order's lines in [`Sales::lines`]; they start where the previous
    /// order's end.
    lines_end: u32,
}

/// One line item, as planning reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaleLine {
    /// The Shopify SKU verbatim, an index into [`Sales::sku`]; `None` when Shopify has none.
    pub sku: Option<u32>,
    pub current_quantity: i64,
    pub is_gift_card: bool,
}

/// A window of orders: headers, lines, and the distinct strings they refer to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sales {
    orders: Vec<SaleOrder>,
    lines: Vec<SaleLine>,
    skus: Vec<String>,
    labels: Vec<String>,
}

impl Sales {
    /// Converts full orders (the webhook path and tests hold them).
    pub fn from_orders(orders: &[Order]) -> Sales {
        let mut b = SalesBuilder::default();
        for o in orders {
            b.order(
                o.created_at,
                o.test,
                o.cancelled_at.is_some(),
                &o.financial_status,
                o.fulfillment_location_id.as_deref(),
                o.retail_location_id.as_deref(),
            );
            for l in &o.lines {
                b.line(l.sku.as_deref(), l.current_quantity, l.is_gift_card);
            }
        }
        b.finish()
    }

    /// The orders with their lines.
    pub fn orders(&self) -> impl Iterator<Item = (&SaleOrder, &[SaleLine])> {
        let mut start = 0usize;
        self.orders.iter().map(move |o| {
            let end = o.lines_end as usize;
            let lines = self.lines.get(start..end).unwrap_or(&[]);
            start = end;
            (o, lines)
        })
    }

    pub fn order_count(&self) -> usize {
        self.orders.len()
    }

    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// The distinct SKUs; a line's `sku` indexes this.
    pub fn skus(&self) -> &[String] {
        &self.skus
    }

    /// The distinct statuses and location gids; a header's `status`, `fulfillment` and `retail`
    /// index this.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The SKU behind an index.
    pub fn sku(&self, i: u32) -> &str {
        self.skus.get(i as usize).map(String::as_str).unwrap_or("")
    }

    /// The status or gid behind an index.
    pub fn label(&self, i: u32) -> &str {
        self.labels
            .get(i as usize)
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// Keeps each distinct string once and hands out its index. Short strings are hashed and
/// compared packed inline ([`ShortKey`]): a lookup in a table of 100,000 SKUs then costs no cache
/// miss on the key's bytes.
#[derive(Debug, Default)]
struct Interner {
    short: FxMap<ShortKey, u32>,
    long: FxMap<String, u32>,
    all: Vec<String>,
}

impl Interner {
    fn index(&mut self, s: &str) -> u32 {
        let next = self.all.len() as u32;
        let i = match ShortKey::new(s) {
            Some(k) => *self.short.entry(k).or_insert(next),
            None => match self.long.get(s) {
                Some(&i) => i,
                None => {
                    self.long.insert(s.to_owned(), next);
                    next
                }
            },
        };
        if i == next {
            self.all.push(s.to_owned());
        }
        i
    }
}

/// Builds [`Sales`] one order and line at a time, keeping each distinct string once.
#[derive(Debug, Default)]
pub struct SalesBuilder {
    orders: Vec<SaleOrder>,
    lines: Vec<SaleLine>,
    skus: Interner,
    labels: Interner,
}

impl SalesBuilder {
    pub fn with_capacity(orders: usize, lines: usize) -> SalesBuilder {
        SalesBuilder {
            orders: Vec::with_capacity(orders),
            lines: Vec::with_capacity(lines),
            ..SalesBuilder::default()
        }
    }

    /// Starts an order; the lines that follow belong to it.
    pub fn order(
        &mut self,
        created_at: DateTime<Utc>,
        test: bool,
        cancelled: bool,
        financial_status: &str,
        fulfillment_location: Option<&str>,
        retail_location: Option<&str>,
    ) {
        let status = self.labels.index(financial_status);
        let fulfillment = fulfillment_location.map(|g| self.labels.index(g));
        let retail = retail_location.map(|g| self.labels.index(g));
        self.orders.push(SaleOrder {
            created_at,
            test,
            cancelled,
            status,
            fulfillment,
            retail,
            lines_end: self.lines.len() as u32,
        });
    }

    /// Adds a line to the last order started (ignored before any order).
    pub fn line(&mut self, sku: Option<&str>, current_quantity: i64, is_gift_card: bool) {
        let Some(order) = self.orders.last_mut() else {
            return;
        };
        let sku = sku.map(|s| self.skus.index(s));
        self.lines.push(SaleLine {
            sku,
            current_quantity,
            is_gift_card,
        });
        order.lines_end = self.lines.len() as u32;
    }

    pub fn finish(self) -> Sales {
        Sales {
            orders: self.orders,
            lines: self.lines,
            skus: self.skus.all,
            labels: self.labels.all,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::*;

    #[test]
    fn keeps_orders_lines_and_each_string_once() {
        let mut a = order(
            "1",
            "2024-05-10T12:00:00Z",
            vec![line("A", 2), line("B", 1), line("A", 3)],
        );
        a.fulfillment_location_id = Some("gid://shopify/Location/1".into());
        let mut b = order("2", "2024-05-11T12:00:00Z", vec![]);
        b.financial_status = "REFUNDED".into();
        b.cancelled_at = Some(t("2024-05-12T00:00:00Z"));
        let mut c = order("3", "2024-05-12T12:00:00Z", vec![line("B", 4)]);
        c.lines[0].sku = None;
        c.retail_location_id = Some("gid://shopify/Location/1".into());
        let s = Sales::from_orders(&[a, b, c]);

        assert_eq!(s.order_count(), 3);
        assert_eq!(s.line_count(), 4);
        assert_eq!(s.skus(), ["A", "B"]);
        type Lines<'a> = Vec<(Option<&'a str>, i64)>;
        let got: Vec<Lines<'_>> = s
            .orders()
            .map(|(_, ls)| {
                ls.iter()
                    .map(|l| (l.sku.map(|i| s.sku(i)), l.current_quantity))
                    .collect()
            })
            .collect();
        assert_eq!(
            got,
            vec![
                vec![(Some("A"), 2), (Some("B"), 1), (Some("A"), 3)],
                vec![],
                vec![(None, 4)],
            ]
        );
        let headers: Vec<&SaleOrder> = s.orders().map(|(o, _)| o).collect();
        assert_eq!(s.label(headers[0].status), "PAID");
        assert_eq!(s.label(headers[1].status), "REFUNDED");
        assert!(headers[1].cancelled && !headers[0].cancelled);
        // The same gid, once, whether it came as a fulfillment or a retail location.
        assert_eq!(headers[0].fulfillment, headers[2].retail);
        assert_eq!(
            s.label(headers[0].fulfillment.unwrap_or(u32::MAX)),
            "gid://shopify/Location/1"
        );
        assert_eq!(s.labels().len(), 3);
    }
}
