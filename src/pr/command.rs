//! `attune propose --open-pr`: the whole pipeline from a workstation or a CI job. Builds the
//! forge client and the settings from flags, policy fields and the environment, then runs
//! [`super::sync`] once per branch (one per policy, or one per workload).

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

pub use super::connect::connect_forge;
use super::{
    Action, Clearance, Limits, Operator, PrError, RunResult, Settings, Target, WriteGate,
    default_cache_dir, sync,
};
use crate::crd::FilePolicy;
use crate::forge::{Forge, ForgeError, ForgeRepo};
use crate::git::Identity;
use crate::secret::SecretToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ForgeKind {
    Github,
    Gitea,
    Gitlab,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BranchPer {
    Policy,
    Workload,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// Everything the command line gives; credentials come from the environment.
#[derive(Debug, Clone)]
pub struct Options {
    pub policies: PathBuf,
    pub repository: String,
    pub repo_url: Option<String>,
    pub base: Option<String>,
    /// `--path`/`--scope`, checked against the base branch when it is fetched.
    pub place: crate::propose::Place,
    pub forge: ForgeKind,
    pub api_url: Option<String>,
    pub dry_run: bool,
    pub output: Output,
    pub branch_per: BranchPer,
    pub cache_dir: Option<PathBuf>,
    pub templates: Option<PathBuf>,
    pub author_name: String,
    pub author_email: String,
    pub reviewers: Vec<String>,
    pub team_reviewers: Vec<String>,
    pub labels: Vec<String>,
    pub hourly_limit: u32,
    pub concurrent_limit: u32,
    pub draft: bool,
    /// Bytes of YAML text read from the repository per branch.
    pub read_budget: u64,
    /// `--discover`: the applications the repository describes decide where each workload
    /// is searched (`propose --discover` on the base commit).
    pub discover: Option<Discover>,
}

/// How `--discover` renders the charts the repository's applications name; the repository's
/// own URL is the one fetched.
#[derive(Debug, Clone)]
pub struct Discover {
    /// `helm` (looked up on `PATH`) or a path.
    pub helm: PathBuf,
    /// Longest one `helm template` may run.
    pub helm_timeout: std::time::Duration,
}

/// Where results and notes are printed: one result line each on `out`, problems on `err`.
pub struct Console<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

/// Credentials, read once from the environment by the binary.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub token: Option<SecretToken>,
    pub app_id: Option<String>,
    pub app_key_file: Option<PathBuf>,
}

/// Bad input or a failed step; [`CommandError::exit_code`] maps it to the CLI contract.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Policies(#[from] crate::propose::ProposeError),
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error("{policy}")]
    Pipeline {
        policy: String,
        #[source]
        source: PrError,
    },
    #[error("cannot write the result")]
    Output(#[source] std::io::Error),
}

impl CommandError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::Pipeline { source, .. } => source.exit_code(),
            CommandError::Forge(ForgeError::BadRepository { .. }) => 2,
            CommandError::Forge(ForgeError::NestedOwner { .. }) => 2,
            CommandError::Forge(ForgeError::Unsupported { .. }) => 2,
            CommandError::Forge(_) => 3,
            CommandError::Output(_) => 3,
            _ => 2,
        }
    }
}

/// One branch's worth of work: its name and the policies (possibly narrowed to one workload).
fn units(policies: &[FilePolicy], per: BranchPer) -> Vec<(String, Vec<FilePolicy>)> {
    let mut out = Vec::new();
    for p in policies {
        let ns = p
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let name = p.metadata.name.clone().unwrap_or_default();
        match per {
            BranchPer::Policy => out.push((format!("attune/{ns}/{name}"), vec![p.clone()])),
            BranchPer::Workload => {
                for rec in p.status.iter().flat_map(|s| &s.recommendations) {
                    let mut one = p.clone();
                    if let Some(status) = &mut one.status {
                        status.recommendations = vec![rec.clone()];
                    }
                    let workload = format!("{}-{}", rec.kind, rec.workload).to_ascii_lowercase();
                    // `_` cannot occur in Kubernetes names, so this never collides with a
                    // policy's branch; and it is no sub-path of it, which git could not store
                    // beside `attune/<ns>/<policy>` (a ref cannot be both file and directory).
                    out.push((format!("attune/{ns}/{name}_{workload}"), vec![one]));
                }
            }
        }
    }
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonLine<'a> {
    action: Action,
    number: Option<u64>,
    url: Option<&'a str>,
    branch: &'a str,
    change_hash: &'a str,
    reason: &'a str,
    problems: &'a [crate::repo::Problem],
    /// With `--discover`: the applications, problems and notices found in the base commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    discovery: Option<&'a crate::discover::Discovery>,
}

