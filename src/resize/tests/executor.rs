//! The executor against a scripted API server: exactly which calls, in which order, with
//! which bodies, and what each answer becomes.

use serde_json::json;

use super::fixtures::*;
use super::mock_api::{Seen, failure, ok, scripted};
use crate::resize::annotations::RESIZED_AT;
use crate::resize::{Context, Outcome, ResizeError, SkipReason, execute};

const SMP: &str = "application/strategic-merge-patch+json";
const MERGE: &str = "application/merge-patch+json";

fn app(name: &str) -> k8s_openapi::api::core::v1::Pod {
    with(pod(name), "app", "cpu=100m/- mem=128Mi/-")
}

fn auto_ctx(max_concurrent: i32) -> Context {
    let settings = settings(
        json!({ "type": "Auto", "maxConcurrentResizes": max_concurrent }),
        json!({}),
        json!({}),
    );
    ctx(settings, &rec(&[("app", Some("200m"), None)]), 35)
}

fn resize_call(pod: &str) -> Seen {
    Seen {
        method: "PATCH".to_owned(),
        path: format!("/api/v1/namespaces/ns/pods/{pod}/resize?"),
        content_type: Some(SMP.to_owned()),
        body: Some(json!({ "spec": { "containers": [
            { "name": "app", "resources": { "requests": { "cpu": "200m" } } }
        ] } })),
    }
}

fn annotate_call(pod: &str) -> Seen {
    Seen {
        method: "PATCH".to_owned(),
        path: format!("/api/v1/namespaces/ns/pods/{pod}?"),
        content_type: Some(MERGE.to_owned()),
        body: Some(json!({ "metadata": { "annotations": {
            "attune.io/original-cpu-request.app": "100m",
            "attune.io/original-memory-request.app": "128Mi",
            "attune.io/resize-history":
                "[{\"at\":\"2026-01-01T12:00:00Z\",\"container\":\"app\",\"resource\":\"cpu\",\"field\":\"request\",\"from\":\"100m\",\"to\":\"200m\"}]",
            RESIZED_AT: "2026-01-01T12:00:00Z",
        } } })),
    }
}

fn get_call(pod: &str) -> Seen {
    Seen {
        method: "GET".to_owned(),
        path: format!("/api/v1/namespaces/ns/pods/{pod}"),
        content_type: None,
        body: None,
    }
}

/// `pod:Resized`, `pod:<reason>` or `pod:Failed`, in order.
fn outline(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            Outcome::Resized {
                annotation_error: None,
                ..
            } => format!("{}:Resized", o.pod()),
            Outcome::Resized { .. } => format!("{}:ResizedNotAnnotated", o.pod()),
            Outcome::Skipped { skip, .. } => format!("{}:{}", o.pod(), skip.reason),
            Outcome::Failed { .. } => format!("{}:Failed", o.pod()),
        })
        .collect()
}

fn seen(log: &std::sync::Mutex<Vec<Seen>>) -> Vec<Seen> {
    log.lock().unwrap().clone()
}

#[tokio::test]
async fn auto_with_three_pods_and_two_slots_resizes_two_then_annotates_each() {
    let pods = [app("a"), app("b"), app("c")];
    let ctx = auto_ctx(2);
    let plan = ctx.plan(&pods);
    let (api, log) = scripted(vec![ok(&pods[0]), ok(&pods[0]), ok(&pods[1]), ok(&pods[1])]);
    let report = execute(&api, &ctx, &plan).await;
    assert!(report.stopped.is_none());
    assert_eq!(
        outline(&report.outcomes),
        ["a:Resized", "b:Resized", "c:ConcurrencyLimit"]
    );
    assert_eq!(
        seen(&log),
        [
            resize_call("a"),
            annotate_call("a"),
            resize_call("b"),
            annotate_call("b")
        ]
    );
}

#[tokio::test]
async fn a_422_records_the_servers_message_and_writes_no_annotation() {
    let pods = [app("a"), app("b")];
    let ctx = auto_ctx(2);
    let plan = ctx.plan(&pods);
    let message = "Pod \"a\" is invalid: spec: Invalid value: \"Burstable\": Pod QOS Class may \
                   not change as a result of resizing";
    let (api, log) = scripted(vec![
        failure(422, "Invalid", message),
        ok(&pods[1]),
        ok(&pods[1]),
    ]);
    let report = execute(&api, &ctx, &plan).await;
    assert_eq!(outline(&report.outcomes), ["a:Rejected", "b:Resized"]);
    let Outcome::Skipped { skip, .. } = &report.outcomes[0] else {
        unreachable!()
    };
    assert_eq!(skip.detail, message);
    assert_eq!(
        seen(&log),
        [resize_call("a"), resize_call("b"), annotate_call("b")]
    );
}

#[tokio::test]
async fn a_409_is_retried_once_after_reading_the_pod_again() {
    let pods = [app("a")];
    let ctx = auto_ctx(1);
    let plan = ctx.plan(&pods);
    let (api, log) = scripted(vec![
        failure(409, "Conflict", "the object has been modified"),
        ok(&pods[0]),
        ok(&pods[0]),
        ok(&pods[0]),
    ]);
    let report = execute(&api, &ctx, &plan).await;
    assert_eq!(outline(&report.outcomes), ["a:Resized"]);
    assert_eq!(
        seen(&log),
        [
            resize_call("a"),
            get_call("a"),
            resize_call("a"),
            annotate_call("a")
        ]
    );
}

