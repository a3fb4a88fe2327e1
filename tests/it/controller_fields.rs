//! Policy fields on the real API server: two policies on one Deployment, where only the
//! higher weight resizes and the other's status names it; and a policy with an unknown time
//! zone, which is InvalidConfig and resizes nothing. The reconcile runs in-process over caches
//! filled from this test's namespace (a whole controller would also act on the policies of
//! tests running in parallel); the pods stay Pending, so eligibility does not require Running.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use attune::controller::pods::pod_store;
use attune::controller::{Config, Context, cache, cache::Caches, reconcile};
use attune::crd::{AttunePolicy, WorkloadRecommendation};
use attune::metrics::Metrics;
use http::Request;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::client::{Body, ClientBuilder};
use kube::runtime::reflector;
use kube::runtime::watcher;
use serde_json::json;

use crate::support::cluster::{self, DeploymentSpec, TestNamespace};

/// A client that counts `pods/resize` calls.
async fn counting_client(resizes: Arc<AtomicUsize>) -> kube::Client {
    cluster::client().await;
    let config = kube::Config::infer().await.unwrap();
    let count = tower::util::MapRequestLayer::new(move |request: Request<Body>| {
        if request.uri().path().ends_with("/resize") {
            resizes.fetch_add(1, Ordering::SeqCst);
        }
        request
    });
    ClientBuilder::try_from(config)
        .unwrap()
        .with_layer(&count)
        .build()
}

fn filled<K>(objects: Vec<K>) -> (reflector::Store<K>, reflector::store::Writer<K>)
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    let (store, mut writer) = reflector::store::<K>();
    writer.apply_watcher_event(&watcher::Event::Init);
    for o in objects {
        writer.apply_watcher_event(&watcher::Event::InitApply(o));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    (store, writer)
}

/// A context over this namespace as it is now: its Deployments, pods and policies.
async fn context(ns: &TestNamespace, client: kube::Client) -> (Arc<Context>, impl Sized) {
    let lp = ListParams::default();
    let mut deployments = ns.api::<Deployment>().list(&lp).await.unwrap().items;
    deployments.iter_mut().for_each(cache::trim_deployment);
    let pods = ns.api::<Pod>().list(&lp).await.unwrap().items;
    let policies = ns.api::<AttunePolicy>().list(&lp).await.unwrap().items;
    let (pod_cache, mut pw) = pod_store();
    pw.apply(&watcher::Event::Init);
    for p in pods {
        pw.apply(&watcher::Event::InitApply(p));
    }
    pw.apply(&watcher::Event::InitDone);
    let (d, dw) = filled(deployments);
    let (s, sw) = filled::<StatefulSet>(Vec::new());
    let (ds, dsw) = filled::<DaemonSet>(Vec::new());
    let (p, policy_writer) = filled(policies);
    let caches = Caches {
        pods: pod_cache,
        deployments: d,
        statefulsets: s,
        daemonsets: ds,
    };
    let config = Config {
        eligibility: attune::resize::Eligibility {
            require_running: false,
        },
        ..Config::default()
    };
    let mut ctx = Context::new(client, config, Arc::new(Metrics::new()), 35, caches);
    ctx.policies = p;
    (Arc::new(ctx), (pw, dw, sw, dsw, policy_writer))
}

fn policy(name: &str, weight: Option<i32>, strategy: serde_json::Value) -> AttunePolicy {
    let mut spec = json!({
        "targetRef": {"kind": "Deployment", "selector": {"matchLabels": {"app": "web"}}},
        "metricsSource": {"prometheus": {"address": "http://prometheus.invalid:9090"}},
        "cpu": {}, "memory": {},
        "updateStrategy": strategy,
    });
    if let Some(w) = weight {
        spec["weight"] = w.into();
    }
    serde_json::from_value(json!({
        "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
        "metadata": {"name": name}, "spec": spec,
    }))
    .unwrap()
}

fn recommend(cpu: &str) -> WorkloadRecommendation {
    serde_json::from_value(json!({
        "workload": "web", "kind": "Deployment",
        "containers": [{"name": "app", "recommended": {"cpuRequest": cpu}}],
    }))
    .unwrap()
}

async fn reconcile_once(ns: &TestNamespace, name: &str, ctx: &Arc<Context>) {
    let fresh = ns.api::<AttunePolicy>().get(name).await.unwrap();
    reconcile::reconcile(Arc::new(fresh), Arc::clone(ctx))
        .await
        .unwrap_or_else(|e| panic!("reconcile {name}: {e}"));
}

async fn setup(prefix: &str) -> TestNamespace {
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, prefix).await;
    cluster::create_deployment(
        &ns,
        &DeploymentSpec {
            name: "web",
            replicas: 1,
            labels: json!({}),
            annotations: json!({}),
            resources: json!({"requests": {"cpu": "100m", "memory": "64Mi"}}),
        },
    )
    .await;
    ns
}

