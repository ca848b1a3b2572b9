//! The one retry policy every retrying loop uses: the HyperFleet API client, the Kubernetes
//! client, Maestro's Publish and subscription, and the RabbitMQ and Pub/Sub reconnects.
//!
//! A [`Policy`] says how long to wait after each failed attempt (exponential, linear or
//! constant growth from a base delay, capped, with jitter so replicas that lost the same broker
//! do not come back in lock-step) and how many attempts there are; a [`Schedule`] walks it for
//! one operation. [`Schedule::wait`] logs every retry as one line, `Retrying in <delay>...` (the
//! Go adapter's text) with the same fields everywhere (`retry_of`, `attempt`, `max_attempts`,
//! `delay_ms`, `error`), and sleeps on `tokio::time`, so tests run whole schedules under paused
//! time. The caller logs the failure itself in its own words (the runbook's texts).

use std::fmt::Display;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How the delay grows with the attempt number `n` (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    /// `base × 2^(n−1)`.
    Exponential,
    /// `base × n`.
    Linear,
    /// `base`.
    Constant,
}

/// An unknown backoff name (the Go adapter's text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid retry backoff strategy {0:?} (supported: exponential, linear, constant)")]
pub struct UnknownBackoff(pub String);

impl Backoff {
    /// The names [`Backoff::parse`] accepts (the config schema lists them).
    pub const NAMES: &[&str] = &["exponential", "linear", "constant"];

    /// `exponential`, `linear` or `constant`.
    pub fn parse(s: &str) -> Result<Self, UnknownBackoff> {
        match s {
            "exponential" => Ok(Backoff::Exponential),
            "linear" => Ok(Backoff::Linear),
            "constant" => Ok(Backoff::Constant),
            other => Err(UnknownBackoff(other.to_string())),
        }
    }

    /// The delay after attempt `n` (1-based), before jitter and cap.
    pub fn delay(self, base: Duration, n: u32) -> Duration {
        match self {
            Backoff::Exponential => base.saturating_mul(2u32.saturating_pow(n.saturating_sub(1))),
            Backoff::Linear => base.saturating_mul(n),
            Backoff::Constant => base,
        }
    }
}

/// How a delay is spread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Jitter {
    /// Exactly the backoff's delay.
    None,
    /// `delay ± delay × fraction`, uniformly (the Go adapter's API client: ±10%).
    Spread(f64),
    /// Uniformly in `[0, delay]` ("full jitter"): replicas that failed together spread over
    /// the whole delay.
    Full,
}

/// When to retry and how long to wait. Build one per caller; see the constructors of each
/// adapter for the settings it keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub backoff: Backoff,
    /// The first delay.
    pub base: Duration,
    /// No delay is longer (the cap applies after jitter, as in the Go adapter).
    pub max: Duration,
    pub jitter: Jitter,
    /// Attempts in all, the first included; `None` retries until the caller stops.
    pub attempts: Option<u32>,
    /// The longest `Retry-After` honoured; `None` ignores `Retry-After`.
    pub max_retry_after: Option<Duration>,
}

impl Policy {
    /// Doubling from `base` to `max` with full jitter, until the caller stops, `Retry-After`
    /// ignored: the shape of every retry but the API client's (whose settings are the Go
    /// adapter's). Callers bound it with [`Policy::attempts`] or change fields by struct update.
    pub const fn doubling(base: Duration, max: Duration) -> Policy {
        Policy {
            backoff: Backoff::Exponential,
            base,
            max,
            jitter: Jitter::Full,
            attempts: None,
            max_retry_after: None,
        }
    }

    /// The same policy with `n` attempts in all (at least 1).
    pub const fn attempts(self, n: u32) -> Policy {
        Policy {
            attempts: Some(if n == 0 { 1 } else { n }),
            ..self
        }
    }

    /// The bound the wait after failed attempt `n` is drawn under: the backoff, capped.
    pub fn cap(&self, n: u32) -> Duration {
        self.backoff.delay(self.base, n).min(self.max)
    }

    /// Starts the schedule of one operation; `what` names it in the retry log lines.
    pub fn schedule(&self, what: &'static str) -> Schedule {
        Schedule {
            policy: self.clone(),
            what,
            attempt: 1,
        }
    }

