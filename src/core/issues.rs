//! Issues: things a person should know about, one per (kind, SKU, location), sorted by kind, SKU,
//! location (null first). Pure: no IO.
//!
//! Decisions (planning.md is silent):
//! - `missing_supplier`, `missing_lead_time` and `negative_available` are raised only for units
//!   that appear in the plan's lines (the `--all` set); a dormant product with no supplier, no
//!   stock and no sales raises nothing.
//! - When two issues share (kind, SKU, location), the first detail written is kept.
//! - `stale_data` fires when the newest snapshot is strictly older than
//!   `policy.max_data_age_minutes`, or when there is no snapshot.

use std::collections::BTreeMap;

use crate::core::plan::Issue;

pub const UNMAPPED_SKU: &str = "unmapped_sku";
pub const MISSING_SUPPLIER: &str = "missing_supplier";
pub const MISSING_LEAD_TIME: &str = "missing_lead_time";
pub const NEGATIVE_AVAILABLE: &str = "negative_available";
pub const STALE_DATA: &str = "stale_data";

/// Issues being collected, kept unique and sorted.
#[derive(Debug, Default, Clone)]
pub struct Issues {
    by_key: BTreeMap<(&'static str, Option<String>, Option<String>), String>,
}

impl Issues {
    pub fn add(
        &mut self,
        kind: &'static str,
        sku: Option<&str>,
        location: Option<&str>,
        detail: String,
    ) {
        self.by_key
            .entry((kind, sku.map(str::to_string), location.map(str::to_string)))
            .or_insert(detail);
    }

    pub fn into_vec(self) -> Vec<Issue> {
        self.by_key
            .into_iter()
            .map(|((kind, sku, location), detail)| Issue {
                kind: kind.to_string(),
                sku,
                location,
                detail,
            })
            .collect()
    }
}

/// The `stale_data` issue, when the data is too old (or there is none).
pub fn stale_data(age_minutes: Option<f64>, max_minutes: u64) -> Option<String> {
    match age_minutes {
        None => Some("no availability snapshot has been taken: run `replenish sync`".to_string()),
        Some(age) if age > max_minutes as f64 => Some(format!(
            "the newest availability snapshot is {age:.0} minutes old (policy.max_data_age_minutes = {max_minutes})"
        )),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_by_kind_sku_location_null_first_and_unique() {
        let mut i = Issues::default();
        i.add(NEGATIVE_AVAILABLE, Some("B"), Some("Main"), "b".into());
        i.add(UNMAPPED_SKU, Some("x"), None, "x".into());
        i.add(UNMAPPED_SKU, None, None, "blank".into());
        i.add(MISSING_SUPPLIER, Some("A"), Some("Main"), "first".into());
        i.add(MISSING_SUPPLIER, Some("A"), Some("Main"), "second".into());
        i.add(MISSING_SUPPLIER, Some("A"), Some("East"), "east".into());
        i.add(STALE_DATA, None, None, "old".into());
        let v = i.into_vec();
        let keys: Vec<(&str, Option<&str>, Option<&str>)> = v
            .iter()
            .map(|x| (x.kind.as_str(), x.sku.as_deref(), x.location.as_deref()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("missing_supplier", Some("A"), Some("East")),
                ("missing_supplier", Some("A"), Some("Main")),
                ("negative_available", Some("B"), Some("Main")),
                ("stale_data", None, None),
                ("unmapped_sku", None, None),
                ("unmapped_sku", Some("x"), None),
            ]
        );
        assert_eq!(v[1].detail, "first");
    }

    #[test]
    fn stale_rule() {
        assert!(stale_data(None, 180).is_some());
        assert!(stale_data(Some(181.0), 180).is_some());
        assert!(stale_data(Some(180.0), 180).is_none());
        assert!(stale_data(Some(0.0), 180).is_none());
    }
}
