//! An in-memory GitLab for tests: merge requests (states opened, closed, merged, locked), their
//! notes, labels and reviewers per project, and users, answered in the shapes GitLab's REST API
//! v4 uses — projects addressed by URL-encoded path, `source_branch` as a merge request's
//! identity, `has_conflicts`, 409 for a second open merge request of a branch, 422 for a
//! source branch that does not exist, 429 with `Retry-After` and `RateLimit-*`, offset
//! pagination headers (`X-Next-Page`, `Link`). It records every request, plays faults before
//! an endpoint acts or after (a 500 or a dropped connection once the change is stored), and
//! lets a test act as a human (close, merge, lock, a conflict).
//!
//! Not verified against a real GitLab: written from GitLab's API documentation.
//! Runs on its own thread and runtime and listens on 127.0.0.1 only.

mod routes;
mod state;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::Method;

use super::fake_server::Served;

use state::{FakeState, PendingFault, Shared};

/// GitLab's limit on descriptions and notes, in characters.
pub const BODY_LIMIT_CHARS: usize = 1_048_576;

#[derive(Debug, Clone)]
pub struct FakeNote {
    pub body: String,
    /// Written by GitLab itself ("added ~attune label").
    pub system: bool,
}

#[derive(Debug, Clone)]
pub struct FakeMr {
    pub iid: u64,
    /// `opened`, `closed`, `merged` or `locked`.
    pub state: String,
    /// Another project's id: a fork's merge request.
    pub source_project_id: i64,
    pub source_branch: String,
    pub target_branch: String,
    pub title: String,
    pub description: String,
    pub labels: Vec<String>,
    /// User ids.
    pub reviewers: Vec<u64>,
    pub notes: Vec<FakeNote>,
    pub has_conflicts: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Raw, so the project path is still `acme%2Fgitops`.
    pub path: String,
    pub query: String,
    /// `private-token`, `bearer` or `none`.
    pub scheme: &'static str,
    pub credential: Option<String>,
}

/// A failure played before the endpoint acts: nothing changed.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// 502 from the load balancer, an HTML page.
    BadGateway,
    /// 429 with `Retry-After` and `RateLimit-*`.
    RateLimited { retry_after_secs: u64 },
    /// 429 with `RateLimit-Reset` only.
    ResetOnly { reset_in_secs: i64 },
    /// 403: the token lacks a permission.
    Forbidden,
}

/// A failure played after the endpoint acted: the change is stored, the answer is lost.
#[derive(Debug, Clone, Copy)]
pub enum AfterFault {
    InternalError,
    DropConnection,
}

pub struct GitLabFake {
    /// The web root to give the client, `http://127.0.0.1:PORT/`.
    pub base: url::Url,
    state: Shared,
    _server: Served,
}

impl GitLabFake {
    /// Starts a fake that accepts `token` as `PRIVATE-TOKEN` or `Bearer`.
    pub fn start(token: &str) -> GitLabFake {
        let state: Shared = Arc::new(Mutex::new(FakeState::new(token)));
        let app = routes::router(state.clone());
        let server = Served::start(app);
        let base = server.base.clone();
        state.lock().unwrap().base = base.to_string();
        GitLabFake {
            base,
            state,
            _server: server,
        }
    }

    /// The next `times` requests with `method` whose raw path contains `path_contains` fail.
    pub fn fail_next(&self, method: Method, path_contains: &str, times: usize, fault: Fault) {
        self.lock().faults.push(PendingFault {
            method,
            path_contains: path_contains.to_owned(),
            remaining: times,
            fault,
        });
    }

    /// The next `times` such requests act, and then their answer is lost as `fault` says.
    pub fn fail_after(&self, method: Method, path_contains: &str, times: usize, fault: AfterFault) {
        self.lock().after_faults.push(PendingFault {
            method,
            path_contains: path_contains.to_owned(),
            remaining: times,
            fault,
        });
    }

    /// Lists carry only a `Link` header, no `X-Next-Page`.
    pub fn paginate_by_link_only(&self) {
        self.lock().link_only = true;
    }

    /// Source branches of project `path` live in the bare git repository `bare`.
    pub fn link_git(&self, path: &str, bare: &Path) {
        self.lock().project(path).git = Some(bare.to_path_buf());
    }

    /// Declares that project `path` has `branch`, for tests without a git server.
    pub fn push_branch(&self, path: &str, branch: &str) {
        self.lock().project(path).branches.insert(branch.to_owned());
    }

    /// A user reviewers can be requested by name; returns the id.
    pub fn add_user(&self, username: &str) -> u64 {
        let mut s = self.lock();
        let id = 100 + s.users.len() as u64;
        *s.users.entry(username.to_owned()).or_insert(id)
    }

    /// A merge request opened by someone else from `source` of the same project into main.
    pub fn seed_mr(&self, path: &str, source: &str, title: &str, description: &str) -> u64 {
        let mut s = self.lock();
        let iid = s.open(path, source, "main", title);
        s.mr_mut(path, iid).unwrap().description = description.to_owned();
        iid
    }

    /// A merge request from a fork whose branch is also named `source`.
    pub fn seed_fork_mr(&self, path: &str, source: &str) -> u64 {
        let mut s = self.lock();
        let iid = s.open(path, source, "main", "from a fork");
        s.mr_mut(path, iid).unwrap().source_project_id = 999;
        iid
    }

    /// Sets the state as a human (or GitLab) would: `closed`, `merged`, `locked`, `opened`.
    pub fn set_state(&self, path: &str, iid: u64, state: &str) {
        self.lock().mr_mut(path, iid).unwrap().state = state.to_owned();
    }

    /// GitLab found the source branch conflicting with the target.
    pub fn set_conflicts(&self, path: &str, iid: u64, conflicts: bool) {
        self.lock().mr_mut(path, iid).unwrap().has_conflicts = conflicts;
    }

    /// A note GitLab writes itself.
    pub fn add_system_note(&self, path: &str, iid: u64, body: &str) {
        let note = FakeNote {
            body: body.to_owned(),
            system: true,
        };
        self.lock().mr_mut(path, iid).unwrap().notes.push(note);
    }

    pub fn mr(&self, path: &str, iid: u64) -> FakeMr {
        self.lock().mr_mut(path, iid).unwrap().clone()
    }

    pub fn mrs(&self, path: &str) -> Vec<FakeMr> {
        self.lock()
            .projects
            .get(path)
            .map(|p| p.mrs.clone())
            .unwrap_or_default()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Requests with `method` whose raw path contains `path_contains`.
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
