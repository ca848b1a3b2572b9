//! RabbitMQ (feature `rabbitmq`): the subscriber the serve loop consumes and the publisher of
//! `adapter publish`, with the HyperFleet broker library's topology — a durable exchange
//! (`exchange`, else the topic; type `exchange_type`, else `topic`) and a durable queue
//! `<queue>-<subscription_id>` (else `<topic>-<subscription_id>`) bound with an empty routing key.
//!
//! The connection is watched: when it or the channel drops, readiness goes to false, the
//! subscriber reconnects with backoff (redeclaring the topology) and readiness comes back.
//! Messages are acknowledged only after processing, so whatever was in flight at a drop is
//! redelivered by the broker, never lost. Messages may be structured-mode CloudEvents (the body)
//! or binary-mode ones (attributes in `cloudEvents:*` / `cloudEvents_*` headers).

use crate::config::amqp_url::{AmqpScheme, AmqpUrl, AuthMechanism};
use crate::config::broker::RabbitMqConfig;
use crate::domain::event::{BinaryAttributes, CloudEvent, EventError};
use crate::ports::{BrokerError, Delivery, ErrorKind, EventSource};
use crate::retry::Policy;
use async_trait::async_trait;
use futures_util::StreamExt;
use lapin::message::Delivery as AmqpDelivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    BasicRejectOptions, ConfirmSelectOptions, ExchangeBindOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::uri::{
    AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo, SASLMechanism,
};
use lapin::{
    Acker, BasicProperties, Channel, Connect, Connection, ConnectionProperties, ExchangeKind,
};
use serde_json::{Map, Value};
use std::time::Duration;
use tokio::sync::mpsc;

pub use super::Readiness;
use super::{StopRequest, Stopper};

/// Reconnecting after the connection was lost: 0.5 s doubling to 30 s, with full jitter so
/// replicas that lost the same broker do not return in lock-step; until it works or stops.
const RECONNECT: Policy = Policy::doubling(Duration::from_millis(500), Duration::from_secs(30));

/// What one subscription consumes.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub topic: String,
    pub subscription_id: String,
    /// Deliveries handed to the serve loop ahead of processing (the loop's parallelism).
    pub parallelism: usize,
}

impl Subscription {
    /// A subscription to `topic` as `subscription_id`, `parallelism` deliveries ahead.
    pub fn new(
        topic: impl Into<String>,
        subscription_id: impl Into<String>,
        parallelism: usize,
    ) -> Self {
        Subscription {
            topic: topic.into(),
            subscription_id: subscription_id.into(),
            parallelism,
        }
    }

    fn prefetch(&self, cfg: &RabbitMqConfig) -> u16 {
        if cfg.prefetch_count > 0 {
            cfg.prefetch_count
        } else {
            // Unset: enough for every worker plus one waiting each, instead of unbounded.
            (self.parallelism.max(1) * 2).min(u16::MAX as usize) as u16
        }
    }
}

fn short(what: &str, s: &str) -> Result<ShortString, BrokerError> {
    ShortString::try_new(s)
        .map_err(|_| BrokerError::invalid(format!("{what} {s:?} is longer than 255 bytes")))
}

/// The classification of a lapin failure: by the AMQP reply code the broker sent, else by the
/// transport failure underneath.
fn amqp_kind(e: &lapin::Error) -> ErrorKind {
    match e.kind() {
        lapin::ErrorKind::ProtocolError(amqp) => match amqp.kind().get_id() {
            403 | 530 => ErrorKind::Unauthorized,
            404 => ErrorKind::NotFound,
            405 | 406 => ErrorKind::Conflict,
            311 | 402 | 502 | 503 | 540 => ErrorKind::Invalid,
            320 | 506 | 541 => ErrorKind::Unavailable,
            _ => ErrorKind::Failed,
        },
        lapin::ErrorKind::IOError(_)
        | lapin::ErrorKind::RuntimeShutdownError(_)
        | lapin::ErrorKind::InvalidConnectionState(_)
        | lapin::ErrorKind::InvalidChannelState(..) => ErrorKind::Unavailable,
        lapin::ErrorKind::AuthProviderError(_) => ErrorKind::Unauthorized,
        _ => ErrorKind::Failed,
    }
}

