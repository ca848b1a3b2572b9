//! `adapter config migrate`: every legacy fixture under `tests/fixtures/migrate/<case>/legacy`
//! is migrated and must (1) load with the current loader with no warning but the ones the
//! contract sanctions, (2) equal, as data, the hand-written `reference/` pair — the current
//! format file the Go adapter of that version behaved as, written from the legacy-format
//! contract, not from the converter's output — and (3) dry-run on the same event, API
//! responses and discovery to the same JSON trace as the reference. Refusal fixtures name the
//! file, line and reason the converter must give. The coverage table maps every mapping row of
//! the contract's §3 to the fixtures that exercise it, and fails when a row has none.
//!
//! The command line itself (stdout, `--diff`, `--in-place`, `-o DIR`, refusals, the pointer in
//! the loader's error) is driven through the real binary.

use hyperfleet_adapter::config::migrate::{self, Input, Options, OutputRole, Role};
use hyperfleet_adapter::config::{self, LoadOptions, MapEnv};
use hyperfleet_adapter::dryrun;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_adapter");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/migrate")
}

/// `case.json` of a fixture.
#[derive(Debug, serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Case {
    /// Legacy files given as FILE arguments.
    inputs: Vec<String>,
    /// A legacy file given with --task-config.
    #[serde(default)]
    task: Option<String>,
    #[serde(default = "dev_version")]
    binary_version: String,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    keep_inert: bool,
    #[serde(default)]
    set_version: Option<String>,
    /// Substrings of the loader warnings the contract sanctions for this case.
    #[serde(default)]
    sanctioned_warnings: Vec<String>,
    /// Substrings the change report must contain.
    #[serde(default)]
    report: Vec<String>,
    /// The dry run is expected to record execution errors (same in both traces).
    #[serde(default)]
    expect_errors: bool,
    /// A refusal case: the file, line and a substring of the reason.
    #[serde(default)]
    refuse: Option<Refuse>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Refuse {
    file: String,
    line: usize,
    contains: String,
}

fn dev_version() -> String {
    "0.0.0-dev".into()
}

fn read_case(dir: &Path) -> Case {
    let text = std::fs::read_to_string(dir.join("case.json"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}/case.json: {e}", dir.display()))
}

fn cases() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(fixtures())
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("case.json").is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    out.sort();
    out
}

struct FsRefs;

impl migrate::RefReader for FsRefs {
    fn read(&self, dir: &Path, rel: &str) -> std::io::Result<String> {
        std::fs::read_to_string(dir.join(rel))
    }
}

fn inputs(dir: &Path, case: &Case) -> Vec<Input> {
    let legacy = dir.join("legacy");
    let any = case.inputs.iter().map(|f| (f, Role::Any));
    any.chain(case.task.iter().map(|t| (t, Role::Task)))
        .map(|(f, role)| Input {
            path: legacy.join(f),
            text: std::fs::read_to_string(legacy.join(f)).expect("legacy file"),
            role,
        })
        .collect()
}

fn options(case: &Case) -> Options {
    Options {
        keep_inert: case.keep_inert,
        fix_star_namespace: false,
        split: false,
        set_version: case.set_version.clone(),
        binary_version: case.binary_version.clone(),
    }
}

/// Writes the migrated files as `adapter-config.yaml`, `task-config.yaml` and the ref files.
fn write_migrated(m: &migrate::Migration, out: &Path) {
    for o in &m.outputs {
        let target = match o.role {
            OutputRole::Adapter => out.join("adapter-config.yaml"),
            OutputRole::Task => out.join("task-config.yaml"),
            OutputRole::Ref => out.join(&o.relative),
        };
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, &o.text).unwrap();
    }
}

fn yaml_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    hyperfleet_adapter::yaml::parse(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_json()
}

