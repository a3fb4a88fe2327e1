//! The owned status: conditions keep their transition time while their status holds, history
//! is capped, and only real changes count as changes.

use chrono::{TimeZone, Utc};
use serde_json::json;

use crate::controller::status::{Facts, HISTORY_LIMIT, LastChange, build, differs, history};
use crate::crd::{AttunePolicyStatus, Condition, ResizeHistoryEntry};

fn gitops() -> Condition {
    Condition {
        type_: "GitOpsPullRequest".into(),
        status: "False".into(),
        reason: Some("PullRequestDisabled".into()),
        ..Condition::default()
    }
}

fn facts() -> Facts {
    Facts {
        workloads: 1,
        pods: 2,
        with_recommendation: 1,
        ..Facts::default()
    }
}

fn read(v: &serde_json::Value) -> AttunePolicyStatus {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
fn transition_times_hold_while_the_status_holds() {
    let t1 = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
    let t2 = Utc.with_ymd_and_hms(2026, 1, 1, 13, 0, 0).unwrap();
    let first = read(&build(None, &facts(), gitops(), None, Some(1), t1));
    let again = build(Some(&first), &facts(), gitops(), None, Some(1), t2);
    assert_eq!(
        again["conditions"][0]["lastTransitionTime"],
        "2026-01-01T12:00:00Z"
    );
    assert!(!differs(Some(&first), &again), "only timestamps moved");

    let mut paused = facts();
    paused.paused = true;
    let changed = build(Some(&first), &paused, gitops(), None, Some(1), t2);
    assert_eq!(changed["conditions"][0]["reason"], "Paused");
    assert_eq!(
        changed["conditions"][0]["lastTransitionTime"],
        "2026-01-01T13:00:00Z"
    );
    assert!(differs(Some(&first), &changed));
}

#[test]
fn history_keeps_the_newest_fifty() {
    let entry = |i: usize| ResizeHistoryEntry {
        workload: Some(format!("w{i}")),
        ..ResizeHistoryEntry::default()
    };
    let previous = AttunePolicyStatus {
        resize_history: (0..49).map(entry).collect(),
        ..AttunePolicyStatus::default()
    };
    let mut f = facts();
    f.history = (49..52).map(entry).collect();
    let out = build(Some(&previous), &f, gitops(), None, None, Utc::now());
    let history = out["resizeHistory"].as_array().unwrap();
    assert_eq!(history.len(), HISTORY_LIMIT);
    assert_eq!(history[0]["workload"], "w2");
    assert_eq!(history[49]["workload"], "w51");
}

#[test]
fn other_writers_fields_do_not_count_as_changes() {
    let first = build(None, &facts(), gitops(), None, None, Utc::now());
    let mut stored = first.clone();
    stored["workloads"]["dataPointsCollected"] = json!(40);
    stored["conditions"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "Degraded", "status": "False", "reason": "Healthy"}));
    stored["recommendations"] = json!([{"workload": "web"}]);
    assert!(!differs(Some(&read(&stored)), &first));
    assert!(differs(None, &first));
}

#[test]
fn blocked_pods_name_at_most_five() {
    let mut f = facts();
    f.deferred = (0..7).map(|i| format!("p{i}")).collect();
    f.infeasible = vec!["q".into()];
    let out = build(None, &f, gitops(), None, None, Utc::now());
    let blocked = &out["conditions"][2];
    assert_eq!(blocked["reason"], "PodsDeferredAndInfeasible");
    assert_eq!(
        blocked["message"],
        "deferred: p0, p1, p2, p3, p4 and 2 more; infeasible: q"
    );
}

#[test]
fn an_infeasible_pod_turns_one_success_entry_per_change_once() {
    // Two pods resized alike at `at`; the kubelet applied one and refused the other.
    let at = "2026-01-01T12:00:00Z";
    let entry = |resource: &str, to: &str| ResizeHistoryEntry {
        timestamp: Some(at.into()),
        workload: Some("web".into()),
        container: Some("app".into()),
        resource: Some(resource.into()),
        from: Some("100m".into()),
        to: Some(to.into()),
        method: Some("InPlace".into()),
        result: Some("Success".into()),
        reason: None,
    };
    let earlier = ResizeHistoryEntry {
        timestamp: Some("2025-12-31T12:00:00Z".into()),
        ..entry("cpu", "4")
    };
    let previous = AttunePolicyStatus {
        resize_history: vec![
            earlier,
            entry("cpu", "4"),
            entry("cpu", "4"),
            entry("memory", "1Gi"),
        ],
        ..AttunePolicyStatus::default()
    };
    let mut f = facts();
    f.infeasible_changes = vec![LastChange {
        workload: "web".into(),
        at: at.into(),
        container: "app".into(),
        resource: "cpu".into(),
        to: "4".into(),
    }];
    let (turned, count) = history(Some(&previous), &f);
    assert_eq!(count, 1);
    let results: Vec<_> = turned
        .iter()
        .map(|e| (e.result.as_deref().unwrap(), e.reason.as_deref()))
        .collect();
    assert_eq!(
        results,
        [
            ("Success", None),
            ("Success", None),
            ("Failed", Some("infeasible")),
            ("Success", None)
        ],
        "the newest matching entry, not the earlier resize nor the memory change"
    );

    // The next reconcile sees the same refusal and the entry already turned.
    let stored = AttunePolicyStatus {
        resize_history: turned,
        ..AttunePolicyStatus::default()
    };
    let (again, count) = history(Some(&stored), &f);
    assert_eq!(count, 0);
    assert_eq!(again, stored.resize_history);
    let out = build(Some(&stored), &f, gitops(), None, None, Utc::now());
    assert_eq!(out["resizeHistory"][2]["reason"], "infeasible");
}
