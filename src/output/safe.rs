//! Upstream text made safe to show, and reports fitted to the terminal.
//!
//! SKUs, names and error bodies come from Cin7 and Shopify as anyone typed them. Before they
//! reach a person:
//!
//! - **terminal text** (tables, lists, `--explain`, errors on stderr): control characters (an
//!   `ESC ]0;…BEL` that retitles the terminal, cursor moves, bells, carriage returns) and the
//!   Unicode bidi overrides that reorder what is shown are written as `\u{…}` ([`terminal_safe`]);
//! - **long values are cut** with an ellipsis where a person reads them: identifiers (SKUs,
//!   locations, suppliers, PO numbers, product names) at [`IDENT_MAX`] characters keeping their
//!   start and their end (`SKU-…-XL`: variants differ at the end), free text (details,
//!   messages, error bodies) at [`TEXT_MAX`] keeping the start ([`ident`], [`free_text`]). JSON
//!   is never cut or escaped beyond JSON's own escaping: it is the contract;
//! - **CSV text cells** get a leading `'` when a spreadsheet would run them as a formula
//!   ([`csv_text`], rules in [`crate::core::formula`]); numbers are written as they are;
//! - **Markdown** (`reconcile --format md`) gets the terminal escaping, the same cuts, and a
//!   backslash before every character Markdown would read as markup ([`markdown`]);
//! - **width**: tables are laid out to the terminal's width ([`terminal_width`]: the terminal,
//!   else `COLUMNS`, else [`DEFAULT_WIDTH`]), wrapping cells, and lines of text are wrapped
//!   ([`wrap`]).
//!
//! Rendering only: nothing here decides anything about the data.

use std::borrow::Cow;

use comfy_table::{ColumnConstraint, ContentArrangement, Table, Width, presets::UTF8_BORDERS_ONLY};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Longest identifier shown (characters, escapes included): SKUs, locations, suppliers, PO
/// numbers, product names, variant ids.
pub const IDENT_MAX: usize = 60;
/// Longest free text shown in a cell or line: details, messages, error bodies. Above the 300
/// characters of a body excerpt (`adapters::http::excerpt`) plus its prefix, so an API error is
/// shown whole.
pub const TEXT_MAX: usize = 400;
/// Longest line of an error message printed on stderr (each cause in the chain).
pub const ERROR_MAX: usize = 2_000;
/// The width used when stdout is not a terminal and `COLUMNS` is not set.
pub const DEFAULT_WIDTH: u16 = 100;
/// No report is laid out narrower than this, whatever the terminal says.
pub const MIN_WIDTH: u16 = 40;

/// Shown in place of what a cut removed.
const ELLIPSIS: char = '…';

/// Characters never sent to a terminal as they are: control characters (C0, DEL, C1) and the
/// bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), which make a terminal
/// show text in another order than it is.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escaped(c: char) -> String {
    format!("\\u{{{:x}}}", c as u32)
}

/// `text` safe to print on a terminal: control characters (escape sequences that could retitle
/// the terminal or move the cursor, bells, carriage returns, line breaks) and bidi overrides are
/// shown as `\u{…}` instead of being sent. Upstream data (names and messages from Cin7 and
/// Shopify) goes through this before it reaches a table.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    escape_except(text, None)
}

/// [`terminal_safe`] keeping line breaks: for text the tool lays out in lines itself (a whole
/// rendered report, an error message whose parser draws a caret under the bad line).
pub fn terminal_text(text: &str) -> Cow<'_, str> {
    escape_except(text, Some('\n'))
}

