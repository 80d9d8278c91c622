//! Command-line interface (clap derive only): global flags and one `Args` struct per subcommand.
