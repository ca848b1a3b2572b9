//! Fault injection against the real `adapter serve` process, the real RabbitMQ and the fake
//! HyperFleet API: hostile messages on the wire, a misbehaving API, SIGTERM and SIGKILL with
//! events in flight. Each test asserts what an operator cares about: the process is alive (or
//! exits as it should), the probes answer, no event is lost, memory stays bounded, and the log
//! says what happened.

#![cfg(feature = "rabbitmq")]

use hyperfleet_adapter::adapters::broker::rabbitmq::Publisher;
use kit::api::{FakeApi, event, write_configs};
use kit::rabbit::*;
use kit::wait_for;
use std::time::Duration;

/// Peak resident memory of the adapter after the hostile messages, in MiB.
const MEMORY_BOUND_MIB: u64 = 256;

/// `VmHWM` (peak resident set) of a live process, in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kib / 1024
}

/// Waits (up to 60 s) until `/metrics` contains `needle`.
async fn wait_metric(served: &kit::process::Served, needle: &str) {
    let shown = async || served.metrics().await.contains(needle);
    if kit::eventually(Duration::from_secs(60), shown).await {
        return;
    }
    panic!(
        "/metrics never showed {needle:?}:\n{}",
        served.metrics().await
    );
}

fn alive(served: &mut kit::process::Served) -> bool {
    served.child.try_wait().unwrap().is_none()
}

/// Not JSON, JSON that is not a CloudEvent, invalid UTF-8, 10,000-deep JSON and a 10 MB
/// event, then a good one: nothing crashes, the probes answer, every message is settled (the
/// queue drains), the good event is reported, each rejected message has its log line, and peak
/// memory stays under [`MEMORY_BOUND_MIB`]. The 10 MB event is over the default 1 MiB
/// `--max-event-bytes` and rejected unparsed; with the limit raised it is processed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_lose_nothing_and_stay_bounded() {
    hostile_messages(None).await;
    hostile_messages(Some(16 << 20)).await;
}

async fn hostile_messages(max_event_bytes: Option<usize>) {
    let topic = unique("faults-wire");
    let subscription = "wire";
    let api = FakeApi::default();
    let base = api.start().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, t) = write_configs(dir.path(), "faults-adapter", &base, &topic, subscription);
    let broker = broker_file(dir.path(), "subscriber:\n  parallelism: 2\n");
    let limit = max_event_bytes.map(|n| n.to_string()).unwrap_or_default();
    let mut env = vec![("BROKER_CONFIG_FILE", broker.to_str().unwrap())];
    if max_event_bytes.is_some() {
        env.push(("HYPERFLEET_MAX_EVENT_BYTES", &limit));
    }
    let mut served = kit::process::serve(&a, &t, &env).await;

    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let big = serde_json::json!({"specversion": "1.0", "id": "evt-big", "type": "io.hyperfleet.cluster.updated",
        "source": "/test", "data": {"id": "cls-big", "kind": "Cluster", "href": "/clusters/cls-big",
        "generation": 1, "padding": "x".repeat(10 << 20)}})
    .to_string();
    let hostile: Vec<Vec<u8>> = vec![
        b"not json at all".to_vec(),
        br#"{"specversion":"1.0","type":"t","source":"s"}"#.to_vec(),
        vec![0xff, 0xfe, b'{', 0x80, b'}'],
        deep.into_bytes(),
        format!(
            r#"{{"specversion":"1.0","id":"evt-deep","type":"t","source":"s","data":{}}}"#,
            "[".repeat(10_000) + &"]".repeat(10_000)
        )
        .into_bytes(),
        big.into_bytes(),
    ];
    let p = Publisher::connect(&cfg(), &topic).await.unwrap();
    for body in &hostile {
        p.send(body).await.unwrap();
    }
    p.send(&event("evt-good", "cls-good")).await.unwrap();
    p.close().await;

    wait_for(
        "the good event's status report",
        Duration::from_secs(60),
        || api.statuses().iter().any(|(id, _)| id == "cls-good"),
    )
    .await;
    if max_event_bytes.is_some() {
        wait_for(
            "the big event's status report",
            Duration::from_secs(60),
            || api.statuses().iter().any(|(id, _)| id == "cls-big"),
        )
        .await;
    }
    let queue = format!("{topic}-{subscription}");
    assert_eq!(ready(&queue).await, 0, "every message was settled");
    assert!(alive(&mut served), "the adapter is still running");
    assert_eq!(
        kit::process::get(&format!("http://127.0.0.1:{}/healthz", served.health_port))
            .await
            .map(|r| r.0),
        Some(200)
    );
    assert_eq!(served.readyz().await.0, 200);
    let peak = peak_rss_mib(served.child.id());
    assert!(
        peak < MEMORY_BOUND_MIB,
        "peak RSS {peak} MiB over {MEMORY_BOUND_MIB} MiB"
    );
    eprintln!("peak RSS after the hostile messages (limit {max_event_bytes:?}): {peak} MiB");
    let metrics = served.metrics().await;
    assert!(
        metrics.contains(&format!(
            "hyperfleet_broker_messages_consumed_total{{component=\"faults-adapter\",topic=\"{topic}\",version=\"0.0.0-dev\"}} 7"
        )),
        "{metrics}"
    );

    let (code, logs, stderr) = served.terminate().await;
    assert_eq!(code, Some(0), "{logs}{stderr}");
    let rejected = logs
        .lines()
        .filter(|l| l.contains("Failed to parse CloudEvent; rejecting the message"))
        .count();
    assert_eq!(rejected, 5, "one line per unparseable message:\n{logs}");
    let too_big = logs
        .lines()
        .filter(|l| l.contains("byte limit (--max-event-bytes); rejecting the message"))
        .count();
    let reported_big = api.statuses().iter().any(|(id, _)| id == "cls-big");
    match max_event_bytes {
        None => assert!(too_big == 1 && !reported_big, "{logs}"),
        Some(_) => assert!(too_big == 0 && reported_big, "{logs}"),
    }
    cleanup(&[queue], &[topic]).await;
}