fn load(dir: &Path, case: &Case, env: &MapEnv) -> config::Loaded {
    let opts = LoadOptions {
        adapter_path: Some(dir.join("adapter-config.yaml")),
        task_path: Some(dir.join("task-config.yaml")),
        flags: Vec::new(),
        env,
        binary_version: case.binary_version.clone(),
    };
    config::load(&opts).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// The JSON trace of a dry run of the pair in `dir` on the case's event and responses.
fn trace(case_dir: &Path, loaded: config::Loaded, env: MapEnv) -> Value {
    let file = |n: &str| Some(case_dir.join(n)).filter(|p| p.is_file());
    let options = dryrun::Options {
        event: case_dir.join("event.json"),
        api_responses: file("api-responses.json"),
        discovery: file("discovery.json"),
        time: Some("2026-02-20T12:00:00Z".parse().unwrap()),
        verbose: true,
        json: true,
    };
    let task_text = loaded.task_value.to_string();
    let dry = dryrun::run(loaded, options, Arc::new(env)).expect("dry run");
    let env_names = dryrun::trace::referenced_env_names(&task_text);
    let ops = dry.store.operations();
    dryrun::trace::json(&dryrun::trace::TraceInput {
        result: &dry.result,
        operations: &ops,
        verbose: true,
        env_names: &env_names,
    })
}

/// Migrates one conversion case and checks it against its reference; returns the report.
fn check_case(name: &str, dir: &Path, case: &Case) -> Vec<String> {
    let m = migrate::migrate(&inputs(dir, case), &options(case), &FsRefs)
        .unwrap_or_else(|e| panic!("{name}: refused: {e}"));
    let report: Vec<String> = m.changes.iter().map(ToString::to_string).collect();
    for want in &case.report {
        assert!(
            report.iter().any(|l| l.contains(want.as_str())),
            "{name}: the report lacks {want:?}:\n{}",
            report.join("\n")
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    write_migrated(&m, tmp.path());
    let reference = dir.join("reference");
    for f in ["adapter-config.yaml", "task-config.yaml"] {
        assert_eq!(
            yaml_json(&tmp.path().join(f)),
            yaml_json(&reference.join(f)),
            "{name}: migrated {f} differs from the reference as data:\n{}",
            std::fs::read_to_string(tmp.path().join(f)).unwrap()
        );
    }
    for o in m.outputs.iter().filter(|o| o.role == OutputRole::Ref) {
        let r = reference.join(&o.relative);
        assert!(
            r.is_file(),
            "{name}: the reference lacks the ref file {}",
            r.display()
        );
        assert_eq!(
            yaml_json(&tmp.path().join(&o.relative)),
            yaml_json(&r),
            "{name}: ref {} differs",
            o.relative.display()
        );
    }
    let env = || MapEnv(case.env.clone());
    let migrated = load(tmp.path(), case, &env());
    for w in &migrated.warnings {
        assert!(
            case.sanctioned_warnings
                .iter()
                .any(|s| w.message.contains(s.as_str())),
            "{name}: the migrated pair loads with an unsanctioned warning: {}",
            w.message
        );
    }
    let expected = trace(dir, load(&reference, case, &env()), env());
    let got = trace(dir, migrated, env());
    assert_eq!(
        got,
        expected,
        "{name}: the dry-run traces differ\nmigrated: {}\nreference: {}",
        serde_json::to_string_pretty(&got).unwrap(),
        serde_json::to_string_pretty(&expected).unwrap()
    );
    let has = |k: &str| {
        expected
            .get(k)
            .is_some_and(|v| v.as_array().is_some_and(|a| !a.is_empty()))
    };
    assert!(
        has("resources") || has("postActions"),
        "{name}: the reference dry run did nothing; the comparison would prove nothing: {expected}"
    );
    assert_eq!(
        expected.get("errors").is_some(),
        case.expect_errors,
        "{name}: unexpected execution errors: {expected}"
    );
    report
}

#[test]
fn every_legacy_fixture_migrates_to_its_reference_and_dry_runs_the_same() {
    let mut checked = 0;
    for (name, dir) in cases() {
        let case = read_case(&dir);
        if case.refuse.is_none() {
            check_case(&name, &dir, &case);
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} conversion fixtures");
}

#[test]
fn migrating_current_files_changes_nothing() {
    for (name, dir) in cases() {
        let case = read_case(&dir);
        if case.refuse.is_some() {
            continue;
        }
        let reference = dir.join("reference");
        let files = [
            ("adapter-config.yaml", Role::Any),
            ("task-config.yaml", Role::Task),
        ];
        let inputs: Vec<Input> = files
            .iter()
            .map(|(f, role)| Input {
                path: reference.join(f),
                text: std::fs::read_to_string(reference.join(f)).unwrap(),
                role: *role,
            })
            .collect();
        let m = migrate::migrate(&inputs, &options(&case), &FsRefs)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.outputs.len(), 2, "{name}");
        for o in &m.outputs {
            assert!(
                !o.changed(),
                "{name}: {} changed:\n{}",
                o.path.display(),
                o.text
            );
        }
        assert!(
            m.changes
                .iter()
                .all(|c| c.message.contains("nothing to do")),
            "{name}: {:?}",
            m.changes
        );
    }
}

#[test]
fn task_keys_in_an_adapter_file_are_dropped_or_split() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("adapter.yaml");
    std::fs::write(
        &file,
        "apiVersion: hyperfleet.redhat.com/v1alpha1\nkind: AdapterConfig\nmetadata:\n  name: a\nspec:\n  clients:\n    broker:\n      topic: t\n  params:\n    - name: clusterId\n      source: id\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let out = run(&["config", "migrate", f]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "adapter:\n  name: a\nclients:\n  broker:\n    topic: t\n"
    );
    assert!(
        text(&out.stderr).contains(
            "adapter.yaml:9: drop: spec.params: a task key in the adapter file was inert"
        ),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["config", "migrate", "--split", f]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stream = text(&out.stdout);
    assert!(
        stream.contains(
            "--- # task-config.yaml\nparams:\n  - name: clusterId\n    source: event.id\n"
        ),
        "{stream}"
    );
}

#[test]
fn refusals_name_the_file_and_line() {
    let mut checked = 0;
    for (name, dir) in cases() {
        let case = read_case(&dir);
        let Some(r) = &case.refuse else { continue };
        let err = migrate::migrate(&inputs(&dir, &case), &options(&case), &FsRefs)
            .expect_err(&format!("{name}: converted, must be refused"));
        assert!(err.file.ends_with(&r.file), "{name}: {err}");
        assert_eq!(err.line, r.line, "{name}: {err}");
        let text = err.to_string();
        assert!(text.contains(&r.contains), "{name}: {text}");
        assert!(
            text.contains(&format!("{}:{}:", r.file, r.line)),
            "{name}: {text}"
        );
        // The binary: exit 1, the same located message, nothing on stdout.
        let mut args = vec!["config".to_string(), "migrate".to_string()];
        args.extend(
            case.inputs
                .iter()
                .map(|f| dir.join("legacy").join(f).display().to_string()),
        );
        if let Some(t) = &case.task {
            args.push("--task-config".into());
            args.push(dir.join("legacy").join(t).display().to_string());
        }
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(out.stdout.is_empty(), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{}:{}:", r.file, r.line)),
            "{name}: {stderr}"
        );
        assert!(stderr.contains(&r.contains), "{name}: {stderr}");
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} refusal fixtures");
}

/// The mapping rows of the contract's §3 (first cell of each table row, or the section for the
/// prose sections 3.6, 3.7, 3.11) → the fixtures that exercise them.
const COVERAGE: &[(&str, &[&str])] = &[
    // §3.1
    (
        "3.1 `apiVersion`",
        &["m-merged", "refuse-apiversion", "refuse-embedded"],
    ),
    (
        "3.1 `kind`",
        &["m-merged", "e-kubernetes", "d-dump", "multi-doc"],
    ),
    (
        "3.1 `metadata.name` (adapter / M / D file)",
        &["m-merged", "e-kubernetes", "d-dump"],
    ),
    ("3.1 `metadata.name` (E-task file)", &["e-kubernetes"]),
    ("3.1 `metadata.labels`", &["m-merged", "e-kubernetes"]),
    ("3.1 `metadata.namespace`", &["m-merged"]),
    (
        "3.1 `metadata.*` (anything else), top-level `status`",
        &["m-merged"],
    ),
    (
        "3.1 `spec`",
        &["m-merged", "e-kubernetes", "e-maestro", "d-dump"],
    ),
    (
        "3.1 `spec.adapter.version`",
        &["m-merged", "e-kubernetes", "version-dropped"],
    ),
    (
        "3.1 `spec.adapter.<other>` (e.g. `name`, `description`)",
        &["m-merged"],
    ),
    // §3.2
    ("3.2 `debugConfig`", &["e-kubernetes", "d-dump"]),
    (
        "3.2 `log.level`, `log.format`, `log.output`",
        &["e-kubernetes"],
    ),
    (
        "3.2 `clients.hyperfleetApi`",
        &["e-kubernetes", "e-maestro"],
    ),
    ("3.2 `clients.hyperfleetApi.baseUrl`", &["e-kubernetes"]),
    ("3.2 `clients.hyperfleetApi.version`", &["e-kubernetes"]),
    ("3.2 `clients.hyperfleetApi.timeout`", &["e-kubernetes"]),
    (
        "3.2 `clients.hyperfleetApi.retryAttempts`",
        &["e-kubernetes"],
    ),
    (
        "3.2 `clients.hyperfleetApi.retryBackoff`",
        &["e-kubernetes"],
    ),
    ("3.2 `clients.hyperfleetApi.baseDelay`", &["e-kubernetes"]),
    ("3.2 `clients.hyperfleetApi.maxDelay`", &["e-kubernetes"]),
    (
        "3.2 `clients.hyperfleetApi.defaultHeaders`",
        &["e-kubernetes"],
    ),
    ("3.2 —", &["e-kubernetes"]),
    (
        "3.2 `clients.broker.subscriptionId`",
        &["e-kubernetes", "e-maestro"],
    ),
    ("3.2 `clients.broker.topic`", &["e-kubernetes", "e-maestro"]),
    ("3.2 `clients.kubernetes.apiVersion`", &["e-kubernetes"]),
    ("3.2 `clients.kubernetes.kubeConfigPath`", &["e-kubernetes"]),
    ("3.2 `clients.kubernetes.qps`", &["e-kubernetes"]),
    ("3.2 `clients.kubernetes.burst`", &["e-kubernetes"]),
    ("3.2 `clients.maestro`", &["e-maestro", "e2-manifestwork"]),
    ("3.2 `clients.maestro.grpcServerAddress`", &["e-maestro"]),
    ("3.2 `clients.maestro.httpServerAddress`", &["e-maestro"]),
    ("3.2 `clients.maestro.sourceId`", &["e-maestro"]),
    ("3.2 `clients.maestro.clientId`", &["e-maestro"]),
    (
        "3.2 `clients.maestro.timeout`",
        &["e-maestro", "refuse-maestro-timeout"],
    ),
    (
        "3.2 `clients.maestro.serverHealthinessTimeout`",
        &["e-maestro"],
    ),
    ("3.2 `clients.maestro.retryAttempts`", &["e-maestro"]),
    ("3.2 `clients.maestro.insecure`", &["e-maestro"]),
    (
        "3.2 `clients.maestro.keepalive.time` / `.timeout`",
        &["e-maestro"],
    ),
    ("3.2 `clients.maestro.auth.type`", &["e-maestro"]),
    ("3.2 `clients.maestro.auth.tlsConfig`", &["e-maestro"]),
    (
        "3.2 `…tlsConfig.caFile` / `certFile` / `keyFile`",
        &["e-maestro"],
    ),
    ("3.2 `…tlsConfig.httpCaFile`", &["e-maestro"]),
    (
        "3.2 `clients.maestro.retryBackoff`, `keepalive.permitWithoutStream`, `tlsConfig.serverName`",
        &["e-maestro"],
    ),
    // §3.3
    ("3.3 `spec.hyperfleetApi.baseUrl`", &["m-merged"]),
    ("3.3 `spec.hyperfleetApi.timeout`", &["m-merged"]),
    ("3.3 `spec.hyperfleetApi.retryAttempts`", &["m-merged"]),
    ("3.3 `spec.hyperfleetApi.retryBackoff`", &["m-merged"]),
    (
        "3.3 `spec.hyperfleetApi.<other>` (`version`, `baseDelay`, …)",
        &["m-merged"],
    ),
    ("3.3 `spec.kubernetes.apiVersion`", &["m-merged"]),
    (
        "3.3 H2: top-level `hyperfleet_api.*`, `kubernetes.*`",
        &["refuse-hybrid"],
    ),
    ("3.3 (absent)", &["m-merged"]),
    (
        "3.3 `spec.params`, `spec.preconditions`, `spec.resources`, `spec.post`",
        &["m-merged", "m0-refs"],
    ),
    // §3.4
    (
        "3.4 `params[].name`, `.type`, `.description`, `.required`, `.default`",
        &["m-merged", "e-kubernetes"],
    ),
    (
        "3.4 `params[].source` (string)",
        &["m-merged", "e-kubernetes"],
    ),
    ("3.4 `preconditions[].name`", &["e-kubernetes"]),
    (
        "3.4 `preconditions[].apiCall`",
        &["m-merged", "e-kubernetes"],
    ),
    (
        "3.4 `….apiCall.method` / `url` / `timeout` / `body`",
        &["m-merged", "e-kubernetes"],
    ),
    (
        "3.4 `….apiCall.headers[].name` / `.value`",
        &["m-merged", "e-kubernetes", "e-anchors"],
    ),
    ("3.4 `….apiCall.retryAttempts`", &["m-merged"]),
    ("3.4 `….apiCall.retryBackoff`", &["m-merged"]),
    (
        "3.4 M only: a literal relative `apiCall.url` (text not starting with `http://`, `https://` or `{{`) whose path does not start with `api/` once the leading `/` is dropped",
        &["m-merged"],
    ),
    (
        "3.4 `preconditions[].capture[].name` / `.field` / `.expression`",
        &["m-merged", "e-kubernetes"],
    ),
    (
        "3.4 `preconditions[].capture[].description` (or any other key)",
        &["m-merged"],
    ),
    (
        "3.4 `preconditions[].capture[].default`",
        &["e-kubernetes", "keep-inert"],
    ),
    (
        "3.4 `preconditions[].conditions[].field` / `.operator`",
        &["m-merged", "e-kubernetes"],
    ),
    (
        "3.4 `preconditions[].conditions[].value` / `.values`",
        &["m-merged", "m0-refs"],
    ),
    (
        "3.4 `preconditions[].expression`",
        &["m-merged", "e-kubernetes"],
    ),
    (
        "3.4 `preconditions[].log.message` / `.level`",
        &["m-merged"],
    ),
    (
        "3.4 `resources[].name`",
        &[
            "m-merged",
            "refuse-resource-name",
            "refuse-duplicate-resource",
        ],
    ),
    (
        "3.4 `resources[].manifest` (map, string, or `{ref}`)",
        &["m-merged", "e-kubernetes", "e-maestro"],
    ),
    ("3.4 `resources[].manifest.refs` (M0)", &["m0-refs"]),
    ("3.4 `resources[].recreateOnChange`", &["m-merged"]),
    (
        "3.4 `resources[].discovery.namespace`",
        &["m-merged", "m0-refs"],
    ),
    (
        "3.4 `resources[].discovery.byName`",
        &["m-merged", "e-kubernetes"],
    ),
    (
        "3.4 `resources[].discovery.bySelectors`",
        &["e-kubernetes", "e-maestro"],
    ),
    (
        "3.4 `resources[].discovery.bySelectors.labelSelector`",
        &["e-kubernetes", "e-maestro"],
    ),
    (
        "3.4 `resources[].transport.client`",
        &["e-maestro", "e2-manifestwork"],
    ),
    (
        "3.4 `resources[].transport.maestro.targetCluster`",
        &["e-maestro", "e2-manifestwork"],
    ),
    (
        "3.4 `resources[].transport.maestro.manifestWork` (E2)",
        &["e2-manifestwork"],
    ),
    (
        "3.4 `resources[].transport.maestro.<other>` (e.g. `discovery`)",
        &["e-maestro"],
    ),
    ("3.4 `resources[].nestedDiscoveries`", &["e-maestro"]),
    ("3.4 `resources[].nestedDiscoveries[].name`", &["e-maestro"]),
    (
        "3.4 `resources[].nestedDiscoveries[].discovery.*`",
        &["e-maestro"],
    ),
    ("3.4 `post.payloads[].name`", &["m-merged", "e-kubernetes"]),
    ("3.4 `post.payloads[].build`", &["m-merged", "e-kubernetes"]),
    ("3.4 `post.payloads[].buildRef`", &["e-kubernetes"]),
    ("3.4 `post.postActions`", &["m-merged", "e-kubernetes"]),
    ("3.4 `post.postActions[].name`", &["e-kubernetes"]),
    (
        "3.4 `post.postActions[].apiCall.*`",
        &["m-merged", "e-kubernetes"],
    ),
    ("3.4 `post.postActions[].log`", &["m-merged"]),
    (
        "3.4 `post.postActions[].when`, `post.payloads[].when`",
        &["e-kubernetes", "keep-inert"],
    ),
    (
        "3.4 `spec.<unknown>` (e.g. `resourceTemplate`, seen in one public adapter)",
        &["m-merged"],
    ),
    // §3.5
    ("3.5 `env.X`, `event.X`", &["m-merged", "e-kubernetes"]),
    (
        "3.5 any other non-empty string `S`",
        &["m-merged", "e-kubernetes"],
    ),
    ("3.5 `secret.…`, `configmap.…`", &["refuse-secret-source"]),
    ("3.5 `\"\"` / absent", &["refuse-empty-source"]),
    // §3.6–§3.7 (prose)
    ("3.6", &["m-merged", "e-kubernetes", "e-maestro"]),
    ("3.7", &["e-kubernetes", "e-maestro"]),
    // §3.8
    (
        "3.8 `apiVersion`, `kind`, `spec` wrapper",
        &["m-merged", "e-kubernetes"],
    ),
    (
        "3.8 `metadata.labels`, `metadata.namespace`",
        &["m-merged", "e-kubernetes"],
    ),
    ("3.8 `spec.hyperfleetApi.baseUrl` (M)", &["m-merged"]),
    ("3.8 `spec.log.*` (E-adapter)", &["e-kubernetes"]),
    (
        "3.8 `postActions[].when`, `payloads[].when`",
        &["e-kubernetes", "keep-inert"],
    ),
    ("3.8 `capture[].default`", &["e-kubernetes", "keep-inert"]),
    ("3.8 `spec.hyperfleetApi.version` (M)", &["m-merged"]),
    (
        "3.8 `lifecycle`, `nested_discoveries` or any other F key found under its F spelling in a legacy file",
        &["e-kubernetes"],
    ),
    (
        "3.8 keys with no current meaning (`capture[].description`, `maestro.retryBackoff`, `keepalive.permitWithoutStream`, `tlsConfig.serverName`, `transport.maestro.discovery`, `spec.resourceTemplate`, CRD decorations, …)",
        &["m-merged", "e-maestro"],
    ),
    (
        "3.8 `transport.maestro.manifestWork` (E2)",
        &["e2-manifestwork"],
    ),
    ("3.8 `manifest.refs` (M0)", &["m0-refs"]),
    (
        "3.8 param source `secret.*` / `configmap.*`",
        &["refuse-secret-source"],
    ),
    (
        "3.8 template variable `eventMetadata` (Dec 2025)",
        &["refuse-eventmetadata"],
    ),
    (
        "3.8 P-shape keys (`storeResponseAs`, `extract`, `post.params`, `spec.subscription`, `spec.apiClient`, `postconditions`, …)",
        &["refuse-proposal"],
    ),
    // §3.9
    (
        "3.9 bool: `debug_config`, `maestro.insecure`",
        &["e-kubernetes", "e-maestro", "refuse-yes-bool"],
    ),
    (
        "3.9 int: `retry_attempts`, `maestro.retry_attempts`, `burst`",
        &["e-kubernetes", "e-maestro"],
    ),
    ("3.9 float: `qps`", &["e-kubernetes"]),
    (
        "3.9 duration: `hyperfleet_api.timeout`, `base_delay`, `max_delay`",
        &["e-kubernetes"],
    ),
    (
        "3.9 duration text kept as string: `maestro.timeout`, `server_healthiness_timeout`",
        &["e-maestro", "refuse-maestro-timeout"],
    ),
    (
        "3.9 text never read: `maestro.keepalive.*`, `maestro.client_id`, `maestro.auth.type`",
        &["e-maestro"],
    ),
    ("3.9 strings", &["e-maestro"]),
    // §3.10
    (
        "3.10 `adapter.version` / `spec.adapter.version`",
        &["m-merged", "version-dropped"],
    ),
    ("3.10 Version compatibility", &["version-dropped"]),
    ("3.10 Unknown keys", &["m-merged", "e-maestro"]),
    ("3.10 Adapter-file typing", &["e-kubernetes", "e-maestro"]),
    ("3.10 Precondition / post-action names", &["e-kubernetes"]),
    (
        "3.10 `exists` condition with a value",
        &["m-merged", "m0-refs"],
    ),
    ("3.10 `discovery.namespace`", &["m0-refs"]),
    ("3.10 Kubernetes client", &["e-kubernetes"]),
    ("3.10 Base URL", &["m-merged"]),
    ("3.10 Relative API URLs", &["m-merged"]),
    ("3.10 Default log format", &["e-kubernetes"]),
    // §3.11 (prose)
    ("3.11", &["e-kubernetes", "refuse-resource-name"]),
];

#[test]
fn every_coverage_entry_names_existing_fixtures() {
    let names: Vec<String> = cases().into_iter().map(|(n, _)| n).collect();
    for (row, fixtures) in COVERAGE {
        assert!(!fixtures.is_empty(), "{row}: no fixture");
        for f in *fixtures {
            assert!(
                names.iter().any(|n| n == f),
                "{row}: fixture {f} does not exist"
            );
        }
    }
    for n in &names {
        assert!(
            COVERAGE.iter().any(|(_, f)| f.contains(&n.as_str())),
            "fixture {n} covers no mapping row"
        );
    }
}

/// `../shared/spec/legacy-format.md`, or `None` (with a clear message) when it is not beside the
/// project. With `HYPERFLEET_REQUIRE_CONFORMANCE=1` a missing contract is a failure.
fn contract() -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/spec/legacy-format.md");
    match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) => {
            if std::env::var("HYPERFLEET_REQUIRE_CONFORMANCE").is_ok_and(|v| v == "1") {
                panic!(
                    "{} is required (HYPERFLEET_REQUIRE_CONFORMANCE=1): {e}",
                    path.display()
                );
            }
            eprintln!(
                "NOTE: {} not found ({e}); contract test not run",
                path.display()
            );
            None
        }
    }
}

