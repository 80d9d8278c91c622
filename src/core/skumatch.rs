//! The SKU audit behind `replenish skus`: every Shopify variant SKU against every Cin7 product SKU
//! and the mapping table, each finding in one class, with the units sold in the velocity window.
//! Pure: no IO, no clock; the caller passes variants, products, the mapping table and the sales.
//!
//! Classes, in report order ([`Class`]):
//! - `exact`: the Shopify SKU is, verbatim, the SKU of an active Cin7 product (any type).
//! - `mapped`: the mapping table maps it to an active Cin7 product.
//! - `normalized`: no match, but it equals an active Cin7 SKU once both are [`loose_sku`]-normalized
//!   (trimmed, upper case, without spaces, dashes or underscores): a suggested mapping, score 1.
//! - `fuzzy`: no match even then, but the best active Cin7 SKU by normalized edit distance scores at
//!   least [`FUZZY_THRESHOLD`] (see "Fuzzy suggestions"): a suggested mapping with its score.
//! - `blank`: a variant with no SKU (null, empty or whitespace only); one entry per variant.
//! - `duplicate`: a Shopify SKU carried by two or more variants (shopify_sku set, cin7_sku its match
//!   or suggestion), or a Cin7 SKU carried by two or more products (shopify_sku null). This is an
//!   extra finding: the SKU keeps its own entry in one of the classes above.
//! - `unmatched`: a Shopify SKU with no Cin7 product, not even a suggestion (cin7_sku null).
//! - `unsold`: an active `Stock` product (catalog rules) that sold nothing in the window
//!   (shopify_sku null).
//! - `dangling_mapping`: a mapping-table row whose Cin7 SKU is no active product, or whose Shopify
//!   SKU no variant carries.
//!
//! Every distinct non-blank Shopify SKU gets exactly one of `exact`, `mapped`, `normalized`, `fuzzy`
//! or `unmatched`. Entries are ordered by class, then Shopify SKU, then Cin7 SKU, then variant ids.
//!
//! **Match rate** ([`Summary::match_rate`]): of the distinct non-blank Shopify SKUs in the audit,
//! the share that resolve to an active Cin7 product exactly or through the mapping table — the SKUs
//! whose sales planning counts. Blank SKUs are not in the denominator (they have their own class);
//! rounded to 4 decimals; `None` when there is no SKU at all.
//!
//! **Units sold** ([`UnitsSold`]): the sum of `currentQuantity` over counting lines in the window,
//! with the planning rules of [`crate::core::demand`] (not a test, not cancelled, a counting
//! financial status, not a gift card, created on a window day in the shop timezone). Per Shopify
//! SKU verbatim ([`units_by_sku`], from the window's [`Sales`]); for blank-SKU variants, per variant
//! id ([`blank_units_by_variant`], from the window's orders holding those variants). Blank-SKU lines
//! with no variant at all (custom items) belong to no variant and are not in the audit. For Cin7-side
//! entries (`unsold`, a Cin7 `duplicate`), units are those of the Shopify SKUs that match it or
//! suggest it.
//!
//! Decisions (the shared docs are silent):
//! - Gift-card variants are not audited (gift-card lines never count as sales of a product).
//!   Variants of `ARCHIVED` products are audited only when they sold in the window: they cannot
//!   sell any more, and a stale SKU nobody buys needs no mapping.
//! - Match targets are all active products, `Stock` or not: a Shopify SKU of an active service is
//!   resolved (planning ignores it silently), not unmatched. `unsold` only concerns `Stock`.
//! - A mapping row is final, as in planning: when its target is not active, the Shopify SKU is not
//!   `exact` even if it equals an active SKU; it gets a suggestion like any unmapped SKU (so an
//!   identical active SKU shows as `normalized`), and the row is `dangling_mapping`.
//! - A product counts as sold when a Shopify SKU that matches it *or suggests it* (normalized,
//!   fuzzy) sold units > 0: a product whose sales hide behind a misspelt SKU is reported once,
//!   under that SKU, not again as `unsold`.
//! - Two Cin7 products with one SKU: the smallest product ID is the match (as in the catalog).
//!
//! **Fuzzy suggestions.** Similarity = 1 − d / max(len a, len b), d the optimal-string-alignment
//! edit distance (insert, delete, substitute, swap two neighbours) between the normalized forms. The
//! numbers in a SKU must agree (its digit runs, leading zeros ignored): in a numbered catalog
//! `SKU-00012` and `SKU-00013` are one edit apart and different products, so a suggestion never
//! changes a number. With the threshold 0.85, one edit needs at least 7 characters and two need 14.
//! Best candidate only; ties go to the smaller Cin7 SKU.
//!
//! Cost: Cin7 SKUs are indexed by their numbers; an unresolved Shopify SKU is compared only with
//! the SKUs that carry the same numbers and whose length is within the band the threshold allows;
//! two lower bounds on the distance rule most pairs out cheaply (which characters occur: one
//! instruction; how often: a few dozen), and the edit distance itself stops as soon as a row
//! exceeds the allowed edits. So the work is O(u · b), u the unresolved Shopify SKUs and b the Cin7 SKUs in their
//! block and band — not all n × m pairs. A catalog whose SKUs carry no digits at all is one block,
//! where only the length band and the histogram bound prune.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::core::catalog::{is_active, is_stock};
use crate::core::demand::{Window, blank_sku, counts, order_counts};
use crate::core::model::{Order, Product, Variant};
use crate::core::sales::Sales;

/// The least similarity (0–1) of a fuzzy suggestion.
pub const FUZZY_THRESHOLD: f64 = 0.85;

/// A SKU compared loosely: upper case, without spaces, dashes or underscores (so also trimmed).
pub fn loose_sku(sku: &str) -> String {
    sku.chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
        .flat_map(char::to_uppercase)
        .collect()
}

