//! The status this controller owns, built from what one reconcile found: the `Ready`,
//! `Resizing`, `ResizeBlocked`, `Degraded` and `GitOpsPullRequest` conditions, the workload
//! counts, the resize history (with the kubelet's later Infeasible verdicts folded in), the
//! cooldown lengthened by reverts and the GitOps state. Pure: it turns [`Facts`] and the previous status into
//! the body of one server-side apply, and says whether that body differs from what is there
//! (timestamps aside), because the policy watch sees our own writes and an unconditional write
//! would reconcile forever. It must not know about clients or how the facts were gathered;
//! `recommendations` belong to the recommender and never appear here.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::revert::backoff;
use crate::crd::{AttunePolicyStatus, Condition, ResizeHistoryEntry};

/// Condition types this controller writes.
pub const OWNED_CONDITIONS: [&str; 6] = [
    "Ready",
    "Resizing",
    "ResizeBlocked",
    "GitOpsPullRequest",
    "Superseded",
    "ScheduleBlocked",
];
/// Written only while reverts are the rule (`HighRevertRate`), so that another writer's
/// `Degraded` stands whenever this controller has nothing to say. A write that drops it
/// releases it; since only the history decides it, the history's change brings that write.
pub const DEGRADED: &str = "Degraded";
/// Entries kept in `status.resizeHistory`, as the CRD documents.
pub const HISTORY_LIMIT: usize = 50;

/// What a reconcile found, in the terms the status speaks.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub paused: bool,
    /// The policy cannot be acted on; the message says which field and why.
    pub invalid: Option<String>,
    /// Targets could not be listed (a bad selector).
    pub discovery_failed: Option<String>,
    pub workloads: usize,
    pub pods: usize,
    pub with_recommendation: usize,
    /// Workloads with a pod Attune has resized at some point.
    pub resized_workloads: usize,
    /// Workloads with a pod not at its target (only known in modes that resize).
    pub pending: Option<usize>,
    pub deferred: Vec<String>,
    pub infeasible: Vec<String>,
    /// Pods resized by this reconcile.
    pub resized_now: usize,
    /// Pods whose earlier resize the kubelet is still applying.
    pub in_progress: usize,
    /// Pods waiting for their cooldown to end.
    pub cooling_down: usize,
    /// Resizes that failed in this reconcile, for the Resizing condition.
    pub failures: Vec<String>,
    /// Entries to append to `resizeHistory`.
    pub history: Vec<ResizeHistoryEntry>,
    /// The request changes of resizes the kubelet has declared infeasible, one per pod.
    pub infeasible_changes: Vec<LastChange>,
    /// The request changes of resizes the kubelet has deferred, one per pod.
    pub deferred_changes: Vec<LastChange>,
    /// The request changes of the last resizes of pods the kubelet is done with (read only
    /// while the history holds a `Pending` entry), one per pod.
    pub applied_changes: Vec<LastChange>,
    /// Pods the auto-revert watch put back in this reconcile.
    pub reverted_now: usize,
    /// The configured cooldown, in the modes that resize: `status.cooldown` shows it backed
    /// off by the reverts in the history.
    pub base_cooldown: Option<Duration>,
    /// `Superseded` and `ScheduleBlocked`, from [`super::fields`], in that order.
    pub more_conditions: Vec<Condition>,
}

/// One change of a pod's last resize, read from the pod's own `attune.io/resize-history`
/// annotation, whose `at` is the history entry's timestamp: how the history learns what the
/// kubelet made of a resize the API server accepted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LastChange {
    pub workload: String,
    pub at: String,
    pub container: String,
    pub resource: String,
    pub to: String,
}

impl LastChange {
    fn matches(&self, e: &ResizeHistoryEntry) -> bool {
        e.workload.as_deref() == Some(self.workload.as_str())
            && e.timestamp.as_deref() == Some(self.at.as_str())
            && e.container.as_deref() == Some(self.container.as_str())
            && e.resource.as_deref() == Some(self.resource.as_str())
            && e.to.as_deref() == Some(self.to.as_str())
    }
}

