//! The Maestro dry-run scenarios of `../shared/conformance` run "live": the same configs, event
//! and recorded API responses, with the real Maestro transport against the fake Maestro instead
//! of the in-memory store — seeded with the scenario's ManifestWorks (status included) and on an
//! empty Maestro. The live run must decide the same operations, build the same payloads (when
//! seeded) and leave the same works behind.

#![cfg(feature = "maestro")]

#[path = "support/fake_maestro.rs"]
mod fake_maestro;
mod support;

use fake_maestro::FakeMaestro;
use hyperfleet_adapter::adapters::api::RecordedApi;
use hyperfleet_adapter::adapters::transport::MemoryTransport;
use hyperfleet_adapter::adapters::transport::maestro::events::resource_id;
use hyperfleet_adapter::adapters::transport::maestro::rest::to_manifest_work;
use hyperfleet_adapter::adapters::transport::maestro::{GrpcSecurity, MaestroTransport, Settings};
use hyperfleet_adapter::app::dryrun;
use hyperfleet_adapter::config::{self, LoadOptions, MapEnv};
use hyperfleet_adapter::domain::{ExecutionResult, Executor, Ports};
use hyperfleet_adapter::ports::{FixedClock, Transport};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const U: &str = "upstream/test/testdata/dryrun";
const SOURCE: &str = "hyperfleet-adapter";

struct Scenario {
    name: &'static str,
    task: &'static str,
    responses: &'static str,
    discovery: &'static str,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "maestro",
        task: "U/maestro/dryrun-maestro-adapter-task-config.yaml",
        responses: "U/dryrun-api-responses.json",
        discovery: "U/maestro/dryrun-maestro-discovery.json",
    },
    Scenario {
        name: "maestro-delete",
        task: "U/maestro-delete/dryrun-maestro-delete-task-config.yaml",
        responses: "U/dryrun-delete-api-responses.json",
        discovery: "U/maestro-delete/dryrun-maestro-delete-discovery.json",
    },
    Scenario {
        name: "chart-maestro",
        task: "derived/charts-maestro/adapter-task-config.yaml",
        responses: "U/dryrun-api-responses.json",
        discovery: "upstream/charts/examples/maestro/dryrun-discovery.json",
    },
    Scenario {
        name: "chart-maestro-two-resources",
        task: "derived/charts-maestro-two-resources/adapter-task-config.yaml",
        responses: "U/dryrun-api-responses.json",
        discovery: "upstream/charts/examples/maestro-two-resources/dryrun-discovery.json",
    },
];

fn path(c: &Path, rel: &str) -> std::path::PathBuf {
    match rel.strip_prefix("U/") {
        Some(r) => c.join(U).join(r),
        None => c.join(rel),
    }
}

fn executor(c: &Path, s: &Scenario, transport: Arc<dyn Transport>) -> Executor {
    let env = MapEnv::from_pairs([
        ("ADAPTER_NAME", "dry-run-adapter"),
        ("SOME_API_TOKEN", "do-not-print"),
    ]);
    let loaded = config::load(&LoadOptions {
        adapter_path: Some(path(c, "U/dryrun-maestro-adapter-config.yaml")),
        task_path: Some(path(c, s.task)),
        flags: vec![],
        env: &env,
        binary_version: "0.0.0-dev".into(),
    })
    .unwrap_or_else(|e| panic!("{}: {e}", s.name));
    let api = RecordedApi::load(&path(c, s.responses)).unwrap();
    let ports = Ports {
        clock: Arc::new(FixedClock("2026-01-01T00:00:00Z".parse().unwrap())),
        ..Ports::with_transport(Arc::new(api), transport, Arc::new(env))
    };
    Executor::new(Arc::new(loaded), ports)
}

fn live(fake: &FakeMaestro) -> Arc<dyn Transport> {
    let settings = Settings {
        grpc_address: fake.grpc_address.clone(),
        http_address: fake.http_url.clone(),
        source_id: SOURCE.into(),
        timeout: Duration::from_secs(5),
        healthiness_timeout: Duration::from_secs(5),
        grpc: GrpcSecurity::Plaintext,
        insecure: true,
        http_ca_file: None,
        token: None,
        publish_attempts: 1,
        publish_backoff: Duration::from_millis(10),
        reconnect_base: Duration::from_millis(50),
        reconnect_max: Duration::from_millis(200),
        reload_interval: Duration::from_millis(100),
    };
    Arc::new(MaestroTransport::connect(&settings, None).unwrap())
}

