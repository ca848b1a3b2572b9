//! Google Pub/Sub (feature `pubsub`): the subscriber the serve loop consumes and the publisher
//! of `adapter publish`, with the HyperFleet broker library's naming — subscription
//! `projects/<project_id>/subscriptions/<subscription_id>` on topic
//! `projects/<project_id>/topics/<topic>`, dead-letter topic `<subscription_id>-dlq`.
//!
//! With `create_topic_if_missing` / `create_subscription_if_missing` the topic (and the
//! dead-letter topic) and the subscription are created with the `broker.yaml` settings;
//! otherwise they must exist. `PUBSUB_EMULATOR_HOST` points every client at the emulator with
//! anonymous credentials; otherwise Application Default Credentials are used.
//!
//! The streaming pull retries transient errors by itself, so the subscription is also probed
//! (`GetSubscription`) every [`PROBE_EVERY`]: readiness is the probe *and* the stream. It goes
//! false as soon as either fails, and true again only once the subscription answers and the
//! stream has been reopened on it — never between retries while it is still missing.
//!
//! A lost subscription (the emulator restarted empty, someone deleted it) is recreated with
//! its topic as at startup when `create_*_if_missing` allow it. Whatever cannot be recovered
//! within `unhealthy_after` fails liveness (`/healthz`), so Kubernetes restarts the pod instead
//! of leaving it not-ready for ever.

use crate::config::broker::PubSubConfig;
use crate::domain::event::{BinaryAttributes, CloudEvent, EventError};
use crate::ports::{BrokerError, Delivery, ErrorKind, EventSource};
use crate::retry::{Policy, Schedule};
use async_trait::async_trait;
use google_cloud_gax::error::rpc::Code;
use google_cloud_pubsub::client::{Publisher, Subscriber, SubscriptionAdmin, TopicAdmin};
use google_cloud_pubsub::model::{
    DeadLetterPolicy, ExpirationPolicy, Message, RetryPolicy, Subscription as PsSubscription,
};
use google_cloud_pubsub::subscriber::handler::Handler;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

pub use super::Readiness;
use super::{StopRequest, Stopper};

/// What one subscription consumes.
#[derive(Debug, Clone)]
pub struct Target {
    pub project_id: String,
    pub topic: String,
    pub subscription_id: String,
    /// Deliveries handed to the serve loop ahead of processing (the loop's parallelism).
    pub parallelism: usize,
    /// `PUBSUB_EMULATOR_HOST` (`host:port`), if set.
    pub emulator_host: Option<String>,
}

impl Target {
    fn topic_name(&self) -> String {
        format!("projects/{}/topics/{}", self.project_id, self.topic)
    }
    fn subscription_name(&self) -> String {
        format!(
            "projects/{}/subscriptions/{}",
            self.project_id, self.subscription_id
        )
    }
    fn dead_letter_topic(&self) -> String {
        format!(
            "projects/{}/topics/{}",
            self.project_id,
            PubSubConfig::dead_letter_topic(&self.subscription_id)
        )
    }
}

fn anonymous() -> google_cloud_auth::credentials::Credentials {
    google_cloud_auth::credentials::anonymous::Builder::new().build()
}

macro_rules! client {
    ($builder:expr, $emulator:expr) => {{
        let b = $builder;
        match $emulator {
            Some(host) => b
                .with_endpoint(format!("http://{host}"))
                .with_credentials(anonymous()),
            None => b,
        }
    }};
}

fn code(e: &google_cloud_pubsub::Error) -> Option<Code> {
    e.status().map(|s| s.code)
}

/// The classification of a Pub/Sub failure: by the RPC's status code, else by the transport
/// failure underneath.
fn gcp_kind(e: &google_cloud_pubsub::Error) -> ErrorKind {
    if e.is_timeout() {
        return ErrorKind::Timeout;
    }
    if e.is_authentication() {
        return ErrorKind::Unauthorized;
    }
    if e.is_connect() || e.is_io() || e.is_transport() {
        return ErrorKind::Unavailable;
    }
    match code(e) {
        Some(Code::NotFound) => ErrorKind::NotFound,
        Some(Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition) => ErrorKind::Conflict,
        Some(Code::InvalidArgument | Code::OutOfRange) => ErrorKind::Invalid,
        Some(Code::PermissionDenied | Code::Unauthenticated) => ErrorKind::Unauthorized,
        Some(Code::DeadlineExceeded) => ErrorKind::Timeout,
        Some(Code::Unavailable | Code::ResourceExhausted) => ErrorKind::Unavailable,
        _ => ErrorKind::Failed,
    }
}

