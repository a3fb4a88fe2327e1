use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::controller::tests::fixtures::{deployment, pod, policy, typed};
use crate::crd::AttunePolicy;

fn named(
    name: &str,
    weight: Option<i32>,
    created: &str,
    target: serde_json::Value,
) -> AttunePolicy {
    let mut p = policy(json!({"type": "Auto"}), json!([]));
    p["metadata"]["name"] = name.into();
    p["metadata"]["uid"] = format!("uid-{name}").into();
    p["metadata"]["creationTimestamp"] = created.into();
    p["spec"]["targetRef"] = target;
    if let Some(w) = weight {
        p["spec"]["weight"] = w.into();
    }
    typed(&p)
}

fn web() -> LiveWorkload {
    let d = deployment();
    LiveWorkload {
        identity: crate::locate::Workload {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "ns".into(),
            name: "web".into(),
            labels: d.metadata.labels.clone().unwrap_or_default(),
            annotations: Default::default(),
        },
        object: serde_json::Value::Null,
        pods: vec![pod("web-5d8f-a", "100m")],
        recommendation: None,
    }
}

#[test]
fn only_the_owner_keeps_the_workload_table() {
    let by_name = json!({"kind": "Deployment", "name": "web"});
    let by_label = json!({"kind": "Deployment", "selector": {"matchLabels": {"app": "web"}}});
    let elsewhere = json!({"kind": "Deployment", "name": "api"});
    let old = "2026-01-01T00:00:00Z";
    let new = "2026-06-01T00:00:00Z";
    // (me, the others, does me keep web, the message)
    let cases = [
        (named("me", None, new, by_name.clone()), vec![], true, None),
        (
            named("me", None, new, by_name.clone()),
            vec![named("big", Some(200), new, by_label.clone())],
            false,
            Some(
                "Deployment ns/web is owned by policy big (weight 200 > 100); this policy \
                  neither resizes nor proposes them",
            ),
        ),
        (
            named("me", Some(300), new, by_name.clone()),
            vec![named("big", Some(200), old, by_label.clone())],
            true,
            None,
        ),
        (
            named("me", None, new, by_name.clone()),
            vec![named("elder", None, old, by_name.clone())],
            false,
            Some(
                "Deployment ns/web is owned by policy elder (same weight 100, older policy); \
                  this policy neither resizes nor proposes them",
            ),
        ),
        // A policy that targets another workload is no contender.
        (
            named("me", None, new, by_name.clone()),
            vec![named("other", Some(900), old, elsewhere)],
            true,
            None,
        ),
    ];
    for (me, others, keeps, message) in cases {
        let mut all: Vec<Arc<AttunePolicy>> = others.into_iter().map(Arc::new).collect();
        // The cache holds the policy itself too; it must not contend with itself.
        all.push(Arc::new(me.clone()));
        let mut workloads = vec![web()];
        let c = settle_among(&me, &all, &mut workloads);
        assert_eq!(workloads.len() == 1, keeps, "{:?}", me.metadata.name);
        assert_eq!(c.status, if keeps { "False" } else { "True" });
        assert_eq!(c.message.as_deref(), message);
    }
}

#[test]
fn schedule_condition_table() {
    let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap().to_utc();
    let spec = |schedule: serde_json::Value| {
        let mut p = policy(json!({"type": "Auto", "schedule": schedule}), json!([]));
        if schedule.is_null() {
            p["spec"]["updateStrategy"] = json!({"type": "Auto"});
        }
        typed(&p).spec
    };
    let window = json!({"windows": [{"start": "01:00", "end": "05:00"}]});
    let cases = [
        (
            spec(serde_json::Value::Null),
            "2026-12-07T12:00:00Z",
            "False",
            "NoSchedule",
        ),
        (
            spec(window.clone()),
            "2026-12-07T02:00:00Z",
            "False",
            "InsideWindow",
        ),
        (
            spec(window),
            "2026-12-07T12:00:00Z",
            "True",
            "OutsideWindow",
        ),
        (
            spec(json!({"timezone": "Nowhere/Atlantis"})),
            "2026-12-07T12:00:00Z",
            "Unknown",
            "InvalidConfig",
        ),
    ];
    for (s, now, status, reason) in cases {
        let c = schedule(&s, at(now));
        assert_eq!(
            (c.status.as_str(), c.reason.as_deref()),
            (status, Some(reason)),
            "{now}"
        );
    }
}

#[test]
fn git_gets_the_clamped_value_and_the_reason() {
    let mut p = policy(json!({"type": "Recommend"}), json!([]));
    p["spec"]["cpu"] = json!({"minAllowed": "200m"});
    let p = typed(&p);
    let recommendation: WorkloadRecommendation = serde_json::from_value(json!({
        "workload": "web", "kind": "Deployment",
        "containers": [{"name": "app", "recommended": {"cpuRequest": "150m"}}],
    }))
    .unwrap();
    let out = for_git(&p, &web(), recommendation);
    let c = &out.containers[0];
    assert_eq!(c.recommended.cpu_request.as_deref(), Some("200m"));
    assert_eq!(
        c.explanation.as_ref().unwrap()[CLAMPED],
        json!(["app cpu request 150m -> 200m: spec.cpu.minAllowed is 200m"])
    );
}
