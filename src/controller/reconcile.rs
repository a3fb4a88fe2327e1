//! One reconcile of one AttunePolicy: read the targets from the caches, resize what the
//! decision says (Auto, OneShot, Canary; Observe and Recommend never touch pods), run the
//! GitOps step, then write the owned status once — only when it changed — and publish the
//! events. The decisions are `resize`'s and `gitops`'; this file sequences them and turns
//! their answers into facts, notes and metrics.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;

use super::events::Note;
use super::record::{self, Tally};
use super::revert::{self, Readings, RevertSettings};
use super::status::{self, Facts};
use super::{Context, FIELD_MANAGER, LiveWorkload, gitops, targets};
use crate::crd::{AttunePolicy, Condition, TargetKind, UpdateMode};
use crate::error_chain;
use crate::metrics::{FailureCategory, ReconcileResult, ResizeResult};
use crate::resize;
use crate::resize::annotations::RESIZED_AT;

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

/// One pass over a policy's workloads: what it needs and what it has found so far.
struct Pass<'a> {
    ctx: &'a Context,
    api: Api<Pod>,
    tally: Tally,
    stopped: Option<resize::ResizeError>,
    /// The earliest end of a revert observation still running.
    watch_until: Option<DateTime<Utc>>,
    /// The policy's Prometheus for the end-of-period checks, made when first needed.
    meter: Option<revert::measure::Meter>,
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
    if !resize::ownership::is_ours(policy) {
        tracing::debug!(policy = %key, "attune.io/controller names another controller; left alone");
        return Ok(Action::await_change());
    }
    // Policies arrive before the pod cache holds its first full list; a reconcile then would
    // see too few pods and nothing would wake it before its requeue.
    if !ctx.caches.ready(CACHE_WAIT).await {
        tracing::info!(policy = %key, "caches not filled yet; trying again shortly");
        return Ok(Action::requeue(CACHE_WAIT));
    }
    let (mut facts, mut workloads) = survey(policy, ctx, &ns);
    facts.more_conditions = vec![
        super::fields::settle(policy, ctx, &mut workloads).await,
        super::fields::schedule(&policy.spec, now),
    ];
    let mut pass = Pass {
        ctx,
        api: Api::namespaced(ctx.client.clone(), &ns),
        tally: Tally::new(facts, now, has_pending_entries(policy)),
        stopped: None,
        watch_until: None,
        meter: None,
    };
    resize_workloads(&mut pass, policy, &workloads).await;
    let Pass {
        tally,
        stopped,
        watch_until,
        ..
    } = pass;
    let Tally {
        facts,
        mut notes,
        skips,
        ..
    } = tally;
    notes.extend(record::new_skip_notes(ctx, &key, skips));

    let gitops_report = if facts.paused || facts.invalid.is_some() {
        paused_gitops(facts.invalid.as_deref())
    } else {
        gitops::reconcile(ctx, policy, &workloads).await
    };
    notes.extend(gitops_report.notes.iter().cloned());
    // A replica that lost the leader lease mid-reconcile leaves status and events to the new
    // leader, which reconciles the policy again.
    if !ctx.config.write_gate.is_open() {
        tracing::info!(policy = %key, "not the leader any more: status and events left to the new leader");
        return Ok(Action::await_change());
    }
    let owned = owned_status(policy, &facts, &gitops_report, now);
    let owned = super::recommender::hand_over_ready(ctx.config.recommender.mode, owned);
    write_status(policy, ctx, &facts, owned).await?;
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
    if let Some(until) = watch_until {
        // A second past the end of the observation, when its last checks are due.
        let left = (until - now).to_std().unwrap_or_default() + Duration::from_secs(1);
        after = after.min(left);
    }
    Ok(Action::requeue(after))
}

/// Whether the history holds a deferred resize the kubelet may since have applied.
fn has_pending_entries(policy: &AttunePolicy) -> bool {
    policy.status.as_ref().is_some_and(|s| {
        s.resize_history
            .iter()
            .any(|e| e.result.as_deref() == Some(status::PENDING))
    })
}

