//! The `attune` command line: a thin clap layer over the library.

use std::error::Error;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use attune::error_chain;
use attune::helmtrace::SetArg;
use attune::pr::command::{self, BranchPer, Env, ForgeKind, Output};
use attune::propose::{self, Format};
use clap::{Args, Parser, Subcommand, ValueEnum};

mod controller_cmd;

use controller_cmd::{ControllerArgs, controller};

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
    /// The repository on the forge, OWNER/NAME (GitLab: the project path, GROUP/SUB/NAME).
    #[arg(long)]
    repository: Option<String>,
    /// Git URL to fetch and push (default: the forge's clone URL); file://, http://, https://.
    /// With --discover: also this repository's URL, to tell its applications from other
    /// repositories' (default: with --repo the checkout's origin remote, with --open-pr the
    /// URL fetched).
    #[arg(long)]
    repo_url: Option<String>,
    /// Read the Argo CD Applications and ApplicationSets and Flux Kustomizations and
    /// HelmReleases in the repository (--repo, or the base commit with --open-pr), and search
    /// each workload where its own application deploys it, as the controller does from the
    /// live objects; --path/--scope are the default for workloads no application deploys.
    /// With --open-pr the pull request carries the edits --discover --repo makes on a checkout
    /// of the same commit.
    #[arg(long)]
    discover: bool,
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
    /// Forge API base URL (GitHub Enterprise `https://HOST/api/v3`, Gitea `https://HOST`,
    /// self-managed GitLab `https://HOST`; gitlab.com without).
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
    /// A Helm chart directory in --repo whose workloads have no manifest: the values key that
    /// feeds each container's resources is found by rendering it with `helm template`.
    /// (--discover traces the charts the repository's own Applications and HelmReleases render.)
    #[arg(long, requires_all = ["repo", "release", "namespace"], conflicts_with = "discover")]
    helm_chart: Option<String>,
    /// Values files of the release, relative to --repo, in `helm -f` order (repeatable;
    /// default: the chart's values.yaml). The last one is edited.
    #[arg(long = "values", requires = "helm_chart", num_args = 1..)]
    values: Vec<String>,
    /// `--set KEY=VAL` of the release (repeatable), applied after the values files as Helm
    /// does: read when tracing, never edited (a traced key it sets is a named problem).
    #[arg(long = "set", requires = "helm_chart", value_name = "KEY=VAL")]
    set: Vec<String>,
    /// `--set-string KEY=VAL` of the release (repeatable): as --set, the value kept a string
    /// (Helm applies every --set before every --set-string).
    #[arg(long = "set-string", requires = "helm_chart", value_name = "KEY=VAL")]
    set_string: Vec<String>,
    /// The Helm release name (with --helm-chart).
    #[arg(long, requires = "helm_chart")]
    release: Option<String>,
    /// The release's namespace (with --helm-chart).
    #[arg(long, requires = "helm_chart")]
    namespace: Option<String>,
    /// The helm binary (Helm 3) for --helm-chart and --discover: a path, or a name looked up on
    /// PATH.
    #[arg(long, env = "ATTUNE_HELM", default_value = "helm")]
    helm: PathBuf,
    /// Longest one `helm template` may run, in seconds.
    #[arg(long, default_value_t = 60)]
    helm_timeout: u64,
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
    if args.discover {
        let opts = attune::discover::run::Options {
            propose: opts,
            repo_url: args.repo_url,
            helm: args.helm,
            helm_timeout: std::time::Duration::from_secs(args.helm_timeout.max(1)),
        };
        let result = attune::discover::run::run(
            &opts,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        );
        return result.unwrap_or_else(|err| {
            eprintln!("error: {}", error_chain(&err));
            2
        });
    }
    let helm = args.helm_chart.map(|chart| propose::HelmSource {
        chart,
        values: args.values,
        set: args
            .set
            .into_iter()
            .map(SetArg::set)
            .chain(args.set_string.into_iter().map(SetArg::string))
            .map(propose::SetValue::command_line)
            .collect(),
        no_chart_defaults: false,
        release: args.release.unwrap_or_default(),
        namespace: args.namespace.unwrap_or_default(),
        fixed: Vec::new(),
        helm: args.helm,
        timeout: std::time::Duration::from_secs(args.helm_timeout.max(1)),
    });
    match propose::run_with(
        &opts,
        helm.as_ref(),
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
    let env = Env::from_environment();
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
        discover: args.discover.then(|| command::Discover {
            helm: args.helm,
            helm_timeout: std::time::Duration::from_secs(args.helm_timeout.max(1)),
        }),
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
        let result = match command::connect_forge(&opts, &env) {
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