#[tokio::test]
async fn two_policies_on_one_workload_only_the_higher_weight_resizes() {
    let ns = setup("fields-owner").await;
    // The lighter policy is the older one: weight beats age.
    cluster::apply_policy(&ns, &policy("light", None, json!({"type": "Auto"}))).await;
    cluster::apply_policy(&ns, &policy("heavy", Some(500), json!({"type": "Auto"}))).await;
    cluster::set_recommendations(&ns, "light", &[recommend("300m")]).await;
    cluster::set_recommendations(&ns, "heavy", &[recommend("150m")]).await;

    let resizes = Arc::new(AtomicUsize::new(0));
    let (ctx, _writers) = context(&ns, counting_client(Arc::clone(&resizes)).await).await;
    reconcile_once(&ns, "light", &ctx).await;
    assert_eq!(
        resizes.load(Ordering::SeqCst),
        0,
        "the lighter policy resizes nothing"
    );
    let light = cluster::wait_for_condition(
        &ns,
        "light",
        "Superseded",
        "OwnedByAnotherPolicy",
        Duration::from_secs(30),
    )
    .await;
    let message = cluster::condition(&light, "Superseded")
        .and_then(|c| c.message.clone())
        .unwrap_or_default();
    assert_eq!(
        message,
        format!(
            "Deployment {}/web is owned by policy heavy (weight 500 > 100); this policy \
             neither resizes nor proposes them",
            ns.name
        )
    );

    reconcile_once(&ns, "heavy", &ctx).await;
    assert_eq!(
        resizes.load(Ordering::SeqCst),
        1,
        "the owner resizes its one pod"
    );
    cluster::wait_for_pod_resources(&ns, "web", "cpu 150m", |r| r["requests"]["cpu"] == "150m")
        .await;
    let heavy = ns.api::<AttunePolicy>().get("heavy").await.unwrap();
    assert_eq!(
        cluster::condition(&heavy, "Superseded").map(|c| c.status.as_str()),
        Some("False")
    );
}

#[tokio::test]
async fn a_deleted_winner_hands_the_workload_to_the_loser_in_the_same_pass() {
    use kube::api::{DeleteParams, Patch, PatchParams};
    let ns = setup("fields-handover").await;
    // The heavy policy owns web but only recommends; the light one would resize it.
    cluster::apply_policy(&ns, &policy("light", None, json!({"type": "Auto"}))).await;
    let mut heavy = policy("heavy", Some(500), json!({"type": "Recommend"}));
    heavy.metadata.finalizers = Some(vec!["attune.io/test-hold".into()]);
    cluster::apply_policy(&ns, &heavy).await;
    cluster::set_recommendations(&ns, "light", &[recommend("300m")]).await;

    let resizes = Arc::new(AtomicUsize::new(0));
    let (ctx, _writers) = context(&ns, counting_client(Arc::clone(&resizes)).await).await;
    reconcile_once(&ns, "light", &ctx).await;
    assert_eq!(resizes.load(Ordering::SeqCst), 0, "heavy owns web");

    // Deleted: a finalizer keeps it in the caches with a deletionTimestamp, and it already
    // owns nothing, so the light policy's next pass resizes.
    let policies = ns.api::<AttunePolicy>();
    policies
        .delete("heavy", &DeleteParams::default())
        .await
        .unwrap();
    let (ctx, _writers) = context(&ns, counting_client(Arc::clone(&resizes)).await).await;
    let cached = ctx.policies.state();
    assert!(
        cached
            .iter()
            .any(|p| p.metadata.name.as_deref() == Some("heavy")
                && p.metadata.deletion_timestamp.is_some()),
        "the deleted policy is still cached, being deleted"
    );
    reconcile_once(&ns, "light", &ctx).await;
    assert_eq!(resizes.load(Ordering::SeqCst), 1, "light took web over");
    cluster::wait_for_pod_resources(&ns, "web", "cpu 300m", |r| r["requests"]["cpu"] == "300m")
        .await;
    cluster::wait_for_condition(
        &ns,
        "light",
        "Superseded",
        "OwnsItsWorkloads",
        Duration::from_secs(30),
    )
    .await;
    let release = json!({"metadata": {"finalizers": null}});
    policies
        .patch("heavy", &PatchParams::default(), &Patch::Merge(&release))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unknown_time_zone_is_invalid_config_and_nothing_is_resized() {
    let ns = setup("fields-zone").await;
    let strategy = json!({"type": "Auto", "schedule": {
        "windows": [{"start": "00:00", "end": "23:59"}], "timezone": "Europe/Atlantis"}});
    cluster::apply_policy(&ns, &policy("zoned", None, strategy)).await;
    cluster::set_recommendations(&ns, "zoned", &[recommend("150m")]).await;
    let resizes = Arc::new(AtomicUsize::new(0));
    let (ctx, _writers) = context(&ns, counting_client(Arc::clone(&resizes)).await).await;
    reconcile_once(&ns, "zoned", &ctx).await;
    let p = cluster::wait_for_condition(
        &ns,
        "zoned",
        "Ready",
        "InvalidConfig",
        Duration::from_secs(30),
    )
    .await;
    let message = cluster::condition(&p, "Ready")
        .and_then(|c| c.message.clone())
        .unwrap_or_default();
    assert!(
        message.starts_with(
            "spec.updateStrategy.schedule.timezone: \"Europe/Atlantis\" is not an IANA time zone"
        ),
        "{message}"
    );
    assert_eq!(
        cluster::condition(&p, "ScheduleBlocked").and_then(|c| c.reason.as_deref()),
        Some("InvalidConfig")
    );
    assert_eq!(resizes.load(Ordering::SeqCst), 0);
}
