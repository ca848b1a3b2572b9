//! Why a scenario could not be run (a broken scenario, not a failed expectation). Each message
//! starts with the file and, where known, the line.

use crate::adapters::api::recorded::ResponsesError;
use crate::config::ConfigError;
use crate::dryrun::{DryRunError, LoadError};
use crate::expr::cel::CelError;
use std::sync::Arc;

/// A scenario that cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: larger than {max} bytes")]
    TooLarge { path: String, max: u64 },
    #[error("{path}: no such file or folder")]
    NoSuchPath { path: String },
    #[error("{path}:{line}: {source}")]
    Syntax {
        path: String,
        line: usize,
        source: crate::yaml::SyntaxError,
    },
    /// Unknown keys and values of the wrong type: every one found, one per line.
    #[error("{}", schema_lines(path, errors))]
    Schema {
        path: String,
        errors: Vec<crate::yaml::DeError>,
    },
    #[error("{path}:{line}: {field}: {problem}")]
    Invalid {
        path: String,
        line: usize,
        field: String,
        problem: Invalid,
    },
    #[error("{path}: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path}:{line}: event: {source}")]
    Event {
        path: String,
        line: usize,
        source: LoadError,
    },
    #[error("{path}:{line}: api_responses: {source}")]
    ApiResponses {
        path: String,
        line: usize,
        source: ResponsesError,
    },
    #[error("{path}:{line}: discovery: {source}")]
    Discovery {
        path: String,
        line: usize,
        source: LoadError,
    },
    /// The configs did not load under the scenario's environment.
    #[error("{path}: the configs did not load with this scenario's env: {source}")]
    Config {
        path: String,
        source: Arc<ConfigError>,
    },
    #[error("{path}: {source}")]
    Run { path: String, source: DryRunError },
    /// `--update` could not write a golden file.
    #[error("{path}: writing the golden file: {source}")]
    WriteGolden {
        path: String,
        source: std::io::Error,
    },
}

/// What is wrong with a value of a scenario file.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    #[error("required: the CloudEvent, as a file path or an inline mapping")]
    MissingEvent,
    #[error("must be a file path or an inline mapping")]
    NotFileOrMapping,
    #[error("not an RFC 3339 time such as 2026-01-01T00:00:00Z: {0}")]
    Time(#[source] chrono::ParseError),
    #[error("invalid path: {0}")]
    Path(#[source] super::path::PathError),
    #[error("{0}")]
    Cel(#[source] CelError),
    #[error("invalid regular expression: {0}")]
    Regex(#[source] regex::Error),
}

/// Each decoding error as `file:line: field: message`, one per line.
fn schema_lines(path: &str, errors: &[crate::yaml::DeError]) -> String {
    let lines: Vec<String> = errors
        .iter()
        .map(|e| match e.path.as_str() {
            "" => format!("{path}:{}: {}", e.line, e.message),
            field => format!("{path}:{}: {field}: {}", e.line, e.message),
        })
        .collect();
    lines.join("\n")
}
