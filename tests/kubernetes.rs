//! The Kubernetes transport through a real `kube::Client` against the in-process fake API
//! server (`support/fake_kube.rs`): the transport contract suite, server-side apply and field
//! ownership, the generation rule, concurrent creates, recreate with its bounded wait, CRDs
//! installed at runtime, discovery, deletion with each propagation policy and finalizers, and
//! fault injection for every retryable and non-retryable failure class.

#![cfg(feature = "k8s")]

use hyper::Method;
use hyperfleet_adapter::adapters::transport::contract;
use hyperfleet_adapter::adapters::transport::kubernetes::api::CallPolicy;
use hyperfleet_adapter::adapters::transport::kubernetes::{KubernetesTransport, Settings, Source};
use hyperfleet_adapter::ports::{
    ErrorKind, Gvk, Operation, Propagation, Selector, Target, Transport,
};
use kit::kube::{FakeKube, Fault, FaultAction, ResourceType};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

const K: Target = Target::Kubernetes;

fn settings() -> Settings {
    Settings {
        source: Source::InCluster,
        qps: 0.0,
        burst: 0,
        policy: {
            let mut p = CallPolicy::new(Duration::from_secs(2), 3);
            p.retry.base = Duration::from_millis(20);
            p.retry.max = Duration::from_millis(100);
            p.retry.max_retry_after = Some(Duration::from_secs(2));
            p
        },
        recreate_timeout: Duration::from_secs(2),
        recreate_poll: Duration::from_millis(20),
    }
}

fn transport_with(fake: &FakeKube, s: &Settings) -> KubernetesTransport {
    let config = kube::Config::new(fake.url.parse().expect("url"));
    KubernetesTransport::with_config(config, s).expect("client")
}

fn transport(fake: &FakeKube) -> KubernetesTransport {
    transport_with(fake, &settings())
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn cm(name: &str, generation: Option<&str>, data: Value) -> Value {
    let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "ns", "labels": {"app": "demo"}}, "data": data});
    if let Some(g) = generation {
        obj["metadata"]["annotations"] = json!({"hyperfleet.io/generation": g});
    }
    obj
}

async fn fake_with_namespaces(names: &[&str]) -> FakeKube {
    let fake = FakeKube::start().await;
    for n in names {
        fake.put("test-setup", namespace(n));
    }
    fake
}

