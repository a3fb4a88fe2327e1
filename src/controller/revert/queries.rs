//! The Prometheus side of the end-of-period checks, without the I/O: the throttling query of a
//! pod, the `sloGuardrails` read from the spec and templated for a pod, and the reduction of an
//! answer to one [`Reading`]. Pure.
//!
//! Templates use the Go operator's placeholders `{{.Namespace}}`, `{{.WorkloadName}}` and
//! `{{.PodName}}` (spaces inside the braces allowed), plus `{{.EvaluationWindow}}` (the
//! guardrail's window as a PromQL duration). Values are escaped for a double-quoted PromQL
//! string. Any other placeholder is refused when the policy is read, not when it is evaluated.

use std::time::Duration;

use chrono::TimeDelta;

use super::verdict::Reading;
use crate::crd::duration::parse_go_duration;
use crate::crd::{SloComparison, SloGuardrail};
use crate::usage::Series;
use crate::usage::promql::{escape_string, format_duration};

/// `evaluationWindow` when unset.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);
/// The placeholders a guardrail query may use.
const PLACEHOLDERS: [&str; 4] = ["Namespace", "WorkloadName", "PodName", "EvaluationWindow"];

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GuardrailError {
    #[error(
        "updateStrategy.sloGuardrails[{index}] ({name}): threshold {value:?} is not a number; \
         write a decimal such as \"0.5\""
    )]
    Threshold {
        index: usize,
        name: String,
        value: String,
    },
    #[error(
        "updateStrategy.sloGuardrails[{index}] ({name}): evaluationWindow {value:?} is not a \
         positive duration: {reason}"
    )]
    Window {
        index: usize,
        name: String,
        value: String,
        reason: &'static str,
    },
    #[error(
        "updateStrategy.sloGuardrails[{index}] ({name}): the query uses {{{{{placeholder}}}}}; \
         only {{{{.Namespace}}}}, {{{{.WorkloadName}}}}, {{{{.PodName}}}} and \
         {{{{.EvaluationWindow}}}} are filled in"
    )]
    Placeholder {
        index: usize,
        name: String,
        placeholder: String,
    },
    #[error("updateStrategy.sloGuardrails[{index}]: name and query must not be empty")]
    Empty { index: usize },
}

/// One `sloGuardrails` entry, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Guardrail {
    pub name: String,
    pub query: String,
    pub threshold: f64,
    pub comparison: SloComparison,
    pub window: Duration,
}

impl Guardrail {
    pub fn window_delta(&self) -> TimeDelta {
        TimeDelta::from_std(self.window).unwrap_or(TimeDelta::MAX)
    }
}

/// Reads and checks every guardrail (threshold a finite number, window a positive duration,
/// only known placeholders).
pub fn guardrails(specs: &[SloGuardrail]) -> Result<Vec<Guardrail>, GuardrailError> {
    specs
        .iter()
        .enumerate()
        .map(|(index, g)| guardrail(index, g))
        .collect()
}

fn guardrail(index: usize, g: &SloGuardrail) -> Result<Guardrail, GuardrailError> {
    if g.name.trim().is_empty() || g.query.trim().is_empty() {
        return Err(GuardrailError::Empty { index });
    }
    let name = g.name.clone();
    let threshold = g
        .threshold
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite())
        .ok_or_else(|| GuardrailError::Threshold {
            index,
            name: name.clone(),
            value: g.threshold.clone(),
        })?;
    let window = match g.evaluation_window.as_deref() {
        None => DEFAULT_WINDOW,
        Some(text) => parse_go_duration(text)
            .and_then(|d| {
                if d.is_zero() {
                    Err("it is zero")
                } else {
                    Ok(d)
                }
            })
            .map_err(|reason| GuardrailError::Window {
                index,
                name: name.clone(),
                value: text.to_owned(),
                reason,
            })?,
    };
    for placeholder in placeholders(&g.query) {
        let known = placeholder
            .strip_prefix('.')
            .is_some_and(|key| PLACEHOLDERS.contains(&key));
        if !known {
            return Err(GuardrailError::Placeholder {
                index,
                name,
                placeholder,
            });
        }
    }
    Ok(Guardrail {
        name,
        query: g.query.clone(),
        threshold,
        comparison: g.comparison.unwrap_or_default(),
        window,
    })
}

/// The trimmed contents of every `{{ … }}` in `text`.
fn placeholders(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            found.push(after.trim().to_owned());
            break;
        };
        found.push(after[..end].trim().to_owned());
        rest = &after[end + 2..];
    }
    found
}

/// Who a query is about.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    pub namespace: &'a str,
    pub workload: &'a str,
    pub pod: &'a str,
}

/// The guardrail's query for `subject`.
pub fn render(guardrail: &Guardrail, subject: &Subject<'_>) -> String {
    let mut out = String::with_capacity(guardrail.query.len());
    let mut rest = guardrail.query.as_str();
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let value = match after[..end].trim() {
            ".Namespace" => escape_string(subject.namespace),
            ".WorkloadName" => escape_string(subject.workload),
            ".PodName" => escape_string(subject.pod),
            ".EvaluationWindow" => format_duration(guardrail.window),
            // Refused when the policy was read; kept as written if it ever gets here.
            _ => rest[start..start + 2 + end + 2].to_owned(),
        };
        out.push_str(&value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The highest CFS throttling ratio of the pod's containers over the last five minutes.
pub fn throttle_query(namespace: &str, pod: &str) -> String {
    let selector = format!(
        "{{namespace=\"{}\",pod=\"{}\",container!=\"\",container!=\"POD\"}}",
        escape_string(namespace),
        escape_string(pod)
    );
    format!(
        "max by (container) (rate(container_cpu_cfs_throttled_periods_total{selector}[5m]) / \
         rate(container_cpu_cfs_periods_total{selector}[5m]))"
    )
}

/// The last finite value of each series, reduced to one: the highest, or the lowest when a
/// value below the threshold is the breach. No finite value (no series, or only NaN, as a
/// ratio of two zero rates is) is no data.
pub fn reduce(series: &[Series], comparison: SloComparison) -> Reading {
    let last = series.iter().filter_map(|s| {
        s.samples
            .iter()
            .rev()
            .map(|p| p.value)
            .find(|v| v.is_finite())
    });
    let picked = match comparison {
        SloComparison::Above => last.reduce(f64::max),
        SloComparison::Below => last.reduce(f64::min),
    };
    picked.map_or(Reading::NoData, Reading::Value)
}

#[cfg(test)]
#[path = "queries_tests.rs"]
mod tests;
