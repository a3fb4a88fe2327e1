//! The pipeline behind `propose --open-pr` and the controller: find the pull request, fetch,
//! edit in memory, decide, then push and call the forge — each write only when the decision
//! needs it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use git2::Oid;
use serde::Serialize;

use super::body::{self, Context, Evidence, Prices};
use super::gate::Clearance;
use super::marker::{CLOSE_NOTE, HUMAN_COMMIT_NOTE, Marker};
use super::plan::{Branch, Decision, decide};
use super::{ChangeSet, PrError, Write, WriteGate};
use crate::crd::FilePolicy;
use crate::forge::{Forge, ForgeRepo, NewPullRequest, PrState, PullRequest};
use crate::git::{self, Credentials, FileWrite, Identity, Lease, PushOutcome, TreeFile, Workspace};
use crate::propose::{Outcome, diff, outcome_scoped};
use crate::repo::{ManifestTree, Notice, Scope};
use crate::secret::SecretToken;

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
}

/// Per-repository limits, as Renovate users know them.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Pull requests the bot may open per hour (0: no limit).
    pub hourly: u32,
    /// Open bot pull requests at once (0: no limit).
    pub concurrent: u32,
    /// Branch prefix that marks the bot's pull requests.
    pub prefix: String,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            hourly: 2,
            concurrent: 10,
            prefix: "attune/".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub branch: String,
    pub identity: Identity,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub team_reviewers: Vec<String>,
    pub draft: bool,
    pub min_change_percent: f64,
    pub limits: Limits,
    pub dry_run: bool,
    pub templates: Option<PathBuf>,
    pub cache_dir: PathBuf,
    pub prices: Prices,
    /// Replica counts by `namespace/Kind/workload`, when the caller knows them.
    pub replicas: BTreeMap<String, u32>,
    /// The token for git over HTTP, if any (never logged).
    pub git_token: Option<SecretToken>,
    /// Push attempts before giving up when the remote moves under us.
    pub push_attempts: u32,
    /// Asked right before each push and forge write; a closed gate abandons the write.
    pub write_gate: WriteGate,
    /// Bytes of YAML text one sync may read from the repository ([`git::read_needed`]).
    pub read_budget: u64,
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
    let pr = forge.find_by_head(&target.repo, &settings.branch).await?;
    let token = match &settings.git_token {
        Some(token) => Some(token.clone()),
        None => forge.git_token(&target.repo).await?,
    };
    let creds = match token {
        Some(token) => Some(Credentials {
            username: forge.git_username().await?,
            token,
        }),
        None => None,
    };
    let ws = Workspace::open(&settings.cache_dir, &target.url, creds)?;
    let mut last_rejection = String::new();
    for _attempt in 0..settings.push_attempts.max(1) {
        let seen = look(&ws, target, &settings.branch, &settings.identity)?;
        let outcome = edit(&ws, seen.base, target, policies, settings.read_budget)?;
        let changes = ChangeSet::of(&outcome.changes);
        let decision = decide(
            &changes,
            pr.as_ref(),
            &seen.branch,
            settings.min_change_percent,
        );
        let result = |action, reason: String| RunResult {
            action,
            number: pr.as_ref().map(|p| p.number),
            url: pr.as_ref().map(|p| p.url.clone()),
            branch: settings.branch.clone(),
            change_hash: changes.hash.clone(),
            reason,
            previous: pr.as_ref().map(|p| p.state),
            dry_run: settings.dry_run,
            diff: diff::unified(&outcome.files),
            body: None,
            outcome: outcome.clone(),
        };
        let needs_commit = matches!(decision, Decision::Create { .. } | Decision::Update { .. });
        if matches!(decision, Decision::Create { .. })
            && let Some(reason) = over_limit(forge, target, settings).await?
        {
            return Ok(result(Action::Skipped, reason));
        }
        let rendered = if needs_commit {
            Some(render(&changes, &outcome, policies, settings)?)
        } else {
            None
        };
        let mut done = result(Action::Unchanged, String::new());
        done.body = rendered.as_ref().map(|r| r.body.clone());
        if settings.dry_run {
            let (action, reason) = describe(&decision);
            done.action = action;
            done.reason = format!("dry run: {reason}");
            return Ok(done);
        }
        if let Some(r) = &rendered {
            let push =
                push_bot_commit(&ws, &seen, &changes, &outcome, &r.commit_message, settings)?;
            if let PushOutcome::Rejected(why) = push {
                tracing::info!(branch = %settings.branch, %why, "push rejected; fetching again");
                last_rejection = why;
                continue;
            }
        }
        return execute(
            forge,
            target,
            settings,
            &ws,
            &seen,
            pr.as_ref(),
            decision,
            rendered,
            done,
        )
        .await;
    }
    Err(PrError::PushRejected {
        branch: settings.branch.clone(),
        attempts: settings.push_attempts.max(1),
        last: last_rejection,
    })
}

