//! The real `adapter` process end to end over the real RabbitMQ: `adapter serve` subscribes
//! (broker.yaml via BROKER_CONFIG_FILE), `adapter publish` sends an event, the adapter calls the
//! in-process fake HyperFleet API and reports status, `/readyz` and `/metrics` show it, and
//! SIGTERM stops it with exit 0. With the Kubernetes transport, the same against the fake
//! Kubernetes API server named by `KUBECONFIG`.

#![cfg(feature = "rabbitmq")]

use kit::api::{FakeApi, event, write_configs};
use kit::rabbit::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_serve_round_trip_and_sigterm_exits_0() {
    let topic = unique("process");
    let subscription = "proc";
    let api = FakeApi::default();
    let base = api.start().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, t) = write_configs(dir.path(), "process-adapter", &base, &topic, subscription);
    let broker = broker_file(dir.path(), "subscriber:\n  parallelism: 4\n");
    let env = [("BROKER_CONFIG_FILE", broker.to_str().unwrap())];
    let mut served = kit::process::serve(&a, &t, &env).await;
    assert_eq!(
        served.readyz().await.1.trim_end(),
        r#"{"checks":{"broker":"ok","config":"ok"},"status":"ok"}"#
    );

    // `adapter publish` with the same broker.yaml, topic from the adapter config.
    let event_file = dir.path().join("event.json");
    std::fs::write(&event_file, event("evt-proc-1", "cls-proc")).unwrap();
    let published = kit::process::publish(&event_file, &["-c", a.to_str().unwrap()], &env);
    assert!(
        published.starts_with(&format!(
            "Published event evt-proc-1 (type io.hyperfleet.cluster.updated) to topic {topic} via RabbitMQ exchange {topic} at amqp://guest:***@"
        )),
        "{published}"
    );

    served
        .wait_for("the status report", Duration::from_secs(20), || {
            api.statuses().iter().any(|(id, _)| id == "cls-proc")
        })
        .await;
    let (_, body) = api.statuses()[0].clone();
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["adapter"], "process-adapter");
    let metrics = served.metrics().await;
    for line in [
        "hyperfleet_adapter_events_processed_total{adapter_name=\"process\",component=\"process-adapter\",status=\"success\",version=\"0.0.0-dev\"} 1".to_string(),
        format!("hyperfleet_broker_messages_consumed_total{{component=\"process-adapter\",topic=\"{topic}\",version=\"0.0.0-dev\"}} 1"),
        "hyperfleet_adapter_up{component=\"process-adapter\",version=\"0.0.0-dev\"} 1".to_string(),
    ] {
        assert!(metrics.contains(&line), "missing {line}\n{metrics}");
    }

    let (code, logs, stderr) = served.terminate().await;
    assert_eq!(code, Some(0), "SIGTERM exits 0\n{logs}{stderr}");
    for msg in [
        "Broker configuration loaded from",
        "Successfully subscribed to broker topic",
        "Adapter is ready to process events",
        "Received signal terminated, initiating graceful shutdown...",
        "Shutdown initiated, marking not ready",
        "Closing broker subscriber...",
        "Subscriber closed successfully",
        "Adapter shutdown complete",
    ] {
        assert!(logs.contains(msg), "log {msg:?} missing:\n{logs}");
    }
    let queue = format!("{topic}-{subscription}");
    assert_eq!(ready(&queue).await, 0);
    cleanup(&[queue], &[topic]).await;
}

/// `adapter serve` applying resources to the cluster a kubeconfig names (`KUBECONFIG`), here the
/// fake API server: the event creates a ConfigMap by server-side apply and the status report
/// carries what the cluster returned.
#[cfg(feature = "k8s")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_applies_resources_to_the_cluster_a_kubeconfig_names() {
    let fake = kit::kube::FakeKube::start().await;
    fake.put(
        "setup",
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fleet"}}),
    );
    let topic = unique("kube");
    let api = FakeApi::default();
    let base = api.start().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, t) = write_configs(dir.path(), "kube-adapter", &base, &topic, "kube");
    std::fs::write(
        &t,
        r#"
params:
  - name: clusterId
    source: event.id
    required: true
  - name: generation
    source: event.generation
    type: int
resources:
  - name: config
    transport: {client: kubernetes}
    manifest:
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: "cluster-{{ .clusterId }}"
        namespace: fleet
        annotations: {hyperfleet.io/generation: "{{ .generation }}"}
      data: {cluster: "{{ .clusterId }}"}
    discovery:
      namespace: fleet
      by_name: "cluster-{{ .clusterId }}"
post:
  payloads:
    - name: statusPayload
      build:
        adapter: "{{ .adapter.name }}"
        uid:
          expression: resources.config.metadata.uid
  post_actions:
    - name: reportStatus
      api_call:
        method: POST
        url: "/clusters/{{ .clusterId }}/statuses"
        body: "{{ .statusPayload }}"
"#,
    )
    .unwrap();
    let broker = broker_file(dir.path(), "");
    let kubeconfig = fake.kubeconfig(dir.path(), None);
    let env = [
        ("BROKER_CONFIG_FILE", broker.to_str().unwrap()),
        ("KUBECONFIG", kubeconfig.to_str().unwrap()),
    ];
    let mut served = kit::process::serve(&a, &t, &env).await;
    let event_file = dir.path().join("event.json");
    std::fs::write(&event_file, event("evt-kube-1", "c1")).unwrap();
    kit::process::publish(&event_file, &["-c", a.to_str().unwrap()], &env);
    served
        .wait_for("the status report", Duration::from_secs(20), || {
            api.statuses().iter().any(|(id, _)| id == "c1")
        })
        .await;
    let stored = fake
        .get("v1", "ConfigMap", "fleet", "cluster-c1")
        .expect("the ConfigMap was applied");
    assert_eq!(stored["data"]["cluster"], "c1");
    assert_eq!(
        stored["metadata"]["managedFields"][0]["manager"],
        "hyperfleet-adapter"
    );
    let (_, body) = api.statuses()[0].clone();
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["uid"], stored["metadata"]["uid"], "{body}");
    let (code, logs, stderr) = served.terminate().await;
    assert_eq!(code, Some(0), "{logs}{stderr}");
    assert!(
        logs.contains(&format!(
            "Using kubeconfig from: {} (KUBECONFIG)",
            kubeconfig.display()
        )),
        "{logs}"
    );
    let queue = format!("{topic}-kube");
    cleanup(&[queue], &[topic]).await;
}

