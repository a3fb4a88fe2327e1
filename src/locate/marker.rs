//! Which object owns a live object, by the markers the GitOps tools stamp on what they apply:
//! Argo CD's tracking-id annotation (trusted only when it names the object it sits on, as Argo CD
//! itself checks) and Flux's owner labels. The `app.kubernetes.io/instance` label proves nothing
//! — Helm charts set it themselves — so it only ever becomes a hint.

use super::known::{ObjectKind, ObjectRef};
use super::{LocateError, Settings, Workload};

pub(crate) const TRACKING_ID: &str = "argocd.argoproj.io/tracking-id";
const INSTALLATION_ID: &str = "argocd.argoproj.io/installation-id";
const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
const KUSTOMIZE_NAME: &str = "kustomize.toolkit.fluxcd.io/name";
const KUSTOMIZE_NAMESPACE: &str = "kustomize.toolkit.fluxcd.io/namespace";
const HELM_NAME: &str = "helm.toolkit.fluxcd.io/name";
const HELM_NAMESPACE: &str = "helm.toolkit.fluxcd.io/namespace";

/// The Application a tracking id names. Without a namespace it lives in the control-plane
/// namespace of the Argo CD instance that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArgoApp {
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owner {
    Argo(ArgoApp),
    Kustomization(ObjectRef),
    HelmRelease(ObjectRef),
}

impl Owner {
    fn describe(&self) -> String {
        match self {
            Owner::Argo(app) => match &app.namespace {
                Some(ns) => format!("argo cd application {ns}/{}", app.name),
                None => format!("argo cd application {}", app.name),
            },
            Owner::Kustomization(r) | Owner::HelmRelease(r) => r.to_string(),
        }
    }
}

/// The owner proven by the object's markers, with hints about markers that were not used.
#[derive(Debug)]
pub(crate) struct Found {
    pub owner: Owner,
    pub hints: Vec<String>,
}

/// `<app>:<group>/<kind>:<namespace>/<name>` as Argo CD writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrackingId {
    pub app: String,
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl TrackingId {
    /// Splits on the first two colons only, as Argo CD does; each of the last two parts must be
    /// exactly one `/`-separated pair.
    pub fn parse(value: &str) -> Result<TrackingId, &'static str> {
        let mut parts = value.splitn(3, ':');
        let (Some(app), Some(group_kind), Some(ns_name)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err("expected <app>:<group>/<kind>:<namespace>/<name>");
        };
        let pair = |s: &str| -> Option<(String, String)> {
            let (a, b) = s.split_once('/')?;
            (!b.contains('/')).then(|| (a.to_owned(), b.to_owned()))
        };
        let (group, kind) = pair(group_kind).ok_or("the group/kind part is not one pair")?;
        let (namespace, name) = pair(ns_name).ok_or("the namespace/name part is not one pair")?;
        if app.is_empty() || kind.is_empty() || name.is_empty() {
            return Err("the application, kind or name is empty");
        }
        Ok(TrackingId {
            app: app.to_owned(),
            group,
            kind,
            namespace,
            name,
        })
    }

    /// Whether the id names `object`. A cluster-scoped object carries its application's
    /// destination namespace in the id, so an empty object namespace matches any.
    fn names(&self, object: &Workload) -> bool {
        self.group == object.group()
            && self.kind == object.kind
            && self.name == object.name
            && (object.namespace.is_empty() || self.namespace == object.namespace)
    }

    /// The Application, from `<namespace>_<name>` (apps in any namespace) or a bare `<name>`.
    /// Neither part can hold `_`: both are DNS names.
    fn app(&self) -> ArgoApp {
        match self.app.split_once('_') {
            Some((ns, name)) => ArgoApp {
                namespace: Some(ns.to_owned()),
                name: name.to_owned(),
            },
            None => ArgoApp {
                namespace: None,
                name: self.app.clone(),
            },
        }
    }
}

impl std::fmt::Display for TrackingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}/{}:{}/{}",
            self.app, self.group, self.kind, self.namespace, self.name
        )
    }
}

