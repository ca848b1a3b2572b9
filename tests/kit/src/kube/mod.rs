//! An in-process fake Kubernetes API server speaking the real REST protocol, for driving the
//! Kubernetes transport through a real `kube::Client`.
//!
//! What it implements, as the API server does:
//! - discovery: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/<group>`, `/apis/<group>/<version>`
//!   (APIVersions, APIGroupList, APIGroup, APIResourceList); kinds registered at runtime (CRDs)
//!   appear there at once;
//! - namespaced and cluster-scoped objects: GET, LIST (all namespaces too) with label selectors
//!   (`=`, `==`, `!=`, `in`, `notin`, exists, `!key`), POST (409 AlreadyExists), PUT (409
//!   Conflict on a stale `resourceVersion`), PATCH as server-side apply (field ownership per
//!   manager in `metadata.managedFields`, conflicts without `force`, fields the manager stopped
//!   applying removed unless another manager owns them; on an existing object a
//!   `metadata.resourceVersion` in the body that is not the object's is a 409 Conflict and a
//!   `metadata.uid` that is not the object's a 422 Invalid; on a create a `uid` is a 409 and a
//!   `resourceVersion` ignored), as merge patch, and as JSON patch (`test`, `replace`, `add`,
//!   `remove`; a patch of `metadata.managedFields` renames entries in place), DELETE with
//!   `preconditions` (`uid`, `resourceVersion`: 409 Conflict when the object is not that one) and
//!   `propagationPolicy` (Background and Orphan; Foreground waits for dependents), finalizers and
//!   `deletionTimestamp`, garbage collection of dependents by `ownerReferences`, namespaces
//!   that empty themselves when deleted and refuse new content while terminating, and
//!   namespaced objects refused in a namespace that does not exist;
//! - `metav1.Status` error bodies (`reason`, `code`, `details`, `retryAfterSeconds`);
//! - fault injection: any status (500, 503, 429 with `Retry-After`, 403, ...), slow responses
//!   and dropped connections, for requests matching a method and path.
//!
//! Simplifications: lists inside objects are atomic for field ownership (the real server merges
//! some by key); strategic merge patch is treated as merge patch; no watch, no subresources.

// Handlers return the error response itself; its size does not matter in a test server.
#![allow(clippy::result_large_err)]

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod fields;
mod selector;
mod state;

use fields::*;
use selector::*;

/// A kind the fake serves.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    /// API group (empty for the core group).
    pub group: String,
    /// API version within the group.
    pub version: String,
    /// Kind, e.g. `ConfigMap`.
    pub kind: String,
    /// Lower-case plural resource name, e.g. `configmaps`.
    pub plural: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
}

impl ResourceType {
    /// A kind from its `apiVersion` (`group/version`, or `version` for the core group).
    pub fn new(api_version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        ResourceType {
            group,
            version,
            kind: kind.into(),
            plural: plural.into(),
            namespaced,
        }
    }

    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    fn builtin(&self) -> bool {
        !self.group.contains('.')
    }
}

/// What an injected fault does.
#[derive(Debug, Clone)]
pub enum FaultAction {
    /// Answer with this status and a `metav1.Status` body.
    Status {
        /// HTTP status code.
        code: u16,
        /// `metav1.Status` reason, e.g. `ServiceUnavailable`.
        reason: &'static str,
        /// `metav1.Status` message.
        message: String,
        /// `Retry-After` seconds (and `details.retryAfterSeconds`), when given.
        retry_after: Option<u64>,
    },
    /// Wait this long, then handle the request normally.
    Delay(Duration),
    /// Wait a pseudo-random time up to this long, then handle the request normally: writes
    /// of concurrent clients land in any order.
    Jitter(Duration),
    /// Close the connection without answering.
    Drop,
    /// Handle the request (the change is made), then close the connection without answering:
    /// the client's answer is lost.
    LoseAnswer,
    /// Handle the request, then store this object as the named manager would (as
    /// [`FakeKube::put`]): another writer landing between this request and the client's next.
    WriteAfter {
        /// The other writer's field manager.
        manager: String,
        /// The object it writes.
        object: Value,
    },
}

