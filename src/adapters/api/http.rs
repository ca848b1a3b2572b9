//! The HyperFleet API over HTTP: URLs joined to the base URL, default and per-call headers, a
//! bearer token read from a file (cached for `token_cache_ttl`), per-call timeout and retry
//! overrides, and retries on 408, 429, 5xx and network errors with exponential, linear or
//! constant backoff (±10% jitter, capped at `max_delay`). Unlike the Go adapter, a
//! `Retry-After` on 429/503 is honoured (capped at `max_delay`), and a response body larger
//! than `max_response_bytes` fails the call (the Go adapter buffers any size, so one huge
//! answer could take the pod's memory and stall its probes).

use super::body::read_limited;
pub use super::body::{AttemptError, ResponseTooLarge};
use crate::config::EnvSource;
use crate::config::adapter::{DEFAULT_API_BASE_DELAY, DEFAULT_API_MAX_DELAY, HyperfleetApiConfig};
use crate::domain::urls;
use crate::ports::{ApiRequest, ApiResponse, ApiTransportError, ErrorKind, HyperfleetApi};
use crate::retry::{Jitter, Policy};
use async_trait::async_trait;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;
use tracing::Instrument;

pub use crate::retry::Backoff;

/// Client settings after defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    pub base_url: String,
    pub timeout: Duration,
    pub retry_attempts: u32,
    pub backoff: Backoff,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub default_headers: Vec<(String, String)>,
    pub token_path: Option<PathBuf>,
    pub token_ttl: Duration,
    pub user_agent: String,
    pub max_response_bytes: u64,
}

impl Settings {
    /// The Go adapter's defaults for `base_url`: what `from_config` gives for a config that
    /// sets nothing else, in an environment without `HYPERFLEET_USER_AGENT`.
    pub fn defaults(base_url: impl Into<String>) -> Self {
        use crate::config::adapter as d;
        Settings {
            base_url: base_url.into(),
            timeout: d::DEFAULT_API_TIMEOUT.to_std(),
            retry_attempts: d::DEFAULT_API_RETRY_ATTEMPTS as u32,
            backoff: Backoff::Exponential,
            base_delay: d::DEFAULT_API_BASE_DELAY.to_std(),
            max_delay: d::DEFAULT_API_MAX_DELAY.to_std(),
            default_headers: Vec::new(),
            token_path: None,
            token_ttl: Duration::ZERO,
            user_agent: format!("hyperfleet-adapter/{}", crate::version::VERSION),
            max_response_bytes: d::DEFAULT_API_MAX_RESPONSE_BYTES,
        }
    }

    /// From the adapter config (and `HYPERFLEET_API_BASE_URL` as a last resort), with the
    /// Go adapter's defaults and errors.
    pub fn from_config(cfg: &HyperfleetApiConfig, env: &dyn EnvSource) -> Result<Self, SetupError> {
        let base_url = if cfg.base_url.is_empty() {
            crate::config::env::non_empty(env, "HYPERFLEET_API_BASE_URL").unwrap_or_default()
        } else {
            cfg.base_url.clone()
        };
        if base_url.is_empty() {
            return Err(SetupError::NoBaseUrl);
        }
        let positive = |d: crate::config::GoDuration, default: crate::config::GoDuration| {
            if d.0 > 0 {
                d.to_std()
            } else {
                default.to_std()
            }
        };
        let user_agent = crate::config::env::non_empty(env, "HYPERFLEET_USER_AGENT")
            .unwrap_or_else(|| format!("hyperfleet-adapter/{}", crate::version::VERSION));
        Ok(Settings {
            base_url,
            timeout: cfg.effective_timeout().to_std(),
            retry_attempts: cfg.effective_retry_attempts().max(1) as u32,
            backoff: match cfg.retry_backoff.as_str() {
                "" => Backoff::Exponential,
                name => Backoff::parse(name)?,
            },
            base_delay: positive(cfg.base_delay, DEFAULT_API_BASE_DELAY),
            max_delay: positive(cfg.max_delay, DEFAULT_API_MAX_DELAY),
            default_headers: cfg
                .default_headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            token_path: cfg.auth.as_ref().map(|a| PathBuf::from(&a.token_path)),
            token_ttl: cfg
                .auth
                .as_ref()
                .map(|a| a.token_cache_ttl.to_std())
                .unwrap_or_default(),
            user_agent,
            max_response_bytes: cfg.effective_max_response_bytes(),
        })
    }
}

