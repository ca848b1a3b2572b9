//! The task config file: params, preconditions, resources and post-processing, as authors
//! write it. Unknown keys are rejected except inside free-form values (`manifest`, `build`,
//! condition values, defaults) and inside a param `source:` mapping, as in the Go adapter.

use crate::config::schema::{
    Constrain, Require, exactly_one, non_blank_text, non_empty_text, present, resource_name,
};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The task config (`--task-config`): what the adapter does with each event, in four phases.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "AdapterTaskConfig")]
#[schemars(title = "HyperFleet Adapter task config")]
pub struct TaskConfig {
    /// Phase 1: values extracted per event (from the event, env, the config, the API, CEL or
    /// files), in order; later params see earlier ones.
    #[serde(default)]
    pub params: Vec<Param>,
    /// Phase 2: checks that stop the event (as skipped) unless they hold.
    #[serde(default)]
    pub preconditions: Vec<Precondition>,
    /// Phase 3: objects to render, discover, apply or delete.
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// Phase 4: status payloads and the actions that send them.
    #[serde(default)]
    pub post: Option<Post>,
}

/// One param: a named value for templates and CEL.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Parameter")]
#[schemars(transform = Require(&["name", "source"]), transform = Constrain(|| present("source")))]
pub struct Param {
    /// The name templates (`{{ .name }}`) and CEL see it under.
    #[serde(default)]
    #[schemars(schema_with = "non_blank_text", extend("examples" = ["clusterId"]))]
    pub name: String,
    /// Where the value comes from.
    #[serde(default)]
    pub source: Option<ParamSource>,
    /// Converts the value (scalars and file contents).
    #[serde(default, rename = "type")]
    #[schemars(schema_with = "param_types")]
    pub kind: Option<String>,
    /// The value when the source yields nothing or an empty value (any YAML value).
    #[serde(default)]
    pub default: Option<Value>,
    /// A failure to extract stops the event; an `env.X` source without `default` must be set
    /// at startup.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    pub required: bool,
    /// Free text for readers.
    #[serde(default)]
    pub description: Option<String>,
}

fn param_types(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": ["string", "null"], "enum": crate::expr::convert::SUPPORTED.iter().map(|s| Value::from(*s)).chain([Value::Null]).collect::<Vec<_>>() })
}

/// Where a param's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamSource {
    /// `env.X`, `event.a.b`, `config.a.b`, `<earlier param>[.path]` or a bare event path.
    Path(String),
    ApiCall(ApiCall),
    Expression(String),
    File(FileSource),
}

/// A file read per event (at most 1 MiB).
#[derive(Debug, Clone, Deserialize, PartialEq, JsonSchema)]
#[schemars(transform = Require(&["path"]))]
pub struct FileSource {
    /// The file; absolute in containers (mounted volumes).
    #[serde(default)]
    #[schemars(schema_with = "non_blank_text", extend("examples" = ["/etc/adapter/region"]))]
    pub path: String,
    /// Trim surrounding whitespace.
    #[serde(default = "default_true")]
    #[schemars(extend("default" = true))]
    pub trim: bool,
}

fn default_true() -> bool {
    true
}

impl<'de> Deserialize<'de> for ParamSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = Value::deserialize(d)?;
        match v {
            Value::String(s) => Ok(ParamSource::Path(s)),
            Value::Object(m) => {
                let present: Vec<&str> = ["api_call", "expression", "file"]
                    .into_iter()
                    .filter(|k| m.contains_key(*k))
                    .collect();
                if present.len() > 1 {
                    return Err(D::Error::custom(
                        "source: only one of 'api_call', 'expression', or 'file' may be set",
                    ));
                }
                match present.first().copied() {
                    Some("api_call") => serde_json::from_value(m["api_call"].clone())
                        .map(ParamSource::ApiCall)
                        .map_err(|e| D::Error::custom(format!("source.api_call: {e}"))),
                    Some("expression") => match &m["expression"] {
                        Value::String(s) if !s.trim().is_empty() => {
                            Ok(ParamSource::Expression(s.clone()))
                        }
                        Value::String(_) | Value::Null => {
                            Err(D::Error::custom("source: expression must not be empty"))
                        }
                        other => Err(D::Error::custom(format!(
                            "source: expression must be a string, got {other}"
                        ))),
                    },
                    Some(_) => serde_json::from_value(m["file"].clone())
                        .map(ParamSource::File)
                        .map_err(|e| D::Error::custom(format!("source.file: {e}"))),
                    None => Err(D::Error::custom(
                        "source: mapping must contain one of 'api_call', 'expression', or 'file'",
                    )),
                }
            }
            Value::Null => Err(D::Error::custom("source is required")),
            Value::Array(_) => Err(D::Error::custom(
                "source: expected string or mapping, got !!seq",
            )),
            other => Ok(ParamSource::Path(match other {
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => String::new(),
            })),
        }
    }
}

