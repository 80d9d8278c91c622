//! The sandbox: a local, stateful imitation of Cin7 Core and the Shopify Admin API.
