//! Transports: where rendered resources go. The in-memory one backs dry runs and tests; the
//! contract suite checks every implementation against the `Transport` port's contract.

pub mod contract;
#[cfg(feature = "k8s")]
pub mod kubernetes;
#[cfg(feature = "maestro")]
pub mod maestro;
pub mod memory;

pub use memory::{MemoryTransport, TransportOp};

/// RFC 7386 JSON merge patch: objects merge recursively, `null` removes a key, anything else
/// (arrays included) replaces.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    let Some(p) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Some(t) = target.as_object_mut() {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}