impl ParamSource {
    /// How the Go adapter describes the source in extraction errors.
    pub fn describe(&self) -> String {
        match self {
            ParamSource::Path(p) => p.clone(),
            ParamSource::ApiCall(a) => format!("api_call({} {})", a.method, a.url),
            ParamSource::Expression(e) => format!("expression({:?})", e.trim()),
            ParamSource::File(f) => format!("file({})", f.path),
        }
    }
}

/// An HTTP call to the HyperFleet API.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "APICall")]
#[schemars(transform = Require(&["method", "url"]))]
pub struct ApiCall {
    /// The HTTP method (upper case).
    #[serde(default)]
    #[schemars(schema_with = "http_methods")]
    pub method: String,
    /// A template; relative URLs are joined to `clients.hyperfleet_api.base_url` and `version`.
    /// Every printed value is checked against where it lands in the URL.
    #[serde(default)]
    #[schemars(schema_with = "non_empty_text", extend("examples" = ["/clusters/{{ .clusterId }}"]))]
    pub url: String,
    /// Request headers (values are templates).
    #[serde(default)]
    pub headers: Vec<Header>,
    /// The request body, a template (sent with POST, PUT and PATCH).
    #[serde(default)]
    #[schemars(extend("examples" = ["{{ .statusPayload }}"]))]
    pub body: Option<String>,
    /// Per-request timeout, a Go duration (an unparsable one is warned about and the client's
    /// default used).
    #[serde(default)]
    #[schemars(extend("examples" = ["10s"]))]
    pub timeout: Option<String>,
    /// Attempts in all (more than 0 overrides the client's).
    #[serde(default)]
    pub retry_attempts: Option<i64>,
    /// Backoff for this call (`exponential`, `linear`, `constant`; not checked: anything else
    /// waits the base delay).
    #[serde(default)]
    #[schemars(extend("examples" = ["exponential", "linear", "constant"]))]
    pub retry_backoff: Option<String>,
}

fn http_methods(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "enum": HTTP_METHODS })
}

/// The methods an `api_call` may use.
pub const HTTP_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// One request header.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Header")]
pub struct Header {
    /// The header name.
    #[serde(default)]
    pub name: String,
    /// The value, a template.
    #[serde(default)]
    pub value: String,
}

/// A check before the resources phase: structured `conditions` (all must hold) or a CEL
/// `expression` (with both, only the conditions are evaluated).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Precondition")]
#[schemars(transform = Require(&["name"]), transform = Constrain(precondition_forms))]
pub struct Precondition {
    /// The precondition's name.
    #[serde(default)]
    #[schemars(schema_with = "resource_name")]
    pub name: String,
    /// Structured conditions, all of which must hold.
    #[serde(default)]
    pub conditions: Option<Vec<Condition>>,
    /// A CEL expression that must be true.
    #[serde(default)]
    #[schemars(extend("examples" = ["clusterPhase == \"Ready\""]))]
    pub expression: Option<String>,
    /// A line logged when the precondition is evaluated.
    #[serde(default)]
    pub log: Option<LogAction>,
    /// Deprecated: move the call to a param with `source.api_call` (still works, with a
    /// warning).
    #[serde(default)]
    #[schemars(extend("deprecated" = true))]
    pub api_call: Option<ApiCall>,
    /// Values taken from the deprecated `api_call`'s response.
    #[serde(default)]
    pub capture: Vec<Capture>,
}

