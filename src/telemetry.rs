//! OpenTelemetry tracing: the settings the Go adapter reads from the environment
//! (`HYPERFLEET_TRACING_ENABLED`, `OTEL_*`), the tracer provider and its OTLP exporter, and the
//! W3C trace context in and out — taken from a CloudEvent's `traceparent`/`tracestate`
//! extensions, written into the headers of HyperFleet API calls, and shown as `trace_id` /
//! `span_id` on log lines.
//!
//! Unlike the Go adapter, which writes every span to stdout when no collector is configured,
//! spans are then not exported at all: trace ids are still generated, propagated and logged.

use crate::config::EnvSource;
use crate::config::env::non_empty;
use opentelemetry::propagation::{Extractor, Injector, TextMapCompositePropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::{KeyValue, global};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};
use serde_json::{Map, Value};
use std::time::Duration;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The startup error of a build without the `otlp-grpc` feature asked to export over gRPC.
#[cfg(not(feature = "otlp-grpc"))]
pub const GRPC_NOT_BUILT: &str = "OTLP trace export over gRPC (OTEL_EXPORTER_OTLP_PROTOCOL=grpc, \
     the default) is not in this build: set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf and an \
     OTLP/HTTP endpoint (port 4318), or build with --features otlp-grpc";

/// Why tracing could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// Export over gRPC was asked for in a build without it ([`GRPC_NOT_BUILT`]).
    #[cfg(not(feature = "otlp-grpc"))]
    #[error("{GRPC_NOT_BUILT}")]
    GrpcNotBuilt,
    /// The exporter could not be built.
    #[error("failed to create the OTLP trace exporter: {0}")]
    Exporter(#[source] opentelemetry_otlp::ExporterBuildError),
}

/// How spans leave the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// Not exported (no collector configured, or `OTEL_TRACES_EXPORTER=none`).
    None,
    /// OTLP over gRPC.
    OtlpGrpc,
    /// OTLP over HTTP with protobuf bodies.
    OtlpHttp,
}

/// A propagator named in `OTEL_PROPAGATORS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagator {
    TraceContext,
    Baggage,
}

/// Something to log once logging is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub warn: bool,
    pub message: String,
}

/// The tracing settings of one process.
#[derive(Debug, Clone)]
pub struct Settings {
    pub enabled: bool,
    pub export: Export,
    /// Where spans go: the traces endpoint as given, or the generic one (with `/v1/traces`
    /// appended for OTLP/HTTP, as the OpenTelemetry specification says).
    pub endpoint: Option<String>,
    pub sampler: String,
    pub ratio: f64,
    pub service_name: String,
    pub propagators: Vec<Propagator>,
    /// What the settings decided, to log once the logger runs.
    pub notes: Vec<Note>,
}

