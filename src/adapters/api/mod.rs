//! HyperFleet API adapters. `recorded` answers from a dry-run responses file.

pub mod recorded;

pub use recorded::RecordedApi;
