//! The controller's half of the token gate ([`crate::pr::gate`]): which endpoints a policy's
//! forge client may send the policy's token to. A policy names the forge (`provider`, `apiUrl`),
//! but only the operator's allowlist says where tokens may travel, so a client is handed out for
//! a branch only when
//! - the clone URL the forge gives for the repository names the repository the workload's owner
//!   deploys from (same host and path; and when the owner's URL is http(s), the same scheme
//!   and port, see [`RemoteUrl::same_repo`]),
//! - that clone URL is itself an endpoint the allowlist names (scheme, host, port and path;
//!   plain `http://` only where an entry says so), and
//! - the API URL belongs to that same forge (same origin, or api.github.com for github.com).
//!
//! Nothing is sent before this check, on any path (poll, find, create, comment, git). Pure.

use super::allow::{self, Verdict};
use crate::forge::{Forge, ForgeRepo};
use crate::locate::RemoteUrl;
use crate::pr::gate::{Clearance, api_serves};

/// What the allowlist admitted for one branch.
#[derive(Debug, Clone, Copy)]
pub struct Admission<'a> {
    /// The operator's allowed repositories.
    pub allowed: &'a [String],
    /// The repository the workload's owner deploys from (already admitted by `allowed`).
    pub repo: &'a RemoteUrl,
    pub forge_repo: &'a ForgeRepo,
}

/// The clearance for `forge` to serve `admission`'s repository, or why its token stays home.
pub fn clear<F: Forge>(admission: &Admission<'_>, forge: &F) -> Result<Clearance, String> {
    let repo = admission.repo;
    let clone = forge.clone_url(admission.forge_repo);
    let shown = crate::git::redact(&clone, &[]);
    let elsewhere = || {
        format!(
            "the forge of export.pullRequest.apiUrl serves {} at {shown}, but the workloads are \
             deployed from {repo}; no token is sent there: set apiUrl to the forge that hosts \
             the repository",
            admission.forge_repo
        )
    };
    let parsed = RemoteUrl::parse(&clone).map_err(|_| elsewhere())?;
    let same_name = parsed.host == repo.host && parsed.path == repo.path;
    if !parsed.transport.is_http()
        || !same_name
        || (repo.transport.is_http() && !repo.same_repo(&parsed))
    {
        return Err(elsewhere());
    }
    if let Verdict::Refused(why) = allow::check_endpoint(admission.allowed, &parsed) {
        return Err(format!("{why}; the token stays with the controller"));
    }
    let api = forge.api_base();
    let git = url::Url::parse(&clone).map_err(|_| elsewhere())?;
    if !api_serves(&api, &git) {
        return Err(format!(
            "export.pullRequest.apiUrl {} is not the api of the forge at {shown}; no token is \
             sent there: set apiUrl to that forge's api",
            crate::git::redact(api.as_str(), &[])
        ));
    }
    Clearance::new(&api, &clone).map_err(|e| e.to_string())
}
