//! The Pub/Sub subscriber against the real emulator (`PUBSUB_EMULATOR_HOST`; `scripts/test`
//! starts one on a free port): topic and subscription creation with the `broker.yaml`
//! settings, fan-out across subscription ids, competing consumers within one, malformed
//! messages dropped (never redelivered in a loop), binary-mode events, a graceful shutdown that
//! hands unstarted messages back, clear startup errors, and the real `adapter` process
//! round-tripping an event published with `adapter publish`.

#![cfg(feature = "pubsub")]

use google_cloud_pubsub::client::SubscriptionAdmin;
use google_cloud_pubsub::model::Message;
use hyperfleet_adapter::adapters::broker::pubsub::{self, PubSubPublisher, Target};
use hyperfleet_adapter::config::broker::PubSubConfig;
use hyperfleet_adapter::ports::{ErrorKind, EventSource};
use hyperfleet_adapter::service::serve::LoopEnd;
use kit::api::{FakeApi, Running, event, harness, write_configs};
use kit::{unique, wait_for};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PROJECT: &str = "hyperfleet-test";

fn emulator() -> String {
    std::env::var("PUBSUB_EMULATOR_HOST")
        .ok()
        .filter(|v| !v.is_empty())
        .expect(
            "PUBSUB_EMULATOR_HOST is not set: run scripts/test (it starts the emulator), or start \
             /usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator and set it",
        )
}

fn creating() -> PubSubConfig {
    PubSubConfig {
        project_id: PROJECT.into(),
        create_topic_if_missing: true,
        create_subscription_if_missing: true,
        ..Default::default()
    }
}

fn target(topic: &str, subscription: &str, parallelism: usize) -> Target {
    Target {
        project_id: PROJECT.into(),
        topic: topic.into(),
        subscription_id: subscription.into(),
        parallelism,
        emulator_host: Some(emulator()),
    }
}

async fn publisher(topic: &str) -> PubSubPublisher {
    PubSubPublisher::connect(&creating(), &target(topic, "", 1))
        .await
        .unwrap()
}

/// The subscription `sub` as the emulator holds it.
async fn subscription(sub: &str) -> google_cloud_pubsub::model::Subscription {
    SubscriptionAdmin::builder()
        .with_endpoint(format!("http://{}", emulator()))
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .build()
        .await
        .unwrap()
        .get_subscription()
        .set_subscription(format!("projects/{PROJECT}/subscriptions/{sub}"))
        .send()
        .await
        .unwrap()
}

fn drain(mut source: pubsub::PubSubSource, seen: Arc<Mutex<Vec<String>>>) {
    tokio::spawn(async move {
        while let Some(d) = source.next().await {
            let v: serde_json::Value = serde_json::from_slice(d.payload()).unwrap();
            seen.lock()
                .unwrap()
                .push(v["id"].as_str().unwrap().to_string());
            d.ack().await.unwrap();
        }
    });
}

