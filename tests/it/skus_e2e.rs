//! `skus` end to end: the audit of a synced sandbox checked against the sandbox's ground truth
//! (every seeded mismatch found in the right class, no false exact match), the mapping table's
//! classes, and the binary's JSON shape, exit codes and template file.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use replenish::app::skus::{audit_skus, audit_variants, fetch_variants};
use replenish::clock::Clock;
use replenish::core::skumatch::{Audit, Class, Entry};
use replenish::output::progress::Progress;
use replenish::sandbox::{SandboxHandle, SandboxOptions, VariantTruth};
use serde_json::Value;

use crate::common::sandbox::{FAST_RETRIES, binary_config_with, start_world, world};
use crate::common::{first_sync, sandbox_state, t0};

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
}

async fn start(skus: usize, mismatch_rate: f64) -> SandboxHandle {
    start_world(SandboxOptions {
        mismatch_rate,
        ..world(skus, 2)
    })
    .await
}

fn of_class(audit: &Audit, class: Class) -> Vec<&Entry> {
    audit.entries.iter().filter(|e| e.class == class).collect()
}

/// The resolution entry (exact, mapped, normalized, fuzzy or unmatched) of each Shopify SKU.
fn resolution(audit: &Audit) -> BTreeMap<&str, &Entry> {
    audit
        .entries
        .iter()
        .filter(|e| {
            matches!(
                e.class,
                Class::Exact | Class::Mapped | Class::Normalized | Class::Fuzzy | Class::Unmatched
            )
        })
        .filter_map(|e| e.shopify_sku.as_deref().map(|s| (s, e)))
        .collect()
}

fn blank(v: &VariantTruth) -> bool {
    v.sku.as_deref().is_none_or(|s| s.trim().is_empty())
}

