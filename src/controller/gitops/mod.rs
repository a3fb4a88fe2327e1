//! The GitOps step of a reconcile: carries a policy's recommendations to the Git repository that
//! deploys its workloads, as one pull request per policy and source. It reads as its steps:
//!
//! 1. **locate** ([`reconcile`]): [`crate::locate`] traces each target workload with a
//!    recommendation to the Argo CD Application or Flux Kustomization/HelmRelease that deploys
//!    it, and the repository, revision and path it comes from ([`Located`]).
//! 2. **admit and group** ([`group::plan`]): only repositories that both the operator's
//!    allowlist ([`allow`]) and the discovered ownership agree on are admitted ([`admit`]); the
//!    admitted workloads are grouped into branches.
//! 3. **per branch** ([`branch`]): reuse the remembered result when the branch's inputs are
//!    unchanged ([`fingerprint`], [`Memory`]: steady state costs no git fetch and no forge
//!    write, and reads the pull request state only every `pr_poll_interval`), hold a change
//!    back during the cooldown, or run the pipeline ([`pipeline`], which calls
//!    [`crate::pr::sync`]).
//! 4. **status** ([`pass`]): the branches' outcomes ([`outcome`]) become `status.gitops`, the
//!    `GitOpsPullRequest` condition and events.
//!
//! The forge token is read from the policy's own namespace ([`forge`]) and goes only to the
//! forge client and the git credentials, and only to endpoints the allowlist admits for the
//! branch's repository ([`gate`]). This module does not open git repositories, edit files, speak
//! a forge's API or walk owner chains; it decides which pipeline runs where, and reports.

mod admit;
mod allow;
mod branch;
mod fingerprint;
pub mod forge;
pub mod gate;
pub mod group;
pub mod held;
mod located;
mod memory;
pub mod outcome;
mod pass;
mod pipeline;
mod refuse;

use std::time::Duration;

pub use allow::{
    Verdict, check as check_repository, malformed as malformed_pattern,
    matches as repository_matches,
};
pub use located::{Located, Unlocated};
pub use memory::Memory;

use super::{Config, Context, LiveWorkload, Note};
use crate::crd::{AttunePolicy, Condition, GitOpsStatus, PullRequestExport, UpdateMode};
use crate::forge::Forge;
use crate::locate::LocateError;
use crate::locate::fetch::FetchError;
use crate::metrics::Metrics;
use outcome::{Outcome, Reason};

/// What the step needs from the controller besides the policy.
pub struct Env<'a> {
    pub config: &'a Config,
    pub metrics: &'a Metrics,
    pub memory: &'a Memory,
}

/// What the step reports back to the reconcile.
#[derive(Debug, Clone)]
pub struct Report {
    /// `status.gitops`, or `None` to leave it out of the status patch.
    pub status: Option<GitOpsStatus>,
    /// The `GitOpsPullRequest` condition.
    pub condition: Condition,
    pub notes: Vec<Note>,
    pub requeue_after: Option<Duration>,
}

impl Report {
    fn only(reason: Reason, message: &str, policy: &AttunePolicy) -> Box<Report> {
        let o = Outcome::new(reason, message.to_owned());
        Box::new(Report {
            status: None,
            condition: outcome::condition(&[&o], policy.metadata.generation),
            notes: Vec::new(),
            requeue_after: None,
        })
    }
}

/// The pull-request export settings, when the policy turns them on and may use them.
pub fn enabled(policy: &AttunePolicy) -> Result<&PullRequestExport, &'static str> {
    let export = policy
        .spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.export.as_ref())
        .and_then(|e| e.pull_request.as_ref())
        .filter(|p| p.enabled == Some(true))
        .ok_or("updateStrategy.export.pullRequest.enabled is not true")?;
    if policy.spec.update_mode() == UpdateMode::Observe {
        return Err("the policy is in Observe mode, which proposes nothing");
    }
    Ok(export)
}

