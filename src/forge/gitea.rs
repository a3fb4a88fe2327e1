//! The Gitea backend, written against Gitea 1.26 (see `tests/servers/GITEA-NOTES.md` for what the
//! real server answers).
//!
//! Calls per operation, retries after 429/5xx not counted:
//! - `find_by_head`: one `GET /pulls?state=all` page of 50, newest first, filtered here by head
//!   branch; more pages only while nothing matched (at most [`MAX_PAGES`]). Gitea's list has no
//!   head filter, and `GET /pulls/{base}/{head}` is no substitute: it needs the base and returns
//!   the *oldest* pull request for the pair (a closed one while a newer one is open).
//!   Matching uses `head.label`, which stays the branch name after the branch is deleted, while
//!   `head.ref` turns into `refs/pull/N/head` — so merged and deleted branches are still found.
//! - `list_by_head_prefix`: the same pages, until `limit` matches.
//! - `create`: `POST /pulls` carrying label ids and reviewers; with labels, one `GET /labels`
//!   first to map names to ids (Gitea takes ids only) plus one `POST /labels` per label the
//!   repository lacks, created with a neutral colour. So 1 call without labels, 2 once the labels
//!   exist, 2 + missing labels the first time.
//! - `update`, `comment`, `comments`, `close`: one call each; `git_username` one per process.
//!
//! Quirks handled here:
//! - Reviewers in the create body are requested *after* Gitea has stored the pull request: an
//!   invalid one (the author, a user who cannot read the repository) makes the create answer 500
//!   although the pull request exists, and a retry would then get 409. So a 5xx on create is
//!   never blindly retried: the pull request is looked up first (one more call); if it exists the
//!   reviewers are requested on their own to report Gitea's real reason, and only if it does not
//!   is the create sent again.
//! - A missing issue or pull request number answers 500 "… does not exist" on some endpoints;
//!   that is not retried.
//! - Gitea has no draft flag: a draft is a title starting with `WIP:`, so `create` prefixes it.
//!   `update` sets the title it is given, which un-drafts a pull request unless the caller keeps
//!   the prefix.
//! - Gitea stores bodies as LONGTEXT and documents no limit; [`MAX_BODY_BYTES`] keeps bodies the
//!   size GitHub allows, and longer ones are cut keeping the final `<!-- attune:` marker line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue, Method, header};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::OnceCell;
use url::Url;

use super::body::floor_char_boundary;
use super::retry::{self, Attempt, RetryPolicy};
use super::{Forge, ForgeError, NewPullRequest, PrState, PullRequest, RepoRef};

/// Items per list page: Gitea's default `MAX_RESPONSE_ITEMS`, so the server does not cut it.
const PAGE: usize = 50;
/// List pages a lookup reads at most (1000 pull requests): older pull requests count as absent.
pub const MAX_PAGES: usize = 20;
/// The longest body sent; see the module documentation.
pub const MAX_BODY_BYTES: usize = 65536;
/// Colour for labels this backend creates: a plain grey that claims no meaning.
const LABEL_COLOR: &str = "#ededed";
/// The hidden line the lifecycle ends its bodies with; truncation keeps it.
/// What Gitea recognises as a work-in-progress title by default.
const DRAFT_PREFIX: &str = "WIP: ";

/// A Gitea server reached with an access token.
pub struct Gitea {
    http: reqwest::Client,
    base: Url,
    api: Url,
    auth: HeaderValue,
    retry: RetryPolicy,
    login: OnceCell<String>,
    calls: AtomicU64,
}

impl std::fmt::Debug for Gitea {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gitea")
            .field("base", &self.base.as_str())
            .field("calls", &self.calls())
            .finish_non_exhaustive()
    }
}

