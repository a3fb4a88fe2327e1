//! Helm tracing inside `pr::sync` (a dry run over a real git smart-HTTP server and the real
//! helm): the chart and its values files are read from the commit, and what the reader refuses —
//! a symbolic link in the chart, a values file the commit does not have — is a problem of the
//! chart's workloads, never the sync's failure.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::git_http::{GitServer, TOKEN, git};
use crate::support::memory_forge::MemoryForge;
use attune::crd::load_policy_files;
use attune::forge::{Forge, ForgeRepo};
use attune::git::Identity;
use attune::pr::{Clearance, HelmTarget, Limits, RunResult, Settings, Target, sync};
use attune::propose::HelmSource;
use attune::repo::Scope;

const PRODUCTION: &str = "envs/production/values-production.yaml";

fn settings(cache: &Path) -> Settings {
    Settings {
        branch: "attune/production/api".into(),
        identity: Identity {
            name: "Attune".into(),
            email: "attune-bot@example.com".into(),
        },
        labels: vec![],
        reviewers: vec![],
        team_reviewers: vec![],
        draft: false,
        min_change_percent: 10.0,
        limits: Limits::default(),
        dry_run: true,
        templates: None,
        cache_dir: cache.to_path_buf(),
        prices: Default::default(),
        replicas: Default::default(),
        git_token: Some(TOKEN.into()),
        push_attempts: 1,
        write_gate: attune::pr::WriteGate::always_open(),
        read_budget: attune::git::DEFAULT_READ_BUDGET,
    }
}

/// The fixture chart in a fresh repository, `change` applied to the seed checkout as a second
/// commit; the dry run's result with the chart traced for `values`.
async fn traced(change: impl Fn(&Path), values: &[&str]) -> RunResult {
    let server = GitServer::start();
    let work = server.create_repo("charts", Path::new("fixtures/helm-controller/repo"), 0);
    change(&work);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "--allow-empty", "-m", "change"]);
    git(&work, &["push", "-q", &server.auth_url("charts"), "main"]);
    let forge = MemoryForge::new(server.url("charts"));
    let helm = std::env::var("ATTUNE_HELM").expect("ATTUNE_HELM: run through tests/run");
    let target = Target {
        repo: ForgeRepo::parse("acme/charts").unwrap(),
        url: server.url("charts"),
        base: "main".into(),
        scope: Scope::source("charts/api", false),
        scopes: Default::default(),
        clearance: Clearance::new(&forge.api_base(), &server.url("charts")).unwrap(),
        look_for: Vec::new(),
        helm: vec![HelmTarget {
            workloads: vec!["production/Deployment/api".into()],
            source: Ok(HelmSource {
                chart: "charts/api".into(),
                values: values.iter().map(|v| (*v).to_owned()).collect(),
                release: "api".into(),
                namespace: "production".into(),
                set: Vec::new(),
                no_chart_defaults: false,
                fixed: Vec::new(),
                helm: PathBuf::from(helm),
                timeout: Duration::from_secs(30),
            }),
        }],
        discover: None,
    };
    let text = std::fs::read_to_string("fixtures/demo/policies.yaml").unwrap();
    let policies = load_policy_files(&text).unwrap();
    let cache = tempfile::tempdir().unwrap();
    sync(&forge, &target, &policies, &settings(cache.path()))
        .await
        .unwrap()
}

fn reasons(r: &RunResult) -> Vec<String> {
    r.outcome
        .problems
        .iter()
        .map(|p| p.reason.clone())
        .collect()
}

#[tokio::test]
async fn the_chart_read_from_the_commit_is_traced_and_its_last_values_file_edited() {
    let r = traced(|_| {}, &["charts/api/values.yaml", PRODUCTION]).await;
    assert!(r.outcome.problems.is_empty(), "{:?}", reasons(&r));
    let keys: Vec<(&str, Option<&str>)> = r
        .outcome
        .changes
        .iter()
        .map(|c| (c.file.as_str(), c.key.as_deref()))
        .collect();
    assert_eq!(
        keys,
        [
            (PRODUCTION, Some("app.resources.requests.cpu")),
            (PRODUCTION, Some("app.resources.requests.memory")),
            (PRODUCTION, Some("logShipper.resources.requests.cpu")),
            (PRODUCTION, Some("logShipper.resources.requests.memory")),
        ]
    );
    assert!(
        r.diff.contains("+      cpu: 250m # sized in 2025"),
        "{}",
        r.diff
    );
}

#[tokio::test]
async fn a_symbolic_link_in_the_chart_is_a_problem_of_its_workloads() {
    let link = |work: &Path| {
        std::os::unix::fs::symlink(
            "../../../envs/production/values-production.yaml",
            work.join("charts/api/templates/extra.yaml"),
        )
        .unwrap();
    };
    let r = traced(link, &[PRODUCTION]).await;
    assert!(r.outcome.changes.is_empty(), "{:?}", r.outcome.changes);
    assert_eq!(
        reasons(&r),
        [
            "the chart at charts/api cannot be read: charts/api/templates/extra.yaml: a symbolic \
          link; not followed"
        ]
    );
    assert_eq!(r.outcome.problems[0].workload, "api");
}

#[tokio::test]
async fn a_values_file_the_commit_lacks_is_a_problem_of_its_workloads() {
    let r = traced(|_| {}, &["envs/staging/values.yaml"]).await;
    assert!(r.outcome.changes.is_empty(), "{:?}", r.outcome.changes);
    assert_eq!(
        reasons(&r),
        ["values file envs/staging/values.yaml of chart charts/api: not a YAML file of the commit"]
    );
}
