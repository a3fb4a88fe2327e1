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
        c.explanation.as_ref().unwrap().value()[CLAMPED],
        json!(["app cpu request 150m -> 200m: spec.cpu.minAllowed is 200m"])
    );
}

/// The winner's deletion hands the workload to the loser in the pass that sees it: a policy
/// being deleted is no contender, and its rivals are the ones to wake.
#[test]
fn a_deleted_winner_hands_its_workloads_to_the_loser_at_once() {
    let by_name = json!({"kind": "Deployment", "name": "web"});
    let elsewhere = json!({"kind": "Deployment", "name": "api"});
    let old = "2026-01-01T00:00:00Z";
    let me = named("me", None, old, by_name.clone());
    let mut winner = named("big", Some(500), old, by_name.clone());

    let mut workloads = vec![web()];
    let all = vec![Arc::new(me.clone()), Arc::new(winner.clone())];
    let lost = settle_among(&me, &all, &mut workloads);
    assert_eq!(lost.status, "True", "{lost:?}");
    assert!(workloads.is_empty());

    // Being deleted (a finalizer may keep it in the cache a while): it owns nothing.
    winner.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
        ));
    let mut workloads = vec![web()];
    let all = vec![Arc::new(me.clone()), Arc::new(winner.clone())];
    let kept = settle_among(&me, &all, &mut workloads);
    assert_eq!(kept.status, "False", "{kept:?}");
    assert_eq!(workloads.len(), 1);

    // Its departure wakes the policies that target one of its workloads, and only those.
    let unrelated = named("other", None, old, elsewhere);
    let all = vec![
        Arc::new(me.clone()),
        Arc::new(winner.clone()),
        Arc::new(unrelated),
    ];
    let candidates = vec![
        crate::controller::targets::Candidate {
            kind: TargetKind::Deployment,
            namespace: "ns".into(),
            name: "web".into(),
            labels: Default::default(),
            annotations: Default::default(),
            selector: None,
            object: serde_json::Value::Null,
        },
        crate::controller::targets::Candidate {
            kind: TargetKind::Deployment,
            namespace: "ns".into(),
            name: "api".into(),
            labels: Default::default(),
            annotations: Default::default(),
            selector: None,
            object: serde_json::Value::Null,
        },
    ];
    let woken: Vec<String> = rivals(&all, &candidates, &winner)
        .iter()
        .map(|p| p.name_any())
        .collect();
    assert_eq!(woken, ["me"]);
    // A policy whose workloads nobody else targets wakes nobody.
    let lone = named(
        "lone",
        None,
        old,
        json!({"kind": "Deployment", "name": "db"}),
    );
    assert!(rivals(&all, &candidates, &lone).is_empty());
}
