//! The keys of `broker.yaml`: one table that the loader reads through (values, bounds, allowed
//! values, unknown-key warnings, environment overrides) and that the JSON Schema is built from,
//! so the two cannot disagree. `broker.yaml` has no serde types (keys are case-insensitive and
//! every value may come from the environment as text), so the table is the source of truth.

use super::schema::{DURATION_PATTERN, SCALAR_TYPES};
use crate::golang::{FALSE_TEXTS, TRUE_TEXTS};
use schemars::Schema;
use serde_json::{Map, Value, json};

/// What a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any scalar, as its text.
    Str,
    /// An integer, or its text.
    Int,
    /// A boolean, or Go's `ParseBool` text.
    Bool,
    /// Go duration text, or a whole number of days (`7d`).
    Duration,
}

/// A value in the table (defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val {
    Str(&'static str),
    Int(i64),
    Bool(bool),
}

impl Val {
    fn to_json(self) -> Value {
        match self {
            Val::Str(s) => json!(s),
            Val::Int(i) => json!(i),
            Val::Bool(b) => json!(b),
        }
    }
}

/// One key of `broker.yaml`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Key {
    /// Dotted lower-case path (`broker.rabbitmq.url`).
    pub path: &'static str,
    pub kind: Kind,
    /// What it means (the schema's description).
    pub doc: &'static str,
    /// What an absent key means.
    pub default: Option<Val>,
    /// The values a [`Kind::Str`] key accepts (empty: any; `""` is always accepted as unset).
    pub allowed: &'static [&'static str],
    /// The inclusive range of a [`Kind::Int`] key.
    pub range: Option<(i64, i64)>,
    /// A [`Kind::Int`] key whose 0 means the default (and is not range-checked).
    pub zero_is_default: bool,
    /// [`Key::allowed`] in any letter case.
    pub case_insensitive: bool,
}

impl Key {
    const fn new(path: &'static str, kind: Kind, doc: &'static str) -> Key {
        Key {
            path,
            kind,
            doc,
            default: None,
            allowed: &[],
            range: None,
            zero_is_default: false,
            case_insensitive: false,
        }
    }

    const fn case_insensitive(mut self) -> Key {
        self.case_insensitive = true;
        self
    }

    const fn default(mut self, v: Val) -> Key {
        self.default = Some(v);
        self
    }

    const fn allowed(mut self, values: &'static [&'static str]) -> Key {
        self.allowed = values;
        self
    }

    const fn range(mut self, lo: i64, hi: i64) -> Key {
        self.range = Some((lo, hi));
        self
    }

    const fn zero_is_default(mut self) -> Key {
        self.zero_is_default = true;
        self
    }

    /// The key as the broker library's messages name it (`rabbitmq.url`).
    pub fn short(&self) -> &'static str {
        match self.path.strip_prefix("broker.") {
            Some(s) => s,
            None => self.path,
        }
    }

    /// The key's JSON Schema.
    fn schema(&self) -> Value {
        let env = super::broker::env_var(self.path);
        let mut s = match self.kind {
            Kind::Str if self.allowed.is_empty() => json!({ "type": SCALAR_TYPES }),
            Kind::Str if self.case_insensitive => {
                let mut s = super::schema::one_of_ci(self.allowed).to_value();
                s["type"] = json!(["string", "null"]);
                s
            }
            Kind::Str => {
                let mut all: Vec<&str> = self.allowed.to_vec();
                all.push("");
                json!({ "type": ["string", "null"], "enum": all.into_iter().map(Value::from).chain([Value::Null]).collect::<Vec<_>>() })
            }
            Kind::Int => {
                let mut number = json!({ "type": "integer" });
                if let Some((lo, hi)) = self.range {
                    number["minimum"] = json!(lo);
                    number["maximum"] = json!(hi);
                }
                if self.zero_is_default {
                    number = json!({ "anyOf": [{ "const": 0 }, number] });
                }
                json!({ "anyOf": [
                    number,
                    { "type": "string", "pattern": r"^\s*[-+]?[0-9]+\s*$" },
                    { "type": "null" },
                ] })
            }
            Kind::Bool => {
                let texts: Vec<&str> = TRUE_TEXTS
                    .iter()
                    .chain(FALSE_TEXTS.iter())
                    .copied()
                    .collect();
                json!({ "anyOf": [
                    { "type": ["boolean", "null"] },
                    { "enum": [0, 1] },
                    { "type": "string", "enum": texts },
                ] })
            }
            Kind::Duration => json!({
                "anyOf": [
                    { "type": "string", "pattern": format!("{DURATION_PATTERN}|^[0-9]+d$") },
                    { "const": 0 },
                    { "type": "null" },
                ],
                "examples": ["10s", "10m", "7d"],
            }),
        };
        s["description"] = json!(format!("{} Env: `{env}`.", self.doc));
        if let Some(d) = self.default {
            s["default"] = d.to_json();
        }
        s
    }
}

