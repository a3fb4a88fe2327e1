//! The forge token of a policy comes from a Secret in the policy's own namespace, and only there:
//! a scripted API server records every request the GitOps step's forge slot makes. And the slot
//! hands the client out only for a repository the token gate clears.

use std::sync::{Arc, Mutex};

use attune::controller::gitops::forge::{ForgeSlot, PolicyForge};
use attune::controller::gitops::gate::Admission;
use attune::crd::{AttunePolicy, PullRequestExport, load_policies};
use attune::forge::ForgeRepo;
use attune::locate::RemoteUrl;
use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

const POLICY: &str = r#"
apiVersion: attune.io/v1alpha1
kind: AttunePolicy
metadata:
  name: api
  namespace: team-a
spec:
  targetRef: {kind: Deployment, name: api}
  metricsSource: {prometheus: {address: "http://prometheus:9090"}}
  cpu: {percentile: 95}
  memory: {percentile: 99}
  updateStrategy:
    type: Recommend
    export:
      pullRequest:
        enabled: true
        provider: gitea
        apiUrl: http://127.0.0.1:9/
        tokenSecretRef: {name: forge-token, key: token, namespace: kube-system}
"#;

/// A client whose server answers every request with `reply` and logs the request paths.
fn server(status: u16, reply: Value) -> (Client, Arc<Mutex<Vec<String>>>) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        let mut handle = std::pin::pin!(handle);
        while let Some((request, respond)) = handle.next_request().await {
            log.lock().unwrap().push(request.uri().path().to_owned());
            let response = Response::builder()
                .status(status)
                .body(Body::from(serde_json::to_vec(&reply).unwrap()))
                .unwrap();
            respond.send_response(response);
        }
    });
    (Client::new(service, "kube-system"), seen)
}

fn policy() -> (AttunePolicy, PullRequestExport) {
    let p = load_policies(POLICY).unwrap().remove(0);
    let export = p
        .spec
        .update_strategy
        .clone()
        .unwrap()
        .export
        .unwrap()
        .pull_request
        .unwrap();
    (p, export)
}

/// The repository the policy's workloads deploy from, on the forge its `apiUrl` names.
struct Admitted {
    allowed: Vec<String>,
    repo: RemoteUrl,
    forge_repo: ForgeRepo,
}

impl Admitted {
    fn at(base: &str) -> Admitted {
        let base = base.trim_end_matches('/');
        Admitted {
            allowed: vec![format!("{base}/team/*")],
            repo: RemoteUrl::parse(&format!("{base}/team/app.git")).unwrap(),
            forge_repo: ForgeRepo::parse("team/app").unwrap(),
        }
    }

    fn admission(&self) -> Admission<'_> {
        Admission {
            allowed: &self.allowed,
            repo: &self.repo,
            forge_repo: &self.forge_repo,
        }
    }
}

fn secret(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": "forge-token", "namespace": "team-a"}, "data": data})
}

#[tokio::test]
async fn the_token_is_read_from_the_policy_namespace_only() {
    let (p, export) = policy();
    // base64("tok-7c1e9b\n"): the trailing newline kubectl often adds is dropped.
    let (client, seen) = server(200, secret(json!({"token": "dG9rLTdjMWU5Ygo="})));
    let admitted = Admitted::at("http://127.0.0.1:9");
    let mut slot = PolicyForge::for_policy(&client, &p, &export);
    let token = slot.get(&admitted.admission()).await.unwrap().token;
    assert_eq!(token.as_ref().map(|t| t.expose()), Some("tok-7c1e9b"));
    // The client is made once: asking again reads nothing.
    slot.get(&admitted.admission()).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        ["/api/v1/namespaces/team-a/secrets/forge-token"],
        "one read, in team-a; never kube-system"
    );
}

#[tokio::test]
async fn a_missing_secret_or_key_is_named_without_any_token() {
    let (p, export) = policy();
    let (client, _) = server(
        404,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "secrets \"forge-token\" not found", "reason": "NotFound", "code": 404}),
    );
    let failure = PolicyForge::for_policy(&client, &p, &export)
        .get(&Admitted::at("http://127.0.0.1:9").admission())
        .await
        .err()
        .unwrap();
    assert_eq!(
        failure.message,
        "secret team-a/forge-token (export.pullRequest.tokenSecretRef) does not exist"
    );

    let (client, _) = server(200, secret(json!({"other": "dG9rLTdjMWU5Ygo="})));
    let failure = PolicyForge::for_policy(&client, &p, &export)
        .get(&Admitted::at("http://127.0.0.1:9").admission())
        .await
        .err()
        .unwrap();
    assert_eq!(
        failure.message,
        "secret team-a/forge-token has no key \"token\""
    );
    assert!(!failure.message.contains("tok-7c1e9b"));
}

