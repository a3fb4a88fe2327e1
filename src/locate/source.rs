//! The answer: where a workload's manifests live in Git and what else could override them.

use serde::Serialize;

use super::{ObjectRef, Revision};

/// Which GitOps tool applies the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    ArgoCd,
    /// Flux kustomize-controller applies the workload's manifests from the path.
    Flux,
    /// Flux helm-controller renders the workload from a HelmRelease; the path holds the
    /// HelmRelease, and the edit goes into its `spec.values`.
    FluxHelm,
}

/// A workload's Git source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub tool: Tool,
    /// The repository URL exactly as the owner states it; compare with [`super::same_repo`].
    pub repo_url: String,
    pub revision: Revision,
    /// Directory inside the repository, without `./` or a trailing slash; `.` is the root.
    pub path: String,
    /// Whether a plain directory at `path` (no kustomization) is read with its
    /// subdirectories: always for Flux, for Argo CD with `directory.recurse`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub recurse: bool,
    /// The Application, Kustomization or HelmRelease that owns the workload. For
    /// [`Tool::FluxHelm`] it is the HelmRelease, whose file (found by its identity or markers)
    /// is the edit target.
    pub owner: ObjectRef,
    /// Every object read on the way, owner first.
    pub chain: Vec<ObjectRef>,
    /// Settings outside the path that override or supply values in it.
    pub shadows: Vec<Shadow>,
    /// Files the caller must look for in the checkout before editing: if present, they shadow.
    pub checks: Vec<RepoCheck>,
    /// Things worth telling the user that change nothing here.
    pub hints: Vec<String>,
    /// Which namespace the owner deploys objects to, when it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Namespacing>,
    /// The chart, when the owner renders one kept as a directory in Git.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helm: Option<super::HelmChart>,
    /// Why the owner's chart is not traced through its values although it renders the
    /// workload: a chart that is not a directory of the repository, or values the tool merges
    /// from objects attune does not read. The caller reports it instead of "no manifest renders".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helm_refusal: Option<String>,
    /// How the owner renames every object it deploys (Argo CD `kustomize.namePrefix` and
    /// `nameSuffix`).
    #[serde(skip_serializing_if = "Renaming::is_none")]
    pub names: Renaming,
}

/// Argo CD's `kustomize.namePrefix`/`nameSuffix` or a Flux Kustomization's
/// `namePrefix`/`nameSuffix`, applied like Kustomize's to the whole render: an object named
/// `name` in the files lives as `prefix` + `name` + `suffix`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Renaming {
    pub prefix: String,
    pub suffix: String,
}

impl Renaming {
    pub fn is_none(&self) -> bool {
        self.prefix.is_empty() && self.suffix.is_empty()
    }

    /// The live name of an object named `name` in the files.
    pub fn apply(&self, name: &str) -> String {
        format!("{}{name}{}", self.prefix, self.suffix)
    }
}

/// What an owner setting that changes live identities (`field`, ending in `namePrefix`,
/// `nameSuffix` or a namespace) does, said as a hint: the walk and the file search both apply
/// it ([`Renaming`], [`Namespacing::Override`]).
pub(crate) fn identity_hint(owner: &str, field: &str, value: &str) -> String {
    let effect = if field.ends_with("namePrefix") {
        format!("live names are {value}<name in the files>")
    } else if field.ends_with("nameSuffix") {
        format!("live names are <name in the files>{value}")
    } else {
        format!("live objects are in namespace {value} whatever namespace the files give")
    };
    format!("{owner} sets {field} {value}: {effect}, and the files are searched accordingly")
}

/// How an owner places objects in namespaces: the live identity of an object is its namespace
/// in the files unless the owner overrides it, and the owner's default when the files give none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Namespacing {
    /// Objects without a namespace go here (Argo CD `spec.destination.namespace`).
    Default(String),
    /// Every namespaced object goes here (Flux `spec.targetNamespace`, Argo CD
    /// `kustomize.namespace`).
    Override(String),
}

impl Namespacing {
    /// The namespace every object goes to whatever its files say, if the owner overrides it.
    pub fn overriding(namespace: Option<&Namespacing>) -> Option<String> {
        match namespace {
            Some(Namespacing::Override(ns)) => Some(ns.clone()),
            _ => None,
        }
    }

    /// The live namespace of an object whose files give it `given`.
    pub fn apply(namespace: Option<&Namespacing>, given: Option<&str>) -> Option<String> {
        match (namespace, given) {
            (Some(Namespacing::Override(ns)), _) => Some(ns.clone()),
            (_, Some(given)) => Some(given.to_owned()),
            (Some(Namespacing::Default(ns)), None) => Some(ns.clone()),
            (None, None) => None,
        }
    }
}

/// A setting outside the edited file that can win over it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shadow {
    pub what: ShadowKind,
    /// Where it is set and what it does, for humans.
    pub detail: String,
    /// Keys, names or targets it touches, so a caller can tell whether it overlaps the edit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShadowKind {
    /// Argo CD `helm.parameters`: win over every values file.
    HelmParameters,
    /// Argo CD `helm.fileParameters`.
    HelmFileParameters,
    /// Argo CD `helm.values` / `helm.valuesObject`: win over values files.
    HelmInlineValues,
    /// Argo CD `kustomize.patches`.
    KustomizePatches,
    /// Argo CD `kustomize.images`.
    KustomizeImages,
    /// Flux Kustomization `spec.patches` (and the older patch fields).
    FluxPatches,
    /// Flux Kustomization `spec.images`.
    FluxImages,
    /// Flux Kustomization `spec.postBuild.substitute`.
    FluxSubstitute,
    /// Flux Kustomization `spec.postBuild.substituteFrom`.
    FluxSubstituteFrom,
    /// Flux HelmRelease `spec.valuesFrom`.
    HelmValuesFrom,
    /// Flux HelmRelease `spec.postRenderers`.
    HelmPostRenderers,
}

/// A file to look for in the repository: the walk cannot see the checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoCheck {
    /// Path from the repository root.
    pub file: String,
    pub why: String,
}

/// `dir/file`, with the root written as `.` left out.
pub(crate) fn join(dir: &str, file: &str) -> String {
    if dir == "." {
        file.to_owned()
    } else {
        format!("{dir}/{file}")
    }
}

/// A repository path as the tools treat it: `./a/b/` and `a/b` are the same directory, and an
/// empty path is the root.
pub(crate) fn clean_path(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_the_way_the_tools_read_them() {
        for (given, want) in [
            ("", "."),
            ("./", "."),
            (".", "."),
            ("./clusters/prod", "clusters/prod"),
            ("clusters/prod/", "clusters/prod"),
            ("/apps//web/./", "apps/web"),
        ] {
            assert_eq!(clean_path(given), want, "{given:?}");
        }
        assert_eq!(join(".", ".argocd-source.yaml"), ".argocd-source.yaml");
        assert_eq!(join("apps/web", "x"), "apps/web/x");
    }
}
