//! The path users take, on the real node (tests/node): the controller image built offline
//! (tests/tools/image.sh, from the test build's `attune` binary) imported into the node's
//! containerd with `ctr images import`, the chart installed with `helm install` into the test
//! cluster, and what a user then looks at — the controller pod runs and turns Ready, holds the
//! leader Lease, and resizes a busybox workload of an Auto policy in place (the chart in
//! `recommender.mode: external`; the test writes the recommendations, as the node tests do).
//! `helm uninstall` then leaves none of the release's objects behind.
//!
//! The test cluster has no kube-proxy, and its API server listens on 127.0.0.1 only (test
//! servers never listen beyond the machine), so no pod network could reach it: the release
//! runs the pod in the node's network (`hostNetwork.enabled`) and points the controller at the
//! API server's loopback address (`apiServer.host`/`port`), chart values meant for clusters
//! whose pods cannot reach the `kubernetes` Service (README, "Helm chart").

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use serde_json::{Value, json};

use crate::support::cluster::{self, TestNamespace, eventually};
use crate::support::helm;
use crate::support::node::{self, Node, NodeWorkload};
use attune::crd::{AttunePolicy, WorkloadRecommendation};

const APP: &str = "web";
const RELEASE: &str = "attune";
const LEASE: &str = "attune-controller";
/// The image reference the archive carries and the values name; never pulled.
const IMAGE: &str = "local/attune";

/// Runs `cmd` and returns its stdout; panics with its stderr when it fails.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The controller image from the test build's binary (debug info stripped: the image only
/// has to run it), as a `docker save` archive in `dir`.
fn build_image(dir: &Path) -> PathBuf {
    let started = Instant::now();
    let bin = dir.join("attune");
    run(Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&bin)
        .arg(env!("CARGO_BIN_EXE_attune")));
    let archive = dir.join("attune.tar");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    run(Command::new(repo.join("tests/tools/image.sh"))
        .arg(&archive)
        .arg(format!("{IMAGE}:{}", env!("CARGO_PKG_VERSION")))
        .env("ATTUNE_BIN", &bin));
    let size = std::fs::metadata(&archive).unwrap().len();
    eprintln!(
        "chart_install: image built in {:.1} s ({} MB)",
        started.elapsed().as_secs_f64(),
        size / 1_000_000
    );
    archive
}

/// Host and port of the test API server (`https://127.0.0.1:PORT`, from cluster.env).
fn api_server() -> (String, u16) {
    let server = std::env::var("ATTUNE_KUBE_SERVER").expect("ATTUNE_KUBE_SERVER (tests/run)");
    let authority = server.trim_start_matches("https://");
    let (host, port) = authority.rsplit_once(':').unwrap();
    (host.to_owned(), port.parse().unwrap())
}

/// A port nobody on 127.0.0.1 listens on, below the ephemeral range (as tests/cluster/up.sh
/// picks them), for the controller's /metrics in the node's network.
fn free_port() -> u16 {
    let seed = u32::from_str_radix(&cluster::suffix(), 16).unwrap();
    (0..1000)
        .map(|i| 20_000 + ((seed as u64 + i * 7919) % 10_000) as u16)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port between 20000 and 30000")
}

/// The values a user on this cluster would write: the imported image, never pulled; the
/// node's scheduler; the node's network and the API server's loopback address; one replica.
fn values(node: &Node, metrics_port: u16) -> String {
    let (host, port) = api_server();
    let values = json!({
        "replicaCount": 1,
        "image": {"repository": IMAGE, "tag": env!("CARGO_PKG_VERSION"), "pullPolicy": "Never"},
        "schedulerName": node.scheduler,
        "hostNetwork": {"enabled": true, "bindAddress": "127.0.0.1"},
        "apiServer": {"host": host, "port": port},
        "metricsPort": metrics_port,
        "recommender": {"mode": "external"},
        "leaderElection": {"enabled": true, "leaseName": LEASE},
        "logFormat": "text",
    });
    // JSON is YAML: helm reads it as a values file.
    values.to_string()
}

/// A helm release; dropping it uninstalls it (also when the test panics), so that no
/// controller outlives the test and its lock.
struct Release {
    namespace: String,
    installed: bool,
}

