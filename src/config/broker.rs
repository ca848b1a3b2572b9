//! `broker.yaml`: the broker connection settings, which live apart from the adapter config (the
//! HyperFleet broker library's file, shared with the Sentinel).
//!
//! Found as the library finds it: `BROKER_CONFIG_FILE`, else `broker.yaml` beside the executable
//! (symlinks resolved), else `./broker.yaml`; no file at all is not an error (defaults and
//! environment). Every key can be overridden by the environment variable named after its path
//! (`broker.rabbitmq.url` → `BROKER_RABBITMQ_URL`, `subscriber.parallelism` →
//! `SUBSCRIBER_PARALLELISM`). Keys are case-insensitive. Unknown keys are reported as warnings,
//! not errors, so files written for other tools keep loading.

use super::amqp_url::AmqpUrl;
use super::broker_keys::{self as keys, IGNORED, KEYS, Key};
use super::env::{EnvSource, non_empty};
use super::problem::Problem;
use super::{ConfigError, GoDuration};
use crate::golang::parse_bool as parse_go_bool;
use crate::yaml::{self, Node, NodeKind};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerKind {
    RabbitMq,
    GooglePubSub,
}

impl BrokerKind {
    /// Every broker, in the order `broker.type` lists them.
    pub const ALL: [BrokerKind; 2] = [BrokerKind::RabbitMq, BrokerKind::GooglePubSub];

    pub fn as_str(&self) -> &'static str {
        match self {
            BrokerKind::RabbitMq => "rabbitmq",
            BrokerKind::GooglePubSub => "googlepubsub",
        }
    }

    /// The Cargo feature that builds this broker in.
    pub fn feature(&self) -> &'static str {
        match self {
            BrokerKind::RabbitMq => "rabbitmq",
            BrokerKind::GooglePubSub => "pubsub",
        }
    }
}

/// `broker.rabbitmq.*`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RabbitMqConfig {
    pub url: String,
    /// Exchange name; empty means the topic name.
    pub exchange: String,
    /// `direct`, `fanout`, `topic` or `headers`; empty means `topic`.
    pub exchange_type: String,
    /// Queue name prefix; empty means the topic name.
    pub queue: String,
    /// Routing key for publishing (`adapter publish`).
    pub routing_key: String,
    pub prefetch_count: u16,
    pub prefetch_size: u32,
    pub consumer_tag: String,
    pub publisher_confirm: bool,
    /// Keyed delivery: 0 for the one queue, N for N single-active-consumer quorum queues fed
    /// by a consistent-hash exchange.
    pub hash_queues: u16,
    /// The header the consistent-hash exchange hashes on.
    pub hash_header: String,
}

impl RabbitMqConfig {
    /// The exchange for `topic`.
    pub fn exchange_for(&self, topic: &str) -> String {
        if self.exchange.is_empty() {
            topic.to_string()
        } else {
            self.exchange.clone()
        }
    }

    /// The queue one subscription consumes: `<queue>-<subscription_id>`, or
    /// `<topic>-<subscription_id>` without a configured queue.
    pub fn queue_for(&self, topic: &str, subscription_id: &str) -> String {
        let base = if self.queue.is_empty() {
            topic
        } else {
            &self.queue
        };
        format!("{base}-{subscription_id}")
    }

    /// The queues one subscription consumes: [`RabbitMqConfig::queue_for`], or with keyed
    /// delivery its `-0` .. `-<N-1>` partitions.
    pub fn queues_for(&self, topic: &str, subscription_id: &str) -> Vec<String> {
        let base = self.queue_for(topic, subscription_id);
        match self.hash_queues {
            0 => vec![base],
            n => (0..n).map(|i| format!("{base}-{i}")).collect(),
        }
    }

    /// The consistent-hash exchange of keyed delivery: `<queue>-<subscription_id>-hash`.
    pub fn hash_exchange_for(&self, topic: &str, subscription_id: &str) -> String {
        format!("{}-hash", self.queue_for(topic, subscription_id))
    }

    /// The header keyed delivery hashes on (default `x-hyperfleet-cluster-id`).
    pub fn hash_header(&self) -> &str {
        if self.hash_header.is_empty() {
            "x-hyperfleet-cluster-id"
        } else {
            &self.hash_header
        }
    }

