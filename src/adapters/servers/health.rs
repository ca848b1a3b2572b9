//! The health server's state and router: liveness (`/healthz`), readiness (`/readyz`, named
//! checks and the shutting-down flag) and, with `debug_config`, the merged config (`/config`).

use super::NOT_FOUND;
use crate::service::LoopHealth;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Readiness: named checks (`config`, `broker`, ...) and the shutting-down flag.
#[derive(Default)]
pub struct Health {
    checks: Mutex<BTreeMap<String, bool>>,
    /// Why the process should be restarted (`/healthz` fails), if it should.
    unhealthy: Mutex<Option<String>>,
    shutting_down: AtomicBool,
    config_yaml: Option<String>,
}

impl Health {
    /// `checks` start failing; `config_yaml` is served on `/config` when set (debug_config).
    pub fn new(checks: &[&str], config_yaml: Option<String>) -> Arc<Self> {
        let checks = checks.iter().map(|c| (c.to_string(), false)).collect();
        Arc::new(Health {
            checks: Mutex::new(checks),
            unhealthy: Mutex::new(None),
            shutting_down: AtomicBool::new(false),
            config_yaml,
        })
    }

    pub fn set(&self, check: &str, ok: bool) {
        if let Ok(mut c) = self.checks.lock() {
            c.insert(check.to_string(), ok);
        }
    }

    /// Fails liveness with `reason` (`Some`) so Kubernetes restarts the pod, or passes it again.
    pub fn set_unhealthy(&self, reason: Option<String>) {
        if let Ok(mut u) = self.unhealthy.lock() {
            *u = reason;
        }
    }

    fn healthz(&self) -> (StatusCode, Value) {
        match self.unhealthy.lock().ok().and_then(|u| u.clone()) {
            Some(reason) => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "error", "message": reason}),
            ),
            None => (StatusCode::OK, json!({"status": "ok"})),
        }
    }

    pub fn set_shutting_down(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        !self.shutting_down.load(Ordering::SeqCst)
            && self
                .checks
                .lock()
                .map(|c| c.values().all(|ok| *ok))
                .unwrap_or(false)
    }

    fn readyz(&self) -> (StatusCode, Value) {
        if self.shutting_down.load(Ordering::SeqCst) {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "error", "message": "server is shutting down"}),
            );
        }
        let checks = self.checks.lock().map(|c| c.clone()).unwrap_or_default();
        let all_ok = checks.values().all(|ok| *ok);
        let checks: Map<String, Value> = checks
            .into_iter()
            .map(|(k, ok)| (k, json!(if ok { "ok" } else { "error" })))
            .collect();
        if all_ok {
            (StatusCode::OK, json!({"checks": checks, "status": "ok"}))
        } else {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"checks": checks, "status": "error", "message": "not ready"}),
            )
        }
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    // Go's json.Encoder ends the body with a newline.
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{body}\n"),
    )
        .into_response()
}

/// The health router.
pub fn health_app(health: Arc<Health>) -> Router {
    let ready = health.clone();
    let live = health.clone();
    let config = health.config_yaml.clone();
    let mut app = Router::new()
        .route(
            "/healthz",
            any(move || {
                let h = live.clone();
                async move {
                    let (status, body) = h.healthz();
                    json_response(status, &body)
                }
            }),
        )
        .route(
            "/readyz",
            any(move || {
                let h = ready.clone();
                async move {
                    let (status, body) = h.readyz();
                    json_response(status, &body)
                }
            }),
        );
    if let Some(yaml) = config {
        app = app.route(
            "/config",
            any(move || {
                let y = yaml.clone();
                async move { ([(header::CONTENT_TYPE, "application/yaml")], y).into_response() }
            }),
        );
    }
    app.fallback(|| async { (StatusCode::NOT_FOUND, NOT_FOUND) })
}

impl LoopHealth for Health {
    fn set_shutting_down(&self) {
        Health::set_shutting_down(self)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::get;
    use super::*;

    #[tokio::test]
    async fn healthz_fails_while_unhealthy() {
        let h = Health::new(&[], None);
        let app = health_app(h.clone());
        h.set_unhealthy(Some("subscription lost".into()));
        let (s, _, b) = get(app.clone(), "/healthz").await;
        assert_eq!(
            (s, b.as_str()),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "{\"status\":\"error\",\"message\":\"subscription lost\"}\n"
            )
        );
        h.set_unhealthy(None);
        assert_eq!(get(app, "/healthz").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn healthz_and_readyz_bodies() {
        let h = Health::new(&["config", "broker"], None);
        let app = health_app(h.clone());
        assert_eq!(
            get(app.clone(), "/healthz").await,
            (
                StatusCode::OK,
                "application/json".into(),
                "{\"status\":\"ok\"}\n".into()
            )
        );
        let (s, _, b) = get(app.clone(), "/readyz").await;
        assert_eq!(
            (s, b.as_str()),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "{\"checks\":{\"broker\":\"error\",\"config\":\"error\"},\"status\":\"error\",\"message\":\"not ready\"}\n"
            )
        );
        h.set("config", true);
        h.set("broker", true);
        let (s, _, b) = get(app.clone(), "/readyz").await;
        assert_eq!(
            (s, b.as_str()),
            (
                StatusCode::OK,
                "{\"checks\":{\"broker\":\"ok\",\"config\":\"ok\"},\"status\":\"ok\"}\n"
            )
        );
        h.set("broker", false);
        assert_eq!(
            get(app.clone(), "/readyz").await.0,
            StatusCode::SERVICE_UNAVAILABLE,
            "readiness follows the broker"
        );
        h.set_shutting_down();
        let (s, _, b) = get(app.clone(), "/readyz").await;
        assert_eq!(
            (s, b.as_str()),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "{\"status\":\"error\",\"message\":\"server is shutting down\"}\n"
            )
        );
        assert_eq!(
            get(app, "/config").await.2,
            "404 page not found\n",
            "/config only with debug_config"
        );
    }

    #[tokio::test]
    async fn config_endpoint_serves_the_redacted_yaml() {
        let app = health_app(Health::new(
            &["config"],
            Some("adapter:\n    name: x\n".into()),
        ));
        assert_eq!(
            get(app, "/config").await,
            (
                StatusCode::OK,
                "application/yaml".into(),
                "adapter:\n    name: x\n".into()
            )
        );
    }
}
