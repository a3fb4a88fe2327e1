//! The pipeline's git side. libgit2 blocks and its handle may not be shared between threads, so
//! the cache clone lives in a [`GitWorker`] that lends it to one job at a time on tokio's
//! blocking pool: each job takes owned inputs and returns owned results, and the pipeline's
//! future stays an ordinary `Send` future that never blocks an async worker.

use git2::Oid;

use super::plan::Branch;
use super::{PrError, Target, Write, WriteGate};
use crate::crd::FilePolicy;
use crate::discover::Discovery;
use crate::git::{self, Credentials, FileWrite, Identity, Lease, PushOutcome, Workspace};
use crate::propose::{FileChange, Outcome, outcome_scoped};
use crate::repo::ManifestTree;

/// Owns the cache clone between jobs.
pub(super) struct GitWorker {
    /// `None` only while a job has it, or after a job was lost (its thread panicked).
    workspace: Option<Workspace>,
}

impl GitWorker {
    /// Opens (or clones) the cache clone of `url` below `cache_dir`.
    pub(super) async fn open(
        cache_dir: std::path::PathBuf,
        url: String,
        creds: Option<Credentials>,
    ) -> Result<GitWorker, PrError> {
        let workspace = blocking(move || Ok(Workspace::open(&cache_dir, &url, creds)?)).await?;
        Ok(GitWorker {
            workspace: Some(workspace),
        })
    }

    /// Runs `job` on the blocking pool with the clone lent to it.
    pub(super) async fn run<T, J>(&mut self, job: J) -> Result<T, PrError>
    where
        T: Send + 'static,
        J: FnOnce(&Workspace) -> Result<T, PrError> + Send + 'static,
    {
        let workspace = self.workspace.take().ok_or_else(|| {
            PrError::GitWorker("an earlier git step stopped without returning the clone".into())
        })?;
        let (workspace, result) = blocking(move || {
            let result = job(&workspace);
            Ok((workspace, result))
        })
        .await?;
        self.workspace = Some(workspace);
        result
    }
}

async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, PrError> + Send + 'static,
) -> Result<T, PrError> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| PrError::GitWorker(e.to_string()))?
}

/// The remote as seen now: base tip and the bot branch.
#[derive(Debug, Clone)]
pub(super) struct RemoteState {
    pub base: Oid,
    pub branch: Branch,
    /// When the bot owns the branch: its tip, and the commit that tip sits on.
    pub bot_commit: Option<BotCommit>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct BotCommit {
    pub tip: Oid,
    pub parent: Oid,
}

/// What the repository holds now and what the policies would change in it.
pub(super) struct Survey {
    pub remote: RemoteState,
    pub outcome: Outcome,
    /// The files of [`Target::look_for`] that the base commit has.
    pub found: Vec<String>,
    /// What discovery found, with [`Target::discover`].
    pub discovery: Option<Discovery>,
}

/// What a survey looks at, owned so that it can move to the blocking pool.
pub(super) struct SurveyJob {
    pub target: Target,
    pub policies: Vec<FilePolicy>,
    /// The bot branch.
    pub branch: String,
    /// The bot's identity: a tip committed by anyone else makes the branch a human's.
    pub identity: Identity,
    /// Bytes of YAML text the survey may read.
    pub budget: u64,
}

/// Fetches what is new and edits the base in memory.
pub(super) fn survey(
    job: SurveyJob,
) -> impl FnOnce(&Workspace) -> Result<Survey, PrError> + Send + 'static {
    move |ws| {
        let remote = look(ws, &job.target, &job.branch, &job.identity)?;
        let (outcome, discovery) = edit(ws, remote.base, &job)?;
        let found = job
            .target
            .look_for
            .iter()
            .filter(|f| git::is_file(ws, remote.base, f))
            .cloned()
            .collect();
        Ok(Survey {
            remote,
            outcome,
            found,
            discovery,
        })
    }
}

