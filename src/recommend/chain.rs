//! The chain for one resource: percentile → overhead → burst → confidence → bounds → change
//! filter → OOM floor → allowDecrease. Every multiplication works on whole millicores or
//! bytes and rounds up, as the Go operator does, so a factor above 1 always adds at least 1m
//! or 1 byte.

use super::amount::{Amount, Resource};
use super::explanation::{
    BoundApplied, Bounds, ChangeFilterApplied, Explanation, HourlyProfile, OomFloor,
};
use super::profile::Profile;
use super::settings::ResourceSettings;
use crate::quantity::Format;

/// 100Mi: the least an OOM kill raises the memory floor above the peak.
const OOM_MIN_BUMP_BYTES: i64 = 100 * 1024 * 1024;

/// A container was OOM-killed since the last recommendation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OomEvent {
    /// Memory in use when it was killed: the highest working set seen around the kill, or its
    /// memory limit when nothing better is known.
    pub peak_bytes: i64,
}

/// The floor an OOM kill sets: max(peak + 100Mi, ⌈peak × 1.2⌉) bytes (what VPA does).
pub fn oom_floor_bytes(peak_bytes: i64) -> i64 {
    let peak = i128::from(peak_bytes.max(0));
    let scaled = (peak * 6 + 4) / 5;
    let floor = (peak + i128::from(OOM_MIN_BUMP_BYTES)).max(scaled);
    i64::try_from(floor).unwrap_or(i64::MAX)
}

/// One resource's recommendation and how it came about.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceOutcome {
    /// The recommended request (`explanation.final_value`).
    pub value: Amount,
    pub explanation: Explanation,
}

/// Runs the chain on `profile` against the `current` request. `oom` raises the floor (memory;
/// the caller passes it only for memory).
pub fn recommend_resource(
    profile: &Profile,
    current: Amount,
    settings: &ResourceSettings,
    oom: Option<OomEvent>,
) -> ResourceOutcome {
    let resource = settings.resource;
    let raw = raw_percentile(profile, current, settings);
    let after_overhead = scale(raw, 1.0 + settings.overhead_percent / 100.0);
    let burst_factor = match profile.burst_magnitude {
        Some(m) if m > 1.0 && settings.burst_sensitivity > 0.0 => {
            1.0 + m.log2() * settings.burst_sensitivity
        }
        _ => 1.0,
    };
    let after_burst = scale(after_overhead, burst_factor);
    let confidence = profile.confidence.clamp(0.0, 1.0);
    let doubt = 1.0 - confidence;
    let confidence_factor = 1.0 + doubt * doubt;
    let after_confidence = scale(after_burst, confidence_factor);
    let (after_bounds, bounds_applied) = clamp_to_bounds(after_confidence, settings);
    let filter = change_filter(after_bounds, current, settings);
    let oom = oom.filter(|_| resource == Resource::Memory);
    let tail = finish(filter.value, current, settings, oom);
    let explanation = Explanation {
        raw_percentile: raw,
        overhead: settings.overhead_percent,
        after_overhead,
        burst_factor,
        after_burst,
        confidence: profile.confidence,
        confidence_factor,
        after_confidence,
        bounds: Bounds {
            min: settings.min_allowed,
            max: settings.max_allowed,
        },
        bounds_applied,
        after_bounds,
        min_change_percent: settings.min_change_percent,
        max_change_percent: filter.cap_percent,
        change_filter_applied: filter.applied,
        after_change_filter: filter.value,
        oom_floor: tail.oom_floor,
        after_oom_floor: tail.after_oom_floor,
        final_value: tail.final_value,
        final_adjustment: tail.adjustment,
        hourly_profile: hourly_profile(profile, settings),
    };
    ResourceOutcome {
        value: tail.final_value,
        explanation,
    }
}

/// What follows the change filter: the OOM floor, then allowDecrease.
struct Tail {
    oom_floor: Option<OomFloor>,
    after_oom_floor: Option<Amount>,
    final_value: Amount,
    adjustment: String,
}

fn finish(
    filtered: Amount,
    current: Amount,
    settings: &ResourceSettings,
    oom: Option<OomEvent>,
) -> Tail {
    let mut adjustment = String::new();
    let (oom_floor, after_oom_floor) = match oom {
        Some(event) => {
            let (floor, raised) = apply_oom_floor(filtered, event, settings);
            if floor.floor.base() > settings.max_allowed.base() {
                adjustment = format!(
                    "OOM floor {} capped at maxAllowed {}",
                    floor.floor, settings.max_allowed
                );
            }
            (Some(floor), Some(raised))
        }
        None => (None, None),
    };
    let candidate = after_oom_floor.unwrap_or(filtered);
    let final_value = if !settings.allow_decrease && candidate.base() < current.base() {
        let note = format!(
            "{} decrease from {current} to {candidate} blocked by allowDecrease=false",
            settings.resource.label()
        );
        append_note(&mut adjustment, note);
        current
    } else {
        candidate
    };
    Tail {
        oom_floor,
        after_oom_floor,
        final_value,
        adjustment,
    }
}

/// Adds `note` to an adjustment text, "; "-separated.
pub(crate) fn append_note(text: &mut String, note: String) {
    if !text.is_empty() {
        text.push_str("; ");
    }
    text.push_str(&note);
}

