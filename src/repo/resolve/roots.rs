//! The renders a scope deploys, and for every file and kustomization directory the roots whose
//! output an edit there would change.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::repo::index::{Marker, markers, objects};
use crate::repo::kustomize::{Rendered, Renderer};
use crate::repo::scope::{Reach, Scope, Tree};
use crate::repo::{ManifestTree, Notice};

/// One render of an object that the scope deploys.
pub(super) struct Entry {
    /// The Kustomize root that renders it; `None` for a plain manifest file.
    pub root: Option<String>,
    pub obj: Rendered,
    /// The roots an edit for this render may change: its own root (the file, for a plain
    /// manifest). `None` when the render stands for several roots at once (a directory below
    /// `--scope` that other roots build on) and none may be chosen.
    pub editable_roots: Option<BTreeSet<String>>,
}

impl Entry {
    /// Whether editing a file or directory used by `usage` changes only our roots.
    pub fn exclusive(&self, usage: Option<&BTreeSet<String>>) -> bool {
        self.editable_roots
            .as_ref()
            .is_some_and(|roots| usage.is_none_or(|u| u.is_subset(roots)))
    }
}

pub(super) struct Index<'a> {
    pub repo: &'a ManifestTree,
    pub scope: &'a Scope,
    pub renderer: Renderer<'a>,
    /// Renders the scope deploys.
    pub entries: Vec<Entry>,
    /// The positions in `entries` of each kind and name in the files, so a workload is looked
    /// up rather than searched for among every render (a run asks once per workload).
    by_name: HashMap<String, HashMap<String, Vec<usize>>>,
    /// Renders a `$patch: delete` removed, for saying why an identity is not located.
    pub removed: Vec<Entry>,
    /// For each file and kustomization directory, the roots that use it.
    pub file_usage: BTreeMap<String, BTreeSet<String>>,
    pub dir_usage: BTreeMap<String, BTreeSet<String>>,
    pub markers: BTreeMap<String, Vec<Marker>>,
}

impl<'a> Index<'a> {
    pub fn new(repo: &'a ManifestTree, scope: &'a Scope, notices: &mut Vec<Notice>) -> Index<'a> {
        let renderer = Renderer::new(&repo.files, notices);
        let deployed = scope.deployed(&Tree {
            files: &repo.files,
            layout: &repo.layout,
            kustomizations: &renderer.kustomizations,
            referenced: &renderer.referenced,
        });
        let source = matches!(scope.reach, Reach::Source { .. });
        // Roots: kustomizations nothing else builds on, and what the scope itself deploys.
        let mut leaves: BTreeSet<String> = renderer
            .kustomizations
            .values()
            .filter(|k| !k.is_component && !renderer.referenced.contains(&k.dir))
            .map(|k| k.dir.clone())
            .collect();
        if source {
            leaves.extend(deployed.roots.iter().cloned());
        }
        let (mut file_usage, dir_usage) = usage(&renderer, &leaves);
        let mut index = Index {
            repo,
            scope,
            entries: Vec::new(),
            by_name: HashMap::new(),
            removed: Vec::new(),
            file_usage: BTreeMap::new(),
            dir_usage,
            markers: BTreeMap::new(),
            renderer,
        };
        for root in &deployed.roots {
            let editable_roots = index.editable_roots(root, &leaves);
            let objs = index
                .renderer
                .rendered
                .get(root)
                .cloned()
                .unwrap_or_default();
            for obj in objs {
                let entry = Entry {
                    root: Some(root.clone()),
                    editable_roots: editable_roots.clone(),
                    obj,
                };
                match entry.obj.deleted_by {
                    None => index.entries.push(entry),
                    Some(_) => index.removed.push(entry),
                }
            }
        }
        for rel in &deployed.plain {
            let Some(file) = repo.files.get(rel) else {
                continue;
            };
            for o in objects(file) {
                file_usage
                    .entry(rel.clone())
                    .or_default()
                    .insert(rel.clone());
                let order = o.node(file).map(crate::repo::order::Order::of);
                index.entries.push(Entry {
                    root: None,
                    obj: Rendered::new(o, order.unwrap_or_default()),
                    editable_roots: Some(BTreeSet::from([rel.clone()])),
                });
            }
        }
        for (i, e) in index.entries.iter().enumerate() {
            let kind = index.by_name.entry(e.obj.source.kind.clone()).or_default();
            kind.entry(e.obj.name.clone()).or_default().push(i);
        }
        index.file_usage = file_usage;
        index.markers = index.find_markers(&deployed.roots, notices);
        index
    }

    /// See [`Entry::editable_roots`]. An application's root is a root even when other roots build on
    /// it: they are other applications, and an edit there would change them too.
    fn editable_roots(&self, root: &str, leaves: &BTreeSet<String>) -> Option<BTreeSet<String>> {
        if leaves.contains(root) {
            return Some(BTreeSet::from([root.to_owned()]));
        }
        // Searching below a directory: a root found there that others build on stands for all
        // of them; only when it is one can it be chosen.
        let users = self.dir_usage.get(root).cloned().unwrap_or_default();
        (users.len() == 1).then_some(users)
    }

    /// Markers in the files below the scope's directory and, for an application's roots, in
    /// every file they build from (a HelmRelease in a shared base).
    fn find_markers(
        &self,
        roots: &[String],
        notices: &mut Vec<Notice>,
    ) -> BTreeMap<String, Vec<Marker>> {
        let mut read: BTreeSet<String> = BTreeSet::new();
        if matches!(self.scope.reach, Reach::Source { .. }) {
            for root in roots {
                read.extend(self.renderer.closure(root));
            }
        }
        let mut out: BTreeMap<String, Vec<Marker>> = BTreeMap::new();
        for file in self.repo.files.values() {
            if !self.scope.contains(&file.rel) && !read.contains(&file.rel) {
                continue;
            }
            for m in markers(file, notices) {
                out.entry(m.key.clone()).or_default().push(m);
            }
        }
        out
    }

    /// The renders of kind `kind` that are live as `live` (see [`Scope::file_name`]), in
    /// render order.
    pub fn named<'s>(&'s self, kind: &str, live: &str) -> impl Iterator<Item = &'s Entry> {
        let found = self
            .scope
            .file_name(live)
            .and_then(|name| self.by_name.get(kind)?.get(name));
        found
            .into_iter()
            .flatten()
            .filter_map(|&i| self.entries.get(i))
    }

    pub fn is_component(&self, dir: &str) -> bool {
        self.renderer
            .kustomizations
            .get(dir)
            .is_some_and(|k| k.is_component)
    }
}

type Usage = BTreeMap<String, BTreeSet<String>>;

/// For each file (manifest or patch) and each kustomization directory, the roots whose render
/// goes through it. Objects a `$patch: delete` removed do not count: the root renders nothing
/// from them.
fn usage(renderer: &Renderer<'_>, leaves: &BTreeSet<String>) -> (Usage, Usage) {
    let mut file_usage: Usage = BTreeMap::new();
    let mut dir_usage: Usage = BTreeMap::new();
    for leaf in leaves {
        for obj in renderer.rendered.get(leaf).into_iter().flatten() {
            if obj.deleted_by.is_some() {
                continue;
            }
            file_usage
                .entry(obj.source.file.clone())
                .or_default()
                .insert(leaf.clone());
            for p in &obj.patches {
                file_usage
                    .entry(p.doc.file.clone())
                    .or_default()
                    .insert(leaf.clone());
            }
            for d in &obj.chain {
                dir_usage.entry(d.clone()).or_default().insert(leaf.clone());
            }
        }
    }
    (file_usage, dir_usage)
}
