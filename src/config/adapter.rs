//! The adapter (deployment) config file: its schema, defaults, validation and the redacted
//! form printed by `config-dump` and served on `/config`.

use crate::config::schema::{
    self as sch, absolute_path, go_duration_or_empty, non_blank_text, one_of, one_of_ci,
};
use crate::golang::GoDuration;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The adapter (deployment) config (`--config`): flat snake_case YAML. Environment variables and
/// command-line flags override its values (see docs/configuration.md).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "AdapterConfig")]
#[schemars(
    title = "HyperFleet Adapter config",
    transform = sch::Require(&["adapter"])
)]
pub struct AdapterConfig {
    /// Who the adapter is.
    #[serde(default)]
    pub adapter: AdapterInfo,
    /// Log the merged, redacted config at startup and serve it on the health port's `/config`.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    pub debug_config: bool,
    /// Logging; `LOG_LEVEL`, `LOG_FORMAT` and `LOG_OUTPUT` override it.
    #[serde(default)]
    pub log: LogConfig,
    /// The outside systems: the HyperFleet API, the broker subscription, Kubernetes, Maestro.
    #[serde(default)]
    pub clients: ClientsConfig,
}

/// The adapter's identity.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "AdapterInfo")]
#[schemars(transform = sch::Require(&["name"]))]
pub struct AdapterInfo {
    /// The adapter's name: the log component, the metrics `component` label, the default
    /// OpenTelemetry service name and `{{ .adapter.name }}` in templates.
    #[serde(default)]
    #[schemars(schema_with = "non_blank_text", extend("examples" = ["cl-namespace"]))]
    pub name: String,
    /// The config's version. When set (and semver), its major.minor must match the binary's;
    /// development builds (`0.0.0-*`) skip the check.
    #[serde(default)]
    #[schemars(extend("examples" = ["0.2.0"]))]
    pub version: String,
}

/// Logging of the adapter process.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "LogConfig")]
pub struct LogConfig {
    /// The most verbose level logged (case-insensitive). Any other value logs at `info`, as in
    /// the Go adapter. Env: `LOG_LEVEL`.
    #[serde(default)]
    #[schemars(extend("default" = "info", "examples" = ["debug", "info", "warn", "error"]))]
    pub level: String,
    /// The line format (case-insensitive); any other value is refused at load. Env: `LOG_FORMAT`.
    #[serde(default)]
    #[schemars(schema_with = "log_formats", extend("default" = "json"))]
    pub format: String,
    /// Where log lines go; any other value is refused at load. Env: `LOG_OUTPUT`.
    #[serde(default)]
    #[schemars(schema_with = "log_outputs", extend("default" = "stdout"))]
    pub output: String,
}

fn log_formats(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    one_of_ci(&["json", "text"])
}

fn log_outputs(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    one_of(&["stdout", "stderr"])
}

/// The clients of the outside systems.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "ClientsConfig")]
pub struct ClientsConfig {
    /// The HyperFleet API client (params, preconditions and status reports call it).
    #[serde(default)]
    pub hyperfleet_api: HyperfleetApiConfig,
    /// The broker subscription. How to reach the broker is in `broker.yaml`.
    #[serde(default)]
    pub broker: BrokerClientConfig,
    /// The Kubernetes client (the transport when `maestro` is absent).
    #[serde(default)]
    pub kubernetes: KubernetesConfig,
    /// Present (even empty) ⇒ Maestro is configured: every resource goes through Maestro.
    #[serde(default)]
    pub maestro: Option<MaestroConfig>,
}

