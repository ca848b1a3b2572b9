//! Secrets stay out of every output: the dry-run trace (text, verbose, JSON) and its error
//! lines, log lines at every level (JSON and text), spans, `config-dump`, `/config`, and the
//! errors `main` prints. A secret is the value of an environment variable whose name looks
//! secret (and, in the trace, of a param whose name does), and the password of any URL.

use hyperfleet_adapter::adapters::api::http::{HttpApi, Settings};
use hyperfleet_adapter::logging::{self, LogSettings};
use hyperfleet_adapter::ports::{ApiRequest, HyperfleetApi};
use hyperfleet_adapter::redact::{self, Secrets};
use kit::capture::Capture;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_adapter");
const TOKEN: &str = "tok-5ecret-9f8e7d";
const PASSWORD: &str = "pw-9c1d-hidden";

fn adapter(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_clean(what: &str, output: &str) {
    for secret in [TOKEN, PASSWORD] {
        assert!(
            !output.contains(secret),
            "{what} prints the secret {secret:?}:\n{output}"
        );
    }
}

const TASK: &str = r#"
params:
  - name: clusterId
    source: event.id
  - name: apiToken
    source: env.API_TOKEN
  - name: auth
    source: env.API_TOKEN
preconditions:
  - name: cluster
    api_call:
      method: GET
      url: "/clusters/{{ .clusterId }}?t={{ .auth }}"
      headers:
        - {name: Authorization, value: "Bearer {{ .auth }}"}
resources:
  - name: cm
    manifest:
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: "{{ .clusterId }}", namespace: default}
      data: {token: "{{ .auth }}"}
    discovery: {namespace: default, by_name: "{{ .clusterId }}"}
post:
  payloads:
    - name: status
      build:
        note: "token {{ .auth }}"
  post_actions:
    - name: report
      api_call: {method: POST, url: "/clusters/{{ .clusterId }}/statuses", body: "{{ .status }}"}
