//! The compatibility table's rows computed from samples with the operator's defaults
//! (E1–E6, P1): samples → profile → chain → container recommendation.

use super::fixtures::{
    HOUR_MS, MIB, WEEK_POINTS, cpu_of, current, flat, memory_of, recommend, series, stages,
};
use crate::crd::ControlledValues;
use crate::recommend::{ChangeFilterApplied, PercentileSet, Profile, Sample, Settings};

#[test]
fn e1_cpu_flat_week_ceil_adds_a_millicore_then_capped() {
    let r = recommend(
        &Settings::default(),
        &flat(WEEK_POINTS, 0.1),
        &[],
        &current(Some("500m"), None, Some("256Mi"), None),
        None,
    );
    let e = cpu_of(&r);
    assert_eq!(
        stages(e),
        ["100m", "120m", "120m", "121m", "121m", "250m", "250m"]
    );
    assert!((e.confidence - 0.9995).abs() < 1e-4, "{}", e.confidence);
    assert_eq!(r.recommended.cpu_request.as_deref(), Some("250m"));
    // Memory had no data: kept, and not explained.
    assert_eq!(r.recommended.memory_request.as_deref(), Some("256Mi"));
    assert!(r.memory.is_none());
    assert_eq!(r.data_points, WEEK_POINTS);
}

#[test]
fn e2_forty_eight_points_nearly_double_then_capped() {
    let r = recommend(
        &Settings::default(),
        &flat(48, 0.1),
        &[],
        &current(Some("100m"), None, None, None),
        None,
    );
    let e = cpu_of(&r);
    assert!((e.confidence - 0.0233).abs() < 1e-4, "{}", e.confidence);
    assert!(
        (e.confidence_factor - 1.9539).abs() < 1e-4,
        "{}",
        e.confidence_factor
    );
    assert_eq!(
        stages(e),
        ["100m", "120m", "120m", "235m", "235m", "150m", "150m"]
    );
}

/// 200m all day, 800m during 14:00–14:59 UTC, for a week.
fn daily_peak() -> Vec<Sample> {
    series(WEEK_POINTS, |t| {
        if (t / HOUR_MS) % 24 == 14 { 0.8 } else { 0.2 }
    })
}

#[test]
fn e3_peak_hour_wins_and_triggers_the_burst_factor() {
    let values = current(Some("500m"), Some("1"), None, None);
    let r = recommend(&Settings::default(), &daily_peak(), &[], &values, None);
    let e = cpu_of(&r);
    assert_eq!(
        stages(e),
        ["800m", "960m", "1152m", "1153m", "1153m", "750m", "750m"]
    );
    assert_eq!(e.burst_factor, 1.2);
    // RequestsOnly (the default): the limit stays as it is.
    assert_eq!(r.recommended.cpu_limit.as_deref(), Some("1"));

    let mut settings = Settings::default();
    settings.cpu.controlled_values = ControlledValues::RequestsAndLimits;
    let r = recommend(&settings, &daily_peak(), &[], &values, None);
    assert_eq!(r.recommended.cpu_request.as_deref(), Some("750m"));
    // Limit/request 2 is kept: 750m × 2.
    assert_eq!(r.recommended.cpu_limit.as_deref(), Some("1500m"));
}

#[test]
fn e3_the_explanation_carries_the_hourly_profile_with_its_peak() {
    let values = current(Some("500m"), Some("1"), None, None);
    let r = recommend(&Settings::default(), &daily_peak(), &[], &values, None);
    let json = r.explanation().to_json();
    let profile = &json["cpu"]["hourlyProfile"];
    assert_eq!(profile["percentile"], "p95");
    let mut want = vec![serde_json::json!("200m"); 24];
    want[14] = serde_json::json!("800m");
    assert_eq!(profile["values"], serde_json::Value::Array(want));
    // Memory had no samples: no recommendation, so no profile either.
    assert!(json.get("memory").is_none(), "{json}");
    // A value derived from CPU is not usage: no profile to show.
    let settings = Settings {
        memory_from_cpu_ratio: Some(2.0),
        ..Settings::default()
    };
    let r = recommend(&settings, &daily_peak(), &[], &values, None);
    let json = r.explanation().to_json();
    assert!(json["memory"].get("hourlyProfile").is_none(), "{json}");
    assert!(json["cpu"].get("hourlyProfile").is_some(), "{json}");
}

#[test]
fn e4_memory_increase_capped_at_thirty_percent() {
    let r = recommend(
        &Settings::default(),
        &[],
        &flat(WEEK_POINTS, 300.0 * MIB as f64),
        &current(None, None, Some("256Mi"), None),
        None,
    );
    let e = memory_of(&r);
    assert_eq!(
        stages(e),
        [
            "300Mi",
            "390Mi",
            "390Mi",
            "408944741",
            "408944741",
            "348966093",
            "348966093"
        ]
    );
    assert_eq!(r.recommended.memory_request.as_deref(), Some("348966093"));
    assert_eq!(r.recommended.cpu_request, None);
}

#[test]
fn e5_memory_decrease_blocked_by_default_and_capped_when_allowed() {
    let samples = flat(WEEK_POINTS, 100.0 * MIB as f64);
    let values = current(None, None, Some("512Mi"), None);
    let r = recommend(&Settings::default(), &[], &samples, &values, None);
    let e = memory_of(&r);
    assert_eq!(
        stages(e),
        [
            "100Mi",
            "130Mi",
            "130Mi",
            "136314914",
            "136314914",
            "375809639",
            "512Mi"
        ]
    );
    assert_eq!(
        e.final_adjustment,
        "memory decrease from 512Mi to 375809639 blocked by allowDecrease=false"
    );

    let mut settings = Settings::default();
    settings.memory.allow_decrease = true;
    let r = recommend(&settings, &[], &samples, &values, None);
    assert_eq!(r.recommended.memory_request.as_deref(), Some("375809639"));
    assert_eq!(memory_of(&r).final_adjustment, "");
}

#[test]
fn e6_small_memory_increase_is_filtered() {
    let mut settings = Settings::default();
    settings.memory.allow_decrease = true;
    let r = recommend(
        &settings,
        &[],
        &flat(WEEK_POINTS, 100.0 * MIB as f64),
        &current(None, None, Some("120Mi"), None),
        None,
    );
    let e = memory_of(&r);
    assert_eq!(e.after_bounds.canonical(), "136314914");
    assert_eq!(
        e.change_filter_applied,
        Some(ChangeFilterApplied::MinChangeFiltered)
    );
    assert_eq!(r.recommended.memory_request.as_deref(), Some("120Mi"));
}

#[test]
fn p1_percentiles_of_one_to_twenty() {
    let values: Vec<f64> = (1..=20).map(f64::from).collect();
    let set = PercentileSet::from_sorted(&values);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(close(set.p50, 10.5), "{}", set.p50);
    assert!(close(set.p90, 18.1), "{}", set.p90);
    assert!(close(set.p95, 19.05), "{}", set.p95);
    assert!(close(set.p99, 19.81), "{}", set.p99);
    assert_eq!(set.max, 20.0);

    // The same through a profile, from samples in shuffled time order.
    let samples: Vec<Sample> = (1..=20)
        .rev()
        .map(|v| Sample {
            timestamp_ms: i64::from(v) * 60_000,
            value: f64::from(v),
        })
        .collect();
    let profile = Profile::from_samples(&samples);
    assert!(close(profile.overall.p95, 19.05));
    assert_eq!(profile.data_points, 20);
}
