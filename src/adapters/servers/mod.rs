//! The health server (`/healthz`, `/readyz`, `/config`) and the metrics server (`/metrics`):
//! the inbound HTTP side, as functions from state to a router ([`health_app`],
//! [`metrics_app`]), plus binding that fails loudly (the Go adapter only logged a port it could
//! not bind), served with bounded connections ([`conns`]).

mod conns;
mod health;

pub use conns::ConnLimits;
pub use health::{Health, health_app};

use crate::adapters::prometheus::Metrics;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::any;
use std::sync::Arc;

/// A port that could not be bound. The message names the server and the address, and carries
/// the cause's text (it is what `adapter serve` prints); the cause is also the `source()`.
#[derive(Debug, thiserror::Error)]
#[error("failed to start {what} server on {addr}: {source}")]
pub struct BindError {
    what: String,
    addr: String,
    #[source]
    source: std::io::Error,
}

/// The text of a path no router serves, as Go's `http.NotFound` writes it.
pub(crate) const NOT_FOUND: &str = "404 page not found\n";

/// The metrics router.
pub fn metrics_app(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route(
            "/metrics",
            any(move || {
                let m = metrics.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        m.render(),
                    )
                        .into_response()
                }
            }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, NOT_FOUND) })
}

/// Binds `addr` (e.g. `0.0.0.0:8080`), failing with a message that names the server.
pub async fn bind(what: &str, addr: &str) -> Result<tokio::net::TcpListener, BindError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| BindError {
            what: what.to_string(),
            addr: addr.to_string(),
            source,
        })
}

/// Serves `app` on `listener` within `limits` until `stop` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnLimits,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    conns::serve(listener, app, limits, stop).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    pub(super) async fn get(app: Router, path: &str) -> (StatusCode, String, String) {
        let resp = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, ct, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn metrics_endpoint() {
        let app = metrics_app(Arc::new(Metrics::new("a", "1", "c")));
        let (s, ct, body) = get(app, "/metrics").await;
        assert_eq!(s, StatusCode::OK);
        assert!(ct.starts_with("text/plain"));
        assert!(body.contains("hyperfleet_adapter_up{component=\"a\",version=\"1\"} 1"));
    }
}
