//! One release's plan: render as given, trace the fields that need a new value, edit the last
//! layer of the chain that sets each traced key (the last editable layer when none does)
//! workload by workload, and keep each edit only if rendering again shows exactly the intended
//! fields changed. A key whose last setter is a layer attune cannot edit (`--set`, a live
//! object's inline values) is a problem that says where it is set.

use std::collections::BTreeMap;

use super::candidates::ValuesText;
use super::layer::{Origin, ValuesFile};
use super::rendered::Rendered;
use super::trace::{Chain, Target, Traced, trace};
use super::verify::{Intended, only_intended};
use super::{Render, RenderError};
use crate::quantity;
use crate::repo::{Change, Field, Problem, Site, Want};

/// One release to plan for.
pub struct Release<'a> {
    /// The chart directory, for messages.
    pub chart: &'a str,
    pub name: &'a str,
    pub namespace: &'a str,
    /// Values `helm` reads without being told (the chart's and its subcharts' `values.yaml`),
    /// searched for candidate keys only.
    pub defaults: Vec<ValuesText<'a>>,
    /// The layers Helm merges, in order (the last wins): values files, then inline values,
    /// then fixed layers such as `--set`. Each key is edited in the last layer that sets it.
    pub files: &'a [ValuesFile],
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
    /// The layer edited: the last one that sets `key`, or the last editable one.
    layer: usize,
    key: Vec<String>,
    value: &'w str,
    from: Option<String>,
}

