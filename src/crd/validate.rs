//! The CRD's validation rules ([`super::rules`]) checked in Rust, so the controller refuses
//! a policy that `kubectl apply` would have refused, in the same words, whichever way it got
//! in (a CRD installed before the rules existed, a policy file read by the CLI).
//!
//! Each check mirrors one CEL rule: the same message, the same field path, the value shown as
//! the API server shows it. Like the API server, a value that is absent (or null) is not
//! checked, and a rule comparing two fields says nothing while one of them is itself invalid.

use std::fmt;
use std::time::Duration;

use super::export::PullRequestExport;
use super::metrics::MetricsSource;
use super::resources::ResourcePolicy;
use super::rules::{self, Rule};
use super::spec::AttunePolicySpec;
use super::strategy::UpdateStrategy;
use crate::quantity;

/// One rule a policy breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field, as the API server writes it: `spec.cpu.percentile`, `…windows[0].start`.
    pub path: String,
    pub kind: ViolationKind,
}

/// What is wrong with the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViolationKind {
    /// A CEL rule is false. `value` is the offending scalar as the API server prints it; an
    /// object's rule shows none.
    Invalid {
        value: Option<String>,
        message: &'static str,
    },
    /// The text is longer than the schema's `maxLength`.
    TooLong { max: u32 },
    /// The list is longer than the schema's `maxItems`.
    TooMany { count: usize, max: u32 },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.path;
        match &self.kind {
            ViolationKind::Invalid {
                value: Some(value),
                message,
            } => write!(f, "{path}: Invalid value: {value}: {message}"),
            ViolationKind::Invalid {
                value: None,
                message,
            } => write!(f, "{path}: Invalid value: {message}"),
            ViolationKind::TooLong { max } => {
                write!(f, "{path}: Too long: may not be more than {max} bytes")
            }
            ViolationKind::TooMany { count, max } => {
                write!(
                    f,
                    "{path}: Too many: {count}: must have at most {max} items"
                )
            }
        }
    }
}

/// The policy breaks the CRD's rules; every violation is listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct InvalidPolicy(pub Vec<Violation>);

/// Checks `spec` against every rule of the CRD.
///
/// ```
/// let spec: attune::crd::AttunePolicySpec = serde_json::from_value(serde_json::json!({
///     "targetRef": {"kind": "Deployment", "name": "api"},
///     "metricsSource": {}, "cpu": {"percentile": 42}, "memory": {},
/// }))?;
/// let err = attune::crd::validate(&spec).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "spec.cpu.percentile: Invalid value: 42: must be one of 50, 90, 95 or 99"
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn validate(spec: &AttunePolicySpec) -> Result<(), InvalidPolicy> {
    let mut c = Checker::default();
    let target = &spec.target_ref;
    c.object(
        "spec.targetRef",
        &rules::TARGET_REF,
        target.name.is_some() != target.selector.is_some(),
    );
    metrics_source(&mut c, &spec.metrics_source);
    resource(&mut c, "spec.cpu", &spec.cpu);
    resource(&mut c, "spec.memory", &spec.memory);
    c.object(
        "spec.cpu",
        &rules::CPU_BOUNDS,
        bounds_hold(&spec.cpu, rules::CPU_DEFAULT_MIN, rules::CPU_DEFAULT_MAX),
    );
    c.object(
        "spec.memory",
        &rules::MEMORY_BOUNDS,
        bounds_hold(
            &spec.memory,
            rules::MEMORY_DEFAULT_MIN,
            rules::MEMORY_DEFAULT_MAX,
        ),
    );
    c.int("spec.weight", spec.weight, &rules::WEIGHT, |w| {
        (1..=1000).contains(&w)
    });
    if let Some(strategy) = &spec.update_strategy {
        update_strategy(&mut c, strategy);
    }
    if c.out.is_empty() {
        Ok(())
    } else {
        Err(InvalidPolicy(c.out))
    }
}

