use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;
use crate::propose::place::{linked, place};
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// Whether the entries below `dir` are exactly `want` (name, bytes or `<dir>`), modes aside.
fn assert_contents(dir: &Path, want: &[(&str, &str)]) {
    let got = snapshot(dir);
    let got: Vec<(&str, &str)> = got
        .iter()
        .map(|(n, c, _)| (n.as_str(), c.as_str()))
        .collect();
    assert_eq!(got, want);
}

/// The run stopped at `path`, put everything back and left no side file.
fn assert_rolled_back_cleanly(err: &WriteError, at: &str) {
    assert!(
        matches!(err, WriteError::RolledBack { path, leftovers, .. } if path == at && leftovers.is_empty()),
        "{err:?}"
    );
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
    let calls = AtomicUsize::new(0);
    let err = write_with(dir.path(), &files, &|s, hand| {
        calls.fetch_add(1, Ordering::Relaxed);
        if s.rel == "b/y.yaml" {
            return Err(std::io::Error::other("injected"));
        }
        place(s, hand)
    })
    .unwrap_err();
    assert_eq!(calls.into_inner(), 3, "the renames stop at the failing one");
    assert_rolled_back_cleanly(&err, "b/y.yaml");
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

/// Enough files in enough directories that every writer thread gets a part.
fn many(n: usize) -> (tempfile::TempDir, Vec<FileChange>) {
    let texts: Vec<(String, String)> = (0..n)
        .map(|i| (format!("d{}/f{i}.yaml", i % 7), format!("f: {i}\n")))
        .collect();
    let specs: Vec<(&str, &str, u32)> = texts
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str(), 0o644))
        .collect();
    let dir = repo_with(&specs);
    let mut files: Vec<FileChange> = texts
        .iter()
        .map(|(p, t)| change(p, Some(t), &format!("{t}g: 1\n")))
        .collect();
    files.push(change("d0/new.yaml", None, "n: 1\n"));
    (dir, files)
}

#[test]
fn a_failure_on_one_thread_puts_back_what_every_thread_placed() {
    let (dir, files) = many(300);
    let before = snapshot(dir.path());
    let failing = "d4/f200.yaml";
    let placed = AtomicUsize::new(0);
    let err = write_with(dir.path(), &files, &|s, hand| {
        if s.rel == failing {
            // Let the other threads place a good part of theirs first.
            while placed.load(Ordering::Relaxed) < 100 {
                std::thread::yield_now();
            }
            return Err(std::io::Error::other("injected"));
        }
        placed.fetch_add(1, Ordering::Relaxed);
        place(s, hand)
    })
    .unwrap_err();
    assert!(
        matches!(&err, WriteError::RolledBack { path, leftovers, .. } if path == failing && leftovers.is_empty()),
        "{err:?}"
    );
    assert!(placed.into_inner() >= 100);
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn many_files_are_written_on_every_thread_and_leave_no_side_files() {
    let (dir, files) = many(300);
    write_all(dir.path(), &files).unwrap();
    let after = snapshot(dir.path());
    let written: Vec<(String, String)> = after
        .into_iter()
        .filter(|(_, content, _)| content != "<dir>")
        .map(|(rel, content, _)| (rel, content))
        .collect();
    let mut wanted: Vec<(String, String)> = files
        .iter()
        .map(|f| (f.path.clone(), f.after.clone()))
        .collect();
    wanted.sort();
    assert_eq!(written, wanted);
}

#[test]
fn without_an_exchange_a_hard_linked_backup_does_the_same() {
    let dir = repo_with(&[("a/x.yaml", "x: 1\n", 0o640), ("b/y.yaml", "y: 1\n", 0o644)]);
    let before = snapshot(dir.path());
    let files = [
        change("a/x.yaml", Some("x: 1\n"), "x: 2\n"),
        change("a/new.yaml", None, "n: 1\n"),
        change("b/y.yaml", Some("y: 1\n"), "y: 2\n"),
    ];
    let err = write_with(dir.path(), &files, &|s, hand| {
        if s.rel == "b/y.yaml" {
            return Err(std::io::Error::other("injected"));
        }
        linked(s, hand)
    })
    .unwrap_err();
    assert!(matches!(err, WriteError::RolledBack { .. }), "{err:?}");
    assert_eq!(snapshot(dir.path()), before);

    write_with(dir.path(), &files, &linked).unwrap();
    let after = snapshot(dir.path());
    let names: Vec<&str> = after.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "a/new.yaml", "a/x.yaml", "b", "b/y.yaml"]);
    assert_eq!((after[2].1.as_str(), after[2].2 & 0o777), ("x: 2\n", 0o640));
    assert_eq!(after[4].1, "y: 2\n");
}

