//! `kubectl attune pr POLICY`: opens or updates the pull request of one live policy from a
//! workstation. The policy (with the recommendations in its status) is read from the cluster;
//! everything after is `attune propose --open-pr`'s pipeline ([`crate::pr::command`], which
//! runs [`crate::pr::sync`]), so the lifecycle is the controller's: one pull request per policy
//! branch, updated in place, a human's commit or close respected, merged means done. The forge,
//! repository, API URL, base branch and path default to the policy's `export.pullRequest`;
//! the token comes from `ATTUNE_GIT_TOKEN` and goes only to the API and clone URL these name.
//! `--discover` has the pipeline search each workload where the repository's own Applications,
//! Kustomizations and HelmReleases deploy it, as `attune propose --discover --open-pr`.
//! I/O: the cluster, git and the forge.

use std::path::PathBuf;

use clap::Args;

use super::PluginError;
use super::client::{self, Connection};
use crate::crd::{AttunePolicy, FilePolicy, GitProvider, PullRequestExport};
use crate::pr::command::{
    self, BranchPer, CommandError, Console, Discover, Env, ForgeKind, Options, Output,
};
use crate::propose::Place;

/// Bytes of YAML read from the repository, as `attune propose`'s default.
const READ_BUDGET: u64 = 16 * 1024 * 1024;

#[derive(Args, Debug)]
pub struct PrArgs {
    /// The AttunePolicy's name.
    pub policy: String,
    /// Print the plan, the diff (stdout) and the body (stderr); push and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The repository, OWNER/NAME or GitLab's GROUP/SUB/NAME (default: the policy's
    /// export.pullRequest.repository).
    #[arg(long)]
    pub repository: Option<String>,
    /// The forge (default: the policy's export.pullRequest.provider, else github).
    #[arg(long, value_enum)]
    pub forge: Option<ForgeKind>,
    /// The forge's API or base URL (default: the policy's export.pullRequest.apiUrl).
    #[arg(long)]
    pub api_url: Option<String>,
    /// Git URL to fetch and push (default: the forge's clone URL).
    #[arg(long)]
    pub repo_url: Option<String>,
    /// Base branch (default: the policy's export.pullRequest.baseBranch, else main).
    #[arg(long)]
    pub base: Option<String>,
    /// Directory the workloads are deployed from (default: the policy's
    /// export.pullRequest.path, else the whole repository).
    #[arg(long)]
    pub path: Option<String>,
    /// Add this label (repeatable; the policy's labels are added too).
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Request a review from this user (repeatable).
    #[arg(long = "reviewer")]
    pub reviewers: Vec<String>,
    /// Request a review from this team (repeatable; GitHub and Gitea, refused on GitLab).
    #[arg(long = "team-reviewer")]
    pub team_reviewers: Vec<String>,
    /// Directory whose pr-title.txt.j2, pr-body.md.j2, commit-message.txt.j2 replace the
    /// built-in ones (as `attune propose --templates`).
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// Open the pull request as a draft.
    #[arg(long)]
    pub draft: bool,
    /// Pull requests the bot may open per hour in the repository (0: no limit).
    #[arg(long, default_value_t = 2)]
    pub pr_hourly_limit: u32,
    /// Open bot pull requests at once in the repository (0: no limit).
    #[arg(long, default_value_t = 10)]
    pub pr_concurrent_limit: u32,
    /// Where clones are cached (default: the user's cache directory).
    #[arg(long, env = "ATTUNE_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    #[arg(long, env = "ATTUNE_GIT_AUTHOR_NAME", default_value = "Attune")]
    pub author_name: String,
    #[arg(
        long,
        env = "ATTUNE_GIT_AUTHOR_EMAIL",
        default_value = "attune-bot@users.noreply.github.com"
    )]
    pub author_email: String,
    /// One JSON line per result instead of `ACTION URL`.
    #[arg(short, long, value_enum)]
    pub output: Option<Output>,
    /// Read the Argo CD Applications and ApplicationSets and Flux Kustomizations and
    /// HelmReleases in the repository and search each workload where its own application
    /// deploys it, as `attune propose --discover --open-pr` (the path is then the default for
    /// workloads no application deploys).
    #[arg(long)]
    pub discover: bool,
    /// With --discover: the helm binary (Helm 3) that renders the charts the applications
    /// name, a path or a name looked up on PATH.
    #[arg(long, env = "ATTUNE_HELM", default_value = "helm")]
    pub helm: PathBuf,
    /// With --discover: longest one `helm template` may run, in seconds.
    #[arg(long, default_value_t = 60)]
    pub helm_timeout: u64,
}

/// Runs the pipeline for the policy `args.policy` in `namespace`.
pub async fn run(conn: &Connection, namespace: &str, args: &PrArgs) -> Result<(), PluginError> {
    let object = client::get_policy(&conn.client, namespace, &args.policy).await?;
    let policy: AttunePolicy =
        serde_json::from_value(object).map_err(|e| PluginError::PullRequest {
            message: format!(
                "AttunePolicy {namespace}/{} as stored does not parse ({e}): fix it with kubectl edit",
                args.policy
            ),
            code: 1,
        })?;
    let policy = FilePolicy::from(policy);
    let export = policy
        .spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.export.as_ref())
        .and_then(|e| e.pull_request.clone())
        .unwrap_or_default();
    let opts = options(args, &export)?;
    let env = Env::from_environment();
    let forge = command::connect_forge(&opts, &env).map_err(|e| failed(&e))?;
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let console = Console {
        out: &mut out,
        err: &mut err,
    };
    let code = command::run_policies(&forge, &opts, &[policy], &env, console)
        .await
        .map_err(|e| failed(&e))?;
    if code != 0 {
        return Err(PluginError::PullRequest {
            message: "some workloads were not found in the repository (listed above); the pull \
                      request carries the others"
                .into(),
            code: 1,
        });
    }
    Ok(())
}

