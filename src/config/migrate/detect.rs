//! Which legacy shape a document is (contract §5.1), and where the documents of a stream are.

use super::report::Refusal;
use crate::yaml::{Node, NodeKind};

/// The shape of one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Merged single file (`kind: AdapterConfig` holding the task keys): two outputs.
    Merged,
    /// The E adapter file (`kind: AdapterConfig`, or the sample `AdapterDeploymentConfig`).
    EAdapter,
    /// The E task file (`kind: AdapterTaskConfig`).
    ETask,
    /// The v0.1.x debug dump (`kind: Config`): two outputs.
    Dump,
    /// No envelope and nothing legacy: already the current format.
    Current,
}

impl Shape {
    pub fn describe(self) -> &'static str {
        match self {
            Shape::Merged => "a merged single-file AdapterConfig (shape M)",
            Shape::EAdapter => "an AdapterConfig (shape E, adapter file)",
            Shape::ETask => "an AdapterTaskConfig (shape E, task file)",
            Shape::Dump => "a debug dump kind: Config (shape D)",
            Shape::Current => "a current-format file",
        }
    }
}

pub(super) const API_VERSION: &str = "hyperfleet.redhat.com/v1alpha1";
const TASK_KEYS: &[&str] = &["params", "preconditions", "resources", "post"];
const M_KEYS: &[&str] = &["hyperfleetApi", "kubernetes"];
/// camelCase keys that only a legacy file has (a hand-unwrapped file, shape H1).
const H1_KEYS: &[&str] = &[
    "debugConfig",
    "hyperfleetApi",
    "postActions",
    "apiCall",
    "byName",
];

fn keys(node: &Node) -> Vec<&str> {
    match &node.kind {
        NodeKind::Map(e) => e.iter().filter_map(|(k, _)| k.as_str()).collect(),
        _ => Vec::new(),
    }
}

/// The shape of a parsed document, or why it cannot be converted (with the line).
pub(super) fn detect(root: &Node) -> Result<Shape, (usize, Refusal)> {
    let NodeKind::Map(entries) = &root.kind else {
        return Err((root.line, Refusal::NotAMapping));
    };
    if entries.is_empty() {
        return Err((root.line, Refusal::Empty));
    }
    let api = root.get("apiVersion");
    let kind = root.get("kind").and_then(Node::as_str);
    let spec = root.get("spec");
    if api.is_none() && kind.is_none() && !(spec.is_some() && root.get("metadata").is_some()) {
        if let Some(line) = embedded(root) {
            return Err((line, Refusal::Embedded));
        }
        if let Some(k) = hybrid_key(root) {
            return Err((root.line, Refusal::Hybrid(k)));
        }
        return Ok(Shape::Current);
    }
    if let Some(kind) = kind
        && !matches!(
            kind,
            "AdapterConfig" | "AdapterTaskConfig" | "AdapterDeploymentConfig" | "Config"
        )
    {
        return Err((root.line, Refusal::NotAConfig(kind.to_string())));
    }
    let version = api.and_then(Node::as_str).unwrap_or_default();
    if version != API_VERSION {
        let line = api.map_or(root.line, |n| n.line);
        return Err((line, Refusal::ApiVersion(version.to_string())));
    }
    let spec_keys = spec.map(keys).unwrap_or_default();
    for k in &spec_keys {
        if matches!(*k, "subscription" | "apiClient") {
            let line = spec.map_or(1, |s| s.line_of(k));
            return Err((line, Refusal::Proposal(k.to_string())));
        }
    }
    let has = |names: &[&str], ci: bool| {
        spec_keys.iter().any(|k| {
            names.iter().any(|n| {
                if ci {
                    n.eq_ignore_ascii_case(k)
                } else {
                    n == k
                }
            })
        })
    };
    Ok(match kind {
        Some("AdapterTaskConfig") => Shape::ETask,
        Some("Config") => Shape::Dump,
        _ if has(&["clients", "debugConfig"], true) => Shape::EAdapter,
        _ if has(TASK_KEYS, false) || has(M_KEYS, false) => Shape::Merged,
        _ => Shape::EAdapter,
    })
}