fn metrics_source(c: &mut Checker, m: &MetricsSource) {
    let backends = [
        m.prometheus.is_some(),
        m.datadog.is_some(),
        m.cloudwatch.is_some(),
        m.vpa.is_some(),
    ];
    c.object(
        "spec.metricsSource",
        &rules::ONE_BACKEND,
        backends.iter().filter(|b| **b).count() <= 1,
    );
    let address = m.prometheus.as_ref().and_then(|p| p.address.as_deref());
    c.url("spec.metricsSource.prometheus.address", address);
    let p = "spec.metricsSource";
    c.duration(
        &format!("{p}.historyWindow"),
        m.history_window.as_deref(),
        &rules::HISTORY_WINDOW,
        |d| (hours(1)..=hours(720)).contains(&d),
    );
    c.int(
        &format!("{p}.minimumDataPoints"),
        m.minimum_data_points,
        &rules::MINIMUM_DATA_POINTS,
        |n| n >= 1,
    );
    c.duration(
        &format!("{p}.queryStep"),
        m.query_step.as_deref(),
        &rules::QUERY_STEP,
        |d| (secs(10)..=hours(1)).contains(&d),
    );
    c.duration(
        &format!("{p}.rateWindow"),
        m.rate_window.as_deref(),
        &rules::RATE_WINDOW,
        |d| d >= secs(30),
    );
}

fn resource(c: &mut Checker, p: &str, r: &ResourcePolicy) {
    c.int(
        &format!("{p}.percentile"),
        r.percentile,
        &rules::PERCENTILE,
        |v| [50, 90, 95, 99].contains(&v),
    );
    c.text(
        &format!("{p}.overhead"),
        r.overhead.as_deref(),
        rules::PERCENT_TEXT_MAX_LENGTH,
        &rules::OVERHEAD,
        overhead_ok,
    );
    c.quantity(&format!("{p}.minAllowed"), r.min_allowed.as_deref());
    c.quantity(&format!("{p}.maxAllowed"), r.max_allowed.as_deref());
    c.float(
        &format!("{p}.burstSensitivity"),
        r.burst_sensitivity,
        &rules::BURST_SENSITIVITY,
        |v| (0.0..=1.0).contains(&v),
    );
    let percents = [
        (
            "maxChangePercent",
            r.max_change_percent,
            rules::CHANGE_PERCENT,
            100,
        ),
        (
            "maxIncreasePercent",
            r.max_increase_percent,
            rules::INCREASE_PERCENT,
            1000,
        ),
        (
            "maxDecreasePercent",
            r.max_decrease_percent,
            rules::CHANGE_PERCENT,
            100,
        ),
    ];
    for (field, value, rule, max) in percents {
        c.int(&format!("{p}.{field}"), value, &rule, |v| {
            (1..=max).contains(&v)
        });
    }
    c.float(
        &format!("{p}.memoryFromCpuRatio"),
        r.memory_from_cpu_ratio,
        &rules::MEMORY_FROM_CPU_RATIO,
        |v| v > 0.0,
    );
    c.int(
        &format!("{p}.decreaseUsageMarginPercent"),
        r.decrease_usage_margin_percent,
        &rules::MARGIN_PERCENT,
        |v| (0..=100).contains(&v),
    );
    if let Some(boost) = &r.startup_boost {
        c.float(
            &format!("{p}.startupBoost.multiplier"),
            boost.multiplier,
            &rules::BOOST_MULTIPLIER,
            |v| (1.0..=10.0).contains(&v),
        );
        c.duration(
            &format!("{p}.startupBoost.duration"),
            boost.duration.as_deref(),
            &rules::BOOST_DURATION,
            |d| (secs(10)..=hours(1)).contains(&d),
        );
    }
}