fn cm_gvk() -> Gvk {
    Gvk::new("v1", "ConfigMap")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_suite_passes_against_the_fake_api_server() {
    let fakes: Arc<Mutex<Vec<FakeKube>>> = Arc::default();
    let keep = fakes.clone();
    let make = move || -> Arc<dyn Transport> {
        let std = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        std.set_nonblocking(true).expect("nonblocking");
        let fake = FakeKube::serve(tokio::net::TcpListener::from_std(std).expect("listener"));
        for n in ["ns", "ns1", "ns2"] {
            fake.put("test-setup", namespace(n));
        }
        let t = Arc::new(transport(&fake));
        keep.lock().unwrap().push(fake);
        t
    };
    let failures = contract::run_all(make, K).await;
    assert!(failures.is_empty(), "contract failures: {failures:#?}");
    assert_eq!(fakes.lock().unwrap().len(), contract::checks().len());
}

#[tokio::test]
async fn apply_is_server_side_apply_and_keeps_fields_other_managers_own() {
    let fake = fake_with_namespaces(&["ns"]).await;
    let t = transport(&fake);
    let first = t
        .apply(
            &cm("a", Some("1"), json!({"keep": "1", "drop": "x"})),
            false,
            &K,
        )
        .await
        .unwrap();
    assert_eq!(
        (first.operation, first.reason.as_str()),
        (Operation::Create, "resource not found")
    );
    // A create is a POST (it fails if another writer created the object first), its fields
    // then recorded as the adapter's applied ones: the managedFields a server-side-apply create
    // makes.
    let create = fake
        .seen()
        .into_iter()
        .find(|s| s.method == "POST")
        .expect("a create request");
    assert!(
        create.uri.contains("fieldManager=hyperfleet-adapter"),
        "{create:?}"
    );
    let managers = |o: &Value| -> Vec<(String, String)> {
        o["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["manager"].as_str().unwrap().to_string(),
                    m["operation"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let owned = [("hyperfleet-adapter".to_string(), "Apply".to_string())];
    assert_eq!(managers(&first.object), owned);
    assert_eq!(
        managers(&fake.get("v1", "ConfigMap", "ns", "a").unwrap()),
        owned
    );

    // Another controller adds a field and a label of its own.
    let other = kube::Api::<kube::core::DynamicObject>::namespaced_with(
        kube::Client::try_from(kube::Config::new(fake.url.parse().unwrap())).unwrap(),
        "ns",
        &kube::core::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
            "",
            "v1",
            "ConfigMap",
        )),
    );
    other
        .patch(
            "a",
            &kube::api::PatchParams {
                field_manager: Some("other-controller".into()),
                ..Default::default()
            },
            &kube::api::Patch::Merge(
                json!({"metadata": {"labels": {"team": "x"}}, "data": {"extra": "theirs"}}),
            ),
        )
        .await
        .unwrap();

    // The adapter's next generation stops setting `drop` and changes `keep`.
    let second = t
        .apply(&cm("a", Some("2"), json!({"keep": "2"})), false, &K)
        .await
        .unwrap();
    assert_eq!(
        (second.operation, second.reason.as_str()),
        (Operation::Update, "generation changed 1->2")
    );
    // An update is a forced server-side apply, conditional on the resourceVersion read.
    let apply = fake
        .seen()
        .into_iter()
        .find(|s| s.method == "PATCH" && s.content_type.starts_with("application/apply-patch+yaml"))
        .expect("an apply request");
    assert!(
        apply.uri.contains("fieldManager=hyperfleet-adapter") && apply.uri.contains("force=true"),
        "{apply:?}"
    );
    assert!(apply.body.contains("\"resourceVersion\""), "{apply:?}");
    let stored = fake.get("v1", "ConfigMap", "ns", "a").unwrap();
    assert_eq!(
        stored["data"],
        json!({"keep": "2", "extra": "theirs"}),
        "{stored:#}"
    );
    assert_eq!(
        stored["metadata"]["labels"],
        json!({"app": "demo", "team": "x"})
    );
    let managers: Vec<(&str, &str)> = stored["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["manager"].as_str().unwrap(),
                m["operation"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        managers,
        [
            ("hyperfleet-adapter", "Apply"),
            ("other-controller", "Update")
        ]
    );
    assert_eq!(
        second.object["data"]["keep"], "2",
        "apply returns the stored object"
    );
}

#[tokio::test]
async fn generation_rule_and_manifests_without_the_annotation() {
    let fake = fake_with_namespaces(&["ns"]).await;
    let t = transport(&fake);
    let v1 = cm("a", Some("3"), json!({"k": "1"}));
    t.apply(&v1, false, &K).await.unwrap();
    let patches = fake.count("PATCH", "/configmaps/a");
    let same = t.apply(&v1, false, &K).await.unwrap();
    assert_eq!(
        (same.operation, same.reason.as_str()),
        (Operation::Skip, "generation 3 unchanged")
    );
    assert_eq!(
        fake.count("PATCH", "/configmaps/a"),
        patches,
        "a skip writes nothing"
    );
    let older = t
        .apply(&cm("a", Some("2"), json!({"k": "old"})), false, &K)
        .await
        .unwrap();
    assert_eq!(
        (older.operation, older.reason.as_str(), older.stale),
        (
            Operation::Skip,
            "generation 2 is older than the object's 3 (stale event), not applied",
            true
        ),
        "generations only move forward (the Go adapter updated 3 -> 2)"
    );
    assert_eq!(
        fake.count("PATCH", "/configmaps/a"),
        patches,
        "a stale apply writes nothing"
    );
    assert_eq!(older.object["data"]["k"], "1", "the object is as it was");

    // No annotation: applied every time (the Go adapter never updated such objects).
    let plain = cm("b", None, json!({"k": "1"}));
    assert_eq!(
        t.apply(&plain, false, &K).await.unwrap().operation,
        Operation::Create
    );
    let changed = t
        .apply(&cm("b", None, json!({"k": "2"})), false, &K)
        .await
        .unwrap();
    assert_eq!(changed.operation, Operation::Update);
    assert_eq!(
        changed.reason,
        "no hyperfleet.io/generation annotation, applied"
    );
    assert_eq!(
        fake.get("v1", "ConfigMap", "ns", "b").unwrap()["data"]["k"],
        "2"
    );
}

#[tokio::test]
async fn a_create_that_loses_a_race_is_a_skip() {
    let fake = fake_with_namespaces(&["ns"]).await;
    fake.put("another-adapter", cm("a", Some("1"), json!({"k": "1"})));
    // Our read happens before the other replica's create lands.
    fake.inject(Fault::status(
        Some(Method::GET),
        "/configmaps/a",
        1,
        404,
        "NotFound",
    ));
    let applied = transport(&fake)
        .apply(&cm("a", Some("1"), json!({"k": "1"})), false, &K)
        .await
        .unwrap();
    assert_eq!(
        (applied.operation, applied.reason.as_str()),
        (Operation::Skip, "already exists (concurrent create)")
    );
}

/// Another replica writes `object` right after our next read of ConfigMap `a`.
fn another_replica_writes_after_our_read(fake: &FakeKube, object: Value) {
    fake.inject(Fault {
        method: Some(Method::GET),
        path: "/configmaps/a".into(),
        times: 1,
        action: FaultAction::WriteAfter {
            manager: "hyperfleet-adapter".into(),
            object,
        },
    });
}

/// A create that loses the race to a newer one does not overwrite it (the apply is guarded to
/// create only); read again, the object's generation wins: a stale skip.
#[tokio::test]
async fn a_create_that_loses_to_a_newer_one_does_not_move_it_back() {
    let fake = fake_with_namespaces(&["ns"]).await;
    fake.put("another-replica", cm("a", Some("3"), json!({"k": "3"})));
    fake.inject(Fault::status(
        Some(Method::GET),
        "/configmaps/a",
        1,
        404,
        "NotFound",
    ));
    fake.record_writes();
    let applied = transport(&fake)
        .apply(&cm("a", Some("2"), json!({"k": "2"})), false, &K)
        .await
        .unwrap();
    assert_eq!(applied.operation, Operation::Skip);
    assert!(applied.stale, "{}", applied.reason);
    assert!(fake.writes().is_empty(), "nothing written");
    assert_eq!(
        fake.get("v1", "ConfigMap", "ns", "a").unwrap()["data"]["k"],
        "3"
    );
    assert_eq!(fake.count("POST", "/configmaps"), 1, "the refused create");
}

/// A recreate whose object another writer changed after our read: the delete carries the uid
/// and resourceVersion read, so it is refused (409) instead of deleting the newer object, and
/// the decision is made again — the newer generation wins (a stale skip).
#[tokio::test]
async fn a_recreate_that_loses_to_a_newer_write_deletes_nothing() {
    let fake = fake_with_namespaces(&["ns"]).await;
    let t = transport(&fake);
    t.apply(&cm("a", Some("1"), json!({"k": "1"})), true, &K)
        .await
        .unwrap();
    let uid = fake.get("v1", "ConfigMap", "ns", "a").unwrap()["metadata"]["uid"].clone();
    another_replica_writes_after_our_read(&fake, cm("a", Some("3"), json!({"k": "3"})));
    let applied = t
        .apply(&cm("a", Some("2"), json!({"k": "2"})), true, &K)
        .await
        .unwrap();
    assert_eq!(applied.operation, Operation::Skip);
    assert!(applied.stale, "{}", applied.reason);
    let deletes: Vec<String> = fake
        .seen()
        .into_iter()
        .filter(|s| s.method == "DELETE")
        .map(|s| s.body)
        .collect();
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert!(deletes[0].contains("\"preconditions\""), "{}", deletes[0]);
    let a = fake.get("v1", "ConfigMap", "ns", "a").unwrap();
    assert_eq!(a["data"]["k"], "3");
    assert_eq!(a["metadata"]["uid"], uid, "not deleted");
}

/// Another writer updates the object between our read and our write: the write carries the
/// resourceVersion we read, so it is refused (409), and the decision is made again on what is
/// there now — a newer generation, so a stale skip, never an update back to ours.
#[tokio::test]
async fn an_update_that_loses_to_a_newer_one_does_not_move_it_back() {
    let fake = fake_with_namespaces(&["ns"]).await;
    let t = transport(&fake);
    t.apply(&cm("a", Some("1"), json!({"k": "1"})), false, &K)
        .await
        .unwrap();
    another_replica_writes_after_our_read(&fake, cm("a", Some("3"), json!({"k": "3"})));
    fake.record_writes();
    let applied = t
        .apply(&cm("a", Some("2"), json!({"k": "2"})), false, &K)
        .await
        .unwrap();
    assert_eq!(applied.operation, Operation::Skip);
    assert!(applied.stale, "{}", applied.reason);
    let patches: Vec<String> = fake
        .seen()
        .into_iter()
        .filter(|s| s.method == "PATCH")
        .map(|s| s.body)
        .collect();
    assert_eq!(patches.len(), 2, "the first create and the refused update");
    assert!(patches[1].contains("\"resourceVersion\""), "{}", patches[1]);
    let writes = fake.writes();
    assert_eq!(writes.len(), 1, "only the other writer's: {writes:?}");
    assert_eq!(
        fake.get("v1", "ConfigMap", "ns", "a").unwrap()["data"]["k"],
        "3"
    );

    // The same race against an older writer: read again, ours is newer, applied.
    another_replica_writes_after_our_read(&fake, cm("a", Some("4"), json!({"k": "4"})));
    let applied = t
        .apply(&cm("a", Some("5"), json!({"k": "5"})), false, &K)
        .await
        .unwrap();
    assert_eq!(
        (applied.operation, applied.reason.as_str()),
        (Operation::Update, "generation changed 4->5")
    );
    assert_eq!(
        fake.get("v1", "ConfigMap", "ns", "a").unwrap()["data"]["k"],
        "5"
    );
}

/// An update refused, then the object read as gone: the create that follows carries no
/// resourceVersion (an API server refuses one on a create), and when it finds the object after
/// all the decision is made once more.
#[tokio::test]
async fn a_create_after_a_refused_update_carries_no_resource_version() {
    let fake = fake_with_namespaces(&["ns"]).await;
    let t = transport(&fake);
    t.apply(&cm("a", Some("1"), json!({"k": "1"})), false, &K)
        .await
        .unwrap();
    fake.inject(Fault::status(
        Some(Method::PATCH),
        "/configmaps/a",
        1,
        409,
        "Conflict",
    ));
    // The first read is answered, the second says the object is gone.
    fake.inject(Fault {
        method: Some(Method::GET),
        path: "/configmaps/a".into(),
        times: 1,
        action: FaultAction::Delay(Duration::ZERO),
    });
    fake.inject(Fault::status(
        Some(Method::GET),
        "/configmaps/a",
        1,
        404,
        "NotFound",
    ));
    let applied = t
        .apply(&cm("a", Some("2"), json!({"k": "2"})), false, &K)
        .await
        .unwrap();
    assert_eq!(
        (applied.operation, applied.reason.as_str()),
        (Operation::Update, "generation changed 1->2")
    );
    let posts: Vec<String> = fake
        .seen()
        .into_iter()
        .filter(|s| s.method == "POST")
        .map(|s| s.body)
        .collect();
    assert_eq!(
        posts.len(),
        2,
        "the first create and the one after the refused update"
    );
    assert!(!posts[1].contains("resourceVersion"), "{}", posts[1]);
}

/// A writer that changes the object before every one of our writes: the apply gives up after a
/// bound, with a Conflict, instead of looping.
#[tokio::test]
async fn an_apply_that_keeps_losing_gives_up_with_a_conflict() {
    let fake = fake_with_namespaces(&["ns"]).await;
    let t = transport(&fake);
    t.apply(&cm("a", Some("1"), json!({})), false, &K)
        .await
        .unwrap();
    fake.inject(Fault::status(
        Some(Method::PATCH),
        "/configmaps/a",
        100,
        409,
        "Conflict",
    ));
    let err = t
        .apply(&cm("a", Some("2"), json!({})), false, &K)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("5 times in a row"), "{err}");
    assert_eq!(fake.count("PATCH", "/configmaps/a"), 1 + 5);
}

#[tokio::test(start_paused = true)]
async fn recreate_deletes_waits_and_creates_within_a_bound() {
    let fake = fake_with_namespaces(&["ns"]).await;
    let t = transport(&fake);
    let first = t
        .apply(&cm("a", Some("1"), json!({})), false, &K)
        .await
        .unwrap();
    let uid = first.object["metadata"]["uid"].clone();
    let re = t
        .apply(&cm("a", Some("2"), json!({})), true, &K)
        .await
        .unwrap();
    assert_eq!(
        (re.operation, re.reason.as_str()),
        (
            Operation::Recreate,
            "generation changed 1->2, recreateOnChange=true"
        )
    );
    assert_ne!(re.object["metadata"]["uid"], uid, "a new object");
    assert_eq!(fake.count("DELETE", "/configmaps/a"), 1);

    // Held by a finalizer: the wait ends at the configured bound with a clear error.
    let mut held = cm("h", Some("1"), json!({}));
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    t.apply(&held, false, &K).await.unwrap();
    held["metadata"]["annotations"]["hyperfleet.io/generation"] = json!("2");
    let started = Instant::now();
    let err = t.apply(&held, true, &K).await.unwrap_err().to_string();
    // Paused time: the bound (2 s) and one poll interval (20 ms) at most.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(2) && waited <= Duration::from_millis(2020),
        "{waited:?}"
    );
    assert_eq!(
        err,
        "failed to recreate resource ConfigMap/h: failed waiting for resource deletion: ConfigMap/h still present after 2s (finalizers: [example.com/hold])"
    );
}

#[tokio::test]
async fn custom_resources_registered_at_runtime_are_found() {
    let fake = fake_with_namespaces(&["ns"]).await;
    let t = transport(&fake);
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "namespace": "ns", "annotations": {"hyperfleet.io/generation": "1"}}, "spec": {"size": 2}});
    let err = t.apply(&widget, false, &K).await.unwrap_err().to_string();
    assert_eq!(
        err,
        "failed to get existing resource Widget/w: no matches for kind \"Widget\" in version \"example.com/v1\""
    );
    fake.register(ResourceType::new(
        "example.com/v1",
        "Widget",
        "widgets",
        true,
    ));
    assert_eq!(
        t.apply(&widget, false, &K).await.unwrap().operation,
        Operation::Create
    );
    let found = t
        .discover(
            &Gvk::new("example.com/v1", "Widget"),
            &Selector::default(),
            &K,
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    // Uninstalled: the cached resource is dropped and the kind reported as unknown.
    fake.unregister("example.com/v1", "Widget");
    let err = t
        .get(&Gvk::new("example.com/v1", "Widget"), "ns", "w", &K)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no matches for kind \"Widget\""), "{err}");
}