/// The HyperFleet API client.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "HyperfleetApiConfig")]
pub struct HyperfleetApiConfig {
    /// The API's base URL; relative `api_call` URLs are joined to it. Needed by `serve`.
    /// Env: `HYPERFLEET_API_BASE_URL`.
    #[serde(default)]
    #[schemars(extend("examples" = ["http://hyperfleet-api:8000"]))]
    pub base_url: String,
    /// The API version prefixed to relative URLs (`/api/hyperfleet/<version>/...`).
    /// Env: `HYPERFLEET_API_VERSION`.
    #[serde(default)]
    #[schemars(extend("default" = "v1"))]
    pub version: String,
    /// Timeout of one request (0: the default). Env: `HYPERFLEET_API_TIMEOUT`.
    #[serde(default)]
    #[schemars(extend("default" = DEFAULT_API_TIMEOUT.to_string()))]
    pub timeout: GoDuration,
    /// Attempts per call in all (0 or less: the default). Env: `HYPERFLEET_API_RETRY_ATTEMPTS`.
    #[serde(default)]
    #[schemars(extend("default" = DEFAULT_API_RETRY_ATTEMPTS))]
    pub retry_attempts: i64,
    /// How the delay between attempts grows. Env: `HYPERFLEET_API_RETRY_BACKOFF`.
    #[serde(default)]
    #[schemars(schema_with = "backoffs", extend("default" = "exponential"))]
    pub retry_backoff: String,
    /// The first retry delay. Env: `HYPERFLEET_API_BASE_DELAY`.
    #[serde(default)]
    #[schemars(extend("default" = DEFAULT_API_BASE_DELAY.to_string()))]
    pub base_delay: GoDuration,
    /// The longest retry delay. Env: `HYPERFLEET_API_MAX_DELAY`.
    #[serde(default)]
    #[schemars(extend("default" = DEFAULT_API_MAX_DELAY.to_string()))]
    pub max_delay: GoDuration,
    /// Headers added to every request.
    #[serde(default)]
    #[schemars(extend("examples" = [{"X-Team": "fleet"}]))]
    pub default_headers: BTreeMap<String, String>,
    /// Bearer-token authentication; when present, `token_path` is required.
    #[serde(default)]
    pub auth: Option<ApiAuthConfig>,
    /// Largest response body accepted, in bytes (0: [`DEFAULT_API_MAX_RESPONSE_BYTES`]). Not in
    /// the Go adapter, which reads any size. Env: `HYPERFLEET_API_MAX_RESPONSE_BYTES`.
    #[serde(default)]
    #[schemars(range(min = 0), extend("default" = DEFAULT_API_MAX_RESPONSE_BYTES))]
    pub max_response_bytes: i64,
}

fn backoffs(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    one_of(crate::retry::Backoff::NAMES)
}

/// Bearer-token authentication to the HyperFleet API.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "ApiAuthConfig")]
#[schemars(transform = sch::Require(&["token_path"]))]
pub struct ApiAuthConfig {
    /// Absolute path of the file holding the bearer token. Env: `HYPERFLEET_API_AUTH_TOKEN_PATH`.
    #[serde(default)]
    #[schemars(schema_with = "absolute_path", extend("examples" = ["/var/run/secrets/hyperfleet/token"]))]
    pub token_path: String,
    /// How long a read token is reused (0: re-read the file on every request); not negative.
    /// Env: `HYPERFLEET_API_AUTH_TOKEN_CACHE_TTL`.
    #[serde(default)]
    #[schemars(extend("default" = "0s"))]
    pub token_cache_ttl: GoDuration,
}

/// The broker subscription (the broker connection is in `broker.yaml`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "BrokerClientConfig")]
pub struct BrokerClientConfig {
    /// The subscription: the RabbitMQ queue suffix or the Pub/Sub subscription name. Needed by
    /// `serve`. Env: `HYPERFLEET_BROKER_SUBSCRIPTION_ID` (legacy `BROKER_SUBSCRIPTION_ID`).
    #[serde(default)]
    #[schemars(extend("examples" = ["cl-namespace-adapter"]))]
    pub subscription_id: String,
    /// The topic events arrive on. Needed by `serve`. Env: `HYPERFLEET_BROKER_TOPIC` (legacy
    /// `BROKER_TOPIC`).
    #[serde(default)]
    #[schemars(extend("examples" = ["clusters"]))]
    pub topic: String,
}

