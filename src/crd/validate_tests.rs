use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::crd::AttunePolicySpec;

fn spec(extra: Value) -> AttunePolicySpec {
    let mut base = json!({
        "targetRef": {"kind": "Deployment", "name": "api"},
        "metricsSource": {}, "cpu": {}, "memory": {},
    });
    merge(&mut base, extra);
    serde_json::from_value(base).unwrap()
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

fn errors(extra: Value) -> Vec<String> {
    match validate(&spec(extra)) {
        Ok(()) => Vec::new(),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_minimal_policy_is_valid() {
    assert_eq!(errors(json!({})), Vec::<String>::new());
}

#[test]
fn durations_follow_go_syntax_within_six_digits_per_unit() {
    let ok = [
        ("0", 0),
        ("0s", 0),
        ("90s", 90),
        ("1h30m", 5400),
        ("1.5h", 5400),
        (".5m", 30),
        ("1.m", 60),
        ("999999s", 999_999),
        ("1m500ms", 60),
    ];
    for (text, seconds) in ok {
        let d = go_duration(text).unwrap_or_else(|| panic!("{text} should parse"));
        assert_eq!(d.as_secs(), seconds, "{text}");
    }
    assert_eq!(go_duration("1µs"), Some(Duration::from_micros(1)));
    assert_eq!(go_duration("1μs"), Some(Duration::from_micros(1)));
    for bad in [
        "", "1", "h", ".h", "1d", "-1m", "+1m", "1 h", "1h ", "1000000s", "1H", "1m1", "an hour",
        "00",
    ] {
        assert_eq!(go_duration(bad), None, "{bad:?} should be refused");
    }
}

#[test]
fn each_duration_field_has_its_floor_and_ceiling() {
    let cases = [
        (
            json!({"updateStrategy": {"cooldown": "59s"}}),
            "spec.updateStrategy.cooldown",
        ),
        (
            json!({"metricsSource": {"historyWindow": "59m"}}),
            "spec.metricsSource.historyWindow",
        ),
        (
            json!({"metricsSource": {"historyWindow": "721h"}}),
            "spec.metricsSource.historyWindow",
        ),
        (
            json!({"metricsSource": {"queryStep": "9s"}}),
            "spec.metricsSource.queryStep",
        ),
        (
            json!({"metricsSource": {"queryStep": "61m"}}),
            "spec.metricsSource.queryStep",
        ),
        (
            json!({"metricsSource": {"rateWindow": "29s"}}),
            "spec.metricsSource.rateWindow",
        ),
        (
            json!({"cpu": {"startupBoost": {"duration": "2h"}}}),
            "spec.cpu.startupBoost.duration",
        ),
        (
            json!({"updateStrategy": {"safetyObservationPeriod": "0s"}}),
            "spec.updateStrategy.safetyObservationPeriod",
        ),
    ];
    for (extra, path) in cases {
        let found = errors(extra.clone());
        assert_eq!(found.len(), 1, "{extra}: {found:?}");
        assert!(
            found[0].starts_with(&format!("{path}: Invalid value: ")),
            "{found:?}"
        );
    }
    let at_limits = json!({
        "metricsSource": {"historyWindow": "720h", "queryStep": "10s", "rateWindow": "30s"},
        "updateStrategy": {"cooldown": "1m", "export": {"pullRequest": {"cooldown": "0s"}}},
        "cpu": {"startupBoost": {"duration": "1h"}},
    });
    assert_eq!(errors(at_limits), Vec::<String>::new());
}

#[test]
fn messages_are_the_api_servers() {
    assert_eq!(
        errors(json!({"updateStrategy": {"cooldown": "an hour"}})),
        [
            "spec.updateStrategy.cooldown: Invalid value: \"an hour\": must be a Go duration of at \
          least 1m, such as 5m or 1h30m"
        ]
    );
    assert_eq!(
        errors(json!({"targetRef": {"selector": {}}})),
        ["spec.targetRef: Invalid value: set exactly one of name or selector"]
    );
    assert_eq!(
        errors(json!({"updateStrategy": {"cooldown": "1h0m0s0ms0us0ns0h0m0s"}})),
        ["spec.updateStrategy.cooldown: Too long: may not be more than 20 bytes"]
    );
    assert_eq!(
        errors(json!({"weight": 0, "cpu": {"burstSensitivity": 1.5}})),
        [
            "spec.cpu.burstSensitivity: Invalid value: 1.5: must be between 0 and 1",
            "spec.weight: Invalid value: 0: must be between 1 and 1000",
        ]
    );
}

#[test]
fn urls_are_http_with_a_host_and_no_credentials() {
    for good in [
        "http://prometheus-server.monitoring:80",
        "https://gitea.example.com/api/v1",
        "http://127.0.0.1:9/",
        "https://forge.example/?a=b@c",
    ] {
        assert!(http_url_ok(good), "{good}");
    }
    for bad in [
        "ftp://example.com",
        "HTTP://example.com",
        "http://",
        "http:///path",
        "http://user:secret@example.com",
        "https://token@example.com/api",
        "example.com",
        "http://exa mple.com",
        "http:example.com",
    ] {
        assert!(!http_url_ok(bad), "{bad}");
    }
}

#[test]
fn overhead_is_a_percentage_string_up_to_1000() {
    for good in ["0", "20", "12.5", "1000", "1000.0000"] {
        assert!(overhead_ok(good), "{good}");
    }
    for bad in [
        "", "-5", "1000.5", "20%", "1e2", ".5", "5.", "10000", "1.23456",
    ] {
        assert!(!overhead_ok(bad), "{bad}");
    }
}

#[test]
fn times_of_day_are_hh_mm() {
    for good in ["00:00", "09:30", "23:59"] {
        assert!(time_of_day_ok(good), "{good}");
    }
    for bad in ["24:00", "9:30", "09:60", "0930", "09:3", "ab:cd", "+9:30"] {
        assert!(!time_of_day_ok(bad), "{bad}");
    }
}

#[test]
fn bounds_use_the_defaults_of_their_resource() {
    assert!(errors(json!({"cpu": {"minAllowed": "4"}})).is_empty());
    assert_eq!(
        errors(json!({"cpu": {"minAllowed": "4001m"}})),
        [
            "spec.cpu: Invalid value: minAllowed must not be greater than maxAllowed (unset, they \
          are 1m and 4000m)"
        ]
    );
    assert_eq!(
        errors(json!({"memory": {"maxAllowed": "2Mi"}})),
        [
            "spec.memory: Invalid value: minAllowed must not be greater than maxAllowed (unset, \
          they are 4Mi and 8Gi)"
        ]
    );
    assert!(errors(json!({"memory": {"minAllowed": "1Gi", "maxAllowed": "1024Mi"}})).is_empty());
    // A bad bound is reported once, by its own rule.
    assert_eq!(
        errors(json!({"cpu": {"minAllowed": "lots", "maxAllowed": "1m"}})),
        [
            "spec.cpu.minAllowed: Invalid value: \"lots\": must be a non-negative quantity such as \
          250m, 2 or 512Mi"
        ]
    );
}

#[test]
fn the_bound_defaults_in_the_messages_are_the_ones_checked() {
    for (rule, min, max) in [
        (
            rules::CPU_BOUNDS,
            rules::CPU_DEFAULT_MIN,
            rules::CPU_DEFAULT_MAX,
        ),
        (
            rules::MEMORY_BOUNDS,
            rules::MEMORY_DEFAULT_MIN,
            rules::MEMORY_DEFAULT_MAX,
        ),
    ] {
        assert!(rule.message.contains(&format!("{min} and {max}")));
        assert!(rule.rule.contains(&format!("'{min}'")));
        assert!(rule.rule.contains(&format!("'{max}'")));
    }
}

#[test]
fn lists_beyond_their_max_items_are_too_many() {
    let guardrails: Vec<Value> = (0..11)
        .map(|i| json!({"name": format!("g{i}"), "query": "up", "threshold": "1"}))
        .collect();
    assert_eq!(
        errors(json!({"updateStrategy": {"sloGuardrails": guardrails}})),
        ["spec.updateStrategy.sloGuardrails: Too many: 11: must have at most 10 items"]
    );
    let windows = json!([{"start": "09:00", "end": "25:00"}]);
    assert_eq!(
        errors(json!({"updateStrategy": {"schedule": {"windows": windows}}})),
        [
            "spec.updateStrategy.schedule.windows[0].end: Invalid value: \"25:00\": must be a time \
          of day as HH:MM, from 00:00 to 23:59"
        ]
    );
}

#[test]
fn credentials_in_a_refused_url_are_masked() {
    let found = errors(json!({"metricsSource": {"prometheus": {
        "address": "http://admin:hunter2@prometheus:9090/api?x=a@b"
    }}}));
    assert_eq!(
        found,
        [
            "spec.metricsSource.prometheus.address: Invalid value: \"http://***@prometheus:9090/api?x=a@b\": \
          must be an http:// or https:// URL with a host and without user:password@ (put \
          credentials in a Secret)"
        ]
    );
    assert_eq!(mask_credentials("ftp://u@h/p@q"), "ftp://***@h/p@q");
    assert_eq!(mask_credentials("http://h/p@q"), "http://h/p@q");
    assert_eq!(mask_credentials("no scheme@host"), "no scheme@host");
}