#[tokio::test]
async fn discovery_by_name_and_selector_namespaced_and_cluster_scoped() {
    let fake = fake_with_namespaces(&["ns", "other"]).await;
    let t = transport(&fake);
    let mut a = cm("a", Some("1"), json!({}));
    a["metadata"]["labels"] = json!({"app": "demo", "tier": "x"});
    t.apply(&a, false, &K).await.unwrap();
    let mut b = cm("b", Some("1"), json!({}));
    b["metadata"]["namespace"] = json!("other");
    t.apply(&b, false, &K).await.unwrap();
    let sel = |ns: &str, labels: &[(&str, &str)]| Selector {
        namespace: ns.into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let all = t
        .discover(&cm_gvk(), &sel("", &[("app", "demo")]), &K)
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert!(
        all.iter()
            .all(|o| o["kind"] == "ConfigMap" && o["apiVersion"] == "v1"),
        "list items get their kind back"
    );
    let narrowed = t
        .discover(&cm_gvk(), &sel("ns", &[("app", "demo"), ("tier", "x")]), &K)
        .await
        .unwrap();
    assert_eq!(narrowed.len(), 1);
    assert!(
        fake.seen()
            .iter()
            .any(|s| s.uri.contains("labelSelector=app%3Ddemo%2Ctier%3Dx"))
    );
    let namespaces = t
        .discover(&Gvk::new("v1", "Namespace"), &sel("", &[]), &K)
        .await
        .unwrap();
    assert_eq!(namespaces.len(), 2);
    let got = t
        .get(&Gvk::new("v1", "Namespace"), "", "other", &K)
        .await
        .unwrap();
    assert_eq!(got["status"]["phase"], "Active");
    let missing = t.get(&cm_gvk(), "ns", "nope", &K).await.unwrap_err();
    assert!(missing.is_not_found());
    // An invalid selector is the API server's 400, reported, not retried.
    let err = t
        .discover(&cm_gvk(), &sel("ns", &[("bad key", "v")]), &K)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("K8s list operation failed: ConfigMap (namespace: ns, selector: bad key=v): unable to parse requirement"), "{err}");
}

