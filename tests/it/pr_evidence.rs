//! The usage charts of a pull request body parse as Mermaid: the body is rendered from a
//! status whose explanation carries our recommender's hourly profiles, every ```mermaid block
//! is cut out and handed to the `mermaid` package's own parser (tests/tools/mermaid.sh installs
//! it from the npm registry into the CI cache), and a broken block is refused by it.

use std::collections::BTreeMap;
use std::process::Command;

use attune::crd::ContainerRecommendation;
use attune::pr::body::{Context, Evidence, render};
use attune::pr::evidence::charts_of;
use attune::repo::{Change, Field, Site};
use serde_json::json;

fn status_entry() -> ContainerRecommendation {
    let cpu: Vec<String> = (0..24)
        .map(|h| format!("{}m", 150 + 40 * (h % 12)))
        .collect();
    let memory: Vec<String> = (0..24).map(|h| format!("{}Mi", 200 + h)).collect();
    serde_json::from_value(json!({
        "name": "app",
        "current": {"cpuRequest": "1", "memoryRequest": "512Mi"},
        "recommended": {"cpuRequest": "700m", "memoryRequest": "300Mi"},
        "explanation": {
            "cpu": {"hourlyProfile": {"percentile": "p95", "values": cpu}},
            "memory": {"hourlyProfile": {"percentile": "p95", "values": memory}},
        },
    }))
    .unwrap()
}

fn change(workload: &str, field: Field, from: &str, to: &str) -> Change {
    Change {
        policy: "p".into(),
        namespace: "shop".into(),
        kind: "Deployment".into(),
        workload: workload.into(),
        container: "app".into(),
        field,
        file: format!("{workload}.yaml"),
        from: Some(from.into()),
        to: to.into(),
        site: Site::Manifest,
        key: None,
    }
}

/// The body of a pull request for five workloads, each with CPU and memory charts.
fn body() -> String {
    body_of(5)
}

/// The body of a pull request for `n` workloads, each with CPU and memory charts.
fn body_of(n: usize) -> String {
    let mut changes = Vec::new();
    let mut evidence = BTreeMap::new();
    for i in 1..=n {
        let w = format!("web{i}");
        changes.push(change(&w, Field::CpuRequest, "1", "700m"));
        changes.push(change(&w, Field::MemoryRequest, "512Mi", "300Mi"));
        evidence.insert(
            format!("shop/Deployment/{w}/app"),
            Evidence {
                charts: charts_of(&status_entry()),
                ..Evidence::default()
            },
        );
    }
    let ctx = Context {
        evidence,
        ..Context::default()
    };
    render(&changes, &ctx, None).unwrap().body
}

fn blocks(body: &str) -> Vec<String> {
    body.split("```mermaid\n")
        .skip(1)
        .map(|rest| rest.split("\n```").next().unwrap().to_owned())
        .collect()
}

/// The parser's check script: ATTUNE_MERMAID, else what tests/tools/mermaid.sh installs.
fn checker() -> String {
    if let Ok(path) = std::env::var("ATTUNE_MERMAID") {
        return path;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/mermaid.sh");
    let out = Command::new(script).output().unwrap();
    assert!(
        out.status.success(),
        "tests/tools/mermaid.sh failed (the npm registry must be reachable once to fill the cache):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("ATTUNE_MERMAID=").map(str::to_owned))
        .expect("mermaid.sh prints ATTUNE_MERMAID=")
}

/// One line per block from the parser: `ok TYPE` or `error MESSAGE`.
fn parse(blocks: &[String]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let path = dir.path().join(format!("{i}.mmd"));
            std::fs::write(&path, b).unwrap();
            path.to_str().unwrap().to_owned()
        })
        .collect();
    let out = Command::new("node")
        .arg(checker())
        .args(&files)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_chart_in_a_body_parses_with_mermaid_and_a_broken_one_does_not() {
    let body = body();
    let blocks = blocks(&body);
    assert_eq!(blocks.len(), 10, "{body}");
    // Two workloads past the first three are folded.
    assert_eq!(body.matches("<details><summary>Usage charts of").count(), 2);
    for b in &blocks {
        // What GitHub needs to draw the chart as meant: 24 hours, 24 values per series.
        let series: Vec<&str> = b
            .lines()
            .filter(|l| l.trim_start().starts_with("bar [") || l.trim_start().starts_with("line ["))
            .collect();
        assert_eq!(series.len(), 3, "{b}");
        for s in series {
            assert_eq!(s.matches(',').count(), 23, "{s}");
        }
    }
    let verdicts = parse(&blocks);
    assert_eq!(verdicts, vec!["ok xychart".to_owned(); 10], "{body}");

    let broken = blocks[0].replacen("bar [", "bar ", 1);
    let verdicts = parse(&[broken]);
    assert!(verdicts[0].starts_with("error Parse error"), "{verdicts:?}");
}

#[test]
fn a_hundred_workloads_still_fit_the_forge_limit_with_the_charts_cut_short() {
    let body = body_of(100);
    // GitHub's and Gitea's limit (forge::github::MAX_BODY_BYTES): the body is never cut, so
    // the tables of all 100 workloads stay whole.
    assert!(
        body.len() < attune::forge::github::MAX_BODY_BYTES,
        "{}",
        body.len()
    );
    assert_eq!(body.matches("| `app` | cpu-request |").count(), 100);
    let drawn = blocks(&body).len();
    // Measured: 51,822 bytes with 4 charts; the marker `sync` adds (about 50 bytes per
    // value, 200 values) still fits.
    assert!((2..40).contains(&drawn), "{drawn} charts");
    assert!(body.len() + 200 * 64 < attune::forge::github::MAX_BODY_BYTES);
    assert_eq!(
        body.matches(
            "_Usage charts left out to keep this description within the forge's size limit"
        )
        .count(),
        100 - drawn / 2
    );
}
