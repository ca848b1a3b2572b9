//! The command line: `adapter serve | config-dump | validate | version`, with every flag of the
//! Go adapter (same names, short flags and env hints), plus the project's own `validate`,
//! `publish`, `config migrate`, `schema` and `test`.

use crate::adapters::servers::ConnLimits;
use crate::config::GoDuration;
use crate::dryrun;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "adapter", about = "HyperFleet Adapter - event-driven Kubernetes resource manager", version = crate::version::VERSION)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the adapter (or run a dry run when --dry-run-event is given)
    Serve(ServeArgs),
    /// Load and validate both configs and print the merged, redacted configuration as YAML
    #[command(name = "config-dump")]
    ConfigDump(ConfigArgs),
    /// Check both configs: every CEL expression, template and variable, all problems at once
    Validate(ValidateArgs),
    /// Publish a CloudEvent JSON file to the broker of broker.yaml (e.g. to reprocess an event)
    Publish(PublishArgs),
    /// Run scenarios (event, API responses, discovery, expectations) for a task config
    Test(TestArgs),
    /// Print the version, commit and build date
    Version,
    /// Config tools: `config migrate` converts legacy config files to the current format
    #[command(subcommand)]
    Config(super::migrate::ConfigCommand),
    /// Print the JSON Schema of a config file: adapter (--config), task (--task-config) or
    /// broker (broker.yaml)
    Schema(SchemaArgs),
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which file's schema
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(
        crate::config::schema::ConfigFile::ALL.map(crate::config::schema::ConfigFile::name)
    ))]
    pub file: String,
}

