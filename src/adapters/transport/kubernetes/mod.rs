//! The Kubernetes transport: manifests applied with server-side apply (field manager
//! `hyperfleet-adapter`, forced) under the generation rule, objects read by name or label
//! selector, deleted with a propagation policy. Kinds are resolved through the API server's
//! discovery documents, cached, and looked up again on a miss so CRDs installed later are found.

pub mod api;

use self::api::{ApiClient, CallPolicy, Failure, RateLimiter};
use crate::config::EnvSource;
use crate::config::adapter::KubernetesConfig;
use crate::domain::generation::{Decision, decide_kubernetes};
use crate::ports::{
    Applied, ErrorKind, Gvk, Operation, Propagation, Selector, Target, Transport, TransportError,
    manifest_identity,
};
use async_trait::async_trait;
use kube::core::Request;
use kube::core::params::{
    DeleteParams, GetParams, ListParams, Patch, PatchParams, PostParams, Preconditions,
    PropagationPolicy,
};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The field manager of every apply.
pub const FIELD_MANAGER: &str = "hyperfleet-adapter";

/// Where the client's credentials come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A kubeconfig file; `from_env` when it came from `KUBECONFIG`.
    Kubeconfig { path: PathBuf, from_env: bool },
    /// The pod's service account.
    InCluster,
}

/// Everything the transport needs from the adapter config.
#[derive(Debug, Clone)]
pub struct Settings {
    pub source: Source,
    pub qps: f64,
    pub burst: u32,
    pub policy: CallPolicy,
    pub recreate_timeout: Duration,
    /// How often `recreate` checks whether the old object is gone.
    pub recreate_poll: Duration,
}

impl Settings {
    /// From `clients.kubernetes`: `kube_config_path`, else `KUBECONFIG` (first path of the
    /// list), else the in-cluster service account. Zero values take the defaults (qps 100,
    /// burst 200, timeout 30s, 3 attempts, recreate timeout 60s).
    pub fn from_config(cfg: &KubernetesConfig, env: &dyn EnvSource) -> Self {
        let source = if !cfg.kube_config_path.is_empty() {
            Source::Kubeconfig {
                path: PathBuf::from(&cfg.kube_config_path),
                from_env: false,
            }
        } else if let Some(first) = crate::config::env::non_empty(env, "KUBECONFIG")
            .and_then(|v| v.split(':').find(|p| !p.is_empty()).map(PathBuf::from))
        {
            Source::Kubeconfig {
                path: first,
                from_env: true,
            }
        } else {
            Source::InCluster
        };
        let positive = |d: &crate::golang::GoDuration, default: u64| {
            if d.0 > 0 {
                d.to_std()
            } else {
                Duration::from_secs(default)
            }
        };
        let policy = CallPolicy::new(
            positive(&cfg.timeout, 30),
            if cfg.retry_attempts > 0 {
                u32::try_from(cfg.retry_attempts).unwrap_or(u32::MAX)
            } else {
                3
            },
        );
        Settings {
            source,
            qps: if cfg.qps > 0.0 { cfg.qps } else { 100.0 },
            burst: if cfg.burst > 0 {
                u32::try_from(cfg.burst).unwrap_or(u32::MAX)
            } else {
                200
            },
            policy,
            recreate_timeout: positive(&cfg.recreate_timeout, 60),
            recreate_poll: Duration::from_millis(100),
        }
    }
}

/// How a kind is addressed: its plural resource name and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Resolved {
    plural: String,
    namespaced: bool,
}

/// The transport. Cheap to share (`Arc`); every call is independent.
pub struct KubernetesTransport {
    api: ApiClient,
    kinds: Mutex<HashMap<Gvk, Resolved>>,
    recreate_timeout: Duration,
    recreate_poll: Duration,
}

/// The client configuration the settings describe, logging where its credentials come from.
pub async fn config(settings: &Settings) -> Result<kube::Config, TransportError> {
    let config = match &settings.source {
        Source::Kubeconfig { path, from_env } => {
            if *from_env {
                tracing::info!("Using kubeconfig from: {} (KUBECONFIG)", path.display());
            } else {
                tracing::info!("Using kubeconfig from: {}", path.display());
            }
            let failed = |e: &dyn std::fmt::Display| {
                TransportError::invalid(format!(
                    "failed to load kubeconfig from {}: {e}",
                    path.display()
                ))
            };
            let file = kube::config::Kubeconfig::read_from(path).map_err(|e| failed(&e))?;
            kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| failed(&e))?
        }
        Source::InCluster => {
            tracing::info!("Using in-cluster Kubernetes configuration (ServiceAccount)");
            kube::Config::incluster().map_err(|e| {
                TransportError::invalid(format!("failed to create in-cluster config: {e}"))
                    .with_source(e)
            })?
        }
    };
    Ok(config)
}

