//! Logging setup: JSON or text, to stdout or stderr, at the configured level, with the
//! component name on every line. Precedence: config file < `LOG_*` env < `--log-*` flags.

pub mod format;

use crate::config::{EnvSource, env::non_empty};
use crate::host::hostname;
use format::{LineFormat, SpanFields};
use tracing::Metadata;
use tracing::subscriber::Interest;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Filter};

/// The effective log settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    pub level: String,
    pub format: String,
    pub output: String,
    /// The `component` field of every line (`hyperfleet-adapter` until the config names the adapter).
    pub component: String,
}

impl LogSettings {
    /// Settings from env and flags only (before the config is loaded).
    pub fn bootstrap(
        env: &dyn EnvSource,
        level: Option<&str>,
        format: Option<&str>,
        output: Option<&str>,
    ) -> Self {
        let pick = |flag: Option<&str>, var: &str, default: &str| {
            flag.map(str::to_string)
                .or_else(|| non_empty(env, var))
                .unwrap_or_else(|| default.to_string())
        };
        LogSettings {
            level: pick(level, "LOG_LEVEL", "info").to_lowercase(),
            format: pick(format, "LOG_FORMAT", "json").to_lowercase(),
            output: pick(output, "LOG_OUTPUT", "stdout"),
            component: "hyperfleet-adapter".into(),
        }
    }

    /// The settings of a loaded config, with the defaults for what it leaves empty.
    pub fn from_config(log: &crate::config::adapter::LogConfig, component: &str) -> Self {
        let or = |v: &str, d: &str| {
            if v.is_empty() {
                d.to_string()
            } else {
                v.to_string()
            }
        };
        LogSettings {
            level: or(&log.level, "info").to_lowercase(),
            format: or(&log.format, "json").to_lowercase(),
            output: or(&log.output, "stdout"),
            component: component.to_string(),
        }
    }

    /// The most verbose level logged (unknown levels are `info`, as in the Go adapter).
    fn max_level(&self) -> LevelFilter {
        match self.level.as_str() {
            "debug" => LevelFilter::DEBUG,
            "warn" | "warning" => LevelFilter::WARN,
            "error" => LevelFilter::ERROR,
            _ => LevelFilter::INFO,
        }
    }
}

/// Which callsites a layer sees, decided once per callsite: events up to `max` from anywhere;
/// the adapter's own spans always (their fields belong on every line logged inside them, at
/// any level); other crates' spans only when `foreign_spans`.
struct Select {
    max: LevelFilter,
    events: bool,
    foreign_spans: bool,
}

impl Select {
    fn wants(&self, meta: &Metadata<'_>) -> bool {
        if meta.is_span() {
            meta.target().starts_with(CRATE) || (self.foreign_spans && *meta.level() <= self.max)
        } else {
            self.events && *meta.level() <= self.max
        }
    }
}

const CRATE: &str = "hyperfleet_adapter";

impl<S> Filter<S> for Select {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        self.wants(meta)
    }
    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.wants(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        // The adapter's spans are INFO at most verbose; events follow `max`.
        Some(self.max.max(LevelFilter::INFO))
    }
}

/// The subscriber for `settings`, writing to `writer`; with a tracer, the adapter's spans also
/// become OpenTelemetry spans (whatever the log level).
pub fn subscriber<W>(
    settings: &LogSettings,
    writer: W,
    tracer: Option<opentelemetry_sdk::trace::SdkTracer>,
) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    let format = LineFormat {
        json: settings.format != "text",
        component: settings.component.clone(),
        version: crate::version::VERSION.to_string(),
        hostname: hostname(),
    };
    let fmt_layer = tracing_subscriber::fmt::layer()
        .event_format(format)
        .with_writer(writer)
        .with_filter(Select {
            max: settings.max_level(),
            events: true,
            foreign_spans: false,
        });
    let otel_layer = tracer.map(|t| {
        tracing_opentelemetry::layer()
            .with_tracer(t)
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_level(false)
            .with_filter(Select {
                max: LevelFilter::INFO,
                events: false,
                foreign_spans: false,
            })
    });
    tracing_subscriber::registry()
        .with(SpanFields)
        .with(otel_layer)
        .with(fmt_layer)
}

/// Installs the global subscriber; `force_stderr` keeps stdout clean for command output.
pub fn init(settings: &LogSettings, force_stderr: bool) {
    init_traced(settings, force_stderr, None)
}

/// [`init`] with OpenTelemetry spans from `tracer`.
pub fn init_traced(
    settings: &LogSettings,
    force_stderr: bool,
    tracer: Option<opentelemetry_sdk::trace::SdkTracer>,
) {
    let to_stderr = force_stderr || settings.output == "stderr";
    // A second init (tests) keeps the first subscriber.
    let _ = if to_stderr {
        tracing::subscriber::set_global_default(subscriber(settings, std::io::stderr, tracer))
    } else {
        tracing::subscriber::set_global_default(subscriber(settings, std::io::stdout, tracer))
    };
}
