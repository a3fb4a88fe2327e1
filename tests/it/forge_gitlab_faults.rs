//! The GitLab backend when GitLab acted but its answer was lost (a 500 after the merge request
//! was stored, a connection dropped mid-answer): a retry must not open a second merge request
//! or post a second note. And GitLab's refusal of a source branch that does not exist.

use std::time::Duration;

use crate::support::gitlab_fake::{AfterFault, Fault, GitLabFake};
use attune::forge::gitlab::{GitLab, GitLabAuth};
use attune::forge::{Forge, ForgeError, ForgeRepo, NewPullRequest, RetryPolicy};
use attune::secret::SecretToken;
use axum::http::Method;

const TOKEN: &str = "glpat-test0nly0token0for0the0fake";
const PROJECT: &str = "acme/gitops";
const HEAD: &str = "attune/api";
const MRS: &str = "/projects/acme%2Fgitops/merge_requests";

fn repo() -> ForgeRepo {
    ForgeRepo::parse(PROJECT).unwrap()
}

fn gitlab(fake: &GitLabFake) -> GitLab {
    GitLab::new(
        Some(fake.base.clone()),
        GitLabAuth::from_token(SecretToken::from(TOKEN)),
    )
    .unwrap()
    .with_retry(RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(10),
        max_wait: Duration::from_secs(10),
    })
}

fn new_mr() -> NewPullRequest {
    NewPullRequest {
        title: "attune: right-size api".into(),
        body: "Lowers requests.\n<!-- attune: {\"hash\":\"h1\"} -->\n".into(),
        head: HEAD.into(),
        base: "main".into(),
        draft: false,
        labels: vec!["attune".into()],
        reviewers: vec!["alice".into()],
        team_reviewers: Vec::new(),
    }
}

fn fake() -> GitLabFake {
    let fake = GitLabFake::start(TOKEN);
    fake.push_branch(PROJECT, HEAD);
    fake.add_user("alice");
    fake
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_opens_exactly_one_merge_request() {
    for fault in [AfterFault::InternalError, AfterFault::DropConnection] {
        let fake = fake();
        let gl = gitlab(&fake);
        fake.fail_after(Method::POST, MRS, 1, fault);

        let created = gl.create(&repo(), &new_mr()).await.unwrap();

        assert_eq!(fake.mrs(PROJECT).len(), 1, "{fault:?}");
        assert_eq!(created.number, 1);
        assert_eq!(fake.count("POST", MRS), 1, "not sent again");
        assert_eq!(fake.count("GET", MRS), 1, "looked up once");
        // Labels and reviewers travel in the create itself, so the found one has them.
        let stored = fake.mr(PROJECT, 1);
        assert_eq!(stored.labels, ["attune"], "{fault:?}");
        assert_eq!(stored.reviewers.len(), 1, "{fault:?}");
    }
}

#[tokio::test]
async fn a_create_refused_before_acting_is_sent_again_after_a_look() {
    let fake = fake();
    let gl = gitlab(&fake);
    fake.fail_next(Method::POST, MRS, 1, Fault::BadGateway);

    gl.create(&repo(), &new_mr()).await.unwrap();

    assert_eq!(fake.mrs(PROJECT).len(), 1);
    assert_eq!(fake.count("POST", MRS), 2);
    assert_eq!(fake.count("GET", MRS), 1);
}

#[tokio::test]
async fn a_comment_whose_answer_is_lost_is_posted_once() {
    for fault in [AfterFault::InternalError, AfterFault::DropConnection] {
        let fake = fake();
        let gl = gitlab(&fake);
        let iid = fake.seed_mr(PROJECT, HEAD, "t", "b");
        fake.fail_after(Method::POST, "/notes", 1, fault);

        gl.comment(
            &repo(),
            iid,
            "Closing: obsolete.\n\n<!-- attune:obsolete -->",
        )
        .await
        .unwrap();

        assert_eq!(fake.mr(PROJECT, iid).notes.len(), 1, "{fault:?}");
        assert_eq!(fake.count("POST", "/notes"), 1);
    }
}

#[tokio::test]
async fn a_comment_that_never_landed_is_sent_again() {
    let fake = fake();
    let gl = gitlab(&fake);
    let iid = fake.seed_mr(PROJECT, HEAD, "t", "b");
    fake.fail_next(Method::POST, "/notes", 1, Fault::BadGateway);

    gl.comment(&repo(), iid, "hello").await.unwrap();

    let notes: Vec<String> = fake
        .mr(PROJECT, iid)
        .notes
        .into_iter()
        .map(|n| n.body)
        .collect();
    assert_eq!(notes, ["hello"]);
    assert_eq!(fake.count("POST", "/notes"), 2);
}

#[tokio::test]
async fn a_source_branch_that_does_not_exist_is_a_422_and_not_retried() {
    let fake = GitLabFake::start(TOKEN);
    fake.push_branch(PROJECT, "main");
    fake.add_user("alice");
    let gl = gitlab(&fake);

    let error = gl.create(&repo(), &new_mr()).await.unwrap_err();

    assert!(
        matches!(&error, ForgeError::Status { status: 422, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("does not exist"), "{error}");
    assert!(fake.mrs(PROJECT).is_empty());
    assert_eq!(fake.count("POST", MRS), 1);
}
