//! The dry-run trace: what the execution did, as text for people (the Go adapter's layout) or
//! as JSON for tools (the same keys). Environment variables are shown only when the task config
//! references them, and values whose names look secret are redacted.

use crate::adapters::transport::TransportOp;
use crate::domain::result::{ApiCallRecord, ExecutionResult, Phase, StepStatus};
use crate::redact::{REDACTED, Secrets, looks_secret};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::fmt::Write;

mod json;

pub use json::json;

/// What the trace shows besides the result.
pub struct TraceInput<'a> {
    pub result: &'a ExecutionResult,
    pub operations: &'a [TransportOp],
    pub verbose: bool,
    /// Environment variable names the task config references.
    pub env_names: &'a BTreeSet<String>,
}

/// Names of environment variables referenced anywhere in the task config text.
pub fn referenced_env_names(task_text: &str) -> BTreeSet<String> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"\benv(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*["']([^"']+)["']\s*\])"#)
            .expect("valid regex")
    });
    RE.captures_iter(task_text)
        .filter_map(|c| c.get(1).or(c.get(2)).map(|m| m.as_str().to_string()))
        .collect()
}

/// `text` masked as the trace is (for the error lines printed beside it).
pub fn mask(input: &TraceInput<'_>, text: &str) -> String {
    secrets(input).mask(text).into_owned()
}

/// The values the trace masks: secret-named environment variables, and params whose names
/// look secret (a param reading `env.API_TOKEN` under another name is covered by the first).
fn secrets(input: &TraceInput<'_>) -> Secrets {
    let mut s = Secrets::default();
    for (name, value) in &input.result.params {
        if name == "env" {
            for (var, v) in value.as_object().into_iter().flatten() {
                if let (true, Some(v)) = (looks_secret(var), v.as_str()) {
                    s.add(v);
                }
            }
        } else if looks_secret(name) {
            match value {
                Value::String(v) => s.add(v),
                other => s.add(&other.to_string()),
            }
        }
    }
    s
}

/// The params to show: the `env` built-in reduced to referenced variables.
fn shown_params(input: &TraceInput<'_>) -> Vec<(String, Value)> {
    input
        .result
        .params
        .iter()
        .map(|(k, v)| {
            if k != "env" && looks_secret(k) {
                return (k.clone(), json!(REDACTED));
            }
            if k != "env" {
                return (k.clone(), v.clone());
            }
            let filtered: Map<String, Value> = v
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(name, _)| input.env_names.contains(*name))
                .map(|(name, val)| {
                    (
                        name.clone(),
                        if looks_secret(name) {
                            json!(REDACTED)
                        } else {
                            val.clone()
                        },
                    )
                })
                .collect();
            (k.clone(), Value::Object(filtered))
        })
        .collect()
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn pretty(v: &Value, indent: usize) -> String {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    let pad = " ".repeat(indent);
    text.lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn body_json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()))
}

fn api_lines(out: &mut String, calls: &[&ApiCallRecord], verbose: bool, indent: usize) {
    let pad = " ".repeat(indent);
    for c in calls {
        let _ = writeln!(out, "{pad}API Call: {} {} -> {}", c.method, c.url, c.status);
        if verbose {
            if let Some(b) = &c.request_body {
                let _ = writeln!(
                    out,
                    "{pad}  Request body:\n{}",
                    pretty(&body_json(b), indent + 4)
                );
            }
            if !c.response_body.is_empty() {
                let _ = writeln!(
                    out,
                    "{pad}  Response body:\n{}",
                    pretty(&body_json(&c.response_body), indent + 4)
                );
            }
        }
    }
}

fn calls_of<'a>(
    r: &'a ExecutionResult,
    phase: Phase,
    step: Option<&str>,
) -> Vec<&'a ApiCallRecord> {
    r.api_calls
        .iter()
        .filter(|c| c.phase == phase && step.is_none_or(|s| c.step == s))
        .collect()
}

/// The text trace.
pub fn text(input: &TraceInput<'_>) -> String {
    let r = input.result;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Dry-Run Execution Trace\n========================\nEvent: id={} type={}\n",
        r.event_id, r.event_type
    );
    phase1(&mut out, input);
    phase2(&mut out, input);
    phase3(&mut out, input);
    phase4(&mut out, input);
    let _ = writeln!(
        out,
        "Result: {}",
        if r.is_failed() { "FAILED" } else { "SUCCESS" }
    );
    secrets(input).mask(&out).into_owned()
}

fn phase1(out: &mut String, input: &TraceInput<'_>) {
    let r = input.result;
    let status = match (r.errors.get(&Phase::ParamExtraction), r.stopped_at) {
        (Some(_), _) => "FAILED",
        (None, Some(Phase::ParamExtraction)) => "SUCCESS (RESOURCE NOT FOUND)",
        _ => "SUCCESS",
    };
    let _ = writeln!(out, "Phase 1: Parameter Extraction .............. {status}");
    if let Some(e) = r.errors.get(&Phase::ParamExtraction) {
        let _ = writeln!(out, "  Error: {e}");
    } else {
        for (k, v) in shown_params(input) {
            let _ = writeln!(out, "  {k:<16} = {}", display(&v));
        }
    }
    api_lines(
        out,
        &calls_of(r, Phase::ParamExtraction, None),
        input.verbose,
        2,
    );
    out.push('\n');
}

