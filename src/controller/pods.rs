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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use k8s_openapi::api::core::v1::{
    Container, ContainerResizePolicy, ContainerState, ContainerStateTerminated, ContainerStatus,
    Pod, PodCondition, PodSpec, PodStatus, ResourceClaim, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use kube::runtime::watcher;

/// Annotations a pod keeps in the cache: the ones the resize step writes and reads.
const KEPT_ANNOTATION_PREFIX: &str = "attune.io/";
/// Applied pods between two sweeps of strings no pod uses any more.
const PRUNE_EVERY: u32 = 10_000;

/// Text in the cache: shared between pods where it repeats (namespaces, label keys and values,
/// owners, quantities, phases), so ten thousand pods do not hold ten thousand copies of "cpu".
pub type Text = Arc<str>;
type Pairs = Vec<(Text, Text)>;

/// One copy of each repeated string.
#[derive(Default)]
pub struct Interner {
    strings: HashSet<Text>,
}

impl Interner {
    fn text(&mut self, s: &str) -> Text {
        if let Some(t) = self.strings.get(s) {
            return Arc::clone(t);
        }
        let t: Text = Arc::from(s);
        self.strings.insert(Arc::clone(&t));
        t
    }

    fn opt(&mut self, s: &Option<String>) -> Option<Text> {
        s.as_deref().map(|s| self.text(s))
    }

    fn pairs<V>(
        &mut self,
        map: &BTreeMap<String, V>,
        keep: impl Fn(&str) -> bool,
        value: impl Fn(&V) -> &str,
    ) -> Pairs {
        let mut out: Pairs = map
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(k, v)| (self.text(k), self.text(value(v))))
            .collect();
        out.shrink_to_fit();
        out
    }

    /// Forgets the strings that only the interner still holds.
    fn prune(&mut self) {
        self.strings.retain(|s| Arc::strong_count(s) > 1);
        self.strings.shrink_to_fit();
    }
}

fn string(t: &Option<Text>) -> Option<String> {
    t.as_deref().map(str::to_owned)
}

fn map<V>(pairs: &[(Text, Text)], value: impl Fn(&str) -> V) -> BTreeMap<String, V> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), value(v)))
        .collect()
}

/// A pod as the cache keeps it. Maps are sorted vectors; `None` and empty stay distinct, so
/// [`CachedPod::to_pod`] gives back exactly the trimmed pod.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedPod {
    pub name: Text,
    pub namespace: Text,
    generate_name: Option<Text>,
    uid: Option<Box<str>>,
    resource_version: Option<Box<str>>,
    generation: Option<i64>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
    deletion_grace_period_seconds: Option<i64>,
    labels: Option<Pairs>,
    annotations: Option<Pairs>,
    owner_references: Option<Vec<CachedOwner>>,
    finalizers: Option<Vec<Text>>,
    spec: Option<Box<CachedSpec>>,
    status: Option<CachedStatus>,
}

/// An owner reference.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedOwner {
    api_version: Text,
    pub kind: Text,
    pub name: Text,
    uid: Text,
    controller: Option<bool>,
    block_owner_deletion: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
struct CachedSpec {
    containers: Vec<CachedContainer>,
    init_containers: Option<Vec<CachedContainer>>,
    /// Pod-level resources are rare; boxed so that most pods pay a pointer.
    resources: Option<Box<ResourceRequirements>>,
    node_name: Option<Text>,
}

#[derive(Debug, Clone, PartialEq)]
struct CachedContainer {
    name: Text,
    /// `None`: no `resources` at all.
    resources: Option<CachedResources>,
    /// (resource name, restart policy)
    resize_policy: Option<Pairs>,
    restart_policy: Option<Text>,
}

#[derive(Debug, Clone, PartialEq)]
struct CachedResources {
    requests: Option<Pairs>,
    limits: Option<Pairs>,
    claims: Option<Vec<ResourceClaim>>,
}

#[derive(Debug, Clone, PartialEq)]
struct CachedStatus {
    phase: Option<Text>,
    conditions: Option<Vec<CachedCondition>>,
    qos_class: Option<Text>,
    /// What the auto-revert watch reads of each container: readiness, restarts, last exit.
    container_statuses: Option<Vec<CachedContainerStatus>>,
}

/// A container's readiness, restart count and why it last terminated.
#[derive(Debug, Clone, PartialEq)]
struct CachedContainerStatus {
    name: Text,
    ready: bool,
    restart_count: i32,
    /// `lastState.terminated`: reason (e.g. OOMKilled), exit code and when it finished.
    last_terminated: Option<(Option<Text>, i32, Option<Time>)>,
}

#[derive(Debug, Clone, PartialEq)]
struct CachedCondition {
    type_: Text,
    status: Text,
    reason: Option<Text>,
    message: Option<Box<str>>,
    last_probe_time: Option<Time>,
    last_transition_time: Option<Time>,
    observed_generation: Option<i64>,
}

