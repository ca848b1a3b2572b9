//! CloudEvents as the adapter receives them (structured JSON mode) and the anemic event-data
//! contract of the HyperFleet Sentinel: `id`, `kind`, `href` strings, `generation` an integer,
//! optional `owner_references`. Wire bytes become these types once, here.

use base64::Engine;
use serde_json::{Map, Value};

/// The envelope fields the adapter reads, plus the data, decoded once.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudEvent {
    pub id: String,
    pub kind: String,
    pub source: String,
    pub time: Option<String>,
    pub extensions: Map<String, Value>,
    pub data: EventData,
}

/// An event's data as the envelope carried it. JSON data stays parsed from the broker's bytes
/// to the executor: it is never serialised and parsed again.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum EventData {
    /// No data, or `"data": null`.
    #[default]
    Absent,
    /// `data` as JSON: structured mode, or a binary-mode body under a JSON content type.
    Json(Value),
    /// Bytes: `data_base64` decoded, a text `data` under a non-JSON content type, or a
    /// binary-mode body that is not JSON.
    Bytes(Vec<u8>),
}

impl EventData {
    /// The data as bytes: JSON serialised, bytes as they are, empty when absent.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            EventData::Absent => Vec::new(),
            EventData::Json(v) => serde_json::to_vec(v).unwrap_or_default(),
            EventData::Bytes(b) => b.clone(),
        }
    }

    /// The map params read from (see [`parse_data`]), taking the parsed JSON as it is.
    pub fn into_map(self) -> Result<Map<String, Value>, DataError> {
        match self {
            EventData::Absent => Ok(Map::new()),
            EventData::Json(v) => check_data(v),
            EventData::Bytes(b) => parse_data(&b),
        }
    }

    /// [`EventData::into_map`] on a copy.
    pub fn to_map(&self) -> Result<Map<String, Value>, DataError> {
        self.clone().into_map()
    }
}

/// The CloudEvent attributes a binary-mode message carries in its headers (each a string, a
/// `specversion` among them) and the message's content type.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryAttributes {
    pub attributes: Map<String, Value>,
    pub content_type: Option<String>,
}