/// A lapin failure as a broker error: its kind, `message`, and the lapin error as the cause.
fn amqp(e: lapin::Error, message: String) -> BrokerError {
    BrokerError::new(amqp_kind(&e), message).with_source(e)
}

fn exchange_kind(cfg: &RabbitMqConfig) -> ExchangeKind {
    match cfg.kind() {
        "direct" => ExchangeKind::Direct,
        "fanout" => ExchangeKind::Fanout,
        "headers" => ExchangeKind::Headers,
        _ => ExchangeKind::Topic,
    }
}

/// The URL as lapin's parts, read by amqp091-go's rules rather than lapin's own parser (which
/// takes `amqp://host/` for the empty vhost where Go takes the default vhost `/`).
pub fn lapin_uri(url: &AmqpUrl) -> AMQPUri {
    AMQPUri {
        scheme: match url.scheme {
            AmqpScheme::Amqp => AMQPScheme::AMQP,
            AmqpScheme::Amqps => AMQPScheme::AMQPS,
        },
        authority: AMQPAuthority {
            userinfo: AMQPUserInfo {
                username: url.username.clone(),
                password: url.password.clone(),
            },
            host: url.host.clone(),
            port: url.port,
        },
        vhost: url.vhost.clone(),
        query: AMQPQueryString {
            frame_max: url.frame_size,
            channel_max: url.channel_max,
            heartbeat: url.heartbeat,
            connection_timeout: url.connection_timeout,
            auth_mechanism: url.auth_mechanisms.first().map(|m| match m {
                AuthMechanism::Plain => SASLMechanism::Plain,
                AuthMechanism::AmqPlain => SASLMechanism::AMQPlain,
                AuthMechanism::External => SASLMechanism::External,
            }),
        },
    }
}

/// The TLS files named in the URL's query (`cacertfile`, `certfile` + `keyfile`), read.
fn tls_config(url: &AmqpUrl) -> Result<OwnedTLSConfig, BrokerError> {
    if url.server_name.is_some() {
        // lapin verifies the certificate against the URL's host; it has no separate name.
        return Err(BrokerError::invalid(
            "rabbitmq.url: server_name_indication is not supported; put the \
                    certificate's host name in the URL instead",
        ));
    }
    let read = |what: &str, path: &str| {
        std::fs::read(path).map_err(|e| {
            BrokerError::invalid(format!("rabbitmq.url: cannot read {what} {path}: {e}"))
                .with_source(e)
        })
    };
    let cert_chain = match &url.cacertfile {
        Some(p) => Some(String::from_utf8(read("cacertfile", p)?).map_err(|_| {
            BrokerError::invalid(format!("rabbitmq.url: cacertfile {p} is not PEM text"))
        })?),
        None => None,
    };
    let identity = match (&url.certfile, &url.keyfile) {
        (Some(c), Some(k)) => Some(OwnedIdentity::PKCS8 {
            pem: read("certfile", c)?,
            key: read("keyfile", k)?,
        }),
        (None, None) => None,
        _ => {
            return Err(BrokerError::invalid(
                "rabbitmq.url: certfile and keyfile must be given together",
            ));
        }
    };
    Ok(OwnedTLSConfig {
        identity,
        cert_chain,
    })
}

