//! `attune propose --open-pr --forge github` end to end: git over real smart HTTP (lighttpd +
//! git http-backend) and the GitHub API played by a stateful fake that speaks GitHub's REST
//! shapes and sees the git server's branches. Counts API calls per run and injects 502s, rate
//! limits and answers lost after GitHub acted.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::git_http::{GitServer, TOKEN};
use crate::support::github_fake::{AfterFault, Fault, GitHubFake};
use axum::http::Method;
use serde_json::Value;

const REPO: &str = "acme/gitops";

struct World {
    server: GitServer,
    fake: GitHubFake,
    tmp: tempfile::TempDir,
}

fn world() -> World {
    let server = GitServer::start();
    server.create_repo("gitops", Path::new("fixtures/demo/repo"), 2);
    // GitHub's git user for token pushes.
    server.add_user("x-access-token", TOKEN);
    let fake = GitHubFake::start(TOKEN);
    fake.link_git(REPO, &server.bare("gitops"));
    World {
        server,
        fake,
        tmp: tempfile::tempdir().unwrap(),
    }
}

fn policies(w: &World, cpu: &str) -> PathBuf {
    let text = std::fs::read_to_string("fixtures/demo/policies.yaml").unwrap();
    let text = text.replacen("cpuRequest: 250m", &format!("cpuRequest: {cpu}"), 1);
    let path = w.tmp.path().join(format!("policies-{cpu}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `attune propose --open-pr` at the fake for `repository`, with the policies asking `cpu`.
fn open_pr(w: &World, repository: &str, cpu: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_attune"));
    cmd.args(["propose", "--open-pr"])
        .arg("--policies")
        .arg(policies(w, cpu))
        .args(["--repository", repository])
        .args(["--repo-url", &w.server.url("gitops")])
        .args(["--api-url", w.fake.base.as_str()])
        .arg("--cache-dir")
        .arg(w.tmp.path().join("cache"))
        .env("ATTUNE_GIT_TOKEN", TOKEN);
    cmd
}

fn propose(w: &World, cpu: &str, extra: &[&str]) -> (i32, Value, String) {
    let out = open_pr(w, REPO, cpu)
        .args(["--output", "json"])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
        "token leaked: {stderr}"
    );
    let json = serde_json::from_str(stdout.lines().last().unwrap_or("null")).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

#[test]
fn api_economy_open_update_and_nothing_to_do() {
    let w = world();
    let (code, json, err) = propose(&w, "250m", &["--label", "attune", "--reviewer", "alice"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["action"], "created", "{err}");
    let reqs = w.fake.requests();
    // find + limits + create + labels + reviewers.
    assert_eq!(reqs.len(), 5, "{reqs:?}");
    let pr = w.fake.pr(REPO, 1);
    assert_eq!(pr.labels, vec!["attune".to_owned()]);
    assert_eq!(pr.reviewers, vec!["alice".to_owned()]);
    assert_eq!(pr.head, "attune/production/api");
    assert!(pr.body.contains("**250m**"));
    assert!(
        w.server
            .show(
                "gitops",
                "attune/production/api",
                "overlays/production/attune-deployment-api.yaml"
            )
            .contains("cpu: 250m")
    );

    w.fake.clear_requests();
    let (_, json, err) = propose(&w, "250m", &["--label", "attune"]);
    assert_eq!(json["action"], "unchanged", "{err}");
    assert_eq!(w.fake.requests().len(), 1, "nothing to change is one read");

    w.fake.clear_requests();
    let (_, json, err) = propose(&w, "200m", &["--label", "attune"]);
    assert_eq!(json["action"], "updated", "{err}");
    assert_eq!(json["number"], 1);
    assert_eq!(w.fake.requests().len(), 2, "updating is find + edit");
    assert!(w.fake.pr(REPO, 1).body.contains("**200m**"));
    assert_eq!(w.fake.prs(REPO).len(), 1);
}

#[test]
fn a_502_is_retried_and_the_run_still_ends_with_one_pr() {
    let w = world();
    w.fake
        .fail_next(Method::POST, "/pulls", 2, Fault::BadGateway);
    let (code, json, err) = propose(&w, "250m", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["action"], "created", "{err}");
    assert_eq!(w.fake.prs(REPO).len(), 1);
}

#[test]
fn a_rate_limit_far_away_fails_fast_with_exit_3_and_a_rerun_recovers() {
    let w = world();
    w.fake.fail_next(
        Method::POST,
        "/pulls",
        1,
        Fault::PrimaryLimit {
            reset_in_secs: 3600,
        },
    );
    let (code, _, err) = propose(&w, "250m", &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("rate limited"), "{err}");
    // The push happened before the forge refused: the rerun reuses the bot commit.
    let tip = w.server.tip("gitops", "attune/production/api");
    assert!(tip.is_some());
    let (code, json, err) = propose(&w, "250m", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["action"], "created");
    assert_eq!(w.server.tip("gitops", "attune/production/api"), tip);
    assert_eq!(w.fake.prs(REPO).len(), 1);
}

#[test]
fn a_near_reset_is_waited_out() {
    let w = world();
    w.fake.fail_next(
        Method::GET,
        "/pulls",
        1,
        Fault::PrimaryLimit { reset_in_secs: 1 },
    );
    let (code, json, err) = propose(&w, "250m", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["action"], "created");
}

#[test]
fn dry_run_makes_no_write_call() {
    let w = world();
    let out = open_pr(&w, REPO, "250m").arg("--dry-run").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("+++ b/overlays/production/attune-deployment-api.yaml"),
        "{stdout}"
    );
    assert!(
        stdout.lines().last().unwrap().starts_with("created"),
        "{stdout}"
    );
    assert!(stderr.contains("**250m**"), "the body is printed: {stderr}");
    assert!(
        w.fake.requests().iter().all(|r| r.method == "GET"),
        "{:?}",
        w.fake.requests()
    );
    assert_eq!(w.server.tip("gitops", "attune/production/api"), None);
}

#[test]
fn a_create_whose_answer_is_lost_still_ends_with_one_pr() {
    let w = world();
    w.fake.fail_after(
        Method::POST,
        "/acme/gitops/pulls",
        1,
        AfterFault::DropConnection,
    );
    let (code, json, err) = propose(&w, "250m", &["--label", "attune"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["action"], "created", "{err}");
    assert_eq!(json["number"], 1);
    assert_eq!(w.fake.prs(REPO).len(), 1);
    assert_eq!(w.fake.pr(REPO, 1).labels, ["attune"]);
    assert_eq!(w.fake.count("POST", "/acme/gitops/pulls"), 1);
}

#[test]
fn an_obsolete_pr_is_closed_with_one_comment_even_when_answers_are_lost() {
    let w = world();
    let (code, _, err) = propose(&w, "250m", &[]);
    assert_eq!(code, 0, "{err}");
    // Someone applies the values by hand: the bot branch lands on main outside the forge.
    let work = w.tmp.path().join("apply");
    let git = crate::support::git_http::git;
    git(
        w.tmp.path(),
        &[
            "clone",
            "-q",
            &w.server.auth_url("gitops"),
            work.to_str().unwrap(),
        ],
    );
    git(
        &work,
        &["merge", "-q", "--ff-only", "origin/attune/production/api"],
    );
    git(&work, &["push", "-q", "origin", "main"]);
    // The comment lands but its answer is lost; then the close fails outright, so the run
    // fails and is run again.
    w.fake
        .fail_after(Method::POST, "/comments", 1, AfterFault::BadGateway);
    w.fake
        .fail_next(Method::PATCH, "/pulls/1", 4, Fault::BadGateway);
    let (code, _, err) = propose(&w, "250m", &[]);
    assert_eq!(code, 3, "{err}");
    let (code, json, err) = propose(&w, "250m", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["action"], "closed", "{err}");
    let pr = w.fake.pr(REPO, 1);
    assert_eq!(pr.state, "closed");
    assert_eq!(pr.comments.len(), 1, "{:?}", pr.comments);
}

#[test]
fn a_nested_group_path_is_bad_input_before_any_call() {
    let w = world();
    let out = open_pr(&w, "acme/platform/gitops", "250m")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`acme/platform/gitops` names a nested group, which only GitLab has"),
        "{stderr}"
    );
    assert!(w.fake.requests().is_empty(), "{:?}", w.fake.requests());
    assert_eq!(w.server.tip("gitops", "attune/production/api"), None);
}
