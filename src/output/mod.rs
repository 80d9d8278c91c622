//! Rendering only: tables, JSON and progress bars. No decisions are made here.

pub mod backtest;
pub mod backtest_plot;
pub mod doctor;
pub mod draft;
pub mod plan;
pub(crate) mod plot_text;
pub mod progress;
pub mod reconcile;
pub mod skus;
pub mod sync;

/// `text` safe to print on a terminal: control characters (escape sequences that could retitle
/// the terminal or move the cursor, bells, carriage returns) are shown as `\u{…}` instead of
/// being sent. Upstream data (names and messages from Cin7 and Shopify) goes through this before
/// it reaches a table.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    format!("\\u{{{:x}}}", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}
