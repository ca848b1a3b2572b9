//! Config loading tests: layering precedence, strictness, every structural and semantic rule
//! with the exact phrases operators search logs for, file references and redaction.

use super::*;
use std::io::Write;
use std::path::PathBuf;

const ADAPTER: &str = "adapter:\n  name: test-adapter\n  version: \"0.1.0\"\nclients:\n  hyperfleet_api:\n    base_url: http://api\n    timeout: 5s\n";

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Files {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::File::create(&p)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        p
    }
}

fn opts<'a>(a: PathBuf, t: PathBuf, env: &'a MapEnv, flags: &[(&str, &str)]) -> LoadOptions<'a> {
    LoadOptions {
        adapter_path: Some(a),
        task_path: Some(t),
        flags: flags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        env,
        binary_version: "0.1.5".into(),
    }
}

fn load_task(task: &str) -> Result<Loaded, ConfigError> {
    let f = Files::new();
    let env = MapEnv::default();
    load(&opts(
        f.write("a.yaml", ADAPTER),
        f.write("t.yaml", task),
        &env,
        &[],
    ))
}

fn task_errors(task: &str) -> Vec<String> {
    match load_task(task) {
        Ok(_) => Vec::new(),
        Err(e) => e.errors().map(|p| p.message.clone()).collect(),
    }
}

fn has(errors: &[String], needle: &str) -> bool {
    errors.iter().any(|e| e.contains(needle))
}

#[test]
fn minimal_configs_load() {
    let l = load_task("params: []\n").unwrap();
    assert_eq!(l.adapter.adapter.name, "test-adapter");
    assert_eq!(l.adapter.clients.hyperfleet_api.timeout.to_string(), "5s");
}

#[test]
fn precedence_file_env_flag() {
    let f = Files::new();
    let a = f.write("a.yaml", ADAPTER);
    let t = f.write("t.yaml", "params: []\n");
    let env = MapEnv::from_pairs([
        ("HYPERFLEET_API_TIMEOUT", "22s"),
        ("HYPERFLEET_API_RETRY_ATTEMPTS", "7"),
        ("BROKER_SUBSCRIPTION_ID", "legacy-sub"),
        ("BROKER_TOPIC", "legacy-topic"),
        ("HYPERFLEET_BROKER_TOPIC", "std-topic"),
        ("HYPERFLEET_KUBERNETES_QPS", "11.5"),
        ("HYPERFLEET_DEBUG_CONFIG", "t"),
        ("LOG_LEVEL", "DEBUG"),
        ("HYPERFLEET_ADAPTER_NAME", "from-auto-env"),
    ]);
    let l = load(&opts(
        a.clone(),
        t.clone(),
        &env,
        &[("clients.hyperfleet_api.retry_attempts", "9")],
    ))
    .unwrap();
    let c = &l.adapter;
    assert_eq!(
        c.clients.hyperfleet_api.timeout.to_string(),
        "22s",
        "env beats file"
    );
    assert_eq!(c.clients.hyperfleet_api.retry_attempts, 9, "flag beats env");
    assert_eq!(
        c.clients.broker.subscription_id, "legacy-sub",
        "legacy env used when the prefixed one is unset"
    );
    assert_eq!(
        c.clients.broker.topic, "std-topic",
        "prefixed env beats legacy"
    );
    assert_eq!(c.clients.kubernetes.qps, 11.5);
    assert!(c.debug_config, "Go ParseBool forms");
    assert_eq!(c.log.level, "debug", "LOG_LEVEL is lower-cased");
    assert_eq!(
        c.adapter.name, "from-auto-env",
        "keys present in the file follow HYPERFLEET_<PATH>"
    );
    let bad = MapEnv::from_pairs([("HYPERFLEET_API_RETRY_ATTEMPTS", "many")]);
    let e = load(&opts(a, t, &bad, &[])).unwrap_err();
    assert_eq!(e.context, "failed to unmarshal adapter config");
    assert!(e.to_string().contains("retry_attempts"), "{e}");
}

