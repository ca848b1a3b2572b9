//! Reads over Maestro's REST API: resource bundles by id and by source and consumer (paged by
//! 400, deleting bundles included), consumers by name, and the bundle → ManifestWork
//! conversion the OCM source client does.

use crate::ports::{ErrorKind, TransportError};
use serde_json::{Map, Value, json};

/// The REST client.
#[derive(Clone)]
pub struct Rest {
    http: reqwest::Client,
    base: String,
    token: Option<super::TokenFile>,
    /// The client's whole-request deadline (headers and body), named in its error.
    timeout: std::time::Duration,
}

/// The page size the OCM client asks for.
pub const PAGE_SIZE: usize = 400;

impl Rest {
    /// `http` must carry `timeout` as its request timeout; `timeout` is only named in errors.
    pub fn new(
        http: reqwest::Client,
        base: &str,
        token: Option<super::TokenFile>,
        timeout: std::time::Duration,
    ) -> Self {
        Rest {
            http,
            base: format!("{}/api/maestro/v1", base.trim_end_matches('/')),
            token,
            timeout,
        }
    }

    /// A failed request, saying so plainly when it was the deadline.
    fn failure(&self, url: &str, e: reqwest::Error, reading: bool) -> TransportError {
        if e.is_timeout() {
            let message = format!(
                "GET {url}: no answer within {} (clients.maestro.timeout)",
                crate::config::GoDuration(self.timeout.as_nanos() as i64)
            );
            return TransportError::new(ErrorKind::Timeout, message).with_source(e);
        }
        let message = if reading {
            format!("GET {url}: reading the response: {e}")
        } else {
            format!("GET {url}: {}", crate::adapters::error_chain(&e))
        };
        TransportError::new(ErrorKind::Unavailable, message).with_source(e)
    }

    async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Option<Value>, TransportError> {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .get(&url)
            .header("accept", "application/json")
            .header(
                "user-agent",
                format!("hyperfleet-adapter/{}", crate::version::VERSION),
            )
            .query(query);
        if let Some(token) = &self.token {
            req = req.bearer_auth(
                token
                    .read()
                    .map_err(|e| TransportError::new(ErrorKind::Unauthorized, e.to_string()))?,
            );
        }
        let response = req.send().await.map_err(|e| self.failure(&url, e, false))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.failure(&url, e, true))?;
        if status == 404 {
            return Ok(None);
        }
        let json: Value = serde_json::from_slice(&body).map_err(|e| {
            TransportError::new(
                ErrorKind::of_http_status(status),
                format!(
                    "GET {url}: HTTP {status}, not JSON ({e}): {}",
                    String::from_utf8_lossy(&body)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ),
            )
        })?;
        if status >= 400 {
            let code = json.get("code").and_then(Value::as_str).unwrap_or_default();
            let reason = json
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or_default();
            return Err(TransportError::new(
                ErrorKind::of_http_status(status),
                format!("GET {url}: HTTP {status}: {code}: {reason}"),
            ));
        }
        Ok(Some(json))
    }

    /// A bundle by id; `None` when Maestro does not have it.
    pub async fn bundle(&self, id: &str) -> Result<Option<Value>, TransportError> {
        self.get(&format!("/resource-bundles/{id}"), &[]).await
    }

    /// Every bundle of `source` for `consumer`, following pages.
    pub async fn bundles(
        &self,
        source: &str,
        consumer: &str,
    ) -> Result<Vec<Value>, TransportError> {
        let search = format!("source='{source}' and consumer_name='{consumer}'");
        let mut items = Vec::new();
        for page in 1.. {
            let list = self
                .get(
                    "/resource-bundles",
                    &[
                        ("page", page.to_string()),
                        ("search", search.clone()),
                        ("size", PAGE_SIZE.to_string()),
                    ],
                )
                .await?
                .ok_or_else(|| TransportError::failed("the resource-bundles list answered 404"))?;
            let page_items = list
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let n = page_items.len();
            items.extend(page_items);
            if n < PAGE_SIZE {
                break;
            }
        }
        Ok(items)
    }

    /// Whether a consumer of that name is registered.
    pub async fn consumer_exists(&self, name: &str) -> Result<bool, TransportError> {
        let list = self
            .get("/consumers", &[("search", format!("name='{name}'"))])
            .await?
            .ok_or_else(|| TransportError::failed("the consumers list answered 404"))?;
        Ok(list
            .get("items")
            .and_then(Value::as_array)
            .is_some_and(|items| !items.is_empty()))
    }
}

