//! RabbitMQ stopped and restarted mid-stream, on a node this test starts itself on its own
//! ports (its own node name, data and log directories, no plugins), so the machine's shared node
//! and other work on it are untouched: readiness drops and comes back, the subscriber reconnects
//! by itself, and every event — those in flight at the drop, those still queued and those
//! published after — is processed.

#![cfg(feature = "rabbitmq")]

use hyperfleet_adapter::adapters::broker::rabbitmq::{self, Publisher, Subscription};
use hyperfleet_adapter::config::broker::RabbitMqConfig;
use hyperfleet_adapter::service::serve::LoopEnd;
use kit::api::{Running, event, harness};
use kit::rabbit::*;
use kit::wait_for;
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A RabbitMQ node of this test's own; stopped (and its files removed) on drop.
struct OwnNode {
    name: String,
    port: u16,
    dir: tempfile::TempDir,
    server: std::process::Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl OwnNode {
    /// Starts the node and waits until it accepts AMQP connections (up to 120 s).
    async fn start() -> OwnNode {
        let (port, dist) = (free_port(), free_port());
        let dir = tempfile::tempdir().unwrap();
        // The server drops to the rabbitmq user: it must be able to write here.
        Command::new("chmod")
            .args(["777", dir.path().to_str().unwrap()])
            .status()
            .unwrap();
        let plugins = dir.path().join("enabled_plugins");
        std::fs::write(&plugins, "[].").unwrap();
        let name = format!("hyperfleet-test-{port}@localhost");
        let d = |p: &str| dir.path().join(p);
        let log = std::fs::File::create(d("server.out")).unwrap();
        let server = Command::new("rabbitmq-server")
            .env("RABBITMQ_NODENAME", &name)
            .env("RABBITMQ_NODE_PORT", port.to_string())
            .env("RABBITMQ_DIST_PORT", dist.to_string())
            .env("RABBITMQ_MNESIA_BASE", d("mnesia"))
            .env("RABBITMQ_LOG_BASE", d("log"))
            .env("RABBITMQ_PID_FILE", d("pid"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", &plugins)
            .env("RABBITMQ_CONFIG_FILE", d("no-config"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting rabbitmq-server for the test node: {e}"));
        let node = OwnNode {
            name,
            port,
            dir,
            server,
        };
        node.wait_until_open().await;
        node
    }

    fn cfg(&self) -> RabbitMqConfig {
        RabbitMqConfig {
            url: format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port),
            ..Default::default()
        }
    }

    fn ctl(&self, args: &[&str]) {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        rabbitmqctl(&all);
    }

    async fn wait_until_open(&self) {
        let open = async || {
            lapin::Connection::connect(&self.cfg().url, Default::default())
                .await
                .is_ok()
        };
        if kit::eventually(Duration::from_secs(120), open).await {
            return;
        }
        panic!(
            "the test's RabbitMQ node {} did not start:\n{}",
            self.name,
            std::fs::read_to_string(self.dir.path().join("server.out")).unwrap_or_default()
        );
    }

    /// Messages ready in `queue` on this node.
    async fn ready(&self, queue: &str) -> u32 {
        let conn = lapin::Connection::connect(&self.cfg().url, Default::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        ch.queue_declare(
            queue.into(),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            Default::default(),
        )
        .await
        .unwrap()
        .message_count()
    }
}

impl Drop for OwnNode {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl")
            .args(["-n", &self.name, "stop"])
            .output();
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_loses_no_event() {
    let topic = unique("restart");
    let queue = format!("{topic}-s1");
    let node = OwnNode::start().await;
    let run = serve_loop_on(node.cfg(), &topic, "s1", 2, 150).await;
    let publish = |from: usize, to: usize| {
        let topic = topic.clone();
        let cfg = node.cfg();
        async move {
            let p = Publisher::connect(&cfg, &topic).await.unwrap();
            for n in from..to {
                p.send(&event(&format!("e{n}"), &format!("c{n}")))
                    .await
                    .unwrap();
            }
            p.close().await;
        }
    };
    publish(0, 12).await;
    wait_for("some events processed", Duration::from_secs(20), || {
        run.api.statuses().len() >= 3
    })
    .await;
    assert!(run.health.is_ready());

    node.ctl(&["stop_app"]);
    wait_for("readiness to drop", Duration::from_secs(20), || {
        !run.health.is_ready()
    })
    .await;
    node.ctl(&["start_app"]);
    wait_for(
        "the subscriber to reconnect",
        Duration::from_secs(60),
        || run.health.is_ready(),
    )
    .await;

    publish(12, 20).await;
    let all: BTreeSet<String> = (0..20).map(|n| format!("c{n}")).collect();
    wait_for("every event processed", Duration::from_secs(60), || {
        let done: BTreeSet<String> = run.api.statuses().into_iter().map(|(id, _)| id).collect();
        done == all
    })
    .await;
    let _ = run.stop.send(());
    assert_eq!(run.handle.await.unwrap(), LoopEnd::Shutdown);
    let reports = run.api.statuses().len();
    eprintln!(
        "20 events, {reports} status reports (redelivered after the restart: {})",
        reports - 20
    );
    assert_eq!(node.ready(&queue).await, 0, "nothing left behind");
}

// The serve loop over the adapter's RabbitMQ subscriber (feature-gated, so not in the kit).

/// The serve loop over a RabbitMQ subscription on the node `cfg` names, with the fake API
/// (answering after `delay_ms`).
async fn serve_loop_on(
    cfg: RabbitMqConfig,
    topic: &str,
    subscription: &str,
    parallelism: usize,
    delay_ms: u64,
) -> Running {
    let h = harness("rabbit-test-adapter", topic, subscription, delay_ms).await;
    let sub = Subscription::new(topic, subscription, parallelism);
    let source = rabbitmq::subscribe(cfg, sub, h.broker_readiness())
        .await
        .unwrap();
    h.run(Box::new(source), parallelism)
}
