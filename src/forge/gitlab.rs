//! GitLab (gitlab.com and self-managed) behind [`Forge`], through the REST API v4. Written from
//! GitLab's API documentation and tested against a stateful fake; no real GitLab was run.
//!
//! A project is addressed by its URL-encoded path (`group%2Fsub%2Fname`), so nested groups work
//! and no id lookup is needed. Pull requests are merge requests, numbered by their `iid`.
//!
//! Calls per operation, retries after 429/5xx not counted:
//! - `find_by_head`: one `GET merge_requests?source_branch=…&state=all`, newest first; merge
//!   requests from forks (another `source_project_id`) are not ours.
//! - `list_by_head_prefix`: pages of 100, newest first, following `X-Next-Page` (or `Link`)
//!   until `limit` matched, at most [`MAX_PAGES`].
//! - `create`: one `POST` carrying labels (GitLab creates missing ones) and reviewer ids, plus
//!   one `GET users?username=` per reviewer first (GitLab takes ids only). After a 5xx or a lost
//!   connection the merge request is looked up (one more) before it is sent again.
//! - `update`, `comments`, `close`: one call each; `comment` one, plus a read of the notes after
//!   a lost answer. `git_username` none.
//!
//! Quirks handled here:
//! - A second open merge request for a source branch is refused with 409; named as such.
//! - Rate limits are 429 with `Retry-After` and `RateLimit-*` headers; a 403 is a permission.
//! - A draft is a title starting with `Draft: `, so `create` prefixes it.
//! - Groups cannot be requested as reviewers through the API; team reviewers are refused
//!   before anything is sent.
//! - `locked` (a merge in progress) counts as open.

#[cfg(test)]
mod tests;
mod wire;

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, header};
use serde_json::json;
use url::Url;

use super::rest::{self, Dialect, Refusal, Rest, decode};
use super::retry::{self, Attempt, RetryPolicy};
use super::{Forge, ForgeError, ForgeRepo, NewPullRequest, PrState, PullRequest, RequestPeople};
use crate::secret::SecretToken;
use wire::{ApiMergeRequest, ApiNote, ApiUser, DRAFT_PREFIX, error_message};

/// GitLab's limit on descriptions and notes is 1,048,576 characters; bytes keep any text under.
pub const MAX_BODY_BYTES: usize = 1_048_576;
/// Items per list page: GitLab's maximum.
const PAGE: usize = 100;
/// List pages a prefix scan reads at most: older merge requests count as absent.
pub const MAX_PAGES: u32 = 5;

/// How a [`GitLab`] authenticates.
#[derive(Clone)]
pub enum GitLabAuth {
    /// A personal, project or group access token, sent as `PRIVATE-TOKEN`.
    PrivateToken(SecretToken),
    /// An OAuth 2 access token, sent as `Authorization: Bearer`.
    OAuth(SecretToken),
}

impl GitLabAuth {
    /// Access tokens carry GitLab's `glpat-` prefix; any other token (an OAuth access token) is
    /// sent as a bearer token, which GitLab also accepts for access tokens.
    pub fn from_token(token: SecretToken) -> GitLabAuth {
        if token.expose().trim_start().starts_with("glpat-") {
            GitLabAuth::PrivateToken(token)
        } else {
            GitLabAuth::OAuth(token)
        }
    }

    fn token(&self) -> &SecretToken {
        match self {
            GitLabAuth::PrivateToken(t) | GitLabAuth::OAuth(t) => t,
        }
    }
}

impl std::fmt::Debug for GitLabAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitLabAuth::PrivateToken(_) => f.write_str("PrivateToken(..)"),
            GitLabAuth::OAuth(_) => f.write_str("OAuth(..)"),
        }
    }
}

/// A GitLab server reached with a token.
pub struct GitLab {
    /// The web root: clone URLs live under it.
    web: Url,
    /// Requests to `<web>/api/v4`.
    rest: Rest,
}

impl std::fmt::Debug for GitLab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitLab")
            .field("web", &self.web.as_str())
            .field("calls", &self.calls())
            .finish_non_exhaustive()
    }
}

