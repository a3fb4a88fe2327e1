//! `propose --helm-chart`: workloads that no manifest or marker locates are traced through
//! the chart's values ([`crate::helmtrace`]) and edited in the last values file.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use super::{FileChange, Outcome, ProposeError};
use crate::helmtrace::{
    self, ChartFiles, Helm, HelmRenderer, Origin, Release, SetArg, SetKind, ValuesFile,
};
use crate::repo::{self, ContainerWant, Problem, Want};

/// One release of a chart in the repository, as `helm template` would be told.
#[derive(Clone)]
pub struct HelmSource {
    /// The chart directory, relative to the repository.
    pub chart: String,
    /// Values files relative to the repository, in `-f` order (default: the chart's own
    /// `values.yaml`, which is then the file edited).
    pub values: Vec<String>,
    /// `--set`/`--set-string` assignments, applied after the values files and `fixed`; read,
    /// never edited.
    pub set: Vec<SetValue>,
    /// The values files replace the chart's own `values.yaml` (Flux `valuesFiles`).
    pub no_chart_defaults: bool,
    pub release: String,
    pub namespace: String,
    /// Values merged after the files and never edited (a live owner's inline values), in the
    /// tool's order.
    pub fixed: Vec<FixedValues>,
    /// `helm` (looked up on `PATH`) or a path.
    pub helm: PathBuf,
    pub timeout: Duration,
}

/// A release to trace, its layers already read: what the command line gives
/// ([`HelmSource`]) and what `--discover` finds in the repository's own Applications and
/// HelmReleases come to this.
#[derive(Debug, Clone)]
pub struct HelmRelease {
    /// The chart directory, relative to the repository and cleaned.
    pub chart: String,
    /// Values files and inline values, in the order Helm merges them.
    pub layers: Vec<ValuesFile>,
    /// `--set`/`--set-string` assignments after every layer: each becomes a fixed layer of its
    /// own.
    pub set: Vec<SetValue>,
    /// The chart's own `values.yaml` is not read as its defaults: the layers replace it (Flux
    /// `valuesFiles`), so the chart is rendered with an empty one.
    pub no_chart_defaults: bool,
    pub release: String,
    pub namespace: String,
}

/// Inline values can carry credentials: only their sizes are shown.
impl std::fmt::Debug for HelmSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fixed: Vec<String> = self
            .fixed
            .iter()
            .map(|v| format!("{}: {} bytes", v.what, v.yaml.len()))
            .collect();
        f.debug_struct("HelmSource")
            .field("chart", &self.chart)
            .field("values", &self.values)
            .field("release", &self.release)
            .field("namespace", &self.namespace)
            .field("fixed", &fixed)
            .field("set", &self.set)
            .field("no_chart_defaults", &self.no_chart_defaults)
            .field("helm", &self.helm)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Inline values of a live owner (a HelmRelease's `spec.values`, an Application's
/// `helm.valuesObject`): rendered after the values files, never edited, since the file that
/// holds the owner is not known to the controller.
#[derive(Clone, PartialEq, Eq)]
pub struct FixedValues {
    /// Where they are set, e.g. "spec.source.helm.valuesObject of Application argocd/shop".
    pub what: String,
    /// The values, as YAML (JSON is YAML).
    pub yaml: String,
}

impl FixedValues {
    fn layer(&self) -> ValuesFile {
        ValuesFile {
            path: self.what.clone(),
            text: self.yaml.clone(),
            origin: Origin::Fixed {
                what: self.what.clone(),
                fix:
                    "change or remove it in that object's manifest (it wins over every values file)"
                        .into(),
            },
        }
    }
}

/// A `--set`/`--set-string` assignment of a release and where it is given: read when tracing,
/// never edited, so a traced key it sets is a problem that says where to change it.
#[derive(Clone, PartialEq, Eq)]
pub struct SetValue {
    pub arg: SetArg,
    /// Where it is set, named without its value (values can be credentials), e.g. "helm
    /// parameter image.tag in spec.source.helm.parameters of the live argo cd application
    /// argocd/shop".
    pub what: String,
    /// What the user does instead of an edit.
    pub fix: String,
}

impl SetValue {
    /// An assignment given on attune's command line.
    pub fn command_line(arg: SetArg) -> SetValue {
        SetValue {
            what: format!("{} {}", arg.flag(), arg.assignment),
            fix: "remove it from the command line or change the value there (it wins over every \
                  values file)"
                .into(),
            arg,
        }
    }
}

impl SetValue {
    /// An Argo CD Application's `helm.parameters` entry `name`, as Argo CD passes it
    /// (`assignment`, with `--set-string` when `string`); `owner` names the Application and
    /// `fix` says where to change it.
    pub fn argo_parameter(
        string: bool,
        name: &str,
        assignment: &str,
        owner: &str,
        fix: &str,
    ) -> SetValue {
        SetValue {
            arg: if string {
                SetArg::string(assignment)
            } else {
                SetArg::set(assignment)
            },
            what: format!("helm parameter {name} in spec.source.helm.parameters of {owner}"),
            fix: format!("{fix} (it wins over every values file)"),
        }
    }
}

/// Only where each is set: values can be credentials.
impl std::fmt::Debug for SetValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} ({})", self.arg, self.what)
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
    let mut layers = Vec::new();
    for v in &values {
        let path = repo::walk::join("", v).ok_or_else(|| bad(&format!("--values {v}")))?;
        let text =
            current_text(repo_dir, outcome, &path).map_err(|source| ProposeError::ReadValues {
                path: path.clone(),
                source,
            })?;
        layers.push(ValuesFile::file(path, text));
    }
    let release = HelmRelease {
        chart: chart_dir,
        layers,
        set: source.set.clone(),
        no_chart_defaults: source.no_chart_defaults,
        release: source.release.clone(),
        namespace: source.namespace.clone(),
    };
    let helm = Helm::new(source.helm.clone(), source.timeout);
    trace_release(&mut Charts::Disk(repo_dir), &release, &helm, wants, outcome);
    Ok(())
}