impl KubernetesTransport {
    /// Connects as the settings say (no request is made until the first operation).
    pub async fn connect(settings: &Settings) -> Result<Self, TransportError> {
        Self::with_config(config(settings).await?, settings)
    }

    /// The transport over a client built from `config`. kube's own retry layer is turned off:
    /// the transport's policy (every transient class, `Retry-After`, bounded) replaces it.
    pub fn with_config(
        mut config: kube::Config,
        settings: &Settings,
    ) -> Result<Self, TransportError> {
        config.default_retry = false;
        let client = kube::Client::try_from(config).map_err(|e| {
            TransportError::invalid(format!("failed to create kubernetes client: {e}"))
                .with_source(e)
        })?;
        Ok(Self::with_client(client, settings))
    }

    /// The transport over an existing client (whose own retry layer, if on, adds to ours).
    pub fn with_client(client: kube::Client, settings: &Settings) -> Self {
        KubernetesTransport {
            api: ApiClient::new(
                client,
                RateLimiter::new(settings.qps, settings.burst),
                settings.policy.clone(),
            ),
            kinds: Mutex::default(),
            recreate_timeout: settings.recreate_timeout,
            recreate_poll: settings.recreate_poll,
        }
    }

    fn cached(&self, gvk: &Gvk) -> Option<Resolved> {
        self.kinds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(gvk)
            .cloned()
    }

    fn forget(&self, gvk: &Gvk) {
        self.kinds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(gvk);
    }

