//! The one integration-test binary: adapters against wiremock, commands against the sandbox.

mod cin7_client;
mod common;
mod shopify_client;
