//! `kubectl attune diff`: current against recommended resources per workload, as unified-diff
//! text (`--- a/ns/Kind/name`, `+++ b/… (recommended by policy P)`, `@@ container: C @@`) or,
//! with `-o yaml`, as one strategic-merge patch per workload to commit to Git.
//!
//! Only containers whose recommendation differs from what runs are shown; policies without
//! recommendations and workloads of a kind without a known pod template path become notes
//! (stderr), so stdout stays a diff or a YAML stream.

use serde_json::{Map, Value, json};

use super::view::PolicyView;
use crate::crd::{ContainerRecommendation, ResourceValues, WorkloadRecommendation};
use crate::quantity;

/// The four values a container's resources hold, in the order they are shown.
const FIELDS: [(&str, &str); 4] = [
    ("requests", "cpu"),
    ("requests", "memory"),
    ("limits", "cpu"),
    ("limits", "memory"),
];

fn value<'a>(values: &'a ResourceValues, (group, resource): (&str, &str)) -> Option<&'a str> {
    match (group, resource) {
        ("requests", "cpu") => values.cpu_request.as_deref(),
        ("requests", _) => values.memory_request.as_deref(),
        (_, "cpu") => values.cpu_limit.as_deref(),
        _ => values.memory_limit.as_deref(),
    }
    .map(str::trim)
    .filter(|v| !v.is_empty())
}

/// Equal as quantities (`1` and `1000m`), or as text when either does not parse.
fn same(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| quantity::semantically_equal(a, b).unwrap_or(a == b))
}

/// Whether any recommended value differs from the current one.
fn changed(c: &ContainerRecommendation) -> bool {
    let current = c.current.clone().unwrap_or_default();
    FIELDS
        .iter()
        .any(|&f| value(&c.recommended, f).is_some_and(|rec| !same(value(&current, f), rec)))
}

/// Names from the status as one printable line: control characters become `?`, so a crafted
/// name cannot start a line of its own.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn sorted(policies: &[PolicyView]) -> Vec<&PolicyView> {
    let mut rows: Vec<&PolicyView> = policies.iter().collect();
    rows.sort_by_key(|p| (p.namespace.clone(), p.name.clone()));
    rows
}

/// Notes for stderr: policies that have nothing to compare yet, and an empty result.
fn notes(policies: &[&PolicyView], shown: usize) -> Vec<String> {
    let mut notes: Vec<String> = policies
        .iter()
        .filter(|p| p.status.recommendations.is_empty())
        .map(|p| {
            format!(
                "{}/{}: no recommendations yet ({})",
                p.namespace,
                p.name,
                clean(&p.ready_cell())
            )
        })
        .collect();
    if policies.is_empty() {
        notes.push("No AttunePolicies found.".to_owned());
    } else if shown == 0 {
        notes
            .push("No differences: every workload runs with its recommended resources.".to_owned());
    }
    notes
}

/// The unified text (stdout) and the notes (stderr, one line each).
pub fn render(policies: &[PolicyView]) -> (String, Vec<String>) {
    let rows = sorted(policies);
    let mut out = String::new();
    let mut shown = 0;
    for p in &rows {
        for w in &p.status.recommendations {
            let containers: Vec<&ContainerRecommendation> =
                w.containers.iter().filter(|c| changed(c)).collect();
            if containers.is_empty() {
                continue;
            }
            shown += 1;
            let id = format!("{}/{}/{}", p.namespace, clean(&w.kind), clean(&w.workload));
            out.push_str(&format!(
                "--- a/{id}\n+++ b/{id} (recommended by policy {})\n",
                p.name
            ));
            for c in containers {
                out.push_str(&hunk(c));
            }
        }
    }
    (out, notes(&rows, shown))
}

/// One container: `-`/`+` for a changed value, a space for one that stays.
fn hunk(c: &ContainerRecommendation) -> String {
    let current = c.current.clone().unwrap_or_default();
    let mut out = format!("@@ container: {} @@\n", clean(&c.name));
    for f in FIELDS {
        let (now, rec) = (value(&current, f), value(&c.recommended, f));
        let key = format!("{}.{}", f.0, f.1);
        match (now, rec) {
            (Some(now), Some(rec)) if same(Some(now), rec) => {
                out.push_str(&format!("   {key}: {}\n", clean(now)));
            }
            (now, Some(rec)) => {
                if let Some(now) = now {
                    out.push_str(&format!("-  {key}: {}\n", clean(now)));
                }
                out.push_str(&format!("+  {key}: {}\n", clean(rec)));
            }
            (Some(now), None) => out.push_str(&format!("   {key}: {}\n", clean(now))),
            (None, None) => {}
        }
    }
    out
}

/// API version and the path from `spec` to the pod spec, per workload kind.
fn shape(kind: &str) -> Option<(&'static str, &'static [&'static str])> {
    const TEMPLATE: &[&str] = &["template", "spec"];
    Some(match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => ("apps/v1", TEMPLATE),
        "Job" => ("batch/v1", TEMPLATE),
        "CronJob" => ("batch/v1", &["jobTemplate", "spec", "template", "spec"]),
        "Rollout" => ("argoproj.io/v1alpha1", TEMPLATE),
        _ => return None,
    })
}

/// The strategic-merge patch for one workload: every recommended value of each changed
/// container (containers merge by name).
fn patch(namespace: &str, w: &WorkloadRecommendation) -> Option<Value> {
    let (api_version, path) = shape(&w.kind)?;
    let containers: Vec<Value> = w
        .containers
        .iter()
        .filter(|c| changed(c))
        .map(|c| {
            let mut resources = Map::new();
            for f in FIELDS {
                if let Some(rec) = value(&c.recommended, f) {
                    let group = resources.entry(f.0).or_insert_with(|| json!({}));
                    group[f.1] = json!(rec);
                }
            }
            json!({"name": c.name, "resources": resources})
        })
        .collect();
    let mut pod = json!({"containers": containers});
    for key in path.iter().rev() {
        pod = json!({ *key: pod });
    }
    Some(json!({
        "apiVersion": api_version,
        "kind": w.kind,
        "metadata": {"name": w.workload, "namespace": namespace},
        "spec": pod,
    }))
}

/// One YAML document per changed workload (stdout) and the notes (stderr).
pub fn patches(policies: &[PolicyView]) -> (String, Vec<String>) {
    let rows = sorted(policies);
    let mut docs = Vec::new();
    let mut skipped = Vec::new();
    for p in &rows {
        for w in p
            .status
            .recommendations
            .iter()
            .filter(|w| w.containers.iter().any(changed))
        {
            match patch(&p.namespace, w) {
                Some(doc) => docs.push(format!(
                    "# {}/{}/{} (recommended by policy {})\n{}",
                    p.namespace,
                    clean(&w.kind),
                    clean(&w.workload),
                    p.name,
                    serde_saphyr::to_string(&doc).unwrap_or_default()
                )),
                None => skipped.push(format!(
                    "{}/{}/{}: no patch for kind {:?} (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob or Rollout): edit it by hand",
                    p.namespace,
                    clean(&w.kind),
                    clean(&w.workload),
                    w.kind
                )),
            }
        }
    }
    let mut notes = notes(&rows, docs.len() + skipped.len());
    notes.extend(skipped);
    (docs.join("---\n"), notes)
}
