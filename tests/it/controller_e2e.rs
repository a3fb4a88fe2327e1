//! `attune controller` end to end, on the test control plane and the test Gitea (tests/run
//! starts both): one Deployment deployed by an Argo CD Application and one by a Flux
//! Kustomization, both from the same Gitea repository, one Auto policy over both with pull
//! requests on. The test plays the recommender (writes `status.recommendations`) and the human
//! (merges on Gitea); the controller runs in-process and is restarted half-way.
//!
//! One test on purpose: a controller watches every namespace, so two scenarios in parallel
//! would each see the other's policies.

use std::sync::Arc;
use std::time::Duration;

use crate::support::cluster::{self, DeploymentSpec, TestNamespace};
use crate::support::gitea_repo::Gitea;
use attune::controller::watch::{self, WatchError};
use attune::controller::{Config, FIELD_MANAGER};
use attune::crd::{AttunePolicy, WorkloadRecommendation};
use attune::locate::fetch::{api_resource, locate_live};
use attune::locate::{ObjectKind, Settings, Workload};
use attune::metrics::Metrics;
use kube::Client;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const POLICY: &str = "rightsize";
const TOKEN_SECRET: &str = "gitea-token";
const GITOPS_WAIT: Duration = Duration::from_secs(120);

/// A controller on a task of the test's runtime; dropping it (a failing test) also stops it,
/// as the shutdown future resolves when the sender goes away.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), WatchError>>,
    metrics: Arc<Metrics>,
}

impl Running {
    fn start(client: &Client, config: Config) -> Running {
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let metrics = Arc::new(Metrics::new());
        let task = tokio::spawn(watch::run(
            client.clone(),
            config,
            Arc::clone(&metrics),
            shutdown,
        ));
        Running {
            stop,
            task,
            metrics,
        }
    }

    /// Successful reconciles so far, from this controller's own metrics.
    fn reconciles(&self) -> u64 {
        self.metrics
            .encode()
            .lines()
            .find_map(|l| l.strip_prefix("attune_reconciles_total{result=\"ok\"} "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the controller stops within 30s of shutdown")
            .expect("the controller task does not panic")
            .expect("the controller ends without error");
    }
}

fn config(gitea: &Gitea, cache: &std::path::Path) -> Config {
    Config {
        allowed_repositories: vec![format!("http://{}/{}/*", gitea.host(), gitea.user)],
        pr_poll_interval: Duration::from_secs(1),
        requeue_interval: Duration::from_secs(2),
        error_requeue: Duration::from_secs(2),
        eligibility: attune::resize::Eligibility {
            require_running: false,
        },
        cache_dir: cache.to_owned(),
        hourly_pr_limit: 0,
        concurrent_pr_limit: 0,
        ..Config::default()
    }
}

/// Both workloads start at the same size; the policy selects them by label.
fn workload<'a>(name: &'a str, labels: Value, annotations: Value) -> DeploymentSpec<'a> {
    let mut labels = labels;
    labels["attune.io/e2e-target"] = json!("yes");
    DeploymentSpec {
        name,
        replicas: 2,
        labels,
        annotations,
        resources: json!({
            "requests": {"cpu": "100m", "memory": "64Mi"},
            "limits": {"memory": "256Mi"},
        }),
    }
}

/// The manifest as a person would keep it in the GitOps repository.
fn manifest_yaml(name: &str, namespace: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {namespace}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
        - name: app
          image: registry.invalid/attune/app:1.0
          resources:
            requests:
              cpu: 100m
              memory: 64Mi
            limits:
              memory: 256Mi
"
    )
}

