//! The command line of `kubectl attune` and the dispatch from a command to its output.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};

use super::client::{self, Connection};
use super::status::{Filter, SortBy};
use super::view::PolicyView;
use super::{PluginError, diff, explain, history, pr, preview, recommendations, savings, status};
use crate::propose;

/// Shows AttunePolicies: their state, recommendations, savings, resize history and how each
/// value was reached; `pr` opens or updates a policy's pull request.
///
/// Exit codes: 0 success; 1 the cluster could not be read (no kubeconfig, no CRD, forbidden,
/// unreachable, no such policy), `propose` could not locate some workloads (the rest was still
/// done), or `pr` found some workloads nowhere in the repository; 2 bad flags or arguments, or
/// a repository `propose` cannot use; 3 `pr`: a git or forge step failed.
#[derive(Parser, Debug)]
#[command(name = "kubectl-attune", bin_name = "kubectl attune", version)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes, before or after the command name.
#[derive(Args, Debug)]
pub struct Global {
    /// Namespace to read (default: the context's namespace).
    #[arg(short, long, global = true)]
    pub namespace: Option<String>,
    /// Read every namespace.
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// Kubeconfig context to use.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// One row per policy: mode, workload counts, conditions, age.
    Status(StatusArgs),
    /// Current and recommended requests per container, with confidence.
    Recommendations,
    /// Request reductions and estimated monthly cost per policy, with a TOTAL row.
    Savings(SortArgs),
    /// Every stage of the recommendation chain for one policy's containers.
    Explain(PolicyArg),
    /// The resizes the policies recorded.
    History,
    /// What resizing one policy's workloads would change, per container and resource.
    Preview(PolicyArg),
    /// Open or update one policy's pull request (the controller's lifecycle); token from
    /// ATTUNE_GIT_TOKEN.
    Pr(Box<pr::PrArgs>),
    /// Current against recommended resources per workload, as a unified diff or, with
    /// `-o yaml`, strategic-merge patches to commit to Git.
    Diff(DiffArgs),
    /// Edits a local checkout of the GitOps repository to the live policies' recommendations
    /// (the edit engine of `attune propose`); prints the diff, or writes with --write.
    Propose(ProposeArgs),
}

#[derive(Args, Debug)]
pub struct ProposeArgs {
    /// A local checkout of the GitOps repository.
    #[arg(long)]
    pub repo: PathBuf,
    /// The directory the workloads are deployed from, relative to --repo, exactly as an Argo
    /// CD Application's spec.source.path or a Flux Kustomization's spec.path (default: the
    /// whole repository).
    #[arg(long)]
    pub path: Option<String>,
    /// With --path on a plain directory: read its subdirectories too, as Flux does.
    #[arg(long, requires = "path")]
    pub recurse: bool,
    /// Edit the files in place instead of printing a diff.
    #[arg(long)]
    pub write: bool,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// Print one strategic-merge patch per workload (a YAML stream) instead of the diff.
    #[arg(short, long, value_enum)]
    pub output: Option<DiffOutput>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffOutput {
    Yaml,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Print the policies as a JSON or YAML List instead of a table.
    #[arg(short, long, value_enum)]
    pub output: Option<Output>,
    /// Refresh every 10 seconds until interrupted.
    #[arg(short, long)]
    pub watch: bool,
    #[arg(long, value_enum)]
    pub filter: Option<Filter>,
    #[command(flatten)]
    pub sort: SortArgs,
}

#[derive(Args, Debug)]
pub struct SortArgs {
    /// Row order (default: namespace, then name).
    #[arg(long, value_enum)]
    pub sort_by: Option<SortBy>,
}

#[derive(Args, Debug)]
pub struct PolicyArg {
    /// The AttunePolicy's name.
    pub policy: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Json,
    Yaml,
}

/// Seconds since the Unix epoch, for AGE.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn print(text: &str) -> Result<(), PluginError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| PluginError::Output(e.to_string()))
}

/// Runs one command against the cluster and prints its output; the exit code on success (1
/// when `propose` could not locate some workloads, as `attune propose`).
pub async fn run(cli: Cli) -> Result<u8, PluginError> {
    let g = &cli.global;
    if g.all_namespaces && g.namespace.is_some() {
        return Err(PluginError::Usage(
            "-n and -A exclude each other: pass one".to_owned(),
        ));
    }
    let conn = client::connect(g.kubeconfig.as_deref(), g.context.as_deref()).await?;
    let namespace = if g.all_namespaces {
        None
    } else {
        Some(
            g.namespace
                .clone()
                .unwrap_or_else(|| conn.default_namespace.clone()),
        )
    };
    let ns = namespace.as_deref();
    dispatch(&cli.command, &conn, ns).await
}

