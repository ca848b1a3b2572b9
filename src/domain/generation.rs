//! The generation rule shared by every transport (annotation `hyperfleet.io/generation`), and
//! the ManifestWork validation Maestro requires (the annotation on the work and every manifest).

use crate::ports::Operation;
use serde_json::Value;

pub const GENERATION_ANNOTATION: &str = "hyperfleet.io/generation";

/// The generation of an object: the annotation parsed as a base-10 integer, else 0.
pub fn generation_of(obj: &Value) -> i64 {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(GENERATION_ANNOTATION))
        .and_then(Value::as_str)
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or(0)
}

/// What the generation rule decided for one apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub operation: Operation,
    pub reason: String,
    /// The desired generation is older than the object's: the event is stale (another
    /// replica, or a later event, already applied a newer one), and nothing is applied.
    pub stale: bool,
}

impl Decision {
    fn new(operation: Operation, reason: String) -> Self {
        Decision {
            operation,
            reason,
            stale: false,
        }
    }
}

/// Decides create / skip / update / recreate. Generations only move forward: a desired
/// generation above the object's is applied, an equal one skipped (`generation N unchanged`, the
/// Go adapter's reason), and an older one skipped as stale. The Go adapter applied any
/// generation that differed, so an event that lost a race to a newer one (two replicas, or a
/// redelivery) moved the object back; see docs/compatibility.md.
pub fn decide(new: &Value, existing: Option<&Value>, recreate_on_change: bool) -> Decision {
    let Some(existing) = existing else {
        return Decision::new(Operation::Create, "resource not found".into());
    };
    let (old_gen, new_gen) = (generation_of(existing), generation_of(new));
    match new_gen.cmp(&old_gen) {
        std::cmp::Ordering::Equal => {
            Decision::new(Operation::Skip, format!("generation {new_gen} unchanged"))
        }
        std::cmp::Ordering::Less => Decision {
            operation: Operation::Skip,
            reason: format!(
                "generation {new_gen} is older than the object's {old_gen} (stale event), not applied"
            ),
            stale: true,
        },
        std::cmp::Ordering::Greater if recreate_on_change => Decision::new(
            Operation::Recreate,
            format!("generation changed {old_gen}->{new_gen}, recreateOnChange=true"),
        ),
        std::cmp::Ordering::Greater => Decision::new(
            Operation::Update,
            format!("generation changed {old_gen}->{new_gen}"),
        ),
    }
}

/// Whether the object carries the generation annotation at all.
pub fn has_generation(obj: &Value) -> bool {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(GENERATION_ANNOTATION))
        .is_some()
}

/// [`decide`] for Kubernetes objects: a manifest without the annotation has nothing to compare,
/// so it is applied every time (server-side apply is idempotent) instead of being skipped
/// forever once it exists, as the Go adapter does, or skipped as stale under an annotated
/// object.
pub fn decide_kubernetes(
    new: &Value,
    existing: Option<&Value>,
    recreate_on_change: bool,
) -> Decision {
    let decision = decide(new, existing, recreate_on_change);
    if decision.operation == Operation::Skip && !has_generation(new) {
        return Decision::new(
            Operation::Update,
            format!("no {GENERATION_ANNOTATION} annotation, applied"),
        );
    }
    decision
}

/// Why a ManifestWork cannot be sent to Maestro (the Go adapter's texts).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidWork(String);

/// Validates a ManifestWork for Maestro: the work and every manifest carry a positive
/// generation annotation.
pub fn validate_manifest_work(work: &Value) -> Result<(), InvalidWork> {
    let name = work
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    check_annotation(work, &format!("ManifestWork {name:?}"))?;
    let manifests = work
        .pointer("/spec/workload/manifests")
        .and_then(Value::as_array);
    for (i, m) in manifests.into_iter().flatten().enumerate() {
        if !m.is_object() {
            return Err(InvalidWork(format!(
                "ManifestWork {name:?} manifest[{i}]: failed to unmarshal: not an object"
            )));
        }
        let kind = m.get("kind").and_then(Value::as_str).unwrap_or_default();
        let mname = m
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        check_annotation(
            m,
            &format!("ManifestWork {name:?} manifest[{i}] {kind}/{mname}"),
        )?;
    }
    Ok(())
}

