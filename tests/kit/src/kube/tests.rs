//! The fake Kubernetes API server against its claims, over plain HTTP: discovery, 404, 409 on
//! create and on a stale `resourceVersion`, `generation`, server-side apply ownership, label
//! selectors, faults and TLS.

use super::*;
use crate::pki::TestPki;

const CMS: &str = "/api/v1/namespaces/default/configmaps";

async fn fake() -> (FakeKube, reqwest::Client) {
    let fake = FakeKube::start().await;
    fake.put(
        "test",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}),
    );
    (fake, reqwest::Client::new())
}

async fn call(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    content_type: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = c.request(method, url);
    if let Some(b) = body {
        req = req.header("content-type", content_type).body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let code = resp.status().as_u16();
    (
        code,
        serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null),
    )
}

fn cm(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
}

#[tokio::test]
async fn discovery_lists_builtin_kinds_and_registered_crds() {
    let (fake, c) = fake().await;
    let (code, v1) = call(&c, Method::GET, format!("{}/api/v1", fake.url), "", None).await;
    assert_eq!(code, 200);
    let names: Vec<&str> = v1["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        names.contains(&"configmaps") && names.contains(&"namespaces"),
        "{names:?}"
    );
    let group = |fake: &FakeKube| format!("{}/apis/example.com/v1", fake.url);
    assert_eq!(call(&c, Method::GET, group(&fake), "", None).await.0, 404);
    fake.register(ResourceType::new(
        "example.com/v1",
        "Widget",
        "widgets",
        true,
    ));
    let (code, list) = call(&c, Method::GET, group(&fake), "", None).await;
    assert_eq!(code, 200);
    assert_eq!(list["resources"][0]["kind"], "Widget");
    fake.unregister("example.com/v1", "Widget");
    assert_eq!(call(&c, Method::GET, group(&fake), "", None).await.0, 404);
}

#[tokio::test]
async fn get_of_a_missing_object_is_a_404_status() {
    let (fake, c) = fake().await;
    let (code, body) = call(&c, Method::GET, format!("{}{CMS}/nope", fake.url), "", None).await;
    assert_eq!(code, 404);
    assert_eq!(body["kind"], "Status");
    assert_eq!(body["reason"], "NotFound");
    assert_eq!(body["details"]["name"], "nope");
}