/// A ResourceBundle as the ManifestWork the adapter sees: metadata from the bundle (with
/// `resourceVersion`/`generation` = the bundle's `version`), the spec from its manifests and
/// options, the status from the agent's report (`resourceStatus` under `manifests`).
pub fn to_manifest_work(bundle: &Value) -> Value {
    let version = bundle.get("version").and_then(Value::as_i64).unwrap_or(0);
    let mut metadata = bundle
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    metadata.insert("resourceVersion".into(), json!(version.to_string()));
    metadata.insert("generation".into(), json!(version));
    if let Some(id) = bundle.get("id") {
        metadata.entry("uid").or_insert_with(|| id.clone());
    }
    if let Some(consumer) = bundle.get("consumer_name") {
        metadata.insert("namespace".into(), consumer.clone());
    }
    let mut spec = Map::new();
    spec.insert(
        "workload".into(),
        json!({"manifests": bundle.get("manifests").cloned().unwrap_or_else(|| json!([]))}),
    );
    if let Some(d) = bundle
        .get("delete_option")
        .filter(|d| d.as_object().is_some_and(|o| !o.is_empty()))
    {
        spec.insert("deleteOption".into(), d.clone());
    }
    if let Some(c) = bundle
        .get("manifest_configs")
        .filter(|c| c.as_array().is_some_and(|a| !a.is_empty()))
    {
        spec.insert("manifestConfigs".into(), c.clone());
    }
    let mut work = json!({
        "apiVersion": "work.open-cluster-management.io/v1",
        "kind": "ManifestWork",
        "metadata": metadata,
        "spec": spec,
    });
    // Before the agent reports, the OCM client's conversion still yields an empty status, so
    // `has(resources.x.status.conditions)` is false rather than an error.
    let mut st = Map::new();
    let mut resource_status = Map::new();
    if let Some(status) = bundle.get("status").filter(|s| s.is_object()) {
        if let Some(c) = status.get("conditions") {
            st.insert("conditions".into(), c.clone());
        }
        if let Some(r) = status.get("resourceStatus") {
            resource_status.insert("manifests".into(), r.clone());
        }
    }
    st.insert("resourceStatus".into(), Value::Object(resource_status));
    work["status"] = Value::Object(st);
    work
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_convert_like_the_ocm_source_client() {
        let bundle = json!({
            "id": "c8a68a66-5562-5e7b-bc78-2006e1459591", "kind": "ResourceBundle", "consumer_name": "cluster1",
            "version": 2,
            "metadata": {"name": "abc123-mw", "namespace": "cluster1", "uid": "c8a68a66-5562-5e7b-bc78-2006e1459591",
                         "resourceVersion": "0", "annotations": {"hyperfleet.io/generation": "5"}},
            "manifests": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "abc123"}}],
            "delete_option": {"propagationPolicy": "Foreground"},
            "manifest_configs": [],
            "status": {"ObservedVersion": 2, "conditions": [{"type": "Applied", "status": "True"}],
                       "resourceStatus": [{"resourceMeta": {"name": "abc123", "namespace": ""}}]}
        });
        let work = to_manifest_work(&bundle);
        assert_eq!(work["kind"], "ManifestWork");
        assert_eq!(work["metadata"]["resourceVersion"], "2");
        assert_eq!(work["metadata"]["generation"], 2);
        assert_eq!(work["metadata"]["namespace"], "cluster1");
        assert_eq!(
            work["spec"]["workload"]["manifests"][0]["kind"],
            "Namespace"
        );
        assert_eq!(
            work["spec"]["deleteOption"]["propagationPolicy"],
            "Foreground"
        );
        assert!(
            work["spec"].get("manifestConfigs").is_none(),
            "empty lists are omitted"
        );
        assert_eq!(work["status"]["conditions"][0]["type"], "Applied");
        assert_eq!(
            work["status"]["resourceStatus"]["manifests"][0]["resourceMeta"]["name"],
            "abc123"
        );
        let fresh = to_manifest_work(&json!({"id": "x", "version": 1, "metadata": {"name": "w"}}));
        assert_eq!(
            fresh["status"],
            json!({"resourceStatus": {}}),
            "before the agent reports"
        );
    }
}