/// The configured percentile of the busiest hour (or overall), rounded up to whole millicores
/// or bytes; the current value when there is no usable usage (≤ 0, NaN, infinite).
fn raw_percentile(profile: &Profile, current: Amount, settings: &ResourceSettings) -> Amount {
    let peak = profile.peak_percentile(settings.percentile);
    if peak.is_nan() || peak <= 0.0 || peak.is_infinite() {
        return current;
    }
    let resource = settings.resource;
    let base = match resource {
        Resource::Cpu => (peak * 1000.0).ceil(),
        Resource::Memory => peak.ceil(),
    };
    // `as` saturates: usage beyond 2^63 millicores or bytes reads as the largest amount.
    Amount::new(resource, base as i64, resource.computed_format())
}

/// The configured percentile per hour, in the notation of `rawPercentile`; only for a profile
/// built from samples (a flat profile stands for a derived or assumed value, not usage).
fn hourly_profile(profile: &Profile, settings: &ResourceSettings) -> Option<HourlyProfile> {
    profile.newest_ms?;
    let resource = settings.resource;
    let values = profile
        .hourly
        .iter()
        .map(|set| {
            let value = set.get(settings.percentile);
            let base = match resource {
                Resource::Cpu => (value * 1000.0).ceil(),
                Resource::Memory => value.ceil(),
            };
            // `as` saturates and maps NaN to 0; usage is never negative.
            Amount::new(resource, (base as i64).max(0), resource.computed_format())
        })
        .collect();
    Some(HourlyProfile {
        percentile: settings.percentile.label(),
        values,
    })
}

/// ⌈value × factor⌉ in whole base units, kept within [0, 2^63). Binary notation is kept, any
/// other becomes decimal (as Go's `scaleQuantity`). A factor that is not a positive number
/// leaves the value as it is.
fn scale(value: Amount, factor: f64) -> Amount {
    if !factor.is_finite() || factor <= 0.0 {
        return value;
    }
    let product = (value.base() as f64 * factor).ceil();
    // `as` saturates at the i64 range and maps NaN to 0.
    let base = (product as i64).max(0);
    let format = match value.format() {
        Format::BinarySI => Format::BinarySI,
        _ => Format::DecimalSI,
    };
    Amount::new(value.resource(), base, format)
}

fn clamp_to_bounds(value: Amount, settings: &ResourceSettings) -> (Amount, Option<BoundApplied>) {
    if value.base() < settings.min_allowed.base() {
        (settings.min_allowed, Some(BoundApplied::Min))
    } else if value.base() > settings.max_allowed.base() {
        (settings.max_allowed, Some(BoundApplied::Max))
    } else {
        (value, None)
    }
}

struct Filtered {
    value: Amount,
    applied: Option<ChangeFilterApplied>,
    cap_percent: f64,
}

/// Keeps `current` for a change under `min_change_percent`, caps a change beyond the
/// directional cap at current ± cap (rounded up). Skipped when there is no current value.
/// Computed on thousandths in f64, as the Go operator does, for the same rounding.
fn change_filter(value: Amount, current: Amount, settings: &ResourceSettings) -> Filtered {
    let unchanged = Filtered {
        value,
        applied: None,
        cap_percent: settings.max_increase_percent,
    };
    let current_millis = current.millis() as f64;
    if current_millis == 0.0 {
        return unchanged;
    }
    let value_millis = value.millis() as f64;
    let change_percent = (value_millis - current_millis).abs() / current_millis * 100.0;
    let increase = value_millis > current_millis;
    let cap_percent = if increase {
        settings.max_increase_percent
    } else {
        settings.max_decrease_percent
    };
    if change_percent < settings.min_change_percent {
        return Filtered {
            value: current,
            applied: Some(ChangeFilterApplied::MinChangeFiltered),
            cap_percent,
        };
    }
    if change_percent <= cap_percent {
        return Filtered {
            cap_percent,
            ..unchanged
        };
    }
    let delta = current_millis * cap_percent / 100.0;
    let capped_millis = if increase {
        current_millis + delta
    } else {
        current_millis - delta
    };
    let resource = value.resource();
    let (base, format) = match (resource, value.format()) {
        (Resource::Cpu, _) => (capped_millis.ceil(), Format::DecimalSI),
        (Resource::Memory, Format::BinarySI) => ((capped_millis / 1000.0).ceil(), Format::BinarySI),
        (Resource::Memory, _) => ((capped_millis / 1000.0).ceil(), Format::DecimalSI),
    };
    Filtered {
        value: Amount::new(resource, base as i64, format),
        applied: Some(ChangeFilterApplied::MaxChangeCapped),
        cap_percent,
    }
}

/// Raises `value` to the OOM floor, the floor itself at most `maxAllowed`.
fn apply_oom_floor(
    value: Amount,
    event: OomEvent,
    settings: &ResourceSettings,
) -> (OomFloor, Amount) {
    let resource = value.resource();
    let floor = Amount::new(
        resource,
        oom_floor_bytes(event.peak_bytes),
        Format::BinarySI,
    );
    let effective = if floor.base() > settings.max_allowed.base() {
        settings.max_allowed
    } else {
        floor
    };
    let raised = if effective.base() > value.base() {
        effective
    } else {
        value
    };
    let peak = Amount::new(resource, event.peak_bytes.max(0), Format::BinarySI);
    (OomFloor { peak, floor }, raised)
}
