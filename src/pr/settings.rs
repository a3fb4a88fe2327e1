//! What one branch's run is allowed and asked to do: the operator's choices (command-line
//! flags, or the controller's configuration) merged with the policy's `export.pullRequest`.
//! [`Settings::for_branch`] is the one place the two meet, for the CLI and the controller alike.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::WriteGate;
use super::body::Prices;
use crate::crd::PullRequestExport;
use crate::git::Identity;
use crate::secret::SecretToken;

/// The change below which an open pull request is left alone, when the policy does not say.
const DEFAULT_MIN_CHANGE_PERCENT: f64 = 10.0;
/// Push attempts before giving up when the remote keeps moving under us.
const PUSH_ATTEMPTS: u32 = 3;

/// Per-repository limits, as Renovate users know them.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Pull requests the bot may open per hour (0: no limit).
    pub hourly: u32,
    /// Open bot pull requests at once (0: no limit).
    pub concurrent: u32,
    /// Branch prefix that marks the bot's pull requests.
    pub prefix: String,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            hourly: 2,
            concurrent: 10,
            prefix: "attune/".into(),
        }
    }
}

impl Limits {
    /// The hourly and concurrent limits for the bot's own `attune/` branches.
    pub fn attune(hourly: u32, concurrent: u32) -> Limits {
        Limits {
            hourly,
            concurrent,
            ..Limits::default()
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub branch: String,
    pub identity: Identity,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub team_reviewers: Vec<String>,
    pub draft: bool,
    pub min_change_percent: f64,
    pub limits: Limits,
    pub dry_run: bool,
    pub templates: Option<PathBuf>,
    pub cache_dir: PathBuf,
    pub prices: Prices,
    /// Replica counts by `namespace/Kind/workload`, when the caller knows them.
    pub replicas: BTreeMap<String, u32>,
    /// The token for git over HTTP, if any (never logged).
    pub git_token: Option<SecretToken>,
    /// Push attempts before giving up when the remote moves under us.
    pub push_attempts: u32,
    /// Asked right before each push and forge write; a closed gate abandons the write.
    pub write_gate: WriteGate,
    /// Bytes of YAML text one sync may read from the repository ([`super::read_needed`]).
    pub read_budget: u64,
}

/// What the operator decides for every branch, before a policy has its say.
#[derive(Debug, Clone)]
pub struct Operator {
    pub identity: Identity,
    /// Added to the policy's own labels.
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub team_reviewers: Vec<String>,
    pub draft: bool,
    pub limits: Limits,
    /// A dry run for every policy (a policy can also ask for one itself).
    pub dry_run: bool,
    pub templates: Option<PathBuf>,
    pub cache_dir: PathBuf,
    pub git_token: Option<SecretToken>,
    pub write_gate: WriteGate,
    pub read_budget: u64,
}

impl Settings {
    /// The settings for `branch`: the operator's, with the policy's labels added, its dry run
    /// honoured and its `minChangePercent` (10 when unset).
    pub fn for_branch(
        branch: String,
        operator: &Operator,
        export: Option<&PullRequestExport>,
    ) -> Settings {
        let mut labels = operator.labels.clone();
        for label in export.iter().flat_map(|e| &e.labels) {
            if !labels.contains(label) {
                labels.push(label.clone());
            }
        }
        Settings {
            branch,
            identity: operator.identity.clone(),
            labels,
            reviewers: operator.reviewers.clone(),
            team_reviewers: operator.team_reviewers.clone(),
            draft: operator.draft,
            min_change_percent: export
                .and_then(|e| e.min_change_percent)
                .map_or(DEFAULT_MIN_CHANGE_PERCENT, f64::from),
            limits: operator.limits.clone(),
            dry_run: operator.dry_run || export.and_then(|e| e.dry_run).unwrap_or(false),
            templates: operator.templates.clone(),
            cache_dir: operator.cache_dir.clone(),
            prices: Prices::default(),
            replicas: BTreeMap::new(),
            git_token: operator.git_token.clone(),
            push_attempts: PUSH_ATTEMPTS,
            write_gate: operator.write_gate.clone(),
            read_budget: operator.read_budget,
        }
    }
}

/// Where cache clones live by default: `$XDG_CACHE_HOME/attune`, else `~/.cache/attune`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("attune");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("attune")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operator() -> Operator {
        Operator {
            identity: Identity {
                name: "Attune".into(),
                email: "bot@example.com".into(),
            },
            labels: vec!["attune".into()],
            reviewers: Vec::new(),
            team_reviewers: Vec::new(),
            draft: false,
            limits: Limits::default(),
            dry_run: false,
            templates: None,
            cache_dir: PathBuf::from("/tmp/cache"),
            git_token: None,
            write_gate: WriteGate::always_open(),
            read_budget: 1,
        }
    }

    #[test]
    fn the_policy_adds_labels_asks_for_a_dry_run_and_sets_the_threshold() {
        let export = PullRequestExport {
            labels: vec!["attune".into(), "sizing".into()],
            dry_run: Some(true),
            min_change_percent: Some(25),
            ..Default::default()
        };
        let s = Settings::for_branch("attune/n/p".into(), &operator(), Some(&export));
        assert_eq!(s.labels, ["attune", "sizing"]);
        assert!(s.dry_run);
        assert_eq!(s.min_change_percent, 25.0);
        let plain = Settings::for_branch("attune/n/p".into(), &operator(), None);
        assert!(!plain.dry_run);
        assert_eq!(plain.min_change_percent, 10.0);
        assert_eq!(
            (plain.push_attempts, plain.branch.as_str()),
            (3, "attune/n/p")
        );
    }
}
