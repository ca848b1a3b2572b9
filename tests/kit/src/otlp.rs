//! In-process OTLP trace collectors: OTLP/HTTP with protobuf bodies (`POST /v1/traces`, axum)
//! and OTLP/gRPC (`TraceService/Export`, tonic). Both keep every export request and answer
//! success.
//!
//! What they do not model: logs and metrics, JSON-encoded OTLP, gzip bodies, partial-success
//! answers, authentication or TLS.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::sync::{Arc, Mutex};

/// What a collector received; clones share it.
#[derive(Clone, Default)]
pub struct Collected(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

impl Collected {
    /// Every span received, in order, with its resource's attributes as text.
    pub fn spans(&self) -> Vec<(Span, Vec<(String, String)>)> {
        let mut out = Vec::new();
        for req in self.0.lock().unwrap().iter() {
            for rs in &req.resource_spans {
                let resource: Vec<(String, String)> = rs
                    .resource
                    .iter()
                    .flat_map(|r| r.attributes.iter())
                    .map(|kv| (kv.key.clone(), attr(kv)))
                    .collect();
                for ss in &rs.scope_spans {
                    for s in &ss.spans {
                        out.push((s.clone(), resource.clone()));
                    }
                }
            }
        }
        out
    }

    /// How many export requests arrived.
    pub fn requests(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn push(&self, req: ExportTraceServiceRequest) {
        self.0.lock().unwrap().push(req);
    }
}

/// An attribute's value as text (strings as they are; ints and bools formatted; others as
/// their debug form).
pub fn attr(kv: &KeyValue) -> String {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(AnyValue::StringValue(s)) => s.clone(),
        Some(AnyValue::IntValue(i)) => i.to_string(),
        Some(AnyValue::BoolValue(b)) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// Lower-case hex of trace and span ids.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An OTLP/HTTP collector on a free port: its endpoint (`http://host:port`, the exporter adds
/// `/v1/traces`) and what it receives. A body that is not an export request panics the
/// handler (the exporter sees a failed request).
pub async fn http_collector() -> (String, Collected) {
    let c = Collected::default();
    let app = Router::new()
        .route(
            "/v1/traces",
            post(
                |State(c): State<Collected>, body: axum::body::Bytes| async move {
                    let req = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf body");
                    c.push(req);
                    ExportTraceServiceResponse::default().encode_to_vec()
                },
            ),
        )
        .with_state(c.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}"), c)
}

#[tonic::async_trait]
impl TraceService for Collected {
    async fn export(
        &self,
        req: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.push(req.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// An OTLP/gRPC collector on a free port: its endpoint (`http://host:port`) and what it
/// receives.
pub async fn grpc_collector() -> (String, Collected) {
    let c = Collected::default();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let svc = TraceServiceServer::new(c.clone());
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(l))
            .await
            .unwrap()
    });
    (format!("http://{addr}"), c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    use opentelemetry_proto::tonic::common::v1::AnyValue as Any;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

    fn request(name: &str) -> ExportTraceServiceRequest {
        let service = KeyValue {
            key: "service.name".into(),
            value: Some(Any {
                value: Some(AnyValue::StringValue("kit-test".into())),
            }),
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![service],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        name: name.into(),
                        trace_id: vec![0xab; 16],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn check(collected: &Collected, name: &str) {
        let spans = collected.spans();
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].0.name, name);
        assert_eq!(hex(&spans[0].0.trace_id), "ab".repeat(16));
        assert_eq!(
            spans[0].1,
            [("service.name".to_string(), "kit-test".to_string())]
        );
    }

    #[tokio::test]
    async fn the_http_collector_receives_protobuf_exports() {
        let (endpoint, collected) = http_collector().await;
        let resp = reqwest::Client::new()
            .post(format!("{endpoint}/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(request("over-http").encode_to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let answer = ExportTraceServiceResponse::decode(resp.bytes().await.unwrap()).unwrap();
        assert!(answer.partial_success.is_none());
        assert_eq!(collected.requests(), 1);
        check(&collected, "over-http");
    }

    #[tokio::test]
    async fn the_grpc_collector_receives_exports() {
        let (endpoint, collected) = grpc_collector().await;
        let mut client = TraceServiceClient::connect(endpoint).await.unwrap();
        client.export(request("over-grpc")).await.unwrap();
        check(&collected, "over-grpc");
    }
}
