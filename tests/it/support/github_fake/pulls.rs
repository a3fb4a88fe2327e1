//! The pull request endpoints of the fake GitHub: list (filtered by state and head, sorted by
//! creation), get, create (refused for a head branch that does not exist, or one that already
//! has an open pull request), edit and close, and reviewer requests; and the router.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::gate::{error, gate, invalid, not_found, validation_failed};
use super::issues::{access_token, add_comment, add_labels, installation, list_comments};
use super::state::{NewPull, Shared, now};
use super::{BODY_LIMIT_CHARS, FakePr};

pub(super) fn router(state: Shared) -> Router {
    Router::new()
        .route(
            "/repos/{owner}/{repo}/pulls",
            get(list_pulls).post(create_pull),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{number}",
            get(get_pull).patch(update_pull),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/requested_reviewers",
            post(request_reviewers),
        )
        .route(
            "/repos/{owner}/{repo}/issues/{number}/labels",
            post(add_labels),
        )
        .route(
            "/repos/{owner}/{repo}/issues/{number}/comments",
            get(list_comments).post(add_comment),
        )
        .route("/repos/{owner}/{repo}/installation", get(installation))
        .route("/app/installations/{id}/access_tokens", post(access_token))
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

pub(super) fn too_long(body: Option<&str>) -> bool {
    body.is_some_and(|b| b.chars().count() > BODY_LIMIT_CHARS)
}

#[derive(Deserialize)]
struct ListQuery {
    state: Option<String>,
    head: Option<String>,
    sort: Option<String>,
    direction: Option<String>,
    per_page: Option<usize>,
    page: Option<usize>,
}

pub(super) fn page<T: Clone>(items: &[T], per_page: Option<usize>, page: Option<usize>) -> Vec<T> {
    let per_page = per_page.unwrap_or(30).clamp(1, 100);
    let page = page.unwrap_or(1).max(1);
    items
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .cloned()
        .collect()
}

async fn list_pulls(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> Response {
    let s = state.lock().unwrap();
    let repo = format!("{owner}/{name}");
    let wanted = q.state.as_deref().unwrap_or("open");
    let mut prs: Vec<FakePr> = s
        .repos
        .get(&repo)
        .map(|r| r.prs.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| wanted == "all" || p.state == wanted)
        .filter(
            |p| match q.head.as_deref().and_then(|h| h.split_once(':')) {
                Some((head_owner, head)) => p.head_owner == head_owner && p.head == head,
                None => true,
            },
        )
        .collect();
    if q.sort.as_deref().unwrap_or("created") != "created" {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "only sort=created is faked",
            &[],
        );
    }
    prs.sort_by_key(|p| p.created_at);
    if q.direction.as_deref().unwrap_or("desc") == "desc" {
        prs.reverse();
    }
    let items: Vec<Value> = page(&prs, q.per_page, q.page)
        .iter()
        .map(|p| s.pr_json(&repo, p))
        .collect();
    Json(items).into_response()
}

async fn get_pull(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, u64)>,
) -> Response {
    let mut s = state.lock().unwrap();
    let repo = format!("{owner}/{name}");
    match s.pr_mut(&repo, number).cloned() {
        Some(pr) => Json(s.pr_json(&repo, &pr)).into_response(),
        None => not_found(),
    }
}

#[derive(Deserialize)]
struct CreateBody {
    title: Option<String>,
    head: Option<String>,
    base: Option<String>,
    body: Option<String>,
    #[serde(default)]
    draft: bool,
}

async fn create_pull(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    Json(b): Json<CreateBody>,
) -> Response {
    let mut s = state.lock().unwrap();
    let repo = format!("{owner}/{name}");
    let (Some(title), Some(head), Some(base)) = (b.title, b.head, b.base) else {
        return invalid("PullRequest", "title, head and base are required");
    };
    let head = head
        .split_once(':')
        .map_or(head.clone(), |(_, h)| h.to_owned());
    if too_long(b.body.as_deref()) {
        return invalid("Issue", "body is too long (maximum is 65536 characters)");
    }
    // GitHub refuses a head branch the repository does not have, with this shape.
    if !s.has_branch(&repo, &head) {
        return validation_failed("PullRequest", json!({ "field": "head", "code": "invalid" }));
    }
    let open_exists = s.repos.get(&repo).is_some_and(|r| {
        r.prs
            .iter()
            .any(|p| p.state == "open" && p.head_owner == owner && p.head == head)
    });
    if open_exists {
        return invalid(
            "PullRequest",
            &format!("A pull request already exists for {owner}:{head}."),
        );
    }
    let pull = NewPull {
        head_owner: &owner,
        head: &head,
        base: &base,
        title: &title,
        body: b.body.as_deref().unwrap_or_default(),
        draft: b.draft,
    };
    let number = s.open(&repo, pull);
    let pr = s.pr_mut(&repo, number).unwrap().clone();
    (StatusCode::CREATED, Json(s.pr_json(&repo, &pr))).into_response()
}

#[derive(Deserialize)]
struct UpdateBody {
    title: Option<String>,
    body: Option<String>,
    state: Option<String>,
}

async fn update_pull(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    Json(b): Json<UpdateBody>,
) -> Response {
    let mut s = state.lock().unwrap();
    let repo = format!("{owner}/{name}");
    if too_long(b.body.as_deref()) {
        return invalid("Issue", "body is too long (maximum is 65536 characters)");
    }
    let Some(pr) = s.pr_mut(&repo, number) else {
        return not_found();
    };
    if let Some(title) = b.title {
        pr.title = title;
    }
    if let Some(body) = b.body {
        pr.body = body;
    }
    match b.state.as_deref() {
        Some("closed") if pr.state == "open" => {
            pr.state = "closed".into();
            pr.closed_at = Some(now());
        }
        Some("open") if pr.merged => {
            return invalid("PullRequest", "cannot reopen a merged pull request");
        }
        Some("open") => {
            pr.state = "open".into();
            pr.closed_at = None;
        }
        _ => {}
    }
    let pr = pr.clone();
    Json(s.pr_json(&repo, &pr)).into_response()
}

#[derive(Deserialize)]
struct ReviewersBody {
    #[serde(default)]
    reviewers: Vec<String>,
    #[serde(default)]
    team_reviewers: Vec<String>,
}

async fn request_reviewers(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    Json(b): Json<ReviewersBody>,
) -> Response {
    let mut s = state.lock().unwrap();
    let repo = format!("{owner}/{name}");
    if b.team_reviewers.iter().any(|t| t.contains('/')) {
        return invalid("PullRequest", "team_reviewers takes team slugs");
    }
    let Some(pr) = s.pr_mut(&repo, number) else {
        return not_found();
    };
    pr.reviewers.extend(b.reviewers);
    pr.team_reviewers.extend(b.team_reviewers);
    let pr = pr.clone();
    (StatusCode::CREATED, Json(s.pr_json(&repo, &pr))).into_response()
}
