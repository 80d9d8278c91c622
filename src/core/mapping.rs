//! The SKU mapping table (`skus.mapping_file`): a CSV `shopify_sku,cin7_sku` saying which Cin7
//! SKU a Shopify SKU stands for. This module only parses text the caller has read; it does no IO.
//!
//! Rules (docs/planning.md): a bad header, a wrong column count, an empty field or the same
//! shopify_sku twice is a config error naming the file and line; blank lines are skipped; a UTF-8
//! BOM is accepted.
//!
//! Decisions (planning.md is silent):
//! - The header is matched ignoring case and surrounding spaces (`Shopify_SKU, cin7_sku` is fine):
//!   spreadsheets re-case headers, and the column meaning is still unambiguous.
//! - Field values are taken verbatim, not trimmed: SKUs are matched exactly everywhere else, and a
//!   Shopify SKU may really carry a space. A field that is empty or only whitespace is an error.
//! - A line holding only whitespace counts as blank.
//! - A file with no header at all (empty, or only blank lines) is a bad header.
//! - Columns after `shopify_sku,cin7_sku` are ignored, whatever their names: the template that
//!   `replenish skus --write-mapping` writes (`shopify_sku,cin7_sku,confidence,class,units_sold`)
//!   loads as it is once a person has reviewed it. Every row must still have the header's number
//!   of columns, so a shifted row is caught.
//! - A value written with a formula guard is read back without it ([`formula::restore`]): the
//!   template neutralises SKUs a spreadsheet would run as a formula (`=…`, `+…`, `-…`, `@…`, a
//!   leading tab or CR) with a leading `'`, so exactly one `'` is dropped from a value that starts
//!   with `'` followed by one of those or by another `'`. Any other value is still verbatim; a
//!   hand-written SKU that really starts with `'=` must be written `''=`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::core::formula;

/// The config key every mapping-file error names.
pub const MAPPING_KEY: &str = "skus.mapping_file";

/// A malformed mapping file: shown as `file:line: skus.mapping_file: reason`, like every
/// configuration error. The app layer turns it into a `config::ConfigError` (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {MAPPING_KEY}: {message}", path.display())]
pub struct MappingError {
    /// The mapping file.
    pub path: PathBuf,
    /// 1-based line of the offending record.
    pub line: usize,
    /// What is wrong, for people.
    pub message: String,
}

