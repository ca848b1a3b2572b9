//! The Maestro transport: ManifestWorks for remote clusters. Writes are CloudEvents published
//! over Maestro's gRPC service (`create_request`, `update_request` as a merge patch of the
//! current work, `delete_request`); reads go to its REST API; the Subscribe stream is kept open
//! as the liveness channel (heartbeats within `server_healthiness_timeout`, reconnect with
//! backoff) and drives readiness.

pub mod events;
pub mod proto;
mod recent;
pub mod rest;
mod subscription;

use self::events::{Action, SpecEvent, bundle_of, resource_id};
use self::proto::cloud_event_service_client::CloudEventServiceClient;
use self::proto::{CloudEvent, PublishRequest};
use self::rest::{Rest, to_manifest_work};
use crate::adapters::broker::Readiness;
use crate::config::adapter::MaestroConfig;
use crate::domain::generation::{Decision, decide, validate_manifest_work};
use crate::golang::GoDuration;
use crate::ports::{
    Applied, ErrorKind, Gvk, Operation, Propagation, Selector, Target, Transport, TransportError,
    manifest_identity,
};
use crate::retry::Policy;
use async_trait::async_trait;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

text_error!(
    /// Why the Maestro clients cannot be set up from `clients.maestro`, or a certificate or
    /// token file cannot be used. The text names the field or the file.
    SetupError
);

/// A bearer token read from a file on every use (so rotated tokens are picked up).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenFile(pub PathBuf);

impl TokenFile {
    pub fn read(&self) -> Result<String, SetupError> {
        let text = std::fs::read_to_string(&self.0).map_err(|e| {
            SetupError::from(format!(
                "failed to read token file {}: {e}",
                self.0.display()
            ))
        })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(format!(
                "token file {} is empty or contains only whitespace",
                self.0.display()
            )
            .into());
        }
        Ok(token.to_string())
    }
}

/// How the gRPC channel is secured (the Go adapter's order of precedence).
#[derive(Debug, Clone, PartialEq)]
pub enum GrpcSecurity {
    /// `insecure: true`: plaintext h2c.
    Plaintext,
    /// TLS verifying the server with the CA (plus the system roots); optionally a client
    /// certificate (mTLS) or a bearer token.
    Tls {
        ca_file: PathBuf,
        identity: Option<(PathBuf, PathBuf)>,
        token: Option<TokenFile>,
    },
}

/// Everything the transport needs from `clients.maestro`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `host:port` of the gRPC service.
    pub grpc_address: String,
    /// `http(s)://host:port` of the REST API.
    pub http_address: String,
    pub source_id: String,
    /// Deadline of every Maestro call — each REST request and each gRPC Publish attempt
    /// (`timeout`, default 10s; the Go adapter bounded only REST requests with it).
    pub timeout: Duration,
    /// No heartbeat within this → reconnect (`server_healthiness_timeout`, default 20s).
    pub healthiness_timeout: Duration,
    pub grpc: GrpcSecurity,
    /// `insecure: true`: REST skips certificate verification.
    pub insecure: bool,
    /// The REST trust store: `http_ca_file`, else `ca_file`; none → system roots.
    pub http_ca_file: Option<PathBuf>,
    /// Sent to the REST API too when configured.
    pub token: Option<TokenFile>,
    /// Publish attempts when Maestro is unavailable (`retry_attempts`, total attempts, default 3),
    /// and the first delay (doubling, at most [`MAX_PUBLISH_DELAY`]).
    pub publish_attempts: u32,
    pub publish_backoff: Duration,
    /// Subscribe reconnect backoff: first delay (doubling) and cap.
    pub reconnect_base: Duration,
    pub reconnect_max: Duration,
    /// How often the CA, certificate and key files are checked for changes (new files: the
    /// clients are rebuilt and the stream reopened).
    pub reload_interval: Duration,
}

impl Settings {
    /// Publish while Maestro is unavailable: `publish_attempts` in all, doubling from
    /// `publish_backoff` to [`MAX_PUBLISH_DELAY`], full jitter.
    pub fn publish_policy(&self) -> Policy {
        Policy::doubling(self.publish_backoff, MAX_PUBLISH_DELAY).attempts(self.publish_attempts)
    }

    /// Reopening the subscription: doubling from `reconnect_base` to `reconnect_max`, full
    /// jitter, until it works.
    pub fn reconnect_policy(&self) -> Policy {
        Policy::doubling(self.reconnect_base, self.reconnect_max)
    }