/// A Pub/Sub failure as a broker error: its kind, `message`, and the error as the cause.
fn gcp(e: google_cloud_pubsub::Error, message: String) -> BrokerError {
    BrokerError::new(gcp_kind(&e), message).with_source(e)
}

/// A client that could not be built (bad credentials, an endpoint that cannot be used).
fn unbuilt(e: impl std::error::Error + Send + Sync + 'static, message: String) -> BrokerError {
    BrokerError::failed(message).with_source(e)
}

fn wkt(d: Duration) -> google_cloud_wkt::Duration {
    google_cloud_wkt::Duration::clamp(d.as_secs() as i64, d.subsec_nanos() as i32)
}

/// The admin clients.
struct Admin {
    topics: TopicAdmin,
    subscriptions: SubscriptionAdmin,
}

async fn admin(emulator: Option<&str>) -> Result<Admin, BrokerError> {
    let topics = client!(TopicAdmin::builder(), emulator)
        .build()
        .await
        .map_err(|e| {
            let message = format!("failed to create the Pub/Sub topic admin client: {e}");
            unbuilt(e, message)
        })?;
    let subscriptions = client!(SubscriptionAdmin::builder(), emulator)
        .build()
        .await
        .map_err(|e| {
            let message = format!("failed to create the Pub/Sub subscription admin client: {e}");
            unbuilt(e, message)
        })?;
    Ok(Admin {
        topics,
        subscriptions,
    })
}

/// Makes sure the topic exists (creating it when allowed).
async fn ensure_topic(admin: &Admin, name: &str, create: bool) -> Result<(), BrokerError> {
    match admin.topics.get_topic().set_topic(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if code(&e) == Some(Code::NotFound) && create => {
            match admin.topics.create_topic().set_name(name).send().await {
                Ok(_) => {
                    tracing::info!("Created Pub/Sub topic {name}");
                    Ok(())
                }
                Err(e) if code(&e) == Some(Code::AlreadyExists) => Ok(()),
                Err(e) => {
                    let message = format!("failed to create topic {name}: {e}");
                    Err(gcp(e, message))
                }
            }
        }
        Err(e) if code(&e) == Some(Code::NotFound) => Err(BrokerError::new(
            ErrorKind::NotFound,
            format!(
                "topic {name} does not exist (create it, or set broker.googlepubsub.create_topic_if_missing)"
            ),
        )),
        Err(e) => {
            let message = format!("failed to get topic {name}: {e}");
            Err(gcp(e, message))
        }
    }
}

/// The subscription as `broker.yaml` describes it.
fn subscription_spec(cfg: &PubSubConfig, t: &Target, dead_letter: bool) -> PsSubscription {
    let mut s = PsSubscription::new()
        .set_name(t.subscription_name())
        .set_topic(t.topic_name())
        .set_ack_deadline_seconds(cfg.ack_deadline_seconds as i32)
        .set_enable_message_ordering(cfg.enable_message_ordering);
    if let Some(d) = cfg.message_retention_duration {
        s = s.set_message_retention_duration(wkt(d));
    }
    if let Some(d) = cfg.expiration_ttl {
        // A zero TTL means "never expire": an expiration policy without a ttl.
        let policy = if d.is_zero() {
            ExpirationPolicy::new()
        } else {
            ExpirationPolicy::new().set_ttl(wkt(d))
        };
        s = s.set_expiration_policy(policy);
    }
    if cfg.retry_min_backoff.is_some() || cfg.retry_max_backoff.is_some() {
        let mut r = RetryPolicy::new();
        if let Some(d) = cfg.retry_min_backoff {
            r = r.set_minimum_backoff(wkt(d));
        }
        if let Some(d) = cfg.retry_max_backoff {
            r = r.set_maximum_backoff(wkt(d));
        }
        s = s.set_retry_policy(r);
    }
    if dead_letter {
        s = s.set_dead_letter_policy(
            DeadLetterPolicy::new()
                .set_dead_letter_topic(t.dead_letter_topic())
                .set_max_delivery_attempts(cfg.dead_letter_max_attempts as i32),
        );
    }
    s
}

