//! What a scope deploys, listed rather than searched: every workload object it renders, as
//! the files name it, and the files its kustomization builds from. `propose --discover` maps
//! each live identity to the application that deploys it from these lists, with the same
//! renders resolution searches.

use std::collections::BTreeSet;

use super::roots::Index;
use crate::repo::kustomize::Renderer;
use crate::repo::{ManifestTree, Notice, Scope};

/// One workload object a scope deploys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeployedObject {
    pub kind: String,
    /// The name after the kustomizations' prefixes and suffixes.
    pub name: String,
    /// The namespace the render gives it, `None` when the files give none (the deploying
    /// tool's destination decides).
    pub namespace: Option<String>,
    /// The Kustomize root that renders it, or the plain manifest file.
    pub from: String,
}

/// Every workload object `scope` deploys, in render order; objects a `$patch: delete` removes
/// are not deployed and not listed.
pub fn deployed_objects(
    repo: &ManifestTree,
    scope: &Scope,
    notices: &mut Vec<Notice>,
) -> Vec<DeployedObject> {
    let index = Index::new(repo, scope, notices);
    index
        .entries
        .iter()
        .map(|e| DeployedObject {
            kind: e.obj.source.kind.clone(),
            name: e.obj.name.clone(),
            namespace: e.obj.namespace.clone(),
            from: e.root.clone().unwrap_or_else(|| e.obj.source.file.clone()),
        })
        .collect()
}

/// The files the kustomization in `dir` builds from (itself, its resources, patches and bases,
/// transitively); `None` when `dir` holds no kustomization.
pub fn kustomization_files(repo: &ManifestTree, dir: &str) -> Option<BTreeSet<String>> {
    if !repo.layout.kustomization_dirs.contains(dir) {
        return None;
    }
    let renderer = Renderer::new(&repo.files, &mut Vec::new());
    Some(renderer.closure(dir))
}
