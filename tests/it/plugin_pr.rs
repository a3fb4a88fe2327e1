//! `kubectl attune pr POLICY` against the real API server and a real Gitea: the live policy's
//! recommendations (written through the status subresource) become one pull request, left
//! alone when nothing moved and updated in place when the recommendation moves; `--dry-run`
//! prints the diff and body and writes nothing anywhere. Needs the servers `tests/run` starts.

use std::process::Output;

use assert_cmd::Command;
use attune::crd::{AttunePolicy, WorkloadRecommendation, load_policies};
use serde_json::json;

use crate::support::cluster::{self, TestNamespace};
use crate::support::git_http::git;
use crate::support::gitea_repo::Gitea;

fn deployment(ns: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: {ns}
spec:
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
      - name: app
        image: example.invalid/api:1
        resources:
          requests:
            cpu: 500m
            memory: 512Mi
          limits:
            memory: 1Gi
      - name: log-shipper
        image: example.invalid/shipper:1
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
"
    )
}

/// The demo policy, exporting to `repository` on the test's Gitea (or to nowhere).
fn policy(name: &str, g: &Gitea, repository: Option<&str>) -> AttunePolicy {
    let text = std::fs::read_to_string("fixtures/demo/policies.yaml").unwrap();
    let mut p = load_policies(&text).unwrap().remove(0);
    p.metadata.name = Some(name.into());
    if let Some(repository) = repository {
        let export = json!({"enabled": true, "provider": "gitea", "apiUrl": g.url,
                            "repository": repository, "labels": ["attune"]});
        p.spec.update_strategy.as_mut().unwrap().export =
            Some(serde_json::from_value(json!({"pullRequest": export})).unwrap());
    }
    p
}

/// The policy `api` in `ns`, exporting to `repo` on `g`, with the demo's recommendations in
/// its status (returned).
async fn live_api_policy(ns: &TestNamespace, g: &Gitea, repo: &str) -> Vec<WorkloadRecommendation> {
    let p = policy("api", g, Some(&format!("{}/{repo}", g.user)));
    cluster::apply_policy(ns, &p).await;
    let recommendations = p.status.as_ref().unwrap().recommendations.clone();
    cluster::set_recommendations(ns, "api", &recommendations).await;
    recommendations
}

struct Plugin<'a> {
    g: &'a Gitea,
    ns: &'a str,
    cache: &'a std::path::Path,
}

