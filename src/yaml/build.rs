//! Building the positioned node tree from parser events, in time linear in the document:
//! duplicate keys are found through a set per open mapping, and every node passes the
//! [`Limits`] before it is added (an alias before its anchor is copied).

use super::limits::Limits;
use super::{Node, NodeKind, SyntaxError, SyntaxErrorKind};
use saphyr_parser::{Event, ScalarStyle};
use std::collections::{HashMap, HashSet};

/// A collection being filled.
struct Open {
    node: Node,
    anchor: usize,
    /// A mapping's key waiting for its value.
    pending_key: Option<Node>,
    /// The text of a mapping's scalar keys so far.
    keys: HashSet<String>,
}

#[derive(Default)]
pub(super) struct Builder {
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    limits: Limits,
    root: Option<Node>,
    docs: usize,
}

impl Builder {
    /// The document built (an empty mapping for an empty document).
    pub(super) fn finish(self) -> Node {
        self.root.unwrap_or(Node {
            kind: NodeKind::Map(Vec::new()),
            line: 1,
            col: 1,
        })
    }

    /// Feeds one event; returns true once the first document is complete.
    pub(super) fn on_event(
        &mut self,
        event: Event<'_>,
        line: usize,
        col: usize,
    ) -> Result<bool, SyntaxError> {
        match event {
            Event::DocumentStart(_) => {
                self.docs += 1;
                if self.docs > 1 {
                    return Ok(true);
                }
            }
            Event::DocumentEnd => return Ok(self.root.is_some()),
            Event::Scalar(text, style, anchor, tag) => {
                self.limits.scalar(text.len(), anchor, line, col)?;
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let plain = matches!(style, ScalarStyle::Plain) && tag.is_none();
                // A block scalar (`key: |`) is located at its key, where the reader looks.
                let line = match (style, self.stack.last()) {
                    (ScalarStyle::Literal | ScalarStyle::Folded, Some(open)) => {
                        open.pending_key.as_ref().map_or(line, |k| k.line)
                    }
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
                self.push_value(node, anchor)?;
            }
            Event::Alias(id) => {
                self.limits.alias(id, line, col)?;
                let node = self.anchors.get(&id).cloned().ok_or(SyntaxError {
                    line,
                    col,
                    kind: SyntaxErrorKind::UnknownAnchor,
                })?;
                self.push_value(node, 0)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.open(NodeKind::Seq(Vec::new()), anchor, line, col)?
            }
            Event::MappingStart(anchor, _) => {
                self.open(NodeKind::Map(Vec::new()), anchor, line, col)?
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(open) = self.stack.pop() {
                    self.limits.close(open.anchor);
                    self.push_value(open.node, open.anchor)?;
                }
            }
            _ => {}
        }
        Ok(false)
    }

    fn open(
        &mut self,
        kind: NodeKind,
        anchor: usize,
        line: usize,
        col: usize,
    ) -> Result<(), SyntaxError> {
        self.limits.open(line, col)?;
        self.stack.push(Open {
            node: Node { kind, line, col },
            anchor,
            pending_key: None,
            keys: HashSet::new(),
        });
        Ok(())
    }

    fn push_value(&mut self, node: Node, anchor: usize) -> Result<(), SyntaxError> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let Some(open) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        match &mut open.node.kind {
            NodeKind::Seq(items) => items.push(node),
            NodeKind::Map(entries) => match open.pending_key.take() {
                None => open.pending_key = Some(node),
                Some(key) => {
                    if let Some(k) = key.as_str()
                        && !open.keys.insert(k.to_string())
                    {
                        return Err(SyntaxError {
                            line: key.line,
                            col: key.col,
                            kind: SyntaxErrorKind::DuplicateKey(k.to_string()),
                        });
                    }
                    entries.push((key, node));
                }
            },
            NodeKind::Scalar { .. } => {}
        }
        Ok(())
    }
}
