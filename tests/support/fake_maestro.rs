//! An in-process fake Maestro: the CloudEvents gRPC service (tonic) and the REST API (axum) on
//! their own ports, behaving as the protocol reference describes (`spec/maestro-protocol.md`
//! §8, §9, §12):
//! - Publish decodes binary-mode events, requires `ce-clustername`, `ce-resourceid` and
//!   `ce-resourceversion` (integer or decimal string), validates bundles, and answers errors as
//!   gRPC UNKNOWN with Maestro's texts (`fk_resources_consumers` for unknown consumers, the
//!   version and deletion conflicts, the same-manifests rule of the pinned version);
//! - create stores version 1 (or the given one), update checks the version (0 = latest) and
//!   bumps it, delete marks the bundle deleting (still readable, `deleted_at`,
//!   `metadata.deletionTimestamp`) until the simulated agent confirms;
//! - a simulated work agent reports status (Applied/Available work conditions, per-manifest
//!   resourceStatus with statusFeedback for the feedback rules) at once or never, and finishes
//!   deletions at once or when told;
//! - Subscribe sends `subscription-id`, heartbeats at a configurable interval and the status
//!   events of the subscriber's source; knobs stop heartbeats and drop streams;
//! - REST: bundles by id, paged and searched lists, consumers (search by name, create);
//! - fault injection: a gRPC code for the next N publishes.

#![allow(dead_code)]

use axum::extract::{Path, Query, State as AxumState};
use axum::response::IntoResponse;
use hyperfleet_adapter::adapters::transport::maestro::events::{
    DATA_TYPE, HEARTBEAT, attr_int, attr_string, data_json,
};
use hyperfleet_adapter::adapters::transport::maestro::proto::cloud_event_service_server::{
    CloudEventService, CloudEventServiceServer,
};
use hyperfleet_adapter::adapters::transport::maestro::proto::{
    CloudEvent, CloudEventAttributeValue, PublishRequest, SubscriptionRequest, cloud_event,
    cloud_event_attribute_value::Attr,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tonic::{Code, Status};

const NOW: &str = "2026-02-18T10:22:10Z";

/// When the simulated agent reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Report {
    /// Inside Publish, before it answers.
    AtOnce,
    /// When the test calls [`FakeMaestro::report_pending`] (an agent that takes its time).
    Later,
    /// Never (a consumer whose agent is down).
    Never,
}

#[derive(Debug, Clone)]
struct Bundle {
    source: String,
    consumer: String,
    version: i64,
    deleted: bool,
    metadata: Value,
    manifests: Value,
    delete_option: Option<Value>,
    manifest_configs: Option<Value>,
    status: Option<Value>,
}

type Subscriber = (String, mpsc::Sender<Result<CloudEvent, Status>>);

struct State {
    consumers: BTreeMap<String, String>,
    bundles: BTreeMap<String, Bundle>,
    subscribers: Vec<Subscriber>,
    published: Vec<CloudEvent>,
    subscriptions: usize,
    fail_publish: Option<(Code, usize)>,
    /// Publishes are held this long before being answered (a stalled Maestro).
    hold_publish: Option<Duration>,
    /// REST reads are held this long before being answered (a hung REST API).
    hold_rest: Option<Duration>,
    /// Bundles created while set stay out of the REST view until revealed (a lagging view).
    lag_rest: bool,
    hidden: std::collections::BTreeSet<String>,
    heartbeats: bool,
    report: Report,
    applied: bool,
    finish_deletes: bool,
    /// JSONPath feedback name → fieldValue, for every matching feedback rule.
    feedback: BTreeMap<String, Value>,
    sequence: u64,
    /// Required `authorization: Bearer <token>` on gRPC calls (Maestro's `token` authn).
    token: Option<String>,
}

/// TLS for both servers: the server certificate, and for gRPC optionally a client CA (mTLS).
pub struct FakeTls {
    pub cert_pem: String,
    pub key_pem: String,
    pub client_ca_pem: Option<String>,
    /// The REST server's rustls config (same certificate).
    pub rest: Arc<tokio_rustls::rustls::ServerConfig>,
}

