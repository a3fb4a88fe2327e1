//! Auto-revert on the real node (tests/node, started by tests/run): a memory decrease that the
//! workload then outgrows is OOM-killed by the kernel, and the controller puts the pod back to
//! its original size, records the revert and backs the cooldown off. The test plays the
//! recommender (writes `status.recommendations`).

use std::time::Instant;

use crate::support::cluster::{self, TestNamespace};
use crate::support::node::{self, Node, NodeController, NodeWorkload};
use crate::support::node_scene::{Scene, policy, recommendation};
use attune::quantity::semantically_equal;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

const APP: &str = "grow";
const MI: i64 = 1024 * 1024;
/// Seconds the container idles before it allocates: room for the controller to resize first.
const IDLE_SECONDS: u32 = 25;

/// A busybox container that idles, then fills a 40 MiB buffer once (dd reads /dev/zero into
/// it) and sleeps. Under its 128Mi limit that is fine; under 32Mi the kernel kills dd, the
/// shell exits and the container is OOMKilled.
fn manifest(node: &Node, ns: &TestNamespace) -> Value {
    let workload = NodeWorkload {
        name: APP,
        resources: json!({"requests": {"cpu": "50m", "memory": "64Mi"},
                          "limits": {"memory": "128Mi"}}),
        resize_policy: Value::Null,
    };
    let mut manifest = workload.manifest(node, &ns.name);
    manifest["spec"]["template"]["spec"]["containers"][0]["command"] = json!([
        "sh",
        "-c",
        format!(
            "sleep {IDLE_SECONDS}; dd if=/dev/zero of=/dev/null bs=40M count=1 && exec sleep 3600"
        ),
    ]);
    manifest
}

fn memory_limit(pod: &Pod) -> Option<String> {
    node::json(pod)["spec"]["containers"][0]["resources"]["limits"]["memory"]
        .as_str()
        .map(str::to_owned)
}

fn limit_is(pod: &Pod, want: &str) -> bool {
    memory_limit(pod).is_some_and(|v| semantically_equal(&v, want).unwrap_or(false))
}

fn annotation(pod: &Pod, key: &str) -> Option<String> {
    pod.metadata.annotations.as_ref()?.get(key).cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_decrease_that_ooms_the_workload_is_reverted_and_backed_off() {
    let scene = Scene::new("node-revert").await;
    let (node, client, ns) = (&scene.node, &scene.client, &scene.ns);
    let pod = node::create_running_from(ns, node, APP, manifest(node, ns)).await;
    let name = node::name(&pod).to_owned();
    let started = Instant::now();

    let memory = json!({"controlledValues": "RequestsAndLimits"});
    let auto = json!({"type": "Auto", "cooldown": "1h"});
    let created = cluster::apply_policy(ns, &policy(APP, json!({}), memory, auto)).await;
    let controller = NodeController::start(client).await;
    let wanted = recommendation(APP, json!({"memoryRequest": "16Mi"}));
    cluster::set_recommendations(ns, APP, &wanted).await;

    // Resized in place to 16Mi/32Mi while the container idles.
    let resized = node::wait_for_pod(ns, &name, "the kubelet applied 16Mi/32Mi", |p| {
        limit_is(p, "32Mi") && node::resize_settled(p)
    })
    .await;
    assert!(
        started.elapsed().as_secs() < u64::from(IDLE_SECONDS),
        "the resize came after the workload began to allocate: the test proves nothing"
    );
    assert_eq!(
        node::cgroup_value(node, &resized, "memory", "memory.limit_in_bytes"),
        32 * MI
    );

    // The kernel kills it; the controller puts 64Mi/128Mi back.
    let reverted = node::wait_for_pod(ns, &name, "reverted to 128Mi", |p| {
        limit_is(p, "128Mi") && annotation(p, "attune.io/revert-reason").is_some()
    })
    .await;
    let j = node::json(&reverted);
    let terminated = &j["status"]["containerStatuses"][0]["lastState"]["terminated"];
    assert_eq!(terminated["reason"], "OOMKilled", "{terminated}");
    let finished =
        chrono::DateTime::parse_from_rfc3339(terminated["finishedAt"].as_str().unwrap()).unwrap();
    let reverted_at = annotation(&reverted, "attune.io/reverted-at").unwrap();
    let reverted_at = chrono::DateTime::parse_from_rfc3339(&reverted_at).unwrap();
    eprintln!(
        "node_revert: OOM kill at {finished}, revert at {reverted_at} ({} s later)",
        (reverted_at - finished).num_seconds()
    );
    assert_eq!(
        annotation(&reverted, "attune.io/revert-reason").as_deref(),
        Some("oomkill")
    );

    // The policy says so, and backs the cooldown off.
    let reported = cluster::wait_for_policy(ns, APP, "a Reverted entry", node::NODE_WAIT, |p| {
        p.status.as_ref().is_some_and(|s| {
            s.resize_history
                .iter()
                .any(|e| e.result.as_deref() == Some("Reverted"))
        })
    })
    .await;
    let status = reported.status.as_ref().unwrap();
    let entry = status
        .resize_history
        .iter()
        .find(|e| e.result.as_deref() == Some("Reverted"))
        .unwrap();
    assert_eq!(entry.resource.as_deref(), Some("memory"));
    assert_eq!(entry.reason.as_deref(), Some("oomkill"));
    assert_eq!(entry.to.as_deref(), Some("64Mi"));
    let cooldown = status.cooldown.clone().unwrap();
    assert_eq!(cooldown.effective_cooldown.as_deref(), Some("2h0m0s"));
    assert_eq!(cooldown.backoff_multiplier, Some(2.0));
    assert_eq!(cooldown.consecutive_reverts, Some(1));
    cluster::wait_for_event(
        ns,
        created.metadata.uid.as_deref().unwrap(),
        "ResizeReverted",
    )
    .await;
    assert_eq!(controller.resizes("reverted"), 1);

    // The restarted container, at 128Mi again, allocates its 40 MiB and runs on; the
    // recommendation is not applied again during the backoff.
    let settled = node::wait_for_pod(ns, &name, "running again after the revert", |p| {
        let status = &node::json(p)["status"]["containerStatuses"][0];
        status["state"]["running"].is_object() && node::resize_settled(p)
    })
    .await;
    assert_eq!(
        node::cgroup_value(node, &settled, "memory", "memory.limit_in_bytes"),
        128 * MI
    );
    tokio::time::sleep(std::time::Duration::from_secs(u64::from(IDLE_SECONDS) + 5)).await;
    let later = ns.api::<Pod>().get(&name).await.unwrap();
    assert!(limit_is(&later, "128Mi"), "{:?}", memory_limit(&later));
    let restarts = node::json(&later)["status"]["containerStatuses"][0]["restartCount"].clone();
    assert_eq!(restarts, 1, "no second OOM kill at the original size");
    controller.stop().await;
}
