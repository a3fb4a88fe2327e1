//! Applying a plan file by file. A file whose edits fail verification is not written; the
//! changes that caused it become problems and the others in that file are still applied.
//!
//! New files go first: a kustomization's entry for a new patch is written only when the
//! patch was, and a patch whose entry cannot be written is withdrawn, so no edit reports
//! success without rendering.

use std::collections::BTreeMap;

use crate::repo::{FilePlan, ManifestTree, Op, ParsedFile, Plan, Problem, merge_problems};
use crate::yamledit::style::Style;
use crate::yamledit::{self, EmbeddedSet, Set, YamlError};

use super::{FileChange, Outcome};

/// The texts decided so far and the changes that failed.
struct Run<'p> {
    repo: &'p ManifestTree,
    plan: &'p Plan,
    failed: Vec<bool>,
    problems: Vec<Problem>,
    after: BTreeMap<String, String>,
    /// Files whose every edit already worked, edited on every core beforehand (see [`ready`]).
    ready: BTreeMap<String, String>,
}

pub fn apply(repo: &ManifestTree, plan: Plan) -> Outcome {
    let mut run = Run {
        repo,
        plan: &plan,
        failed: vec![false; plan.changes.len()],
        problems: Vec::new(),
        after: BTreeMap::new(),
        ready: BTreeMap::new(),
    };
    run.ready = ready(&run);
    let (new, existing): (Vec<_>, Vec<_>) = plan
        .files
        .iter()
        .filter(|(path, fp)| repo.files.contains_key(*path) || fp.create.is_some())
        .partition(|(path, _)| !repo.files.contains_key(*path));
    for (path, fp) in new {
        run.file(path, None, fp);
    }
    for (path, fp) in existing {
        run.listing_file(path, repo.files.get(path), fp);
    }
    let Run {
        failed,
        problems,
        after,
        ..
    } = run;
    let mut files = Vec::new();
    for (path, text) in after {
        let before = repo.files.get(&path).map(|f| f.text.clone());
        if before.as_deref() != Some(text.as_str()) {
            files.push(FileChange {
                path,
                before,
                after: text,
            });
        }
    }
    let mut all_problems = plan.problems;
    all_problems.extend(problems);
    let mut notices = plan.notices;
    notices.extend(repo.notices.iter().cloned());
    Outcome {
        changes: plan
            .changes
            .into_iter()
            .zip(failed)
            .filter(|(_, f)| !f)
            .map(|(c, _)| c)
            .collect(),
        problems: merge_problems(all_problems),
        notices,
        files,
    }
}

