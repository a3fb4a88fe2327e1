//! What a pod says about its last resize, for the revert decision: whether it is still being
//! watched, the kubelet's facts about its containers, and the patch that puts back the values
//! from before Attune's first resize. Pure: the pod is read, never fetched.

use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Map, Value, json};

use super::verdict::ContainerFacts;
use crate::resize::annotations::{RESIZED_AT, original_key, restarts_key};
use crate::resize::{Change, Field, Resource};

/// RFC 3339 time of the last revert; equal to `attune.io/resized-at` while the revert is the
/// pod's latest change.
pub const REVERTED_AT: &str = "attune.io/reverted-at";
/// Why the last revert happened (`oomkill`, `restart`, …).
pub const REVERT_REASON: &str = "attune.io/revert-reason";
/// The `attune.io/resized-at` of the resize that passed its observation period.
pub const VERIFIED: &str = "attune.io/verified-resize";

fn annotation<'p>(pod: &'p Pod, key: &str) -> Option<&'p str> {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

/// The time of the resize still under observation: resized by Attune, and that resize neither
/// reverted nor verified yet. A pod being deleted is not watched.
pub fn watched_since(pod: &Pod) -> Option<DateTime<Utc>> {
    if pod.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let at = annotation(pod, RESIZED_AT)?;
    if annotation(pod, REVERTED_AT) == Some(at) || annotation(pod, VERIFIED) == Some(at) {
        return None;
    }
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Each container's restarts (now and at the resize) and its last OOM kill.
pub fn containers(pod: &Pod) -> Vec<ContainerFacts> {
    let statuses = pod
        .status
        .iter()
        .flat_map(|s| s.container_statuses.iter().flatten());
    statuses
        .map(|s| {
            let terminated = s.last_state.as_ref().and_then(|l| l.terminated.as_ref());
            ContainerFacts {
                name: s.name.clone(),
                restarts: s.restart_count,
                restarts_at_resize: annotation(pod, &restarts_key(&s.name))
                    .and_then(|t| t.parse().ok()),
                oom_killed_at: terminated
                    .filter(|t| t.reason.as_deref() == Some("OOMKilled"))
                    .and_then(|t| t.finished_at.as_ref())
                    .and_then(|t| DateTime::from_timestamp(t.0.as_second(), 0)),
            }
        })
        .collect()
}

/// The pod's `Ready` condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// One value a revert puts back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    pub container: String,
    pub resource: Resource,
    pub field: Field,
    /// The value the resize set, as the pod spells it now.
    pub from: Option<String>,
    /// The value from before Attune's first resize.
    pub to: String,
}

impl Restored {
    /// The restore as a change (a revert never restarts a container of its own accord), to be
    /// told the way resizes are.
    pub fn as_change(&self) -> Change {
        Change {
            container: self.container.clone(),
            resource: self.resource,
            field: self.field,
            from: self.from.clone(),
            to: self.to.clone(),
            restarts_container: false,
        }
    }
}

/// A revert to send: the `pods/resize` patch and what it restores.
#[derive(Clone, Debug, PartialEq)]
pub struct RevertPatch {
    pub patch: Value,
    pub restored: Vec<Restored>,
}

/// The patch back to the `attune.io/original-*` values, for every value that differs from
/// them; `None` when nothing differs (or no originals were recorded).
pub fn revert_patch(pod: &Pod) -> Option<RevertPatch> {
    let mut restored = Vec::new();
    let mut containers = Vec::new();
    for c in pod.spec.iter().flat_map(|s| &s.containers) {
        let mut resources: Map<String, Value> = Map::new();
        for resource in Resource::ALL {
            for field in [Field::Request, Field::Limit] {
                let Some(original) = annotation(pod, &original_key(resource, field, &c.name))
                else {
                    continue;
                };
                let current = c.resources.as_ref().and_then(|r| match field {
                    Field::Request => r.requests.as_ref(),
                    Field::Limit => r.limits.as_ref(),
                });
                let now = current.and_then(|m| m.get(resource.as_str()));
                if now.map(|q| q.0.as_str()) == Some(original) {
                    continue;
                }
                let key = match field {
                    Field::Request => "requests",
                    Field::Limit => "limits",
                };
                let slot = resources.entry(key).or_insert_with(|| json!({}));
                slot[resource.as_str()] = json!(original);
                restored.push(Restored {
                    container: c.name.clone(),
                    resource,
                    field,
                    from: now.map(|q| q.0.clone()),
                    to: original.to_owned(),
                });
            }
        }
        if !resources.is_empty() {
            containers.push(json!({"name": c.name, "resources": resources}));
        }
    }
    (!restored.is_empty()).then(|| RevertPatch {
        patch: json!({"spec": {"containers": containers}}),
        restored,
    })
}

/// The annotations a revert leaves: the revert is the pod's latest change, so the cooldown
/// counts from it and the watch does not observe it.
pub fn revert_annotations(now: DateTime<Utc>, reason: &str) -> Value {
    let at = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    json!({"metadata": {"annotations": {
        RESIZED_AT: at,
        REVERTED_AT: at,
        REVERT_REASON: reason,
    }}})
}

/// The annotation that closes a resize's observation.
pub fn verified_annotation(resized_at: &str) -> Value {
    json!({"metadata": {"annotations": {VERIFIED: resized_at}}})
}

/// Whether a canary may be promoted: some pod of the workload was resized, and every resized
/// pod's last resize passed its whole observation period (`attune.io/verified-resize` is its
/// `attune.io/resized-at`) — none is still watched, none was reverted. Pods being deleted do
/// not count.
pub fn canary_passed(pods: &[Pod]) -> bool {
    let mut members = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| annotation(p, RESIZED_AT).map(|at| (p, at)))
        .peekable();
    members.peek().is_some() && members.all(|(p, at)| annotation(p, VERIFIED) == Some(at))
}

/// The pod's `attune.io/resized-at`, as written.
pub fn resized_at_text(pod: &Pod) -> Option<&str> {
    annotation(pod, RESIZED_AT)
}
