//! The transport contract suite: what every `Transport` must do, as runnable checks. Each
//! implementation's tests call [`run_all`] with a factory of fresh, empty transports (the
//! in-memory one here; the Kubernetes and Maestro transports against their fakes).

use crate::ports::{Gvk, Operation, Propagation, Selector, Target, Transport, TransportError};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

type Check =
    fn(Arc<dyn Transport>, Target) -> Pin<Box<dyn Future<Output = Result<(), Violation>> + Send>>;

fn config_map(name: &str, ns: &str, generation: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": {"hyperfleet.io/generation": generation}},
        "data": {"k": "v"}
    })
}

/// The object a check applies: a ConfigMap for Kubernetes; for Maestro a ManifestWork of the
/// same name carrying that ConfigMap (Maestro only takes works; they live in the consumer's
/// namespace).
fn object(target: &Target, name: &str, ns: &str, generation: &str, labels: Value) -> Value {
    match target {
        Target::Kubernetes => config_map(name, ns, generation, labels),
        Target::Maestro { consumer } => json!({
            "apiVersion": "work.open-cluster-management.io/v1",
            "kind": "ManifestWork",
            "metadata": {"name": name, "namespace": consumer, "labels": labels,
                         "annotations": {"hyperfleet.io/generation": generation}},
            "spec": {"workload": {"manifests": [config_map(&format!("{name}-data"), ns, generation, json!({}))]}}
        }),
    }
}

/// The kind [`object`] applies.
fn kind(target: &Target) -> Gvk {
    match target {
        Target::Kubernetes => Gvk::new("v1", "ConfigMap"),
        Target::Maestro { .. } => Gvk::new("work.open-cluster-management.io/v1", "ManifestWork"),
    }
}

/// A broken promise of the contract: a transport error where none was allowed, or an answer
/// other than the contract's.
#[derive(Debug, thiserror::Error)]
pub enum Violation {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("{0}")]
    Broken(String),
}

impl From<String> for Violation {
    fn from(s: String) -> Self {
        Violation::Broken(s)
    }
}

fn ensure(cond: bool, what: &str) -> Result<(), Violation> {
    if cond {
        Ok(())
    } else {
        Err(Violation::Broken(what.to_string()))
    }
}

/// Every check, by name.
pub fn checks() -> Vec<(&'static str, Check)> {
    vec![
        ("generation_rule", |t, target| {
            Box::pin(generation_rule(t, target))
        }),
        ("get_missing_is_not_found", |t, target| {
            Box::pin(get_missing_is_not_found(t, target))
        }),
        ("discover_filters_namespace_and_labels", |t, target| {
            Box::pin(discover_filters(t, target))
        }),
        ("delete_removes_and_missing_is_ok", |t, target| {
            Box::pin(delete_semantics(t, target))
        }),
        ("finalizers_hold_objects", |t, target| {
            Box::pin(finalizers_hold(t, target))
        }),
        ("cluster_scoped_objects", |t, target| {
            Box::pin(cluster_scoped(t, target))
        }),
    ]
}

/// Runs every check against fresh transports from `make`, returning the failures.
pub async fn run_all(make: impl Fn() -> Arc<dyn Transport>, target: Target) -> Vec<String> {
    let mut failures = Vec::new();
    for (name, check) in checks() {
        if let Err(e) = check(make(), target.clone()).await {
            failures.push(format!("{name}: {e}"));
        }
    }
    failures
}

async fn generation_rule(t: Arc<dyn Transport>, target: Target) -> Result<(), Violation> {
    let v1 = object(&target, "a", "ns", "1", json!({}));
    let first = t.apply(&v1, false, &target).await?;
    ensure(
        first.operation == Operation::Create && first.reason == "resource not found",
        "first apply creates",
    )?;
    let again = t.apply(&v1, false, &target).await?;
    ensure(
        again.operation == Operation::Skip && again.reason == "generation 1 unchanged",
        "same generation skips",
    )?;
    let v2 = object(&target, "a", "ns", "2", json!({}));
    let up = t.apply(&v2, false, &target).await?;
    ensure(
        up.operation == Operation::Update && up.reason == "generation changed 1->2",
        "new generation updates",
    )?;
    let got = t.get(&kind(&target), "ns", "a", &target).await?;
    ensure(
        got.pointer("/metadata/annotations/hyperfleet.io~1generation") == Some(&json!("2")),
        "get returns the update",
    )?;
    let v3 = object(&target, "a", "ns", "3", json!({}));
    let re = t.apply(&v3, true, &target).await?;
    match target {
        Target::Kubernetes => ensure(
            re.operation == Operation::Recreate
                && re.reason == "generation changed 2->3, recreateOnChange=true",
            "recreate",
        ),
        // Maestro has no recreate: the work is patched.
        Target::Maestro { .. } => ensure(
            re.operation == Operation::Update && re.reason == "generation changed 2->3",
            "maestro ignores recreate_on_change",
        ),
    }?;
    ensure(
        !re.stale && !up.stale && !again.stale,
        "only an older generation is stale",
    )?;
    // A stale event: generation 2 after 3 is skipped, whether or not recreate is asked for,
    // and the object stays at 3.
    for recreate in [false, true] {
        let old = t.apply(&v2, recreate, &target).await?;
        ensure(
            old.operation == Operation::Skip
                && old.stale
                && old.reason
                    == "generation 2 is older than the object's 3 (stale event), not applied",
            "an older generation is skipped as stale",
        )?;
    }
    let got = t.get(&kind(&target), "ns", "a", &target).await?;
    ensure(
        got.pointer("/metadata/annotations/hyperfleet.io~1generation") == Some(&json!("3")),
        "a stale apply leaves the object at its generation",
    )
}

