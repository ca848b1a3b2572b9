//! The HyperFleet API client's response size bound against the fake API's injected faults:
//! oversized bodies with and without `Content-Length` fail with a typed, non-retried error
//! after reading at most the limit, bodies within the limit still work, the executor ends the
//! event's call like any other API failure, and four huge answers in flight neither take the
//! process's memory nor stop the probe server from answering.

use hyperfleet_adapter::adapters::api::http::{Backoff, HttpApi, Settings};
use hyperfleet_adapter::adapters::servers::{self, Health};
use hyperfleet_adapter::config::MapEnv;
use hyperfleet_adapter::domain::result::Phase;
use hyperfleet_adapter::domain::{Executor, Ports};
use hyperfleet_adapter::ports::{ApiRequest, HyperfleetApi};
use kit::api::{FakeApi, Fault};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

const MIB: u64 = 1024 * 1024;

fn settings(base: &str, limit: u64) -> Settings {
    Settings {
        timeout: Duration::from_secs(60),
        backoff: Backoff::Constant,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
        max_response_bytes: limit,
        ..Settings::defaults(base)
    }
}

/// The fake API answering cluster GETs with `fault`; its base URL.
async fn faulty(fault: Fault) -> (FakeApi, String) {
    let api = FakeApi::default();
    *api.fault.lock().unwrap() = fault;
    let base = api.start().await;
    (api, base)
}

fn get_cluster(id: &str) -> ApiRequest {
    ApiRequest {
        method: "GET".into(),
        url: format!("/api/hyperfleet/v1/clusters/{id}"),
        ..Default::default()
    }
}

fn huge(bytes: u64, content_length: bool) -> Fault {
    Fault::Huge {
        bytes,
        content_length,
        stall_after: None,
    }
}

#[tokio::test]
async fn a_response_over_the_limit_fails_at_once_and_is_not_retried() {
    let (api, base) = faulty(huge(2 * MIB, true)).await;
    let client = HttpApi::new(settings(&base, MIB)).unwrap();
    let err = client.send(get_cluster("c1")).await.unwrap_err();
    assert_eq!(
        err.message,
        format!(
            "response body of GET {base}/api/hyperfleet/v1/clusters/c1 exceeds the limit of 1048576 bytes (Content-Length: 2097152) (clients.hyperfleet_api.max_response_bytes)"
        )
    );
    assert_eq!(
        err.attempts, 1,
        "the server would answer the same: no retry"
    );
    assert_eq!(api.gets().len(), 1);
}