/// Makes sure the topic and subscription exist. Returns whether the subscription dead-letters.
async fn ensure(admin: &Admin, cfg: &PubSubConfig, t: &Target) -> Result<bool, BrokerError> {
    ensure_topic(admin, &t.topic_name(), cfg.create_topic_if_missing).await?;
    let mut dead_letter_topic = false;
    if cfg.create_topic_if_missing {
        ensure_topic(admin, &t.dead_letter_topic(), true).await?;
        dead_letter_topic = true;
    }
    let name = t.subscription_name();
    let existing = match admin
        .subscriptions
        .get_subscription()
        .set_subscription(&name)
        .send()
        .await
    {
        Ok(s) => s,
        Err(e) if code(&e) == Some(Code::NotFound) && cfg.create_subscription_if_missing => {
            let spec = subscription_spec(cfg, t, dead_letter_topic);
            let create = admin
                .subscriptions
                .create_subscription()
                .with_request(spec.clone())
                .send()
                .await;
            match create {
                Ok(s) => {
                    tracing::info!("Created Pub/Sub subscription {name} on {}", t.topic_name());
                    s
                }
                Err(e) if code(&e) == Some(Code::AlreadyExists) => spec,
                Err(e) => {
                    let message = format!("failed to create subscription {name}: {e}");
                    return Err(gcp(e, message));
                }
            }
        }
        Err(e) if code(&e) == Some(Code::NotFound) => {
            return Err(BrokerError::new(
                ErrorKind::NotFound,
                format!(
                    "subscription {name} does not exist (create it, or set broker.googlepubsub.create_subscription_if_missing)"
                ),
            ));
        }
        Err(e) => {
            let message = format!("failed to get subscription {name}: {e}");
            return Err(gcp(e, message));
        }
    };
    Ok(existing
        .dead_letter_policy
        .as_ref()
        .is_some_and(|p| !p.dead_letter_topic.is_empty()))
}

/// Checks (or creates, as `cfg` allows) the topic, the dead-letter topic and the subscription
/// without consuming. Returns whether the subscription dead-letters.
pub async fn prepare(cfg: &PubSubConfig, target: &Target) -> Result<bool, BrokerError> {
    let admin = admin(target.emulator_host.as_deref()).await?;
    ensure(&admin, cfg, target).await
}

/// The consuming side handed to the serve loop.
pub struct PubSubSource {
    rx: mpsc::Receiver<PubSubDelivery>,
    stop: Stopper,
}

/// Told `Some(reason)` when the subscription stayed unusable for `unhealthy_after` (liveness
/// should fail), `None` once it works again.
pub type Liveness = Arc<dyn Fn(Option<String>) + Send + Sync>;

/// Subscribes: checks (or creates) the topic and subscription, then starts the streaming pull.
/// A failure to reach Pub/Sub or a missing topic/subscription is a startup error.
pub async fn subscribe(
    cfg: PubSubConfig,
    target: Target,
    readiness: Readiness,
) -> Result<PubSubSource, BrokerError> {
    subscribe_with(cfg, target, readiness, Arc::new(|_| {})).await
}

