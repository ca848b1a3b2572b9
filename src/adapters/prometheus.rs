//! Prometheus metrics: every `hyperfleet_adapter_*` series of the Go adapter with the same
//! names, help texts, labels and buckets, declared once here, plus process metrics. The executor
//! reports deletions through `ExecutionObserver`, the serve loop its messages and events through
//! `LoopMetrics`; the metrics server (`adapters::servers`) exposes the text.

use crate::domain::ExecutionResult;
use crate::ports::ExecutionObserver;
use crate::service::LoopMetrics;
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry,
    TextEncoder,
};
use std::collections::HashMap;

/// Histogram buckets for event and deletion durations (seconds).
pub const BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0];

/// `adapter_name` from `adapter.name`: strip `hyperfleet-adapter-`, else `adapter-`, else a
/// `-adapter` suffix.
pub fn adapter_label(name: &str) -> String {
    name.strip_prefix("hyperfleet-adapter-")
        .or_else(|| name.strip_prefix("adapter-"))
        .or_else(|| name.strip_suffix("-adapter"))
        .unwrap_or(name)
        .to_string()
}

/// The adapter's metrics and the registry that exposes them.
pub struct Metrics {
    pub registry: Registry,
    up: Gauge,
    events: IntCounterVec,
    duration: HistogramVec,
    errors: IntCounterVec,
    deletions: IntCounterVec,
    /// Applies skipped, by reason (`stale`).
    skipped: IntCounterVec,
    events_skipped: IntCounterVec,
    deletion_duration: HistogramVec,
    in_progress: GaugeVec,
    broker_consumed: IntCounterVec,
    broker_errors: IntCounterVec,
    broker_duration: HistogramVec,
    /// The subscribed topic (`topic` label of the broker series).
    topic: String,
}

fn must<T>(r: Result<T, prometheus::Error>) -> T {
    // Names and labels are constants of this file: a failure is a programming error.
    r.unwrap_or_else(|e| panic!("metric definition: {e}"))
}

type Labels = HashMap<String, String>;

fn counter(name: &str, help: &str, labels: &[&str], constant: &Labels) -> IntCounterVec {
    must(IntCounterVec::new(
        Opts::new(name, help).const_labels(constant.clone()),
        labels,
    ))
}

fn histogram(name: &str, help: &str, labels: &[&str], constant: &Labels) -> HistogramVec {
    must(HistogramVec::new(
        HistogramOpts::new(name, help)
            .const_labels(constant.clone())
            .buckets(BUCKETS.to_vec()),
        labels,
    ))
}

/// `hyperfleet_adapter_build_info`, set to 1.
fn build_info(component: &str, version: &str, commit: &str) -> GaugeVec {
    let build = must(GaugeVec::new(
        Opts::new(
            "hyperfleet_adapter_build_info",
            "Build information for the adapter",
        ),
        &["component", "version", "commit"],
    ));
    build
        .with_label_values(&[component, version, commit])
        .set(1.0);
    build
}

/// `hyperfleet_adapter_up`, set to 1 (0 at shutdown).
fn up(constant: &Labels) -> Gauge {
    let up = must(Gauge::with_opts(
        Opts::new(
            "hyperfleet_adapter_up",
            "Whether the adapter is up and running",
        )
        .const_labels(constant.clone()),
    ));
    up.set(1.0);
    up
}

impl Metrics {
    /// Creates and registers every metric. `component` is `adapter.name`.
    pub fn new(component: &str, version: &str, commit: &str) -> Self {
        // The broker library's series carry `component`/`version` as constants (and `topic` as
        // a label); the adapter's series also `adapter_name`.
        let base: Labels = [
            ("component".to_string(), component.to_string()),
            ("version".to_string(), version.to_string()),
        ]
        .into();
        let mut named = base.clone();
        named.insert("adapter_name".into(), adapter_label(component));
        let metrics = Metrics {
            registry: Registry::new(),
            up: up(&base),
            events: counter(
                "hyperfleet_adapter_events_processed_total",
                "Total number of CloudEvents processed by the adapter",
                &["status"],
                &named,
            ),
            duration: histogram(
                "hyperfleet_adapter_event_processing_duration_seconds",
                "Duration of event processing in seconds",
                &[],
                &named,
            ),
            errors: counter(
                "hyperfleet_adapter_errors_total",
                "Total number of errors encountered by the adapter",
                &["error_type"],
                &named,
            ),
            deletions: counter(
                "hyperfleet_adapter_resources_deleted_total",
                "Total number of adapter resource deletion operations",
                &["resource_type", "status"],
                &named,
            ),
            skipped: counter(
                "hyperfleet_adapter_resources_skipped_total",
                "Total number of resource applies skipped, by reason (stale: the manifest's generation is older than the object's)",
                &["resource_type", "reason"],
                &named,
            ),
            events_skipped: counter(
                "hyperfleet_adapter_events_skipped_total",
                "Total number of events acknowledged without running, by reason (duplicate: superseded by a newer event for the same resource while it waited; stale: a completed reconcile already covered it)",
                &["reason"],
                &named,
            ),
            deletion_duration: histogram(
                "hyperfleet_adapter_resource_deletion_duration_seconds",
                "Duration of resource deletion operations in seconds",
                &["resource_type"],
                &named,
            ),
            in_progress: must(GaugeVec::new(
                Opts::new(
                    "hyperfleet_adapter_resource_deletions_in_progress",
                    "Number of resource deletions currently in progress",
                )
                .const_labels(named.clone()),
                &["resource_type"],
            )),
            broker_consumed: counter(
                "hyperfleet_broker_messages_consumed_total",
                "Total number of messages consumed from the broker",
                &["topic"],
                &base,
            ),
            broker_errors: counter(
                "hyperfleet_broker_errors_total",
                "Total number of broker message errors",
                &["topic", "error_type"],
                &base,
            ),
            broker_duration: histogram(
                "hyperfleet_broker_message_duration_seconds",
                "Duration of broker message handling in seconds",
                &["topic"],
                &base,
            ),
            topic: String::new(),
        };
        metrics.register(build_info(component, version, commit));
        metrics
    }