#[tokio::test]
async fn the_error_names_the_url_without_its_credentials() {
    let (_api, base) = faulty(huge(2 * MIB, true)).await;
    let with_user = base.replace("http://", "http://user:s3cret@");
    let client = HttpApi::new(settings(&with_user, MIB)).unwrap();
    let err = client.send(get_cluster("c1")).await.unwrap_err();
    assert!(!err.message.contains("s3cret"), "{}", err.message);
    assert!(
        err.message
            .contains(&format!("GET {base}/api/hyperfleet/v1/clusters/c1 exceeds")),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn a_response_within_the_limit_is_read_whole() {
    for content_length in [true, false] {
        let (_api, base) = faulty(huge(MIB, content_length)).await;
        let client = HttpApi::new(settings(&base, MIB)).unwrap();
        let resp = client.send(get_cluster("c1")).await.unwrap();
        assert_eq!(
            (resp.status, resp.body.len() as u64),
            (200, MIB),
            "content_length={content_length}"
        );
    }
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_fails_without_being_buffered() {
    // 256 MiB without Content-Length: only counting while reading can catch it.
    let (api, base) = faulty(huge(256 * MIB, false)).await;
    let client = HttpApi::new(settings(&base, MIB)).unwrap();
    let err = client.send(get_cluster("c1")).await.unwrap_err();
    assert_eq!(
        err.message,
        format!(
            "response body of GET {base}/api/hyperfleet/v1/clusters/c1 exceeds the limit of 1048576 bytes (clients.hyperfleet_api.max_response_bytes)"
        )
    );
    assert_eq!(err.attempts, 1);
    // The fake stops producing once the client hangs up; what it produced beyond the limit sat
    // in socket buffers, not in the client.
    let streamed = api.streamed.load(Ordering::SeqCst);
    assert!(streamed < 64 * MIB, "the server sent {streamed} bytes");
}

#[tokio::test]
async fn garbage_reset_and_hang_answers_fail_the_call_cleanly() {
    let (_api, base) = faulty(Fault::Garbage).await;
    let client = HttpApi::new(settings(&base, MIB)).unwrap();
    let resp = client.send(get_cluster("c1")).await.unwrap();
    assert_eq!(resp.status, 200, "garbage is the caller's to reject");

    let (api, base) = faulty(Fault::Reset { after: 128 * 1024 }).await;
    let client = HttpApi::new(settings(&base, MIB)).unwrap();
    let err = client.send(get_cluster("c1")).await.unwrap_err();
    assert_eq!(
        (err.attempts, api.gets().len()),
        (3, 3),
        "a broken body is retried: {}",
        err.message
    );

    let (_api, base) = faulty(Fault::Hang).await;
    let mut s = settings(&base, MIB);
    (s.timeout, s.retry_attempts) = (Duration::from_millis(200), 1);
    let err = HttpApi::new(s)
        .unwrap()
        .send(get_cluster("c1"))
        .await
        .unwrap_err();
    assert!(err.message.contains("timeout"), "{}", err.message);
}

/// The executor of the fake API's configs with `max_response_bytes` and 3 attempts.
fn executor(dir: &std::path::Path, base: &str, limit: u64) -> Executor {
    let (a, t) = kit::api::write_configs(dir, "limits", base, "topic", "sub");
    let text = std::fs::read_to_string(&a).unwrap().replace(
        "retry_attempts: 1\n",
        &format!("retry_attempts: 3\n    max_response_bytes: {limit}\n"),
    );
    std::fs::write(&a, text).unwrap();
    let loaded = kit::cli::load_configs(a, t);
    let env = MapEnv::default();
    let api = &loaded.adapter.clients.hyperfleet_api;
    assert_eq!(api.effective_max_response_bytes(), limit);
    let settings = Settings::from_config(api, &env).unwrap();
    Executor::new(
        Arc::new(loaded),
        Ports::with_transport(
            Arc::new(HttpApi::new(settings).unwrap()),
            Arc::new(hyperfleet_adapter::adapters::transport::MemoryTransport::default()),
            Arc::new(env),
        ),
    )
}

#[tokio::test]
async fn the_executor_ends_the_call_like_any_other_api_failure() {
    let (api, base) = faulty(huge(2 * MIB, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let ex = executor(dir.path(), &base, MIB);
    let r = ex
        .execute(
            "evt-1",
            "io.hyperfleet.cluster.updated",
            &kit::api::event("evt-1", "c1"),
        )
        .await;
    let err = r
        .errors
        .get(&Phase::ParamExtraction)
        .expect("param extraction failed");
    assert!(
        err.contains(&format!(
            "API request failed: GET /api/hyperfleet/v1/clusters/evt-1 after 1 attempt(s): response body of GET {base}/api/hyperfleet/v1/clusters/evt-1 exceeds the limit of 1048576 bytes (clients.hyperfleet_api.max_response_bytes)"
        )),
        "{err}"
    );
    assert_eq!(api.gets().len(), 1, "not retried");

    // The same event within the limit goes through.
    *api.fault.lock().unwrap() = Fault::None;
    let r = ex
        .execute(
            "evt-2",
            "io.hyperfleet.cluster.updated",
            &kit::api::event("evt-2", "c1"),
        )
        .await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

/// Peak resident memory of this process (`VmHWM`), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

async fn probe(port: u16, path: &str) -> u16 {
    let url = format!("http://127.0.0.1:{port}{path}");
    reqwest::get(&url).await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_answer_and_memory_stays_bounded_with_four_huge_answers_in_flight() {
    let limit = 10 * MIB;
    // 50 MiB chunked answers that pause at 8 MiB, so all four are provably in flight when the
    // probes are asked.
    let (api, base) = faulty(Fault::Huge {
        bytes: 50 * MIB,
        content_length: false,
        stall_after: Some(8 * MIB),
    })
    .await;
    let health = Health::new(&["config"], None);
    health.set("config", true);
    let listener = servers::bind("health", "127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(servers::serve(
        listener,
        servers::health_app(health),
        servers::ConnLimits::default(),
        std::future::pending(),
    ));
    let before = peak_rss();
    let client = Arc::new(HttpApi::new(settings(&base, limit)).unwrap());
    let calls: Vec<_> = (0..4)
        .map(|i| {
            let c = client.clone();
            tokio::spawn(async move { c.send(get_cluster(&format!("c{i}"))).await })
        })
        .collect();
    kit::wait_for("four answers at 8 MiB", Duration::from_secs(60), || {
        api.streamed.load(Ordering::SeqCst) >= 4 * 8 * MIB
    })
    .await;
    assert_eq!(probe(port, "/healthz").await, 200);
    assert_eq!(probe(port, "/readyz").await, 200);
    api.release.open(4);
    let mut results = Vec::new();
    for call in calls {
        results.push(call.await.unwrap());
    }
    assert_eq!(probe(port, "/healthz").await, 200);
    // Four bodies cut at 10 MiB each (a growing buffer may briefly hold twice that); buffered
    // whole they would take 200 MiB and more.
    let grown = peak_rss().saturating_sub(before);
    eprintln!("peak RSS grew by {} MiB", grown / MIB);
    for r in results {
        let err = r.unwrap_err();
        assert!(err.message.contains("exceeds the limit"), "{}", err.message);
    }
    assert!(grown < 100 * MIB, "peak RSS grew by {} MiB", grown / MIB);
}
