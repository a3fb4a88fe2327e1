//! Condition ownership on the real API server. `status.conditions` is a list-map keyed by
//! `type`, so the controller's server-side apply (field manager `attune-controller`) owns only
//! the conditions it sends: a `Degraded` condition another manager writes survives every
//! reconcile, and the controller writes once per real change of its own status, however often
//! the other writer's changes wake it.
//!
//! The controller's reconcile runs in-process, driven by a watch on this test's one policy
//! (a whole controller would also reconcile the policies of tests running in parallel), with
//! a client that counts its status writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use attune::controller::pods::pod_store;
use attune::controller::{Config, Context, FIELD_MANAGER, cache::Caches, reconcile};
use attune::crd::AttunePolicy;
use attune::metrics::Metrics;
use futures::StreamExt;
use http::Request;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::api::{Api, Patch, PatchParams};
use kube::client::{Body, ClientBuilder};
use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::support::cluster::{self, TestNamespace};

const POLICY: &str = "owners";
const OTHER_MANAGER: &str = "attune-e2e-other-writer";

/// A client like [`cluster::client`] that counts PATCHes of a policy's status.
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

fn filled<K>() -> (reflector::Store<K>, Writer<K>)
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    let (store, mut writer) = reflector::store::<K>();
    writer.apply_watcher_event(&watcher::Event::Init);
    writer.apply_watcher_event(&watcher::Event::InitDone);
    (store, writer)
}

/// Caches that have had their first (empty) list: the policy's target does not exist.
fn empty_caches() -> (Caches, impl Sized) {
    let (pods, mut pod_writer) = pod_store();
    pod_writer.apply(&watcher::Event::Init);
    pod_writer.apply(&watcher::Event::InitDone);
    let (deployments, dw) = filled::<Deployment>();
    let (statefulsets, sw) = filled::<StatefulSet>();
    let (daemonsets, dsw) = filled::<DaemonSet>();
    let caches = Caches {
        pods,
        deployments,
        statefulsets,
        daemonsets,
    };
    (caches, (pod_writer, dw, sw, dsw))
}

/// Reconciles the policy on every watch event, as the controller does, counting reconciles.
fn drive(ns: &TestNamespace, ctx: Arc<Context>, reconciles: Arc<AtomicUsize>) -> JoinHandle<()> {
    let api: Api<AttunePolicy> = ns.api();
    let config = watcher::Config::default().fields(&format!("metadata.name={POLICY}"));
    tokio::spawn(async move {
        let mut events = std::pin::pin!(watcher(api, config).applied_objects());
        while let Some(event) = events.next().await {
            let Ok(policy) = event else { continue };
            if let Err(e) = reconcile::reconcile(Arc::new(policy), Arc::clone(&ctx)).await {
                panic!("reconcile: {e}");
            }
            reconciles.fetch_add(1, Ordering::SeqCst);
        }
    })
}

fn policy(paused: bool) -> AttunePolicy {
    serde_json::from_value(json!({
        "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
        "metadata": {"name": POLICY},
        "spec": {
            "targetRef": {"kind": "Deployment", "name": "absent"},
            "metricsSource": {"prometheus": {"address": "http://prometheus.invalid:9090"}},
            "cpu": {}, "memory": {}, "paused": paused,
        },
    }))
    .unwrap()
}

/// The other writer's apply: only its own condition, not forced (it conflicts with no one).
async fn write_degraded(ns: &TestNamespace, status: &str, reason: &str) {
    let body = json!({
        "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
        "status": {"conditions": [{
            "type": "Degraded", "status": status, "reason": reason,
            "message": "written by another controller",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }]},
    });
    ns.api::<AttunePolicy>()
        .patch_status(
            POLICY,
            &PatchParams::apply(OTHER_MANAGER),
            &Patch::Apply(&body),
        )
        .await
        .unwrap_or_else(|e| panic!("the other writer's apply: {e}"));
}

