//! The GitOps step through its real entry, `gitops::reconcile(ctx, …)`: the live walk from a
//! workload's Argo CD tracking id to its Application on a real apiserver (whose
//! `status.resources` must list the workload, as Argo CD's does), the token Secret read
//! from the policy's namespace (a decoy with a wrong token sits in the client's default namespace), and a real
//! Gitea as forge and git server. `tests/run` starts both (`tests/run --
//! controller_gitops_cluster::`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::support::git_http::{copy_tree, git};
use crate::support::gitea_repo::Gitea;
use attune::controller::cache::Caches;
use attune::controller::gitops;
use attune::controller::{Config, Context, LiveWorkload};
use attune::crd::{AttunePolicy, load_policies};
use attune::locate::Workload;
use attune::metrics::Metrics;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::json;

impl Gitea {
    /// A fresh repository seeded with the demo manifests; returns its clone URL.
    async fn repo(&self, name: &str) -> String {
        let (status, created) = self
            .api(
                reqwest::Method::POST,
                "/user/repos",
                Some(json!({"name": name, "default_branch": "main"})),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let seed = tempfile::tempdir().unwrap();
        git(seed.path(), &["init", "-q", "-b", "main"]);
        copy_tree(Path::new("fixtures/demo/repo"), seed.path());
        git(seed.path(), &["add", "-A"]);
        git(seed.path(), &["commit", "-q", "-m", "manifests"]);
        let mut auth = url::Url::parse(&format!("{}/{}/{name}.git", self.url, self.user)).unwrap();
        auth.set_username(&self.user).unwrap();
        auth.set_password(Some(&self.token)).unwrap();
        git(seed.path(), &["push", "-q", auth.as_str(), "main"]);
        // Gitea indexes a push asynchronously; until then its pull-request endpoints answer 404.
        for _ in 0..100 {
            let path = format!("/repos/{}/{name}", self.user);
            if self.api(reqwest::Method::GET, &path, None).await.1["empty"] == false {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        format!("{}/{}/{name}.git", self.url, self.user)
    }
}

pub(crate) async fn create<K>(api: &Api<K>, object: K)
where
    K: Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    match api.create(&PostParams::default(), &object).await {
        Err(kube::Error::Api(s)) if s.is_already_exists() => {}
        other => {
            other.unwrap();
        }
    }
}

pub(crate) async fn cluster() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::try_default().await.unwrap();
    let text = std::fs::read_to_string("tests/cluster/crds/argocd-application.yaml").unwrap();
    let crd: CustomResourceDefinition = serde_saphyr::from_str(&text).unwrap();
    create(&Api::all(client.clone()), crd).await;
    let mut tries = 0;
    while client
        .list_api_group_resources("argoproj.io/v1alpha1")
        .await
        .is_err()
    {
        tries += 1;
        assert!(tries < 100, "the Application CRD is never served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for ns in ["argocd", "production"] {
        let namespace: Namespace =
            serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        create(&Api::all(client.clone()), namespace).await;
    }
    client
}

/// The Application `argocd/<app>` deploying overlays/production of `repo_url`; its
/// `status.resources` (the test CRD has no status subresource, so the status is created with
/// the object) lists the Deployment `production/<deployment>` and its Service.
async fn application(client: &Client, app: &str, repo_url: &str, deployment: &str) {
    let ar = attune::locate::fetch::api_resource(attune::locate::ObjectKind::Application);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "argocd", &ar);
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": app, "namespace": "argocd"},
        "spec": {"project": "default",
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": "production"},
                 "source": {"repoURL": repo_url, "targetRevision": "main", "path": "overlays/production"}},
        "status": {
            "sync": {"status": "Synced", "revision": "0123456789abcdef0123456789abcdef01234567"},
            "resources": [
                {"version": "v1", "kind": "Service", "namespace": "production", "name": deployment},
                {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "production",
                 "name": deployment, "status": "Synced"}
            ]
        }
    }))
    .unwrap();
    create(&api, object).await;
}

/// The token Secret, applied: the tests of this file run at once and share these namespaces
/// (and the token), so a delete-then-create of one would race another's.
pub(crate) async fn secret(client: &Client, ns: &str, token: &str) {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let s = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "forge-token", "namespace": ns},
        "stringData": {"token": token}
    });
    api.patch(
        "forge-token",
        &PatchParams::apply("attune-tests").force(),
        &Patch::Apply(&s),
    )
    .await
    .unwrap();
}

pub(crate) fn policy(name: &str, gitea: &Gitea) -> AttunePolicy {
    let text = std::fs::read_to_string("fixtures/demo/policies.yaml").unwrap();
    let mut p = load_policies(&text).unwrap().remove(0);
    p.metadata.name = Some(name.into());
    p.metadata.uid = Some(format!("uid-{name}"));
    let export = json!({"enabled": true, "provider": "gitea", "apiUrl": gitea.url,
                        "tokenSecretRef": {"name": "forge-token", "key": "token"}});
    p.spec.update_strategy.as_mut().unwrap().export =
        Some(serde_json::from_value(json!({"pullRequest": export})).unwrap());
    p
}