/// A fault for the next `times` requests matching `method` (any when `None`) and a path
/// containing `path`.
#[derive(Debug, Clone)]
pub struct Fault {
    /// The method to match (any when `None`).
    pub method: Option<Method>,
    /// A substring of the request path to match.
    pub path: String,
    /// How many matching requests it applies to.
    pub times: usize,
    /// What it does.
    pub action: FaultAction,
}

impl Fault {
    /// A `code`/`reason` status for the next `times` matching requests.
    pub fn status(
        method: Option<Method>,
        path: &str,
        times: usize,
        code: u16,
        reason: &'static str,
    ) -> Fault {
        Fault {
            method,
            path: path.into(),
            times,
            action: FaultAction::Status {
                code,
                reason,
                message: format!("injected {reason}"),
                retry_after: None,
            },
        }
    }
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// The `Content-Type` header (empty when absent).
    pub content_type: String,
    /// The request body as text.
    pub body: String,
}

type Key = (String, String, String, String); // group, plural, namespace, name
type FieldPath = Vec<String>;

#[derive(Debug, Clone)]
struct Stored {
    obj: Value,
    /// (manager, operation) → owned leaf paths.
    owners: BTreeMap<(String, String), BTreeSet<FieldPath>>,
}

#[derive(Default)]
struct State {
    types: Vec<ResourceType>,
    objects: BTreeMap<Key, Stored>,
    faults: Vec<Fault>,
    seen: Vec<Seen>,
    version: u64,
    token: Option<String>,
    verbose: bool,
    /// Whether [`State::reconcile`] may have work (see [`State::store`]).
    gc_pending: bool,
    /// Whether [`State::writes`] is kept (see [`FakeKube::record_writes`]).
    record_writes: bool,
    /// Every object as stored by a write, in order.
    writes: Vec<Value>,
    /// Applies refused by their `resourceVersion` or `uid` precondition.
    refused_writes: usize,
}

/// The fake server. Dropping it stops it.
pub struct FakeKube {
    /// `http://` or `https://host:port` of the server.
    pub url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const NOW: &str = "2026-01-01T00:00:00Z";

impl FakeKube {
    /// Starts on a free port with Namespace, ConfigMap, Secret, ServiceAccount and Job.
    pub async fn start() -> FakeKube {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake kube");
        Self::serve(listener)
    }

    /// Serves on `listener` (a fixed port for local experiments).
    pub fn serve(listener: tokio::net::TcpListener) -> FakeKube {
        Self::serve_with(listener, None)
    }

    /// Starts on a free port serving HTTPS with `tls` (the kubeconfig then needs the CA).
    pub async fn start_tls(tls: std::sync::Arc<tokio_rustls::rustls::ServerConfig>) -> FakeKube {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake kube");
        Self::serve_with(listener, Some(tokio_rustls::TlsAcceptor::from(tls)))
    }

