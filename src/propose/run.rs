//! The `attune propose` command over a local checkout: read, resolve, edit, report, write.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Outcome, apply, diff, wants, write};
use crate::repo::{self, ManifestTree, Scope};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Diff,
    Json,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub policies: PathBuf,
    pub repo: PathBuf,
    /// Where the workloads are deployed from, relative to `repo`: `--path` or `--scope`.
    pub place: Place,
    pub write: bool,
    pub output: Format,
}

/// Which part of the repository is searched, as the command line gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Place {
    /// The whole repository; every root is a candidate.
    #[default]
    Everywhere,
    /// `--path DIR [--recurse]`: exactly the application whose source path is `DIR`.
    Path { dir: String, recurse: bool },
    /// `--scope DIR`: every root and plain manifest below `DIR` is a candidate.
    Scope(String),
}

impl Place {
    /// The scope for a repository whose directories `is_dir` knows; `None` when the
    /// directory leaves the repository or does not exist.
    pub fn scope(&self, is_dir: impl Fn(&str) -> bool) -> Option<Scope> {
        let dir = |d: &str| repo::walk::join("", d).filter(|n| is_dir(n));
        Some(match self {
            Place::Everywhere => Scope::whole(),
            Place::Path { dir: d, recurse } => Scope::source(dir(d)?, *recurse),
            Place::Scope(d) => Scope::below(dir(d)?),
        })
    }

    /// The flag as given, for messages.
    pub fn given(&self) -> String {
        match self {
            Place::Everywhere => String::new(),
            Place::Path { dir, .. } => format!("--path {dir}"),
            Place::Scope(dir) => format!("--scope {dir}"),
        }
    }
}

