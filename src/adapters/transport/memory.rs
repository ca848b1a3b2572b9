//! An in-memory transport: objects keyed by group/version/kind/namespace/name, the generation
//! rule on apply, discovery by name, labels and namespace, and deletion that removes Kubernetes
//! objects (unless finalizers hold them) and marks Maestro works as deleting (Maestro deletes
//! asynchronously). Every operation is recorded for the dry-run trace.

use crate::domain::generation::{Decision, decide, decide_kubernetes, validate_manifest_work};
use crate::ports::{
    Applied, Gvk, Operation, Propagation, Selector, Target, Transport, TransportError,
    manifest_identity,
};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

type Key = (Gvk, String, String);

/// One recorded transport operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportOp {
    /// `apply`, `get`, `discover` or `delete`.
    pub operation: &'static str,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// For applies: the operation decided (`create`, `update`, ...).
    pub result: Option<String>,
}

/// The store.
pub struct MemoryTransport {
    objects: Mutex<BTreeMap<Key, Value>>,
    ops: Mutex<Vec<TransportOp>>,
    now: DateTime<Utc>,
    next_version: AtomicU64,
}

impl Default for MemoryTransport {
    fn default() -> Self {
        MemoryTransport::new(Utc::now())
    }
}

fn meta_str(obj: &Value, field: &str) -> String {
    obj.pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl MemoryTransport {
    /// An empty store whose deletion timestamps read `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        MemoryTransport {
            objects: Mutex::default(),
            ops: Mutex::default(),
            now,
            next_version: AtomicU64::new(1),
        }
    }

    /// Puts an object in the store as it is (dry-run discovery overrides, test fixtures).
    pub fn insert(&self, obj: Value) {
        let key = (
            Gvk::of(&obj),
            meta_str(&obj, "namespace"),
            meta_str(&obj, "name"),
        );
        self.lock().insert(key, obj);
    }

    /// Every operation so far, in order.
    pub fn operations(&self) -> Vec<TransportOp> {
        self.ops.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// A copy of every stored object.
    pub fn objects(&self) -> Vec<Value> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, Value>> {
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(
        &self,
        operation: &'static str,
        kind: &str,
        namespace: &str,
        name: &str,
        result: Option<String>,
    ) {
        if let Ok(mut ops) = self.ops.lock() {
            ops.push(TransportOp {
                operation,
                kind: kind.into(),
                namespace: namespace.into(),
                name: name.into(),
                result,
            });
        }
    }

    /// Maestro places every work in its consumer's namespace.
    fn namespace_for(gvk: &Gvk, namespace: &str, target: &Target) -> String {
        match target {
            Target::Maestro { consumer } if gvk.is_manifest_work() => consumer.clone(),
            _ => namespace.to_string(),
        }
    }

    fn stamp(&self, obj: &mut Value, previous: Option<&Value>) {
        let version = self
            .next_version
            .fetch_add(1, Ordering::Relaxed)
            .to_string();
        let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
            return;
        };
        meta.insert("resourceVersion".into(), Value::String(version));
        for field in ["uid", "creationTimestamp"] {
            if let Some(v) = previous.and_then(|p| p.pointer(&format!("/metadata/{field}"))) {
                meta.insert(field.into(), v.clone());
            }
        }
        meta.entry("creationTimestamp")
            .or_insert_with(|| Value::String(self.now.to_rfc3339_opts(SecondsFormat::Secs, true)));
    }
}

