//! Writes after the leader lease is lost: `pr::sync` asks its write gate right before each
//! push and forge write, so a run that decided while leading but lost the lease before writing
//! pushes nothing and calls no forge write, and says so; the next leader then does the work
//! once. Over a real git smart-HTTP server and the in-memory forge that counts calls; the
//! controller's GitOps step on top reports the abandoned write without a failure event.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::git_http::{GitServer, TOKEN};
use crate::support::memory_forge::MemoryForge;
use attune::controller::Config;
use attune::controller::gitops::forge::GivenForge;
use attune::controller::gitops::{Env, Located, Memory, reconcile_located};
use attune::crd::{AttunePolicy, Export, PullRequestExport, UpdateStrategy, load_policies};
use attune::forge::Forge as _;
use attune::forge::ForgeRepo;
use attune::git::Identity;
use attune::locate::{ObjectKind, ObjectRef, Revision, RevisionKind, Source, Tool};
use attune::metrics::Metrics;
use attune::pr::{Action, Limits, PrError, Settings, Target, Write, WriteGate, sync};
use tokio::sync::watch;

const REPO: &str = "acme/gitops";
const BRANCH: &str = "attune/production/api";
const PATCH: &str = "overlays/production/attune-deployment-api.yaml";

fn policies(cpu: &str) -> Vec<AttunePolicy> {
    let text = std::fs::read_to_string("fixtures/demo/policies.yaml").unwrap();
    let mut policies = load_policies(&text).unwrap();
    let rec = &mut policies[0].status.as_mut().unwrap().recommendations[0];
    rec.containers[0].recommended.cpu_request = Some(cpu.to_owned());
    policies
}

fn settings(cache: &Path, gate: WriteGate) -> Settings {
    Settings {
        branch: BRANCH.into(),
        identity: Identity {
            name: "Attune".into(),
            email: "attune-bot@example.com".into(),
        },
        labels: vec!["attune".into()],
        reviewers: vec![],
        team_reviewers: vec![],
        draft: false,
        min_change_percent: 10.0,
        limits: Limits::default(),
        dry_run: false,
        templates: None,
        cache_dir: cache.to_path_buf(),
        prices: Default::default(),
        replicas: Default::default(),
        git_token: Some(TOKEN.into()),
        push_attempts: 3,
        write_gate: gate,
        read_budget: attune::git::DEFAULT_READ_BUDGET,
    }
}

struct World {
    server: GitServer,
    forge: MemoryForge,
    target: Target,
    cache: tempfile::TempDir,
}

fn world() -> World {
    let server = GitServer::start();
    server.create_repo(REPO, Path::new("fixtures/demo/repo"), 1);
    let forge = MemoryForge::new(server.url(REPO));
    let target = Target {
        repo: ForgeRepo::parse(REPO).unwrap(),
        url: server.url(REPO),
        base: "main".into(),
        scope: attune::repo::Scope::whole(),
        scopes: Default::default(),
        clearance: attune::pr::Clearance::new(&forge.api_base(), &server.url(REPO)).unwrap(),
        look_for: Vec::new(),
        helm: Vec::new(),
        discover: None,
    };
    World {
        server,
        forge,
        target,
        cache: tempfile::tempdir().unwrap(),
    }
}

async fn run(w: &World, cpu: &str, gate: WriteGate) -> Result<attune::pr::RunResult, PrError> {
    sync(
        &w.forge,
        &w.target,
        &policies(cpu)
            .into_iter()
            .map(attune::crd::FilePolicy::from)
            .collect::<Vec<_>>(),
        &settings(w.cache.path(), gate),
    )
    .await
}

/// A gate that lets `writes` writes through, then stays shut; counts the checks.
fn gate_after(writes: usize) -> (WriteGate, Arc<AtomicUsize>) {
    let checks = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&checks);
    let gate = WriteGate::from_fn(move || seen.fetch_add(1, Ordering::SeqCst) < writes);
    (gate, checks)
}

fn abandoned(result: Result<attune::pr::RunResult, PrError>) -> Write {
    match result {
        Err(PrError::NotLeader { write, branch }) => {
            assert_eq!(branch, BRANCH);
            write
        }
        other => panic!("expected an abandoned write, got {other:?}"),
    }
}

#[tokio::test]
async fn a_lease_lost_after_the_decision_pushes_nothing_and_opens_nothing() {
    let w = world();
    let (tx, rx) = watch::channel(true);
    // The limits listing comes after the run looked at the remote and decided to open a pull
    // request, right before its push: the lease goes there.
    *w.forge.on_list.lock().unwrap() = Some(Box::new(move || {
        tx.send_replace(false);
    }));
    let err = run(&w, "250m", WriteGate::following(rx)).await;
    assert_eq!(abandoned(err), Write::Push);
    assert_eq!(w.server.tip(REPO, BRANCH), None, "no push");
    assert!(w.forge.all().is_empty(), "no pull request");
    assert_eq!(w.forge.calls().1, 0, "no forge write");

    // The next leader does the work, once.
    let next = run(&w, "250m", WriteGate::always_open()).await.unwrap();
    assert_eq!(next.action, Action::Created);
    assert_eq!(w.forge.all().len(), 1);
    assert!(w.server.show(REPO, BRANCH, PATCH).contains("cpu: 250m"));
}

