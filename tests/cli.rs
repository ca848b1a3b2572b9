//! The command line as an operator sees it: version, help, exit codes, error format,
//! config discovery and flag precedence through the real binary.

use kit::cli::{adapter, dry_run, stderr, stdout};

#[test]
fn version_prints_three_lines() {
    let out = adapter(&["version"], &[]);
    assert!(out.status.success());
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("Version:    "));
    assert!(lines[1].starts_with("Commit:     "));
    assert!(lines[2].starts_with("Build Date: "));
}

#[test]
fn every_command_has_help() {
    for cmd in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["config-dump", "--help"],
        vec!["validate", "--help"],
        vec!["version", "--help"],
        vec!["publish", "--help"],
        vec!["config", "--help"],
        vec!["config", "migrate", "--help"],
        vec!["schema", "--help"],
        vec!["test", "--help"],
    ] {
        let out = adapter(&cmd, &[]);
        assert!(out.status.success(), "{cmd:?}: {}", stderr(&out));
        assert!(stdout(&out).contains("Usage: adapter"), "{cmd:?}");
    }
    let serve = stdout(&adapter(&["serve", "--help"], &[]));
    for flag in [
        "-c, --config",
        "-t, --task-config",
        "--hyperfleet-api-retry",
        "--broker-subscription-id",
        "--dry-run-event",
        "--maestro-insecure",
        "Env: HYPERFLEET_API_BASE_URL",
    ] {
        assert!(serve.contains(flag), "{flag} missing from serve --help");
    }
    assert!(stdout(&adapter(&["validate", "--help"], &[])).contains("--strict"));
    let top = stdout(&adapter(&["--help"], &[]));
    for cmd in [
        "serve",
        "config-dump",
        "validate",
        "publish",
        "config",
        "schema",
        "test",
        "version",
    ] {
        assert!(
            top.lines().any(|l| l.trim_start().starts_with(cmd)),
            "{cmd} missing from --help: {top}"
        );
    }
}

