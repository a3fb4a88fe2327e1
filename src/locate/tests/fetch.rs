//! The fetch layer against an in-process apiserver stand-in: a tower service that answers GETs
//! for the fixture's objects and discovery for the group versions it is told are installed,
//! and records every path asked for, so each test pins the exact requests made.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http::{Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

use super::{Fixture, load, run};
use crate::locate::fetch::{FetchError, locate_live};
use crate::locate::{Known, LocateError, ObjectKind};

struct ApiServer {
    objects: BTreeMap<String, Value>,
    /// Group versions discovery answers for, with the plurals they serve.
    served: BTreeMap<String, Vec<&'static str>>,
    forbidden: BTreeSet<String>,
    calls: Arc<Mutex<Vec<String>>>,
}

fn object_path(kind: ObjectKind, namespace: &str, name: &str) -> String {
    format!(
        "/apis/{}/{}/namespaces/{namespace}/{}/{name}",
        kind.group(),
        kind.version(),
        kind.plural()
    )
}

impl ApiServer {
    /// Serves the fixture's objects with every CRD installed.
    fn from(fixture: &Fixture) -> ApiServer {
        let mut objects = BTreeMap::new();
        let mut known = Known::new();
        for object in &fixture.objects {
            let key = known.insert(object.clone()).unwrap();
            objects.insert(
                object_path(key.kind, &key.namespace, &key.name),
                object.clone(),
            );
        }
        let mut served: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
        for kind in [
            ObjectKind::Application,
            ObjectKind::Kustomization,
            ObjectKind::GitRepository,
            ObjectKind::OciRepository,
            ObjectKind::Bucket,
            ObjectKind::HelmRelease,
        ] {
            served
                .entry(format!("{}/{}", kind.group(), kind.version()))
                .or_default()
                .push(kind.plural());
        }
        ApiServer {
            objects,
            served,
            forbidden: BTreeSet::new(),
            calls: Arc::default(),
        }
    }

    /// As if the CRD (or that version of it) were not installed.
    fn without_group(mut self, group_version: &str) -> ApiServer {
        self.served.remove(group_version);
        self
    }

    /// Answers as kube-apiserver 1.35 does: JSON for what it serves (a `NotFound` Status for a
    /// missing object), but a plain-text 404 for any path under a group version it does not
    /// serve — which is what a missing CRD looks like.
    fn answer(&self, path: &str) -> (StatusCode, &'static str, Vec<u8>) {
        let json = |code: StatusCode, value: Value| {
            (
                code,
                "application/json",
                serde_json::to_vec(&value).unwrap(),
            )
        };
        if self.forbidden.contains(path) {
            return json(
                StatusCode::FORBIDDEN,
                status(403, "Forbidden", "forbidden by rbac"),
            );
        }
        let group_version = path
            .strip_prefix("/apis/")
            .map(|rest| rest.splitn(3, '/').take(2).collect::<Vec<_>>().join("/"))
            .unwrap_or_default();
        let Some(plurals) = self.served.get(&group_version) else {
            let body = b"404 page not found\n".to_vec();
            return (StatusCode::NOT_FOUND, "text/plain; charset=utf-8", body);
        };
        if let Some(object) = self.objects.get(path) {
            return json(StatusCode::OK, object.clone());
        }
        if path == format!("/apis/{group_version}") {
            let resources: Vec<Value> = plurals
                .iter()
                .map(|p| json!({"name": p, "singularName": "", "namespaced": true, "kind": "X", "verbs": ["get"]}))
                .collect();
            return json(
                StatusCode::OK,
                json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
            );
        }
        json(StatusCode::NOT_FOUND, status(404, "NotFound", "not found"))
    }

