//! Why one step of an execution failed.

use super::api::ApiFailure;
use crate::expr::jsonpath::JsonPathError;
use crate::expr::manifest::ManifestError;
use crate::expr::{CelError, TemplateError};
use crate::ports::{ErrorKind, TransportError};

/// Why a step failed (a discovery, a manifest, a capture, a payload, a `when`, a parameter).
/// The text is what the execution result records (resource and action errors,
/// `adapter.executionError.message`), the Go adapter's wording; [`Failure::kind`] is the
/// classification. A context wraps the failure it explains and keeps it as `source()`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Cel(#[from] CelError),
    #[error(transparent)]
    JsonPath(#[from] JsonPathError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Api(#[from] ApiFailure),
    /// The event data, a parameter or a file does not have what the config reads from it.
    #[error("{0}")]
    Data(String),
    /// The config asks for something that cannot be done as written, or not in this build.
    #[error("{0}")]
    Config(String),
    /// `context: cause`.
    #[error("{context}: {cause}")]
    Context {
        context: String,
        #[source]
        cause: Box<Failure>,
    },
}

impl Failure {
    /// A failure of the data read (event, parameter, file).
    pub fn data(message: impl Into<String>) -> Self {
        Failure::Data(message.into())
    }

    /// A failure of the config as written.
    pub fn config(message: impl Into<String>) -> Self {
        Failure::Config(message.into())
    }

    /// This failure with `context: ` in front of its text.
    pub fn context(self, context: impl Into<String>) -> Self {
        Failure::Context {
            context: context.into(),
            cause: Box::new(self),
        }
    }

    /// The classification: a port's own kind; `Invalid` for what the config or the data
    /// cannot give (another attempt gives the same answer).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Failure::Transport(e) => e.kind(),
            Failure::Api(e) => e.kind(),
            Failure::Context { cause, .. } => cause.kind(),
            Failure::Template(_)
            | Failure::Cel(_)
            | Failure::JsonPath(_)
            | Failure::Manifest(_)
            | Failure::Data(_)
            | Failure::Config(_) => ErrorKind::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_prefixes_the_text_and_keeps_kind_and_cause() {
        let inner = Failure::from(TransportError::new(
            ErrorKind::Unavailable,
            "connection refused",
        ));
        let e = inner.context("failed to apply resource");
        assert_eq!(
            e.to_string(),
            "failed to apply resource: connection refused"
        );
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("connection refused"));
        assert_eq!(Failure::config("x").kind(), ErrorKind::Invalid);
    }
}
