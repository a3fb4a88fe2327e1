//! Step 3 for one branch: what to do with it this pass. Reuse the remembered result while the
//! inputs are unchanged (reading the pull request state every `pr_poll_interval`), hold new
//! recommendations back while the cooldown runs, or run the pipeline ([`pipeline::run`]).

use std::time::{Duration, SystemTime};

use super::fingerprint::Fingerprint;
use super::forge::{Failure, ForgeSlot};
use super::gate::Admission;
use super::group::Group;
use super::memory::Entry;
use super::outcome::{self, Outcome, Reason};
use super::{Env, pipeline};
use crate::controller::Note;
use crate::crd::{AttunePolicy, PullRequestExport};
use crate::forge::{Forge, PrState};
use crate::git;
use crate::metrics::FailureCategory;

/// One branch in one pass: what each of its steps reads.
pub(super) struct BranchCtx<'a> {
    pub env: &'a Env<'a>,
    pub policy: &'a AttunePolicy,
    pub export: &'a PullRequestExport,
    pub group: &'a Group,
    pub fingerprint: Fingerprint,
    /// What the last pass remembered of this branch.
    pub prev: Option<Entry>,
    pub cooldown: Duration,
    pub now: SystemTime,
}

impl BranchCtx<'_> {
    /// What the allowlist admitted for the branch: the token gate's input.
    pub(super) fn admission(&self) -> Admission<'_> {
        Admission {
            allowed: &self.env.config.allowed_repositories,
            repo: &self.group.repo,
            forge_repo: &self.group.forge_repo,
        }
    }
}

/// What one branch came to: what to remember (its outcome included), and when to look again.
pub(super) struct BranchResult {
    pub entry: Entry,
    /// Ask for the next reconcile within this time.
    pub requeue: Option<Duration>,
}

/// How the remembered result compares with this pass.
struct Recall<'p> {
    prev: &'p Entry,
    /// The inputs are the same as when it was made.
    same: bool,
    failed: bool,
    /// Since the forge (or git) was last asked.
    age: Duration,
    /// How long a result is trusted without asking again.
    trust: Duration,
    /// The pull request should change, but it was written within the cooldown.
    cooling: bool,
}

impl<'p> Recall<'p> {
    fn of(b: &BranchCtx<'_>, prev: &'p Entry) -> Recall<'p> {
        let failed = prev.outcome.reason == Reason::Failed;
        let config = b.env.config;
        Recall {
            prev,
            same: prev.fingerprint.all == b.fingerprint.all,
            failed,
            age: since(b.now, prev.polled),
            trust: if failed {
                config.error_requeue
            } else {
                config.pr_poll_interval
            },
            cooling: prev.fingerprint.wanted != b.fingerprint.wanted
                && prev.outcome.state == Some(PrState::Open)
                && prev.written.is_some_and(|w| since(b.now, w) < b.cooldown),
        }
    }
}

/// Settles the branch for this pass.
pub(super) async fn settle<S: ForgeSlot>(
    b: &BranchCtx<'_>,
    slot: &mut S,
    notes: &mut Vec<Note>,
) -> BranchResult {
    let Some(prev) = b.prev.as_ref() else {
        return pipeline::run(b, slot, notes).await;
    };
    let r = Recall::of(b, prev);
    if r.same && r.age < r.trust {
        return BranchResult {
            entry: prev.clone(),
            requeue: (tracked(&prev.outcome) || r.failed).then(|| r.trust - r.age),
        };
    }
    let polled = match poll_if_due(b, &r, slot).await {
        Polled::Same(at) => at,
        Polled::Changed => return pipeline::run(b, slot, notes).await,
        Polled::Unreadable => {
            return BranchResult {
                entry: prev.clone(),
                requeue: Some(b.env.config.error_requeue),
            };
        }
    };
    // A remembered rate-limit skip is retried; every other unchanged result holds.
    if r.same && !r.failed && prev.outcome.reason != Reason::Cooldown {
        let mut entry = prev.clone();
        entry.polled = b.now;
        return BranchResult {
            entry,
            requeue: tracked(&prev.outcome).then_some(b.env.config.pr_poll_interval),
        };
    }
    if r.cooling
        && let Some(written) = prev.written
    {
        return cooling_down(b, prev, written, polled);
    }
    pipeline::run(b, slot, notes).await
}