"#;

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("adapter.yaml"),
            format!("adapter:\n  name: secrets\nclients:\n  hyperfleet_api:\n    base_url: http://admin:{PASSWORD}@api:8000\n"),
        )
        .unwrap();
        std::fs::write(dir.path().join("task.yaml"), TASK).unwrap();
        std::fs::write(
            dir.path().join("event.json"),
            r#"{"specversion":"1.0","id":"e1","type":"t","source":"s","data":{"id":"c1"}}"#,
        )
        .unwrap();
        Files { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

#[test]
fn the_dry_run_trace_and_its_errors_print_no_secret() {
    let f = Files::new();
    let (a, t, e) = (
        f.path("adapter.yaml"),
        f.path("task.yaml"),
        f.path("event.json"),
    );
    let env = [("API_TOKEN", TOKEN), ("LOG_LEVEL", "debug")];
    for extra in [
        &[][..],
        &["--dry-run-verbose"],
        &["--dry-run-output", "json"],
        &["--dry-run-verbose", "--dry-run-output", "json"],
    ] {
        let mut args = vec!["serve", "-c", &a, "-t", &t, "--dry-run-event", &e];
        args.extend_from_slice(extra);
        let out = adapter(&args, &env);
        let all = text(&out);
        assert!(out.status.success(), "{all}");
        assert_clean(&format!("dry run {extra:?}"), &all);
        assert!(all.contains("**REDACTED**"), "{extra:?}: {all}");
        assert!(
            all.contains("clusters/c1?t=**REDACTED**"),
            "{extra:?}: {all}"
        );
    }
}

#[test]
fn config_dump_masks_url_passwords() {
    let f = Files::new();
    let out = adapter(
        &[
            "config-dump",
            "-c",
            &f.path("adapter.yaml"),
            "-t",
            &f.path("task.yaml"),
        ],
        &[("API_TOKEN", TOKEN)],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_clean("config-dump", &text(&out));
    assert!(
        text(&out).contains("base_url: http://admin:***@api:8000"),
        "{}",
        text(&out)
    );
}

/// Startup with `debug_config: true` logs the whole config; startup then fails on the broker
/// (an `amqp://` URL with a password): neither the log lines nor the error print a secret.
#[test]
fn startup_logs_and_errors_print_no_secret() {
    let f = Files::new();
    let a = f.path("adapter.yaml");
    std::fs::write(
        &a,
        format!("adapter:\n  name: secrets\ndebug_config: true\nclients:\n  hyperfleet_api:\n    base_url: http://admin:{PASSWORD}@api:8000\n"),
    )
    .unwrap();
    let broker = f.path("broker.yaml");
    std::fs::write(
        &broker,
        format!("broker:\n  type: rabbitmq\n  rabbitmq:\n    url: amqp://guest:{PASSWORD}@127.0.0.1:1/\n"),
    )
    .unwrap();
    let out = adapter(
        &[
            "serve",
            "-c",
            &a,
            "-t",
            &f.path("task.yaml"),
            "--health-port",
            "0",
            "--metrics-port",
            "0",
            "--broker-subscription-id",
            "s",
            "--broker-topic",
            "t",
        ],
        &[
            ("BROKER_CONFIG_FILE", &broker),
            ("API_TOKEN", TOKEN),
            ("LOG_LEVEL", "debug"),
            ("HYPERFLEET_TRACING_ENABLED", "false"),
        ],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("Loaded adapter configuration") && all.contains("Error:"),
        "{all}"
    );
    assert!(all.contains("admin:***@api:8000"), "{all}");
    assert_clean("startup", &all);
}

/// Log lines (every level, JSON and text) and the HTTP span's `url.full`: the API client's
/// retry lines name a URL with a password; a line that prints an env secret's value.
#[tokio::test]
async fn log_lines_mask_url_passwords_and_env_secrets() {
    redact::install(Secrets::from_env(&std::collections::BTreeMap::from([(
        "API_TOKEN".to_string(),
        TOKEN.to_string(),
    )])));
    for format in ["json", "text"] {
        let logs = Capture::default();
        let settings = LogSettings {
            level: "debug".into(),
            format: format.into(),
            output: "stdout".into(),
            component: "secrets".into(),
        };
        let _g =
            tracing::subscriber::set_default(logging::subscriber(&settings, logs.clone(), None));
        let addr = kit::api::busy_api().await;
        let settings = Settings {
            retry_attempts: 2,
            base_delay: std::time::Duration::ZERO,
            ..Settings::defaults(format!("http://admin:{PASSWORD}@{addr}"))
        };
        let api = HttpApi::new(settings).unwrap();
        let _ = api
            .send(ApiRequest {
                method: "GET".into(),
                url: "/x".into(),
                ..Default::default()
            })
            .await;
        // An unreachable host: the client error text names the URL.
        let settings = Settings {
            base_url: format!("http://admin:{PASSWORD}@127.0.0.1:1"),
            retry_attempts: 1,
            ..api.settings().clone()
        };
        let refused = HttpApi::new(settings).unwrap();
        let err = refused
            .send(ApiRequest {
                method: "GET".into(),
                url: "/x".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_clean("the API client's error", &format!("{err:?} {err}"));
        tracing::debug!("debug line {TOKEN}");
        tracing::info!(token = TOKEN, "info line");
        tracing::warn!("warn line {TOKEN}");
        tracing::error!(error = %format!("failed: {TOKEN}"), "error line");
        let all = String::from_utf8(logs.bytes()).unwrap();
        assert!(
            all.contains("retryable status 503") && all.contains(":***@"),
            "{format}: {all}"
        );
        assert!(all.contains("debug line **REDACTED**"), "{format}: {all}");
        assert_clean(&format!("{format} logs"), &all);
    }
}

/// `/config` serves the same masked dump.
#[tokio::test]
async fn the_config_endpoint_masks_url_passwords() {
    use tower::ServiceExt;
    let f = Files::new();
    let env = hyperfleet_adapter::config::MapEnv::from_pairs([("API_TOKEN", TOKEN)]);
    let loaded = hyperfleet_adapter::config::load(&hyperfleet_adapter::config::LoadOptions {
        adapter_path: Some(f.dir.path().join("adapter.yaml")),
        task_path: Some(f.dir.path().join("task.yaml")),
        flags: vec![],
        env: &env,
        binary_version: "0".into(),
    })
    .unwrap();
    let yaml = hyperfleet_adapter::yaml::to_yaml_string(
        &hyperfleet_adapter::app::commands::dump_value(&loaded),
    );
    let app = hyperfleet_adapter::adapters::servers::health_app(
        hyperfleet_adapter::adapters::servers::Health::new(&[], Some(yaml)),
    );
    let resp = app
        .oneshot(
            axum::http::Request::get("/config")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(body.contains("admin:***@api:8000"), "{body}");
    assert_clean("/config", &body);
}