#[test]
fn errors_exit_1_with_error_prefix() {
    let out = adapter(&["config-dump"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Error: failed to load adapter configuration: failed to load adapter config: <config>: adapter config file path is required (use --config flag or HYPERFLEET_ADAPTER_CONFIG env var)"),
        "{}",
        stderr(&out)
    );
    let out = adapter(&["bogus"], &[]);
    assert_eq!(out.status.code(), Some(1), "unknown commands exit 1");
    let out = adapter(&["serve", "--no-such-flag"], &[]);
    assert_eq!(out.status.code(), Some(1), "unknown flags exit 1");
    assert!(stderr(&out).contains("--no-such-flag"));
}

fn write_pair(dir: &std::path::Path) -> (String, String) {
    let a = dir.join("adapter.yaml");
    std::fs::write(&a, "adapter:\n  name: cli-test\nclients:\n  hyperfleet_api:\n    base_url: http://file\n    timeout: 5s\n").unwrap();
    let t = dir.join("task.yaml");
    std::fs::write(&t, "params:\n  - name: clusterId\n    source: event.id\n").unwrap();
    (a.display().to_string(), t.display().to_string())
}

#[test]
fn env_config_paths_and_flag_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let (a, t) = write_pair(dir.path());
    let out = adapter(
        &[
            "config-dump",
            "--hyperfleet-api-timeout",
            "30s",
            "--debug-config",
        ],
        &[
            ("HYPERFLEET_ADAPTER_CONFIG", &a),
            ("HYPERFLEET_TASK_CONFIG", &t),
            ("HYPERFLEET_API_TIMEOUT", "20s"),
            ("HYPERFLEET_API_BASE_URL", "http://env"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let yaml = stdout(&out);
    assert!(
        yaml.contains("        timeout: 30s\n"),
        "flag beats env:\n{yaml}"
    );
    assert!(
        yaml.contains("        base_url: http://env\n"),
        "env beats file:\n{yaml}"
    );
    assert!(yaml.contains("debug_config: true"), "{yaml}");
    assert!(
        stderr(&out).contains("Loading adapter configuration..."),
        "logs go to stderr"
    );
}

#[test]
fn kubernetes_client_settings_from_flags_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let (a, t) = write_pair(dir.path());
    let out = adapter(
        &[
            "config-dump",
            "-c",
            &a,
            "-t",
            &t,
            "--kubernetes-recreate-timeout",
            "5s",
            "--kubernetes-retry-attempts",
            "4",
        ],
        &[("HYPERFLEET_KUBERNETES_TIMEOUT", "7s")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let yaml = stdout(&out);
    for line in [
        "        timeout: 7s\n",
        "        recreate_timeout: 5s\n",
        "        retry_attempts: 4\n",
    ] {
        assert!(yaml.contains(line), "{line:?} in\n{yaml}");
    }
}

#[test]
fn serve_loads_the_config_and_reports_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (a, t) = write_pair(dir.path());
    let out = adapter(
        &[
            "serve",
            "-c",
            &a,
            "-t",
            &t,
            "--dry-run-api-responses",
            "x.json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Error: --dry-run-event is required for dry-run mode"),
        "{}",
        stderr(&out)
    );
    let out = adapter(
        &[
            "serve",
            "-c",
            &a,
            "-t",
            &t,
            "--health-port",
            "0",
            "--metrics-port",
            "0",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("Adapter configuration loaded successfully: name=cli-test "),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("HyperFleet API client configured: timeout=5s retry_attempts=3"),
        "the effective values (retry_attempts unset means 3): {}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("Error: clients.broker.subscription_id is required"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn dry_run_load_errors_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let (a, t) = write_pair(dir.path());
    let bad_event = dir.path().join("event.json");
    std::fs::write(
        &bad_event,
        r#"{"specversion":"1.0","type":"t","source":"s"}"#,
    )
    .unwrap();
    let e = bad_event.display().to_string();
    let out = dry_run(&a, &t, &e, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&format!("Error: failed to load event: invalid CloudEvent in {e:?}: missing required attribute \"id\"")), "{}", stderr(&out));
    let out = dry_run(&a, &t, "/nonexistent.json", &[]);
    assert!(
        stderr(&out)
            .contains("failed to load event: failed to read event file \"/nonexistent.json\""),
        "{}",
        stderr(&out)
    );
    std::fs::write(
        &bad_event,
        r#"{"specversion":"1.0","id":"1","type":"t","source":"s","data":{}}"#,
    )
    .unwrap();
    let disc = dir.path().join("d.json");
    std::fs::write(&disc, r#"{"x": {"kind": "ConfigMap"}}"#).unwrap();
    let out = dry_run(&a, &t, &e, &["--dry-run-discovery", disc.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "failed to load discovery overrides: discovery override \"x\" in {:?} is missing required field \"apiVersion\"",
            disc.display().to_string()
        )),
        "{}",
        stderr(&out)
    );
    let out = dry_run(&a, &t, &e, &["--dry-run-discovery", "/nonexistent-d.json"]);
    assert!(
        stderr(&out).contains(
            "failed to load discovery overrides: failed to read discovery overrides file \"/nonexistent-d.json\""
        ),
        "{}",
        stderr(&out)
    );
    let out = dry_run(&a, &t, &e, &["--dry-run-output", "xml"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unknown trace format is refused"
    );
    assert!(stderr(&out).contains("xml"), "{}", stderr(&out));
    let resp = dir.path().join("r.json");
    std::fs::write(
        &resp,
        r#"{"responses": [{"match": {"urlPattern": ""}, "responses": [{}]}]}"#,
    )
    .unwrap();
    let out = dry_run(
        &a,
        &t,
        &e,
        &["--dry-run-api-responses", resp.to_str().unwrap()],
    );
    assert!(
        stderr(&out).contains("failed to load dryrun responses: dryrun responses file"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("endpoint 0 has empty urlPattern"),
        "{}",
        stderr(&out)
    );
}

/// `--dry-run-time` fixes the clock the whole dry run reads (template `now`, CEL `now()`, the
/// simulated cluster), so two runs print the same bytes.
#[test]
fn dry_run_time_makes_runs_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = write_pair(dir.path());
    let t = dir.path().join("task.yaml");
    std::fs::write(
        &t,
        "params:\n  - name: clusterId\n    source: event.id\nresources:\n  - name: cm\n    manifest:\n      apiVersion: v1\n      kind: ConfigMap\n      metadata: {name: \"{{ .clusterId }}\", namespace: default}\n      data: {at: \"{{ now }}\"}\n    discovery:\n      namespace: default\n      by_name: \"{{ .clusterId }}\"\npost:\n  payloads:\n    - name: status\n      build:\n        stamp: \"{{ now }}\"\n        cel:\n          expression: string(now())\n        created:\n          expression: resources.cm.metadata.creationTimestamp\n",
    )
    .unwrap();
    let t = t.display().to_string();
    let e = dir.path().join("event.json");
    std::fs::write(
        &e,
        r#"{"specversion":"1.0","id":"1","type":"t","source":"s","data":{"id":"c1"}}"#,
    )
    .unwrap();
    let e = e.display().to_string();
    let run = || {
        let out = dry_run(
            &a,
            &t,
            &e,
            &[
                "--dry-run-verbose",
                "--dry-run-output",
                "json",
                "--dry-run-time",
                "2026-01-02T03:04:05Z",
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let first = run();
    assert!(
        first.contains(r#""stamp": "2026-01-02 03:04:05 +0000 UTC""#)
            && first.contains(r#""cel": "2026-01-02T03:04:05Z""#)
            && first.contains(r#""created": "2026-01-02T03:04:05Z""#),
        "{first}"
    );
    assert_eq!(
        first,
        run(),
        "two dry runs at the same time print the same bytes"
    );
    let out = dry_run(&a, &t, &e, &["--dry-run-time", "yesterday"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not an RFC 3339 time"),
        "{}",
        stderr(&out)
    );
}

/// Checks Go's text/template makes when it parses a template (an undefined function, an
/// unclosed `if`, a stray `end`, an undefined `$var`) are made by `validate` too, with
/// the file, the line and Go's own message, rather than at the first event.
#[test]
fn validate_reports_go_template_parse_errors_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = write_pair(dir.path());
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/kubernetes/task-config.yaml"),
    )
    .unwrap();
    let cases = [
        (
            r#"name: "cluster-{{ .clusterId }}""#,
            r#"name: "cluster-{{ .clusterId | trunc 63 }}""#,
            r#"function "trunc" not defined"#,
        ),
        (
            r#"adapter: "{{ .adapter.name }}""#,
            r#"adapter: "{{ if .adapter.name }}x""#,
            "unexpected EOF",
        ),
        (
            r#"adapter: "{{ .adapter.name }}""#,
            r#"adapter: "{{ .adapter.name }}{{ end }}""#,
            "unexpected {{end}}",
        ),
        (
            r#"adapter: "{{ .adapter.name }}""#,
            r#"adapter: "{{ $undefined }}""#,
            "undefined variable \"$undefined\"",
        ),
    ];
    for (from, to, message) in cases {
        assert!(example.contains(from), "{from} no longer in the example");
        let edited = example.replacen(from, to, 1);
        let line = edited.lines().position(|l| l.contains(to)).unwrap() + 1;
        let t = dir.path().join("task-edited.yaml");
        std::fs::write(&t, &edited).unwrap();
        let out = adapter(&["validate", "-c", &a, "-t", t.to_str().unwrap()], &[]);
        assert_eq!(out.status.code(), Some(1), "{to}: {}", stdout(&out));
        let text = stdout(&out);
        let expected = format!("error: {}:{line}: ", t.display());
        let reported = text
            .lines()
            .find(|l| l.starts_with(&expected))
            .unwrap_or_else(|| panic!("{to}: no error at {expected} in:\n{text}"));
        assert!(
            reported.contains(": failed to parse template: template: template:")
                && reported.contains(message),
            "{to}: {reported}"
        );
    }
}