#[async_trait]
impl Transport for MemoryTransport {
    async fn apply(
        &self,
        manifest: &Value,
        recreate_on_change: bool,
        target: &Target,
    ) -> Result<Applied, TransportError> {
        let (gvk, name) = manifest_identity(manifest)?;
        let name = name.to_string();
        let mut obj = manifest.clone();
        if let Target::Maestro { consumer } = target {
            if consumer.is_empty() {
                return Err(TransportError::invalid(
                    "consumer name (target cluster) is required: set TransportContext.ConsumerName",
                ));
            }
            if gvk.is_manifest_work() {
                validate_manifest_work(&obj).map_err(|e| {
                    TransportError::invalid(format!(
                        "failed to apply ManifestWork: invalid ManifestWork: {e}"
                    ))
                })?;
                if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.insert("namespace".into(), Value::String(consumer.clone()));
                }
            }
        }
        let namespace = meta_str(&obj, "namespace");
        let key = (gvk.clone(), namespace.clone(), name.clone());
        let mut store = self.lock();
        let existing = store.get(&key).cloned();
        // Maestro has no recreate: an update is a merge patch of the work.
        let recreate = recreate_on_change && !matches!(target, Target::Maestro { .. });
        let Decision {
            operation,
            reason,
            stale,
        } = match target {
            Target::Kubernetes => decide_kubernetes(&obj, existing.as_ref(), recreate),
            Target::Maestro { .. } => decide(&obj, existing.as_ref(), recreate),
        };
        let stored = match (operation, existing) {
            (Operation::Skip, Some(existing)) => existing,
            (Operation::Update, Some(existing)) => {
                // Like an API server: the status is not the client's to overwrite.
                if let (Some(status), Some(map)) = (existing.get("status"), obj.as_object_mut()) {
                    map.entry("status").or_insert_with(|| status.clone());
                }
                self.stamp(&mut obj, Some(&existing));
                store.insert(key, obj.clone());
                obj
            }
            _ => {
                self.stamp(&mut obj, None);
                store.insert(key, obj.clone());
                obj
            }
        };
        drop(store);
        self.record(
            "apply",
            &gvk.kind,
            &namespace,
            &name,
            Some(operation.as_str().into()),
        );
        Ok(Applied {
            operation,
            reason,
            object: stored,
            stale,
        })
    }

    async fn get(
        &self,
        gvk: &Gvk,
        namespace: &str,
        name: &str,
        target: &Target,
    ) -> Result<Value, TransportError> {
        let ns = Self::namespace_for(gvk, namespace, target);
        self.record("get", &gvk.kind, &ns, name, None);
        self.lock()
            .get(&(gvk.clone(), ns, name.to_string()))
            .cloned()
            .ok_or_else(|| TransportError::not_found(&gvk.kind, name))
    }

    async fn discover(
        &self,
        gvk: &Gvk,
        selector: &Selector,
        target: &Target,
    ) -> Result<Vec<Value>, TransportError> {
        let ns = if selector.namespace.is_empty() {
            String::new()
        } else {
            Self::namespace_for(gvk, &selector.namespace, target)
        };
        self.record("discover", &gvk.kind, &ns, &selector.label_string(), None);
        let store = self.lock();
        Ok(store
            .iter()
            .filter(|((g, n, _), obj)| {
                g == gvk
                    && (ns.is_empty() || *n == ns)
                    && selector.labels.iter().all(|(k, v)| {
                        obj.pointer("/metadata/labels")
                            .and_then(|l| l.get(k))
                            .and_then(Value::as_str)
                            == Some(v.as_str())
                    })
            })
            .map(|(_, obj)| obj.clone())
            .collect())
    }

    async fn delete(
        &self,
        gvk: &Gvk,
        namespace: &str,
        name: &str,
        propagation: Propagation,
        target: &Target,
    ) -> Result<(), TransportError> {
        let ns = Self::namespace_for(gvk, namespace, target);
        self.record(
            "delete",
            &gvk.kind,
            &ns,
            name,
            Some(propagation.as_str().to_lowercase()),
        );
        let key = (gvk.clone(), ns, name.to_string());
        let mut store = self.lock();
        let Some(obj) = store.get_mut(&key) else {
            return Ok(());
        };
        let held = obj
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if held || matches!(target, Target::Maestro { .. }) {
            // Finalizers hold the object; Maestro deletes works asynchronously.
            if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                let ts = self.now.to_rfc3339_opts(SecondsFormat::Secs, true);
                meta.entry("deletionTimestamp").or_insert(Value::String(ts));
            }
        } else {
            store.remove(&key);
        }
        Ok(())
    }
}
