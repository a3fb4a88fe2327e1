//! Builders for the scenario tests: a policy, a Deployment with its pods in the caches, and a
//! `Context` whose client is the scripted server.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::watcher;
use serde_json::{Value, json};

use crate::controller::cache::Caches;
use crate::controller::pods::{PodWriter, pod_store};
use crate::controller::{Config, Context};
use crate::crd::AttunePolicy;
use crate::metrics::Metrics;

pub fn policy(strategy: Value, recommendations: Value) -> Value {
    json!({
        "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
        "metadata": {"name": "web-policy", "namespace": "ns", "uid": "u1", "generation": 3},
        "spec": {
            "targetRef": {"kind": "Deployment", "name": "web"},
            "metricsSource": {"prometheus": {"address": "http://prometheus:9090"}},
            "cpu": {}, "memory": {},
            "updateStrategy": strategy,
        },
        "status": {"recommendations": recommendations},
    })
}

/// The recommender's entry for `web`: container `app` at `cpu`.
pub fn recommend(cpu: &str) -> Value {
    json!([{"workload": "web", "kind": "Deployment",
            "containers": [{"name": "app", "recommended": {"cpuRequest": cpu}}]}])
}

pub fn typed(policy: &Value) -> AttunePolicy {
    serde_json::from_value(policy.clone()).unwrap()
}

pub fn deployment() -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}},
    }))
    .unwrap()
}

/// A Running pod of `web` (owned through ReplicaSet `web-5d8f`) with container `app`.
pub fn pod(name: &str, cpu: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": "ns",
            "labels": {"app": "web", "pod-template-hash": "5d8f"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8f",
                                 "uid": "rs1", "controller": true}],
        },
        "spec": {"containers": [{"name": "app", "image": "example",
                                 "resources": {"requests": {"cpu": cpu, "memory": "128Mi"}}}]},
        "status": {"phase": "Running"},
    }))
    .unwrap()
}

/// The kubelet's verdict on an earlier resize, as a pod condition.
pub fn pending(mut pod: Pod, reason: &str) -> Pod {
    let status = pod.status.get_or_insert_with(Default::default);
    status.conditions.get_or_insert_with(Vec::new).push(
        serde_json::from_value(json!({
            "type": "PodResizePending", "status": "True", "reason": reason,
            "message": format!("Node didn't have enough capacity ({reason})"),
        }))
        .unwrap(),
    );
    pod
}

fn fill<K>(writer: &mut Writer<K>, objects: Vec<K>)
where
    K: kube::Resource + Clone,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    // As a watch's first list does: the store is ready once it is complete.
    writer.apply_watcher_event(&watcher::Event::Init);
    for o in objects {
        writer.apply_watcher_event(&watcher::Event::InitApply(o));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
}

pub fn context(client: kube::Client, deployments: Vec<Deployment>, pods: Vec<Pod>) -> Arc<Context> {
    let (pod_store, mut pw) = pod_store();
    let (d_store, mut dw) = reflector::store::<Deployment>();
    let (s_store, mut sw) = reflector::store::<StatefulSet>();
    let (ds_store, mut dsw) = reflector::store::<DaemonSet>();
    // As a watch's first list does: the cache is ready once it is complete.
    pw.apply(&watcher::Event::Init);
    for p in pods {
        pw.apply(&watcher::Event::InitApply(p));
    }
    pw.apply(&watcher::Event::InitDone);
    fill(&mut dw, deployments);
    fill(&mut sw, Vec::new());
    fill(&mut dsw, Vec::new());
    let caches = Caches {
        pods: pod_store,
        deployments: d_store,
        statefulsets: s_store,
        daemonsets: ds_store,
    };
    Arc::new(Context::new(
        client,
        Config::default(),
        Arc::new(Metrics::new()),
        35,
        caches,
    ))
}

/// A context whose pod watch has not delivered its first list yet (its writer is returned
/// so it stays alive, as a running watch's would).
pub fn unsynced(client: kube::Client) -> (Arc<Context>, PodWriter) {
    let (pod_store, pw) = pod_store();
    let (d_store, mut dw) = reflector::store::<Deployment>();
    let (s_store, mut sw) = reflector::store::<StatefulSet>();
    let (ds_store, mut dsw) = reflector::store::<DaemonSet>();
    fill(&mut dw, vec![deployment()]);
    fill(&mut sw, Vec::new());
    fill(&mut dsw, Vec::new());
    let caches = Caches {
        pods: pod_store,
        deployments: d_store,
        statefulsets: s_store,
        daemonsets: ds_store,
    };
    let ctx = Context::new(
        client,
        Config::default(),
        Arc::new(Metrics::new()),
        35,
        caches,
    );
    (Arc::new(ctx), pw)
}
