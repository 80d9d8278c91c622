//! Spreadsheet formula injection in CSV text cells, and its inverse for the tool's own reader.
//!
//! Buyers open the tool's CSV files in a spreadsheet, which runs a cell starting with `=`, `+`,
//! `-` or `@` (and, in some, tab or carriage return) as a formula: a SKU `=HYPERLINK(…)` from
//! Shopify would become a live link. OWASP's rule is to put a `'` in front of such a text cell;
//! spreadsheets show the text and drop nothing else. Numbers are never passed through here: a
//! quantity of −3 is written as the number `-3`.
//!
//! The mapping template (`replenish skus --write-mapping`) is neutralised like every other CSV
//! (a person reviews it in a spreadsheet) and read back by [`crate::core::mapping`], so the rule
//! must be reversible: a text that already starts with `'` followed by a trigger or another `'`
//! gets a `'` too, and [`restore`] removes exactly one `'` from a cell that starts with `'`
//! followed by a trigger or a `'`. Every text thus survives `restore(neutralise(text))`
//! unchanged. Pure: no IO.

use std::borrow::Cow;

/// The first characters that make a spreadsheet read a cell as a formula (OWASP).
pub const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

fn escapes_next(c: Option<char>) -> bool {
    c.is_some_and(|c| c == '\'' || TRIGGERS.contains(&c))
}

/// `text` safe in a spreadsheet cell: a leading `'` when it starts with a formula trigger (or
/// with a `'` that [`restore`] would otherwise remove).
pub fn neutralise(text: &str) -> Cow<'_, str> {
    let mut chars = text.chars();
    let needs = match chars.next() {
        Some(c) if TRIGGERS.contains(&c) => true,
        Some('\'') => escapes_next(chars.next()),
        _ => false,
    };
    if needs {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The text [`neutralise`] was given: one leading `'` removed when a trigger or another `'`
/// follows it; anything else is returned as it is.
pub fn restore(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if escapes_next(rest.chars().next()) => rest,
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_triggers_get_an_apostrophe_and_nothing_else_changes() {
        assert_eq!(
            neutralise("=HYPERLINK(\"http://x\",\"y\")"),
            "'=HYPERLINK(\"http://x\",\"y\")"
        );
        for t in ["+1", "-3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(t), format!("'{t}"), "{t:?}");
        }
        for t in ["SKU-1", "", "a=b", " =x", "'quoted", "3"] {
            assert!(matches!(neutralise(t), Cow::Borrowed(_)), "{t:?}");
        }
        // A leading apostrophe that restore would strip is protected too.
        assert_eq!(neutralise("'=x"), "''=x");
        assert_eq!(neutralise("''"), "'''");
    }

    #[test]
    fn restore_undoes_neutralise_for_every_text() {
        for t in [
            "=1+2", "-3", "+", "@", "\t", "\r\n", "'", "''", "'=x", "''=x", "'a", "a", "", "'-",
            "SKU 1",
        ] {
            assert_eq!(restore(&neutralise(t)), t, "{t:?}");
        }
        // A hand-written file's value is taken as it is unless it looks neutralised.
        assert_eq!(restore("'abc"), "'abc");
        assert_eq!(restore("'=abc"), "=abc");
    }
}