fn owned_cm(name: &str, owner_uid: &Value) -> Value {
    let mut obj = cm(name, Some("1"), json!({}));
    obj["metadata"]["ownerReferences"] =
        json!([{"apiVersion": "batch/v1", "kind": "Job", "name": "owner", "uid": owner_uid}]);
    obj
}

#[tokio::test]
async fn deletion_with_each_propagation_policy_and_finalizers() {
    let fake = fake_with_namespaces(&["ns"]).await;
    let t = transport(&fake);
    let job = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "owner", "namespace": "ns", "annotations": {"hyperfleet.io/generation": "1"}},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}});
    let job_gvk = Gvk::new("batch/v1", "Job");

    for (policy, dependent_survives) in [
        (Propagation::Orphan, true),
        (Propagation::Background, false),
    ] {
        let uid = t.apply(&job, false, &K).await.unwrap().object["metadata"]["uid"].clone();
        t.apply(&owned_cm("dep", &uid), false, &K).await.unwrap();
        t.delete(&job_gvk, "ns", "owner", policy, &K).await.unwrap();
        assert!(
            t.get(&job_gvk, "ns", "owner", &K)
                .await
                .unwrap_err()
                .is_not_found()
        );
        let dep = fake.get("v1", "ConfigMap", "ns", "dep");
        assert_eq!(dep.is_some(), dependent_survives, "{policy:?}");
        if let Some(dep) = dep {
            assert_eq!(dep["metadata"]["ownerReferences"], json!([]), "orphaned");
            t.delete(&cm_gvk(), "ns", "dep", Propagation::Background, &K)
                .await
                .unwrap();
        }
    }

    // Foreground with a dependent held by a finalizer: the owner stays, deleting, until the
    // dependent is gone.
    let uid = t.apply(&job, false, &K).await.unwrap().object["metadata"]["uid"].clone();
    let mut held = owned_cm("dep", &uid);
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    t.apply(&held, false, &K).await.unwrap();
    t.delete(&job_gvk, "ns", "owner", Propagation::Foreground, &K)
        .await
        .unwrap();
    let owner = t.get(&job_gvk, "ns", "owner", &K).await.unwrap();
    assert!(owner["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        owner["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );
    fake.clear_finalizers("v1", "ConfigMap", "ns", "dep");
    assert!(
        t.get(&job_gvk, "ns", "owner", &K)
            .await
            .unwrap_err()
            .is_not_found()
    );

    // Deleting what is gone is success.
    t.delete(&job_gvk, "ns", "owner", Propagation::Background, &K)
        .await
        .unwrap();
    let policies: Vec<String> = fake
        .seen()
        .iter()
        .filter(|s| s.method == "DELETE")
        .map(|s| {
            serde_json::from_str::<Value>(&s.body).unwrap()["propagationPolicy"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        policies,
        [
            "Orphan",
            "Background",
            "Background",
            "Foreground",
            "Background"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_with_backoff_and_retry_after() {
    let fake = fake_with_namespaces(&["ns"]).await;
    let t = transport(&fake);
    let gvk = cm_gvk();
    t.apply(&cm("a", Some("1"), json!({})), false, &K)
        .await
        .unwrap();
    let cases: Vec<(&str, FaultAction)> = vec![
        (
            "InternalError",
            FaultAction::Status {
                code: 500,
                reason: "InternalError",
                message: "etcd hiccup".into(),
                retry_after: None,
            },
        ),
        (
            "ServerTimeout",
            FaultAction::Status {
                code: 500,
                reason: "ServerTimeout",
                message: "the server cannot complete the requested operation at this time".into(),
                retry_after: None,
            },
        ),
        (
            "ServiceUnavailable",
            FaultAction::Status {
                code: 503,
                reason: "ServiceUnavailable",
                message: "unavailable".into(),
                retry_after: None,
            },
        ),
        (
            "Timeout",
            FaultAction::Status {
                code: 504,
                reason: "Timeout",
                message: "the request timed out".into(),
                retry_after: None,
            },
        ),
        ("dropped connection", FaultAction::Drop),
        ("slow response", FaultAction::Delay(Duration::from_secs(3))),
    ];
    for (what, action) in cases {
        let before = fake.count("GET", "/configmaps/a");
        fake.inject(Fault {
            method: Some(Method::GET),
            path: "/configmaps/a".into(),
            times: 1,
            action,
        });
        let got = t.get(&gvk, "ns", "a", &K).await;
        assert!(got.is_ok(), "{what}: {got:?}");
        assert_eq!(
            fake.count("GET", "/configmaps/a") - before,
            2,
            "{what}: one retry"
        );
    }
    // 429 with Retry-After: the wait follows the server's hint.
    fake.inject(Fault {
        method: Some(Method::GET),
        path: "/configmaps/a".into(),
        times: 1,
        action: FaultAction::Status {
            code: 429,
            reason: "TooManyRequests",
            message: "too many requests".into(),
            retry_after: Some(1),
        },
    });
    let started = Instant::now();
    t.get(&gvk, "ns", "a", &K).await.unwrap();
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(1),
        "the server's Retry-After"
    );

    // Still failing after every attempt: the error says so and carries the server's message.
    fake.inject(Fault {
        method: Some(Method::GET),
        path: "/configmaps/a".into(),
        times: 3,
        action: FaultAction::Status {
            code: 503,
            reason: "ServiceUnavailable",
            message: "apiserver is shutting down".into(),
            retry_after: None,
        },
    });
    let err = t.get(&gvk, "ns", "a", &K).await.unwrap_err().to_string();
    assert_eq!(
        err,
        "K8s get operation failed: ConfigMap/a (namespace: ns): apiserver is shutting down (after 3 attempts)"
    );
}

#[tokio::test]
async fn permanent_failures_are_reported_at_once_with_the_servers_message() {
    let fake = fake_with_namespaces(&["ns"]).await;
    let t = transport(&fake);
    t.apply(&cm("a", Some("1"), json!({})), false, &K)
        .await
        .unwrap();
    for (code, reason) in [
        (400, "BadRequest"),
        (401, "Unauthorized"),
        (403, "Forbidden"),
        (405, "MethodNotAllowed"),
        (406, "NotAcceptable"),
        (410, "Gone"),
        (422, "Invalid"),
    ] {
        let before = fake.count("DELETE", "/configmaps/a");
        fake.inject(Fault {
            method: Some(Method::DELETE),
            path: "/configmaps/a".into(),
            times: 1,
            action: FaultAction::Status {
                code,
                reason,
                message: format!("configmaps \"a\" is {reason} for this test"),
                retry_after: None,
            },
        });
        let err = t
            .delete(&cm_gvk(), "ns", "a", Propagation::Background, &K)
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "K8s delete operation failed: ConfigMap/a (namespace: ns): configmaps \"a\" is {reason} for this test"
            )
        );
        assert_eq!(
            fake.count("DELETE", "/configmaps/a") - before,
            1,
            "{reason} is not retried"
        );
    }
    // The real API server's own rejection of a bad object.
    let err = t
        .apply(&cm("Bad_Name", Some("1"), json!({})), false, &K)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("failed to create resource ConfigMap/Bad_Name: K8s create operation failed: ConfigMap/Bad_Name (namespace: ns): ConfigMap \"Bad_Name\" is invalid"), "{err}");
    // Content for a namespace that does not exist.
    let mut lost = cm("a", Some("1"), json!({}));
    lost["metadata"]["namespace"] = json!("missing");
    let err = t.apply(&lost, false, &K).await.unwrap_err().to_string();
    assert!(err.ends_with("namespaces \"missing\" not found"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_api_server_fails_after_bounded_retries() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = kube::Config::new(format!("http://127.0.0.1:{port}").parse().unwrap());
    let t = KubernetesTransport::with_config(config, &settings()).unwrap();
    let started = Instant::now();
    let err = t
        .get(&cm_gvk(), "ns", "a", &K)
        .await
        .unwrap_err()
        .to_string();
    // Two waits, capped at 20 ms and 40 ms (full jitter), on paused time.
    assert!(
        started.elapsed() <= Duration::from_millis(60),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.starts_with(
            "K8s get operation failed: ConfigMap/a (namespace: ns): failed to discover v1:"
        ),
        "{err}"
    );
    assert!(
        err.contains("Connection refused") && err.ends_with("(after 3 attempts)"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn kubeconfig_with_a_token_and_the_client_side_rate_limit() {
    let fake = fake_with_namespaces(&["ns"]).await;
    fake.require_token("s3cret");
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    s.source = Source::Kubeconfig {
        path: fake.kubeconfig(dir.path(), Some("s3cret")),
        from_env: false,
    };
    s.qps = 20.0;
    s.burst = 2;
    let t = KubernetesTransport::connect(&s).await.unwrap();
    let started = Instant::now();
    for _ in 0..6 {
        t.get(&Gvk::new("v1", "Namespace"), "", "ns", &K)
            .await
            .unwrap();
    }
    // 7 requests (discovery + 6 gets) at 20/s with a burst of 2: at least 5 waits of 50 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );

    let mut wrong = settings();
    wrong.source = Source::Kubeconfig {
        path: fake.kubeconfig(dir.path(), Some("nope")),
        from_env: false,
    };
    let err = KubernetesTransport::connect(&wrong)
        .await
        .unwrap()
        .get(&Gvk::new("v1", "Namespace"), "", "ns", &K)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    let err = err.to_string();
    assert!(err.contains("Unauthorized"), "{err}");

    let mut missing = settings();
    missing.source = Source::Kubeconfig {
        path: dir.path().join("absent"),
        from_env: false,
    };
    let err = KubernetesTransport::connect(&missing).await.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    let err = err.to_string();
    assert!(
        err.starts_with(&format!(
            "failed to load kubeconfig from {}",
            dir.path().join("absent").display()
        )),
        "{err}"
    );
}

/// The fake behaves as the API server does for what other clients do to the objects the adapter
/// manages (so the transport's tests mean something): POST conflicts, optimistic concurrency on
/// PUT, apply conflicts without `force`, and kinds beyond the adapter's examples.
#[tokio::test]
async fn the_fake_api_server_enforces_the_real_protocol() {
    use kube::api::{Api, Patch, PatchParams, PostParams};
    use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
    let fake = fake_with_namespaces(&["ns"]).await;
    let client = kube::Client::try_from(kube::Config::new(fake.url.parse().unwrap())).unwrap();
    let api_for = |kind: &str| {
        Api::<DynamicObject>::namespaced_with(
            client.clone(),
            "ns",
            &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", kind)),
        )
    };
    let status_of = |e: kube::Error| match e {
        kube::Error::Api(s) => (s.code, s.reason.clone(), s.message.clone()),
        other => panic!("not an API error: {other}"),
    };
    let secrets = api_for("Secret");
    let secret: DynamicObject =
        serde_json::from_value(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "s"}, "stringData": {"k": "v"}}))
        .unwrap();
    let created = secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    assert_eq!(created.metadata.namespace.as_deref(), Some("ns"));
    let again = status_of(
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        again,
        (
            409,
            "AlreadyExists".into(),
            "secrets \"s\" already exists".into()
        )
    );

    // Optimistic concurrency: a PUT with a stale resourceVersion conflicts.
    let mut stale = created.clone();
    secrets
        .replace("s", &PostParams::default(), &created)
        .await
        .unwrap();
    stale.data["stringData"]["k"] = json!("w");
    let conflict = status_of(
        secrets
            .replace("s", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!((conflict.0, conflict.1.as_str()), (409, "Conflict"));
    assert!(
        conflict.2.contains("the object has been modified"),
        "{}",
        conflict.2
    );

    // Server-side apply without force: a field another manager owns conflicts.
    let sas = api_for("ServiceAccount");
    let sa = |value: &str| {
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "sa", "labels": {"owner": value}}})
    };
    sas.patch(
        "sa",
        &PatchParams::apply("first"),
        &Patch::Apply(sa("first")),
    )
    .await
    .unwrap();
    let contested = status_of(
        sas.patch(
            "sa",
            &PatchParams::apply("second"),
            &Patch::Apply(sa("second")),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((contested.0, contested.1.as_str()), (409, "Conflict"));
    assert!(
        contested.2.contains("conflict with \"first\""),
        "{}",
        contested.2
    );
    sas.patch(
        "sa",
        &PatchParams::apply("second").force(),
        &Patch::Apply(sa("second")),
    )
    .await
    .unwrap();
    let got = sas.get("sa").await.unwrap();
    assert_eq!(got.metadata.labels.unwrap()["owner"], "second");

    // Unknown resources and objects: the two 404s differ as on a real server.
    let missing = status_of(api_for("ConfigMap").get("nope").await.unwrap_err());
    assert_eq!(
        missing,
        (
            404,
            "NotFound".into(),
            "configmaps \"nope\" not found".into()
        )
    );
    let unknown = status_of(api_for("Pod").get("p").await.unwrap_err());
    assert_eq!(
        unknown.2,
        "the server could not find the requested resource"
    );
}

/// Discovery by selector: of several matches the executor's pick takes the highest generation,
/// ties broken by name — applied to what a real list returns (items without `kind`).
#[tokio::test]
async fn selector_discovery_picks_the_highest_generation_then_name() {
    let fake = fake_with_namespaces(&["ns"]).await;
    for (name, generation) in [("cm-c", "10"), ("cm-a", "10"), ("cm-b", "2")] {
        let mut o = cm(name, Some(generation), json!({}));
        o["metadata"]["labels"] = json!({"app": "pick"});
        fake.put("another-adapter", o);
    }
    let t = transport(&fake);
    let items = t
        .discover(
            &cm_gvk(),
            &Selector {
                namespace: "ns".into(),
                labels: [("app".to_string(), "pick".to_string())].into(),
            },
            &K,
        )
        .await
        .unwrap();
    let picked = hyperfleet_adapter::domain::discovery::pick(items).unwrap();
    assert_eq!(picked["metadata"]["name"], "cm-a");
    assert_eq!(picked["kind"], "ConfigMap");
}

/// HTTPS with the cluster CA from the kubeconfig (as every real cluster is reached); a server
/// certificate from another CA is refused.
#[tokio::test]
async fn https_api_server_verified_with_the_kubeconfig_ca() {
    let pki = kit::pki::TestPki::default();
    let server = pki.server();
    let fake = FakeKube::start_tls(pki.server_config(&server, None, &[b"http/1.1"])).await;
    assert!(fake.url.starts_with("https://127.0.0.1:"));
    fake.put("test-setup", namespace("secure"));
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    s.source = Source::Kubeconfig {
        path: fake.kubeconfig_with_ca(dir.path(), None, Some(&pki.ca_pem())),
        from_env: false,
    };
    let t = KubernetesTransport::connect(&s).await.unwrap();
    let got = t
        .get(&Gvk::new("v1", "Namespace"), "", "secure", &K)
        .await
        .unwrap();
    assert_eq!(got["metadata"]["name"], "secure");

    let stranger = kit::pki::TestPki::new("another CA");
    s.source = Source::Kubeconfig {
        path: fake.kubeconfig_with_ca(dir.path(), None, Some(&stranger.ca_pem())),
        from_env: false,
    };
    let err = KubernetesTransport::connect(&s)
        .await
        .unwrap()
        .get(&Gvk::new("v1", "Namespace"), "", "secure", &K)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("UnknownIssuer") || err.contains("certificate"),
        "{err}"
    );
}

/// A create whose answer is lost (the server made it, the connection closed before the answer)
/// is retried; the retry finds the object. That is our own create, not another writer's.
#[tokio::test]
async fn a_create_whose_answer_is_lost_is_reported_as_our_create() {
    let fake = fake_with_namespaces(&["ns"]).await;
    fake.inject(Fault {
        method: Some(Method::POST),
        path: "/configmaps".into(),
        times: 1,
        action: FaultAction::LoseAnswer,
    });
    let applied = transport(&fake)
        .apply(&cm("a", Some("1"), json!({"k": "1"})), false, &K)
        .await
        .unwrap();
    assert_eq!(applied.operation, Operation::Create);
    assert_eq!(
        applied.reason,
        "created (the answer to 1 earlier attempt(s) was lost; the retry found the object)"
    );
    assert_eq!(
        fake.get("v1", "ConfigMap", "ns", "a").unwrap()["data"]["k"],
        "1"
    );
}
