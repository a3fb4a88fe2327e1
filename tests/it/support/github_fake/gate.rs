//! The fake's front door: records every request, plays faults the test queued — before the
//! endpoint acts (GitHub's front end refusing) or after it acted (the answer lost on the way
//! back) — and checks the credential each endpoint needs. Also GitHub's error shapes.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, body::Body};
use octocrab::jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use super::state::{App, PendingFault, Shared, now};
use super::{AfterFault, Fault, Recorded};

/// Records the request, plays any pending fault, then checks the credential the endpoint needs:
/// the app's JWT for app endpoints, the token or a live installation token elsewhere.
pub(super) async fn gate(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let credential = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("token "))
        })
        .map(str::to_owned);
    {
        let mut s = state.lock().unwrap();
        s.requests.push(Recorded {
            method: method.to_string(),
            path: path.clone(),
            query: request.uri().query().unwrap_or_default().to_owned(),
            credential: credential.clone(),
        });
        if let Some(fault) = PendingFault::take(&mut s.faults, &method, &path) {
            return fault_response(fault);
        }
        let app_endpoint = path.starts_with("/app/") || path.ends_with("/installation");
        let allowed = match &credential {
            None => false,
            Some(jwt) if app_endpoint => s.app.as_ref().is_some_and(|app| jwt_ok(app, jwt)),
            Some(token) => {
                *token == s.token
                    || s.issued
                        .iter()
                        .any(|t| t.token == *token && t.expires_at > now())
            }
        };
        if !allowed {
            return error(StatusCode::UNAUTHORIZED, "Bad credentials", &[]);
        }
    }
    let response = next.run(request).await;
    let after = PendingFault::take(&mut state.lock().unwrap().after_faults, &method, &path);
    match after {
        Some(AfterFault::BadGateway) => error(StatusCode::BAD_GATEWAY, "Server Error", &[]),
        Some(AfterFault::DropConnection) => dropped(),
        None => response,
    }
}

/// An answer cut off mid-way: the headers promise more body than is sent, so the server closes
/// the connection and the client sees it drop after the endpoint acted.
fn dropped() -> Response {
    let mut response = Response::new(Body::from("{\"number\":"));
    *response.status_mut() = StatusCode::CREATED;
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("4096"));
    response
}

fn jwt_ok(app: &App, jwt: &str) -> bool {
    let Ok(key) = DecodingKey::from_rsa_pem(&app.public_key_pem) else {
        return false;
    };
    let validation = Validation::new(Algorithm::RS256);
    match octocrab::jsonwebtoken::decode::<Value>(jwt, &key, &validation) {
        Ok(data) => {
            let iss = &data.claims["iss"];
            iss.as_u64() == Some(app.app_id) || iss.as_str() == Some(&app.app_id.to_string())
        }
        Err(_) => false,
    }
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::BadGateway => error(StatusCode::BAD_GATEWAY, "Server Error", &[]),
        Fault::PrimaryLimit { reset_in_secs } => {
            let reset = (now() + reset_in_secs).to_string();
            error(
                StatusCode::FORBIDDEN,
                "API rate limit exceeded for installation ID 7.",
                &[
                    ("x-ratelimit-limit", "5000"),
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-used", "5000"),
                    ("x-ratelimit-reset", &reset),
                ],
            )
        }
        Fault::SecondaryLimit { retry_after_secs } => error(
            StatusCode::FORBIDDEN,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            &[("retry-after", &retry_after_secs.to_string())],
        ),
        Fault::Forbidden => error(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
            &[("x-ratelimit-remaining", "4999")],
        ),
    }
}

pub(super) fn error(status: StatusCode, message: &str, headers: &[(&str, &str)]) -> Response {
    let body = json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": status.as_u16().to_string(),
    });
    let mut response = (status, Json(body)).into_response();
    for (name, value) in headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    response
}

/// GitHub's 422 with one entry in `errors`.
pub(super) fn validation_failed(resource: &str, detail: Value) -> Response {
    let mut entry = json!({ "resource": resource });
    if let (Some(entry), Some(detail)) = (entry.as_object_mut(), detail.as_object()) {
        entry.extend(detail.clone());
    }
    let body = json!({
        "message": "Validation Failed",
        "errors": [entry],
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
        "status": "422",
    });
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

/// A 422 whose detail is a message, as GitHub words most of them.
pub(super) fn invalid(resource: &str, message: &str) -> Response {
    validation_failed(resource, json!({ "code": "custom", "message": message }))
}

pub(super) fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found", &[])
}
