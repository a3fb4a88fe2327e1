//! The controller's GitOps step for a workload rendered by a chart kept in the repository, with
//! no `$attune` marker: the Argo CD Application (live, on the real apiserver) points
//! `source.path` at the chart and `helm.valueFiles` at an environment's values file; the
//! controller reads the chart from the commit, runs the real `helm template` (tests/tools/helm.sh,
//! `ATTUNE_HELM`) to find the values key behind each container field, edits the last values file
//! and opens the pull request on a real Gitea. Inline values in the live Application
//! (`helm.valuesObject`) win over every file, so a key they set is a named problem, never an
//! edit that would not take effect; so is a key its `helm.parameters` set (Argo CD's `--set`
//! and `--set-string`, applied after every values file). The set-up ([`Scene`]) and the edit's checks serve the
//! Flux HelmRelease case too (controller_gitops_helm_flux.rs). `tests/run -- controller_gitops_helm`.

use std::path::{Path, PathBuf};

use crate::controller_gitops_cluster::{
    cluster, context_with, create, host_path, policy, secret, workload,
};
use crate::support::git_http::files_of;
use crate::support::gitea_repo::Gitea;
use attune::controller::gitops;
use attune::controller::{Config, Context, LiveWorkload};
use attune::locate::Workload;
use kube::Client;
use kube::api::{Api, DynamicObject};
use serde_json::{Value, json};

pub(crate) const CHART: &str = "charts/api";
pub(crate) const PRODUCTION: &str = "envs/production/values-production.yaml";

/// Every file of fixtures/helm-controller/repo, by path from its root.
fn seed() -> Vec<(String, String)> {
    files_of(Path::new("fixtures/helm-controller/repo"))
}

/// The Application `argocd/<app>`: the chart at charts/api with the production values file and
/// the `helm` fields of `extra` (`valuesObject`, `parameters`); its status lists
/// `production/api`.
async fn application(client: &Client, app: &str, repo_url: &str, extra: Value) {
    let ar = attune::locate::fetch::api_resource(attune::locate::ObjectKind::Application);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "argocd", &ar);
    let mut helm = json!({"valueFiles": ["../../envs/production/values-production.yaml"]});
    for (field, value) in extra.as_object().into_iter().flatten() {
        helm[field] = value.clone();
    }
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": app, "namespace": "argocd"},
        "spec": {"project": "default",
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": "production"},
                 "source": {"repoURL": repo_url, "targetRevision": "main", "path": CHART, "helm": helm}},
        "status": {
            "sync": {"status": "Synced", "revision": "0123456789abcdef0123456789abcdef01234567"},
            "sourceType": "Helm",
            "resources": [{"group": "apps", "version": "v1", "kind": "Deployment",
                           "namespace": "production", "name": "api", "status": "Synced"}]
        }
    }))
    .unwrap();
    create(&api, object).await;
}

pub(crate) fn helm_bin() -> PathBuf {
    PathBuf::from(std::env::var("ATTUNE_HELM").expect("ATTUNE_HELM: run through tests/run"))
}

fn context(client: Client, gitea: &Gitea, cache: &Path, helm: PathBuf) -> Context {
    let config = Config {
        allowed_repositories: vec![format!("http://{}/*", host_path(gitea))],
        cache_dir: cache.to_path_buf(),
        helm,
        ..Config::default()
    };
    context_with(client, config)
}

/// A fresh Gitea repository holding the fixture (and `extra` files) and the token Secret of the
/// policy's namespace: what every test of a chart in the repository starts from.
pub(crate) struct Scene {
    pub gitea: Gitea,
    pub client: Client,
    /// The repository's name, which also names the test's owners and policy.
    pub repo: String,
}

impl Scene {
    pub(crate) async fn new(name: &str, extra: &[(&str, String)]) -> Scene {
        let gitea = Gitea::from_env();
        let client = cluster().await;
        let repo = format!("{name}-{}", std::process::id());
        let files = seed();
        let mut files: Vec<(&str, String)> =
            files.iter().map(|(p, t)| (p.as_str(), t.clone())).collect();
        files.extend(extra.iter().cloned());
        gitea.create_repo(&repo, &files).await;
        secret(&client, "production", &gitea.token).await;
        Scene {
            gitea,
            client,
            repo,
        }
    }

