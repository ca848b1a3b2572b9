//! Go templates: parsed once with `missingkey=error` and the adapter's function map, rendered
//! per event against JSON-shaped data. Text without `{{` is returned untouched.

use super::gotemplate::{self, Compiled};
use super::{tmplfuncs, urlguard};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

pub use super::gotemplate::Value as Tv;

/// The name templates are parsed under (it appears in Go's error texts).
const MAIN: &str = "template";

/// Go's builtins and the adapter's function map.
static FUNCS: LazyLock<Arc<gotemplate::FuncMap>> =
    LazyLock::new(|| gotemplate::func_map(tmplfuncs::func_map()));

/// The same, plus the URL guard functions.
static URL_FUNCS: LazyLock<Arc<gotemplate::FuncMap>> = LazyLock::new(|| {
    let mut m = tmplfuncs::func_map();
    m.extend(urlguard::funcs());
    gotemplate::func_map(m)
});

/// A compiled template (or a literal string that needs no rendering).
#[derive(Clone)]
pub struct Template {
    source: String,
    compiled: Option<Arc<Compiled>>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Template({:?})", self.source)
    }
}

/// Why a template failed, with the Go adapter's wording.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    /// `line` is the line of the template text Go's message names, when it names one.
    #[error("failed to parse template: {message}")]
    Parse {
        message: String,
        line: Option<usize>,
    },
    #[error("failed to execute template: {0}")]
    Execute(String),
}

impl Template {
    /// Parses `source`; strings without `{{` are kept as literals.
    pub fn compile(source: &str) -> Result<Template, TemplateError> {
        Template::compile_with(source, &FUNCS)
    }

    fn compile_with(
        source: &str,
        funcs: &Arc<gotemplate::FuncMap>,
    ) -> Result<Template, TemplateError> {
        if !source.contains("{{") {
            return Ok(Template {
                source: source.to_string(),
                compiled: None,
            });
        }
        let t = Compiled::parse(MAIN, source, funcs.clone()).map_err(|e| TemplateError::Parse {
            message: e.message,
            line: e.line,
        })?;
        Ok(Template {
            source: source.to_string(),
            compiled: Some(Arc::new(t)),
        })
    }

    /// Parses an `api_call.url` template: every printed value is checked against its position
    /// in the URL (see [`super::urlguard`]), so event data cannot move the call to another
    /// resource.
    pub fn compile_url(source: &str) -> Result<Template, TemplateError> {
        let mut t = Template::compile_with(source, &URL_FUNCS)?;
        if let Some(compiled) = t.compiled.as_mut().and_then(Arc::get_mut)
            && let Some(root) = compiled.main_mut()
        {
            urlguard::guard(root);
        }
        Ok(t)
    }

    /// The template text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the text contains template actions.
    pub fn is_dynamic(&self) -> bool {
        self.compiled.is_some()
    }

    /// Renders against `data` (a JSON object whose keys are the top-level template names).
    pub fn render(&self, data: &Tv) -> Result<String, TemplateError> {
        match &self.compiled {
            None => Ok(self.source.clone()),
            Some(t) => t
                .execute(data)
                .map_err(|e| TemplateError::Execute(e.to_string())),
        }
    }

    /// Renders against JSON data (converted on every call; prefer [`to_template_value`] once).
    pub fn render_json(&self, data: &Value) -> Result<String, TemplateError> {
        self.render(&to_template_value(data))
    }
}

/// Compiles and renders in one step (tests and one-off uses).
pub fn render_str(source: &str, data: &Value) -> Result<String, TemplateError> {
    Template::compile(source)?.render_json(data)
}

/// JSON → template value. Integers stay integers; other numbers are float64 as in Go.
pub fn to_template_value(v: &Value) -> Tv {
    match v {
        Value::Null => Tv::Nil,
        Value::Bool(b) => Tv::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Tv::Int64(i)
            } else if let Some(u) = n.as_u64() {
                Tv::Uint64(u)
            } else {
                Tv::Float(n.as_f64().unwrap_or_default())
            }
        }
        Value::String(s) => Tv::String(s.as_str().into()),
        Value::Array(a) => Tv::List(Arc::new(a.iter().map(to_template_value).collect())),
        Value::Object(m) => {
            let map: BTreeMap<Arc<str>, Tv> = m
                .iter()
                .map(|(k, v)| (Arc::from(k.as_str()), to_template_value(v)))
                .collect();
            Tv::Map(Arc::new(map))
        }
    }
}

/// Template value → JSON (for function arguments).
pub fn from_template_value(v: &Tv) -> Value {
    match v {
        Tv::Nil => Value::Null,
        Tv::Bool(b) => Value::Bool(*b),
        Tv::Int(i) | Tv::Int64(i) => Value::from(*i),
        Tv::Uint64(u) => Value::from(*u),
        Tv::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Tv::String(s) => Value::String(s.to_string()),
        Tv::List(l) => Value::Array(l.iter().map(from_template_value).collect()),
        Tv::Time(t) => Value::String(super::gotime::format(t, super::gotime::GO_TIME_STRING)),
        Tv::Map(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.to_string(), from_template_value(v)))
                .collect(),
        ),
    }
}

/// The simple variable references the Go validator checks: `{{ .a.b }}` and
/// `{{ .a.b | fn ... }}` (not `if`/`range`/`index` forms).
pub fn simple_references(text: &str) -> Vec<String> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\{\{\s*\.([a-zA-Z_][a-zA-Z0-9_\.]*)\s*(?:\|[^}]*)?\}\}")
            .expect("valid regex")
    });
    RE.captures_iter(text).map(|c| c[1].to_string()).collect()
}

/// Every `.name` root referenced anywhere in the template text, including inside `if`, `range`,
/// `with`, `index` and function arguments (but not `$var.x`), for the stricter scope check.
pub fn all_roots(text: &str) -> Vec<String> {
    static ACTION: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\{\{(.*?)\}\}").expect("valid regex"));
    static FIELD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(^|[\s(|])\.([a-zA-Z_][a-zA-Z0-9_]*)"#).expect("valid regex")
    });
    let mut out = Vec::new();
    for action in ACTION.captures_iter(text) {
        let body = action[1].to_string();
        // Strip string literals so dots inside them are not read as fields.
        let body = strip_strings(&body);
        for f in FIELD.captures_iter(&body) {
            out.push(f[2].to_string());
        }
    }
    out
}

fn strip_strings(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in s.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                    out.push(' ');
                }
            }
            None if c == '"' || c == '`' => quote = Some(c),
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