/// What a finding is (see the module docs); the order is the report's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Exact,
    Mapped,
    Normalized,
    Fuzzy,
    Blank,
    Duplicate,
    Unmatched,
    Unsold,
    DanglingMapping,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 9] = [
        Class::Exact,
        Class::Mapped,
        Class::Normalized,
        Class::Fuzzy,
        Class::Blank,
        Class::Duplicate,
        Class::Unmatched,
        Class::Unsold,
        Class::DanglingMapping,
    ];

    /// The name used in JSON, CSV and the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Exact => "exact",
            Class::Mapped => "mapped",
            Class::Normalized => "normalized",
            Class::Fuzzy => "fuzzy",
            Class::Blank => "blank",
            Class::Duplicate => "duplicate",
            Class::Unmatched => "unmatched",
            Class::Unsold => "unsold",
            Class::DanglingMapping => "dangling_mapping",
        }
    }

    /// Whether sales of a SKU in this class are lost to planning (the SKU maps to nothing).
    pub fn is_unmapped(self) -> bool {
        matches!(
            self,
            Class::Normalized | Class::Fuzzy | Class::Unmatched | Class::Blank
        )
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub class: Class,
    /// The Shopify SKU verbatim; `None` for blank SKUs and Cin7-side findings.
    pub shopify_sku: Option<String>,
    /// The match, or the suggestion; `None` when there is none.
    pub cin7_sku: Option<String>,
    /// Similarity of the match or suggestion (1 for exact and normalized); `None` where no
    /// similarity was computed (mapped, blank, duplicate, unmatched, unsold, dangling_mapping).
    pub score: Option<f64>,
    /// The audited variants carrying the Shopify SKU (sorted); empty for Cin7-side findings.
    pub variant_ids: Vec<String>,
    /// Units sold in the window (see the module docs).
    pub units_sold: i64,
    /// In words, for the table (not part of the JSON shape).
    #[serde(skip)]
    pub detail: String,
}

/// Counts per class and the match rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Entries per class; every class is present.
    pub counts: BTreeMap<Class, usize>,
    /// Distinct non-blank Shopify SKUs audited (the match rate's denominator).
    pub shopify_skus: usize,
    /// Of those, the ones that resolve exactly or through the mapping table.
    pub resolved: usize,
    /// `resolved / shopify_skus`, rounded to 4 decimals; `None` without SKUs.
    pub match_rate: Option<f64>,
    /// Variants audited, and variants left out (gift cards, archived products that did not sell).
    pub variants: usize,
    pub variants_skipped: usize,
    /// Active Cin7 products (any type) the SKUs were matched against.
    pub cin7_products: usize,
}

impl Summary {
    pub fn count(&self, class: Class) -> usize {
        self.counts.get(&class).copied().unwrap_or(0)
    }
}

/// The audit: summary and findings.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    pub summary: Summary,
    pub entries: Vec<Entry>,
}

impl Audit {
    /// Whether a SKU that maps to nothing (normalized, fuzzy, unmatched, blank) sold in the window:
    /// its demand is missing from the plan, and a person must map it (`skus` exits 3).
    pub fn needs_attention(&self) -> bool {
        self.entries
            .iter()
            .any(|e| e.class.is_unmapped() && e.units_sold > 0)
    }

    /// The rows of a mapping template: the table's working rows (`mapped`) and every suggestion
    /// (`normalized`, `fuzzy`), by Shopify SKU. Unmatched and blank SKUs have nothing to suggest
    /// (and a row with an empty cin7_sku would make the file invalid); dangling rows are broken.
    pub fn template_rows(&self) -> Vec<&Entry> {
        let mut rows: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| matches!(e.class, Class::Mapped | Class::Normalized | Class::Fuzzy))
            .filter(|e| e.shopify_sku.is_some() && e.cin7_sku.is_some())
            .collect();
        rows.sort_by(|a, b| a.shopify_sku.cmp(&b.shopify_sku));
        rows
    }
}

/// Units sold in the window, as the audit reads them (see the module docs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitsSold {
    /// Per Shopify SKU, verbatim (blank SKUs are not here).
    pub by_sku: BTreeMap<String, i64>,
    /// Per variant id, units of its blank-SKU lines.
    pub blank_by_variant: BTreeMap<String, i64>,
}

/// Units of counting, non-gift lines with a non-blank SKU in the window, per SKU verbatim.
pub fn units_by_sku(sales: &Sales, window: &Window) -> BTreeMap<String, i64> {
    let mut by_index: BTreeMap<u32, i64> = BTreeMap::new();
    for (order, lines) in sales.orders() {
        if window.index(window.local_day(order.created_at)).is_none()
            || counts(order.test, order.cancelled, sales.label(order.status)).is_err()
        {
            continue;
        }
        for l in lines {
            if l.is_gift_card {
                continue;
            }
            if let Some(i) = l.sku {
                let units = by_index.entry(i).or_insert(0);
                *units = units.saturating_add(l.current_quantity);
            }
        }
    }
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for (i, units) in by_index {
        let sku = sales.sku(i);
        if !blank_sku(Some(sku)) {
            out.insert(sku.to_string(), units);
        }
    }
    out
}

/// Units of counting, non-gift lines with a blank SKU in the window, per variant id.
pub fn blank_units_by_variant(orders: &[Order], window: &Window) -> BTreeMap<String, i64> {
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for order in orders {
        if window.index(window.local_day(order.created_at)).is_none()
            || order_counts(order).is_err()
        {
            continue;
        }
        for l in &order.lines {
            if l.is_gift_card || !blank_sku(l.sku.as_deref()) {
                continue;
            }
            if let Some(v) = &l.variant_id {
                let units = out.entry(v.clone()).or_insert(0);
                *units = units.saturating_add(l.current_quantity);
            }
        }
    }
    out
}

