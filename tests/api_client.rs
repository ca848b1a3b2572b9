//! The HTTP HyperFleet API client against an in-process axum server that injects 5xx storms,
//! 429 with Retry-After, slow responses past the timeout and connection resets. The tests run
//! on paused time: the client's retry delays are slept on the paused clock, and the server
//! records when each attempt arrived, so the gaps between arrivals are exactly the delays.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use hyperfleet_adapter::adapters::api::http::{Backoff, HttpApi, Settings};
use hyperfleet_adapter::ports::{ApiRequest, HyperfleetApi};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Clone, Default)]
struct Counters {
    storm: Arc<AtomicUsize>,
    limited: Arc<AtomicUsize>,
    always: Arc<AtomicUsize>,
    slow: Arc<AtomicUsize>,
    arrivals: Arrivals,
}

/// When each retried attempt reached the server (on the paused clock).
#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<Vec<Instant>>>);

impl Arrivals {
    fn record(&self) {
        self.0.lock().unwrap().push(Instant::now());
    }

    /// The waits between consecutive attempts: the client's retry delays.
    fn delays(&self) -> Vec<Duration> {
        let at = self.0.lock().unwrap();
        at.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

async fn storm(State(c): State<Counters>) -> impl IntoResponse {
    c.arrivals.record();
    if c.storm.fetch_add(1, Ordering::SeqCst) < 2 {
        (StatusCode::SERVICE_UNAVAILABLE, "busy")
    } else {
        (StatusCode::OK, "{\"ok\":true}")
    }
}

async fn limited(State(c): State<Counters>) -> impl IntoResponse {
    c.arrivals.record();
    let n = c.limited.fetch_add(1, Ordering::SeqCst);
    let mut h = HeaderMap::new();
    if n == 0 {
        h.insert("retry-after", "3".parse().unwrap());
        return (StatusCode::TOO_MANY_REQUESTS, h, "slow down");
    }
    if n == 1 {
        h.insert("retry-after", "120".parse().unwrap());
        return (StatusCode::SERVICE_UNAVAILABLE, h, "maintenance");
    }
    (StatusCode::OK, h, "{}")
}

async fn always(State(c): State<Counters>) -> impl IntoResponse {
    c.arrivals.record();
    c.always.fetch_add(1, Ordering::SeqCst);
    (StatusCode::BAD_GATEWAY, "bad gateway")
}

async fn slow(State(c): State<Counters>) -> impl IntoResponse {
    c.arrivals.record();
    c.slow.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    "{}"
}

async fn echo(headers: HeaderMap, body: String) -> impl IntoResponse {
    let hs: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                serde_json::json!(v.to_str().unwrap_or_default()),
            )
        })
        .collect();
    serde_json::json!({"headers": hs, "body": body}).to_string()
}

async fn server() -> (String, Counters) {
    let c = Counters::default();
    let app = Router::new()
        .route("/api/hyperfleet/v1/storm", get(storm))
        .route("/api/hyperfleet/v1/limited", get(limited))
        .route("/api/hyperfleet/v1/always", get(always))
        .route("/api/hyperfleet/v1/slow", get(slow))
        .route(
            "/api/hyperfleet/v1/missing",
            get(|| async { (StatusCode::NOT_FOUND, "{\"code\":\"HYPERFLEET-NTF-002\"}") }),
        )
        .route("/api/hyperfleet/v1/echo", any(echo))
        .with_state(c.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), c)
}

fn settings(base: &str) -> Settings {
    Settings {
        base_url: base.to_string(),
        // No client timeout: on paused time an idle runtime jumps to the next timer, and a
        // pending timeout would fire while the request is on the loopback socket.
        timeout: Duration::ZERO,
        retry_attempts: 3,
        backoff: Backoff::Exponential,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(5),
        default_headers: vec![
            ("X-Team".into(), "fleet".into()),
            ("X-Override".into(), "default".into()),
        ],
        token_path: None,
        token_ttl: Duration::ZERO,
        user_agent: "hyperfleet-adapter/test".into(),
        max_response_bytes: 10 * 1024 * 1024,
    }
}

fn client(s: Settings) -> HttpApi {
    HttpApi::new(s).unwrap()
}

fn get_req(path: &str) -> ApiRequest {
    ApiRequest {
        method: "GET".into(),
        url: path.into(),
        ..Default::default()
    }
}

