//! Small numeric tools the planning modules share: the tolerant ceiling of docs/planning.md,
//! exact order-independent sums of Cin7 quantities, clean zeros for output, a fast-hashing map
//! (`rustc-hash`) for the planner's string-keyed maps, and Cin7's money arithmetic for a line
//! (quantity as a decimal, `Total` rounded to cents). Pure functions, no IO.
//!
//! Decision (planning.md is silent): quantities from Cin7 (availability rows, draft lines) are
//! summed on a fixed-point grid of 1e-9 units (`QtySum`) rather than in f64. Cin7 keeps four
//! decimal places, so the sum is exact and, unlike an f64 sum, does not depend on the order the
//! rows arrive in: the same store always prints the same bytes, and 0.1 + 0.2 − 0.3 is 0, not a
//! "negative available" of −5.6e-17.

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

use rust_decimal::{Decimal, RoundingStrategy};

/// The absolute tolerance of the quantity ceilings: ⌈4.0000000001⌉ = 4.
pub const CEIL_TOLERANCE: f64 = 1e-9;

/// ⌈x⌉ with an absolute tolerance of [`CEIL_TOLERANCE`]: a value within 1e-9 of a whole number is
/// that whole number. Never returns −0.
pub fn ceil_tol(x: f64) -> f64 {
    let nearest = x.round();
    let c = if (x - nearest).abs() <= CEIL_TOLERANCE {
        nearest
    } else {
        x.ceil()
    };
    clean(c)
}

/// Turns −0.0 into 0.0 (so JSON never says `-0.0`); every other value is returned unchanged.
pub fn clean(x: f64) -> f64 {
    x + 0.0
}

/// The shortest decimal that round-trips to `f` (Rust's `Display` for f64 is exactly that).
pub fn decimal_from_f64(f: f64) -> Option<Decimal> {
    if !f.is_finite() {
        return None;
    }
    let text = format!("{f}");
    text.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_scientific(&text).ok())
}

