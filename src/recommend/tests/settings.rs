//! Settings from a policy spec: defaults, overrides, runtime profile, and refused values.

use serde_json::{Value, json};

use crate::crd::{AttunePolicySpec, ControlledValues};
use crate::recommend::{Percentile, RecommendError, ResourceSettings, Settings};

fn spec(cpu: Value, memory: Value, extra: Value) -> AttunePolicySpec {
    let mut doc = json!({
        "targetRef": { "kind": "Deployment", "name": "web" },
        "metricsSource": { "prometheus": { "address": "http://prometheus:9090" } },
        "cpu": cpu,
        "memory": memory,
    });
    if let (Some(doc), Some(extra)) = (doc.as_object_mut(), extra.as_object()) {
        doc.extend(extra.clone());
    }
    serde_json::from_value(doc).unwrap()
}

fn settings(cpu: Value, memory: Value) -> Result<Settings, RecommendError> {
    Settings::from_spec(&spec(cpu, memory, json!({})))
}

#[test]
fn an_empty_policy_gets_the_go_operators_defaults() {
    let s = settings(json!({}), json!({})).unwrap();
    assert_eq!(s, Settings::default());
    assert_eq!(s.cpu.percentile, Percentile::P95);
    assert_eq!(s.cpu.overhead_percent, 20.0);
    assert_eq!(
        (s.cpu.min_allowed.canonical(), s.cpu.max_allowed.canonical()),
        ("1m".into(), "4".into())
    );
    assert_eq!(
        (s.cpu.max_increase_percent, s.cpu.max_decrease_percent),
        (50.0, 50.0)
    );
    assert!(s.cpu.allow_decrease);
    assert_eq!(s.memory.percentile, Percentile::P99);
    assert_eq!(s.memory.overhead_percent, 30.0);
    assert_eq!(
        (
            s.memory.min_allowed.canonical(),
            s.memory.max_allowed.canonical()
        ),
        ("4Mi".into(), "8Gi".into())
    );
    assert_eq!(
        (s.memory.max_increase_percent, s.memory.max_decrease_percent),
        (30.0, 30.0)
    );
    assert!(!s.memory.allow_decrease);
    assert_eq!(s.memory.burst_sensitivity, 0.1);
    assert_eq!(s.minimum_data_points, 48);
    assert_eq!(s.memory_from_cpu_ratio, None);
    assert_eq!(s.cpu.controlled_values, ControlledValues::RequestsOnly);
}

#[test]
fn every_field_is_read() {
    let s = settings(
        json!({
            "percentile": 90, "overhead": "12.5", "burstSensitivity": 0.3,
            "minAllowed": "50m", "maxAllowed": 2, "maxChangePercent": 40,
            "maxIncreasePercent": 70, "allowDecrease": false,
            "controlledValues": "RequestsAndLimits"
        }),
        json!({ "percentile": 50, "overhead": 0, "memoryFromCpuRatio": 2.0,
                "minAllowed": "64Mi", "maxAllowed": "1Gi", "maxDecreasePercent": 10,
                "allowDecrease": true }),
    )
    .unwrap();
    let cpu = &s.cpu;
    assert_eq!(cpu.percentile, Percentile::P90);
    assert_eq!(cpu.overhead_percent, 12.5);
    assert_eq!(cpu.burst_sensitivity, 0.3);
    assert_eq!(cpu.min_allowed.canonical(), "50m");
    assert_eq!(cpu.max_allowed.canonical(), "2");
    // maxIncreasePercent wins upwards; maxChangePercent applies downwards.
    assert_eq!(
        (cpu.max_increase_percent, cpu.max_decrease_percent),
        (70.0, 40.0)
    );
    assert!(!cpu.allow_decrease);
    assert_eq!(cpu.controlled_values, ControlledValues::RequestsAndLimits);
    let memory = &s.memory;
    assert_eq!(memory.percentile, Percentile::P50);
    assert_eq!(memory.overhead_percent, 0.0);
    // maxDecreasePercent wins downwards; upwards the built-in 30 remains.
    assert_eq!(
        (memory.max_increase_percent, memory.max_decrease_percent),
        (30.0, 10.0)
    );
    assert!(memory.allow_decrease);
    assert_eq!(s.memory_from_cpu_ratio, Some(2.0));
}