impl CachedContainer {
    fn of(c: &Container, t: &mut Interner) -> CachedContainer {
        CachedContainer {
            name: t.text(&c.name),
            resources: c.resources.as_ref().map(|r| CachedResources {
                requests: r.requests.as_ref().map(|m| t.pairs(m, |_| true, |q| &q.0)),
                limits: r.limits.as_ref().map(|m| t.pairs(m, |_| true, |q| &q.0)),
                claims: r.claims.clone(),
            }),
            resize_policy: c.resize_policy.as_ref().map(|ps| {
                ps.iter()
                    .map(|p| (t.text(&p.resource_name), t.text(&p.restart_policy)))
                    .collect()
            }),
            restart_policy: t.opt(&c.restart_policy),
        }
    }

    fn to_container(&self) -> Container {
        let quantity = |v: &str| Quantity(v.to_owned());
        Container {
            name: self.name.to_string(),
            resources: self.resources.as_ref().map(|r| ResourceRequirements {
                requests: r.requests.as_deref().map(|p| map(p, quantity)),
                limits: r.limits.as_deref().map(|p| map(p, quantity)),
                claims: r.claims.clone(),
            }),
            resize_policy: self.resize_policy.as_ref().map(|ps| {
                ps.iter()
                    .map(|(resource, policy)| ContainerResizePolicy {
                        resource_name: resource.to_string(),
                        restart_policy: policy.to_string(),
                    })
                    .collect()
            }),
            restart_policy: string(&self.restart_policy),
            ..Container::default()
        }
    }
}

impl CachedContainerStatus {
    fn of(c: &ContainerStatus, t: &mut Interner) -> CachedContainerStatus {
        CachedContainerStatus {
            name: t.text(&c.name),
            ready: c.ready,
            restart_count: c.restart_count,
            last_terminated: c
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .map(|t2| (t.opt(&t2.reason), t2.exit_code, t2.finished_at.clone())),
        }
    }

    fn to_status(&self) -> ContainerStatus {
        ContainerStatus {
            name: self.name.to_string(),
            ready: self.ready,
            restart_count: self.restart_count,
            last_state: self
                .last_terminated
                .as_ref()
                .map(|(reason, exit_code, finished_at)| ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        reason: string(reason),
                        exit_code: *exit_code,
                        finished_at: finished_at.clone(),
                        ..ContainerStateTerminated::default()
                    }),
                    ..ContainerState::default()
                }),
            ..ContainerStatus::default()
        }
    }
}

impl CachedCondition {
    fn of(c: &PodCondition, t: &mut Interner) -> CachedCondition {
        CachedCondition {
            type_: t.text(&c.type_),
            status: t.text(&c.status),
            reason: t.opt(&c.reason),
            message: c.message.as_deref().map(Box::from),
            last_probe_time: c.last_probe_time.clone(),
            last_transition_time: c.last_transition_time.clone(),
            observed_generation: c.observed_generation,
        }
    }

    fn to_condition(&self) -> PodCondition {
        PodCondition {
            type_: self.type_.to_string(),
            status: self.status.to_string(),
            reason: string(&self.reason),
            message: self.message.as_deref().map(str::to_owned),
            last_probe_time: self.last_probe_time.clone(),
            last_transition_time: self.last_transition_time.clone(),
            observed_generation: self.observed_generation,
        }
    }
}

impl CachedOwner {
    fn of(o: &OwnerReference, t: &mut Interner) -> CachedOwner {
        CachedOwner {
            api_version: t.text(&o.api_version),
            kind: t.text(&o.kind),
            name: t.text(&o.name),
            uid: t.text(&o.uid),
            controller: o.controller,
            block_owner_deletion: o.block_owner_deletion,
        }
    }

    fn to_owner(&self) -> OwnerReference {
        OwnerReference {
            api_version: self.api_version.to_string(),
            kind: self.kind.to_string(),
            name: self.name.to_string(),
            uid: self.uid.to_string(),
            controller: self.controller,
            block_owner_deletion: self.block_owner_deletion,
        }
    }
}

impl CachedPod {
    /// What the cache keeps of `pod` (with strings of its own; the store shares them).
    pub fn of(pod: &Pod) -> CachedPod {
        CachedPod::interned(pod, &mut Interner::default())
    }

