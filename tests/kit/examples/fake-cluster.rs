//! The test suite's fake Kubernetes API server as a program, for local experiments, optionally
//! with a HyperFleet API answering from a recorded-responses file (the dry-run format):
//!
//! ```sh
//! cargo run -p hyperfleet-test-kit --example fake-cluster -- --kubeconfig /tmp/fake-kube/kubeconfig \
//!     --api-responses examples/api-responses.json --api-port 18000
//! ```
//!
//! Everything is kept in memory; every request is logged to stderr, with the objects the fake
//! cluster holds after each change.

use clap::Parser;
use hyperfleet_adapter::adapters::api::RecordedApi;
use hyperfleet_adapter::ports::{ApiRequest, HyperfleetApi};
use kit::kube::{FakeKube, ResourceType};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    about = "In-memory fake Kubernetes API server (and recorded HyperFleet API) for local experiments"
)]
struct Args {
    /// Port of the Kubernetes API (127.0.0.1); 0 picks a free one.
    #[arg(long, default_value_t = 6443)]
    kube_port: u16,
    /// Where to write a kubeconfig pointing at it.
    #[arg(long, default_value = "fake-kube/kubeconfig")]
    kubeconfig: PathBuf,
    /// Extra kinds to serve, as group/version/Kind/plural (namespaced), e.g.
    /// example.com/v1/Widget/widgets. Repeatable.
    #[arg(long = "crd")]
    crds: Vec<String>,
    /// Namespaces that exist at startup. Repeatable.
    #[arg(long = "namespace", default_values_t = vec!["default".to_string()])]
    namespaces: Vec<String>,
    /// Also serve a HyperFleet API answering from this recorded-responses file (the
    /// --dry-run-api-responses format).
    #[arg(long)]
    api_responses: Option<PathBuf>,
    /// Port of the HyperFleet API (127.0.0.1).
    #[arg(long, default_value_t = 18000)]
    api_port: u16,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.kube_port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.kube_port))?;
    let fake = FakeKube::serve(listener);
    for crd in &args.crds {
        let parts: Vec<&str> = crd.split('/').collect();
        let [group, version, kind, plural] = parts.as_slice() else {
            return Err(format!("--crd {crd:?}: expected group/version/Kind/plural"));
        };
        fake.register(ResourceType::new(
            &format!("{group}/{version}"),
            kind,
            plural,
            true,
        ));
    }
    for ns in &args.namespaces {
        fake.put(
            "fake-cluster",
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        );
    }
    let dir = args
        .kubeconfig
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
        .to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let written = fake.kubeconfig(&dir, None);
    if written != args.kubeconfig {
        std::fs::rename(&written, &args.kubeconfig)
            .map_err(|e| format!("{}: {e}", args.kubeconfig.display()))?;
    }
    fake.log_to_stderr();
    eprintln!(
        "fake Kubernetes API server on {}; kubeconfig: {}",
        fake.url,
        args.kubeconfig.display()
    );
    if let Some(file) = &args.api_responses {
        let api = Arc::new(RecordedApi::load(file).map_err(|e| e.to_string())?);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.api_port))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.api_port))?;
        let base = format!("http://127.0.0.1:{}", args.api_port);
        eprintln!(
            "recorded HyperFleet API on {base} (from {}): set HYPERFLEET_API_BASE_URL={base}",
            file.display()
        );
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let api = api.clone();
            let base = base.clone();
            async move { recorded(api, &base, req).await }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
    }
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// Answers one HyperFleet API request from the recorded responses.
async fn recorded(
    api: Arc<RecordedApi>,
    base: &str,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 10 << 20)
        .await
        .unwrap_or_default();
    let request = ApiRequest {
        method: parts.method.to_string(),
        url: format!("{base}{}", parts.uri),
        headers: vec![],
        body: (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned()),
        ..ApiRequest::default()
    };
    match api.send(request).await {
        Ok(r) => {
            eprintln!("API {} {} -> {}", parts.method, parts.uri, r.status);
            let status = axum::http::StatusCode::from_u16(r.status)
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
            (status, [("content-type", "application/json")], r.body).into_response()
        }
        Err(e) => {
            eprintln!(
                "API {} {} -> no recorded response: {e}",
                parts.method, parts.uri
            );
            (axum::http::StatusCode::NOT_FOUND, e.to_string()).into_response()
        }
    }
}