/// Parses the mapping CSV `text` read from `path` into Shopify SKU → Cin7 SKU.
pub fn parse_mapping(text: &str, path: &Path) -> Result<BTreeMap<String, String>, MappingError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let err = |line: u64, message: String| MappingError {
        path: path.to_path_buf(),
        line: usize::try_from(line).unwrap_or(usize::MAX),
        message,
    };
    // csv's own line numbers skip blank lines; count from byte offsets instead.
    let newlines: Vec<usize> = text
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i)
        .collect();
    let line_at = |byte: u64| -> u64 {
        // A record's position is where the reader started, before any blank lines it skipped.
        let mut byte = usize::try_from(byte).unwrap_or(usize::MAX);
        while matches!(text.as_bytes().get(byte), Some(b'\n' | b'\r')) {
            byte += 1;
        }
        newlines.partition_point(|&nl| nl < byte) as u64 + 1
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut first_line: BTreeMap<String, u64> = BTreeMap::new();
    let mut header_seen = false;
    let mut width = 2usize;
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map(|p| line_at(p.byte())).unwrap_or(0);
            err(line, format!("not valid CSV: {e}"))
        })?;
        if !more {
            break;
        }
        let line = record.position().map(|p| line_at(p.byte())).unwrap_or(0);
        if record.iter().all(|f| f.trim().is_empty()) && record.len() <= 1 {
            continue; // a blank (or whitespace-only) line
        }
        if !header_seen {
            let ok = record.len() >= 2
                && record
                    .get(0)
                    .is_some_and(|f| f.trim().eq_ignore_ascii_case("shopify_sku"))
                && record
                    .get(1)
                    .is_some_and(|f| f.trim().eq_ignore_ascii_case("cin7_sku"));
            if !ok {
                let got: Vec<&str> = record.iter().collect();
                return Err(err(
                    line,
                    format!(
                        "expected the header `shopify_sku,cin7_sku` (further columns are ignored), found `{}`",
                        got.join(",")
                    ),
                ));
            }
            header_seen = true;
            width = record.len();
            continue;
        }
        if record.len() != width {
            return Err(err(
                line,
                if width == 2 {
                    format!(
                        "expected 2 columns (shopify_sku,cin7_sku), found {}",
                        record.len()
                    )
                } else {
                    format!(
                        "expected {width} columns, as the header has, found {}",
                        record.len()
                    )
                },
            ));
        }
        let (Some(shopify), Some(cin7)) = (record.get(0), record.get(1)) else {
            return Err(err(line, "expected 2 columns".to_string()));
        };
        let (shopify, cin7) = (formula::restore(shopify), formula::restore(cin7));
        if shopify.trim().is_empty() {
            return Err(err(line, "empty shopify_sku".to_string()));
        }
        if cin7.trim().is_empty() {
            return Err(err(
                line,
                format!("empty cin7_sku for shopify_sku \"{shopify}\""),
            ));
        }
        if let Some(first) = first_line.get(shopify) {
            return Err(err(
                line,
                format!("shopify_sku \"{shopify}\" is mapped twice (first on line {first})"),
            ));
        }
        first_line.insert(shopify.to_string(), line);
        out.insert(shopify.to_string(), cin7.to_string());
    }
    if !header_seen {
        return Err(err(
            1,
            "empty mapping file: expected the header `shopify_sku,cin7_sku`".to_string(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<BTreeMap<String, String>, MappingError> {
        parse_mapping(text, Path::new("/cfg/sku-map.csv"))
    }

    /// (line, message) of an error naming skus.mapping_file.
    fn invalid(text: &str) -> (usize, String) {
        match parse(text) {
            Err(e) => {
                assert_eq!(e.path, Path::new("/cfg/sku-map.csv"));
                let shown = e.to_string();
                assert!(
                    shown.starts_with(&format!("/cfg/sku-map.csv:{}: skus.mapping_file: ", e.line)),
                    "{shown}"
                );
                (e.line, e.message)
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn parses_with_bom_blank_lines_and_quotes() {
        let text = "\u{feff}shopify_sku,cin7_sku\n\nabc-1,ABC-1\n   \n\"A, B\",AB\r\nX 1,X-1\n";
        let m = parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.len(), 3);
        assert_eq!(m.get("abc-1").map(String::as_str), Some("ABC-1"));
        assert_eq!(m.get("A, B").map(String::as_str), Some("AB"));
        // Values are verbatim: the inner space stays.
        assert_eq!(m.get("X 1").map(String::as_str), Some("X-1"));
    }

    #[test]
    fn formula_guards_are_read_back_as_the_sku() {
        let text = "shopify_sku,cin7_sku\n\
                    \"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",A-1\n\
                    '-3,'+B\n\
                    ''=q,C\n\
                    'plain,D\n";
        let m = parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            m.get("=HYPERLINK(\"http://x\",\"y\")").map(String::as_str),
            Some("A-1")
        );
        assert_eq!(m.get("-3").map(String::as_str), Some("+B"));
        assert_eq!(m.get("'=q").map(String::as_str), Some("C"));
        // Not a guard: taken verbatim.
        assert_eq!(m.get("'plain").map(String::as_str), Some("D"));
        // The guarded and the bare spelling are the same SKU: mapped twice.
        let (line, msg) = invalid("shopify_sku,cin7_sku\n=X,A\n'=X,B\n");
        assert_eq!(line, 3);
        assert!(msg.contains("mapped twice"), "{msg}");
    }

    #[test]
    fn header_is_case_and_space_insensitive() {
        let m = parse(" Shopify_SKU , CIN7_SKU\na,b\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.get("a").map(String::as_str), Some("b"));
    }

    #[test]
    fn bad_header() {
        let (line, msg) = invalid("sku,cin7\na,b\n");
        assert_eq!(line, 1);
        assert!(msg.contains("header"), "{msg}");
        // Blank lines before the header: the header's own line is named.
        let (line, _) = invalid("\n\nshopify,cin7_sku,extra\n");
        assert_eq!(line, 3);
        let (line, _) = invalid("shopify_sku\na\n");
        assert_eq!(line, 1);
        let (line, msg) = invalid("");
        assert_eq!(line, 1);
        assert!(msg.contains("empty"), "{msg}");
    }

    #[test]
    fn wrong_column_count() {
        let (line, msg) = invalid("shopify_sku,cin7_sku\na,b\nc,d,e\n");
        assert_eq!(line, 3);
        assert!(msg.contains("found 3"), "{msg}");
        let (line, _) = invalid("shopify_sku,cin7_sku\na,b\nc\n");
        assert_eq!(line, 3);
    }

    #[test]
    fn columns_after_the_first_two_are_ignored() {
        // The template `replenish skus --write-mapping` writes, as a person leaves it.
        let text = "shopify_sku,cin7_sku,confidence,class,units_sold\n\
                    sku-00012,SKU-00012,1,normalized,14\n\
                    TEE-BKL-003,TEE-BLK-003,0.8889,fuzzy,0\n";
        let m = parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.len(), 2);
        assert_eq!(m.get("sku-00012").map(String::as_str), Some("SKU-00012"));
        // Every row keeps the header's width.
        let (line, msg) = invalid("shopify_sku,cin7_sku,confidence\na,b,1\nc,d\n");
        assert_eq!(line, 3);
        assert!(msg.contains("expected 3 columns"), "{msg}");
    }

    #[test]
    fn empty_fields() {
        let (line, msg) = invalid("shopify_sku,cin7_sku\n,B\n");
        assert_eq!(line, 2);
        assert!(msg.contains("empty shopify_sku"), "{msg}");
        let (line, msg) = invalid("shopify_sku,cin7_sku\na,b\nc,  \n");
        assert_eq!(line, 3);
        assert!(msg.contains("empty cin7_sku"), "{msg}");
    }

    #[test]
    fn duplicate_shopify_sku() {
        let (line, msg) = invalid("shopify_sku,cin7_sku\na,b\n\na,c\n");
        assert_eq!(line, 4);
        assert!(msg.contains("line 2"), "{msg}");
    }
}
