//! The forges Attune opens pull requests on, behind one small trait: find a pull request by its
//! head branch (in any state), create one, edit its title and body, set labels, request
//! reviewers, comment, close. Each backend ([`github`], [`gitea`], [`gitlab`]) owns its forge's quirks —
//! body length limits, reviewer syntax, label ids, rate-limit headers — so the lifecycle in
//! [`crate::pr`] never sees them. This module knows nothing about git, YAML or the cluster, and
//! never logs or returns a credential.

use std::future::Future;
use std::time::Duration;

mod any;
pub(crate) mod body;
pub mod gitea;
pub mod github;
pub mod gitlab;
mod rest;
pub mod retry;

pub use any::{AnyForge, Connection, connect};
pub use retry::{Backoff, RetryPolicy};

use crate::secret::SecretToken;

/// `owner/name` of a repository on a forge; on GitLab the owner may be a group path
/// (`group/sub`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ForgeRepo {
    pub owner: String,
    pub name: String,
}

impl ForgeRepo {
    /// Parses `OWNER/NAME` (or GitLab's `GROUP/SUB/NAME`); anything else is refused with a
    /// reason.
    pub fn parse(text: &str) -> Result<ForgeRepo, ForgeError> {
        let (owner, name) = text.trim().rsplit_once('/').unwrap_or_default();
        let name = name.trim_end_matches(".git");
        let ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if owner.split('/').all(ok) && ok(name) {
            Ok(ForgeRepo {
                owner: owner.to_owned(),
                name: name.to_owned(),
            })
        } else {
            Err(ForgeError::BadRepository {
                given: text.to_owned(),
            })
        }
    }
}

/// GitHub and Gitea repositories have a single-segment owner.
pub(crate) fn flat_owner(repo: &ForgeRepo, forge: &'static str) -> Result<(), ForgeError> {
    if repo.owner.contains('/') {
        Err(ForgeError::NestedOwner {
            given: repo.to_string(),
            forge,
        })
    } else {
        Ok(())
    }
}

impl std::fmt::Display for ForgeRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrState {
    Open,
    Closed,
    Merged,
}

/// A pull request as the lifecycle needs to see it.
#[derive(Debug, Clone, PartialEq)]
pub struct PullRequest {
    pub number: u64,
    /// The page a human opens.
    pub url: String,
    pub state: PrState,
    pub title: String,
    pub body: String,
    pub head_branch: String,
    pub base_branch: String,
    pub labels: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub draft: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewPullRequest {
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub draft: bool,
    pub labels: Vec<String>,
    /// User logins; `org/team` or a team slug goes to `team_reviewers`.
    pub reviewers: Vec<String>,
    pub team_reviewers: Vec<String>,
}

/// Why a forge call failed. Messages name the step and what the forge answered, never a token.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("`{given}` is not a repository; expected OWNER/NAME")]
    BadRepository { given: String },
    #[error(
        "`{given}` names a nested group, which only GitLab has; on {forge} give the repository as OWNER/NAME"
    )]
    NestedOwner { given: String, forge: &'static str },
    #[error("{step}: the forge answered {status}: {message}")]
    Status {
        step: &'static str,
        status: u16,
        message: String,
    },
    #[error("{step}: rate limited by the forge; retry after {}s", retry_after.as_secs())]
    RateLimited {
        step: &'static str,
        retry_after: Duration,
    },
    #[error("{step}: cannot reach the forge: {message}")]
    Transport { step: &'static str, message: String },
    #[error("{step}: unexpected answer from the forge: {message}")]
    Decode { step: &'static str, message: String },
    #[error("authentication: {0}")]
    Auth(String),
    /// Something the forge cannot do as asked; nothing was written.
    #[error("{step}: {message}")]
    Unsupported { step: &'static str, message: String },
}

/// The operations the pull-request lifecycle needs. Every call counts against the API economy
/// the lifecycle promises (see `crate::pr`), so backends make exactly one request per call
/// unless the forge forces more (noted on the backend), plus retries after rate limits or 5xx.
/// The labels and reviewers a pull request will ask for, as the forge checks them up front.
#[derive(Debug, Clone, Copy)]
pub struct RequestPeople<'a> {
    pub labels: &'a [String],
    pub reviewers: &'a [String],
    pub team_reviewers: &'a [String],
}

pub trait Forge: Send + Sync {
    /// The newest pull request whose head is `branch` (in this repository), in any state.
    fn find_by_head(
        &self,
        repo: &ForgeRepo,
        branch: &str,
    ) -> impl Future<Output = Result<Option<PullRequest>, ForgeError>> + Send;

    /// Pull requests whose head branch starts with `prefix`, newest first, at most `limit`:
    /// enough to enforce the hourly and concurrent limits.
    fn list_by_head_prefix(
        &self,
        repo: &ForgeRepo,
        prefix: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<PullRequest>, ForgeError>> + Send;

    /// Opens a pull request, with its labels and reviewers (as few calls as the forge allows).
    fn create(
        &self,
        repo: &ForgeRepo,
        pr: &NewPullRequest,
    ) -> impl Future<Output = Result<PullRequest, ForgeError>> + Send;

    /// Replaces title and body.
    fn update(
        &self,
        repo: &ForgeRepo,
        number: u64,
        title: &str,
        body: &str,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;

    fn comment(
        &self,
        repo: &ForgeRepo,
        number: u64,
        body: &str,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;

    /// Bodies of the comments on a pull request, oldest first.
    fn comments(
        &self,
        repo: &ForgeRepo,
        number: u64,
    ) -> impl Future<Output = Result<Vec<String>, ForgeError>> + Send;

    fn close(
        &self,
        repo: &ForgeRepo,
        number: u64,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;

    /// The URL git clones this repository from (HTTPS).
    fn clone_url(&self, repo: &ForgeRepo) -> String;

    /// The root every API request (and so the token) goes to; the gate compares its origin.
    fn api_base(&self) -> url::Url;

    /// The user name to pair with the token for git over HTTPS.
    fn git_username(&self) -> impl Future<Output = Result<String, ForgeError>> + Send;

    /// The largest body the forge accepts, in bytes.
    fn max_body_bytes(&self) -> usize;

    /// Refuses a repository path this forge cannot have (a nested `group/sub/name` anywhere
    /// but GitLab) before any call, so the mistake is named here and not as a forge's 404.
    fn check_repo(&self, repo: &ForgeRepo) -> Result<(), ForgeError> {
        flat_owner(repo, "GitHub and Gitea")
    }

    /// Refuses labels or reviewers this forge cannot take, before anything is pushed, so a
    /// request that would fail at create time leaves no bot branch behind.
    fn check_request(&self, _people: &RequestPeople<'_>) -> Result<(), ForgeError> {
        Ok(())
    }

    /// The password for git over HTTPS when the caller has none: a GitHub App's installation
    /// token, minted for this repository. Token-authenticated forges answer `None`.
    fn git_token(
        &self,
        _repo: &ForgeRepo,
    ) -> impl Future<Output = Result<Option<SecretToken>, ForgeError>> + Send {
        async { Ok(None) }
    }
}
