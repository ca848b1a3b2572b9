//! Event sources. `memory` feeds events from a channel (tests, embedding); RabbitMQ and
//! Pub/Sub subscribers come with their Cargo features.

pub mod memory;
#[cfg(feature = "pubsub")]
pub mod pubsub;
#[cfg(feature = "rabbitmq")]
pub mod rabbitmq;

/// Called by a subscriber with `true` when it is consuming and `false` while it is not (the
/// `broker` readiness check).
pub type Readiness = std::sync::Arc<dyn Fn(bool) + Send + Sync>;

/// The subscriber side of a stop request: the receiver a background pump waits on, answered
/// with `()` once the pump has stopped.
#[cfg(any(feature = "rabbitmq", feature = "pubsub"))]
type StopRequest = tokio::sync::oneshot::Receiver<tokio::sync::oneshot::Sender<()>>;

/// The source side of a stop request: asks the pump to stop and waits (at most 30 s) for it.
#[cfg(any(feature = "rabbitmq", feature = "pubsub"))]
struct Stopper(Option<tokio::sync::oneshot::Sender<tokio::sync::oneshot::Sender<()>>>);

#[cfg(any(feature = "rabbitmq", feature = "pubsub"))]
impl Stopper {
    fn new() -> (Stopper, StopRequest) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (Stopper(Some(tx)), rx)
    }

    /// Requests the stop once; later calls do nothing.
    async fn stop(&mut self) {
        if let Some(stop) = self.0.take() {
            let (done_tx, done_rx) = tokio::sync::oneshot::channel();
            if stop.send(done_tx).is_ok() {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(30), done_rx).await;
            }
        }
    }
}
