//! Adapters to the outside world: the shared HTTP layer, one client per API, and alert delivery.
//! They turn wire formats into `core::model` types and never decide anything about planning.

pub mod alerts;
pub mod cin7;
pub mod http;
pub mod shopify;