/// [`subscribe`], reporting a subscription that stays unusable to `liveness`.
pub async fn subscribe_with(
    cfg: PubSubConfig,
    target: Target,
    readiness: Readiness,
    liveness: Liveness,
) -> Result<PubSubSource, BrokerError> {
    let emulator = target.emulator_host.clone();
    let admin = admin(emulator.as_deref()).await?;
    let dead_letters = ensure(&admin, &cfg, &target).await?;
    let subscriber = client!(Subscriber::builder(), emulator.as_deref())
        .build()
        .await
        .map_err(|e| {
            let message = format!("failed to create the Pub/Sub subscriber: {e}");
            unbuilt(e, message)
        })?;
    tracing::info!(
        "Consuming Pub/Sub subscription {} (topic {}, dead-letter topic: {})",
        target.subscription_name(),
        target.topic_name(),
        if dead_letters {
            target.dead_letter_topic()
        } else {
            "none".into()
        }
    );
    let (tx, rx) = mpsc::channel(target.parallelism.max(1));
    let (stopper, stop_rx) = Stopper::new();
    let state = Arc::new(ReadyState::new(readiness));
    tokio::spawn(pump(
        cfg,
        target,
        admin,
        subscriber,
        dead_letters,
        tx,
        stop_rx,
        state,
        liveness,
    ));
    Ok(PubSubSource { rx, stop: stopper })
}

/// Readiness as the conjunction of the stream and the probe, reported on every change.
struct ReadyState {
    stream: AtomicBool,
    probe: AtomicBool,
    reported: std::sync::Mutex<Option<bool>>,
    readiness: Readiness,
}

impl ReadyState {
    fn new(readiness: Readiness) -> Self {
        ReadyState {
            stream: AtomicBool::new(false),
            probe: AtomicBool::new(true),
            reported: std::sync::Mutex::new(None),
            readiness,
        }
    }

    fn set_stream(&self, up: bool) {
        self.stream.store(up, Ordering::SeqCst);
        self.report();
    }

    fn set_probe(&self, up: bool) {
        self.probe.store(up, Ordering::SeqCst);
        self.report();
    }

    fn report(&self) {
        let mut reported = self.reported.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.stream.load(Ordering::SeqCst) && self.probe.load(Ordering::SeqCst);
        if *reported != Some(now) {
            *reported = Some(now);
            (self.readiness)(now);
        }
    }
}

/// How often the subscription is probed for readiness (and the probe's deadline): an outage
/// shows on `/readyz` within about twice this.
pub const PROBE_EVERY: Duration = Duration::from_secs(2);

/// Probes the subscription (`GetSubscription`) and reports changes to `state`.
async fn probe(admin: Arc<Admin>, name: String, state: Arc<ReadyState>) {
    let mut tick = tokio::time::interval(PROBE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut up = true;
    loop {
        tick.tick().await;
        let ok = tokio::time::timeout(
            PROBE_EVERY,
            admin
                .subscriptions
                .get_subscription()
                .set_subscription(&name)
                .send(),
        )
        .await;
        let now_up = matches!(ok, Ok(Ok(_)));
        if now_up != up {
            up = now_up;
            state.set_probe(up);
            match ok {
                Ok(Ok(_)) => tracing::info!("Pub/Sub subscription {name} reachable again"),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "Pub/Sub subscription {name} unreachable")
                }
                Err(_) => {
                    tracing::error!("Pub/Sub subscription {name} unreachable: probe timed out")
                }
            }
        }
    }
}

/// Forwards messages until stopped, reopening the stream when it fails. `MessageStream::next`
/// is never raced against anything else: dropping it mid-poll can lose a message the client
/// then keeps leased. A stop cancels the stream's shutdown token instead, which `next` sees.
#[allow(clippy::too_many_arguments)]
async fn pump(
    cfg: PubSubConfig,
    target: Target,
    admin: Admin,
    subscriber: Subscriber,
    mut dead_letters: bool,
    tx: mpsc::Sender<PubSubDelivery>,
    stop: StopRequest,
    state: Arc<ReadyState>,
    liveness: Liveness,
) {
    let admin = Arc::new(admin);
    let name = target.subscription_name();
    let prober = tokio::spawn(probe(admin.clone(), name.clone(), state.clone()));
    let (token_tx, token_rx) = tokio::sync::watch::channel(None);
    let stopping = Stopping::default();
    let stopper = stopping.watch(stop, token_rx);
    let mut recovery = Recovery::new(cfg.unhealthy_after, liveness);
    loop {
        let mut stream = open_stream(&subscriber, &name, &cfg, &target);
        let _ = token_tx.send(Some(stream.shutdown_token()));
        if stopping.is_set() {
            break;
        }
        // Opened on a subscription that answered just now (at startup, or in the recovery
        // below): ready, as far as the stream goes.
        state.set_stream(true);
        let consumed = consume(&mut stream, &mut recovery, &tx, dead_letters, &stopping).await;
        state.set_stream(false);
        let Consumed::Failed(error) = consumed else {
            break;
        };
        tracing::error!(error = %error, "Pub/Sub streaming pull failed; checking the subscription before resubscribing");
        let recovered = recover(&admin, &cfg, &target, &mut recovery, &stopping, error).await;
        match recovered {
            Some(dl) => dead_letters = dl,
            None => break,
        }
    }
    state.set_stream(false);
    prober.abort();
    if let Ok(Ok(Some(done))) = tokio::time::timeout(Duration::from_secs(25), stopper).await {
        let _ = done.send(());
    }
}

