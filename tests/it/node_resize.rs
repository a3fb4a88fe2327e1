//! In-place resizes on the real node (tests/node, started by tests/run): the controller runs as
//! in a cluster, without `--resize-pending-pods`, on a running busybox pod; the kubelet's side
//! is what is checked — `status.containerStatuses[].resources`, the resize conditions, restarts
//! and the container's cgroup files — and what the policy's status and events make of it.
//! The test plays the recommender (writes `status.recommendations`).

use std::time::Instant;

use crate::support::cluster::{self, TestNamespace};
use crate::support::node::{self, Node, NodeController, NodeWorkload};
use attune::crd::{AttunePolicy, WorkloadRecommendation};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

const APP: &str = "web";
const MI: i64 = 1024 * 1024;

fn policy(cpu: Value, memory: Value) -> AttunePolicy {
    serde_json::from_value(json!({
        "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
        "metadata": {"name": APP},
        "spec": {
            "targetRef": {"kind": "Deployment", "name": APP},
            "metricsSource": {"prometheus": {"address": "http://prometheus.invalid:9090"}},
            "cpu": cpu, "memory": memory,
            "updateStrategy": {"type": "Auto", "maxConcurrentResizes": 5},
        },
    }))
    .unwrap()
}

fn recommendation(recommended: Value) -> Vec<WorkloadRecommendation> {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    vec![
        serde_json::from_value(json!({
            "workload": APP, "kind": "Deployment", "lastDataTime": now, "stale": false,
            "containers": [{"name": "app", "recommended": recommended,
                            "confidence": 0.95, "dataPoints": 500, "lastUpdated": now}],
        }))
        .unwrap(),
    ]
}

fn restarts(pod: &Pod) -> i64 {
    node::json(pod)["status"]["containerStatuses"][0]["restartCount"]
        .as_i64()
        .unwrap()
}

