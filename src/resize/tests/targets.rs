//! Per-container targets: bounds, limits, QoS and the memory-limit rule, one pod per case.

use serde_json::json;

use super::fixtures::*;
use crate::resize::{Decision, Settings, SkipReason as R};

struct Case {
    name: &'static str,
    settings: Settings,
    minor: u32,
    /// `resources()` text of the single container `app`.
    app: &'static str,
    /// Recommended cpu and memory requests for `app`.
    cpu: Option<&'static str>,
    memory: Option<&'static str>,
    want: Want,
}

fn requests_and_limits() -> Settings {
    settings(
        json!({ "type": "Auto", "maxConcurrentResizes": 50 }),
        json!({ "controlledValues": "RequestsAndLimits" }),
        json!({ "controlledValues": "RequestsAndLimits" }),
    )
}

fn bounded() -> Settings {
    settings(
        json!({ "type": "Auto" }),
        json!({ "minAllowed": "50m", "maxAllowed": "2" }),
        json!({ "minAllowed": "64Mi", "maxAllowed": "1Gi" }),
    )
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "requests only: the request moves, the limit stays",
            settings: auto(),
            minor: 35,
            app: "cpu=100m/1 mem=128Mi/512Mi",
            cpu: Some("150m"),
            memory: Some("200Mi"),
            want: patch(
                "app",
                json!({ "requests": { "cpu": "150m", "memory": "200Mi" } }),
            ),
        },
        Case {
            name: "clamped up to minAllowed and down to maxAllowed",
            settings: bounded(),
            minor: 35,
            app: "cpu=100m/- mem=128Mi/-",
            cpu: Some("10m"),
            memory: Some("4Gi"),
            want: patch(
                "app",
                json!({ "requests": { "cpu": "50m", "memory": "1Gi" } }),
            ),
        },
        Case {
            name: "default bounds: cpu at most 4000m, memory at least 4Mi",
            settings: auto(),
            minor: 35,
            app: "cpu=1/- mem=128Mi/-",
            cpu: Some("6"),
            memory: Some("1Mi"),
            want: patch(
                "app",
                json!({ "requests": { "cpu": "4000m", "memory": "4Mi" } }),
            ),
        },
        Case {
            name: "requests only: the request is clamped to the limit, never above",
            settings: auto(),
            minor: 35,
            app: "cpu=100m/300m mem=128Mi/-",
            cpu: Some("500m"),
            memory: None,
            want: patch("app", json!({ "requests": { "cpu": "300m" } })),
        },
        Case {
            name: "requests and limits: the limit keeps its ratio to the request",
            settings: requests_and_limits(),
            minor: 35,
            app: "cpu=100m/200m mem=128Mi/256Mi",
            cpu: Some("300m"),
            memory: Some("96Mi"),
            want: patch(
                "app",
                json!({
                    "requests": { "cpu": "300m", "memory": "96Mi" },
                    "limits": { "cpu": "600m", "memory": "192Mi" },
                }),
            ),
        },
        Case {
            name: "requests and limits: no limit is added where there is none",
            settings: requests_and_limits(),
            minor: 35,
            app: "cpu=100m/- mem=128Mi/256Mi",
            cpu: Some("300m"),
            memory: None,
            want: patch("app", json!({ "requests": { "cpu": "300m" } })),
        },
        Case {
            name: "guaranteed, requests only: moving the request would change QoS",
            settings: auto(),
            minor: 35,
            app: "cpu=200m/200m mem=128Mi/128Mi",
            cpu: Some("300m"),
            memory: Some("100Mi"),
            want: Want::Skip(R::WouldChangeQoS),
        },
        Case {
            name: "guaranteed, requests and limits: both move together",
            settings: requests_and_limits(),
            minor: 35,
            app: "cpu=200m/200m mem=128Mi/128Mi",
            cpu: Some("300m"),
            memory: Some("192Mi"),
            want: patch(
                "app",
                json!({
                    "requests": { "cpu": "300m", "memory": "192Mi" },
                    "limits": { "cpu": "300m", "memory": "192Mi" },
                }),
            ),
        },
        Case {
            name: "besteffort is never given requests",
            settings: auto(),
            minor: 35,
            app: "",
            cpu: Some("100m"),
            memory: Some("128Mi"),
            want: Want::Skip(R::WouldChangeQoS),
        },
        Case {
            name: "burstable never becomes guaranteed by a request reaching its limit",
            settings: auto(),
            minor: 35,
            app: "cpu=100m/200m mem=128Mi/128Mi",
            cpu: Some("250m"),
            memory: None,
            want: Want::Skip(R::WouldChangeQoS),
        },
        Case {
            name: "1.34, requests and limits: a lower memory limit is held, the request still drops",
            settings: requests_and_limits(),
            minor: 34,
            app: "cpu=100m/- mem=256Mi/512Mi",
            cpu: None,
            memory: Some("128Mi"),
            want: patch("app", json!({ "requests": { "memory": "128Mi" } })),
        },
        Case {
            name: "1.35, requests and limits: the memory limit drops with the request",
            settings: requests_and_limits(),
            minor: 35,
            app: "cpu=100m/- mem=256Mi/512Mi",
            cpu: None,
            memory: Some("128Mi"),
            want: patch(
                "app",
                json!({ "requests": { "memory": "128Mi" }, "limits": { "memory": "256Mi" } }),
            ),
        },
        Case {
            name: "1.34, guaranteed memory cannot go down at all",
            settings: requests_and_limits(),
            minor: 34,
            app: "cpu=100m/100m mem=256Mi/256Mi",
            cpu: None,
            memory: Some("128Mi"),
            want: Want::Skip(R::MemoryLimitDecreaseUnsupported),
        },
        Case {
            name: "1.34, guaranteed memory can go up",
            settings: requests_and_limits(),
            minor: 34,
            app: "cpu=100m/100m mem=256Mi/256Mi",
            cpu: None,
            memory: Some("384Mi"),
            want: patch(
                "app",
                json!({ "requests": { "memory": "384Mi" }, "limits": { "memory": "384Mi" } }),
            ),
        },
        Case {
            name: "1.34, cpu limits may still go down",
            settings: requests_and_limits(),
            minor: 34,
            app: "cpu=1/2 mem=128Mi/-",
            cpu: Some("500m"),
            memory: None,
            want: patch(
                "app",
                json!({ "requests": { "cpu": "500m" }, "limits": { "cpu": "1" } }),
            ),
        },
        Case {
            name: "already at target, whatever the spelling",
            settings: auto(),
            minor: 35,
            app: "cpu=500m/- mem=1Gi/-",
            cpu: Some("0.5"),
            memory: Some("1024Mi"),
            want: Want::Skip(R::AlreadyAtTarget),
        },
        Case {
            name: "a container with no request gets one in a burstable pod",
            settings: auto(),
            minor: 35,
            app: "cpu=100m/-",
            cpu: None,
            memory: Some("64Mi"),
            want: patch("app", json!({ "requests": { "memory": "64Mi" } })),
        },
    ]
}