pub(crate) fn workload(app: &str, p: &AttunePolicy) -> LiveWorkload {
    let identity = Workload {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        namespace: "production".into(),
        name: "api".into(),
        labels: BTreeMap::new(),
        annotations: BTreeMap::from([(
            "argocd.argoproj.io/tracking-id".to_owned(),
            format!("{app}:apps/Deployment:production/api"),
        )]),
    };
    LiveWorkload {
        identity,
        object: json!({}),
        pods: vec![],
        recommendation: Some(p.status.as_ref().unwrap().recommendations[0].clone()),
    }
}

fn context(client: Client, allowed: Vec<String>, cache: &Path) -> Context {
    let config = Config {
        allowed_repositories: allowed,
        cache_dir: cache.to_path_buf(),
        ..Config::default()
    };
    context_with(client, config)
}

pub(crate) fn context_with(client: Client, config: Config) -> Context {
    Context::new(
        client,
        config,
        Arc::new(Metrics::new()),
        35,
        Caches::empty(),
    )
}

pub(crate) fn host_path(gitea: &Gitea) -> String {
    let url = url::Url::parse(&gitea.url).unwrap();
    format!(
        "{}:{}/{}",
        url.host_str().unwrap(),
        url.port().unwrap(),
        gitea.user
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_walk_opens_one_pr_with_the_policy_namespace_token() {
    let gitea = Gitea::from_env();
    let client = cluster().await;
    let suffix = std::process::id();
    let repo = format!("gitops-ctl-{suffix}");
    let app = format!("api-{suffix}");
    let url = gitea.repo(&repo).await;
    application(&client, &app, &url, "api").await;
    secret(&client, "production", &gitea.token).await;
    // The client's default namespace: what a careless `Api::default_namespaced` would read.
    secret(&client, "default", "not-the-token").await;
    let cache = tempfile::tempdir().unwrap();
    let ctx = context(
        client,
        vec![format!("http://{}/*", host_path(&gitea))],
        cache.path(),
    );
    let p = policy(&format!("api-{suffix}"), &gitea);
    let workloads = [workload(&app, &p)];

    let first = gitops::reconcile(&ctx, &p, &workloads).await;
    assert_eq!(
        first.condition.reason.as_deref(),
        Some("PullRequestOpen"),
        "{:?}",
        first.condition
    );
    let notes: Vec<&str> = first.notes.iter().map(|n| n.reason.as_str()).collect();
    assert_eq!(notes, ["PullRequestOpened"]);
    let pulls = gitea.pulls(&repo).await;
    assert_eq!(pulls.len(), 1);
    assert_eq!(
        pulls[0]["head"]["ref"],
        format!("attune/production/api-{suffix}")
    );
    let row = &first.status.unwrap().pull_requests[0];
    assert_eq!(
        row.owner.as_deref(),
        Some(format!("argo cd application argocd/{app}").as_str())
    );
    assert_eq!(row.path.as_deref(), Some("overlays/production"));

    let again = gitops::reconcile(&ctx, &p, &workloads).await;
    assert_eq!(again.condition.reason.as_deref(), Some("PullRequestOpen"));
    assert!(again.notes.is_empty(), "{:?}", again.notes);
    assert_eq!(gitea.pulls(&repo).await.len(), 1);

    // A restarted controller finds the pull request instead of opening another.
    let restarted = context(
        ctx.client.clone(),
        ctx.config.allowed_repositories.clone(),
        cache.path(),
    );
    let after = gitops::reconcile(&restarted, &p, &workloads).await;
    assert_eq!(after.condition.reason.as_deref(), Some("PullRequestOpen"));
    assert_eq!(gitea.pulls(&repo).await.len(), 1);
    for n in first.notes.iter().chain(&after.notes) {
        assert!(!n.note.contains(&gitea.token));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_walk_to_a_repository_outside_the_allowlist_writes_nothing() {
    let gitea = Gitea::from_env();
    let client = cluster().await;
    let suffix = std::process::id();
    let repo = format!("gitops-ctl-refused-{suffix}");
    let app = format!("refused-{suffix}");
    let url = gitea.repo(&repo).await;
    application(&client, &app, &url, "api").await;
    let cache = tempfile::tempdir().unwrap();
    let ctx = context(client, vec!["git.example.com/team/*".into()], cache.path());
    let p = policy(&format!("refused-{suffix}"), &gitea);
    let r = gitops::reconcile(&ctx, &p, &[workload(&app, &p)]).await;
    assert_eq!(r.condition.reason.as_deref(), Some("PullRequestFailed"));
    let notes: Vec<&str> = r.notes.iter().map(|n| n.reason.as_str()).collect();
    assert_eq!(notes, ["RepositoryNotAllowed"]);
    assert!(gitea.pulls(&repo).await.is_empty());
}

/// A tracking id is an annotation whoever may edit the workload can write. One naming an
/// Application whose status does not list the workload is not followed: no branch, no pull
/// request, and the policy says `OwnerNotVerified` — while the same repository stays writable
/// for a workload the Application does list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_tracking_id_writes_nothing_and_says_owner_not_verified() {
    let gitea = Gitea::from_env();
    let client = cluster().await;
    let suffix = std::process::id();
    let repo = format!("gitops-ctl-forged-{suffix}");
    let app = format!("forged-{suffix}");
    let url = gitea.repo(&repo).await;
    // The Application deploys production/web, not production/api.
    application(&client, &app, &url, "web").await;
    secret(&client, "production", &gitea.token).await;
    let cache = tempfile::tempdir().unwrap();
    let ctx = context(
        client.clone(),
        vec![format!("http://{}/*", host_path(&gitea))],
        cache.path(),
    );
    let p = policy(&format!("forged-{suffix}"), &gitea);
    let forged = [workload(&app, &p)];

    let r = gitops::reconcile(&ctx, &p, &forged).await;
    assert_eq!(
        r.condition.reason.as_deref(),
        Some("OwnerNotVerified"),
        "{:?}",
        r.condition
    );
    let message = r.condition.message.clone().unwrap_or_default();
    assert!(
        message.contains(&format!(
            "Deployment production/api names argo cd application argocd/{app} as its owner, but \
             its status.resources does not list apps/Deployment production/api"
        )),
        "{message}"
    );
    let notes: Vec<&str> = r.notes.iter().map(|n| n.reason.as_str()).collect();
    assert_eq!(notes, ["OwnerNotVerified"]);
    assert!(r.status.unwrap().pull_requests.is_empty());
    assert!(gitea.pulls(&repo).await.is_empty(), "no pull request");
    let (_, branches) = gitea
        .api(
            reqwest::Method::GET,
            &format!("/repos/{}/{repo}/branches", gitea.user),
            None,
        )
        .await;
    let names: Vec<&str> = branches
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["main"], "no branch pushed");
    // Told once: the same refusal on the next reconcile publishes no second event.
    let again = gitops::reconcile(&ctx, &p, &forged).await;
    assert_eq!(again.condition.reason.as_deref(), Some("OwnerNotVerified"));
    assert!(again.notes.is_empty(), "{:?}", again.notes);

    // Once the Application lists production/api (Argo CD synced it), the same workload is its.
    let ar = attune::locate::fetch::api_resource(attune::locate::ObjectKind::Application);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "argocd", &ar);
    api.delete(&app, &Default::default()).await.unwrap();
    for _ in 0..100 {
        if api.get_opt(&app).await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    application(&client, &app, &url, "api").await;
    let genuine = gitops::reconcile(&ctx, &p, &forged).await;
    assert_eq!(
        genuine.condition.reason.as_deref(),
        Some("PullRequestOpen"),
        "{:?}",
        genuine.condition
    );
    assert_eq!(gitea.pulls(&repo).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_walk_sends_a_changed_api_url_nothing() {
    let gitea = Gitea::from_env();
    let client = cluster().await;
    let suffix = std::process::id();
    let repo = format!("gitops-ctl-gate-{suffix}");
    let app = format!("gate-{suffix}");
    let url = gitea.repo(&repo).await;
    application(&client, &app, &url, "api").await;
    secret(&client, "production", &gitea.token).await;
    let cache = tempfile::tempdir().unwrap();
    let config = Config {
        allowed_repositories: vec![format!("http://{}/*", host_path(&gitea))],
        cache_dir: cache.path().to_path_buf(),
        // Every reconcile reads the pull request state: the path that used to send the token.
        pr_poll_interval: Duration::ZERO,
        ..Config::default()
    };
    let ctx = Context::new(
        client,
        config,
        Arc::new(Metrics::new()),
        35,
        Caches::empty(),
    );
    let p = policy(&format!("gate-{suffix}"), &gitea);
    let workloads = [workload(&app, &p)];
    let first = gitops::reconcile(&ctx, &p, &workloads).await;
    assert_eq!(
        first.condition.reason.as_deref(),
        Some("PullRequestOpen"),
        "{:?}",
        first.condition
    );

    // The policy's apiUrl now names another server; the Secret's token must not go there.
    let listener = crate::support::tiny_http::Tiny::start(
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]".into(),
    );
    let mut changed = p.clone();
    let export = changed
        .spec
        .update_strategy
        .as_mut()
        .and_then(|s| s.export.as_mut())
        .and_then(|e| e.pull_request.as_mut())
        .unwrap();
    export.api_url = Some(format!("http://127.0.0.1:{}/", listener.port));
    let refused = gitops::reconcile(&ctx, &changed, &workloads).await;
    assert_eq!(
        refused.condition.reason.as_deref(),
        Some("PullRequestFailed"),
        "{:?}",
        refused.condition
    );
    assert!(
        refused
            .condition
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("no token is sent there"),
        "{:?}",
        refused.condition
    );
    assert!(listener.seen().is_empty(), "{:?}", listener.seen());
    assert_eq!(gitea.pulls(&repo).await.len(), 1);
}