fn update_strategy(c: &mut Checker, s: &UpdateStrategy) {
    let p = "spec.updateStrategy";
    let positive = |d: Duration| d > Duration::ZERO;
    if let Some(canary) = &s.canary {
        c.int(
            &format!("{p}.canary.percentage"),
            canary.percentage,
            &rules::CANARY_PERCENTAGE,
            |v| (1..=100).contains(&v),
        );
        c.duration(
            &format!("{p}.canary.observationPeriod"),
            canary.observation_period.as_deref(),
            &rules::POSITIVE_DURATION,
            positive,
        );
    }
    c.duration(
        &format!("{p}.cooldown"),
        s.cooldown.as_deref(),
        &rules::COOLDOWN,
        |d| d >= secs(60),
    );
    c.duration(
        &format!("{p}.safetyObservationPeriod"),
        s.safety_observation_period.as_deref(),
        &rules::POSITIVE_DURATION,
        positive,
    );
    if let Some(schedule) = &s.schedule {
        let w = format!("{p}.schedule.windows");
        c.max_items(&w, schedule.windows.len(), rules::MAX_WINDOWS);
        for (i, window) in schedule.windows.iter().enumerate() {
            for (field, value) in [("start", &window.start), ("end", &window.end)] {
                c.text(
                    &format!("{w}[{i}].{field}"),
                    Some(value),
                    rules::TIME_MAX_LENGTH,
                    &rules::TIME_OF_DAY,
                    time_of_day_ok,
                );
            }
        }
    }
    c.int(
        &format!("{p}.maxConcurrentResizes"),
        s.max_concurrent_resizes,
        &rules::MAX_CONCURRENT_RESIZES,
        |v| (1..=50).contains(&v),
    );
    c.int(
        &format!("{p}.maxStatusRecommendations"),
        s.max_status_recommendations,
        &rules::MAX_STATUS_RECOMMENDATIONS,
        |v| (1..=500).contains(&v),
    );
    let cpu_budget = s.max_total_cpu_increase.as_deref();
    c.quantity(&format!("{p}.maxTotalCpuIncrease"), cpu_budget);
    let memory_budget = s.max_total_memory_increase.as_deref();
    c.quantity(&format!("{p}.maxTotalMemoryIncrease"), memory_budget);
    if let Some(pr) = s.export.as_ref().and_then(|e| e.pull_request.as_ref()) {
        pull_request(c, pr);
    }
    let g = format!("{p}.sloGuardrails");
    c.max_items(&g, s.slo_guardrails.len(), rules::MAX_GUARDRAILS);
    for (i, guardrail) in s.slo_guardrails.iter().enumerate() {
        c.duration(
            &format!("{g}[{i}].evaluationWindow"),
            guardrail.evaluation_window.as_deref(),
            &rules::POSITIVE_DURATION,
            positive,
        );
    }
}

fn pull_request(c: &mut Checker, pr: &PullRequestExport) {
    let p = "spec.updateStrategy.export.pullRequest";
    c.url(&format!("{p}.apiUrl"), pr.api_url.as_deref());
    c.duration(
        &format!("{p}.cooldown"),
        pr.cooldown.as_deref(),
        &rules::ANY_DURATION,
        |_| true,
    );
    c.int(
        &format!("{p}.minChangePercent"),
        pr.min_change_percent,
        &rules::MIN_CHANGE_PERCENT,
        |v| (0..=100).contains(&v),
    );
}

/// Collects violations; each method checks one field when it is set.
#[derive(Default)]
struct Checker {
    out: Vec<Violation>,
}

impl Checker {
    fn invalid(&mut self, path: &str, value: Option<String>, rule: &Rule) {
        self.out.push(Violation {
            path: path.to_owned(),
            kind: ViolationKind::Invalid {
                value,
                message: rule.message,
            },
        });
    }

    fn object(&mut self, path: &str, rule: &Rule, holds: bool) {
        if !holds {
            self.invalid(path, None, rule);
        }
    }

    fn int(&mut self, path: &str, value: Option<i32>, rule: &Rule, ok: impl Fn(i32) -> bool) {
        if let Some(v) = value.filter(|v| !ok(*v)) {
            self.invalid(path, Some(v.to_string()), rule);
        }
    }

    fn float(&mut self, path: &str, value: Option<f64>, rule: &Rule, ok: impl Fn(f64) -> bool) {
        if let Some(v) = value.filter(|v| !ok(*v)) {
            self.invalid(path, Some(v.to_string()), rule);
        }
    }

    /// A string rule behind a `maxLength`: too long is reported instead of the rule.
    fn text(
        &mut self,
        path: &str,
        value: Option<&str>,
        max: u32,
        rule: &Rule,
        ok: impl Fn(&str) -> bool,
    ) {
        let Some(v) = value else { return };
        if v.chars().count() > max as usize {
            self.out.push(Violation {
                path: path.to_owned(),
                kind: ViolationKind::TooLong { max },
            });
        } else if !ok(v) {
            self.invalid(path, Some(quoted(v)), rule);
        }
    }

    fn duration(
        &mut self,
        path: &str,
        value: Option<&str>,
        rule: &Rule,
        ok: impl Fn(Duration) -> bool,
    ) {
        let max = rules::DURATION_MAX_LENGTH;
        self.text(path, value, max, rule, |v| go_duration(v).is_some_and(&ok));
    }

