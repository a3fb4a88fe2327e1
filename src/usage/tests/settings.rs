//! `spec.metricsSource` as policies write it: defaults, every validation, and what errors and
//! `Debug` show.

use std::time::Duration;

use serde_json::{Value, json};

use crate::crd::{MetricsSource, PodAggregation};
use crate::usage::{BearerToken, QuerySettings, UsageError, UsageSettings};

fn read(spec: Value, token: Option<&str>) -> Result<UsageSettings, UsageError> {
    let source: MetricsSource = serde_json::from_value(spec).unwrap();
    let token = token.map(|t| BearerToken::from_secret_value(t.as_bytes()).unwrap());
    UsageSettings::from_spec(&source, token)
}

fn error(spec: Value, token: Option<&str>) -> String {
    read(spec, token).unwrap_err().to_string()
}

#[test]
fn defaults_are_the_go_operators() {
    let settings = read(
        json!({"prometheus": {"address": "http://prometheus:9090"}}),
        None,
    )
    .unwrap();
    assert_eq!(settings.query, QuerySettings::default());
    assert_eq!(
        settings.query.history_window,
        Duration::from_secs(168 * 3600)
    );
    assert_eq!(settings.query.step, Duration::from_secs(300));
    assert_eq!(settings.query.rate_window, None);
    assert_eq!(settings.query.pod_aggregation, PodAggregation::Max);
    assert_eq!(settings.query.minimum_data_points, 48);
    assert_eq!(settings.endpoint.address(), "http://prometheus:9090");
    assert!(!settings.endpoint.insecure_skip_verify);
}

#[test]
fn reads_every_field() {
    let settings = read(
        json!({
            "prometheus": {
                "address": "https://prom.example.com/sub/",
                "headers": {"X-Scope-OrgID": "team-a"},
                "queryParameters": {"dedup": "false"},
                "bearerTokenSecret": {"name": "prom", "key": "token"},
                "tls": {"insecureSkipVerify": true}
            },
            "historyWindow": "72h", "queryStep": "1m", "rateWindow": "2m",
            "podAggregation": "None", "minimumDataPoints": 12,
            "cpuRecordingMetric": "ns:cpu:rate5m", "memoryRecordingMetric": "ns:mem"
        }),
        Some("t0ken-value"),
    )
    .unwrap();
    let q = &settings.query;
    assert_eq!(q.history_window, Duration::from_secs(72 * 3600));
    assert_eq!(q.step, Duration::from_secs(60));
    assert_eq!(q.rate_window, Some(Duration::from_secs(120)));
    assert_eq!(q.pod_aggregation, PodAggregation::None);
    assert_eq!(q.minimum_data_points, 12);
    assert_eq!(q.cpu_recording_metric.as_deref(), Some("ns:cpu:rate5m"));
    assert_eq!(q.memory_recording_metric.as_deref(), Some("ns:mem"));
    let e = &settings.endpoint;
    assert_eq!(e.address(), "https://prom.example.com/sub");
    assert!(e.insecure_skip_verify);
    assert_eq!(e.headers.len(), 1);
    assert!(e.headers[0].1.is_sensitive());
    assert_eq!(
        e.query_parameters,
        vec![("dedup".to_owned(), "false".to_owned())]
    );
    let debug = format!("{settings:?}");
    assert!(
        !debug.contains("team-a") && !debug.contains("t0ken-value"),
        "{debug}"
    );
    assert!(
        debug.contains("x-scope-orgid") && debug.contains("***"),
        "{debug}"
    );
}

