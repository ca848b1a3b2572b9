//! The fake Maestro's store and its simulated work agent: bundles by resource id, consumers,
//! subscribers, and what Publish does with a spec event (create, update, delete), the status the
//! agent reports and the events Subscribe streams carry.

use super::Report;
use super::events::{DATA_TYPE, attr_int, attr_string, data_json, string_attr};
use super::proto::{CloudEvent, cloud_event};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tonic::{Code, Status};

pub(super) const NOW: &str = "2026-02-18T10:22:10Z";

#[derive(Debug, Clone)]
pub(super) struct Bundle {
    pub(super) source: String,
    pub(super) consumer: String,
    pub(super) version: i64,
    pub(super) deleted: bool,
    pub(super) metadata: Value,
    pub(super) manifests: Value,
    pub(super) delete_option: Option<Value>,
    pub(super) manifest_configs: Option<Value>,
    pub(super) status: Option<Value>,
}

pub(super) type Subscriber = (String, mpsc::Sender<Result<CloudEvent, Status>>);

pub(super) struct State {
    pub(super) consumers: BTreeMap<String, String>,
    pub(super) bundles: BTreeMap<String, Bundle>,
    pub(super) subscribers: Vec<Subscriber>,
    pub(super) published: Vec<CloudEvent>,
    pub(super) subscriptions: usize,
    pub(super) fail_publish: Option<(Code, usize)>,
    /// Publishes are held this long before being answered (a stalled Maestro).
    pub(super) hold_publish: Option<Duration>,
    /// REST reads are held this long before being answered (a hung REST API).
    pub(super) hold_rest: Option<Duration>,
    /// Bundles created while set stay out of the REST view until revealed (a lagging view).
    pub(super) lag_rest: bool,
    pub(super) hidden: std::collections::BTreeSet<String>,
    pub(super) heartbeats: bool,
    pub(super) report: Report,
    pub(super) applied: bool,
    pub(super) finish_deletes: bool,
    /// JSONPath feedback name → fieldValue, for every matching feedback rule.
    pub(super) feedback: BTreeMap<String, Value>,
    pub(super) sequence: u64,
    /// Required `authorization: Bearer <token>` on gRPC calls (Maestro's `token` authn).
    pub(super) token: Option<String>,
}

