//! The two config files: the adapter (deployment) config and the task config — their models,
//! loading and layering, validation with located errors, the compiled expressions, and the
//! JSON Schema of the config files (with `broker.yaml`'s).

pub mod adapter;
pub mod amqp_url;
pub mod broker;
pub mod broker_keys;
pub mod compiled;
pub mod env;
pub mod layering;
pub mod load;
pub mod migrate;
pub mod problem;
pub mod refs;
pub mod schema;
pub mod task;
mod validate;
pub mod version;

pub use crate::golang::GoDuration;
pub use adapter::AdapterConfig;
pub use compiled::Compiled;
pub use env::{EnvSource, MapEnv, ProcessEnv};
pub use load::{LoadOptions, Loaded, Report, load, load_report};
pub use problem::{ConfigError, Problem, Severity};
pub use task::TaskConfig;
pub use validate::{CEL_BUILTINS, TEMPLATE_BUILTINS};

#[cfg(test)]
mod tests;
