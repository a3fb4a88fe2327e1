//! The git side of a pull request: a persistent bare cache clone per remote URL, fetched
//! incrementally (a depth can be asked for, but the lifecycle fetches full history because
//! libgit2's push cannot work from a shallow clone); files of a commit read into memory
//! within a byte budget ([`TreeReader`]: the caller says which); one bot commit of
//! [`FileWrite`]s built on a base commit without a work tree; and pushes that never overwrite a
//! branch tip they were not told to expect. Credentials are handed to libgit2 through a callback
//! with an attempt limit (libgit2 asks again forever otherwise) and are never stored in the
//! cache's config; every error message passes through [`redact`].
//!
//! Must not know: YAML, Kustomize, which files a sync needs, the change set, forges, the
//! cluster. It knows paths, bytes and commits.

mod lock;
mod read;
mod redact;
mod workspace;

pub use lock::CacheLock;
pub use read::{DEFAULT_READ_BUDGET, ReadLimits, TreeFile, TreeReader, is_dir, is_file};
pub use redact::redact;
pub use workspace::{
    CommitInfo, Credentials, FetchStats, FileWrite, Identity, Lease, PushOutcome, Workspace,
    trailer,
};

/// Why a git step failed. The message names the step and carries libgit2's answer, redacted.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{step}: {message}")]
    Git { step: &'static str, message: String },
    #[error("cannot prepare the cache directory {path}")]
    Cache {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("branch {branch} does not exist on the remote")]
    NoBranch { branch: String },
    #[error(
        "the git cache {path} stayed in use by another run for {}s; \
         try again when it has finished",
        waited.as_secs()
    )]
    Busy {
        path: String,
        waited: std::time::Duration,
    },
    #[error(
        "the files needed under {scopes} exceed the read budget of {budget} bytes ({read} bytes \
         were read before {file}); raise it with --repo-read-budget (ATTUNE_REPO_READ_BUDGET, \
         Helm value repoReadBudget) or give the owner a narrower path"
    )]
    ReadBudget {
        budget: u64,
        read: u64,
        file: String,
        scopes: String,
    },
}

impl GitError {
    pub(crate) fn git(step: &'static str, err: &git2::Error, secrets: &[&str]) -> GitError {
        GitError::Git {
            step,
            message: redact(err.message(), secrets),
        }
    }
}
