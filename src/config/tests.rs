//! The configuration's tests: defaults, every error's file, line, dotted key and reason,
//! secrets and `.env`, locating the file, and the `init` templates against the keys the serde
//! types declare.

use super::file;
use super::*;
use rust_decimal::Decimal;
use secrecy::ExposeSecret;

/// Lines 1–5; extra text appended by [`with_min`] starts on line 6.
const MIN: &str = "[shopify]\nshop = \"s.myshopify.com\"\n\n[locations]\ndefault = \"Main\"\n";

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn parse(text: &str) -> Result<Settings, ConfigError> {
    Settings::from_toml_str(text, Path::new("replenish.toml"), &env(&[]))
}

fn ok(text: &str) -> Settings {
    match parse(text) {
        Ok(s) => s,
        Err(e) => panic!("expected the config to load, got: {e}"),
    }
}

fn with_min(extra: &str) -> String {
    format!("{MIN}{extra}")
}

/// (line, key, message) of an `Invalid` error.
fn invalid(text: &str) -> (usize, String, String) {
    match parse(text) {
        Err(ConfigError::Invalid {
            line, key, message, ..
        }) => (line, key, message),
        Err(other) => panic!("expected Invalid, got {other}"),
        Ok(_) => panic!("expected Invalid, but the config loaded"),
    }
}

fn assert_invalid(text: &str, line: usize, key: &str, message_part: &str) {
    let (l, k, m) = invalid(text);
    assert_eq!((l, k.as_str()), (line, key), "message was: {m}");
    assert!(
        m.contains(message_part),
        "message {m:?} lacks {message_part:?}"
    );
}