impl BinaryAttributes {
    /// The attributes a broker found in a message's headers, or `None` when they hold no
    /// `specversion`: the message is then in structured mode, its body the whole event.
    pub fn of(
        attributes: Map<String, Value>,
        content_type: impl FnOnce() -> Option<String>,
    ) -> Option<BinaryAttributes> {
        attributes
            .contains_key("specversion")
            .then(|| BinaryAttributes {
                attributes,
                content_type: content_type(),
            })
    }
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
        match v {
            Value::Object(obj) => CloudEvent::from_envelope(obj),
            _ => Err(EventError::Json(
                "a CloudEvent must be a JSON object".into(),
            )),
        }
    }

    /// The event of a broker message: with `binary`, a binary-mode message whose body is the
    /// data ([`CloudEvent::from_binary`]); without, a structured-mode envelope.
    pub fn from_message(
        binary: Option<BinaryAttributes>,
        body: &[u8],
    ) -> Result<CloudEvent, EventError> {
        match binary {
            Some(b) => CloudEvent::from_binary(b, body),
            None => CloudEvent::parse(body),
        }
    }

    /// A binary-mode message: the context attributes a broker carries in its headers, the
    /// message's content type and its body, which is the data. The event is the one the
    /// structured-mode envelope of the same attributes and data gives: the content type
    /// becomes `datacontenttype`; a body that parses as JSON under a JSON content type (or none)
    /// is the JSON data, parsed once here; any other non-empty body is the data's bytes.
    pub fn from_binary(binary: BinaryAttributes, body: &[u8]) -> Result<CloudEvent, EventError> {
        let BinaryAttributes {
            attributes: mut attrs,
            content_type,
        } = binary;
        let is_json = content_type.as_deref().is_none_or(|c| c.contains("json"));
        if let Some(ct) = content_type {
            attrs.insert("datacontenttype".into(), Value::String(ct));
        }
        match is_json
            .then(|| serde_json::from_slice::<Value>(body).ok())
            .flatten()
        {
            Some(v) => {
                attrs.insert("data".into(), v);
            }
            None if body.is_empty() => {}
            None => {
                // As `data_base64`, so the envelope's rules decide, as for a structured event.
                attrs.insert(
                    "data_base64".into(),
                    Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
                );
            }
        }
        CloudEvent::from_envelope(attrs)
    }

    /// The event of a structured-mode envelope, taking its values without copying them.
    fn from_envelope(mut obj: Map<String, Value>) -> Result<CloudEvent, EventError> {
        let attr = |obj: &Map<String, Value>, k: &'static str| -> Result<String, EventError> {
            match obj.get(k).and_then(Value::as_str) {
                Some(s) if !s.is_empty() => Ok(s.to_string()),
                _ => Err(EventError::Missing(k)),
            }
        };
        let spec = attr(&obj, "specversion")?;
        if spec != "1.0" {
            return Err(EventError::SpecVersion(spec));
        }
        let json_content = is_json_content(&obj);
        let data = match (obj.remove("data"), obj.remove("data_base64")) {
            (Some(Value::Null) | None, None) => EventData::Absent,
            (_, Some(Value::String(b64))) => EventData::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| EventError::Base64(e.to_string()))?,
            ),
            (Some(Value::String(s)), _) if !json_content => EventData::Bytes(s.into_bytes()),
            (Some(d), _) => EventData::Json(d),
            (None, Some(other)) => {
                return Err(EventError::Base64(format!(
                    "expected a string, got {other}"
                )));
            }
        };
        let id = attr(&obj, "id")?;
        let kind = attr(&obj, "type")?;
        let source = attr(&obj, "source")?;
        let time = obj.get("time").and_then(Value::as_str).map(str::to_string);
        obj.retain(|k, _| !CONTEXT_ATTRIBUTES.contains(&k.as_str()));
        Ok(CloudEvent {
            id,
            kind,
            source,
            time,
            extensions: obj,
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
    check_data(v)
}

/// [`parse_data`] on data already parsed: an object that keeps the data contract.
fn check_data(v: Value) -> Result<Map<String, Value>, DataError> {
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
        assert_eq!(
            e.data,
            EventData::Json(serde_json::json!({"id":"c1","generation":5}))
        );
        let data = e.data.into_map().unwrap();
        assert_eq!(data["generation"], 5);
        let b64 = CloudEvent::parse(br#"{"specversion":"1.0","id":"a","type":"t","source":"s","data_base64":"eyJpZCI6ImMxIn0="}"#).unwrap();
        assert_eq!(b64.data, EventData::Bytes(br#"{"id":"c1"}"#.to_vec()));
        assert_eq!(b64.data.to_map().unwrap()["id"], "c1");
    }

    /// Whatever shape the data takes, the params see what parsing its bytes would give.
    #[test]
    fn event_data_reads_as_its_bytes_would() {
        let events: &[&[u8]] = &[
            br#"{"specversion":"1.0","id":"a","type":"t","source":"s"}"#,
            br#"{"specversion":"1.0","id":"a","type":"t","source":"s","data":null}"#,
            br#"{"specversion":"1.0","id":"a","type":"t","source":"s","data":{"id":"c1","generation":1.5}}"#,
            br#"{"specversion":"1.0","id":"a","type":"t","source":"s","data":"{\"id\":\"c1\"}","datacontenttype":"text/plain"}"#,
            br#"{"specversion":"1.0","id":"a","type":"t","source":"s","data":"{\"id\":\"c1\"}"}"#,
            br#"{"specversion":"1.0","id":"a","type":"t","source":"s","data":" ","datacontenttype":"text/plain"}"#,
            br#"{"specversion":"1.0","id":"a","type":"t","source":"s","data":[1]}"#,
            br#"{"specversion":"1.0","id":"a","type":"t","source":"s","data_base64":"bm90IGpzb24="}"#,
        ];
        for bytes in events {
            let e = CloudEvent::parse(bytes).unwrap();
            let shown = String::from_utf8_lossy(bytes);
            assert_eq!(e.data.to_map(), parse_data(&e.data.to_bytes()), "{shown}");
        }
    }

    /// A binary-mode message gives the event of the structured envelope with the same
    /// attributes and data, the content type as `datacontenttype`.
    #[test]
    fn binary_mode_is_the_structured_envelope() {
        let attrs = |pairs: &[(&str, &str)], content_type: Option<&str>| BinaryAttributes {
            attributes: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect(),
            content_type: content_type.map(str::to_string),
        };
        let base = [
            ("specversion", "1.0"),
            ("id", "e1"),
            ("type", "t"),
            ("source", "/s"),
            ("traceparent", "00-x"),
        ];
        let e = CloudEvent::from_binary(attrs(&base, Some("application/json")), br#"{"id":"c1"}"#)
            .unwrap();
        let structured = CloudEvent::parse(br#"{"specversion":"1.0","id":"e1","type":"t","source":"/s","traceparent":"00-x","datacontenttype":"application/json","data":{"id":"c1"}}"#).unwrap();
        assert_eq!(e, structured);
        assert_eq!(e.extensions.keys().collect::<Vec<_>>(), ["traceparent"]);
        // Not JSON under a JSON type, or any body under another type: the bytes.
        let text =
            CloudEvent::from_binary(attrs(&base, Some("text/plain")), br#"{"id":"c1"}"#).unwrap();
        assert_eq!(text.data, EventData::Bytes(br#"{"id":"c1"}"#.to_vec()));
        assert_eq!(text.data.to_map().unwrap()["id"], "c1");
        let broken = CloudEvent::from_binary(attrs(&base, None), b"{nope").unwrap();
        assert_eq!(broken.data, EventData::Bytes(b"{nope".to_vec()));
        assert!(matches!(broken.data.into_map(), Err(DataError::Json(_))));
        let empty = CloudEvent::from_binary(attrs(&base, None), b"").unwrap();
        assert_eq!(empty.data, EventData::Absent);
        assert_eq!(
            CloudEvent::from_binary(attrs(&base[..3], None), b"{}").unwrap_err(),
            EventError::Missing("source")
        );
        // Headers without a specversion: a structured-mode message.
        let no_spec = attrs(&base[1..], None).attributes;
        assert_eq!(BinaryAttributes::of(no_spec, || None), None);
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
