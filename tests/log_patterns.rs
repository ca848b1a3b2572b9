//! Every log pattern the runbook tells operators to search for is emitted by the failure it
//! names, with the event's fields on the line.

use hyperfleet_adapter::adapters::api::RecordedApi;
use hyperfleet_adapter::adapters::api::http::{HttpApi, Settings};
use hyperfleet_adapter::adapters::broker::memory::MemoryBroker;
use hyperfleet_adapter::adapters::prometheus::Metrics;
use hyperfleet_adapter::adapters::servers::Health;
use hyperfleet_adapter::adapters::transport::MemoryTransport;
use hyperfleet_adapter::config::MapEnv;
use hyperfleet_adapter::domain::{Executor, Ports};
use hyperfleet_adapter::logging::{self, LogSettings};
use hyperfleet_adapter::ports::{ApiRequest, FixedClock, HyperfleetApi};
use hyperfleet_adapter::service::serve::{self, LoopDeps};
use kit::capture::Capture;
use std::sync::Arc;
use std::time::Duration;

fn capture() -> (Capture, tracing::subscriber::DefaultGuard) {
    let c = Capture::default();
    let settings = LogSettings {
        level: "debug".into(),
        format: "json".into(),
        output: "stdout".into(),
        component: "patterns-adapter".into(),
    };
    let guard = tracing::subscriber::set_default(logging::subscriber(&settings, c.clone(), None));
    (c, guard)
}

const TASK: &str = r#"
params:
  - name: clusterId
    source: event.id
    required: true
  - name: provider
    source: event.provider
preconditions:
  - name: awsOnly
    conditions:
      - {field: provider, operator: equals, value: aws}
resources:
  - name: work
    transport: {client: maestro, maestro: {target_cluster: c}}
    manifest:
      apiVersion: work.open-cluster-management.io/v1
      kind: ManifestWork
      metadata: {name: "w-{{ .clusterId }}"}
    discovery: {by_name: "w-{{ .clusterId }}"}
post:
  post_actions:
    - name: report
      api_call: {method: POST, url: "/clusters/{{ .clusterId }}/statuses", body: "{}"}
"#;

fn executor(task: &str) -> (Executor, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.yaml");
    std::fs::write(&a, "adapter:\n  name: patterns-adapter\n").unwrap();
    let t = dir.path().join("t.yaml");
    std::fs::write(&t, task).unwrap();
    let loaded = kit::cli::load_configs(a, t);
    let store = Arc::new(MemoryTransport::default());
    let api = RecordedApi::parse(r#"{"responses": [{"match": {"method": "POST", "urlPattern": "statuses"}, "responses": [{"statusCode": 500}]}]}"#).unwrap();
    let ports = Ports {
        clock: Arc::new(FixedClock("2026-01-01T00:00:00Z".parse().unwrap())),
        ..Ports::with_transport(Arc::new(api), store.clone(), Arc::new(MapEnv::default()))
    };
    (Executor::new(Arc::new(loaded), ports), dir)
}

#[tokio::test]
async fn executor_failures_log_their_runbook_patterns() {
    let (logs, _g) = capture();
    let (ex, _d) = executor(TASK);
    ex.execute("evt-bad", "t", br#"{"id": 5}"#).await;
    ex.execute("evt-param", "t", br#"{"kind": "Cluster"}"#)
        .await;
    ex.execute(
        "evt-notmet",
        "t",
        br#"{"id": "c1", "kind": "Cluster", "provider": "gcp"}"#,
    )
    .await;
    ex.execute(
        "evt-apply",
        "t",
        br#"{"id": "c2", "kind": "Cluster", "provider": "aws"}"#,
    )
    .await;
    let parse = logs.find("Failed to parse event data");
    assert_eq!(parse["level"], "ERROR");
    assert_eq!(parse["event_id"], "evt-bad");
    let param = logs.find("failed to extract required parameter");
    assert_eq!(
        (param["msg"].as_str(), param["event_id"].as_str()),
        (Some("Phase param_extraction: FAILED"), Some("evt-param"))
    );
    let not_met = logs.find("Precondition[awsOnly] evaluated: NOT_MET");
    assert_eq!(
        (not_met["event_id"].as_str(), not_met["cluster_id"].as_str()),
        (Some("evt-notmet"), Some("c1")),
        "{not_met}"
    );
    let apply = logs.find("failed to apply resource");
    assert_eq!(
        (apply["msg"].as_str(), apply["k8s_result"].as_str()),
        (Some("Resource[work] processed: FAILED"), Some("FAILED"))
    );
    let post = logs.find("PostAction[report] processed: FAILED");
    assert!(
        post["cluster_id"].is_string() && post["event_id"].is_string(),
        "{post}"
    );
    for line in logs.lines() {
        assert_eq!(
            (line["component"].as_str(), line["version"].as_str()),
            (Some("patterns-adapter"), Some("0.0.0-dev"))
        );
        assert!(
            line["hostname"].is_string() && line["time"].is_string() && line["level"].is_string()
        );
    }
}

#[tokio::test]
async fn render_and_precondition_failures() {
    let (logs, _g) = capture();
    let task = TASK.replace(
        "operator: equals, value: aws",
        "operator: greaterThan, value: 1",
    );
    let (ex, _d) = executor(&task);
    ex.execute(
        "evt-pre",
        "t",
        br#"{"id": "c3", "kind": "Cluster", "provider": "aws"}"#,
    )
    .await;
    logs.find("Precondition[awsOnly] evaluated: FAILED");
    // An optional param that is unset cannot be rendered (`missingkey=error`).
    let render_task = TASK
        .replace(
            "metadata: {name: \"w-{{ .clusterId }}\"}",
            "metadata: {name: \"w-{{ .provider2 }}\"}",
        )
        .replace(
            "params:\n",
            "params:\n  - name: provider2\n    source: event.nothing\n",
        );
    let (ex, _d) = executor(&render_task);
    ex.execute(
        "evt-render",
        "t",
        br#"{"id": "c4", "kind": "Cluster", "provider": "aws"}"#,
    )
    .await;
    let render = logs.find("failed to render manifest");
    assert_eq!(render["event_id"], "evt-render");
}

#[tokio::test]
async fn api_retries_and_fatal_broker_errors() {
    let (logs, _g) = capture();
    let addr = kit::api::busy_api().await;
    let settings = Settings {
        retry_attempts: 2,
        ..Settings::defaults(format!("http://{addr}"))
    };
    let api = HttpApi::new(settings).unwrap();
    let _ = api
        .send(ApiRequest {
            method: "GET".into(),
            url: "/x".into(),
            ..Default::default()
        })
        .await;
    let retry = logs.find("HyperFleet API request returned retryable status 503 (attempt 1/2)");
    assert_eq!(retry["level"], "WARN");
    logs.find("Retrying in ");

    let (ex, _d) = executor(TASK);
    let (broker, source) = MemoryBroker::new();
    drop(broker);
    let deps = LoopDeps {
        executor: Arc::new(ex),
        metrics: Arc::new(Metrics::new("a", "v", "c")),
        health: Health::new(&[], None),
        parallelism: 1,
        drain_timeout: Duration::from_secs(1),
        max_event_bytes: serve::DEFAULT_MAX_EVENT_BYTES,
        skip_stale_events: true,
    };
    serve::run(Box::new(source), deps, std::future::pending()).await;
    assert_eq!(
        logs.find("Fatal subscription error, shutting down")["level"],
        "ERROR"
    );
}
