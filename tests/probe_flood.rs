//! The real `adapter serve` under a 256-descriptor limit (`ulimit -n 256`) while 1,000 slow
//! clients hold half-sent requests against its health and metrics ports: the probes still
//! answer, and an event published during the flood is processed and its status report reaches
//! the (in-process fake) HyperFleet API. Before the connection bounds, the slow clients took
//! every descriptor: accepts failed, the probes went silent and API calls failed with "Too
//! many open files", losing status reports.

#![cfg(feature = "rabbitmq")]

use kit::api::{FakeApi, event, write_configs};
use kit::rabbit::*;
use kit::wait_for;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const SLOW_CLIENTS: usize = 1000;

/// Asks `url` until it answers 200 (each try bounded by 5 s, like a kubelet probe with a
/// generous timeout); fails after `tries`.
async fn answers_200(url: &str, tries: usize) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut last = String::new();
    for _ in 0..tries {
        match client.get(url).send().await {
            Ok(r) if r.status() == 200 => return,
            Ok(r) => last = format!("status {}", r.status()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{url} did not answer 200: {last}");
}

/// Kills the adapter if the test fails before terminating it.
struct KillOnPanic(u32);

impl Drop for KillOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &self.0.to_string()])
                .status();
        }
    }
}

/// Open descriptors of process `pid`.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_and_events_survive_a_thousand_slow_clients_under_256_descriptors() {
    let topic = unique("flood");
    let api = FakeApi::default();
    let base = api.start().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, t) = write_configs(dir.path(), "flood-adapter", &base, &topic, "flood");
    let broker = broker_file(dir.path(), "");
    let env = [("BROKER_CONFIG_FILE", broker.to_str().unwrap())];
    let served = kit::process::serve_limited(&a, &t, &env, Some(256)).await;
    let pid = served.child.id();
    let _guard = KillOnPanic(pid);
    let (hp, mp) = (served.health_port, served.metrics_port);

    // Half the slow clients on each port; each sends part of a request's headers, then one
    // more byte a second for as long as the adapter keeps it open.
    let settled = Arc::new(AtomicUsize::new(0));
    let mut slow = tokio::task::JoinSet::new();
    for i in 0..SLOW_CLIENTS {
        let port = if i % 2 == 0 { hp } else { mp };
        let settled = settled.clone();
        slow.spawn(async move {
            let c = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
            settled.fetch_add(1, Ordering::SeqCst);
            let Ok(mut c) = c else { return };
            let mut bytes: &[u8] = b"GET /healthz HTTP/1.1\r\nX-Slow: ";
            while c.write_all(bytes).await.is_ok() {
                bytes = b"a";
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
    // Every client connected (or failed to) before the probes are asked; a connection the
    // kernel could not even queue does not stop the test, which judges only the adapter.
    kit::eventually(Duration::from_secs(30), async || {
        settled.load(Ordering::SeqCst) == SLOW_CLIENTS
    })
    .await;
    let mut max_fds = open_fds(pid);

    answers_200(&format!("http://127.0.0.1:{hp}/healthz"), 50).await;
    answers_200(&format!("http://127.0.0.1:{hp}/readyz"), 50).await;
    answers_200(&format!("http://127.0.0.1:{mp}/metrics"), 50).await;
    max_fds = max_fds.max(open_fds(pid));

    let event_file = dir.path().join("event.json");
    std::fs::write(&event_file, event("evt-flood-1", "cls-flood")).unwrap();
    kit::process::publish(&event_file, &["-c", a.to_str().unwrap()], &env);
    let seen = AtomicUsize::new(max_fds);
    wait_for("the status report", Duration::from_secs(30), || {
        seen.fetch_max(open_fds(pid), Ordering::SeqCst);
        api.statuses().iter().any(|(id, _)| id == "cls-flood")
    })
    .await;
    max_fds = seen.into_inner();
    answers_200(&format!("http://127.0.0.1:{hp}/healthz"), 50).await;
    slow.abort_all();
    eprintln!("adapter descriptors during the flood: at most {max_fds} seen (limit 256)");

    let (code, logs, stderr) = served.terminate().await;
    assert!(
        api.statuses().iter().any(|(id, _)| id == "cls-flood"),
        "the status report was lost\n{logs}{stderr}"
    );
    assert_eq!(code, Some(0), "{logs}{stderr}");
    assert!(
        !logs.contains("Too many open files") && !stderr.contains("Too many open files"),
        "{logs}{stderr}"
    );
    let queue = format!("{topic}-flood");
    cleanup(&[queue], &[topic]).await;
}