/// Plans every want that the release renders; wants it does not render are problems.
pub fn plan_release(release: &Release<'_>, wants: &[Want], render: &mut dyn Render) -> HelmOutcome {
    let mut out = HelmOutcome::default();
    let fail = |out: &mut HelmOutcome, why: String| {
        wants
            .iter()
            .for_each(|w| out.problems.push(Problem::of(w, None, &[], why.clone())));
    };
    if release.files.is_empty() {
        fail(&mut out, "no values file to edit was given".into());
        return out;
    }
    let mut layers = release.files.to_vec();
    let traced = values_of(&layers).and_then(|values| {
        let current = render_chain(render, &values, release.namespace).map_err(|e| {
            format!(
                "helm template of {} as release {}: {e}",
                release.chart, release.name
            )
        })?;
        let targets = targets(release, &current, wants, &mut out.problems);
        let traced = trace_all(release, render, &values, &current, &targets)?;
        Ok((current, targets, traced))
    });
    let (mut current, targets, traced) = match traced {
        Ok(t) => t,
        Err(why) => {
            fail(&mut out, why);
            return out;
        }
    };
    for want in wants {
        let edits = edits_for(release, &layers, want, &targets, &traced, &mut out.problems);
        if edits.is_empty() {
            continue;
        }
        match try_edit(release, render, &layers, &current, &edits) {
            Ok((next, rendered)) => {
                current = rendered;
                out.changes
                    .extend(edits.iter().map(|e| change(want, e, &next[e.layer].path)));
                layers = next;
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
    out.files = edited_files(release.files, &layers);
    out
}

/// Each layer's values, as `helm -f` reads them.
fn values_of(layers: &[ValuesFile]) -> Result<Vec<String>, String> {
    layers
        .iter()
        .map(|l| {
            l.values()
                .map_err(|e| format!("the values in {} cannot be read: {e}", l.describe()))
        })
        .collect()
}

fn trace_all(
    release: &Release<'_>,
    render: &mut dyn Render,
    texts: &[String],
    current: &Rendered,
    targets: &[(Target, &str, Option<String>)],
) -> Result<BTreeMap<Target, Traced>, String> {
    let mut values = release.defaults.clone();
    values.extend(texts.iter().map(|t| ValuesText {
        prefix: vec![],
        text: t,
    }));
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut chain = Chain {
        render,
        values: &refs,
        namespace: release.namespace,
    };
    let list: Vec<Target> = targets.iter().map(|(t, _, _)| t.clone()).collect();
    trace(&mut chain, current, &values, &list)
        .map_err(|e| format!("a values file of {} does not parse: {e}", release.chart))
}

/// The chart's own values file, as a repository path.
fn defaults_path(chart: &str) -> String {
    match chart.trim_end_matches('/') {
        "" | "." => "values.yaml".to_owned(),
        dir => format!("{dir}/values.yaml"),
    }
}

/// (path, before, after) of each file whose text the edits changed, in chain order.
fn edited_files(before: &[ValuesFile], after: &[ValuesFile]) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    for (b, a) in before.iter().zip(after) {
        if a.editable() && a.text != b.text && !out.iter().any(|(p, _, _)| *p == a.path) {
            out.push((a.path.clone(), b.text.clone(), a.text.clone()));
        }
    }
    out
}

/// The layer to edit for `key`: the last that sets it, else the last editable one. The chart's
/// own `values.yaml` (`defaults`), when it is in the chain, counts as a setter only if no other
/// layer is editable: an environment's file or inline values are where a release is tuned.
/// `Err` says where the key is set when that layer cannot be edited.
fn layer_for(layers: &[ValuesFile], defaults: &str, key: &[String]) -> Result<usize, String> {
    let shown = key.join(".");
    let is_defaults = |l: &ValuesFile| l.path == defaults && l.origin == Origin::File;
    let others = layers.iter().any(|l| l.editable() && !is_defaults(l));
    let setter = layers
        .iter()
        .rposition(|l| l.sets(key) && !(others && is_defaults(l)));
    match setter {
        Some(i) => match &layers[i].origin {
            Origin::Fixed { what, fix } => Err(format!(
                "the Helm values key {shown} is set by {what}, which attune does not edit; {fix}"
            )),
            _ => Ok(i),
        },
        None => layers
            .iter()
            .rposition(ValuesFile::editable)
            .ok_or_else(|| {
                format!("no values file or inline values to write the Helm values key {shown} into")
            }),
    }
}

fn render_chain(
    render: &mut dyn Render,
    texts: &[String],
    namespace: &str,
) -> Result<Rendered, RenderError> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    Chain {
        render,
        values: &refs,
        namespace,
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
    layers: &[ValuesFile],
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
            Some(Traced::Key(key)) => match layer_for(layers, &defaults_path(release.chart), key) {
                Ok(layer) => {
                    edits.push(Edit {
                        target: t.clone(),
                        layer,
                        key: key.clone(),
                        value,
                        from: from.clone(),
                    });
                    continue;
                }
                Err(why) => why,
            },
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

/// Edits the layers for one workload and renders again; `Err` says why the edit is not kept.
/// Returns the layers as they are after the edit (every layer of an edited file carries the
/// file's new text) and the new render.
fn try_edit(
    release: &Release<'_>,
    render: &mut dyn Render,
    layers: &[ValuesFile],
    current: &Rendered,
    edits: &[Edit<'_>],
) -> Result<(Vec<ValuesFile>, Rendered), String> {
    let mut next = layers.to_vec();
    let mut touched: Vec<usize> = edits.iter().map(|e| e.layer).collect();
    touched.sort_unstable();
    touched.dedup();
    for i in touched {
        let sets: Vec<(&[String], &str)> = edits
            .iter()
            .filter(|e| e.layer == i)
            .map(|e| (e.key.as_slice(), e.value))
            .collect();
        let layer = &next[i];
        let text = layer
            .edited(&sets)
            .ok_or_else(|| format!("{} cannot be edited", layer.describe()))?
            .map_err(|e| format!("cannot edit {}: {e}", layer.describe()))?;
        let path = layer.path.clone();
        for l in next.iter_mut().filter(|l| l.editable() && l.path == path) {
            l.text.clone_from(&text);
        }
    }
    let mut shown: Vec<String> = Vec::new();
    for e in edits {
        let d = next[e.layer].describe();
        if !shown.contains(&d) {
            shown.push(d);
        }
    }
    let shown = shown.join(" and ");
    let values = values_of(&next)?;
    let after = render_chain(render, &values, release.namespace)
        .map_err(|e| format!("helm template after editing {shown}: {e}"))?;
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
    only_intended(current, &after, &intended)
        .map_err(|why| format!("editing {shown} was not kept: {why}"))?;
    Ok((next, after))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Vec<String> {
        k.split('.').map(str::to_owned).collect()
    }

    fn chain() -> Vec<ValuesFile> {
        vec![
            ValuesFile::file("values.yaml", "web:\n  resources:\n    requests:\n      cpu: 1\n      memory: 1Gi\n"),
            ValuesFile {
                path: "release.yaml".into(),
                text: "kind: HelmRelease\nspec:\n  values:\n    web:\n      resources:\n        requests:\n          cpu: 2\n".into(),
                origin: Origin::Inline {
                    doc: 0,
                    at: key("spec.values"),
                },
            },
            ValuesFile {
                path: "--set".into(),
                text: "{\"web\":{\"resources\":{\"limits\":{\"cpu\":\"3\"}}}}".into(),
                origin: Origin::Fixed {
                    what: "--set web.resources.limits.cpu=3".into(),
                    fix: "remove it".into(),
                },
            },
        ]
    }

    #[test]
    fn the_last_layer_that_sets_a_key_is_edited_and_a_fixed_one_is_named() {
        let layers = chain();
        let l = |layers: &[ValuesFile], k: &str| layer_for(layers, "chart/values.yaml", &key(k));
        assert_eq!(l(&layers, "web.resources.requests.cpu"), Ok(1));
        assert_eq!(l(&layers, "web.resources.requests.memory"), Ok(0));
        let memory = key("web.resources.requests.memory");
        assert_eq!(
            layer_for(&layers, "values.yaml", &memory),
            Ok(1),
            "the chart's own values.yaml is the defaults: the later layer is where it is tuned"
        );
        assert_eq!(
            layer_for(&layers[..1], "values.yaml", &memory),
            Ok(0),
            "unless it is the only editable layer"
        );
        assert_eq!(
            l(&layers, "web.resources.limits.memory"),
            Ok(1),
            "a key no layer sets goes to the last editable layer"
        );
        assert_eq!(
            l(&layers, "web.resources.limits.cpu"),
            Err("the Helm values key web.resources.limits.cpu is set by --set web.resources.limits.cpu=3, which attune does not edit; remove it".into())
        );
        let only_fixed = &layers[2..];
        assert!(
            l(only_fixed, "web.resources.requests.cpu")
                .unwrap_err()
                .starts_with("no values file or inline values")
        );
    }

    #[test]
    fn only_files_whose_text_changed_are_reported_once() {
        let before = chain();
        let mut after = chain();
        after[1].text = after[1].text.replace("cpu: 2", "cpu: 750m");
        let files = edited_files(&before, &after);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0, "release.yaml");
        assert!(files[0].2.contains("cpu: 750m"));
    }
}
