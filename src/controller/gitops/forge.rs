//! The forge client of one policy, built only when a branch needs it (steady state builds none):
//! the token comes from `export.pullRequest.tokenSecretRef`, read from the policy's own
//! namespace and nowhere else; the backend from `provider` and `apiUrl`. A slot hands the client
//! out only through [`ForgeSlot::get`], which passes the token gate ([`super::gate`]) for the
//! branch's repository first. The token lives in the client and the git credentials only; no
//! message here carries it. This file knows nothing of branches, git or the pull-request
//! lifecycle.

use std::future::Future;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

use super::gate::{self, Admission};
use crate::crd::{GitProvider, PullRequestExport};
use crate::forge::github::GitHubAuth;
use crate::forge::gitlab::GitLabAuth;
use crate::forge::{AnyForge, Connection, Forge, connect};
use crate::metrics::FailureCategory;
use crate::pr::Clearance;
use crate::secret::SecretToken;

/// Why no forge client could be had; the message names the field or object to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub category: FailureCategory,
}

/// A forge client cleared for one branch's repository, with the token for git.
pub struct Cleared<'a, F> {
    pub forge: &'a F,
    pub token: Option<SecretToken>,
    pub clearance: Clearance,
}

mod sealed {
    use super::{Failure, Forge, Future, SecretToken};

    /// Making the client: reachable only inside this file, so every caller goes through the
    /// gate in [`super::ForgeSlot::get`].
    pub trait Make: Send {
        type F: Forge;
        fn make(
            &mut self,
        ) -> impl Future<Output = Result<(&Self::F, Option<SecretToken>), Failure>> + Send;
    }
}

/// Hands out the policy's forge client and the token for git, making them on first use, and
/// only for a repository the gate clears.
pub trait ForgeSlot: sealed::Make {
    fn get<'s>(
        &'s mut self,
        admission: &Admission<'_>,
    ) -> impl Future<Output = Result<Cleared<'s, Self::F>, Failure>> + Send {
        let admission = *admission;
        let cleared = move |forge: &Self::F| gate::clear(&admission, forge);
        async move {
            let (forge, token) = self.make().await?;
            let clearance = cleared(forge).map_err(|message| Failure {
                message,
                category: FailureCategory::Repository,
            })?;
            Ok(Cleared {
                forge,
                token,
                clearance,
            })
        }
    }
}

impl<T: sealed::Make> ForgeSlot for T {}

/// A client made elsewhere (tests, or a caller that already has one).
pub struct GivenForge<'a, F> {
    pub forge: &'a F,
    pub git_token: Option<SecretToken>,
}

impl<F: Forge> sealed::Make for GivenForge<'_, F> {
    type F = F;
    async fn make(&mut self) -> Result<(&F, Option<SecretToken>), Failure> {
        Ok((self.forge, self.git_token.clone()))
    }
}

/// The policy's own forge client: reads the token Secret from the policy's namespace and
/// connects the first time a branch asks, then hands the same client out.
pub struct PolicyForge<'a> {
    pub client: &'a kube::Client,
    /// The policy's namespace: the only one a token is read from.
    pub namespace: &'a str,
    pub export: &'a PullRequestExport,
    connected: Option<Result<(AnyForge, SecretToken), Failure>>,
}

impl<'a> PolicyForge<'a> {
    /// The slot for `policy`: its token is read from the policy's namespace.
    pub fn for_policy(
        client: &'a kube::Client,
        policy: &'a crate::crd::AttunePolicy,
        export: &'a PullRequestExport,
    ) -> Self {
        PolicyForge {
            client,
            namespace: policy.metadata.namespace.as_deref().unwrap_or("default"),
            export,
            connected: None,
        }
    }
}

