//! A workload's current requests and limits, per container, as the recommender compares
//! against them. The watch caches drop pod templates, so they come from the workload's first
//! pod (by name) — with the values Attune recorded before its first resize
//! (`attune.io/original-*`) taking precedence, so that a resized pod reads as its template did
//! and a recommendation does not ratchet down cycle after cycle. Pure.

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::crd::ResourceValues;
use crate::resize::annotations::original_key;
use crate::resize::{Field, Resource};

/// `(container name, current values)` for the containers of the workload's first pod, minus
/// `excluded`. Empty when the workload has no pod.
pub fn current_values(pods: &[Pod], excluded: &[String]) -> Vec<(String, ResourceValues)> {
    let Some(pod) = pods.first() else {
        return Vec::new();
    };
    let annotations = pod.metadata.annotations.as_ref();
    let original = |resource, field, container: &str| {
        annotations
            .and_then(|a| a.get(&original_key(resource, field, container)))
            .cloned()
    };
    pod.spec
        .iter()
        .flat_map(|spec| &spec.containers)
        .filter(|c| !excluded.contains(&c.name))
        .map(|c| {
            let live = |name: &str, limits: bool| live_value(c, name, limits);
            let pick = |resource, field, name, limits| {
                original(resource, field, &c.name).or_else(|| live(name, limits))
            };
            let values = ResourceValues {
                cpu_request: pick(Resource::Cpu, Field::Request, "cpu", false),
                cpu_limit: pick(Resource::Cpu, Field::Limit, "cpu", true),
                memory_request: pick(Resource::Memory, Field::Request, "memory", false),
                memory_limit: pick(Resource::Memory, Field::Limit, "memory", true),
            };
            (c.name.clone(), values)
        })
        .collect()
}

fn live_value(container: &Container, name: &str, limits: bool) -> Option<String> {
    let resources = container.resources.as_ref()?;
    let map = if limits {
        resources.limits.as_ref()
    } else {
        resources.requests.as_ref()
    };
    map?.get(name).map(|Quantity(text)| text.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, annotations: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "annotations": annotations},
            "spec": {"containers": [
                {"name": "app", "resources": {
                    "requests": {"cpu": "250m", "memory": "256Mi"},
                    "limits": {"memory": "512Mi"}}},
                {"name": "istio-proxy", "resources": {"requests": {"cpu": "10m"}}},
            ]},
        }))
        .unwrap()
    }

    #[test]
    fn reads_the_first_pod_and_prefers_the_values_from_before_attune_resized_it() {
        let resized = pod(
            "web-1",
            json!({"attune.io/original-cpu-request.app": "500m"}),
        );
        let values = current_values(
            &[resized, pod("web-2", json!({}))],
            &["istio-proxy".to_owned()],
        );
        assert_eq!(values.len(), 1);
        let (name, app) = &values[0];
        assert_eq!(name, "app");
        assert_eq!(app.cpu_request.as_deref(), Some("500m"));
        assert_eq!(app.cpu_limit, None);
        assert_eq!(app.memory_request.as_deref(), Some("256Mi"));
        assert_eq!(app.memory_limit.as_deref(), Some("512Mi"));
        assert!(current_values(&[], &[]).is_empty());
    }
}
