//! A policy as a policy file states it, for `attune propose`.
//!
//! A pipeline that exports recommendations writes `metadata` and `status.recommendations` and
//! nothing else; editing needs no more than that, the `controlledValues` of `spec.cpu` and
//! `spec.memory` and `spec.updateStrategy.export`. So every part of `spec` is optional here,
//! while the CRD that the cluster validates ([`AttunePolicySpec`]) still requires `targetRef`,
//! `metricsSource`, `cpu` and `memory`. A part that is present must still have its type.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use super::metrics::MetricsSource;
use super::resources::ResourcePolicy;
use super::spec::{AttunePolicy, AttunePolicySpec, RuntimeProfile, TargetRef};
use super::status::AttunePolicyStatus;
use super::strategy::UpdateStrategy;

/// An AttunePolicy read from a file: `spec` may be partial or absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilePolicy {
    pub metadata: ObjectMeta,
    pub spec: FileSpec,
    pub status: Option<AttunePolicyStatus>,
}

/// `spec` with every field optional; see [`AttunePolicySpec`] for what each one means.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileSpec {
    #[serde(default)]
    pub target_ref: Option<TargetRef>,
    #[serde(default)]
    pub metrics_source: Option<MetricsSource>,
    #[serde(default)]
    pub cpu: Option<ResourcePolicy>,
    #[serde(default)]
    pub memory: Option<ResourcePolicy>,
    #[serde(default)]
    pub paused: Option<bool>,
    #[serde(default)]
    pub excluded_containers: Vec<String>,
    #[serde(default)]
    pub exclude_known_sidecars: Option<bool>,
    #[serde(default)]
    pub weight: Option<i32>,
    #[serde(default)]
    pub runtime_profile: Option<RuntimeProfile>,
    #[serde(default)]
    pub update_strategy: Option<UpdateStrategy>,
}

impl FileSpec {
    /// Whether limits of CPU are managed too (`controlledValues: RequestsAndLimits`).
    pub fn cpu_controls_limits(&self) -> bool {
        self.cpu
            .as_ref()
            .is_some_and(ResourcePolicy::controls_limits)
    }

    /// Whether limits of memory are managed too.
    pub fn memory_controls_limits(&self) -> bool {
        self.memory
            .as_ref()
            .is_some_and(ResourcePolicy::controls_limits)
    }

    /// The spec the CRD requires, or the name of the first required field that is missing.
    pub fn complete(self) -> Result<AttunePolicySpec, &'static str> {
        Ok(AttunePolicySpec {
            target_ref: self.target_ref.ok_or("targetRef")?,
            metrics_source: self.metrics_source.ok_or("metricsSource")?,
            cpu: self.cpu.ok_or("cpu")?,
            memory: self.memory.ok_or("memory")?,
            paused: self.paused,
            excluded_containers: self.excluded_containers,
            exclude_known_sidecars: self.exclude_known_sidecars,
            weight: self.weight,
            runtime_profile: self.runtime_profile,
            update_strategy: self.update_strategy,
        })
    }
}

impl From<AttunePolicySpec> for FileSpec {
    fn from(spec: AttunePolicySpec) -> FileSpec {
        FileSpec {
            target_ref: Some(spec.target_ref),
            metrics_source: Some(spec.metrics_source),
            cpu: Some(spec.cpu),
            memory: Some(spec.memory),
            paused: spec.paused,
            excluded_containers: spec.excluded_containers,
            exclude_known_sidecars: spec.exclude_known_sidecars,
            weight: spec.weight,
            runtime_profile: spec.runtime_profile,
            update_strategy: spec.update_strategy,
        }
    }
}

impl From<AttunePolicy> for FilePolicy {
    fn from(policy: AttunePolicy) -> FilePolicy {
        FilePolicy {
            metadata: policy.metadata,
            spec: policy.spec.into(),
            status: policy.status,
        }
    }
}