    /// The kind's resource, from the cache or the group version's discovery document.
    async fn resolve(&self, gvk: &Gvk) -> Result<Resolved, TransportError> {
        if let Some(r) = self.cached(gvk) {
            return Ok(r);
        }
        let no_match = || {
            TransportError::invalid(format!(
                "no matches for kind {:?} in version {:?}",
                gvk.kind,
                gvk.api_version()
            ))
        };
        if gvk.kind.is_empty() || gvk.version.is_empty() {
            return Err(no_match());
        }
        let request = http::Request::get(group_version_path(gvk))
            .body(Vec::new())
            .map_err(|e| TransportError::invalid(e.to_string()))?;
        let document = match self.api.call(request).await {
            Ok(reply) => reply
                .json()
                .map_err(|f| TransportError::new(f.kind(), f.message))?,
            Err(f) if f.is_not_found() => return Err(no_match()),
            Err(f) => {
                return Err(TransportError::new(
                    f.kind(),
                    format!("failed to discover {}: {f}", gvk.api_version()),
                ));
            }
        };
        let found = document
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|r| {
                r.get("kind").and_then(Value::as_str) == Some(gvk.kind.as_str())
                    && r.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| !n.contains('/'))
            })
            .ok_or_else(no_match)?;
        let resolved = Resolved {
            plural: found["name"].as_str().unwrap_or_default().to_string(),
            namespaced: found
                .get("namespaced")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        self.kinds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(gvk.clone(), resolved.clone());
        Ok(resolved)
    }

    /// Runs `op` on the kind's resource; when the server says the resource type itself is
    /// gone (a deleted CRD), forgets it and resolves once more.
    async fn on_resource<T, F, Fut>(&self, gvk: &Gvk, op: F) -> Result<T, OpError>
    where
        F: Fn(Resolved) -> Fut,
        Fut: std::future::Future<Output = Result<T, Failure>>,
    {
        let resolved = self.resolve(gvk).await.map_err(OpError::Resolve)?;
        match op(resolved).await {
            Err(f) if f.is_missing_resource_type() => {
                self.forget(gvk);
                let resolved = self.resolve(gvk).await.map_err(OpError::Resolve)?;
                op(resolved).await.map_err(OpError::Api)
            }
            other => other.map_err(OpError::Api),
        }
    }

    async fn get_object(
        &self,
        gvk: &Gvk,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, OpError> {
        let found = self
            .on_resource(gvk, |r| async move {
                let ns = scoped(&r, namespace);
                let req = Request::new(collection_path(gvk, &r, ns))
                    .get(name, &GetParams::default())
                    .map_err(build_failure)?;
                self.api.call(req).await?.json()
            })
            .await;
        match found {
            Ok(obj) => Ok(Some(with_type(obj, gvk))),
            Err(OpError::Api(f)) if f.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Server-side apply; returns the HTTP status (201 created, 200 existed) and the object.
    async fn server_side_apply(
        &self,
        gvk: &Gvk,
        namespace: &str,
        name: &str,
        body: &Value,
    ) -> Result<(u16, Value, u32), OpError> {
        self.on_resource(gvk, |r| async move {
            let ns = scoped(&r, namespace);
            let params = PatchParams::apply(FIELD_MANAGER).force();
            let req = Request::new(collection_path(gvk, &r, ns))
                .patch(name, &params, &Patch::Apply(body))
                .map_err(build_failure)?;
            let reply = self.api.call(req).await?;
            let object = with_type(reply.json()?, gvk);
            Ok((reply.status, object, reply.unanswered))
        })
        .await
    }

    /// Creates the object only if it does not exist (`POST`: 409 `AlreadyExists` otherwise,
    /// a lost race), then records the adapter's fields as applied ([`Self::own_as_applier`]).
    async fn create_only(
        &self,
        gvk: &Gvk,
        namespace: &str,
        name: &str,
        body: &Value,
    ) -> Result<Value, OpError> {
        // A resourceVersion (an update's guard from an earlier attempt) is refused on a create.
        let mut body = body.clone();
        if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        let data = serde_json::to_vec(&body).unwrap_or_default();
        let created = self
            .on_resource(gvk, |r| {
                let data = data.clone();
                async move {
                    let ns = scoped(&r, namespace);
                    let params = PostParams {
                        field_manager: Some(FIELD_MANAGER.into()),
                        ..PostParams::default()
                    };
                    let req = Request::new(collection_path(gvk, &r, ns))
                        .create(&params, data)
                        .map_err(build_failure)?;
                    self.api.call(req).await?.json()
                }
            })
            .await?;
        let created = with_type(created, gvk);
        Ok(self.own_as_applier(gvk, namespace, name, created).await)
    }

    /// A `POST` records the adapter's fields under a `hyperfleet-adapter` *Update* entry of
    /// `metadata.managedFields`; server-side apply only prunes fields its *Apply* entry owns.
    /// So the entry becomes the Apply entry a server-side-apply create would have made (a JSON
    /// patch of its `operation`, conditional on the `resourceVersion`, as `kubectl`'s
    /// client-side-to-server-side apply upgrade does), and fields the adapter stops setting
    /// later are removed as for any applied field. Best effort: when it fails the object is
    /// kept as created, and such fields stay until removed by hand.
    async fn own_as_applier(&self, gvk: &Gvk, namespace: &str, name: &str, object: Value) -> Value {
        let entries = object
            .pointer("/metadata/managedFields")
            .and_then(Value::as_array);
        let Some(index) = entries.and_then(|e| {
            e.iter().position(|m| {
                m.get("manager").and_then(Value::as_str) == Some(FIELD_MANAGER)
                    && m.get("operation").and_then(Value::as_str) == Some("Update")
            })
        }) else {
            return object;
        };
        let ops = serde_json::json!([
            {"op": "test", "path": "/metadata/resourceVersion", "value": meta(&object, "resourceVersion")},
            {"op": "replace", "path": format!("/metadata/managedFields/{index}/operation"), "value": "Apply"},
        ]);
        let upgraded = self
            .on_resource(gvk, |r| {
                let ops = &ops;
                async move {
                    let ns = scoped(&r, namespace);
                    let params = PatchParams {
                        field_manager: Some(FIELD_MANAGER.into()),
                        ..PatchParams::default()
                    };
                    let mut req = Request::new(collection_path(gvk, &r, ns))
                        .patch(name, &params, &Patch::Merge(ops))
                        .map_err(build_failure)?;
                    req.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/json-patch+json"),
                    );
                    self.api.call(req).await?.json()
                }
            })
            .await;
        match upgraded {
            Ok(o) => with_type(o, gvk),
            Err(e) => {
                tracing::warn!(
                    "Created {}; could not record its fields as applied by {FIELD_MANAGER} ({}): fields set now and dropped from the manifest later will stay",
                    describe(gvk, namespace, name),
                    e.render("patch", &describe(gvk, namespace, name))
                );
                object
            }
        }
    }

    async fn delete_object(
        &self,
        gvk: &Gvk,
        namespace: &str,
        name: &str,
        propagation: Propagation,
        only: Option<&Value>,
    ) -> Result<(), OpError> {
        let policy = match propagation {
            Propagation::Background => PropagationPolicy::Background,
            Propagation::Foreground => PropagationPolicy::Foreground,
            Propagation::Orphan => PropagationPolicy::Orphan,
        };
        // Deleting the object read, and no other (a 409 when it changed since).
        let preconditions = only.map(|o| Preconditions {
            uid: Some(meta(o, "uid").to_string()).filter(|u| !u.is_empty()),
            resource_version: Some(meta(o, "resourceVersion").to_string())
                .filter(|v| !v.is_empty()),
        });
        let deleted = self
            .on_resource(gvk, |r| {
                let policy = policy.clone();
                let preconditions = preconditions.clone();
                async move {
                    let ns = scoped(&r, namespace);
                    let params = DeleteParams {
                        propagation_policy: Some(policy.clone()),
                        preconditions,
                        ..DeleteParams::default()
                    };
                    let req = Request::new(collection_path(gvk, &r, ns))
                        .delete(name, &params)
                        .map_err(build_failure)?;
                    self.api.call(req).await.map(drop)
                }
            })
            .await;
        match deleted {
            Err(OpError::Api(f)) if f.is_not_found() => Ok(()),
            other => other,
        }
    }

    /// Recreate: delete the object read (and no other), wait (bounded) until it is gone, then
    /// create it. `None` when another writer changed the object before the delete or created
    /// it before the create.
    async fn recreate(
        &self,
        gvk: &Gvk,
        namespace: &str,
        name: &str,
        existing: &Value,
        body: &Value,
    ) -> Result<Option<Value>, TransportError> {
        let what = describe(gvk, namespace, name);
        match self
            .delete_object(
                gvk,
                namespace,
                name,
                Propagation::Background,
                Some(existing),
            )
            .await
        {
            Err(OpError::Api(f)) if f.is_write_race() => return Ok(None),
            other => other.map_err(|e| {
                e.into_transport("delete", &what)
                    .context("failed to delete resource for recreation")
            })?,
        }
        let old_uid = existing.pointer("/metadata/uid").and_then(Value::as_str);
        let deadline = Instant::now() + self.recreate_timeout;
        loop {
            let current = self.get_object(gvk, namespace, name).await.map_err(|e| {
                e.into_transport("get", &what)
                    .context("failed waiting for resource deletion: error checking deletion status")
            })?;
            let still =
                current.filter(|c| c.pointer("/metadata/uid").and_then(Value::as_str) == old_uid);
            let Some(still) = still else { break };
            if Instant::now() >= deadline {
                let finalizers = still
                    .pointer("/metadata/finalizers")
                    .and_then(Value::as_array)
                    .map(|f| {
                        f.iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                return Err(TransportError::new(
                    ErrorKind::Timeout,
                    format!(
                        "failed waiting for resource deletion: {}/{name} still present after {:?} (finalizers: [{finalizers}])",
                        gvk.kind, self.recreate_timeout
                    ),
                ));
            }
            tokio::time::sleep(self.recreate_poll).await;
        }
        match self.create_only(gvk, namespace, name, body).await {
            Ok(obj) => Ok(Some(obj)),
            Err(OpError::Api(f)) if f.is_write_race() => Ok(None),
            Err(e) => Err(e.into_transport("create", &what)),
        }
    }
}

/// A failed operation: the kind could not be resolved, or the API call failed.
#[derive(Debug)]
enum OpError {
    Resolve(TransportError),
    Api(Failure),
}

impl OpError {
    /// The classification of the failure.
    fn kind(&self) -> ErrorKind {
        match self {
            OpError::Resolve(e) => e.kind(),
            OpError::Api(f) => f.kind(),
        }
    }

    /// The transport error for `op` on `what`: its kind, and the rendered message.
    fn into_transport(self, op: &str, what: &str) -> TransportError {
        let message = self.render(op, what);
        TransportError::new(self.kind(), message)
    }

    /// `K8s <op> operation failed: <Kind>/<name> (namespace: <ns>): <msg>`.
    fn render(&self, op: &str, what: &str) -> String {
        match self {
            OpError::Resolve(m) => format!("K8s {op} operation failed: {what}: {m}"),
            OpError::Api(f) => format!("K8s {op} operation failed: {what}: {f}"),
        }
    }
}

fn build_failure(e: kube::core::request::Error) -> Failure {
    Failure {
        code: None,
        reason: "InvalidRequest".into(),
        message: e.to_string(),
        unanswered: None,
        object: None,
        retry_after: None,
        attempts: 1,
        lost_answers: 0,
    }
}

/// `<Kind>/<name>` with ` (namespace: <ns>)` when there is one.
fn describe(gvk: &Gvk, namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("{}/{name}", gvk.kind)
    } else {
        format!("{}/{name} (namespace: {namespace})", gvk.kind)
    }
}

fn group_version_path(gvk: &Gvk) -> String {
    if gvk.group.is_empty() {
        format!("/api/{}", gvk.version)
    } else {
        format!("/apis/{}/{}", gvk.group, gvk.version)
    }
}

/// The namespace a request uses: none for cluster-scoped kinds.
fn scoped<'a>(r: &Resolved, namespace: &'a str) -> &'a str {
    if r.namespaced { namespace } else { "" }
}

