//! The end-of-period revert checks that read Prometheus, on the real node with the tests' real
//! Prometheus (tests/servers/prometheus.sh): series for the test's pods at the current time are
//! written with `promtool tsdb create-blocks-from openmetrics` into its data directory, which it
//! loads within a minute. Two workloads, each resized by the controller:
//!
//! - `throttled`: its CFS throttling ratio is 0.8 (> 0.5). The throttle check skips the first
//!   five minutes after a resize, so once the resize is applied the test moves its
//!   `attune.io/resized-at` ten minutes back (the only stand-in: waiting five minutes);
//! - `slow`: its guardrail query answers 0.2, above the threshold 0.05, at the end of a 15 s
//!   observation (`evaluationWindow` 15s).
//!
//! Each is put back to its original size with a `Reverted` history entry, reason `throttle`
//! and `slo:errors`.

use std::time::Duration;

use crate::support::cluster::{self, TestNamespace, eventually};
use crate::support::node::{self, Node, NodeController, NodeWorkload};
use attune::crd::{AttunePolicy, ResizeHistoryEntry, WorkloadRecommendation};
use attune::quantity::semantically_equal;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

const THROTTLED: &str = "throttled";
const SLOW: &str = "slow";
/// How long Prometheus may take to load a written block (it looks every minute).
const LOAD_WAIT: Duration = Duration::from_secs(150);

fn prometheus() -> (String, String) {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run via tests/run (it starts tests/servers/prometheus.sh)")
        })
    };
    (var("PROMETHEUS_URL"), var("PROMETHEUS_DATA"))
}

fn policy(name: &str, strategy: Value) -> AttunePolicy {
    let mut update = json!({"type": "Auto", "cooldown": "1h"});
    update
        .as_object_mut()
        .unwrap()
        .extend(strategy.as_object().unwrap().clone());
    serde_json::from_value(json!({
        "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
        "metadata": {"name": name},
        "spec": {
            "targetRef": {"kind": "Deployment", "name": name},
            "metricsSource": {"prometheus": {"address": prometheus().0}},
            "cpu": {"controlledValues": "RequestsOnly"}, "memory": {},
            "updateStrategy": update,
        },
    }))
    .unwrap()
}

fn recommendation(name: &str) -> Vec<WorkloadRecommendation> {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    vec![
        serde_json::from_value(json!({
            "workload": name, "kind": "Deployment", "lastDataTime": now, "stale": false,
            "containers": [{"name": "app", "recommended": {"cpuRequest": "150m"},
                            "confidence": 0.95, "dataPoints": 500, "lastUpdated": now}],
        }))
        .unwrap(),
    ]
}

/// OpenMetrics text for one pod: CFS periods at 10/s, `throttled_per_period` of them throttled,
/// and the guardrail's gauge, every 15 s from half an hour ago to half an hour ahead.
fn series(ns: &str, pod: &str, throttled_per_period: f64, error_ratio: f64) -> String {
    let now = chrono::Utc::now().timestamp();
    let labels = format!("namespace=\"{ns}\",pod=\"{pod}\",container=\"app\"");
    let points: Vec<(usize, i64)> = (now - 1800..now + 1800).step_by(15).enumerate().collect();
    let mut text = String::new();
    let mut family = |name: &str, kind: &str, value: &dyn Fn(usize) -> f64| {
        text.push_str(&format!("# TYPE {name} {kind}\n"));
        let sample = if kind == "counter" {
            format!("{name}_total")
        } else {
            name.to_owned()
        };
        for (i, t) in &points {
            text.push_str(&format!("{sample}{{{labels}}} {} {t}\n", value(*i)));
        }
    };
    family("container_cpu_cfs_periods", "counter", &|i| {
        i as f64 * 150.0
    });
    family("container_cpu_cfs_throttled_periods", "counter", &|i| {
        i as f64 * 150.0 * throttled_per_period
    });
    family("attune_test_error_ratio", "gauge", &|_| error_ratio);
    text
}

