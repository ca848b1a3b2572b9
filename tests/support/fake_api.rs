//! A fake HyperFleet API (axum) for broker and process tests: serves clusters, records every
//! GET and status report, optionally slow.

#![allow(dead_code)]

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
pub struct FakeApi {
    /// Cluster ids fetched, in order.
    pub gets: Arc<Mutex<Vec<String>>>,
    /// `(cluster id, body)` of every status report.
    pub statuses: Arc<Mutex<Vec<(String, String)>>>,
    pub delay: Duration,
}

impl FakeApi {
    pub fn gets(&self) -> Vec<String> {
        self.gets.lock().unwrap().clone()
    }

    pub fn statuses(&self) -> Vec<(String, String)> {
        self.statuses.lock().unwrap().clone()
    }

    /// Starts the server on an ephemeral port; returns its base URL.
    pub async fn start(&self) -> String {
        let app = Router::new()
            .route(
                "/api/hyperfleet/v1/clusters/{id}",
                get(
                    |State(api): State<FakeApi>, Path(id): Path<String>| async move {
                        api.gets.lock().unwrap().push(id.clone());
                        tokio::time::sleep(api.delay).await;
                        serde_json::json!({"id": id, "name": format!("name-{id}"), "generation": 1,
                        "spec": {"provider": "aws"}, "status": {"conditions": []}})
                        .to_string()
                    },
                ),
            )
            .route(
                "/api/hyperfleet/v1/clusters/{id}/statuses",
                post(
                    |State(api): State<FakeApi>, Path(id): Path<String>, body: String| async move {
                        api.statuses.lock().unwrap().push((id, body));
                        (axum::http::StatusCode::CREATED, "{}")
                    },
                ),
            )
            .with_state(self.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        format!("http://{addr}")
    }
}

/// A task config that fetches the cluster and reports a status: no resources, so no transport.
pub const TASK: &str = r#"
params:
  - name: clusterId
    source: event.id
    required: true
  - name: cluster
    source:
      api_call:
        method: GET
        url: "/clusters/{{ .clusterId }}"
    required: true
post:
  payloads:
    - name: statusPayload
      build:
        adapter: "{{ .adapter.name }}"
        cluster: "{{ .clusterId }}"
  post_actions:
    - name: reportStatus
      api_call:
        method: POST
        url: "/clusters/{{ .clusterId }}/statuses"
        body: "{{ .statusPayload }}"
"#;

/// Writes an adapter config (named `name`, API at `base_url`, broker topic/subscription) and
/// [`TASK`] into `dir`; returns their paths.
pub fn write_configs(
    dir: &std::path::Path,
    name: &str,
    base_url: &str,
    topic: &str,
    subscription: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let a = dir.join("adapter.yaml");
    let t = dir.join("task.yaml");
    std::fs::write(
        &a,
        format!(
            "adapter:\n  name: {name}\nclients:\n  hyperfleet_api:\n    base_url: {base_url}\n    retry_attempts: 1\n  broker:\n    topic: {topic}\n    subscription_id: {subscription}\n"
        ),
    )
    .unwrap();
    std::fs::write(&t, TASK).unwrap();
    (a, t)
}

/// A structured-mode CloudEvent for cluster `id`.
pub fn event(event_id: &str, id: &str) -> Vec<u8> {
    serde_json::json!({"specversion": "1.0", "id": event_id, "type": "io.hyperfleet.cluster.updated",
        "source": "/test", "datacontenttype": "application/json",
        "data": {"id": id, "kind": "Cluster", "href": format!("/clusters/{id}"), "generation": 1}})
    .to_string()
    .into_bytes()
}
