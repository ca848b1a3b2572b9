//! The serve loop end to end in-process: an in-memory event source, a fake HyperFleet API
//! (axum) reached through the real HTTP client, the in-memory transport, and the real health
//! and metrics servers on ephemeral ports.

use hyperfleet_adapter::adapters::api::http::{HttpApi, Settings};
use hyperfleet_adapter::adapters::broker::memory::{MemoryBroker, Settled};
use hyperfleet_adapter::adapters::prometheus::Metrics;
use hyperfleet_adapter::adapters::servers::{self, Health};
use hyperfleet_adapter::adapters::transport::MemoryTransport;
use hyperfleet_adapter::config::{self, LoadOptions, MapEnv};
use hyperfleet_adapter::domain::{Executor, Ports};
use hyperfleet_adapter::service::serve::{self, LoopDeps, LoopEnd};
use kit::api::{FakeApi, Gate};
use kit::{now_ms, uuid_v7, wait_for};
use std::sync::Arc;
use std::time::Duration;

/// The kit's fake API with this test's cluster shape (generation 3, not Ready), answering
/// after `delay_ms`; its base URL.
async fn fake_api(delay_ms: u64) -> (String, FakeApi) {
    fake_api_with(FakeApi {
        delay: Duration::from_millis(delay_ms),
        ..Default::default()
    })
    .await
}

async fn fake_api_with(api: FakeApi) -> (String, FakeApi) {
    let api = FakeApi {
        generation: 3,
        conditions: serde_json::json!([{"type": "Ready", "status": "False"}]),
        ..api
    };
    (api.start().await, api)
}

fn executor(base_url: &str, dir: &std::path::Path) -> Executor {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let a = dir.join("adapter.yaml");
    std::fs::write(&a, format!("adapter:\n  name: serve-test-adapter\nclients:\n  hyperfleet_api:\n    base_url: {base_url}\n    retry_attempts: 1\n")).unwrap();
    let env = MapEnv::default();
    let loaded = config::load(&LoadOptions {
        adapter_path: Some(a),
        task_path: Some(root.join("kubernetes/task-config.yaml")),
        flags: vec![],
        env: &env,
        binary_version: "0.0.0-dev".into(),
    })
    .unwrap();
    let settings = Settings::from_config(&loaded.adapter.clients.hyperfleet_api, &env).unwrap();
    let store = Arc::new(MemoryTransport::default());
    Executor::new(
        Arc::new(loaded),
        Ports::with_transport(
            Arc::new(HttpApi::new(settings).unwrap()),
            store.clone(),
            Arc::new(env),
        ),
    )
}

/// An event for cluster `cluster` with the id `id`.
fn event_with_id(cluster: &str, id: &str) -> Vec<u8> {
    serde_json::json!({"specversion": "1.0", "id": id, "type": "io.hyperfleet.cluster.updated",
        "source": "/test", "data": {"id": cluster, "kind": "Cluster", "href": format!("/clusters/{cluster}"), "generation": 3}})
    .to_string()
    .into_bytes()
}

fn acked_ids(broker: &MemoryBroker) -> Vec<String> {
    broker
        .settled()
        .iter()
        .map(|s| match s {
            Settled::Acked(b) => {
                let e: serde_json::Value = serde_json::from_slice(b).unwrap();
                e["id"].as_str().unwrap().to_string()
            }
            Settled::Rejected(_) => panic!("nothing is rejected"),
        })
        .collect()
}

/// The loop's dependencies around this test's executor (API at `base`): `parallelism` slots,
/// a 10 s drain, the default event size bound, the stale-event skip on.
fn loop_deps(
    base: &str,
    dir: &std::path::Path,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    parallelism: usize,
) -> LoopDeps {
    LoopDeps {
        executor: Arc::new(executor(base, dir)),
        metrics,
        health,
        parallelism,
        drain_timeout: Duration::from_secs(10),
        max_event_bytes: serve::DEFAULT_MAX_EVENT_BYTES,
        skip_stale_events: true,
    }
}

fn event(id: &str, n: usize) -> Vec<u8> {
    serde_json::json!({"specversion": "1.0", "id": format!("evt-{id}-{n}"), "type": "io.hyperfleet.cluster.updated",
        "source": "/test", "data": {"id": id, "kind": "Cluster", "href": format!("/clusters/{id}"), "generation": 3}})
    .to_string()
    .into_bytes()
}

