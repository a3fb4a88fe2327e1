//! What is refused before any git or forge access, and how it is told: a setting that stops the
//! whole policy ([`invalid`]), or one workload that gets no branch ([`workload`]: not allowed,
//! not located, its owner not verified, a source that cannot take a pull request). Each is
//! remembered by its message, so a lasting refusal is told (event, failure metric) once.

use std::time::SystemTime;

use super::Report;
use super::group::{Cause, Refusal};
use super::memory::Entry;
use super::outcome::{self, Outcome, Reason, note};
use super::run::Env;
use crate::controller::Note;
use crate::crd::GitOpsPullRequest;
use crate::metrics::FailureCategory;

/// The report for a setting that stops the whole policy: its condition, and a warning event
/// the first time the message is seen.
pub(crate) fn invalid(
    env: &Env<'_>,
    uid: &str,
    message: &str,
    generation: Option<i64>,
    now: SystemTime,
) -> Report {
    const KEY: &str = "settings";
    let mut notes = Vec::new();
    let (o, fresh) = remember(env, uid, KEY, Reason::Failed, message, now);
    if fresh {
        env.metrics.failure(FailureCategory::InvalidPolicy);
        notes.push(note(true, "PullRequestFailed", "WriteBack", message));
    }
    env.memory.retain(uid, &[KEY.to_owned()]);
    Report {
        status: None,
        condition: outcome::condition(&[&o], generation),
        notes,
        requeue_after: None,
    }
}

/// One refused workload: its memory key and outcome; the event and metric the first time.
pub(crate) fn workload(
    env: &Env<'_>,
    uid: &str,
    r: &Refusal,
    now: SystemTime,
    notes: &mut Vec<Note>,
) -> (String, Outcome) {
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
    let (o, fresh) = remember(env, uid, &key, reason, &r.message, now);
    if fresh {
        env.metrics.failure(category);
        notes.push(note(true, event, "WriteBack", &r.message));
    }
    (key, o)
}

/// Stores the refusal under `key`; true when its message is new there.
fn remember(
    env: &Env<'_>,
    uid: &str,
    key: &str,
    reason: Reason,
    message: &str,
    now: SystemTime,
) -> (Outcome, bool) {
    let fresh = env
        .memory
        .get(uid, key)
        .is_none_or(|e| e.fingerprint != message);
    let o = Outcome::new(reason, message.to_owned());
    env.memory.put(
        uid,
        key,
        Entry {
            fingerprint: message.to_owned(),
            wanted: String::new(),
            outcome: o.clone(),
            polled: now,
            written: None,
            row: GitOpsPullRequest::default(),
        },
    );
    (o, fresh)
}
