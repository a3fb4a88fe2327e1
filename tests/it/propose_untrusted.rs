//! What a hostile repository can plant for `attune propose --write`: symlinks at the names the
//! writer uses, FIFOs under YAML names, a directory whose renames fail half-way. Nothing
//! outside the repository changes, nothing hangs, and a failed write leaves every file as it was.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use attune::propose::FileChange;
use attune::propose::write::{WriteError, write_all};

const POLICY_WITHOUT_SPEC: &str = "apiVersion: attune.io/v1alpha1
kind: AttunePolicy
metadata: {name: api, namespace: production}
status:
  recommendations:
  - workload: api
    kind: Deployment
    containers:
    - name: app
      recommended: {cpuRequest: 250m, memoryRequest: 300Mi}
";

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: production
spec:
  template:
    spec:
      containers:
      - name: app
        resources:
          requests:
            cpu: 500m
            memory: 512Mi
";

struct World {
    dir: tempfile::TempDir,
    repo: PathBuf,
}

fn world(files: &[(&str, &str)]) -> World {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policies.yaml"), POLICY_WITHOUT_SPEC).unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    for (rel, text) in files {
        let path = repo.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    World { dir, repo }
}

impl World {
    fn propose(&self, extra: &[&str]) -> (Option<i32>, String) {
        let out = Command::cargo_bin("attune")
            .unwrap()
            .args(["propose", "--policies"])
            .arg(self.dir.path().join("policies.yaml"))
            .arg("--repo")
            .arg(&self.repo)
            .args(extra)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// A file outside the repository with a mode no edit would give it.
    fn outside(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, "precious\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }
}

fn bytes_and_mode(path: &Path) -> (Vec<u8>, u32) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    (std::fs::read(path).unwrap(), meta.permissions().mode())
}

#[test]
fn a_symlink_at_the_old_temporary_name_is_never_written_through() {
    let w = world(&[("api.yaml", DEPLOYMENT)]);
    std::fs::set_permissions(
        w.repo.join("api.yaml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let outside = w.outside("victim");
    let before = bytes_and_mode(&outside);
    std::os::unix::fs::symlink(&outside, w.repo.join(".api.yaml.attune-tmp")).unwrap();

    let (code, err) = w.propose(&["--write"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(bytes_and_mode(&outside), before, "the outside file changed");
    let edited = std::fs::read_to_string(w.repo.join("api.yaml")).unwrap();
    assert!(edited.contains("cpu: 250m"), "{edited}");
    assert_eq!(
        std::fs::read_link(w.repo.join(".api.yaml.attune-tmp")).unwrap(),
        outside
    );
    let names: Vec<String> = std::fs::read_dir(&w.repo)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "side files left behind: {names:?}");
}

#[test]
fn a_symlink_at_the_target_that_leaves_the_repository_is_refused() {
    // The reader never plans an edit through such a link; a link that appears between the
    // read and the write reaches the writer, which must refuse it too.
    let w = world(&[]);
    let outside = w.outside("victim");
    let before = bytes_and_mode(&outside);
    std::os::unix::fs::symlink(&outside, w.repo.join("api.yaml")).unwrap();
    let change = FileChange {
        path: "api.yaml".into(),
        before: Some("precious\n".into()),
        after: "kind: Deployment\n".into(),
    };
    let err = write_all(&w.repo, &[change]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "refusing to write api.yaml: it is not inside the repository"
    );
    assert_eq!(bytes_and_mode(&outside), before);
}

#[test]
fn a_fifo_named_yaml_is_reported_not_read() {
    let w = world(&[("apps/api.yaml", DEPLOYMENT)]);
    let fifo = w.repo.join("apps/pipe.yaml");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system node.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);

    let started = std::time::Instant::now();
    let (code, err) = w.propose(&["--write"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("notice: apps/pipe.yaml: a FIFO, not a regular file; skipped"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    let edited = std::fs::read_to_string(w.repo.join("apps/api.yaml")).unwrap();
    assert!(edited.contains("cpu: 250m"), "{edited}");
}

/// Runs `chattr` on `path`; false when the file system or the user cannot (not root, tmpfs).
fn chattr(flag: &str, path: &Path) -> bool {
    std::process::Command::new("chattr")
        .arg(flag)
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_rename_that_fails_half_way_puts_every_file_back() {
    // In an append-only directory (chattr +a) new names can be created, but no name may be
    // replaced or removed: the new file's rename fails for real, and so does removing its
    // temporary, after the first file was already replaced.
    let w = world(&[
        ("a/x.yaml", "x: 1\n"),
        ("b/y.yaml", "y: 1\n"),
        ("c/z.yaml", "z: 1\n"),
    ]);
    std::fs::set_permissions(
        w.repo.join("a/x.yaml"),
        std::fs::Permissions::from_mode(0o751),
    )
    .unwrap();
    let files = ["a/x.yaml", "b/y.yaml", "c/z.yaml"];
    let before: Vec<_> = files
        .iter()
        .map(|f| bytes_and_mode(&w.repo.join(f)))
        .collect();
    let change = |path: &str, before: Option<&str>| FileChange {
        path: path.into(),
        before: before.map(str::to_owned),
        after: "changed: true\n".into(),
    };
    let changes = [
        change("a/x.yaml", Some("x: 1\n")),
        change("b/new.yaml", None),
        change("c/z.yaml", Some("z: 1\n")),
    ];
    let append_only = w.repo.join("b");
    if !chattr("+a", &append_only) {
        eprintln!("skipped: chattr +a is not available here (needs root and ext4/xfs/btrfs)");
        return;
    }
    let result = write_all(&w.repo, &changes);
    assert!(chattr("-a", &append_only));

    let Err(WriteError::RolledBack {
        path, leftovers, ..
    }) = &result
    else {
        panic!("expected a rolled-back write, got {result:?}");
    };
    assert_eq!(path, "b/new.yaml");
    let after: Vec<_> = files
        .iter()
        .map(|f| bytes_and_mode(&w.repo.join(f)))
        .collect();
    assert_eq!(after, before, "a file differs after the rollback");
    // The append-only directory keeps the temporary it refused to remove, and the error says
    // which; nothing else is left anywhere.
    let mut extra: Vec<String> = Vec::new();
    for d in ["a", "b", "c"] {
        for e in std::fs::read_dir(w.repo.join(d)).unwrap() {
            let name = format!("{d}/{}", e.unwrap().file_name().to_string_lossy());
            if !files.contains(&name.as_str()) {
                extra.push(name);
            }
        }
    }
    assert_eq!(&extra, leftovers);
    assert!(
        extra.len() == 1 && extra[0].starts_with("b/.new.yaml."),
        "{extra:?}"
    );
    assert!(
        result
            .unwrap_err()
            .to_string()
            .contains("need a look: b/.new.yaml."),
        "the error names the leftovers"
    );
}

#[test]
fn a_policy_with_only_metadata_and_recommendations_drives_edits() {
    let w = world(&[("api.yaml", DEPLOYMENT)]);
    let (code, err) = w.propose(&["--write"]);
    assert_eq!(code, Some(0), "{err}");
    let edited = std::fs::read_to_string(w.repo.join("api.yaml")).unwrap();
    assert!(
        edited.contains("cpu: 250m") && edited.contains("memory: 300Mi"),
        "{edited}"
    );
}