/// Connects and opens a channel.
async fn connect(cfg: &RabbitMqConfig, name: &str) -> Result<(Connection, Channel), BrokerError> {
    let props = ConnectionProperties::default().with_connection_name(name.into());
    let url = AmqpUrl::parse(&cfg.url).map_err(|e| {
        BrokerError::invalid(format!(
            "rabbitmq.url {} is invalid: {e}",
            cfg.redacted_url()
        ))
    })?;
    let tls = tls_config(&url)?;
    let runtime = lapin::runtime::default_runtime().map_err(|e| {
        amqp(
            e.clone(),
            format!("failed to start the AMQP client runtime: {e}"),
        )
    })?;
    let conn = lapin_uri(&url)
        .connect_with_config(props, tls, runtime)
        .await
        .map_err(|e| {
            let message = format!(
                "failed to connect to RabbitMQ at {}: {e}",
                cfg.redacted_url()
            );
            amqp(e, message)
        })?;
    let channel = conn
        .create_channel()
        .await
        .map_err(|e| amqp(e.clone(), format!("failed to open a RabbitMQ channel: {e}")))?;
    Ok((conn, channel))
}

/// Declares the durable exchange of `topic`.
async fn declare_exchange(
    channel: &Channel,
    cfg: &RabbitMqConfig,
    topic: &str,
) -> Result<String, BrokerError> {
    let exchange = cfg.exchange_for(topic);
    channel
        .exchange_declare(
            short("exchange", &exchange)?,
            exchange_kind(cfg),
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| {
            amqp(
                e.clone(),
                format!("failed to declare exchange {exchange:?}: {e}"),
            )
        })?;
    Ok(exchange)
}

/// What a subscription consumes on its channel: one consumer per queue, as one stream.
struct Consumers {
    tags: Vec<ShortString>,
    /// Every consumer's deliveries; `None` when one of them ends (cancelled by the broker).
    stream: futures_util::stream::SelectAll<ConsumerStream>,
}

type ConsumerStream =
    futures_util::stream::BoxStream<'static, Option<Result<AmqpDelivery, lapin::Error>>>;

/// Declares the exchange and the subscription's queue(s), binds them, sets the prefetch and
/// starts consuming.
async fn consume(
    cfg: &RabbitMqConfig,
    sub: &Subscription,
) -> Result<(Connection, Channel, Consumers), BrokerError> {
    let what = format!("connecting to RabbitMQ at {}", cfg.redacted_url());
    bounded(&what, CONNECT_TIMEOUT, consume_unbounded(cfg, sub)).await
}

/// The type of RabbitMQ's consistent-hash exchange (plugin `rabbitmq_consistent_hash_exchange`).
const CONSISTENT_HASH: &str = "x-consistent-hash";

/// Keyed delivery: declares the consistent-hash exchange of the subscription, bound to the
/// topic's exchange as the plain queue would be; returns its name.
async fn declare_hash_exchange(
    channel: &Channel,
    cfg: &RabbitMqConfig,
    sub: &Subscription,
    exchange: &str,
) -> Result<String, BrokerError> {
    let hash = cfg.hash_exchange_for(&sub.topic, &sub.subscription_id);
    let mut args = FieldTable::default();
    args.insert(
        "hash-header".into(),
        AMQPValue::LongString(cfg.hash_header().into()),
    );
    channel
        .exchange_declare(
            short("exchange", &hash)?,
            ExchangeKind::Custom(CONSISTENT_HASH.into()),
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            args,
        )
        .await
        .map_err(|e| {
            // 503 COMMAND_INVALID: the broker does not know the exchange type.
            let hint = if amqp_kind(&e) == ErrorKind::Invalid {
                " (broker.rabbitmq.hash_queues needs the broker's rabbitmq_consistent_hash_exchange plugin: rabbitmq-plugins enable rabbitmq_consistent_hash_exchange)"
            } else {
                ""
            };
            amqp(
                e.clone(),
                format!("failed to declare the consistent-hash exchange {hash:?}: {e}{hint}"),
            )
        })?;
    channel
        .exchange_bind(
            short("exchange", &hash)?,
            short("exchange", exchange)?,
            "".into(),
            ExchangeBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| {
            let message = format!("failed to bind exchange {hash:?} to exchange {exchange:?}: {e}");
            amqp(e, message)
        })?;
    Ok(hash)
}