pub const TYPE: Key = Key::new(
    "broker.type",
    Kind::Str,
    "The broker: `rabbitmq` or `googlepubsub` (case-insensitive).",
)
.allowed(&["rabbitmq", "googlepubsub"])
.case_insensitive();
pub const LOG_CONFIG: Key = Key::new(
    "log_config",
    Kind::Bool,
    "Log the broker settings at startup (the password masked).",
)
.default(Val::Bool(false));
pub const PARALLELISM: Key = Key::new(
    "subscriber.parallelism",
    Kind::Int,
    "Events processed at once (0 or less: 1).",
)
.default(Val::Int(1));

pub const RABBITMQ_URL: Key = Key::new(
    "broker.rabbitmq.url",
    Kind::Str,
    "The AMQP URL (`amqp://user:password@host:5672/vhost` or `amqps://...`); required for RabbitMQ.",
);
pub const RABBITMQ_EXCHANGE: Key = Key::new(
    "broker.rabbitmq.exchange",
    Kind::Str,
    "The exchange (empty: the topic name).",
);
pub const RABBITMQ_EXCHANGE_TYPE: Key = Key::new(
    "broker.rabbitmq.exchange_type",
    Kind::Str,
    "The exchange type (empty: `topic`).",
)
.allowed(&["direct", "fanout", "topic", "headers"]);
pub const RABBITMQ_QUEUE: Key = Key::new(
    "broker.rabbitmq.queue",
    Kind::Str,
    "The queue name prefix: the queue is `<queue>-<subscription_id>` (empty: `<topic>-<subscription_id>`).",
);
pub const RABBITMQ_ROUTING_KEY: Key = Key::new(
    "broker.rabbitmq.routing_key",
    Kind::Str,
    "The routing key `adapter publish` uses.",
);
pub const RABBITMQ_PREFETCH_COUNT: Key = Key::new(
    "broker.rabbitmq.prefetch_count",
    Kind::Int,
    "Unacknowledged messages the broker sends ahead (0: no limit).",
)
.range(0, u16::MAX as i64)
.default(Val::Int(0));
pub const RABBITMQ_PREFETCH_SIZE: Key = Key::new(
    "broker.rabbitmq.prefetch_size",
    Kind::Int,
    "Unacknowledged bytes the broker sends ahead (0: no limit).",
)
.range(0, u32::MAX as i64)
.default(Val::Int(0));
pub const RABBITMQ_CONSUMER_TAG: Key = Key::new(
    "broker.rabbitmq.consumer_tag",
    Kind::Str,
    "The consumer tag (empty: generated).",
);
pub const RABBITMQ_PUBLISHER_CONFIRM: Key = Key::new(
    "broker.rabbitmq.publisher_confirm",
    Kind::Bool,
    "Wait for the broker's confirm when publishing.",
)
.default(Val::Bool(false));

pub const RABBITMQ_HASH_QUEUES: Key = Key::new(
    "broker.rabbitmq.hash_queues",
    Kind::Int,
    "Keyed delivery: 0 (the default) consumes the one queue `<queue>-<subscription_id>`; N consumes N quorum queues `<queue>-<subscription_id>-0` .. `-<N-1>`, each with single-active-consumer, fed by a consistent-hash exchange `<queue>-<subscription_id>-hash` (bound to the exchange) that hashes on the `hash_header` header, so one replica at a time handles each cluster. Needs RabbitMQ's `rabbitmq_consistent_hash_exchange` plugin. Not a Go adapter setting.",
)
.range(0, 64)
.default(Val::Int(0));
pub const RABBITMQ_HASH_HEADER: Key = Key::new(
    "broker.rabbitmq.hash_header",
    Kind::Str,
    "Keyed delivery: the message header the consistent-hash exchange hashes on; publishers set it to the cluster id (`adapter publish --ordering-key`). Messages without it all go to one queue. Not a Go adapter setting.",
)
.default(Val::Str("x-hyperfleet-cluster-id"));

