//! Turns what the resize and revert steps did into the reconcile's [`Facts`], its history
//! entries, its events and its metrics. Nothing here calls the API server.

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};
use kube::ResourceExt;

use super::events::Note;
use super::revert::{self, Reverted};
use super::status::{Facts, LastChange};
use super::{Context, LiveWorkload};
use crate::crd::ResizeHistoryEntry;
use crate::error_chain;
use crate::metrics::ResizeResult;
use crate::resize::annotations::{RESIZED_AT, read_history};
use crate::resize::{Change, Field, Outcome, Skip, SkipReason};

/// A skip worth one event, remembered so that a lasting skip is told once.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SkipEvent {
    pub pod: String,
    pub reason: SkipReason,
    pub detail: String,
}

fn at(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn describe(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {} -> {}",
                c.container,
                c.resource,
                c.field.as_str(),
                c.from.as_deref().unwrap_or("unset"),
                c.to
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a reconcile has found and done so far, in the terms of status, events and metrics.
pub struct Tally {
    pub facts: Facts,
    pub notes: Vec<Note>,
    /// Skips worth an event, told once by [`new_skip_notes`].
    pub skips: BTreeSet<SkipEvent>,
    pub now: DateTime<Utc>,
    /// The history holds `Pending` entries, so pods the kubelet is done with are looked at.
    pub track_applied: bool,
}

impl Tally {
    pub fn new(facts: Facts, now: DateTime<Utc>, track_applied: bool) -> Tally {
        Tally {
            facts,
            notes: Vec::new(),
            skips: BTreeSet::new(),
            now,
            track_applied,
        }
    }

    /// Folds one workload's resize outcomes into the facts, the history, the notes and the
    /// skips to announce.
    pub fn resize_outcomes(
        &mut self,
        workload: &LiveWorkload,
        outcomes: Vec<Outcome>,
        ctx: &Context,
    ) {
        record_resize_outcomes(self, workload, outcomes, ctx);
    }

    /// Folds one workload's reverts into the facts, notes and metrics.
    pub fn reverts(&mut self, workload: &LiveWorkload, report: revert::Report, ctx: &Context) {
        record_reverts(self, workload, report, ctx);
    }
}

fn record_resize_outcomes(
    tally: &mut Tally,
    workload: &LiveWorkload,
    outcomes: Vec<Outcome>,
    ctx: &Context,
) {
    for outcome in outcomes {
        match outcome {
            Outcome::Resized {
                pod,
                changes,
                annotation_error,
            } => {
                resized(tally, workload, &pod, &changes, ctx);
                if let Some(why) = annotation_error {
                    tally.notes.push(Note::warning(
                        "AnnotateFailed",
                        "Resize",
                        format!(
                            "pod {pod} was resized but its attune.io annotations could not be \
                             written ({why}); its cooldown and revert values are missing"
                        ),
                    ));
                }
            }
            Outcome::Skipped { pod, skip } => skipped(tally, workload, pod, skip, ctx),
            Outcome::Failed { pod, error } => {
                ctx.metrics.resize(ResizeResult::Failed);
                tally.facts.failures.push(format!("{pod}: {error}"));
                tally.notes.push(
                    Note::warning(
                        "ResizeFailed",
                        "Resize",
                        format!("pod {pod}: {}", error_chain(&error)),
                    )
                    .about_pod(&pod),
                );
            }
        }
    }
}

/// A `Success` history entry per changed request and a `Resized` event.
fn resized(
    tally: &mut Tally,
    workload: &LiveWorkload,
    pod: &str,
    changes: &[Change],
    ctx: &Context,
) {
    tally.facts.resized_now += 1;
    ctx.metrics.resize(ResizeResult::Applied);
    for c in changes.iter().filter(|c| c.field == Field::Request) {
        tally.facts.history.push(ResizeHistoryEntry {
            timestamp: Some(at(tally.now)),
            workload: Some(workload.identity.name.clone()),
            container: Some(c.container.clone()),
            resource: Some(c.resource.as_str().into()),
            from: c.from.clone(),
            to: Some(c.to.clone()),
            method: Some("InPlace".into()),
            result: Some("Success".into()),
            reason: None,
        });
    }
    tally.notes.push(
        Note::normal(
            "Resized",
            "Resize",
            format!("pod {pod}: {}", describe(changes)),
        )
        .about_pod(pod),
    );
}

/// What a skip says about the pod (deferred, infeasible, busy, cooling down, or done with by
/// the kubelet), and whether it deserves an event.
fn skipped(tally: &mut Tally, workload: &LiveWorkload, pod: String, skip: Skip, ctx: &Context) {
    let facts = &mut tally.facts;
    match skip.reason {
        SkipReason::Deferred => {
            facts.deferred.push(pod.clone());
            facts
                .deferred_changes
                .extend(last_request_changes(workload, &pod));
        }
        SkipReason::Infeasible => {
            facts.infeasible.push(pod.clone());
            facts
                .infeasible_changes
                .extend(last_request_changes(workload, &pod));
        }
        SkipReason::ResizeInProgress => facts.in_progress += 1,
        SkipReason::Cooldown => facts.cooling_down += 1,
        SkipReason::Rejected => ctx.metrics.resize(ResizeResult::Skipped),
        _ => {}
    }
    // The kubelet is done with these pods: a deferred resize of theirs was applied.
    if tally.track_applied
        && matches!(
            skip.reason,
            SkipReason::Cooldown | SkipReason::AlreadyAtTarget
        )
    {
        facts
            .applied_changes
            .extend(last_request_changes(workload, &pod));
    }
    if worth_an_event(skip.reason) {
        tally.skips.insert(SkipEvent {
            pod,
            reason: skip.reason,
            detail: skip.detail,
        });
    }
}

/// A `Reverted` history entry per restored request, a `ResizeReverted` event per pod.
fn record_reverts(
    tally: &mut Tally,
    workload: &LiveWorkload,
    report: revert::Report,
    ctx: &Context,
) {
    let Tally {
        facts, notes, now, ..
    } = tally;
    let now = *now;
    for Reverted {
        pod,
        reason,
        restored,
        annotation_error,
    } in report.reverted
    {
        facts.reverted_now += 1;
        ctx.metrics.resize(ResizeResult::Reverted);
        for r in restored.iter().filter(|r| r.field == Field::Request) {
            facts.history.push(ResizeHistoryEntry {
                timestamp: Some(at(now)),
                workload: Some(workload.identity.name.clone()),
                container: Some(r.container.clone()),
                resource: Some(r.resource.as_str().into()),
                from: r.from.clone(),
                to: Some(r.to.clone()),
                method: Some("InPlace".into()),
                result: Some(revert::backoff::REVERTED.into()),
                reason: Some(reason.as_str()),
            });
        }
        let values = describe(&restored.iter().map(|r| r.as_change()).collect::<Vec<_>>());
        let mut text = format!("pod {pod}: resize reverted ({}): {values}", reason.as_str());
        if let Some(why) = annotation_error {
            text.push_str(&format!(
                "; its attune.io/reverted-at annotation could not be written ({why}), so the \
                 cooldown counts from the resize"
            ));
        }
        notes.push(Note::warning("ResizeReverted", "Revert", text).about_pod(&pod));
    }
    for error in report.failures {
        facts.failures.push(error.to_string());
        notes.push(Note::warning("RevertFailed", "Revert", error_chain(&error)));
    }
    if !report.failed_open.is_empty() {
        // Fail open: the resize stays; the user hears which checks could not be made, in one
        // note (events of one reason are folded into a series, which would drop all but one).
        notes.push(Note::warning(
            "RevertCheckFailedOpen",
            "Revert",
            format!("{}; the resize is kept", report.failed_open.join("; ")),
        ));
    }
}

/// The request changes of the pod's last resize, from its tracking annotations (the entries of
/// `attune.io/resize-history` made at `attune.io/resized-at`); none when Attune never resized it.
fn last_request_changes(workload: &LiveWorkload, pod: &str) -> Vec<LastChange> {
    let Some(found) = workload
        .pods
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(pod))
    else {
        return Vec::new();
    };
    let Some(at) = found.annotations().get(RESIZED_AT) else {
        return Vec::new();
    };
    read_history(found)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| &e.at == at && e.field == Field::Request.as_str())
        .map(|e| LastChange {
            workload: workload.identity.name.clone(),
            at: e.at,
            container: e.container,
            resource: e.resource,
            to: e.to,
        })
        .collect()
}

