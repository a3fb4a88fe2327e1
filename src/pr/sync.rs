//! The one GitOps pipeline, behind `propose --open-pr` and the controller alike: find the pull
//! request, fetch, edit in memory, decide, then push and call the forge — each write only when
//! the decision needs it. Git runs on the blocking pool ([`super::git_jobs`]), so [`sync`] is
//! an ordinary `Send` future.

use std::collections::BTreeMap;

use serde::Serialize;

use super::body::{self, Context, Evidence};
use super::forge_writes::{self, Decided};
use super::gate::Clearance;
use super::git_jobs::{self, BotPush, GitWorker, Survey, SurveyJob};
use super::marker::Marker;
use super::plan::{Decision, decide};
use super::{ChangeSet, PrError, Settings, Write};
use crate::crd::{ExplanationJson, FilePolicy};
use crate::forge::{Forge, ForgeRepo, PrState, PullRequest, RequestPeople};
use crate::git::{Credentials, PushOutcome};
use crate::propose::{Outcome, diff};
use crate::repo::Scope;

/// Where the pull request goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub repo: ForgeRepo,
    /// Git transport URL (`https://`, `http://` or `file://`).
    pub url: String,
    pub base: String,
    /// What is searched: an application's source path, or everything below a directory
    /// (the whole repository for `""`).
    pub scope: Scope,
    /// Workloads searched in a scope of their own (`namespace/Kind/name` → scope): when one
    /// pull request carries workloads of several GitOps owners.
    pub scopes: BTreeMap<String, Scope>,
    /// Where the token may go: the forge API and `url`, checked before any call.
    pub clearance: Clearance,
    /// Files whose presence in the base commit the caller wants to know of
    /// ([`RunResult::found`]): settings that may win over the edit.
    pub look_for: Vec<String>,
    /// Charts of the repository that render workloads no manifest renders: those are traced
    /// through the chart's values ([`super::helm`]).
    pub helm: Vec<super::HelmTarget>,
    /// Discover the applications the base commit's own files describe, and search each
    /// workload where its application deploys it (`propose --discover` on that commit):
    /// `scopes` and `helm` are then what discovery finds, and `scope` is the default for
    /// workloads no application deploys ([`super::discovered`]).
    pub discover: Option<crate::discover::Request>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Created,
    Updated,
    Unchanged,
    Closed,
    Skipped,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
            Action::Closed => "closed",
            Action::Skipped => "skipped",
        };
        f.write_str(word)
    }
}

/// What a run did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunResult {
    pub action: Action,
    pub number: Option<u64>,
    pub url: Option<String>,
    pub branch: String,
    pub change_hash: String,
    pub reason: String,
    /// The pull request state seen before acting (merged, closed by a human, …).
    pub previous: Option<PrState>,
    pub dry_run: bool,
    #[serde(skip)]
    pub diff: String,
    #[serde(skip)]
    pub body: Option<String>,
    #[serde(skip)]
    pub outcome: Outcome,
    /// The files of [`Target::look_for`] the base commit has.
    #[serde(skip)]
    pub found: Vec<String>,
    /// What discovery found in the base commit, with [`Target::discover`].
    #[serde(skip)]
    pub discovery: Option<crate::discover::Discovery>,
}

/// One run's inputs, shared by its steps.
pub(super) struct Run<'a, F> {
    pub forge: &'a F,
    pub target: &'a Target,
    pub policies: &'a [FilePolicy],
    pub settings: &'a Settings,
    /// The newest pull request of the branch, as found at the start.
    pub pr: Option<&'a PullRequest>,
}

impl<F> Run<'_, F> {
    pub(super) fn gate(&self, write: Write) -> Result<(), PrError> {
        self.settings.write_gate.check(write, &self.settings.branch)
    }
}

/// How one attempt ended: done, or the push was rejected because the remote moved.
enum Attempt {
    Finished(Box<RunResult>),
    PushRejected(String),
}

