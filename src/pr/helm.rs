//! Helm tracing inside a sync: the workloads of a target that no manifest renders but a chart
//! of the repository does are traced through the chart's values ([`crate::propose::trace_chart_files`]),
//! with the chart and its values files read from the commit within limits. Whatever goes wrong
//! for a chart (too large, a symbolic link, a values file missing, `helm` missing or failing,
//! or the owner's reason not to trace it at all) is a problem of that chart's workloads, never
//! the sync's failure.

use git2::Oid;

use super::Target;
use crate::crd::FilePolicy;
use crate::git::TreeFile;
use crate::git::{GitError, ReadLimits, TreeReader, Workspace};
use crate::propose::{
    CHART_BYTES, CHART_FILES, ChartRead, HelmSource, Outcome, trace_chart_files, unlocated,
    untraced, wants,
};
use crate::repo::Want;

/// A chart that renders some of the target's workloads.
#[derive(Debug, Clone)]
pub struct HelmTarget {
    /// The workloads it renders, as `namespace/Kind/name`; empty for every workload of the
    /// policies.
    pub workloads: Vec<String>,
    /// The chart directory and values files (from the repository root), the release, the
    /// owner's inline values, and the `helm` to run; `Err` says why the chart is not traced
    /// (not a directory of the repository, values from objects not read), which becomes the
    /// problem of its workloads that no manifest renders.
    pub source: Result<HelmSource, String>,
}

/// Traces every chart of `target` for the workloads `outcome` left unlocated.
pub(super) fn trace_all(
    ws: &Workspace,
    commit: Oid,
    target: &Target,
    policies: &[FilePolicy],
    outcome: &mut Outcome,
) -> Result<(), GitError> {
    if target.helm.is_empty() {
        return Ok(());
    }
    let all = wants(policies);
    for h in &target.helm {
        let mine: Vec<Want> = all
            .iter()
            .filter(|w| {
                h.workloads.is_empty()
                    || h.workloads
                        .contains(&format!("{}/{}/{}", w.namespace, w.kind, w.workload))
            })
            .cloned()
            .collect();
        let left = unlocated(outcome, &mine);
        if left.is_empty() {
            continue;
        }
        let source = match &h.source {
            Ok(source) => source,
            Err(why) => {
                untraced(outcome, &left, why);
                continue;
            }
        };
        let chart = read_chart(ws, commit, &source.chart)?;
        let values = match &chart {
            Ok(_) => read_values(ws, commit, source, outcome),
            Err(_) => Ok(Vec::new()),
        };
        let (chart, values) = match values {
            Ok(values) => (chart, values),
            Err(why) => (Err(why), Vec::new()),
        };
        trace_chart_files(chart, values, source, &left, outcome);
    }
    Ok(())
}

/// The chart directory's files, relative to it; `Ok(Err(why))` when the chart cannot be used
/// (no `Chart.yaml`, a symbolic link, a file or the whole over the limits).
pub(super) fn read_chart(ws: &Workspace, commit: Oid, dir: &str) -> Result<ChartRead, GitError> {
    let prefix = if dir.is_empty() || dir == "." {
        String::new()
    } else {
        format!("{}/", dir.trim_end_matches('/'))
    };
    let scopes = [dir.to_owned()];
    let limits = ReadLimits {
        budget: CHART_BYTES,
        max_file_bytes: CHART_BYTES as usize,
        scopes: &scopes,
    };
    let mut tree = TreeReader::open(ws, commit, |_| true, limits)?;
    let paths: Vec<String> = tree
        .paths()
        .into_iter()
        .filter(|p| p.starts_with(&prefix))
        .collect();
    let bad = |why: String| Ok(Err(format!("the chart at {dir} cannot be read: {why}")));
    if !paths.contains(&format!("{prefix}Chart.yaml")) {
        return bad("it has no Chart.yaml".into());
    }
    if paths.len() > CHART_FILES {
        return bad(format!("it has more than {CHART_FILES} files"));
    }
    let mut files = Vec::new();
    for path in paths {
        match tree.load_bytes(&path) {
            Ok(Ok(bytes)) => files.push((path[prefix.len()..].to_owned(), bytes)),
            Ok(Err(why)) => return bad(format!("{path}: {why}")),
            Err(GitError::ReadBudget { .. }) => {
                return bad(format!("its files are over {CHART_BYTES} bytes together"));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Ok(files))
}

/// The values files in `-f` order, as this sync has them (an earlier edit in `outcome` wins
/// over the commit's text); `Err` names a file that is missing or not text.
fn read_values(
    ws: &Workspace,
    commit: Oid,
    source: &HelmSource,
    outcome: &Outcome,
) -> Result<Vec<(String, String)>, String> {
    let scopes = [source.chart.clone()];
    let limits = ReadLimits {
        budget: CHART_BYTES,
        max_file_bytes: crate::yamledit::MAX_FILE_BYTES,
        scopes: &scopes,
    };
    let mut tree = TreeReader::open(ws, commit, crate::repo::walk::is_yaml_name, limits)
        .map_err(|e| e.to_string())?;
    let present = tree.paths();
    let mut out = Vec::new();
    for path in &source.values {
        if let Some(f) = outcome.files.iter().find(|f| f.path == *path) {
            out.push((path.clone(), f.after.clone()));
            continue;
        }
        let why = if present.contains(path) {
            match tree.load(path).map_err(|e| e.to_string())? {
                TreeFile::Text { text, .. } => {
                    out.push((path.clone(), text));
                    continue;
                }
                TreeFile::Skipped { why, .. } => why,
            }
        } else {
            "not a YAML file of the commit".to_owned()
        };
        return Err(format!(
            "values file {path} of chart {}: {why}",
            source.chart
        ));
    }
    Ok(out)
}
