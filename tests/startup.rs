//! `adapter serve` startup through the real binary: each step of the startup sequence that can
//! fail exits 1 with the runbook's message (and logs its pattern).

use kit::cli::{adapter, stderr, stdout};

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(adapter_yaml: &str, task_yaml: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("adapter.yaml"), adapter_yaml).unwrap();
        std::fs::write(dir.path().join("task.yaml"), task_yaml).unwrap();
        Setup { dir }
    }

    fn serve(&self, extra: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let a = self.dir.path().join("adapter.yaml").display().to_string();
        let t = self.dir.path().join("task.yaml").display().to_string();
        let mut args = vec!["serve", "-c", &a, "-t", &t, "--metrics-port", "0"];
        if !extra.contains(&"--health-port") {
            args.extend_from_slice(&["--health-port", "0"]);
        }
        args.extend_from_slice(extra);
        adapter(&args, env)
    }
}

const PARAMS_ONLY: &str = "params:\n  - name: clusterId\n    source: event.id\n";

fn expect_failure(out: &std::process::Output, message: &str) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
    assert!(
        stderr(out).contains(&format!("Error: {message}")),
        "stderr:\n{}",
        stderr(out)
    );
}

#[test]
fn bad_config_exits_1() {
    let s = Setup::new("adapter:\n  nmae: x\n", PARAMS_ONLY);
    let out = s.serve(&[], &[]);
    expect_failure(
        &out,
        "failed to load adapter configuration: failed to parse adapter config YAML",
    );
    assert!(
        stdout(&out).contains("Failed to load adapter configuration"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn missing_api_base_url_exits_1() {
    let s = Setup::new("adapter:\n  name: x\n", PARAMS_ONLY);
    let out = s.serve(&[], &[]);
    expect_failure(
        &out,
        "failed to create HyperFleet API client: HyperFleet API base URL not configured",
    );
    let logs = stdout(&out);
    for line in [
        "Starting Hyperfleet Adapter version=",
        "Adapter configuration loaded successfully: name=x ",
        "Starting health server on port 0",
        "Creating HyperFleet API client...",
    ] {
        assert!(logs.contains(line), "missing {line:?} in\n{logs}");
    }
}

const NAMESPACE_TASK: &str = "params:\n  - name: clusterId\n    source: event.id\nresources:\n  - name: ns\n    manifest: {apiVersion: v1, kind: Namespace, metadata: {name: '{{ .clusterId }}'}}\n    discovery: {by_name: '{{ .clusterId }}'}\n";
const WITH_API: &str =
    "adapter:\n  name: x\nclients:\n  hyperfleet_api:\n    base_url: http://127.0.0.1:1\n";

#[cfg(not(feature = "k8s"))]
#[test]
fn missing_transport_backend_exits_1() {
    let s = Setup::new(WITH_API, NAMESPACE_TASK);
    expect_failure(
        &s.serve(&[], &[]),
        "failed to create Kubernetes client: this build has no Kubernetes transport (build with --features k8s)",
    );
}

#[cfg(feature = "k8s")]
#[test]
fn kubernetes_client_failures_exit_1() {
    let s = Setup::new(WITH_API, NAMESPACE_TASK);
    // Not in a pod and no kubeconfig: the in-cluster configuration is missing.
    let out = s.serve(&[], &[]);
    expect_failure(
        &out,
        "failed to create Kubernetes client: failed to create in-cluster config:",
    );
    assert!(
        stdout(&out).contains("Using in-cluster Kubernetes configuration (ServiceAccount)"),
        "{}",
        stdout(&out)
    );
    // A kubeconfig path that does not exist, from the flag and from KUBECONFIG.
    let missing = s.dir.path().join("nope").display().to_string();
    let out = s.serve(&["--kubernetes-kube-config-path", &missing], &[]);
    expect_failure(
        &out,
        &format!("failed to create Kubernetes client: failed to load kubeconfig from {missing}:"),
    );
    assert!(stdout(&out).contains(&format!("Using kubeconfig from: {missing}")));
    let out = s.serve(&[], &[("KUBECONFIG", &missing)]);
    expect_failure(
        &out,
        &format!("failed to create Kubernetes client: failed to load kubeconfig from {missing}:"),
    );
    assert!(stdout(&out).contains(&format!("Using kubeconfig from: {missing} (KUBECONFIG)")));
}

const WORK_TASK: &str = "params:\n  - name: clusterId\n    source: event.id\nresources:\n  - name: work\n    transport:\n      client: maestro\n      maestro: {target_cluster: cluster1}\n    manifest: {apiVersion: work.open-cluster-management.io/v1, kind: ManifestWork, metadata: {name: '{{ .clusterId }}', annotations: {hyperfleet.io/generation: '1'}}, spec: {workload: {manifests: []}}}\n    discovery: {by_name: '{{ .clusterId }}'}\n";

#[cfg(feature = "maestro")]
#[test]
fn maestro_client_settings_are_checked_at_startup() {
    for (maestro, message) in [
        (
            "  maestro:\n    grpc_server_address: localhost:8090\n    source_id: a\n",
            "failed to create Maestro client: maestro server address is required",
        ),
        (
            "  maestro:\n    grpc_server_address: localhost:8090\n    http_server_address: http://localhost:8000\n    source_id: a\n",
            "failed to create Maestro client: MaestroServerAddr must use https:// scheme when Insecure=false",
        ),
        (
            "  maestro:\n    http_server_address: https://localhost:8000\n    grpc_server_address: localhost:8090\n    source_id: a\n",
            "failed to create Maestro client: no TLS configuration provided",
        ),
        (
            "  maestro:\n    http_server_address: https://localhost:8000\n    grpc_server_address: localhost:8090\n    source_id: a\n    auth:\n      tls_config:\n        ca_file: /etc/hostname\n",
            "failed to create Maestro client: failed to parse CA certificate from /etc/hostname",
        ),
    ] {
        let s = Setup::new(&format!("{WITH_API}{maestro}"), WORK_TASK);
        let out = s.serve(&[], &[]);
        expect_failure(&out, message);
        assert!(
            stdout(&out).contains("Failed to create Maestro client"),
            "{}",
            stdout(&out)
        );
    }
}

/// `clients.maestro.client_id` (set by the Go charts) loads, and startup says it has no effect.
#[cfg(feature = "maestro")]
#[test]
fn a_maestro_client_id_is_accepted_with_a_warning() {
    let maestro = "  maestro:\n    grpc_server_address: 127.0.0.1:1\n    http_server_address: http://127.0.0.1:1\n    source_id: a\n    insecure: true\n    client_id: my-client\n";
    let s = Setup::new(&format!("{WITH_API}{maestro}"), WORK_TASK);
    let out = s.serve(&[], &[]);
    // The Maestro client is created; startup goes on to the broker settings.
    expect_failure(&out, "clients.broker.subscription_id is required");
    let warning = stdout(&out)
        .lines()
        .find(|l| l.contains("clients.maestro.client_id has no effect"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no client_id warning in:\n{}", stdout(&out)));
    assert!(
        warning.contains("WARN") || warning.contains("warn"),
        "{warning}"
    );
    assert!(warning.contains("my-client"), "{warning}");
}

#[cfg(not(feature = "maestro"))]
#[test]
fn maestro_resources_need_the_maestro_feature() {
    let s = Setup::new(
        &format!("{WITH_API}  maestro:\n    grpc_server_address: localhost:8090\n"),
        WORK_TASK,
    );
    expect_failure(
        &s.serve(&[], &[]),
        "failed to create Maestro client: this build has no Maestro transport (build with --features maestro)",
    );
}

#[test]
fn missing_broker_settings_exit_1() {
    let s = Setup::new(
        "adapter:\n  name: x\nclients:\n  hyperfleet_api:\n    base_url: http://127.0.0.1:1\n",
        PARAMS_ONLY,
    );
    let out = s.serve(&[], &[]);
    expect_failure(&out, "clients.broker.subscription_id is required");
    assert!(
        stdout(&out).contains("Missing required broker configuration"),
        "{}",
        stdout(&out)
    );
    let out = s.serve(&[], &[("BROKER_SUBSCRIPTION_ID", "sub")]);
    expect_failure(&out, "clients.broker.topic is required");
}

const WITH_BROKER: &str = "adapter:\n  name: x\nclients:\n  hyperfleet_api:\n    base_url: http://127.0.0.1:1\n  broker:\n    subscription_id: s\n    topic: t\n";

#[test]
fn broker_config_problems_exit_1() {
    let s = Setup::new(WITH_BROKER, PARAMS_ONLY);
    // No broker.yaml and no BROKER_TYPE.
    let out = s.serve(&[], &[]);
    expect_failure(&out, "failed to create subscriber: invalid broker config");
    assert!(
        stderr(&out).contains("unsupported broker type: "),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("Failed to create subscriber"));
    // A broker.yaml with every problem named, with its line.
    let broker = s.dir.path().join("broker.yaml");
    std::fs::write(
        &broker,
        "broker:\n  type: rabbitmq\n  rabbitmq:\n    url: http://h\n    exchange_type: weird\n",
    )
    .unwrap();
    let out = s.serve(&[], &[("BROKER_CONFIG_FILE", broker.to_str().unwrap())]);
    expect_failure(&out, "failed to create subscriber: invalid broker config");
    let err = stderr(&out);
    assert!(
        err.contains("broker.yaml:4")
            && err.contains("rabbitmq.url must start with 'amqp://' or 'amqps://'"),
        "{err}"
    );
    assert!(
        err.contains("broker.yaml:5")
            && err
                .contains("rabbitmq.exchange_type must be one of: direct, fanout, topic, headers"),
        "{err}"
    );
}

#[cfg(not(feature = "rabbitmq"))]
#[test]
fn missing_broker_backend_exits_1() {
    let s = Setup::new(WITH_BROKER, PARAMS_ONLY);
    expect_failure(
        &s.serve(
            &[],
            &[
                ("BROKER_TYPE", "rabbitmq"),
                ("BROKER_RABBITMQ_URL", "amqp://127.0.0.1:1/"),
            ],
        ),
        "failed to create subscriber: this build has no rabbitmq broker (build with --features rabbitmq)",
    );
}

#[cfg(feature = "rabbitmq")]
#[test]
fn unreachable_broker_exits_1() {
    let s = Setup::new(WITH_BROKER, PARAMS_ONLY);
    let out = s.serve(
        &[],
        &[
            ("BROKER_TYPE", "rabbitmq"),
            ("BROKER_RABBITMQ_URL", "amqp://guest:hidden@127.0.0.1:1/"),
        ],
    );
    expect_failure(
        &out,
        "failed to subscribe to topic: failed to connect to RabbitMQ at amqp://guest:***@127.0.0.1:1/",
    );
    assert!(stdout(&out).contains("Failed to subscribe to topic"));
    assert!(!stdout(&out).contains("hidden") && !stderr(&out).contains("hidden"));
}

#[test]
fn a_port_that_cannot_be_bound_exits_1() {
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let s = Setup::new("adapter:\n  name: x\n", PARAMS_ONLY);
    let out = s.serve(&["--health-port", &port], &[]);
    expect_failure(
        &out,
        &format!("failed to start health server on 0.0.0.0:{port}"),
    );
}

#[test]
fn log_settings_follow_the_config() {
    let s = Setup::new(
        "adapter:\n  name: x\nlog:\n  format: text\n  output: stderr\n",
        PARAMS_ONLY,
    );
    let out = s.serve(&[], &[]);
    assert!(
        stdout(&out).is_empty(),
        "text logs go to stderr: {}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("level=INFO msg=\"Starting Hyperfleet Adapter"),
        "{}",
        stderr(&out)
    );
    let out = s.serve(
        &["--log-format", "json", "--log-output", "stdout"],
        &[("LOG_LEVEL", "error")],
    );
    assert!(
        !stdout(&out).contains("Starting Hyperfleet Adapter"),
        "LOG_LEVEL=error hides info lines"
    );
}