    fn interned(pod: &Pod, t: &mut Interner) -> CachedPod {
        let m = &pod.metadata;
        let boxed = |s: &Option<String>| s.as_deref().map(Box::from);
        CachedPod {
            // Unique per pod: not worth a slot in the interner.
            name: Arc::from(m.name.as_deref().unwrap_or_default()),
            namespace: t.text(m.namespace.as_deref().unwrap_or_default()),
            generate_name: t.opt(&m.generate_name),
            uid: boxed(&m.uid),
            resource_version: boxed(&m.resource_version),
            generation: m.generation,
            creation_timestamp: m.creation_timestamp.clone(),
            deletion_timestamp: m.deletion_timestamp.clone(),
            deletion_grace_period_seconds: m.deletion_grace_period_seconds,
            labels: m
                .labels
                .as_ref()
                .map(|l| t.pairs(l, |_| true, String::as_str)),
            annotations: m
                .annotations
                .as_ref()
                .map(|a| t.pairs(a, |k| k.starts_with(KEPT_ANNOTATION_PREFIX), String::as_str)),
            owner_references: m
                .owner_references
                .as_ref()
                .map(|os| os.iter().map(|o| CachedOwner::of(o, t)).collect()),
            finalizers: m
                .finalizers
                .as_ref()
                .map(|fs| fs.iter().map(|f| t.text(f)).collect()),
            spec: pod.spec.as_ref().map(|s| {
                Box::new(CachedSpec {
                    containers: s
                        .containers
                        .iter()
                        .map(|c| CachedContainer::of(c, t))
                        .collect(),
                    init_containers: s
                        .init_containers
                        .as_ref()
                        .map(|cs| cs.iter().map(|c| CachedContainer::of(c, t)).collect()),
                    resources: s.resources.clone().map(Box::new),
                    node_name: t.opt(&s.node_name),
                })
            }),
            status: pod.status.as_ref().map(|s| CachedStatus {
                phase: t.opt(&s.phase),
                conditions: s
                    .conditions
                    .as_ref()
                    .map(|cs| cs.iter().map(|c| CachedCondition::of(c, t)).collect()),
                qos_class: t.opt(&s.qos_class),
                container_statuses: s
                    .container_statuses
                    .as_ref()
                    .map(|cs| cs.iter().map(|c| CachedContainerStatus::of(c, t)).collect()),
            }),
        }
    }

    /// The trimmed pod: identity, labels, owners, `attune.io/` annotations, container
    /// resources and resize policies, phase, conditions, QoS class and, of each container's
    /// status, its readiness, restart count and last termination.
    pub fn to_pod(&self) -> Pod {
        let text = |v: &str| v.to_owned();
        let nonempty = |t: &Text| Some(t.to_string()).filter(|s| !s.is_empty());
        Pod {
            metadata: ObjectMeta {
                name: nonempty(&self.name),
                namespace: nonempty(&self.namespace),
                generate_name: string(&self.generate_name),
                uid: self.uid.as_deref().map(str::to_owned),
                resource_version: self.resource_version.as_deref().map(str::to_owned),
                generation: self.generation,
                creation_timestamp: self.creation_timestamp.clone(),
                deletion_timestamp: self.deletion_timestamp.clone(),
                deletion_grace_period_seconds: self.deletion_grace_period_seconds,
                labels: self.labels.as_deref().map(|p| map(p, text)),
                annotations: self.annotations.as_deref().map(|p| map(p, text)),
                owner_references: self
                    .owner_references
                    .as_ref()
                    .map(|os| os.iter().map(CachedOwner::to_owner).collect()),
                finalizers: self
                    .finalizers
                    .as_ref()
                    .map(|fs| fs.iter().map(|f| f.to_string()).collect()),
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
                node_name: string(&s.node_name),
                ..PodSpec::default()
            }),
            status: self.status.as_ref().map(|s| PodStatus {
                phase: string(&s.phase),
                conditions: s
                    .conditions
                    .as_ref()
                    .map(|cs| cs.iter().map(CachedCondition::to_condition).collect()),
                qos_class: string(&s.qos_class),
                container_statuses: s
                    .container_statuses
                    .as_ref()
                    .map(|cs| cs.iter().map(CachedContainerStatus::to_status).collect()),
                ..PodStatus::default()
            }),
        }
    }

    /// The value of one label.
    pub fn label(&self, key: &str) -> Option<&str> {
        let labels = self.labels.as_deref()?;
        labels
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &*labels[i].1)
    }

    /// The owner reference with `controller: true`, if any.
    pub fn controller_owner(&self) -> Option<&CachedOwner> {
        self.owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
    }
}

type ByName = BTreeMap<Text, Arc<CachedPod>>;

#[derive(Default)]
struct State {
    by_namespace: HashMap<Text, ByName>,
    /// A relist in progress: the pods it has delivered so far.
    relist: Option<HashMap<Text, ByName>>,
    strings: Interner,
    since_prune: u32,
}

fn insert(into: &mut HashMap<Text, ByName>, pod: CachedPod) {
    into.entry(Arc::clone(&pod.namespace))
        .or_default()
        .insert(Arc::clone(&pod.name), Arc::new(pod));
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
        let mut guard = self.state.write().unwrap_or_else(|e| e.into_inner());
        let state = &mut *guard;
        match event {
            watcher::Event::Init => state.relist = Some(HashMap::new()),
            watcher::Event::InitApply(pod) => {
                let pod = CachedPod::interned(pod, &mut state.strings);
                insert(state.relist.get_or_insert_with(HashMap::new), pod);
            }
            watcher::Event::InitDone => {
                if let Some(relist) = state.relist.take() {
                    state.by_namespace = relist;
                }
                state.strings.prune();
                state.since_prune = 0;
                drop(guard);
                self.ready.send_replace(true);
            }
            watcher::Event::Apply(pod) => {
                let pod = CachedPod::interned(pod, &mut state.strings);
                insert(&mut state.by_namespace, pod);
                state.since_prune += 1;
                if state.since_prune >= PRUNE_EVERY {
                    state.strings.prune();
                    state.since_prune = 0;
                }
            }
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