async fn consume_unbounded(
    cfg: &RabbitMqConfig,
    sub: &Subscription,
) -> Result<(Connection, Channel, Consumers), BrokerError> {
    let (conn, channel) =
        connect(cfg, &format!("hyperfleet-adapter/{}", sub.subscription_id)).await?;
    let exchange = declare_exchange(&channel, cfg, &sub.topic).await?;
    // The plain topology: one durable queue bound with an empty routing key. Keyed delivery:
    // N quorum queues with single-active-consumer, each bound to the consistent-hash exchange
    // with weight 1.
    let (source, binding_key, queue_args) = if cfg.hash_queues > 0 {
        let hash = declare_hash_exchange(&channel, cfg, sub, &exchange).await?;
        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        args.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
        (hash, "1", args)
    } else {
        (exchange, "", FieldTable::default())
    };
    let queues = cfg.queues_for(&sub.topic, &sub.subscription_id);
    for queue in &queues {
        channel
            .queue_declare(
                short("queue", queue)?,
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                queue_args.clone(),
            )
            .await
            .map_err(|e| amqp(e.clone(), format!("failed to declare queue {queue:?}: {e}")))?;
        channel
            .queue_bind(
                short("queue", queue)?,
                short("exchange", &source)?,
                binding_key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| {
                let message = format!("failed to bind queue {queue:?} to exchange {source:?}: {e}");
                amqp(e, message)
            })?;
    }
    channel
        .basic_qos(sub.prefetch(cfg), BasicQosOptions::default())
        .await
        .map_err(|e| amqp(e.clone(), format!("failed to set the prefetch count: {e}")))?;
    let mut consumers = Consumers {
        tags: Vec::new(),
        stream: futures_util::stream::SelectAll::new(),
    };
    for (i, queue) in queues.iter().enumerate() {
        // A configured tag names each consumer of the channel apart; empty: the broker's.
        let tag = match (cfg.consumer_tag.as_str(), queues.len()) {
            ("", _) | (_, 1) => cfg.consumer_tag.clone(),
            (tag, _) => format!("{tag}-{i}"),
        };
        let consumer = channel
            .basic_consume(
                short("queue", queue)?,
                short("consumer_tag", &tag)?,
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| {
                amqp(
                    e.clone(),
                    format!("failed to consume from queue {queue:?}: {e}"),
                )
            })?;
        consumers.tags.push(consumer.tag());
        consumers.stream.push(
            consumer
                .map(Some)
                .chain(futures_util::stream::once(async { None }))
                .boxed(),
        );
    }
    Ok((conn, channel, consumers))
}

/// The consuming side handed to the serve loop.
pub struct RabbitSource {
    rx: mpsc::Receiver<RabbitDelivery>,
    stop: Stopper,
}

/// Subscribes: connects, declares the topology and starts consuming. The first connection must
/// succeed (a startup error otherwise); later drops are reconnected in the background.
pub async fn subscribe(
    cfg: RabbitMqConfig,
    sub: Subscription,
    readiness: Readiness,
) -> Result<RabbitSource, BrokerError> {
    if cfg.prefetch_size > 0 {
        tracing::warn!(
            "broker.rabbitmq.prefetch_size={} ignored: RabbitMQ does not implement prefetch by size",
            cfg.prefetch_size
        );
    }
    let first = consume(&cfg, &sub).await?;
    if cfg.hash_queues > 0 {
        tracing::info!(
            "Consuming RabbitMQ queues {} (single active consumer each; consistent-hash exchange {} on header {}, bound to exchange {}, type {}) at {}",
            cfg.queues_for(&sub.topic, &sub.subscription_id).join(", "),
            cfg.hash_exchange_for(&sub.topic, &sub.subscription_id),
            cfg.hash_header(),
            cfg.exchange_for(&sub.topic),
            cfg.kind(),
            cfg.redacted_url()
        );
    } else {
        tracing::info!(
            "Consuming RabbitMQ queue {} (exchange {}, type {}) at {}",
            cfg.queue_for(&sub.topic, &sub.subscription_id),
            cfg.exchange_for(&sub.topic),
            cfg.kind(),
            cfg.redacted_url()
        );
    }
    let (tx, rx) = mpsc::channel(sub.parallelism.max(1));
    let (stopper, stop_rx) = Stopper::new();
    tokio::spawn(pump(cfg, sub, first, tx, stop_rx, readiness));
    Ok(RabbitSource { rx, stop: stopper })
}