impl Run<'_> {
    /// Edits one file with the changes that work; `false` when not even its supporting
    /// operations do, or when it was to be created and none of its changes survived.
    fn file(&mut self, path: &str, before: Option<&ParsedFile>, fp: &FilePlan) -> bool {
        let ids = change_ids(fp);
        let style = self.new_file_style(fp);
        let edit_file = |fp: &FilePlan, keep: &dyn Fn(usize) -> bool| {
            edit_file(before, fp, style.as_ref(), keep)
        };
        let all = match self.ready.remove(path) {
            Some(text) => Ok(text),
            None => edit_file(fp, &|_| true),
        };
        match all {
            Ok(text) => {
                self.after.insert(path.to_owned(), text);
                return true;
            }
            Err(e) if !ids.is_empty() && edit_file(fp, &|_| false).is_err() => {
                self.fail(&ids, path, &e);
                return false;
            }
            Err(_) => {}
        }
        // Find the changes that fail on their own and apply the rest together.
        for &id in &ids {
            if let Err(e) = edit_file(fp, &|c| c == id) {
                self.fail(&[id], path, &e);
            }
        }
        let failed = self.failed.clone();
        let kept: Vec<usize> = ids.iter().copied().filter(|&c| !failed[c]).collect();
        if fp.create.is_some() && kept.is_empty() && !ids.is_empty() {
            return false;
        }
        match edit_file(fp, &|c| !failed[c]) {
            Ok(text) => {
                self.after.insert(path.to_owned(), text);
                true
            }
            Err(e) => {
                self.fail(&kept, path, &e);
                false
            }
        }
    }

    /// Edits an existing file together with its entries for the new files that were written;
    /// an entry that cannot be written withdraws its file.
    fn listing_file(&mut self, path: &str, before: Option<&ParsedFile>, fp: &FilePlan) {
        let mut with = fp.clone();
        with.lists.clear();
        for (listed, op) in &fp.lists {
            if !self.after.contains_key(listed) {
                continue;
            }
            let mut one = with.clone();
            one.ops.push((None, op.clone()));
            match edit_file(before, &one, None, &|_| false) {
                Ok(_) => with = one,
                Err(e) => self.withdraw(listed, path, &e),
            }
        }
        if !self.file(path, before, &with) {
            for (listed, _) in &fp.lists {
                let e = YamlError::Verify("the kustomization could not be edited".into());
                self.withdraw(listed, path, &e);
            }
        }
    }

    /// The style a new file is written in: the style of the file it follows, read off its
    /// text; `None` for an existing file, which keeps its own.
    fn new_file_style(&self, fp: &FilePlan) -> Option<Style> {
        let new = fp.create.as_ref()?;
        Some(
            self.repo
                .files
                .get(&new.style_of)
                .map(|f| Style::detect(&f.text, &f.stream, &Style::default()))
                .unwrap_or_default(),
        )
    }

    /// Takes back a new file whose listing failed: its changes become problems.
    fn withdraw(&mut self, listed: &str, kustomization: &str, e: &YamlError) {
        if self.after.remove(listed).is_none() {
            return;
        }
        let ids: Vec<usize> = self
            .plan
            .files
            .get(listed)
            .map(change_ids)
            .unwrap_or_default();
        let why = YamlError::Verify(format!("cannot list {listed} in {kustomization}: {e}"));
        self.fail(&ids, listed, &why);
    }

    fn fail(&mut self, ids: &[usize], file: &str, e: &YamlError) {
        for &id in ids {
            if std::mem::replace(&mut self.failed[id], true) {
                continue;
            }
            let c = &self.plan.changes[id];
            self.problems.push(Problem {
                namespace: c.namespace.clone(),
                kind: c.kind.clone(),
                workload: c.workload.clone(),
                container: Some(c.container.clone()),
                fields: vec![c.field],
                reason: reason(file, e),
            });
        }
    }
}

/// Every file that lists no new file, edited with all its changes on every core: most files
/// take no other path, and [`Run::file`] begins with exactly this edit, which depends on
/// nothing decided for other files. A file whose edit fails is left out and goes the
/// careful way, one file after another.
fn ready(run: &Run) -> BTreeMap<String, String> {
    let jobs: Vec<(&String, &FilePlan)> = run
        .plan
        .files
        .iter()
        .filter(|(path, fp)| {
            fp.lists.is_empty() && (run.repo.files.contains_key(*path) || fp.create.is_some())
        })
        .collect();
    let texts = crate::repo::on_every_core(&jobs, &|(path, fp): &(&String, &FilePlan)| {
        let before = run.repo.files.get(*path);
        edit_file(before, fp, run.new_file_style(fp).as_ref(), &|_| true).ok()
    });
    jobs.into_iter()
        .zip(texts)
        .filter_map(|((path, _), text)| Some((path.clone(), text?)))
        .collect()
}

fn reason(file: &str, e: &YamlError) -> String {
    match e {
        YamlError::Shared { .. } => format!("ambiguous: in {file}, {e}"),
        _ => format!("cannot edit {file}: {e}"),
    }
}

