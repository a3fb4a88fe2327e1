//! What can go wrong reading usage history. Messages name the setting or the address and what
//! Prometheus said; they never carry the bearer token, header values or query-parameter values.

use std::time::Duration;

/// A bad `spec.metricsSource` setting, or Prometheus not answering usefully.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UsageError {
    /// A setting of the policy is missing or invalid; nothing was queried.
    #[error("spec.metricsSource.{field}: {reason}")]
    Setting { field: String, reason: String },
    /// The process-wide query limits (controller flags) are unusable.
    #[error("query limits: {0}")]
    Limits(String),
    /// The HTTP client could not be built from the settings.
    #[error("prometheus at {address}: cannot build an http client: {reason}")]
    Client { address: String, reason: String },
    /// No answer: connection refused, DNS, TLS, reset.
    #[error("prometheus at {address} could not be reached: {reason}")]
    Unreachable { address: String, reason: String },
    /// The per-query time limit ran out.
    #[error("prometheus at {address} did not answer within {}s", limit.as_secs_f64())]
    Timeout { address: String, limit: Duration },
    /// Prometheus (or a proxy in front of it) answered with an error.
    #[error("prometheus at {address} answered {status}: {message}")]
    Answered {
        address: String,
        status: u16,
        message: String,
    },
    /// A redirect to another origin: following it would send the token elsewhere.
    #[error(
        "prometheus at {address} redirected to another host ({location}); redirects away from the configured address are not followed: set address to the final url"
    )]
    Redirected { address: String, location: String },
    /// The answer was larger than the configured cap.
    #[error(
        "prometheus at {address} answered more than {limit} bytes; narrow the query (podAggregation Max, a longer queryStep) or raise the limit"
    )]
    TooLarge { address: String, limit: usize },
    /// The answer was not a Prometheus range-query result.
    #[error("prometheus at {address} answered 200 with an unusable body: {detail}")]
    Malformed { address: String, detail: String },
}

impl UsageError {
    /// True when the policy itself is at fault (fix the spec); false when Prometheus is
    /// unreachable or answered badly (the caller reports `PrometheusUnavailable`).
    pub fn is_setting(&self) -> bool {
        matches!(self, UsageError::Setting { .. })
    }

    pub(crate) fn setting(field: impl Into<String>, reason: impl Into<String>) -> UsageError {
        UsageError::Setting {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
