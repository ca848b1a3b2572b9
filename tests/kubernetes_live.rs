//! The Kubernetes dry-run scenarios of `../shared/conformance` run "live": the same configs,
//! event, recorded API responses and pre-existing objects, but with the real Kubernetes
//! transport against the fake API server instead of the in-memory store. Each live run must
//! decide the same operations, report the same payloads and end with the same objects as the
//! dry run. Plus the deletion flow across two events (ConfigMap held by a finalizer, then the
//! Namespace) and the executor's discovery pick on real list results.

#![cfg(feature = "k8s")]

use hyperfleet_adapter::adapters::transport::MemoryTransport;
use hyperfleet_adapter::adapters::transport::kubernetes::{KubernetesTransport, Settings, Source};
use hyperfleet_adapter::domain::{ExecutionResult, Executor};
use hyperfleet_adapter::dryrun;
use hyperfleet_adapter::ports::Transport;
use kit::kube::FakeKube;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

struct Scenario {
    name: &'static str,
    task: &'static str,
    responses: &'static str,
    discovery: &'static str,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "kubernetes",
        task: "U/kubernetes/dryrun-kubernetes-task-config.yaml",
        responses: "U/dryrun-api-responses.json",
        discovery: "U/kubernetes/dryrun-kubernetes-discovery.json",
    },
    Scenario {
        name: "kubernetes-delete",
        task: "U/kubernetes-delete/dryrun-kubernetes-delete-task-config.yaml",
        responses: "U/dryrun-delete-api-responses.json",
        discovery: "U/kubernetes-delete/dryrun-kubernetes-delete-discovery.json",
    },
    Scenario {
        name: "cel-showcase",
        task: "U/cel-showcase/dryrun-cel-showcase-task-config.yaml",
        responses: "U/cel-showcase/dryrun-cel-showcase-api-responses.json",
        discovery: "U/cel-showcase/dryrun-cel-showcase-discovery.json",
    },
    Scenario {
        name: "api-404",
        task: "U/kubernetes/dryrun-kubernetes-task-config.yaml",
        responses: "U/dryrun-404-api-responses.json",
        discovery: "U/kubernetes/dryrun-kubernetes-discovery.json",
    },
    Scenario {
        name: "post-action-404",
        task: "U/kubernetes/dryrun-kubernetes-task-config.yaml",
        responses: "U/dryrun-post-action-404-api-responses.json",
        discovery: "U/kubernetes/dryrun-kubernetes-discovery.json",
    },
    Scenario {
        name: "chart-kubernetes",
        task: "derived/charts-kubernetes/adapter-task-config.yaml",
        responses: "U/dryrun-api-responses.json",
        discovery: "upstream/charts/examples/kubernetes/dryrun-discovery.json",
    },
];

fn kube_settings() -> Settings {
    Settings {
        source: Source::InCluster,
        qps: 0.0,
        burst: 0,
        policy: Default::default(),
        recreate_timeout: std::time::Duration::from_secs(5),
        recreate_poll: std::time::Duration::from_millis(20),
    }
}

fn live_transport(fake: &FakeKube) -> Arc<dyn Transport> {
    let config = kube::Config::new(fake.url.parse().unwrap());
    Arc::new(KubernetesTransport::with_config(config, &kube_settings()).unwrap())
}

/// What the adapter wrote, without what the server adds (identity stamps, managed fields,
/// status, namespace finalizers).
fn normalized(objects: Vec<Value>) -> BTreeMap<String, Value> {
    objects
        .into_iter()
        .map(|mut o| {
            if let Some(m) = o["metadata"].as_object_mut() {
                for f in [
                    "uid",
                    "resourceVersion",
                    "creationTimestamp",
                    "generation",
                    "managedFields",
                ] {
                    m.remove(f);
                }
            }
            let map = o.as_object_mut().unwrap();
            map.remove("status");
            if map["kind"] == "Namespace" {
                map.remove("spec");
            }
            let key = format!(
                "{}/{}/{}/{}",
                o["apiVersion"].as_str().unwrap(),
                o["kind"].as_str().unwrap(),
                o["metadata"]["namespace"].as_str().unwrap_or_default(),
                o["metadata"]["name"].as_str().unwrap()
            );
            (key, o)
        })
        .collect()
}

