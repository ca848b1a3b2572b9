//! The fake Maestro against its claims, through its own gRPC client stubs and plain HTTP:
//! publish and the REST view, versions and conflicts, the agent's status events on Subscribe,
//! heartbeats, deletion, faults and the token.

use super::proto::cloud_event_service_client::CloudEventServiceClient;
use super::proto::{PublishRequest, SubscriptionRequest};
use super::*;
use tonic::transport::Channel;

const SOURCE: &str = "kit-source";

async fn client(fake: &FakeMaestro) -> CloudEventServiceClient<Channel> {
    CloudEventServiceClient::connect(format!("http://{}", fake.grpc_address))
        .await
        .unwrap()
}

fn work_bundle(value: &str) -> Value {
    json!({"manifests": [{"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "default"}, "data": {"k": value}}]})
}

async fn publish(
    c: &mut CloudEventServiceClient<Channel>,
    action: SpecAction,
    version: i32,
    bundle: Option<&Value>,
) -> Result<(), tonic::Status> {
    let event = spec_event(
        action,
        SOURCE,
        "cluster1",
        "rid-1",
        version,
        &json!({"name": "work"}),
        bundle,
    );
    c.publish(PublishRequest { event: Some(event) })
        .await
        .map(|_| ())
}

async fn rest(fake: &FakeMaestro, path: &str) -> (u16, Value) {
    let resp = reqwest::get(format!("{}/api/maestro/v1/{path}", fake.http_url))
        .await
        .unwrap();
    let code = resp.status().as_u16();
    (code, resp.json_value().await)
}

trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        serde_json::from_str(&self.text().await.unwrap()).unwrap_or(Value::Null)
    }
}

#[tokio::test]
async fn publish_creates_updates_and_the_rest_view_follows() {
    let fake = FakeMaestro::start(Duration::from_secs(60)).await;
    fake.register_consumer("cluster1");
    let mut c = client(&fake).await;
    publish(&mut c, SpecAction::Create, 0, Some(&work_bundle("1")))
        .await
        .unwrap();
    let (code, b) = rest(&fake, "resource-bundles/rid-1").await;
    assert_eq!(code, 200);
    assert_eq!(
        (b["version"].as_i64(), b["consumer_name"].as_str()),
        (Some(1), Some("cluster1"))
    );
    assert_eq!(
        b["status"]["conditions"][0]["type"], "Applied",
        "the agent reported at once"
    );
    publish(&mut c, SpecAction::Update, 1, Some(&work_bundle("2")))
        .await
        .unwrap();
    assert_eq!(fake.bundle("rid-1").unwrap()["version"], 2);
    assert_eq!(
        fake.bundle("rid-1").unwrap()["manifests"][0]["data"]["k"],
        "2"
    );
    let stale = publish(&mut c, SpecAction::Update, 1, Some(&work_bundle("3")))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Unknown);
    assert!(
        stale
            .message()
            .contains("not the latest, the latest version: 2"),
        "{}",
        stale.message()
    );
    let (_, list) = rest(
        &fake,
        &format!("resource-bundles?search=source%3D%27{SOURCE}%27"),
    )
    .await;
    assert_eq!(list["total"], 1);
    assert_eq!(rest(&fake, "resource-bundles/nope").await.0, 404);
    assert_eq!(fake.published().len(), 3);
}

#[tokio::test]
async fn publish_refuses_unknown_consumers_and_missing_extensions() {
    let fake = FakeMaestro::start(Duration::from_secs(60)).await;
    let mut c = client(&fake).await;
    let refused = publish(&mut c, SpecAction::Create, 0, Some(&work_bundle("1")))
        .await
        .unwrap_err();
    assert!(
        refused.message().contains("fk_resources_consumers"),
        "{}",
        refused.message()
    );
    let mut bare = spec_event(
        SpecAction::Create,
        SOURCE,
        "cluster1",
        "rid-1",
        0,
        &json!({}),
        None,
    );
    bare.attributes.remove("ce-resourceid");
    let missing = c
        .publish(PublishRequest { event: Some(bare) })
        .await
        .unwrap_err();
    assert!(
        missing
            .message()
            .contains("failed to get resourceid extension")
    );
    assert!(fake.bundles().is_empty());
}

#[tokio::test]
async fn subscribers_get_the_id_heartbeats_and_status_events_of_their_source() {
    let fake = FakeMaestro::start(Duration::from_millis(20)).await;
    fake.register_consumer("cluster1");
    let mut c = client(&fake).await;
    let resp = c
        .subscribe(SubscriptionRequest {
            source: SOURCE.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(resp.metadata().get("subscription-id").is_some());
    let mut stream = resp.into_inner();
    assert_eq!(fake.subscriptions(), 1);
    publish(&mut c, SpecAction::Create, 0, Some(&work_bundle("1")))
        .await
        .unwrap();
    let mut status = None;
    let mut heartbeats = 0;
    while status.is_none() || heartbeats == 0 {
        let event = stream
            .message()
            .await
            .unwrap()
            .expect("the stream stays open");
        if event.r#type == HEARTBEAT {
            heartbeats += 1;
        } else {
            status = Some(event);
        }
    }
    let status = status.unwrap();
    assert_eq!(status.r#type, format!("{DATA_TYPE}.status.update_request"));
    assert_eq!(
        attr_string(&status, "ce-resourceid").as_deref(),
        Some("rid-1")
    );
    assert_eq!(
        attr_int(&status, "ce-resourceversion"),
        Some(1),
        "a decimal string"
    );
    assert_eq!(
        data_json(&status).unwrap()["conditions"][1]["type"],
        "Available"
    );
    fake.drop_streams();
    while let Some(Ok(_)) = stream.message().await.transpose() {}
}

#[tokio::test]
async fn deletion_waits_for_the_agent_when_told_to() {
    let fake = FakeMaestro::start(Duration::from_secs(60)).await;
    fake.register_consumer("cluster1");
    let mut c = client(&fake).await;
    publish(&mut c, SpecAction::Create, 0, Some(&work_bundle("1")))
        .await
        .unwrap();
    publish(&mut c, SpecAction::Delete, 1, None).await.unwrap();
    let deleting = fake.bundle("rid-1").expect("still readable while deleting");
    assert!(deleting["deleted_at"].is_string());
    assert!(deleting["metadata"]["deletionTimestamp"].is_string());
    let refused = publish(&mut c, SpecAction::Update, 0, Some(&work_bundle("2")))
        .await
        .unwrap_err();
    assert!(refused.message().contains("under deletion"));
    fake.finish_deletions();
    assert!(fake.bundle("rid-1").is_none());
}

#[tokio::test]
async fn injected_publish_failures_and_the_token_are_enforced() {
    let fake = FakeMaestro::start(Duration::from_secs(60)).await;
    fake.register_consumer("cluster1");
    fake.fail_publishes(Code::Unavailable, 1);
    let mut c = client(&fake).await;
    let failed = publish(&mut c, SpecAction::Create, 0, Some(&work_bundle("1")))
        .await
        .unwrap_err();
    assert_eq!(failed.code(), Code::Unavailable);
    publish(&mut c, SpecAction::Create, 0, Some(&work_bundle("1")))
        .await
        .unwrap();
    fake.require_token("t0k3n");
    let denied = publish(&mut c, SpecAction::Update, 0, Some(&work_bundle("2")))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn consumers_are_searched_and_created_over_rest() {
    let fake = FakeMaestro::start(Duration::from_secs(60)).await;
    let c = reqwest::Client::new();
    let url = format!("{}/api/maestro/v1/consumers", fake.http_url);
    let created = c
        .post(&url)
        .body(r#"{"name":"c1"}"#)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let again = c
        .post(&url)
        .body(r#"{"name":"c1"}"#)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 409);
    let (_, found) = rest(&fake, "consumers?search=name%3D%27c1%27").await;
    assert_eq!(found["items"][0]["name"], "c1");
    let (_, none) = rest(&fake, "consumers?search=name%3D%27other%27").await;
    assert_eq!(none["total"], 0);
    assert_eq!(rest(&fake, "no-such-thing").await.0, 404);
}
