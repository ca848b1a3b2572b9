//! The Subscribe stream as Maestro's liveness channel: heartbeats must arrive within the
//! healthiness timeout, or the stream is dropped and opened again with backoff. Readiness
//! follows: up while the stream is open and beating, down while reconnecting. Status events are
//! decoded and logged (the adapter reads status over REST).

use super::Shared;
use super::events::{DATA_TYPE, HEARTBEAT, attr_string};
use super::proto::SubscriptionRequest;
use crate::adapters::broker::Readiness;
use std::time::Duration;

pub struct Options {
    pub source: String,
    pub healthiness_timeout: Duration,
    /// Reopening the stream: unbounded attempts, doubling from a base delay to a cap, with
    /// full jitter.
    pub reconnect: crate::retry::Policy,
}

fn set(readiness: &Option<Readiness>, up: bool) {
    if let Some(r) = readiness {
        r(up);
    }
}

/// Runs until the task is aborted. A client rebuild (`reloads`) reopens the stream with it.
pub async fn run(
    shared: std::sync::Arc<Shared>,
    mut reloads: tokio::sync::watch::Receiver<u64>,
    options: Options,
    readiness: Option<Readiness>,
) {
    let mut schedule = options.reconnect.schedule("Maestro subscription");
    loop {
        let request = SubscriptionRequest {
            source: options.source.clone(),
            cluster_name: String::new(),
            data_type: DATA_TYPE.into(),
        };
        match shared.grpc().subscribe(request).await {
            Ok(response) => {
                schedule.reset();
                tracing::info!(source = %options.source, "Subscribed to Maestro");
                set(&readiness, true);
                let mut stream = response.into_inner();
                loop {
                    let next = tokio::select! {
                        next = tokio::time::timeout(options.healthiness_timeout, stream.message()) => next,
                        _ = reloads.changed() => {
                            tracing::info!("Reopening the Maestro subscription with the new TLS files");
                            schedule.reset();
                            break;
                        }
                    };
                    match next {
                        Err(_) => {
                            tracing::warn!(
                                "No heartbeat from Maestro within {:?}, reconnecting",
                                options.healthiness_timeout
                            );
                            break;
                        }
                        Ok(Ok(Some(event))) if event.r#type == HEARTBEAT => {
                            set(&readiness, true);
                        }
                        Ok(Ok(Some(event))) => {
                            tracing::debug!(
                                event_type = %event.r#type,
                                resource_id = %attr_string(&event, "ce-resourceid").unwrap_or_default(),
                                "Maestro status event received"
                            );
                        }
                        Ok(Ok(None)) => {
                            tracing::warn!("Maestro closed the subscription stream, reconnecting");
                            break;
                        }
                        Ok(Err(status)) => {
                            tracing::warn!(
                                "Maestro subscription stream failed, reconnecting: {}",
                                status.message()
                            );
                            break;
                        }
                    }
                }
            }
            Err(status) => {
                tracing::warn!(
                    code = ?status.code(),
                    "Failed to subscribe to Maestro: {}",
                    status.message()
                );
            }
        }
        set(&readiness, false);
        schedule
            .wait(&"the subscription stream is down", None)
            .await;
    }
}