/// The remote as seen now: base tip and the bot branch.
struct Seen {
    base: Oid,
    branch: Branch,
    /// The bot branch tip and its parent, when the bot owns the branch.
    bot_tip: Option<(Oid, Oid)>,
    /// Whether the branch exists at all (for deleting it).
    exists: bool,
}

fn look(ws: &Workspace, target: &Target, branch: &str, me: &Identity) -> Result<Seen, PrError> {
    let heads = ws.remote_heads()?;
    let base = *heads.get(&target.base).ok_or_else(|| PrError::NoBase {
        branch: target.base.clone(),
    })?;
    let tip = heads.get(branch).copied();
    let mut wanted = Vec::new();
    if !ws.has_commit(base) {
        wanted.push(target.base.as_str());
    }
    if tip.is_some_and(|t| !ws.has_commit(t)) {
        wanted.push(branch);
    }
    // Full depth, on purpose: libgit2's push walks past a shallow boundary when it hides the
    // remote's tips and fails with "object not found" (seen with libgit2 1.9 as soon as the bot
    // branch exists). The cache keeps what earlier runs fetched, so only the first fetch pays
    // for the history; later fetches send what is new.
    ws.fetch(&wanted, None)?;
    let Some(tip) = tip else {
        return Ok(Seen {
            base,
            branch: Branch::Absent,
            bot_tip: None,
            exists: false,
        });
    };
    let info = ws.commit_info(tip)?;
    let hash = git::trailer(&info.message);
    let ours = info.committer_email == me.email && info.parents.len() == 1;
    Ok(match (hash, ours) {
        (Some(hash), true) => Seen {
            base,
            branch: Branch::Bot { hash },
            bot_tip: Some((tip, info.parents[0])),
            exists: true,
        },
        _ => Seen {
            base,
            branch: Branch::Human,
            bot_tip: None,
            exists: true,
        },
    })
}

fn edit(
    ws: &Workspace,
    base: Oid,
    target: &Target,
    policies: &[FilePolicy],
    budget: u64,
) -> Result<Outcome, PrError> {
    if !git::is_dir(ws, base, &target.scope.dir) {
        return Err(PrError::BadPath {
            path: target.scope.dir.clone(),
            branch: target.base.clone(),
        });
    }
    let mut texts = Vec::new();
    let mut skipped = Vec::new();
    // Directories to read below: a source scope reads only its own files, but the reader's
    // budget and kustomization references work per directory, so a superset is read here.
    let mut scopes: Vec<String> = target.scopes.values().map(|s| s.dir.clone()).collect();
    scopes.push(target.scope.dir.clone());
    for file in super::read_needed(ws, base, &scopes, budget)? {
        match file {
            TreeFile::Text { path, text } => texts.push((path, text)),
            TreeFile::Skipped { path, why } => {
                skipped.push(Notice::new(path, format!("{why}; skipped")))
            }
        }
    }
    let mut repo = ManifestTree::from_texts(texts);
    repo.notices.extend(skipped);
    Ok(outcome_scoped(
        &repo,
        &target.scope,
        &target.scopes,
        policies,
    ))
}

