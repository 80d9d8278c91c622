//! From the file's shape to [`Settings`]: defaults for what the file leaves out, every range
//! check (`limits`) and every cross-field check (min_in_stock_days ≤ velocity_window_days,
//! retry_max_ms ≥ retry_initial_ms, email alerts need a host and a sender, pools and ignore
//! lists, a location in two pools, …), as plain functions over plain values.
//!
//! Each table's function takes the table's whole shape apart (`let PolicyFile { … } = f`), so a
//! key added to `file.rs` and not handled here does not compile. A key's name in messages comes
//! from its field's identifier ([`key!`]), never from a second spelling of it. Errors name
//! `file:line: dotted.key`: a value's line from its span; a missing key at its table's header;
//! a cross-field error at the key that is set (the second one when both are).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rust_decimal::Decimal;
use toml::Spanned;

use super::env::{Env, resolve_secret};
use super::file::{
    AlertsFile, Amount, Cin7File, ConfigFile, Flag, HttpFile, Int, ListenFile, LocationsFile, Num,
    Opt, PolicyFile, ReconcileFile, Secret, ShopifyFile, SkuFile, SkusFile, StoreFile, Str,
    Strings, SupplierFile, SupplierTable,
};
use super::limits::*;
use super::source::{At, Source};
use super::{
    AlertSettings, BelowMinimum, Cin7Settings, ConfigError, DEFAULT_STORE_PATH, HttpSettings,
    ListenSettings, LocationSettings, Method, Policy, PurchaseApproach, ReconcileSettings,
    Settings, ShopifySettings, SkuOverride, SkuSettings, SmtpTls, StoreSettings, SupplierOverride,
};

use crate::core::forecast::{Model, ModelSet};

type Res<T> = Result<T, ConfigError>;

/// A key of a table with its value: the name is the field's identifier (serde's name for it:
/// no field is renamed), so it is spelt once, in `file.rs`.
struct Key<T> {
    name: &'static str,
    value: T,
}

macro_rules! key {
    ($field:ident) => {
        Key {
            name: stringify!($field),
            value: $field,
        }
    };
}

