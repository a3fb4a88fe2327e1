//! Tables for the revert decision, the backoff and the pod facts.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::backoff::{self, Backoff, HeldValue, go_duration};
use super::facts;
use super::verdict::*;
use crate::crd::{AttunePolicyStatus, ResizeHistoryEntry, SloComparison};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const RESIZED: &str = "2026-12-01T10:00:00Z";

fn container(restarts: i32, at_resize: Option<i32>, oom: Option<&str>) -> ContainerFacts {
    ContainerFacts {
        name: "app".into(),
        restarts,
        restarts_at_resize: at_resize,
        oom_killed_at: oom.map(t),
    }
}

fn observation(minutes_after: i64) -> Observation {
    Observation {
        resized_at: t(RESIZED),
        now: t(RESIZED) + TimeDelta::minutes(minutes_after),
        period: TimeDelta::minutes(5),
        containers: vec![container(0, Some(0), None)],
        ready: true,
        throttle: Reading::Value(0.1),
        slos: Vec::new(),
    }
}

fn slo(name: &str, threshold: f64, comparison: SloComparison, reading: Reading) -> SloReading {
    SloReading {
        name: name.into(),
        threshold,
        comparison,
        reading,
    }
}

#[test]
fn verdicts_follow_the_triggers_and_their_timing() {
    let watch = Verdict::Watch {
        until: t("2026-12-01T10:05:00Z"),
    };
    let safe = Verdict::Safe {
        failed_open: Vec::new(),
    };
    let revert = Verdict::Revert;
    type Edit = fn(&mut Observation);
    let cases: Vec<(&str, i64, Edit, Verdict)> = vec![
        ("quiet, in the period", 1, |_| {}, watch.clone()),
        ("quiet, period over", 5, |_| {}, safe.clone()),
        (
            "OOM after the resize reverts at once",
            1,
            |o| o.containers[0].oom_killed_at = Some(t("2026-12-01T10:00:30Z")),
            revert(RevertReason::OomKill),
        ),
        (
            "OOM before the resize is old news",
            1,
            |o| o.containers[0].oom_killed_at = Some(t("2026-12-01T09:59:00Z")),
            watch.clone(),
        ),
        (
            "OOM at the very second of the resize is old news",
            6,
            |o| o.containers[0].oom_killed_at = Some(t(RESIZED)),
            safe.clone(),
        ),
        (
            "one restart more is tolerated",
            1,
            |o| o.containers[0] = container(4, Some(3), None),
            watch.clone(),
        ),
        (
            "two restarts more revert at once",
            1,
            |o| o.containers[0] = container(5, Some(3), None),
            revert(RevertReason::Restart),
        ),
        (
            "restarts without a recorded count do not revert",
            1,
            |o| o.containers[0] = container(9, None, None),
            watch.clone(),
        ),
        (
            "OOM wins over restarts",
            1,
            |o| o.containers[0] = container(5, Some(0), Some("2026-12-01T10:01:00Z")),
            revert(RevertReason::OomKill),
        ),
        (
            "NotReady in the period waits",
            2,
            |o| o.ready = false,
            watch.clone(),
        ),
        (
            "NotReady after the period reverts",
            5,
            |o| o.ready = false,
            revert(RevertReason::NotReady),
        ),
        (
            "throttled after the period reverts",
            5,
            |o| o.throttle = Reading::Value(0.51),
            revert(RevertReason::Throttle),
        ),
        (
            "throttling at the limit is fine",
            5,
            |o| o.throttle = Reading::Value(0.5),
            safe.clone(),
        ),
        (
            "throttling in the first five minutes is skipped",
            2,
            |o| {
                o.period = TimeDelta::minutes(1);
                o.throttle = Reading::Value(0.9);
            },
            safe.clone(),
        ),
        (
            "a throttling error fails open",
            5,
            |o| o.throttle = Reading::Failed("connection refused".into()),
            Verdict::Safe {
                failed_open: vec!["throttling: connection refused".into()],
            },
        ),
        (
            "SLO above its threshold reverts",
            5,
            |o| o.slos = vec![slo("p99", 0.3, SloComparison::Above, Reading::Value(0.4))],
            revert(RevertReason::Slo("p99".into())),
        ),
        (
            "SLO below its threshold (below) reverts",
            5,
            |o| {
                o.slos = vec![slo(
                    "avail",
                    0.99,
                    SloComparison::Below,
                    Reading::Value(0.95),
                )]
            },
            revert(RevertReason::Slo("avail".into())),
        ),
        (
            "SLO within its threshold keeps",
            5,
            |o| {
                o.slos = vec![slo(
                    "avail",
                    0.99,
                    SloComparison::Below,
                    Reading::Value(0.999),
                )]
            },
            safe.clone(),
        ),
        (
            "SLO without data keeps",
            5,
            |o| o.slos = vec![slo("p99", 0.3, SloComparison::Above, Reading::NoData)],
            safe.clone(),
        ),
        (
            "an SLO error fails open, the next SLO still counts",
            5,
            |o| {
                o.slos = vec![
                    slo(
                        "a",
                        1.0,
                        SloComparison::Above,
                        Reading::Failed("timeout".into()),
                    ),
                    slo("b", 1.0, SloComparison::Above, Reading::Value(2.0)),
                ]
            },
            revert(RevertReason::Slo("b".into())),
        ),
        (
            "a Prometheus error never blocks an OOM revert",
            5,
            |o| {
                o.throttle = Reading::Failed("down".into());
                o.slos = vec![slo(
                    "a",
                    1.0,
                    SloComparison::Above,
                    Reading::Failed("down".into()),
                )];
                o.containers[0].oom_killed_at = Some(t("2026-12-01T10:04:00Z"));
            },
            revert(RevertReason::OomKill),
        ),
    ];
    for (name, minutes, edit, want) in cases {
        let mut o = observation(minutes);
        edit(&mut o);
        assert_eq!(decide(&o), want, "{name}");
    }
}

