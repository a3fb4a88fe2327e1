//! Reconcile scenarios against the scripted apiserver: which calls a reconcile makes, in which
//! order, with which bodies — and which it does not make.

use serde_json::{Value, json};

use super::fixtures::*;
use super::server::{Log, Seen, client};
use crate::controller::reconcile::reconcile;

pub(super) const STATUS: &str =
    "PATCH /apis/attune.io/v1alpha1/namespaces/ns/attunepolicies/web-policy/status";
pub(super) const EVENTS: &str = "POST /apis/events.k8s.io/v1/namespaces/ns/events";

pub(super) fn calls(log: &Log) -> Vec<Seen> {
    log.lock().unwrap().clone()
}

pub(super) fn lines(log: &Log) -> Vec<String> {
    calls(log).iter().map(Seen::line).collect()
}

pub(super) fn status_body(log: &Log) -> Value {
    let seen = calls(log);
    let call = seen
        .iter()
        .find(|s| s.line() == STATUS)
        .expect("a status write");
    assert_eq!(
        call.content_type.as_deref(),
        Some("application/apply-patch+yaml")
    );
    assert!(
        call.path.contains("fieldManager=attune-controller"),
        "{}",
        call.path
    );
    assert!(call.path.contains("force=true"), "{}", call.path);
    call.body.clone().unwrap()
}

pub(super) fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {status}"))
}

