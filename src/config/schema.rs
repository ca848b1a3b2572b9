//! JSON Schema of the three config files, generated from what the loader reads: the adapter and
//! task configs from their serde types (`derive(JsonSchema)` beside `derive(Deserialize)`), and
//! `broker.yaml` from the key table its loader reads through ([`super::broker::KEYS`]).
//! `adapter schema adapter|task|broker` prints them; `docs/schema/` holds the committed copies,
//! which a test regenerates and compares.
//!
//! The schema accepts what the loader accepts. Two of the loader's decoding rules are applied
//! here to the whole document once, rather than at every field:
//! - a string field takes any scalar, by its text (yaml.v3's rule: `version: 1.0` is `"1.0"`,
//!   `name: null` is `"null"`), so a plain string becomes "string, number, boolean or null";
//! - a mapping or list left `null` reads as empty, so an optional object or list also takes
//!   `null`.
//!
//! The exception is the inside of a param `source:` mapping (`api_call`, `file`), which the
//! loader decodes strictly (JSON types); [`ParamSource`]'s schema marks that part so neither rule
//! touches it. Rules the loader checks after decoding (required names, one-of pairs, enums,
//! name patterns) are stated on the types with `#[schemars(...)]`; those it only warns about
//! (an unknown log level, an unparsable `api_call.timeout`) are not constraints.

use super::GoDuration;
use super::task::{ApiCall, FileSource, ParamSource};
use schemars::generate::SchemaSettings;
use schemars::transform::Transform;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};
use std::borrow::Cow;

/// The three config files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFile {
    /// The adapter (deployment) config (`--config`).
    Adapter,
    /// The task config (`--task-config`).
    Task,
    /// `broker.yaml`.
    Broker,
}

impl ConfigFile {
    pub const ALL: [ConfigFile; 3] = [ConfigFile::Adapter, ConfigFile::Task, ConfigFile::Broker];

    /// The name `adapter schema <name>` takes.
    pub fn name(self) -> &'static str {
        match self {
            ConfigFile::Adapter => "adapter",
            ConfigFile::Task => "task",
            ConfigFile::Broker => "broker",
        }
    }

    /// The file under `docs/schema/` that holds the schema.
    pub fn schema_file(self) -> &'static str {
        match self {
            ConfigFile::Adapter => "adapter-config.schema.json",
            ConfigFile::Task => "task-config.schema.json",
            ConfigFile::Broker => "broker.schema.json",
        }
    }

    /// The file named `name`, if any.
    pub fn from_name(name: &str) -> Option<ConfigFile> {
        ConfigFile::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The schema of `file`.
pub fn generate(file: ConfigFile) -> Value {
    let mut root = match file {
        ConfigFile::Adapter => generator().into_root_schema_for::<super::AdapterConfig>(),
        ConfigFile::Task => generator().into_root_schema_for::<super::TaskConfig>(),
        ConfigFile::Broker => super::broker_keys::schema(),
    }
    .to_value();
    let defs = root.get("definitions").cloned().unwrap_or(Value::Null);
    apply_decoding_rules(&mut root, &defs);
    unwrap_descriptions(&mut root);
    root
}

/// The schema of `file` as the committed text: pretty JSON and a final newline.
pub fn render(file: ConfigFile) -> String {
    let mut text = serde_json::to_string_pretty(&generate(file))
        .unwrap_or_else(|e| unreachable!("a JSON value always serialises: {e}"));
    text.push('\n');
    text
}

/// Draft 7: the dialect editors (yaml-language-server, VS Code) support best.
fn generator() -> SchemaGenerator {
    SchemaSettings::draft07().into_generator()
}

// ---- building blocks the types use -------------------------------------------------------

/// The JSON types a string field takes (any scalar, by its text).
pub const SCALAR_TYPES: [&str; 4] = ["string", "number", "boolean", "null"];

/// Names of params, preconditions, resources, nested discoveries and post-actions (what the
/// validator's `name_ok` accepts).
pub const NAME_PATTERN: &str = "^[a-z][a-zA-Z0-9_]*$";

/// Go's `time.ParseDuration` syntax: `0`, or numbers with units (`1h2m3.5s`, `500ms`, `-2s`).
pub const DURATION_PATTERN: &str =
    r"^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$";

/// Marks a subschema decoded strictly (inside a param `source:`); removed when the document's
/// decoding rules are applied.
const STRICT: &str = "x-strict-decoding";

/// Any scalar, read as its text.
pub fn scalar_text(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": SCALAR_TYPES })
}

/// Any scalar whose text is not blank (what the validator's `required` check accepts).
pub fn non_blank_text(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": SCALAR_TYPES, "pattern": r"\S" })
}

/// Any scalar whose text is not empty.
pub fn non_empty_text(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": SCALAR_TYPES, "minLength": 1 })
}

/// A name matching [`NAME_PATTERN`]. Numbers never match it; `true`, `false` and `null` do
/// (their text is a valid name), so those types are allowed as the loader allows them.
pub fn resource_name(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": ["string", "boolean", "null"],
        "pattern": NAME_PATTERN,
        "examples": ["clusterNamespace", "statusReport"],
    })
}