fn collection_path(gvk: &Gvk, r: &Resolved, namespace: &str) -> String {
    let base = group_version_path(gvk);
    if namespace.is_empty() {
        format!("{base}/{}", r.plural)
    } else {
        format!("{base}/namespaces/{namespace}/{}", r.plural)
    }
}

/// List items come without `apiVersion`/`kind`; the executor reads the kind of what it found.
fn with_type(mut obj: Value, gvk: &Gvk) -> Value {
    if let Some(map) = obj.as_object_mut() {
        map.entry("apiVersion")
            .or_insert_with(|| Value::String(gvk.api_version()));
        map.entry("kind")
            .or_insert_with(|| Value::String(gvk.kind.clone()));
    }
    obj
}

fn meta<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The namespace an apply goes to: the manifest's for a namespaced kind (required there); none
/// for a cluster-scoped kind, whose apply body must not carry one (the API server ignores it).
fn apply_namespace(
    namespaced: bool,
    gvk: &Gvk,
    name: &str,
    body: &mut Value,
) -> Result<String, TransportError> {
    if namespaced {
        let ns = meta(body, "namespace");
        if ns.is_empty() {
            return Err(TransportError::invalid(format!(
                "failed to apply resource {}/{name}: metadata.namespace is required for a namespaced kind",
                gvk.kind
            )));
        }
        return Ok(ns.to_string());
    }
    if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("namespace");
    }
    Ok(String::new())
}

