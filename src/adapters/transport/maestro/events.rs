//! CloudEvents on Maestro's gRPC channel: resource ids, the spec events the adapter publishes
//! (binary content mode, the extensions Maestro requires, the ManifestBundle payload) and the
//! attribute readers both sides need (integers may arrive as decimal strings).

use super::proto::{
    CloudEvent, CloudEventAttributeValue, cloud_event, cloud_event_attribute_value,
};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// The data type of every work event.
pub const DATA_TYPE: &str = "io.open-cluster-management.works.v1alpha1.manifestbundles";
/// Heartbeats on the Subscribe stream.
pub const HEARTBEAT: &str = "io.open-cluster-management.cloudevents.heartbeat";

/// What a spec event asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn event_type(&self) -> String {
        let action = match self {
            Action::Create => "create_request",
            Action::Update => "update_request",
            Action::Delete => "delete_request",
        };
        format!("{DATA_TYPE}.spec.{action}")
    }
}

/// The id Maestro and its agents know a work by: UUIDv5 (OID namespace) of
/// `<source>-manifestworks.work.open-cluster-management.io-<consumer>-<work>`.
pub fn resource_id(source: &str, consumer: &str, work: &str) -> String {
    let name = format!("{source}-manifestworks.work.open-cluster-management.io-{consumer}-{work}");
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
}

fn string(s: impl Into<String>) -> CloudEventAttributeValue {
    CloudEventAttributeValue {
        attr: Some(cloud_event_attribute_value::Attr::CeString(s.into())),
    }
}

fn timestamp(t: DateTime<Utc>) -> CloudEventAttributeValue {
    CloudEventAttributeValue {
        attr: Some(cloud_event_attribute_value::Attr::CeTimestamp(
            prost_types::Timestamp {
                seconds: t.timestamp(),
                nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
            },
        )),
    }
}

/// A resource version the `resourceversion` extension (int32) cannot carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("resource version {0} does not fit the resourceversion extension (int32)")]
pub struct VersionOverflow(pub i64);

/// One spec event to publish.
#[derive(Debug, Clone)]
pub struct SpecEvent<'a> {
    pub action: Action,
    pub source: &'a str,
    pub consumer: &'a str,
    pub resource_id: &'a str,
    /// Create: 0 (Maestro assigns 1); update and delete: the version read over REST.
    pub version: i64,
    /// The work's ObjectMeta, sent as the `metadata` extension.
    pub metadata: &'a Value,
    /// The ManifestBundle (create and update; a delete carries no data).
    pub bundle: Option<&'a Value>,
    pub now: DateTime<Utc>,
}

impl SpecEvent<'_> {
    /// The protobuf event, in binary content mode.
    pub fn encode(&self) -> Result<CloudEvent, VersionOverflow> {
        let version = i32::try_from(self.version).map_err(|_| VersionOverflow(self.version))?;
        let mut attributes: HashMap<String, CloudEventAttributeValue> = HashMap::new();
        attributes.insert("ce-time".into(), timestamp(self.now));
        attributes.insert("ce-clustername".into(), string(self.consumer));
        attributes.insert("ce-originalsource".into(), string(""));
        attributes.insert("ce-resourceid".into(), string(self.resource_id));
        attributes.insert(
            "ce-resourceversion".into(),
            CloudEventAttributeValue {
                attr: Some(cloud_event_attribute_value::Attr::CeInteger(version)),
            },
        );
        attributes.insert("ce-metadata".into(), string(self.metadata.to_string()));
        attributes.insert("ce-logtracing".into(), string("{}"));
        if self.action == Action::Delete {
            attributes.insert("ce-deletiontimestamp".into(), timestamp(self.now));
        }
        let data = match self.bundle {
            Some(bundle) => {
                attributes.insert("contenttype".into(), string("application/json"));
                Some(cloud_event::Data::BinaryData(
                    bundle.to_string().into_bytes(),
                ))
            }
            None => None,
        };
        Ok(CloudEvent {
            id: uuid::Uuid::new_v4().to_string(),
            source: self.source.to_string(),
            spec_version: "1.0".into(),
            r#type: self.action.event_type(),
            attributes,
            data,
        })
    }
}

/// An attribute as text (`ce-` keys are matched case-insensitively).
pub fn attr_string(event: &CloudEvent, key: &str) -> Option<String> {
    use cloud_event_attribute_value::Attr;
    let value = event
        .attributes
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| v.attr.as_ref())?;
    Some(match value {
        Attr::CeString(s) | Attr::CeUri(s) | Attr::CeUriRef(s) => s.clone(),
        Attr::CeInteger(i) => i.to_string(),
        Attr::CeBoolean(b) => b.to_string(),
        Attr::CeBytes(b) => String::from_utf8_lossy(b).into_owned(),
        Attr::CeTimestamp(t) => DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
            .map(|d| d.to_rfc3339())
            .unwrap_or_default(),
    })
}

/// An integer attribute: `ce_integer`, or a decimal string (what survives Maestro's database).
pub fn attr_int(event: &CloudEvent, key: &str) -> Option<i64> {
    attr_string(event, key).and_then(|s| s.trim().parse().ok())
}

/// The JSON in `binary_data`, if any.
pub fn data_json(event: &CloudEvent) -> Option<Value> {
    match &event.data {
        Some(cloud_event::Data::BinaryData(b)) => serde_json::from_slice(b).ok(),
        _ => None,
    }
}

