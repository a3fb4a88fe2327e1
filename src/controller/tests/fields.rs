//! Reconcile scenarios for the policy fields: ownership between policies, the controller
//! annotation, the schedule, refused fields, exclusions and the per-cycle budget.

use std::sync::Arc;

use kube::runtime::reflector;
use kube::runtime::watcher;
use serde_json::{Value, json};

use super::fixtures::*;
use super::server::{Log, client};
use crate::controller::Context;
use crate::controller::reconcile::reconcile;
use crate::crd::AttunePolicy;

const STATUS: &str =
    "PATCH /apis/attune.io/v1alpha1/namespaces/ns/attunepolicies/web-policy/status";
const EVENTS: &str = "POST /apis/events.k8s.io/v1/namespaces/ns/events";

fn lines(log: &Log) -> Vec<String> {
    log.lock().unwrap().iter().map(|s| s.line()).collect()
}

fn resized_pods(log: &Log) -> Vec<String> {
    lines(log)
        .iter()
        .filter_map(|l| l.strip_suffix("/resize"))
        .map(|l| l.rsplit('/').next().unwrap().to_owned())
        .collect()
}

fn status(log: &Log) -> Value {
    let seen = log.lock().unwrap().clone();
    seen.iter()
        .find(|s| s.line() == STATUS)
        .and_then(|s| s.body.clone())
        .expect("a status write")
}