/// A line's `Total`: `quantity × price` rounded to 2 decimal places, half away from zero, exactly
/// as Cin7 validates it (no discount, no tax). `None` when the product overflows a `Decimal`.
pub fn line_total(quantity: Decimal, price: Decimal) -> Option<Decimal> {
    quantity
        .checked_mul(price)
        .map(|t| t.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

/// Scale of the fixed-point grid quantities are summed on.
const SCALE: f64 = 1e9;

/// An exact, order-independent sum of decimal quantities (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QtySum(i128);

impl QtySum {
    /// Adds one quantity (non-finite values are ignored: they cannot come from Cin7).
    pub fn add(&mut self, v: f64) {
        if v.is_finite() {
            // `as` saturates; quantities are far inside i128 at this scale.
            self.0 += (v * SCALE).round() as i128;
        }
    }

    /// Adds another sum.
    pub fn add_sum(&mut self, other: QtySum) {
        self.0 += other.0;
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The sum as f64 (the correctly rounded value of the exact sum).
    pub fn value(self) -> f64 {
        clean(self.0 as f64 / SCALE)
    }
}

/// A `HashMap` with the Fx hash (`rustc-hash`, as used by rustc): fast and non-cryptographic. The
/// planner's maps are keyed by SKUs and location names from the merchant's own systems, so hash
/// flooding is not a concern.
pub type FxMap<K, V> = HashMap<K, V, FxBuildHasher>;

/// An empty [`FxMap`] with room for `n` entries.
pub fn fx_map<K, V>(n: usize) -> FxMap<K, V> {
    FxMap::with_capacity_and_hasher(n, FxBuildHasher)
}

/// A string of at most 31 bytes packed into four words, for hash keys that compare without a
/// pointer chase (a SKU lookup in a large table otherwise costs a cache miss on the key's bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShortKey([u64; 4]);

impl ShortKey {
    /// The packed key, or `None` when `s` is longer than 31 bytes.
    #[inline]
    pub fn new(s: &str) -> Option<ShortKey> {
        let b = s.as_bytes();
        if b.len() > 31 {
            return None;
        }
        let mut buf = [0u8; 32];
        buf[..b.len()].copy_from_slice(b);
        buf[31] = b.len() as u8;
        let mut words = [0u64; 4];
        for (w, chunk) in words.iter_mut().zip(buf.chunks_exact(8)) {
            let mut c = [0u8; 8];
            c.copy_from_slice(chunk);
            *w = u64::from_le_bytes(c);
        }
        Some(ShortKey(words))
    }
}

/// A string-keyed map that keeps short keys inline (see [`ShortKey`]) and long ones as `&str`.
#[derive(Debug, Clone)]
pub struct StrMap<'a, V> {
    short: FxMap<ShortKey, V>,
    long: FxMap<&'a str, V>,
}

impl<'a, V: Copy> StrMap<'a, V> {
    pub fn with_capacity(n: usize) -> StrMap<'a, V> {
        StrMap {
            short: fx_map(n),
            long: fx_map(0),
        }
    }

    /// Inserts or replaces.
    pub fn insert(&mut self, key: &'a str, value: V) {
        match ShortKey::new(key) {
            Some(k) => {
                self.short.insert(k, value);
            }
            None => {
                self.long.insert(key, value);
            }
        }
    }

    #[inline]
    pub fn get(&self, key: &str) -> Option<V> {
        match ShortKey::new(key) {
            Some(k) => self.short.get(&k).copied(),
            None => self.long.get(key).copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_tolerance() {
        // The contract's example: 4.0000000001 is within 1e-9 of 4, so ⌈⌉ = 4.
        assert_eq!(ceil_tol(4.000_000_000_1), 4.0);
        // 4.000000002 is 2e-9 above 4: outside the tolerance, so 5.
        assert_eq!(ceil_tol(4.000_000_002), 5.0);
        assert_eq!(ceil_tol(13.2), 14.0);
        assert_eq!(ceil_tol(3.999_999_999_9), 4.0);
        assert_eq!(ceil_tol(12.0), 12.0);
        // ⌈−0.3⌉ is −0 in IEEE; we print 0.
        assert!(ceil_tol(-0.3).is_sign_positive());
        assert_eq!(ceil_tol(-0.3), 0.0);
    }

    #[test]
    fn sums_are_exact_and_order_independent() {
        let mut a = QtySum::default();
        for v in [0.1, 0.2, -0.3] {
            a.add(v);
        }
        // In f64, 0.1 + 0.2 - 0.3 = 5.55e-17; on the grid it is exactly 0.
        assert!(a.is_zero());
        assert_eq!(a.value(), 0.0);
        let mut b = QtySum::default();
        let mut c = QtySum::default();
        let values = [1.2345, 7.0001, -2.5, 0.0003, 100.0];
        for v in values {
            b.add(v);
        }
        for v in values.iter().rev() {
            c.add(*v);
        }
        assert_eq!(b, c);
        // 1.2345 + 7.0001 − 2.5 + 0.0003 + 100 = 105.7349
        assert_eq!(b.value(), 105.7349);
    }

    #[test]
    fn clean_zero() {
        assert!(clean(-0.0).is_sign_positive());
        assert_eq!(clean(-1.5), -1.5);
    }

    #[test]
    fn short_keys_distinguish_lengths_and_bytes() {
        assert_eq!(ShortKey::new("AB"), ShortKey::new("AB"));
        assert_ne!(ShortKey::new("AB"), ShortKey::new("AB\0"));
        assert_ne!(ShortKey::new(""), ShortKey::new("\0"));
        assert!(ShortKey::new(&"x".repeat(31)).is_some());
        assert!(ShortKey::new(&"x".repeat(32)).is_none());
        let long = "L".repeat(40);
        let mut m: StrMap<'_, u32> = StrMap::with_capacity(4);
        m.insert("a", 1);
        m.insert(&long, 2);
        assert_eq!(m.get("a"), Some(1));
        assert_eq!(m.get(&long), Some(2));
        assert_eq!(m.get("b"), None);
        assert_eq!(m.get(&"L".repeat(39)), None);
    }

    #[test]
    fn fx_map_works_with_strings() {
        let mut m: FxMap<&str, u32> = fx_map(4);
        m.insert("SKU-1", 1);
        m.insert("SKU-2", 2);
        assert_eq!(m.get("SKU-1"), Some(&1));
        assert_eq!(m.get("SKU-3"), None);
    }
}
