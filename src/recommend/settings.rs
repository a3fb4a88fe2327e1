//! The recommender's settings, read from an AttunePolicy spec with the Go operator's defaults.

use super::amount::{Amount, Resource};
use super::error::RecommendError;
use crate::crd::{AttunePolicySpec, ControlledValues, ResourcePolicy, RuntimeProfile};

const MIB: i64 = 1024 * 1024;
const GIB: i64 = 1024 * MIB;

/// A change smaller than this, in percent of the current value, keeps the current value
/// (hard-coded in the Go operator).
pub const MIN_CHANGE_PERCENT: f64 = 10.0;

/// Largest overhead the Go operator accepts, in percent (a 10× multiplier).
const MAX_OVERHEAD_PERCENT: f64 = 900.0;

/// Largest `memoryFromCpuRatio`, in GiB per core.
const MAX_MEMORY_FROM_CPU_RATIO: f64 = 1000.0;

/// Default `minimumDataPoints`.
pub const DEFAULT_MINIMUM_DATA_POINTS: usize = 48;

/// The usage percentile a resource is sized for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Percentile {
    P50,
    P90,
    P95,
    P99,
}

impl Percentile {
    /// `p50`, `p90`, `p95` or `p99`.
    pub fn label(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P90 => "p90",
            Percentile::P95 => "p95",
            Percentile::P99 => "p99",
        }
    }

    /// 50, 90, 95 or 99; anything else is not a supported percentile.
    pub fn from_number(number: i32) -> Option<Percentile> {
        match number {
            50 => Some(Percentile::P50),
            90 => Some(Percentile::P90),
            95 => Some(Percentile::P95),
            99 => Some(Percentile::P99),
            _ => None,
        }
    }
}

/// How one resource's recommendation is computed and bounded.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceSettings {
    pub resource: Resource,
    pub percentile: Percentile,
    /// Headroom on top of the percentile, in percent (20 → ×1.2).
    pub overhead_percent: f64,
    /// s in ×(1 + s·log2(burst magnitude)); 0 turns the burst factor off.
    pub burst_sensitivity: f64,
    pub min_allowed: Amount,
    pub max_allowed: Amount,
    /// Changes below this percentage keep the current value.
    pub min_change_percent: f64,
    /// Largest increase per cycle, in percent of the current value.
    pub max_increase_percent: f64,
    /// Largest decrease per cycle, in percent of the current value.
    pub max_decrease_percent: f64,
    /// Whether the final value may be below the current one.
    pub allow_decrease: bool,
    pub controlled_values: ControlledValues,
}

impl ResourceSettings {
    /// The Go operator's CPU defaults: p95, +20 %, 1m–4000m, ±50 %, decreases allowed.
    pub fn cpu_defaults() -> ResourceSettings {
        ResourceSettings {
            resource: Resource::Cpu,
            percentile: Percentile::P95,
            overhead_percent: 20.0,
            burst_sensitivity: 0.1,
            min_allowed: Amount::cpu_millis(1),
            max_allowed: Amount::cpu_millis(4000),
            min_change_percent: MIN_CHANGE_PERCENT,
            max_increase_percent: 50.0,
            max_decrease_percent: 50.0,
            allow_decrease: true,
            controlled_values: ControlledValues::RequestsOnly,
        }
    }

    /// The Go operator's memory defaults: p99, +30 %, 4Mi–8Gi, ±30 %, no decreases.
    pub fn memory_defaults() -> ResourceSettings {
        ResourceSettings {
            resource: Resource::Memory,
            percentile: Percentile::P99,
            overhead_percent: 30.0,
            burst_sensitivity: 0.1,
            min_allowed: Amount::memory_bytes(4 * MIB),
            max_allowed: Amount::memory_bytes(8 * GIB),
            min_change_percent: MIN_CHANGE_PERCENT,
            max_increase_percent: 30.0,
            max_decrease_percent: 30.0,
            allow_decrease: false,
            controlled_values: ControlledValues::RequestsOnly,
        }
    }