    fn client(self) -> (Client, Arc<Mutex<Vec<String>>>) {
        let calls = self.calls.clone();
        let server = Arc::new(self);
        let service = tower::service_fn(move |request: Request<Body>| {
            let server = server.clone();
            async move {
                let path = request.uri().path().to_owned();
                server
                    .calls
                    .lock()
                    .unwrap()
                    .push(format!("{} {path}", request.method()));
                let (code, content_type, body) = server.answer(&path);
                let response = Response::builder()
                    .status(code)
                    .header("content-type", content_type)
                    .body(Body::from(body))
                    .unwrap();
                Ok::<_, Infallible>(response)
            }
        });
        (Client::new(service, "default"), calls)
    }
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn calls(log: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    log.lock().unwrap().clone()
}

#[tokio::test]
async fn the_helm_chain_costs_one_get_per_object_and_matches_the_pure_walk() {
    let fixture = load("flux-helm");
    let (client, log) = ApiServer::from(&fixture).client();
    let live = locate_live(&client, &fixture.workload, &fixture.settings)
        .await
        .unwrap();
    assert_eq!(live, run(&fixture).unwrap());
    assert_eq!(
        calls(&log),
        [
            "GET /apis/helm.toolkit.fluxcd.io/v2/namespaces/podinfo/helmreleases/podinfo",
            "GET /apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps",
            "GET /apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/fleet",
        ]
    );
}

#[tokio::test]
async fn every_fixture_gives_the_same_answer_live() {
    for name in [
        "argocd-basic",
        "argocd-any-namespace",
        "argocd-two-instances",
        "flux-basic",
        "flux-shadows",
        "flux-oci-source",
        "flux-helm-applied-by-argocd",
        "both-tools-ambiguous",
    ] {
        let fixture = load(name);
        let (client, _) = ApiServer::from(&fixture).client();
        let live = locate_live(&client, &fixture.workload, &fixture.settings).await;
        match (live, run(&fixture)) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{name}"),
            (Err(FetchError::Locate(a)), Err(b)) => assert_eq!(a, b, "{name}"),
            (a, b) => panic!("{name}: live {a:?} vs pure {b:?}"),
        }
    }
}

#[tokio::test]
async fn a_missing_crd_reads_as_not_installed() {
    let fixture = load("argocd-basic");
    let (client, log) = ApiServer::from(&fixture)
        .without_group("argoproj.io/v1alpha1")
        .client();
    let err = locate_live(&client, &fixture.workload, &fixture.settings)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::NotInstalled { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "argo cd is not installed: the cluster does not serve applications.argoproj.io/v1alpha1"
    );
    assert_eq!(
        calls(&log),
        [
            "GET /apis/argoproj.io/v1alpha1/namespaces/argocd/applications/shop",
            "GET /apis/argoproj.io/v1alpha1",
        ]
    );
}

#[tokio::test]
async fn a_missing_owner_with_its_crd_installed_is_owner_not_found() {
    let fixture = load("argocd-missing-application");
    let (client, log) = ApiServer::from(&fixture).client();
    let err = locate_live(&client, &fixture.workload, &fixture.settings)
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Locate(LocateError::OwnerNotFound { .. })),
        "{err:?}"
    );
    assert_eq!(calls(&log).len(), 2, "one get, one discovery");
}

#[tokio::test]
async fn a_bare_app_name_is_searched_in_every_argocd_namespace_with_one_discovery() {
    let fixture = load("argocd-two-instances");
    let (client, log) = ApiServer::from(&fixture).client();
    let source = locate_live(&client, &fixture.workload, &fixture.settings)
        .await
        .unwrap();
    assert_eq!(source.owner.namespace, "gitops");
    assert_eq!(
        calls(&log),
        [
            "GET /apis/argoproj.io/v1alpha1/namespaces/argocd/applications/shop",
            "GET /apis/argoproj.io/v1alpha1",
            "GET /apis/argoproj.io/v1alpha1/namespaces/gitops/applications/shop",
        ]
    );
}

#[tokio::test]
async fn a_flux_version_the_cluster_does_not_serve_is_named() {
    let fixture = load("flux-helm");
    let (client, _) = ApiServer::from(&fixture)
        .without_group("helm.toolkit.fluxcd.io/v2")
        .client();
    let err = locate_live(&client, &fixture.workload, &fixture.settings)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "flux helm-controller is not installed: the cluster does not serve helmreleases.helm.toolkit.fluxcd.io/v2"
    );
}

#[tokio::test]
async fn rbac_refusals_name_the_object_and_keep_the_cause() {
    let fixture = load("flux-basic");
    let mut server = ApiServer::from(&fixture);
    server.forbidden.insert(object_path(
        ObjectKind::GitRepository,
        "flux-system",
        "fleet",
    ));
    let (client, _) = server.client();
    let err = locate_live(&client, &fixture.workload, &fixture.settings)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read flux gitrepository flux-system/fleet"
    );
    assert!(std::error::Error::source(&err).is_some());
}
