//! The executor over in-memory ports: the outcome matrix (§6.11), the `adapter.*` metadata,
//! per-phase error texts, and the places where this adapter deliberately differs from the Go
//! adapter (each marked).

use hyperfleet_adapter::adapters::api::RecordedApi;
use hyperfleet_adapter::adapters::transport::MemoryTransport;
use hyperfleet_adapter::config::{self, LoadOptions, MapEnv};
use hyperfleet_adapter::domain::{ExecutionResult, Executor, Phase, Ports, StepStatus};
use hyperfleet_adapter::ports::{FixedClock, LocalFiles, Operation};
use serde_json::{Value, json};
use std::sync::Arc;

const ADAPTER: &str = "adapter:\n  name: test-adapter\n  version: \"0.0.0\"\nclients:\n  hyperfleet_api:\n    base_url: http://api\n";
const EVENT: &[u8] =
    br#"{"id":"c1","kind":"Cluster","href":"/api/hyperfleet/v1/clusters/c1","generation":3}"#;

struct Harness {
    executor: Executor,
    store: Arc<MemoryTransport>,
    _dir: tempfile::TempDir,
}

fn harness(task: &str, responses: &str) -> Harness {
    harness_with(task, responses, |_| {})
}

/// Loads both configs and builds an executor over the in-memory transport and recorded API.
fn build(
    adapter: &std::path::Path,
    task: &std::path::Path,
    env: MapEnv,
    responses: &str,
) -> (Executor, Arc<MemoryTransport>) {
    let loaded = config::load(&LoadOptions {
        adapter_path: Some(adapter.to_path_buf()),
        task_path: Some(task.to_path_buf()),
        flags: vec![],
        env: &env,
        binary_version: "0.0.0-dev".into(),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let store = Arc::new(MemoryTransport::default());
    let ports = Ports {
        clock: Arc::new(FixedClock("2026-01-01T00:00:00Z".parse().unwrap())),
        ..Ports::with_transport(
            Arc::new(RecordedApi::parse(responses).unwrap()),
            store.clone(),
            Arc::new(env),
        )
    };
    (Executor::new(Arc::new(loaded), ports), store)
}

fn harness_with(task: &str, responses: &str, prepare: impl FnOnce(&std::path::Path)) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path());
    let a = dir.path().join("adapter.yaml");
    std::fs::write(&a, ADAPTER).unwrap();
    let t = dir.path().join("task.yaml");
    std::fs::write(&t, task).unwrap();
    let env = MapEnv::from_pairs([("REGION", "eu-west-1"), ("API_TOKEN", "secret")]);
    let (executor, store) = build(&a, &t, env, responses);
    Harness {
        executor,
        store,
        _dir: dir,
    }
}

async fn run(h: &Harness) -> ExecutionResult {
    h.executor
        .execute("evt-1", "io.hyperfleet.cluster.updated", EVENT)
        .await
}

const CLUSTER_OK: &str = r#"{"responses": [
  {"match": {"method": "GET", "urlPattern": "/clusters/c1$"}, "responses": [{"statusCode": 200, "body": {"name": "one", "generation": 3, "spec": {"provider": "aws"}}}]},
  {"match": {"method": "POST", "urlPattern": "/statuses"}, "responses": [{"statusCode": 201, "body": {}}]}
]}"#;

const PARAMS: &str = r#"
params:
  - name: clusterId
    source: event.id
    required: true
  - name: generation
    source: event.generation
    type: int
  - name: cluster
    source:
      api_call: {method: GET, url: "/clusters/{{ .clusterId }}"}
    required: true
  - name: region
    source: env.REGION
  - name: adapterName
    source: config.adapter.name
  - name: provider
    source: cluster.spec.provider
  - name: nextGeneration
    source:
      expression: generation + 1
"#;

const NAMESPACE: &str = r#"
  - name: ns
    manifest:
      apiVersion: v1
      kind: Namespace
      metadata:
        name: "{{ .clusterId }}"
        labels: {region: "{{ .region }}"}
        annotations: {hyperfleet.io/generation: "{{ .generation }}"}
    discovery:
      by_name: "{{ .clusterId }}"
"#;

