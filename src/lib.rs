//! HyperFleet Adapter: consumes CloudEvents, extracts params, evaluates preconditions, applies
//! resources through Kubernetes or Maestro and reports status to the HyperFleet API.
//!
//! This crate is laid out hexagonally (see docs/architecture.md): `domain` is the pure core over
//! the traits of `ports`, with `config`, `expr` and `yaml` beneath it; `service` runs the core
//! for each delivery; `adapters` are the outside worlds; `dryrun` runs the core on files and
//! prints its trace; `app` is the composition root that parses the CLI and wires everything.

/// Declares an error whose only content is its text: the Go (or Go adapter) wording of a
/// failure that users see verbatim, inside the error around it (a template or CEL function's
/// failure, a conversion, a JSONPath syntax error, a bad `ref`, an override or a Maestro setting
/// that cannot be used). The type says where the failure came from; nothing decides on its
/// text.
macro_rules! text_error {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
        #[error("{0}")]
        pub struct $name(pub String);

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }
    };
}

pub mod adapters;
pub mod app;
pub mod config;
pub mod domain;
pub mod dryrun;
pub mod expr;
pub mod golang;
pub mod host;
pub mod logging;
pub mod ports;
pub mod redact;
pub mod retry;
pub mod scenario;
pub mod service;
pub mod telemetry;
pub mod textdiff;
pub mod yaml;

/// The binary's version, commit and build date (set at build time by `ADAPTER_VERSION`,
/// `ADAPTER_COMMIT` and `ADAPTER_BUILD_DATE`).
pub mod version {
    /// `ADAPTER_VERSION` when a release build sets it, else the package version in
    /// `Cargo.toml` (`0.0.0-dev` between releases: like the Go adapter's development builds,
    /// it skips the config version check).
    pub const VERSION: &str = match option_env!("ADAPTER_VERSION") {
        Some(v) if !v.is_empty() => v,
        _ => env!("CARGO_PKG_VERSION"),
    };
    pub const COMMIT: &str = match option_env!("ADAPTER_COMMIT") {
        Some(v) => v,
        None => "none",
    };
    pub const BUILD_DATE: &str = match option_env!("ADAPTER_BUILD_DATE") {
        Some(v) => v,
        None => "unknown",
    };
}
