//! What the fake GitLab remembers — merge requests and notes per project, users, branches (from
//! a linked bare git repository or declared), recorded requests, faults still to play — and
//! merge requests in GitLab's JSON shape.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::Method;
use serde_json::{Value, json};

use super::{AfterFault, FakeMr, Fault, Recorded};

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

#[derive(Default)]
pub(super) struct Project {
    pub id: i64,
    pub mrs: Vec<FakeMr>,
    pub git: Option<PathBuf>,
    pub branches: HashSet<String>,
}

pub(super) struct FakeState {
    pub base: String,
    pub token: String,
    pub projects: HashMap<String, Project>,
    /// username → id.
    pub users: HashMap<String, u64>,
    pub requests: Vec<Recorded>,
    pub faults: Vec<PendingFault<Fault>>,
    pub after_faults: Vec<PendingFault<AfterFault>>,
    /// Pagination by `Link` only, as GitLab answers keyset-paginated lists.
    pub link_only: bool,
    /// The next merge request's creation time; each is a minute younger than the last.
    pub clock: i64,
}

pub(super) type Shared = Arc<Mutex<FakeState>>;

impl FakeState {
    pub fn new(token: &str) -> FakeState {
        FakeState {
            base: String::new(),
            token: token.to_owned(),
            projects: HashMap::new(),
            users: HashMap::new(),
            requests: Vec::new(),
            faults: Vec::new(),
            after_faults: Vec::new(),
            link_only: false,
            clock: now() - 86_400,
        }
    }

    pub fn project(&mut self, path: &str) -> &mut Project {
        let next_id = self.projects.len() as i64 + 1;
        self.projects
            .entry(path.to_owned())
            .or_insert_with(|| Project {
                id: next_id,
                ..Project::default()
            })
    }

    pub fn has_branch(&self, path: &str, branch: &str) -> bool {
        let Some(p) = self.projects.get(path) else {
            return false;
        };
        match &p.git {
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
            None => p.branches.contains(branch),
        }
    }

    /// Opens a merge request from `source` (of project `source_project_id`) into `target`.
    pub fn open(&mut self, path: &str, source: &str, target: &str, title: &str) -> u64 {
        self.clock += 60;
        let created_at = self.clock;
        let project = self.project(path);
        let iid = project.mrs.len() as u64 + 1;
        let id = project.id;
        project.mrs.push(FakeMr {
            iid,
            state: "opened".into(),
            source_project_id: id,
            source_branch: source.to_owned(),
            target_branch: target.to_owned(),
            title: title.to_owned(),
            description: String::new(),
            labels: Vec::new(),
            reviewers: Vec::new(),
            notes: Vec::new(),
            has_conflicts: false,
            created_at,
        });
        iid
    }

    pub fn mr_mut(&mut self, path: &str, iid: u64) -> Option<&mut FakeMr> {
        self.projects
            .get_mut(path)?
            .mrs
            .iter_mut()
            .find(|m| m.iid == iid)
    }

    pub fn mr_json(&self, path: &str, mr: &FakeMr) -> Value {
        let project_id = self.projects.get(path).map_or(0, |p| p.id);
        let username = |id: &u64| {
            self.users
                .iter()
                .find(|(_, uid)| *uid == id)
                .map_or_else(String::new, |(name, _)| name.clone())
        };
        json!({
            "id": 9000 + mr.iid,
            "iid": mr.iid,
            "project_id": project_id,
            "title": mr.title,
            "description": if mr.description.is_empty() { Value::Null } else { Value::from(mr.description.clone()) },
            "state": mr.state,
            "created_at": rfc3339(mr.created_at),
            "updated_at": rfc3339(mr.created_at),
            "merged_at": if mr.state == "merged" { Value::from(rfc3339(now())) } else { Value::Null },
            "target_branch": mr.target_branch,
            "source_branch": mr.source_branch,
            "source_project_id": mr.source_project_id,
            "target_project_id": project_id,
            "author": { "id": 1, "username": "attune-bot", "name": "Attune" },
            "labels": mr.labels,
            "draft": mr.title.starts_with("Draft:"),
            "work_in_progress": mr.title.starts_with("Draft:"),
            "merge_status": if mr.has_conflicts { "cannot_be_merged" } else { "can_be_merged" },
            "detailed_merge_status": if mr.has_conflicts { "conflict" } else { "mergeable" },
            "has_conflicts": mr.has_conflicts,
            "reviewers": mr.reviewers.iter().map(|id| json!({ "id": id, "username": username(id) })).collect::<Vec<_>>(),
            "sha": format!("{:040x}", mr.iid),
            "references": { "short": format!("!{}", mr.iid), "full": format!("{path}!{}", mr.iid) },
            "web_url": format!("{}{path}/-/merge_requests/{}", self.base, mr.iid),
        })
    }
}

pub(super) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// GitLab's timestamps carry milliseconds.
pub(super) fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