#[tokio::test]
async fn the_audit_finds_every_seeded_mismatch_in_its_class() {
    let handle = start(500, 0.10).await;
    let dir = tempfile::tempdir().unwrap();
    // Before any sync the store has no Cin7 products: a usage error, before any request.
    let empty = crate::common::sandbox_settings(&handle, &dir.path().join("empty.db"));
    let store = replenish::store::Store::open(&empty.store.path).unwrap();
    let err = audit_skus(
        &empty,
        &store,
        as_of(),
        Clock::starting_at(t0()),
        &Progress::hidden(),
    )
    .await
    .unwrap_err();
    assert!(
        err.downcast_ref::<replenish::app::UsageError>().is_some(),
        "{err:#}"
    );
    assert!(
        format!("{err}").contains("run `replenish sync` first"),
        "{err}"
    );
    let (mut settings, store, _) = first_sync(&handle, dir.path()).await;
    let before = sandbox_state(&handle).await["requests"]["shopify productVariants"]
        .as_u64()
        .unwrap_or(0);
    let variants = fetch_variants(&settings, Clock::starting_at(t0()), &Progress::hidden())
        .await
        .unwrap();
    let audit = audit_variants(&settings, &store, as_of(), &variants).unwrap();
    let truth = handle.variant_truth();
    let state = sandbox_state(&handle).await;
    let res = resolution(&audit);
    let s = &audit.summary;
    eprintln!(
        "sandbox 500 SKUs, mismatch rate 0.10: match rate {:?} ({} of {} Shopify SKUs); counts {:?}",
        s.match_rate, s.resolved, s.shopify_skus, s.counts
    );

    // Pages of 250 variants, nothing throttled.
    let pages = state["requests"]["shopify productVariants"]
        .as_u64()
        .unwrap_or(0)
        - before;
    assert_eq!(pages, (truth.len() as u64).div_ceil(250), "{pages} pages");

    // Every seeded mismatch is normalized, suggesting the product it really is.
    let mismatched: Vec<&VariantTruth> = truth.iter().filter(|v| v.mismatched).collect();
    assert!(mismatched.len() >= 30, "{} seeded", mismatched.len());
    for v in &mismatched {
        let sku = v.sku.as_deref().unwrap();
        let e = res
            .get(sku)
            .unwrap_or_else(|| panic!("seeded mismatch {sku:?} not in the audit"));
        assert_eq!(e.class, Class::Normalized, "{sku:?}: {e:?}");
        assert_eq!(e.cin7_sku, v.cin7_sku, "{sku:?}");
        assert_eq!(e.score, Some(1.0));
        assert!(e.variant_ids.contains(&v.id), "{sku:?}");
    }
    // ... and nothing else is: the normalized class is exactly the seeded set, with no fuzzy
    // guesses (the sandbox seeds none).
    let seeded: BTreeSet<&str> = mismatched.iter().filter_map(|v| v.sku.as_deref()).collect();
    let normalized: BTreeSet<&str> = of_class(&audit, Class::Normalized)
        .iter()
        .filter_map(|e| e.shopify_sku.as_deref())
        .collect();
    assert_eq!(normalized, seeded);
    assert!(of_class(&audit, Class::Fuzzy).is_empty());

    // No false exact match: every variant carrying an exact SKU really is that active product.
    for e in of_class(&audit, Class::Exact) {
        let sku = e.shopify_sku.as_deref().unwrap();
        assert_eq!(e.cin7_sku.as_deref(), Some(sku));
        for v in truth.iter().filter(|v| v.sku.as_deref() == Some(sku)) {
            assert!(!v.mismatched, "{sku:?} is a seeded mismatch classed exact");
            assert_eq!(v.cin7_sku.as_deref(), Some(sku), "{sku:?}");
            assert!(v.cin7_active, "{sku:?}");
        }
    }
    // And every variant of an active product spelled as in Cin7 is exact (services included).
    for v in truth
        .iter()
        .filter(|v| !v.mismatched && v.cin7_active && !v.gift_card)
    {
        let sku = v.sku.as_deref().unwrap();
        assert_eq!(res.get(sku).map(|e| e.class), Some(Class::Exact), "{sku:?}");
    }

    // Shopify-only items: blank SKUs one by one, the others unmatched; gift cards left out.
    let blanks: BTreeSet<&str> = of_class(&audit, Class::Blank)
        .iter()
        .flat_map(|e| e.variant_ids.iter().map(String::as_str))
        .collect();
    let want_blanks: BTreeSet<&str> = truth
        .iter()
        .filter(|v| blank(v) && !v.gift_card)
        .map(|v| v.id.as_str())
        .collect();
    assert_eq!(blanks, want_blanks);
    assert!(want_blanks.len() >= 2);
    let mut unknown = 0;
    for v in truth
        .iter()
        .filter(|v| v.cin7_sku.is_none() && !blank(v) && !v.gift_card)
    {
        let sku = v.sku.as_deref().unwrap();
        let e = res
            .get(sku)
            .unwrap_or_else(|| panic!("{sku:?} not audited"));
        assert_eq!(
            (e.class, e.cin7_sku.as_deref()),
            (Class::Unmatched, None),
            "{sku:?}"
        );
        unknown += 1;
    }
    assert!(unknown >= 4);
    for v in truth.iter().filter(|v| v.gift_card) {
        assert!(
            audit.entries.iter().all(|e| !e.variant_ids.contains(&v.id)),
            "gift card {:?} audited",
            v.sku
        );
    }
    // Variants of deprecated products (archived in Shopify; not in the store) are unmatched when
    // they sold, and left out when they did not.
    for v in truth
        .iter()
        .filter(|v| v.cin7_sku.is_some() && !v.cin7_active)
    {
        let sku = v.sku.as_deref().unwrap();
        if let Some(e) = res.get(sku) {
            assert_eq!(e.class, Class::Unmatched, "{sku:?}");
            assert!(e.units_sold > 0, "{sku:?}");
        }
    }

    // The bundle listing: one SKU on two variants.
    let dups: Vec<&Entry> = of_class(&audit, Class::Duplicate);
    assert_eq!(dups.len(), 1, "{dups:?}");
    assert_eq!(dups[0].variant_ids.len(), 2);
    assert_eq!(dups[0].shopify_sku, dups[0].cin7_sku);

    // Active stock products no variant lists (wholesale only) never sold: unsold.
    let listed: BTreeSet<&str> = truth.iter().filter_map(|v| v.cin7_sku.as_deref()).collect();
    let unsold: BTreeSet<&str> = of_class(&audit, Class::Unsold)
        .iter()
        .filter_map(|e| e.cin7_sku.as_deref())
        .collect();
    let products = store.products().unwrap();
    let wholesale: Vec<&str> = products
        .iter()
        .filter(|p| p.product_type == "Stock" && !listed.contains(p.sku.as_str()))
        .map(|p| p.sku.as_str())
        .collect();
    assert!(!wholesale.is_empty());
    for sku in &wholesale {
        assert!(unsold.contains(sku), "{sku} never sold but not unsold");
    }

    // Seeded mismatches sell, so the audit needs a person; the rate is the resolvable share.
    assert!(audit.needs_attention());
    assert!(mismatched.iter().any(|v| {
        res.get(v.sku.as_deref().unwrap())
            .is_some_and(|e| e.units_sold > 0)
    }));
    let rate = s.match_rate.unwrap();
    assert!((0.80..0.95).contains(&rate), "match rate {rate}");
    assert_eq!(s.resolved, s.count(Class::Exact));

    // A mapping table: one mismatch mapped to its product, and rows that point at nothing.
    let v = mismatched[0];
    let (shop, cin7) = (v.sku.clone().unwrap(), v.cin7_sku.clone().unwrap());
    let file = dir.path().join("sku-map.csv");
    std::fs::write(
        &file,
        format!("shopify_sku,cin7_sku\n\"{shop}\",{cin7}\nBUNDLE-STARTER,NO-SUCH-SKU\nNOT-ON-SHOPIFY,{cin7}\n"),
    )
    .unwrap();
    settings.skus.mapping_file = Some(file);
    let mapped = audit_variants(&settings, &store, as_of(), &variants).unwrap();
    let res = resolution(&mapped);
    assert_eq!(res[shop.as_str()].class, Class::Mapped);
    assert_eq!(res[shop.as_str()].cin7_sku.as_deref(), Some(cin7.as_str()));
    assert_eq!(res["BUNDLE-STARTER"].class, Class::Unmatched);
    let dangling: Vec<(&str, &str)> = of_class(&mapped, Class::DanglingMapping)
        .iter()
        .map(|e| {
            (
                e.shopify_sku.as_deref().unwrap(),
                e.cin7_sku.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        dangling,
        vec![
            ("BUNDLE-STARTER", "NO-SUCH-SKU"),
            ("NOT-ON-SHOPIFY", cin7.as_str())
        ]
    );
    assert_eq!(mapped.summary.resolved, s.resolved + 1);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_the_json_shape_exits_3_and_never_overwrites_the_template() {
    let handle = start(120, 0.10).await;
    let dir = tempfile::tempdir().unwrap();
    let config = binary_config_with(&handle, dir.path(), FAST_RETRIES);
    let template = dir.path().join("map.csv");
    let run = {
        let config = config.clone();
        move |args: Vec<String>| {
            assert_cmd::Command::cargo_bin("replenish")
                .unwrap()
                .arg("--config")
                .arg(&config)
                .args(["--now", &t0().to_rfc3339(), "skus", "--as-of", "2026-11-27"])
                .args(args)
                .env("SHOPIFY_ACCESS_TOKEN", "sandbox")
                .env("CIN7_ACCOUNT_ID", "sandbox")
                .env("CIN7_APPLICATION_KEY", "sandbox")
                .env_remove("RUST_LOG")
                .output()
                .unwrap()
        }
    };
    let t = template.display().to_string();
    let (empty, first, again) = tokio::task::spawn_blocking(move || {
        (
            run(vec!["--format".into(), "json".into()]),
            run(vec![
                "--sync".into(),
                "--format".into(),
                "json".into(),
                "--write-mapping".into(),
                t.clone(),
            ]),
            run(vec![
                "--format".into(),
                "json".into(),
                "--write-mapping".into(),
                t,
            ]),
        )
    })
    .await
    .unwrap();

    // Nothing synced yet: a usage problem, with the way out.
    assert_eq!(empty.status.code(), Some(2));
    let err = String::from_utf8_lossy(&empty.stderr);
    assert!(err.contains("run `replenish sync` first"), "{err}");
    assert!(empty.stdout.is_empty());

    // Synced: seeded mismatches sell, so exit 3; stdout is exactly the documented JSON.
    assert_eq!(
        first.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let json: Value = serde_json::from_slice(&first.stdout).unwrap();
    let summary = json["summary"].as_object().unwrap();
    let mut keys: Vec<&str> = summary.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "blank",
            "dangling_mapping",
            "duplicate",
            "exact",
            "fuzzy",
            "mapped",
            "match_rate",
            "normalized",
            "unmatched",
            "unsold"
        ]
    );
    let rate = summary["match_rate"].as_f64().unwrap();
    assert!(rate > 0.5 && rate < 1.0, "{rate}");
    let entries = json["entries"].as_array().unwrap();
    let classes = [
        "exact",
        "mapped",
        "normalized",
        "fuzzy",
        "blank",
        "duplicate",
        "unmatched",
        "unsold",
        "dangling_mapping",
    ];
    for e in entries {
        let mut fields: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "cin7_sku",
                "class",
                "score",
                "shopify_sku",
                "units_sold",
                "variant_ids"
            ]
        );
        assert!(classes.contains(&e["class"].as_str().unwrap()), "{e}");
        assert!(e["variant_ids"].is_array() && e["units_sold"].is_i64());
        if e["class"] == "unsold" {
            assert!(e["shopify_sku"].is_null());
        }
    }
    for class in classes {
        let n = entries.iter().filter(|e| e["class"] == class).count();
        assert_eq!(summary[class].as_u64(), Some(n as u64), "{class}");
    }
    let selling = entries.iter().any(|e| {
        ["normalized", "fuzzy", "unmatched", "blank"].contains(&e["class"].as_str().unwrap())
            && e["units_sold"].as_i64().unwrap() > 0
    });
    assert!(selling);

    // The template: every suggestion, loadable as a mapping file as it is.
    let text = std::fs::read_to_string(&template).unwrap();
    assert!(
        text.starts_with("shopify_sku,cin7_sku,confidence,class,units_sold\n"),
        "{text}"
    );
    let map = replenish::core::mapping::parse_mapping(&text, &template).unwrap();
    assert_eq!(map.len() as u64, summary["normalized"].as_u64().unwrap());
    assert!(!map.is_empty());

    // A second run refuses to overwrite it: exit 2, the file as it was, nothing on stdout.
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already exists"), "{err}");
    assert!(again.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&template).unwrap(), text);
    handle.shutdown().await;
}
