//! The `attune` command line: a thin clap layer over the library.

use std::error::Error;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use attune::controller::{self, run};
use attune::error_chain;
use attune::forge::github::GitHubAuth;
use attune::forge::{AnyForge, Connection, connect};
use attune::metrics::Metrics;
use attune::pr::command::{self, BranchPer, Env, ForgeKind, Output};
use attune::propose::{self, Format};
use attune::secret::SecretToken;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Right-sizes Kubernetes pods and writes the result back to the GitOps repository.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the AttunePolicy CustomResourceDefinition as YAML.
    Crd,
    /// Rewrite resource requests in a GitOps repository from AttunePolicy recommendations:
    /// in a local checkout (--repo), or on a forge as one pull request per policy (--open-pr).
    ///
    /// Exit codes: 0 every recommended workload was located; 1 some workload or container could
    /// not be located or was ambiguous (everything else still applied); 2 bad input, nothing
    /// touched; 3 a git or forge step failed (--open-pr).
    Propose(Box<ProposeArgs>),
    /// Run the in-cluster controller: resize pods in place from AttunePolicy recommendations
    /// and open pull requests in the allowed GitOps repositories. Every flag also reads the
    /// environment variable shown.
    ///
    /// Exit codes: 0 stopped by SIGTERM/SIGINT; 1 the controller failed; 2 bad flags or
    /// environment, nothing started; 130 a second signal cut the shutdown short.
    Controller(Box<ControllerArgs>),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputArg {
    /// A git-apply-compatible diff (local checkout).
    Diff,
    /// One result line per pull request (--open-pr).
    Text,
    /// A JSON report.
    Json,
}

#[derive(Args)]
struct ProposeArgs {
    /// YAML with AttunePolicy objects (multi-document or a `kind: List`, as kubectl prints).
    #[arg(long)]
    policies: PathBuf,
    /// A local checkout of the GitOps repository.
    #[arg(long, conflicts_with_all = ["repository", "open_pr"])]
    repo: Option<PathBuf>,
    /// The repository on the forge, OWNER/NAME (with --open-pr).
    #[arg(long)]
    repository: Option<String>,
    /// Git URL to fetch and push (default: the forge's clone URL); file://, http://, https://.
    #[arg(long)]
    repo_url: Option<String>,
    /// Base branch of the pull request (default: the policy's baseBranch, else main).
    #[arg(long)]
    base: Option<String>,
    /// The directory the workloads are deployed from, exactly as an Argo CD Application's
    /// spec.source.path or a Flux Kustomization's spec.path: its kustomization alone if it has
    /// one (roots nested below are other applications), else its manifest files.
    #[arg(long, conflicts_with = "scope")]
    path: Option<String>,
    /// With --path on a plain directory: read its subdirectories too, as Flux does (and Argo
    /// CD with directory.recurse); a subdirectory with a kustomization is read as that root.
    #[arg(long, requires = "path")]
    recurse: bool,
    /// Search every Kustomize root and plain manifest below this directory; two of them
    /// rendering one workload are reported as ambiguous.
    #[arg(long)]
    scope: Option<String>,
    /// Edit the files of --repo in place instead of printing a diff.
    #[arg(long, requires = "repo")]
    write: bool,
    /// Fetch, edit, commit, push and open or update the pull request.
    #[arg(long, requires = "repository")]
    open_pr: bool,
    /// The forge's API flavour.
    #[arg(long, value_enum, default_value = "github")]
    forge: ForgeKind,
    /// Forge API base URL (GitHub Enterprise `https://HOST/api/v3`, Gitea `https://HOST`).
    #[arg(long)]
    api_url: Option<String>,
    /// Print the plan (action, diff, body) and make no write call of any kind.
    #[arg(long)]
    dry_run: bool,
    /// What to print on stdout (default: diff for --repo, text for --open-pr).
    #[arg(long, value_enum)]
    output: Option<OutputArg>,
    /// One pull request per policy (default) or per workload.
    #[arg(long, value_enum, default_value = "policy")]
    branch_per: BranchPer,
    /// Cache of git clones (default: $XDG_CACHE_HOME/attune).
    #[arg(long, env = "ATTUNE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Directory whose pr-title.txt.j2, pr-body.md.j2, commit-message.txt.j2 replace the built-in ones.
    #[arg(long)]
    templates: Option<PathBuf>,
    #[arg(long, env = "ATTUNE_GIT_AUTHOR_NAME", default_value = "Attune")]
    author_name: String,
    #[arg(
        long,
        env = "ATTUNE_GIT_AUTHOR_EMAIL",
        default_value = "attune-bot@users.noreply.github.com"
    )]
    author_email: String,
    /// Request a review from this user (repeatable).
    #[arg(long = "reviewer")]
    reviewers: Vec<String>,
    /// Request a review from this team (repeatable).
    #[arg(long = "team-reviewer")]
    team_reviewers: Vec<String>,
    /// Add this label (repeatable; the policy's labels are added too).
    #[arg(long = "label")]
    labels: Vec<String>,
    /// Pull requests the bot may open per hour in this repository (0: no limit).
    #[arg(long, default_value_t = 2)]
    pr_hourly_limit: u32,
    /// Open bot pull requests at once in this repository (0: no limit).
    #[arg(long, default_value_t = 10)]
    pr_concurrent_limit: u32,
    /// Open pull requests as drafts.
    #[arg(long)]
    draft: bool,
    /// Bytes of YAML read from the repository per branch: the files under --path, what its
    /// kustomizations reference and the roots that share it (a size like 16Mi).
    #[arg(long, env = "ATTUNE_REPO_READ_BUDGET", default_value = "16Mi", value_name = "SIZE", value_parser = attune::quantity::parse_bytes)]
    repo_read_budget: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