/// Makes an apply of an object read at `resourceVersion` R conditional on it: the body carries
/// `metadata.resourceVersion: R`, and the API server answers 409 Conflict if the object changed
/// since. The server does not store it or count it among the applier's fields.
fn guard(body: &mut Value, existing: &Value) {
    let rv = meta(existing, "resourceVersion");
    if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut)
        && !rv.is_empty()
    {
        m.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}

/// Reads, decides and writes at most this many times when other writers keep changing the
/// object between our read and our write.
const WRITE_ATTEMPTS: u32 = 5;

/// What the attempt before this one lost to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lost {
    /// Nothing: this is the first attempt.
    Nothing,
    /// A create that found the object there; `lost_answers` earlier tries of it went
    /// unanswered (then the object found is most likely our own).
    Create { lost_answers: u32 },
    /// An update that found the object changed; `lost_answers` earlier tries of it went
    /// unanswered (then the change found is most likely our own update, which said `reason`).
    Update { lost_answers: u32, reason: String },
    /// A recreate that found the object changed or created by another writer.
    Recreate,
}

/// Waits before the next read after a lost race: 25 ms doubling, at most 400 ms, with full
/// jitter, so replicas that collided do not collide again in step.
async fn after_lost_race(attempt: u32) {
    let cap = Duration::from_millis(25u64 << attempt.min(4));
    let jitter = (uuid::Uuid::new_v4().as_u128() % 1_000) as u32;
    tokio::time::sleep(cap.mul_f64(f64::from(jitter) / 1_000.0)).await;
}

