//! What one branch's run came to, in the policy's vocabulary: the `GitOpsPullRequest` reason, a
//! message, the pull request it concerns, the events worth publishing and the metric labels.
//! Maps a [`pr::RunResult`] or a [`pr::PrError`] onto that, folds every branch's outcome into
//! the one condition, and writes a branch's row of `status.gitops`. Pure; knows the condition
//! reasons, not how they were reached.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};

use super::super::Note;
use super::group::{Group, Located};
use crate::crd::{Condition, GitOpsPullRequest};
use crate::forge::{ForgeError, PrState};
use crate::metrics::{FailureCategory, PrAction};
use crate::pr::{Action, PrError, RunResult};
use crate::text::ellipsize;

/// `GitOpsPullRequest` reasons, most urgent first: the condition shows the first one present.
/// The spelling follows the Go operator's (`PullRequest{Open,Failed,DryRun,Cooldown,Disabled}`,
/// `NoDrift`), extended with `PullRequestMerged`, `PullRequestClosed` and `OwnerNotVerified`
/// (a workload's owner marker is not confirmed by the owner's status, so nothing is written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    Failed,
    OwnerNotVerified,
    Cooldown,
    Open,
    Closed,
    Merged,
    DryRun,
    NoDrift,
    Disabled,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Failed => "PullRequestFailed",
            Reason::OwnerNotVerified => "OwnerNotVerified",
            Reason::Cooldown => "PullRequestCooldown",
            Reason::Open => "PullRequestOpen",
            Reason::Closed => "PullRequestClosed",
            Reason::Merged => "PullRequestMerged",
            Reason::DryRun => "PullRequestDryRun",
            Reason::NoDrift => "NoDrift",
            Reason::Disabled => "PullRequestDisabled",
        }
    }
}

/// One branch's result, kept in memory between reconciles.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub reason: Reason,
    pub message: String,
    pub number: Option<u64>,
    pub url: Option<String>,
    pub state: Option<PrState>,
    pub change_hash: Option<String>,
}

impl Outcome {
    pub fn new(reason: Reason, message: String) -> Outcome {
        Outcome {
            reason,
            message,
            number: None,
            url: None,
            state: None,
            change_hash: None,
        }
    }
}

pub fn note(warning: bool, reason: &str, action: &str, text: &str) -> Note {
    Note {
        warning,
        reason: reason.into(),
        action: action.into(),
        note: ellipsize(text, 1000),
        pod: None,
    }
}

/// The outcome, events and metric label of a completed run for `branch`.
pub fn from_run(r: &RunResult, branch: &str) -> (Outcome, Vec<Note>, PrAction) {
    let said = if r.dry_run {
        Said {
            reason: Reason::DryRun,
            state: r.previous,
            message: format!("{branch}: would be {}: {}", r.action, r.reason),
            metric: PrAction::DryRun,
            event: None,
        }
    } else {
        what_was_done(r, branch)
    };
    let mut message = said.message;
    message.push_str(&problems(r));
    let outcome = Outcome {
        reason: said.reason,
        message,
        number: r.number,
        url: r.url.clone(),
        state: said.state,
        change_hash: Some(r.change_hash.clone()).filter(|h| !h.is_empty()),
    };
    (outcome, said.event.into_iter().collect(), said.metric)
}

/// A run in the policy's words.
struct Said {
    reason: Reason,
    /// The pull request's state after the run.
    state: Option<PrState>,
    message: String,
    metric: PrAction,
    /// The event a write is worth.
    event: Option<Note>,
}

