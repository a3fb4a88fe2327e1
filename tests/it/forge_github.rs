//! The GitHub backend against an in-memory GitHub: what each call sends, how many requests it
//! costs, and how it behaves under rate limits, server errors and bad credentials.

use std::time::{Duration, Instant};

use crate::support::github_fake::{BODY_LIMIT_CHARS, Fault, GitHubFake, test_app_key};
use attune::forge::github::{GitHub, GitHubAuth, MAX_BODY_BYTES};
use attune::forge::{Forge, ForgeError, ForgeRepo, NewPullRequest, PrState, RetryPolicy};
use attune::secret::SecretToken;
use axum::http::Method;
use octocrab::secrecy::SecretString;

const TOKEN: &str = "ghp_test0nly0token0for0the0fake0000000";
const REPO: &str = "acme/gitops";
const APP_ID: u64 = 4242;

fn repo() -> ForgeRepo {
    ForgeRepo::parse(REPO).unwrap()
}

/// Short backoff so 5xx tests take milliseconds; rate-limit waits are the forge's to set.
fn quick() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(10),
        max_wait: Duration::from_secs(10),
    }
}

fn github(fake: &GitHubFake) -> GitHub {
    GitHub::new(
        GitHubAuth::Token(SecretToken::from(TOKEN)),
        Some(fake.base.clone()),
    )
    .unwrap()
    .with_retry_policy(quick())
}

fn github_app(fake: &GitHubFake, app_id: u64) -> GitHub {
    let pem = String::from_utf8(test_app_key().0.clone()).unwrap();
    GitHub::new(
        GitHubAuth::App {
            app_id,
            private_key_pem: SecretString::from(pem),
        },
        Some(fake.base.clone()),
    )
    .unwrap()
    .with_retry_policy(quick())
}

fn app_fake() -> GitHubFake {
    GitHubFake::start(TOKEN).with_app(APP_ID, &test_app_key().1)
}

fn new_pr(head: &str) -> NewPullRequest {
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
async fn find_sees_no_open_closed_and_merged_pull_requests_in_one_request_each() {
    let fake = GitHubFake::start(TOKEN);
    let gh = github(&fake);

    assert_eq!(gh.find_by_head(&repo(), "attune/api").await.unwrap(), None);
    let recorded = fake.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].path, "/repos/acme/gitops/pulls");
    assert!(
        recorded[0].query.contains("state=all"),
        "{}",
        recorded[0].query
    );
    assert!(recorded[0].query.contains("head=acme%3Aattune%2Fapi"));

    let open = fake.seed_pr(REPO, "attune/api", "t", "b");
    let found = gh
        .find_by_head(&repo(), "attune/api")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.number, found.state), (open, PrState::Open));
    assert_eq!(found.head_branch, "attune/api");
    assert_eq!(found.base_branch, "main");
    assert_eq!(found.url, format!("{}acme/gitops/pull/{open}", fake.base));
    assert!(found.created_at > 1_600_000_000);

    fake.close(REPO, open);
    let found = gh
        .find_by_head(&repo(), "attune/api")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.state, PrState::Closed);

    let merged = fake.seed_pr(REPO, "attune/db", "t", "b");
    fake.merge(REPO, merged);
    let found = gh
        .find_by_head(&repo(), "attune/db")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.number, found.state), (merged, PrState::Merged));

    assert_eq!(fake.requests().len(), 4, "one request per find");
}

#[tokio::test]
async fn find_prefers_the_newest_and_ignores_forks_with_the_same_branch() {
    let fake = GitHubFake::start(TOKEN);
    let gh = github(&fake);
    let old = fake.seed_pr(REPO, "attune/api", "old", "");
    fake.close(REPO, old);
    let new = fake.seed_pr(REPO, "attune/api", "new", "");
    fake.seed_fork_pr(REPO, "mallory", "attune/api");

    let found = gh
        .find_by_head(&repo(), "attune/api")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.number, found.title.as_str()), (new, "new"));
    assert_eq!(found.state, PrState::Open);
}

#[tokio::test]
async fn list_by_prefix_is_one_request_newest_first_and_bounded() {
    let fake = GitHubFake::start(TOKEN);
    let gh = github(&fake);
    for name in [
        "attune/a",
        "renovate/x",
        "attune/b",
        "attune/c",
        "feature/y",
    ] {
        fake.seed_pr(REPO, name, name, "");
    }
    fake.seed_fork_pr(REPO, "mallory", "attune/evil");

    let listed = gh.list_by_head_prefix(&repo(), "attune/", 2).await.unwrap();
    let heads: Vec<&str> = listed.iter().map(|p| p.head_branch.as_str()).collect();
    assert_eq!(heads, ["attune/c", "attune/b"]);

    let all = gh
        .list_by_head_prefix(&repo(), "attune/", 50)
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(fake.requests().len(), 2);
    assert!(fake.requests()[0].query.contains("per_page=100"));
}

