//! The usage layer against a real Prometheus (Debian's 2.42, started by tests/run through
//! tests/servers/prometheus.sh) serving the deterministic history of
//! tests/servers/prometheus_history.py. "now" is the end of that data, so every run asks for
//! the same instants; the expected values below are the generator's rates and sizes, stated
//! here independently.

use std::sync::Arc;
use std::time::{Duration, Instant};

use attune::crd::{MetricsSource, TargetKind};
use attune::recommend::Sample;
use attune::usage::{
    Prometheus, QueryBudget, QueryLimits, RangePlan, Resolution, Resource, Usage, UsageRequest,
    UsageSettings, Workload, fetch_usage,
};
use serde_json::{Value, json};

/// 2026-01-05T00:00:00Z: the generator's last sample, a multiple of every step used here.
const NOW_MS: i64 = 1_767_571_200_000;
const STEP_MS: i64 = 300_000;
const MI: f64 = 1_048_576.0;

fn prometheus_url() -> String {
    std::env::var("PROMETHEUS_URL").unwrap_or_else(|_| {
        panic!(
            "PROMETHEUS_URL is not set: this test needs the backfilled Prometheus; run via \
             tests/run (it starts tests/servers/prometheus.sh up and exports prometheus.env)"
        )
    })
}

fn setup(extra: Value) -> (Prometheus, UsageSettings) {
    let mut spec = json!({"prometheus": {"address": prometheus_url()}});
    spec.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let source: MetricsSource = serde_json::from_value(spec).unwrap();
    let settings = UsageSettings::from_spec(&source, None).unwrap();
    let budget = Arc::new(QueryBudget::new(QueryLimits::default()).unwrap());
    (
        Prometheus::new(settings.endpoint.clone(), budget).unwrap(),
        settings,
    )
}

fn workload(name: &'static str, kind: TargetKind) -> Workload<'static> {
    Workload {
        namespace: "shop",
        name,
        kind,
        indexed: false,
    }
}

async fn fetch(extra: Value, workload: Workload<'_>, resource: Resource) -> Usage {
    let (prometheus, settings) = setup(extra);
    let started = Instant::now();
    let request = UsageRequest {
        settings: &settings.query,
        workload,
        resource,
        now_ms: NOW_MS,
    };
    let usage = fetch_usage(&prometheus, &request)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", workload.name));
    eprintln!(
        "{} {}: {} series in {:?}",
        workload.name,
        resource.as_str(),
        usage.containers.len(),
        started.elapsed()
    );
    usage
}

fn names(usage: &Usage) -> Vec<&str> {
    usage.containers.iter().map(|(n, _)| n.as_str()).collect()
}

/// `count` samples at the 5m grid ending at now, each `value(timestamp_ms)`.
fn grid(count: i64, value: impl Fn(i64) -> f64) -> Vec<Sample> {
    (0..count)
        .map(|i| NOW_MS - (count - 1 - i) * STEP_MS)
        .map(|timestamp_ms| Sample {
            timestamp_ms,
            value: value(timestamp_ms),
        })
        .collect()
}

/// web's app container: 0.8 cores over 5-minute windows inside hour 14 UTC, else 0.2.
fn web_app_cpu(timestamp_ms: i64) -> f64 {
    let of_day = timestamp_ms / 1000 % 86_400;
    if (14 * 3600 + 300..=15 * 3600).contains(&of_day) {
        0.8
    } else {
        0.2
    }
}

#[tokio::test]
async fn deployment_cpu_is_the_max_per_container_without_the_pod_level_series() {
    let usage = fetch(
        json!({}),
        workload("web", TargetKind::Deployment),
        Resource::Cpu,
    )
    .await;
    assert_eq!(usage.plan.resolution, Resolution::AsConfigured);
    assert_eq!(names(&usage), ["app", "proxy"]);
    let app = usage.container("app").unwrap();
    assert_eq!(app, grid(2016, web_app_cpu).as_slice());
    assert_eq!(app.iter().filter(|s| s.value == 0.8).count(), 7 * 12);
    // proxy: the max of 0.05 and 0.0625 cores (the second pod).
    assert_eq!(
        usage.container("proxy").unwrap(),
        grid(2016, |_| 0.0625).as_slice()
    );
    assert_eq!(usage.newest_ms(), Some(NOW_MS));
}

#[tokio::test]
async fn deployment_memory_max_and_unaggregated() {
    let web = workload("web", TargetKind::Deployment);
    let max = fetch(json!({}), web, Resource::Memory).await;
    assert_eq!(
        names(&max),
        ["app", "proxy"],
        "neither \"\" nor the pause container"
    );
    assert_eq!(
        max.container("app").unwrap(),
        grid(2016, |_| 300.0 * MI).as_slice()
    );
    assert_eq!(
        max.container("proxy").unwrap(),
        grid(2016, |_| 80.0 * MI).as_slice()
    );

    let none = fetch(json!({"podAggregation": "None"}), web, Resource::Memory).await;
    assert!(
        none.query
            .starts_with("container_memory_working_set_bytes{"),
        "{}",
        none.query
    );
    assert_eq!(names(&none), ["app", "proxy"]);
    for (container, sizes) in [("app", [256.0, 300.0]), ("proxy", [64.0, 80.0])] {
        let samples = none.container(container).unwrap();
        assert_eq!(
            samples.len(),
            2 * 2016,
            "{container}: one series per pod, merged"
        );
        assert!(
            samples
                .windows(2)
                .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms)
        );
        for size in sizes {
            let count = samples.iter().filter(|s| s.value == size * MI).count();
            assert_eq!(count, 2016, "{container} {size}Mi");
        }
    }
}