    /// The TLS files whose contents the clients are built from.
    fn tls_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        if let GrpcSecurity::Tls {
            ca_file, identity, ..
        } = &self.grpc
        {
            files.push(ca_file.clone());
            if let Some((c, k)) = identity {
                files.push(c.clone());
                files.push(k.clone());
            }
        }
        files.extend(self.http_ca_file.clone());
        files
    }

    /// The files' contents (missing files read as empty), to notice rotations.
    fn tls_fingerprint(&self) -> Vec<Vec<u8>> {
        self.tls_files()
            .iter()
            .map(|f| std::fs::read(f).unwrap_or_default())
            .collect()
    }
}

fn duration_or(text: &str, key: &str, default: u64) -> Result<Duration, SetupError> {
    if text.trim().is_empty() {
        return Ok(Duration::from_secs(default));
    }
    let d = GoDuration::parse(text)
        .map_err(|e| SetupError::from(format!("clients.maestro.{key}: {e}")))?;
    if d.0 <= 0 {
        return Ok(Duration::from_secs(default));
    }
    Ok(d.to_std())
}

/// The longest wait between two Publish attempts.
pub const MAX_PUBLISH_DELAY: Duration = Duration::from_secs(30);

/// `retry_attempts`: total Publish attempts; unset or below 1 means the default 3 (the
/// `hyperfleet_api.retry_attempts` rule).
fn publish_attempts(configured: i64) -> u32 {
    if configured > 0 {
        u32::try_from(configured).unwrap_or(u32::MAX)
    } else {
        3
    }
}

fn non_empty(s: &str) -> Option<PathBuf> {
    (!s.trim().is_empty()).then(|| PathBuf::from(s))
}

impl Settings {
    /// Validates `clients.maestro` with the Go adapter's messages.
    pub fn from_config(cfg: Option<&MaestroConfig>) -> Result<Settings, SetupError> {
        let cfg = cfg.ok_or("maestro config is required")?;
        let http = cfg.http_server_address.trim();
        if http.is_empty() {
            return Err("maestro server address is required".into());
        }
        let scheme = http.split_once("://").map(|(s, _)| s).unwrap_or_default();
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "MaestroServerAddr must use http:// or https:// scheme (got scheme {scheme:?} in {http:?})"
            ).into());
        }
        if !cfg.insecure && scheme != "https" {
            return Err(format!(
                "MaestroServerAddr must use https:// scheme when Insecure=false (got {http:?}); use https:// URL or set Insecure=true for http:// connections"
            ).into());
        }
        let grpc = cfg.grpc_server_address.trim();
        if grpc.is_empty() {
            return Err("maestro gRPC server address is required".into());
        }
        if cfg.source_id.trim().is_empty() {
            return Err("maestro sourceID is required".into());
        }
        let tls = cfg.auth.tls_config.clone().unwrap_or_default();
        let token = non_empty(&tls.token_file).map(TokenFile);
        let security = if cfg.insecure {
            GrpcSecurity::Plaintext
        } else {
            let ca_file = non_empty(&tls.ca_file).ok_or(
                "no TLS configuration provided: set CAFile (with optional ClientCertFile/ClientKeyFile or TokenFile) or set Insecure=true for plaintext connections",
            )?;
            let identity = match (non_empty(&tls.cert_file), non_empty(&tls.key_file)) {
                (Some(c), Some(k)) => Some((c, k)),
                _ => None,
            };
            GrpcSecurity::Tls {
                ca_file,
                token: if identity.is_none() {
                    token.clone()
                } else {
                    None
                },
                identity,
            }
        };
        Ok(Settings {
            grpc_address: grpc.to_string(),
            http_address: http.to_string(),
            source_id: cfg.source_id.trim().to_string(),
            timeout: duration_or(&cfg.timeout, "timeout", 10)?,
            healthiness_timeout: duration_or(
                &cfg.server_healthiness_timeout,
                "server_healthiness_timeout",
                20,
            )?,
            grpc: security,
            insecure: cfg.insecure,
            http_ca_file: non_empty(&tls.http_ca_file).or_else(|| non_empty(&tls.ca_file)),
            token,
            publish_attempts: publish_attempts(cfg.retry_attempts),
            publish_backoff: Duration::from_secs(1),
            reconnect_base: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(60),
            reload_interval: Duration::from_secs(30),
        })
    }
}

