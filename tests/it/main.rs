//! The one integration-test binary: adapters against wiremock, commands against the sandbox.

mod alerts;
mod backtest_e2e;
mod bulk_download;
mod cin7_client;
mod cin7_paging_e2e;
mod cli;
mod clock;
mod common;
mod cron;
mod crypto_provider;
mod doctor_e2e;
mod draft_e2e;
mod hostile_e2e;
mod limits_e2e;
mod listen_abuse;
mod listen_e2e;
mod output_safety;
mod plan_e2e;
mod reconcile_e2e;
mod sandbox_contract;
mod scopes_e2e;
mod shopify_client;
mod skus_e2e;
mod sync_e2e;