#[tokio::test]
async fn after_a_409_the_fresh_pod_is_judged_again() {
    let pods = [app("a")];
    let ctx = auto_ctx(1);
    let plan = ctx.plan(&pods);
    let now_busy = condition(app("a"), "PodResizeInProgress", None);
    let (api, log) = scripted(vec![failure(409, "Conflict", "modified"), ok(&now_busy)]);
    let report = execute(&api, &ctx, &plan).await;
    assert_eq!(outline(&report.outcomes), ["a:ResizeInProgress"]);
    assert_eq!(seen(&log), [resize_call("a"), get_call("a")]);
}

#[tokio::test]
async fn a_second_409_fails_the_pod_without_annotating() {
    let pods = [app("a")];
    let ctx = auto_ctx(1);
    let plan = ctx.plan(&pods);
    let (api, log) = scripted(vec![
        failure(409, "Conflict", "first"),
        ok(&pods[0]),
        failure(409, "Conflict", "second"),
    ]);
    let report = execute(&api, &ctx, &plan).await;
    assert_eq!(outline(&report.outcomes), ["a:Failed"]);
    let Outcome::Failed { error, .. } = &report.outcomes[0] else {
        unreachable!()
    };
    assert!(matches!(error, ResizeError::Conflict { .. }), "{error}");
    assert_eq!(
        seen(&log),
        [resize_call("a"), get_call("a"), resize_call("a")]
    );
}

#[tokio::test]
async fn a_403_on_resize_stops_the_run_naming_the_permission() {
    let pods = [app("a"), app("b")];
    let ctx = auto_ctx(2);
    let plan = ctx.plan(&pods);
    let (api, log) = scripted(vec![failure(
        403,
        "Forbidden",
        "pods \"a\" is forbidden: User \"system:serviceaccount:attune:attune\" cannot patch \
         resource \"pods/resize\" in API group \"\" in the namespace \"ns\"",
    )]);
    let report = execute(&api, &ctx, &plan).await;
    let stopped = report.stopped.expect("the run stops");
    assert!(matches!(stopped, ResizeError::ResizeForbidden { .. }));
    let message = stopped.to_string();
    assert!(
        message.contains("`patch` verb on the `pods/resize` subresource"),
        "{message}"
    );
    assert!(report.outcomes.is_empty());
    assert_eq!(seen(&log), [resize_call("a")], "b is not tried");
}

#[tokio::test]
async fn annotation_failures_keep_the_resize() {
    let pods = [app("a"), app("b")];
    let ctx = auto_ctx(2);
    let plan = ctx.plan(&pods);
    let (api, log) = scripted(vec![
        ok(&pods[0]),
        failure(500, "InternalError", "etcd is tired"),
        ok(&pods[1]),
        failure(403, "Forbidden", "cannot patch resource \"pods\""),
    ]);
    let report = execute(&api, &ctx, &plan).await;
    assert_eq!(outline(&report.outcomes), ["a:ResizedNotAnnotated"]);
    let stopped = report.stopped.expect("a 403 stops the run");
    assert!(matches!(stopped, ResizeError::AnnotateForbidden { .. }));
    assert!(
        stopped.to_string().contains("pod b was resized"),
        "{stopped}"
    );
    assert_eq!(
        seen(&log),
        [
            resize_call("a"),
            annotate_call("a"),
            resize_call("b"),
            annotate_call("b")
        ]
    );
}

#[tokio::test]
async fn a_vanished_pod_is_gone_and_other_errors_fail_only_that_pod() {
    let pods = [app("a"), app("b"), app("c")];
    let ctx = auto_ctx(3);
    let plan = ctx.plan(&pods);
    let (api, log) = scripted(vec![
        failure(404, "NotFound", "pods \"a\" not found"),
        failure(500, "InternalError", "boom"),
        ok(&pods[2]),
        ok(&pods[2]),
    ]);
    let report = execute(&api, &ctx, &plan).await;
    assert_eq!(
        outline(&report.outcomes),
        ["a:Gone", "b:Failed", "c:Resized"]
    );
    assert_eq!(
        seen(&log),
        [
            resize_call("a"),
            resize_call("b"),
            resize_call("c"),
            annotate_call("c")
        ]
    );
}

#[tokio::test]
async fn an_observe_plan_makes_no_call() {
    let pods = [app("a")];
    let settings = settings(json!({ "type": "Observe" }), json!({}), json!({}));
    let ctx = ctx(settings, &rec(&[("app", Some("200m"), None)]), 35);
    let plan = ctx.plan(&pods);
    let (api, log) = scripted(vec![]);
    let report = execute(&api, &ctx, &plan).await;
    assert_eq!(outline(&report.outcomes), ["a:ObserveOnly"]);
    assert_eq!(seen(&log), Vec::<Seen>::new());
    assert!(matches!(
        report.outcomes[0],
        Outcome::Skipped { ref skip, .. } if skip.reason == SkipReason::ObserveOnly
    ));
}

#[tokio::test]
async fn a_refused_read_after_a_409_fails_only_that_pod() {
    let pods = [app("a"), app("b")];
    let ctx = auto_ctx(2);
    let plan = ctx.plan(&pods);
    let (api, log) = scripted(vec![
        failure(409, "Conflict", "modified"),
        failure(403, "Forbidden", "cannot get resource \"pods\""),
        ok(&pods[1]),
        ok(&pods[1]),
    ]);
    let report = execute(&api, &ctx, &plan).await;
    assert!(report.stopped.is_none());
    assert_eq!(outline(&report.outcomes), ["a:Failed", "b:Resized"]);
    let Outcome::Failed { error, .. } = &report.outcomes[0] else {
        unreachable!()
    };
    assert!(matches!(error, ResizeError::Reread { .. }), "{error}");
    assert_eq!(
        seen(&log),
        [
            resize_call("a"),
            get_call("a"),
            resize_call("b"),
            annotate_call("b")
        ]
    );
}