#[test]
fn max_response_bytes_defaults_layers_and_refuses_negatives() {
    let f = Files::new();
    let t = f.write("t.yaml", "params: []\n");
    let a = f.write("a.yaml", ADAPTER);
    let none = MapEnv::default();
    let l = load(&opts(a.clone(), t.clone(), &none, &[])).unwrap();
    let api = &l.adapter.clients.hyperfleet_api;
    assert_eq!(api.effective_max_response_bytes(), 10 * 1024 * 1024);
    let env = MapEnv::from_pairs([("HYPERFLEET_API_MAX_RESPONSE_BYTES", "2048")]);
    let l = load(&opts(a.clone(), t.clone(), &env, &[])).unwrap();
    assert_eq!(
        l.adapter
            .clients
            .hyperfleet_api
            .effective_max_response_bytes(),
        2048
    );
    let flag = [("clients.hyperfleet_api.max_response_bytes", "4096")];
    let l = load(&opts(a, t.clone(), &env, &flag)).unwrap();
    assert_eq!(
        l.adapter
            .clients
            .hyperfleet_api
            .effective_max_response_bytes(),
        4096,
        "flag beats env"
    );
    let a = f.write(
        "n.yaml",
        "adapter:\n  name: x\nclients:\n  hyperfleet_api:\n    max_response_bytes: -1\n",
    );
    let e = load(&opts(a, t, &none, &[])).unwrap_err();
    assert!(
        e.to_string()
            .contains("clients.hyperfleet_api.max_response_bytes must not be negative"),
        "{e}"
    );
}

#[test]
fn adapter_config_is_strict_and_located() {
    let f = Files::new();
    let env = MapEnv::default();
    let t = f.write("t.yaml", "params: []\n");
    let a = f.write("a.yaml", "adapter:\n  name: x\nclients:\n  hyperfleetApi:\n    baseUrl: y\n  broker:\n    subscriptionId: z\n");
    let e = load(&opts(a, t.clone(), &env, &[])).unwrap_err();
    assert_eq!(e.context, "failed to parse adapter config YAML");
    let msgs: Vec<String> = e.problems.iter().map(|p| p.to_string()).collect();
    assert!(
        msgs[0].ends_with(
            ":4: clients.hyperfleetApi: field hyperfleetApi not found in type ClientsConfig"
        ),
        "{msgs:?}"
    );
    assert!(msgs[1].ends_with(":7: clients.broker.subscriptionId: field subscriptionId not found in type BrokerClientConfig"), "{msgs:?}");
    let a = f.write(
        "b.yaml",
        "adapter:\n  name: x\nclients:\n  hyperfleet_api:\n    timeout: 10\n",
    );
    let e = load(&opts(a, t.clone(), &env, &[])).unwrap_err();
    assert!(
        e.to_string()
            .contains("time: missing unit in duration \"10\""),
        "{e}"
    );
    let a = f.write("c.yaml", "adapter:\n  version: 1.0.0\n");
    let e = load(&opts(a, t, &env, &[])).unwrap_err();
    assert_eq!(e.context, "adapter config validation failed");
    assert!(e.to_string().contains("adapter.name is required"), "{e}");
}

