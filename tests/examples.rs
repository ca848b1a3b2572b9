//! The project's own examples (the README's first command): each dry run completes and does
//! what its task config says.

use kit::cli::{adapter, stderr, stdout};
use serde_json::{Value, json};

fn example(adapter_cfg: &str, dir: &str, responses: &str, output: &str) -> std::process::Output {
    let root = env!("CARGO_MANIFEST_DIR");
    let p = |rel: &str| format!("{root}/examples/{rel}");
    let args = [
        "serve".to_string(),
        "-c".into(),
        p(adapter_cfg),
        "-t".into(),
        p(&format!("{dir}/task-config.yaml")),
        "--dry-run-event".into(),
        p("event.json"),
        "--dry-run-api-responses".into(),
        p(responses),
        "--dry-run-discovery".into(),
        p(&format!("{dir}/discovery.json")),
        "--dry-run-output".into(),
        output.into(),
    ];
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    adapter(&refs, &[])
}

fn trace(adapter_cfg: &str, dir: &str, responses: &str) -> Value {
    let text = example(adapter_cfg, dir, responses, "text");
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    assert!(
        stdout(&text).ends_with("Result: SUCCESS\n"),
        "{}",
        stdout(&text)
    );
    let out = example(adapter_cfg, dir, responses, "json");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sent_payload(t: &Value) -> Value {
    t["payloads"]["statusPayload"].clone()
}

#[test]
fn kubernetes_example() {
    let t = trace("adapter-config.yaml", "kubernetes", "api-responses.json");
    assert_eq!(t["status"], "success");
    let ops: Vec<(&str, &str)> = t["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap(),
                r["operation"].as_str().unwrap(),
            )
        })
        .collect();
    // The namespace exists at generation 2 and the event carries 3: update. The job is new.
    assert_eq!(
        ops,
        [("clusterNamespace", "update"), ("bootstrapJob", "create")]
    );
    assert_eq!(
        t["discoveredResources"]["clusterNamespace"]["status"]["phase"], "Active",
        "status survives the update"
    );
    let job = &t["discoveredResources"]["bootstrapJob"];
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["args"],
        json!(["--cluster", "prod-eu-1", "--provider", "aws"])
    );
    let p = sent_payload(&t);
    assert_eq!(p["observed_generation"], 3);
    assert_eq!(
        p["conditions"][0],
        json!({"type": "Applied", "status": "True", "reason": "ResourcesApplied", "message": "namespace and bootstrap job applied"})
    );
    assert_eq!(p["conditions"][1]["status"], "True");
    assert_eq!(
        t["apiRequests"][1]["url"],
        "/api/hyperfleet/v1/clusters/cls-001/statuses"
    );
}

#[test]
fn maestro_example() {
    let t = trace(
        "maestro-adapter-config.yaml",
        "maestro",
        "api-responses.json",
    );
    assert_eq!(t["status"], "success");
    assert_eq!(t["resources"][0]["operation"], "skip");
    let d = &t["discoveredResources"];
    assert_eq!(
        d["agentNamespace"]["statusFeedback"]["values"][0]["fieldValue"]["string"],
        "Active"
    );
    assert_eq!(d["agentConfig"]["data"]["clusterId"], "cls-001");
    let p = sent_payload(&t);
    assert_eq!(p["consumer"], "consumer-eu-west-1");
    assert_eq!(p["conditions"][0]["status"], "True");
    assert_eq!(
        (&p["conditions"][1]["status"], &p["conditions"][1]["reason"]),
        (&json!("True"), &json!("Active"))
    );
}

#[test]
fn delete_example() {
    let t = trace("adapter-config.yaml", "delete", "delete/api-responses.json");
    assert_eq!(t["status"], "success");
    let ops: Vec<&str> = t["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["delete", "delete"]);
    assert!(t.get("discoveredResources").is_none());
    assert_eq!(
        sent_payload(&t)["conditions"][0],
        json!({"type": "Finalized", "status": "True", "reason": "CleanupConfirmed"})
    );
}