/// Runs the pipeline for every branch, printing one result line each (the last line says what
/// happened to the last branch). Returns the exit code: 0, or 1 when some workload could not be
/// located (its PR still carries everything else).
pub async fn run<F: Forge>(
    forge: &F,
    opts: &Options,
    env: &Env,
    console: Console<'_>,
) -> Result<i32, CommandError> {
    let policies = crate::propose::read_policies(&opts.policies)?;
    run_policies(forge, opts, &policies, env, console).await
}

/// [`run`] for policies already in hand (`kubectl attune pr` reads them from the cluster);
/// `opts.policies` is not read.
pub async fn run_policies<F: Forge>(
    forge: &F,
    opts: &Options,
    policies: &[FilePolicy],
    env: &Env,
    console: Console<'_>,
) -> Result<i32, CommandError> {
    let Console { out, err } = console;
    let repo = ForgeRepo::parse(&opts.repository)?;
    // Whether the directory exists is known only once the base is fetched (`PrError::BadPath`).
    let scope = opts.place.scope(|_| true).ok_or_else(|| {
        CommandError::Input(format!("{} leaves the repository", opts.place.given()))
    })?;
    let operator = operator(opts, env);
    let mut code = 0;
    for (branch, unit) in units(policies, opts.branch_per) {
        let export = unit[0]
            .spec
            .update_strategy
            .as_ref()
            .and_then(|s| s.export.as_ref())
            .and_then(|e| e.pull_request.as_ref());
        let base = opts
            .base
            .clone()
            .or_else(|| export.and_then(|e| e.base_branch.clone()))
            .unwrap_or_else(|| "main".into());
        let url = opts
            .repo_url
            .clone()
            .unwrap_or_else(|| forge.clone_url(&repo));
        // From the command line the token goes where the flags say, and nowhere else.
        let clearance = Clearance::new(&forge.api_base(), &url)
            .map_err(|e| CommandError::Input(format!("--repo-url/--api-url: {e}")))?;
        let target = Target {
            repo: repo.clone(),
            url: url.clone(),
            base,
            scope: scope.clone(),
            scopes: Default::default(),
            clearance,
            look_for: Vec::new(),
            helm: Vec::new(),
            discover: opts.discover.as_ref().map(|d| crate::discover::Request {
                this_repo: Some(url.clone()),
                helm: d.helm.clone(),
                helm_timeout: d.helm_timeout,
            }),
        };
        let settings = Settings::for_branch(branch.clone(), &operator, export);
        let result = sync(forge, &target, &unit, &settings)
            .await
            .map_err(|source| CommandError::Pipeline {
                policy: branch.clone(),
                source,
            })?;
        if !result.outcome.problems.is_empty() {
            code = 1;
        }
        report(&result, opts, out, err).map_err(CommandError::Output)?;
    }
    Ok(code)
}

/// What the flags and the environment decide for every branch.
fn operator(opts: &Options, env: &Env) -> Operator {
    Operator {
        identity: Identity {
            name: opts.author_name.clone(),
            email: opts.author_email.clone(),
        },
        labels: opts.labels.clone(),
        reviewers: opts.reviewers.clone(),
        team_reviewers: opts.team_reviewers.clone(),
        draft: opts.draft,
        limits: Limits::attune(opts.hourly_limit, opts.concurrent_limit),
        dry_run: opts.dry_run,
        templates: opts.templates.clone(),
        cache_dir: opts.cache_dir.clone().unwrap_or_else(default_cache_dir),
        git_token: env.token.clone(),
        write_gate: WriteGate::always_open(),
        read_budget: opts.read_budget,
    }
}

fn report(
    r: &RunResult,
    opts: &Options,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    if let Some(discovery) = &r.discovery {
        crate::discover::describe(discovery, err)?;
    }
    crate::propose::problems_and_notices(&r.outcome, err)?;
    if opts.dry_run {
        writeln!(err, "plan for {}: {} ({})", r.branch, r.action, r.reason)?;
        out.write_all(r.diff.as_bytes())?;
        if let Some(body) = &r.body {
            writeln!(err, "--- pull request body ---\n{body}")?;
        }
    }
    match opts.output {
        Output::Json => {
            let line = JsonLine {
                action: r.action,
                number: r.number,
                url: r.url.as_deref(),
                branch: &r.branch,
                change_hash: &r.change_hash,
                reason: &r.reason,
                problems: &r.outcome.problems,
                discovery: r.discovery.as_ref(),
            };
            serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::other)?;
            writeln!(out)
        }
        Output::Text => {
            let what = match (&r.url, r.action) {
                (
                    Some(url),
                    Action::Created | Action::Updated | Action::Unchanged | Action::Closed,
                ) => url.clone(),
                _ => r.reason.clone(),
            };
            writeln!(out, "{} {what}", r.action)
        }
    }
}
