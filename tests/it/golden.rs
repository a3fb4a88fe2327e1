//! Golden cases: `fixtures/repos/<case>/{original,expected}` with the policies that drive them.
//! Each case is run four ways: the printed diff applied with `git apply` must produce
//! `expected/`; `--write` must produce it byte for byte; a second `--write` must change nothing;
//! `--output json` must report the same changes and problems.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

#[derive(serde::Deserialize, Default)]
struct Case {
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    exit: i32,
    #[serde(default)]
    problems: Vec<String>,
}

fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    for (rel, bytes) in tree(from) {
        let dest = to.join(&rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, bytes).unwrap();
    }
}

fn assert_same_tree(case: &str, how: &str, actual: &Path, expected: &Path) {
    let (a, e) = (tree(actual), tree(expected));
    let mut report = String::new();
    for (rel, bytes) in &e {
        match a.get(rel) {
            None => report.push_str(&format!("  missing {rel}\n")),
            Some(got) if got != bytes => report.push_str(&format!(
                "  differs {rel}\n--- expected\n{}\n--- actual\n{}\n",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(got)
            )),
            Some(_) => {}
        }
    }
    for rel in a.keys().filter(|r| !e.contains_key(*r)) {
        report.push_str(&format!("  unexpected {rel}\n"));
    }
    assert!(report.is_empty(), "case {case} ({how}):\n{report}");
}

fn propose(case_dir: &Path, repo: &Path, case: &Case, extra: &[&str]) -> Output {
    Command::cargo_bin("attune")
        .unwrap()
        .arg("propose")
        .arg("--policies")
        .arg(case_dir.join("policies.yaml"))
        .arg("--repo")
        .arg(repo)
        .args(&case.args)
        .args(extra)
        .output()
        .unwrap()
}

fn run_case(case_dir: &Path) {
    let name = case_dir.file_name().unwrap().to_string_lossy().into_owned();
    let case: Case = match std::fs::read_to_string(case_dir.join("case.yaml")) {
        Ok(text) => serde_saphyr::from_str(&text).unwrap(),
        Err(_) => Case::default(),
    };
    let expected = case_dir.join("expected");

    // 1. The printed diff, applied by git, gives the expected tree.
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    copy_tree(&case_dir.join("original"), &repo);
    let out = propose(case_dir, &repo, &case, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(case.exit),
        "case {name}: exit code; stderr:\n{stderr}"
    );
    for p in &case.problems {
        assert!(
            stderr.contains(p.as_str()),
            "case {name}: stderr lacks {p:?}:\n{stderr}"
        );
    }
    assert_same_tree(
        &name,
        "dry run leaves the repo alone",
        &repo,
        &case_dir.join("original"),
    );
    if !out.stdout.is_empty() {
        let patch = work.path().join("change.diff");
        std::fs::write(&patch, &out.stdout).unwrap();
        let applied = std::process::Command::new("git")
            .args(["apply", "--whitespace=nowarn"])
            .arg(&patch)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(
            applied.status.success(),
            "case {name}: git apply rejected the diff: {}\n{}",
            String::from_utf8_lossy(&applied.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert_same_tree(&name, "git apply of the printed diff", &repo, &expected);

    // 2. --write gives the expected tree, byte for byte.
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    copy_tree(&case_dir.join("original"), &repo);
    let out = propose(case_dir, &repo, &case, &["--write"]);
    assert_eq!(
        out.status.code(),
        Some(case.exit),
        "case {name}: --write exit code"
    );
    assert_same_tree(&name, "--write", &repo, &expected);

    // 3. Idempotent: a second run finds nothing to change.
    let out = propose(case_dir, &repo, &case, &["--write"]);
    assert_eq!(
        out.status.code(),
        Some(case.exit),
        "case {name}: second run exit code"
    );
    assert!(
        out.stdout.is_empty(),
        "case {name}: second run printed {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_same_tree(&name, "second --write", &repo, &expected);

    // 4. JSON names the same files and the problems.
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    copy_tree(&case_dir.join("original"), &repo);
    let out = propose(case_dir, &repo, &case, &["--output", "json"]);
    assert_eq!(
        out.status.code(),
        Some(case.exit),
        "case {name}: json exit code"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let changed: std::collections::BTreeSet<String> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["file"].as_str().unwrap().to_owned())
        .collect();
    let (orig, exp) = (tree(&case_dir.join("original")), tree(&expected));
    for file in &changed {
        assert!(
            orig.get(file) != exp.get(file),
            "case {name}: json names {file}, which does not change"
        );
    }
    for c in report["changes"].as_array().unwrap() {
        for key in [
            "policy",
            "namespace",
            "kind",
            "workload",
            "container",
            "field",
            "file",
            "to",
        ] {
            assert!(c[key].is_string(), "case {name}: change lacks {key}: {c}");
        }
    }
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(
        problems.is_empty(),
        case.exit == 0,
        "case {name}: problems {problems:?}"
    );
    for p in &case.problems {
        assert!(
            problems
                .iter()
                .any(|x| x["reason"].as_str().unwrap().contains(p.as_str())),
            "case {name}: json problems lack {p:?}"
        );
    }
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/repos");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn golden_cases() {
    let dirs = cases();
    assert!(
        dirs.len() >= 25,
        "expected at least 25 golden cases, found {}",
        dirs.len()
    );
    let mut failures = Vec::new();
    for dir in &dirs {
        let result = std::panic::catch_unwind(|| run_case(dir));
        if let Err(e) = result {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()));
            failures.push(msg.unwrap_or_else(|| format!("{} panicked", dir.display())));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n\n")
    );
}
