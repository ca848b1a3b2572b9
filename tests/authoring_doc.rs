//! docs/authoring.md works as written: every file it shows (a fenced block after a
//! `<!-- file: PATH -->` line) is written to a temporary folder, and the guide's commands —
//! `schema`, `validate --strict`, the dry run, `adapter test`, `--update` — do what the guide says.

use kit::cli::{adapter, project_root, stderr, stdout};
use std::path::{Path, PathBuf};

/// The files of the guide, in order, as (relative path, content).
fn guide_files() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(project_root().join("docs/authoring.md")).unwrap();
    let mut files = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(path) = line
            .strip_prefix("<!-- file: ")
            .and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "{path}: no fenced block after the marker"
        );
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        files.push((path.to_string(), body.join("\n") + "\n"));
    }
    files
}

/// The guide's folder, written out; returns the temp dir (kept alive) and `landing-zone/`.
fn landing_zone() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    for (rel, content) in guide_files() {
        let path = tmp.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let dir = tmp.path().join("landing-zone");
    (tmp, dir)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run_in(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut full = Vec::new();
    let (a, t) = (
        dir.join("adapter-config.yaml"),
        dir.join("task-config.yaml"),
    );
    full.extend_from_slice(&args[..1]);
    full.extend_from_slice(&["-c", s(&a), "-t", s(&t)]);
    full.extend_from_slice(&args[1..]);
    adapter(&full, &[])
}

#[test]
fn the_guide_shows_every_file_of_its_folder() {
    let names: Vec<String> = guide_files().into_iter().map(|(p, _)| p).collect();
    for want in [
        "landing-zone/adapter-config.yaml",
        "landing-zone/task-config.yaml",
        "landing-zone/cluster-info.yaml",
        "landing-zone/event.json",
        "landing-zone/api-responses.json",
        "landing-zone/scenarios/first-run/scenario.yaml",
        "landing-zone/scenarios/first-run/expected/statusPayload.json",
        "landing-zone/scenarios/no-provider.yaml",
        "landing-zone/scenarios/second-run.yaml",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
}

#[test]
fn the_guides_adapter_validates_dry_runs_and_passes_its_scenarios() {
    let (_tmp, dir) = landing_zone();

    // Step 1: the schemas the modelines name.
    std::fs::create_dir_all(dir.join(".schema")).unwrap();
    for (which, file) in [
        ("adapter", "adapter-config.schema.json"),
        ("task", "task-config.schema.json"),
        ("broker", "broker.schema.json"),
    ] {
        let out = adapter(&["schema", which], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(schema.is_object());
        std::fs::write(dir.join(".schema").join(file), &out.stdout).unwrap();
    }

    // Step 3: validate, strictly (as the CI step does).
    let out = run_in(&dir, &["validate", "--strict"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );

    // Step 4: the dry run creates both objects and posts the status.
    let out = run_in(
        &dir,
        &[
            "serve",
            "--dry-run-event",
            s(&dir.join("event.json")),
            "--dry-run-api-responses",
            s(&dir.join("api-responses.json")),
            "--dry-run-time",
            "2026-01-01T00:00:00Z",
            "--dry-run-output",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let trace: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(trace["status"], "success", "{trace:#}");
    let ops: Vec<&str> = trace["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["create", "create"], "{trace:#}");

    // Step 5: the scenarios pass, as the guide prints.
    let out = run_in(&dir, &["test"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let report = stdout(&out);
    for name in ["first-run", "no-provider", "second-run"] {
        assert!(
            report.contains(&format!("PASS  {name} - ")),
            "{name}: {report}"
        );
    }

    // The golden file shown in the guide is what --update writes.
    let golden = dir.join("scenarios/first-run/expected/statusPayload.json");
    let shown: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&golden).unwrap()).unwrap();
    std::fs::remove_file(&golden).unwrap();
    let out = run_in(&dir, &["test", "--update"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&golden).unwrap()).unwrap();
    assert_eq!(written, shown);

    // "Change the payload's reason ... first-run fails, naming the file and with a diff."
    let task = dir.join("task-config.yaml");
    let text = std::fs::read_to_string(&task).unwrap();
    std::fs::write(&task, text.replace("\"LandingZoneReady\"", "\"Ready\"")).unwrap();
    let out = run_in(&dir, &["test"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report = stdout(&out);
    assert!(report.contains("FAIL  first-run"), "{report}");
    assert!(
        report.contains("scenarios/first-run/scenario.yaml:"),
        "{report}"
    );
    let diff_line = |sign: char, text: &str| {
        report
            .lines()
            .any(|l| l.trim_start().starts_with(sign) && l.contains(text))
    };
    assert!(
        diff_line('-', r#""reason": "LandingZoneReady""#),
        "{report}"
    );
    assert!(diff_line('+', r#""reason": "Ready""#), "{report}");
}