/// Runs the lifecycle once for `policies` against `target`.
pub async fn sync<F: Forge>(
    forge: &F,
    target: &Target,
    policies: &[FilePolicy],
    settings: &Settings,
) -> Result<RunResult, PrError> {
    // The gate, before the first call that carries a token.
    target.clearance.check(&forge.api_base(), &target.url)?;
    forge.check_repo(&target.repo)?;
    forge.check_request(&RequestPeople {
        labels: &settings.labels,
        reviewers: &settings.reviewers,
        team_reviewers: &settings.team_reviewers,
    })?;
    let pr = forge.find_by_head(&target.repo, &settings.branch).await?;
    let creds = credentials(forge, target, settings).await?;
    let mut git = GitWorker::open(settings.cache_dir.clone(), target.url.clone(), creds).await?;
    let run = Run {
        forge,
        target,
        policies,
        settings,
        pr: pr.as_ref(),
    };
    let mut last_rejection = String::new();
    for _attempt in 0..settings.push_attempts.max(1) {
        match attempt(&run, &mut git).await? {
            Attempt::Finished(result) => return Ok(*result),
            Attempt::PushRejected(why) => {
                tracing::info!(branch = %settings.branch, %why, "push rejected; fetching again");
                last_rejection = why;
            }
        }
    }
    Err(PrError::PushRejected {
        branch: settings.branch.clone(),
        attempts: settings.push_attempts.max(1),
        last: last_rejection,
    })
}

/// The git credentials: the caller's token, else one the forge mints for the repository.
async fn credentials<F: Forge>(
    forge: &F,
    target: &Target,
    settings: &Settings,
) -> Result<Option<Credentials>, PrError> {
    let token = match &settings.git_token {
        Some(token) => Some(token.clone()),
        None => forge.git_token(&target.repo).await?,
    };
    Ok(match token {
        Some(token) => Some(Credentials {
            username: forge.git_username().await?,
            token,
        }),
        None => None,
    })
}

/// Fetch, edit, decide and carry the decision out, once.
async fn attempt<F: Forge>(run: &Run<'_, F>, git: &mut GitWorker) -> Result<Attempt, PrError> {
    let s = run.settings;
    let survey = git
        .run(git_jobs::survey(SurveyJob {
            target: run.target.clone(),
            policies: run.policies.to_vec(),
            branch: s.branch.clone(),
            identity: s.identity.clone(),
            budget: s.read_budget,
        }))
        .await?;
    let changes = ChangeSet::of(&survey.outcome.changes);
    let decision = decide(
        &changes,
        run.pr,
        &survey.remote.branch,
        s.min_change_percent,
    );
    let mut result = first_result(run, &changes, &survey);
    if matches!(decision, Decision::Create { .. })
        && let Some(reason) = forge_writes::over_limit(run).await?
    {
        result.action = Action::Skipped;
        result.reason = reason;
        return Ok(Attempt::Finished(Box::new(result)));
    }
    let rendered = match decision {
        Decision::Create { .. } | Decision::Update { .. } => {
            Some(render(&changes, &survey.outcome, run.policies, s)?)
        }
        _ => None,
    };
    result.body = rendered.as_ref().map(|r| r.body.clone());
    if s.dry_run {
        let (action, reason) = forge_writes::describe(&decision);
        result.action = action;
        result.reason = format!("dry run: {reason}");
        return Ok(Attempt::Finished(Box::new(result)));
    }
    if let Some(r) = &rendered {
        let push = BotPush {
            remote: survey.remote.clone(),
            hash: changes.hash.clone(),
            files: survey.outcome.files.clone(),
            message: r.commit_message.clone(),
            identity: s.identity.clone(),
            branch: s.branch.clone(),
            write_gate: s.write_gate.clone(),
        };
        if let PushOutcome::Rejected(why) = git.run(git_jobs::push_bot_commit(push)).await? {
            return Ok(Attempt::PushRejected(why));
        }
    }
    let decided = Decided {
        decision,
        rendered,
        result,
    };
    let result = forge_writes::execute(run, git, &survey.remote, decided).await?;
    Ok(Attempt::Finished(Box::new(result)))
}