fn phase2(out: &mut String, input: &TraceInput<'_>) {
    let r = input.result;
    let detail = if r.errors.contains_key(&Phase::Preconditions) {
        "FAILED".to_string()
    } else if r.stopped_at == Some(Phase::Preconditions) {
        "SUCCESS (RESOURCE NOT FOUND)".to_string()
    } else if r.stopped_at.is_some() || r.errors.contains_key(&Phase::ParamExtraction) {
        "SKIPPED".to_string()
    } else if r.resources_skipped
        && !r.skip_reason.is_empty()
        && r.preconditions.iter().any(|p| !p.matched)
    {
        "SUCCESS (NOT MET)".to_string()
    } else if !r.preconditions.is_empty() {
        "SUCCESS (MET)".to_string()
    } else {
        "SUCCESS".to_string()
    };
    let _ = writeln!(out, "Phase 2: Preconditions ..................... {detail}");
    let n = r.preconditions.len();
    for (i, p) in r.preconditions.iter().enumerate() {
        let word = match (p.status, p.matched) {
            (StepStatus::Failed, _) => "FAIL",
            (StepStatus::Skipped, _) => "RESOURCE NOT FOUND",
            (_, true) => "PASS",
            (_, false) => "NOT MET",
        };
        let _ = writeln!(out, "  [{}/{n}] {:<30} {word}", i + 1, p.name);
        api_lines(
            out,
            &calls_of(r, Phase::Preconditions, Some(&p.name)),
            input.verbose,
            4,
        );
        for (name, v) in &p.captures {
            let _ = writeln!(out, "    Captured: {name} = {}", display(v));
        }
        if !p.detail.is_empty() {
            let _ = writeln!(out, "    Details: {}", p.detail);
        }
        if let Some(e) = &p.error {
            let _ = writeln!(out, "    Error: {e}");
        }
    }
    out.push('\n');
}

fn phase3(out: &mut String, input: &TraceInput<'_>) {
    let r = input.result;
    let ran = !r.resources.is_empty();
    let status = if r.errors.contains_key(&Phase::Resources) {
        "FAILED"
    } else if !ran && (r.resources_skipped || r.stopped_at.is_some() || r.is_failed()) {
        "SKIPPED"
    } else {
        "SUCCESS"
    };
    let _ = writeln!(out, "Phase 3: Resources ........................ {status}");
    if status == "SKIPPED" && !r.skip_reason.is_empty() {
        let _ = writeln!(out, "  Reason: {}", r.skip_reason);
    }
    let n = r.resources.len();
    for (i, res) in r.resources.iter().enumerate() {
        let word = match (res.status, res.operation) {
            (StepStatus::Failed, _) => "FAILED".to_string(),
            (_, Some(op)) => op.as_str().to_uppercase(),
            (_, None) => "UNKNOWN".to_string(),
        };
        let _ = writeln!(out, "  [{}/{n}] {:<30} {word}", i + 1, res.name);
        let _ = writeln!(
            out,
            "    Kind: {:<12} Namespace: {:<12} Name: {}",
            res.kind, res.namespace, res.resource_name
        );
        if !res.reason.is_empty() {
            let _ = writeln!(out, "    Reason: {}", res.reason);
        }
        if let Some(state) = &res.discovered_state {
            let _ = writeln!(out, "    Pre-delete state:\n{}", pretty(state, 6));
        }
        if input.verbose
            && let Some(m) = &res.rendered
        {
            let _ = writeln!(out, "    Rendered manifest:\n{}", pretty(m, 6));
        }
        if let Some(e) = &res.error {
            let _ = writeln!(out, "    Error: {e}");
        }
    }
    if r.had_resource_keys {
        let _ = writeln!(
            out,
            "\nPhase 3.5: Discovery Results ................. (available as resources.* in payload)"
        );
        for (name, obj) in &r.discovered {
            let _ = writeln!(out, "  {name}:\n{}", pretty(obj, 4));
        }
    }
    out.push('\n');
}

fn phase4(out: &mut String, input: &TraceInput<'_>) {
    let r = input.result;
    let reached = r.stopped_at.is_none() && !r.errors.contains_key(&Phase::ParamExtraction);
    let status = if r.errors.contains_key(&Phase::PostActions) {
        "FAILED".to_string()
    } else if !reached {
        "SKIPPED".to_string()
    } else if r.skip_reason == "ResourceNotFound" && !r.post_actions.is_empty() {
        "SUCCESS (RESOURCE NOT FOUND)".to_string()
    } else {
        "SUCCESS".to_string()
    };
    let _ = writeln!(out, "Phase 4: Post Actions ..................... {status}");
    if input.verbose {
        for (name, json) in &r.payloads {
            let _ = writeln!(out, "  Payload {name}:\n{}", pretty(&body_json(json), 4));
        }
    }
    let n = r.post_actions.len();
    for (i, a) in r.post_actions.iter().enumerate() {
        let word = match a.status {
            StepStatus::Success => "EXECUTED",
            StepStatus::Skipped => "SKIPPED",
            StepStatus::Failed => "FAILED",
        };
        let _ = writeln!(out, "  [{}/{n}] {:<30} {word}", i + 1, a.name);
        if !a.skip_reason.is_empty() {
            let _ = writeln!(out, "    Reason: {}", a.skip_reason);
        }
        api_lines(
            out,
            &calls_of(r, Phase::PostActions, Some(&a.name)),
            input.verbose,
            4,
        );
        if let Some(e) = &a.error {
            let _ = writeln!(out, "    Error: {e}");
        }
    }
    if let Some(e) = r
        .errors
        .get(&Phase::PostActions)
        .filter(|_| r.post_actions.is_empty())
    {
        let _ = writeln!(out, "  Error: {e}");
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_references_and_secret_names() {
        let names = referenced_env_names(
            "source: env.REGION\nx: '{{ .env.API_TOKEN }}'\ny: env[\"A-B\"]\nz: environment.X",
        );
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["A-B", "API_TOKEN", "REGION"]
        );
        assert!(
            looks_secret("API_TOKEN") && looks_secret("db_password") && looks_secret("SSH_KEY")
        );
        assert!(!looks_secret("REGION"));
    }
}
