//! A container as a whole: data gating, limits, memory from CPU, OOM input, status entry.

use super::fixtures::{MIB, WEEK_POINTS, cpu, current, flat, memory, recommend};
use crate::crd::ControlledValues;
use crate::recommend::{
    Amount, ContainerInput, ContainerOutcome, OomEvent, Profile, Settings, recommend_container,
    scaled_limit,
};

#[test]
fn neither_resource_with_enough_points_is_insufficient_data() {
    let (cpu, memory) = (
        Profile::from_samples(&flat(47, 0.1)),
        Profile::from_samples(&flat(10, 1e8)),
    );
    let values = current(Some("100m"), None, Some("128Mi"), None);
    let input = ContainerInput {
        current: &values,
        cpu: &cpu,
        memory: &memory,
        oom: None,
    };
    let outcome = recommend_container(&Settings::default(), &input).unwrap();
    assert_eq!(
        outcome,
        ContainerOutcome::InsufficientData {
            cpu_points: 47,
            memory_points: 10
        }
    );
    // With a lower minimum the same data is enough.
    let settings = Settings {
        minimum_data_points: 10,
        ..Settings::default()
    };
    let outcome = recommend_container(&settings, &input).unwrap();
    assert!(matches!(outcome, ContainerOutcome::Recommended(_)));
}

#[test]
fn each_resource_needs_its_own_minimum() {
    let r = recommend(
        &Settings::default(),
        &flat(WEEK_POINTS, 0.1),
        &flat(47, 300.0 * MIB as f64),
        &current(Some("500m"), None, Some("256Mi"), None),
        None,
    );
    assert!(r.cpu.is_some() && r.memory.is_none());
    assert_eq!(r.recommended.memory_request.as_deref(), Some("256Mi"));
    assert_eq!(r.data_points, WEEK_POINTS + 47);
    let expected = (Profile::from_samples(&flat(WEEK_POINTS, 0.1)).confidence
        + Profile::from_samples(&flat(47, 1.0)).confidence)
        / 2.0;
    assert!((r.confidence - expected).abs() < 1e-12);
}

#[test]
fn requests_and_limits_keep_the_ratio_truncated() {
    let mut settings = Settings::default();
    settings.cpu.controlled_values = ControlledValues::RequestsAndLimits;
    settings.memory.controlled_values = ControlledValues::RequestsAndLimits;
    let r = recommend(
        &settings,
        &flat(WEEK_POINTS, 0.1),
        &flat(WEEK_POINTS, 300.0 * MIB as f64),
        &current(Some("300m"), Some("1"), Some("256Mi"), Some("512Mi")),
        None,
    );
    // 300m → 150m (−50 % cap); limit 150 × 1000/300 = 500m.
    assert_eq!(r.recommended.cpu_request.as_deref(), Some("150m"));
    assert_eq!(r.recommended.cpu_limit.as_deref(), Some("500m"));
    // 256Mi → 348966093; limit × 2 = 697932186 bytes.
    assert_eq!(r.recommended.memory_request.as_deref(), Some("348966093"));
    assert_eq!(r.recommended.memory_limit.as_deref(), Some("697932186"));
}

#[test]
fn scaled_limit_rules() {
    let all = ControlledValues::RequestsAndLimits;
    // Truncated: 250m × 1000/300 = 833.3m.
    let limit = scaled_limit(all, cpu("300m"), Some(cpu("1")), Amount::cpu_millis(250));
    assert_eq!(limit.map(|l| l.canonical()).as_deref(), Some("833m"));
    // The limit keeps its notation: 1Gi/512Mi × 300Mi = 600Mi.
    let limit = scaled_limit(all, memory("512Mi"), Some(memory("1Gi")), memory("300Mi"));
    assert_eq!(limit.map(|l| l.canonical()).as_deref(), Some("600Mi"));
    let limit = scaled_limit(all, memory("500M"), Some(memory("1G")), memory("300M"));
    assert_eq!(limit.map(|l| l.canonical()).as_deref(), Some("600M"));
    // Never added, never scaled from zero, untouched when RequestsOnly or unchanged.
    let new = Amount::cpu_millis(250);
    assert_eq!(scaled_limit(all, cpu("300m"), None, new), None);
    assert_eq!(scaled_limit(all, cpu("0"), Some(cpu("1")), new), None);
    assert_eq!(scaled_limit(all, cpu("300m"), Some(cpu("0")), new), None);
    let only = ControlledValues::RequestsOnly;
    assert_eq!(scaled_limit(only, cpu("300m"), Some(cpu("1")), new), None);
    assert_eq!(scaled_limit(all, cpu("250m"), Some(cpu("1")), new), None);
}

