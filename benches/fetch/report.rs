//! The fetch bench's table: one row per step, bytes and objects received, against the cold fetch.

use std::fmt::Write as _;
use std::time::Duration;

use crate::APPS;
use crate::measure::ms;

pub struct Row {
    pub step: String,
    pub new_commits: Option<usize>,
    pub bytes: u64,
    pub objects: u64,
    pub wall: Duration,
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio(part: f64, whole: f64) -> String {
    if whole > 0.0 {
        format!("{:.2}%", 100.0 * part / whole)
    } else {
        "n/a".to_owned()
    }
}

/// Prints the table; the first row is the cold fetch the others are compared with.
pub fn print(rows: &[Row], commits: usize, repo_bytes: u64) {
    let cold_bytes = rows.first().map_or(0.0, |r| r.bytes as f64);
    let cold_wall = rows.first().map_or(0.0, |r| ms(r.wall));
    let mut table = String::new();
    let _ = writeln!(
        table,
        "| step | new commits | received bytes | objects | bytes / new commit | wall ms | bytes vs cold | wall vs cold |"
    );
    let _ = writeln!(table, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let per_commit = match r.new_commits {
            Some(n) if n > 0 && r.bytes > 0 => thousands(r.bytes / n as u64),
            _ => "–".to_owned(),
        };
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {per_commit} | {:.0} | {} | {} |",
            r.step,
            r.new_commits
                .map_or("–".to_owned(), |n| thousands(n as u64)),
            thousands(r.bytes),
            thousands(r.objects),
            ms(r.wall),
            ratio(r.bytes as f64, cold_bytes),
            ratio(ms(r.wall), cold_wall),
        );
    }
    println!();
    println!(
        "repository: {} commits on main, {APPS} apps/<name>/deployment.yaml, objects on the server {}",
        commits,
        thousands(repo_bytes)
    );
    println!();
    print!("{table}");
    println!();
    println!(
        "wall ms = Workspace::open + remote_heads (+ fetch); 2a is what every run with nothing new costs."
    );
    println!(
        "received bytes = what libgit2 read off the wire for the pack (FetchStats; pkt-line and \
         side-band framing and the server's progress messages included); the git CLI row is the \
         size of the pack it kept."
    );
    println!(
        "Small fetches cost more per commit: the server sends the first new version of each \
         changed directory tree whole, not as a delta (apps/ lists {APPS} entries)."
    );
    println!(
        "The lifecycle fetches full depth on purpose: libgit2 1.9's push fails from a shallow clone \
         (its revwalk walks past the shallow boundary, \"object not found\"; see src/pr/sync.rs). \
         Depth 1 is shown for comparison only; full depth is paid once, later runs fetch what is new."
    );
}
