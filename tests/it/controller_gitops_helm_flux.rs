//! The controller's Helm tracing for a Flux HelmRelease, end to end: on the real apiserver a
//! GitRepository (the Gitea repository), a Kustomization applying clusters/production (its
//! inventory lists the HelmRelease) and the HelmRelease there, whose chart is the path
//! charts/api of that GitRepository with the chart's values and the production file as
//! `valuesFiles`. The workload carries the labels and annotations helm-controller and Helm put
//! on what they install. The controller reads the chart from the commit, runs the real `helm`,
//! edits the last values file and opens the pull request on Gitea; the live `spec.values` win
//! over the files, so a key they set is a named problem. A HelmRelease whose values attune
//! cannot see (`valuesFrom`), whose render is patched afterwards (`postRenderers`) or whose
//! chart is not in the repository is a named problem with nothing edited. Set-up shared with the Argo CD case (tests/it/controller_gitops_helm.rs).
//! `tests/run -- controller_gitops_helm`.

use std::collections::BTreeMap;

use crate::controller_gitops_cluster::create;
use crate::controller_gitops_helm::{CHART, PRODUCTION, Scene, helm_bin, helm_template};
use crate::support::cluster::{ensure_namespace, install_crds};
use crate::support::controller_lock::helm_releases_served;
use attune::controller::gitops;
use attune::locate::fetch::api_resource;
use attune::locate::{ObjectKind, Workload};
use kube::api::{Api, DynamicObject};
use serde_json::{Value, json};

const FLUX: &str = "flux-system";
const NS: &str = "production";
const HELM_RELEASE_FILE: &str = "clusters/production/api.yaml";

/// The HelmRelease `production/<name>` as kept in the repository: the chart at charts/api of
/// the GitRepository `flux-system/<name>`, the chart's values then the production file.
fn helm_release(name: &str) -> Value {
    json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"interval": "10m", "chart": {"spec": {
            "chart": format!("./{CHART}"),
            "sourceRef": {"kind": "GitRepository", "name": name, "namespace": FLUX},
            "valuesFiles": [format!("{CHART}/values.yaml"), PRODUCTION]
        }}}
    })
}

/// The repository's copy of `hr`: the file the Kustomization applies.
fn release_file(hr: &Value) -> (&'static str, String) {
    (HELM_RELEASE_FILE, serde_saphyr::to_string(hr).unwrap())
}

/// Creates `object` (with its status: the test CRDs have no status subresource).
async fn create_flux(scene: &Scene, kind: ObjectKind, namespace: &str, object: Value) {
    let api: Api<DynamicObject> =
        Api::namespaced_with(scene.client.clone(), namespace, &api_resource(kind));
    create(&api, serde_json::from_value(object).unwrap()).await;
}

/// The live Flux objects: the GitRepository of the scene's repository, the Kustomization
/// applying clusters/production, and `hr` as helm-controller left it after installing release
/// `<name>` into production.
async fn flux_objects(scene: &Scene, mut hr: Value) {
    let name = scene.repo.as_str();
    install_crds(&scene.client).await;
    ensure_namespace(&scene.client, FLUX).await;
    let repository = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": name, "namespace": FLUX},
        "spec": {"interval": "1m", "url": scene.clone_url(), "ref": {"branch": "main"}}
    });
    create_flux(scene, ObjectKind::GitRepository, FLUX, repository).await;
    let kustomization = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": name, "namespace": FLUX},
        "spec": {"interval": "10m", "prune": true, "path": "./clusters/production",
                 "sourceRef": {"kind": "GitRepository", "name": name}},
        "status": {
            "lastAppliedRevision": "main@sha1:0123456789abcdef0123456789abcdef01234567",
            "inventory": {"entries": [
                {"id": format!("{NS}_{name}_helm.toolkit.fluxcd.io_HelmRelease"), "v": "v2"}
            ]}
        }
    });
    create_flux(scene, ObjectKind::Kustomization, FLUX, kustomization).await;
    hr["metadata"]["labels"] = json!({
        "kustomize.toolkit.fluxcd.io/name": name, "kustomize.toolkit.fluxcd.io/namespace": FLUX
    });
    hr["status"] = json!({"history": [{"name": name, "namespace": NS, "version": 1,
        "status": "deployed", "chartName": "api", "chartVersion": "1.0.0"}]});
    create_flux(scene, ObjectKind::HelmRelease, NS, hr).await;
}

