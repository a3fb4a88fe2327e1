//! `attune controller`: its flags and the settings they make, logging, and the runtime that
//! runs the in-cluster loop.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use attune::controller::{self, run};
use attune::error_chain;
use attune::metrics::Metrics;
use clap::{ArgAction, Args, ValueEnum};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

#[derive(Args)]
pub struct ControllerArgs {
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
    /// The helm (Helm 3) that renders a chart kept in a repository, to find the values key
    /// behind each container's resources: a path, or a name looked up on PATH (the image
    /// ships /usr/local/bin/helm). Missing or failing, it is a problem of that chart's
    /// workloads only.
    #[arg(long, env = "ATTUNE_HELM", default_value = "helm", value_name = "PATH")]
    helm: std::path::PathBuf,
    /// Longest one `helm template` may run.
    #[arg(long, env = "ATTUNE_HELM_TIMEOUT", default_value = "30s", value_name = "DURATION", value_parser = run::parse_interval)]
    helm_timeout: Duration,
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

/// Runs the controller until it is told to stop; the exit code.
pub fn controller(args: ControllerArgs) -> i32 {
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
    no_empty_names(&args)?;
    let argocd_namespaces = clean(args.argocd_namespaces);
    if argocd_namespaces.is_empty() {
        return Err(
            "--argocd-namespaces (ATTUNE_ARGOCD_NAMESPACES) is empty: name at least one namespace, e.g. argocd"
                .into(),
        );
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
        helm: args.helm,
        helm_timeout: args.helm_timeout,
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

/// A comma-separated list without blanks.
fn clean(values: Vec<String>) -> Vec<String> {
    values
        .into_iter()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

/// The names that may be left unset but not set empty.
fn no_empty_names(args: &ControllerArgs) -> Result<(), String> {
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
    Ok(())
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
        // Colour codes only help a terminal; in container logs they are noise.
        .with_ansi(std::io::stderr().is_terminal())
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
