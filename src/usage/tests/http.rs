//! HTTP contract tests: a wiremock server stands in for Prometheus with recorded `query_range`
//! answers; each test checks exactly what was sent and what came back.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::crd::{MetricsSource, TargetKind};
use crate::recommend::Sample;
use crate::usage::{
    BearerToken, Prometheus, QueryBudget, QueryLimits, Resource, UsageError, UsageRequest,
    UsageSettings, Workload, fetch_usage,
};

/// 2026-01-05T00:00:00Z.
const NOW_MS: i64 = 1_767_571_200_000;
const NOW_S: i64 = NOW_MS / 1000;
const TOKEN: &str = "tok-3f9a1c77e2";

const WEB: Workload<'static> = Workload {
    namespace: "shop",
    name: "web",
    kind: TargetKind::Deployment,
    indexed: false,
};

fn settings(spec: Value, token: Option<&str>) -> UsageSettings {
    let source: MetricsSource = serde_json::from_value(spec).unwrap();
    let token = token.map(|t| BearerToken::from_secret_value(t.as_bytes()).unwrap());
    UsageSettings::from_spec(&source, token).unwrap()
}

fn request<'a>(
    settings: &'a UsageSettings,
    workload: Workload<'a>,
    resource: Resource,
) -> UsageRequest<'a> {
    UsageRequest {
        settings: &settings.query,
        workload,
        resource,
        now_ms: NOW_MS,
    }
}

fn client(settings: &UsageSettings, limits: QueryLimits) -> Prometheus {
    let budget = Arc::new(QueryBudget::new(limits).unwrap());
    Prometheus::new(settings.endpoint.clone(), budget).unwrap()
}

/// A matrix answer: `(labels, [(seconds, "value")])` per series.
fn matrix(series: &[(Value, Vec<(i64, &str)>)]) -> Value {
    let result: Vec<Value> = series
        .iter()
        .map(|(metric, values)| {
            let values: Vec<Value> = values.iter().map(|(t, v)| json!([t, v])).collect();
            json!({"metric": metric, "values": values})
        })
        .collect();
    json!({"status": "success", "data": {"resultType": "matrix", "result": result}})
}