/// `adapter test`: scenarios run through the dry-run engine (docs/testing-adapters.md).
#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Scenario folders or files (default: scenarios/ beside the task config)
    pub scenarios: Vec<PathBuf>,
    /// Report format: text, or junit (JUnit XML for CI systems)
    #[arg(long = "output", default_value = "text", value_parser = ["text", "junit"])]
    pub output: String,
    /// Also write the JUnit XML report to this file (the text report still goes to stdout)
    #[arg(long = "junit-file")]
    pub junit_file: Option<PathBuf>,
    /// Rewrite golden files from what the scenarios produce now
    #[arg(long = "update")]
    pub update: bool,
    /// Run only scenarios whose name contains this text (repeatable)
    #[arg(long = "filter")]
    pub filter: Vec<String>,
    /// Scenarios run at once (default: the number of CPUs)
    #[arg(long = "jobs", short = 'j', value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// The time of scenarios that set none (RFC 3339)
    #[arg(long = "time", value_parser = parse_time, default_value = crate::scenario::DEFAULT_TIME)]
    pub time: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The CloudEvent (structured-mode JSON) to publish
    #[arg(long = "event")]
    pub event: PathBuf,
    /// The topic (default: clients.broker.topic of the adapter config given with -c, else
    /// HYPERFLEET_BROKER_TOPIC or BROKER_TOPIC)
    #[arg(long = "topic")]
    pub topic: Option<String>,
    /// The adapter config to take the topic from
    #[arg(
        short = 'c',
        long = "config",
        env = "HYPERFLEET_ADAPTER_CONFIG",
        hide_env = true
    )]
    pub config: Option<PathBuf>,
    /// The key that keeps one cluster's events together: the Pub/Sub ordering key, and for
    /// RabbitMQ the `broker.rabbitmq.hash_header` header keyed delivery hashes on. Use the
    /// cluster id (the owner's id for a node pool)
    #[arg(long = "ordering-key", value_name = "KEY")]
    pub ordering_key: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// CloudEvent JSON file; its presence activates dry-run mode
    #[arg(long = "dry-run-event", default_value = "")]
    pub dry_run_event: String,
    /// Mock HyperFleet API responses JSON (also activates dry-run mode)
    #[arg(long = "dry-run-api-responses", default_value = "")]
    pub dry_run_api_responses: String,
    /// Discovery overrides JSON for dry-run mode
    #[arg(long = "dry-run-discovery", default_value = "")]
    pub dry_run_discovery: String,
    /// Show rendered manifests and API bodies in the dry-run trace
    #[arg(long = "dry-run-verbose")]
    pub dry_run_verbose: bool,
    /// Dry-run trace format: text or json
    #[arg(long = "dry-run-output", default_value = "text", value_parser = ["text", "json"])]
    pub dry_run_output: String,
    /// The time the dry run runs at (RFC 3339, e.g. 2026-01-01T00:00:00Z): what the template
    /// function `now`, CEL's `now()` and the simulated cluster's timestamps read, so a dry run is
    /// reproducible. Default: the current time
    #[arg(long = "dry-run-time", value_parser = parse_time)]
    pub dry_run_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Port of the health server (/healthz, /readyz, /config). Env: HYPERFLEET_HEALTH_PORT
    #[arg(
        long = "health-port",
        env = "HYPERFLEET_HEALTH_PORT",
        default_value_t = 8080,
        hide_env = true
    )]
    pub health_port: u16,
    /// Port of the metrics server (/metrics). Env: HYPERFLEET_METRICS_PORT
    #[arg(
        long = "metrics-port",
        env = "HYPERFLEET_METRICS_PORT",
        default_value_t = 9090,
        hide_env = true
    )]
    pub metrics_port: u16,
    /// Time a client of the health and metrics ports has to send a request's headers, from
    /// connecting or from a request's first byte (Go duration). Env: HYPERFLEET_SERVER_READ_HEADER_TIMEOUT
    #[arg(
        long = "server-read-header-timeout",
        env = "HYPERFLEET_SERVER_READ_HEADER_TIMEOUT",
        default_value = "5s",
        value_parser = positive_duration,
        hide_env = true
    )]
    pub server_read_header_timeout: std::time::Duration,
    /// Time a kept-alive connection to the health and metrics ports may wait for its next
    /// request (Go duration). Env: HYPERFLEET_SERVER_IDLE_TIMEOUT
    #[arg(
        long = "server-idle-timeout",
        env = "HYPERFLEET_SERVER_IDLE_TIMEOUT",
        default_value = "60s",
        value_parser = positive_duration,
        hide_env = true
    )]
    pub server_idle_timeout: std::time::Duration,
    /// Open connections allowed on each of the health and metrics ports. Env: HYPERFLEET_SERVER_MAX_CONNECTIONS
    #[arg(
        long = "server-max-connections",
        env = "HYPERFLEET_SERVER_MAX_CONNECTIONS",
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(1..),
        hide_env = true
    )]
    pub server_max_connections: u32,
    /// Seconds in-flight events may take to finish after SIGTERM. Env: HYPERFLEET_SHUTDOWN_TIMEOUT
    #[arg(
        long = "shutdown-timeout",
        env = "HYPERFLEET_SHUTDOWN_TIMEOUT",
        default_value_t = 30,
        hide_env = true
    )]
    pub shutdown_timeout: u64,
    /// Largest message accepted, in bytes; larger ones are rejected (dead-lettered where the
    /// broker has a target) with a log line naming the size. Env: HYPERFLEET_MAX_EVENT_BYTES
    #[arg(
        long = "max-event-bytes",
        env = "HYPERFLEET_MAX_EVENT_BYTES",
        default_value_t = crate::service::serve::DEFAULT_MAX_EVENT_BYTES,
        hide_env = true
    )]
    pub max_event_bytes: usize,
    /// Acknowledge without running an event (UUIDv7 id) that a completed reconcile of its
    /// resource already covered: published before that reconcile started, and no newer than
    /// the event it ran. `false` runs every event. Env: HYPERFLEET_STALE_EVENT_SKIP
    #[arg(
        long = "stale-event-skip",
        env = "HYPERFLEET_STALE_EVENT_SKIP",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_name = "BOOL",
        hide_env = true
    )]
    pub stale_event_skip: bool,
}

impl ServeArgs {
    /// Whether the `--dry-run-*` flags ask for a dry run instead of the service.
    pub fn is_dry_run(&self) -> bool {
        !self.dry_run_event.is_empty() || !self.dry_run_api_responses.is_empty()
    }

