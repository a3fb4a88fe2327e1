//! `kubectl attune`: the kubectl plugin that shows AttunePolicies the way the Go operator's
//! plugin does (same commands, columns and cell formats).
//!
//! One file per command holds its pure formatting (`PolicyView`s in, text out); `client`
//! holds the cluster I/O (kubeconfig and the API server); `cli` is the command line and the
//! dispatch between the two. `pr` is the one command that writes: it hands a live policy to
//! the pull-request pipeline of `crate::pr` (git and forge I/O).

pub mod cli;
pub mod client;
pub mod diff;
pub mod explain;
pub mod history;
pub mod pr;
pub mod preview;
pub mod recommendations;
pub mod savings;
pub mod status;
pub mod table;
pub mod view;

pub use cli::{Cli, run};
pub use view::PolicyView;

/// Why a plugin command failed; each message is one line that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// Flags or arguments that do not fit together (exit code 2).
    #[error("{0}")]
    Usage(String),
    #[error(
        "no kubeconfig found ($KUBECONFIG unset, ~/.kube/config missing) and not running in a cluster: pass --kubeconfig or set KUBECONFIG"
    )]
    NoKubeconfig,
    #[error(
        "cannot use kubeconfig {source_name}: {reason}: fix the file or pick another with --kubeconfig/--context"
    )]
    Kubeconfig { source_name: String, reason: String },
    #[error(
        "no AttunePolicy CRD in this cluster (attunepolicies.attune.io not served): install the chart (helm install attune charts/attune)"
    )]
    NoCrd,
    #[error(
        "no AttunePolicy {name} in namespace {namespace}: list them with kubectl attune status -n {namespace}"
    )]
    NotFound { namespace: String, name: String },
    #[error(
        "forbidden to {action}: {message}: ask for get/list on attunepolicies.attune.io or use -n for a namespace you can read"
    )]
    Forbidden { action: String, message: String },
    #[error(
        "the API server rejected the credentials ({message}): log in again or pick another --context"
    )]
    Unauthorized { message: String },
    #[error(
        "cannot reach the API server: {reason}: check the cluster is up and --context/--kubeconfig point at it"
    )]
    Unreachable { reason: String },
    #[error("the API server answered {code} to {action}: {message}")]
    Api {
        action: String,
        code: u16,
        message: String,
    },
    #[error("cannot write the output: {0}")]
    Output(String),
    /// `pr`: the pipeline's one-line reason, and its exit code (1, 2 or 3).
    #[error("{message}")]
    PullRequest { message: String, code: u8 },
    /// `propose` on bad input (no such directory, a --path outside the repository, a file it
    /// cannot write): nothing was written (exit code 2, as `attune propose`).
    #[error("{0}")]
    Propose(String),
}

impl PluginError {
    /// The process exit code: 2 for usage errors, `pr`'s own code (2 bad input, 3 a git or
    /// forge step failed), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            PluginError::Usage(_) | PluginError::Propose(_) => 2,
            PluginError::PullRequest { code, .. } => *code,
            _ => 1,
        }
    }
}