/// An absolute file path.
pub fn absolute_path(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "pattern": "^/" })
}

/// A Go duration in a string field the client parses when not empty (empty: the default).
pub fn go_duration_or_empty(_: &mut SchemaGenerator) -> Schema {
    let either = format!("^$|{}", DURATION_PATTERN);
    json_schema!({
        "anyOf": [{ "type": "string", "pattern": either }, { "const": 0 }],
        "examples": ["10s", "1m30s"],
    })
}

/// One of `values` (case-sensitive), or empty for the default.
pub fn one_of(values: &[&str]) -> Schema {
    let mut all: Vec<&str> = values.to_vec();
    all.push("");
    json_schema!({ "type": "string", "enum": all })
}

/// One of `values` in any letter case, or empty for the default.
pub fn one_of_ci(values: &[&str]) -> Schema {
    let alternatives: Vec<String> = values
        .iter()
        .map(|v| {
            v.chars()
                .map(|c| format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase()))
                .collect()
        })
        .collect();
    let pattern = format!("^({})?$", alternatives.join("|"));
    json_schema!({ "type": "string", "pattern": pattern, "examples": values })
}

/// Adds names to an object schema's `required` list (serde defaults make every field optional
/// to the decoder; these are the ones the validator then requires).
#[derive(Debug, Clone, Copy)]
pub struct Require(pub &'static [&'static str]);

impl Transform for Require {
    fn transform(&mut self, schema: &mut Schema) {
        let list = schema
            .ensure_object()
            .entry("required")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(names) = list {
            names.extend(self.0.iter().map(|n| Value::from(*n)));
        }
    }
}

/// Adds a constraint (a schema the value must also match: `oneOf`, `if`/`then`, ...) to a
/// schema's `allOf`, so it never replaces the generated keywords.
#[derive(Debug, Clone)]
pub struct Constrain(pub fn() -> Value);

impl Transform for Constrain {
    fn transform(&mut self, schema: &mut Schema) {
        let all = schema
            .ensure_object()
            .entry("allOf")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(all) = all {
            all.push((self.0)());
        }
    }
}

/// `key` is present and not null (the loader reads `key: null` as absent).
pub fn present(key: &str) -> Value {
    json!({ "required": [key], "properties": { key: { "not": { "type": "null" } } } })
}

/// Exactly one of `a` and `b` is present (not null).
pub fn exactly_one(a: &str, b: &str) -> Value {
    json!({ "oneOf": [
        { "allOf": [present(a), { "not": present(b) }] },
        { "allOf": [present(b), { "not": present(a) }] },
    ] })
}

// ---- hand-written schemas for the types with their own Deserialize ------------------------

