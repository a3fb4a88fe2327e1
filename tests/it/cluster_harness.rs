//! The real-apiserver harness (tests/it/support/cluster.rs) against the test control plane that
//! tests/run starts: what controller_e2e relies on, checked without a controller.

use std::time::Duration;

use crate::support::cluster::{self, DeploymentSpec, TestNamespace};
use attune::crd::{AttunePolicy, WorkloadRecommendation};
use k8s_openapi::api::core::v1::{Event, Namespace, Pod};
use k8s_openapi::api::events::v1::Event as NewEvent;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

fn deployment(name: &str) -> DeploymentSpec<'_> {
    DeploymentSpec {
        name,
        replicas: 2,
        labels: json!({}),
        annotations: json!({}),
        resources: json!({"requests": {"cpu": "100m", "memory": "64Mi"}}),
    }
}

fn policy() -> AttunePolicy {
    serde_json::from_value(json!({
        "apiVersion": "attune.io/v1alpha1",
        "kind": "AttunePolicy",
        "metadata": {"name": "p"},
        "spec": {
            "targetRef": {"kind": "Deployment", "name": "web"},
            "metricsSource": {"prometheus": {"address": "http://prometheus.invalid:9090"}},
            "cpu": {}, "memory": {},
        },
    }))
    .unwrap()
}

#[tokio::test]
async fn pods_of_a_deployment_appear_and_resize_in_place() {
    let client = cluster::client().await;
    let ns = TestNamespace::new(&client, "harness-pods").await;
    let pods = cluster::create_deployment(&ns, &deployment("web")).await;
    assert_eq!(pods.len(), 2);

    // What the controller does, by hand: the harness sees it in the pod spec.
    let api = ns.api::<Pod>();
    for pod in &pods {
        let name = pod.metadata.name.as_deref().unwrap();
        let patch = json!({"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "150m"}}}]}});
        api.patch_subresource(
            "resize",
            name,
            &PatchParams::default(),
            &Patch::Strategic(patch),
        )
        .await
        .unwrap();
    }
    let resized =
        cluster::wait_for_pod_resources(&ns, "web", "cpu 150m", |r| r["requests"]["cpu"] == "150m")
            .await;
    assert_eq!(resized.len(), 2);
}

#[tokio::test]
async fn reapplying_the_spec_keeps_the_recommenders_status() {
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    // Twice: installing is idempotent.
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "harness-policy").await;
    let created = cluster::apply_policy(&ns, &policy()).await;
    let recommendations: Vec<WorkloadRecommendation> = serde_json::from_value(json!([{
        "workload": "web", "kind": "Deployment",
        "containers": [{"name": "app", "recommended": {"cpuRequest": "150m"}}],
    }]))
    .unwrap();
    cluster::set_recommendations(&ns, "p", &recommendations).await;
    // Re-applying the spec must not drop the recommender's status.
    cluster::apply_policy(&ns, &policy()).await;
    let read =
        cluster::wait_for_policy(&ns, "p", "recommendations", Duration::from_secs(10), |p| {
            p.status
                .as_ref()
                .is_some_and(|s| s.recommendations.len() == 1)
        })
        .await;
    let status = read.status.unwrap();
    assert_eq!(
        status.recommendations[0].containers[0]
            .recommended
            .cpu_request
            .as_deref(),
        Some("150m")
    );
    let raw = cluster::policy_status_json(&ns, "p").await;
    assert_eq!(raw["recommendations"][0]["workload"], "web");

    // Events are found by the uid of the object they are about.
    let uid = created.metadata.uid.unwrap();
    let event: Event = serde_json::from_value(json!({
        "metadata": {"name": "p.harness"},
        "involvedObject": {
            "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
            "name": "p", "namespace": ns.name, "uid": uid,
        },
        "reason": "HarnessCheck", "message": "seen", "type": "Normal",
    }))
    .unwrap();
    ns.api::<Event>()
        .create(&PostParams::default(), &event)
        .await
        .unwrap();
    let seen = cluster::wait_for_event(&ns, &uid, "HarnessCheck").await;
    assert_eq!(seen.message.as_deref(), Some("seen"));
    // The controller writes through events.k8s.io/v1; the same lookup finds those.
    let recorded: NewEvent = serde_json::from_value(json!({
        "metadata": {"name": "p.recorded"},
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "reportingController": "attune.io/e2e", "reportingInstance": "e2e",
        "action": "Check", "reason": "RecorderCheck", "note": "also seen", "type": "Normal",
        "regarding": {
            "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
            "name": "p", "namespace": ns.name, "uid": uid,
        },
    }))
    .unwrap();
    ns.api::<NewEvent>()
        .create(&PostParams::default(), &recorded)
        .await
        .unwrap();
    let seen = cluster::wait_for_event(&ns, &uid, "RecorderCheck").await;
    assert_eq!(seen.message.as_deref(), Some("also seen"));
}

#[tokio::test]
async fn a_panicking_test_still_deletes_its_namespace() {
    let client = cluster::client().await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let inner = client.clone();
    let outcome = tokio::spawn(async move {
        let ns = TestNamespace::new(&inner, "harness-panic").await;
        tx.send(ns.name.clone()).unwrap();
        panic!("on purpose");
    })
    .await;
    assert!(outcome.unwrap_err().is_panic());
    let name = rx.await.unwrap();
    let namespaces: Api<Namespace> = Api::all(client);
    cluster::eventually(
        "the namespace to be deleting",
        Duration::from_secs(30),
        || async {
            match namespaces.get_opt(&name).await.map_err(|e| e.to_string())? {
                None => Ok(()),
                Some(ns) if ns.metadata.deletion_timestamp.is_some() => Ok(()),
                Some(_) => Err(format!("{name} still active")),
            }
        },
    )
    .await;
}
