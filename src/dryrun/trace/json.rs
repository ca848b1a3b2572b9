//! The JSON trace: the text trace's content under the Go adapter's keys (camelCase), empty
//! fields and lists left out, masked as the text is.

use super::{TraceInput, body_json, secrets, shown_params};
use crate::adapters::transport::TransportOp;
use crate::domain::result::{
    ApiCallRecord, ExecutionResult, PostActionResult, PreconditionResult, ResourceResult,
    StepStatus,
};
use serde_json::{Map, Value, json};

/// Inserts `v` under `k` unless it is empty.
fn put(m: &mut Map<String, Value>, k: &str, v: &str) {
    if !v.is_empty() {
        m.insert(k.into(), json!(v));
    }
}

/// Inserts the list under `k` unless it is empty.
fn put_list(m: &mut Map<String, Value>, k: &str, items: Vec<Value>) {
    if !items.is_empty() {
        m.insert(k.into(), Value::Array(items));
    }
}

/// The JSON trace.
pub fn json(input: &TraceInput<'_>) -> Value {
    let r = input.result;
    let mut out = summary(input);
    put_list(
        &mut out,
        "preconditions",
        r.preconditions.iter().map(precondition).collect(),
    );
    let resources = r.resources.iter().map(|res| resource(res, input.verbose));
    put_list(&mut out, "resources", resources.collect());
    outputs(&mut out, r);
    put_list(
        &mut out,
        "postActions",
        r.post_actions.iter().map(post_action).collect(),
    );
    if !r.errors.is_empty() {
        let errors: Map<String, Value> = r
            .errors
            .iter()
            .map(|(p, e)| (p.as_str().to_string(), json!(e)))
            .collect();
        out.insert("errors".into(), Value::Object(errors));
    }
    let calls = r.api_calls.iter().map(|c| api_call(c, input.verbose));
    put_list(&mut out, "apiRequests", calls.collect());
    let ops = input.operations.iter().map(operation);
    put_list(&mut out, "transportOperations", ops.collect());
    let mut out = Value::Object(out);
    secrets(input).mask_json(&mut out);
    out
}

/// The event, the outcome, why resources were skipped, and the params.
fn summary(input: &TraceInput<'_>) -> Map<String, Value> {
    let r = input.result;
    let mut out = Map::new();
    out.insert(
        "event".into(),
        json!({"id": r.event_id, "type": r.event_type}),
    );
    out.insert(
        "status".into(),
        json!(if r.is_failed() { "failed" } else { "success" }),
    );
    if r.resources_skipped {
        out.insert("resourcesSkipped".into(), json!(true));
        put(&mut out, "skipReason", &r.skip_reason);
    }
    let params: Map<String, Value> = shown_params(input).into_iter().collect();
    if !params.is_empty() {
        out.insert("params".into(), Value::Object(params));
    }
    out
}

fn precondition(p: &PreconditionResult) -> Value {
    let mut m = Map::new();
    put(&mut m, "error", p.error.as_deref().unwrap_or_default());
    m.insert("name".into(), json!(p.name));
    m.insert("status".into(), json!(p.status.as_str()));
    m.insert("matched".into(), json!(p.matched));
    Value::Object(m)
}

fn resource(res: &ResourceResult, verbose: bool) -> Value {
    let mut m = Map::new();
    if let Some(s) = &res.discovered_state {
        m.insert("discoveredState".into(), s.clone());
    }
    m.insert("name".into(), json!(res.name));
    m.insert("kind".into(), json!(res.kind));
    put(&mut m, "namespace", &res.namespace);
    put(&mut m, "resourceName", &res.resource_name);
    m.insert("status".into(), json!(res.status.as_str()));
    if let Some(op) = res.operation {
        m.insert("operation".into(), json!(op.as_str()));
    }
    put(&mut m, "reason", &res.reason);
    put(&mut m, "error", res.error.as_deref().unwrap_or_default());
    if verbose && let Some(rendered) = &res.rendered {
        m.insert("renderedManifest".into(), rendered.clone());
    }
    Value::Object(m)
}

/// What the resources phase left for the post phase: discovered objects and built payloads.
fn outputs(out: &mut Map<String, Value>, r: &ExecutionResult) {
    if !r.discovered.is_empty() {
        out.insert(
            "discoveredResources".into(),
            Value::Object(r.discovered.clone()),
        );
    }
    if !r.payloads.is_empty() {
        let payloads: Map<String, Value> = r
            .payloads
            .iter()
            .map(|(k, v)| (k.clone(), body_json(v)))
            .collect();
        out.insert("payloads".into(), Value::Object(payloads));
    }
}

fn post_action(a: &PostActionResult) -> Value {
    let mut m = Map::new();
    put(&mut m, "error", a.error.as_deref().unwrap_or_default());
    m.insert("name".into(), json!(a.name));
    m.insert("status".into(), json!(a.status.as_str()));
    if a.status == StepStatus::Skipped {
        m.insert("skipped".into(), json!(true));
    }
    put(&mut m, "reason", &a.skip_reason);
    Value::Object(m)
}

fn api_call(c: &ApiCallRecord, verbose: bool) -> Value {
    let mut m = Map::new();
    if verbose {
        put(
            &mut m,
            "requestBody",
            c.request_body.as_deref().unwrap_or_default(),
        );
        put(&mut m, "responseBody", &c.response_body);
    }
    m.insert("method".into(), json!(c.method));
    m.insert("url".into(), json!(c.url));
    m.insert("statusCode".into(), json!(c.status));
    m.insert("phase".into(), json!(c.phase.as_str()));
    m.insert("step".into(), json!(c.step));
    Value::Object(m)
}

fn operation(o: &TransportOp) -> Value {
    let mut m = Map::new();
    m.insert("operation".into(), json!(o.operation));
    m.insert("kind".into(), json!(o.kind));
    put(&mut m, "namespace", &o.namespace);
    m.insert("name".into(), json!(o.name));
    if o.operation == "apply" {
        put(&mut m, "result", o.result.as_deref().unwrap_or_default());
    }
    Value::Object(m)
}
