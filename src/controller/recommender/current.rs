//! A workload's current requests and limits, per container, as the recommender compares
//! against them. The watch caches drop pod templates, so they come from the workload's first
//! pod (by name) — with the values Attune recorded before its first resize
//! (`attune.io/original-*`) taking precedence, so that a resized pod reads as its template did
//! and a recommendation does not ratchet down cycle after cycle. [`live_values`] reads what the
//! pod asks for now, so that the difference is the reduction Attune's resizes put in effect.
//! Containers the policy excludes (`excludedContainers`, known sidecars) are dropped. Pure.

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::crd::ResourceValues;
use crate::resize::annotations::original_key;
use crate::resize::sidecars::Exclusions;
use crate::resize::{Field, Resource};

/// `(container name, current values)` for the containers of the workload's first pod that
/// `exclusions` keeps. Empty when the workload has no pod.
pub fn current_values(pods: &[Pod], exclusions: &Exclusions) -> Vec<(String, ResourceValues)> {
    values(pods, exclusions, true)
}

/// The same containers' values as the first pod has them now (Attune's resizes included).
pub fn live_values(pods: &[Pod], exclusions: &Exclusions) -> Vec<(String, ResourceValues)> {
    values(pods, exclusions, false)
}

fn values(pods: &[Pod], exclusions: &Exclusions, originals: bool) -> Vec<(String, ResourceValues)> {
    let Some(pod) = pods.first() else {
        return Vec::new();
    };
    let annotations = pod.metadata.annotations.as_ref().filter(|_| originals);
    let original = |resource, field, container: &str| {
        annotations
            .and_then(|a| a.get(&original_key(resource, field, container)))
            .cloned()
    };
    pod.spec
        .iter()
        .flat_map(|spec| &spec.containers)
        .filter(|c| !exclusions.excludes(&c.name))
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
        let pods = [resized, pod("web-2", json!({}))];
        let values = current_values(&pods, &exclusions(json!([]), None));
        assert_eq!(values.len(), 1);
        let (name, app) = &values[0];
        assert_eq!(name, "app");
        assert_eq!(app.cpu_request.as_deref(), Some("500m"));
        assert_eq!(app.cpu_limit, None);
        assert_eq!(app.memory_request.as_deref(), Some("256Mi"));
        assert_eq!(app.memory_limit.as_deref(), Some("512Mi"));
        // What the pod asks for now: Attune's resize to 250m is in effect.
        let live = live_values(&pods, &exclusions(json!([]), None));
        assert_eq!(live[0].1.cpu_request.as_deref(), Some("250m"));
        assert!(current_values(&[], &Exclusions::default()).is_empty());
    }

    fn exclusions(excluded: serde_json::Value, known: Option<bool>) -> Exclusions {
        let spec: crate::crd::AttunePolicySpec = serde_json::from_value(json!({
            "targetRef": {"kind": "Deployment", "name": "web"},
            "metricsSource": {}, "cpu": {}, "memory": {},
            "excludedContainers": excluded, "excludeKnownSidecars": known,
        }))
        .unwrap();
        Exclusions::from_spec(&spec)
    }

    #[test]
    fn known_sidecars_and_excluded_containers_are_dropped_as_the_resize_step_drops_them() {
        let pods = [pod("web-1", json!({}))];
        let names = |e: &Exclusions| -> Vec<String> {
            current_values(&pods, e)
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        };
        // istio-proxy is a known sidecar: dropped by default, kept when the policy says so.
        assert_eq!(names(&exclusions(json!([]), None)), ["app"]);
        assert_eq!(
            names(&exclusions(json!([]), Some(false))),
            ["app", "istio-proxy"]
        );
        assert_eq!(
            names(&exclusions(json!(["app"]), Some(false))),
            ["istio-proxy"]
        );
        assert!(names(&exclusions(json!(["app"]), None)).is_empty());
        let live: Vec<String> = live_values(&pods, &exclusions(json!(["app"]), Some(false)))
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(live, ["istio-proxy"]);
    }
}