    /// These defaults overridden by what `policy` sets. Change caps outside 1–100 are clamped
    /// into it, as the Go operator does; everything else out of range is an error.
    fn overridden_by(mut self, policy: &ResourcePolicy) -> Result<Self, RecommendError> {
        let names = FieldNames::of(self.resource);
        if let Some(number) = policy.percentile {
            self.percentile =
                Percentile::from_number(number).ok_or(RecommendError::Percentile {
                    field: names.percentile,
                    value: number,
                })?;
        }
        if let Some(text) = policy.overhead.as_deref().filter(|t| !t.is_empty()) {
            self.overhead_percent = overhead_percent(names.overhead, text)?;
        }
        if let Some(value) = policy.burst_sensitivity {
            if !(0.0..=1.0).contains(&value) {
                return Err(RecommendError::Setting {
                    field: names.burst_sensitivity,
                    value: value.to_string(),
                    reason: "must be between 0 and 1 (0 turns the burst factor off)",
                });
            }
            self.burst_sensitivity = value;
        }
        if let Some(text) = &policy.min_allowed {
            self.min_allowed = Amount::parse(self.resource, text, names.min_allowed)?;
        }
        if let Some(text) = &policy.max_allowed {
            self.max_allowed = Amount::parse(self.resource, text, names.max_allowed)?;
        }
        if self.min_allowed.base() > self.max_allowed.base() {
            return Err(RecommendError::BoundsInverted {
                resource: names.spec,
                min: self.min_allowed.canonical(),
                max: self.max_allowed.canonical(),
            });
        }
        let both = policy.max_change_percent.map(f64::from);
        let cap = |one: Option<i32>, fallback: f64| {
            one.map(f64::from)
                .or(both)
                .unwrap_or(fallback)
                .clamp(1.0, 100.0)
        };
        self.max_increase_percent = cap(policy.max_increase_percent, self.max_increase_percent);
        self.max_decrease_percent = cap(policy.max_decrease_percent, self.max_decrease_percent);
        if let Some(allow) = policy.allow_decrease {
            self.allow_decrease = allow;
        }
        self.controlled_values = policy.controlled_values.unwrap_or_default();
        Ok(self)
    }
}

/// Everything the recommender reads from a policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub cpu: ResourceSettings,
    pub memory: ResourceSettings,
    /// `spec.memory.memoryFromCpuRatio`: memory = final CPU cores × this many GiB, instead of
    /// memory's own usage (only while CPU has a recommendation).
    pub memory_from_cpu_ratio: Option<f64>,
    /// A resource is computed only with at least this many data points of its own.
    pub minimum_data_points: usize,
}

impl Default for Settings {
    /// The Go operator's defaults for a policy that sets nothing.
    fn default() -> Self {
        Settings {
            cpu: ResourceSettings::cpu_defaults(),
            memory: ResourceSettings::memory_defaults(),
            memory_from_cpu_ratio: None,
            minimum_data_points: DEFAULT_MINIMUM_DATA_POINTS,
        }
    }
}

impl Settings {
    /// Reads `spec.cpu`, `spec.memory`, `spec.runtimeProfile` and
    /// `spec.metricsSource.minimumDataPoints`; unset fields take the Go operator's defaults,
    /// adjusted by the runtime profile ([`profile_defaults`]); a field the policy sets wins
    /// over both.
    pub fn from_spec(spec: &AttunePolicySpec) -> Result<Settings, RecommendError> {
        let memory = profile_defaults(
            ResourceSettings::memory_defaults(),
            spec.runtime_profile.unwrap_or_default(),
        );
        let memory_from_cpu_ratio = spec
            .memory
            .memory_from_cpu_ratio
            .map(memory_from_cpu_ratio)
            .transpose()?;
        let minimum_data_points = match spec.metrics_source.minimum_data_points {
            None => DEFAULT_MINIMUM_DATA_POINTS,
            Some(n) => usize::try_from(n).ok().filter(|n| *n >= 1).ok_or_else(|| {
                RecommendError::Setting {
                    field: "spec.metricsSource.minimumDataPoints",
                    value: n.to_string(),
                    reason: "must be at least 1",
                }
            })?,
        };
        Ok(Settings {
            cpu: ResourceSettings::cpu_defaults().overridden_by(&spec.cpu)?,
            memory: memory.overridden_by(&spec.memory)?,
            memory_from_cpu_ratio,
            minimum_data_points,
        })
    }

    /// The settings of one resource.
    pub fn resource(&self, resource: Resource) -> &ResourceSettings {
        match resource {
            Resource::Cpu => &self.cpu,
            Resource::Memory => &self.memory,
        }
    }
}

/// The memory defaults of a runtime profile: runtimes whose heap does not give memory back
/// (java, python, nodejs) never decrease memory, and java gets 40 % overhead for what lives
/// outside the heap. generic and golang keep the Go operator's defaults. These are defaults:
/// `spec.memory.allowDecrease` or `spec.memory.overhead`, when set, win.
pub fn profile_defaults(mut memory: ResourceSettings, profile: RuntimeProfile) -> ResourceSettings {
    match profile {
        RuntimeProfile::Java => {
            memory.allow_decrease = false;
            memory.overhead_percent = 40.0;
        }
        RuntimeProfile::Python | RuntimeProfile::Nodejs => memory.allow_decrease = false,
        RuntimeProfile::Generic | RuntimeProfile::Golang => {}
    }
    memory
}