/// Builds the settings from the file read from `src`, taking secrets from `env` first.
pub(crate) fn settings(src: &Source<'_>, file: ConfigFile, env: &dyn Env) -> Res<Settings> {
    let ConfigFile {
        shopify,
        cin7,
        http,
        store,
        policy,
        locations,
        skus,
        suppliers,
        alerts,
        listen,
        reconcile,
    } = file;
    let root = At::root(src);
    let base_dir = src.path.parent().unwrap_or_else(|| Path::new(""));
    Ok(Settings {
        source: Some(src.path.to_path_buf()),
        shopify: self::shopify(&root.sub("shopify"), shopify.0, env)?,
        cin7: self::cin7(&root.sub("cin7"), cin7.0, env)?,
        http: self::http(&root.sub("http"), http.0)?,
        store: self::store(&root.sub("store"), store.0, base_dir)?,
        policy: self::policy(&root.sub("policy"), policy.0)?,
        locations: self::locations(&root.sub("locations"), locations.0)?,
        skus: self::skus(&root.sub("skus"), skus, base_dir)?,
        suppliers: self::suppliers(&root.sub("suppliers"), suppliers.0)?,
        alerts: self::alerts(&root.sub("alerts"), alerts.0, env)?,
        listen: self::listen(&root.sub("listen"), listen.0)?,
        reconcile: self::reconcile(&root.sub("reconcile"), reconcile.0)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Value checks
// ---------------------------------------------------------------------------------------------

fn text(s: Spanned<Str>) -> Spanned<String> {
    let span = s.span();
    Spanned::new(span, s.into_inner().0)
}

/// A string, when set.
fn string(k: Key<Opt<Str>>) -> Option<Spanned<String>> {
    k.value.map(text)
}

/// A string that, when set, must not be empty or only whitespace.
fn name(t: &At<'_, '_>, k: Key<Opt<Str>>) -> Res<Option<Spanned<String>>> {
    let s = k.value.map(text);
    if let Some(s) = &s
        && s.get_ref().trim().is_empty()
    {
        return Err(t.err(k.name, s.span().start, "must not be empty"));
    }
    Ok(s)
}

/// An array of strings that, when set, must not contain an empty one.
fn strings(t: &At<'_, '_>, k: Key<Opt<Strings>>) -> Res<Option<Spanned<Vec<Spanned<String>>>>> {
    let Some(list) = k.value else {
        return Ok(None);
    };
    let span = list.span();
    let items = list.into_inner().0;
    if let Some(empty) = items.iter().find(|s| s.get_ref().trim().is_empty()) {
        return Err(t.err(
            k.name,
            empty.span().start,
            "must not contain an empty string",
        ));
    }
    Ok(Some(Spanned::new(span, items)))
}

/// A whole number in `min..=max`, when set.
fn int(t: &At<'_, '_>, k: &Key<Opt<Int>>, min: u64, max: u64) -> Res<Option<Spanned<u64>>> {
    let Some(v) = &k.value else {
        return Ok(None);
    };
    let at = v.span().start;
    let n = v.get_ref().0;
    if n < i128::from(min) {
        let message = if min == 0 {
            "must not be negative".to_string()
        } else {
            format!("must be at least {min}")
        };
        return Err(t.err(k.name, at, message));
    }
    match u64::try_from(n) {
        Ok(n) if n <= max => Ok(Some(Spanned::new(v.span(), n))),
        _ => Err(t.err(k.name, at, format!("must be at most {max}"))),
    }
}

fn u32_or(t: &At<'_, '_>, k: Key<Opt<Int>>, min: u32, max: u32, default: u32) -> Res<u32> {
    Ok(int(t, &k, u64::from(min), u64::from(max))?
        .and_then(|n| u32::try_from(n.into_inner()).ok())
        .unwrap_or(default))
}

fn u64_or(t: &At<'_, '_>, k: Key<Opt<Int>>, min: u64, max: u64, default: u64) -> Res<u64> {
    Ok(int(t, &k, min, max)?.map_or(default, Spanned::into_inner))
}

/// A finite number, when set.
fn finite(t: &At<'_, '_>, k: Key<Opt<Num>>) -> Res<Option<Spanned<f64>>> {
    let Some(v) = k.value else {
        return Ok(None);
    };
    if v.get_ref().0.is_finite() {
        Ok(Some(Spanned::new(v.span(), v.get_ref().0)))
    } else {
        Err(t.err(k.name, v.span().start, "must be a finite number"))
    }
}

/// A number that must be ≥ 0 (or > 0 when `positive`) and at most `max`, when set.
fn non_negative(t: &At<'_, '_>, k: Key<Opt<Num>>, positive: bool, max: f64) -> Res<Option<f64>> {
    let name = k.name;
    let Some(n) = finite(t, k)? else {
        return Ok(None);
    };
    let value = *n.get_ref();
    if positive && value <= 0.0 {
        return Err(t.err(name, n.span().start, "must be greater than 0"));
    }
    if value < 0.0 {
        return Err(t.err(name, n.span().start, "must not be negative"));
    }
    if value > max {
        return Err(t.err(name, n.span().start, format!("must be at most {max}")));
    }
    Ok(Some(value))
}

fn flag(k: Key<Option<Flag>>, default: bool) -> bool {
    k.value.map_or(default, |f| f.0)
}

/// A secret: the environment variable `var` wins, else the file's value.
fn secret(k: Key<Option<Secret>>, env: &dyn Env, var: &str) -> Option<secrecy::SecretString> {
    resolve_secret(k.value.map(|s| s.0), env, var)
}

fn resolve_path(base_dir: &Path, value: &str) -> PathBuf {
    let p = Path::new(value);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base_dir.join(p)
    }
}

/// Checks an http(s) URL: scheme, a host, no spaces.
fn check_url(t: &At<'_, '_>, key: &str, url: &Spanned<String>) -> Res<()> {
    let u = url.get_ref();
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"));
    match rest {
        None => Err(t.err(key, url.span().start, "must start with http:// or https://")),
        Some(rest) if rest.trim_matches('/').is_empty() => {
            Err(t.err(key, url.span().start, "must name a host after the scheme"))
        }
        Some(_) if u.chars().any(char::is_whitespace) => {
            Err(t.err(key, url.span().start, "must not contain spaces"))
        }
        Some(_) => Ok(()),
    }
}

/// `YYYY-MM` with a month 01–12, or `unstable`.
fn is_api_version(v: &str) -> bool {
    if v == "unstable" {
        return true;
    }
    let b = v.as_bytes();
    b.len() == 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..].iter().all(u8::is_ascii_digit)
        && matches!(v.get(5..).and_then(|m| m.parse::<u8>().ok()), Some(1..=12))
}

fn looks_like_email(s: &str) -> bool {
    // Accept "Name <addr@host>" as well as a bare address.
    let addr = match (s.rfind('<'), s.strip_suffix('>')) {
        (Some(i), Some(inner)) => inner.get(i + 1..).unwrap_or(""),
        _ => s,
    };
    match addr.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !addr.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

fn is_bind_address(s: &str) -> bool {
    if s.parse::<std::net::SocketAddr>().is_ok() {
        return true;
    }
    match s.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && !host.contains(':')
                && !host.chars().any(char::is_whitespace)
                && port.parse::<u16>().is_ok()
        }
        None => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

fn shopify(t: &At<'_, '_>, f: ShopifyFile, env: &dyn Env) -> Res<ShopifySettings> {
    let ShopifyFile {
        shop,
        api_version,
        base_url,
        access_token,
        webhook_secret,
        webhook_secret_old,
        orders_page_size,
        line_items_page_size,
        watermark_overlap_secs,
        bulk_poll_ms,
        bulk_stall_ms,
    } = f;
    let shop_key = stringify!(shop);
    let shop = string(key!(shop));
    if let Some(s) = &shop {
        let v = s.get_ref();
        if v.contains("://") || v.contains('/') || v.chars().any(char::is_whitespace) {
            return Err(t.err(
                shop_key,
                s.span().start,
                "give the shop's domain only, e.g. \"your-store.myshopify.com\" (use shopify.base_url for a full URL)",
            ));
        }
    }
    let base_url_key = stringify!(base_url);
    let base_url = match string(key!(base_url)) {
        Some(url) => {
            check_url(t, base_url_key, &url)?;
            url.get_ref().trim_end_matches('/').to_string()
        }
        None => match &shop {
            Some(s) if !s.get_ref().is_empty() => format!("https://{}", s.get_ref()),
            Some(s) => {
                return Err(t.err(
                    shop_key,
                    s.span().start,
                    "must not be empty (or set shopify.base_url)",
                ));
            }
            None => {
                return Err(t.missing(
                    shop_key,
                    "required: your shop's domain, e.g. shop = \"your-store.myshopify.com\" (or set shopify.base_url)",
                ));
            }
        },
    };
    let mut s = ShopifySettings::with(shop.map(Spanned::into_inner).unwrap_or_default(), base_url);
    let version_key = stringify!(api_version);
    if let Some(v) = string(key!(api_version)) {
        if !is_api_version(v.get_ref()) {
            return Err(t.err(
                version_key,
                v.span().start,
                "expected a Shopify API version like \"2026-01\" (or \"unstable\")",
            ));
        }
        s.api_version = v.into_inner();
    }
    s.access_token = secret(key!(access_token), env, "SHOPIFY_ACCESS_TOKEN");
    s.webhook_secret = secret(key!(webhook_secret), env, "SHOPIFY_WEBHOOK_SECRET");
    s.webhook_secret_old = secret(key!(webhook_secret_old), env, "SHOPIFY_WEBHOOK_SECRET_OLD");
    s.orders_page_size = u32_or(
        t,
        key!(orders_page_size),
        1,
        SHOPIFY_MAX_PAGE,
        s.orders_page_size,
    )?;
    s.line_items_page_size = u32_or(
        t,
        key!(line_items_page_size),
        1,
        SHOPIFY_MAX_PAGE,
        s.line_items_page_size,
    )?;
    s.watermark_overlap_secs = u64_or(
        t,
        key!(watermark_overlap_secs),
        0,
        MAX_OVERLAP_SECS,
        s.watermark_overlap_secs,
    )?;
    s.bulk_poll_ms = u64_or(t, key!(bulk_poll_ms), 1, MAX_MS, s.bulk_poll_ms)?;
    s.bulk_stall_ms = u64_or(t, key!(bulk_stall_ms), 1, MAX_MS, s.bulk_stall_ms)?;
    Ok(s)
}

fn cin7(t: &At<'_, '_>, f: Cin7File, env: &dyn Env) -> Res<Cin7Settings> {
    let Cin7File {
        base_url,
        requests_per_minute,
        page_size,
        purchase_approach,
        account_id,
        application_key,
    } = f;
    let mut c = Cin7Settings::default();
    let url_key = stringify!(base_url);
    if let Some(url) = string(key!(base_url)) {
        check_url(t, url_key, &url)?;
        let mut url = url.into_inner();
        if !url.ends_with('/') {
            url.push('/');
        }
        c.base_url = url;
    }
    c.requests_per_minute = u32_or(
        t,
        key!(requests_per_minute),
        1,
        MAX_RPM,
        c.requests_per_minute,
    )?;
    c.page_size = u32_or(t, key!(page_size), 1, CIN7_MAX_PAGE, c.page_size)?;
    let approach_key = stringify!(purchase_approach);
    if let Some(a) = string(key!(purchase_approach)) {
        c.purchase_approach = match a.get_ref().trim().to_ascii_uppercase().as_str() {
            "INVOICE" => PurchaseApproach::Invoice,
            "STOCK" => PurchaseApproach::Stock,
            _ => {
                return Err(t.err(
                    approach_key,
                    a.span().start,
                    format!(
                        "expected \"INVOICE\" or \"STOCK\", found \"{}\"",
                        a.get_ref()
                    ),
                ));
            }
        };
    }
    c.account_id = secret(key!(account_id), env, "CIN7_ACCOUNT_ID");
    c.application_key = secret(key!(application_key), env, "CIN7_APPLICATION_KEY");
    Ok(c)
}

fn http(t: &At<'_, '_>, f: HttpFile) -> Res<HttpSettings> {
    let HttpFile {
        timeout_secs,
        max_retries,
        retry_initial_ms,
        retry_max_ms,
    } = f;
    let mut h = HttpSettings::default();
    h.timeout_secs = u64_or(t, key!(timeout_secs), 1, MAX_TIMEOUT_SECS, h.timeout_secs)?;
    h.max_retries = u32_or(t, key!(max_retries), 0, MAX_RETRIES, h.max_retries)?;
    let (initial, max) = (key!(retry_initial_ms), key!(retry_max_ms));
    let initial_at = int(t, &initial, 0, MAX_MS)?;
    let max_at = int(t, &max, 0, MAX_MS)?;
    h.retry_initial_ms = initial_at
        .as_ref()
        .map_or(h.retry_initial_ms, |v| *v.get_ref());
    h.retry_max_ms = max_at.as_ref().map_or(h.retry_max_ms, |v| *v.get_ref());
    if h.retry_max_ms < h.retry_initial_ms {
        let message = format!(
            "{} ({}) must not be less than {} ({})",
            max.name, h.retry_max_ms, initial.name, h.retry_initial_ms
        );
        return Err(match (&max_at, &initial_at) {
            (Some(m), _) => t.err(max.name, m.span().start, message),
            (None, Some(i)) => t.err(initial.name, i.span().start, message),
            (None, None) => t.missing(max.name, message),
        });
    }
    Ok(h)
}

fn store(t: &At<'_, '_>, f: StoreFile, base_dir: &Path) -> Res<StoreSettings> {
    let StoreFile { path } = f;
    let path =
        name(t, key!(path))?.map_or_else(|| DEFAULT_STORE_PATH.to_string(), Spanned::into_inner);
    Ok(StoreSettings {
        path: resolve_path(base_dir, &path),
    })
}

fn policy(t: &At<'_, '_>, f: PolicyFile) -> Res<Policy> {
    let PolicyFile {
        timezone,
        velocity_window_days,
        cover_days,
        service_level,
        default_lead_time_days,
        stockout_adjust,
        min_in_stock_days,
        use_cin7_reorder_levels,
        below_minimum,
        max_data_age_minutes,
        snapshot_retention_days,
        method,
        history_days,
        demand_models,
        target_fill_rate,
        carrying_rate,
        order_cost_po,
        order_cost_line,
    } = f;
    let mut p = Policy::default();
    let tz_key = stringify!(timezone);
    if let Some(tz) = string(key!(timezone)) {
        p.timezone = chrono_tz::Tz::from_str(tz.get_ref()).map_err(|_| {
            t.err(
                tz_key,
                tz.span().start,
                format!(
                    "unknown time zone \"{}\": expected an IANA name such as \"Europe/London\" or \"UTC\"",
                    tz.get_ref()
                ),
            )
        })?;
    }
    let window = key!(velocity_window_days);
    let window_at = int(t, &window, 1, MAX_WINDOW_DAYS)?;
    p.velocity_window_days = window_at
        .as_ref()
        .and_then(|w| u32::try_from(*w.get_ref()).ok())
        .unwrap_or(p.velocity_window_days);
    if let Some(c) = non_negative(t, key!(cover_days), false, MAX_DAYS)? {
        p.cover_days = c;
    }
    let service_key = stringify!(service_level);
    if let Some(s) = finite(t, key!(service_level))? {
        let v = *s.get_ref();
        if v <= 0.0 || v >= 1.0 {
            return Err(t.err(
                service_key,
                s.span().start,
                "must be strictly between 0 and 1, e.g. 0.95",
            ));
        }
        p.service_level = v;
    }
    p.default_lead_time_days = u32_or(
        t,
        key!(default_lead_time_days),
        0,
        MAX_WHOLE_DAYS,
        p.default_lead_time_days,
    )?;
    p.stockout_adjust = flag(key!(stockout_adjust), p.stockout_adjust);
    let min_in_stock = key!(min_in_stock_days);
    let min_in_stock_at = int(t, &min_in_stock, 0, MAX_WINDOW_DAYS)?;
    p.min_in_stock_days = min_in_stock_at
        .as_ref()
        .and_then(|m| u32::try_from(*m.get_ref()).ok())
        .unwrap_or(p.min_in_stock_days);
    if p.min_in_stock_days > p.velocity_window_days {
        let message = format!(
            "{} ({}) must not exceed {} ({})",
            min_in_stock.name, p.min_in_stock_days, window.name, p.velocity_window_days
        );
        return Err(match (&min_in_stock_at, &window_at) {
            (Some(m), _) => t.err(min_in_stock.name, m.span().start, message),
            (None, Some(w)) => t.err(window.name, w.span().start, message),
            (None, None) => t.missing(min_in_stock.name, message),
        });
    }
    p.use_cin7_reorder_levels = flag(key!(use_cin7_reorder_levels), p.use_cin7_reorder_levels);
    let below_key = stringify!(below_minimum);
    if let Some(b) = string(key!(below_minimum)) {
        p.below_minimum = match b.get_ref().as_str() {
            "hold" => BelowMinimum::Hold,
            "top_up" => BelowMinimum::TopUp,
            other => {
                return Err(t.err(
                    below_key,
                    b.span().start,
                    format!("expected \"hold\" or \"top_up\", found \"{other}\""),
                ));
            }
        };
    }
    p.max_data_age_minutes = u64_or(
        t,
        key!(max_data_age_minutes),
        0,
        MAX_AGE_MINUTES,
        p.max_data_age_minutes,
    )?;
    p.snapshot_retention_days = u32_or(
        t,
        key!(snapshot_retention_days),
        1,
        MAX_WHOLE_DAYS,
        p.snapshot_retention_days,
    )?;
    let method_key = stringify!(method);
    if let Some(m) = string(key!(method)) {
        p.method = match m.get_ref().as_str() {
            "classic" => Method::Classic,
            "adaptive" => Method::Adaptive,
            other => {
                return Err(t.err(
                    method_key,
                    m.span().start,
                    format!("expected \"classic\" or \"adaptive\", found \"{other}\""),
                ));
            }
        };
    }
    p.history_days = u32_or(
        t,
        key!(history_days),
        1,
        MAX_WINDOW_DAYS as u32,
        p.history_days,
    )?;
    let models_key = stringify!(demand_models);
    if let Some(list) = strings(t, key!(demand_models))? {
        let mut set = ModelSet::flat_only();
        for name in list.get_ref() {
            let Some(m) = Model::parse(name.get_ref()) else {
                return Err(t.err(
                    models_key,
                    name.span().start,
                    format!(
                        "unknown demand model \"{}\": expected some of {}",
                        name.get_ref(),
                        ModelSet::all().names().join(", ")
                    ),
                ));
            };
            set = set.with(m, true);
        }
        p.demand_models = set;
    }
    let fill_key = stringify!(target_fill_rate);
    if let Some(s) = finite(t, key!(target_fill_rate))? {
        let v = *s.get_ref();
        if v <= 0.0 || v >= 1.0 {
            return Err(t.err(
                fill_key,
                s.span().start,
                "must be strictly between 0 and 1, e.g. 0.98",
            ));
        }
        p.target_fill_rate = v;
    }
    if let Some(c) = non_negative(t, key!(carrying_rate), true, MAX_CARRYING_RATE)? {
        p.carrying_rate = c;
    }
    if let Some(c) = non_negative(t, key!(order_cost_po), false, MAX_MONEY as f64)? {
        p.order_cost_po = c;
    }
    if let Some(c) = non_negative(t, key!(order_cost_line), false, MAX_MONEY as f64)? {
        p.order_cost_line = c;
    }
    Ok(p)
}

fn locations(t: &At<'_, '_>, f: LocationsFile) -> Res<LocationSettings> {
    let LocationsFile {
        default,
        ignore,
        shopify,
        pools,
    } = f;
    let default_key = stringify!(default);
    let default = name(t, key!(default))?.ok_or_else(|| {
        t.missing(
            default_key,
            "required: the Cin7 location that receives demand from orders with no mapped location, e.g. default = \"Main Warehouse\"",
        )
    })?;
    let ignore: Vec<String> = strings(t, key!(ignore))?
        .map(|v| {
            v.into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect()
        })
        .unwrap_or_default();
    let ignored = |name: &str| ignore.iter().any(|i| i == name);
    if ignored(default.get_ref()) {
        return Err(t.err(
            default_key,
            default.span().start,
            format!(
                "\"{}\" is also listed in locations.ignore; the default location must be planned",
                default.get_ref()
            ),
        ));
    }

    let shopify_t = t.sub(stringify!(shopify));
    let mut mapped = BTreeMap::new();
    for (id, cin7) in shopify.0 {
        let span = cin7.span();
        let cin7 = cin7.into_inner().0;
        if id.trim().is_empty() {
            return Err(shopify_t.err_at_key(&id, "the Shopify location id must not be empty"));
        }
        if cin7.trim().is_empty() {
            return Err(shopify_t.err(&id, span.start, "must not be empty"));
        }
        if ignored(&cin7) {
            return Err(shopify_t.err(
                &id,
                span.start,
                format!("maps to \"{cin7}\", which is listed in locations.ignore"),
            ));
        }
        mapped.insert(id, cin7);
    }

    let pools_t = t.sub(stringify!(pools));
    let mut pooled = BTreeMap::new();
    // location -> the pool key it belongs to
    let mut pool_of: BTreeMap<String, String> = BTreeMap::new();
    for (pool, items) in pools.0 {
        let key_at = pools_t.key_offset(&pool);
        if pool.trim().is_empty() {
            return Err(pools_t.err(&pool, key_at, "the pool's key location must not be empty"));
        }
        if ignored(&pool) {
            return Err(pools_t.err(
                &pool,
                key_at,
                format!(
                    "\"{pool}\" is listed in locations.ignore; an ignored location cannot be pooled"
                ),
            ));
        }
        let mut members: Vec<String> = Vec::with_capacity(items.0.len());
        let mut claim = |name: &str, offset: usize| -> Res<()> {
            if let Some(other) = pool_of.get(name)
                && *other != pool
            {
                return Err(pools_t.err(
                    &pool,
                    offset,
                    format!(
                        "\"{name}\" is already in the pool \"{other}\"; a location can be in one pool only"
                    ),
                ));
            }
            pool_of.insert(name.to_string(), pool.clone());
            Ok(())
        };
        claim(&pool, key_at)?;
        for item in items.0 {
            let at = item.span().start;
            let name = item.into_inner();
            if name.trim().is_empty() {
                return Err(pools_t.err(&pool, at, "must not contain an empty location name"));
            }
            if members.contains(&name) {
                return Err(pools_t.err(&pool, at, format!("names \"{name}\" twice")));
            }
            if ignored(&name) {
                return Err(pools_t.err(
                    &pool,
                    at,
                    format!("\"{name}\" is listed in locations.ignore; an ignored location cannot be pooled"),
                ));
            }
            claim(&name, at)?;
            members.push(name);
        }
        pooled.insert(pool, members);
    }

    Ok(LocationSettings {
        default: default.into_inner(),
        ignore,
        shopify: mapped,
        pools: pooled,
    })
}

fn skus(t: &At<'_, '_>, f: SkusFile, base_dir: &Path) -> Res<SkuSettings> {
    let SkusFile {
        mapping_file,
        overrides,
    } = f;
    let mut out = SkuSettings::default();
    for (sku, table) in overrides {
        if sku.trim().is_empty() {
            return Err(t.err_at_key(&sku, "the SKU must not be empty"));
        }
        let SkuFile {
            supplier,
            moq,
            pack,
        } = table;
        let s = t.sub(&sku);
        let o = SkuOverride {
            supplier: name(&s, key!(supplier))?.map(Spanned::into_inner),
            moq: non_negative(&s, key!(moq), false, MAX_UNITS)?,
            pack: non_negative(&s, key!(pack), true, MAX_UNITS)?,
        };
        out.overrides.insert(sku, o);
    }
    out.mapping_file = name(t, key!(mapping_file))?.map(|p| resolve_path(base_dir, p.get_ref()));
    Ok(out)
}

fn suppliers(
    t: &At<'_, '_>,
    f: Vec<(String, SupplierTable)>,
) -> Res<BTreeMap<String, SupplierOverride>> {
    let mut out = BTreeMap::new();
    for (supplier, SupplierTable(table)) in f {
        if supplier.trim().is_empty() {
            return Err(t.err_at_key(&supplier, "the supplier name must not be empty"));
        }
        let SupplierFile {
            lead_time_days,
            moq,
            min_order_value,
            currency_rate,
        } = table;
        let s = t.sub(&supplier);
        let min_order_value = money(&s, key!(min_order_value))?;
        out.insert(
            supplier,
            SupplierOverride {
                lead_time_days: non_negative(&s, key!(lead_time_days), false, MAX_DAYS)?,
                moq: non_negative(&s, key!(moq), false, MAX_UNITS)?,
                min_order_value,
                currency_rate: non_negative(&s, key!(currency_rate), true, MAX_RATE)?,
            },
        );
    }
    Ok(out)
}

/// An amount of money: not negative, at most [`MAX_MONEY`].
fn money(t: &At<'_, '_>, k: Key<Opt<Amount>>) -> Res<Option<Decimal>> {
    let Some(d) = k.value else {
        return Ok(None);
    };
    let (at, d) = (d.span().start, d.into_inner().0);
    if d.is_sign_negative() && !d.is_zero() {
        return Err(t.err(k.name, at, "must not be negative"));
    }
    if d > Decimal::from(MAX_MONEY) {
        return Err(t.err(k.name, at, format!("must be at most {MAX_MONEY}")));
    }
    Ok(Some(d))
}

fn alerts(t: &At<'_, '_>, f: AlertsFile, env: &dyn Env) -> Res<AlertSettings> {
    let AlertsFile {
        slack_webhook_url,
        email_to,
        email_from,
        smtp_host,
        smtp_port,
        smtp_username,
        smtp_password,
        smtp_tls,
        repeat_after_hours,
    } = f;
    let to_key = stringify!(email_to);
    let email_to = strings(t, key!(email_to))?;
    if let Some(list) = &email_to {
        for addr in list.get_ref() {
            if !looks_like_email(addr.get_ref()) {
                return Err(t.err(
                    to_key,
                    addr.span().start,
                    format!("\"{}\" is not an email address", addr.get_ref()),
                ));
            }
        }
    }
    let from_key = stringify!(email_from);
    let email_from = name(t, key!(email_from))?;
    if let Some(from) = &email_from
        && !looks_like_email(from.get_ref())
    {
        return Err(t.err(
            from_key,
            from.span().start,
            format!("\"{}\" is not an email address", from.get_ref()),
        ));
    }
    let host_key = stringify!(smtp_host);
    let smtp_host = name(t, key!(smtp_host))?;
    let smtp_port = int(t, &key!(smtp_port), 1, u64::from(u16::MAX))?
        .and_then(|p| u16::try_from(p.into_inner()).ok());
    let smtp_username = name(t, key!(smtp_username))?;
    let tls_key = stringify!(smtp_tls);
    let smtp_tls = match string(key!(smtp_tls)) {
        None => SmtpTls::StartTls,
        Some(v) => match v.get_ref().as_str() {
            "starttls" => SmtpTls::StartTls,
            "tls" => SmtpTls::Tls,
            "none" => SmtpTls::None,
            other => {
                return Err(t.err(
                    tls_key,
                    v.span().start,
                    format!("expected \"starttls\", \"tls\" or \"none\", found \"{other}\""),
                ));
            }
        },
    };
    if let Some(list) = email_to.as_ref().filter(|l| !l.get_ref().is_empty()) {
        let missing: Vec<String> = [
            (t.key(host_key), smtp_host.is_none()),
            (t.key(from_key), email_from.is_none()),
        ]
        .into_iter()
        .filter_map(|(k, m)| m.then_some(k))
        .collect();
        if !missing.is_empty() {
            return Err(t.err(
                to_key,
                list.span().start,
                format!("email alerts also need {}", missing.join(" and ")),
            ));
        }
    }
    Ok(AlertSettings {
        slack_webhook_url: secret(key!(slack_webhook_url), env, "SLACK_WEBHOOK_URL"),
        email_to: email_to
            .map(|l| {
                l.into_inner()
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect()
            })
            .unwrap_or_default(),
        email_from: email_from.map(Spanned::into_inner),
        smtp_host: smtp_host.map(Spanned::into_inner),
        smtp_port,
        smtp_username: smtp_username.map(Spanned::into_inner),
        smtp_password: secret(key!(smtp_password), env, "SMTP_PASSWORD"),
        smtp_tls,
        repeat_after_hours: u32_or(
            t,
            key!(repeat_after_hours),
            0,
            24 * 365,
            AlertSettings::default().repeat_after_hours,
        )?,
    })
}

fn listen(t: &At<'_, '_>, f: ListenFile) -> Res<ListenSettings> {
    let ListenFile {
        bind,
        debounce_ms,
        header_timeout_ms,
        body_timeout_ms,
        idle_timeout_ms,
        max_connections,
        max_buffered_mib,
    } = f;
    let mut l = ListenSettings::default();
    let bind_key = stringify!(bind);
    if let Some(bind) = string(key!(bind)) {
        if !is_bind_address(bind.get_ref()) {
            return Err(t.err(
                bind_key,
                bind.span().start,
                "expected host:port, e.g. \"127.0.0.1:8080\"",
            ));
        }
        l.bind = bind.into_inner();
    }
    l.debounce_ms = u64_or(t, key!(debounce_ms), 0, MAX_MS, l.debounce_ms)?;
    l.header_timeout_ms = u64_or(t, key!(header_timeout_ms), 1, MAX_MS, l.header_timeout_ms)?;
    l.body_timeout_ms = u64_or(t, key!(body_timeout_ms), 1, MAX_MS, l.body_timeout_ms)?;
    l.idle_timeout_ms = u64_or(t, key!(idle_timeout_ms), 1, MAX_MS, l.idle_timeout_ms)?;
    l.max_connections = u32_or(t, key!(max_connections), 1, 1_000_000, l.max_connections)?;
    l.max_buffered_mib = u32_or(t, key!(max_buffered_mib), 1, 65_536, l.max_buffered_mib)?;
    Ok(l)
}

fn reconcile(t: &At<'_, '_>, f: ReconcileFile) -> Res<ReconcileSettings> {
    let ReconcileFile {
        stale_draft_days,
        velocity_jump_sigma,
    } = f;
    let mut r = ReconcileSettings::default();
    r.stale_draft_days = u32_or(
        t,
        key!(stale_draft_days),
        1,
        MAX_WHOLE_DAYS,
        r.stale_draft_days,
    )?;
    if let Some(k) = non_negative(t, key!(velocity_jump_sigma), true, MAX_SIGMA)? {
        r.velocity_jump_sigma = k;
    }
    Ok(r)
}