#[tokio::test]
async fn create_twice_is_a_409_already_exists() {
    let (fake, c) = fake().await;
    let url = format!("{}{CMS}", fake.url);
    let (code, created) = call(
        &c,
        Method::POST,
        url.clone(),
        "application/json",
        Some(cm("a", json!({"k": "v"}))),
    )
    .await;
    assert_eq!(code, 201);
    assert!(
        !created["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert!(!created["metadata"]["uid"].as_str().unwrap().is_empty());
    let (code, body) = call(
        &c,
        Method::POST,
        url,
        "application/json",
        Some(cm("a", json!({}))),
    )
    .await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (409, Some("AlreadyExists"))
    );
    assert_eq!(
        fake.get("v1", "ConfigMap", "default", "a").unwrap()["data"]["k"],
        "v"
    );
}

#[tokio::test]
async fn put_honours_resource_version_and_bumps_generation_on_spec_changes_only() {
    let (fake, c) = fake().await;
    let url = format!("{}{CMS}/a", fake.url);
    let post = format!("{}{CMS}", fake.url);
    let (_, v1) = call(
        &c,
        Method::POST,
        post,
        "application/json",
        Some(cm("a", json!({"k": "1"}))),
    )
    .await;
    assert_eq!(v1["metadata"]["generation"], 1);
    let mut change = v1.clone();
    change["data"]["k"] = json!("2");
    let (code, v2) = call(
        &c,
        Method::PUT,
        url.clone(),
        "application/json",
        Some(change.clone()),
    )
    .await;
    assert_eq!(code, 200);
    assert_ne!(
        v2["metadata"]["resourceVersion"],
        v1["metadata"]["resourceVersion"]
    );
    assert_eq!(
        v2["metadata"]["generation"], 2,
        "a data change bumps generation"
    );
    // The same write again carries v1's resourceVersion: stale.
    let (code, body) = call(
        &c,
        Method::PUT,
        url.clone(),
        "application/json",
        Some(change),
    )
    .await;
    assert_eq!((code, body["reason"].as_str()), (409, Some("Conflict")));
    let mut relabel = v2.clone();
    relabel["metadata"]["labels"] = json!({"x": "y"});
    let (code, v3) = call(&c, Method::PUT, url, "application/json", Some(relabel)).await;
    assert_eq!(code, 200);
    assert_eq!(
        v3["metadata"]["generation"], 2,
        "metadata changes keep generation"
    );
}

#[tokio::test]
async fn server_side_apply_tracks_managers_and_conflicts_without_force() {
    let (fake, c) = fake().await;
    let apply = |manager: &str, force: bool| {
        format!("{}{CMS}/a?fieldManager={manager}&force={force}", fake.url)
    };
    let ssa = "application/apply-patch+yaml";
    let (code, _) = call(
        &c,
        Method::PATCH,
        apply("one", false),
        ssa,
        Some(cm("a", json!({"k": "1"}))),
    )
    .await;
    assert_eq!(code, 201, "apply creates");
    let (code, body) = call(
        &c,
        Method::PATCH,
        apply("two", false),
        ssa,
        Some(cm("a", json!({"k": "2"}))),
    )
    .await;
    assert_eq!((code, body["reason"].as_str()), (409, Some("Conflict")));
    let (code, obj) = call(
        &c,
        Method::PATCH,
        apply("two", true),
        ssa,
        Some(cm("a", json!({"k": "2"}))),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(obj["data"]["k"], "2");
    let managers: Vec<&str> = obj["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"two"), "{managers:?}");
}

#[tokio::test]
async fn lists_filter_by_label_selector() {
    let (fake, _) = fake().await;
    for (name, env) in [("a", "prod"), ("b", "dev"), ("c", "prod")] {
        let mut obj = cm(name, json!({}));
        obj["metadata"]["namespace"] = json!("default");
        obj["metadata"]["labels"] = json!({"env": env});
        fake.put("test", obj);
    }
    let c = reqwest::Client::new();
    let list = |sel: &str| format!("{}{CMS}?labelSelector={sel}", fake.url);
    let names = |v: Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(call(&c, Method::GET, list("env%3Dprod"), "", None).await.1),
        ["a", "c"]
    );
    assert_eq!(
        names(
            call(&c, Method::GET, list("env%20notin%20(prod)"), "", None)
                .await
                .1
        ),
        ["b"]
    );
    let (code, _) = call(&c, Method::GET, list("env%20in%20prod"), "", None).await;
    assert_eq!(code, 400, "a malformed selector is refused");
}

#[tokio::test]
async fn injected_faults_apply_the_given_number_of_times() {
    let (fake, c) = fake().await;
    fake.inject(Fault::status(
        Some(Method::GET),
        "/configmaps/a",
        1,
        503,
        "ServiceUnavailable",
    ));
    let url = format!("{}{CMS}/a", fake.url);
    let (code, body) = call(&c, Method::GET, url.clone(), "", None).await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (503, Some("ServiceUnavailable"))
    );
    assert_eq!(
        call(&c, Method::GET, url, "", None).await.0,
        404,
        "then the real answer"
    );
    assert_eq!(fake.count("GET", "/configmaps/a"), 2);
}

#[tokio::test]
async fn a_required_token_is_checked_and_tls_is_served() {
    let pki = TestPki::default();
    let fake = FakeKube::start_tls(pki.server_config(&pki.server(), None, &[b"http/1.1"])).await;
    fake.require_token("s3cret");
    assert!(fake.url.starts_with("https://"));
    let ca = reqwest::Certificate::from_pem(pki.ca_pem().as_bytes()).unwrap();
    let c = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    let version = format!("{}/version", fake.url);
    assert_eq!(c.get(&version).send().await.unwrap().status().as_u16(), 401);
    let ok = c.get(&version).bearer_auth("s3cret").send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = std::fs::read_to_string(fake.kubeconfig_with_ca(
        dir.path(),
        Some("s3cret"),
        Some(&pki.ca_pem()),
    ))
    .unwrap();
    assert!(
        kubeconfig.contains(&format!("server: {}", fake.url))
            && kubeconfig.contains("token: s3cret")
    );
}

/// An apply's `resourceVersion` and `uid` are preconditions on an existing object (409, 422 on
/// `metadata.uid`); on a create a `uid` is a 409 and a `resourceVersion` ignored; neither is
/// stored as the applier's field; every stored write is recorded once recording is on.
#[tokio::test]
async fn apply_preconditions_and_the_write_log() {
    let (fake, c) = fake().await;
    fake.record_writes();
    let url = format!("{}{CMS}/a?fieldManager=m&force=true", fake.url);
    let apply = |body: Value| {
        call(
            &c,
            Method::PATCH,
            url.clone(),
            "application/apply-patch+yaml",
            Some(body),
        )
    };
    let mut with_uid = cm("a", json!({"k": "1"}));
    with_uid["metadata"]["uid"] = json!("mine");
    let (code, body) = apply(with_uid).await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (409, Some("Conflict")),
        "a uid on a create: {body}"
    );
    let mut first = cm("a", json!({"k": "1"}));
    first["metadata"]["resourceVersion"] = json!("12345");
    let (code, v1) = apply(first).await;
    assert_eq!(code, 201, "a resourceVersion is ignored on a create: {v1}");
    assert!(
        !v1["metadata"]["managedFields"]
            .to_string()
            .contains("f:resourceVersion")
    );
    let mut stale = cm("a", json!({"k": "2"}));
    stale["metadata"]["resourceVersion"] = json!("12345");
    let (code, body) = apply(stale).await;
    assert_eq!((code, body["reason"].as_str()), (409, Some("Conflict")));
    let mut other = cm("a", json!({"k": "2"}));
    other["metadata"]["uid"] = json!("not-its-uid");
    let (code, body) = apply(other).await;
    assert_eq!((code, body["reason"].as_str()), (422, Some("Invalid")));
    assert_eq!(body["details"]["causes"][0]["field"], "metadata.uid");
    let mut current = cm("a", json!({"k": "2"}));
    current["metadata"]["resourceVersion"] = v1["metadata"]["resourceVersion"].clone();
    current["metadata"]["uid"] = v1["metadata"]["uid"].clone();
    let (code, v2) = apply(current).await;
    assert_eq!(code, 200, "{v2}");
    assert_eq!(v2["data"]["k"], "2");
    let writes = fake.writes();
    assert_eq!(
        writes.len(),
        2,
        "the create and the update, not the refused ones"
    );
    assert_eq!(writes[0]["data"]["k"], "1");
    assert_eq!(writes[1]["data"]["k"], "2");
}

