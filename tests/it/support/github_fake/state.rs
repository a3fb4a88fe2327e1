//! What the fake GitHub remembers: pull requests per repository, the app and its minted tokens,
//! the branches that exist (from a linked bare git repository, or declared by the test), the
//! recorded requests and the faults still to play; and pull requests in GitHub's JSON shape.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::Method;
use serde_json::{Value, json};

use super::{AfterFault, FakePr, Fault, Recorded};

pub(super) struct PendingFault<K> {
    pub method: Method,
    pub path_contains: String,
    pub remaining: usize,
    pub fault: K,
}

impl<K: Copy> PendingFault<K> {
    /// Takes one play of the first fault matching the request, if any.
    pub fn take(faults: &mut [PendingFault<K>], method: &Method, path: &str) -> Option<K> {
        let fault = faults
            .iter_mut()
            .find(|f| f.remaining > 0 && f.method == method && path.contains(&f.path_contains))?;
        fault.remaining -= 1;
        Some(fault.fault)
    }
}

pub(super) struct App {
    pub app_id: u64,
    pub public_key_pem: Vec<u8>,
    pub installation_id: u64,
}

pub(super) struct Issued {
    pub token: String,
    pub expires_at: i64,
}

#[derive(Default)]
pub(super) struct Repo {
    pub prs: Vec<FakePr>,
    /// The bare repository the head branches live in, when the test linked one.
    pub git: Option<PathBuf>,
    /// Branches the test declared, for repositories without a linked git repository.
    pub branches: HashSet<String>,
}

pub(super) struct FakeState {
    pub base: String,
    pub token: String,
    pub app: Option<App>,
    pub token_lifetime_secs: i64,
    pub issued: Vec<Issued>,
    pub repos: HashMap<String, Repo>,
    pub requests: Vec<Recorded>,
    pub faults: Vec<PendingFault<Fault>>,
    pub after_faults: Vec<PendingFault<AfterFault>>,
    /// The next pull request's creation time; each one is a minute younger than the last.
    pub clock: i64,
}

pub(super) type Shared = Arc<Mutex<FakeState>>;

/// A pull request as its author opens it.
pub struct NewPull<'a> {
    /// The owner of the repository the head branch is in (a fork's owner, or the base's).
    pub head_owner: &'a str,
    pub head: &'a str,
    pub base: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub draft: bool,
}

impl FakeState {
    pub fn new(token: &str) -> FakeState {
        FakeState {
            base: String::new(),
            token: token.to_owned(),
            app: None,
            token_lifetime_secs: 3600,
            issued: Vec::new(),
            repos: HashMap::new(),
            requests: Vec::new(),
            faults: Vec::new(),
            after_faults: Vec::new(),
            clock: now() - 86_400,
        }
    }

    /// Whether `branch` exists in `repo`, as GitHub checks a new pull request's head.
    pub fn has_branch(&self, repo: &str, branch: &str) -> bool {
        let Some(r) = self.repos.get(repo) else {
            return false;
        };
        match &r.git {
            Some(bare) => std::process::Command::new("git")
                .args([
                    "rev-parse",
                    "--verify",
                    "-q",
                    &format!("refs/heads/{branch}"),
                ])
                .current_dir(bare)
                .output()
                .is_ok_and(|out| out.status.success()),
            None => r.branches.contains(branch),
        }
    }

    pub fn open(&mut self, repo: &str, pull: NewPull<'_>) -> u64 {
        let NewPull {
            head_owner,
            head,
            base,
            title,
            body,
            draft,
        } = pull;
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

    pub fn pr_mut(&mut self, repo: &str, number: u64) -> Option<&mut FakePr> {
        self.repos
            .get_mut(repo)?
            .prs
            .iter_mut()
            .find(|p| p.number == number)
    }

    pub fn pr_json(&self, repo: &str, pr: &FakePr) -> Value {
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

pub(super) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub(super) fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
