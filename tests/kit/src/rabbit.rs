//! Helpers for the tests against the real RabbitMQ (directly over lapin): the broker URL and
//! config, an admin channel, queue depth, cleanup and `rabbitmqctl`. The serve loop over a
//! RabbitMQ subscription needs the adapter's `rabbitmq` feature, so it lives in the gated test
//! files; [`crate::api::harness`] is the part they share.

pub use crate::unique;
use hyperfleet_adapter::config::broker::RabbitMqConfig;
use lapin::options::{QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};

/// The broker: `HYPERFLEET_TEST_AMQP_URL`, else the local node with the guest account.
pub fn url() -> String {
    std::env::var("HYPERFLEET_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// The adapter's RabbitMQ config for [`url`], defaults otherwise.
pub fn cfg() -> RabbitMqConfig {
    RabbitMqConfig {
        url: url(),
        ..Default::default()
    }
}

/// Writes `broker.yaml` into `dir` for [`url`], with `extra` (top-level keys such as
/// `subscriber:`) appended; returns its path (for `BROKER_CONFIG_FILE`).
pub fn broker_file(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("broker.yaml");
    std::fs::write(
        &path,
        format!(
            "broker:\n  type: rabbitmq\n  rabbitmq:\n    url: {}\n{extra}",
            url()
        ),
    )
    .unwrap();
    path
}

/// A channel for setting up and inspecting queues and exchanges (its connection lives as long
/// as the test process); panics saying how to start RabbitMQ when it is not reachable.
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

/// Deletes `queues` and `exchanges`, ignoring the ones already gone.
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

/// Runs `rabbitmqctl ARGS` on the local node; panics with its output when it fails.
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

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::BasicProperties;
    use lapin::options::BasicPublishOptions;

    #[tokio::test]
    async fn counts_ready_messages_and_cleans_up() {
        let q = unique("kit-rabbit");
        let ch = admin().await;
        ch.queue_declare(
            q.as_str().into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
        assert_eq!(ready(&q).await, 0);
        ch.basic_publish(
            "".into(),
            q.as_str().into(),
            BasicPublishOptions::default(),
            b"hello",
            BasicProperties::default(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
        crate::wait_for_async(
            "the message to be ready",
            std::time::Duration::from_secs(10),
            async || ready(&q).await == 1,
        )
        .await;
        cleanup(std::slice::from_ref(&q), &[]).await;
        let gone = admin()
            .await
            .queue_declare(
                q.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await;
        assert!(gone.is_err(), "the queue was deleted");
    }
}
