//! The config text being read, kept parsed as toml's spanned document (`DeTable`), so every
//! error can say `file:line: dotted.key: reason`.
//!
//! What it answers: the line of a byte offset; how a key is named in messages (dotted, bare
//! where it can be, the names a user chose — SKUs, suppliers, locations — always quoted, as the
//! docs write them); and where a key, an array item or a table is in the file, for the errors
//! the deserializer cannot place itself (a cross-field check, a missing key, an array item).

use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::ConfigError;
use super::file::is_named;

/// One step of a path into the document: a key, or an index into an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// The text being parsed, where it came from, and its parsed document.
pub(crate) struct Source<'a> {
    pub path: &'a Path,
    text: &'a str,
    pub doc: Spanned<DeTable<'a>>,
}

impl<'a> Source<'a> {
    /// Parses `text` read from `path`; a TOML syntax error names its line.
    pub fn parse(text: &'a str, path: &'a Path) -> Result<Source<'a>, ConfigError> {
        match DeTable::parse(text) {
            Ok(doc) => Ok(Source { path, text, doc }),
            Err(e) => {
                let offset = e.span().map_or(0, |s| s.start);
                let mut message = e.message().trim().to_string();
                if message == "duplicate key"
                    && let Some(key) = e.span().and_then(|s| text.get(s))
                {
                    message = format!("duplicate key `{}`", key.trim());
                }
                let src = Source {
                    path,
                    text,
                    doc: Spanned::new(0..0, DeTable::default()),
                };
                Err(src.invalid(offset, "syntax error", message))
            }
        }
    }

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        let bytes = self.text.as_bytes();
        let end = offset.min(bytes.len());
        bytes[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    /// The error at `offset` naming `key`.
    pub fn invalid(
        &self,
        offset: usize,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line: self.line(offset),
            key: key.into(),
            message: message.into(),
        }
    }

    /// Where the key at `path` is written (`None` for an array item) and its value, when the
    /// file has them.
    fn entry(&self, path: &[Step]) -> Option<(Option<usize>, &Spanned<DeValue<'a>>)> {
        let mut key_at = None;
        let mut value: Option<&Spanned<DeValue<'a>>> = None;
        for step in path {
            let (key, v) = match (step, value.map(Spanned::get_ref)) {
                (Step::Key(k), None) => {
                    let (key, v) = self.doc.get_ref().get_key_value(k.as_str())?;
                    (Some(key.span().start), v)
                }
                (Step::Key(k), Some(DeValue::Table(t))) => {
                    let (key, v) = t.get_key_value(k.as_str())?;
                    (Some(key.span().start), v)
                }
                (Step::Index(i), Some(DeValue::Array(items))) => (None, items.get(*i)?),
                _ => return None,
            };
            key_at = key;
            value = Some(v);
        }
        value.map(|v| (key_at, v))
    }

    /// Where the key at `path` is written (its value's start for an array item).
    pub fn offset_of(&self, path: &[Step]) -> Option<usize> {
        self.entry(path)
            .map(|(key, value)| key.unwrap_or(value.span().start))
    }

    /// Where the value at `path` starts.
    pub fn value_offset(&self, path: &[Step]) -> Option<usize> {
        self.entry(path).map(|(_, value)| value.span().start)
    }

    /// Where an error about a key missing from the table `table` points: the table itself when
    /// the file has it (its header), else the nearest table around it that the file has, else
    /// the file's start.
    pub fn table_offset(&self, table: &[&str]) -> usize {
        let mut at = 0;
        for depth in 1..=table.len() {
            let path: Vec<Step> = table[..depth]
                .iter()
                .map(|k| Step::Key((*k).to_string()))
                .collect();
            match self.value_offset(&path) {
                Some(offset) => at = offset,
                None => break,
            }
        }
        at
    }
}

/// True when `key` can be written bare in TOML.
fn is_bare(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn quote_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 2);
    out.push('"');
    for c in key.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The dotted name of the key at `path`, as messages show it: a segment is quoted when it
/// cannot be written bare or when it is a name the user chose (`skus."ABC-123".moq`,
/// `locations.pools."Main"`). With `unknown`, the last segment is a key the file should not
/// have: shown as written, never taken for a user's name (`skus.maping_file`).
pub(crate) fn dotted(path: &[&str], unknown: bool) -> String {
    let mut out = String::new();
    for (i, seg) in path.iter().enumerate() {
        let named = !(unknown && i + 1 == path.len()) && is_named(&path[..i], seg);
        if i > 0 {
            out.push('.');
        }
        if named || !is_bare(seg) {
            out.push_str(&quote_key(seg));
        } else {
            out.push_str(seg);
        }
    }
    out
}

/// A table of the file, by its path: names its keys in messages and says where they are. (The
/// table need not be in the file: then "missing key" errors point at the nearest table that is.)
pub(crate) struct At<'s, 'a> {
    src: &'s Source<'a>,
    path: Vec<String>,
}

impl<'s, 'a> At<'s, 'a> {
    /// The whole file.
    pub fn root(src: &'s Source<'a>) -> Self {
        At {
            src,
            path: Vec::new(),
        }
    }

    /// The table `key` inside this one.
    pub fn sub(&self, key: &str) -> At<'s, 'a> {
        let mut path = self.path.clone();
        path.push(key.to_string());
        At {
            src: self.src,
            path,
        }
    }

    fn path_with<'k>(&'k self, key: &'k str) -> Vec<&'k str> {
        let mut path: Vec<&str> = self.path.iter().map(String::as_str).collect();
        path.push(key);
        path
    }

    /// The dotted name of `key` in this table.
    pub fn key(&self, key: &str) -> String {
        dotted(&self.path_with(key), false)
    }

    /// The error at `offset` naming `key` of this table.
    pub fn err(&self, key: &str, offset: usize, message: impl Into<String>) -> ConfigError {
        self.src.invalid(offset, self.key(key), message)
    }

    /// The error naming `key` of this table at the key itself (as written in the file).
    pub fn err_at_key(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let offset = self.key_offset(key);
        self.err(key, offset, message)
    }

    /// The error about `key`, which this table does not have: at the table's header.
    pub fn missing(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let path: Vec<&str> = self.path.iter().map(String::as_str).collect();
        let offset = self.src.table_offset(&path);
        self.err(key, offset, message)
    }

    /// Where `key` of this table is written (the table's header when the file lacks it).
    pub fn key_offset(&self, key: &str) -> usize {
        let steps: Vec<Step> = self
            .path_with(key)
            .into_iter()
            .map(|k| Step::Key(k.to_string()))
            .collect();
        self.src.offset_of(&steps).unwrap_or_else(|| {
            let path: Vec<&str> = self.path.iter().map(String::as_str).collect();
            self.src.table_offset(&path)
        })
    }
}
