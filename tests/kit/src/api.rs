//! A fake HyperFleet API (axum) for broker, serve-loop and process tests.
//!
//! What it models: `GET /api/hyperfleet/v1/clusters/{id}` answers a cluster (`generation` and
//! `status.conditions` as configured) and `POST .../clusters/{id}/statuses` accepts a status
//! report with 201; both record what they saw (ids, bodies, `traceparent` headers) and how many
//! GETs were in flight at once, overall and per cluster. Cluster GETs can be slowed (`delay`),
//! held until the test lets them go, or answered with an injected [`Fault`] (an error status,
//! huge, garbage, hanging or reset bodies), for every cluster or for one.
//!
//! What it does not: any other resource (node pools, lists, searches), validation of the
//! status body, authentication, or pagination; other paths answer axum's plain 404.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyperfleet_adapter::adapters::api::http::{HttpApi, Settings};
use hyperfleet_adapter::adapters::broker::Readiness;
use hyperfleet_adapter::adapters::prometheus::Metrics;
use hyperfleet_adapter::adapters::servers::Health;
use hyperfleet_adapter::adapters::transport::MemoryTransport;
use hyperfleet_adapter::config::{self, LoadOptions, MapEnv};
use hyperfleet_adapter::domain::{Executor, Ports};
use hyperfleet_adapter::ports::EventSource;
use hyperfleet_adapter::service::serve::{self, LoopDeps, LoopEnd};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The fake API's knobs and records; clones share them. Configure the plain fields before
/// [`FakeApi::start`]; the `Arc` ones may change while it serves.
#[derive(Clone)]
pub struct FakeApi {
    /// Cluster ids fetched, in order.
    pub gets: Arc<Mutex<Vec<String>>>,
    /// `(cluster id, body)` of every status report.
    pub statuses: Arc<Mutex<Vec<(String, String)>>>,
    /// The `traceparent` header of every request, in order.
    pub traceparents: Arc<Mutex<Vec<Option<String>>>>,
    /// How long every cluster GET takes before it answers.
    pub delay: Duration,
    /// The `generation` of every cluster served (1 by default).
    pub generation: i64,
    /// Generations of single clusters, by id, taking precedence over [`FakeApi::generation`];
    /// may be changed while serving ([`FakeApi::set_generation`]).
    pub generations: Arc<Mutex<HashMap<String, i64>>>,
    /// The `status.conditions` of every cluster served (none by default).
    pub conditions: Value,
    /// How cluster GETs misbehave (none by default); may be changed while serving.
    pub fault: Arc<Mutex<Fault>>,
    /// Faults for single clusters, by id; they take precedence over [`FakeApi::fault`].
    pub cluster_faults: Arc<Mutex<HashMap<String, Fault>>>,
    /// Body bytes the streamed faults have handed to the server so far.
    pub streamed: Arc<AtomicU64>,
    /// Streams of [`Fault::Huge`] with `stall_after`, and GETs of [`FakeApi::hold`], wait here
    /// for a permit to go on.
    pub release: Gate,
    /// GETs of this cluster (after `delay`) wait for a permit on [`FakeApi::release`].
    pub hold: Option<String>,
    /// Cluster GETs in flight, now and at most (read through the accessors).
    pub in_flight: InFlight,
}

/// Cluster GETs in flight: now per cluster, and the most seen at once per cluster and overall.
#[derive(Clone, Default)]
pub struct InFlight {
    now: Arc<Mutex<HashMap<String, usize>>>,
    max_per_cluster: Arc<Mutex<HashMap<String, usize>>>,
    max_total: Arc<AtomicUsize>,
}