fn look(
    ws: &Workspace,
    target: &Target,
    branch: &str,
    me: &Identity,
) -> Result<RemoteState, PrError> {
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
    // remote's tips and fails with "object not found". The cache keeps what earlier runs
    // fetched, so only the first fetch pays for the history; later fetches send what is new.
    ws.fetch(&wanted, None)?;
    let Some(tip) = tip else {
        return Ok(RemoteState {
            base,
            branch: Branch::Absent,
            bot_commit: None,
        });
    };
    let info = ws.commit_info(tip)?;
    let hash = git::trailer(&info.message);
    let by_the_bot = info.committer_email == me.email && info.parents.len() == 1;
    Ok(match (hash, by_the_bot) {
        (Some(hash), true) => RemoteState {
            base,
            branch: Branch::Bot { hash },
            bot_commit: Some(BotCommit {
                tip,
                parent: info.parents[0],
            }),
        },
        _ => RemoteState {
            base,
            branch: Branch::Human,
            bot_commit: None,
        },
    })
}

fn edit(
    ws: &Workspace,
    base: Oid,
    job: &SurveyJob,
) -> Result<(Outcome, Option<Discovery>), PrError> {
    let target = &job.target;
    if !git::is_dir(ws, base, &target.scope.dir) {
        return Err(PrError::BadPath {
            path: target.scope.dir.clone(),
            branch: target.base.clone(),
        });
    }
    if let Some(request) = &target.discover {
        let (discovery, outcome) = super::discovered::edit(ws, base, job, request)?;
        return Ok((outcome, Some(discovery)));
    }
    // Directories to read below: a source scope reads only its own files, but the reader's
    // budget and kustomization references work per directory, so a superset is read here.
    let mut scopes: Vec<String> = target.scopes.values().map(|s| s.dir.clone()).collect();
    scopes.push(target.scope.dir.clone());
    let (texts, skipped) = super::read::texts(super::read_needed(ws, base, &scopes, job.budget)?);
    let mut repo = ManifestTree::from_texts(texts);
    repo.notices.extend(skipped);
    let mut outcome = outcome_scoped(&repo, &target.scope, &target.scopes, &job.policies);
    super::helm::trace_all(ws, base, target, &job.policies, &mut outcome)?;
    Ok((outcome, None))
}

/// The bot commit to push: the files on the base, with the change set's trailer in `message`.
pub(super) struct BotPush {
    pub remote: RemoteState,
    pub hash: String,
    pub files: Vec<FileChange>,
    pub message: String,
    pub identity: Identity,
    pub branch: String,
    pub write_gate: WriteGate,
}

/// Commits and pushes the bot commit, unless the branch already carries exactly it.
pub(super) fn push_bot_commit(
    p: BotPush,
) -> impl FnOnce(&Workspace) -> Result<PushOutcome, PrError> + Send + 'static {
    move |ws| {
        // A crash after an earlier push left the branch exactly as wanted: nothing to push.
        if let (Branch::Bot { hash }, Some(bot)) = (&p.remote.branch, p.remote.bot_commit)
            && *hash == p.hash
            && bot.parent == p.remote.base
        {
            return Ok(PushOutcome::Pushed);
        }
        let files: Vec<FileWrite> = p
            .files
            .iter()
            .map(|f| FileWrite {
                path: &f.path,
                bytes: f.after.as_bytes(),
            })
            .collect();
        let commit = ws.commit_files(p.remote.base, &files, &p.message, &p.identity)?;
        let lease = match p.remote.bot_commit {
            Some(bot) => Lease::Expect(bot.tip),
            None => Lease::Absent,
        };
        p.write_gate.check(Write::Push, &p.branch)?;
        Ok(ws.push(commit, &p.branch, lease)?)
    }
}

/// Deletes the bot branch (after its pull request was closed as obsolete).
pub(super) fn delete_branch(
    branch: String,
) -> impl FnOnce(&Workspace) -> Result<(), PrError> + Send + 'static {
    move |ws| {
        ws.delete_branch(&branch)?;
        Ok(())
    }
}
