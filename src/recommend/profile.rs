//! A container's usage of one resource, summarised: percentiles overall and per UTC hour of
//! day, burst and confidence.

use super::sample::Sample;
use super::settings::Percentile;

/// Most samples a profile is built from (the Go operator's `--max-profile-samples` default).
/// Beyond it, an even stride over the samples sorted by time keeps the whole span.
pub const MAX_PROFILE_SAMPLES: usize = 10_000;

const MS_PER_HOUR: i64 = 3_600_000;

/// Percentiles of one set of values, by linear interpolation (numpy "linear", R type 7).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PercentileSet {
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl PercentileSet {
    /// Every percentile and the max equal to `value`: constant usage.
    pub fn flat(value: f64) -> PercentileSet {
        PercentileSet {
            p50: value,
            p90: value,
            p95: value,
            p99: value,
            max: value,
        }
    }

    /// The set for values sorted ascending; zeros for no values (as an empty hour reads).
    pub fn from_sorted(sorted: &[f64]) -> PercentileSet {
        let Some(&max) = sorted.last() else {
            return PercentileSet::default();
        };
        PercentileSet {
            p50: percentile(sorted, 0.50),
            p90: percentile(sorted, 0.90),
            p95: percentile(sorted, 0.95),
            p99: percentile(sorted, 0.99),
            max,
        }
    }

    /// The value for a configured percentile.
    pub fn get(&self, which: Percentile) -> f64 {
        match which {
            Percentile::P50 => self.p50,
            Percentile::P90 => self.p90,
            Percentile::P95 => self.p95,
            Percentile::P99 => self.p99,
        }
    }
}

/// The value at fraction `p` (0–1) of values sorted ascending: rank = p·(n−1), interpolated
/// between the neighbouring values. One value is its own percentile; none gives 0.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    match sorted {
        [] => 0.0,
        [only] => *only,
        _ => {
            let rank = p * (sorted.len() - 1) as f64;
            let lower = rank.floor();
            let upper = rank.ceil();
            // rank lies in [0, n−1], so both indices are in range; `get` keeps that unassumed.
            let at = |r: f64| sorted.get(r as usize).copied().unwrap_or(0.0);
            if lower == upper {
                return at(lower);
            }
            // Same operations, in the same order, as the Go operator: equal floats out.
            let fraction = rank - lower;
            at(lower) * (1.0 - fraction) + at(upper) * fraction
        }
    }
}

/// Confidence in a profile: clamp(min(span in days, √(points/24)) / 7, 0, 1). A week of
/// history at one point per hour or more gives 1.
pub fn confidence_of(span_days: f64, data_points: usize) -> f64 {
    let data = (data_points as f64 / 24.0).sqrt();
    (span_days.min(data) / 7.0).clamp(0.0, 1.0)
}

/// At most `max` samples, evenly spaced by index after sorting by time, first and last kept.
/// Fewer than `max` samples come back as they are.
pub fn downsample(samples: &[Sample], max: usize) -> Vec<Sample> {
    if max == 0 || samples.len() <= max {
        return samples.to_vec();
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by_key(|s| s.timestamp_ms);
    if max == 1 {
        return vec![sorted[sorted.len() / 2]];
    }
    let last = sorted.len() - 1;
    (0..max).map(|i| sorted[i * last / (max - 1)]).collect()
}

/// Usage of one resource by one container.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    /// Per UTC hour of day (index 0 = 00:00–00:59 UTC); zeros for an hour without samples.
    pub hourly: [PercentileSet; 24],
    pub overall: PercentileSet,
    /// Overall max / overall p95, when that ratio is above 3.
    pub burst_magnitude: Option<f64>,
    /// Finite samples the profile was built from.
    pub data_points: usize,
    /// Newest minus oldest sample, in days.
    pub span_days: f64,
    /// See [`confidence_of`].
    pub confidence: f64,
    /// Time of the newest sample (ms since the epoch), for `lastDataTime` and staleness.
    pub newest_ms: Option<i64>,
}

impl Profile {
    /// Builds the profile: NaN and infinities are dropped, then at most
    /// [`MAX_PROFILE_SAMPLES`] are kept ([`downsample`]). Hours are UTC whatever the process's
    /// time zone.
    pub fn from_samples(samples: &[Sample]) -> Profile {
        let finite: Vec<Sample> = samples
            .iter()
            .filter(|s| s.value.is_finite())
            .copied()
            .collect();
        if finite.len() > MAX_PROFILE_SAMPLES {
            return Profile::from_finite(&downsample(&finite, MAX_PROFILE_SAMPLES));
        }
        Profile::from_finite(&finite)
    }

    fn from_finite(samples: &[Sample]) -> Profile {
        let (Some(oldest), Some(newest)) = (
            samples.iter().map(|s| s.timestamp_ms).min(),
            samples.iter().map(|s| s.timestamp_ms).max(),
        ) else {
            return Profile::default();
        };
        let mut hours: [Vec<f64>; 24] = Default::default();
        for s in samples {
            hours[hour_of_day(s.timestamp_ms)].push(s.value);
        }
        let mut all: Vec<f64> = samples.iter().map(|s| s.value).collect();
        let mut hourly = [PercentileSet::default(); 24];
        for (set, values) in hourly.iter_mut().zip(hours.iter_mut()) {
            values.sort_unstable_by(f64::total_cmp);
            *set = PercentileSet::from_sorted(values);
        }
        all.sort_unstable_by(f64::total_cmp);
        let overall = PercentileSet::from_sorted(&all);
        let span_days = span_in_days(newest - oldest);
        Profile {
            hourly,
            overall,
            burst_magnitude: burst_of(&overall),
            data_points: samples.len(),
            span_days,
            confidence: confidence_of(span_days, samples.len()),
            newest_ms: Some(newest),
        }
    }

    /// A profile with the same percentiles every hour, as a unit test or a derived value
    /// needs; the burst follows from `set` by the usual rule.
    pub fn flat(set: PercentileSet, confidence: f64, data_points: usize) -> Profile {
        Profile {
            hourly: [set; 24],
            overall: set,
            burst_magnitude: burst_of(&set),
            data_points,
            span_days: 0.0,
            confidence,
            newest_ms: None,
        }
    }

    /// The configured percentile of the busiest hour or of the whole history, whichever is
    /// larger.
    pub fn peak_percentile(&self, which: Percentile) -> f64 {
        self.hourly
            .iter()
            .map(|set| set.get(which))
            .fold(self.overall.get(which), f64::max)
    }
}

fn burst_of(set: &PercentileSet) -> Option<f64> {
    if set.p95 > 0.0 {
        let ratio = set.max / set.p95;
        if ratio > 3.0 {
            return Some(ratio);
        }
    }
    None
}

/// UTC hour of day of a millisecond timestamp (negative timestamps count back from 1970).
fn hour_of_day(timestamp_ms: i64) -> usize {
    // rem_euclid(24) is within 0..24.
    timestamp_ms.div_euclid(MS_PER_HOUR).rem_euclid(24) as usize
}

/// A span in days, computed as Go's `Duration.Hours() / 24` does, so that confidence comes
/// out bit for bit the same.
fn span_in_days(span_ms: i64) -> f64 {
    let whole_hours = span_ms.div_euclid(MS_PER_HOUR);
    let rest_ns = span_ms.rem_euclid(MS_PER_HOUR).saturating_mul(1_000_000);
    (whole_hours as f64 + rest_ns as f64 / 3.6e12) / 24.0
}