    /// The connection bounds of the health and metrics ports.
    pub fn conn_limits(&self) -> ConnLimits {
        ConnLimits {
            header_read_timeout: self.server_read_header_timeout,
            idle_timeout: self.server_idle_timeout,
            max_connections: self.server_max_connections as usize,
        }
    }
}

/// The dry run's options from the `--dry-run-*` flags (an empty path is no file).
impl From<&ServeArgs> for dryrun::Options {
    fn from(args: &ServeArgs) -> Self {
        let path = |p: &str| (!p.is_empty()).then(|| PathBuf::from(p));
        dryrun::Options {
            event: PathBuf::from(&args.dry_run_event),
            api_responses: path(&args.dry_run_api_responses),
            discovery: path(&args.dry_run_discovery),
            time: args.dry_run_time,
            verbose: args.dry_run_verbose,
            json: args.dry_run_output == "json",
        }
    }
}

/// A flag value clap refused; the message follows clap's `invalid value ... for ...: ` prefix.
/// Clap shows only this message (not a `source()` chain), so each carries its cause's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    #[error("must be greater than zero, got {0:?}")]
    NotPositive(String),
    /// The Go duration parser's message (it reports a message only).
    #[error("{0}")]
    Duration(String),
    #[error("{text:?} is not an RFC 3339 time such as 2026-01-01T00:00:00Z: {source}")]
    Time {
        text: String,
        source: chrono::ParseError,
    },
}

/// A Go duration greater than zero.
fn positive_duration(s: &str) -> Result<std::time::Duration, FlagError> {
    match GoDuration::parse(s) {
        Ok(d) if d.0 > 0 => Ok(d.to_std()),
        Ok(_) => Err(FlagError::NotPositive(s.to_string())),
        Err(e) => Err(FlagError::Duration(e.to_string())),
    }
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Treat warnings as errors
    #[arg(long)]
    pub strict: bool,
}

