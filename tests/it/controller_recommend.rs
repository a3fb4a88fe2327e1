//! The built-in recommender end to end, on the test control plane and the backfilled
//! Prometheus (tests/run starts both; the history is tests/servers/prometheus_history.py's,
//! in namespace `shop`, ending 2026-01-05T00:00Z). The recommender runs with that instant as
//! its fixed "now", so every run asks for the same window; its status writes and the
//! controller's are counted apart.
//!
//! One test on purpose: the history's namespace is fixed, so the scenarios share it and run
//! one after the other. The recommender and the reconcile are driven for this test's policies
//! only (a whole controller would also take `Ready` from other tests' policies), and the test
//! holds the controller lock exclusively, so no other test's controller acts on them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use attune::controller::cache::{Caches, trim_deployment};
use attune::controller::pods::pod_store;
use attune::controller::recommender::{self, Clock, FIELD_MANAGER, Mode, Recommender};
use attune::controller::{Config, Context, reconcile};
use attune::crd::AttunePolicy;
use attune::metrics::Metrics;
use attune::usage::QueryLimits;
use chrono::{DateTime, TimeZone, Utc};
use futures::StreamExt;
use http::Request;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::client::{Body, ClientBuilder};
use kube::runtime::reflector;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::support::cluster::{self, TestNamespace};
use crate::support::controller_lock;

/// The history's namespace.
const NAMESPACE: &str = "shop";
const OTHER_MANAGER: &str = "attune-e2e-other-writer";

pub(crate) fn data_end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap()
}

pub(crate) fn prometheus_url() -> String {
    std::env::var("PROMETHEUS_URL").unwrap_or_else(|_| {
        panic!(
            "PROMETHEUS_URL is not set: this test needs the backfilled Prometheus; run via \
             tests/run (it starts tests/servers/prometheus.sh up and exports prometheus.env)"
        )
    })
}

/// A client that counts PATCHes of policy statuses.
async fn counting_client(writes: Arc<AtomicUsize>) -> kube::Client {
    cluster::client().await;
    let config = kube::Config::infer().await.unwrap();
    let count = tower::util::MapRequestLayer::new(move |request: Request<Body>| {
        if request.method() == http::Method::PATCH
            && request.uri().path().contains("/attunepolicies/")
            && request.uri().path().ends_with("/status")
        {
            writes.fetch_add(1, Ordering::SeqCst);
        }
        request
    });
    ClientBuilder::try_from(config)
        .unwrap()
        .with_layer(&count)
        .build()
}

/// Watch caches of `namespace` only, fed as the controller feeds its own.
pub(crate) fn namespace_caches(
    client: &kube::Client,
    namespace: &str,
) -> (Caches, Vec<JoinHandle<()>>) {
    let (pods, mut pod_writer) = pod_store();
    let (deployments, d_writer) = reflector::store::<Deployment>();
    let (statefulsets, mut s_writer) = reflector::store::<StatefulSet>();
    let (daemonsets, mut ds_writer) = reflector::store::<DaemonSet>();
    s_writer.apply_watcher_event(&watcher::Event::Init);
    s_writer.apply_watcher_event(&watcher::Event::InitDone);
    ds_writer.apply_watcher_event(&watcher::Event::Init);
    ds_writer.apply_watcher_event(&watcher::Event::InitDone);
    let pod_api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod_task = tokio::spawn(watcher(pod_api, watcher::Config::default()).for_each(
        move |event| {
            if let Ok(event) = event {
                pod_writer.apply(&event);
            }
            std::future::ready(())
        },
    ));
    let d_api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let d_task = tokio::spawn(
        watcher(d_api, watcher::Config::default())
            .modify(trim_deployment)
            .reflect(d_writer)
            .for_each(|_| std::future::ready(())),
    );
    let caches = Caches {
        pods,
        deployments,
        statefulsets,
        daemonsets,
    };
    (caches, vec![pod_task, d_task])
}

