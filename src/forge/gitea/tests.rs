//! The Gitea backend against wiremock: retries, recovery of a create that failed after
//! Gitea stored the pull request, and what never leaves a message.

use std::time::Duration;

use super::wire::parse_rfc3339;
use super::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

fn repo() -> ForgeRepo {
    ForgeRepo::parse("o/r").unwrap()
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        base: Duration::from_millis(1),
        max_wait: Duration::from_secs(5),
    }
}

async fn gitea(server: &MockServer) -> Gitea {
    Gitea::new(Url::parse(&server.uri()).unwrap(), &TOKEN.into())
        .unwrap()
        .with_retry(fast())
}

fn pull(number: u64, head: &str, state: &str, merged: bool) -> serde_json::Value {
    json!({
        "number": number, "html_url": format!("http://g/o/r/pulls/{number}"),
        "state": state, "merged": merged, "title": "t", "body": "b",
        "head": {"label": head, "ref": format!("refs/pull/{number}/head"), "repo_id": 1},
        "base": {"label": "main", "ref": "main", "repo_id": 1},
        "labels": [{"id": 1, "name": "attune"}],
        "created_at": "2026-01-02T03:04:05+01:00", "draft": false,
    })
}

fn new_pr() -> NewPullRequest {
    NewPullRequest {
        title: "t".into(),
        body: "b".into(),
        head: "rs".into(),
        base: "main".into(),
        draft: false,
        labels: vec![],
        reviewers: vec!["ghost".into()],
        team_reviewers: vec![],
    }
}

#[test]
fn timestamps_parse_with_offsets_and_fractions() {
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_rfc3339("2000-03-01T00:00:00Z"), Some(951_868_800));
    assert_eq!(
        parse_rfc3339("2026-01-02T03:04:05+01:00"),
        parse_rfc3339("2026-01-02T02:04:05.123Z")
    );
    assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Some(-1));
    assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
    assert_eq!(parse_rfc3339("yesterday"), None);
}

#[test]
fn urls_keep_a_sub_path_and_drop_credentials() {
    let g = Gitea::new(
        Url::parse("https://u:p@example.com/gitea/").unwrap(),
        &TOKEN.into(),
    )
    .unwrap();
    assert_eq!(g.clone_url(&repo()), "https://example.com/gitea/o/r.git");
    assert_eq!(
        g.url(&repo(), &["pulls", "1"], &[("a", "b")]).as_str(),
        "https://example.com/gitea/api/v1/repos/o/r/pulls/1?a=b"
    );
    assert!(!format!("{g:?}").contains(TOKEN));
}

#[tokio::test]
async fn rate_limits_are_waited_out_as_asked() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/repos/o/r/pulls"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/repos/o/r/pulls"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            pull(2, "other", "open", false),
            pull(1, "rs", "closed", true),
        ])))
        .mount(&server)
        .await;
    let g = gitea(&server).await;
    let started = std::time::Instant::now();
    let found = g.find_by_head(&repo(), "rs").await.unwrap().unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(found.number, 1);
    assert_eq!(found.state, PrState::Merged);
    assert_eq!(found.created_at, 1_767_319_445);
    assert_eq!(g.calls(), 2);
}

#[tokio::test]
async fn server_errors_back_off_then_report_gitea_message() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(json!({"message": "down for a bit"})),
        )
        .mount(&server)
        .await;
    let g = gitea(&server).await;
    let error = g.close(&repo(), 1).await.unwrap_err();
    assert_eq!(g.calls(), 3);
    assert_eq!(
        error.to_string(),
        "close pull request: the forge answered 503: down for a bit"
    );
}

#[tokio::test]
async fn a_missing_number_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            json!({"message": "issue does not exist [id: 0, repo_id: 1, index: 99]"}),
        ))
        .mount(&server)
        .await;
    let g = gitea(&server).await;
    assert!(g.comments(&repo(), 99).await.is_err());
    assert_eq!(g.calls(), 1);
}

#[tokio::test]
async fn refused_token_is_an_auth_error_without_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"message": format!("invalid token {TOKEN}")})),
        )
        .mount(&server)
        .await;
    let g = gitea(&server).await;
    let error = g.git_username().await.unwrap_err();
    assert!(matches!(error, ForgeError::Auth(_)));
    assert!(!error.to_string().contains(TOKEN));
    assert!(!format!("{error:?}").contains(TOKEN));
    assert!(error.to_string().contains("[redacted]"));
}

#[tokio::test]
async fn a_create_that_failed_after_storing_the_pull_request_is_recovered() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/repos/o/r/pulls"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "boom"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/repos/o/r/pulls"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([pull(7, "rs", "open", false)])),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/repos/o/r/pulls/7/requested_reviewers"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "User 'ghost' not exist"})),
        )
        .mount(&server)
        .await;
    let g = gitea(&server).await;
    let error = g.create(&repo(), &new_pr()).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "request reviewers: the forge answered 404: pull request #7 was opened without its \
         reviewers: User 'ghost' not exist"
    );
    // Create, find, reviewers: the create is not repeated into a 409.
    assert_eq!(g.calls(), 3);
}

#[tokio::test]
async fn a_create_whose_fate_is_unknown_is_not_sent_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "boom"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let g = gitea(&server).await;
    let error = g.create(&repo(), &new_pr()).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "create pull request: the forge answered 500: boom"
    );
    // One create, then the lookup's own attempts.
    assert_eq!(g.calls(), 4);
}

#[tokio::test]
async fn a_create_that_stored_nothing_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/repos/o/r/pulls"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/repos/o/r/pulls"))
        .respond_with(ResponseTemplate::new(201).set_body_json(pull(8, "rs", "open", false)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/repos/o/r/pulls"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let g = gitea(&server).await;
    let created = g.create(&repo(), &new_pr()).await.unwrap();
    assert_eq!(created.number, 8);
    assert_eq!(created.head_branch, "rs");
    assert_eq!(g.calls(), 3);
}
