//! The expression layer: CEL, Go templates, Kubernetes JSONPath, Go value printing and the
//! param type conversions. Everything here is pure and compiled once at config load.

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