    /// The exchange type (default `topic`).
    pub fn kind(&self) -> &str {
        if self.exchange_type.is_empty() {
            "topic"
        } else {
            &self.exchange_type
        }
    }

    /// The URL with its password replaced, for logs.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

/// `broker.googlepubsub.*`.
#[derive(Debug, Clone, PartialEq)]
pub struct PubSubConfig {
    pub project_id: String,
    pub ack_deadline_seconds: u32,
    pub message_retention_duration: Option<Duration>,
    /// `Some(0)` means never expire.
    pub expiration_ttl: Option<Duration>,
    pub enable_message_ordering: bool,
    pub retry_min_backoff: Option<Duration>,
    pub retry_max_backoff: Option<Duration>,
    pub dead_letter_max_attempts: u32,
    /// Unset: twice the subscriber parallelism (see `docs/brokers.md`).
    pub max_outstanding_messages: Option<i64>,
    pub max_outstanding_bytes: i64,
    pub num_goroutines: u32,
    pub create_topic_if_missing: bool,
    pub create_subscription_if_missing: bool,
    /// How long the subscription may stay unusable (stream failing, subscription missing and
    /// not recreatable) before `/healthz` fails so Kubernetes restarts the pod. Not a Go
    /// setting (the Go adapter never failed liveness); default [`DEFAULT_UNHEALTHY_AFTER`].
    pub unhealthy_after: Duration,
}

/// The default of `broker.googlepubsub.unhealthy_after`.
pub const DEFAULT_UNHEALTHY_AFTER: Duration = Duration::from_secs(120);

impl Default for PubSubConfig {
    fn default() -> Self {
        PubSubConfig {
            project_id: String::new(),
            ack_deadline_seconds: 10,
            message_retention_duration: None,
            expiration_ttl: None,
            enable_message_ordering: false,
            retry_min_backoff: None,
            retry_max_backoff: None,
            dead_letter_max_attempts: 5,
            max_outstanding_messages: None,
            max_outstanding_bytes: 1_000_000_000,
            num_goroutines: 10,
            create_topic_if_missing: false,
            create_subscription_if_missing: false,
            unhealthy_after: DEFAULT_UNHEALTHY_AFTER,
        }
    }
}

impl PubSubConfig {
    /// The dead-letter topic of a subscription (always `<subscription_id>-dlq`).
    pub fn dead_letter_topic(subscription_id: &str) -> String {
        format!("{subscription_id}-dlq")
    }
}

/// The loaded `broker.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerConfig {
    pub kind: BrokerKind,
    pub log_config: bool,
    /// Events in flight at once (at least 1).
    pub parallelism: usize,
    pub rabbitmq: RabbitMqConfig,
    pub googlepubsub: PubSubConfig,
    /// The file read, if any.
    pub file: Option<PathBuf>,
    /// Unknown keys and ignored settings.
    pub warnings: Vec<Problem>,
}

impl BrokerConfig {
    /// The settings as JSON for `log_config`, with the password masked.
    pub fn to_log_json(&self) -> Value {
        let r = &self.rabbitmq;
        let p = &self.googlepubsub;
        let d = |d: Option<Duration>| d.map(|d| GoDuration(d.as_nanos() as i64).to_string());
        json!({
            "broker": {
                "type": self.kind.as_str(),
                "rabbitmq": {"url": r.redacted_url(), "exchange": r.exchange, "exchange_type": r.exchange_type,
                    "queue": r.queue, "routing_key": r.routing_key, "prefetch_count": r.prefetch_count,
                    "prefetch_size": r.prefetch_size, "consumer_tag": r.consumer_tag,
                    "publisher_confirm": r.publisher_confirm, "hash_queues": r.hash_queues,
                    "hash_header": r.hash_header()},
                "googlepubsub": {"project_id": p.project_id, "ack_deadline_seconds": p.ack_deadline_seconds,
                    "message_retention_duration": d(p.message_retention_duration),
                    "expiration_ttl": d(p.expiration_ttl), "enable_message_ordering": p.enable_message_ordering,
                    "retry_min_backoff": d(p.retry_min_backoff), "retry_max_backoff": d(p.retry_max_backoff),
                    "dead_letter_max_attempts": p.dead_letter_max_attempts,
                    "max_outstanding_messages": p.max_outstanding_messages,
                    "max_outstanding_bytes": p.max_outstanding_bytes, "num_goroutines": p.num_goroutines,
                    "create_topic_if_missing": p.create_topic_if_missing,
                    "create_subscription_if_missing": p.create_subscription_if_missing},
            },
            "subscriber": {"parallelism": self.parallelism},
            "log_config": self.log_config,
        })
    }
}