/// Finds the one owner the markers prove. A marker that is present but unusable (malformed,
/// naming another object, another Argo CD instance's) is the error when no other marker proves
/// an owner, and a hint when one does.
pub(crate) fn find(object: &Workload, settings: &Settings) -> Result<Found, LocateError> {
    let mut owners = Vec::new();
    let mut rejected = Vec::new();
    let candidates = [
        argo(object, settings),
        flux(
            object,
            KUSTOMIZE_NAME,
            KUSTOMIZE_NAMESPACE,
            ObjectKind::Kustomization,
        ),
        flux(object, HELM_NAME, HELM_NAMESPACE, ObjectKind::HelmRelease),
    ];
    for candidate in candidates.into_iter().flatten() {
        match candidate {
            Ok(owner) => owners.push(owner),
            Err(err) => rejected.push(err),
        }
    }
    let mut hints: Vec<String> = instance_hint(object).into_iter().collect();
    match owners.len() {
        1 => {
            hints.extend(rejected.iter().map(|e| format!("ignored: {e}")));
            let owner = owners.remove(0);
            Ok(Found { owner, hints })
        }
        0 => Err(rejected
            .into_iter()
            .next()
            .unwrap_or_else(|| LocateError::NoOwnerMarker {
                object: object.describe(),
                hint: instance_hint(object),
            })),
        _ => Err(LocateError::Ambiguous {
            what: format!("owner of {}", object.describe()),
            candidates: owners.iter().map(Owner::describe).collect(),
        }),
    }
}

fn argo(object: &Workload, settings: &Settings) -> Option<Result<Owner, LocateError>> {
    let value = object.annotations.get(TRACKING_ID)?;
    let describe = object.describe();
    let id = match TrackingId::parse(value) {
        Ok(id) => id,
        Err(reason) => {
            return Some(Err(LocateError::MalformedMarker {
                object: describe,
                marker: TRACKING_ID,
                value: value.clone(),
                reason,
            }));
        }
    };
    if !id.names(object) {
        let expected = TrackingId {
            app: id.app.clone(),
            group: object.group().to_owned(),
            kind: object.kind.clone(),
            namespace: object.namespace.clone(),
            name: object.name.clone(),
        };
        return Some(Err(LocateError::TrackingIdMismatch {
            object: describe,
            expected: expected.to_string(),
            found: value.clone(),
        }));
    }
    if let Some(ours) = &settings.installation_id {
        let theirs = object.annotations.get(INSTALLATION_ID);
        if theirs != Some(ours) {
            return Some(Err(LocateError::ForeignInstallation {
                object: describe,
                expected: ours.clone(),
                found: theirs.cloned().unwrap_or_default(),
            }));
        }
    }
    Some(Ok(Owner::Argo(id.app())))
}

/// Flux writes both labels on everything it applies; one without the other is not its work.
fn flux(
    object: &Workload,
    name_key: &'static str,
    namespace_key: &'static str,
    kind: ObjectKind,
) -> Option<Result<Owner, LocateError>> {
    let name = object.labels.get(name_key).filter(|v| !v.is_empty());
    let namespace = object.labels.get(namespace_key).filter(|v| !v.is_empty());
    match (name, namespace) {
        (None, None) => None,
        (Some(name), Some(namespace)) => {
            let r = ObjectRef::new(kind, namespace, name);
            Some(Ok(match kind {
                ObjectKind::HelmRelease => Owner::HelmRelease(r),
                _ => Owner::Kustomization(r),
            }))
        }
        (Some(v), None) | (None, Some(v)) => Some(Err(LocateError::MalformedMarker {
            object: object.describe(),
            marker: if name.is_some() {
                name_key
            } else {
                namespace_key
            },
            value: v.clone(),
            reason: "flux sets its name and namespace labels together; the other is missing",
        })),
    }
}

fn instance_hint(object: &Workload) -> Option<String> {
    object.labels.get(INSTANCE_LABEL).map(|v| {
        format!("label {INSTANCE_LABEL}={v} is informational only (helm charts set it too) and was not used")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_ids_parse_like_argo_cd() {
        let id = TrackingId::parse("shop:apps/Deployment:shop/web").unwrap();
        assert_eq!(
            (id.app.as_str(), id.group.as_str(), id.kind.as_str()),
            ("shop", "apps", "Deployment")
        );
        assert_eq!(id.to_string(), "shop:apps/Deployment:shop/web");
        let core = TrackingId::parse("shop:/Service:shop/web").unwrap();
        assert_eq!(core.group, "");
        let any_ns = TrackingId::parse("team-a_shop:apps/Deployment:shop/web").unwrap();
        assert_eq!(
            any_ns.app(),
            ArgoApp {
                namespace: Some("team-a".into()),
                name: "shop".into()
            }
        );
        for bad in [
            "shop",
            "shop:apps/Deployment",
            "shop:Deployment:shop/web",
            "shop:apps/Deployment:web",
            "shop:apps/x/Deployment:shop/web",
            ":apps/Deployment:shop/web",
            "shop:apps/Deployment:shop/",
        ] {
            assert!(TrackingId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cluster_scoped_objects_match_any_tracking_namespace() {
        let ns = Workload {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            name: "shop".into(),
            ..Workload::default()
        };
        let id = TrackingId::parse("shop:/Namespace:argocd-dest/shop").unwrap();
        assert!(id.names(&ns));
        let wrong_group = TrackingId::parse("shop:apps/Namespace:x/shop").unwrap();
        assert!(!wrong_group.names(&ns));
    }
}
