//! Golden text of the PR charts, their folding and their budget.

use super::*;
use crate::crd::hourly::HOURS;
use serde_json::json;

/// The status entry of `app`: 200m all day, 800m at 14:00 UTC; 300Mi flat; 500m → 750m CPU,
/// 512Mi → 384Mi memory.
fn entry(name: &str) -> ContainerRecommendation {
    let mut cpu = vec![json!("200m"); HOURS];
    cpu[14] = json!("800m");
    serde_json::from_value(json!({
        "name": name,
        "current": {"cpuRequest": "500m", "memoryRequest": "512Mi"},
        "recommended": {"cpuRequest": "750m", "memoryRequest": "384Mi"},
        "explanation": {
            "cpu": {"final": "750m", "hourlyProfile": {"percentile": "p95", "values": cpu}},
            "memory": {"final": "384Mi", "hourlyProfile": {"percentile": "p95", "values": vec![json!("300Mi"); HOURS]}},
        },
    }))
    .unwrap()
}

pub(crate) const CPU_CHART: &str = r#"```mermaid
xychart-beta
    title "app cpu: p95 by UTC hour, peak 800m at 14:00"
    x-axis "UTC hour" ["00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23"]
    y-axis "CPU (millicores)" 0 --> 880
    bar [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 800, 200, 200, 200, 200, 200, 200, 200, 200, 200]
    line [500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500]
    line [750, 750, 750, 750, 750, 750, 750, 750, 750, 750, 750, 750, 750, 750, 750, 750, 750, 750, 750, 750, 750, 750, 750, 750]
```
<sub>Bars: p95 cpu use per UTC hour (peak 800m at 14:00 UTC). Lines: current request 500m, proposed request 750m.</sub>
"#;

#[test]
fn a_chart_draws_the_hourly_use_and_both_requests() {
    let charts = charts_of(&entry("app"));
    assert_eq!(charts.len(), 2);
    assert_eq!(mermaid(&charts[0]), CPU_CHART);
    let memory = mermaid(&charts[1]);
    assert!(
        memory.contains("    title \"app memory: p95 by UTC hour, peak 300Mi at 00:00\"\n"),
        "{memory}"
    );
    assert!(
        memory.contains("    y-axis \"memory (MiB)\" 0 --> 563\n"),
        "{memory}"
    );
    assert!(memory.contains("    bar [300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300]\n"), "{memory}");
    assert!(
        memory.ends_with("Lines: current request 512Mi, proposed request 384Mi.</sub>\n"),
        "{memory}"
    );
}

#[test]
fn no_profile_no_chart_and_names_cannot_break_out() {
    let mut plain = entry("app");
    plain.explanation = Some(json!({"cpu": {"final": "750m"}}).into());
    assert!(charts_of(&plain).is_empty());
    let crafted = charts_of(&entry("a\"]\n```\n<script>"));
    let text = mermaid(&crafted[0]);
    assert!(
        text.starts_with("```mermaid\nxychart-beta\n    title \"a________script_ cpu: p95"),
        "{text}"
    );
    assert_eq!(text.matches("```").count(), 2, "{text}");
}

fn workload(i: usize) -> (String, Vec<Chart>) {
    (format!("Deployment shop/w{i}"), charts_of(&entry("app")))
}

#[test]
fn past_three_workloads_charts_fold_and_past_the_budget_they_are_left_out() {
    let mut list: Vec<(String, Vec<Chart>)> = (1..=5).map(workload).collect();
    list.insert(1, ("Deployment shop/none".to_owned(), Vec::new()));
    let out = sections(&list, CHART_BUDGET_BYTES);
    assert_eq!(out[1], "");
    for open in [&out[0], &out[2], &out[3]] {
        assert!(
            open.starts_with("```mermaid\n") && !open.contains("<details>"),
            "{open}"
        );
    }
    assert!(
        out[4].starts_with(
            "<details><summary>Usage charts of Deployment shop/w4</summary>\n\n```mermaid\n"
        ),
        "{}",
        out[4]
    );
    assert!(out[5].ends_with("</sub>\n\n</details>\n"), "{}", out[5]);

    let many: Vec<(String, Vec<Chart>)> = (1..=60).map(workload).collect();
    let out = sections(&many, CHART_BUDGET_BYTES);
    let total: usize = out.iter().map(String::len).sum();
    assert!(total < CHART_BUDGET_BYTES + 60 * 200, "{total}");
    let drawn = out.iter().filter(|s| s.contains("```mermaid")).count();
    assert!((10..60).contains(&drawn), "{drawn}");
    // A smaller room given by the body renderer is kept too: one workload's two charts fit.
    let tight = sections(&many, 2000);
    assert_eq!(tight.iter().filter(|s| s.contains("```mermaid")).count(), 1);
    assert!(
        out[59].starts_with(
            "_Usage charts left out to keep this description within the forge's size limit"
        ),
        "{}",
        out[59]
    );
}
