//! What a sync reads of a repository (`pr::read_needed`): the owner's path, what its
//! kustomizations reference and the roots sharing it — not a large unrelated directory — and
//! never more than the byte budget, which fails with an error that says how to raise it.

use std::collections::BTreeSet;
use std::path::Path;

use attune::git::{GitError, TreeFile, Workspace};
use attune::pr::read_needed;

/// Commits `files` on `main` of a new repository at `dir` with the git command line.
fn commit(dir: &Path, files: &[(String, String)]) {
    for (rel, text) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(["-c", "init.defaultBranch=main"])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "fixture"]);
}

fn deployment(name: &str, padding: usize) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\n# {}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        resources: {{requests: {{cpu: 500m}}}}\n",
        "x".repeat(padding)
    )
}

fn fixture() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = [
        (
            "apps/base/kustomization.yaml",
            "resources: [deploy.yaml]\n".to_owned(),
        ),
        ("apps/base/deploy.yaml", deployment("api", 0)),
        (
            "apps/prod/kustomization.yaml",
            "namespace: production\nresources: [../base]\npatches: [{path: cpu.yaml}]\n".to_owned(),
        ),
        (
            "apps/prod/cpu.yaml",
            "kind: Deployment\nmetadata: {name: api}\n".to_owned(),
        ),
        (
            "apps/staging/kustomization.yaml",
            "namespace: staging\nresources: [../base, extra.yaml]\n".to_owned(),
        ),
        ("apps/staging/extra.yaml", deployment("extra", 0)),
        (
            "monolith/kustomization.yaml",
            "resources: [a0.yaml]\n".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(p, t)| (p.to_owned(), t))
    .collect();
    // 4 MiB of workloads that have nothing to do with apps/prod.
    for i in 0..64 {
        files.push((
            format!("monolith/a{i}.yaml"),
            deployment(&format!("m{i}"), 64 * 1024),
        ));
    }
    files
}

struct Checkout {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    ws: Workspace,
    base: git2::Oid,
}

fn checkout() -> Checkout {
    let origin = tempfile::tempdir().unwrap();
    commit(origin.path(), &fixture());
    let cache = tempfile::tempdir().unwrap();
    let url = format!("file://{}", origin.path().display());
    let ws = Workspace::open(cache.path(), &url, None).unwrap();
    ws.fetch(&["main"], None).unwrap();
    let base = ws.fetched("main").unwrap();
    Checkout {
        _dirs: (origin, cache),
        ws,
        base,
    }
}

fn paths(files: &[TreeFile]) -> BTreeSet<String> {
    files
        .iter()
        .map(|f| match f {
            TreeFile::Text { path, .. } | TreeFile::Skipped { path, .. } => path.clone(),
        })
        .collect()
}

#[test]
fn a_sync_reads_its_path_what_it_references_and_the_roots_sharing_it_only() {
    let c = checkout();
    let files = read_needed(&c.ws, c.base, &["apps/prod".to_owned()], 1024 * 1024).unwrap();
    let expected: BTreeSet<String> = [
        "apps/base/deploy.yaml",
        "apps/base/kustomization.yaml",
        "apps/prod/cpu.yaml",
        "apps/prod/kustomization.yaml",
        // Shares apps/base, so the engine sees that the base is not prod's alone.
        "apps/staging/kustomization.yaml",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(paths(&files), expected);
    let bytes: usize = files
        .iter()
        .map(|f| match f {
            TreeFile::Text { text, .. } => text.len(),
            TreeFile::Skipped { .. } => 0,
        })
        .sum();
    assert!(bytes < 2_000, "{bytes} bytes read");
}

#[test]
fn the_budget_stops_the_read_with_an_error_that_says_how_to_raise_it() {
    let c = checkout();
    let err = read_needed(&c.ws, c.base, &[String::new()], 1024 * 1024).unwrap_err();
    assert!(
        matches!(
            err,
            GitError::ReadBudget {
                budget: 1_048_576,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with("the files needed under . exceed the read budget of 1048576 bytes"),
        "{message}"
    );
    assert!(
        message.contains("--repo-read-budget (ATTUNE_REPO_READ_BUDGET"),
        "{message}"
    );
    // The whole repository fits a budget raised past its size.
    let all = read_needed(&c.ws, c.base, &[String::new()], 8 * 1024 * 1024).unwrap();
    assert_eq!(all.len(), fixture().len());
}

#[test]
fn budgets_are_written_as_quantities() {
    assert_eq!(attune::quantity::parse_bytes("16Mi"), Ok(16 * 1024 * 1024));
    assert_eq!(attune::quantity::parse_bytes("1000000"), Ok(1_000_000));
    let err = attune::quantity::parse_bytes("lots").unwrap_err();
    assert!(err.contains("write a size like 16Mi"), "{err}");
    assert!(attune::quantity::parse_bytes("0").is_err());
}
