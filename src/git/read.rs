//! The files of a commit that a sync needs, in memory, the way the edit engine reads a checkout.
//!
//! Not the whole tree: a sync under an owner's path reads the files below it, what its
//! kustomizations reference and the kustomizations elsewhere that share them
//! ([`crate::repo::needed`]), within a byte budget, so one monorepo cannot push the controller
//! past its memory goal.

use std::collections::{BTreeMap, BTreeSet};

use git2::{ObjectType, Odb, Oid, Repository, TreeWalkMode, TreeWalkResult};

use super::{GitError, Workspace};
use crate::repo::needed::{Refs, is_kustomization_name, needed, references};
use crate::repo::walk::is_yaml_name;
use crate::yamledit::MAX_FILE_BYTES;

/// Default for [`read_needed`]'s budget: the bytes of YAML text one sync may hold (the
/// parsed files take a few times that; the chart's memory limit is 256 MiB).
pub const DEFAULT_READ_BUDGET: u64 = 16 * 1024 * 1024;

/// Parses `--repo-read-budget`: bytes as a Kubernetes quantity (`16Mi`, `64M`, `1000000`).
pub fn parse_read_budget(text: &str) -> Result<u64, String> {
    let why = "write a size like 16Mi, 64Mi or 1Gi";
    let q = crate::quantity::parse(text.trim()).map_err(|e| format!("{e}; {why}"))?;
    match q.units_ceil().and_then(|b| u64::try_from(b).ok()) {
        Some(bytes) if bytes > 0 => Ok(bytes),
        _ => Err(format!("must be a positive number of bytes; {why}")),
    }
}

/// A YAML file of the tree, or why it was left out.
#[derive(Debug, Clone, PartialEq)]
pub enum TreeFile {
    Text { path: String, text: String },
    Skipped { path: String, why: String },
}

/// A YAML-named blob of the tree.
struct Entry {
    id: Oid,
    link: bool,
}

struct Reader<'r> {
    repo: &'r Repository,
    odb: Odb<'r>,
    budget: u64,
    read: u64,
    scopes: &'r [String],
}

const STEP: &str = "reading the tree";

impl Reader<'_> {
    /// One file, counted against the budget. Symbolic links are left out (in a tree they are
    /// only text, and following them could leave the repository), as are files over the size
    /// limit and files that are not UTF-8.
    fn load(&mut self, path: &str, entry: &Entry) -> Result<TreeFile, GitError> {
        let skipped = |why: String| TreeFile::Skipped {
            path: path.to_owned(),
            why,
        };
        if entry.link {
            return Ok(skipped("a symbolic link; not followed".into()));
        }
        let (size, _) = self
            .odb
            .read_header(entry.id)
            .map_err(|e| GitError::git(STEP, &e, &[]))?;
        if size > MAX_FILE_BYTES {
            return Ok(skipped(format!(
                "file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit"
            )));
        }
        let size = size as u64;
        if self.read + size > self.budget {
            return Err(GitError::ReadBudget {
                budget: self.budget,
                read: self.read,
                file: path.to_owned(),
                scopes: shown_scopes(self.scopes),
            });
        }
        self.read += size;
        let blob = self
            .repo
            .find_blob(entry.id)
            .map_err(|e| GitError::git(STEP, &e, &[]))?;
        Ok(match std::str::from_utf8(blob.content()) {
            Ok(text) => TreeFile::Text {
                path: path.to_owned(),
                text: text.to_owned(),
            },
            Err(_) => skipped("not UTF-8".into()),
        })
    }
}

fn shown_scopes(scopes: &[String]) -> String {
    let shown: Vec<&str> = scopes
        .iter()
        .map(|s| if s.is_empty() { "." } else { s.as_str() })
        .collect();
    shown.join(", ")
}

/// The YAML files of `commit` that a run under `scopes` (`""` for the whole repository) needs,
/// reading at most `budget` bytes of text; over it, the sync fails with an error that names
/// the budget and how to raise it.
pub fn read_needed(
    ws: &Workspace,
    commit: Oid,
    scopes: &[String],
    budget: u64,
) -> Result<Vec<TreeFile>, GitError> {
    let repo = ws.repository();
    let entries = yaml_entries(repo, commit)?;
    let mut reader = Reader {
        repo,
        odb: repo.odb().map_err(|e| GitError::git(STEP, &e, &[]))?,
        budget,
        read: 0,
        scopes,
    };
    let mut files: BTreeMap<String, TreeFile> = BTreeMap::new();
    let mut refs: BTreeMap<String, Refs> = BTreeMap::new();
    for (path, entry) in entries.iter().filter(|(p, _)| is_kustomization_name(p)) {
        let file = reader.load(path, entry)?;
        if let TreeFile::Text { text, .. } = &file {
            refs.insert(path.clone(), references(path, text));
        }
        files.insert(path.clone(), file);
    }
    let paths: BTreeSet<String> = entries.keys().cloned().collect();
    let keep = needed(&paths, scopes, &refs);
    // The kustomizations of other applications were only needed to find what is shared.
    files.retain(|path, _| keep.contains(path));
    for path in &keep {
        if let (false, Some(entry)) = (files.contains_key(path), entries.get(path)) {
            let file = reader.load(path, entry)?;
            files.insert(path.clone(), file);
        }
    }
    Ok(files.into_values().collect())
}

/// Every YAML-named blob of `commit`'s tree, by path; no content is read.
fn yaml_entries(repo: &Repository, commit: Oid) -> Result<BTreeMap<String, Entry>, GitError> {
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(|e| GitError::git(STEP, &e, &[]))?;
    let mut out = BTreeMap::new();
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if let Ok(name) = entry.name()
            && entry.kind() == Some(ObjectType::Blob)
            && is_yaml_name(name)
        {
            let link = entry.filemode() == i32::from(git2::FileMode::Link);
            out.insert(
                format!("{dir}{name}"),
                Entry {
                    id: entry.id(),
                    link,
                },
            );
        }
        TreeWalkResult::Ok
    })
    .map_err(|e| GitError::git(STEP, &e, &[]))?;
    Ok(out)
}

/// Whether `dir` (a `/`-separated path, `""` for the root) is a directory of `commit`'s tree.
pub fn is_dir(ws: &Workspace, commit: Oid, dir: &str) -> bool {
    entry_kind(ws, commit, dir) == Some(ObjectType::Tree)
}

/// Whether `path` is a file of `commit`'s tree.
pub fn is_file(ws: &Workspace, commit: Oid, path: &str) -> bool {
    entry_kind(ws, commit, path) == Some(ObjectType::Blob)
}

fn entry_kind(ws: &Workspace, commit: Oid, path: &str) -> Option<ObjectType> {
    if path.is_empty() {
        return Some(ObjectType::Tree);
    }
    ws.repository()
        .find_commit(commit)
        .and_then(|c| c.tree())
        .and_then(|t| t.get_path(std::path::Path::new(path)))
        .ok()
        .and_then(|e| e.kind())
}