impl GitLab {
    /// A client for the GitLab at `base_url` (the web root, e.g. `https://gitlab.example.com/`,
    /// or its API root ending in `/api/v4`); gitlab.com when `None`. Credentials inside the URL
    /// are dropped: the token is the only one sent.
    pub fn new(base_url: Option<Url>, auth: GitLabAuth) -> Result<GitLab, ForgeError> {
        let setup = |message: String| ForgeError::Transport {
            step: "configure gitlab",
            message,
        };
        let mut web = match base_url {
            Some(url) => url,
            None => Url::parse("https://gitlab.com/").map_err(|e| setup(e.to_string()))?,
        };
        if !matches!(web.scheme(), "http" | "https") || web.cannot_be_a_base() {
            return Err(setup(format!(
                "a {}: url cannot reach gitlab; give its http(s) address",
                web.scheme()
            )));
        }
        let _ = web.set_username("");
        let _ = web.set_password(None);
        web.set_query(None);
        web.set_fragment(None);
        let path = web.path().trim_end_matches('/');
        let path = path.strip_suffix("/api/v4").unwrap_or(path).to_owned();
        web.set_path(&format!("{path}/"));
        let mut api = web.clone();
        api.set_path(&format!("{path}/api/v4"));
        let auth_header = auth_header(&auth)?;
        let http = rest::client("configure gitlab", Some(Duration::from_secs(15)))?;
        let dialect = Dialect {
            name: "gitlab",
            error_message,
            judge,
        };
        let rest = Rest::new(http, api, auth_header, auth.token().clone(), dialect);
        Ok(GitLab { web, rest })
    }

    /// Replaces the default retry policy.
    pub fn with_retry(mut self, policy: RetryPolicy) -> GitLab {
        self.rest.retry = policy;
        self
    }

    /// HTTP requests sent so far, retries included.
    pub fn calls(&self) -> u64 {
        self.rest.calls()
    }

    /// `<api>/projects/<url-encoded path>/<rest…>?<query>`.
    fn project_url(&self, repo: &ForgeRepo, rest: &[&str], query: &[(&str, &str)]) -> Url {
        // One segment: `/` inside it is percent-encoded, as GitLab wants the path.
        let project = repo.to_string();
        let project_path = ["projects", project.as_str()];
        self.rest.url(&[&project_path[..], rest].concat(), query)
    }

    /// Merge requests of the project, newest first, whose source branch satisfies `wanted`,
    /// until `limit` are kept or `max_pages` are read.
    async fn scan(
        &self,
        step: &'static str,
        repo: &ForgeRepo,
        filter: &[(&str, &str)],
        wanted: impl Fn(&str) -> bool,
        limit: usize,
    ) -> Result<Vec<PullRequest>, ForgeError> {
        let mut kept = Vec::new();
        let mut page = 1;
        let per_page = PAGE.to_string();
        while limit > 0 && page <= MAX_PAGES {
            let page_text = page.to_string();
            let mut query = vec![
                ("state", "all"),
                ("order_by", "created_at"),
                ("sort", "desc"),
                ("per_page", per_page.as_str()),
                ("page", page_text.as_str()),
            ];
            query.extend_from_slice(filter);
            let url = self.project_url(repo, &["merge_requests"], &query);
            let answer = self.rest.send(step, Method::GET, &url, None, true).await?;
            let found: Vec<ApiMergeRequest> = decode(step, &answer.body)?;
            for mr in found {
                if mr.is_same_project() && wanted(&mr.source_branch) {
                    kept.push(mr.into_pull_request(step)?);
                    if kept.len() >= limit {
                        return Ok(kept);
                    }
                }
            }
            match wire::next_page(&answer.headers) {
                Some(next) if next > page => page = next,
                _ => break,
            }
        }
        Ok(kept)
    }

    /// Reviewer user names as GitLab user ids, one lookup each; an unknown name is an error.
    async fn user_ids(&self, usernames: &[String]) -> Result<Vec<u64>, ForgeError> {
        const STEP: &str = "look up reviewers";
        let mut ids = Vec::with_capacity(usernames.len());
        for name in usernames {
            let name = name.trim().trim_start_matches('@');
            let url = self.rest.url(&["users"], &[("username", name)]);
            let answer = self.rest.send(STEP, Method::GET, &url, None, true).await?;
            let users: Vec<ApiUser> = decode(STEP, &answer.body)?;
            let user = users
                .into_iter()
                .find(|u| u.username.eq_ignore_ascii_case(name))
                .ok_or_else(|| ForgeError::Unsupported {
                    step: STEP,
                    message: format!("gitlab has no user `{name}`; name reviewers by user name"),
                })?;
            if !ids.contains(&user.id) {
                ids.push(user.id);
            }
        }
        Ok(ids)
    }

