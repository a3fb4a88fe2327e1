//! The compact pod cache: what it keeps of a pod (exactly the trimmed pod the resize decision
//! reads, nothing more), and how watch events fill it.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher::Event;
use serde_json::json;

use crate::controller::pods::{CachedPod, pod_store};

/// A pod as the apiserver serves it, with much that the cache must drop.
fn full_pod() -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": "web-7d9f-abcde", "generateName": "web-7d9f-", "namespace": "shop",
            "uid": "u-1", "resourceVersion": "42", "creationTimestamp": "2026-11-01T10:00:00Z",
            "labels": {"app": "web", "pod-template-hash": "7d9f", "tier": "front"},
            "annotations": {
                "kubectl.kubernetes.io/restartedAt": "2026-11-01T09:59:00Z",
                "attune.io/original-resources": "{\"app\":{\"cpu\":\"200m\"}}",
                "attune.io/last-resize": "2026-11-02T00:00:00Z"
            },
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f", "uid": "rs-1",
                 "controller": true, "blockOwnerDeletion": true}
            ],
            "finalizers": ["example.com/keep"],
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update",
                               "apiVersion": "v1", "fieldsType": "FieldsV1",
                               "fieldsV1": {"f:metadata": {}}}]
        },
        "spec": {
            "nodeName": "node-1",
            "serviceAccountName": "web",
            "volumes": [{"name": "data", "emptyDir": {}}],
            "initContainers": [{"name": "init", "image": "busybox", "restartPolicy": "Always",
                                "resources": {"requests": {"cpu": "10m"}}}],
            "containers": [
                {"name": "app", "image": "shop/web:1.2", "args": ["--port", "8080"],
                 "env": [{"name": "MODE", "value": "prod"}],
                 "ports": [{"containerPort": 8080}],
                 "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
                 "resources": {"requests": {"cpu": "200m", "memory": "256Mi"},
                               "limits": {"memory": "512Mi"}},
                 "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}]},
                {"name": "sidecar", "image": "envoy"},
                {"name": "empty", "image": "x", "resources": {}}
            ]
        },
        "status": {
            "phase": "Running", "qosClass": "Burstable", "podIP": "10.0.0.7",
            "conditions": [{"type": "PodResizePending", "status": "True", "reason": "Deferred",
                            "message": "not enough cpu"}],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 2,
                                   "image": "shop/web:1.2", "imageID": "sha256:1",
                                   "started": true,
                                   "state": {"running": {"startedAt": "2026-11-02T00:01:00Z"}},
                                   "lastState": {"terminated": {
                                       "reason": "OOMKilled", "exitCode": 137,
                                       "startedAt": "2026-11-02T00:00:10Z",
                                       "finishedAt": "2026-11-02T00:00:50Z"}}}]
        }
    }))
    .unwrap()
}

#[test]
fn the_cache_keeps_exactly_the_trimmed_pod() {
    let expected: Pod = serde_json::from_value(json!({
        "metadata": {
            "name": "web-7d9f-abcde", "generateName": "web-7d9f-", "namespace": "shop",
            "uid": "u-1", "resourceVersion": "42", "creationTimestamp": "2026-11-01T10:00:00Z",
            "labels": {"app": "web", "pod-template-hash": "7d9f", "tier": "front"},
            "annotations": {
                "attune.io/original-resources": "{\"app\":{\"cpu\":\"200m\"}}",
                "attune.io/last-resize": "2026-11-02T00:00:00Z"
            },
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f", "uid": "rs-1",
                 "controller": true, "blockOwnerDeletion": true}
            ],
            "finalizers": ["example.com/keep"]
        },
        "spec": {
            "nodeName": "node-1",
            "initContainers": [{"name": "init", "restartPolicy": "Always",
                                "resources": {"requests": {"cpu": "10m"}}}],
            "containers": [
                {"name": "app",
                 "resources": {"requests": {"cpu": "200m", "memory": "256Mi"},
                               "limits": {"memory": "512Mi"}},
                 "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}]},
                {"name": "sidecar"},
                {"name": "empty", "resources": {}}
            ]
        },
        "status": {
            "phase": "Running", "qosClass": "Burstable",
            "conditions": [{"type": "PodResizePending", "status": "True", "reason": "Deferred",
                            "message": "not enough cpu"}],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 2,
                                   "image": "", "imageID": "",
                                   "lastState": {"terminated": {
                                       "reason": "OOMKilled", "exitCode": 137,
                                       "finishedAt": "2026-11-02T00:00:50Z"}}}]
        }
    }))
    .unwrap();
    let cached = CachedPod::of(&full_pod());
    assert_eq!(cached.to_pod(), expected);
    // What is kept survives a second trip unchanged.
    assert_eq!(CachedPod::of(&cached.to_pod()), cached);
}