async fn get_missing_is_not_found(t: Arc<dyn Transport>, target: Target) -> Result<(), Violation> {
    match t.get(&kind(&target), "ns", "nope", &target).await {
        Err(e) if e.is_not_found() => Ok(()),
        other => Err(format!("expected NotFound, got {other:?}").into()),
    }
}

async fn discover_filters(t: Arc<dyn Transport>, target: Target) -> Result<(), Violation> {
    for (name, ns, app) in [("a", "ns1", "x"), ("b", "ns1", "y"), ("c", "ns2", "x")] {
        t.apply(
            &object(&target, name, ns, "1", json!({"app": app})),
            false,
            &target,
        )
        .await?;
    }
    let names = |items: Vec<Value>| {
        let mut n: Vec<String> = items
            .iter()
            .filter_map(|i| i.pointer("/metadata/name")?.as_str().map(str::to_string))
            .collect();
        n.sort();
        n
    };
    let sel = |ns: &str, app: Option<&str>| Selector {
        namespace: ns.into(),
        labels: app
            .map(|a| [("app".to_string(), a.to_string())].into())
            .unwrap_or_default(),
    };
    let all_x = t
        .discover(&kind(&target), &sel("", Some("x")), &target)
        .await?;
    ensure(
        names(all_x) == ["a", "c"],
        "label selector across namespaces",
    )?;
    // Kubernetes objects live in their namespaces; Maestro works all in the consumer's.
    let (namespace, expected): (&str, &[&str]) = match &target {
        Target::Kubernetes => ("ns1", &["a", "b"]),
        Target::Maestro { consumer } => (consumer, &["a", "b", "c"]),
    };
    let in_namespace = t
        .discover(&kind(&target), &sel(namespace, None), &target)
        .await?;
    ensure(names(in_namespace) == expected, "namespace filter")?;
    let none = t
        .discover(&Gvk::new("v1", "Secret"), &sel("", None), &target)
        .await?;
    ensure(none.is_empty(), "other kinds are not returned")
}

async fn delete_semantics(t: Arc<dyn Transport>, target: Target) -> Result<(), Violation> {
    let k = kind(&target);
    t.delete(&k, "ns", "never", Propagation::Background, &target)
        .await
        .map_err(|e| format!("deleting a missing object: {e}"))?;
    t.apply(&object(&target, "a", "ns", "1", json!({})), false, &target)
        .await?;
    t.delete(&k, "ns", "a", Propagation::Foreground, &target)
        .await?;
    match t.get(&k, "ns", "a", &target).await {
        Err(e) if e.is_not_found() => Ok(()),
        // Deletion in progress (finalizers, Maestro's asynchronous delete) is allowed.
        Ok(obj) if obj.pointer("/metadata/deletionTimestamp").is_some() => Ok(()),
        other => Err(format!("deleted object still readable and not deleting: {other:?}").into()),
    }
}

async fn finalizers_hold(t: Arc<dyn Transport>, target: Target) -> Result<(), Violation> {
    let k = kind(&target);
    let mut held = object(&target, "f", "ns", "1", json!({}));
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    t.apply(&held, false, &target).await?;
    t.delete(&k, "ns", "f", Propagation::Background, &target)
        .await?;
    let still = t
        .get(&k, "ns", "f", &target)
        .await
        .map_err(|e| format!("held object must still be readable: {e}"))?;
    ensure(
        still.pointer("/metadata/deletionTimestamp").is_some(),
        "held object carries a deletionTimestamp",
    )
}

async fn cluster_scoped(t: Arc<dyn Transport>, target: Target) -> Result<(), Violation> {
    // A Namespace for Kubernetes; for Maestro a work read back without a namespace.
    let (obj, k) = match &target {
        Target::Kubernetes => (
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a", "annotations": {"hyperfleet.io/generation": "4"}}}),
            Gvk::new("v1", "Namespace"),
        ),
        Target::Maestro { .. } => (object(&target, "team-a", "", "4", json!({})), kind(&target)),
    };
    let applied = t.apply(&obj, false, &target).await?;
    ensure(applied.operation == Operation::Create, "created")?;
    let got = t.get(&k, "", "team-a", &target).await?;
    ensure(
        got.pointer("/metadata/name") == Some(&json!("team-a")),
        "get by name without a namespace",
    )
}