#[test]
fn auth_and_version_rules() {
    let f = Files::new();
    let env = MapEnv::default();
    let t = f.write("t.yaml", "params: []\n");
    for (auth, msg) in [
        (
            "    auth: {}\n",
            "clients.hyperfleet_api.auth.token_path must be set when auth is configured",
        ),
        (
            "    auth:\n      token_path: rel/token\n",
            "must be an absolute path, got \"rel/token\"",
        ),
        (
            "    auth:\n      token_path: /t\n      token_cache_ttl: -1s\n",
            "token_cache_ttl must not be negative",
        ),
    ] {
        let a = f.write(
            "a.yaml",
            &format!("adapter:\n  name: x\nclients:\n  hyperfleet_api:\n{auth}"),
        );
        let e = load(&opts(a, t.clone(), &env, &[])).unwrap_err();
        assert!(e.to_string().contains(msg), "{e}");
    }
    let a = f.write("v.yaml", "adapter:\n  name: x\n  version: 0.2.0\n");
    let e = load(&opts(a, t.clone(), &env, &[])).unwrap_err();
    assert_eq!(e.context, "adapter version validation failed");
    assert!(e.to_string().contains("adapter version mismatch: config \"0.2.0\" (major.minor=0.2) != adapter \"0.1.5\" (major.minor=0.1)"), "{e}");
    let a = f.write("w.yaml", "adapter:\n  name: x\n  version: dev\n");
    let l = load(&opts(a, t, &env, &[])).unwrap();
    assert!(l.warnings.iter().any(|w| {
        w.message
            .contains("Skipping adapter version validation: config version is not valid semver")
    }));
}

#[test]
fn legacy_envelope_is_rejected_with_a_hint() {
    let f = Files::new();
    let env = MapEnv::default();
    let t = f.write("t.yaml", "params: []\n");
    let a = f.write("a.yaml", "apiVersion: hyperfleet.redhat.com/v1alpha1\nkind: AdapterConfig\nmetadata:\n  name: x\nspec:\n  adapter:\n    version: 0.1.0\n");
    let e = load(&opts(a.clone(), t, &env, &[])).unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains("unsupported apiVersion \"hyperfleet.redhat.com/v1alpha1\""),
        "{s}"
    );
    assert!(
        s.contains(&format!("adapter config migrate {}", a.display())),
        "{s}"
    );
    let errors = task_errors("kind: AdapterTaskConfig\nspec:\n  params: []\n");
    assert!(has(&errors, "unsupported config format"), "{errors:?}");
    assert!(has(&errors, "adapter config migrate "), "{errors:?}");
}

#[test]
fn params_rules() {
    let e = task_errors(
        "params:\n  - source: event.id\n  - name: b\n  - name: c\n    source: \"\"\n  - name: d\n    source: {}\n",
    );
    assert!(has(&e, "params[0].name is required"), "{e:?}");
    assert!(has(&e, "params[1].source is required"), "{e:?}");
    assert!(has(&e, "params[2].source is required"), "{e:?}");
    assert!(
        has(
            &e,
            "source: mapping must contain one of 'api_call', 'expression', or 'file'"
        ),
        "{e:?}"
    );
    let e = task_errors(
        "params:\n  - name: a\n    source:\n      expression: x\n      file: {path: /x}\n",
    );
    assert!(
        has(
            &e,
            "source: only one of 'api_call', 'expression', or 'file' may be set"
        ),
        "{e:?}"
    );
    let e = task_errors("params:\n  - name: a\n    source:\n      expression: \"  \"\n");
    assert!(has(&e, "source: expression must not be empty"), "{e:?}");
    let e = task_errors(
        "params:\n  - name: a\n    source: env.SURELY_NOT_SET_VAR\n    required: true\n",
    );
    assert!(
        has(
            &e,
            "params[0]: required environment variable SURELY_NOT_SET_VAR is not set"
        ),
        "{e:?}"
    );
    let e = task_errors("params:\n  - name: a\n    source:\n      file: {path: \"\"}\n");
    assert!(
        has(
            &e,
            "params[0].source.file.path: path is required for file source"
        ),
        "{e:?}"
    );
    let l = load_task("params:\n  - name: a\n    source:\n      file: {path: rel.txt}\n").unwrap();
    assert!(
        l.warnings
            .iter()
            .any(|w| w.message.contains("is not absolute"))
    );
    let e = task_errors(
        "params:\n  - name: a\n    source:\n      api_call: {method: GET, url: \"/c/{{ .later }}\"}\n  - name: later\n    source: event.id\n",
    );
    assert!(
        has(
            &e,
            "params[0].source.api_call.url: undefined template variable \"later\""
        ),
        "{e:?}"
    );
    let e = task_errors(
        "params:\n  - name: a\n    source:\n      api_call: {method: FETCH, url: /x}\n  - name: b\n    source:\n      api_call: {url: /x}\n",
    );
    assert!(
        has(
            &e,
            "params[0].source.api_call.method \"FETCH\" is invalid (allowed: GET, POST, PUT, PATCH, DELETE)"
        ),
        "{e:?}"
    );
    assert!(
        has(&e, "params[1].source.api_call.method is required"),
        "{e:?}"
    );
    let e = task_errors("params:\n  - name: a\n    source:\n      expression: \"a ==\"\n");
    assert!(
        has(&e, "params[0].source.expression: CEL parse error"),
        "{e:?}"
    );
}

