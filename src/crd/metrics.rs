//! `spec.metricsSource`: where usage history comes from and how it is queried.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::rules::{self, DURATION_MAX_LENGTH, URL_MAX_LENGTH, cel, cel_text};
use super::spec::SecretKeyRef;

/// Usage-history backend and query shape. Set exactly one of `prometheus`, `datadog`,
/// `cloudwatch` or `vpa`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = cel(&[rules::ONE_BACKEND]))]
pub struct MetricsSource {
    /// Prometheus-compatible query API. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusSource>,
    /// Datadog metrics API. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datadog: Option<DatadogSource>,
    /// Amazon CloudWatch Container Insights. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudwatch: Option<CloudWatchSource>,
    /// Use a VerticalPodAutoscaler's target as input. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpa: Option<VpaSource>,
    /// How far back usage is read, as a duration (1h-720h). Default: 168h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel_text(DURATION_MAX_LENGTH, &[rules::HISTORY_WINDOW]))]
    pub history_window: Option<String>,
    /// Samples each resource needs before a recommendation is made. Default: 48.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel(&[rules::MINIMUM_DATA_POINTS]))]
    pub minimum_data_points: Option<i32>,
    /// Resolution of range queries, as a duration (10s-1h). Default: 5m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel_text(DURATION_MAX_LENGTH, &[rules::QUERY_STEP]))]
    pub query_step: Option<String>,
    /// Window of the CPU rate() function, as a duration (at least 30s). Default: the query step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel_text(DURATION_MAX_LENGTH, &[rules::RATE_WINDOW]))]
    pub rate_window: Option<String>,
    /// How samples of the pods of one workload are combined. Default: Max.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_aggregation: Option<PodAggregation>,
    /// Recording rule to read CPU usage from instead of the raw cAdvisor series. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_recording_metric: Option<String>,
    /// Recording rule to read memory usage from instead of the raw cAdvisor series.
    /// Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_recording_metric: Option<String>,
}

/// How per-pod samples are combined into one series per container.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum PodAggregation {
    #[default]
    Max,
    Avg,
    None,
}

/// A Prometheus-compatible query endpoint.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrometheusSource {
    /// Base URL, e.g. `http://prometheus-server.monitoring:80`. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = cel_text(URL_MAX_LENGTH, &[rules::HTTP_URL]))]
    pub address: Option<String>,
    /// Extra HTTP headers sent with every query. Default: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Extra URL query parameters; query, start, end, step, time and timeout are reserved.
    /// Default: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query_parameters: BTreeMap<String, String>,
    /// Secret key holding a bearer token for the endpoint. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_secret: Option<SecretKeyRef>,
    /// TLS settings. Default: verify certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<PrometheusTls>,
}

/// TLS settings for the Prometheus endpoint.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrometheusTls {
    /// Skips certificate verification; for testing only. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
}

/// The Datadog metrics API.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatadogSource {
    /// Datadog site, e.g. `datadoghq.eu`. Default: datadoghq.com.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Secret key holding the API key. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret_ref: Option<SecretKeyRef>,
}

/// Amazon CloudWatch Container Insights.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudWatchSource {
    /// AWS region. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// EKS cluster name as Container Insights reports it. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    /// IAM role to assume for the queries. Default: the operator's own identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

/// A VerticalPodAutoscaler whose target is used as input.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpaSource {
    /// VPA object name. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// VPA namespace. Default: the policy's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}
