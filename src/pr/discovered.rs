//! A target with discovery ([`super::Target::discover`]): `propose --discover` on the base
//! commit. Every YAML file of the commit is read (within the sync's read budget), the
//! applications its files describe decide where each workload is searched, and the charts they
//! render are read from the commit within the chart limits ([`super::helm::read_chart`]) — the
//! same steps as on a checkout ([`crate::discover::outcome`]), so the pull request carries the
//! edits `propose --discover --repo` makes on a checkout of that commit.

use git2::Oid;

use super::PrError;
use super::git_jobs::SurveyJob;
use crate::discover::{self, Discovery, Read, Request};
use crate::git::Workspace;
use crate::propose::{Charts, Outcome};

/// Discovery over the base commit and the outcome of the job's policies.
pub(super) fn edit(
    ws: &Workspace,
    base: Oid,
    job: &SurveyJob,
    request: &Request,
) -> Result<(Discovery, Outcome), PrError> {
    // Discovery needs every application of the repository: the whole commit is the scope.
    let all = [String::new()];
    let (files, notices) = super::read::texts(super::read_needed(ws, base, &all, job.budget)?);
    // A git failure while reading a chart fails the sync; a chart that cannot be used (too
    // large, a link, no Chart.yaml) is a problem of its workloads.
    let mut failure = None;
    let mut read = |dir: &str| match super::helm::read_chart(ws, base, dir) {
        Ok(chart) => chart,
        Err(e) => {
            let why = e.to_string();
            failure.get_or_insert(e);
            Err(why)
        }
    };
    let (discovery, outcome) = discover::outcome(
        Read { files, notices },
        &job.target.scope,
        &job.policies,
        request,
        &mut Charts::Read(&mut read),
    );
    match failure {
        Some(e) => Err(e.into()),
        None => Ok((discovery, outcome)),
    }
}