/// The result before any write: nothing done yet, the found pull request, the diff.
fn first_result<F>(run: &Run<'_, F>, changes: &ChangeSet, survey: &Survey) -> RunResult {
    RunResult {
        action: Action::Unchanged,
        number: run.pr.map(|p| p.number),
        url: run.pr.map(|p| p.url.clone()),
        branch: run.settings.branch.clone(),
        change_hash: changes.hash.clone(),
        reason: String::new(),
        previous: run.pr.map(|p| p.state),
        dry_run: run.settings.dry_run,
        diff: diff::unified(&survey.outcome.files),
        body: None,
        outcome: survey.outcome.clone(),
        found: survey.found.clone(),
        discovery: survey.discovery.clone(),
    }
}

/// Title, body (with the marker last) and commit message for the change set.
fn render(
    changes: &ChangeSet,
    outcome: &Outcome,
    policies: &[FilePolicy],
    settings: &Settings,
) -> Result<body::Rendered, PrError> {
    let ctx = Context {
        policies: changed_policies(policies, outcome),
        branch: settings.branch.clone(),
        hash: changes.hash.clone(),
        min_change_percent: settings.min_change_percent,
        prices: settings.prices,
        evidence: evidence(policies),
        replicas: settings.replicas.clone(),
        problems: &outcome.problems,
    };
    let mut rendered = body::render(&outcome.changes, &ctx, settings.templates.as_deref())?;
    let marker = Marker {
        hash: changes.hash.clone(),
        values: changes.values.clone(),
    };
    rendered.body = format!("{}\n\n{}\n", rendered.body.trim_end(), marker.render());
    Ok(rendered)
}

/// The names of the policies with a change, each once, in order.
fn changed_policies(policies: &[FilePolicy], outcome: &Outcome) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in policies {
        let ns = p.metadata.namespace.as_deref().unwrap_or("default");
        if let Some(name) = &p.metadata.name
            && outcome
                .changes
                .iter()
                .any(|c| &c.policy == name && c.namespace == ns)
            && !names.contains(name)
        {
            names.push(name.clone());
        }
    }
    names
}

/// Confidence and data points per `namespace/Kind/workload/container`, for the body.
fn evidence(policies: &[FilePolicy]) -> BTreeMap<String, Evidence> {
    let mut evidence = BTreeMap::new();
    for p in policies {
        let ns = p.metadata.namespace.as_deref().unwrap_or("default");
        for rec in p.status.iter().flat_map(|s| &s.recommendations) {
            for c in &rec.containers {
                let id = format!("{ns}/{}/{}/{}", rec.kind, rec.workload, c.name);
                let explanation = c.explanation.as_ref().map(ExplanationJson::value);
                evidence.insert(
                    id,
                    Evidence {
                        confidence: c.confidence,
                        data_points: c.data_points,
                        clamped: sentences(explanation.as_ref(), "clamped"),
                        held_back: sentences(explanation.as_ref(), "heldBack"),
                        charts: super::evidence::charts_of(c),
                    },
                );
            }
        }
    }
    evidence
}

/// The sentences the controller put under `explanation.<key>`: `clamped` (values it moved
/// away from the recommendation, and why) or `heldBack` (values it left out, and why).
fn sentences(explanation: Option<&serde_json::Value>, key: &str) -> Vec<String> {
    explanation
        .and_then(|e| e.get(key))
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// The controller runs reconciles on a multi-threaded runtime: the pipeline must be able
    /// to move between its threads at every await (this fails to compile otherwise).
    #[allow(dead_code)]
    fn the_pipeline_future_is_send<F: Forge>(
        forge: &F,
        target: &Target,
        policies: &[FilePolicy],
        settings: &Settings,
    ) {
        assert_send(&sync(forge, target, policies, settings));
    }
}
