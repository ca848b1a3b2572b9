//! A lost Pub/Sub subscription against the real emulator (`PUBSUB_EMULATOR_HOST`): deleted with
//! its topic while consuming (as an emulator restarted empty leaves it), it is recreated when the
//! config allows and a later message is consumed; readiness goes false while it is broken and true
//! only once the subscription is back, without flapping. Without `create_subscription_if_missing`
//! liveness fails after `unhealthy_after`. An emulator of the test's own, killed and restarted
//! empty, shows as not ready while down and is repopulated and consumed from after. Pub/Sub
//! deliveries carry their message id.

#![cfg(feature = "pubsub")]

use google_cloud_pubsub::client::{SubscriptionAdmin, TopicAdmin};
use hyperfleet_adapter::adapters::broker::pubsub::{self, PubSubPublisher, Target};
use hyperfleet_adapter::config::broker::PubSubConfig;
use hyperfleet_adapter::ports::EventSource;
use kit::{unique, wait_for};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PROJECT: &str = "hyperfleet-recovery";

fn emulator() -> String {
    std::env::var("PUBSUB_EMULATOR_HOST")
        .ok()
        .filter(|v| !v.is_empty())
        .expect("PUBSUB_EMULATOR_HOST is not set: run scripts/test (it starts the emulator)")
}

fn creating() -> PubSubConfig {
    PubSubConfig {
        project_id: PROJECT.into(),
        create_topic_if_missing: true,
        create_subscription_if_missing: true,
        ..Default::default()
    }
}

fn target(topic: &str, subscription: &str) -> Target {
    Target {
        project_id: PROJECT.into(),
        topic: topic.into(),
        subscription_id: subscription.into(),
        parallelism: 1,
        emulator_host: Some(emulator()),
    }
}

fn anonymous() -> google_cloud_auth::credentials::Credentials {
    google_cloud_auth::credentials::anonymous::Builder::new().build()
}

/// Deletes the subscription and its topic, as an emulator restarted empty has neither.
async fn lose(topic: &str, sub: &str) {
    let subs = SubscriptionAdmin::builder()
        .with_endpoint(format!("http://{}", emulator()))
        .with_credentials(anonymous())
        .build()
        .await
        .unwrap();
    subs.delete_subscription()
        .set_subscription(format!("projects/{PROJECT}/subscriptions/{sub}"))
        .send()
        .await
        .unwrap();
    let topics = TopicAdmin::builder()
        .with_endpoint(format!("http://{}", emulator()))
        .with_credentials(anonymous())
        .build()
        .await
        .unwrap();
    topics
        .delete_topic()
        .set_topic(format!("projects/{PROJECT}/topics/{topic}"))
        .send()
        .await
        .unwrap();
}

/// Every readiness report, in order.
#[derive(Clone, Default)]
struct Reports(Arc<Mutex<Vec<bool>>>);

impl Reports {
    fn readiness(&self) -> pubsub::Readiness {
        let r = self.0.clone();
        Arc::new(move |up| r.lock().unwrap().push(up))
    }
    fn all(&self) -> Vec<bool> {
        self.0.lock().unwrap().clone()
    }
    fn last(&self) -> Option<bool> {
        self.all().last().copied()
    }
}

