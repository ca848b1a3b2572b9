//! The Maestro transport's bounds, against the in-process fake Maestro: `clients.maestro.timeout`
//! is the deadline of every call (a held gRPC Publish and a hung REST read both fail with an
//! error naming the call and the timeout, instead of holding the event), and
//! `clients.maestro.retry_attempts` is the number of Publish attempts while Maestro is
//! unavailable.

#![cfg(feature = "maestro")]

use hyperfleet_adapter::adapters::transport::maestro::{MaestroTransport, Settings};
use hyperfleet_adapter::config::adapter::MaestroConfig;
use hyperfleet_adapter::ports::{Applied, Operation, Target, Transport, TransportError};
use kit::maestro::FakeMaestro;
use serde_json::{Value, json};
use std::time::Duration;

fn target() -> Target {
    Target::Maestro {
        consumer: "cluster1".into(),
    }
}

/// The transport's settings as `clients.maestro` gives them, with test-speed backoffs.
fn settings(fake: &FakeMaestro, timeout: &str, retry_attempts: i64) -> Settings {
    let cfg = MaestroConfig {
        grpc_server_address: fake.grpc_address.clone(),
        http_server_address: fake.http_url.clone(),
        source_id: "hyperfleet-adapter".into(),
        timeout: timeout.into(),
        retry_attempts,
        insecure: true,
        ..Default::default()
    };
    Settings {
        publish_backoff: Duration::from_millis(20),
        healthiness_timeout: Duration::from_millis(500),
        reconnect_base: Duration::from_millis(50),
        reconnect_max: Duration::from_millis(200),
        ..Settings::from_config(Some(&cfg)).unwrap()
    }
}

async fn fake() -> FakeMaestro {
    let fake = FakeMaestro::start(Duration::from_millis(100)).await;
    fake.register_consumer("cluster1");
    fake
}

fn work(name: &str, generation: &str) -> Value {
    json!({
        "apiVersion": "work.open-cluster-management.io/v1", "kind": "ManifestWork",
        "metadata": {"name": name, "namespace": "ignored",
                     "annotations": {"hyperfleet.io/generation": generation}},
        "spec": {"workload": {"manifests": [{"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "abc123", "annotations": {"hyperfleet.io/generation": generation}}}]}}
    })
}

async fn apply(t: &MaestroTransport, w: &Value) -> Result<Applied, TransportError> {
    t.apply(w, false, &target()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_attempts_is_the_number_of_publish_attempts() {
    let fake = fake().await;
    // Four refusals: the default (3 attempts) gives up, retry_attempts: 5 gets through.
    let t = MaestroTransport::connect(&settings(&fake, "", 0), None).unwrap();
    fake.fail_publishes(tonic::Code::Unavailable, 4);
    let err = apply(&t, &work("w", "1")).await.unwrap_err().to_string();
    assert!(err.contains("code = Unavailable"), "{err}");
    assert_eq!(fake.published().len(), 3, "the default is 3 attempts");

    let t = MaestroTransport::connect(&settings(&fake, "", 5), None).unwrap();
    fake.fail_publishes(tonic::Code::Unavailable, 4);
    let applied = apply(&t, &work("w2", "1")).await.unwrap();
    assert_eq!(applied.operation, Operation::Create);
    assert_eq!(
        fake.published().len(),
        3 + 5,
        "four refusals, then the create"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_publish_fails_at_the_timeout_naming_it() {
    let fake = fake().await;
    let t = MaestroTransport::connect(&settings(&fake, "1s", 3), None).unwrap();
    // Held far past the deadline: without one the create would succeed after the hold.
    fake.hold_publishes(Some(Duration::from_secs(120)));
    let err = apply(&t, &work("w", "1")).await.unwrap_err().to_string();
    assert_eq!(
        err,
        "failed to create ManifestWork cluster1/w: Failed to publish resource w: rpc error: \
         code = DeadlineExceeded desc = Maestro Publish did not answer within 1s \
         (clients.maestro.timeout)"
    );
    // A deadline is not retried (the held call may still be applied by Maestro).
    fake.hold_publishes(None);
    let applied = apply(&t, &work("w3", "1")).await.unwrap();
    assert_eq!(applied.operation, Operation::Create);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_rest_read_fails_at_the_timeout_naming_it() {
    let fake = fake().await;
    let t = MaestroTransport::connect(&settings(&fake, "1s", 3), None).unwrap();
    fake.hold_rest(Some(Duration::from_secs(120)));
    let err = apply(&t, &work("w", "1")).await.unwrap_err().to_string();
    assert!(
        err.starts_with("failed to get ManifestWork cluster1/w: GET http://")
            && err.ends_with(": no answer within 1s (clients.maestro.timeout)"),
        "{err}"
    );
    assert!(
        fake.published().is_empty(),
        "nothing published after a failed read"
    );
}
