//! The runner in process: discovery, strict loading with lines, bounds, every expectation kind
//! passing and failing, and the exit codes.

use super::*;
use std::path::Path;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn options(paths: Vec<PathBuf>) -> Options {
    let ex = root().join("examples");
    Options {
        adapter_path: Some(ex.join("adapter-config.yaml")),
        task_path: Some(ex.join("kubernetes/task-config.yaml")),
        flags: vec![],
        paths,
        filter: vec![],
        jobs: 2,
        update: false,
        time: DateTime::parse_from_rfc3339(DEFAULT_TIME).unwrap().to_utc(),
    }
}

/// A scenario file in a temp dir whose event and responses are the examples'.
fn scenario(dir: &Path, name: &str, body: &str) -> PathBuf {
    let ex = root().join("examples");
    let text = format!(
        "event: {}\napi_responses: {}\n{body}",
        ex.join("event.json").display(),
        ex.join("api-responses.json").display()
    );
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run_one(body: &str) -> ScenarioReport {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "s.yaml", body);
    let mut suite = run(&options(vec![file])).unwrap();
    suite.reports.remove(0)
}

fn mismatches(r: &ScenarioReport) -> Vec<(String, usize, String)> {
    match &r.outcome {
        Outcome::Failed { mismatches, .. } => mismatches
            .iter()
            .map(|m| (m.label.clone(), m.line, m.message.clone()))
            .collect(),
        other => panic!("not failed: {other:?}"),
    }
}

#[test]
fn finds_folders_and_files_in_path_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("b-folder")).unwrap();
    std::fs::write(d.join("b-folder/scenario.yaml"), "").unwrap();
    std::fs::create_dir_all(d.join("c-no-scenario")).unwrap();
    std::fs::write(d.join("a.yaml"), "").unwrap();
    std::fs::write(d.join("notes.txt"), "").unwrap();
    let found = load::find(&[d.to_path_buf(), d.join("a.yaml")]).unwrap();
    assert_eq!(found, [d.join("a.yaml"), d.join("b-folder/scenario.yaml")]);
    assert_eq!(load::name_of(&found[1]), "b-folder");
    assert_eq!(load::name_of(&found[0]), "a");
    assert!(matches!(
        load::find(&[d.join("nope")]),
        Err(ScenarioError::NoSuchPath { .. })
    ));
    let empty = tempfile::tempdir().unwrap();
    let e = run(&options(vec![empty.path().to_path_buf()])).unwrap_err();
    assert!(matches!(e, SuiteError::NoScenarios(_)), "{e}");
}

#[test]
fn every_expectation_kind_passes_on_what_the_run_did() {
    let r = run_one(
        r#"env: {REGION: eu-west-1}
time: 2026-02-01T00:00:00Z
expect:
  result: success
  preconditions: {notReady: met, supportedProvider: met}
  resources: {clusterNamespace: create, bootstrapJob: create}
  post_actions: {reportStatus: executed}
  payloads:
    statusPayload:
      fields: {observed_generation: 3.0, "conditions[1].message": namespace cluster-cls-001 in eu-west-1}
      cel: ['doc.conditions.size() == 2 && params.region == "eu-west-1"']
  requests:
    - {method: GET, url: "/clusters/cls-001$", step: cluster, count: 1, status: 200}
    - {url: statuses, body: {fields: {adapter: example-adapter}}}
  no_requests: [{method: DELETE, url: .*}]
  fields: {params.clusterId: cls-001, 'discovered.clusterNamespace.metadata.labels["hyperfleet.io/cluster-id"]': cls-001}
  cel: ['requests.size() == 2', 'adapter.executionStatus == "success"']
"#,
    );
    assert!(
        matches!(r.outcome, Outcome::Passed { checked: 18 }),
        "{r:?}"
    );
}

#[test]
fn each_failed_expectation_names_its_line() {
    let r = run_one(
        r#"expect:
  result: failed
  preconditions:
    notReady: not_met
  resources:
    nothing: create
  post_actions:
    reportStatus: skipped
  payloads:
    statusPayload:
      fields:
        missing.field: 1
    other: {}
  requests:
    - {method: PUT, url: statuses}
    - {url: statuses, count: 2}
    - {url: statuses, status: 500}
  no_requests:
    - {url: clusters}
  cel:
    - result == "failed"
    - errors.nope
"#,
    );
    let m = mismatches(&r);
    let labels: Vec<(&str, usize)> = m.iter().map(|(l, n, _)| (l.as_str(), *n)).collect();
    assert_eq!(
        labels,
        [
            ("expect.result", 4),
            ("expect.preconditions.notReady", 6),
            ("expect.resources.nothing", 8),
            ("expect.post_actions.reportStatus", 10),
            ("expect.payloads.statusPayload.fields.missing.field", 14),
            ("expect.payloads.other", 15),
            ("expect.requests[0]", 17),
            ("expect.requests[1]", 18),
            ("expect.requests[2].status", 19),
            ("expect.no_requests[0]", 21),
            ("expect.cel[0]", 23),
            ("expect.cel[1]", 24),
        ]
    );
    let text: Vec<&str> = m.iter().map(|(_, _, t)| t.as_str()).collect();
    assert_eq!(
        text[2],
        "resource \"nothing\": expected create, got not_run"
    );
    assert_eq!(
        text[4],
        "missing.field: expected 1, but there is no such field"
    );
    assert_eq!(
        text[8],
        "POST /api/hyperfleet/v1/clusters/cls-001/statuses: expected status 500, got 201"
    );
    assert!(text[11].contains("No such key: nope"), "{}", text[11]);
}

