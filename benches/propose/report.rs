//! The bench's figures: one row per repository size, and where the time goes in-process.

use std::path::Path;
use std::time::Instant;

use attune::repo::{ManifestTree, Scope};
use attune::{propose, repo};

use crate::proc::spread;
use crate::synth::Res;

#[derive(Default)]
pub struct Tool {
    pub wall_ms: Vec<f64>,
    pub cpu_ms: Vec<f64>,
    pub rss_mib: Vec<f64>,
    /// Lines changed beyond the planned values, and in how many files (first run).
    pub churn: Option<(usize, usize)>,
}

pub struct Row {
    pub files: usize,
    pub workloads: usize,
    pub bytes: usize,
    pub values: usize,
    pub files_changed: usize,
    pub attune: Tool,
    pub ruamel: Tool,
    pub phases: Vec<(&'static str, f64)>,
}

impl Row {
    pub fn new(files: usize, workloads: usize, bytes: usize, values: usize) -> Row {
        Row {
            files,
            workloads,
            bytes,
            values,
            files_changed: 0,
            attune: Tool::default(),
            ruamel: Tool::default(),
            phases: Vec::new(),
        }
    }
}

fn churn(t: &Tool) -> String {
    t.churn.map_or("n/a".into(), |(lines, files)| {
        format!("{lines} lines in {files} files")
    })
}

pub fn print(rows: &[Row]) {
    println!();
    println!(
        "| files (MiB) | workloads | values in files | attune wall ms | attune CPU ms | attune peak RSS MiB | ruamel wall ms | ruamel / attune (medians) | churn attune | churn ruamel |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let a = spread(&r.attune.wall_ms);
        let ru = spread(&r.ruamel.wall_ms);
        let rss = spread(&r.attune.rss_mib);
        println!(
            "| {} ({:.1}) | {} | {} in {} | {a} | {} | {:.1} (max {:.1}) | {} | {} | {} | {} |",
            r.files,
            r.bytes as f64 / 1048576.0,
            r.workloads,
            r.values,
            r.files_changed,
            spread(&r.attune.cpu_ms),
            rss.median,
            rss.max,
            if r.ruamel.wall_ms.is_empty() {
                "n/a".into()
            } else {
                ru.to_string()
            },
            if r.ruamel.wall_ms.is_empty() {
                "n/a".into()
            } else {
                format!("{:.1}×", ru.median / a.median)
            },
            churn(&r.attune),
            churn(&r.ruamel),
        );
    }
    println!();
    println!("wall and CPU: median (min–max) over the runs; in-process phases of one run:");
    for r in rows {
        let phases: Vec<String> = r
            .phases
            .iter()
            .map(|(name, ms)| format!("{name} {ms:.0} ms"))
            .collect();
        println!("  {} files: {}", r.files, phases.join(", "));
    }
}

/// `propose --write` through the library API, phase by phase, on `repo` (written to).
pub fn phases(policies: &Path, repo_dir: &Path) -> Res<Vec<(&'static str, f64)>> {
    let mut out = Vec::new();
    let mut lap = |name, t: Instant| out.push((name, t.elapsed().as_secs_f64() * 1000.0));
    let t = Instant::now();
    let wants = propose::wants(&propose::read_policies(policies)?);
    lap("policies", t);
    let t = Instant::now();
    let loaded = ManifestTree::load(repo_dir)?;
    lap("read + parse", t);
    let t = Instant::now();
    let plan = repo::resolve(&loaded, &Scope::whole(), &wants);
    lap("resolve", t);
    let t = Instant::now();
    let outcome = propose::apply(&loaded, plan);
    lap("edit + verify", t);
    let t = Instant::now();
    propose::write::write_all(repo_dir, &outcome.files)?;
    lap("write", t);
    Ok(out)
}
