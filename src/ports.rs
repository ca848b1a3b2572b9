//! The ports the core needs from the outside world. Each trait states its contract; every
//! implementation (real, in-memory, recording) must honour it, and the transport contract
//! suite in `adapters::transport::contract` checks it.

use crate::domain::event::{CloudEvent, EventError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

// ---- transport ----------------------------------------------------------------------------

/// Group, version and kind of an object (`apiVersion` split at `/`; core group is `""`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    /// From `apiVersion` (`v1`, `apps/v1`) and `kind`.
    pub fn new(api_version: &str, kind: &str) -> Self {
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        Gvk {
            group,
            version,
            kind: kind.to_string(),
        }
    }

    /// From an object's `apiVersion` and `kind` fields.
    pub fn of(obj: &Value) -> Self {
        let s = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default();
        Gvk::new(s("apiVersion"), s("kind"))
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether this is an OCM ManifestWork.
    pub fn is_manifest_work(&self) -> bool {
        self.group == "work.open-cluster-management.io" && self.kind == "ManifestWork"
    }
}

/// A manifest's kind and name, which every transport needs before it can do anything.
pub fn manifest_identity(manifest: &Value) -> Result<(Gvk, &str), TransportError> {
    let gvk = Gvk::of(manifest);
    let name = manifest
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if gvk.kind.is_empty() || gvk.version.is_empty() || name.is_empty() {
        return Err(TransportError::invalid(
            "failed to parse manifest: apiVersion, kind and metadata.name are required",
        ));
    }
    Ok((gvk, name))
}

/// Where a resource goes: the cluster the adapter talks to, or a Maestro consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Kubernetes,
    Maestro { consumer: String },
}

/// What apply did, with the reason the generation rule gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    Create,
    Update,
    Recreate,
    Skip,
    Delete,
}

impl Operation {
    pub fn as_str(&self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Recreate => "recreate",
            Operation::Skip => "skip",
            Operation::Delete => "delete",
        }
    }
}

/// The result of an apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub operation: Operation,
    pub reason: String,
    /// The object as stored after the apply (or the existing one on skip).
    pub object: Value,
    /// Skipped because the manifest's generation is older than the object's (a stale event).
    pub stale: bool,
}

/// A label-selector discovery.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    /// `""` means cluster-scoped or all namespaces.
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
}

impl Selector {
    /// `k=v` pairs sorted by key, joined by `,` (the Kubernetes label-selector string).
    pub fn label_string(&self) -> String {
        self.labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Kubernetes deletion propagation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    #[default]
    Background,
    Foreground,
    Orphan,
}

impl Propagation {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("Foreground") => Propagation::Foreground,
            Some("Orphan") => Propagation::Orphan,
            _ => Propagation::Background,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Propagation::Background => "Background",
            Propagation::Foreground => "Foreground",
            Propagation::Orphan => "Orphan",
        }
    }
}

/// How a failure is classified: what the domain and the retry policy decide on, never the
/// message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The object (or what was asked about) does not exist.
    NotFound,
    /// A concurrent change won (409, a failed precondition).
    Conflict,
    /// The request can never succeed as it is (a bad manifest, 400/422, a wrong target).
    Invalid,
    /// Credentials were missing or refused (401/403).
    Unauthorized,
    /// No answer in time.
    Timeout,
    /// The other side is unreachable or overloaded, for now (connection refused, 429, 5xx).
    Unavailable,
    /// Anything else; final.
    Failed,
}

impl ErrorKind {
    /// The kind of an HTTP error status, for every HTTP client of the adapter (Maestro's REST
    /// API, the Kubernetes API server, the HyperFleet API): 401/403 unauthorised, 404 not
    /// found, 409 conflict, 408/504 timeout, 429 and other 5xx unavailable, other 4xx invalid;
    /// anything else (a success status where an error was expected) failed.
    pub fn of_http_status(status: u16) -> ErrorKind {
        match status {
            401 | 403 => ErrorKind::Unauthorized,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            408 | 504 => ErrorKind::Timeout,
            429 | 500..=599 => ErrorKind::Unavailable,
            400..=499 => ErrorKind::Invalid,
            _ => ErrorKind::Failed,
        }
    }

    /// Whether another attempt may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Timeout | ErrorKind::Unavailable)
    }
}