impl Settings {
    /// The settings from `env`, for the adapter called `adapter_name`. What each variable
    /// decided (and every value refused) is noted, in the order the variables are read.
    pub fn from_env(env: &dyn EnvSource, adapter_name: &str) -> Self {
        let mut notes = Vec::new();
        let enabled = enabled(env, &mut notes);
        let traces_endpoint = non_empty(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        let generic_endpoint = non_empty(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
        let configured = traces_endpoint.is_some() || generic_endpoint.is_some();
        let export = export(env, configured, &mut notes);
        let sampler = sampler(env, &mut notes);
        let ratio = ratio(env, &mut notes);
        let propagators = propagators(env, &mut notes);
        Settings {
            enabled,
            export,
            endpoint: endpoint(export, traces_endpoint, generic_endpoint),
            sampler,
            ratio,
            service_name: non_empty(env, "OTEL_SERVICE_NAME")
                .unwrap_or_else(|| adapter_name.to_string()),
            propagators,
            notes,
        }
    }

    /// The SDK sampler these settings name.
    pub fn sdk_sampler(&self) -> Sampler {
        let ratio = Sampler::TraceIdRatioBased(self.ratio);
        match self.sampler.as_str() {
            "always_on" => Sampler::AlwaysOn,
            "always_off" => Sampler::AlwaysOff,
            "traceidratio" => ratio,
            "parentbased_always_on" => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            "parentbased_always_off" => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
            _ => Sampler::ParentBased(Box::new(ratio)),
        }
    }
}

fn note(notes: &mut Vec<Note>, warn: bool, message: String) {
    notes.push(Note { warn, message });
}

/// `HYPERFLEET_TRACING_ENABLED` (Go's `strconv.ParseBool`; on unless it says otherwise).
fn enabled(env: &dyn EnvSource, notes: &mut Vec<Note>) -> bool {
    let Some(v) = non_empty(env, "HYPERFLEET_TRACING_ENABLED") else {
        return true;
    };
    crate::golang::parse_bool(&v).unwrap_or_else(|| {
        note(
            notes,
            true,
            format!("Invalid HYPERFLEET_TRACING_ENABLED value {v:?}, defaulting to true"),
        );
        true
    })
}

/// How spans leave: not at all without an endpoint (`configured`) or with
/// `OTEL_TRACES_EXPORTER=none`, else OTLP over the protocol the variables name.
fn export(env: &dyn EnvSource, configured: bool, notes: &mut Vec<Note>) -> Export {
    let exporter = non_empty(env, "OTEL_TRACES_EXPORTER").map(|v| v.to_lowercase());
    if exporter.as_deref() == Some("none") {
        note(
            notes,
            false,
            "OTEL_TRACES_EXPORTER=none: spans are not exported".into(),
        );
        return Export::None;
    }
    if !configured {
        note(
            notes,
            false,
            "No OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT configured: \
             spans are not exported (trace ids are still propagated and logged)"
                .into(),
        );
        return Export::None;
    }
    let (var, value) = match non_empty(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") {
        Some(v) => ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", v),
        None => (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            non_empty(env, "OTEL_EXPORTER_OTLP_PROTOCOL").unwrap_or_default(),
        ),
    };
    let (export, protocol) = match value.as_str() {
        "http/protobuf" | "http" => (Export::OtlpHttp, "http/protobuf"),
        "grpc" | "" => (Export::OtlpGrpc, "grpc"),
        other => {
            note(
                notes,
                true,
                format!("Unrecognized {var} value {other:?}, using default grpc"),
            );
            (Export::OtlpGrpc, "grpc")
        }
    };
    note(
        notes,
        false,
        format!("OTLP trace exporter configured: protocol={protocol}"),
    );
    export
}

/// `OTEL_TRACES_SAMPLER`, lowercased; unknown names fall back to the default.
fn sampler(env: &dyn EnvSource, notes: &mut Vec<Note>) -> String {
    const DEFAULT: &str = "parentbased_traceidratio";
    let sampler = non_empty(env, "OTEL_TRACES_SAMPLER")
        .unwrap_or_default()
        .to_lowercase();
    match sampler.as_str() {
        "" => DEFAULT.into(),
        "always_on"
        | "always_off"
        | "traceidratio"
        | "parentbased_traceidratio"
        | "parentbased_always_on"
        | "parentbased_always_off" => sampler,
        other => {
            note(
                notes,
                true,
                format!(
                    "Unrecognized OTEL_TRACES_SAMPLER value {other:?}, using default parentbased_traceidratio"
                ),
            );
            DEFAULT.into()
        }
    }
}

/// `OTEL_TRACES_SAMPLER_ARG`: a ratio in 0..=1, else 1.
fn ratio(env: &dyn EnvSource, notes: &mut Vec<Note>) -> f64 {
    let Some(v) = non_empty(env, "OTEL_TRACES_SAMPLER_ARG") else {
        return 1.0;
    };
    match v.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => r,
        _ => {
            note(
                notes,
                true,
                format!("Invalid OTEL_TRACES_SAMPLER_ARG value {v:?}, using default 1.0"),
            );
            1.0
        }
    }
}

/// `OTEL_PROPAGATORS`: the ones this build knows, in order, without repeats in a row.
fn propagators(env: &dyn EnvSource, notes: &mut Vec<Note>) -> Vec<Propagator> {
    let mut propagators = Vec::new();
    let list = non_empty(env, "OTEL_PROPAGATORS").unwrap_or("tracecontext,baggage".into());
    for name in list.split(',').map(|s| s.trim().to_lowercase()) {
        match name.as_str() {
            "tracecontext" => propagators.push(Propagator::TraceContext),
            "baggage" => propagators.push(Propagator::Baggage),
            "none" | "" => {}
            other => note(
                notes,
                true,
                format!(
                    "Unsupported OTEL_PROPAGATORS entry {other:?} ignored (supported: tracecontext, baggage, none)"
                ),
            ),
        }
    }
    propagators.dedup();
    propagators
}

/// Where spans go: the traces endpoint as given, else the generic one (with `/v1/traces`
/// appended for OTLP/HTTP, as the OpenTelemetry specification says).
fn endpoint(export: Export, traces: Option<String>, generic: Option<String>) -> Option<String> {
    match (export, traces, generic) {
        (Export::None, _, _) => None,
        (_, Some(e), _) => Some(e),
        (Export::OtlpHttp, None, Some(e)) => Some(format!("{}/v1/traces", e.trim_end_matches('/'))),
        (_, None, e) => e,
    }
}

/// The running tracer provider; [`Telemetry::shutdown`] flushes what is buffered.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Starts tracing as `settings` say: installs the propagators and builds the provider. Must
    /// run inside a Tokio runtime (the batch exporter is a task on it). Returns the tracer for
    /// the logging layer, `None` when tracing is disabled.
    pub fn start(
        settings: &Settings,
        version: &str,
    ) -> Result<(Telemetry, Option<SdkTracer>), TelemetryError> {
        if !settings.enabled {
            return Ok((Telemetry { provider: None }, None));
        }
        let resource = opentelemetry_sdk::Resource::builder()
            .with_attributes([
                KeyValue::new("service.version", version.to_string()),
                KeyValue::new("host.name", crate::host::hostname()),
                KeyValue::new("process.runtime.name", "rust"),
            ])
            .with_service_name(settings.service_name.clone());
        let mut builder = SdkTracerProvider::builder()
            .with_resource(resource.build())
            .with_sampler(settings.sdk_sampler());
        if let Some(exporter) = exporter(settings)? {
            let processor =
                opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
                    exporter,
                    opentelemetry_sdk::runtime::Tokio,
                )
                .build();
            builder = builder.with_span_processor(processor);
        }
        let provider = builder.build();
        let tracer = provider.tracer(settings.service_name.clone());
        install_propagators(&settings.propagators);
        Ok((
            Telemetry {
                provider: Some(provider),
            },
            Some(tracer),
        ))
    }

    /// Flushes and stops the exporter, waiting at most 5 s.
    pub async fn shutdown(self) {
        let Some(provider) = self.provider else {
            return;
        };
        let done = tokio::task::spawn_blocking(move || {
            provider.shutdown_with_timeout(Duration::from_secs(5))
        })
        .await;
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("Failed to shutdown OpenTelemetry: {e}"),
            Err(e) => tracing::error!("Failed to shutdown OpenTelemetry: {e}"),
        }
    }
}

