//! The composition root: parses the command line, loads the config, builds the adapters the
//! config asks for and hands them to the serve loop (`crate::service`) or the dry run
//! (`crate::dryrun`). The only module that knows every adapter; nothing else imports it.

pub mod cli;
pub mod commands;
pub mod migrate;
pub mod publish;
pub mod run;
pub mod test;
mod wiring;

pub use cli::Cli;
pub use commands::run;

/// A library error as the binary reports it: its message alone. The library's typed errors
/// carry their cause's text in the message (the texts users and tests know) and the cause as
/// `source()`; `main` prints anyhow's `{:#}` chain, which would print the cause twice.
pub(crate) fn message(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::msg(e.to_string())
}
