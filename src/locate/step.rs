//! The walk from a live object to its Git source, over a table of objects already fetched. The
//! same walk serves a caller that has every object in hand ([`locate`]) and the fetch layer,
//! which asks [`next_step`] what to GET next until the walk is done — so the chain of owners is
//! written once, here, and the fetch layer never parses an object.

use super::known::{Known, Lookup, ObjectRef, Stop};
use super::marker::{self, Owner};
use super::source::Source;
use super::{LocateError, Settings, Workload, argocd, flux};

/// What the walk needs next.
#[derive(Debug)]
pub enum Step {
    /// The walk is over. Boxed: a result is much larger than a request.
    Done(Box<Result<Source, LocateError>>),
    /// GET this object and [`Known::record`] the answer (the object, or its absence).
    Need(ObjectRef),
}

/// Traces `workload` to its Git source using only `known`; an object missing from it counts as
/// absent.
pub fn locate(
    workload: &Workload,
    known: &Known,
    settings: &Settings,
) -> Result<Source, LocateError> {
    match walk(workload, &Lookup { known, open: false }, settings) {
        Ok(source) => Ok(source),
        Err(Stop::Fail(err)) => Err(err),
        // A closed lookup answers every question, so the walk cannot ask for more.
        Err(Stop::Need(key)) => Err(key.not_found()),
    }
}

/// One step of the walk: done, or the next object it needs that `known` has no answer for.
pub fn next_step(workload: &Workload, known: &Known, settings: &Settings) -> Step {
    match walk(workload, &Lookup { known, open: true }, settings) {
        Ok(source) => Step::Done(Box::new(Ok(source))),
        Err(Stop::Fail(err)) => Step::Done(Box::new(Err(err))),
        Err(Stop::Need(key)) => Step::Need(key),
    }
}

fn walk(workload: &Workload, lookup: &Lookup<'_>, settings: &Settings) -> Result<Source, Stop> {
    let found = marker::find(workload, settings)?;
    let mut source = match &found.owner {
        Owner::Argo(app) => argocd::locate(app, lookup, settings, workload)?,
        Owner::Kustomization(key) => flux::from_kustomization(key, lookup, workload)?,
        Owner::HelmRelease(key) => flux::from_helm_release(key, lookup, settings, workload)?,
    };
    // The workload's own hints come first: they explain how its owner was chosen.
    source.hints.splice(0..0, found.hints);
    Ok(source)
}
