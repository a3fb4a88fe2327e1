//! `spec.updateStrategy.export`: publishing recommendations as ConfigMaps or pull requests.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::rules::{self, DURATION_MAX_LENGTH, URL_MAX_LENGTH, cel, cel_text};
use super::spec::SecretKeyRef;

/// Where recommendations are published besides the policy status.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Export {
    /// One ConfigMap per workload, `<policy>-<workload>-recommendations`. Default: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ConfigMapExport>,
    /// Pull requests that change the workload manifests in Git. Default: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PullRequestExport>,
}

/// ConfigMap export settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapExport {
    /// Turns the ConfigMap export on. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Pull-request export settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestExport {
    /// Turns pull requests on. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Git forge: github, gitlab or gitea. Default: github.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<GitProvider>,
    /// Secret key holding the forge API token. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_ref: Option<SecretKeyRef>,
    /// Repository as `owner/name` (GitLab: the project path). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Branch the pull request targets. Default: main.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_branch: Option<String>,
    /// Forge API base URL, for self-hosted forges. Default: the provider's public API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel_text(URL_MAX_LENGTH, &[rules::HTTP_URL]))]
    pub api_url: Option<String>,
    /// Least time between pull-request updates for this policy, as a duration. Default: 24h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel_text(DURATION_MAX_LENGTH, &[rules::ANY_DURATION]))]
    pub cooldown: Option<String>,
    /// Smallest request change, in percent, that is worth a pull request. Default: 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel(&[rules::MIN_CHANGE_PERCENT]))]
    pub min_change_percent: Option<i32>,
    /// Labels put on the pull request. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Computes the change but opens no pull request. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Directory or file in the repository that holds the workload manifests.
    /// Default: the repository root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Git forges that pull requests can be opened on.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GitProvider {
    #[default]
    Github,
    Gitlab,
    Gitea,
}