fn within(d: Duration, expected: f64) -> bool {
    let s = d.as_secs_f64();
    s >= expected * 0.9 - 1e-9 && s <= expected * 1.1 + 1e-9
}

#[tokio::test(start_paused = true)]
async fn a_5xx_storm_is_retried_with_exponential_backoff() {
    let (base, c) = server().await;
    let api = client(settings(&base));
    let resp = api.send(get_req("/api/hyperfleet/v1/storm")).await.unwrap();
    assert_eq!((resp.status, resp.attempts), (200, 3));
    assert_eq!(c.storm.load(Ordering::SeqCst), 3);
    let delays = c.arrivals.delays();
    assert_eq!(delays.len(), 2);
    assert!(
        within(delays[0], 1.0) && within(delays[1], 2.0),
        "{delays:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn exhausted_retries_return_the_last_response() {
    let (base, c) = server().await;
    let api = client(settings(&base));
    let start = Instant::now();
    let resp = api
        .send(get_req("/api/hyperfleet/v1/always"))
        .await
        .unwrap();
    assert_eq!(
        (resp.status, resp.attempts),
        (502, 3),
        "retry_attempts is the total number of attempts"
    );
    assert_eq!(c.always.load(Ordering::SeqCst), 3);
    assert_eq!(c.arrivals.delays().len(), 2);
    assert_eq!(
        start.elapsed(),
        c.arrivals.delays().iter().sum::<Duration>(),
        "no sleep after the last attempt"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_and_capped() {
    let (base, c) = server().await;
    let api = client(settings(&base));
    let resp = api
        .send(get_req("/api/hyperfleet/v1/limited"))
        .await
        .unwrap();
    assert_eq!((resp.status, resp.attempts), (200, 3));
    assert_eq!(
        c.arrivals.delays(),
        [Duration::from_secs(3), Duration::from_secs(5)],
        "3 s as asked, 120 s capped at max_delay"
    );
}

#[tokio::test(start_paused = true)]
async fn non_retryable_statuses_return_at_once() {
    let (base, _) = server().await;
    let api = client(settings(&base));
    let start = Instant::now();
    let resp = api
        .send(get_req("/api/hyperfleet/v1/missing"))
        .await
        .unwrap();
    assert_eq!((resp.status, resp.attempts), (404, 1));
    assert_eq!(start.elapsed(), Duration::ZERO, "no wait");
}

#[tokio::test(start_paused = true)]
async fn slow_responses_time_out_and_per_call_overrides_apply() {
    let (base, c) = server().await;
    let api = client(settings(&base));
    let req = ApiRequest {
        timeout: Some(Duration::from_millis(150)),
        retry_attempts: Some(2),
        retry_backoff: Some("linear".into()),
        ..get_req("/api/hyperfleet/v1/slow")
    };
    let err = api.send(req).await.unwrap_err();
    assert_eq!(err.attempts, 2);
    assert!(
        err.message.contains("timeout") || err.message.contains("timed out"),
        "{}",
        err.message
    );
    assert_eq!(c.slow.load(Ordering::SeqCst), 2);
    let delays = c.arrivals.delays();
    assert_eq!(delays.len(), 1);
    // The first attempt's 150 ms timeout, then the linear backoff's first delay.
    let backoff = delays[0] - Duration::from_millis(150);
    assert!(within(backoff, 1.0), "{delays:?}");
}

#[tokio::test(start_paused = true)]
async fn connection_resets_are_retried() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let a = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            a.fetch_add(1, Ordering::SeqCst);
            drop(sock);
        }
    });
    let mut s = settings(&format!("http://{addr}"));
    s.backoff = Backoff::Constant;
    let api = client(s);
    let start = Instant::now();
    let err = api.send(get_req("/api/hyperfleet/v1/x")).await.unwrap_err();
    assert_eq!(err.attempts, 3);
    assert!(accepted.load(Ordering::SeqCst) >= 3);
    let waited = start.elapsed();
    assert!(within(waited, 2.0), "constant backoff, twice: {waited:?}");
    let refused = client(settings("http://127.0.0.1:1"))
        .send(get_req("/x"))
        .await
        .unwrap_err();
    assert_eq!(refused.attempts, 3);
}

