//! An in-memory event source: a channel of message bodies, and a record of how each message
//! was settled (acknowledged or rejected).

use crate::ports::{BrokerError, Delivery, EventSource};
use async_trait::async_trait;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// How a message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    Acked(Vec<u8>),
    Rejected(Vec<u8>),
}

/// The sending side: publish bodies, read the settlements.
#[derive(Clone)]
pub struct MemoryBroker {
    tx: mpsc::UnboundedSender<(Vec<u8>, Option<String>)>,
    settled: Arc<Mutex<Vec<Settled>>>,
    /// Messages published, and taken by the source.
    counts: Arc<(AtomicUsize, AtomicUsize)>,
}

impl MemoryBroker {
    /// A broker and the source that consumes it.
    pub fn new() -> (MemoryBroker, MemorySource) {
        let (tx, rx) = mpsc::unbounded_channel();
        let settled = Arc::new(Mutex::new(Vec::new()));
        let counts = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
        (
            MemoryBroker {
                tx,
                settled: settled.clone(),
                counts: counts.clone(),
            },
            MemorySource {
                rx,
                settled,
                counts,
            },
        )
    }

    /// Publishes one message body.
    pub fn publish(&self, body: impl Into<Vec<u8>>) {
        self.send(body.into(), None);
    }

    /// [`Self::publish`] with a broker message id.
    pub fn publish_with_id(&self, body: impl Into<Vec<u8>>, id: &str) {
        self.send(body.into(), Some(id.to_string()));
    }

    fn send(&self, body: Vec<u8>, id: Option<String>) {
        if self.tx.send((body, id)).is_ok() {
            self.counts.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Messages published that the source has not handed out yet.
    pub fn pending(&self) -> usize {
        self.counts.0.load(Ordering::SeqCst) - self.counts.1.load(Ordering::SeqCst)
    }

    /// Every settlement so far, in order.
    pub fn settled(&self) -> Vec<Settled> {
        self.settled.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// The consuming side. Ends when every `MemoryBroker` clone is dropped.
pub struct MemorySource {
    rx: mpsc::UnboundedReceiver<(Vec<u8>, Option<String>)>,
    settled: Arc<Mutex<Vec<Settled>>>,
    counts: Arc<(AtomicUsize, AtomicUsize)>,
}

struct MemoryDelivery {
    body: Vec<u8>,
    id: Option<String>,
    settled: Arc<Mutex<Vec<Settled>>>,
}

impl MemoryDelivery {
    fn settle(&self, how: Settled) {
        // A poisoned record still records: a test that panicked elsewhere must not hide it.
        self.settled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(how);
    }
}

#[async_trait]
impl Delivery for MemoryDelivery {
    fn payload(&self) -> &[u8] {
        &self.body
    }

    fn message_id(&self) -> Option<String> {
        self.id.clone()
    }

    async fn ack(self: Box<Self>) -> Result<(), BrokerError> {
        self.settle(Settled::Acked(self.body.clone()));
        Ok(())
    }

    async fn reject(self: Box<Self>) -> Result<(), BrokerError> {
        self.settle(Settled::Rejected(self.body.clone()));
        Ok(())
    }
}

#[async_trait]
impl EventSource for MemorySource {
    async fn next(&mut self) -> Option<Box<dyn Delivery>> {
        let (body, id) = self.rx.recv().await?;
        self.counts.1.fetch_add(1, Ordering::SeqCst);
        Some(Box::new(MemoryDelivery {
            body,
            id,
            settled: self.settled.clone(),
        }))
    }
}