fn escape_except(text: &str, keep: Option<char>) -> Cow<'_, str> {
    let bad = |c: char| is_unsafe(c) && Some(c) != keep;
    if !text.chars().any(bad) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if bad(c) {
            out.push_str(&escaped(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Which part of a long value a cut keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The start and the end, an ellipsis between (identifiers).
    Middle,
    /// The start, an ellipsis at the end (free text).
    End,
}

/// `text` made terminal-safe and cut to at most `max` characters (counted after escaping; an
/// escape is never split).
pub fn clip(text: &str, max: usize, cut: Cut) -> String {
    clip_with(text, max, cut, None)
}

/// [`clip`] keeping line breaks (as [`terminal_text`] does).
pub fn clip_keeping_lines(text: &str, max: usize, cut: Cut) -> String {
    clip_with(text, max, cut, Some('\n'))
}

fn clip_with(text: &str, max: usize, cut: Cut, keep: Option<char>) -> String {
    let safe = escape_except(text, keep);
    let len = safe.chars().count();
    if len <= max {
        return safe.into_owned();
    }
    // Pieces: a character, or a whole `\u{…}` escape.
    let pieces: Vec<Cow<'_, str>> = text
        .chars()
        .map(|c| {
            if is_unsafe(c) && Some(c) != keep {
                Cow::Owned(escaped(c))
            } else {
                Cow::Owned(c.to_string())
            }
        })
        .collect();
    let budget = max.saturating_sub(1);
    let tail_budget = match cut {
        Cut::Middle => budget / 4,
        Cut::End => 0,
    };
    let head_budget = budget - tail_budget;
    let take = |iter: &mut dyn Iterator<Item = &Cow<'_, str>>, budget: usize| {
        let mut used = 0;
        let mut kept = Vec::new();
        for p in iter {
            let n = p.chars().count();
            if used + n > budget {
                break;
            }
            used += n;
            kept.push(p.as_ref().to_string());
        }
        kept
    };
    let head = take(&mut pieces.iter(), head_budget);
    let mut tail = take(&mut pieces.iter().rev(), tail_budget);
    tail.reverse();
    let mut out = head.concat();
    out.push(ELLIPSIS);
    out.push_str(&tail.concat());
    out
}

/// An identifier for people: terminal-safe, at most [`IDENT_MAX`] characters (start and end kept).
pub fn ident(text: &str) -> String {
    clip(text, IDENT_MAX, Cut::Middle)
}

/// An identifier that may be missing: [`ident`] of it, else `missing` as it is (a placeholder the
/// renderer wrote, such as `—` or `no PO yet`).
pub fn ident_or(text: Option<&str>, missing: &str) -> String {
    text.map_or_else(|| missing.to_string(), ident)
}

/// Free text for people: terminal-safe, at most [`TEXT_MAX`] characters (the start kept).
pub fn free_text(text: &str) -> String {
    clip(text, TEXT_MAX, Cut::End)
}

/// A CSV text cell a spreadsheet will not run as a formula (see [`crate::core::formula`]).
pub fn csv_text(text: &str) -> String {
    crate::core::formula::neutralise(text).into_owned()
}

/// Characters Markdown (CommonMark, GitHub's tables) may read as markup inside a line: emphasis,
/// code, links and images, HTML and entities, strikethrough, table cell borders, headings.
const MARKDOWN_SPECIAL: [char; 15] = [
    '\\', '`', '*', '_', '[', ']', '(', ')', '<', '>', '|', '~', '!', '&', '#',
];

/// Upstream text for Markdown: cut like [`clip`], terminal-safe (so it holds no line break and
/// cannot start a block), every Markdown-significant character backslash-escaped. Safe inside a
/// table cell.
pub fn markdown(text: &str, max: usize, cut: Cut) -> String {
    let clipped = clip(text, max, cut);
    let mut out = String::with_capacity(clipped.len() + 8);
    for c in clipped.chars() {
        if MARKDOWN_SPECIAL.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Where a report goes, for [`terminal_width`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The width to lay a report out in: the terminal's when `stream` is one, else `COLUMNS`, else
/// [`DEFAULT_WIDTH`]; never below [`MIN_WIDTH`].
pub fn terminal_width(stream: Stream) -> u16 {
    // comfy-table asks the terminal only when the stream is one.
    let mut probe = Table::new();
    if stream == Stream::Stderr {
        probe.use_stderr();
    }
    resolve_width(probe.width(), std::env::var("COLUMNS").ok().as_deref())
}

/// [`terminal_width`]'s rule, given what the terminal said and `COLUMNS`.
pub fn resolve_width(terminal: Option<u16>, columns: Option<&str>) -> u16 {
    terminal
        .filter(|w| *w > 0)
        .or_else(|| {
            columns
                .and_then(|c| c.trim().parse::<u16>().ok())
                .filter(|w| *w > 0)
        })
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

/// A table in the reports' style, laid out to fit `width` columns (cells wrap, long words are
/// split). Its cells must already be terminal-safe.
pub fn table(width: u16) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .force_no_tty()
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width.max(MIN_WIDTH));
    t
}

/// How a column of a [`table`] may be squeezed by [`fit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    /// Numbers, dates, money: every cell on one line; the header wraps at spaces.
    Whole,
    /// Names and identifiers: wrap at spaces, words of up to [`WORD_KEPT`] characters kept whole
    /// when there is room; they grow up to [`WRAP_CAP`] before the rest column takes the rest.
    Wrap,
    /// Free text (Why, detail): gets what is left, at least [`REST_FIRST`] before the `Wrap`
    /// columns grow.
    Rest,
}

/// Longest word of a `Wrap` or `Rest` column kept whole when the table has room for it.
pub const WORD_KEPT: usize = 16;
/// A `Wrap` column grows to at most this many characters before the `Rest` column takes the rest.
pub const WRAP_CAP: usize = 24;
/// What a `Rest` column gets before the `Wrap` columns grow past their longest word.
pub const REST_FIRST: usize = 24;

/// Lays out `t`'s columns in its width: when the table is wider than that, every column gets an
/// exact width, chosen by its [`Col`] (missing kinds are `Wrap`): `Whole` columns their widest
/// cell (and their header's longest word), `Wrap` and `Rest` columns their longest word (up to
/// [`WORD_KEPT`]); then the `Rest` column grows to [`REST_FIRST`], the `Wrap` columns to
/// [`WRAP_CAP`], the `Rest` column to its widest line, and everything else to its widest line,
/// columns of a kind growing in turn. When even the minimum does not fit, the header words of
/// `Whole` columns may split (they are given back first when there is room), and then
/// everything may (comfy-table's own layout): the width always wins. Call it after the rows are
/// added; returns the width the `Rest` column got (`None`: no rest column, or the table was left
/// to comfy-table).
pub fn fit(t: &mut Table, kinds: &[Col]) -> Option<usize> {
    // A second call (new headers) starts afresh.
    for col in t.column_iter_mut() {
        col.remove_constraint();
    }
    let width = usize::from(t.width()?);
    let columns = t.column_count();
    if columns == 0 {
        return None;
    }
    let kind = |i: usize| kinds.get(i).copied().unwrap_or(Col::Wrap);
    let longest_word = |s: &str| s.split_whitespace().map(|w| w.width()).max().unwrap_or(0);
    let widest_line = |s: &str| s.lines().map(|l| l.width()).max().unwrap_or(0);
    let mut header_word = vec![0usize; columns];
    let mut natural = vec![0usize; columns];
    if let Some(header) = t.header() {
        for (i, cell) in header.cell_iter().enumerate().take(columns) {
            let content = cell.content();
            header_word[i] = longest_word(&content);
            natural[i] = widest_line(&content);
        }
    }
    let mut cell_max = vec![0usize; columns];
    let mut cell_word = vec![0usize; columns];
    for row in t.row_iter() {
        for (i, cell) in row.cell_iter().enumerate().take(columns) {
            let content = cell.content();
            cell_max[i] = cell_max[i].max(widest_line(&content));
            cell_word[i] = cell_word[i].max(longest_word(&content));
        }
    }
    for i in 0..columns {
        natural[i] = natural[i].max(cell_max[i]).max(1);
    }
    // Outer borders, one separator between columns, one space of padding on each side.
    let available = width.saturating_sub(3 * columns + 1);
    let rest = (0..columns).find(|&i| kind(i) == Col::Rest);
    if natural.iter().sum::<usize>() <= available {
        return rest.map(|i| natural[i]);
    }
    let roomy: Vec<usize> = (0..columns)
        .map(|i| match kind(i) {
            Col::Whole => header_word[i].max(cell_max[i]),
            Col::Wrap | Col::Rest => header_word[i].max(cell_word[i].min(WORD_KEPT)),
        })
        .collect();
    let tight: Vec<usize> = (0..columns)
        .map(|i| match kind(i) {
            Col::Whole => header_word[i].max(cell_max[i]),
            Col::Wrap | Col::Rest => header_word[i].max(1),
        })
        .collect();
    let split_headers: Vec<usize> = (0..columns)
        .map(|i| match kind(i) {
            Col::Whole => cell_max[i].max(1),
            Col::Wrap | Col::Rest => header_word[i].clamp(1, 4),
        })
        .collect();
    let mut widths = [roomy, tight, split_headers]
        .into_iter()
        .find(|b| b.iter().sum::<usize>() <= available)?;
    let mut surplus = available - widths.iter().sum::<usize>();
    // Each stage grows its columns towards their targets a character at a time, in turn, so
    // they share fairly.
    let mut stage = |widths: &mut Vec<usize>, cols: &[usize], target: &dyn Fn(usize) -> usize| loop {
        let before = surplus;
        for &i in cols {
            if surplus > 0 && widths[i] < target(i) {
                widths[i] += 1;
                surplus -= 1;
            }
        }
        if surplus == before {
            break;
        }
    };
    let of = |k: Col| -> Vec<usize> { (0..columns).filter(|&i| kind(i) == k).collect() };
    let (rests, wraps, wholes) = (of(Col::Rest), of(Col::Wrap), of(Col::Whole));
    let all: Vec<usize> = (0..columns).collect();
    stage(&mut widths, &rests, &|i| natural[i].min(REST_FIRST));
    stage(&mut widths, &wraps, &|i| natural[i].min(WRAP_CAP));
    stage(&mut widths, &wholes, &|i| header_word[i].max(cell_max[i]));
    stage(&mut widths, &rests, &|i| natural[i]);
    stage(&mut widths, &all, &|i| natural[i]);
    for (i, w) in widths.iter().enumerate() {
        // comfy-table's absolute widths count the column's padding too.
        if let (Some(col), Ok(w)) = (t.column_mut(i), u16::try_from(w + 2)) {
            col.set_constraint(ColumnConstraint::Absolute(Width::Fixed(w)));
        }
    }
    rest.map(|i| widths[i])
}

/// `text` with every line longer than `width` wrapped at spaces (a word longer than a line is
/// split). A wrapped line's continuation keeps the line's own indentation plus `hang` spaces.
/// Lines that fit are left exactly as they are.
pub fn wrap(text: &str, width: u16, hang: usize) -> String {
    let width = usize::from(width.max(MIN_WIDTH));
    text.split('\n')
        .map(|line| wrap_line(line, width, hang))
        .collect::<Vec<_>>()
        .join("\n")
}

fn wrap_line(line: &str, width: usize, hang: usize) -> String {
    if line.width() <= width {
        return line.to_string();
    }
    let body = line.trim_start_matches(' ');
    let lead = line.len() - body.len();
    let lead = lead.min(width / 2);
    let indent = (lead + hang).min(width / 2);
    let mut out = String::new();
    let mut current = " ".repeat(lead);
    let mut used = lead;
    let mut has_word = false;
    let mut flush = |current: &mut String, used: &mut usize, has_word: &mut bool| {
        out.push_str(current.trim_end());
        out.push('\n');
        *current = " ".repeat(indent);
        *used = indent;
        *has_word = false;
    };
    // Words with the run of spaces before each (kept within a line, dropped at a break).
    let mut words: Vec<(usize, &str)> = Vec::new();
    let mut spaces = 0;
    for word in body.split(' ') {
        if word.is_empty() {
            spaces += 1;
        } else {
            words.push((if words.is_empty() { 0 } else { spaces + 1 }, word));
            spaces = 0;
        }
    }
    for (spaces, word) in words {
        let w = word.width();
        let gap = if has_word { spaces } else { 0 };
        if used + gap + w <= width {
            current.push_str(&" ".repeat(gap));
            current.push_str(word);
            used += gap + w;
            has_word = true;
            continue;
        }
        if has_word {
            flush(&mut current, &mut used, &mut has_word);
        }
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw > width && has_word {
                flush(&mut current, &mut used, &mut has_word);
            }
            current.push(c);
            used += cw;
            has_word = true;
        }
    }
    out.push_str(current.trim_end());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "\u{1b}]0;pwned\u{7}";

    #[test]
    fn control_characters_and_bidi_overrides_are_shown_not_sent() {
        assert_eq!(terminal_safe(HOSTILE), "\\u{1b}]0;pwned\\u{7}");
        assert_eq!(terminal_safe("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(terminal_safe("a\nb\r"), "a\\u{a}b\\u{d}");
        assert!(matches!(terminal_safe("SKU-1 — ok"), Cow::Borrowed(_)));
        assert_eq!(terminal_text("a\nb\u{1b}"), "a\nb\\u{1b}");
    }

    #[test]
    fn long_values_are_cut_with_an_ellipsis_and_escapes_stay_whole() {
        let sku = "A".repeat(100_000) + "-XL";
        let shown = ident(&sku);
        assert_eq!(shown.chars().count(), IDENT_MAX);
        assert!(
            shown.starts_with("AAAA") && shown.ends_with("A-XL"),
            "{shown}"
        );
        assert!(shown.contains('…'));
        let text = free_text(&"word ".repeat(1000));
        assert_eq!(text.chars().count(), TEXT_MAX);
        assert!(text.ends_with('…'));
        // Short values are untouched (escaped only).
        assert_eq!(ident("SKU-1"), "SKU-1");
        assert_eq!(ident(HOSTILE), "\\u{1b}]0;pwned\\u{7}");
        // An escape is kept whole or dropped whole.
        let cut = clip(&format!("abcdefgh{HOSTILE}"), 12, Cut::End);
        assert_eq!(cut, "abcdefgh…");
        let cut = clip(&format!("{HOSTILE}{}", "x".repeat(50)), 18, Cut::End);
        assert_eq!(cut, "\\u{1b}]0;pwned…");
        assert!(!clip(&"\u{7}".repeat(100), 30, Cut::Middle).contains('\u{7}'));
    }

    #[test]
    fn csv_cells_are_neutralised() {
        assert_eq!(
            csv_text("=HYPERLINK(\"http://x\",\"y\")"),
            "'=HYPERLINK(\"http://x\",\"y\")"
        );
        assert_eq!(csv_text("SKU-1"), "SKU-1");
    }

    #[test]
    fn markdown_escapes_markup_and_breaks_no_table() {
        assert_eq!(
            markdown("a|b *c* [x](y) <b> #1 _u_", 100, Cut::End),
            "a\\|b \\*c\\* \\[x\\]\\(y\\) \\<b\\> \\#1 \\_u\\_"
        );
        // A line break cannot end the cell or start a block; an escape's backslash stays literal.
        assert_eq!(
            markdown("a\n# b\u{1b}", 100, Cut::End),
            "a\\\\u{a}\\# b\\\\u{1b}"
        );
        assert_eq!(markdown(&"x".repeat(100), 10, Cut::End), "xxxxxxxxx…");
    }

    #[test]
    fn the_width_is_the_terminal_s_else_columns_else_the_default() {
        assert_eq!(resolve_width(Some(180), Some("100")), 180);
        assert_eq!(resolve_width(None, Some("140")), 140);
        assert_eq!(resolve_width(None, Some(" 90 ")), 90);
        assert_eq!(resolve_width(None, Some("wide")), DEFAULT_WIDTH);
        assert_eq!(resolve_width(None, Some("0")), DEFAULT_WIDTH);
        assert_eq!(resolve_width(None, None), DEFAULT_WIDTH);
        assert_eq!(resolve_width(Some(0), None), DEFAULT_WIDTH);
        assert_eq!(resolve_width(None, Some("12")), MIN_WIDTH);
    }

    #[test]
    fn fit_keeps_numbers_whole_and_gives_the_rest_to_free_text() {
        let mut t = table(60);
        t.set_header(vec!["Name", "Quantity", "Why"]);
        t.add_row(vec![
            "Cobalt Supply Co".to_string(),
            "1234567".to_string(),
            "word ".repeat(40),
        ]);
        let rest = fit(&mut t, &[Col::Wrap, Col::Whole, Col::Rest]);
        let text = t.to_string();
        assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
        assert!(
            text.contains("1234567") && text.contains("Cobalt Supply Co"),
            "{text}"
        );
        assert_eq!(rest, Some(26), "{text}");
        // A table that fits is left as comfy-table lays it out.
        let mut small = table(60);
        small.set_header(vec!["a", "b"]);
        small.add_row(vec!["1", "2"]);
        let before = small.to_string();
        fit(&mut small, &[Col::Wrap, Col::Whole]);
        assert_eq!(small.to_string(), before);
    }

    #[test]
    fn wrap_keeps_short_lines_and_hangs_continuations() {
        assert_eq!(wrap("short\n  also short", 40, 4), "short\n  also short");
        let line = format!("  {}", "word ".repeat(30));
        let wrapped = wrap(&line, 40, 4);
        for l in wrapped.lines() {
            assert!(l.chars().count() <= 40, "{l:?}");
        }
        let lines: Vec<&str> = wrapped.lines().collect();
        assert!(lines[0].starts_with("  word"));
        assert!(lines[1].starts_with("      word"), "{wrapped}");
        assert_eq!(wrapped.split_whitespace().count(), 30);
        // A word longer than the line is split.
        let long = "x".repeat(100);
        // Runs of spaces inside a line are kept (columns of a list stay aligned).
        let aligned = format!("✓ scope    {}", "word ".repeat(12));
        assert!(wrap(&aligned, 40, 11).starts_with("✓ scope    word word"));
        let wrapped = wrap(&long, 40, 0);
        assert!(
            wrapped.lines().all(|l| l.chars().count() <= 40),
            "{wrapped}"
        );
        assert_eq!(wrapped.replace('\n', ""), long);
    }
}
