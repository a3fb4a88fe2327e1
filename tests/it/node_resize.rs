//! In-place resizes on the real node (tests/node, started by tests/run): the controller runs as
//! in a cluster, without `--resize-pending-pods`, on a running busybox pod; the kubelet's side
//! is what is checked — `status.containerStatuses[].resources`, the resize conditions, restarts
//! and the container's cgroup files — and what the policy's status and events make of it.
//! The test plays the recommender (writes `status.recommendations`).

use std::time::{Duration, Instant};

use crate::support::cluster::{self, TestNamespace};
use crate::support::node::{self, Node, NodeController, NodeWorkload};
use attune::crd::{AttunePolicy, WorkloadRecommendation};
use attune::quantity::semantically_equal;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
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

/// A namespace with the workload's pod running on the node.
struct Scene {
    node: Node,
    client: Client,
    ns: TestNamespace,
    pod: Pod,
}

async fn scene(prefix: &str, workload: &NodeWorkload<'_>) -> Scene {
    let node = Node::from_env();
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, prefix).await;
    let pod = node::create_running(&ns, &node, workload).await;
    Scene {
        node,
        client,
        ns,
        pod,
    }
}

/// `cpu.cfs_quota_us`, `cpu.shares` and `memory.limit_in_bytes` of the pod's container.
fn cgroup(node: &Node, pod: &Pod) -> [i64; 3] {
    [
        node::cgroup_value(node, pod, "cpu", "cpu.cfs_quota_us"),
        node::cgroup_value(node, pod, "cpu", "cpu.shares"),
        node::cgroup_value(node, pod, "memory", "memory.limit_in_bytes"),
    ]
}

