//! `kubectl-attune` against the real API server: the fixtures of plugin_format (one policy per
//! state) are created with the CRD's required spec and their status written through the status
//! subresource; the binary's whole output must equal the golden formatting of what was written.

use std::process::Output;

use assert_cmd::Command;
use attune::crd::AttunePolicy;
use attune::plugin::{PolicyView, explain, history, preview, recommendations, savings, status};
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use regex::Regex;
use serde_json::{Value, json};

use crate::plugin_format::fixtures;
use crate::support::cluster::{self, TEST_MANAGER, TestNamespace};

/// Creates every fixture in the namespace; returns them as the server stored them.
pub async fn create_fixtures(ns: &TestNamespace) -> Vec<Value> {
    let ar = ApiResource::erase::<AttunePolicy>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(ns.client.clone(), &ns.name, &ar);
    let mut stored = Vec::new();
    for fixture in fixtures(Some(&ns.name)) {
        let name = fixture["metadata"]["name"].as_str().unwrap().to_owned();
        let mut spec = json!({
            "targetRef": {"kind": "Deployment", "name": name},
            "metricsSource": {"prometheus": {"address": "http://prometheus.invalid:9090"}},
            "cpu": {}, "memory": {},
        });
        if let Some(strategy) = fixture["spec"].get("updateStrategy") {
            spec["updateStrategy"] = strategy.clone();
        }
        let object = json!({
            "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
            "metadata": {"name": name, "namespace": ns.name}, "spec": spec,
        });
        let params = PatchParams::apply(TEST_MANAGER).force();
        api.patch(&name, &params, &Patch::Apply(&object))
            .await
            .unwrap_or_else(|e| panic!("create {name}: {e}"));
        if let Some(status) = fixture.get("status") {
            let body = json!({"status": status});
            api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&body))
                .await
                .unwrap_or_else(|e| panic!("status of {name}: {e}"));
        }
        let read = api.get(&name).await.unwrap();
        // What was written must have survived the CRD's schema, or the comparison is moot.
        assert_eq!(
            serde_json::to_value(&read).unwrap().get("status"),
            fixture.get("status"),
            "status of {name} as stored"
        );
        stored.push(serde_json::to_value(&read).unwrap());
    }
    stored
}

pub fn plugin(args: &[&str]) -> Output {
    Command::cargo_bin("kubectl-attune")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

pub fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// AGE depends on when the server created the policies: seconds or minutes, masked alike.
fn mask_age(text: &str) -> String {
    Regex::new(r"(?m)\b\d+[sm]$")
        .unwrap()
        .replace_all(text, "AGE")
        .into_owned()
}

#[tokio::test]
async fn every_command_prints_the_stored_status() {
    // The statuses are the test's fixtures: a controller another test runs would reconcile
    // them (it watches every namespace), so none runs meanwhile.
    let _no_controller = crate::support::controller_lock::exclusive().await;
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "plugin").await;
    let stored = create_fixtures(&ns).await;
    let views: Vec<PolicyView> = stored.iter().map(PolicyView::from_object).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let n = ns.name.as_str();

    let out = stdout(&plugin(&["status", "-n", n]));
    assert_eq!(
        mask_age(&out),
        mask_age(&status::render(&views, None, None, now))
    );
    assert_eq!(out.lines().count(), 6, "{out}");

    let out = plugin(&["recommendations", "-n", n]);
    let (table, note) = recommendations::render(&views);
    assert_eq!(stdout(&out), table);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim(), note.unwrap());

    let out = stdout(&plugin(&["savings", "--sort-by", "savings", "-n", n]));
    assert_eq!(out, savings::render(&views, Some(status::SortBy::Savings)));
    assert!(
        out.contains("TOTAL          1030m       1.1Gi          54%       $77.50"),
        "{out}"
    );

    let out = stdout(&plugin(&["history", "-n", n]));
    assert_eq!(out, history::render(&views));
    assert_eq!(out.lines().count(), 3, "{out}");

    let api_services = views.iter().find(|v| v.name == "api-services").unwrap();
    let out = stdout(&plugin(&["explain", "api-services", "-n", n]));
    assert_eq!(out, explain::render(api_services));
    assert!(out.contains("x Burst factor (1.20)"), "{out}");
    let out = stdout(&plugin(&["preview", "-n", n, "api-services"]));
    assert_eq!(out, preview::render(api_services));

    let out = stdout(&plugin(&["status", "--filter", "degraded", "-n", n]));
    assert_eq!(
        out.lines().nth(1).unwrap().split_whitespace().nth(1),
        Some("web")
    );

    let out = stdout(&plugin(&[
        "status",
        "-o",
        "json",
        "--filter",
        "collecting",
        "-n",
        n,
    ]));
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["metadata"]["name"], "batch");
}

#[tokio::test]
async fn errors_are_one_line_with_an_exit_code() {
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "plugin-err").await;

    let out = plugin(&["explain", "nope", "-n", &ns.name]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        format!(
            "error: no AttunePolicy nope in namespace {0}: list them with kubectl attune status -n {0}\n",
            ns.name
        )
    );

    let out = stdout(&plugin(&["status", "-n", &ns.name]));
    assert_eq!(out, "No AttunePolicies found.\n");

    let out = plugin(&["status", "--filter", "bogus", "-n", &ns.name]);
    assert_eq!(out.status.code(), Some(2));
    let out = plugin(&["status", "-A", "-n", &ns.name]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: -n and -A exclude each other: pass one\n"
    );
}

