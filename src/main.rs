//! The `adapter` binary: parse the command line, run the command, map errors to exit codes.

use clap::Parser;

/// mimalloc: the executor allocates many small short-lived values per event, where glibc's
/// allocator spent close to half of the event time (see docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use hyperfleet_adapter::app::{Cli, run};

fn main() {
    // Usage errors exit 1, as the Go adapter's do (clap's own code would be 2).
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        let code = if e.use_stderr() { 1 } else { 0 };
        let _ = e.print();
        std::process::exit(code);
    });
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let text = format!("{e:#}");
            eprintln!("Error: {}", hyperfleet_adapter::redact::mask(&text));
            std::process::exit(1);
        }
    }
}
