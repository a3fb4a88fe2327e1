//! `propose`: from AttunePolicy recommendations and a checkout to a verified change set.
//!
//! The pipeline is policies → wants ([`wants`]) → edit sites ([`crate::repo`]) → edited texts
//! ([`crate::yamledit`], applied per file in [`apply`]) → an [`Outcome`] value that feeds the
//! unified diff ([`diff`]), the JSON report, the files written ([`write`]) and, later, commits
//! and pull requests. Only [`write`] touches the file system; everything else is pure.
//!
//! Must not know: the cluster, git, forges (the change set is handed to `pr` as a value).

mod apply;
pub mod diff;
mod helm;
mod place;
mod run;
mod wants;
pub mod write;

use serde::Serialize;

pub use apply::{apply, editor_op};
pub use helm::{
    CHART_BYTES, CHART_FILES, ChartRead, Charts, FixedValues, HelmRelease, HelmSource, SetValue,
    add_helm, current_text, rendered_ids, trace_chart_files, trace_release, unlocated, untraced,
};
pub use run::{
    Format, Options, Place, ProposeError, compute, compute_with, outcome_of, outcome_scoped,
    problems_and_notices, read_policies, run, run_with, run_with_policies, summary,
};
pub use wants::wants;

use crate::repo::{Change, Notice, Problem};

/// The content of one file before and after (before is `None` for a new file).
#[derive(Debug, Clone, PartialEq)]
pub struct FileChange {
    pub path: String,
    pub before: Option<String>,
    pub after: String,
}

/// Everything a run decided: the values changed, the files as they will be, what could not be
/// done and what was noticed on the way.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub changes: Vec<Change>,
    pub problems: Vec<Problem>,
    pub notices: Vec<Notice>,
    #[serde(skip)]
    pub files: Vec<FileChange>,
}

impl Outcome {
    /// A stable digest of the edits, for branch bookkeeping and PR markers.
    pub fn change_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for f in &self.files {
            h.update(f.path.as_bytes());
            h.update([0]);
            h.update(f.after.as_bytes());
            h.update([0]);
        }
        let digest = h.finalize();
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}
