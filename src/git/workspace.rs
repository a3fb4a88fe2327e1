//! A bare cache clone of one remote, and the few operations the pull-request lifecycle needs.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::{
    Cred, Direction, FetchOptions, ObjectType, Oid, PushOptions, RemoteCallbacks, Repository,
    Signature, build::TreeUpdateBuilder,
};

use super::{CacheLock, GitError};
use crate::secret::SecretToken;

/// How many times libgit2 may ask for credentials in one operation before we give up.
const CREDENTIAL_ATTEMPTS: u32 = 2;

/// Token authentication for git over HTTP(S).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub token: SecretToken,
}

/// One file of a commit: its `/`-separated path from the tree's root and its new content.
#[derive(Debug, Clone, Copy)]
pub struct FileWrite<'a> {
    pub path: &'a str,
    pub bytes: &'a [u8],
}

/// Name and email for the bot's commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    pub received_bytes: usize,
    pub received_objects: usize,
}

/// What the remote branch must be for a push to go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// The branch must not exist (a plain, non-forced push).
    Absent,
    /// The branch must point at this commit (the bot's own), which the push then replaces.
    Expect(Oid),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    Pushed,
    /// The remote refused, or no longer matched the lease; the message says why.
    Rejected(String),
}

#[derive(Debug, Clone)]
pub struct CommitInfo {
    pub oid: Oid,
    pub parents: Vec<Oid>,
    pub author_email: String,
    pub committer_email: String,
    pub message: String,
}

/// The value of the `Attune-Change:` trailer of a commit message, if it has one.
pub fn trailer(message: &str) -> Option<String> {
    message
        .lines()
        .rev()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("Attune-Change:"))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A bare cache clone of one remote URL, used by one run at a time (see [`CacheLock`]).
pub struct Workspace {
    repo: Repository,
    url: String,
    creds: Option<Credentials>,
    dir: PathBuf,
    // Dropped after `repo`: fields drop in order, so libgit2 has closed its files first.
    _lock: CacheLock,
}