#[test]
fn each_target_rule() {
    for case in cases() {
        let pod = with(pod("p"), "app", case.app);
        let ctx = ctx(
            case.settings,
            &rec(&[("app", case.cpu, case.memory)]),
            case.minor,
        );
        let plan = ctx.plan(&[pod]);
        assert_eq!(got(&plan.pods[0].decision), case.want, "{}", case.name);
    }
}

#[test]
fn a_held_resource_does_not_block_the_others() {
    // cpu reaching its limit would make the pod Guaranteed (memory is already equal), so cpu
    // is held; memory going down keeps it Burstable and goes through.
    let pod = with(pod("p"), "app", "cpu=100m/200m mem=128Mi/128Mi");
    let plan = ctx(auto(), &rec(&[("app", Some("250m"), Some("100Mi"))]), 35).plan(&[pod]);
    let Decision::Resize(resize) = &plan.pods[0].decision else {
        panic!("expected a resize: {plan:?}");
    };
    assert_eq!(
        resize.patch,
        json!({ "spec": { "containers": [
            { "name": "app", "resources": { "requests": { "memory": "100Mi" } } }
        ] } })
    );
    assert_eq!(resize.held.len(), 1);
    assert_eq!(
        (resize.held[0].resource.as_str(), resize.held[0].reason),
        ("cpu", R::WouldChangeQoS)
    );
}

