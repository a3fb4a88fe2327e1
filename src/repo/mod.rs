//! Indexes a checkout of a GitOps repository and resolves a live workload identity to the
//! places in it that decide that workload's resources.
//!
//! The index holds every YAML file's workload objects, Kustomize roots (our own model of the
//! subset in [`kustomize`], no kustomize binary; the render oracle test checks it against the
//! real one) and `$attune` marker comments. A [`Scope`] says which roots and files deploy a
//! workload: exactly an application's source path, or everything below a directory. Resolution
//! follows the precedence users expect: a marker wins; then the overlay patch that already sets
//! the value; then the defining manifest, when nothing else renders it; and when a base is
//! shared, a strategic-merge patch in the overlay that renders the target namespace — never the
//! shared base. Resolution says *where* each value goes ([`Op`]); how the bytes change is the
//! editor's business. Everything here is pure over an in-memory file tree except [`walk`], which
//! reads one from disk.
//!
//! Must not know: how bytes are edited (`yamledit`'s sets, styles and verification; it reads
//! YAML through `yamledit`'s tree only), git, forges, the cluster.

mod field;
mod index;
mod kustomize;
mod load;
pub mod needed;
mod order;
mod patch;
mod problem;
mod quick_syntax;
mod resolve;
mod scope;
pub mod walk;

use std::collections::BTreeMap;

pub use field::Field;
pub use index::{Layout, ParsedFile, WORKLOAD_KINDS};
pub(crate) use load::on_every_core;
pub use problem::{Problem, merge_problems};
pub use resolve::{
    Change, ContainerWant, DeployedObject, FilePlan, NewFile, Op, Plan, Site, ValueAt, Want,
    deployed_objects, kustomization_files, resolve, resolve_scoped,
};
pub use scope::{Reach, Scope};

/// Something about a file that the user should know but that does not stop the run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Notice {
    pub file: String,
    pub message: String,
}

impl Notice {
    pub fn new(file: String, message: String) -> Notice {
        Notice { file, message }
    }
}

/// The parsed YAML files of a repository (a checkout on disk or files read from a commit),
/// by `/`-separated relative path.
pub struct ManifestTree {
    pub files: BTreeMap<String, ParsedFile>,
    pub notices: Vec<Notice>,
    pub layout: Layout,
}

impl ManifestTree {
    /// Reads and parses the YAML files below `root`. Unreadable or invalid files become notices.
    /// Every core reads and parses; a file that cannot concern a workload is only checked.
    pub fn load(root: &std::path::Path) -> std::io::Result<ManifestTree> {
        load::load(root)
    }

    /// What [`ManifestTree::load`] must give, the straightforward way: read every file, one after
    /// another, and build a tree for every one (no threads, no prefilter). For tests.
    pub fn load_reference(root: &std::path::Path) -> std::io::Result<ManifestTree> {
        let (raw, mut notices) = walk::read_tree(root)?;
        let layout = index::layout(&raw);
        let files = index::parse_every(raw, &mut notices)
            .into_iter()
            .map(|f| (f.rel.clone(), f))
            .collect();
        Ok(ManifestTree {
            files,
            notices,
            layout,
        })
    }

    /// Builds the tree from files already in memory (read from a git commit, or a test's).
    pub fn from_texts(texts: impl IntoIterator<Item = (String, String)>) -> ManifestTree {
        let raw: Vec<walk::RawFile> = texts
            .into_iter()
            .map(|(rel, text)| walk::RawFile { rel, text })
            .collect();
        let mut notices = Vec::new();
        let layout = index::layout(&raw);
        let files = index::parse_files(raw, &mut notices)
            .into_iter()
            .map(|f| (f.rel.clone(), f))
            .collect();
        ManifestTree {
            files,
            notices,
            layout,
        }
    }
}