/// Forwards deliveries until stopped, reconnecting whenever the connection drops.
async fn pump(
    cfg: RabbitMqConfig,
    sub: Subscription,
    first: (Connection, Channel, Consumers),
    tx: mpsc::Sender<RabbitDelivery>,
    mut stop: StopRequest,
    readiness: Readiness,
) {
    let (mut conn, mut channel, mut consumer) = first;
    readiness(true);
    loop {
        // Forward deliveries until the stream breaks or a stop is asked for.
        let lost = loop {
            tokio::select! {
                done = &mut stop => {
                    close(&conn, &channel, &consumer.tags).await;
                    readiness(false);
                    if let Ok(done) = done {
                        let _ = done.send(());
                    }
                    return;
                }
                next = consumer.stream.next() => match next.flatten() {
                    Some(Ok(d)) => {
                        let delivery = RabbitDelivery::from_amqp(d);
                        if tx.send(delivery).await.is_err() {
                            // The loop is gone: unacked messages go back to the queue.
                            close(&conn, &channel, &consumer.tags).await;
                            return;
                        }
                    }
                    Some(Err(e)) => break e.to_string(),
                    None => break "the consumer was cancelled".to_string(),
                },
            }
        };
        readiness(false);
        tracing::error!(error = %lost, "RabbitMQ connection lost, reconnecting");
        // `lost` becomes the cause the first retry line names.
        let mut schedule = RECONNECT.schedule("RabbitMQ reconnect");
        let mut cause = lost;
        loop {
            let delay = schedule.next(&cause, None).unwrap_or_default();
            tokio::select! {
                done = &mut stop => {
                    if let Ok(done) = done {
                        let _ = done.send(());
                    }
                    return;
                }
                _ = tokio::time::sleep(delay) => {}
            }
            match consume(&cfg, &sub).await {
                Ok((c, ch, cons)) => {
                    (conn, channel, consumer) = (c, ch, cons);
                    tracing::info!("RabbitMQ connection restored, consuming again");
                    readiness(true);
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "RabbitMQ reconnect failed");
                    cause = e.to_string();
                }
            }
        }
    }
}

async fn close(conn: &Connection, channel: &Channel, tags: &[ShortString]) {
    for tag in tags {
        let _ = channel
            .basic_cancel(tag.clone(), BasicCancelOptions::default())
            .await;
    }
    let _ = conn.close(200, "adapter shutting down".into()).await;
}

#[async_trait]
impl EventSource for RabbitSource {
    async fn next(&mut self) -> Option<Box<dyn Delivery>> {
        loop {
            let d = self.rx.recv().await?;
            if d.acker.usable() {
                return Some(Box::new(d));
            }
            // Taken from a connection that has since dropped: the broker redelivers it, so
            // processing it now would only process it twice.
            tracing::debug!("Skipping a delivery from a closed channel; the broker redelivers it");
        }
    }

    async fn close(&mut self) {
        // Deliveries already handed over but not yet taken go back to the queue on close.
        self.rx.close();
        self.stop.stop().await;
    }
}

/// One message: its body, the CloudEvent attributes of a binary-mode message, its id for logs
/// and the acker of its channel.
struct RabbitDelivery {
    body: Vec<u8>,
    binary: Option<BinaryAttributes>,
    id: String,
    acker: Acker,
}