#[tokio::test]
async fn create_with_labels_and_reviewers_costs_three_requests() {
    let fake = GitHubFake::start(TOKEN);
    let gh = github(&fake);
    fake.push_branch(REPO, "attune/api");
    let pr = NewPullRequest {
        labels: vec!["attune".into(), "resources".into()],
        reviewers: vec!["alice".into(), "acme/platform".into()],
        team_reviewers: vec!["sre".into()],
        draft: true,
        ..new_pr("attune/api")
    };

    let created = gh.create(&repo(), &pr).await.unwrap();

    let calls: Vec<(String, String)> = fake
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(
        calls,
        [
            ("POST".to_owned(), "/repos/acme/gitops/pulls".to_owned()),
            (
                "POST".to_owned(),
                "/repos/acme/gitops/issues/1/labels".to_owned()
            ),
            (
                "POST".to_owned(),
                "/repos/acme/gitops/pulls/1/requested_reviewers".to_owned()
            ),
        ]
    );
    assert_eq!(created.number, 1);
    assert_eq!(created.state, PrState::Open);
    assert!(created.draft);
    assert_eq!(created.labels, ["attune", "resources"]);
    let stored = fake.pr(REPO, 1);
    assert_eq!(stored.title, pr.title);
    assert_eq!(stored.body, pr.body);
    assert_eq!(stored.head, "attune/api");
    assert_eq!(stored.labels, ["attune", "resources"]);
    assert_eq!(stored.reviewers, ["alice"]);
    assert_eq!(stored.team_reviewers, ["platform", "sre"]);
}

#[tokio::test]
async fn create_without_labels_or_reviewers_is_one_request() {
    let fake = GitHubFake::start(TOKEN);
    let gh = github(&fake);
    fake.push_branch(REPO, "attune/api");
    let created = gh.create(&repo(), &new_pr("attune/api")).await.unwrap();
    assert_eq!(fake.requests().len(), 1);
    assert!(created.labels.is_empty());
    assert!(fake.pr(REPO, created.number).reviewers.is_empty());
}

#[tokio::test]
async fn a_second_create_for_the_same_head_says_one_exists() {
    let fake = GitHubFake::start(TOKEN);
    let gh = github(&fake);
    fake.push_branch(REPO, "attune/api");
    gh.create(&repo(), &new_pr("attune/api")).await.unwrap();

    let error = gh.create(&repo(), &new_pr("attune/api")).await.unwrap_err();
    assert!(
        matches!(&error, ForgeError::Status { status: 422, message, .. }
            if message == "a pull request already exists for acme:attune/api"),
        "{error}"
    );
    // No retry of a 422, and the existing one is there to be found.
    assert_eq!(fake.count("POST", "/pulls"), 2);
    assert_eq!(fake.prs(REPO).len(), 1);
}

#[tokio::test]
async fn update_comment_comments_and_close_are_one_request_each() {
    let fake = GitHubFake::start(TOKEN);
    let gh = github(&fake);
    let n = fake.seed_pr(REPO, "attune/api", "old title", "old body");

    gh.update(&repo(), n, "new title", "new body")
        .await
        .unwrap();
    let stored = fake.pr(REPO, n);
    assert_eq!(
        (stored.title.as_str(), stored.body.as_str()),
        ("new title", "new body")
    );

    gh.comment(&repo(), n, "first").await.unwrap();
    gh.comment(&repo(), n, "second").await.unwrap();
    assert_eq!(gh.comments(&repo(), n).await.unwrap(), ["first", "second"]);

    gh.close(&repo(), n).await.unwrap();
    assert_eq!(fake.pr(REPO, n).state, "closed");
    assert!(!fake.pr(REPO, n).merged);

    let calls: Vec<String> = fake
        .requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        calls,
        [
            "PATCH /repos/acme/gitops/pulls/1",
            "POST /repos/acme/gitops/issues/1/comments",
            "POST /repos/acme/gitops/issues/1/comments",
            "GET /repos/acme/gitops/issues/1/comments",
            "PATCH /repos/acme/gitops/pulls/1",
        ]
    );
}