const REPORT: &str = r#"
post:
  payloads:
    - name: status
      build:
        adapter:
          expression: adapter.name
        ok:
          expression: adapter.executionStatus
        skipped:
          expression: adapter.resourcesSkipped
        reason:
          expression: adapter.errorReason
        ns:
          expression: resources.?ns.?metadata.?name.orValue("")
        generation: "{{ .generation }}"
  post_actions:
    - name: report
      api_call:
        method: POST
        url: "/clusters/{{ .clusterId }}/statuses"
        body: "{{ .status }}"
"#;

fn task(preconditions: &str, resources: &str) -> String {
    format!("{PARAMS}\npreconditions:{preconditions}\nresources:{resources}\n{REPORT}")
}

fn payload(r: &ExecutionResult) -> Value {
    serde_json::from_str(
        &r.payloads
            .iter()
            .find(|(n, _)| n == "status")
            .expect("status payload")
            .1,
    )
    .unwrap()
}

#[tokio::test]
async fn happy_path() {
    let h = harness(&task(" []", NAMESPACE), CLUSTER_OK);
    let r = run(&h).await;
    assert!(!r.is_failed(), "{:?}", r.errors);
    let params: std::collections::BTreeMap<_, _> = r.params.iter().cloned().collect();
    assert_eq!(params["generation"], json!(3));
    assert_eq!(params["region"], json!("eu-west-1"));
    assert_eq!(params["adapterName"], json!("test-adapter"));
    assert_eq!(params["provider"], json!("aws"));
    assert_eq!(
        params["nextGeneration"],
        json!(4),
        "JSON integers are CEL ints (Go: no such overload)"
    );
    assert_eq!(r.resources[0].operation, Some(Operation::Create));
    assert_eq!(r.resources[0].reason, "resource not found");
    assert_eq!(
        r.discovered["ns"]["metadata"]["labels"]["region"],
        "eu-west-1"
    );
    let p = payload(&r);
    assert_eq!(
        p,
        json!({"adapter": "test-adapter", "generation": "3", "ns": "c1", "ok": "success", "reason": "", "skipped": false}),
        "adapter.name is readable in CEL (Go: only in templates)"
    );
    assert_eq!(r.post_actions[0].status, StepStatus::Success);
    let calls: Vec<(String, String, u16)> = r
        .api_calls
        .iter()
        .map(|c| (c.method.clone(), c.url.clone(), c.status))
        .collect();
    assert_eq!(
        calls,
        [
            ("GET".into(), "/api/hyperfleet/v1/clusters/c1".into(), 200),
            (
                "POST".into(),
                "/api/hyperfleet/v1/clusters/c1/statuses".into(),
                201
            )
        ]
    );
    // A second event with the same generation skips the apply.
    let again = run(&h).await;
    assert_eq!(again.resources[0].operation, Some(Operation::Skip));
    assert_eq!(h.store.objects().len(), 1);
}

