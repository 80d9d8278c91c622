//! One module per subcommand: orchestration only (args → calls on adapters, store and core).
