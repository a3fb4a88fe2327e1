//! GitHub and GitHub Enterprise Server behind [`Forge`].
//!
//! Requests go through octocrab's HTTP stack (TLS, base URI, tracing) but not its typed API or
//! its retry layer: each call is built here with small serde structs for exactly the fields the
//! lifecycle needs, so status codes and rate-limit headers reach [`RetryPolicy`] untouched and
//! every request is counted by us. `create` is the one call that may cost more than one request:
//! GitHub sets labels and reviewers through separate endpoints, so it makes 1 to 3.
//!
//! A GitHub App authenticates per repository: the installation is looked up once with the app's
//! JWT, and its installation token is cached and renewed a few minutes before it expires. So the
//! first call for a repository costs two requests more, and each renewal (hourly) one more.

mod answer;
mod app;
mod request;
mod wire;

use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderValue, Method};
use octocrab::Octocrab;
use octocrab::secrecy::SecretString;
use url::Url;

use super::retry::RetryPolicy;
use super::{Forge, ForgeError, ForgeRepo, NewPullRequest, PrState, PullRequest};
use crate::secret::SecretToken;
use answer::{already_exists, decode};
use app::AppAuth;
use wire::{
    AddLabels, CreatePull, RequestReviewers, WireComment, WireLabel, WirePull, split_reviewers,
};

/// GitHub refuses pull request bodies over 65536 characters; counting bytes keeps any text,
/// however many bytes its characters take, under that.
pub const MAX_BODY_BYTES: usize = 65536;

/// GitHub's list endpoints return at most this many items per page.
const PAGE: usize = 100;

/// How a [`GitHub`] authenticates.
pub enum GitHubAuth {
    /// A personal access token or an installation token obtained elsewhere.
    Token(SecretToken),
    /// A GitHub App: installation tokens are minted per repository from the app's private key.
    App {
        app_id: u64,
        private_key_pem: SecretString,
    },
}

impl std::fmt::Debug for GitHubAuth {
    // Hand-written so neither the token nor the key can reach a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitHubAuth::Token(_) => f.write_str("Token(..)"),
            GitHubAuth::App { app_id, .. } => write!(f, "App {{ app_id: {app_id}, .. }}"),
        }
    }
}

enum Credentials {
    Token(SecretToken),
    App(AppAuth),
}

/// The GitHub backend. Build it inside a Tokio runtime: the HTTP client starts a worker task.
pub struct GitHub {
    crab: Octocrab,
    credentials: Credentials,
    api_base: Url,
    /// Where people (and git) reach repositories, as opposed to the API.
    web_base: Url,
    policy: RetryPolicy,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("api_base", &self.api_base.as_str())
            .field("web_base", &self.web_base.as_str())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl GitHub {
    /// `api_base` is `None` for github.com, or the REST root of GitHub Enterprise Server
    /// (`https://HOST/api/v3/`).
    pub fn new(auth: GitHubAuth, api_base: Option<Url>) -> Result<GitHub, ForgeError> {
        // Without a runtime octocrab would panic while spawning its worker; say so instead.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ForgeError::Transport {
                step: "setup",
                message: "the github client must be created inside a tokio runtime".into(),
            });
        }
        let api_base = match api_base {
            Some(url) => url,
            None => Url::parse("https://api.github.com/").map_err(|e| setup_error(&e))?,
        };
        // Credentials in the URL would travel beside the token (to the API, and through the
        // clone URL to git); only the token is sent.
        let mut api_base = api_base;
        let _ = api_base.set_username("");
        let _ = api_base.set_password(None);
        let web_base = web_base(&api_base);
        let crab = Octocrab::builder()
            .base_uri(api_base.as_str())
            .map_err(|e| setup_error(&e))?
            // RetryPolicy owns retries, so each request the caller sees is one on the wire.
            .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
            // A connection that hangs must fail the call (and be retried), not stall a run.
            .set_connect_timeout(Some(std::time::Duration::from_secs(15)))
            .set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .build()
            .map_err(|e| setup_error(&e))?;
        let credentials = match auth {
            GitHubAuth::Token(token) => {
                // Refuse a token that cannot be sent before the first call would.
                bearer(token.expose())?;
                Credentials::Token(token)
            }
            GitHubAuth::App {
                app_id,
                private_key_pem,
            } => Credentials::App(AppAuth::new(app_id, &private_key_pem)?),
        };
        Ok(GitHub {
            crab,
            credentials,
            api_base,
            web_base,
            policy: RetryPolicy::default(),
        })
    }

    /// Replaces the default retry policy (tests use short waits).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> GitHub {
        self.policy = policy;
        self
    }

    /// The password to pair with [`Forge::git_username`] when pushing to `repo`: the token, or
    /// for an app a current installation token. The trait has no such call, so the lifecycle
    /// reaches it on the concrete backend.
    pub async fn git_password(&self, repo: &ForgeRepo) -> Result<SecretToken, ForgeError> {
        match &self.credentials {
            Credentials::Token(token) => Ok(token.clone()),
            Credentials::App(app) => Ok(app.token(self, repo).await?.0),
        }
    }
}