    /// The wait after failed attempt `n` (1-based): the server's `Retry-After` when there is one
    /// and the policy honours it (capped at `max_retry_after`), else the backoff with jitter,
    /// capped at `max`.
    pub fn delay(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        if let (Some(after), Some(cap)) = (retry_after, self.max_retry_after) {
            return after.min(cap);
        }
        let secs = self.cap(n).as_secs_f64();
        let jittered = match self.jitter {
            Jitter::None => secs,
            Jitter::Spread(f) => secs + secs * f * (2.0 * uniform() - 1.0),
            Jitter::Full => secs * uniform(),
        };
        Duration::from_secs_f64(jittered.max(0.0)).min(self.max)
    }
}

/// The attempts of one operation under a [`Policy`].
#[derive(Debug, Clone)]
pub struct Schedule {
    policy: Policy,
    what: &'static str,
    attempt: u32,
}

impl Schedule {
    /// The attempt about to run or running (1-based).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Whether the running attempt is the last one.
    pub fn is_last(&self) -> bool {
        self.policy.attempts.is_some_and(|max| self.attempt >= max)
    }

    /// The attempt after a success: the next failure waits the first delay again.
    pub fn reset(&mut self) {
        self.attempt = 1;
    }

    /// After the running attempt failed with `error`: `None` when it was the last one; else logs
    /// the retry, sleeps and returns the delay it waited.
    pub async fn wait<E: Display + ?Sized>(
        &mut self,
        error: &E,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let delay = self.next(error, retry_after)?;
        tokio::time::sleep(delay).await;
        Some(delay)
    }

    /// [`Schedule::wait`] without the sleep, for loops that race the wait with a stop signal.
    pub fn next<E: Display + ?Sized>(
        &mut self,
        error: &E,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if self.is_last() {
            return None;
        }
        let delay = self.policy.delay(self.attempt, retry_after);
        // The Go adapter's text for its API client's retries, for every retry here.
        tracing::info!(
            retry_of = self.what,
            attempt = self.attempt,
            max_attempts = self.policy.attempts.unwrap_or(0),
            delay_ms = delay.as_millis() as u64,
            error = %error,
            "Retrying in {}...",
            crate::golang::GoDuration(delay.as_nanos() as i64),
        );
        self.attempt = self.attempt.saturating_add(1);
        Some(delay)
    }
}

/// A uniform number in [0, 1): xorshift over a process-wide state seeded from the clock and
/// the address space (jitter needs spread, not secrecy).
fn uniform() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        let stack = &x as *const u64 as u64;
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        x = (stack ^ clock ^ u64::from(std::process::id())) | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Test support: fails `n` times under `policy` and returns each wait as the clock measured it
/// (run under paused time, where waits take no real time), with the cap each was drawn under.
#[cfg(test)]
pub(crate) async fn measured_waits(policy: &Policy, n: usize) -> Vec<(Duration, Duration)> {
    let mut schedule = policy.schedule("test");
    let mut waits = Vec::new();
    for attempt in 1..=n as u32 {
        let cap = policy.cap(attempt);
        let start = tokio::time::Instant::now();
        if schedule.wait(&"failed", None).await.is_none() {
            break;
        }
        waits.push((start.elapsed(), cap));
    }
    waits
}