impl Release {
    fn install(namespace: &str, values: &str) -> Release {
        let chart = helm::chart_dir().display().to_string();
        let args = [
            "install",
            RELEASE,
            &chart,
            "--namespace",
            namespace,
            "--values",
            "-",
        ];
        let out = helm::run(&args, Some(values));
        assert!(
            out.status.success(),
            "helm install: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Release {
            namespace: namespace.to_owned(),
            installed: true,
        }
    }

    /// `helm get manifest`: every object the release made.
    fn manifest(&self) -> String {
        let args = ["get", "manifest", RELEASE, "--namespace", &self.namespace];
        let out = helm::run(&args, None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `helm uninstall`, waiting (foreground cascade) until the Deployment's pods are gone.
    fn uninstall(&mut self) -> std::process::Output {
        self.installed = false;
        let args = [
            "uninstall",
            RELEASE,
            "--namespace",
            &self.namespace,
            "--cascade",
            "foreground",
            "--wait",
            "--timeout",
            "120s",
        ];
        helm::run(&args, None)
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        if self.installed {
            let out = self.uninstall();
            if !out.status.success() {
                eprintln!("cleanup: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
    }
}

/// The release's controller pods in `ns`.
async fn controller_pods(ns: &TestNamespace) -> Vec<Pod> {
    let lp = ListParams::default().labels(&format!("app.kubernetes.io/instance={RELEASE}"));
    ns.api::<Pod>().list(&lp).await.unwrap().items
}

fn is_ready(pod: &Pod) -> bool {
    node::active_condition(pod, "Ready").is_some()
}

/// Waits until the one controller pod runs on the node and is Ready; the panic on timeout
/// shows its status and the end of its log.
async fn wait_until_ready(ns: &TestNamespace, node: &Node) -> Pod {
    eventually(
        "the controller pod Ready on the node",
        node::NODE_WAIT,
        || async {
            let pods = controller_pods(ns).await;
            let [pod] = pods.as_slice() else {
                return Err(format!("{} controller pods", pods.len()));
            };
            let on_node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
            if on_node == Some(node.name.as_str()) && is_ready(pod) {
                return Ok(pod.clone());
            }
            Err(format!(
                "node {on_node:?}, status {}\nlog:\n{}",
                node::json(pod)["status"],
                node.container_log_tail(pod, "controller", 15)
            ))
        },
    )
    .await
}

/// Waits until the Lease names `holder`.
async fn wait_for_lease(ns: &TestNamespace, holder: &str) -> Lease {
    eventually(
        &format!("Lease {}/{LEASE} held by {holder}", ns.name),
        node::NODE_WAIT,
        || async {
            let lease = ns
                .api::<Lease>()
                .get_opt(LEASE)
                .await
                .map_err(|e| e.to_string())?;
            let held_by = lease
                .as_ref()
                .and_then(|l| l.spec.as_ref())
                .and_then(|s| s.holder_identity.clone());
            match lease {
                Some(lease) if held_by.as_deref() == Some(holder) => Ok(lease),
                _ => Err(format!("holder {held_by:?}")),
            }
        },
    )
    .await
}

/// `GET http://127.0.0.1:PORT/PATH` of the controller (in the node's network, so here too).
async fn controller_http(port: u16, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://127.0.0.1:{port}{path}"))
        .await
        .unwrap_or_else(|e| panic!("GET {path} of the controller: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

fn policy() -> AttunePolicy {
    let limits = json!({"controlledValues": "RequestsAndLimits"});
    serde_json::from_value(json!({
        "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
        "metadata": {"name": APP},
        "spec": {
            "targetRef": {"kind": "Deployment", "name": APP},
            "metricsSource": {"prometheus": {"address": "http://prometheus.invalid:9090"}},
            "cpu": limits, "memory": limits,
            "updateStrategy": {"type": "Auto", "maxConcurrentResizes": 5},
        },
    }))
    .unwrap()
}

fn recommendation() -> Vec<WorkloadRecommendation> {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    vec![
        serde_json::from_value(json!({
            "workload": APP, "kind": "Deployment", "lastDataTime": now, "stale": false,
            "containers": [{"name": "app",
                            "recommended": {"cpuRequest": "150m", "memoryRequest": "48Mi"},
                            "confidence": 0.95, "dataPoints": 500, "lastUpdated": now}],
        }))
        .unwrap(),
    ]
}

/// Writes the recommendation and waits until the kubelet reports the workload's pod at the
/// new size, not restarted; returns the pod.
async fn resized_by_the_controller(apps: &TestNamespace, pod: &Pod) -> Pod {
    let asked = Instant::now();
    cluster::set_recommendations(apps, APP, &recommendation()).await;
    // Limits kept in ratio: 300m, 96Mi.
    let target = json!({"requests": {"cpu": "150m", "memory": "48Mi"},
                        "limits": {"cpu": "300m", "memory": "96Mi"}});
    let resized = node::wait_for_pod(apps, node::name(pod), "resized by the controller", |p| {
        let spec = &node::json(p)["spec"]["containers"][0]["resources"];
        node::same_resources(spec, &target) && node::resize_settled(p)
    })
    .await;
    eprintln!(
        "chart_install: recommendation to resize applied by the kubelet in {:.1} s",
        asked.elapsed().as_secs_f64()
    );
    let status = &node::json(&resized)["status"]["containerStatuses"][0];
    assert_eq!(status["restartCount"], 0, "{status}");
    resized
}

/// `kubectl get` of every object in `manifest`: the names of those that still exist.
fn still_there(manifest: &str) -> String {
    let mut child = Command::new("kubectl")
        .args(["get", "--ignore-not-found", "-o", "name", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl on PATH (tests/run puts the one it builds there)");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(manifest.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chart_installed_with_helm_runs_the_image_on_the_node_leads_and_resizes() {
    // The controller watches every namespace: it must be the only one running.
    let _alone = crate::support::controller_lock::exclusive().await;
    let node = Node::from_env();
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    node.import_image(&build_image(dir.path()));
    eprintln!(
        "chart_install: image built and imported in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let apps = TestNamespace::new(&client, "chart-install-apps").await;
    let workload = NodeWorkload {
        name: APP,
        resources: json!({"requests": {"cpu": "100m", "memory": "32Mi"},
                          "limits": {"cpu": "200m", "memory": "64Mi"}}),
        resize_policy: Value::Null,
    };
    let pod = node::create_running(&apps, &node, &workload).await;
    cluster::apply_policy(&apps, &policy()).await;

    let system = TestNamespace::new(&client, "chart-install").await;
    let metrics_port = free_port();
    let installed = Instant::now();
    let mut release = Release::install(&system.name, &values(&node, metrics_port));
    let controller = wait_until_ready(&system, &node).await;
    let controller_name = node::name(&controller).to_owned();
    eprintln!(
        "chart_install: helm install to controller Ready in {:.1} s",
        installed.elapsed().as_secs_f64()
    );
    let image = &node::json(&controller)["status"]["containerStatuses"][0]["image"];
    assert!(image.as_str().unwrap().contains(IMAGE), "{image}");
    wait_for_lease(&system, &controller_name).await;
    let (status, body) = controller_http(metrics_port, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    let (_, metrics) = controller_http(metrics_port, "/metrics").await;
    assert!(metrics.lines().any(|l| l == "attune_leader 1"), "{metrics}");

    let resized = resized_by_the_controller(&apps, &pod).await;
    assert_eq!(node::container_id(&resized), node::container_id(&pod));
    // The resize is this pod's: the event names it as the reporting instance.
    let policy = apps.api::<AttunePolicy>().get(APP).await.unwrap();
    let event =
        cluster::wait_for_event(&apps, policy.metadata.uid.as_deref().unwrap(), "Resized").await;
    assert_eq!(
        event.reporting_instance.as_deref(),
        Some(controller_name.as_str())
    );

    let manifest = release.manifest();
    assert!(helm::objects(&manifest).len() >= 8, "{manifest}");
    let uninstalling = Instant::now();
    let out = release.uninstall();
    eprintln!(
        "chart_install: helm uninstall (foreground, --wait) in {:.1} s",
        uninstalling.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success(),
        "helm uninstall: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        still_there(&manifest),
        "",
        "objects of the release left after helm uninstall"
    );
    assert!(controller_pods(&system).await.is_empty());
    // The Lease is the controller's, not the chart's: it stays until the namespace goes. helm
    // deletes the Role with the Deployment, so the stopping pod may no longer be allowed to
    // release it (README, "Helm chart"); nobody renews it after.
}
