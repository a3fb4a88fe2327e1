//! `spec.metricsSource` read into checked settings: where Prometheus is and how to query it.
//! Every field is untrusted; a bad one is an error naming the field, never a guess.

use std::time::Duration;

use http::{HeaderName, HeaderValue};
use url::Url;

use super::promql::valid_metric_name;
use super::{BearerToken, UsageError};
use crate::crd::duration::parse_go_duration;
use crate::crd::{MetricsSource, PodAggregation, PrometheusSource};

/// Parameters the query itself sets; a policy may not override them.
const RESERVED_PARAMETERS: [&str; 6] = ["query", "start", "end", "step", "time", "timeout"];
/// Headers that frame the request or name the host; a policy may not set them.
const RESERVED_HEADERS: [&str; 7] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
];
const HISTORY_WINDOW: (Duration, Duration) = (hours(1), hours(720));
const QUERY_STEP: (Duration, Duration) = (Duration::from_secs(10), hours(1));

const fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

/// Both halves of a policy's metrics settings.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageSettings {
    pub endpoint: Endpoint,
    pub query: QuerySettings,
}

impl UsageSettings {
    /// Reads `spec.metricsSource`. `token` is the value of `prometheus.bearerTokenSecret`,
    /// read by the caller from the policy's namespace (`None` when the spec names no Secret).
    pub fn from_spec(
        source: &MetricsSource,
        token: Option<BearerToken>,
    ) -> Result<UsageSettings, UsageError> {
        let prometheus = source.prometheus.as_ref().ok_or_else(|| {
            UsageError::setting("prometheus", "is required by the built-in recommender")
        })?;
        Ok(UsageSettings {
            endpoint: Endpoint::from_spec(prometheus, token)?,
            query: QuerySettings::from_spec(source)?,
        })
    }
}

/// Where queries go and what each request carries. `Debug` shows the address and the names of
/// headers and parameters, never their values or the token.
#[derive(Clone, PartialEq)]
pub struct Endpoint {
    pub(crate) address: Url,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) query_parameters: Vec<(String, String)>,
    pub(crate) insecure_skip_verify: bool,
    pub(crate) bearer_token: Option<BearerToken>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        let parameter_names: Vec<&str> = self
            .query_parameters
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        f.debug_struct("Endpoint")
            .field("address", &self.address.as_str())
            .field("headers", &header_names)
            .field("query_parameters", &parameter_names)
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("bearer_token", &self.bearer_token)
            .finish()
    }
}

impl Endpoint {
    /// Checks `spec.metricsSource.prometheus`.
    pub fn from_spec(
        spec: &PrometheusSource,
        token: Option<BearerToken>,
    ) -> Result<Endpoint, UsageError> {
        let address = parse_address(spec.address.as_deref())?;
        if let (Some(secret), None) = (&spec.bearer_token_secret, &token) {
            return Err(UsageError::setting(
                "prometheus.bearerTokenSecret",
                format!(
                    "key {:?} of Secret {:?} was not read",
                    secret.key, secret.name
                ),
            ));
        }
        let mut headers = Vec::with_capacity(spec.headers.len());
        for (name, value) in &spec.headers {
            headers.push(parse_header(name, value, token.is_some())?);
        }
        let mut query_parameters = Vec::with_capacity(spec.query_parameters.len());
        for (name, value) in &spec.query_parameters {
            if name.is_empty() || RESERVED_PARAMETERS.contains(&name.as_str()) {
                return Err(UsageError::setting(
                    format!("prometheus.queryParameters.{name}"),
                    format!(
                        "is set by attune itself (reserved: {})",
                        RESERVED_PARAMETERS.join(", ")
                    ),
                ));
            }
            query_parameters.push((name.clone(), value.clone()));
        }
        let insecure_skip_verify = spec
            .tls
            .as_ref()
            .and_then(|tls| tls.insecure_skip_verify)
            .unwrap_or(false);
        Ok(Endpoint {
            address,
            headers,
            query_parameters,
            insecure_skip_verify,
            bearer_token: token,
        })
    }

    /// The configured address as errors and logs show it (it never holds credentials).
    pub fn address(&self) -> &str {
        self.address.as_str().trim_end_matches('/')
    }
}