impl Plugin<'_> {
    fn pr(&self, args: &[&str]) -> (i32, String, String) {
        let out: Output = Command::cargo_bin("kubectl-attune")
            .unwrap()
            .args(["pr", "-n", self.ns])
            .args(args)
            .env("ATTUNE_GIT_TOKEN", &self.g.token)
            .env("ATTUNE_CACHE_DIR", self.cache)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !stdout.contains(&self.g.token) && !stderr.contains(&self.g.token),
            "token leaked: {stderr}"
        );
        (out.status.code().unwrap_or(-1), stdout, stderr)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pr_opens_leaves_and_updates_the_live_policys_pull_request() {
    // The status is the test's: a controller elsewhere would reconcile the policy meanwhile.
    let _no_controller = crate::support::controller_lock::exclusive().await;
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "plugin-pr").await;
    let g = Gitea::from_env();
    let repo = format!("plugin-pr-{}", cluster::suffix());
    g.create_repo(&repo, &[("deploy/api.yaml", deployment(&ns.name))])
        .await;
    let mut recommendations = live_api_policy(&ns, &g, &repo).await;
    let cache = tempfile::tempdir().unwrap();
    let plugin = Plugin {
        g: &g,
        ns: &ns.name,
        cache: cache.path(),
    };
    let branch = format!("attune/{}/api", ns.name);

    let (code, out, err) = plugin.pr(&["api", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("+++ b/deploy/api.yaml"), "{out}");
    assert!(out.contains("+            cpu: 250m"), "{out}");
    assert!(out.lines().last().unwrap().starts_with("created"), "{out}");
    assert!(
        err.contains("--- pull request body ---") && err.contains("**250m**"),
        "{err}"
    );
    assert!(g.pulls(&repo).await.is_empty(), "a dry run opens nothing");
    let heads = git(cache.path(), &["ls-remote", "--heads", &g.auth_url(&repo)]);
    assert!(
        !heads.contains("refs/heads/attune/"),
        "a dry run pushes nothing: {heads}"
    );

    let (code, out, err) = plugin.pr(&["api"]);
    assert_eq!(code, 0, "{err}");
    let pulls = g.pulls(&repo).await;
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0]["head"]["label"], branch.as_str());
    assert_eq!(pulls[0]["labels"][0]["name"], "attune");
    let url = pulls[0]["html_url"].as_str().unwrap();
    assert_eq!(out, format!("created {url}\n"));

    let (code, out, err) = plugin.pr(&["api"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("unchanged {url}\n"));

    recommendations[0].containers[0].recommended.cpu_request = Some("200m".into());
    cluster::set_recommendations(&ns, "api", &recommendations).await;
    let (code, out, err) = plugin.pr(&["api", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (line["action"].as_str(), line["number"].as_u64()),
        (Some("updated"), Some(1))
    );
    assert_eq!(g.pulls(&repo).await.len(), 1, "updated in place");
    assert!(g.diff(&repo, 1).await.contains("+            cpu: 200m"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pr_errors_are_one_line_with_their_exit_code() {
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "plugin-pr-bad").await;
    let g = Gitea::from_env();
    cluster::apply_policy(&ns, &policy("bare", &g, None)).await;
    cluster::apply_policy(&ns, &policy("elsewhere", &g, Some("nobody/nothing"))).await;
    let cache = tempfile::tempdir().unwrap();
    let plugin = Plugin {
        g: &g,
        ns: &ns.name,
        cache: cache.path(),
    };
    let cases: [(&[&str], i32, &str); 4] = [
        (&["missing"], 1, "no AttunePolicy missing in namespace"),
        (&["bare"], 2, "pass --repository OWNER/NAME"),
        (
            &["bare", "--repository", "a/b/c/"],
            2,
            "is not a repository",
        ),
        (&["elsewhere"], 3, "elsewhere"),
    ];
    for (args, want, says) in cases {
        let (code, out, err) = plugin.pr(args);
        assert_eq!(code, want, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(says),
            "{args:?}: {err}"
        );
    }
}

/// An Argo CD Application of the repository itself, deploying `path` into `namespace`.
fn application(name: &str, repo_url: &str, path: &str, namespace: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: {name}, namespace: argocd}}\n\
         spec:\n  source: {{repoURL: \"{repo_url}\", path: {path}, targetRevision: main}}\n  \
         destination: {{namespace: {namespace}}}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pr_discover_searches_the_workload_where_its_application_deploys_it() {
    let _no_controller = crate::support::controller_lock::exclusive().await;
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "plugin-pr-discover").await;
    let g = Gitea::from_env();
    let repo = format!("plugin-pr-discover-{}", cluster::suffix());
    let url = g.clone_url(&repo);
    // The same namespaceless manifest twice: only the Applications tell which one is deployed
    // into the policy's namespace.
    let api = deployment(&ns.name).replace(&format!("  namespace: {}\n", ns.name), "");
    let files = [
        ("apps/api/api.yaml", api.clone()),
        ("apps/copy/api.yaml", api),
        (
            "argocd/api.yaml",
            application("api", &url, "apps/api", &ns.name),
        ),
        (
            "argocd/copy.yaml",
            application("copy", &url, "apps/copy", "elsewhere"),
        ),
    ];
    g.create_repo(&repo, &files).await;
    live_api_policy(&ns, &g, &repo).await;
    let cache = tempfile::tempdir().unwrap();
    let plugin = Plugin {
        g: &g,
        ns: &ns.name,
        cache: cache.path(),
    };

    let (code, _, err) = plugin.pr(&["api", "--dry-run"]);
    assert_eq!(
        code, 1,
        "without --discover both manifests are candidates: {err}"
    );
    assert!(err.contains("ambiguous"), "{err}");

    let (code, out, err) = plugin.pr(&["api", "--dry-run", "--discover"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("attune: discovered 2 application(s), 0 discovery problem(s)"),
        "{err}"
    );
    assert!(out.contains("+++ b/apps/api/api.yaml"), "{out}");
    assert!(!out.contains("apps/copy"), "{out}");
    assert!(out.lines().last().unwrap().starts_with("created"), "{out}");
    assert!(g.pulls(&repo).await.is_empty(), "a dry run opens nothing");
}
