//! Layering of the adapter config: file < `HYPERFLEET_<PATH>` for keys present in the file <
//! the explicit env table (and the legacy broker variables) < `LOG_*` < command-line flags.
//! Overrides are written into the YAML tree before the typed decode, so one decoder (with its
//! located errors) handles every source.

use super::env::{EnvSource, non_empty};
use crate::yaml::{Node, NodeKind};

/// Config path (dot-separated) and the env variable that overrides it.
pub const ENV_TABLE: &[(&str, &str)] = &[
    ("debug_config", "HYPERFLEET_DEBUG_CONFIG"),
    (
        "clients.maestro.grpc_server_address",
        "HYPERFLEET_MAESTRO_GRPC_SERVER_ADDRESS",
    ),
    (
        "clients.maestro.http_server_address",
        "HYPERFLEET_MAESTRO_HTTP_SERVER_ADDRESS",
    ),
    ("clients.maestro.source_id", "HYPERFLEET_MAESTRO_SOURCE_ID"),
    ("clients.maestro.client_id", "HYPERFLEET_MAESTRO_CLIENT_ID"),
    ("clients.maestro.auth.type", "HYPERFLEET_MAESTRO_AUTH_TYPE"),
    (
        "clients.maestro.auth.tls_config.ca_file",
        "HYPERFLEET_MAESTRO_CA_FILE",
    ),
    (
        "clients.maestro.auth.tls_config.cert_file",
        "HYPERFLEET_MAESTRO_CERT_FILE",
    ),
    (
        "clients.maestro.auth.tls_config.key_file",
        "HYPERFLEET_MAESTRO_KEY_FILE",
    ),
    (
        "clients.maestro.auth.tls_config.http_ca_file",
        "HYPERFLEET_MAESTRO_HTTP_CA_FILE",
    ),
    (
        "clients.maestro.auth.tls_config.token_file",
        "HYPERFLEET_MAESTRO_TOKEN_FILE",
    ),
    ("clients.maestro.timeout", "HYPERFLEET_MAESTRO_TIMEOUT"),
    (
        "clients.maestro.server_healthiness_timeout",
        "HYPERFLEET_MAESTRO_SERVER_HEALTHINESS_TIMEOUT",
    ),
    (
        "clients.maestro.retry_attempts",
        "HYPERFLEET_MAESTRO_RETRY_ATTEMPTS",
    ),
    (
        "clients.maestro.keepalive.time",
        "HYPERFLEET_MAESTRO_KEEPALIVE_TIME",
    ),
    (
        "clients.maestro.keepalive.timeout",
        "HYPERFLEET_MAESTRO_KEEPALIVE_TIMEOUT",
    ),
    ("clients.maestro.insecure", "HYPERFLEET_MAESTRO_INSECURE"),
    ("clients.hyperfleet_api.base_url", "HYPERFLEET_API_BASE_URL"),
    ("clients.hyperfleet_api.version", "HYPERFLEET_API_VERSION"),
    ("clients.hyperfleet_api.timeout", "HYPERFLEET_API_TIMEOUT"),
    (
        "clients.hyperfleet_api.retry_attempts",
        "HYPERFLEET_API_RETRY_ATTEMPTS",
    ),
    (
        "clients.hyperfleet_api.retry_backoff",
        "HYPERFLEET_API_RETRY_BACKOFF",
    ),
    (
        "clients.hyperfleet_api.base_delay",
        "HYPERFLEET_API_BASE_DELAY",
    ),
    (
        "clients.hyperfleet_api.max_delay",
        "HYPERFLEET_API_MAX_DELAY",
    ),
    (
        "clients.hyperfleet_api.max_response_bytes",
        "HYPERFLEET_API_MAX_RESPONSE_BYTES",
    ),
    (
        "clients.hyperfleet_api.auth.token_path",
        "HYPERFLEET_API_AUTH_TOKEN_PATH",
    ),
    (
        "clients.hyperfleet_api.auth.token_cache_ttl",
        "HYPERFLEET_API_AUTH_TOKEN_CACHE_TTL",
    ),
    (
        "clients.broker.subscription_id",
        "HYPERFLEET_BROKER_SUBSCRIPTION_ID",
    ),
    ("clients.broker.topic", "HYPERFLEET_BROKER_TOPIC"),
    (
        "clients.kubernetes.kube_config_path",
        "HYPERFLEET_KUBERNETES_KUBE_CONFIG_PATH",
    ),
    (
        "clients.kubernetes.api_version",
        "HYPERFLEET_KUBERNETES_API_VERSION",
    ),
    ("clients.kubernetes.qps", "HYPERFLEET_KUBERNETES_QPS"),
    ("clients.kubernetes.burst", "HYPERFLEET_KUBERNETES_BURST"),
    (
        "clients.kubernetes.timeout",
        "HYPERFLEET_KUBERNETES_TIMEOUT",
    ),
    (
        "clients.kubernetes.retry_attempts",
        "HYPERFLEET_KUBERNETES_RETRY_ATTEMPTS",
    ),
    (
        "clients.kubernetes.recreate_timeout",
        "HYPERFLEET_KUBERNETES_RECREATE_TIMEOUT",
    ),
];