fn condition(status: &Value, type_: &str) -> Value {
    status["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .cloned()
        .unwrap_or_else(|| panic!("no {type_} in {status}"))
}

fn event_reasons(log: &Log) -> Vec<String> {
    let seen = log.lock().unwrap().clone();
    seen.iter()
        .filter(|s| s.line() == EVENTS)
        .map(|s| {
            s.body.as_ref().unwrap()["reason"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// The context with `others` in its policy cache.
fn with_policies(mut ctx: Arc<Context>, others: Vec<AttunePolicy>) -> Arc<Context> {
    let (store, mut writer) = reflector::store::<AttunePolicy>();
    writer.apply_watcher_event(&watcher::Event::Init);
    for p in others {
        writer.apply_watcher_event(&watcher::Event::InitApply(p));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    Arc::get_mut(&mut ctx).expect("a fresh context").policies = store;
    ctx
}

async fn run(p: &Value, pods: Vec<k8s_openapi::api::core::v1::Pod>, others: Vec<Value>) -> Log {
    let (c, log) = client(p.clone());
    let ctx = context(c, vec![deployment()], pods);
    let ctx = with_policies(ctx, others.iter().map(typed).collect());
    reconcile(Arc::new(typed(p)), ctx).await.unwrap();
    log
}

fn other(name: &str, weight: i32) -> Value {
    let mut o = policy(json!({"type": "Auto"}), recommend("150m"));
    o["metadata"]["name"] = name.into();
    o["metadata"]["uid"] = format!("uid-{name}").into();
    o["spec"]["weight"] = weight.into();
    o
}

#[tokio::test]
async fn only_the_higher_weight_policy_resizes_and_the_loser_names_it() {
    let me = policy(json!({"type": "Auto"}), recommend("150m"));
    let log = run(
        &me,
        vec![pod("web-5d8f-a", "100m")],
        vec![other("big", 500)],
    )
    .await;
    assert_eq!(
        resized_pods(&log),
        Vec::<String>::new(),
        "the loser resizes nothing"
    );
    let s = status(&log);
    let superseded = condition(&s, "Superseded");
    assert_eq!(superseded["status"], "True");
    assert_eq!(
        superseded["message"],
        "Deployment ns/web is owned by policy big (weight 500 > 100); this policy neither \
         resizes nor proposes them"
    );
    // It still sees the workload.
    assert_eq!(s["status"]["workloads"]["discovered"], 1);

    let mut heavy = policy(json!({"type": "Auto"}), recommend("150m"));
    heavy["spec"]["weight"] = 900.into();
    let log = run(
        &heavy,
        vec![pod("web-5d8f-a", "100m")],
        vec![other("big", 500)],
    )
    .await;
    assert_eq!(resized_pods(&log), ["web-5d8f-a"], "the owner resizes");
    assert_eq!(condition(&status(&log), "Superseded")["status"], "False");
}

#[tokio::test]
async fn a_policy_for_another_controller_is_left_alone_entirely() {
    let mut p = policy(json!({"type": "Auto"}), recommend("150m"));
    p["metadata"]["annotations"] = json!({"attune.io/controller": "attune-go"});
    let log = run(&p, vec![pod("web-5d8f-a", "100m")], vec![]).await;
    assert_eq!(
        lines(&log),
        Vec::<String>::new(),
        "no resize, no status, no event"
    );
}

#[tokio::test]
async fn an_invalid_timezone_is_invalid_config_and_nothing_is_resized() {
    let p = policy(
        json!({"type": "Auto", "schedule": {"timezone": "Europe/Atlantis"}}),
        recommend("150m"),
    );
    let log = run(&p, vec![pod("web-5d8f-a", "100m")], vec![]).await;
    assert_eq!(lines(&log), [STATUS]);
    let ready = condition(&status(&log), "Ready");
    assert_eq!(ready["reason"], "InvalidConfig");
    assert!(
        ready["message"].as_str().unwrap().starts_with(
            "spec.updateStrategy.schedule.timezone: \"Europe/Atlantis\" is not an IANA time zone"
        ),
        "{ready}"
    );
}

#[tokio::test]
async fn outside_the_schedule_nothing_is_resized_and_the_condition_says_so() {
    // Today and tomorrow (a run that crosses midnight stays on the same side).
    let now = chrono::Utc::now();
    let near: Vec<String> = [now, now + chrono::TimeDelta::days(1)]
        .iter()
        .map(|t| t.format("%A").to_string())
        .collect();
    let far: Vec<&str> = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
    .into_iter()
    .filter(|d| !near.iter().any(|n| n == d))
    .collect();
    let p = policy(
        json!({"type": "Auto", "schedule": {"daysOfWeek": far}}),
        recommend("150m"),
    );
    let log = run(&p, vec![pod("web-5d8f-a", "100m")], vec![]).await;
    assert_eq!(resized_pods(&log), Vec::<String>::new());
    let s = status(&log);
    let blocked = condition(&s, "ScheduleBlocked");
    assert_eq!(blocked["status"], "True");
    assert_eq!(blocked["reason"], "OutsideWindow");
    assert_eq!(s["status"]["workloads"]["pending"], 1);

    let p = policy(
        json!({"type": "Auto", "schedule": {"daysOfWeek": near}}),
        recommend("150m"),
    );
    let log = run(&p, vec![pod("web-5d8f-a", "100m")], vec![]).await;
    assert_eq!(resized_pods(&log), ["web-5d8f-a"]);
    assert_eq!(
        condition(&status(&log), "ScheduleBlocked")["reason"],
        "InsideWindow"
    );
}

#[tokio::test]
async fn a_refused_field_is_invalid_config_naming_it_and_nothing_acts() {
    let p = policy(
        json!({"type": "Auto", "resizeMethod": "InPlaceOrRecreate"}),
        recommend("150m"),
    );
    let log = run(&p, vec![pod("web-5d8f-a", "100m")], vec![]).await;
    assert_eq!(lines(&log), [STATUS]);
    let s = status(&log);
    let ready = condition(&s, "Ready");
    assert_eq!(ready["reason"], "InvalidConfig");
    assert!(
        ready["message"]
            .as_str()
            .unwrap()
            .starts_with("spec.updateStrategy.resizeMethod: InPlaceOrRecreate"),
        "{ready}"
    );
    assert_eq!(
        condition(&s, "GitOpsPullRequest")["reason"],
        "PullRequestDisabled"
    );
}

#[tokio::test]
async fn the_budget_stops_the_cycle_and_says_so() {
    let p = policy(
        json!({"type": "Auto", "maxConcurrentResizes": 5, "maxTotalCpuIncrease": "60m"}),
        recommend("150m"),
    );
    let log = run(
        &p,
        vec![pod("web-5d8f-a", "100m"), pod("web-5d8f-b", "100m")],
        vec![],
    )
    .await;
    assert_eq!(resized_pods(&log), ["web-5d8f-a"], "+50m fits 60m once");
    assert!(
        event_reasons(&log).contains(&"BudgetExhausted".to_owned()),
        "{:?}",
        event_reasons(&log)
    );
}

#[tokio::test]
async fn an_excluded_container_is_not_resized() {
    let mut p = policy(json!({"type": "Auto"}), recommend("150m"));
    p["spec"]["excludedContainers"] = json!(["app"]);
    let log = run(&p, vec![pod("web-5d8f-a", "100m")], vec![]).await;
    assert_eq!(resized_pods(&log), Vec::<String>::new());
}