/// Adds `authorization: Bearer <token>` to every call when a token file is configured.
#[derive(Clone)]
pub struct Auth(Option<TokenFile>);

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(file) = &self.0 {
            let token = file
                .read()
                .map_err(|e| tonic::Status::unauthenticated(e.to_string()))?;
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| tonic::Status::unauthenticated("the token is not a valid header"))?;
            req.metadata_mut().insert("authorization", value);
        }
        Ok(req)
    }
}

pub(crate) type Client = CloudEventServiceClient<InterceptedService<Channel, Auth>>;

fn read_pem(path: &PathBuf) -> Result<Vec<u8>, SetupError> {
    let bytes = std::fs::read(path)
        .map_err(|e| SetupError::from(format!("failed to read {}: {e}", path.display())))?;
    if !String::from_utf8_lossy(&bytes).contains("-----BEGIN") {
        return Err(format!("failed to parse CA certificate from {}", path.display()).into());
    }
    Ok(bytes)
}

fn grpc_client(settings: &Settings) -> Result<Client, SetupError> {
    let failed = |e: &dyn std::fmt::Display| format!("failed to create Maestro work client: {e}");
    let (url, token, tls) = match &settings.grpc {
        GrpcSecurity::Plaintext => (format!("http://{}", settings.grpc_address), None, None),
        GrpcSecurity::Tls {
            ca_file,
            identity,
            token,
        } => {
            let ca = read_pem(ca_file)?;
            let mut tls = tonic::transport::ClientTlsConfig::new()
                .with_native_roots()
                .ca_certificate(tonic::transport::Certificate::from_pem(ca));
            if let Some((cert, key)) = identity {
                let cert = std::fs::read(cert).map_err(|e| {
                    SetupError::from(format!("failed to read {}: {e}", cert.display()))
                })?;
                let key = std::fs::read(key).map_err(|e| {
                    SetupError::from(format!("failed to read {}: {e}", key.display()))
                })?;
                tls = tls.identity(tonic::transport::Identity::from_pem(cert, key));
            }
            (
                format!("https://{}", settings.grpc_address),
                token.clone(),
                Some(tls),
            )
        }
    };
    let mut endpoint = Channel::from_shared(url)
        .map_err(|e| failed(&e))?
        .connect_timeout(Duration::from_secs(3));
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls).map_err(|e| failed(&e))?;
    }
    let channel = endpoint.connect_lazy();
    Ok(CloudEventServiceClient::with_interceptor(
        channel,
        Auth(token),
    ))
}

fn rest_client(settings: &Settings) -> Result<Rest, SetupError> {
    let mut builder = reqwest::Client::builder().timeout(settings.timeout);
    if settings.insecure {
        builder = builder.tls_danger_accept_invalid_certs(true);
    } else if let Some(ca) = &settings.http_ca_file {
        let pem = read_pem(ca)?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                SetupError::from(format!(
                    "failed to parse CA certificate from {}",
                    ca.display()
                ))
            })?;
        builder = builder.tls_certs_only(certs);
    }
    let http = builder
        .build()
        .map_err(|e| SetupError::from(format!("failed to create Maestro HTTP client: {e}")))?;
    Ok(Rest::new(
        http,
        &settings.http_address,
        settings.token.clone(),
        settings.timeout,
    ))
}

