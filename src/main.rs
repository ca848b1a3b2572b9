//! The `adapter` binary: parse the command line, run the command, map errors to exit codes.

use clap::Parser;
use hyperfleet_adapter::app::{Cli, run};

fn main() {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::exit(1);
        }
    }
}
