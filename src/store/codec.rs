//! How values are written to and read back from SQLite, and how failures get their context.
//!
//! Encodings (fixed so that text order is value order where the store compares or sorts on them):
//! - `DateTime<Utc>`: RFC 3339 UTC with nine fractional digits and `Z`
//!   (`2024-05-01T12:00:00.000000000Z`);
//! - `NaiveDate`: `YYYY-MM-DD`; `NaiveDateTime`: `YYYY-MM-DDTHH:MM:SS.fffffffff`;
//! - `Decimal`: its exact text (scale kept, `12.3450` stays `12.3450`);
//! - quantities: REAL; booleans: INTEGER 0/1.
//!
//! Reading goes through [`Rec`], which turns any unexpected value into [`StoreError::Corrupt`] naming
//! the table, the column and the row (by its key columns). Nothing read back from the file is unwrapped.

use std::fmt::Display;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use rusqlite::types::ValueRef;
use rust_decimal::Decimal;

use super::StoreError;

/// `chrono` format of stored dates.
const DATE_FORMAT: &str = "%Y-%m-%d";
/// `chrono` format of stored naive date-times (fixed nine fractional digits).
const NAIVE_DATETIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.9f";

/// Encodes a UTC timestamp (fixed precision, so text order = time order for years 0–9999).
pub(crate) fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub(crate) fn opt_ts(t: Option<&DateTime<Utc>>) -> Option<String> {
    t.map(ts)
}

pub(crate) fn date(d: &NaiveDate) -> String {
    d.format(DATE_FORMAT).to_string()
}

pub(crate) fn opt_date(d: Option<&NaiveDate>) -> Option<String> {
    d.map(date)
}

pub(crate) fn naive_dt(t: &NaiveDateTime) -> String {
    t.format(NAIVE_DATETIME_FORMAT).to_string()
}

pub(crate) fn opt_naive_dt(t: Option<&NaiveDateTime>) -> Option<String> {
    t.map(naive_dt)
}

pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>, String> {
    if let Some(t) = parse_ts_fixed(s) {
        return Ok(t);
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 timestamp: {e}"))
}

/// The fast path for the exact form [`ts`] writes (`YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`): reading a
/// million timestamps through the general RFC 3339 parser is measurable. `None` = use that parser.
fn parse_ts_fixed(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 30
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[29] != b'Z'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(num(0, 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(5, 7)?, num(8, 10)?)?;
    let time =
        NaiveTime::from_hms_nano_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 29)?)?;
    Some(date.and_time(time).and_utc())
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, DATE_FORMAT)
        .map_err(|e| format!("{s:?} is not a YYYY-MM-DD date: {e}"))
}

pub(crate) fn parse_naive_dt(s: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .map_err(|e| format!("{s:?} is not a date-time: {e}"))
}

/// A count for an INTEGER column (SQLite integers are signed 64-bit).
pub(crate) fn count_to_sql(n: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|e| StoreError::Sqlite {
        context: format!("{what}: {n} does not fit in a 64-bit signed integer"),
        source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
    })
}

/// Attaches "what was being done" to a rusqlite result.
pub(crate) trait Context<T> {
    fn ctx(self, context: &str) -> Result<T, StoreError>;
    fn with_ctx(self, context: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn ctx(self, context: &str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite {
            context: context.to_owned(),
            source,
        })
    }

    fn with_ctx(self, context: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite {
            context: context(),
            source,
        })
    }
}

/// Runs the query `sql` with `params` and reads every row it returns with `read`, in order;
/// a failure to prepare, run or step it is named by `context`.
pub(crate) fn query_all<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    context: &str,
    mut read: impl FnMut(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).ctx(context)?;
    let mut rows = stmt.query(params).ctx(context)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().ctx(context)? {
        out.push(read(row)?);
    }
    Ok(out)
}

/// A row being read from `table`, identified (in error messages only) by its `key` columns.
pub(crate) struct Rec<'r, 's> {
    row: &'r rusqlite::Row<'s>,
    table: &'static str,
    key: &'static [usize],
}

