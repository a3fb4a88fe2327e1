//! `kubectl attune explain POLICY`: every stage of the recommendation chain, per container and
//! resource, from `status.recommendations[].containers[].explanation`.

use serde_json::Value;

use super::table::Table;
use super::view::PolicyView;
use super::view::{memory, millicores};
use crate::crd::hourly::{HourlyUsage, UsageResource};
use crate::crd::{ContainerRecommendation, ExplanationJson, ResourceValues};
use crate::quantity;

/// The explanation text of one policy.
pub fn render(p: &PolicyView) -> String {
    let mut out = format!("Policy: {}/{}\nMode: {}\n", p.namespace, p.name, p.mode);
    if p.status.recommendations.is_empty() {
        out.push_str(&format!(
            "\n{}/{} has no recommendations yet ({}).\n",
            p.namespace,
            p.name,
            p.ready_cell()
        ));
        return out;
    }
    for workload in &p.status.recommendations {
        let kind = if workload.kind.is_empty() {
            "-"
        } else {
            &workload.kind
        };
        out.push_str(&format!("\nWorkload: {kind}/{}\n", workload.workload));
        for c in &workload.containers {
            out.push_str(&container(c));
        }
    }
    out
}

fn container(c: &ContainerRecommendation) -> String {
    let mut out = format!("  Container: {}\n", c.name);
    if let Some(confidence) = c.confidence {
        out.push_str(&format!("    Confidence: {:.1}%\n", confidence * 100.0));
    }
    let current = c.current.clone().unwrap_or_default();
    let explanation = c.explanation.as_ref().map(ExplanationJson::value);
    for (label, resource) in [
        ("CPU", UsageResource::Cpu),
        ("Memory", UsageResource::Memory),
    ] {
        let key = resource.key();
        let stages = explanation
            .as_ref()
            .map(|e| &e[key])
            .filter(|e| e.is_object());
        let (now, recommended) = requests(&current, &c.recommended, key);
        out.push_str(&format!("    {label}:\n"));
        match stages {
            Some(e) => out.push_str(&chain(e)),
            None => out.push_str("      no explanation in status\n"),
        }
        if let Some(usage) = HourlyUsage::read(explanation.as_ref(), resource) {
            out.push_str(&profile_line(&usage));
        }
        out.push_str(&format!(
            "      Final recommendation: {} (vs current {}{})\n",
            recommended.unwrap_or("-"),
            now.unwrap_or("-"),
            change(now, recommended)
        ));
    }
    out
}

fn requests<'a>(
    current: &'a ResourceValues,
    recommended: &'a ResourceValues,
    key: &str,
) -> (Option<&'a str>, Option<&'a str>) {
    if key == "cpu" {
        (
            current.cpu_request.as_deref(),
            recommended.cpu_request.as_deref(),
        )
    } else {
        (
            current.memory_request.as_deref(),
            recommended.memory_request.as_deref(),
        )
    }
}

/// ", +N%" from current to recommended; empty when either is missing or unreadable.
fn change(now: Option<&str>, recommended: Option<&str>) -> String {
    let parsed = now
        .zip(recommended)
        .and_then(|(a, b)| Some((quantity::parse(a).ok()?, quantity::parse(b).ok()?)));
    match parsed.and_then(|(a, b)| b.percent_change_from(&a)) {
        Some(pct) => format!(", {pct:+.0}%"),
        None => String::new(),
    }
}

/// A stage value: quantity strings as stored, numbers as Go prints them.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_str()?.parse().ok())
}

/// The chain stages present in one resource's explanation, aligned.
fn chain(e: &Value) -> String {
    let mut table = Table::default();
    let mut stage = |label: String, key: &str| {
        if let Some(value) = text(&e[key]) {
            table.push(vec![format!("      {label}"), value]);
        }
    };
    stage("Raw percentile".to_owned(), "rawPercentile");
    let overhead = number(&e["overhead"]).unwrap_or(0.0);
    stage(format!("+ Overhead ({overhead:.2}%)"), "afterOverhead");
    if let Some(burst) = number(&e["burstFactor"]).filter(|b| *b > 1.0) {
        stage(format!("x Burst factor ({burst:.2})"), "afterBurst");
    }
    let factor = number(&e["confidenceFactor"]).unwrap_or(1.0);
    let confidence = number(&e["confidence"]).unwrap_or(0.0);
    stage(
        format!("x Confidence factor ({factor:.2}, confidence {confidence:.2})"),
        "afterConfidence",
    );
    let bound = |k: &str| text(&e["bounds"][k]).unwrap_or_else(|| "-".to_owned());
    let applied = text(&e["boundsApplied"]).map_or(String::new(), |b| format!(" ({b} applied)"));
    stage(
        format!("Bounds [{}, {}]{applied}", bound("min"), bound("max")),
        "afterBounds",
    );
    let min = number(&e["minChangePercent"]).unwrap_or(0.0);
    let max = number(&e["maxChangePercent"]).unwrap_or(0.0);
    let filtered = text(&e["changeFilterApplied"]).map_or(String::new(), |f| format!(" ({f})"));
    stage(
        format!("Change filter [{min:.2}%, {max:.2}%]{filtered}"),
        "afterChangeFilter",
    );
    if let Some(peak) = text(&e["oomFloor"]["peak"]) {
        stage(format!("OOM floor (peak {peak})"), "afterOomFloor");
    }
    stage("Final".to_owned(), "final");
    if let Some(adjustment) = text(&e["finalAdjustment"]) {
        table.push(vec![
            "      Adjusted after the chain".to_owned(),
            adjustment,
        ]);
    }
    table.render()
}

const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The 24 hourly values as one bar each, scaled to the busiest hour (0 is the lowest bar).
pub fn sparkline(values: &[i128]) -> String {
    let max = values.iter().copied().max().unwrap_or(0).max(0);
    values
        .iter()
        .map(|&v| {
            let level = if max == 0 {
                0
            } else {
                // Rounded to the nearest of the eight levels.
                ((v.clamp(0, max) * 14 + max) / (max * 2)) as usize
            };
            BLOCKS[level.min(BLOCKS.len() - 1)]
        })
        .collect()
}

/// "Hourly p95 (UTC 00–23)  ▃▃…█…▃  peak 800m at 14:00"
fn profile_line(usage: &HourlyUsage) -> String {
    let (hour, peak) = usage.peak();
    let peak = match usage.resource {
        UsageResource::Cpu => millicores(peak),
        UsageResource::Memory => memory(peak),
    };
    format!(
        "      Hourly {} (UTC 00-23)   {}   peak {peak} at {hour:02}:00\n",
        usage.percentile,
        sparkline(&usage.values)
    )
}

#[cfg(test)]
mod tests {
    use super::sparkline;

    #[test]
    fn the_sparkline_scales_to_the_busiest_hour() {
        assert_eq!(sparkline(&[0, 100, 200, 400, 800]), "▁▂▃▅█");
        assert_eq!(sparkline(&[0; 4]), "▁▁▁▁");
        assert_eq!(sparkline(&[5, 5]), "██");
        assert_eq!(sparkline(&[]), "");
    }
}
