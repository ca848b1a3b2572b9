//! The stale-event skip: what the last completed reconcile of each resource was, so an event
//! it already covered is acknowledged without running again.
//!
//! HyperFleet event ids are UUIDv7: their first 48 bits are the publish time in milliseconds.
//! An event is stale when a reconcile of its resource that ran an event published no earlier
//! than it *started after it was published*: that reconcile read the HyperFleet API after the
//! change the event announces and applied what it read. Both conditions are needed: "published
//! before the last reconcile started" alone would also skip an event newer than the one that
//! reconcile ran (delivered late, but carrying newer data for a config that reads it from the
//! event), and that would leave the object behind until the next trigger.
//!
//! Events whose id is not a UUIDv7 are never skipped and do not count as a reconcile's event
//! (a reconcile of one still records its start, with no event time, and skips nothing).
//! Memory is bounded: at most [`RECONCILES_KEPT`] resources are remembered; past that the
//! older half (by reconcile start) is forgotten, which only makes fewer events stale.

use std::collections::HashMap;
use std::sync::Mutex;

/// Resources whose last completed reconcile is remembered.
pub const RECONCILES_KEPT: usize = 100_000;

/// The last completed reconcile of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reconcile {
    /// When it started (Unix milliseconds, the adapter's clock).
    pub started_ms: i64,
    /// When the event it ran was published (its UUIDv7 time), if its id was a UUIDv7.
    pub event_ms: Option<i64>,
}

/// The last completed reconcile per resource key.
pub(super) struct Reconciles {
    kept: usize,
    last: Mutex<HashMap<String, Reconcile>>,
}

impl Reconciles {
    /// Remembers at most `kept` resources (at least 2).
    pub(super) fn new(kept: usize) -> Self {
        Reconciles {
            kept: kept.max(2),
            last: Mutex::new(HashMap::new()),
        }
    }

    fn last(&self) -> std::sync::MutexGuard<'_, HashMap<String, Reconcile>> {
        self.last.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A reconcile of `key` that started at `started_ms` completed.
    pub(super) fn completed(&self, key: &str, reconcile: Reconcile) {
        let mut last = self.last();
        last.insert(key.to_string(), reconcile);
        if last.len() > self.kept {
            // Keep the newer half, by start (ties broken by key, so equal starts cannot empty
            // the map or keep it over the bound); the one just recorded is among them.
            let mut by_start: Vec<(i64, String)> = last
                .iter()
                .filter(|(k, _)| k.as_str() != key)
                .map(|(k, r)| (r.started_ms, k.clone()))
                .collect();
            by_start.sort_unstable();
            let forget = by_start.len() - (self.kept / 2).saturating_sub(1);
            for (_, k) in by_start.into_iter().take(forget) {
                last.remove(&k);
            }
        }
    }

    /// The reconcile that makes an event of `key` published at `event_ms` stale, if one does.
    pub(super) fn covering(&self, key: &str, event_ms: i64) -> Option<Reconcile> {
        let last = *self.last().get(key)?;
        let ran_newer = last.event_ms.is_some_and(|ran| event_ms <= ran);
        (ran_newer && event_ms < last.started_ms).then_some(last)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.last().len()
    }
}

/// The publish time (Unix milliseconds) of a UUIDv7 id in its canonical text form; `None` for
/// anything else.
pub fn uuid_v7_millis(id: &str) -> Option<i64> {
    let b = id.as_bytes();
    let canonical = b.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && b.iter()
            .enumerate()
            .all(|(i, c)| [8, 13, 18, 23].contains(&i) || c.is_ascii_hexdigit());
    // Version 7, RFC 9562 variant (10xx).
    if !canonical || b[14] != b'7' || !matches!(b[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B') {
        return None;
    }
    let hex = format!("{}{}", &id[0..8], &id[9..13]);
    i64::from_str_radix(&hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v7_times() {
        // 0x017F22E279B0 = 1645557742000 ms (RFC 9562's example).
        assert_eq!(
            uuid_v7_millis("017f22e2-79b0-7cc3-98c4-dc0c0c07398f"),
            Some(1_645_557_742_000)
        );
        assert_eq!(
            uuid_v7_millis("017F22E2-79B0-7CC3-B8C4-DC0C0C07398F"),
            Some(1_645_557_742_000)
        );
        for not_v7 in [
            "6ba7b810-9dad-11d1-80b4-00c04fd430c8", // v1
            "f47ac10b-58cc-4372-a567-0e02b2c3d479", // v4
            "017f22e2-79b0-7cc3-c8c4-dc0c0c07398f", // wrong variant
            "017f22e279b07cc398c4dc0c0c07398f",     // not canonical
            "017f22e2-79b0-7cc3-98c4-dc0c0c07398",  // short
            "017f22e2-79b0-7cc3-98c4-dc0c0c07398g", // not hex
            "evt-1",
            "",
        ] {
            assert_eq!(uuid_v7_millis(not_v7), None, "{not_v7}");
        }
    }

    #[test]
    fn an_event_is_stale_only_when_a_later_started_reconcile_ran_one_as_new() {
        let r = Reconciles::new(10);
        assert_eq!(r.covering("c1", 100), None, "no reconcile yet");
        let done = Reconcile {
            started_ms: 200,
            event_ms: Some(150),
        };
        r.completed("c1", done);
        assert_eq!(r.covering("c1", 100), Some(done), "older than both");
        assert_eq!(r.covering("c1", 150), Some(done), "the same event again");
        assert_eq!(
            r.covering("c1", 160),
            None,
            "newer than the event that ran, though published before the reconcile started"
        );
        assert_eq!(r.covering("c1", 250), None, "published after it started");
        assert_eq!(r.covering("c2", 100), None, "another resource");
        r.completed(
            "c3",
            Reconcile {
                started_ms: 200,
                event_ms: None,
            },
        );
        assert_eq!(r.covering("c3", 1), None, "its event had no time");
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_are_forgotten() {
        let r = Reconciles::new(10);
        for i in 0..1000 {
            r.completed(
                &format!("c{i}"),
                Reconcile {
                    started_ms: i,
                    event_ms: Some(i),
                },
            );
            assert!(r.len() <= 10);
        }
        assert!(r.covering("c999", 0).is_some(), "the newest is kept");
        assert!(r.covering("c0", 0).is_none(), "the oldest is gone");
        let same = Reconciles::new(10);
        for i in 0..100 {
            same.completed(
                &format!("c{i}"),
                Reconcile {
                    started_ms: 5,
                    event_ms: Some(1),
                },
            );
            assert!(same.len() <= 10, "equal starts are bounded too");
            assert!(same.len() >= 5.min(i + 1), "and never emptied");
            assert!(
                same.covering(&format!("c{i}"), 1).is_some(),
                "the newest is kept"
            );
        }
    }
}
