//! Every object the chart renders, sent to the real API server of the test control plane with
//! `kubectl apply --dry-run=server` (CRDs installed first: the chart's own and test stand-ins
//! for the Prometheus Operator's, tests/cluster/crds): admission, defaulting and strict field
//! validation judge the chart as they would on a user's cluster, for the default values and for
//! the all-on values.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::cluster::{self, TestNamespace};
use crate::support::helm::{self, Values};

/// `kubectl apply --dry-run=server -o name` of `manifest`: (success, stdout, stderr).
fn dry_run(manifest: &str) -> (bool, String, String) {
    let mut child = Command::new("kubectl")
        .args([
            "apply",
            "--dry-run=server",
            "--validate=strict",
            "-o",
            "name",
            "-f",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl on PATH (tests/run puts the one it builds there)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(manifest.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The namespaces the all-on values name besides the release's own.
const NAMED_NAMESPACES: [&str; 3] = [
    "attune-chart-team-a",
    "attune-chart-team-b",
    "attune-chart-monitoring",
];

#[tokio::test]
async fn every_rendered_object_passes_a_server_side_dry_run() {
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    for name in NAMED_NAMESPACES {
        cluster::ensure_namespace(&client, name).await;
    }
    let ns = TestNamespace::new(&client, "chart-dry-run").await;
    for values in Values::BOTH {
        let text = helm::template_text(values, &ns.name);
        let objects = helm::objects(&text);
        let (ok, stdout, stderr) = dry_run(&text);
        assert!(
            ok,
            "{values:?}: the API server refused the chart:\n{stderr}"
        );
        let applied: Vec<&str> = stdout.lines().collect();
        assert_eq!(
            applied.len(),
            objects.len(),
            "{values:?}: every object is applied once: {applied:?}"
        );
        for object in &objects {
            let kind = object["kind"].as_str().unwrap().to_lowercase();
            let name = object["metadata"]["name"].as_str().unwrap();
            assert!(
                applied
                    .iter()
                    .any(|a| a.split('/').next().unwrap().starts_with(&kind)
                        && a.ends_with(&format!("/{name}"))),
                "{values:?}: {kind}/{name} not in {applied:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_dry_run_refuses_a_misspelt_field() {
    // The check above can fail: a field the API does not know is refused, also in the
    // Prometheus Operator objects (their stand-in CRDs have closed schemas).
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "chart-dry-run-bad").await;
    let objects = helm::template(Values::AllOn, &ns.name);
    let mut monitor: Value = objects
        .iter()
        .find(|o| o["kind"] == "ServiceMonitor")
        .unwrap()
        .clone();
    monitor["spec"]["endpoints"][0]["intervall"] = "30s".into();
    let (ok, _, stderr) = dry_run(&monitor.to_string());
    assert!(!ok, "a misspelt ServiceMonitor field was accepted");
    assert!(stderr.contains("intervall"), "{stderr}");

    let mut deployment: Value = objects
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .unwrap()
        .clone();
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFS"] =
        true.into();
    let (ok, _, stderr) = dry_run(&deployment.to_string());
    assert!(!ok, "a misspelt Deployment field was accepted");
    assert!(stderr.contains("readOnlyRootFS"), "{stderr}");
}
