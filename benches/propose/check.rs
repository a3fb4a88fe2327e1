//! What makes the propose bench fail: an attune run passes only when it exits 0, reports
//! exactly the values the generator expects with no problem, leaves every planned value in the
//! files, and changed exactly that many values there (read back from the files, not taken
//! from attune's own summary). Shared with `tests/it/propose_bench_check.rs`, which shows that
//! each way of failing is caught.

use std::path::Path;

use attune::yamledit::{self, Node, Set};

use super::baseline::{self, FileEdits, at};
use super::proc::{Ran, parse_summary};

/// Every reason the run in `copy` is not what the generator expects; empty when it is.
pub fn attune_run(ran: &Ran, expected: usize, copy: &Path, edits: &[FileEdits]) -> Vec<String> {
    if ran.code != 0 {
        let why: Vec<&str> = ran.stderr.lines().take(5).collect();
        return vec![format!("attune exited {}: {}", ran.code, why.join(" / "))];
    }
    let mut out = Vec::new();
    let summary = ran
        .stderr
        .lines()
        .find(|l| l.starts_with("attune: "))
        .unwrap_or("");
    match parse_summary(summary) {
        Some((changes, _, 0)) if changes == expected => {}
        _ => out.push(format!(
            "attune: {summary:?}, expected {expected} values and no problem"
        )),
    }
    if let Err(e) = baseline::verify(copy, edits) {
        out.push(format!("attune's output lacks a planned value: {e}"));
    }
    match changed_values(copy, edits) {
        Ok(n) if n == expected => {}
        Ok(n) => out.push(format!(
            "the files hold {n} changed values, the generator expects {expected}"
        )),
        Err(e) => out.push(format!("cannot count the changed values: {e}")),
    }
    out
}

/// How many planned resource values (quantities: the plan also sets names, kinds and list
/// entries of new patches) in the files under `root` equal the planned value and differ from
/// the original text's value at the same place, or are new there.
pub fn changed_values(root: &Path, files: &[FileEdits]) -> Result<usize, String> {
    let mut n = 0;
    for f in files {
        let text = std::fs::read_to_string(root.join(&f.path))
            .map_err(|e| format!("{}: cannot read: {e}", f.path))?;
        let after = yamledit::parse(&text).map_err(|e| format!("{}: {e}", f.path))?;
        let before = f.before.as_deref().and_then(|t| yamledit::parse(t).ok());
        n += count(before.as_ref(), &after, &f.sets);
        for e in &f.embedded {
            let inner = |s: Option<&yamledit::Stream>| {
                s.and_then(|s| at(s, e.doc, &e.path))
                    .and_then(Node::as_str)
                    .and_then(|t| yamledit::parse(t).ok())
            };
            if let Some(after) = inner(Some(&after)) {
                n += count(inner(before.as_ref()).as_ref(), &after, &e.sets);
            }
        }
    }
    Ok(n)
}

fn count(before: Option<&yamledit::Stream>, after: &yamledit::Stream, sets: &[Set]) -> usize {
    fn value<'a>(s: &'a yamledit::Stream, set: &Set) -> Option<&'a str> {
        at(s, set.doc, &set.path).and_then(Node::as_str)
    }
    sets.iter()
        .filter(|set| {
            is_quantity(&set.value)
                && value(after, set) == Some(set.value.as_str())
                && before.and_then(|b| value(b, set)) != Some(set.value.as_str())
        })
        .count()
}

/// `250m`, `1.5`, `512Mi`, `1e3`: a Kubernetes quantity's shape, enough to tell a resource
/// value from a name, a kind or a path.
pub fn is_quantity(v: &str) -> bool {
    const SUFFIXES: [&str; 13] = [
        "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "m", "k", "M", "G", "T", "P", "E",
    ];
    let number = SUFFIXES.iter().find_map(|s| v.strip_suffix(s)).unwrap_or(v);
    !number.is_empty()
        && number.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && number.parse::<f64>().is_ok()
}
