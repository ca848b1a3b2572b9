//! CloudEvents as the adapter receives them (structured JSON mode) and the anemic event-data
//! contract of the HyperFleet Sentinel: `id`, `kind`, `href` strings, `generation` an integer,
//! optional `owner_references`. Wire bytes become these types once, here.

use base64::Engine;
use serde_json::{Map, Value};

/// The envelope fields the adapter reads, plus the decoded data.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudEvent {
    pub id: String,
    pub kind: String,
    pub source: String,
    pub time: Option<String>,
    pub extensions: Map<String, Value>,
    /// The raw data bytes (`data` re-serialised, or `data_base64` decoded); empty when absent.
    pub data: Vec<u8>,
}

/// Why bytes are not a CloudEvent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("missing required attribute {0:?}")]
    Missing(&'static str),
    #[error("unsupported specversion {0:?} (want \"1.0\")")]
    SpecVersion(String),
    #[error("invalid data_base64: {0}")]
    Base64(String),
}

const CONTEXT_ATTRIBUTES: &[&str] = &[
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "datacontenttype",
    "dataschema",
    "subject",
    "data",
    "data_base64",
];

impl CloudEvent {
    /// Parses a structured-mode CloudEvent and validates the required attributes.
    pub fn parse(bytes: &[u8]) -> Result<CloudEvent, EventError> {
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| EventError::Json(e.to_string()))?;
        let obj = v
            .as_object()
            .ok_or_else(|| EventError::Json("a CloudEvent must be a JSON object".into()))?;
        let attr = |k: &'static str| -> Result<String, EventError> {
            match obj.get(k).and_then(Value::as_str) {
                Some(s) if !s.is_empty() => Ok(s.to_string()),
                _ => Err(EventError::Missing(k)),
            }
        };
        let spec = attr("specversion")?;
        if spec != "1.0" {
            return Err(EventError::SpecVersion(spec));
        }
        let data = match (obj.get("data"), obj.get("data_base64")) {
            (Some(Value::Null) | None, None) => Vec::new(),
            (_, Some(Value::String(b64))) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| EventError::Base64(e.to_string()))?,
            (Some(Value::String(s)), _) if !is_json_content(obj) => s.clone().into_bytes(),
            (Some(d), _) => serde_json::to_vec(d).unwrap_or_default(),
            (None, Some(other)) => {
                return Err(EventError::Base64(format!(
                    "expected a string, got {other}"
                )));
            }
        };
        let extensions = obj
            .iter()
            .filter(|(k, _)| !CONTEXT_ATTRIBUTES.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(CloudEvent {
            id: attr("id")?,
            kind: attr("type")?,
            source: attr("source")?,
            time: obj.get("time").and_then(Value::as_str).map(str::to_string),
            extensions,
            data,
        })
    }
}

fn is_json_content(obj: &Map<String, Value>) -> bool {
    match obj.get("datacontenttype").and_then(Value::as_str) {
        None => true,
        Some(ct) => ct.contains("json"),
    }
}

/// Why event data is not what params read from (the Go adapter's texts).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    /// Not JSON (the decoder's text).
    #[error("failed to unmarshal to map: {0}")]
    Json(String),
    /// JSON, but not an object.
    #[error("failed to unmarshal to map: data is a JSON {0}, not an object")]
    NotObject(&'static str),
    /// A field of the data contract has the wrong type.
    #[error("failed to unmarshal to EventData: field {field:?} must be {want}")]
    Field {
        field: &'static str,
        want: &'static str,
    },
}