/// Deployment production/api as Helm installed it for helm-controller's release `<name>`.
fn identity(name: &str) -> Workload {
    let pairs = |list: &[(&str, &str)]| -> BTreeMap<String, String> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    Workload {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        namespace: NS.into(),
        name: "api".into(),
        labels: pairs(&[
            ("app.kubernetes.io/managed-by", "Helm"),
            ("app.kubernetes.io/instance", name),
            ("helm.toolkit.fluxcd.io/name", name),
            ("helm.toolkit.fluxcd.io/namespace", NS),
        ]),
        annotations: pairs(&[
            ("meta.helm.sh/release-name", name),
            ("meta.helm.sh/release-namespace", NS),
        ]),
    }
}

/// A scene whose HelmRelease is `helm_release(name)` changed by `shape`, in the repository and
/// live; the step's report.
async fn run(name: &str, shape: impl Fn(&mut Value)) -> (gitops::Report, Scene) {
    let _served = helm_releases_served().await;
    let repo = format!("{name}-{}", std::process::id());
    let mut hr = helm_release(&repo);
    shape(&mut hr);
    let scene = Scene::new(name, &[release_file(&hr)]).await;
    assert_eq!(scene.repo, repo);
    flux_objects(&scene, hr).await;
    let report = scene.reconcile(identity(&scene.repo), helm_bin()).await;
    (report, scene)
}

fn message(report: &gitops::Report) -> String {
    report.condition.message.clone().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_release_gets_its_last_values_file_edited_and_its_inline_key_named() {
    let (report, scene) = run("helm-flux", |hr| {
        hr["spec"]["values"] = json!({"app": {"resources": {"requests": {"cpu": "750m"}}}});
    })
    .await;
    let message = message(&report);
    assert_eq!(
        report.condition.reason.as_deref(),
        Some("PullRequestOpen"),
        "{message}"
    );
    let owner = format!("flux helmrelease {NS}/{}", scene.repo);
    assert!(
        message.contains(&format!(
            "the Helm values key app.resources.requests.cpu is set by spec.values of the live {owner}"
        )) && message.contains("which attune does not edit"),
        "{message}"
    );
    // The last of valuesFiles alone is edited (not the chart's values, not the HelmRelease's
    // file), and the key spec.values sets keeps its file value.
    let keys = [
        "app.resources.requests.memory",
        "logShipper.resources.requests.cpu",
        "logShipper.resources.requests.memory",
    ];
    let (edited, body) = scene
        .production_pull("      cpu: 500m # sized in 2025", &keys)
        .await;
    assert!(!body.contains("`app.resources.requests.cpu`"), "{body}");
    assert!(
        body.contains(&format!("`{PRODUCTION}`: the Helm values key"))
            && body.contains("app.resources.requests.cpu is set by spec.values of the live"),
        "the edited file and the key left alone, each named: {body}"
    );
    let rendered = helm_template(&edited);
    assert!(
        rendered.contains("memory: 320Mi") && rendered.contains("cpu: 50m"),
        "{rendered}"
    );
}

/// Nothing is proposed, and the workload's problem is the HelmRelease's `reason` (after its
/// name), not the generic "no manifest renders".
async fn refused(name: &str, shape: impl Fn(&mut Value), reason: &str) {
    let (report, scene) = run(name, shape).await;
    let message = message(&report);
    assert_ne!(
        report.condition.reason.as_deref(),
        Some("PullRequestFailed"),
        "{message}"
    );
    let expected = format!(
        "Deployment/api: flux helmrelease {NS}/{} {reason}",
        scene.repo
    );
    assert!(message.contains(&expected), "{expected} in {message}");
    assert!(!message.contains("no manifest renders"), "{message}");
    assert!(scene.no_pulls().await, "no pull request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_release_with_values_from_is_a_named_problem_and_nothing_is_edited() {
    refused(
        "helm-flux-from",
        |hr| {
            hr["spec"]["valuesFrom"] =
                json!([{"kind": "ConfigMap", "name": "api-values", "valuesKey": "values.yaml"}]);
        },
        "merges values from ConfigMap/api-values (spec.valuesFrom) over its values files, and \
         attune does not read those objects",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_from_a_helm_repository_is_a_named_problem_and_nothing_is_edited() {
    refused(
        "helm-flux-repo",
        |hr| {
            hr["spec"]["chart"]["spec"] = json!({"chart": "api", "version": "1.x",
                "sourceRef": {"kind": "HelmRepository", "name": "charts", "namespace": FLUX}});
        },
        "renders chart api from HelmRepository flux-system/charts, not from a directory of a \
         GitRepository",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_release_with_post_renderers_is_a_named_problem_and_nothing_is_edited() {
    refused(
        "helm-flux-post",
        |hr| {
            hr["spec"]["postRenderers"] = json!([{"kustomize": {"patches": [{
                "target": {"kind": "Deployment", "name": "api"},
                "patch": "- op: add\n  path: /metadata/labels/team\n  value: a\n"}]}}]);
        },
        "patches what the chart renders with 1 post-renderer(s) (spec.postRenderers)",
    )
    .await;
}