fn policy(gitea: &Gitea) -> AttunePolicy {
    serde_json::from_value(json!({
        "apiVersion": "attune.io/v1alpha1",
        "kind": "AttunePolicy",
        "metadata": {"name": POLICY},
        "spec": {
            "targetRef": {
                "kind": "Deployment",
                "selector": {"matchLabels": {"attune.io/e2e-target": "yes"}},
            },
            "metricsSource": {"prometheus": {"address": "http://prometheus.invalid:9090"}},
            "cpu": {"percentile": 95},
            "memory": {"percentile": 99},
            "updateStrategy": {
                "type": "Auto",
                "cooldown": "1m",
                // No kubelet reports restarts or readiness here; nothing to revert on.
                "autoRevert": false,
                "maxConcurrentResizes": 10,
                "export": {"pullRequest": {
                    "enabled": true,
                    "provider": "gitea",
                    "apiUrl": gitea.url,
                    "tokenSecretRef": {"name": TOKEN_SECRET, "key": "token"},
                    "cooldown": "1s",
                    "minChangePercent": 1,
                }},
            },
        },
    }))
    .unwrap()
}

fn recommendations(cpu: &str, memory: &str) -> Vec<WorkloadRecommendation> {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    ["web", "api"]
        .iter()
        .map(|name| {
            serde_json::from_value(json!({
                "workload": name,
                "kind": "Deployment",
                "lastDataTime": now,
                "stale": false,
                "containers": [{
                    "name": "app",
                    "current": {"cpuRequest": "100m", "memoryRequest": "64Mi", "memoryLimit": "256Mi"},
                    "recommended": {"cpuRequest": cpu, "memoryRequest": memory, "memoryLimit": "256Mi"},
                    "confidence": 0.95,
                    "dataPoints": 500,
                    "lastUpdated": now,
                }],
            }))
            .unwrap()
        })
        .collect()
}

/// Creates an Argo CD or Flux object (test CRDs: status is stored as given) in `namespace`.
async fn create_object(client: &Client, kind: ObjectKind, namespace: &str, object: Value) {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &api_resource(kind));
    let object: DynamicObject = serde_json::from_value(object).unwrap();
    api.create(&PostParams::default(), &object)
        .await
        .unwrap_or_else(|e| panic!("create {kind:?} in {namespace}: {e}"));
}

/// `-`/`+` lines of a unified diff, without the file headers.
fn changed_lines(diff: &str, sign: char) -> Vec<String> {
    diff.lines()
        .filter(|l| l.starts_with(sign) && !l.starts_with("---") && !l.starts_with("+++"))
        .map(|l| l[1..].trim().to_owned())
        .collect()
}

fn assert_diff(diff: &str, cpu_to: &str) {
    assert!(diff.contains("apps/web/deployment.yaml"), "{diff}");
    assert!(diff.contains("apps/api/deployment.yaml"), "{diff}");
    let mut removed = changed_lines(diff, '-');
    let mut added = changed_lines(diff, '+');
    removed.sort();
    added.sort();
    // Per file: the cpu and memory requests move; limits, images and the rest do not.
    assert_eq!(
        removed,
        ["cpu: 100m", "cpu: 100m", "memory: 64Mi", "memory: 64Mi"],
        "{diff}"
    );
    let cpu = format!("cpu: {cpu_to}");
    assert_eq!(
        added,
        [cpu.as_str(), cpu.as_str(), "memory: 96Mi", "memory: 96Mi"],
        "{diff}"
    );
}