/// `overhead` is text: digits with an optional fraction (`20`, `12.5`), at most 900.
fn overhead_percent(field: &'static str, text: &str) -> Result<f64, RecommendError> {
    let refuse = |reason| RecommendError::Setting {
        field,
        value: text.to_owned(),
        reason,
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = match text.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(text),
    };
    if !well_formed {
        return Err(refuse(
            "not a percentage (write digits such as \"20\" or \"12.5\")",
        ));
    }
    let value: f64 = text
        .parse()
        .map_err(|_| refuse("not a percentage (write digits such as \"20\" or \"12.5\")"))?;
    if value > MAX_OVERHEAD_PERCENT {
        return Err(refuse("at most 900 (a 10x multiplier)"));
    }
    Ok(value)
}

fn memory_from_cpu_ratio(value: f64) -> Result<f64, RecommendError> {
    if value.is_finite() && value > 0.0 && value <= MAX_MEMORY_FROM_CPU_RATIO {
        return Ok(value);
    }
    Err(RecommendError::Setting {
        field: "spec.memory.memoryFromCpuRatio",
        value: value.to_string(),
        reason: "must be above 0 and at most 1000 (GiB of memory per CPU core)",
    })
}

/// Field paths for errors, per resource.
struct FieldNames {
    spec: &'static str,
    percentile: &'static str,
    overhead: &'static str,
    burst_sensitivity: &'static str,
    min_allowed: &'static str,
    max_allowed: &'static str,
}

impl FieldNames {
    fn of(resource: Resource) -> FieldNames {
        match resource {
            Resource::Cpu => FieldNames {
                spec: "spec.cpu",
                percentile: "spec.cpu.percentile",
                overhead: "spec.cpu.overhead",
                burst_sensitivity: "spec.cpu.burstSensitivity",
                min_allowed: "spec.cpu.minAllowed",
                max_allowed: "spec.cpu.maxAllowed",
            },
            Resource::Memory => FieldNames {
                spec: "spec.memory",
                percentile: "spec.memory.percentile",
                overhead: "spec.memory.overhead",
                burst_sensitivity: "spec.memory.burstSensitivity",
                min_allowed: "spec.memory.minAllowed",
                max_allowed: "spec.memory.maxAllowed",
            },
        }
    }
}

#[cfg(test)]
mod profile_tests {
    use super::*;

    fn spec(profile: Option<&str>, memory: serde_json::Value) -> AttunePolicySpec {
        let mut doc = serde_json::json!({
            "targetRef": {"kind": "Deployment", "name": "web"},
            "metricsSource": {}, "cpu": {}, "memory": memory,
        });
        if let Some(p) = profile {
            doc["runtimeProfile"] = p.into();
        }
        serde_json::from_value(doc).unwrap_or_else(|e| panic!("{e}"))
    }

    /// (profile, spec.memory, memory allowDecrease, memory overhead).
    #[test]
    fn runtime_profiles_set_memory_defaults_table() {
        let none = serde_json::json!({});
        let cases = [
            (None, none.clone(), false, 30.0),
            (
                Some("generic"),
                serde_json::json!({"allowDecrease": true}),
                true,
                30.0,
            ),
            (
                Some("golang"),
                serde_json::json!({"allowDecrease": true}),
                true,
                30.0,
            ),
            (Some("java"), none.clone(), false, 40.0),
            (Some("python"), none.clone(), false, 30.0),
            (Some("nodejs"), none.clone(), false, 30.0),
            // What the policy sets wins over the profile.
            (
                Some("java"),
                serde_json::json!({"overhead": "25"}),
                false,
                25.0,
            ),
            (
                Some("python"),
                serde_json::json!({"allowDecrease": true}),
                true,
                30.0,
            ),
        ];
        for (profile, memory, allow, overhead) in cases {
            let s = Settings::from_spec(&spec(profile, memory.clone()))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.memory.allow_decrease, allow, "{profile:?} {memory}");
            assert_eq!(s.memory.overhead_percent, overhead, "{profile:?} {memory}");
            assert_eq!(
                s.cpu,
                ResourceSettings::cpu_defaults(),
                "cpu is never changed"
            );
        }
    }
}
