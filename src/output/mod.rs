//! Rendering only: tables, JSON and progress bars. No decisions are made here.

pub mod backtest;
pub mod backtest_plot;
pub mod draft;
pub mod plan;
pub(crate) mod plot_text;
pub mod progress;
pub mod reconcile;
pub mod skus;
pub mod sync;
