//! The "Failed to parse CloudEvent; rejecting the message" line carries the broker's message id,
//! so a dead-lettered message can be matched to the line that explains it.

use hyperfleet_adapter::adapters::broker::memory::{MemoryBroker, Settled};
use hyperfleet_adapter::logging::{self, LogSettings};
use kit::capture::Capture;
use std::time::Duration;

// Current-thread runtime: the loop's tasks log on this thread, into the captured subscriber.
#[tokio::test]
async fn the_rejection_line_names_the_message() {
    let logs = Capture::default();
    let settings = LogSettings {
        level: "info".into(),
        format: "json".into(),
        output: "stdout".into(),
        component: "reject-log-adapter".into(),
    };
    let _guard =
        tracing::subscriber::set_default(logging::subscriber(&settings, logs.clone(), None));
    let (broker, source) = MemoryBroker::new();
    let run = kit::api::harness("reject-log-adapter", "t", "s", 0)
        .await
        .run(Box::new(source), 1);
    broker.publish_with_id(b"not a cloudevent".to_vec(), "msg-4711");
    kit::wait_for("the rejection", Duration::from_secs(10), || {
        broker.settled() == [Settled::Rejected(b"not a cloudevent".to_vec())]
    })
    .await;
    let line = logs.find("Failed to parse CloudEvent; rejecting the message");
    assert_eq!(line["message_id"], "msg-4711", "{line}");
    let _ = run.stop.send(());
    run.handle.await.unwrap();
}