#[test]
fn bad_values_are_clear_errors() {
    let cases = [
        (
            json!({}),
            "spec.metricsSource.prometheus: is required by the built-in recommender",
        ),
        (
            json!({"prometheus": {}}),
            "spec.metricsSource.prometheus.address: is required (e.g. http://prometheus-server.monitoring:80)",
        ),
        (
            json!({"prometheus": {"address": "prometheus:9090"}}),
            "spec.metricsSource.prometheus.address: \"prometheus:9090\" must be an http:// or https:// url with a host",
        ),
        (
            json!({"prometheus": {"address": "ftp://prometheus"}}),
            "spec.metricsSource.prometheus.address: \"ftp://prometheus\" must be an http:// or https:// url with a host",
        ),
        (
            json!({"prometheus": {"address": "http://p:9090/?x=1"}}),
            "spec.metricsSource.prometheus.address: \"http://p:9090/?x=1\" must not have a query or fragment; put parameters in queryParameters",
        ),
        (
            json!({"prometheus": {"address": "http://a b"}}),
            "spec.metricsSource.prometheus.address: is not a url (invalid international domain name); e.g. http://prometheus:9090",
        ),
        (
            json!({"prometheus": {"address": "http://p", "queryParameters": {"step": "1"}}}),
            "spec.metricsSource.prometheus.queryParameters.step: is set by attune itself (reserved: query, start, end, step, time, timeout)",
        ),
        (
            json!({"prometheus": {"address": "http://p", "headers": {"Host": "x"}}}),
            "spec.metricsSource.prometheus.headers.Host: is set by the http client and cannot be overridden",
        ),
        (
            json!({"prometheus": {"address": "http://p", "headers": {"bad header": "x"}}}),
            "spec.metricsSource.prometheus.headers.bad header: is not a valid http header name",
        ),
        (
            json!({"prometheus": {"address": "http://p", "headers": {"X-A": "line\nbreak"}}}),
            "spec.metricsSource.prometheus.headers.X-A: has a value an http header cannot carry (control characters or non-ASCII)",
        ),
        (
            json!({"prometheus": {"address": "http://p", "bearerTokenSecret": {"name": "s", "key": "k"}}}),
            "spec.metricsSource.prometheus.bearerTokenSecret: key \"k\" of Secret \"s\" was not read",
        ),
        (
            json!({"prometheus": {"address": "http://p"}, "historyWindow": "7d"}),
            "spec.metricsSource.historyWindow: \"7d\" is not a duration: unknown unit (use ns, us, ms, s, m or h)",
        ),
        (
            json!({"prometheus": {"address": "http://p"}, "historyWindow": "721h"}),
            "spec.metricsSource.historyWindow: \"721h\" is outside 1h..720h",
        ),
        (
            json!({"prometheus": {"address": "http://p"}, "queryStep": "5s"}),
            "spec.metricsSource.queryStep: \"5s\" is outside 10s..1h",
        ),
        (
            json!({"prometheus": {"address": "http://p"}, "rateWindow": "0s"}),
            "spec.metricsSource.rateWindow: \"0s\" must be longer than zero",
        ),
        (
            json!({"prometheus": {"address": "http://p"}, "minimumDataPoints": 0}),
            "spec.metricsSource.minimumDataPoints: 0 must be at least 1",
        ),
        (
            json!({"prometheus": {"address": "http://p"}, "cpuRecordingMetric": "rate(x[5m])"}),
            "spec.metricsSource.cpuRecordingMetric: \"rate(x[5m])\" is not a metric name (letters, digits, '_' and ':', not starting with a digit; no selectors or functions)",
        ),
        (
            json!({"prometheus": {"address": "http://p"}, "memoryRecordingMetric": "m{a=\"b\"}"}),
            "spec.metricsSource.memoryRecordingMetric: \"m{a=\\\"b\\\"}\" is not a metric name (letters, digits, '_' and ':', not starting with a digit; no selectors or functions)",
        ),
    ];
    for (spec, want) in cases {
        assert_eq!(error(spec.clone(), None), want, "{spec}");
    }
}

#[test]
fn an_authorization_header_conflicts_with_the_token_secret() {
    let spec = json!({"prometheus": {"address": "http://p",
        "headers": {"Authorization": "Basic eHh4"},
        "bearerTokenSecret": {"name": "s", "key": "k"}}});
    assert_eq!(
        error(spec, Some("tok")),
        "spec.metricsSource.prometheus.headers.Authorization: conflicts with bearerTokenSecret; set only one of them"
    );
    // Alone, an Authorization header is the policy's choice.
    let alone =
        json!({"prometheus": {"address": "http://p", "headers": {"Authorization": "Basic eHh4"}}});
    assert!(read(alone, None).is_ok());
}

#[test]
fn credentials_in_the_address_are_refused_and_never_echoed() {
    for address in [
        "http://user:hunter2@prometheus:9090",
        "http://hunter2@prometheus",
        "user:hunter2@prometheus:9090",
    ] {
        let err = error(json!({"prometheus": {"address": address}}), None);
        assert!(!err.contains("hunter2"), "{err}");
        assert!(
            err.starts_with("spec.metricsSource.prometheus.address: "),
            "{err}"
        );
    }
    assert_eq!(
        error(
            json!({"prometheus": {"address": "http://user:hunter2@p"}}),
            None
        ),
        "spec.metricsSource.prometheus.address: must not contain credentials; use bearerTokenSecret or headers"
    );
}
