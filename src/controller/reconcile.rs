//! One reconcile of one AttunePolicy: read the targets from the caches, resize what the
//! decision says (Auto, OneShot, Canary; Observe and Recommend never touch pods), run the
//! GitOps step, then write the owned status once — only when it changed — and publish the
//! events. The decisions are `resize`'s and `gitops`'; this file sequences them and turns
//! their answers into facts, notes and metrics.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;

use super::events::Note;
use super::status::{self, Facts, InfeasibleChange};
use super::{Context, FIELD_MANAGER, LiveWorkload, gitops, targets};
use crate::crd::{AttunePolicy, Condition, ResizeHistoryEntry, TargetKind};
use crate::error_chain;
use crate::metrics::{FailureCategory, ReconcileResult, ResizeResult};
use crate::resize::annotations::{RESIZED_AT, read_history};
use crate::resize::{self, Change, Field, Outcome, SkipReason};

/// How long a reconcile waits for the caches' first full list before it requeues.
const CACHE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("policy {0} has no namespace")]
    NoNamespace(String),
    #[error("cannot write the status of policy {policy}")]
    Status {
        policy: String,
        #[source]
        source: kube::Error,
    },
    #[error("resizing for policy {policy} stopped")]
    Resize {
        policy: String,
        #[source]
        source: resize::ResizeError,
    },
}

impl ReconcileError {
    pub fn category(&self) -> FailureCategory {
        match self {
            ReconcileError::NoNamespace(_) => FailureCategory::InvalidPolicy,
            ReconcileError::Status { .. } | ReconcileError::Resize { .. } => {
                FailureCategory::Kubernetes
            }
        }
    }
}

pub async fn reconcile(
    policy: Arc<AttunePolicy>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let result = run(&policy, &ctx, Utc::now()).await;
    let seconds = started.elapsed().as_secs_f64();
    match &result {
        Ok(_) => ctx.metrics.reconcile(ReconcileResult::Ok, seconds),
        Err(error) => {
            ctx.metrics.reconcile(ReconcileResult::Error, seconds);
            ctx.metrics.failure(error.category());
        }
    }
    result
}

pub fn error_policy(policy: Arc<AttunePolicy>, err: &ReconcileError, ctx: Arc<Context>) -> Action {
    tracing::warn!(
        policy = %format!("{}/{}", policy.namespace().unwrap_or_default(), policy.name_any()),
        error = %error_chain(err),
        "reconcile failed"
    );
    Action::requeue(ctx.config.error_requeue)
}

fn is_supported(kind: TargetKind) -> bool {
    matches!(
        kind,
        TargetKind::Deployment | TargetKind::StatefulSet | TargetKind::DaemonSet
    )
}

