//! `attune propose --discover` over a local checkout: read the files once, discover the
//! applications, search each recommended workload where its own application deploys it, then
//! report, print and write as `propose` does.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::{Discovery, Input, discover};
use crate::helmtrace::Helm;
use crate::locate::{Namespacing, Settings};
use crate::propose::{self, Format, Outcome, ProposeError};
use crate::repo::{self, ManifestTree, Notice, Scope, Want};

/// Bad input or a failed write: nothing (more) was touched. The binary exits 2.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error(transparent)]
    Propose(#[from] ProposeError),
}

#[derive(Debug, Clone)]
pub struct Options {
    pub propose: propose::Options,
    /// This repository's URL; else the checkout's `origin` remote.
    pub repo_url: Option<String>,
    /// `helm` (looked up on `PATH`) or a path, for the charts the applications render.
    pub helm: PathBuf,
    /// Longest one `helm template` may run.
    pub helm_timeout: Duration,
}

/// The JSON report: `propose`'s, with what discovery found.
#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    outcome: &'a Outcome,
    discovery: &'a Discovery,
}

/// Runs the command: `Ok(0)` when every recommended workload was located, `Ok(1)` otherwise.
pub fn run(opts: &Options, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, DiscoverError> {
    let (discovery, outcome) = compute(opts)?;
    let p = &opts.propose;
    if p.write {
        propose::write::write_all(&p.repo, &outcome.files).map_err(ProposeError::Write)?;
    }
    let mut out = std::io::BufWriter::new(out);
    let mut err = std::io::BufWriter::new(err);
    match p.output {
        Format::Diff if !p.write => {
            out.write_all(propose::diff::unified(&outcome.files).as_bytes())
        }
        Format::Diff => Ok(()),
        Format::Json => serde_json::to_writer_pretty(
            &mut out,
            &Report {
                outcome: &outcome,
                discovery: &discovery,
            },
        )
        .map_err(std::io::Error::other)
        .and_then(|()| out.write_all(b"\n")),
    }
    .and_then(|()| out.flush())
    .and_then(|()| describe(&discovery, &mut err))
    .and_then(|()| propose::summary(&outcome, p.write, &mut err))
    .and_then(|()| err.flush())
    .map_err(ProposeError::Output)?;
    Ok(if outcome.problems.is_empty() { 0 } else { 1 })
}

/// Discovery and the outcome, nothing written.
pub fn compute(opts: &Options) -> Result<(Discovery, Outcome), DiscoverError> {
    let p = &opts.propose;
    let shown = p.repo.display().to_string();
    if !p.repo.is_dir() {
        return Err(ProposeError::NoRepo { path: shown }.into());
    }
    let default_scope =
        p.place
            .scope(|d| p.repo.join(d).is_dir())
            .ok_or_else(|| ProposeError::BadPath {
                given: p.place.given(),
            })?;
    let policies = propose::read_policies(&p.policies)?;
    let (raw, read_notices) =
        repo::walk::read_tree(&p.repo).map_err(|source| ProposeError::ReadRepo {
            path: shown,
            source,
        })?;
    let files: Vec<(String, String)> = raw.into_iter().map(|f| (f.rel, f.text)).collect();
    let mut tree = ManifestTree::from_texts(files.iter().cloned());
    tree.notices.splice(0..0, read_notices);
    let this_repo = opts.repo_url.clone().or_else(|| origin(&p.repo));
    let settings = Settings::default();
    let discovery = discover(&Input {
        files: &files,
        tree: &tree,
        this_repo: this_repo.as_deref(),
        settings: &settings,
    });
    let wants = propose::wants(&policies);
    let mut outcome = edit(&tree, &default_scope, &discovery, &wants);
    let (releases, notices) = super::helm::releases(&discovery, &files, this_repo.as_deref());
    outcome.notices.extend(notices);
    let helm = Helm::new(opts.helm.clone(), opts.helm_timeout);
    trace_charts(&p.repo, &releases, &helm, &wants, &mut outcome);
    if this_repo.is_none() {
        outcome.notices.push(Notice::new(
            ".".to_owned(),
            "this repository's url is unknown (no --repo-url, no origin remote): every application is taken to deploy from this checkout".to_owned(),
        ));
    }
    Ok((discovery, outcome))
}

/// Each want searched where its application deploys it; a want two applications deploy is a
/// problem and edits nothing; a want no application deploys is searched in `default_scope`.
fn edit(
    tree: &ManifestTree,
    default_scope: &Scope,
    discovery: &Discovery,
    wants: &[Want],
) -> Outcome {
    let mut deployers: BTreeMap<&str, Vec<&super::Application>> = BTreeMap::new();
    for app in &discovery.applications {
        for w in &app.workloads {
            deployers.entry(w.as_str()).or_default().push(app);
        }
    }
    let (mut scopes, mut kept, mut problems, mut notices) =
        (BTreeMap::new(), Vec::new(), Vec::new(), Vec::new());
    for want in wants {
        let id = format!("{}/{}/{}", want.namespace, want.kind, want.workload);
        match deployers.get(id.as_str()).map(Vec::as_slice) {
            Some([app]) => {
                let dir = super::map::scope_dir(&app.source.path);
                let names = &app.source.names;
                let scope = Scope::source(dir, app.source.recurse)
                    .in_namespace(Namespacing::overriding(app.source.namespace.as_ref()))
                    .renamed(&names.prefix, &names.suffix);
                scopes.insert(id, scope);
            }
            Some(many) => {
                let names: Vec<String> = many.iter().map(|a| format!("{} (path {})", a.owner, a.source.path)).collect();
                problems.push(repo::Problem {
                    namespace: want.namespace.clone(),
                    kind: want.kind.clone(),
                    workload: want.workload.clone(),
                    container: None,
                    fields: Vec::new(),
                    reason: format!("ambiguous: deployed by {}; nothing is edited until one of them stops deploying it", names.join(" and ")),
                });
                continue;
            }
            None => match charts_in(discovery, &want.namespace).as_slice() {
                // A chart's objects are Helm's to render: the want is searched for markers
                // where the chart's owner is, as the controller does.
                [app] => {
                    let dir = super::map::scope_dir(&app.source.path);
                    scopes.insert(id, Scope::source(dir, app.source.recurse));
                }
                _ => notices.push(Notice::new(
                    id,
                    "deployed by none of the applications discovered in the repository; searched as without --discover".to_owned(),
                )),
            },
        }
        kept.push(want.clone());
    }
    let mut outcome = propose::apply(
        tree,
        repo::resolve_scoped(tree, default_scope, &scopes, &kept),
    );
    outcome.problems.extend(problems);
    outcome.notices.extend(notices);
    outcome
}

/// Each workload no manifest renders is traced through the one discovered release that renders
/// it; two releases rendering it is a problem. A release that cannot be rendered takes the
/// workloads of its namespace that no other release renders, and names why for them.
fn trace_charts(
    repo: &Path,
    releases: &[propose::HelmRelease],
    helm: &Helm,
    wants: &[Want],
    outcome: &mut Outcome,
) {
    let left = propose::unlocated(outcome, wants);
    if left.is_empty() || releases.is_empty() {
        return;
    }
    let rendered: Vec<Result<BTreeSet<String>, String>> = releases
        .iter()
        .map(|r| propose::rendered_ids(repo, r, helm))
        .collect();
    let mut groups: Vec<Vec<Want>> = vec![Vec::new(); releases.len()];
    for want in left {
        let id = format!("{}/{}/{}", want.namespace, want.kind, want.workload);
        let renders: Vec<usize> = (0..releases.len())
            .filter(|i| rendered[*i].as_ref().is_ok_and(|ids| ids.contains(&id)))
            .collect();
        let failed: Vec<usize> = (0..releases.len())
            .filter(|i| rendered[*i].is_err() && releases[*i].namespace == want.namespace)
            .collect();
        match (renders.as_slice(), failed.as_slice()) {
            ([one], _) | ([], [one]) => groups[*one].push(want),
            ([], _) => {}
            (many, _) => {
                outcome.problems.retain(|p| {
                    !(p.namespace == want.namespace
                        && p.kind == want.kind
                        && p.workload == want.workload
                        && p.reason.contains("no manifest renders"))
                });
                let names: Vec<String> = many
                    .iter()
                    .map(|i| format!("{} (chart {})", releases[*i].release, releases[*i].chart))
                    .collect();
                outcome.problems.push(repo::Problem::of(
                    &want,
                    None,
                    &[],
                    format!(
                        "ambiguous: rendered by the Helm releases {}",
                        names.join(" and ")
                    ),
                ));
            }
        }
    }
    for (release, wants) in releases.iter().zip(groups) {
        let mut release = release.clone();
        for layer in release.layers.iter_mut().filter(|l| l.editable()) {
            if let Ok(text) = propose::current_text(repo, outcome, &layer.path) {
                layer.text = text;
            }
        }
        propose::trace_release(repo, &release, helm, &wants, outcome);
    }
}

/// The applications that render a chart into `namespace`.
fn charts_in<'d>(discovery: &'d Discovery, namespace: &str) -> Vec<&'d super::Application> {
    discovery
        .applications
        .iter()
        .filter(|a| {
            a.source
                .helm
                .as_ref()
                .is_some_and(|c| c.namespace == namespace)
        })
        .collect()
}

