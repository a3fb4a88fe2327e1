//! The propose bench's pass/fail check (`benches/propose/check.rs`) on a real run of the
//! binary and on runs that fall short in each way the bench must not let pass: a non-zero
//! exit, a summary with fewer values or a problem, a workload left unedited, a workload given
//! another value, and nothing written at all.

use std::path::Path;
use std::process::Command;

// One copy of the generator in this test crate (clippy: duplicate_mod); `baseline` finds it here.
use super::propose_fast_path::synth;

#[allow(dead_code)]
#[path = "../../benches/propose/baseline.rs"]
mod baseline;

#[allow(dead_code)]
#[path = "../../benches/propose/proc.rs"]
mod proc;

#[path = "../../benches/propose/check.rs"]
mod check;

use proc::Ran;

fn propose_write(policies: &Path, repo: &Path) -> Ran {
    let out = Command::new(env!("CARGO_BIN_EXE_attune"))
        .args(["propose", "--write", "--policies"])
        .arg(policies)
        .arg("--repo")
        .arg(repo)
        .output()
        .unwrap();
    Ran {
        wall_ms: 0.0,
        cpu_ms: 0.0,
        rss_kib: 0,
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn with_stderr(ran: &Ran, code: i32, stderr: String) -> Ran {
    Ran {
        wall_ms: 0.0,
        cpu_ms: 0.0,
        rss_kib: 0,
        code,
        stdout: ran.stdout.clone(),
        stderr,
    }
}

#[test]
fn the_bench_fails_unless_every_workload_is_edited_correctly() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    let g = synth::generate(&root, 1000, 100, 0x5EED_A77E, false).unwrap();
    let policies = dir.path().join("policies.yaml");
    std::fs::write(&policies, &g.policies).unwrap();
    let edits = baseline::plan(&root, &policies).unwrap();
    let expected = g.expected_changes;
    assert!(expected > 100, "{expected}");

    // The real run passes, and the files hold exactly the expected changes.
    let good = dir.path().join("good");
    proc::copy_tree(&root, &good).unwrap();
    let ran = propose_write(&policies, &good);
    assert_eq!(
        check::attune_run(&ran, expected, &good, &edits),
        Vec::<String>::new()
    );
    assert_eq!(check::changed_values(&good, &edits).unwrap(), expected);
    let summary = ran.stderr.clone();
    let fails = |ran: &Ran, copy: &Path| check::attune_run(ran, expected, copy, &edits);
    let has = |f: &[String], what: &str| f.iter().any(|l| l.contains(what));

    // A non-zero exit fails whatever the files hold.
    let f = fails(&with_stderr(&ran, 1, summary.clone()), &good);
    assert!(has(&f, "attune exited 1"), "{f:?}");

    // A summary with one value fewer, or with a problem.
    let fewer = summary.replace(
        &format!("attune: {expected} value(s)"),
        &format!("attune: {} value(s)", expected - 1),
    );
    assert_ne!(fewer, summary);
    let f = fails(&with_stderr(&ran, 0, fewer), &good);
    assert!(has(&f, "expected"), "{f:?}");
    let problem = summary.replace(" 0 problem(s)", " 1 problem(s)");
    assert_ne!(problem, summary);
    let f = fails(&with_stderr(&ran, 0, problem), &good);
    assert!(has(&f, "no problem"), "{f:?}");

    // One workload file left as it was: not edited, though the summary says so.
    let quantity = |s: &attune::yamledit::Set| check::is_quantity(&s.value);
    let edited = edits
        .iter()
        .find(|e| e.before.is_some() && e.sets.iter().any(quantity))
        .unwrap();
    let unedited = dir.path().join("unedited");
    proc::copy_tree(&good, &unedited).unwrap();
    let before = edited.before.as_deref().unwrap();
    std::fs::write(unedited.join(&edited.path), before).unwrap();
    let f = fails(&ran, &unedited);
    assert!(has(&f, "lacks a planned value"), "{f:?}");
    assert!(has(&f, "changed values"), "{f:?}");

    // One value written other than planned.
    let set = edited.sets.iter().find(|s| quantity(s)).unwrap();
    let wrong = dir.path().join("wrong");
    proc::copy_tree(&good, &wrong).unwrap();
    let path = wrong.join(&edited.path);
    let text = std::fs::read_to_string(&path).unwrap();
    let needle = format!(": {}\n", set.value);
    let changed = text.replacen(&needle, ": 7777m\n", 1);
    assert_ne!(changed, text, "{needle:?} not in {}", edited.path);
    std::fs::write(&path, changed).unwrap();
    let f = fails(&ran, &wrong);
    assert!(has(&f, "lacks a planned value"), "{f:?}");

    // Nothing written at all: the new patch files are missing, the edited ones unchanged.
    let f = fails(&ran, &root);
    assert!(has(&f, "lacks a planned value"), "{f:?}");
    assert!(has(&f, "cannot count the changed values"), "{f:?}");
    let old: Vec<_> = edits
        .iter()
        .filter(|e| e.before.is_some())
        .cloned()
        .collect();
    assert_eq!(check::changed_values(&root, &old).unwrap(), 0);
}