#[test]
fn revert_reasons_are_spelled_as_the_history_documents() {
    let cases = [
        (RevertReason::OomKill, "oomkill", true),
        (RevertReason::Restart, "restart", true),
        (RevertReason::NotReady, "notready", false),
        (RevertReason::Throttle, "throttle", false),
        (
            RevertReason::Slo("p99-latency".into()),
            "slo:p99-latency",
            false,
        ),
    ];
    for (reason, text, condemns) in cases {
        assert_eq!(reason.as_str(), text);
        assert_eq!(reason.condemns_values(), condemns, "{text}");
    }
}

fn entry(at: &str, result: &str, reason: Option<&str>, resource: &str) -> ResizeHistoryEntry {
    ResizeHistoryEntry {
        timestamp: Some(at.into()),
        workload: Some("web".into()),
        container: Some("app".into()),
        resource: Some(resource.into()),
        from: Some("64Mi".into()),
        to: Some("128Mi".into()),
        method: Some("InPlace".into()),
        result: Some(result.into()),
        reason: reason.map(Into::into),
    }
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn backoff_doubles_per_trailing_revert_up_to_sixteen() {
    let ok = |i: u32| {
        entry(
            &format!("2026-12-01T0{i}:00:00Z"),
            "Success",
            None,
            "memory",
        )
    };
    let rev = |i: u32| {
        entry(
            &format!("2026-12-01T1{i}:00:00Z"),
            "Reverted",
            Some("oomkill"),
            "memory",
        )
    };
    let cases: Vec<(&str, Vec<ResizeHistoryEntry>, u32, u32)> = vec![
        ("no history", vec![], 0, 1),
        ("only successes", vec![ok(1), ok(2)], 0, 1),
        ("one revert", vec![ok(1), rev(1)], 1, 2),
        ("two reverts", vec![ok(1), rev(1), rev(2)], 2, 4),
        ("a success ends the run", vec![rev(1), rev(2), ok(3)], 0, 1),
        ("four reverts", (1..=4).map(rev).collect(), 4, 16),
        (
            "seven reverts stay at 16",
            (1..=7).map(rev).collect(),
            7,
            16,
        ),
        (
            "one revert of two resources counts once",
            vec![ok(1), rev(1), {
                let mut cpu = rev(1);
                cpu.resource = Some("cpu".into());
                cpu
            }],
            1,
            2,
        ),
    ];
    for (name, history, n, multiplier) in cases {
        assert_eq!(
            backoff::backoff(&history, HOUR),
            Backoff {
                consecutive_reverts: n,
                multiplier,
                effective: HOUR * multiplier,
            },
            "{name}"
        );
    }
    let status = backoff::backoff(&(1..=2).map(rev).collect::<Vec<_>>(), HOUR).status();
    assert_eq!(status.effective_cooldown.as_deref(), Some("4h0m0s"));
    assert_eq!(status.backoff_multiplier, Some(4.0));
    assert_eq!(status.consecutive_reverts, Some(2));
}

#[test]
fn high_revert_rate_is_three_of_the_last_five() {
    let e = |r: &str| entry("2026-12-01T10:00:00Z", r, None, "cpu");
    let (s, r) = ("Success", "Reverted");
    let cases: Vec<(Vec<&str>, bool)> = vec![
        (vec![], false),
        (vec![r, r], false),
        (vec![r, r, r], true),
        (vec![r, s, r, s, r], true),
        (vec![r, r, r, s, s, s], false),
        (vec![s, r, s, r, s, s], false),
        (vec![s, s, r, r, s, r], true),
    ];
    for (results, want) in cases {
        let history: Vec<_> = results.iter().map(|r| e(r)).collect();
        assert_eq!(backoff::high_revert_rate(&history), want, "{results:?}");
    }
}

#[test]
fn values_reverted_for_oom_or_restarts_are_held_until_the_backoff_ends() {
    let status = AttunePolicyStatus {
        resize_history: vec![
            entry("2026-12-01T08:00:00Z", "Reverted", Some("restart"), "cpu"),
            entry("2026-12-01T09:00:00Z", "Success", None, "memory"),
            entry("2026-12-01T10:00:00Z", "Reverted", Some("throttle"), "cpu"),
            entry(
                "2026-12-01T10:00:00Z",
                "Reverted",
                Some("oomkill"),
                "memory",
            ),
        ],
        ..AttunePolicyStatus::default()
    };
    // One trailing revert: 2h of backoff from each revert.
    let held = |now: &str| backoff::held_back(&status, HOUR, t(now));
    let oom = HeldValue {
        workload: "web".into(),
        container: "app".into(),
        resource: "memory".into(),
        value: "64Mi".into(),
        reason: "oomkill".into(),
    };
    assert_eq!(
        held("2026-12-01T10:30:00Z").into_iter().collect::<Vec<_>>(),
        [oom],
        "the restart revert's backoff ended at 10:00; throttling does not condemn a value"
    );
    assert_eq!(
        held("2026-12-01T09:30:00Z").len(),
        2,
        "both the restart and the OOM revert are held at 09:30"
    );
    assert!(held("2026-12-01T12:00:00Z").is_empty());
}

#[test]
fn durations_print_as_go_does() {
    for (secs, text) in [
        (45, "45s"),
        (150, "2m30s"),
        (3600, "1h0m0s"),
        (57_600, "16h0m0s"),
    ] {
        assert_eq!(go_duration(Duration::from_secs(secs)), text);
    }
}

fn resized_pod(annotations: serde_json::Value, status: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web-1", "namespace": "ns", "annotations": annotations},
        "spec": {"containers": [{"name": "app", "image": "x",
            "resources": {"requests": {"cpu": "100m", "memory": "32Mi"},
                          "limits": {"memory": "32Mi"}}}]},
        "status": status,
    }))
    .unwrap()
}