#[test]
fn precondition_rules() {
    let e = task_errors(
        "preconditions:\n  - name: Bad-name\n    expression: \"true\"\n  - name: ok\n  - name: ops\n    conditions:\n      - field: a\n        operator: greaterThanOrEqual\n        value: 1\n      - field: b\n        operator: exists\n        value: 1\n      - field: c\n        operator: equals\n      - field: d\n        operator: in\n        value: x\n      - field: e\n        operator: equals\n        value: 1\n        values: [1]\n",
    );
    assert!(
        has(
            &e,
            "preconditions[0].name \"Bad-name\": must start with lowercase letter"
        ),
        "{e:?}"
    );
    assert!(
        has(&e, "preconditions[1]: must specify api_call, conditions"),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "preconditions[2].conditions[0].operator: invalid operator \"greaterThanOrEqual\", must be one of: equals, notEquals, in, notIn, contains, greaterThan, lessThan, exists"
        ),
        "{e:?}"
    );
    assert!(
        has(&e, "value/values should not be set for operator \"exists\""),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "preconditions[2].conditions[2]: value is required for operator \"equals\""
        ),
        "{e:?}"
    );
    assert!(has(&e, "value must be a list for operator \"in\""), "{e:?}");
    assert!(
        has(
            &e,
            "condition has both 'value' and 'values' keys; use only one"
        ),
        "{e:?}"
    );
    let e = task_errors(
        "preconditions:\n  - name: p\n    api_call: {method: GET, url: /x}\n    capture:\n      - name: a\n      - name: b\n        field: x\n        expression: y\n",
    );
    assert!(
        has(
            &e,
            "preconditions[0].capture[0]: must have either 'field' or 'expression' set"
        ),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "preconditions[0].capture[1]: 'field' and 'expression' are mutually exclusive"
        ),
        "{e:?}"
    );
    let l = load_task("preconditions:\n  - name: p\n    api_call: {method: GET, url: /x}\n    capture:\n      - name: a\n        field: status.phase\n").unwrap();
    assert!(l.warnings.iter().any(|w| {
        w.message
            .contains("DEPRECATED: precondition \"p\" uses api_call directly")
    }));
}