/// A repository file's text as the run has it so far: edited, or as on disk.
pub fn current_text(
    repo_dir: &std::path::Path,
    outcome: &Outcome,
    path: &str,
) -> std::io::Result<String> {
    match outcome.files.iter().find(|f| f.path == path) {
        Some(f) => Ok(f.after.clone()),
        None => std::fs::read_to_string(repo_dir.join(path)),
    }
}

/// A chart's files (path relative to the chart directory, bytes), or why it cannot be used.
pub type ChartRead = Result<Vec<(String, Vec<u8>)>, String>;

/// Where a run reads a release's chart: the checkout on disk, or files the caller read (a
/// commit's, within its limits): each file by path relative to the chart directory, or why the
/// chart cannot be used.
pub enum Charts<'a> {
    Disk(&'a std::path::Path),
    Read(&'a mut dyn FnMut(&str) -> ChartRead),
}

impl Charts<'_> {
    fn chart(&mut self, dir: &str) -> Result<ChartFiles, String> {
        match self {
            Charts::Disk(repo_dir) => {
                ChartFiles::read(&repo_dir.join(dir), dir).map_err(|e| e.to_string())
            }
            Charts::Read(read) => read(dir).map(|files| ChartFiles::from_files(dir, files)),
        }
    }
}

/// Traces `wants` through one release and merges the result into `outcome`, replacing their
/// "no manifest renders" problems. A chart that cannot be read, `helm` failing, or `--set`
/// values Helm would not read the same from a values file are problems for these wants.
pub fn trace_release(
    charts: &mut Charts<'_>,
    release: &HelmRelease,
    helm: &Helm,
    wants: &[Want],
    outcome: &mut Outcome,
) {
    if wants.is_empty() {
        return;
    }
    let chart = charts.chart(&release.chart);
    trace_chart(chart, release, helm, wants, outcome);
}

/// [`trace_release`] for a chart already read (from a commit, say): its files by path relative
/// to the chart directory, or why they could not be read; `values` are the values files (path,
/// text as it is now) in `-f` order, and `source.fixed` the owner's inline values after them.
pub fn trace_chart_files(
    chart: ChartRead,
    values: Vec<(String, String)>,
    source: &HelmSource,
    wants: &[Want],
    outcome: &mut Outcome,
) {
    let chart = chart.map(|f| ChartFiles::from_files(&source.chart, f));
    let mut layers: Vec<ValuesFile> = values
        .into_iter()
        .map(|(path, text)| ValuesFile::file(path, text))
        .collect();
    layers.extend(source.fixed.iter().map(FixedValues::layer));
    let release = HelmRelease {
        chart: source.chart.clone(),
        layers,
        set: source.set.clone(),
        no_chart_defaults: source.no_chart_defaults,
        release: source.release.clone(),
        namespace: source.namespace.clone(),
    };
    let helm = Helm::new(source.helm.clone(), source.timeout);
    trace_chart(chart, &release, &helm, wants, outcome);
}

fn trace_chart(
    chart: Result<ChartFiles, String>,
    release: &HelmRelease,
    helm: &Helm,
    wants: &[Want],
    outcome: &mut Outcome,
) {
    if wants.is_empty() {
        return;
    }
    forget_unrendered(outcome, wants);
    let traced = chart.map(|c| as_rendered(c, release)).and_then(|chart| {
        let layers = with_set(helm, &chart, release)?;
        let plan = Release {
            chart: &release.chart,
            name: &release.release,
            namespace: &release.namespace,
            defaults: chart.defaults(),
            files: &layers,
        };
        let mut render = HelmRenderer {
            helm,
            chart: &chart,
            release: &release.release,
            namespace: &release.namespace,
        };
        Ok(helmtrace::plan_release(&plan, wants, &mut render))
    });
    let traced = traced.unwrap_or_else(|reason| untraced_outcome(wants, &reason));
    merge(outcome, traced);
}