#[tokio::test]
async fn statefulset_with_avg() {
    let db = workload("db", TargetKind::StatefulSet);
    let cpu = fetch(json!({"podAggregation": "Avg"}), db, Resource::Cpu).await;
    assert_eq!(
        cpu.containers,
        vec![("postgres".to_owned(), grid(2016, |_| 0.375))]
    );
    let memory = fetch(json!({"podAggregation": "Avg"}), db, Resource::Memory).await;
    assert_eq!(
        memory.containers,
        vec![("postgres".to_owned(), grid(2016, |_| 768.0 * MI))]
    );
}

#[tokio::test]
async fn the_pod_level_series_is_used_when_it_is_all_there_is() {
    let agent = workload("agent", TargetKind::DaemonSet);
    let cpu = fetch(json!({}), agent, Resource::Cpu).await;
    assert_eq!(
        cpu.containers,
        vec![("agent".to_owned(), grid(2016, |_| 0.125))]
    );
    let memory = fetch(json!({}), agent, Resource::Memory).await;
    assert_eq!(names(&memory), [""]);
    assert_eq!(
        memory.container("agent").unwrap(),
        grid(2016, |_| 128.0 * MI).as_slice()
    );
}

#[tokio::test]
async fn a_new_workload_has_ten_points() {
    let fresh = workload("fresh", TargetKind::Deployment);
    let cpu = fetch(json!({}), fresh, Resource::Cpu).await;
    assert_eq!(cpu.containers, vec![("app".to_owned(), grid(10, |_| 0.25))]);
    let memory = fetch(json!({}), fresh, Resource::Memory).await;
    assert_eq!(
        memory.containers,
        vec![("app".to_owned(), grid(10, |_| 200.0 * MI))]
    );
}

#[tokio::test]
async fn a_recording_metric_is_read_without_rate() {
    let usage = fetch(
        json!({"cpuRecordingMetric": "attune:container_cpu_usage:rate5m"}),
        workload("web", TargetKind::Deployment),
        Resource::Cpu,
    )
    .await;
    assert_eq!(
        usage.query,
        r#"max by (container) (attune:container_cpu_usage:rate5m{namespace="shop",pod=~"web-[a-z0-9]+-[a-z0-9]{5}"})"#
    );
    // Recorded over the last day only: 24h / 5m + 1 points.
    assert_eq!(
        usage.containers,
        vec![("app".to_owned(), grid(289, web_app_cpu))]
    );
}

#[tokio::test]
async fn a_long_window_at_a_fine_step_is_widened_and_answered() {
    let extra = json!({"historyWindow": "720h", "queryStep": "10s"});
    let usage = fetch(
        extra.clone(),
        workload("agent", TargetKind::DaemonSet),
        Resource::Cpu,
    )
    .await;
    assert_eq!(
        usage.plan.resolution,
        Resolution::Widened {
            configured: Duration::from_secs(10),
            effective: Duration::from_secs(240)
        }
    );
    assert!(usage.query.ends_with("[4m]))"), "{}", usage.query);
    // 8 days of data at 4m, less the first instant (one sample is not a rate).
    let samples = usage.container("agent").unwrap();
    assert_eq!(samples.len(), 8 * 360);
    assert!(samples.iter().all(|s| s.value == 0.125));
    assert_eq!(samples.last().unwrap().timestamp_ms, NOW_MS);

    // What Prometheus says to the same window at the configured step.
    let (prometheus, settings) = setup(extra);
    let unwidened = RangePlan {
        start_ms: NOW_MS - 720 * 3_600_000 + 10_000,
        step: Duration::from_secs(10),
        rate_window: Duration::from_secs(30),
        resolution: Resolution::AsConfigured,
        ..RangePlan::new(&settings.query, NOW_MS)
    };
    let err = prometheus
        .query_range(&usage.query, &unwidened)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "prometheus at {} answered 400: exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
            prometheus_url()
        )
    );
}