impl JsonSchema for GoDuration {
    fn schema_name() -> Cow<'static, str> {
        "GoDuration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Go duration (`time.ParseDuration`): `500ms`, `10s`, `1m30s`, `1h2m3.5s`; a bare number other than 0 is refused.",
            "anyOf": [{ "type": "string", "pattern": DURATION_PATTERN }, { "const": 0 }],
            "examples": ["10s", "1m30s"],
        })
    }
}

impl JsonSchema for ParamSource {
    fn schema_name() -> Cow<'static, str> {
        "ParamSource".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // The loader decodes the mapping forms from JSON values (strict types), so their
        // schemas come from a generator of their own, inlined and marked strict.
        let mut strict = SchemaSettings::draft07()
            .with(|s| s.inline_subschemas = true)
            .into_generator();
        let mut api_call = strict.subschema_for::<ApiCall>().to_value();
        let mut file = strict.subschema_for::<FileSource>().to_value();
        for s in [&mut api_call, &mut file] {
            strictify(s);
        }
        let only = |key: &str| {
            let others: Vec<Value> = ["api_call", "expression", "file"]
                .into_iter()
                .filter(|k| *k != key)
                .map(|k| json!({ "required": [k] }))
                .collect();
            json!({ "required": [key], "not": { "anyOf": others } })
        };
        let mut api = only("api_call");
        api["properties"] = json!({ "api_call": api_call });
        let mut expr = only("expression");
        expr["properties"] = json!({ "expression": {
            "type": "string",
            "pattern": r"\S",
            "description": "A CEL expression over the params defined above this one.",
            "examples": ["clusterPhase == \"Ready\""],
        } });
        let mut file_form = only("file");
        file_form["properties"] = json!({ "file": file });
        let mapping = json!({
            "type": "object",
            "description": "Exactly one of `api_call`, `expression` or `file` (other keys are ignored).",
            "oneOf": [api, expr, file_form],
        });
        json_schema!({
            "description": "Where the value comes from: a path (`event.a.b`, `env.NAME`, `config.a.b`, `<earlier param>.a.b`, or a bare event path), or a mapping with one of `api_call`, `expression` or `file`.",
            "anyOf": [
                {
                    "type": ["string", "number", "boolean"],
                    "pattern": r"\S",
                    "examples": ["event.id", "env.REGION", "config.adapter.name"],
                },
                mapping,
            ],
        })
    }
}

/// Turns the loader's "any scalar" strings back into JSON strings and marks the subtree strict.
fn strictify(schema: &mut Value) {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if m.get("type") == Some(&json!(SCALAR_TYPES)) {
                    m.insert("type".into(), json!("string"));
                }
                m.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(schema);
    if let Value::Object(m) = schema {
        m.insert(STRICT.into(), Value::Bool(true));
    }
}

// ---- the document-wide decoding rules ------------------------------------------------------

fn apply_decoding_rules(v: &mut Value, defs: &Value) {
    let Value::Object(m) = v else { return };
    if m.remove(STRICT).is_some() {
        return;
    }
    any_scalar_strings(m);
    let required: Vec<String> = m
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Object(props)) = m.get_mut("properties") {
        for (name, prop) in props.iter_mut() {
            if !required.contains(name) {
                null_reads_as_empty(prop, defs);
            } else if let Value::Object(p) = prop {
                // The decoder's default of a field the validator requires is no default.
                p.remove("default");
            }
        }
    }
    for (k, child) in m.iter_mut() {
        match (k.as_str(), child) {
            ("enum" | "const" | "examples" | "default" | "required", _) => {}
            ("properties" | "definitions", Value::Object(named)) => named
                .values_mut()
                .for_each(|s| apply_decoding_rules(s, defs)),
            (_, Value::Array(items)) => {
                items.iter_mut().for_each(|s| apply_decoding_rules(s, defs))
            }
            (_, child) => apply_decoding_rules(child, defs),
        }
    }
}

fn unwrap_descriptions(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(d)) = m.get_mut("description") {
                *d = unwrap_lines(d);
            }
            m.values_mut().for_each(unwrap_descriptions);
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