async fn one_pull_request(gitea: &Gitea, repo: &str) -> Value {
    let pulls = gitea.pulls(repo).await;
    assert_eq!(
        pulls.len(),
        1,
        "exactly one pull request on {repo}: {:?}",
        pulls
            .iter()
            .map(|p| (&p["number"], &p["state"], &p["head"]["label"]))
            .collect::<Vec<_>>()
    );
    pulls[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resizes_in_place_and_keeps_one_pull_request_across_restarts() {
    let _controllers = crate::support::controller_lock::shared().await;
    let client = cluster::client().await;
    let gitea = Gitea::from_env();
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "e2e-ctl").await;
    let tmp = tempfile::tempdir().unwrap();

    // The GitOps repository: one directory per tool.
    let repo = format!("gitops-{}", ns.name);
    let sha = gitea
        .create_repo(
            &repo,
            &[
                ("apps/web/deployment.yaml", manifest_yaml("web", &ns.name)),
                ("apps/api/deployment.yaml", manifest_yaml("api", &ns.name)),
            ],
        )
        .await;
    let repo_url = gitea.clone_url(&repo);

    // Argo CD: an Application in `argocd` (unique name: the namespace is shared) and the
    // tracking id on the Deployment that names it.
    let app = ns.name.clone();
    cluster::ensure_namespace(&client, "argocd").await;
    create_object(
        &client,
        ObjectKind::Application,
        "argocd",
        json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": app, "namespace": "argocd"},
            "spec": {
                "project": "default",
                "destination": {"server": "https://kubernetes.default.svc", "namespace": ns.name},
                "source": {"repoURL": repo_url, "targetRevision": "main", "path": "apps/web"},
            },
            // As Argo CD records what it deployed: the controller trusts the tracking id only
            // for an object listed here.
            "status": {
                "sync": {"status": "Synced", "revision": sha},
                "resources": [{"group": "apps", "version": "v1", "kind": "Deployment",
                               "namespace": ns.name, "name": "web", "status": "Synced"}],
            },
        }),
    )
    .await;
    ns.delete_later(&api_resource(ObjectKind::Application), "argocd", &app);

    // Flux: Kustomization -> GitRepository, both in the test namespace.
    create_object(
        &client,
        ObjectKind::GitRepository,
        &ns.name,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "fleet", "namespace": ns.name},
            "spec": {"interval": "1m", "url": repo_url, "ref": {"branch": "main"}},
        }),
    )
    .await;
    create_object(
        &client,
        ObjectKind::Kustomization,
        &ns.name,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": ns.name},
            "spec": {
                "interval": "10m",
                "prune": true,
                "sourceRef": {"kind": "GitRepository", "name": "fleet"},
                "path": "./apps/api",
            },
            // As kustomize-controller records what it applied: the owner labels are trusted
            // only for an object in the inventory.
            "status": {
                "lastAppliedRevision": format!("main@sha1:{sha}"),
                "inventory": {"entries": [
                    {"id": format!("{}_api_apps_Deployment", ns.name), "v": "v1"},
                ]},
            },
        }),
    )
    .await;

    let web = workload(
        "web",
        json!({}),
        json!({"argocd.argoproj.io/tracking-id": format!("{app}:apps/Deployment:{}/web", ns.name)}),
    );
    let api = workload(
        "api",
        json!({
            "kustomize.toolkit.fluxcd.io/name": "apps",
            "kustomize.toolkit.fluxcd.io/namespace": ns.name,
        }),
        json!({}),
    );
    for spec in [&web, &api] {
        let pods = cluster::create_deployment(&ns, spec).await;
        assert_eq!(pods.len(), 2);
    }

    // The scenario's Argo CD and Flux objects trace both workloads to the Gitea repository
    // (so a failure further down is the controller's, not the scenario's).
    for (spec, path) in [(&web, "apps/web"), (&api, "apps/api")] {
        let workload = Workload::from_value(&spec.manifest(&ns.name)).unwrap();
        let source = locate_live(&client, &workload, &Settings::default())
            .await
            .unwrap_or_else(|e| panic!("locate {}: {e}", spec.name));
        assert_eq!(source.repo_url, repo_url, "{source:?}");
        assert_eq!(source.path, path, "{source:?}");
    }

    cluster::create_token_secret(&ns, TOKEN_SECRET, &gitea.token).await;
    let created = cluster::apply_policy(&ns, &policy(&gitea)).await;
    let uid = created.metadata.uid.clone().unwrap();
    cluster::set_recommendations(&ns, POLICY, &recommendations("150m", "96Mi")).await;

    let controller = Running::start(&client, config(&gitea, &tmp.path().join("cache-a")));

    // 1. The pods are resized in place (pods/resize): their spec shows the recommendation.
    for name in ["web", "api"] {
        cluster::wait_for_pod_resources(&ns, name, "requests 150m / 96Mi", |r| {
            r["requests"]["cpu"] == "150m"
                && r["requests"]["memory"] == "96Mi"
                && r["limits"]["memory"] == "256Mi"
        })
        .await;
    }

    // 2. One pull request with exactly the two request changes; status and events say so.
    let policy = cluster::wait_for_condition(
        &ns,
        POLICY,
        "GitOpsPullRequest",
        "PullRequestOpen",
        GITOPS_WAIT,
    )
    .await;
    let pr = one_pull_request(&gitea, &repo).await;
    let number = pr["number"].as_u64().unwrap();
    assert_eq!(pr["state"], "open");
    assert_diff(&gitea.diff(&repo, number).await, "150m");
    let condition = cluster::condition(&policy, "GitOpsPullRequest").unwrap();
    assert_eq!(condition.status, "True", "{condition:?}");
    let status = cluster::policy_status_json(&ns, POLICY).await;
    let gitops = serde_json::to_string(&status["gitops"]).unwrap();
    assert!(
        gitops.contains(&format!("/pulls/{number}"))
            || gitops.contains(&format!("\"number\":{number}")),
        "status.gitops names the pull request #{number}: {gitops}"
    );
    cluster::wait_for_event(&ns, &uid, "Resized").await;
    let opened = cluster::wait_for_event(&ns, &uid, "PullRequestOpened").await;
    let note = opened.message.unwrap_or_default();
    assert!(note.contains(&number.to_string()), "{note}");
    assert!(
        !note.contains(&gitea.token),
        "the token leaked into an event"
    );
    // The recommender's field stays the recommender's: the controller writes with its own.
    let managers: Vec<_> = created_managers(&ns).await;
    assert!(
        managers.contains(&cluster::RECOMMENDER_MANAGER.to_owned()),
        "{managers:?}"
    );
    assert!(managers.contains(&FIELD_MANAGER.to_owned()), "{managers:?}");

    // 3. The recommendation moves: the same pull request gets the new commit.
    let head = pr["head"]["sha"].clone();
    cluster::set_recommendations(&ns, POLICY, &recommendations("200m", "96Mi")).await;
    let pr = cluster::eventually(
        "the pull request to carry cpu 200m",
        GITOPS_WAIT,
        || async {
            let pr = gitea.pull(&repo, number).await;
            if pr["head"]["sha"] != head {
                Ok(pr)
            } else {
                Err(format!("head still {head}"))
            }
        },
    )
    .await;
    // Gitea refreshes a pull request's diff in a queue after the push it already reports.
    let diff = cluster::eventually("the diff to show cpu 200m", GITOPS_WAIT, || async {
        let diff = gitea.diff(&repo, number).await;
        if diff.contains("cpu: 200m") {
            Ok(diff)
        } else {
            Err(diff)
        }
    })
    .await;
    assert_diff(&diff, "200m");
    assert_eq!(one_pull_request(&gitea, &repo).await["number"], number);

    // 4. A new controller (fresh memory, fresh git cache) finds the pull request instead of
    //    opening a second one, and leaves it alone.
    controller.stop().await;
    let controller = Running::start(&client, config(&gitea, &tmp.path().join("cache-b")));
    // Nothing changed, so the new controller writes no status; its own metrics say it ran.
    cluster::eventually(
        "the new controller to reconcile the policy",
        Duration::from_secs(60),
        || async {
            match controller.reconciles() {
                0 => Err("no successful reconcile yet".to_owned()),
                _ => Ok(()),
            }
        },
    )
    .await;
    // A few PR polls and requeues of the new controller.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let same = one_pull_request(&gitea, &repo).await;
    assert_eq!(same["number"], number);
    assert_eq!(same["head"]["sha"], pr["head"]["sha"], "no new commit");
    assert_eq!(same["state"], "open");

    // 5. A human merges it: the controller reports it and proposes nothing more.
    gitea.merge(&repo, number).await;
    cluster::wait_for_condition(
        &ns,
        POLICY,
        "GitOpsPullRequest",
        "PullRequestMerged",
        GITOPS_WAIT,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let merged = one_pull_request(&gitea, &repo).await;
    assert_eq!(merged["merged"], true, "{merged}");
    controller.stop().await;
}

/// The field managers of the policy's status fields.
async fn created_managers(ns: &TestNamespace) -> Vec<String> {
    let policy: AttunePolicy = ns.api().get(POLICY).await.unwrap();
    policy
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.subresource.as_deref() == Some("status"))
        .filter_map(|m| m.manager)
        .collect()
}
