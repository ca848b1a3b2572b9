//! HyperFleet API adapters: `http` talks to the real API, `recorded` answers from a dry-run
//! responses file.

mod body;
pub mod http;
pub mod recorded;

pub use recorded::RecordedApi;
