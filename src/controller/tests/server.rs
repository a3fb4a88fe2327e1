//! A scripted apiserver behind kube's `Client` (tower-test's mock service). It answers by
//! route — pods, their resize subresource, the policy status, events — and records every
//! request, so a scenario can assert exactly which calls a reconcile made, in which order,
//! with which bodies.

use std::sync::{Arc, Mutex};

use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub path: String,
    pub content_type: Option<String>,
    pub body: Option<Value>,
}

impl Seen {
    /// `METHOD path-without-query`, for compact call lists.
    pub fn line(&self) -> String {
        let path = self.path.split('?').next().unwrap_or_default();
        format!("{} {path}", self.method)
    }
}

pub type Log = Arc<Mutex<Vec<Seen>>>;

/// A client whose server answers every write with a plausible object: the pod for pod
/// calls, `policy` for status calls, the posted event for event calls.
pub fn client(policy: Value) -> (Client, Log) {
    serve(policy, false)
}

/// Like [`client`], but every event has expired on the server: a patch to one is a 404.
pub fn client_without_old_events(policy: Value) -> (Client, Log) {
    serve(policy, true)
}

fn serve(policy: Value, events_expired: bool) -> (Client, Log) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&log);
    tokio::spawn(async move {
        let mut handle = std::pin::pin!(handle);
        while let Some((request, respond)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.unwrap();
            let body: Option<Value> =
                (!bytes.is_empty()).then(|| serde_json::from_slice(&bytes).unwrap());
            let path = parts.uri.to_string();
            seen.lock().unwrap().push(Seen {
                method: parts.method.to_string(),
                path: path.clone(),
                content_type: parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .map(|v| v.to_str().unwrap().to_owned()),
                body: body.clone(),
            });
            let reply = if path.contains("/pods/") {
                let name = path
                    .split("/pods/")
                    .nth(1)
                    .unwrap()
                    .split(['/', '?'])
                    .next()
                    .unwrap();
                json!({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "namespace": "ns"}})
            } else if path.contains("/attunepolicies/") {
                policy.clone()
            } else if path.contains("/events") && !(events_expired && parts.method == "PATCH") {
                body.unwrap_or_else(|| json!({}))
            } else {
                json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                       "message": format!("no route for {path}"), "code": 404, "reason": "NotFound"})
            };
            let code = if reply.get("kind") == Some(&json!("Status")) {
                404
            } else {
                200
            };
            let response = Response::builder()
                .status(code)
                .body(Body::from(serde_json::to_vec(&reply).unwrap()))
                .unwrap();
            respond.send_response(response);
        }
    });
    (Client::new(service, "ns"), log)
}
