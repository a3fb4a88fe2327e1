//! The usage behind a recommendation, drawn for the reviewer: per container and resource a
//! Mermaid `xychart-beta` (GitHub and Gitea render it in a pull request body) with the 24
//! hourly percentile values as bars and the current and proposed requests as flat lines, the
//! peak hour named in the title. Pure.
//!
//! Charts take room: the first [`OPEN_WORKLOADS`] workloads show theirs, later ones fold them
//! into `<details>`, and past [`CHART_BUDGET_BYTES`] (or what the rest of the body leaves of the
//! forge's 64 KiB) they are left out with a line saying so, so that the tables and the
//! lifecycle marker are never cut.

use crate::crd::hourly::{HourlyUsage, UsageResource};
use crate::crd::{ContainerRecommendation, ExplanationJson};

/// Workloads whose charts are shown open; the rest are folded.
pub const OPEN_WORKLOADS: usize = 3;
/// Most bytes all charts together may take (about 800 bytes each): well under the 64 KiB
/// GitHub and Gitea accept, leaving the rest for the tables and the marker.
pub const CHART_BUDGET_BYTES: usize = 24 * 1024;

const MIB: i128 = 1024 * 1024;

/// One chart: a container's hourly usage of one resource and its requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub container: String,
    pub usage: HourlyUsage,
    /// The running request, in the resource's unit (millicores or bytes).
    pub current: Option<i128>,
    /// The recommended request, in the same unit.
    pub proposed: Option<i128>,
}

/// A name as it may appear inside a quoted Mermaid string or an HTML summary: Kubernetes names
/// are DNS labels, anything else (quotes, brackets, `<`, newlines from a crafted status)
/// becomes `_`.
fn safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The plotted number: millicores for CPU, MiB (rounded up) for memory.
fn plotted(resource: UsageResource, value: i128) -> i128 {
    match resource {
        UsageResource::Cpu => value,
        UsageResource::Memory => (value + MIB - 1).div_euclid(MIB),
    }
}

/// A value as a reviewer reads it: `250m`, `2`, `384Mi`.
pub fn readable(resource: UsageResource, value: i128) -> String {
    match resource {
        UsageResource::Cpu if value % 1000 == 0 => format!("{}", value / 1000),
        UsageResource::Cpu => format!("{value}m"),
        UsageResource::Memory => format!("{}Mi", plotted(resource, value)),
    }
}

fn series(values: impl Iterator<Item = i128>) -> String {
    let cells: Vec<String> = values.map(|v| v.to_string()).collect();
    format!("[{}]", cells.join(", "))
}

/// The fenced Mermaid block and its caption.
pub fn mermaid(chart: &Chart) -> String {
    let usage = &chart.usage;
    let resource = usage.resource;
    let (peak_hour, peak) = usage.peak();
    let unit = match resource {
        UsageResource::Cpu => "CPU (millicores)",
        UsageResource::Memory => "memory (MiB)",
    };
    let plot = |v: i128| plotted(resource, v);
    let top = usage
        .values
        .iter()
        .copied()
        .chain(chart.current)
        .chain(chart.proposed)
        .map(plot)
        .max()
        .unwrap_or(0);
    // Room above the highest bar or line, and never an empty axis.
    let top = (top + top / 10).max(1);
    let hours: Vec<String> = (0..usage.values.len())
        .map(|h| format!("\"{h:02}\""))
        .collect();
    let mut out = format!(
        "```mermaid\nxychart-beta\n    title \"{} {}: {} by UTC hour, peak {} at {peak_hour:02}:00\"\n    x-axis \"UTC hour\" [{}]\n    y-axis \"{unit}\" 0 --> {top}\n    bar {}\n",
        safe(&chart.container),
        resource.key(),
        usage.percentile,
        readable(resource, peak),
        hours.join(", "),
        series(usage.values.iter().copied().map(plot)),
    );
    let flat = |v: i128| series(std::iter::repeat_n(plot(v), usage.values.len()));
    let mut lines = Vec::new();
    for (label, value) in [("current", chart.current), ("proposed", chart.proposed)] {
        if let Some(v) = value {
            out.push_str(&format!("    line {}\n", flat(v)));
            lines.push(format!("{label} request {}", readable(resource, v)));
        }
    }
    out.push_str("```\n");
    out.push_str(&format!(
        "<sub>Bars: {} {} use per UTC hour (peak {} at {peak_hour:02}:00 UTC). Lines: {}.</sub>\n",
        usage.percentile,
        resource.key(),
        readable(resource, peak),
        if lines.is_empty() {
            "no request known".to_owned()
        } else {
            lines.join(", ")
        }
    ));
    out
}

/// The chart section of each workload, in order: open, folded, or left out once the charts
/// would take more than `budget` bytes (at most [`CHART_BUDGET_BYTES`]; the body renderer
/// passes what its tables leave). `workloads` holds each workload's title and charts; a
/// workload without charts gets "".
pub fn sections(workloads: &[(String, Vec<Chart>)], budget: usize) -> Vec<String> {
    let budget = budget.min(CHART_BUDGET_BYTES);
    let mut used = 0;
    let mut shown = 0;
    let mut out = Vec::with_capacity(workloads.len());
    for (title, charts) in workloads {
        if charts.is_empty() {
            out.push(String::new());
            continue;
        }
        let blocks: Vec<String> = charts.iter().map(mermaid).collect();
        let body = blocks.join("\n");
        if used + body.len() > budget {
            out.push(
                "_Usage charts left out to keep this description within the forge's size limit; \
                 `kubectl attune explain POLICY` draws the same profile._\n"
                    .to_owned(),
            );
            continue;
        }
        used += body.len();
        shown += 1;
        out.push(if shown <= OPEN_WORKLOADS {
            body
        } else {
            format!(
                "<details><summary>Usage charts of {}</summary>\n\n{body}\n</details>\n",
                safe(title)
            )
        });
    }
    out
}

/// A chart per resource of a status entry whose hourly profile our recommender stored, with
/// the running and the recommended request.
pub fn charts_of(c: &ContainerRecommendation) -> Vec<Chart> {
    let current = c.current.clone().unwrap_or_default();
    let explanation = c.explanation.as_ref().map(ExplanationJson::value);
    [
        (
            UsageResource::Cpu,
            &current.cpu_request,
            &c.recommended.cpu_request,
        ),
        (
            UsageResource::Memory,
            &current.memory_request,
            &c.recommended.memory_request,
        ),
    ]
    .into_iter()
    .filter_map(|(resource, now, rec)| {
        let usage = HourlyUsage::read(explanation.as_ref(), resource)?;
        let amount = |v: &Option<String>| v.as_deref().and_then(|v| resource.amount(v));
        Some(Chart {
            container: c.name.clone(),
            usage,
            current: amount(now),
            proposed: amount(rec),
        })
    })
    .collect()
}

#[cfg(test)]
#[path = "evidence_tests.rs"]
mod tests;