#[tokio::test]
async fn an_oversized_body_is_cut_and_keeps_its_marker_last() {
    let fake = GitHubFake::start(TOKEN);
    let gh = github(&fake);
    fake.push_branch(REPO, "attune/api");
    assert_eq!(gh.max_body_bytes(), MAX_BODY_BYTES);
    let marker = "<!-- attune: {\"hash\":\"h2\"} -->";
    // Multi-byte rows: more bytes than characters, and over the limit in both.
    let table: String = (0..3000)
        .map(|i| format!("| container-{i} | 250m → 100m | ✓ |\n"))
        .collect();
    let body = format!("{table}{marker}\n");
    assert!(body.chars().count() > BODY_LIMIT_CHARS);

    let pr = NewPullRequest {
        body: body.clone(),
        ..new_pr("attune/api")
    };
    let created = gh.create(&repo(), &pr).await.unwrap();
    let stored = fake.pr(REPO, created.number).body;
    assert!(stored.len() <= MAX_BODY_BYTES);
    assert!(stored.starts_with("| container-0 |"));
    assert!(
        stored.ends_with(marker),
        "{}",
        &stored[stored.len() - 200..]
    );

    gh.update(&repo(), created.number, "t", &body)
        .await
        .unwrap();
    let stored = fake.pr(REPO, created.number).body;
    assert!(stored.len() <= MAX_BODY_BYTES);
    assert!(stored.ends_with(marker));
}

#[tokio::test]
async fn bad_gateways_are_retried_then_succeed() {
    let fake = GitHubFake::start(TOKEN);
    let gh = github(&fake);
    fake.fail_next(Method::GET, "/pulls", 2, Fault::BadGateway);

    assert_eq!(gh.find_by_head(&repo(), "attune/api").await.unwrap(), None);
    assert_eq!(fake.count("GET", "/pulls"), 3);
}

#[tokio::test]
async fn bad_gateways_give_up_after_the_policy_attempts() {
    let fake = GitHubFake::start(TOKEN);
    let gh = github(&fake);
    fake.fail_next(Method::GET, "/pulls", 10, Fault::BadGateway);

    let error = gh.find_by_head(&repo(), "attune/api").await.unwrap_err();
    assert!(
        matches!(error, ForgeError::Status { status: 502, .. }),
        "{error}"
    );
    assert_eq!(fake.count("GET", "/pulls"), 4);
}

#[tokio::test]
async fn a_primary_rate_limit_waits_for_the_reset_then_succeeds() {
    let fake = GitHubFake::start(TOKEN);
    let gh = github(&fake);
    fake.fail_next(
        Method::POST,
        "/comments",
        1,
        Fault::PrimaryLimit { reset_in_secs: 1 },
    );
    let n = fake.seed_pr(REPO, "attune/api", "t", "b");

    let started = Instant::now();
    gh.comment(&repo(), n, "hello").await.unwrap();
    // The reset is a whole second away at most, plus a second of slack for clock skew.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.count("POST", "/comments"), 2);
    assert_eq!(fake.pr(REPO, n).comments, ["hello"]);
}

#[tokio::test]
async fn a_secondary_rate_limit_honours_retry_after() {
    let fake = GitHubFake::start(TOKEN);
    let gh = github(&fake);
    fake.push_branch(REPO, "attune/api");
    fake.fail_next(
        Method::POST,
        "/pulls",
        1,
        Fault::SecondaryLimit {
            retry_after_secs: 2,
        },
    );

    let started = Instant::now();
    gh.create(&repo(), &new_pr("attune/api")).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.count("POST", "/pulls"), 2);
    assert_eq!(fake.prs(REPO).len(), 1);
}

#[tokio::test]
async fn a_distant_reset_is_an_error_not_a_sleep() {
    let fake = GitHubFake::start(TOKEN);
    let gh = github(&fake);
    fake.fail_next(
        Method::GET,
        "/pulls",
        1,
        Fault::PrimaryLimit {
            reset_in_secs: 3600,
        },
    );

    let started = Instant::now();
    let error = gh.find_by_head(&repo(), "attune/api").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(error, ForgeError::RateLimited { retry_after, .. } if retry_after >= Duration::from_secs(3590)),
        "{error}"
    );
    assert_eq!(fake.count("GET", "/pulls"), 1);
}

#[tokio::test]
async fn a_403_that_is_no_rate_limit_fails_at_once() {
    let fake = GitHubFake::start(TOKEN);
    let gh = github(&fake);
    fake.push_branch(REPO, "attune/api");
    fake.fail_next(Method::POST, "/pulls", 1, Fault::Forbidden);

    let error = gh.create(&repo(), &new_pr("attune/api")).await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, ForgeError::Status { status: 403, .. }));
    assert!(
        text.contains("Resource not accessible by integration"),
        "{text}"
    );
    assert!(text.contains("permission"), "{text}");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn rejected_credentials_are_a_clear_error_without_the_token() {
    let fake = GitHubFake::start("some-other-token");
    let gh = github(&fake);

    let error = gh.find_by_head(&repo(), "attune/api").await.unwrap_err();
    let (text, debug) = (error.to_string(), format!("{error:?}"));
    assert!(matches!(error, ForgeError::Auth(_)), "{text}");
    assert!(
        text.contains("401") && text.contains("Bad credentials"),
        "{text}"
    );
    assert!(!text.contains(TOKEN) && !debug.contains(TOKEN));
    assert!(!format!("{gh:?}").contains(TOKEN));
    assert_eq!(fake.requests().len(), 1, "a 401 is not retried");
    assert_eq!(fake.requests()[0].credential.as_deref(), Some(TOKEN));
}

