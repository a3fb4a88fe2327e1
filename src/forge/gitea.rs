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
//!   first to map names to ids (Gitea takes ids only) plus, per label the repository lacks, one
//!   `POST /labels` (a neutral colour) and one `GET /labels` to settle a race with another run
//!   creating it too (and a `DELETE` of our copy if that run was first). So 1 call without
//!   labels, 2 once the labels exist, 2 + 2 per missing label the first time.
//! - `update`, `comment`, `comments`, `close`: one call each; `git_username` one per process. A
//!   comment whose answer was lost (5xx, dropped connection) is looked for before it is sent
//!   again (one more call).
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

use http::{HeaderValue, Method, header};
use serde_json::json;
use tokio::sync::OnceCell;
use url::Url;

use super::rest::{self, Dialect, Refusal, Rest, decode};
use super::retry::{self, Attempt, RetryPolicy};
use super::{Forge, ForgeError, ForgeRepo, NewPullRequest, PrState, PullRequest};
use crate::secret::SecretToken;
use wire::{ApiComment, ApiPull, ApiUser, error_message};

mod labels;
#[cfg(test)]
mod tests;
mod wire;

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
    base: Url,
    rest: Rest,
    login: OnceCell<String>,
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
    pub fn new(base_url: Url, token: &SecretToken) -> Result<Gitea, ForgeError> {
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
        let mut auth =
            HeaderValue::from_str(&format!("token {}", token.expose().trim())).map_err(|_| {
                ForgeError::Auth(
                    "the gitea token contains characters an http header cannot carry".into(),
                )
            })?;
        auth.set_sensitive(true);
        let http = rest::client("configure gitea", None)?;
        let dialect = Dialect {
            name: "gitea",
            error_message,
            judge,
        };
        let rest = Rest::new(
            http,
            api,
            (header::AUTHORIZATION, auth),
            token.clone(),
            dialect,
        );
        Ok(Gitea {
            base,
            rest,
            login: OnceCell::new(),
        })
    }

    /// Replaces the default retry policy.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Gitea {
        self.rest.retry = policy;
        self
    }

    /// HTTP requests sent so far, retries included: a metric, and how tests hold the backend to
    /// its call budget.
    pub fn calls(&self) -> u64 {
        self.rest.calls()
    }

    /// `<api>/repos/<owner>/<name>/<rest…>?<query>`.
    fn url(&self, repo: &ForgeRepo, rest: &[&str], query: &[(&str, &str)]) -> Url {
        let repo_path = ["repos", repo.owner.as_str(), repo.name.as_str()];
        self.rest.url(&[&repo_path[..], rest].concat(), query)
    }

    /// Reads list pages newest first, keeping pull requests from this repository whose head
    /// branch satisfies `wanted`, until `limit` are kept or the pages run out.
    async fn scan(
        &self,
        step: &'static str,
        repo: &ForgeRepo,
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
            let answer = self.rest.send(step, Method::GET, &url, None, true).await?;
            let pulls: Vec<ApiPull> = decode(step, &answer.body)?;
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

    /// After a create answered 5xx or never answered: the pull request may exist anyway (see
    /// the module notes). `Transient` means it does not, so the create may be sent again;
    /// otherwise it does, and its reviewers are requested on their own, which also yields
    /// Gitea's real reason when they were what failed.
    async fn recover_create(
        &self,
        repo: &ForgeRepo,
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
        match self
            .rest
            .send(STEP, Method::POST, &url, Some(&body), true)
            .await
        {
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
        repo: &ForgeRepo,
        branch: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let found = self
            .scan("find pull request", repo, |head| head == branch, 1)
            .await?;
        Ok(found.into_iter().next())
    }

    async fn list_by_head_prefix(
        &self,
        repo: &ForgeRepo,
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

    async fn create(
        &self,
        repo: &ForgeRepo,
        pr: &NewPullRequest,
    ) -> Result<PullRequest, ForgeError> {
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
            .rest
            .retry
            .run(STEP, move || async move {
                match self
                    .rest
                    .send(STEP, Method::POST, url, Some(body), false)
                    .await
                {
                    Ok(answer) => Ok(decode::<ApiPull>(STEP, &answer.body)
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
                    Err(error) if retry::may_have_acted(&error) => {
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
        repo: &ForgeRepo,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<(), ForgeError> {
        let number = number.to_string();
        let url = self.url(repo, &["pulls", &number], &[]);
        let body = json!({"title": title, "body": super::body::fit(body, MAX_BODY_BYTES)});
        self.rest
            .send(
                "update pull request",
                Method::PATCH,
                &url,
                Some(&body),
                true,
            )
            .await?;
        Ok(())
    }

    /// One request; after a 5xx or a lost connection the comments are read (one more) and the
    /// comment is sent again only if it is not there.
    async fn comment(&self, repo: &ForgeRepo, number: u64, body: &str) -> Result<(), ForgeError> {
        let text = super::body::fit(body, MAX_BODY_BYTES);
        let index = number.to_string();
        let url = self.url(repo, &["issues", &index, "comments"], &[]);
        let read = || self.comments(repo, number);
        self.rest.comment(&url, &text, read).await
    }

    async fn comments(&self, repo: &ForgeRepo, number: u64) -> Result<Vec<String>, ForgeError> {
        const STEP: &str = "read comments";
        let number = number.to_string();
        // Not paginated by Gitea: one answer holds every comment, oldest first.
        let url = self.url(repo, &["issues", &number, "comments"], &[]);
        let answer = self.rest.send(STEP, Method::GET, &url, None, true).await?;
        let comments: Vec<ApiComment> = decode(STEP, &answer.body)?;
        Ok(comments
            .into_iter()
            .map(|c| c.body.unwrap_or_default())
            .collect())
    }

    async fn close(&self, repo: &ForgeRepo, number: u64) -> Result<(), ForgeError> {
        let number = number.to_string();
        let url = self.url(repo, &["pulls", &number], &[]);
        let body = json!({"state": "closed"});
        self.rest
            .send("close pull request", Method::PATCH, &url, Some(&body), true)
            .await?;
        Ok(())
    }

    fn clone_url(&self, repo: &ForgeRepo) -> String {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.extend([repo.owner.clone(), format!("{}.git", repo.name)]);
        }
        url.into()
    }

    fn api_base(&self) -> Url {
        self.rest.api().clone()
    }

    async fn git_username(&self) -> Result<String, ForgeError> {
        const STEP: &str = "read user";
        let login = self
            .login
            .get_or_try_init(|| async {
                let url = self.rest.url(&["user"], &[]);
                let answer = self.rest.send(STEP, Method::GET, &url, None, true).await?;
                let user: ApiUser = decode(STEP, &answer.body)?;
                Ok::<_, ForgeError>(user.login)
            })
            .await?;
        Ok(login.clone())
    }

    fn max_body_bytes(&self) -> usize {
        MAX_BODY_BYTES
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

/// Gitea's refusals: rate limits wait, a 5xx is retried unless it names a missing issue or
/// pull request (which a retry cannot fix).
fn judge(refusal: Refusal<'_>) -> Attempt {
    let status = refusal.status;
    let missing = refusal.message.contains("does not exist");
    let error = refusal.error(refusal.message.clone());
    let now = rest::now_unix();
    let wait = retry::rate_limit_wait(status, refusal.headers, refusal.body, now);
    rest::decide(error, wait, retry::is_transient(status) && !missing)
}