/// One task config, two transports: a Namespace applied to the cluster the kubeconfig names and
/// a ManifestWork sent to Maestro for a remote cluster — each resource through the transport it
/// names. `/readyz` includes Maestro's health.
#[cfg(all(feature = "k8s", feature = "maestro"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_routes_each_resource_to_its_transport() {
    let kube = kit::kube::FakeKube::start().await;
    let maestro = kit::maestro::FakeMaestro::start(std::time::Duration::from_millis(200)).await;
    maestro.register_consumer("cluster1");
    let topic = unique("mixed");
    let api = FakeApi::default();
    let base = api.start().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, t) = write_configs(dir.path(), "mixed-adapter", &base, &topic, "mixed");
    let mut adapter = std::fs::read_to_string(&a).unwrap();
    adapter.push_str(&format!(
        "  maestro:\n    grpc_server_address: {}\n    http_server_address: {}\n    source_id: mixed-adapter\n    insecure: true\n",
        maestro.grpc_address, maestro.http_url
    ));
    std::fs::write(&a, adapter).unwrap();
    std::fs::write(
        &t,
        r#"
params:
  - name: clusterId
    source: event.id
    required: true
resources:
  - name: hubNamespace
    transport: {client: kubernetes}
    manifest:
      apiVersion: v1
      kind: Namespace
      metadata: {name: "hub-{{ .clusterId }}", annotations: {hyperfleet.io/generation: "1"}}
    discovery: {by_name: "hub-{{ .clusterId }}"}
  - name: remoteWork
    transport:
      client: maestro
      maestro: {target_cluster: cluster1}
    manifest:
      apiVersion: work.open-cluster-management.io/v1
      kind: ManifestWork
      metadata: {name: "work-{{ .clusterId }}", annotations: {hyperfleet.io/generation: "1"}}
      spec:
        workload:
          manifests:
            - apiVersion: v1
              kind: Namespace
              metadata: {name: "remote-{{ .clusterId }}", annotations: {hyperfleet.io/generation: "1"}}
    discovery: {by_name: "work-{{ .clusterId }}"}
post:
  payloads:
    - name: statusPayload
      build:
        hub:
          expression: resources.hubNamespace.metadata.name
        applied:
          expression: resources.remoteWork.status.conditions.exists(c, c.type == "Applied" && c.status == "True")
  post_actions:
    - name: reportStatus
      api_call:
        method: POST
        url: "/clusters/{{ .clusterId }}/statuses"
        body: "{{ .statusPayload }}"
"#,
    )
    .unwrap();
    let broker = broker_file(dir.path(), "");
    let kubeconfig = kube.kubeconfig(dir.path(), None);
    let env = [
        ("BROKER_CONFIG_FILE", broker.to_str().unwrap()),
        ("KUBECONFIG", kubeconfig.to_str().unwrap()),
    ];
    let mut served = kit::process::serve(&a, &t, &env).await;
    let mut ready = String::new();
    kit::eventually(Duration::from_secs(5), async || {
        ready = served.readyz().await.1;
        ready.contains("\"maestro\":\"ok\"")
    })
    .await;
    assert_eq!(
        ready.trim_end(),
        r#"{"checks":{"broker":"ok","config":"ok","maestro":"ok"},"status":"ok"}"#
    );
    let event_file = dir.path().join("event.json");
    std::fs::write(&event_file, event("evt-mixed-1", "c7")).unwrap();
    kit::process::publish(&event_file, &["-c", a.to_str().unwrap()], &env);
    served
        .wait_for("the status report", Duration::from_secs(20), || {
            api.statuses().iter().any(|(id, _)| id == "c7")
        })
        .await;
    assert!(
        kube.get("v1", "Namespace", "", "hub-c7").is_some(),
        "applied to the cluster"
    );
    assert!(
        kube.get(
            "work.open-cluster-management.io/v1",
            "ManifestWork",
            "cluster1",
            "work-c7"
        )
        .is_none()
    );
    let works = maestro.bundles();
    assert_eq!(works.len(), 1, "sent to Maestro");
    assert_eq!(works[0]["metadata"]["name"], "work-c7");
    let (_, body) = api.statuses()[0].clone();
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["hub"], "hub-c7");
    assert_eq!(body["applied"], true, "{body}");
    let (code, logs, stderr) = served.terminate().await;
    assert_eq!(code, Some(0), "{logs}{stderr}");
    cleanup(&[format!("{topic}-mixed")], &[topic]).await;
}
