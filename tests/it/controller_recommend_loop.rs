//! The recommender's own loop — `recommender::spawn`, what `attune controller
//! --recommender=builtin` runs beside the reconciles — on the test control plane and the
//! backfilled Prometheus (tests/servers/prometheus_history.py: namespace `mall`, Deployment
//! `web`, app at 0.1 cores and 300Mi flat for 8 days ending 2026-01-05T00:00Z). Nothing here
//! calls `Recommender::recommend`: the loop finds the policy in its watch, queries Prometheus
//! and writes the status by itself, on its schedule and on a spec change.
//!
//! The loop, not the whole process: "now" must be the history's end (a fixed clock, which the
//! binary has no flag for), and a process watches every namespace, so it would also write the
//! status of other tests' policies. Its caches and policy store watch `mall` only, and the
//! test holds the controller lock exclusively, as the other recommender test does.

use std::sync::Arc;
use std::time::Duration;

use attune::controller::recommender::{self, Clock, Mode};
use attune::controller::{Config, Context};
use attune::crd::{AttunePolicy, ContainerRecommendation};
use attune::metrics::Metrics;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::controller_recommend::{data_end, namespace_caches, prometheus_url};
use crate::support::cluster::{self, TestNamespace};
use crate::support::controller_lock;

/// The history's namespace for this test.
const NAMESPACE: &str = "mall";
/// How soon a spec change must be seen (the loop looks every 5 s).
const SPEC_CHANGE_SEEN: Duration = Duration::from_secs(20);

/// `web`: two Pending pods (no scheduler takes them), app asking for 150m / 256Mi, limited
/// to 512Mi.
async fn create_web(ns: &TestNamespace) {
    let deployment: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NAMESPACE},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{
                    "name": "app", "image": "registry.invalid/attune/app:1.0",
                    "resources": {
                        "requests": {"cpu": "150m", "memory": "256Mi"},
                        "limits": {"memory": "512Mi"},
                    },
                }]},
            },
        },
    }))
    .unwrap();
    ns.api::<Deployment>()
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    cluster::wait_for_pods(ns, "web", 2).await;
}

fn policy(cpu_overhead: &str) -> AttunePolicy {
    serde_json::from_value(json!({
        "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
        "metadata": {"name": "web"},
        "spec": {
            "targetRef": {"kind": "Deployment", "name": "web"},
            "metricsSource": {"prometheus": {"address": prometheus_url()}},
            "cpu": {"overhead": cpu_overhead}, "memory": {},
            "updateStrategy": {"type": "Recommend"},
        },
    }))
    .unwrap()
}

/// The namespace's policies, as the controller's policy store holds them.
fn policy_store(client: &kube::Client) -> (Store<AttunePolicy>, JoinHandle<()>) {
    let (store, writer) = reflector::store::<AttunePolicy>();
    let api: Api<AttunePolicy> = Api::namespaced(client.clone(), NAMESPACE);
    let feeder = tokio::spawn(
        watcher(api, watcher::Config::default())
            .modify(|p| p.metadata.managed_fields = None)
            .reflect(writer)
            .for_each(|_| std::future::ready(())),
    );
    (store, feeder)
}

/// Starts the loop as the controller does, with the history's end as "now".
async fn start_loop(
    client: &kube::Client,
    caches: &attune::controller::cache::Caches,
    policies: Store<AttunePolicy>,
    interval: Duration,
) -> (JoinHandle<()>, Arc<Metrics>) {
    let minor = attune::resize::server_minor(&client.apiserver_version().await.unwrap()).unwrap();
    let config = Config {
        recommender: recommender::Settings {
            mode: Mode::Builtin,
            interval,
            clock: Clock::Fixed(data_end()),
            ..recommender::Settings::default()
        },
        ..Config::default()
    };
    let metrics = Arc::new(Metrics::new());
    let ctx = Arc::new(Context::new(
        client.clone(),
        config,
        Arc::clone(&metrics),
        minor,
        caches.clone(),
    ));
    let handle = recommender::spawn(&ctx, policies).expect("builtin mode starts the loop");
    (handle, metrics)
}