#[test]
fn a_pod_without_spec_or_status_stays_without() {
    let bare: Pod =
        serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "n"}})).unwrap();
    assert_eq!(CachedPod::of(&bare).to_pod(), bare);
}

#[test]
fn labels_and_the_controller_owner_are_read_from_the_compact_form() {
    let cached = CachedPod::of(&full_pod());
    assert_eq!(cached.label("app"), Some("web"));
    assert_eq!(cached.label("tier"), Some("front"));
    assert_eq!(cached.label("missing"), None);
    assert_eq!(&*cached.controller_owner().unwrap().name, "web-7d9f");

    let mut orphan = full_pod();
    orphan.metadata.owner_references.as_mut().unwrap()[0].controller = None;
    orphan.metadata.labels = None;
    let cached = CachedPod::of(&orphan);
    assert!(cached.controller_owner().is_none());
    assert_eq!(cached.label("app"), None);
}

fn pod(namespace: &str, name: &str) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": name, "namespace": namespace}})).unwrap()
}

fn names(pods: &[std::sync::Arc<CachedPod>]) -> Vec<&str> {
    pods.iter().map(|p| &*p.name).collect()
}

#[tokio::test]
async fn watch_events_fill_the_cache_by_namespace_and_a_relist_replaces_it() {
    let (reader, mut writer) = pod_store();
    writer.apply(&Event::Init);
    writer.apply(&Event::InitApply(pod("a", "p2")));
    writer.apply(&Event::InitApply(pod("a", "p1")));
    writer.apply(&Event::InitApply(pod("b", "q1")));
    // Not ready (nor visible) before the list is complete.
    assert!(reader.is_empty());
    let early = tokio::time::timeout(Duration::from_millis(50), reader.wait_until_ready()).await;
    assert!(early.is_err(), "ready before the first list was complete");
    writer.apply(&Event::InitDone);
    tokio::time::timeout(Duration::from_secs(1), reader.wait_until_ready())
        .await
        .unwrap();
    assert_eq!(names(&reader.in_namespace("a")), ["p1", "p2"]);
    assert_eq!(names(&reader.in_namespace("b")), ["q1"]);
    assert!(reader.in_namespace("c").is_empty());

    writer.apply(&Event::Apply(pod("c", "r1")));
    writer.apply(&Event::Delete(pod("a", "p2")));
    writer.apply(&Event::Delete(pod("b", "q1")));
    assert_eq!(names(&reader.in_namespace("a")), ["p1"]);
    assert!(reader.in_namespace("b").is_empty());
    assert_eq!(names(&reader.in_namespace("c")), ["r1"]);

    // A relist (after a watch expired): the old contents stay until it completes.
    writer.apply(&Event::Init);
    writer.apply(&Event::InitApply(pod("a", "p3")));
    assert_eq!(reader.len(), 2);
    writer.apply(&Event::InitDone);
    assert_eq!(names(&reader.in_namespace("a")), ["p3"]);
    assert_eq!(reader.len(), 1);
}

#[tokio::test]
async fn an_update_replaces_the_pod_it_names() {
    let (reader, mut writer) = pod_store();
    writer.apply(&Event::Init);
    writer.apply(&Event::InitDone);
    let mut p = pod("a", "p1");
    writer.apply(&Event::Apply(p.clone()));
    p.metadata.labels = Some([("app".to_owned(), "web".to_owned())].into());
    writer.apply(&Event::Apply(p));
    let pods = reader.in_namespace("a");
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0].label("app"), Some("web"));
}

#[tokio::test]
async fn a_cache_whose_writer_is_gone_counts_as_ready() {
    let (reader, writer) = pod_store();
    drop(writer);
    tokio::time::timeout(Duration::from_secs(1), reader.wait_until_ready())
        .await
        .unwrap();
}

#[tokio::test]
async fn pods_share_the_strings_they_repeat() {
    let (reader, mut writer) = pod_store();
    let labelled = |name: &str| {
        let mut p = pod("a", name);
        p.metadata.labels = Some([("app".to_owned(), "web".to_owned())].into());
        p
    };
    writer.apply(&Event::Init);
    writer.apply(&Event::InitApply(labelled("p1")));
    writer.apply(&Event::InitApply(labelled("p2")));
    writer.apply(&Event::InitDone);
    writer.apply(&Event::Apply(labelled("p3")));
    let pods = reader.in_namespace("a");
    assert_eq!(pods.len(), 3);
    for other in &pods[1..] {
        assert!(std::sync::Arc::ptr_eq(&pods[0].namespace, &other.namespace));
        assert!(std::ptr::eq(
            pods[0].label("app").unwrap(),
            other.label("app").unwrap()
        ));
    }
}
