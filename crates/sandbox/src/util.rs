//! Small helpers shared by the sandbox routes: query-string parsing (case-insensitive names),
//! JSON answers, and the date formats each API uses.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;

/// Decoded `name=value` pairs of a query string.
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Splits on `&` and decodes as `application/x-www-form-urlencoded` (`+` is a space; a `%`
    /// not followed by two hex digits stays as it is; invalid UTF-8 becomes U+FFFD).
    pub fn parse(raw: Option<&str>) -> Params {
        Params(
            form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The value of `name`, compared case-insensitively; the first one wins.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `Some(value)` only when the parameter is present and not blank.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    pub fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
    }
}

pub fn json(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        v.to_string(),
    )
        .into_response()
}

/// Cin7's date-time format (`yyyy-MM-ddTHH:mm:ss.fff`, UTC, no zone suffix).
pub fn cin7_dt(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// Cin7's format for plain dates (`yyyy-MM-ddT00:00:00`).
pub fn cin7_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%dT00:00:00").to_string()
}

/// Shopify's `DateTime` scalar (ISO 8601, UTC, `Z`).
pub fn shopify_dt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses the date-times clients send: ISO 8601 with or without fraction and zone, or a bare date.
/// A value without a zone is UTC.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let bare = s.strip_suffix('Z').unwrap_or(s);
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(bare, f) {
            return Some(t.and_utc());
        }
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z") {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(bare, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Case-insensitive lookup of a JSON object member.
pub fn member<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

pub fn member_str<'a>(obj: &'a Value, name: &str) -> Option<&'a str> {
    member(obj, name).and_then(Value::as_str)
}

/// Rounds to cents.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Money in cents as a JSON number.
pub fn money(cents: i64) -> Value {
    serde_json::Number::from_f64(cents as f64 / 100.0)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// A float as a JSON number (null for NaN/inf, which never happens with sane data).
pub fn num(x: f64) -> Value {
    serde_json::Number::from_f64(x)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_case_insensitive_and_decoded() {
        let p = Params::parse(Some("Page=2&limit=10&Search=Acme%20Ltd&x=a+b&bad=%zz"));
        assert_eq!(p.get("page"), Some("2"));
        assert_eq!(p.get("LIMIT"), Some("10"));
        assert_eq!(p.get("search"), Some("Acme Ltd"));
        assert_eq!(p.get("x"), Some("a b"));
        assert_eq!(p.get("bad"), Some("%zz"));
        let q = Params::parse(Some("a=100%&&flag&c=%E2%82%AC&d=%FF"));
        assert_eq!(q.get("a"), Some("100%"));
        assert_eq!(q.get("flag"), Some(""));
        assert_eq!(q.get("c"), Some("€"));
        assert_eq!(q.get("d"), Some("\u{fffd}"));
    }

    #[test]
    fn datetimes() {
        let a = parse_datetime("2026-01-02T03:04:05Z").map(shopify_dt);
        assert_eq!(a.as_deref(), Some("2026-01-02T03:04:05Z"));
        let b = parse_datetime("2026-01-02T03:04:05.123").map(shopify_dt);
        assert_eq!(b.as_deref(), Some("2026-01-02T03:04:05Z"));
        let c = parse_datetime("2026-01-02T05:04:05+02:00").map(shopify_dt);
        assert_eq!(c.as_deref(), Some("2026-01-02T03:04:05Z"));
        let d = parse_datetime("2026-01-02").map(shopify_dt);
        assert_eq!(d.as_deref(), Some("2026-01-02T00:00:00Z"));
        assert!(parse_datetime("yesterday").is_none());
    }
}
