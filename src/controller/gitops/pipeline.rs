//! Step 3's full run for one branch: the [`crate::pr::sync`] pipeline over the policy narrowed
//! to the branch's workloads, its [`Target`] and [`crate::pr::Settings`] made from the group and
//! the operator's configuration, and the result (or failure) turned into what the branch
//! remembers and reports.

use std::time::Instant;

use super::admit;
use super::branch::{BranchCtx, BranchResult, tracked};
use super::forge::{Failure, ForgeSlot};
use super::group::{Group, Located};
use super::memory::Entry;
use super::outcome::{self, Outcome, Reason, note};
use crate::controller::{Config, Note};
use crate::crd::{AttunePolicy, FilePolicy};
use crate::git;
use crate::locate::{HelmChart, Namespacing, ObjectRef, Source, same_repo};
use crate::metrics::PrAction;
use crate::pr::{self, Limits, Operator, PrError, RunResult, Settings, Target};
use crate::propose::{FixedValues, HelmSource, SetValue};
use crate::repo::Scope;
use crate::secret::SecretToken;

/// Runs the pipeline for the branch.
pub(super) async fn run<S: ForgeSlot>(
    b: &BranchCtx<'_>,
    slot: &mut S,
    notes: &mut Vec<Note>,
) -> BranchResult {
    let started = Instant::now();
    let g = b.group;
    let cleared = match slot.get(&b.admission()).await {
        Ok(c) => c,
        Err(f) => {
            let f = Failure {
                message: format!("{}: {}", g.branch, f.message),
                ..f
            };
            return failed(b, f, started, notes);
        }
    };
    let token = cleared.token;
    let target = target(g, cleared.clearance, b.env.config);
    let settings = Settings::for_branch(
        g.branch.clone(),
        &operator(b.env.config, token.clone()),
        Some(b.export),
    );
    let one = [FilePolicy::from(narrowed(b.policy, g))];
    match pr::sync(cleared.forge, &target, &one, &settings).await {
        Ok(r) => {
            let (result, run_notes) = succeeded(b, &r, started);
            notes.extend(run_notes);
            result
        }
        Err(e @ PrError::NotLeader { .. }) => abandoned(b, &e),
        Err(e) => {
            let secrets: Vec<&str> = token.iter().map(|t| t.expose()).collect();
            let mut result = failed(b, failure(g, &e, &secrets), started, notes);
            if let Some(wait) = outcome::retry_after(&e) {
                result.requeue = Some(wait.max(b.env.config.error_requeue));
            }
            result
        }
    }
}

/// Where the pull request goes: the group's repository and base, each workload searched in its
/// own owner's path, and traced through its chart when the owner renders one of this repository.
fn target(g: &Group, clearance: pr::Clearance, config: &Config) -> Target {
    Target {
        repo: g.forge_repo.clone(),
        url: clearance.git().to_owned(),
        base: g.base.clone(),
        scope: Scope::below(root_as_empty(&g.path)),
        scopes: g
            .scopes
            .iter()
            .map(|(id, path)| (id.clone(), scope_of(g, id, path)))
            .collect(),
        clearance,
        look_for: g.checks.iter().map(|c| c.file.clone()).collect(),
        helm: helm_targets(g, config),
        discover: None,
    }
}

/// One [`pr::HelmTarget`] per release that the group's owners render from a chart in the
/// group's repository, with the workloads it renders, and one per owner whose chart is not
/// traced, with its reason. A chart of another repository is left out: its workloads stay
/// problems of their own ("no manifest renders").
fn helm_targets(g: &Group, config: &Config) -> Vec<pr::HelmTarget> {
    let mut out: Vec<pr::HelmTarget> = Vec::new();
    for id in g.scopes.keys() {
        let Some(s) = source_of(g, id) else {
            continue;
        };
        let source = match (&s.helm_refusal, &s.helm) {
            (Some(why), _) => Err(why.clone()),
            (None, Some(chart)) if same_repo(&chart.repo_url, &s.repo_url) => {
                Ok(helm_source(&s.owner, chart, config))
            }
            _ => continue,
        };
        match out.iter_mut().find(|t| same_release(&t.source, &source)) {
            Some(t) => t.workloads.push(id.clone()),
            None => out.push(pr::HelmTarget {
                workloads: vec![id.clone()],
                source,
            }),
        }
    }
    out
}