type Seen = Arc<Mutex<Vec<String>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_across_subscriptions_and_competing_consumers_within_one() {
    let topic = unique("fanout");
    // Subscriptions are created before publishing (Pub/Sub keeps only what arrives after).
    let a1 = pubsub::subscribe(
        creating(),
        target(&topic, &format!("{topic}-a"), 1),
        kit::ignore_readiness(),
    )
    .await
    .unwrap();
    let a2 = pubsub::subscribe(
        creating(),
        target(&topic, &format!("{topic}-a"), 1),
        kit::ignore_readiness(),
    )
    .await
    .unwrap();
    let b = pubsub::subscribe(
        creating(),
        target(&topic, &format!("{topic}-b"), 4),
        kit::ignore_readiness(),
    )
    .await
    .unwrap();
    let (s1, s2, sb) = (Seen::default(), Seen::default(), Seen::default());
    drain(a1, s1.clone());
    drain(a2, s2.clone());
    drain(b, sb.clone());
    let p = publisher(&topic).await;
    for n in 0..30 {
        p.send(&event(&format!("e{n}"), "c1")).await.unwrap();
    }
    wait_for(
        "both subscriptions to get every event",
        Duration::from_secs(30),
        || {
            let alpha: BTreeSet<String> = s1
                .lock()
                .unwrap()
                .iter()
                .chain(s2.lock().unwrap().iter())
                .cloned()
                .collect();
            alpha.len() == 30 && sb.lock().unwrap().iter().collect::<BTreeSet<_>>().len() == 30
        },
    )
    .await;
    let expected: BTreeSet<String> = (0..30).map(|n| format!("e{n}")).collect();
    let alpha_count = s1.lock().unwrap().len() + s2.lock().unwrap().len();
    assert_eq!(
        alpha_count, 30,
        "one subscription: each event once across its consumers"
    );
    let beta: BTreeSet<String> = sb.lock().unwrap().iter().cloned().collect();
    assert_eq!(
        beta, expected,
        "fan-out: the other subscription got every event"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_is_created_with_the_broker_yaml_settings() {
    let topic = unique("settings");
    let sub = unique("settings-sub");
    let cfg = PubSubConfig {
        ack_deadline_seconds: 45,
        retry_min_backoff: Some(Duration::from_secs(10)),
        retry_max_backoff: Some(Duration::from_secs(300)),
        dead_letter_max_attempts: 7,
        ..creating()
    };
    let mut source = pubsub::subscribe(cfg, target(&topic, &sub, 1), kit::ignore_readiness())
        .await
        .unwrap();
    let s = subscription(&sub).await;
    assert_eq!(s.topic, format!("projects/{PROJECT}/topics/{topic}"));
    assert_eq!(s.ack_deadline_seconds, 45);
    let dl = s.dead_letter_policy.expect("dead-letter policy");
    assert_eq!(
        dl.dead_letter_topic,
        format!("projects/{PROJECT}/topics/{sub}-dlq")
    );
    assert_eq!(dl.max_delivery_attempts, 7);
    source.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_topic_or_subscription_is_a_clear_startup_error() {
    let topic = unique("missing");
    let strict = PubSubConfig {
        project_id: PROJECT.into(),
        ..Default::default()
    };
    let err = match pubsub::subscribe(
        strict.clone(),
        target(&topic, "s-missing", 1),
        kit::ignore_readiness(),
    )
    .await
    {
        Ok(_) => panic!("subscribed to a missing topic"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        format!(
            "topic projects/{PROJECT}/topics/{topic} does not exist (create it, or set broker.googlepubsub.create_topic_if_missing)"
        )
    );
    // The topic exists, the subscription does not.
    let _ = publisher(&topic).await;
    let sub = unique("nosub");
    let err =
        match pubsub::subscribe(strict, target(&topic, &sub, 1), kit::ignore_readiness()).await {
            Ok(_) => panic!("subscribed to a missing subscription"),
            Err(e) => e,
        };
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        format!(
            "subscription projects/{PROJECT}/subscriptions/{sub} does not exist (create it, or set broker.googlepubsub.create_subscription_if_missing)"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_mode_events_are_accepted() {
    let topic = unique("binary");
    let mut source = pubsub::subscribe(
        creating(),
        target(&topic, &unique("bin"), 1),
        kit::ignore_readiness(),
    )
    .await
    .unwrap();
    let p = publisher(&topic).await;
    p.send_message(
        Message::new()
            .set_data(
                br#"{"id":"c9","kind":"Cluster","href":"/clusters/c9","generation":2}"#.to_vec(),
            )
            .set_attributes([
                ("ce-specversion", "1.0"),
                ("ce-id", "bin-1"),
                ("ce-type", "io.hyperfleet.cluster.updated"),
                ("ce-source", "/sentinel"),
                ("content-type", "application/json"),
            ]),
    )
    .await
    .unwrap();
    let mut d = tokio::time::timeout(Duration::from_secs(20), source.next())
        .await
        .unwrap()
        .unwrap();
    let e = d.event().unwrap();
    assert_eq!((e.id.as_str(), e.source.as_str()), ("bin-1", "/sentinel"));
    assert_eq!(e.data.to_map().unwrap()["id"], "c9", "the data is the body");
    d.ack().await.unwrap();
    source.close().await;
}

async fn serve_loop(
    cfg: PubSubConfig,
    topic: &str,
    sub: &str,
    parallelism: usize,
    delay_ms: u64,
) -> Running {
    let h = harness("pubsub-test-adapter", topic, sub, delay_ms).await;
    let source = pubsub::subscribe(
        cfg,
        target(topic, sub, parallelism),
        kit::ignore_readiness(),
    )
    .await
    .unwrap();
    h.run(Box::new(source), parallelism)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_dropped_not_redelivered() {
    let topic = unique("malformed");
    // No dead-letter topic: the subscription has no dead-letter policy.
    let cfg = PubSubConfig {
        create_topic_if_missing: false,
        ..creating()
    };
    let _ = publisher(&topic).await;
    let run = serve_loop(cfg, &topic, &unique("mal"), 2, 0).await;
    let p = publisher(&topic).await;
    p.send(b"this is not a cloudevent").await.unwrap();
    p.send(&event("ok-1", "c1")).await.unwrap();
    wait_for(
        "the valid event to be reported",
        Duration::from_secs(20),
        || run.api.statuses().len() == 1,
    )
    .await;
    wait_for(
        "the malformed message to be counted",
        Duration::from_secs(20),
        || run.metrics.render().contains("error_type=\"conversion\""),
    )
    .await;
    // A nack would bring it straight back (the subscription has no retry backoff); an event
    // published now is reported after that redelivery would have been.
    p.send(&event("ok-2", "c2")).await.unwrap();
    wait_for(
        "the later event to be reported",
        Duration::from_secs(20),
        || run.api.statuses().len() == 2,
    )
    .await;
    let _ = run.stop.send(());
    assert_eq!(run.handle.await.unwrap(), LoopEnd::Shutdown);
    let text = run.metrics.render();
    assert!(
        text.contains(&format!("hyperfleet_broker_messages_consumed_total{{component=\"pubsub-test-adapter\",topic=\"{topic}\",version=\"v\"}} 3")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_events_and_starts_no_new_one() {
    let topic = unique("shutdown");
    let sub = unique("shut");
    let run = serve_loop(creating(), &topic, &sub, 2, 700).await;
    let p = publisher(&topic).await;
    for n in 0..6 {
        p.send(&event(&format!("e{n}"), &format!("c{n}")))
            .await
            .unwrap();
    }
    wait_for("two events in flight", Duration::from_secs(20), || {
        run.api.gets().len() == 2
    })
    .await;
    let _ = run.stop.send(());
    assert_eq!(run.handle.await.unwrap(), LoopEnd::Shutdown);
    let fetched: BTreeSet<String> = run.api.gets().into_iter().collect();
    let reported: BTreeSet<String> = run.api.statuses().into_iter().map(|(id, _)| id).collect();
    assert_eq!(fetched.len(), 2, "no new event started after shutdown");
    assert_eq!(reported, fetched, "every in-flight event finished");
    // The others were never acknowledged: Pub/Sub redelivers them when the leases of the
    // stopped client run out (RabbitMQ's equivalent is checked message by message in
    // tests/rabbitmq.rs; the emulator's lease expiry takes minutes, too long to wait for here).
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_serve_round_trip_as_processes() {
    let topic = unique("process");
    let sub = unique("proc");
    let api = FakeApi::default();
    let base = api.start().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, t) = write_configs(dir.path(), "pubsub-process-adapter", &base, &topic, &sub);
    let broker = dir.path().join("broker.yaml");
    std::fs::write(
        &broker,
        format!(
            "broker:\n  type: googlepubsub\n  googlepubsub:\n    project_id: {PROJECT}\n    create_topic_if_missing: true\n    create_subscription_if_missing: true\n"
        ),
    )
    .unwrap();
    let host = emulator();
    let env = [
        ("BROKER_CONFIG_FILE", broker.to_str().unwrap()),
        ("PUBSUB_EMULATOR_HOST", host.as_str()),
    ];
    let served = kit::process::serve(&a, &t, &env).await;
    let event_file = dir.path().join("event.json");
    std::fs::write(&event_file, event("evt-ps-1", "cls-ps")).unwrap();
    let published = kit::process::publish(&event_file, &["--topic", &topic], &env);
    assert!(
        published.starts_with(&format!(
            "Published event evt-ps-1 (type io.hyperfleet.cluster.updated) to topic {topic} via Pub/Sub topic projects/{PROJECT}/topics/{topic} (message id "
        )),
        "{published}"
    );
    wait_for("the status report", Duration::from_secs(30), || {
        api.statuses().iter().any(|(id, _)| id == "cls-ps")
    })
    .await;
    let metrics = served.metrics().await;
    assert!(
        metrics.contains("hyperfleet_adapter_events_processed_total{adapter_name=\"pubsub-process\",component=\"pubsub-process-adapter\",status=\"success\",version=\"0.0.0-dev\"} 1"),
        "{metrics}"
    );
    let (code, logs, stderr) = served.terminate().await;
    assert_eq!(code, Some(0), "SIGTERM exits 0\n{logs}{stderr}");
    assert!(logs.contains("Subscriber closed successfully"), "{logs}");
}

/// Keyed delivery on Pub/Sub: a subscription created with `enable_message_ordering`, and
/// `adapter publish --ordering-key` setting the message's ordering key (read back through the
/// emulator's REST API on a second ordered subscription), which keeps one cluster's events in
/// publish order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_subscription_and_publish_with_an_ordering_key() {
    let topic = unique("ordered");
    let sub = unique("ordered-sub");
    let cfg = PubSubConfig {
        enable_message_ordering: true,
        ..creating()
    };
    let mut source = pubsub::subscribe(cfg, target(&topic, &sub, 1), kit::ignore_readiness())
        .await
        .unwrap();
    let s = subscription(&sub).await;
    assert!(s.enable_message_ordering, "created with message ordering");
    source.close().await;

    // A second ordered subscription, pulled over REST, shows what travelled.
    let rest = format!("http://{}/v1/projects/{PROJECT}", emulator());
    let raw = unique("ordered-raw");
    let http = reqwest::Client::new();
    let created = http
        .put(format!("{rest}/subscriptions/{raw}"))
        .json(&serde_json::json!({"topic": format!("projects/{PROJECT}/topics/{topic}"), "enableMessageOrdering": true}))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "{}",
        created.text().await.unwrap()
    );
    let dir = tempfile::tempdir().unwrap();
    let broker = dir.path().join("broker.yaml");
    std::fs::write(
        &broker,
        format!("broker:\n  type: googlepubsub\n  googlepubsub:\n    project_id: {PROJECT}\n"),
    )
    .unwrap();
    let host = emulator();
    let env = [
        ("BROKER_CONFIG_FILE", broker.to_str().unwrap()),
        ("PUBSUB_EMULATOR_HOST", host.as_str()),
    ];
    for n in 0..3 {
        let file = dir.path().join(format!("event-{n}.json"));
        std::fs::write(&file, event(&format!("evt-o-{n}"), "cls-o")).unwrap();
        let out =
            kit::process::publish(&file, &["--topic", &topic, "--ordering-key", "cls-o"], &env);
        assert!(
            out.starts_with(&format!(
                "Published event evt-o-{n} (type io.hyperfleet.cluster.updated) with ordering key cls-o to topic {topic}"
            )),
            "{out}"
        );
    }
    let mut got: Vec<(String, String)> = Vec::new();
    kit::wait_for_async("the three messages", Duration::from_secs(20), async || {
        let pulled: serde_json::Value = http
            .post(format!("{rest}/subscriptions/{raw}:pull"))
            .json(&serde_json::json!({"maxMessages": 10}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut ack_ids = Vec::new();
        for m in pulled["receivedMessages"].as_array().into_iter().flatten() {
            ack_ids.push(m["ackId"].clone());
            let data = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                m["message"]["data"].as_str().unwrap(),
            )
            .unwrap();
            let e: serde_json::Value = serde_json::from_slice(&data).unwrap();
            got.push((
                e["id"].as_str().unwrap().to_string(),
                m["message"]["orderingKey"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ));
        }
        if !ack_ids.is_empty() {
            http.post(format!("{rest}/subscriptions/{raw}:acknowledge"))
                .json(&serde_json::json!({"ackIds": ack_ids}))
                .send()
                .await
                .unwrap();
        }
        got.len() >= 3
    })
    .await;
    let expected: Vec<(String, String)> = (0..3)
        .map(|n| (format!("evt-o-{n}"), "cls-o".to_string()))
        .collect();
    assert_eq!(
        got, expected,
        "in publish order, each with its ordering key"
    );
}
