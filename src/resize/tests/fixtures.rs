//! Builders for pods, policies and recommendations, written compactly so test tables read as
//! the situation they describe.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use k8s_openapi::api::core::v1::{
    Container, ContainerResizePolicy, Pod, PodCondition, PodSpec, PodStatus, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde_json::{Value, json};

use crate::crd::{
    AttunePolicySpec, ContainerRecommendation, ResourceValues, WorkloadRecommendation,
};
use crate::resize::{Context, Settings};

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

/// A Running pod without containers.
pub fn pod(name: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some("ns".to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec::default()),
        status: Some(PodStatus {
            phase: Some("Running".to_owned()),
            ..PodStatus::default()
        }),
    }
}

/// Resources written as `"cpu=100m/200m mem=128Mi/-"`: request/limit, `-` for none; a
/// resource left out has neither.
pub fn resources(text: &str) -> ResourceRequirements {
    let mut requests = BTreeMap::new();
    let mut limits = BTreeMap::new();
    for part in text.split_whitespace() {
        let (name, values) = part.split_once('=').unwrap();
        let name = match name {
            "mem" => "memory",
            other => other,
        };
        let (request, limit) = values.split_once('/').unwrap();
        if request != "-" {
            requests.insert(name.to_owned(), Quantity(request.to_owned()));
        }
        if limit != "-" {
            limits.insert(name.to_owned(), Quantity(limit.to_owned()));
        }
    }
    ResourceRequirements {
        requests: (!requests.is_empty()).then_some(requests),
        limits: (!limits.is_empty()).then_some(limits),
        ..ResourceRequirements::default()
    }
}

fn container(name: &str, text: &str) -> Container {
    Container {
        name: name.to_owned(),
        image: Some("example".to_owned()),
        resources: Some(resources(text)),
        ..Container::default()
    }
}

/// Adds a regular container.
pub fn with(mut pod: Pod, name: &str, text: &str) -> Pod {
    let spec = pod.spec.get_or_insert_with(PodSpec::default);
    spec.containers.push(container(name, text));
    pod
}

/// Adds an init container.
pub fn with_init(mut pod: Pod, name: &str, text: &str) -> Pod {
    let spec = pod.spec.get_or_insert_with(PodSpec::default);
    spec.init_containers
        .get_or_insert_with(Vec::new)
        .push(container(name, text));
    pod
}

/// Sets a resize policy on the named container.
pub fn restart_policy(mut pod: Pod, container: &str, resource: &str, policy: &str) -> Pod {
    if let Some(spec) = pod.spec.as_mut() {
        for c in spec.containers.iter_mut().filter(|c| c.name == container) {
            c.resize_policy
                .get_or_insert_with(Vec::new)
                .push(ContainerResizePolicy {
                    resource_name: resource.to_owned(),
                    restart_policy: policy.to_owned(),
                });
        }
    }
    pod
}

pub fn phase(mut pod: Pod, phase: &str) -> Pod {
    pod.status.get_or_insert_with(PodStatus::default).phase = Some(phase.to_owned());
    pod
}

pub fn condition(mut pod: Pod, type_: &str, reason: Option<&str>) -> Pod {
    pod.status
        .get_or_insert_with(PodStatus::default)
        .conditions
        .get_or_insert_with(Vec::new)
        .push(PodCondition {
            type_: type_.to_owned(),
            status: "True".to_owned(),
            reason: reason.map(str::to_owned),
            message: reason.map(|r| format!("kubelet says {r}")),
            ..PodCondition::default()
        });
    pod
}

pub fn annotate(mut pod: Pod, key: &str, value: &str) -> Pod {
    pod.metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(key.to_owned(), value.to_owned());
    pod
}

pub fn deleting(mut pod: Pod) -> Pod {
    pod.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
    pod
}

/// A policy spec with the given `updateStrategy`, `cpu` and `memory` objects.
pub fn spec(strategy: Value, cpu: Value, memory: Value) -> AttunePolicySpec {
    serde_json::from_value(json!({
        "targetRef": { "kind": "Deployment", "name": "web" },
        "metricsSource": { "prometheus": { "address": "http://prometheus:9090" } },
        "cpu": cpu,
        "memory": memory,
        "updateStrategy": strategy,
    }))
    .unwrap()
}

pub fn settings(strategy: Value, cpu: Value, memory: Value) -> Settings {
    Settings::from_spec(&spec(strategy, cpu, memory)).unwrap()
}

/// Auto, no concurrency limit to speak of, default bounds, RequestsOnly.
pub fn auto() -> Settings {
    settings(
        json!({ "type": "Auto", "maxConcurrentResizes": 50 }),
        json!({}),
        json!({}),
    )
}

/// Recommended requests per container: `(name, cpu, memory)`.
pub fn rec(containers: &[(&str, Option<&str>, Option<&str>)]) -> WorkloadRecommendation {
    WorkloadRecommendation {
        workload: "web".to_owned(),
        kind: "Deployment".to_owned(),
        containers: containers
            .iter()
            .map(|(name, cpu, memory)| ContainerRecommendation {
                name: (*name).to_owned(),
                recommended: ResourceValues {
                    cpu_request: cpu.map(str::to_owned),
                    memory_request: memory.map(str::to_owned),
                    ..ResourceValues::default()
                },
                ..ContainerRecommendation::default()
            })
            .collect(),
        ..WorkloadRecommendation::default()
    }
}

pub fn ctx(settings: Settings, recommendation: &WorkloadRecommendation, minor: u32) -> Context {
    Context::new(settings, recommendation, minor, now()).unwrap()
}

/// What a test expects for one pod: the exact `/resize` patch, or a skip reason.
#[derive(Debug, PartialEq)]
pub enum Want {
    Patch(Value),
    Skip(crate::resize::SkipReason),
}

/// The decision for one pod, reduced to what [`Want`] compares.
pub fn got(decision: &crate::resize::Decision) -> Want {
    match decision {
        crate::resize::Decision::Resize(r) => Want::Patch(r.patch.clone()),
        crate::resize::Decision::Skip(s) => Want::Skip(s.reason),
    }
}

/// The patch for one container.
pub fn patch(container: &str, resources: Value) -> Want {
    Want::Patch(
        json!({ "spec": { "containers": [ { "name": container, "resources": resources } ] } }),
    )
}
