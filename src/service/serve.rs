//! The serve loop: pull deliveries from the event source, run each through the executor with
//! bounded concurrency — never two events for the same resource at once — record metrics,
//! acknowledge after processing, and shut down gracefully (readiness first, then drain).
//!
//! Events go through the keyed queue (`queue`): per resource (a cluster, or a node pool under
//! its cluster) one event runs and at most one waits; a delivery arriving for a resource that
//! already has one waiting coalesces with it (the newer is kept, the other acknowledged as a
//! `duplicate`). Before an event is queued and again when it is taken, the stale-event skip
//! (`recent`) acknowledges it as `stale` when a completed reconcile already covered it.
//!
//! Two bounds: `parallelism` execution slots, taken only by an event about to run (so a burst
//! for one cluster waits without a slot and other clusters keep running), and
//! [`IN_FLIGHT_PER_SLOT`] × `parallelism` deliveries held at once (running, waiting or being
//! parsed), so the loop never holds more unacknowledged messages than that however the burst
//! is shaped.
//!
//! Once shutdown starts, an event that holds no slot yet is not started: its delivery is
//! dropped unsettled, which returns it to the broker (RabbitMQ requeues it when the channel
//! closes, Pub/Sub nacks it), and only the events already running are drained.

pub use super::queue::resource_key;
use super::queue::{KeyedQueue, Offer};
use super::recent::{RECONCILES_KEPT, Reconcile, Reconciles, uuid_v7_millis};
use super::{LoopHealth, LoopMetrics, SkipReason};
use crate::domain::Executor;
use crate::domain::event::{CloudEvent, DataError};
use crate::ports::{Delivery, EventSource};
use serde_json::{Map, Value};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
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
    /// Acknowledge without running an event that a completed reconcile of its resource already
    /// covered (UUIDv7 ids only; see `recent`).
    pub skip_stale_events: bool,
}

/// What the loop's tasks share: the execution slots, the keyed queue and the last completed
/// reconcile of each resource.
struct Shared {
    slots: Semaphore,
    queue: KeyedQueue<Admitted>,
    reconciles: Reconciles,
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
    let shared = Arc::new(Shared {
        slots: Semaphore::new(deps.parallelism.max(1)),
        queue: KeyedQueue::default(),
        reconciles: Reconciles::new(RECONCILES_KEPT),
    });
    let intake = Arc::new(Semaphore::new(
        deps.parallelism.max(1).saturating_mul(IN_FLIGHT_PER_SLOT),
    ));
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
        let shared = shared.clone();
        let stopped = stopped.clone();
        tasks.spawn(async move {
            handle(delivery, permit, &deps, &shared, stopped).await;
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

/// A delivery admitted and parsed, waiting for its resource or running. It holds its intake
/// permit until it is settled, so deliveries waiting in the queue count against the bound.
struct Admitted {
    delivery: Box<dyn Delivery>,
    id: String,
    kind: String,
    source: String,
    time: String,
    extensions: Map<String, Value>,
    data: Result<Map<String, Value>, DataError>,
    /// The UUIDv7 publish time of the event id, if it is one.
    published_ms: Option<i64>,
    received: Instant,
    _permit: OwnedSemaphorePermit,
}

/// Whether `a` was published after `b` (both ids UUIDv7); otherwise the later offer wins.
fn published_later(a: &Admitted, b: &Admitted) -> bool {
    matches!((a.published_ms, b.published_ms), (Some(x), Some(y)) if x > y)
}

/// One delivery: parse, queue per resource, execute, record, settle.
async fn handle(
    mut delivery: Box<dyn Delivery>,
    permit: OwnedSemaphorePermit,
    deps: &LoopDeps,
    shared: &Shared,
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
    let published_ms = uuid_v7_millis(&id);
    let item = Admitted {
        delivery,
        id,
        kind,
        source,
        time,
        extensions,
        // The data, decoded once: the resource key and the executor read the same map.
        data: data.into_map(),
        published_ms,
        received,
        _permit: permit,
    };
    let Some(key) = item.data.as_ref().ok().and_then(resource_key) else {
        // No resource to order by: it runs on its own.
        let Some(_slot) = slot(&shared.slots, &mut stopped).await else {
            return leave(item);
        };
        return execute(item, deps, None).await;
    };
    if let Some(covering) = stale(deps, shared, &key, &item) {
        return skip_stale(item, &key, covering, deps).await;
    }
    match shared.queue.offer(&key, item, published_later) {
        Offer::Queued => return,
        Offer::Superseded(old) => return skip_duplicate(old, &key, deps).await,
        Offer::Drive => {}
    }
    // This task drives the key: one event at a time, each taken only once it has a slot (so a
    // later delivery for the key can still replace it while it waits). Should the task end
    // early (a panic in a debug build, release builds abort; an abort at the drain timeout),
    // the guard releases the key.
    let release = Release {
        queue: &shared.queue,
        key: &key,
    };
    loop {
        let Some(slot) = slot(&shared.slots, &mut stopped).await else {
            // Stopping: the guard leaves what waits for the key to the broker.
            return;
        };
        if let Some(item) = shared.queue.take(&key) {
            match stale(deps, shared, &key, &item) {
                Some(covering) => skip_stale(item, &key, covering, deps).await,
                None => execute(item, deps, Some((shared, &key))).await,
            }
        }
        drop(slot);
        if !shared.queue.finish(&key) {
            break;
        }
    }
    // Finished normally: the key is idle, and may already have a new driver.
    std::mem::forget(release);
}

/// Releases a key whose driver ends without finishing it (stopping, or cut short): what waits
/// is left to the broker (logged and dropped unsettled) and the next delivery for the key gets
/// a new driver. A driver that finishes normally forgets it (the key may already belong to a
/// new driver by then).
struct Release<'a> {
    queue: &'a KeyedQueue<Admitted>,
    key: &'a str,
}

impl Drop for Release<'_> {
    fn drop(&mut self) {
        loop {
            if let Some(item) = self.queue.take(self.key) {
                leave(item);
            }
            if !self.queue.finish(self.key) {
                break;
            }
        }
    }
}

/// An execution slot, or `None` once the loop is stopping (an error means the loop is gone:
/// stopping too).
async fn slot<'a>(
    slots: &'a Semaphore,
    stopped: &mut watch::Receiver<bool>,
) -> Option<tokio::sync::SemaphorePermit<'a>> {
    tokio::select! {
        biased;
        _ = stopped.wait_for(|s| *s) => None,
        slot = slots.acquire() => slot.ok(),
    }
}

