//! The `replenish` binary: parse the command line, set up logging on stderr, run, and map the
//! outcome to an exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = replenish::cli::Cli::parse();
    replenish::app::init_tracing(cli.verbose, cli.quiet);
    match replenish::app::run(cli) {
        Ok(code) => code,
        Err(err) => replenish::app::report_error(&err),
    }
}
