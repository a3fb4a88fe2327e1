//! `GET /api/v1/query_range` over reqwest, within the query budget: rate-limited, one time limit
//! from connect to last byte, the answer read up to a size cap. The bearer token and the headers
//! only go to the configured origin: redirects elsewhere are not followed, and nothing the
//! server sends back is shown without redacting them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use reqwest::redirect;
use url::Url;

use super::answer::{self, Parsed, Series};
use super::{Endpoint, QueryBudget, RangePlan, UsageError};

/// Redirects followed within the configured origin before giving up.
const MAX_REDIRECTS: usize = 5;
/// How much of an error answer is read to find its message.
const ERROR_BODY_BYTES: usize = 64 << 10;

/// A client for one policy's Prometheus. Cheap to keep per endpoint; share the budget.
pub struct Prometheus {
    http: reqwest::Client,
    endpoint: Endpoint,
    query_url: Url,
    budget: Arc<QueryBudget>,
}

impl std::fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prometheus")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Prometheus {
    pub fn new(endpoint: Endpoint, budget: Arc<QueryBudget>) -> Result<Prometheus, UsageError> {
        let origin = endpoint.address.origin();
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if attempt.url().origin() == origin {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let limits = budget.limits();
        let http = reqwest::Client::builder()
            .user_agent(concat!("attune/", env!("CARGO_PKG_VERSION")))
            .redirect(policy)
            .timeout(limits.timeout)
            .connect_timeout(limits.timeout.min(Duration::from_secs(10)))
            .tls_danger_accept_invalid_certs(endpoint.insecure_skip_verify)
            .build()
            .map_err(|e| UsageError::Client {
                address: endpoint.address().to_owned(),
                reason: crate::error_chain(&e.without_url()),
            })?;
        let mut query_url = endpoint.address.clone();
        let path = format!(
            "{}/api/v1/query_range",
            query_url.path().trim_end_matches('/')
        );
        query_url.set_path(&path);
        Ok(Prometheus {
            http,
            endpoint,
            query_url,
            budget,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// One range query over the plan's instants; every series of the matrix answer, as sent
    /// (not grouped). [`super::fetch_usage`] is the usual entry point.
    pub async fn query_range(
        &self,
        query: &str,
        plan: &RangePlan,
    ) -> Result<Vec<Series>, UsageError> {
        self.budget.acquire().await;
        let started = Instant::now();
        let result = self.send(query, plan).await;
        tracing::debug!(
            address = self.endpoint.address(),
            query,
            elapsed_ms = started.elapsed().as_millis() as u64,
            ok = result.is_ok(),
            "prometheus query_range"
        );
        result
    }

    /// The value of `query` at `at_ms`: a range query whose start and end are that instant,
    /// so it goes through the same budget, headers, token, TLS settings and answer checks.
    pub async fn query_at(&self, query: &str, at_ms: i64) -> Result<Vec<Series>, UsageError> {
        let instant = RangePlan {
            start_ms: at_ms,
            end_ms: at_ms,
            step: Duration::from_secs(60),
            rate_window: Duration::from_secs(60),
            resolution: super::Resolution::AsConfigured,
        };
        self.query_range(query, &instant).await
    }

    async fn send(&self, query: &str, plan: &RangePlan) -> Result<Vec<Series>, UsageError> {
        let mut request = self.http.get(self.url(query, plan));
        for (name, value) in &self.endpoint.headers {
            request = request.header(name, value);
        }
        if let Some(value) = self
            .endpoint
            .bearer_token
            .as_ref()
            .and_then(|t| t.header_value())
        {
            request = request.header(http::header::AUTHORIZATION, value);
        }
        let mut response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(UsageError::Redirected {
                address: self.address(),
                location: location_origin(&response),
            });
        }
        if !status.is_success() {
            let body = self.read(&mut response, ERROR_BODY_BYTES, false).await?;
            let message = answer::error_message(&body)
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("no message").to_owned());
            return Err(self.answered(status, &message));
        }
        let limit = self.budget.limits().max_answer_bytes;
        let body = self.read(&mut response, limit, true).await?;
        match answer::parse_success(&body) {
            Ok(Parsed::Matrix(series)) => Ok(series),
            Ok(Parsed::Error(message)) => Err(self.answered(status, &message)),
            Err(detail) => Err(UsageError::Malformed {
                address: self.address(),
                detail: self.redact(&detail),
            }),
        }
    }

    fn url(&self, query: &str, plan: &RangePlan) -> Url {
        let mut url = self.query_url.clone();
        {
            let mut pairs = url.query_pairs_mut();
            pairs
                .append_pair("query", query)
                .append_pair("start", &unix_seconds(plan.start_ms))
                .append_pair("end", &unix_seconds(plan.end_ms))
                .append_pair("step", &seconds(plan.step))
                .append_pair("timeout", &seconds(self.budget.limits().timeout));
            for (name, value) in &self.endpoint.query_parameters {
                pairs.append_pair(name, value);
            }
        }
        url
    }

    /// Reads the body up to `limit` bytes; past it, an error (`strict`) or the part read.
    async fn read(
        &self,
        response: &mut reqwest::Response,
        limit: usize,
        strict: bool,
    ) -> Result<Vec<u8>, UsageError> {
        let too_large = || UsageError::TooLarge {
            address: self.address(),
            limit,
        };
        if strict && response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
            if body.len() + chunk.len() > limit {
                if strict {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk[..limit - body.len()]);
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn transport(&self, error: reqwest::Error) -> UsageError {
        if error.is_timeout() {
            return UsageError::Timeout {
                address: self.address(),
                limit: self.budget.limits().timeout,
            };
        }
        UsageError::Unreachable {
            address: self.address(),
            reason: self.redact(&crate::error_chain(&error.without_url())),
        }
    }

    fn answered(&self, status: StatusCode, message: &str) -> UsageError {
        UsageError::Answered {
            address: self.address(),
            status: status.as_u16(),
            message: self.redact(message),
        }
    }

    fn address(&self) -> String {
        self.endpoint.address().to_owned()
    }

    /// Replaces the token, header values and query-parameter values with `***` in text that
    /// came from the server (a proxy may echo the request).
    fn redact(&self, text: &str) -> String {
        let token = self.endpoint.bearer_token.as_ref().map(|t| t.expose());
        let headers = self
            .endpoint
            .headers
            .iter()
            .filter_map(|(_, v)| v.to_str().ok());
        let parameters = self
            .endpoint
            .query_parameters
            .iter()
            .map(|(_, v)| v.as_str());
        let mut out = text.to_owned();
        // Short values (`1`, `on`) would blank out unrelated words and are unlikely secrets.
        for secret in token.into_iter().chain(headers).chain(parameters) {
            if secret.len() >= 4 {
                out = out.replace(secret, "***");
            }
        }
        out
    }
}

/// Where a refused redirect pointed, as scheme://host:port only (its path and query may carry
/// anything).
fn location_origin(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| response.url().join(v).ok())
        .map_or_else(
            || "no location".to_owned(),
            |url| url.origin().ascii_serialization(),
        )
}

/// Milliseconds since the epoch as Prometheus's seconds (`1767571200`, `1767571200.5`).
fn unix_seconds(ms: i64) -> String {
    let (whole, fraction) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    if fraction == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{fraction:03}")
    }
}

/// A duration as seconds (`300`, `10.5`).
fn seconds(duration: Duration) -> String {
    unix_seconds(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_prometheus_seconds() {
        assert_eq!(unix_seconds(1_767_571_200_000), "1767571200");
        assert_eq!(unix_seconds(1_767_571_200_500), "1767571200.500");
        assert_eq!(unix_seconds(1_767_571_200_007), "1767571200.007");
        assert_eq!(seconds(Duration::from_secs(300)), "300");
        assert_eq!(seconds(Duration::from_millis(10_500)), "10.500");
    }
}