/// Leaves an event that did not start to the broker: its delivery is dropped unsettled.
fn leave(item: Admitted) {
    let message_id = item.delivery.message_id();
    tracing::info!(event_id = %item.id, message_id, "Shutting down before the event started; leaving it to the broker for redelivery");
}

/// The reconcile that already covered `item`, when the stale-event skip is on and one did.
fn stale(deps: &LoopDeps, shared: &Shared, key: &str, item: &Admitted) -> Option<Reconcile> {
    if !deps.skip_stale_events {
        return None;
    }
    shared.reconciles.covering(key, item.published_ms?)
}

/// Acknowledges an event a completed reconcile already covered.
async fn skip_stale(item: Admitted, key: &str, covering: Reconcile, deps: &LoopDeps) {
    let published = millis_text(item.published_ms.unwrap_or_default());
    let started = millis_text(covering.started_ms);
    tracing::info!(
        event_id = %item.id,
        resource = key,
        "Event skipped: published at {published}, before the last completed reconcile of {key} started ({started}) with an event at least as new (stale event); acknowledged"
    );
    settle_skipped(item, SkipReason::Stale, deps).await;
}

/// Acknowledges a delivery a newer one for the same resource superseded in the queue.
async fn skip_duplicate(item: Admitted, key: &str, deps: &LoopDeps) {
    tracing::debug!(
        event_id = %item.id,
        resource = key,
        "Event superseded by a newer event for {key} waiting to run; acknowledged as a duplicate"
    );
    settle_skipped(item, SkipReason::Duplicate, deps).await;
}

async fn settle_skipped(item: Admitted, reason: SkipReason, deps: &LoopDeps) {
    deps.metrics.record_skipped(reason);
    ack(item.delivery, &item.id, item.received, deps).await;
}

/// Acknowledges a delivery that is done with, and records how long it was held.
async fn ack(delivery: Box<dyn Delivery>, id: &str, received: Instant, deps: &LoopDeps) {
    if let Err(e) = delivery.ack().await {
        tracing::error!(event_id = %id, error = %e, "Failed to acknowledge message");
    }
    deps.metrics
        .record_handled(received.elapsed().as_secs_f64());
}

fn millis_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

/// Runs one event through the executor, records it and acknowledges it. With a key, a
/// reconcile that did not fail is remembered for the stale-event skip.
async fn execute(item: Admitted, deps: &LoopDeps, key: Option<(&Shared, &str)>) {
    let Admitted {
        delivery,
        id,
        kind,
        source,
        time,
        extensions,
        data,
        published_ms,
        received,
        _permit,
    } = item;
    let started_ms = deps.executor.ports().clock.now().timestamp_millis();
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
    } else if let Some((shared, key)) = key {
        shared.reconciles.completed(
            key,
            Reconcile {
                started_ms,
                event_ms: published_ms,
            },
        );
    }
    tracing::info!(event_id = %id, "Event processed: type={kind} source={source} time={time}");
    ack(delivery, &id, received, deps).await;
}