/// What the audit reads.
#[derive(Debug, Clone, Copy)]
pub struct AuditInput<'a> {
    pub variants: &'a [Variant],
    /// Every Cin7 product the store holds (active ones are the match targets; all of them count
    /// for duplicates).
    pub products: &'a [Product],
    /// The mapping table: Shopify SKU → Cin7 SKU.
    pub mapping: &'a BTreeMap<String, String>,
    pub sold: &'a UnitsSold,
}

/// How one Shopify SKU resolves.
struct Resolution<'a> {
    class: Class,
    cin7: Option<&'a str>,
    score: Option<f64>,
    detail: String,
}

/// Runs the audit.
pub fn audit(input: &AuditInput<'_>) -> Audit {
    let units_of = |sku: &str| input.sold.by_sku.get(sku).copied().unwrap_or(0);

    // Active products by SKU; the smallest product ID wins a shared SKU.
    let mut sorted: Vec<&Product> = input.products.iter().collect();
    sorted.sort_by(|a, b| a.sku.cmp(&b.sku).then_with(|| a.id.cmp(&b.id)));
    let mut active: BTreeMap<&str, &Product> = BTreeMap::new();
    for p in sorted.iter().filter(|p| is_active(p)) {
        active.entry(p.sku.as_str()).or_insert(p);
    }
    let index = Index::new(active.keys().copied());

    // The variants audited, by SKU; blank ones apart.
    let mut by_sku: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut blanks: Vec<(&Variant, i64)> = Vec::new();
    let mut skipped = 0usize;
    for v in input.variants {
        let blank = blank_sku(v.sku.as_deref());
        let sold = match (&v.sku, blank) {
            (Some(sku), false) => units_of(sku),
            _ => input.sold.blank_by_variant.get(&v.id).copied().unwrap_or(0),
        };
        let archived = v.product_status.trim().eq_ignore_ascii_case("archived");
        if v.gift_card || (archived && sold <= 0) {
            skipped += 1;
            continue;
        }
        match (&v.sku, blank) {
            (Some(sku), false) => by_sku.entry(sku.as_str()).or_default().push(&v.id),
            _ => blanks.push((v, sold)),
        }
    }
    let audited = input.variants.len() - skipped;

    let mut entries: Vec<Entry> = Vec::new();
    // Units per Cin7 SKU from the Shopify SKUs that match or suggest it, and which SKUs those are.
    let mut attributed: BTreeMap<&str, i64> = BTreeMap::new();
    let mut listed: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut resolved = 0usize;
    for (sku, ids) in &mut by_sku {
        ids.sort_unstable();
        let units = units_of(sku);
        let r = match input.mapping.get(*sku) {
            Some(target) => match active.get_key_value(target.as_str()) {
                Some((target, _)) => Resolution {
                    class: Class::Mapped,
                    cin7: Some(target),
                    score: None,
                    detail: "mapping table".to_string(),
                },
                None => {
                    let mut r = suggest(sku, &index);
                    r.detail = format!(
                        "its mapping row names {target:?}, which is no active Cin7 product"
                    );
                    r
                }
            },
            None => match active.get_key_value(*sku) {
                Some((sku, _)) => Resolution {
                    class: Class::Exact,
                    cin7: Some(sku),
                    score: Some(1.0),
                    detail: String::new(),
                },
                None => suggest(sku, &index),
            },
        };
        if matches!(r.class, Class::Exact | Class::Mapped) {
            resolved += 1;
        }
        if let Some(cin7) = r.cin7 {
            let a = attributed.entry(cin7).or_insert(0);
            *a = a.saturating_add(units);
            listed.entry(cin7).or_default().push(sku);
        }
        if ids.len() > 1 {
            entries.push(Entry {
                class: Class::Duplicate,
                shopify_sku: Some(sku.to_string()),
                cin7_sku: r.cin7.map(str::to_string),
                score: None,
                variant_ids: ids.iter().map(|s| s.to_string()).collect(),
                units_sold: units,
                detail: format!("Shopify SKU on {} variants", ids.len()),
            });
        }
        entries.push(Entry {
            class: r.class,
            shopify_sku: Some(sku.to_string()),
            cin7_sku: r.cin7.map(str::to_string),
            score: r.score,
            variant_ids: ids.iter().map(|s| s.to_string()).collect(),
            units_sold: units,
            detail: r.detail,
        });
    }

    for (v, sold) in blanks {
        entries.push(Entry {
            class: Class::Blank,
            shopify_sku: None,
            cin7_sku: None,
            score: None,
            variant_ids: vec![v.id.clone()],
            units_sold: sold,
            detail: format!("{} / {}", v.product_title, v.title),
        });
    }

    // Cin7 SKUs on two or more products (any status).
    let mut products_by_sku: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in &sorted {
        products_by_sku
            .entry(p.sku.as_str())
            .or_default()
            .push(p.id.as_str());
    }
    for (sku, ids) in products_by_sku.iter().filter(|(_, ids)| ids.len() > 1) {
        entries.push(Entry {
            class: Class::Duplicate,
            shopify_sku: None,
            cin7_sku: Some(sku.to_string()),
            score: None,
            variant_ids: Vec::new(),
            units_sold: attributed.get(sku).copied().unwrap_or(0),
            detail: format!("Cin7 SKU on {} products: {}", ids.len(), ids.join(", ")),
        });
    }

    // Active Stock products nothing sold.
    for (sku, p) in &active {
        if !is_stock(p) || attributed.get(sku).copied().unwrap_or(0) > 0 {
            continue;
        }
        let detail = match listed.get(sku) {
            Some(shopify) => format!(
                "on Shopify as {}; no sales in the window",
                shopify
                    .iter()
                    .map(|s| format!("{s:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => "no Shopify variant".to_string(),
        };
        entries.push(Entry {
            class: Class::Unsold,
            shopify_sku: None,
            cin7_sku: Some(sku.to_string()),
            score: None,
            variant_ids: Vec::new(),
            units_sold: 0,
            detail,
        });
    }

    // Mapping rows that point at nothing.
    let on_some_variant: BTreeSet<&str> = input
        .variants
        .iter()
        .filter_map(|v| v.sku.as_deref())
        .collect();
    for (shopify, cin7) in input.mapping {
        let detail = if !active.contains_key(cin7.as_str()) {
            format!("{cin7:?} is no active Cin7 product")
        } else if !on_some_variant.contains(shopify.as_str()) {
            format!("no Shopify variant has the SKU {shopify:?}")
        } else {
            continue;
        };
        entries.push(Entry {
            class: Class::DanglingMapping,
            shopify_sku: Some(shopify.clone()),
            cin7_sku: Some(cin7.clone()),
            score: None,
            variant_ids: by_sku
                .get(shopify.as_str())
                .map(|ids| ids.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default(),
            units_sold: units_of(shopify),
            detail,
        });
    }

    entries.sort_by(|a, b| {
        (a.class, &a.shopify_sku, &a.cin7_sku, &a.variant_ids).cmp(&(
            b.class,
            &b.shopify_sku,
            &b.cin7_sku,
            &b.variant_ids,
        ))
    });
    let mut counts: BTreeMap<Class, usize> = Class::ALL.iter().map(|c| (*c, 0)).collect();
    for e in &entries {
        *counts.entry(e.class).or_insert(0) += 1;
    }
    let shopify_skus = by_sku.len();
    let match_rate = (shopify_skus > 0).then(|| round4(resolved as f64 / shopify_skus as f64));
    Audit {
        summary: Summary {
            counts,
            shopify_skus,
            resolved,
            match_rate,
            variants: audited,
            variants_skipped: skipped,
            cin7_products: active.len(),
        },
        entries,
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// A suggestion for a Shopify SKU that matches nothing: normalized, fuzzy or unmatched.
fn suggest<'a>(sku: &str, index: &Index<'a>) -> Resolution<'a> {
    let loose = loose_sku(sku);
    if let Some(cin7) = index.normalized(sku, &loose) {
        return Resolution {
            class: Class::Normalized,
            cin7: Some(cin7),
            score: Some(1.0),
            detail: String::new(),
        };
    }
    match index.fuzzy(&loose) {
        Some((cin7, score)) => Resolution {
            class: Class::Fuzzy,
            cin7: Some(cin7),
            score: Some(round4(score)),
            detail: String::new(),
        },
        None => Resolution {
            class: Class::Unmatched,
            cin7: None,
            score: None,
            detail: String::new(),
        },
    }
}

/// Character classes counted for the histogram bound: A–Z, 0–9, anything else.
const BUCKETS: usize = 37;

fn histogram(chars: &[char]) -> [u16; BUCKETS] {
    let mut h = [0u16; BUCKETS];
    for c in chars {
        let b = match c {
            'A'..='Z' => *c as usize - 'A' as usize,
            '0'..='9' => 26 + (*c as usize - '0' as usize),
            _ => 36,
        };
        h[b] = h[b].saturating_add(1);
    }
    h
}

/// Which characters a SKU holds, one bit per A–Z and 0–9, the rest folded into 28 bits. An edit
/// flips at most two bits (a swap none), so d ≥ ½·(bits that differ): one instruction that rules
/// out most pairs before the histogram is looked at.
fn presence(chars: &[char]) -> u64 {
    chars.iter().fold(0u64, |mask, c| {
        let bit = match c {
            'A'..='Z' => *c as u32 - 'A' as u32,
            '0'..='9' => 26 + (*c as u32 - '0' as u32),
            _ => 36 + (*c as u32 % 28),
        };
        mask | (1u64 << bit)
    })
}

/// One Cin7 SKU as a fuzzy candidate.
struct Candidate<'a> {
    sku: &'a str,
    chars: Vec<char>,
    presence: u64,
    histogram: [u16; BUCKETS],
}

/// Active Cin7 SKUs indexed for suggestions.
struct Index<'a> {
    /// Normalized form → the SKUs with it (sorted).
    by_loose: HashMap<String, Vec<&'a str>>,
    /// The numbers of a SKU ([`numbers`]) → its candidates, sorted by length then SKU.
    blocks: HashMap<String, Vec<Candidate<'a>>>,
}

impl<'a> Index<'a> {
    /// `skus` in ascending order.
    fn new(skus: impl Iterator<Item = &'a str>) -> Index<'a> {
        let mut by_loose: HashMap<String, Vec<&'a str>> = HashMap::new();
        let mut blocks: HashMap<String, Vec<Candidate<'a>>> = HashMap::new();
        for sku in skus {
            let loose = loose_sku(sku);
            by_loose.entry(loose.clone()).or_default().push(sku);
            let chars: Vec<char> = loose.chars().collect();
            if chars.is_empty() {
                continue;
            }
            blocks.entry(numbers(&loose)).or_default().push(Candidate {
                sku,
                presence: presence(&chars),
                histogram: histogram(&chars),
                chars,
            });
        }
        for block in blocks.values_mut() {
            block.sort_by(|a, b| a.chars.len().cmp(&b.chars.len()).then(a.sku.cmp(b.sku)));
        }
        Index { by_loose, blocks }
    }

    /// The active SKU equal to `sku` once normalized; among several, the one nearest to `sku`
    /// trimmed and upper-cased, then the smallest.
    fn normalized(&self, sku: &str, loose: &str) -> Option<&'a str> {
        let found = self.by_loose.get(loose)?;
        let upper: Vec<char> = sku.trim().chars().flat_map(char::to_uppercase).collect();
        found
            .iter()
            .min_by_key(|c| {
                let c_chars: Vec<char> = c.chars().collect();
                (osa(&upper, &c_chars, usize::MAX).unwrap_or(usize::MAX), **c)
            })
            .copied()
    }

    /// The most similar active SKU at or above the threshold, with its similarity.
    fn fuzzy(&self, loose: &str) -> Option<(&'a str, f64)> {
        let q: Vec<char> = loose.chars().collect();
        if q.is_empty() {
            return None;
        }
        let block = self.blocks.get(&numbers(loose))?;
        let qp = presence(&q);
        let qh = histogram(&q);
        let len = q.len();
        // d ≥ |Δlen| and d ≤ (1−θ)·max(len) give |Δlen| ≤ (1−θ)/θ · len.
        let band = ((1.0 - FUZZY_THRESHOLD) / FUZZY_THRESHOLD * len as f64 + 1e-9).floor() as usize;
        let start = block.partition_point(|c| c.chars.len() < len.saturating_sub(band));
        let mut best: Option<(&'a str, f64)> = None;
        for c in &block[start..] {
            if c.chars.len() > len + band {
                break;
            }
            let longest = len.max(c.chars.len());
            let allowed = ((1.0 - FUZZY_THRESHOLD) * longest as f64 + 1e-9).floor() as usize;
            if allowed == 0 || ((qp ^ c.presence).count_ones() as usize).div_ceil(2) > allowed {
                continue;
            }
            let l1: usize = qh
                .iter()
                .zip(c.histogram.iter())
                .map(|(a, b)| usize::from(a.abs_diff(*b)))
                .sum();
            if l1.div_ceil(2) > allowed {
                continue;
            }
            let Some(d) = osa(&q, &c.chars, allowed) else {
                continue;
            };
            if d == 0 {
                continue; // equal once normalized: not a fuzzy case
            }
            let score = 1.0 - d as f64 / longest as f64;
            let better = match best {
                None => true,
                Some((sku, s)) => score > s || (score == s && c.sku < sku),
            };
            if score + 1e-12 >= FUZZY_THRESHOLD && better {
                best = Some((c.sku, score));
            }
        }
        best
    }
}

/// The numbers in a normalized SKU: its digit runs without leading zeros, joined by `|`.
fn numbers(loose: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in loose.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            run.push(c);
        } else if !run.is_empty() {
            let digits = run.trim_start_matches('0');
            out.push_str(if digits.is_empty() { "0" } else { digits });
            out.push('|');
            run.clear();
        }
    }
    out
}

/// The optimal-string-alignment distance (Levenshtein plus swaps of two neighbours) when it is at
/// most `max`, else `None`. Stops at the first row whose every cell exceeds `max`.
fn osa(a: &[char], b: &[char], max: usize) -> Option<usize> {
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > max {
        return None;
    }
    let mut before: Vec<usize> = vec![0; m + 1];
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut cur: Vec<usize> = vec![0; m + 1];
    for i in 1..=n {
        cur[0] = i;
        let mut row_min = i;
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(before[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[m];
    (d <= max).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::{d, line, order, product};
    use chrono_tz::Tz;

    fn variant(id: &str, sku: Option<&str>) -> Variant {
        Variant {
            id: format!("gid://shopify/ProductVariant/{id}"),
            sku: sku.map(str::to_string),
            title: "Default Title".to_string(),
            product_title: format!("Product {id}"),
            product_status: "ACTIVE".to_string(),
            gift_card: false,
        }
    }

    fn sold(pairs: &[(&str, i64)]) -> UnitsSold {
        UnitsSold {
            by_sku: pairs.iter().map(|(s, u)| (s.to_string(), *u)).collect(),
            blank_by_variant: BTreeMap::new(),
        }
    }

    fn run(
        variants: &[Variant],
        products: &[Product],
        mapping: &[(&str, &str)],
        sold: &UnitsSold,
    ) -> Audit {
        let mapping: BTreeMap<String, String> = mapping
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        audit(&AuditInput {
            variants,
            products,
            mapping: &mapping,
            sold,
        })
    }

    /// (class, shopify_sku, cin7_sku, score, units) of every entry.
    type Row = (
        &'static str,
        Option<String>,
        Option<String>,
        Option<f64>,
        i64,
    );
    fn rows(a: &Audit) -> Vec<Row> {
        a.entries
            .iter()
            .map(|e| {
                (
                    e.class.as_str(),
                    e.shopify_sku.clone(),
                    e.cin7_sku.clone(),
                    e.score,
                    e.units_sold,
                )
            })
            .collect()
    }

    fn s(x: &str) -> Option<String> {
        Some(x.to_string())
    }

    #[test]
    fn loose_skus_ignore_case_spaces_dashes_and_underscores() {
        assert_eq!(loose_sku(" ab-12 x_y "), "AB12XY");
        assert_eq!(loose_sku("AB12XY"), loose_sku("a b-1_2-x y"));
        // The draft gates use the same function.
        assert_eq!(crate::core::push::loose_sku("sku 1"), loose_sku("SKU-1"));
    }

    #[test]
    fn edit_distance_counts_swaps_as_one_edit() {
        let c = |x: &str| x.chars().collect::<Vec<_>>();
        assert_eq!(osa(&c("TEEBLK3"), &c("TEEBKL3"), 5), Some(1));
        assert_eq!(osa(&c("KITTEN"), &c("SITTING"), 5), Some(3));
        assert_eq!(osa(&c("KITTEN"), &c("SITTING"), 2), None);
        assert_eq!(osa(&c(""), &c("AB"), 2), Some(2));
        assert_eq!(osa(&c("ABC"), &c("ABC"), 0), Some(0));
    }

    #[test]
    fn numbers_ignore_leading_zeros() {
        assert_eq!(numbers("SKU00012"), "12|");
        assert_eq!(numbers("SKU012"), "12|");
        assert_eq!(numbers("TEEBLK003X10"), "3|10|");
        assert_eq!(numbers("A000"), "0|");
        assert_eq!(numbers("ABC"), "");
    }

    #[test]
    fn exact_and_mapped() {
        let products = [product("SKU-1"), product("SKU-2")];
        let variants = [variant("1", Some("SKU-1")), variant("2", Some("shop-two"))];
        let a = run(
            &variants,
            &products,
            &[("shop-two", "SKU-2")],
            &sold(&[("SKU-1", 5), ("shop-two", 3)]),
        );
        assert_eq!(
            rows(&a),
            vec![
                ("exact", s("SKU-1"), s("SKU-1"), Some(1.0), 5),
                ("mapped", s("shop-two"), s("SKU-2"), None, 3),
            ]
        );
        assert_eq!(a.summary.shopify_skus, 2);
        assert_eq!(a.summary.resolved, 2);
        assert_eq!(a.summary.match_rate, Some(1.0));
        assert!(!a.needs_attention());
        assert_eq!(a.entries[0].variant_ids, ["gid://shopify/ProductVariant/1"]);
    }

    #[test]
    fn whitespace_case_and_dashes_are_normalized_suggestions() {
        let products = [product("TEE-BLK-003"), product("SKU-00012")];
        let variants = [
            variant("1", Some("tee-blk-003")),
            variant("2", Some("SKU 00012")),
            variant("3", Some(" SKU00012 ")),
        ];
        let a = run(&variants, &products, &[], &sold(&[("tee-blk-003", 2)]));
        assert_eq!(
            rows(&a),
            vec![
                ("normalized", s(" SKU00012 "), s("SKU-00012"), Some(1.0), 0),
                ("normalized", s("SKU 00012"), s("SKU-00012"), Some(1.0), 0),
                (
                    "normalized",
                    s("tee-blk-003"),
                    s("TEE-BLK-003"),
                    Some(1.0),
                    2
                ),
                // Its misspelt SKUs sold nothing either.
                ("unsold", None, s("SKU-00012"), None, 0),
            ]
        );
        assert_eq!(a.summary.match_rate, Some(0.0));
        // A normalized SKU that sells needs a person.
        assert!(a.needs_attention());
    }

    #[test]
    fn one_typo_is_a_fuzzy_suggestion_with_its_score() {
        // TEEBKL003 vs TEEBLK003: one swap in 9 characters → 1 − 1/9 = 0.8889.
        let products = [product("TEE-BLK-003"), product("TEE-BLU-003")];
        let variants = [variant("1", Some("TEE-BKL-003"))];
        let a = run(&variants, &products, &[], &sold(&[("TEE-BKL-003", 1)]));
        assert_eq!(
            rows(&a)[0],
            ("fuzzy", s("TEE-BKL-003"), s("TEE-BLK-003"), Some(0.8889), 1)
        );
        // Ties go to the smaller SKU: TEE-BLX-003 is one substitution from both.
        let variants = [variant("1", Some("TEE-BLX-003"))];
        let a = run(&variants, &products, &[], &UnitsSold::default());
        assert_eq!(
            rows(&a)[0],
            ("fuzzy", s("TEE-BLX-003"), s("TEE-BLK-003"), Some(0.8889), 0)
        );
    }

    #[test]
    fn a_suggestion_never_changes_a_number_and_short_skus_are_not_guessed() {
        let products = [product("SKU-00013"), product("AB-1"), product("ABCDEF")];
        let variants = [
            variant("1", Some("SKU-00012")), // one digit off: a different product
            variant("2", Some("AC-1")),      // 3 characters: one edit is a third of it
            variant("3", Some("ABCDEG")),    // 6 characters: 1 − 1/6 = 0.83 < 0.85
        ];
        let a = run(&variants, &products, &[], &UnitsSold::default());
        let classes: Vec<_> = rows(&a)
            .into_iter()
            .filter(|r| r.1.is_some())
            .map(|r| (r.0, r.1, r.2))
            .collect();
        assert_eq!(
            classes,
            vec![
                ("unmatched", s("ABCDEG"), None),
                ("unmatched", s("AC-1"), None),
                ("unmatched", s("SKU-00012"), None),
            ]
        );
        // A number padded differently still matches: leading zeros are not a number's value.
        let variants = [variant("1", Some("SKU-0O013"))]; // letter O for a zero
        let a = run(
            &variants,
            &[product("SKU-00013")],
            &[],
            &UnitsSold::default(),
        );
        assert_eq!(a.entries[0].class, Class::Unmatched, "numbers 0|13 vs 13");
        let variants = [variant("1", Some("SKUU-0013"))];
        let a = run(
            &variants,
            &[product("SKU-00013")],
            &[],
            &UnitsSold::default(),
        );
        assert_eq!(
            rows(&a)[0],
            ("fuzzy", s("SKUU-0013"), s("SKU-00013"), Some(0.875), 0)
        );
    }

    #[test]
    fn blank_skus_one_entry_per_variant_with_its_units() {
        let products = [product("A-1")];
        let mut gift = variant("9", None);
        gift.gift_card = true;
        let variants = [
            variant("1", None),
            variant("2", Some("")),
            variant("3", Some("  ")),
            gift,
            variant("4", Some("A-1")),
        ];
        let mut units = sold(&[("A-1", 1)]);
        units
            .blank_by_variant
            .insert("gid://shopify/ProductVariant/2".to_string(), 4);
        let a = run(&variants, &products, &[], &units);
        let blank: Vec<(Vec<String>, i64)> = a
            .entries
            .iter()
            .filter(|e| e.class == Class::Blank)
            .map(|e| (e.variant_ids.clone(), e.units_sold))
            .collect();
        assert_eq!(
            blank,
            vec![
                (vec!["gid://shopify/ProductVariant/1".to_string()], 0),
                (vec!["gid://shopify/ProductVariant/2".to_string()], 4),
                (vec!["gid://shopify/ProductVariant/3".to_string()], 0),
            ]
        );
        assert_eq!(a.summary.count(Class::Blank), 3);
        // Blank SKUs are not in the match rate; the gift card is not audited at all.
        assert_eq!(a.summary.match_rate, Some(1.0));
        assert_eq!(a.summary.variants, 4);
        assert_eq!(a.summary.variants_skipped, 1);
        // A blank-SKU variant that sells needs a person.
        assert!(a.needs_attention());
    }

    #[test]
    fn duplicates_on_either_side() {
        let mut twin = product("C-1");
        twin.id = "p-C-1-twin".to_string();
        let products = [product("A-1"), product("C-1"), twin];
        let variants = [
            variant("1", Some("A-1")),
            variant("2", Some("A-1")),
            variant("3", Some("C-1")),
        ];
        let a = run(&variants, &products, &[], &sold(&[("A-1", 3), ("C-1", 2)]));
        assert_eq!(
            rows(&a),
            vec![
                ("exact", s("A-1"), s("A-1"), Some(1.0), 3),
                ("exact", s("C-1"), s("C-1"), Some(1.0), 2),
                ("duplicate", None, s("C-1"), None, 2),
                ("duplicate", s("A-1"), s("A-1"), None, 3),
            ]
        );
        let shop_dup = &a.entries[3];
        assert_eq!(
            shop_dup.variant_ids,
            [
                "gid://shopify/ProductVariant/1",
                "gid://shopify/ProductVariant/2"
            ]
        );
        assert!(a.entries[2].detail.contains("p-C-1, p-C-1-twin"));
        // Duplicates are findings, not unmapped sales.
        assert!(!a.needs_attention());
    }

    #[test]
    fn unknown_skus_are_unmatched_and_unsold_products_are_listed() {
        let mut svc = product("SVC-1");
        svc.product_type = "Service".to_string();
        let mut old = product("OLD-1");
        old.status = "Deprecated".to_string();
        let products = [
            product("A-1"),
            product("B-22"),
            product("WHOLESALE-9"),
            svc,
            old,
        ];
        let variants = [
            variant("1", Some("A-1")),
            variant("2", Some("B-22")),
            variant("3", Some("SVC-1")),
            variant("4", Some("BUNDLE-STARTER")),
            variant("5", Some("OLD-1")),
        ];
        let a = run(
            &variants,
            &products,
            &[],
            &sold(&[("A-1", 4), ("SVC-1", 1), ("BUNDLE-STARTER", 2)]),
        );
        assert_eq!(
            rows(&a),
            vec![
                ("exact", s("A-1"), s("A-1"), Some(1.0), 4),
                ("exact", s("B-22"), s("B-22"), Some(1.0), 0),
                // An active service resolves (planning ignores it silently).
                ("exact", s("SVC-1"), s("SVC-1"), Some(1.0), 1),
                ("unmatched", s("BUNDLE-STARTER"), None, None, 2),
                // A deprecated product is no match target.
                ("unmatched", s("OLD-1"), None, None, 0),
                // Listed but never sold, and never listed; the service is not a stock product.
                ("unsold", None, s("B-22"), None, 0),
                ("unsold", None, s("WHOLESALE-9"), None, 0),
            ]
        );
        assert!(
            a.entries[5].detail.contains("\"B-22\""),
            "{}",
            a.entries[5].detail
        );
        assert_eq!(a.entries[6].detail, "no Shopify variant");
        assert_eq!(a.summary.match_rate, Some(0.6));
        assert!(
            a.needs_attention(),
            "BUNDLE-STARTER sells and maps to nothing"
        );
    }

    #[test]
    fn a_product_sold_under_a_misspelt_sku_is_not_unsold() {
        let products = [product("SKU-00012"), product("SKU-00013")];
        let variants = [
            variant("1", Some("sku-00012")),
            variant("2", Some("SKU-00013")),
        ];
        let a = run(&variants, &products, &[], &sold(&[("sku-00012", 3)]));
        let unsold: Vec<_> = a
            .entries
            .iter()
            .filter(|e| e.class == Class::Unsold)
            .map(|e| e.cin7_sku.clone())
            .collect();
        assert_eq!(unsold, vec![s("SKU-00013")]);
    }

    #[test]
    fn mapping_rows_that_point_at_nothing_are_dangling() {
        let mut old = product("OLD-1");
        old.status = "Deprecated".to_string();
        let products = [product("A-1"), product("B-2"), old];
        let variants = [variant("1", Some("A-1")), variant("2", Some("b2"))];
        let a = run(
            &variants,
            &products,
            &[
                ("A-1", "OLD-1"), // target deprecated
                ("b2", "NOPE"),   // target missing
                ("gone", "B-2"),  // no variant has "gone"
            ],
            &sold(&[("A-1", 2)]),
        );
        assert_eq!(
            rows(&a),
            vec![
                // The row is final: A-1 is not exact, although an active A-1 exists.
                ("normalized", s("A-1"), s("A-1"), Some(1.0), 2),
                ("normalized", s("b2"), s("B-2"), Some(1.0), 0),
                // b2's sales would be B-2's as its suggestion; it sold nothing.
                ("unsold", None, s("B-2"), None, 0),
                ("dangling_mapping", s("A-1"), s("OLD-1"), None, 2),
                ("dangling_mapping", s("b2"), s("NOPE"), None, 0),
                ("dangling_mapping", s("gone"), s("B-2"), None, 0),
            ]
        );
        assert!(a.entries[3].detail.contains("no active Cin7 product"));
        assert!(a.entries[5].detail.contains("no Shopify variant"));
        assert_eq!(a.summary.count(Class::DanglingMapping), 3);
        assert_eq!(a.summary.match_rate, Some(0.0));
    }

    #[test]
    fn archived_variants_count_only_when_they_sold() {
        let products = [product("A-1")];
        let mut gone = variant("1", Some("OLD-9"));
        gone.product_status = "ARCHIVED".to_string();
        let mut sold_out = variant("2", Some("OLD-8"));
        sold_out.product_status = "archived".to_string();
        let variants = [gone, sold_out, variant("3", Some("A-1"))];
        let a = run(
            &variants,
            &products,
            &[],
            &sold(&[("OLD-8", 1), ("A-1", 1)]),
        );
        let skus: Vec<_> = a.entries.iter().map(|e| e.shopify_sku.clone()).collect();
        assert_eq!(skus, vec![s("A-1"), s("OLD-8")]);
        assert_eq!(a.summary.variants_skipped, 1);
    }

    #[test]
    fn template_rows_are_mappings_and_suggestions() {
        let products = [product("A-1"), product("TEE-BLK-003"), product("C-3")];
        let variants = [
            variant("1", Some("A-1")),
            variant("2", Some("tee blk 003")),
            variant("3", Some("TEE-BKL-003")),
            variant("4", Some("mapped-c")),
            variant("5", Some("NOWHERE")),
        ];
        let a = run(
            &variants,
            &products,
            &[("mapped-c", "C-3")],
            &UnitsSold::default(),
        );
        let t: Vec<(Option<String>, Option<String>, Class)> = a
            .template_rows()
            .into_iter()
            .map(|e| (e.shopify_sku.clone(), e.cin7_sku.clone(), e.class))
            .collect();
        assert_eq!(
            t,
            vec![
                (s("TEE-BKL-003"), s("TEE-BLK-003"), Class::Fuzzy),
                (s("mapped-c"), s("C-3"), Class::Mapped),
                (s("tee blk 003"), s("TEE-BLK-003"), Class::Normalized),
            ]
        );
    }

    #[test]
    fn units_follow_the_order_rules_and_the_window() {
        let window = Window::new(d("2024-06-01"), 28, Tz::UTC);
        let mut test = order("2", "2024-05-10T12:00:00Z", vec![line("A", 5)]);
        test.test = true;
        let mut pending = order("3", "2024-05-10T12:00:00Z", vec![line("A", 5)]);
        pending.financial_status = "PENDING".to_string();
        let mut gift = line("A", 7);
        gift.is_gift_card = true;
        let mut blank = line("", 2);
        blank.variant_id = Some("v-blank".to_string());
        let mut no_variant = line(" ", 9);
        no_variant.sku = Some(" ".to_string());
        let orders = vec![
            order(
                "1",
                "2024-05-10T12:00:00Z",
                vec![line("A", 2), line("B", 1), gift, blank, no_variant],
            ),
            test,
            pending,
            order("4", "2024-06-01T12:00:00Z", vec![line("A", 5)]), // today: outside
            order("5", "2024-05-31T12:00:00Z", vec![line("A", 1)]),
        ];
        let sales = Sales::from_orders(&orders);
        let by_sku = units_by_sku(&sales, &window);
        assert_eq!(
            by_sku,
            BTreeMap::from([("A".to_string(), 3), ("B".to_string(), 1)])
        );
        let blank = blank_units_by_variant(&orders, &window);
        assert_eq!(blank, BTreeMap::from([("v-blank".to_string(), 2)]));
    }

    #[test]
    fn output_is_deterministic_whatever_the_input_order() {
        let products = [product("B-2"), product("A-1"), product("TEE-BLK-003")];
        let mut variants = vec![
            variant("3", Some("tee-blk-003")),
            variant("1", Some("A-1")),
            variant("2", None),
            variant("4", Some("A-1")),
        ];
        let a = run(&variants, &products, &[], &UnitsSold::default());
        variants.reverse();
        let mut reversed = products.to_vec();
        reversed.reverse();
        let b = run(&variants, &reversed, &[], &UnitsSold::default());
        assert_eq!(a, b);
        let classes: Vec<Class> = a.entries.iter().map(|e| e.class).collect();
        let mut sorted = classes.clone();
        sorted.sort();
        assert_eq!(classes, sorted);
    }

    #[test]
    fn large_catalogs_stay_fast() {
        // 10,000 Cin7 SKUs and 10,000 unresolved Shopify SKUs, all in one digit-free block.
        let word = |mut i: usize| -> String {
            let mut s = String::new();
            for _ in 0..8 {
                s.push((b'A' + (i % 26) as u8) as char);
                i /= 26;
            }
            s
        };
        let products: Vec<Product> = (0..10_000).map(|i| product(&word(i * 7919))).collect();
        let variants: Vec<Variant> = (0..10_000)
            .map(|i| variant(&i.to_string(), Some(&format!("X{}", word(i * 104_729)))))
            .collect();
        let started = std::time::Instant::now();
        let a = run(&variants, &products, &[], &UnitsSold::default());
        assert_eq!(a.summary.shopify_skus, 10_000);
        // Generous for an unoptimized build on a shared machine; release runs in milliseconds.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }
}
