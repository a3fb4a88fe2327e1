//! The GitLab backend against an in-memory GitLab: what each call sends, how many requests it
//! costs, and how it behaves under rate limits, server errors and bad credentials.

use std::time::{Duration, Instant};

use crate::support::gitlab_fake::{BODY_LIMIT_CHARS, Fault, GitLabFake};
use attune::forge::gitlab::{GitLab, GitLabAuth, MAX_BODY_BYTES};
use attune::forge::{Forge, ForgeError, ForgeRepo, NewPullRequest, PrState, RetryPolicy};
use attune::secret::SecretToken;
use axum::http::Method;

const TOKEN: &str = "glpat-test0nly0token0for0the0fake";
const PROJECT: &str = "acme/gitops";
const MRS: &str = "/projects/acme%2Fgitops/merge_requests";

fn repo() -> ForgeRepo {
    ForgeRepo::parse(PROJECT).unwrap()
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(10),
        max_wait: Duration::from_secs(10),
    }
}

fn gitlab(fake: &GitLabFake) -> GitLab {
    GitLab::new(
        Some(fake.base.clone()),
        GitLabAuth::from_token(SecretToken::from(TOKEN)),
    )
    .unwrap()
    .with_retry(quick())
}

/// A fake with the project and its `attune/api` branch.
fn fake() -> GitLabFake {
    let fake = GitLabFake::start(TOKEN);
    fake.push_branch(PROJECT, "attune/api");
    fake
}

fn new_mr(head: &str) -> NewPullRequest {
    NewPullRequest {
        title: "attune: right-size api".into(),
        body: "Lowers requests.\n<!-- attune: {\"hash\":\"h1\"} -->\n".into(),
        head: head.into(),
        base: "main".into(),
        draft: false,
        labels: Vec::new(),
        reviewers: Vec::new(),
        team_reviewers: Vec::new(),
    }
}

#[tokio::test]
async fn find_sees_none_opened_closed_merged_and_locked_in_one_request_each() {
    let fake = fake();
    let gl = gitlab(&fake);

    assert_eq!(gl.find_by_head(&repo(), "attune/api").await.unwrap(), None);
    let recorded = fake.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].path, format!("/api/v4{MRS}"));
    assert_eq!(recorded[0].scheme, "private-token");
    let query = &recorded[0].query;
    assert!(
        query.contains("state=all") && query.contains("source_branch=attune%2Fapi"),
        "{query}"
    );

    let iid = fake.seed_mr(PROJECT, "attune/api", "t", "b");
    let found = gl
        .find_by_head(&repo(), "attune/api")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.number, found.state), (iid, PrState::Open));
    assert_eq!(
        (found.head_branch.as_str(), found.base_branch.as_str()),
        ("attune/api", "main")
    );
    assert_eq!(
        found.url,
        format!("{}acme/gitops/-/merge_requests/{iid}", fake.base)
    );
    assert_eq!(found.body, "b");
    assert!(found.created_at > 1_600_000_000);

    for (state, want) in [
        ("locked", PrState::Open),
        ("closed", PrState::Closed),
        ("merged", PrState::Merged),
    ] {
        fake.set_state(PROJECT, iid, state);
        let found = gl
            .find_by_head(&repo(), "attune/api")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.state, want, "{state}");
    }
    assert_eq!(fake.requests().len(), 5, "one request per find");
}

#[tokio::test]
async fn find_prefers_the_newest_and_ignores_forks_with_the_same_branch() {
    let fake = fake();
    let gl = gitlab(&fake);
    let old = fake.seed_mr(PROJECT, "attune/api", "old", "");
    fake.set_state(PROJECT, old, "closed");
    let new = fake.seed_mr(PROJECT, "attune/api", "new", "");
    fake.seed_fork_mr(PROJECT, "attune/api");

    let found = gl
        .find_by_head(&repo(), "attune/api")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.number, found.title.as_str()), (new, "new"));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn list_by_prefix_follows_the_next_page_only_until_the_limit() {
    let fake = fake();
    let gl = gitlab(&fake);
    // 150 merge requests: the bot's three are the oldest, so they are on page 2 of 100.
    for n in 0..3 {
        fake.seed_mr(PROJECT, &format!("attune/w{n}"), "bot", "");
    }
    for n in 0..147 {
        fake.seed_mr(PROJECT, &format!("feature/{n}"), "human", "");
    }
    let found = gl
        .list_by_head_prefix(&repo(), "attune/", 10)
        .await
        .unwrap();
    let heads: Vec<&str> = found.iter().map(|p| p.head_branch.as_str()).collect();
    assert_eq!(
        heads,
        ["attune/w2", "attune/w1", "attune/w0"],
        "newest first"
    );
    assert_eq!(fake.count("GET", MRS), 2, "two pages of 100");
    assert!(fake.requests()[1].query.contains("page=2"));

    fake.clear_requests();
    let one = gl
        .list_by_head_prefix(&repo(), "feature/", 1)
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(fake.count("GET", MRS), 1, "the limit stops the paging");

    // Keyset-style answers carry only `Link`; the next page is read from it.
    fake.paginate_by_link_only();
    fake.clear_requests();
    let found = gl
        .list_by_head_prefix(&repo(), "attune/", 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 3);
    assert_eq!(fake.count("GET", MRS), 2);
}