/// What a run that was no dry run did.
fn what_was_done(r: &RunResult, branch: &str) -> Said {
    let pr = match (r.number, &r.url) {
        (Some(n), Some(url)) => format!("#{n} ({url})"),
        (Some(n), None) => format!("#{n}"),
        _ => "the pull request".into(),
    };
    let said = |reason, state, message: String, metric| Said {
        reason,
        state,
        message,
        metric,
        event: None,
    };
    let wrote = |reason, state, message: String, metric, event: &str, action: &str| Said {
        event: Some(note(false, event, action, &message)),
        ..said(reason, state, message, metric)
    };
    let open = Some(PrState::Open);
    match (r.action, r.previous) {
        (Action::Created, _) => {
            let text = format!("opened {pr} from {branch}");
            wrote(
                Reason::Open,
                open,
                text,
                PrAction::Created,
                "PullRequestOpened",
                "OpenPullRequest",
            )
        }
        (Action::Updated, _) => {
            let text = format!("updated {pr} on {branch}: {}", r.reason);
            wrote(
                Reason::Open,
                open,
                text,
                PrAction::Updated,
                "PullRequestUpdated",
                "UpdatePullRequest",
            )
        }
        (Action::Closed, _) => {
            let text = format!("closed {pr}: {}", r.reason);
            let closed = Some(PrState::Closed);
            wrote(
                Reason::NoDrift,
                closed,
                text,
                PrAction::Closed,
                "PullRequestClosed",
                "ClosePullRequest",
            )
        }
        (Action::Unchanged, previous) => unchanged(r, &pr, branch, previous),
        (Action::Skipped, previous) => skipped(r, &pr, branch, previous),
    }
}

fn unchanged(r: &RunResult, pr: &str, branch: &str, previous: Option<PrState>) -> Said {
    let (reason, message) = match previous {
        Some(PrState::Open) => (Reason::Open, format!("{pr} is open and up to date")),
        Some(PrState::Merged) => (Reason::Merged, format!("{pr} was merged; {}", r.reason)),
        _ => (Reason::NoDrift, format!("{branch}: {}", r.reason)),
    };
    Said {
        reason,
        state: previous,
        message,
        metric: PrAction::Unchanged,
        event: None,
    }
}

fn skipped(r: &RunResult, pr: &str, branch: &str, previous: Option<PrState>) -> Said {
    let (reason, message) = match previous {
        Some(PrState::Closed) => (Reason::Closed, format!("{pr}: {}", r.reason)),
        Some(PrState::Open) => (Reason::Open, format!("{pr}: {}", r.reason)),
        Some(PrState::Merged) => (Reason::Merged, format!("{pr}: {}", r.reason)),
        // No pull request yet and none opened: a rate limit or a branch someone else owns.
        None => (Reason::Cooldown, format!("{branch}: {}", r.reason)),
    };
    Said {
        reason,
        state: previous,
        message,
        metric: PrAction::Skipped,
        event: None,
    }
}

/// `; N workload(s) could not be edited: …` when the run could not edit everything.
fn problems(r: &RunResult) -> String {
    let problems = &r.outcome.problems;
    if problems.is_empty() {
        return String::new();
    }
    let list: Vec<String> = problems
        .iter()
        .take(3)
        .map(|p| format!("{}/{}: {}", p.kind, p.workload, p.reason))
        .collect();
    format!(
        "; {} workload(s) could not be edited: {}",
        problems.len(),
        list.join(", ")
    )
}

/// The failure category of a pipeline error, and whether it is worth retrying soon.
pub fn category(err: &PrError) -> FailureCategory {
    match err {
        PrError::Forge(_) => FailureCategory::Forge,
        PrError::Git(_) | PrError::PushRejected { .. } | PrError::GitWorker(_) => {
            FailureCategory::Git
        }
        PrError::NotLeader { .. } => FailureCategory::Kubernetes,
        PrError::Template { .. }
        | PrError::NoBase { .. }
        | PrError::BadPath { .. }
        | PrError::Gate(_) => FailureCategory::Repository,
    }
}

/// When the forge asked to wait, how long.
pub fn retry_after(err: &PrError) -> Option<Duration> {
    match err {
        PrError::Forge(ForgeError::RateLimited { retry_after, .. }) => Some(*retry_after),
        _ => None,
    }
}

pub use crate::error_chain as chain;