impl Gitea {
    /// A client for the Gitea at `base_url` (the web root, e.g. `https://git.example.com/` or
    /// `https://example.com/gitea/`). Credentials inside the URL are dropped: the token is the
    /// only one sent, and it is never shown by `Debug`, errors or logs.
    pub fn new(base_url: Url, token: &str) -> Result<Gitea, ForgeError> {
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            return Err(ForgeError::Transport {
                step: "configure gitea",
                message: format!("`{}` is not an http(s) url", redacted(&base_url)),
            });
        }
        let mut base = base_url;
        // Ignoring the results: both only fail for URLs refused above.
        let _ = base.set_username("");
        let _ = base.set_password(None);
        base.set_query(None);
        base.set_fragment(None);
        if let Ok(mut segments) = base.path_segments_mut() {
            segments.pop_if_empty();
        }
        let mut api = base.clone();
        if let Ok(mut segments) = api.path_segments_mut() {
            segments.extend(["api", "v1"]);
        }
        let mut auth = HeaderValue::from_str(&format!("token {}", token.trim())).map_err(|_| {
            ForgeError::Auth(
                "the gitea token contains characters an http header cannot carry".into(),
            )
        })?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .user_agent(concat!("attune/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ForgeError::Transport {
                step: "configure gitea",
                message: e.without_url().to_string(),
            })?;
        Ok(Gitea {
            http,
            base,
            api,
            auth,
            retry: RetryPolicy::default(),
            login: OnceCell::new(),
            calls: AtomicU64::new(0),
        })
    }

    /// Replaces the default retry policy.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Gitea {
        self.retry = policy;
        self
    }

    /// HTTP requests sent so far, retries included: a metric, and how tests hold the backend to
    /// its call budget.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn url(&self, repo: &RepoRef, rest: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.api.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .extend(["repos", repo.owner.as_str(), repo.name.as_str()])
                .extend(rest);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// One request through the retry policy; the body of its 2xx answer. `retry_transient` is off for requests that must
    /// not be repeated blindly after a 5xx.
    async fn send(
        &self,
        step: &'static str,
        method: Method,
        url: &Url,
        body: Option<&serde_json::Value>,
        retry_transient: bool,
    ) -> Result<String, ForgeError> {
        self.retry
            .run(step, || {
                let mut request = self
                    .http
                    .request(method.clone(), url.clone())
                    .header(header::AUTHORIZATION, self.auth.clone())
                    .header(header::ACCEPT, "application/json");
                if let Some(body) = body {
                    request = request.json(body);
                }
                self.calls.fetch_add(1, Ordering::Relaxed);
                async move {
                    let outcome = self.attempt(step, request).await;
                    match outcome {
                        Err(Attempt::Transient(error)) if !retry_transient => {
                            Err(Attempt::Fatal(error))
                        }
                        other => other,
                    }
                }
            })
            .await
    }

    async fn attempt(
        &self,
        step: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<String, Attempt> {
        let response = request.send().await.map_err(|e| {
            Attempt::Transient(ForgeError::Transport {
                step,
                message: self.scrub(&e.without_url().to_string()),
            })
        })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(|e| {
            Attempt::Transient(ForgeError::Transport {
                step,
                message: self.scrub(&e.without_url().to_string()),
            })
        })?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        Err(self.classify(step, status, &headers, &body))
    }

    fn classify(
        &self,
        step: &'static str,
        status: u16,
        headers: &HeaderMap,
        body: &str,
    ) -> Attempt {
        let message = self.scrub(&error_message(body));
        if status == 401 {
            return Attempt::Fatal(ForgeError::Auth(format!(
                "{step}: gitea refused the token ({message})"
            )));
        }
        let error = ForgeError::Status {
            step,
            status,
            message,
        };
        if let Some(wait) = retry::rate_limit_wait(status, headers, body, now_unix()) {
            return Attempt::Limited(wait, error);
        }
        let missing = matches!(&error, ForgeError::Status { message, .. } if message.contains("does not exist"));
        if retry::is_transient(status) && !missing {
            Attempt::Transient(error)
        } else {
            Attempt::Fatal(error)
        }
    }

    /// Defence in depth: a proxy or a future Gitea echoing the credential must not leak it.
    fn scrub(&self, text: &str) -> String {
        let secret = self
            .auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("token "))
            .filter(|t| t.len() >= 4);
        match secret {
            Some(secret) if text.contains(secret) => text.replace(secret, "[redacted]"),
            _ => text.to_owned(),
        }
    }

    /// Reads list pages newest first, keeping pull requests from this repository whose head
    /// branch satisfies `wanted`, until `limit` are kept or the pages run out.
    async fn scan(
        &self,
        step: &'static str,
        repo: &RepoRef,
        wanted: impl Fn(&str) -> bool,
        limit: usize,
    ) -> Result<Vec<PullRequest>, ForgeError> {
        let mut kept = Vec::new();
        if limit == 0 {
            return Ok(kept);
        }
        let page_size = PAGE.to_string();
        for page in 1..=MAX_PAGES {
            let page_text = page.to_string();
            // No `sort`: Gitea's default order is newest created first, ties by number.
            let url = self.url(
                repo,
                &["pulls"],
                &[
                    ("state", "all"),
                    ("limit", &page_size),
                    ("page", &page_text),
                ],
            );
            let answer = self.send(step, Method::GET, &url, None, true).await?;
            let pulls: Vec<ApiPull> = decode(step, &answer)?;
            let full = pulls.len() >= PAGE;
            for pull in pulls {
                if pull.head.repo_id == pull.base.repo_id && wanted(pull.head_branch()) {
                    kept.push(pull.into_pull_request(step)?);
                    if kept.len() >= limit {
                        return Ok(kept);
                    }
                }
            }
            if !full {
                break;
            }
        }
        Ok(kept)
    }

    /// Label ids for `names`, creating the ones the repository lacks.
    async fn label_ids(&self, repo: &RepoRef, names: &[String]) -> Result<Vec<i64>, ForgeError> {
        const STEP: &str = "look up labels";
        let mut ids: Vec<Option<i64>> = vec![None; names.len()];
        let page_size = PAGE.to_string();
        for page in 1..=MAX_PAGES {
            let page_text = page.to_string();
            let url = self.url(
                repo,
                &["labels"],
                &[("limit", &page_size), ("page", &page_text)],
            );
            let answer = self.send(STEP, Method::GET, &url, None, true).await?;
            let labels: Vec<ApiLabel> = decode(STEP, &answer)?;
            let full = labels.len() >= PAGE;
            for label in labels {
                for (name, id) in names.iter().zip(ids.iter_mut()) {
                    // Gitea allows duplicate names; the first (oldest) one wins.
                    if id.is_none() && *name == label.name {
                        *id = Some(label.id);
                    }
                }
            }
            if !full || ids.iter().all(Option::is_some) {
                break;
            }
        }
        let mut resolved = Vec::with_capacity(names.len());
        for (name, id) in names.iter().zip(ids) {
            let id = match id {
                Some(id) => id,
                None => self.create_label(repo, name).await?,
            };
            if !resolved.contains(&id) {
                resolved.push(id);
            }
        }
        Ok(resolved)
    }

    async fn create_label(&self, repo: &RepoRef, name: &str) -> Result<i64, ForgeError> {
        const STEP: &str = "create label";
        let url = self.url(repo, &["labels"], &[]);
        let body = json!({"name": name, "color": LABEL_COLOR, "description": "added by attune"});
        let answer = self
            .send(STEP, Method::POST, &url, Some(&body), true)
            .await?;
        let label: ApiLabel = decode(STEP, &answer)?;
        tracing::info!(repo = %repo, label = name, id = label.id, "created a missing label");
        Ok(label.id)
    }

    /// After a create answered 5xx or never answered: the pull request may exist anyway (see
    /// the module notes). `Transient` means it does not, so the create may be sent again;
    /// otherwise it does, and its reviewers are requested on their own, which also yields
    /// Gitea's real reason when they were what failed.
    async fn recover_create(
        &self,
        repo: &RepoRef,
        pr: &NewPullRequest,
        teams: &[String],
        failure: ForgeError,
    ) -> Result<PullRequest, Attempt> {
        let found = match self.find_by_head(repo, &pr.head).await {
            Ok(Some(found)) if found.state == PrState::Open && found.base_branch == pr.base => {
                found
            }
            Ok(_) => return Err(Attempt::Transient(failure)),
            // Unknown whether it exists: sending it again could open a second one or get a 409.
            Err(_) => return Err(Attempt::Fatal(failure)),
        };
        if pr.reviewers.is_empty() && teams.is_empty() {
            return Ok(found);
        }
        const STEP: &str = "request reviewers";
        let number = found.number.to_string();
        let url = self.url(repo, &["pulls", &number, "requested_reviewers"], &[]);
        let body = json!({"reviewers": pr.reviewers, "team_reviewers": teams});
        match self.send(STEP, Method::POST, &url, Some(&body), true).await {
            Ok(_) => Ok(found),
            Err(ForgeError::Status {
                step,
                status,
                message,
            }) => Err(Attempt::Fatal(ForgeError::Status {
                step,
                status,
                message: format!(
                    "pull request #{} was opened without its reviewers: {message}",
                    found.number
                ),
            })),
            Err(other) => Err(Attempt::Fatal(other)),
        }
    }
}

