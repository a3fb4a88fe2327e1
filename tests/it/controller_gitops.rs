//! The controller's GitOps step after `locate`, over a real git smart-HTTP server and an
//! in-memory forge that counts calls: one pull request opened with the expected edit and status,
//! steady state that touches neither git nor the forge, an update in place, the cooldown, a merge
//! seen by polling, a restart that finds the open pull request instead of opening another, and
//! refusals for repositories the operator or the discovered owner do not agree on.

use std::path::Path;
use std::time::Duration;

use crate::support::git_http::{GitServer, TOKEN, git};
use crate::support::memory_forge::MemoryForge;
use attune::controller::Config;
use attune::controller::gitops::forge::GivenForge;
use attune::controller::gitops::{Env, Located, Memory, Report, reconcile_located};
use attune::crd::{
    AttunePolicy, Export, PullRequestExport, UpdateMode, UpdateStrategy, load_policies,
};
use attune::forge::PrState;
use attune::locate::{
    ObjectKind, ObjectRef, RepoCheck, Revision, RevisionKind, Shadow, ShadowKind, Source, Tool,
};
use attune::metrics::Metrics;

const REPO: &str = "acme/gitops";
const BRANCH: &str = "attune/production/api";
const PATCH: &str = "overlays/production/attune-deployment-api.yaml";

struct World {
    server: GitServer,
    forge: MemoryForge,
    config: Config,
    metrics: Metrics,
    memory: Memory,
    _cache: tempfile::TempDir,
}

fn world() -> World {
    let server = GitServer::start();
    server.create_repo(REPO, Path::new("fixtures/demo/repo"), 1);
    let forge = MemoryForge::new(server.url(REPO));
    let cache = tempfile::tempdir().unwrap();
    let config = Config {
        allowed_repositories: vec![format!("http://127.0.0.1:{}/acme/*", server.port)],
        cache_dir: cache.path().to_path_buf(),
        ..Config::default()
    };
    World {
        server,
        forge,
        config,
        metrics: Metrics::new(),
        memory: Memory::default(),
        _cache: cache,
    }
}

fn policy(export: PullRequestExport) -> AttunePolicy {
    let text = std::fs::read_to_string("fixtures/demo/policies.yaml").unwrap();
    let mut p = load_policies(&text).unwrap().remove(0);
    p.metadata.uid = Some("uid-1".into());
    let strategy = p
        .spec
        .update_strategy
        .get_or_insert_with(UpdateStrategy::default);
    strategy.export = Some(Export {
        config_map: None,
        pull_request: Some(PullRequestExport {
            enabled: Some(true),
            ..export
        }),
    });
    p
}

fn located(w: &World, p: &AttunePolicy, cpu: &str, synced: &str) -> Vec<Located> {
    located_with(w, p, cpu, synced, |_| {})
}

