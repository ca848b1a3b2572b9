//! The Maestro transport against the in-process fake Maestro (`kit::maestro`): the
//! transport contract suite, the wire format of create/update/delete, merge-patch updates,
//! status read back over REST, unregistered consumers, retries while Maestro is unavailable,
//! the Subscribe liveness channel (reconnect after a dropped stream or stalled heartbeats,
//! readiness following it) and the asynchronous deletion flow.

#![cfg(feature = "maestro")]

use hyperfleet_adapter::adapters::broker::Readiness;
use hyperfleet_adapter::adapters::transport::contract;
use hyperfleet_adapter::adapters::transport::maestro::events::resource_id;
use hyperfleet_adapter::adapters::transport::maestro::{GrpcSecurity, MaestroTransport, Settings};
use hyperfleet_adapter::ports::{
    Applied, Gvk, Operation, Propagation, Selector, Target, Transport, TransportError,
};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
// The published events are read with the kit's own decoding, not the client's.
use kit::maestro::{DATA_TYPE, FakeMaestro, Report, attr_int, attr_string, data_json};
use kit::wait_for;

const SOURCE: &str = "hyperfleet-adapter";

fn target() -> Target {
    Target::Maestro {
        consumer: "cluster1".into(),
    }
}

fn settings(fake: &FakeMaestro) -> Settings {
    Settings {
        grpc_address: fake.grpc_address.clone(),
        http_address: fake.http_url.clone(),
        source_id: SOURCE.into(),
        timeout: Duration::from_secs(5),
        healthiness_timeout: Duration::from_millis(500),
        grpc: GrpcSecurity::Plaintext,
        insecure: true,
        http_ca_file: None,
        token: None,
        publish_attempts: 3,
        publish_backoff: Duration::from_millis(20),
        reconnect_base: Duration::from_millis(50),
        reconnect_max: Duration::from_millis(200),
        reload_interval: Duration::from_millis(100),
    }
}

async fn fake() -> FakeMaestro {
    let fake = FakeMaestro::start(Duration::from_millis(100)).await;
    fake.register_consumer("cluster1");
    fake
}

fn work(name: &str, generation: &str, labels: Value, manifests: Value) -> Value {
    json!({
        "apiVersion": "work.open-cluster-management.io/v1", "kind": "ManifestWork",
        "metadata": {"name": name, "namespace": "ignored", "labels": labels,
                     "annotations": {"hyperfleet.io/generation": generation}},
        "spec": {
            "workload": {"manifests": manifests},
            "deleteOption": {"propagationPolicy": "Foreground", "gracePeriodSeconds": 30},
            "manifestConfigs": [{"resourceIdentifier": {"group": "", "resource": "namespaces", "name": "abc123"},
                                 "updateStrategy": {"type": "ServerSideApply", "serverSideApply": {"fieldManager": "hyperfleet-adapter"}},
                                 "feedbackRules": [{"type": "JSONPaths", "jsonPaths": [{"name": "phase", "path": ".status.phase"}]}]}]
        }
    })
}

/// A work with one Namespace manifest, both at `generation`, without labels.
fn plain(name: &str, generation: &str) -> Value {
    work(name, generation, json!({}), namespace_manifest(generation))
}

async fn apply(t: &MaestroTransport, w: &Value) -> Result<Applied, TransportError> {
    t.apply(w, false, &target()).await
}

