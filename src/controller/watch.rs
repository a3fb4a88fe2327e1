//! Runs the kube-rs `Controller` on AttunePolicy until shutdown. Besides the policies it
//! watches pods and the three workload kinds; each watch feeds a trimmed reflector store that
//! reconciles read (so a reconcile lists nothing) and maps a change to the policies that
//! target the object. This file wires watches, stores and the controller; it decides nothing.

use std::future::Future;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};

use super::cache::{self, Caches};
use super::pods;
use super::targets::{self, Candidate};
use super::{Config, Context, reconcile};
use crate::crd::{AttunePolicy, TargetKind};
use crate::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot read the apiserver version")]
    Version(#[source] kube::Error),
    #[error(transparent)]
    Server(#[from] crate::resize::ResizeError),
}

/// Reconciles every AttunePolicy until `shutdown` completes, then returns once the
/// reconciles in flight have finished.
pub async fn run(
    client: kube::Client,
    config: Config,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WatchError> {
    let info = client
        .apiserver_version()
        .await
        .map_err(WatchError::Version)?;
    let server_minor = crate::resize::server_minor(&info)?;
    tracing::info!(
        version = %info.git_version,
        "connected; resizes follow the rules of 1.{server_minor}"
    );

    let (caches, streams) = watch_objects(&client);
    let concurrency = config.max_concurrent_reconciles;
    // Policies without managedFields: with the recommender's and our own applies on every
    // status, those were half of what the policy cache held.
    let (policies, policy_writer) = reflector::store::<AttunePolicy>();
    let mut ctx = Context::new(
        client.clone(),
        config,
        metrics,
        server_minor,
        caches.clone(),
    );
    ctx.policies = policies.clone();
    let ctx = Arc::new(ctx);
    // A deleted (or deleting) policy is never reconciled for its rivals' sake by kube-rs; its
    // departures go to `for_departed`, which wakes the policies that may own its workloads now.
    let (departed, departures) = futures::channel::mpsc::unbounded::<AttunePolicy>();
    let policy_stream = watcher(Api::<AttunePolicy>::all(client), watcher::Config::default())
        .modify(|p| p.metadata.managed_fields = None)
        .reflect(policy_writer)
        .map_ok(move |event| {
            match &event {
                watcher::Event::Delete(p) => {
                    let _ = departed.unbounded_send(p.clone());
                }
                watcher::Event::Apply(p) if p.metadata.deletion_timestamp.is_some() => {
                    let _ = departed.unbounded_send(p.clone());
                }
                _ => {}
            }
            event
        })
        .applied_objects();
    let controller = Controller::for_stream(policy_stream, policies.clone());
    // A deleted policy is never reconciled again, so what it left in memory (GitOps
    // fingerprints, published skips) is swept here.
    let sweeper = tokio::spawn(sweep(policies.clone(), Arc::clone(&ctx)));
    let recommending = super::recommender::spawn(&ctx, policies.clone());
    let (p1, p2, p3, p4, p5) = (
        policies.clone(),
        policies.clone(),
        policies.clone(),
        policies.clone(),
        policies,
    );
    let (c1, c2) = (caches.clone(), caches);
    let stop = shutdown_signal(shutdown);
    controller
        .with_config(
            controller::Config::default()
                .concurrency(concurrency)
                // Pod events come in bursts (a rollout, our own resizes): one reconcile each.
                .debounce(std::time::Duration::from_millis(500)),
        )
        .watches_stream(streams.pods, move |pod: Pod| for_pod(&p1, &c1, &pod))
        .watches_stream(streams.deployments, move |d: Deployment| {
            for_workload(&p2, TargetKind::Deployment, &d)
        })
        .watches_stream(streams.statefulsets, move |s: StatefulSet| {
            for_workload(&p3, TargetKind::StatefulSet, &s)
        })
        .watches_stream(streams.daemonsets, move |d: DaemonSet| {
            for_workload(&p4, TargetKind::DaemonSet, &d)
        })
        .watches_stream(
            departures.map(Ok::<_, watcher::Error>),
            move |gone: AttunePolicy| for_departed(&p5, &c2, &gone),
        )
        .graceful_shutdown_on(stop)
        .run(reconcile::reconcile, reconcile::error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "controller event");
            }
        })
        .await;
    sweeper.abort();
    if let Some(recommending) = recommending {
        recommending.abort();
    }
    Ok(())
}

/// Changed objects of one kind, as a watch reports them.
type Changes<K> = futures::stream::BoxStream<'static, Result<K, watcher::Error>>;

/// The change streams of the watched objects: each keeps its cache current as it is polled.
struct Streams {
    pods: Changes<Pod>,
    deployments: Changes<Deployment>,
    statefulsets: Changes<StatefulSet>,
    daemonsets: Changes<DaemonSet>,
}