#[test]
fn change_caps_are_clamped_to_one_to_a_hundred() {
    let s = settings(
        json!({ "maxChangePercent": 500 }),
        json!({ "maxIncreasePercent": 0, "maxDecreasePercent": -5 }),
    )
    .unwrap();
    assert_eq!(
        (s.cpu.max_increase_percent, s.cpu.max_decrease_percent),
        (100.0, 100.0)
    );
    assert_eq!(
        (s.memory.max_increase_percent, s.memory.max_decrease_percent),
        (1.0, 1.0)
    );
}

#[test]
fn java_raises_the_memory_overhead_default_only() {
    let java = Settings::from_spec(&spec(
        json!({}),
        json!({}),
        json!({"runtimeProfile": "java"}),
    ))
    .unwrap();
    assert_eq!(java.memory.overhead_percent, 40.0);
    assert!(!java.memory.allow_decrease);
    assert_eq!(java.cpu, ResourceSettings::cpu_defaults());
    let explicit = Settings::from_spec(&spec(
        json!({}),
        json!({"overhead": "25"}),
        json!({"runtimeProfile": "java"}),
    ))
    .unwrap();
    assert_eq!(explicit.memory.overhead_percent, 25.0);
}

#[test]
fn minimum_data_points_comes_from_the_metrics_source() {
    let read = |n: i64| {
        Settings::from_spec(&spec(
            json!({}),
            json!({}),
            json!({"metricsSource": {"prometheus": {"address": "http://p"}, "minimumDataPoints": n}}),
        ))
    };
    assert_eq!(read(12).unwrap().minimum_data_points, 12);
    assert_eq!(
        read(0).unwrap_err().to_string(),
        "spec.metricsSource.minimumDataPoints \"0\": must be at least 1"
    );
}

#[test]
fn bad_values_are_refused_with_the_field_and_what_to_write() {
    let cases = [
        (
            json!({"percentile": 80}),
            json!({}),
            "spec.cpu.percentile 80: unsupported percentile (use 50, 90, 95 or 99)",
        ),
        (
            json!({"overhead": "20%"}),
            json!({}),
            "spec.cpu.overhead \"20%\": not a percentage (write digits such as \"20\" or \"12.5\")",
        ),
        (
            json!({}),
            json!({"overhead": "-5"}),
            "spec.memory.overhead \"-5\": not a percentage (write digits such as \"20\" or \"12.5\")",
        ),
        (
            json!({"overhead": "901"}),
            json!({}),
            "spec.cpu.overhead \"901\": at most 900 (a 10x multiplier)",
        ),
        (
            json!({"burstSensitivity": 1.5}),
            json!({}),
            "spec.cpu.burstSensitivity \"1.5\": must be between 0 and 1 (0 turns the burst factor off)",
        ),
        (
            json!({"minAllowed": "2", "maxAllowed": "500m"}),
            json!({}),
            "spec.cpu.minAllowed 2 is above spec.cpu.maxAllowed 500m (make minAllowed at most maxAllowed)",
        ),
        (
            json!({}),
            json!({"maxAllowed": "-1Gi"}),
            "spec.memory.maxAllowed \"-1Gi\": must not be negative",
        ),
        (
            json!({}),
            json!({"memoryFromCpuRatio": 0.0}),
            "spec.memory.memoryFromCpuRatio \"0\": must be above 0 and at most 1000 (GiB of memory per CPU core)",
        ),
    ];
    for (cpu, memory, message) in cases {
        let err = settings(cpu, memory).unwrap_err();
        assert_eq!(crate::error_chain(&err), message);
    }
    let err = settings(json!({"minAllowed": "lots"}), json!({})).unwrap_err();
    assert_eq!(
        crate::error_chain(&err),
        "spec.cpu.minAllowed: invalid quantity \"lots\": no digits before the suffix (write e.g. \
         500m or 1Gi)"
    );
}

#[test]
fn an_empty_overhead_means_the_default() {
    let s = settings(json!({"overhead": ""}), json!({})).unwrap();
    assert_eq!(s.cpu.overhead_percent, 20.0);
}