#[test]
fn a_pod_is_watched_from_its_resize_until_reverted_or_verified() {
    let at = "2026-12-01T10:00:00Z";
    let cases = [
        (json!({}), None),
        (json!({"attune.io/resized-at": at}), Some(t(at))),
        (
            json!({"attune.io/resized-at": at, "attune.io/reverted-at": at}),
            None,
        ),
        (
            json!({"attune.io/resized-at": at, "attune.io/verified-resize": at}),
            None,
        ),
        (
            json!({"attune.io/resized-at": at,
                   "attune.io/verified-resize": "2026-11-30T10:00:00Z"}),
            Some(t(at)),
        ),
        (json!({"attune.io/resized-at": "yesterday"}), None),
    ];
    for (annotations, want) in cases {
        let pod = resized_pod(annotations.clone(), json!({}));
        assert_eq!(facts::watched_since(&pod), want, "{annotations}");
    }
}

#[test]
fn the_kubelet_facts_and_the_revert_patch_come_from_the_pod() {
    let pod = resized_pod(
        json!({
            "attune.io/resized-at": "2026-12-01T10:00:00Z",
            "attune.io/restarts-at-resize.app": "1",
            "attune.io/original-memory-request.app": "64Mi",
            "attune.io/original-memory-limit.app": "64Mi",
            "attune.io/original-cpu-request.app": "100m",
        }),
        json!({
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "app", "ready": false, "restartCount": 2,
                "image": "x", "imageID": "",
                "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                              "finishedAt": "2026-12-01T10:00:09Z"}}}],
        }),
    );
    assert_eq!(
        facts::containers(&pod),
        [ContainerFacts {
            name: "app".into(),
            restarts: 2,
            restarts_at_resize: Some(1),
            oom_killed_at: Some(t("2026-12-01T10:00:09Z")),
        }]
    );
    assert!(!facts::is_ready(&pod));
    let revert = facts::revert_patch(&pod).unwrap();
    // CPU is at its original already: only memory goes back.
    assert_eq!(
        revert.patch,
        json!({"spec": {"containers": [{"name": "app", "resources": {
            "requests": {"memory": "64Mi"}, "limits": {"memory": "64Mi"}}}]}})
    );
    assert_eq!(revert.restored.len(), 2);
    assert_eq!(revert.restored[0].from.as_deref(), Some("32Mi"));
    assert_eq!(revert.restored[0].to, "64Mi");

    let untouched = resized_pod(
        json!({"attune.io/resized-at": "2026-12-01T10:00:00Z"}),
        json!({}),
    );
    assert_eq!(facts::revert_patch(&untouched), None);
}