impl RabbitDelivery {
    fn from_amqp(d: AmqpDelivery) -> Self {
        RabbitDelivery {
            id: message_id(&d.properties, d.delivery_tag),
            binary: binary_attributes(&d.properties),
            body: d.data,
            acker: d.acker,
        }
    }
}

/// The `message_id` property when the publisher set one (it travels with a dead-lettered
/// copy), else `delivery-tag:<n>` (the channel's tag, all RabbitMQ has for it).
fn message_id(props: &BasicProperties, delivery_tag: u64) -> String {
    match props.message_id() {
        Some(id) if !id.as_str().is_empty() => id.as_str().to_string(),
        _ => format!("delivery-tag:{delivery_tag}"),
    }
}

/// The longest an ack or a reject may take: the frame is only written, so a blocked
/// connection is the only way to reach it; the broker then redelivers the message.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest connecting (TCP, TLS, AMQP handshake) plus declaring the topology may take: a
/// broker that accepts the connection but never answers fails the attempt instead of hanging.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// `fut` bounded by `limit`; the error names `what` and the limit.
async fn bounded<T>(
    what: &str,
    limit: Duration,
    fut: impl std::future::Future<Output = Result<T, BrokerError>>,
) -> Result<T, BrokerError> {
    tokio::time::timeout(limit, fut).await.unwrap_or_else(|_| {
        Err(BrokerError::new(
            ErrorKind::Timeout,
            format!("{what} did not complete within {limit:?}"),
        ))
    })
}

#[async_trait]
impl Delivery for RabbitDelivery {
    fn payload(&self) -> &[u8] {
        &self.body
    }

    fn event(&mut self) -> Result<CloudEvent, EventError> {
        CloudEvent::from_message(self.binary.take(), &self.body)
    }

    fn message_id(&self) -> Option<String> {
        Some(self.id.clone())
    }

    async fn ack(self: Box<Self>) -> Result<(), BrokerError> {
        let acked = async {
            match self.acker.ack(BasicAckOptions::default()).await {
                Ok(true) => Ok(()),
                Ok(false) if self.acker.poisoned() => Err(BrokerError::new(
                    ErrorKind::Unavailable,
                    "the channel closed before the ack; the broker will redeliver the message",
                )),
                Ok(false) => Err(BrokerError::failed("the message was already settled")),
                Err(e) => Err(BrokerError::new(
                    ErrorKind::Unavailable,
                    format!("ack failed ({e}); the broker will redeliver the message"),
                )
                .with_source(e)),
            }
        };
        bounded("RabbitMQ basic.ack", SETTLE_TIMEOUT, acked).await
    }

    async fn reject(self: Box<Self>) -> Result<(), BrokerError> {
        let rejected = async {
            self.acker
                .reject(BasicRejectOptions { requeue: false })
                .await
                .map(|_| ())
                .map_err(|e| {
                    BrokerError::new(ErrorKind::Unavailable, format!("reject failed: {e}"))
                        .with_source(e)
                })
        };
        bounded("RabbitMQ basic.reject", SETTLE_TIMEOUT, rejected).await
    }
}

fn header_text(v: &AMQPValue) -> Option<String> {
    match v {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_string()),
        AMQPValue::ByteArray(b) => Some(String::from_utf8_lossy(b.as_slice()).into_owned()),
        AMQPValue::Boolean(b) => Some(b.to_string()),
        AMQPValue::ShortShortInt(i) => Some(i.to_string()),
        AMQPValue::ShortShortUInt(i) => Some(i.to_string()),
        AMQPValue::ShortInt(i) => Some(i.to_string()),
        AMQPValue::ShortUInt(i) => Some(i.to_string()),
        AMQPValue::LongInt(i) => Some(i.to_string()),
        AMQPValue::LongUInt(i) => Some(i.to_string()),
        AMQPValue::LongLongInt(i) => Some(i.to_string()),
        _ => None,
    }
}

