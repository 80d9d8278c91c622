//! The pure heart of replenish: domain types and the planning arithmetic of docs/planning.md.
//!
//! Nothing in here does IO, reads a clock or awaits: callers pass `as_of` dates and data already
//! fetched. That is what lets the planning contract be tested number by number.
//!
//! - [`plan`]: the plan's input and output types and [`plan::compute`], the entry point;
//! - [`planner`]: the per-unit assembly behind `compute`;
//! - [`locations`]: key locations and pools; [`catalog`]: planned products and SKU resolution;
//! - [`sales`]: the compact order lines planning reads; [`demand`]: sales → daily units; [`velocity`]: stockout-adjusted velocity;
//! - [`position`]: A/O/I from availability; [`drafts`]: D and the tool's own drafts;
//! - [`policy`]: supplier, lead time, MOQ, pack, reorder level, SS/ROP/target/quantity;
//! - [`po`]: grouping into purchase orders, supplier minimums; [`issues`]: the issue list;
//! - [`push`]: the data-quality gates and what `draft` does per PO; [`reconcile`]: the audit;
//! - [`backtest`]: the day-by-day replay behind `replenish backtest`: world, engine, baselines
//!   (naive, cin7-levels, the oracle), the configured policy (this same planner, run per simulated
//!   day) and the adaptive policy;
//! - [`forecast`]: demand models chosen per unit by out-of-sample error; [`service`]: lead-time
//!   distributions, service-level allocation, EOQ; [`adaptive`]: the `adaptive` method's per-unit
//!   decisions from those;
//! - [`skumatch`]: the SKU audit (`replenish skus`): classes, suggestions, match rate;
//! - [`settings`]: the planning settings (`[policy]`, `[locations]`, SKU and supplier overrides)
//!   that `config` builds from the file;
//! - [`mapping`]: the SKU mapping CSV; [`formula`]: spreadsheet formula neutralising for CSV text
//!   cells (and its inverse for the mapping reader); [`num`], [`stats`]: numeric helpers.

pub mod adaptive;
pub mod backtest;
pub mod catalog;
pub mod demand;
pub mod doctor;
pub mod drafts;
pub mod forecast;
pub mod formula;
pub mod issues;
pub mod ledger;
pub mod locations;
pub mod mapping;
pub mod model;
pub mod num;
pub mod plan;
pub mod planner;
pub mod po;
pub mod policy;
pub mod position;
pub mod push;
pub mod reconcile;
pub mod sales;
pub mod service;
pub mod settings;
pub mod settle;
pub mod skumatch;
pub mod stats;
pub mod velocity;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