/// The Kubernetes client.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "KubernetesConfig")]
pub struct KubernetesConfig {
    /// Read and printed, never used (as in the Go adapter).
    #[serde(default)]
    pub api_version: String,
    /// A kubeconfig file; empty: `$KUBECONFIG`, else the in-cluster config.
    #[serde(default)]
    pub kube_config_path: String,
    /// Client-side request rate limit per second (0: 100).
    #[serde(default)]
    #[schemars(extend("default" = 100))]
    pub qps: f64,
    /// Requests allowed above `qps` in a burst (0: 200).
    #[serde(default)]
    #[schemars(extend("default" = 200))]
    pub burst: i64,
    /// Per-request timeout (one attempt). Not in the Go adapter; default 30s.
    #[serde(default)]
    #[schemars(extend("default" = "30s"))]
    pub timeout: GoDuration,
    /// Attempts per request for transient failures (timeouts, 429, 5xx, connection errors).
    /// Not in the Go adapter; default 3.
    #[serde(default)]
    #[schemars(extend("default" = 3))]
    pub retry_attempts: i64,
    /// How long `recreate` waits for the old object to disappear. Not in the Go adapter (which
    /// can wait forever); default 60s.
    #[serde(default)]
    #[schemars(extend("default" = "60s"))]
    pub recreate_timeout: GoDuration,
}

/// The Maestro client: ManifestWorks over Maestro's CloudEvents gRPC service and REST API.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "MaestroConfig")]
pub struct MaestroConfig {
    /// Maestro's gRPC address (`host:port`). Env: `HYPERFLEET_MAESTRO_GRPC_SERVER_ADDRESS`.
    #[serde(default)]
    #[schemars(extend("examples" = ["maestro-grpc.maestro:8090"]))]
    pub grpc_server_address: String,
    /// Maestro's REST API URL. Env: `HYPERFLEET_MAESTRO_HTTP_SERVER_ADDRESS`.
    #[serde(default)]
    #[schemars(extend("examples" = ["https://maestro.maestro:8000"]))]
    pub http_server_address: String,
    /// The CloudEvents source the adapter publishes as. Env: `HYPERFLEET_MAESTRO_SOURCE_ID`.
    #[serde(default)]
    #[schemars(extend("examples" = ["hyperfleet-adapter"]))]
    pub source_id: String,
    /// The gRPC client ID. Env: `HYPERFLEET_MAESTRO_CLIENT_ID`.
    #[serde(default)]
    pub client_id: String,
    /// Timeout of one REST request (empty or 0: 10s). Env: `HYPERFLEET_MAESTRO_TIMEOUT`.
    #[serde(default)]
    #[schemars(schema_with = "go_duration_or_empty", extend("default" = "10s"))]
    pub timeout: String,
    /// Reconnect when no heartbeat arrives within this (empty or 0: 20s).
    /// Env: `HYPERFLEET_MAESTRO_SERVER_HEALTHINESS_TIMEOUT`.
    #[serde(default)]
    #[schemars(schema_with = "go_duration_or_empty", extend("default" = "20s"))]
    pub server_healthiness_timeout: String,
    /// Publish attempts in all (0 or less: 3). Env: `HYPERFLEET_MAESTRO_RETRY_ATTEMPTS`.
    #[serde(default)]
    #[schemars(extend("default" = 3))]
    pub retry_attempts: i64,
    /// gRPC keepalive: read and printed by `config-dump`, not used by the client.
    #[serde(default)]
    pub keepalive: Option<KeepaliveConfig>,
    /// Plaintext gRPC and no CA check. Env: `HYPERFLEET_MAESTRO_INSECURE`.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    pub insecure: bool,
    /// Credentials for Maestro.
    #[serde(default)]
    pub auth: MaestroAuthConfig,
}

/// gRPC keepalive settings (Go duration text).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "KeepaliveConfig")]
pub struct KeepaliveConfig {
    /// Ping interval. Env: `HYPERFLEET_MAESTRO_KEEPALIVE_TIME`.
    #[serde(default)]
    pub time: String,
    /// Ping answer timeout. Env: `HYPERFLEET_MAESTRO_KEEPALIVE_TIMEOUT`.
    #[serde(default)]
    pub timeout: String,
}