async fn run(
    policy: &AttunePolicy,
    ctx: &Context,
    now: DateTime<Utc>,
) -> Result<Action, ReconcileError> {
    let name = policy.name_any();
    let ns = policy
        .namespace()
        .ok_or_else(|| ReconcileError::NoNamespace(name.clone()))?;
    let key = format!("{ns}/{name}");
    // Policies arrive before the pod cache holds its first full list; a reconcile then would
    // see too few pods and nothing would wake it before its requeue.
    if !ctx.caches.ready(CACHE_WAIT).await {
        tracing::info!(policy = %key, "caches not filled yet; trying again shortly");
        return Ok(Action::requeue(CACHE_WAIT));
    }
    let mut facts = Facts {
        paused: policy.spec.paused == Some(true),
        ..Facts::default()
    };
    let mut notes = Vec::new();

    let target = &policy.spec.target_ref;
    // The CRD's rules, again: a policy may predate them or come from a CRD without them.
    if let Err(invalid) = crate::crd::validate(&policy.spec) {
        facts.invalid = Some(invalid.to_string());
    } else if !is_supported(target.kind) {
        facts.invalid = Some(format!(
            "targetRef.kind {} is not resized by this controller; use Deployment, StatefulSet \
             or DaemonSet",
            targets::kind_name(target.kind)
        ));
    }
    let mut workloads = match targets::resolve(
        policy,
        &ctx.caches.candidates(&ns),
        &ctx.caches.pods_in(&ns),
    ) {
        Ok(found) => found,
        Err(error) => {
            facts.discovery_failed = Some(format!("targetRef.selector: {error}"));
            Vec::new()
        }
    };
    for w in &mut workloads {
        w.object = ctx.caches.object_json(target.kind, &ns, &w.identity.name);
    }
    count(&mut facts, &workloads);

    let settings = match resize::Settings::from_spec(&policy.spec) {
        Ok(mut s) => {
            s.eligibility = ctx.config.eligibility.clone();
            Some(s)
        }
        Err(error) => {
            facts.invalid.get_or_insert(error.to_string());
            None
        }
    };
    let mut stopped = None;
    let mut skips = BTreeSet::new();
    if let Some(settings) = settings.filter(|s| s.resizes())
        && !facts.paused
        && facts.invalid.is_none()
    {
        let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
        let mut pending = 0;
        for w in &workloads {
            let Some(recommendation) = &w.recommendation else {
                continue;
            };
            if !ctx.config.write_gate.is_open() {
                break;
            }
            let decide =
                match resize::Context::new(settings.clone(), recommendation, ctx.server_minor, now)
                {
                    Ok(decide) => decide,
                    Err(error) => {
                        facts.invalid = Some(format!(
                            "recommendation for {}: {error}",
                            w.identity.describe()
                        ));
                        break;
                    }
                };
            let plan = decide.plan(&w.pods);
            let not_at_target = plan.pods.iter().any(|p| match &p.decision {
                resize::Decision::Resize(_) => true,
                resize::Decision::Skip(s) => s.reason != SkipReason::AlreadyAtTarget,
            });
            pending += usize::from(not_at_target);
            let report = resize::execute(&api, &decide, &plan).await;
            absorb(
                &mut facts,
                &mut notes,
                &mut skips,
                w,
                report.outcomes,
                now,
                ctx,
            );
            if let Some(error) = report.stopped {
                facts.failures.push(error.to_string());
                stopped = Some(error);
                break;
            }
        }
        facts.pending = Some(pending);
    }
    notes.extend(new_skip_notes(ctx, &key, skips));

    let gitops_report = if facts.paused {
        paused_gitops()
    } else {
        gitops::reconcile(ctx, policy, &workloads).await
    };
    notes.extend(gitops_report.notes.iter().cloned());
    let gitops_status = serde_json::to_value(&gitops_report.status)
        .ok()
        .filter(|v| !v.is_null());

    let owned = status::build(
        policy.status.as_ref(),
        &facts,
        gitops_report.condition.clone(),
        gitops_status,
        policy.metadata.generation,
        now,
    );
    let owned = super::recommender::hand_over_ready(ctx.config.recommender.mode, owned);
    // A replica that lost the leader lease mid-reconcile leaves status and events to the new
    // leader, which reconciles the policy again.
    if !ctx.config.write_gate.is_open() {
        tracing::info!(policy = %key, "not the leader any more: status and events left to the new leader");
        return Ok(Action::await_change());
    }
    if status::differs(policy.status.as_ref(), &owned) {
        let api: Api<AttunePolicy> = Api::namespaced(ctx.client.clone(), &ns);
        api.patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(status::patch_body(owned)),
        )
        .await
        .map_err(|source| ReconcileError::Status {
            policy: key.clone(),
            source,
        })?;
        // Counted once it is written: the next reconcile finds these entries turned already.
        let (_, turned) = status::history(policy.status.as_ref(), &facts);
        for _ in 0..turned {
            ctx.metrics.resize(ResizeResult::Infeasible);
        }
    }
    ctx.events.publish(policy, &notes).await;
    if let Some(source) = stopped {
        return Err(ReconcileError::Resize {
            policy: key,
            source,
        });
    }
    let mut after = ctx.config.requeue_interval;
    if let Some(sooner) = gitops_report.requeue_after {
        after = after.min(sooner);
    }
    Ok(Action::requeue(after))
}

fn paused_gitops() -> gitops::Report {
    gitops::Report {
        status: None,
        condition: Condition {
            type_: "GitOpsPullRequest".into(),
            status: "False".into(),
            reason: Some("PullRequestDisabled".into()),
            message: Some("spec.paused is true".into()),
            last_transition_time: None,
            observed_generation: None,
        },
        notes: Vec::new(),
        requeue_after: None,
    }
}

fn count(facts: &mut Facts, workloads: &[LiveWorkload]) {
    facts.workloads = workloads.len();
    facts.pods = workloads.iter().map(|w| w.pods.len()).sum();
    facts.with_recommendation = workloads
        .iter()
        .filter(|w| w.recommendation.is_some())
        .count();
    facts.resized_workloads = workloads
        .iter()
        .filter(|w| {
            w.pods.iter().any(|p| {
                p.metadata
                    .annotations
                    .as_ref()
                    .is_some_and(|a| a.contains_key(RESIZED_AT))
            })
        })
        .count();
}