#[tokio::test]
async fn unparseable_event_data_fails_before_anything_runs() {
    let h = harness(&task(" []", NAMESPACE), CLUSTER_OK);
    let r = h
        .executor
        .execute("e", "t", br#"{"id":"c1","generation":"3"}"#)
        .await;
    assert!(r.is_failed());
    assert!(
        r.errors[&Phase::ParamExtraction]
            .starts_with("failed to parse event data: failed to unmarshal to EventData"),
        "{:?}",
        r.errors
    );
    assert!(r.api_calls.is_empty() && r.resources.is_empty() && r.post_actions.is_empty());
}

#[tokio::test]
async fn param_failure_stops_before_post_actions() {
    let t = format!(
        "params:\n  - name: clusterId\n    source: event.id\n  - name: generation\n    source: event.generation\n  - name: x\n    source: event.missing\n    required: true\nresources: []\n{REPORT}"
    );
    let h = harness(&t, CLUSTER_OK);
    let r = run(&h).await;
    assert!(r.is_failed());
    assert_eq!(
        r.errors[&Phase::ParamExtraction],
        "parameter extraction failed: [param_extraction] x: failed to extract required parameter 'x' from source 'event.missing': field 'missing' not found at path 'missing'"
    );
    assert_eq!(r.adapter.error_reason, "ParameterExtractionFailed");
    assert!(
        r.post_actions.is_empty() && r.api_calls.is_empty(),
        "as in the Go adapter, no status is reported"
    );
}

#[tokio::test]
async fn precondition_not_met_skips_resources_and_reports() {
    let pre = "\n  - name: isGcp\n    conditions:\n      - {field: provider, operator: equals, value: gcp}\n";
    let h = harness(&task(pre, NAMESPACE), CLUSTER_OK);
    let r = run(&h).await;
    assert!(!r.is_failed());
    assert!(r.resources_skipped);
    assert_eq!(
        r.skip_reason,
        "precondition 'isGcp' not met: provider equals gcp (actual: aws)"
    );
    assert!(r.resources.is_empty());
    let p = payload(&r);
    assert_eq!((&p["ok"], &p["skipped"]), (&json!("success"), &json!(true)));
    assert_eq!(r.post_actions[0].status, StepStatus::Success);
}

#[tokio::test]
async fn precondition_error_fails_but_still_reports() {
    let pre = "\n  - name: bad\n    conditions:\n      - {field: provider, operator: greaterThan, value: 3}\n";
    let h = harness(&task(pre, NAMESPACE), CLUSTER_OK);
    let r = run(&h).await;
    assert!(r.is_failed());
    assert_eq!(r.skip_reason, "PreconditionFailed");
    assert!(r.errors[&Phase::Preconditions].starts_with("precondition evaluation failed: error="));
    assert!(r.errors[&Phase::Preconditions].contains("failed to convert field value to number"));
    let p = payload(&r);
    assert_eq!(
        (&p["ok"], &p["reason"], &p["skipped"]),
        (&json!("failed"), &json!("PreconditionFailed"), &json!(true))
    );
    assert_eq!(
        r.post_actions.len(),
        1,
        "post-actions run after a precondition error"
    );
}

#[tokio::test]
async fn precondition_cel_evaluation_error_is_not_met() {
    let pre = "\n  - name: needsField\n    expression: cluster.status.phase == 'Ready'\n";
    let h = harness(&task(pre, NAMESPACE), CLUSTER_OK);
    let r = run(&h).await;
    assert!(!r.is_failed());
    assert!(
        r.skip_reason
            .starts_with("precondition 'needsField' not met: CEL error:"),
        "{}",
        r.skip_reason
    );
}

const GONE: &str = r#"{"responses": [
  {"match": {"method": "GET", "urlPattern": "/clusters/"}, "responses": [{"statusCode": 404, "body": {"code": "HYPERFLEET-NTF-002"}}]}
]}"#;

#[tokio::test]
async fn precondition_api_404_stops_everything_gracefully() {
    let t = format!(
        "params:\n  - name: clusterId\n    source: event.id\n  - name: generation\n    source: event.generation\npreconditions:\n  - name: fetch\n    api_call: {{method: GET, url: \"/clusters/{{{{ .clusterId }}}}\"}}\nresources: []\n{REPORT}"
    );
    let h = harness(&t, GONE);
    let r = run(&h).await;
    assert!(!r.is_failed());
    assert_eq!(
        (r.resources_skipped, r.skip_reason.as_str(), r.stopped_at),
        (true, "ResourceNotFound", Some(Phase::Preconditions))
    );
    assert!(r.post_actions.is_empty());
    assert!(r.adapter.execution_error.is_none());
}

#[tokio::test]
async fn required_param_api_404_stops_gracefully_too() {
    // The Go adapter failed the event here (param api_calls had no 404 handling, §18.3).
    let h = harness(&task(" []", NAMESPACE), GONE);
    let r = run(&h).await;
    assert!(!r.is_failed(), "{:?}", r.errors);
    assert_eq!(
        (r.skip_reason.as_str(), r.stopped_at),
        ("ResourceNotFound", Some(Phase::ParamExtraction))
    );
    assert!(r.resources.is_empty() && r.post_actions.is_empty());
}

#[tokio::test]
async fn broken_endpoint_404_is_an_error() {
    let broken = r#"{"responses": [{"match": {"method": "GET", "urlPattern": "/clusters/"}, "responses": [{"statusCode": 404, "body": {"code": "HYPERFLEET-NTF-000"}}]}]}"#;
    let h = harness(&task(" []", NAMESPACE), broken);
    let r = run(&h).await;
    assert!(r.is_failed());
    let e = &r.errors[&Phase::ParamExtraction];
    assert!(e.contains("API request failed: GET /api/hyperfleet/v1/clusters/c1 returned 404 404 Not Found after 1 attempt(s): API returned non-success status: 404 Not Found, response body: {\"code\":\"HYPERFLEET-NTF-000\"}"), "{e}");
}

