//! Operator-level settings of the controller: flags, environment and Helm values end up here.

use std::path::PathBuf;
use std::time::Duration;

use crate::git::Identity;

#[derive(Debug, Clone)]
pub struct Config {
    /// Repositories the controller may write to (`host/owner/name` patterns, `*` for one path
    /// segment). Empty: no repository, so GitOps pull requests are off until an operator
    /// allows them.
    pub allowed_repositories: Vec<String>,
    /// How often an open pull request's state is read from the forge in steady state.
    pub pr_poll_interval: Duration,
    /// Requeue after a successful reconcile (pods change without the policy changing).
    pub requeue_interval: Duration,
    /// Requeue after a failed reconcile.
    pub error_requeue: Duration,
    /// Bare git caches, one per repository URL.
    pub cache_dir: PathBuf,
    /// Author and committer of the bot's commits.
    pub identity: Identity,
    /// Directory with template overrides for pull-request title, body and commit message.
    pub templates: Option<PathBuf>,
    /// Argo CD instances to trust when reading tracking ids.
    pub locate: crate::locate::Settings,
    /// Which pods may be resized apart from the policy (tests without a kubelet relax it).
    pub eligibility: crate::resize::Eligibility,
    /// Pull requests per repository per hour, and open at once (0: no limit).
    pub hourly_pr_limit: u32,
    pub concurrent_pr_limit: u32,
    /// Policies reconciled at once.
    pub max_concurrent_reconciles: u16,
    /// Not a setting: asked before every git push, forge write, resize and status write. The
    /// runtime makes it follow the leader lease; without leader election it is always open.
    pub write_gate: crate::pr::WriteGate,
    /// Bytes of YAML text one pull-request sync may read from a repository.
    pub repo_read_budget: u64,
    /// Who writes recommendations, how often they are recomputed, the query budget.
    pub recommender: super::recommender::Settings,
    /// The `helm` (Helm 3) that renders charts kept in repositories, to find the values key
    /// behind each container's resources: a path, or a name looked up on `PATH`.
    pub helm: PathBuf,
    /// Longest one `helm template` may run.
    pub helm_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            allowed_repositories: Vec::new(),
            pr_poll_interval: Duration::from_secs(600),
            requeue_interval: Duration::from_secs(300),
            error_requeue: Duration::from_secs(60),
            cache_dir: crate::pr::default_cache_dir(),
            identity: Identity {
                name: "attune[bot]".into(),
                email: "attune-bot@users.noreply.attune.io".into(),
            },
            templates: None,
            locate: crate::locate::Settings::default(),
            eligibility: crate::resize::Eligibility::default(),
            hourly_pr_limit: 2,
            concurrent_pr_limit: 10,
            max_concurrent_reconciles: 4,
            write_gate: crate::pr::WriteGate::always_open(),
            repo_read_budget: crate::git::DEFAULT_READ_BUDGET,
            recommender: super::recommender::Settings::default(),
            helm: PathBuf::from("helm"),
            helm_timeout: Duration::from_secs(30),
        }
    }
}