/// An invalid config for [`assert_each_invalid`]: (the text after [`MIN`], the line, the key,
/// part of the message).
type Case = (&'static str, usize, &'static str, &'static str);

/// [`assert_invalid`] for each case.
fn assert_each_invalid(cases: &[Case]) {
    for &(extra, line, key, message_part) in cases {
        assert_invalid(&with_min(extra), line, key, message_part);
    }
}

#[test]
fn minimal_config_takes_every_default() {
    let s = ok(MIN);
    assert_eq!(s.source.as_deref(), Some(Path::new("replenish.toml")));
    assert_eq!(s.shopify.shop, "s.myshopify.com");
    assert_eq!(s.shopify.base_url, "https://s.myshopify.com");
    assert_eq!(s.shopify.api_version, "2026-01");
    assert_eq!(s.shopify.orders_page_size, 10);
    assert_eq!(s.shopify.line_items_page_size, 30);
    assert_eq!(s.shopify.watermark_overlap_secs, 300);
    assert_eq!(s.shopify.bulk_poll_ms, 2000);
    assert_eq!(s.shopify.bulk_stall_ms, 60_000);
    assert!(s.shopify.access_token.is_none());
    assert_eq!(
        s.cin7.base_url,
        "https://inventory.dearsystems.com/ExternalApi/v2/"
    );
    assert_eq!(s.cin7.requests_per_minute, 100);
    assert_eq!(s.cin7.page_size, 1000);
    assert_eq!(s.http.timeout_secs, 30);
    assert_eq!(s.http.max_retries, 5);
    assert_eq!(s.http.retry_initial_ms, 1000);
    assert_eq!(s.http.retry_max_ms, 60_000);
    assert_eq!(s.store.path, PathBuf::from("replenish.db"));
    let p = &s.policy;
    assert_eq!(p.timezone, chrono_tz::Tz::UTC);
    assert_eq!(p.velocity_window_days, 28);
    assert_eq!(p.cover_days, 30.0);
    assert_eq!(p.service_level, 0.95);
    assert_eq!(p.default_lead_time_days, 14);
    assert!(p.stockout_adjust);
    assert_eq!(p.min_in_stock_days, 7);
    assert!(p.use_cin7_reorder_levels);
    assert_eq!(p.below_minimum, BelowMinimum::Hold);
    assert_eq!(p.max_data_age_minutes, 180);
    assert_eq!(p.snapshot_retention_days, 120);
    assert_eq!(*p, Policy::default());
    assert_eq!(s.locations.default, "Main");
    assert!(s.locations.ignore.is_empty() && s.locations.pools.is_empty());
    assert!(s.skus.mapping_file.is_none() && s.skus.overrides.is_empty());
    assert!(s.suppliers.is_empty());
    assert!(s.alerts.email_to.is_empty() && s.alerts.smtp_port.is_none());
    assert_eq!(s.listen.bind, "127.0.0.1:8080");
    assert_eq!(s.listen.debounce_ms, 500);
    assert_eq!(s.listen.header_timeout_ms, 5_000);
    assert_eq!(s.listen.body_timeout_ms, 5_000);
    assert_eq!(s.listen.idle_timeout_ms, 30_000);
    assert_eq!(s.listen.max_connections, 1_024);
    assert_eq!(s.listen.max_buffered_mib, 64);
}

#[test]
fn the_config_md_example_loads_with_its_values() {
    let text = r#"[shopify]
shop = "your-store.myshopify.com"
api_version = "2026-01"

[cin7]
base_url = "https://inventory.dearsystems.com/ExternalApi/v2/"
requests_per_minute = 100
page_size = 1000

[store]
path = "replenish.db"

[policy]
timezone = "Europe/London"
velocity_window_days = 28
cover_days = 30
service_level = 0.95
default_lead_time_days = 14
stockout_adjust = true
min_in_stock_days = 7
use_cin7_reorder_levels = true
below_minimum = "top_up"
max_data_age_minutes = 180
snapshot_retention_days = 120

[locations]
default = "Main Warehouse"
ignore = ["Returns"]

[locations.shopify]
"gid://shopify/Location/1" = "Main Warehouse"

[locations.pools]
"Main Warehouse" = ["Main Warehouse", "Overflow"]

[skus]
mapping_file = "sku-map.csv"

[skus."ABC-123"]
supplier = "Acme Ltd"
moq = 12
pack = 6

[suppliers."Acme Ltd"]
lead_time_days = 21
moq = 0
min_order_value = 500

[alerts]
email_to = ["buyers@example.com"]
email_from = "replenish@example.com"
smtp_host = "smtp.example.com"
smtp_port = 587
smtp_username = "replenish"

[listen]
bind = "127.0.0.1:8080"
debounce_ms = 500
"#;
    let s = ok(text);
    assert_eq!(s.policy.timezone, chrono_tz::Europe::London);
    assert_eq!(s.policy.below_minimum, BelowMinimum::TopUp);
    assert_eq!(s.locations.ignore, vec!["Returns".to_string()]);
    assert_eq!(
        s.locations
            .shopify
            .get("gid://shopify/Location/1")
            .map(String::as_str),
        Some("Main Warehouse")
    );
    assert_eq!(
        s.locations.pools.get("Main Warehouse"),
        Some(&vec!["Main Warehouse".to_string(), "Overflow".to_string()])
    );
    assert_eq!(
        s.skus.overrides.get("ABC-123"),
        Some(&SkuOverride {
            supplier: Some("Acme Ltd".into()),
            moq: Some(12.0),
            pack: Some(6.0),
        })
    );
    assert_eq!(
        s.suppliers.get("Acme Ltd"),
        Some(&SupplierOverride {
            lead_time_days: Some(21.0),
            moq: Some(0.0),
            min_order_value: Some(Decimal::from(500)),
            currency_rate: None,
        })
    );
    assert_eq!(s.alerts.email_to, vec!["buyers@example.com".to_string()]);
    assert_eq!(s.alerts.smtp_port, Some(587));
    assert_eq!(s.alerts.smtp_username.as_deref(), Some("replenish"));
}

#[test]
fn additions_are_read() {
    let s = ok(&with_min(
        "[http]\ntimeout_secs = 5\nmax_retries = 0\nretry_initial_ms = 0\nretry_max_ms = 10\n",
    ));
    assert_eq!(s.http.timeout_secs, 5);
    assert_eq!(s.http.max_retries, 0);
    assert_eq!(s.http.retry_initial_ms, 0);
    assert_eq!(s.http.retry_max_ms, 10);

    let s = ok(
        "[shopify]\nshop = \"a.myshopify.com\"\norders_page_size = 50\nline_items_page_size = 100\nwatermark_overlap_secs = 0\nbulk_poll_ms = 10\nbulk_stall_ms = 250\n[locations]\ndefault = \"M\"\n",
    );
    assert_eq!(s.shopify.orders_page_size, 50);
    assert_eq!(s.shopify.line_items_page_size, 100);
    assert_eq!(s.shopify.watermark_overlap_secs, 0);
    assert_eq!(s.shopify.bulk_poll_ms, 10);
    assert_eq!(s.shopify.bulk_stall_ms, 250);
}

// ----- unknown keys, types, syntax ---------------------------------------------------------

#[test]
fn unknown_top_level_key_names_line_and_key() {
    assert_invalid(
        &with_min("\n[polcy]\ncover_days = 3\n"),
        7,
        "polcy",
        "unknown key",
    );
    assert_invalid(
        &format!("verbose = true\n{MIN}"),
        1,
        "verbose",
        "unknown key",
    );
}

#[test]
fn unknown_key_in_policy_names_the_dotted_key() {
    let text = with_min("\n[policy]\ncover_days = 30\nservce_level = 0.9\n");
    assert_invalid(&text, 9, "policy.servce_level", "unknown key");
    let (line, key, _) = invalid(&text);
    let shown = ConfigError::Invalid {
        path: PathBuf::from("replenish.toml"),
        line,
        key,
        message: "unknown key".into(),
    }
    .to_string();
    assert_eq!(shown, "replenish.toml:9: policy.servce_level: unknown key");
    // A dotted key reports its first unknown segment.
    assert_invalid(
        &with_min("[policy]\nfoo.bar = 1\n"),
        7,
        "policy.foo",
        "unknown key",
    );
}

#[test]
fn unknown_keys_in_every_fixed_table_are_errors() {
    for table in [
        "shopify",
        "cin7",
        "http",
        "store",
        "locations",
        "alerts",
        "listen",
    ] {
        let text = if table == "shopify" {
            "[shopify]\nshop = \"x.myshopify.com\"\nbogus = 1\n[locations]\ndefault = \"M\"\n"
                .to_string()
        } else if table == "locations" {
            "[shopify]\nshop = \"x.myshopify.com\"\n[locations]\ndefault = \"M\"\nbogus = 1\n"
                .to_string()
        } else {
            with_min(&format!("[{table}]\nbogus = 1\n"))
        };
        let (line, key, message) = invalid(&text);
        assert_eq!(key, format!("{table}.bogus"));
        assert_eq!(message, "unknown key");
        assert!(line == 3 || line == 5 || line == 7, "{table}: line {line}");
    }
}

#[test]
fn unknown_key_in_a_sku_table() {
    #[rustfmt::skip]
    const CASES: &[Case] = &[
        ("\n[skus.\"X\"]\nsupplier = \"Acme\"\nmoqq = 3\n", 9, "skus.\"X\".moqq", "unknown key"),
        // A non-table key in [skus] other than mapping_file is a misspelling.
        ("[skus]\nmaping_file = \"m.csv\"\n", 7, "skus.maping_file", "unknown key"),
    ];
    assert_each_invalid(CASES);
}

#[test]
fn unknown_key_in_a_supplier_table() {
    #[rustfmt::skip]
    const CASES: &[Case] = &[
        ("[suppliers.\"Acme Ltd\"]\nlead_time = 3\n", 7, "suppliers.\"Acme Ltd\".lead_time", "unknown key"),
        ("[suppliers]\nAcme = 3\n", 7, "suppliers.\"Acme\"", "expected a table"),
    ];
    assert_each_invalid(CASES);
}

#[test]
fn type_errors_name_line_and_key() {
    #[rustfmt::skip]
    const CASES: &[Case] = &[
        ("\n[policy]\ntimezone = \"UTC\"\ncover_days = \"thirty\"\n", 9, "policy.cover_days", "expected a number"),
        ("[policy]\nstockout_adjust = \"yes\"\n", 7, "policy.stockout_adjust", "expected true or false"),
        ("[policy]\nvelocity_window_days = 28.5\n", 7, "policy.velocity_window_days", "expected an integer"),
        ("[cin7]\nbase_url = 5\n", 7, "cin7.base_url", "expected a string"),
        ("[alerts]\nemail_to = [\n  \"a@b.c\",\n  7,\n]\n", 9, "alerts.email_to", "expected an array of strings"),
        ("[alerts]\nsmtp_port = 70000\n", 7, "alerts.smtp_port", "at most 65535"),
    ];
    assert_each_invalid(CASES);
    assert_invalid(
        &format!("policy = 5\n{MIN}"),
        1,
        "policy",
        "expected a table",
    );
    assert_invalid(
        &format!("{MIN}[[policy]]\ncover_days = 1\n"),
        6,
        "policy",
        "expected a table",
    );
}

#[test]
fn drafting_and_alert_delivery_keys() {
    let s = ok(MIN);
    assert_eq!(s.cin7.purchase_approach, PurchaseApproach::Invoice);
    assert_eq!(s.alerts.smtp_tls, SmtpTls::StartTls);
    assert_eq!(s.alerts.repeat_after_hours, 24);
    let s = ok(&with_min(
        "[cin7]\npurchase_approach = \"stock\"\n[suppliers.\"Acme\"]\ncurrency_rate = 1.25\n[alerts]\nsmtp_tls = \"none\"\nrepeat_after_hours = 0\n",
    ));
    assert_eq!(s.cin7.purchase_approach.as_cin7(), "STOCK");
    assert_eq!(
        s.suppliers.get("Acme").and_then(|o| o.currency_rate),
        Some(1.25)
    );
    assert_eq!(s.alerts.smtp_tls, SmtpTls::None);
    assert_eq!(s.alerts.repeat_after_hours, 0);
    #[rustfmt::skip]
    const CASES: &[Case] = &[
        ("[cin7]\npurchase_approach = \"Simple\"\n", 7, "cin7.purchase_approach", "expected \"INVOICE\" or \"STOCK\""),
        ("[suppliers.\"Acme\"]\ncurrency_rate = 0\n", 7, "suppliers.\"Acme\".currency_rate", "greater than 0"),
        ("[alerts]\nsmtp_tls = \"ssl\"\n", 7, "alerts.smtp_tls", "\"starttls\", \"tls\" or \"none\""),
    ];
    assert_each_invalid(CASES);
}

#[test]
fn syntax_errors_give_the_line() {
    let text = "[shopify]\nshop = \"s.myshopify.com\"\n\n[policy\ncover_days = 3\n";
    assert_invalid(text, 4, "syntax error", "");
    let text = "[shopify]\nshop = \"s\"\nshop = \"t\"\n";
    assert_invalid(text, 3, "syntax error", "duplicate key `shop`");
    let text = "[shopify]\nshop = \"s.myshopify.com\"\napi_version = \n";
    assert_invalid(text, 3, "syntax error", "");
}

// ----- value validation ----------------------------------------------------------------------

#[test]
fn shop_is_required_unless_base_url_is_set() {
    assert_invalid(
        "[locations]\ndefault = \"M\"\n",
        1,
        "shopify.shop",
        "required",
    );
    assert_invalid(
        "\n[shopify]\napi_version = \"2026-01\"\n[locations]\ndefault = \"M\"\n",
        2,
        "shopify.shop",
        "required",
    );
    assert_invalid(
        "[shopify]\nshop = \"\"\n[locations]\ndefault = \"M\"\n",
        2,
        "shopify.shop",
        "must not be empty",
    );
    assert_invalid(
        "[shopify]\nshop = \"https://x.myshopify.com\"\n[locations]\ndefault = \"M\"\n",
        2,
        "shopify.shop",
        "domain only",
    );
    let s = ok(
        "[shopify]\nbase_url = \"http://127.0.0.1:8787/shopify/\"\n[locations]\ndefault = \"M\"\n",
    );
    assert_eq!(s.shopify.base_url, "http://127.0.0.1:8787/shopify");
    assert_eq!(s.shopify.shop, "");
}

#[test]
fn base_urls_are_checked_and_normalised() {
    assert_invalid(
        "[shopify]\nshop = \"x\"\nbase_url = \"ftp://host\"\n[locations]\ndefault = \"M\"\n",
        3,
        "shopify.base_url",
        "http:// or https://",
    );
    let s = ok(&with_min(
        "[cin7]\nbase_url = \"http://127.0.0.1:8787/cin7/ExternalApi/v2\"\n",
    ));
    assert_eq!(
        s.cin7.base_url,
        "http://127.0.0.1:8787/cin7/ExternalApi/v2/"
    );
    assert_invalid(
        &with_min("[cin7]\nbase_url = \"inventory.dearsystems.com\"\n"),
        7,
        "cin7.base_url",
        "http:// or https://",
    );
    assert_invalid(
        "[shopify]\nshop = \"x\"\napi_version = \"jan-2026\"\n[locations]\ndefault = \"M\"\n",
        3,
        "shopify.api_version",
        "2026-01",
    );
}

#[test]
fn cin7_limits_are_checked() {
    #[rustfmt::skip]
    const CASES: &[Case] = &[
        ("[cin7]\npage_size = 0\n", 7, "cin7.page_size", "at least 1"),
        ("[cin7]\n\npage_size = 1001\n", 8, "cin7.page_size", "at most 1000"),
        ("[cin7]\nrequests_per_minute = 0\n", 7, "cin7.requests_per_minute", "at least 1"),
        ("[cin7]\nrequests_per_minute = -5\n", 7, "cin7.requests_per_minute", "at least 1"),
    ];
    assert_each_invalid(CASES);
    assert_eq!(
        ok(&with_min("[cin7]\npage_size = 1000\n")).cin7.page_size,
        1000
    );
}

#[test]
fn policy_values_are_checked() {
    #[rustfmt::skip]
    const CASES: &[Case] = &[
        ("[policy]\ntimezone = \"Mars/Olympus\"\n", 7, "policy.timezone", "IANA"),
        ("[policy]\nvelocity_window_days = 0\n", 7, "policy.velocity_window_days", "at least 1"),
        ("[policy]\nvelocity_window_days = 5\nmin_in_stock_days = 6\n", 8, "policy.min_in_stock_days", "must not exceed"),
        // Window below the default minimum: the window is the key to blame.
        ("[policy]\nvelocity_window_days = 5\n", 7, "policy.velocity_window_days", "must not exceed"),
        ("[policy]\ncover_days = -1\n", 7, "policy.cover_days", "must not be negative"),
        ("[policy]\nbelow_minimum = \"topup\"\n", 7, "policy.below_minimum", "\"hold\" or \"top_up\""),
        ("[policy]\ncover_days = nan\n", 7, "policy.cover_days", "finite"),
    ];
    assert_each_invalid(CASES);
    for bad in ["0", "1", "1.5", "-0.2", "0.0"] {
        assert_invalid(
            &with_min(&format!("[policy]\nservice_level = {bad}\n")),
            7,
            "policy.service_level",
            "strictly between 0 and 1",
        );
    }
    assert_eq!(
        ok(&with_min("[policy]\ncover_days = 0\n"))
            .policy
            .cover_days,
        0.0
    );
    assert_eq!(
        ok(&with_min("[policy]\ncover_days = 12.5\n"))
            .policy
            .cover_days,
        12.5
    );
}

#[test]
fn http_retry_delays_are_consistent() {
    #[rustfmt::skip]
    const CASES: &[Case] = &[
        ("[http]\nretry_initial_ms = 5000\nretry_max_ms = 100\n", 8, "http.retry_max_ms", "must not be less"),
        ("[http]\ntimeout_secs = 0\n", 7, "http.timeout_secs", "at least 1"),
    ];
    assert_each_invalid(CASES);
}

#[test]
fn locations_default_is_required() {
    assert_invalid(
        "[shopify]\nshop = \"x\"\n",
        1,
        "locations.default",
        "required",
    );
    assert_invalid(
        "[shopify]\nshop = \"x\"\n\n[locations]\nignore = []\n",
        4,
        "locations.default",
        "required",
    );
    assert_invalid(
        "[shopify]\nshop = \"x\"\n[locations]\ndefault = \" \"\n",
        4,
        "locations.default",
        "must not be empty",
    );
}

const SHOP: &str = "[shopify]\nshop = \"x\"\n";

#[test]
fn pool_naming_a_location_twice_is_an_error() {
    let text = format!(
        "{SHOP}[locations]\ndefault = \"A\"\n[locations.pools]\n\"A\" = [\"A\", \"B\", \"B\"]\n"
    );
    assert_invalid(&text, 6, "locations.pools.\"A\"", "names \"B\" twice");
}

#[test]
fn location_in_two_pools_is_an_error() {
    let text = format!(
        "{SHOP}[locations]\ndefault = \"A\"\n[locations.pools]\n\"A\" = [\"B\"]\n\"C\" = [\"D\", \"B\"]\n"
    );
    assert_invalid(
        &text,
        7,
        "locations.pools.\"C\"",
        "already in the pool \"A\"",
    );
    // A pool key listed as another pool's member is in two pools as well.
    let text = format!(
        "{SHOP}[locations]\ndefault = \"A\"\n[locations.pools]\n\"A\" = [\"B\"]\n\"B\" = [\"D\"]\n"
    );
    assert_invalid(
        &text,
        7,
        "locations.pools.\"B\"",
        "already in the pool \"A\"",
    );
    // The key listed as its own member is fine.
    let s = ok(&format!(
        "{SHOP}[locations]\ndefault = \"A\"\n[locations.pools]\n\"A\" = [\"A\", \"B\"]\n"
    ));
    assert_eq!(
        s.locations.pools["A"],
        vec!["A".to_string(), "B".to_string()]
    );
}

#[test]
fn ignored_locations_cannot_be_default_pooled_or_mapped() {
    assert_invalid(
        &format!("{SHOP}[locations]\nignore = [\"R\"]\ndefault = \"R\"\n"),
        5,
        "locations.default",
        "listed in locations.ignore",
    );
    assert_invalid(
        &format!(
            "{SHOP}[locations]\ndefault = \"A\"\nignore = [\"R\"]\n[locations.pools]\n\"R\" = []\n"
        ),
        7,
        "locations.pools.\"R\"",
        "locations.ignore",
    );
    assert_invalid(
        &format!(
            "{SHOP}[locations]\ndefault = \"A\"\nignore = [\"R\"]\n[locations.pools]\n\"A\" = [\n  \"B\",\n  \"R\",\n]\n"
        ),
        9,
        "locations.pools.\"A\"",
        "locations.ignore",
    );
    assert_invalid(
        &format!(
            "{SHOP}[locations]\ndefault = \"A\"\nignore = [\"R\"]\n[locations.shopify]\n\"gid://shopify/Location/9\" = \"R\"\n"
        ),
        7,
        "locations.shopify.\"gid://shopify/Location/9\"",
        "maps to \"R\"",
    );
}

#[test]
fn sku_and_supplier_numbers_are_checked() {
    #[rustfmt::skip]
    const CASES: &[Case] = &[
        ("[skus.\"X\"]\nmoq = -1\n", 7, "skus.\"X\".moq", "must not be negative"),
        ("[skus.\"X\"]\npack = 0\n", 7, "skus.\"X\".pack", "greater than 0"),
        ("[skus.\"X\"]\npack = -2\n", 7, "skus.\"X\".pack", "greater than 0"),
        ("[suppliers.\"Acme\"]\nlead_time_days = -3\n", 7, "suppliers.\"Acme\".lead_time_days", "must not be negative"),
        ("[suppliers.\"Acme\"]\nmoq = -3\n", 7, "suppliers.\"Acme\".moq", "must not be negative"),
        ("[suppliers.\"Acme\"]\nmin_order_value = \"lots\"\n", 7, "suppliers.\"Acme\".min_order_value", "expected an amount"),
        ("[suppliers.\"Acme\"]\nmin_order_value = -1\n", 7, "suppliers.\"Acme\".min_order_value", "must not be negative"),
    ];
    assert_each_invalid(CASES);
    let s = ok(&with_min(
        "[skus.\"X\"]\nmoq = 2.5\npack = 1\n[suppliers.\"Acme\"]\nlead_time_days = 3.5\n",
    ));
    assert_eq!(s.skus.overrides["X"].moq, Some(2.5));
    assert_eq!(s.skus.overrides["X"].pack, Some(1.0));
    assert_eq!(s.suppliers["Acme"].lead_time_days, Some(3.5));
}

#[test]
fn min_order_value_is_an_exact_decimal() {
    let mov = |v: &str| {
        ok(&with_min(&format!(
            "[suppliers.\"Acme\"]\nmin_order_value = {v}\n"
        )))
        .suppliers["Acme"]
            .min_order_value
    };
    assert_eq!(
        mov("500.1"),
        Some(Decimal::from_str_exact("500.1").unwrap_or_default())
    );
    assert_eq!(
        mov("500.1").map(|d| d.to_string()),
        Some("500.1".to_string())
    );
    assert_eq!(mov("0.3").map(|d| d.to_string()), Some("0.3".to_string()));
    assert_eq!(mov("500"), Some(Decimal::from(500)));
    assert_eq!(
        mov("\"1234.56\"").map(|d| d.to_string()),
        Some("1234.56".to_string())
    );
    assert_eq!(mov("1_000"), Some(Decimal::from(1000)));
}

#[test]
fn alert_settings_are_checked() {
    #[rustfmt::skip]
    const CASES: &[Case] = &[
        ("[alerts]\nemail_to = [\"nobody\"]\n", 7, "alerts.email_to", "not an email address"),
        ("[alerts]\nemail_to = [\"a@b.c\"]\n", 7, "alerts.email_to", "alerts.smtp_host"),
        ("[listen]\nbind = \"8080\"\n", 7, "listen.bind", "host:port"),
    ];
    assert_each_invalid(CASES);
    assert_eq!(
        ok(&with_min("[listen]\nbind = \"localhost:9000\"\n"))
            .listen
            .bind,
        "localhost:9000"
    );
    assert_eq!(
        ok(&with_min("[listen]\nbind = \"[::1]:9000\"\n"))
            .listen
            .bind,
        "[::1]:9000"
    );
}

// ----- paths -----------------------------------------------------------------------------------

#[test]
fn relative_paths_resolve_against_the_config_folder() {
    let text = with_min("[store]\npath = \"data/r.db\"\n[skus]\nmapping_file = \"map.csv\"\n");
    let s = Settings::from_toml_str(&text, Path::new("/etc/replenish/replenish.toml"), &env(&[]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.store.path, PathBuf::from("/etc/replenish/data/r.db"));
    assert_eq!(
        s.skus.mapping_file,
        Some(PathBuf::from("/etc/replenish/map.csv"))
    );

    let text = with_min("[store]\npath = \"/var/lib/r.db\"\n");
    let s = Settings::from_toml_str(&text, Path::new("/etc/replenish/replenish.toml"), &env(&[]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.store.path, PathBuf::from("/var/lib/r.db"));
    // Default store path, too.
    let s = Settings::from_toml_str(MIN, Path::new("/srv/x/replenish.toml"), &env(&[]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.store.path, PathBuf::from("/srv/x/replenish.db"));
}

// ----- secrets ---------------------------------------------------------------------------------

const WITH_SECRETS: &str = "[shopify]\nshop = \"s\"\naccess_token = \"file-token\"\nwebhook_secret = \"file-hook\"\n\
        [cin7]\naccount_id = \"file-account\"\napplication_key = \"file-key\"\n\
        [alerts]\nslack_webhook_url = \"https://hooks.slack.com/file\"\nsmtp_password = \"file-smtp\"\n\
        [locations]\ndefault = \"M\"\n";

#[test]
fn environment_wins_over_the_file_for_secrets() {
    let e = env(&[
        ("SHOPIFY_ACCESS_TOKEN", "env-token"),
        ("CIN7_ACCOUNT_ID", "env-account"),
        ("SMTP_PASSWORD", "env-smtp"),
        ("SHOPIFY_WEBHOOK_SECRET_OLD", "env-old"),
        ("CIN7_APPLICATION_KEY", ""),
    ]);
    let s = Settings::from_toml_str(WITH_SECRETS, Path::new("replenish.toml"), &e)
        .unwrap_or_else(|e| panic!("{e}"));
    let token = s.shopify_token().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(token.expose_secret(), "env-token");
    let (account, key) = s.cin7_credentials().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(account.expose_secret(), "env-account");
    // An empty environment value counts as unset: the file's value is used.
    assert_eq!(key.expose_secret(), "file-key");
    assert_eq!(
        s.alerts.smtp_password.as_ref().map(|p| p.expose_secret()),
        Some("env-smtp")
    );
    assert_eq!(
        s.alerts
            .slack_webhook_url
            .as_ref()
            .map(|p| p.expose_secret()),
        Some("https://hooks.slack.com/file")
    );
    let (current, old) = s.webhook_secrets().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(current.expose_secret(), "file-hook");
    assert_eq!(old.as_ref().map(|o| o.expose_secret()), Some("env-old"));
}

#[test]
fn secrets_can_come_from_the_environment_alone() {
    let e = env(&[
        ("CIN7_ACCOUNT_ID", "a"),
        ("CIN7_APPLICATION_KEY", "k"),
        ("SLACK_WEBHOOK_URL", "https://h"),
    ]);
    let s = Settings::from_toml_str(MIN, Path::new("replenish.toml"), &e)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(s.cin7_credentials().is_ok());
    assert!(s.alerts.slack_webhook_url.is_some());
}

#[test]
fn dot_env_lines_quotes_comments_and_errors() {
    let path = Path::new("/cfg/.env");
    let d = DotEnv::parse(
            "\u{feff}# secrets\n\nexport CIN7_ACCOUNT_ID = acct-1 \nSMTP_PASSWORD=p#ss word\n\
             SHOPIFY_ACCESS_TOKEN=\"shpat_x\"\nSLACK_WEBHOOK_URL='https://hooks.example/a'\nEMPTY=\n",
            path,
        )
        .unwrap();
    assert_eq!(d.var("CIN7_ACCOUNT_ID").as_deref(), Some("acct-1"));
    assert_eq!(
        d.var("SMTP_PASSWORD").as_deref(),
        Some("p#ss word"),
        "a # inside a value is part of it"
    );
    assert_eq!(d.var("SHOPIFY_ACCESS_TOKEN").as_deref(), Some("shpat_x"));
    assert_eq!(
        d.var("SLACK_WEBHOOK_URL").as_deref(),
        Some("https://hooks.example/a")
    );
    assert_eq!(d.var("EMPTY"), None, "an empty value counts as unset");
    assert!(
        !format!("{d:?}").contains("shpat_x"),
        "Debug names keys only"
    );

    let err = DotEnv::parse("A=1\njust words\n", path)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("/cfg/.env:2: "), "{err}");
    let err = DotEnv::parse("A=1\nA=2\n", path).unwrap_err().to_string();
    assert_eq!(err, "/cfg/.env:2: A: set twice in this file");
    let err = DotEnv::parse("BAD-NAME=1\n", path).unwrap_err().to_string();
    assert!(err.contains(":1: "), "{err}");
}

#[test]
fn the_environment_wins_over_dot_env_which_wins_over_the_file() {
    let d = DotEnv::parse(
        "CIN7_ACCOUNT_ID=from-dotenv\nCIN7_APPLICATION_KEY=key-dotenv\n",
        Path::new(".env"),
    )
    .unwrap();
    let process = env(&[("CIN7_ACCOUNT_ID", "from-env")]);
    let layered = Layered {
        first: &process,
        then: Some(&d),
    };
    let s = Settings::from_toml_str(
        &format!("{MIN}\n[cin7]\naccount_id = \"from-file\"\napplication_key = \"key-file\"\n"),
        Path::new("replenish.toml"),
        &layered,
    )
    .unwrap();
    let (account, key) = s.cin7_credentials().unwrap();
    assert_eq!(account.expose_secret(), "from-env");
    assert_eq!(key.expose_secret(), "key-dotenv");
}

#[test]
fn missing_secrets_are_not_a_load_error_but_name_the_env_var() {
    let s = ok(MIN);
    match s.cin7_credentials() {
        Err(ConfigError::MissingSecret { env, key }) => {
            assert_eq!((env, key), ("CIN7_ACCOUNT_ID", "cin7.account_id"));
        }
        other => panic!("expected MissingSecret, got {:?}", other.map(|_| ())),
    }
    let e = env(&[("CIN7_ACCOUNT_ID", "a")]);
    let s = Settings::from_toml_str(MIN, Path::new("replenish.toml"), &e)
        .unwrap_or_else(|e| panic!("{e}"));
    match s.cin7_credentials() {
        Err(ConfigError::MissingSecret { env, .. }) => assert_eq!(env, "CIN7_APPLICATION_KEY"),
        other => panic!("expected MissingSecret, got {:?}", other.map(|_| ())),
    }
    let err = match s.shopify_token() {
        Err(e) => e,
        Ok(_) => panic!("expected MissingSecret"),
    };
    assert!(err.to_string().contains("SHOPIFY_ACCESS_TOKEN"), "{err}");
    assert!(matches!(
        s.webhook_secrets(),
        Err(ConfigError::MissingSecret {
            env: "SHOPIFY_WEBHOOK_SECRET",
            ..
        })
    ));
}

#[test]
fn debug_never_shows_a_secret() {
    let e = env(&[("SHOPIFY_WEBHOOK_SECRET_OLD", "env-old-hook")]);
    let s = Settings::from_toml_str(WITH_SECRETS, Path::new("replenish.toml"), &e)
        .unwrap_or_else(|e| panic!("{e}"));
    let shown = format!("{s:?}");
    for secret in [
        "file-token",
        "file-hook",
        "env-old-hook",
        "file-account",
        "file-key",
        "hooks.slack.com",
        "file-smtp",
    ] {
        assert!(!shown.contains(secret), "Debug shows {secret}");
    }
    assert!(shown.contains("REDACTED"));
    let sandbox = format!(
        "{:?}",
        Settings::for_sandbox("http://127.0.0.1:1", Path::new("x.db"))
    );
    assert!(!sandbox.contains("\"sandbox\""), "{sandbox}");
}

// ----- sandbox, locate, templates -------------------------------------------------------------

#[test]
fn sandbox_settings() {
    let s = Settings::for_sandbox("http://127.0.0.1:8787/", Path::new("/tmp/demo.db"));
    assert!(s.source.is_none());
    assert_eq!(s.shopify.shop, "sandbox.myshopify.com");
    assert_eq!(s.shopify.base_url, "http://127.0.0.1:8787/shopify");
    assert_eq!(
        s.cin7.base_url,
        "http://127.0.0.1:8787/cin7/ExternalApi/v2/"
    );
    assert_eq!(s.cin7.requests_per_minute, 600);
    assert_eq!(s.cin7.page_size, 1000);
    assert_eq!(s.shopify.bulk_poll_ms, 200);
    assert_eq!((s.http.retry_initial_ms, s.http.retry_max_ms), (200, 2000));
    assert_eq!(s.http.timeout_secs, 30);
    assert_eq!(s.locations.default, "Main Warehouse");
    assert_eq!(s.store.path, PathBuf::from("/tmp/demo.db"));
    assert_eq!(s.policy, Policy::default());
    let token = s.shopify_token().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(token.expose_secret(), "sandbox");
    let (a, k) = s.cin7_credentials().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (a.expose_secret(), k.expose_secret()),
        ("sandbox", "sandbox")
    );
}

#[test]
fn load_reads_the_file_and_reports_read_errors() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("replenish.toml");
    std::fs::write(&path, format!("\u{feff}{MIN}[policy]\ncover_days = 10\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    let s = Settings::load(&path, &env(&[])).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.policy.cover_days, 10.0);
    assert_eq!(s.store.path, dir.path().join("replenish.db"));
    assert_eq!(s.source.as_deref(), Some(path.as_path()));

    std::fs::write(&path, format!("{MIN}[policy]\ncover_days = \"x\"\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    let err = Settings::load(&path, &env(&[]))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        err,
        format!("{}:7: policy.cover_days: expected a number", path.display())
    );

    let missing = dir.path().join("nope.toml");
    assert!(matches!(
        Settings::load(&missing, &env(&[])),
        Err(ConfigError::Read { .. })
    ));
}

#[test]
fn locate_prefers_explicit_then_cwd_then_config_dir() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cwd = dir.path().join("cwd");
    let xdg = dir.path().join("xdg");
    let home = dir.path().join("home");
    for d in [
        &cwd,
        &xdg.join("replenish"),
        &home.join(".config/replenish"),
    ] {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
    }
    let e = env(&[
        ("XDG_CONFIG_HOME", xdg.to_str().unwrap_or_default()),
        ("HOME", home.to_str().unwrap_or_default()),
    ]);

    // Nothing anywhere: every place is listed.
    let looked = match locate_in(None, &cwd, &e) {
        Err(ConfigError::NotFound { looked_in }) => looked_in,
        other => panic!("expected NotFound, got {other:?}"),
    };
    assert!(
        looked.contains(&cwd.join("replenish.toml").display().to_string()),
        "{looked}"
    );
    assert!(
        looked.contains(&xdg.join("replenish/replenish.toml").display().to_string()),
        "{looked}"
    );

    // Without XDG_CONFIG_HOME, ~/.config is used.
    let home_file = home.join(".config/replenish/replenish.toml");
    std::fs::write(&home_file, MIN).unwrap_or_else(|e| panic!("{e}"));
    let home_only = env(&[("HOME", home.to_str().unwrap_or_default())]);
    assert_eq!(
        locate_in(None, &cwd, &home_only).ok(),
        Some(home_file.clone())
    );

    let xdg_file = xdg.join("replenish/replenish.toml");
    std::fs::write(&xdg_file, MIN).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(locate_in(None, &cwd, &e).ok(), Some(xdg_file));

    let cwd_file = cwd.join("replenish.toml");
    std::fs::write(&cwd_file, MIN).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(locate_in(None, &cwd, &e).ok(), Some(cwd_file.clone()));

    // An explicit path wins, and must exist.
    assert_eq!(locate_in(Some(&home_file), &cwd, &e).ok(), Some(home_file));
    let missing = dir.path().join("missing.toml");
    match locate_in(Some(&missing), &cwd, &e) {
        Err(ConfigError::NotFound { looked_in }) => {
            assert_eq!(looked_in, missing.display().to_string())
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(matches!(
        locate(Some(&missing)),
        Err(ConfigError::NotFound { .. })
    ));
}

/// Every key fixed by docs/config.md (the additions are checked against the serde types, in
/// `the_template_holds_every_key_the_serde_types_declare`).
const FIXED_KEYS: &[(&str, &[&str])] = &[
    (
        "shopify",
        &[
            "shop",
            "api_version",
            "base_url",
            "access_token",
            "webhook_secret",
            "webhook_secret_old",
        ],
    ),
    (
        "cin7",
        &[
            "base_url",
            "requests_per_minute",
            "page_size",
            "account_id",
            "application_key",
        ],
    ),
    ("store", &["path"]),
    (
        "policy",
        &[
            "timezone",
            "velocity_window_days",
            "cover_days",
            "service_level",
            "default_lead_time_days",
            "stockout_adjust",
            "min_in_stock_days",
            "use_cin7_reorder_levels",
            "below_minimum",
            "max_data_age_minutes",
            "snapshot_retention_days",
            "method",
            "history_days",
            "demand_models",
            "target_fill_rate",
            "carrying_rate",
            "order_cost_po",
            "order_cost_line",
        ],
    ),
    ("locations", &["default", "ignore"]),
    ("locations.shopify", &[]),
    ("locations.pools", &[]),
    ("skus", &["mapping_file"]),
    ("skus.\"ABC-123\"", &["supplier", "moq", "pack"]),
    (
        "suppliers.\"Acme Ltd\"",
        &["lead_time_days", "moq", "min_order_value"],
    ),
    (
        "alerts",
        &[
            "slack_webhook_url",
            "email_to",
            "email_from",
            "smtp_host",
            "smtp_port",
            "smtp_username",
            "smtp_password",
        ],
    ),
    ("listen", &["bind", "debounce_ms"]),
];

#[test]
fn template_loads_and_names_every_key_with_a_comment() {
    let template = template_toml();
    let s = Settings::from_toml_str(&template, Path::new("replenish.toml"), &env(&[]))
        .unwrap_or_else(|e| panic!("the template must load: {e}"));
    assert_eq!(s.policy, Policy::default());
    assert_eq!(s.cin7.base_url, DEFAULT_CIN7_BASE_URL);
    assert_eq!(s.http.retry_max_ms, HttpSettings::default().retry_max_ms);
    assert!(s.shopify.access_token.is_none());

    let lines: Vec<&str> = template.lines().collect();
    for (table, keys) in FIXED_KEYS {
        let header = format!("[{table}]");
        let start = lines
            .iter()
            .position(|l| {
                l.trim_start_matches("# ").trim_end() == header
                    || l.starts_with(&format!("{header} "))
            })
            .unwrap_or_else(|| panic!("template lacks {header}"));
        for key in *keys {
            // The key appears (set or commented out) after its header, with a comment line above it.
            let at = lines[start..]
                .iter()
                .position(|l| l.trim_start_matches("# ").starts_with(&format!("{key} =")))
                .map(|i| i + start)
                .unwrap_or_else(|| panic!("template lacks {table}.{key}"));
            assert!(
                lines[at - 1].starts_with('#'),
                "{table}.{key} has no comment above it"
            );
        }
    }
    for spec in SECRETS {
        assert!(
            template.contains(spec.env),
            "template does not name {}",
            spec.env
        );
    }
    // Secrets only as comments.
    for key in [
        "access_token",
        "webhook_secret",
        "account_id",
        "application_key",
        "smtp_password",
        "slack_webhook_url",
    ] {
        assert!(
            !lines.iter().any(|l| l.starts_with(&format!("{key} ="))),
            "{key} is set in the template"
        );
    }
}

#[test]
fn env_template_names_every_secret_with_empty_values() {
    let t = template_env();
    for spec in SECRETS {
        let line = format!("{}=", spec.env);
        assert!(t.lines().any(|l| l == line), "missing {line}");
    }
    for name in [
        "SHOPIFY_ACCESS_TOKEN",
        "SHOPIFY_WEBHOOK_SECRET",
        "SHOPIFY_WEBHOOK_SECRET_OLD",
        "CIN7_ACCOUNT_ID",
        "CIN7_APPLICATION_KEY",
        "SLACK_WEBHOOK_URL",
        "SMTP_PASSWORD",
    ] {
        assert!(t.contains(&format!("\n{name}=\n")), "missing {name}");
    }
    // Every non-comment line is an empty assignment.
    assert!(
        t.lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .all(|l| l.ends_with('='))
    );
}

/// `FIXED_KEYS` tables with their example names as `file::tables` writes user-named tables.
fn generic_table(table: &str) -> &str {
    match table {
        "skus.\"ABC-123\"" => "skus.\"<SKU>\"",
        "suppliers.\"Acme Ltd\"" => "suppliers.\"<supplier>\"",
        other => other,
    }
}

#[test]
fn the_template_holds_every_key_the_serde_types_declare() {
    let tables = file::tables();
    let names: Vec<&str> = tables.iter().map(|(t, _)| *t).collect();
    let count: usize = tables.iter().map(|(_, keys)| keys.len()).sum();
    assert!(
        count > 70,
        "the key list is read from the types: {count} keys"
    );

    let template = template_toml();
    let lines: Vec<&str> = template.lines().collect();
    let is_header = |l: &str| l.trim_start_matches("# ").starts_with('[');
    for (table, keys) in &tables {
        for key in *keys {
            let full = if table.is_empty() {
                (*key).to_string()
            } else {
                format!("{table}.{key}")
            };
            if names.contains(&full.as_str()) {
                continue; // a table of its own, checked as one
            }
            assert!(
                !table.is_empty(),
                "the top-level key {key} is not a table in file::tables()"
            );
        }
        if table.is_empty() {
            continue;
        }
        let shown = table
            .replace("\"<SKU>\"", "\"ABC-123\"")
            .replace("\"<supplier>\"", "\"Acme Ltd\"");
        let header = format!("[{shown}]");
        if keys.is_empty() {
            // A table holding only tables (`[suppliers."…"]`) may appear through those alone.
            assert!(
                lines.iter().any(|l| {
                    let l = l.trim_start_matches("# ");
                    l.trim_end() == header || l.starts_with(&format!("[{shown}."))
                }),
                "template lacks {header}"
            );
            continue;
        }
        let start = lines
            .iter()
            .position(|l| {
                l.trim_start_matches("# ").trim_end() == header
                    || l.starts_with(&format!("{header} "))
            })
            .unwrap_or_else(|| panic!("template lacks {header}"));
        let end = lines[start + 1..]
            .iter()
            .position(|l| is_header(l))
            .map_or(lines.len(), |i| i + start + 1);
        for key in *keys {
            if names.contains(&format!("{table}.{key}").as_str()) {
                continue;
            }
            // Set or commented out, inside its table, with a comment line above it.
            let at = (start + 1..end)
                .find(|&i| {
                    lines[i]
                        .trim_start_matches("# ")
                        .starts_with(&format!("{key} ="))
                })
                .unwrap_or_else(|| panic!("template lacks {table}.{key} under {header}"));
            assert!(
                lines[at - 1].starts_with('#'),
                "{table}.{key} has no comment above it"
            );
        }
    }
}

#[test]
fn the_fixed_key_names_are_all_still_declared() {
    let tables = file::tables();
    for (table, keys) in FIXED_KEYS {
        let declared = tables
            .iter()
            .find(|(t, _)| *t == generic_table(table))
            .map(|(_, keys)| *keys)
            .unwrap_or_else(|| panic!("{table} is no longer a table of the file"));
        for key in *keys {
            assert!(
                declared.contains(key),
                "{table}.{key} is no longer declared"
            );
        }
    }
}

#[test]
fn oversized_numbers_are_too_large_values_not_parse_failures() {
    const HUGE: &str = "99999999999999999999999999999999999999999";
    assert_invalid(
        &with_min(&format!("[policy]\nvelocity_window_days = {HUGE}\n")),
        7,
        "policy.velocity_window_days",
        "must be at most 730",
    );
    assert_invalid(
        &with_min("[policy]\ncover_days = 1e400\n"),
        7,
        "policy.cover_days",
        "must be a finite number",
    );
    assert_invalid(
        &with_min(&format!("[suppliers.\"Acme\"]\nmin_order_value = {HUGE}\n")),
        7,
        "suppliers.\"Acme\".min_order_value",
        "expected an amount",
    );
    assert_invalid(
        &with_min(&format!(
            "[alerts]\nemail_to = [\n  \"a@b.c\",\n  {HUGE},\n]\n"
        )),
        9,
        "alerts.email_to",
        "expected an array of strings",
    );
    assert_invalid(
        "[shopify]\nshop = \"x\"\n[locations]\ndefault = \"M\"\nignore = 1e400\n",
        5,
        "locations.ignore",
        "expected an array of strings",
    );
    assert_invalid(
        &format!("policy = {HUGE}\n{MIN}"),
        1,
        "policy",
        "expected a table",
    );
    // A later error is named by its own key, not the oversized number's.
    assert_invalid(
        &with_min(&format!(
            "[http]\nretry_max_ms = {HUGE}\n[policy]\ncover_days = \"x\"\n"
        )),
        9,
        "policy.cover_days",
        "expected a number",
    );
}

#[test]
fn a_date_where_a_table_belongs() {
    assert_invalid(
        &format!("policy = 1979-05-27\n{MIN}"),
        1,
        "policy",
        "expected a table",
    );
    #[rustfmt::skip]
    const CASES: &[Case] = &[
        ("[skus]\nX = 1979-05-27\n", 7, "skus.X", "unknown key"),
        ("[suppliers]\nAcme = 1979-05-27T07:32:00Z\n", 7, "suppliers.\"Acme\"", "expected a table of supplier overrides"),
        ("[locations.pools]\n\"A\" = 07:32:00\n", 7, "locations.pools.\"A\"", "expected an array of Cin7 location names"),
    ];
    assert_each_invalid(CASES);
}

/// With several problems in one file, the first unknown key or wrongly typed value (in file
/// order) is reported before any value check (ranges, required keys, cross-field rules).
#[test]
fn shape_problems_come_before_value_checks() {
    // `shopify.shop` is missing (a value check) and `policy.bogus` is unknown.
    assert_invalid(
        "[locations]\ndefault = \"M\"\n[policy]\ncover_days = -1\nbogus = 1\n",
        5,
        "policy.bogus",
        "unknown key",
    );
    assert_invalid(
        &with_min("[cin7]\npage_size = 0\n[listen]\nbind = 1\n"),
        9,
        "listen.bind",
        "expected a string",
    );
}