/// Whether the pump was asked to stop, and a wake-up for a pump waiting to reopen.
#[derive(Clone, Default)]
struct Stopping {
    set: Arc<AtomicBool>,
    notify: Arc<tokio::sync::Notify>,
}

type TokenWatch =
    tokio::sync::watch::Receiver<Option<google_cloud_pubsub::subscriber::ShutdownToken>>;

impl Stopping {
    fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Waits for the stop request, then marks the pump stopping and cancels the current
    /// stream (at most 20 s) or the wait to reopen it. Ends with the requester's reply channel.
    fn watch(
        &self,
        stop: StopRequest,
        mut tokens: TokenWatch,
    ) -> tokio::task::JoinHandle<Option<tokio::sync::oneshot::Sender<()>>> {
        let this = self.clone();
        tokio::spawn(async move {
            let done = stop.await.ok();
            this.set.store(true, Ordering::SeqCst);
            this.notify.notify_one();
            let token = tokens.borrow_and_update().clone();
            if let Some(token) = token {
                let _ = tokio::time::timeout(Duration::from_secs(20), token.shutdown()).await;
            }
            done
        })
    }
}

/// A streaming pull on `name` with the config's flow control.
fn open_stream(
    subscriber: &Subscriber,
    name: &str,
    cfg: &PubSubConfig,
    target: &Target,
) -> google_cloud_pubsub::subscriber::MessageStream {
    subscriber
        .subscribe(name.to_string())
        .set_max_outstanding_messages(
            cfg.max_outstanding_messages
                .unwrap_or((target.parallelism.max(1) * 2) as i64),
        )
        .set_max_outstanding_bytes(cfg.max_outstanding_bytes)
        // Leases are extended by the subscription's ack deadline, not the library's 60 s:
        // whatever this process held but never finished (a crash, a shutdown) is redelivered
        // within `ack_deadline_seconds`.
        .set_max_lease_extension(Duration::from_secs(cfg.ack_deadline_seconds as u64))
        .build()
}

/// How a stream ended.
enum Consumed {
    /// Shutdown: asked to stop, or the serve loop is gone.
    Stop,
    /// The stream failed or ended on its own (the cause).
    Failed(String),
}

/// Hands every message of `stream` to the serve loop until the stream ends.
async fn consume(
    stream: &mut google_cloud_pubsub::subscriber::MessageStream,
    recovery: &mut Recovery,
    tx: &mpsc::Sender<PubSubDelivery>,
    dead_letters: bool,
    stopping: &Stopping,
) -> Consumed {
    loop {
        match stream.next().await {
            Some(Ok((m, h))) => {
                recovery.working();
                // Handed over as workers free up; a closed loop means shutdown.
                if tx
                    .send(PubSubDelivery::new(m, h, dead_letters))
                    .await
                    .is_err()
                {
                    return Consumed::Stop;
                }
            }
            Some(Err(e)) => return Consumed::Failed(e.to_string()),
            None if stopping.is_set() => return Consumed::Stop,
            None => return Consumed::Failed("the stream ended".to_string()),
        }
    }
}