fn describe(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {} -> {}",
                c.container,
                c.resource,
                c.field.as_str(),
                c.from.as_deref().unwrap_or("unset"),
                c.to
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Folds one workload's outcomes into the facts, the history and the notes.
fn absorb(
    facts: &mut Facts,
    notes: &mut Vec<Note>,
    skips: &mut BTreeSet<String>,
    workload: &LiveWorkload,
    outcomes: Vec<Outcome>,
    now: DateTime<Utc>,
    ctx: &Context,
) {
    let at = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    for outcome in outcomes {
        match outcome {
            Outcome::Resized {
                pod,
                changes,
                annotation_error,
            } => {
                facts.resized_now += 1;
                ctx.metrics.resize(ResizeResult::Applied);
                for c in changes.iter().filter(|c| c.field == Field::Request) {
                    facts.history.push(ResizeHistoryEntry {
                        timestamp: Some(at.clone()),
                        workload: Some(workload.identity.name.clone()),
                        container: Some(c.container.clone()),
                        resource: Some(c.resource.as_str().into()),
                        from: c.from.clone(),
                        to: Some(c.to.clone()),
                        method: Some("InPlace".into()),
                        result: Some("Success".into()),
                        reason: None,
                    });
                }
                notes.push(
                    Note::normal(
                        "Resized",
                        "Resize",
                        format!("pod {pod}: {}", describe(&changes)),
                    )
                    .about_pod(&pod),
                );
                if let Some(why) = annotation_error {
                    notes.push(Note::warning(
                        "AnnotateFailed",
                        "Resize",
                        format!(
                            "pod {pod} was resized but its attune.io annotations could not be \
                             written ({why}); its cooldown and revert values are missing"
                        ),
                    ));
                }
            }
            Outcome::Skipped { pod, skip } => {
                match skip.reason {
                    SkipReason::Deferred => facts.deferred.push(pod.clone()),
                    SkipReason::Infeasible => {
                        facts.infeasible.push(pod.clone());
                        facts
                            .infeasible_changes
                            .extend(last_request_changes(workload, &pod));
                    }
                    SkipReason::ResizeInProgress => facts.in_progress += 1,
                    SkipReason::Cooldown => facts.cooling_down += 1,
                    SkipReason::Rejected => ctx.metrics.resize(ResizeResult::Skipped),
                    _ => {}
                }
                if worth_an_event(skip.reason) {
                    skips.insert(format!("{pod}\u{0}{}\u{0}{}", skip.reason, skip.detail));
                }
            }
            Outcome::Failed { pod, error } => {
                ctx.metrics.resize(ResizeResult::Failed);
                facts.failures.push(format!("{pod}: {error}"));
                notes.push(
                    Note::warning(
                        "ResizeFailed",
                        "Resize",
                        format!("pod {pod}: {}", error_chain(&error)),
                    )
                    .about_pod(&pod),
                );
            }
        }
    }
}

/// The request changes of the pod's last resize, from its tracking annotations (the entries of
/// `attune.io/resize-history` made at `attune.io/resized-at`); none when Attune never resized it.
fn last_request_changes(workload: &LiveWorkload, pod: &str) -> Vec<InfeasibleChange> {
    let Some(found) = workload
        .pods
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(pod))
    else {
        return Vec::new();
    };
    let Some(at) = found.annotations().get(RESIZED_AT) else {
        return Vec::new();
    };
    read_history(found)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| &e.at == at && e.field == Field::Request.as_str())
        .map(|e| InfeasibleChange {
            workload: workload.identity.name.clone(),
            at: e.at,
            container: e.container,
            resource: e.resource,
            to: e.to,
        })
        .collect()
}

/// Skips a user wants to hear about once. Routine ones (at target, cooldown, outside the
/// canary, waiting for a concurrency slot) are visible in the status instead.
fn worth_an_event(reason: SkipReason) -> bool {
    !matches!(
        reason,
        SkipReason::AlreadyAtTarget
            | SkipReason::ObserveOnly
            | SkipReason::Cooldown
            | SkipReason::ConcurrencyLimit
            | SkipReason::OutOfCanary
            | SkipReason::ResizeInProgress
            | SkipReason::Deleting
            | SkipReason::Gone
    )
}

/// Skip events not published for this policy since the skip began: a pod that stays
/// Deferred for an hour gets one event, not one per reconcile.
fn new_skip_notes(ctx: &Context, policy: &str, now: BTreeSet<String>) -> Vec<Note> {
    let mut seen = match ctx.skips.lock() {
        Ok(seen) => seen,
        Err(poisoned) => poisoned.into_inner(),
    };
    let before = seen.get(policy).cloned().unwrap_or_default();
    let notes = now
        .difference(&before)
        .filter_map(|entry| {
            let mut parts = entry.split('\u{0}');
            let (pod, reason, detail) = (parts.next()?, parts.next()?, parts.next()?);
            Some(match reason {
                "Deferred" => {
                    // Counted once per deferral, as its event is published once.
                    ctx.metrics.resize(ResizeResult::Deferred);
                    Note::warning("ResizeDeferred", "Resize", format!("pod {pod}: {detail}"))
                }
                "Infeasible" => {
                    Note::warning("ResizeInfeasible", "Resize", format!("pod {pod}: {detail}"))
                }
                _ => Note::normal(
                    "ResizeSkipped",
                    "Resize",
                    format!("pod {pod}: {reason}: {detail}"),
                ),
            })
        })
        .collect();
    if now.is_empty() {
        seen.remove(policy);
    } else {
        seen.insert(policy.to_owned(), now);
    }
    notes
}
