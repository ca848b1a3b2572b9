//! Logging setup: JSON or text, to stdout or stderr, at the configured level, with the
//! component name on every line. Precedence: config file < `LOG_*` env < `--log-*` flags.

use super::logfmt::{LineFormat, SpanFields, hostname};
use crate::config::{EnvSource, env::non_empty};
use tracing_subscriber::EnvFilter;

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

    /// A level name tracing understands (unknown levels are `info`, as in the Go adapter).
    fn filter(&self) -> &'static str {
        match self.level.as_str() {
            "debug" => "debug",
            "warn" | "warning" => "warn",
            "error" => "error",
            _ => "info",
        }
    }
}

/// The subscriber for `settings`, writing to `writer`.
pub fn subscriber<W>(settings: &LogSettings, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    let format = LineFormat {
        json: settings.format != "text",
        component: settings.component.clone(),
        version: crate::version::VERSION.to_string(),
        hostname: hostname(),
    };
    let fmt_layer = tracing_subscriber::fmt::layer()
        .event_format(format)
        .with_writer(writer);
    tracing_subscriber::registry()
        .with(EnvFilter::new(settings.filter()))
        .with(SpanFields)
        .with(fmt_layer)
}

/// Installs the global subscriber; `force_stderr` keeps stdout clean for command output.
pub fn init(settings: &LogSettings, force_stderr: bool) {
    let to_stderr = force_stderr || settings.output == "stderr";
    // A second init (tests) keeps the first subscriber.
    let _ = if to_stderr {
        tracing::subscriber::set_global_default(subscriber(settings, std::io::stderr))
    } else {
        tracing::subscriber::set_global_default(subscriber(settings, std::io::stdout))
    };
}