pub(super) fn lock(state: &Arc<Mutex<State>>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn uuid_from(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// The lower-case plural resource of a kind (enough for the kinds the tests use).
fn plural(kind: &str) -> String {
    let lower = kind.to_lowercase();
    if lower.ends_with('s') {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

impl State {
    pub(super) fn next_sequence(&mut self) -> String {
        self.sequence += 1;
        self.sequence.to_string()
    }

    /// The simulated agent's status for a bundle at its current version.
    pub(super) fn report(&mut self, id: &str) {
        let sequence = self.next_sequence();
        let applied = self.applied;
        let feedback = self.feedback.clone();
        let Some(b) = self.bundles.get_mut(id) else {
            return;
        };
        let version = b.version;
        let condition = |t: &str, ok: bool, reason: &str, message: &str| {
            json!({"type": t, "status": if ok { "True" } else { "False" }, "observedGeneration": version,
                   "lastTransitionTime": NOW, "reason": reason, "message": message})
        };
        let work_conditions = if applied {
            vec![
                condition(
                    "Applied",
                    true,
                    "AppliedManifestWorkComplete",
                    "Apply manifest work complete",
                ),
                condition(
                    "Available",
                    true,
                    "ResourcesAvailable",
                    "All resources are available",
                ),
            ]
        } else {
            vec![condition(
                "Applied",
                false,
                "AppliedManifestWorkFailed",
                "Failed to apply manifest work",
            )]
        };
        let configs = b.manifest_configs.clone().unwrap_or(json!([]));
        let resource_status: Vec<Value> = b
            .manifests
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let api_version = m["apiVersion"].as_str().unwrap_or_default();
                let (group, ver) = api_version.rsplit_once('/').unwrap_or(("", api_version));
                let kind = m["kind"].as_str().unwrap_or_default();
                let name = m["metadata"]["name"].as_str().unwrap_or_default();
                let namespace = m["metadata"]["namespace"].as_str().unwrap_or_default();
                let resource = plural(kind);
                let values: Vec<Value> = configs
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|c| {
                        let rid = &c["resourceIdentifier"];
                        rid["resource"] == json!(resource)
                            && rid["name"] == json!(name)
                            && rid["namespace"].as_str().unwrap_or_default() == namespace
                    })
                    .flat_map(|c| c["feedbackRules"].as_array().cloned().unwrap_or_default())
                    .flat_map(|r| r["jsonPaths"].as_array().cloned().unwrap_or_default())
                    .filter_map(|p| {
                        let n = p["name"].as_str()?;
                        feedback.get(n).map(|v| json!({"name": n, "fieldValue": v}))
                    })
                    .collect();
                json!({
                    "resourceMeta": {"ordinal": i, "group": group, "version": ver, "kind": kind,
                                     "resource": resource, "name": name, "namespace": namespace},
                    "statusFeedback": {"values": values},
                    "conditions": [
                        {"type": "Applied", "status": if applied { "True" } else { "False" }, "lastTransitionTime": NOW, "reason": "AppliedManifestComplete", "message": "Apply manifest complete"},
                        {"type": "Available", "status": "True", "lastTransitionTime": NOW, "reason": "ResourceAvailable", "message": "Resource is available"},
                        {"type": "StatusFeedbackSynced", "status": "True", "lastTransitionTime": NOW, "reason": "StatusFeedbackSynced", "message": ""},
                    ],
                })
            })
            .collect();
        b.status = Some(json!({"ObservedVersion": version, "SequenceID": sequence,
                               "conditions": work_conditions, "resourceStatus": resource_status}));
        let event = status_event(id, b, &sequence, None);
        let source = b.source.clone();
        self.broadcast(&source, event);
    }

    pub(super) fn finish_delete(&mut self, id: &str) {
        let sequence = self.next_sequence();
        let Some(b) = self.bundles.remove(id) else {
            return;
        };
        let deleted = json!({"type": "Deleted", "status": "True", "lastTransitionTime": NOW,
                             "reason": "ManifestsDeleted", "message": "All manifests are deleted"});
        let event = status_event(id, &b, &sequence, Some(deleted));
        self.broadcast(&b.source.clone(), event);
    }

    pub(super) fn broadcast(&mut self, source: &str, event: CloudEvent) {
        self.subscribers.retain(|(s, tx)| {
            if s != source {
                return true;
            }
            tx.try_send(Ok(event.clone())).is_ok()
        });
    }

    pub(super) fn publish(&mut self, event: &CloudEvent) -> Result<(), String> {
        if event.attributes.is_empty() || event.spec_version.is_empty() {
            return Err("failed to convert protobuf to cloudevent: unknown encoding".into());
        }
        let parts: Vec<&str> = event.r#type.split('.').collect();
        if parts.len() < 5 || !event.r#type.starts_with(DATA_TYPE) {
            return Err(format!(
                "failed to parse cloud event type {}, unsupported",
                event.r#type
            ));
        }
        let action = parts[parts.len() - 1];
        let decode =
            |key: &str| format!("failed to decode cloudevent: failed to get {key} extension");
        let consumer = attr_string(event, "ce-clustername").ok_or_else(|| decode("clustername"))?;
        let id = attr_string(event, "ce-resourceid").ok_or_else(|| decode("resourceid"))?;
        let version =
            attr_int(event, "ce-resourceversion").ok_or_else(|| decode("resourceversion"))?;
        let metadata: Value = attr_string(event, "ce-metadata")
            .and_then(|m| serde_json::from_str(&m).ok())
            .unwrap_or(json!({}));
        let bundle = data_json(event);
        match action {
            "create_request" => {
                let bundle = bundle.ok_or("failed to create resource: maestro-8: the manifest bundle in the resource is invalid, no data")?;
                let manifests = bundle["manifests"].clone();
                if manifests.as_array().is_none_or(|m| m.is_empty()) {
                    return Err("failed to create resource: maestro-8: the manifest bundle in the resource is invalid, manifests should not be empty".into());
                }
                for m in manifests.as_array().unwrap() {
                    if m["apiVersion"].as_str().is_none_or(str::is_empty)
                        || m["kind"].as_str().is_none_or(str::is_empty)
                        || m["metadata"]["name"].as_str().is_none_or(str::is_empty)
                    {
                        return Err("failed to create resource: maestro-8: the manifest bundle in the resource is invalid, apiVersion, kind and metadata.name are required".into());
                    }
                }
                if !self.consumers.contains_key(&consumer) {
                    return Err("failed to create resource: maestro-9: Unable to create Resource: ERROR: insert or update on table \"resources\" violates foreign key constraint \"fk_resources_consumers\" (SQLSTATE 23503)".into());
                }
                if self.bundles.contains_key(&id) {
                    return Err(
                        "failed to create resource: maestro-6: This Resource already exists".into(),
                    );
                }
                if self.lag_rest {
                    self.hidden.insert(id.clone());
                }
                self.bundles.insert(
                    id.clone(),
                    Bundle {
                        source: event.source.clone(),
                        consumer,
                        version: if version == 0 { 1 } else { version },
                        deleted: false,
                        metadata,
                        manifests,
                        delete_option: bundle.get("deleteOption").cloned(),
                        manifest_configs: bundle.get("manifestConfigs").cloned(),
                        status: None,
                    },
                );
                if self.report == Report::AtOnce {
                    self.report(&id);
                }
                Ok(())
            }
            "update_request" => {
                let bundle = bundle.ok_or("failed to update resource: maestro-8: the new manifest bundle in the resource is invalid, no data")?;
                let Some(b) = self.bundles.get_mut(&id) else {
                    return Err(format!(
                        "failed to get resource: maestro-7: Resource with id='{id}' not found"
                    ));
                };
                if b.deleted {
                    return Err(format!(
                        "failed to update resource: maestro-6: the resource is under deletion, id: {id}"
                    ));
                }
                let version = if version == 0 { b.version } else { version };
                if version != b.version {
                    return Err(format!(
                        "failed to update resource: maestro-6: the resource version is not the latest, the latest version: {}",
                        b.version
                    ));
                }
                let old = b.manifests.as_array().cloned().unwrap_or_default();
                let new = bundle["manifests"].as_array().cloned().unwrap_or_default();
                let same_shape = old.len() == new.len()
                    && old.iter().zip(&new).all(|(a, n)| {
                        [
                            "/apiVersion",
                            "/kind",
                            "/metadata/name",
                            "/metadata/namespace",
                        ]
                        .iter()
                        .all(|p| a.pointer(p) == n.pointer(p))
                    });
                if !same_shape {
                    return Err("failed to update resource: maestro-8: the new manifest bundle in the resource is invalid, the manifests must keep their number, kinds and names".into());
                }
                b.version += 1;
                b.manifests = bundle["manifests"].clone();
                b.delete_option = bundle.get("deleteOption").cloned();
                b.manifest_configs = bundle.get("manifestConfigs").cloned();
                let mut meta = metadata;
                if let Some(m) = meta.as_object_mut() {
                    m.remove("resourceVersion");
                    m.remove("generation");
                }
                b.metadata = meta;
                if self.report == Report::AtOnce {
                    self.report(&id);
                }
                Ok(())
            }
            "delete_request" => {
                if let Some(b) = self.bundles.get_mut(&id) {
                    b.deleted = true;
                    if self.finish_deletes {
                        self.finish_delete(&id);
                    }
                }
                Ok(())
            }
            other => Err(format!(
                "failed to parse cloud event type {}, unsupported action {other}",
                event.r#type
            )),
        }
    }
}

