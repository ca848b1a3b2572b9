//! The test kit of hyperfleet-adapter: the fakes and helpers its integration tests share, as a
//! dev-only crate with its own docs and tests (STYLE.md habit 14).
//!
//! - [`api`]: a fake HyperFleet API (axum) with fault injection, and the serve-loop harness
//!   built on it;
//! - [`kube`]: an in-process Kubernetes API server speaking the real REST protocol;
//! - [`maestro`]: Maestro's CloudEvents gRPC service and REST API, with a simulated work agent;
//! - [`otlp`]: OTLP trace collectors (HTTP/protobuf and gRPC);
//! - [`pki`]: a throwaway certificate authority and rustls server configs;
//! - [`rabbit`]: names, queue depth and cleanup against the real RabbitMQ (over lapin);
//! - [`process`] and [`cli`]: the real `adapter` binary, as a server and as a command;
//! - [`capture`], [`hostile`], [`live`]: captured logs, hostile YAML, live-vs-dry-run checks;
//! - [`wait_for`]: the one way a test waits for something to happen.
//!
//! The kit depends only on the adapter's items that every feature set compiles: the root
//! package's features cannot enable features of a dev-dependency, and the tests run both with
//! `--no-default-features` and `--all-features`. Helpers over feature-gated adapter types live
//! in the (gated) test files that use them.

pub mod api;
pub mod capture;
pub mod cli;
pub mod hostile;
pub mod kube;
pub mod live;
pub mod maestro;
pub mod otlp;
pub mod pki;
pub mod process;
pub mod rabbit;
mod wait;

pub use cli::conformance;
pub use wait::{eventually, wait_for, wait_for_async};

/// A broker readiness callback that ignores every report.
pub fn ignore_readiness() -> hyperfleet_adapter::adapters::broker::Readiness {
    std::sync::Arc::new(|_| {})
}

/// A UUIDv7 event id published at `ms` (Unix milliseconds); `n` tells ids of one millisecond
/// apart.
pub fn uuid_v7(ms: u64, n: u64) -> String {
    format!("{:08x}-{:04x}-7000-8000-{:012x}", ms >> 16, ms & 0xffff, n)
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
}

/// A name no other test or run uses (queues, topics, subscriptions): `prefix`, the process id
/// and the sub-second clock.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[cfg(test)]
mod tests {
    #[test]
    fn unique_names_carry_the_prefix_and_the_process() {
        let a = super::unique("q");
        assert!(a.starts_with(&format!("q-{}-", std::process::id())), "{a}");
    }
}
