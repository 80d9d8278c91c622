//! Key locations and pools: which Cin7 locations are planned, which stock counts for which key,
//! and where a Shopify order's demand lands. Checked against Cin7's location list, so the config
//! errors only visible with Cin7's data (an unknown or deprecated location in a pool, …) are
//! raised here as [`PlanError::Config`]. Pure: no IO.
//!
//! Rules (docs/planning.md): every Cin7 location is its own key unless ignored
//! (`locations.ignore`, or deprecated in Cin7) or a non-key member of a pool; a pool's key is
//! always a member; a pool naming an ignored or unknown location, a location in two pools, an
//! ignored `locations.default` and a `[locations.shopify]` value that is ignored are config errors.
//!
//! Decisions (planning.md is silent):
//! - A `locations.default` or `[locations.shopify]` value that is not a Cin7 location at all is a
//!   config error too: otherwise that demand would silently vanish from every plan.
//! - Cin7 location names are matched exactly (case and spaces matter), like SKUs.
//! - Two Cin7 location records with the same name are one location; it is deprecated only when
//!   every record of that name is.

use std::collections::{BTreeMap, BTreeSet};

use crate::core::model::Location;
use crate::core::num::{FxMap, fx_map};
use crate::core::plan::PlanError;
use crate::core::settings::LocationSettings;

/// The resolved location structure of one plan.
#[derive(Debug, Clone)]
pub struct Locations {
    /// Key location names, sorted (the order plan lines are printed in).
    pub keys: Vec<String>,
    /// Names of planned (not ignored) Cin7 locations, by member index.
    pub member_names: Vec<String>,
    /// Member indexes of each key's pool (the key itself first), by key index.
    pub members: Vec<Vec<usize>>,
    /// Planned Cin7 location name → (member index, key index).
    by_name: FxMap<String, (usize, usize)>,
    /// Shopify location gid → key index.
    shopify: FxMap<String, usize>,
    default_key: usize,
}

fn pool_key(pool: &str) -> String {
    format!("locations.pools.\"{pool}\"")
}

fn config_err(key: String, message: String) -> PlanError {
    PlanError::Config { key, message }
}

impl Locations {
    /// Resolves the configured locations against Cin7's location list.
    pub fn resolve(settings: &LocationSettings, cin7: &[Location]) -> Result<Locations, PlanError> {
        // name → deprecated (only when every record of the name is).
        let mut known: BTreeMap<&str, bool> = BTreeMap::new();
        for l in cin7 {
            known
                .entry(l.name.as_str())
                .and_modify(|d| *d = *d && l.deprecated)
                .or_insert(l.deprecated);
        }
        let why_ignored = |name: &str| -> Option<&'static str> {
            if settings.ignore.iter().any(|i| i == name) {
                Some("is listed in locations.ignore")
            } else if known.get(name).copied().unwrap_or(false) {
                Some("is deprecated in Cin7")
            } else {
                None
            }
        };
        let check_usable = |name: &str, key: &str| -> Result<(), PlanError> {
            if !known.contains_key(name) {
                return Err(config_err(
                    key.to_string(),
                    format!("\"{name}\" is not a Cin7 location"),
                ));
            }
            if let Some(why) = why_ignored(name) {
                return Err(config_err(
                    key.to_string(),
                    format!("\"{name}\" {why}, so it cannot be used here"),
                ));
            }
            Ok(())
        };

        // Pools: location → its pool's key.
        let mut pool_of: BTreeMap<&str, &str> = BTreeMap::new();
        for (pool, listed) in &settings.pools {
            let key = pool_key(pool);
            let mut all: Vec<&str> = vec![pool.as_str()];
            for m in listed {
                if !all.contains(&m.as_str()) {
                    all.push(m.as_str());
                }
            }
            for name in all {
                check_usable(name, &key)?;
                if let Some(other) = pool_of.get(name)
                    && *other != pool.as_str()
                {
                    return Err(config_err(
                        key,
                        format!(
                            "\"{name}\" is also in the pool \"{other}\"; a location can be in one pool only"
                        ),
                    ));
                }
                pool_of.insert(name, pool.as_str());
            }
        }

