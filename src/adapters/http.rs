//! The HTTP layer shared by both API clients: retry classification, backoff, pacing and counters.