fn query_pairs(request: &Request) -> Vec<(String, String)> {
    request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn samples(points: &[(i64, f64)]) -> Vec<Sample> {
    points
        .iter()
        .map(|&(s, value)| Sample {
            timestamp_ms: s * 1000,
            value,
        })
        .collect()
}

#[tokio::test]
async fn sends_the_exact_query_headers_and_parameters() {
    let server = MockServer::start().await;
    let answer = matrix(&[
        (
            json!({"container": "app"}),
            vec![(NOW_S - 300, "0.25"), (NOW_S, "NaN")],
        ),
        (
            json!({"container": "proxy"}),
            vec![(NOW_S - 300, "0.05"), (NOW_S, "+Inf")],
        ),
        (json!({}), vec![(NOW_S, "0.5")]),
    ]);
    Mock::given(method("GET"))
        .and(path("/prom/api/v1/query_range"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings(
        json!({"prometheus": {
            "address": format!("{}/prom/", server.uri()),
            "headers": {"X-Scope-OrgID": "team-a"},
            "queryParameters": {"dedup": "false"},
            "bearerTokenSecret": {"name": "prom", "key": "token"}}}),
        Some(TOKEN),
    );
    let prometheus = client(&settings, QueryLimits::default());
    let usage = fetch_usage(&prometheus, &request(&settings, WEB, Resource::Cpu))
        .await
        .unwrap();

    let query = r#"max by (container) (rate(container_cpu_usage_seconds_total{namespace="shop",pod=~"web-[a-z0-9]+-[a-z0-9]{5}"}[5m]))"#;
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let start = (NOW_S - 168 * 3600 + 300).to_string();
    let expected: Vec<(String, String)> = [
        ("query", query),
        ("start", start.as_str()),
        ("end", "1767571200"),
        ("step", "300"),
        ("timeout", "30"),
        ("dedup", "false"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(query_pairs(&requests[0]), expected);
    let header = |name: &str| {
        requests[0]
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        header("authorization").as_deref(),
        Some("Bearer tok-3f9a1c77e2")
    );
    assert_eq!(header("x-scope-orgid").as_deref(), Some("team-a"));

    assert_eq!(usage.query, query);
    assert_eq!(usage.plan.points(), 2016);
    let names: Vec<&str> = usage.containers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["app", "proxy"], "the pod-level series is left out");
    let app = usage.container("app").unwrap();
    assert_eq!(app[0], samples(&[(NOW_S - 300, 0.25)])[0]);
    assert!(
        app[1].value.is_nan(),
        "NaN is passed on for the profile to drop"
    );
    assert_eq!(usage.container("proxy").unwrap()[1].value, f64::INFINITY);
    assert_eq!(usage.newest_ms(), Some(NOW_MS));
}

#[tokio::test]
async fn memory_with_avg_and_a_statefulset() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query_range"))
        .respond_with(ResponseTemplate::new(200).set_body_json(matrix(&[(
            json!({"container": "postgres"}),
            vec![(NOW_S - 60, "805306368"), (NOW_S, "805306368")],
        )])))
        .mount(&server)
        .await;
    let settings = settings(
        json!({"prometheus": {"address": server.uri()}, "podAggregation": "Avg",
               "historyWindow": "24h", "queryStep": "1m"}),
        None,
    );
    let prometheus = client(&settings, QueryLimits::default());
    let db = Workload {
        namespace: "shop",
        name: "db",
        kind: TargetKind::StatefulSet,
        indexed: false,
    };
    let usage = fetch_usage(&prometheus, &request(&settings, db, Resource::Memory))
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let pairs = query_pairs(&requests[0]);
    assert_eq!(
        pairs[0].1,
        r#"avg by (container) (container_memory_working_set_bytes{namespace="shop",pod=~"db-[0-9]+"})"#
    );
    assert_eq!(pairs[1].1, (NOW_S - 24 * 3600 + 60).to_string());
    assert_eq!(pairs[3].1, "60");
    assert!(requests[0].headers.get("authorization").is_none());
    assert_eq!(
        usage.containers,
        vec![(
            "postgres".to_owned(),
            samples(&[(NOW_S - 60, 805306368.0), (NOW_S, 805306368.0)])
        )]
    );
}

#[tokio::test]
async fn too_many_points_is_prometheus_unavailable_with_its_message() {
    let server = MockServer::start().await;
    let body = json!({"status": "error", "errorType": "bad_data",
        "error": "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"});
    Mock::given(any())
        .respond_with(ResponseTemplate::new(400).set_body_json(body))
        .mount(&server)
        .await;
    let settings = settings(json!({"prometheus": {"address": server.uri()}}), None);
    let prometheus = client(&settings, QueryLimits::default());
    let err = fetch_usage(&prometheus, &request(&settings, WEB, Resource::Cpu))
        .await
        .unwrap_err();
    assert!(!err.is_setting());
    assert_eq!(
        err.to_string(),
        format!(
            "prometheus at {} answered 400: exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
            server.uri()
        )
    );
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(matrix(&[]))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let settings = settings(json!({"prometheus": {"address": server.uri()}}), None);
    let limits = QueryLimits {
        timeout: Duration::from_millis(300),
        ..QueryLimits::default()
    };
    let prometheus = client(&settings, limits);
    let started = std::time::Instant::now();
    let err = fetch_usage(&prometheus, &request(&settings, WEB, Resource::Cpu))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        err,
        UsageError::Timeout {
            address: server.uri(),
            limit: Duration::from_millis(300)
        }
    );
    assert_eq!(
        err.to_string(),
        format!("prometheus at {} did not answer within 0.3s", server.uri())
    );
}

#[tokio::test]
async fn the_token_never_follows_a_redirect_to_another_host() {
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(matrix(&[])))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/steal?x=1", elsewhere.uri())),
        )
        .mount(&server)
        .await;
    let settings = settings(
        json!({"prometheus": {"address": server.uri(),
               "bearerTokenSecret": {"name": "prom", "key": "token"}}}),
        Some(TOKEN),
    );
    let prometheus = client(&settings, QueryLimits::default());
    let err = fetch_usage(&prometheus, &request(&settings, WEB, Resource::Cpu))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        UsageError::Redirected {
            address: server.uri(),
            location: elsewhere.uri()
        }
    );
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_redirect_within_the_address_is_followed_with_the_token() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/query_range"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", "/prometheus/api/v1/query_range?query=up"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/prometheus/api/v1/query_range"))
        .and(wiremock::matchers::bearer_token(TOKEN))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(matrix(&[(json!({"container": "app"}), vec![(NOW_S, "1")])])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings(
        json!({"prometheus": {"address": server.uri(),
               "bearerTokenSecret": {"name": "prom", "key": "token"}}}),
        Some(TOKEN),
    );
    let prometheus = client(&settings, QueryLimits::default());
    let usage = fetch_usage(&prometheus, &request(&settings, WEB, Resource::Memory))
        .await
        .unwrap();
    assert_eq!(
        usage.containers,
        vec![("app".to_owned(), samples(&[(NOW_S, 1.0)]))]
    );
}

