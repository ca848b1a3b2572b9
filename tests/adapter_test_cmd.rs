//! `adapter test` as users run it: every example's scenarios pass; a failed expectation prints
//! its file:line and diff and exits 1; a broken scenario exits 2 naming its line; `--update`
//! rewrites a golden file; the JUnit report validates against the JUnit XML schema.

use kit::cli::{adapter, project_root, stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::Output;

/// `adapter test -c <adapter> -t <task> <extra...>` in a clean environment.
fn test_cmd(adapter_cfg: &Path, task: &Path, extra: &[&str]) -> Output {
    let (a, t) = (
        adapter_cfg.display().to_string(),
        task.display().to_string(),
    );
    let mut args = vec!["test", "-c", a.as_str(), "-t", t.as_str()];
    args.extend_from_slice(extra);
    adapter(&args, &[])
}

fn examples() -> PathBuf {
    project_root().join("examples")
}

/// The scenarios of a folder, counted independently of the command: sub-folders with a
/// scenario.yaml and YAML files.
fn scenario_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("scenario.yaml").is_file() || p.extension().is_some_and(|e| e == "yaml"))
        .count()
}

#[test]
fn every_example_scenario_passes() {
    for (cfg, dir) in [
        ("adapter-config.yaml", "kubernetes"),
        ("maestro-adapter-config.yaml", "maestro"),
        ("adapter-config.yaml", "delete"),
    ] {
        let task = examples().join(dir).join("task-config.yaml");
        let out = test_cmd(&examples().join(cfg), &task, &[]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{dir}:\n{text}{}", stderr(&out));
        let n = scenario_count(&examples().join(dir).join("scenarios"));
        assert!(n >= 2, "{dir} has {n} scenarios");
        assert!(
            text.contains(&format!("\n{n} scenarios: {n} passed, 0 failed, 0 broken")),
            "{dir}:\n{text}"
        );
        assert_eq!(text.matches("\nPASS ").count() + 1, n, "{text}");
    }
}

/// A project folder in a temp dir: the examples' configs and inputs, and `scenarios/`.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&examples(), &dir.path().join("examples"));
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const FAILING: &str = r#"description: expects what the task config does not do
event: ../../../event.json
api_responses: ../../../api-responses.json
expect:
  resources:
    clusterNamespace: update
  payloads:
    statusPayload:
      fields:
        conditions[0].status: "False"
  no_requests:
    - method: POST
      url: /statuses$
"#;

#[test]
fn a_failed_expectation_prints_its_line_and_diff_and_exits_1() {
    let ws = workspace();
    let k8s = ws.path().join("examples/kubernetes");
    let file = k8s.join("scenarios/wrong/scenario.yaml");
    write(&file, FAILING);
    let out = test_cmd(
        &ws.path().join("examples/adapter-config.yaml"),
        &k8s.join("task-config.yaml"),
        &[file.parent().unwrap().to_str().unwrap()],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    let f = file.display();
    assert!(
        text.contains(&format!(
            "FAIL  wrong - expects what the task config does not do ({f})"
        )),
        "{text}"
    );
    let resource = format!(
        "{f}:6: expect.resources.clusterNamespace: resource \"clusterNamespace\": expected update, got create\n        --- expected\n        +++ actual\n        - update\n        + create\n"
    );
    assert!(text.contains(&resource), "{text}");
    let field = format!(
        "{f}:10: expect.payloads.statusPayload.fields.conditions[0].status: conditions[0].status: expected \"False\", got \"True\"\n        --- expected\n        +++ actual\n        - \"False\"\n        + \"True\"\n"
    );
    assert!(text.contains(&field), "{text}");
    assert!(
        text.contains(&format!(
            "{f}:12: expect.no_requests[0]: expected no request matching POST /statuses$, got 1\n        + POST /api/hyperfleet/v1/clusters/cls-001/statuses -> 201\n"
        )),
        "{text}"
    );
    assert!(
        text.contains("\n1 scenarios: 0 passed, 1 failed, 0 broken"),
        "{text}"
    );
}

#[test]
fn a_broken_scenario_names_its_line_and_exits_2() {
    let ws = workspace();
    let k8s = ws.path().join("examples/kubernetes");
    let file = k8s.join("scenarios/typo.yaml");
    write(
        &file,
        "event: ../../event.json\nexpect:\n  result: success\n  resorces:\n    clusterNamespace: create\n",
    );
    let missing = k8s.join("scenarios/missing.yaml");
    write(&missing, "event: nowhere.json\n");
    let out = test_cmd(
        &ws.path().join("examples/adapter-config.yaml"),
        &k8s.join("task-config.yaml"),
        &[file.to_str().unwrap(), missing.to_str().unwrap()],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}{}", stderr(&out));
    assert!(
        text.contains(&format!("ERROR typo ({})", file.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}:4: expect.resorces: ", file.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("ERROR missing ({})", missing.display())),
        "{text}"
    );
    assert!(text.contains("nowhere.json"), "{text}");
}

#[test]
fn update_rewrites_a_golden_file() {
    let ws = workspace();
    let k8s = ws.path().join("examples/kubernetes");
    let golden = k8s.join("scenarios/first-run/expected/statusPayload.json");
    let original = std::fs::read_to_string(&golden).unwrap();
    let changed = original.replacen("\"True\"", "\"Maybe\"", 1);
    assert_ne!(changed, original);
    std::fs::write(&golden, &changed).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["--filter", "first-run"];
        args.extend_from_slice(extra);
        test_cmd(
            &ws.path().join("examples/adapter-config.yaml"),
            &k8s.join("task-config.yaml"),
            &args,
        )
    };
    let failed = run(&[]);
    let text = stdout(&failed);
    assert_eq!(failed.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "expect.payloads.statusPayload.golden: the document differs from golden file"
        ),
        "{text}"
    );
    assert!(
        text.contains("-       \"status\": \"Maybe\"")
            && text.contains("+       \"status\": \"True\""),
        "{text}"
    );
    let updated = run(&["--update"]);
    let text = stdout(&updated);
    assert_eq!(updated.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!("updated {}", golden.display())),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(&golden).unwrap(), original);
    let again = run(&[]);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    // Nothing to rewrite the second time.
    let quiet = run(&["--update"]);
    assert!(!stdout(&quiet).contains("updated "), "{}", stdout(&quiet));
}

