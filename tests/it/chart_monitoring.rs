//! The chart's alerts and dashboard against what they query: every rule passes
//! `promtool check rules`, fires (and stays quiet) as `promtool test rules` shows on synthetic
//! series, and every alert and panel expression evaluates on the real Prometheus of the tests
//! (tests/servers/prometheus.sh). Every metric they name is one the controller's `/metrics`
//! exports; the Grafana ConfigMap carries the chart's dashboards/attune.json unchanged.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;

use attune::controller::serve::{Health, router};
use attune::metrics::{FailureCategory, Metrics, PrAction, ReconcileResult, ResizeResult};
use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::helm::{self, Values, chart_dir};
use crate::support::promql;

const NS: &str = "attune-system";

fn rule_groups() -> Value {
    let objects = helm::template(Values::AllOn, NS);
    let rule = objects
        .iter()
        .find(|o| o["kind"] == "PrometheusRule")
        .expect("the all-on values render a PrometheusRule");
    json!({"groups": rule["spec"]["groups"]})
}

fn alerts() -> Vec<(String, String)> {
    rule_groups()["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .map(|r| {
            (
                r["alert"].as_str().unwrap().to_owned(),
                r["expr"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn dashboard() -> Value {
    let text = std::fs::read_to_string(chart_dir().join("dashboards/attune.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// (where, expression) of every panel target of the dashboard.
fn panel_exprs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in dashboard()["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push((
                format!("panel {:?}", panel["title"]),
                target["expr"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

/// The metric selectors of the dashboard's `label_values(metric{...}, label)` variables.
fn variable_selectors() -> Vec<(String, String)> {
    dashboard()["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["type"] == "query")
        .map(|v| {
            let query = v["query"]["query"].as_str().unwrap();
            let inner = query
                .strip_prefix("label_values(")
                .and_then(|q| q.rsplit_once(','))
                .unwrap_or_else(|| panic!("variable query {query:?} is not label_values(m, l)"));
            (format!("variable {:?}", v["name"]), inner.0.to_owned())
        })
        .collect()
}

fn promtool(args: &[&str]) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .output()
        .expect("promtool on PATH (tests/deps.sh installs Debian's prometheus)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_alert_rules_pass_promtool_check_rules() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.json");
    std::fs::write(&file, rule_groups().to_string()).unwrap();
    let (ok, text) = promtool(&["check", "rules", file.to_str().unwrap()]);
    assert!(ok, "{text}");
    let count = alerts().len();
    assert!(count >= 7, "{count} alerts");
    assert!(
        text.contains(&format!("SUCCESS: {count} rules found")),
        "{text}"
    );
}

#[test]
fn each_alert_fires_on_its_symptom_and_not_on_a_healthy_controller() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.json"), rule_groups().to_string()).unwrap();
    let tests = include_str!("chart_monitoring_rules_test.yaml");
    let file = dir.path().join("rules_test.yaml");
    std::fs::write(&file, tests).unwrap();
    let (ok, text) = promtool(&["test", "rules", file.to_str().unwrap()]);
    assert!(ok, "{text}");
    assert!(text.contains("SUCCESS"), "{text}");
    // Every alert has a case where it fires.
    for (alert, _) in alerts() {
        assert!(
            tests.contains(&format!("alertname: {alert}")),
            "no firing case for {alert}"
        );
    }
}

/// The series names `/metrics` exports once the controller has recorded one of each kind of
/// event (a family with labels shows no line before its first sample).
async fn exported() -> BTreeSet<String> {
    let metrics = Metrics::new();
    metrics.reconcile(ReconcileResult::Error, 0.1);
    metrics.failure(FailureCategory::Git);
    metrics.resize(ResizeResult::Deferred);
    metrics.pull_request(PrAction::Failed, 1.0);
    metrics.set_leader(true);
    metrics.prometheus_queries(1);
    metrics.prometheus_query_errors(1);
    metrics.recommendations_computed(1);
    let app = router(Arc::new(metrics), Arc::new(Health::new()));
    let response = app
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    promql::series_names(std::str::from_utf8(&body).unwrap())
}

#[tokio::test]
async fn every_metric_an_alert_or_panel_queries_is_exported() {
    let have = exported().await;
    assert!(have.contains("attune_reconciles_total"), "{have:?}");
    let mut queried: Vec<(String, String)> = alerts()
        .into_iter()
        .map(|(a, e)| (format!("alert {a}"), e))
        .collect();
    queried.extend(panel_exprs());
    queried.extend(variable_selectors());
    assert!(queried.len() > 15, "{queried:?}");
    for (place, expr) in queried {
        let names = promql::metric_names(&expr);
        assert!(!names.is_empty(), "{place} queries no metric: {expr}");
        for name in names {
            assert!(
                have.contains(&name),
                "{place} queries {name}, which /metrics does not export: {expr}"
            );
        }
    }
}

#[test]
fn the_metric_name_reader_finds_metrics_and_skips_the_rest() {
    let names = promql::metric_names(
        r#"histogram_quantile(0.99, sum by (le, result) (rate(a_bucket{x="y",result=~"b|c"}[5m])))
           / on(job) group_left(pod) sum without (le) (b_total offset 1h) > bool 0 or absent(c)"#,
    );
    assert_eq!(names, vec!["a_bucket", "b_total", "c"]);
}

fn prometheus_url() -> String {
    std::env::var("PROMETHEUS_URL").unwrap_or_else(|_| {
        panic!(
            "PROMETHEUS_URL is not set: this test needs the test Prometheus; run via tests/run \
             (it starts tests/servers/prometheus.sh up and exports prometheus.env)"
        )
    })
}

/// Evaluates `expr` once on the test Prometheus; the result vector or Prometheus's error.
async fn query(http: &reqwest::Client, expr: &str) -> Result<Vec<Value>, String> {
    let url = reqwest::Url::parse_with_params(
        &format!("{}/api/v1/query", prometheus_url()),
        &[("query", expr)],
    )
    .unwrap();
    let response = http.get(url).send().await.map_err(|e| e.to_string())?;
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    if body["status"] != "success" {
        return Err(format!("{}: {}", body["errorType"], body["error"]));
    }
    Ok(body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

#[tokio::test]
async fn every_alert_and_panel_expression_evaluates_on_prometheus() {
    let http = reqwest::Client::new();
    // The test Prometheus holds no attune series: only the leader alert's `absent` answers.
    for (alert, expr) in alerts() {
        let result = query(&http, &expr)
            .await
            .unwrap_or_else(|e| panic!("alert {alert}: {e}\n{expr}"));
        let expected = usize::from(alert == "AttuneNoLeader");
        assert_eq!(result.len(), expected, "alert {alert}: {result:?}");
    }
    let grafana = [
        ("$__rate_interval", "5m"),
        ("$__range", "1h"),
        ("$namespace", ".*"),
        ("$job", ".*"),
    ];
    for (place, expr) in panel_exprs() {
        let mut concrete = expr.clone();
        for (var, value) in grafana {
            concrete = concrete.replace(var, value);
        }
        assert!(
            !concrete.contains('$'),
            "{place}: unknown variable in {expr}"
        );
        query(&http, &concrete)
            .await
            .unwrap_or_else(|e| panic!("{place}: {e}\n{concrete}"));
    }
    // And a broken expression is refused, so the loop above can fail.
    let refused = query(&http, "sum(rate(attune_reconciles_total[5m])").await;
    assert!(refused.is_err(), "{refused:?}");
}

#[test]
fn the_dashboard_config_map_carries_the_dashboard_file() {
    let objects = helm::template(Values::AllOn, NS);
    let map = helm::find(&objects, "ConfigMap", "attune-controller-dashboard");
    assert_eq!(map["metadata"]["labels"]["grafana_dashboard"], "1");
    assert_eq!(map["metadata"]["labels"]["team"], "platform");
    assert_eq!(map["metadata"]["namespace"], "attune-chart-monitoring");
    assert_eq!(map["metadata"]["annotations"]["grafana_folder"], "Attune");
    let carried: Value =
        serde_json::from_str(map["data"]["attune.json"].as_str().unwrap()).unwrap();
    assert_eq!(carried, dashboard());
    let dashboard = dashboard();
    let rows: Vec<&str> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] == "row")
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        rows,
        [
            "Overview",
            "Recommendations",
            "Safety",
            "GitOps",
            "Controller health"
        ]
    );
}
