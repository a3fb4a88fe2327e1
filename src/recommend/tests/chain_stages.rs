//! Each stage of the chain on its own: fallbacks, rounding, bounds, change filter, OOM floor,
//! allowDecrease, notation, and the explanation's JSON.

use super::fixtures::{MIB, bytes, cpu, engine, memory, stages};
use crate::recommend::{
    BoundApplied, ChangeFilterApplied, OomEvent, Percentile, PercentileSet, Profile, Resource,
    ResourceSettings, oom_floor_bytes, recommend_resource,
};

fn sure(set: PercentileSet) -> Profile {
    Profile::flat(set, 1.0, 2016)
}

fn cpu_defaults() -> ResourceSettings {
    ResourceSettings::cpu_defaults()
}

#[test]
fn no_usable_usage_starts_from_current_and_still_runs_the_chain() {
    for value in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let out = recommend_resource(
            &sure(PercentileSet::flat(value)),
            cpu("300m"),
            &cpu_defaults(),
            None,
        );
        assert_eq!(
            out.explanation.raw_percentile.canonical(),
            "300m",
            "{value}"
        );
        assert_eq!(
            out.explanation.after_overhead.canonical(),
            "360m",
            "{value}"
        );
    }
}

#[test]
fn busiest_hour_beats_overall_for_the_configured_percentile() {
    let mut profile = sure(PercentileSet::flat(0.1));
    profile.hourly[3] = PercentileSet {
        p50: 0.3,
        p95: 0.5,
        ..PercentileSet::flat(0.5)
    };
    let mut settings = cpu_defaults();
    let out = recommend_resource(&profile, cpu("500m"), &settings, None);
    assert_eq!(out.explanation.raw_percentile.canonical(), "500m");
    settings.percentile = Percentile::P50;
    let out = recommend_resource(&profile, cpu("500m"), &settings, None);
    assert_eq!(out.explanation.raw_percentile.canonical(), "300m");
}

#[test]
fn every_multiplication_rounds_up_to_a_whole_unit() {
    // 0.0011 cores → 2m; ×1.2 = 2.4 → 3m; ×(1 + 0.5²) = 3.75 → 4m.
    let profile = Profile::flat(PercentileSet::flat(0.0011), 0.5, 48);
    let out = recommend_resource(&profile, cpu("0"), &cpu_defaults(), None);
    assert_eq!(
        stages(&out.explanation)[..4],
        ["2m", "3m", "3m", "4m"].map(String::from)
    );
    // Memory in bytes: 1000.5 B → 1001; ×1.3 = 1301.3 → 1302.
    let profile = sure(PercentileSet::flat(1000.5));
    let out = recommend_resource(
        &profile,
        memory("0"),
        &ResourceSettings::memory_defaults(),
        None,
    );
    assert_eq!(out.explanation.raw_percentile.base(), 1001);
    assert_eq!(out.explanation.after_overhead.base(), 1302);
}

#[test]
fn burst_sensitivity_zero_turns_the_burst_factor_off() {
    let set = PercentileSet {
        max: 0.8,
        ..PercentileSet::flat(0.2)
    };
    let mut settings = cpu_defaults();
    let out = recommend_resource(&sure(set), cpu("0"), &settings, None);
    assert_eq!(out.explanation.burst_factor, 1.2);
    settings.burst_sensitivity = 0.0;
    let out = recommend_resource(&sure(set), cpu("0"), &settings, None);
    assert_eq!(out.explanation.burst_factor, 1.0);
    assert_eq!(out.explanation.after_burst, out.explanation.after_overhead);
}

#[test]
fn bounds_clamp_in_the_bounds_own_notation() {
    let settings = engine(
        Resource::Memory,
        Percentile::P99,
        0.0,
        ("64Mi", "1G"),
        100.0,
    );
    let low = recommend_resource(
        &sure(PercentileSet::flat(1.0)),
        memory("0"),
        &settings,
        None,
    );
    assert_eq!(low.explanation.bounds_applied, Some(BoundApplied::Min));
    assert_eq!(low.value.canonical(), "64Mi");
    let high = recommend_resource(
        &sure(PercentileSet::flat(2e9)),
        memory("0"),
        &settings,
        None,
    );
    assert_eq!(high.explanation.bounds_applied, Some(BoundApplied::Max));
    assert_eq!(high.value.canonical(), "1G");
}

