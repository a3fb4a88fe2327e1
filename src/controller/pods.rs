//! The pod cache. A watch reports every pod of the cluster; a reconcile needs, of each, its
//! identity, labels, controller owner, `attune.io/` annotations, container resources and resize
//! policies, and the phase and conditions a resize is reported in. A k8s-openapi `Pod` keeps
//! even a trimmed pod in a struct of about 2 KiB plus one B-tree node per map, which made the
//! pod cache most of the controller's memory with 10,000 pods; [`CachedPod`] holds the same
//! facts in flat vectors, and [`CachedPod::to_pod`] gives a reconcile back the trimmed `Pod`
//! the resize decision reads, for the pods of its own workloads only.
//!
//! [`pod_store`] is a reflector in the manner of kube's: a writer applies watch events (a
//! relist replaces the contents when it completes), readers see pods by namespace and can
//! wait for the first complete list. This module knows nothing of policies or decisions.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use k8s_openapi::api::core::v1::{
    Container, ContainerResizePolicy, Pod, PodCondition, PodSpec, PodStatus, ResourceClaim,
    ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use kube::runtime::watcher;

/// Annotations a pod keeps in the cache: the ones the resize step writes and reads.
const KEPT_ANNOTATION_PREFIX: &str = "attune.io/";

type Pairs = Vec<(String, String)>;
type Amounts = Vec<(String, Quantity)>;

/// A pod as the cache keeps it. Maps are sorted vectors; `None` and empty stay distinct, so
/// [`CachedPod::to_pod`] gives back exactly the trimmed pod.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedPod {
    pub name: String,
    pub namespace: String,
    generate_name: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    generation: Option<i64>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
    deletion_grace_period_seconds: Option<i64>,
    labels: Option<Pairs>,
    annotations: Option<Pairs>,
    owner_references: Option<Vec<OwnerReference>>,
    finalizers: Option<Vec<String>>,
    spec: Option<CachedSpec>,
    status: Option<CachedStatus>,
}

#[derive(Debug, Clone, PartialEq)]
struct CachedSpec {
    containers: Vec<CachedContainer>,
    init_containers: Option<Vec<CachedContainer>>,
    /// Pod-level resources are rare; boxed so that most pods pay a pointer.
    resources: Option<Box<ResourceRequirements>>,
    node_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct CachedContainer {
    name: String,
    /// `None`: no `resources` at all.
    resources: Option<CachedResources>,
    resize_policy: Option<Vec<ContainerResizePolicy>>,
    restart_policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct CachedResources {
    requests: Option<Amounts>,
    limits: Option<Amounts>,
    claims: Option<Vec<ResourceClaim>>,
}

#[derive(Debug, Clone, PartialEq)]
struct CachedStatus {
    phase: Option<String>,
    conditions: Option<Vec<PodCondition>>,
    qos_class: Option<String>,
}

fn pairs<V: Clone>(map: &BTreeMap<String, V>, keep: impl Fn(&str) -> bool) -> Vec<(String, V)> {
    let mut out: Vec<(String, V)> = map
        .iter()
        .filter(|(k, _)| keep(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.shrink_to_fit();
    out
}

fn map<V: Clone>(pairs: &[(String, V)]) -> BTreeMap<String, V> {
    pairs.iter().cloned().collect()
}

impl CachedContainer {
    fn of(c: &Container) -> CachedContainer {
        CachedContainer {
            name: c.name.clone(),
            resources: c.resources.as_ref().map(|r| CachedResources {
                requests: r.requests.as_ref().map(|m| pairs(m, |_| true)),
                limits: r.limits.as_ref().map(|m| pairs(m, |_| true)),
                claims: r.claims.clone(),
            }),
            resize_policy: c.resize_policy.clone(),
            restart_policy: c.restart_policy.clone(),
        }
    }

    fn to_container(&self) -> Container {
        Container {
            name: self.name.clone(),
            resources: self.resources.as_ref().map(|r| ResourceRequirements {
                requests: r.requests.as_deref().map(map),
                limits: r.limits.as_deref().map(map),
                claims: r.claims.clone(),
            }),
            resize_policy: self.resize_policy.clone(),
            restart_policy: self.restart_policy.clone(),
            ..Container::default()
        }
    }
}

impl CachedPod {
    /// What the cache keeps of `pod`.
    pub fn of(pod: &Pod) -> CachedPod {
        let m = &pod.metadata;
        CachedPod {
            name: m.name.clone().unwrap_or_default(),
            namespace: m.namespace.clone().unwrap_or_default(),
            generate_name: m.generate_name.clone(),
            uid: m.uid.clone(),
            resource_version: m.resource_version.clone(),
            generation: m.generation,
            creation_timestamp: m.creation_timestamp.clone(),
            deletion_timestamp: m.deletion_timestamp.clone(),
            deletion_grace_period_seconds: m.deletion_grace_period_seconds,
            labels: m.labels.as_ref().map(|l| pairs(l, |_| true)),
            annotations: m
                .annotations
                .as_ref()
                .map(|a| pairs(a, |k| k.starts_with(KEPT_ANNOTATION_PREFIX))),
            owner_references: m.owner_references.clone(),
            finalizers: m.finalizers.clone(),
            spec: pod.spec.as_ref().map(|s| CachedSpec {
                containers: s.containers.iter().map(CachedContainer::of).collect(),
                init_containers: s
                    .init_containers
                    .as_ref()
                    .map(|cs| cs.iter().map(CachedContainer::of).collect()),
                resources: s.resources.clone().map(Box::new),
                node_name: s.node_name.clone(),
            }),
            status: pod.status.as_ref().map(|s| CachedStatus {
                phase: s.phase.clone(),
                conditions: s.conditions.clone(),
                qos_class: s.qos_class.clone(),
            }),
        }
    }

    /// The trimmed pod: identity, labels, owners, `attune.io/` annotations, container
    /// resources and resize policies, phase, conditions and QoS class.
    pub fn to_pod(&self) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(self.name.clone()).filter(|n| !n.is_empty()),
                namespace: Some(self.namespace.clone()).filter(|n| !n.is_empty()),
                generate_name: self.generate_name.clone(),
                uid: self.uid.clone(),
                resource_version: self.resource_version.clone(),
                generation: self.generation,
                creation_timestamp: self.creation_timestamp.clone(),
                deletion_timestamp: self.deletion_timestamp.clone(),
                deletion_grace_period_seconds: self.deletion_grace_period_seconds,
                labels: self.labels.as_deref().map(map),
                annotations: self.annotations.as_deref().map(map),
                owner_references: self.owner_references.clone(),
                finalizers: self.finalizers.clone(),
                ..ObjectMeta::default()
            },
            spec: self.spec.as_ref().map(|s| PodSpec {
                containers: s
                    .containers
                    .iter()
                    .map(CachedContainer::to_container)
                    .collect(),
                init_containers: s
                    .init_containers
                    .as_ref()
                    .map(|cs| cs.iter().map(CachedContainer::to_container).collect()),
                resources: s.resources.as_deref().cloned(),
                node_name: s.node_name.clone(),
                ..PodSpec::default()
            }),
            status: self.status.as_ref().map(|s| PodStatus {
                phase: s.phase.clone(),
                conditions: s.conditions.clone(),
                qos_class: s.qos_class.clone(),
                ..PodStatus::default()
            }),
        }
    }

    /// The value of one label.
    pub fn label(&self, key: &str) -> Option<&str> {
        let labels = self.labels.as_deref()?;
        labels
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| labels[i].1.as_str())
    }

