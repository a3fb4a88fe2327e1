//! `AttunePolicy.status`: what the operator observed and recommends.
//!
//! Status is written by the operator, possibly a newer or older one than this code, so every
//! field is optional and unknown fields are ignored on read.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::explanation::ExplanationJson;
use super::scalar::opt_text;

/// Observed state of an AttunePolicy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttunePolicyStatus {
    /// Ready, Resizing, Degraded, ScheduleBlocked, ResizeBlocked and GitOpsPullRequest
    /// conditions.
    // A map keyed by `type`, so that each writer owns the conditions it applies and a
    // server-side apply of some conditions leaves the others' in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// Counts of the targeted workloads by state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workloads: Option<WorkloadCounts>,
    /// Current recommendations, one entry per workload, at most 500.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recommendations: Vec<WorkloadRecommendation>,
    /// Request reductions and their estimated cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub savings: Option<Savings>,
    /// Most recent resizes, newest last, at most 50.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resize_history: Vec<ResizeHistoryEntry>,
    /// Cooldown currently in force, lengthened after reverts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<CooldownStatus>,
    /// Time of the last completed reconcile (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reconcile_time: Option<String>,
    /// Pull requests that carry the recommendations to the GitOps repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitops: Option<GitOpsStatus>,
}

/// The GitOps write-back of a policy: one entry per pull-request branch, i.e. per repository,
/// base branch and path its workloads are deployed from.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitOpsStatus {
    /// One entry per branch, at most 50.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_requests: Vec<GitOpsPullRequest>,
    /// When the pull requests were last read from the forge (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_polled: Option<String>,
}

/// One pull-request branch and what became of it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitOpsPullRequest {
    /// Repository as host/owner/name, e.g. github.com/acme/deploy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Directory of the repository the workloads are deployed from; `.` is the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Base branch the pull request targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Head branch, e.g. attune/shop/api.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The object that deploys the workloads, e.g. "Argo CD Application argocd/shop".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Workloads carried by this branch, as Kind/name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workloads: Vec<String>,
    /// Pull request number on the forge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<i64>,
    /// Pull request page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// open, merged or closed; absent when no pull request exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The GitOpsPullRequest reason this branch contributes, e.g. PullRequestOpen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Hash of the change set last proposed (as in the pull request body's marker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change_hash: Option<String>,
}

/// A Kubernetes-style condition.
// Every field is optional on read (missing text reads as ""). Empty text is left out when
// writing, which also keeps schemars from putting `default: ""` into the CRD schema. The API
// server requires `type` (the list's key) and `status` on write.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = super::schema::require(&["type", "status"]))]
pub struct Condition {
    /// Condition type, e.g. Ready; the key of the list.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub type_: String,
    /// "True", "False" or "Unknown".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Machine-readable reason in CamelCase, e.g. Monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the status last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// The policy generation this condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Counts of the targeted workloads by state.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadCounts {
    /// Workloads matched by `targetRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered: Option<i32>,
    /// Workloads with enough data for a recommendation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_recommendations: Option<i32>,
    /// Workloads resized at least once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resized: Option<i32>,
    /// Workloads whose recommendation differs from their current size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<i32>,
    /// Pods whose resize the kubelet deferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred: Option<i32>,
    /// Pods whose resize the kubelet found infeasible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infeasible: Option<i32>,
    /// Usage samples collected so far, while data is insufficient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_points_collected: Option<i64>,
    /// Usage samples needed before recommending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_points_required: Option<i64>,
}

/// The recommendation for one workload.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadRecommendation {
    /// Workload name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workload: String,
    /// Workload kind, e.g. Deployment.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Time of the newest usage sample used (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_data_time: Option<String>,
    /// True when the usage data is too old to act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<bool>,
    /// One entry per sized container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerRecommendation>,
}

/// The recommendation for one container.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerRecommendation {
    /// Container name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Resources in the workload's pod template when the recommendation was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<ResourceValues>,
    /// Recommended resources.
    #[serde(default, skip_serializing_if = "ResourceValues::is_empty")]
    pub recommended: ResourceValues,
    /// Confidence in the data, 0-1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Usage samples behind the recommendation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_points: Option<i64>,
    /// When the recommendation was computed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    // Kept as compact text ([`ExplanationJson`]), not a JSON tree: every cached policy carries
    // one per container, and the doc line below is the CRD's description.
    /// Value after each stage of the recommendation chain, per resource; free-form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::free_form_object")]
    pub explanation: Option<ExplanationJson>,
}

/// Requests and limits of one container, as quantities written exactly as found.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceValues {
    /// CPU request, e.g. 250m.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "super::schema::quantity")]
    pub cpu_request: Option<String>,
    /// CPU limit, e.g. 1.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "super::schema::quantity")]
    pub cpu_limit: Option<String>,
    /// Memory request, e.g. 256Mi.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "super::schema::quantity")]
    pub memory_request: Option<String>,
    /// Memory limit, e.g. 512Mi.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "super::schema::quantity")]
    pub memory_limit: Option<String>,
}

impl ResourceValues {
    /// True when no value is set.
    pub fn is_empty(&self) -> bool {
        self.cpu_request.is_none()
            && self.cpu_limit.is_none()
            && self.memory_request.is_none()
            && self.memory_limit.is_none()
    }
}

/// Request reductions summed over the per-container template changes (not times replicas).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Savings {
    /// CPU request reduction of the current recommendations.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "super::schema::quantity")]
    pub cpu_request_reduction: Option<String>,
    /// Memory request reduction of the current recommendations.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "super::schema::quantity")]
    pub memory_request_reduction: Option<String>,
    /// CPU request reduction applied so far.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "super::schema::quantity")]
    pub cpu_request_reduction_total: Option<String>,
    /// Memory request reduction applied so far.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "super::schema::quantity")]
    pub memory_request_reduction_total: Option<String>,
    /// Estimated monthly cost saved, formatted, e.g. "$142.50".
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub estimated_monthly_savings: Option<String>,
}

/// One resize attempt.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResizeHistoryEntry {
    /// When it happened (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Workload name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// Container name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// cpu or memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Value before, as a quantity.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "super::schema::quantity")]
    pub from: Option<String>,
    /// Value after, as a quantity.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "super::schema::quantity")]
    pub to: Option<String>,
    /// InPlace, Eviction or TemplatePersistence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Success, Failed, Reverted, Evicted or TemplatePatched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Why it was reverted or failed: oomkill, restart, notready, throttle, slo:<name> or
    /// infeasible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Cooldown in force after reverts.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CooldownStatus {
    /// Cooldown after backoff, as a duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_cooldown: Option<String>,
    /// Factor applied to the configured cooldown, up to 16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_multiplier: Option<f64>,
    /// Reverts in a row that led to the backoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_reverts: Option<i32>,
}
