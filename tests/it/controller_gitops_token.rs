//! The forge token of a policy comes from a Secret in the policy's own namespace, and only there:
//! a scripted API server records every request the GitOps step's forge slot makes.

use std::sync::{Arc, Mutex};

use attune::controller::gitops::forge::{ForgeSlot, Lazy, gitea};
use attune::crd::{AttunePolicy, PullRequestExport, load_policies};
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

fn secret(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": "forge-token", "namespace": "team-a"}, "data": data})
}

#[tokio::test]
async fn the_token_is_read_from_the_policy_namespace_only() {
    let (p, export) = policy();
    // base64("tok-7c1e9b\n"): the trailing newline kubectl often adds is dropped.
    let (client, seen) = server(200, secret(json!({"token": "dG9rLTdjMWU5Ygo="})));
    let mut slot = Lazy::for_policy(&client, &p, &export, gitea);
    let (_, token) = slot.get().await.unwrap();
    assert_eq!(token.as_deref(), Some("tok-7c1e9b"));
    // The client is made once: asking again reads nothing.
    slot.get().await.unwrap();
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
    let failure = Lazy::for_policy(&client, &p, &export, gitea)
        .get()
        .await
        .err()
        .unwrap();
    assert_eq!(
        failure.message,
        "secret team-a/forge-token (export.pullRequest.tokenSecretRef) does not exist"
    );

    let (client, _) = server(200, secret(json!({"other": "dG9rLTdjMWU5Ygo="})));
    let failure = Lazy::for_policy(&client, &p, &export, gitea)
        .get()
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
async fn gitea_without_api_url_and_gitlab_are_refused_naming_the_field() {
    let (p, mut export) = policy();
    export.api_url = None;
    let (client, seen) = server(200, secret(json!({"token": "dG9rLTdjMWU5Ygo="})));
    let failure = Lazy::for_policy(&client, &p, &export, gitea)
        .get()
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
    let refused = attune::controller::gitops::forge::provider(&export)
        .err()
        .unwrap();
    assert!(refused.message.contains("gitlab is not supported yet"));
}
