//! The reconcile with the built-in recommender (scripted apiserver): the controller's status
//! apply leaves `Ready` to the recommender, a recommendation marked stale is not resized (the
//! skip is told once, with its reason), and a fresh one is resized as before.

use std::sync::Arc;

use serde_json::{Value, json};

use super::fixtures::*;
use super::server::{Log, client};
use crate::controller::Context;
use crate::controller::recommender::Mode;
use crate::controller::reconcile::reconcile;

const STATUS: &str =
    "PATCH /apis/attune.io/v1alpha1/namespaces/ns/attunepolicies/web-policy/status";

fn lines(log: &Log) -> Vec<String> {
    log.lock().unwrap().iter().map(|s| s.line()).collect()
}

fn status_body(log: &Log) -> Value {
    let seen = log.lock().unwrap().clone();
    let call = seen
        .iter()
        .find(|s| s.line() == STATUS)
        .expect("a status write");
    assert!(
        call.path.contains("fieldManager=attune-controller"),
        "{}",
        call.path
    );
    call.body.clone().unwrap()["status"].clone()
}

fn condition_types(status: &Value) -> Vec<&str> {
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect()
}

fn builtin(mut ctx: Arc<Context>) -> Arc<Context> {
    Arc::get_mut(&mut ctx)
        .expect("a fresh context")
        .config
        .recommender
        .mode = Mode::Builtin;
    ctx
}

#[tokio::test]
async fn a_stale_recommendation_is_not_resized_and_ready_is_left_to_the_recommender() {
    let mut stale = recommend("150m");
    stale[0]["stale"] = json!(true);
    stale[0]["lastDataTime"] = json!("2026-01-04T00:00:00Z");
    let p = policy(json!({"type": "Auto"}), stale);
    let (c, log) = client(p.clone());
    let ctx = builtin(context(
        c,
        vec![deployment()],
        vec![pod("web-5d8f-a", "100m")],
    ));

    reconcile(Arc::new(typed(&p)), ctx).await.unwrap();

    assert!(
        lines(&log).iter().all(|l| !l.contains("/pods/")),
        "no pod is touched: {:?}",
        lines(&log)
    );
    let status = status_body(&log);
    assert_eq!(
        condition_types(&status),
        [
            "Resizing",
            "ResizeBlocked",
            "GitOpsPullRequest",
            "Superseded",
            "ScheduleBlocked"
        ]
    );
    let skipped: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.line().ends_with("/events"))
        .filter_map(|s| s.body.as_ref()?["note"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        skipped,
        ["pod web-5d8f-a: StaleRecommendation: recommendation is stale"]
    );
}

#[tokio::test]
async fn a_fresh_recommendation_is_resized_in_builtin_mode_too() {
    let mut fresh = recommend("150m");
    fresh[0]["stale"] = json!(false);
    let p = policy(json!({"type": "Auto"}), fresh);
    let (c, log) = client(p.clone());
    let ctx = builtin(context(
        c,
        vec![deployment()],
        vec![pod("web-5d8f-a", "100m")],
    ));

    reconcile(Arc::new(typed(&p)), ctx).await.unwrap();

    assert!(
        lines(&log).contains(&"PATCH /api/v1/namespaces/ns/pods/web-5d8f-a/resize".to_owned()),
        "{:?}",
        lines(&log)
    );
    assert!(!condition_types(&status_body(&log)).contains(&"Ready"));
}
