//! Per-workload scopes (`propose::outcome_scoped`): one change set can carry workloads that
//! two GitOps owners deploy from two directories, and each is edited only where its own owner
//! renders it — never in a look-alike manifest elsewhere in the repository.

use std::collections::BTreeMap;

use attune::crd::load_policy_files;
use attune::propose::outcome_scoped;
use attune::repo::{ManifestTree, Scope};

const POLICY: &str = "apiVersion: attune.io/v1alpha1
kind: AttunePolicy
metadata: {name: sizing, namespace: shop}
spec:
  targetRef: {kind: Deployment, selector: {matchLabels: {tier: app}}}
  metricsSource: {prometheus: {address: http://prometheus:9090}}
  cpu: {}
  memory: {}
status:
  recommendations:
  - workload: web
    kind: Deployment
    containers:
    - {name: app, recommended: {cpuRequest: 150m}}
  - workload: api
    kind: Deployment
    containers:
    - {name: app, recommended: {cpuRequest: 250m}}
";

fn deployment(name: &str, cpu: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: shop
spec:
  template:
    spec:
      containers:
      - name: app
        # sized by hand
        resources:
          requests:
            cpu: {cpu}
"
    )
}

fn repo() -> ManifestTree {
    ManifestTree::from_texts([
        (
            "apps/web/deployment.yaml".to_owned(),
            deployment("web", "100m"),
        ),
        (
            "apps/api/deployment.yaml".to_owned(),
            deployment("api", "100m"),
        ),
        // The same identities again under another directory no owner deploys from here.
        ("legacy/web.yaml".to_owned(), deployment("web", "100m")),
        ("legacy/api.yaml".to_owned(), deployment("api", "100m")),
    ])
}

#[test]
fn each_workload_is_edited_in_its_own_owners_path_only() {
    let policies = load_policy_files(POLICY).unwrap();
    let scopes = BTreeMap::from([
        (
            "shop/Deployment/web".to_owned(),
            Scope::source("apps/web", false),
        ),
        (
            "shop/Deployment/api".to_owned(),
            Scope::source("apps/api", false),
        ),
    ]);
    let outcome = outcome_scoped(&repo(), &Scope::below("apps"), &scopes, &policies);
    assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
    let files: Vec<&str> = outcome.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        files,
        ["apps/api/deployment.yaml", "apps/web/deployment.yaml"]
    );
    let web = outcome
        .files
        .iter()
        .find(|f| f.path == "apps/web/deployment.yaml")
        .unwrap();
    assert_eq!(
        web.after,
        deployment("web", "150m"),
        "only the value changes"
    );
    let api = outcome
        .files
        .iter()
        .find(|f| f.path == "apps/api/deployment.yaml")
        .unwrap();
    assert_eq!(api.after, deployment("api", "250m"));
}

#[test]
fn without_scopes_the_shared_directory_finds_both_copies_and_refuses_to_guess() {
    let policies = load_policy_files(POLICY).unwrap();
    let outcome = outcome_scoped(&repo(), &Scope::whole(), &BTreeMap::new(), &policies);
    assert!(
        outcome.files.is_empty(),
        "{:?}",
        outcome.files.iter().map(|f| &f.path).collect::<Vec<_>>()
    );
    assert_eq!(outcome.problems.len(), 2, "{:?}", outcome.problems);
}