/// `amqp://user:secret@host` → `amqp://user:***@host`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &authority[..colon],
            &url[scheme_end + 3 + at..]
        ),
        _ => url.to_string(),
    }
}

/// A raw value and where it came from.
#[derive(Debug, Clone)]
struct Raw {
    text: String,
    /// Line in the file, 0 for the environment.
    line: usize,
    /// The environment variable it came from.
    var: Option<String>,
}

/// The environment variable of a key (`broker.rabbitmq.url` → `BROKER_RABBITMQ_URL`).
pub fn env_var(key: &str) -> String {
    key.replace('.', "_").to_uppercase()
}

/// Which file to read: `BROKER_CONFIG_FILE`, else `broker.yaml` beside the executable, else
/// `./broker.yaml`; `None` when none exists (and none was named).
pub fn locate(env: &dyn EnvSource, exe_dir: Option<&Path>) -> Option<PathBuf> {
    if let Some(f) = non_empty(env, "BROKER_CONFIG_FILE") {
        return Some(PathBuf::from(f));
    }
    let beside = exe_dir.map(|d| d.join("broker.yaml"));
    beside
        .into_iter()
        .chain([PathBuf::from("broker.yaml")])
        .find(|p| p.is_file())
}

/// The directory of the running executable, symlinks resolved.
pub fn exe_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    exe.parent().map(Path::to_path_buf)
}

/// Loads the broker settings: the located file (if any), then the environment.
pub fn load(env: &dyn EnvSource) -> Result<BrokerConfig, ConfigError> {
    load_from(env, locate(env, exe_dir().as_deref()).as_deref())
}

/// Loads `file` (or only defaults and environment when `None`).
pub fn load_from(env: &dyn EnvSource, file: Option<&Path>) -> Result<BrokerConfig, ConfigError> {
    let shown = file
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("broker.yaml"));
    let mut warnings = Vec::new();
    let mut values = match file {
        Some(path) => read_file(path, &mut warnings)?,
        None => BTreeMap::new(),
    };
    overlay_env(env, &mut values);
    let mut errors = Vec::new();
    let mut r = Reader {
        values: &values,
        file: &shown,
        errors: &mut errors,
    };
    // Read in this order: the errors are reported in it.
    let kind_text = r.string(&keys::TYPE).to_lowercase();
    let log_config = r.boolean(&keys::LOG_CONFIG).unwrap_or(false);
    let parallelism = r.int(&keys::PARALLELISM).unwrap_or(1).max(1) as usize;
    let rabbitmq = r.rabbitmq();
    let googlepubsub = r.googlepubsub();
    let kind = r.kind(&kind_text);
    match kind {
        Some(BrokerKind::RabbitMq) => r.check_rabbitmq(&rabbitmq),
        Some(BrokerKind::GooglePubSub) => r.check_googlepubsub(&googlepubsub),
        None => {}
    }
    if !errors.is_empty() {
        return Err(ConfigError::new("invalid broker config", errors));
    }
    Ok(BrokerConfig {
        kind: kind.unwrap_or(BrokerKind::RabbitMq),
        log_config,
        parallelism,
        rabbitmq,
        googlepubsub,
        file: file.map(Path::to_path_buf),
        warnings,
    })
}