impl Default for FakeApi {
    fn default() -> Self {
        FakeApi {
            gets: Arc::default(),
            statuses: Arc::default(),
            traceparents: Arc::default(),
            delay: Duration::ZERO,
            generation: 1,
            generations: Arc::default(),
            conditions: json!([]),
            fault: Arc::default(),
            cluster_faults: Arc::default(),
            streamed: Arc::default(),
            release: Gate::default(),
            hold: None,
            in_flight: InFlight::default(),
        }
    }
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
    /// The normal answer.
    #[default]
    None,
    /// This status code with a short text body.
    Status(u16),
    /// A 200 whose body is `bytes` of JSON-ish filler streamed in 64 KiB chunks, with a
    /// `Content-Length` header or chunked; after `stall_after` bytes the stream waits for a
    /// permit on [`FakeApi::release`].
    Huge {
        /// Body size.
        bytes: u64,
        /// Whether a `Content-Length` header announces the size.
        content_length: bool,
        /// Bytes sent before the stream waits for a permit.
        stall_after: Option<u64>,
    },
    /// A 200 whose body is not JSON, though its `Content-Type` says it is.
    Garbage,
    /// Never answers.
    Hang,
    /// Sends `after` body bytes of a longer body, then breaks the connection.
    Reset {
        /// Body bytes sent before the break.
        after: u64,
    },
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
    fn faulty(&self, fault: Fault) -> Option<Response> {
        let (total, content_length, stall_after, fail_at) = match fault {
            Fault::None => return None,
            Fault::Status(code) => {
                let code = axum::http::StatusCode::from_u16(code).expect("a valid status code");
                return Some((code, format!("injected {code}")).into_response());
            }
            Fault::Garbage => {
                let body = "<html>\u{0}{{{not json";
                return Some(([("content-type", "application/json")], body).into_response());
            }
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
                // A reset comes exactly after `after` bytes, however small.
                let until_reset = fail_at.map_or(u64::MAX, |f| f - sent);
                let n = (total - sent).min(chunk.len() as u64).min(until_reset);
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
    /// Serves cluster `id` at `generation` from now on.
    pub fn set_generation(&self, id: &str, generation: i64) {
        self.generations
            .lock()
            .unwrap()
            .insert(id.to_string(), generation);
    }

    /// Cluster ids fetched so far, in order.
    pub fn gets(&self) -> Vec<String> {
        self.gets.lock().unwrap().clone()
    }

    /// `(cluster id, body)` of every status report so far.
    pub fn statuses(&self) -> Vec<(String, String)> {
        self.statuses.lock().unwrap().clone()
    }

    /// The `traceparent` header of every request so far (`None` where absent).
    pub fn traceparents(&self) -> Vec<Option<String>> {
        self.traceparents.lock().unwrap().clone()
    }

    /// GETs of cluster `id` in flight now.
    pub fn in_flight_of(&self, id: &str) -> usize {
        self.in_flight
            .now
            .lock()
            .unwrap()
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    /// The most cluster GETs that were in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.in_flight.max_total.load(Ordering::SeqCst)
    }

    /// The most GETs of cluster `id` that were in flight at once.
    pub fn max_in_flight_of(&self, id: &str) -> usize {
        self.in_flight
            .max_per_cluster
            .lock()
            .unwrap()
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    /// Sets the fault of cluster `id` ([`Fault::None`] for the normal answer).
    pub fn fault_cluster(&self, id: &str, fault: Fault) {
        self.cluster_faults.lock().unwrap().insert(id.into(), fault);
    }

    fn enter(&self, id: &str) {
        let mut f = self.in_flight.now.lock().unwrap();
        *f.entry(id.to_string()).or_default() += 1;
        let now = f[id];
        self.in_flight
            .max_total
            .fetch_max(f.values().sum(), Ordering::SeqCst);
        let mut m = self.in_flight.max_per_cluster.lock().unwrap();
        let e = m.entry(id.to_string()).or_default();
        *e = (*e).max(now);
    }

    fn leave(&self, id: &str) {
        if let Some(n) = self.in_flight.now.lock().unwrap().get_mut(id) {
            *n -= 1;
        }
    }

    /// The answer to one cluster GET.
    async fn cluster(self, h: HeaderMap, id: String) -> Response {
        self.seen(&h);
        self.gets.lock().unwrap().push(id.clone());
        self.enter(&id);
        tokio::time::sleep(self.delay).await;
        if self.hold.as_deref() == Some(id.as_str()) {
            self.release.0.acquire().await.unwrap().forget();
        }
        self.leave(&id);
        let fault = match self.cluster_faults.lock().unwrap().get(&id) {
            Some(f) => f.clone(),
            None => self.fault.lock().unwrap().clone(),
        };
        if fault == Fault::Hang {
            std::future::pending::<()>().await;
        }
        if let Some(resp) = self.faulty(fault) {
            return resp;
        }
        let generation = self
            .generations
            .lock()
            .unwrap()
            .get(&id)
            .copied()
            .unwrap_or(self.generation);
        json!({"id": id, "name": format!("name-{id}"), "generation": generation,
            "spec": {"provider": "aws"}, "status": {"conditions": self.conditions}})
        .to_string()
        .into_response()
    }

    fn seen(&self, h: &HeaderMap) {
        self.traceparents.lock().unwrap().push(
            h.get("traceparent")
                .map(|v| v.to_str().unwrap_or_default().to_string()),
        );
    }

    /// The routes (an axum app), for a server of the caller's own.
    pub fn app(&self) -> Router {
        Router::new()
            .route(
                "/api/hyperfleet/v1/clusters/{id}",
                get(
                    |State(api): State<FakeApi>, h: HeaderMap, Path(id): Path<String>| {
                        api.cluster(h, id)
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
            .with_state(self.clone())
    }

    /// Starts the server on an ephemeral port; returns its base URL.
    pub async fn start(&self) -> String {
        let app = self.app();
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        format!("http://{addr}")
    }
}

/// An HTTP server on a free port that answers every request `503 busy`; its address.
pub async fn busy_api() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app =
        Router::new().fallback(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy") });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
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
    /// The fake API the executor calls.
    pub api: FakeApi,
    /// Health with the `config` check ok and `broker` not yet.
    pub health: Arc<Health>,
    /// The loop's metrics.
    pub metrics: Arc<Metrics>,
    executor: Executor,
    dir: tempfile::TempDir,
}

/// The serve loop running over a source, with a way to stop it.
pub struct Running {
    /// The fake API the executor calls.
    pub api: FakeApi,
    /// The loop's health.
    pub health: Arc<Health>,
    /// The loop's metrics.
    pub metrics: Arc<Metrics>,
    /// Send (or drop) to begin the shutdown.
    pub stop: tokio::sync::oneshot::Sender<()>,
    /// The loop, ending with how it ended.
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

/// A [`Harness`] for adapter `name` on `topic`/`subscription`, its API answering after
/// `delay_ms`.
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
    /// The readiness callback a broker subscriber reports to: the `broker` check.
    pub fn broker_readiness(&self) -> Readiness {
        let health = self.health.clone();
        Arc::new(move |up| health.set("broker", up))
    }

    /// Starts the serve loop over `source`.
    pub fn run(self, source: Box<dyn EventSource>, parallelism: usize) -> Running {
        let deps = LoopDeps {
            executor: Arc::new(self.executor),
            metrics: self.metrics.clone(),
            health: self.health.clone(),
            parallelism,
            drain_timeout: Duration::from_secs(20),
            max_event_bytes: serve::DEFAULT_MAX_EVENT_BYTES,
            skip_stale_events: true,
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(url: &str) -> (u16, String) {
        let resp = reqwest::get(url).await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    #[tokio::test]
    async fn answers_cluster_gets_and_records_status_reports() {
        let api = FakeApi {
            generation: 3,
            conditions: json!([{"type": "Ready", "status": "False"}]),
            ..Default::default()
        };
        let base = api.start().await;
        let (code, body) = get(&format!("{base}/api/hyperfleet/v1/clusters/c1")).await;
        assert_eq!(code, 200);
        let cluster: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(cluster["id"], "c1");
        assert_eq!(cluster["generation"], 3);
        assert_eq!(cluster["status"]["conditions"][0]["type"], "Ready");

        let resp = reqwest::Client::new()
            .post(format!("{base}/api/hyperfleet/v1/clusters/c1/statuses"))
            .header("traceparent", "00-abc-def-01")
            .body("{\"adapter\":\"a\"}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        assert_eq!(api.gets(), ["c1"]);
        assert_eq!(
            api.statuses(),
            [("c1".to_string(), "{\"adapter\":\"a\"}".to_string())]
        );
        assert_eq!(
            api.traceparents(),
            [None, Some("00-abc-def-01".to_string())]
        );
        let (code, _) = get(&format!("{base}/api/hyperfleet/v1/nodepools")).await;
        assert_eq!(code, 404, "only clusters are served");
    }

    #[tokio::test]
    async fn injects_faults_for_every_cluster_or_one() {
        let api = FakeApi::default();
        let base = api.start().await;
        let url = |id: &str| format!("{base}/api/hyperfleet/v1/clusters/{id}");
        api.fault_cluster("c500", Fault::Status(500));
        api.fault_cluster("bad", Fault::Garbage);
        assert_eq!(get(&url("c500")).await.0, 500);
        let (code, body) = get(&url("bad")).await;
        assert_eq!(code, 200);
        assert!(serde_json::from_str::<Value>(&body).is_err());
        assert_eq!(get(&url("fine")).await.0, 200);

        *api.fault.lock().unwrap() = Fault::Huge {
            bytes: 200_000,
            content_length: true,
            stall_after: None,
        };
        let resp = reqwest::get(url("huge")).await.unwrap();
        assert_eq!(resp.content_length(), Some(200_000));
        assert_eq!(resp.bytes().await.unwrap().len(), 200_000);
        assert_eq!(api.streamed.load(Ordering::SeqCst), 200_000);

        *api.fault.lock().unwrap() = Fault::Reset { after: 1000 };
        let resp = reqwest::get(url("reset")).await.unwrap();
        assert!(resp.bytes().await.is_err(), "the body breaks off");
    }

    #[tokio::test]
    async fn holds_one_cluster_until_released_and_counts_what_is_in_flight() {
        let api = FakeApi {
            hold: Some("held".into()),
            ..Default::default()
        };
        let base = api.start().await;
        let held = tokio::spawn(get_owned(format!("{base}/api/hyperfleet/v1/clusters/held")));
        crate::wait_for("the held GET", Duration::from_secs(10), || {
            api.gets().contains(&"held".to_string())
        })
        .await;
        assert_eq!(
            get(&format!("{base}/api/hyperfleet/v1/clusters/free"))
                .await
                .0,
            200
        );
        assert!(!held.is_finished());
        assert_eq!(api.max_in_flight(), 2);
        api.release.open(1);
        assert_eq!(held.await.unwrap().0, 200);
        assert_eq!(api.max_in_flight_of("held"), 1);
        assert_eq!(api.max_in_flight_of("never"), 0);
    }

    async fn get_owned(url: String) -> (u16, String) {
        get(&url).await
    }

    #[tokio::test]
    async fn the_busy_api_answers_503() {
        let addr = busy_api().await;
        assert_eq!(
            get(&format!("http://{addr}/anything")).await,
            (503, "busy".into())
        );
    }
}
