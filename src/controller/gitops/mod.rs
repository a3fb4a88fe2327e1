//! The GitOps step of a reconcile: carries a policy's recommendations to the Git repository that
//! deploys its workloads, as one pull request per policy and source.
//!
//! For each target workload with a recommendation, [`crate::locate`] finds the Argo CD
//! Application or Flux Kustomization/HelmRelease that deploys it and the repository, revision
//! and path it comes from. [`group`] admits only repositories that both the operator's allowlist
//! ([`allow`]) and that discovered ownership agree on, and groups the workloads into branches;
//! [`run`] runs [`crate::pr::sync`] per branch unless the branch's inputs are unchanged
//! ([`fingerprint`], [`Memory`]), in which case steady state costs no git fetch and no forge
//! write, and reads the pull request state only every `pr_poll_interval`. [`outcome`] turns the
//! results into `status.gitops`, the `GitOpsPullRequest` condition and events. The forge token is
//! read from the policy's own namespace ([`forge`]) and goes only to the forge client and the git
//! credentials, and only to endpoints the allowlist admits for the branch's repository ([`gate`]). This module does not edit files, speak a forge's API or walk owner chains; it
//! decides which pipeline runs where, and reports.

mod allow;
mod fingerprint;
pub mod forge;
pub mod gate;
pub mod group;
mod memory;
pub mod outcome;
mod refuse;
mod run;

use std::time::Duration;

pub use allow::{
    Verdict, check as check_repository, malformed as malformed_pattern,
    matches as repository_matches,
};
pub use group::{Located, Unlocated};
pub use memory::Memory;
pub use run::Env;

use super::{Context, LiveWorkload, Note};
use crate::crd::{
    AttunePolicy, Condition, GitOpsStatus, GitProvider, PullRequestExport, UpdateMode,
};
use crate::forge::Forge;
use crate::locate::LocateError;
use crate::locate::fetch::FetchError;
use outcome::{Outcome, Reason};

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
    fn only(reason: Reason, message: &str, policy: &AttunePolicy) -> Report {
        let o = Outcome::new(reason, message.to_owned());
        Report {
            status: None,
            condition: outcome::condition(&[&o], policy.metadata.generation),
            notes: Vec::new(),
            requeue_after: None,
        }
    }
}

/// A setting that stops the whole policy, reported with an event the first time.
fn refuse(env: &Env<'_>, policy: &AttunePolicy, message: &str) -> Report {
    let uid = policy.metadata.uid.clone().unwrap_or_default();
    refuse::invalid(
        env,
        &uid,
        message,
        policy.metadata.generation,
        std::time::SystemTime::now(),
    )
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

/// The workloads that have something to propose.
fn with_recommendations(
    workloads: &[LiveWorkload],
) -> impl Iterator<Item = (&LiveWorkload, crate::crd::WorkloadRecommendation)> {
    workloads.iter().filter_map(|w| {
        w.recommendation
            .clone()
            .filter(|r| r.containers.iter().any(|c| !c.recommended.is_empty()))
            .filter(crate::controller::recommender::fresh)
            .map(|r| (w, r))
    })
}

/// Runs the step for `policy` over its live target workloads.
pub async fn reconcile(ctx: &Context, policy: &AttunePolicy, workloads: &[LiveWorkload]) -> Report {
    let uid = policy.metadata.uid.clone().unwrap_or_default();
    let export = match enabled(policy) {
        Ok(e) => e,
        Err(why) => {
            ctx.gitops.forget(&uid);
            return Report::only(Reason::Disabled, why, policy);
        }
    };
    let env = Env {
        config: &ctx.config,
        metrics: &ctx.metrics,
        memory: &ctx.gitops,
    };
    let provider = match forge::provider(export) {
        Ok(p) => p,
        Err(f) => return refuse(&env, policy, &f.message),
    };
    let mut located = Vec::new();
    for (w, recommendation) in with_recommendations(workloads) {
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
    match provider {
        GitProvider::Gitea => {
            let mut slot = forge::Lazy::for_policy(&ctx.client, policy, export, forge::gitea);
            run::pass(&env, policy, export, &located, &mut slot).await
        }
        _ => {
            let mut slot = forge::Lazy::for_policy(&ctx.client, policy, export, forge::github);
            run::pass(&env, policy, export, &located, &mut slot).await
        }
    }
}

/// Everything after `locate`, with a forge client and git token given: what [`reconcile`] runs
/// once the sources are known (tests call it with an in-memory forge).
pub async fn reconcile_located<F: Forge>(
    env: &Env<'_>,
    policy: &AttunePolicy,
    located: &[Located],
    forge: &F,
    git_token: Option<crate::secret::SecretToken>,
) -> Report {
    let export = match enabled(policy) {
        Ok(e) => e,
        Err(why) => return Report::only(Reason::Disabled, why, policy),
    };
    if let Err(f) = forge::provider(export) {
        return refuse(env, policy, &f.message);
    }
    let mut slot = forge::Ready { forge, git_token };
    run::pass(env, policy, export, located, &mut slot).await
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
