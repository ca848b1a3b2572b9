//! The real `adapter` process for end-to-end tests: `serve` on free ports until ready, `publish`,
//! HTTP gets, and SIGTERM with the exit status and output.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::cli::adapter_bin;
use crate::eventually;

/// A TCP port that was free a moment ago (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP GET: the status and body, or `None` when nothing answers.
pub async fn get(url: &str) -> Option<(u16, String)> {
    let resp = reqwest::get(url).await.ok()?;
    Some((resp.status().as_u16(), resp.text().await.ok()?))
}

/// A running `adapter serve`.
pub struct Served {
    /// The process (stdout and stderr piped).
    pub child: Child,
    /// The port of `/healthz` and `/readyz`.
    pub health_port: u16,
    /// The port of `/metrics`.
    pub metrics_port: u16,
}

/// Starts `adapter serve -c adapter -t task` with a clean environment plus `env` (tracing off)
/// and waits until `/readyz` answers 200; panics with the output if it exits first.
pub async fn serve(adapter: &Path, task: &Path, env: &[(&str, &str)]) -> Served {
    serve_limited(adapter, task, env, None).await
}

/// [`serve`] with the open-file limit (`ulimit -n`) set to `nofile` when given.
pub async fn serve_limited(
    adapter: &Path,
    task: &Path,
    env: &[(&str, &str)],
    nofile: Option<u32>,
) -> Served {
    spawn_ready(adapter, task, env, nofile, None).await
}

/// [`serve`] with stdout and stderr appended to `log` instead of piped: for a process that
/// logs more than a pipe holds (a benchmark's thousands of events), which nobody reads while
/// it runs. [`Served::terminate`] then returns empty output; read the file.
pub async fn serve_logging_to(
    adapter: &Path,
    task: &Path,
    env: &[(&str, &str)],
    log: &Path,
) -> Served {
    spawn_ready(adapter, task, env, None, Some(log)).await
}

async fn spawn_ready(
    adapter: &Path,
    task: &Path,
    env: &[(&str, &str)],
    nofile: Option<u32>,
    log: Option<&Path>,
) -> Served {
    let (hp, mp) = (free_port(), free_port());
    let bin = adapter_bin();
    let mut cmd = match nofile {
        None => Command::new(&bin),
        Some(n) => {
            let mut sh = Command::new("/bin/sh");
            sh.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\"")])
                .arg(&bin);
            sh
        }
    };
    cmd.args(["serve", "-c"])
        .arg(adapter)
        .arg("-t")
        .arg(task)
        .args(["--health-port", &hp.to_string()])
        .args(["--metrics-port", &mp.to_string()])
        .env_clear()
        .env("HYPERFLEET_TRACING_ENABLED", "false");
    match log {
        None => cmd.stdout(Stdio::piped()).stderr(Stdio::piped()),
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap();
            cmd.stdout(file.try_clone().unwrap()).stderr(file)
        }
    };
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let ready_url = format!("http://127.0.0.1:{hp}/readyz");
    let mut exited = None;
    let ready = eventually(Duration::from_secs(20), async || {
        if let Some((200, _)) = get(&ready_url).await {
            return true;
        }
        exited = child.try_wait().ok().flatten();
        exited.is_some()
    })
    .await;
    if let Some(status) = exited {
        let out = child.wait_with_output().unwrap();
        let logged = log
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .unwrap_or_default();
        panic!(
            "adapter exited early ({status}):\n{}\n{}{logged}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if !ready {
        let _ = child.kill();
        panic!("the adapter did not become ready");
    }
    Served {
        child,
        health_port: hp,
        metrics_port: mp,
    }
}

impl Served {
    /// `GET /readyz`: status and body.
    pub async fn readyz(&self) -> (u16, String) {
        get(&format!("http://127.0.0.1:{}/readyz", self.health_port))
            .await
            .unwrap()
    }

    /// `GET /metrics`: the Prometheus text.
    pub async fn metrics(&self) -> String {
        get(&format!("http://127.0.0.1:{}/metrics", self.metrics_port))
            .await
            .unwrap()
            .1
    }

    /// [`crate::wait_for`] that, when `cond` stays false for `timeout`, stops the adapter and
    /// panics naming `what` with the adapter's output (what it was doing meanwhile).
    pub async fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut cond: impl FnMut() -> bool,
    ) {
        if eventually(timeout, async || cond()).await {
            return;
        }
        let _ = self.child.kill();
        let mut output = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut output);
        }
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut output);
        }
        panic!("timed out waiting for {what}; the adapter's output:\n{output}");
    }

    /// Sends SIGTERM and waits (up to 30 s) for the exit; returns the exit code and the output.
    pub async fn terminate(mut self) -> (Option<i32>, String, String) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let mut code = None;
        eventually(Duration::from_secs(30), async || {
            code = self.child.try_wait().unwrap().map(|s| s.code());
            code.is_some()
        })
        .await;
        let code = code.flatten();
        let out = self.child.wait_with_output().unwrap();
        (
            code,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// `adapter publish --event FILE ARGS...` with a clean environment plus `env`; asserts it
/// succeeded and returns what it printed.
pub fn publish(event: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(adapter_bin());
    cmd.args(["publish", "--event"])
        .arg(event)
        .args(args)
        .env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out: Output = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "adapter publish failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