#[async_trait]
impl Transport for KubernetesTransport {
    async fn apply(
        &self,
        manifest: &Value,
        recreate_on_change: bool,
        _target: &Target,
    ) -> Result<Applied, TransportError> {
        let (gvk, name) = manifest_identity(manifest)?;
        let resolved = self.resolve(&gvk).await.map_err(|e| {
            e.context(format!(
                "failed to get existing resource {}/{name}",
                gvk.kind
            ))
        })?;
        let mut body = manifest.clone();
        let namespace = apply_namespace(resolved.namespaced, &gvk, name, &mut body)?;
        let what = describe(&gvk, &namespace, name);
        let failed = |op: Operation, kind: ErrorKind, e: String| {
            TransportError::new(
                kind,
                format!(
                    "failed to {} resource {}/{name}: {e}",
                    op.as_str(),
                    gvk.kind
                ),
            )
        };
        // Read, decide, write conditionally on what was read; when another writer changed the
        // object in between, read and decide again (an apply never moves an object back).
        let mut lost = Lost::Nothing;
        let mut last_refusal = String::new();
        for attempt in 0..WRITE_ATTEMPTS {
            if attempt > 0 {
                after_lost_race(attempt).await;
            }
            let existing = self.get_object(&gvk, &namespace, name).await.map_err(|e| {
                TransportError::new(
                    e.kind(),
                    format!(
                        "failed to get existing resource {}/{name}: {}",
                        gvk.kind,
                        e.render("get", &what)
                    ),
                )
            })?;
            let Decision {
                mut operation,
                mut reason,
                stale,
            } = decide_kubernetes(&body, existing.as_ref(), recreate_on_change);
            let object = match (operation, existing) {
                (Operation::Skip, Some(existing)) => {
                    match std::mem::replace(&mut lost, Lost::Nothing) {
                        // Our own write, whose answer was lost, is what the retry found.
                        Lost::Create { lost_answers } if lost_answers > 0 && !stale => {
                            operation = Operation::Create;
                            reason = format!(
                                "created (the answer to {lost_answers} earlier attempt(s) was lost; the retry found the object)"
                            );
                        }
                        Lost::Create { .. } if !stale => {
                            reason = "already exists (concurrent create)".into();
                        }
                        Lost::Update {
                            lost_answers,
                            reason: ours,
                        } if lost_answers > 0 && !stale => {
                            operation = Operation::Update;
                            reason = format!(
                                "{ours} (the answer to {lost_answers} earlier attempt(s) was lost; the retry found it applied)"
                            );
                        }
                        _ => {}
                    }
                    existing
                }
                (Operation::Recreate, Some(existing)) => match self
                    .recreate(&gvk, &namespace, name, &existing, &body)
                    .await
                    .map_err(|e| failed(operation, e.kind(), e.to_string()))?
                {
                    Some(object) => object,
                    None => {
                        lost = Lost::Recreate;
                        last_refusal = "the object changed before the delete or was created again before the create".into();
                        continue;
                    }
                },
                (_, existing) => {
                    let written = match &existing {
                        None => self.create_only(&gvk, &namespace, name, &body).await,
                        Some(read) => {
                            guard(&mut body, read);
                            self.server_side_apply(&gvk, &namespace, name, &body)
                                .await
                                .map(|(_, object, _)| object)
                        }
                    };
                    match written {
                        Ok(object) => object,
                        Err(OpError::Api(f)) if f.is_write_race() => {
                            lost = match existing {
                                None => Lost::Create {
                                    lost_answers: f.lost_answers,
                                },
                                Some(_) => Lost::Update {
                                    lost_answers: f.lost_answers,
                                    reason,
                                },
                            };
                            last_refusal = f.to_string();
                            continue;
                        }
                        Err(e) => {
                            return Err(failed(
                                operation,
                                e.kind(),
                                e.render(operation.as_str(), &what),
                            ));
                        }
                    }
                }
            };
            return Ok(Applied {
                operation,
                reason,
                object,
                stale,
            });
        }
        Err(TransportError::new(
            ErrorKind::Conflict,
            format!(
                "failed to apply resource {}/{name}: {what} changed between our read and our write {WRITE_ATTEMPTS} times in a row (other writers); the last refusal: {last_refusal}",
                gvk.kind
            ),
        ))
    }

