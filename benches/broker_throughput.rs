//! Broker throughput: N events published to the real broker, then consumed, in one run, by
//! three consumers, each in a child process of its own (so its peak RSS is its own):
//!
//! - **bare**: the broker client alone with the adapter's concurrency — the adapter's prefetch
//!   (RabbitMQ) or outstanding-message bound (Pub/Sub), and up to `parallelism` messages being
//!   acknowledged at once, as the adapter's execution slots do. What the adapter would reach if
//!   its work per event cost nothing.
//! - **drain**: the most the broker delivers on this machine — RabbitMQ's auto-ack consumer
//!   (`no_ack`, no prefetch bound); on Pub/Sub, which has no auto-ack, a stream without flow
//!   control (10 000 outstanding) that acknowledges each message as it arrives.
//! - **adapter**: the serve loop (subscriber, CloudEvent parsing, per-resource serialisation,
//!   the executor with a params-only task config on the in-memory transport, metrics, ack).
//!
//! Reports events/s, adapter / bare, adapter / drain and peak RSS.
//!
//! ```sh
//! cargo bench --bench broker_throughput --features rabbitmq,pubsub -- [N] [PARALLELISM]
//! ```
//! RabbitMQ: `HYPERFLEET_TEST_AMQP_URL` or 127.0.0.1:5672. Pub/Sub: `PUBSUB_EMULATOR_HOST`
//! (skipped with a note when unset).

// A benchmark measures wall-clock time against real brokers.
#![allow(clippy::disallowed_methods)]
// Without a broker feature there is nothing to measure: the broker code is compiled out and
// what is left is unused.
#![cfg_attr(
    not(any(feature = "rabbitmq", feature = "pubsub")),
    allow(unused, unreachable_code)
)]

use hyperfleet_adapter::adapters::api::RecordedApi;
use hyperfleet_adapter::adapters::prometheus::Metrics;
use hyperfleet_adapter::adapters::servers::Health;
use hyperfleet_adapter::adapters::transport::MemoryTransport;
use hyperfleet_adapter::config::{self, LoadOptions, MapEnv};
use hyperfleet_adapter::domain::{Executor, Ports};
use hyperfleet_adapter::ports::{BrokerError, Delivery, EventSource};
use hyperfleet_adapter::service::serve::{self, LoopDeps};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Params only: every event runs through intake, params, (empty) preconditions and finish.
const TASK: &str = r#"
params:
  - name: clusterId
    source: event.id
    required: true
  - name: generation
    source: event.generation
    type: int
"#;

