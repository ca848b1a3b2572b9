//! Raw calls to the Kubernetes API through a `kube::Client`: a client-side rate limit
//! (`qps`/`burst`), a per-attempt timeout, and bounded retries of transient failures (timeouts,
//! 429 with `Retry-After`, 5xx, connection errors). Every other status is final and keeps the
//! API server's `Status` message.

use crate::ports::ErrorKind;
use crate::retry::Policy;
use bytes::Bytes;
use kube::client::Body;
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

/// A response with a status below 400.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
    /// Earlier attempts of this call that got no answer (timed out or the connection closed):
    /// the server may have carried them out.
    pub unanswered: u32,
}

impl Reply {
    pub fn json(&self) -> Result<Value, Failure> {
        serde_json::from_slice(&self.body).map_err(|e| Failure {
            code: None,
            reason: "InvalidResponse".into(),
            message: format!("invalid JSON in the API server's response: {e}"),
            unanswered: None,
            object: None,
            retry_after: None,
            attempts: 1,
            lost_answers: 0,
        })
    }
}

/// A request that failed: an error status (with the `metav1.Status` it carried) or no
/// response at all (`code` is `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub code: Option<u16>,
    /// The `Status` reason (`NotFound`, `Forbidden`, `TooManyRequests`, ...), or a short cause
    /// for failures without a response (`Timeout`, `ConnectionFailed`).
    pub reason: String,
    pub message: String,
    /// Why there was no response, when there was none.
    pub unanswered: Option<Unanswered>,
    /// `details.name` of the `Status`: the object a 404 is about. A 404 without one is about
    /// the path itself (a resource type the server does not serve).
    pub object: Option<String>,
    pub retry_after: Option<Duration>,
    pub attempts: u32,
    /// Earlier attempts of this call that got no answer (the server may have carried them
    /// out).
    pub lost_answers: u32,
}

/// Why a request got no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unanswered {
    /// The attempt's timeout passed.
    Timeout,
    /// The connection could not be made or broke.
    Connection,
}

impl Failure {
    pub fn is_not_found(&self) -> bool {
        self.code == Some(404)
    }

    /// The classification transports act on.
    pub fn kind(&self) -> ErrorKind {
        match (self.code, self.unanswered) {
            (None, Some(Unanswered::Timeout)) => ErrorKind::Timeout,
            (None, Some(Unanswered::Connection)) => ErrorKind::Unavailable,
            (None, None) => ErrorKind::Failed,
            // By the status, as every HTTP client of the adapter classifies it; a status
            // reason that marks the failure transient (`ServerTimeout` on a 400) wins.
            (Some(code), _) => match ErrorKind::of_http_status(code) {
                ErrorKind::Invalid | ErrorKind::Failed if self.retryable() => {
                    ErrorKind::Unavailable
                }
                kind => kind,
            },
        }
    }

    /// A write refused because another writer got there first: a 409 `Conflict` (a failed
    /// `resourceVersion` or `uid` precondition) or `AlreadyExists` (a create of an object that
    /// exists by then).
    pub fn is_write_race(&self) -> bool {
        self.code == Some(409) && matches!(self.reason.as_str(), "Conflict" | "AlreadyExists")
    }

    /// A 404 for the resource type itself rather than for an object (a CRD that went away).
    pub fn is_missing_resource_type(&self) -> bool {
        self.is_not_found() && self.reason == "NotFound" && self.object.is_none()
    }

    /// Transient: worth another attempt.
    pub fn retryable(&self) -> bool {
        match self.code {
            None => self.unanswered.is_some(),
            Some(code) => {
                matches!(code, 429 | 500 | 502 | 503 | 504)
                    || matches!(
                        self.reason.as_str(),
                        "Timeout"
                            | "ServerTimeout"
                            | "ServiceUnavailable"
                            | "InternalError"
                            | "TooManyRequests"
                    )
            }
        }
    }

    fn from_status(code: u16, retry_after_header: Option<Duration>, body: &[u8]) -> Failure {
        let parsed: Option<Value> = serde_json::from_slice(body)
            .ok()
            .filter(|v: &Value| v.get("kind").and_then(Value::as_str) == Some("Status"));
        let text = |v: &Value, k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match parsed {
            Some(status) => {
                let retry_after = status
                    .pointer("/details/retryAfterSeconds")
                    .and_then(Value::as_u64)
                    .map(Duration::from_secs)
                    .or(retry_after_header);
                Failure {
                    code: Some(code),
                    reason: text(&status, "reason"),
                    message: text(&status, "message"),
                    unanswered: None,
                    object: status
                        .pointer("/details/name")
                        .and_then(Value::as_str)
                        .filter(|n| !n.is_empty())
                        .map(str::to_string),
                    retry_after,
                    attempts: 1,
                    lost_answers: 0,
                }
            }
            None => {
                // A proxy or load balancer in front of the API server: keep what it said.
                let body = String::from_utf8_lossy(body);
                let mut message = body.trim().chars().take(300).collect::<String>();
                if message.is_empty() {
                    message = http::StatusCode::from_u16(code)
                        .ok()
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("error")
                        .to_string();
                }
                Failure {
                    code: Some(code),
                    reason: String::new(),
                    message: format!("the server responded with HTTP {code}: {message}"),
                    unanswered: None,
                    object: None,
                    retry_after: retry_after_header,
                    attempts: 1,
                    lost_answers: 0,
                }
            }
        }
    }

