//! A real Prometheus (Debian's `prometheus` package, which `scripts/test` installs) scrapes a
//! running `adapter serve` that has processed events of every kind (a create, a deletion, a
//! failure, a message that is not a CloudEvent), and then:
//! - every series selector of the chart's alert rules (`templates/prometheusrule.yaml`, with the
//!   default selector) returns series, and every alert expression evaluates without error;
//! - every panel query of the chart's Grafana dashboard returns series.
//!
//! So the alerts and the dashboard read the metric names and labels the binary really exports,
//! as a real Prometheus stores them.

#![cfg(all(feature = "rabbitmq", feature = "k8s"))]

use kit::api::{FakeApi, Fault, write_configs};
use kit::rabbit::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHART: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/deploy/helm/hyperfleet-adapter"
);
/// The job and namespace labels the chart's rules select by default (release adapter1 in
/// namespace hyperfleet), given to the scraped target here.
const JOB: &str = "adapter1-hyperfleet-adapter";
const NAMESPACE: &str = "hyperfleet";

const TASK: &str = r#"
params:
  - name: clusterId
    source: event.id
    required: true
  - name: generation
    source: event.generation
    type: int
  - name: deleting
    source: event.deleting
    type: bool
    default: false
  - name: cluster
    source:
      api_call:
        method: GET
        url: "/clusters/{{ .clusterId }}"
    required: true
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
    lifecycle:
      delete:
        when:
          expression: deleting
post:
  payloads:
    - name: statusPayload
      build:
        adapter: "{{ .adapter.name }}"
  post_actions:
    - name: reportStatus
      api_call:
        method: POST
        url: "/clusters/{{ .clusterId }}/statuses"
        body: "{{ .statusPayload }}"
"#;

