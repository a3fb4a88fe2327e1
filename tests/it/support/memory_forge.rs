//! An in-memory forge for lifecycle tests over real git: keeps pull requests and comments,
//! counts reads and writes, and lets the test act as a human (close, merge).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use attune::forge::{Forge, ForgeError, NewPullRequest, PrState, PullRequest, RepoRef};

#[derive(Default)]
pub struct MemoryForge {
    pub prs: Mutex<Vec<PullRequest>>,
    pub comments: Mutex<Vec<(u64, String)>>,
    pub reads: AtomicU64,
    pub writes: AtomicU64,
    pub clone_url: String,
    /// Runs once inside the next limits listing, i.e. after the run looked at the remote and
    /// before it pushes: the window a concurrent pusher would hit.
    pub on_list: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl MemoryForge {
    pub fn new(clone_url: String) -> MemoryForge {
        MemoryForge {
            clone_url,
            ..MemoryForge::default()
        }
    }

    pub fn calls(&self) -> (u64, u64) {
        (
            self.reads.load(Ordering::SeqCst),
            self.writes.load(Ordering::SeqCst),
        )
    }

    pub fn reset_calls(&self) {
        self.reads.store(0, Ordering::SeqCst);
        self.writes.store(0, Ordering::SeqCst);
    }

    pub fn set_state(&self, number: u64, state: PrState) {
        let mut prs = self.prs.lock().unwrap();
        prs.iter_mut().find(|p| p.number == number).unwrap().state = state;
    }

    pub fn all(&self) -> Vec<PullRequest> {
        self.prs.lock().unwrap().clone()
    }

    pub fn comments_on(&self, number: u64) -> Vec<String> {
        self.comments
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| *n == number)
            .map(|(_, c)| c.clone())
            .collect()
    }

    fn read(&self) {
        self.reads.fetch_add(1, Ordering::SeqCst);
    }

    fn write(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }
}

impl Forge for MemoryForge {
    async fn find_by_head(
        &self,
        _repo: &RepoRef,
        branch: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        self.read();
        let prs = self.prs.lock().unwrap();
        Ok(prs.iter().rev().find(|p| p.head_branch == branch).cloned())
    }

    async fn list_by_head_prefix(
        &self,
        _repo: &RepoRef,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<PullRequest>, ForgeError> {
        self.read();
        if let Some(hook) = self.on_list.lock().unwrap().take() {
            hook();
        }
        let prs = self.prs.lock().unwrap();
        Ok(prs
            .iter()
            .rev()
            .filter(|p| p.head_branch.starts_with(prefix))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn create(
        &self,
        _repo: &RepoRef,
        pr: &NewPullRequest,
    ) -> Result<PullRequest, ForgeError> {
        self.write();
        let mut prs = self.prs.lock().unwrap();
        if prs
            .iter()
            .any(|p| p.head_branch == pr.head && p.state == PrState::Open)
        {
            return Err(ForgeError::Status {
                step: "create",
                status: 422,
                message: "a pull request already exists".into(),
            });
        }
        let number = prs.len() as u64 + 1;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let created = PullRequest {
            number,
            url: format!("https://forge.test/pr/{number}"),
            state: PrState::Open,
            title: pr.title.clone(),
            body: pr.body.clone(),
            head_branch: pr.head.clone(),
            base_branch: pr.base.clone(),
            labels: pr.labels.clone(),
            created_at: now,
            draft: pr.draft,
        };
        prs.push(created.clone());
        Ok(created)
    }

    async fn update(
        &self,
        _repo: &RepoRef,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<(), ForgeError> {
        self.write();
        let mut prs = self.prs.lock().unwrap();
        let pr = prs.iter_mut().find(|p| p.number == number).unwrap();
        pr.title = title.to_owned();
        pr.body = body.to_owned();
        Ok(())
    }

    async fn comment(&self, _repo: &RepoRef, number: u64, body: &str) -> Result<(), ForgeError> {
        self.write();
        self.comments
            .lock()
            .unwrap()
            .push((number, body.to_owned()));
        Ok(())
    }

    async fn comments(&self, _repo: &RepoRef, number: u64) -> Result<Vec<String>, ForgeError> {
        self.read();
        Ok(self.comments_on(number))
    }

    async fn close(&self, _repo: &RepoRef, number: u64) -> Result<(), ForgeError> {
        self.write();
        self.set_state(number, PrState::Closed);
        Ok(())
    }

    fn clone_url(&self, _repo: &RepoRef) -> String {
        self.clone_url.clone()
    }

    async fn git_username(&self) -> Result<String, ForgeError> {
        Ok(super::git_http::USER.to_owned())
    }

    fn max_body_bytes(&self) -> usize {
        65536
    }
}
