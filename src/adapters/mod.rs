//! Adapters to the outside world: the shared HTTP layer and one client per API. They turn wire
//! formats into `core::model` types and never decide anything about planning.

pub mod cin7;
pub mod http;
pub mod shopify;
