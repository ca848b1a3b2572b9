//! RabbitMQ restarted mid-stream (`rabbitmqctl stop_app` / `start_app` on the real node):
//! readiness drops and comes back, the subscriber reconnects by itself, and every event —
//! those in flight at the drop, those still queued and those published after — is processed.
//! Its own test binary: stopping the node would break other tests running beside it.

#![cfg(feature = "rabbitmq")]

#[path = "support/fake_api.rs"]
mod fake_api;
#[path = "support/rabbit.rs"]
mod rabbit;

use fake_api::event;
use hyperfleet_adapter::adapters::broker::rabbitmq::Publisher;
use hyperfleet_adapter::app::serve::LoopEnd;
use rabbit::*;
use std::collections::BTreeSet;

/// Starts the node again even when the test fails half-way.
struct StartAppOnDrop;

impl Drop for StartAppOnDrop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .arg("start_app")
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_loses_no_event() {
    let topic = unique("restart");
    let queue = format!("{topic}-s1");
    let run = serve_loop(&topic, "s1", 2, 150).await;
    let publish = |from: usize, to: usize| {
        let topic = topic.clone();
        async move {
            let p = Publisher::connect(&cfg(), &topic).await.unwrap();
            for n in from..to {
                p.send(&event(&format!("e{n}"), &format!("c{n}")))
                    .await
                    .unwrap();
            }
            p.close().await;
        }
    };
    publish(0, 12).await;
    wait_for("some events processed", 20, || {
        run.api.statuses().len() >= 3
    })
    .await;
    assert!(run.health.is_ready());

    let _restart = StartAppOnDrop;
    rabbitmqctl(&["stop_app"]);
    wait_for("readiness to drop", 20, || !run.health.is_ready()).await;
    rabbitmqctl(&["start_app"]);
    wait_for("the subscriber to reconnect", 60, || run.health.is_ready()).await;

    publish(12, 20).await;
    let all: BTreeSet<String> = (0..20).map(|n| format!("c{n}")).collect();
    wait_for("every event processed", 60, || {
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
    assert_eq!(ready(&queue).await, 0, "nothing left behind");
    cleanup(&[queue], &[topic]).await;
}