    /// The owner reference with `controller: true`, if any.
    pub fn controller_owner(&self) -> Option<&OwnerReference> {
        self.owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
    }
}

type ByName = BTreeMap<String, Arc<CachedPod>>;

#[derive(Default)]
struct State {
    by_namespace: HashMap<String, ByName>,
    /// A relist in progress: the pods it has delivered so far.
    relist: Option<HashMap<String, ByName>>,
}

fn insert(into: &mut HashMap<String, ByName>, pod: CachedPod) {
    into.entry(pod.namespace.clone())
        .or_default()
        .insert(pod.name.clone(), Arc::new(pod));
}

/// Reads the pod cache; cheap to clone.
#[derive(Clone)]
pub struct PodReader {
    state: Arc<RwLock<State>>,
    ready: tokio::sync::watch::Receiver<bool>,
}

/// Applies watch events to the pod cache. Dropping it marks the cache ready: nothing more
/// will come.
pub struct PodWriter {
    state: Arc<RwLock<State>>,
    ready: tokio::sync::watch::Sender<bool>,
}

/// An empty pod cache and the writer that fills it.
pub fn pod_store() -> (PodReader, PodWriter) {
    let state = Arc::new(RwLock::new(State::default()));
    let (tx, rx) = tokio::sync::watch::channel(false);
    (
        PodReader {
            state: Arc::clone(&state),
            ready: rx,
        },
        PodWriter { state, ready: tx },
    )
}

impl PodWriter {
    pub fn apply(&mut self, event: &watcher::Event<Pod>) {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        match event {
            watcher::Event::Init => state.relist = Some(HashMap::new()),
            watcher::Event::InitApply(pod) => {
                let relist = state.relist.get_or_insert_with(HashMap::new);
                insert(relist, CachedPod::of(pod));
            }
            watcher::Event::InitDone => {
                if let Some(relist) = state.relist.take() {
                    state.by_namespace = relist;
                }
                drop(state);
                self.ready.send_replace(true);
            }
            watcher::Event::Apply(pod) => insert(&mut state.by_namespace, CachedPod::of(pod)),
            watcher::Event::Delete(pod) => {
                let (namespace, name) = (
                    pod.metadata.namespace.as_deref().unwrap_or_default(),
                    pod.metadata.name.as_deref().unwrap_or_default(),
                );
                if let Some(pods) = state.by_namespace.get_mut(namespace) {
                    pods.remove(name);
                    if pods.is_empty() {
                        state.by_namespace.remove(namespace);
                    }
                }
            }
        }
    }
}

impl PodReader {
    /// Pods in `namespace`, by name.
    pub fn in_namespace(&self, namespace: &str) -> Vec<Arc<CachedPod>> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state
            .by_namespace
            .get(namespace)
            .map(|pods| pods.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Every pod in the cache.
    pub fn len(&self) -> usize {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state.by_namespace.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits for the first complete list (or for the writer to go away).
    pub async fn wait_until_ready(&self) {
        let mut ready = self.ready.clone();
        let _ = ready.wait_for(|r| *r).await;
    }
}
