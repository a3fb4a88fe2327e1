//! `attune propose --discover` over a local checkout: read the files once, then discover and
//! edit as a pull request's pipeline does on a commit ([`super::edits`]), and report, print and
//! write as `propose` does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::Discovery;
use super::edits::{Read, Request, describe, outcome};
use crate::propose::{self, Charts, Format, Outcome, ProposeError};
use crate::repo;

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
    let (raw, notices) =
        repo::walk::read_tree(&p.repo).map_err(|source| ProposeError::ReadRepo {
            path: shown,
            source,
        })?;
    let read = Read {
        files: raw.into_iter().map(|f| (f.rel, f.text)).collect(),
        notices,
    };
    let request = Request {
        this_repo: opts.repo_url.clone().or_else(|| origin(&p.repo)),
        helm: opts.helm.clone(),
        helm_timeout: opts.helm_timeout,
    };
    let mut charts = Charts::Disk(&p.repo);
    Ok(outcome(
        read,
        &default_scope,
        &policies,
        &request,
        &mut charts,
    ))
}

/// The checkout's `origin` URL, when `dir` is the top of a git checkout that has one.
fn origin(dir: &Path) -> Option<String> {
    let repo = git2::Repository::open(dir).ok()?;
    let remote = repo.find_remote("origin").ok()?;
    remote.url().ok().map(str::to_owned)
}
