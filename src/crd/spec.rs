//! The top level of `AttunePolicy.spec`: what to size and the knobs that apply to all resources.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::metrics::MetricsSource;
use super::resources::ResourcePolicy;
use super::rules::{self, cel};
use super::status::AttunePolicyStatus;
use super::strategy::{UpdateMode, UpdateStrategy};

/// Right-sizing policy for the workloads selected by `targetRef`, in the policy's namespace.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "attune.io",
    version = "v1alpha1",
    kind = "AttunePolicy",
    namespaced,
    shortname = "ap",
    status = "AttunePolicyStatus",
    doc = "AttunePolicy right-sizes the CPU and memory of the workloads it targets."
)]
#[serde(rename_all = "camelCase")]
pub struct AttunePolicySpec {
    /// Workloads this policy sizes, in the policy's namespace. Required.
    pub target_ref: TargetRef,
    /// Where usage history comes from; set exactly one backend. Required.
    pub metrics_source: MetricsSource,
    /// How CPU requests (and optionally limits) are computed. Required.
    #[schemars(transform = cel(&[rules::CPU_BOUNDS]))]
    pub cpu: ResourcePolicy,
    /// How memory requests (and optionally limits) are computed. Required.
    #[schemars(transform = cel(&[rules::MEMORY_BOUNDS]))]
    pub memory: ResourcePolicy,
    /// Stops recommending and resizing while true; status is kept. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// Container names never sized by this policy. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_containers: Vec<String>,
    /// Skips well-known sidecars (istio-proxy, linkerd-proxy, vault-agent, cloud-sql-proxy and
    /// others). Default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_known_sidecars: Option<bool>,
    /// Priority when several policies select the same workload; the highest weight owns it.
    /// Range 1-1000. Default: 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel(&[rules::WEIGHT]))]
    pub weight: Option<i32>,
    /// Language runtime of the workload, which adjusts memory defaults (java: no decrease and
    /// 40% overhead; python, nodejs: no decrease). Default: generic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_profile: Option<RuntimeProfile>,
    /// When and how recommendations are applied. Default: `type: Recommend` with the defaults
    /// listed on each field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_strategy: Option<UpdateStrategy>,
}

impl AttunePolicySpec {
    /// The effective update mode: `updateStrategy.type`, or `Recommend` when unset.
    pub fn update_mode(&self) -> UpdateMode {
        self.update_strategy
            .as_ref()
            .map(UpdateStrategy::mode)
            .unwrap_or_default()
    }
}

/// Selects the workloads to size: one kind, by name or by label selector.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = cel(&[rules::TARGET_REF]))]
pub struct TargetRef {
    /// Workload kind. Job and CronJob are recommend-only. Required.
    pub kind: TargetKind,
    /// Name of a single workload. Set this or `selector`. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Label selector over workloads of `kind`. Set this or `name`. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// Workload kinds a policy can target.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum TargetKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    CronJob,
    Job,
    ReplicaSet,
}

/// Language runtime, which changes the memory defaults.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeProfile {
    #[default]
    Generic,
    Java,
    Python,
    Golang,
    Nodejs,
}

/// A key in a Secret in the policy's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Secret name. Required.
    pub name: String,
    /// Key within the Secret. Required.
    pub key: String,
}