/// After a failed stream: waits (by the recovery schedule) and checks the subscription,
/// recreating it with its topic where the config allows, until it answers. Until then the
/// source is not ready. `Some(dead_letters)` once it answers, `None` when asked to stop.
async fn recover(
    admin: &Admin,
    cfg: &PubSubConfig,
    target: &Target,
    recovery: &mut Recovery,
    stopping: &Stopping,
    mut cause: String,
) -> Option<bool> {
    let name = target.subscription_name();
    loop {
        let delay = recovery.failed(&name, &cause);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stopping.notify.notified() => return None,
        }
        if stopping.is_set() {
            return None;
        }
        match tokio::time::timeout(ENSURE_TIMEOUT, ensure(admin, cfg, target)).await {
            Ok(Ok(dead_letters)) => {
                recovery.recovered();
                tracing::info!("Pub/Sub subscription {name} available; resubscribing");
                return Some(dead_letters);
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "Pub/Sub subscription {name} unusable");
                cause = e.to_string();
            }
            Err(_) => {
                cause = format!("no answer within {ENSURE_TIMEOUT:?}");
                tracing::error!("Pub/Sub subscription {name} unusable: {cause}");
            }
        }
    }
}

/// The deadline of one check-or-recreate of the topic and subscription.
const ENSURE_TIMEOUT: Duration = Duration::from_secs(10);

/// The backoff between recovery attempts and the liveness bound.
struct Recovery {
    schedule: Schedule,
    broken_since: Option<tokio::time::Instant>,
    unhealthy_after: Duration,
    unhealthy: bool,
    liveness: Liveness,
}

impl Recovery {
    const FIRST_DELAY: Duration = Duration::from_millis(500);
    // Short: an admin call every few seconds while broken is cheap, and readiness returns
    // within this of Pub/Sub answering again.
    const MAX_DELAY: Duration = Duration::from_secs(5);

    fn new(unhealthy_after: Duration, liveness: Liveness) -> Self {
        // Never past the liveness bound, so it is noticed on time.
        let max = Self::MAX_DELAY.min(unhealthy_after.max(Self::FIRST_DELAY));
        let policy = Policy::doubling(Self::FIRST_DELAY, max);
        Recovery {
            schedule: policy.schedule("Pub/Sub subscription recovery"),
            broken_since: None,
            unhealthy_after,
            unhealthy: false,
            liveness,
        }
    }

    /// A message arrived: the subscription works.
    fn working(&mut self) {
        self.schedule.reset();
        self.recovered();
    }

    /// The subscription answers again (the stream is about to reopen on it). The backoff is
    /// kept until a message arrives, so a stream that keeps failing does not spin.
    fn recovered(&mut self) {
        self.broken_since = None;
        if self.unhealthy {
            self.unhealthy = false;
            (self.liveness)(None);
        }
    }

    /// Another failed attempt (`cause`): fails liveness once the subscription has been
    /// unusable for `unhealthy_after`; returns the wait before the next attempt.
    fn failed(&mut self, name: &str, cause: &str) -> Duration {
        let since = *self
            .broken_since
            .get_or_insert_with(tokio::time::Instant::now);
        if !self.unhealthy && since.elapsed() >= self.unhealthy_after {
            self.unhealthy = true;
            let reason = format!(
                "Pub/Sub subscription {name} unusable for more than {:?} (broker.googlepubsub.unhealthy_after)",
                self.unhealthy_after
            );
            tracing::error!("{reason}; failing liveness");
            (self.liveness)(Some(reason));
        }
        self.schedule.next(&cause, None).unwrap_or_default()
    }
}

#[async_trait]
impl EventSource for PubSubSource {
    async fn next(&mut self) -> Option<Box<dyn Delivery>> {
        self.rx
            .recv()
            .await
            .map(|d| Box::new(d) as Box<dyn Delivery>)
    }

    async fn close(&mut self) {
        // Deliveries handed over but not taken are nacked (dropping a handler nacks it) while
        // the stream still accepts nacks; then the stream is stopped.
        self.rx.close();
        while let Ok(d) = self.rx.try_recv() {
            drop(d);
        }
        self.stop.stop().await;
    }
}

/// One message: its data, the CloudEvent attributes of a binary-mode message, and its handler.
struct PubSubDelivery {
    body: Vec<u8>,
    binary: Option<BinaryAttributes>,
    id: String,
    handler: Handler,
    dead_letters: bool,
}

