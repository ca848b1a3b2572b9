//! Adapters: one module per outside world. Backends that need extra crates are gated by their
//! Cargo feature here, where the module is declared.
//!
//! Inbound: `broker` (deliveries in), `servers` (the health and metrics ports) and
//! `prometheus` (the metric series they expose). Outbound: `transport` and `api`.

pub mod api;
pub mod broker;
pub mod prometheus;
pub mod servers;
pub mod transport;

/// An error and its sources, `: `-joined, skipping a source whose text is already there (hyper's
/// and tonic's own messages are terse: "client error (Connect)" needs its cause).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    with_causes(e.to_string(), e.source())
}

/// `text` followed by the messages of `source` and its own sources.
pub fn with_causes(mut text: String, mut source: Option<&dyn std::error::Error>) -> String {
    while let Some(s) = source {
        let cause = s.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = s.source();
    }
    text
}