/// Skips a user wants to hear about once. Routine ones (at target, cooldown, outside the
/// canary, waiting for a concurrency slot) are visible in the status instead.
fn worth_an_event(reason: SkipReason) -> bool {
    !matches!(
        reason,
        SkipReason::AlreadyAtTarget
            | SkipReason::ObserveOnly
            | SkipReason::Cooldown
            | SkipReason::ConcurrencyLimit
            | SkipReason::OutOfCanary
            | SkipReason::ResizeInProgress
            | SkipReason::Deleting
            | SkipReason::Gone
    )
}

/// Skip events not published for this policy since the skip began: a pod that stays
/// Deferred for an hour gets one event, not one per reconcile.
pub fn new_skip_notes(ctx: &Context, policy: &str, now: BTreeSet<SkipEvent>) -> Vec<Note> {
    let mut seen = match ctx.skips.lock() {
        Ok(seen) => seen,
        Err(poisoned) => poisoned.into_inner(),
    };
    let before = seen.get(policy).cloned().unwrap_or_default();
    let notes = now
        .difference(&before)
        .map(
            |SkipEvent {
                 pod,
                 reason,
                 detail,
             }| match reason {
                SkipReason::Deferred => {
                    // Counted once per deferral, as its event is published once.
                    ctx.metrics.resize(ResizeResult::Deferred);
                    Note::warning("ResizeDeferred", "Resize", format!("pod {pod}: {detail}"))
                }
                SkipReason::Infeasible => {
                    Note::warning("ResizeInfeasible", "Resize", format!("pod {pod}: {detail}"))
                }
                _ => Note::normal(
                    "ResizeSkipped",
                    "Resize",
                    format!("pod {pod}: {reason}: {detail}"),
                ),
            },
        )
        .collect();
    if now.is_empty() {
        seen.remove(policy);
    } else {
        seen.insert(policy.to_owned(), now);
    }
    notes
}
