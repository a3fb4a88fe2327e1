//! The forge client of a command-line run, from flags and the environment: shared by
//! `attune propose --open-pr` and `kubectl attune pr`, so a workstation reaches a forge one way.
//! Tokens are read from the environment only, straight into [`SecretToken`].

use std::path::PathBuf;

use super::command::{CommandError, Env, ForgeKind, Options};
use crate::forge::github::GitHubAuth;
use crate::forge::gitlab::GitLabAuth;
use crate::forge::{AnyForge, Connection, connect};
use crate::secret::SecretToken;

impl Env {
    /// `ATTUNE_GIT_TOKEN` (any forge), or `ATTUNE_GITHUB_APP_ID` with
    /// `ATTUNE_GITHUB_APP_KEY_FILE` (a GitHub App).
    pub fn from_environment() -> Env {
        Env {
            token: std::env::var("ATTUNE_GIT_TOKEN")
                .ok()
                .filter(|t| !t.trim().is_empty())
                .map(SecretToken::from),
            app_id: std::env::var("ATTUNE_GITHUB_APP_ID").ok(),
            app_key_file: std::env::var_os("ATTUNE_GITHUB_APP_KEY_FILE").map(PathBuf::from),
        }
    }
}

/// The forge client the flags and the environment describe (no request is sent yet).
pub fn connect_forge(opts: &Options, env: &Env) -> Result<AnyForge, CommandError> {
    let bad = |m: String| CommandError::Input(m);
    let api = match &opts.api_url {
        Some(api) => Some(url::Url::parse(api).map_err(|e| bad(format!("--api-url {api}: {e}")))?),
        None => None,
    };
    let connection = match opts.forge {
        ForgeKind::Gitea => Connection::Gitea {
            base_url: api
                .ok_or_else(|| bad("--forge gitea needs --api-url (the Gitea base URL)".into()))?,
            token: env
                .token
                .clone()
                .ok_or_else(|| bad("set ATTUNE_GIT_TOKEN to a Gitea access token".into()))?,
        },
        ForgeKind::Gitlab => Connection::GitLab {
            base_url: api,
            auth: GitLabAuth::from_token(env.token.clone().ok_or_else(|| {
                bad("set ATTUNE_GIT_TOKEN to a GitLab access or OAuth token".into())
            })?),
        },
        ForgeKind::Github => Connection::GitHub {
            api_url: api,
            auth: github_auth(env)?,
        },
    };
    Ok(connect(connection)?)
}

fn github_auth(env: &Env) -> Result<GitHubAuth, CommandError> {
    let bad = |m: String| CommandError::Input(m);
    match (&env.token, &env.app_id, &env.app_key_file) {
        (Some(token), _, _) => Ok(GitHubAuth::Token(token.clone())),
        (None, Some(id), Some(key_file)) => {
            let app_id = id
                .parse()
                .map_err(|_| bad(format!("ATTUNE_GITHUB_APP_ID {id} is not a number")))?;
            let key = std::fs::read_to_string(key_file).map_err(|e| {
                bad(format!(
                    "cannot read ATTUNE_GITHUB_APP_KEY_FILE {}: {e}",
                    key_file.display()
                ))
            })?;
            Ok(GitHubAuth::App {
                app_id,
                private_key_pem: key.into(),
            })
        }
        _ => Err(bad(
            "set ATTUNE_GIT_TOKEN, or ATTUNE_GITHUB_APP_ID and ATTUNE_GITHUB_APP_KEY_FILE".into(),
        )),
    }
}