/// Credentials for Maestro.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "MaestroAuthConfig")]
pub struct MaestroAuthConfig {
    /// The auth type (`tls`, `none`): read and printed by `config-dump`; TLS is used unless
    /// `insecure` is set.
    /// Env: `HYPERFLEET_MAESTRO_AUTH_TYPE`.
    #[serde(default, rename = "type")]
    #[schemars(extend("examples" = ["tls", "none"]))]
    pub kind: String,
    /// Certificate and token files.
    #[serde(default)]
    pub tls_config: Option<TlsConfig>,
}

/// Certificate and token files for Maestro (printed as `**REDACTED**`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename = "TlsConfig")]
pub struct TlsConfig {
    /// CA certificate (PEM) of the gRPC server. Env: `HYPERFLEET_MAESTRO_CA_FILE`.
    #[serde(default)]
    pub ca_file: String,
    /// Client certificate (PEM) for mutual TLS. Env: `HYPERFLEET_MAESTRO_CERT_FILE`.
    #[serde(default)]
    pub cert_file: String,
    /// Client key (PEM) for mutual TLS. Env: `HYPERFLEET_MAESTRO_KEY_FILE`.
    #[serde(default)]
    pub key_file: String,
    /// CA certificate (PEM) of the REST API (default: `ca_file`).
    /// Env: `HYPERFLEET_MAESTRO_HTTP_CA_FILE`.
    #[serde(default)]
    pub http_ca_file: String,
    /// Bearer token file for Maestro's REST and gRPC APIs (the Go adapter had no way to set it).
    /// Env: `HYPERFLEET_MAESTRO_TOKEN_FILE`.
    #[serde(default)]
    pub token_file: String,
}

/// The placeholder printed instead of secrets and credential paths.
pub use crate::redact::REDACTED;

/// Effective HyperFleet API settings after defaults (what the client uses).
pub const DEFAULT_API_TIMEOUT: GoDuration = GoDuration::from_secs(10);
pub const DEFAULT_API_RETRY_ATTEMPTS: i64 = 3;
pub const DEFAULT_API_BASE_DELAY: GoDuration = GoDuration::from_secs(1);
pub const DEFAULT_API_MAX_DELAY: GoDuration = GoDuration::from_secs(30);
/// 10 MiB: a cluster or nodepool object with its status conditions is a few KiB, a list page
/// a few hundred KiB, so this leaves two orders of magnitude of room while keeping four
/// concurrent oversized answers (the parsed JSON costs several times the text) far below a
/// pod's memory limit.
pub const DEFAULT_API_MAX_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;

impl HyperfleetApiConfig {
    pub fn effective_timeout(&self) -> GoDuration {
        if self.timeout.0 <= 0 {
            DEFAULT_API_TIMEOUT
        } else {
            self.timeout
        }
    }

    pub fn effective_retry_attempts(&self) -> i64 {
        if self.retry_attempts <= 0 {
            DEFAULT_API_RETRY_ATTEMPTS
        } else {
            self.retry_attempts
        }
    }

    pub fn effective_max_response_bytes(&self) -> u64 {
        if self.max_response_bytes <= 0 {
            DEFAULT_API_MAX_RESPONSE_BYTES
        } else {
            self.max_response_bytes as u64
        }
    }

    pub fn effective_version(&self) -> &str {
        if self.version.is_empty() {
            "v1"
        } else {
            &self.version
        }
    }
}