#[tokio::test]
async fn echoed_secrets_are_redacted_from_errors() {
    let server = MockServer::start().await;
    let echo = |request: &Request| {
        let auth = request
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap();
        let org = request.headers.get("x-api-key").unwrap().to_str().unwrap();
        ResponseTemplate::new(502).set_body_string(format!(
            "<html>proxy error for {auth} with key {org} at {}</html>",
            request.url
        ))
    };
    Mock::given(any()).respond_with(echo).mount(&server).await;
    let settings = settings(
        json!({"prometheus": {"address": server.uri(),
               "headers": {"X-Api-Key": "key-77aa"},
               "queryParameters": {"api_key": "param-secret-9"},
               "bearerTokenSecret": {"name": "prom", "key": "token"}}}),
        Some(TOKEN),
    );
    let prometheus = client(&settings, QueryLimits::default());
    let err = fetch_usage(&prometheus, &request(&settings, WEB, Resource::Cpu))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "prometheus at {} answered 502: <html>proxy error for Bearer *** with key ***",
            server.uri()
        )),
        "{err}"
    );
    for secret in [TOKEN, "key-77aa", "param-secret-9"] {
        assert!(!err.contains(secret), "{secret} in {err}");
        assert!(
            !format!("{prometheus:?}").contains(secret),
            "{secret} in Debug"
        );
    }
}

#[tokio::test]
async fn unusable_answers_are_specific_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/html/api/v1/query_range"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>login</html>"))
        .mount(&server)
        .await;
    Mock::given(path("/huge/api/v1/query_range"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(4096)))
        .mount(&server)
        .await;
    Mock::given(path("/error200/api/v1/query_range"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/empty503/api/v1/query_range"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let limits = QueryLimits {
        max_answer_bytes: 1024,
        ..QueryLimits::default()
    };
    let cases = [
        (
            "html",
            "answered 200 with an unusable body: not a prometheus answer (expected value at line 1 column 1)",
        ),
        (
            "huge",
            "answered more than 1024 bytes; narrow the query (podAggregation Max, a longer queryStep) or raise the limit",
        ),
        (
            "error200",
            "answered 200: query timed out in expression evaluation",
        ),
        ("empty503", "answered 503: Service Unavailable"),
    ];
    for (prefix, want) in cases {
        let address = format!("{}/{prefix}", server.uri());
        let settings = settings(json!({"prometheus": {"address": address}}), None);
        let prometheus = client(&settings, limits);
        let err = fetch_usage(&prometheus, &request(&settings, WEB, Resource::Cpu))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), format!("prometheus at {address} {want}"));
    }
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let settings = settings(json!({"prometheus": {"address": address}}), None);
    let prometheus = client(&settings, QueryLimits::default());
    let err = fetch_usage(&prometheus, &request(&settings, WEB, Resource::Cpu))
        .await
        .unwrap_err();
    match &err {
        UsageError::Unreachable { address: a, reason } => {
            assert_eq!(a, &address);
            assert!(!reason.contains("query_range"), "no url in {reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with(&format!("prometheus at {address} could not be reached: "))
    );
}

/// Real time: with tokio's clock paused, waiting on the stub's socket would advance it to the
/// request timeout.
#[tokio::test]
async fn queries_wait_for_the_shared_budget() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(matrix(&[])))
        .mount(&server)
        .await;
    let settings = settings(json!({"prometheus": {"address": server.uri()}}), None);
    let limits = QueryLimits {
        queries_per_second: 20.0,
        burst: 2,
        ..QueryLimits::default()
    };
    let budget = Arc::new(QueryBudget::new(limits).unwrap());
    // Two clients (two policies) share one budget.
    let a = Prometheus::new(settings.endpoint.clone(), budget.clone()).unwrap();
    let b = Prometheus::new(settings.endpoint.clone(), budget.clone()).unwrap();
    let started = std::time::Instant::now();
    for prometheus in [&a, &b, &a, &b, &a] {
        fetch_usage(prometheus, &request(&settings, WEB, Resource::Cpu))
            .await
            .unwrap();
    }
    // Two from the burst, three more at 20/s.
    assert!(
        started.elapsed() >= Duration::from_millis(145),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(budget.issued(), 5);
    assert_eq!(server.received_requests().await.unwrap().len(), 5);
}
