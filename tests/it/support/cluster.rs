//! Harness for tests against the real test control plane (tests/cluster, started by tests/run):
//! a client from the environment, a throw-away namespace per test, our CRDs, Deployments whose
//! pods the controller-manager creates (they stay Pending: no scheduler, no kubelet), policies
//! whose status the test writes in the recommender's place, and polling with a loud timeout.

use std::fmt::Debug;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use attune::crd::{AttunePolicy, Condition, WorkloadRecommendation};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Namespace, Pod, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Field manager of everything the tests write, except the recommender's status.
pub const TEST_MANAGER: &str = "attune-e2e";
/// Field manager of `status.recommendations`: the test stands in for the recommender.
pub const RECOMMENDER_MANAGER: &str = "attune-e2e-recommender";

/// A client for the cluster tests/run started. Panics, never skips, when there is none.
pub async fn client() -> Client {
    if std::env::var_os("KUBECONFIG").is_none() || std::env::var_os("ATTUNE_KUBE_SERVER").is_none()
    {
        panic!(
            "KUBECONFIG / ATTUNE_KUBE_SERVER are not set: this test needs the test control plane; \
             run via tests/run (it starts tests/cluster/up.sh and exports cluster.env)"
        );
    }
    // The dependency graph enables both of rustls's providers, so one must be chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::try_default()
        .await
        .expect("a kube client from KUBECONFIG (run via tests/run)")
}

/// A short random suffix for names that must not collide across tests and runs.
pub fn suffix() -> String {
    let n = RandomState::new().hash_one((std::process::id(), SystemTime::now()));
    format!("{:08x}", n as u32)
}

/// Polls `probe` until it returns `Ok`, then returns its value. On timeout, panics with what
/// was awaited and the last `Err` the probe gave (its view of the object).
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Server-side applies `object` as [`TEST_MANAGER`], taking over conflicting fields.
pub async fn apply<K>(api: &Api<K>, object: &K) -> K
where
    K: Resource + Clone + DeserializeOwned + Serialize + Debug,
{
    let name = object.meta().name.clone().expect("object has a name");
    api.patch(
        &name,
        &PatchParams::apply(TEST_MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .unwrap_or_else(|e| panic!("apply {name}: {e}"))
}

/// Creates namespace `name` unless it exists (shared ones such as `argocd`).
pub async fn ensure_namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    match api.create(&PostParams::default(), &ns).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.is_already_exists() => {}
        Err(e) => panic!("create namespace {name}: {e}"),
    }
}

/// A fresh namespace for one test. Dropping it (also while a test panics) deletes the
/// namespace and every object registered with [`TestNamespace::delete_later`].
pub struct TestNamespace {
    pub name: String,
    pub client: Client,
    /// Objects outside the namespace, deleted with it.
    others: Mutex<Vec<(ApiResource, String, String)>>,
}

impl TestNamespace {
    pub async fn new(client: &Client, prefix: &str) -> TestNamespace {
        TestNamespace::fixed(client, &format!("{prefix}-{}", suffix())).await
    }

    /// A namespace with exactly this name (data keyed by namespace, as the backfilled
    /// Prometheus history's `shop`); only one test may use a given name.
    pub async fn fixed(client: &Client, name: &str) -> TestNamespace {
        let name = name.to_owned();
        let api: Api<Namespace> = Api::all(client.clone());
        let ns: Namespace = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"attune.io/e2e": "true"}}
        }))
        .unwrap();
        api.create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("create namespace {name}: {e}"));
        // Pods need the namespace's default ServiceAccount, which the controller-manager adds.
        let sas: Api<k8s_openapi::api::core::v1::ServiceAccount> =
            Api::namespaced(client.clone(), &name);
        eventually(
            "the default ServiceAccount",
            Duration::from_secs(30),
            || async {
                sas.get_opt("default")
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| "absent".to_owned())
            },
        )
        .await;
        TestNamespace {
            name,
            client: client.clone(),
            others: Mutex::new(Vec::new()),
        }
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }

    /// Deletes `namespace/name` of `resource` when the test ends.
    pub fn delete_later(&self, resource: &ApiResource, namespace: &str, name: &str) {
        self.others
            .lock()
            .unwrap()
            .push((resource.clone(), namespace.to_owned(), name.to_owned()));
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let name = self.name.clone();
        let others = std::mem::take(&mut *self.others.lock().unwrap_or_else(|p| p.into_inner()));
        // Drop cannot await, and the test's runtime may be the current-thread kind that this
        // very call blocks: delete from a thread with its own runtime and its own client (a
        // kube client's worker task lives on the runtime that built it).
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let Ok(client) = Client::try_default().await else {
                    return;
                };
                for (resource, ns, object) in others {
                    let api: Api<DynamicObject> =
                        Api::namespaced_with(client.clone(), &ns, &resource);
                    let _ = api.delete(&object, &DeleteParams::default()).await;
                }
                let api: Api<Namespace> = Api::all(client);
                if let Err(e) = api.delete(&name, &DeleteParams::default()).await {
                    eprintln!("cleanup: deleting namespace {name}: {e}");
                }
            })
        });
        let _ = done.join();
    }
}

