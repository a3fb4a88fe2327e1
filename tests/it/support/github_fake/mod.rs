//! An in-memory GitHub for tests: pull requests, labels, reviewers and comments per repository,
//! answered in the shapes GitHub's REST API uses, plus the GitHub App endpoints. It records
//! every request so tests can count calls, can be told to fail the next requests to a path —
//! before acting (502, primary or secondary rate limit, 403) or after acting (502, a dropped
//! connection) — refuses a pull request whose head branch does not exist (in the linked bare git
//! repository, or among the branches a test declared), and lets a test act as a human (close,
//! merge).
//!
//! It runs on its own thread and runtime, so a test's runtime (and its clock) stays the
//! client's alone, and it listens on 127.0.0.1 only. `state` holds what it remembers, `gate` the
//! front door (records, faults, credentials), `pulls` and `issues` the endpoints.

mod gate;
mod issues;
mod pulls;
mod state;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::Method;

use super::fake_server::Served;

use state::{App, FakeState, NewPull, PendingFault, Shared};

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

/// A failure played before the endpoint acts: nothing changed.
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

/// A failure played after the endpoint acted: the change is stored, the answer is lost.
#[derive(Debug, Clone, Copy)]
pub enum AfterFault {
    /// 502 Bad Gateway, as a proxy sends when GitHub answered too slowly.
    BadGateway,
    /// The connection drops in the middle of the answer.
    DropConnection,
}

pub struct GitHubFake {
    /// The API root to give the client, `http://127.0.0.1:PORT/`.
    pub base: url::Url,
    state: Shared,
    _server: Served,
}

impl GitHubFake {
    /// Starts a fake that accepts `token` (as `Bearer` or `token`) on repository endpoints.
    pub fn start(token: &str) -> GitHubFake {
        let state: Shared = Arc::new(Mutex::new(FakeState::new(token)));
        let app = pulls::router(state.clone());
        let server = Served::start(app);
        let base = server.base.clone();
        state.lock().unwrap().base = base.to_string();
        GitHubFake {
            base,
            state,
            _server: server,
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

    /// The next `times` such requests act, and then their answer is lost as `fault` says.
    pub fn fail_after(&self, method: Method, path_contains: &str, times: usize, fault: AfterFault) {
        self.lock().after_faults.push(PendingFault {
            method,
            path_contains: path_contains.to_owned(),
            remaining: times,
            fault,
        });
    }

    /// Head branches of `repo` live in the bare git repository `bare` (the git server's).
    pub fn link_git(&self, repo: &str, bare: &Path) {
        self.lock().repos.entry(repo.to_owned()).or_default().git = Some(bare.to_path_buf());
    }

    /// Declares that `repo` has branch `branch`, for tests without a git server.
    pub fn push_branch(&self, repo: &str, branch: &str) {
        let mut state = self.lock();
        let r = state.repos.entry(repo.to_owned()).or_default();
        r.branches.insert(branch.to_owned());
    }

    /// A pull request opened by someone else, as from branch `head` of the same repository.
    pub fn seed_pr(&self, repo: &str, head: &str, title: &str, body: &str) -> u64 {
        let mut state = self.lock();
        let owner = repo.split('/').next().unwrap().to_owned();
        let pull = NewPull {
            head_owner: &owner,
            head,
            base: "main",
            title,
            body,
            draft: false,
        };
        state.open(repo, pull)
    }

    /// A pull request from a fork owned by `fork_owner` whose branch is also named `head`.
    pub fn seed_fork_pr(&self, repo: &str, fork_owner: &str, head: &str) -> u64 {
        let pull = NewPull {
            head_owner: fork_owner,
            head,
            base: "main",
            title: "from a fork",
            body: "",
            draft: false,
        };
        self.lock().open(repo, pull)
    }

    /// A human closes the pull request without merging.
    pub fn close(&self, repo: &str, number: u64) {
        let mut state = self.lock();
        let pr = state.pr_mut(repo, number).unwrap();
        pr.state = "closed".into();
        pr.closed_at = Some(state::now());
    }

    /// A human merges the pull request.
    pub fn merge(&self, repo: &str, number: u64) {
        let mut state = self.lock();
        let pr = state.pr_mut(repo, number).unwrap();
        pr.state = "closed".into();
        pr.merged = true;
        pr.closed_at = Some(state::now());
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
