//! `adapter publish --event FILE`: sends a CloudEvent to the broker of `broker.yaml`, the way
//! the Sentinel does, so an operator can reprocess an event without broker tooling.

use super::cli::PublishArgs;
use crate::config::EnvSource;
use crate::config::broker::{self, BrokerConfig};
use crate::config::env::non_empty;
use crate::domain::event::CloudEvent;
use crate::logging::{self, LogSettings};
use anyhow::{Context, Result, anyhow, bail};

/// The topic: `--topic`, else `HYPERFLEET_BROKER_TOPIC`, else `BROKER_TOPIC`, else
/// `clients.broker.topic` of the adapter config.
fn topic(args: &PublishArgs, env: &dyn EnvSource) -> Result<String> {
    if let Some(t) = args.topic.as_ref().filter(|t| !t.is_empty()) {
        return Ok(t.clone());
    }
    if let Some(t) =
        non_empty(env, "HYPERFLEET_BROKER_TOPIC").or_else(|| non_empty(env, "BROKER_TOPIC"))
    {
        return Ok(t);
    }
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading adapter config {}", path.display()))?;
        let root = crate::yaml::parse(&text)
            .map_err(|e| anyhow!("adapter config {}: {e}", path.display()))?;
        if let Some(t) = root
            .get("clients")
            .and_then(|c| c.get("broker"))
            .and_then(|b| b.get("topic"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
        {
            return Ok(t.to_string());
        }
        bail!(
            "{} has no clients.broker.topic; give --topic",
            path.display()
        );
    }
    bail!("no topic: give --topic, set HYPERFLEET_BROKER_TOPIC, or point -c at the adapter config")
}

pub fn run(args: &PublishArgs, env: &dyn EnvSource) -> Result<i32> {
    logging::init(&LogSettings::bootstrap(env, None, Some("text"), None), true);
    let body = std::fs::read(&args.event)
        .with_context(|| format!("reading event file {}", args.event.display()))?;
    let event = CloudEvent::parse(&body)
        .map_err(|e| anyhow!("{} is not a valid CloudEvent: {e}", args.event.display()))?;
    let topic = topic(args, env)?;
    let cfg = broker::load(env).map_err(|e| anyhow!("{e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let key = args.ordering_key.as_deref().filter(|k| !k.is_empty());
    let target = runtime.block_on(send(&cfg, &topic, &body, key, env))?;
    let keyed = key
        .map(|k| format!(" with ordering key {k}"))
        .unwrap_or_default();
    println!(
        "Published event {} (type {}){keyed} to topic {topic} via {target}",
        event.id, event.kind
    );
    Ok(0)
}

/// Publishes `body`; returns where it went, for the confirmation line.
async fn send(
    cfg: &BrokerConfig,
    topic: &str,
    body: &[u8],
    key: Option<&str>,
    env: &dyn EnvSource,
) -> Result<String> {
    let _ = (topic, body, key, env);
    match cfg.kind {
        #[cfg(feature = "rabbitmq")]
        broker::BrokerKind::RabbitMq => {
            crate::adapters::broker::rabbitmq::publish(&cfg.rabbitmq, topic, body, key)
                .await
                .map_err(|e| anyhow!("failed to publish: {e}"))?;
            Ok(format!(
                "RabbitMQ exchange {} at {}",
                cfg.rabbitmq.exchange_for(topic),
                cfg.rabbitmq.redacted_url()
            ))
        }
        #[cfg(feature = "pubsub")]
        broker::BrokerKind::GooglePubSub => {
            use crate::adapters::broker::pubsub;
            let target = pubsub::Target {
                project_id: cfg.googlepubsub.project_id.clone(),
                topic: topic.to_string(),
                subscription_id: String::new(),
                parallelism: 1,
                emulator_host: non_empty(env, "PUBSUB_EMULATOR_HOST"),
            };
            let p = pubsub::PubSubPublisher::connect(&cfg.googlepubsub, &target)
                .await
                .map_err(|e| anyhow!("failed to publish: {e}"))?;
            let id = p.send_keyed(body, key).await.map_err(|e| anyhow!("{e}"))?;
            Ok(format!(
                "Pub/Sub topic projects/{}/topics/{topic} (message id {id})",
                cfg.googlepubsub.project_id
            ))
        }
        #[allow(unreachable_patterns)]
        kind => bail!(
            "this build has no {} broker (build with --features {})",
            kind.as_str(),
            kind.feature()
        ),
    }
}