#[tokio::test]
async fn apply_error_stops_the_loop_and_records_the_resource() {
    let resources = r#"
  - name: work
    transport: {client: maestro, maestro: {target_cluster: "cluster1"}}
    manifest:
      apiVersion: work.open-cluster-management.io/v1
      kind: ManifestWork
      metadata: {name: "w-{{ .clusterId }}"}
      spec: {workload: {manifests: []}}
    discovery: {by_name: "w-{{ .clusterId }}"}
"#;
    let h = harness(&task(" []", &format!("{resources}{NAMESPACE}")), CLUSTER_OK);
    let r = run(&h).await;
    assert!(r.is_failed());
    assert_eq!(
        r.resources.len(),
        1,
        "the loop stops at the failing resource"
    );
    let err = r.resources[0].error.as_deref().unwrap();
    assert!(err.contains("failed to apply resource: failed to apply ManifestWork: invalid ManifestWork: ManifestWork \"w-c1\": missing hyperfleet.io/generation annotation"), "{err}");
    assert_eq!(r.adapter.error_reason, "ResourceFailed");
    let ee = r.adapter.execution_error.as_ref().unwrap();
    assert_eq!((ee.phase.as_str(), ee.step.as_str()), ("resources", "work"));
    assert!(
        r.adapter.resource_errors.contains_key("work"),
        "apply failures are listed too (Go: only lifecycle failures)"
    );
    assert_eq!(payload(&r)["reason"], "ResourceFailed");
}

#[tokio::test]
async fn lifecycle_when_errors_fail_closed_and_the_loop_goes_on() {
    let resources = r#"
  - name: gated
    manifest: {apiVersion: v1, kind: ConfigMap, metadata: {name: g, namespace: x, annotations: {hyperfleet.io/generation: "1"}}}
    discovery: {namespace: x, by_name: g}
    lifecycle:
      delete:
        when: {expression: "cluster.deleted_time != ''"}
"#;
    let h = harness(&task(" []", &format!("{resources}{NAMESPACE}")), CLUSTER_OK);
    let r = run(&h).await;
    // Go read the evaluation error as `false` and applied the resource; here it is an error
    // and nothing is applied or deleted for it, while the next resource still runs.
    assert!(r.is_failed());
    assert_eq!(r.resources[0].status, StepStatus::Failed);
    assert!(
        r.resources[0]
            .error
            .as_deref()
            .unwrap()
            .contains("lifecycle.delete.when"),
        "{:?}",
        r.resources[0].error
    );
    assert_eq!(r.resources[1].operation, Some(Operation::Create));
    assert!(
        h.store
            .objects()
            .iter()
            .all(|o| o["metadata"]["name"] != "g")
    );
}

#[tokio::test]
async fn create_when_false_marks_cel_skipped_but_not_the_result() {
    let resources = r#"
  - name: ns
    manifest: {apiVersion: v1, kind: Namespace, metadata: {name: "{{ .clusterId }}"}}
    discovery: {by_name: "{{ .clusterId }}"}
    lifecycle:
      create:
        when: {expression: "provider == 'gcp'"}
"#;
    let h = harness(&task(" []", resources), CLUSTER_OK);
    let r = run(&h).await;
    assert!(!r.is_failed() && !r.resources_skipped);
    assert_eq!(r.resources[0].status, StepStatus::Skipped);
    assert_eq!(
        r.resources[0].reason,
        "lifecycle.create.when condition evaluated to false"
    );
    assert_eq!(
        r.adapter.skip_reason,
        "ns: lifecycle.create.when condition evaluated to false"
    );
    assert_eq!(payload(&r)["skipped"], true);
    assert!(h.store.objects().is_empty());
}

