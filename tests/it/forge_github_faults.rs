//! The GitHub backend when GitHub acted but its answer was lost (a 502 from the proxy in front,
//! a connection dropped mid-answer): a retry must not open a second pull request or post a
//! second comment. And GitHub's refusal of a head branch that does not exist.

use std::time::Duration;

use crate::support::github_fake::{AfterFault, Fault, GitHubFake};
use attune::forge::github::{GitHub, GitHubAuth};
use attune::forge::{Forge, ForgeError, ForgeRepo, NewPullRequest, RetryPolicy};
use attune::secret::SecretToken;
use axum::http::Method;

const TOKEN: &str = "ghp_test0nly0token0for0the0fake0000000";
const REPO: &str = "acme/gitops";
const HEAD: &str = "attune/api";

fn repo() -> ForgeRepo {
    ForgeRepo::parse(REPO).unwrap()
}

fn github(fake: &GitHubFake) -> GitHub {
    GitHub::new(
        GitHubAuth::Token(SecretToken::from(TOKEN)),
        Some(fake.base.clone()),
    )
    .unwrap()
    .with_retry_policy(RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(10),
        max_wait: Duration::from_secs(10),
    })
}

fn new_pr() -> NewPullRequest {
    NewPullRequest {
        title: "attune: right-size api".into(),
        body: "Lowers requests.\n<!-- attune: {\"hash\":\"h1\"} -->\n".into(),
        head: HEAD.into(),
        base: "main".into(),
        draft: false,
        labels: vec!["attune".into()],
        reviewers: Vec::new(),
        team_reviewers: Vec::new(),
    }
}

fn fake() -> GitHubFake {
    let fake = GitHubFake::start(TOKEN);
    fake.push_branch(REPO, HEAD);
    fake
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_opens_exactly_one_pull_request() {
    for fault in [AfterFault::BadGateway, AfterFault::DropConnection] {
        let fake = fake();
        let gh = github(&fake);
        fake.fail_after(Method::POST, "/acme/gitops/pulls", 1, fault);

        let created = gh.create(&repo(), &new_pr()).await.unwrap();

        assert_eq!(fake.prs(REPO).len(), 1, "{fault:?}");
        assert_eq!(created.number, 1);
        assert_eq!(
            fake.count("POST", "/acme/gitops/pulls"),
            1,
            "not sent again"
        );
        assert_eq!(fake.count("GET", "/acme/gitops/pulls"), 1, "looked up once");
        // The labels still arrive on the pull request that was found.
        assert_eq!(fake.pr(REPO, 1).labels, ["attune"], "{fault:?}");
    }
}

#[tokio::test]
async fn a_create_refused_before_acting_is_sent_again_after_a_look() {
    let fake = fake();
    let gh = github(&fake);
    fake.fail_next(Method::POST, "/acme/gitops/pulls", 1, Fault::BadGateway);

    gh.create(&repo(), &new_pr()).await.unwrap();

    assert_eq!(fake.prs(REPO).len(), 1);
    assert_eq!(fake.count("POST", "/acme/gitops/pulls"), 2);
}

#[tokio::test]
async fn a_comment_whose_answer_is_lost_is_posted_once() {
    for fault in [AfterFault::BadGateway, AfterFault::DropConnection] {
        let fake = fake();
        let gh = github(&fake);
        let n = fake.seed_pr(REPO, HEAD, "t", "b");
        fake.fail_after(Method::POST, "/comments", 1, fault);

        gh.comment(&repo(), n, "Closing: obsolete.\n\n<!-- attune:obsolete -->")
            .await
            .unwrap();

        assert_eq!(fake.pr(REPO, n).comments.len(), 1, "{fault:?}");
        assert_eq!(fake.count("POST", "/comments"), 1);
    }
}

#[tokio::test]
async fn a_comment_that_never_landed_is_sent_again() {
    let fake = fake();
    let gh = github(&fake);
    let n = fake.seed_pr(REPO, HEAD, "t", "b");
    fake.fail_next(Method::POST, "/comments", 1, Fault::BadGateway);

    gh.comment(&repo(), n, "hello").await.unwrap();

    assert_eq!(fake.pr(REPO, n).comments, ["hello"]);
    assert_eq!(fake.count("POST", "/comments"), 2);
}

#[tokio::test]
async fn a_head_branch_that_does_not_exist_is_refused_like_github_does() {
    let fake = GitHubFake::start(TOKEN);
    let gh = github(&fake);

    let error = gh.create(&repo(), &new_pr()).await.unwrap_err();

    assert!(
        matches!(&error, ForgeError::Status { status: 422, .. }),
        "{error}"
    );
    assert!(fake.prs(REPO).is_empty());
    assert_eq!(fake.count("POST", "/pulls"), 1, "a 422 is not retried");
}