    async fn get(
        &self,
        gvk: &Gvk,
        namespace: &str,
        name: &str,
        _target: &Target,
    ) -> Result<Value, TransportError> {
        let what = describe(gvk, namespace, name);
        match self.get_object(gvk, namespace, name).await {
            Ok(Some(obj)) => Ok(obj),
            Ok(None) => Err(TransportError::not_found(&gvk.kind, name)),
            Err(e) => Err(e.into_transport("get", &what)),
        }
    }

    async fn discover(
        &self,
        gvk: &Gvk,
        selector: &Selector,
        _target: &Target,
    ) -> Result<Vec<Value>, TransportError> {
        tracing::debug!(
            kind = %gvk.kind,
            namespace = %selector.namespace,
            selector = %selector.label_string(),
            "Discovering resources by label selector"
        );
        let labels = selector.label_string();
        let listed = self
            .on_resource(gvk, |r| {
                let labels = labels.clone();
                async move {
                    let ns = scoped(&r, &selector.namespace);
                    let mut params = ListParams::default();
                    if !labels.is_empty() {
                        params = params.labels(&labels);
                    }
                    let req = Request::new(collection_path(gvk, &r, ns))
                        .list(&params)
                        .map_err(build_failure)?;
                    self.api.call(req).await?.json()
                }
            })
            .await
            .map_err(|e| {
                let what = if selector.namespace.is_empty() {
                    format!("{} (selector: {labels})", gvk.kind)
                } else {
                    format!(
                        "{} (namespace: {}, selector: {labels})",
                        gvk.kind, selector.namespace
                    )
                };
                e.into_transport("list", &what)
            })?;
        Ok(listed
            .get("items")
            .and_then(Value::as_array)
            .map(|items| items.iter().map(|i| with_type(i.clone(), gvk)).collect())
            .unwrap_or_default())
    }

    async fn delete(
        &self,
        gvk: &Gvk,
        namespace: &str,
        name: &str,
        propagation: Propagation,
        _target: &Target,
    ) -> Result<(), TransportError> {
        self.delete_object(gvk, namespace, name, propagation, None)
            .await
            .map_err(|e| e.into_transport("delete", &describe(gvk, namespace, name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MapEnv;

    #[test]
    fn settings_follow_config_then_kubeconfig_env_then_in_cluster() {
        let mut cfg = KubernetesConfig::default();
        let env = MapEnv::from_pairs([("KUBECONFIG", "/a/config:/b/config")]);
        let s = Settings::from_config(&cfg, &env);
        assert_eq!(
            s.source,
            Source::Kubeconfig {
                path: "/a/config".into(),
                from_env: true
            }
        );
        assert_eq!(
            (s.qps, s.burst, s.policy.retry.attempts),
            (100.0, 200, Some(3))
        );
        assert_eq!(s.recreate_timeout, Duration::from_secs(60));
        cfg.kube_config_path = "/etc/kube".into();
        cfg.qps = 5.0;
        cfg.burst = 7;
        cfg.retry_attempts = 1;
        cfg.recreate_timeout = crate::golang::GoDuration::from_secs(2);
        let s = Settings::from_config(&cfg, &env);
        assert_eq!(
            s.source,
            Source::Kubeconfig {
                path: "/etc/kube".into(),
                from_env: false
            }
        );
        assert_eq!((s.qps, s.burst, s.policy.retry.attempts), (5.0, 7, Some(1)));
        assert_eq!(s.recreate_timeout, Duration::from_secs(2));
        let none = Settings::from_config(&KubernetesConfig::default(), &MapEnv::default());
        assert_eq!(none.source, Source::InCluster);
    }

    #[test]
    fn paths_and_descriptions() {
        let cm = Gvk::new("v1", "ConfigMap");
        let r = Resolved {
            plural: "configmaps".into(),
            namespaced: true,
        };
        assert_eq!(
            collection_path(&cm, &r, "ns"),
            "/api/v1/namespaces/ns/configmaps"
        );
        assert_eq!(collection_path(&cm, &r, ""), "/api/v1/configmaps");
        let job = Gvk::new("batch/v1", "Job");
        assert_eq!(group_version_path(&job), "/apis/batch/v1");
        assert_eq!(describe(&cm, "ns", "a"), "ConfigMap/a (namespace: ns)");
        assert_eq!(describe(&cm, "", "a"), "ConfigMap/a");
    }
}
