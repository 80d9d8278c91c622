//! The sane range of every numeric setting. A value outside it is a configuration error naming
//! the key (exit 2), never a panic or an absurd purchase order later: `velocity_window_days =
//! 4294967295` once passed validation and crashed the planner's date arithmetic, and
//! `cover_days = 1e300` pushed POs for 6e299 units. The bounds are wide enough for any real shop.
//!
//! The checks themselves are in `validate`; `app` uses these bounds for the matching flags.

/// Days: two years covers a yearly-seasonal window and then some.
pub const MAX_WINDOW_DAYS: u64 = 730;
/// Days of cover, lead times and retention: ten years.
pub const MAX_DAYS: f64 = 3650.0;
/// Whole-day settings (lead time, retention, stale drafts).
pub const MAX_WHOLE_DAYS: u32 = 3650;
/// Units (MOQ, pack): a billion.
pub const MAX_UNITS: f64 = 1e9;
/// Money (a supplier's minimum order value): a trillion in the supplier's currency.
pub const MAX_MONEY: i64 = 1_000_000_000_000;
/// Currency rate: nothing real is a million to one.
pub const MAX_RATE: f64 = 1e6;
/// Most a yearly carrying rate may be (10 = 1,000 % a year).
pub const MAX_CARRYING_RATE: f64 = 10.0;
/// Minutes of data age: a year.
pub const MAX_AGE_MINUTES: u64 = 525_600;
/// Seconds of request timeout: an hour.
pub const MAX_TIMEOUT_SECS: u64 = 3600;
/// Retries of one request.
pub const MAX_RETRIES: u32 = 20;
/// Milliseconds of a retry's wait, a bulk poll interval or a debounce: an hour.
pub const MAX_MS: u64 = 3_600_000;
/// Seconds of watermark overlap: a day.
pub const MAX_OVERLAP_SECS: u64 = 86_400;
/// Cin7 requests a minute (Cin7 allows 60 per application; a sandbox may allow more).
pub const MAX_RPM: u32 = 1_000_000;
/// Standard deviations for a velocity jump.
pub const MAX_SIGMA: f64 = 1000.0;

/// Largest `first:` page Shopify's GraphQL Admin API accepts (`shopify.orders_page_size`,
/// `shopify.line_items_page_size`).
pub const SHOPIFY_MAX_PAGE: u32 = 250;
/// Largest `Limit` Cin7 Core accepts (`cin7.page_size`).
pub const CIN7_MAX_PAGE: u32 = 1000;