/// The line of a legacy configuration embedded in another document (a Helm values file, a
/// ConfigMap): a nested mapping with the legacy `apiVersion`, or a string holding one.
fn embedded(root: &Node) -> Option<usize> {
    fn walk(n: &Node, depth: usize) -> Option<usize> {
        if depth > crate::yaml::MAX_DEPTH {
            return None;
        }
        match &n.kind {
            NodeKind::Scalar { text, .. } => (depth > 0
                && text.contains(&format!("apiVersion: {API_VERSION}")))
            .then_some(n.line),
            NodeKind::Seq(items) => items.iter().find_map(|i| walk(i, depth + 1)),
            NodeKind::Map(e) => {
                if depth > 0 && n.get("apiVersion").and_then(Node::as_str) == Some(API_VERSION) {
                    return Some(n.line);
                }
                e.iter().find_map(|(_, v)| walk(v, depth + 1))
            }
        }
    }
    walk(root, 0)
}

/// A camelCase legacy key in a file without the envelope.
fn hybrid_key(root: &Node) -> Option<String> {
    fn walk(n: &Node, depth: usize) -> Option<String> {
        if depth > 3 {
            return None;
        }
        match &n.kind {
            NodeKind::Map(e) => e.iter().find_map(|(k, v)| {
                let key = k.as_str()?;
                if H1_KEYS.contains(&key) {
                    return Some(key.to_string());
                }
                // Manifests and payloads are data: their camelCase keys are not config keys.
                if matches!(key, "manifest" | "build" | "default" | "value" | "values") {
                    return None;
                }
                walk(v, depth + 1)
            }),
            NodeKind::Seq(items) => items.iter().find_map(|i| walk(i, depth + 1)),
            NodeKind::Scalar { .. } => None,
        }
    }
    let top = keys(root);
    if top.contains(&"hyperfleet_api") || (top.contains(&"kubernetes") && !top.contains(&"clients"))
    {
        return Some("hyperfleet_api".into());
    }
    walk(root, 0)
}

/// The line ranges (1-based, inclusive) of the documents of a YAML stream: `---` starts one,
/// `...` ends one.
pub(super) fn documents(text: &str) -> Vec<(usize, usize)> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut docs = Vec::new();
    let mut start = 1;
    let mut has_content = false;
    for (i, l) in lines.iter().enumerate() {
        let n = i + 1;
        let marker =
            |m: &str| l.starts_with(m) && l[3..].chars().next().is_none_or(char::is_whitespace);
        if marker("---") {
            if has_content {
                docs.push((start, n - 1));
            }
            start = n;
            has_content = false;
            continue;
        }
        if marker("...") {
            if has_content {
                docs.push((start, n));
            }
            start = n + 1;
            has_content = false;
            continue;
        }
        let t = l.trim();
        if !t.is_empty() && !t.starts_with('#') {
            has_content = true;
        }
    }
    if has_content || docs.is_empty() {
        docs.push((start, lines.len()));
    }
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_ranges() {
        assert_eq!(documents("a: 1\n"), vec![(1, 2)]);
        assert_eq!(
            documents("# c\n---\na: 1\n---\nb: 2\n"),
            vec![(2, 3), (4, 6)]
        );
        assert_eq!(documents("a: 1\n...\n"), vec![(1, 2)]);
    }

    #[test]
    fn shapes() {
        let d = |t: &str| detect(&crate::yaml::parse(t).unwrap());
        let env = "apiVersion: hyperfleet.redhat.com/v1alpha1\nmetadata: {name: x}\n";
        assert_eq!(
            d(&format!("{env}kind: AdapterTaskConfig\nspec: {{}}\n")),
            Ok(Shape::ETask)
        );
        assert_eq!(
            d(&format!(
                "{env}kind: AdapterConfig\nspec: {{Clients: {{}}}}\n"
            )),
            Ok(Shape::EAdapter)
        );
        assert_eq!(
            d(&format!("{env}kind: AdapterConfig\nspec: {{params: []}}\n")),
            Ok(Shape::Merged)
        );
        assert_eq!(
            d(&format!("{env}kind: Config\nspec: {{}}\n")),
            Ok(Shape::Dump)
        );
        assert!(matches!(
            d("apiVersion: v1\nkind: Namespace\n"),
            Err((1, Refusal::NotAConfig(_)))
        ));
        assert!(matches!(
            d("apiVersion: hyperfleet.redhat.com/v2\nkind: AdapterConfig\n"),
            Err((1, Refusal::ApiVersion(_)))
        ));
        assert_eq!(d("adapter: {name: x}\nclients: {}\n"), Ok(Shape::Current));
        assert!(matches!(
            d("clients:\n  hyperfleetApi: {}\n"),
            Err((_, Refusal::Hybrid(_)))
        ));
    }
}