/// What reading the pull request state came to.
enum Polled {
    /// Not due, or as remembered: the time the state is known from.
    Same(SystemTime),
    /// It changed (merged, closed, reopened, gone), or the read was refused before any
    /// request: a full run decides what now, and reports a refusal with its event.
    Changed,
    /// The forge did not answer: keep the remembered result and try again soon.
    Unreadable,
}

async fn poll_if_due<S: ForgeSlot>(b: &BranchCtx<'_>, r: &Recall<'_>, slot: &mut S) -> Polled {
    let prev = r.prev;
    // A merged pull request stays merged: only an open or closed one is worth reading again.
    let due = !r.failed
        && (r.same || r.cooling)
        && r.age >= b.env.config.pr_poll_interval
        && prev.outcome.state != Some(PrState::Merged);
    let Some(number) = prev.outcome.number.filter(|_| due) else {
        return Polled::Same(prev.polled);
    };
    match poll_state(b, slot, number).await {
        Ok(Some(state)) if Some(state) == prev.outcome.state => Polled::Same(b.now),
        Ok(_) => Polled::Changed,
        Err(f) if f.category != FailureCategory::Forge => Polled::Changed,
        Err(f) => {
            b.env.metrics.failure(f.category);
            tracing::warn!(branch = %b.group.branch, error = %f.message, "cannot read the pull request state");
            Polled::Unreadable
        }
    }
}

/// The state of pull request `number`, or `None` when the branch's newest one is another.
async fn poll_state<S: ForgeSlot>(
    b: &BranchCtx<'_>,
    slot: &mut S,
    number: u64,
) -> Result<Option<PrState>, Failure> {
    let g = b.group;
    // The gate runs inside `get`: no client is handed out for an endpoint it does not clear.
    let cleared = slot.get(&b.admission()).await?;
    match cleared.forge.find_by_head(&g.forge_repo, &g.branch).await {
        Ok(Some(pr)) if pr.number == number => Ok(Some(pr.state)),
        Ok(_) => Ok(None),
        Err(e) => {
            let secrets: Vec<&str> = cleared.token.iter().map(|t| t.expose()).collect();
            Err(Failure {
                message: git::redact(
                    &format!("reading pull request #{number} of {}: {e}", g.repo),
                    &secrets,
                ),
                category: FailureCategory::Forge,
            })
        }
    }
}

/// New recommendations wait for the cooldown; the old fingerprint stays, so the change is
/// picked up once it is over.
fn cooling_down(
    b: &BranchCtx<'_>,
    prev: &Entry,
    written: SystemTime,
    polled: SystemTime,
) -> BranchResult {
    let left = b.cooldown.saturating_sub(since(b.now, written));
    let until = outcome::rfc3339(written + b.cooldown);
    let mut o = prev.outcome.clone();
    o.reason = Reason::Cooldown;
    o.message = format!(
        "{}: new recommendations wait for export.pullRequest.cooldown ({}) until {until}",
        pr_name(&o, &b.group.branch),
        humanize(b.cooldown)
    );
    let mut entry = prev.clone();
    entry.polled = polled;
    entry.row = outcome::row(b.group, &o);
    entry.outcome = o;
    let next_poll = b
        .env
        .config
        .pr_poll_interval
        .saturating_sub(since(b.now, polled));
    BranchResult {
        entry,
        requeue: Some(left.min(next_poll.max(Duration::from_secs(1)))),
    }
}

/// Whether the branch has a pull request whose state is worth reading again later.
pub(super) fn tracked(o: &Outcome) -> bool {
    o.number.is_some() && matches!(o.reason, Reason::Open | Reason::Cooldown)
}

fn since(now: SystemTime, then: SystemTime) -> Duration {
    now.duration_since(then).unwrap_or_default()
}

fn pr_name(o: &Outcome, branch: &str) -> String {
    match o.number {
        Some(n) => format!("#{n}"),
        None => branch.to_owned(),
    }
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    if s > 0 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s > 0 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}