    /// The body of the create request, after checking what GitLab cannot take.
    async fn create_body(&self, pr: &NewPullRequest) -> Result<serde_json::Value, ForgeError> {
        check_people(&RequestPeople {
            labels: &pr.labels,
            reviewers: &pr.reviewers,
            team_reviewers: &pr.team_reviewers,
        })?;
        let reviewer_ids = self.user_ids(&pr.reviewers).await?;
        let title = if pr.draft && !wire::is_draft_title(&pr.title) {
            format!("{DRAFT_PREFIX}{}", pr.title)
        } else {
            pr.title.clone()
        };
        let mut body = json!({
            "source_branch": pr.head,
            "target_branch": pr.base,
            "title": title,
            "description": super::body::fit(&pr.body, MAX_BODY_BYTES),
        });
        if !pr.labels.is_empty() {
            body["labels"] = json!(pr.labels.join(","));
        }
        if !reviewer_ids.is_empty() {
            body["reviewer_ids"] = json!(reviewer_ids);
        }
        Ok(body)
    }
}

impl Forge for GitLab {
    async fn find_by_head(
        &self,
        repo: &ForgeRepo,
        branch: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let found = self
            .scan(
                "find pull request",
                repo,
                &[("source_branch", branch)],
                |head| head == branch,
                1,
            )
            .await?;
        Ok(found.into_iter().max_by_key(|p| (p.created_at, p.number)))
    }