#[test]
fn reports_do_not_depend_on_the_number_of_jobs() {
    let cfg = examples().join("adapter-config.yaml");
    let task = examples().join("kubernetes/task-config.yaml");
    let without_time = |o: &Output| {
        let t = stdout(o);
        t[..t.rfind(" (").unwrap()].to_string()
    };
    let one = test_cmd(&cfg, &task, &["--jobs", "1"]);
    let four = test_cmd(&cfg, &task, &["--jobs", "4"]);
    assert_eq!(without_time(&one), without_time(&four));
}

/// The JUnit XML schema (`junit-10.xsd`) and `xmllint`, which `scripts/test` installs; `None`
/// with a note when they are missing, a failure when `scripts/test` said they are required.
fn junit_schema() -> Option<(PathBuf, PathBuf)> {
    let xsd = std::env::var_os("HYPERFLEET_JUNIT_XSD")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/hyperfleet-adapter/junit-schema/junit-10.xsd")
        });
    let xmllint = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("xmllint"))
            .find(|p| p.is_file())
    });
    match (xsd.is_file(), xmllint) {
        (true, Some(lint)) => Some((xsd, lint)),
        (has_xsd, lint) => {
            let what = format!(
                "the JUnit schema {} ({}) and xmllint ({}) are needed: scripts/test installs them",
                xsd.display(),
                if has_xsd { "found" } else { "missing" },
                if lint.is_some() { "found" } else { "missing" },
            );
            let required = [
                "HYPERFLEET_REQUIRE_JUNIT_SCHEMA",
                "HYPERFLEET_REQUIRE_CONFORMANCE",
            ]
            .iter()
            .any(|v| std::env::var(v).is_ok_and(|v| v == "1"));
            if required {
                panic!("{what}");
            }
            eprintln!("NOTE: {what}; the JUnit schema check did not run");
            None
        }
    }
}

#[test]
fn junit_report_validates_against_the_junit_schema() {
    let ws = workspace();
    let k8s = ws.path().join("examples/kubernetes");
    write(&k8s.join("scenarios/wrong/scenario.yaml"), FAILING);
    write(
        &k8s.join("scenarios/broken.yaml"),
        "event: ../../event.json\nbogus: 1\n",
    );
    let report = ws.path().join("report.xml");
    let out = test_cmd(
        &ws.path().join("examples/adapter-config.yaml"),
        &k8s.join("task-config.yaml"),
        &[
            "--output",
            "junit",
            "--junit-file",
            report.to_str().unwrap(),
        ],
    );
    let xml = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{xml}{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&report).unwrap(), xml);
    let n = scenario_count(&k8s.join("scenarios"));
    assert!(
        xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"adapter test\""
        ),
        "{xml}"
    );
    assert!(
        xml.contains(&format!("tests=\"{n}\" failures=\"1\" errors=\"1\"")),
        "{xml}"
    );
    assert!(
        xml.contains("<failure type=\"expectation\" message=\"3 expectation(s) failed in "),
        "{xml}"
    );
    assert!(xml.contains("- update\n+ create\n"), "{xml}");
    assert!(xml.contains("<error type=\"scenario\" message=\""), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), n);
    let Some((xsd, xmllint)) = junit_schema() else {
        return;
    };
    let check = std::process::Command::new(&xmllint)
        .args(["--noout", "--schema"])
        .arg(&xsd)
        .arg(&report)
        .output()
        .expect("run xmllint");
    assert!(
        check.status.success(),
        "the JUnit report does not validate against {}:\n{}\n{xml}",
        xsd.display(),
        stderr(&check)
    );
    // The check can fail: a report without the required counts does not validate.
    let bad = ws.path().join("bad.xml");
    std::fs::write(
        &bad,
        xml.replacen(" failures=\"1\" errors=\"1\" skipped=\"0\"", "", 1),
    )
    .unwrap();
    let check = std::process::Command::new(&xmllint)
        .args(["--noout", "--schema"])
        .arg(&xsd)
        .arg(&bad)
        .output()
        .expect("run xmllint");
    assert!(
        !check.status.success(),
        "a testsuite without counts validated"
    );
}