#[tokio::test]
async fn a_lease_lost_between_push_and_create_opens_nothing_and_the_next_leader_reuses_the_push() {
    let w = world();
    let (gate, checks) = gate_after(1);
    let err = run(&w, "250m", gate).await;
    assert_eq!(abandoned(err), Write::Create);
    assert_eq!(
        checks.load(Ordering::SeqCst),
        2,
        "asked before the push and the create"
    );
    let pushed = w.server.tip(REPO, BRANCH).expect("the push went through");
    assert!(w.forge.all().is_empty());
    assert_eq!(w.forge.calls().1, 0);

    let next = run(&w, "250m", WriteGate::always_open()).await.unwrap();
    assert_eq!(next.action, Action::Created);
    assert_eq!(w.forge.all().len(), 1);
    assert_eq!(
        w.server.tip(REPO, BRANCH).as_deref(),
        Some(pushed.as_str()),
        "the branch was already as wanted: no second push"
    );
}

#[tokio::test]
async fn an_update_is_abandoned_before_the_push_and_before_the_edit() {
    let w = world();
    run(&w, "250m", WriteGate::always_open()).await.unwrap();
    let tip = w.server.tip(REPO, BRANCH);
    let body = w.forge.all()[0].body.clone();
    w.forge.reset_calls();

    let (gate, _) = gate_after(0);
    assert_eq!(abandoned(run(&w, "200m", gate).await), Write::Push);
    assert_eq!(w.server.tip(REPO, BRANCH), tip, "no push");
    assert_eq!(w.forge.calls().1, 0, "no forge write");

    let (gate, _) = gate_after(1);
    assert_eq!(abandoned(run(&w, "200m", gate).await), Write::Update);
    assert_ne!(w.server.tip(REPO, BRANCH), tip, "pushed while leading");
    assert_eq!(
        w.forge.all()[0].body,
        body,
        "the pull request is not edited"
    );
    assert_eq!(w.forge.calls().1, 0);

    let next = run(&w, "200m", WriteGate::always_open()).await.unwrap();
    assert_eq!(next.action, Action::Updated);
    assert!(w.forge.all()[0].body.contains("**200m**"));
}

fn controller_policy() -> AttunePolicy {
    let mut p = policies("250m").remove(0);
    p.metadata.uid = Some("uid-leader".into());
    let strategy = p
        .spec
        .update_strategy
        .get_or_insert_with(UpdateStrategy::default);
    strategy.export = Some(Export {
        config_map: None,
        pull_request: Some(PullRequestExport {
            enabled: Some(true),
            ..Default::default()
        }),
    });
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_reports_an_abandoned_write_without_a_failure_event() {
    let w = world();
    let (tx, rx) = watch::channel(false);
    let config = Config {
        allowed_repositories: vec![format!("http://127.0.0.1:{}/acme/*", w.server.port)],
        cache_dir: w.cache.path().to_path_buf(),
        write_gate: WriteGate::following(rx),
        ..Config::default()
    };
    let metrics = Metrics::new();
    let memory = Memory::default();
    let env = Env {
        config: &config,
        metrics: &metrics,
        memory: &memory,
    };
    let p = controller_policy();
    let located = [Located {
        kind: "Deployment".into(),
        name: "api".into(),
        recommendation: p.status.as_ref().unwrap().recommendations[0].clone(),
        source: Ok(Source {
            tool: Tool::ArgoCd,
            repo_url: w.server.url(REPO),
            revision: Revision {
                kind: RevisionKind::Branch,
                name: "main".into(),
                resolved: Some("c1".into()),
            },
            path: "overlays/production".into(),
            recurse: false,
            owner: ObjectRef::new(ObjectKind::Application, "argocd", "api"),
            chain: vec![],
            shadows: vec![],
            checks: vec![],
            hints: vec![],
            namespace: None,
            helm: None,
            helm_refusal: None,
            names: Default::default(),
        }),
    }];

    let r = reconcile_located(
        &env,
        &p,
        &located,
        GivenForge {
            forge: &w.forge,
            git_token: Some(TOKEN.into()),
        },
    )
    .await;
    let message = r.condition.message.clone().unwrap_or_default();
    assert!(
        message.contains(
            "abandoned pushing the branch for attune/production/api: this replica no longer holds the leader lease"
        ),
        "{message}"
    );
    assert!(
        r.notes.is_empty(),
        "no event from a replica that lost the lease: {:?}",
        r.notes
    );
    let counted = |text: &str, prefix: &str| text.lines().filter(|l| l.starts_with(prefix)).count();
    let text = metrics.encode();
    assert_eq!(
        counted(&text, "attune_reconcile_failures_total{"),
        0,
        "not a failure: {text}"
    );
    assert_eq!(
        counted(&text, "attune_gitops_pull_requests_total{"),
        0,
        "{text}"
    );
    assert_eq!(w.server.tip(REPO, BRANCH), None);
    assert!(w.forge.all().is_empty());

    // Leading again, the same replica does the work.
    tx.send_replace(true);
    let r = reconcile_located(
        &env,
        &p,
        &located,
        GivenForge {
            forge: &w.forge,
            git_token: Some(TOKEN.into()),
        },
    )
    .await;
    assert_eq!(
        r.condition.reason.as_deref(),
        Some("PullRequestOpen"),
        "{:?}",
        r.condition
    );
    assert_eq!(w.forge.all().len(), 1);
    let text = metrics.encode();
    assert!(
        text.contains("attune_gitops_pull_requests_total{action=\"created\"} 1"),
        "{text}"
    );
}