    /// Registers `build` and every series, then the process metrics.
    fn register(&self, build: GaugeVec) {
        for c in [
            Box::new(build) as Box<dyn prometheus::core::Collector>,
            Box::new(self.broker_consumed.clone()),
            Box::new(self.broker_errors.clone()),
            Box::new(self.broker_duration.clone()),
            Box::new(self.up.clone()),
            Box::new(self.events.clone()),
            Box::new(self.duration.clone()),
            Box::new(self.errors.clone()),
            Box::new(self.deletions.clone()),
            Box::new(self.skipped.clone()),
            Box::new(self.events_skipped.clone()),
            Box::new(self.deletion_duration.clone()),
            Box::new(self.in_progress.clone()),
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        ] {
            must(self.registry.register(c));
        }
    }

    /// The topic the broker series are labelled with.
    pub fn with_topic(mut self, topic: &str) -> Self {
        self.topic = topic.to_string();
        self
    }

    /// A message arrived from the broker.
    pub fn record_consumed(&self) {
        self.broker_consumed.with_label_values(&[&self.topic]).inc();
    }

    /// A message was handled (settled) after `seconds`.
    pub fn record_handled(&self, seconds: f64) {
        self.broker_duration
            .with_label_values(&[&self.topic])
            .observe(seconds);
    }

    /// Records one processed event: its status (`failed` > `skipped` > `success`), one error per
    /// failed phase, and its duration.
    pub fn record_event(&self, result: &ExecutionResult, seconds: f64) {
        let status = if result.is_failed() {
            "failed"
        } else if result.resources_skipped {
            "skipped"
        } else {
            "success"
        };
        self.events.with_label_values(&[status]).inc();
        for phase in result.errors.keys() {
            self.errors.with_label_values(&[phase.as_str()]).inc();
        }
        self.duration
            .with_label_values::<&str>(&[])
            .observe(seconds);
    }

    /// An event acknowledged without running.
    pub fn record_skipped(&self, reason: crate::service::SkipReason) {
        self.events_skipped
            .with_label_values(&[reason.as_str()])
            .inc();
    }

    /// A message that is not a CloudEvent: a broker `conversion` error (it never reaches the
    /// executor, so the adapter's event series do not count it).
    pub fn record_unparseable(&self) {
        self.broker_errors
            .with_label_values(&[&self.topic, "conversion"])
            .inc();
    }

