//! `attune propose --open-pr --forge gitlab` end to end: git over real smart HTTP (lighttpd +
//! git http-backend) and the GitLab API played by a stateful fake that speaks GitLab's REST v4
//! shapes and sees the git server's branches. The lifecycle rules — one merge request per
//! branch updated in place, a human's close and commit respected, merged means done — and the
//! API calls each run costs, with faults injected before and after GitLab acted.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::git_http::GitServer;
use crate::support::gitlab_fake::{AfterFault, Fault, GitLabFake};
use axum::http::Method;
use serde_json::Value;

const TOKEN: &str = "glpat-pr0test0token0for0the0fake";
const PROJECT: &str = "acme/gitops";
const BRANCH: &str = "attune/production/api";
const FILE: &str = "overlays/production/attune-deployment-api.yaml";
const MRS: &str = "/projects/acme%2Fgitops/merge_requests";

struct World {
    server: GitServer,
    fake: GitLabFake,
    tmp: tempfile::TempDir,
}

fn world() -> World {
    let server = GitServer::start();
    server.create_repo("gitops", Path::new("fixtures/demo/repo"), 2);
    // The user name GitLab documents for token pushes.
    server.add_user("oauth2", TOKEN);
    let fake = GitLabFake::start(TOKEN);
    fake.link_git(PROJECT, &server.bare("gitops"));
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

fn propose(w: &World, cpu: &str, extra: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_attune"))
        .args([
            "propose",
            "--open-pr",
            "--output",
            "json",
            "--forge",
            "gitlab",
        ])
        .arg("--policies")
        .arg(policies(w, cpu))
        .args([
            "--repository",
            PROJECT,
            "--repo-url",
            &w.server.url("gitops"),
        ])
        .args(["--api-url", w.fake.base.as_str()])
        .arg("--cache-dir")
        .arg(w.tmp.path().join("cache"))
        .args(extra)
        .env("ATTUNE_GIT_TOKEN", TOKEN)
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
fn api_economy_open_update_in_place_and_nothing_to_do() {
    let w = world();
    let alice = w.fake.add_user("alice");
    let (code, json, err) = propose(&w, "250m", &["--label", "attune", "--reviewer", "alice"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["action"], "created", "{err}");
    let reqs = w.fake.requests();
    // find + limits + reviewer lookup + create (labels and reviewers ride along).
    assert_eq!(reqs.len(), 4, "{reqs:?}");
    assert!(reqs.iter().all(|r| r.scheme == "private-token"));
    let mr = w.fake.mr(PROJECT, 1);
    assert_eq!(mr.labels, ["attune"]);
    assert_eq!(mr.reviewers, [alice]);
    assert_eq!(
        (mr.source_branch.as_str(), mr.target_branch.as_str()),
        (BRANCH, "main")
    );
    assert!(mr.description.contains("**250m**"));
    assert_eq!(
        json["url"],
        format!("{}acme/gitops/-/merge_requests/1", w.fake.base)
    );
    assert!(w.server.show("gitops", BRANCH, FILE).contains("cpu: 250m"));

    w.fake.clear_requests();
    let (_, json, err) = propose(&w, "250m", &["--label", "attune"]);
    assert_eq!(json["action"], "unchanged", "{err}");
    assert_eq!(w.fake.requests().len(), 1, "nothing to change is one read");

    // GitLab reports a conflict with main; the bot rebuilds its commit and edits in place.
    w.fake.set_conflicts(PROJECT, 1, true);
    w.fake.clear_requests();
    let (_, json, err) = propose(&w, "200m", &["--label", "attune"]);
    assert_eq!(json["action"], "updated", "{err}");
    assert_eq!(json["number"], 1);
    assert_eq!(w.fake.requests().len(), 2, "updating is find + edit");
    assert!(w.fake.mr(PROJECT, 1).description.contains("**200m**"));
    assert!(w.server.show("gitops", BRANCH, FILE).contains("cpu: 200m"));
    assert_eq!(w.fake.mrs(PROJECT).len(), 1);
}

#[test]
fn a_human_close_is_respected_and_merged_means_done() {
    let w = world();
    let (code, _, err) = propose(&w, "250m", &[]);
    assert_eq!(code, 0, "{err}");
    w.fake.set_state(PROJECT, 1, "closed");
    let (code, json, err) = propose(&w, "250m", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["action"], "skipped", "{err}");
    assert!(
        json["reason"]
            .as_str()
            .unwrap()
            .contains("closed by a human"),
        "{json}"
    );
    assert_eq!(w.fake.mrs(PROJECT).len(), 1, "no second merge request");

    // Values that moved well past the close get a fresh merge request; it is then merged.
    let (_, json, err) = propose(&w, "150m", &[]);
    assert_eq!(json["action"], "created", "{err}");
    assert_eq!(json["number"], 2);
    merge_into_main(&w);
    w.fake.set_state(PROJECT, 2, "merged");
    w.fake.clear_requests();
    let (code, json, err) = propose(&w, "150m", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["action"], "unchanged", "{err}");
    assert!(
        json["reason"].as_str().unwrap().contains("was merged"),
        "{json}"
    );
    assert_eq!(w.fake.mrs(PROJECT).len(), 2);
    assert!(w.fake.requests().iter().all(|r| r.method == "GET"));
}

/// What GitLab's merge does to the repository: main moves to the bot branch.
fn merge_into_main(w: &World) {
    let work = w.tmp.path().join("merge");
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
        &["merge", "-q", "--ff-only", &format!("origin/{BRANCH}")],
    );
    git(&work, &["push", "-q", "origin", "main"]);
}

#[test]
fn a_human_commit_is_never_pushed_over_and_is_noted_once() {
    let w = world();
    let (code, _, err) = propose(&w, "250m", &[]);
    assert_eq!(code, 0, "{err}");
    w.server
        .human_commit("gitops", BRANCH, "NOTES.md", "mine\n");
    let tip = w.server.tip("gitops", BRANCH);
    for _ in 0..2 {
        let (code, json, err) = propose(&w, "200m", &[]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(json["action"], "skipped", "{err}");
    }
    assert_eq!(
        w.server.tip("gitops", BRANCH),
        tip,
        "the human's commit stays the tip"
    );
    let mr = w.fake.mr(PROJECT, 1);
    assert_eq!(mr.notes.len(), 1, "{:?}", mr.notes);
    assert!(
        mr.description.contains("**250m**"),
        "the body is not rewritten"
    );
}

#[test]
fn a_create_whose_answer_is_lost_still_ends_with_one_merge_request() {
    let w = world();
    w.fake
        .fail_after(Method::POST, MRS, 1, AfterFault::InternalError);
    let (code, json, err) = propose(&w, "250m", &["--label", "attune"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["action"], "created", "{err}");
    assert_eq!(json["number"], 1);
    assert_eq!(w.fake.mrs(PROJECT).len(), 1);
    assert_eq!(w.fake.count("POST", MRS), 1);
}

#[test]
fn a_distant_rate_limit_fails_fast_with_exit_3_and_a_rerun_recovers() {
    let w = world();
    w.fake.fail_next(
        Method::POST,
        MRS,
        1,
        Fault::ResetOnly {
            reset_in_secs: 3600,
        },
    );
    let (code, _, err) = propose(&w, "250m", &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("rate limited"), "{err}");
    let tip = w.server.tip("gitops", BRANCH);
    assert!(tip.is_some(), "the push came before the refusal");
    let (code, json, err) = propose(&w, "250m", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["action"], "created");
    assert_eq!(
        w.server.tip("gitops", BRANCH),
        tip,
        "the bot commit is reused"
    );
    assert_eq!(w.fake.mrs(PROJECT).len(), 1);
}

#[test]
fn dry_run_makes_no_write_call_and_team_reviewers_are_bad_input() {
    let w = world();
    let (code, json, err) = propose(&w, "250m", &["--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["action"], "created", "{err}");
    assert!(err.contains("**250m**"), "the body is printed: {err}");
    assert!(w.fake.requests().iter().all(|r| r.method == "GET"));
    assert_eq!(w.server.tip("gitops", BRANCH), None);

    let (code, _, err) = propose(&w, "250m", &["--team-reviewer", "acme/sre"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot request the group `acme/sre`"), "{err}");
    assert!(w.fake.mrs(PROJECT).is_empty());
    assert_eq!(
        w.server.tip("gitops", BRANCH),
        None,
        "refused before the push"
    );

    let (code, _, err) = propose(&w, "250m", &["--label", "a,b"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("contains a comma"), "{err}");
    assert_eq!(
        w.server.tip("gitops", BRANCH),
        None,
        "refused before the push"
    );
}