pub(super) fn reasons(log: &Log) -> Vec<String> {
    calls(log)
        .iter()
        .filter(|s| s.line() == EVENTS)
        .map(|s| {
            s.body.as_ref().unwrap()["reason"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// The policy as the apiserver holds it after our apply: our status merged over its own.
pub(super) fn after_apply(policy: &Value, applied: &Value) -> Value {
    let mut next = policy.clone();
    let status = next["status"].as_object_mut().unwrap();
    for (k, v) in applied["status"].as_object().unwrap() {
        status.insert(k.clone(), v.clone());
    }
    next
}

#[tokio::test]
async fn auto_resizes_the_pod_off_target_then_writes_status_then_tells() {
    let p = policy(json!({"type": "Auto"}), recommend("150m"));
    let (c, log) = client(p.clone());
    let ctx = context(
        c,
        vec![deployment()],
        vec![pod("web-5d8f-a", "100m"), pod("web-5d8f-b", "150m")],
    );

    reconcile(std::sync::Arc::new(typed(&p)), ctx)
        .await
        .unwrap();

    assert_eq!(
        lines(&log),
        [
            "PATCH /api/v1/namespaces/ns/pods/web-5d8f-a/resize",
            "PATCH /api/v1/namespaces/ns/pods/web-5d8f-a",
            STATUS,
            EVENTS,
        ]
    );
    let seen = calls(&log);
    assert_eq!(
        seen[0].body,
        Some(json!({"spec": {"containers": [
            {"name": "app", "resources": {"requests": {"cpu": "150m"}}}
        ]}}))
    );
    assert_eq!(
        seen[0].content_type.as_deref(),
        Some("application/strategic-merge-patch+json")
    );
    let annotations = &seen[1].body.as_ref().unwrap()["metadata"]["annotations"];
    assert_eq!(annotations["attune.io/original-cpu-request.app"], "100m");

    let status = status_body(&log);
    assert!(
        status["status"].get("recommendations").is_none(),
        "the recommender owns them"
    );
    assert_eq!(condition(&status, "Ready")["reason"], "Monitoring");
    assert_eq!(
        condition(&status, "Ready")["message"],
        "Watching 1 workload, 2 pods"
    );
    assert_eq!(condition(&status, "Resizing")["reason"], "InProgress");
    assert_eq!(condition(&status, "ResizeBlocked")["status"], "False");
    assert_eq!(
        condition(&status, "GitOpsPullRequest")["reason"],
        "PullRequestDisabled"
    );
    assert_eq!(condition(&status, "Ready")["observedGeneration"], 3);
    assert_eq!(
        status["status"]["workloads"],
        json!({"discovered": 1, "withRecommendations": 1, "resized": 0, "pending": 1,
               "deferred": 0, "infeasible": 0})
    );
    let history = status["status"]["resizeHistory"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["workload"], "web");
    assert_eq!(history[0]["from"], "100m");
    assert_eq!(history[0]["to"], "150m");
    assert_eq!(history[0]["method"], "InPlace");
    assert_eq!(history[0]["result"], "Success");

    let event = seen[3].body.as_ref().unwrap();
    assert_eq!(event["reason"], "Resized");
    assert_eq!(event["type"], "Normal");
    assert!(
        event["note"]
            .as_str()
            .unwrap()
            .contains("web-5d8f-a: app cpu request 100m -> 150m"),
        "{event}"
    );
    assert_eq!(event["regarding"]["name"], "web-policy");
    // The pod is the related object: resizes of two pods are two series, not one.
    assert_eq!(event["related"]["name"], "web-5d8f-a");
    assert_eq!(event["related"]["kind"], "Pod");
}

#[tokio::test]
async fn each_resized_pod_gets_its_own_event() {
    let p = policy(
        json!({"type": "Auto", "maxConcurrentResizes": 5}),
        recommend("150m"),
    );
    let (c, log) = client(p.clone());
    let ctx = context(
        c,
        vec![deployment()],
        vec![pod("web-5d8f-a", "100m"), pod("web-5d8f-b", "100m")],
    );
    reconcile(std::sync::Arc::new(typed(&p)), ctx)
        .await
        .unwrap();
    let related: Vec<String> = calls(&log)
        .iter()
        .filter(|s| s.line() == EVENTS)
        .map(|s| {
            s.body.as_ref().unwrap()["related"]["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(related, ["web-5d8f-a", "web-5d8f-b"]);
}

#[tokio::test]
async fn observe_and_recommend_never_touch_pods() {
    for mode in ["Observe", "Recommend"] {
        let p = policy(json!({"type": mode}), recommend("150m"));
        let (c, log) = client(p.clone());
        let ctx = context(c, vec![deployment()], vec![pod("web-5d8f-a", "100m")]);
        reconcile(std::sync::Arc::new(typed(&p)), ctx)
            .await
            .unwrap();
        assert_eq!(lines(&log), [STATUS], "{mode}");
        let status = status_body(&log);
        assert_eq!(condition(&status, "Resizing")["reason"], "Idle", "{mode}");
        assert!(
            status["status"]["workloads"].get("pending").is_none(),
            "{mode}"
        );
    }
}

#[tokio::test]
async fn steady_state_makes_no_call_at_all() {
    let p = policy(json!({"type": "Auto"}), recommend("150m"));
    let (c, log) = client(p.clone());
    let ctx = context(c, vec![deployment()], vec![pod("web-5d8f-a", "150m")]);
    reconcile(std::sync::Arc::new(typed(&p)), ctx.clone())
        .await
        .unwrap();
    assert_eq!(lines(&log), [STATUS]);
    let first = status_body(&log);

    let stored = after_apply(&p, &first);
    log.lock().unwrap().clear();
    reconcile(std::sync::Arc::new(typed(&stored)), ctx)
        .await
        .unwrap();
    assert_eq!(
        lines(&log),
        Vec::<String>::new(),
        "nothing changed, nothing written"
    );
}

#[tokio::test]
async fn another_writers_condition_is_neither_sent_nor_a_reason_to_write() {
    let mut p = policy(json!({"type": "Auto"}), recommend("150m"));
    let degraded = json!({"type": "Degraded", "status": "True", "reason": "HighRevertRate"});
    p["status"]["conditions"] = json!([degraded]);
    let (c, log) = client(p.clone());
    let ctx = context(c, vec![deployment()], vec![pod("web-5d8f-a", "150m")]);
    reconcile(std::sync::Arc::new(typed(&p)), ctx.clone())
        .await
        .unwrap();
    let first = status_body(&log);
    let sent: Vec<&str> = first["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(sent, crate::controller::status::OWNED_CONDITIONS);

    // The apiserver merges the list by type: theirs stays next to ours. They change theirs.
    let mut stored = after_apply(&p, &first);
    let conditions = stored["status"]["conditions"].as_array_mut().unwrap();
    conditions.insert(
        1,
        json!({"type": "Degraded", "status": "False", "reason": "Healthy"}),
    );
    log.lock().unwrap().clear();
    reconcile(std::sync::Arc::new(typed(&stored)), ctx)
        .await
        .unwrap();
    assert_eq!(
        lines(&log),
        Vec::<String>::new(),
        "their change is not ours to write"
    );
}

#[tokio::test]
async fn a_deferred_pod_is_reported_once_and_never_patched() {
    let p = policy(json!({"type": "Auto"}), recommend("150m"));
    let (c, log) = client(p.clone());
    let deferred = pending(pod("web-5d8f-a", "100m"), "Deferred");
    let ctx = context(c, vec![deployment()], vec![deferred]);
    reconcile(std::sync::Arc::new(typed(&p)), ctx.clone())
        .await
        .unwrap();

    assert_eq!(lines(&log), [STATUS, EVENTS]);
    let status = status_body(&log);
    let blocked = condition(&status, "ResizeBlocked");
    assert_eq!(blocked["status"], "True");
    assert_eq!(blocked["reason"], "PodsDeferred");
    assert!(blocked["message"].as_str().unwrap().contains("web-5d8f-a"));
    assert_eq!(status["status"]["workloads"]["deferred"], 1);
    assert_eq!(reasons(&log), ["ResizeDeferred"]);

    // Still deferred on the next reconcile: no patch, no second event, no status write.
    let stored = after_apply(&p, &status);
    log.lock().unwrap().clear();
    reconcile(std::sync::Arc::new(typed(&stored)), ctx)
        .await
        .unwrap();
    assert_eq!(lines(&log), Vec::<String>::new());
}

#[tokio::test]
async fn an_infeasible_pod_is_blocked_with_its_own_reason() {
    let p = policy(json!({"type": "Auto"}), recommend("150m"));
    let (c, log) = client(p.clone());
    let ctx = context(
        c,
        vec![deployment()],
        vec![pending(pod("web-5d8f-a", "100m"), "Infeasible")],
    );
    reconcile(std::sync::Arc::new(typed(&p)), ctx)
        .await
        .unwrap();
    let status = status_body(&log);
    assert_eq!(
        condition(&status, "ResizeBlocked")["reason"],
        "PodsInfeasible"
    );
    assert_eq!(reasons(&log), ["ResizeInfeasible"]);
    assert!(!lines(&log).iter().any(|l| l.contains("/resize")));
}

/// `attune_resizes_total{result}` of the context's metrics.
pub(super) fn resizes(ctx: &crate::controller::Context, result: &str) -> u64 {
    let prefix = format!("attune_resizes_total{{result=\"{result}\"}} ");
    ctx.metrics
        .encode()
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn a_resize_the_kubelet_refuses_is_recorded_failed_not_success() {
    // What the API server accepted an hour ago (history: Success) and the kubelet refused.
    let at = "2026-01-01T12:00:00Z";
    let mut p = policy(json!({"type": "Auto"}), recommend("4"));
    p["status"]["resizeHistory"] = json!([{
        "timestamp": at, "workload": "web", "container": "app", "resource": "cpu",
        "from": "100m", "to": "4", "method": "InPlace", "result": "Success",
    }]);
    let mut refused = pending(pod("web-5d8f-a", "4"), "Infeasible");
    refused.metadata.annotations = Some(
        [
            ("attune.io/resized-at".to_owned(), at.to_owned()),
            (
                "attune.io/resize-history".to_owned(),
                json!([{"at": at, "container": "app", "resource": "cpu", "field": "request",
                        "from": "100m", "to": "4"}])
                .to_string(),
            ),
        ]
        .into(),
    );
    let (c, log) = client(p.clone());
    let ctx = context(c, vec![deployment()], vec![refused]);
    reconcile(std::sync::Arc::new(typed(&p)), ctx.clone())
        .await
        .unwrap();

    let status = status_body(&log);
    let history = status["status"]["resizeHistory"].as_array().unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["result"], "Failed");
    assert_eq!(history[0]["reason"], "infeasible");
    assert_eq!(history[0]["to"], "4");
    assert_eq!(resizes(&ctx, "infeasible"), 1);
    assert!(!lines(&log).iter().any(|l| l.contains("/resize")));

    // Still refused on the next reconcile: already recorded, nothing written or counted again.
    let stored = after_apply(&p, &status);
    log.lock().unwrap().clear();
    reconcile(std::sync::Arc::new(typed(&stored)), ctx.clone())
        .await
        .unwrap();
    assert_eq!(lines(&log), Vec::<String>::new());
    assert_eq!(resizes(&ctx, "infeasible"), 1);
}

#[tokio::test]
async fn an_invalid_policy_is_reported_and_touches_no_pod() {
    let p = policy(
        json!({"type": "Auto", "cooldown": "an hour"}),
        recommend("150m"),
    );
    let (c, log) = client(p.clone());
    let ctx = context(c, vec![deployment()], vec![pod("web-5d8f-a", "100m")]);
    reconcile(std::sync::Arc::new(typed(&p)), ctx)
        .await
        .unwrap();
    assert_eq!(lines(&log), [STATUS]);
    let ready = condition(&status_body(&log), "Ready").clone();
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["reason"], "InvalidConfig");
    assert!(
        ready["message"].as_str().unwrap().contains("an hour"),
        "{ready}"
    );
}

#[tokio::test]
async fn a_missing_target_is_no_workloads_found() {
    let p = policy(json!({"type": "Auto"}), recommend("150m"));
    let (c, log) = client(p.clone());
    let ctx = context(c, vec![], vec![pod("web-5d8f-a", "100m")]);
    reconcile(std::sync::Arc::new(typed(&p)), ctx)
        .await
        .unwrap();
    assert_eq!(lines(&log), [STATUS]);
    assert_eq!(
        condition(&status_body(&log), "Ready")["reason"],
        "NoWorkloadsFound"
    );
}

#[tokio::test]
async fn a_pod_with_the_labels_but_another_owner_is_left_alone() {
    let p = policy(json!({"type": "Auto"}), recommend("150m"));
    let (c, log) = client(p.clone());
    let mut stray = pod("stray", "100m");
    stray.metadata.owner_references = None;
    let ctx = context(c, vec![deployment()], vec![stray]);
    reconcile(std::sync::Arc::new(typed(&p)), ctx)
        .await
        .unwrap();
    assert_eq!(lines(&log), [STATUS]);
    assert_eq!(
        condition(&status_body(&log), "Ready")["message"],
        "Watching 1 workload, 0 pods"
    );
}

#[tokio::test]
async fn a_paused_policy_resizes_nothing_and_says_so() {
    let mut p = policy(json!({"type": "Auto"}), recommend("150m"));
    p["spec"]["paused"] = json!(true);
    let (c, log) = client(p.clone());
    let ctx = context(c, vec![deployment()], vec![pod("web-5d8f-a", "100m")]);
    reconcile(std::sync::Arc::new(typed(&p)), ctx)
        .await
        .unwrap();
    assert_eq!(lines(&log), [STATUS]);
    assert_eq!(condition(&status_body(&log), "Ready")["reason"], "Paused");
}

#[tokio::test(start_paused = true)]
async fn before_the_pod_cache_is_filled_nothing_is_decided_or_written() {
    let p = policy(json!({"type": "Auto"}), recommend("150m"));
    let (c, log) = client(p.clone());
    let (ctx, _pods_still_loading) = unsynced(c);
    let action = reconcile(std::sync::Arc::new(typed(&p)), ctx)
        .await
        .unwrap();
    assert_eq!(lines(&log), Vec::<String>::new(), "no status saying 0 pods");
    assert_eq!(
        action,
        kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(30))
    );
}
