//! The pure core: one CloudEvent in, params extracted, preconditions evaluated, resources
//! planned and applied, status built and reported — over the ports in `crate::ports` only.

pub mod api;
pub mod discovery;
pub mod error;
pub mod event;
pub mod executor;
pub mod generation;
mod params;
mod post;
mod preconditions;
mod resources;
pub mod result;
pub mod urls;
mod vars;

pub use error::Failure;
pub use executor::{Executor, Ports};
pub use result::{ExecutionResult, Phase, Status, StepStatus};
