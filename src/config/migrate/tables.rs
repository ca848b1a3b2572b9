//! The key-by-key mapping of contract §3: for each schema region, the legacy key, the current
//! key and how its value converts. Keys not listed are inert (dropped and reported), except
//! design-proposal keys (refused) and current spellings found in a legacy file (kept only with
//! `--keep-inert`).

/// How a value converts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum V {
    /// Copied as written.
    Copy,
    /// A string field of the E adapter file: a scalar that YAML would read as another type is
    /// quoted (its text is what the legacy loader used).
    Str,
    /// Free-form data: copied, keys never renamed, no rewrite (§3.6).
    Free,
    /// Weakly decoded bool / int / float / duration / duration text (E adapter file, §3.9).
    Bool,
    Int,
    Float,
    Duration,
    DurationText,
    /// Go template text (§5.5).
    Template,
    /// CEL with the params scope (§5.6).
    Cel,
    /// A field path over the CEL variables (§5.6).
    Path,
    /// A nested region.
    Map(&'static [Row]),
    /// A list of regions.
    Seq(&'static [Row]),
    /// Handled by the converter itself.
    Special(Sp),
}

/// Values with their own rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Sp {
    ParamSource,
    ParamName,
    PreconditionName,
    PostActionName,
    CaptureName,
    ResourceName,
    Url,
    Conditions,
    Manifest,
    ManifestWork,
    Namespace,
    Labels,
    Build,
    BuildRef,
}

/// One mapping row: legacy key, current key, value rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Row {
    pub(super) old: &'static str,
    pub(super) new: &'static str,
    pub(super) v: V,
}

const fn r(old: &'static str, new: &'static str, v: V) -> Row {
    Row { old, new, v }
}

// §3.2: the E adapter file (matched case-insensitively).
const API: &[Row] = &[
    r("baseUrl", "base_url", V::Str),
    r("version", "version", V::Str),
    r("timeout", "timeout", V::Duration),
    r("retryAttempts", "retry_attempts", V::Int),
    r("retryBackoff", "retry_backoff", V::Str),
    r("baseDelay", "base_delay", V::Duration),
    r("maxDelay", "max_delay", V::Duration),
    r("defaultHeaders", "default_headers", V::Free),
];
const BROKER: &[Row] = &[
    r("subscriptionId", "subscription_id", V::Str),
    r("topic", "topic", V::Str),
];
const KUBE: &[Row] = &[
    r("apiVersion", "api_version", V::Str),
    r("kubeConfigPath", "kube_config_path", V::Str),
    r("qps", "qps", V::Float),
    r("burst", "burst", V::Int),
];
const KEEPALIVE: &[Row] = &[r("time", "time", V::Str), r("timeout", "timeout", V::Str)];
const TLS: &[Row] = &[
    r("caFile", "ca_file", V::Str),
    r("certFile", "cert_file", V::Str),
    r("keyFile", "key_file", V::Str),
    r("httpCaFile", "http_ca_file", V::Str),
];
const AUTH: &[Row] = &[
    r("type", "type", V::Str),
    r("tlsConfig", "tls_config", V::Map(TLS)),
];
const MAESTRO: &[Row] = &[
    r("grpcServerAddress", "grpc_server_address", V::Str),
    r("httpServerAddress", "http_server_address", V::Str),
    r("sourceId", "source_id", V::Str),
    r("clientId", "client_id", V::Str),
    r("timeout", "timeout", V::DurationText),
    r(
        "serverHealthinessTimeout",
        "server_healthiness_timeout",
        V::DurationText,
    ),
    r("retryAttempts", "retry_attempts", V::Int),
    r("insecure", "insecure", V::Bool),
    r("keepalive", "keepalive", V::Map(KEEPALIVE)),
    r("auth", "auth", V::Map(AUTH)),
];
const CLIENTS: &[Row] = &[
    r("hyperfleetApi", "hyperfleet_api", V::Map(API)),
    r("broker", "broker", V::Map(BROKER)),
    r("kubernetes", "kubernetes", V::Map(KUBE)),
    r("maestro", "maestro", V::Map(MAESTRO)),
];
const LOG: &[Row] = &[
    r("level", "level", V::Str),
    r("format", "format", V::Str),
    r("output", "output", V::Str),
];
/// `spec.*` keys of the E adapter file (and the adapter part of D), besides `adapter`.
pub(super) const E_ADAPTER: &[Row] = &[
    r("debugConfig", "debug_config", V::Bool),
    r("log", "log", V::Map(LOG)),
    r("clients", "clients", V::Map(CLIENTS)),
];

// §3.3: the adapter-level keys of M (matched exactly, strictly typed).
pub(super) const M_API: &[Row] = &[
    r("baseUrl", "base_url", V::Copy),
    r("timeout", "timeout", V::Copy),
    r("retryAttempts", "retry_attempts", V::Copy),
    r("retryBackoff", "retry_backoff", V::Copy),
];
pub(super) const M_KUBE: &[Row] = &[r("apiVersion", "api_version", V::Copy)];