/// A Deployment like the history's: `web` has containers app and proxy, `fresh` only app.
async fn create_deployment(ns: &TestNamespace, name: &str, containers: &[&str]) {
    let containers: Vec<Value> = containers
        .iter()
        .map(|c| {
            json!({
                "name": c, "image": "registry.invalid/attune/app:1.0",
                "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}},
            })
        })
        .collect();
    let deployment: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": containers},
            },
        },
    }))
    .unwrap();
    ns.api::<Deployment>()
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap_or_else(|e| panic!("create deployment {name}: {e}"));
    cluster::wait_for_pods(ns, name, 2).await;
}

fn policy(name: &str, target: &str, mode: &str, address: &str) -> AttunePolicy {
    serde_json::from_value(json!({
        "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
        "metadata": {"name": name},
        "spec": {
            "targetRef": {"kind": "Deployment", "name": target},
            "metricsSource": {"prometheus": {"address": address}},
            "cpu": {}, "memory": {},
            "updateStrategy": {"type": mode, "maxConcurrentResizes": 2},
        },
    }))
    .unwrap()
}

fn recommender_at(client: &kube::Client, caches: &Caches, now: DateTime<Utc>) -> Recommender {
    Recommender::new(
        client.clone(),
        caches.clone(),
        recommender::Settings {
            mode: Mode::Builtin,
            interval: Duration::from_secs(300),
            limits: QueryLimits::default(),
            clock: Clock::Fixed(now),
        },
        Arc::new(Metrics::new()),
        attune::pr::WriteGate::always_open(),
    )
    .unwrap()
}

async fn get(ns: &TestNamespace, name: &str) -> AttunePolicy {
    ns.api::<AttunePolicy>().get(name).await.unwrap()
}

fn ready(policy: &AttunePolicy) -> (String, String) {
    let c = cluster::condition(policy, "Ready").expect("a Ready condition");
    (
        c.reason.clone().unwrap_or_default(),
        c.message.clone().unwrap_or_default(),
    )
}