/// The export settings and the forge they name, or the report that stops the step here.
fn admitted_export<'p>(
    env: &Env<'_>,
    policy: &'p AttunePolicy,
) -> Result<&'p PullRequestExport, Box<Report>> {
    let export = enabled(policy).map_err(|why| Report::only(Reason::Disabled, why, policy))?;
    if let Err(f) = forge::provider(export) {
        return Err(Box::new(
            refuse::Refuser::new(env, policy).invalid(&f.message),
        ));
    }
    Ok(export)
}

/// Runs the step for `policy` over its live target workloads.
pub async fn reconcile(ctx: &Context, policy: &AttunePolicy, workloads: &[LiveWorkload]) -> Report {
    let env = Env {
        config: &ctx.config,
        metrics: &ctx.metrics,
        memory: &ctx.gitops,
    };
    if enabled(policy).is_err() {
        ctx.gitops
            .forget(&policy.metadata.uid.clone().unwrap_or_default());
    }
    let export = match admitted_export(&env, policy) {
        Ok(e) => e,
        Err(report) => return *report,
    };
    let located = locate_sources(ctx, policy, workloads).await;
    let mut slot = forge::PolicyForge::for_policy(&ctx.client, policy, export);
    let pass = pass::Pass {
        env: &env,
        policy,
        export,
        located: &located,
    };
    pass::run(&pass, &mut slot).await
}

/// Step 1: where each workload with a recommendation comes from, or why that is unknown; the
/// values are the ones the resize step would apply (`fields::for_git`).
async fn locate_sources(
    ctx: &Context,
    policy: &AttunePolicy,
    workloads: &[LiveWorkload],
) -> Vec<Located> {
    let mut located = Vec::new();
    for (w, recommendation) in with_recommendations(policy, workloads, chrono::Utc::now()) {
        let recommendation = super::fields::for_git(policy, w, recommendation);
        let source =
            crate::locate::fetch::locate_live(&ctx.client, &w.identity, &ctx.config.locate)
                .await
                .map_err(|e| Unlocated {
                    owner_not_verified: matches!(
                        e,
                        FetchError::Locate(LocateError::OwnerNotVerified { .. })
                    ),
                    message: format!("locating {}: {}", w.identity.describe(), outcome::chain(&e)),
                });
        located.push(Located {
            kind: w.identity.kind.clone(),
            name: w.identity.name.clone(),
            recommendation,
            source,
        });
    }
    located
}

/// The workloads that have something to propose, without the values just reverted for an OOM
/// kill or restarts ([`held`]: the pull request leaves them out and says why).
fn with_recommendations<'w>(
    policy: &AttunePolicy,
    workloads: &'w [LiveWorkload],
    now: chrono::DateTime<chrono::Utc>,
) -> impl Iterator<Item = (&'w LiveWorkload, crate::crd::WorkloadRecommendation)> {
    let held = held::held(policy, now);
    workloads.iter().filter_map(move |w| {
        w.recommendation
            .clone()
            .filter(|r| r.containers.iter().any(|c| !c.recommended.is_empty()))
            .filter(crate::controller::recommender::fresh)
            .map(|r| (w, held::hold_back(r, &held)))
    })
}

/// Everything after `locate`, with a forge client given: what [`reconcile`] runs once the
/// sources are known (tests call it with an in-memory forge).
pub async fn reconcile_located<F: Forge>(
    env: &Env<'_>,
    policy: &AttunePolicy,
    located: &[Located],
    forge: forge::GivenForge<'_, F>,
) -> Report {
    let export = match admitted_export(env, policy) {
        Ok(e) => e,
        Err(report) => return *report,
    };
    let mut slot = forge;
    let pass = pass::Pass {
        env,
        policy,
        export,
        located,
    };
    pass::run(&pass, &mut slot).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_send<T: Send>(_: &T) {}

    /// The kube-rs controller runs reconciles on a multi-threaded runtime.
    #[allow(dead_code)]
    fn the_step_can_move_between_threads(ctx: &Context, p: &AttunePolicy, w: &[LiveWorkload]) {
        is_send(&reconcile(ctx, p, w));
    }
}