/// Decodes event data into the map params read from, enforcing the anemic data contract.
pub fn parse_data(data: &[u8]) -> Result<Map<String, Value>, DataError> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let v: Value = serde_json::from_slice(data).map_err(|e| DataError::Json(e.to_string()))?;
    let Value::Object(map) = v else {
        return Err(DataError::NotObject(json_kind(&v)));
    };
    let typed = |field: &'static str, ok: bool, want: &'static str| {
        if ok {
            Ok(())
        } else {
            Err(DataError::Field { field, want })
        }
    };
    for key in ["id", "kind", "href"] {
        if let Some(v) = map.get(key) {
            typed(key, v.is_string() || v.is_null(), "a string")?;
        }
    }
    if let Some(g) = map.get("generation") {
        typed("generation", g.is_null() || g.is_i64(), "an integer")?;
    }
    if let Some(owner) = map.get("owner_references") {
        let ok = owner.is_null()
            || owner.as_object().is_some_and(|o| {
                ["id", "kind", "href"]
                    .iter()
                    .all(|k| o.get(*k).is_none_or(|v| v.is_string() || v.is_null()))
            });
        typed("owner_references", ok, "an object of strings")?;
    }
    Ok(map)
}

/// Log fields naming the resource an event is about (a JSON object, flattened into log lines):
/// `<kind>_id` (e.g. `cluster_id`), and for owned resources `resource_type` and the owner's
/// `<kind>_id` too (`nodepool_id` + `cluster_id`).
pub fn log_fields(m: &Map<String, Value>) -> String {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let kind = s(m.get("kind"));
    let mut out = Map::new();
    if let Some(owner) = m.get("owner_references").filter(|o| o.is_object()) {
        out.insert("resource_type".into(), Value::String(kind.clone()));
        out.insert(
            format!("{}_id", s(owner.get("kind")).to_lowercase()),
            Value::String(s(owner.get("id"))),
        );
    }
    out.insert(
        format!("{}_id", kind.to_lowercase()),
        Value::String(s(m.get("id"))),
    );
    Value::Object(out).to_string()
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null => "null",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_structured_events() {
        let e = CloudEvent::parse(br#"{"specversion":"1.0","id":"a","type":"t","source":"s","time":"2025-01-15T10:30:00Z","traceparent":"00-x","data":{"id":"c1","generation":5}}"#).unwrap();
        assert_eq!(
            (e.id.as_str(), e.kind.as_str(), e.source.as_str()),
            ("a", "t", "s")
        );
        assert_eq!(e.extensions["traceparent"], "00-x");
        let data = parse_data(&e.data).unwrap();
        assert_eq!(data["generation"], 5);
        let b64 = CloudEvent::parse(br#"{"specversion":"1.0","id":"a","type":"t","source":"s","data_base64":"eyJpZCI6ImMxIn0="}"#).unwrap();
        assert_eq!(parse_data(&b64.data).unwrap()["id"], "c1");
    }

    #[test]
    fn log_fields_name_the_resource() {
        let fields = |d: &[u8]| log_fields(&parse_data(d).unwrap());
        assert_eq!(
            fields(br#"{"id":"c1","kind":"Cluster"}"#),
            r#"{"cluster_id":"c1"}"#
        );
        assert_eq!(
            fields(
                br#"{"id":"n1","kind":"NodePool","owner_references":{"id":"c1","kind":"Cluster"}}"#
            ),
            r#"{"resource_type":"NodePool","cluster_id":"c1","nodepool_id":"n1"}"#
        );
    }

    #[test]
    fn rejects_bad_events_and_data() {
        assert_eq!(
            CloudEvent::parse(br#"{"specversion":"1.0","type":"t","source":"s"}"#).unwrap_err(),
            EventError::Missing("id")
        );
        assert!(matches!(
            CloudEvent::parse(b"nope").unwrap_err(),
            EventError::Json(_)
        ));
        assert!(
            parse_data(br#"{"generation":"5"}"#)
                .unwrap_err()
                .to_string()
                .contains("\"generation\" must be an integer")
        );
        assert!(parse_data(br#"{"generation":5.5}"#).is_err());
        assert!(
            parse_data(br#"{"id":123}"#)
                .unwrap_err()
                .to_string()
                .contains("\"id\" must be a string")
        );
        assert!(
            parse_data(br#"["a"]"#)
                .unwrap_err()
                .to_string()
                .contains("not an object")
        );
        assert!(parse_data(b"").unwrap().is_empty());
        assert!(parse_data(br#"{"owner_references":{"id":"c"},"extra":[1]}"#).is_ok());
    }
}
