//! The fake Maestro's CloudEvents gRPC service: Publish hands spec events to the store,
//! Subscribe registers a stream for a source and sends heartbeats while it is registered.

use super::events::HEARTBEAT;
use super::proto::cloud_event_service_server::CloudEventService;
use super::proto::{CloudEvent, PublishRequest, SubscriptionRequest};
use super::state::{State, lock, uuid_from};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tonic::Status;

#[derive(Clone)]
pub(super) struct Service {
    pub(super) state: Arc<Mutex<State>>,
    pub(super) heartbeat: Duration,
}

/// Maestro's `token` authentication: a missing or wrong bearer token is UNAUTHENTICATED.
fn check_token(
    state: &Arc<Mutex<State>>,
    metadata: &tonic::metadata::MetadataMap,
) -> Result<(), Status> {
    let Some(token) = lock(state).token.clone() else {
        return Ok(());
    };
    let sent = metadata.get("authorization").and_then(|v| v.to_str().ok());
    if sent == Some(&format!("Bearer {token}")) {
        Ok(())
    } else {
        Err(Status::unauthenticated("invalid token"))
    }
}

#[tonic::async_trait]
impl CloudEventService for Service {
    async fn publish(
        &self,
        request: tonic::Request<PublishRequest>,
    ) -> Result<tonic::Response<()>, Status> {
        check_token(&self.state, request.metadata())?;
        let event = request
            .into_inner()
            .event
            .ok_or_else(|| Status::unknown("failed to convert protobuf to cloudevent: no event"))?;
        let hold = lock(&self.state).hold_publish;
        if let Some(hold) = hold {
            tokio::time::sleep(hold).await;
        }
        let mut s = lock(&self.state);
        s.published.push(event.clone());
        if let Some((code, n)) = s.fail_publish
            && n > 0
        {
            s.fail_publish = Some((code, n - 1));
            return Err(Status::new(code, "injected failure"));
        }
        s.publish(&event).map_err(Status::unknown)?;
        Ok(tonic::Response::new(()))
    }

    type SubscribeStream = tokio_stream::wrappers::ReceiverStream<Result<CloudEvent, Status>>;

    async fn subscribe(
        &self,
        request: tonic::Request<SubscriptionRequest>,
    ) -> Result<tonic::Response<Self::SubscribeStream>, Status> {
        check_token(&self.state, request.metadata())?;
        let req = request.into_inner();
        if req.source.is_empty() && req.cluster_name.is_empty() {
            return Err(Status::invalid_argument(
                "source or cluster name is required",
            ));
        }
        let (tx, rx) = mpsc::channel(110);
        {
            let mut s = lock(&self.state);
            s.subscriptions += 1;
            s.subscribers.push((req.source.clone(), tx.clone()));
        }
        // Heartbeats while the stream is registered (dropped streams stop getting them).
        let state = self.state.clone();
        let interval = self.heartbeat;
        tokio::spawn(async move {
            let mut n = 0u64;
            loop {
                tokio::time::sleep(interval).await;
                let registered = {
                    let s = lock(&state);
                    if !s.subscribers.iter().any(|(_, t)| t.same_channel(&tx)) {
                        break;
                    }
                    s.heartbeats
                };
                if registered {
                    n += 1;
                    let beat = CloudEvent {
                        id: uuid_from(n),
                        spec_version: "1.0".into(),
                        r#type: HEARTBEAT.into(),
                        ..CloudEvent::default()
                    };
                    if tx.send(Ok(beat)).await.is_err() {
                        break;
                    }
                }
            }
        });
        let mut response = tonic::Response::new(tokio_stream::wrappers::ReceiverStream::new(rx));
        response
            .metadata_mut()
            .insert("subscription-id", uuid_from(7).parse().unwrap());
        Ok(response)
    }
}