/// Timestamps replaced by a marker (the template function `now` reads the wall clock).
fn without_times(v: Value) -> Value {
    match v {
        Value::String(s)
            if s.len() == 20
                && s.as_bytes()[4] == b'-'
                && s.as_bytes()[10] == b'T'
                && s.ends_with('Z') =>
        {
            Value::String("<time>".into())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(without_times).collect()),
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, v)| (k, without_times(v))).collect())
        }
        other => other,
    }
}

fn summary(r: &ExecutionResult, with_payloads: bool) -> Value {
    let mut out = json!({
        "status": format!("{:?}", r.status),
        "errors": r.errors.iter().map(|(p, e)| (p.as_str().to_string(), Value::String(e.clone()))).collect::<serde_json::Map<_, _>>(),
        "resources": r.resources.iter().map(|x| json!({
            "name": x.name, "kind": x.kind, "namespace": x.namespace, "resource": x.resource_name,
            "status": format!("{:?}", x.status), "operation": x.operation.map(|o| o.as_str()),
            "reason": x.reason, "error": x.error,
        })).collect::<Vec<_>>(),
        "post_actions": r.post_actions.iter().map(|p| json!([p.name, format!("{:?}", p.status), p.error])).collect::<Vec<_>>(),
    });
    if with_payloads {
        out["payloads"] = r
            .payloads
            .iter()
            .map(|(n, p)| {
                json!([
                    n,
                    without_times(
                        serde_json::from_str::<Value>(p).unwrap_or(Value::String(p.clone()))
                    )
                ])
            })
            .collect();
    }
    out
}

/// What the adapter wrote into each work: identity, labels, annotations, manifests, deleting.
fn works(objects: impl IntoIterator<Item = Value>) -> BTreeMap<String, Value> {
    objects
        .into_iter()
        .filter(|o| o["kind"] == "ManifestWork")
        .map(|o| {
            let key = format!(
                "{}/{}",
                o["metadata"]["namespace"].as_str().unwrap_or_default(),
                o["metadata"]["name"].as_str().unwrap_or_default()
            );
            let written = json!({
                "labels": o["metadata"]["labels"],
                "annotations": o["metadata"]["annotations"],
                "manifests": o["spec"]["workload"]["manifests"],
                "deleting": o["metadata"]["deletionTimestamp"].is_string(),
            });
            (key, written)
        })
        .collect()
}

async fn compare(c: &Path, s: &Scenario, seeded: bool) -> Vec<String> {
    let event = dryrun::load_event(&path(c, "U/event.json")).unwrap();
    let memory = Arc::new(MemoryTransport::default());
    let fake = FakeMaestro::start(Duration::from_secs(1)).await;
    fake.register_consumer("cluster1");
    if seeded {
        dryrun::load_discovery(&path(c, s.discovery), &memory).unwrap();
        for o in memory
            .objects()
            .iter()
            .filter(|o| o["kind"] == "ManifestWork")
        {
            let consumer = o["metadata"]["namespace"].as_str().unwrap();
            let name = o["metadata"]["name"].as_str().unwrap();
            fake.seed(SOURCE, &resource_id(SOURCE, consumer, name), o);
        }
    }
    let dry = executor(c, s, memory.clone())
        .execute(&event.id, &event.kind, &event.data)
        .await;
    let live_result = executor(c, s, live(&fake))
        .execute(&event.id, &event.kind, &event.data)
        .await;
    let label = format!("{} ({})", s.name, if seeded { "seeded" } else { "empty" });
    // The simulated agent reports its own status for works it just received, which the dry run
    // cannot know: payloads are compared when the works pre-exist.
    assert_eq!(
        summary(&live_result, seeded),
        summary(&dry, seeded),
        "{label}: the live run decided differently"
    );
    let want = works(memory.objects());
    let got = works(fake.bundles().iter().map(to_manifest_work));
    assert_eq!(got, want, "{label}: the same works");
    live_result
        .resources
        .iter()
        .filter_map(|r| r.operation.map(|o| o.as_str().to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maestro_dry_run_scenarios_reach_the_same_state_live() {
    let Some(c) = support::conformance() else {
        return;
    };
    let mut operations = std::collections::BTreeSet::new();
    for s in SCENARIOS {
        operations.extend(compare(&c, s, true).await);
        operations.extend(compare(&c, s, false).await);
    }
    assert!(
        ["create", "skip", "delete"]
            .iter()
            .all(|o| operations.contains(*o)),
        "{operations:?}"
    );
}
