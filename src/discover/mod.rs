//! `propose --discover`: the applications a repository describes itself — Argo CD
//! Applications and ApplicationSets, Flux Kustomizations, HelmReleases and GitRepositories in
//! its own files — and, for each workload they deploy, the source the controller's `locate`
//! would find for it live. Each owner goes through the very mapping the controller runs once a
//! live owner vouched for a workload ([`crate::locate::source_of`],
//! [`crate::locate::helm_release_source`]), so the offline run and the controller agree on the
//! path, recursion, namespace and chart. What cannot be followed — an application of another
//! repository, an unsupported generator, two applications rendering one identity — is a named
//! [`Problem`], never fatal for the rest.
//!
//! A workload no manifest renders is traced through the discovered Helm release that renders
//! it ([`helm`]: a chart directory of this repository with the owner's values files and inline
//! values, edited where they are written), as `propose --helm-chart` does.
//!
//! The same steps serve a checkout ([`run`], the command's I/O layer) and a commit (`pr`'s
//! pipeline reads the files and charts, then calls [`outcome`]). Pure over texts already read,
//! except [`run`].
//!
//! Must not know: the cluster, forges, how edits are made.

mod appset;
mod edits;
mod helm;
mod map;
mod objects;
pub mod run;
mod template;

use serde::Serialize;

use crate::locate::{ObjectRef, Settings, Source};
use crate::repo::{ManifestTree, Notice};

pub use edits::{Placement, Read, Request, describe, outcome, placement};
pub use map::discover;

/// What discovery reads: every YAML file's text, the same files as a manifest tree, and how to
/// tell this repository's URL.
pub struct Input<'a> {
    pub files: &'a [(String, String)],
    pub tree: &'a ManifestTree,
    /// This repository's URL (`--repo-url`, else the checkout's `origin`); `None` when neither
    /// is known, and every application is then taken to deploy from this checkout.
    pub this_repo: Option<&'a str>,
    pub settings: &'a Settings,
}

/// Every application found and what it deploys.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Discovery {
    pub applications: Vec<Application>,
    pub problems: Vec<Problem>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
    /// The owner and source objects read (generated Applications included), as the mapping
    /// saw them: what a controller would find live, short of their status.
    #[serde(skip)]
    pub objects: Vec<serde_json::Value>,
}

/// One owner that deploys from this repository.
#[derive(Debug, Clone, Serialize)]
pub struct Application {
    pub owner: ObjectRef,
    /// The file that declares it (for a generated Application, its ApplicationSet's file).
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_by: Option<String>,
    pub source: Source,
    /// The live identities it deploys, as `namespace/Kind/name`; empty for a chart (rendering it
    /// is Helm's business: see `source.helm`).
    pub workloads: Vec<String>,
}

/// Something discovery could not follow, with the object and file it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub object: String,
    pub file: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// The owner deploys from another repository.
    OtherRepository,
    /// Two owners render one live identity, or one object is declared twice.
    Ambiguous,
    /// An ApplicationSet generator or template feature that is not reproduced.
    Unsupported,
    /// The owner cannot be mapped to a source (the walk's own error).
    Unlocated,
    /// The owner's path does not exist in this checkout.
    MissingPath,
    /// A HelmRelease that no owner in the repository applies, or several do.
    NoApplier,
    /// An object without a namespace whose owner names none.
    NoNamespace,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.object, self.reason)
    }
}