#[test]
fn resource_rules() {
    let e = task_errors(
        "resources:\n  - name: my-res\n    manifest: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n    discovery: {by_name: x}\n  - name: dup\n    manifest: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n  - name: dup\n    transport: {client: foo}\n    manifest: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n    discovery: {by_name: x, by_selectors: {label_selector: {a: b}}}\n  - name: m\n    transport: {client: maestro}\n    discovery: {by_selectors: {}}\n  - name: n\n    transport: {client: maestro, maestro: {}}\n    discovery: {by_selectors: {label_selector: {}}}\n    manifest: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n  - name: o\n    discovery: {namespace: ns}\n    manifest: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n",
    );
    assert!(
        has(
            &e,
            "resources[0].name \"my-res\": must start with lowercase letter and contain only letters, numbers, underscores (no hyphens)"
        ),
        "{e:?}"
    );
    assert!(has(&e, "resources[1].discovery is required"), "{e:?}");
    assert!(
        has(&e, "resources: contains duplicate name values"),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "resources[2].transport.client \"foo\" is invalid (allowed: kubernetes, maestro)"
        ),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "resources[2].discovery: 'by_selectors' and 'by_name' are mutually exclusive"
        ),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "resources[3].transport: maestro transport config is required when client is \"maestro\""
        ),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "resources[3].manifest: manifest is required for maestro transport"
        ),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "resources[3].discovery.by_selectors.label_selector is required"
        ),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "resources[4].transport.maestro.target_cluster is required"
        ),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "resources[4].discovery.by_selectors.label_selector: must have at least 1 element(s)"
        ),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "resources[5].discovery: must have either 'by_name' or 'by_selectors' set"
        ),
        "{e:?}"
    );
    let e = task_errors("resources:\n  - name: r\n    discovery: {by_name: x}\n");
    assert!(
        has(
            &e,
            "resources[0].manifest: manifest is required for kubernetes transport"
        ),
        "{e:?}"
    );
}

#[test]
fn lifecycle_rules() {
    let base = "resources:\n  - name: r\n    manifest: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n    discovery: {by_name: x}\n    lifecycle:\n";
    let e = task_errors(&format!(
        "{base}      create: {{}}\n      delete:\n        propagationPolicy: Later\n        when: {{expression: \"\"}}\n"
    ));
    assert!(
        has(
            &e,
            "lifecycle.create.when.expression is required when lifecycle.create is configured"
        ),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "invalid propagationPolicy \"Later\": must be one of Background, Foreground, Orphan"
        ),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "lifecycle.delete.when.expression is required: without it the resource will never be deleted"
        ),
        "{e:?}"
    );
    let e = task_errors(&format!(
        "{base}      delete:\n        when: {{expression: \"a ==\"}}\n"
    ));
    assert!(
        has(
            &e,
            "resources[0].lifecycle.delete.when.expression: CEL parse error"
        ),
        "{e:?}"
    );
    assert!(load_task(&format!("{base}      create:\n        when: {{expression: \"true\"}}\n      delete:\n        propagationPolicy: Foreground\n        when: {{expression: \"false\"}}\n")).is_ok());
}

#[test]
fn post_rules_and_templates() {
    let e = task_errors(
        "post:\n  payloads:\n    - name: a\n    - name: b\n      build: {x: 1}\n      build_ref: b.yaml\n    - build: {x: \"{{ .undefinedVar }}\", y: {expression: \"1 +\"}}\n  post_actions:\n    - name: Bad\n      when: {}\n",
    );
    assert!(
        has(
            &e,
            "post.payloads[0]: must have either 'build' or 'build_ref' set"
        ),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "post.payloads[1]: 'build' and 'build_ref' are mutually exclusive"
        ),
        "{e:?}"
    );
    assert!(has(&e, "post.payloads[2].name is required"), "{e:?}");
    assert!(
        has(
            &e,
            "post.payloads[2].build.x: undefined template variable \"undefinedVar\""
        ),
        "{e:?}"
    );
    assert!(
        has(&e, "post.payloads[2].build.y.expression: CEL parse error"),
        "{e:?}"
    );
    assert!(
        has(
            &e,
            "post.post_actions[0].name \"Bad\": must start with lowercase letter"
        ),
        "{e:?}"
    );
    assert!(
        has(&e, "post.post_actions[0].when.expression is required"),
        "{e:?}"
    );
    assert!(
        has(&e, "referenced file \"b.yaml\" does not exist"),
        "{e:?}"
    );
}

