//! The serve loop: pull deliveries from the event source, run each through the executor with
//! bounded concurrency — never two events for the same resource at once — record metrics,
//! acknowledge after processing, and shut down gracefully (readiness first, then drain).
//!
//! Two bounds: `parallelism` execution slots, taken only once an event holds its resource's
//! lock (so a burst for one cluster waits without a slot and other clusters keep running), and
//! [`IN_FLIGHT_PER_SLOT`] × `parallelism` deliveries held at once (running or waiting), so the
//! loop never holds more unacknowledged messages than that however the burst is shaped.
//!
//! Once shutdown starts, an event that holds no slot yet is not started: its delivery is
//! dropped unsettled, which returns it to the broker (RabbitMQ requeues it when the channel
//! closes, Pub/Sub nacks it), and only the events already running are drained.

use super::locks::KeyLocks;
pub use super::locks::resource_key;
use super::{LoopHealth, LoopMetrics};
use crate::domain::Executor;
use crate::domain::event::CloudEvent;
use crate::ports::{Delivery, EventSource};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// What the loop needs.
#[derive(Clone)]
pub struct LoopDeps {
    pub executor: Arc<Executor>,
    /// The Prometheus metrics in the service.
    pub metrics: Arc<dyn LoopMetrics>,
    /// The health server's state: readiness drops when shutdown starts.
    pub health: Arc<dyn LoopHealth>,
    /// Events processed at once (at least 1).
    pub parallelism: usize,
    /// How long in-flight events may take to finish after shutdown starts.
    pub drain_timeout: Duration,
    /// Larger messages are rejected before they are parsed.
    pub max_event_bytes: usize,
}

/// The default of `--max-event-bytes`: 1 MiB. A HyperFleet event is a reference to a resource
/// (id, kind, href, generation), a few hundred bytes; a 10 MB event parsed and carried through
/// the executor costs ~145 MiB of resident memory.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 1 << 20;

/// Why the loop ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoopEnd {
    /// Shutdown was requested and every in-flight event finished.
    Shutdown,
    /// Shutdown was requested; this many events were still running at the drain timeout.
    DrainTimedOut(usize),
    /// The event source ended without a shutdown request (a fatal broker error).
    SourceClosed,
}

/// Deliveries held (waiting for their resource or running) per execution slot.
pub const IN_FLIGHT_PER_SLOT: usize = 8;

