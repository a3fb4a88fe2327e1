//! Usage history from Prometheus: per workload and resource, one `query_range` whose answer is
//! grouped by the `container` label into [`crate::recommend::Sample`] vectors.
//!
//! - [`UsageSettings::from_spec`] reads and validates `spec.metricsSource` (pure).
//! - [`promql`] builds the Go operator's queries and pod regexes (pure).
//! - [`RangePlan`] places the window on the step grid and keeps it under Prometheus's 11,000
//!   points per series by widening the step (pure).
//! - [`Prometheus`] is the HTTP client (bounded rate, time and answer size); [`fetch_usage`] ties
//!   them together.
//!
//! It must not know the recommender's math (percentiles, confidence: `recommend`), the Kubernetes
//! API (the caller reads the bearer-token Secret and the workload's kind) or a policy's status
//! (the caller maps an [`UsageError`] to `PrometheusUnavailable`).

mod answer;
mod budget;
mod client;
mod error;
mod history;
pub mod promql;
mod range;
mod secret;
mod settings;

#[cfg(test)]
mod tests;

pub use answer::Series;
pub use budget::{QueryBudget, QueryLimits};
pub use client::Prometheus;
pub use error::UsageError;
pub use history::{Usage, UsageRequest, fetch_usage};
pub use promql::{Resource, Workload};
pub use range::{MAX_POINTS_PER_SERIES, RangePlan, Resolution};
pub use secret::BearerToken;
pub use settings::{Endpoint, QuerySettings, UsageSettings};