fn parse_address(address: Option<&str>) -> Result<Url, UsageError> {
    const FIELD: &str = "prometheus.address";
    let text = address.map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return Err(UsageError::setting(
            FIELD,
            "is required (e.g. http://prometheus-server.monitoring:80)",
        ));
    }
    let url = Url::parse(text).map_err(|e| {
        UsageError::setting(
            FIELD,
            format!("is not a url ({e}); e.g. http://prometheus:9090"),
        )
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        // The url is not echoed: its user-info is the part that must not appear anywhere.
        return Err(UsageError::setting(
            FIELD,
            "must not contain credentials; use bearerTokenSecret or headers",
        ));
    }
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(UsageError::setting(
            FIELD,
            format!(
                "{:?} must be an http:// or https:// url with a host",
                shown(text)
            ),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(UsageError::setting(
            FIELD,
            format!(
                "{:?} must not have a query or fragment; put parameters in queryParameters",
                shown(text)
            ),
        ));
    }
    Ok(url)
}

/// The address as an error may show it: whatever precedes an `@` could be a password that
/// did not parse as user-info (`user:pw@host` reads as scheme `user`).
fn shown(text: &str) -> String {
    match text.rfind('@') {
        Some(at) => format!("***{}", &text[at..]),
        None => text.to_owned(),
    }
}

fn parse_header(
    name: &str,
    value: &str,
    has_token: bool,
) -> Result<(HeaderName, HeaderValue), UsageError> {
    let field = format!("prometheus.headers.{name}");
    let header = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| UsageError::setting(&field, "is not a valid http header name"))?;
    if RESERVED_HEADERS.contains(&header.as_str()) {
        return Err(UsageError::setting(
            &field,
            "is set by the http client and cannot be overridden",
        ));
    }
    if has_token && header == http::header::AUTHORIZATION {
        return Err(UsageError::setting(
            &field,
            "conflicts with bearerTokenSecret; set only one of them",
        ));
    }
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        UsageError::setting(
            &field,
            "has a value an http header cannot carry (control characters or non-ASCII)",
        )
    })?;
    // Header values may be credentials (X-Scope-OrgID, an API key): keep them out of logs.
    value.set_sensitive(true);
    Ok((header, value))
}

/// How the history is queried: window, resolution and expression.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySettings {
    /// `historyWindow`: how far back (default 168h).
    pub history_window: Duration,
    /// `queryStep`: the range query's resolution (default 5m).
    pub step: Duration,
    /// `rateWindow` when the policy sets one; otherwise the step in use.
    pub rate_window: Option<Duration>,
    pub pod_aggregation: PodAggregation,
    pub cpu_recording_metric: Option<String>,
    pub memory_recording_metric: Option<String>,
    /// `minimumDataPoints` (default 48): for the caller's "enough data" decision.
    pub minimum_data_points: u32,
}

impl Default for QuerySettings {
    fn default() -> Self {
        QuerySettings {
            history_window: hours(168),
            step: Duration::from_secs(300),
            rate_window: None,
            pod_aggregation: PodAggregation::Max,
            cpu_recording_metric: None,
            memory_recording_metric: None,
            minimum_data_points: 48,
        }
    }
}

impl QuerySettings {
    /// Reads the query half of `spec.metricsSource`, defaults for what is unset.
    pub fn from_spec(source: &MetricsSource) -> Result<QuerySettings, UsageError> {
        let defaults = QuerySettings::default();
        let history_window = duration_in(
            "historyWindow",
            source.history_window.as_deref(),
            defaults.history_window,
            HISTORY_WINDOW,
        )?;
        let step = duration_in(
            "queryStep",
            source.query_step.as_deref(),
            defaults.step,
            QUERY_STEP,
        )?;
        let rate_window = match source.rate_window.as_deref() {
            None => None,
            Some(text) => Some(parse_duration("rateWindow", text)?),
        };
        let minimum_data_points = match source.minimum_data_points {
            None => defaults.minimum_data_points,
            Some(n) if n >= 1 => n.unsigned_abs(),
            Some(n) => {
                return Err(UsageError::setting(
                    "minimumDataPoints",
                    format!("{n} must be at least 1"),
                ));
            }
        };
        Ok(QuerySettings {
            history_window,
            step,
            rate_window,
            pod_aggregation: source.pod_aggregation.unwrap_or_default(),
            cpu_recording_metric: recording_metric(
                "cpuRecordingMetric",
                source.cpu_recording_metric.as_deref(),
            )?,
            memory_recording_metric: recording_metric(
                "memoryRecordingMetric",
                source.memory_recording_metric.as_deref(),
            )?,
            minimum_data_points,
        })
    }
}

fn parse_duration(field: &str, text: &str) -> Result<Duration, UsageError> {
    let value = parse_go_duration(text.trim()).map_err(|reason| {
        UsageError::setting(field, format!("{text:?} is not a duration: {reason}"))
    })?;
    // Prometheus takes milliseconds; a finer part could only make the step grid uneven.
    let millis = u64::try_from(value.as_millis()).unwrap_or(u64::MAX);
    if millis == 0 {
        return Err(UsageError::setting(
            field,
            format!("{text:?} must be longer than zero"),
        ));
    }
    Ok(Duration::from_millis(millis))
}

fn duration_in(
    field: &str,
    text: Option<&str>,
    default: Duration,
    (min, max): (Duration, Duration),
) -> Result<Duration, UsageError> {
    let Some(text) = text else {
        return Ok(default);
    };
    let value = parse_duration(field, text)?;
    if value < min || value > max {
        return Err(UsageError::setting(
            field,
            format!(
                "{text:?} is outside {}..{}",
                super::promql::format_duration(min),
                super::promql::format_duration(max)
            ),
        ));
    }
    Ok(value)
}

fn recording_metric(field: &str, name: Option<&str>) -> Result<Option<String>, UsageError> {
    match name {
        None | Some("") => Ok(None),
        Some(name) if valid_metric_name(name) => Ok(Some(name.to_owned())),
        Some(name) => Err(UsageError::setting(
            field,
            format!(
                "{name:?} is not a metric name (letters, digits, '_' and ':', not starting with a digit; no selectors or functions)"
            ),
        )),
    }
}