    /// A URL rule. Unlike the API server, which echoes the request back to its sender, this
    /// message lands in the policy status, so `user:password@` is shown masked.
    fn url(&mut self, path: &str, value: Option<&str>) {
        let max = rules::URL_MAX_LENGTH;
        let before = self.out.len();
        self.text(path, value, max, &rules::HTTP_URL, http_url_ok);
        if let (Some(v), Some(violation)) = (value, self.out.get_mut(before))
            && let ViolationKind::Invalid { value: shown, .. } = &mut violation.kind
        {
            *shown = Some(quoted(&mask_credentials(v)));
        }
    }

    fn quantity(&mut self, path: &str, value: Option<&str>) {
        if let Some(v) = value.filter(|v| !quantity_ok(v)) {
            self.invalid(path, Some(quoted(v)), &rules::QUANTITY);
        }
    }

    fn max_items(&mut self, path: &str, count: usize, max: u32) {
        if count > max as usize {
            self.out.push(Violation {
                path: path.to_owned(),
                kind: ViolationKind::TooMany { count, max },
            });
        }
    }
}

/// A string as the API server quotes it in an error (Go's `%q`, which JSON matches for
/// printable text).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

const DURATION_UNITS: [&str; 8] = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"];

/// The value of `text` when it matches the rules' duration pattern: Go syntax without a
/// sign, at most six digits before each unit (or a bare `0`).
pub(crate) fn go_duration(text: &str) -> Option<Duration> {
    if text.is_empty() {
        return None;
    }
    if text != "0" {
        let mut rest = text;
        while !rest.is_empty() {
            let whole = rest.bytes().take_while(u8::is_ascii_digit).count();
            rest = &rest[whole..];
            let mut fraction = None;
            if let Some(tail) = rest.strip_prefix('.') {
                let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
                fraction = Some(digits);
                rest = &tail[digits..];
            }
            let number_ok = match fraction {
                None => (1..=6).contains(&whole),
                Some(digits) => (1..=6).contains(&whole) || (whole == 0 && digits > 0),
            };
            // "ms" before "m": the longest unit that starts the rest.
            let unit = DURATION_UNITS
                .iter()
                .filter(|u| rest.starts_with(**u))
                .max_by_key(|u| u.len())?;
            if !number_ok {
                return None;
            }
            rest = &rest[unit.len()..];
        }
    }
    crate::crd::duration::parse_go_duration(text).ok()
}

fn http_url_ok(text: &str) -> bool {
    let Some(after_scheme) = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
    else {
        return false;
    };
    let authority_end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let authority = &after_scheme[..authority_end];
    if authority.is_empty() || authority.contains('@') {
        return false;
    }
    url::Url::parse(text).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()))
}

/// `text` with whatever stands before the last `@` of the authority replaced by `***`.
pub(crate) fn mask_credentials(text: &str) -> String {
    let Some(start) = text.find("://").map(|i| i + 3) else {
        return text.to_owned();
    };
    let rest = &text[start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) => format!("{}***{}", &text[..start], &rest[at..]),
        None => text.to_owned(),
    }
}

fn overhead_ok(text: &str) -> bool {
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    let digits =
        |s: &str, max: usize| (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole, 4)
        && fraction.is_none_or(|f| digits(f, 4))
        && text.parse::<f64>().is_ok_and(|v| v <= 1000.0)
}

fn time_of_day_ok(text: &str) -> bool {
    let Some((h, m)) = text.split_once(':') else {
        return false;
    };
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    two_digits(h)
        && two_digits(m)
        && h.parse::<u8>().is_ok_and(|h| h <= 23)
        && m.parse::<u8>().is_ok_and(|m| m <= 59)
}

fn quantity_ok(text: &str) -> bool {
    quantity::parse(text).is_ok_and(|q| !q.is_negative())
}

/// Whether min ≤ max, unset bounds at their defaults; true while either is not a quantity
/// (that field has its own violation).
fn bounds_hold(r: &ResourcePolicy, default_min: &str, default_max: &str) -> bool {
    let min = quantity::parse(r.min_allowed.as_deref().unwrap_or(default_min));
    let max = quantity::parse(r.max_allowed.as_deref().unwrap_or(default_max));
    match (min, max) {
        (Ok(min), Ok(max)) => min.partial_cmp(&max) != Some(std::cmp::Ordering::Greater),
        _ => true,
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
