//! The auto-revert decision for one resized pod, from facts gathered elsewhere: pure, so every
//! trigger and its timing is tested as a table.
//!
//! During the observation period only the unambiguous signals count: an OOM kill that finished
//! after the resize, or two more restarts than the container had when it was resized. At the
//! end of the period the pod must also be Ready, its CPU throttling ratio at most 0.5 and every
//! SLO guardrail within its threshold. Metrics that could not be read fail open (the resize
//! stays and the reason is kept for the status), because an unreachable Prometheus says
//! nothing about the pod; the kubelet's own facts never depend on Prometheus.

use chrono::{DateTime, TimeDelta, Utc};

use crate::crd::SloComparison;

/// Restarts above the count at resize time that revert the resize.
pub const RESTART_MARGIN: i32 = 2;
/// Throttling ratio above which a CPU resize is reverted.
pub const THROTTLE_LIMIT: f64 = 0.5;
/// The throttling rate spans five minutes; before that it still mixes in the old size.
pub const THROTTLE_WARMUP: TimeDelta = TimeDelta::minutes(5);

/// Why a resize was reverted, as `resizeHistory[].reason` spells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevertReason {
    OomKill,
    Restart,
    NotReady,
    Throttle,
    Slo(String),
}

impl RevertReason {
    pub fn as_str(&self) -> String {
        match self {
            RevertReason::OomKill => "oomkill".into(),
            RevertReason::Restart => "restart".into(),
            RevertReason::NotReady => "notready".into(),
            RevertReason::Throttle => "throttle".into(),
            RevertReason::Slo(name) => format!("slo:{name}"),
        }
    }

    /// OOM kills and restarts say the new size itself is wrong: its values are held back from
    /// the pull request too.
    pub fn condemns_values(&self) -> bool {
        matches!(self, RevertReason::OomKill | RevertReason::Restart)
    }
}

/// One container of the resized pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerFacts {
    pub name: String,
    pub restarts: i32,
    /// The count recorded at the resize; `None` when it was not recorded.
    pub restarts_at_resize: Option<i32>,
    /// `lastState.terminated.finishedAt` when its reason is `OOMKilled`.
    pub oom_killed_at: Option<DateTime<Utc>>,
}

/// A value read from Prometheus.
#[derive(Clone, Debug, PartialEq)]
pub enum Reading {
    Value(f64),
    /// The query answered with no sample (nothing to judge).
    NoData,
    /// The query failed; the text says why (never a credential).
    Failed(String),
}

/// One `sloGuardrails` entry and what its query answered.
#[derive(Clone, Debug, PartialEq)]
pub struct SloReading {
    pub name: String,
    pub threshold: f64,
    pub comparison: SloComparison,
    pub reading: Reading,
}

/// Everything the decision needs about one pod resized at `resized_at`.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub resized_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub period: TimeDelta,
    pub containers: Vec<ContainerFacts>,
    /// The pod's `Ready` condition is True.
    pub ready: bool,
    /// The highest throttling ratio of the pod's containers (read only once the period is over).
    pub throttle: Reading,
    pub slos: Vec<SloReading>,
}

/// What to do with the pod.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Revert(RevertReason),
    /// Still in the observation period: look again by `until` at the latest.
    Watch {
        until: DateTime<Utc>,
    },
    /// The period is over and nothing tripped; `failed_open` lists checks that could not be
    /// made (Prometheus errors), which did not count against the resize.
    Safe {
        failed_open: Vec<String>,
    },
}

/// Whether the end-of-period checks are due (so the caller knows when to query Prometheus).
pub fn period_over(resized_at: DateTime<Utc>, period: TimeDelta, now: DateTime<Utc>) -> bool {
    resized_at
        .checked_add_signed(period)
        .is_none_or(|end| now >= end)
}

pub fn decide(o: &Observation) -> Verdict {
    if let Some(reason) = immediate(o) {
        return Verdict::Revert(reason);
    }
    if !period_over(o.resized_at, o.period, o.now) {
        return Verdict::Watch {
            until: o.resized_at + o.period,
        };
    }
    if !o.ready {
        return Verdict::Revert(RevertReason::NotReady);
    }
    let mut failed_open = Vec::new();
    if o.now - o.resized_at >= THROTTLE_WARMUP {
        match &o.throttle {
            Reading::Value(ratio) if *ratio > THROTTLE_LIMIT => {
                return Verdict::Revert(RevertReason::Throttle);
            }
            Reading::Failed(why) => failed_open.push(format!("throttling: {why}")),
            Reading::Value(_) | Reading::NoData => {}
        }
    }
    for slo in &o.slos {
        match &slo.reading {
            Reading::Value(v) if breached(*v, slo) => {
                return Verdict::Revert(RevertReason::Slo(slo.name.clone()));
            }
            Reading::Failed(why) => failed_open.push(format!("slo:{}: {why}", slo.name)),
            Reading::Value(_) | Reading::NoData => {}
        }
    }
    Verdict::Safe { failed_open }
}

/// The triggers that revert at once, whatever the time.
fn immediate(o: &Observation) -> Option<RevertReason> {
    if o.containers
        .iter()
        .any(|c| c.oom_killed_at.is_some_and(|at| at > o.resized_at))
    {
        return Some(RevertReason::OomKill);
    }
    let restarted = o.containers.iter().any(|c| {
        c.restarts_at_resize
            .is_some_and(|before| c.restarts >= before.saturating_add(RESTART_MARGIN))
    });
    restarted.then_some(RevertReason::Restart)
}

fn breached(value: f64, slo: &SloReading) -> bool {
    match slo.comparison {
        SloComparison::Above => value > slo.threshold,
        SloComparison::Below => value < slo.threshold,
    }
}
