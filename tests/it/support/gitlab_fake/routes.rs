//! The fake GitLab's endpoints — merge requests (list, create, edit), notes, user lookup — its
//! front door (records, faults, credentials) and GitLab's answer shapes: errors as `message`
//! (string, list or field map) or `error`, offset pagination headers, 429 with `Retry-After`
//! and `RateLimit-*`.

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::state::{PendingFault, Shared, now, rfc3339};
use super::{AfterFault, BODY_LIMIT_CHARS, FakeNote, Fault, Recorded};

pub(super) fn router(state: Shared) -> Router {
    Router::new()
        .route(
            "/api/v4/projects/{id}/merge_requests",
            get(list_mrs).post(create_mr),
        )
        .route(
            "/api/v4/projects/{id}/merge_requests/{iid}",
            get(get_mr).put(update_mr),
        )
        .route(
            "/api/v4/projects/{id}/merge_requests/{iid}/notes",
            get(list_notes).post(add_note),
        )
        .route("/api/v4/users", get(users))
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

/// Records the request, plays a pending fault, checks `PRIVATE-TOKEN` or `Bearer`, runs the
/// endpoint, then plays a fault queued for after it acted.
async fn gate(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    // The raw path, as sent: the project path stays percent-encoded in one segment.
    let path = request.uri().path().to_owned();
    let headers = request.headers();
    let private = headers.get("private-token").and_then(|v| v.to_str().ok());
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let (scheme, credential) = match (private, bearer) {
        (Some(t), _) => ("private-token", Some(t.to_owned())),
        (None, Some(t)) => ("bearer", Some(t.to_owned())),
        (None, None) => ("none", None),
    };
    {
        let mut s = state.lock().unwrap();
        s.requests.push(Recorded {
            method: method.to_string(),
            path: path.clone(),
            query: request.uri().query().unwrap_or_default().to_owned(),
            scheme,
            credential: credential.clone(),
        });
        if let Some(fault) = PendingFault::take(&mut s.faults, &method, &path) {
            return fault_response(fault);
        }
        if credential.as_deref() != Some(s.token.as_str()) {
            return message(StatusCode::UNAUTHORIZED, json!("401 Unauthorized"), &[]);
        }
    }
    let response = next.run(request).await;
    let after = PendingFault::take(&mut state.lock().unwrap().after_faults, &method, &path);
    match after {
        Some(AfterFault::InternalError) => message(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!("500 Internal Server Error"),
            &[],
        ),
        Some(AfterFault::DropConnection) => {
            // Promises more body than it sends: the client sees the connection drop.
            let mut cut = Response::new(Body::from("{\"iid\":"));
            *cut.status_mut() = StatusCode::CREATED;
            cut.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from_static("4096"));
            cut
        }
        None => response,
    }
}

