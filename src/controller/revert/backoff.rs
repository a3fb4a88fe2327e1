//! What reverts do to the policy afterwards, read from `status.resizeHistory` alone: the
//! backed-off cooldown, the `Degraded`/`HighRevertRate` verdict, and the values the GitOps step
//! must not propose. Pure.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::crd::{AttunePolicyStatus, CooldownStatus, ResizeHistoryEntry};

pub const REVERTED: &str = "Reverted";
/// The cooldown grows at most this much.
pub const MAX_MULTIPLIER: u32 = 16;
/// `Degraded` when at least this many of the last [`RATE_WINDOW`] entries are reverts.
pub const HIGH_REVERT_COUNT: usize = 3;
pub const RATE_WINDOW: usize = 5;

/// The cooldown in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Reverts since the last resize that was not reverted.
    pub consecutive_reverts: u32,
    pub multiplier: u32,
    pub effective: Duration,
}

impl Backoff {
    pub fn status(&self) -> CooldownStatus {
        CooldownStatus {
            effective_cooldown: Some(go_duration(self.effective)),
            backoff_multiplier: Some(f64::from(self.multiplier)),
            consecutive_reverts: Some(i32::try_from(self.consecutive_reverts).unwrap_or(i32::MAX)),
        }
    }
}

fn is_revert(e: &ResizeHistoryEntry) -> bool {
    e.result.as_deref() == Some(REVERTED)
}

/// Cooldown × 2^n, n the reverts at the end of the history, at most [`MAX_MULTIPLIER`]×. One
/// revert writes an entry per resource it restores, all with the same time and workload, so
/// a run of such entries counts once.
pub fn backoff(history: &[ResizeHistoryEntry], cooldown: Duration) -> Backoff {
    let mut reverts = 0u32;
    let mut last: Option<(&Option<String>, &Option<String>)> = None;
    for entry in history.iter().rev().take_while(|e| is_revert(e)) {
        let key = (&entry.timestamp, &entry.workload);
        if last != Some(key) {
            reverts += 1;
            last = Some(key);
        }
    }
    let multiplier = 2u32
        .checked_pow(reverts)
        .map_or(MAX_MULTIPLIER, |m| m.min(MAX_MULTIPLIER));
    Backoff {
        consecutive_reverts: reverts,
        multiplier,
        effective: cooldown.saturating_mul(multiplier),
    }
}

/// At least three of the last five history entries are reverts.
pub fn high_revert_rate(history: &[ResizeHistoryEntry]) -> bool {
    history
        .iter()
        .rev()
        .take(RATE_WINDOW)
        .filter(|e| is_revert(e))
        .count()
        >= HIGH_REVERT_COUNT
}

/// A value reverted for an OOM kill or restarts, which must not be proposed again yet.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HeldValue {
    pub workload: String,
    pub container: String,
    /// cpu or memory.
    pub resource: String,
    /// The value the pod was resized to and then reverted from.
    pub value: String,
    /// oomkill or restart.
    pub reason: String,
}

/// The values reverted for an OOM kill or restarts whose backoff has not ended at `now`
/// (the revert's time plus the backed-off cooldown). Entries without a readable time are
/// held: a value that broke a pod is not proposed on a guess.
pub fn held_back(
    status: &AttunePolicyStatus,
    cooldown: Duration,
    now: DateTime<Utc>,
) -> BTreeSet<HeldValue> {
    let history = &status.resize_history;
    let wait = chrono::TimeDelta::from_std(backoff(history, cooldown).effective)
        .unwrap_or(chrono::TimeDelta::MAX);
    history
        .iter()
        .filter(|e| is_revert(e))
        .filter(|e| matches!(e.reason.as_deref(), Some("oomkill" | "restart")))
        .filter(|e| {
            let at = e
                .timestamp
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            at.and_then(|at| at.with_timezone(&Utc).checked_add_signed(wait))
                .is_none_or(|until| now < until)
        })
        .filter_map(|e| {
            Some(HeldValue {
                workload: e.workload.clone()?,
                container: e.container.clone()?,
                resource: e.resource.clone()?,
                value: e.from.clone()?,
                reason: e.reason.clone()?,
            })
        })
        .collect()
}

/// A duration as Go prints it (`1h0m0s`, `2m30s`, `45s`), the form the CRD's durations use.
pub fn go_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}
