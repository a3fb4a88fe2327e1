//! `spec.updateStrategy`: when and how recommendations reach the pods.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::export::Export;
use super::rules::{
    self, DURATION_MAX_LENGTH, MAX_GUARDRAILS, MAX_WINDOWS, TIME_MAX_LENGTH, cel, cel_text,
    max_items,
};
use super::scalar::{opt_text, text};

/// When and how recommendations are applied.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStrategy {
    /// Observe (collect only), Recommend (write status), OneShot (resize one pod), Canary
    /// (resize a share of pods) or Auto (resize all pods). Default: Recommend.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<UpdateMode>,
    /// Canary settings, used with `type: Canary`. Default: 10% of pods, not auto-promoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<Canary>,
    /// Least time between resizes of one workload, as a duration (at least 1m). Default: 1h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel_text(DURATION_MAX_LENGTH, &[rules::COOLDOWN]))]
    pub cooldown: Option<String>,
    /// Reverts a resize after OOM kills, restarts, readiness loss, throttling or an SLO breach.
    /// Default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_revert: Option<bool>,
    /// InPlaceOnly skips pods that cannot resize in place; InPlaceOrRecreate evicts them.
    /// Default: InPlaceOnly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resize_method: Option<ResizeMethod>,
    /// How long a resized pod is watched before the resize counts as safe, as a duration.
    /// Default: 5m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel_text(DURATION_MAX_LENGTH, &[rules::POSITIVE_DURATION]))]
    pub safety_observation_period: Option<String>,
    /// Sizes new pods at admission from the current recommendation. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_sizing: Option<bool>,
    /// Time windows in which resizes may happen; recommendations are made at any time.
    /// Default: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Pods resized at the same time, at most 50. Default: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel(&[rules::MAX_CONCURRENT_RESIZES]))]
    pub max_concurrent_resizes: Option<i32>,
    /// Workloads listed in `status.recommendations`, at most 500. Default: 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel(&[rules::MAX_STATUS_RECOMMENDATIONS]))]
    pub max_status_recommendations: Option<i32>,
    /// Writes the per-stage explanation of each recommendation into status. Default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_explanations_in_status: Option<bool>,
    /// Total CPU that one cycle may add across all workloads, as a quantity. Default: no limit.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "super::schema::quantity", transform = cel(&[rules::QUANTITY]))]
    pub max_total_cpu_increase: Option<String>,
    /// Total memory that one cycle may add across all workloads, as a quantity.
    /// Default: no limit.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "super::schema::quantity", transform = cel(&[rules::QUANTITY]))]
    pub max_total_memory_increase: Option<String>,
    /// Publishing recommendations outside the cluster status. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<Export>,
    /// Queries that revert a resize when they cross a threshold, at most 10. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = max_items(MAX_GUARDRAILS))]
    pub slo_guardrails: Vec<SloGuardrail>,
    /// Writes applied sizes back into the Deployment or StatefulSet pod template.
    /// Default: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_persistence: Option<TemplatePersistence>,
}

impl UpdateStrategy {
    /// The effective mode: `type`, or `Recommend` when unset.
    pub fn mode(&self) -> UpdateMode {
        self.type_.unwrap_or_default()
    }
}

/// How far a policy goes with its recommendations.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum UpdateMode {
    Observe,
    #[default]
    Recommend,
    OneShot,
    Canary,
    Auto,
}

/// Canary rollout settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Canary {
    /// Share of eligible pods resized first, in percent (at least one pod). Default: 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel(&[rules::CANARY_PERCENTAGE]))]
    pub percentage: Option<i32>,
    /// Time the canary pods are watched before promotion, as a duration. Default: 5m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel_text(DURATION_MAX_LENGTH, &[rules::POSITIVE_DURATION]))]
    pub observation_period: Option<String>,
    /// Resizes the remaining pods after a clean observation period. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_promote: Option<bool>,
}

/// What to do with pods that cannot be resized in place.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ResizeMethod {
    #[default]
    InPlaceOnly,
    InPlaceOrRecreate,
}

/// Time windows that gate resizes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    /// Daily windows in which resizes may start. Default: none (always).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = max_items(MAX_WINDOWS))]
    pub windows: Vec<ScheduleWindow>,
    /// Days on which the windows apply, e.g. Monday. Default: every day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_of_week: Vec<String>,
    /// IANA time zone of the windows; an unknown zone makes the policy InvalidConfig. Default: UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// One daily window, `HH:MM` to `HH:MM`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleWindow {
    /// Start time, `HH:MM`. Required.
    #[schemars(transform = cel_text(TIME_MAX_LENGTH, &[rules::TIME_OF_DAY]))]
    pub start: String,
    /// End time, `HH:MM`. Required.
    #[schemars(transform = cel_text(TIME_MAX_LENGTH, &[rules::TIME_OF_DAY]))]
    pub end: String,
}

/// A query whose breach reverts a resize.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SloGuardrail {
    /// Guardrail name, used in revert reasons as `slo:<name>`. Required.
    pub name: String,
    /// Query, templated with Namespace, WorkloadName and PodName. Required.
    pub query: String,
    /// Value the query result is compared with, as a decimal string. Required.
    #[serde(deserialize_with = "text")]
    pub threshold: String,
    /// Whether a result `above` or `below` the threshold is a breach. Default: above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<SloComparison>,
    /// Range the query is evaluated over, as a duration. Default: 5m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel_text(DURATION_MAX_LENGTH, &[rules::POSITIVE_DURATION]))]
    pub evaluation_window: Option<String>,
}

/// Direction of an SLO breach.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SloComparison {
    #[default]
    Above,
    Below,
}

/// Writing applied sizes into the workload's pod template (Deployment and StatefulSet only).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplatePersistence {
    /// Turns template persistence on. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// When the template is patched. Default: AfterSuccessfulResize.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<PersistWhen>,
}

/// When the pod template is patched.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum PersistWhen {
    #[default]
    AfterSuccessfulResize,
    OnRecommendation,
}
