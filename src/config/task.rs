//! The task config file: params, preconditions, resources and post-processing, as authors
//! write it. Unknown keys are rejected except inside free-form values (`manifest`, `build`,
//! condition values, defaults) and inside a param `source:` mapping, as in the Go adapter.

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "AdapterTaskConfig")]
pub struct TaskConfig {
    #[serde(default)]
    pub params: Vec<Param>,
    #[serde(default)]
    pub preconditions: Vec<Precondition>,
    #[serde(default)]
    pub resources: Vec<Resource>,
    #[serde(default)]
    pub post: Option<Post>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "Parameter")]
pub struct Param {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub source: Option<ParamSource>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub description: Option<String>,
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

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct FileSource {
    #[serde(default)]
    pub path: String,
    #[serde(default = "default_true")]
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

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "APICall")]
pub struct ApiCall {
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub headers: Vec<Header>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub retry_attempts: Option<i64>,
    #[serde(default)]
    pub retry_backoff: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "Header")]
pub struct Header {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "Precondition")]
pub struct Precondition {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub conditions: Option<Vec<Condition>>,
    #[serde(default)]
    pub expression: Option<String>,
    #[serde(default)]
    pub log: Option<LogAction>,
    #[serde(default)]
    pub api_call: Option<ApiCall>,
    #[serde(default)]
    pub capture: Vec<Capture>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "Condition")]
pub struct Condition {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub operator: String,
    #[serde(default, deserialize_with = "present")]
    pub value: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub values: Option<Value>,
}

/// Keeps an explicit `null` distinguishable from an absent key.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl Condition {
    /// The expected value, whichever key carried it.
    pub fn expected(&self) -> Option<&Value> {
        self.value.as_ref().or(self.values.as_ref())
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "CaptureField")]
pub struct Capture {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub expression: Option<String>,
    #[serde(default)]
    pub default: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "LogAction")]
pub struct LogAction {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub level: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "Resource")]
pub struct Resource {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub transport: Option<Transport>,
    #[serde(default)]
    pub manifest: Option<Value>,
    #[serde(default)]
    pub discovery: Option<Discovery>,
    #[serde(default)]
    pub nested_discoveries: Vec<NestedDiscovery>,
    #[serde(default)]
    pub recreate_on_change: bool,
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

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "TransportConfig")]
pub struct Transport {
    #[serde(default)]
    pub client: Option<String>,
    #[serde(default)]
    pub maestro: Option<MaestroTransport>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "MaestroTransportConfig")]
pub struct MaestroTransport {
    #[serde(default)]
    pub target_cluster: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "DiscoveryConfig")]
pub struct Discovery {
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub by_name: Option<String>,
    #[serde(default)]
    pub by_selectors: Option<BySelectors>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "SelectorConfig")]
pub struct BySelectors {
    #[serde(default)]
    pub label_selector: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "NestedDiscovery")]
pub struct NestedDiscovery {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub discovery: Option<Discovery>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "LifecycleConfig")]
pub struct Lifecycle {
    #[serde(default)]
    pub create: Option<LifecycleCreate>,
    #[serde(default)]
    pub delete: Option<LifecycleDelete>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "LifecycleCreate")]
pub struct LifecycleCreate {
    #[serde(default)]
    pub when: Option<When>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "LifecycleDelete")]
pub struct LifecycleDelete {
    #[serde(default, rename = "propagationPolicy")]
    pub propagation_policy: Option<String>,
    #[serde(default)]
    pub when: Option<When>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "WhenExpr")]
pub struct When {
    #[serde(default)]
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

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "PostConfig")]
pub struct Post {
    #[serde(default)]
    pub payloads: Vec<Payload>,
    #[serde(default)]
    pub post_actions: Vec<PostAction>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "Payload")]
pub struct Payload {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub when: Option<When>,
    #[serde(default)]
    pub build: Option<Value>,
    #[serde(default)]
    pub build_ref: Option<String>,
    /// The content of `build_ref`, loaded at startup.
    #[serde(skip)]
    pub loaded_build: Option<Value>,
}

impl Payload {
    /// The build definition, inline or loaded from `build_ref`.
    pub fn build_def(&self) -> Option<&Value> {
        self.build.as_ref().or(self.loaded_build.as_ref())
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "PostAction")]
pub struct PostAction {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub when: Option<When>,
    #[serde(default)]
    pub log: Option<LogAction>,
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