fn check_annotation(obj: &Value, what: &str) -> Result<(), InvalidWork> {
    let value = obj
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(GENERATION_ANNOTATION));
    let text = match value {
        None => {
            return Err(InvalidWork(format!(
                "{what}: missing {GENERATION_ANNOTATION} annotation"
            )));
        }
        Some(v) => v.as_str().unwrap_or_default().trim().to_string(),
    };
    if text.is_empty() {
        return Err(InvalidWork(format!(
            "{what}: {GENERATION_ANNOTATION} annotation is empty"
        )));
    }
    let n: i64 = text.parse().map_err(|e| {
        InvalidWork(format!(
            "{what}: invalid {GENERATION_ANNOTATION} annotation value {text:?}: {e}"
        ))
    })?;
    if n <= 0 {
        return Err(InvalidWork(format!(
            "{what}: {GENERATION_ANNOTATION} annotation must be > 0, got {n}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(generation: Option<&str>) -> Value {
        match generation {
            Some(g) => {
                json!({"metadata": {"name": "x", "annotations": {GENERATION_ANNOTATION: g}}})
            }
            None => json!({"metadata": {"name": "x"}}),
        }
    }

    fn pair(d: Decision) -> (Operation, String) {
        (d.operation, d.reason)
    }

    #[test]
    fn kubernetes_applies_unannotated_manifests_every_time() {
        let plain = obj(None);
        assert_eq!(
            pair(decide(&plain, Some(&plain), false)),
            (Operation::Skip, "generation 0 unchanged".into()),
            "the Go rule"
        );
        assert_eq!(
            pair(decide_kubernetes(&plain, Some(&plain), false)),
            (
                Operation::Update,
                "no hyperfleet.io/generation annotation, applied".into()
            )
        );
        assert_eq!(
            decide_kubernetes(&plain, None, false).operation,
            Operation::Create
        );
        let annotated = obj(Some("2"));
        assert_eq!(
            decide_kubernetes(&annotated, Some(&annotated), true).operation,
            Operation::Skip
        );
        let stale = decide_kubernetes(&plain, Some(&annotated), false);
        assert_eq!(
            (stale.operation, stale.stale),
            (Operation::Update, false),
            "an unannotated manifest has no generation to be older than"
        );
    }

    #[test]
    fn generation_rule() {
        assert_eq!(
            pair(decide(&obj(Some("2")), None, false)),
            (Operation::Create, "resource not found".into())
        );
        assert_eq!(
            pair(decide(&obj(Some("2")), Some(&obj(Some("2"))), false)),
            (Operation::Skip, "generation 2 unchanged".into())
        );
        assert_eq!(
            pair(decide(&obj(Some("3")), Some(&obj(Some("2"))), false)),
            (Operation::Update, "generation changed 2->3".into())
        );
        assert_eq!(
            pair(decide(&obj(Some("3")), Some(&obj(Some("2"))), true)),
            (
                Operation::Recreate,
                "generation changed 2->3, recreateOnChange=true".into()
            )
        );
        assert_eq!(generation_of(&obj(Some("x"))), 0);
        assert_eq!(generation_of(&obj(None)), 0);
        for d in [
            decide(&obj(Some("3")), Some(&obj(Some("2"))), false),
            decide(&obj(Some("2")), Some(&obj(Some("2"))), true),
        ] {
            assert!(!d.stale, "{d:?}");
        }
    }

    /// Generations only move forward: the Go adapter's "apply when it differs" would take an
    /// object from 2 back to 1 (a stale event, another replica's or a redelivery).
    #[test]
    fn an_older_generation_is_never_applied() {
        for recreate in [false, true] {
            let d = decide(&obj(Some("1")), Some(&obj(Some("2"))), recreate);
            assert_eq!(d.operation, Operation::Skip);
            assert!(d.stale);
            assert_eq!(
                d.reason,
                "generation 1 is older than the object's 2 (stale event), not applied"
            );
            let d = decide_kubernetes(&obj(Some("1")), Some(&obj(Some("2"))), recreate);
            assert_eq!((d.operation, d.stale), (Operation::Skip, true));
        }
        // An object without the annotation counts as generation 0: any annotated one is newer.
        let d = decide(&obj(Some("1")), Some(&obj(None)), false);
        assert_eq!((d.operation, d.stale), (Operation::Update, false));
    }

    #[test]
    fn manifest_work_validation() {
        let good = json!({"metadata": {"name": "w", "annotations": {GENERATION_ANNOTATION: "1"}},
            "spec": {"workload": {"manifests": [{"kind": "Namespace", "metadata": {"name": "n", "annotations": {GENERATION_ANNOTATION: "1"}}}]}}});
        assert!(validate_manifest_work(&good).is_ok());
        let mut bad = good.clone();
        bad["spec"]["workload"]["manifests"][0]["metadata"]["annotations"] = json!({});
        assert_eq!(
            validate_manifest_work(&bad).unwrap_err().to_string(),
            "ManifestWork \"w\" manifest[0] Namespace/n: missing hyperfleet.io/generation annotation"
        );
        let mut zero = good.clone();
        zero["metadata"]["annotations"][GENERATION_ANNOTATION] = json!("0");
        assert_eq!(
            validate_manifest_work(&zero).unwrap_err().to_string(),
            "ManifestWork \"w\": hyperfleet.io/generation annotation must be > 0, got 0"
        );
        let mut empty = good;
        empty["metadata"]["annotations"][GENERATION_ANNOTATION] = json!("");
        assert!(
            validate_manifest_work(&empty)
                .unwrap_err()
                .to_string()
                .ends_with("annotation is empty")
        );
    }
}