/// Runs `s` as a dry run and live, with the scenario's pre-existing objects (`seeded`) or on an
/// empty cluster, and compares decisions, payloads and the objects left behind.
async fn compare(c: &Path, s: &Scenario, seeded: bool) -> Vec<String> {
    let event = dryrun::load_event(&kit::live::path(c, "U/event.json")).unwrap();
    let memory = Arc::new(MemoryTransport::default());
    let fake = FakeKube::start().await;
    if seeded {
        dryrun::load_discovery(&kit::live::path(c, s.discovery), &memory).unwrap();
        let mut seeds = memory.objects();
        // Namespaces first, as a cluster would have them.
        seeds.sort_by_key(|o| o["kind"] != "Namespace");
        for o in seeds {
            fake.put("seed", o);
        }
    }
    let dry = executor(c, s, memory.clone()).execute_event(&event).await;
    let live_result = executor(c, s, live_transport(&fake))
        .execute_event(&event)
        .await;
    let label = format!("{} ({})", s.name, if seeded { "seeded" } else { "empty" });
    // New objects get their status from the API server (a namespace turns `Active`), which the
    // dry run cannot know: payloads are compared when the objects pre-exist.
    assert_eq!(
        kit::live::summary(&live_result, seeded),
        kit::live::summary(&dry, seeded),
        "{label}: the live run decided differently"
    );
    let (want, got) = (normalized(memory.objects()), normalized(fake.objects()));
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{label}: the same objects exist"
    );
    for (k, w) in &want {
        assert_eq!(&got[k], w, "{label}: {k}");
    }
    kit::live::operations(&live_result)
}

fn executor(c: &Path, s: &Scenario, transport: Arc<dyn Transport>) -> Executor {
    kit::live::executor(
        c,
        "U/dryrun-kubernetes-adapter-config.yaml",
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
async fn kubernetes_dry_run_scenarios_reach_the_same_state_live() {
    let Some(c) = kit::cli::conformance() else {
        return;
    };
    let mut operations = std::collections::BTreeSet::new();
    for s in SCENARIOS {
        operations.extend(compare(&c, s, true).await);
        operations.extend(compare(&c, s, false).await);
    }
    // Between them the runs created, skipped and deleted real objects.
    assert!(
        ["create", "skip", "delete"]
            .iter()
            .all(|o| operations.contains(*o)),
        "{operations:?}"
    );
}

const DELETE_TASK: &str = "U/kubernetes-delete/dryrun-kubernetes-delete-task-config.yaml";

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_ordering_configmap_then_namespace_across_two_events() {
    let Some(c) = kit::cli::conformance() else {
        return;
    };
    let s = Scenario {
        name: "kubernetes-delete (held)",
        task: DELETE_TASK,
        responses: "U/dryrun-delete-api-responses.json",
        discovery: "U/kubernetes-delete/dryrun-kubernetes-delete-discovery.json",
    };
    let event = dryrun::load_event(&kit::live::path(&c, "U/event.json")).unwrap();
    let fake = FakeKube::start().await;
    let seeded = MemoryTransport::default();
    dryrun::load_discovery(&kit::live::path(&c, s.discovery), &seeded).unwrap();
    let mut seeds = seeded.objects();
    seeds.sort_by_key(|o| o["kind"] != "Namespace");
    let mut held = None;
    for mut o in seeds {
        if o["kind"] == "ConfigMap" {
            // A controller still cleaning up: the ConfigMap's deletion waits for it.
            o["metadata"]["finalizers"] = json!(["example.com/cleanup"]);
            held = Some((
                o["metadata"]["namespace"].as_str().unwrap().to_string(),
                o["metadata"]["name"].as_str().unwrap().to_string(),
            ));
        }
        fake.put("seed", o);
    }
    let (ns, cm) = held.expect("the scenario has a ConfigMap");
    let exec = executor(&c, &s, live_transport(&fake));

    // Event 1: the ConfigMap is deleting but still present, so the Namespace waits.
    let first = exec.execute_event(&event).await;
    let ops = |r: &ExecutionResult| {
        r.resources
            .iter()
            .map(|x| (x.kind.clone(), x.operation.map(|o| o.as_str())))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ops(&first)
            .iter()
            .filter(|(_, o)| *o == Some("delete"))
            .count(),
        1,
        "only the ConfigMap is deleted: {:?}",
        ops(&first)
    );
    let deleting = fake.get("v1", "ConfigMap", &ns, &cm).expect("held");
    assert!(deleting["metadata"]["deletionTimestamp"].is_string());
    assert!(fake.get("v1", "Namespace", "", &ns).is_some());
    assert_eq!(fake.count("DELETE", "/api/v1/namespaces/"), 1);

    // The controller finishes; event 2 finds the ConfigMap gone and deletes the Namespace.
    fake.clear_finalizers("v1", "ConfigMap", &ns, &cm);
    assert!(fake.get("v1", "ConfigMap", &ns, &cm).is_none());
    let second = exec.execute_event(&event).await;
    assert!(
        ops(&second).contains(&("Namespace".to_string(), Some("delete"))),
        "{:?}",
        ops(&second)
    );
    assert!(
        fake.get("v1", "Namespace", "", &ns).is_none(),
        "namespace gone"
    );
    let namespace_delete = fake
        .seen()
        .into_iter()
        .find(|r| r.method == "DELETE" && r.uri.starts_with(&format!("/api/v1/namespaces/{ns}?")))
        .expect("namespace deleted");
    assert_eq!(
        serde_json::from_str::<Value>(&namespace_delete.body).unwrap()["propagationPolicy"],
        "Foreground"
    );
}
