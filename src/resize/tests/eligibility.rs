//! Gates that come before any target: mode, lifecycle, the kubelet's conditions, opt-out,
//! staleness and the cooldown.

use chrono::{SecondsFormat, TimeDelta};
use serde_json::json;

use super::fixtures::*;
use crate::resize::annotations::{RESIZED_AT, SKIP};
use crate::resize::{Settings, SkipReason as R};

fn app(name: &str) -> k8s_openapi::api::core::v1::Pod {
    with(pod(name), "app", "cpu=100m/- mem=128Mi/-")
}

fn ago(minutes: i64) -> String {
    (now() - TimeDelta::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn mode(type_: &str, cooldown: Option<&str>) -> Settings {
    let mut strategy = json!({ "type": type_, "maxConcurrentResizes": 50 });
    if let Some(cooldown) = cooldown {
        strategy["cooldown"] = json!(cooldown);
    }
    settings(strategy, json!({}), json!({}))
}

fn resizes() -> Want {
    patch("app", json!({ "requests": { "cpu": "200m" } }))
}

#[test]
fn each_gate() {
    let cases: Vec<(&str, Settings, k8s_openapi::api::core::v1::Pod, Want)> = vec![
        (
            "observe never resizes",
            mode("Observe", None),
            app("p"),
            Want::Skip(R::ObserveOnly),
        ),
        (
            "recommend never resizes",
            mode("Recommend", None),
            app("p"),
            Want::Skip(R::ObserveOnly),
        ),
        (
            "no type means Recommend",
            settings(json!({}), json!({}), json!({})),
            app("p"),
            Want::Skip(R::ObserveOnly),
        ),
        (
            "auto resizes a running pod",
            mode("Auto", None),
            app("p"),
            resizes(),
        ),
        (
            "deleting",
            mode("Auto", None),
            deleting(app("p")),
            Want::Skip(R::Deleting),
        ),
        (
            "opted out",
            mode("Auto", None),
            annotate(app("p"), SKIP, "true"),
            Want::Skip(R::OptedOut),
        ),
        (
            "skip=false is no opt-out",
            mode("Auto", None),
            annotate(app("p"), SKIP, "false"),
            resizes(),
        ),
        (
            "pending pod",
            mode("Auto", None),
            phase(app("p"), "Pending"),
            Want::Skip(R::NotRunning),
        ),
        (
            "succeeded pod",
            mode("Auto", None),
            phase(app("p"), "Succeeded"),
            Want::Skip(R::NotRunning),
        ),
        (
            "resize in progress",
            mode("Auto", None),
            condition(app("p"), "PodResizeInProgress", None),
            Want::Skip(R::ResizeInProgress),
        ),
        (
            "deferred",
            mode("Auto", None),
            condition(app("p"), "PodResizePending", Some("Deferred")),
            Want::Skip(R::Deferred),
        ),
        (
            "infeasible",
            mode("Auto", None),
            condition(app("p"), "PodResizePending", Some("Infeasible")),
            Want::Skip(R::Infeasible),
        ),
        (
            "in progress wins over pending",
            mode("Auto", None),
            condition(
                condition(app("p"), "PodResizePending", Some("Infeasible")),
                "PodResizeInProgress",
                None,
            ),
            Want::Skip(R::ResizeInProgress),
        ),
        (
            "resized 30 minutes ago, default cooldown 1h",
            mode("Auto", None),
            annotate(app("p"), RESIZED_AT, &ago(30)),
            Want::Skip(R::Cooldown),
        ),
        (
            "resized 61 minutes ago, default cooldown 1h",
            mode("Auto", None),
            annotate(app("p"), RESIZED_AT, &ago(61)),
            resizes(),
        ),
        (
            "cooldown 10m, resized 11 minutes ago",
            mode("Auto", Some("10m")),
            annotate(app("p"), RESIZED_AT, &ago(11)),
            resizes(),
        ),
        (
            "cooldown 10s is raised to the 1m floor",
            mode("Auto", Some("10s")),
            annotate(
                app("p"),
                RESIZED_AT,
                &(now() - TimeDelta::seconds(30)).to_rfc3339(),
            ),
            Want::Skip(R::Cooldown),
        ),
        (
            "unreadable resize time fails closed",
            mode("Auto", None),
            annotate(app("p"), RESIZED_AT, "yesterday"),
            Want::Skip(R::Cooldown),
        ),
        (
            "a resize time in the future is a cooldown",
            mode("Auto", None),
            annotate(app("p"), RESIZED_AT, &ago(-5)),
            Want::Skip(R::Cooldown),
        ),
    ];
    let recommendation = rec(&[("app", Some("200m"), None)]);
    for (name, settings, pod, want) in cases {
        let plan = ctx(settings, &recommendation, 35).plan(&[pod]);
        assert_eq!(got(&plan.pods[0].decision), want, "{name}");
    }
}

#[test]
fn the_running_rule_can_be_turned_off_for_clusters_without_a_kubelet() {
    let mut settings = mode("Auto", None);
    settings.eligibility.require_running = false;
    let plan =
        ctx(settings, &rec(&[("app", Some("200m"), None)]), 35).plan(&[phase(app("p"), "Pending")]);
    assert_eq!(got(&plan.pods[0].decision), resizes());
}

#[test]
fn a_stale_recommendation_resizes_nothing() {
    let mut recommendation = rec(&[("app", Some("200m"), None)]);
    recommendation.stale = Some(true);
    let plan = ctx(mode("Auto", None), &recommendation, 35).plan(&[app("p")]);
    assert_eq!(
        got(&plan.pods[0].decision),
        Want::Skip(R::StaleRecommendation)
    );
}

#[test]
fn skips_carry_a_human_detail() {
    let pod = condition(app("p"), "PodResizePending", Some("Infeasible"));
    let plan = ctx(mode("Auto", None), &rec(&[("app", Some("200m"), None)]), 35).plan(&[pod]);
    let crate::resize::Decision::Skip(skip) = &plan.pods[0].decision else {
        panic!("expected a skip");
    };
    assert_eq!(skip.detail, "kubelet says Infeasible");
}
