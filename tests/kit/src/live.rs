//! Shared by the "live" conformance tests: a dry-run scenario's executor over any transport, and
//! the parts of a result a live run and its dry run must agree on.

use hyperfleet_adapter::adapters::api::RecordedApi;
use hyperfleet_adapter::config::{self, LoadOptions, MapEnv};
use hyperfleet_adapter::domain::{ExecutionResult, Executor, Ports};
use hyperfleet_adapter::ports::{FixedClock, Transport};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const U: &str = "upstream/test/testdata/dryrun";

/// A corpus path: `U/...` is the dry-run fixtures folder, anything else is relative to the corpus.
pub fn path(c: &Path, rel: &str) -> PathBuf {
    match rel.strip_prefix("U/") {
        Some(r) => c.join(U).join(r),
        None => c.join(rel),
    }
}

/// The executor of a scenario: its adapter and task configs, recorded API responses, the
/// environment the dry-run tests use, a fixed clock, and `transport` for every resource.
pub fn executor(
    c: &Path,
    adapter: &str,
    task: &str,
    responses: &str,
    transport: Arc<dyn Transport>,
) -> Executor {
    let env = MapEnv::from_pairs([
        ("ADAPTER_NAME", "dry-run-adapter"),
        ("SOME_API_TOKEN", "do-not-print"),
    ]);
    let loaded = config::load(&LoadOptions {
        adapter_path: Some(path(c, adapter)),
        task_path: Some(path(c, task)),
        flags: vec![],
        env: &env,
        binary_version: "0.0.0-dev".into(),
    })
    .unwrap_or_else(|e| panic!("{task}: {e}"));
    let api = RecordedApi::load(&path(c, responses)).unwrap();
    let ports = Ports {
        clock: Arc::new(FixedClock("2026-01-01T00:00:00Z".parse().unwrap())),
        ..Ports::with_transport(Arc::new(api), transport, Arc::new(env))
    };
    Executor::new(Arc::new(loaded), ports)
}

/// Timestamps replaced by a marker: the template function `now` reads the wall clock, so two
/// runs a second apart differ there and nowhere else.
pub fn without_times(v: Value) -> Value {
    match v {
        Value::String(s)
            if s.len() == 20
                && s.as_bytes()[4] == b'-'
                && s.as_bytes()[10] == b'T'
                && s.ends_with('Z') =>
        {
            Value::String("<time>".into())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(without_times).collect()),
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, v)| (k, without_times(v))).collect())
        }
        other => other,
    }
}

/// Status, errors, per-resource decisions, post-actions and (optionally) the built payloads.
pub fn summary(r: &ExecutionResult, with_payloads: bool) -> Value {
    let mut out = json!({
        "status": format!("{:?}", r.status),
        "errors": r.errors.iter().map(|(p, e)| (p.as_str().to_string(), Value::String(e.clone()))).collect::<serde_json::Map<_, _>>(),
        "resources": r.resources.iter().map(|x| json!({
            "name": x.name, "kind": x.kind, "namespace": x.namespace, "resource": x.resource_name,
            "status": format!("{:?}", x.status), "operation": x.operation.map(|o| o.as_str()),
            "reason": x.reason, "error": x.error,
        })).collect::<Vec<_>>(),
        "post_actions": r.post_actions.iter().map(|p| json!([p.name, format!("{:?}", p.status), p.error])).collect::<Vec<_>>(),
    });
    if with_payloads {
        out["payloads"] = r
            .payloads
            .iter()
            .map(|(n, p)| {
                let parsed = serde_json::from_str::<Value>(p).unwrap_or(Value::String(p.clone()));
                json!([n, without_times(parsed)])
            })
            .collect();
    }
    out
}

/// The operations a run decided, by name (`create`, `skip`, ...).
pub fn operations(r: &ExecutionResult) -> Vec<String> {
    r.resources
        .iter()
        .filter_map(|x| x.operation.map(|o| o.as_str().to_string()))
        .collect()
}
