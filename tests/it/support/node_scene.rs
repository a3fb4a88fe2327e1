//! The set-up every node test repeats, built once: a namespace with the CRDs installed and
//! busybox Deployments running on the node ([`Scene`]), the AttunePolicy a node test applies
//! ([`policy`]) and the recommendation it plays the recommender with ([`recommendation`]).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{ListParams, PostParams};
use serde_json::{Value, json};

use super::cluster::{self, TestNamespace, eventually};
use super::node::{self, NODE_WAIT, Node, NodeWorkload};
use attune::crd::{AttunePolicy, WorkloadRecommendation};

/// The node, a client and a fresh namespace (CRDs installed).
pub struct Scene {
    pub node: Node,
    pub client: Client,
    pub ns: TestNamespace,
}

impl Scene {
    pub async fn new(prefix: &str) -> Scene {
        let node = Node::from_env();
        let client = cluster::client().await;
        cluster::install_crds(&client).await;
        let ns = TestNamespace::new(&client, prefix).await;
        Scene { node, client, ns }
    }

    /// Runs `workload` (one replica) and returns its pod once `app` has started.
    pub async fn run(&self, workload: &NodeWorkload<'_>) -> Pod {
        node::create_running(&self.ns, &self.node, workload).await
    }

    /// Runs `replicas` pods of `workload`; returns them, by name, once each `app` has started.
    pub async fn run_replicas(&self, workload: &NodeWorkload<'_>, replicas: u32) -> Vec<Pod> {
        let mut manifest = workload.manifest(&self.node, &self.ns.name);
        manifest["spec"]["replicas"] = replicas.into();
        let deployment: Deployment = serde_json::from_value(manifest).unwrap();
        self.ns
            .api::<Deployment>()
            .create(&PostParams::default(), &deployment)
            .await
            .unwrap_or_else(|e| panic!("create deployment {}: {e}", workload.name));
        let pods = self.ns.api::<Pod>();
        let lp = ListParams::default().labels(&format!("app={}", workload.name));
        let want = usize::try_from(replicas).unwrap();
        eventually(
            &format!("{replicas} pods of {} running", workload.name),
            NODE_WAIT,
            || async {
                let mut list = pods.list(&lp).await.map_err(|e| e.to_string())?.items;
                let running = list
                    .iter()
                    .filter(|p| {
                        node::json(p)["status"]["containerStatuses"][0]["state"]["running"]
                            .is_object()
                    })
                    .count();
                if list.len() == want && running == want {
                    list.sort_by(|a, b| node::name(a).cmp(node::name(b)));
                    Ok(list)
                } else {
                    Err(format!("{} pods, {running} running", list.len()))
                }
            },
        )
        .await
    }
}

/// An AttunePolicy on Deployment `name` (its Prometheus is never asked unless `strategy` needs
/// it), with `cpu`, `memory` and `updateStrategy` as given.
pub fn policy(name: &str, cpu: Value, memory: Value, strategy: Value) -> AttunePolicy {
    serde_json::from_value(json!({
        "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
        "metadata": {"name": name},
        "spec": {
            "targetRef": {"kind": "Deployment", "name": name},
            "metricsSource": {"prometheus": {"address": "http://prometheus.invalid:9090"}},
            "cpu": cpu, "memory": memory,
            "updateStrategy": strategy,
        },
    }))
    .unwrap()
}

/// A fresh, confident recommendation of `recommended` for container `app` of `name`.
pub fn recommendation(name: &str, recommended: Value) -> Vec<WorkloadRecommendation> {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    vec![
        serde_json::from_value(json!({
            "workload": name, "kind": "Deployment", "lastDataTime": now, "stale": false,
            "containers": [{"name": "app", "recommended": recommended,
                            "confidence": 0.95, "dataPoints": 500, "lastUpdated": now}],
        }))
        .unwrap(),
    ]
}