impl AdapterConfig {
    /// Checks what the Go adapter checks at load (§2.3), plus the log settings it only checked
    /// when building the logger. Returns every problem as `(path, message)`.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut errs = Vec::new();
        if self.adapter.name.trim().is_empty() {
            errs.push(("adapter.name".into(), "adapter.name is required".into()));
        }
        if let Some(auth) = &self.clients.hyperfleet_api.auth {
            let p = "clients.hyperfleet_api.auth";
            if auth.token_path.is_empty() {
                errs.push((
                    format!("{p}.token_path"),
                    format!("{p}.token_path must be set when auth is configured"),
                ));
            } else if !auth.token_path.starts_with('/') {
                errs.push((
                    format!("{p}.token_path"),
                    format!(
                        "{p}.token_path must be an absolute path, got {:?}",
                        auth.token_path
                    ),
                ));
            }
            if auth.token_cache_ttl.is_negative() {
                errs.push((
                    format!("{p}.token_cache_ttl"),
                    format!("{p}.token_cache_ttl must not be negative"),
                ));
            }
        }
        if self.clients.hyperfleet_api.max_response_bytes < 0 {
            errs.push((
                "clients.hyperfleet_api.max_response_bytes".into(),
                "clients.hyperfleet_api.max_response_bytes must not be negative".into(),
            ));
        }
        let backoff = self.clients.hyperfleet_api.retry_backoff.as_str();
        if let Err(e) = crate::retry::Backoff::parse(backoff)
            && !backoff.is_empty()
        {
            errs.push(("clients.hyperfleet_api.retry_backoff".into(), e.to_string()));
        }
        let format = self.log.format.to_lowercase();
        if !matches!(format.as_str(), "" | "json" | "text") {
            errs.push((
                "log.format".into(),
                format!(
                    "invalid log format {:?} (supported: json, text)",
                    self.log.format
                ),
            ));
        }
        if !matches!(self.log.output.as_str(), "" | "stdout" | "stderr") {
            errs.push((
                "log.output".into(),
                format!(
                    "invalid log output {:?} (supported: stdout, stderr)",
                    self.log.output
                ),
            ));
        }
        errs
    }

    /// A copy with credential paths replaced by [`REDACTED`] and URL passwords by `***`.
    pub fn redacted(&self) -> AdapterConfig {
        let mut c = self.clone();
        if let Some(tls) = c
            .clients
            .maestro
            .as_mut()
            .and_then(|m| m.auth.tls_config.as_mut())
        {
            for f in [
                &mut tls.ca_file,
                &mut tls.cert_file,
                &mut tls.key_file,
                &mut tls.http_ca_file,
                &mut tls.token_file,
            ] {
                if !f.is_empty() {
                    *f = REDACTED.to_string();
                }
            }
        }
        if let Some(auth) = c.clients.hyperfleet_api.auth.as_mut()
            && !auth.token_path.is_empty()
        {
            auth.token_path = REDACTED.to_string();
        }
        let api = &mut c.clients.hyperfleet_api;
        api.base_url = crate::redact::redact_urls(&api.base_url).into_owned();
        if let Some(m) = c.clients.maestro.as_mut() {
            for a in [&mut m.grpc_server_address, &mut m.http_server_address] {
                *a = crate::redact::redact_urls(a).into_owned();
            }
        }
        c
    }

    /// The config as an ordered map in the Go adapter's `config-dump` key order and omit rules.
    pub fn to_dump_value(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let log = &self.log;
        let mut log_map = Map::new();
        put_nonempty(&mut log_map, "level", &log.level);
        put_nonempty(&mut log_map, "format", &log.format);
        put_nonempty(&mut log_map, "output", &log.output);
        if !log_map.is_empty() {
            m.insert("log".into(), Value::Object(log_map));
        }
        let mut adapter = Map::new();
        adapter.insert("name".into(), json!(self.adapter.name));
        put_nonempty(&mut adapter, "version", &self.adapter.version);
        m.insert("adapter".into(), Value::Object(adapter));
        m.insert(
            "clients".into(),
            Value::Object(self.clients.to_dump_value()),
        );
        if self.debug_config {
            m.insert("debug_config".into(), Value::Bool(true));
        }
        m
    }

    /// The config as a map keyed by YAML names, UNREDACTED (for `config.*` param sources).
    pub fn to_param_value(&self) -> Value {
        let mut v = Value::Object(self.to_dump_value());
        if let Value::Object(m) = &mut v {
            m.entry("log").or_insert_with(|| json!({"level": self.log.level, "format": self.log.format, "output": self.log.output}));
            m.insert("debug_config".into(), Value::Bool(self.debug_config));
        }
        v
    }
}

fn put_nonempty(m: &mut Map<String, Value>, k: &str, v: &str) {
    if !v.is_empty() {
        m.insert(k.into(), Value::String(v.to_string()));
    }
}

