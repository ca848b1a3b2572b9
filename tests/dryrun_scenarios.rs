//! Every dry-run scenario of `../shared/conformance/README.md`, in text and JSON output, with
//! assertions on what the adapter did: operations per resource, phase results, the status
//! payload sent to the API (parsed and checked field by field) and the final result.
//!
//! Expected values follow the rules of the behaviour spec. Where this adapter deliberately
//! differs from the Go adapter, the assertion says so (see docs/compatibility.md).

use kit::cli::{adapter, conformance, stderr, stdout};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const U: &str = "upstream/test/testdata/dryrun";

struct Scenario {
    adapter: &'static str,
    task: String,
    responses: Option<String>,
    discovery: Option<String>,
    extra: &'static [&'static str],
}

fn k8s(
    task: &str,
    responses: Option<&str>,
    discovery: Option<&str>,
    extra: &'static [&'static str],
) -> Scenario {
    Scenario {
        adapter: "dryrun-kubernetes-adapter-config.yaml",
        task: task.into(),
        responses: responses.map(str::to_string),
        discovery: discovery.map(str::to_string),
        extra,
    }
}

fn mw(task: &str, responses: &str, discovery: &str) -> Scenario {
    Scenario {
        adapter: "dryrun-maestro-adapter-config.yaml",
        task: task.into(),
        responses: Some(responses.into()),
        discovery: Some(discovery.into()),
        extra: &["--dry-run-verbose"],
    }
}

fn path(c: &Path, rel: &str) -> String {
    let p: PathBuf = if rel.starts_with("upstream/") || rel.starts_with("derived/") {
        c.join(rel)
    } else {
        c.join(U).join(rel)
    };
    p.display().to_string()
}

fn run(c: &Path, s: &Scenario, output: &str) -> std::process::Output {
    let mut args = vec![
        "serve".to_string(),
        "-c".into(),
        path(c, s.adapter),
        "-t".into(),
        path(c, &s.task),
        "--dry-run-event".into(),
        path(c, "event.json"),
        "--dry-run-output".into(),
        output.into(),
    ];
    if let Some(r) = &s.responses {
        args.extend(["--dry-run-api-responses".into(), path(c, r)]);
    }
    if let Some(d) = &s.discovery {
        args.extend(["--dry-run-discovery".into(), path(c, d)]);
    }
    args.extend(s.extra.iter().map(|a| a.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    adapter(
        &refs,
        &[
            ("ADAPTER_NAME", "dry-run-adapter"),
            ("SOME_API_TOKEN", "do-not-print"),
        ],
    )
}

/// Runs a scenario in both formats; returns (JSON trace, text trace).
fn both(c: &Path, s: &Scenario) -> (Value, String) {
    let j = run(c, s, "json");
    assert_eq!(j.status.code(), Some(0), "json run: {}", stderr(&j));
    let trace: Value = serde_json::from_slice(&j.stdout)
        .unwrap_or_else(|e| panic!("JSON trace: {e}\n{}", stdout(&j)));
    let t = run(c, s, "text");
    assert_eq!(t.status.code(), Some(0), "text run: {}", stderr(&t));
    let text = stdout(&t);
    assert!(text.starts_with("Dry-Run Execution Trace\n========================\nEvent: id=abc123 type=io.hyperfleet.cluster.updated\n"), "{text}");
    for heading in [
        "Phase 1: Parameter Extraction",
        "Phase 2: Preconditions",
        "Phase 3: Resources",
        "Phase 4: Post Actions",
        "Result: ",
    ] {
        assert!(
            text.contains(heading),
            "text trace misses {heading:?}:\n{text}"
        );
    }
    assert!(
        !text.contains("do-not-print") && !j.stdout.windows(12).any(|w| w == b"do-not-print"),
        "env values leaked"
    );
    assert_eq!(
        trace["event"],
        json!({"id": "abc123", "type": "io.hyperfleet.cluster.updated"})
    );
    (trace, text)
}

fn resource<'a>(trace: &'a Value, name: &str) -> &'a Value {
    trace["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|x| x["name"] == name))
        .unwrap_or_else(|| panic!("resource {name} in {trace}"))
}

/// The status payload as built (JSON trace `payloads`).
fn payload<'a>(trace: &'a Value, name: &str) -> &'a Value {
    &trace["payloads"][name]
}