#[test]
fn change_filter_is_skipped_without_a_current_value() {
    let out = recommend_resource(
        &sure(PercentileSet::flat(2.0)),
        cpu("0"),
        &cpu_defaults(),
        None,
    );
    assert_eq!(out.explanation.change_filter_applied, None);
    assert_eq!(out.value.canonical(), "2400m");
    assert_eq!(out.explanation.max_change_percent, 50.0);
}

#[test]
fn directional_caps_apply_by_direction_and_the_cap_itself_passes() {
    let mut settings = cpu_defaults();
    settings.max_increase_percent = 20.0;
    settings.max_decrease_percent = 80.0;
    // 1000m → 2400m: +140 % capped at +20 %.
    let up = recommend_resource(&sure(PercentileSet::flat(2.0)), cpu("1"), &settings, None);
    assert_eq!(up.value.canonical(), "1200m");
    assert_eq!(up.explanation.max_change_percent, 20.0);
    // 1000m → 240m: −76 %, within the 80 % decrease cap.
    let down = recommend_resource(&sure(PercentileSet::flat(0.2)), cpu("1"), &settings, None);
    assert_eq!(down.value.canonical(), "240m");
    assert_eq!(down.explanation.max_change_percent, 80.0);
    assert_eq!(down.explanation.change_filter_applied, None);
    // Exactly +20 % (1000m → 1200m) is not beyond the cap.
    let edge = recommend_resource(&sure(PercentileSet::flat(1.0)), cpu("1"), &settings, None);
    assert_eq!(edge.value.canonical(), "1200m");
    assert_eq!(edge.explanation.change_filter_applied, None);
}

#[test]
fn a_kept_current_value_keeps_its_notation() {
    let settings = engine(Resource::Memory, Percentile::P99, 0.0, ("4Mi", "8Gi"), 30.0);
    let out = recommend_resource(
        &sure(PercentileSet::flat(5.1e8)),
        memory("512M"),
        &settings,
        None,
    );
    assert_eq!(
        out.explanation.change_filter_applied,
        Some(ChangeFilterApplied::MinChangeFiltered)
    );
    assert_eq!(out.value.canonical(), "512M");
    let mut settings = cpu_defaults();
    settings.overhead_percent = 0.0;
    let out = recommend_resource(
        &sure(PercentileSet::flat(0.49)),
        cpu("0.5"),
        &settings,
        None,
    );
    assert_eq!(out.explanation.after_bounds.canonical(), "490m");
    assert_eq!(out.value.canonical(), "500m");
}

#[test]
fn cpu_decrease_blocked_when_not_allowed() {
    let mut settings = cpu_defaults();
    settings.allow_decrease = false;
    let out = recommend_resource(
        &sure(PercentileSet::flat(0.1)),
        cpu("500m"),
        &settings,
        None,
    );
    assert_eq!(out.explanation.after_change_filter.canonical(), "250m");
    assert_eq!(out.value.canonical(), "500m");
    assert_eq!(
        out.explanation.final_adjustment,
        "CPU decrease from 500m to 250m blocked by allowDecrease=false"
    );
}

#[test]
fn oom_floor_is_the_larger_of_plus_100mi_and_plus_20_percent() {
    assert_eq!(oom_floor_bytes(200 * MIB), 300 * MIB);
    // 1Gi × 1.2 = 1288490188.8, rounded up.
    assert_eq!(oom_floor_bytes(1024 * MIB), 1_288_490_189);
    // Rounded up: 1 byte × 1.2 is below the 100Mi bump anyway; 5 × 1.2 = 6 exactly.
    assert_eq!(oom_floor_bytes(5), 100 * MIB + 5);
    assert_eq!(oom_floor_bytes(1_000_000_001), 1_200_000_002);
    assert_eq!(oom_floor_bytes(-3), 100 * MIB);
}