fn crd_established(crd: &CustomResourceDefinition) -> bool {
    crd.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        })
}

/// Installs (or updates) our AttunePolicy CRD and the test stand-ins for the Argo CD and Flux
/// CRDs in tests/cluster/crds, and waits until each is Established and served. Idempotent:
/// server-side apply, so a second test or a rerun on the same cluster changes nothing.
pub async fn install_crds(client: &Client) {
    let mut crds: Vec<CustomResourceDefinition> =
        vec![serde_saphyr::from_str(&attune::crd::crd_yaml().unwrap()).unwrap()];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster/crds");
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        crds.push(serde_saphyr::from_str(&text).unwrap());
    }
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in &crds {
        apply(&api, crd).await;
    }
    for crd in &crds {
        let name = crd.name_any();
        let gv = format!("{}/{}", crd.spec.group, crd.spec.versions[0].name);
        eventually(
            &format!("CRD {name} Established and {gv} served"),
            Duration::from_secs(30),
            || async {
                let live = api.get(&name).await.map_err(|e| e.to_string())?;
                if !crd_established(&live) {
                    return Err(format!("{:?}", live.status));
                }
                client
                    .list_api_group_resources(&gv)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("established, discovery of {gv}: {e}"))
            },
        )
        .await;
    }
}

/// What a test Deployment looks like: one container `app` with the given requests/limits.
pub struct DeploymentSpec<'a> {
    pub name: &'a str,
    pub replicas: i32,
    pub labels: Value,
    pub annotations: Value,
    pub resources: Value,
}

impl DeploymentSpec<'_> {
    /// The Deployment as JSON (also what tests write into a GitOps repository).
    pub fn manifest(&self, namespace: &str) -> Value {
        let mut labels = self.labels.clone();
        labels["app"] = json!(self.name);
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": self.name,
                "namespace": namespace,
                "labels": labels,
                "annotations": self.annotations,
            },
            "spec": {
                "replicas": self.replicas,
                "selector": {"matchLabels": {"app": self.name}},
                "template": {
                    "metadata": {"labels": {"app": self.name}},
                    "spec": {
                        "containers": [{
                            "name": "app",
                            "image": "registry.invalid/attune/app:1.0",
                            "resources": self.resources,
                        }],
                    },
                },
            },
        })
    }
}

/// Creates the Deployment and waits until the controller-manager made all its pods.
pub async fn create_deployment(ns: &TestNamespace, spec: &DeploymentSpec<'_>) -> Vec<Pod> {
    let deployment: Deployment = serde_json::from_value(spec.manifest(&ns.name)).unwrap();
    ns.api::<Deployment>()
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap_or_else(|e| panic!("create deployment {}: {e}", spec.name));
    wait_for_pods(ns, spec.name, spec.replicas as usize).await
}

/// The pods of Deployment `app` (label `app=<app>`), once there are `count` of them.
pub async fn wait_for_pods(ns: &TestNamespace, app: &str, count: usize) -> Vec<Pod> {
    let pods = ns.api::<Pod>();
    let lp = ListParams::default().labels(&format!("app={app}"));
    eventually(
        &format!("{count} pods of {}/{app}", ns.name),
        Duration::from_secs(60),
        || async {
            let list = pods.list(&lp).await.map_err(|e| e.to_string())?;
            if list.items.len() == count {
                Ok(list.items)
            } else {
                Err(format!("{} pods", list.items.len()))
            }
        },
    )
    .await
}

/// Pods of `app` whose every container `app` satisfies `pred` on its `resources` (as JSON).
pub async fn wait_for_pod_resources(
    ns: &TestNamespace,
    app: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Vec<Pod> {
    let pods = ns.api::<Pod>();
    let lp = ListParams::default().labels(&format!("app={app}"));
    eventually(
        &format!("pods of {}/{app}: {what}", ns.name),
        Duration::from_secs(60),
        || async {
            let list = pods.list(&lp).await.map_err(|e| e.to_string())?;
            let seen: Vec<Value> = list
                .items
                .iter()
                .map(|p| {
                    let spec = serde_json::to_value(&p.spec).unwrap();
                    spec["containers"][0]["resources"].clone()
                })
                .collect();
            if !seen.is_empty() && seen.iter().all(&pred) {
                Ok(list.items)
            } else {
                Err(serde_json::to_string(&seen).unwrap())
            }
        },
    )
    .await
}

/// A Secret holding `token` under key `token` (what `tokenSecretRef` points at).
pub async fn create_token_secret(ns: &TestNamespace, name: &str, token: &str) {
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": name},
        "stringData": {"token": token},
    }))
    .unwrap();
    ns.api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await
        .unwrap_or_else(|e| panic!("create secret {name}: {e}"));
}