/// Writes the series as TSDB blocks into the running Prometheus's data directory.
fn backfill(openmetrics: &str) {
    let (_, data) = prometheus();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("series.om");
    std::fs::write(&file, format!("{openmetrics}# EOF\n")).unwrap();
    let out = std::process::Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
        .arg(&file)
        .arg(&data)
        .output()
        .expect("promtool runs (installed with prometheus by tests/deps.sh)");
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until Prometheus answers `query` with a sample.
async fn wait_loaded(query: &str) {
    let (url, _) = prometheus();
    let http = reqwest::Client::new();
    eventually(&format!("prometheus serves {query}"), LOAD_WAIT, || async {
        let mut address = url::Url::parse(&format!("{url}/api/v1/query")).unwrap();
        address.query_pairs_mut().append_pair("query", query);
        let answer: Value = http
            .get(address)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match answer["data"]["result"].as_array() {
            Some(r) if !r.is_empty() => Ok(()),
            _ => Err(answer.to_string()),
        }
    })
    .await;
}

fn cpu_request(pod: &Pod) -> String {
    node::json(pod)["spec"]["containers"][0]["resources"]["requests"]["cpu"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn cpu_is(pod: &Pod, want: &str) -> bool {
    semantically_equal(&cpu_request(pod), want).unwrap_or(false)
}

fn annotation(pod: &Pod, key: &str) -> Option<String> {
    pod.metadata.annotations.as_ref()?.get(key).cloned()
}

async fn reverted_entry(ns: &TestNamespace, name: &str) -> ResizeHistoryEntry {
    let reported = cluster::wait_for_policy(ns, name, "a Reverted entry", node::NODE_WAIT, |p| {
        p.status.as_ref().is_some_and(|s| {
            s.resize_history
                .iter()
                .any(|e| e.result.as_deref() == Some("Reverted"))
        })
    })
    .await;
    let status = reported.status.unwrap();
    status
        .resize_history
        .into_iter()
        .find(|e| e.result.as_deref() == Some("Reverted"))
        .unwrap()
}

fn workload(name: &str) -> NodeWorkload<'_> {
    NodeWorkload {
        name,
        resources: json!({"requests": {"cpu": "100m", "memory": "32Mi"},
                          "limits": {"cpu": "400m", "memory": "64Mi"}}),
        resize_policy: Value::Null,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_pod_and_a_breached_slo_are_reverted() {
    let node = Node::from_env();
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "node-guard").await;
    let throttled = node::create_running(&ns, &node, &workload(THROTTLED)).await;
    let slow = node::create_running(&ns, &node, &workload(SLOW)).await;
    let (throttled, slow) = (
        node::name(&throttled).to_owned(),
        node::name(&slow).to_owned(),
    );

    // Throttled 80 % of periods with no errors; and 0 % throttled with 20 % errors.
    backfill(&series(&ns.name, &throttled, 0.8, 0.0));
    backfill(&series(&ns.name, &slow, 0.0, 0.2));
    let guardrail = format!(
        "attune_test_error_ratio{{namespace=\"{}\",pod=\"{slow}\"}}",
        ns.name
    );
    let throttle = format!(
        "rate(container_cpu_cfs_throttled_periods_total{{namespace=\"{}\",pod=\"{throttled}\"}}[5m])",
        ns.name
    );
    let loading = std::time::Instant::now();
    wait_loaded(&guardrail).await;
    wait_loaded(&throttle).await;
    eprintln!(
        "node_guardrails: Prometheus loaded the blocks in {:?}",
        loading.elapsed()
    );

    let throttled_policy = cluster::apply_policy(&ns, &policy(THROTTLED, json!({}))).await;
    let slo = json!({
        "safetyObservationPeriod": "15s",
        "sloGuardrails": [{
            "name": "errors",
            "query": "attune_test_error_ratio{namespace=\"{{.Namespace}}\",pod=\"{{ .PodName }}\"}",
            "threshold": "0.05",
            "comparison": "above",
            "evaluationWindow": "15s",
        }],
    });
    cluster::apply_policy(&ns, &policy(SLOW, slo)).await;
    let controller = NodeController::start(&client).await;
    cluster::set_recommendations(&ns, THROTTLED, &recommendation(THROTTLED)).await;
    cluster::set_recommendations(&ns, SLOW, &recommendation(SLOW)).await;

    // Both resized to 150m by the kubelet.
    let resized = node::wait_for_pod(&ns, &throttled, "resized to 150m", |p| {
        cpu_is(p, "150m") && node::resize_settled(p)
    })
    .await;
    node::wait_for_pod(&ns, &slow, "resized to 150m", |p| cpu_is(p, "150m")).await;

    // Ten minutes later, as far as the throttle check can tell.
    let at = annotation(&resized, "attune.io/resized-at").expect("the resize is annotated");
    let earlier =
        chrono::DateTime::parse_from_rfc3339(&at).unwrap() - chrono::TimeDelta::minutes(10);
    let back = json!({"metadata": {"annotations": {
        "attune.io/resized-at": earlier.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }}});
    ns.api::<Pod>()
        .patch(&throttled, &PatchParams::default(), &Patch::Merge(&back))
        .await
        .unwrap();

    // Throttling: back to 100m, reason throttle.
    let reverted = node::wait_for_pod(&ns, &throttled, "reverted to 100m", |p| {
        cpu_is(p, "100m") && annotation(p, "attune.io/revert-reason").is_some()
    })
    .await;
    assert_eq!(
        annotation(&reverted, "attune.io/revert-reason").as_deref(),
        Some("throttle")
    );
    let entry = reverted_entry(&ns, THROTTLED).await;
    assert_eq!(entry.reason.as_deref(), Some("throttle"), "{entry:?}");
    assert_eq!(entry.resource.as_deref(), Some("cpu"));
    assert_eq!(entry.to.as_deref(), Some("100m"));
    cluster::wait_for_event(
        &ns,
        throttled_policy.metadata.uid.as_deref().unwrap(),
        "ResizeReverted",
    )
    .await;

    // The guardrail: back to 100m, reason slo:errors.
    let reverted = node::wait_for_pod(&ns, &slow, "reverted to 100m", |p| {
        cpu_is(p, "100m") && annotation(p, "attune.io/revert-reason").is_some()
    })
    .await;
    assert_eq!(
        annotation(&reverted, "attune.io/revert-reason").as_deref(),
        Some("slo:errors")
    );
    let entry = reverted_entry(&ns, SLOW).await;
    assert_eq!(entry.reason.as_deref(), Some("slo:errors"), "{entry:?}");
    assert_eq!(controller.resizes("reverted"), 2);
    assert!(
        !controller
            .metrics
            .encode()
            .contains("attune_revert_checks_failed_open_total{"),
        "no check failed open: {}",
        controller.metrics.encode()
    );
    controller.stop().await;
}
