//! Status read as the API server serves it (JSON) and written back.

use attune::crd::{AttunePolicyStatus, ContainerRecommendation, ResourceValues};
use serde_json::json;

#[test]
fn json_numbers_read_as_quantity_text() {
    let values: ResourceValues = serde_json::from_value(json!({
        "cpuRequest": 1, "cpuLimit": 0.5, "memoryRequest": "256Mi", "memoryLimit": null
    }))
    .unwrap();
    assert_eq!(values.cpu_request.as_deref(), Some("1"));
    assert_eq!(values.cpu_limit.as_deref(), Some("0.5"));
    assert_eq!(values.memory_request.as_deref(), Some("256Mi"));
    assert_eq!(values.memory_limit, None);
}

#[test]
fn status_writes_quantities_as_strings_and_omits_unset_fields() {
    let status = AttunePolicyStatus {
        recommendations: vec![attune::crd::WorkloadRecommendation {
            workload: "api".into(),
            kind: "Deployment".into(),
            containers: vec![ContainerRecommendation {
                name: "app".into(),
                recommended: ResourceValues {
                    cpu_request: Some("1".into()),
                    ..ResourceValues::default()
                },
                data_points: Some(48),
                ..ContainerRecommendation::default()
            }],
            ..Default::default()
        }],
        ..AttunePolicyStatus::default()
    };
    let written = serde_json::to_value(&status).unwrap();
    assert_eq!(
        written,
        json!({"recommendations": [{"workload": "api", "kind": "Deployment", "containers": [
            {"name": "app", "recommended": {"cpuRequest": "1"}, "dataPoints": 48}
        ]}]})
    );
    let read: AttunePolicyStatus = serde_json::from_value(written).unwrap();
    assert_eq!(read, status);
}

#[test]
fn empty_status_object_reads() {
    let status: AttunePolicyStatus = serde_json::from_value(json!({})).unwrap();
    assert_eq!(status, AttunePolicyStatus::default());
}