const INFEASIBLE: &str = "infeasible";
const DEFERRED: &str = "deferred";
/// `result` of a resize the API server accepted and the kubelet deferred.
pub const PENDING: &str = "Pending";
const SUCCESS: &str = "Success";

/// The history to write — the previous one plus this reconcile's entries, newest
/// [`HISTORY_LIMIT`] — with what the kubelet has since made of earlier resizes folded in:
/// `Success` turned `Failed`/`infeasible` (refused) or `Pending`/`deferred` (waiting for room),
/// and `Pending` turned `Success` once applied; and how many were turned infeasible just now.
/// Each pod accounts for one entry per change, so a second pod resized alike keeps its own
/// result, and a later reconcile turns nothing twice.
pub fn history(
    previous: Option<&AttunePolicyStatus>,
    facts: &Facts,
) -> (Vec<ResizeHistoryEntry>, usize) {
    let mut history: Vec<ResizeHistoryEntry> = previous
        .map(|p| p.resize_history.clone())
        .unwrap_or_default();
    history.extend(facts.history.iter().cloned());
    let excess = history.len().saturating_sub(HISTORY_LIMIT);
    history.drain(..excess);
    let turned = turn(
        &mut history,
        &facts.infeasible_changes,
        SUCCESS,
        ("Failed", Some(INFEASIBLE)),
    );
    turn(
        &mut history,
        &facts.deferred_changes,
        SUCCESS,
        (PENDING, Some(DEFERRED)),
    );
    turn(
        &mut history,
        &facts.applied_changes,
        PENDING,
        (SUCCESS, None),
    );
    (history, turned)
}

/// Turns, for each group of equal changes (one per pod), that many entries from result `from`
/// to `to`, minus those already there.
fn turn(
    history: &mut [ResizeHistoryEntry],
    changes: &[LastChange],
    from: &str,
    (result, reason): (&str, Option<&str>),
) -> usize {
    let mut changes = changes.to_vec();
    changes.sort();
    let mut turned = 0;
    for group in changes.chunk_by(|a, b| a == b) {
        let change = &group[0];
        let done = history
            .iter()
            .filter(|e| {
                change.matches(e)
                    && e.result.as_deref() == Some(result)
                    && e.reason.as_deref() == reason
            })
            .count();
        let open = history
            .iter_mut()
            .rev()
            .filter(|e| change.matches(e) && e.result.as_deref() == Some(from));
        for entry in open.take(group.len().saturating_sub(done)) {
            entry.result = Some(result.into());
            entry.reason = reason.map(Into::into);
            turned += 1;
        }
    }
    turned
}

fn time(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn condition(type_: &str, ok: bool, reason: &str, message: String) -> Condition {
    Condition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: Some(reason.into()),
        message: (!message.is_empty()).then_some(message),
        last_transition_time: None,
        observed_generation: None,
    }
}

/// `1 workload`, `2 workloads`.
pub(super) fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// Names, at most five, then how many more: a condition message stays short.
fn first_five(names: &[String]) -> String {
    let mut text = names.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 5 {
        text.push_str(&format!(" and {} more", names.len() - 5));
    }
    text
}

fn ready(f: &Facts) -> Condition {
    if f.paused {
        return condition("Ready", false, "Paused", "spec.paused is true".into());
    }
    if let Some(why) = &f.invalid {
        return condition("Ready", false, "InvalidConfig", why.clone());
    }
    if let Some(why) = &f.discovery_failed {
        return condition("Ready", false, "WorkloadDiscoveryFailed", why.clone());
    }
    if f.workloads == 0 {
        return condition(
            "Ready",
            false,
            "NoWorkloadsFound",
            "no workload in the policy's namespace matches targetRef".into(),
        );
    }
    let watching = format!(
        "Watching {}, {}",
        plural(f.workloads, "workload"),
        plural(f.pods, "pod")
    );
    if f.with_recommendation == 0 {
        return condition(
            "Ready",
            false,
            "InsufficientData",
            format!("{watching}; no recommendation yet"),
        );
    }
    condition("Ready", true, "Monitoring", watching)
}