/// The release `owner` renders from `chart`, its live inline values fixed after the files.
fn helm_source(owner: &ObjectRef, chart: &HelmChart, config: &Config) -> HelmSource {
    HelmSource {
        chart: chart.chart_path.clone(),
        values: chart.values_files.clone(),
        release: chart.release.clone(),
        namespace: chart.namespace.clone(),
        set: argo_parameters(&format!("the live {owner}"), chart),
        no_chart_defaults: chart.no_chart_defaults,
        fixed: chart
            .inline
            .iter()
            .map(|v| FixedValues {
                what: format!(
                    "{} of the live {owner}",
                    chart
                        .inline_values
                        .as_deref()
                        .unwrap_or("the inline values")
                ),
                yaml: v.yaml().to_owned(),
            })
            .collect(),
        helm: config.helm.clone(),
        timeout: config.helm_timeout,
    }
}

/// The Application's `helm.parameters` as the release's set assignments; `owner` says where
/// they are changed ("the live argo cd application argocd/shop").
fn argo_parameters(owner: &str, chart: &HelmChart) -> Vec<SetValue> {
    let fix = "change or remove the parameter in the application's manifest";
    chart
        .parameters
        .iter()
        .map(|p| SetValue::argo_parameter(p.force_string, &p.name, &p.assignment, owner, fix))
        .collect()
}

fn same_release(a: &Result<HelmSource, String>, b: &Result<HelmSource, String>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => {
            (
                &a.chart,
                &a.values,
                &a.release,
                &a.namespace,
                &a.fixed,
                &a.set,
                a.no_chart_defaults,
            ) == (
                &b.chart,
                &b.values,
                &b.release,
                &b.namespace,
                &b.fixed,
                &b.set,
                b.no_chart_defaults,
            )
        }
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

/// The located source of the group's workload `id` (`namespace/Kind/name`).
fn source_of<'g>(g: &'g Group, id: &str) -> Option<&'g Source> {
    g.workloads
        .iter()
        .find(|w| id.ends_with(&format!("/{}/{}", w.kind, w.name)))
        .and_then(|w| w.source.as_ref().ok())
}

/// What the operator's configuration decides for every branch.
fn operator(config: &Config, git_token: Option<SecretToken>) -> Operator {
    Operator {
        identity: config.identity.clone(),
        labels: Vec::new(),
        reviewers: Vec::new(),
        team_reviewers: Vec::new(),
        draft: false,
        limits: Limits::attune(config.hourly_pr_limit, config.concurrent_pr_limit),
        dry_run: false,
        templates: config.templates.clone(),
        cache_dir: config.cache_dir.clone(),
        git_token,
        write_gate: config.write_gate.clone(),
        read_budget: config.repo_read_budget,
    }
}

/// The policy with its recommendations narrowed to the branch's workloads.
fn narrowed(policy: &AttunePolicy, g: &Group) -> AttunePolicy {
    let mut one = policy.clone();
    let status = one.status.get_or_insert_with(Default::default);
    status.recommendations = g
        .workloads
        .iter()
        .map(|w| w.recommendation.clone())
        .collect();
    one
}

/// The branch's result after a completed run, and the events it is worth.
fn succeeded(b: &BranchCtx<'_>, r: &RunResult, started: Instant) -> (BranchResult, Vec<Note>) {
    let g = b.group;
    let (mut o, mut notes, action) = outcome::from_run(r, &g.branch);
    b.env
        .metrics
        .pull_request(action, started.elapsed().as_secs_f64());
    let shadows = shadows(g, &r.found);
    if !shadows.is_empty() {
        let labels: Vec<String> = g.workloads.iter().map(Located::label).collect();
        let text = format!(
            "{} may be overridden outside {}: {}",
            labels.join(", "),
            g.path,
            shadows.join("; ")
        );
        notes.push(note(true, "GitOpsShadowed", "WriteBack", &text));
        o.message.push_str(&format!("; {text}"));
    }
    let wrote = !r.dry_run
        && matches!(
            r.action,
            pr::Action::Created | pr::Action::Updated | pr::Action::Closed
        );
    let written_before = b.prev.as_ref().and_then(|p| p.written);
    let requeue = tracked(&o).then_some(b.env.config.pr_poll_interval);
    let entry = Entry {
        fingerprint: b.fingerprint.clone(),
        row: outcome::row(g, &o),
        outcome: o,
        polled: b.now,
        written: if wrote { Some(b.now) } else { written_before },
    };
    (BranchResult { entry, requeue }, notes)
}

