//! Harness for tests on the real node that tests/run starts (tests/node: containerd, kubelet and
//! kube-scheduler 1.35.4 beside the test control plane): busybox Deployments scheduled onto it,
//! waits on what the kubelet reports, and the cgroup files of a running container.
//!
//! The node's scheduler only takes pods whose `schedulerName` names it; every other test's pods
//! have no scheduler and stay Pending as before, so only [`NodeWorkload`] pods run here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, PostParams};
use serde_json::{Value, json};

use super::cluster::{TestNamespace, eventually};

/// How long a pod may take to start or a resize to be acted on. Measured: ~2 s to Running,
/// 1-3 s for a resize; the margin is for a machine busy with other builds.
pub const NODE_WAIT: Duration = Duration::from_secs(90);

/// The node tests/run started, from the variables tests/node/up.sh writes to node.env.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    /// The `schedulerName` that brings a pod to this node.
    pub scheduler: String,
    /// busybox, imported into containerd (never pulled).
    pub image: String,
    /// The kubelet's cgroupRoot, e.g. `/attune-1a2b3c4d`.
    pub cgroup_root: String,
    /// containerd's socket (`ctr --address`).
    pub containerd: String,
    /// The node's state dir (the kubelet writes pod logs to its `pod-logs`).
    pub state_dir: PathBuf,
}

impl Node {
    /// Panics, never skips, without the node.
    pub fn from_env() -> Node {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!(
                    "{name} is not set: this test needs the test node; run via tests/run (it \
                     starts tests/node/up.sh and exports node.env)"
                )
            })
        };
        Node {
            name: var("ATTUNE_NODE_NAME"),
            scheduler: var("ATTUNE_NODE_SCHEDULER"),
            image: var("ATTUNE_NODE_IMAGE"),
            cgroup_root: var("ATTUNE_NODE_CGROUP_ROOT"),
            containerd: var("ATTUNE_NODE_CONTAINERD"),
            state_dir: PathBuf::from(var("ATTUNE_NODE_STATE_DIR")),
        }
    }

    /// Imports a `docker save` archive into the node's containerd, in the namespace the
    /// kubelet uses (`k8s.io`), as a user without a registry would.
    pub fn import_image(&self, archive: &Path) {
        let out = std::process::Command::new("ctr")
            .args(["--address", &self.containerd, "--namespace", "k8s.io"])
            .args(["images", "import", "--no-unpack"])
            .arg(archive)
            .output()
            .unwrap_or_else(|e| panic!("run ctr: {e}"));
        assert!(
            out.status.success(),
            "ctr images import {}: {}",
            archive.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The last `lines` lines the kubelet logged for `container` of `pod` (`kubectl logs`
    /// cannot reach this kubelet; its log files can be read directly).
    pub fn container_log_tail(&self, pod: &Pod, container: &str, lines: usize) -> String {
        let meta = &pod.metadata;
        let dir = self.state_dir.join("pod-logs").join(format!(
            "{}_{}_{}",
            meta.namespace.as_deref().unwrap_or_default(),
            meta.name.as_deref().unwrap_or_default(),
            meta.uid.as_deref().unwrap_or_default()
        ));
        let Ok(entries) = std::fs::read_dir(dir.join(container)) else {
            return format!("(no log in {})", dir.display());
        };
        // One file per start of the container (0.log, 1.log, …), oldest first.
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        let mut text = String::new();
        for file in files {
            text.push_str(&std::fs::read_to_string(file).unwrap_or_default());
        }
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// A one-replica Deployment whose container `app` runs `sleep` in busybox on the node.
pub struct NodeWorkload<'a> {
    pub name: &'a str,
    pub resources: Value,
    /// `resizePolicy` of the container, or `Value::Null` for the default (NotRequired).
    pub resize_policy: Value,
}

impl NodeWorkload<'_> {
    pub fn manifest(&self, node: &Node, namespace: &str) -> Value {
        let mut container = json!({
            "name": "app",
            "image": node.image,
            "imagePullPolicy": "Never",
            "command": ["sleep", "3600"],
            "resources": self.resources,
        });
        if !self.resize_policy.is_null() {
            container["resizePolicy"] = self.resize_policy.clone();
        }
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": self.name, "namespace": namespace},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": self.name}},
                "template": {
                    "metadata": {"labels": {"app": self.name}},
                    "spec": {
                        "schedulerName": node.scheduler,
                        // sleep as PID 1 ignores SIGTERM; do not wait 30 s for it.
                        "terminationGracePeriodSeconds": 1,
                        "containers": [container],
                    },
                },
            },
        })
    }
}