/// The app container's requests on every pod of `web`.
async fn app_cpu_requests(ns: &TestNamespace) -> Vec<String> {
    let lp = kube::api::ListParams::default().labels("app=web");
    let pods = ns.api::<Pod>().list(&lp).await.unwrap();
    pods.items
        .iter()
        .map(|p| {
            let spec = serde_json::to_value(&p.spec).unwrap();
            spec["containers"][0]["resources"]["requests"]["cpu"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// The condition keys `manager` owns in the policy's status.
fn owned_conditions(policy: &AttunePolicy, manager: &str) -> Vec<String> {
    let mut keys: Vec<String> = policy
        .metadata
        .managed_fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.manager.as_deref() == Some(manager))
        .flat_map(|m| {
            let fields = m.fields_v1.map(|f| f.0).unwrap_or_default();
            fields["f:status"]["f:conditions"]
                .as_object()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, _)| k)
                .filter(|k| k.starts_with("k:"))
                .collect::<Vec<_>>()
        })
        .collect();
    keys.sort();
    keys
}

async fn write_degraded(ns: &TestNamespace, policy: &str, reason: &str) {
    let body = json!({
        "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
        "status": {"conditions": [{
            "type": "Degraded", "status": "True", "reason": reason,
            "message": "written by another controller",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }]},
    });
    ns.api::<AttunePolicy>()
        .patch_status(
            policy,
            &PatchParams::apply(OTHER_MANAGER),
            &Patch::Apply(body),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn builtin_recommender_on_the_real_apiserver_and_prometheus() {
    // A controller started by another test would reconcile these policies too (and write
    // Ready, or resize from a recommendation before this test marks it stale).
    let _only_controller = controller_lock::exclusive().await;
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::fixed(&client, NAMESPACE).await;
    let url = prometheus_url();
    create_deployment(&ns, "web", &["app", "proxy"]).await;
    create_deployment(&ns, "fresh", &["app"]).await;
    let (caches, feeders) = namespace_caches(&client, NAMESPACE);
    cluster::eventually(
        "the caches hold both workloads' pods",
        Duration::from_secs(30),
        || {
            let n = caches.pods_in(NAMESPACE).len();
            async move {
                if n == 4 {
                    Ok(())
                } else {
                    Err(format!("{n} pods"))
                }
            }
        },
    )
    .await;
    let recommender_writes = Arc::new(AtomicUsize::new(0));
    let recommender_client = counting_client(Arc::clone(&recommender_writes)).await;
    let at_end = recommender_at(&recommender_client, &caches, data_end());

    // A workload with 10 samples: InsufficientData with its progress.
    cluster::apply_policy(&ns, &policy("fresh", "fresh", "Recommend", &url)).await;
    let report = at_end.recommend(&get(&ns, "fresh").await).await.unwrap();
    assert_eq!(report.queries, 2);
    let fresh = get(&ns, "fresh").await;
    assert_eq!(
        ready(&fresh),
        (
            "InsufficientData".into(),
            "Collecting data: 10/48 data points (20%), about 3h10m left".into()
        )
    );
    let workloads = fresh.status.as_ref().unwrap().workloads.clone().unwrap();
    assert_eq!(workloads.data_points_collected, Some(10));
    assert_eq!(workloads.data_points_required, Some(48));
    assert!(fresh.status.as_ref().unwrap().recommendations.is_empty());

    // Recommend mode: recommendations (E3 and E4 of the compatibility table for app) and Ready
    // Monitoring, written once however often it runs.
    cluster::apply_policy(&ns, &policy("web", "web", "Recommend", &url)).await;
    let before = recommender_writes.load(Ordering::SeqCst);
    for _ in 0..3 {
        at_end.recommend(&get(&ns, "web").await).await.unwrap();
    }
    assert_eq!(recommender_writes.load(Ordering::SeqCst), before + 1);
    let web = get(&ns, "web").await;
    assert_eq!(
        ready(&web),
        (
            "Monitoring".into(),
            "Watching 1 workload, 1 with recommendations".into()
        )
    );
    let status = web.status.clone().unwrap();
    let [rec] = status.recommendations.as_slice() else {
        panic!("{:?}", status.recommendations)
    };
    assert_eq!((rec.kind.as_str(), rec.stale), ("Deployment", Some(false)));
    assert_eq!(rec.last_data_time.as_deref(), Some("2026-01-05T00:00:00Z"));
    let app = rec.containers.iter().find(|c| c.name == "app").unwrap();
    assert_eq!(app.recommended.cpu_request.as_deref(), Some("750m"));
    assert_eq!(app.recommended.memory_request.as_deref(), Some("348966093"));
    assert_eq!(app.data_points, Some(4032));
    let explanation = app.explanation.as_ref().unwrap().value();
    assert_eq!(explanation["cpu"]["rawPercentile"], json!("800m"));
    assert_eq!(explanation["cpu"]["afterConfidence"], json!("1153m"));
    assert!(rec.containers.iter().any(|c| c.name == "proxy"));
    // proxy's CPU (62.5m used, 500m requested) is cut by the 50 % cap to 250m; app grows.
    let savings = status.savings.unwrap();
    assert_eq!(savings.cpu_request_reduction.as_deref(), Some("250m"));
    assert_eq!(savings.estimated_monthly_savings.as_deref(), Some("$5.66"));

    // A second writer's condition survives; its changes make us write nothing.
    write_degraded(&ns, "web", "HighRevertRate").await;
    write_degraded(&ns, "web", "Healthy").await;
    at_end.recommend(&get(&ns, "web").await).await.unwrap();
    assert_eq!(recommender_writes.load(Ordering::SeqCst), before + 1);
    let web = get(&ns, "web").await;
    assert!(cluster::condition(&web, "Degraded").is_some());

    // The controller in builtin mode writes its conditions but leaves Ready to us, and a
    // second reconcile writes nothing.
    let controller_writes = Arc::new(AtomicUsize::new(0));
    let controller_client = counting_client(Arc::clone(&controller_writes)).await;
    let minor = attune::resize::server_minor(&client.apiserver_version().await.unwrap()).unwrap();
    let mut config = Config {
        eligibility: attune::resize::Eligibility {
            require_running: false,
        },
        ..Config::default()
    };
    config.recommender.mode = Mode::Builtin;
    let ctx = Arc::new(Context::new(
        controller_client,
        config,
        Arc::new(Metrics::new()),
        minor,
        caches.clone(),
    ));
    let reconcile_once = |name: &'static str| {
        let (ctx, ns_api) = (Arc::clone(&ctx), ns.api::<AttunePolicy>());
        async move {
            let policy = ns_api.get(name).await.unwrap();
            reconcile::reconcile(Arc::new(policy), ctx).await.unwrap();
        }
    };
    reconcile_once("web").await;
    reconcile_once("web").await;
    assert_eq!(controller_writes.load(Ordering::SeqCst), 1);
    let web = get(&ns, "web").await;
    let key = |t: &str| format!("k:{{\"type\":\"{t}\"}}");
    assert_eq!(owned_conditions(&web, FIELD_MANAGER), [key("Ready")]);
    assert_eq!(
        owned_conditions(&web, attune::controller::FIELD_MANAGER),
        [
            "GitOpsPullRequest",
            "ResizeBlocked",
            "Resizing",
            "ScheduleBlocked",
            "Superseded"
        ]
        .map(key)
    );
    assert_eq!(ready(&web).0, "Monitoring");
    at_end.recommend(&web).await.unwrap();
    assert_eq!(recommender_writes.load(Ordering::SeqCst), before + 1);

    // Auto, an hour after the data ends: the recommendation is stale and nothing is resized.
    cluster::apply_policy(&ns, &policy("web", "web", "Auto", &url)).await;
    let later = recommender_at(
        &recommender_client,
        &caches,
        data_end() + chrono::Duration::hours(1),
    );
    later.recommend(&get(&ns, "web").await).await.unwrap();
    let web = get(&ns, "web").await;
    assert_eq!(
        web.status.as_ref().unwrap().recommendations[0].stale,
        Some(true)
    );
    assert!(ready(&web).1.contains("1 stale"), "{:?}", ready(&web));
    reconcile_once("web").await;
    assert_eq!(app_cpu_requests(&ns).await, ["500m", "500m"]);

    // Prometheus unreachable: PrometheusUnavailable naming the address, nothing resized.
    let down = "http://127.0.0.1:1";
    cluster::apply_policy(&ns, &policy("down", "web", "Auto", down)).await;
    at_end.recommend(&get(&ns, "down").await).await.unwrap();
    let (reason, message) = ready(&get(&ns, "down").await);
    assert_eq!(reason, "PrometheusUnavailable");
    assert!(
        message.starts_with("prometheus at http://127.0.0.1:1 could not be reached"),
        "{message}"
    );
    reconcile_once("down").await;
    assert_eq!(app_cpu_requests(&ns).await, ["500m", "500m"]);
    // The same for the Auto policy whose data is an hour old: kept, stale, not acted on.
    cluster::apply_policy(&ns, &policy("web", "web", "Auto", down)).await;
    later.recommend(&get(&ns, "web").await).await.unwrap();
    let web = get(&ns, "web").await;
    assert_eq!(ready(&web).0, "PrometheusUnavailable");
    assert_eq!(
        web.status.as_ref().unwrap().recommendations[0].stale,
        Some(true)
    );
    reconcile_once("web").await;
    assert_eq!(app_cpu_requests(&ns).await, ["500m", "500m"]);

    // Prometheus back, data fresh: Auto resizes the pods to the recommendation.
    cluster::apply_policy(&ns, &policy("down", "web", "Recommend", down)).await;
    cluster::apply_policy(&ns, &policy("web", "web", "Auto", &url)).await;
    at_end.recommend(&get(&ns, "web").await).await.unwrap();
    assert_eq!(ready(&get(&ns, "web").await).0, "Monitoring");
    reconcile_once("web").await;
    cluster::wait_for_pod_resources(&ns, "web", "app at 750m", |r| {
        r["requests"]["cpu"] == "750m" && r["requests"]["memory"] == "348966093"
    })
    .await;
    for feeder in feeders {
        feeder.abort();
    }
    eprintln!(
        "recommender writes {}, controller writes {}",
        recommender_writes.load(Ordering::SeqCst),
        controller_writes.load(Ordering::SeqCst)
    );
}