#[test]
fn broken_scenarios_say_where() {
    let cases = [
        (
            "expect:\n  payloads:\n    p:\n      feilds: {}\n",
            "s.yaml:6: expect.payloads.p.feilds: field feilds not found",
        ),
        ("time: yesterday\n", "s.yaml:3: time: not an RFC 3339 time"),
        (
            "expect:\n  cel: ['1 +']\n",
            "s.yaml:4: expect.cel[0]: CEL parse error",
        ),
        (
            "expect:\n  fields: {'a..b': 1}\n",
            "s.yaml:4: expect.fields.a..b: invalid path: empty key at byte 2",
        ),
        (
            "expect:\n  no_requests: [{url: '('}]\n",
            "s.yaml:4: expect.no_requests[0].url: invalid regular expression",
        ),
        (
            "expect:\n  resources: {x: created}\n",
            "s.yaml:4: expect.resources.x: unknown variant `created`",
        ),
        (
            "discovery: {a: {kind: Namespace}}\n",
            "s.yaml:3: discovery: discovery override \"a\"",
        ),
        (
            "discovery: [1]\n",
            "s.yaml:3: discovery: must be a file path or an inline mapping",
        ),
    ];
    for (body, want) in cases {
        let r = run_one(body);
        let Outcome::Broken(e) = &r.outcome else {
            panic!("{body}: not broken: {r:?}")
        };
        let text = e.to_string();
        assert!(text.contains(want), "{body}: {text}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(&file, "event: e.json\n").unwrap();
    std::fs::write(
        dir.path().join("e.json"),
        vec![b' '; load::MAX_FILE_BYTES as usize + 1],
    )
    .unwrap();
    let suite = run(&options(vec![file])).unwrap();
    assert!(
        matches!(
            &suite.reports[0].outcome,
            Outcome::Broken(ScenarioError::TooLarge { .. })
        ),
        "{:?}",
        suite.reports[0].outcome
    );
    assert_eq!(suite.exit_code(), 2);
}

#[test]
fn inline_inputs_and_the_env_reach_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inline.yaml");
    std::fs::write(
        &file,
        r#"event:
  specversion: "1.0"
  id: evt-9
  type: io.hyperfleet.cluster.updated
  source: /clusters/cls-009
  data: {id: cls-009, kind: Cluster, href: /clusters/cls-009, generation: 1}
api_responses:
  responses:
    - match: {method: GET, urlPattern: /clusters/}
      responses: [{statusCode: 200, body: {id: cls-009, name: n, spec: {provider: gcp}, status: {conditions: []}}}]
discovery:
  cluster-cls-009:
    apiVersion: v1
    kind: Namespace
    metadata: {name: cluster-cls-009, annotations: {hyperfleet.io/generation: "1"}}
env: {REGION: mars-1}
expect:
  resources: {clusterNamespace: skip, bootstrapJob: create}
  fields: {params.region: mars-1}
"#,
    )
    .unwrap();
    let suite = run(&options(vec![file])).unwrap();
    assert!(
        matches!(suite.reports[0].outcome, Outcome::Passed { .. }),
        "{:?}",
        suite.reports[0].outcome
    );
    assert_eq!(suite.exit_code(), 0);
}

#[test]
fn a_config_that_does_not_load_breaks_the_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "s.yaml", "");
    let mut o = options(vec![file]);
    o.flags = vec![("clients.hyperfleet_api.timeout".into(), "soon".into())];
    let suite = run(&o).unwrap();
    assert!(
        matches!(
            suite.reports[0].outcome,
            Outcome::Broken(ScenarioError::Config { .. })
        ),
        "{:?}",
        suite.reports[0].outcome
    );
}

#[test]
fn filters_by_name() {
    let dir = tempfile::tempdir().unwrap();
    scenario(dir.path(), "alpha.yaml", "");
    scenario(dir.path(), "beta.yaml", "");
    let mut o = options(vec![dir.path().to_path_buf()]);
    o.filter = vec!["bet".into()];
    let suite = run(&o).unwrap();
    let names: Vec<&str> = suite.reports.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["beta"]);
    o.filter = vec!["gamma".into()];
    assert!(matches!(
        run(&o),
        Err(SuiteError::Filtered { count: 2, .. })
    ));
}