/// Declares a port's error type: a kind, the message users see (the Go adapter's and the
/// runbook's texts, unchanged) and the error that caused it, kept as `source()`.
macro_rules! port_error {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, thiserror::Error)]
        #[error("{message}")]
        pub struct $name {
            kind: ErrorKind,
            message: String,
            #[source]
            source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.kind == other.kind && self.message == other.message
            }
        }

        impl $name {
            pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
                $name {
                    kind,
                    message: message.into(),
                    source: None,
                }
            }

            /// Keeps `source` as the cause (its text is not added to the message).
            pub fn with_source(
                mut self,
                source: impl std::error::Error + Send + Sync + 'static,
            ) -> Self {
                self.source = Some(std::sync::Arc::new(source));
                self
            }

            pub fn kind(&self) -> ErrorKind {
                self.kind
            }

            /// The same failure with `context: ` in front of its message (kind and cause kept).
            pub fn context(mut self, context: impl std::fmt::Display) -> Self {
                self.message = format!("{context}: {}", self.message);
                self
            }

            pub fn is_not_found(&self) -> bool {
                self.kind == ErrorKind::NotFound
            }

            /// A request that can never succeed as it is.
            pub fn invalid(message: impl Into<String>) -> Self {
                $name::new(ErrorKind::Invalid, message)
            }

            /// A final failure of no other kind.
            pub fn failed(message: impl Into<String>) -> Self {
                $name::new(ErrorKind::Failed, message)
            }
        }
    };
}

port_error!(
    /// A transport failure. `NotFound` is part of the contract: discovery treats it as
    /// "absent".
    TransportError
);

impl TransportError {
    /// Kubernetes' NotFound text: `<kind> "<name>" not found`.
    pub fn not_found(kind: &str, name: &str) -> Self {
        TransportError::new(
            ErrorKind::NotFound,
            format!("{} {name:?} not found", kind.to_lowercase()),
        )
    }
}

port_error!(
    /// A broker failure: settling a delivery, connecting, subscribing, publishing.
    BrokerError
);

/// Applies, reads, discovers and deletes objects in one backend (Kubernetes, Maestro, memory).
///
/// Contract:
/// - `apply` MUST decide by the generation rule (annotation `hyperfleet.io/generation`): absent →
///   `create` (`resource not found`); same generation → `skip` (`generation N unchanged`);
///   higher → `update` (`generation changed A->B`), or `recreate` when asked to; lower → `skip`
///   with `stale` set, never an update that moves the object back. It is idempotent: applying
///   the same manifest twice yields `skip` the second time.
/// - `get` MUST return `NotFound` for a missing object and a copy otherwise.
/// - `discover` returns every object of the GVK matching namespace (`""` = any) and all labels;
///   an empty list is not an error.
/// - `delete` of a missing object MUST succeed (NotFound is success). An object held by
///   finalizers, or deleted asynchronously (Maestro), MAY still be returned by `get`
///   afterwards, carrying `metadata.deletionTimestamp` (deletion in progress).
/// - `recreate_on_change` turns an update into delete + create where the backend supports it;
///   Maestro does not (its works are patched).
/// - Transient failures MAY be retried inside the implementation; what is returned is final.
#[async_trait]
pub trait Transport: Send + Sync {
    async fn apply(
        &self,
        manifest: &Value,
        recreate_on_change: bool,
        target: &Target,
    ) -> Result<Applied, TransportError>;
    async fn get(
        &self,
        gvk: &Gvk,
        namespace: &str,
        name: &str,
        target: &Target,
    ) -> Result<Value, TransportError>;
    async fn discover(
        &self,
        gvk: &Gvk,
        selector: &Selector,
        target: &Target,
    ) -> Result<Vec<Value>, TransportError>;
    async fn delete(
        &self,
        gvk: &Gvk,
        namespace: &str,
        name: &str,
        propagation: Propagation,
        target: &Target,
    ) -> Result<(), TransportError>;
}

// ---- HyperFleet API -------------------------------------------------------------------------

/// One HTTP request to the HyperFleet API (URL after the executor's URL building).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// Per-call overrides of the client settings.
    pub timeout: Option<Duration>,
    pub retry_attempts: Option<u32>,
    pub retry_backoff: Option<String>,
}

