//! One release's plan: render as given, trace the fields that need a new value, edit the last
//! values file of the chain workload by workload, and keep each edit only if rendering again
//! shows exactly the intended fields changed.

use std::collections::BTreeMap;

use super::candidates::ValuesText;
use super::rendered::Rendered;
use super::trace::{Chain, Target, Traced, trace};
use super::verify::{Intended, only_intended};
use super::{Render, RenderError};
use crate::quantity;
use crate::repo::{Change, Field, Problem, Site, Want};
use crate::yamledit::{Seg, Set, set_values};

/// A values file of the release's chain: its path (for reports) and text.
#[derive(Debug, Clone, PartialEq)]
pub struct ValuesFile {
    pub path: String,
    pub text: String,
}

/// One release to plan for.
pub struct Release<'a> {
    /// The chart directory, for messages.
    pub chart: &'a str,
    pub name: &'a str,
    pub namespace: &'a str,
    /// Values `helm` reads without being told (the chart's and its subcharts' `values.yaml`),
    /// searched for candidate keys only.
    pub defaults: Vec<ValuesText<'a>>,
    /// The `-f` chain, in order. Edits go to the last file.
    pub files: &'a [ValuesFile],
    /// Values the tool merges after every file and that are never edited (an owner's inline
    /// values: a HelmRelease's `spec.values`, an Application's `helm.valuesObject`), in that
    /// order. They are searched for candidate keys and rendered after the files, so a key they
    /// set makes the file edit fail its check instead of being written where it cannot win.
    pub fixed: &'a [String],
}

/// The edits, what could not be done, and the files as they will be.
#[derive(Debug, Default)]
pub struct HelmOutcome {
    pub changes: Vec<Change>,
    pub problems: Vec<Problem>,
    /// (path, before, after) of each edited values file.
    pub files: Vec<(String, String, String)>,
}

struct Edit<'w> {
    target: Target,
    key: Vec<String>,
    value: &'w str,
    from: Option<String>,
}

/// Plans every want that the release renders; wants it does not render are problems.
pub fn plan_release(release: &Release<'_>, wants: &[Want], render: &mut dyn Render) -> HelmOutcome {
    let mut out = HelmOutcome::default();
    let Some(last) = release.files.last() else {
        for w in wants {
            out.problems.push(Problem::of(
                w,
                None,
                &[],
                "no values file to edit was given".into(),
            ));
        }
        return out;
    };
    let mut texts: Vec<String> = release.files.iter().map(|f| f.text.clone()).collect();
    let mut current = match render_chain(render, &texts, release) {
        Ok(r) => r,
        Err(e) => {
            let why = format!(
                "helm template of {} as release {}: {e}",
                release.chart, release.name
            );
            wants
                .iter()
                .for_each(|w| out.problems.push(Problem::of(w, None, &[], why.clone())));
            return out;
        }
    };
    let targets = targets(release, &current, wants, &mut out.problems);
    let traced = {
        let mut values = release.defaults.clone();
        values.extend(texts.iter().chain(release.fixed).map(|t| ValuesText {
            prefix: vec![],
            text: t,
        }));
        let refs = layers(&texts, release);
        let mut chain = Chain {
            render: &mut *render,
            values: &refs,
            namespace: release.namespace,
        };
        let list: Vec<Target> = targets.iter().map(|(t, _, _)| t.clone()).collect();
        trace(&mut chain, &current, &values, &list)
    };
    let traced = match traced {
        Ok(t) => t,
        Err(e) => {
            let why = format!("a values file of {} does not parse: {e}", release.chart);
            wants
                .iter()
                .for_each(|w| out.problems.push(Problem::of(w, None, &[], why.clone())));
            return out;
        }
    };
    let before_all = texts.last().cloned().unwrap_or_default();
    for want in wants {
        let edits = edits_for(release, want, &targets, &traced, &mut out.problems);
        if edits.is_empty() {
            continue;
        }
        match try_edit(release, render, &texts, &current, &edits) {
            Ok((text, rendered)) => {
                if let Some(t) = texts.last_mut() {
                    *t = text;
                }
                current = rendered;
                out.changes
                    .extend(edits.iter().map(|e| change(want, e, &last.path)));
            }
            Err(why) => {
                for e in &edits {
                    let c = Some(e.target.container.as_str());
                    out.problems
                        .push(Problem::of(want, c, &[e.target.field], why.clone()));
                }
            }
        }
    }
    let after = texts.last().cloned().unwrap_or_default();
    if after != before_all {
        out.files.push((last.path.clone(), before_all, after));
    }
    out
}

/// What `helm template` is given: the files (`texts`, maybe edited), then the fixed layers.
fn layers<'t>(texts: &'t [String], release: &'t Release<'_>) -> Vec<&'t str> {
    texts
        .iter()
        .chain(release.fixed)
        .map(String::as_str)
        .collect()
}

fn render_chain(
    render: &mut dyn Render,
    texts: &[String],
    release: &Release<'_>,
) -> Result<Rendered, RenderError> {
    Chain {
        render,
        values: &layers(texts, release),
        namespace: release.namespace,
    }
    .render_with(None)
}

