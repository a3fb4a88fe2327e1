//! Files of a commit, in memory, within a byte budget: the caller picks which blobs are
//! candidates (by name) and which of them to read, so one monorepo cannot push the controller
//! past its memory goal. What a file means is not this module's business.

use std::collections::{BTreeMap, BTreeSet};

use git2::{ObjectType, Odb, Oid, Repository, TreeWalkMode, TreeWalkResult};

use super::{GitError, Workspace};

/// Default for a read's budget: the bytes of text one sync may hold (the parsed files take a
/// few times that; the chart's memory limit is 256 MiB).
pub const DEFAULT_READ_BUDGET: u64 = 16 * 1024 * 1024;

/// How much one read may take in.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits<'a> {
    /// Bytes of text over all files; past it the read fails.
    pub budget: u64,
    /// Larger files are left out (not read, not counted).
    pub max_file_bytes: usize,
    /// The directories the read is for, named in the budget's error.
    pub scopes: &'a [String],
}

/// A file of the tree, or why it was left out.
#[derive(Debug, Clone, PartialEq)]
pub enum TreeFile {
    Text { path: String, text: String },
    Skipped { path: String, why: String },
}

/// A candidate blob of the tree.
struct Entry {
    id: Oid,
    link: bool,
}

/// The candidate files of one commit, read one by one against a budget.
pub struct TreeReader<'r> {
    repo: &'r Repository,
    odb: Odb<'r>,
    entries: BTreeMap<String, Entry>,
    limits: ReadLimits<'r>,
    read: u64,
}

const STEP: &str = "reading the tree";

impl<'r> TreeReader<'r> {
    /// The blobs of `commit` whose file name `select` accepts; nothing is read yet.
    pub fn open(
        ws: &'r Workspace,
        commit: Oid,
        select: impl Fn(&str) -> bool,
        limits: ReadLimits<'r>,
    ) -> Result<TreeReader<'r>, GitError> {
        let repo = ws.repository();
        Ok(TreeReader {
            repo,
            odb: repo.odb().map_err(|e| GitError::git(STEP, &e, &[]))?,
            entries: entries(repo, commit, &select)?,
            limits,
            read: 0,
        })
    }

    /// The candidates' paths (`/`-separated, from the tree's root).
    pub fn paths(&self) -> BTreeSet<String> {
        self.entries.keys().cloned().collect()
    }

    /// One file, counted against the budget. Symbolic links are left out (in a tree they are
    /// only text, and following them could leave the repository), as are files over the size
    /// limit and files that are not UTF-8.
    pub fn load(&mut self, path: &str) -> Result<TreeFile, GitError> {
        let skipped = |why: String| TreeFile::Skipped {
            path: path.to_owned(),
            why,
        };
        Ok(match self.load_bytes(path)? {
            Err(why) => skipped(why),
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => TreeFile::Text {
                    path: path.to_owned(),
                    text,
                },
                Err(_) => skipped("not UTF-8".into()),
            },
        })
    }

    /// One file's bytes, counted against the budget, or why it is left out (a symbolic link,
    /// a file over the size limit), as [`TreeReader::load`] but for any content.
    pub fn load_bytes(&mut self, path: &str) -> Result<Result<Vec<u8>, String>, GitError> {
        let Some(entry) = self.entries.get(path) else {
            return Ok(Err("not a candidate file of the commit".into()));
        };
        let (id, max) = (entry.id, self.limits.max_file_bytes);
        if entry.link {
            return Ok(Err("a symbolic link; not followed".into()));
        }
        let (size, _) = self
            .odb
            .read_header(id)
            .map_err(|e| GitError::git(STEP, &e, &[]))?;
        if size > max {
            return Ok(Err(format!(
                "file is {size} bytes, over the {max}-byte limit"
            )));
        }
        let size = size as u64;
        if self.read + size > self.limits.budget {
            return Err(GitError::ReadBudget {
                budget: self.limits.budget,
                read: self.read,
                file: path.to_owned(),
                scopes: shown_scopes(self.limits.scopes),
            });
        }
        self.read += size;
        let blob = self
            .repo
            .find_blob(id)
            .map_err(|e| GitError::git(STEP, &e, &[]))?;
        Ok(Ok(blob.content().to_vec()))
    }
}

fn shown_scopes(scopes: &[String]) -> String {
    let shown: Vec<&str> = scopes
        .iter()
        .map(|s| if s.is_empty() { "." } else { s.as_str() })
        .collect();
    shown.join(", ")
}

/// Every blob of `commit`'s tree whose name `select` accepts, by path; no content is read.
fn entries(
    repo: &Repository,
    commit: Oid,
    select: &dyn Fn(&str) -> bool,
) -> Result<BTreeMap<String, Entry>, GitError> {
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(|e| GitError::git(STEP, &e, &[]))?;
    let mut out = BTreeMap::new();
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if let Ok(name) = entry.name()
            && entry.kind() == Some(ObjectType::Blob)
            && select(name)
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
