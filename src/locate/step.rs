//! The walk from a live object to its Git source, over a table of objects already fetched. The
//! same walk serves a caller that has every object in hand ([`locate`]) and the fetch layer,
//! which asks [`next_step`] what to GET next until the walk is done — so the chain of owners is
//! written once, here, and the fetch layer never parses an object.

use super::known::{Known, Lookup, ObjectKind, ObjectRef, Stop};
use super::marker::{self, Owner};
use super::source::Source;
use super::{HelmChart, LocateError, Settings, Workload, argocd, flux};

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

/// What an owner in hand deploys — an Argo CD Application or a Flux Kustomization, with the
/// objects it refers to (a Kustomization's GitRepository) in `known` — read by the very code the
/// walk runs once the owner's status vouched for a live workload. For owners that have no
/// status to vouch: `propose --discover` reads them from files in the repository.
pub fn source_of(owner: &ObjectRef, known: &Known) -> Result<Source, LocateError> {
    let lookup = Lookup { known, open: false };
    let object = lookup.require(owner).map_err(stop_error)?;
    match owner.kind {
        ObjectKind::Application => argocd::from_application(owner.clone(), object),
        ObjectKind::Kustomization => {
            flux::kustomization_source(owner, object, &lookup).map_err(stop_error)
        }
        _ => Err(LocateError::BadOwner {
            object: owner.to_string(),
            reason:
                "only an argo cd application or a flux kustomization deploys from a path on its own"
                    .to_owned(),
        }),
    }
}

/// A HelmRelease's source given the source of the owner that applies it, as the walk builds it.
pub fn helm_release_source(
    key: &ObjectRef,
    known: &Known,
    applier: Source,
) -> Result<Source, LocateError> {
    let lookup = Lookup { known, open: false };
    let hr = lookup.require(key).map_err(stop_error)?;
    flux::helm_release_source(key, hr, &lookup, applier).map_err(stop_error)
}

/// The chart an Application renders from its path, for a caller that found a `Chart.yaml`
/// there although the Application sets no `helm:`.
pub fn application_chart(owner: &ObjectRef, known: &Known) -> Result<HelmChart, LocateError> {
    let app = known.get(owner).ok_or_else(|| owner.not_found())?;
    argocd::chart_of(owner, app)
}

fn stop_error(stop: Stop) -> LocateError {
    match stop {
        Stop::Fail(err) => err,
        Stop::Need(key) => key.not_found(),
    }
}
