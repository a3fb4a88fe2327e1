//! `attune propose --discover --open-pr` against a real Gitea: an app-of-apps repository is
//! pushed, and the pull requests carry exactly the edits `propose --discover --repo --write`
//! makes on a checkout of the same commit (byte for byte, every file), discovery's problems are
//! reported, a second run is `unchanged` (no new commit, no second pull request), and a dry run
//! before it writes nothing. Two repositories: `fixtures/discover/argocd-app-of-apps` (Kustomize
//! overlays with a new patch file, a chart with markers, an Application of another repository)
//! and `fixtures/repos/helm-trace-argo-inline-values` (charts without markers traced with the
//! real `helm`, inline `helm.valuesObject`/`helm.values` edited in the Applications' files).
//! Needs the Gitea and helm that `tests/run` starts and builds. The dry run is also checked at
//! the GitHub fake over real smart HTTP, which records every API call: reads only, no push.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::support::git_http::{GitServer, TOKEN, files_of, git};
use crate::support::gitea_repo::Gitea;
use crate::support::github_fake::GitHubFake;
use serde_json::Value;

/// The URL the fixtures' Applications name as this repository.
const FIXTURE_URL: &str = "https://git.example.com/team/gitops.git";

struct Case {
    /// The repository's files, by path from its root.
    repo: &'static str,
    policies: &'static str,
    /// Lines stderr must hold (discovery's report of the repository).
    stderr: &'static [&'static str],
    /// Kinds of `discovery.problems` in the JSON result.
    discovery_problems: &'static [&'static str],
    /// The files the edits touch (as the case's goldens have them).
    files: &'static [&'static str],
    /// What some pull request's body says of where a value was written.
    body: &'static str,
}

impl Case {
    /// Every discovery line of the case is on `stderr`.
    fn assert_reported(&self, stderr: &str) {
        for line in self.stderr {
            assert!(stderr.contains(line), "{}: {line}\n{stderr}", self.repo);
        }
    }
}

const CASES: [Case; 2] = [
    Case {
        repo: "fixtures/discover/argocd-app-of-apps/repo",
        policies: "fixtures/discover/argocd-app-of-apps/policies.yaml",
        stderr: &[
            "attune: discovered ",
            "discovery problem: argocd/apps/shop.yaml: argo cd application argocd/upstream: it deploys from https://github.com/other/charts.git, not this repository",
        ],
        discovery_problems: &["other-repository"],
        files: &[
            "apps/shop/overlays/prod/attune-deployment-api.yaml",
            "apps/shop/overlays/prod/kustomization.yaml",
            "charts/web/values-production.yaml",
        ],
        body: "a patch in the overlay, because the base is shared",
    },
    Case {
        repo: "fixtures/repos/helm-trace-argo-inline-values/original",
        policies: "fixtures/repos/helm-trace-argo-inline-values/policies.yaml",
        stderr: &["attune: discovered 2 application(s), 0 discovery problem(s)"],
        discovery_problems: &[],
        files: &[
            "apps/api.yaml",
            "apps/web.yaml",
            "charts/shop/values-production.yaml",
        ],
        body: "the Helm values key that feeds this value",
    },
];

struct Run {
    code: i32,
    /// One JSON result per branch.
    results: Vec<Value>,
    stdout: String,
    stderr: String,
}

fn open_pr(g: &Gitea, repo: &str, policies: &str, cache: &Path, extra: &[&str]) -> Run {
    let flags: Vec<&str> = ["--discover", "--pr-hourly-limit", "0"]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    let (code, stdout, stderr) = g.open_pr(repo, Path::new(policies), cache, &flags);
    Run {
        code,
        results: stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v.get("action").is_some())
            .collect(),
        stdout,
        stderr,
    }
}

/// `propose --discover --repo DIR --write` on a checkout; returns the files it changed or added.
fn write_locally(dir: &Path, policies: &str, this_repo: &str) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_attune"))
        .args(["propose", "--discover", "--write", "--policies", policies])
        .arg("--repo")
        .arg(dir)
        .args(["--repo-url", this_repo])
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c < 2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    git(
        dir,
        &["ls-files", "--modified", "--others", "--exclude-standard"],
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

/// The tip of each remote branch, by name.
fn heads(url: &str) -> Vec<(String, String)> {
    let tmp = tempfile::tempdir().unwrap();
    git(tmp.path(), &["ls-remote", "--heads", url])
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(sha, r)| (r.trim_start_matches("refs/heads/").to_owned(), sha.into()))
        .collect()
}

/// The case's files, with its Applications naming `this_repo` as their repository.
fn seed(case: &Case, this_repo: &str) -> Vec<(String, String)> {
    files_of(Path::new(case.repo))
        .into_iter()
        .map(|(p, t)| (p, t.replace(FIXTURE_URL, this_repo)))
        .collect()
}

#[tokio::test]
async fn discovered_pull_requests_carry_exactly_the_checkouts_edits() {
    std::env::var("ATTUNE_HELM").expect("ATTUNE_HELM: run through tests/run");
    let g = Gitea::from_env();
    for (i, case) in CASES.iter().enumerate() {
        let repo = format!("discover-{}-{i}", std::process::id());
        let this_repo = g.clone_url(&repo);
        let files = seed(case, &this_repo);
        let seeded: Vec<(&str, String)> =
            files.iter().map(|(p, t)| (p.as_str(), t.clone())).collect();
        g.create_repo(&repo, &seeded).await;
        check_case(&g, case, &repo).await;
    }
}

