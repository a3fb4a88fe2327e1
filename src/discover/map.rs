//! From the objects in the files to applications and the live identities they deploy.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::objects::{self, Found, FoundKind};
use super::{Application, Discovery, Input, Problem, ProblemKind, appset};
use crate::locate::{self, Known, Namespacing, ObjectKind, ObjectRef, Source};
use crate::repo::{Scope, deployed_objects, kustomization_files};

/// Finds every application the repository describes and what each deploys.
pub fn discover(input: &Input<'_>) -> Discovery {
    let mut out = Discovery::default();
    let found = objects::read(
        input.files,
        &input.tree.layout.charts,
        &|kind| default_namespace(kind, input.settings),
        &mut out.notices,
    );
    let mut d = Discoverer {
        input,
        out,
        known: Known::new(),
        declared: BTreeMap::new(),
    };
    for f in found
        .iter()
        .filter(|f| matches!(f.kind, FoundKind::Owner(_)))
    {
        d.declare(f.object.clone(), &f.file, None);
    }
    for f in found.iter().filter(|f| f.kind == FoundKind::ApplicationSet) {
        d.expand(f);
    }
    let owners: Vec<ObjectRef> = d
        .declared
        .keys()
        .filter(|k| matches!(k.kind, ObjectKind::Application | ObjectKind::Kustomization))
        .cloned()
        .collect();
    for owner in owners {
        d.deployer(&owner);
    }
    let releases: Vec<ObjectRef> = d
        .declared
        .keys()
        .filter(|k| k.kind == ObjectKind::HelmRelease)
        .cloned()
        .collect();
    for hr in releases {
        d.helm_release(&hr);
    }
    d.ambiguities();
    d.out
}

/// Where an object without a namespace lands: Argo CD's control-plane namespace for its kinds,
/// `flux-system` (where `flux bootstrap` applies its own sync) for Flux's.
fn default_namespace(kind: FoundKind, settings: &locate::Settings) -> String {
    match kind {
        FoundKind::ApplicationSet | FoundKind::Owner(ObjectKind::Application) => settings
            .argocd_namespaces
            .first()
            .cloned()
            .unwrap_or_else(|| "argocd".to_owned()),
        FoundKind::Owner(_) => "flux-system".to_owned(),
    }
}

struct Discoverer<'a> {
    input: &'a Input<'a>,
    out: Discovery,
    known: Known,
    /// Each object's file and, for a generated Application, its ApplicationSet.
    declared: BTreeMap<ObjectRef, (String, Option<String>)>,
}

