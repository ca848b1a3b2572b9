//! YAML merge keys (`<<: *a`): yaml.v3 resolved them; the project's YAML reader keeps `<<` as a
//! key, so the converter expands them before converting.

use crate::yaml::{Node, NodeKind};

/// Expands YAML merge keys (`<<: *a`), which yaml.v3 resolved and the project's YAML reader
/// keeps as a key; explicit keys win. Returns whether anything was expanded.
pub(super) fn expand_merges(node: &Node) -> (Node, bool) {
    match &node.kind {
        NodeKind::Scalar { .. } => (node.clone(), false),
        NodeKind::Seq(items) => {
            let mut any = false;
            let items = items
                .iter()
                .map(|i| {
                    let (n, e) = expand_merges(i);
                    any |= e;
                    n
                })
                .collect();
            (
                Node {
                    kind: NodeKind::Seq(items),
                    ..node.clone()
                },
                any,
            )
        }
        NodeKind::Map(entries) => {
            let mut any = false;
            let mut out: Vec<(Node, Node)> = Vec::new();
            let mut merged: Vec<(Node, Node)> = Vec::new();
            for (k, v) in entries {
                let (v, e) = expand_merges(v);
                any |= e;
                if k.as_str() == Some("<<")
                    && matches!(k.kind, NodeKind::Scalar { plain: true, .. })
                {
                    any = true;
                    let sources = match &v.kind {
                        NodeKind::Seq(items) => items.clone(),
                        _ => vec![v.clone()],
                    };
                    for s in sources {
                        if let NodeKind::Map(se) = s.kind {
                            merged.extend(se);
                        }
                    }
                } else {
                    out.push((k.clone(), v));
                }
            }
            for (k, v) in merged {
                if !out.iter().any(|(o, _)| o.as_str() == k.as_str()) {
                    out.push((k, v));
                }
            }
            (
                Node {
                    kind: NodeKind::Map(out),
                    ..node.clone()
                },
                any,
            )
        }
    }
}
