//! OneShot, Canary and Auto over several pods, and the concurrency limit.

use serde_json::json;

use super::fixtures::*;
use crate::resize::annotations::RESIZED_AT;
use crate::resize::{Plan, Settings};

fn app(name: &str) -> k8s_openapi::api::core::v1::Pod {
    with(pod(name), "app", "cpu=100m/- mem=128Mi/-")
}

fn strategy(value: serde_json::Value) -> Settings {
    settings(value, json!({}), json!({}))
}

/// `R` for resize, the reason otherwise, per pod in order.
fn outline(plan: &Plan) -> Vec<String> {
    plan.pods
        .iter()
        .map(|p| match &p.decision {
            crate::resize::Decision::Resize(_) => format!("{}:resize", p.pod),
            crate::resize::Decision::Skip(s) => format!("{}:{}", p.pod, s.reason),
        })
        .collect()
}

fn run(settings: Settings, pods: &[k8s_openapi::api::core::v1::Pod]) -> Vec<String> {
    outline(&ctx(settings, &rec(&[("app", Some("200m"), None)]), 35).plan(pods))
}

fn resized_long_ago(pod: k8s_openapi::api::core::v1::Pod) -> k8s_openapi::api::core::v1::Pod {
    annotate(pod, RESIZED_AT, "2025-01-01T00:00:00Z")
}

#[test]
fn oneshot_resizes_one_pod_chosen_by_name() {
    let pods = [app("c"), app("a"), app("b")];
    let got = run(
        strategy(json!({ "type": "OneShot", "maxConcurrentResizes": 5 })),
        &pods,
    );
    assert_eq!(got, ["c:OutOfCanary", "a:resize", "b:OutOfCanary"]);
}

#[test]
fn oneshot_keeps_to_the_pod_it_already_resized() {
    let pods = [app("a"), resized_long_ago(app("b"))];
    let got = run(
        strategy(json!({ "type": "OneShot", "maxConcurrentResizes": 5 })),
        &pods,
    );
    assert_eq!(got, ["a:OutOfCanary", "b:resize"]);
}

#[test]
fn canary_share_is_rounded_up_and_at_least_one() {
    let cases = [
        (10, 3, 1),
        (10, 10, 1),
        (10, 11, 2),
        (50, 3, 2),
        (0, 4, 1),
        (100, 4, 4),
        (25, 8, 2),
    ];
    for (percentage, pods, want) in cases {
        assert_eq!(
            crate::resize::select::canary_size(percentage, pods),
            want,
            "{percentage}% of {pods}"
        );
        let pods: Vec<_> = (0..pods).map(|i| app(&format!("p{i:02}"))).collect();
        let settings = strategy(json!({
            "type": "Canary", "canary": { "percentage": percentage }, "maxConcurrentResizes": 50,
        }));
        let resized = run(settings, &pods)
            .iter()
            .filter(|s| s.ends_with(":resize"))
            .count();
        assert_eq!(resized, want, "{percentage}% of {}", pods.len());
    }
}

#[test]
fn canary_default_is_ten_percent() {
    let pods: Vec<_> = (0..20).map(|i| app(&format!("p{i:02}"))).collect();
    let settings = strategy(json!({ "type": "Canary", "maxConcurrentResizes": 50 }));
    let resized = run(settings, &pods)
        .iter()
        .filter(|s| s.ends_with(":resize"))
        .count();
    assert_eq!(resized, 2);
}

#[test]
fn canary_members_count_against_the_share_and_keep_following() {
    // 50% of 4 = 2: b is a member already, so one new pod joins; d is deleting and not
    // counted.
    let pods = [
        app("a"),
        resized_long_ago(app("b")),
        app("c"),
        app("e"),
        deleting(app("d")),
    ];
    let settings = strategy(json!({
        "type": "Canary", "canary": { "percentage": 50 }, "maxConcurrentResizes": 50,
    }));
    assert_eq!(
        run(settings, &pods),
        [
            "a:resize",
            "b:resize",
            "c:OutOfCanary",
            "e:OutOfCanary",
            "d:Deleting"
        ]
    );
}

#[test]
fn auto_stops_at_max_concurrent_resizes() {
    let pods = [app("a"), app("b"), app("c")];
    let got = run(
        strategy(json!({ "type": "Auto", "maxConcurrentResizes": 2 })),
        &pods,
    );
    assert_eq!(got, ["a:resize", "b:resize", "c:ConcurrencyLimit"]);
}

#[test]
fn auto_default_concurrency_is_one() {
    let pods = [app("b"), app("a")];
    assert_eq!(
        run(strategy(json!({ "type": "Auto" })), &pods),
        ["b:ConcurrencyLimit", "a:resize"]
    );
}

#[test]
fn pods_already_resizing_count_against_concurrency() {
    let busy = condition(app("a"), "PodResizeInProgress", None);
    let pods = [busy, app("b"), app("c"), app("d")];
    let got = run(
        strategy(json!({ "type": "Auto", "maxConcurrentResizes": 2 })),
        &pods,
    );
    assert_eq!(
        got,
        [
            "a:ResizeInProgress",
            "b:resize",
            "c:ConcurrencyLimit",
            "d:ConcurrencyLimit"
        ]
    );
}

#[test]
fn skipped_pods_take_no_slot() {
    let pods = [phase(app("a"), "Pending"), app("b")];
    let got = run(strategy(json!({ "type": "Auto" })), &pods);
    assert_eq!(got, ["a:NotRunning", "b:resize"]);
}

#[test]
fn canary_is_also_bound_by_concurrency() {
    let pods: Vec<_> = (0..4).map(|i| app(&format!("p{i}"))).collect();
    let settings = strategy(json!({ "type": "Canary", "canary": { "percentage": 100 } }));
    assert_eq!(
        run(settings, &pods),
        [
            "p0:resize",
            "p1:ConcurrencyLimit",
            "p2:ConcurrencyLimit",
            "p3:ConcurrencyLimit"
        ]
    );
}