async fn over_limit<F: Forge>(
    forge: &F,
    target: &Target,
    settings: &Settings,
) -> Result<Option<String>, PrError> {
    let limits = &settings.limits;
    if limits.hourly == 0 && limits.concurrent == 0 {
        return Ok(None);
    }
    let cap = limits.hourly.max(limits.concurrent) as usize;
    let recent = forge
        .list_by_head_prefix(&target.repo, &limits.prefix, cap.max(1))
        .await?;
    let open = recent.iter().filter(|p| p.state == PrState::Open).count();
    if limits.concurrent > 0 && open >= limits.concurrent as usize {
        return Ok(Some(format!(
            "prConcurrentLimit: {open} bot pull requests are open (limit {})",
            limits.concurrent
        )));
    }
    let hour_ago = now_unix() - 3600;
    let last_hour = recent.iter().filter(|p| p.created_at > hour_ago).count();
    if limits.hourly > 0 && last_hour >= limits.hourly as usize {
        return Ok(Some(format!(
            "prHourlyLimit: {last_hour} bot pull requests opened in the last hour (limit {})",
            limits.hourly
        )));
    }
    Ok(None)
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn render(
    changes: &ChangeSet,
    outcome: &Outcome,
    policies: &[FilePolicy],
    settings: &Settings,
) -> Result<body::Rendered, PrError> {
    let mut evidence = BTreeMap::new();
    let mut names = Vec::new();
    for p in policies {
        let ns = p
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        if let Some(name) = &p.metadata.name
            && outcome
                .changes
                .iter()
                .any(|c| &c.policy == name && c.namespace == ns)
            && !names.contains(name)
        {
            names.push(name.clone());
        }
        for rec in p.status.iter().flat_map(|s| &s.recommendations) {
            for c in &rec.containers {
                let id = format!("{ns}/{}/{}/{}", rec.kind, rec.workload, c.name);
                evidence.insert(
                    id,
                    Evidence {
                        confidence: c.confidence,
                        data_points: c.data_points,
                    },
                );
            }
        }
    }
    let ctx = Context {
        policies: names,
        branch: settings.branch.clone(),
        hash: changes.hash.clone(),
        min_change_percent: settings.min_change_percent,
        prices: settings.prices,
        evidence,
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

fn push_bot_commit(
    ws: &Workspace,
    seen: &Seen,
    changes: &ChangeSet,
    outcome: &Outcome,
    message: &str,
    settings: &Settings,
) -> Result<PushOutcome, PrError> {
    // A crash after an earlier push left the branch exactly as wanted: nothing to push.
    if let (Branch::Bot { hash }, Some((_, parent))) = (&seen.branch, seen.bot_tip)
        && *hash == changes.hash
        && parent == seen.base
    {
        return Ok(PushOutcome::Pushed);
    }
    let files: Vec<FileWrite> = outcome
        .files
        .iter()
        .map(|f| FileWrite {
            path: &f.path,
            bytes: f.after.as_bytes(),
        })
        .collect();
    let commit = ws.commit_files(seen.base, &files, message, &settings.identity)?;
    let lease = match seen.bot_tip {
        Some((tip, _)) => Lease::Expect(tip),
        None => Lease::Absent,
    };
    settings.write_gate.check(Write::Push, &settings.branch)?;
    Ok(ws.push(commit, &settings.branch, lease)?)
}

fn describe(decision: &Decision) -> (Action, String) {
    match decision {
        Decision::Create {
            merged_before: Some(n),
        } => (
            Action::Created,
            format!("#{n} was merged; a fresh pull request carries the new change"),
        ),
        Decision::Create { .. } => (Action::Created, "new change set".into()),
        Decision::Update { number } => (
            Action::Updated,
            format!("#{number} carries an older change set"),
        ),
        Decision::Unchanged { number } => (Action::Unchanged, format!("#{number} is up to date")),
        Decision::NoDrift { merged: Some(n) } => (
            Action::Unchanged,
            format!("#{n} was merged and the repository matches the recommendations"),
        ),
        Decision::NoDrift { merged: None } => (
            Action::Unchanged,
            "the repository matches the recommendations".into(),
        ),
        Decision::Close { number } => (
            Action::Closed,
            format!("#{number} is obsolete: the repository already has these values"),
        ),
        Decision::HumanCommit { number } => (
            Action::Skipped,
            match number {
                Some(n) => format!("someone else pushed to the branch of #{n}; it is theirs now"),
                None => "someone else pushed to the bot branch; it is theirs now".into(),
            },
        ),
        Decision::HumanClosed { number } => (
            Action::Skipped,
            format!("#{number} was closed by a human and the values have not moved enough since"),
        ),
    }
}

#[allow(clippy::too_many_arguments)]
async fn execute<F: Forge>(
    forge: &F,
    target: &Target,
    settings: &Settings,
    ws: &Workspace,
    seen: &Seen,
    pr: Option<&PullRequest>,
    decision: Decision,
    rendered: Option<body::Rendered>,
    mut done: RunResult,
) -> Result<RunResult, PrError> {
    let (action, reason) = describe(&decision);
    done.action = action;
    done.reason = reason;
    let repo = &target.repo;
    let gate = |write| settings.write_gate.check(write, &settings.branch);
    match (&decision, rendered) {
        (Decision::Create { .. }, Some(r)) => {
            gate(Write::Create)?;
            let created = forge
                .create(
                    repo,
                    &NewPullRequest {
                        title: r.title,
                        body: r.body,
                        head: settings.branch.clone(),
                        base: target.base.clone(),
                        draft: settings.draft,
                        labels: settings.labels.clone(),
                        reviewers: settings.reviewers.clone(),
                        team_reviewers: settings.team_reviewers.clone(),
                    },
                )
                .await?;
            done.number = Some(created.number);
            done.url = Some(created.url);
        }
        (Decision::Update { number }, Some(r)) => {
            gate(Write::Update)?;
            forge.update(repo, *number, &r.title, &r.body).await?;
        }
        (Decision::Close { number }, _) => {
            let said = forge.comments(repo, *number).await?;
            if !said.iter().any(|c| c.contains(CLOSE_NOTE)) {
                gate(Write::Comment)?;
                forge
                    .comment(
                        repo,
                        *number,
                        &format!(
                            "The repository already has the recommended values (someone \
                             applied them), so this pull request is obsolete. Closing it; Attune \
                             opens a new one if the recommendations move again.\n\n{CLOSE_NOTE}"
                        ),
                    )
                    .await?;
            }
            gate(Write::Close)?;
            forge.close(repo, *number).await?;
            if seen.bot_tip.is_some() {
                gate(Write::DeleteBranch)?;
                let _ = ws.delete_branch(&settings.branch)?;
            }
        }
        (Decision::HumanCommit { number: Some(n) }, _) => {
            let said = forge.comments(repo, *n).await?;
            if !said.iter().any(|c| c.contains(HUMAN_COMMIT_NOTE)) {
                gate(Write::Comment)?;
                forge
                    .comment(
                        repo,
                        *n,
                        &format!(
                            "Someone other than Attune pushed to `{}`, so Attune will not update \
                             this pull request any more. Close it and delete the branch to let \
                             Attune propose again.\n\n{HUMAN_COMMIT_NOTE}",
                            settings.branch
                        ),
                    )
                    .await?;
            }
        }
        _ => {}
    }
    if pr.is_none() && done.number.is_none() {
        done.url = None;
    }
    let _ = seen.exists;
    Ok(done)
}
