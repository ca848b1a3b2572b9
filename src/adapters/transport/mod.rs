//! Transports: where rendered resources go. The in-memory one backs dry runs and tests; the
//! contract suite checks every implementation against the `Transport` port's contract.

pub mod contract;
#[cfg(feature = "k8s")]
pub mod kubernetes;
#[cfg(feature = "maestro")]
pub mod maestro;
pub mod memory;

pub use memory::{MemoryTransport, TransportOp};
