//! The application service: what the adapter does with each delivery the broker hands it —
//! parse, queue per resource (coalescing duplicates, skipping stale events), bound the concurrency, run the executor, record, settle (the ack
//! policy) — and how it stops. It depends on the domain and on the ports (`EventSource`,
//! `Delivery`), and reports to the two small traits below; the composition root (`app`) gives
//! it the Prometheus metrics and the health server's state, tests give it whatever they like.

mod queue;
pub mod recent;
pub mod serve;

use crate::domain::ExecutionResult;

/// What the serve loop counts (the broker series and the per-event series).
pub trait LoopMetrics: Send + Sync {
    /// A message arrived from the broker.
    fn record_consumed(&self);
    /// A message that is not an event we can take was rejected.
    fn record_unparseable(&self);
    /// A message was settled (acked or rejected) `seconds` after it arrived.
    fn record_handled(&self, seconds: f64);
    /// An event ran through the executor in `seconds`.
    fn record_event(&self, result: &ExecutionResult, seconds: f64);
    /// An event was acknowledged without running, for `reason`.
    fn record_skipped(&self, reason: SkipReason);
}

/// Why an event was acknowledged without running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// A newer delivery for the same resource superseded it while it waited (the keyed queue).
    Duplicate,
    /// A completed reconcile of its resource already covered it (the stale-event skip).
    Stale,
}

impl SkipReason {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Duplicate => "duplicate",
            SkipReason::Stale => "stale",
        }
    }
}

/// What the serve loop tells the readiness check.
pub trait LoopHealth: Send + Sync {
    /// Shutdown started (or the source failed): stop reporting ready.
    fn set_shutting_down(&self);
}
