//! The conformance corpus (`../shared/conformance`): every config gets the verdict its README
//! lists, through the real binary (`config-dump` and `validate`).

use kit::cli::{adapter, conformance, stderr, stdout};
use std::path::Path;

/// Env the dry-run task configs read (`env.REGION`, `env.ADAPTER_NAME` are optional).
const ENV: &[(&str, &str)] = &[
    ("HYPERFLEET_API_BASE_URL", "http://api.example:8000"),
    ("HYPERFLEET_API_VERSION", "v1"),
];

fn dump(c: &Path, adapter_cfg: &str, task: &str, env: &[(&str, &str)]) -> std::process::Output {
    let a = c.join(adapter_cfg);
    let t = c.join(task);
    adapter(
        &[
            "config-dump",
            "-c",
            a.to_str().unwrap(),
            "-t",
            t.to_str().unwrap(),
        ],
        env,
    )
}

fn assert_loads(c: &Path, adapter_cfg: &str, task: &str) {
    let out = dump(c, adapter_cfg, task, ENV);
    assert!(
        out.status.success(),
        "{adapter_cfg} + {task} should load:\n{}",
        stderr(&out)
    );
    let yaml = stdout(&out);
    assert!(
        yaml.starts_with("post:") || yaml.starts_with("log:") || yaml.starts_with("adapter:"),
        "{yaml}"
    );
    assert!(yaml.contains("\nadapter:\n    name: "), "{yaml}");
    assert!(yaml.contains("hyperfleet_api:"), "{yaml}");
    assert!(
        !yaml.contains("\"level\""),
        "logs must not be mixed into the YAML on stdout"
    );
    for secret in ["ca_file: /", "cert_file: /", "key_file: /"] {
        assert!(!yaml.contains(secret), "credential path printed:\n{yaml}");
    }
    // The dump is valid YAML that names every resource of the task config.
    let root = hyperfleet_adapter::yaml::parse(&yaml)
        .expect("dump parses as YAML")
        .to_json();
    let task_root =
        hyperfleet_adapter::yaml::parse(&std::fs::read_to_string(c.join(task)).unwrap())
            .unwrap()
            .to_json();
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["resources"]
            .as_array()
            .map(|r| {
                r.iter()
                    .map(|x| x["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(names(&root), names(&task_root));
}

const K8S: &str = "upstream/test/testdata/dryrun/dryrun-kubernetes-adapter-config.yaml";
const MAESTRO: &str = "upstream/test/testdata/dryrun/dryrun-maestro-adapter-config.yaml";

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn configs_that_must_load() {
    let Some(c) = conformance() else { return };
    let pairs = [
        (
            "upstream/configs/adapter-config-template.yaml",
            "upstream/configs/adapter-task-config-template.yaml",
        ),
        (
            "upstream/test/testdata/adapter-config.yaml",
            "upstream/test/testdata/task-config.yaml",
        ),
        (
            K8S,
            "upstream/test/testdata/dryrun/kubernetes/dryrun-kubernetes-task-config.yaml",
        ),
        (
            K8S,
            "upstream/test/testdata/dryrun/kubernetes-delete/dryrun-kubernetes-delete-task-config.yaml",
        ),
        (
            K8S,
            "upstream/test/testdata/dryrun/cel-showcase/dryrun-cel-showcase-task-config.yaml",
        ),
        (
            MAESTRO,
            "upstream/test/testdata/dryrun/maestro/dryrun-maestro-adapter-task-config.yaml",
        ),
        (
            MAESTRO,
            "upstream/test/testdata/dryrun/maestro-delete/dryrun-maestro-delete-task-config.yaml",
        ),
        (
            "upstream/charts/examples/kubernetes/adapter-config.yaml",
            "derived/charts-kubernetes/adapter-task-config.yaml",
        ),
        (
            "upstream/charts/examples/maestro/adapter-config.yaml",
            "derived/charts-maestro/adapter-task-config.yaml",
        ),
        (
            "upstream/charts/examples/maestro-two-resources/adapter-config.yaml",
            "derived/charts-maestro-two-resources/adapter-task-config.yaml",
        ),
    ];
    for (a, t) in pairs {
        assert_loads(&c, a, t);
    }
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn the_config_template_needs_its_required_env_vars_as_in_the_go_adapter() {
    let Some(c) = conformance() else { return };
    // The template's first param is `env.HYPERFLEET_API_BASE_URL`, required, without default:
    // the Go adapter refuses to start without it, and so do we.
    let out = dump(
        &c,
        "upstream/configs/adapter-config-template.yaml",
        "upstream/configs/adapter-task-config-template.yaml",
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("Error: failed to load adapter configuration: task config validation failed"),
        "{err}"
    );
    assert!(
        err.contains("params[0]: required environment variable HYPERFLEET_API_BASE_URL is not set"),
        "{err}"
    );
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn maestro_chart_config_dump_redacts_and_keeps_order() {
    let Some(c) = conformance() else { return };
    let out = dump(
        &c,
        "upstream/charts/examples/maestro/adapter-config.yaml",
        "derived/charts-maestro/adapter-task-config.yaml",
        ENV,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let yaml = stdout(&out);
    let keys: Vec<&str> = yaml
        .lines()
        .filter(|l| !l.starts_with(' ') && l.ends_with(':'))
        .collect();
    assert_eq!(
        keys,
        [
            "post:",
            "log:",
            "adapter:",
            "params:",
            "preconditions:",
            "resources:",
            "clients:"
        ],
        "{yaml}"
    );
    let clients = yaml.split("\nclients:\n").nth(1).unwrap();
    let client_keys: Vec<&str> = clients
        .lines()
        .filter(|l| l.starts_with("    ") && !l.starts_with("     "))
        .collect();
    assert_eq!(client_keys[0], "    maestro:");
    assert!(
        client_keys.contains(&"    kubernetes:")
            && client_keys.last() == Some(&"    hyperfleet_api:"),
        "{client_keys:?}"
    );
    assert!(yaml.contains("        insecure: true"), "{yaml}");
    // The manifest ref is printed as the loaded file text.
    assert!(yaml.contains("kind: ManifestWork"), "{yaml}");
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn configs_that_must_be_rejected() {
    let Some(c) = conformance() else { return };
    // The old merged single-file format, as an adapter config.
    let out = dump(
        &c,
        "upstream/test/integration/config-loader/testdata/adapter-config-template.yaml",
        "upstream/test/testdata/task-config.yaml",
        ENV,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("failed to parse adapter config YAML"), "{err}");
    assert!(
        err.contains("field params not found in type AdapterConfig"),
        "{err}"
    );
    assert!(err.contains("old merged single-file format"), "{err}");
    // The invalid dry-run task config: rejected, naming the bad field.
    let out = dump(
        &c,
        K8S,
        "upstream/test/testdata/dryrun/kubernetes/dryrun-kubernetes-adatepr-task-config-invalid.yaml",
        ENV,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("preconditions[0].name \"bad-cel\""), "{err}");
}

#[test]
fn legacy_envelope_configs_are_rejected_with_a_conversion_hint() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("adapter.yaml");
    std::fs::write(&a, "apiVersion: hyperfleet.redhat.com/v1alpha1\nkind: AdapterConfig\nmetadata:\n  name: x\nspec:\n  adapter:\n    version: 0.1.0\n  clients:\n    hyperfleetApi:\n      baseUrl: http://x\n").unwrap();
    let t = dir.path().join("task.yaml");
    std::fs::write(&t, "params: []\n").unwrap();
    let out = adapter(
        &[
            "config-dump",
            "-c",
            a.to_str().unwrap(),
            "-t",
            t.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("unsupported apiVersion \"hyperfleet.redhat.com/v1alpha1\""),
        "{err}"
    );
    assert!(
        err.contains(&format!("adapter config migrate {}", a.display())),
        "{err}"
    );
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn validate_lists_every_problem_of_the_invalid_task_config() {
    let Some(c) = conformance() else { return };
    let a = c.join(K8S);
    let t = c.join("upstream/test/testdata/dryrun/kubernetes/dryrun-kubernetes-adatepr-task-config-invalid.yaml");
    let out = adapter(
        &[
            "validate",
            "-c",
            a.to_str().unwrap(),
            "-t",
            t.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let file = t.display().to_string();
    for needle in [
        format!(
            "error: {file}:14: preconditions[0].name \"bad-cel\": must start with lowercase letter"
        ),
        format!(
            "error: {file}:15: preconditions[0].expression: CEL parse error: ERROR: <input>:1:6: Syntax error"
        ),
        format!(
            "error: {file}:25: resources[0].manifest.metadata.name: metadata.name is required in the manifest"
        ),
        format!(
            "error: {file}:38: resources[1].manifest: undefined template variable \"nonExistentVariable\""
        ),
        "4 error(s), 0 warning(s)".to_string(),
    ] {
        assert!(text.contains(&needle), "missing {needle:?} in:\n{text}");
    }
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn validate_is_clean_on_a_good_config_and_strict_promotes_warnings() {
    let Some(c) = conformance() else { return };
    let a = c.join(K8S);
    let t =
        c.join("upstream/test/testdata/dryrun/cel-showcase/dryrun-cel-showcase-task-config.yaml");
    let out = adapter(
        &[
            "validate",
            "-c",
            a.to_str().unwrap(),
            "-t",
            t.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("0 error(s)"), "{}", stdout(&out));
    // The kubernetes dry-run config references an identifier that is never defined.
    let t = c.join("upstream/test/testdata/dryrun/kubernetes/dryrun-kubernetes-task-config.yaml");
    let out = adapter(
        &[
            "validate",
            "-c",
            a.to_str().unwrap(),
            "-t",
            t.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("warning: ") && stdout(&out).contains("\"non_existent\""),
        "{}",
        stdout(&out)
    );
    let out = adapter(
        &[
            "validate",
            "--strict",
            "-c",
            a.to_str().unwrap(),
            "-t",
            t.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

#[cfg_attr(
    not(conformance),
    ignore = "needs ../shared/conformance beside the checkout"
)]
#[test]
fn chart_task_configs_outside_their_mount_point_are_rejected_like_the_go_adapter() {
    let Some(c) = conformance() else { return };
    // The charts' task configs name their refs as /etc/adapter/<file>: they load only where the
    // chart mounts them (derived/ holds the same files with relative refs). Elsewhere the ref
    // escapes the task config's directory, which the Go adapter rejects too (§3.7).
    for (dir, reference) in [
        ("kubernetes", "/etc/adapter/job.yaml"),
        ("maestro", "/etc/adapter/manifestwork.yaml"),
        (
            "maestro-two-resources",
            "/etc/adapter/manifestwork-configmap.yaml",
        ),
    ] {
        let out = dump(
            &c,
            &format!("upstream/charts/examples/{dir}/adapter-config.yaml"),
            &format!("upstream/charts/examples/{dir}/adapter-task-config.yaml"),
            ENV,
        );
        assert_eq!(out.status.code(), Some(1), "{dir}");
        let err = stderr(&out);
        assert!(
            err.contains("task config file reference validation failed"),
            "{err}"
        );
        assert!(
            err.contains(&format!("path \"{reference}\" escapes base directory")),
            "{err}"
        );
    }
}