/// The CloudEvent attributes of a binary-mode message (its `cloudEvents:*` / `cloudEvents_*`
/// headers) and its content type; `None` for a structured-mode message, whose body is the
/// whole event.
pub fn binary_attributes(props: &BasicProperties) -> Option<BinaryAttributes> {
    let headers = props.headers().as_ref()?;
    let mut attributes = Map::new();
    for (k, v) in headers.inner() {
        let key = k.as_str();
        let name = key
            .strip_prefix("cloudEvents:")
            .or_else(|| key.strip_prefix("cloudEvents_"));
        if let (Some(name), Some(text)) = (name, header_text(v)) {
            attributes.insert(name.to_string(), Value::String(text));
        }
    }
    BinaryAttributes::of(attributes, || {
        props
            .content_type()
            .as_ref()
            .map(|c| c.as_str().to_string())
    })
}

/// Publishes structured-mode CloudEvents to the exchange of a topic with the configured routing
/// key, persistent, each confirmed by the broker.
pub struct Publisher {
    conn: Connection,
    channel: Channel,
    exchange: ShortString,
    routing_key: ShortString,
    hash_header: ShortString,
}

impl Publisher {
    /// Connects and declares the exchange of `topic`.
    pub async fn connect(cfg: &RabbitMqConfig, topic: &str) -> Result<Publisher, BrokerError> {
        let what = format!("connecting to RabbitMQ at {}", cfg.redacted_url());
        let (conn, channel) = bounded(
            &what,
            CONNECT_TIMEOUT,
            connect(cfg, "hyperfleet-adapter/publish"),
        )
        .await?;
        let exchange = declare_exchange(&channel, cfg, topic).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| {
                amqp(
                    e.clone(),
                    format!("failed to enable publisher confirms: {e}"),
                )
            })?;
        Ok(Publisher {
            conn,
            channel,
            exchange: short("exchange", &exchange)?,
            routing_key: short("routing_key", &cfg.routing_key)?,
            hash_header: short("hash_header", cfg.hash_header())?,
        })
    }

    /// Publishes one message with `key` (the cluster id) in the `hash_header` header, which
    /// keyed delivery hashes on; waits for its confirmation.
    pub async fn send_keyed(&self, body: &[u8], key: Option<&str>) -> Result<(), BrokerError> {
        let mut props = BasicProperties::default();
        if let Some(key) = key {
            let mut headers = FieldTable::default();
            headers.insert(self.hash_header.clone(), AMQPValue::LongString(key.into()));
            props = props.with_headers(headers);
        }
        self.send_with(body, props).await
    }

    /// Publishes one message and waits for its confirmation.
    pub async fn send(&self, body: &[u8]) -> Result<(), BrokerError> {
        self.send_with(body, BasicProperties::default()).await
    }

    /// [`Publisher::send`] with extra properties (headers for binary-mode events).
    pub async fn send_with(&self, body: &[u8], props: BasicProperties) -> Result<(), BrokerError> {
        let props = if props.content_type().is_none() {
            props.with_content_type("application/cloudevents+json".into())
        } else {
            props
        };
        let confirm = bounded(
            "RabbitMQ publish",
            CONNECT_TIMEOUT,
            self.publish_confirmed(body, props),
        )
        .await?;
        if confirm.is_nack() {
            return Err(BrokerError::failed(format!(
                "the broker refused the message (exchange {})",
                self.exchange
            )));
        }
        Ok(())
    }

    async fn publish_confirmed(
        &self,
        body: &[u8],
        props: BasicProperties,
    ) -> Result<lapin::Confirmation, BrokerError> {
        self.channel
            .basic_publish(
                self.exchange.clone(),
                self.routing_key.clone(),
                BasicPublishOptions::default(),
                body,
                props.with_delivery_mode(2),
            )
            .await
            .map_err(|e| {
                let message = format!("failed to publish to exchange {}: {e}", self.exchange);
                amqp(e, message)
            })?
            .await
            .map_err(|e| {
                amqp(
                    e.clone(),
                    format!("the broker did not confirm the message: {e}"),
                )
            })
    }

    /// Closes the connection.
    pub async fn close(self) {
        let _ = self.conn.close(200, "done".into()).await;
    }
}