/// The row ids of the contract's §3: the first cell of every table row of §3.1–§3.11, and the
/// prose sections by number.
fn contract_rows(text: &str) -> Vec<String> {
    let start = text
        .find("## 3. Key-by-key mapping")
        .expect("§3 in the contract");
    let end = start + text[start..].find("\n## 4.").expect("§4 after §3");
    let mut rows = Vec::new();
    let mut section = String::new();
    let mut header = true;
    for line in text[start..end].lines() {
        if let Some(rest) = line.strip_prefix("### ") {
            section = rest.split_whitespace().next().unwrap_or("").to_string();
            if ["3.6", "3.7", "3.11"].contains(&section.as_str()) {
                rows.push(section.clone());
            }
            header = true;
            continue;
        }
        let Some(cells) = line.strip_prefix('|') else {
            header = true;
            continue;
        };
        let first = cells.split('|').next().unwrap_or("").trim();
        if first.starts_with("---") {
            header = false;
            continue;
        }
        if !header {
            rows.push(format!("{section} {first}"));
        }
    }
    rows
}

#[test]
fn every_mapping_row_of_the_contract_has_a_fixture() {
    let Some(text) = contract() else { return };
    let rows = contract_rows(&text);
    assert!(rows.len() > 100, "only {} rows parsed from §3", rows.len());
    let missing: Vec<&String> = rows
        .iter()
        .filter(|r| !COVERAGE.iter().any(|(id, _)| id == r))
        .collect();
    assert!(
        missing.is_empty(),
        "§3 rows without a fixture: {missing:#?}"
    );
    let stale: Vec<&str> = COVERAGE
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !rows.iter().any(|r| r == id))
        .collect();
    assert!(
        stale.is_empty(),
        "coverage rows not in the contract: {stale:#?}"
    );
}