impl<'r, 's> Rec<'r, 's> {
    pub(crate) fn new(
        row: &'r rusqlite::Row<'s>,
        table: &'static str,
        key: &'static [usize],
    ) -> Self {
        Rec { row, table, key }
    }

    /// The row's key columns, for messages (computed only on failure).
    fn describe_key(&self) -> String {
        let parts: Vec<String> = self
            .key
            .iter()
            .map(|&i| match self.row.get_ref(i) {
                Ok(ValueRef::Null) => "NULL".to_owned(),
                Ok(ValueRef::Integer(n)) => n.to_string(),
                Ok(ValueRef::Real(x)) => x.to_string(),
                Ok(ValueRef::Text(t)) => format!("{:?}", String::from_utf8_lossy(t)),
                Ok(ValueRef::Blob(b)) => format!("<blob of {} bytes>", b.len()),
                Err(_) => "?".to_owned(),
            })
            .collect();
        parts.join(", ")
    }

    pub(crate) fn corrupt(&self, column: &str, message: impl Display) -> StoreError {
        StoreError::Corrupt {
            context: format!(
                "reading {}.{} of row ({})",
                self.table,
                column,
                self.describe_key()
            ),
            message: message.to_string(),
        }
    }

    /// Borrowed text, to parse without allocating.
    pub(crate) fn str(&self, idx: usize, column: &str) -> Result<&'r str, StoreError> {
        let v = self.row.get_ref(idx).map_err(|e| self.corrupt(column, e))?;
        v.as_str().map_err(|e| self.corrupt(column, e))
    }

    pub(crate) fn opt_str(&self, idx: usize, column: &str) -> Result<Option<&'r str>, StoreError> {
        let v = self.row.get_ref(idx).map_err(|e| self.corrupt(column, e))?;
        v.as_str_or_null().map_err(|e| self.corrupt(column, e))
    }

    pub(crate) fn text(&self, idx: usize, column: &str) -> Result<String, StoreError> {
        self.str(idx, column).map(str::to_owned)
    }

    pub(crate) fn opt_text(&self, idx: usize, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.opt_str(idx, column)?.map(str::to_owned))
    }

    pub(crate) fn int(&self, idx: usize, column: &str) -> Result<i64, StoreError> {
        match self.row.get_ref(idx).map_err(|e| self.corrupt(column, e))? {
            ValueRef::Integer(n) => Ok(n),
            other => Err(self.corrupt(
                column,
                format!("expected an integer, found {:?}", other.data_type()),
            )),
        }
    }

    pub(crate) fn opt_int(&self, idx: usize, column: &str) -> Result<Option<i64>, StoreError> {
        match self.row.get_ref(idx).map_err(|e| self.corrupt(column, e))? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(n) => Ok(Some(n)),
            other => Err(self.corrupt(
                column,
                format!("expected an integer, found {:?}", other.data_type()),
            )),
        }
    }

    pub(crate) fn count(&self, idx: usize, column: &str) -> Result<u64, StoreError> {
        let n = self.int(idx, column)?;
        u64::try_from(n).map_err(|_| self.corrupt(column, format!("negative count {n}")))
    }

    pub(crate) fn real(&self, idx: usize, column: &str) -> Result<f64, StoreError> {
        match self.row.get_ref(idx).map_err(|e| self.corrupt(column, e))? {
            ValueRef::Real(x) => Ok(x),
            // SQLite may hand back a whole REAL as an integer.
            ValueRef::Integer(n) => Ok(n as f64),
            other => Err(self.corrupt(
                column,
                format!("expected a number, found {:?}", other.data_type()),
            )),
        }
    }

    pub(crate) fn bool(&self, idx: usize, column: &str) -> Result<bool, StoreError> {
        match self.int(idx, column)? {
            0 => Ok(false),
            1 => Ok(true),
            n => Err(self.corrupt(column, format!("expected 0 or 1, found {n}"))),
        }
    }

    pub(crate) fn ts(&self, idx: usize, column: &str) -> Result<DateTime<Utc>, StoreError> {
        parse_ts(self.str(idx, column)?).map_err(|m| self.corrupt(column, m))
    }

    pub(crate) fn opt_ts(
        &self,
        idx: usize,
        column: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.opt_str(idx, column)?
            .map(|s| parse_ts(s).map_err(|m| self.corrupt(column, m)))
            .transpose()
    }

    pub(crate) fn date(&self, idx: usize, column: &str) -> Result<NaiveDate, StoreError> {
        parse_date(self.str(idx, column)?).map_err(|m| self.corrupt(column, m))
    }

    pub(crate) fn opt_date(
        &self,
        idx: usize,
        column: &str,
    ) -> Result<Option<NaiveDate>, StoreError> {
        self.opt_str(idx, column)?
            .map(|s| parse_date(s).map_err(|m| self.corrupt(column, m)))
            .transpose()
    }

    pub(crate) fn opt_naive_dt(
        &self,
        idx: usize,
        column: &str,
    ) -> Result<Option<NaiveDateTime>, StoreError> {
        self.opt_str(idx, column)?
            .map(|s| parse_naive_dt(s).map_err(|m| self.corrupt(column, m)))
            .transpose()
    }

    pub(crate) fn decimal(&self, idx: usize, column: &str) -> Result<Decimal, StoreError> {
        let s = self.str(idx, column)?;
        Decimal::from_str(s)
            .map_err(|e| self.corrupt(column, format!("{s:?} is not a decimal: {e}")))
    }

    pub(crate) fn opt_decimal(
        &self,
        idx: usize,
        column: &str,
    ) -> Result<Option<Decimal>, StoreError> {
        self.opt_str(idx, column)?
            .map(|s| {
                Decimal::from_str(s)
                    .map_err(|e| self.corrupt(column, format!("{s:?} is not a decimal: {e}")))
            })
            .transpose()
    }

    pub(crate) fn json<T: serde::de::DeserializeOwned>(
        &self,
        idx: usize,
        column: &str,
    ) -> Result<T, StoreError> {
        let s = self.str(idx, column)?;
        serde_json::from_str(s).map_err(|e| self.corrupt(column, format!("bad JSON: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_have_fixed_width_so_text_order_is_time_order() {
        let a = Utc.with_ymd_and_hms(2024, 5, 1, 9, 59, 59).unwrap();
        let b = a + chrono::Duration::milliseconds(1);
        assert_eq!(ts(&a), "2024-05-01T09:59:59.000000000Z");
        assert_eq!(ts(&b), "2024-05-01T09:59:59.001000000Z");
        assert!(ts(&a) < ts(&b));
        assert_eq!(parse_ts(&ts(&b)).unwrap(), b);
    }

    #[test]
    fn the_fast_timestamp_parser_agrees_with_chrono() {
        for text in [
            "2024-05-01T09:59:59.000000000Z",
            "1999-12-31T23:59:59.999999999Z",
            "2024-02-29T00:00:00.000000001Z",
        ] {
            let slow = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(parse_ts_fixed(text), Some(slow), "{text}");
            assert_eq!(ts(&slow), text);
        }
        // Not the fixed form, or not a valid date: left to chrono (which accepts the first).
        assert_eq!(parse_ts_fixed("2024-05-01T09:59:59Z"), None);
        assert_eq!(
            parse_ts("2024-05-01T09:59:59+02:00").unwrap(),
            parse_ts("2024-05-01T07:59:59.000000000Z").unwrap()
        );
        assert_eq!(parse_ts_fixed("2023-02-29T00:00:00.000000000Z"), None);
        assert!(parse_ts("2023-02-29T00:00:00.000000000Z").is_err());
        assert!(parse_ts("2024-05-01T0x:00:00.000000000Z").is_err());
    }

    #[test]
    fn naive_datetime_round_trips() {
        let t = NaiveDate::from_ymd_opt(2024, 2, 29)
            .unwrap()
            .and_hms_nano_opt(23, 1, 2, 345_600_000)
            .unwrap();
        assert_eq!(naive_dt(&t), "2024-02-29T23:01:02.345600000");
        assert_eq!(parse_naive_dt(&naive_dt(&t)).unwrap(), t);
    }
}
