//! The manifest pipeline (§4.4): a map manifest is printed as YAML (keys sorted, 4-space
//! indent, template strings single-quoted) and rendered as one template text; the rendered
//! text is parsed back with yaml.v3's scalar rules, so a quoted template stays a string while
//! `replicas: {{ .n }}` in a string manifest becomes a number.

use super::template::{Template, TemplateError};
use crate::yaml;
use serde_json::Value;

/// Why a manifest could not be produced.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ManifestError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("empty manifest: template rendered to an empty document")]
    EmptyRender,
    #[error("empty manifest: rendered YAML did not contain an object")]
    NoObject,
    #[error("empty manifest: string manifest cannot be empty")]
    EmptyString,
    #[error("failed to parse rendered manifest as YAML: {0}")]
    Yaml(String),
}

/// Recursively sorts map keys, as Go prints generic maps.
pub fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut e: Vec<(&String, &Value)> = m.iter().collect();
            e.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                e.into_iter()
                    .map(|(k, v)| (k.clone(), sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// The template text of a map manifest.
pub fn map_to_template_text(manifest: &Value) -> String {
    yaml::to_yaml_string(&sort_keys(manifest))
}

/// Compiles the template text of a manifest (map or string form).
pub fn compile(manifest: &Value) -> Result<Template, ManifestError> {
    match manifest {
        Value::String(s) if s.trim().is_empty() => Err(ManifestError::EmptyString),
        Value::String(s) => Ok(Template::compile(s)?),
        other => Ok(Template::compile(&map_to_template_text(other))?),
    }
}

/// Renders a compiled manifest template and parses the result into a JSON object.
pub fn render(t: &Template, data: &crate::expr::template::Tv) -> Result<Value, ManifestError> {
    let text = t.render(data)?;
    parse_rendered(&text)
}

/// Parses rendered manifest text (yaml.v3 scalar rules) into a JSON object.
pub fn parse_rendered(text: &str) -> Result<Value, ManifestError> {
    if text.trim().is_empty() {
        return Err(ManifestError::EmptyRender);
    }
    let value = yaml::parse_value(text).map_err(|e| ManifestError::Yaml(e.to_string()))?;
    match value {
        Value::Object(m) if !m.is_empty() => Ok(Value::Object(m)),
        _ => Err(ManifestError::NoObject),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::template::to_template_value;
    use serde_json::json;

    #[test]
    fn map_manifests_print_sorted_with_quoted_templates() {
        let m = json!({"metadata": {"name": "{{ .id }}", "annotations": {"hyperfleet.io/generation": "{{ .gen }}"}}, "kind": "ConfigMap", "apiVersion": "v1"});
        let text = map_to_template_text(&m);
        assert_eq!(
            text,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n    annotations:\n        hyperfleet.io/generation: '{{ .gen }}'\n    name: '{{ .id }}'\n"
        );
        let t = compile(&m).unwrap();
        let out = render(&t, &to_template_value(&json!({"id": "c1", "gen": 5}))).unwrap();
        assert_eq!(
            out["metadata"]["annotations"]["hyperfleet.io/generation"],
            json!("5"),
            "quoted stays string"
        );
        assert_eq!(out["metadata"]["name"], json!("c1"));
    }

    #[test]
    fn string_manifests_type_unquoted_scalars() {
        let m = json!(
            "kind: Deployment\nspec:\n  replicas: {{ .n }}\n  octal: 0123\n  on: yes\n  when: 2026-01-01\n  q: '5'\n"
        );
        let t = compile(&m).unwrap();
        let out = render(&t, &to_template_value(&json!({"n": 3}))).unwrap();
        assert_eq!(out["spec"]["replicas"], json!(3));
        assert_eq!(out["spec"]["octal"], json!(83));
        assert_eq!(out["spec"]["on"], json!("yes"));
        assert_eq!(out["spec"]["when"], json!("2026-01-01T00:00:00Z"));
        assert_eq!(out["spec"]["q"], json!("5"));
    }

    #[test]
    fn empty_manifests_are_errors() {
        assert_eq!(
            compile(&json!("  ")).unwrap_err(),
            ManifestError::EmptyString
        );
        let t = compile(&json!("{{ if false }}x: 1{{ end }}")).unwrap();
        assert_eq!(
            render(&t, &to_template_value(&json!({}))).unwrap_err(),
            ManifestError::EmptyRender
        );
        assert_eq!(parse_rendered("[]").unwrap_err(), ManifestError::NoObject);
    }
}