        // Keys: every planned location that is not a non-key pool member.
        let planned: Vec<&str> = known
            .keys()
            .copied()
            .filter(|n| why_ignored(n).is_none())
            .collect();
        let keys: Vec<String> = planned
            .iter()
            .filter(|n| pool_of.get(*n).is_none_or(|p| p == *n))
            .map(|n| n.to_string())
            .collect();
        let key_index: BTreeMap<&str, usize> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        let mut member_names = Vec::with_capacity(planned.len());
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); keys.len()];
        let mut by_name = fx_map(planned.len());
        for name in &planned {
            let key_name = pool_of.get(name).copied().unwrap_or(name);
            let Some(&k) = key_index.get(key_name) else {
                continue; // unreachable: a pool key is planned and a key
            };
            let m = member_names.len();
            member_names.push(name.to_string());
            members[k].push(m);
            by_name.insert(name.to_string(), (m, k));
        }
        // The key itself first, then the other members by name.
        for (k, list) in members.iter_mut().enumerate() {
            list.sort_by_key(|&m| (member_names[m] != keys[k], member_names[m].clone()));
        }

        check_usable(&settings.default, "locations.default")?;
        let default_key = by_name
            .get(settings.default.as_str())
            .map(|&(_, k)| k)
            .ok_or_else(|| {
                config_err(
                    "locations.default".to_string(),
                    format!("\"{}\" is not a planned Cin7 location", settings.default),
                )
            })?;

        let mut shopify = fx_map(settings.shopify.len());
        for (gid, name) in &settings.shopify {
            let key = format!("locations.shopify.\"{gid}\"");
            check_usable(name, &key)?;
            if let Some(&(_, k)) = by_name.get(name.as_str()) {
                shopify.insert(gid.clone(), k);
            }
        }

        Ok(Locations {
            keys,
            member_names,
            members,
            by_name,
            shopify,
            default_key,
        })
    }

    /// (member index, key index) of a planned Cin7 location; `None` for ignored or unknown ones.
    pub fn member(&self, cin7_name: &str) -> Option<(usize, usize)> {
        self.by_name.get(cin7_name).copied()
    }

    /// The key index a Cin7 location's stock and drafts count for.
    pub fn key_of(&self, cin7_name: &str) -> Option<usize> {
        self.member(cin7_name).map(|(_, k)| k)
    }

    /// Key index of a Shopify location gid, when it is mapped in `[locations.shopify]`.
    pub fn shopify_key(&self, gid: &str) -> Option<usize> {
        self.shopify.get(gid).copied()
    }

    /// Where an order's demand lands: its first fulfillment order's assigned location if mapped,
    /// else its retail location if mapped, else `locations.default` — then that location's key.
    pub fn order_key(&self, fulfillment: Option<&str>, retail: Option<&str>) -> usize {
        self.attributed_key(
            fulfillment.and_then(|g| self.shopify_key(g)),
            retail.and_then(|g| self.shopify_key(g)),
        )
    }

    /// [`Locations::order_key`] from the keys its two gids already resolved to.
    pub fn attributed_key(&self, fulfillment: Option<usize>, retail: Option<usize>) -> usize {
        fulfillment.or(retail).unwrap_or(self.default_key)
    }

    /// The key index of `locations.default`.
    pub fn default_key(&self) -> usize {
        self.default_key
    }

    /// Names of the members of key `k` (the key first).
    pub fn member_names_of(&self, k: usize) -> Vec<&str> {
        self.members
            .get(k)
            .map(|ms| ms.iter().map(|&m| self.member_names[m].as_str()).collect())
            .unwrap_or_default()
    }

    /// All planned Cin7 location names (members of some key), sorted.
    pub fn planned_names(&self) -> BTreeSet<&str> {
        self.member_names.iter().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(name: &str, deprecated: bool) -> Location {
        Location {
            id: format!("id-{name}"),
            name: name.to_string(),
            is_default: false,
            deprecated,
            parent_id: None,
        }
    }

    fn cin7() -> Vec<Location> {
        vec![
            loc("Main", false),
            loc("Overflow", false),
            loc("East", false),
            loc("Returns", false),
            loc("Old Depot", true),
        ]
    }

    fn settings() -> LocationSettings {
        LocationSettings {
            default: "Main".to_string(),
            ignore: vec!["Returns".to_string()],
            ..LocationSettings::default()
        }
    }

    fn err_key(r: Result<Locations, PlanError>) -> String {
        match r {
            Err(PlanError::Config { key, .. }) => key,
            Ok(_) => panic!("expected a config error"),
        }
    }

    #[test]
    fn ignored_and_deprecated_locations_are_not_keys() {
        let l = Locations::resolve(&settings(), &cin7()).unwrap_or_else(|e| panic!("{e}"));
        // Returns is ignored by config, Old Depot deprecated in Cin7.
        assert_eq!(l.keys, vec!["East", "Main", "Overflow"]);
        assert_eq!(l.key_of("Returns"), None);
        assert_eq!(l.key_of("Old Depot"), None);
        assert_eq!(l.key_of("Nowhere"), None);
    }

    #[test]
    fn pools_fold_members_into_the_key_which_is_always_a_member() {
        let mut s = settings();
        // The key "Main" is not listed among its members: it is one all the same.
        s.pools
            .insert("Main".to_string(), vec!["Overflow".to_string()]);
        let l = Locations::resolve(&s, &cin7()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(l.keys, vec!["East", "Main"]);
        let main = l.key_of("Main");
        assert_eq!(l.key_of("Overflow"), main);
        assert_eq!(l.member_names_of(1), vec!["Main", "Overflow"]);
        assert_eq!(l.member_names_of(0), vec!["East"]);
    }

    #[test]
    fn pool_errors_name_the_pool() {
        let mut s = settings();
        s.pools
            .insert("Main".to_string(), vec!["Nowhere".to_string()]);
        assert_eq!(
            err_key(Locations::resolve(&s, &cin7())),
            "locations.pools.\"Main\""
        );
        let mut s = settings();
        s.pools
            .insert("Main".to_string(), vec!["Old Depot".to_string()]);
        assert_eq!(
            err_key(Locations::resolve(&s, &cin7())),
            "locations.pools.\"Main\""
        );
        let mut s = settings();
        s.pools.insert("Returns".to_string(), vec![]);
        assert_eq!(
            err_key(Locations::resolve(&s, &cin7())),
            "locations.pools.\"Returns\""
        );
        // Overflow in two pools: the second pool (in key order) is named.
        let mut s = settings();
        s.pools
            .insert("East".to_string(), vec!["Overflow".to_string()]);
        s.pools
            .insert("Main".to_string(), vec!["Overflow".to_string()]);
        assert_eq!(
            err_key(Locations::resolve(&s, &cin7())),
            "locations.pools.\"Main\""
        );
        // A pool key that is a member of another pool.
        let mut s = settings();
        s.pools.insert("East".to_string(), vec!["Main".to_string()]);
        s.pools.insert("Main".to_string(), vec![]);
        assert_eq!(
            err_key(Locations::resolve(&s, &cin7())),
            "locations.pools.\"Main\""
        );
    }

    #[test]
    fn default_and_shopify_must_be_planned_locations() {
        let mut s = settings();
        s.default = "Old Depot".to_string();
        assert_eq!(
            err_key(Locations::resolve(&s, &cin7())),
            "locations.default"
        );
        let mut s = settings();
        s.default = "Nowhere".to_string();
        assert_eq!(
            err_key(Locations::resolve(&s, &cin7())),
            "locations.default"
        );
        let mut s = settings();
        s.shopify.insert(
            "gid://shopify/Location/7".to_string(),
            "Old Depot".to_string(),
        );
        assert_eq!(
            err_key(Locations::resolve(&s, &cin7())),
            "locations.shopify.\"gid://shopify/Location/7\""
        );
    }

    #[test]
    fn order_location_attribution_order() {
        let mut s = settings();
        s.shopify
            .insert("gid://shopify/Location/1".to_string(), "East".to_string());
        s.shopify.insert(
            "gid://shopify/Location/2".to_string(),
            "Overflow".to_string(),
        );
        s.pools
            .insert("Main".to_string(), vec!["Overflow".to_string()]);
        let l = Locations::resolve(&s, &cin7()).unwrap_or_else(|e| panic!("{e}"));
        let east = l.key_of("East");
        let main = l.key_of("Main");
        let g1 = Some("gid://shopify/Location/1");
        let g2 = Some("gid://shopify/Location/2");
        let unmapped = Some("gid://shopify/Location/99");
        // Fulfillment location wins when mapped.
        assert_eq!(Some(l.order_key(g1, g2)), east);
        // Unmapped fulfillment location → retail location; Overflow → its key Main.
        assert_eq!(Some(l.order_key(unmapped, g2)), main);
        assert_eq!(Some(l.order_key(None, g1)), east);
        // Neither mapped → default.
        assert_eq!(Some(l.order_key(unmapped, unmapped)), main);
        assert_eq!(l.order_key(None, None), l.default_key());
    }
}