#[tokio::test]
async fn post_action_error_fails_the_event() {
    let failing = r#"{"responses": [
      {"match": {"method": "GET", "urlPattern": "/clusters/c1$"}, "responses": [{"statusCode": 200, "body": {"spec": {"provider": "aws"}}}]},
      {"match": {"method": "POST", "urlPattern": "/statuses"}, "responses": [{"statusCode": 500, "body": {"error": "boom"}}]}
    ]}"#;
    let h = harness(&task(" []", NAMESPACE), failing);
    let r = run(&h).await;
    assert!(r.is_failed());
    assert_eq!(
        r.errors[&Phase::PostActions],
        "post action execution failed: [post_actions] report: API call returned non-success status: API request failed: POST /api/hyperfleet/v1/clusters/c1/statuses returned 500 500 Internal Server Error after 1 attempt(s): API returned non-success status: 500 Internal Server Error, response body: {\"error\":\"boom\"}"
    );
    assert!(
        !r.adapter.failed,
        "a post-action failure comes too late to change adapter.executionStatus"
    );
    assert_eq!(r.adapter.execution_error.as_ref().unwrap().step, "report");
}

#[tokio::test]
async fn payloads_share_one_cel_snapshot_but_templates_see_earlier_payloads() {
    let t = format!(
        "{PARAMS}\nresources: []\npost:\n  payloads:\n    - name: first\n      build: {{a: 1}}\n    - name: second\n      build:\n        viaTemplate: \"{{{{ .first }}}}\"\n        viaCel:\n          expression: first\n          default: none\n"
    );
    let h = harness(&t, CLUSTER_OK);
    let r = run(&h).await;
    let second: Value = serde_json::from_str(&r.payloads[1].1).unwrap();
    assert_eq!(second["viaTemplate"], "{\"a\":1}");
    assert_eq!(
        second["viaCel"], "none",
        "CEL sees the snapshot taken before the first payload"
    );
}

#[tokio::test]
async fn when_false_payload_skips_actions_that_reference_it() {
    let t = format!(
        "{PARAMS}\nresources: []\npost:\n  payloads:\n    - name: never\n      when: {{expression: \"false\"}}\n      build: {{a: 1}}\n  post_actions:\n    - name: send\n      api_call: {{method: POST, url: /x, body: \"{{{{ .never }}}}\"}}\n    - name: gated\n      when: {{expression: \"adapter.resourcesSkipped\"}}\n      log: {{message: hi}}\n"
    );
    let h = harness(&t, CLUSTER_OK);
    let r = run(&h).await;
    assert_eq!(
        r.post_actions[0].skip_reason,
        "referenced payload 'never' was skipped"
    );
    assert_eq!(
        r.post_actions[1].skip_reason,
        "when condition evaluated to false: adapter.resourcesSkipped"
    );
    assert!(!r.is_failed());
}

#[tokio::test]
async fn file_params_and_type_conversion() {
    let t = "params:\n  - name: token\n    source:\n      file: {path: TOKEN_PATH}\n    required: true\n  - name: raw\n    source:\n      file: {path: TOKEN_PATH, trim: false}\n  - name: count\n    source:\n      file: {path: COUNT_PATH}\n    type: int\n  - name: missing\n    source:\n      file: {path: /nonexistent/file}\n    default: fallback\nresources: []\n";
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "  abc \n").unwrap();
    let count = dir.path().join("count");
    std::fs::write(&count, "42\n").unwrap();
    let t = t
        .replace("TOKEN_PATH", token.to_str().unwrap())
        .replace("COUNT_PATH", count.to_str().unwrap());
    let h = harness(&t, CLUSTER_OK);
    let r = run(&h).await;
    let p: std::collections::BTreeMap<_, _> = r.params.iter().cloned().collect();
    assert_eq!(p["token"], json!("abc"));
    assert_eq!(p["raw"], json!("  abc \n"));
    assert_eq!(p["count"], json!(42));
    assert_eq!(p["missing"], json!("fallback"));
    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'x'; 1_048_577]).unwrap();
    let t = format!(
        "params:\n  - name: big\n    source:\n      file: {{path: {}}}\n    required: true\nresources: []\n",
        big.display()
    );
    let r = run(&harness(&t, CLUSTER_OK)).await;
    assert!(r.errors[&Phase::ParamExtraction].contains("exceeds maximum size of 1048576 bytes"));
}

