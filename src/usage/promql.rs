//! The PromQL the Go operator sends, built from checked parts: escaped label values, a pod regex
//! per workload kind, a validated metric name. Pure.

use std::time::Duration;

use super::QuerySettings;
use crate::crd::{PodAggregation, TargetKind};

/// The resource a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// Cores, from `rate(container_cpu_usage_seconds_total[..])` or a recording metric.
    Cpu,
    /// Bytes, from `container_memory_working_set_bytes` or a recording metric.
    Memory,
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
        }
    }
}

/// Which pods to read: a workload by namespace, name and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub kind: TargetKind,
    /// A Job's or CronJob's `completionMode: Indexed` (its pods carry an index).
    pub indexed: bool,
}

/// The regex matching the names of a workload's pods: the workload name, regex-escaped, and the
/// suffix its controller appends. `indexed` is a Job's or CronJob's `completionMode: Indexed`.
///
/// CronJob pods are `NAME-<minutes since the epoch>-<5>`: 8 digits today. The Go operator
/// expects exactly 10 (seconds), which matches no real CronJob pod; this takes any number.
pub fn pod_regex(kind: TargetKind, name: &str, indexed: bool) -> String {
    let suffix = match (kind, indexed) {
        (TargetKind::Deployment, _) => "-[a-z0-9]+-[a-z0-9]{5}",
        (TargetKind::StatefulSet, _) => "-[0-9]+",
        (TargetKind::DaemonSet | TargetKind::ReplicaSet, _) | (TargetKind::Job, false) => {
            "-[a-z0-9]{5}"
        }
        (TargetKind::Job, true) => "-[0-9]+-[a-z0-9]{5}",
        (TargetKind::CronJob, false) => "-[0-9]+-[a-z0-9]{5}",
        (TargetKind::CronJob, true) => "-[0-9]+-[0-9]+-[a-z0-9]{5}",
    };
    let mut regex = escape_regex(name);
    regex.push_str(suffix);
    regex
}

/// The range-query expression for one workload and resource. `rate_window` is only used for
/// CPU without a recording metric.
pub fn expression(
    resource: Resource,
    settings: &QuerySettings,
    workload: &Workload<'_>,
    rate_window: Duration,
) -> String {
    let pod_regex = pod_regex(workload.kind, workload.name, workload.indexed);
    let selector = format!(
        "{{namespace=\"{}\",pod=~\"{}\"}}",
        escape_string(workload.namespace),
        escape_string(&pod_regex)
    );
    let recording = match resource {
        Resource::Cpu => settings.cpu_recording_metric.as_deref(),
        Resource::Memory => settings.memory_recording_metric.as_deref(),
    }
    // Settings are validated; this keeps an unchecked name from ever reaching the query.
    .filter(|name| valid_metric_name(name));
    let inner = match (resource, recording) {
        (_, Some(name)) => format!("{name}{selector}"),
        (Resource::Cpu, None) => format!(
            "rate(container_cpu_usage_seconds_total{selector}[{}])",
            format_duration(rate_window)
        ),
        (Resource::Memory, None) => format!("container_memory_working_set_bytes{selector}"),
    };
    match settings.pod_aggregation {
        PodAggregation::Max => format!("max by (container) ({inner})"),
        PodAggregation::Avg => format!("avg by (container) ({inner})"),
        PodAggregation::None => inner,
    }
}

/// `^[a-zA-Z_:][a-zA-Z0-9_:]*$`: a bare metric name, nothing PromQL could evaluate.
pub fn valid_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// A duration as PromQL writes it, in the largest unit that divides it (`168h`, `90m`, `30s`,
/// `1500ms`), as the Go operator's `FormatPromDuration` does for whole seconds.
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    match ms {
        0 => "0s".to_owned(),
        _ if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1_000) => format!("{}s", ms / 1_000),
        _ => format!("{ms}ms"),
    }
}

