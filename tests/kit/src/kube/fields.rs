//! Field paths and their owners (server-side apply's `managedFields`), names and the
//! generation rule's spec.

use super::*;
pub(super) fn valid_name(name: &str) -> bool {
    name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

pub(super) fn owned_by(obj: &Value, uid: &str) -> bool {
    !uid.is_empty()
        && obj
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .is_some_and(|refs| {
                refs.iter()
                    .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid))
            })
}

/// Everything but metadata and status (what bumps `metadata.generation`).
pub(super) fn spec_of(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    o
}

/// The leaf field paths a client can own: all but identity, server-set metadata and status.
pub(super) fn leaves(obj: &Value) -> BTreeSet<FieldPath> {
    pub(super) fn walk(v: &Value, path: &mut FieldPath, out: &mut BTreeSet<FieldPath>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, child) in m {
                    path.push(k.clone());
                    walk(child, path, out);
                    path.pop();
                }
            }
            _ => {
                out.insert(path.clone());
            }
        }
    }
    let mut out = BTreeSet::new();
    let Some(map) = obj.as_object() else {
        return out;
    };
    for (k, v) in map {
        match k.as_str() {
            "apiVersion" | "kind" | "status" => {}
            "metadata" => {
                for field in ["labels", "annotations", "finalizers", "ownerReferences"] {
                    if let Some(child) = v.get(field) {
                        let mut path = vec!["metadata".to_string(), field.to_string()];
                        walk(child, &mut path, &mut out);
                    }
                }
            }
            _ => {
                let mut path = vec![k.clone()];
                walk(v, &mut path, &mut out);
            }
        }
    }
    out
}

pub(super) fn at<'a>(obj: &'a Value, path: &FieldPath) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, k| v.get(k))
}

pub(super) fn set_at(obj: &mut Value, path: &FieldPath, value: Value) {
    let mut cur = obj;
    for k in &path[..path.len() - 1] {
        if !cur.get(k).is_some_and(Value::is_object) {
            cur[k.as_str()] = json!({});
        }
        cur = cur.get_mut(k).expect("just set");
    }
    cur[path[path.len() - 1].as_str()] = value;
}

pub(super) fn remove_at(obj: &mut Value, path: &FieldPath) {
    let mut cur = obj;
    for k in &path[..path.len() - 1] {
        match cur.get_mut(k) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Some(m) = cur.as_object_mut() {
        m.remove(&path[path.len() - 1]);
    }
}

/// The field manager of a non-apply write (`unknown` when the client names none).
pub(super) fn update_manager(query: &BTreeMap<String, String>) -> String {
    query
        .get("fieldManager")
        .cloned()
        .unwrap_or_else(|| "unknown".into())
}

/// `metadata.managedFields` in the API server's FieldsV1 form.
pub(super) fn render_managed_fields(
    obj: &mut Value,
    owners: &BTreeMap<(String, String), BTreeSet<FieldPath>>,
    api_version: &str,
) {
    let entries: Vec<Value> = owners
        .iter()
        .map(|((manager, operation), paths)| {
            let mut tree = Map::new();
            for p in paths {
                let mut cur = &mut tree;
                for seg in p {
                    cur = cur
                        .entry(format!("f:{seg}"))
                        .or_insert_with(|| json!({}))
                        .as_object_mut()
                        .expect("object");
                }
            }
            json!({"manager": manager, "operation": operation, "apiVersion": api_version, "time": NOW, "fieldsType": "FieldsV1", "fieldsV1": tree})
        })
        .collect();
    obj["metadata"]["managedFields"] = Value::Array(entries);
}
