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
mod check;
mod proc;
mod report;
mod synth;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use proc::{Ran, fresh_copy, timed};
use report::{Row, Tool};
use synth::Res;

struct Args {
    sizes: Vec<usize>,
    runs: usize,
    seed: u64,
    keep: bool,
    baseline: bool,
    /// The attune binary to time; the one cargo built unless `--attune PATH`.
    attune: PathBuf,
}

fn args() -> Res<Args> {
    let mut a = Args {
        sizes: vec![1_000, 10_000, 50_000],
        runs: 5,
        seed: 0x5EED_A77E,
        keep: false,
        baseline: true,
        attune: PathBuf::from(env!("CARGO_BIN_EXE_attune")),
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
            "--attune" => a.attune = val()?.into(),
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
    let mut bench = Bench {
        script: Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/propose/ruamel_edit.py"),
        a,
        python,
        base,
        failures: Vec::new(),
    };
    let mut rows = Vec::new();
    for files in bench.a.sizes.clone() {
        rows.push(bench.size(files)?);
    }
    println!("load average at end {}", loadavg());
    report::print(&rows);
    if !bench.a.keep {
        std::fs::remove_dir_all(&bench.base)?;
    } else {
        eprintln!("kept {}", bench.base.display());
    }
    for f in &bench.failures {
        println!("FAIL: {f}");
    }
    if bench.failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{} check(s) failed", bench.failures.len()).into())
    }
}

/// The whole run: options, the baseline's python, the scratch directory, what failed so far.
struct Bench {
    a: Args,
    python: Option<PathBuf>,
    script: PathBuf,
    base: PathBuf,
    failures: Vec<String>,
}

/// One generated repository, its policies and attune's plan for it.
struct Sized {
    files: usize,
    dir: PathBuf,
    repo: PathBuf,
    policies: PathBuf,
    edits_path: PathBuf,
    g: synth::Gen,
    edits: Vec<baseline::FileEdits>,
}

impl Bench {
    fn fail(&mut self, files: usize, what: String) {
        self.failures.push(format!("{files} files: {what}"));
    }

    fn generate(&self, files: usize) -> Res<Sized> {
        let dir = self.base.join(format!("{files}"));
        let repo = dir.join("repo");
        let workloads = files / 10;
        let t = Instant::now();
        let g = synth::generate(&repo, files, workloads, self.a.seed, false)?;
        let policies = dir.join("policies.yaml");
        std::fs::write(&policies, g.policies_list())?;
        eprintln!(
            "{files}: generated {:.1} MiB, {workloads} workloads in {:.0} ms",
            g.bytes as f64 / 1048576.0,
            t.elapsed().as_secs_f64() * 1000.0
        );
        let edits = baseline::plan(&repo, &policies)?;
        let edits_path = dir.join("edits.json");
        std::fs::write(&edits_path, baseline::edits_json(&edits))?;
        Ok(Sized {
            files,
            dir,
            repo,
            policies,
            edits_path,
            g,
            edits,
        })
    }

    /// Every run at one size.
    fn size(&mut self, files: usize) -> Res<Row> {
        let s = self.generate(files)?;
        let mut row = Row::new(files, s.g.workloads, s.g.bytes, s.g.expected_changes);
        for r in 0..self.a.runs {
            self.attune(&s, r, &mut row)?;
            self.ruamel(&s, r, &mut row)?;
            eprintln!("{files}: run {} of {}", r + 1, self.a.runs);
        }
        let phase_copy = s.dir.join("phases");
        fresh_copy(&s.repo, &phase_copy)?;
        row.phases = report::phases(&s.policies, &phase_copy)?;
        row.files_changed = s.edits.len();
        if !self.a.keep {
            std::fs::remove_dir_all(&s.dir)?;
        }
        Ok(row)
    }

    /// `attune propose` on `copy`, written to it with `write`.
    fn propose(&self, s: &Sized, copy: &Path, write: bool) -> Res<Ran> {
        let mut args = vec![
            OsStr::new("propose"),
            "--policies".as_ref(),
            s.policies.as_os_str(),
            "--repo".as_ref(),
            copy.as_os_str(),
        ];
        if write {
            args.push("--write".as_ref());
        }
        timed(&self.a.attune, &args, &s.dir)
    }

    /// One timed `propose --write` on a fresh copy, checked; the first also for churn and for
    /// a second run that must change nothing.
    fn attune(&mut self, s: &Sized, r: usize, row: &mut Row) -> Res<()> {
        let copy = s.dir.join(format!("attune-{r}"));
        fresh_copy(&s.repo, &copy)?;
        let ran = self.propose(s, &copy, true)?;
        for f in check::attune_run(&ran, s.g.expected_changes, &copy, &s.edits) {
            self.fail(s.files, f);
        }
        if r == 0 {
            let churn = baseline::churn(&copy, &s.edits)?;
            if churn.0 > 0 {
                let what = format!("attune changed {} lines beyond the planned values", churn.0);
                self.fail(s.files, what);
            }
            row.attune.churn = Some(churn);
            let again = self.propose(s, &copy, false)?;
            if again.code != 0 || !again.stdout.is_empty() {
                let what = format!(
                    "a second run on the written copy changes something (exit {})",
                    again.code
                );
                self.fail(s.files, what);
            }
        }
        row.attune.add(&ran);
        std::fs::remove_dir_all(&copy)?;
        Ok(())
    }

    /// One timed ruamel.yaml run on a fresh copy, checked.
    fn ruamel(&mut self, s: &Sized, r: usize, row: &mut Row) -> Res<()> {
        let Some(python) = self.python.clone() else {
            return Ok(());
        };
        let copy = s.dir.join(format!("ruamel-{r}"));
        fresh_copy(&s.repo, &copy)?;
        let args = [
            self.script.as_os_str(),
            copy.as_os_str(),
            s.edits_path.as_os_str(),
        ];
        let ran = timed(&python, &args, &s.dir)?;
        if ran.code != 0 {
            let what = format!("ruamel exited {}: {}", ran.code, ran.stderr.trim());
            self.fail(s.files, what);
        } else if let Err(e) = baseline::verify(&copy, &s.edits) {
            self.fail(
                s.files,
                format!("ruamel's output lacks a planned value: {e}"),
            );
        }
        if r == 0 {
            row.ruamel.churn = Some(baseline::churn(&copy, &s.edits)?);
        }
        row.ruamel.add(&ran);
        std::fs::remove_dir_all(&copy)?;
        Ok(())
    }
}

impl Tool {
    fn add(&mut self, ran: &Ran) {
        self.wall_ms.push(ran.wall_ms);
        self.cpu_ms.push(ran.cpu_ms);
        self.rss_mib.push(ran.rss_kib as f64 / 1024.0);
    }
}