    fn serve_with(
        listener: tokio::net::TcpListener,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> FakeKube {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State {
            types: vec![
                ResourceType::new("v1", "Namespace", "namespaces", false),
                ResourceType::new("v1", "ConfigMap", "configmaps", true),
                ResourceType::new("v1", "Secret", "secrets", true),
                ResourceType::new("v1", "ServiceAccount", "serviceaccounts", true),
                ResourceType::new("batch/v1", "Job", "jobs", true),
            ],
            ..State::default()
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { handle(state, req).await }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        None => {
                            let io = hyper_util::rt::TokioIo::new(stream);
                            let _ = http.serve_connection(io, service).await;
                        }
                        Some(acceptor) => {
                            // A failed handshake (an untrusted client) just closes the connection.
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let io = hyper_util::rt::TokioIo::new(stream);
                                let _ = http.serve_connection(io, service).await;
                            }
                        }
                    }
                });
            }
        });
        FakeKube { url, state, task }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a kind at runtime (a CRD being installed).
    pub fn register(&self, t: ResourceType) {
        self.lock().types.push(t);
    }

    /// Removes a kind (a CRD being uninstalled) and its objects.
    pub fn unregister(&self, api_version: &str, kind: &str) {
        let mut s = self.lock();
        let gone: Vec<ResourceType> = s
            .types
            .iter()
            .filter(|t| t.api_version() == api_version && t.kind == kind)
            .cloned()
            .collect();
        s.types.retain(|t| !gone.contains(t));
        s.objects
            .retain(|(g, p, _, _), _| !gone.iter().any(|t| &t.group == g && &t.plural == p));
        // Objects they owned are orphans now (collected at the next request).
        s.gc_pending = true;
    }

    /// Logs every request to stderr, and the stored objects after every change.
    pub fn log_to_stderr(&self) {
        self.lock().verbose = true;
    }

    /// Requires `Authorization: Bearer <token>` on every request.
    pub fn require_token(&self, token: &str) {
        self.lock().token = Some(token.into());
    }

    /// Adds a fault; faults apply in the order injected.
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Keeps every object as stored by each write (create, update, apply, merge patch) from
    /// now on, for [`FakeKube::writes`].
    pub fn record_writes(&self) {
        self.lock().record_writes = true;
    }

    /// Every object as stored by a write since [`FakeKube::record_writes`], in order.
    pub fn writes(&self) -> Vec<Value> {
        self.lock().writes.clone()
    }

    /// Applies refused so far because their `resourceVersion` or `uid` precondition failed
    /// (another writer got there first).
    pub fn refused_writes(&self) -> usize {
        self.lock().refused_writes
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// Requests so far whose method is `method` and path contains `path`.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.lock()
            .seen
            .iter()
            .filter(|s| s.method == method && s.uri.contains(path))
            .count()
    }

    /// An object as stored (with `apiVersion` and `kind`).
    pub fn get(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let s = self.lock();
        let t = s.find_kind(api_version, kind)?;
        s.objects
            .get(&key(&t, namespace, name))
            .map(|o| o.obj.clone())
    }

    /// Every stored object.
    pub fn objects(&self) -> Vec<Value> {
        self.lock()
            .objects
            .values()
            .map(|o| o.obj.clone())
            .collect()
    }

    /// Stores `obj` as if another client (`manager`) had created or updated it.
    pub fn put(&self, manager: &str, obj: Value) {
        self.lock().put(manager, obj);
    }

    /// Removes every finalizer of an object (a controller finishing its cleanup).
    pub fn clear_finalizers(&self, api_version: &str, kind: &str, namespace: &str, name: &str) {
        let mut s = self.lock();
        let Some(t) = s.find_kind(api_version, kind) else {
            return;
        };
        if let Some(o) = s.objects.get_mut(&key(&t, namespace, name)) {
            o.obj["metadata"]["finalizers"] = json!([]);
            s.gc_pending = true;
        }
        s.reconcile();
    }

    /// A kubeconfig pointing at the fake (with `token` as the user's bearer token when given).
    pub fn kubeconfig(&self, dir: &std::path::Path, token: Option<&str>) -> std::path::PathBuf {
        self.kubeconfig_with_ca(dir, token, None)
    }

    /// [`Self::kubeconfig`] trusting `ca_pem` (for the HTTPS fake).
    pub fn kubeconfig_with_ca(
        &self,
        dir: &std::path::Path,
        token: Option<&str>,
        ca_pem: Option<&str>,
    ) -> std::path::PathBuf {
        use base64::Engine;
        let ca = ca_pem
            .map(|p| {
                format!(
                    "    certificate-authority-data: {}\n",
                    base64::engine::general_purpose::STANDARD.encode(p)
                )
            })
            .unwrap_or_default();
        let user = match token {
            Some(t) => format!("    token: {t}\n"),
            None => "    {}\n".to_string(),
        };
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\n{ca}contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\ncurrent-context: fake\nusers:\n- name: fake\n  user:\n{user}",
            self.url
        );
        let path = dir.join("kubeconfig");
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }
}

fn meta<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn key(t: &ResourceType, namespace: &str, name: &str) -> Key {
    (
        t.group.clone(),
        t.plural.clone(),
        namespace.to_string(),
        name.to_string(),
    )
}