#[test]
fn without_a_kubeconfig_the_error_says_what_to_do() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("kubectl-attune")
        .unwrap()
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("HOME", home.path())
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: no kubeconfig found"), "{stderr}");
    assert!(
        stderr.contains("pass --kubeconfig or set KUBECONFIG"),
        "{stderr}"
    );
}

/// A kubeconfig for a service account without any role, whose context names `namespace`, plus
/// a context "dead" whose server does not listen.
async fn reader_kubeconfig(ns: &TestNamespace, dir: &std::path::Path) -> std::path::PathBuf {
    let sa: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "reader"}})).unwrap();
    let sas = ns.api::<ServiceAccount>();
    sas.create(&PostParams::default(), &sa).await.unwrap();
    let request: TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": [], "expirationSeconds": 600}}))
            .unwrap();
    let token = sas
        .create_token_request("reader", &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token;
    let server = std::env::var("ATTUNE_KUBE_SERVER").unwrap();
    let ca = std::env::var("ATTUNE_KUBE_CA").unwrap();
    let config = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [
            {"name": "test", "cluster": {"server": server, "certificate-authority": ca}},
            {"name": "dead", "cluster": {"server": "https://127.0.0.1:1", "certificate-authority": ca}},
        ],
        "users": [{"name": "reader", "user": {"token": token}}],
        "contexts": [
            {"name": "reader", "context": {"cluster": "test", "user": "reader", "namespace": ns.name}},
            {"name": "dead", "context": {"cluster": "dead", "user": "reader"}},
        ],
        "current-context": "reader",
    });
    let path = dir.join("kubeconfig");
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    path
}

fn failure(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

#[tokio::test]
async fn forbidden_and_unreachable_say_what_to_do() {
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "plugin-rbac").await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = reader_kubeconfig(&ns, dir.path()).await;
    let kc = kubeconfig.to_str().unwrap();

    // The context's namespace is the default.
    let stderr = failure(&plugin(&["status", "--kubeconfig", kc]));
    let prefix = format!(
        "error: forbidden to list attunepolicies.attune.io in namespace {}: ",
        ns.name
    );
    assert!(stderr.starts_with(&prefix), "{stderr}");
    assert!(stderr.contains("system:serviceaccount:"), "{stderr}");
    assert!(
        stderr.ends_with(
            "ask for get/list on attunepolicies.attune.io or use -n for a namespace you can read\n"
        ),
        "{stderr}"
    );

    let stderr = failure(&plugin(&["savings", "-A", "--kubeconfig", kc]));
    assert!(
        stderr.starts_with("error: forbidden to list attunepolicies.attune.io in all namespaces: "),
        "{stderr}"
    );

    let stderr = failure(&plugin(&[
        "history",
        "--kubeconfig",
        kc,
        "--context",
        "dead",
    ]));
    assert!(
        stderr.starts_with("error: cannot reach the API server: "),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("check the cluster is up and --context/--kubeconfig point at it\n"),
        "{stderr}"
    );

    let stderr = failure(&plugin(&[
        "status",
        "--kubeconfig",
        kc,
        "--context",
        "absent",
    ]));
    assert!(
        stderr.starts_with(&format!("error: cannot use kubeconfig {kc}: ")),
        "{stderr}"
    );
}

#[tokio::test]
async fn watch_redraws_every_ten_seconds_and_yaml_lists_the_policies() {
    // The statuses are the test's fixtures: a controller another test runs would reconcile
    // them (it watches every namespace), so none runs meanwhile.
    let _no_controller = crate::support::controller_lock::exclusive().await;
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "plugin-watch").await;
    create_fixtures(&ns).await;

    let out = stdout(&plugin(&["status", "-o", "yaml", "-n", &ns.name]));
    let list: Value = serde_saphyr::from_str(&out).unwrap();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api-services", "batch", "fresh", "orphan", "web"]);

    let path = assert_cmd::cargo::cargo_bin("kubectl-attune");
    let mut child = std::process::Command::new(path)
        .args(["status", "-w", "--filter", "degraded", "-n", &ns.name])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let (mut seen, mut buf, mut times) = (String::new(), [0u8; 4096], Vec::new());
        while times.len() < 2 {
            let n = pipe.read(&mut buf).unwrap();
            assert!(n > 0, "the watch ended early: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            if seen.matches("Last refresh:").count() > times.len() {
                times.push(std::time::Instant::now());
            }
        }
        (seen, times[1] - times[0])
    });
    let waited = tokio::time::timeout(std::time::Duration::from_secs(40), async {
        while !reader.is_finished() {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    waited.expect("two screens within 40 s");
    let (seen, interval) = reader.join().unwrap();
    assert!(
        interval >= std::time::Duration::from_secs(9),
        "{interval:?}"
    );
    let screens: Vec<&str> = seen.split("\x1b[2J\x1b[H").skip(1).collect();
    assert_eq!(screens.len(), 2, "{seen:?}");
    for screen in screens {
        let lines: Vec<&str> = screen.lines().collect();
        assert!(lines[0].starts_with("NAMESPACE "), "{screen}");
        assert_eq!(lines[1].split_whitespace().nth(1), Some("web"), "{screen}");
        assert!(lines[3].starts_with("Last refresh: ") && lines[3].ends_with("(Ctrl+C to stop)"));
    }
}