/// Runs until `shutdown` resolves (then drains) or the source ends.
pub async fn run(
    mut source: Box<dyn EventSource>,
    deps: LoopDeps,
    shutdown: impl Future<Output = ()>,
) -> LoopEnd {
    let slots = Arc::new(Semaphore::new(deps.parallelism.max(1)));
    let intake = Arc::new(Semaphore::new(
        deps.parallelism.max(1).saturating_mul(IN_FLIGHT_PER_SLOT),
    ));
    let locks = Arc::new(KeyLocks::default());
    // Set when the loop stops pulling: events not yet started are then left to the broker.
    let (stopping, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    let end = loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break LoopEnd::Shutdown,
            p = intake.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break LoopEnd::SourceClosed },
        };
        let delivery = tokio::select! {
            _ = &mut shutdown => break LoopEnd::Shutdown,
            d = source.next() => d,
        };
        let Some(delivery) = delivery else {
            break LoopEnd::SourceClosed;
        };
        let deps = deps.clone();
        let locks = locks.clone();
        let slots = slots.clone();
        let stopped = stopped.clone();
        tasks.spawn(async move {
            handle(delivery, &deps, &locks, &slots, stopped).await;
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    };
    stopping.send_replace(true);
    match end {
        LoopEnd::SourceClosed => {
            tracing::error!("Fatal subscription error, shutting down");
            deps.health.set_shutting_down();
        }
        _ => {
            tracing::info!("Shutdown initiated, marking not ready");
            deps.health.set_shutting_down();
        }
    }
    let drained = tokio::time::timeout(deps.drain_timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    let end = match (end, drained) {
        (LoopEnd::Shutdown, Err(_)) => {
            let left = tasks.len();
            tracing::warn!("{left} event(s) still running at the drain timeout");
            tasks.abort_all();
            LoopEnd::DrainTimedOut(left)
        }
        (end, _) => end,
    };
    tracing::info!("Closing broker subscriber...");
    source.close().await;
    tracing::info!("Subscriber closed successfully");
    end
}

/// A message that is not an event we can take: rejected (dead-lettered where the broker has a
/// target), never requeued in a loop, and counted as a conversion error.
async fn reject(delivery: Box<dyn Delivery>, deps: &LoopDeps, received: Instant) {
    deps.metrics.record_unparseable();
    if let Err(e) = delivery.reject().await {
        tracing::error!(error = %e, "Failed to reject message");
    }
    deps.metrics
        .record_handled(received.elapsed().as_secs_f64());
}

/// The event a delivery carries, parsed once from the broker's bytes, or `None` (logged) for
/// a message over `max_event_bytes` or one that is not a CloudEvent.
fn admit(delivery: &mut dyn Delivery, max_event_bytes: usize) -> Option<CloudEvent> {
    let size = delivery.payload().len();
    if size > max_event_bytes {
        let message_id = delivery.message_id();
        tracing::error!(
            size,
            limit = max_event_bytes,
            message_id,
            "Message of {size} bytes is over the {} byte limit (--max-event-bytes); rejecting the message",
            max_event_bytes
        );
        return None;
    }
    match delivery.event() {
        Ok(e) => Some(e),
        Err(e) => {
            let message_id = delivery.message_id();
            tracing::error!(error = %e, message_id, "Failed to parse CloudEvent; rejecting the message");
            None
        }
    }
}

/// One delivery: parse, serialise per resource, execute, record, settle.
async fn handle(
    mut delivery: Box<dyn Delivery>,
    deps: &LoopDeps,
    locks: &Arc<KeyLocks>,
    slots: &Semaphore,
    mut stopped: watch::Receiver<bool>,
) {
    let received = Instant::now();
    deps.metrics.record_consumed();
    let Some(event) = admit(delivery.as_mut(), deps.max_event_bytes) else {
        return reject(delivery, deps, received).await;
    };
    let time = event
        .time
        .clone()
        .unwrap_or_else(|| "0001-01-01 00:00:00 +0000 UTC".into());
    tracing::info!(event_id = %event.id, "Event received: id={} type={} source={} time={}", event.id, event.kind, event.source, time);
    let CloudEvent {
        id,
        kind,
        source,
        extensions,
        data,
        ..
    } = event;
    // The data, decoded once: the resource key and the executor read the same map.
    let data = data.into_map();
    let key = data.as_ref().ok().and_then(resource_key);
    let ready = async {
        let guard = match key {
            Some(key) => Some(locks.lock(key).await),
            None => None,
        };
        // The slot only now: waiting for the resource must not keep other resources waiting.
        (guard, slots.acquire().await)
    };
    let (_guard, _slot) = tokio::select! {
        biased;
        // An error means the loop is gone: stopping too.
        _ = stopped.wait_for(|s| *s) => {
            let message_id = delivery.message_id();
            tracing::info!(event_id = %id, message_id, "Shutting down before the event started; leaving it to the broker for redelivery");
            return;
        }
        ready = ready => ready,
    };
    let started = Instant::now();
    let result = deps
        .executor
        .execute_parsed(&id, &kind, data, |span| {
            crate::telemetry::adopt(span, &extensions)
        })
        .await;
    deps.metrics
        .record_event(&result, started.elapsed().as_secs_f64());
    if result.is_failed() {
        let phases: Vec<&str> = result.errors.keys().map(|p| p.as_str()).collect();
        tracing::warn!(event_id = %id, event_type = %kind, failed_phases = ?phases, "event handler failed (acked)");
    }
    tracing::info!(event_id = %id, "Event processed: type={kind} source={source} time={time}");
    if let Err(e) = delivery.ack().await {
        tracing::error!(event_id = %id, error = %e, "Failed to acknowledge message");
    }
    deps.metrics
        .record_handled(received.elapsed().as_secs_f64());
}