impl Forge for Gitea {
    async fn find_by_head(
        &self,
        repo: &RepoRef,
        branch: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let found = self
            .scan("find pull request", repo, |head| head == branch, 1)
            .await?;
        Ok(found.into_iter().next())
    }

    async fn list_by_head_prefix(
        &self,
        repo: &RepoRef,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<PullRequest>, ForgeError> {
        self.scan(
            "list pull requests",
            repo,
            |head| head.starts_with(prefix),
            limit,
        )
        .await
    }

    async fn create(&self, repo: &RepoRef, pr: &NewPullRequest) -> Result<PullRequest, ForgeError> {
        const STEP: &str = "create pull request";
        let labels = if pr.labels.is_empty() {
            Vec::new()
        } else {
            self.label_ids(repo, &pr.labels).await?
        };
        let title = if pr.draft && !is_draft_title(&pr.title) {
            format!("{DRAFT_PREFIX}{}", pr.title)
        } else {
            pr.title.clone()
        };
        // Gitea names teams without their organisation: the repository's owner is implied.
        let teams: Vec<String> = pr
            .team_reviewers
            .iter()
            .map(|t| t.rsplit('/').next().unwrap_or(t).to_owned())
            .collect();
        let body = json!({
            "title": title,
            "body": super::body::fit(&pr.body, MAX_BODY_BYTES),
            "head": pr.head,
            "base": pr.base,
            "labels": labels,
            "reviewers": pr.reviewers,
            "team_reviewers": teams,
        });
        let url = self.url(repo, &["pulls"], &[]);
        let (url, body, teams) = (&url, &body, &teams);
        let created = self
            .retry
            .run(STEP, move || async move {
                match self.send(STEP, Method::POST, url, Some(body), false).await {
                    Ok(answer) => Ok(decode::<ApiPull>(STEP, &answer)
                        .and_then(|p| p.into_pull_request(STEP))
                        .map_err(Attempt::Fatal)?),
                    Err(ForgeError::Status { status: 409, .. }) => {
                        Err(Attempt::Fatal(ForgeError::Status {
                            step: STEP,
                            status: 409,
                            message: format!(
                                "an open pull request from `{}` into `{}` already exists",
                                pr.head, pr.base
                            ),
                        }))
                    }
                    Err(error) if is_server_side(&error) => {
                        self.recover_create(repo, pr, teams, error).await
                    }
                    Err(error) => Err(Attempt::Fatal(error)),
                }
            })
            .await?;
        Ok(created)
    }

    async fn update(
        &self,
        repo: &RepoRef,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<(), ForgeError> {
        let number = number.to_string();
        let url = self.url(repo, &["pulls", &number], &[]);
        let body = json!({"title": title, "body": super::body::fit(body, MAX_BODY_BYTES)});
        self.send(
            "update pull request",
            Method::PATCH,
            &url,
            Some(&body),
            true,
        )
        .await?;
        Ok(())
    }

    async fn comment(&self, repo: &RepoRef, number: u64, body: &str) -> Result<(), ForgeError> {
        let number = number.to_string();
        let url = self.url(repo, &["issues", &number, "comments"], &[]);
        let body = json!({"body": super::body::fit(body, MAX_BODY_BYTES)});
        self.send("comment", Method::POST, &url, Some(&body), true)
            .await?;
        Ok(())
    }

    async fn comments(&self, repo: &RepoRef, number: u64) -> Result<Vec<String>, ForgeError> {
        const STEP: &str = "read comments";
        let number = number.to_string();
        // Not paginated by Gitea: one answer holds every comment, oldest first.
        let url = self.url(repo, &["issues", &number, "comments"], &[]);
        let answer = self.send(STEP, Method::GET, &url, None, true).await?;
        let comments: Vec<ApiComment> = decode(STEP, &answer)?;
        Ok(comments
            .into_iter()
            .map(|c| c.body.unwrap_or_default())
            .collect())
    }

    async fn close(&self, repo: &RepoRef, number: u64) -> Result<(), ForgeError> {
        let number = number.to_string();
        let url = self.url(repo, &["pulls", &number], &[]);
        let body = json!({"state": "closed"});
        self.send("close pull request", Method::PATCH, &url, Some(&body), true)
            .await?;
        Ok(())
    }

    fn clone_url(&self, repo: &RepoRef) -> String {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.extend([repo.owner.clone(), format!("{}.git", repo.name)]);
        }
        url.into()
    }

    async fn git_username(&self) -> Result<String, ForgeError> {
        const STEP: &str = "read user";
        let login = self
            .login
            .get_or_try_init(|| async {
                let mut url = self.api.clone();
                if let Ok(mut segments) = url.path_segments_mut() {
                    segments.push("user");
                }
                let answer = self.send(STEP, Method::GET, &url, None, true).await?;
                let user: ApiUser = decode(STEP, &answer)?;
                Ok::<_, ForgeError>(user.login)
            })
            .await?;
        Ok(login.clone())
    }

    fn max_body_bytes(&self) -> usize {
        MAX_BODY_BYTES
    }
}

#[derive(Deserialize)]
struct ApiPull {
    number: u64,
    html_url: String,
    state: String,
    #[serde(default)]
    merged: bool,
    title: String,
    #[serde(default)]
    body: Option<String>,
    head: ApiBranch,
    base: ApiBranch,
    #[serde(default)]
    labels: Option<Vec<ApiLabel>>,
    created_at: String,
    #[serde(default)]
    draft: bool,
}

#[derive(Deserialize)]
struct ApiBranch {
    /// The branch name as the pull request was opened, kept after the branch is deleted.
    #[serde(default)]
    label: String,
    #[serde(rename = "ref", default)]
    git_ref: String,
    #[serde(default)]
    repo_id: i64,
}

#[derive(Deserialize)]
struct ApiLabel {
    id: i64,
    name: String,
}

#[derive(Deserialize)]
struct ApiComment {
    #[serde(default)]
    body: Option<String>,
}

#[derive(Deserialize)]
struct ApiUser {
    login: String,
}

impl ApiPull {
    fn head_branch(&self) -> &str {
        if !self.head.label.is_empty() {
            return &self.head.label;
        }
        // AGit pull requests have no label; their ref is still the pushed one.
        self.head
            .git_ref
            .strip_prefix("refs/heads/")
            .unwrap_or(&self.head.git_ref)
    }

