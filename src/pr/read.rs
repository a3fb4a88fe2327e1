//! What a sync reads of a commit: the YAML files its scopes need ([`crate::repo::needed`]),
//! read by the git workspace within a byte budget.

use git2::Oid;

use crate::git::{GitError, ReadLimits, TreeFile, TreeReader, Workspace};
use crate::repo::walk::is_yaml_name;
use crate::repo::{Notice, needed};
use crate::yamledit::MAX_FILE_BYTES;

/// The YAML files of `commit` that a run under `scopes` (`""` for the whole repository) needs,
/// reading at most `budget` bytes of text; over it, the sync fails with an error that names
/// the budget and how to raise it.
pub fn read_needed(
    ws: &Workspace,
    commit: Oid,
    scopes: &[String],
    budget: u64,
) -> Result<Vec<TreeFile>, GitError> {
    let limits = ReadLimits {
        budget,
        max_file_bytes: MAX_FILE_BYTES,
        scopes,
    };
    let mut tree = TreeReader::open(ws, commit, is_yaml_name, limits)?;
    let paths = tree.paths();
    needed::read_needed(&paths, scopes, |path| tree.load(path), text_of)
}

/// The files read, as (path, text), and a notice for each one the reader passed over.
pub(super) fn texts(files: Vec<TreeFile>) -> (Vec<(String, String)>, Vec<Notice>) {
    let mut texts = Vec::new();
    let mut skipped = Vec::new();
    for file in files {
        match file {
            TreeFile::Text { path, text } => texts.push((path, text)),
            TreeFile::Skipped { path, why } => {
                skipped.push(Notice::new(path, format!("{why}; skipped")))
            }
        }
    }
    (texts, skipped)
}

fn text_of(file: &TreeFile) -> Option<&str> {
    match file {
        TreeFile::Text { text, .. } => Some(text),
        TreeFile::Skipped { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_keep_the_order_and_a_file_passed_over_is_a_notice() {
        let (texts, notices) = texts(vec![
            TreeFile::Text {
                path: "a.yaml".into(),
                text: "a: 1\n".into(),
            },
            TreeFile::Skipped {
                path: "link.yaml".into(),
                why: "a symbolic link; not followed".into(),
            },
            TreeFile::Text {
                path: "b/c.yaml".into(),
                text: "c: 2\n".into(),
            },
        ]);
        assert_eq!(
            texts,
            [
                ("a.yaml".to_owned(), "a: 1\n".to_owned()),
                ("b/c.yaml".to_owned(), "c: 2\n".to_owned())
            ]
        );
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].file, "link.yaml");
        assert_eq!(notices[0].message, "a symbolic link; not followed; skipped");
    }
}