// §3.4: task keys (matched exactly).
const HEADER: &[Row] = &[r("name", "name", V::Copy), r("value", "value", V::Template)];
const API_CALL: &[Row] = &[
    r("method", "method", V::Copy),
    r("url", "url", V::Special(Sp::Url)),
    r("timeout", "timeout", V::Copy),
    r("body", "body", V::Template),
    r("headers", "headers", V::Seq(HEADER)),
    r("retryAttempts", "retry_attempts", V::Copy),
    r("retryBackoff", "retry_backoff", V::Copy),
];
const CAPTURE: &[Row] = &[
    r("name", "name", V::Special(Sp::CaptureName)),
    // The API response's scope: never rewritten (§5.6).
    r("field", "field", V::Copy),
    r("expression", "expression", V::Copy),
];
const LOG_ACTION: &[Row] = &[
    r("message", "message", V::Template),
    r("level", "level", V::Copy),
];
const PARAM: &[Row] = &[
    r("name", "name", V::Special(Sp::ParamName)),
    r("source", "source", V::Special(Sp::ParamSource)),
    r("type", "type", V::Copy),
    r("description", "description", V::Copy),
    r("required", "required", V::Copy),
    r("default", "default", V::Free),
];
const PRECONDITION: &[Row] = &[
    r("name", "name", V::Special(Sp::PreconditionName)),
    r("apiCall", "api_call", V::Map(API_CALL)),
    r("capture", "capture", V::Seq(CAPTURE)),
    r("conditions", "conditions", V::Special(Sp::Conditions)),
    r("expression", "expression", V::Cel),
    r("log", "log", V::Map(LOG_ACTION)),
];
const SELECTORS: &[Row] = &[r("labelSelector", "label_selector", V::Special(Sp::Labels))];
const DISCOVERY: &[Row] = &[
    r("namespace", "namespace", V::Special(Sp::Namespace)),
    r("byName", "by_name", V::Template),
    r("bySelectors", "by_selectors", V::Map(SELECTORS)),
];
const NESTED: &[Row] = &[
    r("name", "name", V::Special(Sp::ResourceName)),
    r("discovery", "discovery", V::Map(DISCOVERY)),
];
const TRANSPORT_MAESTRO: &[Row] = &[
    r("targetCluster", "target_cluster", V::Template),
    r("manifestWork", "manifestWork", V::Special(Sp::ManifestWork)),
];
const TRANSPORT: &[Row] = &[
    r("client", "client", V::Copy),
    r("maestro", "maestro", V::Map(TRANSPORT_MAESTRO)),
];
const RESOURCE: &[Row] = &[
    r("name", "name", V::Special(Sp::ResourceName)),
    r("transport", "transport", V::Map(TRANSPORT)),
    r("manifest", "manifest", V::Special(Sp::Manifest)),
    r("recreateOnChange", "recreate_on_change", V::Copy),
    r("discovery", "discovery", V::Map(DISCOVERY)),
    r("nestedDiscoveries", "nested_discoveries", V::Seq(NESTED)),
];
const PAYLOAD: &[Row] = &[
    r("name", "name", V::Copy),
    r("build", "build", V::Special(Sp::Build)),
    r("buildRef", "build_ref", V::Special(Sp::BuildRef)),
];
const POST_ACTION: &[Row] = &[
    r("name", "name", V::Special(Sp::PostActionName)),
    r("apiCall", "api_call", V::Map(API_CALL)),
    r("log", "log", V::Map(LOG_ACTION)),
];
const POST: &[Row] = &[
    r("payloads", "payloads", V::Seq(PAYLOAD)),
    r("postActions", "post_actions", V::Seq(POST_ACTION)),
];
/// `spec.*` task keys.
pub(super) const TASK: &[Row] = &[
    r("params", "params", V::Seq(PARAM)),
    r("preconditions", "preconditions", V::Seq(PRECONDITION)),
    r("resources", "resources", V::Seq(RESOURCE)),
    r("post", "post", V::Map(POST)),
];

pub(super) const CONDITION: &[Row] = &[
    r("field", "field", V::Path),
    r("operator", "operator", V::Copy),
    r("value", "value", V::Free),
    r("values", "values", V::Free),
];

/// Whether `rows` is the resource region.
pub(super) fn is_resource(rows: &[Row]) -> bool {
    rows.iter().any(|r| r.v == V::Special(Sp::Manifest))
}

/// Whether `rows` is M's `spec.hyperfleetApi` (whose `version` gained a meaning).
pub(super) fn is_merged_api(rows: &[Row]) -> bool {
    rows.len() == M_API.len() && rows.iter().zip(M_API).all(|(a, b)| a.old == b.old)
}

/// Current-format keys that mean something now but were inert in every legacy loader (§3.8):
/// dropped unless `--keep-inert`.
pub(super) const GAINED_MEANING: &[&str] = &["when", "default", "lifecycle"];

/// Keys of the design proposals (shape P): the file is refused (§2.7).
pub(super) const PROPOSAL: &[&str] = &[
    "storeResponseAs",
    "extract",
    "subscription",
    "apiClient",
    "postconditions",
    "resourceManagement",
    "template",
    "fieldRef",
];

/// Whether `key` is the current spelling of a row in `rows` (an inert key in a legacy file).
pub(super) fn current_spelling(rows: &[Row], key: &str) -> bool {
    rows.iter().any(|r| r.new == key && r.old != r.new)
}
