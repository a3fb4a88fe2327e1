//! The files of a commit, in memory, the way the edit engine reads a checkout.

use git2::{ObjectType, Oid, TreeWalkMode, TreeWalkResult};

use super::{GitError, Workspace};
use crate::repo::walk::is_yaml_name;
use crate::yamledit::MAX_FILE_BYTES;

/// A YAML file of the tree, or why it was left out.
#[derive(Debug, Clone, PartialEq)]
pub enum TreeFile {
    Text { path: String, text: String },
    Skipped { path: String, why: String },
}

/// Every YAML-named file of `commit`'s tree. Symbolic links are left out (in a tree they are
/// only text, and following them could leave the repository), as are files over the size limit
/// and files that are not UTF-8; each is reported as skipped.
pub fn read_tree(ws: &Workspace, commit: Oid) -> Result<Vec<TreeFile>, GitError> {
    let repo = ws.repository();
    let step = "reading the tree";
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(|e| GitError::git(step, &e, &[]))?;
    let odb = repo.odb().map_err(|e| GitError::git(step, &e, &[]))?;
    let mut out = Vec::new();
    let mut failure = None;
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        let Ok(name) = entry.name() else {
            return TreeWalkResult::Ok;
        };
        if entry.kind() != Some(ObjectType::Blob) || !is_yaml_name(name) {
            return TreeWalkResult::Ok;
        }
        let path = format!("{dir}{name}");
        if entry.filemode() == i32::from(git2::FileMode::Link) {
            out.push(TreeFile::Skipped {
                path,
                why: "a symbolic link; not followed".into(),
            });
            return TreeWalkResult::Ok;
        }
        match odb.read_header(entry.id()) {
            Ok((size, _)) if size > MAX_FILE_BYTES => {
                out.push(TreeFile::Skipped {
                    path,
                    why: format!("file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit"),
                });
                return TreeWalkResult::Ok;
            }
            Ok(_) => {}
            Err(e) => {
                failure = Some(GitError::git(step, &e, &[]));
                return TreeWalkResult::Abort;
            }
        }
        match repo.find_blob(entry.id()) {
            Ok(blob) => match std::str::from_utf8(blob.content()) {
                Ok(text) => out.push(TreeFile::Text {
                    path,
                    text: text.to_owned(),
                }),
                Err(_) => out.push(TreeFile::Skipped {
                    path,
                    why: "not UTF-8".into(),
                }),
            },
            Err(e) => {
                failure = Some(GitError::git(step, &e, &[]));
                return TreeWalkResult::Abort;
            }
        }
        TreeWalkResult::Ok
    })
    .map_err(|e| {
        failure
            .take()
            .unwrap_or_else(|| GitError::git(step, &e, &[]))
    })?;
    Ok(out)
}

/// Whether `dir` (a `/`-separated path, `""` for the root) is a directory of `commit`'s tree.
pub fn is_dir(ws: &Workspace, commit: Oid, dir: &str) -> bool {
    if dir.is_empty() {
        return true;
    }
    ws.repository()
        .find_commit(commit)
        .and_then(|c| c.tree())
        .and_then(|t| t.get_path(std::path::Path::new(dir)))
        .is_ok_and(|e| e.kind() == Some(ObjectType::Tree))
}
