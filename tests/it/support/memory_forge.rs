//! An in-memory forge for lifecycle tests over real git: keeps pull requests and comments per
//! repository (numbers count per repository, as on a forge), counts reads and writes, and lets
//! the test act as a human (close, merge). Its API lives at the clone URL's origin, so the
//! controller's token gate treats it like a forge on the git server's host.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use attune::forge::{Forge, ForgeError, ForgeRepo, NewPullRequest, PrState, PullRequest};

#[derive(Default)]
struct Repo {
    prs: Vec<PullRequest>,
    /// (pull request number, body), oldest first.
    comments: Vec<(u64, String)>,
}

#[derive(Default)]
pub struct MemoryForge {
    repos: Mutex<BTreeMap<String, Repo>>,
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

    /// Sets the state of pull request `number` of the only repository that has one so
    /// numbered (tests that use several repositories name it with [`Self::set_state_in`]).
    pub fn set_state(&self, number: u64, state: PrState) {
        let repos = self.repos.lock().unwrap();
        let owners: Vec<&String> = repos
            .iter()
            .filter(|(_, r)| r.prs.iter().any(|p| p.number == number))
            .map(|(name, _)| name)
            .collect();
        assert_eq!(owners.len(), 1, "#{number} in {owners:?}");
        let name = owners[0].clone();
        drop(repos);
        self.set_state_in(&name, number, state);
    }

    pub fn set_state_in(&self, repo: &str, number: u64, state: PrState) {
        let mut repos = self.repos.lock().unwrap();
        let pr = repos
            .get_mut(repo)
            .and_then(|r| r.prs.iter_mut().find(|p| p.number == number))
            .unwrap();
        pr.state = state;
    }

    /// Every pull request of every repository.
    pub fn all(&self) -> Vec<PullRequest> {
        let repos = self.repos.lock().unwrap();
        repos.values().flat_map(|r| r.prs.clone()).collect()
    }

    /// The pull requests of `repo` (`owner/name`).
    pub fn all_in(&self, repo: &str) -> Vec<PullRequest> {
        let repos = self.repos.lock().unwrap();
        repos.get(repo).map(|r| r.prs.clone()).unwrap_or_default()
    }

    /// Forgets every pull request (a forge that lost them, for crash tests).
    pub fn clear_prs(&self) {
        for r in self.repos.lock().unwrap().values_mut() {
            r.prs.clear();
        }
    }

    /// Comments on pull request `number` in any repository.
    pub fn comments_on(&self, number: u64) -> Vec<String> {
        let repos = self.repos.lock().unwrap();
        repos
            .values()
            .flat_map(|r| &r.comments)
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

    fn with_repo<T>(&self, repo: &ForgeRepo, f: impl FnOnce(&mut Repo) -> T) -> T {
        let mut repos = self.repos.lock().unwrap();
        f(repos.entry(repo.to_string()).or_default())
    }
}

fn missing(number: u64) -> ForgeError {
    ForgeError::Status {
        step: "memory forge",
        status: 404,
        message: format!("pull request #{number} does not exist in this repository"),
    }
}

impl Forge for MemoryForge {
    async fn find_by_head(
        &self,
        repo: &ForgeRepo,
        branch: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        self.read();
        Ok(self.with_repo(repo, |r| {
            r.prs
                .iter()
                .rev()
                .find(|p| p.head_branch == branch)
                .cloned()
        }))
    }

    async fn list_by_head_prefix(
        &self,
        repo: &ForgeRepo,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<PullRequest>, ForgeError> {
        self.read();
        if let Some(hook) = self.on_list.lock().unwrap().take() {
            hook();
        }
        Ok(self.with_repo(repo, |r| {
            r.prs
                .iter()
                .rev()
                .filter(|p| p.head_branch.starts_with(prefix))
                .take(limit)
                .cloned()
                .collect()
        }))
    }

    async fn create(
        &self,
        repo: &ForgeRepo,
        pr: &NewPullRequest,
    ) -> Result<PullRequest, ForgeError> {
        self.write();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        self.with_repo(repo, |r| {
            if r.prs
                .iter()
                .any(|p| p.head_branch == pr.head && p.state == PrState::Open)
            {
                return Err(ForgeError::Status {
                    step: "create",
                    status: 422,
                    message: "a pull request already exists".into(),
                });
            }
            let number = r.prs.len() as u64 + 1;
            let created = PullRequest {
                number,
                url: format!("https://forge.test/{repo}/pr/{number}"),
                state: PrState::Open,
                title: pr.title.clone(),
                body: pr.body.clone(),
                head_branch: pr.head.clone(),
                base_branch: pr.base.clone(),
                labels: pr.labels.clone(),
                created_at: now,
                draft: pr.draft,
            };
            r.prs.push(created.clone());
            Ok(created)
        })
    }

    async fn update(
        &self,
        repo: &ForgeRepo,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<(), ForgeError> {
        self.write();
        self.with_repo(repo, |r| {
            let pr = r
                .prs
                .iter_mut()
                .find(|p| p.number == number)
                .ok_or_else(|| missing(number))?;
            pr.title = title.to_owned();
            pr.body = body.to_owned();
            Ok(())
        })
    }

    async fn comment(&self, repo: &ForgeRepo, number: u64, body: &str) -> Result<(), ForgeError> {
        self.write();
        self.with_repo(repo, |r| {
            if !r.prs.iter().any(|p| p.number == number) {
                return Err(missing(number));
            }
            r.comments.push((number, body.to_owned()));
            Ok(())
        })
    }

    async fn comments(&self, repo: &ForgeRepo, number: u64) -> Result<Vec<String>, ForgeError> {
        self.read();
        Ok(self.with_repo(repo, |r| {
            r.comments
                .iter()
                .filter(|(n, _)| *n == number)
                .map(|(_, c)| c.clone())
                .collect()
        }))
    }

    async fn close(&self, repo: &ForgeRepo, number: u64) -> Result<(), ForgeError> {
        self.write();
        self.with_repo(repo, |r| {
            let pr = r
                .prs
                .iter_mut()
                .find(|p| p.number == number)
                .ok_or_else(|| missing(number))?;
            pr.state = PrState::Closed;
            Ok(())
        })
    }

    fn clone_url(&self, _repo: &ForgeRepo) -> String {
        self.clone_url.clone()
    }

    fn api_base(&self) -> url::Url {
        let mut api = url::Url::parse(&self.clone_url).unwrap();
        api.set_path("/api/");
        api
    }

    async fn git_username(&self) -> Result<String, ForgeError> {
        Ok(super::git_http::USER.to_owned())
    }

    fn max_body_bytes(&self) -> usize {
        65536
    }
}
