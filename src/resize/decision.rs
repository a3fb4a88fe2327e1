//! What the resize decision answers for each pod: a patch with the changes it makes, or the
//! reason it is left alone, from a small fixed set that status, events and metrics can count.

use std::collections::BTreeMap;
use std::fmt;

/// A resource that can be resized in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    Cpu,
    Memory,
}

impl Resource {
    pub const ALL: [Resource; 2] = [Resource::Cpu, Resource::Memory];

    /// The key in a container's `resources.requests` and `resources.limits`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request or a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Request,
    Limit,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Request => "request",
            Field::Limit => "limit",
        }
    }
}

/// One value a resize sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub container: String,
    pub resource: Resource,
    pub field: Field,
    /// The value before, as the pod spelled it; `None` when the container had no request.
    pub from: Option<String>,
    pub to: String,
    /// The container's `resizePolicy` for this resource is `RestartContainer`.
    pub restarts_container: bool,
}

/// Why a pod (or one resource of a container) is not resized. The set is closed so that it can
/// label metrics; the human-readable specifics go in [`Skip::detail`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// The policy's `updateStrategy.type` is Observe or Recommend.
    ObserveOnly,
    /// The pod carries `attune.io/skip: "true"`.
    OptedOut,
    /// The recommendation is marked stale.
    StaleRecommendation,
    /// No recommended value names a container of this pod.
    NoRecommendation,
    /// The pod is being deleted.
    Deleting,
    /// The pod is not Running (and the policy's eligibility requires it).
    NotRunning,
    /// The kubelet is applying an earlier resize.
    ResizeInProgress,
    /// The kubelet deferred an earlier resize until the node has room.
    Deferred,
    /// The kubelet found an earlier resize infeasible on this node.
    Infeasible,
    /// The pod was resized less than the cooldown ago.
    Cooldown,
    /// Every container already has its target values.
    AlreadyAtTarget,
    /// The only possible changes would change the pod's QoS class.
    WouldChangeQoS,
    /// The change needs a lower memory limit, which servers before 1.35 refuse in place.
    MemoryLimitDecreaseUnsupported,
    /// `maxConcurrentResizes` pods are already being resized.
    ConcurrencyLimit,
    /// The pod is outside the OneShot or Canary share.
    OutOfCanary,
    /// The pod has something the decision does not model (pod-level resources, unreadable
    /// quantities).
    Unsupported,
    /// The API server refused the resize (HTTP 422); the detail is its message.
    Rejected,
    /// The pod no longer exists.
    Gone,
    /// Outside `updateStrategy.schedule`.
    OutsideSchedule,
    /// `maxTotalCpuIncrease` / `maxTotalMemoryIncrease` is used up for this cycle.
    BudgetExhausted,
}

impl SkipReason {
    /// CamelCase, like Kubernetes condition reasons.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::ObserveOnly => "ObserveOnly",
            SkipReason::OptedOut => "OptedOut",
            SkipReason::StaleRecommendation => "StaleRecommendation",
            SkipReason::NoRecommendation => "NoRecommendation",
            SkipReason::Deleting => "Deleting",
            SkipReason::NotRunning => "NotRunning",
            SkipReason::ResizeInProgress => "ResizeInProgress",
            SkipReason::Deferred => "Deferred",
            SkipReason::Infeasible => "Infeasible",
            SkipReason::Cooldown => "Cooldown",
            SkipReason::AlreadyAtTarget => "AlreadyAtTarget",
            SkipReason::WouldChangeQoS => "WouldChangeQoS",
            SkipReason::MemoryLimitDecreaseUnsupported => "MemoryLimitDecreaseUnsupported",
            SkipReason::ConcurrencyLimit => "ConcurrencyLimit",
            SkipReason::OutOfCanary => "OutOfCanary",
            SkipReason::Unsupported => "Unsupported",
            SkipReason::Rejected => "Rejected",
            SkipReason::Gone => "Gone",
            SkipReason::OutsideSchedule => "OutsideSchedule",
            SkipReason::BudgetExhausted => "BudgetExhausted",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pod left alone, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    pub reason: SkipReason,
    pub detail: String,
}

impl Skip {
    pub(crate) fn new(reason: SkipReason, detail: impl Into<String>) -> Skip {
        Skip {
            reason,
            detail: detail.into(),
        }
    }
}

/// One resource of one container that a resize leaves as it is although its target differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub container: String,
    pub resource: Resource,
    pub reason: SkipReason,
}

/// A resize to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Resize {
    /// Strategic merge patch for the `resize` subresource: `spec.containers[].{name,
    /// resources}` with only the values that change.
    pub patch: serde_json::Value,
    /// Annotations to set with a regular (metadata-only) pod patch once the resize is accepted.
    pub annotations: BTreeMap<String, String>,
    pub changes: Vec<Change>,
    /// Resources whose target could not be reached without breaking a rule.
    pub held: Vec<Held>,
}

/// The answer for one pod.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Resize(Resize),
    Skip(Skip),
}

/// The decision for one pod, by name.
#[derive(Clone, Debug, PartialEq)]
pub struct PodDecision {
    pub pod: String,
    pub decision: Decision,
}

/// The decisions for a workload's pods, in the order the pods were given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub pods: Vec<PodDecision>,
}

impl Plan {
    /// The pods to resize, with their resize.
    pub fn resizes(&self) -> impl Iterator<Item = (&str, &Resize)> {
        self.pods.iter().filter_map(|p| match &p.decision {
            Decision::Resize(r) => Some((p.pod.as_str(), r)),
            Decision::Skip(_) => None,
        })
    }

    /// The decision for the named pod.
    pub fn get(&self, pod: &str) -> Option<&Decision> {
        self.pods.iter().find(|p| p.pod == pod).map(|p| &p.decision)
    }
}
