//! The Gitea that tests/run starts, seen from a test: its REST API, a fresh repository seeded
//! with files through git over HTTP, and the pull-request reads and merge a test needs.

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::git_http::git;

pub struct Gitea {
    pub url: String,
    pub token: String,
    pub user: String,
    http: reqwest::Client,
}

impl Gitea {
    /// From tests/run's environment; panics (never skips) without it.
    pub fn from_env() -> Gitea {
        let get = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!("{name} is not set: run the tests via tests/run, which starts Gitea")
            })
        };
        Gitea {
            url: get("ATTUNE_GITEA_URL").trim_end_matches('/').to_owned(),
            token: get("ATTUNE_GITEA_TOKEN"),
            user: get("ATTUNE_GITEA_USER"),
            http: reqwest::Client::new(),
        }
    }

    /// `host:port` of the server, the first segment of repository allowlist patterns.
    pub fn host(&self) -> String {
        let url = url::Url::parse(&self.url).unwrap();
        format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
    }

    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, text) = self.api_text(method, path, body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn api_text(&self, method: Method, path: &str, body: Option<Value>) -> (u16, String) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.url))
            .header("authorization", format!("token {}", self.token));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// The clone URL a GitOps tool would record (no credentials).
    pub fn clone_url(&self, repo: &str) -> String {
        format!("{}/{}/{repo}.git", self.url, self.user)
    }

    /// The clone URL with the token as password, for pushes from the test itself.
    pub fn auth_url(&self, repo: &str) -> String {
        let mut url = url::Url::parse(&self.clone_url(repo)).unwrap();
        url.set_username(&self.user).unwrap();
        url.set_password(Some(&self.token)).unwrap();
        url.to_string()
    }

    /// Runs `attune propose --open-pr --forge gitea --output json` for `repo` with `policies`,
    /// the token in the environment and `extra` flags; checks that neither output holds the
    /// token. Returns the exit code, stdout and stderr.
    pub fn open_pr(
        &self,
        repo: &str,
        policies: &Path,
        cache: &Path,
        extra: &[&str],
    ) -> (i32, String, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_attune"))
            .args([
                "propose",
                "--open-pr",
                "--forge",
                "gitea",
                "--output",
                "json",
            ])
            .arg("--policies")
            .arg(policies)
            .args(["--repository", &format!("{}/{repo}", self.user)])
            .args(["--api-url", &self.url])
            .arg("--cache-dir")
            .arg(cache)
            .args(extra)
            .env("ATTUNE_GIT_TOKEN", &self.token)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !stdout.contains(&self.token) && !stderr.contains(&self.token),
            "token leaked"
        );
        (out.status.code().unwrap_or(-1), stdout, stderr)
    }

    /// Creates `repo` with `files` (path, content) as the one commit on `main`; returns its sha.
    pub async fn create_repo(&self, repo: &str, files: &[(&str, String)]) -> String {
        let (status, created) = self
            .api(
                Method::POST,
                "/user/repos",
                Some(json!({"name": repo, "default_branch": "main"})),
            )
            .await;
        assert_eq!(status, 201, "create repo {repo}: {created}");
        let seed = tempfile::tempdir().unwrap();
        let dir = seed.path();
        git(dir, &["init", "-q", "-b", "main"]);
        for (path, content) in files {
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().unwrap_or(Path::new("."))).unwrap();
            std::fs::write(file, content).unwrap();
        }
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", "manifests"]);
        git(dir, &["push", "-q", &self.auth_url(repo), "main"]);
        let sha = git(dir, &["rev-parse", "HEAD"]);
        // Gitea indexes a push asynchronously; until then the repository counts as empty and
        // its pull-request endpoints answer 404.
        for _ in 0..100 {
            let (_, info) = self
                .api(Method::GET, &format!("/repos/{}/{repo}", self.user), None)
                .await;
            if info["empty"] == false {
                return sha;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("gitea still reports {repo} as empty after the push");
    }

    /// Every pull request of `repo`, open and closed, newest first.
    pub async fn pulls(&self, repo: &str) -> Vec<Value> {
        let path = format!("/repos/{}/{repo}/pulls?state=all&limit=50", self.user);
        let (status, list) = self.api(Method::GET, &path, None).await;
        assert_eq!(status, 200, "list pulls of {repo}: {list}");
        list.as_array().unwrap().clone()
    }

    pub async fn pull(&self, repo: &str, number: u64) -> Value {
        let path = format!("/repos/{}/{repo}/pulls/{number}", self.user);
        let (status, pr) = self.api(Method::GET, &path, None).await;
        assert_eq!(status, 200, "get pull {number}: {pr}");
        pr
    }

    /// The unified diff of a pull request.
    pub async fn diff(&self, repo: &str, number: u64) -> String {
        let path = format!("/repos/{}/{repo}/pulls/{number}.diff", self.user);
        let (status, diff) = self.api_text(Method::GET, &path, None).await;
        assert_eq!(status, 200, "diff of pull {number}: {diff}");
        diff
    }

    /// Merges a pull request, retrying while Gitea still computes mergeability.
    pub async fn merge(&self, repo: &str, number: u64) {
        let path = format!("/repos/{}/{repo}/pulls/{number}/merge", self.user);
        for _ in 0..50 {
            let body = json!({"Do": "merge", "delete_branch_after_merge": true});
            match self.api(Method::POST, &path, Some(body)).await {
                (200, _) => return,
                (405, _) => tokio::time::sleep(Duration::from_millis(300)).await,
                (s, v) => panic!("merge #{number}: {s} {v}"),
            }
        }
        panic!("#{number} never became mergeable");
    }
}
