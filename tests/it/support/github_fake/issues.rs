//! The issue-side endpoints of the fake GitHub — labels and comments on a pull request — and
//! the GitHub App endpoints (installation lookup, minting installation tokens).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::gate::{invalid, not_found};
use super::pulls::{page, too_long};
use super::state::{Issued, Shared, now, rfc3339};

#[derive(Deserialize)]
pub(super) struct LabelsBody {
    labels: Vec<String>,
}

pub(super) async fn add_labels(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    Json(b): Json<LabelsBody>,
) -> Response {
    let mut s = state.lock().unwrap();
    let Some(pr) = s.pr_mut(&format!("{owner}/{name}"), number) else {
        return not_found();
    };
    for label in b.labels {
        if !pr.labels.contains(&label) {
            pr.labels.push(label);
        }
    }
    let labels: Vec<Value> = pr
        .labels
        .iter()
        .enumerate()
        .map(|(i, n)| json!({ "id": 100 + i, "name": n, "color": "ededed", "default": false }))
        .collect();
    Json(labels).into_response()
}

#[derive(Deserialize)]
pub(super) struct PageQuery {
    per_page: Option<usize>,
    page: Option<usize>,
}

fn comment_json(base: &str, repo: &str, number: u64, index: usize, body: &str) -> Value {
    json!({
        "id": 5000 + index,
        "body": body,
        "user": { "login": "attune-bot", "id": 1, "type": "Bot" },
        "html_url": format!("{base}{repo}/pull/{number}#issuecomment-{}", 5000 + index),
        "created_at": rfc3339(now()),
    })
}

pub(super) async fn list_comments(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    Query(q): Query<PageQuery>,
) -> Response {
    let mut s = state.lock().unwrap();
    let repo = format!("{owner}/{name}");
    let base = s.base.clone();
    let Some(pr) = s.pr_mut(&repo, number) else {
        return not_found();
    };
    let all: Vec<Value> = pr
        .comments
        .iter()
        .enumerate()
        .map(|(i, c)| comment_json(&base, &repo, number, i, c))
        .collect();
    Json(page(&all, q.per_page, q.page)).into_response()
}

#[derive(Deserialize)]
pub(super) struct CommentBody {
    body: String,
}

pub(super) async fn add_comment(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    Json(b): Json<CommentBody>,
) -> Response {
    let mut s = state.lock().unwrap();
    let repo = format!("{owner}/{name}");
    let base = s.base.clone();
    if too_long(Some(&b.body)) {
        return invalid(
            "IssueComment",
            "body is too long (maximum is 65536 characters)",
        );
    }
    let Some(pr) = s.pr_mut(&repo, number) else {
        return not_found();
    };
    pr.comments.push(b.body.clone());
    let index = pr.comments.len() - 1;
    (
        StatusCode::CREATED,
        Json(comment_json(&base, &repo, number, index, &b.body)),
    )
        .into_response()
}

pub(super) async fn installation(
    State(state): State<Shared>,
    Path((owner, _name)): Path<(String, String)>,
) -> Response {
    let s = state.lock().unwrap();
    let Some(app) = &s.app else {
        return not_found();
    };
    Json(json!({
        "id": app.installation_id,
        "app_id": app.app_id,
        "account": { "login": owner, "type": "Organization" },
        "target_type": "Organization",
        "repository_selection": "all",
    }))
    .into_response()
}

pub(super) async fn access_token(State(state): State<Shared>, Path(id): Path<u64>) -> Response {
    let mut s = state.lock().unwrap();
    if s.app.as_ref().map(|a| a.installation_id) != Some(id) {
        return not_found();
    }
    let token = format!("ghs_fake{:032}", s.issued.len() + 1);
    let expires_at = now() + s.token_lifetime_secs;
    s.issued.push(Issued {
        token: token.clone(),
        expires_at,
    });
    (
        StatusCode::CREATED,
        Json(json!({
            "token": token,
            "expires_at": rfc3339(expires_at),
            "permissions": { "pull_requests": "write", "contents": "write", "issues": "write" },
            "repository_selection": "all",
        })),
    )
        .into_response()
}
