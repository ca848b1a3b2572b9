//! Parsing YAML straight into a JSON value, without the positioned tree: the per-event path
//! (rendered manifests), where no line numbers are needed.

use super::limits::{Limits, check_text};
use super::resolve::resolve_scalar;
use super::{SyntaxError, SyntaxErrorKind};
use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Value};
use std::collections::HashMap;

enum Open {
    Seq(Vec<Value>, usize),
    Map(Map<String, Value>, Option<String>, usize),
}

/// Parses the first YAML document of `text` into a JSON value (empty document: empty map),
/// under the same limits as [`super::parse`].
pub fn parse_value(text: &str) -> Result<Value, SyntaxError> {
    let text = check_text(text)?;
    let mut limits = Limits::default();
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: HashMap<usize, Value> = HashMap::new();
    let mut root: Option<Value> = None;
    let mut docs = 0;
    for item in Parser::new_from_str(text) {
        let (event, span) = item?;
        let (line, col) = (span.start.line(), span.start.col() + 1);
        let done = match event {
            Event::DocumentStart(_) => {
                docs += 1;
                docs > 1
            }
            Event::DocumentEnd => root.is_some(),
            Event::Scalar(text, style, anchor, tag) => {
                limits.scalar(text.len(), anchor, line, col)?;
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let plain = matches!(style, ScalarStyle::Plain) && tag.is_none();
                let v = resolve_scalar(&text, plain, tag.as_deref());
                push(&mut stack, &mut root, &mut anchors, v, anchor, line)?;
                false
            }
            Event::Alias(id) => {
                limits.alias(id, line, col)?;
                let v = anchors.get(&id).cloned().ok_or(SyntaxError {
                    line,
                    col,
                    kind: SyntaxErrorKind::UnknownAnchor,
                })?;
                push(&mut stack, &mut root, &mut anchors, v, 0, line)?;
                false
            }
            Event::SequenceStart(anchor, _) => {
                limits.open(line, col)?;
                stack.push(Open::Seq(Vec::new(), anchor));
                false
            }
            Event::MappingStart(anchor, _) => {
                limits.open(line, col)?;
                stack.push(Open::Map(Map::new(), None, anchor));
                false
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (v, anchor) = match stack.pop() {
                    Some(Open::Seq(items, a)) => (Value::Array(items), a),
                    Some(Open::Map(m, _, a)) => (Value::Object(m), a),
                    None => continue,
                };
                limits.close(anchor);
                push(&mut stack, &mut root, &mut anchors, v, anchor, line)?;
                false
            }
            _ => false,
        };
        if done {
            break;
        }
    }
    Ok(root.unwrap_or_else(|| Value::Object(Map::new())))
}

fn push(
    stack: &mut [Open],
    root: &mut Option<Value>,
    anchors: &mut HashMap<usize, Value>,
    v: Value,
    anchor: usize,
    line: usize,
) -> Result<(), SyntaxError> {
    if anchor != 0 {
        anchors.insert(anchor, v.clone());
    }
    match stack.last_mut() {
        None => *root = Some(v),
        Some(Open::Seq(items, _)) => items.push(v),
        Some(Open::Map(m, pending, _)) => match pending.take() {
            None => {
                *pending = Some(match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                });
            }
            Some(key) => {
                if m.contains_key(&key) {
                    return Err(SyntaxError {
                        line,
                        col: 1,
                        kind: SyntaxErrorKind::DuplicateKey(key),
                    });
                }
                m.insert(key, v);
            }
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_tree_parser() {
        for doc in [
            "a: 1\nb: [x, 'y', 0123]\nc:\n  d: ~\n  e: {f: true}\n",
            "- &a {k: v}\n- *a\n",
            "",
            "key: |\n  multi\n  line\n",
            "x: 2026-01-01\n",
        ] {
            assert_eq!(
                parse_value(doc).unwrap(),
                super::super::parse(doc).unwrap().to_json(),
                "{doc:?}"
            );
        }
        assert!(parse_value("a: 1\na: 2\n").is_err());
        assert!(parse_value("a: [1\n").is_err());
    }
}