async fn http_get(url: &str) -> (u16, String) {
    let resp = reqwest::get(url).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// How long a test waits for something to happen.
const WAIT: Duration = Duration::from_secs(4);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_events_reports_metrics_and_drains_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let (base, api) = fake_api(300).await;
    let metrics =
        Arc::new(Metrics::new("serve-test-adapter", "0.0.0-dev", "none").with_topic("clusters"));
    let health = Health::new(&["config", "broker"], None);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let hl = servers::bind("health", "127.0.0.1:0").await.unwrap();
    let ml = servers::bind("metrics", "127.0.0.1:0").await.unwrap();
    let (health_url, metrics_url) = (
        format!("http://{}", hl.local_addr().unwrap()),
        format!("http://{}", ml.local_addr().unwrap()),
    );
    tokio::spawn(servers::serve(
        hl,
        servers::health_app(health.clone()),
        servers::ConnLimits::default(),
        stopped(stop_rx.clone()),
    ));
    tokio::spawn(servers::serve(
        ml,
        servers::metrics_app(metrics.clone()),
        servers::ConnLimits::default(),
        stopped(stop_rx.clone()),
    ));
    health.set("config", true);
    assert_eq!(
        http_get(&format!("{health_url}/readyz")).await.0,
        503,
        "not ready before the broker"
    );
    health.set("broker", true);
    assert_eq!(http_get(&format!("{health_url}/readyz")).await.0, 200);

    let (broker, source) = MemoryBroker::new();
    let deps = loop_deps(&base, dir.path(), metrics.clone(), health.clone(), 2);
    // First batch: processed completely.
    broker.publish(event("c1", 1));
    broker.publish(event("c2", 1));
    broker.publish(b"not a cloudevent".to_vec());
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let lp = tokio::spawn(serve::run(Box::new(source), deps, async move {
        let _ = shutdown_rx.await;
    }));
    wait_for("first batch", WAIT, || broker.settled().len() == 3).await;
    assert_eq!(api.statuses().len(), 2, "each event reported its status");
    assert!(
        broker
            .settled()
            .contains(&Settled::Rejected(b"not a cloudevent".to_vec())),
        "invalid messages are rejected, not requeued"
    );
    let scraped = http_get(&format!("{metrics_url}/metrics")).await.1;
    for line in [
        "hyperfleet_adapter_events_processed_total{adapter_name=\"serve-test\",component=\"serve-test-adapter\",status=\"success\",version=\"0.0.0-dev\"} 2",
        "hyperfleet_broker_messages_consumed_total{component=\"serve-test-adapter\",topic=\"clusters\",version=\"0.0.0-dev\"} 3",
        "hyperfleet_broker_errors_total{component=\"serve-test-adapter\",error_type=\"conversion\",topic=\"clusters\",version=\"0.0.0-dev\"} 1",
        "hyperfleet_broker_message_duration_seconds_count{component=\"serve-test-adapter\",topic=\"clusters\",version=\"0.0.0-dev\"} 3",
        "hyperfleet_adapter_event_processing_duration_seconds_count{adapter_name=\"serve-test\",component=\"serve-test-adapter\",version=\"0.0.0-dev\"} 2",
        "hyperfleet_adapter_up{component=\"serve-test-adapter\",version=\"0.0.0-dev\"} 1",
    ] {
        assert!(scraped.contains(line), "missing {line}\n{scraped}");
    }
    assert!(
        !scraped.contains("status=\"failed\""),
        "a message that is not a CloudEvent never reaches the executor\n{scraped}"
    );

    // Second batch: shut down while two events are in flight.
    for n in 0..4 {
        broker.publish(event(&format!("d{n}"), 2));
    }
    wait_for("two events in flight", WAIT, || api.gets().len() == 4).await;
    let _ = shutdown_tx.send(());
    wait_for("readiness to drop", WAIT, || !health.is_ready()).await;
    assert_eq!(
        http_get(&format!("{health_url}/readyz")).await,
        (
            503,
            "{\"status\":\"error\",\"message\":\"server is shutting down\"}\n".to_string()
        )
    );
    assert!(
        broker.settled().len() < 5,
        "the in-flight events are still running when readiness drops"
    );
    let end = lp.await.unwrap();
    assert_eq!(end, LoopEnd::Shutdown);
    let started = api.gets().len();
    let acked = broker
        .settled()
        .iter()
        .filter(|s| matches!(s, Settled::Acked(_)))
        .count();
    assert_eq!(
        acked, started,
        "every event that started finished and was acknowledged"
    );
    assert_eq!(api.statuses().len(), started);
    metrics.set_down();
    assert!(
        http_get(&format!("{metrics_url}/metrics"))
            .await
            .1
            .contains(
                "hyperfleet_adapter_up{component=\"serve-test-adapter\",version=\"0.0.0-dev\"} 0"
            )
    );
    let _ = stop_tx.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_for_one_resource_never_run_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let (base, api) = fake_api(80).await;
    let (broker, source) = MemoryBroker::new();
    let deps = loop_deps(
        &base,
        dir.path(),
        Arc::new(Metrics::new("a", "v", "c")),
        Health::new(&[], None),
        4,
    );
    for n in 0..3 {
        broker.publish(event("same", n));
    }
    broker.publish(event("other", 0));
    let lp = tokio::spawn(serve::run(Box::new(source), deps, std::future::pending()));
    wait_for("all events", WAIT, || broker.settled().len() == 4).await;
    assert_eq!(
        api.max_in_flight_of("same"),
        1,
        "one event at a time for the same cluster"
    );
    assert!(
        api.max_in_flight() >= 2,
        "different clusters run concurrently"
    );
    drop(broker);
    assert_eq!(
        lp.await.unwrap(),
        LoopEnd::SourceClosed,
        "a source that ends is a fatal broker error"
    );
}

