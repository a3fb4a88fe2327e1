//! The hourly usage profile our recommender stores under
//! `status.recommendations[].containers[].explanation.{cpu,memory}.hourlyProfile`, read back
//! for the charts of a pull request and the sparkline of `kubectl attune explain`.
//!
//! The status comes from a cluster (and may have been written by the Go operator, which has no
//! profile, or edited by hand): anything but 24 readable, non-negative quantities and a known
//! percentile reads as no profile rather than as a wrong chart.

use serde_json::Value;

use crate::quantity;

/// Hours in a profile, index 0 = 00:00–00:59 UTC.
pub const HOURS: usize = 24;

/// The resource a profile measures; values are millicores for CPU and bytes for memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageResource {
    Cpu,
    Memory,
}

impl UsageResource {
    /// The key under `explanation`: `cpu` or `memory`.
    pub fn key(self) -> &'static str {
        match self {
            UsageResource::Cpu => "cpu",
            UsageResource::Memory => "memory",
        }
    }

    /// A quantity in this resource's unit (millicores or bytes), rounded up.
    pub fn amount(self, text: &str) -> Option<i128> {
        let q = quantity::parse(text).ok()?;
        let value = match self {
            UsageResource::Cpu => q.millis_ceil()?,
            UsageResource::Memory => q.units_ceil()?,
        };
        (value >= 0).then_some(value)
    }
}

/// One resource's profile of one container.
#[derive(Debug, Clone, PartialEq)]
pub struct HourlyUsage {
    pub resource: UsageResource,
    /// `p50`, `p90`, `p95` or `p99`.
    pub percentile: &'static str,
    /// [`HOURS`] values in the resource's unit.
    pub values: Vec<i128>,
}

impl HourlyUsage {
    /// Reads `explanation[resource].hourlyProfile`; `None` when absent or not well formed.
    pub fn read(explanation: Option<&Value>, resource: UsageResource) -> Option<HourlyUsage> {
        let profile = explanation?.get(resource.key())?.get("hourlyProfile")?;
        let percentile = ["p50", "p90", "p95", "p99"]
            .into_iter()
            .find(|p| profile.get("percentile").and_then(Value::as_str) == Some(*p))?;
        let raw = profile.get("values")?.as_array()?;
        if raw.len() != HOURS {
            return None;
        }
        let values = raw
            .iter()
            .map(|v| resource.amount(v.as_str()?))
            .collect::<Option<Vec<i128>>>()?;
        Some(HourlyUsage {
            resource,
            percentile,
            values,
        })
    }

    /// The busiest hour (the first of equals) and its value.
    pub fn peak(&self) -> (usize, i128) {
        self.values
            .iter()
            .copied()
            .enumerate()
            .fold(
                (0, 0),
                |best, (hour, v)| if v > best.1 { (hour, v) } else { best },
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn explanation(values: Value) -> Value {
        json!({"cpu": {"hourlyProfile": {"percentile": "p95", "values": values}}})
    }

    #[test]
    fn a_well_formed_profile_reads_with_its_peak() {
        let mut values = vec![json!("200m"); 24];
        values[14] = json!("1");
        values[20] = json!("1000m");
        let e = explanation(Value::Array(values));
        let usage = HourlyUsage::read(Some(&e), UsageResource::Cpu).unwrap();
        assert_eq!(usage.percentile, "p95");
        assert_eq!(usage.values[0], 200);
        assert_eq!(usage.peak(), (14, 1000));
        assert_eq!(HourlyUsage::read(Some(&e), UsageResource::Memory), None);
    }

    #[test]
    fn anything_odd_reads_as_no_profile() {
        let bad = [
            explanation(Value::Array(vec![json!("200m"); 23])),
            explanation(Value::Array(vec![json!("-1"); 24])),
            explanation(Value::Array(vec![json!(5); 24])),
            explanation(Value::Array(vec![json!("lots"); 24])),
            json!({"cpu": {"hourlyProfile": {"percentile": "p95\"]", "values": vec!["1"; 24]}}}),
            json!({"cpu": {"rawPercentile": "1"}}),
        ];
        for e in bad {
            assert_eq!(HourlyUsage::read(Some(&e), UsageResource::Cpu), None, "{e}");
        }
        assert_eq!(HourlyUsage::read(None, UsageResource::Cpu), None);
    }
}
