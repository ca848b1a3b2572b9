//! The Maestro dry-run scenarios of `../shared/conformance` run "live": the same configs, event
//! and recorded API responses, with the real Maestro transport against the fake Maestro instead
//! of the in-memory store — seeded with the scenario's ManifestWorks (status included) and on an
//! empty Maestro. The live run must decide the same operations, build the same payloads (when
//! seeded) and leave the same works behind.

#![cfg(feature = "maestro")]

use hyperfleet_adapter::adapters::transport::MemoryTransport;
use hyperfleet_adapter::adapters::transport::maestro::events::resource_id;
use hyperfleet_adapter::adapters::transport::maestro::rest::to_manifest_work;
use hyperfleet_adapter::adapters::transport::maestro::{GrpcSecurity, MaestroTransport, Settings};
use hyperfleet_adapter::domain::Executor;
use hyperfleet_adapter::dryrun;
use hyperfleet_adapter::ports::Transport;
use kit::maestro::FakeMaestro;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

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

fn live_transport(fake: &FakeMaestro) -> Arc<dyn Transport> {
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
    let event = dryrun::load_event(&kit::live::path(c, "U/event.json")).unwrap();
    let memory = Arc::new(MemoryTransport::default());
    let fake = FakeMaestro::start(Duration::from_secs(1)).await;
    fake.register_consumer("cluster1");
    if seeded {
        dryrun::load_discovery(&kit::live::path(c, s.discovery), &memory).unwrap();
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
    let dry = executor(c, s, memory.clone()).execute_event(&event).await;
    let live_result = executor(c, s, live_transport(&fake))
        .execute_event(&event)
        .await;
    let label = format!("{} ({})", s.name, if seeded { "seeded" } else { "empty" });
    // The simulated agent reports its own status for works it just received, which the dry run
    // cannot know: payloads are compared when the works pre-exist.
    assert_eq!(
        kit::live::summary(&live_result, seeded),
        kit::live::summary(&dry, seeded),
        "{label}: the live run decided differently"
    );
    let want = works(memory.objects());
    let got = works(fake.bundles().iter().map(to_manifest_work));
    assert_eq!(got, want, "{label}: the same works");
    kit::live::operations(&live_result)
}

fn executor(c: &Path, s: &Scenario, transport: Arc<dyn Transport>) -> Executor {
    kit::live::executor(
        c,
        "U/dryrun-maestro-adapter-config.yaml",
        s.task,
        s.responses,
        transport,
    )
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maestro_dry_run_scenarios_reach_the_same_state_live() {
    let Some(c) = kit::cli::conformance() else {
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