/// Paths whose values are booleans: env and flag text goes through Go's `ParseBool`.
const BOOL_PATHS: &[&str] = &["debug_config", "clients.maestro.insecure"];

text_error!(
    /// An env var or flag whose value the config field cannot take (the text names the
    /// variable or flag).
    OverrideError
);

use crate::golang::parse_bool as parse_go_bool;

/// Applies env and flag overrides to the parsed file tree. `flags` holds only the flags that
/// were given on the command line, as `(config path, text)`.
pub fn apply_overrides(
    root: &mut Node,
    env: &dyn EnvSource,
    flags: &[(String, String)],
) -> Result<(), OverrideError> {
    let vars = env.vars();
    // Viper's AutomaticEnv: any key present in the file may be overridden by HYPERFLEET_<PATH>.
    let mut present = Vec::new();
    leaf_paths(root, "", &mut present);
    for path in present {
        let name = format!(
            "HYPERFLEET_{}",
            path.to_uppercase().replace(['.', '-'], "_")
        );
        if let Some(v) = vars.get(&name).filter(|v| !v.is_empty()) {
            set_path(root, &path, v)?;
        }
    }
    for (path, var) in ENV_TABLE {
        let mut value = non_empty(env, var);
        if value.is_none() && *path == "clients.broker.subscription_id" {
            value = non_empty(env, "BROKER_SUBSCRIPTION_ID");
        }
        if value.is_none() && *path == "clients.broker.topic" {
            value = non_empty(env, "BROKER_TOPIC");
        }
        if let Some(v) = value {
            set_path(root, path, &v).map_err(|e| OverrideError::from(format!("{var}: {e}")))?;
        }
    }
    for (var, path, lower) in [
        ("LOG_LEVEL", "log.level", true),
        ("LOG_FORMAT", "log.format", true),
        ("LOG_OUTPUT", "log.output", false),
    ] {
        if let Some(v) = non_empty(env, var) {
            set_path(root, path, &if lower { v.to_lowercase() } else { v })?;
        }
    }
    for (path, v) in flags {
        set_path(root, path, v)
            .map_err(|e| OverrideError::from(format!("flag for {path}: {e}")))?;
    }
    Ok(())
}

fn leaf_paths(node: &Node, prefix: &str, out: &mut Vec<String>) {
    if let NodeKind::Map(entries) = &node.kind {
        for (k, v) in entries {
            let Some(key) = k.as_str() else { continue };
            let path = if prefix.is_empty() {
                key.to_string()
            } else {
                format!("{prefix}.{key}")
            };
            match &v.kind {
                NodeKind::Map(_) => leaf_paths(v, &path, out),
                NodeKind::Scalar { .. } => out.push(path),
                NodeKind::Seq(_) => {}
            }
        }
    }
}

/// Sets `path` to the scalar `text` (as a plain scalar, so `"22"` decodes as a number, the way
/// Viper's weak typing converts env strings). Missing parents are created.
pub fn set_path(root: &mut Node, path: &str, text: &str) -> Result<(), OverrideError> {
    let text = if BOOL_PATHS.contains(&path) {
        match parse_go_bool(text) {
            Some(b) => b.to_string(),
            None => return Err(format!("cannot parse {text:?} as bool").into()),
        }
    } else {
        text.to_string()
    };
    let mut node = root;
    let segs: Vec<&str> = path.split('.').collect();
    for (i, seg) in segs.iter().enumerate() {
        if node.is_null() || !matches!(node.kind, NodeKind::Map(_)) {
            node.kind = NodeKind::Map(Vec::new());
        }
        let NodeKind::Map(entries) = &mut node.kind else {
            unreachable!("just made a map")
        };
        let pos = match entries.iter().position(|(k, _)| k.as_str() == Some(seg)) {
            Some(p) => p,
            None => {
                entries.push((
                    Node::scalar(seg),
                    Node {
                        kind: NodeKind::Map(Vec::new()),
                        line: 0,
                        col: 0,
                    },
                ));
                entries.len() - 1
            }
        };
        let slot = &mut entries[pos].1;
        if i == segs.len() - 1 {
            // Quote-free text that YAML would read as null stays an empty string.
            *slot = Node {
                kind: NodeKind::Scalar {
                    text: text.clone(),
                    plain: true,
                    tag: None,
                },
                line: 0,
                col: 0,
            };
            if slot.is_null() {
                slot.kind = NodeKind::Scalar {
                    text: text.clone(),
                    plain: false,
                    tag: None,
                };
            }
            return Ok(());
        }
        node = slot;
    }
    Ok(())
}
