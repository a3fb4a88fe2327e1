//! `propose --helm-chart`: workloads that no manifest or marker locates are traced through
//! the chart's values ([`crate::helmtrace`]) and edited in the last values file.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use super::{FileChange, Outcome, ProposeError};
use crate::helmtrace::{self, ChartFiles, Helm, HelmRenderer, Release, ValuesFile};
use crate::repo::{self, ContainerWant, Problem, Want};

/// One release of a chart in the repository, as `helm template` would be told.
#[derive(Clone)]
pub struct HelmSource {
    /// The chart directory, relative to the repository.
    pub chart: String,
    /// Values files relative to the repository, in `-f` order (default: the chart's own
    /// `values.yaml`, which is then the file edited).
    pub values: Vec<String>,
    pub release: String,
    pub namespace: String,
    /// Values merged after the files and never edited (an owner's inline values, as YAML),
    /// in the tool's order; see [`helmtrace::Release::fixed`].
    pub fixed: Vec<String>,
    /// `helm` (looked up on `PATH`) or a path.
    pub helm: PathBuf,
    pub timeout: Duration,
}

/// Inline values can carry credentials: only their sizes are shown.
impl std::fmt::Debug for HelmSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fixed: Vec<String> = self
            .fixed
            .iter()
            .map(|v| format!("{} bytes", v.len()))
            .collect();
        f.debug_struct("HelmSource")
            .field("chart", &self.chart)
            .field("values", &self.values)
            .field("release", &self.release)
            .field("namespace", &self.namespace)
            .field("fixed", &fixed)
            .field("helm", &self.helm)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Largest chart read from a commit (all files together) and most files in it: as for one read
/// from disk.
pub use crate::helmtrace::runner::{CHART_BYTES, CHART_FILES};

/// The fields a first pass left unlocated because no manifest renders them (a chart's
/// workloads): exactly what Helm tracing may try.
pub fn unlocated(outcome: &Outcome, wants: &[Want]) -> Vec<Want> {
    let mut out = Vec::new();
    for want in wants {
        let mine: Vec<&Problem> = outcome
            .problems
            .iter()
            .filter(|p| {
                p.namespace == want.namespace && p.kind == want.kind && p.workload == want.workload
            })
            .filter(|p| p.reason.contains("no manifest renders"))
            .collect();
        let containers: Vec<ContainerWant> = want
            .containers
            .iter()
            .map(|c| ContainerWant {
                name: c.name.clone(),
                fields: c
                    .fields
                    .iter()
                    .filter(|(f, _)| {
                        mine.iter().any(|p| match &p.container {
                            None => true,
                            Some(n) => {
                                *n == c.name && (p.fields.is_empty() || p.fields.contains(f))
                            }
                        })
                    })
                    .cloned()
                    .collect(),
            })
            .filter(|c| !c.fields.is_empty())
            .collect();
        if !containers.is_empty() {
            out.push(Want {
                containers,
                ..want.clone()
            });
        }
    }
    out
}

/// Traces `wants` through the chart and merges the result into `outcome`: their "no manifest
/// renders" problems are replaced by what Helm tracing found or could not do.
pub fn add_helm(
    repo_dir: &std::path::Path,
    source: &HelmSource,
    wants: &[Want],
    outcome: &mut Outcome,
) -> Result<(), ProposeError> {
    if wants.is_empty() {
        return Ok(());
    }
    let bad = |given: &str| ProposeError::BadPath {
        given: given.to_owned(),
    };
    let chart_dir = repo::walk::join("", &source.chart)
        .ok_or_else(|| bad(&format!("--helm-chart {}", source.chart)))?;
    let values = if source.values.is_empty() {
        vec![format!("{chart_dir}/values.yaml")]
    } else {
        source.values.clone()
    };
    let mut files = Vec::new();
    for v in &values {
        let path = repo::walk::join("", v).ok_or_else(|| bad(&format!("--values {v}")))?;
        let text = match outcome.files.iter().find(|f| f.path == path) {
            Some(f) => f.after.clone(),
            None => std::fs::read_to_string(repo_dir.join(&path)).map_err(|source| {
                ProposeError::ReadValues {
                    path: path.clone(),
                    source,
                }
            })?,
        };
        files.push(ValuesFile { path, text });
    }
    let chart = ChartFiles::read(&repo_dir.join(&chart_dir), &chart_dir).map_err(|e| e.to_string());
    trace_release(chart, &files, source, wants, outcome);
    Ok(())
}

/// [`add_helm`] for a chart already read (from a commit, say): its files by path relative to
/// the chart directory, or why they could not be read; `values` are the values files (path,
/// text as it is now) in `-f` order. The chart's directory is `source.chart`.
pub fn trace_chart_files(
    chart: Result<Vec<(String, Vec<u8>)>, String>,
    values: Vec<(String, String)>,
    source: &HelmSource,
    wants: &[Want],
    outcome: &mut Outcome,
) {
    let chart = chart.map(|f| ChartFiles::from_files(&source.chart, f));
    let files: Vec<ValuesFile> = values
        .into_iter()
        .map(|(path, text)| ValuesFile { path, text })
        .collect();
    trace_release(chart, &files, source, wants, outcome);
}

/// Traces `wants` through a chart (or why it could not be read) and merges the result into
/// `outcome`: their "no manifest renders" problems are replaced by what Helm tracing found or
/// could not do.
fn trace_release(
    chart: Result<ChartFiles, String>,
    files: &[ValuesFile],
    source: &HelmSource,
    wants: &[Want],
    outcome: &mut Outcome,
) {
    let ids: BTreeSet<(String, String, String)> = wants
        .iter()
        .map(|w| (w.namespace.clone(), w.kind.clone(), w.workload.clone()))
        .collect();
    outcome.problems.retain(|p| {
        !(ids.contains(&(p.namespace.clone(), p.kind.clone(), p.workload.clone()))
            && p.reason.contains("no manifest renders"))
    });
    let helm = Helm::new(source.helm.clone(), source.timeout);
    let traced = match chart {
        Ok(chart) => {
            let release = Release {
                chart: &chart.dir,
                name: &source.release,
                namespace: &source.namespace,
                defaults: chart.defaults(),
                files,
                fixed: &source.fixed,
            };
            let mut render = HelmRenderer {
                helm: &helm,
                chart: &chart,
                release: &source.release,
                namespace: &source.namespace,
            };
            helmtrace::plan_release(&release, wants, &mut render)
        }
        Err(reason) => helmtrace::HelmOutcome {
            problems: wants
                .iter()
                .map(|w| Problem::of(w, None, &[], reason.clone()))
                .collect(),
            ..Default::default()
        },
    };
    merge(outcome, traced);
}

fn merge(outcome: &mut Outcome, traced: helmtrace::HelmOutcome) {
    outcome.changes.extend(traced.changes);
    outcome.problems.extend(traced.problems);
    outcome.problems = repo::merge_problems(std::mem::take(&mut outcome.problems));
    for (path, before, after) in traced.files {
        match outcome.files.iter_mut().find(|f| f.path == path) {
            Some(f) => f.after = after,
            None => outcome.files.push(FileChange {
                path,
                before: Some(before),
                after,
            }),
        }
    }
}
