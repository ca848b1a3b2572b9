//! The fake Maestro's REST API (`/api/maestro/v1`): resource bundles by id, paged and searched
//! lists of bundles and consumers, consumer creation, and Maestro's error bodies.

use super::state::{Bundle, NOW, State, lock, uuid_from};
use axum::extract::{Path, Query, State as AxumState};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A Maestro REST error body.
pub(super) fn error(status: u16, id: &str, reason: &str) -> axum::response::Response {
    (
        axum::http::StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({"kind": "Error", "id": id, "href": format!("/api/maestro/v1/errors/{id}"),
                          "code": format!("maestro-{id}"), "reason": reason, "operation_id": "fake-op"})),
    )
        .into_response()
}

/// A bundle in the REST API's ResourceBundle form.
pub(super) fn present(id: &str, b: &Bundle) -> Value {
    let mut metadata = b.metadata.clone();
    metadata["creationTimestamp"] = json!(NOW);
    let mut out = json!({
        "id": id, "kind": "ResourceBundle", "href": format!("/api/maestro/v1/resource-bundles/{id}"),
        "name": id, "consumer_name": b.consumer, "version": b.version,
        "created_at": "2026-02-18T10:22:10.123456Z", "updated_at": "2026-02-18T10:22:11.456789Z",
        "manifests": b.manifests,
    });
    if b.deleted {
        out["deleted_at"] = json!("2026-02-18T10:30:00.000000Z");
        metadata["deletionTimestamp"] = json!("2026-02-18T10:30:00Z");
    }
    out["metadata"] = metadata;
    if let Some(d) = b
        .delete_option
        .as_ref()
        .filter(|d| d.as_object().is_some_and(|o| !o.is_empty()))
    {
        out["delete_option"] = d.clone();
    }
    if let Some(c) = b
        .manifest_configs
        .as_ref()
        .filter(|c| c.as_array().is_some_and(|a| !a.is_empty()))
    {
        out["manifest_configs"] = c.clone();
    }
    if let Some(st) = &b.status {
        out["status"] = st.clone();
    }
    out
}

/// `k='v' and k2='v2'` → pairs.
fn parse_search(search: &str) -> Result<Vec<(String, String)>, String> {
    search
        .split(" and ")
        .filter(|c| !c.trim().is_empty())
        .map(|clause| {
            let (k, v) = clause
                .split_once('=')
                .ok_or(format!("cannot parse {clause:?}"))?;
            let v = v.trim();
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .ok_or(format!("cannot parse {clause:?}"))?;
            Ok((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

pub(super) async fn get_bundle(
    AxumState(state): AxumState<Arc<Mutex<State>>>,
    Path(id): Path<String>,
) -> axum::response::Response {
    let hold = lock(&state).hold_rest;
    if let Some(hold) = hold {
        tokio::time::sleep(hold).await;
    }
    let s = lock(&state);
    match s.bundles.get(&id).filter(|_| !s.hidden.contains(&id)) {
        Some(b) => axum::Json(present(&id, b)).into_response(),
        None => error(404, "7", &format!("Resource with id='{id}' not found")),
    }
}

fn paged(kind: &str, items: Vec<Value>, q: &HashMap<String, String>) -> axum::response::Response {
    let page: usize = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let size: usize = q.get("size").and_then(|p| p.parse().ok()).unwrap_or(100);
    let total = items.len();
    let items: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    axum::Json(
        json!({"kind": kind, "page": page, "size": items.len(), "total": total, "items": items}),
    )
    .into_response()
}

pub(super) async fn list_bundles(
    AxumState(state): AxumState<Arc<Mutex<State>>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    let clauses = match parse_search(q.get("search").map(String::as_str).unwrap_or("")) {
        Ok(c) => c,
        Err(e) => return error(400, "23", &format!("Failed to parse search query: {e}")),
    };
    let s = lock(&state);
    let items = s
        .bundles
        .iter()
        .filter(|(id, _)| !s.hidden.contains(*id))
        .filter(|(_, b)| {
            clauses.iter().all(|(k, v)| match k.as_str() {
                "source" => b.source == *v,
                "consumer_name" => b.consumer == *v,
                _ => false,
            })
        })
        .map(|(id, b)| present(id, b))
        .collect();
    paged("ResourceBundleList", items, &q)
}

pub(super) async fn list_consumers(
    AxumState(state): AxumState<Arc<Mutex<State>>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    let clauses = match parse_search(q.get("search").map(String::as_str).unwrap_or("")) {
        Ok(c) => c,
        Err(e) => return error(400, "23", &format!("Failed to parse search query: {e}")),
    };
    let s = lock(&state);
    let items = s
        .consumers
        .iter()
        .filter(|(name, _)| clauses.iter().all(|(k, v)| k == "name" && *name == v))
        .map(|(name, id)| json!({"id": id, "kind": "Consumer", "href": format!("/api/maestro/v1/consumers/{id}"), "name": name}))
        .collect();
    paged("ConsumerList", items, &q)
}

pub(super) async fn create_consumer(
    AxumState(state): AxumState<Arc<Mutex<State>>>,
    axum::Json(body): axum::Json<Value>,
) -> axum::response::Response {
    let name = body["name"].as_str().unwrap_or_default().to_string();
    let mut s = lock(&state);
    if s.consumers.contains_key(&name) {
        return error(
            409,
            "6",
            &format!("Consumer with name='{name}' already exists"),
        );
    }
    let id = uuid_from(s.consumers.len() as u64 + 1);
    s.consumers.insert(name.clone(), id.clone());
    (
        axum::http::StatusCode::CREATED,
        axum::Json(json!({"id": id, "kind": "Consumer", "name": name})),
    )
        .into_response()
}