fn precondition_forms() -> Value {
    json!({ "anyOf": [
        present("api_call"),
        { "required": ["conditions"], "properties": { "conditions": { "type": "array" } } },
        { "required": ["expression"], "properties": { "expression": {
            "type": ["string", "number", "boolean"], "pattern": r"\S",
        } } },
    ] })
}

/// A structured condition on a field of the event, params or captures.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Condition")]
#[schemars(transform = Require(&["field", "operator"]), transform = Constrain(condition_values))]
pub struct Condition {
    /// A dot path or Kubernetes JSONPath (`status.phase`, `{.items[0].name}`).
    #[serde(default)]
    #[schemars(schema_with = "non_blank_text", extend("examples" = ["clusterPhase"]))]
    pub field: String,
    /// How the field compares with the value.
    #[serde(default)]
    #[schemars(schema_with = "operators")]
    pub operator: String,
    /// The expected value (any YAML value; a list for `in` and `notIn`; none for `exists`).
    #[serde(default, deserialize_with = "present_value")]
    pub value: Option<Value>,
    /// Another name for `value` (use one of them).
    #[serde(default, deserialize_with = "present_value")]
    pub values: Option<Value>,
}

fn operators(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "enum": crate::expr::criteria::OPERATORS })
}

fn condition_values() -> Value {
    let either = json!({ "anyOf": [{ "required": ["value"] }, { "required": ["values"] }] });
    json!({
        "not": { "required": ["value", "values"] },
        "allOf": [
            {
                "if": { "properties": { "operator": { "const": "exists" } } },
                "then": { "not": either },
                "else": either,
            },
            {
                "if": { "properties": { "operator": { "enum": ["in", "notIn"] } } },
                "then": { "properties": { "value": { "type": "array" }, "values": { "type": "array" } } },
            },
        ],
    })
}

/// Keeps an explicit `null` distinguishable from an absent key.
fn present_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl Condition {
    /// The expected value, whichever key carried it.
    pub fn expected(&self) -> Option<&Value> {
        self.value.as_ref().or(self.values.as_ref())
    }
}

/// A value captured from the deprecated precondition `api_call`'s response.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "CaptureField")]
#[schemars(transform = Require(&["name"]), transform = Constrain(|| exactly_one("field", "expression")))]
pub struct Capture {
    /// The name templates and CEL see it under.
    #[serde(default)]
    #[schemars(schema_with = "non_blank_text")]
    pub name: String,
    /// A JSONPath into the response.
    #[serde(default)]
    #[schemars(extend("examples" = ["status.phase"]))]
    pub field: Option<String>,
    /// A CEL expression over the response.
    #[serde(default)]
    pub expression: Option<String>,
    /// The value when `field` is absent (any YAML value).
    #[serde(default)]
    pub default: Option<Value>,
}

/// A log line (the message is a template).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "LogAction")]
pub struct LogAction {
    /// The message, a template.
    #[serde(default)]
    pub message: String,
    /// The level (an unknown one is warned about and `info` used).
    #[serde(default)]
    #[schemars(extend("default" = "info", "examples" = ["debug", "info", "warn", "error"]))]
    pub level: String,
}

/// An object the adapter renders, discovers, applies or deletes.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Resource")]
#[schemars(
    transform = Require(&["name", "manifest", "discovery"]),
    transform = Constrain(|| present("manifest")),
    transform = Constrain(|| present("discovery"))
)]
pub struct Resource {
    /// The resource's name, unique in the file (`resources.<name>` in templates and CEL).
    #[serde(default)]
    #[schemars(schema_with = "resource_name")]
    pub name: String,
    /// Which client applies it (default: Kubernetes).
    #[serde(default)]
    pub transport: Option<Transport>,
    /// The object: a mapping (a Kubernetes object, or a ManifestWork for Maestro), a template
    /// text, or `{ref: <file>}` (relative to the task config's directory). Templates anywhere.
    #[serde(default)]
    pub manifest: Option<Value>,
    /// How to find the existing object.
    #[serde(default)]
    pub discovery: Option<Discovery>,
    /// Objects inside the applied one (the manifests of a ManifestWork), by name or labels.
    #[serde(default)]
    pub nested_discoveries: Vec<NestedDiscovery>,
    /// Delete and recreate the object when it changed, instead of applying over it.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    pub recreate_on_change: bool,
    /// When to create and when to delete the object.
    #[serde(default)]
    pub lifecycle: Option<Lifecycle>,
}

