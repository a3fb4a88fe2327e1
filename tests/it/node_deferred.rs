//! A resize the kubelet defers on the real node (tests/node, started by tests/run): while a
//! filler pod holds the node's CPU, the history says `Pending`/`deferred` — not `Success` —
//! and the workload is pending; once the filler is gone the kubelet applies the resize and the
//! history turns to `Success`. The test plays the recommender (writes `status.recommendations`).

use std::time::Instant;

use crate::support::cluster;
use crate::support::node::{self, NodeController, NodeWorkload};
use crate::support::node_scene::{Scene, policy, recommendation};
use attune::crd::{AttunePolicy, ResizeHistoryEntry};
use attune::quantity::semantically_equal;
use k8s_openapi::api::apps::v1::Deployment;
use serde_json::{Value, json};

const APP: &str = "web";

fn cpu_entries(p: &AttunePolicy) -> Vec<ResizeHistoryEntry> {
    p.status
        .as_ref()
        .map(|s| s.resize_history.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.resource.as_deref() == Some("cpu"))
        .collect()
}

fn pending_count(p: &AttunePolicy) -> Option<i32> {
    p.status.as_ref()?.workloads.as_ref()?.pending
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_resize_is_pending_until_the_kubelet_applies_it() {
    let scene = Scene::new("node-deferred").await;
    let (client, ns) = (&scene.client, &scene.ns);
    let small =
        json!({"requests": {"cpu": "100m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}});
    let web = NodeWorkload {
        name: APP,
        resources: small,
        resize_policy: Value::Null,
    };
    let pod = scene.run(&web).await;
    // 1500m allocatable: the filler's 1200m leaves no room for web at 500m.
    let filler = NodeWorkload {
        name: "filler",
        resources: json!({"requests": {"cpu": "1200m", "memory": "16Mi"},
                          "limits": {"memory": "32Mi"}}),
        resize_policy: Value::Null,
    };
    scene.run(&filler).await;
    let auto = policy(APP, json!({}), json!({}), json!({"type": "Auto"}));
    cluster::apply_policy(ns, &auto).await;
    let controller = NodeController::start(client).await;
    let wanted = recommendation(APP, json!({"cpuRequest": "500m"}));
    cluster::set_recommendations(ns, APP, &wanted).await;

    let name = node::name(&pod).to_owned();
    node::wait_for_pod(ns, &name, "PodResizePending Deferred", |p| {
        node::active_condition(p, "PodResizePending").is_some_and(|c| c["reason"] == "Deferred")
    })
    .await;
    let waiting = cluster::wait_for_policy(ns, APP, "a Pending entry", node::NODE_WAIT, |p| {
        cpu_entries(p)
            .iter()
            .any(|e| e.result.as_deref() == Some("Pending"))
    })
    .await;
    let entries = cpu_entries(&waiting);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].reason.as_deref(), Some("deferred"));
    assert_eq!(pending_count(&waiting), Some(1));

    // Room appears: the kubelet applies the resize, and the history says so.
    let freed = Instant::now();
    ns.api::<Deployment>()
        .delete("filler", &Default::default())
        .await
        .unwrap();
    node::wait_for_pod(ns, &name, "the kubelet applied 500m", |p| {
        let running =
            &node::json(p)["status"]["containerStatuses"][0]["resources"]["requests"]["cpu"];
        running
            .as_str()
            .is_some_and(|v| semantically_equal(v, "500m").unwrap_or(false))
            && node::resize_settled(p)
    })
    .await;
    let applied =
        cluster::wait_for_policy(ns, APP, "the entry turned Success", node::NODE_WAIT, |p| {
            cpu_entries(p)
                .iter()
                .all(|e| e.result.as_deref() == Some("Success"))
                && pending_count(p) == Some(0)
        })
        .await;
    eprintln!(
        "node_deferred: filler deleted to history Success in {:.1} s",
        freed.elapsed().as_secs_f64()
    );
    let entries = cpu_entries(&applied);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].reason, None);
    controller.stop().await;
}