/// An API that answers 500, hangs past the timeout, resets the connection or sends garbage:
/// each event fails (acknowledged, logged, counted), the adapter keeps serving, and the next
/// event against a healthy API is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_api_fails_events_but_not_the_adapter() {
    use axum::routing::{get, post};
    let topic = unique("faults-api");
    let subscription = "api";
    let statuses = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let s2 = statuses.clone();
    let app = axum::Router::new()
        .route(
            "/api/hyperfleet/v1/clusters/{id}",
            get(
                |axum::extract::Path(id): axum::extract::Path<String>| async move {
                    use axum::response::IntoResponse;
                    match id.as_str() {
                        "c500" => {
                            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()
                        }
                        "chang" => {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            "{}".into_response()
                        }
                        "cgarbage" => ([("content-type", "application/json")], "\u{0}{{{not json")
                            .into_response(),
                        _ => serde_json::json!({"id": id, "name": "n", "generation": 1,
                            "spec": {"provider": "aws"}, "status": {"conditions": []}})
                        .to_string()
                        .into_response(),
                    }
                },
            ),
        )
        .route(
            "/api/hyperfleet/v1/clusters/{id}/statuses",
            post(
                move |axum::extract::Path(id): axum::extract::Path<String>| {
                    let s = s2.clone();
                    async move {
                        s.lock().unwrap().push(id);
                        (axum::http::StatusCode::CREATED, "{}")
                    }
                },
            ),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    // Reset: a listener that accepts and closes at once.
    let reset = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let reset_addr = reset.local_addr().unwrap();
    std::thread::spawn(move || {
        for c in reset.incoming().flatten() {
            drop(c);
        }
    });

    let dir = tempfile::tempdir().unwrap();
    let (a, t) = write_configs(
        dir.path(),
        "faults-api-adapter",
        &format!("http://{addr}"),
        &topic,
        subscription,
    );
    // A 1 s per-call timeout so the hang is cut short.
    let text = std::fs::read_to_string(&a).unwrap().replace(
        "retry_attempts: 1\n",
        "retry_attempts: 1\n    timeout: 1s\n",
    );
    std::fs::write(&a, text).unwrap();
    let broker = broker_file(dir.path(), "subscriber:\n  parallelism: 2\n");
    let env = [("BROKER_CONFIG_FILE", broker.to_str().unwrap())];
    let mut served = kit::process::serve(&a, &t, &env).await;
    let p = Publisher::connect(&cfg(), &topic).await.unwrap();
    for id in ["c500", "chang", "cgarbage"] {
        p.send(&event(&format!("evt-{id}"), id)).await.unwrap();
    }
    p.close().await;
    let queue = format!("{topic}-{subscription}");
    wait_metric(&served, "status=\"failed\",version=\"0.0.0-dev\"} 3").await;
    assert!(alive(&mut served));
    assert_eq!(served.readyz().await.0, 200);

    // The reset: a second adapter whose API address refuses mid-connection.
    let (code, logs, stderr) = served.terminate().await;
    assert_eq!(code, Some(0), "{logs}{stderr}");
    for needle in ["500", "timeout", "evt-cgarbage"] {
        assert!(logs.contains(needle), "log names {needle:?}:\n{logs}");
    }
    let (a2, t2) = write_configs(
        dir.path(),
        "faults-api-adapter",
        &format!("http://{reset_addr}"),
        &topic,
        subscription,
    );
    let mut served = kit::process::serve(&a2, &t2, &env).await;
    let p = Publisher::connect(&cfg(), &topic).await.unwrap();
    p.send(&event("evt-reset", "creset")).await.unwrap();
    p.close().await;
    wait_metric(&served, "status=\"failed\",version=\"0.0.0-dev\"} 1").await;
    assert!(alive(&mut served));
    let (code, logs, _) = served.terminate().await;
    assert_eq!(code, Some(0));
    assert!(logs.contains("evt-reset"), "{logs}");
    assert_eq!(ready(&queue).await, 0);
    cleanup(&[queue], &[topic]).await;
}