impl Discoverer<'_> {
    fn problem(&mut self, kind: ProblemKind, object: String, file: &str, reason: String) {
        self.out.problems.push(Problem {
            kind,
            object,
            file: file.to_owned(),
            reason,
        });
    }

    /// Files an object; a second declaration of the same object is ambiguous and is dropped.
    fn declare(&mut self, object: Value, file: &str, generated_by: Option<String>) {
        let mut probe = Known::new();
        let Some(key) = probe.insert(object.clone()) else {
            return;
        };
        if let Some((first, _)) = self.declared.get(&key) {
            let reason = format!("declared again; the declaration in {first} is the one used");
            self.problem(ProblemKind::Ambiguous, key.to_string(), file, reason);
            return;
        }
        self.known.insert(object.clone());
        self.out.objects.push(object);
        self.declared.insert(key, (file.to_owned(), generated_by));
    }

    fn expand(&mut self, set: &Found) {
        let name = format!(
            "argo cd applicationset {}/{}",
            set.object["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default(),
            set.object["metadata"]["name"].as_str().unwrap_or_default()
        );
        let dirs = directories(self.input.files);
        let expanded = {
            let this = |url: &str| self.is_this_repo(url);
            appset::expand(&set.object, &dirs, &this)
        };
        for reason in expanded.problems {
            self.problem(ProblemKind::Unsupported, name.clone(), &set.file, reason);
        }
        for app in expanded.apps {
            self.declare(app, &set.file, Some(name.clone()));
        }
    }

    fn is_this_repo(&self, url: &str) -> bool {
        self.input
            .this_repo
            .is_none_or(|this| locate::same_repo(this, url))
    }

    /// An Application or Kustomization: its source, through the controller's mapping, and the
    /// identities its path deploys.
    fn deployer(&mut self, owner: &ObjectRef) {
        let Some((file, generated_by)) = self.declared.get(owner).cloned() else {
            return;
        };
        let mut source = match locate::source_of(owner, &self.known) {
            Ok(source) => source,
            Err(err) => {
                self.problem(
                    ProblemKind::Unlocated,
                    owner.to_string(),
                    &file,
                    err.to_string(),
                );
                return;
            }
        };
        if !self.is_this_repo(&source.repo_url) {
            let reason = format!(
                "it deploys from {}, not this repository; its workloads are not mapped",
                locate::redacted(&source.repo_url)
            );
            self.problem(
                ProblemKind::OtherRepository,
                owner.to_string(),
                &file,
                reason,
            );
            return;
        }
        let dir = scope_dir(&source.path);
        if !self.dir_exists(&dir) {
            let reason = format!(
                "its path {} holds no YAML file in this checkout",
                source.path
            );
            self.problem(ProblemKind::MissingPath, owner.to_string(), &file, reason);
            return;
        }
        // Argo CD renders a path holding a Chart.yaml with Helm even without `helm:`.
        if source.helm.is_none()
            && owner.kind == ObjectKind::Application
            && self.input.tree.layout.charts.contains(&dir)
        {
            source.helm = locate::application_chart(owner, &self.known).ok();
        }
        let workloads = match source.helm {
            Some(_) => Vec::new(),
            None => self.workloads(owner, &file, &source, &dir),
        };
        self.out.applications.push(Application {
            owner: owner.clone(),
            file,
            generated_by,
            source,
            workloads,
        });
    }

    fn dir_exists(&self, dir: &str) -> bool {
        dir.is_empty()
            || self
                .input
                .files
                .iter()
                .any(|(rel, _)| rel.starts_with(dir) && rel[dir.len()..].starts_with('/'))
    }

    /// The live identities the owner's path deploys: the names the files render, in the
    /// namespace the owner's namespacing gives them.
    fn workloads(
        &mut self,
        owner: &ObjectRef,
        file: &str,
        source: &Source,
        dir: &str,
    ) -> Vec<String> {
        let scope = Scope::source(dir, source.recurse);
        let mut out = Vec::new();
        // The tree's own notices are the run's; rendering again would only repeat them.
        for obj in deployed_objects(self.input.tree, &scope, &mut Vec::new()) {
            match Namespacing::apply(source.namespace.as_ref(), obj.namespace.as_deref()) {
                Some(ns) => out.push(format!(
                    "{ns}/{}/{}",
                    obj.kind,
                    source.names.apply(&obj.name)
                )),
                None => {
                    let reason = format!(
                        "{} {} (from {}) has no namespace and the owner names none",
                        obj.kind, obj.name, obj.from
                    );
                    self.problem(ProblemKind::NoNamespace, owner.to_string(), file, reason);
                }
            }
        }
        out
    }

    /// A HelmRelease: applied by the one application whose path deploys its file; its source
    /// is that application's, through the controller's mapping.
    fn helm_release(&mut self, hr: &ObjectRef) {
        let Some((file, generated_by)) = self.declared.get(hr).cloned() else {
            return;
        };
        let appliers: Vec<(String, Source)> = self
            .out
            .applications
            .iter()
            .filter(|a| a.source.helm.is_none() && deploys_file(self.input, &a.source, &file))
            .map(|a| (a.owner.to_string(), a.source.clone()))
            .collect();
        let applier = match appliers.as_slice() {
            [(_, one)] => one.clone(),
            [] => {
                let reason =
                    "no application or kustomization in the repository deploys its file".to_owned();
                self.problem(ProblemKind::NoApplier, hr.to_string(), &file, reason);
                return;
            }
            many => {
                let names: Vec<&str> = many.iter().map(|(name, _)| name.as_str()).collect();
                let reason = format!("applied by several owners: {}", names.join(", "));
                self.problem(ProblemKind::Ambiguous, hr.to_string(), &file, reason);
                return;
            }
        };
        match locate::helm_release_source(hr, &self.known, applier) {
            Ok(source) => self.out.applications.push(Application {
                owner: hr.clone(),
                file,
                generated_by,
                source,
                workloads: Vec::new(),
            }),
            Err(err) => self.problem(
                ProblemKind::Unlocated,
                hr.to_string(),
                &file,
                err.to_string(),
            ),
        }
    }

    /// Two applications deploying one identity: neither is chosen, both are named.
    fn ambiguities(&mut self) {
        let mut by_identity: BTreeMap<&str, Vec<&Application>> = BTreeMap::new();
        for app in &self.out.applications {
            for w in &app.workloads {
                by_identity.entry(w).or_default().push(app);
            }
        }
        let mut found = Vec::new();
        for (identity, apps) in by_identity.into_iter().filter(|(_, a)| a.len() > 1) {
            let names: Vec<String> = apps
                .iter()
                .map(|a| format!("{} (path {})", a.owner, a.source.path))
                .collect();
            found.push(Problem {
                kind: ProblemKind::Ambiguous,
                object: identity.to_owned(),
                file: apps[0].file.clone(),
                reason: format!("deployed by {}; neither is chosen", names.join(" and ")),
            });
        }
        self.out.problems.extend(found);
    }
}

