//! The compatibility table's unit-level rows (U1–U6): flat profiles (every hour equal to the
//! overall percentiles) through the chain, compared stage by stage with the Go operator.

use super::fixtures::{cpu, engine, memory, stages};
use crate::recommend::{
    ChangeFilterApplied, Percentile, PercentileSet, Profile, Resource, recommend_resource,
};

/// CPU p95, +20 %, [50m, 4000m], ±`cap` %.
fn cpu_engine(cap: f64) -> crate::recommend::ResourceSettings {
    engine(Resource::Cpu, Percentile::P95, 20.0, ("50m", "4000m"), cap)
}

#[test]
fn u1_cpu_decrease_is_capped_at_half() {
    let profile = Profile::flat(PercentileSet::flat(0.2), 0.95, 2016);
    let out = recommend_resource(&profile, cpu("500m"), &cpu_engine(50.0), None);
    assert_eq!(
        stages(&out.explanation),
        ["200m", "240m", "240m", "241m", "241m", "250m", "250m"]
    );
    assert_eq!(
        out.explanation.change_filter_applied,
        Some(ChangeFilterApplied::MaxChangeCapped)
    );
    assert_eq!(out.explanation.max_change_percent, 50.0);
    assert_eq!(out.value.canonical(), "250m");
}

#[test]
fn u2_cpu_increase_is_capped_at_half() {
    let profile = Profile::flat(PercentileSet::flat(2.0), 0.95, 2016);
    let out = recommend_resource(&profile, cpu("200m"), &cpu_engine(50.0), None);
    assert_eq!(
        stages(&out.explanation),
        ["2", "2400m", "2400m", "2406m", "2406m", "300m", "300m"]
    );
    assert_eq!(
        out.explanation.change_filter_applied,
        Some(ChangeFilterApplied::MaxChangeCapped)
    );
}

#[test]
fn u3_change_under_ten_percent_keeps_current() {
    let settings = engine(Resource::Cpu, Percentile::P95, 0.0, ("10m", "10000m"), 50.0);
    let profile = Profile::flat(PercentileSet::flat(0.495), 1.0, 2016);
    let out = recommend_resource(&profile, cpu("500m"), &settings, None);
    assert_eq!(
        stages(&out.explanation),
        ["495m", "495m", "495m", "495m", "495m", "500m", "500m"]
    );
    assert_eq!(
        out.explanation.change_filter_applied,
        Some(ChangeFilterApplied::MinChangeFiltered)
    );
    assert_eq!(out.explanation.bounds.max.canonical(), "10");
}

#[test]
fn u4_memory_p99_decrease_within_cap() {
    let settings = engine(
        Resource::Memory,
        Percentile::P99,
        20.0,
        ("64Mi", "8Gi"),
        50.0,
    );
    let set = PercentileSet::flat(256.0 * 1024.0 * 1024.0);
    let out = recommend_resource(
        &Profile::flat(set, 0.95, 2016),
        memory("512Mi"),
        &settings,
        None,
    );
    assert_eq!(
        stages(&out.explanation),
        [
            "256Mi",
            "322122548",
            "322122548",
            "322927855",
            "322927855",
            "322927855",
            "322927855"
        ]
    );
    assert_eq!(out.explanation.change_filter_applied, None);
    // −39.8 %: a decrease, so the decrease cap is reported.
    assert_eq!(out.explanation.max_change_percent, 50.0);
}

#[test]
fn u5_burst_of_ten_then_capped_at_double() {
    let set = PercentileSet {
        max: 4.0,
        ..PercentileSet::flat(0.4)
    };
    let profile = Profile::flat(set, 0.95, 2016);
    assert_eq!(profile.burst_magnitude, Some(10.0));
    let out = recommend_resource(&profile, cpu("200m"), &cpu_engine(100.0), None);
    assert_eq!(
        stages(&out.explanation),
        ["400m", "480m", "640m", "642m", "642m", "400m", "400m"]
    );
    assert!((out.explanation.burst_factor - 1.332_192_809_488_736).abs() < 1e-12);
    assert_eq!(
        out.explanation.change_filter_applied,
        Some(ChangeFilterApplied::MaxChangeCapped)
    );
}

#[test]
fn u6_no_confidence_doubles_then_filtered() {
    let profile = Profile::flat(PercentileSet::flat(0.2), 0.0, 48);
    let out = recommend_resource(&profile, cpu("500m"), &cpu_engine(200.0), None);
    assert_eq!(out.explanation.confidence_factor, 2.0);
    assert_eq!(
        stages(&out.explanation),
        ["200m", "240m", "240m", "480m", "480m", "500m", "500m"]
    );
    assert_eq!(
        out.explanation.change_filter_applied,
        Some(ChangeFilterApplied::MinChangeFiltered)
    );
}
