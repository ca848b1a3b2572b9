//! Adapters: one module per outside world. Backends that need extra crates are gated by their
//! Cargo feature here, where the module is declared.

pub mod api;
pub mod broker;
pub mod transport;