/// The policy's targets from the caches, and what can be said of them before any resize.
fn survey(policy: &AttunePolicy, ctx: &Context, ns: &str) -> (Facts, Vec<LiveWorkload>) {
    let mut facts = Facts {
        paused: policy.spec.paused == Some(true),
        ..Facts::default()
    };
    let target = &policy.spec.target_ref;
    // The CRD's rules, again: a policy may predate them or come from a CRD without them.
    if let Err(invalid) = crate::crd::validate(&policy.spec) {
        facts.invalid = Some(invalid.to_string());
    } else if let Some(refused) = crate::crd::support::refusal(&policy.spec) {
        facts.invalid = Some(refused);
    } else if !is_supported(target.kind) {
        facts.invalid = Some(format!(
            "targetRef.kind {} is not resized by this controller; use Deployment, StatefulSet \
             or DaemonSet",
            targets::kind_name(target.kind)
        ));
    }
    let mut workloads =
        match targets::resolve(policy, &ctx.caches.candidates(ns), &ctx.caches.pods_in(ns)) {
            Ok(found) => found,
            Err(error) => {
                facts.discovery_failed = Some(format!("targetRef.selector: {error}"));
                Vec::new()
            }
        };
    for w in &mut workloads {
        w.object = ctx.caches.object_json(target.kind, ns, &w.identity.name);
    }
    count(&mut facts, &workloads);
    (facts, workloads)
}

/// The resize and revert settings, when this policy resizes at all; a setting that cannot be
/// read makes the policy invalid.
fn resize_settings(
    policy: &AttunePolicy,
    ctx: &Context,
    facts: &mut Facts,
) -> Option<(resize::Settings, RevertSettings)> {
    let read = resize::Settings::from_spec(&policy.spec)
        .map_err(|e| e.to_string())
        .and_then(|s| {
            Ok((
                s,
                RevertSettings::from_spec(&policy.spec).map_err(|e| e.to_string())?,
            ))
        });
    let (mut settings, revert) = match read {
        Ok(both) => both,
        Err(error) => {
            facts.invalid.get_or_insert(error);
            return None;
        }
    };
    if !settings.resizes() || facts.paused || facts.invalid.is_some() {
        return None;
    }
    settings.eligibility = ctx.config.eligibility.clone();
    // Reverts lengthen the cooldown: a reverted value is not tried again before it ends.
    let history = policy
        .status
        .as_ref()
        .map(|s| s.resize_history.as_slice())
        .unwrap_or_default();
    facts.base_cooldown = Some(settings.cooldown);
    settings.cooldown = revert::backoff::backoff(history, settings.cooldown).effective;
    Some((settings, revert))
}

/// Watches the resized pods (reverting what hurt them), then resizes what the decision says,
/// workload by workload.
async fn resize_workloads(pass: &mut Pass<'_>, policy: &AttunePolicy, workloads: &[LiveWorkload]) {
    let ctx = pass.ctx;
    let Some((settings, revert_settings)) = resize_settings(policy, ctx, &mut pass.tally.facts)
    else {
        return;
    };
    let now = pass.tally.now;
    let mut pending = 0;
    let mut budget = settings.budget.clone();
    let mut promoted = Vec::new();
    for w in workloads {
        if !ctx.config.write_gate.is_open() {
            break;
        }
        let reverted = if revert_settings.enabled {
            watch_resized(pass, policy, &revert_settings, w).await
        } else {
            BTreeSet::new()
        };
        let Some(recommendation) = &w.recommendation else {
            continue;
        };
        let mut settings = settings.clone();
        if revert_settings.auto_promote && revert::facts::canary_passed(&w.pods) {
            settings.mode = UpdateMode::Auto;
            promoted.push(w.identity.describe());
        }
        let decide = match resize::Context::new(settings, recommendation, ctx.server_minor, now) {
            Ok(decide) => decide,
            Err(error) => {
                pass.tally.facts.invalid = Some(format!(
                    "recommendation for {}: {error}",
                    w.identity.describe()
                ));
                break;
            }
        };
        // A pod reverted just now keeps its original values until its backoff ends.
        let pods: Vec<Pod> = w
            .pods
            .iter()
            .filter(|p| !reverted.contains(p.metadata.name.as_deref().unwrap_or_default()))
            .cloned()
            .collect();
        pending += usize::from(pods.iter().any(|p| decide.differs(p)));
        let plan = budget.admit(decide.plan(&pods));
        let report = resize::execute(&pass.api, &decide, &plan).await;
        pass.tally.resize_outcomes(w, report.outcomes, ctx);
        if let Some(error) = report.stopped {
            pass.tally.facts.failures.push(error.to_string());
            pass.stopped = Some(error);
            break;
        }
    }
    pass.tally.facts.pending = Some(pending);
    if !promoted.is_empty() && pass.tally.facts.resized_now > 0 {
        let message = format!(
            "canary passed its observation period (every resized pod verified, none \
             reverted); resizing the remaining pods of {}",
            promoted.join(", ")
        );
        pass.tally
            .notes
            .push(Note::normal("CanaryPromoted", "Resize", message));
    }
    if let Some(message) = budget.exhausted_message() {
        pass.tally
            .notes
            .push(Note::warning("BudgetExhausted", "Resize", message));
    }
}