/// Bad input: nothing was touched. The binary exits 2.
#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    #[error("cannot read the policies file {path}")]
    ReadPolicies {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}")]
    Policies {
        path: String,
        #[source]
        source: crate::crd::LoadError,
    },
    #[error("repository directory {path} does not exist or is not a directory")]
    NoRepo { path: String },
    #[error(
        "{given} is not a directory inside the repository (give it relative to --repo, e.g. overlays/production)"
    )]
    BadPath { given: String },
    #[error("cannot read the repository {path}")]
    ReadRepo {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the values file {path} (give --values relative to --repo)")]
    ReadValues {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no file was written")]
    Write(#[source] write::WriteError),
    #[error("cannot write the report")]
    Output(#[source] std::io::Error),
}

/// Runs the command. `Ok(0)` when every recommended workload was located, `Ok(1)` when some
/// were not (everything else still applied).
pub fn run(opts: &Options, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, ProposeError> {
    run_with(opts, None, out, err)
}

/// [`run`], with the workloads no manifest renders traced through a Helm chart's values.
pub fn run_with(
    opts: &Options,
    helm: Option<&super::HelmSource>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, ProposeError> {
    let outcome = compute_with(opts, helm)?;
    report(&outcome, opts, out, err)
}
/// Like [`run`] with the policies already read (`opts.policies` is not read): `kubectl attune
/// propose` takes them live from the cluster, and its output must be this command's.
pub fn run_with_policies(
    policies: &[crate::crd::FilePolicy],
    opts: &Options,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, ProposeError> {
    let (repo, scope) = load_repo(opts)?;
    report(&outcome_of(&repo, &scope, policies), opts, out, err)
}

/// Writes the files (with `--write`), the diff or JSON report, and the summary.
fn report(
    outcome: &Outcome,
    opts: &Options,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, ProposeError> {
    if opts.write {
        write::write_all(&opts.repo, &outcome.files).map_err(ProposeError::Write)?;
    }
    // One line per change goes to stderr and JSON to stdout: buffered, a few writes in all
    // instead of one per line (or per piece of a line, on unbuffered stderr).
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    let mut err = std::io::BufWriter::with_capacity(1 << 16, err);
    match opts.output {
        Format::Diff if !opts.write => out.write_all(diff::unified(&outcome.files).as_bytes()),
        Format::Diff => Ok(()),
        Format::Json => serde_json::to_writer_pretty(&mut out, outcome)
            .map_err(std::io::Error::other)
            .and_then(|()| out.write_all(b"\n")),
    }
    .and_then(|()| out.flush())
    .map_err(ProposeError::Output)?;
    summary(outcome, opts.write, &mut err)
        .and_then(|()| err.flush())
        .map_err(ProposeError::Output)?;
    Ok(if outcome.problems.is_empty() { 0 } else { 1 })
}

/// Reads the policies file (AttunePolicies, multi-document or a List; `spec` may be partial).
pub fn read_policies(path: &Path) -> Result<Vec<crate::crd::FilePolicy>, ProposeError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ProposeError::ReadPolicies {
        path: display.clone(),
        source,
    })?;
    crate::crd::load_policy_files(&text).map_err(|source| ProposeError::Policies {
        path: display,
        source,
    })
}

/// Everything up to (not including) writing: the outcome of a run. The policies are read on
/// a thread of their own while the repository is read; a bad policies file is still the
/// first error reported.
pub fn compute(opts: &Options) -> Result<Outcome, ProposeError> {
    compute_with(opts, None)
}

/// [`compute`], then Helm tracing for what no manifest renders.
pub fn compute_with(
    opts: &Options,
    helm: Option<&super::HelmSource>,
) -> Result<Outcome, ProposeError> {
    let (policies, repo) = std::thread::scope(|s| {
        let policies = s.spawn(|| read_policies(&opts.policies));
        let repo = load_repo(opts);
        let policies = policies
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (policies, repo)
    });
    let policies = policies?;
    let (repo, scope) = repo?;
    let mut outcome = outcome_of(&repo, &scope, &policies);
    if let Some(helm) = helm {
        let left = super::unlocated(&outcome, &wants(&policies));
        super::add_helm(&opts.repo, helm, &left, &mut outcome)?;
    }
    Ok(outcome)
}

fn load_repo(opts: &Options) -> Result<(ManifestTree, Scope), ProposeError> {
    let display = |p: &Path| p.display().to_string();
    if !opts.repo.is_dir() {
        return Err(ProposeError::NoRepo {
            path: display(&opts.repo),
        });
    }
    let scope = opts
        .place
        .scope(|d| opts.repo.join(d).is_dir())
        .ok_or_else(|| ProposeError::BadPath {
            given: opts.place.given(),
        })?;
    let repo = ManifestTree::load(&opts.repo).map_err(|source| ProposeError::ReadRepo {
        path: display(&opts.repo),
        source,
    })?;
    Ok((repo, scope))
}

/// The outcome for an already loaded repository: resolve every recommendation in what `scope`
/// deploys and edit in memory.
pub fn outcome_of(
    repo: &ManifestTree,
    scope: &Scope,
    policies: &[crate::crd::FilePolicy],
) -> Outcome {
    let plan = repo::resolve(repo, scope, &wants(policies));
    apply(repo, plan)
}

/// Like [`outcome_of`], with some workloads (`namespace/Kind/name`) searched in their own
/// scope instead of `scope`.
pub fn outcome_scoped(
    repo: &ManifestTree,
    scope: &Scope,
    scopes: &std::collections::BTreeMap<String, Scope>,
    policies: &[crate::crd::FilePolicy],
) -> Outcome {
    let plan = repo::resolve_scoped(repo, scope, scopes, &wants(policies));
    apply(repo, plan)
}

/// The `attune:` line, one line per change, then the problems and notices.
pub fn summary(outcome: &Outcome, wrote: bool, err: &mut dyn Write) -> std::io::Result<()> {
    let new_files = outcome.files.iter().filter(|f| f.before.is_none()).count();
    writeln!(
        err,
        "attune: {} value(s) in {} file(s){}{}, {} problem(s)",
        outcome.changes.len(),
        outcome.files.len(),
        if new_files > 0 {
            format!(" ({new_files} new)")
        } else {
            String::new()
        },
        if wrote { " written" } else { "" },
        outcome.problems.len()
    )?;
    for c in &outcome.changes {
        writeln!(
            err,
            "  {}/{}/{} {} {}: {} -> {}  {} ({})",
            c.namespace,
            c.kind,
            c.workload,
            c.container,
            c.field,
            c.from.as_deref().unwrap_or("(unset)"),
            c.to,
            c.file,
            serde_json::to_value(c.site)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
                + &c.key.as_ref().map(|k| format!(" {k}")).unwrap_or_default()
        )?;
    }
    problems_and_notices(outcome, err)
}

/// One `problem:` line per problem and one `notice:` line per notice, as both commands print them.
pub fn problems_and_notices(outcome: &Outcome, err: &mut dyn Write) -> std::io::Result<()> {
    for p in &outcome.problems {
        let container = p
            .container
            .as_deref()
            .map(|c| format!(" container {c}"))
            .unwrap_or_default();
        writeln!(
            err,
            "problem: {}/{}/{}{container}: {}",
            p.namespace, p.kind, p.workload, p.reason
        )?;
    }
    for n in &outcome.notices {
        writeln!(err, "notice: {}: {}", n.file, n.message)?;
    }
    Ok(())
}