fn fault_response(fault: Fault) -> Response {
    let reset = |secs: i64| (now() + secs).to_string();
    match fault {
        Fault::BadGateway => {
            (StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>").into_response()
        }
        Fault::Forbidden => message(StatusCode::FORBIDDEN, json!("403 Forbidden"), &[]),
        Fault::RateLimited { retry_after_secs } => message(
            StatusCode::TOO_MANY_REQUESTS,
            json!("Retry later"),
            &[
                ("retry-after", &retry_after_secs.to_string()),
                ("ratelimit-limit", "600"),
                ("ratelimit-observed", "601"),
                ("ratelimit-remaining", "0"),
                ("ratelimit-reset", &reset(retry_after_secs as i64)),
            ],
        ),
        Fault::ResetOnly { reset_in_secs } => message(
            StatusCode::TOO_MANY_REQUESTS,
            json!("Retry later"),
            &[
                ("ratelimit-limit", "600"),
                ("ratelimit-remaining", "0"),
                ("ratelimit-reset", &reset(reset_in_secs)),
            ],
        ),
    }
}

/// GitLab's error shape: `{"message": …}` with the status added as headers say.
fn message(status: StatusCode, text: Value, headers: &[(&str, &str)]) -> Response {
    let mut response = (status, Json(json!({ "message": text }))).into_response();
    for (name, value) in headers {
        response.headers_mut().insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    response
}

fn not_found(what: &str) -> Response {
    message(
        StatusCode::NOT_FOUND,
        json!(format!("404 {what} Not Found")),
        &[],
    )
}

/// One page of `items`, with GitLab's offset pagination headers (or only `Link`).
fn paged(
    s: &super::state::FakeState,
    items: Vec<Value>,
    q: &PageQuery,
    url_path: &str,
) -> Response {
    let per_page = q.per_page.unwrap_or(20).clamp(1, 100);
    let page = q.page.unwrap_or(1).max(1);
    let total = items.len();
    let pages = total.div_ceil(per_page).max(1);
    let body: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut response = Json(body).into_response();
    let next = if page < pages {
        (page + 1).to_string()
    } else {
        String::new()
    };
    let link = |p: usize, rel: &str| {
        format!(
            "<{}{}?page={p}&per_page={per_page}>; rel=\"{rel}\"",
            s.base.trim_end_matches('/'),
            url_path
        )
    };
    let mut links = vec![link(1, "first"), link(pages, "last")];
    if page < pages {
        links.insert(0, link(page + 1, "next"));
    }
    let h = response.headers_mut();
    let mut put = |name: &'static str, value: String| {
        h.insert(name, HeaderValue::from_str(&value).unwrap());
    };
    put("link", links.join(", "));
    if !s.link_only {
        put("x-page", page.to_string());
        put("x-per-page", per_page.to_string());
        put("x-next-page", next);
        put(
            "x-prev-page",
            if page > 1 {
                (page - 1).to_string()
            } else {
                String::new()
            },
        );
        put("x-total", total.to_string());
        put("x-total-pages", pages.to_string());
    }
    response
}

#[derive(Deserialize)]
struct PageQuery {
    per_page: Option<usize>,
    page: Option<usize>,
    state: Option<String>,
    source_branch: Option<String>,
    order_by: Option<String>,
    sort: Option<String>,
}

async fn list_mrs(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let s = state.lock().unwrap();
    let Some(project) = s.projects.get(&id) else {
        return not_found("Project");
    };
    if q.order_by.as_deref().unwrap_or("created_at") != "created_at" {
        return message(
            StatusCode::BAD_REQUEST,
            json!("only order_by=created_at is faked"),
            &[],
        );
    }
    let wanted = q.state.as_deref().unwrap_or("all");
    let mut mrs: Vec<_> = project
        .mrs
        .iter()
        .filter(|m| wanted == "all" || m.state == wanted)
        .filter(|m| {
            q.source_branch
                .as_ref()
                .is_none_or(|b| *b == m.source_branch)
        })
        .cloned()
        .collect();
    mrs.sort_by_key(|m| (m.created_at, m.iid));
    if q.sort.as_deref().unwrap_or("desc") == "desc" {
        mrs.reverse();
    }
    let items = mrs.iter().map(|m| s.mr_json(&id, m)).collect();
    paged(
        &s,
        items,
        &q,
        &format!("/api/v4/projects/{}/merge_requests", id.replace('/', "%2F")),
    )
}

async fn get_mr(State(state): State<Shared>, Path((id, iid)): Path<(String, u64)>) -> Response {
    let mut s = state.lock().unwrap();
    match s.mr_mut(&id, iid).cloned() {
        Some(mr) => Json(s.mr_json(&id, &mr)).into_response(),
        None => not_found(""),
    }
}

#[derive(Deserialize)]
struct CreateBody {
    source_branch: Option<String>,
    target_branch: Option<String>,
    title: Option<String>,
    description: Option<String>,
    /// Comma-separated, as GitLab documents it.
    labels: Option<String>,
    #[serde(default)]
    reviewer_ids: Vec<u64>,
}

fn too_long(text: Option<&str>) -> Option<Response> {
    text.filter(|t| t.chars().count() > BODY_LIMIT_CHARS)
        .map(|_| {
            message(
                StatusCode::BAD_REQUEST,
                json!({ "description": ["is too long (maximum is 1048576 characters)"] }),
                &[],
            )
        })
}

async fn create_mr(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Json(b): Json<CreateBody>,
) -> Response {
    let mut s = state.lock().unwrap();
    if !s.projects.contains_key(&id) {
        return not_found("Project");
    }
    let (Some(source), Some(target), Some(title)) = (b.source_branch, b.target_branch, b.title)
    else {
        let error = json!({ "error": "source_branch, target_branch, title are missing" });
        return (StatusCode::BAD_REQUEST, Json(error)).into_response();
    };
    if let Some(refused) = too_long(b.description.as_deref()) {
        return refused;
    }
    if source == target {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!(["You can't use same project/branch for source and target"]),
            &[],
        );
    }
    if !s.has_branch(&id, &source) {
        let text = format!("Source branch \"{source}\" does not exist");
        return message(StatusCode::UNPROCESSABLE_ENTITY, json!([text]), &[]);
    }
    let project_id = s.projects[&id].id;
    let open = s.projects[&id].mrs.iter().find(|m| {
        m.state == "opened" && m.source_branch == source && m.source_project_id == project_id
    });
    if let Some(open) = open {
        let text = format!(
            "Another open merge request already exists for this source branch: !{}",
            open.iid
        );
        return message(StatusCode::CONFLICT, json!([text]), &[]);
    }
    let iid = s.open(&id, &source, &target, &title);
    let known: Vec<u64> = b
        .reviewer_ids
        .into_iter()
        .filter(|r| s.users.values().any(|u| u == r))
        .collect();
    let mr = s.mr_mut(&id, iid).unwrap();
    mr.description = b.description.unwrap_or_default();
    mr.labels = b
        .labels
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    mr.reviewers = known;
    let mr = mr.clone();
    (StatusCode::CREATED, Json(s.mr_json(&id, &mr))).into_response()
}

