//! Building a profile from samples: filtering, downsampling, UTC hours, burst, confidence.

use super::fixtures::{HOUR_MS, STEP_MS, T0_MS, WEEK_POINTS, flat, series};
use crate::recommend::{
    MAX_PROFILE_SAMPLES, Profile, Sample, confidence_of, downsample, percentile,
};

#[test]
fn non_finite_samples_are_dropped() {
    let mut samples = flat(48, 0.5);
    samples.push(Sample {
        timestamp_ms: T0_MS - STEP_MS,
        value: f64::NAN,
    });
    samples.push(Sample {
        timestamp_ms: T0_MS + 100 * STEP_MS,
        value: f64::INFINITY,
    });
    samples.push(Sample {
        timestamp_ms: T0_MS + 101 * STEP_MS,
        value: f64::NEG_INFINITY,
    });
    let profile = Profile::from_samples(&samples);
    assert_eq!(profile.data_points, 48);
    assert_eq!(profile.overall.max, 0.5);
    // The span is that of the finite samples.
    assert_eq!(profile.newest_ms, Some(T0_MS + 47 * STEP_MS));
    assert!((profile.span_days - 235.0 / 1440.0).abs() < 1e-12);
}

#[test]
fn no_samples_or_only_nan_give_an_empty_profile() {
    assert_eq!(Profile::from_samples(&[]), Profile::default());
    let nan = [Sample {
        timestamp_ms: T0_MS,
        value: f64::NAN,
    }];
    let profile = Profile::from_samples(&nan);
    assert_eq!(profile.data_points, 0);
    assert_eq!(profile.newest_ms, None);
}

#[test]
fn more_than_ten_thousand_samples_are_strided_keeping_both_ends() {
    // 30,001 samples, every minute, given newest first.
    let mut samples: Vec<Sample> = (0..30_001)
        .map(|i| Sample {
            timestamp_ms: T0_MS + i * 60_000,
            value: i as f64,
        })
        .collect();
    samples.reverse();
    let kept = downsample(&samples, MAX_PROFILE_SAMPLES);
    assert_eq!(kept.len(), MAX_PROFILE_SAMPLES);
    assert_eq!(kept[0].timestamp_ms, T0_MS);
    assert_eq!(
        kept[MAX_PROFILE_SAMPLES - 1].timestamp_ms,
        T0_MS + 30_000 * 60_000
    );
    // index i·(n−1)/(max−1) = i·30000/9999: i = 1 → 3.
    assert_eq!(kept[1].value, 3.0);
    assert!(
        kept.windows(2)
            .all(|w| w[0].timestamp_ms < w[1].timestamp_ms)
    );
    let profile = Profile::from_samples(&samples);
    assert_eq!(profile.data_points, MAX_PROFILE_SAMPLES);
    assert_eq!(profile.overall.max, 30_000.0);
    // Fewer than the cap: kept as given.
    assert_eq!(downsample(&samples[..5], 10), samples[..5].to_vec());
    assert_eq!(downsample(&samples[..5], 1).len(), 1);
}

#[test]
fn hours_are_utc_hours_of_day() {
    // One sample per hour for a day, valued by the UTC hour it falls in.
    let samples: Vec<Sample> = (0..24)
        .map(|h| Sample {
            timestamp_ms: T0_MS + h * HOUR_MS + 30 * 60_000,
            value: h as f64 + 1.0,
        })
        .collect();
    let profile = Profile::from_samples(&samples);
    for (hour, set) in profile.hourly.iter().enumerate() {
        assert_eq!(set.p95, hour as f64 + 1.0, "hour {hour}");
    }
    // Before 1970 too: 23:00 on 1969-12-31.
    let old = [Sample {
        timestamp_ms: -HOUR_MS,
        value: 7.0,
    }];
    assert_eq!(Profile::from_samples(&old).hourly[23].max, 7.0);
}

#[test]
fn burst_is_max_over_p95_above_three() {
    // 2 % of samples at 4× the rest: p95 stays at the base.
    let spiky = series(
        WEEK_POINTS,
        |t| {
            if (t / STEP_MS) % 50 == 0 { 0.4 } else { 0.1 }
        },
    );
    let profile = Profile::from_samples(&spiky);
    let magnitude = profile.burst_magnitude.expect("a burst");
    assert!((magnitude - 4.0).abs() < 1e-12);
    // Exactly 3× is not a burst.
    let three = series(
        WEEK_POINTS,
        |t| {
            if (t / STEP_MS) % 50 == 0 { 0.3 } else { 0.1 }
        },
    );
    assert_eq!(Profile::from_samples(&three).burst_magnitude, None);
    assert_eq!(Profile::from_samples(&flat(48, 0.0)).burst_magnitude, None);
}

#[test]
fn confidence_is_the_smaller_of_span_and_density_over_a_week() {
    assert_eq!(confidence_of(14.0, 100_000), 1.0);
    assert_eq!(confidence_of(0.0, 1000), 0.0);
    // Dense but short: span decides. Long but sparse: √(points/24) decides.
    assert!((confidence_of(3.5, 100_000) - 0.5).abs() < 1e-12);
    assert!((confidence_of(30.0, 24 * 4) - 2.0 / 7.0).abs() < 1e-12);
    let week = Profile::from_samples(&flat(WEEK_POINTS, 1.0));
    assert!((week.confidence - 2015.0 * 5.0 / 1440.0 / 7.0).abs() < 1e-12);
}

#[test]
fn percentile_edge_cases() {
    assert_eq!(percentile(&[], 0.95), 0.0);
    assert_eq!(percentile(&[3.0], 0.5), 3.0);
    assert_eq!(percentile(&[1.0, 3.0], 0.5), 2.0);
    assert_eq!(percentile(&[1.0, 3.0], 1.0), 3.0);
}
