//! The propose bench: wall time, CPU and peak RSS of `attune propose --write` on generated
//! GitOps repositories of 1,000, 10,000 and 50,000 YAML files (a tenth of them recommended
//! workloads), side by side in the same run with a baseline anyone can rerun: the same edits
//! through ruamel.yaml's round-trip mode (`ruamel_edit.py`, installed in a throwaway virtualenv
//! with `python3 -m venv` and pip). Runs alternate attune, ruamel, attune, … on fresh copies;
//! the figures are the median and the spread (min–max) of `--runs` runs (default 5), never the
//! best run. Not a test: run it by hand, and note the machine's load (printed).
//!
//! It fails (non-zero exit, `FAIL:` lines) unless every attune run exits 0, changes exactly the
//! values the generator expects with no problem, and leaves every planned value in the files;
//! unless every ruamel run leaves every planned value too; and unless a second attune run on a
//! written copy changes nothing. It also counts the lines each tool changed beyond the planned
//! values (see `baseline::churn`).
//!
//! Run: `cargo bench --bench propose` (options after `--`: `--sizes 1000,10000 --runs N
//! --seed N --keep --no-baseline`).

mod baseline;
mod proc;
mod report;
mod synth;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use proc::{Ran, copy_tree, parse_summary, timed};
use report::{Row, Tool};
use synth::Res;

struct Args {
    sizes: Vec<usize>,
    runs: usize,
    seed: u64,
    keep: bool,
    baseline: bool,
}