/// A flag that overrides one adapter-config path; `None` when not given on the command line.
macro_rules! override_flags {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty = $long:literal => $path:literal ),* $(,)?) => {
        /// The config flags shared by `serve`, `config-dump` and `validate`.
        #[derive(Debug, Args, Default)]
        pub struct ConfigArgs {
            /// Path to the adapter (deployment) config file. Env: HYPERFLEET_ADAPTER_CONFIG
            #[arg(short = 'c', long = "config", env = "HYPERFLEET_ADAPTER_CONFIG", hide_env = true)]
            pub config: Option<PathBuf>,
            /// Path to the task config file. Env: HYPERFLEET_TASK_CONFIG
            #[arg(short = 't', long = "task-config", env = "HYPERFLEET_TASK_CONFIG", hide_env = true)]
            pub task_config: Option<PathBuf>,
            $( $(#[$doc])* #[arg(long = $long)] pub $field: Option<$ty>, )*
        }

        impl ConfigArgs {
            /// The flags that were given, as `(config path, text)` for the layering.
            pub fn overrides(&self) -> Vec<(String, String)> {
                let mut out = Vec::new();
                $( if let Some(v) = &self.$field { out.push(($path.to_string(), v.to_string())); } )*
                out
            }
        }
    };
}

override_flags! {
    /// Log the merged config at startup and serve it on /config. Env: HYPERFLEET_DEBUG_CONFIG
    #[arg(num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    debug_config: String = "debug-config" => "debug_config",
    /// Log level (debug, info, warn, error). Env: LOG_LEVEL
    log_level: String = "log-level" => "log.level",
    /// Log format (json, text). Env: LOG_FORMAT
    log_format: String = "log-format" => "log.format",
    /// Log output (stdout, stderr). Env: LOG_OUTPUT
    log_output: String = "log-output" => "log.output",
    /// Maestro gRPC server address. Env: HYPERFLEET_MAESTRO_GRPC_SERVER_ADDRESS
    maestro_grpc_server_address: String = "maestro-grpc-server-address" => "clients.maestro.grpc_server_address",
    /// Maestro HTTP server address. Env: HYPERFLEET_MAESTRO_HTTP_SERVER_ADDRESS
    maestro_http_server_address: String = "maestro-http-server-address" => "clients.maestro.http_server_address",
    /// Maestro source ID. Env: HYPERFLEET_MAESTRO_SOURCE_ID
    maestro_source_id: String = "maestro-source-id" => "clients.maestro.source_id",
    /// Maestro client ID. Env: HYPERFLEET_MAESTRO_CLIENT_ID
    maestro_client_id: String = "maestro-client-id" => "clients.maestro.client_id",
    /// Maestro auth type (tls, none). Env: HYPERFLEET_MAESTRO_AUTH_TYPE
    maestro_auth_type: String = "maestro-auth-type" => "clients.maestro.auth.type",
    /// Maestro gRPC CA certificate file. Env: HYPERFLEET_MAESTRO_CA_FILE
    maestro_ca_file: String = "maestro-ca-file" => "clients.maestro.auth.tls_config.ca_file",
    /// Maestro gRPC client certificate file. Env: HYPERFLEET_MAESTRO_CERT_FILE
    maestro_cert_file: String = "maestro-cert-file" => "clients.maestro.auth.tls_config.cert_file",
    /// Maestro gRPC client key file. Env: HYPERFLEET_MAESTRO_KEY_FILE
    maestro_key_file: String = "maestro-key-file" => "clients.maestro.auth.tls_config.key_file",
    /// Maestro HTTP API CA certificate file. Env: HYPERFLEET_MAESTRO_HTTP_CA_FILE
    maestro_http_ca_file: String = "maestro-http-ca-file" => "clients.maestro.auth.tls_config.http_ca_file",
    /// Maestro bearer token file. Env: HYPERFLEET_MAESTRO_TOKEN_FILE
    maestro_token_file: String = "maestro-token-file" => "clients.maestro.auth.tls_config.token_file",
    /// Maestro HTTP timeout (e.g. 10s). Env: HYPERFLEET_MAESTRO_TIMEOUT
    maestro_timeout: String = "maestro-timeout" => "clients.maestro.timeout",
    /// Maestro server healthiness timeout. Env: HYPERFLEET_MAESTRO_SERVER_HEALTHINESS_TIMEOUT
    maestro_server_healthiness_timeout: String = "maestro-server-healthiness-timeout" => "clients.maestro.server_healthiness_timeout",
    /// Maestro retry attempts. Env: HYPERFLEET_MAESTRO_RETRY_ATTEMPTS
    maestro_retry_attempts: i64 = "maestro-retry-attempts" => "clients.maestro.retry_attempts",
    /// Maestro keepalive time. Env: HYPERFLEET_MAESTRO_KEEPALIVE_TIME
    maestro_keepalive_time: String = "maestro-keepalive-time" => "clients.maestro.keepalive.time",
    /// Maestro keepalive timeout. Env: HYPERFLEET_MAESTRO_KEEPALIVE_TIMEOUT
    maestro_keepalive_timeout: String = "maestro-keepalive-timeout" => "clients.maestro.keepalive.timeout",
    /// Use insecure connections to Maestro. Env: HYPERFLEET_MAESTRO_INSECURE
    #[arg(num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    maestro_insecure: String = "maestro-insecure" => "clients.maestro.insecure",
    /// HyperFleet API base URL. Env: HYPERFLEET_API_BASE_URL
    hyperfleet_api_base_url: String = "hyperfleet-api-base-url" => "clients.hyperfleet_api.base_url",
    /// HyperFleet API version. Env: HYPERFLEET_API_VERSION
    hyperfleet_api_version: String = "hyperfleet-api-version" => "clients.hyperfleet_api.version",
    /// HyperFleet API timeout (e.g. 10s). Env: HYPERFLEET_API_TIMEOUT
    hyperfleet_api_timeout: String = "hyperfleet-api-timeout" => "clients.hyperfleet_api.timeout",
    /// HyperFleet API retry attempts. Env: HYPERFLEET_API_RETRY_ATTEMPTS
    hyperfleet_api_retry: i64 = "hyperfleet-api-retry" => "clients.hyperfleet_api.retry_attempts",
    /// HyperFleet API retry backoff (exponential, linear, constant). Env: HYPERFLEET_API_RETRY_BACKOFF
    hyperfleet_api_retry_backoff: String = "hyperfleet-api-retry-backoff" => "clients.hyperfleet_api.retry_backoff",
    /// HyperFleet API retry base delay. Env: HYPERFLEET_API_BASE_DELAY
    hyperfleet_api_base_delay: String = "hyperfleet-api-base-delay" => "clients.hyperfleet_api.base_delay",
    /// HyperFleet API retry max delay. Env: HYPERFLEET_API_MAX_DELAY
    hyperfleet_api_max_delay: String = "hyperfleet-api-max-delay" => "clients.hyperfleet_api.max_delay",
    /// Largest HyperFleet API response body in bytes (default 10485760). Env: HYPERFLEET_API_MAX_RESPONSE_BYTES
    hyperfleet_api_max_response_bytes: i64 = "hyperfleet-api-max-response-bytes" => "clients.hyperfleet_api.max_response_bytes",
    /// Broker subscription ID. Env: HYPERFLEET_BROKER_SUBSCRIPTION_ID
    broker_subscription_id: String = "broker-subscription-id" => "clients.broker.subscription_id",
    /// Broker topic. Env: HYPERFLEET_BROKER_TOPIC
    broker_topic: String = "broker-topic" => "clients.broker.topic",
    /// Path to a kubeconfig file. Env: HYPERFLEET_KUBERNETES_KUBE_CONFIG_PATH
    kubernetes_kube_config_path: String = "kubernetes-kube-config-path" => "clients.kubernetes.kube_config_path",
    /// Kubernetes API version. Env: HYPERFLEET_KUBERNETES_API_VERSION
    kubernetes_api_version: String = "kubernetes-api-version" => "clients.kubernetes.api_version",
    /// Kubernetes client QPS. Env: HYPERFLEET_KUBERNETES_QPS
    kubernetes_qps: f64 = "kubernetes-qps" => "clients.kubernetes.qps",
    /// Kubernetes client burst. Env: HYPERFLEET_KUBERNETES_BURST
    kubernetes_burst: i64 = "kubernetes-burst" => "clients.kubernetes.burst",
    /// Kubernetes request timeout per attempt (default 30s). Env: HYPERFLEET_KUBERNETES_TIMEOUT
    kubernetes_timeout: String = "kubernetes-timeout" => "clients.kubernetes.timeout",
    /// Kubernetes request attempts for transient failures (default 3). Env: HYPERFLEET_KUBERNETES_RETRY_ATTEMPTS
    kubernetes_retry_attempts: i64 = "kubernetes-retry-attempts" => "clients.kubernetes.retry_attempts",
    /// How long recreate_on_change waits for the old object (default 60s). Env: HYPERFLEET_KUBERNETES_RECREATE_TIMEOUT
    kubernetes_recreate_timeout: String = "kubernetes-recreate-timeout" => "clients.kubernetes.recreate_timeout",
}

/// An RFC 3339 time for `--dry-run-time`.
fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, FlagError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|source| FlagError::Time {
            text: s.to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn serve_args(extra: &[&str]) -> Result<ServeArgs, clap::Error> {
        let mut argv = vec!["adapter", "serve"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv)?.command {
            Command::Serve(args) => Ok(args),
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn server_connection_bounds_default_and_parse() {
        assert_eq!(
            serve_args(&[]).unwrap().conn_limits(),
            ConnLimits::default()
        );
        let l = serve_args(&[
            "--server-read-header-timeout=1500ms",
            "--server-idle-timeout=2m",
            "--server-max-connections=7",
        ])
        .unwrap()
        .conn_limits();
        assert_eq!(
            (l.header_read_timeout, l.idle_timeout, l.max_connections),
            (Duration::from_millis(1500), Duration::from_secs(120), 7)
        );
        for bad in [
            "--server-idle-timeout=0s",
            "--server-read-header-timeout=soon",
            "--server-max-connections=0",
        ] {
            assert!(serve_args(&[bad]).is_err(), "{bad} accepted");
        }
        let e = serve_args(&["--server-idle-timeout=0s"]).unwrap_err();
        assert!(
            e.to_string()
                .contains("must be greater than zero, got \"0s\""),
            "{e}"
        );
    }
}