impl sealed::Make for PolicyForge<'_> {
    type F = AnyForge;
    async fn make(&mut self) -> Result<(&AnyForge, Option<SecretToken>), Failure> {
        if self.connected.is_none() {
            let connected = match read_token(self.client, self.namespace, self.export).await {
                Ok(token) => connection(self.export, &token)
                    .and_then(|c| connect(c).map_err(|e| forge_failure(&e)))
                    .map(|f| (f, token)),
                Err(e) => Err(e),
            };
            self.connected = Some(connected);
        }
        match &self.connected {
            Some(Ok((forge, token))) => Ok((forge, Some(token.clone()))),
            Some(Err(e)) => Err(e.clone()),
            None => Err(bad("the forge client was not built")),
        }
    }
}

fn bad(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        category: FailureCategory::InvalidPolicy,
    }
}

/// The token from `tokenSecretRef`, read with a namespaced API in `namespace` (the policy's):
/// the reference has no namespace, and one written into it anyway is never looked at.
pub async fn read_token(
    client: &kube::Client,
    namespace: &str,
    export: &PullRequestExport,
) -> Result<SecretToken, Failure> {
    let Some(reference) = &export.token_secret_ref else {
        return Err(bad(
            "export.pullRequest.tokenSecretRef is not set: name a Secret key in the policy's \
             namespace that holds the forge token",
        ));
    };
    let what = format!("secret {namespace}/{}", reference.name);
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = match api.get(&reference.name).await {
        Ok(s) => s,
        Err(kube::Error::Api(status)) if status.code == 404 => {
            return Err(bad(format!(
                "{what} (export.pullRequest.tokenSecretRef) does not exist"
            )));
        }
        Err(kube::Error::Api(status)) if status.code == 403 => {
            return Err(Failure {
                message: format!(
                    "the controller may not read {what} (export.pullRequest.tokenSecretRef): {}",
                    status.message
                ),
                category: FailureCategory::Kubernetes,
            });
        }
        Err(e) => {
            return Err(Failure {
                message: format!("cannot read {what}: {e}"),
                category: FailureCategory::Kubernetes,
            });
        }
    };
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(&reference.key))
        .ok_or_else(|| bad(format!("{what} has no key {:?}", reference.key)))?;
    let token = std::str::from_utf8(&bytes.0)
        .map_err(|_| bad(format!("{what} key {:?} is not utf-8 text", reference.key)))?
        .trim();
    if token.is_empty() {
        return Err(bad(format!("{what} key {:?} is empty", reference.key)));
    }
    Ok(SecretToken::from(token))
}

fn api_url(export: &PullRequestExport) -> Result<Option<url::Url>, Failure> {
    export
        .api_url
        .as_deref()
        .map(|u| {
            url::Url::parse(u.trim()).map_err(|e| {
                bad(format!(
                    "export.pullRequest.apiUrl {u:?} is not a url ({e}); \
                     write it like https://git.example.com"
                ))
            })
        })
        .transpose()
}

fn forge_failure(e: &crate::forge::ForgeError) -> Failure {
    Failure {
        message: format!("setting up the forge client: {e}"),
        category: FailureCategory::Forge,
    }
}

/// The connection `export` names: GitHub (`apiUrl` for GitHub Enterprise Server's REST root),
/// Gitea (`apiUrl` is the Gitea base URL and required) or GitLab (`apiUrl` for a self-managed
/// GitLab's web root; gitlab.com without).
pub fn connection(export: &PullRequestExport, token: &SecretToken) -> Result<Connection, Failure> {
    let api_url = api_url(export)?;
    Ok(match provider(export)? {
        GitProvider::Gitea => Connection::Gitea {
            base_url: api_url.ok_or_else(|| {
                bad("export.pullRequest.apiUrl is required with provider gitea: set it to the Gitea base url")
            })?,
            token: token.clone(),
        },
        GitProvider::Gitlab => Connection::GitLab {
            base_url: api_url,
            auth: GitLabAuth::from_token(token.clone()),
        },
        GitProvider::Github => Connection::GitHub {
            api_url,
            auth: GitHubAuth::Token(token.clone()),
        },
    })
}

/// Which backend a policy asks for (every provider the CRD names is served).
pub fn provider(export: &PullRequestExport) -> Result<GitProvider, Failure> {
    Ok(export.provider.unwrap_or_default())
}
