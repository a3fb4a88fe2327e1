use super::*;
use crate::recommend::Sample;

fn spec(query: &str, threshold: &str, window: Option<&str>) -> SloGuardrail {
    SloGuardrail {
        name: "latency".into(),
        query: query.into(),
        threshold: threshold.into(),
        comparison: None,
        evaluation_window: window.map(str::to_owned),
    }
}

fn series(values: &[f64]) -> Series {
    Series {
        container: "app".into(),
        samples: values
            .iter()
            .enumerate()
            .map(|(i, v)| Sample {
                timestamp_ms: i as i64 * 1000,
                value: *v,
            })
            .collect(),
    }
}

const SUBJECT: Subject<'static> = Subject {
    namespace: "shop",
    workload: "web",
    pod: "web-7d9c-x2k4q",
};

#[test]
fn a_guardrail_is_templated_for_the_pod_with_its_window() {
    let g = guardrails(&[spec(
        r#"sum(rate(http_errors{namespace="{{.Namespace}}",pod="{{ .PodName }}",app="{{.WorkloadName}}"}[{{.EvaluationWindow}}]))"#,
        " 0.05 ",
        Some("10m"),
    )])
    .unwrap();
    assert_eq!(g[0].threshold, 0.05);
    assert_eq!(g[0].window, Duration::from_secs(600));
    assert_eq!(g[0].comparison, SloComparison::Above);
    assert_eq!(
        render(&g[0], &SUBJECT),
        r#"sum(rate(http_errors{namespace="shop",pod="web-7d9c-x2k4q",app="web"}[10m]))"#
    );
    // Values are escaped for the string they land in.
    let odd = Subject {
        pod: "a\"b",
        ..SUBJECT
    };
    assert_eq!(
        render(&g[0], &odd),
        r#"sum(rate(http_errors{namespace="shop",pod="a\"b",app="web"}[10m]))"#
    );
}

#[test]
fn bad_guardrails_are_refused_with_the_field_and_the_fix() {
    let cases = [
        (
            spec("up", "fast", None),
            "threshold \"fast\" is not a number",
        ),
        (spec("up", "NaN", None), "threshold \"NaN\" is not a number"),
        (
            spec("up", "1", Some("5 minutes")),
            "evaluationWindow \"5 minutes\"",
        ),
        (spec("up", "1", Some("0s")), "it is zero"),
        (
            spec("up{pod=\"{{.Pod}}\"}", "1", None),
            "the query uses {{.Pod}}",
        ),
        (
            spec("up{pod=\"{{.PodName}\"}", "1", None),
            "the query uses {{.PodName}\"}",
        ),
        (spec(" ", "1", None), "name and query must not be empty"),
    ];
    for (g, want) in cases {
        let error = guardrails(std::slice::from_ref(&g))
            .unwrap_err()
            .to_string();
        assert!(error.contains(want), "{g:?}: {error}");
        assert!(
            error.starts_with("updateStrategy.sloGuardrails[0]"),
            "{error}"
        );
    }
    assert_eq!(
        guardrails(&[spec("up", "1", None)]).unwrap()[0].window,
        DEFAULT_WINDOW
    );
}

#[test]
fn the_throttle_query_is_the_cfs_ratio_of_the_pod() {
    assert_eq!(
        throttle_query("shop", "web-1"),
        "max by (container) (rate(container_cpu_cfs_throttled_periods_total{namespace=\"shop\",\
         pod=\"web-1\",container!=\"\",container!=\"POD\"}[5m]) / \
         rate(container_cpu_cfs_periods_total{namespace=\"shop\",pod=\"web-1\",container!=\"\",\
         container!=\"POD\"}[5m]))"
    );
}

#[test]
fn answers_reduce_to_the_worst_finite_value() {
    let two = [series(&[0.9, 0.2]), series(&[0.4, f64::NAN])];
    assert_eq!(reduce(&two, SloComparison::Above), Reading::Value(0.4));
    assert_eq!(reduce(&two, SloComparison::Below), Reading::Value(0.2));
    assert_eq!(reduce(&[], SloComparison::Above), Reading::NoData);
    assert_eq!(
        reduce(&[series(&[f64::NAN])], SloComparison::Above),
        Reading::NoData
    );
    assert_eq!(
        reduce(&[series(&[f64::INFINITY, 3.0])], SloComparison::Above),
        Reading::Value(3.0)
    );
}