/// The checkout's `origin` URL, when `dir` is the top of a git checkout that has one.
fn origin(dir: &Path) -> Option<String> {
    let repo = git2::Repository::open(dir).ok()?;
    let remote = repo.find_remote("origin").ok()?;
    remote.url().ok().map(str::to_owned)
}

/// One line per application and per discovery problem, on stderr.
fn describe(discovery: &Discovery, err: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        err,
        "attune: discovered {} application(s), {} discovery problem(s)",
        discovery.applications.len(),
        discovery.problems.len()
    )?;
    for app in &discovery.applications {
        let what = match &app.source.helm {
            Some(chart) => format!(
                "chart {} release {}/{} values {}",
                chart.chart_path,
                chart.namespace,
                chart.release,
                chart.values_files.join(", ")
            ),
            None => format!("{} workload(s)", app.workloads.len()),
        };
        writeln!(
            err,
            "  {} ({}): path {}{}: {what}",
            app.owner,
            app.file,
            app.source.path,
            if app.source.recurse {
                " (recursive)"
            } else {
                ""
            }
        )?;
    }
    for p in &discovery.problems {
        writeln!(err, "discovery problem: {p}")?;
    }
    for n in &discovery.notices {
        writeln!(err, "notice: {}: {}", n.file, n.message)?;
    }
    Ok(())
}
