//! Whether the owner a marker names vouches for the object. A tracking id or an owner label is
//! metadata anyone who can edit the object can write, so before the walk follows one it asks the
//! owner's own status — written by Argo CD or Flux — whether it manages that object in this
//! cluster: an Application's `status.resources`, a Kustomization's (or a recent HelmRelease's)
//! `status.inventory`. An older HelmRelease records no inventory; its release is then checked
//! against the annotations Helm itself stamps on what it installs, which is weaker (see
//! [`helm_release`]). Pure: reads the objects it is given.

use serde_json::Value;

use super::known::{ObjectRef, items, text};
use super::{LocateError, Workload};

/// How Argo CD names the cluster it runs in.
const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";
const IN_CLUSTER_NAME: &str = "in-cluster";
/// The annotations Helm (3.2 and later) puts on every object of a release.
const HELM_RELEASE_NAME: &str = "meta.helm.sh/release-name";
const HELM_RELEASE_NAMESPACE: &str = "meta.helm.sh/release-namespace";

fn refuse(object: &Workload, owner: &ObjectRef, reason: String) -> LocateError {
    LocateError::OwnerNotVerified {
        object: object.describe(),
        owner: owner.to_string(),
        reason,
    }
}

/// `apps/Deployment shop/web`, or `Service shop/web` in the core group, as the statuses key it.
fn coordinates(object: &Workload) -> String {
    let kind = match object.group() {
        "" => object.kind.clone(),
        group => format!("{group}/{}", object.kind),
    };
    if object.namespace.is_empty() {
        format!("{kind} {}", object.name)
    } else {
        format!("{kind} {}/{}", object.namespace, object.name)
    }
}

