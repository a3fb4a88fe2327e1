//! The pull-request lifecycle over a real git smart-HTTP server (lighttpd + git http-backend,
//! basic auth) with an in-memory forge that counts calls: open, leave alone, update, respect a
//! human close and a human commit, close when obsolete, survive a crash after the push.

use std::path::Path;

use crate::support::git_http::{GitServer, TOKEN};
use crate::support::memory_forge::MemoryForge;
use attune::crd::{FilePolicy, load_policy_files};
use attune::forge::{Forge, ForgeRepo, PrState};
use attune::git::Identity;
use attune::pr::{Action, Clearance, Limits, Settings, Target, sync};

const BRANCH: &str = "attune/production/api";

fn policies(cpu: &str) -> Vec<FilePolicy> {
    let text = std::fs::read_to_string("fixtures/demo/policies.yaml").unwrap();
    let mut policies = load_policy_files(&text).unwrap();
    let rec = &mut policies[0].status.as_mut().unwrap().recommendations[0];
    rec.containers[0].recommended.cpu_request = Some(cpu.to_owned());
    policies
}

fn settings(cache: &Path) -> Settings {
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
        write_gate: attune::pr::WriteGate::always_open(),
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
    server.create_repo("gitops", Path::new("fixtures/demo/repo"), 3);
    let forge = MemoryForge::new(server.url("gitops"));
    let target = Target {
        repo: ForgeRepo::parse("acme/gitops").unwrap(),
        url: server.url("gitops"),
        base: "main".into(),
        scope: attune::repo::Scope::whole(),
        scopes: Default::default(),
        clearance: Clearance::new(&forge.api_base(), &server.url("gitops")).unwrap(),
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

async fn run(w: &World, cpu: &str) -> attune::pr::RunResult {
    sync(
        &w.forge,
        &w.target,
        &policies(cpu),
        &settings(w.cache.path()),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn one_pr_opened_then_left_alone_then_updated_in_place() {
    let w = world();
    let first = run(&w, "250m").await;
    assert_eq!(first.action, Action::Created, "{}", first.reason);
    assert_eq!(first.number, Some(1));
    // Opening: find + limits + create (labels ride along on this forge).
    assert_eq!(w.forge.calls(), (2, 1));
    let patch = w.server.show(
        "gitops",
        BRANCH,
        "overlays/production/attune-deployment-api.yaml",
    );
    assert!(patch.contains("cpu: 250m"), "{patch}");
    let base = w.server.show("gitops", "main", "base/deployment.yaml");
    assert!(!base.contains("250m"), "the shared base must not change");
    let pr = &w.forge.all()[0];
    assert!(
        pr.body
            .contains("| `app` | cpu-request | 500m | **250m** | -50 %"),
        "{}",
        pr.body
    );
    assert!(
        pr.body.trim_end().ends_with("-->"),
        "marker last: {}",
        pr.body
    );

    w.forge.reset_calls();
    let tip = w.server.tip("gitops", BRANCH);
    let again = run(&w, "250m").await;
    assert_eq!(again.action, Action::Unchanged);
    assert_eq!(
        w.forge.calls(),
        (1, 0),
        "a run with nothing new is one read"
    );
    assert_eq!(w.server.tip("gitops", BRANCH), tip, "no push either");

    w.forge.reset_calls();
    let moved = run(&w, "200m").await;
    assert_eq!(moved.action, Action::Updated);
    assert_eq!(moved.number, Some(1));
    assert_eq!(w.forge.calls(), (1, 1), "updating is find + edit");
    assert_ne!(w.server.tip("gitops", BRANCH), tip);
    let patch = w.server.show(
        "gitops",
        BRANCH,
        "overlays/production/attune-deployment-api.yaml",
    );
    assert!(patch.contains("cpu: 200m"), "{patch}");
    assert_eq!(w.forge.all().len(), 1, "never a second PR");
    assert!(w.forge.all()[0].body.contains("**200m**"));
}

#[tokio::test]
async fn a_human_close_is_respected_until_values_move_enough() {
    let w = world();
    assert_eq!(run(&w, "250m").await.action, Action::Created);
    w.forge.set_state(1, PrState::Closed);
    let small = run(&w, "240m").await;
    assert_eq!(small.action, Action::Skipped, "{}", small.reason);
    assert!(
        small.reason.contains("closed by a human"),
        "{}",
        small.reason
    );
    assert_eq!(w.forge.all().len(), 1);
    let big = run(&w, "150m").await;
    assert_eq!(big.action, Action::Created, "{}", big.reason);
    assert_eq!(big.number, Some(2));
}

#[tokio::test]
async fn a_merged_pr_is_reported_and_the_next_change_opens_a_fresh_one() {
    let w = world();
    assert_eq!(run(&w, "250m").await.action, Action::Created);
    w.forge.set_state(1, PrState::Merged);
    let next = run(&w, "150m").await;
    assert_eq!(next.action, Action::Created);
    assert_eq!(next.previous, Some(PrState::Merged));
    assert!(next.reason.contains("#1 was merged"), "{}", next.reason);
}

#[tokio::test]
async fn a_human_commit_on_the_bot_branch_stops_the_bot_with_one_comment() {
    let w = world();
    assert_eq!(run(&w, "250m").await.action, Action::Created);
    w.server
        .human_commit("gitops", BRANCH, "overlays/production/notes.txt", "mine\n");
    let human_tip = w.server.tip("gitops", BRANCH);
    for _ in 0..2 {
        let r = run(&w, "150m").await;
        assert_eq!(r.action, Action::Skipped, "{}", r.reason);
        assert!(r.reason.contains("someone else pushed"), "{}", r.reason);
    }
    assert_eq!(
        w.server.tip("gitops", BRANCH),
        human_tip,
        "never force-pushed over"
    );
    assert_eq!(w.forge.comments_on(1).len(), 1, "said once");
}

#[tokio::test]
async fn an_obsolete_pr_is_closed_with_a_comment_and_its_branch_deleted() {
    let w = world();
    assert_eq!(run(&w, "250m").await.action, Action::Created);
    // Someone applies the values by hand: merge the bot branch into main outside the forge.
    let work = w.server.dir.path().join("apply");
    crate::support::git_http::git(
        w.server.dir.path(),
        &[
            "clone",
            "-q",
            &w.server.auth_url("gitops"),
            work.to_str().unwrap(),
        ],
    );
    crate::support::git_http::git(
        &work,
        &["merge", "-q", "--ff-only", &format!("origin/{BRANCH}")],
    );
    crate::support::git_http::git(&work, &["push", "-q", "origin", "main"]);
    let r = run(&w, "250m").await;
    assert_eq!(r.action, Action::Closed, "{}", r.reason);
    assert_eq!(w.forge.all()[0].state, PrState::Closed);
    assert_eq!(w.forge.comments_on(1).len(), 1);
    assert_eq!(w.server.tip("gitops", BRANCH), None, "no stray branch");
}

#[tokio::test]
async fn a_crash_after_the_push_ends_in_exactly_one_pr_without_a_second_push() {
    let w = world();
    // The first run pushed and died before the forge call: simulate with a forge that is
    // emptied afterwards.
    assert_eq!(run(&w, "250m").await.action, Action::Created);
    w.forge.clear_prs();
    let tip = w.server.tip("gitops", BRANCH);
    let rerun = run(&w, "250m").await;
    assert_eq!(rerun.action, Action::Created);
    assert_eq!(w.forge.all().len(), 1);
    assert_eq!(
        w.server.tip("gitops", BRANCH),
        tip,
        "the bot commit was reused"
    );
    // And a crash after the PR was opened: the rerun finds it and writes nothing.
    w.forge.reset_calls();
    assert_eq!(run(&w, "250m").await.action, Action::Unchanged);
    assert_eq!(w.forge.calls(), (1, 0));
}

#[tokio::test]
async fn a_wrong_token_fails_with_a_message_that_does_not_carry_it() {
    let w = world();
    let mut s = settings(w.cache.path());
    s.git_token = Some("wrong-secret-value".into());
    let err = sync(&w.forge, &w.target, &policies("250m"), &s)
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("wrong-secret-value"), "{text}");
    assert!(text.contains("listing remote branches"), "{text}");
}

#[tokio::test]
async fn dry_run_plans_without_writing() {
    let w = world();
    let mut s = settings(w.cache.path());
    s.dry_run = true;
    let r = sync(&w.forge, &w.target, &policies("250m"), &s)
        .await
        .unwrap();
    assert_eq!(r.action, Action::Created);
    assert!(r.reason.starts_with("dry run"));
    assert!(
        r.diff
            .contains("+++ b/overlays/production/attune-deployment-api.yaml")
    );
    assert!(r.body.unwrap().contains("**250m**"));
    assert_eq!(w.forge.calls().1, 0);
    assert_eq!(w.server.tip("gitops", BRANCH), None);
}

#[tokio::test]
async fn a_branch_pushed_by_someone_else_while_we_work_is_never_overwritten() {
    let w = world();
    // Between our look at the remote and our push, a developer pushes the same branch name.
    let dir = w.server.dir.path().to_path_buf();
    let url = w.server.auth_url("gitops");
    *w.forge.on_list.lock().unwrap() = Some(Box::new(move || {
        let work = dir.join("racer");
        crate::support::git_http::git(&dir, &["clone", "-q", &url, work.to_str().unwrap()]);
        crate::support::git_http::git(&work, &["checkout", "-q", "-b", BRANCH]);
        std::fs::write(work.join("README.md"), "mine\n").unwrap();
        crate::support::git_http::git(&work, &["add", "-A"]);
        crate::support::git_http::git(&work, &["commit", "-q", "-m", "racing commit"]);
        crate::support::git_http::git(&work, &["push", "-q", "origin", BRANCH]);
    }));
    let r = run(&w, "250m").await;
    assert_eq!(r.action, Action::Skipped, "{}", r.reason);
    assert!(r.reason.contains("someone else pushed"), "{}", r.reason);
    let racer = w.server.show("gitops", BRANCH, "README.md");
    assert_eq!(racer, "mine", "the human's commit is still the tip");
    assert!(
        w.forge.all().is_empty(),
        "no PR for a branch that is not ours"
    );
}

#[tokio::test]
async fn workspace_leases_refuse_a_moved_or_appeared_branch() {
    use attune::git::{Credentials, Lease, PushOutcome, Workspace};
    let w = world();
    let cache = tempfile::tempdir().unwrap();
    let creds = Credentials {
        username: crate::support::git_http::USER.into(),
        token: TOKEN.into(),
    };
    let ws = Workspace::open(cache.path(), &w.server.url("gitops"), Some(creds)).unwrap();
    let heads = ws.remote_heads().unwrap();
    let main = heads["main"];
    ws.fetch(&["main"], None).unwrap();
    let id = Identity {
        name: "Attune".into(),
        email: "attune-bot@example.com".into(),
    };
    let one = ws
        .commit_files(main, &[], "one\n\nAttune-Change: a", &id)
        .unwrap();
    assert_eq!(
        ws.push(one, "attune/x", Lease::Absent).unwrap(),
        PushOutcome::Pushed
    );
    let two = ws
        .commit_files(main, &[], "two\n\nAttune-Change: b", &id)
        .unwrap();
    assert!(
        matches!(ws.push(two, "attune/x", Lease::Absent).unwrap(), PushOutcome::Rejected(m) if m.contains("appeared"))
    );
    assert!(
        matches!(ws.push(two, "attune/x", Lease::Expect(main)).unwrap(), PushOutcome::Rejected(m) if m.contains("moved"))
    );
    assert_eq!(
        ws.push(two, "attune/x", Lease::Expect(one)).unwrap(),
        PushOutcome::Pushed
    );
    assert_eq!(w.server.tip("gitops", "attune/x"), Some(two.to_string()));
}

#[tokio::test]
async fn hourly_and_concurrent_limits_hold_back_new_prs() {
    let w = world();
    assert_eq!(run(&w, "250m").await.action, Action::Created);
    // A second branch (one PR per workload, say) in the same repository.
    let mut other = settings(w.cache.path());
    other.branch = "attune/production/api_deployment-api".into();
    other.limits = Limits {
        hourly: 1,
        concurrent: 10,
        prefix: "attune/".into(),
    };
    let r = sync(&w.forge, &w.target, &policies("250m"), &other)
        .await
        .unwrap();
    assert_eq!(r.action, Action::Skipped);
    assert!(r.reason.contains("prHourlyLimit"), "{}", r.reason);
    other.limits = Limits {
        hourly: 0,
        concurrent: 1,
        prefix: "attune/".into(),
    };
    let r = sync(&w.forge, &w.target, &policies("250m"), &other)
        .await
        .unwrap();
    assert_eq!(r.action, Action::Skipped);
    assert!(r.reason.contains("prConcurrentLimit"), "{}", r.reason);
    assert_eq!(w.forge.all().len(), 1);
    assert_eq!(
        w.server.tip("gitops", &other.branch),
        None,
        "nothing pushed either"
    );
    other.limits.concurrent = 2;
    let r = sync(&w.forge, &w.target, &policies("250m"), &other)
        .await
        .unwrap();
    assert_eq!(r.action, Action::Created, "{}", r.reason);
}

#[tokio::test]
async fn templates_are_overridable_from_a_directory() {
    let w = world();
    let templates = tempfile::tempdir().unwrap();
    std::fs::write(
        templates.path().join("pr-title.txt.j2"),
        "[resources] {{ workloads | length }} workload(s), {{ policies | join(\",\") }}\n",
    )
    .unwrap();
    let mut s = settings(w.cache.path());
    s.templates = Some(templates.path().to_path_buf());
    let r = sync(&w.forge, &w.target, &policies("250m"), &s)
        .await
        .unwrap();
    assert_eq!(r.action, Action::Created);
    let pr = &w.forge.all()[0];
    assert_eq!(pr.title, "[resources] 1 workload(s), api");
    // The body falls back to the built-in template and still ends with the marker.
    assert!(pr.body.contains("Estimated savings"), "{}", pr.body);
    assert!(pr.body.trim_end().ends_with("-->"));
    std::fs::write(templates.path().join("pr-body.md.j2"), "{{ nope(").unwrap();
    let err = sync(&w.forge, &w.target, &policies("200m"), &s)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("template pr-body.md.j2"), "{err}");
}

#[test]
fn settings_and_credentials_print_no_token() {
    let s = settings(Path::new("/cache"));
    let shown = format!("{s:?} {:?}", s.git_token);
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("git_token: Some(***)"), "{shown}");
    let creds = attune::git::Credentials {
        username: "bot".into(),
        token: TOKEN.into(),
    };
    let shown = format!("{creds:?} {}", creds.token);
    assert!(!shown.contains(TOKEN), "{shown}");
}

#[tokio::test]
async fn one_forge_keeps_each_repository_apart() {
    // Two repositories on one forge, the same bot branch name in both: each gets its own
    // pull request #1, and neither run sees the other's.
    let w = world();
    w.server
        .create_repo("other", Path::new("fixtures/demo/repo"), 0);
    assert_eq!(run(&w, "250m").await.action, Action::Created);
    let other = Target {
        repo: ForgeRepo::parse("acme/other").unwrap(),
        url: w.server.url("other"),
        clearance: Clearance::new(&w.forge.api_base(), &w.server.url("other")).unwrap(),
        ..w.target.clone()
    };
    let r = sync(
        &w.forge,
        &other,
        &policies("250m"),
        &settings(w.cache.path()),
    )
    .await
    .unwrap();
    assert_eq!(r.action, Action::Created, "{}", r.reason);
    assert_eq!(r.number, Some(1));
    assert_eq!(w.forge.all_in("acme/gitops").len(), 1);
    assert_eq!(w.forge.all_in("acme/other").len(), 1);
}

#[test]
fn policies_of_one_repository_sync_at_once_on_one_fresh_cache() {
    // The controller reconciles several policies at once; those deploying from one repository
    // share its cache clone. Each run must wait for the clone, not fail on git's lock files.
    let w = world();
    for round in 0..3 {
        let cache = tempfile::tempdir().unwrap();
        let actions: Vec<Action> = std::thread::scope(|scope| {
            let runs: Vec<_> = (0..4)
                .map(|i| {
                    let (w, cache) = (&w, cache.path());
                    scope.spawn(move || {
                        let mut s = settings(cache);
                        s.branch = format!("attune/production/api-{round}-{i}");
                        s.limits = Limits {
                            hourly: 0,
                            concurrent: 0,
                            prefix: "attune/".into(),
                        };
                        let runtime = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .unwrap();
                        runtime
                            .block_on(sync(&w.forge, &w.target, &policies("250m"), &s))
                            .map(|r| r.action)
                            .map_err(|e| e.to_string())
                    })
                })
                .collect();
            runs.into_iter()
                .map(|r| {
                    r.join()
                        .unwrap()
                        .unwrap_or_else(|e| panic!("round {round}: {e}"))
                })
                .collect()
        });
        assert_eq!(actions, [Action::Created; 4], "round {round}");
    }
    assert_eq!(w.forge.all().len(), 12);
}