    pub(crate) fn clone_url(&self) -> String {
        self.gitea.clone_url(&self.repo)
    }

    /// The step for a policy named after the repository, recommending for `production/api`
    /// as `identity` shows it (its labels and annotations lead the walk to its owner).
    pub(crate) async fn reconcile(&self, identity: Workload, helm: PathBuf) -> gitops::Report {
        let cache = tempfile::tempdir().unwrap();
        let ctx = context(self.client.clone(), &self.gitea, cache.path(), helm);
        let p = policy(&self.repo, &self.gitea);
        let live = LiveWorkload {
            identity,
            ..workload(&self.repo, &p)
        };
        gitops::reconcile(&ctx, &p, &[live]).await
    }

    /// The one pull request's branch, after asserting that there is exactly one.
    pub(crate) async fn only_pull(&self) -> Value {
        let pulls = self.gitea.pulls(&self.repo).await;
        assert_eq!(pulls.len(), 1, "{pulls:?}");
        pulls[0].clone()
    }

    pub(crate) async fn no_pulls(&self) -> bool {
        self.gitea.pulls(&self.repo).await.is_empty()
    }

    /// The files the pull request changes, from its diff's `+++` lines.
    pub(crate) async fn changed_files(&self, pull: &Value) -> Vec<String> {
        let diff = self
            .gitea
            .diff(&self.repo, pull["number"].as_u64().unwrap())
            .await;
        diff.lines()
            .filter_map(|l| l.strip_prefix("+++ b/"))
            .map(str::to_owned)
            .collect()
    }

    /// The one pull request, which edits the production values file alone (never the chart's
    /// defaults, nor the owner's file) as [`assert_production_edit`] says and names each of
    /// `keys` in its body: the edited file's text and the body.
    pub(crate) async fn production_pull(&self, cpu_line: &str, keys: &[&str]) -> (String, String) {
        let pull = self.only_pull().await;
        assert_eq!(
            self.changed_files(&pull).await,
            [PRODUCTION],
            "only the last values file is edited"
        );
        let edited = self.file_of(&pull, PRODUCTION).await;
        assert_production_edit(&edited, cpu_line);
        let body = pull["body"].as_str().unwrap().to_owned();
        for key in keys {
            assert!(body.contains(&format!("`{key}`")), "{key} in {body}");
        }
        (edited, body)
    }

    /// `path` on the pull request's branch.
    pub(crate) async fn file_of(&self, pull: &Value, path: &str) -> String {
        gitea_file(&self.gitea, &self.repo, &pull["head"]["ref"], path).await
    }
}

/// A fresh repository, Application (with `extra` helm fields) and policy named after `name`;
/// the step's report.
async fn run(name: &str, extra: Value, helm: PathBuf) -> (gitops::Report, Scene) {
    let scene = Scene::new(name, &[]).await;
    application(&scene.client, &scene.repo, &scene.clone_url(), extra).await;
    let p = policy(&scene.repo, &scene.gitea);
    let identity = workload(&scene.repo, &p).identity;
    let report = scene.reconcile(identity, helm).await;
    (report, scene)
}