/// SIGKILL while an event is in flight (its cluster GET held by the API): the message was not
/// acknowledged, so the next adapter receives it again and reports it — nothing is lost. Then
/// SIGTERM with an event in flight: the adapter drains it (the report arrives) and exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_sigterm_with_events_in_flight_lose_nothing() {
    let topic = unique("faults-kill");
    let subscription = "kill";
    let held = FakeApi {
        delay: Duration::from_secs(3600),
        ..Default::default()
    };
    let held_base = held.start().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, t) = write_configs(
        dir.path(),
        "faults-kill-adapter",
        &held_base,
        &topic,
        subscription,
    );
    let broker = broker_file(dir.path(), "subscriber:\n  parallelism: 2\n");
    let env = [("BROKER_CONFIG_FILE", broker.to_str().unwrap())];
    let mut served = kit::process::serve(&a, &t, &env).await;
    let p = Publisher::connect(&cfg(), &topic).await.unwrap();
    p.send(&event("evt-kill", "ckill")).await.unwrap();
    p.close().await;
    wait_for("the event to be in flight", Duration::from_secs(30), || {
        held.gets().iter().any(|id| id == "ckill")
    })
    .await;
    served.child.kill().unwrap();
    served.child.wait().unwrap();

    let api = FakeApi {
        delay: Duration::from_millis(500),
        ..Default::default()
    };
    let base = api.start().await;
    let (a, t) = write_configs(
        dir.path(),
        "faults-kill-adapter",
        &base,
        &topic,
        subscription,
    );
    let served = kit::process::serve(&a, &t, &env).await;
    wait_for(
        "the killed event, redelivered and reported",
        Duration::from_secs(60),
        || api.statuses().iter().any(|(id, _)| id == "ckill"),
    )
    .await;

    let p = Publisher::connect(&cfg(), &topic).await.unwrap();
    p.send(&event("evt-term", "cterm")).await.unwrap();
    p.close().await;
    wait_for(
        "the second event in flight",
        Duration::from_secs(30),
        || api.gets().iter().any(|id| id == "cterm"),
    )
    .await;
    let (code, logs, stderr) = served.terminate().await;
    assert_eq!(code, Some(0), "{logs}{stderr}");
    assert!(
        api.statuses().iter().any(|(id, _)| id == "cterm"),
        "SIGTERM drained the event in flight:\n{logs}"
    );
    let queue = format!("{topic}-{subscription}");
    assert_eq!(ready(&queue).await, 0);
    cleanup(&[queue], &[topic]).await;
}
