//! Rendering only: tables, JSON and progress bars. No decisions are made here.
//!
//! Every table, list and Markdown report shows upstream text (SKUs, names, error bodies) through
//! [`safe`]: control characters escaped, long values cut, tables fitted to the terminal's width;
//! CSV text cells are neutralised against spreadsheet formulas. JSON is left exactly as serde
//! writes it.

pub mod backtest;
pub mod backtest_plot;
pub mod doctor;
pub mod draft;
pub mod plan;
pub(crate) mod plot_text;
pub mod progress;
pub mod reconcile;
pub mod safe;
pub mod skus;
pub mod status;
pub mod sync;
pub mod tune;

pub use safe::terminal_safe;