/// The keys of the file at `path` with their values and lines; lists, unknown keys (other than
/// the [`IGNORED`] ones) become warnings.
fn read_file(
    path: &Path,
    warnings: &mut Vec<Problem>,
) -> Result<BTreeMap<String, Raw>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::plain(
            "invalid broker config",
            path,
            format!("failed to read broker config file {}: {e}", path.display()),
        )
    })?;
    let root = yaml::parse(&text).map_err(|e| {
        ConfigError::new(
            "invalid broker config",
            vec![Problem::error(path, e.line, "", e.to_string())],
        )
    })?;
    let mut values = BTreeMap::new();
    flatten(&root, "", &mut values, &mut |line, key, msg| {
        warnings.push(Problem::warning(path, line, key, msg))
    });
    for (key, raw) in &values {
        if !IGNORED.contains(&key.as_str()) && !KEYS.iter().any(|k| k.path == key) {
            warnings.push(Problem::warning(
                path,
                raw.line,
                key.clone(),
                format!("unknown broker config key {key} (ignored)"),
            ));
        }
    }
    Ok(values)
}

/// Every key whose environment variable is set takes the variable's value.
fn overlay_env(env: &dyn EnvSource, values: &mut BTreeMap<String, Raw>) {
    for key in KEYS {
        let var = env_var(key.path);
        if let Some(v) = non_empty(env, &var) {
            values.insert(
                key.path.to_string(),
                Raw {
                    text: v,
                    line: 0,
                    var: Some(var),
                },
            );
        }
    }
}

fn flatten(
    node: &Node,
    prefix: &str,
    out: &mut BTreeMap<String, Raw>,
    warn: &mut dyn FnMut(usize, String, String),
) {
    match &node.kind {
        NodeKind::Map(entries) => {
            for (k, v) in entries {
                let name = k.as_str().unwrap_or_default().to_lowercase();
                let key = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(v, &key, out, warn);
            }
        }
        NodeKind::Scalar { .. } if node.is_null() => {}
        NodeKind::Scalar { text, .. } => {
            out.insert(
                prefix.to_string(),
                Raw {
                    text: text.clone(),
                    line: node.line,
                    var: None,
                },
            );
        }
        NodeKind::Seq(_) => warn(
            node.line,
            prefix.to_string(),
            format!("{prefix}: a list is not a broker setting (ignored)"),
        ),
    }
}

/// Typed reads of the raw values through the key table, collecting errors.
struct Reader<'a> {
    values: &'a BTreeMap<String, Raw>,
    file: &'a Path,
    errors: &'a mut Vec<Problem>,
}

