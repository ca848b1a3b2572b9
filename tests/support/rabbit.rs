//! Helpers for the tests against the real RabbitMQ: names, the admin channel, queue depth,
//! cleanup, rabbitmqctl, and the serve loop over a RabbitMQ subscription with the fake API.

#![allow(dead_code)]

pub use super::fake_api::unique;
use super::fake_api::{Running, harness};
use hyperfleet_adapter::adapters::broker::rabbitmq::{self, Subscription};
use hyperfleet_adapter::config::broker::RabbitMqConfig;
use lapin::options::{QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use std::sync::Arc;

pub fn url() -> String {
    std::env::var("HYPERFLEET_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

pub fn cfg() -> RabbitMqConfig {
    RabbitMqConfig {
        url: url(),
        ..Default::default()
    }
}

/// A name no other run uses.
pub async fn admin() -> lapin::Channel {
    let conn = Connection::connect(&url(), ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "RabbitMQ is not reachable at {} ({e}); scripts/test starts it",
                url()
            )
        });
    let ch = conn.create_channel().await.unwrap();
    // Keep the connection alive as long as the channel is used.
    std::mem::forget(conn);
    ch
}

/// Messages ready in `queue`.
pub async fn ready(queue: &str) -> u32 {
    admin()
        .await
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap()
        .message_count()
}

pub async fn cleanup(queues: &[String], exchanges: &[String]) {
    let ch = admin().await;
    for q in queues {
        let _ = ch
            .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
            .await;
    }
    for e in exchanges {
        let _ = ch
            .exchange_delete(e.as_str().into(), Default::default())
            .await;
    }
}

pub fn sub(topic: &str, id: &str, parallelism: usize) -> Subscription {
    Subscription {
        topic: topic.into(),
        subscription_id: id.into(),
        parallelism,
    }
}

pub fn no_readiness() -> rabbitmq::Readiness {
    Arc::new(|_| {})
}

/// The serve loop over a RabbitMQ subscription with the fake API.
pub async fn serve_loop(
    topic: &str,
    subscription: &str,
    parallelism: usize,
    delay_ms: u64,
) -> Running {
    serve_loop_on(cfg(), topic, subscription, parallelism, delay_ms).await
}

/// [`serve_loop`] against the node `cfg` names.
pub async fn serve_loop_on(
    cfg: RabbitMqConfig,
    topic: &str,
    subscription: &str,
    parallelism: usize,
    delay_ms: u64,
) -> Running {
    let h = harness("rabbit-test-adapter", topic, subscription, delay_ms).await;
    let health = h.health.clone();
    let source = rabbitmq::subscribe(
        cfg,
        sub(topic, subscription, parallelism),
        Arc::new(move |up| health.set("broker", up)),
    )
    .await
    .unwrap();
    h.run(Box::new(source), parallelism)
}

pub fn rabbitmqctl(args: &[&str]) {
    let out = std::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("rabbitmqctl {args:?}: {e}"));
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
