//! Cin7 Core API v2 client (read half): locations, availability, products, suppliers, purchases.
