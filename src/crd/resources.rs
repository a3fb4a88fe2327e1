//! `spec.cpu` and `spec.memory`: how one resource's recommendation is computed and bounded.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::rules::{self, DURATION_MAX_LENGTH, PERCENT_TEXT_MAX_LENGTH, cel, cel_text};
use super::scalar::opt_text;

/// Recommendation settings for one resource. The same shape serves CPU and memory; defaults
/// differ per resource and are listed as "CPU / memory".
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourcePolicy {
    /// Usage percentile to size for: 50, 90, 95 or 99. Default: 95 / 99.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel(&[rules::PERCENTILE]))]
    pub percentile: Option<i32>,
    /// Headroom added on top of the percentile, in percent, written as a string (e.g. "20").
    /// Default: "20" / "30".
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(transform = cel_text(PERCENT_TEXT_MAX_LENGTH, &[rules::OVERHEAD]))]
    pub overhead: Option<String>,
    /// Lowest value ever recommended, as a quantity. Default: 1m / 4Mi.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "super::schema::quantity", transform = cel(&[rules::QUANTITY]))]
    pub min_allowed: Option<String>,
    /// Highest value ever recommended, as a quantity. Default: 4000m / 8Gi.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "super::schema::quantity", transform = cel(&[rules::QUANTITY]))]
    pub max_allowed: Option<String>,
    /// Whether limits are changed along with requests. Default: RequestsOnly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controlled_values: Option<ControlledValues>,
    /// Whether recommendations may go below the current request. Default: true / false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_decrease: Option<bool>,
    /// How strongly bursts (max above 3x p95) raise the recommendation, 0-1. Default: 0.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel(&[rules::BURST_SENSITIVITY]))]
    pub burst_sensitivity: Option<f64>,
    /// Largest change per cycle in either direction, in percent. Default: 50 / 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel(&[rules::CHANGE_PERCENT]))]
    pub max_change_percent: Option<i32>,
    /// Largest increase per cycle, in percent; overrides `maxChangePercent` upwards.
    /// Default: `maxChangePercent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel(&[rules::INCREASE_PERCENT]))]
    pub max_increase_percent: Option<i32>,
    /// Largest decrease per cycle, in percent; overrides `maxChangePercent` downwards.
    /// Default: `maxChangePercent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel(&[rules::CHANGE_PERCENT]))]
    pub max_decrease_percent: Option<i32>,
    /// Memory only: derive memory from the final CPU recommendation by this ratio instead of
    /// from memory usage. Default: unset (memory follows its own usage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel(&[rules::MEMORY_FROM_CPU_RATIO]))]
    pub memory_from_cpu_ratio: Option<f64>,
    /// Memory only: margin kept above recent usage when decreasing, in percent. Default: 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel(&[rules::MARGIN_PERCENT]))]
    pub decrease_usage_margin_percent: Option<i32>,
    /// CPU only: temporary extra CPU while a container starts. Default: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_boost: Option<StartupBoost>,
}

impl ResourcePolicy {
    /// True only when limits are managed too (`controlledValues: RequestsAndLimits`); unset
    /// means RequestsOnly.
    pub fn controls_limits(&self) -> bool {
        self.controlled_values == Some(ControlledValues::RequestsAndLimits)
    }
}

/// Which values of a container's resources are managed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ControlledValues {
    #[default]
    RequestsOnly,
    RequestsAndLimits,
}

/// Extra CPU while a container starts, removed once it is Ready or after `duration`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartupBoost {
    /// Factor applied to the CPU request, 1-10, capped at `maxAllowed`. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel(&[rules::BOOST_MULTIPLIER]))]
    pub multiplier: Option<f64>,
    /// Longest boost, as a duration (10s-1h). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel_text(DURATION_MAX_LENGTH, &[rules::BOOST_DURATION]))]
    pub duration: Option<String>,
}
