//! End to end through the real `adapter serve` process: events published to RabbitMQ, the
//! adapter fetching each cluster from an in-process HTTP API stand-in (axum), applying a
//! ConfigMap by server-side apply to the fake Kubernetes API server of the test kit (the real
//! REST protocol, in this process), and reporting status back to the stand-in.
//!
//! ```sh
//! cargo bench --bench e2e                                   # the table (needs rabbitmq, k8s)
//! cargo bench --bench e2e -- --soak 100000                  # RSS over 100 000 events
//! cargo bench --bench e2e -- --startup 10                   # startup time, idle RSS
//! cargo bench --bench e2e -- --task api --parallelism 16 --sizes 1024 --events 5000
//! cargo bench --bench e2e -- --adapter-env LOG_LEVEL=warn   # the adapter's environment
//! ```
//!
//! Two task configs: `api` fetches the cluster and reports a status (the test kit's task: two API
//! calls, no resources); `kubernetes` also checks a precondition, applies a ConfigMap found by
//! name and builds the status with CEL over it (four requests an event). The client-side
//! Kubernetes rate limit is lifted (see [`unlimited_kubernetes_rate`]).
//!
//! For each task, payload size and parallelism (`subscriber.parallelism` in broker.yaml):
//!
//! - **throughput**: N events are published before the adapter starts (the queue declared as
//!   the adapter declares it), so it drains a full queue; events/s is counted between the
//!   first and the last status report the stand-in receives.
//! - **CPU per event**: the adapter process's user + system time (`/proc/PID/stat`) from
//!   readiness to the last report, over the events reported in that time.
//! - **RSS**: peak (`VmHWM`) and steady (the median `VmRSS`, sampled every 20 ms over the second
//!   half of the drain).
//! - **latency**: then events are published at half the measured throughput (open loop); an
//!   event's latency is publish → its status report at the stand-in, p50 and p99.
//!
//! `--soak N` runs N events (1 KB, parallelism 16) in ten rounds and prints the adapter's RSS
//! after each: growth over the rounds is what a leak looks like.
//!
//! `--startup N` starts the adapter N times (the same broker, kubeconfig and configs) and prints
//! the time from spawn to `/readyz` 200, and its RSS when ready, after two idle seconds and at
//! peak.
//!
//! Everything runs on this machine's cores: the broker, the stand-ins, the publisher and the
//! adapter share them, so events/s is a system figure; CPU per event is the adapter's alone.

// A benchmark measures wall-clock time against a real broker and a real process.
#![allow(clippy::disallowed_methods)]

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use hyperfleet_adapter::adapters::broker::rabbitmq::{self, Subscription};
use kit::kube::FakeKube;
use kit::process::Served;
use kit::rabbit::{broker_file, cleanup, unique, url};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `kubernetes`: fetch the cluster, apply a ConfigMap (found by name first), report a status
/// built from it.
const TASK: &str = r#"
params:
  - name: clusterId
    source: event.id
    required: true
  - name: generation
    source: event.generation
    type: int
  - name: cluster
    source:
      api_call:
        method: GET
        url: "/clusters/{{ .clusterId }}"
    required: true
preconditions:
  - name: provisioned
    expression: cluster.spec.provider == "aws"
resources:
  - name: config
    transport: {client: kubernetes}
    manifest:
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: "cluster-{{ .clusterId }}"
        namespace: fleet
        labels: {hyperfleet.io/cluster-id: "{{ .clusterId }}"}
        annotations: {hyperfleet.io/generation: "{{ .generation }}"}
      data: {cluster: "{{ .clusterId }}", provider: "{{ .cluster.spec.provider }}"}
    discovery:
      namespace: fleet
      by_name: "cluster-{{ .clusterId }}"
post:
  payloads:
    - name: statusPayload
      build:
        adapter: "{{ .adapter.name }}"
        observed_generation:
          expression: generation
        applied:
          expression: has(resources.config) && resources.config.data.cluster == clusterId
        uid:
          expression: resources.config.metadata.uid
  post_actions:
    - name: reportStatus
      api_call:
        method: POST
        url: "/clusters/{{ .clusterId }}/statuses"
        body: "{{ .statusPayload }}"
"#;