#[test]
fn oom_floor_raises_memory_past_the_change_cap_as_its_own_stage() {
    let mut settings = ResourceSettings::memory_defaults();
    settings.allow_decrease = true;
    // Usage says 130Mi×…; current 512Mi; killed at 600Mi.
    let profile = sure(PercentileSet::flat(100.0 * MIB as f64));
    let oom = Some(OomEvent {
        peak_bytes: 600 * MIB,
    });
    let out = recommend_resource(&profile, memory("512Mi"), &settings, oom);
    let e = &out.explanation;
    assert_eq!(e.after_change_filter.canonical(), "375809639");
    let floor = e.oom_floor.expect("an OOM floor");
    assert_eq!(floor.peak.canonical(), "600Mi");
    assert_eq!(floor.floor.canonical(), "720Mi");
    assert_eq!(
        e.after_oom_floor.map(|a| a.canonical()).as_deref(),
        Some("720Mi")
    );
    assert_eq!(out.value, bytes(720 * MIB));
    assert_eq!(e.final_adjustment, "");
}

#[test]
fn oom_floor_stays_within_max_allowed_and_says_so() {
    let settings = engine(
        Resource::Memory,
        Percentile::P99,
        30.0,
        ("4Mi", "1Gi"),
        30.0,
    );
    let profile = sure(PercentileSet::flat(100.0 * MIB as f64));
    let oom = Some(OomEvent {
        peak_bytes: 1024 * MIB,
    });
    let out = recommend_resource(&profile, memory("512Mi"), &settings, oom);
    assert_eq!(out.value.canonical(), "1Gi");
    assert_eq!(
        out.explanation.final_adjustment,
        "OOM floor 1288490189 capped at maxAllowed 1Gi"
    );
}

#[test]
fn oom_floor_below_the_chain_changes_nothing_and_cpu_ignores_it() {
    let settings = ResourceSettings::memory_defaults();
    let profile = sure(PercentileSet::flat(300.0 * MIB as f64));
    let oom = Some(OomEvent { peak_bytes: MIB });
    let out = recommend_resource(&profile, memory("256Mi"), &settings, oom);
    assert_eq!(out.value.canonical(), "348966093");
    assert_eq!(out.explanation.after_oom_floor, Some(out.value));

    let out = recommend_resource(
        &sure(PercentileSet::flat(0.1)),
        cpu("100m"),
        &cpu_defaults(),
        oom,
    );
    assert!(out.explanation.oom_floor.is_none());
    assert!(out.explanation.after_oom_floor.is_none());
}

#[test]
fn explanation_json_has_the_go_operators_fields_in_order() {
    let settings = engine(Resource::Cpu, Percentile::P95, 20.0, ("50m", "4000m"), 50.0);
    let profile = Profile::flat(PercentileSet::flat(0.2), 0.95, 2016);
    let out = recommend_resource(&profile, cpu("500m"), &settings, None);
    let json = serde_json::to_string(&out.explanation).unwrap();
    let order = [
        "\"rawPercentile\":\"200m\"",
        "\"overhead\":20,",
        "\"afterOverhead\":\"240m\"",
        "\"burstFactor\":1,",
        "\"afterBurst\":\"240m\"",
        "\"confidence\":0.95,",
        "\"confidenceFactor\":1.0025",
        "\"afterConfidence\":\"241m\"",
        "\"bounds\":{\"min\":\"50m\",\"max\":\"4\"}",
        "\"afterBounds\":\"241m\"",
        "\"minChangePercent\":10,",
        "\"maxChangePercent\":50,",
        "\"changeFilterApplied\":\"max_change_capped\"",
        "\"afterChangeFilter\":\"250m\"",
        "\"final\":\"250m\"",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|field| {
            json.find(field)
                .unwrap_or_else(|| panic!("{field} in {json}"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{json}");
    for absent in [
        "boundsApplied",
        "finalAdjustment",
        "oomFloor",
        "afterOomFloor",
    ] {
        assert!(!json.contains(absent), "{absent} in {json}");
    }
}
