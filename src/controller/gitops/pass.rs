//! One GitOps pass over a policy's located workloads: check the settings that stop the whole
//! policy, admit and group the workloads ([`group::plan`]), settle each branch
//! ([`branch::settle`]), and fold the results into the step's [`Report`]. Everything after
//! `locate` happens here, over any forge slot, so tests drive it with a given `Source` and an
//! in-memory forge.

use std::time::{Duration, SystemTime};

use super::branch::{self, BranchCtx, BranchResult};
use super::forge::ForgeSlot;
use super::group::{self, Located, Rules};
use super::outcome::{self, Outcome, Reason};
use super::refuse::Refuser;
use super::{Env, Report, fingerprint};
use crate::controller::Note;
use crate::crd::duration::parse_go_duration;
use crate::crd::{AttunePolicy, GitOpsPullRequest, GitOpsStatus, PullRequestExport};

const DEFAULT_COOLDOWN: Duration = Duration::from_secs(24 * 3600);
const MAX_ROWS: usize = 50;

/// A pass's input: the policy, its export settings and where its workloads come from.
pub(super) struct Pass<'a> {
    pub env: &'a Env<'a>,
    pub policy: &'a AttunePolicy,
    pub export: &'a PullRequestExport,
    pub located: &'a [Located],
}

/// The branches' results so far, in the order the report lists them.
#[derive(Default)]
struct Tally {
    notes: Vec<Note>,
    outcomes: Vec<Outcome>,
    /// Memory keys still in use (others are forgotten).
    keys: Vec<String>,
    rows: Vec<GitOpsPullRequest>,
    last_polled: Option<SystemTime>,
    requeue: Option<Duration>,
}

impl Tally {
    fn add_branch(&mut self, key: String, r: &BranchResult) {
        if let Some(d) = r.requeue {
            self.requeue = Some(self.requeue.map_or(d, |soonest| soonest.min(d)));
        }
        let polled = r.entry.polled;
        self.last_polled = Some(self.last_polled.map_or(polled, |p| p.max(polled)));
        self.rows.push(r.entry.row.clone());
        self.keys.push(key);
        self.outcomes.push(r.entry.outcome.clone());
    }

    /// Step 4: `status.gitops`, the condition and the events.
    fn report(mut self, generation: Option<i64>) -> Report {
        if self.outcomes.is_empty() {
            self.outcomes.push(Outcome::new(
                Reason::NoDrift,
                "no target workload has a recommendation yet".into(),
            ));
        }
        let refs: Vec<&Outcome> = self.outcomes.iter().collect();
        self.rows.truncate(MAX_ROWS);
        Report {
            status: Some(GitOpsStatus {
                pull_requests: self.rows,
                last_polled: self.last_polled.map(outcome::rfc3339),
            }),
            condition: outcome::condition(&refs, generation),
            notes: self.notes,
            requeue_after: self.requeue,
        }
    }
}

/// Runs the pass: steps 2 to 4 of the module doc.
pub(super) async fn run<S: ForgeSlot>(p: &Pass<'_>, slot: &mut S) -> Report {
    let env = p.env;
    let refuser = Refuser::new(env, p.policy);
    let cooldown = match cooldown(p.export) {
        Ok(c) => c,
        Err(message) => return refuser.invalid(&message),
    };
    let ns = p.policy.metadata.namespace.clone().unwrap_or_default();
    let name = p.policy.metadata.name.clone().unwrap_or_default();
    let rules = Rules {
        export: p.export,
        allowed: &env.config.allowed_repositories,
    };
    let plan = group::plan(&ns, &name, &rules, p.located);
    let mut tally = Tally::default();
    for r in &plan.refusals {
        let (key, o) = refuser.workload(r, &mut tally.notes);
        tally.keys.push(key);
        tally.outcomes.push(o);
    }
    for g in &plan.groups {
        let b = BranchCtx {
            env,
            policy: p.policy,
            export: p.export,
            group: g,
            fingerprint: fingerprint::of(g, p.export),
            prev: env.memory.get(refuser.uid(), &g.key),
            cooldown,
            now: refuser.now(),
        };
        let r = branch::settle(&b, slot, &mut tally.notes).await;
        tally.add_branch(g.key.clone(), &r);
        env.memory.put(refuser.uid(), &g.key, r.entry);
    }
    env.memory.retain(refuser.uid(), &tally.keys);
    tally.report(p.policy.metadata.generation)
}

/// `export.pullRequest.cooldown` (24h when unset), after checking the settings that stop the
/// whole policy when wrong.
fn cooldown(export: &PullRequestExport) -> Result<Duration, String> {
    let cooldown = match export.cooldown.as_deref() {
        None => DEFAULT_COOLDOWN,
        Some(text) => parse_go_duration(text.trim()).map_err(|why| {
            format!(
                "export.pullRequest.cooldown {text:?} is not a duration ({why}); write it like 24h"
            )
        })?,
    };
    if let Some(percent) = export.min_change_percent
        && !(0..=100).contains(&percent)
    {
        return Err(format!(
            "export.pullRequest.minChangePercent {percent} is out of range; use 0 to 100"
        ));
    }
    Ok(cooldown)
}
