//! The controller under the chart's ClusterRole, not as cluster admin: a ServiceAccount bound
//! to exactly `charts/attune/templates/clusterrole.yaml` runs the reconcile on the real
//! apiserver — pods are resized through `pods/resize`, the status is applied and events are
//! published — while a write the role does not grant (patching a Deployment) is refused.

use std::sync::Arc;
use std::time::Duration;

use crate::support::cluster::{self, DeploymentSpec, TestNamespace};
use attune::controller::{Config, watch};
use attune::crd::{AttunePolicy, WorkloadRecommendation};
use attune::metrics::Metrics;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::AuthInfo;
use serde_json::{Value, json};

/// The chart's ClusterRole with its template expressions replaced.
fn chart_role(name: &str) -> ClusterRole {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/charts/attune/templates/clusterrole.yaml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let flat: String = text
        .lines()
        .filter(|l| !l.contains("{{-"))
        .map(|l| l.replace("{{ include \"attune.fullname\" . }}", name))
        .map(|l| l.replace("{{ .Release.Namespace }}", "unused"))
        .collect::<Vec<_>>()
        .join("\n");
    let docs: Vec<Value> = serde_saphyr::from_multiple(&flat).unwrap();
    let role = docs
        .into_iter()
        .find(|d| d["kind"] == "ClusterRole")
        .unwrap();
    assert!(
        !flat.contains("{{"),
        "unreplaced template expression in {flat}"
    );
    serde_json::from_value(role).unwrap()
}

async fn service_account_client(admin: &Client, ns: &TestNamespace, role: &str) -> Client {
    let sas = ns.api::<ServiceAccount>();
    let sa: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "attune-controller"}})).unwrap();
    sas.create(&PostParams::default(), &sa).await.unwrap();
    let roles: Api<ClusterRole> = Api::all(admin.clone());
    roles
        .create(&PostParams::default(), &chart_role(role))
        .await
        .unwrap();
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": role},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": "attune-controller", "namespace": ns.name}],
    }))
    .unwrap();
    Api::<ClusterRoleBinding>::all(admin.clone())
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    let request: TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": [], "expirationSeconds": 3600}}))
            .unwrap();
    let token = sas
        .create_token_request("attune-controller", &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token;
    let mut config = kube::Config::infer().await.unwrap();
    config.auth_info = AuthInfo {
        token: Some(token.into()),
        ..AuthInfo::default()
    };
    Client::try_from(config).unwrap()
}

async fn cleanup(admin: &Client, role: &str) {
    let _ = Api::<ClusterRoleBinding>::all(admin.clone())
        .delete(role, &DeleteParams::default())
        .await;
    let _ = Api::<ClusterRole>::all(admin.clone())
        .delete(role, &DeleteParams::default())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chart_role_is_enough_to_resize_report_and_tell() {
    let _controllers = crate::support::controller_lock::shared().await;
    let admin = cluster::client().await;
    cluster::install_crds(&admin).await;
    let ns = TestNamespace::new(&admin, "rbac").await;
    let role = format!("attune-rbac-{}", ns.name);
    let client = service_account_client(&admin, &ns, &role).await;

    cluster::create_deployment(
        &ns,
        &DeploymentSpec {
            name: "web",
            replicas: 2,
            labels: json!({}),
            annotations: json!({}),
            resources: json!({"requests": {"cpu": "100m", "memory": "64Mi"}}),
        },
    )
    .await;
    let policy: AttunePolicy = serde_json::from_value(json!({
        "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
        "metadata": {"name": "web"},
        "spec": {
            "targetRef": {"kind": "Deployment", "name": "web"},
            "metricsSource": {"prometheus": {"address": "http://prometheus.invalid:9090"}},
            "cpu": {}, "memory": {},
            "updateStrategy": {"type": "Auto", "maxConcurrentResizes": 5},
        },
    }))
    .unwrap();
    let created = cluster::apply_policy(&ns, &policy).await;
    let rec: WorkloadRecommendation = serde_json::from_value(json!({
        "workload": "web", "kind": "Deployment",
        "containers": [{"name": "app", "recommended": {"cpuRequest": "150m"}}],
    }))
    .unwrap();
    cluster::set_recommendations(&ns, "web", &[rec]).await;

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = Config {
        eligibility: attune::resize::Eligibility {
            require_running: false,
        },
        requeue_interval: Duration::from_secs(2),
        ..Config::default()
    };
    let task = tokio::spawn(watch::run(
        client.clone(),
        config,
        Arc::new(Metrics::new()),
        async move {
            let _ = stopped.await;
        },
    ));

    cluster::wait_for_pod_resources(&ns, "web", "cpu 150m", |r| r["requests"]["cpu"] == "150m")
        .await;
    let reported =
        cluster::wait_for_condition(&ns, "web", "Ready", "Monitoring", Duration::from_secs(30))
            .await;
    assert!(reported.status.unwrap().resize_history.len() >= 2);
    let uid = created.metadata.uid.unwrap();
    cluster::wait_for_event(&ns, &uid, "Resized").await;

    // The role grants no write on workloads.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns.name);
    let refused = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .expect_err("the service account may not patch deployments");
    assert!(
        matches!(&refused, kube::Error::Api(s) if s.code == 403),
        "{refused}"
    );

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the controller stops")
        .unwrap()
        .unwrap();
    cleanup(&admin, &role).await;
}