fn queries(metrics: &Metrics) -> u64 {
    metrics
        .encode()
        .lines()
        .find_map(|l| l.strip_prefix("attune_prometheus_queries_total "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn app(policy: &AttunePolicy) -> Option<&ContainerRecommendation> {
    let status = policy.status.as_ref()?;
    let rec = status
        .recommendations
        .iter()
        .find(|r| r.workload == "web")?;
    rec.containers.iter().find(|c| c.name == "app")
}

fn explanation(policy: &AttunePolicy) -> Value {
    app(policy)
        .and_then(|a| a.explanation.as_ref().map(|e| e.value()))
        .unwrap_or(Value::Null)
}

/// Both pods' app: last terminated by the kernel's OOM killer an hour before the data ends.
async fn report_oom_kills(ns: &TestNamespace) {
    let pods = ns.api::<Pod>();
    let lp = kube::api::ListParams::default().labels("app=web");
    for pod in pods.list(&lp).await.unwrap() {
        let name = pod.metadata.name.clone().unwrap();
        let status = json!({"status": {"containerStatuses": [{
            "name": "app", "ready": false, "restartCount": 1,
            "image": "registry.invalid/attune/app:1.0", "imageID": "",
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {
                "reason": "OOMKilled", "exitCode": 137,
                "startedAt": "2026-01-04T22:00:00Z", "finishedAt": "2026-01-04T23:00:00Z",
            }},
        }]}});
        pods.patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
            .await
            .unwrap_or_else(|e| panic!("report the OOM kill on {name}: {e}"));
    }
}

/// Both pods now ask for 150m as Attune's resize from 300m would have left them.
async fn mark_resized_from(ns: &TestNamespace, cpu: &str) {
    let pods = ns.api::<Pod>();
    let lp = kube::api::ListParams::default().labels("app=web");
    for pod in pods.list(&lp).await.unwrap() {
        let name = pod.metadata.name.clone().unwrap();
        let patch = json!({"metadata": {"annotations": {
            "attune.io/original-cpu-request.app": cpu}}});
        pods.patch(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_recommender_loop_writes_on_its_own_and_recomputes_on_spec_change_and_schedule() {
    let _only_controller = controller_lock::exclusive().await;
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::fixed(&client, NAMESPACE).await;
    create_web(&ns).await;
    let (caches, mut feeders) = namespace_caches(&client, NAMESPACE);
    let (policies, policy_feeder) = policy_store(&client);
    feeders.push(policy_feeder);

    // An hour's interval: whatever is recomputed within this part came from a spec change.
    let (looping, metrics) = start_loop(
        &client,
        &caches,
        policies.clone(),
        Duration::from_secs(3600),
    )
    .await;
    cluster::apply_policy(&ns, &policy("20")).await;
    // 100m flat → +20 % → 120m → 121m (confidence), 19 % below 150m: no cap, no filter.
    let web = cluster::wait_for_policy(
        &ns,
        "web",
        "the loop's first recommendation",
        Duration::from_secs(60),
        |p| app(p).is_some(),
    )
    .await;
    let first = app(&web).unwrap();
    assert_eq!(first.recommended.cpu_request.as_deref(), Some("121m"));
    assert_eq!(
        first.recommended.memory_request.as_deref(),
        Some("348966093")
    );
    assert_eq!(explanation(&web)["cpu"]["afterOverhead"], json!("120m"));
    assert!(explanation(&web)["memory"].get("oomFloor").is_none());
    let ready = cluster::condition(&web, "Ready").unwrap();
    assert_eq!(ready.reason.as_deref(), Some("Monitoring"));
    let savings = web.status.as_ref().unwrap().savings.clone().unwrap();
    assert_eq!(savings.cpu_request_reduction.as_deref(), Some("29m"));
    assert_eq!(savings.cpu_request_reduction_total.as_deref(), Some("0"));
    assert_eq!(queries(&metrics), 2);

    // The spec changes (overhead 30 %): recomputed within seconds, from the cached profiles.
    cluster::apply_policy(&ns, &policy("30")).await;
    let web = cluster::wait_for_policy(
        &ns,
        "web",
        "recomputed after the spec change, long before the interval",
        SPEC_CHANGE_SEEN,
        |p| app(p).and_then(|a| a.recommended.cpu_request.as_deref()) == Some("131m"),
    )
    .await;
    assert_eq!(explanation(&web)["cpu"]["afterOverhead"], json!("130m"));
    assert_eq!(queries(&metrics), 2, "a spec change alone makes no query");
    looping.abort();

    // On a 10-second schedule, with no spec change: the loop queries again each interval and
    // sees what changed on the pods — an OOM kill raises memory to its floor (killed at the
    // 512Mi limit: max(612Mi, ⌈512Mi × 1.2⌉) = 644245095 bytes) ...
    let (looping, metrics) =
        start_loop(&client, &caches, policies.clone(), Duration::from_secs(10)).await;
    cluster::eventually(
        "the scheduled loop's first cycle",
        Duration::from_secs(30),
        || {
            let q = queries(&metrics);
            async move { if q >= 2 { Ok(()) } else { Err(format!("{q}")) } }
        },
    )
    .await;
    report_oom_kills(&ns).await;
    let web = cluster::wait_for_policy(
        &ns,
        "web",
        "memory raised to the OOM floor by a scheduled recompute",
        Duration::from_secs(60),
        |p| app(p).and_then(|a| a.recommended.memory_request.as_deref()) == Some("644245095"),
    )
    .await;
    let memory = &explanation(&web)["memory"];
    assert_eq!(memory["afterChangeFilter"], json!("348966093"));
    assert_eq!(
        memory["oomFloor"],
        json!({"peak": "512Mi", "floor": "644245095"})
    );
    assert_eq!(memory["afterOomFloor"], json!("644245095"));
    // The profiles are older than the interval by then (real time): the schedule read them
    // again.
    assert!(
        queries(&metrics) >= 4,
        "queried again on schedule: {}",
        queries(&metrics)
    );

    // ... and a reduction put in effect (the pods were at 300m before Attune, 150m now) is
    // what `cpuRequestReductionTotal` says.
    mark_resized_from(&ns, "300m").await;
    let web = cluster::wait_for_policy(
        &ns,
        "web",
        "the reduction in effect as the total",
        Duration::from_secs(60),
        |p| {
            p.status
                .as_ref()
                .and_then(|s| s.savings.as_ref())
                .and_then(|s| s.cpu_request_reduction_total.as_deref())
                == Some("150m")
        },
    )
    .await;
    let savings = web.status.unwrap().savings.unwrap();
    assert_eq!(savings.memory_request_reduction_total.as_deref(), Some("0"));
    looping.abort();
    for feeder in feeders {
        feeder.abort();
    }
}