fn args() -> Res<Args> {
    let mut a = Args {
        sizes: vec![1_000, 10_000, 50_000],
        runs: 5,
        seed: 0x5EED_A77E,
        keep: false,
        baseline: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            // `cargo bench` passes this to every bench binary.
            "--bench" => {}
            "--sizes" => {
                a.sizes = val()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--runs" => a.runs = val()?.parse::<usize>()?.max(1),
            "--seed" => a.seed = val()?.parse()?,
            "--keep" => a.keep = true,
            "--no-baseline" => a.baseline = false,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(a)
}

/// A virtualenv with ruamel.yaml; its python and ruamel's version.
fn ruamel(base: &Path) -> Res<(PathBuf, String)> {
    let venv = base.join("venv");
    let ok = |c: &mut std::process::Command| -> Res<String> {
        let out = c.output()?;
        if !out.status.success() {
            return Err(format!(
                "{c:?} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
            .into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    ok(std::process::Command::new("python3").args([
        OsStr::new("-m"),
        "venv".as_ref(),
        venv.as_os_str(),
    ]))?;
    let python = venv.join("bin/python");
    ok(std::process::Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "ruamel.yaml",
    ]))?;
    let version = ok(std::process::Command::new(&python)
        .args(["-c", "import ruamel.yaml; print(ruamel.yaml.__version__)"]))?;
    Ok((python, version))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() -> Res<()> {
    let a = args()?;
    let attune = PathBuf::from(env!("CARGO_BIN_EXE_attune"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/propose/ruamel_edit.py");
    let base = std::env::temp_dir().join(format!("attune-propose-bench-{}", std::process::id()));
    std::fs::create_dir_all(&base)?;
    let python = if a.baseline {
        let (python, version) = ruamel(&base)?;
        eprintln!(
            "baseline: ruamel.yaml {version} in {}",
            base.join("venv").display()
        );
        Some(python)
    } else {
        None
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "machine: {cores} cores, load average at start {}",
        loadavg()
    );
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for &files in &a.sizes {
        let row = size(
            &a,
            files,
            &attune,
            python.as_deref(),
            &script,
            &base,
            &mut failures,
        )?;
        rows.push(row);
    }
    println!("load average at end {}", loadavg());
    report::print(&rows);
    if !a.keep {
        std::fs::remove_dir_all(&base)?;
    } else {
        eprintln!("kept {}", base.display());
    }
    for f in &failures {
        println!("FAIL: {f}");
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{} check(s) failed", failures.len()).into())
    }
}

/// Every run at one size.
fn size(
    a: &Args,
    files: usize,
    attune: &Path,
    python: Option<&Path>,
    script: &Path,
    base: &Path,
    failures: &mut Vec<String>,
) -> Res<Row> {
    let dir = base.join(format!("{files}"));
    let repo = dir.join("repo");
    let workloads = files / 10;
    let t = Instant::now();
    let g = synth::generate(&repo, files, workloads, a.seed, false)?;
    let policies = dir.join("policies.yaml");
    std::fs::write(&policies, &g.policies)?;
    eprintln!(
        "{files}: generated {:.1} MiB, {workloads} workloads in {:.0} ms",
        g.bytes as f64 / 1048576.0,
        t.elapsed().as_secs_f64() * 1000.0
    );
    let edits = baseline::plan(&repo, &policies)?;
    let edits_path = dir.join("edits.json");
    std::fs::write(&edits_path, baseline::edits_json(&edits))?;
    let mut row = Row::new(files, workloads, g.bytes, g.expected_changes);
    let mut fail = |what: String| failures.push(format!("{files} files: {what}"));
    for r in 0..a.runs {
        let copy = dir.join(format!("attune-{r}"));
        copy_tree(&repo, &copy)?;
        let ran = timed(
            attune,
            &[
                "propose".as_ref(),
                "--policies".as_ref(),
                policies.as_os_str(),
                "--repo".as_ref(),
                copy.as_os_str(),
                "--write".as_ref(),
            ],
            &dir,
        )?;
        check_attune(&ran, &g, &copy, &edits, &mut fail);
        if r == 0 {
            row.attune.churn = Some(baseline::churn(&copy, &edits)?);
            let again = timed(
                attune,
                &[
                    "propose".as_ref(),
                    "--policies".as_ref(),
                    policies.as_os_str(),
                    "--repo".as_ref(),
                    copy.as_os_str(),
                ],
                &dir,
            )?;
            if again.code != 0 || !again.stdout.is_empty() {
                fail(format!(
                    "a second run on the written copy changes something (exit {})",
                    again.code
                ));
            }
        }
        row.attune.add(&ran);
        std::fs::remove_dir_all(&copy)?;
        if let Some(python) = python {
            let copy = dir.join(format!("ruamel-{r}"));
            copy_tree(&repo, &copy)?;
            let ran = timed(
                python,
                &[script.as_os_str(), copy.as_os_str(), edits_path.as_os_str()],
                &dir,
            )?;
            if ran.code != 0 {
                fail(format!("ruamel exited {}: {}", ran.code, ran.stderr.trim()));
            } else if let Err(e) = baseline::verify(&copy, &edits) {
                fail(format!("ruamel's output lacks a planned value: {e}"));
            }
            if r == 0 {
                row.ruamel.churn = Some(baseline::churn(&copy, &edits)?);
            }
            row.ruamel.add(&ran);
            std::fs::remove_dir_all(&copy)?;
        }
        eprintln!("{files}: run {} of {}", r + 1, a.runs);
    }
    let phase_copy = dir.join("phases");
    copy_tree(&repo, &phase_copy)?;
    row.phases = report::phases(&policies, &phase_copy)?;
    row.files_changed = edits.len();
    if !a.keep {
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(row)
}

fn check_attune(
    ran: &Ran,
    g: &synth::Gen,
    copy: &Path,
    edits: &[baseline::FileEdits],
    fail: &mut impl FnMut(String),
) {
    if ran.code != 0 {
        fail(format!(
            "attune exited {}: {}",
            ran.code,
            ran.stderr.lines().take(5).collect::<Vec<_>>().join(" / ")
        ));
        return;
    }
    let summary = ran
        .stderr
        .lines()
        .find(|l| l.starts_with("attune: "))
        .unwrap_or("");
    match parse_summary(summary) {
        Some((changes, _, 0)) if changes == g.expected_changes => {}
        _ => fail(format!(
            "attune: {summary:?}, expected {} values and no problem",
            g.expected_changes
        )),
    }
    if let Err(e) = baseline::verify(copy, edits) {
        fail(format!("attune's output lacks a planned value: {e}"));
    }
}

impl Tool {
    fn add(&mut self, ran: &Ran) {
        self.wall_ms.push(ran.wall_ms);
        self.cpu_ms.push(ran.cpu_ms);
        self.rss_mib.push(ran.rss_kib as f64 / 1024.0);
    }
}
