//! Glue between a reconcile and the policy fields the pure modules decide: who owns each
//! workload when several policies target it (`weight`, [`crate::resize::ownership`]), whether
//! the schedule lets resizes start now ([`crate::resize::schedule`]), and the values a pull
//! request writes ([`crate::resize::values`]). Each function gives the reconcile a condition
//! or an adjusted input; none writes anything.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use kube::ResourceExt;

use super::targets::{Candidate, targets};
use super::{Context, LiveWorkload};
use crate::crd::{
    AttunePolicy, AttunePolicySpec, Condition, ExplanationJson, TargetKind, WorkloadRecommendation,
};
use crate::resize::ownership::{lost_to, owner};
use crate::resize::schedule::{Gate, Verdict};
use crate::resize::values;

/// The condition that names the owners of the workloads this policy lost.
pub const SUPERSEDED: &str = "Superseded";
/// The condition that says whether the schedule holds resizes back.
pub const SCHEDULE_BLOCKED: &str = "ScheduleBlocked";
/// Key under each container's `explanation` that carries the clamp sentences to the PR body.
pub const CLAMPED: &str = "clamped";

/// How long a reconcile waits for the policy cache's first full list: deciding ownership on a
/// partial list could let a policy act on a workload a higher-weight one owns.
const POLICY_CACHE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

fn condition(type_: &str, status: bool, reason: &str, message: String) -> Condition {
    Condition {
        type_: type_.into(),
        status: if status { "True" } else { "False" }.into(),
        reason: Some(reason.into()),
        message: (!message.is_empty()).then_some(message),
        last_transition_time: None,
        observed_generation: None,
    }
}

fn kind_of(name: &str) -> Option<TargetKind> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

/// Drops from `workloads` those another policy owns, and says who owns them.
pub async fn settle(
    policy: &AttunePolicy,
    ctx: &Context,
    workloads: &mut Vec<LiveWorkload>,
) -> Condition {
    // A store whose watch is gone (tools, tests) counts as complete.
    let _ = tokio::time::timeout(POLICY_CACHE_WAIT, ctx.policies.wait_until_ready()).await;
    let all: Vec<Arc<AttunePolicy>> = ctx.policies.state();
    settle_among(policy, &all, workloads)
}

/// [`settle`] over a given list of policies (which may or may not hold `policy` itself).
pub fn settle_among(
    policy: &AttunePolicy,
    all: &[Arc<AttunePolicy>],
    workloads: &mut Vec<LiveWorkload>,
) -> Condition {
    // A policy being deleted owns nothing: its rivals take over in the pass that sees it go.
    let others: Vec<&AttunePolicy> = all
        .iter()
        .map(Arc::as_ref)
        .filter(|p| p.metadata.uid != policy.metadata.uid || p.name_any() != policy.name_any())
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    let mut lost = Vec::new();
    workloads.retain(|w| {
        let Some(kind) = kind_of(&w.identity.kind) else {
            return true;
        };
        let candidate = Candidate {
            kind,
            namespace: w.identity.namespace.clone(),
            name: w.identity.name.clone(),
            labels: w.identity.labels.clone(),
            annotations: Default::default(),
            selector: None,
            object: serde_json::Value::Null,
        };
        let mut contenders: Vec<&AttunePolicy> = others
            .iter()
            .copied()
            .filter(|p| targets(p, &candidate).unwrap_or(false))
            .collect();
        contenders.push(policy);
        match owner(&contenders).and_then(|o| lost_to(policy, o)) {
            Some(winner) => {
                lost.push(format!("{} is owned by {winner}", w.identity.describe()));
                false
            }
            None => true,
        }
    });
    if lost.is_empty() {
        return condition(SUPERSEDED, false, "OwnsItsWorkloads", String::new());
    }
    let shown = lost.iter().take(5).cloned().collect::<Vec<_>>().join("; ");
    let more = match lost.len() {
        n if n > 5 => format!(" and {} more", n - 5),
        _ => String::new(),
    };
    condition(
        SUPERSEDED,
        true,
        "OwnedByAnotherPolicy",
        format!("{shown}{more}; this policy neither resizes nor proposes them"),
    )
}

/// The other policies that target a workload `gone` targets, among `all`, given the workloads
/// of its namespace: when `gone` is deleted they may own those workloads now, so they are
/// reconciled at once rather than at their next requeue.
pub fn rivals<'a>(
    all: &'a [Arc<AttunePolicy>],
    candidates: &[Candidate],
    gone: &AttunePolicy,
) -> Vec<&'a AttunePolicy> {
    let contested: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| targets(gone, c).unwrap_or(false))
        .collect();
    all.iter()
        .map(Arc::as_ref)
        .filter(|p| p.metadata.uid != gone.metadata.uid || p.name_any() != gone.name_any())
        .filter(|p| contested.iter().any(|c| targets(p, c).unwrap_or(false)))
        .collect()
}

/// `ScheduleBlocked`: True while outside the schedule. An unusable schedule is reported by
/// Ready (InvalidConfig); here it is Unknown.
pub fn schedule(spec: &AttunePolicySpec, now: DateTime<Utc>) -> Condition {
    let schedule = spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.schedule.as_ref());
    match Gate::from_spec(schedule) {
        Ok(None) => condition(SCHEDULE_BLOCKED, false, "NoSchedule", String::new()),
        Ok(Some(gate)) => match gate.verdict(now) {
            Verdict::Inside(why) => condition(SCHEDULE_BLOCKED, false, "InsideWindow", why),
            Verdict::Outside(why) => condition(SCHEDULE_BLOCKED, true, "OutsideWindow", why),
        },
        Err(error) => Condition {
            status: "Unknown".into(),
            ..condition(SCHEDULE_BLOCKED, false, "InvalidConfig", error.to_string())
        },
    }
}

/// The recommendation a pull request writes for `w`: the values the resize applies (bounds,
/// controlledValues, request ≤ limit, QoS kept, exclusions), with the reason for each clamped
/// value under `explanation.clamped`. A policy whose settings cannot be read was refused
/// before this runs; it then gets the recommendation unchanged.
pub fn for_git(
    policy: &AttunePolicy,
    w: &LiveWorkload,
    recommendation: WorkloadRecommendation,
) -> WorkloadRecommendation {
    let Ok(settings) = crate::resize::Settings::from_spec(&policy.spec) else {
        return recommendation;
    };
    let Ok((mut out, clamps)) = values::for_git(&settings, &recommendation, w.pods.first()) else {
        return recommendation;
    };
    for c in &mut out.containers {
        let sentences: Vec<String> = clamps
            .iter()
            .filter(|k| k.container == c.name)
            .map(|k| k.sentence())
            .collect();
        if sentences.is_empty() {
            continue;
        }
        let mut explanation = c.explanation.as_ref().map_or_else(
            || serde_json::Value::Object(Default::default()),
            ExplanationJson::value,
        );
        if let Some(map) = explanation.as_object_mut() {
            map.insert(CLAMPED.into(), sentences.into());
        }
        c.explanation = Some(explanation.into());
    }
    out
}

#[cfg(test)]
#[path = "fields_tests.rs"]
mod tests;