/// Creates the Deployment and waits until its pod runs on the node with `app` started.
pub async fn create_running(ns: &TestNamespace, node: &Node, workload: &NodeWorkload<'_>) -> Pod {
    create_running_from(ns, node, workload.name, workload.manifest(node, &ns.name)).await
}

/// Like [`create_running`], from a manifest (e.g. one whose container runs another command).
pub async fn create_running_from(
    ns: &TestNamespace,
    node: &Node,
    name: &str,
    manifest: Value,
) -> Pod {
    let deployment: Deployment = serde_json::from_value(manifest).unwrap();
    ns.api::<Deployment>()
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap_or_else(|e| panic!("create deployment {name}: {e}"));
    let pods = ns.api::<Pod>();
    let lp = ListParams::default().labels(&format!("app={name}"));
    eventually(
        &format!("the pod of {}/{name} running on {}", ns.name, node.name),
        NODE_WAIT,
        || async {
            let list = pods.list(&lp).await.map_err(|e| e.to_string())?;
            let [pod] = list.items.as_slice() else {
                return Err(format!("{} pods", list.items.len()));
            };
            let on_node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
            let status = json(pod)["status"].clone();
            let started = status["containerStatuses"][0]["state"]["running"].is_object();
            if on_node == Some(node.name.as_str()) && started {
                Ok(pod.clone())
            } else {
                Err(format!("node {on_node:?}, status {status}"))
            }
        },
    )
    .await
}

/// The pod as JSON (status fields such as `containerStatuses[].resources` by path).
pub fn json(pod: &Pod) -> Value {
    serde_json::to_value(pod).unwrap()
}

pub fn name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap()
}

