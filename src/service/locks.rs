//! Per-resource ordering: events for the same resource (a cluster, or a node pool under its
//! cluster) run one after the other; the lock of a resource is dropped with its last waiter.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OwnedMutexGuard;

/// Per-resource locks: events for the same resource run one after the other.
#[derive(Default)]
pub(super) struct KeyLocks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

pub(super) struct KeyGuard {
    key: String,
    locks: Arc<KeyLocks>,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        if let Ok(mut map) = self.locks.map.lock()
            && map
                .get(&self.key)
                .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            map.remove(&self.key);
        }
    }
}

impl KeyLocks {
    pub(super) async fn lock(self: &Arc<Self>, key: String) -> KeyGuard {
        let m = {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.clone()).or_default().clone()
        };
        let guard = m.lock_owned().await;
        KeyGuard {
            key,
            locks: self.clone(),
            guard: Some(guard),
        }
    }
}

/// The resource an event is about: `owner id/id` for owned resources (node pools), else `id`.
pub fn resource_key(data: &Map<String, Value>) -> Option<String> {
    let id = data.get("id")?.as_str()?;
    match data
        .get("owner_references")
        .and_then(|o| o.get("id"))
        .and_then(Value::as_str)
    {
        Some(owner) => Some(format!("{owner}/{id}")),
        None => Some(id.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::resource_key;

    fn key(data: &str) -> Option<String> {
        match serde_json::from_str(data).unwrap() {
            serde_json::Value::Object(m) => resource_key(&m),
            _ => unreachable!("test data is an object"),
        }
    }

    #[test]
    fn resource_keys() {
        assert_eq!(
            key(r#"{"id":"c1","kind":"Cluster"}"#).as_deref(),
            Some("c1")
        );
        assert_eq!(
            key(r#"{"id":"np1","owner_references":{"id":"c1"}}"#).as_deref(),
            Some("c1/np1")
        );
        assert_eq!(key("{}"), None);
    }
}