/// The HyperFleet API stand-in: every cluster exists; a status report is timestamped.
#[derive(Default)]
struct StandIn {
    reports: Mutex<HashMap<String, Instant>>,
    reported: Notify,
}

impl StandIn {
    async fn start(self: &Arc<Self>) -> String {
        let app = Router::new()
            .route(
                "/api/hyperfleet/v1/clusters/{id}",
                get(|Path(id): Path<String>| async move {
                    json!({"id": id, "kind": "Cluster", "name": format!("name-{id}"), "generation": 1,
                        "spec": {"provider": "aws"}, "status": {"conditions": []}})
                    .to_string()
                }),
            )
            .route(
                "/api/hyperfleet/v1/clusters/{id}/statuses",
                post(
                    |State(api): State<Arc<StandIn>>, Path(id): Path<String>| async move {
                        api.reports.lock().unwrap().insert(id, Instant::now());
                        api.reported.notify_waiters();
                        (axum::http::StatusCode::CREATED, "{}")
                    },
                ),
            )
            .with_state(self.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        format!("http://{addr}")
    }

    fn count(&self) -> usize {
        self.reports.lock().unwrap().len()
    }

    /// Waits until `n` clusters were reported; panics after `limit` naming how many were.
    async fn wait_for(&self, n: usize, limit: Duration, log: &std::path::Path) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.reported.notified();
            if self.count() >= n {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let tail: String = std::fs::read_to_string(log)
                    .unwrap_or_default()
                    .lines()
                    .rev()
                    .take(20)
                    .collect::<Vec<_>>()
                    .join("\n");
                panic!(
                    "only {} of {n} status reports within {limit:?}; adapter log (last lines, newest first):\n{tail}",
                    self.count()
                );
            }
        }
    }

    fn times(&self, prefix: &str) -> Vec<(String, Instant)> {
        let r = self.reports.lock().unwrap();
        r.iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

/// A CloudEvent for cluster `id` of about `size` bytes (the data padded with a note).
fn event(id: &str, size: usize) -> Vec<u8> {
    let make = |pad: usize| {
        json!({"specversion": "1.0", "id": format!("evt-{id}"), "type": "io.hyperfleet.cluster.updated",
            "source": "/bench", "datacontenttype": "application/json",
            "data": {"id": id, "kind": "Cluster", "href": format!("/clusters/{id}"), "generation": 1,
                "note": "x".repeat(pad)}})
        .to_string()
        .into_bytes()
    };
    let base = make(0).len();
    make(size.saturating_sub(base))
}

struct Publisher {
    conn: Connection,
    channel: Channel,
    exchange: String,
}

impl Publisher {
    async fn connect(exchange: &str) -> Publisher {
        let conn = Connection::connect(&url(), ConnectionProperties::default())
            .await
            .unwrap();
        let channel = conn.create_channel().await.unwrap();
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        Publisher {
            conn,
            channel,
            exchange: exchange.into(),
        }
    }

    /// Publishes without waiting for the broker's confirmation; returns the confirmation.
    async fn send(&self, body: &[u8]) -> lapin::PublisherConfirm {
        self.channel
            .basic_publish(
                self.exchange.as_str().into(),
                "".into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap()
    }

    /// Publishes the events of `ids` and waits for every confirmation.
    async fn fill(&self, ids: impl Iterator<Item = String>, size: usize) {
        let mut confirms = Vec::new();
        for id in ids {
            confirms.push(self.send(&event(&id, size)).await);
            if confirms.len() == 1000 {
                for c in confirms.drain(..) {
                    c.await.unwrap();
                }
            }
        }
        for c in confirms {
            c.await.unwrap();
        }
    }

    async fn close(self) {
        let _ = self.conn.close(200, "done".into()).await;
    }
}

/// The adapter process's counters from `/proc`.
struct Proc(u32);

impl Proc {
    fn status_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.0))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    }

    fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    fn peak_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    /// User + system CPU seconds so far.
    fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.0)).unwrap();
        // Fields after the command name (which may hold spaces): state is field 3, utime 14.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
        ticks as f64 / clock_ticks()
    }
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        let out = std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// `--adapter-env K=V,...`: variables for the adapter process (its environment is otherwise
/// cleared), e.g. `LOG_LEVEL=warn` to see what logging costs.
fn adapter_env() -> Vec<(String, String)> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--adapter-env")
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Lifts the client-side Kubernetes rate limit (`clients.kubernetes.qps`, default 100 requests
/// a second, which at three requests an event caps any parallelism at ~33 events/s): the
/// benchmark measures the adapter, not the limiter.
fn unlimited_kubernetes_rate(adapter_config: &std::path::Path) {
    let mut text = std::fs::read_to_string(adapter_config).unwrap();
    text.push_str("  kubernetes:\n    qps: 1000000\n    burst: 1000000\n");
    std::fs::write(adapter_config, text).unwrap();
}

/// One configuration's run: the adapter over a fresh queue.
struct Setup {
    /// Cluster ids of this run end in `-<run>`, so a run never finds another's ConfigMaps.
    run: usize,
    api: Arc<StandIn>,
    served: Served,
    topic: String,
    subscription: String,
    dir: tempfile::TempDir,
}

impl Setup {
    fn log(&self) -> std::path::PathBuf {
        self.dir.path().join("adapter.log")
    }

    fn proc(&self) -> Proc {
        Proc(self.served.child.id())
    }

    async fn stop(self) {
        let log = self.log();
        let (code, _, _) = self.served.terminate().await;
        assert_eq!(
            code,
            Some(0),
            "the adapter exits 0 on SIGTERM; log: {}",
            log.display()
        );
        cleanup(
            &[format!("{}-{}", self.topic, self.subscription)],
            &[self.topic],
        )
        .await;
    }
}

/// Declares the topic and queue as the adapter does, publishes `prefill` events (clusters
/// `p<i>-<run>`),
/// then starts the adapter at `parallelism` against the stand-in and the fake cluster.
async fn setup(
    kube: &FakeKube,
    task: &str,
    parallelism: usize,
    prefill: usize,
    size: usize,
) -> Setup {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let topic = unique("e2e");
    let subscription = "bench".to_string();
    let mut declared = rabbitmq::subscribe(
        kit::rabbit::cfg(),
        Subscription::new(&topic, &subscription, parallelism),
        kit::ignore_readiness(),
    )
    .await
    .unwrap();
    hyperfleet_adapter::ports::EventSource::close(&mut declared).await;
    let publisher = Publisher::connect(&topic).await;
    publisher
        .fill((0..prefill).map(|i| format!("p{i}-{run}")), size)
        .await;
    publisher.close().await;

    let api = Arc::new(StandIn::default());
    let base = api.start().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, t) = kit::api::write_configs(dir.path(), "e2e-adapter", &base, &topic, &subscription);
    unlimited_kubernetes_rate(&a);
    std::fs::write(&t, task).unwrap();
    let broker = broker_file(
        dir.path(),
        &format!("subscriber:\n  parallelism: {parallelism}\n"),
    );
    let kubeconfig = kube.kubeconfig(dir.path(), None);
    let mut env = vec![
        ("BROKER_CONFIG_FILE", broker.to_str().unwrap()),
        ("KUBECONFIG", kubeconfig.to_str().unwrap()),
    ];
    let extra = adapter_env();
    env.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let log = dir.path().join("adapter.log");
    let served = kit::process::serve_logging_to(&a, &t, &env, &log).await;
    Setup {
        run,
        api,
        served,
        topic,
        subscription,
        dir,
    }
}

