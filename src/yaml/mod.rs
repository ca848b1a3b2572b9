//! YAML with positions: a node tree that remembers the line of every key and value, scalar
//! resolution that follows yaml.v3 (what the existing configs were written against), and an
//! emitter for `config-dump` and manifest round-trips.

mod de;
mod emit;
mod resolve;
mod value;

pub use de::{DeError, decode, decode_collecting};
pub use emit::{to_yaml_string, to_yaml_string_indent};
pub use resolve::resolve_plain;
pub use value::parse_value;

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::Value;
use std::collections::HashMap;

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

/// A YAML syntax error with its position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("yaml: line {line}: {message}")]
pub struct SyntaxError {
    pub line: usize,
    pub col: usize,
    pub message: String,
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
            message: e.info().to_string(),
        }
    }
}

/// Parses one YAML document into a node tree. An empty document is an empty mapping.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut builder = Builder::default();
    for item in Parser::new_from_str(text) {
        let (event, span) = item?;
        let (line, col) = (span.start.line(), span.start.col() + 1);
        if builder.on_event(event, line, col)? {
            break;
        }
    }
    Ok(builder.root.unwrap_or(Node {
        kind: NodeKind::Map(Vec::new()),
        line: 1,
        col: 1,
    }))
}

#[derive(Default)]
struct Builder {
    stack: Vec<(Node, usize)>,
    pending_key: Vec<Option<Node>>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    docs: usize,
}

impl Builder {
    /// Feeds one event; returns true once the first document is complete.
    fn on_event(&mut self, event: Event<'_>, line: usize, col: usize) -> Result<bool, SyntaxError> {
        match event {
            Event::DocumentStart(_) => {
                self.docs += 1;
                if self.docs > 1 {
                    return Ok(true);
                }
            }
            Event::DocumentEnd => return Ok(self.root.is_some()),
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let plain = matches!(style, ScalarStyle::Plain) && tag.is_none();
                // A block scalar (`key: |`) is located at its key, where the reader looks.
                let line = match (style, self.pending_key.last()) {
                    (ScalarStyle::Literal | ScalarStyle::Folded, Some(Some(key))) => key.line,
                    _ => line,
                };
                let node = Node {
                    kind: NodeKind::Scalar {
                        text: text.into_owned(),
                        plain,
                        tag,
                    },
                    line,
                    col,
                };
                self.push_value(node, anchor, line)?;
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or_else(|| SyntaxError {
                    line,
                    col,
                    message: "unknown anchor".into(),
                })?;
                self.push_value(node, 0, line)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push((
                    Node {
                        kind: NodeKind::Seq(Vec::new()),
                        line,
                        col,
                    },
                    anchor,
                ));
                self.pending_key.push(None);
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push((
                    Node {
                        kind: NodeKind::Map(Vec::new()),
                        line,
                        col,
                    },
                    anchor,
                ));
                self.pending_key.push(None);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.pending_key.pop();
                if let Some((node, anchor)) = self.stack.pop() {
                    self.push_value(node, anchor, line)?;
                }
            }
            _ => {}
        }
        Ok(false)
    }

    fn push_value(&mut self, node: Node, anchor: usize, line: usize) -> Result<(), SyntaxError> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let Some((parent, _)) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        match &mut parent.kind {
            NodeKind::Seq(items) => items.push(node),
            NodeKind::Map(entries) => {
                let slot = self
                    .pending_key
                    .last_mut()
                    .expect("pending key per open collection");
                match slot.take() {
                    None => *slot = Some(node),
                    Some(key) => {
                        if let Some(k) = key.as_str()
                            && entries.iter().any(|(e, _)| e.as_str() == Some(k))
                        {
                            return Err(SyntaxError {
                                line: key.line,
                                col: key.col,
                                message: format!("mapping key \"{k}\" already defined"),
                            });
                        }
                        let _ = line;
                        entries.push((key, node));
                    }
                }
            }
            NodeKind::Scalar { .. } => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
