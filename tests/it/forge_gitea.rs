//! The Gitea backend against a real Gitea 1.26 (`tests/servers/gitea.sh`). Each test makes its
//! own repository, so tests run in parallel on one server. Setup (repositories, collaborators,
//! pushes, merges) goes around the backend, so `Gitea::calls` counts only what the backend does.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use attune::forge::gitea::{Gitea, MAX_BODY_BYTES};
use attune::forge::{Forge, ForgeError, ForgeRepo, NewPullRequest, PrState};
use serde_json::{Value, json};
use url::Url;

struct Env {
    url: String,
    token: String,
    user: String,
    reviewer: String,
}

fn env() -> Env {
    let get = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: these tests need a running Gitea. Start one with\n  \
                 tests/servers/gitea.sh build && tests/servers/gitea.sh up /tmp/attune-gitea && \
                 set -a && . /tmp/attune-gitea/gitea.env && set +a\nand stop it with \
                 tests/servers/gitea.sh down /tmp/attune-gitea"
            )
        })
    };
    Env {
        url: get("ATTUNE_GITEA_URL"),
        token: get("ATTUNE_GITEA_TOKEN"),
        user: get("ATTUNE_GITEA_USER"),
        reviewer: get("ATTUNE_GITEA_REVIEWER"),
    }
}

/// A fresh repository with `main` and the given branches, each one commit ahead of `main`.
struct Fixture {
    env: Env,
    repo: ForgeRepo,
    setup: reqwest::Client,
    clone_url: String,
}

impl Fixture {
    async fn new(name: &str, branches: &[&str]) -> Fixture {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let env = env();
        let unique = format!(
            "{name}-{}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let mut fixture = Fixture {
            repo: ForgeRepo {
                owner: env.user.clone(),
                name: unique.clone(),
            },
            env,
            setup: reqwest::Client::new(),
            clone_url: String::new(),
        };
        let created = fixture
            .api(
                reqwest::Method::POST,
                "/user/repos",
                Some(json!({"name": unique, "auto_init": true, "default_branch": "main"})),
            )
            .await;
        fixture.clone_url = created["clone_url"].as_str().unwrap().to_owned();
        let collaborator = format!(
            "/repos/{}/collaborators/{}",
            fixture.repo, fixture.env.reviewer
        );
        fixture
            .api(
                reqwest::Method::PUT,
                &collaborator,
                Some(json!({"permission": "write"})),
            )
            .await;
        fixture.push(branches);
        fixture
    }