fn located_with(
    w: &World,
    p: &AttunePolicy,
    cpu: &str,
    synced: &str,
    edit: impl FnOnce(&mut Source),
) -> Vec<Located> {
    let mut source = Source {
        tool: Tool::ArgoCd,
        repo_url: w.server.url(REPO),
        revision: Revision {
            kind: RevisionKind::Branch,
            name: "main".into(),
            resolved: Some(synced.into()),
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
    };
    edit(&mut source);
    let mut rec = p.status.as_ref().unwrap().recommendations[0].clone();
    rec.containers[0].recommended.cpu_request = Some(cpu.into());
    vec![Located {
        kind: "Deployment".into(),
        name: "api".into(),
        recommendation: rec,
        source: Ok(source),
    }]
}

async fn reconcile(w: &World, p: &AttunePolicy, cpu: &str) -> Report {
    reconcile_with(w, &w.memory, p, cpu, "c1").await
}

async fn reconcile_with(
    w: &World,
    memory: &Memory,
    p: &AttunePolicy,
    cpu: &str,
    synced: &str,
) -> Report {
    run(w, memory, p, &located(w, p, cpu, synced)).await
}

async fn run(w: &World, memory: &Memory, p: &AttunePolicy, located: &[Located]) -> Report {
    let env = Env {
        config: &w.config,
        metrics: &w.metrics,
        memory,
    };
    reconcile_located(
        &env,
        p,
        located,
        GivenForge {
            forge: &w.forge,
            git_token: Some(TOKEN.into()),
        },
    )
    .await
}

fn reason(r: &Report) -> &str {
    r.condition.reason.as_deref().unwrap_or_default()
}

fn note_reasons(r: &Report) -> Vec<&str> {
    r.notes.iter().map(|n| n.reason.as_str()).collect()
}

fn no_cooldown() -> PullRequestExport {
    PullRequestExport {
        cooldown: Some("0s".into()),
        ..Default::default()
    }
}

/// Runs `f` while the repository cannot be reached: any git access would fail.
async fn without_git<T>(w: &World, f: impl std::future::Future<Output = T>) -> T {
    let bare = w.server.bare(REPO);
    let hidden = bare.with_extension("hidden");
    std::fs::rename(&bare, &hidden).unwrap();
    let out = f.await;
    std::fs::rename(&hidden, &bare).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_reconcile_opens_one_pr_and_steady_state_costs_nothing() {
    let w = world();
    let p = policy(PullRequestExport::default());
    let first = reconcile(&w, &p, "250m").await;
    assert_eq!(reason(&first), "PullRequestOpen", "{:?}", first.condition);
    assert_eq!(first.condition.status, "True");
    assert_eq!(note_reasons(&first), ["PullRequestOpened"]);
    assert_eq!(w.forge.all().len(), 1);
    assert_eq!(w.forge.calls().1, 1, "one forge write: the create");
    let patch = w.server.show(REPO, BRANCH, PATCH);
    assert!(patch.contains("cpu: 250m"), "{patch}");
    let status = first.status.clone().unwrap();
    let row = &status.pull_requests[0];
    assert_eq!(row.branch.as_deref(), Some(BRANCH));
    assert_eq!(row.number, Some(1));
    assert_eq!(row.state.as_deref(), Some("open"));
    assert_eq!(row.path.as_deref(), Some("overlays/production"));
    assert_eq!(row.revision.as_deref(), Some("main"));
    assert_eq!(
        row.repository.as_deref(),
        Some(format!("127.0.0.1:{}/acme/gitops", w.server.port).as_str())
    );
    assert_eq!(row.owner.as_deref(), Some("argo cd application argocd/api"));
    assert_eq!(row.workloads, ["Deployment/api"]);
    assert!(
        row.last_change_hash
            .as_deref()
            .is_some_and(|h| !h.is_empty())
    );
    assert!(status.last_polled.is_some());
    assert_eq!(first.requeue_after, Some(w.config.pr_poll_interval));

    w.forge.reset_calls();
    let tip = w.server.tip(REPO, BRANCH);
    let again = without_git(&w, reconcile(&w, &p, "250m")).await;
    assert_eq!(reason(&again), "PullRequestOpen", "{:?}", again.condition);
    assert!(
        again.notes.is_empty(),
        "steady state publishes nothing: {:?}",
        again.notes
    );
    assert_eq!(w.forge.calls(), (0, 0), "no forge call in steady state");
    assert_eq!(w.server.tip(REPO, BRANCH), tip);
    assert_eq!(again.status.unwrap().pull_requests[0].number, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_reads_the_pr_state_only_and_sees_a_merge() {
    let mut w = world();
    w.config.pr_poll_interval = Duration::ZERO;
    let p = policy(PullRequestExport::default());
    assert_eq!(reason(&reconcile(&w, &p, "250m").await), "PullRequestOpen");

    w.forge.reset_calls();
    let polled = without_git(&w, reconcile(&w, &p, "250m")).await;
    assert_eq!(reason(&polled), "PullRequestOpen", "{:?}", polled.condition);
    assert_eq!(w.forge.calls(), (1, 0), "a poll is one read and no git");

    // A human merges: main now holds the bot's commit.
    let tip = w.server.tip(REPO, BRANCH).unwrap();
    git(
        &w.server.bare(REPO),
        &["update-ref", "refs/heads/main", &tip],
    );
    w.forge.set_state(1, PrState::Merged);
    w.forge.reset_calls();
    let merged = reconcile(&w, &p, "250m").await;
    assert_eq!(
        reason(&merged),
        "PullRequestMerged",
        "{:?}",
        merged.condition
    );
    assert_eq!(merged.condition.status, "False");
    assert_eq!(w.forge.calls().1, 0, "nothing to write after a merge");
    assert_eq!(w.forge.all().len(), 1, "no fresh pull request");
    let row = &merged.status.unwrap().pull_requests[0];
    assert_eq!(row.state.as_deref(), Some("merged"));
    w.forge.reset_calls();
    let after = without_git(&w, reconcile(&w, &p, "250m")).await;
    assert_eq!(reason(&after), "PullRequestMerged");
    assert_eq!(
        w.forge.calls(),
        (0, 0),
        "a merged pull request is not read again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_recommendation_updates_the_same_pr() {
    let w = world();
    let p = policy(no_cooldown());
    reconcile(&w, &p, "250m").await;
    w.forge.reset_calls();
    let moved = reconcile(&w, &p, "200m").await;
    assert_eq!(reason(&moved), "PullRequestOpen", "{:?}", moved.condition);
    assert_eq!(note_reasons(&moved), ["PullRequestUpdated"]);
    assert_eq!(w.forge.calls(), (1, 1), "find + edit");
    assert_eq!(w.forge.all().len(), 1);
    assert!(w.server.show(REPO, BRANCH, PATCH).contains("cpu: 200m"));
    assert_eq!(moved.status.unwrap().pull_requests[0].number, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cooldown_holds_an_update_back_without_touching_git_or_the_forge() {
    let w = world();
    let p = policy(PullRequestExport::default());
    reconcile(&w, &p, "250m").await;
    w.forge.reset_calls();
    let held = without_git(&w, reconcile(&w, &p, "200m")).await;
    assert_eq!(reason(&held), "PullRequestCooldown", "{:?}", held.condition);
    let message = held.condition.message.clone().unwrap();
    assert!(
        message.contains("export.pullRequest.cooldown (24h)"),
        "{message}"
    );
    assert_eq!(w.forge.calls(), (0, 0));
    assert!(w.server.show(REPO, BRANCH, PATCH).contains("cpu: 250m"));
    let wait = held.requeue_after.unwrap();
    assert!(
        wait <= w.config.pr_poll_interval && wait > Duration::ZERO,
        "{wait:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_open_pr_is_found_not_duplicated() {
    let w = world();
    let p = policy(PullRequestExport::default());
    reconcile(&w, &p, "250m").await;
    w.forge.reset_calls();
    let fresh = Memory::default();
    let after = reconcile_with(&w, &fresh, &p, "250m", "c1").await;
    assert_eq!(reason(&after), "PullRequestOpen", "{:?}", after.condition);
    assert!(after.notes.is_empty(), "{:?}", after.notes);
    assert_eq!(w.forge.all().len(), 1, "still one pull request");
    assert_eq!(w.forge.calls().1, 0);
    assert_eq!(after.status.unwrap().pull_requests[0].number, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_outside_the_allowlist_is_never_written() {
    let mut w = world();
    w.config.allowed_repositories = vec![format!("http://127.0.0.1:{}/other/*", w.server.port)];
    let p = policy(PullRequestExport::default());
    let refused = reconcile(&w, &p, "250m").await;
    assert_eq!(reason(&refused), "PullRequestFailed");
    assert_eq!(note_reasons(&refused), ["RepositoryNotAllowed"]);
    let message = refused.condition.message.unwrap();
    assert!(
        message.contains("acme/gitops is not in the operator's allowed repositories"),
        "{message}"
    );
    assert_eq!(w.forge.calls(), (0, 0));
    assert_eq!(w.server.tip(REPO, BRANCH), None);
    let again = reconcile(&w, &p, "250m").await;
    assert!(again.notes.is_empty(), "said once: {:?}", again.notes);
    assert!(w.metrics.encode().contains("category=\"repository\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_repository_other_than_the_deploying_one_is_refused() {
    let w = world();
    let p = policy(PullRequestExport {
        repository: Some("acme/elsewhere".into()),
        ..Default::default()
    });
    let refused = reconcile(&w, &p, "250m").await;
    assert_eq!(note_reasons(&refused), ["RepositoryNotAllowed"]);
    assert!(
        refused
            .condition
            .message
            .unwrap()
            .contains("\"acme/elsewhere\""),
    );
    assert_eq!(w.forge.calls(), (0, 0));
    assert_eq!(w.server.tip(REPO, BRANCH), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_writes_nothing_and_says_what_it_would_do() {
    let w = world();
    let p = policy(PullRequestExport {
        dry_run: Some(true),
        ..Default::default()
    });
    let dry = reconcile(&w, &p, "250m").await;
    assert_eq!(reason(&dry), "PullRequestDryRun", "{:?}", dry.condition);
    assert!(dry.condition.message.unwrap().contains("would be created"));
    assert_eq!(w.forge.calls().1, 0);
    assert_eq!(w.server.tip(REPO, BRANCH), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_mode_and_a_disabled_export_propose_nothing() {
    let w = world();
    let mut observing = policy(PullRequestExport::default());
    observing.spec.update_strategy.as_mut().unwrap().type_ = Some(UpdateMode::Observe);
    let r = reconcile(&w, &observing, "250m").await;
    assert_eq!(reason(&r), "PullRequestDisabled");
    assert!(r.status.is_none());
    let mut off = policy(PullRequestExport::default());
    off.spec
        .update_strategy
        .as_mut()
        .unwrap()
        .export
        .as_mut()
        .unwrap()
        .pull_request
        .as_mut()
        .unwrap()
        .enabled = Some(false);
    assert_eq!(
        reason(&reconcile(&w, &off, "250m").await),
        "PullRequestDisabled"
    );
    assert_eq!(w.forge.calls(), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forge_that_serves_another_host_is_refused_before_any_git() {
    let mut w = world();
    w.forge = MemoryForge::new("https://evil.example.com/acme/gitops.git".into());
    let p = policy(PullRequestExport::default());
    let r = reconcile(&w, &p, "250m").await;
    assert_eq!(reason(&r), "PullRequestFailed");
    assert_eq!(note_reasons(&r), ["PullRequestFailed"]);
    assert!(
        r.condition
            .message
            .unwrap()
            .contains("set apiUrl to the forge")
    );
    assert_eq!(w.forge.calls(), (0, 0));
    assert_eq!(w.server.tip(REPO, BRANCH), None);
    assert!(!format!("{:?}", r.notes).contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadowing_settings_are_reported_not_ignored() {
    let server = GitServer::start();
    let files = tempfile::tempdir().unwrap();
    crate::support::git_http::copy_tree(Path::new("fixtures/demo/repo"), files.path());
    std::fs::write(
        files
            .path()
            .join("overlays/production/.argocd-source-api.yaml"),
        "kustomize:\n  images: [example/api:v2]\n",
    )
    .unwrap();
    server.create_repo(REPO, files.path(), 0);
    let mut w = world();
    w.forge = MemoryForge::new(server.url(REPO));
    w.config.allowed_repositories = vec![format!("http://127.0.0.1:{}/acme/*", server.port)];
    w.server = server;
    let p = policy(PullRequestExport::default());
    let located = located_with(&w, &p, "250m", "c1", |s| {
        s.shadows.push(Shadow {
            what: ShadowKind::KustomizePatches,
            detail: "argo cd application argocd/api sets kustomize.patches".into(),
            keys: vec![],
        });
        for file in [".argocd-source.yaml", ".argocd-source-api.yaml"] {
            s.checks.push(RepoCheck {
                file: format!("overlays/production/{file}"),
                why: "argo cd merges its overrides over the source".into(),
            });
        }
    });
    let r = run(&w, &w.memory, &p, &located).await;
    assert_eq!(reason(&r), "PullRequestOpen", "{:?}", r.condition);
    assert_eq!(note_reasons(&r), ["PullRequestOpened", "GitOpsShadowed"]);
    let shadowed = &r.notes[1].note;
    assert!(shadowed.contains("sets kustomize.patches"), "{shadowed}");
    assert!(
        shadowed.contains("overlays/production/.argocd-source-api.yaml"),
        "{shadowed}"
    );
    assert!(
        !shadowed.contains("overlays/production/.argocd-source.yaml"),
        "only files that exist: {shadowed}"
    );
    assert!(r.condition.message.unwrap().contains("may be overridden"));
    let again = run(&w, &w.memory, &p, &located).await;
    assert!(again.notes.is_empty(), "said once: {:?}", again.notes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_default_branch_fails_once_with_the_field_to_set() {
    let w = world();
    git(&w.server.bare(REPO), &["branch", "-m", "main", "trunk"]);
    let p = policy(PullRequestExport::default());
    let located = located_with(&w, &p, "250m", "c1", |s| {
        s.revision.kind = RevisionKind::DefaultBranch;
        s.revision.name = "HEAD".into();
    });
    let r = run(&w, &w.memory, &p, &located).await;
    assert_eq!(reason(&r), "PullRequestFailed");
    assert_eq!(note_reasons(&r), ["PullRequestFailed"]);
    let message = r.condition.message.unwrap();
    assert!(
        message.contains("base branch main does not exist"),
        "{message}"
    );
    assert!(
        message.contains("set export.pullRequest.baseBranch"),
        "{message}"
    );
    assert!(!message.contains(TOKEN));
    assert_eq!(w.forge.calls().1, 0);
    assert_eq!(r.requeue_after, Some(w.config.error_requeue));
    assert!(w.metrics.encode().contains("category=\"repository\""));

    w.forge.reset_calls();
    let again = run(&w, &w.memory, &p, &located).await;
    assert_eq!(reason(&again), "PullRequestFailed");
    assert!(again.notes.is_empty(), "said once: {:?}", again.notes);
    assert_eq!(
        w.forge.calls(),
        (0, 0),
        "retried only after the error requeue"
    );

    let fixed = policy(PullRequestExport {
        base_branch: Some("trunk".into()),
        ..Default::default()
    });
    let r = run(&w, &w.memory, &fixed, &located).await;
    assert_eq!(reason(&r), "PullRequestOpen", "{:?}", r.condition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newly_synced_commit_is_looked_at_despite_the_cooldown() {
    let w = world();
    let p = policy(PullRequestExport::default());
    reconcile(&w, &p, "250m").await;
    w.forge.reset_calls();
    let tip = w.server.tip(REPO, BRANCH);
    let looked = reconcile_with(&w, &w.memory, &p, "250m", "c2").await;
    assert_eq!(reason(&looked), "PullRequestOpen", "{:?}", looked.condition);
    assert!(looked.notes.is_empty(), "{:?}", looked.notes);
    assert_eq!(
        w.forge.calls(),
        (1, 0),
        "find the pull request, write nothing"
    );
    assert_eq!(w.server.tip(REPO, BRANCH), tip);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pr_closed_by_a_human_is_respected_not_reopened() {
    let mut w = world();
    w.config.pr_poll_interval = Duration::ZERO;
    let p = policy(PullRequestExport::default());
    reconcile(&w, &p, "250m").await;
    w.forge.set_state(1, PrState::Closed);
    w.forge.reset_calls();
    let closed = reconcile(&w, &p, "250m").await;
    assert_eq!(
        reason(&closed),
        "PullRequestClosed",
        "{:?}",
        closed.condition
    );
    assert_eq!(closed.condition.status, "False");
    assert!(
        closed
            .condition
            .message
            .unwrap()
            .contains("closed by a human")
    );
    assert_eq!(w.forge.calls().1, 0, "no reopening, no new pull request");
    assert_eq!(w.forge.all().len(), 1);
    assert_eq!(
        closed.status.unwrap().pull_requests[0].state.as_deref(),
        Some("closed")
    );
    w.forge.reset_calls();
    let later = reconcile(&w, &p, "250m").await;
    assert_eq!(reason(&later), "PullRequestClosed");
    assert_eq!(w.forge.calls(), (1, 0), "a poll, nothing else");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_fail_once_with_the_field_and_touch_nothing() {
    let w = world();
    for (export, field) in [
        (
            PullRequestExport {
                cooldown: Some("a day".into()),
                ..Default::default()
            },
            "export.pullRequest.cooldown \"a day\" is not a duration",
        ),
        (
            PullRequestExport {
                min_change_percent: Some(-5),
                ..Default::default()
            },
            "export.pullRequest.minChangePercent -5 is out of range",
        ),
    ] {
        let p = policy(export);
        let r = reconcile(&w, &p, "250m").await;
        assert_eq!(reason(&r), "PullRequestFailed");
        let message = r.condition.message.clone().unwrap();
        assert!(message.contains(field), "{message}");
        assert_eq!(note_reasons(&r), ["PullRequestFailed"]);
        let again = reconcile(&w, &p, "250m").await;
        assert!(again.notes.is_empty(), "said once: {:?}", again.notes);
    }
    assert_eq!(w.forge.calls(), (0, 0));
    assert_eq!(w.server.tip(REPO, BRANCH), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_reverted_for_an_oom_kill_is_left_out_and_the_body_says_why() {
    use attune::controller::gitops::held::{held, hold_back};
    // Without a revert the pull request proposes the recommended memory, 320Mi.
    let plain = world();
    let p = policy(PullRequestExport::default());
    reconcile(&plain, &p, "250m").await;
    assert!(plain.server.show(REPO, BRANCH, PATCH).contains("320Mi"));

    // The controller resized app to 320Mi and reverted it for an OOM kill a minute ago.
    let w = world();
    let mut p = policy(PullRequestExport::default());
    let now = chrono::Utc::now();
    let at =
        (now - chrono::TimeDelta::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    p.status.as_mut().unwrap().resize_history.push(
        serde_json::from_value(serde_json::json!({
            "timestamp": at, "workload": "api", "container": "app", "resource": "memory",
            "from": "320Mi", "to": "512Mi", "method": "InPlace", "result": "Reverted",
            "reason": "oomkill",
        }))
        .unwrap(),
    );
    let mut sources = located(&w, &p, "250m", "c1");
    sources[0].recommendation = hold_back(sources[0].recommendation.clone(), &held(&p, now));
    let report = run(&w, &w.memory, &p, &sources).await;
    assert_eq!(reason(&report), "PullRequestOpen", "{:?}", report.condition);
    let patch = w.server.show(REPO, BRANCH, PATCH);
    assert!(patch.contains("cpu: 250m"), "{patch}");
    assert!(
        !patch.contains("320Mi"),
        "the reverted value is not proposed: {patch}"
    );
    let body = &w.forge.all()[0].body;
    assert!(
        body.contains(
            "- `production/Deployment/api/app`: memory left out: the resize to 320Mi was \
             reverted after an OOM kill; it is not proposed again until the revert backoff ends"
        ),
        "{body}"
    );
}