fn event(n: usize) -> Vec<u8> {
    format!(
        r#"{{"specversion":"1.0","id":"evt-{n}","type":"io.hyperfleet.cluster.updated","source":"/bench","datacontenttype":"application/json","data":{{"id":"cls-{n}","kind":"Cluster","href":"/clusters/cls-{n}","generation":1}}}}"#
    )
    .into_bytes()
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn executor() -> Executor {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("adapter.yaml");
    let t = dir.path().join("task.yaml");
    std::fs::write(&a, "adapter:\n  name: bench-adapter\n").unwrap();
    std::fs::write(&t, TASK).unwrap();
    let env = MapEnv::default();
    let loaded = config::load(&LoadOptions {
        adapter_path: Some(a),
        task_path: Some(t),
        flags: vec![],
        env: &env,
        binary_version: "0.0.0-bench".into(),
    })
    .unwrap();
    Executor::new(
        Arc::new(loaded),
        Ports::with_transport(
            Arc::new(RecordedApi::default()),
            Arc::new(MemoryTransport::default()),
            Arc::new(env),
        ),
    )
}

/// Counts acknowledgements of the deliveries it hands out.
struct Counting {
    inner: Box<dyn EventSource>,
    acked: Arc<AtomicUsize>,
}

struct CountingDelivery {
    inner: Box<dyn Delivery>,
    acked: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl Delivery for CountingDelivery {
    fn payload(&self) -> &[u8] {
        self.inner.payload()
    }
    fn event(
        &mut self,
    ) -> Result<
        hyperfleet_adapter::domain::event::CloudEvent,
        hyperfleet_adapter::domain::event::EventError,
    > {
        self.inner.event()
    }
    async fn ack(self: Box<Self>) -> Result<(), BrokerError> {
        let r = self.inner.ack().await;
        self.acked.fetch_add(1, Ordering::SeqCst);
        r
    }
    async fn reject(self: Box<Self>) -> Result<(), BrokerError> {
        let r = self.inner.reject().await;
        self.acked.fetch_add(1, Ordering::SeqCst);
        r
    }
}

#[async_trait::async_trait]
impl EventSource for Counting {
    async fn next(&mut self) -> Option<Box<dyn Delivery>> {
        let d = self.inner.next().await?;
        Some(Box::new(CountingDelivery {
            inner: d,
            acked: self.acked.clone(),
        }))
    }
    async fn close(&mut self) {
        self.inner.close().await
    }
}

/// Runs the serve loop over `source` until `n` messages were settled; returns the seconds.
async fn adapter_loop(source: Box<dyn EventSource>, n: usize, parallelism: usize) -> f64 {
    let acked = Arc::new(AtomicUsize::new(0));
    let source = Box::new(Counting {
        inner: source,
        acked: acked.clone(),
    });
    let deps = LoopDeps {
        executor: Arc::new(executor()),
        metrics: Arc::new(Metrics::new("bench-adapter", "bench", "none").with_topic("bench")),
        health: Health::new(&["config", "broker"], None),
        parallelism,
        drain_timeout: Duration::from_secs(30),
        max_event_bytes: serve::DEFAULT_MAX_EVENT_BYTES,
        skip_stale_events: true,
    };
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let lp = tokio::spawn(serve::run(source, deps, async move {
        let _ = stop_rx.await;
    }));
    while acked.load(Ordering::SeqCst) < n {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    let _ = lp.await;
    secs
}

#[cfg(feature = "rabbitmq")]
mod rabbit {
    use super::*;
    use futures_util::StreamExt;
    use hyperfleet_adapter::adapters::broker::rabbitmq::{self, Subscription};
    use hyperfleet_adapter::config::broker::RabbitMqConfig;
    use lapin::options::{
        BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
        ConfirmSelectOptions, QueueDeleteOptions,
    };
    use lapin::types::FieldTable;
    use lapin::{BasicProperties, Connection, ConnectionProperties, Consumer};

    pub fn url() -> String {
        std::env::var("HYPERFLEET_TEST_AMQP_URL")
            .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
    }

    pub fn cfg(parallelism: usize) -> RabbitMqConfig {
        RabbitMqConfig {
            url: url(),
            prefetch_count: (parallelism * 2) as u16,
            ..Default::default()
        }
    }

    /// Declares the topology (through the adapter's subscriber) and publishes `n` events.
    pub async fn fill(topic: &str, n: usize) {
        let mut s = rabbitmq::subscribe(
            cfg(1),
            Subscription {
                topic: topic.into(),
                subscription_id: "bench".into(),
                parallelism: 1,
            },
            Arc::new(|_| {}),
        )
        .await
        .unwrap();
        s.close().await;
        let conn = Connection::connect(&url(), ConnectionProperties::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        let mut confirms = Vec::with_capacity(n);
        for i in 0..n {
            confirms.push(
                ch.basic_publish(
                    topic.into(),
                    "".into(),
                    BasicPublishOptions::default(),
                    &event(i),
                    BasicProperties::default().with_delivery_mode(2),
                )
                .await
                .unwrap(),
            );
        }
        for c in confirms {
            c.await.unwrap();
        }
        let _ = conn.close(200, "filled".into()).await;
    }

    async fn consumer(topic: &str, prefetch: Option<u16>, no_ack: bool) -> (Connection, Consumer) {
        let conn = Connection::connect(&url(), ConnectionProperties::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        if let Some(prefetch) = prefetch {
            ch.basic_qos(prefetch, BasicQosOptions::default())
                .await
                .unwrap();
        }
        let consumer = ch
            .basic_consume(
                format!("{topic}-bench").as_str().into(),
                "".into(),
                BasicConsumeOptions {
                    no_ack,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        (conn, consumer)
    }

    /// The adapter's prefetch, and up to `parallelism` acknowledgements in flight at once.
    pub async fn bare(topic: &str, n: usize, parallelism: usize) -> f64 {
        let (conn, mut consumer) =
            consumer(topic, Some(cfg(parallelism).prefetch_count), false).await;
        let slots = Arc::new(tokio::sync::Semaphore::new(parallelism));
        let started = Instant::now();
        for _ in 0..n {
            let d = consumer.next().await.unwrap().unwrap();
            let slot = slots.clone().acquire_owned().await.unwrap();
            tokio::spawn(async move {
                d.ack(BasicAckOptions::default()).await.unwrap();
                drop(slot);
            });
        }
        let _all_settled = slots.acquire_many(parallelism as u32).await.unwrap();
        let secs = started.elapsed().as_secs_f64();
        let _ = conn.close(200, "done".into()).await;
        secs
    }

    /// Auto-ack: the broker sends as fast as it can, nothing is acknowledged.
    pub async fn drain(topic: &str, n: usize) -> f64 {
        let (conn, mut consumer) = consumer(topic, None, true).await;
        let started = Instant::now();
        for _ in 0..n {
            consumer.next().await.unwrap().unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        let _ = conn.close(200, "done".into()).await;
        secs
    }

    pub async fn adapter(topic: &str, n: usize, parallelism: usize) -> f64 {
        let source = rabbitmq::subscribe(
            cfg(parallelism),
            Subscription {
                topic: topic.into(),
                subscription_id: "bench".into(),
                parallelism,
            },
            Arc::new(|_| {}),
        )
        .await
        .unwrap();
        adapter_loop(Box::new(source), n, parallelism).await
    }

    pub async fn cleanup(topic: &str) {
        let conn = Connection::connect(&url(), ConnectionProperties::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        let _ = ch
            .queue_delete(
                format!("{topic}-bench").as_str().into(),
                QueueDeleteOptions::default(),
            )
            .await;
        let _ = ch.exchange_delete(topic.into(), Default::default()).await;
        let _ = conn.close(200, "cleanup".into()).await;
    }
}

#[cfg(feature = "pubsub")]
mod pubsub_bench {
    use super::*;
    use hyperfleet_adapter::adapters::broker::pubsub::{self, PubSubPublisher, Target};
    use hyperfleet_adapter::config::broker::PubSubConfig;

    pub const PROJECT: &str = "hyperfleet-bench";

    pub fn emulator() -> Option<String> {
        std::env::var("PUBSUB_EMULATOR_HOST")
            .ok()
            .filter(|v| !v.is_empty())
    }

    pub fn cfg(parallelism: usize) -> PubSubConfig {
        PubSubConfig {
            project_id: PROJECT.into(),
            create_topic_if_missing: true,
            create_subscription_if_missing: true,
            max_outstanding_messages: Some((parallelism * 2) as i64),
            ..Default::default()
        }
    }

    pub fn target(topic: &str, parallelism: usize) -> Target {
        Target {
            project_id: PROJECT.into(),
            topic: topic.into(),
            subscription_id: format!("{topic}-bench"),
            parallelism,
            emulator_host: emulator(),
        }
    }

    /// Creates the subscription of `consumer` and publishes `n` events to a topic of its own.
    pub async fn fill(topic: &str, consumer: &str, n: usize) {
        let topic = &format!("{topic}-{consumer}");
        // The subscription must exist before publishing.
        pubsub::prepare(&cfg(1), &target(topic, 1)).await.unwrap();
        let p = PubSubPublisher::connect(&cfg(1), &target(topic, 1))
            .await
            .unwrap();
        let bodies: Vec<Vec<u8>> = (0..n).map(event).collect();
        let mut pending = Vec::new();
        for body in &bodies {
            pending.push(p.send(body));
            if pending.len() == 500 {
                for r in futures_util::future::join_all(pending.drain(..)).await {
                    r.unwrap();
                }
            }
        }
        for r in futures_util::future::join_all(pending).await {
            r.unwrap();
        }
    }

    /// The client's stream under `outstanding`, acknowledging each message as it arrives
    /// (the client's acks are sent in the background, batched).
    async fn stream_acking(subscription: &str, n: usize, outstanding: i64) -> f64 {
        use google_cloud_pubsub::client::Subscriber;
        let client = Subscriber::builder()
            .with_endpoint(format!("http://{}", emulator().unwrap()))
            .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
            .build()
            .await
            .unwrap();
        let mut stream = client
            .subscribe(format!("projects/{PROJECT}/subscriptions/{subscription}"))
            .set_max_outstanding_messages(outstanding)
            .build();
        let started = Instant::now();
        let mut seen = 0;
        while seen < n {
            let (_, h) = stream.next().await.unwrap().unwrap();
            h.ack();
            seen += 1;
        }
        started.elapsed().as_secs_f64()
    }

    /// The adapter's outstanding-message bound.
    pub async fn bare(topic: &str, n: usize, parallelism: usize) -> f64 {
        let outstanding = cfg(parallelism).max_outstanding_messages.unwrap();
        stream_acking(&format!("{topic}-bare-bench"), n, outstanding).await
    }

    /// No flow control to speak of: what the emulator delivers.
    pub async fn drain(topic: &str, n: usize) -> f64 {
        stream_acking(&format!("{topic}-drain-bench"), n, 10_000).await
    }

    pub async fn source(topic: &str, n: usize, parallelism: usize) -> f64 {
        let topic = &format!("{topic}-adapter");
        let mut source = pubsub::subscribe(
            cfg(parallelism),
            target(topic, parallelism),
            Arc::new(|_| {}),
        )
        .await
        .unwrap();
        let started = Instant::now();
        for _ in 0..n {
            let d = source.next().await.unwrap();
            d.ack().await.unwrap();
        }
        started.elapsed().as_secs_f64()
    }

    pub async fn adapter(topic: &str, n: usize, parallelism: usize) -> f64 {
        let topic = &format!("{topic}-adapter");
        let source = pubsub::subscribe(
            cfg(parallelism),
            target(topic, parallelism),
            Arc::new(|_| {}),
        )
        .await
        .unwrap();
        adapter_loop(Box::new(source), n, parallelism).await
    }
}

/// Child mode: `broker_throughput --child <broker> <bare|adapter> <topic> <n> <parallelism>`;
/// prints `seconds peak_rss_kib`.
async fn child(args: &[String]) {
    let (broker, kind, topic) = (&args[0], &args[1], &args[2]);
    let n: usize = args[3].parse().unwrap();
    let p: usize = args[4].parse().unwrap();
    let secs = match (broker.as_str(), kind.as_str()) {
        #[cfg(feature = "rabbitmq")]
        ("rabbitmq", "bare") => rabbit::bare(topic, n, p).await,
        #[cfg(feature = "rabbitmq")]
        ("rabbitmq", "drain") => rabbit::drain(topic, n).await,
        #[cfg(feature = "rabbitmq")]
        ("rabbitmq", "adapter") => rabbit::adapter(topic, n, p).await,
        #[cfg(feature = "pubsub")]
        ("pubsub", "bare") => pubsub_bench::bare(topic, n, p).await,
        #[cfg(feature = "pubsub")]
        ("pubsub", "drain") => pubsub_bench::drain(topic, n).await,
        #[cfg(feature = "pubsub")]
        ("pubsub", "adapter") => pubsub_bench::adapter(topic, n, p).await,
        #[cfg(feature = "pubsub")]
        ("pubsub", "source") => pubsub_bench::source(topic, n, p).await,
        other => panic!("unknown child mode {other:?}"),
    };
    println!("{secs} {}", peak_rss_kib());
}

fn run_child(broker: &str, kind: &str, topic: &str, n: usize, p: usize) -> (f64, u64) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--child",
            broker,
            kind,
            topic,
            &n.to_string(),
            &p.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    (
        parts.next().unwrap().parse().unwrap(),
        parts.next().unwrap().parse().unwrap(),
    )
}

/// One consumer's result: seconds and peak RSS in KiB.
type Run = (f64, u64);

fn report(broker: &str, n: usize, p: usize, bare: Run, drain: Run, adapter: Run) {
    let rate = |r: Run| n as f64 / r.0;
    let mib = |r: Run| r.1 / 1024;
    println!(
        "{broker:8} n={n} parallelism={p}: drain {:7.0} ev/s ({} MiB) | bare {:7.0} ev/s ({} MiB) | adapter {:7.0} ev/s ({} MiB) | adapter/bare {:.0}% | adapter/drain {:.0}%",
        rate(drain),
        mib(drain),
        rate(bare),
        mib(bare),
        rate(adapter),
        mib(adapter),
        100.0 * rate(adapter) / rate(bare),
        100.0 * rate(adapter) / rate(drain),
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]).await;
    }
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let p: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(16);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    #[cfg(feature = "rabbitmq")]
    {
        let topic = format!("bench-{stamp}");
        let mut runs = Vec::new();
        for kind in ["drain", "bare", "adapter"] {
            rabbit::fill(&topic, n).await;
            runs.push(tokio::task::block_in_place(|| {
                run_child("rabbitmq", kind, &topic, n, p)
            }));
        }
        rabbit::cleanup(&topic).await;
        report("rabbitmq", n, p, runs[1], runs[0], runs[2]);
    }
    #[cfg(feature = "pubsub")]
    {
        if pubsub_bench::emulator().is_none() {
            println!("pubsub: PUBSUB_EMULATOR_HOST not set; not measured");
        } else {
            let n = n.min(5_000);
            // Each consumer gets its own subscription: a consumer that exits leaves the messages
            // its client had pulled leased (until the emulator expires them, minutes later),
            // which would starve the next consumer of the same subscription.
            let topic = format!("bench-ps-{stamp}");
            // `BENCH_PUBSUB_CONSUMER=source` measures the subscriber alone (no serve loop).
            let adapter =
                std::env::var("BENCH_PUBSUB_CONSUMER").unwrap_or_else(|_| "adapter".into());
            let mut runs = Vec::new();
            for (consumer, kind) in [
                ("drain", "drain"),
                ("bare", "bare"),
                ("adapter", adapter.as_str()),
            ] {
                pubsub_bench::fill(&topic, consumer, n).await;
                runs.push(tokio::task::block_in_place(|| {
                    run_child("pubsub", kind, &topic, n, p)
                }));
            }
            report("pubsub", n, p, runs[1], runs[0], runs[2]);
        }
    }
}