    fn into_pull_request(self, step: &'static str) -> Result<PullRequest, ForgeError> {
        let created_at = parse_rfc3339(&self.created_at).ok_or_else(|| ForgeError::Decode {
            step,
            message: format!("`created_at` is not a timestamp: {:?}", self.created_at),
        })?;
        let state = match (self.state.as_str(), self.merged) {
            (_, true) => PrState::Merged,
            ("open", false) => PrState::Open,
            ("closed", false) => PrState::Closed,
            (other, false) => {
                return Err(ForgeError::Decode {
                    step,
                    message: format!("unknown pull request state {other:?}"),
                });
            }
        };
        Ok(PullRequest {
            number: self.number,
            head_branch: self.head_branch().to_owned(),
            url: self.html_url,
            state,
            title: self.title,
            body: self.body.unwrap_or_default(),
            base_branch: self.base.git_ref,
            labels: self
                .labels
                .unwrap_or_default()
                .into_iter()
                .map(|l| l.name)
                .collect(),
            created_at,
            draft: self.draft,
        })
    }
}

fn decode<T: serde::de::DeserializeOwned>(step: &'static str, body: &str) -> Result<T, ForgeError> {
    serde_json::from_str(body).map_err(|e| ForgeError::Decode {
        step,
        message: e.to_string(),
    })
}

/// Gitea's `message`, or a bounded piece of a body that is not Gitea's error JSON (a proxy page).
fn error_message(body: &str) -> String {
    #[derive(Deserialize)]
    struct ApiError {
        message: String,
    }
    if let Ok(error) = serde_json::from_str::<ApiError>(body)
        && !error.message.is_empty()
    {
        return error.message;
    }
    let text = body.trim();
    if text.is_empty() {
        return "no message".into();
    }
    text[..floor_char_boundary(text, 200)].to_owned()
}

/// Failures where the request may have reached Gitea and done its work anyway.
fn is_server_side(error: &ForgeError) -> bool {
    match error {
        ForgeError::Status { status, .. } => retry::is_transient(*status),
        ForgeError::Transport { .. } => true,
        _ => false,
    }
}

fn is_draft_title(title: &str) -> bool {
    let upper = title.trim_start().to_ascii_uppercase();
    upper.starts_with("WIP:") || upper.starts_with("[WIP]")
}

fn redacted(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url.into()
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Unix seconds of an RFC 3339 timestamp (`2026-01-02T03:04:05Z`, `…+01:00`, fractions allowed).
fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    let number = |s: &str| -> Option<i64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut date_parts = date.splitn(3, '-');
    let year = number(date_parts.next()?)?;
    let month = number(date_parts.next()?)?;
    let day = number(date_parts.next()?)?;
    let (clock, offset) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let sign_at = time.rfind(['+', '-'])?;
        let (clock, zone) = time.split_at(sign_at);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = zone[1..].split_once(':')?;
        (
            clock,
            sign * (number(hours)? * 3600 + number(minutes)? * 60),
        )
    };
    let clock = clock.split_once('.').map_or(clock, |(whole, _)| whole);
    let mut clock_parts = clock.splitn(3, ':');
    let hour = number(clock_parts.next()?)?;
    let minute = number(clock_parts.next()?)?;
    let second = number(clock_parts.next()?)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second.min(60) - offset)
}

/// Days from 1970-01-01 to a proleptic Gregorian date, counted through 400-year eras (each
/// exactly 146097 days) with years starting in March so the leap day falls last.
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

    fn repo() -> RepoRef {
        RepoRef::parse("o/r").unwrap()
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(1),
            max_wait: Duration::from_secs(5),
        }
    }

    async fn gitea(server: &MockServer) -> Gitea {
        Gitea::new(Url::parse(&server.uri()).unwrap(), TOKEN)
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
        let g = Gitea::new(Url::parse("https://u:p@example.com/gitea/").unwrap(), TOKEN).unwrap();
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
                ResponseTemplate::new(404)
                    .set_body_json(json!({"message": "User 'ghost' not exist"})),
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
}