#[tokio::test(start_paused = true)]
async fn headers_token_and_body() {
    let (base, _) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let token: PathBuf = dir.path().join("token");
    std::fs::write(&token, "tok-1\n").unwrap();
    let mut s = settings(&base);
    s.token_path = Some(token.clone());
    let api = client(s);
    let req = ApiRequest {
        method: "POST".into(),
        url: "/api/hyperfleet/v1/echo".into(),
        headers: vec![
            ("X-Override".into(), "call".into()),
            ("Authorization".into(), "ignored".into()),
        ],
        body: Some("{\"a\":1}".into()),
        ..Default::default()
    };
    let resp = api.send(req.clone()).await.unwrap();
    let echoed: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    let h = &echoed["headers"];
    assert_eq!(h["x-team"], "fleet");
    assert_eq!(
        h["x-override"], "call",
        "per-call headers override defaults"
    );
    assert_eq!(
        h["authorization"], "Bearer tok-1",
        "the token wins over a configured Authorization"
    );
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["user-agent"], "hyperfleet-adapter/test");
    assert!(
        h.get("traceparent").is_none(),
        "no trace context is sent while tracing is off"
    );
    assert_eq!(echoed["body"], "{\"a\":1}");
    // TTL 0: the file is read on every request.
    std::fs::write(&token, "tok-2").unwrap();
    let echoed: serde_json::Value =
        serde_json::from_slice(&api.send(req.clone()).await.unwrap().body).unwrap();
    assert_eq!(echoed["headers"]["authorization"], "Bearer tok-2");
    // GET never sends a body.
    let get = ApiRequest {
        method: "GET".into(),
        body: Some("x".into()),
        ..req.clone()
    };
    let echoed: serde_json::Value =
        serde_json::from_slice(&api.send(get).await.unwrap().body).unwrap();
    assert_eq!(echoed["body"], "");
    // An empty token file is an error, retried like a network error.
    std::fs::write(&token, "  ").unwrap();
    let err = api.send(req).await.unwrap_err();
    assert!(
        err.message.starts_with("getting auth token: token file"),
        "{}",
        err.message
    );
    assert_eq!(err.attempts, 3);
}

#[tokio::test(start_paused = true)]
async fn token_cache_ttl_caches_the_token() {
    let (base, _) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "first").unwrap();
    let mut s = settings(&base);
    s.token_path = Some(token.clone());
    s.token_ttl = Duration::from_secs(300);
    let api = client(s);
    let req = ApiRequest {
        method: "GET".into(),
        url: "/api/hyperfleet/v1/echo".into(),
        ..Default::default()
    };
    let first: serde_json::Value =
        serde_json::from_slice(&api.send(req.clone()).await.unwrap().body).unwrap();
    std::fs::write(&token, "second").unwrap();
    let again: serde_json::Value =
        serde_json::from_slice(&api.send(req).await.unwrap().body).unwrap();
    assert_eq!(first["headers"]["authorization"], "Bearer first");
    assert_eq!(
        again["headers"]["authorization"], "Bearer first",
        "cached within the TTL"
    );
}

#[test]
fn settings_from_config_apply_defaults_and_errors() {
    use hyperfleet_adapter::config::MapEnv;
    use hyperfleet_adapter::config::adapter::HyperfleetApiConfig;
    let empty = HyperfleetApiConfig::default();
    let err = Settings::from_config(&empty, &MapEnv::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "HyperFleet API base URL not configured: set via WithBaseURL option or HYPERFLEET_API_BASE_URL environment variable"
    );
    let s = Settings::from_config(
        &empty,
        &MapEnv::from_pairs([("HYPERFLEET_API_BASE_URL", "http://env")]),
    )
    .unwrap();
    assert_eq!(
        (s.base_url.as_str(), s.timeout, s.retry_attempts),
        ("http://env", Duration::from_secs(10), 3)
    );
    assert_eq!(
        (s.base_delay, s.max_delay, s.backoff),
        (
            Duration::from_secs(1),
            Duration::from_secs(30),
            Backoff::Exponential
        )
    );
    assert!(s.user_agent.starts_with("hyperfleet-adapter/"));
    let bad = HyperfleetApiConfig {
        base_url: "http://x".into(),
        retry_backoff: "fibonacci".into(),
        ..Default::default()
    };
    assert!(
        Settings::from_config(&bad, &MapEnv::default())
            .unwrap_err()
            .to_string()
            .contains("invalid retry backoff strategy \"fibonacci\"")
    );
}