/// The revert watch over one workload's pods; the names of the pods it reverted.
async fn watch_resized(
    pass: &mut Pass<'_>,
    policy: &AttunePolicy,
    settings: &RevertSettings,
    workload: &LiveWorkload,
) -> BTreeSet<String> {
    let now = pass.tally.now;
    let needs = |p: &Pod| revert::measure::needs_readings(settings, p, now);
    if !workload.pods.iter().any(needs) {
        let report = revert::watch_pods(&pass.api, settings, &workload.pods, now, |_| {
            Readings::none()
        })
        .await;
        return close_watch(pass, workload, report);
    }
    // The kubelet's verdicts first: Prometheus is asked only about pods that need it.
    let (measured, judged): (Vec<Pod>, Vec<Pod>) =
        workload.pods.iter().cloned().partition(|p| needs(p));
    let mut report =
        revert::watch_pods(&pass.api, settings, &judged, now, |_| Readings::none()).await;
    let readings = measure(pass, policy, settings, workload, &measured).await;
    let read = |pod: &Pod| {
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        readings.get(name).cloned().unwrap_or_else(Readings::none)
    };
    report.merge(revert::watch_pods(&pass.api, settings, &measured, now, read).await);
    close_watch(pass, workload, report)
}

/// The throttle and SLO readings of `pods`, through the policy's Prometheus (made once per
/// pass, when first needed).
async fn measure(
    pass: &mut Pass<'_>,
    policy: &AttunePolicy,
    settings: &RevertSettings,
    workload: &LiveWorkload,
    pods: &[Pod],
) -> HashMap<String, Readings> {
    let ctx = pass.ctx;
    if pass.meter.is_none() {
        let ns = policy.namespace().unwrap_or_default();
        let meter =
            revert::measure::Meter::for_policy(&ctx.client, &ctx.prometheus, policy, &ns).await;
        pass.meter = Some(meter);
    }
    let Some(meter) = &pass.meter else {
        return HashMap::new();
    };
    let now = pass.tally.now;
    meter
        .read_due(settings, &workload.identity.name, pods, now, &ctx.metrics)
        .await
}

/// Records what the watch found; the names of the pods it reverted.
fn close_watch(
    pass: &mut Pass<'_>,
    workload: &LiveWorkload,
    report: revert::Report,
) -> BTreeSet<String> {
    if let Some(until) = report.watch_until {
        pass.watch_until = Some(pass.watch_until.map_or(until, |u| u.min(until)));
    }
    let names = report.reverted.iter().map(|r| r.pod.clone()).collect();
    pass.tally.reverts(workload, report, pass.ctx);
    names
}

/// The status this controller owns, from the facts and the GitOps step's report.
fn owned_status(
    policy: &AttunePolicy,
    facts: &Facts,
    gitops_report: &gitops::Report,
    now: DateTime<Utc>,
) -> serde_json::Value {
    let gitops_status = serde_json::to_value(&gitops_report.status)
        .ok()
        .filter(|v| !v.is_null());
    status::build(
        policy.status.as_ref(),
        facts,
        gitops_report.condition.clone(),
        gitops_status,
        policy.metadata.generation,
        now,
    )
}

/// Applies the owned status when it differs from what the policy holds.
async fn write_status(
    policy: &AttunePolicy,
    ctx: &Context,
    facts: &Facts,
    owned: serde_json::Value,
) -> Result<(), ReconcileError> {
    let ns = policy.namespace().unwrap_or_default();
    if !status::differs(policy.status.as_ref(), &owned) {
        return Ok(());
    }
    let api: Api<AttunePolicy> = Api::namespaced(ctx.client.clone(), &ns);
    api.patch_status(
        &policy.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(status::patch_body(owned)),
    )
    .await
    .map_err(|source| ReconcileError::Status {
        policy: format!("{ns}/{}", policy.name_any()),
        source,
    })?;
    // Counted once it is written: the next reconcile finds these entries turned already.
    let (_, turned) = status::history(policy.status.as_ref(), facts);
    for _ in 0..turned {
        ctx.metrics.resize(ResizeResult::Infeasible);
    }
    Ok(())
}

fn paused_gitops(invalid: Option<&str>) -> gitops::Report {
    gitops::Report {
        status: None,
        condition: Condition {
            type_: "GitOpsPullRequest".into(),
            status: "False".into(),
            reason: Some("PullRequestDisabled".into()),
            message: Some(match invalid {
                Some(why) => format!("the policy is not valid: {why}"),
                None => "spec.paused is true".into(),
            }),
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
