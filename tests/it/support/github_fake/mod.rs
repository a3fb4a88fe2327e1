//! An in-memory GitHub for tests: pull requests, labels, reviewers and comments per repository,
//! answered in the shapes GitHub's REST API uses, plus the GitHub App endpoints. It records
//! every request so tests can count calls, can be told to fail the next requests to a path
//! (502, primary or secondary rate limit, 403), and lets a test act as a human (close, merge).
//!
//! It runs on its own thread and runtime, so a test's runtime (and its clock) stays the
//! client's alone, and it listens on 127.0.0.1 only.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use octocrab::jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};

/// GitHub's limit on pull request and comment bodies, in characters.
pub const BODY_LIMIT_CHARS: usize = 65536;

#[derive(Debug, Clone)]
pub struct FakePr {
    pub number: u64,
    /// `open` or `closed`, as GitHub says it.
    pub state: String,
    pub merged: bool,
    /// Who owns the repository the head branch lives in (another owner: a fork).
    pub head_owner: String,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    pub draft: bool,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub team_reviewers: Vec<String>,
    pub comments: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub closed_at: Option<i64>,
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    /// The credential it carried, for tests about which token was used.
    pub credential: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// 502 Bad Gateway, as GitHub's front end sends under load.
    BadGateway,
    /// 403 with `X-RateLimit-Remaining: 0` and a reset this many seconds from now.
    PrimaryLimit { reset_in_secs: i64 },
    /// 403 naming the secondary rate limit, with `Retry-After`.
    SecondaryLimit { retry_after_secs: u64 },
    /// 403 that is no rate limit: a missing permission.
    Forbidden,
}

struct PendingFault {
    method: Method,
    path_contains: String,
    remaining: usize,
    fault: Fault,
}

struct App {
    app_id: u64,
    public_key_pem: Vec<u8>,
    installation_id: u64,
}

struct Issued {
    token: String,
    expires_at: i64,
}

#[derive(Default)]
struct Repo {
    prs: Vec<FakePr>,
}

struct FakeState {
    base: String,
    token: String,
    app: Option<App>,
    token_lifetime_secs: i64,
    issued: Vec<Issued>,
    repos: HashMap<String, Repo>,
    requests: Vec<Recorded>,
    faults: Vec<PendingFault>,
    /// The next pull request's creation time; each one is a minute younger than the last.
    clock: i64,
}

type Shared = Arc<Mutex<FakeState>>;

pub struct GitHubFake {
    /// The API root to give the client, `http://127.0.0.1:PORT/`.
    pub base: url::Url,
    state: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GitHubFake {
    /// Starts a fake that accepts `token` (as `Bearer` or `token`) on repository endpoints.
    pub fn start(token: &str) -> GitHubFake {
        let state: Shared = Arc::new(Mutex::new(FakeState {
            base: String::new(),
            token: token.to_owned(),
            app: None,
            token_lifetime_secs: 3600,
            issued: Vec::new(),
            repos: HashMap::new(),
            requests: Vec::new(),
            faults: Vec::new(),
            clock: now() - 86_400,
        }));
        let app = router(state.clone());
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                // Not a graceful shutdown: the client may keep idle connections open.
                tokio::select! {
                    result = axum::serve(listener, app) => result.unwrap(),
                    _ = stopped => {}
                }
            });
        });
        let addr = addr_rx.recv().unwrap();
        let base = url::Url::parse(&format!("http://{addr}/")).unwrap();
        state.lock().unwrap().base = base.to_string();
        GitHubFake {
            base,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Serves the GitHub App endpoints for app `app_id`, whose JWTs must verify against
    /// `public_key_pem`; every repository is installed in installation 7.
    pub fn with_app(self, app_id: u64, public_key_pem: &[u8]) -> GitHubFake {
        self.lock().app = Some(App {
            app_id,
            public_key_pem: public_key_pem.to_vec(),
            installation_id: 7,
        });
        self
    }

    /// How long installation tokens minted from now on live.
    pub fn set_token_lifetime(&self, secs: i64) {
        self.lock().token_lifetime_secs = secs;
    }

    /// Every installation token minted so far stops working, as after a revocation.
    pub fn revoke_tokens(&self) {
        self.lock().issued.clear();
    }

    /// The installation tokens minted so far, oldest first.
    pub fn minted_tokens(&self) -> Vec<String> {
        self.lock().issued.iter().map(|t| t.token.clone()).collect()
    }

    /// The next `times` requests with `method` whose path contains `path_contains` fail.
    pub fn fail_next(&self, method: Method, path_contains: &str, times: usize, fault: Fault) {
        self.lock().faults.push(PendingFault {
            method,
            path_contains: path_contains.to_owned(),
            remaining: times,
            fault,
        });
    }

    /// A pull request opened by someone else, as from branch `head` of the same repository.
    pub fn seed_pr(&self, repo: &str, head: &str, title: &str, body: &str) -> u64 {
        let mut state = self.lock();
        let owner = repo.split('/').next().unwrap().to_owned();
        state.open(repo, &owner, head, "main", title, body, false)
    }

    /// A pull request from a fork owned by `fork_owner` whose branch is also named `head`.
    pub fn seed_fork_pr(&self, repo: &str, fork_owner: &str, head: &str) -> u64 {
        self.lock()
            .open(repo, fork_owner, head, "main", "from a fork", "", false)
    }

    /// A human closes the pull request without merging.
    pub fn close(&self, repo: &str, number: u64) {
        let mut state = self.lock();
        let pr = state.pr_mut(repo, number).unwrap();
        pr.state = "closed".into();
        pr.closed_at = Some(now());
    }

    /// A human merges the pull request.
    pub fn merge(&self, repo: &str, number: u64) {
        let mut state = self.lock();
        let pr = state.pr_mut(repo, number).unwrap();
        pr.state = "closed".into();
        pr.merged = true;
        pr.closed_at = Some(now());
    }

    pub fn pr(&self, repo: &str, number: u64) -> FakePr {
        self.lock().pr_mut(repo, number).unwrap().clone()
    }

    pub fn prs(&self, repo: &str) -> Vec<FakePr> {
        self.lock()
            .repos
            .get(repo)
            .map(|r| r.prs.clone())
            .unwrap_or_default()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Requests with `method` whose path contains `path_contains`.
    pub fn count(&self, method: &str, path_contains: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.method == method && r.path.contains(path_contains))
            .count()
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap()
    }
}

