//! A scripted API server behind kube's `Client`, on tower-test's mock service: it answers
//! requests in order from a list of replies and records every request it saw.

use std::sync::{Arc, Mutex};

use http::{Request, Response};
use k8s_openapi::api::core::v1::Pod;
use kube::client::Body;
use kube::{Api, Client};
use serde_json::{Value, json};

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub content_type: Option<String>,
    pub body: Option<Value>,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
}

/// A pod the server returns from a successful call.
pub fn ok(pod: &Pod) -> Reply {
    Reply {
        status: 200,
        body: serde_json::to_value(pod).unwrap(),
    }
}

/// A `Status` failure as the API server writes it.
pub fn failure(code: u16, reason: &str, message: &str) -> Reply {
    Reply {
        status: code,
        body: json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code,
        }),
    }
}

/// An `Api<Pod>` for namespace `ns` whose server answers with `replies` in order (500 once
/// they run out), and the log of what it was asked.
pub fn scripted(replies: Vec<Reply>) -> (Api<Pod>, Arc<Mutex<Vec<Seen>>>) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        let mut handle = std::pin::pin!(handle);
        let mut replies = replies.into_iter();
        while let Some((request, respond)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.unwrap();
            log.lock().unwrap().push(Seen {
                method: parts.method.to_string(),
                path: parts.uri.to_string(),
                content_type: parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .map(|v| v.to_str().unwrap().to_owned()),
                body: (!bytes.is_empty()).then(|| serde_json::from_slice(&bytes).unwrap()),
            });
            let reply = replies
                .next()
                .unwrap_or_else(|| failure(500, "InternalError", "script ran out"));
            let response = Response::builder()
                .status(reply.status)
                .body(Body::from(serde_json::to_vec(&reply.body).unwrap()))
                .unwrap();
            respond.send_response(response);
        }
    });
    (Api::namespaced(Client::new(service, "ns"), "ns"), seen)
}
