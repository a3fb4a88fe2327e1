//! Which part of a repository deploys a workload: exactly one application's source directory,
//! the way Argo CD and Flux read it, or (to search) everything below a directory.
//!
//! An Argo CD Application's `spec.source.path` and a Flux Kustomization's `spec.path` name one
//! directory. With a kustomization file there, that Kustomize root is all they deploy: roots
//! nested below it are other applications. Without one, the directory is read as plain
//! manifests: Argo CD reads only its own files unless `directory.recurse` is set; Flux
//! generates a kustomization over every manifest below it, taking a subdirectory that holds a
//! kustomization as that root and not descending further (fluxcd/pkg `generateKustomization`).
//! [`Reach::Source`] with `recurse` reads a plain directory the Flux way (which is also Argo
//! CD's with `recurse`, short of nested kustomizations, which Argo CD would apply as objects).

use std::collections::{BTreeMap, BTreeSet};

use super::index::{Layout, ParsedFile};
use super::kustomize::Kustomization;
use super::walk::parent;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    /// `/`-separated, relative to the repository root; `""` is the root.
    pub dir: String,
    pub reach: Reach,
    /// The namespace every object the scope deploys lives in, whatever its files say: the
    /// owner's override (Flux `spec.targetNamespace`, Argo CD `kustomize.namespace`), which
    /// works as Kustomize's namespace transformer over the whole render.
    pub namespace: Option<String>,
    /// The prefix and suffix the owner adds to every object's name (Argo CD
    /// `kustomize.namePrefix`/`nameSuffix`, Kustomize's prefix/suffix transformer over the
    /// whole render): `name` in the files lives as prefix + name + suffix.
    pub names: (String, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reach {
    /// Every Kustomize root and plain manifest at or below the directory is a candidate
    /// (`--scope`): two of them rendering one identity are ambiguous.
    Below,
    /// Exactly what an application whose source path is the directory deploys (`--path`,
    /// and the controller, which passes the owner's path).
    Source { recurse: bool },
}

impl Scope {
    /// The whole repository, every root a candidate.
    pub fn whole() -> Scope {
        Scope::below("")
    }

    pub fn below(dir: impl Into<String>) -> Scope {
        Scope {
            dir: dir.into(),
            reach: Reach::Below,
            namespace: None,
            names: Default::default(),
        }
    }

    pub fn source(dir: impl Into<String>, recurse: bool) -> Scope {
        Scope {
            dir: dir.into(),
            reach: Reach::Source { recurse },
            namespace: None,
            names: Default::default(),
        }
    }

    /// The scope with the owner's name prefix and suffix (see [`Scope::names`]).
    pub fn renamed(mut self, prefix: &str, suffix: &str) -> Scope {
        self.names = (prefix.to_owned(), suffix.to_owned());
        self
    }

    /// The name in the files of the object that is live as `live`: `live` without the owner's
    /// name prefix and suffix, `None` when it lacks them.
    pub fn file_name<'l>(&self, live: &'l str) -> Option<&'l str> {
        let (prefix, suffix) = &self.names;
        live.strip_prefix(prefix.as_str())?
            .strip_suffix(suffix.as_str())
    }

    /// The scope with the owner's namespace override (see [`Scope::namespace`]).
    pub fn in_namespace(mut self, namespace: Option<String>) -> Scope {
        self.namespace = namespace;
        self
    }

    /// Whether `path` is the scope's directory or below it.
    pub fn contains(&self, path: &str) -> bool {
        below(&self.dir, path)
    }

    /// The Kustomize roots and plain manifest files this scope deploys (or, for
    /// [`Reach::Below`], may deploy).
    pub(super) fn deployed(&self, tree: &Tree<'_>) -> Deployed {
        match self.reach {
            Reach::Below => self.below_dir(tree),
            Reach::Source { recurse } => self.source_dir(tree, recurse),
        }
    }

    fn below_dir(&self, tree: &Tree<'_>) -> Deployed {
        let referenced_here: BTreeSet<String> = tree
            .kustomizations
            .values()
            .filter(|k| self.contains(&k.dir))
            .flat_map(|k| {
                k.resources
                    .iter()
                    .chain(&k.components)
                    .filter_map(|r| super::walk::join(&k.dir, r))
            })
            .collect();
        let roots = tree
            .kustomizations
            .values()
            .filter(|k| !k.is_component && self.contains(&k.dir))
            .filter(|k| !referenced_here.contains(&k.dir))
            .map(|k| k.dir.clone())
            .collect();
        // A file beside a kustomization is deployed only if that kustomization lists it.
        let plain = tree
            .files
            .values()
            .filter(|f| !f.is_kustomization && self.contains(&f.rel))
            .filter(|f| !tree.referenced.contains(&f.rel))
            .filter(|f| !tree.layout.kustomization_dirs.contains(parent(&f.rel)))
            .map(|f| f.rel.clone())
            .collect();
        Deployed { roots, plain }
    }

    fn source_dir(&self, tree: &Tree<'_>, recurse: bool) -> Deployed {
        let dirs = &tree.layout.kustomization_dirs;
        if dirs.contains(&self.dir) {
            let roots = tree
                .kustomizations
                .get(&self.dir)
                .filter(|k| !k.is_component)
                .map(|k| vec![k.dir.clone()])
                .unwrap_or_default();
            return Deployed {
                roots,
                plain: Vec::new(),
            };
        }
        // The first kustomization directory on the way from the scope down to `dir`, if any.
        let stop = |dir: &str| -> Option<String> {
            let rest = dir.strip_prefix(&self.dir)?.trim_start_matches('/');
            let mut at = self.dir.clone();
            for part in rest.split('/').filter(|p| !p.is_empty()) {
                if !at.is_empty() {
                    at.push('/');
                }
                at.push_str(part);
                if dirs.contains(&at) {
                    return Some(at);
                }
            }
            None
        };
        let plain = tree
            .files
            .values()
            .filter(|f| !f.is_kustomization)
            .filter(|f| {
                let dir = parent(&f.rel);
                if recurse {
                    below(&self.dir, dir) && stop(dir).is_none()
                } else {
                    dir == self.dir
                }
            })
            .map(|f| f.rel.clone())
            .collect();
        let roots = if recurse {
            dirs.iter()
                .filter(|d| *d != &self.dir && below(&self.dir, d))
                .filter(|d| stop(d).as_deref() == Some(d.as_str()))
                .filter(|d| tree.kustomizations.get(*d).is_some_and(|k| !k.is_component))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        Deployed { roots, plain }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dir = if self.dir.is_empty() { "." } else { &self.dir };
        match self.reach {
            Reach::Below => write!(f, "--scope {dir}"),
            Reach::Source { recurse: false } => write!(f, "--path {dir}"),
            Reach::Source { recurse: true } => write!(f, "--path {dir} --recurse"),
        }
    }
}