fn namespace_manifest(generation: &str) -> Value {
    json!([{"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "abc123", "labels": {"app": "demo"}, "annotations": {"hyperfleet.io/generation": generation}}}])
}

fn mw_gvk() -> Gvk {
    Gvk::new("work.open-cluster-management.io/v1", "ManifestWork")
}

/// How long a test waits for something to happen.
const WAIT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_suite_passes_against_the_fake_maestro() {
    let fakes: Arc<Mutex<Vec<FakeAndTransport>>> = Arc::default();
    let keep = fakes.clone();
    let make = move || -> Arc<dyn Transport> {
        let fake = futures_block(FakeMaestro::start(Duration::from_millis(100)));
        fake.register_consumer("cluster1");
        let t = Arc::new(MaestroTransport::connect(&settings(&fake), None).unwrap());
        keep.lock().unwrap().push((fake, t.clone()));
        t
    };
    let failures = contract::run_all(make, target()).await;
    assert!(failures.is_empty(), "contract failures: {failures:#?}");
    assert_eq!(fakes.lock().unwrap().len(), contract::checks().len());
}

/// A fake and the transport connected to it, kept alive together.
type FakeAndTransport = (FakeMaestro, Arc<MaestroTransport>);

/// Runs a future to completion from synchronous code inside the multi-threaded runtime.
fn futures_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

#[tokio::test]
async fn create_update_skip_on_the_wire() {
    let fake = fake().await;
    let t = MaestroTransport::connect(&settings(&fake), None).unwrap();
    let first = t
        .apply(
            &work(
                "abc123-mw",
                "5",
                json!({"team": "a", "old": "x"}),
                namespace_manifest("5"),
            ),
            false,
            &target(),
        )
        .await
        .unwrap();
    assert_eq!(
        (first.operation, first.reason.as_str()),
        (Operation::Create, "resource not found")
    );
    let id = resource_id(SOURCE, "cluster1", "abc123-mw");
    assert_eq!(
        id, "c8a68a66-5562-5e7b-bc78-2006e1459591",
        "the protocol's test vector"
    );
    let create = fake.published().pop().unwrap();
    assert_eq!(create.r#type, format!("{DATA_TYPE}.spec.create_request"));
    assert_eq!(create.source, SOURCE);
    assert_eq!(
        attr_string(&create, "ce-clustername").as_deref(),
        Some("cluster1")
    );
    assert_eq!(
        attr_string(&create, "ce-resourceid").as_deref(),
        Some(id.as_str())
    );
    assert_eq!(attr_int(&create, "ce-resourceversion"), Some(0));
    let meta: Value = serde_json::from_str(&attr_string(&create, "ce-metadata").unwrap()).unwrap();
    assert_eq!(
        meta["namespace"], "cluster1",
        "the work lives in the consumer's namespace"
    );
    assert_eq!(meta["uid"], json!(id));
    let bundle = data_json(&create).unwrap();
    assert_eq!(
        bundle["deleteOption"],
        json!({"propagationPolicy": "Foreground"})
    );
    assert_eq!(
        bundle["manifestConfigs"][0]["resourceIdentifier"]["namespace"],
        ""
    );
    assert_eq!(fake.bundle(&id).unwrap()["version"], 1);

    // The agent's report is read back over REST, with statusFeedback.
    let got = t.get(&mw_gvk(), "", "abc123-mw", &target()).await.unwrap();
    assert_eq!(got["metadata"]["generation"], 1);
    assert_eq!(got["status"]["conditions"][0]["type"], "Applied");
    let feedback = &got["status"]["resourceStatus"]["manifests"][0]["statusFeedback"]["values"][0];
    assert_eq!(
        feedback,
        &json!({"name": "phase", "fieldValue": {"type": "String", "string": "Active"}})
    );

    let same = t
        .apply(
            &work(
                "abc123-mw",
                "5",
                json!({"team": "a"}),
                namespace_manifest("5"),
            ),
            false,
            &target(),
        )
        .await
        .unwrap();
    assert_eq!(
        (same.operation, same.reason.as_str()),
        (Operation::Skip, "generation 5 unchanged")
    );
    assert_eq!(fake.published().len(), 1, "a skip publishes nothing");

    // An update is a merge patch of the current work, sent with the REST version.
    let up = t
        .apply(
            &work(
                "abc123-mw",
                "6",
                json!({"team": "b"}),
                namespace_manifest("6"),
            ),
            true,
            &target(),
        )
        .await
        .unwrap();
    assert_eq!(
        (up.operation, up.reason.as_str()),
        (Operation::Update, "generation changed 5->6"),
        "no recreate for works"
    );
    let update = fake.published().pop().unwrap();
    assert_eq!(update.r#type, format!("{DATA_TYPE}.spec.update_request"));
    assert_eq!(attr_int(&update, "ce-resourceversion"), Some(1));
    let meta: Value = serde_json::from_str(&attr_string(&update, "ce-metadata").unwrap()).unwrap();
    assert_eq!(
        meta["labels"],
        json!({"team": "b", "old": "x"}),
        "merge patch keeps labels it does not name"
    );
    assert_eq!(meta["annotations"]["hyperfleet.io/generation"], "6");
    let stored = fake.bundle(&id).unwrap();
    assert_eq!(stored["version"], 2);
    assert_eq!(
        stored["manifests"][0]["metadata"]["annotations"]["hyperfleet.io/generation"],
        "6"
    );
}

#[tokio::test]
async fn invalid_works_and_other_kinds_are_refused_before_anything_is_sent() {
    let fake = fake().await;
    let t = MaestroTransport::connect(&settings(&fake), None).unwrap();
    let mut w = plain("w", "1");
    w["spec"]["workload"]["manifests"][0]["metadata"]["annotations"] = json!({});
    let err = t.apply(&w, false, &target()).await.unwrap_err().to_string();
    assert!(err.starts_with("failed to apply ManifestWork: invalid ManifestWork: ManifestWork \"w\" manifest[0] Namespace/abc123"), "{err}");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    assert!(t.apply(&cm, false, &target()).await.is_err());
    let err = t
        .apply(
            &plain("w", "1"),
            false,
            &Target::Maestro {
                consumer: String::new(),
            },
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("consumer name (target cluster) is required"),
        "{err}"
    );
    assert!(fake.published().is_empty());
}

#[tokio::test]
async fn unregistered_consumers_are_reported_by_name() {
    let fake = fake().await;
    let t = MaestroTransport::connect(&settings(&fake), None).unwrap();
    let elsewhere = Target::Maestro {
        consumer: "nowhere".into(),
    };
    let err = t
        .apply(&plain("w", "1"), false, &elsewhere)
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(
        err.to_string(),
        "consumer \"nowhere\" is not registered in Maestro"
    );
    assert!(
        fake.published().is_empty(),
        "found by asking Maestro's consumers, nothing sent"
    );
}

#[tokio::test]
async fn publishes_are_retried_while_maestro_is_unavailable_only() {
    let fake = fake().await;
    let t = MaestroTransport::connect(&settings(&fake), None).unwrap();
    fake.fail_publishes(tonic::Code::Unavailable, 2);
    let applied = apply(&t, &plain("w", "1")).await.unwrap();
    assert_eq!(applied.operation, Operation::Create);
    assert_eq!(fake.published().len(), 3, "two refusals, then the create");

    fake.fail_publishes(tonic::Code::Internal, 1);
    let err = apply(&t, &plain("w", "2")).await.unwrap_err().to_string();
    assert_eq!(
        err,
        "failed to patch ManifestWork cluster1/w: Failed to publish resource w: rpc error: code = Internal desc = injected failure"
    );
    assert_eq!(fake.published().len(), 4, "not retried");
}

#[tokio::test]
async fn maestro_errors_come_back_with_its_messages() {
    let fake = fake().await;
    let t = MaestroTransport::connect(&settings(&fake), None).unwrap();
    apply(&t, &plain("w", "1")).await.unwrap();
    // The pinned Maestro refuses updates that change the manifests' identity.
    let other = json!([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "abc123", "annotations": {"hyperfleet.io/generation": "2"}}}]);
    let err = t
        .apply(&work("w", "2", json!({}), other), false, &target())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("failed to patch ManifestWork cluster1/w: Failed to publish resource w: rpc error: code = Unknown desc = failed to update resource: maestro-8: the new manifest bundle in the resource is invalid"), "{err}");
}

#[tokio::test]
async fn deletion_is_asynchronous_until_the_agent_confirms() {
    let fake = fake().await;
    let t = MaestroTransport::connect(&settings(&fake), None).unwrap();
    t.delete(&mw_gvk(), "", "never", Propagation::Background, &target())
        .await
        .unwrap();
    assert!(
        fake.published().is_empty(),
        "deleting a missing work sends nothing"
    );
    apply(&t, &plain("w", "1")).await.unwrap();
    t.delete(&mw_gvk(), "", "w", Propagation::Foreground, &target())
        .await
        .unwrap();
    let delete = fake.published().pop().unwrap();
    assert_eq!(delete.r#type, format!("{DATA_TYPE}.spec.delete_request"));
    assert!(delete.data.is_none() && attr_string(&delete, "contenttype").is_none());
    assert!(attr_string(&delete, "ce-deletiontimestamp").is_some());
    assert_eq!(attr_int(&delete, "ce-resourceversion"), Some(1));
    let deleting = t.get(&mw_gvk(), "", "w", &target()).await.unwrap();
    assert!(
        deleting["metadata"]["deletionTimestamp"].is_string(),
        "still visible while deleting"
    );
    // Deleting again while it is deleting sends nothing more.
    t.delete(&mw_gvk(), "", "w", Propagation::Foreground, &target())
        .await
        .unwrap();
    assert_eq!(fake.published().len(), 2);
    fake.finish_deletions();
    assert!(
        t.get(&mw_gvk(), "", "w", &target())
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn manifests_inside_works_are_found_by_kind_name_and_labels() {
    let fake = fake().await;
    let t = MaestroTransport::connect(&settings(&fake), None).unwrap();
    t.apply(
        &work("w", "1", json!({"app": "demo"}), namespace_manifest("1")),
        false,
        &target(),
    )
    .await
    .unwrap();
    let ns = t
        .get(&Gvk::new("v1", "Namespace"), "", "abc123", &target())
        .await
        .unwrap();
    assert_eq!(ns["metadata"]["labels"]["app"], "demo");
    let sel = Selector {
        namespace: String::new(),
        labels: [("app".to_string(), "demo".to_string())].into(),
    };
    assert_eq!(
        t.discover(&Gvk::new("v1", "Namespace"), &sel, &target())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        t.discover(&mw_gvk(), &sel, &target()).await.unwrap().len(),
        1
    );
    assert!(
        t.get(&Gvk::new("v1", "Secret"), "", "abc123", &target())
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn status_appears_when_the_agent_reports() {
    let fake = fake().await;
    fake.set_report(Report::Later);
    fake.set_feedback("phase", json!({"type": "String", "string": "Terminating"}));
    let t = MaestroTransport::connect(&settings(&fake), None).unwrap();
    apply(&t, &plain("w", "1")).await.unwrap();
    let got = t.get(&mw_gvk(), "", "w", &target()).await.unwrap();
    assert_eq!(
        got["status"],
        json!({"resourceStatus": {}}),
        "not reported yet"
    );
    fake.report_pending();
    let got = t.get(&mw_gvk(), "", "w", &target()).await.unwrap();
    assert_eq!(got["status"]["conditions"][1]["type"], "Available");
    assert_eq!(
        got["status"]["resourceStatus"]["manifests"][0]["statusFeedback"]["values"][0]["fieldValue"]
            ["string"],
        "Terminating"
    );
    fake.set_applied(false);
    apply(&t, &plain("x", "1")).await.unwrap();
    fake.report_pending();
    let x = t.get(&mw_gvk(), "", "x", &target()).await.unwrap();
    assert_eq!(x["status"]["conditions"][0]["status"], "False", "{x}");
    assert_eq!(
        x["status"]["conditions"][0]["reason"],
        "AppliedManifestWorkFailed"
    );
}

#[tokio::test]
async fn lists_follow_pages_of_400() {
    let fake = fake().await;
    for i in 0..401 {
        let name = format!("w{i}");
        let mut w = work(&name, "1", json!({"batch": "big"}), namespace_manifest("1"));
        w["metadata"]["namespace"] = json!("cluster1");
        fake.seed(SOURCE, &resource_id(SOURCE, "cluster1", &name), &w);
    }
    let t = MaestroTransport::connect(&settings(&fake), None).unwrap();
    let all = t
        .discover(&mw_gvk(), &Selector::default(), &target())
        .await
        .unwrap();
    assert_eq!(all.len(), 401);
}

#[tokio::test]
async fn a_consumer_removed_after_the_lookup_is_still_reported_by_name() {
    let fake = fake().await;
    let t = MaestroTransport::connect(&settings(&fake), None).unwrap();
    apply(&t, &plain("w", "1")).await.unwrap();
    // The lookup is cached; Maestro's foreign-key error is recognised as the fallback.
    fake.unregister_consumer("cluster1");
    let err = apply(&t, &plain("v", "1")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "consumer \"cluster1\" is not registered in Maestro"
    );
    assert_eq!(fake.published().len(), 2, "the create was sent and refused");
}

/// What the readiness callback was told.
struct Reported {
    /// Whether the last report was up.
    up: Arc<AtomicBool>,
    /// How often it went from up to down.
    downs: Arc<AtomicUsize>,
    /// How many reports were down (a failed subscription attempt reports one).
    failures: Arc<AtomicUsize>,
}

fn readiness() -> (Readiness, Reported) {
    let up = Arc::new(AtomicBool::new(false));
    let downs = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let (u, d, f) = (up.clone(), downs.clone(), failures.clone());
    let r: Readiness = Arc::new(move |ok| {
        if !ok {
            f.fetch_add(1, Ordering::SeqCst);
        }
        if !ok && u.swap(false, Ordering::SeqCst) {
            d.fetch_add(1, Ordering::SeqCst);
        }
        if ok {
            u.store(true, Ordering::SeqCst);
        }
    });
    (
        r,
        Reported {
            up,
            downs,
            failures,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subscription_reconnects_after_a_dropped_stream_and_stalled_heartbeats() {
    let fake = fake().await;
    let (r, Reported { up, downs, .. }) = readiness();
    let _t = MaestroTransport::connect(&settings(&fake), Some(r)).unwrap();
    wait_for("the first subscription", WAIT, || up.load(Ordering::SeqCst)).await;
    assert_eq!(fake.subscriptions(), 1);

    fake.drop_streams();
    wait_for("a second subscription", WAIT, || fake.subscriptions() == 2).await;
    wait_for("readiness back", WAIT, || up.load(Ordering::SeqCst)).await;
    assert_eq!(
        downs.load(Ordering::SeqCst),
        1,
        "readiness dropped while reconnecting"
    );

    // No heartbeat within the healthiness timeout (500 ms): down, reconnect.
    fake.set_heartbeats(false);
    wait_for("a reconnect after stalled heartbeats", WAIT, || {
        fake.subscriptions() >= 3
    })
    .await;
    assert!(downs.load(Ordering::SeqCst) >= 2);
    fake.set_heartbeats(true);
    wait_for("readiness back after heartbeats resume", WAIT, || {
        up.load(Ordering::SeqCst)
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_maestro_is_not_ready_and_fails_reads_clearly() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let fake = fake().await;
    let mut s = settings(&fake);
    s.grpc_address = format!("127.0.0.1:{port}");
    s.http_address = format!("http://127.0.0.1:{port}");
    // Every readiness report, in order: the subscription fails and says so, and is never up.
    let reports = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = reports.clone();
    let r: Readiness = Arc::new(move |ok| seen.lock().unwrap().push(ok));
    let t = MaestroTransport::connect(&s, Some(r)).unwrap();
    wait_for("a failed subscription to report not ready", WAIT, || {
        reports.lock().unwrap().contains(&false)
    })
    .await;
    let err = t
        .get(&mw_gvk(), "", "w", &target())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("failed to get ManifestWork cluster1/w: GET http://127.0.0.1:"),
        "{err}"
    );
    assert!(err.contains("Connection refused"), "{err}");
    assert!(!reports.lock().unwrap().contains(&true), "never ready");
}

/// A TLS fake Maestro (REST on HTTPS too) with `pki`'s server certificate; with `client_ca`,
/// gRPC requires client certificates signed by it.
async fn tls_fake(pki: &kit::pki::TestPki, client_ca: Option<&kit::pki::TestPki>) -> FakeMaestro {
    let server = pki.server();
    let fake = FakeMaestro::start_with(
        Duration::from_millis(100),
        Some(kit::maestro::FakeTls {
            cert_pem: server.cert_pem.clone(),
            key_pem: server.key_pem.clone(),
            client_ca_pem: client_ca.map(|c| c.ca_pem()),
            rest: pki.server_config(&server, None, &[b"http/1.1"]),
        }),
    )
    .await;
    fake.register_consumer("cluster1");
    fake
}

fn tls_settings(
    fake: &FakeMaestro,
    dir: &std::path::Path,
    ca: &kit::pki::TestPki,
    identity: Option<&kit::pki::Issued>,
    token: Option<&str>,
) -> Settings {
    let ca_file = dir.join("ca.crt");
    std::fs::write(&ca_file, ca.ca_pem()).unwrap();
    let identity = identity.map(|i| i.write(dir, "client"));
    let token = token.map(|t| {
        let f = dir.join("token");
        std::fs::write(&f, format!("{t}\n")).unwrap();
        hyperfleet_adapter::adapters::transport::maestro::TokenFile(f)
    });
    Settings {
        grpc: GrpcSecurity::Tls {
            ca_file: ca_file.clone(),
            identity,
            token: token.clone(),
        },
        insecure: false,
        http_ca_file: Some(ca_file),
        token,
        publish_attempts: 1,
        ..settings(fake)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_the_ca_mutual_tls_and_bearer_tokens() {
    let pki = kit::pki::TestPki::default();
    let dir = tempfile::tempdir().unwrap();
    let w = || plain("w", "1");

    // CA only: gRPC and REST verified against it.
    let fake = tls_fake(&pki, None).await;
    assert!(fake.http_url.starts_with("https://"));
    let (r, Reported { up, .. }) = readiness();
    let t = MaestroTransport::connect(&tls_settings(&fake, dir.path(), &pki, None, None), Some(r))
        .unwrap();
    assert_eq!(
        t.apply(&w(), false, &target()).await.unwrap().operation,
        Operation::Create
    );
    wait_for("the TLS subscription", WAIT, || up.load(Ordering::SeqCst)).await;

    // A server certificate from another CA is refused (REST read before anything is sent).
    let stranger = kit::pki::TestPki::new("another CA");
    let t = MaestroTransport::connect(
        &tls_settings(&fake, dir.path(), &stranger, None, None),
        None,
    )
    .unwrap();
    let err = t
        .get(&mw_gvk(), "", "w", &target())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("certificate") || err.contains("UnknownIssuer"),
        "{err}"
    );

    // Mutual TLS: the client certificate is required.
    let clients = kit::pki::TestPki::new("client CA");
    let fake = tls_fake(&pki, Some(&clients)).await;
    let id = clients.client("hyperfleet-adapter", "hyperfleet");
    let t = MaestroTransport::connect(
        &tls_settings(&fake, dir.path(), &pki, Some(&id), None),
        None,
    )
    .unwrap();
    assert_eq!(
        t.apply(&w(), false, &target()).await.unwrap().operation,
        Operation::Create
    );
    let t = MaestroTransport::connect(&tls_settings(&fake, dir.path(), &pki, None, None), None)
        .unwrap();
    let err = apply(&t, &plain("v", "1")).await.unwrap_err().to_string();
    assert!(err.starts_with("failed to create ManifestWork cluster1/v: Failed to publish resource v: rpc error: code = "), "{err}");
    assert!(
        err.contains("transport error:"),
        "the cause is named: {err}"
    );

    // CA + token file: the bearer token goes with every call.
    let fake = tls_fake(&pki, None).await;
    fake.require_token("s3cret");
    let t = MaestroTransport::connect(
        &tls_settings(&fake, dir.path(), &pki, None, Some("s3cret")),
        None,
    )
    .unwrap();
    assert_eq!(
        t.apply(&w(), false, &target()).await.unwrap().operation,
        Operation::Create
    );
    let t = MaestroTransport::connect(
        &tls_settings(&fake, dir.path(), &pki, None, Some("wrong")),
        None,
    )
    .unwrap();
    let err = apply(&t, &plain("v", "1")).await.unwrap_err().to_string();
    assert!(
        err.ends_with("rpc error: code = Unauthenticated desc = invalid token"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_client_certificates_are_picked_up() {
    let pki = kit::pki::TestPki::default();
    let clients = kit::pki::TestPki::new("client CA");
    let fake = tls_fake(&pki, Some(&clients)).await;
    let dir = tempfile::tempdir().unwrap();
    // Start with a certificate the server does not accept (signed by the wrong CA).
    let wrong = kit::pki::TestPki::new("old client CA").client("hyperfleet-adapter", "hyperfleet");
    let s = tls_settings(&fake, dir.path(), &pki, Some(&wrong), None);
    let (r, Reported { up, failures, .. }) = readiness();
    let t = MaestroTransport::connect(&s, Some(r)).unwrap();
    assert!(apply(&t, &plain("w", "1")).await.is_err());
    // The subscription was tried with the refused certificate, reported down, and never up.
    wait_for("a refused subscription attempt", WAIT, || {
        failures.load(Ordering::SeqCst) > 0
    })
    .await;
    assert!(!up.load(Ordering::SeqCst), "up with a refused certificate");
    // The certificate files are replaced in place; within the reload interval the clients are
    // rebuilt and the subscription reopened.
    clients
        .client("hyperfleet-adapter", "hyperfleet")
        .write(dir.path(), "client");
    wait_for("the subscription with the new certificate", WAIT, || {
        up.load(Ordering::SeqCst)
    })
    .await;
    assert_eq!(
        apply(&t, &plain("w", "1")).await.unwrap().operation,
        Operation::Create
    );
}

/// Read-your-writes: a work just published is found by `get` and `discover` while Maestro's
/// REST view does not show it yet, so the discovery right after an apply cannot fail a create
/// that succeeded; once the view shows it, the view's copy is what is read.
#[tokio::test]
async fn a_work_just_published_is_read_back_while_the_rest_view_lags() {
    let fake = fake().await;
    fake.lag_rest(true);
    let t = MaestroTransport::connect(&settings(&fake), None).unwrap();
    let applied = apply(
        &t,
        &work("w", "1", json!({"app": "demo"}), namespace_manifest("1")),
    )
    .await
    .unwrap();
    assert_eq!(applied.operation, Operation::Create);
    let got = t.get(&mw_gvk(), "", "w", &target()).await.unwrap();
    assert_eq!(got["metadata"]["name"], "w");
    let sel = Selector {
        namespace: String::new(),
        labels: [("app".to_string(), "demo".to_string())].into(),
    };
    assert_eq!(
        t.discover(&mw_gvk(), &sel, &target()).await.unwrap().len(),
        1
    );
    let ns = t
        .get(&Gvk::new("v1", "Namespace"), "", "abc123", &target())
        .await
        .unwrap();
    assert_eq!(ns["metadata"]["labels"]["app"], "demo");
    // A second apply sees its own create: an update or a skip, never a second create.
    let again = apply(
        &t,
        &work("w", "1", json!({"app": "demo"}), namespace_manifest("1")),
    )
    .await
    .unwrap();
    assert_ne!(again.operation, Operation::Create);

    fake.reveal();
    let shown = t.get(&mw_gvk(), "", "w", &target()).await.unwrap();
    assert!(
        shown["metadata"]["creationTimestamp"].is_string(),
        "the REST view's copy, with what Maestro stored: {shown}"
    );
    // Deleting forgets the published copy.
    t.delete(&mw_gvk(), "", "w", Propagation::Background, &target())
        .await
        .unwrap();
}

/// Without the REST view, another process's works are not made up: a work this transport never
/// published stays not found.
#[tokio::test]
async fn only_this_process_s_own_writes_are_read_back() {
    let fake = fake().await;
    fake.lag_rest(true);
    let other = MaestroTransport::connect(&settings(&fake), None).unwrap();
    apply(&other, &plain("w", "1")).await.unwrap();
    let t = MaestroTransport::connect(&settings(&fake), None).unwrap();
    assert!(
        t.get(&mw_gvk(), "", "w", &target())
            .await
            .unwrap_err()
            .is_not_found()
    );
}
