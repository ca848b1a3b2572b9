//! OpenTelemetry end to end: an event carrying a `traceparent` runs through the executor and the
//! real HTTP client against a fake HyperFleet API; the spans reach an in-process OTLP collector
//! (over HTTP/protobuf and over gRPC), the API sees the trace context in its headers, and the
//! log lines carry the trace and span ids.

use hyperfleet_adapter::config::MapEnv;
use hyperfleet_adapter::logging::{self, LogSettings};
use hyperfleet_adapter::telemetry::{self, Export, Telemetry};
use kit::api::FakeApi;
use kit::capture::Capture;
#[cfg(feature = "otlp-grpc")]
use kit::otlp::grpc_collector;
use kit::otlp::{Collected, attr, hex, http_collector};
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{Map, Value};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN: &str = "00f067aa0ba902b7";

/// Runs one traced event with tracing configured by `vars`; returns the collector's spans, the
/// API's `traceparent` headers and the log lines.
async fn traced_event(
    vars: &[(&str, &str)],
    collected: &Collected,
) -> (
    Vec<(Span, Vec<(String, String)>)>,
    Vec<Option<String>>,
    Vec<Value>,
) {
    let dir = tempfile::tempdir().unwrap();
    let api = FakeApi::default();
    let base = api.start().await;
    let settings = telemetry::Settings::from_env(&MapEnv::from_pairs(vars), "trace-test-adapter");
    let (tel, tracer) = Telemetry::start(&settings, "1.2.3").unwrap();
    assert!(tracer.is_some());
    let logs = Capture::default();
    let log_settings = LogSettings {
        level: "info".into(),
        format: "json".into(),
        output: "stdout".into(),
        component: "trace-test-adapter".into(),
    };
    let guard =
        tracing::subscriber::set_default(logging::subscriber(&log_settings, logs.clone(), tracer));
    let exec = kit::api::executor(dir.path(), "trace-test-adapter", &base, "t", "s");
    let mut ext = Map::new();
    ext.insert(
        "traceparent".into(),
        Value::String(format!("00-{TRACE_ID}-{PARENT_SPAN}-01")),
    );
    let data = br#"{"id":"c1","kind":"Cluster","href":"/clusters/c1","generation":1}"#;
    let result = exec
        .execute_parsed(
            "evt-1",
            "io.hyperfleet.cluster.updated",
            hyperfleet_adapter::domain::event::parse_data(data),
            |span| telemetry::adopt(span, &ext),
        )
        .await;
    assert!(!result.is_failed(), "{result:?}");
    drop(guard);
    tel.shutdown().await;
    let headers = api.traceparents();
    (collected.spans(), headers, logs.lines())
}

fn check(spans: &[(Span, Vec<(String, String)>)], headers: &[Option<String>], logs: &[Value]) {
    let execute: Vec<_> = spans.iter().filter(|(s, _)| s.name == "Execute").collect();
    assert_eq!(execute.len(), 1, "one Execute span: {spans:#?}");
    let (execute, resource) = execute[0];
    assert_eq!(hex(&execute.trace_id), TRACE_ID, "joins the event's trace");
    assert_eq!(hex(&execute.parent_span_id), PARENT_SPAN);
    let get = |k: &str| {
        resource
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("service.name"), Some("trace-test-adapter"));
    assert_eq!(get("service.version"), Some("1.2.3"));

    let http: Vec<&Span> = spans
        .iter()
        .map(|(s, _)| s)
        .filter(|s| s.name.starts_with("HTTP "))
        .collect();
    assert_eq!(
        http.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["HTTP GET", "HTTP POST"],
        "one span per API attempt"
    );
    for s in &http {
        assert_eq!(hex(&s.trace_id), TRACE_ID);
        assert_eq!(s.parent_span_id, execute.span_id, "child of Execute");
        let attrs: Vec<(String, String)> = s
            .attributes
            .iter()
            .map(|kv| (kv.key.clone(), attr(kv)))
            .collect();
        assert!(
            attrs
                .iter()
                .any(|(k, v)| k == "url.full" && v.contains("/clusters/c1")),
            "{attrs:?}"
        );
        assert!(attrs.iter().any(|(k, _)| k == "http.request.method"));
    }
    // Each API request carried its own attempt span as the parent.
    let expected: Vec<Option<String>> = http
        .iter()
        .map(|s| Some(format!("00-{TRACE_ID}-{}-01", hex(&s.span_id))))
        .collect();
    assert_eq!(headers, expected);
    // Log lines inside the event carry its trace and span ids.
    let line = logs
        .iter()
        .find(|l| l["event_id"] == "evt-1" && l["span_id"] == hex(&execute.span_id))
        .unwrap_or_else(|| panic!("no event log line with the span ids: {logs:#?}"));
    assert_eq!(line["trace_id"], TRACE_ID);
}

#[tokio::test(flavor = "current_thread")]
async fn otlp_http_exports_spans_that_join_the_event_trace() {
    let (endpoint, collected) = http_collector().await;
    let vars = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ];
    let s = telemetry::Settings::from_env(&MapEnv::from_pairs(vars), "x");
    assert_eq!(s.export, Export::OtlpHttp);
    let (spans, headers, logs) = traced_event(&vars, &collected).await;
    check(&spans, &headers, &logs);
}

#[cfg(feature = "otlp-grpc")]
#[tokio::test(flavor = "current_thread")]
async fn otlp_grpc_is_the_default_protocol() {
    let (endpoint, collected) = grpc_collector().await;
    let vars = [("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint.as_str())];
    let (spans, headers, logs) = traced_event(&vars, &collected).await;
    check(&spans, &headers, &logs);
}

/// A build without the `otlp-grpc` feature refuses the default protocol at startup, naming the
/// way out, instead of silently dropping spans.
#[cfg(not(feature = "otlp-grpc"))]
#[tokio::test(flavor = "current_thread")]
async fn without_the_grpc_feature_the_default_protocol_fails_startup() {
    let vars = [(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "http://127.0.0.1:4317",
    )];
    let settings = telemetry::Settings::from_env(&MapEnv::from_pairs(vars), "x");
    assert_eq!(settings.export, Export::OtlpGrpc);
    let err = Telemetry::start(&settings, "1.2.3")
        .err()
        .expect("startup must fail")
        .to_string();
    assert_eq!(err, telemetry::GRPC_NOT_BUILT);
    assert!(
        err.contains("OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"),
        "{err}"
    );
    assert!(err.contains("--features otlp-grpc"), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn without_a_collector_ids_are_still_propagated_and_logged() {
    let collected = Collected::default();
    let (spans, headers, logs) = traced_event(&[], &collected).await;
    assert!(spans.is_empty());
    assert_eq!(headers.len(), 2);
    for h in &headers {
        let h = h.as_deref().expect("traceparent sent");
        assert!(h.starts_with(&format!("00-{TRACE_ID}-")), "{h}");
    }
    assert!(
        logs.iter()
            .any(|l| l["event_id"] == "evt-1" && l["trace_id"] == TRACE_ID),
        "{logs:#?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn always_off_sampler_exports_nothing_but_keeps_the_trace() {
    let (endpoint, collected) = http_collector().await;
    let vars = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_TRACES_SAMPLER", "always_off"),
    ];
    let (spans, headers, _) = traced_event(&vars, &collected).await;
    assert!(spans.is_empty(), "{spans:#?}");
    for h in &headers {
        let h = h.as_deref().expect("traceparent sent");
        assert!(
            h.starts_with(&format!("00-{TRACE_ID}-")) && h.ends_with("-00"),
            "unsampled flag: {h}"
        );
    }
}