pub const PUBSUB_PROJECT_ID: Key = Key::new(
    "broker.googlepubsub.project_id",
    Kind::Str,
    "The Google Cloud project; required for Pub/Sub.",
);
pub const PUBSUB_ACK_DEADLINE_SECONDS: Key = Key::new(
    "broker.googlepubsub.ack_deadline_seconds",
    Kind::Int,
    "Seconds a subscriber has to acknowledge a message (0: the default).",
)
.range(10, 600)
.zero_is_default()
.default(Val::Int(10));
pub const PUBSUB_MESSAGE_RETENTION_DURATION: Key = Key::new(
    "broker.googlepubsub.message_retention_duration",
    Kind::Duration,
    "How long unacknowledged messages are kept, 10m to 31d (0 or unset: Pub/Sub's default). Go duration text or days (`7d`).",
);
pub const PUBSUB_EXPIRATION_TTL: Key = Key::new(
    "broker.googlepubsub.expiration_ttl",
    Kind::Duration,
    "Inactivity after which the subscription is deleted: 0 (never) or at least 1d.",
);
pub const PUBSUB_ENABLE_MESSAGE_ORDERING: Key = Key::new(
    "broker.googlepubsub.enable_message_ordering",
    Kind::Bool,
    "Deliver messages with the same ordering key in order.",
)
.default(Val::Bool(false));
pub const PUBSUB_RETRY_MIN_BACKOFF: Key = Key::new(
    "broker.googlepubsub.retry_min_backoff",
    Kind::Duration,
    "The shortest redelivery delay, 0s to 600s (not above `retry_max_backoff`).",
);
pub const PUBSUB_RETRY_MAX_BACKOFF: Key = Key::new(
    "broker.googlepubsub.retry_max_backoff",
    Kind::Duration,
    "The longest redelivery delay, 0s to 600s.",
);
pub const PUBSUB_DEAD_LETTER_MAX_ATTEMPTS: Key = Key::new(
    "broker.googlepubsub.dead_letter_max_attempts",
    Kind::Int,
    "Deliveries before a message goes to `<subscription_id>-dlq` (0: the default).",
)
.range(5, 100)
.zero_is_default()
.default(Val::Int(5));
pub const PUBSUB_MAX_OUTSTANDING_MESSAGES: Key = Key::new(
    "broker.googlepubsub.max_outstanding_messages",
    Kind::Int,
    "Messages held unacknowledged at once (0 or less: twice `subscriber.parallelism`).",
);
pub const PUBSUB_MAX_OUTSTANDING_BYTES: Key = Key::new(
    "broker.googlepubsub.max_outstanding_bytes",
    Kind::Int,
    "Bytes held unacknowledged at once (0: the default).",
)
.default(Val::Int(1_000_000_000));
pub const PUBSUB_NUM_GOROUTINES: Key = Key::new(
    "broker.googlepubsub.num_goroutines",
    Kind::Int,
    "Streaming pulls opened (0: the default).",
)
.range(1, 1000)
.zero_is_default()
.default(Val::Int(10));
pub const PUBSUB_CREATE_TOPIC_IF_MISSING: Key = Key::new(
    "broker.googlepubsub.create_topic_if_missing",
    Kind::Bool,
    "Create the topic (and the dead-letter topic) when missing.",
)
.default(Val::Bool(false));
pub const PUBSUB_CREATE_SUBSCRIPTION_IF_MISSING: Key = Key::new(
    "broker.googlepubsub.create_subscription_if_missing",
    Kind::Bool,
    "Create the subscription when missing.",
)
.default(Val::Bool(false));
pub const PUBSUB_UNHEALTHY_AFTER: Key = Key::new(
    "broker.googlepubsub.unhealthy_after",
    Kind::Duration,
    "How long the subscription may stay unusable before `/healthz` fails, at least 1s (0: the default). Not a Go adapter setting.",
)
.default(Val::Str("2m0s"));

/// Every key the file may hold.
pub const KEYS: &[&Key] = &[
    &TYPE,
    &LOG_CONFIG,
    &PARALLELISM,
    &RABBITMQ_URL,
    &RABBITMQ_EXCHANGE,
    &RABBITMQ_EXCHANGE_TYPE,
    &RABBITMQ_QUEUE,
    &RABBITMQ_ROUTING_KEY,
    &RABBITMQ_PREFETCH_COUNT,
    &RABBITMQ_PREFETCH_SIZE,
    &RABBITMQ_CONSUMER_TAG,
    &RABBITMQ_PUBLISHER_CONFIRM,
    &RABBITMQ_HASH_QUEUES,
    &RABBITMQ_HASH_HEADER,
    &PUBSUB_PROJECT_ID,
    &PUBSUB_ACK_DEADLINE_SECONDS,
    &PUBSUB_MESSAGE_RETENTION_DURATION,
    &PUBSUB_EXPIRATION_TTL,
    &PUBSUB_ENABLE_MESSAGE_ORDERING,
    &PUBSUB_RETRY_MIN_BACKOFF,
    &PUBSUB_RETRY_MAX_BACKOFF,
    &PUBSUB_DEAD_LETTER_MAX_ATTEMPTS,
    &PUBSUB_MAX_OUTSTANDING_MESSAGES,
    &PUBSUB_MAX_OUTSTANDING_BYTES,
    &PUBSUB_NUM_GOROUTINES,
    &PUBSUB_CREATE_TOPIC_IF_MISSING,
    &PUBSUB_UNHEALTHY_AFTER,
    &PUBSUB_CREATE_SUBSCRIPTION_IF_MISSING,
];