/// A JSON patch: `test` guards it, `replace` changes a field; one that renames a managedFields
/// entry keeps its fields under the new name. A delete with preconditions deletes only the
/// object they name.
#[tokio::test]
async fn json_patch_managed_fields_and_delete_preconditions() {
    let (fake, c) = fake().await;
    let (code, created) = call(
        &c,
        Method::POST,
        format!("{}{CMS}?fieldManager=m", fake.url),
        "application/json",
        Some(cm("a", json!({"k": "1"}))),
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(
        created["metadata"]["managedFields"][0]["operation"],
        "Update"
    );
    let url = format!("{}{CMS}/a?fieldManager=m", fake.url);
    let patch = |ops: Value| {
        call(
            &c,
            Method::PATCH,
            url.clone(),
            "application/json-patch+json",
            Some(ops),
        )
    };
    let rv = created["metadata"]["resourceVersion"].clone();
    let (code, _) = patch(
        json!([{"op": "test", "path": "/metadata/resourceVersion", "value": "0"},
        {"op": "replace", "path": "/data/k", "value": "2"}]),
    )
    .await;
    assert_eq!(code, 422, "a failed test refuses the patch");
    let (code, renamed) = patch(
        json!([{"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "replace", "path": "/metadata/managedFields/0/operation", "value": "Apply"}]),
    )
    .await;
    assert_eq!(code, 200, "{renamed}");
    assert_eq!(renamed["metadata"]["managedFields"][0]["manager"], "m");
    assert_eq!(
        renamed["metadata"]["managedFields"][0]["operation"],
        "Apply"
    );
    assert_eq!(
        renamed["metadata"]["managedFields"][0]["fieldsV1"],
        created["metadata"]["managedFields"][0]["fieldsV1"]
    );
    // Applying without `k` now removes it: the Apply entry owned it.
    let (code, applied) = call(
        &c,
        Method::PATCH,
        format!("{}{CMS}/a?fieldManager=m&force=true", fake.url),
        "application/apply-patch+yaml",
        Some(cm("a", json!({"other": "x"}))),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(applied["data"], json!({"other": "x"}));
    let delete = |pre: Value| {
        call(
            &c,
            Method::DELETE,
            format!("{}{CMS}/a", fake.url),
            "application/json",
            Some(json!({"preconditions": pre})),
        )
    };
    let (code, body) = delete(json!({"uid": "someone-else"})).await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (409, Some("Conflict")),
        "{body}"
    );
    let (code, body) = delete(json!({"resourceVersion": rv})).await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (409, Some("Conflict")),
        "an old resourceVersion: {body}"
    );
    let (code, _) = delete(json!({"uid": applied["metadata"]["uid"], "resourceVersion": applied["metadata"]["resourceVersion"]})).await;
    assert_eq!(code, 200);
    assert!(fake.get("v1", "ConfigMap", "default", "a").is_none());
}
