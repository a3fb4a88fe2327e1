//! Which workloads a policy targets and which pods belong to each: pure functions over
//! objects already in the caches. A workload is matched by `targetRef.kind` plus its name or
//! a label selector, in the policy's namespace only; a pod belongs to a workload when the
//! workload's selector matches it *and* the pod's controller owner is that workload (through
//! the ReplicaSet a Deployment names `<deployment>-<pod-template-hash>`), so a stray pod that
//! happens to carry the labels is never resized. This module knows nothing about clients,
//! watches or what is done with the pods.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::pods::CachedPod;
use crate::crd::{AttunePolicy, TargetKind, WorkloadRecommendation};

/// A targeted workload with its pods, as one reconcile sees it.
#[derive(Debug, Clone)]
pub struct LiveWorkload {
    /// Identity and owner markers, as `locate` reads them.
    pub identity: crate::locate::Workload,
    /// The cached (trimmed) object as JSON.
    pub object: serde_json::Value,
    pub pods: Vec<Pod>,
    /// The policy's recommendation for it, if any.
    pub recommendation: Option<WorkloadRecommendation>,
}

/// The parts of a Deployment, StatefulSet or DaemonSet that targeting reads.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub kind: TargetKind,
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// `spec.selector`; a workload without one selects no pod.
    pub selector: Option<LabelSelector>,
    pub object: serde_json::Value,
}

impl Candidate {
    pub fn identity(&self) -> crate::locate::Workload {
        crate::locate::Workload {
            api_version: "apps/v1".into(),
            kind: kind_name(self.kind).into(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            labels: self.labels.clone(),
            annotations: self.annotations.clone(),
        }
    }
}

pub fn kind_name(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Deployment => "Deployment",
        TargetKind::StatefulSet => "StatefulSet",
        TargetKind::DaemonSet => "DaemonSet",
        TargetKind::CronJob => "CronJob",
        TargetKind::Job => "Job",
        TargetKind::ReplicaSet => "ReplicaSet",
    }
}

/// Why a selector cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error("matchExpressions operator {0:?} is not In, NotIn, Exists or DoesNotExist")]
    Operator(String),
    #[error("matchExpressions key {key:?} with operator {operator} needs values")]
    NoValues { key: String, operator: String },
}

/// Whether `selector` matches `labels`, by the Kubernetes rules. An empty selector matches
/// everything, as in the API.
pub fn selects(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> Result<bool, SelectorError> {
    selects_by(selector, |key| labels.get(key).map(String::as_str))
}

/// [`selects`] over any label lookup.
fn selects_by<'a>(
    selector: &LabelSelector,
    label: impl Fn(&str) -> Option<&'a str>,
) -> Result<bool, SelectorError> {
    for (key, value) in selector.match_labels.iter().flatten() {
        if label(key) != Some(value.as_str()) {
            return Ok(false);
        }
    }
    for expr in selector.match_expressions.iter().flatten() {
        let values = expr.values.as_deref().unwrap_or_default();
        let have = label(&expr.key);
        let ok = match expr.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => {
                return Err(SelectorError::NoValues {
                    key: expr.key.clone(),
                    operator: expr.operator.clone(),
                });
            }
            "In" => have.is_some_and(|v| values.iter().any(|x| x == v)),
            "NotIn" => have.is_none_or(|v| !values.iter().any(|x| x == v)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            other => return Err(SelectorError::Operator(other.to_owned())),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether the policy targets this workload (same namespace, kind, and name or selector).
pub fn targets(policy: &AttunePolicy, workload: &Candidate) -> Result<bool, SelectorError> {
    let target = &policy.spec.target_ref;
    if policy.metadata.namespace.as_deref() != Some(workload.namespace.as_str())
        || target.kind != workload.kind
    {
        return Ok(false);
    }
    match (&target.name, &target.selector) {
        (Some(name), _) => Ok(*name == workload.name),
        (None, Some(selector)) => selects(selector, &workload.labels),
        // Neither: the policy is invalid; reconcile reports it, here it matches nothing.
        (None, None) => Ok(false),
    }
}

/// Whether `pod` is one of the workload's own pods.
pub fn owns(workload: &Candidate, pod: &CachedPod) -> bool {
    if *pod.namespace != *workload.namespace {
        return false;
    }
    let Some(selector) = &workload.selector else {
        return false;
    };
    if !selects_by(selector, |key| pod.label(key)).unwrap_or(false) {
        return false;
    }
    let Some(owner) = pod.controller_owner() else {
        return false;
    };
    match workload.kind {
        TargetKind::Deployment => {
            // The deployment controller names its ReplicaSets `<name>-<pod-template-hash>` and
            // stamps the hash on their pods, so ownership is exact without caching ReplicaSets.
            let hash = pod.label("pod-template-hash");
            &*owner.kind == "ReplicaSet"
                && hash.is_some_and(|h| {
                    owner
                        .name
                        .strip_prefix(workload.name.as_str())
                        .and_then(|rest| rest.strip_prefix('-'))
                        == Some(h)
                })
        }
        TargetKind::StatefulSet | TargetKind::DaemonSet => {
            &*owner.kind == kind_name(workload.kind) && *owner.name == *workload.name
        }
        _ => false,
    }
}

/// The workload a pod belongs to, as (kind, name), read from its controller owner alone.
pub fn owner_of(pod: &Pod) -> Option<(TargetKind, String)> {
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))?;
    match owner.kind.as_str() {
        "ReplicaSet" => {
            let hash = pod.metadata.labels.as_ref()?.get("pod-template-hash")?;
            let name = owner.name.strip_suffix(&format!("-{hash}"))?;
            Some((TargetKind::Deployment, name.to_owned()))
        }
        "StatefulSet" => Some((TargetKind::StatefulSet, owner.name.clone())),
        "DaemonSet" => Some((TargetKind::DaemonSet, owner.name.clone())),
        _ => None,
    }
}

/// The recommendation the policy status holds for a workload, matched by kind and name.
pub fn recommendation_for(
    policy: &AttunePolicy,
    workload: &Candidate,
) -> Option<WorkloadRecommendation> {
    let kind = kind_name(workload.kind);
    policy
        .status
        .as_ref()?
        .recommendations
        .iter()
        .find(|r| r.workload == workload.name && (r.kind.is_empty() || r.kind == kind))
        .cloned()
}

/// The policy's workloads, each with its pods (sorted by name) and its recommendation.
pub fn resolve(
    policy: &AttunePolicy,
    candidates: &[Candidate],
    pods: &[std::sync::Arc<CachedPod>],
) -> Result<Vec<LiveWorkload>, SelectorError> {
    let mut out = Vec::new();
    for workload in candidates {
        if !targets(policy, workload)? {
            continue;
        }
        let mut own: Vec<Pod> = pods
            .iter()
            .filter(|p| owns(workload, p))
            .map(|p| p.to_pod())
            .collect();
        own.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        out.push(LiveWorkload {
            identity: workload.identity(),
            object: workload.object.clone(),
            pods: own,
            recommendation: recommendation_for(policy, workload),
        });
    }
    out.sort_by(|a, b| a.identity.name.cmp(&b.identity.name));
    Ok(out)
}
