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
//!   applying removed unless another manager owns them) and as merge patch, DELETE with
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
    /// Close the connection without answering.
    Drop,
    /// Handle the request (the change is made), then close the connection without answering:
    /// the client's answer is lost.
    LoseAnswer,
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
        let mut s = self.lock();
        let t = s
            .find_kind(
                obj["apiVersion"].as_str().unwrap_or_default(),
                obj["kind"].as_str().unwrap_or_default(),
            )
            .expect("kind served by the fake");
        let ns = meta(&obj, "namespace").to_string();
        let name = meta(&obj, "name").to_string();
        let k = key(&t, if t.namespaced { &ns } else { "" }, &name);
        let previous = s.objects.get(&k).cloned();
        let stored = s.write_update(&t, previous, obj, manager);
        s.objects.insert(k, stored);
        s.reconcile();
    }

    /// Removes every finalizer of an object (a controller finishing its cleanup).
    pub fn clear_finalizers(&self, api_version: &str, kind: &str, namespace: &str, name: &str) {
        let mut s = self.lock();
        let Some(t) = s.find_kind(api_version, kind) else {
            return;
        };
        if let Some(o) = s.objects.get_mut(&key(&t, namespace, name)) {
            o.obj["metadata"]["finalizers"] = json!([]);
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
        Some(FaultAction::LoseAnswer) | None => {}
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

/// A parsed resource path.
struct Target {
    t: ResourceType,
    namespace: String,
    name: Option<String>,
}

impl State {
    fn find_kind(&self, api_version: &str, kind: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.api_version() == api_version && t.kind == kind)
            .cloned()
    }

    fn find_plural(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    fn next_version(&mut self) -> String {
        self.version += 1;
        self.version.to_string()
    }

    fn route(
        &mut self,
        method: &Method,
        path: &str,
        query: &BTreeMap<String, String>,
        content_type: &str,
        body: &[u8],
    ) -> Reply {
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        if method == Method::GET
            && let Some(doc) = self.discovery(&segs)
        {
            return doc;
        }
        let (group, version, rest) = match segs.as_slice() {
            ["api", v, rest @ ..] if !rest.is_empty() => ("", *v, rest),
            ["apis", g, v, rest @ ..] if !rest.is_empty() => (*g, *v, rest),
            _ => return not_found_path(),
        };
        let (namespace, plural, name) = match rest {
            ["namespaces", ns, plural, name] => (*ns, *plural, Some(*name)),
            ["namespaces", ns, plural] => (*ns, *plural, None),
            [plural, name] => ("", *plural, Some(*name)),
            [plural] => ("", *plural, None),
            _ => return not_found_path(),
        };
        let Some(t) = self.find_plural(group, version, plural) else {
            return not_found_path();
        };
        if !t.namespaced && !namespace.is_empty() {
            return not_found_path();
        }
        let target = Target {
            t,
            namespace: namespace.to_string(),
            name: name.map(str::to_string),
        };
        let parsed = || -> Result<Value, Reply> {
            serde_json::from_slice(body).map_err(|e| {
                status(
                    400,
                    "BadRequest",
                    &format!("error decoding body: {e}"),
                    Value::Null,
                )
            })
        };
        let result = match (method.clone(), target.name.is_some()) {
            (Method::GET, true) => self.get_one(&target),
            (Method::GET, false) => self.list(&target, query),
            (Method::POST, false) => parsed().and_then(|b| self.create(&target, b, query)),
            (Method::PUT, true) => parsed().and_then(|b| self.replace(&target, b, query)),
            (Method::PATCH, true) => {
                parsed().and_then(|b| self.patch(&target, b, query, content_type))
            }
            (Method::DELETE, true) => {
                let opts: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                let policy = opts
                    .get("propagationPolicy")
                    .and_then(Value::as_str)
                    .or(query.get("propagationPolicy").map(String::as_str))
                    .unwrap_or("Background")
                    .to_string();
                self.delete(&target, &policy)
            }
            _ => Err(status(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
                Value::Null,
            )),
        };
        result.unwrap_or_else(|r| r)
    }

    fn discovery(&self, segs: &[&str]) -> Option<Reply> {
        let groups = || {
            let mut by_group: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for t in self.types.iter().filter(|t| !t.group.is_empty()) {
                by_group
                    .entry(t.group.clone())
                    .or_default()
                    .insert(t.version.clone());
            }
            by_group
        };
        let group_doc = |name: &str, versions: &BTreeSet<String>| {
            let vs: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
                .collect();
            json!({"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": vs, "preferredVersion": vs[0]})
        };
        let resources = |group: &str, version: &str| {
            let list: Vec<Value> = self
                .types
                .iter()
                .filter(|t| t.group == group && t.version == version)
                .map(|t| json!({
                    "name": t.plural, "singularName": t.kind.to_lowercase(), "namespaced": t.namespaced,
                    "kind": t.kind,
                    "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
                }))
                .collect();
            list
        };
        let gv = |group: &str, version: &str| {
            let list = resources(group, version);
            if list.is_empty() {
                return not_found_path();
            }
            let group_version = if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            };
            reply(
                200,
                &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list}),
            )
        };
        Some(match segs {
            ["version"] => reply(
                200,
                &json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-fake", "platform": "linux/amd64"}),
            ),
            ["api"] => reply(
                200,
                &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
            ),
            ["api", v] => gv("", v),
            ["apis"] => {
                let list: Vec<Value> = groups().iter().map(|(g, vs)| group_doc(g, vs)).collect();
                reply(
                    200,
                    &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": list}),
                )
            }
            ["apis", g] => match groups().get(*g) {
                Some(vs) => reply(200, &group_doc(g, vs)),
                None => not_found_path(),
            },
            ["apis", g, v] => gv(g, v),
            _ => return None,
        })
    }

    fn get_one(&self, target: &Target) -> Result<Reply, Reply> {
        let name = target.name.as_deref().unwrap_or_default();
        self.objects
            .get(&key(&target.t, &target.namespace, name))
            .map(|o| reply(200, &o.obj))
            .ok_or_else(|| object_not_found(&target.t, name))
    }

    fn list(&self, target: &Target, query: &BTreeMap<String, String>) -> Result<Reply, Reply> {
        let selector = match query.get("labelSelector") {
            Some(s) if !s.is_empty() => parse_selector(s).map_err(|e| {
                status(
                    400,
                    "BadRequest",
                    &format!("unable to parse requirement: {e}"),
                    Value::Null,
                )
            })?,
            _ => Vec::new(),
        };
        let t = &target.t;
        let items: Vec<Value> = self
            .objects
            .iter()
            .filter(|((g, p, ns, _), o)| {
                *g == t.group
                    && *p == t.plural
                    && (target.namespace.is_empty() || *ns == target.namespace)
                    && selector
                        .iter()
                        .all(|r| r.matches(o.obj.pointer("/metadata/labels")))
            })
            .map(|(_, o)| {
                let mut item = o.obj.clone();
                if t.builtin() {
                    // Like the real server: typed list items carry no apiVersion/kind.
                    if let Some(m) = item.as_object_mut() {
                        m.remove("apiVersion");
                        m.remove("kind");
                    }
                }
                item
            })
            .collect();
        Ok(reply(
            200,
            &json!({"kind": format!("{}List", t.kind), "apiVersion": t.api_version(),
                    "metadata": {"resourceVersion": self.version.to_string()}, "items": items}),
        ))
    }

    /// Checks the body's identity against the path and that its namespace exists.
    fn admit(&self, target: &Target, body: &Value, name: &str) -> Result<(), Reply> {
        let t = &target.t;
        if body
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k != t.kind)
        {
            return Err(status(
                400,
                "BadRequest",
                &format!(
                    "the kind of the object ({}) does not match the path ({})",
                    body["kind"], t.kind
                ),
                Value::Null,
            ));
        }
        if name.is_empty() {
            return Err(status(
                422,
                "Invalid",
                &format!(
                    "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                    t.kind
                ),
                Value::Null,
            ));
        }
        if !valid_name(name) {
            return Err(status(
                422,
                "Invalid",
                &format!(
                    "{} {name:?} is invalid: metadata.name: Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'",
                    t.kind
                ),
                Value::Null,
            ));
        }
        if t.namespaced {
            let body_ns = meta(body, "namespace");
            if !body_ns.is_empty() && body_ns != target.namespace {
                return Err(status(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                    Value::Null,
                ));
            }
            let ns_type = ResourceType::new("v1", "Namespace", "namespaces", false);
            match self.objects.get(&key(&ns_type, "", &target.namespace)) {
                None => {
                    return Err(status(
                        404,
                        "NotFound",
                        &format!("namespaces {:?} not found", target.namespace),
                        json!({"name": target.namespace, "kind": "namespaces"}),
                    ));
                }
                Some(ns) if ns.obj.pointer("/metadata/deletionTimestamp").is_some() => {
                    return Err(status(
                        403,
                        "Forbidden",
                        &format!(
                            "{} {name:?} is forbidden: unable to create new content in namespace {} because it is being terminated",
                            qualified(t),
                            target.namespace
                        ),
                        json!({"name": name, "kind": t.plural}),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    fn create(
        &mut self,
        target: &Target,
        body: Value,
        query: &BTreeMap<String, String>,
    ) -> Result<Reply, Reply> {
        let name = meta(&body, "name").to_string();
        self.admit(target, &body, &name)?;
        let k = key(&target.t, &target.namespace, &name);
        if self.objects.contains_key(&k) {
            return Err(status(
                409,
                "AlreadyExists",
                &format!("{} {name:?} already exists", qualified(&target.t)),
                json!({"name": name, "kind": target.t.plural}),
            ));
        }
        let manager = update_manager(query);
        let t = target.t.clone();
        let stored = self.write_update(&t, None, self.place(target, body), &manager);
        let obj = stored.obj.clone();
        self.objects.insert(k, stored);
        Ok(reply(201, &obj))
    }

    /// The body with the path's identity.
    fn place(&self, target: &Target, mut body: Value) -> Value {
        let t = &target.t;
        if !body.is_object() {
            body = json!({});
        }
        body["apiVersion"] = json!(t.api_version());
        body["kind"] = json!(t.kind);
        if !body.get("metadata").is_some_and(Value::is_object) {
            body["metadata"] = json!({});
        }
        if t.namespaced {
            body["metadata"]["namespace"] = json!(target.namespace);
        } else if let Some(m) = body["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        body
    }

    fn replace(
        &mut self,
        target: &Target,
        body: Value,
        query: &BTreeMap<String, String>,
    ) -> Result<Reply, Reply> {
        let name = target.name.clone().unwrap_or_default();
        let k = key(&target.t, &target.namespace, &name);
        let Some(existing) = self.objects.get(&k).cloned() else {
            return Err(object_not_found(&target.t, &name));
        };
        let rv = meta(&body, "resourceVersion");
        if !rv.is_empty() && rv != meta(&existing.obj, "resourceVersion") {
            return Err(status(
                409,
                "Conflict",
                &format!(
                    "Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes to the latest version and try again",
                    qualified(&target.t)
                ),
                json!({"name": name, "kind": target.t.plural}),
            ));
        }
        let manager = update_manager(query);
        let t = target.t.clone();
        let placed = self.place(target, body);
        let stored = self.write_update(&t, Some(existing), placed, &manager);
        let obj = stored.obj.clone();
        self.objects.insert(k, stored);
        Ok(reply(200, &obj))
    }

    fn patch(
        &mut self,
        target: &Target,
        body: Value,
        query: &BTreeMap<String, String>,
        content_type: &str,
    ) -> Result<Reply, Reply> {
        let name = target.name.clone().unwrap_or_default();
        let k = key(&target.t, &target.namespace, &name);
        let existing = self.objects.get(&k).cloned();
        let t = target.t.clone();
        if content_type.starts_with("application/apply-patch") {
            let Some(manager) = query.get("fieldManager").filter(|m| !m.is_empty()).cloned() else {
                return Err(status(
                    422,
                    "Invalid",
                    "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                    Value::Null,
                ));
            };
            let body_name = meta(&body, "name");
            if body_name != name {
                return Err(status(
                    400,
                    "BadRequest",
                    "the name of the object does not match the name on the URL",
                    Value::Null,
                ));
            }
            if existing.is_none() {
                self.admit(target, &body, &name)?;
            }
            let force = query.get("force").is_some_and(|f| f == "true");
            let placed = self.place(target, body);
            let created = existing.is_none();
            let stored = self.write_apply(&t, existing, placed, &manager, force)?;
            let obj = stored.obj.clone();
            self.objects.insert(k, stored);
            return Ok(reply(if created { 201 } else { 200 }, &obj));
        }
        if content_type.starts_with("application/merge-patch+json")
            || content_type.starts_with("application/strategic-merge-patch+json")
        {
            let Some(existing) = existing else {
                return Err(object_not_found(&t, &name));
            };
            let mut merged = existing.obj.clone();
            hyperfleet_adapter::adapters::transport::merge_patch(&mut merged, &body);
            let manager = update_manager(query);
            let placed = self.place(target, merged);
            let stored = self.write_update(&t, Some(existing), placed, &manager);
            let obj = stored.obj.clone();
            self.objects.insert(k, stored);
            return Ok(reply(200, &obj));
        }
        Err(status(
            415,
            "UnsupportedMediaType",
            &format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type:?})"
            ),
            Value::Null,
        ))
    }

    fn delete(&mut self, target: &Target, policy: &str) -> Result<Reply, Reply> {
        let name = target.name.clone().unwrap_or_default();
        let t = target.t.clone();
        let k = key(&t, &target.namespace, &name);
        let Some(stored) = self.objects.get(&k).cloned() else {
            return Err(object_not_found(&t, &name));
        };
        if !matches!(policy, "Background" | "Foreground" | "Orphan") {
            return Err(status(
                422,
                "Invalid",
                &format!(
                    "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: {policy:?}: supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
                ),
                Value::Null,
            ));
        }
        let uid = meta(&stored.obj, "uid").to_string();
        let dependents: Vec<Key> = self
            .objects
            .iter()
            .filter(|(_, o)| owned_by(&o.obj, &uid))
            .map(|(k, _)| k.clone())
            .collect();
        if policy == "Orphan" {
            for d in &dependents {
                if let Some(o) = self.objects.get_mut(d)
                    && let Some(refs) = o.obj["metadata"]["ownerReferences"].as_array_mut()
                {
                    refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(&uid));
                }
            }
        }
        let version = self.next_version();
        let obj = &mut self.objects.get_mut(&k).expect("present").obj;
        if obj.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(reply(202, obj));
        }
        let mut finalizers: Vec<Value> = obj["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if policy == "Foreground" && !dependents.is_empty() {
            finalizers.push(json!("foregroundDeletion"));
        }
        let is_namespace = t.group.is_empty() && t.plural == "namespaces";
        if finalizers.is_empty() && !is_namespace {
            self.objects.remove(&k);
            return Ok(reply(
                200,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": {"name": name, "group": t.group, "kind": t.plural, "uid": uid}}),
            ));
        }
        obj["metadata"]["finalizers"] = Value::Array(finalizers);
        obj["metadata"]["deletionTimestamp"] = json!(NOW);
        obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        obj["metadata"]["resourceVersion"] = json!(version);
        if is_namespace {
            obj["status"] = json!({"phase": "Terminating"});
        }
        Ok(reply(200, obj))
    }

    /// What the controllers would do: namespaces empty themselves, the garbage collector removes
    /// dependents of deleted owners, objects whose finalizers are gone disappear.
    fn reconcile(&mut self) {
        loop {
            let mut changed = false;
            let terminating: Vec<String> = self
                .objects
                .iter()
                .filter(|((g, p, _, _), o)| {
                    g.is_empty()
                        && p == "namespaces"
                        && o.obj.pointer("/metadata/deletionTimestamp").is_some()
                })
                .map(|((_, _, _, n), _)| n.clone())
                .collect();
            for ns in &terminating {
                let contents: Vec<Key> = self
                    .objects
                    .keys()
                    .filter(|(_, _, n, _)| n == ns)
                    .cloned()
                    .collect();
                for k in &contents {
                    changed |= self.begin_deletion(k);
                }
                let finalizers_left = self
                    .objects
                    .get(&(
                        String::new(),
                        "namespaces".into(),
                        String::new(),
                        ns.clone(),
                    ))
                    .and_then(|o| {
                        o.obj
                            .pointer("/metadata/finalizers")
                            .and_then(Value::as_array)
                            .map(|f| !f.is_empty())
                    })
                    .unwrap_or(false);
                if contents.is_empty() && !finalizers_left {
                    self.objects.remove(&(
                        String::new(),
                        "namespaces".into(),
                        String::new(),
                        ns.clone(),
                    ));
                    changed = true;
                }
            }
            let live: BTreeSet<String> = self
                .objects
                .values()
                .map(|o| meta(&o.obj, "uid").to_string())
                .collect();
            let orphans: Vec<Key> = self
                .objects
                .iter()
                .filter(|(_, o)| {
                    o.obj
                        .pointer("/metadata/ownerReferences")
                        .and_then(Value::as_array)
                        .is_some_and(|refs| {
                            !refs.is_empty()
                                && refs.iter().all(|r| {
                                    r.get("uid")
                                        .and_then(Value::as_str)
                                        .is_some_and(|u| !live.contains(u))
                                })
                        })
                })
                .map(|(k, _)| k.clone())
                .collect();
            // Dependents of owners deleted in the foreground go first.
            let foreground: BTreeSet<String> = self
                .objects
                .values()
                .filter(|o| {
                    o.obj
                        .pointer("/metadata/finalizers")
                        .and_then(Value::as_array)
                        .is_some_and(|f| f.iter().any(|x| x == "foregroundDeletion"))
                })
                .map(|o| meta(&o.obj, "uid").to_string())
                .collect();
            let doomed: Vec<Key> = self
                .objects
                .iter()
                .filter(|(_, o)| foreground.iter().any(|uid| owned_by(&o.obj, uid)))
                .map(|(k, _)| k.clone())
                .collect();
            for k in orphans.iter().chain(&doomed) {
                changed |= self.begin_deletion(k);
            }
            // Foreground owners whose dependents are gone, and objects whose finalizers are gone.
            let keys: Vec<Key> = self.objects.keys().cloned().collect();
            for k in keys {
                let o = &self.objects[&k].obj;
                if o.pointer("/metadata/deletionTimestamp").is_none()
                    || (k.1 == "namespaces" && k.0.is_empty())
                {
                    continue;
                }
                let uid = meta(o, "uid").to_string();
                let has_dependents = self.objects.values().any(|d| owned_by(&d.obj, &uid));
                let obj = &mut self.objects.get_mut(&k).expect("present").obj;
                if !has_dependents && let Some(f) = obj["metadata"]["finalizers"].as_array_mut() {
                    let before = f.len();
                    f.retain(|x| x != "foregroundDeletion");
                    changed |= f.len() != before;
                }
                if obj["metadata"]["finalizers"]
                    .as_array()
                    .is_none_or(|f| f.is_empty())
                {
                    self.objects.remove(&k);
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// Marks an object deleted (removing it unless finalizers hold it). Returns whether
    /// anything changed.
    fn begin_deletion(&mut self, k: &Key) -> bool {
        let Some(o) = self.objects.get_mut(k) else {
            return false;
        };
        if o.obj.pointer("/metadata/deletionTimestamp").is_some() {
            return false;
        }
        if o.obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
        {
            o.obj["metadata"]["deletionTimestamp"] = json!(NOW);
        } else {
            self.objects.remove(k);
        }
        true
    }

    fn stamp(&mut self, t: &ResourceType, obj: &mut Value, previous: Option<&Value>) {
        let version = self.next_version();
        let m = obj["metadata"].as_object_mut().expect("metadata");
        m.insert("resourceVersion".into(), json!(version));
        match previous {
            Some(p) => {
                for f in [
                    "uid",
                    "creationTimestamp",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                ] {
                    match p.pointer(&format!("/metadata/{f}")) {
                        Some(v) => m.insert(f.into(), v.clone()),
                        None => m.remove(f),
                    };
                }
                let generation = p
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                let changed = spec_of(p) != spec_of(obj);
                let m = obj["metadata"].as_object_mut().expect("metadata");
                m.insert(
                    "generation".into(),
                    json!(if changed { generation + 1 } else { generation }),
                );
                if let Some(s) = p.get("status") {
                    obj["status"] = s.clone();
                }
            }
            None => {
                m.insert(
                    "uid".into(),
                    json!(format!("00000000-0000-4000-8000-{:012x}", self.version)),
                );
                m.insert("creationTimestamp".into(), json!(NOW));
                m.insert("generation".into(), json!(1));
                m.remove("deletionTimestamp");
                if t.group.is_empty() && t.plural == "namespaces" {
                    obj["spec"] = json!({"finalizers": ["kubernetes"]});
                    obj["status"] = json!({"phase": "Active"});
                }
            }
        }
    }

    /// A create or update by `manager` (operation `Update`): it takes the fields it changed.
    fn write_update(
        &mut self,
        t: &ResourceType,
        previous: Option<Stored>,
        mut obj: Value,
        manager: &str,
    ) -> Stored {
        let prev_obj = previous.as_ref().map(|p| p.obj.clone());
        let mut owners = previous.map(|p| p.owners).unwrap_or_default();
        let new_leaves = leaves(&obj);
        let old_leaves = prev_obj.as_ref().map(leaves).unwrap_or_default();
        let changed: BTreeSet<FieldPath> = new_leaves
            .iter()
            .filter(|p| prev_obj.as_ref().is_none_or(|o| at(o, p) != at(&obj, p)))
            .cloned()
            .collect();
        let removed: BTreeSet<FieldPath> = old_leaves.difference(&new_leaves).cloned().collect();
        for set in owners.values_mut() {
            set.retain(|p| !changed.contains(p) && !removed.contains(p));
        }
        owners
            .entry((manager.into(), "Update".into()))
            .or_default()
            .extend(changed);
        owners.retain(|_, s| !s.is_empty());
        self.stamp(t, &mut obj, prev_obj.as_ref());
        render_managed_fields(&mut obj, &owners, &t.api_version());
        Stored { obj, owners }
    }

    /// Server-side apply by `manager`.
    fn write_apply(
        &mut self,
        t: &ResourceType,
        previous: Option<Stored>,
        config: Value,
        manager: &str,
        force: bool,
    ) -> Result<Stored, Reply> {
        let me = (manager.to_string(), "Apply".to_string());
        let (mut obj, mut owners) = match &previous {
            Some(p) => (p.obj.clone(), p.owners.clone()),
            None => (
                json!({"apiVersion": config["apiVersion"], "kind": config["kind"], "metadata": {"name": config["metadata"]["name"]}}),
                BTreeMap::new(),
            ),
        };
        if let Some(ns) = config.pointer("/metadata/namespace") {
            obj["metadata"]["namespace"] = ns.clone();
        }
        let applied = leaves(&config);
        let mut conflicts = Vec::new();
        for p in &applied {
            for (who, set) in &owners {
                if *who != me && set.contains(p) && at(&obj, p) != at(&config, p) {
                    conflicts.push((who.0.clone(), p.clone()));
                }
            }
        }
        if !conflicts.is_empty() && !force {
            let list: Vec<String> = conflicts
                .iter()
                .map(|(m, p)| {
                    format!(
                        "conflict with {m:?} using {}: .{}",
                        t.api_version(),
                        p.join(".")
                    )
                })
                .collect();
            return Err(status(
                409,
                "Conflict",
                &format!(
                    "Apply failed with {} conflict{}: {}",
                    list.len(),
                    if list.len() == 1 { "" } else { "s" },
                    list.join("\n")
                ),
                Value::Null,
            ));
        }
        for (who, set) in owners.iter_mut() {
            if *who != me {
                set.retain(|p| !conflicts.iter().any(|(m, c)| *m == who.0 && c == p));
            }
        }
        let previously: BTreeSet<FieldPath> = owners.get(&me).cloned().unwrap_or_default();
        for gone in previously.difference(&applied) {
            let shared = owners
                .iter()
                .any(|(who, set)| *who != me && set.contains(gone));
            if !shared {
                remove_at(&mut obj, gone);
            }
        }
        for p in &applied {
            if let Some(v) = at(&config, p) {
                set_at(&mut obj, p, v.clone());
            }
        }
        owners.insert(me, applied);
        owners.retain(|_, s| !s.is_empty());
        let prev_obj = previous.as_ref().map(|p| p.obj.clone());
        self.stamp(t, &mut obj, prev_obj.as_ref());
        render_managed_fields(&mut obj, &owners, &t.api_version());
        Ok(Stored { obj, owners })
    }
}

fn valid_name(name: &str) -> bool {
    name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn owned_by(obj: &Value, uid: &str) -> bool {
    !uid.is_empty()
        && obj
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .is_some_and(|refs| {
                refs.iter()
                    .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid))
            })
}

/// Everything but metadata and status (what bumps `metadata.generation`).
fn spec_of(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    o
}

/// The leaf field paths a client can own: all but identity, server-set metadata and status.
fn leaves(obj: &Value) -> BTreeSet<FieldPath> {
    fn walk(v: &Value, path: &mut FieldPath, out: &mut BTreeSet<FieldPath>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, child) in m {
                    path.push(k.clone());
                    walk(child, path, out);
                    path.pop();
                }
            }
            _ => {
                out.insert(path.clone());
            }
        }
    }
    let mut out = BTreeSet::new();
    let Some(map) = obj.as_object() else {
        return out;
    };
    for (k, v) in map {
        match k.as_str() {
            "apiVersion" | "kind" | "status" => {}
            "metadata" => {
                for field in ["labels", "annotations", "finalizers", "ownerReferences"] {
                    if let Some(child) = v.get(field) {
                        let mut path = vec!["metadata".to_string(), field.to_string()];
                        walk(child, &mut path, &mut out);
                    }
                }
            }
            _ => {
                let mut path = vec![k.clone()];
                walk(v, &mut path, &mut out);
            }
        }
    }
    out
}