/// Creates or updates the policy's spec (metadata.namespace is set to the test's).
pub async fn apply_policy(ns: &TestNamespace, policy: &AttunePolicy) -> AttunePolicy {
    let mut policy = policy.clone();
    policy.metadata.namespace = Some(ns.name.clone());
    policy.status = None;
    apply(&ns.api::<AttunePolicy>(), &policy).await
}

/// Writes `status.recommendations` as the recommender would: a server-side apply on the status
/// subresource with its own field manager, so the controller's status fields stay its own.
pub async fn set_recommendations(
    ns: &TestNamespace,
    policy: &str,
    recommendations: &[WorkloadRecommendation],
) {
    let patch = json!({
        "apiVersion": "attune.io/v1alpha1",
        "kind": "AttunePolicy",
        "status": {"recommendations": recommendations},
    });
    ns.api::<AttunePolicy>()
        .patch_status(
            policy,
            &PatchParams::apply(RECOMMENDER_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .unwrap_or_else(|e| panic!("set recommendations of {policy}: {e}"));
}

/// The condition of `type_` in the policy's status.
pub fn condition<'a>(policy: &'a AttunePolicy, type_: &str) -> Option<&'a Condition> {
    policy
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
}

/// Waits until `pred` holds for the policy; on timeout the panic shows its last status.
pub async fn wait_for_policy(
    ns: &TestNamespace,
    name: &str,
    what: &str,
    timeout: Duration,
    pred: impl Fn(&AttunePolicy) -> bool,
) -> AttunePolicy {
    let api = ns.api::<AttunePolicy>();
    eventually(&format!("policy {name}: {what}"), timeout, || async {
        let policy = api.get(name).await.map_err(|e| e.to_string())?;
        if pred(&policy) {
            Ok(policy)
        } else {
            Err(format!(
                "status {}",
                serde_json::to_string(&policy.status).unwrap()
            ))
        }
    })
    .await
}

/// Waits until the policy's condition `type_` has `reason`.
pub async fn wait_for_condition(
    ns: &TestNamespace,
    policy: &str,
    type_: &str,
    reason: &str,
    timeout: Duration,
) -> AttunePolicy {
    wait_for_policy(
        ns,
        policy,
        &format!("condition {type_} with reason {reason}"),
        timeout,
        |p| condition(p, type_).and_then(|c| c.reason.as_deref()) == Some(reason),
    )
    .await
}

/// Every event about the object with `uid` in the test namespace (core/v1 view, which also
/// shows events written through events.k8s.io/v1), oldest first.
pub async fn events_for(ns: &TestNamespace, uid: &str) -> Vec<Event> {
    let lp = ListParams::default().fields(&format!("involvedObject.uid={uid}"));
    let mut events = ns
        .api::<Event>()
        .list(&lp)
        .await
        .unwrap_or_else(|e| panic!("list events of {uid}: {e}"))
        .items;
    events.sort_by_key(|e| e.metadata.creation_timestamp.clone());
    events
}

/// Waits until an event with `reason` exists for the object with `uid`.
pub async fn wait_for_event(ns: &TestNamespace, uid: &str, reason: &str) -> Event {
    eventually(
        &format!("an event {reason} on {uid}"),
        Duration::from_secs(60),
        || async {
            let events = events_for(ns, uid).await;
            events
                .iter()
                .find(|e| e.reason.as_deref() == Some(reason))
                .cloned()
                .ok_or_else(|| {
                    let seen: Vec<_> = events
                        .iter()
                        .map(|e| format!("{:?}: {:?}", e.reason, e.message))
                        .collect();
                    format!("{seen:?}")
                })
        },
    )
    .await
}

/// The policy's `status` as stored, including fields the typed struct does not know
/// (e.g. `status.gitops`).
pub async fn policy_status_json(ns: &TestNamespace, name: &str) -> Value {
    let resource = ApiResource::erase::<AttunePolicy>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(ns.client.clone(), &ns.name, &resource);
    let object = api
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("get policy {name}: {e}"));
    object.data["status"].clone()
}
