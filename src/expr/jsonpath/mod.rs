//! Kubernetes JSONPath — the `k8s.io/client-go/util/jsonpath` dialect — read the way the Go
//! adapter's `ExtractField` reads a field path, so condition fields, captures and payload
//! `field:` values give what they give in Go:
//!
//! - the path is trimmed; empty is refused; `a.b` and `.a.b` are wrapped to `{.a.b}`;
//! - a missing key is an error (client-go's `AllowMissingKeys(false)`), and so are an index out of
//!   bounds, a filter over a non-list and a comparison of incompatible types; the adapter reads
//!   such an error as *no value* (null), so [`JsonPath::get`] returns null for it;
//! - printed text that is blank (an empty or whitespace string, no match) is no value; one match
//!   is the value itself, several are a list (literal text between actions included);
//! - numbers compare by Go kind in filters: data the Go adapter decodes with `encoding/json`
//!   (event data, API responses) holds only float64, so `[?(@.n==1)]` is an error there and
//!   `[?(@.n==1.0)]` matches; Kubernetes objects (`resources`) keep integers ([`Numbers`]);
//! - a path with `{range}` never gives a value: the Go adapter evaluates the path twice and
//!   client-go's `range` rewrites the parsed template on the first run, so the second fails.
//!   It is accepted, as in Go, and reads as no value (docs/compatibility.md).
//!
//! Parse errors are client-go's texts, prefixed as the adapter prefixes them
//! (`invalid field path '<path>': <error>`).

mod compare;
mod eval;
mod lex;
mod parse;

use serde_json::Value;

/// Why a path could not be compiled or evaluated. The texts are the adapter's around
/// client-go's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsonPathError {
    /// The path is blank.
    #[error("empty field path")]
    Empty,
    /// client-go's parser refused the path.
    #[error("invalid field path '{path}': {reason}")]
    Syntax { path: String, reason: Reason },
    /// client-go's evaluation failed (a missing key, an index out of range, a bad comparison).
    #[error("failed to execute JSONPath: {0}")]
    Eval(Reason),
}

text_error!(
    /// client-go's own text for a syntax or evaluation failure.
    Reason
);

/// A parsed path node (client-go's node types).
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    List(Vec<Node>),
    Field(String),
    Array(Slice),
    Filter {
        left: Vec<Node>,
        right: Vec<Node>,
        op: String,
    },
    Int(i64),
    Float(f64),
    Bool(bool),
    Wildcard,
    Recursive,
    Union(Vec<Vec<Node>>),
    Identifier(String),
}

/// `[start:end:step]`; `end` is `start + 1` (`derived`) for a plain index.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Slice {
    start: Option<i64>,
    end: Option<i64>,
    derived: bool,
    step: Option<i64>,
}

/// How the numbers of the data compare in filters: as the Go adapter's data holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Numbers {
    /// Every number is a float64 (event data, API responses: `encoding/json`).
    Floats,
    /// Integers that fit int64 are int64, every other number float64 (Kubernetes objects).
    Ints,
    /// `Ints` under these top-level keys, `Floats` elsewhere (the post-action context, where
    /// `resources` holds Kubernetes objects and the rest comes from events and API responses).
    IntsUnder(Vec<String>),
}

/// A compiled path.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    source: String,
    nodes: Vec<Node>,
}

impl JsonPath {
    /// Parses a field path as `ExtractField` does; the error is the adapter's text.
    pub fn compile(text: &str) -> Result<JsonPath, JsonPathError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(JsonPathError::Empty);
        }
        let wrapped = if trimmed.starts_with('{') {
            trimmed.to_string()
        } else if trimmed.starts_with('.') {
            format!("{{{trimmed}}}")
        } else {
            format!("{{.{trimmed}}}")
        };
        let nodes = parse::parse(&wrapped).map_err(|reason| JsonPathError::Syntax {
            path: text.to_string(),
            reason,
        })?;
        Ok(JsonPath {
            source: text.to_string(),
            nodes,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The top-level field the path starts with (`a` in `a.b[0]`), if it starts with one.
    pub fn root_field(&self) -> Option<&str> {
        match self.nodes.as_slice() {
            [Node::List(list)] => match list.first() {
                Some(Node::Field(name)) => Some(name),
                _ => None,
            },
            _ => None,
        }
    }

    /// The top-level field and the field below it the path starts with (`a`, `b` in
    /// `a.b[0]`), when it starts with two plain field steps.
    pub fn root_fields(&self) -> Option<(&str, &str)> {
        match self.nodes.as_slice() {
            [Node::List(list)] => match list.as_slice() {
                [Node::Field(a), Node::Field(b), ..] => Some((a, b)),
                _ => None,
            },
            _ => None,
        }
    }

    /// What `ExtractField` hands back over data whose numbers are all float64 (event data, API
    /// responses): null for no value, the value for one match, a list for several. An error
    /// reads as no value; [`JsonPath::extract`] has it.
    pub fn get(&self, root: &Value) -> Value {
        self.get_with(root, &Numbers::Floats)
    }

    /// [`JsonPath::get`] over data whose numbers are held as `numbers` says.
    pub fn get_with(&self, root: &Value, numbers: &Numbers) -> Value {
        self.extract(root, numbers).unwrap_or(Value::Null)
    }

    /// The value, or the evaluation error the Go adapter records in its field result (and reads
    /// as no value).
    pub fn extract(&self, root: &Value, numbers: &Numbers) -> Result<Value, JsonPathError> {
        eval::extract(&self.nodes, root, numbers).map_err(JsonPathError::Eval)
    }
}

#[cfg(test)]
mod tests;