fn at<'a>(obj: &'a Value, path: &FieldPath) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, k| v.get(k))
}

fn set_at(obj: &mut Value, path: &FieldPath, value: Value) {
    let mut cur = obj;
    for k in &path[..path.len() - 1] {
        if !cur.get(k).is_some_and(Value::is_object) {
            cur[k.as_str()] = json!({});
        }
        cur = cur.get_mut(k).expect("just set");
    }
    cur[path[path.len() - 1].as_str()] = value;
}

fn remove_at(obj: &mut Value, path: &FieldPath) {
    let mut cur = obj;
    for k in &path[..path.len() - 1] {
        match cur.get_mut(k) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Some(m) = cur.as_object_mut() {
        m.remove(&path[path.len() - 1]);
    }
}

/// The field manager of a non-apply write (`unknown` when the client names none).
fn update_manager(query: &BTreeMap<String, String>) -> String {
    query
        .get("fieldManager")
        .cloned()
        .unwrap_or_else(|| "unknown".into())
}

/// `metadata.managedFields` in the API server's FieldsV1 form.
fn render_managed_fields(
    obj: &mut Value,
    owners: &BTreeMap<(String, String), BTreeSet<FieldPath>>,
    api_version: &str,
) {
    let entries: Vec<Value> = owners
        .iter()
        .map(|((manager, operation), paths)| {
            let mut tree = Map::new();
            for p in paths {
                let mut cur = &mut tree;
                for seg in p {
                    cur = cur
                        .entry(format!("f:{seg}"))
                        .or_insert_with(|| json!({}))
                        .as_object_mut()
                        .expect("object");
                }
            }
            json!({"manager": manager, "operation": operation, "apiVersion": api_version, "time": NOW, "fieldsType": "FieldsV1", "fieldsV1": tree})
        })
        .collect();
    obj["metadata"]["managedFields"] = Value::Array(entries);
}

/// One label-selector requirement.
#[derive(Debug)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl Requirement {
    fn matches(&self, labels: Option<&Value>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        match self {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        }
    }
}