/// The chart as the tool renders it for this release: without its own defaults when the
/// release's values files replace them.
fn as_rendered(chart: ChartFiles, release: &HelmRelease) -> ChartFiles {
    if release.no_chart_defaults {
        chart.without_defaults()
    } else {
        chart
    }
}

/// The workloads of `wants` that no manifest renders are rendered by a chart that is not
/// traced, for `reason`: that is their problem instead.
pub fn untraced(outcome: &mut Outcome, wants: &[Want], reason: &str) {
    if wants.is_empty() {
        return;
    }
    forget_unrendered(outcome, wants);
    merge(outcome, untraced_outcome(wants, reason));
}

/// Drops the "no manifest renders" problems of `wants`: the chart's answer replaces them.
fn forget_unrendered(outcome: &mut Outcome, wants: &[Want]) {
    let ids: BTreeSet<(String, String, String)> = wants
        .iter()
        .map(|w| (w.namespace.clone(), w.kind.clone(), w.workload.clone()))
        .collect();
    outcome.problems.retain(|p| {
        !(ids.contains(&(p.namespace.clone(), p.kind.clone(), p.workload.clone()))
            && p.reason.contains("no manifest renders"))
    });
}

fn untraced_outcome(wants: &[Want], reason: &str) -> helmtrace::HelmOutcome {
    helmtrace::HelmOutcome {
        problems: wants
            .iter()
            .map(|w| Problem::of(w, None, &[], reason.to_owned()))
            .collect(),
        ..Default::default()
    }
}

/// The release's layers with one fixed layer per `--set`/`--set-string` assignment, as Helm
/// parses it, in the order Helm applies them (every `--set` before every `--set-string`). The
/// chain must render exactly as `helm template --set` does, or tracing over it would be a guess.
fn with_set(
    helm: &Helm,
    chart: &ChartFiles,
    release: &HelmRelease,
) -> Result<Vec<ValuesFile>, String> {
    let mut layers = release.layers.clone();
    if release.set.is_empty() {
        return Ok(layers);
    }
    let values: Vec<String> = layers
        .iter()
        .map(ValuesFile::values)
        .collect::<Result<_, _>>()?;
    let failed = |e: helmtrace::RenderError| {
        format!(
            "helm template of {} as release {} with --set: {e}",
            release.chart, release.release
        )
    };
    let mut set: Vec<&SetValue> = release.set.iter().collect();
    set.sort_by_key(|s| s.arg.kind == SetKind::SetString);
    for s in &set {
        layers.push(ValuesFile {
            path: s.arg.flag().into(),
            text: helm
                .set_values(std::slice::from_ref(&s.arg))
                .map_err(failed)?,
            origin: Origin::Fixed {
                what: s.what.clone(),
                fix: s.fix.clone(),
            },
        });
    }
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    let args: Vec<SetArg> = set.iter().map(|s| s.arg.clone()).collect();
    let real = helm
        .template(chart, &release.release, &release.namespace, &refs, &args)
        .map_err(failed)?;
    let chained: Vec<&str> = refs
        .iter()
        .copied()
        .chain(layers[values.len()..].iter().map(|l| l.text.as_str()))
        .collect();
    let mut render = HelmRenderer {
        helm,
        chart,
        release: &release.release,
        namespace: &release.namespace,
    };
    use helmtrace::Render;
    if render.render(&chained).map_err(failed)? != real {
        let shown: Vec<&str> = set.iter().map(|s| s.what.as_str()).collect();
        return Err(format!(
            "the --set assignments ({}) render differently when read as values files (a list \
             index or a large number, say); give them in a values file",
            shown.join(", ")
        ));
    }
    Ok(layers)
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

/// The workloads (`namespace/Kind/name`) the release renders as given: which release a
/// discovered workload belongs to. The render is cached, so tracing it next costs nothing.
pub fn rendered_ids(
    charts: &mut Charts<'_>,
    release: &HelmRelease,
    helm: &Helm,
) -> Result<BTreeSet<String>, String> {
    let chart = as_rendered(charts.chart(&release.chart)?, release);
    let layers = with_set(helm, &chart, release)?;
    let values: Vec<String> = layers
        .iter()
        .map(ValuesFile::values)
        .collect::<Result<_, _>>()?;
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    let mut render = HelmRenderer {
        helm,
        chart: &chart,
        release: &release.release,
        namespace: &release.namespace,
    };
    use helmtrace::Render;
    let text = render.render(&refs).map_err(|e| e.to_string())?;
    let rendered = helmtrace::rendered::Rendered::parse(&text, &release.namespace)?;
    Ok(rendered.workloads.iter().map(|w| w.id()).collect())
}
