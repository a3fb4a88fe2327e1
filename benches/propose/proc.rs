//! Running one tool as a child process: wall time from here, CPU and peak RSS from
//! `/usr/bin/time` (GNU time), and the statistics the bench prints.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use super::synth::Res;

pub struct Ran {
    pub wall_ms: f64,
    pub cpu_ms: f64,
    pub rss_kib: u64,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program args` under `/usr/bin/time`; the scratch directory holds its report.
pub fn timed(program: &Path, args: &[&std::ffi::OsStr], scratch: &Path) -> Res<Ran> {
    let report = scratch.join("time.txt");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f")
        .arg("%e %U %S %M")
        .arg("-o")
        .arg(&report)
        .arg(program)
        .args(args)
        .stdin(Stdio::null());
    let start = Instant::now();
    let out = cmd.output()?;
    let wall_ms = start.elapsed().as_secs_f64() * 1000.0;
    let t = std::fs::read_to_string(&report)?;
    // The last line holds the format (a non-zero exit adds a "Command exited" line first).
    let f: Vec<&str> = t.lines().last().unwrap_or("").split_whitespace().collect();
    let [_, user, sys, rss] = f.as_slice() else {
        return Err(format!("cannot read /usr/bin/time's report: {t:?}").into());
    };
    Ok(Ran {
        wall_ms,
        cpu_ms: (user.parse::<f64>()? + sys.parse::<f64>()?) * 1000.0,
        rss_kib: rss.parse()?,
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Median, minimum and maximum.
#[derive(Clone, Copy)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

pub fn spread(values: &[f64]) -> Spread {
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    let median = if s.is_empty() {
        f64::NAN
    } else if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
    };
    Spread {
        median,
        min: s.first().copied().unwrap_or(f64::NAN),
        max: s.last().copied().unwrap_or(f64::NAN),
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.0} ({:.0}–{:.0})", self.median, self.min, self.max)
    }
}

/// A copy of the repository for one timed run, written out to the disk before the clock
/// starts (`sync`, untimed): otherwise the run is timed while the kernel still writes back the
/// copy's 50 MB and the journal work of removing the previous copy, and measures those.
pub fn fresh_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    copy_tree(from, to)?;
    rustix::fs::sync();
    Ok(())
}

pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// `attune: 1234 value(s) in 567 file(s) (89 new) written, 0 problem(s)` → (1234, 567, 0).
pub fn parse_summary(s: &str) -> Option<(usize, usize, usize)> {
    let num_before = |marker: &str| -> Option<usize> {
        let end = s.find(marker)?;
        let start = s[..end].rfind([' ', '('])? + 1;
        s[start..end].parse().ok()
    };
    Some((
        num_before(" value(s)")?,
        num_before(" file(s)")?,
        num_before(" problem(s)")?,
    ))
}