#[tokio::test]
async fn nested_discovery_collisions_fail_the_resource() {
    let resources = r#"
  - name: work
    transport: {client: maestro, maestro: {target_cluster: cluster1}}
    manifest:
      apiVersion: work.open-cluster-management.io/v1
      kind: ManifestWork
      metadata: {name: w, annotations: {hyperfleet.io/generation: "1"}}
      spec:
        workload:
          manifests:
            - {apiVersion: v1, kind: Namespace, metadata: {name: n1, annotations: {hyperfleet.io/generation: "1"}}}
    discovery: {by_name: w}
    nested_discoveries:
      - name: nsInside
        discovery: {by_name: n1}
      - name: work
        discovery: {by_name: n1}
  - name: second
    manifest: {apiVersion: v1, kind: ConfigMap, metadata: {name: s, namespace: x}}
    discovery: {namespace: x, by_name: s}
    nested_discoveries:
      - name: nsInside
        discovery: {by_name: n1}
"#;
    let h = harness(&format!("params: []\nresources:{resources}"), CLUSTER_OK);
    let r = run(&h).await;
    assert_eq!(r.discovered["nsInside"]["metadata"]["name"], "n1");
    assert!(
        r.discovered.contains_key("work"),
        "a nested discovery named like its parent is skipped"
    );
    assert!(
        r.errors[&Phase::Resources]
            .contains("nested discovery key collision: \"nsInside\" already exists in context"),
        "{:?}",
        r.errors
    );
}

#[tokio::test]
async fn missing_transport_names_the_feature() {
    let h = harness(&task(" []", NAMESPACE), CLUSTER_OK);
    let mut ports_less = Executor::new(
        Arc::new(h.executor.loaded().clone()),
        Ports {
            api: Arc::new(RecordedApi::parse(CLUSTER_OK).unwrap()),
            kubernetes: None,
            maestro: None,
            clock: Arc::new(FixedClock("2026-01-01T00:00:00Z".parse().unwrap())),
            env: Arc::new(MapEnv::from_pairs([("REGION", "eu-west-1")])),
            files: Arc::new(LocalFiles),
            observer: None,
        },
    );
    let r = ports_less.execute("e", "t", EVENT).await;
    assert!(
        r.errors[&Phase::Resources].contains("no kubernetes transport is configured"),
        "{:?}",
        r.errors
    );
    assert!(r.errors[&Phase::Resources].contains("build with feature `k8s`"));
    let _ = &mut ports_less;
}

#[tokio::test]
async fn nothing_is_compiled_per_event() {
    use hyperfleet_adapter::domain::executor::LATE_COMPILES;
    use std::sync::atomic::Ordering;
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    let mut configs = vec![(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples"),
        "adapter-config.yaml",
        "kubernetes/task-config.yaml",
    )];
    if root.is_dir() {
        let d = root.join("upstream/test/testdata/dryrun");
        for t in [
            "kubernetes/dryrun-kubernetes-task-config.yaml",
            "kubernetes-delete/dryrun-kubernetes-delete-task-config.yaml",
            "cel-showcase/dryrun-cel-showcase-task-config.yaml",
        ] {
            configs.push((d.clone(), "dryrun-kubernetes-adapter-config.yaml", t));
        }
        for t in [
            "maestro/dryrun-maestro-adapter-task-config.yaml",
            "maestro-delete/dryrun-maestro-delete-task-config.yaml",
        ] {
            configs.push((d.clone(), "dryrun-maestro-adapter-config.yaml", t));
        }
    }
    for (dir, a, t) in configs {
        let (ex, _) = build(&dir.join(a), &dir.join(t), MapEnv::default(), CLUSTER_OK);
        let data = br#"{"id":"abc123","kind":"Cluster","href":"/x","generation":5}"#;
        let _ = ex.execute("e", "t", data).await;
    }
    assert_eq!(
        LATE_COMPILES.load(Ordering::Relaxed),
        0,
        "an expression was compiled per event"
    );
}