#[test]
fn file_references() {
    let f = Files::new();
    let env = MapEnv::default();
    let a = f.write("a.yaml", ADAPTER);
    f.write("job.yaml", "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: '{{ .clusterId }}'\n{{ if .addLabels }}  labels: {}\n{{ end }}");
    f.write("build.yaml", "status: \"{{ .clusterId }}\"\n");
    f.write("dir/.keep", "");
    let t = f.write(
        "t.yaml",
        "params:\n  - name: clusterId\n    source: event.id\n  - name: addLabels\n    source: event.x\nresources:\n  - name: job\n    manifest: {ref: job.yaml}\n    discovery: {by_name: x}\npost:\n  payloads:\n    - name: p\n      build_ref: build.yaml\n",
    );
    let l = load(&opts(a.clone(), t, &env, &[])).unwrap();
    let m = l.task.resources[0].manifest.as_ref().unwrap();
    assert!(
        m.as_str().unwrap().contains("{{ if .addLabels }}"),
        "ref content is kept as raw template text"
    );
    assert_eq!(
        l.task.post.as_ref().unwrap().payloads[0]
            .loaded_build
            .as_ref()
            .unwrap()["status"],
        "{{ .clusterId }}"
    );
    let t = f.write("t2.yaml", "resources:\n  - name: a\n    manifest: {ref: missing.yaml}\n    discovery: {by_name: x}\n  - name: b\n    manifest: {ref: dir}\n    discovery: {by_name: x}\n  - name: c\n    manifest: {ref: ../../etc/passwd}\n    discovery: {by_name: x}\n  - name: d\n    manifest: {ref: \"\"}\n    discovery: {by_name: x}\n");
    let e = load(&opts(a, t, &env, &[])).unwrap_err();
    let s = e.to_string();
    assert_eq!(e.context, "task config file reference validation failed");
    assert!(s.contains("resources[0].manifest.ref: referenced file \"missing.yaml\" does not exist (resolved to"), "{s}");
    assert!(
        s.contains("resources[1].manifest.ref: referenced path \"dir\" is a directory, not a file"),
        "{s}"
    );
    assert!(
        s.contains("resources[2].manifest.ref: path \"../../etc/passwd\" escapes base directory"),
        "{s}"
    );
    assert!(
        s.contains("resources[3].manifest.ref: manifest ref cannot be empty"),
        "{s}"
    );
}

/// A ref may not leave the task config directory through a symbolic link (to a file or to a
/// directory); links inside it — the layout of a Kubernetes ConfigMap mount — keep working.
#[test]
fn symlinked_refs_stay_inside_the_config_directory() {
    use std::os::unix::fs::symlink;
    let outside = Files::new();
    let secret = outside.write("secret.txt", "top secret\n");
    outside.write("dir/x.yaml", "kind: Secret\n");
    let f = Files::new();
    let env = MapEnv::default();
    let a = f.write("a.yaml", ADAPTER);
    let root = f.dir.path();
    symlink(&secret, root.join("job.yaml")).unwrap();
    symlink(outside.dir.path().join("dir"), root.join("manifests")).unwrap();
    let t = f.write(
        "t.yaml",
        "resources:\n  - name: a\n    manifest: {ref: job.yaml}\n    discovery: {by_name: x}\n  - name: b\n    manifest: {ref: manifests/x.yaml}\n    discovery: {by_name: x}\n",
    );
    let e = load(&opts(a, t, &env, &[])).unwrap_err();
    let s = e.to_string();
    assert!(!s.contains("top secret"), "{s}");
    for (i, r) in [(0, "job.yaml"), (1, "manifests/x.yaml")] {
        assert!(
            s.contains(&format!("resources[{i}].manifest.ref: referenced file {r:?} is a symbolic link (or inside one) to")),
            "{s}"
        );
    }
    assert!(s.contains("outside the task config directory"), "{s}");

    // The ConfigMap volume layout: every key a link into `..data`, itself a link to the
    // timestamped directory the kubelet swaps atomically.
    let cm = Files::new();
    let root = cm.dir.path();
    let stamp = "..2026_12_01_10_00_00.123456789";
    cm.write(&format!("{stamp}/adapter.yaml"), ADAPTER);
    cm.write(
        &format!("{stamp}/task.yaml"),
        "params:\n  - name: clusterId\n    source: event.id\nresources:\n  - name: job\n    manifest: {ref: job.yaml}\n    discovery: {by_name: x}\n",
    );
    cm.write(
        &format!("{stamp}/job.yaml"),
        "kind: Job\nmetadata: {name: x}\n",
    );
    symlink(stamp, root.join("..data")).unwrap();
    for key in ["adapter.yaml", "task.yaml", "job.yaml"] {
        symlink(format!("..data/{key}"), root.join(key)).unwrap();
    }
    let l = load(&opts(
        root.join("adapter.yaml"),
        root.join("task.yaml"),
        &env,
        &[],
    ))
    .unwrap();
    let m = l.task.resources[0].manifest.as_ref().unwrap();
    assert_eq!(m.as_str(), Some("kind: Job\nmetadata: {name: x}\n"));
}