fn condition_types(status: &Value) -> Vec<String> {
    let mut types: Vec<String> = status["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| c["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    types.sort();
    types
}

/// Waits until the watch has delivered everything written so far and the reconciles it
/// caused are done: two quiet seconds with no new reconcile.
async fn settle(reconciles: &AtomicUsize) -> usize {
    let mut seen = reconciles.load(Ordering::SeqCst);
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = reconciles.load(Ordering::SeqCst);
        if now == seen {
            return now;
        }
        seen = now;
    }
}

/// The condition keys a field manager owns in the status, from managedFields.
async fn owned_conditions(ns: &TestNamespace, manager: &str) -> Vec<String> {
    let policy = ns.api::<AttunePolicy>().get(POLICY).await.unwrap();
    let mut keys: Vec<String> = policy
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.manager.as_deref() == Some(manager))
        .filter(|m| m.subresource.as_deref() == Some("status"))
        .flat_map(|m| {
            let fields = m.fields_v1.map(|f| f.0).unwrap_or_default();
            let conditions = fields["f:status"]["f:conditions"].clone();
            conditions
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

#[tokio::test]
async fn another_writers_condition_survives_and_we_write_once_per_change() {
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "condition-owners").await;
    let writes = Arc::new(AtomicUsize::new(0));
    let reconciles = Arc::new(AtomicUsize::new(0));
    let (caches, _writers) = empty_caches();
    let ctx = Arc::new(Context::new(
        counting_client(Arc::clone(&writes)).await,
        Config::default(),
        Arc::new(Metrics::new()),
        35,
        caches,
    ));
    cluster::apply_policy(&ns, &policy(false)).await;
    let driver = drive(&ns, ctx, Arc::clone(&reconciles));

    // First reconcile: one write; our own write wakes the watch, which writes nothing more.
    let wait = Duration::from_secs(30);
    cluster::wait_for_condition(&ns, POLICY, "Ready", "NoWorkloadsFound", wait).await;
    let after_first = settle(&reconciles).await;
    assert_eq!(writes.load(Ordering::SeqCst), 1);
    assert!(
        after_first >= 2,
        "our write woke a reconcile ({after_first})"
    );

    // Another manager writes Degraded, twice: each wakes a reconcile that writes nothing.
    for (status, reason) in [("True", "HighRevertRate"), ("False", "Healthy")] {
        let before = reconciles.load(Ordering::SeqCst);
        write_degraded(&ns, status, reason).await;
        let after = settle(&reconciles).await;
        assert!(after > before, "their write woke a reconcile");
        assert_eq!(writes.load(Ordering::SeqCst), 1, "their change is not ours");
        let live = cluster::policy_status_json(&ns, POLICY).await;
        assert_eq!(
            condition_types(&live),
            [
                "Degraded",
                "GitOpsPullRequest",
                "Ready",
                "ResizeBlocked",
                "Resizing",
                "ScheduleBlocked",
                "Superseded"
            ]
        );
        let degraded = live["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Degraded")
            .unwrap();
        assert_eq!(degraded["status"], status);
    }

    // A real change of ours (the policy is paused): exactly one more write, theirs kept.
    cluster::apply_policy(&ns, &policy(true)).await;
    let paused = cluster::wait_for_condition(&ns, POLICY, "Ready", "Paused", wait).await;
    assert!(cluster::condition(&paused, "Degraded").is_some());
    settle(&reconciles).await;
    assert_eq!(writes.load(Ordering::SeqCst), 2);

    // Ownership as the API server records it: each manager owns exactly its own keys.
    let key = |t: &str| format!("k:{{\"type\":\"{t}\"}}");
    assert_eq!(
        owned_conditions(&ns, FIELD_MANAGER).await,
        [
            "GitOpsPullRequest",
            "Ready",
            "ResizeBlocked",
            "Resizing",
            "ScheduleBlocked",
            "Superseded"
        ]
        .map(key)
    );
    assert_eq!(
        owned_conditions(&ns, OTHER_MANAGER).await,
        [key("Degraded")]
    );
    driver.abort();
    eprintln!(
        "{} reconciles, {} status writes",
        reconciles.load(Ordering::SeqCst),
        writes.load(Ordering::SeqCst)
    );
}