/// Event data cannot move an API call to another resource: a value printed into a path
/// segment that would add segments, climb with `..`, start a query or a fragment fails the call
/// and names the value; nothing is sent.
#[tokio::test]
async fn hostile_event_values_cannot_steer_api_calls() {
    let h = harness(&task(" []", NAMESPACE), CLUSTER_OK);
    for id in [
        "x/../../../../version",
        "..",
        "c1?admin=true",
        "c1#",
        "c1%2F..%2F..",
    ] {
        let event = json!({"id": id, "kind": "Cluster", "generation": 3}).to_string();
        let r = h.executor.execute("e", "t", event.as_bytes()).await;
        assert!(r.is_failed(), "{id}");
        assert!(r.api_calls.is_empty(), "{id}: {:?}", r.api_calls);
        let err = &r.errors[&Phase::ParamExtraction];
        assert!(
            err.contains(&format!("{id:?}")) && err.contains("URL path segment"),
            "{id}: {err}"
        );
    }
}

/// The status report too: an id with `?` or `#` cannot cut `/statuses` off the URL.
#[tokio::test]
async fn hostile_event_values_cannot_cut_the_status_url() {
    let t = format!(
        "params:\n  - name: clusterId\n    source: event.id\n  - name: generation\n    source: event.generation\nresources: []\n{REPORT}"
    );
    let h = harness(&t, CLUSTER_OK);
    for id in ["abc?admin=true#", "abc#", "../../version"] {
        let event = json!({"id": id, "generation": 3}).to_string();
        let r = h.executor.execute("e", "t", event.as_bytes()).await;
        assert!(r.is_failed(), "{id}");
        assert!(
            r.api_calls.iter().all(|c| c.url.ends_with("/statuses")),
            "{id}: {:?}",
            r.api_calls
        );
        assert!(
            r.errors[&Phase::PostActions].contains(&format!("{id:?}")),
            "{id}: {:?}",
            r.errors
        );
    }
    // Well-formed ids are sent exactly as before.
    let r = h
        .executor
        .execute("e", "t", br#"{"id":"c1","generation":3}"#)
        .await;
    assert_eq!(
        r.api_calls
            .iter()
            .map(|c| c.url.as_str())
            .collect::<Vec<_>>(),
        ["/api/hyperfleet/v1/clusters/c1/statuses"]
    );
}

/// As in the Go adapter (and its e2e test "should fail to discover ManifestWork when discovery
/// name does not match created resource"): a discovery that finds nothing right after a
/// successful apply fails the resource, with the not-found error and the execution error set.
#[tokio::test]
async fn a_discovery_that_misses_the_applied_object_fails_the_resource() {
    for (discovery, not_found) in [
        (
            r#"by_name: "other-{{ .clusterId }}""#,
            r#"namespace "other-c1" not found"#,
        ),
        (
            r#"by_selectors: {label_selector: {region: "nowhere"}}"#,
            r#"Namespace "" not found"#,
        ),
    ] {
        let resources = format!(
            r#"
  - name: ns
    manifest:
      apiVersion: v1
      kind: Namespace
      metadata:
        name: "{{{{ .clusterId }}}}"
        labels: {{region: "{{{{ .region }}}}"}}
        annotations: {{hyperfleet.io/generation: "{{{{ .generation }}}}"}}
    discovery:
      {discovery}
"#
        );
        let h = harness(&task(" []", &resources), CLUSTER_OK);
        let r = run(&h).await;
        assert!(r.is_failed(), "{discovery}");
        let err = r.resources[0].error.as_deref().unwrap();
        assert_eq!(
            err,
            format!("[resources] ns: failed to discover resource after apply: {not_found}"),
            "{discovery}"
        );
        let ee = r.adapter.execution_error.as_ref().unwrap();
        assert_eq!((ee.phase.as_str(), ee.step.as_str()), ("resources", "ns"));
        assert_eq!(payload(&r)["reason"], "ResourceFailed");
    }
}

/// `event`, `config` and `env` are lent to each event's expressions, not copied: every way of
/// reading them (CEL, templates, JSONPath fields with and without a root variable) sees the
/// built-in, and a param of the same name shadows it where it always did (everywhere but
/// CEL's runtime names `event` and `env`).
#[tokio::test]
async fn builtins_read_the_same_whether_lent_or_shadowed() {
    let reads = r#"
post:
  payloads:
    - name: status
      build:
        cfgCel: {expression: "string(config)"}
        cfgTpl: "{{ .config }}"
        cfgField: {field: "{.config}"}
        envCel: {expression: "env.REGION"}
        envTpl: "{{ .env }}"
        envField: {field: "{.env.REGION}"}
        eventCel: {expression: "event.id"}
        eventTpl: "{{ .event }}"
        eventField: {field: "{.event.id}"}
        anyRegion: {field: "{..REGION}"}
"#;
    let lent = format!("{PARAMS}\nresources: []\n{reads}");
    let r = run(&harness(&lent, CLUSTER_OK)).await;
    assert!(!r.is_failed(), "{:?}", r.errors);
    let p = payload(&r);
    assert_eq!(p["envCel"], "eu-west-1");
    assert_eq!(p["envField"], "eu-west-1");
    assert_eq!(p["anyRegion"], "eu-west-1");
    assert_eq!(p["eventCel"], "c1");
    assert_eq!(p["eventField"], "c1");
    assert!(p["eventTpl"].as_str().unwrap().contains("c1"), "{p}");
    assert!(p["envTpl"].as_str().unwrap().contains("eu-west-1"), "{p}");
    assert!(
        p["cfgTpl"].as_str().unwrap().contains("test-adapter"),
        "{p}"
    );
    assert_eq!(p["cfgField"]["adapter"]["name"], "test-adapter", "{p}");
    let shadowing = lent.replace(
        "params:\n",
        "params:\n  - name: config\n    source: event.kind\n  - name: env\n    source: event.kind\n  - name: event\n    source: event.kind\n",
    );
    let r = run(&harness(&shadowing, CLUSTER_OK)).await;
    assert!(!r.is_failed(), "{:?}", r.errors);
    let p = payload(&r);
    assert_eq!(p["cfgCel"], "Cluster");
    assert_eq!(p["cfgTpl"], "Cluster");
    assert_eq!(p["cfgField"], "Cluster");
    assert_eq!(p["envTpl"], "Cluster");
    assert_eq!(p["eventTpl"], "Cluster");
    assert_eq!(p["envCel"], "eu-west-1", "CEL's env is the runtime's");
    assert_eq!(p["eventCel"], "c1", "CEL's event is the runtime's");
    assert_eq!(p["envField"], "eu-west-1");
    assert_eq!(p["eventField"], "c1");
}

/// Heard stale skips, by kind.
#[derive(Default)]
struct StaleCounter(std::sync::Mutex<Vec<String>>);

impl hyperfleet_adapter::ports::ExecutionObserver for StaleCounter {
    fn stale_skipped(&self, kind: &str) {
        self.0.lock().unwrap().push(kind.to_string());
    }
    fn deletion_started(&self, _: &str) {}
    fn deletion_finished(&self, _: &str, _: &str, _: bool, _: f64) {}
}

/// An event older than what the cluster already has (another replica applied a newer one) is
/// not applied: the resource is skipped as stale, heard by the observer (the metrics), and the
/// event still succeeds and reports (the status carries the event's generation; the API keeps
/// the newer report). The Go adapter updated the object back to the older generation.
#[tokio::test]
async fn an_older_generation_than_the_objects_is_skipped_as_stale() {
    let mut h = harness(&task(" []", NAMESPACE), CLUSTER_OK);
    h.store.insert(json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "c1", "annotations": {"hyperfleet.io/generation": "7"}, "labels": {"region": "newer"}}
    }));
    let stale = Arc::new(StaleCounter::default());
    let mut ports = h.executor.ports().clone();
    ports.observer = Some(stale.clone());
    h.executor = Executor::new(Arc::new(h.executor.loaded().clone()), ports);
    let r = run(&h).await;
    assert!(!r.is_failed(), "{:?}", r.errors);
    let ns = &r.resources[0];
    assert_eq!(
        (ns.operation, ns.reason.as_str()),
        (
            Some(Operation::Skip),
            "generation 3 is older than the object's 7 (stale event), not applied"
        )
    );
    assert_eq!(*stale.0.lock().unwrap(), vec!["Namespace".to_string()]);
    let kept = h
        .store
        .objects()
        .into_iter()
        .find(|o| o["kind"] == "Namespace")
        .unwrap();
    assert_eq!(kept["metadata"]["labels"]["region"], "newer", "untouched");
    assert_eq!(payload(&r)["ns"], "c1", "discovery still finds the object");
}
