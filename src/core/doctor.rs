//! `replenish doctor`'s vocabulary and its pure judgements: a check's outcome, the report's exit
//! code, and whether the configured locations (`locations.default`, `ignore`, pools, the Shopify →
//! Cin7 mapping) name locations that exist on both sides. Pure: the app fetches both sides'
//! locations and passes them in.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Works.
    Ok,
    /// Works, with a caveat worth reading (a scope only some commands need, stale data, …).
    Warn,
    /// Not checked, because something it depends on failed first.
    Skipped,
    /// A service could not be reached (network, timeout, 5xx): nothing to fix in the config.
    Unreachable,
    /// The configuration, a credential or a scope must be fixed.
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What area it belongs to: `config`, `secret`, `cin7`, `shopify`, `scope`, `location`,
    /// `store`, `lock`, `alerts`.
    pub area: &'static str,
    pub status: Status,
    /// What was found, for a person.
    pub detail: String,
    /// How to fix it (for `Warn`, `Fail` and `Unreachable`).
    pub fix: Option<String>,
}

impl Check {
    pub fn new(area: &'static str, status: Status, detail: impl Into<String>) -> Check {
        Check {
            area,
            status,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn ok(area: &'static str, detail: impl Into<String>) -> Check {
        Check::new(area, Status::Ok, detail)
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

/// Every check, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The config file checked, when one was found.
    pub config: Option<String>,
    pub checks: Vec<Check>,
    pub exit_code: u8,
}

impl Report {
    pub fn new(config: Option<String>, checks: Vec<Check>) -> Report {
        let exit_code = exit_code(&checks);
        Report {
            config,
            checks,
            exit_code,
        }
    }
}

/// 2 when something must be fixed (configuration, credential, scope) — that comes first, since
/// it stays broken once the network is back; else 1 when a service could not be reached; else 0
/// (warnings included).
pub fn exit_code(checks: &[Check]) -> u8 {
    if checks.iter().any(|c| c.status == Status::Fail) {
        2
    } else if checks.iter().any(|c| c.status == Status::Unreachable) {
        1
    } else {
        0
    }
}

/// What [`location_checks`] needs: the configured names, and each side's locations when they
/// could be read (`None`: not checked on that side).
#[derive(Debug, Clone, Copy)]
pub struct LocationInputs<'a> {
    pub default: &'a str,
    pub ignore: &'a [String],
    pub pools: &'a BTreeMap<String, Vec<String>>,
    /// Shopify location gid → Cin7 location name.
    pub mapping: &'a BTreeMap<String, String>,
    /// Cin7 locations: (name, deprecated).
    pub cin7: Option<&'a [(String, bool)]>,
    /// Shopify locations: (gid, name, active).
    pub shopify: Option<&'a [(String, String, bool)]>,
}

/// Whether each configured location exists where it must: the default, every pool key and
/// member and every mapping target in Cin7 (and not deprecated); every mapped Shopify id in
/// Shopify (and active). An `ignore` entry Cin7 does not have is only a warning.
pub fn location_checks(i: &LocationInputs<'_>) -> Vec<Check> {
    let mut out = Vec::new();
    if let Some(cin7) = i.cin7 {
        let known: BTreeMap<&str, bool> = cin7.iter().map(|(n, d)| (n.as_str(), *d)).collect();
        let names = || {
            let mut all: Vec<&str> = known
                .iter()
                .filter(|(_, d)| !**d)
                .map(|(n, _)| *n)
                .collect();
            all.sort_unstable();
            all.join(", ")
        };
        let mut cin7_check = |what: String, name: &str| match known.get(name) {
            Some(false) => out.push(Check::ok(
                "location",
                format!("{what} {name:?} is a Cin7 location"),
            )),
            Some(true) => out.push(
                Check::new(
                    "location",
                    Status::Fail,
                    format!("{what} {name:?} is deprecated in Cin7"),
                )
                .with_fix(format!("name a live Cin7 location (one of: {})", names())),
            ),
            None => out.push(
                Check::new(
                    "location",
                    Status::Fail,
                    format!("{what} {name:?} is not a Cin7 location"),
                )
                .with_fix(format!(
                    "use the name exactly as Cin7 spells it (one of: {})",
                    names()
                )),
            ),
        };
        cin7_check("locations.default".to_string(), i.default);
        for (key, members) in i.pools {
            let mut seen = BTreeSet::new();
            for name in std::iter::once(key).chain(members.iter()) {
                if seen.insert(name.as_str()) {
                    cin7_check(format!("locations.pools.{key:?}:"), name);
                }
            }
        }
        let mut targets = BTreeSet::new();
        for target in i.mapping.values() {
            if targets.insert(target.as_str()) {
                cin7_check("[locations.shopify] target".to_string(), target);
            }
        }
        for name in i.ignore {
            if !known.contains_key(name.as_str()) {
                out.push(
                    Check::new(
                        "location",
                        Status::Warn,
                        format!("locations.ignore names {name:?}, which Cin7 does not have"),
                    )
                    .with_fix("remove it, or spell it as Cin7 does"),
                );
            }
        }
    }
    if let Some(shopify) = i.shopify {
        let known: BTreeMap<&str, (&str, bool)> = shopify
            .iter()
            .map(|(gid, name, active)| (gid.as_str(), (name.as_str(), *active)))
            .collect();
        for (gid, target) in i.mapping {
            match known.get(gid.as_str()) {
                Some((name, true)) => out.push(Check::ok(
                    "location",
                    format!("Shopify location {gid} ({name:?}) → Cin7 {target:?}"),
                )),
                Some((name, false)) => out.push(
                    Check::new(
                        "location",
                        Status::Warn,
                        format!("Shopify location {gid} ({name:?}) is inactive in Shopify"),
                    )
                    .with_fix("keep the mapping while old orders from it are in the window; remove it after"),
                ),
                None => {
                    let mut listed: Vec<String> = shopify
                        .iter()
                        .map(|(g, n, _)| format!("{g} ({n})"))
                        .collect();
                    listed.sort();
                    out.push(
                        Check::new(
                            "location",
                            Status::Fail,
                            format!("[locations.shopify] maps {gid}, which is not a Shopify location of this shop"),
                        )
                        .with_fix(format!("use an id Shopify lists: {}", listed.join(", "))),
                    );
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> String {
        v.to_string()
    }

    #[test]
    fn configuration_problems_outrank_unreachable_services() {
        let c = |status| Check::new("x", status, "");
        assert_eq!(exit_code(&[c(Status::Ok), c(Status::Warn)]), 0);
        assert_eq!(exit_code(&[c(Status::Ok), c(Status::Unreachable)]), 1);
        assert_eq!(
            exit_code(&[c(Status::Unreachable), c(Status::Fail), c(Status::Skipped)]),
            2
        );
        assert_eq!(exit_code(&[]), 0);
    }

    #[test]
    fn locations_are_checked_on_both_sides() {
        let pools = BTreeMap::from([(s("Main"), vec![s("Overflow"), s("Gone")])]);
        let mapping = BTreeMap::from([
            (s("gid://shopify/Location/1"), s("Main")),
            (s("gid://shopify/Location/2"), s("Old Depot")),
            (s("gid://shopify/Location/9"), s("Main")),
        ]);
        let cin7 = vec![
            (s("Main"), false),
            (s("Overflow"), false),
            (s("Old Depot"), true),
        ];
        let shopify = vec![
            (s("gid://shopify/Location/1"), s("Web"), true),
            (s("gid://shopify/Location/2"), s("Closed shop"), false),
        ];
        let ignore = vec![s("Returns")];
        let checks = location_checks(&LocationInputs {
            default: "Main",
            ignore: &ignore,
            pools: &pools,
            mapping: &mapping,
            cin7: Some(&cin7),
            shopify: Some(&shopify),
        });
        let lines: Vec<(Status, &str)> = checks
            .iter()
            .map(|c| (c.status, c.detail.as_str()))
            .collect();
        assert_eq!(
            lines,
            vec![
                (Status::Ok, "locations.default \"Main\" is a Cin7 location"),
                (
                    Status::Ok,
                    "locations.pools.\"Main\": \"Main\" is a Cin7 location"
                ),
                (
                    Status::Ok,
                    "locations.pools.\"Main\": \"Overflow\" is a Cin7 location"
                ),
                (
                    Status::Fail,
                    "locations.pools.\"Main\": \"Gone\" is not a Cin7 location"
                ),
                (
                    Status::Ok,
                    "[locations.shopify] target \"Main\" is a Cin7 location"
                ),
                (
                    Status::Fail,
                    "[locations.shopify] target \"Old Depot\" is deprecated in Cin7"
                ),
                (
                    Status::Warn,
                    "locations.ignore names \"Returns\", which Cin7 does not have"
                ),
                (
                    Status::Ok,
                    "Shopify location gid://shopify/Location/1 (\"Web\") → Cin7 \"Main\""
                ),
                (
                    Status::Warn,
                    "Shopify location gid://shopify/Location/2 (\"Closed shop\") is inactive in Shopify"
                ),
                (
                    Status::Fail,
                    "[locations.shopify] maps gid://shopify/Location/9, which is not a Shopify location of this shop"
                ),
            ]
        );
        assert_eq!(
            checks[3].fix.as_deref(),
            Some("use the name exactly as Cin7 spells it (one of: Main, Overflow)")
        );
        // A side that could not be read is not judged.
        assert!(
            location_checks(&LocationInputs {
                default: "Nowhere",
                ignore: &ignore,
                pools: &pools,
                mapping: &mapping,
                cin7: None,
                shopify: None,
            })
            .is_empty()
        );
    }
}
