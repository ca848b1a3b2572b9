//! Finding what a resource's `discovery` names: by name or by label selector (highest
//! `hyperfleet.io/generation` wins, ties by name), and nested discovery of manifests inside a
//! discovered ManifestWork, enriched with their status feedback (§6.6, §6.7, §9.5).

use super::generation::generation_of;
use crate::ports::Gvk;
use serde_json::Value;
use std::collections::BTreeMap;

/// A rendered discovery.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lookup {
    pub namespace: String,
    pub by_name: Option<String>,
    pub labels: BTreeMap<String, String>,
}

/// The GVK a manifest declares: map keys, or the first `apiVersion:`/`kind:` lines of a text
/// manifest (they must be literal there).
pub fn manifest_gvk(manifest: &Value) -> Gvk {
    match manifest {
        Value::Object(_) => Gvk::of(manifest),
        Value::String(text) => {
            let first = |key: &str| {
                text.lines()
                    .map(str::trim)
                    .find_map(|l| l.strip_prefix(key))
                    .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
                    .unwrap_or_default()
            };
            Gvk::new(&first("apiVersion:"), &first("kind:"))
        }
        _ => Gvk::default(),
    }
}

/// Picks the discovered object: highest generation annotation, then name ascending.
pub fn pick(items: Vec<Value>) -> Option<Value> {
    let name = |v: &Value| {
        v.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    items.into_iter().min_by(|a, b| {
        generation_of(b)
            .cmp(&generation_of(a))
            .then_with(|| name(a).cmp(&name(b)))
    })
}

fn labels_match(obj: &Value, labels: &BTreeMap<String, String>) -> bool {
    let have = obj.pointer("/metadata/labels").and_then(Value::as_object);
    labels
        .iter()
        .all(|(k, v)| have.and_then(|h| h.get(k)).and_then(Value::as_str) == Some(v.as_str()))
}

/// Whether an object matches a lookup (namespace when set, then name or labels).
pub fn matches(obj: &Value, lookup: &Lookup) -> bool {
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !lookup.namespace.is_empty() && ns != lookup.namespace {
        return false;
    }
    match &lookup.by_name {
        Some(n) => obj.pointer("/metadata/name").and_then(Value::as_str) == Some(n.as_str()),
        None => labels_match(obj, &lookup.labels),
    }
}

/// A ManifestWork whose manifest list cannot be searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedWork {
    #[error("spec.workload.manifests is not a list")]
    NotAList,
    #[error("spec.workload.manifests[{0}] is not an object")]
    NotAnObject(usize),
}

/// Finds the nested manifest of a ManifestWork matching `lookup`, enriched with the work's
/// `statusFeedback` and `conditions` for it. The parent is not modified.
pub fn nested(parent: &Value, lookup: &Lookup) -> Result<Option<Value>, MalformedWork> {
    let Some(manifests) = parent.pointer("/spec/workload/manifests") else {
        return Ok(None);
    };
    let Some(list) = manifests.as_array() else {
        return Err(MalformedWork::NotAList);
    };
    let mut found = Vec::new();
    for (i, m) in list.iter().enumerate() {
        if !m.is_object() {
            return Err(MalformedWork::NotAnObject(i));
        }
        if matches(m, lookup) {
            found.push(m.clone());
        }
    }
    Ok(pick(found).map(|obj| enrich(parent, obj)))
}

fn enrich(parent: &Value, mut obj: Value) -> Value {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let statuses = parent
        .pointer("/status/resourceStatus/manifests")
        .and_then(Value::as_array);
    let entry = statuses.into_iter().flatten().find(|s| {
        let meta = s.get("resourceMeta");
        meta.and_then(|m| m.get("name")).and_then(Value::as_str) == Some(name.as_str())
            && meta
                .and_then(|m| m.get("namespace"))
                .and_then(Value::as_str)
                == Some(ns.as_str())
    });
    if let (Some(entry), Some(map)) = (entry, obj.as_object_mut()) {
        for key in ["statusFeedback", "conditions"] {
            if let Some(v) = entry.get(key) {
                map.insert(key.into(), v.clone());
            }
        }
    }
    obj
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(name: &str, generation: &str) -> Value {
        json!({"metadata": {"name": name, "annotations": {"hyperfleet.io/generation": generation}, "labels": {"app": "x"}}})
    }

    #[test]
    fn picks_highest_generation_then_name() {
        let picked = pick(vec![obj("b", "2"), obj("a", "2"), obj("c", "1")]).unwrap();
        assert_eq!(picked["metadata"]["name"], "a");
        let picked = pick(vec![obj("a", "1"), obj("z", "9")]).unwrap();
        assert_eq!(picked["metadata"]["name"], "z");
        assert!(pick(vec![]).is_none());
    }

    #[test]
    fn gvk_from_text_manifests() {
        let g = manifest_gvk(&json!(
            "# c\napiVersion: \"work.open-cluster-management.io/v1\"\nkind: ManifestWork\nspec:\n  kind: Other\n"
        ));
        assert_eq!(
            g,
            Gvk::new("work.open-cluster-management.io/v1", "ManifestWork")
        );
        assert!(g.is_manifest_work());
    }

    #[test]
    fn nested_discovery_enriches_without_touching_the_parent() {
        let parent = json!({
            "spec": {"workload": {"manifests": [
                {"kind": "Namespace", "metadata": {"name": "ns1", "labels": {"a": "b"}}},
                {"kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ns1"}}
            ]}},
            "status": {"resourceStatus": {"manifests": [
                {"resourceMeta": {"name": "ns1", "namespace": ""}, "statusFeedback": {"values": [{"name": "phase"}]}, "conditions": [{"type": "Applied"}]}
            ]}}
        });
        let ns = nested(
            &parent,
            &Lookup {
                by_name: Some("ns1".into()),
                ..Default::default()
            },
        )
        .unwrap()
        .unwrap();
        assert_eq!(ns["statusFeedback"]["values"][0]["name"], "phase");
        assert_eq!(ns["conditions"][0]["type"], "Applied");
        assert!(
            parent["spec"]["workload"]["manifests"][0]
                .get("statusFeedback")
                .is_none(),
            "no aliasing"
        );
        let sel = Lookup {
            labels: [("a".to_string(), "b".to_string())].into(),
            ..Default::default()
        };
        assert_eq!(
            nested(&parent, &sel).unwrap().unwrap()["metadata"]["name"],
            "ns1"
        );
        let cm = Lookup {
            namespace: "ns1".into(),
            by_name: Some("cm".into()),
            ..Default::default()
        };
        assert!(
            nested(&parent, &cm)
                .unwrap()
                .unwrap()
                .get("statusFeedback")
                .is_none()
        );
        assert!(nested(&json!({}), &cm).unwrap().is_none());
        assert!(nested(&json!({"spec": {"workload": {"manifests": [1]}}}), &cm).is_err());
    }
}
