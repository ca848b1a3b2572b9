//! Event sources. `memory` feeds events from a channel (tests, embedding); RabbitMQ and
//! Pub/Sub subscribers come with their Cargo features.

pub mod memory;
#[cfg(feature = "pubsub")]
pub mod pubsub;
#[cfg(feature = "rabbitmq")]
pub mod rabbitmq;