/// A fake API whose GETs of the cluster `held` wait for permits of the returned gate.
async fn held_api() -> (Gate, String, FakeApi) {
    let (base, api) = fake_api_with(FakeApi {
        hold: Some("held".into()),
        ..Default::default()
    })
    .await;
    (api.release.clone(), base, api)
}

/// A burst for one cluster does not hold the execution slots: while the first event of the
/// burst runs and the rest wait for their cluster, another cluster's event runs and is acked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_for_one_cluster_does_not_block_other_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let (hold, base, api) = held_api().await;
    let (broker, source) = MemoryBroker::new();
    let deps = loop_deps(
        &base,
        dir.path(),
        Arc::new(Metrics::new("a", "v", "c")),
        Health::new(&[], None),
        2,
    );
    for n in 0..5 {
        broker.publish(event("held", n));
    }
    broker.publish(event("other", 0));
    let lp = tokio::spawn(serve::run(Box::new(source), deps, std::future::pending()));
    let other_done = || {
        broker.settled().iter().any(|s| match s {
            Settled::Acked(b) => String::from_utf8_lossy(b).contains("evt-other-0"),
            Settled::Rejected(_) => false,
        })
    };
    wait_for(
        "the other cluster's event while the burst is held",
        WAIT,
        other_done,
    )
    .await;
    // Of the four `held` events behind the first, one waits and three coalesced into it
    // (acknowledged as duplicates without running).
    wait_for("the duplicates of the burst", WAIT, || {
        broker.settled().len() == 4
    })
    .await;
    assert_eq!(api.in_flight_of("held"), 1, "the first one still runs");
    hold.open(5);
    wait_for("every event", WAIT, || broker.settled().len() == 6).await;
    assert_eq!(api.max_in_flight_of("held"), 1);
    let held_gets = api.gets().iter().filter(|g| g.contains("held")).count();
    assert_eq!(
        held_gets, 2,
        "the first event and the one the rest coalesced into ran"
    );
    drop(broker);
    assert_eq!(lp.await.unwrap(), LoopEnd::SourceClosed);
}

/// Shutdown drains the events that run and starts no other: an event waiting for its
/// resource and one waiting for a slot are left unsettled, for the broker to redeliver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_starts_no_event_that_was_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let (hold, base, api) = held_api().await;
    let (broker, source) = MemoryBroker::new();
    let health = Health::new(&[], None);
    let deps = loop_deps(
        &base,
        dir.path(),
        Arc::new(Metrics::new("a", "v", "c")),
        health.clone(),
        1,
    );
    // One `held` event runs and is held; the other waits for its cluster. (`other` runs
    // before or after the first `held` one, as the tasks race for the slot.)
    broker.publish(event("held", 0));
    broker.publish(event("other", 0));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let lp = tokio::spawn(serve::run(Box::new(source), deps, async {
        let _ = stopped.await;
    }));
    wait_for("the first event to be held", WAIT, || {
        api.in_flight_of("held") == 1
    })
    .await;
    // Only now: offered while the first still waited for the slot, it would have superseded it.
    broker.publish(event("held", 1));
    wait_for("the second to be taken", WAIT, || broker.pending() == 0).await;
    let gets = api.gets().len();
    stop.send(()).unwrap();
    // Readiness drops once the loop has stopped pulling; only then may the held event end.
    wait_for("shutdown to begin", WAIT, || !health.is_ready()).await;
    hold.open(1);
    assert_eq!(lp.await.unwrap(), LoopEnd::Shutdown);
    assert_eq!(api.gets().len(), gets, "no waiting event started");
    let acked: Vec<String> = broker
        .settled()
        .iter()
        .map(|s| match s {
            Settled::Acked(b) => {
                let e: serde_json::Value = serde_json::from_slice(b).unwrap();
                e["data"]["id"].as_str().unwrap().to_string()
            }
            Settled::Rejected(_) => panic!("nothing is rejected"),
        })
        .collect();
    let held = acked.iter().filter(|id| *id == "held").count();
    assert_eq!(
        held, 1,
        "the running event finished and was acked; the waiting one was left: {acked:?}"
    );
}