impl Resource {
    /// The transport client name (`kubernetes` when none is given).
    pub fn client(&self) -> &str {
        match self.transport.as_ref().and_then(|t| t.client.as_deref()) {
            Some(c) if !c.is_empty() => c,
            _ => "kubernetes",
        }
    }
}

/// The transports a resource may name.
pub const TRANSPORT_CLIENTS: &[&str] = &["kubernetes", "maestro"];

/// Which client applies a resource.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "TransportConfig")]
#[schemars(transform = Require(&["client"]), transform = Constrain(transport_forms))]
pub struct Transport {
    /// The client.
    #[serde(default)]
    #[schemars(schema_with = "transport_clients")]
    pub client: Option<String>,
    /// Maestro settings (required when `client` is `maestro`).
    #[serde(default)]
    pub maestro: Option<MaestroTransport>,
}

fn transport_clients(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "enum": TRANSPORT_CLIENTS })
}

fn transport_forms() -> Value {
    json!({
        "if": { "properties": { "client": { "const": "maestro" } } },
        "then": {
            "required": ["maestro"],
            "properties": { "maestro": {
                "type": "object",
                "required": ["target_cluster"],
                "properties": { "target_cluster": {
                    "type": ["string", "number", "boolean"], "minLength": 1,
                } },
            } },
        },
    })
}

/// Where Maestro delivers the ManifestWork.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "MaestroTransportConfig")]
pub struct MaestroTransport {
    /// The Maestro consumer (cluster) name, a template.
    #[serde(default)]
    #[schemars(extend("examples" = ["{{ .placementClusterName }}"]))]
    pub target_cluster: Option<String>,
}

/// How to find an existing object: by name or by labels, optionally in a namespace.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "DiscoveryConfig")]
#[schemars(transform = Constrain(|| exactly_one("by_name", "by_selectors")))]
pub struct Discovery {
    /// The namespace (a template); empty: cluster-scoped or all namespaces.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The object's name, a template.
    #[serde(default)]
    #[schemars(extend("examples" = ["{{ .clusterId }}"]))]
    pub by_name: Option<String>,
    /// Label selectors.
    #[serde(default)]
    pub by_selectors: Option<BySelectors>,
}

/// Label selectors (keys and values are templates).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "SelectorConfig")]
#[schemars(
    transform = Require(&["label_selector"]),
    transform = Constrain(|| present("label_selector"))
)]
pub struct BySelectors {
    /// Labels the object must carry (at least one).
    #[serde(default)]
    #[schemars(
        extend("minProperties" = 1, "examples" = [{"hyperfleet.io/cluster-id": "{{ .clusterId }}"}])
    )]
    pub label_selector: Option<BTreeMap<String, String>>,
}

/// An object inside the applied one, found by name or labels.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "NestedDiscovery")]
#[schemars(
    transform = Require(&["name", "discovery"]),
    transform = Constrain(|| present("discovery"))
)]
pub struct NestedDiscovery {
    /// The name CEL and templates see it under (`resources.<name>`).
    #[serde(default)]
    #[schemars(schema_with = "resource_name")]
    pub name: String,
    /// How to find it.
    #[serde(default)]
    pub discovery: Option<Discovery>,
}

/// When to create and when to delete the object (neither: apply on every event).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "LifecycleConfig")]
pub struct Lifecycle {
    /// Create (and apply) only when the condition holds.
    #[serde(default)]
    pub create: Option<LifecycleCreate>,
    /// Delete when the condition holds.
    #[serde(default)]
    pub delete: Option<LifecycleDelete>,
}

/// Create only when `when` holds.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "LifecycleCreate")]
#[schemars(transform = Require(&["when"]), transform = Constrain(when_expression_required))]
pub struct LifecycleCreate {
    /// The condition.
    #[serde(default)]
    pub when: Option<When>,
}