fn quantity_is(value: Option<&str>, want: &str) -> bool {
    value.is_some_and(|v| semantically_equal(v, want).unwrap_or(false))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_resize_is_applied_by_the_kubelet_without_a_restart() {
    let workload = NodeWorkload {
        name: APP,
        resources: json!({
            "requests": {"cpu": "100m", "memory": "32Mi"},
            "limits": {"cpu": "200m", "memory": "64Mi"},
        }),
        resize_policy: Value::Null,
    };
    let Scene {
        node,
        client,
        ns,
        pod,
    } = scene("node-auto", &workload).await;
    assert_eq!(cgroup(&node, &pod), [20_000, 102, 64 * MI]);
    let before_id = node::container_id(&pod);

    let limits = json!({"controlledValues": "RequestsAndLimits"});
    cluster::apply_policy(&ns, &policy(limits.clone(), limits)).await;
    let controller = NodeController::start(&client).await;
    let asked = Instant::now();
    let wanted = json!({"cpuRequest": "150m", "memoryRequest": "48Mi"});
    cluster::set_recommendations(&ns, APP, &recommendation(wanted)).await;

    // The kubelet reports the new size (limits kept in ratio: 300m, 96Mi) with nothing in
    // progress or pending, for the same container, not restarted.
    let target = json!({"requests": {"cpu": "150m", "memory": "48Mi"},
                        "limits": {"cpu": "300m", "memory": "96Mi"}});
    let name = node::name(&pod).to_owned();
    let resized = node::wait_for_pod(&ns, &name, "the kubelet applied the resize", |p| {
        let spec = &node::json(p)["spec"]["containers"][0]["resources"];
        node::same_resources(spec, &target) && node::resize_settled(p)
    })
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
            &json!({"requests": target["requests"]})
        ),
        "{allocated}"
    );
    // The very same container's cgroup follows.
    assert_eq!(cgroup(&node, &resized), [30_000, 153, 96 * MI]);

    let reported = cluster::wait_for_policy(&ns, APP, "history entries", node::NODE_WAIT, |p| {
        !history(p, "cpu").is_empty() && !history(p, "memory").is_empty()
    })
    .await;
    for (resource, from, to) in [("cpu", "100m", "150m"), ("memory", "32Mi", "48Mi")] {
        let entries = history(&reported, resource);
        assert_eq!(entries.len(), 1, "{resource}: {entries:?}");
        let [f, t, result, reason] = &entries[0];
        assert!(
            quantity_is(f.as_deref(), from) && quantity_is(t.as_deref(), to),
            "{entries:?}"
        );
        assert_eq!(
            (result.as_deref(), reason.as_deref()),
            (Some("Success"), None)
        );
    }
    cluster::wait_for_event(&ns, reported.metadata.uid.as_deref().unwrap(), "Resized").await;
    // Nothing blocked, and the workload counts as resized (from the pods' annotations, so one
    // reconcile after the resize).
    cluster::wait_for_policy(&ns, APP, "resized, nothing blocked", node::NODE_WAIT, |p| {
        let workloads = p.status.as_ref().and_then(|s| s.workloads.as_ref());
        cluster::condition(p, "ResizeBlocked").and_then(|c| c.reason.as_deref())
            == Some("NotBlocked")
            && workloads.is_some_and(|w| w.resized == Some(1))
    })
    .await;
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_beyond_the_nodes_allocatable_is_reported_infeasible() {
    // No cpu limit, so a request of 4 cores is a valid spec; the node has 1500m allocatable.
    let workload = NodeWorkload {
        name: APP,
        resources: json!({"requests": {"cpu": "100m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}),
        resize_policy: Value::Null,
    };
    let Scene {
        node,
        client,
        ns,
        pod,
    } = scene("node-infeasible", &workload).await;
    let before = cgroup(&node, &pod);
    assert_eq!(before[1], 102);
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
    assert!(quantity_is(running.as_str(), "100m"), "{running}");
    assert_eq!(cgroup(&node, &refused), before);
    assert_eq!(restarts(&refused), 0);

    assert_reported_infeasible(&ns, created.metadata.uid.as_deref().unwrap(), &name).await;
    // Counted right after the status write that the test has just read.
    cluster::eventually(
        "infeasible counted once",
        Duration::from_secs(5),
        || async {
            match controller.resizes("infeasible") {
                1 => Ok(()),
                n => Err(format!("attune_resizes_total{{result=\"infeasible\"}} {n}")),
            }
        },
    )
    .await;
    controller.stop().await;
}

/// The policy says what the kubelet decided: blocked, an Infeasible event naming the pod, and
/// a history entry that does not claim the resize succeeded.
async fn assert_reported_infeasible(ns: &TestNamespace, uid: &str, pod: &str) {
    let blocked =
        cluster::wait_for_condition(ns, APP, "ResizeBlocked", "PodsInfeasible", node::NODE_WAIT)
            .await;
    let message = cluster::condition(&blocked, "ResizeBlocked")
        .unwrap()
        .message
        .clone();
    assert!(
        message.as_deref().unwrap_or_default().contains(pod),
        "{message:?}"
    );
    let workloads = blocked.status.as_ref().and_then(|s| s.workloads.clone());
    assert_eq!(workloads.and_then(|w| w.infeasible), Some(1));
    let event = cluster::wait_for_event(ns, uid, "ResizeInfeasible").await;
    assert!(
        event.message.as_deref().unwrap_or_default().contains(pod),
        "{event:?}"
    );
    let reported = cluster::wait_for_policy(ns, APP, "a Failed cpu entry", node::NODE_WAIT, |p| {
        history(p, "cpu")
            .iter()
            .any(|[_, _, result, _]| result.as_deref() == Some("Failed"))
    })
    .await;
    let entries = history(&reported, "cpu");
    assert_eq!(entries.len(), 1, "{entries:?}");
    let [_, to, result, reason] = &entries[0];
    assert_eq!(to.as_deref(), Some("4"));
    assert_eq!(
        (result.as_deref(), reason.as_deref()),
        (Some("Failed"), Some("infeasible"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_container_resize_policy_restarts_the_container() {
    let workload = NodeWorkload {
        name: APP,
        resources: json!({"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}),
        resize_policy: json!([
            {"resourceName": "cpu", "restartPolicy": "NotRequired"},
            {"resourceName": "memory", "restartPolicy": "RestartContainer"},
        ]),
    };
    let Scene {
        node,
        client,
        ns,
        pod,
    } = scene("node-restart", &workload).await;
    let before_id = node::container_id(&pod);
    assert_eq!(restarts(&pod), 0);
    let memory = json!({"controlledValues": "RequestsAndLimits"});
    cluster::apply_policy(&ns, &policy(json!({}), memory)).await;
    let controller = NodeController::start(&client).await;
    cluster::set_recommendations(&ns, APP, &recommendation(json!({"memoryRequest": "48Mi"}))).await;

    let target =
        json!({"requests": {"cpu": "50m", "memory": "48Mi"}, "limits": {"memory": "96Mi"}});
    let name = node::name(&pod).to_owned();
    let restarted = node::wait_for_pod(&ns, &name, "restarted at 48Mi/96Mi", |p| {
        let status = &node::json(p)["status"]["containerStatuses"][0];
        restarts(p) == 1
            && status["state"]["running"].is_object()
            && node::resize_settled(p)
            && node::same_resources(&status["resources"], &target)
    })
    .await;
    // A new container, in a new cgroup with the new limit.
    assert_ne!(node::container_id(&restarted), before_id);
    assert_eq!(cgroup(&node, &restarted)[2], 96 * MI);
    controller.stop().await;
}