#[test]
fn a_canary_passes_once_every_resized_pod_is_verified_and_none_reverted() {
    let at = "2026-12-01T10:00:00Z";
    let verified = json!({"attune.io/resized-at": at, "attune.io/verified-resize": at});
    let watched = json!({"attune.io/resized-at": at});
    let reverted = json!({"attune.io/resized-at": at, "attune.io/reverted-at": at,
                          "attune.io/revert-reason": "oomkill"});
    let untouched = json!({});
    let cases = [
        (
            "nothing resized yet",
            vec![untouched.clone(), untouched.clone()],
            false,
        ),
        (
            "the canary is still observed",
            vec![watched, untouched.clone()],
            false,
        ),
        (
            "the canary passed",
            vec![verified.clone(), untouched.clone()],
            true,
        ),
        (
            "a canary pod was reverted",
            vec![verified.clone(), reverted],
            false,
        ),
        (
            "verified, then resized again",
            vec![json!({"attune.io/resized-at": "2026-12-01T11:00:00Z",
                   "attune.io/verified-resize": at})],
            false,
        ),
        ("every pod verified", vec![verified.clone(), verified], true),
    ];
    for (name, annotations, want) in cases {
        let pods: Vec<Pod> = annotations
            .into_iter()
            .map(|a| resized_pod(a, json!({})))
            .collect();
        assert_eq!(facts::canary_passed(&pods), want, "{name}");
    }
    // A settings read: autoPromote counts only in Canary mode.
    let spec = |strategy: serde_json::Value| -> crate::crd::AttunePolicySpec {
        serde_json::from_value(json!({
            "targetRef": {"kind": "Deployment", "name": "web"},
            "metricsSource": {"prometheus": {"address": "http://prometheus:9090"}},
            "cpu": {}, "memory": {}, "updateStrategy": strategy,
        }))
        .unwrap()
    };
    let promote = json!({"percentage": 10, "observationPeriod": "10m", "autoPromote": true});
    let read = |s| super::RevertSettings::from_spec(&spec(s)).unwrap();
    let canary = read(json!({"type": "Canary", "canary": promote.clone()}));
    assert!(canary.auto_promote);
    assert_eq!(canary.period, TimeDelta::minutes(10));
    assert!(!read(json!({"type": "Auto", "canary": promote})).auto_promote);
    assert!(!read(json!({"type": "Canary"})).auto_promote);
    // The longest guardrail window lengthens the observation.
    let slo = read(json!({"type": "Auto", "sloGuardrails": [
        {"name": "p99", "query": "up", "threshold": "1", "evaluationWindow": "15m"}]}));
    assert_eq!(slo.period, TimeDelta::minutes(15));
    assert_eq!(slo.guardrails[0].name, "p99");
}