/// A Prometheus server on a free port, scraping `target` every second; killed on drop.
struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(target: &str) -> Prometheus {
        let binary = which("prometheus").expect(
            "the prometheus server is not installed: install Debian's prometheus package (scripts/test does)",
        );
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: {JOB}\n    static_configs:\n      - targets: [\"{target}\"]\n        labels:\n          namespace: {NAMESPACE}\n"
            ),
        )
        .unwrap();
        let port = kit::process::free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// The result of an instant query, or Prometheus' error.
    async fn query(&self, q: &str) -> Result<Vec<Value>, String> {
        let resp = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", q)])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: Value = resp.json().await.map_err(|e| e.to_string())?;
        if body["status"] != "success" {
            return Err(body.to_string());
        }
        Ok(body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

fn event(event_id: &str, id: &str, deleting: bool, generation: i64) -> Vec<u8> {
    json!({"specversion": "1.0", "id": event_id, "type": "io.hyperfleet.cluster.updated",
        "source": "/test", "datacontenttype": "application/json",
        "data": {"id": id, "kind": "Cluster", "href": format!("/clusters/{id}"), "generation": generation,
                 "deleting": deleting}})
    .to_string()
    .into_bytes()
}

/// The expressions of the chart's alert rules with the chart's defaults filled in (the default
/// selector, `by`, and each alert's default threshold from values.yaml).
fn alert_expressions() -> Vec<String> {
    let template =
        std::fs::read_to_string(format!("{CHART}/templates/prometheusrule.yaml")).unwrap();
    let values: serde_json::Value = {
        let text = std::fs::read_to_string(format!("{CHART}/values.yaml")).unwrap();
        hyperfleet_adapter::yaml::parse_value(&text).unwrap()
    };
    let alerts = &values["monitoring"]["prometheusRule"]["alerts"];
    let selector = format!("job=\"{JOB}\", namespace=\"{NAMESPACE}\"");
    let mut out = Vec::new();
    let mut lines = template.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() != "expr: |-" {
            continue;
        }
        let mut expr = String::new();
        while let Some(next) = lines.peek() {
            if next.trim_start().starts_with("for:") {
                break;
            }
            expr.push_str(next.trim());
            expr.push('\n');
            lines.next();
        }
        let mut expr = expr
            .replace("{ {{- $sel -}} }", &format!("{{{selector}}}"))
            .replace("{ {{- $sel -}},", &format!("{{{selector},"))
            .replace("{{ $by }}", "namespace, job");
        for (key, alert) in [
            ("ratio", "highFailureRate"),
            ("window", "noEventsProcessed"),
            ("p95Seconds", "slowProcessing"),
            ("perMinute", "errorsRising"),
        ] {
            let value = &alerts[alert][key];
            let text = value
                .as_str()
                .map(str::to_string)
                .unwrap_or(value.to_string());
            expr = expr.replace(&format!("{{{{ .{key} }}}}"), &text);
        }
        assert!(!expr.contains("{{"), "a template action left in {expr}");
        out.push(expr);
    }
    out
}

/// The dashboard's panel queries, its variables matching everything.
fn dashboard_queries() -> Vec<String> {
    let text =
        std::fs::read_to_string(format!("{CHART}/dashboards/hyperfleet-adapter.json")).unwrap();
    let dashboard: Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            out.push(
                expr.replace("$adapter_name", ".+")
                    .replace("$component", ".+")
                    .replace("$__rate_interval", "1m"),
            );
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_finds_every_alert_and_dashboard_series() {
    let fake = kit::kube::FakeKube::start().await;
    fake.put(
        "setup",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fleet"}}),
    );
    let topic = unique("scrape");
    let subscription = "scrape";
    let api = FakeApi::default();
    api.fault_cluster("cls-bad", Fault::Status(500));
    let base = api.start().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, t) = write_configs(dir.path(), "scrape-adapter", &base, &topic, subscription);
    std::fs::write(&t, TASK).unwrap();
    let broker = broker_file(dir.path(), "");
    let kubeconfig = fake.kubeconfig(dir.path(), None);
    let env = [
        ("BROKER_CONFIG_FILE", broker.to_str().unwrap()),
        ("KUBECONFIG", kubeconfig.to_str().unwrap()),
    ];
    let mut served = kit::process::serve(&a, &t, &env).await;

    // A create, its deletion, a failure, and an event older than what a cluster already has
    // (a stale apply): every adapter series exists.
    for (n, (id, deleting, generation)) in [
        ("cls-a", false, 1),
        ("cls-a", true, 1),
        ("cls-bad", false, 1),
        ("cls-s", false, 2),
        ("cls-s", false, 1),
    ]
    .into_iter()
    .enumerate()
    {
        let file = dir.path().join(format!("event-{n}.json"));
        std::fs::write(&file, event(&format!("evt-{n}"), id, deleting, generation)).unwrap();
        kit::process::publish(&file, &["-c", a.to_str().unwrap()], &env);
        served
            .wait_for("the event's cluster GET", Duration::from_secs(30), || {
                api.gets().len() > n
            })
            .await;
    }
    // An event older than the one a completed reconcile of its cluster ran (UUIDv7 ids):
    // skipped as stale without running.
    let now = kit::now_ms();
    for (n, published) in [(5, now - 1_000), (6, now - 2_000)] {
        let file = dir.path().join(format!("event-{n}.json"));
        std::fs::write(&file, event(&kit::uuid_v7(published, 0), "cls-u", false, 1)).unwrap();
        kit::process::publish(&file, &["-c", a.to_str().unwrap()], &env);
        if n == 5 {
            served
                .wait_for("the event's cluster GET", Duration::from_secs(30), || {
                    api.gets().len() > n
                })
                .await;
        }
    }
    // A message that is not a CloudEvent: a broker error.
    let queue = format!("{topic}-{subscription}");
    admin()
        .await
        .basic_publish(
            "".into(),
            queue.as_str().into(),
            Default::default(),
            b"not a cloud event",
            Default::default(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let needles = [
        "status=\"failed\"",
        "hyperfleet_adapter_resources_deleted_total{",
        "hyperfleet_adapter_resource_deletion_duration_seconds_bucket{",
        "hyperfleet_broker_errors_total{",
        "hyperfleet_adapter_resources_skipped_total{",
        "hyperfleet_adapter_events_skipped_total{",
    ];
    let metrics_url = format!("http://127.0.0.1:{}/metrics", served.metrics_port);
    kit::wait_for_async(
        "every series in /metrics",
        Duration::from_secs(30),
        async || {
            let text = kit::process::get(&metrics_url).await.unwrap_or_default().1;
            needles.iter().all(|n| text.contains(n))
        },
    )
    .await;

    let prometheus = Prometheus::start(&format!("127.0.0.1:{}", served.metrics_port));
    // Two scrapes at least, so rates over the last minute have two samples.
    let up = format!("count_over_time(up{{job=\"{JOB}\", namespace=\"{NAMESPACE}\"}}[1m]) >= 3");
    let scraped = kit::eventually(Duration::from_secs(60), async || {
        prometheus.query(&up).await.is_ok_and(|r| !r.is_empty())
    })
    .await;
    assert!(scraped, "prometheus did not scrape the adapter");

    let mut problems = Vec::new();
    let alerts = alert_expressions();
    assert_eq!(alerts.len(), 6, "{alerts:#?}");
    let selector = regex::Regex::new(r"\b(up|hyperfleet_[a-z_]+)\{[^}]*\}").unwrap();
    for expr in &alerts {
        if let Err(e) = prometheus.query(expr).await {
            problems.push(format!("alert expression does not evaluate: {expr}: {e}"));
        }
        for m in selector.find_iter(expr) {
            match prometheus.query(m.as_str()).await {
                Ok(r) if !r.is_empty() => {}
                other => problems.push(format!("alert selector {} returns {other:?}", m.as_str())),
            }
        }
    }
    let queries = dashboard_queries();
    assert!(queries.len() >= 11, "{queries:#?}");
    for q in &queries {
        match prometheus.query(q).await {
            Ok(r) if !r.is_empty() => {}
            other => problems.push(format!("dashboard query {q} returns {other:?}")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    drop(prometheus);
    let (code, logs, stderr) = served.terminate().await;
    assert_eq!(code, Some(0), "{logs}{stderr}");
    cleanup(&[queue], &[topic]).await;
}