/// Watches pods and the three workload kinds into trimmed caches.
fn watch_objects(client: &kube::Client) -> (Caches, Streams) {
    // Quorum lists in pages of 500: an `any_semantic` list is served from the watch cache in
    // one piece, and for 10,000 pods that one response was most of the controller's peak
    // memory.
    let wc = watcher::Config::default;
    let (pod_reader, mut pod_writer) = pods::pod_store();
    let (d_store, d_writer) = reflector::store::<Deployment>();
    let (s_store, s_writer) = reflector::store::<StatefulSet>();
    let (ds_store, ds_writer) = reflector::store::<DaemonSet>();
    let caches = Caches {
        pods: pod_reader,
        deployments: d_store,
        statefulsets: s_store,
        daemonsets: ds_store,
    };

    let pods = watcher(Api::<Pod>::all(client.clone()), wc())
        .map_ok(move |event| {
            pod_writer.apply(&event);
            event
        })
        .touched_objects();
    let deployments = watcher(Api::<Deployment>::all(client.clone()), wc())
        .modify(cache::trim_deployment)
        .reflect(d_writer)
        .touched_objects();
    let statefulsets = watcher(Api::<StatefulSet>::all(client.clone()), wc())
        .modify(cache::trim_statefulset)
        .reflect(s_writer)
        .touched_objects();
    let daemonsets = watcher(Api::<DaemonSet>::all(client.clone()), wc())
        .modify(cache::trim_daemonset)
        .reflect(ds_writer)
        .touched_objects();

    let streams = Streams {
        pods: pods.boxed(),
        deployments: deployments.boxed(),
        statefulsets: statefulsets.boxed(),
        daemonsets: daemonsets.boxed(),
    };
    (caches, streams)
}

const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

async fn sweep(policies: Store<AttunePolicy>, ctx: Arc<Context>) {
    loop {
        tokio::time::sleep(SWEEP_EVERY).await;
        let alive: Vec<Arc<AttunePolicy>> = policies.state();
        let uids = alive
            .iter()
            .filter_map(|p| p.metadata.uid.clone())
            .collect();
        ctx.gitops.keep_policies(&uids);
        let keys: std::collections::HashSet<String> = alive
            .iter()
            .map(|p| format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any()))
            .collect();
        let mut skips = ctx.skips.lock().unwrap_or_else(|e| e.into_inner());
        skips.retain(|k, _| keys.contains(k));
    }
}

/// `graceful_shutdown_on` wants a `Sync` future; ours need not be, so a task waits on it.
fn shutdown_signal(
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> impl Future<Output = ()> + Send + Sync + 'static {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(());
    });
    async move {
        let _ = rx.await;
    }
}

/// Policies in the object's namespace whose target is this workload.
fn matching(policies: &Store<AttunePolicy>, workload: &Candidate) -> Vec<ObjectRef<AttunePolicy>> {
    policies
        .state()
        .iter()
        .filter(|p| targets::targets(p, workload).unwrap_or(false))
        .map(|p| ObjectRef::from_obj(p.as_ref()))
        .collect()
}

fn for_workload<K: Resource + serde::Serialize>(
    policies: &Store<AttunePolicy>,
    kind: TargetKind,
    object: &K,
) -> Vec<ObjectRef<AttunePolicy>> {
    let meta = object.meta();
    let workload = Candidate {
        kind,
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        labels: meta.labels.clone().unwrap_or_default(),
        annotations: Default::default(),
        selector: None,
        object: serde_json::Value::Null,
    };
    matching(policies, &workload)
}

/// A policy that went (or is going) maps to the policies that may own its workloads now.
fn for_departed(
    policies: &Store<AttunePolicy>,
    caches: &Caches,
    gone: &AttunePolicy,
) -> Vec<ObjectRef<AttunePolicy>> {
    let all = policies.state();
    let candidates = caches.candidates(&gone.namespace().unwrap_or_default());
    super::fields::rivals(&all, &candidates, gone)
        .into_iter()
        .map(ObjectRef::from_obj)
        .collect()
}

/// A pod maps to the policies targeting its owning workload (its labels come from the cached
/// workload, since a selector-based policy selects workloads, not pods).
fn for_pod(
    policies: &Store<AttunePolicy>,
    caches: &Caches,
    pod: &Pod,
) -> Vec<ObjectRef<AttunePolicy>> {
    let Some((kind, name)) = targets::owner_of(pod) else {
        return Vec::new();
    };
    let namespace = pod.namespace().unwrap_or_default();
    let labels = caches.labels_of(kind, &namespace, &name);
    let workload = Candidate {
        kind,
        namespace,
        name,
        labels,
        annotations: Default::default(),
        selector: None,
        object: serde_json::Value::Null,
    };
    matching(policies, &workload)
}