#[test]
fn a_target_that_becomes_a_directory_before_its_exchange_is_left_alone() {
    let dir = repo_with(&[("a/x.yaml", "x: 1\n", 0o644), ("b/y.yaml", "y: 1\n", 0o644)]);
    let files = [
        change("a/x.yaml", Some("x: 1\n"), "x: 2\n"),
        change("b/y.yaml", Some("y: 1\n"), "y: 2\n"),
    ];
    let target = dir.path().join("b/y.yaml");
    let err = write_with(dir.path(), &files, &|s, hand| {
        if s.rel == "b/y.yaml" {
            std::fs::remove_file(&target).unwrap();
            std::fs::create_dir(&target).unwrap();
            std::fs::write(target.join("inner"), "i\n").unwrap();
        }
        place(s, hand)
    })
    .unwrap_err();
    assert_rolled_back_cleanly(&err, "b/y.yaml");
    assert_contents(
        dir.path(),
        &[
            ("a", "<dir>"),
            ("a/x.yaml", "x: 1\n"),
            ("b", "<dir>"),
            ("b/y.yaml", "<dir>"),
            ("b/y.yaml/inner", "i\n"),
        ],
    );
}

fn inode(path: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap())
}

#[test]
fn a_replaced_file_carries_the_next_text_and_only_side_files_of_the_run_are_made() {
    let dir = repo_with(&[("a/x.yaml", "x: 1\n", 0o644), ("b/y.yaml", "y: 1\n", 0o600)]);
    let old_x = inode(&dir.path().join("a/x.yaml"));
    let files = [
        change("a/x.yaml", Some("x: 1\n"), "x: 2\n"),
        change("b/y.yaml", Some("y: 1\n"), "y: 2 # longer\n"),
    ];
    write_all(dir.path(), &files).unwrap();
    assert_eq!(inode(&dir.path().join("b/y.yaml")), old_x);
    let after = snapshot(dir.path());
    assert_eq!(
        after,
        [
            ("a".into(), "<dir>".into(), after[0].2),
            ("a/x.yaml".into(), "x: 2\n".into(), 0o100644),
            ("b".into(), "<dir>".into(), after[2].2),
            ("b/y.yaml".into(), "y: 2 # longer\n".into(), 0o100600),
        ]
    );
}

