//! What the bench checks and compares: the edits attune plans (exported for the ruamel.yaml
//! baseline), whether a tool's output holds every planned value, and how many lines a tool
//! changed beyond them.

use std::collections::BTreeSet;
use std::path::Path;

use attune::propose;
use attune::repo::{self, ManifestTree, Scope};
use attune::yamledit::{self, EmbeddedSet, Node, Seg, Set};

use super::synth::Res;

/// The planned edits of one file that the run changes.
#[derive(Clone)]
pub struct FileEdits {
    pub path: String,
    pub before: Option<String>,
    pub sets: Vec<Set>,
    pub embedded: Vec<EmbeddedSet>,
}

/// The edits attune plans for the repository, read the way `propose` reads it. Fails unless
/// every change applies (no problem), so both tools are asked for the same, complete work.
pub fn plan(root: &Path, policies: &Path) -> Res<Vec<FileEdits>> {
    let repo = ManifestTree::load(root)?;
    let wants = propose::wants(&propose::read_policies(policies)?);
    let plan = repo::resolve(&repo, &Scope::whole(), &wants);
    let files = plan.files.clone();
    let outcome = propose::apply(&repo, plan);
    if !outcome.problems.is_empty() {
        return Err(format!("the plan has {} problem(s)", outcome.problems.len()).into());
    }
    let changed: BTreeSet<&str> = outcome.files.iter().map(|f| f.path.as_str()).collect();
    let mut out = Vec::new();
    for (path, fp) in &files {
        if !changed.contains(path.as_str()) {
            continue;
        }
        let mut edits = FileEdits {
            path: path.clone(),
            before: repo.files.get(path).map(|f| f.text.clone()),
            sets: Vec::new(),
            embedded: Vec::new(),
        };
        for op in fp
            .ops
            .iter()
            .map(|(_, op)| op)
            .chain(fp.lists.iter().map(|(_, op)| op))
        {
            match propose::editor_op(op) {
                Ok(set) => edits.sets.push(set),
                Err(inline) => edits.embedded.push(inline),
            }
        }
        out.push(edits);
    }
    Ok(out)
}

fn seg_json(seg: &Seg) -> serde_json::Value {
    match seg {
        Seg::Key(k) => serde_json::Value::from(k.as_str()),
        Seg::Index(i) => serde_json::Value::from(*i),
    }
}

fn set_json(s: &Set) -> serde_json::Value {
    serde_json::json!({
        "doc": s.doc,
        "path": s.path.iter().map(seg_json).collect::<Vec<_>>(),
        "value": s.value,
    })
}

/// The edits as `ruamel_edit.py` reads them.
pub fn edits_json(files: &[FileEdits]) -> String {
    let files: Vec<serde_json::Value> = files
        .iter()
        .map(|f| {
            serde_json::json!({
                "path": f.path,
                "sets": f.sets.iter().map(set_json).collect::<Vec<_>>(),
                "embedded": f.embedded.iter().map(|e| serde_json::json!({
                    "doc": e.doc,
                    "path": e.path.iter().map(seg_json).collect::<Vec<_>>(),
                    "sets": e.sets.iter().map(set_json).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({ "files": files }).to_string()
}

pub fn at<'a>(stream: &'a yamledit::Stream, doc: usize, path: &[Seg]) -> Option<&'a Node> {
    let mut node = &stream.docs.get(doc)?.root;
    for seg in path {
        node = match seg {
            Seg::Key(k) => node.get(k)?,
            Seg::Index(i) => node.items().get(*i)?,
        };
    }
    Some(node)
}

/// Whether every planned value is in the files under `root`; the first one missing otherwise.
pub fn verify(root: &Path, files: &[FileEdits]) -> Result<(), String> {
    for f in files {
        let text = std::fs::read_to_string(root.join(&f.path))
            .map_err(|e| format!("{}: cannot read: {e}", f.path))?;
        let stream = yamledit::parse(&text).map_err(|e| format!("{}: {e}", f.path))?;
        let check =
            |stream: &yamledit::Stream, s: &Set, what: &str| match at(stream, s.doc, &s.path)
                .and_then(Node::as_str)
            {
                Some(v) if v == s.value => Ok(()),
                got => Err(format!(
                    "{}{what}: {:?} is {got:?}, not {:?}",
                    f.path, s.path, s.value
                )),
            };
        for s in &f.sets {
            check(&stream, s, "")?;
        }
        for e in &f.embedded {
            let inner = at(&stream, e.doc, &e.path)
                .and_then(Node::as_str)
                .ok_or_else(|| format!("{}: no embedded text at {:?}", f.path, e.path))?;
            let inner = yamledit::parse(inner).map_err(|e| format!("{}: {e}", f.path))?;
            for s in &e.sets {
                check(&inner, s, " (embedded)")?;
            }
        }
    }
    Ok(())
}

/// Lines of the original files that a tool removed or rewrote beyond the planned values, and
/// in how many files: a value replaced in place accounts for one line, anything else changed
/// in an existing file is churn (new files have none).
pub fn churn(root: &Path, files: &[FileEdits]) -> Res<(usize, usize)> {
    let (mut lines, mut churned) = (0, 0);
    for f in files {
        let Some(before) = &f.before else { continue };
        let after = std::fs::read_to_string(root.join(&f.path))?;
        let deleted = similar::TextDiff::from_lines(before.as_str(), after.as_str())
            .iter_all_changes()
            .filter(|c| c.tag() == similar::ChangeTag::Delete)
            .count();
        let extra = deleted.saturating_sub(replaced(before, f));
        lines += extra;
        churned += usize::from(extra > 0);
    }
    Ok((lines, churned))
}

/// How many planned values replace a scalar already in the file.
fn replaced(before: &str, f: &FileEdits) -> usize {
    let Ok(stream) = yamledit::parse(before) else {
        return 0;
    };
    let exists = |stream: &yamledit::Stream, s: &Set| {
        at(stream, s.doc, &s.path).is_some_and(|n| n.as_str().is_some())
    };
    let mut n = f.sets.iter().filter(|s| exists(&stream, s)).count();
    for e in &f.embedded {
        let inner = at(&stream, e.doc, &e.path).and_then(Node::as_str);
        if let Some(inner) = inner.and_then(|t| yamledit::parse(t).ok()) {
            n += e.sets.iter().filter(|s| exists(&inner, s)).count();
        }
    }
    n
}