/// Keys that deployments write but the broker does not read (the topic and subscription come
/// from the adapter config; the dead-letter topic is always `<subscription_id>-dlq`).
pub const IGNORED: &[&str] = &[
    "broker.googlepubsub.topic",
    "broker.googlepubsub.subscription_id",
    "broker.googlepubsub.dead_letter_topic",
    "broker.googlepubsub.topic_retention_duration",
];

/// The sections (mappings) of the file and what they hold.
const SECTIONS: &[(&str, &str)] = &[
    ("broker", "Which broker, and how to reach it."),
    ("broker.rabbitmq", "RabbitMQ (`broker.type: rabbitmq`)."),
    (
        "broker.googlepubsub",
        "Google Pub/Sub (`broker.type: googlepubsub`).",
    ),
    ("subscriber", "How the subscription is consumed."),
];

/// The JSON Schema of `broker.yaml`: every key of [`KEYS`] (lower-case; the loader also reads
/// other letter cases), the [`IGNORED`] ones as deprecated, nothing else (the loader warns
/// about unknown keys and lists, and ignores them).
pub fn schema() -> Schema {
    let mut root = section("");
    for key in KEYS {
        insert(&mut root, key.path, key.schema());
    }
    for path in IGNORED {
        let s = json!({
            "type": SCALAR_TYPES,
            "deprecated": true,
            "description": "Not read (accepted for files written for other tools): the topic and subscription come from the adapter config, the dead-letter topic is always `<subscription_id>-dlq`.",
        });
        insert(&mut root, path, s);
    }
    let mut top = Map::new();
    top.insert(
        "$schema".into(),
        json!("http://json-schema.org/draft-07/schema#"),
    );
    top.insert(
        "title".into(),
        json!("HyperFleet broker config (broker.yaml)"),
    );
    top.insert(
        "description".into(),
        json!(format!(
            "{} {}",
            "How the adapter reaches its broker; shared with the HyperFleet broker library and the Sentinel.",
            "Every key can be overridden by the environment variable named after its path (`broker.rabbitmq.url`: `BROKER_RABBITMQ_URL`)."
        )),
    );
    if let Value::Object(rest) = root {
        top.extend(rest);
    }
    Schema::from(top)
}

/// A mapping of the file (`null` reads as empty).
fn section(doc: &str) -> Value {
    let mut s =
        json!({ "type": ["object", "null"], "additionalProperties": false, "properties": {} });
    if !doc.is_empty() {
        s["description"] = json!(doc);
    }
    s
}

fn insert(root: &mut Value, path: &str, leaf: Value) {
    let mut node = root;
    let segs: Vec<&str> = path.split('.').collect();
    for (i, seg) in segs.iter().enumerate() {
        let props = &mut node["properties"];
        if i == segs.len() - 1 {
            props[*seg] = leaf;
            return;
        }
        if props.get(*seg).is_none() {
            let here = segs[..=i].join(".");
            let doc = SECTIONS
                .iter()
                .find(|(p, _)| *p == here)
                .map_or("", |(_, d)| *d);
            props[*seg] = section(doc);
        }
        node = &mut props[*seg];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_names_every_key_once_and_nothing_else() {
        let s = schema().to_value();
        let mut found = Vec::new();
        fn leaves(v: &Value, prefix: &str, out: &mut Vec<String>) {
            for (k, child) in v["properties"].as_object().into_iter().flatten() {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if child.get("properties").is_some() {
                    leaves(child, &p, out);
                } else {
                    out.push(p);
                }
            }
        }
        leaves(&s, "", &mut found);
        let mut want: Vec<String> = KEYS
            .iter()
            .map(|k| k.path.to_string())
            .chain(IGNORED.iter().map(|p| p.to_string()))
            .collect();
        found.sort();
        want.sort();
        assert_eq!(found, want);
        assert_eq!(s["additionalProperties"], json!(false));
        assert_eq!(
            s["properties"]["broker"]["properties"]["rabbitmq"]["additionalProperties"],
            json!(false)
        );
    }

    #[test]
    fn broker_types_are_the_brokers() {
        let kinds: Vec<&str> = super::super::broker::BrokerKind::ALL
            .iter()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(TYPE.allowed, kinds.as_slice());
    }
}