#[test]
fn every_structural_error_is_reported_with_lines() {
    let e = load_task("params:\n  - name: a\n    sorce: event.id\npreconditions:\n  - name: p\n    expresion: \"true\"\n").unwrap_err();
    let lines: Vec<(usize, String)> = e.errors().map(|p| (p.line, p.message.clone())).collect();
    assert!(
        lines.contains(&(
            3,
            "params[0].sorce: field sorce not found in type Parameter".into()
        )),
        "{lines:?}"
    );
    assert!(
        lines.contains(&(
            6,
            "preconditions[0].expresion: field expresion not found in type Precondition".into()
        )),
        "{lines:?}"
    );
}

#[test]
fn redaction_hides_credentials() {
    let f = Files::new();
    let env = MapEnv::default();
    let a = f.write("a.yaml", "adapter:\n  name: x\nclients:\n  hyperfleet_api:\n    auth:\n      token_path: /var/run/token\n  maestro:\n    grpc_server_address: g:8090\n    auth:\n      tls_config:\n        ca_file: /ca.pem\n        cert_file: /cert.pem\n        key_file: /key.pem\n");
    let t = f.write("t.yaml", "params: []\n");
    let l = load(&opts(a, t, &env, &[])).unwrap();
    let dumped = crate::yaml::to_yaml_string(&serde_json::Value::Object(
        l.adapter.redacted().to_dump_value(),
    ));
    for secret in ["/ca.pem", "/cert.pem", "/key.pem", "/var/run/token"] {
        assert!(!dumped.contains(secret), "{secret} leaked:\n{dumped}");
    }
    assert_eq!(dumped.matches(adapter::REDACTED).count(), 4, "{dumped}");
    assert_eq!(
        l.adapter
            .clients
            .maestro
            .as_ref()
            .unwrap()
            .auth
            .tls_config
            .as_ref()
            .unwrap()
            .ca_file,
        "/ca.pem",
        "the loaded config keeps real values"
    );
}

#[test]
fn scope_checks_warn_about_out_of_scope_identifiers() {
    let l = load_task("params:\n  - name: a\n    source:\n      expression: \"b + 1\"\n  - name: b\n    source: event.x\npreconditions:\n  - name: p\n    expression: \"a > 0 && items.exists(i, i > b) && nowhere\"\n").unwrap();
    let w: Vec<&str> = l.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        w.iter().any(
            |m| m.contains("params[0].source.expression: CEL identifier \"b\" is not in scope")
        ),
        "{w:?}"
    );
    assert!(
        w.iter().any(|m| m.contains("CEL identifier \"nowhere\"")),
        "{w:?}"
    );
    assert!(
        w.iter().any(|m| m.contains("CEL identifier \"items\"")),
        "{w:?}"
    );
    assert!(
        !w.iter().any(|m| m.contains("\"i\"")),
        "comprehension variables are bound: {w:?}"
    );
}