/// Deliveries that arrive while a cluster's event runs coalesce into one waiting event: the one
/// published last (by its UUIDv7 time), whatever the order they arrive in; the others are
/// acknowledged as duplicates and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_for_a_busy_cluster_coalesce_into_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let (hold, base, api) = held_api().await;
    let (broker, source) = MemoryBroker::new();
    let metrics = Arc::new(Metrics::new("a", "v", "c"));
    let deps = loop_deps(
        &base,
        dir.path(),
        metrics.clone(),
        Health::new(&[], None),
        2,
    );
    let t = now_ms();
    let first = uuid_v7(t, 0);
    broker.publish(event_with_id("held", &first));
    let lp = tokio::spawn(serve::run(Box::new(source), deps, std::future::pending()));
    wait_for("the first event to be held", WAIT, || {
        api.in_flight_of("held") == 1
    })
    .await;
    // Arrival order 2, 4, 1, 3 of publish times t+2, t+4, t+1, t+3: only t+4 may run.
    let ids: Vec<String> = (1..=4).map(|n| uuid_v7(t + n, n)).collect();
    for n in [1, 3, 0, 2] {
        broker.publish(event_with_id("held", &ids[n]));
    }
    wait_for("three duplicates acknowledged", WAIT, || {
        broker.settled().len() == 3
    })
    .await;
    let mut duplicates = acked_ids(&broker);
    duplicates.sort();
    assert_eq!(
        duplicates,
        vec![ids[0].clone(), ids[1].clone(), ids[2].clone()]
    );
    assert_eq!(api.gets().len(), 1, "no duplicate ran");
    hold.open(2);
    wait_for("both runs", WAIT, || broker.settled().len() == 5).await;
    assert_eq!(&acked_ids(&broker)[3..], [first, ids[3].clone()]);
    assert_eq!(api.gets().len(), 2);
    assert_eq!(api.max_in_flight_of("held"), 1);
    assert!(
        metrics
            .render()
            .contains("hyperfleet_adapter_events_skipped_total{adapter_name=\"a\",component=\"a\",reason=\"duplicate\",version=\"v\"} 3"),
        "{}",
        metrics.render()
    );
    drop(broker);
    assert_eq!(lp.await.unwrap(), LoopEnd::SourceClosed);
}

/// The stale-event skip: after a reconcile that started at `now` and ran an event published
/// at `t`, an event published before `t` is acknowledged without running; one published
/// between `t` and `now` still runs (it may carry newer data), as does anything when the skip
/// is off or the id is not a UUIDv7.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_a_completed_reconcile_covered_is_skipped_as_stale() {
    for skip in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let (base, api) = fake_api(0).await;
        let (broker, source) = MemoryBroker::new();
        let metrics = Arc::new(Metrics::new("a", "v", "c"));
        let deps = LoopDeps {
            skip_stale_events: skip,
            ..loop_deps(
                &base,
                dir.path(),
                metrics.clone(),
                Health::new(&[], None),
                2,
            )
        };
        let t = now_ms() - 10_000;
        broker.publish(event_with_id("c1", &uuid_v7(t, 0)));
        let lp = tokio::spawn(serve::run(Box::new(source), deps, std::future::pending()));
        wait_for("the first reconcile", WAIT, || broker.settled().len() == 1).await;
        let ran = || api.gets().len();
        assert_eq!(ran(), 1);
        // One at a time: events waiting together would coalesce.
        for (cluster, id) in [
            // Older than the event that ran: stale.
            ("c1", uuid_v7(t - 5_000, 1)),
            // The same event again (a redelivery): stale.
            ("c1", uuid_v7(t, 0)),
            // Another cluster: runs.
            ("c2", uuid_v7(t - 5_000, 2)),
            // Not a UUIDv7: runs.
            ("c1", "evt-legacy".into()),
        ] {
            let before = broker.settled().len();
            broker.publish(event_with_id(cluster, &id));
            wait_for("the event", WAIT, || broker.settled().len() == before + 1).await;
        }
        let expect_runs = if skip { 3 } else { 5 };
        assert_eq!(ran(), expect_runs, "skip={skip}");
        // Published after the first event, though before its reconcile started: runs.
        broker.publish(event_with_id("c1", &uuid_v7(t + 1_000, 3)));
        wait_for("one more", WAIT, || broker.settled().len() == 6).await;
        assert_eq!(ran(), expect_runs + 1, "skip={skip}");
        let line = "hyperfleet_adapter_events_skipped_total{adapter_name=\"a\",component=\"a\",reason=\"stale\",version=\"v\"} 2";
        assert_eq!(metrics.render().contains(line), skip, "skip={skip}");
        drop(broker);
        assert_eq!(lp.await.unwrap(), LoopEnd::SourceClosed);
    }
}
