//! The pure heart of replenish: domain types and the planning arithmetic of docs/planning.md.
//!
//! Nothing in here does IO, reads a clock or awaits: callers pass `as_of` dates and data already
//! fetched. That is what lets the planning contract be tested number by number.

pub mod mapping;
pub mod model;
pub mod plan;
pub mod stats;
