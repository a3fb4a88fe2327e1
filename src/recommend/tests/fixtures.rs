//! Sample series, settings and current values shared by the tests.

use crate::crd::ResourceValues;
use crate::quantity::Format;
use crate::recommend::{
    Amount, ContainerInput, ContainerOutcome, Explanation, OomEvent, Percentile, Profile,
    Recommendation, Resource, ResourceSettings, Sample, Settings, recommend_container,
};

pub(super) const MINUTE_MS: i64 = 60_000;
pub(super) const STEP_MS: i64 = 5 * MINUTE_MS;
pub(super) const HOUR_MS: i64 = 60 * MINUTE_MS;
/// 7 days at one point per 5 minutes.
pub(super) const WEEK_POINTS: usize = 2016;
/// 2024-01-01T00:00:00Z: a fixed start on a UTC midnight.
pub(super) const T0_MS: i64 = 1_704_067_200_000;
pub(super) const MIB: i64 = 1024 * 1024;

/// `n` samples every 5 minutes from [`T0_MS`], valued by timestamp.
pub(super) fn series(n: usize, value: impl Fn(i64) -> f64) -> Vec<Sample> {
    (0..n as i64)
        .map(|i| {
            let timestamp_ms = T0_MS + i * STEP_MS;
            Sample {
                timestamp_ms,
                value: value(timestamp_ms),
            }
        })
        .collect()
}

/// A constant value for `n` points.
pub(super) fn flat(n: usize, value: f64) -> Vec<Sample> {
    series(n, |_| value)
}

/// Requests and limits as a pod template has them.
pub(super) fn current(
    cpu_request: Option<&str>,
    cpu_limit: Option<&str>,
    memory_request: Option<&str>,
    memory_limit: Option<&str>,
) -> ResourceValues {
    ResourceValues {
        cpu_request: cpu_request.map(str::to_owned),
        cpu_limit: cpu_limit.map(str::to_owned),
        memory_request: memory_request.map(str::to_owned),
        memory_limit: memory_limit.map(str::to_owned),
    }
}

/// Runs the container recommender on samples; panics (test only) unless it recommends.
pub(super) fn recommend(
    settings: &Settings,
    cpu: &[Sample],
    memory: &[Sample],
    current: &ResourceValues,
    oom: Option<OomEvent>,
) -> Recommendation {
    let (cpu, memory) = (Profile::from_samples(cpu), Profile::from_samples(memory));
    let input = ContainerInput {
        current,
        cpu: &cpu,
        memory: &memory,
        oom,
    };
    match recommend_container(settings, &input).unwrap() {
        ContainerOutcome::Recommended(r) => *r,
        other => panic!("expected a recommendation, got {other:?}"),
    }
}

/// The CPU explanation of a recommendation (test only: it must exist).
pub(super) fn cpu_of(r: &Recommendation) -> &Explanation {
    &r.cpu.as_ref().expect("a CPU recommendation").explanation
}

/// The memory explanation of a recommendation (test only: it must exist).
pub(super) fn memory_of(r: &Recommendation) -> &Explanation {
    &r.memory
        .as_ref()
        .expect("a memory recommendation")
        .explanation
}

/// Canonical text of the seven stage values, in chain order.
pub(super) fn stages(e: &Explanation) -> [String; 7] {
    [
        e.raw_percentile.canonical(),
        e.after_overhead.canonical(),
        e.after_burst.canonical(),
        e.after_confidence.canonical(),
        e.after_bounds.canonical(),
        e.after_change_filter.canonical(),
        e.final_value.canonical(),
    ]
}

/// Unit-level engine settings as in the Go operator's chain tests: a percentile, an overhead,
/// bounds and a symmetric change cap; decreases allowed (that check is outside its engine).
pub(super) fn engine(
    resource: Resource,
    percentile: Percentile,
    overhead_percent: f64,
    bounds: (&str, &str),
    cap_percent: f64,
) -> ResourceSettings {
    let base = match resource {
        Resource::Cpu => ResourceSettings::cpu_defaults(),
        Resource::Memory => ResourceSettings::memory_defaults(),
    };
    ResourceSettings {
        percentile,
        overhead_percent,
        min_allowed: Amount::parse(resource, bounds.0, "min").unwrap(),
        max_allowed: Amount::parse(resource, bounds.1, "max").unwrap(),
        max_increase_percent: cap_percent,
        max_decrease_percent: cap_percent,
        allow_decrease: true,
        ..base
    }
}

/// A current CPU request in the notation Kubernetes gives it.
pub(super) fn cpu(text: &str) -> Amount {
    Amount::parse(Resource::Cpu, text, "current").unwrap()
}

/// A current memory request in the notation Kubernetes gives it.
pub(super) fn memory(text: &str) -> Amount {
    Amount::parse(Resource::Memory, text, "current").unwrap()
}

/// Memory bytes as a computed value prints.
pub(super) fn bytes(n: i64) -> Amount {
    Amount::new(Resource::Memory, n, Format::BinarySI)
}
