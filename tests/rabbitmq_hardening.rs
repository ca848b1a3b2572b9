//! RabbitMQ hardening against the real broker (127.0.0.1:5672, guest/guest): every
//! `broker.rabbitmq.url` form the Go adapter (amqp091-go) accepts connects to the same vhost —
//! the bare host, a lone `/` (the Go chart's form, which lapin's parser read as the empty vhost),
//! `/%2F`, `/%2f`, and a named vhost this test creates (unique per run) and removes; a broker
//! that never answers fails the connect at its deadline; deliveries carry the message id the
//! rejection log line names.

#![cfg(feature = "rabbitmq")]

use hyperfleet_adapter::adapters::broker::rabbitmq::{self, Publisher, Subscription};
use hyperfleet_adapter::config::broker::RabbitMqConfig;
use hyperfleet_adapter::ports::{ErrorKind, EventSource};
use kit::rabbit::*;

/// The queues of `vhost`, as the broker lists them.
fn queues_in(vhost: &str) -> String {
    let out = std::process::Command::new("rabbitmqctl")
        .args(["list_queues", "-q", "-p", vhost, "name"])
        .output()
        .expect("rabbitmqctl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes the vhost even when the test fails.
struct Vhost(String);

impl Drop for Vhost {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .args(["delete_vhost", &self.0])
            .output();
    }
}

/// Subscribes and publishes through `url`, sees the message arrive, and checks the queue was
/// declared in `vhost`.
async fn round_trip(url: &str, vhost: &str) {
    let cfg = RabbitMqConfig {
        url: url.into(),
        ..Default::default()
    };
    let topic = unique("url-form");
    let mut source = rabbitmq::subscribe(
        cfg.clone(),
        Subscription::new(&topic, "s", 1),
        kit::ignore_readiness(),
    )
    .await
    .unwrap_or_else(|e| panic!("{url}: {e}"));
    let p = Publisher::connect(&cfg, &topic).await.unwrap();
    p.send(br#"{"specversion":"1.0","id":"e1"}"#).await.unwrap();
    p.close().await;
    let d = tokio::time::timeout(std::time::Duration::from_secs(30), source.next())
        .await
        .unwrap_or_else(|_| panic!("{url}: no delivery"))
        .unwrap();
    d.ack().await.unwrap();
    let queue = format!("{topic}-s");
    assert!(
        queues_in(vhost).lines().any(|l| l.trim() == queue),
        "{url}: queue {queue} is not in vhost {vhost:?}"
    );
    source.close().await;
    if vhost == "/" {
        cleanup(&[queue], &[topic]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_default_vhost_form_reaches_the_default_vhost() {
    for url in [
        "amqp://guest:guest@127.0.0.1:5672",
        "amqp://guest:guest@127.0.0.1:5672/",
        "amqp://guest:guest@127.0.0.1:5672/%2F",
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        // No port, no user: amqp091-go's defaults (5672, guest/guest).
        "amqp://127.0.0.1/",
    ] {
        round_trip(url, "/").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_vhost_is_the_path_without_its_slash() {
    let name = unique("hf-vhost");
    rabbitmqctl(&["add_vhost", &name]);
    let _guard = Vhost(name.clone());
    rabbitmqctl(&["set_permissions", "-p", &name, "guest", ".*", ".*", ".*"]);
    round_trip(&format!("amqp://guest:guest@127.0.0.1:5672/{name}"), &name).await;
    // Percent-encoded, as Go decodes it.
    let encoded = name.replace('-', "%2D");
    round_trip(
        &format!("amqp://guest:guest@127.0.0.1:5672/{encoded}"),
        &name,
    )
    .await;
}

/// A broker that accepts the TCP connection and never speaks: the subscribe fails at
/// `CONNECT_TIMEOUT` (paused time) instead of hanging.
#[tokio::test(start_paused = true)]
async fn a_broker_that_never_answers_fails_the_connect_at_its_deadline() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let cfg = RabbitMqConfig {
        url: format!("amqp://guest:guest@127.0.0.1:{port}/"),
        ..Default::default()
    };
    // The guard only turns a hang (the bug) into a failure; it is virtual time.
    let outcome = tokio::time::timeout(
        std::time::Duration::from_secs(3600),
        rabbitmq::subscribe(
            cfg,
            Subscription::new("never", "s", 1),
            kit::ignore_readiness(),
        ),
    )
    .await
    .expect("the connect hung past any deadline");
    let Err(err) = outcome else {
        panic!("connected to a silent broker")
    };
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(
        err.to_string(),
        format!(
            "connecting to RabbitMQ at amqp://guest:***@127.0.0.1:{port}/ did not complete within {:?}",
            rabbitmq::CONNECT_TIMEOUT
        )
    );
    held.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_carry_the_message_id_property_else_the_delivery_tag() {
    let topic = unique("msg-id");
    let mut source = rabbitmq::subscribe(
        cfg(),
        Subscription::new(&topic, "s", 1),
        kit::ignore_readiness(),
    )
    .await
    .unwrap();
    let p = Publisher::connect(&cfg(), &topic).await.unwrap();
    let with_id = lapin::BasicProperties::default().with_message_id("m-4711".into());
    p.send_with(b"not a cloudevent", with_id).await.unwrap();
    p.send(b"no id either").await.unwrap();
    p.close().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let d = source.next().await.unwrap();
        ids.push(d.message_id());
        d.ack().await.unwrap();
    }
    assert_eq!(ids[0].as_deref(), Some("m-4711"));
    assert!(
        ids[1]
            .as_deref()
            .is_some_and(|id| id.starts_with("delivery-tag:")),
        "{ids:?}"
    );
    source.close().await;
    cleanup(&[format!("{topic}-s")], &[topic]).await;
}