impl Reader<'_> {
    /// `broker.rabbitmq.*`.
    fn rabbitmq(&mut self) -> RabbitMqConfig {
        RabbitMqConfig {
            url: self.string(&keys::RABBITMQ_URL),
            exchange: self.string(&keys::RABBITMQ_EXCHANGE),
            exchange_type: self.string(&keys::RABBITMQ_EXCHANGE_TYPE),
            queue: self.string(&keys::RABBITMQ_QUEUE),
            routing_key: self.string(&keys::RABBITMQ_ROUTING_KEY),
            prefetch_count: self.bounded(&keys::RABBITMQ_PREFETCH_COUNT, 0) as u16,
            prefetch_size: self.bounded(&keys::RABBITMQ_PREFETCH_SIZE, 0) as u32,
            consumer_tag: self.string(&keys::RABBITMQ_CONSUMER_TAG),
            publisher_confirm: self
                .boolean(&keys::RABBITMQ_PUBLISHER_CONFIRM)
                .unwrap_or(false),
            hash_queues: self.bounded(&keys::RABBITMQ_HASH_QUEUES, 0) as u16,
            hash_header: self.string(&keys::RABBITMQ_HASH_HEADER),
        }
    }

    /// `broker.googlepubsub.*`: zero and absent mean the default; set values are bounded.
    fn googlepubsub(&mut self) -> PubSubConfig {
        let defaults = PubSubConfig::default();
        PubSubConfig {
            project_id: self.string(&keys::PUBSUB_PROJECT_ID),
            ack_deadline_seconds: self.bounded_or_default(
                &keys::PUBSUB_ACK_DEADLINE_SECONDS,
                defaults.ack_deadline_seconds.into(),
            ) as u32,
            message_retention_duration: self.duration(&keys::PUBSUB_MESSAGE_RETENTION_DURATION),
            expiration_ttl: self.duration(&keys::PUBSUB_EXPIRATION_TTL),
            enable_message_ordering: self
                .boolean(&keys::PUBSUB_ENABLE_MESSAGE_ORDERING)
                .unwrap_or(false),
            retry_min_backoff: self.duration(&keys::PUBSUB_RETRY_MIN_BACKOFF),
            retry_max_backoff: self.duration(&keys::PUBSUB_RETRY_MAX_BACKOFF),
            dead_letter_max_attempts: self.bounded_or_default(
                &keys::PUBSUB_DEAD_LETTER_MAX_ATTEMPTS,
                defaults.dead_letter_max_attempts.into(),
            ) as u32,
            max_outstanding_messages: self
                .int(&keys::PUBSUB_MAX_OUTSTANDING_MESSAGES)
                .filter(|v| *v > 0),
            max_outstanding_bytes: self
                .int(&keys::PUBSUB_MAX_OUTSTANDING_BYTES)
                .filter(|v| *v != 0)
                .unwrap_or(defaults.max_outstanding_bytes),
            num_goroutines: self
                .bounded_or_default(&keys::PUBSUB_NUM_GOROUTINES, defaults.num_goroutines.into())
                as u32,
            create_topic_if_missing: self
                .boolean(&keys::PUBSUB_CREATE_TOPIC_IF_MISSING)
                .unwrap_or(false),
            create_subscription_if_missing: self
                .boolean(&keys::PUBSUB_CREATE_SUBSCRIPTION_IF_MISSING)
                .unwrap_or(false),
            unhealthy_after: self
                .duration(&keys::PUBSUB_UNHEALTHY_AFTER)
                .filter(|d| !d.is_zero())
                .unwrap_or(DEFAULT_UNHEALTHY_AFTER),
        }
    }

    /// `broker.type`.
    fn kind(&mut self, text: &str) -> Option<BrokerKind> {
        let kind = BrokerKind::ALL.into_iter().find(|k| k.as_str() == text);
        if kind.is_none() {
            self.error(&keys::TYPE, format!("unsupported broker type: {text}"));
        }
        kind
    }

    /// What RabbitMQ needs: an `amqp(s)://` URL that parses, a known exchange type.
    fn check_rabbitmq(&mut self, rabbitmq: &RabbitMqConfig) {
        let url = &rabbitmq.url;
        let key = &keys::RABBITMQ_URL;
        if url.is_empty() {
            self.error(key, "rabbitmq.url is required".into());
        } else if !(url.starts_with("amqp://") || url.starts_with("amqps://")) {
            self.error(
                key,
                "rabbitmq.url must start with 'amqp://' or 'amqps://'".into(),
            );
        } else if let Err(e) = AmqpUrl::parse(url) {
            // Refused here rather than at the first connect, where Go would fail.
            self.error(key, format!("rabbitmq.url is invalid: {e}"));
        }
        self.check_allowed(&keys::RABBITMQ_EXCHANGE_TYPE, &rabbitmq.exchange_type);
    }

    /// A [`Key::allowed`] value (or empty).
    fn check_allowed(&mut self, key: &Key, value: &str) {
        if !value.is_empty() && !key.allowed.contains(&value) {
            let msg = format!("{} must be one of: {}", key.short(), key.allowed.join(", "));
            self.error(key, msg);
        }
    }

    /// What Pub/Sub needs: a project, and durations within Google's ranges.
    fn check_googlepubsub(&mut self, g: &PubSubConfig) {
        if g.project_id.is_empty() {
            self.error(
                &keys::PUBSUB_PROJECT_ID,
                "googlepubsub.project_id is required".into(),
            );
        }
        let within = |d: Option<Duration>, lo: u64, hi: u64| {
            d.is_none_or(|d| d.is_zero() || (d.as_secs() >= lo && d.as_secs() <= hi))
        };
        const DAY: u64 = 86_400;
        if !within(g.message_retention_duration, 600, 31 * DAY) {
            self.error(
                &keys::PUBSUB_MESSAGE_RETENTION_DURATION,
                "googlepubsub.message_retention_duration must be between 10m and 31d".into(),
            );
        }
        if g.unhealthy_after < Duration::from_secs(1) {
            self.error(
                &keys::PUBSUB_UNHEALTHY_AFTER,
                "googlepubsub.unhealthy_after must be at least 1s".into(),
            );
        }
        if !within(g.expiration_ttl, DAY, u64::MAX) {
            self.error(
                &keys::PUBSUB_EXPIRATION_TTL,
                "googlepubsub.expiration_ttl must be 0 (never expire) or at least 1d".into(),
            );
        }
        for (d, key) in [
            (g.retry_min_backoff, &keys::PUBSUB_RETRY_MIN_BACKOFF),
            (g.retry_max_backoff, &keys::PUBSUB_RETRY_MAX_BACKOFF),
        ] {
            if !within(d, 0, 600) {
                self.error(key, format!("{} must be between 0s and 600s", key.short()));
            }
        }
        if let (Some(lo), Some(hi)) = (g.retry_min_backoff, g.retry_max_backoff)
            && lo > hi
        {
            self.error(
                &keys::PUBSUB_RETRY_MIN_BACKOFF,
                "googlepubsub.retry_min_backoff must not exceed retry_max_backoff".into(),
            );
        }
    }

    fn error(&mut self, key: &Key, msg: String) {
        let raw = self.values.get(key.path);
        let (line, msg) = match raw.and_then(|r| r.var.as_ref()) {
            Some(var) => (0, format!("{msg} (from environment variable {var})")),
            None => (raw.map_or(0, |r| r.line), msg),
        };
        self.errors
            .push(Problem::error(self.file, line, key.path.to_string(), msg));
    }

    fn text(&self, key: &Key) -> Option<String> {
        self.values.get(key.path).map(|r| r.text.trim().to_string())
    }

    fn string(&mut self, key: &Key) -> String {
        self.values
            .get(key.path)
            .map(|r| r.text.clone())
            .unwrap_or_default()
    }

    fn int(&mut self, key: &Key) -> Option<i64> {
        let text = self.text(key)?;
        match text.parse::<i64>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.error(key, format!("{}: invalid integer {text:?}", key.short()));
                None
            }
        }
    }

    /// An integer that must lie in the key's range; `default` when absent or invalid.
    fn bounded(&mut self, key: &Key, default: i64) -> i64 {
        let (lo, hi) = key.range.unwrap_or((i64::MIN, i64::MAX));
        match self.int(key) {
            None => default,
            Some(v) if (lo..=hi).contains(&v) => v,
            Some(v) => {
                let msg = format!("{} must be between {lo} and {hi}, got {v}", key.short());
                self.error(key, msg);
                default
            }
        }
    }

    /// [`Reader::bounded`] for a key whose 0 (or absence) means `default`.
    fn bounded_or_default(&mut self, key: &Key, default: i64) -> i64 {
        debug_assert!(key.zero_is_default, "{} has no zero default", key.path);
        match self.int(key) {
            None | Some(0) => default,
            Some(_) => self.bounded(key, default),
        }
    }

    fn boolean(&mut self, key: &Key) -> Option<bool> {
        let text = self.text(key)?;
        match parse_go_bool(&text) {
            Some(b) => Some(b),
            None => {
                self.error(key, format!("{}: invalid boolean {text:?}", key.short()));
                None
            }
        }
    }

    /// Go duration syntax, or a whole number of days (`7d`).
    fn duration(&mut self, key: &Key) -> Option<Duration> {
        let text = self.text(key)?;
        let parsed = match text.strip_suffix('d').map(str::parse::<u64>) {
            Some(Ok(days)) => Ok(Duration::from_secs(days * 86_400)),
            _ => GoDuration::parse(&text)
                .map_err(|e| e.to_string())
                .and_then(|d| {
                    if d.is_negative() {
                        Err(format!("negative duration {text:?}"))
                    } else {
                        Ok(d.to_std())
                    }
                }),
        };
        match parsed {
            Ok(d) => Some(d),
            Err(e) => {
                let msg = format!("{}: invalid duration {text:?}: {e}", key.short());
                self.error(key, msg);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MapEnv;

    fn load_text(text: &str, vars: &[(&str, &str)]) -> Result<BrokerConfig, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("broker.yaml");
        std::fs::write(&f, text).unwrap();
        load_from(&MapEnv::from_pairs(vars), Some(&f))
    }

    fn messages(e: &ConfigError) -> Vec<String> {
        e.problems.iter().map(|p| p.message.clone()).collect()
    }

    #[test]
    fn rabbitmq_file_with_env_overrides() {
        let c = load_text(
            "broker:\n  type: rabbitmq\n  rabbitmq:\n    url: amqp://u:p@h:5672/\n    exchange_type: fanout\n    prefetch_count: 20\nsubscriber:\n  parallelism: 4\n",
            &[("SUBSCRIBER_PARALLELISM", "8"), ("BROKER_RABBITMQ_QUEUE", "q")],
        )
        .unwrap();
        assert_eq!(c.kind, BrokerKind::RabbitMq);
        assert_eq!(c.parallelism, 8, "environment wins");
        assert_eq!(c.rabbitmq.prefetch_count, 20);
        assert_eq!(c.rabbitmq.kind(), "fanout");
        assert_eq!(c.rabbitmq.queue_for("topic", "sub"), "q-sub");
        assert_eq!(c.rabbitmq.exchange_for("topic"), "topic");
        assert_eq!(c.rabbitmq.redacted_url(), "amqp://u:***@h:5672/");
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn keyed_delivery_keys() {
        let plain = load_text(
            "broker:\n  type: rabbitmq\n  rabbitmq:\n    url: amqp://h/\n",
            &[],
        )
        .unwrap();
        assert_eq!(plain.rabbitmq.hash_queues, 0);
        assert_eq!(plain.rabbitmq.queues_for("t", "s"), ["t-s"]);
        assert_eq!(plain.rabbitmq.hash_header(), "x-hyperfleet-cluster-id");
        let keyed = load_text(
            "broker:\n  type: rabbitmq\n  rabbitmq:\n    url: amqp://h/\n    hash_queues: 3\n",
            &[("BROKER_RABBITMQ_HASH_HEADER", "cluster")],
        )
        .unwrap();
        assert_eq!(
            keyed.rabbitmq.queues_for("t", "s"),
            ["t-s-0", "t-s-1", "t-s-2"]
        );
        assert_eq!(keyed.rabbitmq.hash_exchange_for("t", "s"), "t-s-hash");
        assert_eq!(keyed.rabbitmq.hash_header(), "cluster");
        let err = load_text(
            "broker:\n  type: rabbitmq\n  rabbitmq:\n    url: amqp://h/\n    hash_queues: 65\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("rabbitmq.hash_queues must be between 0 and 64, got 65"),
            "{err}"
        );
    }

    #[test]
    fn no_file_means_defaults_and_environment() {
        let c = load_from(
            &MapEnv::from_pairs([
                ("BROKER_TYPE", "googlepubsub"),
                ("BROKER_GOOGLEPUBSUB_PROJECT_ID", "p"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(c.kind, BrokerKind::GooglePubSub);
        assert_eq!(c.parallelism, 1);
        assert_eq!(c.googlepubsub.project_id, "p");
        assert_eq!(c.googlepubsub.dead_letter_max_attempts, 5);
        assert_eq!(c.googlepubsub.ack_deadline_seconds, 10);
        let e = load_from(&MapEnv::default(), None).unwrap_err();
        assert_eq!(messages(&e), ["unsupported broker type: "]);
    }

    #[test]
    fn validation_reports_every_problem_with_lines() {
        let e = load_text(
            "broker:\n  type: rabbitmq\n  rabbitmq:\n    url: http://h\n    exchange_type: weird\n    prefetch_count: -1\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(
            messages(&e),
            [
                "rabbitmq.prefetch_count must be between 0 and 65535, got -1",
                "rabbitmq.url must start with 'amqp://' or 'amqps://'",
                "rabbitmq.exchange_type must be one of: direct, fanout, topic, headers",
            ]
        );
        assert_eq!(
            e.problems.iter().map(|p| p.line).collect::<Vec<_>>(),
            [6, 4, 5]
        );
        let e = load_text(
            "broker:\n  type: rabbitmq\n  rabbitmq:\n    url: amqp://u:secret@h/%zz\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(
            messages(&e),
            ["rabbitmq.url is invalid: invalid percent-encoding in the path"]
        );
        let e = load_text("broker:\n  type: kafka\n", &[]).unwrap_err();
        assert_eq!(messages(&e), ["unsupported broker type: kafka"]);
        let e = load_text("broker:\n  type: rabbitmq\n", &[]).unwrap_err();
        assert_eq!(messages(&e), ["rabbitmq.url is required"]);
    }

    #[test]
    fn pubsub_ranges_and_durations() {
        let c = load_text(
            "broker:\n  type: googlepubsub\n  googlepubsub:\n    project_id: p\n    message_retention_duration: 7d\n    expiration_ttl: \"0\"\n    retry_min_backoff: 10s\n    retry_max_backoff: 10m\n",
            &[],
        )
        .unwrap();
        let g = &c.googlepubsub;
        assert_eq!(
            g.message_retention_duration,
            Some(Duration::from_secs(7 * 86_400))
        );
        assert_eq!(g.expiration_ttl, Some(Duration::ZERO));
        assert_eq!(g.retry_max_backoff, Some(Duration::from_secs(600)));
        assert_eq!(g.unhealthy_after, DEFAULT_UNHEALTHY_AFTER);
        let c = load_text(
            "broker:\n  type: googlepubsub\n  googlepubsub:\n    project_id: p\n",
            &[("BROKER_GOOGLEPUBSUB_UNHEALTHY_AFTER", "45s")],
        )
        .unwrap();
        assert_eq!(c.googlepubsub.unhealthy_after, Duration::from_secs(45));
        let e = load_text(
            "broker:\n  type: googlepubsub\n  googlepubsub:\n    project_id: p\n    unhealthy_after: 10ms\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(
            messages(&e),
            ["googlepubsub.unhealthy_after must be at least 1s"]
        );
        let e = load_text(
            "broker:\n  type: googlepubsub\n  googlepubsub:\n    ack_deadline_seconds: 5\n    message_retention_duration: 5m\n    expiration_ttl: 1h\n    retry_max_backoff: 11m\n    dead_letter_max_attempts: 200\n    num_goroutines: abc\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(
            messages(&e),
            [
                "googlepubsub.ack_deadline_seconds must be between 10 and 600, got 5",
                "googlepubsub.dead_letter_max_attempts must be between 5 and 100, got 200",
                "googlepubsub.num_goroutines: invalid integer \"abc\"",
                "googlepubsub.project_id is required",
                "googlepubsub.message_retention_duration must be between 10m and 31d",
                "googlepubsub.expiration_ttl must be 0 (never expire) or at least 1d",
                "googlepubsub.retry_max_backoff must be between 0s and 600s",
            ]
        );
    }

    #[test]
    fn environment_errors_name_the_variable() {
        let e = load_text(
            "broker:\n  type: rabbitmq\n  rabbitmq:\n    url: amqp://h\n",
            &[("SUBSCRIBER_PARALLELISM", "many")],
        )
        .unwrap_err();
        assert_eq!(
            messages(&e),
            [
                "subscriber.parallelism: invalid integer \"many\" (from environment variable SUBSCRIBER_PARALLELISM)"
            ]
        );
    }

    #[test]
    fn unknown_keys_warn_and_chart_keys_are_accepted() {
        let c = load_text(
            "broker:\n  type: googlepubsub\n  googlepubsub:\n    project_id: p\n    topic: t\n    dead_letter_topic: d\n    projectid: x\nSubscriber:\n  Parallelism: 0\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.parallelism, 1, "<= 0 means 1; keys are case-insensitive");
        let w: Vec<_> = c
            .warnings
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(
            w,
            [(
                7,
                "unknown broker config key broker.googlepubsub.projectid (ignored)"
            )]
        );
    }

    #[test]
    fn locate_order() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            locate(
                &MapEnv::from_pairs([("BROKER_CONFIG_FILE", "/x/b.yaml")]),
                None
            ),
            Some(PathBuf::from("/x/b.yaml"))
        );
        std::fs::write(dir.path().join("broker.yaml"), "").unwrap();
        assert_eq!(
            locate(&MapEnv::default(), Some(dir.path())),
            Some(dir.path().join("broker.yaml"))
        );
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact_url("amqp://guest:guest@localhost:5672/"),
            "amqp://guest:***@localhost:5672/"
        );
        assert_eq!(redact_url("amqps://host/vhost"), "amqps://host/vhost");
        assert_eq!(redact_url("amqp://user@host"), "amqp://user@host");
        assert_eq!(
            redact_url("amqp://u:p%40ss@host/v?x=@"),
            "amqp://u:***@host/v?x=@"
        );
    }
}