#[test]
fn a_file_that_changed_since_it_was_read_is_left_and_every_file_put_back() {
    let dir = repo_with(&[
        ("a/x.yaml", "x: 1\n", 0o644),
        ("b/y.yaml", "y: 1 # edited by hand\n", 0o644),
        ("c/z.yaml", "z: 1\n", 0o644),
    ]);
    let before = snapshot(dir.path());
    let files = [
        change("a/x.yaml", Some("x: 1\n"), "x: 2\n"),
        change("b/y.yaml", Some("y: 1\n"), "y: 2\n"),
        change("c/z.yaml", Some("z: 1\n"), "z: 2\n"),
    ];
    let err = write_all(dir.path(), &files).unwrap_err();
    assert_rolled_back_cleanly(&err, "b/y.yaml");
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert_eq!(
        cause,
        "it changed since the repository was read (run again)"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_file_removed_or_added_since_the_run_read_the_repository_stops_it_first() {
    let dir = repo_with(&[("a/x.yaml", "x: 1\n", 0o644), ("b/y.yaml", "y: 1\n", 0o644)]);
    let before = snapshot(dir.path());
    let cases = [
        (
            change("gone.yaml", Some("g: 1\n"), "g: 2\n"),
            "refusing to write gone.yaml: it was removed since the repository was read (run again)",
        ),
        (
            change("b/y.yaml", None, "y: 5\n"),
            "refusing to write b/y.yaml: a file appeared at its name since the repository was read (run again)",
        ),
    ];
    for (bad, message) in cases {
        let files = [change("a/x.yaml", Some("x: 1\n"), "x: 2\n"), bad];
        let err = write_all(dir.path(), &files).unwrap_err();
        assert_eq!(err.to_string(), message);
        assert_eq!(snapshot(dir.path()), before);
    }
}

#[test]
fn a_new_file_whose_name_is_taken_before_its_rename_is_not_overwritten() {
    let dir = repo_with(&[("a/x.yaml", "x: 1\n", 0o644)]);
    let files = [
        change("a/x.yaml", Some("x: 1\n"), "x: 2\n"),
        change("a/new.yaml", None, "n: 1\n"),
    ];
    let squatter = dir.path().join("a/new.yaml");
    let err = write_with(dir.path(), &files, &|s, hand| {
        if s.rel == "a/new.yaml" {
            std::fs::write(&squatter, "mine\n").unwrap();
        }
        place(s, hand)
    })
    .unwrap_err();
    assert_rolled_back_cleanly(&err, "a/new.yaml");
    assert_contents(
        dir.path(),
        &[
            ("a", "<dir>"),
            ("a/new.yaml", "mine\n"),
            ("a/x.yaml", "x: 1\n"),
        ],
    );
}

#[test]
fn a_hard_linked_file_is_replaced_but_its_inode_never_reused() {
    let dir = repo_with(&[("a/x.yaml", "x: 1\n", 0o644), ("b/y.yaml", "y: 1\n", 0o644)]);
    std::fs::hard_link(dir.path().join("a/x.yaml"), dir.path().join("other.txt")).unwrap();
    let files = [
        change("a/x.yaml", Some("x: 1\n"), "x: 2\n"),
        change("b/y.yaml", Some("y: 1\n"), "y: 2\n"),
    ];
    write_all(dir.path(), &files).unwrap();
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
    assert_eq!(
        read("other.txt"),
        "x: 1\n",
        "the other name keeps its bytes"
    );
    assert_eq!(read("a/x.yaml"), "x: 2\n");
    assert_eq!(read("b/y.yaml"), "y: 2\n");
    let names: Vec<String> = snapshot(dir.path())
        .into_iter()
        .map(|(n, _, _)| n)
        .collect();
    assert_eq!(names, ["a", "a/x.yaml", "b", "b/y.yaml", "other.txt"]);
}

#[test]
fn a_read_only_file_keeps_its_mode_and_the_files_after_it_are_written() {
    let dir = repo_with(&[
        ("a/x.yaml", "x: 1\n", 0o444),
        ("b/y.yaml", "y: 1\n", 0o644),
        ("c/z.yaml", "z: 1\n", 0o640),
    ]);
    let files = [
        change("a/x.yaml", Some("x: 1\n"), "x: 2\n"),
        change("b/y.yaml", Some("y: 1\n"), "y: 2\n"),
        change("c/z.yaml", Some("z: 1\n"), "z: 2\n"),
    ];
    write_all(dir.path(), &files).unwrap();
    let got: Vec<(String, String, u32)> = snapshot(dir.path())
        .into_iter()
        .filter(|(_, c, _)| c != "<dir>")
        .collect();
    assert_eq!(
        got,
        [
            ("a/x.yaml".into(), "x: 2\n".into(), 0o100444),
            ("b/y.yaml".into(), "y: 2\n".into(), 0o100644),
            ("c/z.yaml".into(), "z: 2\n".into(), 0o100640),
        ]
    );
}
