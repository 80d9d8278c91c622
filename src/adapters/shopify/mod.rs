//! Shopify Admin GraphQL client: orders (paged and bulk), locations, product variants.

pub mod queries;