fn change_ids(plan: &FilePlan) -> Vec<usize> {
    let mut ids: Vec<usize> = plan.ops.iter().filter_map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Edits the file as loaded (its tree is reused; `None` for a new file) with the supporting
/// ops and the ops of the changes `keep` selects; a new file is written in `style`.
fn edit_file(
    before: Option<&ParsedFile>,
    plan: &FilePlan,
    style: Option<&Style>,
    keep: &dyn Fn(usize) -> bool,
) -> Result<String, YamlError> {
    let mut sets: Vec<Set> = Vec::new();
    let mut embedded: Vec<EmbeddedSet> = Vec::new();
    for (id, op) in &plan.ops {
        if id.is_some_and(|id| !keep(id)) {
            continue;
        }
        match editor_op(op) {
            Ok(set) => sets.push(set),
            Err(inline) => embedded.push(inline),
        }
    }
    let fallback = style.cloned().unwrap_or_default();
    match before {
        Some(f) => yamledit::set_values_parsed(&f.text, &f.stream, &sets, &embedded, &fallback),
        None => yamledit::set_values_styled("", &sets, &embedded, &fallback),
    }
}

/// A resolved value as the editor's operation: a plain scalar, or a scalar inside the inline
/// patch held by a string.
pub fn editor_op(op: &Op) -> Result<Set, EmbeddedSet> {
    let set = |doc, path: &[yamledit::Seg]| Set {
        doc,
        path: path.to_vec(),
        value: op.value.clone(),
    };
    match &op.at.inline {
        None => Ok(set(op.at.doc, &op.at.path)),
        Some(inner) => Err(EmbeddedSet {
            doc: op.at.doc,
            path: op.at.path.clone(),
            sets: vec![set(0, inner)],
        }),
    }
}

#[cfg(test)]
mod tests {
    use crate::repo::{ContainerWant, Field, ManifestTree, Scope, Want, resolve};

    fn deployment(name: &str) -> String {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        resources:\n          requests:\n            cpu: 500m\n"
        )
    }

    fn want(workload: &str) -> Want {
        Want {
            policy: "sizing".into(),
            namespace: "production".into(),
            kind: "Deployment".into(),
            workload: workload.into(),
            containers: vec![ContainerWant {
                name: "app".into(),
                fields: vec![(Field::CpuRequest, "250m".into())],
            }],
        }
    }

    fn repo(prod: &str) -> ManifestTree {
        ManifestTree::from_texts(
            [
                (
                    "base/kustomization.yaml",
                    "resources: [a.yaml, b.yaml]\n".to_owned(),
                ),
                ("base/a.yaml", deployment("a")),
                ("base/b.yaml", deployment("b")),
                (
                    "staging/kustomization.yaml",
                    "namespace: staging\nresources: [../base]\n".to_owned(),
                ),
                ("prod/kustomization.yaml", prod.to_owned()),
            ]
            .map(|(p, t)| (p.to_owned(), t)),
        )
    }

    #[test]
    fn new_patches_are_written_with_their_entries() {
        let repo = repo("namespace: production\nresources: [../base]\npatches:\n- path: x.yaml\n");
        let plan = resolve(&repo, &Scope::whole(), &[want("a"), want("b")]);
        let outcome = super::apply(&repo, plan);
        assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
        let k = outcome
            .files
            .iter()
            .find(|f| f.path == "prod/kustomization.yaml")
            .map(|f| f.after.as_str());
        assert_eq!(
            k,
            Some(
                "namespace: production\nresources: [../base]\npatches:\n- path: x.yaml\n\
                 - path: attune-deployment-a.yaml\n- path: attune-deployment-b.yaml\n"
            )
        );
        assert_eq!(outcome.files.len(), 3);
    }

    #[test]
    fn a_new_patch_whose_entry_cannot_be_written_is_withdrawn_and_reported() {
        // The list is shared through an anchor, so appending to it would change `also` too.
        let repo = repo("namespace: production\nresources: [../base]\npatches: &p []\nalso: *p\n");
        let plan = resolve(&repo, &Scope::whole(), &[want("a"), want("b")]);
        let outcome = super::apply(&repo, plan);
        assert!(
            outcome.files.is_empty(),
            "nothing is written: {:?}",
            outcome.files.iter().map(|f| &f.path).collect::<Vec<_>>()
        );
        assert!(outcome.changes.is_empty());
        assert_eq!(outcome.problems.len(), 2, "{:#?}", outcome.problems);
        for p in &outcome.problems {
            assert_eq!(p.fields, [Field::CpuRequest]);
            assert!(
                p.reason.contains("cannot list prod/attune-deployment-")
                    && p.reason.contains("in prod/kustomization.yaml"),
                "{}",
                p.reason
            );
        }
    }
}
