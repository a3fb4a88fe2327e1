use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;

fn change(path: &str, before: Option<&str>, after: &str) -> FileChange {
    FileChange {
        path: path.to_owned(),
        before: before.map(str::to_owned),
        after: after.to_owned(),
    }
}

/// Every entry below `dir` with its bytes (or link target) and mode, for before/after checks.
fn snapshot(dir: &Path) -> Vec<(String, String, u32)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            let content = if meta.file_type().is_symlink() {
                format!("-> {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                stack.push(path.clone());
                "<dir>".to_owned()
            } else {
                std::fs::read_to_string(&path).unwrap()
            };
            out.push((rel, content, meta.permissions().mode()));
        }
    }
    out.sort();
    out
}

fn repo_with(files: &[(&str, &str, u32)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text, mode) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).unwrap();
    }
    dir
}

#[test]
fn writes_every_file_keeps_modes_and_leaves_no_side_files() {
    let dir = repo_with(&[("a/x.yaml", "x: 1\n", 0o755), ("b/y.yaml", "y: 1\n", 0o640)]);
    let files = [
        change("a/x.yaml", Some("x: 1\n"), "x: 2\n"),
        change("b/y.yaml", Some("y: 1\n"), "y: 2\n"),
        change("b/new.yaml", None, "n: 1\n"),
    ];
    write_all(dir.path(), &files).unwrap();
    let after = snapshot(dir.path());
    let names: Vec<&str> = after.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "a/x.yaml", "b", "b/new.yaml", "b/y.yaml"]);
    assert_eq!(after[1].1, "x: 2\n");
    assert_eq!(after[1].2 & 0o777, 0o755);
    assert_eq!(after[4].1, "y: 2\n");
    assert_eq!(after[4].2 & 0o777, 0o640);
}

#[test]
fn a_failed_rename_in_the_middle_puts_back_what_was_renamed() {
    let dir = repo_with(&[
        ("a/x.yaml", "x: 1\n", 0o644),
        ("b/y.yaml", "y: 1\n", 0o600),
        ("c/z.yaml", "z: 1\n", 0o755),
    ]);
    let before = snapshot(dir.path());
    let files = [
        change("a/x.yaml", Some("x: 1\n"), "x: 2\n"),
        change("a/new.yaml", None, "n: 1\n"),
        change("b/y.yaml", Some("y: 1\n"), "y: 2\n"),
        change("c/z.yaml", Some("z: 1\n"), "z: 2\n"),
    ];
    let mut calls = 0;
    let err = write_with(dir.path(), &files, &mut |s| {
        calls += 1;
        if s.rel == "b/y.yaml" {
            return Err(std::io::Error::other("injected"));
        }
        s.dir.rename(&s.tmp, &s.dir, &s.name)
    })
    .unwrap_err();
    assert_eq!(calls, 3, "the renames stop at the failing one");
    assert!(
        matches!(&err, WriteError::RolledBack { path, leftovers, .. } if path == "b/y.yaml" && leftovers.is_empty()),
        "{err:?}"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn nothing_starts_when_a_target_is_not_a_regular_file() {
    let dir = repo_with(&[("a/x.yaml", "x: 1\n", 0o644), ("b/y.yaml/inner", "", 0o644)]);
    let before = snapshot(dir.path());
    let files = [
        change("a/x.yaml", Some("x: 1\n"), "x: 2\n"),
        change("b/y.yaml", Some("y: 1\n"), "y: 2\n"),
    ];
    let err = write_all(dir.path(), &files).unwrap_err();
    assert_eq!(
        err.to_string(),
        "refusing to write b/y.yaml: it is a directory, not a regular file"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn symlinks_out_of_the_repository_are_refused_and_inside_ones_written_at_their_target() {
    let outer = tempfile::tempdir().unwrap();
    let outside = outer.path().join("secret");
    std::fs::write(&outside, "secret\n").unwrap();
    std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o600)).unwrap();
    let repo = outer.path().join("repo");
    std::fs::create_dir_all(repo.join("data")).unwrap();
    std::fs::write(repo.join("data/real.txt"), "r: 1\n").unwrap();
    std::os::unix::fs::symlink("data/real.txt", repo.join("link.yaml")).unwrap();
    std::os::unix::fs::symlink(&outside, repo.join("out.yaml")).unwrap();

    let err = write_all(&repo, &[change("out.yaml", Some("secret\n"), "x: 1\n")]).unwrap_err();
    assert!(matches!(err, WriteError::Outside { .. }), "{err:?}");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "secret\n");

    write_all(&repo, &[change("link.yaml", Some("r: 1\n"), "r: 2\n")]).unwrap();
    assert!(repo.join("link.yaml").is_symlink());
    assert_eq!(
        std::fs::read_to_string(repo.join("data/real.txt")).unwrap(),
        "r: 2\n"
    );

    let err = write_all(
        &repo,
        &[
            change("data/real.txt", Some("r: 2\n"), "r: 3\n"),
            change("link.yaml", Some("r: 2\n"), "r: 4\n"),
        ],
    )
    .unwrap_err();
    assert!(matches!(err, WriteError::SameFile { .. }), "{err:?}");
    assert_eq!(
        std::fs::read_to_string(repo.join("data/real.txt")).unwrap(),
        "r: 2\n"
    );
}

#[test]
fn paths_that_leave_the_root_are_refused() {
    let dir = repo_with(&[("a.yaml", "a: 1\n", 0o644)]);
    for path in ["../a.yaml", "/etc/passwd", "", "a/../../b.yaml"] {
        let err = write_all(dir.path(), &[change(path, None, "x\n")]).unwrap_err();
        assert!(matches!(err, WriteError::Outside { .. }), "{path}: {err:?}");
    }
}
