//! Why a value was recommended: every stage of the chain and the factors applied, in the
//! shape of the Go operator's `status.recommendations[].containers[].explanation.{cpu,memory}`.

use serde::{Serialize, Serializer};

use super::amount::Amount;

/// The value after each stage of the chain for one resource, plus its factors. Field names
/// and order are the Go operator's; `oomFloor` and `afterOomFloor` are ours and appear only
/// after an OOM kill.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    pub raw_percentile: Amount,
    /// Overhead in percent (20 for +20 %).
    #[serde(serialize_with = "go_number")]
    pub overhead: f64,
    pub after_overhead: Amount,
    /// 1 without a burst.
    #[serde(serialize_with = "go_number")]
    pub burst_factor: f64,
    pub after_burst: Amount,
    #[serde(serialize_with = "go_number")]
    pub confidence: f64,
    #[serde(serialize_with = "go_number")]
    pub confidence_factor: f64,
    pub after_confidence: Amount,
    pub bounds: Bounds,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounds_applied: Option<BoundApplied>,
    pub after_bounds: Amount,
    #[serde(serialize_with = "go_number")]
    pub min_change_percent: f64,
    /// The cap in the direction of the change (the increase cap when there is no current value).
    #[serde(serialize_with = "go_number")]
    pub max_change_percent: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_filter_applied: Option<ChangeFilterApplied>,
    pub after_change_filter: Amount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_floor: Option<OomFloor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_oom_floor: Option<Amount>,
    #[serde(rename = "final")]
    pub final_value: Amount,
    /// What happened after the chain (allowDecrease, memoryFromCpuRatio, a capped OOM floor);
    /// empty when nothing did.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub final_adjustment: String,
    /// The configured percentile per UTC hour of day (ours): the evidence a pull request charts
    /// and `kubectl attune explain` draws. Absent when the value was not measured (memory
    /// derived from CPU, a test's flat profile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hourly_profile: Option<HourlyProfile>,
}

/// The configured percentile of each UTC hour of day, rounded up like `rawPercentile`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HourlyProfile {
    /// `p50`, `p90`, `p95` or `p99`.
    pub percentile: &'static str,
    /// 24 values, index 0 = 00:00–00:59 UTC; `0` for an hour without samples.
    pub values: Vec<Amount>,
}

/// `minAllowed` and `maxAllowed` as applied.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Bounds {
    pub min: Amount,
    pub max: Amount,
}

/// Which bound clamped the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BoundApplied {
    Min,
    Max,
}

/// What the change filter did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeFilterApplied {
    /// The change was under `minChangePercent`: the current value was kept.
    MinChangeFiltered,
    /// The change was beyond the cap: current ± cap.
    MaxChangeCapped,
}

/// The memory floor after an OOM kill: max(peak + 100Mi, peak × 1.2), at most `maxAllowed`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct OomFloor {
    /// Memory in use when the container was killed.
    pub peak: Amount,
    /// The floor before `maxAllowed`.
    pub floor: Amount,
}

/// The explanations of one container, as `explanation` in its status entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ContainerExplanation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Explanation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Explanation>,
}

impl ContainerExplanation {
    /// As a JSON object for the status's free-form `explanation` field.
    pub fn to_json(&self) -> serde_json::Value {
        // Strings and finite numbers only; a value that cannot be written becomes null
        // rather than failing the whole status.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Numbers as Go's encoding/json writes a float64: whole numbers without a fraction (`20`, not
/// `20.0`), everything else shortest round-trip.
fn go_number<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0; // 2^53
    if value.fract() == 0.0 && value.abs() < EXACT_INTEGERS {
        // Whole and within ±2^53, so the conversion is exact.
        serializer.serialize_i64(*value as i64)
    } else {
        serializer.serialize_f64(*value)
    }
}
