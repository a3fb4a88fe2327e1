//! One GitOps pass over a policy's located workloads: plan the branches, then for each branch
//! either reuse the remembered result (fingerprint unchanged: no git, no forge; the pull request
//! state is read every `pr_poll_interval`), wait out the cooldown, or run `pr::sync` with the
//! policy narrowed to the branch's workloads. Everything after `locate` happens here, over any
//! [`Forge`], so tests drive it with a given `Source` and an in-memory forge. It must not walk
//! owner chains, edit files or speak a forge's API: `locate`, `pr` and the backends do.

use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};

use super::forge::{Failure, ForgeSlot};
use super::gate::Admission;
use super::group::{self, Group, Located};
use super::memory::{Entry, Memory};
use super::outcome::{self, Outcome, Reason, note};
use super::{Report, fingerprint, refuse};
use crate::controller::{Config, Note};
use crate::crd::duration::parse_go_duration;
use crate::crd::{AttunePolicy, GitOpsPullRequest, GitOpsStatus, PullRequestExport};
use crate::forge::{Forge, PrState};
use crate::git;
use crate::metrics::{FailureCategory, Metrics, PrAction};
use crate::pr::{self, Limits, Settings, Target};
use crate::repo::Scope;

/// What a pass needs from the controller besides the policy.
pub struct Env<'a> {
    pub config: &'a Config,
    pub metrics: &'a Metrics,
    pub memory: &'a Memory,
}

const DEFAULT_COOLDOWN: Duration = Duration::from_secs(24 * 3600);
const MAX_ROWS: usize = 50;

/// What one branch came to in this pass.
struct Done {
    outcome: Outcome,
    /// Ask for the next reconcile within this time.
    requeue: Option<Duration>,
}

pub(crate) async fn pass<S: ForgeSlot>(
    env: &Env<'_>,
    policy: &AttunePolicy,
    export: &PullRequestExport,
    located: &[Located],
    slot: &mut S,
) -> Report {
    let ns = policy.metadata.namespace.clone().unwrap_or_default();
    let name = policy.metadata.name.clone().unwrap_or_default();
    let uid = policy
        .metadata
        .uid
        .clone()
        .unwrap_or_else(|| format!("{ns}/{name}"));
    let generation = policy.metadata.generation;
    let now = SystemTime::now();
    let mut notes = Vec::new();
    let mut outcomes = Vec::new();
    let mut keys = Vec::new();
    let mut requeue: Option<Duration> = None;
    let mut soonest = |d: Duration| requeue = Some(requeue.map_or(d, |r: Duration| r.min(d)));

    let cooldown = match export.cooldown.as_deref() {
        None => DEFAULT_COOLDOWN,
        Some(text) => match parse_go_duration(text.trim()) {
            Ok(d) => d,
            Err(why) => {
                let message = format!(
                    "export.pullRequest.cooldown {text:?} is not a duration ({why}); write it like 24h"
                );
                return refuse::invalid(env, &uid, &message, generation, now);
            }
        },
    };
    if let Some(percent) = export.min_change_percent
        && !(0..=100).contains(&percent)
    {
        let message =
            format!("export.pullRequest.minChangePercent {percent} is out of range; use 0 to 100");
        return refuse::invalid(env, &uid, &message, generation, now);
    }
    let plan = group::plan(
        &ns,
        &name,
        export,
        &env.config.allowed_repositories,
        located,
    );

    for r in &plan.refusals {
        let (key, o) = refuse::workload(env, &uid, r, now, &mut notes);
        keys.push(key);
        outcomes.push(o);
    }

    let mut rows = Vec::new();
    let mut last_polled: Option<SystemTime> = None;
    for g in &plan.groups {
        let fp = fingerprint::of(g, export);
        let prev = env.memory.get(&uid, &g.key);
        let (done, entry) = branch(
            env, policy, export, g, &fp, prev, cooldown, now, slot, &mut notes,
        )
        .await;
        if let Some(d) = done.requeue {
            soonest(d);
        }
        last_polled = Some(last_polled.map_or(entry.polled, |p| p.max(entry.polled)));
        rows.push(entry.row.clone());
        env.memory.put(&uid, &g.key, entry);
        keys.push(g.key.clone());
        outcomes.push(done.outcome);
    }
    env.memory.retain(&uid, &keys);

    if outcomes.is_empty() {
        outcomes.push(Outcome::new(
            Reason::NoDrift,
            "no target workload has a recommendation yet".into(),
        ));
    }
    let refs: Vec<&Outcome> = outcomes.iter().collect();
    rows.truncate(MAX_ROWS);
    Report {
        status: Some(GitOpsStatus {
            pull_requests: rows,
            last_polled: last_polled.map(rfc3339),
        }),
        condition: outcome::condition(&refs, generation),
        notes,
        requeue_after: requeue,
    }
}