/// The OTLP exporter for `settings.export` (`None`: spans are not exported). Refuses gRPC in a
/// build without the `otlp-grpc` feature.
fn exporter(
    settings: &Settings,
) -> Result<Option<opentelemetry_otlp::SpanExporter>, TelemetryError> {
    use opentelemetry_otlp::WithExportConfig as _;
    let endpoint = settings.endpoint.clone().unwrap_or_default();
    let built = match settings.export {
        Export::None => return Ok(None),
        #[cfg(feature = "otlp-grpc")]
        Export::OtlpGrpc => opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build(),
        #[cfg(not(feature = "otlp-grpc"))]
        Export::OtlpGrpc => return Err(TelemetryError::GrpcNotBuilt),
        Export::OtlpHttp => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .build(),
    };
    built.map(Some).map_err(TelemetryError::Exporter)
}

/// Installs the propagators `OTEL_PROPAGATORS` named as the process-wide one.
fn install_propagators(names: &[Propagator]) {
    let propagators: Vec<Box<dyn opentelemetry::propagation::TextMapPropagator + Send + Sync>> =
        names
            .iter()
            .map(|p| match p {
                Propagator::TraceContext => Box::new(TraceContextPropagator::new()) as Box<_>,
                Propagator::Baggage => Box::new(BaggagePropagator::new()) as Box<_>,
            })
            .collect();
    global::set_text_map_propagator(TextMapCompositePropagator::new(propagators));
}

struct Extensions<'a>(&'a Map<String, Value>);

impl Extractor for Extensions<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// Makes `span` a child of the trace named by the CloudEvent extensions (`traceparent`,
/// `tracestate`, `baggage`) when there is a valid one, then shows its ids on log lines. Invalid
/// values are ignored. Call it before the span is entered.
pub fn adopt(span: &tracing::Span, extensions: &Map<String, Value>) {
    let parent = global::get_text_map_propagator(|p| p.extract(&Extensions(extensions)));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    annotate(span);
}

/// Records `trace_id` and `span_id` on `span` (declared with `tracing::field::Empty`) when it
/// has a valid span context.
pub fn annotate(span: &tracing::Span) {
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    if sc.is_valid() {
        span.record("trace_id", sc.trace_id().to_string());
        span.record("span_id", sc.span_id().to_string());
    }
}

struct Headers<'a>(&'a mut Vec<(String, String)>);

impl Injector for Headers<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
        self.0.push((key.to_string(), value));
    }
}