/// The one `GitOpsPullRequest` condition for all branches: the most urgent reason, with every
/// branch's message. True while a pull request is open.
pub fn condition(outcomes: &[&Outcome], generation: Option<i64>) -> Condition {
    let reason = outcomes
        .iter()
        .map(|o| o.reason)
        .min()
        .unwrap_or(Reason::NoDrift);
    let open = outcomes
        .iter()
        .any(|o| matches!(o.reason, Reason::Open | Reason::Cooldown) && o.number.is_some());
    let mut ordered: Vec<&&Outcome> = outcomes.iter().collect();
    ordered.sort_by_key(|o| o.reason);
    let message: Vec<&str> = ordered.iter().map(|o| o.message.as_str()).collect();
    Condition {
        type_: "GitOpsPullRequest".into(),
        status: if open { "True" } else { "False" }.into(),
        reason: Some(reason.as_str().into()),
        message: Some(ellipsize(&message.join("; "), 1024)),
        last_transition_time: None,
        observed_generation: generation,
    }
}

/// The branch's row in `status.gitops.pullRequests`.
pub fn row(g: &Group, o: &Outcome) -> GitOpsPullRequest {
    GitOpsPullRequest {
        repository: Some(g.repo.to_string()),
        path: Some(g.path.clone()),
        revision: Some(g.base.clone()),
        branch: Some(g.branch.clone()),
        owner: Some(g.owners.join(", ")),
        workloads: g.workloads.iter().map(Located::label).collect(),
        number: o.number.and_then(|n| i64::try_from(n).ok()),
        url: o.url.clone(),
        state: o.state.map(|s| {
            match s {
                PrState::Open => "open",
                PrState::Merged => "merged",
                PrState::Closed => "closed",
            }
            .to_owned()
        }),
        reason: Some(o.reason.as_str().to_owned()),
        message: Some(ellipsize(&o.message, 512)),
        last_change_hash: o.change_hash.clone(),
    }
}

/// A time as status fields write it.
pub fn rfc3339(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn run(action: Action, previous: Option<PrState>, dry_run: bool) -> RunResult {
        RunResult {
            action,
            number: Some(7),
            url: Some("https://forge/pr/7".into()),
            branch: "attune/n/p".into(),
            change_hash: "h1".into(),
            reason: "why".into(),
            previous,
            dry_run,
            diff: String::new(),
            body: None,
            outcome: Default::default(),
            found: Vec::new(),
            discovery: None,
        }
    }

    #[test]
    fn runs_map_onto_reasons_and_events() {
        let cases = [
            (
                run(Action::Created, None, false),
                Reason::Open,
                Some("PullRequestOpened"),
            ),
            (
                run(Action::Updated, Some(PrState::Open), false),
                Reason::Open,
                Some("PullRequestUpdated"),
            ),
            (
                run(Action::Unchanged, Some(PrState::Open), false),
                Reason::Open,
                None,
            ),
            (
                run(Action::Unchanged, Some(PrState::Merged), false),
                Reason::Merged,
                None,
            ),
            (run(Action::Unchanged, None, false), Reason::NoDrift, None),
            (
                run(Action::Closed, Some(PrState::Open), false),
                Reason::NoDrift,
                Some("PullRequestClosed"),
            ),
            (
                run(Action::Skipped, Some(PrState::Closed), false),
                Reason::Closed,
                None,
            ),
            (run(Action::Skipped, None, false), Reason::Cooldown, None),
            (run(Action::Created, None, true), Reason::DryRun, None),
        ];
        for (r, want, event) in cases {
            let (o, notes, _) = from_run(&r, "attune/n/p");
            assert_eq!(o.reason, want, "{:?} {:?}", r.action, r.previous);
            assert_eq!(
                notes.first().map(|n| n.reason.as_str()),
                event,
                "{:?}",
                r.action
            );
            assert_eq!(o.change_hash.as_deref(), Some("h1"));
        }
    }

    #[test]
    fn the_condition_shows_the_most_urgent_reason_and_every_message() {
        let open = Outcome {
            number: Some(3),
            ..Outcome::new(Reason::Open, "#3 is open".into())
        };
        let failed = Outcome::new(Reason::Failed, "fetching: timeout".into());
        let c = condition(&[&open, &failed], Some(4));
        assert_eq!(c.reason.as_deref(), Some("PullRequestFailed"));
        assert_eq!(c.status, "True");
        assert_eq!(c.message.as_deref(), Some("fetching: timeout; #3 is open"));
        assert_eq!(c.observed_generation, Some(4));
        let merged = Outcome::new(Reason::Merged, "merged".into());
        assert_eq!(condition(&[&merged], None).status, "False");
    }
}
