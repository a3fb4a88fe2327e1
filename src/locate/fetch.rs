//! The thin async layer over the pure walk: asks [`next_step`] which object it needs, GETs it
//! through `Api<DynamicObject>` with a hand-built `ApiResource` (no discovery round trip on the
//! happy path), records the answer and asks again. A 404 is only taken as "no such object" after
//! the apiserver confirms it serves the resource, so a missing CRD reads as "not installed"
//! instead of "owner not found". This layer parses no object and knows nothing about Git.

use std::collections::BTreeSet;

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject};
use serde_json::Value;

use super::known::{Known, ObjectKind, ObjectRef};
use super::step::{Step, next_step};
use super::{LocateError, Settings, Source, Workload};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{product} is not installed: the cluster does not serve {resource}")]
    NotInstalled {
        product: &'static str,
        resource: String,
    },
    #[error("cannot read {what}")]
    Get {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot ask the apiserver whether it serves {resource}")]
    Discovery {
        resource: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot turn {what} into json")]
    Decode {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("gave up after {0} lookups without reaching a git source")]
    TooManyLookups(usize),
    #[error(transparent)]
    Locate(#[from] LocateError),
}

/// The `ApiResource` for a kind, built by hand: these kinds' plurals are fixed, and discovery
/// would cost a request per kind on every run.
pub fn api_resource(kind: ObjectKind) -> ApiResource {
    ApiResource {
        group: kind.group().to_owned(),
        version: kind.version().to_owned(),
        api_version: format!("{}/{}", kind.group(), kind.version()),
        kind: kind.kind().to_owned(),
        plural: kind.plural().to_owned(),
    }
}

/// Traces a live workload to its Git source, fetching the owners it names one by one.
pub async fn locate_live(
    client: &Client,
    workload: &Workload,
    settings: &Settings,
) -> Result<Source, FetchError> {
    // The longest walk is a HelmRelease, its applier (one GET per Argo CD namespace searched)
    // and a GitRepository; the bound only keeps a walk bug from looping against the apiserver.
    let limit = 4 + settings.argocd_namespaces.len();
    let mut known = Known::new();
    let mut served = BTreeSet::new();
    loop {
        let key = match next_step(workload, &known, settings) {
            Step::Done(result) => return Ok((*result)?),
            Step::Need(key) => key,
        };
        if known.len() >= limit {
            return Err(FetchError::TooManyLookups(known.len()));
        }
        let object = get(client, &key).await?;
        if object.is_none() && !served.contains(&key.kind) {
            if !is_served(client, key.kind).await? {
                return Err(FetchError::NotInstalled {
                    product: key.kind.product(),
                    resource: resource_name(key.kind),
                });
            }
            served.insert(key.kind);
        }
        known.record(key, object);
    }
}

async fn get(client: &Client, key: &ObjectRef) -> Result<Option<Value>, FetchError> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &key.namespace, &api_resource(key.kind));
    let found = match api.get(&key.name).await {
        Ok(object) => Some(object),
        Err(err) if is_404(&err) => None,
        Err(source) => {
            return Err(FetchError::Get {
                what: key.to_string(),
                source,
            });
        }
    };
    found
        .map(|object| {
            serde_json::to_value(object).map_err(|source| FetchError::Decode {
                what: key.to_string(),
                source,
            })
        })
        .transpose()
}

/// Whether the apiserver serves the kind at the version asked for. A 404 on the group version
/// means the CRD (or that version of it) is absent.
async fn is_served(client: &Client, kind: ObjectKind) -> Result<bool, FetchError> {
    let group_version = format!("{}/{}", kind.group(), kind.version());
    match client.list_api_group_resources(&group_version).await {
        Ok(list) => Ok(list.resources.iter().any(|r| r.name == kind.plural())),
        Err(err) if is_404(&err) => Ok(false),
        Err(source) => Err(FetchError::Discovery {
            resource: resource_name(kind),
            source,
        }),
    }
}

/// Decided on the HTTP code alone: for a group version it does not serve, the apiserver answers
/// a plain-text `404 page not found`, which kube turns into a `Status` whose reason is not
/// `NotFound`, so `Status::is_not_found` (and `Api::get_opt`) would call a missing CRD an error.
fn is_404(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 404)
}

/// `applications.argoproj.io/v1alpha1`, as in kubectl's messages.
fn resource_name(kind: ObjectKind) -> String {
    format!("{}.{}/{}", kind.plural(), kind.group(), kind.version())
}
