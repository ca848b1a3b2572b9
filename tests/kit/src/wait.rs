//! Waiting for an event: poll a condition on tokio's clock until it holds or a timeout passes.
//! A timeout only fails the test; no test asserts how long something took, and none sleeps
//! before asserting that something did not happen.

use std::time::Duration;

/// How often a condition is checked. Short enough that a test waits little past the event;
/// under paused time each poll advances the clock by this much when the runtime is idle.
const POLL: Duration = Duration::from_millis(10);

/// Whether `cond` holds within `timeout` (checked at once, then every 10 ms on `tokio::time`,
/// so it also works under paused time).
pub async fn eventually(timeout: Duration, mut cond: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if cond().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until `cond` holds; panics naming `what` when it does not within `timeout`.
pub async fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    wait_for_async(what, timeout, async || cond()).await;
}

/// [`wait_for`] with an asynchronous condition (an HTTP probe, a queue depth).
pub async fn wait_for_async(what: &str, timeout: Duration, cond: impl AsyncFnMut() -> bool) {
    if !eventually(timeout, cond).await {
        panic!("timed out after {timeout:?} waiting for {what}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(start_paused = true)]
    async fn returns_once_the_condition_holds() {
        let n = AtomicUsize::new(0);
        wait_for("the third check", Duration::from_secs(1), || {
            n.fetch_add(1, Ordering::SeqCst) == 2
        })
        .await;
        assert_eq!(n.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn sees_a_change_made_by_another_task() {
        let flag = Arc::new(AtomicUsize::new(0));
        let f = flag.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            f.store(1, Ordering::SeqCst);
        });
        wait_for("the flag", Duration::from_secs(60), || {
            flag.load(Ordering::SeqCst) == 1
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_condition_that_never_holds_is_reported_false() {
        assert!(!eventually(Duration::from_secs(3), async || false).await);
    }

    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "timed out after 2s waiting for the impossible")]
    async fn a_timeout_fails_the_test_with_what_it_waited_for() {
        wait_for("the impossible", Duration::from_secs(2), || false).await;
    }
}