struct Row {
    task: &'static str,
    size: usize,
    parallelism: usize,
    events: usize,
    rate: f64,
    cpu_ms: f64,
    peak_mib: f64,
    steady_mib: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn measure(
    kube: &FakeKube,
    task: (&'static str, &str),
    size: usize,
    parallelism: usize,
    n: usize,
) -> Row {
    let s = setup(kube, task.1, parallelism, n, size).await;
    let proc = s.proc();
    let (cpu0, reported0) = (proc.cpu_seconds(), s.api.count());
    // RSS samples while the queue drains.
    let sampling = {
        let (api, pid) = (s.api.clone(), proc.0);
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while api.count() < n {
                samples.push((api.count(), Proc(pid).rss_kib()));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            samples
        })
    };
    s.api.wait_for(n, Duration::from_secs(600), &s.log()).await;
    let cpu = proc.cpu_seconds() - cpu0;
    let peak = proc.peak_kib();
    let samples = sampling.await.unwrap();
    let mut steady: Vec<u64> = samples
        .iter()
        .filter(|(done, _)| *done >= n / 2)
        .map(|(_, rss)| *rss)
        .collect();
    steady.sort_unstable();
    let steady = steady
        .get(steady.len() / 2)
        .copied()
        .unwrap_or_else(|| proc.rss_kib());
    let times: Vec<Instant> = s.api.times("p").into_iter().map(|(_, t)| t).collect();
    let (first, last) = (*times.iter().min().unwrap(), *times.iter().max().unwrap());
    let rate = (n - 1) as f64 / (last - first).as_secs_f64();
    let cpu_ms = 1000.0 * cpu / (n - reported0) as f64;

    // Latency at half the throughput, open loop.
    let m = (n / 4).clamp(200, 5_000);
    let per_sec = rate / 2.0;
    let publisher = Publisher::connect(&s.topic).await;
    let started = Instant::now();
    let mut sent = HashMap::new();
    let mut confirms = Vec::new();
    for i in 0..m {
        let due = started + Duration::from_secs_f64(i as f64 / per_sec);
        tokio::time::sleep_until(due.into()).await;
        let id = format!("l{i}-{}", s.run);
        sent.insert(id.clone(), Instant::now());
        confirms.push(publisher.send(&event(&id, size)).await);
    }
    for c in confirms {
        c.await.unwrap();
    }
    s.api
        .wait_for(n + m, Duration::from_secs(600), &s.log())
        .await;
    publisher.close().await;
    let mut latencies: Vec<f64> = s
        .api
        .times("l")
        .into_iter()
        .map(|(id, t)| 1000.0 * (t - sent[&id]).as_secs_f64())
        .collect();
    latencies.sort_by(f64::total_cmp);
    s.stop().await;
    Row {
        task: task.0,
        size,
        parallelism,
        events: n,
        rate,
        cpu_ms,
        peak_mib: peak as f64 / 1024.0,
        steady_mib: steady as f64 / 1024.0,
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
    }
}

/// `n` events in ten rounds at parallelism 16, 1 KB; the RSS after each round.
async fn soak(kube: &FakeKube, n: usize) {
    let round = (n / 10).max(1);
    let s = setup(kube, TASK, 16, 0, 1024).await;
    let proc = s.proc();
    let publisher = Publisher::connect(&s.topic).await;
    println!(
        "soak: {n} events, parallelism 16, 1 KB; RSS at ready {:.1} MiB",
        proc.rss_kib() as f64 / 1024.0
    );
    let cpu0 = proc.cpu_seconds();
    for r in 0..10 {
        publisher
            .fill(
                (r * round..(r + 1) * round).map(|i| format!("s{i}-{}", s.run)),
                1024,
            )
            .await;
        s.api
            .wait_for((r + 1) * round, Duration::from_secs(600), &s.log())
            .await;
        println!(
            "  after {:>7} events: RSS {:.1} MiB (peak {:.1} MiB)",
            (r + 1) * round,
            proc.rss_kib() as f64 / 1024.0,
            proc.peak_kib() as f64 / 1024.0
        );
    }
    println!(
        "  adapter CPU per event: {:.3} ms",
        1000.0 * (proc.cpu_seconds() - cpu0) / (10 * round) as f64
    );
    publisher.close().await;
    s.stop().await;
}

/// `adapter serve` started `launches` times against the broker, the fake cluster and the
/// stand-in: time from spawn to `/readyz` 200 (polled every millisecond), RSS when ready and
/// after two idle seconds, and the peak.
async fn startup(kube: &FakeKube, launches: usize) {
    let topic = unique("e2e-start");
    let api = Arc::new(StandIn::default());
    let base = api.start().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, t) = kit::api::write_configs(dir.path(), "e2e-adapter", &base, &topic, "bench");
    unlimited_kubernetes_rate(&a);
    std::fs::write(&t, TASK).unwrap();
    let broker = broker_file(dir.path(), "subscriber:\n  parallelism: 16\n");
    let kubeconfig = kube.kubeconfig(dir.path(), None);
    let log = std::fs::File::create(dir.path().join("adapter.log")).unwrap();
    let client = reqwest::Client::new();
    println!("| Launch | Spawn to /readyz 200 | RSS at ready | RSS idle (2 s) | Peak RSS |");
    println!("|---|---|---|---|---|");
    let mut times = Vec::new();
    for launch in 1..=launches {
        let health = kit::process::free_port();
        let started = Instant::now();
        let mut child = std::process::Command::new(kit::cli::adapter_bin())
            .arg("serve")
            .arg("-c")
            .arg(&a)
            .arg("-t")
            .arg(&t)
            .args(["--health-port", &health.to_string(), "--metrics-port", "0"])
            .env_clear()
            .env("HYPERFLEET_TRACING_ENABLED", "false")
            .env("BROKER_CONFIG_FILE", &broker)
            .env("KUBECONFIG", &kubeconfig)
            .envs(adapter_env())
            .stdout(log.try_clone().unwrap())
            .stderr(log.try_clone().unwrap())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{health}/readyz");
        loop {
            if let Ok(r) = client.get(&url).send().await
                && r.status() == 200
            {
                break;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "the adapter exited; see {}",
                dir.path().join("adapter.log").display()
            );
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "not ready within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let ready = started.elapsed();
        let proc = Proc(child.id());
        let at_ready = proc.rss_kib();
        tokio::time::sleep(Duration::from_secs(2)).await;
        println!(
            "| {launch} | {:.1} ms | {:.1} MiB | {:.1} MiB | {:.1} MiB |",
            ready.as_secs_f64() * 1000.0,
            at_ready as f64 / 1024.0,
            proc.rss_kib() as f64 / 1024.0,
            proc.peak_kib() as f64 / 1024.0
        );
        times.push(ready.as_secs_f64() * 1000.0);
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "startup: median {:.1} ms, max {:.1} ms over {launches} launches",
        percentile(&times, 0.5),
        times[times.len() - 1]
    );
    cleanup(&[format!("{topic}-bench")], &[topic]).await;
}

fn list(args: &[String], flag: &str, default: &[usize]) -> Vec<usize> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').map(|x| x.parse().unwrap()).collect())
        .unwrap_or_else(|| default.to_vec())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kube = FakeKube::start().await;
    kube.put(
        "setup",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fleet"}}),
    );
    if let Some(n) = list(&args, "--soak", &[]).first() {
        return soak(&kube, *n).await;
    }
    if let Some(n) = list(&args, "--startup", &[]).first() {
        return startup(&kube, *n).await;
    }
    let sizes = list(&args, "--sizes", &[1024, 100 * 1024]);
    let parallelism = list(&args, "--parallelism", &[1, 4, 16, 64]);
    let events = list(&args, "--events", &[]);
    let tasks: Vec<(&'static str, &str)> = [("api", kit::api::TASK), ("kubernetes", TASK)]
        .into_iter()
        .filter(|(name, _)| {
            args.iter()
                .position(|a| a == "--task")
                .and_then(|i| args.get(i + 1))
                .is_none_or(|t| t == name)
        })
        .collect();
    println!(
        "| Task | Event size | Parallelism | Events | Events/s | Adapter CPU per event | Peak RSS | Steady RSS | Latency p50 | p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for &task in &tasks {
        for &size in &sizes {
            // 20 000 events of 1 KB; fewer of 100 KB (the broker holds them all at once).
            let n =
                events
                    .first()
                    .copied()
                    .unwrap_or(if size > 10 * 1024 { 2_000 } else { 20_000 });
            for &p in &parallelism {
                row(measure(&kube, task, size, p, n).await);
            }
        }
    }
}

fn row(r: Row) {
    println!(
        "| {} | {} KB | {} | {} | {:.0} | {:.3} ms | {:.1} MiB | {:.1} MiB | {:.1} ms | {:.1} ms |",
        r.task,
        r.size / 1024,
        r.parallelism,
        r.events,
        r.rate,
        r.cpu_ms,
        r.peak_mib,
        r.steady_mib,
        r.p50_ms,
        r.p99_ms
    );
}