/// The pipeline's options: flags first, then the policy's `export.pullRequest`.
fn options(args: &PrArgs, export: &PullRequestExport) -> Result<Options, PluginError> {
    let repository = args
        .repository
        .clone()
        .or_else(|| export.repository.clone())
        .ok_or_else(|| {
            PluginError::Usage(format!(
                "policy {} names no repository (export.pullRequest.repository): pass --repository OWNER/NAME",
                args.policy
            ))
        })?;
    let forge = args
        .forge
        .unwrap_or(match export.provider.unwrap_or_default() {
            GitProvider::Github => ForgeKind::Github,
            GitProvider::Gitlab => ForgeKind::Gitlab,
            GitProvider::Gitea => ForgeKind::Gitea,
        });
    let place = match args.path.clone().or_else(|| export.path.clone()) {
        Some(dir) => Place::Path {
            dir,
            recurse: false,
        },
        None => Place::Everywhere,
    };
    Ok(Options {
        policies: PathBuf::new(),
        repository,
        repo_url: args.repo_url.clone(),
        base: args.base.clone(),
        place,
        forge,
        api_url: args.api_url.clone().or_else(|| export.api_url.clone()),
        dry_run: args.dry_run,
        output: args.output.unwrap_or(Output::Text),
        branch_per: BranchPer::Policy,
        cache_dir: args.cache_dir.clone(),
        templates: args.templates.clone(),
        author_name: args.author_name.clone(),
        author_email: args.author_email.clone(),
        reviewers: args.reviewers.clone(),
        team_reviewers: args.team_reviewers.clone(),
        labels: args.labels.clone(),
        hourly_limit: args.pr_hourly_limit,
        concurrent_limit: args.pr_concurrent_limit,
        draft: args.draft,
        read_budget: READ_BUDGET,
        discover: args.discover.then(|| Discover {
            helm: args.helm.clone(),
            helm_timeout: std::time::Duration::from_secs(args.helm_timeout.max(1)),
        }),
    })
}

/// The pipeline's error as one line, with its exit code (2 bad input, 3 git or forge).
fn failed(error: &CommandError) -> PluginError {
    PluginError::PullRequest {
        message: crate::error_chain(error),
        code: u8::try_from(error.exit_code()).unwrap_or(3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: PrArgs,
    }

    fn args(extra: &[&str]) -> PrArgs {
        let mut argv = vec!["pr", "api"];
        argv.extend_from_slice(extra);
        Wrap::parse_from(argv).args
    }

    #[test]
    fn flags_win_over_the_policy_and_the_policy_fills_the_rest() {
        let export = PullRequestExport {
            provider: Some(GitProvider::Gitlab),
            repository: Some("group/sub/app".into()),
            api_url: Some("https://gl.example.com".into()),
            path: Some("deploy".into()),
            ..PullRequestExport::default()
        };
        let from_policy = options(&args(&[]), &export).unwrap();
        assert_eq!(from_policy.forge, ForgeKind::Gitlab);
        assert_eq!(from_policy.repository, "group/sub/app");
        assert_eq!(
            from_policy.api_url.as_deref(),
            Some("https://gl.example.com")
        );
        assert_eq!(from_policy.place.given(), "--path deploy");
        assert_eq!(from_policy.branch_per, BranchPer::Policy);

        let flags = [
            "--forge",
            "gitea",
            "--repository",
            "o/r",
            "--api-url",
            "http://g",
        ];
        let overridden = options(&args(&flags), &export).unwrap();
        assert_eq!(overridden.forge, ForgeKind::Gitea);
        assert!(overridden.team_reviewers.is_empty() && overridden.templates.is_none());
        let people = options(
            &args(&[
                "--team-reviewer",
                "sre",
                "--templates",
                "/etc/attune/templates",
            ]),
            &export,
        )
        .unwrap();
        assert_eq!(people.team_reviewers, ["sre"]);
        assert_eq!(
            people.templates.as_deref(),
            Some(std::path::Path::new("/etc/attune/templates"))
        );
        assert_eq!(overridden.repository, "o/r");
        assert_eq!(overridden.api_url.as_deref(), Some("http://g"));
        assert!(overridden.discover.is_none());
        let discovering = options(
            &args(&["--discover", "--helm", "/opt/helm", "--helm-timeout", "5"]),
            &export,
        )
        .unwrap();
        let discover = discovering.discover.unwrap();
        assert_eq!(discover.helm, std::path::Path::new("/opt/helm"));
        assert_eq!(discover.helm_timeout, std::time::Duration::from_secs(5));
    }

    #[test]
    fn no_repository_anywhere_is_a_usage_error_naming_the_field() {
        let error = options(&args(&[]), &PullRequestExport::default()).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(
            error.to_string().contains("export.pullRequest.repository"),
            "{error}"
        );
        let github = options(
            &args(&["--repository", "o/r"]),
            &PullRequestExport::default(),
        );
        assert_eq!(github.unwrap().forge, ForgeKind::Github);
    }
}