#[derive(Args)]
struct ControllerArgs {
    /// Repositories the controller may write pull requests to (and send forge tokens to),
    /// comma-separated `[http://]host[:port]/owner/name` patterns (`*` matches one segment;
    /// tokens go over https unless a pattern starts with http://). Empty: no pull requests.
    #[arg(
        long,
        env = "ATTUNE_ALLOWED_REPOSITORIES",
        value_delimiter = ',',
        value_name = "PATTERNS"
    )]
    allowed_repositories: Vec<String>,
    /// How often an open pull request's state is read from the forge.
    #[arg(long, env = "ATTUNE_PR_POLL_INTERVAL", default_value = "10m", value_name = "DURATION", value_parser = run::parse_interval)]
    pr_poll_interval: Duration,
    /// Requeue a policy this long after a successful reconcile.
    #[arg(long, env = "ATTUNE_REQUEUE_INTERVAL", default_value = "5m", value_name = "DURATION", value_parser = run::parse_interval)]
    requeue_interval: Duration,
    /// Requeue a policy this long after a failed reconcile.
    #[arg(long, env = "ATTUNE_ERROR_REQUEUE_INTERVAL", default_value = "1m", value_name = "DURATION", value_parser = run::parse_interval)]
    error_requeue_interval: Duration,
    /// Cache of git clones (default: $XDG_CACHE_HOME/attune); must be writable.
    #[arg(long, env = "ATTUNE_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Author and committer name of the bot's commits.
    #[arg(long, env = "ATTUNE_GIT_AUTHOR_NAME", default_value = "attune[bot]")]
    git_author_name: String,
    /// Author and committer email of the bot's commits.
    #[arg(
        long,
        env = "ATTUNE_GIT_AUTHOR_EMAIL",
        default_value = "attune-bot@users.noreply.attune.io"
    )]
    git_author_email: String,
    /// Directory whose pr-title.txt.j2, pr-body.md.j2, commit-message.txt.j2 replace the built-in ones.
    #[arg(long, env = "ATTUNE_TEMPLATES_DIR", value_name = "DIR")]
    templates: Option<PathBuf>,
    /// Control-plane namespaces of the Argo CD instances to trust, comma-separated.
    #[arg(
        long,
        env = "ATTUNE_ARGOCD_NAMESPACES",
        value_delimiter = ',',
        default_value = "argocd",
        value_name = "NAMESPACES"
    )]
    argocd_namespaces: Vec<String>,
    /// The Argo CD `installationID` (argocd-cm), when set there.
    #[arg(long, env = "ATTUNE_ARGOCD_INSTALLATION_ID", value_name = "ID")]
    argocd_installation_id: Option<String>,
    /// Pull requests the bot may open per hour in one repository (0: no limit).
    #[arg(long, env = "ATTUNE_PR_HOURLY_LIMIT", default_value_t = 2)]
    pr_hourly_limit: u32,
    /// Bot pull requests open at once in one repository (0: no limit).
    #[arg(long, env = "ATTUNE_PR_CONCURRENT_LIMIT", default_value_t = 10)]
    pr_concurrent_limit: u32,
    /// Elect one leader among the replicas through a Lease; only the leader reconciles.
    /// `--leader-elect=false` for a single replica.
    #[arg(long, env = "ATTUNE_LEADER_ELECT", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    leader_elect: bool,
    /// Name of the leader-election Lease.
    #[arg(long, env = "ATTUNE_LEASE_NAME", default_value = "attune-controller")]
    lease_name: String,
    /// Namespace of the Lease (default: POD_NAMESPACE, else the pod's service-account
    /// namespace, else attune-system).
    #[arg(long, env = "ATTUNE_LEASE_NAMESPACE", value_name = "NAMESPACE")]
    lease_namespace: Option<String>,
    /// How long the lease holds without renewal: a standby takes over this long after a
    /// leader's last renewal, whether it shut down or vanished.
    #[arg(long, env = "ATTUNE_LEASE_DURATION", default_value = "15s", value_name = "DURATION", value_parser = run::parse_lease_duration)]
    lease_duration: Duration,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "ATTUNE_BIND_ADDRESS", default_value = "127.0.0.1:8080", value_name = "IP:PORT", value_parser = run::parse_bind_address)]
    bind_address: SocketAddr,
    /// Policies reconciled at once.
    #[arg(long, env = "ATTUNE_MAX_CONCURRENT_RECONCILES", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    max_concurrent_reconciles: u16,
    /// Bytes of YAML one pull-request sync may read from a repository: the files under the
    /// owner's path, what its kustomizations reference and the roots that share it.
    #[arg(long, env = "ATTUNE_REPO_READ_BUDGET", default_value = "16Mi", value_name = "SIZE", value_parser = attune::quantity::parse_bytes)]
    repo_read_budget: u64,
    /// Who writes status.recommendations: builtin (this controller, from each policy's
    /// Prometheus) or external (another component; the controller only reads them).
    #[arg(long, env = "ATTUNE_RECOMMENDER", default_value = "builtin", value_name = "builtin|external", value_parser = controller::recommender::Mode::parse)]
    recommender: controller::recommender::Mode,
    /// How often the built-in recommender reads each policy's usage again (plus up to a
    /// tenth, spread by policy); a spec change recomputes at once.
    #[arg(long, env = "ATTUNE_RECOMMEND_INTERVAL", default_value = "5m", value_name = "DURATION", value_parser = run::parse_interval)]
    recommend_interval: Duration,
    /// Prometheus range queries per second, shared by every policy.
    #[arg(long, env = "ATTUNE_PROMETHEUS_QPS", default_value_t = 10.0, value_name = "N", value_parser = parse_qps)]
    prometheus_qps: f64,
    /// Prometheus queries that may go at once after a quiet spell.
    #[arg(long, env = "ATTUNE_PROMETHEUS_BURST", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    prometheus_burst: u32,
    /// Time for one Prometheus query, connect to last byte.
    #[arg(long, env = "ATTUNE_PROMETHEUS_TIMEOUT", default_value = "30s", value_name = "DURATION", value_parser = run::parse_interval)]
    prometheus_timeout: Duration,
    /// Resize pods that are not Running. Only for test control planes without a kubelet,
    /// where every pod stays Pending; a real cluster must never set it.
    #[arg(long, hide = true)]
    resize_pending_pods: bool,
    /// Log line format.
    #[arg(long, env = "ATTUNE_LOG_FORMAT", value_enum, default_value = "json")]
    log_format: LogFormat,
    /// Log filter, e.g. `info` or `info,attune=debug` (default: RUST_LOG, else info).
    #[arg(long, env = "ATTUNE_LOG_LEVEL", value_name = "FILTER")]
    log_level: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Controller(args) => exit(controller(*args)),
        Command::Crd => match crd() {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {}", error_chain(err.as_ref()));
                ExitCode::FAILURE
            }
        },
        Command::Propose(args) if args.open_pr => exit(open_pr(*args)),
        Command::Propose(args) => exit(local(*args)),
    }
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn crd() -> Result<(), Box<dyn Error>> {
    let yaml = attune::crd::crd_yaml()?;
    // write_all instead of print! so a closed pipe is an error, not a panic.
    std::io::stdout().lock().write_all(yaml.as_bytes())?;
    Ok(())
}