/// The production values file after the edit: `cpu_line` for app's CPU request (edited in
/// place, its comment kept, or left alone), app's memory request edited, log-shipper's
/// requests (no key in that file) inserted, and nothing else changed.
pub(crate) fn assert_production_edit(edited: &str, cpu_line: &str) {
    assert!(edited.contains(cpu_line), "{cpu_line} in {edited}");
    assert!(edited.contains("      memory: 320Mi"), "{edited}");
    let values: Value = serde_saphyr::from_str(edited).unwrap();
    assert_eq!(
        values["logShipper"]["resources"]["requests"],
        json!({"cpu": "50m", "memory": "64Mi"}),
        "{edited}"
    );
    assert_eq!(values["app"]["image"], "ghcr.io/example/api:1.4.2");
    assert_eq!(values["app"]["resources"]["limits"]["memory"], "1Gi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_without_markers_gets_its_values_file_edited() {
    let (report, scene) = run("helm-ctl", json!({}), helm_bin()).await;
    assert_eq!(
        report.condition.reason.as_deref(),
        Some("PullRequestOpen"),
        "{:?}",
        report.condition
    );
    let keys = [
        "app.resources.requests.cpu",
        "app.resources.requests.memory",
        "logShipper.resources.requests.cpu",
    ];
    let (edited, body) = scene
        .production_pull("      cpu: 250m # sized in 2025", &keys)
        .await;
    assert!(body.contains(PRODUCTION), "{body}");
    // The rendered release after the edit: what Argo CD will apply.
    let rendered = helm_template(&edited);
    assert!(
        rendered.contains("cpu: 250m") && rendered.contains("cpu: 50m"),
        "{rendered}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_set_inline_in_the_application_is_a_named_problem_and_the_rest_is_proposed() {
    let inline = json!({"valuesObject": {"app": {"resources": {"requests": {"cpu": "750m"}}}}});
    let (report, scene) = run("helm-ctl-inline", inline, helm_bin()).await;
    let message = report.condition.message.clone().unwrap_or_default();
    assert!(
        message.contains(
            "the Helm values key app.resources.requests.cpu is set by spec.source.helm.valuesObject of the live argo cd application"
        ) && message.contains("which attune does not edit"),
        "{message}"
    );
    // The other keys are the files' own: they are still proposed, the inline one is not.
    // The inline key's file value is left alone.
    let (_, body) = scene
        .production_pull("      cpu: 500m # sized in 2025", &[])
        .await;
    assert!(!body.contains("`app.resources.requests.cpu`"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_a_helm_parameter_sets_is_a_named_problem_and_the_rest_is_proposed() {
    // As Argo CD: --set-string for forceString, after the values files; the image parameter
    // feeds no traced field and changes nothing here.
    let parameters = json!({"parameters": [
        {"name": "app.resources.requests.cpu", "value": "750m", "forceString": true},
        {"name": "app.image", "value": "ghcr.io/example/api:1.5.0"}
    ]});
    let (report, scene) = run("helm-ctl-params", parameters, helm_bin()).await;
    let message = report.condition.message.clone().unwrap_or_default();
    assert!(
        message.contains(&format!(
            "the Helm values key app.resources.requests.cpu is set by helm parameter \
             app.resources.requests.cpu in spec.source.helm.parameters of the live argo cd \
             application argocd/{}, which attune does not edit",
            scene.repo
        )),
        "{message}"
    );
    assert!(
        !message.contains("750m"),
        "values are never shown: {message}"
    );
    let (_, body) = scene
        .production_pull("      cpu: 500m # sized in 2025", &[])
        .await;
    assert!(!body.contains("`app.resources.requests.cpu`"), "{body}");
    assert!(body.contains("`app.resources.requests.memory`"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_helm_is_a_problem_of_the_workload_not_a_failure() {
    let missing = PathBuf::from("/nonexistent/attune-test/helm");
    let (report, scene) = run("helm-ctl-missing", json!({}), missing).await;
    assert_ne!(
        report.condition.reason.as_deref(),
        Some("PullRequestFailed"),
        "{:?}",
        report.condition
    );
    let message = report.condition.message.clone().unwrap_or_default();
    assert!(
        message.contains("Deployment/api: helm template of charts/api")
            && message.contains("helm was not found at /nonexistent/attune-test/helm"),
        "{message}"
    );
    assert!(scene.no_pulls().await, "no pull request");
}

/// `path` on `branch` of `repo`, through Gitea's raw endpoint.
async fn gitea_file(gitea: &Gitea, repo: &str, branch: &Value, path: &str) -> String {
    let branch = branch.as_str().unwrap();
    let (status, text) = gitea
        .api_text(
            reqwest::Method::GET,
            &format!("/repos/{}/{repo}/raw/{path}?ref={branch}", gitea.user),
            None,
        )
        .await;
    assert_eq!(status, 200, "{text}");
    text
}

/// The fixture chart rendered by the real helm with `production` as the last values file.
pub(crate) fn helm_template(production: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("values-production.yaml");
    std::fs::write(&values, production).unwrap();
    let chart = format!("fixtures/helm-controller/repo/{CHART}");
    let out = crate::support::helm::run(
        &["template", "api", &chart, "-f", values.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}