impl Drop for GitHubFake {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl FakeState {
    #[allow(clippy::too_many_arguments)]
    fn open(
        &mut self,
        repo: &str,
        head_owner: &str,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
        draft: bool,
    ) -> u64 {
        self.clock += 60;
        let created_at = self.clock;
        let prs = &mut self.repos.entry(repo.to_owned()).or_default().prs;
        // Issues and pull requests share one sequence on GitHub; here there are only pulls.
        let number = prs.len() as u64 + 1;
        prs.push(FakePr {
            number,
            state: "open".into(),
            merged: false,
            head_owner: head_owner.to_owned(),
            head: head.to_owned(),
            base: base.to_owned(),
            title: title.to_owned(),
            body: body.to_owned(),
            draft,
            labels: Vec::new(),
            reviewers: Vec::new(),
            team_reviewers: Vec::new(),
            comments: Vec::new(),
            created_at,
            closed_at: None,
        });
        number
    }

    fn pr_mut(&mut self, repo: &str, number: u64) -> Option<&mut FakePr> {
        self.repos
            .get_mut(repo)?
            .prs
            .iter_mut()
            .find(|p| p.number == number)
    }

    fn pr_json(&self, repo: &str, pr: &FakePr) -> Value {
        let owner = repo.split('/').next().unwrap_or_default();
        let head_repo = format!(
            "{}/{}",
            pr.head_owner,
            repo.split('/').nth(1).unwrap_or_default()
        );
        json!({
            "url": format!("{}repos/{repo}/pulls/{}", self.base, pr.number),
            "id": 1000 + pr.number,
            "html_url": format!("{}{repo}/pull/{}", self.base, pr.number),
            "number": pr.number,
            "state": pr.state,
            "locked": false,
            "title": pr.title,
            "user": { "login": "attune-bot", "id": 1, "type": "Bot" },
            "body": if pr.body.is_empty() { Value::Null } else { Value::from(pr.body.clone()) },
            "labels": pr.labels.iter().enumerate().map(|(i, name)| json!({
                "id": 100 + i, "name": name, "color": "ededed", "default": false
            })).collect::<Vec<_>>(),
            "created_at": rfc3339(pr.created_at),
            "updated_at": rfc3339(pr.closed_at.unwrap_or(pr.created_at)),
            "closed_at": pr.closed_at.map(rfc3339),
            "merged_at": if pr.merged { pr.closed_at.map(rfc3339) } else { None },
            "merged": pr.merged,
            "draft": pr.draft,
            "head": {
                "label": format!("{}:{}", pr.head_owner, pr.head),
                "ref": pr.head,
                "sha": format!("{:040x}", pr.number),
                "repo": { "full_name": head_repo },
            },
            "base": {
                "label": format!("{owner}:{}", pr.base),
                "ref": pr.base,
                "sha": format!("{:040x}", 0xba5e),
                "repo": { "full_name": repo },
            },
            "requested_reviewers": pr.reviewers.iter().map(|l| json!({ "login": l })).collect::<Vec<_>>(),
            "requested_teams": pr.team_reviewers.iter().map(|s| json!({ "slug": s })).collect::<Vec<_>>(),
        })
    }
}

fn router(state: Shared) -> Router {
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

/// Records the request, plays any pending fault, then checks the credential the endpoint needs:
/// the app's JWT for app endpoints, the token or a live installation token elsewhere.
async fn gate(State(state): State<Shared>, request: Request, next: Next) -> Response {
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
        let fault = s
            .faults
            .iter_mut()
            .find(|f| f.remaining > 0 && f.method == method && path.contains(&f.path_contains));
        if let Some(fault) = fault {
            fault.remaining -= 1;
            return fault_response(fault.fault);
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
    next.run(request).await
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

fn error(status: StatusCode, message: &str, headers: &[(&str, &str)]) -> Response {
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

fn validation_failed(resource: &str, message: &str) -> Response {
    let body = json!({
        "message": "Validation Failed",
        "errors": [{ "resource": resource, "code": "custom", "message": message }],
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
        "status": "422",
    });
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found", &[])
}

fn too_long(body: Option<&str>) -> bool {
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

fn page<T: Clone>(items: &[T], per_page: Option<usize>, page: Option<usize>) -> Vec<T> {
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
        return validation_failed("PullRequest", "title, head and base are required");
    };
    let head = head
        .split_once(':')
        .map_or(head.clone(), |(_, h)| h.to_owned());
    if too_long(b.body.as_deref()) {
        return validation_failed("Issue", "body is too long (maximum is 65536 characters)");
    }
    let open_exists = s.repos.get(&repo).is_some_and(|r| {
        r.prs
            .iter()
            .any(|p| p.state == "open" && p.head_owner == owner && p.head == head)
    });
    if open_exists {
        return validation_failed(
            "PullRequest",
            &format!("A pull request already exists for {owner}:{head}."),
        );
    }
    let number = s.open(
        &repo,
        &owner,
        &head,
        &base,
        &title,
        b.body.as_deref().unwrap_or_default(),
        b.draft,
    );
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
        return validation_failed("Issue", "body is too long (maximum is 65536 characters)");
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
            return validation_failed("PullRequest", "cannot reopen a merged pull request");
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
struct LabelsBody {
    labels: Vec<String>,
}

async fn add_labels(
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
        return validation_failed("PullRequest", "team_reviewers takes team slugs");
    }
    let Some(pr) = s.pr_mut(&repo, number) else {
        return not_found();
    };
    pr.reviewers.extend(b.reviewers);
    pr.team_reviewers.extend(b.team_reviewers);
    let pr = pr.clone();
    (StatusCode::CREATED, Json(s.pr_json(&repo, &pr))).into_response()
}

#[derive(Deserialize)]
struct PageQuery {
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

async fn list_comments(
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
struct CommentBody {
    body: String,
}

async fn add_comment(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    Json(b): Json<CommentBody>,
) -> Response {
    let mut s = state.lock().unwrap();
    let repo = format!("{owner}/{name}");
    let base = s.base.clone();
    if too_long(Some(&b.body)) {
        return validation_failed(
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

async fn installation(
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

async fn access_token(State(state): State<Shared>, Path(id): Path<u64>) -> Response {
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

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Test-only RSA key pair, made once per test binary with `openssl genrsa` (PKCS#1, as GitHub
/// hands out app keys): (private PEM, public PEM).
pub fn test_app_key() -> &'static (Vec<u8>, Vec<u8>) {
    static KEY: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("app.pem");
        let run = |args: &[&str]| {
            let status = std::process::Command::new("openssl")
                .args(args)
                .stderr(std::process::Stdio::null())
                .status()
                .expect("openssl must be installed for the GitHub App tests");
            assert!(status.success(), "openssl {args:?} failed");
        };
        let private_path = private.to_str().unwrap();
        run(&["genrsa", "-traditional", "-out", private_path, "2048"]);
        let public = dir.path().join("app.pub.pem");
        run(&[
            "rsa",
            "-in",
            private_path,
            "-pubout",
            "-out",
            public.to_str().unwrap(),
        ]);
        (
            std::fs::read(&private).unwrap(),
            std::fs::read(&public).unwrap(),
        )
    })
}