fn local(args: ProposeArgs) -> i32 {
    let place = place(&args);
    let Some(repo) = args.repo else {
        eprintln!(
            "error: give --repo DIR (a local checkout), or --repository OWNER/NAME --open-pr"
        );
        return 2;
    };
    let output = match args.output {
        None | Some(OutputArg::Diff) => Format::Diff,
        Some(OutputArg::Json) => Format::Json,
        Some(OutputArg::Text) => {
            eprintln!("error: --output text is for --open-pr; use diff or json with --repo");
            return 2;
        }
    };
    let opts = propose::Options {
        policies: args.policies,
        repo,
        place,
        write: args.write,
        output,
    };
    match propose::run(
        &opts,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    ) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", error_chain(&err));
            2
        }
    }
}

fn place(args: &ProposeArgs) -> propose::Place {
    match (&args.path, &args.scope) {
        (Some(dir), _) => propose::Place::Path {
            dir: dir.clone(),
            recurse: args.recurse,
        },
        (None, Some(dir)) => propose::Place::Scope(dir.clone()),
        (None, None) => propose::Place::Everywhere,
    }
}

fn open_pr(args: ProposeArgs) -> i32 {
    let output = match args.output {
        None | Some(OutputArg::Text) => Output::Text,
        Some(OutputArg::Json) => Output::Json,
        Some(OutputArg::Diff) => {
            eprintln!(
                "error: --output diff is for --repo; with --open-pr use --dry-run to see the diff"
            );
            return 2;
        }
    };
    let env = Env {
        token: std::env::var("ATTUNE_GIT_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
            .map(SecretToken::from),
        app_id: std::env::var("ATTUNE_GITHUB_APP_ID").ok(),
        app_key_file: std::env::var_os("ATTUNE_GITHUB_APP_KEY_FILE").map(PathBuf::from),
    };
    let place = place(&args);
    let opts = command::Options {
        policies: args.policies,
        repository: args.repository.unwrap_or_default(),
        repo_url: args.repo_url,
        base: args.base,
        place,
        forge: args.forge,
        api_url: args.api_url,
        dry_run: args.dry_run,
        output,
        branch_per: args.branch_per,
        cache_dir: args.cache_dir,
        templates: args.templates,
        author_name: args.author_name,
        author_email: args.author_email,
        reviewers: args.reviewers,
        team_reviewers: args.team_reviewers,
        labels: args.labels,
        hourly_limit: args.pr_hourly_limit,
        concurrent_limit: args.pr_concurrent_limit,
        draft: args.draft,
        read_budget: args.repo_read_budget,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return 3;
        }
    };
    runtime.block_on(async {
        let mut out = std::io::stdout().lock();
        let mut err = std::io::stderr().lock();
        let result = match forge(&opts, &env) {
            Ok(forge) => {
                let console = command::Console {
                    out: &mut out,
                    err: &mut err,
                };
                command::run(&forge, &opts, &env, console).await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(code) => code,
            Err(e) => {
                let _ = writeln!(err, "error: {}", error_chain(&e));
                e.exit_code()
            }
        }
    })
}

/// The forge client the flags and the environment describe.
fn forge(opts: &command::Options, env: &Env) -> Result<AnyForge, command::CommandError> {
    let bad = |m: String| command::CommandError::Input(m);
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
        ForgeKind::Github => Connection::GitHub {
            api_url: api,
            auth: github_auth(env)?,
        },
    };
    Ok(connect(connection)?)
}