/// Publishes one message (see [`Publisher`]).
pub async fn publish(
    cfg: &RabbitMqConfig,
    topic: &str,
    body: &[u8],
    key: Option<&str>,
) -> Result<(), BrokerError> {
    let p = Publisher::connect(cfg, topic).await?;
    let sent = p.send_keyed(body, key).await;
    p.close().await;
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn reconnects_wait_half_a_second_doubling_to_thirty_with_full_jitter() {
        let waits = crate::retry::measured_waits(&RECONNECT, 40).await;
        assert_eq!(waits.len(), 40, "unbounded");
        crate::retry::assert_full_jitter(&waits);
        let caps: Vec<u64> = waits.iter().map(|(_, c)| c.as_millis() as u64).collect();
        assert_eq!(
            caps[..8],
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]
        );
    }
    use lapin::types::LongString;

    #[test]
    fn binary_mode_messages_are_their_structured_events() {
        let mut h = FieldTable::default();
        for (k, v) in [
            ("cloudEvents:specversion", "1.0"),
            ("cloudEvents:id", "e1"),
            ("cloudEvents_type", "io.hyperfleet.cluster.updated"),
            ("cloudEvents:source", "/sentinel"),
            ("cloudEvents:traceparent", "00-abc"),
            ("other", "x"),
        ] {
            h.insert(k.into(), AMQPValue::LongString(LongString::from(v)));
        }
        let props = BasicProperties::default()
            .with_headers(h)
            .with_content_type("application/json".into());
        let binary = binary_attributes(&props).unwrap();
        assert_eq!(binary.content_type.as_deref(), Some("application/json"));
        let e = CloudEvent::from_binary(binary, br#"{"id":"c1"}"#).unwrap();
        let structured = CloudEvent::parse(
            br#"{"specversion": "1.0", "id": "e1", "type": "io.hyperfleet.cluster.updated",
                "source": "/sentinel", "traceparent": "00-abc", "datacontenttype": "application/json",
                "data": {"id": "c1"}}"#,
        )
        .unwrap();
        assert_eq!(e, structured);
        // Structured mode (no CloudEvents headers): the body is the whole event.
        assert_eq!(binary_attributes(&BasicProperties::default()), None);
        let mut other = FieldTable::default();
        other.insert(
            "x-trace".into(),
            AMQPValue::LongString(LongString::from("1")),
        );
        assert_eq!(
            binary_attributes(&BasicProperties::default().with_headers(other)),
            None
        );
    }

    #[tokio::test(start_paused = true)]
    async fn bounded_calls_fail_at_their_limit_naming_the_call() {
        let hung = bounded(
            "RabbitMQ basic.ack",
            SETTLE_TIMEOUT,
            std::future::pending::<Result<(), BrokerError>>(),
        );
        let err = hung.await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert_eq!(
            err.to_string(),
            "RabbitMQ basic.ack did not complete within 10s"
        );
        let quick = bounded("x", SETTLE_TIMEOUT, async { Ok(1) });
        assert_eq!(quick.await, Ok(1));
    }

    #[test]
    fn message_ids_for_logs() {
        let props = BasicProperties::default().with_message_id("m-1".into());
        assert_eq!(message_id(&props, 7), "m-1");
        assert_eq!(message_id(&BasicProperties::default(), 7), "delivery-tag:7");
    }

    #[test]
    fn prefetch_defaults_to_twice_the_parallelism() {
        let sub = Subscription {
            topic: "t".into(),
            subscription_id: "s".into(),
            parallelism: 5,
        };
        assert_eq!(sub.prefetch(&RabbitMqConfig::default()), 10);
        let cfg = RabbitMqConfig {
            prefetch_count: 3,
            ..Default::default()
        };
        assert_eq!(sub.prefetch(&cfg), 3);
    }
}