fn condition<'a>(p: &'a Value, kind: &str) -> &'a Value {
    p["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|x| x["type"] == kind))
        .unwrap_or_else(|| panic!("condition {kind} in {p}"))
}

fn api<'a>(trace: &'a Value, method: &str) -> Vec<&'a Value> {
    trace["apiRequests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["method"] == method)
        .collect()
}

fn ops(trace: &Value, operation: &str) -> Vec<(String, String)> {
    trace["transportOperations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["operation"] == operation)
        .map(|o| {
            (
                o["name"].as_str().unwrap_or_default().to_string(),
                o["result"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn kubernetes() {
    let Some(c) = conformance() else { return };
    let s = k8s(
        "kubernetes/dryrun-kubernetes-task-config.yaml",
        Some("dryrun-api-responses.json"),
        Some("kubernetes/dryrun-kubernetes-discovery.json"),
        &["--debug-config=true", "--dry-run-verbose"],
    );
    let (t, text) = both(&c, &s);
    assert_eq!(t["status"], "success");
    assert!(t.get("errors").is_none());
    let p = &t["params"];
    assert_eq!(
        (&p["clusterId"], &p["generation"], &p["clusterName"]),
        (&json!("abc123"), &json!(5), &json!("abc123"))
    );
    assert_eq!(
        (&p["clusterStatus"], &p["computeNodes"], &p["region"]),
        (&json!("False"), &json!(3), &json!("us-east-1"))
    );
    assert_eq!(p["adapterName"], "dry-run-adapter", "env.ADAPTER_NAME");
    assert!(
        p.get("clusterStatus2").is_none(),
        "an optional param whose CEL fails stays unset"
    );
    assert_eq!(
        p["env"],
        json!({"ADAPTER_NAME": "dry-run-adapter"}),
        "only referenced env vars are shown"
    );
    assert_eq!(
        t["preconditions"],
        json!([{"name": "fetchCluster", "status": "success", "matched": true}])
    );
    // The discovery overrides already hold both objects at generation 5, the event's generation:
    // the generation rule skips them (the Go dry run reported `update` regardless).
    for (name, kind, ns, obj) in [
        ("namespace0", "Namespace", None, "abc123"),
        ("configmap0", "ConfigMap", Some("abc123"), "abc123-config"),
    ] {
        let r = resource(&t, name);
        assert_eq!(
            (
                &r["kind"],
                &r["resourceName"],
                &r["operation"],
                &r["status"]
            ),
            (&json!(kind), &json!(obj), &json!("skip"), &json!("success"))
        );
        assert_eq!(r["reason"], "generation 5 unchanged");
        assert_eq!(r.get("namespace").and_then(Value::as_str), ns);
    }
    assert_eq!(
        t["discoveredResources"]["namespace0"]["status"]["phase"],
        "Active"
    );
    assert_eq!(
        t["discoveredResources"]["configmap0"]["data"]["cluster_name"],
        "abc123"
    );
    let body = payload(&t, "statusPayload");
    assert_eq!(body["adapter"], "dryrun-kubernetes");
    assert_eq!(body["observed_generation"], 5);
    assert_eq!(condition(body, "Applied")["status"], "True");
    assert_eq!(
        condition(body, "Applied")["message"],
        "Namespace abc123 and ConfigMap abc123-config applied"
    );
    assert_eq!(
        (
            &condition(body, "Available")["status"],
            &condition(body, "Available")["reason"]
        ),
        (&json!("True"), &json!("Active"))
    );
    assert_eq!(
        (
            &condition(body, "Health")["status"],
            &condition(body, "Health")["reason"]
        ),
        (&json!("True"), &json!("Healthy"))
    );
    assert_eq!(condition(body, "Finalized")["status"], "False");
    let puts = api(&t, "PUT");
    assert_eq!(puts.len(), 1);
    assert_eq!(
        (&puts[0]["url"], &puts[0]["statusCode"]),
        (
            &json!("/api/hyperfleet/v1/clusters/abc123/statuses"),
            &json!(200)
        )
    );
    let sent: Value = serde_json::from_str(puts[0]["requestBody"].as_str().unwrap()).unwrap();
    assert_eq!(&sent, body, "the PUT body is the built payload");
    assert_eq!(
        api(&t, "GET")[0]["url"],
        "/api/hyperfleet/v1/clusters/abc123"
    );
    assert_eq!(
        ops(&t, "apply"),
        [
            ("abc123".into(), "skip".into()),
            ("abc123-config".into(), "skip".into())
        ]
    );
    assert_eq!(
        t["postActions"],
        json!([{"name": "updateStatus", "status": "success"}])
    );
    assert!(
        text.contains("Phase 2: Preconditions ..................... SUCCESS (MET)"),
        "{text}"
    );
    assert!(text.contains("  [1/2] namespace0                     SKIP\n    Kind: Namespace    Namespace:              Name: abc123\n"), "{text}");
    assert!(
        text.contains("Rendered manifest:"),
        "verbose shows rendered manifests"
    );
    assert!(text.contains("Phase 3.5: Discovery Results"));
    assert!(text.contains("  [1/1] updateStatus                   EXECUTED\n    API Call: PUT /api/hyperfleet/v1/clusters/abc123/statuses -> 200"), "{text}");
    assert!(text.ends_with("Result: SUCCESS\n"));
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn kubernetes_delete() {
    let Some(c) = conformance() else { return };
    let s = k8s(
        "kubernetes-delete/dryrun-kubernetes-delete-task-config.yaml",
        Some("dryrun-delete-api-responses.json"),
        Some("kubernetes-delete/dryrun-kubernetes-delete-discovery.json"),
        &["--dry-run-verbose"],
    );
    let (t, text) = both(&c, &s);
    assert_eq!(t["status"], "success");
    assert_eq!(t["params"]["is_deleting"], true);
    let cm = resource(&t, "configmap0");
    assert_eq!(
        (&cm["operation"], &cm["reason"]),
        (
            &json!("delete"),
            &json!("lifecycle.delete.when evaluated to true")
        )
    );
    assert_eq!(
        cm["discoveredState"]["metadata"]["uid"], "b2c3d4e5-f6a7-8901-bcde-f12345678901",
        "pre-delete state"
    );
    // configmap0 is gone after its delete, so namespace0's `!resources.?configmap0.hasValue()`
    // holds in the same run and the namespace is deleted too (Foreground).
    let ns = resource(&t, "namespace0");
    assert_eq!(
        (&ns["operation"], &ns["resourceName"]),
        (&json!("delete"), &json!("abc123"))
    );
    assert!(
        t.get("discoveredResources").is_none(),
        "both resources are gone"
    );
    let deletes: Vec<Value> = t["transportOperations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["operation"] == "delete")
        .cloned()
        .collect();
    assert_eq!(deletes.len(), 2);
    let body = payload(&t, "statusPayload");
    assert_eq!(body["adapter"], "dryrun-kubernetes-delete");
    assert_eq!(
        (
            &condition(body, "Finalized")["status"],
            &condition(body, "Finalized")["reason"]
        ),
        (&json!("True"), &json!("CleanupConfirmed"))
    );
    assert_eq!(
        body["data"]["deletion"],
        json!({"configmapDeleted": true, "namespaceDeleted": true})
    );
    assert_eq!(api(&t, "PUT").len(), 1);
    assert!(
        text.contains("  [1/2] configmap0                     DELETE\n"),
        "{text}"
    );
    assert!(text.contains("    Pre-delete state:\n"), "{text}");
    assert!(
        text.contains("Phase 3.5: Discovery Results"),
        "resource keys existed (as nil)"
    );
    assert!(text.ends_with("Result: SUCCESS\n"));
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn maestro() {
    let Some(c) = conformance() else { return };
    let s = mw(
        "maestro/dryrun-maestro-adapter-task-config.yaml",
        "dryrun-api-responses.json",
        "maestro/dryrun-maestro-discovery.json",
    );
    let (t, text) = both(&c, &s);
    assert_eq!(t["status"], "success");
    let work = resource(&t, "resource0");
    assert_eq!(
        (&work["kind"], &work["resourceName"], &work["operation"]),
        (
            &json!("ManifestWork"),
            &json!("manifestwork-symbol000"),
            &json!("skip")
        )
    );
    let discovered = t["discoveredResources"].as_object().unwrap();
    assert!(discovered.contains_key("resource0"));
    // Nested discoveries come from the work's manifests, enriched with its status feedback,
    // and the parent work is not modified by the enrichment.
    for nested in ["namespace0", "configmap0"] {
        assert!(discovered.contains_key(nested), "{nested}");
    }
    let manifests = discovered["resource0"]["spec"]["workload"]["manifests"]
        .as_array()
        .unwrap();
    assert!(
        manifests
            .iter()
            .all(|m| m.get("statusFeedback").is_none() && m.get("conditions").is_none()),
        "no aliasing into the parent"
    );
    assert!(
        discovered["namespace0"].get("statusFeedback").is_some(),
        "{}",
        discovered["namespace0"]
    );
    let body = payload(&t, "statusPayload");
    assert_eq!(body["adapter"], "dryrun-maestro");
    assert_eq!(
        (
            &condition(body, "Applied")["status"],
            &condition(body, "Applied")["reason"]
        ),
        (&json!("True"), &json!("AppliedManifestWorkComplete"))
    );
    assert_eq!(
        (
            &condition(body, "Available")["status"],
            &condition(body, "Available")["reason"]
        ),
        (&json!("True"), &json!("ResourcesAvailable"))
    );
    assert_eq!(condition(body, "Health")["status"], "True");
    assert_eq!(body["data"]["configmap"]["clusterId"], "abc123");
    assert_eq!(
        api(&t, "PUT")[0]["url"],
        "/api/hyperfleet/v1/clusters/abc123/statuses"
    );
    assert!(
        text.contains("  [1/1] resource0                      SKIP\n    Kind: ManifestWork"),
        "{text}"
    );
    assert!(text.ends_with("Result: SUCCESS\n"));
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn maestro_delete() {
    let Some(c) = conformance() else { return };
    let s = mw(
        "maestro-delete/dryrun-maestro-delete-task-config.yaml",
        "dryrun-delete-api-responses.json",
        "maestro-delete/dryrun-maestro-delete-discovery.json",
    );
    let (t, text) = both(&c, &s);
    assert_eq!(t["status"], "success");
    let work = resource(&t, "clusterManifestWork");
    assert_eq!(
        (
            &work["operation"],
            &work["namespace"],
            &work["resourceName"]
        ),
        (
            &json!("delete"),
            &json!("cluster1"),
            &json!("abc123-manifestwork")
        )
    );
    // Maestro deletes asynchronously: the work is still there, marked as deleting.
    let still = &t["discoveredResources"]["clusterManifestWork"];
    assert!(
        still["metadata"]["deletionTimestamp"].is_string(),
        "{still}"
    );
    let body = payload(&t, "statusPayload");
    assert_eq!(
        (
            &condition(body, "Finalized")["status"],
            &condition(body, "Finalized")["reason"]
        ),
        (&json!("False"), &json!("CleanupInProgress"))
    );
    assert_eq!(
        body["data"]["deletion"],
        json!({"manifestWorkDeleted": false, "manifestWorkName": "abc123-manifestwork"})
    );
    assert!(
        text.contains("  [1/1] clusterManifestWork            DELETE\n"),
        "{text}"
    );
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn cel_showcase() {
    let Some(c) = conformance() else { return };
    let s = k8s(
        "cel-showcase/dryrun-cel-showcase-task-config.yaml",
        Some("cel-showcase/dryrun-cel-showcase-api-responses.json"),
        Some("cel-showcase/dryrun-cel-showcase-discovery.json"),
        &["--dry-run-verbose"],
    );
    let (t, _text) = both(&c, &s);
    assert_eq!(t["status"], "success");
    let p = &t["params"];
    assert_eq!(p["clusterStatus"], "False");
    assert_eq!(p["isProduction"], true);
    assert_eq!(p["nodePoolCount"], 2);
    assert_eq!(p["resourcePrefix"], "aws-us-east-1-abc123");
    assert_eq!(p["computeNodesStr"], "compute=3");
    assert_eq!(p["isSupportedProvider"], true);
    assert_eq!(p["nodePoolNames"], json!(["worker-pool", "infra-pool"]));
    assert_eq!(p["firstNodePoolName"], json!(["worker-pool"]));
    assert_eq!(
        p["nodePoolsByReplicas"],
        json!(["infra-pool", "worker-pool"]),
        "sortBy replicas ascending"
    );
    assert_eq!(p["sortedTags"], json!(["production", "tier-1", "us-east"]));
    for name in ["namespace0", "configmap0", "configmap1"] {
        assert_eq!(resource(&t, name)["operation"], "skip", "{name}");
    }
    let body = payload(&t, "statusPayload");
    assert_eq!(body["adapter"], "cel-showcase");
    assert_eq!(
        condition(body, "Applied")["message"],
        "All resources applied: abc123, abc123-config, abc123-extra"
    );
    assert_eq!(
        (
            &condition(body, "Available")["status"],
            &condition(body, "Available")["reason"]
        ),
        (&json!("True"), &json!("Active"))
    );
    assert_eq!(condition(body, "Health")["reason"], "Healthy");
    assert_eq!(body["observed_generation"], 5);
    assert_eq!(body["data"]["namespace"]["name"], "abc123");
    assert_eq!(body["data"]["configmap"]["cluster_id"], "abc123", "dig()");
    assert_eq!(body["data"]["extra"]["max_replicas"], "10");
    assert_eq!(
        body["data"]["lists"]["sorted_tags"], "[\"production\",\"tier-1\",\"us-east\"]",
        "toJson()"
    );
    assert_eq!(api(&t, "PUT").len(), 1);
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn api_404() {
    let Some(c) = conformance() else { return };
    let s = k8s(
        "kubernetes/dryrun-kubernetes-task-config.yaml",
        Some("dryrun-404-api-responses.json"),
        Some("kubernetes/dryrun-kubernetes-discovery.json"),
        &[],
    );
    let (t, text) = both(&c, &s);
    // fetchCluster is an optional param: its 404 leaves it unset, so clusterName is unset too
    // and configmap0's manifest (which uses it) cannot render: the resources phase fails.
    assert!(t["params"].get("fetchCluster").is_none() && t["params"].get("clusterName").is_none());
    assert_eq!(
        t["preconditions"][0]["matched"], true,
        "clusterStatus is unset: nil notEquals \"True\""
    );
    assert_eq!(resource(&t, "namespace0")["operation"], "skip");
    let cm = resource(&t, "configmap0");
    assert_eq!(cm["status"], "failed");
    assert!(
        cm["error"]
            .as_str()
            .unwrap()
            .contains("failed to render manifest")
            && cm["error"].as_str().unwrap().contains("clusterName")
    );
    // The status PUT then 404s with a resource-not-found code: the post-action is skipped,
    // the event stays failed (the resources phase failed) and is marked ResourceNotFound.
    assert_eq!(t["status"], "failed");
    assert_eq!(t["skipReason"], "ResourceNotFound");
    assert_eq!(
        t["postActions"],
        json!([{"name": "updateStatus", "status": "skipped", "skipped": true, "reason": "ResourceNotFound"}])
    );
    assert!(t["errors"]["resources"].as_str().unwrap().starts_with(
        "resource execution failed: [resources] configmap0: failed to render manifest"
    ));
    assert!(t["errors"].get("post_actions").is_none());
    assert_eq!(api(&t, "GET")[0]["statusCode"], 404);
    // Unlike the Go trace, resources that ran are listed even though the event ends skipped.
    assert!(
        text.contains("Phase 3: Resources ........................ FAILED"),
        "{text}"
    );
    assert!(
        text.contains("Phase 4: Post Actions ..................... SUCCESS (RESOURCE NOT FOUND)"),
        "{text}"
    );
    assert!(text.ends_with("Result: FAILED\n"));
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn post_action_404() {
    let Some(c) = conformance() else { return };
    let s = k8s(
        "kubernetes/dryrun-kubernetes-task-config.yaml",
        Some("dryrun-post-action-404-api-responses.json"),
        Some("kubernetes/dryrun-kubernetes-discovery.json"),
        &[],
    );
    let (t, text) = both(&c, &s);
    assert_eq!(t["status"], "success");
    assert_eq!(
        (&t["resourcesSkipped"], &t["skipReason"]),
        (&json!(true), &json!("ResourceNotFound"))
    );
    assert_eq!(resource(&t, "namespace0")["status"], "success");
    assert_eq!(resource(&t, "configmap0")["status"], "success");
    assert_eq!(t["postActions"][0]["status"], "skipped");
    assert_eq!(api(&t, "PUT")[0]["statusCode"], 404);
    assert!(t.get("errors").is_none());
    assert!(
        text.contains("Phase 3: Resources ........................ SUCCESS"),
        "{text}"
    );
    assert!(
        text.contains(
            "  [1/1] updateStatus                   SKIPPED\n    Reason: ResourceNotFound"
        ),
        "{text}"
    );
    assert!(text.ends_with("Result: SUCCESS\n"));
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn invalid_task_config() {
    let Some(c) = conformance() else { return };
    let s = k8s(
        "kubernetes/dryrun-kubernetes-adatepr-task-config-invalid.yaml",
        None,
        None,
        &[],
    );
    for output in ["text", "json"] {
        let out = run(&c, &s, output);
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(
            err.contains(
                "Error: failed to load adapter configuration: task config validation failed"
            ),
            "{err}"
        );
        assert!(err.contains("preconditions[0].name \"bad-cel\""), "{err}");
        assert!(
            stdout(&out).is_empty(),
            "no trace for a config that does not load"
        );
    }
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn chart_kubernetes() {
    let Some(c) = conformance() else { return };
    let s = k8s(
        "derived/charts-kubernetes/adapter-task-config.yaml",
        Some("dryrun-api-responses.json"),
        Some("upstream/charts/examples/kubernetes/dryrun-discovery.json"),
        &["--dry-run-verbose"],
    );
    let (t, text) = both(&c, &s);
    // The chart's api_call URL is relative (`/clusters/{{ .clusterId }}`): it is built to
    // /api/hyperfleet/v1/clusters/abc123 even though the dry-run config has no base_url (the Go
    // adapter left it unprefixed, so the mock did not match and the example failed).
    assert_eq!(
        api(&t, "GET")[0]["url"],
        "/api/hyperfleet/v1/clusters/abc123"
    );
    assert_eq!(t["status"], "success");
    assert_eq!(t["params"]["generation"], "77");
    let ns = resource(&t, "namespace");
    assert_eq!(
        (&ns["resourceName"], &ns["operation"]),
        (&json!("abc123-k8s"), &json!("skip"))
    );
    let job = resource(&t, "helloWorldJob");
    assert_eq!(
        (&job["kind"], &job["namespace"], &job["resourceName"]),
        (
            &json!("Job"),
            &json!("abc123-k8s"),
            &json!("hello-world-job")
        )
    );
    let body = payload(&t, "clusterStatusPayload");
    assert_eq!(condition(body, "Applied")["reason"], "JobApplied");
    assert_eq!(body["observed_generation"], "77");
    assert_eq!(
        t["postActions"][1]["reason"],
        "referenced payload 'skippedStatusPayload' was skipped"
    );
    assert!(
        text.contains("reportClusterStatusSkipped     SKIPPED"),
        "{text}"
    );
}

fn chart_maestro(task: &str, discovery: &str, resource_name: &str) {
    let Some(c) = conformance() else { return };
    let s = mw(task, "dryrun-api-responses.json", discovery);
    let (t, text) = both(&c, &s);
    // The chart's `timestamp` param reads clusterStatus.created_time, which the shared API
    // responses do not have: the optional param stays unset and the manifest that uses it
    // cannot render (as in the Go adapter, §18.14). The status is still reported.
    assert_eq!(t["status"], "failed");
    assert!(t["params"].get("timestamp").is_none());
    let r = resource(&t, resource_name);
    assert_eq!(r["status"], "failed");
    assert!(
        r["error"].as_str().unwrap().contains("timestamp"),
        "{}",
        r["error"]
    );
    assert_eq!(t["postActions"][0]["status"], "success");
    let puts = api(&t, "PUT");
    assert_eq!(puts.len(), 1);
    let sent: Value = serde_json::from_str(puts[0]["requestBody"].as_str().unwrap()).unwrap();
    assert_eq!(
        condition(&sent, "Health")["status"],
        "False",
        "the failure is reported in the status"
    );
    assert!(text.ends_with("Result: FAILED\n"));
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn chart_maestro_single() {
    chart_maestro(
        "derived/charts-maestro/adapter-task-config.yaml",
        "upstream/charts/examples/maestro/dryrun-discovery.json",
        "agentNamespaceManifestWork",
    );
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn chart_maestro_two_resources() {
    chart_maestro(
        "derived/charts-maestro-two-resources/adapter-task-config.yaml",
        "upstream/charts/examples/maestro-two-resources/dryrun-discovery.json",
        "configMapManifestWork",
    );
}

/// The dry run decides by the same generation rule as serve: the namespace already at
/// generation 9 (another replica applied a newer event) is not taken back to the event's 5.
#[test]
fn kubernetes_stale_event_is_not_applied() {
    let Some(c) = conformance() else { return };
    let original =
        std::fs::read_to_string(path(&c, "kubernetes/dryrun-kubernetes-discovery.json")).unwrap();
    let mut discovery: Value = serde_json::from_str(&original).unwrap();
    discovery["abc123"]["metadata"]["annotations"]["hyperfleet.io/generation"] = json!("9");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("discovery.json");
    std::fs::write(&file, discovery.to_string()).unwrap();
    let s = k8s(
        "kubernetes/dryrun-kubernetes-task-config.yaml",
        Some("dryrun-api-responses.json"),
        Some(file.to_str().unwrap()),
        &[],
    );
    let out = run(&c, &s, "json");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let t: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(t["status"], "success");
    let ns = resource(&t, "namespace0");
    assert_eq!(
        (&ns["operation"], &ns["reason"]),
        (
            &json!("skip"),
            &json!("generation 5 is older than the object's 9 (stale event), not applied")
        )
    );
    assert_eq!(
        resource(&t, "configmap0")["reason"],
        "generation 5 unchanged"
    );
    assert_eq!(
        t["discoveredResources"]["namespace0"]["metadata"]["annotations"]["hyperfleet.io/generation"],
        "9",
        "the object stays at its generation"
    );
}