impl PubSubDelivery {
    fn new(m: Message, handler: Handler, dead_letters: bool) -> Self {
        PubSubDelivery {
            binary: binary_attributes(&m),
            body: m.data.to_vec(),
            id: m.message_id.clone(),
            handler,
            dead_letters,
        }
    }
}

#[async_trait]
impl Delivery for PubSubDelivery {
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
        self.handler.ack();
        Ok(())
    }

    /// With a dead-letter policy: nack, so Pub/Sub moves it to the dead-letter topic after
    /// `dead_letter_max_attempts` (with the subscription's retry backoff). Without one a nack
    /// would redeliver it forever, so it is acknowledged (dropped) instead.
    async fn reject(self: Box<Self>) -> Result<(), BrokerError> {
        if self.dead_letters {
            self.handler.nack();
        } else {
            self.handler.ack();
        }
        Ok(())
    }
}

/// The CloudEvent attributes of a binary-mode message (its `ce-*` attributes) and its content
/// type (the `content-type` attribute, else `ce-datacontenttype`); `None` for a structured-mode
/// message, whose data is the whole event.
pub fn binary_attributes(m: &Message) -> Option<BinaryAttributes> {
    let mut attributes = Map::new();
    for (k, v) in &m.attributes {
        if let Some(name) = k.strip_prefix("ce-").or_else(|| k.strip_prefix("ce_")) {
            attributes.insert(name.to_string(), Value::String(v.clone()));
        }
    }
    BinaryAttributes::of(attributes, || {
        m.attributes
            .get("content-type")
            .or_else(|| m.attributes.get("ce-datacontenttype"))
            .cloned()
    })
}

/// Publishes structured-mode CloudEvents to a topic.
pub struct PubSubPublisher {
    publisher: Publisher,
}

impl PubSubPublisher {
    /// Connects to the topic of `target` (creating it when `create_topic_if_missing`).
    pub async fn connect(cfg: &PubSubConfig, target: &Target) -> Result<Self, BrokerError> {
        let emulator = target.emulator_host.as_deref();
        let admin = admin(emulator).await?;
        ensure_topic(&admin, &target.topic_name(), cfg.create_topic_if_missing).await?;
        let publisher = client!(Publisher::builder(target.topic_name()), emulator)
            .build()
            .await
            .map_err(|e| {
                let message = format!("failed to create the Pub/Sub publisher: {e}");
                unbuilt(e, message)
            })?;
        Ok(PubSubPublisher { publisher })
    }

    /// Publishes one message; returns its server-assigned id.
    pub async fn send(&self, body: &[u8]) -> Result<String, BrokerError> {
        self.send_keyed(body, None).await
    }

    /// [`PubSubPublisher::send`] with an ordering key: a subscription with message ordering
    /// delivers the messages of one key in the order published, to one subscriber at a time.
    pub async fn send_keyed(
        &self,
        body: &[u8],
        ordering_key: Option<&str>,
    ) -> Result<String, BrokerError> {
        let m = Message::new()
            .set_data(body.to_vec())
            .set_attributes([("content-type", "application/cloudevents+json")]);
        self.send_message(match ordering_key {
            Some(key) => m.set_ordering_key(key),
            None => m,
        })
        .await
    }