/// Writes `span`'s trace context into `headers` (nothing when tracing is off).
pub fn inject(span: &tracing::Span, headers: &mut Vec<(String, String)>) {
    let cx = span.context();
    if cx.span().span_context().is_valid() {
        global::get_text_map_propagator(|p| p.inject_context(&cx, &mut Headers(headers)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MapEnv;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        Settings::from_env(&MapEnv::from_pairs(vars), "my-adapter")
    }

    fn warnings(s: &Settings) -> Vec<&str> {
        s.notes
            .iter()
            .filter(|n| n.warn)
            .map(|n| n.message.as_str())
            .collect()
    }

    #[test]
    fn defaults_trace_without_export() {
        let s = settings(&[]);
        assert!(s.enabled);
        assert_eq!(s.export, Export::None);
        assert_eq!(s.sampler, "parentbased_traceidratio");
        assert_eq!(s.ratio, 1.0);
        assert_eq!(s.service_name, "my-adapter");
        assert_eq!(
            s.propagators,
            vec![Propagator::TraceContext, Propagator::Baggage]
        );
        assert!(warnings(&s).is_empty());
    }

    #[test]
    fn enabled_flag_follows_go_parse_bool() {
        assert!(!settings(&[("HYPERFLEET_TRACING_ENABLED", "false")]).enabled);
        assert!(!settings(&[("HYPERFLEET_TRACING_ENABLED", "0")]).enabled);
        assert!(settings(&[("HYPERFLEET_TRACING_ENABLED", "T")]).enabled);
        let s = settings(&[("HYPERFLEET_TRACING_ENABLED", "nope")]);
        assert!(s.enabled);
        assert_eq!(
            warnings(&s),
            ["Invalid HYPERFLEET_TRACING_ENABLED value \"nope\", defaulting to true"]
        );
    }

    #[test]
    fn protocol_choice() {
        let ep = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317");
        let s = settings(&[ep]);
        assert_eq!(s.export, Export::OtlpGrpc);
        assert_eq!(s.endpoint.as_deref(), Some("http://collector:4317"));
        let s = settings(&[ep, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]);
        assert_eq!(s.export, Export::OtlpHttp);
        assert_eq!(
            s.endpoint.as_deref(),
            Some("http://collector:4317/v1/traces")
        );
        // The traces-specific variable wins over the generic one.
        assert_eq!(
            settings(&[
                (
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://c:4318/v1/traces"
                ),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http"),
            ])
            .export,
            Export::OtlpHttp
        );
        assert_eq!(
            settings(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/x")])
                .endpoint
                .as_deref(),
            Some("http://c:4318/x")
        );
        let s = settings(&[ep, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]);
        assert_eq!(s.export, Export::OtlpGrpc);
        assert_eq!(
            warnings(&s),
            ["Unrecognized OTEL_EXPORTER_OTLP_PROTOCOL value \"http/json\", using default grpc"]
        );
        assert!(
            s.notes
                .iter()
                .any(|n| n.message == "OTLP trace exporter configured: protocol=grpc")
        );
        assert_eq!(
            settings(&[ep, ("OTEL_TRACES_EXPORTER", "none")]).export,
            Export::None
        );
    }

    #[test]
    fn samplers() {
        let s = settings(&[("OTEL_TRACES_SAMPLER", "ALWAYS_OFF")]);
        assert!(matches!(s.sdk_sampler(), Sampler::AlwaysOff));
        let s = settings(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ]);
        assert!(matches!(s.sdk_sampler(), Sampler::TraceIdRatioBased(r) if r == 0.25));
        let s = settings(&[("OTEL_TRACES_SAMPLER", "sometimes")]);
        assert_eq!(s.sampler, "parentbased_traceidratio");
        assert_eq!(
            warnings(&s),
            [
                "Unrecognized OTEL_TRACES_SAMPLER value \"sometimes\", using default parentbased_traceidratio"
            ]
        );
        let s = settings(&[("OTEL_TRACES_SAMPLER_ARG", "1.5")]);
        assert_eq!(s.ratio, 1.0);
        assert_eq!(
            warnings(&s),
            ["Invalid OTEL_TRACES_SAMPLER_ARG value \"1.5\", using default 1.0"]
        );
    }

    #[test]
    fn service_name_and_propagators() {
        let s = settings(&[
            ("OTEL_SERVICE_NAME", "svc"),
            ("OTEL_PROPAGATORS", "tracecontext,b3"),
        ]);
        assert_eq!(s.service_name, "svc");
        assert_eq!(s.propagators, vec![Propagator::TraceContext]);
        assert_eq!(warnings(&s).len(), 1);
        assert!(
            settings(&[("OTEL_PROPAGATORS", "none")])
                .propagators
                .is_empty()
        );
    }
}
