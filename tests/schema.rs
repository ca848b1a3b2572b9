//! The JSON Schemas of the config files (`docs/schema/`): the committed files are what the
//! generator prints, they are valid draft-7 schemas, every example and conformance config
//! validates against them, and they refuse what the loader refuses (typos, wrong enums, wrong
//! types), checked case by case against the loader itself.

use hyperfleet_adapter::config::schema::{ConfigFile, render};
use hyperfleet_adapter::config::{LoadOptions, MapEnv, broker, load_report};
use kit::cli::{adapter, conformance, stdout};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn committed(file: ConfigFile) -> PathBuf {
    root().join("docs/schema").join(file.schema_file())
}

fn schema(file: ConfigFile) -> Value {
    serde_json::from_str(&render(file)).expect("the schema is JSON")
}

fn validator(file: ConfigFile) -> jsonschema::Validator {
    jsonschema::draft7::new(&schema(file)).expect("the schema compiles")
}

/// The YAML file as the loader reads it (yaml.v3's scalar rules), as JSON.
fn yaml_json(text: &str) -> Value {
    hyperfleet_adapter::yaml::parse(text)
        .expect("valid YAML")
        .to_json()
}

/// The schema's complaints about `text` (empty when it validates).
fn problems(v: &jsonschema::Validator, text: &str) -> Vec<String> {
    let doc = yaml_json(text);
    v.iter_errors(&doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn committed_schemas_are_what_the_generator_prints() {
    let update = std::env::var("UPDATE_SCHEMAS").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for file in ConfigFile::ALL {
        let path = committed(file);
        let want = render(file);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &want).unwrap();
            continue;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            stale.push(format!(
                "adapter schema {} > docs/schema/{}",
                file.name(),
                file.schema_file()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "docs/schema/ does not match the config types; regenerate with\n  \
         UPDATE_SCHEMAS=1 cargo test --all-features --test schema committed_schemas\nor\n  {}",
        stale.join("\n  ")
    );
}

#[test]
fn the_schema_command_prints_the_generator_output() {
    for file in ConfigFile::ALL {
        let out = adapter(&["schema", file.name()], &[]);
        assert_eq!(out.status.code(), Some(0), "schema {}", file.name());
        assert_eq!(stdout(&out), render(file), "schema {}", file.name());
    }
    let out = adapter(&["schema", "adaptor"], &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unknown file is a usage error"
    );
    let err = kit::cli::stderr(&out);
    assert!(
        err.contains("[possible values: adapter, task, broker]"),
        "{err}"
    );
}

#[test]
fn schemas_are_valid_draft7_with_descriptions_everywhere() {
    for file in ConfigFile::ALL {
        let s = schema(file);
        jsonschema::draft7::meta::validate(&s)
            .unwrap_or_else(|e| panic!("{}: not a draft-7 schema: {e}", file.name()));
        assert_eq!(s["$schema"], "http://json-schema.org/draft-07/schema#");
        let mut missing = Vec::new();
        undescribed(&s, "", &mut missing);
        assert!(
            missing.is_empty(),
            "{}: properties without a description: {missing:?}",
            file.name()
        );
    }
}

/// Paths of properties whose schema has no description.
fn undescribed(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(props)) = m.get("properties") {
                for (name, p) in props {
                    if p.get("description").is_none() {
                        out.push(format!("{at}/{name}"));
                    }
                }
            }
            for (k, child) in m {
                // Constraint fragments restate properties already described.
                if !matches!(k.as_str(), "allOf" | "if" | "then" | "else" | "not") {
                    undescribed(child, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| undescribed(i, at, out)),
        _ => {}
    }
}

fn assert_valid(file: ConfigFile, v: &jsonschema::Validator, path: &Path, text: &str) {
    let p = problems(v, text);
    assert!(
        p.is_empty(),
        "{} does not validate against the {} schema:\n  {}",
        path.display(),
        file.name(),
        p.join("\n  ")
    );
}

#[test]
fn project_examples_validate_and_name_their_schema() {
    let examples = root().join("examples");
    let mut adapters = Vec::new();
    let mut tasks = Vec::new();
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let task = path.join("task-config.yaml");
            if task.is_file() {
                tasks.push(task);
            }
        } else if path.extension().is_some_and(|e| e == "yaml") {
            adapters.push(path);
        }
    }
    assert!(
        adapters.len() >= 2 && tasks.len() >= 3,
        "{adapters:?} {tasks:?}"
    );
    for (file, paths) in [(ConfigFile::Adapter, &adapters), (ConfigFile::Task, &tasks)] {
        let v = validator(file);
        for path in paths {
            let text = std::fs::read_to_string(path).unwrap();
            assert_valid(file, &v, path, &text);
            let modeline = "# yaml-language-server: $schema=";
            let first = text.lines().next().unwrap_or_default();
            assert!(
                first.starts_with(modeline) && first.ends_with(file.schema_file()),
                "{}: the first line should be the editor modeline naming {}",
                path.display(),
                file.schema_file()
            );
        }
    }
}

/// Which kind of config file a conformance file is, by its name; `None` for manifests, Helm
/// values and other files that are not configs.
fn kind_of(path: &Path) -> Option<ConfigFile> {
    let name = path.file_name()?.to_str()?;
    if !name.ends_with(".yaml") || name == "values.yaml" {
        return None;
    }
    if name.contains("task-config") {
        Some(ConfigFile::Task)
    } else if name.contains("adapter-config") {
        Some(ConfigFile::Adapter)
    } else if name.starts_with("broker") {
        Some(ConfigFile::Broker)
    } else {
        None
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Files of the corpus the schemas must refuse, as the loader refuses them.
const REFUSED: &[(&str, &str)] = &[
    (
        "upstream/test/integration/config-loader/testdata/adapter-config-template.yaml",
        "the old merged single-file format",
    ),
    (
        "upstream/test/testdata/dryrun/kubernetes/dryrun-kubernetes-adatepr-task-config-invalid.yaml",
        "the invalid dry-run task config",
    ),
];

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn every_conformance_config_validates() {
    let Some(c) = conformance() else { return };
    let mut files = Vec::new();
    yaml_files(&c, &mut files);
    files.sort();
    let mut counts = [0usize; 3];
    for path in files {
        let Some(file) = kind_of(&path) else { continue };
        let rel = path.strip_prefix(&c).unwrap().to_str().unwrap().to_string();
        let mut text = std::fs::read_to_string(&path).unwrap();
        if rel.ends_with("broker-configmap-pubsub-template.yaml") {
            // A ConfigMap whose `data["broker.yaml"]` is the broker config (the first document).
            let doc = text.split("\n---").next().unwrap().to_string();
            text = yaml_json(&doc)["data"]["broker.yaml"]
                .as_str()
                .expect("the ConfigMap holds broker.yaml")
                .to_string();
        }
        let v = validator(file);
        match REFUSED.iter().find(|(p, _)| *p == rel) {
            Some((_, why)) => assert!(
                !problems(&v, &text).is_empty(),
                "{rel} ({why}) should not validate against the {} schema",
                file.name()
            ),
            None => assert_valid(file, &v, &path, &text),
        }
        counts[ConfigFile::ALL.iter().position(|f| *f == file).unwrap()] += 1;
    }
    // 8 adapter configs, 14 task configs (dry-run, templates, the charts' as written and as
    // mounted), 2 broker configs in the corpus: a file the classification missed shows here.
    assert_eq!(counts, [8, 14, 2], "adapter, task, broker configs found");
}

// ---- the schema refuses what the loader refuses ---------------------------------------------

const ADAPTER_OK: &str = "adapter:\n  name: a\n";

/// Whether the loader accepts `adapter_text` + `task_text` (errors, not warnings).
fn loader_accepts(adapter_text: &str, task_text: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("adapter.yaml");
    let t = dir.path().join("task.yaml");
    std::fs::write(&a, adapter_text).unwrap();
    std::fs::write(&t, task_text).unwrap();
    let env = MapEnv::default();
    let report = load_report(&LoadOptions {
        adapter_path: Some(a),
        task_path: Some(t),
        flags: Vec::new(),
        env: &env,
        binary_version: "0.0.0-dev".into(),
    });
    report.loaded.is_some() && !report.problems.iter().any(|p| p.is_error())
}

/// Whether the broker loader reads `text` without error or warning.
fn broker_loader_accepts(text: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("broker.yaml");
    std::fs::write(&f, text).unwrap();
    broker::load_from(&MapEnv::default(), Some(&f)).is_ok_and(|c| c.warnings.is_empty())
}

/// Each case: the document, and whether it is valid. The loader must agree, and so must the
/// schema.
fn check_agreement(file: ConfigFile, cases: &[(&str, bool)]) {
    let v = validator(file);
    let mut wrong = Vec::new();
    for (text, valid) in cases {
        let loader = match file {
            ConfigFile::Adapter => loader_accepts(text, ""),
            ConfigFile::Task => loader_accepts(ADAPTER_OK, text),
            ConfigFile::Broker => broker_loader_accepts(text),
        };
        let p = problems(&v, text);
        if loader != *valid || p.is_empty() != *valid {
            wrong.push(format!(
                "--- expected {}: loader {loader}, schema {} {p:?}\n{text}",
                if *valid { "valid" } else { "invalid" },
                p.is_empty()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn adapter_schema_and_loader_agree() {
    let api = |body: &str| format!("{ADAPTER_OK}clients:\n  hyperfleet_api:\n    {body}\n");
    let cases: Vec<(String, bool)> = vec![
        (ADAPTER_OK.into(), true),
        ("adapter:\n  version: 0.2.0\n".into(), false),
        ("adapter:\n  name: \"  \"\n".into(), false),
        ("debug_config: true\n".into(), false),
        (format!("{ADAPTER_OK}debug_config: yes\n"), false),
        (format!("{ADAPTER_OK}debug_config: true\n"), true),
        (format!("{ADAPTER_OK}log:\n  level: loud\n"), true),
        (format!("{ADAPTER_OK}log:\n  format: TEXT\n"), true),
        (format!("{ADAPTER_OK}log:\n  format: xml\n"), false),
        (format!("{ADAPTER_OK}log:\n  output: file\n"), false),
        (format!("{ADAPTER_OK}log:\n"), true),
        (format!("{ADAPTER_OK}clients:\n  hyperfleetApi: {{}}\n"), false),
        (format!("{ADAPTER_OK}clients:\n  maestro:\n"), true),
        (format!("{ADAPTER_OK}clients:\n  kubernetes:\n    qps: 2.5\n    burst: 5\n"), true),
        (format!("{ADAPTER_OK}clients:\n  kubernetes:\n    burst: 2.5\n"), false),
        (api("timeout: 1m30s"), true),
        (api("timeout: 0"), true),
        (api("timeout: 10"), false),
        (api("timeout: soon"), false),
        (api("retry_attempts: three"), false),
        (api("retry_backoff: linear"), true),
        (api("retry_backoff: fibonacci"), false),
        (api("version: 1"), true),
        (api("default_headers: {X-A: 1, X-B: b}"), true),
        (api("default_headers: [a]"), false),
        (api("auth: {token_path: /var/run/token}"), true),
        (api("auth: {token_path: token}"), false),
        (api("auth: {token_cache_ttl: 5s}"), false),
        (api("max_response_bytes: -1"), false),
        (api("baseUrl: http://x"), false),
        (
            format!("{ADAPTER_OK}clients:\n  maestro:\n    timeout: 5s\n    retry_attempts: 2\n"),
            true,
        ),
        (
            "apiVersion: hyperfleet.redhat.com/v1alpha1\nkind: AdapterConfig\nspec:\n  adapter:\n    name: a\n".into(),
            false,
        ),
    ];
    let cases: Vec<(&str, bool)> = cases.iter().map(|(t, v)| (t.as_str(), *v)).collect();
    check_agreement(ConfigFile::Adapter, &cases);
}

const RESOURCE: &str = "resources:\n  - name: ns\n    manifest:\n      apiVersion: v1\n      kind: Namespace\n      metadata:\n        name: x\n";

#[test]
fn task_schema_and_loader_agree() {
    let param = |body: &str| format!("params:\n  - name: p\n    {body}\n");
    let pre = |body: &str| format!("preconditions:\n  - name: ok\n    {body}\n");
    let cond = |body: &str| pre(&format!("conditions:\n      - {{field: a, {body}}}"));
    let res = |body: &str| format!("{RESOURCE}    {body}\n");
    let by_name = "discovery: {by_name: x}";
    let post = |body: &str| format!("post:\n  {body}\n");
    let cases: Vec<(String, bool)> = vec![
        (String::new(), true),
        ("params:\n".into(), true),
        ("parameters: []\n".into(), false),
        (param("source: event.id"), true),
        (param("source: 5"), true),
        (param("source: event.id\n    type: int"), true),
        (param("source: event.id\n    type: integer"), false),
        (param("source: event.id\n    default: {a: [1]}"), true),
        (param("type: string"), false),
        (param("source:"), false),
        (param("source: [a]"), false),
        (param("source: {expression: \"1 + 1\"}"), true),
        (param("source: {expression: \"\"}"), false),
        (param("source: {expression: 1}"), false),
        (param("source: {api_call: {method: GET, url: /x}}"), true),
        (
            param("source: {api_call: {method: GET, url: /x, retry_attempts: 2}}"),
            true,
        ),
        (param("source: {api_call: {method: get, url: /x}}"), false),
        (param("source: {api_call: {method: GET}}"), false),
        (
            param("source: {api_call: {method: GET, url: /x, verb: 1}}"),
            false,
        ),
        (
            param("source: {api_call: {method: GET, url: /x, headers: [{name: a, value: 1}]}}"),
            false,
        ),
        (
            param("source: {api_call: {method: GET, url: /x}, expression: x}"),
            false,
        ),
        (param("source: {file: {path: /etc/x}}"), true),
        (param("source: {file: {path: /etc/x, trim: \"no\"}}"), false),
        (param("source: {file: {path: \"\"}}"), false),
        (param("source: {other: 1}"), false),
        (cond("operator: equals, value: 1"), true),
        (cond("operator: eq, value: 1"), false),
        (cond("operator: exists"), true),
        (cond("operator: exists, value: 1"), false),
        (cond("operator: in, values: [a, b]"), true),
        (cond("operator: in, value: a"), false),
        (cond("operator: equals"), false),
        (cond("operator: equals, value: 1, values: 1"), false),
        (cond("operator: equals, value: ~"), true),
        (pre("expression: \"1 == 1\""), true),
        (pre("expression: \" \""), false),
        (pre("log: {message: hi}"), false),
        (
            "preconditions:\n  - name: Bad-name\n    expression: \"true\"\n".into(),
            false,
        ),
        (res(by_name), true),
        (res(""), false),
        (
            res("discovery: {by_name: x, by_selectors: {label_selector: {a: b}}}"),
            false,
        ),
        (
            res("discovery: {by_selectors: {label_selector: {a: b}}}"),
            true,
        ),
        (
            res("discovery: {by_selectors: {label_selector: {}}}"),
            false,
        ),
        (res("discovery: {by_selectors: {}}"), false),
        (
            res(&format!("{by_name}\n    transport: {{client: kubernetes}}")),
            true,
        ),
        (
            res(&format!("{by_name}\n    transport: {{client: maestro}}")),
            false,
        ),
        (
            res(&format!(
                "{by_name}\n    transport: {{client: maestro, maestro: {{target_cluster: c}}}}"
            )),
            true,
        ),
        (
            res(&format!(
                "{by_name}\n    transport: {{client: maestro, maestro: {{target_cluster: \"\"}}}}"
            )),
            false,
        ),
        (
            res(&format!("{by_name}\n    transport: {{client: docker}}")),
            false,
        ),
        (res(&format!("{by_name}\n    transport: {{}}")), false),
        (
            res(&format!(
                "{by_name}\n    lifecycle: {{delete: {{when: {{expression: \"true\"}}}}}}"
            )),
            true,
        ),
        (
            res(&format!(
                "{by_name}\n    lifecycle: {{delete: {{propagationPolicy: Foreground, when: {{expression: \"true\"}}}}}}"
            )),
            true,
        ),
        (
            res(&format!(
                "{by_name}\n    lifecycle: {{delete: {{propagationPolicy: Sideways, when: {{expression: \"true\"}}}}}}"
            )),
            false,
        ),
        (
            res(&format!("{by_name}\n    lifecycle: {{delete: {{}}}}")),
            false,
        ),
        (
            res(&format!(
                "{by_name}\n    lifecycle: {{create: {{when: {{}}}}}}"
            )),
            false,
        ),
        (res(&format!("{by_name}\n    lifecycle: {{}}")), true),
        (
            res(&format!("{by_name}\n    recreate_on_change: \"yes\"")),
            false,
        ),
        (
            res(&format!(
                "{by_name}\n    nested_discoveries: [{{name: w, discovery: {{by_name: y}}}}]"
            )),
            true,
        ),
        (
            res(&format!("{by_name}\n    nested_discoveries: [{{name: w}}]")),
            false,
        ),
        (res(&format!("{by_name}\n    nested_discoveries:")), true),
        (
            "resources:\n  - name: ns\n    discovery: {by_name: x}\n".into(),
            false,
        ),
        (post("payloads: [{name: s, build: {a: b}}]"), true),
        (
            post("payloads: [{name: s, build: {a: b}, when: {expression: \"true\"}}]"),
            true,
        ),
        (
            post("payloads: [{name: s, build: {a: b}, when: {}}]"),
            false,
        ),
        (post("payloads: [{name: s}]"), false),
        (
            post("payloads: [{name: s, build: {a: b}, build_ref: b.yaml}]"),
            false,
        ),
        (
            post("post_actions: [{name: report, log: {message: hi}}]"),
            true,
        ),
        (
            post("post_actions: [{name: report, log: {message: hi, level: loud}}]"),
            true,
        ),
        (post("post_actions: [{name: report-status}]"), false),
        (
            post(
                "post_actions: [{name: report, api_call: {method: PUT, url: /x, headers: [{name: a, value: 1}]}}]",
            ),
            true,
        ),
        (
            post(
                "post_actions: [{name: report, api_call: {method: PUT, url: /x, retry_attempts: \"2\"}}]",
            ),
            false,
        ),
        (
            post("post_actions: [{name: report, api_call: {method: PUT, url: /x, timeout: soon}}]"),
            true,
        ),
        (post("postActions: []"), false),
    ];
    let cases: Vec<(&str, bool)> = cases.iter().map(|(t, v)| (t.as_str(), *v)).collect();
    check_agreement(ConfigFile::Task, &cases);
}

#[test]
fn broker_schema_and_loader_agree() {
    let rabbit = |extra: &str| {
        format!("broker:\n  type: rabbitmq\n  rabbitmq:\n    url: amqp://u:p@h:5672/\n{extra}")
    };
    let pubsub = |extra: &str| {
        format!("broker:\n  type: googlepubsub\n  googlepubsub:\n    project_id: p\n{extra}")
    };
    let cases: Vec<(String, bool)> = vec![
        (rabbit(""), true),
        (
            rabbit("    exchange_type: fanout\n    prefetch_count: 20\n"),
            true,
        ),
        (rabbit("    prefetch_count: \"20\"\n"), true),
        (rabbit("    prefetch_count: -1\n"), false),
        (rabbit("    prefetch_count: 70000\n"), false),
        (rabbit("    exchange_type: weird\n"), false),
        (rabbit("    publisher_confirm: 1\n"), true),
        (rabbit("    publisher_confirm: \"True\"\n"), true),
        (rabbit("    publisher_confirm: \"yes\"\n"), false),
        (rabbit("    exchange_typo: topic\n"), false),
        (rabbit("    queue: [a]\n"), false),
        (rabbit("subscriber:\n  parallelism: 4\n"), true),
        (rabbit("subscriber:\n  parallelism: many\n"), false),
        (rabbit("log_config: true\n"), true),
        (
            "broker:\n  type: RabbitMQ\n  rabbitmq:\n    url: amqp://h/\n".into(),
            true,
        ),
        ("broker:\n  type: kafka\n".into(), false),
        (
            pubsub("    message_retention_duration: 7d\n    expiration_ttl: \"0\"\n"),
            true,
        ),
        (
            pubsub("    retry_min_backoff: 10s\n    retry_max_backoff: 600s\n"),
            true,
        ),
        (pubsub("    retry_max_backoff: 10\n"), false),
        (
            pubsub("    ack_deadline_seconds: 0\n    num_goroutines: 0\n"),
            true,
        ),
        (pubsub("    ack_deadline_seconds: 5\n"), false),
        (pubsub("    dead_letter_max_attempts: 200\n"), false),
        (pubsub("    num_goroutines: abc\n"), false),
        (pubsub("    topic: t\n    dead_letter_topic: d\n"), true),
        (pubsub("    projectid: x\n"), false),
    ];
    let cases: Vec<(&str, bool)> = cases.iter().map(|(t, v)| (t.as_str(), *v)).collect();
    check_agreement(ConfigFile::Broker, &cases);
}
