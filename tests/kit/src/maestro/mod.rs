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
//! - fault injection: a gRPC code for the next N publishes, held publishes and REST reads, a
//!   REST view that lags behind Publish, bearer-token authentication.
//!
//! What it does not model: a database (everything is in memory), the agent's actual apply of
//! the manifests, watches over REST, consumer deletion over REST, `ce-` attributes beyond the
//! ones listed, and status resync requests. The gRPC stubs are the kit's own, generated from
//! `proto/` by its build script, so the fake checks the adapter's wire format rather than
//! sharing its types.

mod events;
mod grpc;
pub mod proto;
mod rest;
mod state;

pub use events::{DATA_TYPE, HEARTBEAT, SpecAction, attr_int, attr_string, data_json, spec_event};
use grpc::Service;
use proto::CloudEvent;
use proto::cloud_event_service_server::CloudEventServiceServer;
use serde_json::{Value, json};
use state::{Bundle, State, lock, uuid_from};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::Code;

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

/// TLS for both servers: the server certificate, and for gRPC optionally a client CA (mTLS).
pub struct FakeTls {
    /// The server certificate, PEM.
    pub cert_pem: String,
    /// Its key, PEM.
    pub key_pem: String,
    /// When set, gRPC clients must present a certificate signed by this CA (PEM).
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
                axum::routing::get(rest::list_bundles),
            )
            .route(
                "/api/maestro/v1/resource-bundles/{id}",
                axum::routing::get(rest::get_bundle),
            )
            .route(
                "/api/maestro/v1/consumers",
                axum::routing::get(rest::list_consumers).post(rest::create_consumer),
            )
            .fallback(|uri: axum::http::Uri| async move {
                rest::error(
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

    /// Whether open Subscribe streams get heartbeats (on by default).
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

    /// When the simulated agent reports ([`Report::AtOnce`] by default).
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

    /// The `fieldValue` the agent reports for status feedback rules named `name` (by default
    /// `phase` is the string `Active`).
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
        s.bundles.get(id).map(|b| rest::present(id, b))
    }

    /// Every bundle, as the REST API shows them.
    pub fn bundles(&self) -> Vec<Value> {
        let s = lock(&self.state);
        s.bundles
            .iter()
            .map(|(id, b)| rest::present(id, b))
            .collect()
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

#[cfg(test)]
mod tests;