type Reply = Response<Full<Bytes>>;

fn reply(code: u16, body: &Value) -> Reply {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("response")
}

fn status(code: u16, reason: &str, message: &str, details: Value) -> Reply {
    let mut body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code,
    });
    if !details.is_null() {
        body["details"] = details;
    }
    reply(code, &body)
}

fn not_found_path() -> Reply {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Value::Null,
    )
}

fn qualified(t: &ResourceType) -> String {
    if t.group.is_empty() {
        t.plural.clone()
    } else {
        format!("{}.{}", t.plural, t.group)
    }
}

fn object_not_found(t: &ResourceType, name: &str) -> Reply {
    status(
        404,
        "NotFound",
        &format!("{} {name:?} not found", qualified(t)),
        json!({"name": name, "group": t.group, "kind": t.plural}),
    )
}

async fn handle(state: Arc<Mutex<State>>, req: Request<Incoming>) -> Result<Reply, std::io::Error> {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let path = uri.path().to_string();
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let fault = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.seen.push(Seen {
            method: method.to_string(),
            uri: uri.to_string(),
            content_type: content_type.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let found = s.faults.iter().position(|f| {
            f.times > 0 && f.method.as_ref().is_none_or(|m| *m == method) && path.contains(&f.path)
        });
        found.map(|i| {
            s.faults[i].times -= 1;
            s.faults[i].action.clone()
        })
    };
    match fault {
        Some(FaultAction::Drop) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "fault: dropped",
            ));
        }
        Some(FaultAction::Delay(d)) => tokio::time::sleep(d).await,
        Some(FaultAction::Jitter(d)) => tokio::time::sleep(jitter(d)).await,
        Some(FaultAction::LoseAnswer | FaultAction::WriteAfter { .. }) | None => {}
        Some(FaultAction::Status {
            code,
            reason,
            message,
            retry_after,
        }) => {
            let mut details = retry_after
                .map(|s| json!({"retryAfterSeconds": s}))
                .unwrap_or(Value::Null);
            // As the API server does: a 404 for an object names it in `details` (a 404 without
            // a name is about the path, a resource type it does not serve).
            if code == 404 {
                let name = path.rsplit('/').next().unwrap_or_default();
                details = json!({"name": name});
            }
            let mut r = status(code, reason, &message, details);
            if let Some(s) = retry_after {
                r.headers_mut()
                    .insert("retry-after", s.to_string().parse().expect("header"));
            }
            return Ok(r);
        }
    }
    let query: BTreeMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(token) = &s.token
        && auth.as_deref() != Some(&format!("Bearer {token}"))
    {
        return Ok(status(401, "Unauthorized", "Unauthorized", Value::Null));
    }
    let response = s.route(&method, &path, &query, &content_type, &body);
    s.reconcile();
    if let Some(FaultAction::WriteAfter { manager, object }) = &fault {
        s.put(manager, object.clone());
    }
    if s.verbose {
        eprintln!("{method} {uri} -> {}", response.status().as_u16());
        if method != Method::GET && response.status().is_success() {
            for o in s.objects.values() {
                eprintln!(
                    "    {}/{} {}{} resourceVersion={}{}",
                    o.obj["apiVersion"].as_str().unwrap_or_default(),
                    o.obj["kind"].as_str().unwrap_or_default(),
                    match meta(&o.obj, "namespace") {
                        "" => String::new(),
                        ns => format!("{ns}/"),
                    },
                    meta(&o.obj, "name"),
                    meta(&o.obj, "resourceVersion"),
                    if o.obj.pointer("/metadata/deletionTimestamp").is_some() {
                        " (deleting)"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    if matches!(fault, Some(FaultAction::LoseAnswer)) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "fault: answer lost",
        ));
    }
    Ok(response)
}

/// A pseudo-random duration up to `max` (xorshift over a process-wide state).
fn jitter(max: Duration) -> Duration {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0x2545_F491_4F6C_DD1D);
    let mut x = STATE.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    max.mul_f64((x % 1_000_001) as f64 / 1_000_000.0)
}

#[cfg(test)]
mod tests;