/// An Application vouches for an object it deploys to this cluster and lists in
/// `status.resources`. Argo CD records each object there in the namespace it lives in (a
/// manifest without one gets `spec.destination.namespace`), so the namespace compared is the
/// destination's as Argo CD applied it; the cluster is not in the entry, hence the check that
/// the destination is this cluster.
pub(crate) fn application(
    app: &Value,
    owner: &ObjectRef,
    object: &Workload,
) -> Result<(), LocateError> {
    let server = text(app, "/spec/destination/server");
    let name = text(app, "/spec/destination/name");
    let here = match (server, name) {
        (Some(server), _) => is_in_cluster_server(server),
        (None, Some(name)) => name == IN_CLUSTER_NAME,
        (None, None) => false,
    };
    if !here {
        let target = server.or(name).unwrap_or("no cluster at all");
        return Err(refuse(
            object,
            owner,
            format!(
                "it deploys to {target}, not to the cluster it runs in ({IN_CLUSTER_SERVER} or \
                 {IN_CLUSTER_NAME}), so its status.resources speaks of another cluster"
            ),
        ));
    }
    let resources = items(app, "/status/resources");
    if resources.is_empty() {
        return Err(refuse(
            object,
            owner,
            "its status.resources lists nothing (argo cd has not synced it yet)".to_owned(),
        ));
    }
    let field = |entry: &Value, key: &str| -> String {
        entry
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let listed = resources.iter().any(|r| {
        field(r, "group") == object.group()
            && field(r, "kind") == object.kind
            && field(r, "namespace") == object.namespace
            && field(r, "name") == object.name
    });
    if listed {
        Ok(())
    } else {
        Err(refuse(
            object,
            owner,
            format!("its status.resources does not list {}", coordinates(object)),
        ))
    }
}

fn is_in_cluster_server(server: &str) -> bool {
    let server = server.trim_end_matches('/');
    server == IN_CLUSTER_SERVER || server == format!("{IN_CLUSTER_SERVER}:443")
}

/// `<namespace>_<name>_<group>_<kind>`, the inventory id Flux writes (a `:` in a name, as in
/// RBAC objects, is written `__`).
pub(crate) fn inventory_id(object: &Workload) -> String {
    format!(
        "{}_{}_{}_{}",
        object.namespace,
        object.name.replace(':', "__"),
        object.group(),
        object.kind
    )
}

/// A Flux object applying to another cluster through `spec.kubeConfig` has an inventory of
/// that cluster's objects.
fn remote(flux: &Value, object: &Workload, owner: &ObjectRef) -> Result<(), LocateError> {
    match flux.pointer("/spec/kubeConfig") {
        None | Some(Value::Null) => Ok(()),
        Some(_) => Err(refuse(
            object,
            owner,
            "it applies to the cluster of its spec.kubeConfig, not to the one it runs in"
                .to_owned(),
        )),
    }
}

/// A Kustomization vouches for what its `status.inventory` lists.
pub(crate) fn kustomization(
    ks: &Value,
    owner: &ObjectRef,
    object: &Workload,
) -> Result<(), LocateError> {
    remote(ks, object, owner)?;
    match inventory(ks, object) {
        Some(Ok(())) => Ok(()),
        Some(Err(reason)) => Err(refuse(object, owner, reason)),
        None => Err(refuse(
            object,
            owner,
            "it has no status.inventory (kustomize-controller has not applied it yet)".to_owned(),
        )),
    }
}

/// `None` when the object has no `status.inventory`; otherwise whether it lists `object`.
fn inventory(owner: &Value, object: &Workload) -> Option<Result<(), String>> {
    let inventory = owner
        .pointer("/status/inventory")
        .filter(|v| !v.is_null())?;
    let id = inventory_id(object);
    let listed = items(inventory, "/entries")
        .iter()
        .any(|e| text(e, "/id") == Some(id.as_str()));
    Some(if listed {
        Ok(())
    } else {
        Err(format!("its status.inventory does not list {id}"))
    })
}

/// A HelmRelease vouches for what its `status.inventory` lists, where helm-controller records
/// one. Older helm-controllers record only the release (`status.history`), so then the object
/// must sit in the release's namespace and carry the release annotations Helm stamps on what it
/// installs. Those annotations, like Flux's labels, can be written by whoever can edit the
/// object — that residual trust is returned as a hint, so it is said wherever the source is.
pub(crate) fn helm_release(
    hr: &Value,
    owner: &ObjectRef,
    object: &Workload,
) -> Result<Option<String>, LocateError> {
    remote(hr, object, owner)?;
    if let Some(listed) = inventory(hr, object) {
        return listed.map(|()| None).map_err(|r| refuse(object, owner, r));
    }
    let Some((release, namespace)) = release(hr, owner) else {
        return Err(refuse(
            object,
            owner,
            "its status records no helm release (no status.inventory or status.history): \
             helm-controller has not installed it"
                .to_owned(),
        ));
    };
    if object.namespace != namespace {
        return Err(refuse(
            object,
            owner,
            format!("its release {release} installs into namespace {namespace}"),
        ));
    }
    let annotation = |key: &str| object.annotations.get(key).map(String::as_str);
    if annotation(HELM_RELEASE_NAME) != Some(release.as_str())
        || annotation(HELM_RELEASE_NAMESPACE) != Some(namespace.as_str())
    {
        return Err(refuse(
            object,
            owner,
            format!(
                "the object lacks the annotations {HELM_RELEASE_NAME}={release} and \
                 {HELM_RELEASE_NAMESPACE}={namespace} that helm puts on everything of that \
                 release"
            ),
        ));
    }
    Ok(Some(format!(
        "{owner} records no status.inventory (only recent helm-controllers do), so its \
         ownership of {} rests on helm's release annotations, which whoever can edit the object \
         can also write",
        object.describe()
    )))
}

/// The release's name and namespace: from the latest `status.history` snapshot, else (API
/// versions before v2beta2, which keep only `status.lastReleaseRevision`) as helm-controller
/// derives them from the spec. `None` when the status shows no release at all.
fn release(hr: &Value, owner: &ObjectRef) -> Option<(String, String)> {
    if let Some(latest) = items(hr, "/status/history").first() {
        let name = text(latest, "/name")?;
        let namespace = text(latest, "/namespace")?;
        return Some((name.to_owned(), namespace.to_owned()));
    }
    let revision = hr
        .pointer("/status/lastReleaseRevision")
        .and_then(Value::as_u64)?;
    if revision == 0 {
        return None;
    }
    let target = text(hr, "/spec/targetNamespace");
    let name = match (text(hr, "/spec/releaseName"), target) {
        (Some(name), _) => name.to_owned(),
        (None, Some(ns)) => format!("{ns}-{}", owner.name),
        (None, None) => owner.name.clone(),
    };
    Some((name, target.unwrap_or(&owner.namespace).to_owned()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::locate::ObjectKind;

    fn web() -> Workload {
        Workload {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "shop".into(),
            name: "web".into(),
            ..Workload::default()
        }
    }

    fn app(destination: Value, resources: Value) -> Value {
        json!({"spec": {"destination": destination}, "status": {"resources": resources}})
    }

    fn reason(err: LocateError) -> String {
        match err {
            LocateError::OwnerNotVerified { reason, .. } => reason,
            other => panic!("not an ownership refusal: {other}"),
        }
    }

    #[test]
    fn an_application_vouches_only_for_what_it_lists_in_this_cluster() {
        let owner = ObjectRef::new(ObjectKind::Application, "argocd", "shop");
        let listed = json!([
            {"group": "", "version": "v1", "kind": "Service", "namespace": "shop", "name": "web"},
            {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "shop", "name": "web"}
        ]);
        let here = json!({"server": "https://kubernetes.default.svc/", "namespace": "shop"});
        assert!(application(&app(here.clone(), listed.clone()), &owner, &web()).is_ok());
        let by_name = json!({"name": "in-cluster", "namespace": "shop"});
        assert!(application(&app(by_name, listed.clone()), &owner, &web()).is_ok());

        // Same name, other namespace, kind or group: not this object.
        for other in [
            json!([{"group": "apps", "kind": "Deployment", "namespace": "staging", "name": "web"}]),
            json!([{"group": "apps", "kind": "StatefulSet", "namespace": "shop", "name": "web"}]),
            json!([{"group": "extensions", "kind": "Deployment", "namespace": "shop", "name": "web"}]),
            json!([{"group": "", "kind": "Service", "namespace": "shop", "name": "web"}]),
        ] {
            let err = application(&app(here.clone(), other), &owner, &web()).unwrap_err();
            assert_eq!(
                reason(err),
                "its status.resources does not list apps/Deployment shop/web"
            );
        }
        let never_synced = application(&app(here, json!(null)), &owner, &web()).unwrap_err();
        assert!(reason(never_synced).contains("has not synced it yet"));

        let remote = json!({"server": "https://prod.example.com:6443", "namespace": "shop"});
        let err = application(&app(remote, listed), &owner, &web()).unwrap_err();
        assert!(
            err.to_string().contains(
                "Deployment shop/web names argo cd application argocd/shop as its owner, but it deploys to https://prod.example.com:6443"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_kustomization_vouches_for_its_inventory_in_this_cluster_only() {
        let owner = ObjectRef::new(ObjectKind::Kustomization, "flux-system", "apps");
        let ks = |inventory: Value| json!({"spec": {}, "status": {"inventory": inventory}});
        let listed = ks(json!({"entries": [
            {"id": "shop_web__Service", "v": "v1"},
            {"id": "shop_web_apps_Deployment", "v": "v1"}
        ]}));
        assert!(kustomization(&listed, &owner, &web()).is_ok());
        let other = ks(json!({"entries": [{"id": "shop_api_apps_Deployment", "v": "v1"}]}));
        assert_eq!(
            reason(kustomization(&other, &owner, &web()).unwrap_err()),
            "its status.inventory does not list shop_web_apps_Deployment"
        );
        let none = json!({"spec": {}, "status": {}});
        assert!(
            reason(kustomization(&none, &owner, &web()).unwrap_err())
                .contains("has not applied it")
        );
        let mut remote = listed.clone();
        remote["spec"]["kubeConfig"] = json!({"secretRef": {"name": "prod-kubeconfig"}});
        assert!(
            reason(kustomization(&remote, &owner, &web()).unwrap_err()).contains("spec.kubeConfig")
        );

        let role = Workload {
            api_version: "rbac.authorization.k8s.io/v1".into(),
            kind: "ClusterRole".into(),
            name: "system:web".into(),
            ..Workload::default()
        };
        assert_eq!(
            inventory_id(&role),
            "_system__web_rbac.authorization.k8s.io_ClusterRole"
        );
    }

    fn podinfo(annotations: &[(&str, &str)]) -> Workload {
        Workload {
            namespace: "podinfo".into(),
            name: "podinfo".into(),
            annotations: annotations
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            ..web()
        }
    }

    #[test]
    fn a_helm_release_without_inventory_checks_helms_own_annotations() {
        let owner = ObjectRef::new(ObjectKind::HelmRelease, "flux-system", "podinfo");
        let hr = json!({"spec": {"targetNamespace": "podinfo"}, "status": {"history": [
            {"name": "podinfo-podinfo", "namespace": "podinfo", "version": 2, "status": "deployed"},
            {"name": "podinfo-podinfo", "namespace": "podinfo", "version": 1, "status": "superseded"}
        ]}});
        let stamped = podinfo(&[
            (HELM_RELEASE_NAME, "podinfo-podinfo"),
            (HELM_RELEASE_NAMESPACE, "podinfo"),
        ]);
        let hint = helm_release(&hr, &owner, &stamped).unwrap().unwrap();
        assert!(
            hint.contains("rests on helm's release annotations"),
            "{hint}"
        );

        let bare = reason(helm_release(&hr, &owner, &podinfo(&[])).unwrap_err());
        assert!(
            bare.contains("meta.helm.sh/release-name=podinfo-podinfo"),
            "{bare}"
        );
        let elsewhere = Workload {
            namespace: "shop".into(),
            ..stamped.clone()
        };
        assert!(
            reason(helm_release(&hr, &owner, &elsewhere).unwrap_err())
                .contains("installs into namespace podinfo")
        );
        let never = json!({"spec": {}, "status": {}});
        assert!(
            reason(helm_release(&never, &owner, &stamped).unwrap_err())
                .contains("has not installed it")
        );

        // v2beta1 keeps only the revision: the name comes from the spec as helm-controller makes it.
        let old =
            json!({"spec": {"targetNamespace": "podinfo"}, "status": {"lastReleaseRevision": 3}});
        assert!(helm_release(&old, &owner, &stamped).is_ok());
        let renamed = json!({"spec": {"releaseName": "pi"}, "status": {"lastReleaseRevision": 3}});
        let own_ns = ObjectRef::new(ObjectKind::HelmRelease, "podinfo", "podinfo");
        let pi = podinfo(&[
            (HELM_RELEASE_NAME, "pi"),
            (HELM_RELEASE_NAMESPACE, "podinfo"),
        ]);
        assert!(helm_release(&renamed, &own_ns, &pi).is_ok());
    }

    #[test]
    fn a_helm_release_with_an_inventory_is_checked_like_a_kustomization() {
        let owner = ObjectRef::new(ObjectKind::HelmRelease, "podinfo", "podinfo");
        let hr = json!({"status": {"inventory": {"entries": [
            {"id": "podinfo_podinfo_apps_Deployment", "v": "v1"}
        ]}, "history": [{"name": "podinfo", "namespace": "podinfo"}]}});
        assert_eq!(helm_release(&hr, &owner, &podinfo(&[])).unwrap(), None);
        let other = Workload {
            name: "podinfo-canary".into(),
            ..podinfo(&[
                (HELM_RELEASE_NAME, "podinfo"),
                (HELM_RELEASE_NAMESPACE, "podinfo"),
            ])
        };
        // The annotations do not help when the inventory says otherwise.
        assert!(
            reason(helm_release(&hr, &owner, &other).unwrap_err())
                .contains("does not list podinfo_podinfo-canary_apps_Deployment")
        );
    }
}