/// Why the HyperFleet API client cannot be set up (the Go adapter's texts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error(
        "HyperFleet API base URL not configured: set via WithBaseURL option or HYPERFLEET_API_BASE_URL environment variable"
    )]
    NoBaseUrl,
    #[error(transparent)]
    Backoff(#[from] crate::retry::UnknownBackoff),
    /// The HTTP client builder's error (the caller says what was being created).
    #[error("{0}")]
    Client(String),
}

/// The HTTP client.
pub struct HttpApi {
    client: reqwest::Client,
    settings: Settings,
    token: Mutex<Option<(String, Instant)>>,
}

impl HttpApi {
    pub fn new(settings: Settings) -> Result<Self, SetupError> {
        let mut builder = reqwest::Client::builder();
        // Zero is no timeout, as for Go's http.Client.
        if !settings.timeout.is_zero() {
            builder = builder.timeout(settings.timeout);
        }
        let client = builder
            .build()
            .map_err(|e| SetupError::Client(e.to_string()))?;
        Ok(HttpApi {
            client,
            settings,
            token: Mutex::new(None),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The Go adapter's retry policy for one call: `retry_attempts` in all, the configured
    /// backoff from `base_delay` with ±10% jitter, capped at `max_delay`; a `Retry-After` is
    /// honoured up to `max_delay` (the Go adapter ignores it).
    pub fn policy(&self, req: &ApiRequest) -> Policy {
        Policy {
            backoff: match req.retry_backoff.as_deref() {
                None => self.settings.backoff,
                // An unknown per-call strategy waits the base delay, as the Go adapter does.
                Some(s) => Backoff::parse(s).unwrap_or(Backoff::Constant),
            },
            base: self.settings.base_delay,
            max: self.settings.max_delay,
            jitter: Jitter::Spread(0.1),
            attempts: Some(
                req.retry_attempts
                    .unwrap_or(self.settings.retry_attempts)
                    .max(1),
            ),
            max_retry_after: Some(self.settings.max_delay),
        }
    }

    fn token(&self) -> Result<Option<String>, AttemptError> {
        let Some(path) = &self.settings.token_path else {
            return Ok(None);
        };
        let ttl = self.settings.token_ttl;
        if !ttl.is_zero()
            && let Ok(cache) = self.token.lock()
            && let Some((token, at)) = cache.as_ref()
            && at.elapsed() < ttl
        {
            return Ok(Some(token.clone()));
        }
        let unreadable = |message: String| AttemptError::Transport {
            kind: ErrorKind::Unauthorized,
            message: format!("getting auth token: {message}"),
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| unreadable(format!("reading token file {}: {e}", path.display())))?;
        let token = text.trim().to_string();
        if token.is_empty() {
            return Err(unreadable(format!(
                "token file {} is empty",
                path.display()
            )));
        }
        if let Ok(mut cache) = self.token.lock() {
            *cache = Some((token.clone(), Instant::now()));
        }
        Ok(Some(token))
    }

    fn build(
        &self,
        req: &ApiRequest,
        url: &str,
        span: &tracing::Span,
    ) -> Result<reqwest::RequestBuilder, AttemptError> {
        let method = reqwest::Method::from_bytes(req.method.as_bytes()).map_err(|e| {
            AttemptError::Transport {
                kind: ErrorKind::Invalid,
                message: format!("invalid method {:?}: {e}", req.method),
            }
        })?;
        let mut headers: Vec<(String, String)> = self.settings.default_headers.clone();
        for (k, v) in &req.headers {
            headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
            headers.push((k.clone(), v.clone()));
        }
        if let Some(token) = self.token()? {
            headers.retain(|(h, _)| !h.eq_ignore_ascii_case("authorization"));
            headers.push(("Authorization".into(), format!("Bearer {token}")));
        }
        let has = |name: &str, hs: &[(String, String)]| {
            hs.iter().any(|(h, _)| h.eq_ignore_ascii_case(name))
        };
        let body = req
            .body
            .clone()
            .filter(|b| !b.is_empty() && matches!(req.method.as_str(), "POST" | "PUT" | "PATCH"));
        if body.is_some() && !has("content-type", &headers) {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        if !has("user-agent", &headers) {
            headers.push(("User-Agent".into(), self.settings.user_agent.clone()));
        }
        crate::telemetry::inject(span, &mut headers);
        let mut rb = self.client.request(method, url);
        if let Some(timeout) = req.timeout.filter(|t| !t.is_zero()) {
            rb = rb.timeout(timeout);
        }
        for (k, v) in headers {
            rb = rb.header(k, v);
        }
        if let Some(b) = body {
            rb = rb.body(b);
        }
        Ok(rb)
    }

    async fn attempt(
        &self,
        req: &ApiRequest,
        url: &str,
        span: &tracing::Span,
    ) -> Result<ApiResponse, AttemptError> {
        let rb = self.build(req, url, span)?;
        let resp = rb.send().await.map_err(AttemptError::unanswered)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let body = read_limited(resp, &req.method, url, self.settings.max_response_bytes).await?;
        Ok(ApiResponse {
            status,
            headers,
            body,
            attempts: 1,
        })
    }
}

/// A transport error with its causes (reqwest's top-level text alone hides them).
pub(super) fn describe(e: reqwest::Error) -> String {
    let mut msg = e.to_string();
    if e.is_timeout() {
        msg.push_str(" (timeout)");
    }
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    // reqwest names the URL, userinfo included; the text reaches logs, spans and status reports.
    crate::redact::redact_urls(&msg).into_owned()
}

fn retryable(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the API).
fn retry_after(resp: &ApiResponse) -> Option<Duration> {
    if resp.status != 429 && resp.status != 503 {
        return None;
    }
    let v = resp
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))?
        .1
        .trim()
        .to_string();
    v.parse::<u64>().ok().map(Duration::from_secs)
}

#[async_trait]
impl HyperfleetApi for HttpApi {
    async fn send(&self, req: ApiRequest) -> Result<ApiResponse, ApiTransportError> {
        let url = urls::resolve(&self.settings.base_url, &req.url);
        let policy = self.policy(&req);
        let attempts = policy.attempts.unwrap_or(1);
        let mut schedule = policy.schedule("HyperFleet API request");
        tracing::debug!("HyperFleet API request: {} {}", req.method, url);
        loop {
            let n = schedule.attempt();
            // One span per attempt (`HTTP <METHOD>`), whose context goes out as `traceparent`.
            let span = tracing::info_span!(
                "HTTP",
                otel.name = %format!("HTTP {}", req.method),
                http.request.method = %req.method,
                url.full = %crate::redact::redact_urls(&url),
                trace_id = tracing::field::Empty,
                span_id = tracing::field::Empty,
            );
            crate::telemetry::annotate(&span);
            let outcome = self
                .attempt(&req, &url, &span)
                .instrument(span.clone())
                .await;
            // The attempt's outcome is logged inside its span (the lines carry its span id).
            let failed = span.in_scope(|| match outcome {
                Ok(mut resp) => {
                    tracing::debug!("HyperFleet API response: {} {}", resp.status, url);
                    resp.attempts = n;
                    if !retryable(resp.status) || schedule.is_last() {
                        return Err(Ok(resp));
                    }
                    tracing::warn!(
                        "HyperFleet API request returned retryable status {} (attempt {n}/{attempts})",
                        resp.status
                    );
                    Ok((format!("HTTP {}", resp.status), retry_after(&resp)))
                }
                Err(e) => {
                    tracing::warn!("HyperFleet API request failed (attempt {n}/{attempts}): {e}");
                    if schedule.is_last() || !e.is_retryable() {
                        return Err(Err(ApiTransportError {
                            kind: e.kind(),
                            message: e.to_string(),
                            attempts: n,
                        }));
                    }
                    Ok((e.to_string(), None))
                }
            });
            match failed {
                Ok((error, retry_after)) => {
                    schedule.wait(&error, retry_after).await;
                }
                Err(done) => return done,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Settings;
    use crate::config::{MapEnv, adapter::HyperfleetApiConfig};

    #[test]
    fn defaults_are_what_an_empty_config_gives() {
        let cfg = HyperfleetApiConfig {
            base_url: "http://api".into(),
            ..Default::default()
        };
        let from_config = Settings::from_config(&cfg, &MapEnv::default()).unwrap();
        assert_eq!(
            format!("{from_config:?}"),
            format!("{:?}", Settings::defaults("http://api"))
        );
    }
}
