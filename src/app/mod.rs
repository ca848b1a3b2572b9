//! The composition root: the CLI commands and how they wire config, logging and (later) the
//! brokers, transports and servers.

pub mod cli;
pub mod commands;
pub mod conns;
pub mod dryrun;
pub mod logfmt;
pub mod logging;
pub mod metrics;
pub mod publish;
pub mod run;
pub mod serve;
pub mod servers;
pub mod trace;

pub use cli::Cli;
pub use commands::run;