fn valid_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 317
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

fn valid_value(s: &str) -> bool {
    s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Parses a label selector the way the API server does (the subset the adapter and tests use).
fn parse_selector(text: &str) -> Result<Vec<Requirement>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
        .into_iter()
        .map(|p| {
            let p = p.trim();
            let bad = || format!("{p:?}: invalid label selector");
            let check = |k: &str, vs: &[&str]| {
                if valid_label(k) && vs.iter().all(|v| valid_value(v)) {
                    Ok(())
                } else {
                    Err(bad())
                }
            };
            let set = |rest: &str| -> Result<Vec<String>, String> {
                let inner = rest
                    .trim()
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(bad)?;
                Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
            };
            if let Some(k) = p.strip_prefix('!') {
                check(k, &[])?;
                return Ok(Requirement::NotExists(k.to_string()));
            }
            if let Some((k, v)) = p.split_once("!=") {
                check(k.trim(), &[v.trim()])?;
                return Ok(Requirement::NotEquals(k.trim().into(), v.trim().into()));
            }
            if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                check(k.trim(), &[v.trim()])?;
                return Ok(Requirement::Equals(k.trim().into(), v.trim().into()));
            }
            if let Some((k, rest)) = p.split_once(" notin ") {
                let vs = set(rest)?;
                check(k.trim(), &vs.iter().map(String::as_str).collect::<Vec<_>>())?;
                return Ok(Requirement::NotIn(k.trim().into(), vs));
            }
            if let Some((k, rest)) = p.split_once(" in ") {
                let vs = set(rest)?;
                check(k.trim(), &vs.iter().map(String::as_str).collect::<Vec<_>>())?;
                return Ok(Requirement::In(k.trim().into(), vs));
            }
            check(p, &[])?;
            Ok(Requirement::Exists(p.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests;