#[tokio::test]
async fn clone_url_and_git_credentials() {
    let fake = GitHubFake::start(TOKEN);
    let gh = github(&fake);
    assert_eq!(
        gh.clone_url(&repo()),
        format!(
            "http://127.0.0.1:{}/acme/gitops.git",
            fake.base.port().unwrap()
        )
    );
    assert_eq!(gh.git_username().await.unwrap(), "x-access-token");
    assert_eq!(gh.git_password(&repo()).await.unwrap().expose(), TOKEN);

    let dotcom = GitHub::new(GitHubAuth::Token(SecretToken::from(TOKEN)), None).unwrap();
    assert_eq!(
        dotcom.clone_url(&repo()),
        "https://github.com/acme/gitops.git"
    );
    let ghe = GitHub::new(
        GitHubAuth::Token(SecretToken::from(TOKEN)),
        Some(url::Url::parse("https://ghe.example.com/api/v3/").unwrap()),
    )
    .unwrap();
    assert_eq!(
        ghe.clone_url(&repo()),
        "https://ghe.example.com/acme/gitops.git"
    );
}

#[tokio::test]
async fn an_app_mints_one_installation_token_and_reuses_it() {
    let fake = app_fake();
    let gh = github_app(&fake, APP_ID);
    fake.push_branch(REPO, "attune/api");

    assert_eq!(gh.find_by_head(&repo(), "attune/api").await.unwrap(), None);
    let created = gh.create(&repo(), &new_pr("attune/api")).await.unwrap();
    gh.comment(&repo(), created.number, "hi").await.unwrap();

    assert_eq!(fake.count("GET", "/installation"), 1);
    assert_eq!(fake.count("POST", "/access_tokens"), 1);
    assert_eq!(fake.requests().len(), 2 + 3);
    let minted = fake.minted_tokens();
    let repo_calls: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/repos/") && !r.path.ends_with("/installation"))
        .collect();
    assert_eq!(repo_calls.len(), 3);
    assert!(
        repo_calls
            .iter()
            .all(|r| r.credential.as_ref() == Some(&minted[0]))
    );
    assert_eq!(gh.git_password(&repo()).await.unwrap().expose(), minted[0]);
    assert_eq!(fake.count("POST", "/access_tokens"), 1);
}

#[tokio::test]
async fn an_app_token_near_expiry_is_renewed() {
    let fake = app_fake();
    // Inside the five minutes before expiry in which the backend renews.
    fake.set_token_lifetime(120);
    let gh = github_app(&fake, APP_ID);

    gh.find_by_head(&repo(), "attune/api").await.unwrap();
    gh.find_by_head(&repo(), "attune/api").await.unwrap();

    assert_eq!(
        fake.count("GET", "/installation"),
        1,
        "the installation is cached"
    );
    assert_eq!(fake.count("POST", "/access_tokens"), 2);
    let minted = fake.minted_tokens();
    let used: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/repos/acme/gitops/pulls")
        .map(|r| r.credential.unwrap())
        .collect();
    assert_eq!(used, minted);
    assert_ne!(minted[0], minted[1]);
}

#[tokio::test]
async fn an_app_token_github_stops_accepting_is_replaced_once() {
    let fake = app_fake();
    let gh = github_app(&fake, APP_ID);
    gh.find_by_head(&repo(), "attune/api").await.unwrap();
    fake.revoke_tokens();

    gh.find_by_head(&repo(), "attune/api").await.unwrap();
    assert_eq!(fake.count("POST", "/access_tokens"), 2);
    assert_eq!(
        fake.count("GET", "/repos/acme/gitops/pulls"),
        3,
        "one 401, then the retry"
    );
}

#[tokio::test]
async fn an_app_the_forge_does_not_know_gets_an_auth_error() {
    let fake = app_fake();
    let gh = github_app(&fake, APP_ID + 1);

    let error = gh.find_by_head(&repo(), "attune/api").await.unwrap_err();
    assert!(matches!(error, ForgeError::Auth(_)), "{error}");
    assert_eq!(fake.count("POST", "/access_tokens"), 0);
    assert_eq!(fake.count("GET", "/repos/acme/gitops/pulls"), 0);
}

#[tokio::test]
async fn a_bad_private_key_is_refused_without_echoing_it() {
    let error = GitHub::new(
        GitHubAuth::App {
            app_id: APP_ID,
            private_key_pem: SecretString::from("-----BEGIN RSA PRIVATE KEY-----\nnot a key"),
        },
        None,
    )
    .unwrap_err();
    assert!(matches!(error, ForgeError::Auth(_)));
    assert!(!error.to_string().contains("not a key"));
}
