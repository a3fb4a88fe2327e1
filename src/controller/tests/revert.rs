//! Auto-revert scenarios against the scripted apiserver: the calls a reconcile makes when a
//! resized pod is OOM-killed or restarts, what the status then says, and what it leaves alone.

use chrono::{SecondsFormat, TimeDelta, Utc};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::fixtures::*;
use super::scenarios::{
    EVENTS, STATUS, after_apply, calls, condition, lines, reasons, resizes, status_body,
};
use super::server::client;
use crate::controller::reconcile::reconcile;

fn ago(seconds: i64) -> String {
    (Utc::now() - TimeDelta::seconds(seconds)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `web-5d8f-a`, resized by Attune `resized` seconds ago from 100m/128Mi to 150m/64Mi, with
/// the kubelet's facts about container `app`.
fn resized_pod(resized: i64, restarts: i32, last_terminated: Value) -> Pod {
    let mut p = pod("web-5d8f-a", "150m");
    let annotations = json!({
        "attune.io/resized-at": ago(resized),
        "attune.io/restarts-at-resize.app": "0",
        "attune.io/original-cpu-request.app": "100m",
        "attune.io/original-memory-request.app": "128Mi",
    });
    p.metadata.annotations = serde_json::from_value(annotations).unwrap();
    p.spec.as_mut().unwrap().containers[0]
        .resources
        .as_mut()
        .unwrap()
        .requests
        .as_mut()
        .unwrap()
        .insert(
            "memory".into(),
            k8s_openapi::apimachinery::pkg::api::resource::Quantity("64Mi".into()),
        );
    let mut status = json!({"name": "app", "ready": true, "restartCount": restarts,
                            "image": "example", "imageID": ""});
    if !last_terminated.is_null() {
        status["lastState"] = json!({"terminated": last_terminated});
    }
    let s = p.status.as_mut().unwrap();
    s.container_statuses = Some(vec![serde_json::from_value(status).unwrap()]);
    s.conditions = Some(vec![
        serde_json::from_value(json!({"type": "Ready", "status": "True"})).unwrap(),
    ]);
    p
}

fn oom(seconds_ago: i64) -> Value {
    json!({"reason": "OOMKilled", "exitCode": 137, "finishedAt": ago(seconds_ago)})
}

#[tokio::test]
async fn an_oom_kill_after_the_resize_reverts_it_at_once_and_backs_off() {
    let p = policy(json!({"type": "Auto"}), recommend("150m"));
    let (c, log) = client(p.clone());
    let ctx = context(c, vec![deployment()], vec![resized_pod(60, 1, oom(20))]);
    reconcile(std::sync::Arc::new(typed(&p)), ctx.clone())
        .await
        .unwrap();

    assert_eq!(
        lines(&log),
        [
            "PATCH /api/v1/namespaces/ns/pods/web-5d8f-a/resize",
            "PATCH /api/v1/namespaces/ns/pods/web-5d8f-a",
            STATUS,
            EVENTS,
        ],
        "the reverted pod is not resized again in the same reconcile"
    );
    let seen = calls(&log);
    assert_eq!(
        seen[0].body,
        Some(
            json!({"spec": {"containers": [{"name": "app", "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"}}}]}})
        )
    );
    let marks = &seen[1].body.as_ref().unwrap()["metadata"]["annotations"];
    assert_eq!(marks["attune.io/revert-reason"], "oomkill");
    assert_eq!(
        marks["attune.io/reverted-at"],
        marks["attune.io/resized-at"]
    );

    let status = status_body(&log);
    let history = status["status"]["resizeHistory"].as_array().unwrap();
    let entries: Vec<(&str, &str, &str, &str)> = history
        .iter()
        .map(|e| {
            (
                e["resource"].as_str().unwrap(),
                e["from"].as_str().unwrap(),
                e["to"].as_str().unwrap(),
                e["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("cpu", "150m", "100m", "oomkill"),
            ("memory", "64Mi", "128Mi", "oomkill")
        ]
    );
    assert!(history.iter().all(|e| e["result"] == "Reverted"));
    assert_eq!(
        status["status"]["cooldown"],
        json!({"effectiveCooldown": "2h0m0s", "backoffMultiplier": 2.0, "consecutiveReverts": 1})
    );
    assert_eq!(reasons(&log), ["ResizeReverted"]);
    let note = seen[3].body.as_ref().unwrap()["note"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(note.contains("resize reverted (oomkill)"), "{note}");
    assert!(note.contains("app memory request 64Mi -> 128Mi"), "{note}");
    assert_eq!(resizes(&ctx, "reverted"), 1);
}

#[tokio::test]
async fn restarts_revert_from_two_more_than_at_the_resize() {
    for (restarts, reverted) in [(1, false), (2, true)] {
        let p = policy(json!({"type": "Auto"}), recommend("150m"));
        let (c, log) = client(p.clone());
        let terminated = json!({"reason": "Error", "exitCode": 1, "finishedAt": ago(5)});
        let ctx = context(
            c,
            vec![deployment()],
            vec![resized_pod(60, restarts, terminated)],
        );
        reconcile(std::sync::Arc::new(typed(&p)), ctx)
            .await
            .unwrap();
        let reverts = lines(&log)
            .iter()
            .filter(|l| l.ends_with("/resize"))
            .count();
        assert_eq!(reverts, usize::from(reverted), "{restarts} restarts");
        if reverted {
            let status = status_body(&log);
            assert_eq!(status["status"]["resizeHistory"][0]["reason"], "restart");
        }
    }
}

#[tokio::test]
async fn an_old_oom_kill_or_a_disabled_auto_revert_leaves_the_resize() {
    let cases = [
        ("OOM before the resize", json!({"type": "Auto"}), oom(120)),
        (
            "autoRevert false",
            json!({"type": "Auto", "autoRevert": false}),
            oom(20),
        ),
    ];
    for (name, strategy, terminated) in cases {
        let p = policy(strategy, recommend("150m"));
        let (c, log) = client(p.clone());
        let ctx = context(c, vec![deployment()], vec![resized_pod(60, 0, terminated)]);
        reconcile(std::sync::Arc::new(typed(&p)), ctx)
            .await
            .unwrap();
        assert_eq!(lines(&log), [STATUS], "{name}");
        let status = status_body(&log);
        assert!(status["status"].get("resizeHistory").is_none(), "{name}");
    }
}

#[tokio::test]
async fn a_quiet_pod_is_verified_once_its_period_is_over() {
    let p = policy(
        json!({"type": "Auto", "safetyObservationPeriod": "1m"}),
        recommend("150m"),
    );
    let (c, log) = client(p.clone());
    let mut quiet = resized_pod(90, 0, Value::Null);
    // At its target for cpu; memory back at the recommendation's silence (no memory target).
    quiet
        .metadata
        .annotations
        .as_mut()
        .unwrap()
        .remove("attune.io/original-memory-request.app");
    let ctx = context(c, vec![deployment()], vec![quiet]);
    reconcile(std::sync::Arc::new(typed(&p)), ctx)
        .await
        .unwrap();
    assert_eq!(
        lines(&log),
        ["PATCH /api/v1/namespaces/ns/pods/web-5d8f-a", STATUS]
    );
    let seen = calls(&log);
    let mark = &seen[0].body.as_ref().unwrap()["metadata"]["annotations"];
    let resized_at = mark["attune.io/verified-resize"].as_str().unwrap();
    let age = Utc::now()
        - chrono::DateTime::parse_from_rfc3339(resized_at)
            .unwrap()
            .to_utc();
    assert!((89..=95).contains(&age.num_seconds()), "{resized_at}");
}

#[tokio::test]
async fn three_reverts_of_the_last_five_make_the_policy_degraded() {
    let entry = |at: &str, result: &str| {
        json!({"timestamp": at, "workload": "web", "container": "app", "resource": "cpu",
               "from": "150m", "to": "100m", "method": "InPlace", "result": result,
               "reason": if result == "Reverted" { "oomkill" } else { "" }})
    };
    let mut p = policy(
        json!({"type": "Auto", "cooldown": "10m"}),
        recommend("150m"),
    );
    p["status"]["resizeHistory"] = json!([
        entry("2026-01-01T01:00:00Z", "Reverted"),
        entry("2026-01-01T02:00:00Z", "Success"),
        entry("2026-01-01T03:00:00Z", "Reverted"),
        entry("2026-01-01T04:00:00Z", "Reverted"),
    ]);
    let (c, log) = client(p.clone());
    let ctx = context(c, vec![deployment()], vec![pod("web-5d8f-a", "150m")]);
    reconcile(std::sync::Arc::new(typed(&p)), ctx.clone())
        .await
        .unwrap();
    let status = status_body(&log);
    let degraded = condition(&status, "Degraded");
    assert_eq!(degraded["status"], "True");
    assert_eq!(degraded["reason"], "HighRevertRate");
    assert_eq!(
        status["status"]["cooldown"],
        json!({"effectiveCooldown": "40m0s", "backoffMultiplier": 4.0, "consecutiveReverts": 2})
    );
    // Written once: the next reconcile finds nothing to change.
    let stored = after_apply(&p, &status);
    log.lock().unwrap().clear();
    reconcile(std::sync::Arc::new(typed(&stored)), ctx)
        .await
        .unwrap();
    assert_eq!(lines(&log), Vec::<String>::new());
}

#[tokio::test]
async fn a_pod_at_its_target_in_cooldown_is_not_pending() {
    let p = policy(json!({"type": "Auto"}), recommend("150m"));
    let marks: std::collections::BTreeMap<String, String> = [
        ("attune.io/resized-at".to_owned(), ago(600)),
        ("attune.io/verified-resize".to_owned(), ago(600)),
    ]
    .into();
    let mut at_target = pod("web-5d8f-a", "150m");
    at_target.metadata.annotations = Some(marks.clone());
    let mut off_target = pod("web-5d8f-b", "100m");
    off_target.metadata.annotations = Some(marks);
    for (pods, pending, resizing) in [
        (vec![at_target.clone()], 0, "Idle"),
        (vec![at_target, off_target], 1, "CooldownActive"),
    ] {
        let (c, log) = client(p.clone());
        let ctx = context(c, vec![deployment()], pods);
        reconcile(std::sync::Arc::new(typed(&p)), ctx)
            .await
            .unwrap();
        assert_eq!(lines(&log), [STATUS]);
        let status = status_body(&log);
        assert_eq!(status["status"]["workloads"]["pending"], pending);
        assert_eq!(condition(&status, "Resizing")["reason"], resizing);
    }
}

/// Prometheus refuses every connection: the quiet pod's throttle and SLO checks fail open (its
/// resize stays, each failure is an event and a count), and the OOM-killed pod beside it is
/// reverted all the same.
#[tokio::test]
async fn an_unreachable_prometheus_fails_open_and_never_holds_an_oom_revert_back() {
    let mut p = policy(
        json!({"type": "Auto", "safetyObservationPeriod": "1m", "sloGuardrails": [
            {"name": "errors", "query": "errors{pod=\"{{.PodName}}\"}", "threshold": "0.1"}]}),
        recommend("150m"),
    );
    // Port 1 on the loopback: refused at once.
    p["spec"]["metricsSource"]["prometheus"]["address"] = "http://127.0.0.1:1".into();
    let (c, log) = client(p.clone());
    let mut quiet = resized_pod(400, 0, Value::Null);
    quiet.metadata.name = Some("web-5d8f-b".into());
    let killed = resized_pod(60, 1, oom(20));
    let ctx = context(c, vec![deployment()], vec![killed, quiet]);
    reconcile(std::sync::Arc::new(typed(&p)), ctx.clone())
        .await
        .unwrap();

    let seen = lines(&log);
    assert!(
        seen.contains(&"PATCH /api/v1/namespaces/ns/pods/web-5d8f-a/resize".to_owned()),
        "the OOM-killed pod is reverted: {seen:?}"
    );
    assert!(
        !seen.iter().any(|l| l.contains("web-5d8f-b/resize")),
        "the quiet pod keeps its resize: {seen:?}"
    );
    let verified = calls(&log).into_iter().find(|c| {
        c.body
            .as_ref()
            .is_some_and(|b| b["metadata"]["annotations"]["attune.io/verified-resize"].is_string())
    });
    assert!(verified.is_some(), "the quiet pod is verified: {seen:?}");
    let got = reasons(&log);
    assert!(got.contains(&"ResizeReverted".to_owned()), "{got:?}");
    let told: Vec<String> = calls(&log)
        .into_iter()
        .filter_map(|c| c.body)
        .filter(|b| b["reason"] == "RevertCheckFailedOpen")
        .map(|b| b["note"].as_str().unwrap_or_default().to_owned())
        .collect();
    let told = told.join("\n");
    assert!(told.contains("pod web-5d8f-b: throttling:"), "{told}");
    assert!(told.contains("pod web-5d8f-b: slo:errors:"), "{told}");
    assert!(told.contains("the resize is kept"), "{told}");
    let metrics = ctx.metrics.encode();
    for check in ["throttle", "slo"] {
        let line = format!("attune_revert_checks_failed_open_total{{check=\"{check}\"}} 1");
        assert!(metrics.contains(&line), "{metrics}");
    }
}