fn resizing(f: &Facts) -> Condition {
    if !f.failures.is_empty() {
        return condition(
            "Resizing",
            false,
            "ResizeFailed",
            format!("resize failed: {}", first_five(&f.failures)),
        );
    }
    if f.resized_now > 0 || f.in_progress > 0 || f.reverted_now > 0 {
        let mut parts = Vec::new();
        if f.reverted_now > 0 {
            parts.push(format!("{} reverted now", plural(f.reverted_now, "pod")));
        }
        if f.resized_now > 0 {
            parts.push(format!("{} resized now", plural(f.resized_now, "pod")));
        }
        if f.in_progress > 0 {
            parts.push(format!(
                "{} being resized by the kubelet",
                plural(f.in_progress, "pod")
            ));
        }
        return condition("Resizing", true, "InProgress", parts.join(", "));
    }
    if f.cooling_down > 0 {
        return condition(
            "Resizing",
            false,
            "CooldownActive",
            format!("{} in cooldown", plural(f.cooling_down, "pod")),
        );
    }
    condition("Resizing", false, "Idle", String::new())
}

fn blocked(f: &Facts) -> Condition {
    let (d, i) = (&f.deferred, &f.infeasible);
    match (d.is_empty(), i.is_empty()) {
        (true, true) => condition("ResizeBlocked", false, "NotBlocked", String::new()),
        (false, true) => condition(
            "ResizeBlocked",
            true,
            "PodsDeferred",
            format!("the kubelet deferred the resize of {}", first_five(d)),
        ),
        (true, false) => condition(
            "ResizeBlocked",
            true,
            "PodsInfeasible",
            format!(
                "the kubelet found the resize of {} infeasible",
                first_five(i)
            ),
        ),
        (false, false) => condition(
            "ResizeBlocked",
            true,
            "PodsDeferredAndInfeasible",
            format!("deferred: {}; infeasible: {}", first_five(d), first_five(i)),
        ),
    }
}

/// `Degraded` when reverts have become the rule: at least three of the last five entries.
fn degraded(history: &[ResizeHistoryEntry]) -> Option<Condition> {
    if backoff::high_revert_rate(history) {
        let recent = history.iter().rev().take(backoff::RATE_WINDOW);
        let reverts = recent
            .filter(|e| e.result.as_deref() == Some(backoff::REVERTED))
            .count();
        return Some(condition(
            DEGRADED,
            true,
            "HighRevertRate",
            format!(
                "{reverts} of the last {} resizes were reverted",
                backoff::RATE_WINDOW
            ),
        ));
    }
    None
}