/// The ManifestBundle of a ManifestWork, as the OCM client serialises it: the manifests as
/// written, `deleteOption` with its known fields, `manifestConfigs` with a complete
/// `resourceIdentifier` and an explicit `serverSideApply.force`.
pub fn bundle_of(work: &Value) -> Value {
    let spec = work.get("spec").cloned().unwrap_or(Value::Null);
    let mut bundle = Map::new();
    bundle.insert(
        "manifests".into(),
        spec.pointer("/workload/manifests")
            .cloned()
            .unwrap_or_else(|| json!([])),
    );
    if let Some(option) = spec.get("deleteOption").and_then(Value::as_object) {
        let known: Map<String, Value> = option
            .iter()
            .filter(|(k, _)| {
                matches!(
                    k.as_str(),
                    "propagationPolicy" | "selectivelyOrphans" | "ttlSecondsAfterFinished"
                )
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        bundle.insert("deleteOption".into(), Value::Object(known));
    }
    if let Some(configs) = spec
        .get("manifestConfigs")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
    {
        let configs = configs
            .iter()
            .map(|c| {
                let mut c = c.clone();
                if let Some(id) = c
                    .get_mut("resourceIdentifier")
                    .and_then(Value::as_object_mut)
                {
                    for key in ["group", "resource", "name", "namespace"] {
                        id.entry(key).or_insert_with(|| json!(""));
                    }
                }
                if let Some(ssa) = c
                    .pointer_mut("/updateStrategy/serverSideApply")
                    .and_then(Value::as_object_mut)
                {
                    ssa.entry("force").or_insert(json!(false));
                }
                c
            })
            .collect();
        bundle.insert("manifestConfigs".into(), Value::Array(configs));
    }
    if let Some(executor) = spec.get("executor") {
        bundle.insert("executer".into(), executor.clone());
    }
    Value::Object(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_match_the_protocol_test_vectors() {
        assert_eq!(
            resource_id("hyperfleet-adapter", "cluster1", "abc123-mw"),
            "c8a68a66-5562-5e7b-bc78-2006e1459591"
        );
        assert_eq!(
            resource_id(
                "integration-test-create",
                "test-cluster-create",
                "test-manifestwork-create"
            ),
            "9893806a-e064-580d-9396-e700e40db423"
        );
    }

    #[test]
    fn spec_events_carry_the_required_extensions() {
        let meta = json!({"name": "abc123-mw", "namespace": "cluster1"});
        let bundle = json!({"manifests": []});
        let now = "2026-02-18T10:22:10.123Z".parse().unwrap();
        let mut spec = SpecEvent {
            action: Action::Create,
            source: "hyperfleet-adapter",
            consumer: "cluster1",
            resource_id: "c8a68a66-5562-5e7b-bc78-2006e1459591",
            version: 0,
            metadata: &meta,
            bundle: Some(&bundle),
            now,
        };
        let e = spec.encode().unwrap();
        assert_eq!(e.r#type, format!("{DATA_TYPE}.spec.create_request"));
        assert_eq!(
            (e.spec_version.as_str(), e.source.as_str()),
            ("1.0", "hyperfleet-adapter")
        );
        assert_eq!(
            attr_string(&e, "contenttype").as_deref(),
            Some("application/json")
        );
        assert_eq!(
            attr_string(&e, "CE-ClusterName").as_deref(),
            Some("cluster1")
        );
        assert_eq!(attr_int(&e, "ce-resourceversion"), Some(0));
        assert_eq!(attr_string(&e, "ce-originalsource").as_deref(), Some(""));
        assert_eq!(attr_string(&e, "ce-logtracing").as_deref(), Some("{}"));
        assert_eq!(
            serde_json::from_str::<Value>(&attr_string(&e, "ce-metadata").unwrap()).unwrap(),
            meta
        );
        assert_eq!(data_json(&e).as_ref(), Some(&bundle));
        assert!(attr_string(&e, "ce-deletiontimestamp").is_none());

        spec.action = Action::Delete;
        spec.bundle = None;
        spec.version = 3;
        let d = spec.encode().unwrap();
        assert!(d.data.is_none() && attr_string(&d, "contenttype").is_none());
        assert!(
            attr_string(&d, "ce-deletiontimestamp")
                .unwrap()
                .starts_with("2026-02-18T10:22:10")
        );
        assert_eq!(attr_int(&d, "ce-resourceversion"), Some(3));
        spec.version = i64::from(i32::MAX) + 1;
        assert!(spec.encode().is_err());
    }

    #[test]
    fn bundles_are_serialised_like_the_ocm_client() {
        let work = json!({"spec": {
            "workload": {"manifests": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}]},
            "deleteOption": {"propagationPolicy": "Foreground", "gracePeriodSeconds": 30},
            "manifestConfigs": [{"resourceIdentifier": {"resource": "namespaces", "name": "x"},
                                 "updateStrategy": {"type": "ServerSideApply", "serverSideApply": {"fieldManager": "hyperfleet-adapter"}}}]
        }});
        let b = bundle_of(&work);
        assert_eq!(
            b["deleteOption"],
            json!({"propagationPolicy": "Foreground"})
        );
        assert_eq!(
            b["manifestConfigs"][0]["resourceIdentifier"],
            json!({"group": "", "resource": "namespaces", "name": "x", "namespace": ""})
        );
        assert_eq!(
            b["manifestConfigs"][0]["updateStrategy"]["serverSideApply"]["force"],
            false
        );
        assert_eq!(b["manifests"][0]["kind"], "Namespace");
        assert!(
            bundle_of(&json!({"spec": {"workload": {"manifests": []}}}))
                .get("deleteOption")
                .is_none()
        );
    }
}