#[test]
fn missing_limit_is_not_added_and_zero_limit_kept() {
    let mut settings = Settings::default();
    settings.cpu.controlled_values = ControlledValues::RequestsAndLimits;
    settings.memory.controlled_values = ControlledValues::RequestsAndLimits;
    let r = recommend(
        &settings,
        &flat(WEEK_POINTS, 0.1),
        &flat(WEEK_POINTS, 300.0 * MIB as f64),
        &current(Some("500m"), None, Some("256Mi"), Some("0")),
        None,
    );
    assert_eq!(r.recommended.cpu_request.as_deref(), Some("250m"));
    assert_eq!(r.recommended.memory_request.as_deref(), Some("348966093"));
    assert_eq!(r.recommended.cpu_limit, None);
    assert_eq!(r.recommended.memory_limit.as_deref(), Some("0"));
}

#[test]
fn memory_from_cpu_ratio_derives_memory_from_the_final_cpu() {
    let settings = Settings {
        memory_from_cpu_ratio: Some(2.0),
        ..Settings::default()
    };
    // CPU ends at 250m (E1); memory = 0.25 cores × 2 GiB = 512Mi, +30 % overhead, no doubt.
    let r = recommend(
        &settings,
        &flat(WEEK_POINTS, 0.1),
        &[],
        &current(Some("500m"), None, Some("1Gi"), None),
        None,
    );
    let e = &r.memory.as_ref().expect("derived memory").explanation;
    assert_eq!(e.raw_percentile.canonical(), "512Mi");
    assert_eq!(e.confidence, 1.0);
    assert_eq!(e.after_confidence.canonical(), "697932186");
    assert_eq!(r.recommended.memory_request.as_deref(), Some("1Gi"));
    assert_eq!(
        e.final_adjustment,
        "memory decrease from 1Gi to 751619277 blocked by allowDecrease=false; derived from CPU \
         via memoryFromCpuRatio=2"
    );
}

#[test]
fn memory_from_cpu_ratio_needs_a_cpu_recommendation() {
    let settings = Settings {
        memory_from_cpu_ratio: Some(2.0),
        ..Settings::default()
    };
    let r = recommend(
        &settings,
        &flat(10, 0.1),
        &flat(WEEK_POINTS, 300.0 * MIB as f64),
        &current(Some("500m"), None, Some("256Mi"), None),
        None,
    );
    assert!(r.cpu.is_none());
    assert_eq!(r.recommended.memory_request.as_deref(), Some("348966093"));
    assert_eq!(r.memory.as_ref().unwrap().explanation.final_adjustment, "");
}

#[test]
fn an_oom_kill_reaches_the_memory_chain() {
    let r = recommend(
        &Settings::default(),
        &[],
        &flat(WEEK_POINTS, 100.0 * MIB as f64),
        &current(None, None, Some("256Mi"), Some("256Mi")),
        Some(OomEvent {
            peak_bytes: 256 * MIB,
        }),
    );
    // Usage alone would keep 256Mi (no decrease); the kill lifts it to 256Mi + 100Mi.
    assert_eq!(r.recommended.memory_request.as_deref(), Some("356Mi"));
    let e = &r.memory.as_ref().unwrap().explanation;
    assert_eq!(
        e.oom_floor.map(|f| f.floor.canonical()).as_deref(),
        Some("356Mi")
    );
}

#[test]
fn unreadable_current_values_are_errors() {
    let (cpu, memory) = (Profile::from_samples(&flat(48, 0.1)), Profile::default());
    for (values, message) in [
        (
            current(Some("half"), None, None, None),
            "current cpuRequest: invalid quantity \"half\": no digits before the suffix (write \
             e.g. 500m or 1Gi)",
        ),
        (
            current(Some("1"), None, None, Some("-1Gi")),
            "current memoryLimit \"-1Gi\": must not be negative",
        ),
    ] {
        let input = ContainerInput {
            current: &values,
            cpu: &cpu,
            memory: &memory,
            oom: None,
        };
        let err = recommend_container(&Settings::default(), &input).unwrap_err();
        assert_eq!(crate::error_chain(&err), message);
    }
}

#[test]
fn status_entry_carries_values_and_optionally_the_explanation() {
    let values = current(Some("500m"), Some("1"), Some("256Mi"), None);
    let r = recommend(
        &Settings::default(),
        &flat(WEEK_POINTS, 0.1),
        &flat(WEEK_POINTS, 300.0 * MIB as f64),
        &values,
        None,
    );
    let entry = r.to_status("app", "2024-01-08T00:00:00Z", true);
    assert_eq!(entry.name, "app");
    assert_eq!(entry.current.as_ref(), Some(&values));
    assert_eq!(entry.recommended.cpu_request.as_deref(), Some("250m"));
    assert_eq!(entry.recommended.cpu_limit.as_deref(), Some("1"));
    assert_eq!(entry.data_points, Some(2 * WEEK_POINTS as i64));
    assert_eq!(entry.last_updated.as_deref(), Some("2024-01-08T00:00:00Z"));
    let explanation = entry.explanation.expect("explanation").value();
    assert_eq!(explanation["cpu"]["final"], "250m");
    assert_eq!(explanation["memory"]["afterOverhead"], "390Mi");
    assert_eq!(explanation["memory"]["overhead"], 30);
    assert!(r.to_status("app", "t", false).explanation.is_none());
}
