//! A canary on the real node (tests/node, started by tests/run): of two pods, the canary share
//! (50 %) is resized first and watched for `canary.observationPeriod`; while it is watched the
//! other pod keeps its size; once the canary's resize passed (`attune.io/verified-resize`) and
//! `autoPromote` is set, the controller resizes the other pod too (`CanaryPromoted`). The test
//! plays the recommender (writes `status.recommendations`).

use std::time::{Duration, Instant};

use crate::support::cluster;
use crate::support::node::{self, NodeController, NodeWorkload};
use crate::support::node_scene::{Scene, policy, recommendation};
use attune::quantity::semantically_equal;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

const APP: &str = "canary";
/// The canary's observation period, in seconds.
const OBSERVED: u64 = 20;

fn cpu_request(pod: &Pod) -> String {
    node::json(pod)["spec"]["containers"][0]["resources"]["requests"]["cpu"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn at(pod: &Pod, want: &str) -> bool {
    semantically_equal(&cpu_request(pod), want).unwrap_or(false)
}

fn annotation(pod: &Pod, key: &str) -> Option<String> {
    pod.metadata.annotations.as_ref()?.get(key).cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_is_observed_then_promoted_to_the_other_pods() {
    let scene = Scene::new("node-canary").await;
    let (client, ns) = (&scene.client, &scene.ns);
    let workload = NodeWorkload {
        name: APP,
        // Little CPU: other node tests share the node's 1500m (node_deferred's filler holds 1200m).
        resources: json!({"requests": {"cpu": "10m", "memory": "16Mi"},
                          "limits": {"memory": "32Mi"}}),
        resize_policy: Value::Null,
    };
    let pods = scene.run_replicas(&workload, 2).await;
    let names: Vec<String> = pods.iter().map(|p| node::name(p).to_owned()).collect();

    let strategy = json!({
        "type": "Canary",
        "safetyObservationPeriod": "10s",
        "canary": {"percentage": 50, "observationPeriod": format!("{OBSERVED}s"),
                   "autoPromote": true},
    });
    let created = cluster::apply_policy(ns, &policy(APP, json!({}), json!({}), strategy)).await;
    let controller = NodeController::start(client).await;
    let wanted = recommendation(APP, json!({"cpuRequest": "20m"}));
    cluster::set_recommendations(ns, APP, &wanted).await;

    // The canary: the first pod by name, resized by the kubelet.
    let canary = node::wait_for_pod(ns, &names[0], "the canary at 20m", |p| {
        at(p, "20m") && node::resize_settled(p)
    })
    .await;
    let resized_at = Instant::now();
    let stamp = annotation(&canary, "attune.io/resized-at").expect("the resize is annotated");

    // Watched: the other pod keeps 10m for the whole observation period.
    let pods_api = ns.api::<Pod>();
    while resized_at.elapsed() < Duration::from_secs(OBSERVED - 5) {
        let other = pods_api.get(&names[1]).await.unwrap();
        assert!(
            at(&other, "10m"),
            "{} resized during the canary's observation: {}",
            names[1],
            cpu_request(&other)
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // Verified, then promoted: the other pod follows.
    node::wait_for_pod(ns, &names[0], "the canary's resize verified", |p| {
        annotation(p, "attune.io/verified-resize").as_deref() == Some(stamp.as_str())
    })
    .await;
    let other = node::wait_for_pod(ns, &names[1], "promoted to 20m", |p| {
        at(p, "20m") && node::resize_settled(p)
    })
    .await;
    eprintln!(
        "node_canary: canary resized to the other pod resized in {:.1} s (observation {OBSERVED} s)",
        resized_at.elapsed().as_secs_f64()
    );
    // The controller's own stamps (whole seconds, one clock) say when each resize was made;
    // the test's clock only sees them after a poll, which may be late for the canary.
    let promoted_at =
        annotation(&other, "attune.io/resized-at").expect("the promotion is annotated");
    let waited = seconds(&promoted_at) - seconds(&stamp);
    assert!(
        waited >= i64::try_from(OBSERVED).unwrap(),
        "promoted {waited} s after the canary's resize ({stamp} -> {promoted_at}), before the \
         {OBSERVED} s observation ended"
    );
    cluster::wait_for_event(
        ns,
        created.metadata.uid.as_deref().unwrap(),
        "CanaryPromoted",
    )
    .await;
    let canary = pods_api.get(&names[0]).await.unwrap();
    assert!(at(&canary, "20m"), "the canary keeps its size");
    assert_eq!(controller.resizes("reverted"), 0);
    controller.stop().await;
}

/// An RFC 3339 stamp as Unix seconds.
fn seconds(stamp: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(stamp)
        .unwrap_or_else(|e| panic!("{stamp:?} is not an RFC 3339 time: {e}"))
        .timestamp()
}
