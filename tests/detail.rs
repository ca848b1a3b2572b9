//! The serve loop's executor keeps no detail (`Executor::without_detail`: no params, rendered
//! manifests, bodies or payload texts in the result). It must do exactly what a dry run's
//! executor does: for every conformance dry-run scenario and API-response set, the same
//! requests reach the API (bodies included), the same operations reach the transport, the
//! same objects end up there and the outcome is the same.

use async_trait::async_trait;
use hyperfleet_adapter::adapters::api::RecordedApi;
use hyperfleet_adapter::adapters::transport::MemoryTransport;
use hyperfleet_adapter::config::{self, LoadOptions, MapEnv};
use hyperfleet_adapter::domain::event::CloudEvent;
use hyperfleet_adapter::domain::{ExecutionResult, Executor, Ports};
use hyperfleet_adapter::dryrun::load_discovery;
use hyperfleet_adapter::ports::{
    ApiRequest, ApiResponse, ApiTransportError, FixedClock, HyperfleetApi,
};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The recorded API, keeping every request it was sent.
struct Recording {
    inner: RecordedApi,
    seen: Mutex<Vec<String>>,
}

#[async_trait]
impl HyperfleetApi for Recording {
    async fn send(&self, request: ApiRequest) -> Result<ApiResponse, ApiTransportError> {
        self.seen.lock().unwrap().push(format!("{request:?}"));
        self.inner.send(request).await
    }
}

/// What one run did: the API requests, the transport's operations and final objects.
struct Run {
    result: ExecutionResult,
    requests: Vec<String>,
    operations: String,
    objects: String,
}

async fn run(
    dir: &Path,
    adapter: &str,
    task: &str,
    responses: &str,
    discovery: &str,
    detail: bool,
) -> Run {
    let env = MapEnv::default();
    let loaded = config::load(&LoadOptions {
        adapter_path: Some(dir.join(adapter)),
        task_path: Some(dir.join(task)),
        flags: vec![],
        env: &env,
        binary_version: "0.0.0-dev".into(),
    })
    .unwrap_or_else(|e| panic!("{task}: {e}"));
    // One time for both runs: deletion timestamps must not differ by the second they ran in.
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    let store = Arc::new(MemoryTransport::new(now));
    load_discovery(&dir.join(discovery), &store).expect("discovery loads");
    let api = Arc::new(Recording {
        inner: RecordedApi::load(&dir.join(responses)).expect("responses load"),
        seen: Mutex::default(),
    });
    let ports = Ports {
        clock: Arc::new(FixedClock(now)),
        ..Ports::with_transport(api.clone(), store.clone(), Arc::new(env))
    };
    let mut executor = Executor::new(Arc::new(loaded), ports);
    if !detail {
        executor = executor.without_detail();
    }
    let event = CloudEvent::parse(&std::fs::read(dir.join("event.json")).unwrap()).unwrap();
    let result = executor.execute_event(&event).await;
    let requests = api.seen.lock().unwrap().clone();
    Run {
        result,
        requests,
        operations: format!("{:?}", store.operations()),
        objects: format!("{:?}", store.objects()),
    }
}

/// The outcome the serve loop and the metrics read, and the shape of every step.
fn outcome(r: &ExecutionResult) -> String {
    let resources: Vec<_> = r
        .resources
        .iter()
        .map(|x| (&x.name, x.status, x.operation, &x.reason, &x.error))
        .collect();
    let calls: Vec<_> = r
        .api_calls
        .iter()
        .map(|c| (c.phase, &c.step, &c.method, &c.url, c.status))
        .collect();
    format!(
        "{:?} {} {:?} {:?} {:?} {resources:?} {:?} {calls:?} {:?} {:?}",
        r.status,
        r.resources_skipped,
        r.skip_reason,
        r.stopped_at,
        r.errors,
        r.post_actions,
        r.preconditions,
        r.adapter,
    )
}

#[tokio::test]
async fn without_detail_the_executor_does_the_same() {
    let Some(conformance) = kit::cli::conformance() else {
        return;
    };
    let dir = conformance.join("upstream/test/testdata/dryrun");
    let k = "dryrun-kubernetes-adapter-config.yaml";
    let m = "dryrun-maestro-adapter-config.yaml";
    let scenarios = [
        (
            k,
            "kubernetes/dryrun-kubernetes-task-config.yaml",
            "kubernetes/dryrun-kubernetes-discovery.json",
        ),
        (
            k,
            "cel-showcase/dryrun-cel-showcase-task-config.yaml",
            "cel-showcase/dryrun-cel-showcase-discovery.json",
        ),
        (
            k,
            "kubernetes-delete/dryrun-kubernetes-delete-task-config.yaml",
            "kubernetes-delete/dryrun-kubernetes-delete-discovery.json",
        ),
        (
            m,
            "maestro/dryrun-maestro-adapter-task-config.yaml",
            "maestro/dryrun-maestro-discovery.json",
        ),
        (
            m,
            "maestro-delete/dryrun-maestro-delete-task-config.yaml",
            "maestro-delete/dryrun-maestro-delete-discovery.json",
        ),
    ];
    let response_sets = [
        "dryrun-api-responses.json",
        "dryrun-404-api-responses.json",
        "dryrun-delete-api-responses.json",
        "dryrun-post-action-404-api-responses.json",
        "cel-showcase/dryrun-cel-showcase-api-responses.json",
    ];
    let mut runs = 0;
    for (adapter, task, discovery) in scenarios {
        for responses in response_sets {
            let full = run(&dir, adapter, task, responses, discovery, true).await;
            let lean = run(&dir, adapter, task, responses, discovery, false).await;
            let what = format!("{task} with {responses}");
            assert!(!full.requests.is_empty(), "{what}: no API request was made");
            assert_eq!(full.requests, lean.requests, "{what}: API requests");
            assert_eq!(
                full.operations, lean.operations,
                "{what}: transport operations"
            );
            assert_eq!(full.objects, lean.objects, "{what}: transport objects");
            assert_eq!(
                outcome(&full.result),
                outcome(&lean.result),
                "{what}: outcome"
            );
            assert_eq!(
                full.result.discovered, lean.result.discovered,
                "{what}: discovered"
            );
            // What only a trace reads is kept with detail and dropped without it.
            assert!(!full.result.params.is_empty(), "{what}");
            assert!(lean.result.params.is_empty(), "{what}");
            assert!(lean.result.payloads.is_empty(), "{what}");
            assert!(
                lean.result
                    .resources
                    .iter()
                    .all(|r| r.rendered.is_none() && r.discovered_state.is_none()),
                "{what}"
            );
            assert!(
                lean.result
                    .api_calls
                    .iter()
                    .all(|c| c.request_body.is_none() && c.response_body.is_empty()),
                "{what}"
            );
            runs += 1;
        }
    }
    assert_eq!(runs, 25);
}
