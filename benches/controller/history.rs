//! The bench's Prometheus for `--recommender=builtin`: a usage history for every bench
//! Deployment, backfilled with `promtool` and served by tests/servers/prometheus.sh (the test
//! tooling, pointed at this TSDB with `PROMETHEUS_TSDB`).
//!
//! Per Deployment `w{i}` in `bench-{i % namespaces}`: one pod series (`w{i}-5d9c7b8f6d-abcde`,
//! container `app`) at 0.1 cores and 150Mi flat, every 5 minutes on the 5-minute grid, from 7
//! days and an hour before the bench starts to 2 hours after (the controller reads with the
//! system clock, so the newest sample stays fresh while the bench runs; later samples are not
//! read). With the policies' defaults that is CPU 100m → 120m (+20 %), 40 % below the 200m
//! request, so every pod is resized; memory would go down and `allowDecrease` keeps it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::Res;

const STEP: i64 = 300;
const BLOCK: i64 = 2 * 3600;
const CORES: f64 = 0.1;
const MEMORY_BYTES: i64 = 150 * 1024 * 1024;

/// A running Prometheus; stopped on drop.
pub struct Prometheus {
    state: PathBuf,
    pub url: String,
    /// Samples written and the time the backfill took.
    pub samples: usize,
    pub backfill: std::time::Duration,
}

fn script() -> PathBuf {
    super::root().join("tests/servers/prometheus.sh")
}

/// Writes the history as OpenMetrics, one file per 2-hour block (promtool re-reads its whole
/// input for every block it writes), and backfills it into `tsdb`.
fn backfill(work: &Path, tsdb: &Path, deployments: usize, namespaces: usize) -> Res<usize> {
    let now = chrono::Utc::now().timestamp();
    let end = now - now % STEP + 2 * 3600;
    let start = end - (7 * 24 + 3) * 3600;
    let om = work.join("history-om");
    std::fs::create_dir_all(&om)?;
    std::fs::create_dir_all(tsdb)?;
    let mut samples = 0;
    let mut block = start - start % BLOCK;
    while block < end {
        let file = om.join(format!("block-{block}.om"));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
        let times: Vec<i64> = (block.max(start)..(block + BLOCK).min(end + 1))
            .filter(|t| t % STEP == 0)
            .collect();
        let labels = |i: usize| {
            format!(
                "{{namespace=\"bench-{}\",pod=\"w{i}-5d9c7b8f6d-abcde\",container=\"app\"}}",
                i % namespaces
            )
        };
        writeln!(out, "# TYPE container_cpu_usage_seconds counter")?;
        for i in 0..deployments {
            let name = format!("container_cpu_usage_seconds_total{}", labels(i));
            for t in &times {
                writeln!(out, "{name} {} {t}", CORES * (t - start) as f64)?;
            }
        }
        writeln!(out, "# TYPE container_memory_working_set_bytes gauge")?;
        for i in 0..deployments {
            let name = format!("container_memory_working_set_bytes{}", labels(i));
            for t in &times {
                writeln!(out, "{name} {MEMORY_BYTES} {t}")?;
            }
        }
        writeln!(out, "# EOF")?;
        out.flush()?;
        drop(out);
        samples += times.len() * deployments * 2;
        let status = Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
            .arg(&file)
            .arg(tsdb)
            .stdout(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            return Err(format!("promtool could not backfill {}", file.display()).into());
        }
        std::fs::remove_file(&file)?;
        block += BLOCK;
    }
    Ok(samples)
}

impl Prometheus {
    pub fn start(work: &Path, deployments: usize, namespaces: usize) -> Res<Prometheus> {
        let state = work.join("prometheus");
        let tsdb = work.join("history-tsdb");
        let install = Command::new(script()).arg("install").status()?;
        if !install.success() {
            return Err("tests/servers/prometheus.sh install failed".into());
        }
        let started = std::time::Instant::now();
        let samples = backfill(work, &tsdb, deployments, namespaces)?;
        let backfill = started.elapsed();
        let up = Command::new(script())
            .args(["up", &state.display().to_string()])
            .env("PROMETHEUS_TSDB", &tsdb)
            .status()?;
        if !up.success() {
            return Err("tests/servers/prometheus.sh up failed".into());
        }
        let env = std::fs::read_to_string(state.join("prometheus.env"))?;
        let url = env
            .lines()
            .find_map(|l| l.strip_prefix("PROMETHEUS_URL="))
            .ok_or("no PROMETHEUS_URL in prometheus.env")?
            .to_owned();
        Ok(Prometheus {
            state,
            url,
            samples,
            backfill,
        })
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .args(["down", &self.state.display().to_string()])
            .status();
    }
}
