//! replenish — inventory replenishment for brands selling on Shopify and purchasing in Cin7 Core.
//!
//! Data flows one way: **adapters fetch → store records → core decides → app pushes**.
//!
//! - [`core`]: pure domain types and arithmetic (no IO, clock or async).
//! - [`adapters`]: HTTP clients for Cin7 Core and the Shopify Admin GraphQL API.
//! - [`store`]: the embedded SQLite store.
//! - [`sandbox`]: a local, stateful imitation of both APIs for trials and tests (its own crate,
//!   `crates/sandbox`, re-exported here).
//! - [`app`]: one module per subcommand, orchestration only.
//! - [`report`]: what the commands report, as plain data (filled by `app`, rendered by `output`).
//! - [`output`]: rendering (tables, JSON, progress bars).
//! - [`clock`]: the process's one clock (the wall clock, or `--now` moving on with real time).

pub mod adapters;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod output;
pub mod report;
pub mod secrets;
pub mod store;

/// The sandbox crate (`crates/sandbox`, package `replenish-sandbox`), re-exported so that
/// `replenish::sandbox::…` reaches it. It does not depend on this crate; what ties it to the
/// product (settings pointing at a running sandbox) is [`app::sandbox`].
pub use replenish_sandbox as sandbox;

/// mimalloc instead of the system allocator, for everything that links this crate (the binary,
/// its tests and the benchmarks, so the figures are the shipped binary's). Planning 100,000 SKUs
/// allocates millions of small values; with glibc's allocator a fifth of the plan's time went to
/// malloc and free (docs/design.md, "Planning performance").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
