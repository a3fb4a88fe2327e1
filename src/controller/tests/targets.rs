//! Targeting: selectors by the Kubernetes rules, ownership through the ReplicaSet name.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::json;

use super::fixtures::pod;
use crate::controller::targets::{SelectorError, owner_of, selects};
use crate::crd::TargetKind;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn selector(v: serde_json::Value) -> LabelSelector {
    serde_json::from_value(v).unwrap()
}

#[test]
fn selectors_follow_the_kubernetes_rules() {
    let l = labels(&[("app", "web"), ("tier", "front")]);
    assert!(selects(&selector(json!({})), &l).unwrap());
    assert!(selects(&selector(json!({"matchLabels": {"app": "web"}})), &l).unwrap());
    assert!(!selects(&selector(json!({"matchLabels": {"app": "api"}})), &l).unwrap());
    let expr = |op: &str, values: serde_json::Value| {
        selector(json!({"matchExpressions": [{"key": "tier", "operator": op, "values": values}]}))
    };
    assert!(selects(&expr("In", json!(["front", "back"])), &l).unwrap());
    assert!(!selects(&expr("NotIn", json!(["front"])), &l).unwrap());
    assert!(selects(&expr("Exists", json!(null)), &l).unwrap());
    assert!(!selects(&expr("DoesNotExist", json!(null)), &l).unwrap());
    assert!(selects(&expr("NotIn", json!(["x"])), &labels(&[])).unwrap());
    assert_eq!(
        selects(&expr("Gt", json!(["1"])), &l),
        Err(SelectorError::Operator("Gt".into()))
    );
    assert!(matches!(
        selects(&expr("In", json!([])), &l),
        Err(SelectorError::NoValues { .. })
    ));
}

#[test]
fn a_pod_owner_is_read_through_the_replica_set_name() {
    assert_eq!(
        owner_of(&pod("web-5d8f-a", "1")),
        Some((TargetKind::Deployment, "web".to_owned()))
    );
    let mut other = pod("x", "1");
    other
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .insert("pod-template-hash".into(), "zzzz".into());
    assert_eq!(
        owner_of(&other),
        None,
        "ReplicaSet name does not end in the pod's hash"
    );
    let mut bare = pod("x", "1");
    bare.metadata.owner_references = None;
    assert_eq!(owner_of(&bare), None);
}