    /// `hyperfleet_adapter_up` to 0 (shutdown).
    pub fn set_down(&self) {
        self.up.set(0.0);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

fn kind_label(kind: &str) -> &str {
    if kind.trim().is_empty() {
        "Unknown"
    } else {
        kind
    }
}

impl ExecutionObserver for Metrics {
    fn stale_skipped(&self, kind: &str) {
        self.skipped
            .with_label_values(&[kind_label(kind), "stale"])
            .inc();
    }

    fn deletion_started(&self, kind: &str) {
        self.in_progress
            .with_label_values(&[kind_label(kind)])
            .inc();
    }

    fn deletion_finished(&self, started_kind: &str, kind: &str, ok: bool, seconds: f64) {
        self.in_progress
            .with_label_values(&[kind_label(started_kind)])
            .dec();
        let kind = kind_label(kind);
        self.deletions
            .with_label_values(&[kind, if ok { "success" } else { "error" }])
            .inc();
        self.deletion_duration
            .with_label_values(&[kind])
            .observe(seconds);
    }
}

impl LoopMetrics for Metrics {
    fn record_consumed(&self) {
        Metrics::record_consumed(self)
    }
    fn record_unparseable(&self) {
        Metrics::record_unparseable(self)
    }
    fn record_handled(&self, seconds: f64) {
        Metrics::record_handled(self, seconds)
    }
    fn record_event(&self, result: &ExecutionResult, seconds: f64) {
        Metrics::record_event(self, result, seconds)
    }
    fn record_skipped(&self, reason: crate::service::SkipReason) {
        Metrics::record_skipped(self, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Phase;

    #[test]
    fn adapter_name_label() {
        assert_eq!(adapter_label("hyperfleet-adapter-gcp"), "gcp");
        assert_eq!(adapter_label("adapter-validation"), "validation");
        assert_eq!(adapter_label("test-adapter"), "test");
        assert_eq!(adapter_label("plain"), "plain");
    }

    #[test]
    fn exposition_has_every_series() {
        let m = Metrics::new("hyperfleet-adapter-gcp", "1.2.3", "abc").with_topic("clusters");
        m.record_consumed();
        m.record_unparseable();
        m.record_handled(0.05);
        let mut r = ExecutionResult::default();
        m.record_event(&r, 0.2);
        r.fail(Phase::Resources, "x".into());
        m.record_event(&r, 3.0);
        m.deletion_started("");
        m.deletion_finished("", "", true, 0.3);
        m.stale_skipped("Namespace");
        m.stale_skipped("Namespace");
        m.record_skipped(crate::service::SkipReason::Duplicate);
        m.record_skipped(crate::service::SkipReason::Stale);
        m.record_skipped(crate::service::SkipReason::Stale);
        let text = m.render();
        for line in [
            "hyperfleet_adapter_build_info{commit=\"abc\",component=\"hyperfleet-adapter-gcp\",version=\"1.2.3\"} 1",
            "hyperfleet_adapter_up{component=\"hyperfleet-adapter-gcp\",version=\"1.2.3\"} 1",
            "hyperfleet_adapter_events_processed_total{adapter_name=\"gcp\",component=\"hyperfleet-adapter-gcp\",status=\"success\",version=\"1.2.3\"} 1",
            "hyperfleet_adapter_events_processed_total{adapter_name=\"gcp\",component=\"hyperfleet-adapter-gcp\",status=\"failed\",version=\"1.2.3\"} 1",
            "hyperfleet_adapter_errors_total{adapter_name=\"gcp\",component=\"hyperfleet-adapter-gcp\",error_type=\"resources\",version=\"1.2.3\"} 1",
            "hyperfleet_adapter_event_processing_duration_seconds_bucket{adapter_name=\"gcp\",component=\"hyperfleet-adapter-gcp\",version=\"1.2.3\",le=\"0.5\"} 1",
            "hyperfleet_adapter_event_processing_duration_seconds_count{adapter_name=\"gcp\",component=\"hyperfleet-adapter-gcp\",version=\"1.2.3\"} 2",
            "hyperfleet_adapter_resources_deleted_total{adapter_name=\"gcp\",component=\"hyperfleet-adapter-gcp\",resource_type=\"Unknown\",status=\"success\",version=\"1.2.3\"} 1",
            "hyperfleet_adapter_resource_deletions_in_progress{adapter_name=\"gcp\",component=\"hyperfleet-adapter-gcp\",resource_type=\"Unknown\",version=\"1.2.3\"} 0",
            "hyperfleet_adapter_resources_skipped_total{adapter_name=\"gcp\",component=\"hyperfleet-adapter-gcp\",reason=\"stale\",resource_type=\"Namespace\",version=\"1.2.3\"} 2",
            "hyperfleet_adapter_events_skipped_total{adapter_name=\"gcp\",component=\"hyperfleet-adapter-gcp\",reason=\"duplicate\",version=\"1.2.3\"} 1",
            "hyperfleet_adapter_events_skipped_total{adapter_name=\"gcp\",component=\"hyperfleet-adapter-gcp\",reason=\"stale\",version=\"1.2.3\"} 2",
            "# HELP hyperfleet_adapter_events_processed_total Total number of CloudEvents processed by the adapter",
            "# TYPE hyperfleet_adapter_event_processing_duration_seconds histogram",
            "hyperfleet_broker_messages_consumed_total{component=\"hyperfleet-adapter-gcp\",topic=\"clusters\",version=\"1.2.3\"} 1",
            "hyperfleet_broker_errors_total{component=\"hyperfleet-adapter-gcp\",error_type=\"conversion\",topic=\"clusters\",version=\"1.2.3\"} 1",
            "hyperfleet_broker_message_duration_seconds_bucket{component=\"hyperfleet-adapter-gcp\",topic=\"clusters\",version=\"1.2.3\",le=\"0.1\"} 1",
        ] {
            assert!(text.contains(line), "missing {line}\n{text}");
        }
        assert!(
            text.contains("process_cpu_seconds_total"),
            "process metrics"
        );
        m.set_down();
        assert!(m.render().contains(
            "hyperfleet_adapter_up{component=\"hyperfleet-adapter-gcp\",version=\"1.2.3\"} 0"
        ));
    }
}
