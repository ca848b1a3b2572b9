//! CloudEvents on Maestro's gRPC channel as the fake reads and writes them, written here rather
//! than borrowed from the adapter: attribute readers (integers may arrive as decimal strings),
//! the JSON payload, and spec events as a source publishes them (binary content mode).

use super::proto::{
    CloudEvent, CloudEventAttributeValue, cloud_event, cloud_event_attribute_value,
};
use serde_json::Value;
use std::collections::HashMap;

/// The data type of every work event.
pub const DATA_TYPE: &str = "io.open-cluster-management.works.v1alpha1.manifestbundles";
/// Heartbeats on the Subscribe stream.
pub const HEARTBEAT: &str = "io.open-cluster-management.cloudevents.heartbeat";

/// A string attribute value.
pub(crate) fn string_attr(s: impl Into<String>) -> CloudEventAttributeValue {
    CloudEventAttributeValue {
        attr: Some(cloud_event_attribute_value::Attr::CeString(s.into())),
    }
}

/// An attribute as text (`ce-` keys are matched case-insensitively); timestamps as RFC 3339.
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
        Attr::CeTimestamp(t) => {
            chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
                .map(|d| d.to_rfc3339())
                .unwrap_or_default()
        }
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

/// What a spec event asks Maestro to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecAction {
    /// `spec.create_request`
    Create,
    /// `spec.update_request`
    Update,
    /// `spec.delete_request`
    Delete,
}

/// A spec event as a Maestro source publishes it, in binary content mode: `source`, the
/// `clustername`, `resourceid`, `resourceversion` (an integer) and `metadata` extensions, and
/// the ManifestBundle `bundle` as JSON data (none for a delete).
pub fn spec_event(
    action: SpecAction,
    source: &str,
    consumer: &str,
    resource_id: &str,
    version: i32,
    metadata: &Value,
    bundle: Option<&Value>,
) -> CloudEvent {
    let now = chrono::Utc::now();
    let time = CloudEventAttributeValue {
        attr: Some(cloud_event_attribute_value::Attr::CeTimestamp(
            prost_types::Timestamp {
                seconds: now.timestamp(),
                nanos: i32::try_from(now.timestamp_subsec_nanos()).unwrap_or(0),
            },
        )),
    };
    let mut attributes = HashMap::new();
    attributes.insert("ce-time".to_string(), time.clone());
    attributes.insert("ce-clustername".to_string(), string_attr(consumer));
    attributes.insert("ce-resourceid".to_string(), string_attr(resource_id));
    attributes.insert(
        "ce-resourceversion".to_string(),
        CloudEventAttributeValue {
            attr: Some(cloud_event_attribute_value::Attr::CeInteger(version)),
        },
    );
    attributes.insert("ce-metadata".to_string(), string_attr(metadata.to_string()));
    let action = match action {
        SpecAction::Create => "create_request",
        SpecAction::Update => "update_request",
        SpecAction::Delete => {
            attributes.insert("ce-deletiontimestamp".to_string(), time);
            "delete_request"
        }
    };
    let data = bundle.map(|b| {
        attributes.insert("contenttype".to_string(), string_attr("application/json"));
        cloud_event::Data::BinaryData(b.to_string().into_bytes())
    });
    CloudEvent {
        id: format!("{resource_id}-{action}-{version}"),
        source: source.to_string(),
        spec_version: "1.0".into(),
        r#type: format!("{DATA_TYPE}.spec.{action}"),
        attributes,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_integers_given_as_strings_and_keys_in_any_case() {
        let mut event = spec_event(SpecAction::Create, "s", "c", "id", 0, &json!({}), None);
        assert_eq!(attr_int(&event, "CE-ResourceVersion"), Some(0));
        event
            .attributes
            .insert("ce-resourceversion".into(), string_attr(" 42 "));
        assert_eq!(attr_int(&event, "ce-resourceversion"), Some(42));
        assert!(attr_string(&event, "ce-time").unwrap().ends_with("+00:00"));
        assert_eq!(attr_string(&event, "ce-missing"), None);
    }

    #[test]
    fn a_delete_carries_no_data_and_a_deletion_timestamp() {
        let bundle = json!({"manifests": []});
        let create = spec_event(
            SpecAction::Create,
            "s",
            "c",
            "id",
            0,
            &json!({}),
            Some(&bundle),
        );
        assert_eq!(data_json(&create), Some(bundle));
        assert_eq!(
            attr_string(&create, "contenttype").as_deref(),
            Some("application/json")
        );
        let delete = spec_event(SpecAction::Delete, "s", "c", "id", 3, &json!({}), None);
        assert!(delete.data.is_none() && data_json(&delete).is_none());
        assert!(attr_string(&delete, "ce-deletiontimestamp").is_some());
        assert!(delete.r#type.ends_with(".spec.delete_request"));
    }
}
