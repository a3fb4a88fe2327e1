//! What the GitOps step remembers between reconciles, in process only: per policy and branch, the
//! fingerprint of the inputs last acted on, what came of it, when the forge was last read and
//! when the pull request was last written. After a restart it is empty; `pr::sync` then finds
//! the existing pull request by its head branch, so nothing is opened twice. It stores and
//! forgets; it decides nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use super::fingerprint::Fingerprint;
use super::outcome::Outcome;

/// One branch's memory.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The inputs last acted on (for a refusal: its message, told once).
    pub fingerprint: Fingerprint,
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

    /// Keeps only the policies (by uid) that still exist.
    pub fn keep_policies(&self, alive: &std::collections::HashSet<String>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(p, _), _| alive.contains(p));
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::gitops::outcome::Reason;

    fn entry() -> Entry {
        Entry {
            fingerprint: Fingerprint {
                all: "f".into(),
                wanted: "w".into(),
            },
            outcome: Outcome::new(Reason::Open, String::new()),
            polled: SystemTime::UNIX_EPOCH,
            written: None,
            row: Default::default(),
        }
    }

    #[test]
    fn deleted_policies_are_swept_and_live_ones_kept() {
        let m = Memory::default();
        m.put("u1", "repo#main", entry());
        m.put("u1", "other#main", entry());
        m.put("u2", "repo#main", entry());
        m.keep_policies(&["u2".to_owned()].into_iter().collect());
        assert_eq!(m.len(), 1);
        assert!(m.get("u2", "repo#main").is_some());
        m.retain("u2", &[]);
        assert!(m.is_empty());
    }
}