impl Workspace {
    /// Opens (or creates) the cache clone of `url` below `cache_root`. The directory is named by
    /// a digest of the URL, so two remotes never share one and a URL never appears in a path.
    /// Waits while another run (thread or process) has the same clone open.
    pub fn open(
        cache_root: &Path,
        url: &str,
        creds: Option<Credentials>,
    ) -> Result<Workspace, GitError> {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(url.as_bytes());
        let name: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
        let dir = cache_root.join("git").join(format!("{name}.git"));
        let lock = CacheLock::acquire(&dir, super::lock::WAIT)?;
        std::fs::create_dir_all(&dir).map_err(|source| GitError::Cache {
            path: dir.display().to_string(),
            source,
        })?;
        let secrets = secrets_of(creds.as_ref());
        let repo = match Repository::open_bare(&dir) {
            Ok(repo) => repo,
            Err(_) => Repository::init_bare(&dir)
                .map_err(|e| GitError::git("creating the cache clone", &e, &secrets))?,
        };
        Ok(Workspace {
            repo,
            url: url.to_owned(),
            creds,
            dir,
            _lock: lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn secrets(&self) -> Vec<&str> {
        secrets_of(self.creds.as_ref())
    }

    fn err(&self, step: &'static str, e: &git2::Error) -> GitError {
        GitError::git(step, e, &self.secrets())
    }

    fn callbacks<'a>(&'a self, asked: &'a Cell<u32>) -> RemoteCallbacks<'a> {
        let mut callbacks = RemoteCallbacks::new();
        callbacks.credentials(move |url, _user, _allowed| {
            asked.set(asked.get() + 1);
            // libgit2 asks with the URL it is talking to, which a redirect may have moved to
            // another server: the token goes only to the remote this workspace was opened for.
            if self.creds.is_some() && !same_remote(url, &self.url) {
                return Err(git2::Error::from_str(&format!(
                    "the remote asked for credentials from {}, which is not the repository's \
                     remote; no token is sent there",
                    super::redact(url, &[])
                )));
            }
            match &self.creds {
                Some(c) if asked.get() <= CREDENTIAL_ATTEMPTS => {
                    Cred::userpass_plaintext(&c.username, c.token.expose())
                }
                Some(_) => Err(git2::Error::from_str(
                    "the remote refused the credentials (check the token and its scopes)",
                )),
                None => Err(git2::Error::from_str(
                    "the remote asks for credentials and none were given (set ATTUNE_GIT_TOKEN)",
                )),
            }
        });
        callbacks
    }

    /// Every branch on the remote and its tip: one round trip, no objects transferred.
    pub fn remote_heads(&self) -> Result<BTreeMap<String, Oid>, GitError> {
        let asked = Cell::new(0);
        let mut remote = self
            .repo
            .remote_anonymous(&self.url)
            .map_err(|e| self.err("listing remote branches", &e))?;
        let connection = remote
            .connect_auth(Direction::Fetch, Some(self.callbacks(&asked)), None)
            .map_err(|e| self.err("listing remote branches", &e))?;
        let heads = connection
            .list()
            .map_err(|e| self.err("listing remote branches", &e))?
            .iter()
            .filter_map(|h| {
                h.name()
                    .strip_prefix("refs/heads/")
                    .map(|b| (b.to_owned(), h.oid()))
            })
            .collect();
        Ok(heads)
    }

    /// Fetches `branches` into `refs/remotes/origin/*`, `depth` commits deep when given (the
    /// cache keeps what it had, so a later fetch transfers only what is new).
    pub fn fetch(&self, branches: &[&str], depth: Option<i32>) -> Result<FetchStats, GitError> {
        if branches.is_empty() {
            return Ok(FetchStats::default());
        }
        let asked = Cell::new(0);
        let stats = Cell::new(FetchStats::default());
        let mut callbacks = self.callbacks(&asked);
        callbacks.transfer_progress(|p| {
            stats.set(FetchStats {
                received_bytes: p.received_bytes(),
                received_objects: p.received_objects(),
            });
            true
        });
        let mut options = FetchOptions::new();
        options.remote_callbacks(callbacks);
        if let Some(depth) = depth {
            options.depth(depth);
        }
        let refspecs: Vec<String> = branches
            .iter()
            .map(|b| format!("+refs/heads/{b}:refs/remotes/origin/{b}"))
            .collect();
        let mut remote = self
            .repo
            .remote_anonymous(&self.url)
            .map_err(|e| self.err("fetching", &e))?;
        remote
            .fetch(&refspecs, Some(&mut options), None)
            .map_err(|e| self.err("fetching", &e))?;
        Ok(stats.get())
    }

    /// The commit `refs/remotes/origin/<branch>` points at after the last fetch.
    pub fn fetched(&self, branch: &str) -> Option<Oid> {
        self.repo
            .refname_to_id(&format!("refs/remotes/origin/{branch}"))
            .ok()
    }

    pub fn has_commit(&self, oid: Oid) -> bool {
        self.repo.find_commit(oid).is_ok()
    }

    pub fn commit_info(&self, oid: Oid) -> Result<CommitInfo, GitError> {
        let commit = self
            .repo
            .find_commit(oid)
            .map_err(|e| self.err("reading a commit", &e))?;
        Ok(CommitInfo {
            oid,
            parents: commit.parent_ids().collect(),
            author_email: commit.author().email().unwrap_or_default().to_owned(),
            committer_email: commit.committer().email().unwrap_or_default().to_owned(),
            message: commit.message().unwrap_or_default().to_owned(),
        })
    }

    pub(super) fn repository(&self) -> &Repository {
        &self.repo
    }

    /// One commit on top of `base` whose tree is `base`'s with `files` written.
    pub fn commit_files(
        &self,
        base: Oid,
        files: &[FileWrite<'_>],
        message: &str,
        who: &Identity,
    ) -> Result<Oid, GitError> {
        let step = "building the commit";
        let parent = self
            .repo
            .find_commit(base)
            .map_err(|e| self.err(step, &e))?;
        let tree = parent.tree().map_err(|e| self.err(step, &e))?;
        let mut update = TreeUpdateBuilder::new();
        for f in files {
            let blob = self.repo.blob(f.bytes).map_err(|e| self.err(step, &e))?;
            // Keep an existing file's mode; new files are plain blobs.
            let mode = tree
                .get_path(Path::new(f.path))
                .ok()
                .filter(|e| e.kind() == Some(ObjectType::Blob))
                .map_or(git2::FileMode::Blob, |e| {
                    if e.filemode() == i32::from(git2::FileMode::BlobExecutable) {
                        git2::FileMode::BlobExecutable
                    } else {
                        git2::FileMode::Blob
                    }
                });
            update.upsert(f.path, blob, mode);
        }
        let new_tree = update
            .create_updated(&self.repo, &tree)
            .map_err(|e| self.err(step, &e))?;
        let new_tree = self
            .repo
            .find_tree(new_tree)
            .map_err(|e| self.err(step, &e))?;
        let sig = Signature::now(&who.name, &who.email).map_err(|e| self.err(step, &e))?;
        self.repo
            .commit(None, &sig, &sig, message, &new_tree, &[&parent])
            .map_err(|e| self.err(step, &e))
    }

    /// Pushes `oid` to `branch` if the remote branch still matches `lease`. libgit2 has no
    /// force-with-lease, so the lease is checked against a fresh listing just before the push;
    /// the window between the two is one round trip.
    pub fn push(&self, oid: Oid, branch: &str, lease: Lease) -> Result<PushOutcome, GitError> {
        let current = self.remote_heads()?.get(branch).copied();
        match (lease, current) {
            (Lease::Absent, Some(tip)) => {
                return Ok(PushOutcome::Rejected(format!(
                    "branch {branch} appeared on the remote (at {tip}) in the meantime"
                )));
            }
            (Lease::Expect(expected), Some(tip)) if tip != expected => {
                return Ok(PushOutcome::Rejected(format!(
                    "branch {branch} moved on the remote (to {tip}) in the meantime"
                )));
            }
            (Lease::Expect(_), None) => {
                return Ok(PushOutcome::Rejected(format!(
                    "branch {branch} was deleted on the remote in the meantime"
                )));
            }
            _ => {}
        }
        let local = format!("refs/attune/push/{branch}");
        self.repo
            .reference(&local, oid, true, "attune: stage a push")
            .map_err(|e| self.err("pushing", &e))?;
        let force = if matches!(lease, Lease::Expect(_)) {
            "+"
        } else {
            ""
        };
        self.push_refspec(&format!("{force}{local}:refs/heads/{branch}"))
    }

    /// Deletes a branch the bot owns on the remote.
    pub fn delete_branch(&self, branch: &str) -> Result<PushOutcome, GitError> {
        self.push_refspec(&format!(":refs/heads/{branch}"))
    }

    fn push_refspec(&self, refspec: &str) -> Result<PushOutcome, GitError> {
        let asked = Cell::new(0);
        let refused: Cell<Option<String>> = Cell::new(None);
        let mut callbacks = self.callbacks(&asked);
        callbacks.push_update_reference(|_name, status| {
            if let Some(message) = status {
                refused.set(Some(message.to_owned()));
            }
            Ok(())
        });
        let mut options = PushOptions::new();
        options.remote_callbacks(callbacks);
        let mut remote = self
            .repo
            .remote_anonymous(&self.url)
            .map_err(|e| self.err("pushing", &e))?;
        match remote.push(&[refspec], Some(&mut options)) {
            Ok(()) => {}
            // A server-side refusal of a non-fast-forward arrives as an error from some
            // transports and as a status from others; both mean "rejected", not "broken".
            Err(e)
                if e.class() == git2::ErrorClass::Reference || e.message().contains("non-fast") =>
            {
                return Ok(PushOutcome::Rejected(super::redact(
                    e.message(),
                    &self.secrets(),
                )));
            }
            Err(e) => return Err(self.err("pushing", &e)),
        }
        drop(options);
        Ok(match refused.take() {
            Some(message) => PushOutcome::Rejected(super::redact(&message, &self.secrets())),
            None => PushOutcome::Pushed,
        })
    }
}

fn secrets_of(creds: Option<&Credentials>) -> Vec<&str> {
    creds.map(|c| vec![c.token.expose()]).unwrap_or_default()
}

/// Whether libgit2's `asked` URL is the remote `admitted`: the same scheme, host, port
/// (defaults filled in) and repository path. User info is ignored; anything unparsable differs.
fn same_remote(asked: &str, admitted: &str) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(asked), url::Url::parse(admitted)) else {
        return false;
    };
    let path = |u: &url::Url| u.path().trim_end_matches('/').to_owned();
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
        && path(&a) == path(&b)
}

#[cfg(test)]
mod tests {
    use super::{same_remote, trailer};

    #[test]
    fn credentials_answer_only_for_the_admitted_remote() {
        let admitted = "https://git.example.com/team/app.git";
        assert!(same_remote(admitted, admitted));
        assert!(same_remote(
            "https://x-access-token@GIT.example.com:443/team/app.git/",
            admitted
        ));
        for foreign in [
            "http://git.example.com/team/app.git",
            "https://git.example.com:8443/team/app.git",
            "https://evil.example.com/team/app.git",
            "https://git.example.com/team/other.git",
            "https://git.example.com/team/app.git/../../x",
            "not a url",
        ] {
            assert!(!same_remote(foreign, admitted), "{foreign}");
        }
    }

    #[test]
    fn trailer_is_read_from_the_end() {
        let msg = "attune: right-size api\n\nbody\n\nAttune-Change: abc123\n";
        assert_eq!(trailer(msg).as_deref(), Some("abc123"));
        assert_eq!(trailer("no trailer"), None);
    }
}
