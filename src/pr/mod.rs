//! The pull-request lifecycle: from a change set to one trustworthy pull request per branch.
//!
//! [`plan`] is the pure decision (create, update, leave, close, or stand back for a human);
//! [`body`] renders title, body and commit message from templates; [`sync`] runs the whole
//! pipeline — fetch, edit, commit, push, forge calls — through the [`crate::git`] workspace (on
//! the blocking pool) and a [`crate::forge::Forge`], for the CLI ([`command`]) and the controller
//! alike, with [`Settings`] made in one place ([`Settings::for_branch`]). The change set ([`ChangeSet`]) is one value that feeds the diff, the
//! commit, the body and the result. This module knows the lifecycle rules; it does not know how
//! a forge spells them (the backends do) nor where the repository came from (`locate` does).

pub mod body;
mod changeset;
pub mod command;
mod connect;
mod discovered;
pub mod evidence;
mod forge_writes;
pub mod gate;
mod git_jobs;
mod helm;
pub mod marker;
pub mod plan;
mod read;
mod settings;
mod sync;
mod write_gate;

pub use changeset::ChangeSet;
pub use gate::{Clearance, GateError};
pub use helm::HelmTarget;
pub use plan::{Branch, Decision, decide};
pub use read::read_needed;
pub use settings::{Limits, Operator, Settings, default_cache_dir};
pub use sync::{Action, RunResult, Target, sync};
pub use write_gate::{Write, WriteGate};

/// Why the pipeline stopped. Messages name the step; none carries a credential.
#[derive(Debug, thiserror::Error)]
pub enum PrError {
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    #[error(transparent)]
    Forge(#[from] crate::forge::ForgeError),
    #[error(transparent)]
    Git(#[from] crate::git::GitError),
    #[error("no token is sent: {0}")]
    Gate(#[from] GateError),
    #[error("base branch {branch} does not exist on the remote")]
    NoBase { branch: String },
    #[error("--path {path} is not a directory of {branch}")]
    BadPath { path: String, branch: String },
    #[error("pushing {branch} was rejected {attempts} times: {last}")]
    PushRejected {
        branch: String,
        attempts: u32,
        last: String,
    },
    #[error(
        "abandoned {write} for {branch}: this replica no longer holds the leader lease (the new leader makes the change)"
    )]
    NotLeader { write: Write, branch: String },
    #[error("the git worker stopped: {0}")]
    GitWorker(String),
}

impl PrError {
    /// Exit code for the CLI: 3 for git and forge failures, 2 for bad input (including what
    /// the forge cannot take, such as a group as GitLab reviewer).
    pub fn exit_code(&self) -> i32 {
        match self {
            PrError::Template { .. }
            | PrError::BadPath { .. }
            | PrError::NoBase { .. }
            | PrError::Gate(_)
            | PrError::Forge(crate::forge::ForgeError::Unsupported { .. })
            | PrError::Forge(crate::forge::ForgeError::NestedOwner { .. }) => 2,
            _ => 3,
        }
    }
}
