//! Benchmark (not a test) of the pure recommender: 1,000 workloads × 2 containers × CPU and
//! memory × 2,016 samples (7 days at 5 minutes) → profiles → chain → status values.
//!
//! `cargo bench --bench recommend` prints the median and spread of the wall time over several
//! runs and the CPU time of each (from /proc/self/schedstat; single-threaded). Samples are
//! generated before timing, deterministically, so every run sees the same input.

use std::hint::black_box;
use std::time::{Duration, Instant};

use attune::crd::ResourceValues;
use attune::recommend::{
    ContainerInput, ContainerOutcome, Profile, Sample, Settings, recommend_container,
};

const WORKLOADS: usize = 1_000;
const CONTAINERS: usize = 2;
const POINTS: usize = 2_016;
const STEP_MS: i64 = 300_000;
const RUNS: usize = 7;
/// 2024-01-01T00:00:00Z.
const START_MS: i64 = 1_704_067_200_000;
const GOAL: Duration = Duration::from_secs(1);

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Container {
    current: ResourceValues,
    cpu: Vec<Sample>,
    memory: Vec<Sample>,
}

/// A daily shape (busier in one hour), noise, an occasional spike, and a few NaNs.
fn series(rng: &mut Rng, base: f64, peak_hour: i64) -> Vec<Sample> {
    (0..POINTS as i64)
        .map(|i| {
            let timestamp_ms = START_MS + i * STEP_MS;
            let hour = (timestamp_ms / 3_600_000) % 24;
            let daily = if hour == peak_hour { 1.8 } else { 1.0 };
            let roll = rng.unit();
            let value = match roll {
                r if r < 0.001 => f64::NAN,
                r if r < 0.01 => base * 5.0,
                _ => base * daily * (0.8 + 0.4 * rng.unit()),
            };
            Sample {
                timestamp_ms,
                value,
            }
        })
        .collect()
}

fn generate() -> Vec<Container> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..WORKLOADS * CONTAINERS)
        .map(|k| {
            let cores = 0.02 + 0.5 * rng.unit();
            let bytes = (64.0 + 960.0 * rng.unit()) * 1024.0 * 1024.0;
            let peak_hour = (k % 24) as i64;
            Container {
                current: ResourceValues {
                    cpu_request: Some("250m".into()),
                    cpu_limit: Some("1".into()),
                    memory_request: Some("512Mi".into()),
                    memory_limit: Some("1Gi".into()),
                },
                cpu: series(&mut rng, cores, peak_hour),
                memory: series(&mut rng, bytes, peak_hour),
            }
        })
        .collect()
}

/// One pass over every container; returns a checksum of the recommended values so nothing
/// is optimised away.
fn run(settings: &Settings, containers: &[Container]) -> usize {
    let mut checksum = 0usize;
    for c in containers {
        let cpu = Profile::from_samples(&c.cpu);
        let memory = Profile::from_samples(&c.memory);
        let input = ContainerInput {
            current: &c.current,
            cpu: &cpu,
            memory: &memory,
            oom: None,
        };
        if let Ok(ContainerOutcome::Recommended(r)) = recommend_container(settings, &input) {
            let status = r.to_status("app", "2024-01-08T00:00:00Z", true);
            checksum += status.recommended.cpu_request.map_or(0, |s| s.len());
            checksum += status.explanation.map_or(0, |e| e.as_str().len());
        }
    }
    checksum
}

/// CPU time of this (single) thread so far, if the kernel reports it.
fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn median(sorted: &[Duration]) -> Duration {
    sorted[sorted.len() / 2]
}

fn main() {
    let settings = Settings::default();
    let containers = black_box(generate());
    println!(
        "recommend: {WORKLOADS} workloads × {CONTAINERS} containers × 2 resources × {POINTS} \
         samples, {RUNS} runs"
    );
    let (mut walls, mut cpus) = (Vec::new(), Vec::new());
    for run_index in 1..=RUNS {
        let cpu_before = cpu_time();
        let started = Instant::now();
        let checksum = black_box(run(&settings, black_box(&containers)));
        let wall = started.elapsed();
        let cpu = cpu_before.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a));
        println!(
            "  run {run_index}: wall {:>7.1} ms, cpu {} (checksum {checksum})",
            wall.as_secs_f64() * 1e3,
            cpu.map_or("n/a".into(), |c| format!("{:.1} ms", c.as_secs_f64() * 1e3)),
        );
        walls.push(wall);
        cpus.extend(cpu);
    }
    walls.sort();
    cpus.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "wall: median {:.1} ms, min {:.1} ms, max {:.1} ms",
        ms(median(&walls)),
        ms(walls[0]),
        ms(walls[walls.len() - 1])
    );
    if !cpus.is_empty() {
        let cpu = median(&cpus);
        println!(
            "cpu:  median {:.1} ms, min {:.1} ms, max {:.1} ms; {:.1} µs per container; goal ≤ {} ms: {}",
            ms(cpu),
            ms(cpus[0]),
            ms(cpus[cpus.len() - 1]),
            cpu.as_secs_f64() * 1e6 / (WORKLOADS * CONTAINERS) as f64,
            GOAL.as_millis(),
            if cpu <= GOAL { "met" } else { "NOT met" }
        );
    }
}