/// The status event Maestro re-sends to the bundle's source.
fn status_event(
    id: &str,
    b: &Bundle,
    sequence: &str,
    extra_condition: Option<Value>,
) -> CloudEvent {
    let mut status = b
        .status
        .clone()
        .unwrap_or(json!({"conditions": [], "resourceStatus": []}));
    if let Some(c) = extra_condition
        && let Some(list) = status["conditions"].as_array_mut()
    {
        list.push(c);
    }
    let data = json!({
        "manifestBundle": {"manifests": b.manifests},
        "conditions": status["conditions"],
        "resourceStatus": status["resourceStatus"],
    });
    let mut attributes = HashMap::new();
    attributes.insert("contenttype".to_string(), string_attr("application/json"));
    attributes.insert(
        "ce-clustername".to_string(),
        string_attr(b.consumer.clone()),
    );
    attributes.insert("ce-originalsource".to_string(), string_attr("maestro"));
    attributes.insert("ce-resourceid".to_string(), string_attr(id));
    // As it comes back from Maestro's database: a decimal string.
    attributes.insert(
        "ce-resourceversion".to_string(),
        string_attr(b.version.to_string()),
    );
    attributes.insert("ce-sequenceid".to_string(), string_attr(sequence));
    attributes.insert(
        "ce-metadata".to_string(),
        string_attr(b.metadata.to_string()),
    );
    attributes.insert("ce-logtracing".to_string(), string_attr("{}"));
    CloudEvent {
        id: uuid_from(sequence.len() as u64),
        source: format!("{}-work-agent", b.consumer),
        spec_version: "1.0".into(),
        r#type: format!("{DATA_TYPE}.status.update_request"),
        attributes,
        data: Some(cloud_event::Data::BinaryData(data.to_string().into_bytes())),
    }
}
