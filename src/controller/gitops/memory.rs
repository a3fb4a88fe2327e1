//! What the GitOps step remembers between reconciles, in process only: per policy and branch, the
//! fingerprint of the inputs last acted on, what came of it, when the forge was last read and
//! when the pull request was last written. After a restart it is empty; `pr::sync` then finds
//! the existing pull request by its head branch, so nothing is opened twice. It stores and forgets; it decides nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use super::outcome::Outcome;

/// One branch's memory.
#[derive(Debug, Clone)]
pub struct Entry {
    pub fingerprint: String,
    /// The part of the fingerprint that says what the pull request should carry.
    pub wanted: String,
    pub outcome: Outcome,
    /// When the forge (or git) was last asked about this branch.
    pub polled: SystemTime,
    /// When the bot last created, updated or closed the pull request.
    pub written: Option<SystemTime>,
    /// For `status.gitops`.
    pub row: crate::crd::GitOpsPullRequest,
}

/// Keyed by (policy uid, group key).
#[derive(Debug, Default)]
pub struct Memory {
    entries: Mutex<HashMap<(String, String), Entry>>,
}

impl Memory {
    pub fn get(&self, policy: &str, key: &str) -> Option<Entry> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&(policy.to_owned(), key.to_owned())).cloned()
    }

    pub fn put(&self, policy: &str, key: &str, entry: Entry) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert((policy.to_owned(), key.to_owned()), entry);
    }

    /// Drops the policy's entries whose key is not in `keep` (branches that went away).
    pub fn retain(&self, policy: &str, keep: &[String]) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(p, k), _| p != policy || keep.contains(k));
    }

    /// Forgets a deleted policy.
    pub fn forget(&self, policy: &str) {
        self.retain(policy, &[]);
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