/// Delete when `when` holds.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "LifecycleDelete")]
#[schemars(transform = Require(&["when"]), transform = Constrain(when_expression_required))]
pub struct LifecycleDelete {
    /// How dependents are deleted (Kubernetes' propagation policy).
    #[serde(default, rename = "propagationPolicy")]
    #[schemars(schema_with = "propagation_policies", extend("default" = "Background"))]
    pub propagation_policy: Option<String>,
    /// The condition.
    #[serde(default)]
    pub when: Option<When>,
}

/// The propagation policies `lifecycle.delete` accepts.
pub const PROPAGATION_POLICIES: &[&str] = &["Background", "Foreground", "Orphan"];

fn propagation_policies(_: &mut SchemaGenerator) -> Schema {
    let mut all: Vec<Value> = PROPAGATION_POLICIES
        .iter()
        .map(|p| Value::from(*p))
        .collect();
    all.push(Value::Null);
    json_schema!({ "type": ["string", "null"], "enum": all })
}

/// `when` must hold an expression that is not blank.
fn when_expression_required() -> Value {
    json!({ "properties": { "when": { "type": "object", "required": ["expression"],
        "properties": { "expression": { "type": "string", "pattern": r"\S" } } } } })
}

/// A CEL condition.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "WhenExpr")]
pub struct When {
    /// A CEL expression.
    #[serde(default)]
    #[schemars(extend("examples" = ["clusterPhase == \"Terminating\""]))]
    pub expression: Option<String>,
}

impl When {
    /// The trimmed expression, if non-empty.
    pub fn expr(w: &Option<When>) -> Option<&str> {
        w.as_ref()
            .and_then(|w| w.expression.as_deref())
            .map(str::trim)
            .filter(|e| !e.is_empty())
    }
}

/// Phase 4: build payloads, then run the post-actions in order.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "PostConfig")]
pub struct Post {
    /// Documents built from everything above (templates and CEL), named for the actions.
    #[serde(default)]
    pub payloads: Vec<Payload>,
    /// Actions run in order: log lines and API calls (typically the status report).
    #[serde(default)]
    pub post_actions: Vec<PostAction>,
}

/// A document built after the resources phase.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Payload")]
#[schemars(
    transform = Require(&["name"]),
    transform = Constrain(payload_forms)
)]
pub struct Payload {
    /// The name templates and CEL see it under (`{{ .statusPayload }}`).
    #[serde(default)]
    #[schemars(schema_with = "non_blank_text", extend("examples" = ["statusPayload"]))]
    pub name: String,
    /// Build it only when this holds.
    #[serde(default)]
    pub when: Option<When>,
    /// The document: any YAML value; a string is a template, a mapping with `field`
    /// (JSONPath) or `expression` (CEL) and `default` is computed.
    #[serde(default)]
    pub build: Option<Value>,
    /// A YAML file with the build definition (relative to the task config's directory).
    #[serde(default)]
    pub build_ref: Option<String>,
    /// The content of `build_ref`, loaded at startup.
    #[serde(skip)]
    pub loaded_build: Option<Value>,
}

fn payload_forms() -> Value {
    json!({
        "allOf": [
            exactly_one("build", "build_ref"),
            { "if": present("when"), "then": when_expression_required() },
        ],
    })
}

impl Payload {
    /// The build definition, inline or loaded from `build_ref`.
    pub fn build_def(&self) -> Option<&Value> {
        self.build.as_ref().or(self.loaded_build.as_ref())
    }
}

/// A post-action: a log line, an API call, or both.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "PostAction")]
#[schemars(
    transform = Require(&["name"]),
    transform = Constrain(|| json!({ "if": present("when"), "then": when_expression_required() }))
)]
pub struct PostAction {
    /// The action's name.
    #[serde(default)]
    #[schemars(schema_with = "resource_name")]
    pub name: String,
    /// Run only when this holds.
    #[serde(default)]
    pub when: Option<When>,
    /// A line to log.
    #[serde(default)]
    pub log: Option<LogAction>,
    /// A call to the HyperFleet API.
    #[serde(default)]
    pub api_call: Option<ApiCall>,
}

/// A payload ValueDef: a map with a non-empty `field` (JSONPath) or `expression` (CEL) string;
/// its other keys (`default` aside) are ignored.
pub fn is_value_def(m: &serde_json::Map<String, Value>) -> bool {
    ["field", "expression"].iter().any(|k| {
        m.get(*k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty())
    })
}
