//! The outcome of one run as one JSON document: what `fields` paths walk and what `cel`
//! expressions see (each top-level key is a CEL variable), and where the typed expectations
//! read their actual values.

use super::model::{PostActionWord, PreconditionWord, ResourceWord};
use crate::domain::result::{
    ExecutionResult, PostActionResult, PreconditionResult, ResourceResult, StepStatus,
};
use serde_json::{Map, Value, json};

/// A precondition's outcome word.
pub fn precondition_word(p: &PreconditionResult) -> PreconditionWord {
    match (p.status, p.matched) {
        (StepStatus::Failed, _) => PreconditionWord::Failed,
        (StepStatus::Skipped, _) => PreconditionWord::NotFound,
        (_, true) => PreconditionWord::Met,
        (_, false) => PreconditionWord::NotMet,
    }
}

/// A resource's outcome word.
pub fn resource_word(r: &ResourceResult) -> ResourceWord {
    use crate::ports::Operation;
    match (r.status, r.operation) {
        (StepStatus::Failed, _) => ResourceWord::Failed,
        (_, Some(Operation::Create)) => ResourceWord::Create,
        (_, Some(Operation::Update)) => ResourceWord::Update,
        (_, Some(Operation::Recreate)) => ResourceWord::Recreate,
        (_, Some(Operation::Skip)) => ResourceWord::Skip,
        (_, Some(Operation::Delete)) => ResourceWord::Delete,
        // A resource recorded without an operation was not acted on.
        (_, None) => ResourceWord::NotRun,
    }
}

/// A post-action's outcome word.
pub fn post_action_word(a: &PostActionResult) -> PostActionWord {
    match a.status {
        StepStatus::Success => PostActionWord::Executed,
        StepStatus::Skipped => PostActionWord::Skipped,
        StepStatus::Failed => PostActionWord::Failed,
    }
}

/// A body as JSON, or as a string when it is not JSON; `None` for no body.
pub fn body_value(body: &str) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()))
}

/// The outcome document:
/// `result`, `errors` (phase → text), `params`, `preconditions` (name → outcome, detail,
/// error, captures), `resources` (name → outcome, kind, namespace, name, reason, error,
/// manifest), `discovered` (name → object), `payloads` (name → JSON), `post_actions` (name →
/// outcome, skip_reason, error), `requests` (list of phase, step, method, url, status, body,
/// response) and `adapter` (the `adapter.*` metadata CEL sees in the task config).
pub fn view(r: &ExecutionResult, adapter_name: &str, adapter_version: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let result = if r.is_failed() { "failed" } else { "success" };
    out.insert("result".into(), json!(result));
    let errors: Map<String, Value> = r
        .errors
        .iter()
        .map(|(p, e)| (p.as_str().to_string(), json!(e)))
        .collect();
    out.insert("errors".into(), Value::Object(errors));
    let params: Map<String, Value> = r.params.iter().cloned().collect();
    out.insert("params".into(), Value::Object(params));
    let pre: Map<String, Value> = r
        .preconditions
        .iter()
        .map(|p| {
            let captures: Map<String, Value> = p.captures.iter().cloned().collect();
            let v = json!({
                "outcome": precondition_word(p).as_str(),
                "detail": p.detail,
                "error": p.error,
                "captures": captures,
            });
            (p.name.clone(), v)
        })
        .collect();
    out.insert("preconditions".into(), Value::Object(pre));
    let resources: Map<String, Value> = r
        .resources
        .iter()
        .map(|res| {
            let v = json!({
                "outcome": resource_word(res).as_str(),
                "kind": res.kind,
                "namespace": res.namespace,
                "name": res.resource_name,
                "reason": res.reason,
                "error": res.error,
                "manifest": res.rendered,
            });
            (res.name.clone(), v)
        })
        .collect();
    out.insert("resources".into(), Value::Object(resources));
    out.insert("discovered".into(), Value::Object(r.discovered.clone()));
    let payloads: Map<String, Value> = r
        .payloads
        .iter()
        .map(|(name, text)| (name.clone(), body_value(text)))
        .collect();
    out.insert("payloads".into(), Value::Object(payloads));
    let posts: Map<String, Value> = r
        .post_actions
        .iter()
        .map(|a| {
            let v = json!({
                "outcome": post_action_word(a).as_str(),
                "skip_reason": a.skip_reason,
                "error": a.error,
            });
            (a.name.clone(), v)
        })
        .collect();
    out.insert("post_actions".into(), Value::Object(posts));
    let requests: Vec<Value> = r
        .api_calls
        .iter()
        .map(|c| {
            json!({
                "phase": c.phase.as_str(),
                "step": c.step,
                "method": c.method,
                "url": c.url,
                "status": c.status,
                "body": c.request_body.as_deref().map(body_value),
                "response": body_value(&c.response_body),
            })
        })
        .collect();
    out.insert("requests".into(), Value::Array(requests));
    out.insert(
        "adapter".into(),
        r.adapter.to_json(adapter_name, adapter_version),
    );
    out
}
