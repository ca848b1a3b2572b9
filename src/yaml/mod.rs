//! YAML with positions: a node tree that remembers the line of every key and value, scalar
//! resolution that follows yaml.v3 (what the existing configs were written against), and an
//! emitter for `config-dump` and manifest round-trips.

mod build;
mod de;
mod emit;
mod limits;
mod resolve;
mod value;

pub use de::{DeError, decode, decode_collecting};
pub use emit::{double_quoted_string, inline_string, to_yaml_string, to_yaml_string_indent};
pub use limits::{MAX_ALIAS_BYTES, MAX_DEPTH};
pub use resolve::resolve_plain;
pub use value::parse_value;

use saphyr_parser::Parser;
use serde_json::Value;

/// One YAML node with the 1-based line and column where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub line: usize,
    pub col: usize,
}

/// The shape of a node. Scalars keep their raw text so that typed decoding can follow
/// yaml.v3's rules (a plain `3` decodes into a string field as `"3"`, not into an int from `'3'`).
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Scalar {
        text: String,
        plain: bool,
        tag: Option<String>,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A YAML document refused, with the position of the offending event.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("yaml: line {line}: {kind}")]
pub struct SyntaxError {
    pub line: usize,
    pub col: usize,
    pub kind: SyntaxErrorKind,
}

/// Why a document was refused. The wording follows yaml.v3 where it has the same check.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SyntaxErrorKind {
    /// The parser's own message (bad indentation, unclosed flow, ...).
    #[error("{0}")]
    Scan(String),
    #[error("mapping key \"{0}\" already defined")]
    DuplicateKey(String),
    #[error("unknown anchor")]
    UnknownAnchor,
    /// yaml.v3's alias-to-node ratio rule (see `limits`).
    #[error("document contains excessive aliasing")]
    ExcessiveAliasing,
    #[error("document contains excessive aliasing: aliases copy more than {limit} bytes of text")]
    AliasBytes { limit: u64 },
    #[error("exceeded max depth of {max}")]
    TooDeep { max: usize },
    /// A character yaml.v3's reader refuses (NUL, other C0/C1 controls, U+FFFE, U+FFFF).
    #[error("column {col}: control characters are not allowed (U+{code:04X})")]
    ControlCharacter { code: u32, col: usize },
}

impl Node {
    /// A plain scalar built in code (used for defaults and tests).
    pub fn scalar(text: &str) -> Node {
        Node {
            kind: NodeKind::Scalar {
                text: text.to_string(),
                plain: true,
                tag: None,
            },
            line: 0,
            col: 0,
        }
    }

    /// Whether this is a null scalar (`~`, `null`, empty).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { .. }) && self.to_json() == Value::Null
    }

    /// The value of `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The raw text of a scalar node.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The node as a JSON value, with yaml.v3's resolution of plain scalars.
    pub fn to_json(&self) -> Value {
        match &self.kind {
            NodeKind::Scalar { text, plain, tag } => {
                resolve::resolve_scalar(text, *plain, tag.as_deref())
            }
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    map.insert(key_text(k), v.to_json());
                }
                Value::Object(map)
            }
        }
    }

    /// The line of the first scalar under `path` whose text contains `needle` (so a problem in
    /// one value of a large manifest points at that value), else the line of `path`.
    pub fn line_of_text(&self, path: &str, needle: &str) -> usize {
        fn find(n: &Node, needle: &str) -> Option<usize> {
            match &n.kind {
                NodeKind::Scalar { text, .. } => text.contains(needle).then_some(n.line),
                NodeKind::Seq(items) => items.iter().find_map(|i| find(i, needle)),
                NodeKind::Map(entries) => entries
                    .iter()
                    .find_map(|(k, v)| find(k, needle).or_else(|| find(v, needle))),
            }
        }
        let mut node = self;
        for seg in path_segments(path) {
            let next = match (&node.kind, seg) {
                (NodeKind::Map(_), PathSeg::Key(k)) => node.get(k),
                (NodeKind::Seq(items), PathSeg::Index(i)) => items.get(i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        find(node, needle).unwrap_or(node.line)
    }

    /// The line of the node found by following a dotted/indexed field path such as
    /// `resources[1].discovery.by_name`, or of the deepest node that exists along it.
    pub fn line_of(&self, path: &str) -> usize {
        let mut node = self;
        for seg in path_segments(path) {
            let next = match (&node.kind, seg) {
                (NodeKind::Map(_), PathSeg::Key(k)) => node.get(k),
                (NodeKind::Seq(items), PathSeg::Index(i)) => items.get(i),
                (NodeKind::Map(entries), PathSeg::Index(i)) => entries.get(i).map(|(_, v)| v),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node.line
    }
}

/// The text of a mapping key, as yaml.v3 prints a non-string key into a `map[string]any`.
fn key_text(k: &Node) -> String {
    match &k.kind {
        NodeKind::Scalar { text, .. } => text.clone(),
        _ => k.to_json().to_string(),
    }
}

enum PathSeg<'a> {
    Key(&'a str),
    Index(usize),
}

fn path_segments(path: &str) -> Vec<PathSeg<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            out.push(PathSeg::Key(name));
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            let idx = idx.trim_end_matches(']');
            match idx.parse::<usize>() {
                Ok(i) => out.push(PathSeg::Index(i)),
                Err(_) => out.push(PathSeg::Key(idx)),
            }
        }
    }
    out
}

impl From<saphyr_parser::ScanError> for SyntaxError {
    fn from(e: saphyr_parser::ScanError) -> Self {
        SyntaxError {
            line: e.marker().line(),
            col: e.marker().col(),
            kind: SyntaxErrorKind::Scan(e.info().to_string()),
        }
    }
}

/// Parses one YAML document into a node tree. An empty document is an empty mapping.
/// Refused: characters yaml.v3 refuses, nesting beyond [`MAX_DEPTH`], excessive aliasing.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let text = limits::check_text(text)?;
    let mut builder = build::Builder::default();
    for item in Parser::new_from_str(text) {
        let (event, span) = item?;
        let (line, col) = (span.start.line(), span.start.col() + 1);
        if builder.on_event(event, line, col)? {
            break;
        }
    }
    Ok(builder.finish())
}

#[cfg(test)]
mod tests;
