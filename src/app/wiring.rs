//! Building the adapters the config asks for: the transport of each client the task uses
//! (Kubernetes, Maestro), and the broker subscriber of `broker.yaml`. Each adapter is named
//! here under its Cargo feature; a build without it fails with the feature to build with.

use crate::adapters::servers::Health;
use crate::config::broker::BrokerConfig;
use crate::config::{EnvSource, Loaded};
use crate::ports::{EventSource, Transport};
use anyhow::{Result, anyhow};
use std::sync::Arc;

/// Builds the transport for `client` (`kubernetes` or `maestro`). Maestro's health (its
/// Subscribe stream and heartbeats) becomes the `maestro` readiness check.
pub(super) async fn transport_for(
    client: &str,
    loaded: &Loaded,
    env: &dyn EnvSource,
    health: &Arc<Health>,
) -> Result<Arc<dyn Transport>> {
    let _ = (loaded, env, health);
    match client {
        #[cfg(feature = "maestro")]
        "maestro" => maestro(loaded, health),
        #[cfg(not(feature = "maestro"))]
        "maestro" => Err(anyhow!(
            "failed to create Maestro client: this build has no Maestro transport (build with --features maestro)"
        )),
        #[cfg(feature = "k8s")]
        _ => {
            use crate::adapters::transport::kubernetes::{KubernetesTransport, Settings};
            let settings = Settings::from_config(&loaded.adapter.clients.kubernetes, env);
            let transport = KubernetesTransport::connect(&settings)
                .await
                .map_err(|e| anyhow!("failed to create Kubernetes client: {e}"))?;
            Ok(Arc::new(transport))
        }
        #[cfg(not(feature = "k8s"))]
        _ => Err(anyhow!(
            "failed to create Kubernetes client: this build has no Kubernetes transport (build with --features k8s)"
        )),
    }
}

/// The Maestro transport; Maestro's health (its Subscribe stream and heartbeats) becomes the
/// `maestro` readiness check, failing until the stream is up.
#[cfg(feature = "maestro")]
fn maestro(loaded: &Loaded, health: &Arc<Health>) -> Result<Arc<dyn Transport>> {
    use crate::adapters::transport::maestro::{MaestroTransport, Settings, SetupError};
    let failed = |e: SetupError| {
        tracing::error!(error = %e, "Failed to create Maestro client");
        anyhow!("failed to create Maestro client: {e}")
    };
    let settings =
        Settings::from_config(loaded.adapter.clients.maestro.as_ref()).map_err(failed)?;
    tracing::info!(
        "Maestro client: grpc={} http={} source={} timeout={} retry_attempts={}",
        settings.grpc_address,
        settings.http_address,
        settings.source_id,
        crate::config::GoDuration(settings.timeout.as_nanos() as i64),
        settings.publish_attempts
    );
    if let Some(client_id) = loaded
        .adapter
        .clients
        .maestro
        .as_ref()
        .map(|m| m.client_id.trim())
        .filter(|c| !c.is_empty())
    {
        // Kept loadable (the Go charts set it) but said out loud: Maestro's gRPC
        // protocol has no field for it, in Go (sdk-go uses it for MQTT only) or here.
        tracing::warn!(
            client_id,
            "clients.maestro.client_id has no effect: Maestro's gRPC protocol carries no client id; the source is clients.maestro.source_id"
        );
    }
    health.set("maestro", false);
    let h = health.clone();
    let readiness: crate::adapters::broker::Readiness = Arc::new(move |up| h.set("maestro", up));
    let transport = MaestroTransport::connect(&settings, Some(readiness)).map_err(failed)?;
    Ok(Arc::new(transport))
}

/// The startup error of a failed subscription, logged with the runbook's pattern.
#[cfg(any(feature = "rabbitmq", feature = "pubsub"))]
fn subscribe_failed(e: impl std::fmt::Display) -> anyhow::Error {
    tracing::error!(error = %e, "Failed to subscribe to topic");
    anyhow!("failed to subscribe to topic: {e}")
}

/// Subscribes to the configured broker; `health`'s `broker` check follows the connection.
pub(super) async fn subscriber(
    loaded: &Loaded,
    broker: &BrokerConfig,
    health: &Arc<Health>,
    env: &dyn EnvSource,
) -> Result<Box<dyn EventSource>> {
    let b = &loaded.adapter.clients.broker;
    let h = health.clone();
    let readiness: crate::adapters::broker::Readiness = Arc::new(move |up| h.set("broker", up));
    let _ = (b, env, &readiness);
    tracing::info!("Subscribing to broker topic...");
    match broker.kind {
        #[cfg(feature = "rabbitmq")]
        crate::config::broker::BrokerKind::RabbitMq => {
            use crate::adapters::broker::rabbitmq;
            let source = rabbitmq::subscribe(
                broker.rabbitmq.clone(),
                rabbitmq::Subscription {
                    topic: b.topic.clone(),
                    subscription_id: b.subscription_id.clone(),
                    parallelism: broker.parallelism,
                },
                readiness,
            )
            .await
            .map_err(subscribe_failed)?;
            Ok(Box::new(source))
        }
        #[cfg(feature = "pubsub")]
        crate::config::broker::BrokerKind::GooglePubSub => {
            use crate::adapters::broker::pubsub;
            let h = health.clone();
            let liveness: pubsub::Liveness = Arc::new(move |reason| h.set_unhealthy(reason));
            let source = pubsub::subscribe_with(
                broker.googlepubsub.clone(),
                pubsub::Target {
                    project_id: broker.googlepubsub.project_id.clone(),
                    topic: b.topic.clone(),
                    subscription_id: b.subscription_id.clone(),
                    parallelism: broker.parallelism,
                    emulator_host: crate::config::env::non_empty(env, "PUBSUB_EMULATOR_HOST"),
                },
                readiness,
                liveness,
            )
            .await
            .map_err(subscribe_failed)?;
            Ok(Box::new(source))
        }
        #[allow(unreachable_patterns)]
        kind => Err(anyhow!(
            "failed to create subscriber: this build has no {} broker (build with --features {})",
            kind.as_str(),
            kind.feature()
        )),
    }
}

/// Loads `broker.yaml` (and its environment overrides), logging what it found.
pub(super) fn broker_config(env: &dyn EnvSource) -> Result<BrokerConfig> {
    let broker = crate::config::broker::load(env).map_err(|e| {
        tracing::error!(error = %e, "Failed to create subscriber");
        anyhow!("failed to create subscriber: {e}")
    })?;
    for w in &broker.warnings {
        tracing::warn!(file = %w.file.display(), line = w.line, path = %w.path, "{}", w.message);
    }
    match &broker.file {
        Some(f) => tracing::info!(
            "Broker configuration loaded from {}: type={} parallelism={}",
            f.display(),
            broker.kind.as_str(),
            broker.parallelism
        ),
        None => tracing::info!(
            "No broker config file found, using defaults and environment: type={} parallelism={}",
            broker.kind.as_str(),
            broker.parallelism
        ),
    }
    if broker.log_config {
        tracing::info!("Broker configuration: {}", broker.to_log_json());
    }
    Ok(broker)
}
