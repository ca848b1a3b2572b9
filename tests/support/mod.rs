//! Shared helpers for integration tests: locating `../shared/conformance`, running the binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// `../shared/conformance`, or `None` (with a clear message) when it is not beside the project.
/// With `HYPERFLEET_REQUIRE_CONFORMANCE=1` (set by `.ci/run`) a missing corpus is a failure.
pub fn conformance() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    if dir.is_dir() {
        return Some(dir.canonicalize().expect("canonical conformance path"));
    }
    if std::env::var("HYPERFLEET_REQUIRE_CONFORMANCE").is_ok_and(|v| v == "1") {
        panic!(
            "../shared/conformance is required (HYPERFLEET_REQUIRE_CONFORMANCE=1) but {} does not exist",
            dir.display()
        );
    }
    eprintln!(
        "NOTE: {} not found; conformance test not run",
        dir.display()
    );
    None
}

/// Runs the `adapter` binary with a clean environment (plus `env`).
pub fn adapter(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_adapter"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run adapter")
}

/// A dry run of task config `t` under adapter config `a` on event file `e`, with `extra` flags,
/// in a clean environment.
pub fn dry_run(a: &str, t: &str, e: &str, extra: &[&str]) -> Output {
    let mut args = vec!["serve", "-c", a, "-t", t, "--dry-run-event", e];
    args.extend_from_slice(extra);
    adapter(&args, &[])
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Loads an adapter config and a task config as `serve` does, with no flags and an empty
/// environment.
pub fn load_configs(adapter: PathBuf, task: PathBuf) -> hyperfleet_adapter::config::Loaded {
    let env = hyperfleet_adapter::config::MapEnv::default();
    hyperfleet_adapter::config::load(&hyperfleet_adapter::config::LoadOptions {
        adapter_path: Some(adapter),
        task_path: Some(task),
        flags: vec![],
        env: &env,
        binary_version: "0.0.0-dev".into(),
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// An HTTP server on a free port that answers every request `503 busy`; its address.
pub async fn busy_api() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .fallback(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy") });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}
