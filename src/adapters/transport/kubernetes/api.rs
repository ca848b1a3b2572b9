//! Raw calls to the Kubernetes API through a `kube::Client`: a client-side rate limit
//! (`qps`/`burst`), a per-attempt timeout, and bounded retries of transient failures (timeouts,
//! 429 with `Retry-After`, 5xx, connection errors). Every other status is final and keeps the
//! API server's `Status` message.

use bytes::Bytes;
use kube::client::Body;
use serde_json::Value;
use std::time::{Duration, Instant};

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
            retry_after: None,
            attempts: 1,
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
    pub retry_after: Option<Duration>,
    pub attempts: u32,
}

impl Failure {
    pub fn is_not_found(&self) -> bool {
        self.code == Some(404)
    }

    /// A 404 for the resource type itself rather than for an object (a CRD that went away).
    pub fn is_missing_resource_type(&self) -> bool {
        self.is_not_found() && self.message == "the server could not find the requested resource"
    }

    /// Transient: worth another attempt.
    pub fn retryable(&self) -> bool {
        match self.code {
            None => true,
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
                    retry_after,
                    attempts: 1,
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
                    retry_after: retry_after_header,
                    attempts: 1,
                }
            }
        }
    }

    fn no_response(reason: &str, message: String) -> Failure {
        Failure {
            code: None,
            reason: reason.into(),
            message,
            retry_after: None,
            attempts: 1,
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

/// Retry and timeout settings for [`ApiClient`].
#[derive(Debug, Clone)]
pub struct CallPolicy {
    /// One attempt's timeout.
    pub timeout: Duration,
    /// Attempts in all (at least 1).
    pub attempts: u32,
    /// First backoff delay; doubles per attempt up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured.
    pub max_retry_after: Duration,
}

impl Default for CallPolicy {
    fn default() -> Self {
        CallPolicy {
            timeout: Duration::from_secs(30),
            attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl CallPolicy {
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
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
        let attempts = self.policy.attempts.max(1);
        let mut attempt = 0;
        let mut unanswered = 0;
        loop {
            attempt += 1;
            self.limiter.acquire().await;
            let mut req = http::Request::new(Body::from(body.clone()));
            *req.method_mut() = parts.method.clone();
            *req.uri_mut() = parts.uri.clone();
            *req.headers_mut() = parts.headers.clone();
            let failure = match tokio::time::timeout(self.policy.timeout, self.once(req)).await {
                Err(_) => Failure::no_response(
                    "Timeout",
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
            if failure.code.is_none() {
                unanswered += 1;
            }
            if !failure.retryable() || attempt >= attempts {
                return Err(Failure {
                    attempts: attempt,
                    ..failure
                });
            }
            let delay = failure
                .retry_after
                .map(|d| d.min(self.policy.max_retry_after))
                .unwrap_or_else(|| self.policy.backoff(attempt));
            tracing::warn!(
                attempt,
                max_attempts = attempts,
                delay_ms = delay.as_millis() as u64,
                method = %parts.method,
                path = %parts.uri,
                "Kubernetes API request failed, retrying: {}",
                failure.message
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn once(&self, request: http::Request<Body>) -> Result<Reply, Failure> {
        let response = self.client.send(request).await.map_err(|e| {
            Failure::no_response("ConnectionFailed", crate::adapters::error_chain(&e))
        })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.into_body().collect_bytes().await.map_err(|e| {
            Failure::no_response("ConnectionFailed", crate::adapters::error_chain(&e))
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
            retry_after: None,
            attempts: 1,
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
        assert!(Failure::no_response("ConnectionFailed", "refused".into()).retryable());
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = CallPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_millis(200));
        assert_eq!(p.backoff(2), Duration::from_millis(400));
        assert_eq!(p.backoff(10), Duration::from_secs(5));
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
