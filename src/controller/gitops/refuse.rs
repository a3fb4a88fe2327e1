//! What is refused before any git or forge access, and how it is told: a setting that stops the
//! whole policy ([`Refuser::invalid`]), or one workload that gets no branch
//! ([`Refuser::workload`]: not allowed, not located, its owner not verified, a source that
//! cannot take a pull request). Each is remembered by its message, so a lasting refusal is told
//! (event, failure metric) once.

use std::time::SystemTime;

use super::fingerprint::Fingerprint;
use super::group::{Cause, Refusal};
use super::memory::Entry;
use super::outcome::{self, Outcome, Reason, note};
use super::{Env, Report};
use crate::controller::Note;
use crate::crd::{AttunePolicy, GitOpsPullRequest};
use crate::metrics::FailureCategory;

/// Tells one policy's refusals, at one moment.
pub(super) struct Refuser<'a> {
    env: &'a Env<'a>,
    /// The policy's memory key: its uid (`namespace/name` when it has none).
    uid: String,
    generation: Option<i64>,
    now: SystemTime,
}

impl<'a> Refuser<'a> {
    pub(super) fn new(env: &'a Env<'a>, policy: &AttunePolicy) -> Refuser<'a> {
        let meta = &policy.metadata;
        let uid = meta.uid.clone().unwrap_or_else(|| {
            let ns = meta.namespace.as_deref().unwrap_or_default();
            let name = meta.name.as_deref().unwrap_or_default();
            format!("{ns}/{name}")
        });
        Refuser {
            env,
            uid,
            generation: meta.generation,
            now: SystemTime::now(),
        }
    }

    pub(super) fn uid(&self) -> &str {
        &self.uid
    }

    /// The moment the pass is judged at.
    pub(super) fn now(&self) -> SystemTime {
        self.now
    }

    /// The report for a setting that stops the whole policy: its condition, and a warning
    /// event the first time the message is seen.
    pub(super) fn invalid(&self, message: &str) -> Report {
        const KEY: &str = "settings";
        let mut notes = Vec::new();
        let (o, fresh) = self.remember(KEY, Reason::Failed, message);
        if fresh {
            self.env.metrics.failure(FailureCategory::InvalidPolicy);
            notes.push(note(true, "PullRequestFailed", "WriteBack", message));
        }
        self.env.memory.retain(&self.uid, &[KEY.to_owned()]);
        Report {
            status: None,
            condition: outcome::condition(&[&o], self.generation),
            notes,
            requeue_after: None,
        }
    }

    /// One refused workload: its memory key and outcome; the event and metric the first time.
    pub(super) fn workload(&self, r: &Refusal, notes: &mut Vec<Note>) -> (String, Outcome) {
        let (event, category, reason) = match r.cause {
            Cause::NotAllowed => (
                "RepositoryNotAllowed",
                FailureCategory::Repository,
                Reason::Failed,
            ),
            Cause::Locate => ("PullRequestFailed", FailureCategory::Locate, Reason::Failed),
            Cause::OwnerNotVerified => (
                "OwnerNotVerified",
                FailureCategory::Locate,
                Reason::OwnerNotVerified,
            ),
            Cause::Source => (
                "PullRequestFailed",
                FailureCategory::Repository,
                Reason::Failed,
            ),
        };
        let key = format!("refused:{}", r.key);
        let (o, fresh) = self.remember(&key, reason, &r.message);
        if fresh {
            self.env.metrics.failure(category);
            notes.push(note(true, event, "WriteBack", &r.message));
        }
        (key, o)
    }

    /// Stores the refusal under `key`; true when its message is new there.
    fn remember(&self, key: &str, reason: Reason, message: &str) -> (Outcome, bool) {
        let memory = self.env.memory;
        let fresh = memory
            .get(&self.uid, key)
            .is_none_or(|e| e.fingerprint.all != message);
        let o = Outcome::new(reason, message.to_owned());
        let entry = Entry {
            fingerprint: Fingerprint {
                all: message.to_owned(),
                wanted: String::new(),
            },
            outcome: o.clone(),
            polled: self.now,
            written: None,
            row: GitOpsPullRequest::default(),
        };
        memory.put(&self.uid, key, entry);
        (o, fresh)
    }
}
