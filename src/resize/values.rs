//! The one function that decides the values a recommendation becomes, for the pods and for
//! Git alike: the recommended request clamped to `minAllowed`/`maxAllowed`, limits moved only
//! under `controlledValues: RequestsAndLimits` (keeping their ratio, never added), the request
//! kept at or below the limit, the pod's QoS class kept, and excluded containers left alone.
//! Every value that ends up different from the recommendation carries the reason, so the
//! resize events and the pull request body can say why.
//!
//! [`decide`] is what the resize decision runs on a pod; [`for_git`] runs the same on a pod of
//! the workload (or, without one, on the recommendation's `current` values) and rewrites the
//! recommendation into the values the pull request writes. The only difference is the server
//! rule that a memory limit cannot be lowered in place before 1.35: a pull request recreates
//! the pods, so Git gets the lower limit.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;

use crate::crd::{ResourceValues, WorkloadRecommendation};

use super::ResizeError;
use super::amount::Amount;
use super::containers::{Pair, Resources, read_containers};
use super::context::{Context, MEMORY_LIMIT_DECREASE_MINOR, Recommended};
use super::decision::{Held, Resource, SkipReason};
use super::qos::{QosClass, qos_class};
use super::settings::Settings;
use super::target::{Bound, Target, target};

/// A request that differs from the recommendation, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clamp {
    pub container: String,
    pub resource: Resource,
    pub recommended: String,
    pub applied: String,
    pub why: String,
}

impl Clamp {
    /// `app memory request 48Mi -> 64Mi: spec.memory.minAllowed is 64Mi`.
    pub fn sentence(&self) -> String {
        format!(
            "{} {} request {} -> {}: {}",
            self.container, self.resource, self.recommended, self.applied, self.why
        )
    }
}

/// The decided values for one pod's containers.
#[derive(Clone, Debug)]
pub(crate) struct Values {
    /// (container index, resource, target) of every change that is made.
    pub accepted: Vec<(usize, Resource, Target)>,
    pub held: Vec<Held>,
    /// Some container of the pod has a recommendation (and is not excluded).
    pub recommended_any: bool,
    pub clamps: Vec<Clamp>,
    pub qos: QosClass,
}

/// Targets container by container and resource by resource. A change that would alter the
/// QoS class is held back and the rest still go through, so one pinned resource does not
/// block the others; each accepted change is checked against the ones before it.
pub(crate) fn decide(
    settings: &Settings,
    recommended: &BTreeMap<String, Recommended>,
    original: &[Resources],
    limit_decrease_allowed: &dyn Fn(Resource) -> bool,
) -> Values {
    let qos = qos_class(original);
    let mut view = original.to_vec();
    let mut out = Values {
        accepted: Vec::new(),
        held: Vec::new(),
        recommended_any: false,
        clamps: Vec::new(),
        qos,
    };
    for index in 0..original.len() {
        let name = &original[index].name;
        if !original[index].resizable || settings.exclusions.excludes(name) {
            continue;
        }
        let Some(recommended) = recommended.get(name) else {
            continue;
        };
        out.recommended_any = true;
        for resource in Resource::ALL {
            let Some(value) = recommended.get(resource) else {
                continue;
            };
            let rule = settings.rule(resource);
            let allowed = limit_decrease_allowed(resource);
            let before = view[index].pair(resource).clone();
            let wanted = target(resource, &before, value, rule, allowed);
            let hold = |reason| Held {
                container: name.clone(),
                resource,
                reason,
            };
            let mut why = clamp_reason(resource, &wanted, settings);
            if wanted.is_noop() {
                if wanted.limit_held {
                    out.held
                        .push(hold(SkipReason::MemoryLimitDecreaseUnsupported));
                }
            } else {
                *view[index].pair_mut(resource) = wanted.apply(&before);
                if qos_class(&view) != qos {
                    *view[index].pair_mut(resource) = before.clone();
                    out.held.push(hold(if wanted.limit_held {
                        SkipReason::MemoryLimitDecreaseUnsupported
                    } else {
                        SkipReason::WouldChangeQoS
                    }));
                    why = Some(format!(
                        "the pod's QoS class {} would change, so the request stays",
                        qos.as_str()
                    ));
                } else {
                    if wanted.limit_held {
                        out.held
                            .push(hold(SkipReason::MemoryLimitDecreaseUnsupported));
                    }
                    out.accepted.push((index, resource, wanted));
                }
            }
            let applied = view[index].pair(resource).effective_request().cloned();
            if let (Some(why), Some(applied)) = (why, applied)
                && !applied.same(value)
            {
                out.clamps.push(Clamp {
                    container: name.clone(),
                    resource,
                    recommended: value.text.clone(),
                    applied: applied.text,
                    why,
                });
            }
        }
    }
    out
}

