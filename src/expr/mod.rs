//! The expression layer: CEL, Go templates, Kubernetes JSONPath, Go value printing and the
//! param type conversions. Everything here is pure and compiled once at config load.

/// Declares the error of one expression function family: the Go (or Go adapter) text of the
/// failure, which users see verbatim inside the surrounding error. These failures are all of
/// one kind (the expression cannot be evaluated on this input: `ErrorKind::Invalid`), so the
/// type carries the text and nothing is ever decided on it.
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

pub mod cel;
pub mod celfuncs;
pub mod convert;
pub mod criteria;
pub mod gocase;
pub use crate::golang::fmt as gofmt;
pub mod gotemplate;
pub mod gotime;
pub mod jsonpath;
pub mod manifest;
pub mod template;
pub mod tmplfuncs;
pub mod urlguard;

pub use cel::{CelError, CelExpr, CelScope, matched};
pub use template::{Template, TemplateError};