fn rfc3339(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn since(now: SystemTime, then: SystemTime) -> Duration {
    now.duration_since(then).unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
async fn branch<S: ForgeSlot>(
    env: &Env<'_>,
    policy: &AttunePolicy,
    export: &PullRequestExport,
    g: &Group,
    fp: &(String, String),
    prev: Option<Entry>,
    cooldown: Duration,
    now: SystemTime,
    slot: &mut S,
    notes: &mut Vec<Note>,
) -> (Done, Entry) {
    let poll = env.config.pr_poll_interval;
    let Some(p) = prev.as_ref() else {
        return sync(env, policy, export, g, fp, prev, now, slot, notes).await;
    };
    let same = p.fingerprint == fp.0;
    let failed = p.outcome.reason == Reason::Failed;
    let age = since(now, p.polled);
    let wait = if failed {
        env.config.error_requeue
    } else {
        poll
    };
    let cooling = p.wanted != fp.1
        && p.outcome.state == Some(PrState::Open)
        && p.written.is_some_and(|w| since(now, w) < cooldown);
    if same && age < wait {
        let done = Done {
            outcome: p.outcome.clone(),
            requeue: (tracked(&p.outcome) || failed).then(|| wait - age),
        };
        return (done, p.clone());
    }
    let mut polled = p.polled;
    // A merged pull request stays merged: only an open or closed one is worth reading again.
    if !failed
        && (same || cooling)
        && age >= poll
        && p.outcome.state != Some(PrState::Merged)
        && let Some(number) = p.outcome.number
    {
        match poll_state(slot, &admission(env, g), g, number).await {
            Ok(Some(state)) if Some(state) == p.outcome.state => polled = now,
            // It changed (merged, closed, reopened, gone): a full run decides what now.
            Ok(_) => return sync(env, policy, export, g, fp, prev, now, slot, notes).await,
            // Refused before any request (the gate, a missing Secret): the full run reports it
            // as a failure with its event, and is refused the same way.
            Err(f) if f.category != FailureCategory::Forge => {
                return sync(env, policy, export, g, fp, prev, now, slot, notes).await;
            }
            Err(f) => {
                env.metrics.failure(f.category);
                tracing::warn!(branch = %g.branch, error = %f.message, "cannot read the pull request state");
                let done = Done {
                    outcome: p.outcome.clone(),
                    requeue: Some(env.config.error_requeue),
                };
                return (done, p.clone());
            }
        }
    }
    // A remembered rate-limit skip is retried; every other unchanged result holds.
    if same && !failed && p.outcome.reason != Reason::Cooldown {
        let mut entry = p.clone();
        entry.polled = now;
        let done = Done {
            outcome: p.outcome.clone(),
            requeue: tracked(&p.outcome).then_some(poll),
        };
        return (done, entry);
    }
    if cooling && let Some(written) = p.written {
        let left = cooldown.saturating_sub(since(now, written));
        let until = rfc3339(written + cooldown);
        let mut o = p.outcome.clone();
        o.reason = Reason::Cooldown;
        o.message = format!(
            "{}: new recommendations wait for export.pullRequest.cooldown ({}) until {until}",
            pr_name(&o, &g.branch),
            humanize(cooldown)
        );
        // The old fingerprint stays, so the change is picked up once the cooldown is over.
        let mut entry = p.clone();
        entry.polled = polled;
        entry.outcome = o.clone();
        entry.row = row(g, &o);
        let next_poll = poll.saturating_sub(since(now, polled));
        return (
            Done {
                outcome: o,
                requeue: Some(left.min(next_poll.max(Duration::from_secs(1)))),
            },
            entry,
        );
    }
    sync(env, policy, export, g, fp, prev, now, slot, notes).await
}

/// Whether the branch has a pull request whose state is worth reading again later.
fn tracked(o: &Outcome) -> bool {
    o.number.is_some() && matches!(o.reason, Reason::Open | Reason::Cooldown)
}

fn pr_name(o: &Outcome, branch: &str) -> String {
    match o.number {
        Some(n) => format!("#{n}"),
        None => branch.to_owned(),
    }
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    if s > 0 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s > 0 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// What the allowlist admitted for `g`: the gate's input.
fn admission<'a>(env: &'a Env<'_>, g: &'a Group) -> Admission<'a> {
    Admission {
        allowed: &env.config.allowed_repositories,
        repo: &g.repo,
        forge_repo: &g.forge_repo,
    }
}

async fn poll_state<S: ForgeSlot>(
    slot: &mut S,
    admission: &Admission<'_>,
    g: &Group,
    number: u64,
) -> Result<Option<PrState>, Failure> {
    // The gate runs inside `get`: no client is handed out for an endpoint it does not clear.
    let cleared = slot.get(admission).await?;
    match cleared.forge.find_by_head(&g.forge_repo, &g.branch).await {
        Ok(Some(pr)) if pr.number == number => Ok(Some(pr.state)),
        Ok(_) => Ok(None),
        Err(e) => {
            let secrets: Vec<&str> = cleared.token.iter().map(|t| t.expose()).collect();
            Err(Failure {
                message: git::redact(
                    &format!("reading pull request #{number} of {}: {e}", g.repo),
                    &secrets,
                ),
                category: FailureCategory::Forge,
            })
        }
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

pub(crate) fn row(g: &Group, o: &Outcome) -> GitOpsPullRequest {
    GitOpsPullRequest {
        repository: Some(g.repo.to_string()),
        path: Some(g.path.clone()),
        revision: Some(g.base.clone()),
        branch: Some(g.branch.clone()),
        owner: Some(g.owners.join(", ")),
        workloads: g.workloads.iter().map(Located::label).collect(),
        number: o.number.and_then(|n| i64::try_from(n).ok()),
        url: o.url.clone(),
        state: o.state.map(|s| {
            match s {
                PrState::Open => "open",
                PrState::Merged => "merged",
                PrState::Closed => "closed",
            }
            .to_owned()
        }),
        reason: Some(o.reason.as_str().to_owned()),
        message: Some(crate::text::ellipsize(&o.message, 512)),
        last_change_hash: o.change_hash.clone(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn sync<S: ForgeSlot>(
    env: &Env<'_>,
    policy: &AttunePolicy,
    export: &PullRequestExport,
    g: &Group,
    fp: &(String, String),
    prev: Option<Entry>,
    now: SystemTime,
    slot: &mut S,
    notes: &mut Vec<Note>,
) -> (Done, Entry) {
    let started = Instant::now();
    let written_before = prev.as_ref().and_then(|p| p.written);
    let fail = |message: String, category: FailureCategory, notes: &mut Vec<Note>| {
        env.metrics.failure(category);
        env.metrics
            .pull_request(PrAction::Failed, started.elapsed().as_secs_f64());
        let repeated = prev
            .as_ref()
            .is_some_and(|p| p.fingerprint == fp.0 && p.outcome.message == message);
        if !repeated {
            notes.push(note(true, "PullRequestFailed", "WriteBack", &message));
        }
        let mut o = Outcome::new(Reason::Failed, message);
        if let Some(p) = &prev {
            o.number = p.outcome.number;
            o.url = p.outcome.url.clone();
            o.state = p.outcome.state;
        }
        let entry = Entry {
            fingerprint: fp.0.clone(),
            wanted: fp.1.clone(),
            outcome: o.clone(),
            polled: now,
            written: written_before,
            row: row(g, &o),
        };
        (
            Done {
                outcome: o,
                requeue: Some(env.config.error_requeue),
            },
            entry,
        )
    };
    let cleared = match slot.get(&admission(env, g)).await {
        Ok(c) => c,
        Err(f) => return fail(format!("{}: {}", g.branch, f.message), f.category, notes),
    };
    let (forge, token) = (cleared.forge, cleared.token);
    let target = Target {
        repo: g.forge_repo.clone(),
        url: cleared.clearance.git().to_owned(),
        base: g.base.clone(),
        scope: Scope::below(root_as_empty(&g.path)),
        scopes: g
            .scopes
            .iter()
            .map(|(id, path)| (id.clone(), scope_of(g, id, path)))
            .collect(),
        clearance: cleared.clearance,
        look_for: g.checks.iter().map(|c| c.file.clone()).collect(),
    };
    let config = env.config;
    let settings = Settings::for_branch(
        g.branch.clone(),
        &operator(config, token.clone()),
        Some(export),
    );
    let secrets: Vec<&str> = token.iter().map(|t| t.expose()).collect();
    let one = [crate::crd::FilePolicy::from(narrowed(policy, g))];
    let result = pr::sync(forge, &target, &one, &settings).await;
    let r = match result {
        Ok(r) => r,
        Err(e @ pr::PrError::NotLeader { .. }) => return abandoned(g, &e, now, written_before),
        Err(e) => {
            let category = outcome::category(&e);
            let message = git::redact(
                &format!(
                    "pull request {} in {} ({}): {}",
                    g.branch,
                    g.repo,
                    g.path,
                    outcome::chain(&e)
                ),
                &secrets,
            );
            let message = match (&e, &g.base_guess) {
                (pr::PrError::NoBase { .. }, Some(guess)) => format!("{message} ({guess})"),
                _ => message,
            };
            let mut out = fail(message, category, notes);
            if let Some(wait) = outcome::retry_after(&e) {
                out.0.requeue = Some(wait.max(env.config.error_requeue));
            }
            return out;
        }
    };
    let (mut o, run_notes, action) = outcome::from_run(&r, &g.branch);
    env.metrics
        .pull_request(action, started.elapsed().as_secs_f64());
    notes.extend(run_notes);
    let shadows = shadows(g, &r.found);
    if !shadows.is_empty() {
        let text = format!(
            "{} may be overridden outside {}: {}",
            g.workloads
                .iter()
                .map(Located::label)
                .collect::<Vec<_>>()
                .join(", "),
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
    let entry = Entry {
        fingerprint: fp.0.clone(),
        wanted: fp.1.clone(),
        outcome: o.clone(),
        polled: now,
        written: if wrote { Some(now) } else { written_before },
        row: row(g, &o),
    };
    let requeue = tracked(&o).then_some(env.config.pr_poll_interval);
    (
        Done {
            outcome: o,
            requeue,
        },
        entry,
    )
}

/// A write abandoned because this replica lost the leader lease: not the policy's failure, so
/// no event and no failure metric; the new leader runs the branch again. The empty fingerprint
/// makes this replica run it again too, should it lead again with this memory.
fn abandoned(
    g: &Group,
    e: &pr::PrError,
    now: SystemTime,
    written: Option<SystemTime>,
) -> (Done, Entry) {
    tracing::info!(branch = %g.branch, repository = %g.repo, "{e}");
    let o = Outcome::new(
        Reason::Failed,
        format!("pull request {} in {}: {e}", g.branch, g.repo),
    );
    let entry = Entry {
        fingerprint: String::new(),
        wanted: String::new(),
        outcome: o.clone(),
        polled: now,
        written,
        row: row(g, &o),
    };
    (
        Done {
            outcome: o,
            requeue: None,
        },
        entry,
    )
}

/// Where a workload is searched: exactly its owner's source path, read as that tool reads it
/// (see [`Scope`]), or everything below the narrower `export.pullRequest.path`.
fn scope_of(g: &Group, id: &str, path: &str) -> Scope {
    let dir = root_as_empty(path);
    let source = g
        .workloads
        .iter()
        .find(|w| id.ends_with(&format!("/{}/{}", w.kind, w.name)))
        .and_then(|w| w.source.as_ref().ok());
    match source {
        Some(s) if group::clean(&s.path) == path => Scope::source(dir, s.recurse),
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

/// What the operator's configuration decides for every branch.
fn operator(config: &Config, git_token: Option<crate::secret::SecretToken>) -> pr::Operator {
    pr::Operator {
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