impl ClientsConfig {
    fn to_dump_value(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some(maestro) = &self.maestro {
            m.insert("maestro".into(), Value::Object(maestro.to_dump_value()));
        }
        let b = &self.broker;
        if !b.subscription_id.is_empty() || !b.topic.is_empty() {
            let mut bm = Map::new();
            put_nonempty(&mut bm, "subscription_id", &b.subscription_id);
            put_nonempty(&mut bm, "topic", &b.topic);
            m.insert("broker".into(), Value::Object(bm));
        }
        let k = &self.kubernetes;
        let mut km = Map::new();
        km.insert("api_version".into(), json!(k.api_version));
        put_nonempty(&mut km, "kube_config_path", &k.kube_config_path);
        if k.qps != 0.0 {
            km.insert("qps".into(), json!(k.qps));
        }
        if k.burst != 0 {
            km.insert("burst".into(), json!(k.burst));
        }
        for (key, d) in [
            ("timeout", &k.timeout),
            ("recreate_timeout", &k.recreate_timeout),
        ] {
            if !d.is_zero() {
                km.insert(key.into(), json!(d.to_string()));
            }
        }
        if k.retry_attempts != 0 {
            km.insert("retry_attempts".into(), json!(k.retry_attempts));
        }
        m.insert("kubernetes".into(), Value::Object(km));
        m.insert(
            "hyperfleet_api".into(),
            Value::Object(self.hyperfleet_api.to_dump_value()),
        );
        m
    }
}

impl HyperfleetApiConfig {
    fn to_dump_value(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if !self.default_headers.is_empty() {
            m.insert("default_headers".into(), json!(self.default_headers));
        }
        if let Some(auth) = &self.auth {
            let mut a = Map::new();
            put_nonempty(&mut a, "token_path", &auth.token_path);
            if !auth.token_cache_ttl.is_zero() {
                a.insert(
                    "token_cache_ttl".into(),
                    json!(auth.token_cache_ttl.to_string()),
                );
            }
            m.insert("auth".into(), Value::Object(a));
        }
        m.insert("base_url".into(), json!(self.base_url));
        m.insert("version".into(), json!(self.version));
        m.insert("retry_backoff".into(), json!(self.retry_backoff));
        m.insert("timeout".into(), json!(self.timeout.to_string()));
        m.insert("base_delay".into(), json!(self.base_delay.to_string()));
        m.insert("max_delay".into(), json!(self.max_delay.to_string()));
        m.insert("retry_attempts".into(), json!(self.retry_attempts));
        // Only when set, so dumps of Go-compatible configs stay byte-identical.
        if self.max_response_bytes != 0 {
            m.insert("max_response_bytes".into(), json!(self.max_response_bytes));
        }
        m
    }
}

impl MaestroConfig {
    fn to_dump_value(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "grpc_server_address".into(),
            json!(self.grpc_server_address),
        );
        m.insert(
            "http_server_address".into(),
            json!(self.http_server_address),
        );
        m.insert("source_id".into(), json!(self.source_id));
        m.insert("client_id".into(), json!(self.client_id));
        m.insert("timeout".into(), json!(self.timeout));
        put_nonempty(
            &mut m,
            "server_healthiness_timeout",
            &self.server_healthiness_timeout,
        );
        if let Some(k) = &self.keepalive {
            let mut km = Map::new();
            put_nonempty(&mut km, "time", &k.time);
            put_nonempty(&mut km, "timeout", &k.timeout);
            m.insert("keepalive".into(), Value::Object(km));
        }
        let mut auth = Map::new();
        if let Some(tls) = &self.auth.tls_config {
            let mut t = Map::new();
            put_nonempty(&mut t, "ca_file", &tls.ca_file);
            put_nonempty(&mut t, "cert_file", &tls.cert_file);
            put_nonempty(&mut t, "key_file", &tls.key_file);
            put_nonempty(&mut t, "http_ca_file", &tls.http_ca_file);
            put_nonempty(&mut t, "token_file", &tls.token_file);
            auth.insert("tls_config".into(), Value::Object(t));
        }
        auth.insert("type".into(), json!(self.auth.kind));
        m.insert("auth".into(), Value::Object(auth));
        m.insert("retry_attempts".into(), json!(self.retry_attempts));
        if self.insecure {
            m.insert("insecure".into(), Value::Bool(true));
        }
        m
    }
}