/// Escapes RE2 metacharacters (Go's `regexp.QuoteMeta`), so a name matches only itself.
pub fn escape_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes text for a double-quoted PromQL string: backslash, quote and control characters.
pub fn escape_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            '\t' => out.push_str(r"\t"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(aggregation: PodAggregation) -> QuerySettings {
        QuerySettings {
            pod_aggregation: aggregation,
            ..QuerySettings::default()
        }
    }

    fn workload(
        namespace: &'static str,
        name: &'static str,
        kind: TargetKind,
    ) -> Workload<'static> {
        Workload {
            namespace,
            name,
            kind,
            indexed: false,
        }
    }

    const FIVE_MINUTES: Duration = Duration::from_secs(300);

    #[test]
    fn the_go_operators_queries() {
        let api = workload("shop", "api", TargetKind::Deployment);
        let db = workload("shop", "db", TargetKind::StatefulSet);
        let max = settings(PodAggregation::Max);
        assert_eq!(
            expression(Resource::Cpu, &max, &api, FIVE_MINUTES),
            r#"max by (container) (rate(container_cpu_usage_seconds_total{namespace="shop",pod=~"api-[a-z0-9]+-[a-z0-9]{5}"}[5m]))"#
        );
        assert_eq!(
            expression(Resource::Memory, &max, &api, FIVE_MINUTES),
            r#"max by (container) (container_memory_working_set_bytes{namespace="shop",pod=~"api-[a-z0-9]+-[a-z0-9]{5}"})"#
        );
        let avg = settings(PodAggregation::Avg);
        assert_eq!(
            expression(Resource::Cpu, &avg, &db, Duration::from_secs(30)),
            r#"avg by (container) (rate(container_cpu_usage_seconds_total{namespace="shop",pod=~"db-[0-9]+"}[30s]))"#
        );
        let none = settings(PodAggregation::None);
        assert_eq!(
            expression(Resource::Memory, &none, &db, Duration::from_secs(30)),
            r#"container_memory_working_set_bytes{namespace="shop",pod=~"db-[0-9]+"}"#
        );
    }

    #[test]
    fn recording_metrics_replace_the_expression_without_rate() {
        let x = workload("a", "x", TargetKind::StatefulSet);
        let recorded = QuerySettings {
            cpu_recording_metric: Some("namespace_pod_container:cpu:rate5m".into()),
            memory_recording_metric: Some("attune:memory_ws".into()),
            ..QuerySettings::default()
        };
        assert_eq!(
            expression(Resource::Cpu, &recorded, &x, FIVE_MINUTES),
            r#"max by (container) (namespace_pod_container:cpu:rate5m{namespace="a",pod=~"x-[0-9]+"})"#
        );
        assert_eq!(
            expression(Resource::Memory, &recorded, &x, FIVE_MINUTES),
            r#"max by (container) (attune:memory_ws{namespace="a",pod=~"x-[0-9]+"})"#
        );
        // An unchecked name never reaches the query: the default expression is used.
        let injected = QuerySettings {
            cpu_recording_metric: Some("up} or vector(1)".into()),
            ..QuerySettings::default()
        };
        let query = expression(Resource::Cpu, &injected, &x, Duration::from_secs(60));
        assert_eq!(
            query,
            r#"max by (container) (rate(container_cpu_usage_seconds_total{namespace="a",pod=~"x-[0-9]+"}[1m]))"#
        );
    }

    #[test]
    fn pod_regexes_by_kind() {
        let cases = [
            (TargetKind::Deployment, false, "web-[a-z0-9]+-[a-z0-9]{5}"),
            (TargetKind::StatefulSet, false, "web-[0-9]+"),
            (TargetKind::DaemonSet, false, "web-[a-z0-9]{5}"),
            (TargetKind::ReplicaSet, false, "web-[a-z0-9]{5}"),
            (TargetKind::Job, false, "web-[a-z0-9]{5}"),
            (TargetKind::Job, true, "web-[0-9]+-[a-z0-9]{5}"),
            (TargetKind::CronJob, false, "web-[0-9]+-[a-z0-9]{5}"),
            (TargetKind::CronJob, true, "web-[0-9]+-[0-9]+-[a-z0-9]{5}"),
        ];
        for (kind, indexed, want) in cases {
            assert_eq!(
                pod_regex(kind, "web", indexed),
                want,
                "{kind:?} indexed={indexed}"
            );
        }
    }

    #[test]
    fn names_are_regex_escaped_then_string_escaped() {
        assert_eq!(
            pod_regex(TargetKind::StatefulSet, "my.app", false),
            r"my\.app-[0-9]+"
        );
        let odd = workload("team\"a\\b", "my.app", TargetKind::StatefulSet);
        assert_eq!(
            expression(
                Resource::Memory,
                &settings(PodAggregation::None),
                &odd,
                FIVE_MINUTES
            ),
            r#"container_memory_working_set_bytes{namespace="team\"a\\b",pod=~"my\\.app-[0-9]+"}"#
        );
        assert_eq!(
            escape_regex(r"a+b*c?(d)|[e]{f}^$\"),
            r"a\+b\*c\?\(d\)\|\[e\]\{f\}\^\$\\"
        );
        assert_eq!(escape_string("l1\nl2\t\r\u{1}"), r"l1\nl2\t\r\x01");
    }

    #[test]
    fn metric_names() {
        for good in ["a", "_x", ":y", "ns:cpu_usage:rate5m", "A9_:"] {
            assert!(valid_metric_name(good), "{good}");
        }
        for bad in ["", "9a", "a-b", "a{b}", "rate(x[5m])", "a b", "é"] {
            assert!(!valid_metric_name(bad), "{bad}");
        }
    }

    #[test]
    fn durations_in_the_largest_whole_unit() {
        let cases = [
            (Duration::from_secs(168 * 3600), "168h"),
            (Duration::from_secs(90 * 60), "90m"),
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(30), "30s"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_millis(1500), "1500ms"),
            (Duration::ZERO, "0s"),
        ];
        for (duration, want) in cases {
            assert_eq!(format_duration(duration), want);
        }
    }
}
