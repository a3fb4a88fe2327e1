//! The one place a forge client is made: [`connect`] turns a [`Connection`] (which forge, where,
//! with what credential) into an [`AnyForge`], the backend behind one type. The command line
//! and the controller each say where their connection comes from (flags, a policy and its
//! Secret) and share everything after.

use url::Url;

use super::gitea::Gitea;
use super::github::{GitHub, GitHubAuth};
use super::gitlab::{GitLab, GitLabAuth};
use super::{Forge, ForgeError, ForgeRepo, NewPullRequest, PullRequest, RequestPeople};
use crate::secret::SecretToken;

/// Which forge, where, and the credential it takes.
pub enum Connection {
    /// `api_url`: GitHub Enterprise Server's REST root; api.github.com when `None`.
    GitHub {
        api_url: Option<Url>,
        auth: GitHubAuth,
    },
    /// `base_url`: the Gitea base URL.
    Gitea { base_url: Url, token: SecretToken },
    /// `base_url`: the GitLab web root (or its `/api/v4`); gitlab.com when `None`.
    GitLab {
        base_url: Option<Url>,
        auth: GitLabAuth,
    },
}

/// A client of whichever forge the connection named.
pub enum AnyForge {
    // Boxed: the clients differ in size by hundreds of bytes, and one is made per policy.
    GitHub(Box<GitHub>),
    Gitea(Box<Gitea>),
    GitLab(Box<GitLab>),
}

/// Makes the client (no request is sent yet).
pub fn connect(connection: Connection) -> Result<AnyForge, ForgeError> {
    Ok(match connection {
        Connection::GitHub { api_url, auth } => {
            AnyForge::GitHub(Box::new(GitHub::new(auth, api_url)?))
        }
        Connection::Gitea { base_url, token } => {
            AnyForge::Gitea(Box::new(Gitea::new(base_url, &token)?))
        }
        Connection::GitLab { base_url, auth } => {
            AnyForge::GitLab(Box::new(GitLab::new(base_url, auth)?))
        }
    })
}

/// Calls `$call` on whichever backend `$forge` holds.
macro_rules! each {
    ($forge:expr, $f:ident => $call:expr) => {
        match $forge {
            AnyForge::GitHub($f) => $call,
            AnyForge::Gitea($f) => $call,
            AnyForge::GitLab($f) => $call,
        }
    };
}

impl Forge for AnyForge {
    async fn find_by_head(
        &self,
        repo: &ForgeRepo,
        branch: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        each!(self, f => f.find_by_head(repo, branch).await)
    }

    async fn list_by_head_prefix(
        &self,
        repo: &ForgeRepo,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<PullRequest>, ForgeError> {
        each!(self, f => f.list_by_head_prefix(repo, prefix, limit).await)
    }

    async fn create(
        &self,
        repo: &ForgeRepo,
        pr: &NewPullRequest,
    ) -> Result<PullRequest, ForgeError> {
        each!(self, f => f.create(repo, pr).await)
    }

    async fn update(
        &self,
        repo: &ForgeRepo,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<(), ForgeError> {
        each!(self, f => f.update(repo, number, title, body).await)
    }

    async fn comment(&self, repo: &ForgeRepo, number: u64, body: &str) -> Result<(), ForgeError> {
        each!(self, f => f.comment(repo, number, body).await)
    }

    async fn comments(&self, repo: &ForgeRepo, number: u64) -> Result<Vec<String>, ForgeError> {
        each!(self, f => f.comments(repo, number).await)
    }

    async fn close(&self, repo: &ForgeRepo, number: u64) -> Result<(), ForgeError> {
        each!(self, f => f.close(repo, number).await)
    }

    fn clone_url(&self, repo: &ForgeRepo) -> String {
        each!(self, f => f.clone_url(repo))
    }

    fn api_base(&self) -> Url {
        each!(self, f => f.api_base())
    }

    async fn git_username(&self) -> Result<String, ForgeError> {
        each!(self, f => f.git_username().await)
    }

    fn max_body_bytes(&self) -> usize {
        each!(self, f => f.max_body_bytes())
    }

    fn check_repo(&self, repo: &ForgeRepo) -> Result<(), ForgeError> {
        each!(self, f => f.check_repo(repo))
    }

    fn check_request(&self, people: &RequestPeople<'_>) -> Result<(), ForgeError> {
        each!(self, f => f.check_request(people))
    }

    async fn git_token(&self, repo: &ForgeRepo) -> Result<Option<SecretToken>, ForgeError> {
        each!(self, f => f.git_token(repo).await)
    }
}