/// The clients, rebuilt when the TLS files change.
pub(crate) struct Shared {
    grpc: std::sync::RwLock<Client>,
    rest: std::sync::RwLock<Rest>,
    /// Bumped on every rebuild: the subscription reopens its stream with the new client.
    reloads: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    fn grpc(&self) -> Client {
        self.grpc.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn rest(&self) -> Rest {
        self.rest.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The transport. One per process; its background tasks end when it is dropped.
pub struct MaestroTransport {
    source: String,
    shared: std::sync::Arc<Shared>,
    /// Consumers confirmed registered (looked up once, before the first create).
    consumers: Mutex<HashSet<String>>,
    /// Publish attempts while Maestro is unavailable.
    publish_retry: Policy,
    /// Deadline of one Publish attempt.
    timeout: Duration,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Works published here, read back while the REST view does not show them yet.
    recent: recent::Recent,
}

impl Drop for MaestroTransport {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

const WORK_GROUP: &str = "work.open-cluster-management.io";

/// Rebuilds the clients when the CA, certificate or key files change (certificate rotation).
async fn watch_tls_files(settings: Settings, shared: std::sync::Arc<Shared>) {
    let mut seen = settings.tls_fingerprint();
    loop {
        tokio::time::sleep(settings.reload_interval).await;
        let now = settings.tls_fingerprint();
        if now == seen {
            continue;
        }
        match (grpc_client(&settings), rest_client(&settings)) {
            (Ok(grpc), Ok(rest)) => {
                *shared.grpc.write().unwrap_or_else(|p| p.into_inner()) = grpc;
                *shared.rest.write().unwrap_or_else(|p| p.into_inner()) = rest;
                shared.reloads.send_modify(|n| *n += 1);
                tracing::info!("Maestro TLS files changed: clients rebuilt, reconnecting");
                seen = now;
            }
            (Err(e), _) | (_, Err(e)) => {
                // Half-written files: keep the working clients and look again next time.
                tracing::warn!("Maestro TLS files changed but cannot be used yet: {e}");
            }
        }
    }
}

impl MaestroTransport {
    /// Builds the clients (the gRPC channel connects lazily, as in the Go adapter), starts the
    /// subscription, which reports Maestro's health to `readiness`, and the TLS file watcher.
    pub fn connect(settings: &Settings, readiness: Option<Readiness>) -> Result<Self, SetupError> {
        let (reloads, reload_rx) = tokio::sync::watch::channel(0);
        let shared = std::sync::Arc::new(Shared {
            grpc: std::sync::RwLock::new(grpc_client(settings)?),
            rest: std::sync::RwLock::new(rest_client(settings)?),
            reloads,
        });
        let mut tasks = vec![tokio::spawn(subscription::run(
            shared.clone(),
            reload_rx,
            subscription::Options {
                source: settings.source_id.clone(),
                healthiness_timeout: settings.healthiness_timeout,
                reconnect: settings.reconnect_policy(),
            },
            readiness,
        ))];
        if !settings.tls_files().is_empty() {
            tasks.push(tokio::spawn(watch_tls_files(
                settings.clone(),
                shared.clone(),
            )));
        }
        Ok(MaestroTransport {
            source: settings.source_id.clone(),
            shared,
            consumers: Mutex::default(),
            publish_retry: settings.publish_policy(),
            timeout: settings.timeout,
            tasks,
            recent: recent::Recent::default(),
        })
    }

    /// One Publish, bounded by the `timeout` deadline: a Maestro that holds the call fails it
    /// with DeadlineExceeded instead of holding the event (and its worker) for as long.
    async fn publish_once(&self, event: &CloudEvent) -> Result<(), tonic::Status> {
        // No `grpc-timeout` header: tonic would enforce it too and race this deadline with a
        // vaguer error (Cancelled, "Timeout expired").
        let request = tonic::Request::new(PublishRequest {
            event: Some(event.clone()),
        });
        let mut client = self.shared.grpc();
        match tokio::time::timeout(self.timeout, client.publish(request)).await {
            Ok(answer) => answer.map(|_| ()),
            Err(_) => Err(tonic::Status::deadline_exceeded(format!(
                "Maestro Publish did not answer within {} (clients.maestro.timeout)",
                GoDuration(self.timeout.as_nanos() as i64)
            ))),
        }
    }

    /// Publishes, retrying while Maestro is unavailable. A deadline is not retried: the
    /// event may have been applied, and the next event for the resource re-decides anyway.
    async fn publish(&self, event: CloudEvent) -> Result<(), tonic::Status> {
        let mut schedule = self.publish_retry.schedule("Maestro Publish");
        loop {
            let status = match self.publish_once(&event).await {
                Ok(()) => return Ok(()),
                Err(status) if status.code() == tonic::Code::Unavailable => status,
                Err(status) => return Err(status),
            };
            if schedule.is_last() {
                return Err(status);
            }
            tracing::warn!(
                attempt = schedule.attempt(),
                "Maestro unavailable, retrying publish: {}",
                status.message()
            );
            schedule.wait(&status.message(), None).await;
        }
    }

    /// Refuses a create for a consumer Maestro does not know (asked once per consumer).
    async fn check_consumer(&self, consumer: &str) -> Result<(), TransportError> {
        if self
            .consumers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(consumer)
        {
            return Ok(());
        }
        match self.shared.rest().consumer_exists(consumer).await {
            Ok(true) => {
                self.consumers
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(consumer.to_string());
                Ok(())
            }
            Ok(false) => Err(consumer_not_registered(consumer)),
            // The create itself will tell (the foreign-key error) if the lookup cannot.
            Err(e) => {
                tracing::debug!(consumer, "Maestro consumer lookup failed: {e}");
                Ok(())
            }
        }
    }

    async fn work(&self, consumer: &str, name: &str) -> Result<Option<Value>, TransportError> {
        let id = resource_id(&self.source, consumer, name);
        let shown = self
            .shared
            .rest()
            .bundle(&id)
            .await?
            .map(|b| to_manifest_work(&b));
        Ok(self.recent.read(&id, shown))
    }

    async fn works(&self, consumer: &str) -> Result<Vec<Value>, TransportError> {
        let shown = self
            .shared
            .rest()
            .bundles(&self.source, consumer)
            .await?
            .iter()
            .map(to_manifest_work)
            .map(|w| {
                let id = resource_id(&self.source, consumer, meta(&w, "name"));
                (id, w)
            })
            .collect();
        Ok(self.recent.list(consumer, shown))
    }
}

impl MaestroTransport {
    /// Publishes the update of an existing work: `work`'s labels, annotations and spec merged
    /// into it, at the version read over REST. Returns the patched work.
    async fn patch_work(
        &self,
        consumer: &str,
        name: &str,
        id: &str,
        work: &Value,
        existing: &Value,
    ) -> Result<Value, TransportError> {
        let version = existing
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let mut patched = existing.clone();
        let patch = json!({
            "metadata": {"labels": work["metadata"].get("labels").cloned().unwrap_or(Value::Null),
                         "annotations": work["metadata"].get("annotations").cloned().unwrap_or(Value::Null)},
            "spec": work.get("spec").cloned().unwrap_or(Value::Null),
        });
        crate::adapters::transport::merge_patch(&mut patched, &patch);
        let mut metadata = json!({
            "name": name, "namespace": consumer, "uid": id,
            "resourceVersion": version.to_string(), "generation": version,
            "creationTimestamp": existing.pointer("/metadata/creationTimestamp").cloned().unwrap_or(Value::Null),
        });
        copy_labels_and_annotations(&patched, &mut metadata);
        let bundle = bundle_of(&patched);
        let event = SpecEvent {
            action: Action::Update,
            source: &self.source,
            consumer,
            resource_id: id,
            version,
            metadata: &metadata,
            bundle: Some(&bundle),
            now: chrono::Utc::now(),
        }
        .encode()
        .map_err(|e| work_failed("patch", consumer, name, &e))?;
        self.publish(event)
            .await
            .map_err(|s| unpublished("patch", consumer, name, &s))?;
        self.recent.published(id, &patched);
        Ok(patched)
    }

    /// Publishes the creation of `work` (version 0; Maestro assigns 1) once the consumer is
    /// known to exist. Returns the work as created.
    async fn create_work(
        &self,
        consumer: &str,
        name: &str,
        id: &str,
        mut work: Value,
    ) -> Result<Value, TransportError> {
        self.check_consumer(consumer).await?;
        let mut metadata = json!({
            "name": name, "namespace": consumer, "uid": id,
            "resourceVersion": "0", "creationTimestamp": null,
        });
        copy_labels_and_annotations(&work, &mut metadata);
        let bundle = bundle_of(&work);
        let event = SpecEvent {
            action: Action::Create,
            source: &self.source,
            consumer,
            resource_id: id,
            version: 0,
            metadata: &metadata,
            bundle: Some(&bundle),
            now: chrono::Utc::now(),
        }
        .encode()
        .map_err(|e| work_failed("create", consumer, name, &e))?;
        if let Err(s) = self.publish(event).await {
            if is_unknown_consumer(&s) {
                return Err(consumer_not_registered(consumer));
            }
            return Err(unpublished("create", consumer, name, &s));
        }
        work["metadata"]["uid"] = json!(id);
        work["metadata"]["resourceVersion"] = json!("0");
        self.recent.published(id, &work);
        Ok(work)
    }
}

/// `metadata.labels` and `metadata.annotations` of `from`, where present, into `metadata`.
fn copy_labels_and_annotations(from: &Value, metadata: &mut Value) {
    for key in ["labels", "annotations"] {
        if let Some(v) = from["metadata"].get(key) {
            metadata[key] = v.clone();
        }
    }
}

/// A write to a work that failed before anything was sent.
fn work_failed(
    verb: &str,
    consumer: &str,
    name: &str,
    e: &dyn std::fmt::Display,
) -> TransportError {
    TransportError::failed(format!(
        "failed to {verb} ManifestWork {consumer}/{name}: {e}"
    ))
}

/// A write to a work whose spec event Maestro did not take, classified by its gRPC status.
fn unpublished(verb: &str, consumer: &str, name: &str, s: &tonic::Status) -> TransportError {
    TransportError::new(
        grpc_kind(s),
        format!(
            "failed to {verb} ManifestWork {consumer}/{name}: Failed to publish resource {name}: {}",
            rpc_error(s)
        ),
    )
}

fn consumer_not_registered(consumer: &str) -> TransportError {
    TransportError::new(
        ErrorKind::NotFound,
        format!("consumer {consumer:?} is not registered in Maestro"),
    )
}

/// Whether Maestro refused a create because the consumer does not exist. Maestro's protocol
/// has no code for it: the server passes on its database's foreign-key violation, and the
/// constraint's name (`fk_resources_consumers`) is the only signal it gives — the one the Go
/// adapter checks too (maestro-protocol.md §8.1).
fn is_unknown_consumer(status: &tonic::Status) -> bool {
    status.message().contains("fk_resources_consumers")
}

/// The classification of a gRPC failure, by its status code.
fn grpc_kind(status: &tonic::Status) -> ErrorKind {
    use tonic::Code;
    match status.code() {
        Code::NotFound => ErrorKind::NotFound,
        Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => ErrorKind::Conflict,
        Code::InvalidArgument | Code::OutOfRange | Code::Unimplemented => ErrorKind::Invalid,
        Code::Unauthenticated | Code::PermissionDenied => ErrorKind::Unauthorized,
        Code::DeadlineExceeded => ErrorKind::Timeout,
        Code::Unavailable | Code::ResourceExhausted => ErrorKind::Unavailable,
        _ => ErrorKind::Failed,
    }
}

/// The Go client's rendering of a gRPC error, plus the causes of a local failure (tonic says
/// only "transport error" for a refused connection or a failed TLS handshake).
fn rpc_error(status: &tonic::Status) -> String {
    crate::adapters::with_causes(
        format!(
            "rpc error: code = {:?} desc = {}",
            status.code(),
            status.message()
        ),
        std::error::Error::source(status),
    )
}

fn consumer_of(target: &Target) -> Result<&str, TransportError> {
    match target {
        Target::Maestro { consumer } if !consumer.is_empty() => Ok(consumer),
        Target::Maestro { .. } => Err(TransportError::invalid(
            "consumer name (target cluster) is required: set TransportContext.ConsumerName",
        )),
        Target::Kubernetes => Err(TransportError::invalid(
            "the Maestro transport needs a Maestro target (transport.maestro.target_cluster)",
        )),
    }
}

/// Every manifest of every work (what a get or discover of another kind searches).
fn manifests_of(works: &[Value]) -> impl Iterator<Item = Value> + '_ {
    works.iter().flat_map(|w| {
        w.pointer("/spec/workload/manifests")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    })
}

fn labels_match(obj: &Value, selector: &Selector) -> bool {
    selector.labels.iter().all(|(k, v)| {
        obj.pointer("/metadata/labels")
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
            == Some(v.as_str())
    })
}

fn meta<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[async_trait]
impl Transport for MaestroTransport {
    async fn apply(
        &self,
        manifest: &Value,
        _recreate_on_change: bool,
        target: &Target,
    ) -> Result<Applied, TransportError> {
        let consumer = consumer_of(target)?;
        let (gvk, name) = manifest_identity(manifest)?;
        if !gvk.is_manifest_work() {
            return Err(TransportError::invalid(format!(
                "the Maestro transport applies ManifestWorks ({WORK_GROUP}/v1), not {}",
                gvk.kind
            )));
        }
        validate_manifest_work(manifest).map_err(|e| {
            TransportError::invalid(format!(
                "failed to apply ManifestWork: invalid ManifestWork: {e}"
            ))
        })?;
        let mut work = manifest.clone();
        work["metadata"]["namespace"] = json!(consumer);
        let id = resource_id(&self.source, consumer, name);
        let existing = self
            .work(consumer, name)
            .await
            .map_err(|e| e.context(format!("failed to get ManifestWork {consumer}/{name}")))?;
        // Maestro patches works: there is no recreate.
        let Decision {
            operation,
            reason,
            stale,
        } = decide(&work, existing.as_ref(), false);
        let object = match (operation, existing) {
            (Operation::Skip, Some(existing)) => existing,
            (Operation::Update, Some(existing)) => {
                self.patch_work(consumer, name, &id, &work, &existing)
                    .await?
            }
            _ => self.create_work(consumer, name, &id, work).await?,
        };
        Ok(Applied {
            operation,
            reason,
            object,
            stale,
        })
    }

    async fn get(
        &self,
        gvk: &Gvk,
        namespace: &str,
        name: &str,
        target: &Target,
    ) -> Result<Value, TransportError> {
        let consumer = consumer_of(target)?;
        if gvk.is_manifest_work() {
            return self
                .work(consumer, name)
                .await
                .map_err(|e| e.context(format!("failed to get ManifestWork {consumer}/{name}")))?
                .ok_or_else(|| {
                    TransportError::new(
                        ErrorKind::NotFound,
                        format!("manifestworks.{WORK_GROUP} {name:?} not found"),
                    )
                });
        }
        // Any other kind: the manifest inside one of the consumer's works.
        let works = self.works(consumer).await.map_err(|e| {
            e.context(format!(
                "failed to list ManifestWorks for consumer {consumer}"
            ))
        })?;
        manifests_of(&works)
            .find(|m| {
                Gvk::of(m) == *gvk && meta(m, "name") == name && meta(m, "namespace") == namespace
            })
            .ok_or_else(|| TransportError::not_found(&gvk.kind, name))
    }

    async fn discover(
        &self,
        gvk: &Gvk,
        selector: &Selector,
        target: &Target,
    ) -> Result<Vec<Value>, TransportError> {
        let consumer = consumer_of(target)?;
        let works = self.works(consumer).await.map_err(|e| {
            e.context(format!(
                "failed to list ManifestWorks for consumer {consumer}"
            ))
        })?;
        if gvk.is_manifest_work() {
            return Ok(works
                .into_iter()
                .filter(|w| labels_match(w, selector))
                .collect());
        }
        Ok(manifests_of(&works)
            .filter(|m| {
                Gvk::of(m) == *gvk
                    && (selector.namespace.is_empty() || meta(m, "namespace") == selector.namespace)
                    && labels_match(m, selector)
            })
            .collect())
    }

    async fn delete(
        &self,
        gvk: &Gvk,
        _namespace: &str,
        name: &str,
        _propagation: Propagation,
        target: &Target,
    ) -> Result<(), TransportError> {
        let consumer = consumer_of(target)?;
        if !gvk.is_manifest_work() {
            return Err(TransportError::invalid(format!(
                "the Maestro transport deletes ManifestWorks, not {}",
                gvk.kind
            )));
        }
        let Some(existing) = self
            .work(consumer, name)
            .await
            .map_err(|e| e.context(format!("failed to delete ManifestWork {consumer}/{name}")))?
        else {
            return Ok(());
        };
        if existing.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(());
        }
        let now = chrono::Utc::now();
        let version = existing
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let mut metadata = existing["metadata"].clone();
        metadata["deletionTimestamp"] =
            json!(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let id = resource_id(&self.source, consumer, name);
        let event = SpecEvent {
            action: Action::Delete,
            source: &self.source,
            consumer,
            resource_id: &id,
            version,
            metadata: &metadata,
            bundle: None,
            now,
        }
        .encode()
        .map_err(|e| work_failed("delete", consumer, name, &e))?;
        self.publish(event)
            .await
            .map_err(|s| unpublished("delete", consumer, name, &s))?;
        self.recent.forget(&id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::adapter::{MaestroAuthConfig, TlsConfig};

    fn cfg() -> MaestroConfig {
        MaestroConfig {
            grpc_server_address: "maestro-grpc:8090".into(),
            http_server_address: "https://maestro:8000".into(),
            source_id: "hyperfleet-adapter".into(),
            auth: MaestroAuthConfig {
                kind: String::new(),
                tls_config: Some(TlsConfig {
                    ca_file: "/ca.pem".into(),
                    ..TlsConfig::default()
                }),
            },
            ..MaestroConfig::default()
        }
    }

    #[test]
    fn settings_validation_uses_the_go_messages() {
        assert_eq!(
            Settings::from_config(None).unwrap_err().to_string(),
            "maestro config is required"
        );
        let mut c = cfg();
        c.http_server_address = String::new();
        assert_eq!(
            Settings::from_config(Some(&c)).unwrap_err().to_string(),
            "maestro server address is required"
        );
        c.http_server_address = "ftp://x".into();
        assert!(
            Settings::from_config(Some(&c))
                .unwrap_err()
                .to_string()
                .starts_with("MaestroServerAddr must use http:// or https:// scheme")
        );
        c.http_server_address = "http://x:8000".into();
        assert!(
            Settings::from_config(Some(&c))
                .unwrap_err()
                .to_string()
                .starts_with("MaestroServerAddr must use https:// scheme when Insecure=false")
        );
        c.insecure = true;
        let s = Settings::from_config(Some(&c)).unwrap();
        assert_eq!(s.grpc, GrpcSecurity::Plaintext);
        assert_eq!(
            (s.timeout, s.healthiness_timeout),
            (Duration::from_secs(10), Duration::from_secs(20))
        );
        // retry_attempts: total Publish attempts; unset or below 1 is the default 3.
        assert_eq!(s.publish_attempts, 3);
        for (configured, attempts) in [(5, 5), (1, 1), (-2, 3), (i64::MAX, u32::MAX)] {
            c.retry_attempts = configured;
            assert_eq!(
                Settings::from_config(Some(&c)).unwrap().publish_attempts,
                attempts
            );
        }
        c.grpc_server_address = String::new();
        assert_eq!(
            Settings::from_config(Some(&c)).unwrap_err().to_string(),
            "maestro gRPC server address is required"
        );
        let mut c = cfg();
        c.source_id = " ".into();
        assert_eq!(
            Settings::from_config(Some(&c)).unwrap_err().to_string(),
            "maestro sourceID is required"
        );
        let mut c = cfg();
        c.auth.tls_config = None;
        assert!(
            Settings::from_config(Some(&c))
                .unwrap_err()
                .to_string()
                .starts_with("no TLS configuration provided")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn publish_and_reconnect_schedules_double_to_their_caps_with_full_jitter() {
        let mut c = cfg();
        c.insecure = true;
        let s = Settings::from_config(Some(&c)).unwrap();
        let publish = crate::retry::measured_waits(&s.publish_policy(), 10).await;
        let caps: Vec<u64> = publish.iter().map(|(_, c)| c.as_secs()).collect();
        assert_eq!(caps, [1, 2], "3 attempts, from 1 s");
        assert!(publish.iter().all(|(w, cap)| w <= cap), "{publish:?}");
        let mut unbounded = s.publish_policy();
        unbounded.attempts = None;
        let waits = crate::retry::measured_waits(&unbounded, 40).await;
        crate::retry::assert_full_jitter(&waits);
        assert_eq!(waits[7].1, MAX_PUBLISH_DELAY);
        let reconnect = crate::retry::measured_waits(&s.reconnect_policy(), 40).await;
        assert_eq!(reconnect.len(), 40, "reconnects never give up");
        crate::retry::assert_full_jitter(&reconnect);
        let caps: Vec<u64> = reconnect.iter().map(|(_, c)| c.as_secs()).collect();
        assert_eq!(caps[..8], [1, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn tls_modes_in_the_go_order() {
        let mut c = cfg();
        let tls = c.auth.tls_config.as_mut().unwrap();
        tls.token_file = "/token".into();
        let s = Settings::from_config(Some(&c)).unwrap();
        assert_eq!(
            s.grpc,
            GrpcSecurity::Tls {
                ca_file: "/ca.pem".into(),
                identity: None,
                token: Some(TokenFile("/token".into()))
            }
        );
        let tls = c.auth.tls_config.as_mut().unwrap();
        tls.cert_file = "/c.pem".into();
        tls.key_file = "/k.pem".into();
        let s = Settings::from_config(Some(&c)).unwrap();
        assert!(matches!(
            s.grpc,
            GrpcSecurity::Tls {
                identity: Some(_),
                token: None,
                ..
            }
        ));
        assert_eq!(s.http_ca_file, Some("/ca.pem".into()));
        c.timeout = "3s".into();
        c.server_healthiness_timeout = "nonsense".into();
        assert!(
            Settings::from_config(Some(&c))
                .unwrap_err()
                .to_string()
                .starts_with("clients.maestro.server_healthiness_timeout")
        );
    }

    #[tokio::test]
    async fn a_grpc_address_that_is_not_an_address_fails_the_client() {
        let mut c = cfg();
        c.insecure = true;
        c.http_server_address = "http://maestro:8000".into();
        c.grpc_server_address = "not an address".into();
        let s = Settings::from_config(Some(&c)).unwrap();
        let err = MaestroTransport::connect(&s, None)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("failed to create Maestro work client: "),
            "{err}"
        );
    }

    #[test]
    fn token_files_are_trimmed_and_must_not_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        std::fs::write(&p, "  abc \n").unwrap();
        assert_eq!(TokenFile(p.clone()).read().unwrap(), "abc");
        std::fs::write(&p, " \n").unwrap();
        assert!(
            TokenFile(p)
                .read()
                .unwrap_err()
                .to_string()
                .ends_with("is empty or contains only whitespace")
        );
    }
}