/// The condition `type_` of the pod if it is there and True, as JSON.
pub fn active_condition(pod: &Pod, type_: &str) -> Option<Value> {
    json(pod)["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_ && c["status"] == "True")
        .cloned()
}

/// Waits until `pred` holds for the pod `name`; the panic on timeout shows its status.
pub async fn wait_for_pod(
    ns: &TestNamespace,
    name: &str,
    what: &str,
    pred: impl Fn(&Pod) -> bool,
) -> Pod {
    let pods = ns.api::<Pod>();
    eventually(
        &format!("pod {}/{name}: {what}", ns.name),
        NODE_WAIT,
        || async {
            let pod = pods.get(name).await.map_err(|e| e.to_string())?;
            if pred(&pod) {
                Ok(pod)
            } else {
                let j = json(&pod);
                Err(format!(
                    "spec resources {}, status {}",
                    j["spec"]["containers"][0]["resources"], j["status"]
                ))
            }
        },
    )
    .await
}

/// Whether the kubelet has actuated the spec: container `app` reports exactly the spec's
/// requests and limits, and no resize is in progress or pending.
pub fn resize_settled(pod: &Pod) -> bool {
    let j = json(pod);
    let spec = &j["spec"]["containers"][0]["resources"];
    let status = &j["status"]["containerStatuses"][0]["resources"];
    same_resources(spec, status)
        && active_condition(pod, "PodResizeInProgress").is_none()
        && active_condition(pod, "PodResizePending").is_none()
}

/// Requests and limits equal, quantity by quantity, whatever their spelling (`0.15` vs
/// `150m`, `96Mi` vs `100663296`).
pub fn same_resources(a: &Value, b: &Value) -> bool {
    ["requests", "limits"].iter().all(|kind| {
        ["cpu", "memory"].iter().all(|r| {
            let (x, y) = (&a[kind][r], &b[kind][r]);
            match (x.as_str(), y.as_str()) {
                (Some(x), Some(y)) => attune::quantity::semantically_equal(x, y).unwrap_or(false),
                _ => x.is_null() && y.is_null(),
            }
        })
    })
}

/// The container's id without the runtime prefix (`containerd://`).
pub fn container_id(pod: &Pod) -> String {
    let j = json(pod);
    let id = j["status"]["containerStatuses"][0]["containerID"]
        .as_str()
        .unwrap_or_else(|| panic!("no container id yet: {}", j["status"]));
    id.rsplit("://").next().unwrap().to_owned()
}

/// The directory of the running container `app` in cgroup v1 hierarchy `controller`
/// (`cpu`, `memory`): found below the kubelet's `kubepods` by the container id, so it does not
/// depend on the QoS class's path.
pub fn container_cgroup(node: &Node, pod: &Pod, controller: &str) -> PathBuf {
    let kubepods = Path::new("/sys/fs/cgroup")
        .join(controller)
        .join(node.cgroup_root.trim_start_matches('/'))
        .join("kubepods");
    let id = container_id(pod);
    find_dir(&kubepods, &id, 4).unwrap_or_else(|| {
        panic!(
            "no cgroup {id} below {} (pod {})",
            kubepods.display(),
            name(pod)
        )
    })
}

fn find_dir(dir: &Path, name: &str, depth: u32) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if entry.file_name() == name {
            return Some(path);
        }
        if depth > 0
            && let Some(found) = find_dir(&path, name, depth - 1)
        {
            return Some(found);
        }
    }
    None
}

/// One cgroup file of the container, as a number (`cpu.cfs_quota_us`, `cpu.shares`,
/// `memory.limit_in_bytes`).
pub fn cgroup_value(node: &Node, pod: &Pod, controller: &str, file: &str) -> i64 {
    let path = container_cgroup(node, pod, controller).join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("{}: {text:?} is not a number: {e}", path.display()))
}

/// `attune controller` in-process as on a real cluster: no `--resize-pending-pods`, so only
/// running pods are resized. It holds the controller lock exclusively (see
/// [`super::controller_lock`]) and stops when dropped, also when the test panics.
pub struct NodeController {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), attune::controller::watch::WatchError>>,
    pub metrics: std::sync::Arc<attune::metrics::Metrics>,
    _alone: tokio::sync::RwLockWriteGuard<'static, ()>,
}

impl NodeController {
    pub async fn start(client: &kube::Client) -> NodeController {
        let alone = super::controller_lock::exclusive().await;
        let config = attune::controller::Config {
            requeue_interval: Duration::from_secs(2),
            error_requeue: Duration::from_secs(2),
            ..attune::controller::Config::default()
        };
        assert!(config.eligibility.require_running);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics = std::sync::Arc::new(attune::metrics::Metrics::new());
        let task = tokio::spawn(attune::controller::watch::run(
            client.clone(),
            config,
            std::sync::Arc::clone(&metrics),
            async move {
                let _ = stopped.await;
            },
        ));
        NodeController {
            stop,
            task,
            metrics,
            _alone: alone,
        }
    }

    /// `attune_resizes_total{result}` of this controller.
    pub fn resizes(&self, result: &str) -> u64 {
        let prefix = format!("attune_resizes_total{{result=\"{result}\"}} ");
        self.metrics
            .encode()
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the controller stops within 30s of shutdown")
            .expect("the controller task does not panic")
            .expect("the controller ends without error");
    }
}