#[derive(Deserialize)]
struct UpdateBody {
    title: Option<String>,
    description: Option<String>,
    state_event: Option<String>,
}

async fn update_mr(
    State(state): State<Shared>,
    Path((id, iid)): Path<(String, u64)>,
    Json(b): Json<UpdateBody>,
) -> Response {
    let mut s = state.lock().unwrap();
    if let Some(refused) = too_long(b.description.as_deref()) {
        return refused;
    }
    let Some(mr) = s.mr_mut(&id, iid) else {
        return not_found("");
    };
    if let Some(title) = b.title {
        mr.title = title;
    }
    if let Some(description) = b.description {
        mr.description = description;
    }
    match (b.state_event.as_deref(), mr.state.as_str()) {
        (Some("close"), "opened" | "locked") => mr.state = "closed".into(),
        (Some("reopen"), "closed") => mr.state = "opened".into(),
        _ => {}
    }
    let mr = mr.clone();
    Json(s.mr_json(&id, &mr)).into_response()
}

fn note_json(index: usize, note: &FakeNote) -> Value {
    json!({
        "id": 7000 + index,
        "body": note.body,
        "system": note.system,
        "author": { "id": 1, "username": "attune-bot" },
        "created_at": rfc3339(now()),
        "noteable_type": "MergeRequest",
    })
}

async fn list_notes(
    State(state): State<Shared>,
    Path((id, iid)): Path<(String, u64)>,
    Query(q): Query<PageQuery>,
) -> Response {
    let mut s = state.lock().unwrap();
    let Some(mr) = s.mr_mut(&id, iid) else {
        return not_found("");
    };
    let mut notes: Vec<Value> = mr
        .notes
        .iter()
        .enumerate()
        .map(|(i, n)| note_json(i, n))
        .collect();
    // GitLab lists notes newest first unless asked otherwise.
    if q.sort.as_deref().unwrap_or("desc") == "desc" {
        notes.reverse();
    }
    let path = format!(
        "/api/v4/projects/{}/merge_requests/{iid}/notes",
        id.replace('/', "%2F")
    );
    paged(&s, notes, &q, &path)
}

#[derive(Deserialize)]
struct NoteBody {
    body: Option<String>,
}

async fn add_note(
    State(state): State<Shared>,
    Path((id, iid)): Path<(String, u64)>,
    Json(b): Json<NoteBody>,
) -> Response {
    let mut s = state.lock().unwrap();
    let Some(body) = b.body.filter(|b| !b.trim().is_empty()) else {
        let error = json!({ "error": "body is missing" });
        return (StatusCode::BAD_REQUEST, Json(error)).into_response();
    };
    if let Some(refused) = too_long(Some(&body)) {
        return refused;
    }
    let Some(mr) = s.mr_mut(&id, iid) else {
        return not_found("");
    };
    mr.notes.push(FakeNote {
        body,
        system: false,
    });
    let index = mr.notes.len() - 1;
    (
        StatusCode::CREATED,
        Json(note_json(index, &mr.notes[index])),
    )
        .into_response()
}

#[derive(Deserialize)]
struct UsersQuery {
    username: Option<String>,
}

async fn users(State(state): State<Shared>, Query(q): Query<UsersQuery>) -> Response {
    let s = state.lock().unwrap();
    let found: Vec<Value> = s
        .users
        .iter()
        .filter(|(name, _)| {
            q.username
                .as_ref()
                .is_some_and(|u| u.eq_ignore_ascii_case(name))
        })
        .map(|(name, id)| json!({ "id": id, "username": name, "name": name, "state": "active" }))
        .collect();
    Json(found).into_response()
}