/// Test support: every wait is within its cap and, over many, the waits spread (jitter).
#[cfg(test)]
pub(crate) fn assert_full_jitter(waits: &[(Duration, Duration)]) {
    assert!(
        waits.iter().all(|(w, cap)| w <= cap),
        "over the cap: {waits:?}"
    );
    let distinct: std::collections::BTreeSet<u128> =
        waits.iter().map(|(w, _)| w.as_micros()).collect();
    assert!(distinct.len() > waits.len() / 2, "no jitter: {waits:?}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    #[test]
    fn every_backoff_name_parses_and_nothing_else_does() {
        for name in Backoff::NAMES {
            assert!(Backoff::parse(name).is_ok(), "{name}");
        }
        for other in ["", "Exponential", "fibonacci"] {
            assert!(Backoff::parse(other).is_err(), "{other}");
        }
    }

    impl Policy {
        fn without_retry_after(self) -> Policy {
            Policy {
                max_retry_after: None,
                ..self
            }
        }
    }

    fn policy(backoff: Backoff, jitter: Jitter, attempts: Option<u32>) -> Policy {
        Policy {
            backoff,
            base: Duration::from_secs(1),
            max: Duration::from_secs(10),
            jitter,
            attempts,
            max_retry_after: Some(Duration::from_secs(30)),
        }
    }

    #[test]
    fn backoffs_grow_as_named_and_are_capped() {
        let secs = |b, n| policy(b, Jitter::None, None).delay(n, None).as_secs();
        assert_eq!(
            (1..=6)
                .map(|n| secs(Backoff::Exponential, n))
                .collect::<Vec<_>>(),
            [1, 2, 4, 8, 10, 10]
        );
        assert_eq!(
            (1..=3)
                .map(|n| secs(Backoff::Linear, n))
                .collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(
            (1..=3)
                .map(|n| secs(Backoff::Constant, n))
                .collect::<Vec<_>>(),
            [1, 1, 1]
        );
        assert_eq!(secs(Backoff::Exponential, u32::MAX), 10, "no overflow");
        assert_eq!(
            Backoff::parse("bogus").unwrap_err().to_string(),
            "invalid retry backoff strategy \"bogus\" (supported: exponential, linear, constant)"
        );
    }

    #[test]
    fn jitter_stays_in_its_band_and_spreads() {
        let spread = policy(Backoff::Constant, Jitter::Spread(0.1), None);
        let full = policy(Backoff::Constant, Jitter::Full, None);
        let (mut s, mut h) = (Vec::new(), Vec::new());
        for _ in 0..1000 {
            s.push(spread.delay(1, None).as_secs_f64());
            h.push(full.delay(1, None).as_secs_f64());
        }
        assert!(s.iter().all(|d| (0.9..=1.1).contains(d)), "{s:?}");
        assert!(h.iter().all(|d| (0.0..=1.0).contains(d)), "{h:?}");
        for v in [&s, &h] {
            let distinct: std::collections::BTreeSet<u64> =
                v.iter().map(|d| (d * 1000.0) as u64).collect();
            assert!(distinct.len() > 50, "jitter spreads the delays");
        }
        // The cap applies after jitter.
        let capped = policy(Backoff::Exponential, Jitter::Spread(0.1), None);
        assert!((0..100).all(|_| capped.delay(8, None) <= Duration::from_secs(10)));
    }

    #[test]
    fn retry_after_is_honoured_up_to_its_cap_only_where_the_policy_says() {
        let p = policy(Backoff::Constant, Jitter::None, None);
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(90))),
            Duration::from_secs(30)
        );
        let ignoring = Policy {
            max_retry_after: None,
            ..p
        };
        assert_eq!(
            ignoring.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_schedule_waits_between_attempts_and_stops_after_the_last() {
        let p = policy(Backoff::Exponential, Jitter::None, Some(4));
        let mut s = p.schedule("test call");
        let start = Instant::now();
        let mut waits = Vec::new();
        while let Some(d) = s.wait(&"refused", None).await {
            waits.push(d.as_secs());
        }
        assert_eq!(waits, [1, 2, 4]);
        assert_eq!(start.elapsed(), Duration::from_secs(7));
        assert_eq!(s.attempt(), 4);
        assert!(s.is_last());
        s.reset();
        assert_eq!(s.wait(&"again", None).await, Some(Duration::from_secs(1)));
    }

    #[test]
    fn doubling_is_exponential_full_jitter_and_attempts_are_at_least_one() {
        let p = Policy::doubling(Duration::from_secs(1), Duration::from_secs(10));
        assert_eq!(
            p,
            policy(Backoff::Exponential, Jitter::Full, None).without_retry_after()
        );
        assert_eq!(p.clone().attempts(0).attempts, Some(1));
        assert_eq!(p.attempts(4).attempts, Some(4));
    }

    #[tokio::test(start_paused = true)]
    async fn measured_waits_stay_under_their_caps_and_spread() {
        let p = policy(Backoff::Exponential, Jitter::Full, None);
        let waits = measured_waits(&p, 30).await;
        assert_eq!(waits.len(), 30);
        assert_full_jitter(&waits);
        let caps: Vec<u64> = waits.iter().take(5).map(|(_, c)| c.as_secs()).collect();
        assert_eq!(caps, [1, 2, 4, 8, 10]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unbounded_schedule_keeps_going_at_the_cap() {
        let p = policy(Backoff::Exponential, Jitter::None, None);
        let mut s = p.schedule("reconnect");
        for _ in 0..20 {
            assert!(s.wait(&"down", None).await.is_some());
        }
        assert_eq!(s.next(&"down", None), Some(Duration::from_secs(10)));
    }
}