impl Forge for GitHub {
    /// One request: GitHub filters by `owner:branch` server-side.
    async fn find_by_head(
        &self,
        repo: &ForgeRepo,
        branch: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let head = format!("{}:{branch}", repo.owner);
        let query = query(&[
            ("state", "all"),
            ("head", &head),
            ("sort", "created"),
            ("direction", "desc"),
            // A few rather than one: should GitHub ignore the head filter (it silently does for
            // one it cannot parse), the head check below can still pick ours from the newest.
            ("per_page", "10"),
        ]);
        let path = format!("/repos/{repo}/pulls?{query}");
        let pulls: Vec<WirePull> = self
            .call_json("find pull request", repo, Method::GET, &path, None::<&()>)
            .await?;
        let mut found = Vec::new();
        for pull in pulls {
            if pull.head.ref_ == branch && pull.is_from_owner(&repo.owner) {
                found.push(pull.into_pull_request("find pull request")?);
            }
        }
        Ok(found.into_iter().max_by_key(|p| (p.created_at, p.number)))
    }

    /// One request for the newest 100 pull requests; older ones are beyond any hourly or
    /// concurrent limit worth enforcing, so no further pages are read.
    async fn list_by_head_prefix(
        &self,
        repo: &ForgeRepo,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<PullRequest>, ForgeError> {
        let per_page = PAGE.to_string();
        let query = query(&[
            ("state", "all"),
            ("sort", "created"),
            ("direction", "desc"),
            ("per_page", &per_page),
        ]);
        let path = format!("/repos/{repo}/pulls?{query}");
        let pulls: Vec<WirePull> = self
            .call_json("list pull requests", repo, Method::GET, &path, None::<&()>)
            .await?;
        let mut found = Vec::new();
        for pull in pulls {
            if pull.head.ref_.starts_with(prefix) && pull.is_from_owner(&repo.owner) {
                found.push(pull.into_pull_request("list pull requests")?);
            }
        }
        found.sort_by_key(|p| std::cmp::Reverse((p.created_at, p.number)));
        found.truncate(limit);
        Ok(found)
    }

    /// One request, plus one for labels and one for reviewers when there are any.
    async fn create(
        &self,
        repo: &ForgeRepo,
        pr: &NewPullRequest,
    ) -> Result<PullRequest, ForgeError> {
        let step = "create pull request";
        let body = super::body::fit(&pr.body, MAX_BODY_BYTES);
        let request = CreatePull {
            title: &pr.title,
            body: &body,
            head: &pr.head,
            base: &pr.base,
            draft: pr.draft,
        };
        let path = format!("/repos/{repo}/pulls");
        // GitHub may store the pull request and still answer 502 or lose the connection: then
        // the pull request is looked up by its head before the create is sent again.
        let send = || async {
            let text = self
                .call_once(step, repo, &path, &request)
                .await
                .map_err(|e| already_exists(e, &repo.owner, &pr.head))?;
            decode::<WirePull>(step, &text)?.into_pull_request(step)
        };
        let landed = || async {
            Ok(self
                .find_by_head(repo, &pr.head)
                .await?
                .filter(|p| p.state == PrState::Open && p.base_branch == pr.base))
        };
        let mut created = self.policy.write_once(step, send, landed).await?;

        if !pr.labels.is_empty() {
            let path = format!("/repos/{repo}/issues/{}/labels", created.number);
            let labels: Vec<WireLabel> = self
                .call_json(
                    "add labels",
                    repo,
                    Method::POST,
                    &path,
                    Some(&AddLabels { labels: &pr.labels }),
                )
                .await?;
            created.labels = labels.into_iter().map(|l| l.name).collect();
        }

        let (reviewers, teams) = split_reviewers(&pr.reviewers, &pr.team_reviewers);
        if !reviewers.is_empty() || !teams.is_empty() {
            let path = format!("/repos/{repo}/pulls/{}/requested_reviewers", created.number);
            let request = RequestReviewers {
                reviewers,
                team_reviewers: teams,
            };
            self.call(
                "request reviewers",
                repo,
                Method::POST,
                &path,
                Some(&request),
            )
            .await?;
        }
        Ok(created)
    }

    async fn update(
        &self,
        repo: &ForgeRepo,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<(), ForgeError> {
        let body = super::body::fit(body, MAX_BODY_BYTES);
        let path = format!("/repos/{repo}/pulls/{number}");
        let request = serde_json::json!({ "title": title, "body": body });
        self.call(
            "update pull request",
            repo,
            Method::PATCH,
            &path,
            Some(&request),
        )
        .await
        .map(drop)
    }

    /// One request; after a 5xx or a lost connection the comments are read (one more) and the
    /// comment is sent again only if it is not there.
    async fn comment(&self, repo: &ForgeRepo, number: u64, body: &str) -> Result<(), ForgeError> {
        let body = super::body::fit(body, MAX_BODY_BYTES);
        let path = format!("/repos/{repo}/issues/{number}/comments");
        let request = serde_json::json!({ "body": body });
        let send = || async {
            self.call_once("comment", repo, &path, &request)
                .await
                .map(drop)
        };
        let read = || self.comments(repo, number);
        self.policy.comment_once(&body, send, read).await
    }

    /// The first 100 comments: the lifecycle looks for its own few, which come early.
    async fn comments(&self, repo: &ForgeRepo, number: u64) -> Result<Vec<String>, ForgeError> {
        let path = format!("/repos/{repo}/issues/{number}/comments?per_page={PAGE}");
        let comments: Vec<WireComment> = self
            .call_json("read comments", repo, Method::GET, &path, None::<&()>)
            .await?;
        Ok(comments
            .into_iter()
            .map(|c| c.body.unwrap_or_default())
            .collect())
    }

    async fn close(&self, repo: &ForgeRepo, number: u64) -> Result<(), ForgeError> {
        let path = format!("/repos/{repo}/pulls/{number}");
        let request = serde_json::json!({ "state": "closed" });
        self.call(
            "close pull request",
            repo,
            Method::PATCH,
            &path,
            Some(&request),
        )
        .await
        .map(drop)
    }

    fn clone_url(&self, repo: &ForgeRepo) -> String {
        format!("{}{}/{}.git", self.web_base, repo.owner, repo.name)
    }

    fn api_base(&self) -> Url {
        self.api_base.clone()
    }

    /// GitHub ignores the user name for token auth over HTTPS; this is the one it documents
    /// for installation tokens, and personal tokens accept it too.
    async fn git_username(&self) -> Result<String, ForgeError> {
        Ok("x-access-token".to_owned())
    }

    fn max_body_bytes(&self) -> usize {
        MAX_BODY_BYTES
    }

    async fn git_token(&self, repo: &ForgeRepo) -> Result<Option<SecretToken>, ForgeError> {
        Ok(Some(self.git_password(repo).await?))
    }
}

fn setup_error(error: &dyn std::fmt::Display) -> ForgeError {
    ForgeError::Transport {
        step: "setup",
        message: format!("cannot set up the github client: {error}"),
    }
}

/// The header value, marked sensitive so HTTP tracing never prints it.
fn bearer(token: &str) -> Result<HeaderValue, ForgeError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        ForgeError::Auth("the token contains characters not allowed in an http header".into())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// github.com serves its API from a host of its own; GHE serves it under `/api/v3` of the web
/// host. Anything else (a test server) is taken as both.
fn web_base(api_base: &Url) -> Url {
    if api_base.host_str() == Some("api.github.com") {
        let mut web = api_base.clone();
        let _ = web.set_host(Some("github.com"));
        web.set_path("/");
        return web;
    }
    let mut web = api_base.clone();
    let path = api_base.path().trim_end_matches('/');
    let path = path.strip_suffix("/api/v3").unwrap_or(path);
    web.set_path(&format!("{path}/"));
    web.set_query(None);
    web
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[tokio::test]
    async fn credentials_in_the_api_url_reach_neither_the_api_nor_git() {
        let gh = GitHub::new(
            GitHubAuth::Token("t0ken".into()),
            Some(url("https://u:p@ghe.example.com/api/v3/")),
        )
        .unwrap();
        let repo = ForgeRepo::parse("o/r").unwrap();
        assert_eq!(gh.clone_url(&repo), "https://ghe.example.com/o/r.git");
        assert_eq!(gh.api_base().as_str(), "https://ghe.example.com/api/v3/");
        assert!(!format!("{gh:?}").contains("t0ken"));
    }

    #[test]
    fn web_base_follows_the_api_base() {
        assert_eq!(
            web_base(&url("https://api.github.com/")).as_str(),
            "https://github.com/"
        );
        assert_eq!(
            web_base(&url("https://ghe.example.com/api/v3/")).as_str(),
            "https://ghe.example.com/"
        );
        assert_eq!(
            web_base(&url("https://example.com/git/api/v3")).as_str(),
            "https://example.com/git/"
        );
        assert_eq!(
            web_base(&url("http://127.0.0.1:8080/")).as_str(),
            "http://127.0.0.1:8080/"
        );
    }
}
