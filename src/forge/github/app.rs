//! Authenticating as a GitHub App. The app's own JWT may only look up installations and mint
//! installation tokens; the pull request calls need an installation token, which lives an hour.
//! Both the installation of each repository and each installation's token are cached, so a
//! steady run costs no extra requests; a token is renewed a few minutes before it expires.

use std::collections::HashMap;

use http::{HeaderValue, Method};
use octocrab::EncodingKey;
use octocrab::models::AppId;
use octocrab::secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::answer::{decode, unix_seconds};
use super::{GitHub, bearer, now_unix};
use crate::forge::{ForgeError, ForgeRepo};
use crate::secret::SecretToken;

/// Renew this long before expiry: leaves room for retry waits and for clocks that disagree.
const RENEW_BEFORE_SECS: i64 = 5 * 60;

pub(super) struct AppAuth {
    app_id: AppId,
    key: EncodingKey,
    installations: Mutex<HashMap<ForgeRepo, u64>>,
    /// Held across a renewal so concurrent calls wait for one new token instead of each
    /// minting their own.
    tokens: Mutex<HashMap<u64, CachedToken>>,
}

struct CachedToken {
    token: SecretToken,
    /// Unix seconds.
    expires_at: i64,
}

#[derive(Deserialize)]
struct WireInstallation {
    id: u64,
}

// No Debug: the token must not be printable.
#[derive(Deserialize)]
struct WireToken {
    token: String,
    expires_at: String,
}

impl AppAuth {
    pub(super) fn new(app_id: u64, private_key_pem: &SecretString) -> Result<AppAuth, ForgeError> {
        let key = EncodingKey::from_rsa_pem(private_key_pem.expose_secret().as_bytes()).map_err(
            |_| ForgeError::Auth("the github app private key is not an RSA key in PEM form".into()),
        )?;
        Ok(AppAuth {
            app_id: AppId(app_id),
            key,
            installations: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// A usable installation token for `repo`, and whether it was minted by this call (a fresh
    /// token that GitHub refuses is not worth replacing).
    pub(super) async fn token(
        &self,
        github: &GitHub,
        repo: &ForgeRepo,
    ) -> Result<(SecretToken, bool), ForgeError> {
        let installation = self.installation(github, repo).await?;
        let mut tokens = self.tokens.lock().await;
        if let Some(cached) = tokens.get(&installation)
            && cached.expires_at - now_unix() > RENEW_BEFORE_SECS
        {
            return Ok((cached.token.clone(), false));
        }
        let step = "mint installation token";
        let path = format!("/app/installations/{installation}/access_tokens");
        let text = github
            .send(step, &Method::POST, &path, None::<&()>, &self.jwt()?)
            .await?;
        let wire: WireToken = decode(step, &text)?;
        let expires_at = unix_seconds(step, "expires_at", &wire.expires_at)?;
        let token = SecretToken::from(wire.token);
        tokens.insert(
            installation,
            CachedToken {
                token: token.clone(),
                expires_at,
            },
        );
        Ok((token, true))
    }

    /// Drops the cached token for `repo`'s installation, so the next call mints a new one.
    pub(super) async fn forget_token(&self, repo: &ForgeRepo) {
        let installation = self.installations.lock().await.get(repo).copied();
        if let Some(installation) = installation {
            self.tokens.lock().await.remove(&installation);
        }
    }

    async fn installation(&self, github: &GitHub, repo: &ForgeRepo) -> Result<u64, ForgeError> {
        let mut installations = self.installations.lock().await;
        if let Some(id) = installations.get(repo) {
            return Ok(*id);
        }
        let step = "find app installation";
        let path = format!("/repos/{repo}/installation");
        let text = github
            .send(step, &Method::GET, &path, None::<&()>, &self.jwt()?)
            .await
            .map_err(|e| match e {
                ForgeError::Status { status: 404, .. } => {
                    ForgeError::Auth(format!("the github app is not installed on {repo}"))
                }
                other => other,
            })?;
        let installation: WireInstallation = decode(step, &text)?;
        installations.insert(repo.clone(), installation.id);
        Ok(installation.id)
    }

    /// A new JWT each time: they live ten minutes, and signing costs less than a request.
    fn jwt(&self) -> Result<HeaderValue, ForgeError> {
        let jwt = octocrab::auth::create_jwt(self.app_id, &self.key)
            .map_err(|_| ForgeError::Auth("cannot sign the github app jwt".into()))?;
        bearer(&jwt)
    }
}
