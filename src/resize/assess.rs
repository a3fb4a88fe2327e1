//! The decision for one pod on its own: whether it may be resized now and, if so, the changes
//! that bring its containers to their targets without changing its QoS class. The OneShot,
//! Canary and concurrency quotas, which depend on the other pods, are applied afterwards.

use chrono::TimeDelta;
use k8s_openapi::api::core::v1::Pod;

use super::annotations::tracking_annotations;
use super::containers::{Resources, has_pod_level_resources, read_containers};
use super::context::Context;
use super::decision::{Change, Decision, Field, Held, Resize, Resource, Skip, SkipReason};
use super::patch::resize_patch;
use super::pod_state::{
    ResizeStatus, ResizedAt, is_deleting, opted_out, pending_message, phase, resize_status,
    resized_at,
};
use super::schedule::Verdict;
use super::target::Target;
use super::values::decide;

pub(crate) fn assess(ctx: &Context, pod: &Pod) -> Decision {
    let outcome = match eligible(ctx, pod) {
        // A pod in cooldown that is at its target is not waiting for anything.
        Err(skip) if skip.reason == SkipReason::Cooldown => match changes(ctx, pod) {
            Err(at) if at.reason == SkipReason::AlreadyAtTarget => Err(at),
            _ => Err(skip),
        },
        other => other.and_then(|()| changes(ctx, pod)),
    };
    match outcome {
        Ok(resize) => Decision::Resize(resize),
        Err(skip) => Decision::Skip(skip),
    }
}

/// Whether the pod runs at another size than the recommendation asks, whatever keeps it from
/// being resized now: the kubelet has not applied an earlier resize yet, or a change is due
/// (also one held back by a Kubernetes rule). Pods without a recommended container, at their
/// target, or that the decision cannot read do not differ.
pub(crate) fn differs(ctx: &Context, pod: &Pod) -> bool {
    if resize_status(pod) != ResizeStatus::Idle {
        return true;
    }
    match changes(ctx, pod) {
        Ok(_) => true,
        Err(skip) => matches!(
            skip.reason,
            SkipReason::WouldChangeQoS | SkipReason::MemoryLimitDecreaseUnsupported
        ),
    }
}

/// Policy, lifecycle, kubelet and cooldown gates, cheapest and most final first.
fn eligible(ctx: &Context, pod: &Pod) -> Result<(), Skip> {
    use SkipReason as R;
    let settings = &ctx.settings;
    if !settings.resizes() {
        return Err(Skip::new(
            R::ObserveOnly,
            format!("updateStrategy.type is {:?}", settings.mode),
        ));
    }
    if let Some(Verdict::Outside(why)) = settings.schedule.as_ref().map(|g| g.verdict(ctx.now)) {
        return Err(Skip::new(R::OutsideSchedule, why));
    }
    if is_deleting(pod) {
        return Err(Skip::new(R::Deleting, "pod has a deletion timestamp"));
    }
    if opted_out(pod) {
        return Err(Skip::new(
            R::OptedOut,
            "pod is annotated attune.io/skip=true",
        ));
    }
    if ctx.stale {
        return Err(Skip::new(R::StaleRecommendation, "recommendation is stale"));
    }
    if settings.eligibility.require_running && phase(pod) != "Running" {
        return Err(Skip::new(
            R::NotRunning,
            format!("pod phase is {}", phase(pod)),
        ));
    }
    match resize_status(pod) {
        ResizeStatus::Idle => {}
        ResizeStatus::InProgress => {
            return Err(Skip::new(
                R::ResizeInProgress,
                "PodResizeInProgress is True",
            ));
        }
        ResizeStatus::Deferred => return Err(Skip::new(R::Deferred, pending_message(pod))),
        ResizeStatus::Infeasible => return Err(Skip::new(R::Infeasible, pending_message(pod))),
    }
    cooldown(ctx, pod)
}

fn cooldown(ctx: &Context, pod: &Pod) -> Result<(), Skip> {
    match resized_at(pod) {
        ResizedAt::Never => Ok(()),
        // Fail closed: a pod whose last resize time cannot be read might have just been resized.
        ResizedAt::Unreadable(text) => Err(Skip::new(
            SkipReason::Cooldown,
            format!("attune.io/resized-at {text:?} is not an RFC 3339 time"),
        )),
        ResizedAt::At(at) => {
            let cooldown = TimeDelta::from_std(ctx.settings.cooldown).unwrap_or(TimeDelta::MAX);
            match at.checked_add_signed(cooldown) {
                Some(until) if ctx.now >= until => Ok(()),
                until => Err(Skip::new(
                    SkipReason::Cooldown,
                    match until {
                        Some(until) => format!("resized at {at}, cooldown until {until}"),
                        None => format!("resized at {at}"),
                    },
                )),
            }
        }
    }
}

/// The changes [`decide`] makes for the pod, as a resize patch with its tracking annotations.
fn changes(ctx: &Context, pod: &Pod) -> Result<Resize, Skip> {
    if has_pod_level_resources(pod) {
        return Err(Skip::new(
            SkipReason::Unsupported,
            "pod-level spec.resources are set",
        ));
    }
    let original = read_containers(pod).map_err(|e| Skip::new(SkipReason::Unsupported, e))?;
    let values = decide(&ctx.settings, &ctx.recommended, &original, &|r| {
        ctx.limit_decrease_allowed(r)
    });
    let (accepted, held) = (values.accepted, values.held);
    if accepted.is_empty() {
        return Err(nothing_to_do(
            values.recommended_any,
            &held,
            values.qos.as_str(),
        ));
    }
    let changes = to_changes(&original, &accepted);
    Ok(Resize {
        patch: resize_patch(&changes),
        annotations: tracking_annotations(pod, &original, &changes, ctx.now),
        changes,
        held,
    })
}

fn nothing_to_do(recommended_any: bool, held: &[Held], qos: &str) -> Skip {
    if !recommended_any {
        return Skip::new(
            SkipReason::NoRecommendation,
            "no recommendation names a container of this pod",
        );
    }
    match held.first() {
        None => Skip::new(
            SkipReason::AlreadyAtTarget,
            "every container is at its target",
        ),
        Some(first) => {
            let list: Vec<String> = held
                .iter()
                .map(|h| format!("{} {} ({})", h.container, h.resource, h.reason))
                .collect();
            let detail = match first.reason {
                SkipReason::WouldChangeQoS => format!("pod is {qos}; held: {}", list.join(", ")),
                _ => format!("held: {}", list.join(", ")),
            };
            Skip::new(first.reason, detail)
        }
    }
}

fn to_changes(original: &[Resources], accepted: &[(usize, Resource, Target)]) -> Vec<Change> {
    let mut out = Vec::new();
    for (index, resource, wanted) in accepted {
        let container = &original[*index];
        let pair = container.pair(*resource);
        for (field, from, to) in [
            (Field::Request, &pair.request, &wanted.request),
            (Field::Limit, &pair.limit, &wanted.limit),
        ] {
            if let Some(to) = to {
                out.push(Change {
                    container: container.name.clone(),
                    resource: *resource,
                    field,
                    from: from.as_ref().map(|a| a.text.clone()),
                    to: to.text.clone(),
                    restarts_container: container.restarts(*resource),
                });
            }
        }
    }
    out
}