    fn no_response(why: Unanswered, message: String) -> Failure {
        Failure {
            code: None,
            reason: match why {
                Unanswered::Timeout => "Timeout",
                Unanswered::Connection => "ConnectionFailed",
            }
            .into(),
            message,
            unanswered: Some(why),
            object: None,
            retry_after: None,
            attempts: 1,
            lost_answers: 0,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

/// Timeout and retry settings for [`ApiClient`].
#[derive(Debug, Clone, PartialEq)]
pub struct CallPolicy {
    /// One attempt's timeout.
    pub timeout: Duration,
    /// Attempts, backoff and the longest `Retry-After` honoured.
    pub retry: Policy,
}

impl CallPolicy {
    /// 30 s per attempt; 3 attempts; 200 ms doubling to 5 s with full jitter; `Retry-After`
    /// honoured up to 30 s.
    pub fn new(timeout: Duration, attempts: u32) -> Self {
        CallPolicy {
            timeout,
            retry: Policy {
                max_retry_after: Some(Duration::from_secs(30)),
                ..Policy::doubling(Duration::from_millis(200), Duration::from_secs(5))
                    .attempts(attempts)
            },
        }
    }
}

impl Default for CallPolicy {
    fn default() -> Self {
        CallPolicy::new(Duration::from_secs(30), 3)
    }
}

/// A token bucket: `qps` tokens a second, up to `burst` stored. Callers reserve a token and
/// sleep until it is theirs, so waiting callers are served in order.
#[derive(Debug)]
pub struct RateLimiter {
    qps: f64,
    burst: f64,
    state: std::sync::Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// `qps <= 0` disables the limit.
    pub fn new(qps: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        RateLimiter {
            qps,
            burst,
            state: std::sync::Mutex::new((burst, Instant::now())),
        }
    }

    /// How long the caller must wait for its token (the token is taken now).
    pub fn reserve(&self) -> Duration {
        if self.qps <= 0.0 {
            return Duration::ZERO;
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (tokens, last) = *state;
        let refilled = (tokens + now.duration_since(last).as_secs_f64() * self.qps).min(self.burst);
        let left = refilled - 1.0;
        *state = (left, now);
        if left >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-left / self.qps)
        }
    }

    pub async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// A `kube::Client` with the rate limit and retry policy.
pub struct ApiClient {
    client: kube::Client,
    limiter: RateLimiter,
    policy: CallPolicy,
}

impl ApiClient {
    pub fn new(client: kube::Client, limiter: RateLimiter, policy: CallPolicy) -> Self {
        ApiClient {
            client,
            limiter,
            policy,
        }
    }

    /// Sends `request`, retrying transient failures. Statuses of 400 and above are failures.
    pub async fn call(&self, request: http::Request<Vec<u8>>) -> Result<Reply, Failure> {
        let (parts, body) = request.into_parts();
        let mut schedule = self.policy.retry.schedule("Kubernetes API request");
        let mut unanswered = 0;
        loop {
            self.limiter.acquire().await;
            let mut req = http::Request::new(Body::from(body.clone()));
            *req.method_mut() = parts.method.clone();
            *req.uri_mut() = parts.uri.clone();
            *req.headers_mut() = parts.headers.clone();
            let failure = match tokio::time::timeout(self.policy.timeout, self.once(req)).await {
                Err(_) => Failure::no_response(
                    Unanswered::Timeout,
                    format!(
                        "the request timed out after {:?} ({} {})",
                        self.policy.timeout, parts.method, parts.uri
                    ),
                ),
                Ok(Ok(reply)) => {
                    return Ok(Reply {
                        unanswered,
                        ..reply
                    });
                }
                Ok(Err(f)) => f,
            };
            let lost_answers = unanswered;
            if failure.code.is_none() {
                unanswered += 1;
            }
            let attempt = schedule.attempt();
            if !failure.retryable() || schedule.is_last() {
                return Err(Failure {
                    attempts: attempt,
                    lost_answers,
                    ..failure
                });
            }
            tracing::warn!(
                method = %parts.method,
                path = %parts.uri,
                "Kubernetes API request failed (attempt {attempt}): {}",
                failure.message
            );
            schedule.wait(&failure.message, failure.retry_after).await;
        }
    }

    async fn once(&self, request: http::Request<Body>) -> Result<Reply, Failure> {
        let response = self.client.send(request).await.map_err(|e| {
            Failure::no_response(Unanswered::Connection, crate::adapters::error_chain(&e))
        })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.into_body().collect_bytes().await.map_err(|e| {
            Failure::no_response(Unanswered::Connection, crate::adapters::error_chain(&e))
        })?;
        if status >= 400 {
            return Err(Failure::from_status(status, retry_after, &body));
        }
        Ok(Reply {
            status,
            body,
            unanswered: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bodies_keep_the_servers_message_and_retry_after() {
        let body = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too many requests, please try again later","reason":"TooManyRequests","details":{"retryAfterSeconds":2},"code":429}"#;
        let f = Failure::from_status(429, None, body);
        assert_eq!(f.reason, "TooManyRequests");
        assert_eq!(f.retry_after, Some(Duration::from_secs(2)));
        assert!(f.retryable());
        let f = Failure::from_status(
            503,
            Some(Duration::from_secs(7)),
            b"<html>upstream down</html>",
        );
        assert_eq!(
            f.message,
            "the server responded with HTTP 503: <html>upstream down</html>"
        );
        assert_eq!(f.retry_after, Some(Duration::from_secs(7)));
        assert!(f.retryable());
        let f = Failure::from_status(502, None, b"");
        assert_eq!(f.message, "the server responded with HTTP 502: Bad Gateway");
    }

    #[test]
    fn classification_follows_the_runbook() {
        let f = |code: u16, reason: &str| Failure {
            code: Some(code),
            reason: reason.into(),
            message: String::new(),
            unanswered: None,
            object: None,
            retry_after: None,
            attempts: 1,
            lost_answers: 0,
        };
        for (code, reason) in [
            (429, "TooManyRequests"),
            (500, "InternalError"),
            (503, "ServiceUnavailable"),
            (504, "Timeout"),
            (500, "ServerTimeout"),
        ] {
            assert!(f(code, reason).retryable(), "{code} {reason}");
        }
        for (code, reason) in [
            (400, "BadRequest"),
            (401, "Unauthorized"),
            (403, "Forbidden"),
            (404, "NotFound"),
            (405, "MethodNotAllowed"),
            (406, "NotAcceptable"),
            (409, "Conflict"),
            (410, "Gone"),
            (422, "Invalid"),
        ] {
            assert!(!f(code, reason).retryable(), "{code} {reason}");
        }
        assert!(Failure::no_response(Unanswered::Connection, "refused".into()).retryable());
    }

    #[test]
    fn backoff_doubles_to_its_cap_with_full_jitter() {
        let p = CallPolicy::default().retry;
        for (n, cap) in [(1, 200), (2, 400), (3, 800), (10, 5000)] {
            let delays: Vec<Duration> = (0..200).map(|_| p.delay(n, None)).collect();
            assert!(
                delays.iter().all(|d| *d <= Duration::from_millis(cap)),
                "{n}: {delays:?}"
            );
            assert!(
                delays
                    .iter()
                    .any(|d| *d > Duration::from_millis(cap * 3 / 4))
                    && delays.iter().any(|d| *d < Duration::from_millis(cap / 4)),
                "spread over the whole delay"
            );
        }
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(90))),
            Duration::from_secs(30)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_retry_schedule_doubles_to_five_seconds_with_full_jitter() {
        let mut policy = CallPolicy::default().retry;
        policy.attempts = None;
        let waits = crate::retry::measured_waits(&policy, 40).await;
        crate::retry::assert_full_jitter(&waits);
        let caps: Vec<u64> = waits
            .iter()
            .take(6)
            .map(|(_, c)| c.as_millis() as u64)
            .collect();
        assert_eq!(caps, [200, 400, 800, 1600, 3200, 5000]);
        let bounded = CallPolicy::default().retry;
        assert_eq!(
            crate::retry::measured_waits(&bounded, 10).await.len(),
            2,
            "3 attempts"
        );
    }

    #[test]
    fn rate_limiter_spends_the_burst_then_paces() {
        let l = RateLimiter::new(10.0, 3);
        for _ in 0..3 {
            assert_eq!(l.reserve(), Duration::ZERO);
        }
        let fourth = l.reserve();
        assert!(
            fourth > Duration::from_millis(90) && fourth <= Duration::from_millis(100),
            "{fourth:?}"
        );
        let fifth = l.reserve();
        assert!(fifth > Duration::from_millis(190), "{fifth:?}");
        assert_eq!(RateLimiter::new(0.0, 0).reserve(), Duration::ZERO);
    }
}
