//! The keyed work queue: at most one event in flight per resource, and at most one waiting.
//!
//! Client-go's workqueue semantics, "stingy": a key is either idle (absent), or has a driver —
//! the task that runs its events one after the other — and at most one item waiting for it. An
//! item offered for a key that already has one waiting *coalesces* with it: the newer of the
//! two is kept and the other is handed back, superseded, for the caller to settle as a
//! duplicate. The item waiting is taken only when the driver has an execution slot, so a burst
//! of deliveries for one cluster while it waits for a slot, or while its previous event runs,
//! costs one more reconcile, not one per delivery. Parallelism applies across keys only.
//!
//! The queue holds no tasks and no time: [`KeyedQueue::offer`], [`KeyedQueue::take`] and
//! [`KeyedQueue::finish`] are the whole protocol, and the serve loop drives it.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Mutex;

/// What became of an offered item.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Offer<T> {
    /// The key was idle: the caller is now its driver and [`KeyedQueue::take`]s the item once
    /// it has a slot.
    Drive,
    /// The key has a driver; the item waits as its next one.
    Queued,
    /// The key had an item waiting: the newer of the two waits, this one (either of them) is
    /// superseded.
    Superseded(T),
}

/// Per-key queue of at most one waiting item.
pub(super) struct KeyedQueue<T> {
    /// Key → the item waiting for it. Present = the key has a driver.
    keys: Mutex<HashMap<String, Option<T>>>,
}

impl<T> Default for KeyedQueue<T> {
    fn default() -> Self {
        KeyedQueue {
            keys: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> KeyedQueue<T> {
    fn keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<T>>> {
        // Nothing panics while holding the lock; a poisoned map is still consistent.
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Offers `item` for `key`. `newer(a, b)` says whether `a` is newer than `b` (on a tie the
    /// item offered later wins).
    pub(super) fn offer(&self, key: &str, item: T, newer: impl Fn(&T, &T) -> bool) -> Offer<T> {
        let mut keys = self.keys();
        match keys.entry(key.to_string()) {
            Entry::Vacant(v) => {
                v.insert(Some(item));
                Offer::Drive
            }
            Entry::Occupied(mut o) => match o.get_mut() {
                slot @ None => {
                    *slot = Some(item);
                    Offer::Queued
                }
                Some(waiting) => {
                    if newer(waiting, &item) {
                        Offer::Superseded(item)
                    } else {
                        Offer::Superseded(std::mem::replace(waiting, item))
                    }
                }
            },
        }
    }

    /// The item waiting for `key`, for its driver to run. `None` when nothing waits (the
    /// driver then calls [`KeyedQueue::finish`]).
    pub(super) fn take(&self, key: &str) -> Option<T> {
        self.keys().get_mut(key).and_then(Option::take)
    }

    /// The driver is done with what it took: `true` when another item waits (the driver goes
    /// on), `false` when none does and the key is idle again (the driver ends; the next offer
    /// for the key makes a new one).
    pub(super) fn finish(&self, key: &str) -> bool {
        let mut keys = self.keys();
        match keys.get(key) {
            Some(Some(_)) => true,
            _ => {
                keys.remove(key);
                false
            }
        }
    }

    /// Keys with a driver (running or waiting).
    #[cfg(test)]
    pub(super) fn active(&self) -> usize {
        self.keys().len()
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
    use super::{KeyedQueue, Offer, resource_key};

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

    fn by_value(a: &u32, b: &u32) -> bool {
        a > b
    }

    #[test]
    fn the_first_offer_drives_and_later_ones_wait_one_deep() {
        let q = KeyedQueue::default();
        assert_eq!(q.offer("c1", 1, by_value), Offer::Drive);
        // Another key is independent.
        assert_eq!(q.offer("c2", 7, by_value), Offer::Drive);
        // The driver has not taken its item yet: the newer offer replaces it.
        assert_eq!(q.offer("c1", 2, by_value), Offer::Superseded(1));
        assert_eq!(q.take("c1"), Some(2));
        // Running 2: the next offer waits.
        assert_eq!(q.offer("c1", 3, by_value), Offer::Queued);
        // An older one than the waiting item is the one superseded.
        assert_eq!(q.offer("c1", 0, by_value), Offer::Superseded(0));
        assert_eq!(q.offer("c1", 4, by_value), Offer::Superseded(3));
        assert!(q.finish("c1"), "4 waits");
        assert_eq!(q.take("c1"), Some(4));
        assert!(!q.finish("c1"), "nothing waits: idle");
        assert_eq!(q.active(), 1, "only c2 has a driver");
        assert_eq!(q.offer("c1", 5, by_value), Offer::Drive, "a new driver");
    }

    #[test]
    fn on_a_tie_the_later_offer_wins() {
        let q = KeyedQueue::default();
        let never_newer = |_: &(u32, &str), _: &(u32, &str)| false;
        assert_eq!(q.offer("k", (1, "a"), never_newer), Offer::Drive);
        assert_eq!(
            q.offer("k", (1, "b"), never_newer),
            Offer::Superseded((1, "a"))
        );
        assert_eq!(q.take("k"), Some((1, "b")));
    }

    #[test]
    fn finish_without_a_take_releases_the_key() {
        let q: KeyedQueue<u32> = KeyedQueue::default();
        assert!(!q.finish("nobody"));
        assert_eq!(q.take("nobody"), None);
        assert_eq!(q.active(), 0);
    }
}