/// A failed run's message, with the base guess when the base was missing; no token in it.
fn failure(g: &Group, e: &PrError, secrets: &[&str]) -> Failure {
    let message = git::redact(
        &format!(
            "pull request {} in {} ({}): {}",
            g.branch,
            g.repo,
            g.path,
            outcome::chain(e)
        ),
        secrets,
    );
    let message = match (e, &g.base_guess) {
        (PrError::NoBase { .. }, Some(guess)) => format!("{message} ({guess})"),
        _ => message,
    };
    Failure {
        message,
        category: outcome::category(e),
    }
}

/// The branch failed: the metric, an event unless the same failure was told last time, and
/// the pull request last known kept in the outcome.
fn failed(b: &BranchCtx<'_>, f: Failure, started: Instant, notes: &mut Vec<Note>) -> BranchResult {
    let metrics = b.env.metrics;
    metrics.failure(f.category);
    metrics.pull_request(PrAction::Failed, started.elapsed().as_secs_f64());
    let prev = b.prev.as_ref();
    let repeated = prev
        .is_some_and(|p| p.fingerprint.all == b.fingerprint.all && p.outcome.message == f.message);
    if !repeated {
        notes.push(note(true, "PullRequestFailed", "WriteBack", &f.message));
    }
    let mut o = Outcome::new(Reason::Failed, f.message);
    if let Some(p) = prev {
        o.number = p.outcome.number;
        o.url = p.outcome.url.clone();
        o.state = p.outcome.state;
    }
    let entry = Entry {
        fingerprint: b.fingerprint.clone(),
        row: outcome::row(b.group, &o),
        outcome: o,
        polled: b.now,
        written: prev.and_then(|p| p.written),
    };
    BranchResult {
        entry,
        requeue: Some(b.env.config.error_requeue),
    }
}

/// A write abandoned because this replica lost the leader lease: not the policy's failure, so
/// no event and no failure metric; the new leader runs the branch again. The empty fingerprint
/// makes this replica run it again too, should it lead again with this memory.
fn abandoned(b: &BranchCtx<'_>, e: &PrError) -> BranchResult {
    let g = b.group;
    tracing::info!(branch = %g.branch, repository = %g.repo, "{e}");
    let o = Outcome::new(
        Reason::Failed,
        format!("pull request {} in {}: {e}", g.branch, g.repo),
    );
    let entry = Entry {
        fingerprint: Default::default(),
        row: outcome::row(g, &o),
        outcome: o,
        polled: b.now,
        written: b.prev.as_ref().and_then(|p| p.written),
    };
    BranchResult {
        entry,
        requeue: None,
    }
}

/// Where a workload is searched: exactly its owner's source path, read as that tool reads it
/// (see [`Scope`]), or everything below the narrower `export.pullRequest.path`.
fn scope_of(g: &Group, id: &str, path: &str) -> Scope {
    let dir = root_as_empty(path);
    match source_of(g, id) {
        Some(s) if admit::clean(&s.path) == path => Scope::source(dir, s.recurse)
            .in_namespace(Namespacing::overriding(s.namespace.as_ref()))
            .renamed(&s.names.prefix, &s.names.suffix),
        _ => Scope::below(dir),
    }
}

/// `pr::Target` spells the repository root as `""`, the tools as `.`.
fn root_as_empty(path: &str) -> String {
    if path == "." {
        String::new()
    } else {
        path.to_owned()
    }
}

/// The settings that can win over the edit: those the owner carries, and the files the walk
/// asked to look for that the base commit has.
fn shadows(g: &Group, found: &[String]) -> Vec<String> {
    let mut out = g.shadows.clone();
    for c in g.checks.iter().filter(|c| found.contains(&c.file)) {
        out.push(format!("{} ({})", c.file, c.why));
    }
    out
}
