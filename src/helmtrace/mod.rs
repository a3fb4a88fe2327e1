//! `helmtrace`: Helm values without markers. For a chart, its ordered values files, a release
//! name and a namespace, find the values key that feeds each container's
//! `resources.{requests,limits}.{cpu,memory}` by rendering the chart with the real `helm
//! template` — once as given and once with distinct sentinel quantities at candidate keys — and
//! then edit the last layer of the chain that sets the key and check, by rendering again, that
//! exactly the intended container fields changed.
//!
//! The chain is a list of [`ValuesFile`] layers, each with an [`Origin`]: a values file, inline
//! values inside a repository file (a HelmRelease's `spec.values`, an Application's
//! `helm.valuesObject` or `helm.values`), or a fixed layer attune reads but never edits
//! (`--set`/`--set-string`, Argo CD `helm.parameters`, a live object's inline values: [`Origin::Fixed`]). A key whose last setter is fixed
//! is a problem naming that layer.
//!
//! Everything is pure over the [`Render`] trait ([`candidates`], [`rendered`], [`trace`],
//! [`edit`]); [`runner`] is the thin I/O layer that execs `helm` (found on `PATH` or given),
//! with a timeout, in a temporary directory, with no network, and caches renders by
//! (helm version, chart digest, values digest). Go templates are never re-implemented: a value
//! the chart computes from something else is reported, not guessed.
//!
//! Must not know: git, forges, the cluster, policies (it takes `repo::Want`s), how files are
//! written (it returns texts).

pub mod candidates;
pub mod edit;
pub mod layer;
pub mod rendered;
pub mod runner;
pub mod set;
pub mod trace;
mod verify;

pub use candidates::ValuesText;
pub use edit::{HelmOutcome, Release, plan_release};
pub use layer::{Origin, ValuesFile};
pub use runner::{ChartFiles, Helm, HelmRenderer};
pub use set::{SetArg, SetKind};

/// Renders one chart as one release: `values` are the texts of the values files, in the order
/// `helm template -f` reads them (the chart's own `values.yaml` comes first implicitly).
pub trait Render {
    fn render(&mut self, values: &[&str]) -> Result<String, RenderError>;
}

/// Why a render failed; each is a named problem for the workloads of that release.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    #[error(
        "helm was not found at {binary} (install Helm 3 and put it on PATH, or give --helm PATH)"
    )]
    Missing { binary: String },
    #[error("helm template failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
    #[error("helm template did not finish within {secs}s")]
    Timeout { secs: u64 },
    #[error("helm template printed more than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("cannot run helm: {0}")]
    Io(String),
    #[error("the chart at {dir} cannot be read: {why}")]
    Chart { dir: String, why: String },
    #[error("helm's output is not YAML: {0}")]
    Output(String),
}