/// The owned status, ready to apply. `gitops_condition` and `gitops` come from the GitOps step.
pub fn build(
    previous: Option<&AttunePolicyStatus>,
    facts: &Facts,
    gitops_condition: Condition,
    gitops: Option<Value>,
    generation: Option<i64>,
    now: DateTime<Utc>,
) -> Value {
    let (history, _) = history(previous, facts);
    let mut conditions = vec![
        ready(facts),
        resizing(facts),
        blocked(facts),
        gitops_condition,
    ];
    conditions.extend(facts.more_conditions.iter().cloned());
    conditions.extend(degraded(&history));
    for c in &mut conditions {
        c.observed_generation = generation;
        let before = previous
            .into_iter()
            .flat_map(|p| &p.conditions)
            .find(|p| p.type_ == c.type_);
        c.last_transition_time = match before {
            Some(b) if b.status == c.status && b.last_transition_time.is_some() => {
                b.last_transition_time.clone()
            }
            _ => Some(time(now)),
        };
    }

    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let mut workloads = json!({
        "discovered": count(facts.workloads),
        "withRecommendations": count(facts.with_recommendation),
        "resized": count(facts.resized_workloads),
        "deferred": count(facts.deferred.len()),
        "infeasible": count(facts.infeasible.len()),
    });
    if let (Some(pending), Value::Object(map)) = (facts.pending, &mut workloads) {
        map.insert("pending".into(), json!(count(pending)));
    }
    let mut status = Map::new();
    status.insert("conditions".into(), json!(conditions));
    status.insert("workloads".into(), workloads);
    if let Some(cooldown) = facts.base_cooldown {
        let backoff = backoff::backoff(&history, cooldown);
        status.insert("cooldown".into(), json!(backoff.status()));
    }
    if !history.is_empty() {
        status.insert("resizeHistory".into(), json!(history));
    }
    if let Some(g) = gitops {
        status.insert("gitops".into(), g);
    }
    status.insert("lastReconcileTime".into(), json!(time(now)));
    Value::Object(status)
}

/// The apply body for the status subresource.
pub fn patch_body(status: Value) -> Value {
    json!({
        "apiVersion": "attune.io/v1alpha1",
        "kind": "AttunePolicy",
        "status": status,
    })
}

/// Whether applying `owned` would change what `previous` holds, ignoring every timestamp.
pub fn differs(previous: Option<&AttunePolicyStatus>, owned: &Value) -> bool {
    let before = match previous.map(serde_json::to_value) {
        Some(Ok(v)) => v,
        // Nothing there (or nothing readable): write.
        _ => return true,
    };
    let Value::Object(owned_map) = owned else {
        return true;
    };
    for (key, want) in owned_map {
        if key == "lastReconcileTime" {
            continue;
        }
        let have = before.get(key).cloned().unwrap_or(Value::Null);
        let (have, want) = match key.as_str() {
            "conditions" => (owned_conditions(&have, want), want.clone()),
            "workloads" => (only_keys(&have, want), want.clone()),
            _ => (have, want.clone()),
        };
        if strip_times(have) != strip_times(want) {
            return true;
        }
    }
    // A field we wrote before and no longer write (history or gitops that went away).
    ["resizeHistory", "gitops", "cooldown"]
        .iter()
        .any(|k| !owned_map.contains_key(*k) && before.get(*k).is_some_and(|v| !v.is_null()))
}

/// The conditions this controller writes, from a status' list, in our order: those `want`
/// sends (with the built-in recommender `Ready` is the recommender's; `Degraded` only while
/// reverts are the rule).
fn owned_conditions(conditions: &Value, want: &Value) -> Value {
    let list = conditions.as_array().cloned().unwrap_or_default();
    let sent = |t: &&&str| {
        want.as_array().is_some_and(|w| {
            w.iter()
                .any(|c| c.get("type").and_then(Value::as_str) == Some(**t))
        })
    };
    Value::Array(
        OWNED_CONDITIONS
            .iter()
            .chain(std::iter::once(&DEGRADED))
            .filter(sent)
            .filter_map(|t| {
                list.iter()
                    .find(|c| c.get("type").and_then(Value::as_str) == Some(t))
                    .cloned()
            })
            .collect(),
    )
}

/// `have` restricted to the keys `want` sets (the recommender owns the other counters).
fn only_keys(have: &Value, want: &Value) -> Value {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => Value::Object(
            h.iter()
                .filter(|(k, _)| w.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => have.clone(),
    }
}

/// Drops `lastTransitionTime`, `lastPolled` and every other `…Time` key, recursively.
fn strip_times(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| !(k.ends_with("Time") || k == "lastPolled"))
                .map(|(k, v)| (k, strip_times(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_times).collect()),
        other => other,
    }
}