async fn check_case(g: &Gitea, case: &Case, repo: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let auth = g.auth_url(repo);

    // A dry run: the plan, discovery's report and the diff, and nothing written.
    let dry = open_pr(g, repo, case.policies, &cache, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}: {}", case.repo, dry.stderr);
    assert!(!dry.results.is_empty(), "{}", dry.stdout);
    for r in &dry.results {
        assert_eq!(r["action"], "created", "{r}");
        assert!(r["reason"].as_str().unwrap().starts_with("dry run"), "{r}");
    }
    assert!(dry.stdout.contains("+++ b/"), "the diff: {}", dry.stdout);
    case.assert_reported(&dry.stderr);
    assert_eq!(heads(&auth).len(), 1, "a dry run pushes no branch");
    assert!(g.pulls(repo).await.is_empty(), "a dry run opens nothing");

    // The real run: one pull request per branch.
    let run = open_pr(g, repo, case.policies, &cache, &[]);
    assert_eq!(run.code, 0, "{}: {}", case.repo, run.stderr);
    case.assert_reported(&run.stderr);
    let branches: Vec<String> = run
        .results
        .iter()
        .map(|r| r["branch"].as_str().unwrap().to_owned())
        .collect();
    for r in &run.results {
        assert_eq!(r["action"], "created", "{r}\n{}", run.stderr);
        let kinds: Vec<&str> = r["discovery"]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, case.discovery_problems, "{r}");
        assert_eq!(r["problems"], Value::Array(Vec::new()), "{r}");
    }
    let pulls = g.pulls(repo).await;
    for b in &branches {
        let of_branch = pulls.iter().filter(|p| p["head"]["ref"] == b.as_str());
        assert_eq!(of_branch.count(), 1, "{b}: {pulls:?}");
    }
    assert!(
        pulls
            .iter()
            .any(|p| p["body"].as_str().unwrap_or("").contains(case.body)),
        "{}: {pulls:?}",
        case.repo
    );

    // What the checkout of the same commit gets from `propose --discover --repo --write`.
    let work = tmp.path().join("work");
    git(tmp.path(), &["clone", "-q", &auth, work.to_str().unwrap()]);
    let written = write_locally(&work, case.policies, &g.clone_url(repo));
    let expected: BTreeSet<String> = case.files.iter().map(|f| (*f).to_owned()).collect();
    assert_eq!(written, expected, "{}: the checkout's edits", case.repo);
    let mut carried = BTreeSet::new();
    for b in &branches {
        let changed = git(
            &work,
            &["diff", "--name-only", "main", &format!("origin/{b}")],
        );
        for path in changed.lines() {
            let blob = git(&work, &["rev-parse", &format!("origin/{b}:{path}")]);
            let local_blob = git(&work, &["hash-object", path]);
            assert_eq!(blob, local_blob, "{}: {b}: {path} byte for byte", case.repo);
            assert!(carried.insert(path.to_owned()), "{path} is in two branches");
        }
    }
    assert_eq!(carried, written, "{}: the pull requests' files", case.repo);

    // Nothing new: no commit, no second pull request.
    let before = heads(&auth);
    let again = open_pr(g, repo, case.policies, &cache, &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    for r in &again.results {
        assert_eq!(r["action"], "unchanged", "{r}\n{}", again.stderr);
    }
    assert_eq!(heads(&auth), before, "a second run pushes nothing");
    assert_eq!(g.pulls(repo).await.len(), pulls.len());
}

#[test]
fn a_discovering_dry_run_on_github_makes_no_write_call() {
    let case = &CASES[0];
    let server = GitServer::start();
    server.add_user("x-access-token", TOKEN);
    // owner/name, as a forge URL has it: a URL without an owner names no repository to
    // compare the Applications' repoURL with.
    let url = server.url("acme/gitops");
    let tmp = tempfile::tempdir().unwrap();
    let files = tmp.path().join("files");
    for (path, text) in seed(case, &url) {
        let file = files.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    server.create_repo("acme/gitops", &files, 0);
    let fake = GitHubFake::start(TOKEN);
    fake.link_git("acme/gitops", &server.bare("acme/gitops"));
    let out = Command::new(env!("CARGO_BIN_EXE_attune"))
        .args(["propose", "--discover", "--open-pr", "--dry-run"])
        .args(["--policies", case.policies, "--repository", "acme/gitops"])
        .args(["--repo-url", &url, "--api-url", fake.base.as_str()])
        .arg("--cache-dir")
        .arg(tmp.path().join("cache"))
        .env("ATTUNE_GIT_TOKEN", TOKEN)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    case.assert_reported(&stderr);
    assert!(
        stdout.contains("+++ b/apps/shop/overlays/prod/attune-deployment-api.yaml"),
        "{stdout}"
    );
    assert!(
        stderr.contains("plan for attune/prod/api: created"),
        "{stderr}"
    );
    let requests = fake.requests();
    assert!(!requests.is_empty());
    assert!(requests.iter().all(|r| r.method == "GET"), "{requests:?}");
    assert!(server.tip("acme/gitops", "main").is_some());
    assert_eq!(server.tip("acme/gitops", "attune/prod/api"), None);
    assert_eq!(server.tip("acme/gitops", "attune/web/web"), None);
}