    fn gitea(&self) -> Gitea {
        Gitea::new(
            Url::parse(&self.env.url).unwrap(),
            &self.env.token.as_str().into(),
        )
        .unwrap()
    }

    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.try_api(method.clone(), path, body).await;
        assert!(
            (200..300).contains(&status),
            "setup {method} {path}: {status} {value}"
        );
        value
    }

    async fn try_api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .setup
            .request(method, format!("{}/api/v1{path}", self.env.url))
            .header("authorization", format!("token {}", self.env.token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn push(&self, branches: &[&str]) {
        if branches.is_empty() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut remote = Url::parse(&self.clone_url).unwrap();
        remote.set_username(&self.env.user).unwrap();
        remote.set_password(Some(&self.env.token)).unwrap();
        git(dir.path(), &["clone", "--quiet", remote.as_str(), "."]);
        for branch in branches {
            git(
                dir.path(),
                &["checkout", "--quiet", "-B", branch, "origin/main"],
            );
            let file = format!("{}.txt", branch.replace('/', "-"));
            std::fs::write(dir.path().join(&file), format!("{branch}\n")).unwrap();
            git(dir.path(), &["add", &file]);
            git(dir.path(), &["commit", "--quiet", "-m", branch]);
        }
        let mut push = vec!["push", "--quiet", "origin"];
        push.extend(branches);
        git(dir.path(), &push);
    }

    fn new_pr(&self, head: &str) -> NewPullRequest {
        NewPullRequest {
            title: format!("attune: right-size {head}"),
            body: "cpu 250m → 200m\n<!-- attune:state {\"v\":1} -->".into(),
            head: head.into(),
            base: "main".into(),
            draft: false,
            labels: vec![],
            reviewers: vec![],
            team_reviewers: vec![],
        }
    }

    /// Merges through the API, deleting the head branch as a merge button would. Gitea answers
    /// 405 "try again later" while its mergeability check is still running.
    async fn merge(&self, number: u64) {
        let path = format!("/repos/{}/pulls/{number}/merge", self.repo);
        let body = json!({"Do": "merge", "delete_branch_after_merge": true});
        for _ in 0..30 {
            let (status, answer) = self
                .try_api(reqwest::Method::POST, &path, Some(body.clone()))
                .await;
            match status {
                200 => return,
                405 => tokio::time::sleep(Duration::from_millis(300)).await,
                _ => panic!("merge #{number}: {status} {answer}"),
            }
        }
        panic!("merge #{number}: still not mergeable");
    }
}

fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=attune test",
            "-c",
            "user.email=attune@example.invalid",
            "-c",
            "credential.helper=",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .unwrap();
    // Not the arguments: the remote URL carries the token.
    assert!(
        output.status.success(),
        "git {}: {}",
        args[0],
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `op` and returns its result with the number of HTTP calls it made.
async fn counted<T>(gitea: &Gitea, op: impl std::future::Future<Output = T>) -> (T, u64) {
    let before = gitea.calls();
    let value = op.await;
    (value, gitea.calls() - before)
}

#[tokio::test]
async fn lifecycle_find_create_update_comment_close() {
    let fx = Fixture::new("lifecycle", &["attune/api", "attune/web"]).await;
    let g = fx.gitea();
    let repo = &fx.repo;

    let (none, calls) = counted(&g, g.find_by_head(repo, "attune/api")).await;
    assert_eq!(none.unwrap(), None);
    assert_eq!(calls, 1, "find");

    let mut new = fx.new_pr("attune/api");
    new.labels = vec!["attune".into(), "size/right".into()];
    new.reviewers = vec![fx.env.reviewer.clone()];
    let (created, calls) = counted(&g, g.create(repo, &new)).await;
    let created = created.unwrap();
    // One label lookup; per missing label its creation and a second look (a run creating it at
    // the same time would show there); the create carrying labels and reviewers.
    assert_eq!(calls, 6, "create with two missing labels");
    assert_eq!(created.state, PrState::Open);
    assert_eq!(created.head_branch, "attune/api");
    assert_eq!(created.base_branch, "main");
    assert_eq!(created.labels, ["attune", "size/right"]);
    assert!(created.url.ends_with(&format!("/pulls/{}", created.number)));
    let raw = fx
        .api(
            reqwest::Method::GET,
            &format!("/repos/{repo}/pulls/{}", created.number),
            None,
        )
        .await;
    assert_eq!(
        raw["requested_reviewers"][0]["login"],
        json!(fx.env.reviewer)
    );

    // Labels now exist: lookup and create, nothing else; with the find before it, 3 calls.
    let mut second = fx.new_pr("attune/web");
    second.labels = new.labels.clone();
    second.reviewers = new.reviewers.clone();
    let (found, find_calls) = counted(&g, g.find_by_head(repo, "attune/web")).await;
    assert_eq!(found.unwrap(), None);
    let (web, create_calls) = counted(&g, g.create(repo, &second)).await;
    let web = web.unwrap();
    assert_eq!((find_calls, create_calls), (1, 2));
    assert_eq!(web.labels, ["attune", "size/right"]);

    let (found, calls) = counted(&g, g.find_by_head(repo, "attune/api")).await;
    assert_eq!(found.unwrap().unwrap(), created);
    assert_eq!(calls, 1, "find");

    let body = "cpu 250m → 180m\n<!-- attune:state {\"v\":2} -->";
    let (updated, calls) = counted(&g, g.update(repo, created.number, "new title", body)).await;
    updated.unwrap();
    assert_eq!(calls, 1, "update");
    let found = g.find_by_head(repo, "attune/api").await.unwrap().unwrap();
    assert_eq!(
        (found.title.as_str(), found.body.as_str()),
        ("new title", body)
    );

    let (commented, calls) = counted(&g, g.comment(repo, created.number, "first")).await;
    commented.unwrap();
    assert_eq!(calls, 1, "comment");
    g.comment(repo, created.number, "second").await.unwrap();
    let (comments, calls) = counted(&g, g.comments(repo, created.number)).await;
    assert_eq!(comments.unwrap(), ["first", "second"]);
    assert_eq!(calls, 1, "comments");

    let (closed, calls) = counted(&g, g.close(repo, created.number)).await;
    closed.unwrap();
    assert_eq!(calls, 1, "close");
    let found = g.find_by_head(repo, "attune/api").await.unwrap().unwrap();
    assert_eq!(found.state, PrState::Closed);

    // A newer pull request for the same branch wins over the closed one.
    let reopened = g.create(repo, &fx.new_pr("attune/api")).await.unwrap();
    let found = g.find_by_head(repo, "attune/api").await.unwrap().unwrap();
    assert_eq!(
        (found.number, found.state),
        (reopened.number, PrState::Open)
    );
}

#[tokio::test]
async fn merged_is_reported_after_the_branch_is_deleted() {
    let fx = Fixture::new("merged", &["attune/merge-me"]).await;
    let g = fx.gitea();
    let created = g
        .create(&fx.repo, &fx.new_pr("attune/merge-me"))
        .await
        .unwrap();
    fx.merge(created.number).await;
    let branch = format!("/repos/{}/branches/attune/merge-me", fx.repo);
    let (status, _) = fx.try_api(reqwest::Method::GET, &branch, None).await;
    assert_eq!(status, 404, "the merge should have deleted the head branch");

    let (found, calls) = counted(&g, g.find_by_head(&fx.repo, "attune/merge-me")).await;
    let found = found.unwrap().unwrap();
    assert_eq!(calls, 1);
    assert_eq!(found.number, created.number);
    assert_eq!(found.state, PrState::Merged);
    assert_eq!(found.head_branch, "attune/merge-me");
    let listed = g
        .list_by_head_prefix(&fx.repo, "attune/", 10)
        .await
        .unwrap();
    assert_eq!(listed, [found]);
}

#[tokio::test]
async fn a_second_open_pull_request_for_a_branch_is_a_clear_error() {
    let fx = Fixture::new("duplicate", &["attune/dup"]).await;
    let g = fx.gitea();
    g.create(&fx.repo, &fx.new_pr("attune/dup")).await.unwrap();
    let (error, calls) = counted(&g, g.create(&fx.repo, &fx.new_pr("attune/dup"))).await;
    let error = error.unwrap_err();
    assert_eq!(calls, 1, "a 409 is not retried");
    assert!(matches!(error, ForgeError::Status { status: 409, .. }));
    assert_eq!(
        error.to_string(),
        "create pull request: the forge answered 409: an open pull request from `attune/dup` \
         into `main` already exists"
    );
}

#[tokio::test]
async fn a_wrong_token_is_a_clear_error_without_the_token() {
    let env = env();
    let wrong = "feedfacefeedfacefeedfacefeedfacefeedface";
    let g = Gitea::new(Url::parse(&env.url).unwrap(), &wrong.into()).unwrap();
    let repo = ForgeRepo::parse(&format!("{}/anything", env.user)).unwrap();
    let error = g.find_by_head(&repo, "attune/x").await.unwrap_err();
    let shown = format!("{error} {error:?} {g:?}");
    assert!(matches!(error, ForgeError::Auth(_)), "{shown}");
    assert_eq!(
        error.to_string(),
        "authentication: find pull request: gitea refused the token (invalid username, password \
         or token)"
    );
    assert!(!shown.contains(wrong) && !shown.contains(&env.token));
    assert_eq!(g.calls(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn the_author_as_reviewer_is_reported_and_the_pull_request_kept() {
    // Gitea stores the pull request, then fails the reviewer request with a 500: the backend
    // must not retry into a 409, but find the pull request and report the real reason.
    let fx = Fixture::new("self-review", &["attune/self"]).await;
    let g = fx.gitea();
    let mut new = fx.new_pr("attune/self");
    new.reviewers = vec![fx.env.user.clone()];
    let (error, calls) = counted(&g, g.create(&fx.repo, &new)).await;
    let error = error.unwrap_err().to_string();
    assert!(
        error.starts_with("request reviewers: the forge answered 422: pull request #1 was opened without its reviewers: poster of pr can't be reviewer"),
        "{error}"
    );
    assert_eq!(calls, 3, "create, find, request reviewers");
    let found = g.find_by_head(&fx.repo, "attune/self").await.unwrap();
    assert_eq!(found.map(|p| p.state), Some(PrState::Open));
}

#[tokio::test]
async fn prefix_listing_is_newest_first_and_limited() {
    let fx = Fixture::new("prefix", &["attune/a", "attune/b", "feature/c"]).await;
    let g = fx.gitea();
    for head in ["attune/a", "feature/c", "attune/b"] {
        let mut new = fx.new_pr(head);
        new.draft = head == "attune/b";
        g.create(&fx.repo, &new).await.unwrap();
    }
    let (listed, calls) = counted(&g, g.list_by_head_prefix(&fx.repo, "attune/", 10)).await;
    let listed = listed.unwrap();
    assert_eq!(calls, 1);
    let heads: Vec<_> = listed.iter().map(|p| p.head_branch.as_str()).collect();
    assert_eq!(heads, ["attune/b", "attune/a"]);
    assert!(listed[0].draft && listed[0].title.starts_with("WIP: "));
    assert!(!listed[1].draft);
    let one = g.list_by_head_prefix(&fx.repo, "attune/", 1).await.unwrap();
    assert_eq!(one, listed[..1]);
}

#[tokio::test]
async fn long_bodies_are_cut_keeping_the_marker() {
    let fx = Fixture::new("long-body", &["attune/long"]).await;
    let g = fx.gitea();
    let marker = "<!-- attune:state {\"v\":3} -->";
    let mut new = fx.new_pr("attune/long");
    new.body = format!("{}\n{marker}", "| row | ünïcödé |\n".repeat(10_000));
    assert_eq!(g.max_body_bytes(), MAX_BODY_BYTES);
    let created = g.create(&fx.repo, &new).await.unwrap();
    assert!(created.body.len() <= MAX_BODY_BYTES);
    assert!(created.body.ends_with(marker));
    g.update(&fx.repo, created.number, "t", &new.body)
        .await
        .unwrap();
    let found = g
        .find_by_head(&fx.repo, "attune/long")
        .await
        .unwrap()
        .unwrap();
    assert!(found.body.len() <= MAX_BODY_BYTES && found.body.ends_with(marker));
}

#[tokio::test]
async fn user_name_is_asked_once_and_clone_url_is_giteas() {
    let fx = Fixture::new("user", &[]).await;
    let g = fx.gitea();
    assert_eq!(g.git_username().await.unwrap(), fx.env.user);
    assert_eq!(g.git_username().await.unwrap(), fx.env.user);
    assert_eq!(g.calls(), 1);
    assert_eq!(g.clone_url(&fx.repo), fx.clone_url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pull_requests_opened_at_once_share_one_label() {
    const AT_ONCE: usize = 3;
    const ROUNDS: usize = 4;
    let branches: Vec<String> = (0..ROUNDS * AT_ONCE)
        .map(|i| format!("attune/w{i}"))
        .collect();
    let names: Vec<&str> = branches.iter().map(String::as_str).collect();
    let fx = Fixture::new("label-race", &names).await;
    for round in 0..ROUNDS {
        // A label the repository does not have yet, wanted by every pull request of the round;
        // each run has its own client, as separate controller replicas or CLI runs would.
        let label = format!("attune-{round}");
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(AT_ONCE));
        let runs: Vec<_> = (0..AT_ONCE)
            .map(|i| {
                let (g, repo, start) = (fx.gitea(), fx.repo.clone(), start.clone());
                let mut pr = fx.new_pr(&branches[round * AT_ONCE + i]);
                pr.labels = vec![label.clone()];
                tokio::spawn(async move {
                    start.wait().await;
                    g.create(&repo, &pr).await
                })
            })
            .collect();
        let mut created = Vec::new();
        for run in runs {
            created.push(run.await.unwrap().unwrap());
        }
        let labels = fx
            .api(
                reqwest::Method::GET,
                &format!("/repos/{}/labels?limit=50", fx.repo),
                None,
            )
            .await;
        let same = labels
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["name"] == json!(label))
            .count();
        assert_eq!(same, 1, "round {round}: {labels}");
        for pr in &created {
            assert_eq!(
                pr.labels,
                std::slice::from_ref(&label),
                "round {round}: #{}",
                pr.number
            );
        }
    }
}