/// Whether `source` deploys `file`: its kustomization builds from it, or it sits in the plain
/// directory (or below it, when the directory is read recursively).
fn deploys_file(input: &Input<'_>, source: &Source, file: &str) -> bool {
    let dir = scope_dir(&source.path);
    if let Some(files) = kustomization_files(input.tree, &dir) {
        return files.contains(file);
    }
    let parent = crate::repo::walk::parent(file);
    parent == dir || (source.recurse && (dir.is_empty() || parent.starts_with(&format!("{dir}/"))))
}

/// A cleaned source path as the repository reader names directories: the root is empty.
pub(super) fn scope_dir(path: &str) -> String {
    if path == "." {
        String::new()
    } else {
        path.to_owned()
    }
}

/// Every directory holding a YAML file, and their parents (the root left out).
fn directories(files: &[(String, String)]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (rel, _) in files {
        let mut dir = crate::repo::walk::parent(rel);
        while !dir.is_empty() && out.insert(dir.to_owned()) {
            dir = crate::repo::walk::parent(dir);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(files: &[(&str, &str)], this_repo: Option<&str>) -> Discovery {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
            .collect();
        let tree = crate::repo::ManifestTree::from_texts(files.iter().cloned());
        discover(&Input {
            files: &files,
            tree: &tree,
            this_repo,
            settings: &locate::Settings::default(),
        })
    }

    const APP: &str = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: NAME}\nspec:\n  source: {repoURL: 'https://g.example/t/r.git', path: PATH}\n  destination: {server: 'https://kubernetes.default.svc'}\n";
    const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {template: {spec: {containers: [{name: app}]}}}\n";
    const HR: &str = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: orphan, namespace: apps}\nspec: {chart: {spec: {chart: web, sourceRef: {kind: HelmRepository, name: r}}}}\n";

    fn app(name: &str, path: &str) -> String {
        APP.replace("NAME", name).replace("PATH", path)
    }

    #[test]
    fn each_object_that_cannot_be_followed_is_a_named_problem_and_the_rest_goes_on() {
        let (web, gone, twice) = (
            app("web", "apps/web"),
            app("gone", "apps/nothing"),
            app("web", "apps/other"),
        );
        let out = run(
            &[
                ("argocd/web.yaml", &web),
                ("argocd/gone.yaml", &gone),
                ("argocd/z-again.yaml", &twice),
                ("apps/web/deployment.yaml", DEPLOY),
                ("loose/hr.yaml", HR),
            ],
            Some("https://g.example/t/r.git"),
        );
        let kinds: Vec<(ProblemKind, &str)> = out
            .problems
            .iter()
            .map(|p| (p.kind, p.file.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (ProblemKind::Ambiguous, "argocd/z-again.yaml"),
                (ProblemKind::MissingPath, "argocd/gone.yaml"),
                (ProblemKind::NoNamespace, "argocd/web.yaml"),
                (ProblemKind::NoApplier, "loose/hr.yaml"),
            ],
            "{:#?}",
            out.problems
        );
        assert_eq!(out.applications.len(), 1);
        assert_eq!(out.applications[0].source.path, "apps/web");
    }

    #[test]
    fn another_repository_is_named_without_its_credentials() {
        let foreign = APP
            .replace("NAME", "up")
            .replace(
                "https://g.example/t/r.git",
                "https://bot:s3cret@other.example/x/y.git",
            )
            .replace("PATH", "apps/web");
        let out = run(
            &[("a.yaml", &foreign), ("apps/web/d.yaml", DEPLOY)],
            Some("https://g.example/t/r.git"),
        );
        assert_eq!(out.problems.len(), 1);
        assert_eq!(out.problems[0].kind, ProblemKind::OtherRepository);
        assert!(
            !out.problems[0].reason.contains("s3cret"),
            "{}",
            out.problems[0].reason
        );
        let unknown = run(&[("a.yaml", &foreign), ("apps/web/d.yaml", DEPLOY)], None);
        assert_eq!(unknown.applications.len(), 1, "{:?}", unknown.problems);
    }
}