#[tokio::test]
async fn create_with_labels_and_reviewers_is_one_post_plus_a_lookup_per_reviewer() {
    let fake = fake();
    let gl = gitlab(&fake);
    let alice = fake.add_user("alice");
    let bob = fake.add_user("bob");
    let mut mr = new_mr("attune/api");
    mr.labels = vec!["attune".into(), "resources".into()];
    mr.reviewers = vec!["alice".into(), "@bob".into()];
    mr.draft = true;

    let created = gl.create(&repo(), &mr).await.unwrap();

    assert_eq!(created.state, PrState::Open);
    assert!(created.draft);
    assert_eq!(created.labels, ["attune", "resources"]);
    let stored = fake.mr(PROJECT, created.number);
    assert_eq!(stored.reviewers, [alice, bob]);
    assert_eq!(stored.title, "Draft: attune: right-size api");
    assert_eq!(stored.description, mr.body);
    assert_eq!(fake.count("GET", "/users"), 2);
    assert_eq!(fake.count("POST", MRS), 1);
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn create_without_labels_or_reviewers_is_one_request() {
    let fake = fake();
    let gl = gitlab(&fake);
    gl.create(&repo(), &new_mr("attune/api")).await.unwrap();
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn what_gitlab_cannot_take_is_refused_before_anything_is_sent() {
    let fake = fake();
    let gl = gitlab(&fake);
    let mut teams = new_mr("attune/api");
    teams.team_reviewers = vec!["acme/sre".into()];
    let mut comma = new_mr("attune/api");
    comma.labels = vec!["a,b".into()];
    for mr in [teams, comma] {
        let error = gl.create(&repo(), &mr).await.unwrap_err();
        assert!(matches!(error, ForgeError::Unsupported { .. }), "{error}");
    }
    assert!(fake.requests().is_empty());

    let mut ghost = new_mr("attune/api");
    ghost.reviewers = vec!["ghost".into()];
    let error = gl.create(&repo(), &ghost).await.unwrap_err();
    assert!(
        error.to_string().contains("gitlab has no user `ghost`"),
        "{error}"
    );
    assert_eq!(
        fake.count("POST", MRS),
        0,
        "no merge request without its reviewers"
    );
}

#[tokio::test]
async fn a_second_create_for_the_same_branch_says_one_exists() {
    let fake = fake();
    let gl = gitlab(&fake);
    gl.create(&repo(), &new_mr("attune/api")).await.unwrap();
    let error = gl.create(&repo(), &new_mr("attune/api")).await.unwrap_err();
    assert!(
        matches!(error, ForgeError::Status { status: 409, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("already exists"), "{error}");
    assert_eq!(fake.mrs(PROJECT).len(), 1);
    assert_eq!(fake.count("POST", MRS), 2, "a 409 is not retried");
}

#[tokio::test]
async fn update_comment_comments_and_close_are_one_request_each() {
    let fake = fake();
    let gl = gitlab(&fake);
    let iid = fake.seed_mr(PROJECT, "attune/api", "t", "b");
    fake.set_conflicts(PROJECT, iid, true);
    fake.add_system_note(PROJECT, iid, "added ~attune label");

    gl.update(&repo(), iid, "t2", "b2").await.unwrap();
    let stored = fake.mr(PROJECT, iid);
    assert_eq!(
        (stored.title.as_str(), stored.description.as_str()),
        ("t2", "b2")
    );
    assert!(
        stored.has_conflicts,
        "a conflicted merge request is still edited in place"
    );

    gl.comment(&repo(), iid, "first").await.unwrap();
    gl.comment(&repo(), iid, "second").await.unwrap();
    let said = gl.comments(&repo(), iid).await.unwrap();
    assert_eq!(
        said,
        ["first", "second"],
        "oldest first, system notes left out"
    );

    gl.close(&repo(), iid).await.unwrap();
    assert_eq!(fake.mr(PROJECT, iid).state, "closed");
    assert_eq!(fake.requests().len(), 5);
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.credential.as_deref() == Some(TOKEN))
    );
}

#[tokio::test]
async fn an_oversized_body_is_cut_and_keeps_its_marker_last() {
    let fake = fake();
    let gl = gitlab(&fake);
    let marker = "<!-- attune: {\"hash\":\"h1\"} -->";
    let mut mr = new_mr("attune/api");
    mr.body = format!("{}\n{marker}\n", "é".repeat(BODY_LIMIT_CHARS));
    let created = gl.create(&repo(), &mr).await.unwrap();
    let stored = fake.mr(PROJECT, created.number).description;
    assert!(stored.len() <= MAX_BODY_BYTES);
    assert!(stored.trim_end().ends_with(marker));
}

#[tokio::test]
async fn bad_gateways_are_retried_then_give_up_after_the_policy_attempts() {
    let fake = fake();
    let gl = gitlab(&fake);
    fake.fail_next(Method::GET, MRS, 2, Fault::BadGateway);
    assert_eq!(gl.find_by_head(&repo(), "attune/api").await.unwrap(), None);
    assert_eq!(fake.requests().len(), 3);

    fake.clear_requests();
    fake.fail_next(Method::GET, MRS, 9, Fault::BadGateway);
    let error = gl.find_by_head(&repo(), "attune/api").await.unwrap_err();
    assert!(
        matches!(error, ForgeError::Status { status: 502, .. }),
        "{error}"
    );
    assert!(!error.to_string().contains("<html>"), "{error}");
    assert_eq!(fake.requests().len(), 4);
}

#[tokio::test]
async fn a_429_honours_retry_after_or_the_reset() {
    for fault in [
        Fault::RateLimited {
            retry_after_secs: 1,
        },
        Fault::ResetOnly { reset_in_secs: 0 },
    ] {
        let fake = fake();
        let gl = gitlab(&fake);
        fake.fail_next(Method::GET, MRS, 1, fault);
        let started = Instant::now();
        gl.find_by_head(&repo(), "attune/api").await.unwrap();
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(900),
            "{fault:?}: {waited:?}"
        );
        assert!(waited < Duration::from_secs(5), "{fault:?}: {waited:?}");
        assert_eq!(fake.requests().len(), 2);
    }
}

#[tokio::test]
async fn a_distant_reset_is_an_error_not_a_sleep() {
    let fake = fake();
    let gl = gitlab(&fake);
    fake.fail_next(
        Method::POST,
        MRS,
        1,
        Fault::ResetOnly {
            reset_in_secs: 3600,
        },
    );
    let started = Instant::now();
    let error = gl.create(&repo(), &new_mr("attune/api")).await.unwrap_err();
    assert!(matches!(error, ForgeError::RateLimited { .. }), "{error}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(fake.mrs(PROJECT).is_empty());
}

#[tokio::test]
async fn a_403_is_a_permission_and_fails_at_once() {
    let fake = fake();
    let gl = gitlab(&fake);
    fake.fail_next(Method::PUT, MRS, 1, Fault::Forbidden);
    let iid = fake.seed_mr(PROJECT, "attune/api", "t", "b");
    let error = gl.update(&repo(), iid, "t", "b").await.unwrap_err();
    assert!(error.to_string().contains("scope api"), "{error}");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn rejected_credentials_and_unknown_projects_are_clear_errors_without_the_token() {
    let fake = fake();
    let wrong = GitLab::new(
        Some(fake.base.clone()),
        GitLabAuth::from_token("glpat-wrong0".into()),
    )
    .unwrap()
    .with_retry(quick());
    let error = wrong.find_by_head(&repo(), "attune/api").await.unwrap_err();
    assert!(matches!(error, ForgeError::Auth(_)), "{error}");
    assert!(
        error.to_string().contains("gitlab refused the token"),
        "{error}"
    );
    assert!(!error.to_string().contains("glpat-wrong0"));
    assert_eq!(fake.requests().len(), 1, "a 401 is not retried");

    let gl = gitlab(&fake);
    let other = ForgeRepo::parse("acme/elsewhere").unwrap();
    let error = gl.find_by_head(&other, "attune/api").await.unwrap_err();
    assert!(error.to_string().contains("no such project"), "{error}");
}

#[tokio::test]
async fn an_oauth_token_travels_as_bearer_and_git_uses_oauth2() {
    const OAUTH: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    let fake = GitLabFake::start(OAUTH);
    fake.push_branch("group/sub/app", "attune/api");
    let gl = GitLab::new(
        Some(fake.base.clone()),
        GitLabAuth::from_token(OAUTH.into()),
    )
    .unwrap();
    let nested = ForgeRepo::parse("group/sub/app").unwrap();
    assert_eq!(gl.find_by_head(&nested, "attune/api").await.unwrap(), None);
    let recorded = &fake.requests()[0];
    assert_eq!(recorded.scheme, "bearer");
    assert_eq!(
        recorded.path,
        "/api/v4/projects/group%2Fsub%2Fapp/merge_requests"
    );
    assert_eq!(gl.git_username().await.unwrap(), "oauth2");
    assert_eq!(
        gl.git_token(&nested)
            .await
            .unwrap()
            .map(|t| t.expose().to_owned()),
        None
    );
    assert_eq!(
        gl.clone_url(&nested),
        format!("{}group/sub/app.git", fake.base)
    );
}
