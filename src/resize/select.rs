//! Which of the pods that could be resized are resized this time: OneShot takes one pod,
//! Canary a share of them, Auto all; every mode stops at `maxConcurrentResizes` pods resizing
//! at once, counting pods whose resize the kubelet is still applying.

use k8s_openapi::api::core::v1::Pod;

use crate::crd::UpdateMode;

use super::annotations::RESIZED_AT;
use super::context::Context;
use super::decision::{Decision, Plan, PodDecision, Skip, SkipReason};
use super::pod_state::{ResizeStatus, annotation, is_deleting, pod_name, resize_status};

/// Pods counted for OneShot and Canary shares: the ones not being deleted.
fn live(pods: &[Pod]) -> impl Iterator<Item = &Pod> {
    pods.iter().filter(|p| !is_deleting(p))
}

/// A pod Attune has resized before belongs to the canary for good, so re-running the decision
/// (every cycle, after every cooldown) never widens the share: new members are added only up
/// to the share, and members keep following the recommendation.
fn is_member(pod: &Pod) -> bool {
    annotation(pod, RESIZED_AT).is_some()
}

/// Ceil(percentage × pods / 100), at least one.
pub(crate) fn canary_size(percentage: u32, pods: usize) -> usize {
    let percentage = usize::try_from(percentage.min(100)).unwrap_or(100);
    (percentage * pods).div_ceil(100).max(1)
}

pub(crate) fn plan(ctx: &Context, pods: &[Pod]) -> Plan {
    let settings = &ctx.settings;
    let mut decisions: Vec<PodDecision> = pods
        .iter()
        .map(|pod| PodDecision {
            pod: pod_name(pod).to_owned(),
            decision: ctx.assess(pod),
        })
        .collect();
    let share = match settings.mode {
        UpdateMode::OneShot => Some(1),
        UpdateMode::Canary => Some(canary_size(settings.canary_percentage, live(pods).count())),
        _ => None,
    };
    let members = live(pods).filter(|p| is_member(p)).count();
    let mut share_room = share.map(|s| s.saturating_sub(members));
    let in_flight = live(pods)
        .filter(|p| resize_status(p) == ResizeStatus::InProgress)
        .count();
    let mut concurrency_room = settings.max_concurrent_resizes.saturating_sub(in_flight);

    // By name, so the same pods are chosen every cycle whatever order the list came in.
    let mut candidates: Vec<usize> = (0..pods.len())
        .filter(|&i| matches!(decisions[i].decision, Decision::Resize(_)))
        .collect();
    candidates.sort_by(|&a, &b| decisions[a].pod.cmp(&decisions[b].pod));
    for index in candidates {
        let member = is_member(&pods[index]);
        let skip = if !member && share_room == Some(0) {
            Some(Skip::new(
                SkipReason::OutOfCanary,
                format!(
                    "{:?} share of {} pod(s) is taken",
                    settings.mode,
                    share.unwrap_or_default()
                ),
            ))
        } else if concurrency_room == 0 {
            Some(Skip::new(
                SkipReason::ConcurrencyLimit,
                format!(
                    "maxConcurrentResizes {} reached ({in_flight} already in progress)",
                    settings.max_concurrent_resizes
                ),
            ))
        } else {
            None
        };
        match skip {
            Some(skip) => decisions[index].decision = Decision::Skip(skip),
            None => {
                concurrency_room -= 1;
                if !member && let Some(room) = share_room.as_mut() {
                    *room -= 1;
                }
            }
        }
    }
    Plan { pods: decisions }
}