/// Payloads and message ids, in the order consumed.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// Consumes `source`, acking everything, recording payloads and message ids.
fn drain(mut source: pubsub::PubSubSource, seen: Seen) {
    tokio::spawn(async move {
        while let Some(d) = source.next().await {
            let body = String::from_utf8_lossy(d.payload()).into_owned();
            seen.lock().unwrap().push((body, d.message_id()));
            d.ack().await.unwrap();
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_subscription_is_recreated_and_consuming_resumes() {
    let (topic, sub) = (unique("lost"), unique("lost-sub"));
    let reports = Reports::default();
    let source = pubsub::subscribe(creating(), target(&topic, &sub), reports.readiness())
        .await
        .unwrap();
    let seen = Seen::default();
    drain(source, seen.clone());
    wait_for("ready", Duration::from_secs(20), || {
        reports.last() == Some(true)
    })
    .await;
    let p = PubSubPublisher::connect(&creating(), &target(&topic, ""))
        .await
        .unwrap();
    let id = p.send(b"before").await.unwrap();
    wait_for("the first message", Duration::from_secs(30), || {
        seen.lock().unwrap().len() == 1
    })
    .await;
    assert_eq!(
        seen.lock().unwrap()[0],
        ("before".to_string(), Some(id)),
        "deliveries carry the Pub/Sub message id"
    );

    let before = reports.all().len();
    lose(&topic, &sub).await;
    // Any "not ready" report since the loss counts: the recreation may already have reported
    // ready again by the time this looks.
    wait_for(
        "not ready once the subscription is gone",
        Duration::from_secs(30),
        || reports.all()[before..].contains(&false),
    )
    .await;
    wait_for(
        "ready again once it is recreated",
        Duration::from_secs(90),
        || reports.last() == Some(true),
    )
    .await;
    assert_eq!(
        reports.all()[before..],
        [false, true],
        "no ready flap while the subscription was missing"
    );
    // Recreated with its topic: a message published now is consumed.
    let p = PubSubPublisher::connect(&creating(), &target(&topic, ""))
        .await
        .unwrap();
    let mut n = 0;
    while !seen.lock().unwrap().iter().any(|(b, _)| b == "after") {
        // The new subscription only receives what is published after it exists; publishing
        // again until one arrives does not depend on how soon the stream reattached.
        p.send(b"after").await.unwrap();
        n += 1;
        assert!(n < 60, "nothing consumed after the recreation");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        reports.all()[before..],
        [false, true],
        "ready stayed up once consuming resumed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_creation_a_lost_subscription_fails_liveness_after_the_bound() {
    let (topic, sub) = (unique("gone"), unique("gone-sub"));
    // Created by a first subscriber that may create, consumed by one that may not.
    pubsub::prepare(&creating(), &target(&topic, &sub))
        .await
        .unwrap();
    let cfg = PubSubConfig {
        create_topic_if_missing: false,
        create_subscription_if_missing: false,
        unhealthy_after: Duration::from_secs(3),
        ..creating()
    };
    let reports = Reports::default();
    let unhealthy = Arc::new(Mutex::new(Vec::<Option<String>>::new()));
    let u = unhealthy.clone();
    let source = pubsub::subscribe_with(
        cfg,
        target(&topic, &sub),
        reports.readiness(),
        Arc::new(move |reason| u.lock().unwrap().push(reason)),
    )
    .await
    .unwrap();
    drain(source, Arc::default());
    wait_for("ready", Duration::from_secs(20), || {
        reports.last() == Some(true)
    })
    .await;
    assert!(unhealthy.lock().unwrap().is_empty());
    lose(&topic, &sub).await;
    wait_for("not ready", Duration::from_secs(30), || {
        reports.last() == Some(false)
    })
    .await;
    wait_for("liveness to fail", Duration::from_secs(60), || {
        !unhealthy.lock().unwrap().is_empty()
    })
    .await;
    let reason = unhealthy.lock().unwrap()[0].clone().unwrap();
    assert_eq!(
        reason,
        format!(
            "Pub/Sub subscription projects/{PROJECT}/subscriptions/{sub} unusable for more than \
             3s (broker.googlepubsub.unhealthy_after)"
        )
    );
    assert_eq!(reports.last(), Some(false), "still not ready");
}

const EMULATOR: &str =
    "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator";

/// An emulator of this test's own (so restarting it touches nothing else), killed on drop.
struct OwnEmulator {
    port: u16,
    child: std::process::Child,
}

impl OwnEmulator {
    async fn start(port: u16) -> OwnEmulator {
        // Owned at once, so a failed start is still killed and reaped (Drop).
        let emulator = OwnEmulator {
            port,
            child: std::process::Command::new(EMULATOR)
                .args(["--host=127.0.0.1", &format!("--port={port}")])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("the Pub/Sub emulator"),
        };
        let listening = async || {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        };
        if kit::eventually(Duration::from_secs(60), listening).await {
            return emulator;
        }
        panic!("the emulator on port {port} did not start");
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnEmulator {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emulator_restarted_empty_is_repopulated_and_consumed_from() {
    if !std::path::Path::new(EMULATOR).exists() {
        panic!("{EMULATOR} is not installed");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut emulator = OwnEmulator::start(port).await;
    let host = format!("127.0.0.1:{}", emulator.port);
    let t = Target {
        emulator_host: Some(host.clone()),
        ..target(&unique("restart"), &unique("restart-sub"))
    };
    let reports = Reports::default();
    let source = pubsub::subscribe(creating(), t.clone(), reports.readiness())
        .await
        .unwrap();
    let seen = Seen::default();
    drain(source, seen.clone());
    wait_for("ready", Duration::from_secs(20), || {
        reports.last() == Some(true)
    })
    .await;

    emulator.stop();
    #[allow(clippy::disallowed_methods)] // a figure for the docs, measured on a real emulator
    let down = std::time::Instant::now();
    wait_for(
        "not ready while the emulator is down",
        Duration::from_secs(30),
        || reports.last() == Some(false),
    )
    .await;
    // Figures for the docs (not asserted): how fast readiness follows the outage.
    eprintln!("not ready {:?} after the emulator stopped", down.elapsed());
    let _emulator = OwnEmulator::start(port).await;
    #[allow(clippy::disallowed_methods)]
    let up = std::time::Instant::now();
    wait_for(
        "ready again on the restarted emulator",
        Duration::from_secs(120),
        || reports.last() == Some(true),
    )
    .await;
    eprintln!("ready {:?} after the emulator listened again", up.elapsed());
    let p = PubSubPublisher::connect(
        &creating(),
        &Target {
            subscription_id: String::new(),
            ..t.clone()
        },
    )
    .await
    .unwrap();
    let mut n = 0;
    while seen.lock().unwrap().is_empty() {
        p.send(b"after-restart").await.unwrap();
        n += 1;
        assert!(n < 60, "nothing consumed after the restart");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
