//! Read-your-writes over Maestro's REST view.
//!
//! A ManifestWork published over gRPC reaches Maestro's REST API only once Maestro has stored
//! it, so a read right after a create can miss it. The executor discovers every resource right
//! after applying it and, as the Go adapter does, fails the resource when that discovery finds
//! nothing; without this a lagging REST view would fail a create that succeeded.
//!
//! Every work this process publishes is remembered for [`TTL`] (at most [`CAPACITY`] of them,
//! the oldest forgotten first) and stands in for it while the REST view does not show it yet.
//! What the REST view shows always wins, and a work it shows is forgotten.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::time::{Duration, Instant};

/// How long a published work may be missing from the REST view before it is taken as gone.
pub const TTL: Duration = Duration::from_secs(60);

/// Works remembered at once.
pub const CAPACITY: usize = 1024;

/// Works published by this process, by resource id.
#[derive(Default)]
pub struct Recent {
    works: Mutex<HashMap<String, (Value, Instant)>>,
}

impl Recent {
    /// Remembers `work` (published under resource `id`).
    pub fn published(&self, id: &str, work: &Value) {
        let mut works = self.works.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        works.retain(|_, (_, at)| now.duration_since(*at) < TTL);
        if works.len() >= CAPACITY
            && let Some(oldest) = works
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone())
        {
            works.remove(&oldest);
        }
        works.insert(id.to_string(), (work.clone(), now));
    }

    /// Forgets the work of `id` (deleted, or shown by the REST view).
    pub fn forget(&self, id: &str) {
        self.works
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// The work of `id` as read from the REST view (`shown`), or as published when the view
    /// does not show it yet.
    pub fn read(&self, id: &str, shown: Option<Value>) -> Option<Value> {
        match shown {
            Some(w) => {
                self.forget(id);
                Some(w)
            }
            None => self.get(id),
        }
    }

    /// `shown` (the REST view's works of a consumer, each with its resource id) plus the works
    /// published for `consumer` that it does not show yet.
    pub fn list(&self, consumer: &str, shown: Vec<(String, Value)>) -> Vec<Value> {
        for (id, _) in &shown {
            self.forget(id);
        }
        let mut out: Vec<Value> = shown.into_iter().map(|(_, w)| w).collect();
        let works = self.works.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let mut pending: Vec<(&Instant, &Value)> = works
            .values()
            .filter(|(w, at)| {
                now.duration_since(*at) < TTL
                    && w.pointer("/metadata/namespace").and_then(Value::as_str) == Some(consumer)
            })
            .map(|(w, at)| (at, w))
            .collect();
        pending.sort_by_key(|(at, _)| **at);
        out.extend(pending.into_iter().map(|(_, w)| w.clone()));
        out
    }

    fn get(&self, id: &str) -> Option<Value> {
        let works = self.works.lock().unwrap_or_else(|p| p.into_inner());
        works
            .get(id)
            .filter(|(_, at)| Instant::now().duration_since(*at) < TTL)
            .map(|(w, _)| w.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn work(ns: &str, name: &str) -> Value {
        json!({"metadata": {"namespace": ns, "name": name}})
    }

    #[tokio::test(start_paused = true)]
    async fn a_published_work_stands_in_until_the_view_shows_it_or_the_ttl_passes() {
        let r = Recent::default();
        r.published("id-a", &work("c1", "a"));
        assert_eq!(r.read("id-a", None), Some(work("c1", "a")));
        assert_eq!(r.list("c1", vec![]), vec![work("c1", "a")]);
        assert_eq!(r.list("c2", vec![]), Vec::<Value>::new());
        // The view wins, and once it shows the work the memory is dropped.
        let shown = json!({"metadata": {"namespace": "c1", "name": "a", "uid": "x"}});
        assert_eq!(r.read("id-a", Some(shown.clone())), Some(shown));
        assert_eq!(r.read("id-a", None), None);

        r.published("id-b", &work("c1", "b"));
        tokio::time::advance(TTL).await;
        assert_eq!(r.read("id-b", None), None, "taken as gone after the TTL");
    }

    #[tokio::test(start_paused = true)]
    async fn memory_is_bounded() {
        let r = Recent::default();
        for i in 0..CAPACITY + 10 {
            r.published(&format!("id-{i}"), &work("c", &i.to_string()));
            tokio::time::advance(Duration::from_millis(1)).await;
        }
        assert_eq!(r.works.lock().unwrap().len(), CAPACITY);
        assert_eq!(r.read("id-0", None), None, "the oldest is forgotten first");
        assert!(r.read(&format!("id-{}", CAPACITY + 9), None).is_some());
    }
}