/// Doc comments' line breaks inside a paragraph become spaces (blank lines stay).
fn unwrap_lines(text: &str) -> String {
    text.split("\n\n")
        .map(|para| {
            para.split('\n')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// A plain string field takes any scalar by its text.
fn any_scalar_strings(m: &mut Map<String, Value>) {
    let constrained = ["enum", "const", "pattern", "format", "minLength"]
        .iter()
        .any(|k| m.contains_key(*k));
    let plain = matches!(m.get("type"), Some(t) if *t == json!("string") || *t == json!(["string", "null"]));
    if plain && !constrained {
        m.insert("type".into(), json!(SCALAR_TYPES));
    }
}

/// An optional mapping or list also takes `null` (read as empty).
fn null_reads_as_empty(prop: &mut Value, defs: &Value) {
    let Value::Object(p) = prop else { return };
    if p.contains_key(STRICT) || accepts_null(p) {
        return;
    }
    match p.get_mut("type") {
        Some(Value::String(t)) if t == "object" || t == "array" => {
            let t = t.clone();
            p.insert("type".into(), json!([t, "null"]));
        }
        Some(_) => {}
        None => {
            let target = p
                .get("$ref")
                .or_else(|| {
                    p.get("allOf")
                        .and_then(|a| a.get(0))
                        .and_then(|a| a.get("$ref"))
                })
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/definitions/"))
                .and_then(|name| defs.get(name));
            if target.and_then(|d| d.get("type")) == Some(&json!("object")) {
                let mut inner = Map::new();
                for k in ["$ref", "allOf"] {
                    if let Some(v) = p.remove(k) {
                        inner.insert(k.into(), v);
                    }
                }
                // `allOf: [{$ref}]` (how draft 7 keeps a description beside a reference) needs
                // no wrapper inside `anyOf`.
                if let Some(Value::Array(all)) = inner.get("allOf")
                    && let [Value::Object(only)] = all.as_slice()
                {
                    inner = only.clone();
                }
                p.insert(
                    "anyOf".into(),
                    json!([Value::Object(inner), { "type": "null" }]),
                );
            }
        }
    }
}

fn accepts_null(p: &Map<String, Value>) -> bool {
    let null = json!("null");
    match p.get("type") {
        Some(Value::Array(ts)) => ts.contains(&null),
        Some(t) => *t == null,
        None => p
            .get("anyOf")
            .and_then(Value::as_array)
            .is_some_and(|alts| alts.iter().any(|a| a.get("type") == Some(&null))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_duration_pattern_accepts_what_go_duration_parses() {
        let re = regex::Regex::new(DURATION_PATTERN).unwrap();
        for text in [
            "0", "+0", "-0", "1s", "1.5h", "-2s", "+3m", ".5s", "1.s", "1h2m3.5s", "500ms", "1µs",
            "1μs", "1us", "7ns", "10", "", "s", "1d", "1 s", "00", ".s", "1.2.3s", "1h-2m", "h1",
        ] {
            assert_eq!(
                re.is_match(text),
                GoDuration::parse(text).is_ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn case_insensitive_values_match_in_any_case_and_nothing_else() {
        let s = one_of_ci(&["json", "text"]).to_value();
        let re = regex::Regex::new(s["pattern"].as_str().unwrap()).unwrap();
        for ok in ["json", "JSON", "Text", ""] {
            assert!(re.is_match(ok), "{ok}");
        }
        for bad in ["xml", "jsonl", " json"] {
            assert!(!re.is_match(bad), "{bad}");
        }
    }

    #[test]
    fn every_file_has_a_title_and_rejects_unknown_top_level_keys() {
        for file in ConfigFile::ALL {
            let s = generate(file);
            assert!(s["title"].is_string(), "{}", file.name());
            assert_eq!(s["additionalProperties"], json!(false), "{}", file.name());
            assert_eq!(ConfigFile::from_name(file.name()), Some(file));
        }
    }
}
