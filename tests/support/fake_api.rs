//! A fake HyperFleet API (axum) for broker and process tests: serves clusters, records every
//! GET and status report, optionally slow, and answers cluster GETs with an injected [`Fault`]
//! (huge, garbage, hanging or reset bodies) when one is set.

#![allow(dead_code)]

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use hyperfleet_adapter::adapters::api::http::{HttpApi, Settings};
use hyperfleet_adapter::adapters::prometheus::Metrics;
use hyperfleet_adapter::adapters::servers::Health;
use hyperfleet_adapter::adapters::transport::MemoryTransport;
use hyperfleet_adapter::config::{self, LoadOptions, MapEnv};
use hyperfleet_adapter::domain::{Executor, Ports};
use hyperfleet_adapter::ports::EventSource;
use hyperfleet_adapter::service::serve::{self, LoopDeps, LoopEnd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
pub struct FakeApi {
    /// Cluster ids fetched, in order.
    pub gets: Arc<Mutex<Vec<String>>>,
    /// `(cluster id, body)` of every status report.
    pub statuses: Arc<Mutex<Vec<(String, String)>>>,
    /// The `traceparent` header of every request, in order.
    pub traceparents: Arc<Mutex<Vec<Option<String>>>>,
    pub delay: Duration,
    /// How cluster GETs misbehave (none by default); may be changed while serving.
    pub fault: Arc<Mutex<Fault>>,
    /// Body bytes the streamed faults have handed to the server so far.
    pub streamed: Arc<std::sync::atomic::AtomicU64>,
    /// Streams of [`Fault::Huge`] with `stall_after` wait here for a permit to go on.
    pub release: Gate,
}

/// Permits for stalled streams (none at first).
#[derive(Clone)]
pub struct Gate(Arc<tokio::sync::Semaphore>);

impl Default for Gate {
    fn default() -> Self {
        Gate(Arc::new(tokio::sync::Semaphore::new(0)))
    }
}

impl Gate {
    /// Lets `n` stalled streams go on.
    pub fn open(&self, n: usize) {
        self.0.add_permits(n);
    }
}

/// A misbehaving answer to a cluster GET.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Fault {
    #[default]
    None,
    /// A 200 whose body is `bytes` of JSON-ish filler streamed in 64 KiB chunks, with a
    /// `Content-Length` header or chunked; after `stall_after` bytes the stream waits for a
    /// permit on [`FakeApi::release`].
    Huge {
        bytes: u64,
        content_length: bool,
        stall_after: Option<u64>,
    },
    /// A 200 whose body is not JSON.
    Garbage,
    /// Never answers.
    Hang,
    /// Sends `after` body bytes of a longer body, then breaks the connection.
    Reset { after: u64 },
}

/// A body stream fed by a channel (tokio-stream's wrapper needs a feature the crate does not
/// enable).
struct Chunks(tokio::sync::mpsc::Receiver<Result<axum::body::Bytes, std::io::Error>>);

impl tokio_stream::Stream for Chunks {
    type Item = Result<axum::body::Bytes, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

impl FakeApi {
    /// The answer to a cluster GET under `fault` (`None` for the normal answer).
    fn faulty(&self, fault: Fault) -> Option<axum::response::Response> {
        use axum::response::IntoResponse;
        use std::sync::atomic::Ordering;
        let (total, content_length, stall_after, fail_at) = match fault {
            Fault::None => return None,
            Fault::Garbage => return Some("<html>\u{0}not json".into_response()),
            // Handled by the route: no headers either.
            Fault::Hang => return None,
            Fault::Huge {
                bytes,
                content_length,
                stall_after,
            } => (bytes, content_length, stall_after, None),
            Fault::Reset { after } => (after * 2 + 1, false, None, Some(after)),
        };
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let (streamed, release) = (self.streamed.clone(), self.release.clone());
        tokio::spawn(async move {
            let chunk = axum::body::Bytes::from(vec![b' '; 64 * 1024]);
            let (mut sent, mut stalled) = (0u64, false);
            while sent < total {
                if !stalled && stall_after.is_some_and(|s| sent >= s) {
                    stalled = true;
                    release.0.acquire().await.unwrap().forget();
                }
                if fail_at.is_some_and(|f| sent >= f) {
                    let _ = tx.send(Err(std::io::Error::other("reset"))).await;
                    return;
                }
                let n = (total - sent).min(chunk.len() as u64);
                if tx.send(Ok(chunk.slice(..n as usize))).await.is_err() {
                    return;
                }
                sent += n;
                streamed.fetch_add(n, Ordering::SeqCst);
            }
        });
        let mut resp = axum::body::Body::from_stream(Chunks(rx)).into_response();
        if content_length {
            resp.headers_mut()
                .insert(axum::http::header::CONTENT_LENGTH, total.into());
        }
        Some(resp)
    }
}

impl FakeApi {
    pub fn gets(&self) -> Vec<String> {
        self.gets.lock().unwrap().clone()
    }

