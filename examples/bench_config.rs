//! Benchmark: how long loading the configuration takes (it is read once per run, so anything
//! under a few milliseconds is noise next to a run's first request).
//!
//!     cargo run --release --example bench_config
//!     cargo run --release --example bench_config -- --runs 2000
//!
//! Three files, each loaded `--runs` times through `Settings::load` (read, parse, validate,
//! secrets from a fixed environment): the commented template `replenish init` writes; a small
//! real setup; and a large one (2,000 `[skus."…"]` override tables, 300 suppliers, 50 Shopify
//! locations, 20 pools). Prints the median and the 95th percentile per load.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use replenish::config::{Settings, template_toml};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const SMALL: &str = r#"[shopify]
shop = "your-store.myshopify.com"
api_version = "2026-01"

[cin7]
requests_per_minute = 60

[policy]
timezone = "Europe/London"
below_minimum = "top_up"

[locations]
default = "Main Warehouse"
ignore = ["Returns"]

[locations.shopify]
"gid://shopify/Location/1" = "Main Warehouse"

[locations.pools]
"Main Warehouse" = ["Main Warehouse", "Overflow"]

[skus."ABC-123"]
supplier = "Acme Ltd"
moq = 12
pack = 6

[suppliers."Acme Ltd"]
lead_time_days = 21
min_order_value = 500

[alerts]
email_to = ["buyers@example.com"]
email_from = "replenish@example.com"
smtp_host = "smtp.example.com"
"#;

fn large() -> String {
    let mut out = String::from(
        "[shopify]\nshop = \"big.myshopify.com\"\n\n[locations]\ndefault = \"Main\"\nignore = [\"Returns\", \"Damaged\"]\n\n[locations.shopify]\n",
    );
    for i in 0..50 {
        let _ = writeln!(out, "\"gid://shopify/Location/{i}\" = \"Store {}\"", i % 20);
    }
    out.push_str("\n[locations.pools]\n");
    for p in 0..20 {
        let _ = writeln!(out, "\"Store {p}\" = [\"Store {p}\", \"Back room {p}\"]");
    }
    for i in 0..300 {
        let _ = write!(
            out,
            "\n[suppliers.\"Supplier {i:03}\"]\nlead_time_days = {}\nmoq = 10\nmin_order_value = \"{i}.50\"\ncurrency_rate = 1.1\n",
            7 + i % 30
        );
    }
    for i in 0..2000 {
        let _ = write!(
            out,
            "\n[skus.\"SKU-{i:05}\"]\nsupplier = \"Supplier {:03}\"\nmoq = {}\npack = 6\n",
            i % 300,
            i % 50
        );
    }
    out
}

fn main() {
    let runs = arg("--runs", 500).max(1);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let env: BTreeMap<String, String> = [
        ("SHOPIFY_ACCESS_TOKEN", "shpat_x"),
        ("CIN7_ACCOUNT_ID", "a"),
        ("CIN7_APPLICATION_KEY", "k"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (name, text) in [
        ("template", template_toml()),
        ("small", SMALL.to_string()),
        ("large", large()),
    ] {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("write: {e}"));
        let mut times: Vec<f64> = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            let settings = Settings::load(&path, &env).unwrap_or_else(|e| panic!("{name}: {e}"));
            times.push(started.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(settings);
        }
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!(
            "{name:>8}: {:>7} bytes, {runs} loads: median {:>9.1} µs, p95 {:>9.1} µs",
            text.len(),
            at(0.5),
            at(0.95)
        );
    }
}
