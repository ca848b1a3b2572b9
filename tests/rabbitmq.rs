//! The RabbitMQ subscriber against the real broker (127.0.0.1:5672, or
//! `HYPERFLEET_TEST_AMQP_URL`; `scripts/test` starts it when it is not running): the broker
//! library's topology, fan-out across subscription ids, competing consumers within one,
//! malformed messages dead-lettered or dropped (never requeued), binary-mode events, and a
//! graceful shutdown with events in flight that loses nothing.

#![cfg(feature = "rabbitmq")]

use hyperfleet_adapter::adapters::broker::rabbitmq::{self, Publisher, Subscription};
use hyperfleet_adapter::config::broker::RabbitMqConfig;
use hyperfleet_adapter::ports::{ErrorKind, EventSource};
use hyperfleet_adapter::service::serve::LoopEnd;
use kit::api::{Running, event, harness};
use kit::rabbit::*;
use kit::wait_for;
use lapin::options::{
    BasicGetOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, ExchangeKind};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Consumes `source`, acking everything, recording event ids and counting successful acks.
fn drain(
    mut source: rabbitmq::RabbitSource,
    seen: Arc<Mutex<Vec<String>>>,
    acked: Arc<AtomicUsize>,
) {
    tokio::spawn(async move {
        while let Some(d) = source.next().await {
            let v: serde_json::Value = serde_json::from_slice(d.payload()).unwrap();
            seen.lock()
                .unwrap()
                .push(v["id"].as_str().unwrap().to_string());
            if d.ack().await.is_ok() {
                acked.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_across_subscriptions_and_competing_consumers_within_one() {
    let topic = unique("fanout");
    let a1 = rabbitmq::subscribe(
        cfg(),
        Subscription::new(&topic, "alpha", 1),
        kit::ignore_readiness(),
    )
    .await
    .unwrap();
    let a2 = rabbitmq::subscribe(
        cfg(),
        Subscription::new(&topic, "alpha", 1),
        kit::ignore_readiness(),
    )
    .await
    .unwrap();
    let b = rabbitmq::subscribe(
        cfg(),
        Subscription::new(&topic, "beta", 4),
        kit::ignore_readiness(),
    )
    .await
    .unwrap();
    type Seen = Arc<Mutex<Vec<String>>>;
    let (s1, s2, sb) = (Seen::default(), Seen::default(), Seen::default());
    let (alpha_acks, beta_acks) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    drain(a1, s1.clone(), alpha_acks.clone());
    drain(a2, s2.clone(), alpha_acks.clone());
    drain(b, sb.clone(), beta_acks.clone());
    let p = Publisher::connect(&cfg(), &topic).await.unwrap();
    for n in 0..40 {
        p.send(&event(&format!("e{n}"), "c1")).await.unwrap();
    }
    p.close().await;
    // 40 successful acks per subscription: every message is settled for good, so no copy can
    // still arrive (a message is redelivered only when its ack did not go through).
    wait_for(
        "both subscriptions to ack every event",
        Duration::from_secs(20),
        || alpha_acks.load(Ordering::SeqCst) >= 40 && beta_acks.load(Ordering::SeqCst) >= 40,
    )
    .await;
    let all: Vec<String> = (0..40).map(|n| format!("e{n}")).collect();
    let mut alpha: Vec<String> = s1.lock().unwrap().clone();
    alpha.extend(s2.lock().unwrap().clone());
    alpha.sort();
    let mut expected = all.clone();
    expected.sort();
    assert_eq!(
        alpha, expected,
        "competing consumers share one queue: each event exactly once"
    );
    assert!(
        !s1.lock().unwrap().is_empty() && !s2.lock().unwrap().is_empty(),
        "both consumers of one subscription got work"
    );
    let mut beta = sb.lock().unwrap().clone();
    beta.sort();
    assert_eq!(
        beta, expected,
        "fan-out: the other subscription got every event"
    );
    let queues = [format!("{topic}-alpha"), format!("{topic}-beta")];
    for q in &queues {
        assert_eq!(ready(q).await, 0, "{q} is empty");
    }
    cleanup(&queues, &[topic]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topology_follows_broker_yaml() {
    let topic = unique("topo");
    let exchange = unique("custom-exchange");
    let c = RabbitMqConfig {
        url: url(),
        exchange: exchange.clone(),
        exchange_type: "fanout".into(),
        queue: unique("orders"),
        ..Default::default()
    };
    let mut source = rabbitmq::subscribe(
        c.clone(),
        Subscription::new(&topic, "sub1", 1),
        kit::ignore_readiness(),
    )
    .await
    .unwrap();
    let queue = format!("{}-sub1", c.queue);
    // The queue exists, is durable (a passive declare with durable succeeds) and is bound to the
    // configured exchange: a message published there arrives.
    let ch = admin().await;
    ch.exchange_declare(
        exchange.as_str().into(),
        ExchangeKind::Fanout,
        ExchangeDeclareOptions {
            passive: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .expect("the configured fanout exchange was declared");
    let publisher = Publisher::connect(
        &RabbitMqConfig {
            routing_key: "anything".into(),
            ..c.clone()
        },
        &topic,
    )
    .await
    .unwrap();
    publisher.send(&event("t1", "c1")).await.unwrap();
    publisher.close().await;
    let d = tokio::time::timeout(Duration::from_secs(10), source.next())
        .await
        .expect("delivery")
        .unwrap();
    assert!(String::from_utf8_lossy(d.payload()).contains("\"t1\""));
    d.ack().await.unwrap();
    source.close().await;
    assert_eq!(ready(&queue).await, 0);
    cleanup(&[queue], &[exchange]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_mode_events_are_accepted() {
    let topic = unique("binary");
    let mut source = rabbitmq::subscribe(
        cfg(),
        Subscription::new(&topic, "s1", 1),
        kit::ignore_readiness(),
    )
    .await
    .unwrap();
    let mut h = FieldTable::default();
    for (k, v) in [
        ("cloudEvents:specversion", "1.0"),
        ("cloudEvents:id", "bin-1"),
        ("cloudEvents:type", "io.hyperfleet.cluster.updated"),
        ("cloudEvents:source", "/sentinel"),
    ] {
        h.insert(k.into(), AMQPValue::LongString(LongString::from(v)));
    }
    let p = Publisher::connect(&cfg(), &topic).await.unwrap();
    p.send_with(
        br#"{"id":"c9","kind":"Cluster","href":"/clusters/c9","generation":2}"#,
        BasicProperties::default()
            .with_headers(h)
            .with_content_type("application/json".into()),
    )
    .await
    .unwrap();
    p.close().await;
    let mut d = tokio::time::timeout(Duration::from_secs(10), source.next())
        .await
        .unwrap()
        .unwrap();
    let e = d.event().unwrap();
    assert_eq!(e.id, "bin-1");
    assert_eq!(e.source, "/sentinel");
    assert_eq!(e.data.to_map().unwrap()["id"], "c9", "the body is the data");
    d.ack().await.unwrap();
    source.close().await;
    cleanup(&[format!("{topic}-s1")], &[topic]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_dropped_not_requeued() {
    let topic = unique("malformed");
    let run = serve_loop(&topic, "s1", 2, 0).await;
    let p = Publisher::connect(&cfg(), &topic).await.unwrap();
    p.send(b"this is not a cloudevent").await.unwrap();
    p.send(&event("ok-1", "c1")).await.unwrap();
    p.close().await;
    wait_for(
        "the valid event to be reported",
        Duration::from_secs(10),
        || run.api.statuses().len() == 1,
    )
    .await;
    wait_for(
        "the malformed message to be counted",
        Duration::from_secs(10),
        || run.metrics.render().contains("error_type=\"conversion\""),
    )
    .await;
    // Not requeued: a requeued message goes back to the head of the queue, so it would come
    // back before an event published now; once that event is reported, it has not.
    let p = Publisher::connect(&cfg(), &topic).await.unwrap();
    p.send(&event("ok-2", "c2")).await.unwrap();
    p.close().await;
    wait_for(
        "the later event to be reported",
        Duration::from_secs(10),
        || run.api.statuses().len() == 2,
    )
    .await;
    let queue = format!("{topic}-s1");
    let _ = run.stop.send(());
    assert_eq!(run.handle.await.unwrap(), LoopEnd::Shutdown);
    assert_eq!(ready(&queue).await, 0, "the malformed message is gone");
    let text = run.metrics.render();
    assert!(
        text.contains(&format!("hyperfleet_broker_errors_total{{component=\"rabbit-test-adapter\",error_type=\"conversion\",topic=\"{topic}\",version=\"v\"}} 1")),
        "{text}"
    );
    assert!(
        text.contains(&format!("hyperfleet_broker_messages_consumed_total{{component=\"rabbit-test-adapter\",topic=\"{topic}\",version=\"v\"}} 3")),
        "{text}"
    );
    cleanup(&[queue], &[topic]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_go_to_the_dead_letter_exchange_when_one_is_configured() {
    let topic = unique("dlx");
    let queue = format!("{topic}-s1");
    let dlx = format!("{topic}.dlx");
    let dlq = format!("{topic}.dlq");
    // The operator's dead-letter setup: a policy on the queue and a dead-letter exchange + queue.
    let ch = admin().await;
    ch.exchange_declare(
        dlx.as_str().into(),
        ExchangeKind::Fanout,
        ExchangeDeclareOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_declare(
        dlq.as_str().into(),
        QueueDeclareOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_bind(
        dlq.as_str().into(),
        dlx.as_str().into(),
        "".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    let policy = unique("dlx-policy");
    rabbitmqctl(&[
        "set_policy",
        &policy,
        &format!("^{queue}$"),
        &format!("{{\"dead-letter-exchange\":\"{dlx}\"}}"),
        "--apply-to",
        "queues",
    ]);
    let run = serve_loop(&topic, "s1", 1, 0).await;
    let p = Publisher::connect(&cfg(), &topic).await.unwrap();
    p.send(b"{\"not\": \"an event\"}").await.unwrap();
    p.close().await;
    let mut got = None;
    kit::eventually(Duration::from_secs(5), async || {
        let m = ch
            .basic_get(dlq.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap();
        got = m.map(|m| m.delivery.data.clone());
        got.is_some()
    })
    .await;
    rabbitmqctl(&["clear_policy", &policy]);
    assert_eq!(
        got.as_deref(),
        Some(&b"{\"not\": \"an event\"}"[..]),
        "the message was dead-lettered"
    );
    let _ = run.stop.send(());
    run.handle.await.unwrap();
    assert_eq!(ready(&queue).await, 0);
    cleanup(&[queue, dlq], &[topic, dlx]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_events_and_leaves_the_rest_queued() {
    let topic = unique("shutdown");
    let queue = format!("{topic}-s1");
    let run = serve_loop(&topic, "s1", 2, 700).await;
    let p = Publisher::connect(&cfg(), &topic).await.unwrap();
    for n in 0..8 {
        p.send(&event(&format!("e{n}"), &format!("c{n}")))
            .await
            .unwrap();
    }
    p.close().await;
    wait_for("two events in flight", Duration::from_secs(10), || {
        run.api.gets().len() == 2
    })
    .await;
    let _ = run.stop.send(());
    assert_eq!(run.handle.await.unwrap(), LoopEnd::Shutdown);
    let reported: BTreeSet<String> = run.api.statuses().into_iter().map(|(id, _)| id).collect();
    let fetched: BTreeSet<String> = run.api.gets().into_iter().collect();
    assert_eq!(fetched.len(), 2, "no new event started after shutdown");
    assert_eq!(reported, fetched, "every in-flight event finished");
    // The rest went back to the queue (unacknowledged), ready for the next consumer.
    let mut left = 0;
    kit::eventually(Duration::from_secs(5), async || {
        left = ready(&queue).await;
        left == 6
    })
    .await;
    assert_eq!(left, 6, "8 published, 2 processed, 6 still queued");
    cleanup(&[queue], &[topic]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_fails_clearly_when_the_broker_is_unreachable() {
    let bad = RabbitMqConfig {
        url: "amqp://guest:secret@127.0.0.1:1/%2f".into(),
        ..Default::default()
    };
    let err =
        match rabbitmq::subscribe(bad, Subscription::new("t", "s", 1), kit::ignore_readiness())
            .await
        {
            Ok(_) => panic!("subscribed to a closed port"),
            Err(e) => e,
        };
    assert_eq!(err.kind(), ErrorKind::Unavailable, "a refused connection");
    let err = err.to_string();
    assert!(
        err.starts_with("failed to connect to RabbitMQ at amqp://guest:***@127.0.0.1:1/%2f"),
        "{err}"
    );
    assert!(!err.contains("secret"), "the password is never shown");
}

/// Consumes `source` as replica `replica`, acking everything and recording `(replica, cluster)`
/// of each event, until the returned sender asks it to leave (it then closes its source).
fn drain_keyed(
    mut source: rabbitmq::RabbitSource,
    replica: &'static str,
    seen: Arc<Mutex<Vec<(&'static str, String)>>>,
) -> tokio::sync::oneshot::Sender<()> {
    let (leave, mut left) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        loop {
            let d = tokio::select! {
                _ = &mut left => break,
                d = source.next() => match d { Some(d) => d, None => break },
            };
            let v: serde_json::Value = serde_json::from_slice(d.payload()).unwrap();
            let cluster = v["data"]["id"].as_str().unwrap().to_string();
            d.ack().await.unwrap();
            seen.lock().unwrap().push((replica, cluster));
        }
        source.close().await;
    });
    leave
}

/// Keyed delivery: a consistent-hash exchange bound to the topic's exchange feeds
/// `hash_queues` quorum queues with single-active-consumer, hashing on the cluster id header.
/// Every event of a cluster lands in one queue and is handled by that queue's one active
/// consumer; when that replica leaves, the standby takes the queue over and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_delivery_gives_each_cluster_one_replica_at_a_time() {
    let topic = unique("keyed");
    let keyed = RabbitMqConfig {
        hash_queues: 3,
        ..cfg()
    };
    let sub = || Subscription::new(&topic, "k", 2);
    let a = rabbitmq::subscribe(keyed.clone(), sub(), kit::ignore_readiness())
        .await
        .unwrap();
    let b = rabbitmq::subscribe(keyed.clone(), sub(), kit::ignore_readiness())
        .await
        .unwrap();
    let queues: Vec<String> = (0..3).map(|i| format!("{topic}-k-{i}")).collect();
    // Quorum queues with single-active-consumer: a passive declare with those arguments works.
    let ch = admin().await;
    for q in &queues {
        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        args.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
        ch.queue_declare(
            q.as_str().into(),
            QueueDeclareOptions {
                passive: true,
                durable: true,
                ..Default::default()
            },
            args,
        )
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"));
    }
    let seen: Arc<Mutex<Vec<(&str, String)>>> = Arc::default();
    let ha = drain_keyed(a, "a", seen.clone());
    let hb = drain_keyed(b, "b", seen.clone());
    let p = Publisher::connect(&keyed, &topic).await.unwrap();
    let clusters: Vec<String> = (0..12).map(|c| format!("cluster-{c}")).collect();
    for n in 0..60 {
        let c = &clusters[n % clusters.len()];
        p.send_keyed(&event(&format!("e{n}"), c), Some(c))
            .await
            .unwrap();
    }
    wait_for("all 60 events", Duration::from_secs(20), || {
        seen.lock().unwrap().len() == 60
    })
    .await;
    fn owners(
        seen: &[(&'static str, String)],
    ) -> std::collections::BTreeMap<String, BTreeSet<&'static str>> {
        let mut by_cluster = std::collections::BTreeMap::<String, BTreeSet<&str>>::new();
        for (replica, cluster) in seen {
            by_cluster
                .entry(cluster.clone())
                .or_default()
                .insert(*replica);
        }
        by_cluster
    }
    let first = owners(&seen.lock().unwrap());
    assert_eq!(first.len(), 12);
    for (cluster, replicas) in &first {
        assert_eq!(replicas.len(), 1, "{cluster} was handled by {replicas:?}");
    }
    // The replica that had work leaves; the other takes its queues over.
    let busy = if first.values().any(|r| r.contains("a")) {
        "a"
    } else {
        "b"
    };
    let (leaving, staying) = if busy == "a" { (ha, hb) } else { (hb, ha) };
    leaving.send(()).unwrap();
    seen.lock().unwrap().clear();
    for n in 60..90 {
        let c = &clusters[n % clusters.len()];
        p.send_keyed(&event(&format!("e{n}"), c), Some(c))
            .await
            .unwrap();
    }
    wait_for(
        "the 30 events after the failover",
        Duration::from_secs(30),
        || seen.lock().unwrap().len() == 30,
    )
    .await;
    let after = owners(&seen.lock().unwrap());
    let other = if busy == "a" { "b" } else { "a" };
    for (cluster, replicas) in &after {
        assert_eq!(
            replicas.iter().copied().collect::<Vec<_>>(),
            [other],
            "{cluster} after the failover"
        );
    }
    p.close().await;
    let _ = staying.send(());
    for q in &queues {
        assert_eq!(ready(q).await, 0, "{q} is empty");
    }
    cleanup(&queues, &[topic.clone(), format!("{topic}-k-hash")]).await;
}

// The serve loop over the adapter's RabbitMQ subscriber (feature-gated, so not in the kit).

/// The serve loop over a RabbitMQ subscription on the node `cfg` names, with the fake API
/// (answering after `delay_ms`).
async fn serve_loop_on(
    cfg: RabbitMqConfig,
    topic: &str,
    subscription: &str,
    parallelism: usize,
    delay_ms: u64,
) -> Running {
    let h = harness("rabbit-test-adapter", topic, subscription, delay_ms).await;
    let sub = Subscription::new(topic, subscription, parallelism);
    let source = rabbitmq::subscribe(cfg, sub, h.broker_readiness())
        .await
        .unwrap();
    h.run(Box::new(source), parallelism)
}

/// [`serve_loop_on`] the local node.
async fn serve_loop(topic: &str, subscription: &str, parallelism: usize, delay_ms: u64) -> Running {
    serve_loop_on(cfg(), topic, subscription, parallelism, delay_ms).await
}