/// The ```yaml blocks of each `### 6.N` section of the contract.
fn examples(text: &str) -> BTreeMap<String, Vec<String>> {
    let start = text.find("## 6. Examples").expect("§6 in the contract");
    let end = start + text[start..].find("\n## 7.").expect("§7 after §6");
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut section = String::new();
    let mut block: Option<String> = None;
    for line in text[start..end].lines() {
        if let Some(rest) = line.strip_prefix("### ") {
            section = rest.split_whitespace().next().unwrap_or("").to_string();
        } else if line == "```yaml" {
            block = Some(String::new());
        } else if line == "```" {
            if let Some(b) = block.take() {
                out.entry(section.clone()).or_default().push(b);
            }
        } else if let Some(b) = block.as_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    out
}

/// Loads a pair and dry-runs it on the shared event and API responses.
fn example_trace(dir: &Path, env: &MapEnv) -> Value {
    let case = Case {
        binary_version: dev_version(),
        ..Case::default()
    };
    let loaded = load(dir, &case, env);
    trace(&fixtures().join("m-merged"), loaded, MapEnv(env.0.clone()))
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// Migrates `legacy` (in a fresh directory) and returns the directory holding the migrated
/// pair as `adapter-config.yaml` / `task-config.yaml`, with the ref files.
fn migrate_example(legacy: &[(&str, &str)], task_role: Option<&str>) -> tempfile::TempDir {
    let src = tempfile::tempdir().unwrap();
    write(src.path(), legacy);
    let inputs: Vec<Input> = legacy
        .iter()
        .filter(|(n, _)| n.ends_with("-legacy.yaml"))
        .map(|(n, t)| Input {
            path: src.path().join(n),
            text: t.to_string(),
            role: if Some(*n) == task_role {
                Role::Task
            } else {
                Role::Any
            },
        })
        .collect();
    let m = migrate::migrate(
        &inputs,
        &options(&Case {
            binary_version: dev_version(),
            ..Case::default()
        }),
        &FsRefs,
    )
    .unwrap_or_else(|e| panic!("refused: {e}"));
    let out = tempfile::tempdir().unwrap();
    write_migrated(&m, out.path());
    out
}

#[test]
fn the_contract_examples_migrate_to_their_documented_output() {
    let Some(text) = contract() else { return };
    let ex = examples(&text);
    let env = MapEnv(BTreeMap::from([(
        "HYPERFLEET_API_BASE_URL".to_string(),
        "http://api.example:8000".to_string(),
    )]));
    let same = |got: &Path, want: &str, what: &str| {
        let want = hyperfleet_adapter::yaml::parse(want).unwrap().to_json();
        assert_eq!(
            yaml_json(got),
            want,
            "{what}: migrated differs from the contract's output"
        );
    };
    let compare = |migrated: &Path, expected: &[(&str, &str)], what: &str| {
        let exp = tempfile::tempdir().unwrap();
        write(exp.path(), expected);
        for (name, text) in expected {
            same(&migrated.join(name), text, &format!("{what} {name}"));
        }
        let got = example_trace(migrated, &env);
        let want = example_trace(exp.path(), &env);
        assert_eq!(got, want, "{what}: dry-run traces differ");
        let has = |k: &str| {
            want.get(k)
                .is_some_and(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        };
        assert!(
            has("resources") || has("postActions"),
            "{what}: empty trace {want}"
        );
    };

    // §6.1: M → two files; report.yaml changes on one line.
    let b = &ex["6.1"];
    let report_new = b[1].replace(
        "expression: metadata.name ",
        "expression: config.adapter.name ",
    );
    assert_ne!(report_new, b[1], "§6.1 report.yaml changed shape");
    let out = migrate_example(
        &[("adapter-legacy.yaml", &b[0]), ("report.yaml", &b[1])],
        None,
    );
    compare(
        out.path(),
        &[
            ("adapter-config.yaml", &b[2]),
            ("task-config.yaml", &b[3]),
            ("report.yaml", &report_new),
        ],
        "§6.1",
    );

    // §6.5: D → two files.
    let d = &ex["6.5"];
    let out = migrate_example(&[("dump-legacy.yaml", &d[0])], None);
    compare(
        out.path(),
        &[("adapter-config.yaml", &d[1]), ("task-config.yaml", &d[2])],
        "§6.5",
    );

    // §6.2: E adapter file (paired with §6.4's task for the dry run).
    let a = &ex["6.2"];
    let t = &ex["6.4"];
    let mw_new = t[2].replace("{{ .metadata.name }}", "{{ .adapter.name }}");
    let out = migrate_example(
        &[
            ("adapter-legacy.yaml", &a[0]),
            ("task-legacy.yaml", &t[0]),
            ("manifestwork.yaml", &t[2]),
        ],
        Some("task-legacy.yaml"),
    );
    compare(
        out.path(),
        &[
            ("adapter-config.yaml", &a[1]),
            ("task-config.yaml", &t[1]),
            ("manifestwork.yaml", &mw_new),
        ],
        "§6.2 + §6.4",
    );
    // §6.4's E2 variant: the ref under transport.maestro.manifestWork, no nestedDiscoveries.
    let e2 = t[0]
        .replace(
            "          targetCluster: \"{{ .clusterId }}\"\n      manifest:\n        ref: manifestwork.yaml\n",
            "          targetCluster: \"{{ .clusterId }}\"\n          manifestWork:\n            ref: manifestwork.yaml\n",
        );
    let e2 = e2[..e2
        .find("      nestedDiscoveries:")
        .expect("§6.4 nestedDiscoveries")]
        .to_string();
    let out = migrate_example(
        &[
            ("adapter-legacy.yaml", &a[0]),
            ("task-legacy.yaml", &e2),
            ("manifestwork.yaml", &t[2]),
        ],
        Some("task-legacy.yaml"),
    );
    let t_out = &t[1][..t[1].find("    nested_discoveries:").expect("§6.4 output")];
    compare(
        out.path(),
        &[
            ("adapter-config.yaml", &a[1]),
            ("task-config.yaml", t_out),
            ("manifestwork.yaml", &mw_new),
        ],
        "§6.4 (E2)",
    );

    // §6.3: E task file (paired with §6.2's adapter; job.yaml is not in the contract, so a
    // minimal one without .metadata references is used on both sides).
    let e = &ex["6.3"];
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: \"job-{{ .clusterId }}\"\n  namespace: \"{{ .clusterId }}\"\n  annotations:\n    hyperfleet.io/generation: \"1\"\n";
    let out = migrate_example(
        &[
            ("adapter-legacy.yaml", &a[0]),
            ("task-legacy.yaml", &e[0]),
            ("job.yaml", job),
        ],
        Some("task-legacy.yaml"),
    );
    compare(
        out.path(),
        &[
            ("adapter-config.yaml", &a[1]),
            ("task-config.yaml", &e[1]),
            ("job.yaml", job),
        ],
        "§6.3",
    );
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A copy of a fixture's legacy files in a scratch directory.
fn scratch(case: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(fixtures().join(case).join("legacy")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    dir
}

#[test]
fn one_file_goes_to_stdout_as_is_with_comments_and_the_report_on_stderr() {
    let legacy = fixtures().join("e-maestro/legacy/adapter.yaml");
    let out = run(&["config", "migrate", legacy.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let yaml = text(&out.stdout);
    // The comment stays on its key; the dropped key's comment goes with it.
    assert!(yaml.contains("    timeout: 20s\n"), "{yaml}");
    assert!(!yaml.contains("never read"), "{yaml}");
    assert!(yaml.starts_with("adapter:\n  name: mw-adapter\n"), "{yaml}");
    assert!(!yaml.contains("---"), "{yaml}");
    let report = text(&out.stderr);
    assert!(
        report.contains("adapter.yaml:23: drop: spec.clients.maestro.retryBackoff: inert"),
        "{report}"
    );
    assert!(
        report.contains("adapter.yaml:21: coerce: spec.clients.maestro.retryAttempts: \"3\" -> 3"),
        "{report}"
    );
}

#[test]
fn comments_survive_and_manifest_keys_keep_their_spelling() {
    let dir = scratch("e-kubernetes");
    let d = dir.path();
    let out = run(&[
        "config",
        "migrate",
        d.join("adapter.yaml").to_str().unwrap(),
        "--task-config",
        d.join("task.yaml").to_str().unwrap(),
        "-o",
        d.join("out").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let adapter = std::fs::read_to_string(d.join("out/adapter.yaml")).unwrap();
    assert!(
        adapter.contains("debug_config: true          # a string, accepted by the v0.1 loader"),
        "{adapter}"
    );
    let task = std::fs::read_to_string(d.join("out/task.yaml")).unwrap();
    assert!(
        task.starts_with("# Task of the job adapter (v0.1.x)\n"),
        "{task}"
    );
    assert!(
        task.contains("source: event.config.region        # an event field in v0.1"),
        "{task}"
    );
    assert!(
        task.contains("field: metadata.name        # the response's own field"),
        "{task}"
    );
    // Inside the manifest ref: camelCase Kubernetes keys stay, the template is rewritten.
    let job = std::fs::read_to_string(d.join("out/job.yaml")).unwrap();
    for key in [
        "serviceAccountName: bootstrap",
        "restartPolicy: Never",
        "apiVersion: batch/v1",
    ] {
        assert!(job.contains(key), "{job}");
    }
    assert!(job.contains("owner: \"{{ .adapter.name }}\""), "{job}");
    assert!(!job.contains("service_account_name"), "{job}");
    // The ManifestWork's OCM keys stay byte for byte.
    let dir = scratch("e-maestro");
    let d = dir.path();
    let out = run(&[
        "config",
        "migrate",
        d.join("adapter.yaml").to_str().unwrap(),
        d.join("task.yaml").to_str().unwrap(),
        "-o",
        d.join("out").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let legacy = std::fs::read_to_string(d.join("manifestwork.yaml")).unwrap();
    let mw = std::fs::read_to_string(d.join("out/manifestwork.yaml")).unwrap();
    assert_eq!(
        mw,
        legacy.replace("{{ .metadata.name }}", "{{ .adapter.name }}")
    );
    for key in [
        "manifestConfigs:",
        "resourceIdentifier:",
        "feedbackRules:",
        "jsonPaths:",
        "propagationPolicy:",
    ] {
        assert!(mw.contains(key), "{mw}");
    }
    let task = std::fs::read_to_string(d.join("out/task.yaml")).unwrap();
    assert!(task.contains("app: cfg"), "{task}");
}

#[test]
fn a_split_goes_to_stdout_as_a_stream_and_to_two_files_with_dash_o() {
    let dir = scratch("m-merged");
    let d = dir.path();
    let file = d.join("adapter.yaml");
    let out = run(&["config", "migrate", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stream = text(&out.stdout);
    assert!(
        stream.starts_with("--- # adapter.yaml\n# Merged single-file adapter"),
        "{stream}"
    );
    assert!(
        stream.contains("--- # task-config.yaml\n# Merged single-file adapter"),
        "{stream}"
    );
    let out = run(&[
        "config",
        "migrate",
        file.to_str().unwrap(),
        "-o",
        d.join("out").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let a = std::fs::read_to_string(d.join("out/adapter.yaml")).unwrap();
    let t = std::fs::read_to_string(d.join("out/task-config.yaml")).unwrap();
    assert!(a.contains("clients:\n  hyperfleet_api:\n    base_url: http://api.example:8000   # ignored by the M binary\n"), "{a}");
    assert!(
        t.contains("    source: event.id                 # bare path: event field \"id\"\n"),
        "{t}"
    );
    // The written pair is what `validate` accepts.
    let v = run(&[
        "validate",
        "--config",
        d.join("out/adapter.yaml").to_str().unwrap(),
        "--task-config",
        d.join("out/task-config.yaml").to_str().unwrap(),
    ]);
    assert!(
        text(&v.stdout).contains("0 error(s)"),
        "{}",
        text(&v.stdout)
    );
    // The input is left alone; -o DIR refuses to write over an input.
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        std::fs::read_to_string(fixtures().join("m-merged/legacy/adapter.yaml")).unwrap()
    );
    let over = run(&[
        "config",
        "migrate",
        file.to_str().unwrap(),
        "-o",
        d.to_str().unwrap(),
    ]);
    assert_eq!(over.status.code(), Some(1));
    assert!(
        text(&over.stderr).contains("is an input file"),
        "{}",
        text(&over.stderr)
    );
}

#[test]
fn diff_prints_a_unified_diff_and_writes_nothing() {
    let dir = scratch("e-maestro");
    let file = dir.path().join("adapter.yaml");
    let before = std::fs::read_to_string(&file).unwrap();
    let out = run(&["config", "migrate", "--diff", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let diff = text(&out.stdout);
    let name = file.display().to_string();
    assert!(
        diff.starts_with(&format!("--- {name}\n+++ {name}\n@@ -1,")),
        "{diff}"
    );
    assert!(
        diff.contains("\n-apiVersion: hyperfleet.redhat.com/v1alpha1\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n-      grpcServerAddress: maestro-grpc:8090\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n+    grpc_server_address: maestro-grpc:8090\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n+adapter:\n   name: mw-adapter\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n-      retryBackoff: exponential   # never read\n"),
        "{diff}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    // A split task file is a new file: diffed against /dev/null.
    let dir = scratch("d-dump");
    let out = run(&[
        "config",
        "migrate",
        "--diff",
        dir.path().join("dump.yaml").to_str().unwrap(),
    ]);
    let diff = text(&out.stdout);
    assert!(diff.contains("--- /dev/null\n+++ "), "{diff}");
    assert!(diff.contains("task-config.yaml\n@@ -0,0 +1,"), "{diff}");
}

#[test]
fn in_place_writes_back_and_keeps_a_backup() {
    let dir = scratch("e-kubernetes");
    let d = dir.path();
    let (adapter, task) = (d.join("adapter.yaml"), d.join("task.yaml"));
    let legacy = std::fs::read_to_string(&task).unwrap();
    let job = std::fs::read_to_string(d.join("job.yaml")).unwrap();
    let out = run(&[
        "config",
        "migrate",
        "--in-place",
        adapter.to_str().unwrap(),
        "--task-config",
        task.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(d.join("task.yaml.bak")).unwrap(),
        legacy
    );
    assert_eq!(
        std::fs::read_to_string(d.join("job.yaml.bak")).unwrap(),
        job
    );
    assert!(d.join("adapter.yaml.bak").is_file());
    let now = std::fs::read_to_string(&task).unwrap();
    assert!(
        now.contains("post_actions:") && !now.contains("apiVersion: hyperfleet"),
        "{now}"
    );
    assert!(text(&out.stderr).contains(&format!("backup {}", d.join("task.yaml.bak").display())));
    // The migrated pair loads; a second run has nothing to do and writes nothing.
    let v = run(&[
        "validate",
        "-c",
        adapter.to_str().unwrap(),
        "-t",
        task.to_str().unwrap(),
    ]);
    assert!(
        text(&v.stdout).contains("0 error(s)"),
        "{}",
        text(&v.stdout)
    );
    let again = run(&[
        "config",
        "migrate",
        "--in-place",
        adapter.to_str().unwrap(),
        "--task-config",
        task.to_str().unwrap(),
    ]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("already in the current format; nothing to do"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(std::fs::read_to_string(&task).unwrap(), now);
    // An existing backup is never overwritten.
    std::fs::write(&task, &legacy).unwrap();
    let clash = run(&[
        "config",
        "migrate",
        "--in-place",
        adapter.to_str().unwrap(),
        "--task-config",
        task.to_str().unwrap(),
    ]);
    assert_eq!(clash.status.code(), Some(1));
    assert!(
        text(&clash.stderr).contains("task.yaml.bak already exists"),
        "{}",
        text(&clash.stderr)
    );
}

#[test]
fn a_refusal_names_file_and_line_and_writes_nothing() {
    let dir = scratch("refuse-secret-source");
    let task = dir.path().join("task.yaml");
    let out = run(&[
        "config",
        "migrate",
        "--in-place",
        "--task-config",
        task.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "Error: {}:10: spec.params[1].source: param source \"secret.fleet.api-token.token\"",
            task.display()
        )),
        "{err}"
    );
    assert!(!dir.path().join("task.yaml.bak").exists());
    // A task file given as --task-config that is an adapter file is refused with the kind found.
    let adapter = fixtures().join("e-maestro/legacy/adapter.yaml");
    let out = run(&[
        "config",
        "migrate",
        "--task-config",
        adapter.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("given as the task config file, but it is an AdapterConfig"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn serve_validate_and_config_dump_point_at_the_command_for_a_legacy_file() {
    let adapter = fixtures().join("e-maestro/legacy/adapter.yaml");
    let task = fixtures().join("e-maestro/legacy/task.yaml");
    let (a, t) = (adapter.to_str().unwrap(), task.to_str().unwrap());
    for args in [
        vec!["validate", "-c", a, "-t", t],
        vec!["config-dump", "-c", a, "-t", t],
        vec!["serve", "-c", a, "-t", t, "--dry-run-event", "x.json"],
    ] {
        let out = run(&args);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            all.contains("unsupported apiVersion \\\"hyperfleet.redhat.com/v1alpha1\\\"")
                || all.contains("unsupported apiVersion \"hyperfleet.redhat.com/v1alpha1\""),
            "{args:?}: {all}"
        );
        assert!(
            all.contains(&format!("adapter config migrate {a}")),
            "{args:?}: {all}"
        );
    }
}