    pub fn statuses(&self) -> Vec<(String, String)> {
        self.statuses.lock().unwrap().clone()
    }

    pub fn traceparents(&self) -> Vec<Option<String>> {
        self.traceparents.lock().unwrap().clone()
    }

    fn seen(&self, h: &HeaderMap) {
        self.traceparents.lock().unwrap().push(
            h.get("traceparent")
                .map(|v| v.to_str().unwrap_or_default().to_string()),
        );
    }

    /// Starts the server on an ephemeral port; returns its base URL.
    pub async fn start(&self) -> String {
        let app = Router::new()
            .route(
                "/api/hyperfleet/v1/clusters/{id}",
                get(
                    |State(api): State<FakeApi>, h: HeaderMap, Path(id): Path<String>| async move {
                        use axum::response::IntoResponse;
                        api.seen(&h);
                        api.gets.lock().unwrap().push(id.clone());
                        tokio::time::sleep(api.delay).await;
                        let fault = api.fault.lock().unwrap().clone();
                        if fault == Fault::Hang {
                            std::future::pending::<()>().await;
                        }
                        if let Some(resp) = api.faulty(fault) {
                            return resp;
                        }
                        serde_json::json!({"id": id, "name": format!("name-{id}"), "generation": 1,
                        "spec": {"provider": "aws"}, "status": {"conditions": []}})
                        .to_string()
                        .into_response()
                    },
                ),
            )
            .route(
                "/api/hyperfleet/v1/clusters/{id}/statuses",
                post(
                    |State(api): State<FakeApi>,
                     h: HeaderMap,
                     Path(id): Path<String>,
                     body: String| async move {
                        api.seen(&h);
                        api.statuses.lock().unwrap().push((id, body));
                        (axum::http::StatusCode::CREATED, "{}")
                    },
                ),
            )
            .with_state(self.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        format!("http://{addr}")
    }
}

/// A name no other test or run uses (queues, topics, subscriptions).
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Polls `cond` every 20 ms for up to `secs` seconds; panics naming `what` when it stays false.
pub async fn wait_for(what: &str, secs: u64, cond: impl Fn() -> bool) {
    for _ in 0..secs * 50 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A task config that fetches the cluster and reports a status: no resources, so no transport.
pub const TASK: &str = r#"
params:
  - name: clusterId
    source: event.id
    required: true
  - name: cluster
    source:
      api_call:
        method: GET
        url: "/clusters/{{ .clusterId }}"
    required: true
post:
  payloads:
    - name: statusPayload
      build:
        adapter: "{{ .adapter.name }}"
        cluster: "{{ .clusterId }}"
  post_actions:
    - name: reportStatus
      api_call:
        method: POST
        url: "/clusters/{{ .clusterId }}/statuses"
        body: "{{ .statusPayload }}"
"#;

/// Writes an adapter config (named `name`, API at `base_url`, broker topic/subscription) and
/// [`TASK`] into `dir`; returns their paths.
pub fn write_configs(
    dir: &std::path::Path,
    name: &str,
    base_url: &str,
    topic: &str,
    subscription: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let a = dir.join("adapter.yaml");
    let t = dir.join("task.yaml");
    std::fs::write(
        &a,
        format!(
            "adapter:\n  name: {name}\nclients:\n  hyperfleet_api:\n    base_url: {base_url}\n    retry_attempts: 1\n  broker:\n    topic: {topic}\n    subscription_id: {subscription}\n"
        ),
    )
    .unwrap();
    std::fs::write(&t, TASK).unwrap();
    (a, t)
}

/// A structured-mode CloudEvent for cluster `id`.
pub fn event(event_id: &str, id: &str) -> Vec<u8> {
    serde_json::json!({"specversion": "1.0", "id": event_id, "type": "io.hyperfleet.cluster.updated",
        "source": "/test", "datacontenttype": "application/json",
        "data": {"id": id, "kind": "Cluster", "href": format!("/clusters/{id}"), "generation": 1}})
    .to_string()
    .into_bytes()
}

/// Everything a serve loop needs but its event source: the fake API (answering after
/// `delay_ms`), the configs, the executor, metrics and health (`config` ok).
pub struct Harness {
    pub api: FakeApi,
    pub health: Arc<Health>,
    pub metrics: Arc<Metrics>,
    executor: Executor,
    dir: tempfile::TempDir,
}

/// The serve loop running over a source, with a way to stop it.
pub struct Running {
    pub api: FakeApi,
    pub health: Arc<Health>,
    pub metrics: Arc<Metrics>,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub handle: tokio::task::JoinHandle<LoopEnd>,
    _dir: tempfile::TempDir,
}

/// The executor of [`write_configs`]'s configs (written into `dir`): the real HTTP client to
/// the fake API at `base_url`, the in-memory transport.
pub fn executor(
    dir: &std::path::Path,
    name: &str,
    base_url: &str,
    topic: &str,
    subscription: &str,
) -> Executor {
    let (a, t) = write_configs(dir, name, base_url, topic, subscription);
    let env = MapEnv::default();
    let loaded = config::load(&LoadOptions {
        adapter_path: Some(a),
        task_path: Some(t),
        flags: vec![],
        env: &env,
        binary_version: "0.0.0-dev".into(),
    })
    .unwrap();
    let settings = Settings::from_config(&loaded.adapter.clients.hyperfleet_api, &env).unwrap();
    Executor::new(
        Arc::new(loaded),
        Ports::with_transport(
            Arc::new(HttpApi::new(settings).unwrap()),
            Arc::new(MemoryTransport::default()),
            Arc::new(env),
        ),
    )
}

pub async fn harness(name: &str, topic: &str, subscription: &str, delay_ms: u64) -> Harness {
    let api = FakeApi {
        delay: Duration::from_millis(delay_ms),
        ..Default::default()
    };
    let base = api.start().await;
    let dir = tempfile::tempdir().unwrap();
    let executor = executor(dir.path(), name, &base, topic, subscription);
    let health = Health::new(&["config", "broker"], None);
    health.set("config", true);
    Harness {
        api,
        health,
        metrics: Arc::new(Metrics::new(name, "v", "c").with_topic(topic)),
        executor,
        dir,
    }
}

impl Harness {
    /// Starts the serve loop over `source`.
    pub fn run(self, source: Box<dyn EventSource>, parallelism: usize) -> Running {
        let deps = LoopDeps {
            executor: Arc::new(self.executor),
            metrics: self.metrics.clone(),
            health: self.health.clone(),
            parallelism,
            drain_timeout: Duration::from_secs(20),
            max_event_bytes: serve::DEFAULT_MAX_EVENT_BYTES,
        };
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(serve::run(source, deps, async move {
            let _ = stop_rx.await;
        }));
        Running {
            api: self.api,
            health: self.health,
            metrics: self.metrics,
            stop,
            handle,
            _dir: self.dir,
        }
    }
}