fn github_auth(env: &Env) -> Result<GitHubAuth, command::CommandError> {
    let bad = |m: String| command::CommandError::Input(m);
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

fn controller(args: ControllerArgs) -> i32 {
    if let Err(message) = init_logs(args.log_format, args.log_level.as_deref()) {
        eprintln!("error: {message}");
        return 2;
    }
    let settings = match controller_settings(args) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("error: {message}");
            return 2;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            tracing::error!(error = %err, "cannot start the async runtime");
            return 1;
        }
    };
    runtime.block_on(async {
        let shutdown = match run::shutdown_signal() {
            Ok(shutdown) => shutdown,
            Err(err) => {
                tracing::error!(error = %error_chain(&err), "cannot start");
                return 1;
            }
        };
        // Both rustls providers are in the dependency graph; kube needs one chosen.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = match kube::Client::try_default().await {
            Ok(client) => client,
            Err(err) => {
                tracing::error!(
                    error = %error_chain(&err),
                    "cannot configure a Kubernetes client: run in a pod with a service account, or set KUBECONFIG"
                );
                return 1;
            }
        };
        match run::run(client, settings, Arc::new(Metrics::new()), shutdown).await {
            Ok(()) => 0,
            Err(err) => {
                tracing::error!(error = %error_chain(&err), "the controller stopped with an error");
                1
            }
        }
    })
}

