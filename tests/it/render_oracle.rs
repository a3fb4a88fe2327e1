//! The render oracle: the real Kustomize judges what `propose --write` did, not our model of it.
//!
//! For every golden fixture with kustomizations and for generated layouts (a base shared by one
//! to three overlays, a component, existing strategic-merge, JSON 6902 and inline patches,
//! multi-container workloads with init containers, name prefixes, `$patch: delete`), each root
//! is rendered with `kubectl kustomize` before and after the run. Exactly the reported container
//! fields may change, only in the root that deploys the workload and the roots that build on
//! it, with every list and the object order kept; every root that built still builds; every
//! wanted value is in effect unless a problem names it; and a second run changes nothing.
//!
//! kubectl must be on PATH (kustomize v5 is built in); without it the tests fail and say how
//! to get it, they never pass by skipping.

mod helm;
mod judge;
mod layout;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use attune::propose::{self, Format, Place};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::Value;

use judge::{FieldValue, Renders, Report, Scene, judge};

fn kubectl() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the render oracle needs kubectl on PATH: it renders every root with `kubectl \
                 kustomize` (kustomize v5 is built into kubectl ≥ 1.27). Install it from \
                 https://kubernetes.io/docs/tasks/tools/ (e.g. `curl -LO \
                 https://dl.k8s.io/release/v1.33.0/bin/linux/amd64/kubectl && sudo install \
                 kubectl /usr/local/bin/`) and run the tests again"
            )
        })
}

const KUSTOMIZATION_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Every kustomization below `repo`: directory (relative, `/`-separated) → its parsed text.
fn kustomizations(repo: &Path) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut stack = vec![repo.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !KUSTOMIZATION_NAMES.contains(&name.as_str()) {
                continue;
            }
            let rel = dir
                .strip_prefix(repo)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path).unwrap();
            let value: Value = serde_saphyr::from_str(&text).unwrap_or(Value::Null);
            out.insert(rel, value);
        }
    }
    out
}

fn join(dir: &str, reference: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in reference.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// What each kustomization names: (kustomization directories, other files).
fn uses(all: &BTreeMap<String, Value>) -> BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    all.iter()
        .map(|(dir, k)| {
            let list = |key: &str| k[key].as_array().cloned().unwrap_or_default();
            let named: Vec<String> = ["resources", "bases", "components", "patchesStrategicMerge"]
                .iter()
                .flat_map(|key| list(key))
                .filter_map(|r| r.as_str().map(str::to_owned))
                .chain(
                    ["patches", "patchesJson6902"]
                        .iter()
                        .flat_map(|key| list(key))
                        .filter_map(|p| p["path"].as_str().map(str::to_owned)),
                )
                .filter_map(|r| join(dir, &r))
                .collect();
            let (dirs, files) = named.into_iter().partition(|d| all.contains_key(d));
            (dir.clone(), (dirs, files))
        })
        .collect()
}

/// A root to render: the kustomization directories it builds on (itself included), and
/// every other file they name.
struct Root {
    includes: BTreeSet<String>,
    files: BTreeSet<String>,
}

impl Root {
    /// Whether a changed file can change this root's render: it is named, or below one of
    /// its kustomizations (generators' inputs, new patch files).
    fn reads(&self, changed: &str) -> bool {
        self.files.contains(changed)
            || self
                .includes
                .iter()
                .any(|d| d.is_empty() || changed.starts_with(&format!("{d}/")))
    }
}

/// Roots to render: kustomizations nothing else uses, plus the `--path` one.
fn roots(repo: &Path, target: Option<&str>) -> BTreeMap<String, Root> {
    let all = kustomizations(repo);
    let uses = uses(&all);
    let used: BTreeSet<&String> = uses.values().flat_map(|(dirs, _)| dirs).collect();
    let mut out = BTreeMap::new();
    for (dir, k) in &all {
        let component = k["kind"].as_str() == Some("Component");
        if component || (used.contains(dir) && Some(dir.as_str()) != target) {
            continue;
        }
        let mut root = Root {
            includes: BTreeSet::new(),
            files: BTreeSet::new(),
        };
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            if root.includes.insert(d.clone())
                && let Some((dirs, files)) = uses.get(&d)
            {
                stack.extend(dirs.iter().cloned());
                root.files.extend(files.iter().cloned());
            }
        }
        out.insert(dir.clone(), root);
    }
    out
}

fn render(kubectl: &Path, dir: &Path) -> Result<Vec<Value>, String> {
    let out = std::process::Command::new(kubectl)
        .arg("kustomize")
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", kubectl.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    serde_saphyr::from_multiple::<Value>(&text).map_err(|e| format!("unreadable render: {e}"))
}

/// Renders every root, on two threads (the machines running this have two cores).
fn render_all(repo: &Path, roots: &[&String]) -> Renders {
    let kubectl = kubectl();
    let next = AtomicUsize::new(0);
    let results = std::sync::Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(root) = roots.get(i) else { break };
                    let r = render(&kubectl, &repo.join(root));
                    results.lock().unwrap().insert((*root).clone(), r);
                }
            });
        }
    });
    results.into_inner().unwrap()
}

/// Files (relative, `/`-separated) whose bytes differ between two snapshots.
fn changed(
    repo: &Path,
    a: &BTreeMap<PathBuf, Vec<u8>>,
    b: &BTreeMap<PathBuf, Vec<u8>>,
) -> Vec<String> {
    a.keys()
        .chain(b.keys())
        .filter(|p| a.get(*p) != b.get(*p))
        .map(|p| {
            p.strip_prefix(repo)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect()
}

fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn propose(policies: &Path, repo: &Path, place: &Place) -> (i32, Value, String) {
    let opts = propose::Options {
        policies: policies.to_path_buf(),
        repo: repo.to_path_buf(),
        place: place.clone(),
        write: true,
        output: Format::Json,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = propose::run(&opts, &mut out, &mut err).unwrap();
    let report = serde_json::from_slice(&out).unwrap();
    (code, report, String::from_utf8_lossy(&err).into_owned())
}

fn wants(policies: &Path) -> Vec<FieldValue> {
    let text = std::fs::read_to_string(policies).unwrap();
    let policies = attune::crd::load_policy_files(&text).unwrap();
    let mut out = Vec::new();
    for w in propose::wants(&policies) {
        for c in &w.containers {
            for (field, value) in &c.fields {
                out.push(FieldValue {
                    namespace: w.namespace.clone(),
                    kind: w.kind.clone(),
                    workload: w.workload.clone(),
                    container: c.name.clone(),
                    field: field.name().to_owned(),
                    value: value.clone(),
                });
            }
        }
    }
    out
}

/// What one oracle run found.
struct Verdict {
    failures: Vec<String>,
    report: Value,
    roots: usize,
    renders: usize,
}

/// Renders, runs `propose --write`, renders again, judges, and runs a second time.
fn oracle(repo: &Path, policies: &Path, place: &Place) -> Verdict {
    let target = match place {
        Place::Path { dir, .. } => Some(dir.trim_matches('/').to_owned()),
        _ => None,
    };
    let roots = roots(repo, target.as_deref());
    let names: Vec<&String> = roots.keys().collect();
    let before = render_all(repo, &names);
    let original = tree(repo);
    let (_, report, stderr) = propose(policies, repo, place);
    let written = tree(repo);
    // A root that reads no changed file renders as before; only the others are rendered again.
    let changed = changed(repo, &original, &written);
    let again: Vec<&String> = roots
        .iter()
        .filter(|(_, r)| changed.iter().any(|c| r.reads(c)))
        .map(|(name, _)| name)
        .collect();
    let mut after = render_all(repo, &again);
    for (name, render) in &before {
        if !after.contains_key(name) {
            after.insert(name.clone(), render.clone());
        }
    }
    let includes = roots
        .iter()
        .map(|(name, r)| (name.clone(), r.includes.clone()))
        .collect();
    let scene = Scene {
        before: &before,
        after: &after,
        includes: &includes,
        target: target.as_deref(),
    };
    let mut failures = judge(&scene, &Report::from_json(&report), &wants(policies));
    let (_, second, _) = propose(policies, repo, place);
    if tree(repo) != written {
        failures.push("a second run changed files".to_owned());
    }
    if second["changes"].as_array().is_some_and(|c| !c.is_empty()) {
        failures.push(format!(
            "a second run reports changes: {}",
            second["changes"]
        ));
    }
    if !failures.is_empty() {
        failures.push(format!("propose said:\n{stderr}"));
    }
    Verdict {
        failures,
        report,
        roots: names.len(),
        renders: names.len() + again.len(),
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for (path, bytes) in tree(from) {
        let dest = to.join(path.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, bytes).unwrap();
    }
}

fn place_of(args: &[String]) -> Place {
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    match (value("--path"), value("--scope")) {
        (Some(dir), _) => Place::Path {
            dir,
            recurse: args.iter().any(|a| a == "--recurse"),
        },
        (None, Some(dir)) => Place::Scope(dir),
        (None, None) => Place::Everywhere,
    }
}

#[test]
fn golden_fixtures_render_as_intended() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/repos");
    let started = std::time::Instant::now();
    let (mut judged, mut renders) = (0, 0);
    let mut failures = Vec::new();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    for case in cases {
        let original = case.join("original");
        if kustomizations(&original).is_empty() {
            continue;
        }
        let args: Vec<String> = std::fs::read_to_string(case.join("case.yaml"))
            .ok()
            .and_then(|t| serde_saphyr::from_str::<Value>(&t).ok())
            .and_then(|v| serde_json::from_value(v["args"].clone()).ok())
            .unwrap_or_default();
        let work = tempfile::tempdir().unwrap();
        copy_tree(&original, work.path());
        let verdict = oracle(work.path(), &case.join("policies.yaml"), &place_of(&args));
        judged += 1;
        renders += verdict.renders;
        if !verdict.failures.is_empty() {
            failures.push(format!(
                "{}:\n{}",
                case.file_name().unwrap().to_string_lossy(),
                verdict.failures.join("\n")
            ));
        }
    }
    eprintln!(
        "render oracle: {judged} fixtures, {renders} kubectl kustomize renders in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(judged >= 15, "only {judged} fixtures have kustomizations");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(Config { cases: cases(), ..Config::default() })]

    /// Generated layouts: the renders change exactly as wanted, and only a workload that a
    /// component deletes, or (with `--path`) that another overlay deploys, is reported.
    #[test]
    fn generated_layouts_render_as_intended(layout in layout::layout()) {
        let work = tempfile::tempdir().unwrap();
        layout.write(work.path());
        let policies = work.path().join("policies.yaml");
        std::fs::write(&policies, layout.policies()).unwrap();
        let repo = work.path().join("repo");
        let place = match layout.path {
            Some(o) => Place::Path { dir: format!("overlays/o{o}"), recurse: false },
            None => Place::Everywhere,
        };
        let verdict = oracle(&repo, &policies, &place);
        prop_assert!(verdict.roots == layout.overlays.len(), "roots: {}", verdict.roots);
        prop_assert!(verdict.failures.is_empty(), "{}", verdict.failures.join("\n"));
        let mut reported: Vec<String> = verdict.report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("{}/{}", p["namespace"].as_str().unwrap(), p["workload"].as_str().unwrap()))
            .collect();
        reported.sort();
        reported.dedup();
        prop_assert_eq!(reported, layout.unlocated_wants(), "{:#}", verdict.report["problems"]);
    }
}