async fn dispatch(
    command: &Command,
    conn: &Connection,
    ns: Option<&str>,
) -> Result<u8, PluginError> {
    let printed = match command {
        Command::Status(args) if args.watch => watch(conn, ns, args).await,
        Command::Status(args) => print(&status_text(conn, ns, args).await?),
        Command::Recommendations => {
            let (table, note) = recommendations::render(&views(conn, ns).await?);
            print(&table)?;
            if let Some(note) = note {
                eprintln!("\n{note}");
            }
            Ok(())
        }
        Command::Savings(sort) => print(&savings::render(&views(conn, ns).await?, sort.sort_by)),
        Command::History => print(&history::render(&views(conn, ns).await?)),
        Command::Explain(arg) => {
            let view = one_policy(conn, ns, "explain", &arg.policy).await?;
            print(&explain::render(&view))
        }
        Command::Preview(arg) => {
            let view = one_policy(conn, ns, "preview", &arg.policy).await?;
            print(&preview::render(&view))
        }
        Command::Pr(args) => {
            let ns = ns.ok_or_else(|| {
                PluginError::Usage("pr reads one namespace: drop -A, pass -n".to_owned())
            })?;
            pr::run(conn, ns, args).await
        }
        Command::Diff(args) => {
            let views = views(conn, ns).await?;
            let (text, notes) = match args.output {
                Some(DiffOutput::Yaml) => diff::patches(&views),
                None => diff::render(&views),
            };
            print(&text)?;
            for note in notes {
                eprintln!("{note}");
            }
            Ok(())
        }
        Command::Propose(args) => return propose(conn, ns, args).await,
    };
    printed.map(|()| 0)
}

/// `propose`: the live policies, as `kubectl get -o yaml` would export them, through the
/// same reader and edit engine as `attune propose --policies`.
async fn propose(
    conn: &Connection,
    ns: Option<&str>,
    args: &ProposeArgs,
) -> Result<u8, PluginError> {
    let objects = client::list_policies(&conn.client, ns).await?;
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
    let text = serde_saphyr::to_string(&list)
        .map_err(|e| PluginError::Propose(format!("cannot export the live policies: {e}")))?;
    let policies = crate::crd::load_policy_files(&text).map_err(|e| {
        PluginError::Propose(format!(
            "cannot read the live policies: {}",
            crate::error_chain(&e)
        ))
    })?;
    let place = match &args.path {
        Some(dir) => propose::Place::Path {
            dir: dir.clone(),
            recurse: args.recurse,
        },
        None => propose::Place::Everywhere,
    };
    let opts = propose::Options {
        policies: PathBuf::new(),
        repo: args.repo.clone(),
        place,
        write: args.write,
        output: propose::Format::Diff,
    };
    let code = propose::run_with_policies(
        &policies,
        &opts,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )
    .map_err(|e| PluginError::Propose(crate::error_chain(&e)))?;
    Ok(u8::try_from(code).unwrap_or(1))
}

async fn one_policy(
    conn: &Connection,
    ns: Option<&str>,
    command: &str,
    name: &str,
) -> Result<PolicyView, PluginError> {
    let ns = ns.ok_or_else(|| {
        PluginError::Usage(format!("{command} reads one namespace: drop -A, pass -n"))
    })?;
    let object = client::get_policy(&conn.client, ns, name).await?;
    Ok(PolicyView::from_object(&object))
}

async fn views(conn: &Connection, ns: Option<&str>) -> Result<Vec<PolicyView>, PluginError> {
    let objects = client::list_policies(&conn.client, ns).await?;
    let views: Vec<PolicyView> = objects.iter().map(PolicyView::from_object).collect();
    for warning in status::warnings(&views) {
        eprintln!("{warning}");
    }
    Ok(views)
}

async fn status_text(
    conn: &Connection,
    ns: Option<&str>,
    args: &StatusArgs,
) -> Result<String, PluginError> {
    let Some(format) = args.output else {
        let views = views(conn, ns).await?;
        return Ok(status::render(
            &views,
            args.filter,
            args.sort.sort_by,
            now(),
        ));
    };
    let objects = client::list_policies(&conn.client, ns).await?;
    Ok(structured(&objects, args, format))
}

/// The policies `--filter` keeps, in `--sort-by` order, as a kubectl-style List.
pub fn structured(objects: &[Value], args: &StatusArgs, format: Output) -> String {
    let mut pairs: Vec<(PolicyView, Value)> = objects
        .iter()
        .map(|o| (PolicyView::from_object(o), o.clone()))
        .filter(|(v, _)| args.filter.is_none_or(|f| f.keeps(v)))
        .collect();
    let mut order: Vec<PolicyView> = pairs.iter().map(|(v, _)| v.clone()).collect();
    status::sort(&mut order, args.sort.sort_by);
    let mut items = Vec::with_capacity(order.len());
    for v in &order {
        if let Some(i) = pairs
            .iter()
            .position(|(p, _)| p.namespace == v.namespace && p.name == v.name)
        {
            items.push(pairs.swap_remove(i).1);
        }
    }
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    match format {
        Output::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        ),
        Output::Yaml => serde_saphyr::to_string(&list).unwrap_or_default(),
    }
}

async fn watch(conn: &Connection, ns: Option<&str>, args: &StatusArgs) -> Result<(), PluginError> {
    loop {
        let text = status_text(conn, ns, args).await?;
        let clock = chrono::DateTime::from_timestamp(now(), 0)
            .map(|t| t.format("%H:%M:%S UTC").to_string())
            .unwrap_or_default();
        // Clear the screen and home the cursor, as `watch` does.
        print(&format!(
            "\x1b[2J\x1b[H{text}\nLast refresh: {clock}  (Ctrl+C to stop)\n"
        ))?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            () = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
    }
}