    async fn list_by_head_prefix(
        &self,
        repo: &ForgeRepo,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<PullRequest>, ForgeError> {
        let step = "list pull requests";
        self.scan(step, repo, &[], |head| head.starts_with(prefix), limit)
            .await
    }

    async fn create(
        &self,
        repo: &ForgeRepo,
        pr: &NewPullRequest,
    ) -> Result<PullRequest, ForgeError> {
        const STEP: &str = "create pull request";
        let body = self.create_body(pr).await?;
        let url = self.project_url(repo, &["merge_requests"], &[]);
        let send = || async {
            match self
                .rest
                .send(STEP, Method::POST, &url, Some(&body), false)
                .await
            {
                Ok(answer) => {
                    decode::<ApiMergeRequest>(STEP, &answer.body)?.into_pull_request(STEP)
                }
                Err(ForgeError::Status {
                    status: 409,
                    message,
                    ..
                }) => Err(ForgeError::Status {
                    step: STEP,
                    status: 409,
                    message: format!(
                        "an open merge request from `{}` already exists ({message})",
                        pr.head
                    ),
                }),
                Err(other) => Err(other),
            }
        };
        // GitLab may store the merge request and still answer 500 or lose the connection.
        let landed = || async {
            Ok(self
                .find_by_head(repo, &pr.head)
                .await?
                .filter(|p| p.state == PrState::Open && p.base_branch == pr.base))
        };
        self.rest.retry.write_once(STEP, send, landed).await
    }

    async fn update(
        &self,
        repo: &ForgeRepo,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<(), ForgeError> {
        let iid = number.to_string();
        let url = self.project_url(repo, &["merge_requests", &iid], &[]);
        let body = json!({"title": title, "description": super::body::fit(body, MAX_BODY_BYTES)});
        self.rest
            .send("update pull request", Method::PUT, &url, Some(&body), true)
            .await
            .map(drop)
    }

    /// One request; after a 5xx or a lost connection the notes are read (one more) and the
    /// comment is sent again only if it is not there.
    async fn comment(&self, repo: &ForgeRepo, number: u64, body: &str) -> Result<(), ForgeError> {
        let text = super::body::fit(body, MAX_BODY_BYTES);
        let iid = number.to_string();
        let url = self.project_url(repo, &["merge_requests", &iid, "notes"], &[]);
        let read = || self.comments(repo, number);
        self.rest.comment(&url, &text, read).await
    }

    /// The first 100 notes people wrote, oldest first; GitLab's own system notes are left out.
    async fn comments(&self, repo: &ForgeRepo, number: u64) -> Result<Vec<String>, ForgeError> {
        const STEP: &str = "read comments";
        let iid = number.to_string();
        let per_page = PAGE.to_string();
        let query = [
            ("sort", "asc"),
            ("order_by", "created_at"),
            ("per_page", &per_page),
        ];
        let url = self.project_url(repo, &["merge_requests", &iid, "notes"], &query);
        let answer = self.rest.send(STEP, Method::GET, &url, None, true).await?;
        let notes: Vec<ApiNote> = decode(STEP, &answer.body)?;
        Ok(notes
            .into_iter()
            .filter(|n| !n.system)
            .map(|n| n.body.unwrap_or_default())
            .collect())
    }

    async fn close(&self, repo: &ForgeRepo, number: u64) -> Result<(), ForgeError> {
        let iid = number.to_string();
        let url = self.project_url(repo, &["merge_requests", &iid], &[]);
        let body = json!({"state_event": "close"});
        self.rest
            .send("close pull request", Method::PUT, &url, Some(&body), true)
            .await
            .map(drop)
    }

    fn clone_url(&self, repo: &ForgeRepo) -> String {
        let mut url = self.web.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty();
            segments.extend(repo.owner.split('/'));
            segments.push(&format!("{}.git", repo.name));
        }
        url.into()
    }

    fn api_base(&self) -> Url {
        self.rest.api().clone()
    }

    /// GitLab takes any user name with an access token over HTTPS, and wants `oauth2` with an
    /// OAuth token; `oauth2` serves both.
    async fn git_username(&self) -> Result<String, ForgeError> {
        Ok("oauth2".to_owned())
    }

    /// Nested groups are GitLab's own: every owner path is accepted.
    fn check_repo(&self, _repo: &ForgeRepo) -> Result<(), ForgeError> {
        Ok(())
    }

    fn check_request(&self, people: &RequestPeople<'_>) -> Result<(), ForgeError> {
        check_people(people)
    }

    fn max_body_bytes(&self) -> usize {
        MAX_BODY_BYTES
    }
}

/// The header the token travels in, marked sensitive so HTTP tracing never prints it.
fn auth_header(auth: &GitLabAuth) -> Result<(HeaderName, HeaderValue), ForgeError> {
    let token = auth.token().expose().trim();
    if token.is_empty() {
        return Err(ForgeError::Auth("the gitlab token is empty".into()));
    }
    let (name, text) = match auth {
        GitLabAuth::PrivateToken(_) => (HeaderName::from_static("private-token"), token.to_owned()),
        GitLabAuth::OAuth(_) => (header::AUTHORIZATION, format!("Bearer {token}")),
    };
    let mut value = HeaderValue::from_str(&text).map_err(|_| {
        ForgeError::Auth("the gitlab token contains characters an http header cannot carry".into())
    })?;
    value.set_sensitive(true);
    Ok((name, value))
}

/// GitLab's refusals: a 403 or 404 says what usually causes it; rate limits are 429 only.
fn judge(refusal: Refusal<'_>) -> Attempt {
    let status = refusal.status;
    let message = match status {
        403 => format!(
            "{} (the token lacks a permission this needs: scope api, role developer)",
            refusal.message
        ),
        404 => format!(
            "{} (no such project, or the token cannot see it)",
            refusal.message
        ),
        _ => refusal.message.clone(),
    };
    let error = refusal.error(message);
    let wait = wire::rate_limit_wait(status, refusal.headers, rest::now_unix());
    rest::decide(error, wait, retry::is_transient(status))
}

/// What GitLab cannot take in a merge request: groups as reviewers, labels with commas.
fn check_people(people: &RequestPeople<'_>) -> Result<(), ForgeError> {
    const STEP: &str = "create pull request";
    if let Some(team) = people
        .team_reviewers
        .iter()
        .chain(people.reviewers.iter().filter(|r| r.contains('/')))
        .next()
    {
        return Err(ForgeError::Unsupported {
            step: STEP,
            message: format!(
                "gitlab cannot request the group `{team}` as reviewer; name its members"
            ),
        });
    }
    if let Some(label) = people.labels.iter().find(|l| l.contains(',')) {
        return Err(ForgeError::Unsupported {
            step: STEP,
            message: format!("the label {label:?} contains a comma, which gitlab reads as two"),
        });
    }
    Ok(())
}