/// Turns the flags into the runtime's settings; the error names the flag to fix.
fn controller_settings(args: ControllerArgs) -> Result<run::Settings, String> {
    let clean = |values: Vec<String>| -> Vec<String> {
        values
            .into_iter()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let argocd_namespaces = clean(args.argocd_namespaces);
    if argocd_namespaces.is_empty() {
        return Err(
            "--argocd-namespaces (ATTUNE_ARGOCD_NAMESPACES) is empty: name at least one namespace, e.g. argocd"
                .into(),
        );
    }
    for (flag, value) in [
        (
            "--git-author-name (ATTUNE_GIT_AUTHOR_NAME)",
            &args.git_author_name,
        ),
        (
            "--git-author-email (ATTUNE_GIT_AUTHOR_EMAIL)",
            &args.git_author_email,
        ),
        ("--lease-name (ATTUNE_LEASE_NAME)", &args.lease_name),
    ] {
        if value.trim().is_empty() {
            return Err(format!("{flag} is empty: give a value or leave it unset"));
        }
    }
    let defaults = controller::Config::default();
    let config = controller::Config {
        allowed_repositories: clean(args.allowed_repositories),
        pr_poll_interval: args.pr_poll_interval,
        requeue_interval: args.requeue_interval,
        error_requeue: args.error_requeue_interval,
        cache_dir: args.cache_dir.unwrap_or(defaults.cache_dir),
        identity: attune::git::Identity {
            name: args.git_author_name,
            email: args.git_author_email,
        },
        templates: args.templates,
        locate: attune::locate::Settings {
            argocd_namespaces,
            installation_id: args
                .argocd_installation_id
                .filter(|id| !id.trim().is_empty()),
        },
        hourly_pr_limit: args.pr_hourly_limit,
        concurrent_pr_limit: args.pr_concurrent_limit,
        max_concurrent_reconciles: args.max_concurrent_reconciles,
        repo_read_budget: args.repo_read_budget,
        eligibility: attune::resize::Eligibility {
            require_running: !args.resize_pending_pods,
        },
        // With leader election, `run::lead` makes it follow the lease.
        write_gate: attune::pr::WriteGate::always_open(),
        recommender: controller::recommender::Settings {
            mode: args.recommender,
            interval: args.recommend_interval,
            limits: attune::usage::QueryLimits {
                queries_per_second: args.prometheus_qps,
                burst: args.prometheus_burst,
                timeout: args.prometheus_timeout,
                ..attune::usage::QueryLimits::default()
            },
            clock: controller::recommender::Clock::System,
        },
    };
    let election = args.leader_elect.then(|| run::Election {
        lease_name: args.lease_name,
        namespace: args
            .lease_namespace
            .filter(|ns| !ns.trim().is_empty())
            .unwrap_or_else(run::default_namespace),
        identity: run::default_identity(),
        lease_duration: args.lease_duration,
    });
    Ok(run::Settings {
        config,
        election,
        bind: args.bind_address,
    })
}

/// Parses `--prometheus-qps`: a positive number (fractions allowed, e.g. 0.5).
fn parse_qps(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err("expected a positive number of queries per second, e.g. 10 or 0.5".into()),
    }
}

/// Sets up logging to stderr; the flag wins over RUST_LOG.
fn init_logs(format: LogFormat, level: Option<&str>) -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    let (filter, source) = match level {
        Some(level) => (level.to_owned(), "--log-level (ATTUNE_LOG_LEVEL)"),
        None => match std::env::var("RUST_LOG") {
            Ok(level) if !level.trim().is_empty() => (level, "RUST_LOG"),
            _ => ("info".to_owned(), "the default"),
        },
    };
    let filter = EnvFilter::try_new(&filter).map_err(|err| {
        format!(
            "{source} {filter:?} is not a log filter ({err}); use e.g. info or info,attune=debug"
        )
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
    installed.map_err(|err| format!("cannot set up logging: {err}"))
}