fn clamp_reason(resource: Resource, t: &Target, settings: &Settings) -> Option<String> {
    let rule = settings.rule(resource);
    if let Some(limit) = &t.capped_by_limit {
        let mode = if rule.controls_limits {
            "RequestsAndLimits"
        } else {
            "RequestsOnly"
        };
        return Some(format!(
            "a request may not exceed the container's {resource} limit {} \
             (spec.{resource}.controlledValues is {mode})",
            limit.text
        ));
    }
    match t.bound {
        Some(Bound::Min) => Some(format!(
            "spec.{resource}.minAllowed is {}",
            rule.min_allowed()
        )),
        Some(Bound::Max) => Some(format!(
            "spec.{resource}.maxAllowed is {}",
            rule.max_allowed()
        )),
        None => None,
    }
}

/// `recommendation` rewritten into the values a pull request writes: the same decision the
/// resize makes on `pod` (one of the workload's pods; without one, the recommendation's
/// `current` values stand in). Excluded containers are dropped; limits are written only where
/// the policy controls them and the container has one. Returns the clamps with it.
pub fn for_git(
    settings: &Settings,
    recommendation: &WorkloadRecommendation,
    pod: Option<&Pod>,
) -> Result<(WorkloadRecommendation, Vec<Clamp>), ResizeError> {
    let now = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    let ctx = Context::new(
        settings.clone(),
        recommendation,
        MEMORY_LIMIT_DECREASE_MINOR,
        now,
    )?;
    let mut containers = pod
        .and_then(|p| read_containers(p).ok())
        .unwrap_or_default();
    for c in &recommendation.containers {
        if !containers.iter().any(|r| r.name == c.name) {
            containers.push(from_current(&c.name, c.current.as_ref()));
        }
    }
    let values = decide(settings, &ctx.recommended, &containers, &|_| true);
    let mut out = recommendation.clone();
    out.containers
        .retain(|c| !settings.exclusions.excludes(&c.name));
    for c in &mut out.containers {
        let Some(index) = containers.iter().position(|r| r.name == c.name) else {
            continue;
        };
        let mut after = containers[index].clone();
        for (_, resource, t) in values.accepted.iter().filter(|(i, _, _)| *i == index) {
            *after.pair_mut(*resource) = t.apply(after.pair(*resource));
        }
        c.recommended = written(&c.recommended, &after, settings);
    }
    Ok((out, values.clamps))
}

/// The values to write for one container: each recommended request as decided, and each limit
/// the policy controls as decided (absent when the container has none).
fn written(recommended: &ResourceValues, after: &Resources, settings: &Settings) -> ResourceValues {
    let text = |a: Option<&Amount>| a.map(|a| a.text.clone());
    let request = |r: Resource, had: &Option<String>| {
        had.as_ref()
            .and_then(|_| text(after.pair(r).effective_request()))
    };
    let limit = |r: Resource, had: &Option<String>| {
        (had.is_some() && settings.rule(r).controls_limits)
            .then(|| text(after.pair(r).limit.as_ref()))
            .flatten()
    };
    ResourceValues {
        cpu_request: request(Resource::Cpu, &recommended.cpu_request),
        cpu_limit: limit(Resource::Cpu, &recommended.cpu_request),
        memory_request: request(Resource::Memory, &recommended.memory_request),
        memory_limit: limit(Resource::Memory, &recommended.memory_request),
    }
}

/// A container known only from the recommendation's `current` values.
fn from_current(name: &str, current: Option<&ResourceValues>) -> Resources {
    let read = |t: Option<&String>| t.and_then(|t| Amount::parse(t).ok());
    let pair = |request, limit| Pair {
        request: read(request),
        limit: read(limit),
    };
    Resources {
        name: name.to_owned(),
        resizable: true,
        cpu: pair(
            current.and_then(|c| c.cpu_request.as_ref()),
            current.and_then(|c| c.cpu_limit.as_ref()),
        ),
        memory: pair(
            current.and_then(|c| c.memory_request.as_ref()),
            current.and_then(|c| c.memory_limit.as_ref()),
        ),
        restart_cpu: false,
        restart_memory: false,
    }
}
