//! The token gate on the controller's paths after `locate`: a policy whose `apiUrl` changed
//! after its pull request was opened points at another server (a listener that records every
//! request); the poll that follows, and the run after it, send that server nothing — no
//! request, so no token — and the policy reports why.

use std::path::Path;
use std::time::Duration;

use crate::support::git_http::{GitServer, TOKEN};
use crate::support::memory_forge::MemoryForge;
use crate::support::tiny_http::Tiny;
use attune::controller::Config;
use attune::controller::gitops::forge::GivenForge;
use attune::controller::gitops::{Env, Located, Memory, Report, reconcile_located};
use attune::crd::{AttunePolicy, Export, PullRequestExport, UpdateStrategy, load_policies};
use attune::forge::Forge;
use attune::forge::gitea::Gitea;
use attune::locate::{ObjectKind, ObjectRef, Revision, RevisionKind, Source, Tool};
use attune::metrics::Metrics;

const REPO: &str = "acme/gitops";

fn policy(api_url: Option<String>) -> AttunePolicy {
    let text = std::fs::read_to_string("fixtures/demo/policies.yaml").unwrap();
    let mut p = load_policies(&text).unwrap().remove(0);
    p.metadata.uid = Some("uid-gate".into());
    let strategy = p
        .spec
        .update_strategy
        .get_or_insert_with(UpdateStrategy::default);
    strategy.export = Some(Export {
        config_map: None,
        pull_request: Some(PullRequestExport {
            enabled: Some(true),
            api_url,
            ..Default::default()
        }),
    });
    p
}

fn located(server: &GitServer, p: &AttunePolicy) -> Vec<Located> {
    let source = Source {
        tool: Tool::ArgoCd,
        repo_url: server.url(REPO),
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
    };
    vec![Located {
        kind: "Deployment".into(),
        name: "api".into(),
        recommendation: p.status.as_ref().unwrap().recommendations[0].clone(),
        source: Ok(source),
    }]
}

async fn reconcile<F: Forge>(
    env: &Env<'_>,
    server: &GitServer,
    p: &AttunePolicy,
    forge: &F,
) -> Report {
    reconcile_located(
        env,
        p,
        &located(server, p),
        GivenForge {
            forge,
            git_token: Some(TOKEN.into()),
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_api_url_receives_no_request() {
    let server = GitServer::start();
    server.create_repo(REPO, Path::new("fixtures/demo/repo"), 1);
    let cache = tempfile::tempdir().unwrap();
    let config = Config {
        allowed_repositories: vec![format!("http://127.0.0.1:{}/acme/*", server.port)],
        cache_dir: cache.path().to_path_buf(),
        // Every reconcile reads the pull request state: the path that sent the token.
        pr_poll_interval: Duration::ZERO,
        ..Config::default()
    };
    let (metrics, memory) = (Metrics::new(), Memory::default());
    let env = Env {
        config: &config,
        metrics: &metrics,
        memory: &memory,
    };
    let forge = MemoryForge::new(server.url(REPO));
    let opened = reconcile(&env, &server, &policy(None), &forge).await;
    assert_eq!(
        opened.condition.reason.as_deref(),
        Some("PullRequestOpen"),
        "{:?}",
        opened.condition
    );

    // Someone who may edit the policy points it at their server; the client the controller
    // builds from it would send the token there.
    let listener = Tiny::start(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\
         Connection: close\r\n\r\n[]"
            .into(),
    );
    let api = format!("http://127.0.0.1:{}/", listener.port);
    let changed = policy(Some(api.clone()));
    let other = Gitea::new(url::Url::parse(&api).unwrap(), &TOKEN.into()).unwrap();
    for _ in 0..2 {
        let r = reconcile(&env, &server, &changed, &other).await;
        assert_eq!(
            r.condition.reason.as_deref(),
            Some("PullRequestFailed"),
            "{:?}",
            r.condition
        );
        let message = r.condition.message.unwrap_or_default();
        assert!(message.contains("no token is sent there"), "{message}");
        assert!(!message.contains(TOKEN), "{message}");
    }
    assert_eq!(
        listener.seen(),
        Vec::<String>::new(),
        "requests reached the new apiUrl"
    );
    assert_eq!(other.calls(), 0);
    assert_eq!(forge.all().len(), 1, "the pull request is left as it was");
}