    /// Publishes a prepared message (binary-mode events carry `ce-*` attributes).
    pub async fn send_message(&self, m: Message) -> Result<String, BrokerError> {
        let key = m.ordering_key.clone();
        self.publisher.publish(m).await.map_err(|e| {
            // The client pauses a key after a failed publish; the next publish may go on.
            if !key.is_empty() {
                self.publisher.resume_publish(key);
            }
            let kind = match &e {
                google_cloud_pubsub::error::PublishError::Rpc(rpc) => gcp_kind(rpc),
                _ => ErrorKind::Failed,
            };
            BrokerError::new(kind, format!("failed to publish: {e}")).with_source(e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn recovery_backs_off_to_five_seconds_with_jitter_and_fails_liveness_on_time() {
        let reasons = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Option<String>>::new()));
        let seen = reasons.clone();
        let liveness: Liveness = std::sync::Arc::new(move |r| seen.lock().unwrap().push(r));
        let mut recovery = Recovery::new(Duration::from_secs(30), liveness);
        let start = tokio::time::Instant::now();
        let mut waits = Vec::new();
        while start.elapsed() < Duration::from_secs(40) {
            let wait = recovery.failed("sub", "unavailable");
            waits.push(wait);
            tokio::time::sleep(wait).await;
        }
        let caps = [500, 1000, 2000, 4000];
        for (w, cap) in waits.iter().zip(caps) {
            assert!(*w <= Duration::from_millis(cap), "{waits:?}");
        }
        assert!(
            waits.iter().all(|w| *w <= Duration::from_secs(5)),
            "{waits:?}"
        );
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(distinct.len() > waits.len() / 2, "jitter: {waits:?}");
        let failed = reasons.lock().unwrap().clone();
        assert_eq!(failed.len(), 1, "liveness fails once: {failed:?}");
        assert!(failed[0].as_deref().unwrap().contains("more than 30s"));
        recovery.working();
        assert_eq!(reasons.lock().unwrap().last(), Some(&None), "and recovers");
        assert!(recovery.failed("sub", "again") <= Duration::from_millis(500));
        // A short liveness bound caps the backoff so the failure is noticed on time.
        let mut quick = Recovery::new(Duration::from_secs(2), std::sync::Arc::new(|_| {}));
        assert!((0..30).all(|_| quick.failed("sub", "x") <= Duration::from_secs(2)));
    }

    #[test]
    fn binary_mode_messages_are_their_structured_events() {
        let m = Message::new()
            .set_data(br#"{"id":"c1"}"#.to_vec())
            .set_attributes([
                ("ce-specversion", "1.0"),
                ("ce-id", "e1"),
                ("ce-type", "io.hyperfleet.cluster.updated"),
                ("ce-source", "/sentinel"),
                ("content-type", "application/json"),
                ("other", "x"),
            ]);
        let b = binary_attributes(&m).unwrap();
        assert_eq!(b.content_type.as_deref(), Some("application/json"));
        let e = CloudEvent::from_binary(b, &m.data).unwrap();
        let structured = CloudEvent::parse(
            br#"{"specversion": "1.0", "id": "e1", "type": "io.hyperfleet.cluster.updated",
                "source": "/sentinel", "datacontenttype": "application/json", "data": {"id": "c1"}}"#,
        )
        .unwrap();
        assert_eq!(e, structured);
        let plain = Message::new().set_data(b"{\"specversion\":\"1.0\"}".to_vec());
        assert_eq!(
            binary_attributes(&plain),
            None,
            "structured mode: the data is the event"
        );
    }

    #[test]
    fn subscription_follows_broker_yaml() {
        let cfg = PubSubConfig {
            project_id: "p".into(),
            ack_deadline_seconds: 60,
            message_retention_duration: Some(Duration::from_secs(604_800)),
            expiration_ttl: Some(Duration::ZERO),
            retry_min_backoff: Some(Duration::from_secs(10)),
            retry_max_backoff: Some(Duration::from_secs(600)),
            dead_letter_max_attempts: 7,
            ..Default::default()
        };
        let t = Target {
            project_id: "p".into(),
            topic: "clusters".into(),
            subscription_id: "gcp-adapter".into(),
            parallelism: 1,
            emulator_host: None,
        };
        let s = subscription_spec(&cfg, &t, true);
        assert_eq!(s.name, "projects/p/subscriptions/gcp-adapter");
        assert_eq!(s.topic, "projects/p/topics/clusters");
        assert_eq!(s.ack_deadline_seconds, 60);
        let dl = s.dead_letter_policy.unwrap();
        assert_eq!(dl.dead_letter_topic, "projects/p/topics/gcp-adapter-dlq");
        assert_eq!(dl.max_delivery_attempts, 7);
        assert!(
            s.expiration_policy.unwrap().ttl.is_none(),
            "0 = never expire"
        );
        assert!(
            subscription_spec(&cfg, &t, false)
                .dead_letter_policy
                .is_none()
        );
    }
}
