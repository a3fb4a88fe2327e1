//! Finds where a live workload comes from in Git: the repository, revision and path that Argo CD
//! or Flux deploys it from, the object that owns it (an Argo CD Application, a Flux Kustomization
//! or a Flux HelmRelease), and every setting outside that path which could shadow an edit made in
//! it. Ownership is proven only by what the tools themselves trust — Argo CD's tracking-id
//! annotation checked against the object it sits on, or Flux's owner labels — and only once the
//! owner's own status confirms it manages the object in this cluster ([`LocateError::OwnerNotVerified`]
//! otherwise); the `app.kubernetes.io/instance` label is reported as a hint and never followed. The walk is pure
//! over objects already fetched ([`locate`], or [`next_step`], which names the next object it
//! needs); [`fetch`] is the thin async layer that GETs those objects from the apiserver. This
//! module knows nothing about git checkouts, the files in the repository, forge APIs or how edits
//! are made.

mod argocd;
pub mod fetch;
mod flux;
mod helm;
mod helm_params;
mod known;
mod marker;
mod remote_url;
mod revision;
mod settings;
mod source;
mod step;
mod verify;
mod workload;

#[cfg(test)]
mod tests;

pub use helm::{HelmChart, InlineValues};
pub use helm_params::HelmParameter;
pub use known::{Known, ObjectKind, ObjectRef};
pub use remote_url::{RemoteUrl, Transport, forge_repo, redacted, same_repo};
pub use revision::{Revision, RevisionKind};
pub use settings::Settings;
pub use source::{Namespacing, Renaming, RepoCheck, Shadow, ShadowKind, Source, Tool};
pub use step::{Step, application_chart, helm_release_source, locate, next_step, source_of};
pub use workload::Workload;

/// Why a workload could not be traced to one Git source. Each variant names the object that
/// stopped the walk, so the message alone says where to look.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocateError {
    #[error("{object} carries no argo cd tracking id and no flux owner labels{}", hint_suffix(.hint))]
    NoOwnerMarker {
        object: String,
        hint: Option<String>,
    },
    #[error("{object} has a malformed {marker} ({value:?}): {reason}")]
    MalformedMarker {
        object: String,
        marker: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error(
        "{object} carries tracking id {found:?} but would carry {expected:?}; argo cd ignores a tracking id copied from another object"
    )]
    TrackingIdMismatch {
        object: String,
        expected: String,
        found: String,
    },
    #[error(
        "{object} belongs to argo cd installation {found:?}, not {expected:?}; that instance owns it"
    )]
    ForeignInstallation {
        object: String,
        expected: String,
        found: String,
    },
    #[error("{} {namespace}/{name} not found", kind.describe())]
    OwnerNotFound {
        kind: ObjectKind,
        namespace: String,
        name: String,
    },
    #[error("{owner} takes its manifests from {from}, which is not a git repository: {reason}")]
    NotGit {
        owner: String,
        from: String,
        reason: String,
    },
    #[error("ambiguous {what}: {}", .candidates.join("; "))]
    Ambiguous {
        what: String,
        candidates: Vec<String>,
    },
    #[error("{object}: {reason}")]
    BadOwner { object: String, reason: String },
    #[error(
        "{object} names {owner} as its owner, but {reason}; anyone who can edit the object can write its owner marker, so the marker alone is not trusted"
    )]
    OwnerNotVerified {
        object: String,
        owner: String,
        reason: String,
    },
    #[error("{object} cannot be read as a kubernetes object: {reason}")]
    BadObject { object: String, reason: String },
    #[error("repository url {url:?} is not understood: {reason}")]
    BadRepoUrl { url: String, reason: &'static str },
}

fn hint_suffix(hint: &Option<String>) -> String {
    match hint {
        Some(h) => format!(" ({h})"),
        None => String::new(),
    }
}
