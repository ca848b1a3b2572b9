//! The adapter (deployment) config file: its schema, defaults, validation and the redacted
//! form printed by `config-dump` and served on `/config`.

use crate::golang::GoDuration;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The whole deployment config (`--config`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "AdapterConfig")]
pub struct AdapterConfig {
    #[serde(default)]
    pub adapter: AdapterInfo,
    #[serde(default)]
    pub debug_config: bool,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub clients: ClientsConfig,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "AdapterInfo")]
pub struct AdapterInfo {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "LogConfig")]
pub struct LogConfig {
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub format: String,
    #[serde(default)]
    pub output: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "ClientsConfig")]
pub struct ClientsConfig {
    #[serde(default)]
    pub hyperfleet_api: HyperfleetApiConfig,
    #[serde(default)]
    pub broker: BrokerClientConfig,
    #[serde(default)]
    pub kubernetes: KubernetesConfig,
    /// Present (even empty) ⇒ Maestro is configured.
    #[serde(default)]
    pub maestro: Option<MaestroConfig>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "HyperfleetApiConfig")]
pub struct HyperfleetApiConfig {
    #[serde(default)]
    pub base_url: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub timeout: GoDuration,
    #[serde(default)]
    pub retry_attempts: i64,
    #[serde(default)]
    pub retry_backoff: String,
    #[serde(default)]
    pub base_delay: GoDuration,
    #[serde(default)]
    pub max_delay: GoDuration,
    #[serde(default)]
    pub default_headers: BTreeMap<String, String>,
    #[serde(default)]
    pub auth: Option<ApiAuthConfig>,
    /// Largest response body accepted, in bytes (0: [`DEFAULT_API_MAX_RESPONSE_BYTES`]). Not in
    /// the Go adapter, which reads any size.
    #[serde(default)]
    pub max_response_bytes: i64,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "ApiAuthConfig")]
pub struct ApiAuthConfig {
    #[serde(default)]
    pub token_path: String,
    #[serde(default)]
    pub token_cache_ttl: GoDuration,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "BrokerClientConfig")]
pub struct BrokerClientConfig {
    #[serde(default)]
    pub subscription_id: String,
    #[serde(default)]
    pub topic: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "KubernetesConfig")]
pub struct KubernetesConfig {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kube_config_path: String,
    #[serde(default)]
    pub qps: f64,
    #[serde(default)]
    pub burst: i64,
    /// Per-request timeout (one attempt). Not in the Go adapter; default 30s.
    #[serde(default)]
    pub timeout: GoDuration,
    /// Attempts per request for transient failures (timeouts, 429, 5xx, connection errors).
    /// Not in the Go adapter; default 3.
    #[serde(default)]
    pub retry_attempts: i64,
    /// How long `recreate` waits for the old object to disappear. Not in the Go adapter (which
    /// can wait forever); default 60s.
    #[serde(default)]
    pub recreate_timeout: GoDuration,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "MaestroConfig")]
pub struct MaestroConfig {
    #[serde(default)]
    pub grpc_server_address: String,
    #[serde(default)]
    pub http_server_address: String,
    #[serde(default)]
    pub source_id: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub timeout: String,
    #[serde(default)]
    pub server_healthiness_timeout: String,
    #[serde(default)]
    pub retry_attempts: i64,
    #[serde(default)]
    pub keepalive: Option<KeepaliveConfig>,
    #[serde(default)]
    pub insecure: bool,
    #[serde(default)]
    pub auth: MaestroAuthConfig,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "KeepaliveConfig")]
pub struct KeepaliveConfig {
    #[serde(default)]
    pub time: String,
    #[serde(default)]
    pub timeout: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "MaestroAuthConfig")]
pub struct MaestroAuthConfig {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub tls_config: Option<TlsConfig>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "TlsConfig")]
pub struct TlsConfig {
    #[serde(default)]
    pub ca_file: String,
    #[serde(default)]
    pub cert_file: String,
    #[serde(default)]
    pub key_file: String,
    #[serde(default)]
    pub http_ca_file: String,
    /// Bearer token file for Maestro's REST and gRPC APIs (the Go adapter had no way to set it).
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