/// The fields that need a new value, each with its want's value and what renders now.
/// Limits are written only where one renders already; a container that does not exist is a
/// problem.
fn targets<'w>(
    release: &Release<'_>,
    current: &Rendered,
    wants: &'w [Want],
    problems: &mut Vec<Problem>,
) -> Vec<(Target, &'w str, Option<String>)> {
    let mut out = Vec::new();
    for want in wants {
        let Some(w) = current.workload(&want.namespace, &want.kind, &want.workload) else {
            let rendered: Vec<String> = current.workloads.iter().map(|w| w.id()).collect();
            let why = format!(
                "chart {} as release {} in {} does not render {}/{}/{} (it renders: {})",
                release.chart,
                release.name,
                release.namespace,
                want.namespace,
                want.kind,
                want.workload,
                if rendered.is_empty() {
                    "no workload".into()
                } else {
                    rendered.join(", ")
                }
            );
            problems.push(Problem::of(want, None, &[], why));
            continue;
        };
        for c in &want.containers {
            if !w.containers.iter().any(|(n, _)| *n == c.name) {
                let names: Vec<&str> = w.containers.iter().map(|(n, _)| n.as_str()).collect();
                let why = format!(
                    "container \"{}\" not found (containers: {})",
                    c.name,
                    names.join(", ")
                );
                let fields: Vec<Field> = c.fields.iter().map(|(f, _)| *f).collect();
                problems.push(Problem::of(want, Some(&c.name), &fields, why));
                continue;
            }
            for (field, value) in &c.fields {
                let now = current.field(w, &c.name, *field);
                let same =
                    now.is_some_and(|n| quantity::semantically_equal(n, value).unwrap_or(false));
                if same || (field.is_limit() && now.is_none()) {
                    continue;
                }
                let target = Target {
                    namespace: want.namespace.clone(),
                    kind: want.kind.clone(),
                    workload: want.workload.clone(),
                    container: c.name.clone(),
                    field: *field,
                };
                out.push((target, value.as_str(), now.map(str::to_owned)));
            }
        }
    }
    out
}

fn edits_for<'w>(
    release: &Release<'_>,
    want: &Want,
    targets: &[(Target, &'w str, Option<String>)],
    traced: &BTreeMap<Target, Traced>,
    problems: &mut Vec<Problem>,
) -> Vec<Edit<'w>> {
    let mut edits = Vec::new();
    let mine = targets.iter().filter(|(t, _, _)| {
        t.namespace == want.namespace && t.kind == want.kind && t.workload == want.workload
    });
    for (t, value, from) in mine {
        let why = match traced.get(t) {
            Some(Traced::Key(key)) => {
                edits.push(Edit {
                    target: t.clone(),
                    key: key.clone(),
                    value,
                    from: from.clone(),
                });
                continue;
            }
            Some(Traced::Shared { key, times }) => format!(
                "the Helm values key {} feeds {times} places in the release, not only this one; \
                 give the container its own key in chart {}",
                key.join("."),
                release.chart
            ),
            Some(Traced::Computed) => format!(
                "chart {} computes this value from other values; no values key sets it as is \
                 (not guessed), so set it by hand or add a $attune marker",
                release.chart
            ),
            Some(Traced::Unfed(failed)) => format!(
                "no Helm values key of chart {} feeds this value (tried every resources map in \
                 the values, resources and <component>.resources{}); add a $attune marker",
                release.chart,
                failed
                    .as_ref()
                    .map(|e| format!("; a render with sentinels failed: {e}"))
                    .unwrap_or_default()
            ),
            None => "the value was not traced".to_owned(),
        };
        problems.push(Problem::of(want, Some(&t.container), &[t.field], why));
    }
    edits
}

/// Edits the last values file for one workload and renders again; `Err` says why the edit
/// is not kept.
fn try_edit(
    release: &Release<'_>,
    render: &mut dyn Render,
    texts: &[String],
    current: &Rendered,
    edits: &[Edit<'_>],
) -> Result<(String, Rendered), String> {
    let last = texts.last().map(String::as_str).unwrap_or_default();
    let path = release
        .files
        .last()
        .map(|f| f.path.as_str())
        .unwrap_or_default();
    let sets: Vec<Set> = edits
        .iter()
        .map(|e| Set {
            doc: 0,
            path: e.key.iter().map(|k| Seg::Key(k.clone())).collect(),
            value: e.value.to_owned(),
        })
        .collect();
    let text = set_values(last, &sets, &[]).map_err(|e| format!("cannot edit {path}: {e}"))?;
    let mut next = texts.to_vec();
    if let Some(t) = next.last_mut() {
        t.clone_from(&text);
    }
    let after = render_chain(render, &next, release)
        .map_err(|e| format!("helm template after editing {path}: {e}"))?;
    let mut intended = Vec::new();
    for e in edits {
        let t = &e.target;
        let w = current
            .workload(&t.namespace, &t.kind, &t.workload)
            .ok_or_else(|| "the workload vanished from the render".to_owned())?;
        let at = Rendered::field_path(w, &t.container, t.field)
            .ok_or_else(|| "the container vanished from the render".to_owned())?;
        intended.push(Intended {
            doc: w.doc,
            path: at,
            value: e.value,
            name: format!("{} {}", t.container, t.field),
        });
    }
    only_intended(current, &after, &intended).map_err(|why| {
        let fixed = if release.fixed.is_empty() {
            ""
        } else {
            " (the owner's inline values come after this file and win where they set the key)"
        };
        format!("editing {path} was not kept: {why}{fixed}")
    })?;
    Ok((text, after))
}

fn change(want: &Want, e: &Edit<'_>, file: &str) -> Change {
    Change {
        policy: want.policy.clone(),
        namespace: want.namespace.clone(),
        kind: want.kind.clone(),
        workload: want.workload.clone(),
        container: e.target.container.clone(),
        field: e.target.field,
        file: file.to_owned(),
        from: e.from.clone(),
        to: e.value.to_owned(),
        site: Site::HelmValues,
        key: Some(e.key.join(".")),
    }
}