#[tokio::test]
async fn gitea_without_api_url_is_refused_naming_the_field_and_gitlab_is_served() {
    let (p, mut export) = policy();
    export.api_url = None;
    let (client, seen) = server(200, secret(json!({"token": "dG9rLTdjMWU5Ygo="})));
    let failure = PolicyForge::for_policy(&client, &p, &export)
        .get(&Admitted::at("http://127.0.0.1:9").admission())
        .await
        .err()
        .unwrap();
    assert!(
        failure
            .message
            .contains("apiUrl is required with provider gitea"),
        "{}",
        failure.message
    );
    assert_eq!(seen.lock().unwrap().len(), 1, "only the secret was read");

    export.provider = Some(attune::crd::GitProvider::Gitlab);
    let forge = attune::controller::gitops::forge::provider(&export).unwrap();
    assert_eq!(forge, attune::crd::GitProvider::Gitlab);
    let token = attune::secret::SecretToken::from("glpat-0123");
    let connection = attune::controller::gitops::forge::connection(&export, &token).unwrap();
    assert!(matches!(
        connection,
        attune::forge::Connection::GitLab { base_url: None, .. }
    ));
}

#[tokio::test]
async fn a_client_for_another_forge_or_over_unallowed_http_is_never_handed_out() {
    let (p, mut export) = policy();
    let (client, _) = server(200, secret(json!({"token": "dG9rLTdjMWU5Ygo="})));
    let refused = |admitted: Admitted, export: PullRequestExport| {
        let client = client.clone();
        let p = p.clone();
        async move {
            PolicyForge::for_policy(&client, &p, &export)
                .get(&admitted.admission())
                .await
                .err()
                .map(|f| f.message)
        }
    };

    // apiUrl names port 9; the workloads deploy from the forge on port 3000.
    let message = refused(Admitted::at("http://127.0.0.1:3000"), export.clone())
        .await
        .expect("another forge is refused");
    assert!(message.contains("set apiUrl to the forge"), "{message}");
    assert!(!message.contains("tok-7c1e9b"), "{message}");

    // The right forge, but no allowlist entry says plain http may carry the token.
    let mut plain = Admitted::at("http://127.0.0.1:9");
    plain.allowed = vec!["127.0.0.1:9/team/*".into()];
    let message = refused(plain, export.clone())
        .await
        .expect("plain http is refused");
    assert!(
        message.contains("plain http needs an entry that says so"),
        "{message}"
    );

    // The workloads deploy over SSH on port 2222: the forge's HTTP port must be named too.
    let mut ssh = Admitted::at("http://127.0.0.1:9");
    ssh.repo = RemoteUrl::parse("ssh://git@127.0.0.1:2222/team/app.git").unwrap();
    ssh.allowed = vec!["127.0.0.1:2222/team/*".into()];
    let message = refused(ssh, export.clone())
        .await
        .expect("an unnamed http port is refused");
    assert!(
        message.contains("no allowed-repositories entry"),
        "{message}"
    );
    let mut named = Admitted::at("http://127.0.0.1:9");
    named.repo = RemoteUrl::parse("ssh://git@127.0.0.1:2222/team/app.git").unwrap();
    named.allowed = vec![
        "127.0.0.1:2222/team/*".into(),
        "http://127.0.0.1:9/team/*".into(),
    ];
    assert_eq!(refused(named, export.clone()).await, None);

    // https needs no scheme in the entry.
    export.api_url = Some("https://git.example.com/".into());
    let mut https = Admitted::at("https://git.example.com");
    https.allowed = vec!["git.example.com/team/*".into()];
    assert_eq!(refused(https, export).await, None);
}

#[tokio::test]
async fn a_gitlab_client_is_cleared_only_for_the_admitted_gitlab_and_its_nested_project() {
    let (p, mut export) = policy();
    export.provider = Some(attune::crd::GitProvider::Gitlab);
    export.api_url = Some("https://gitlab.example.com/".into());
    let (client, seen) = server(200, secret(json!({"token": "Z2xwYXQtN2MxZTli"})));
    let get = |admitted: Admitted| {
        let client = client.clone();
        let (p, export) = (p.clone(), export.clone());
        async move {
            PolicyForge::for_policy(&client, &p, &export)
                .get(&admitted.admission())
                .await
                .err()
                .map(|f| f.message)
        }
    };
    // The nested project on the GitLab the allowlist names: cleared.
    let mut nested = Admitted::at("https://gitlab.example.com");
    nested.repo = RemoteUrl::parse("https://gitlab.example.com/group/sub/app.git").unwrap();
    nested.forge_repo = ForgeRepo::parse("group/sub/app").unwrap();
    // `*` is one path segment: a nested group is named down to its last level.
    nested.allowed = vec!["gitlab.example.com/group/sub/*".into()];
    assert_eq!(get(nested).await, None);

    // The workloads deploy from gitlab.com: the token for gitlab.example.com stays home.
    let mut elsewhere = Admitted::at("https://gitlab.com");
    elsewhere.allowed = vec!["gitlab.com/team/*".into()];
    let message = get(elsewhere).await.expect("another gitlab is refused");
    assert!(message.contains("set apiUrl to the forge"), "{message}");
    assert!(!message.contains("glpat-7c1e9b"), "{message}");
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|path| path.contains("/secrets/"))
    );
}