#[test]
fn several_containers_share_one_patch() {
    let pod = with(
        with(pod("p"), "app", "cpu=100m/- mem=128Mi/-"),
        "side",
        "cpu=50m/100m mem=64Mi/64Mi",
    );
    let recommendation = rec(&[("app", Some("200m"), None), ("side", Some("100m"), None)]);
    let plan = ctx(auto(), &recommendation, 35).plan(&[pod]);
    // `side` cpu reaching its limit keeps the pod Burstable: `app` has no limits.
    assert_eq!(
        got(&plan.pods[0].decision),
        Want::Patch(json!({ "spec": { "containers": [
            { "name": "app", "resources": { "requests": { "cpu": "200m" } } },
            { "name": "side", "resources": { "requests": { "cpu": "100m" } } },
        ] } }))
    );
}

#[test]
fn init_containers_count_for_qos_but_are_not_resized() {
    // Regular container guaranteed-like; the init container makes the pod Burstable, so
    // the regular container may move its request below its limit.
    let pod = with_init(
        with(pod("p"), "app", "cpu=200m/200m mem=128Mi/128Mi"),
        "init",
        "cpu=10m/-",
    );
    let plan = ctx(
        auto(),
        &rec(&[("app", Some("100m"), None), ("init", Some("1"), None)]),
        35,
    )
    .plan(&[pod]);
    assert_eq!(
        got(&plan.pods[0].decision),
        patch("app", json!({ "requests": { "cpu": "100m" } }))
    );
}

#[test]
fn partial_holds_are_reported_with_the_resize() {
    let pod = with(pod("p"), "app", "cpu=100m/- mem=256Mi/512Mi");
    let plan = ctx(
        requests_and_limits(),
        &rec(&[("app", Some("200m"), Some("128Mi"))]),
        33,
    )
    .plan(&[pod]);
    let Decision::Resize(resize) = &plan.pods[0].decision else {
        panic!("expected a resize: {plan:?}");
    };
    assert_eq!(resize.held.len(), 1);
    assert_eq!(resize.held[0].reason, R::MemoryLimitDecreaseUnsupported);
    assert_eq!(resize.changes.len(), 2, "cpu request and memory request");
}

#[test]
fn changes_say_which_resize_restarts_a_container() {
    let pod = restart_policy(
        with(pod("p"), "app", "cpu=100m/- mem=128Mi/-"),
        "app",
        "memory",
        "RestartContainer",
    );
    let plan = ctx(auto(), &rec(&[("app", Some("200m"), Some("256Mi"))]), 35).plan(&[pod]);
    let Decision::Resize(resize) = &plan.pods[0].decision else {
        panic!("expected a resize: {plan:?}");
    };
    let restarts: Vec<(&str, bool)> = resize
        .changes
        .iter()
        .map(|c| (c.resource.as_str(), c.restarts_container))
        .collect();
    assert_eq!(restarts, [("cpu", false), ("memory", true)]);
    assert_eq!(resize.changes[1].from.as_deref(), Some("128Mi"));
}

#[test]
fn pods_without_a_recommended_container_or_with_odd_resources_are_left() {
    let recommendation = rec(&[("other", Some("1"), None)]);
    let plan = ctx(auto(), &recommendation, 35).plan(&[with(pod("p"), "app", "cpu=1/-")]);
    assert_eq!(got(&plan.pods[0].decision), Want::Skip(R::NoRecommendation));

    let mut level = with(pod("p"), "app", "cpu=1/-");
    if let Some(spec) = level.spec.as_mut() {
        spec.resources = Some(resources("cpu=1/2"));
    }
    let bad = with(pod("q"), "app", "cpu=lots/-");
    let plan = ctx(auto(), &rec(&[("app", Some("2"), None)]), 35).plan(&[level, bad]);
    assert_eq!(got(&plan.pods[0].decision), Want::Skip(R::Unsupported));
    assert_eq!(got(&plan.pods[1].decision), Want::Skip(R::Unsupported));
}
