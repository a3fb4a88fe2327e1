//! The controller's GitOps step for a workload rendered by a chart kept in the repository, with
//! no `$attune` marker: the Argo CD Application (live, on the real apiserver) points
//! `source.path` at the chart and `helm.valueFiles` at an environment's values file; the
//! controller reads the chart from the commit, runs the real `helm template` (tests/tools/helm.sh,
//! `ATTUNE_HELM`) to find the values key behind each container field, edits the last values file
//! and opens the pull request on a real Gitea. Inline values in the live Application
//! (`helm.valuesObject`) win over every file, so a key they set is a named problem, never an
//! edit that would not take effect. `tests/run -- controller_gitops_helm::`.

use std::path::{Path, PathBuf};

use crate::controller_gitops_cluster::{
    cluster, context_with, create, host_path, policy, secret, workload,
};
use crate::support::git_http::files_of;
use crate::support::gitea_repo::Gitea;
use attune::controller::gitops;
use attune::controller::{Config, Context};
use kube::Client;
use kube::api::{Api, DynamicObject};
use serde_json::{Value, json};

const CHART: &str = "charts/api";
const PRODUCTION: &str = "envs/production/values-production.yaml";

/// Every file of fixtures/helm-controller/repo, by path from its root.
fn seed() -> Vec<(String, String)> {
    files_of(Path::new("fixtures/helm-controller/repo"))
}

/// The Application `argocd/<app>`: the chart at charts/api with the production values file,
/// `inline` as `helm.valuesObject` when given; its status lists `production/api`.
async fn application(client: &Client, app: &str, repo_url: &str, inline: Option<Value>) {
    let ar = attune::locate::fetch::api_resource(attune::locate::ObjectKind::Application);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "argocd", &ar);
    let mut helm = json!({"valueFiles": ["../../envs/production/values-production.yaml"]});
    if let Some(inline) = inline {
        helm["valuesObject"] = inline;
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

fn helm_bin() -> PathBuf {
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

/// A fresh repository, Application and policy named after `name`; the step's report.
async fn run(name: &str, inline: Option<Value>, helm: PathBuf) -> (gitops::Report, Gitea, String) {
    let gitea = Gitea::from_env();
    let client = cluster().await;
    let suffix = std::process::id();
    let repo = format!("{name}-{suffix}");
    let app = format!("{name}-{suffix}");
    let files = seed();
    let files: Vec<(&str, String)> = files.iter().map(|(p, t)| (p.as_str(), t.clone())).collect();
    gitea.create_repo(&repo, &files).await;
    application(&client, &app, &gitea.clone_url(&repo), inline).await;
    secret(&client, "production", &gitea.token).await;
    let cache = tempfile::tempdir().unwrap();
    let ctx = context(client, &gitea, cache.path(), helm);
    let p = policy(&app, &gitea);
    let report = gitops::reconcile(&ctx, &p, &[workload(&app, &p)]).await;
    (report, gitea, repo)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_without_markers_gets_its_values_file_edited() {
    let (report, gitea, repo) = run("helm-ctl", None, helm_bin()).await;
    assert_eq!(
        report.condition.reason.as_deref(),
        Some("PullRequestOpen"),
        "{:?}",
        report.condition
    );
    let pulls = gitea.pulls(&repo).await;
    assert_eq!(pulls.len(), 1);
    let number = pulls[0]["number"].as_u64().unwrap();
    let diff = gitea.diff(&repo, number).await;
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with("+++ ") || l.starts_with("--- "))
        .collect();
    assert_eq!(
        changed,
        [
            format!("--- a/{PRODUCTION}").as_str(),
            format!("+++ b/{PRODUCTION}").as_str()
        ],
        "only the last values file is edited, never the chart's defaults:\n{diff}"
    );
    let edited = gitea_file(&gitea, &repo, &pulls[0]["head"]["ref"], PRODUCTION).await;
    assert!(
        edited.contains("      cpu: 250m # sized in 2025"),
        "{edited}"
    );
    assert!(edited.contains("      memory: 320Mi"), "{edited}");
    // log-shipper has no key in the production file: it is inserted there.
    let values: Value = serde_saphyr::from_str(&edited).unwrap();
    assert_eq!(
        values["logShipper"]["resources"]["requests"],
        json!({"cpu": "50m", "memory": "64Mi"}),
        "{edited}"
    );
    assert_eq!(values["app"]["image"], "ghcr.io/example/api:1.4.2");
    let body = pulls[0]["body"].as_str().unwrap();
    for key in [
        "app.resources.requests.cpu",
        "app.resources.requests.memory",
        "logShipper.resources.requests.cpu",
    ] {
        assert!(body.contains(&format!("`{key}`")), "{key} in {body}");
    }
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
    let inline = json!({"app": {"resources": {"requests": {"cpu": "750m"}}}});
    let (report, gitea, repo) = run("helm-ctl-inline", Some(inline), helm_bin()).await;
    let message = report.condition.message.clone().unwrap_or_default();
    assert!(
        message.contains(
            "the Helm values key app.resources.requests.cpu is set by spec.source.helm.valuesObject of the live argo cd application"
        ) && message.contains("which attune does not edit"),
        "{message}"
    );
    // The other keys are the files' own: they are still proposed, the inline one is not.
    let pulls = gitea.pulls(&repo).await;
    assert_eq!(
        pulls.len(),
        1,
        "one pull request for the keys the files decide"
    );
    let edited = gitea_file(&gitea, &repo, &pulls[0]["head"]["ref"], PRODUCTION).await;
    assert!(
        edited.contains("      cpu: 500m # sized in 2025"),
        "the inline key's file value is left alone: {edited}"
    );
    assert!(edited.contains("      memory: 320Mi"), "{edited}");
    let body = pulls[0]["body"].as_str().unwrap();
    assert!(!body.contains("`app.resources.requests.cpu`"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_helm_is_a_problem_of_the_workload_not_a_failure() {
    let missing = PathBuf::from("/nonexistent/attune-test/helm");
    let (report, gitea, repo) = run("helm-ctl-missing", None, missing).await;
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
    assert!(gitea.pulls(&repo).await.is_empty(), "no pull request");
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
fn helm_template(production: &str) -> String {
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