fn below(dir: &str, path: &str) -> bool {
    dir.is_empty()
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// What a scope is decided over.
pub(super) struct Tree<'a> {
    pub files: &'a BTreeMap<String, ParsedFile>,
    pub layout: &'a Layout,
    pub kustomizations: &'a BTreeMap<String, Kustomization>,
    /// Files and directories some kustomization refers to.
    pub referenced: &'a BTreeSet<String>,
}

/// Kustomize roots (directories) and plain manifest files.
#[derive(Debug, PartialEq)]
pub(super) struct Deployed {
    pub roots: Vec<String>,
    pub plain: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::ManifestTree;

    #[test]
    fn a_live_name_is_the_prefix_the_name_and_the_suffix() {
        let mut scope = Scope::whole();
        assert_eq!(scope.file_name("api"), Some("api"));
        assert_eq!(scope.file_name("api2"), Some("api2"));
        scope.names = ("pre-".into(), "-suf".into());
        assert_eq!(scope.file_name("pre-api-suf"), Some("api"));
        assert_eq!(scope.file_name("api"), None);
        assert_eq!(scope.file_name("pre-api"), None);
        assert_eq!(scope.file_name("api-suf"), None);
        assert_eq!(
            scope.file_name("pre-suf"),
            None,
            "prefix and suffix may not overlap"
        );
        assert_eq!(scope.file_name("pre--suf"), Some(""));
        scope.names = ("é".into(), String::new());
        assert_eq!(scope.file_name("éy"), Some("y"));
        assert_eq!(scope.file_name("ey"), None);
    }

    fn repo() -> ManifestTree {
        let deployment = |name: &str| {
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec: {{}}\n"
            )
        };
        ManifestTree::from_texts(
            [
                ("apps/a.yaml", deployment("a")),
                ("apps/sub/b.yaml", deployment("b")),
                (
                    "apps/kust/kustomization.yaml",
                    "resources: [c.yaml]\n".into(),
                ),
                ("apps/kust/c.yaml", deployment("c")),
                ("apps/kust/unlisted.yaml", deployment("u")),
                (
                    "apps/kust/test/kustomization.yaml",
                    "resources: [..]\n".into(),
                ),
                ("apps/kust/deeper/d.yaml", deployment("d")),
            ]
            .map(|(p, t)| (p.to_owned(), t)),
        )
    }

    fn deployed(repo: &ManifestTree, scope: &Scope) -> Deployed {
        let mut notices = Vec::new();
        let renderer = crate::repo::kustomize::Renderer::new(&repo.files, &mut notices);
        scope.deployed(&Tree {
            files: &repo.files,
            layout: &repo.layout,
            kustomizations: &renderer.kustomizations,
            referenced: &renderer.referenced,
        })
    }

    #[test]
    fn a_kustomization_at_the_path_is_the_only_root() {
        let d = deployed(&repo(), &Scope::source("apps/kust", true));
        assert_eq!(
            d.roots,
            ["apps/kust"],
            "the nested test root is another application"
        );
        assert!(d.plain.is_empty(), "{:?}", d.plain);
    }

    #[test]
    fn a_plain_directory_is_read_like_argo_cd_or_flux() {
        let argo = deployed(&repo(), &Scope::source("apps", false));
        assert_eq!(argo.plain, ["apps/a.yaml"]);
        assert!(argo.roots.is_empty());
        let flux = deployed(&repo(), &Scope::source("apps", true));
        assert_eq!(flux.plain, ["apps/a.yaml", "apps/sub/b.yaml"]);
        assert_eq!(
            flux.roots,
            ["apps/kust"],
            "taken as a root, not descended into"
        );
    }

    #[test]
    fn below_a_directory_every_root_and_unlisted_plain_file_is_a_candidate() {
        let d = deployed(&repo(), &Scope::below("apps"));
        assert_eq!(d.roots, ["apps/kust/test"]);
        // unlisted.yaml sits beside a kustomization that does not list it: never deployed.
        assert_eq!(
            d.plain,
            ["apps/a.yaml", "apps/kust/deeper/d.yaml", "apps/sub/b.yaml"]
        );
    }

    #[test]
    fn scopes_print_as_the_flags_that_give_them() {
        assert_eq!(Scope::source("a/b", false).to_string(), "--path a/b");
        assert_eq!(Scope::whole().to_string(), "--scope .");
    }
}