/// The fake. Dropping it stops both servers.
pub struct FakeMaestro {
    /// `host:port` of the gRPC service.
    pub grpc_address: String,
    /// `http://host:port` of the REST API.
    pub http_url: String,
    state: Arc<Mutex<State>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for FakeMaestro {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

#[derive(Clone)]
struct Service {
    state: Arc<Mutex<State>>,
    heartbeat: Duration,
}

fn lock(state: &Arc<Mutex<State>>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn uuid_from(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

impl FakeMaestro {
    /// Starts both servers on free ports, in plaintext; heartbeats every `heartbeat`.
    pub async fn start(heartbeat: Duration) -> FakeMaestro {
        Self::start_with(heartbeat, None).await
    }

    /// [`Self::start`] with TLS on both servers (`https://` REST).
    pub async fn start_with(heartbeat: Duration, tls: Option<FakeTls>) -> FakeMaestro {
        let state = Arc::new(Mutex::new(State {
            consumers: BTreeMap::new(),
            bundles: BTreeMap::new(),
            subscribers: Vec::new(),
            published: Vec::new(),
            subscriptions: 0,
            fail_publish: None,
            hold_publish: None,
            hold_rest: None,
            lag_rest: false,
            hidden: Default::default(),
            heartbeats: true,
            report: Report::AtOnce,
            applied: true,
            finish_deletes: false,
            feedback: [(
                "phase".to_string(),
                json!({"type": "String", "string": "Active"}),
            )]
            .into(),
            sequence: 2000808179729960960,
            token: None,
        }));
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc_address = grpc.local_addr().unwrap().to_string();
        let service = Service {
            state: state.clone(),
            heartbeat,
        };
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = &tls {
            let mut config = tonic::transport::ServerTlsConfig::new().identity(
                tonic::transport::Identity::from_pem(&tls.cert_pem, &tls.key_pem),
            );
            if let Some(ca) = &tls.client_ca_pem {
                config = config.client_ca_root(tonic::transport::Certificate::from_pem(ca));
            }
            builder = builder.tls_config(config).unwrap();
        }
        let grpc_task = tokio::spawn(async move {
            let _ = builder
                .add_service(CloudEventServiceServer::new(service))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(grpc))
                .await;
        });
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let http_url = format!("{scheme}://{}", http.local_addr().unwrap());
        let app = axum::Router::new()
            .route(
                "/api/maestro/v1/resource-bundles",
                axum::routing::get(list_bundles),
            )
            .route(
                "/api/maestro/v1/resource-bundles/{id}",
                axum::routing::get(get_bundle),
            )
            .route(
                "/api/maestro/v1/consumers",
                axum::routing::get(list_consumers).post(create_consumer),
            )
            .fallback(|uri: axum::http::Uri| async move {
                error(
                    404,
                    "404",
                    &format!("The requested resource '{}' doesn't exist", uri.path()),
                )
            })
            .with_state(state.clone());
        let http_task = match tls {
            None => tokio::spawn(async move {
                let _ = axum::serve(http, app).await;
            }),
            Some(tls) => {
                let acceptor = tokio_rustls::TlsAcceptor::from(tls.rest);
                tokio::spawn(async move {
                    loop {
                        let Ok((stream, _)) = http.accept().await else {
                            continue;
                        };
                        let (acceptor, app) = (acceptor.clone(), app.clone());
                        tokio::spawn(async move {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let service = hyper_util::service::TowerToHyperService::new(app);
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                                    .await;
                            }
                        });
                    }
                })
            }
        };
        FakeMaestro {
            grpc_address,
            http_url,
            state,
            tasks: vec![grpc_task, http_task],
        }
    }

    /// Registers a consumer (a cluster Maestro delivers to).
    pub fn register_consumer(&self, name: &str) {
        let mut s = lock(&self.state);
        let id = uuid_from(s.consumers.len() as u64 + 1);
        s.consumers.insert(name.into(), id);
    }

    /// Requires `authorization: Bearer <token>` on gRPC calls.
    pub fn require_token(&self, token: &str) {
        lock(&self.state).token = Some(token.into());
    }

    /// Removes a consumer (its works stay; creates for it now hit the foreign key).
    pub fn unregister_consumer(&self, name: &str) {
        lock(&self.state).consumers.remove(name);
    }

    /// The agent reports every work whose current version it has not reported yet.
    pub fn report_pending(&self) {
        let mut s = lock(&self.state);
        let pending: Vec<String> = s
            .bundles
            .iter()
            .filter(|(_, b)| {
                !b.deleted
                    && b.status
                        .as_ref()
                        .and_then(|st| st["ObservedVersion"].as_i64())
                        != Some(b.version)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in pending {
            s.report(&id);
        }
    }

    /// The next `times` publishes fail with `code`.
    pub fn fail_publishes(&self, code: Code, times: usize) {
        lock(&self.state).fail_publish = Some((code, times));
    }

    /// Every later Publish is held for `hold` (then handled), or answered at once with `None`.
    pub fn hold_publishes(&self, hold: Option<Duration>) {
        lock(&self.state).hold_publish = hold;
    }

    /// While `lag` is set, bundles created by Publish are not shown by the REST API (as when
    /// Maestro has not stored them yet); [`Self::reveal`] shows them.
    pub fn lag_rest(&self, lag: bool) {
        lock(&self.state).lag_rest = lag;
    }

    /// Shows every bundle held back by [`Self::lag_rest`].
    pub fn reveal(&self) {
        lock(&self.state).hidden.clear();
    }

    /// Every later resource-bundle read is held for `hold`, or answered at once with `None`.
    pub fn hold_rest(&self, hold: Option<Duration>) {
        lock(&self.state).hold_rest = hold;
    }

    pub fn set_heartbeats(&self, on: bool) {
        lock(&self.state).heartbeats = on;
    }

    /// Ends every open Subscribe stream (as a server restart would).
    pub fn drop_streams(&self) {
        lock(&self.state).subscribers.clear();
    }

    /// How many Subscribe calls were accepted so far.
    pub fn subscriptions(&self) -> usize {
        lock(&self.state).subscriptions
    }

    pub fn set_report(&self, report: Report) {
        lock(&self.state).report = report;
    }

    /// Whether the agent reports Applied=True (else Applied=False, AppliedManifestWorkFailed).
    pub fn set_applied(&self, applied: bool) {
        lock(&self.state).applied = applied;
    }

    /// Whether the agent finishes deletions at once (else they stay deleting until
    /// [`Self::finish_deletions`]).
    pub fn set_finish_deletes(&self, at_once: bool) {
        lock(&self.state).finish_deletes = at_once;
    }

    pub fn set_feedback(&self, name: &str, field_value: Value) {
        lock(&self.state).feedback.insert(name.into(), field_value);
    }

    /// The agent confirms every pending deletion.
    pub fn finish_deletions(&self) {
        let mut s = lock(&self.state);
        let ids: Vec<String> = s
            .bundles
            .iter()
            .filter(|(_, b)| b.deleted)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            s.finish_delete(&id);
        }
    }

    /// Every event published so far.
    pub fn published(&self) -> Vec<CloudEvent> {
        lock(&self.state).published.clone()
    }

    /// A bundle as the REST API shows it.
    pub fn bundle(&self, id: &str) -> Option<Value> {
        let s = lock(&self.state);
        s.bundles.get(id).map(|b| present(id, b))
    }

    /// Every bundle, as the REST API shows them.
    pub fn bundles(&self) -> Vec<Value> {
        let s = lock(&self.state);
        s.bundles.iter().map(|(id, b)| present(id, b)).collect()
    }

    /// Stores a ManifestWork (with its status, if any) as an existing bundle of `source`, its
    /// metadata as given (a fixture's `uid` is kept).
    pub fn seed(&self, source: &str, id: &str, work: &Value) {
        let consumer = work["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut s = lock(&self.state);
        if !s.consumers.contains_key(&consumer) {
            let cid = uuid_from(s.consumers.len() as u64 + 1);
            s.consumers.insert(consumer.clone(), cid);
        }
        let version = work["metadata"]["generation"].as_i64().unwrap_or(1).max(1);
        let mut metadata = work["metadata"].clone();
        if metadata.get("uid").is_none() {
            metadata["uid"] = json!(id);
        }
        let status = work.get("status").filter(|st| st.get("conditions").is_some()).map(|st| {
            json!({"ObservedVersion": version, "SequenceID": "1",
                   "conditions": st["conditions"],
                   "resourceStatus": st.pointer("/resourceStatus/manifests").cloned().unwrap_or(json!([]))})
        });
        s.bundles.insert(
            id.into(),
            Bundle {
                source: source.into(),
                consumer,
                version,
                deleted: false,
                metadata,
                manifests: work
                    .pointer("/spec/workload/manifests")
                    .cloned()
                    .unwrap_or(json!([])),
                delete_option: work.pointer("/spec/deleteOption").cloned(),
                manifest_configs: work.pointer("/spec/manifestConfigs").cloned(),
                status,
            },
        );
    }
}

/// A Maestro REST error body.
fn error(status: u16, id: &str, reason: &str) -> axum::response::Response {
    (
        axum::http::StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({"kind": "Error", "id": id, "href": format!("/api/maestro/v1/errors/{id}"),
                          "code": format!("maestro-{id}"), "reason": reason, "operation_id": "fake-op"})),
    )
        .into_response()
}

/// A bundle in the REST API's ResourceBundle form.
fn present(id: &str, b: &Bundle) -> Value {
    let mut metadata = b.metadata.clone();
    metadata["creationTimestamp"] = json!(NOW);
    let mut out = json!({
        "id": id, "kind": "ResourceBundle", "href": format!("/api/maestro/v1/resource-bundles/{id}"),
        "name": id, "consumer_name": b.consumer, "version": b.version,
        "created_at": "2026-02-18T10:22:10.123456Z", "updated_at": "2026-02-18T10:22:11.456789Z",
        "manifests": b.manifests,
    });
    if b.deleted {
        out["deleted_at"] = json!("2026-02-18T10:30:00.000000Z");
        metadata["deletionTimestamp"] = json!("2026-02-18T10:30:00Z");
    }
    out["metadata"] = metadata;
    if let Some(d) = b
        .delete_option
        .as_ref()
        .filter(|d| d.as_object().is_some_and(|o| !o.is_empty()))
    {
        out["delete_option"] = d.clone();
    }
    if let Some(c) = b
        .manifest_configs
        .as_ref()
        .filter(|c| c.as_array().is_some_and(|a| !a.is_empty()))
    {
        out["manifest_configs"] = c.clone();
    }
    if let Some(st) = &b.status {
        out["status"] = st.clone();
    }
    out
}

/// `k='v' and k2='v2'` → pairs.
fn parse_search(search: &str) -> Result<Vec<(String, String)>, String> {
    search
        .split(" and ")
        .filter(|c| !c.trim().is_empty())
        .map(|clause| {
            let (k, v) = clause
                .split_once('=')
                .ok_or(format!("cannot parse {clause:?}"))?;
            let v = v.trim();
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .ok_or(format!("cannot parse {clause:?}"))?;
            Ok((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

async fn get_bundle(
    AxumState(state): AxumState<Arc<Mutex<State>>>,
    Path(id): Path<String>,
) -> axum::response::Response {
    let hold = lock(&state).hold_rest;
    if let Some(hold) = hold {
        tokio::time::sleep(hold).await;
    }
    let s = lock(&state);
    match s.bundles.get(&id).filter(|_| !s.hidden.contains(&id)) {
        Some(b) => axum::Json(present(&id, b)).into_response(),
        None => error(404, "7", &format!("Resource with id='{id}' not found")),
    }
}

fn paged(kind: &str, items: Vec<Value>, q: &HashMap<String, String>) -> axum::response::Response {
    let page: usize = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let size: usize = q.get("size").and_then(|p| p.parse().ok()).unwrap_or(100);
    let total = items.len();
    let items: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    axum::Json(
        json!({"kind": kind, "page": page, "size": items.len(), "total": total, "items": items}),
    )
    .into_response()
}

async fn list_bundles(
    AxumState(state): AxumState<Arc<Mutex<State>>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    let clauses = match parse_search(q.get("search").map(String::as_str).unwrap_or("")) {
        Ok(c) => c,
        Err(e) => return error(400, "23", &format!("Failed to parse search query: {e}")),
    };
    let s = lock(&state);
    let items = s
        .bundles
        .iter()
        .filter(|(id, _)| !s.hidden.contains(*id))
        .filter(|(_, b)| {
            clauses.iter().all(|(k, v)| match k.as_str() {
                "source" => b.source == *v,
                "consumer_name" => b.consumer == *v,
                _ => false,
            })
        })
        .map(|(id, b)| present(id, b))
        .collect();
    paged("ResourceBundleList", items, &q)
}

async fn list_consumers(
    AxumState(state): AxumState<Arc<Mutex<State>>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    let clauses = match parse_search(q.get("search").map(String::as_str).unwrap_or("")) {
        Ok(c) => c,
        Err(e) => return error(400, "23", &format!("Failed to parse search query: {e}")),
    };
    let s = lock(&state);
    let items = s
        .consumers
        .iter()
        .filter(|(name, _)| clauses.iter().all(|(k, v)| k == "name" && *name == v))
        .map(|(name, id)| json!({"id": id, "kind": "Consumer", "href": format!("/api/maestro/v1/consumers/{id}"), "name": name}))
        .collect();
    paged("ConsumerList", items, &q)
}

async fn create_consumer(
    AxumState(state): AxumState<Arc<Mutex<State>>>,
    axum::Json(body): axum::Json<Value>,
) -> axum::response::Response {
    let name = body["name"].as_str().unwrap_or_default().to_string();
    let mut s = lock(&state);
    if s.consumers.contains_key(&name) {
        return error(
            409,
            "6",
            &format!("Consumer with name='{name}' already exists"),
        );
    }
    let id = uuid_from(s.consumers.len() as u64 + 1);
    s.consumers.insert(name.clone(), id.clone());
    (
        axum::http::StatusCode::CREATED,
        axum::Json(json!({"id": id, "kind": "Consumer", "name": name})),
    )
        .into_response()
}

fn string_attr(s: impl Into<String>) -> CloudEventAttributeValue {
    CloudEventAttributeValue {
        attr: Some(Attr::CeString(s.into())),
    }
}

/// The lower-case plural resource of a kind (enough for the kinds the tests use).
fn plural(kind: &str) -> String {
    let lower = kind.to_lowercase();
    if lower.ends_with('s') {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

impl State {
    fn next_sequence(&mut self) -> String {
        self.sequence += 1;
        self.sequence.to_string()
    }

    /// The simulated agent's status for a bundle at its current version.
    fn report(&mut self, id: &str) {
        let sequence = self.next_sequence();
        let applied = self.applied;
        let feedback = self.feedback.clone();
        let Some(b) = self.bundles.get_mut(id) else {
            return;
        };
        let version = b.version;
        let condition = |t: &str, ok: bool, reason: &str, message: &str| {
            json!({"type": t, "status": if ok { "True" } else { "False" }, "observedGeneration": version,
                   "lastTransitionTime": NOW, "reason": reason, "message": message})
        };
        let work_conditions = if applied {
            vec![
                condition(
                    "Applied",
                    true,
                    "AppliedManifestWorkComplete",
                    "Apply manifest work complete",
                ),
                condition(
                    "Available",
                    true,
                    "ResourcesAvailable",
                    "All resources are available",
                ),
            ]
        } else {
            vec![condition(
                "Applied",
                false,
                "AppliedManifestWorkFailed",
                "Failed to apply manifest work",
            )]
        };
        let configs = b.manifest_configs.clone().unwrap_or(json!([]));
        let resource_status: Vec<Value> = b
            .manifests
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let api_version = m["apiVersion"].as_str().unwrap_or_default();
                let (group, ver) = api_version.rsplit_once('/').unwrap_or(("", api_version));
                let kind = m["kind"].as_str().unwrap_or_default();
                let name = m["metadata"]["name"].as_str().unwrap_or_default();
                let namespace = m["metadata"]["namespace"].as_str().unwrap_or_default();
                let resource = plural(kind);
                let values: Vec<Value> = configs
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|c| {
                        let rid = &c["resourceIdentifier"];
                        rid["resource"] == json!(resource)
                            && rid["name"] == json!(name)
                            && rid["namespace"].as_str().unwrap_or_default() == namespace
                    })
                    .flat_map(|c| c["feedbackRules"].as_array().cloned().unwrap_or_default())
                    .flat_map(|r| r["jsonPaths"].as_array().cloned().unwrap_or_default())
                    .filter_map(|p| {
                        let n = p["name"].as_str()?;
                        feedback.get(n).map(|v| json!({"name": n, "fieldValue": v}))
                    })
                    .collect();
                json!({
                    "resourceMeta": {"ordinal": i, "group": group, "version": ver, "kind": kind,
                                     "resource": resource, "name": name, "namespace": namespace},
                    "statusFeedback": {"values": values},
                    "conditions": [
                        {"type": "Applied", "status": if applied { "True" } else { "False" }, "lastTransitionTime": NOW, "reason": "AppliedManifestComplete", "message": "Apply manifest complete"},
                        {"type": "Available", "status": "True", "lastTransitionTime": NOW, "reason": "ResourceAvailable", "message": "Resource is available"},
                        {"type": "StatusFeedbackSynced", "status": "True", "lastTransitionTime": NOW, "reason": "StatusFeedbackSynced", "message": ""},
                    ],
                })
            })
            .collect();
        b.status = Some(json!({"ObservedVersion": version, "SequenceID": sequence,
                               "conditions": work_conditions, "resourceStatus": resource_status}));
        let event = status_event(id, b, &sequence, None);
        let source = b.source.clone();
        self.broadcast(&source, event);
    }

    fn finish_delete(&mut self, id: &str) {
        let sequence = self.next_sequence();
        let Some(b) = self.bundles.remove(id) else {
            return;
        };
        let deleted = json!({"type": "Deleted", "status": "True", "lastTransitionTime": NOW,
                             "reason": "ManifestsDeleted", "message": "All manifests are deleted"});
        let event = status_event(id, &b, &sequence, Some(deleted));
        self.broadcast(&b.source.clone(), event);
    }

    fn broadcast(&mut self, source: &str, event: CloudEvent) {
        self.subscribers.retain(|(s, tx)| {
            if s != source {
                return true;
            }
            tx.try_send(Ok(event.clone())).is_ok()
        });
    }

    fn publish(&mut self, event: &CloudEvent) -> Result<(), String> {
        if event.attributes.is_empty() || event.spec_version.is_empty() {
            return Err("failed to convert protobuf to cloudevent: unknown encoding".into());
        }
        let parts: Vec<&str> = event.r#type.split('.').collect();
        if parts.len() < 5 || !event.r#type.starts_with(DATA_TYPE) {
            return Err(format!(
                "failed to parse cloud event type {}, unsupported",
                event.r#type
            ));
        }
        let action = parts[parts.len() - 1];
        let decode =
            |key: &str| format!("failed to decode cloudevent: failed to get {key} extension");
        let consumer = attr_string(event, "ce-clustername").ok_or_else(|| decode("clustername"))?;
        let id = attr_string(event, "ce-resourceid").ok_or_else(|| decode("resourceid"))?;
        let version =
            attr_int(event, "ce-resourceversion").ok_or_else(|| decode("resourceversion"))?;
        let metadata: Value = attr_string(event, "ce-metadata")
            .and_then(|m| serde_json::from_str(&m).ok())
            .unwrap_or(json!({}));
        let bundle = data_json(event);
        match action {
            "create_request" => {
                let bundle = bundle.ok_or("failed to create resource: maestro-8: the manifest bundle in the resource is invalid, no data")?;
                let manifests = bundle["manifests"].clone();
                if manifests.as_array().is_none_or(|m| m.is_empty()) {
                    return Err("failed to create resource: maestro-8: the manifest bundle in the resource is invalid, manifests should not be empty".into());
                }
                for m in manifests.as_array().unwrap() {
                    if m["apiVersion"].as_str().is_none_or(str::is_empty)
                        || m["kind"].as_str().is_none_or(str::is_empty)
                        || m["metadata"]["name"].as_str().is_none_or(str::is_empty)
                    {
                        return Err("failed to create resource: maestro-8: the manifest bundle in the resource is invalid, apiVersion, kind and metadata.name are required".into());
                    }
                }
                if !self.consumers.contains_key(&consumer) {
                    return Err("failed to create resource: maestro-9: Unable to create Resource: ERROR: insert or update on table \"resources\" violates foreign key constraint \"fk_resources_consumers\" (SQLSTATE 23503)".into());
                }
                if self.bundles.contains_key(&id) {
                    return Err(
                        "failed to create resource: maestro-6: This Resource already exists".into(),
                    );
                }
                if self.lag_rest {
                    self.hidden.insert(id.clone());
                }
                self.bundles.insert(
                    id.clone(),
                    Bundle {
                        source: event.source.clone(),
                        consumer,
                        version: if version == 0 { 1 } else { version },
                        deleted: false,
                        metadata,
                        manifests,
                        delete_option: bundle.get("deleteOption").cloned(),
                        manifest_configs: bundle.get("manifestConfigs").cloned(),
                        status: None,
                    },
                );
                if self.report == Report::AtOnce {
                    self.report(&id);
                }
                Ok(())
            }
            "update_request" => {
                let bundle = bundle.ok_or("failed to update resource: maestro-8: the new manifest bundle in the resource is invalid, no data")?;
                let Some(b) = self.bundles.get_mut(&id) else {
                    return Err(format!(
                        "failed to get resource: maestro-7: Resource with id='{id}' not found"
                    ));
                };
                if b.deleted {
                    return Err(format!(
                        "failed to update resource: maestro-6: the resource is under deletion, id: {id}"
                    ));
                }
                let version = if version == 0 { b.version } else { version };
                if version != b.version {
                    return Err(format!(
                        "failed to update resource: maestro-6: the resource version is not the latest, the latest version: {}",
                        b.version
                    ));
                }
                let old = b.manifests.as_array().cloned().unwrap_or_default();
                let new = bundle["manifests"].as_array().cloned().unwrap_or_default();
                let same_shape = old.len() == new.len()
                    && old.iter().zip(&new).all(|(a, n)| {
                        [
                            "/apiVersion",
                            "/kind",
                            "/metadata/name",
                            "/metadata/namespace",
                        ]
                        .iter()
                        .all(|p| a.pointer(p) == n.pointer(p))
                    });
                if !same_shape {
                    return Err("failed to update resource: maestro-8: the new manifest bundle in the resource is invalid, the manifests must keep their number, kinds and names".into());
                }
                b.version += 1;
                b.manifests = bundle["manifests"].clone();
                b.delete_option = bundle.get("deleteOption").cloned();
                b.manifest_configs = bundle.get("manifestConfigs").cloned();
                let mut meta = metadata;
                if let Some(m) = meta.as_object_mut() {
                    m.remove("resourceVersion");
                    m.remove("generation");
                }
                b.metadata = meta;
                if self.report == Report::AtOnce {
                    self.report(&id);
                }
                Ok(())
            }
            "delete_request" => {
                if let Some(b) = self.bundles.get_mut(&id) {
                    b.deleted = true;
                    if self.finish_deletes {
                        self.finish_delete(&id);
                    }
                }
                Ok(())
            }
            other => Err(format!(
                "failed to parse cloud event type {}, unsupported action {other}",
                event.r#type
            )),
        }
    }
}

/// The status event Maestro re-sends to the bundle's source.
fn status_event(
    id: &str,
    b: &Bundle,
    sequence: &str,
    extra_condition: Option<Value>,
) -> CloudEvent {
    let mut status = b
        .status
        .clone()
        .unwrap_or(json!({"conditions": [], "resourceStatus": []}));
    if let Some(c) = extra_condition
        && let Some(list) = status["conditions"].as_array_mut()
    {
        list.push(c);
    }
    let data = json!({
        "manifestBundle": {"manifests": b.manifests},
        "conditions": status["conditions"],
        "resourceStatus": status["resourceStatus"],
    });
    let mut attributes = HashMap::new();
    attributes.insert("contenttype".to_string(), string_attr("application/json"));
    attributes.insert(
        "ce-clustername".to_string(),
        string_attr(b.consumer.clone()),
    );
    attributes.insert("ce-originalsource".to_string(), string_attr("maestro"));
    attributes.insert("ce-resourceid".to_string(), string_attr(id));
    // As it comes back from Maestro's database: a decimal string.
    attributes.insert(
        "ce-resourceversion".to_string(),
        string_attr(b.version.to_string()),
    );
    attributes.insert("ce-sequenceid".to_string(), string_attr(sequence));
    attributes.insert(
        "ce-metadata".to_string(),
        string_attr(b.metadata.to_string()),
    );
    attributes.insert("ce-logtracing".to_string(), string_attr("{}"));
    CloudEvent {
        id: uuid_from(sequence.len() as u64),
        source: format!("{}-work-agent", b.consumer),
        spec_version: "1.0".into(),
        r#type: format!("{DATA_TYPE}.status.update_request"),
        attributes,
        data: Some(cloud_event::Data::BinaryData(data.to_string().into_bytes())),
    }
}

/// Maestro's `token` authentication: a missing or wrong bearer token is UNAUTHENTICATED.
fn check_token(
    state: &Arc<Mutex<State>>,
    metadata: &tonic::metadata::MetadataMap,
) -> Result<(), Status> {
    let Some(token) = lock(state).token.clone() else {
        return Ok(());
    };
    let sent = metadata.get("authorization").and_then(|v| v.to_str().ok());
    if sent == Some(&format!("Bearer {token}")) {
        Ok(())
    } else {
        Err(Status::unauthenticated("invalid token"))
    }
}

#[tonic::async_trait]
impl CloudEventService for Service {
    async fn publish(
        &self,
        request: tonic::Request<PublishRequest>,
    ) -> Result<tonic::Response<()>, Status> {
        check_token(&self.state, request.metadata())?;
        let event = request
            .into_inner()
            .event
            .ok_or_else(|| Status::unknown("failed to convert protobuf to cloudevent: no event"))?;
        let hold = lock(&self.state).hold_publish;
        if let Some(hold) = hold {
            tokio::time::sleep(hold).await;
        }
        let mut s = lock(&self.state);
        s.published.push(event.clone());
        if let Some((code, n)) = s.fail_publish
            && n > 0
        {
            s.fail_publish = Some((code, n - 1));
            return Err(Status::new(code, "injected failure"));
        }
        s.publish(&event).map_err(Status::unknown)?;
        Ok(tonic::Response::new(()))
    }

    type SubscribeStream = tokio_stream::wrappers::ReceiverStream<Result<CloudEvent, Status>>;

    async fn subscribe(
        &self,
        request: tonic::Request<SubscriptionRequest>,
    ) -> Result<tonic::Response<Self::SubscribeStream>, Status> {
        check_token(&self.state, request.metadata())?;
        let req = request.into_inner();
        if req.source.is_empty() && req.cluster_name.is_empty() {
            return Err(Status::invalid_argument(
                "source or cluster name is required",
            ));
        }
        let (tx, rx) = mpsc::channel(110);
        {
            let mut s = lock(&self.state);
            s.subscriptions += 1;
            s.subscribers.push((req.source.clone(), tx.clone()));
        }
        // Heartbeats while the stream is registered (dropped streams stop getting them).
        let state = self.state.clone();
        let interval = self.heartbeat;
        tokio::spawn(async move {
            let mut n = 0u64;
            loop {
                tokio::time::sleep(interval).await;
                let registered = {
                    let s = lock(&state);
                    if !s.subscribers.iter().any(|(_, t)| t.same_channel(&tx)) {
                        break;
                    }
                    s.heartbeats
                };
                if registered {
                    n += 1;
                    let beat = CloudEvent {
                        id: uuid_from(n),
                        spec_version: "1.0".into(),
                        r#type: HEARTBEAT.into(),
                        ..CloudEvent::default()
                    };
                    if tx.send(Ok(beat)).await.is_err() {
                        break;
                    }
                }
            }
        });
        let mut response = tonic::Response::new(tokio_stream::wrappers::ReceiverStream::new(rx));
        response
            .metadata_mut()
            .insert("subscription-id", uuid_from(7).parse().unwrap());
        Ok(response)
    }
}
