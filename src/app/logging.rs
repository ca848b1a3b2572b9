//! Logging setup: JSON or text, to stdout or stderr, at the configured level, with the
//! component name on every line. Precedence: config file < `LOG_*` env < `--log-*` flags.

use crate::config::{EnvSource, env::non_empty};
use tracing_subscriber::EnvFilter;

/// The effective log settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    pub level: String,
    pub format: String,
    pub output: String,
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
        }
    }

    /// The settings of a loaded config, with the defaults for what it leaves empty.
    pub fn from_config(log: &crate::config::adapter::LogConfig) -> Self {
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

/// Installs the global subscriber; `force_stderr` keeps stdout clean for command output.
pub fn init(settings: &LogSettings, force_stderr: bool) {
    let filter = EnvFilter::new(settings.filter());
    let to_stderr = force_stderr || settings.output == "stderr";
    use std::io::IsTerminal;
    // Colours only for a terminal: log files and collectors get plain text.
    let ansi = if to_stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi);
    let result = match (settings.format.as_str(), to_stderr) {
        ("text", true) => builder.with_writer(std::io::stderr).try_init(),
        ("text", false) => builder.with_writer(std::io::stdout).try_init(),
        (_, true) => builder
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .try_init(),
        (_, false) => builder
            .json()
            .flatten_event(true)
            .with_writer(std::io::stdout)
            .try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}