/// The final response after the client's retries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// How many attempts were made (1 without retries).
    pub attempts: u32,
}

/// A request that produced no response (connection refused, timeout, ...).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ApiTransportError {
    /// Why: `Timeout`, `Unavailable` (no connection, a broken answer), `Unauthorized` (the
    /// token file could not be read), `Invalid` (the request could not be built), `Failed`.
    pub kind: ErrorKind,
    pub message: String,
    pub attempts: u32,
}

/// Sends requests to the HyperFleet API.
///
/// Contract: every status code is a response (non-2xx included; the caller classifies it);
/// only a request that got no response at all is an error. Retries (408, 429, 5xx, network)
/// happen inside; the response returned is the last one.
#[async_trait]
pub trait HyperfleetApi: Send + Sync {
    async fn send(&self, request: ApiRequest) -> Result<ApiResponse, ApiTransportError>;
}

// ---- time and files -------------------------------------------------------------------------

/// The wall-clock time the executor reads: template `now`, CEL `now()`, condition ages and the
/// simulated cluster's timestamps (a port so tests and dry runs are reproducible; a dry run fixes
/// it with `--dry-run-time`). Durations, deadlines and retries use `tokio::time` instead.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A fixed clock.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Reads files for `file` param sources. Contract: returns at most `limit + 1` bytes so the
/// caller can tell a file over the limit without reading all of it.
pub trait Files: Send + Sync {
    fn read_limited(&self, path: &str, limit: u64) -> std::io::Result<Vec<u8>>;
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalFiles;

impl Files for LocalFiles {
    fn read_limited(&self, path: &str, limit: u64) -> std::io::Result<Vec<u8>> {
        use std::io::Read;
        let mut buf = Vec::new();
        std::fs::File::open(path)?
            .take(limit + 1)
            .read_to_end(&mut buf)?;
        Ok(buf)
    }
}

// ---- events -------------------------------------------------------------------------------

/// One message from the broker, to be acknowledged after processing.
#[async_trait]
pub trait Delivery: Send {
    /// The message body as it arrived: a structured-mode CloudEvent, or a binary-mode
    /// event's data. Its length is what `--max-event-bytes` bounds.
    fn payload(&self) -> &[u8];
    /// The CloudEvent the message carries, parsed once from the broker's bytes: the body as a
    /// structured-mode envelope (the default), or — a broker's binary mode — the attributes in
    /// its headers with the body as the data ([`CloudEvent::from_message`]).
    fn event(&mut self) -> Result<CloudEvent, EventError> {
        CloudEvent::parse(self.payload())
    }
    /// The broker's id of the message, for log lines that must be matched to a dead-lettered
    /// copy (Pub/Sub's message id; RabbitMQ's `message_id` property, else its delivery tag).
    fn message_id(&self) -> Option<String> {
        None
    }
    /// Acknowledges: the message is done (processed, successfully or not).
    async fn ack(self: Box<Self>) -> Result<(), BrokerError>;
    /// Rejects without requeue (dead-letters it where the broker has a dead-letter target).
    async fn reject(self: Box<Self>) -> Result<(), BrokerError>;
}

/// A stream of deliveries. Contract: `next` returns `None` only when the source is closed for
/// good; transient broker failures are handled (reconnect) inside.
#[async_trait]
pub trait EventSource: Send {
    async fn next(&mut self) -> Option<Box<dyn Delivery>>;

    /// Stops consuming and releases the connection, once every delivery taken from `next` was
    /// settled. Deliveries not taken yet return to the broker.
    async fn close(&mut self) {}
}

// ---- observation --------------------------------------------------------------------------

/// Hears about work in progress that metrics report while it happens (deletions). Optional:
/// dry runs and tests run without one.
pub trait ExecutionObserver: Send + Sync {
    /// An apply of a `kind` object was skipped: its manifest's generation is older than the
    /// object's (a stale event).
    fn stale_skipped(&self, kind: &str);
    /// A deletion of a `kind` object starts.
    fn deletion_started(&self, kind: &str);
    /// It ended, successfully or not, after `seconds`. `kind` is the deleted object's kind (the
    /// discovered one), `started_kind` the one given to `deletion_started`.
    fn deletion_finished(&self, started_kind: &str, kind: &str, ok: bool, seconds: f64);
}