/// The history entries the policy shows for `resource`, as (from, to, result, reason).
fn history(policy: &AttunePolicy, resource: &str) -> Vec<[Option<String>; 4]> {
    policy
        .status
        .as_ref()
        .map(|s| s.resize_history.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|e| e.resource.as_deref() == Some(resource))
        .map(|e| {
            [
                e.from.clone(),
                e.to.clone(),
                e.result.clone(),
                e.reason.clone(),
            ]
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_resize_is_applied_by_the_kubelet_without_a_restart() {
    let node = Node::from_env();
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "node-auto").await;
    let workload = NodeWorkload {
        name: APP,
        resources: json!({
            "requests": {"cpu": "100m", "memory": "32Mi"},
            "limits": {"cpu": "200m", "memory": "64Mi"},
        }),
        resize_policy: Value::Null,
    };
    let pod = node::create_running(&ns, &node, &workload).await;
    assert_eq!(
        node::cgroup_value(&node, &pod, "cpu", "cpu.cfs_quota_us"),
        20_000
    );
    assert_eq!(node::cgroup_value(&node, &pod, "cpu", "cpu.shares"), 102);
    assert_eq!(
        node::cgroup_value(&node, &pod, "memory", "memory.limit_in_bytes"),
        64 * MI
    );
    let before_id = node::container_id(&pod);

    let limits = json!({"controlledValues": "RequestsAndLimits"});
    cluster::apply_policy(&ns, &policy(limits.clone(), limits)).await;
    let controller = NodeController::start(&client).await;
    let asked = Instant::now();
    cluster::set_recommendations(
        &ns,
        APP,
        &recommendation(json!({"cpuRequest": "150m", "memoryRequest": "48Mi"})),
    )
    .await;

    // The kubelet reports the new size (limits kept in ratio: 300m, 96Mi), nothing pending,
    // the same container, not restarted.
    let name = node::name(&pod).to_owned();
    let resized = node::wait_for_pod(
        &ns,
        &name,
        "the kubelet applied 150m/300m, 48Mi/96Mi",
        |p| {
            let spec = &node::json(p)["spec"]["containers"][0]["resources"];
            node::same_resources(
                spec,
                &json!({"requests": {"cpu": "150m", "memory": "48Mi"},
                    "limits": {"cpu": "300m", "memory": "96Mi"}}),
            ) && node::resize_settled(p)
        },
    )
    .await;
    eprintln!(
        "node_resize: recommendation to resize applied by the kubelet in {:.1} s",
        asked.elapsed().as_secs_f64()
    );
    assert_eq!(restarts(&resized), 0);
    assert_eq!(node::container_id(&resized), before_id);
    let allocated = &node::json(&resized)["status"]["containerStatuses"][0]["allocatedResources"];
    assert!(
        node::same_resources(
            &json!({"requests": allocated}),
            &json!({"requests": {"cpu": "150m", "memory": "48Mi"}})
        ),
        "{allocated}"
    );
    // The cgroup of the very same container follows.
    assert_eq!(
        node::cgroup_value(&node, &resized, "cpu", "cpu.cfs_quota_us"),
        30_000
    );
    assert_eq!(
        node::cgroup_value(&node, &resized, "cpu", "cpu.shares"),
        153
    );
    assert_eq!(
        node::cgroup_value(&node, &resized, "memory", "memory.limit_in_bytes"),
        96 * MI
    );

    let reported = cluster::wait_for_policy(
        &ns,
        APP,
        "a Success entry per resource",
        node::NODE_WAIT,
        |p| !history(p, "cpu").is_empty() && !history(p, "memory").is_empty(),
    )
    .await;
    for (resource, from, to) in [("cpu", "100m", "150m"), ("memory", "32Mi", "48Mi")] {
        let entries = history(&reported, resource);
        assert_eq!(entries.len(), 1, "{resource}: {entries:?}");
        let [f, t, result, reason] = &entries[0];
        assert!(attune::quantity::semantically_equal(f.as_deref().unwrap(), from).unwrap());
        assert!(attune::quantity::semantically_equal(t.as_deref().unwrap(), to).unwrap());
        assert_eq!(
            (result.as_deref(), reason.as_deref()),
            (Some("Success"), None)
        );
    }
    let uid = reported.metadata.uid.clone().unwrap();
    cluster::wait_for_event(&ns, &uid, "Resized").await;
    // Once applied, nothing is pending and nothing is blocked.
    let settled = cluster::wait_for_policy(&ns, APP, "no pod blocked", node::NODE_WAIT, |p| {
        cluster::condition(p, "ResizeBlocked").and_then(|c| c.reason.as_deref())
            == Some("NotBlocked")
    })
    .await;
    assert_eq!(settled.status.unwrap().workloads.unwrap().resized, Some(1));
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_beyond_the_nodes_allocatable_is_reported_infeasible() {
    let node = Node::from_env();
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "node-infeasible").await;
    // No cpu limit, so a request of 4 cores is a valid spec; the node has 1500m allocatable.
    let workload = NodeWorkload {
        name: APP,
        resources: json!({"requests": {"cpu": "100m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}),
        resize_policy: Value::Null,
    };
    let pod = node::create_running(&ns, &node, &workload).await;
    let shares = node::cgroup_value(&node, &pod, "cpu", "cpu.shares");
    assert_eq!(shares, 102);
    let created = cluster::apply_policy(&ns, &policy(json!({}), json!({}))).await;
    let controller = NodeController::start(&client).await;
    cluster::set_recommendations(&ns, APP, &recommendation(json!({"cpuRequest": "4"}))).await;

    // The API server takes the patch; the kubelet refuses to actuate it.
    let name = node::name(&pod).to_owned();
    let refused = node::wait_for_pod(&ns, &name, "PodResizePending Infeasible", |p| {
        node::active_condition(p, "PodResizePending").is_some_and(|c| c["reason"] == "Infeasible")
    })
    .await;
    let j = node::json(&refused);
    assert_eq!(
        j["spec"]["containers"][0]["resources"]["requests"]["cpu"],
        "4"
    );
    let running = &j["status"]["containerStatuses"][0]["resources"]["requests"]["cpu"];
    assert!(
        attune::quantity::semantically_equal(running.as_str().unwrap(), "100m").unwrap(),
        "{running}"
    );
    assert_eq!(
        node::cgroup_value(&node, &refused, "cpu", "cpu.shares"),
        shares
    );
    assert_eq!(restarts(&refused), 0);

    // The policy says so: blocked, an Infeasible event naming the pod, and a history entry
    // that does not claim the resize succeeded.
    let blocked =
        cluster::wait_for_condition(&ns, APP, "ResizeBlocked", "PodsInfeasible", node::NODE_WAIT)
            .await;
    let message = cluster::condition(&blocked, "ResizeBlocked")
        .unwrap()
        .message
        .clone();
    assert!(
        message.as_deref().unwrap_or_default().contains(&name),
        "{message:?}"
    );
    assert_eq!(
        blocked
            .status
            .as_ref()
            .unwrap()
            .workloads
            .as_ref()
            .unwrap()
            .infeasible,
        Some(1)
    );
    let uid = created.metadata.uid.unwrap();
    let event = cluster::wait_for_event(&ns, &uid, "ResizeInfeasible").await;
    assert!(
        event.message.as_deref().unwrap_or_default().contains(&name),
        "{event:?}"
    );
    let reported = cluster::wait_for_policy(
        &ns,
        APP,
        "the cpu resize recorded as infeasible",
        node::NODE_WAIT,
        |p| {
            history(p, "cpu")
                .iter()
                .any(|[_, _, result, _]| result.as_deref() == Some("Failed"))
        },
    )
    .await;
    let entries = history(&reported, "cpu");
    assert_eq!(entries.len(), 1, "{entries:?}");
    let [_, to, result, reason] = &entries[0];
    assert_eq!(to.as_deref(), Some("4"));
    assert_eq!(
        (result.as_deref(), reason.as_deref()),
        (Some("Failed"), Some("infeasible"))
    );
    assert_eq!(controller.resizes("infeasible"), 1);
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_container_resize_policy_restarts_the_container() {
    let node = Node::from_env();
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "node-restart").await;
    let workload = NodeWorkload {
        name: APP,
        resources: json!({"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}),
        resize_policy: json!([
            {"resourceName": "cpu", "restartPolicy": "NotRequired"},
            {"resourceName": "memory", "restartPolicy": "RestartContainer"},
        ]),
    };
    let pod = node::create_running(&ns, &node, &workload).await;
    let before_id = node::container_id(&pod);
    assert_eq!(restarts(&pod), 0);
    let memory = json!({"controlledValues": "RequestsAndLimits"});
    cluster::apply_policy(&ns, &policy(json!({}), memory)).await;
    let controller = NodeController::start(&client).await;
    cluster::set_recommendations(&ns, APP, &recommendation(json!({"memoryRequest": "48Mi"}))).await;

    let name = node::name(&pod).to_owned();
    let restarted = node::wait_for_pod(&ns, &name, "restarted with 48Mi/96Mi", |p| {
        let status = &node::json(p)["status"]["containerStatuses"][0];
        restarts(p) == 1 && status["state"]["running"].is_object() && node::resize_settled(p)
            && node::same_resources(
                &status["resources"],
                &json!({"requests": {"cpu": "50m", "memory": "48Mi"}, "limits": {"memory": "96Mi"}}),
            )
    })
    .await;
    // A new container, in a new cgroup with the new limit.
    assert_ne!(node::container_id(&restarted), before_id);
    assert_eq!(
        node::cgroup_value(&node, &restarted, "memory", "memory.limit_in_bytes"),
        96 * MI
    );
    controller.stop().await;
}
