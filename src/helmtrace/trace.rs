//! Finding the values key behind each container field: render with sentinels at candidate
//! keys and keep the key whose sentinel lands in exactly that field.

use std::collections::BTreeMap;

use super::candidates::{self, Candidate, ValuesText};
use super::rendered::Rendered;
use super::{Render, RenderError};
use crate::repo::Field;

/// Renders one trace may spend on sentinel batches (a failing batch is split in halves).
const RENDER_BUDGET: usize = 32;

/// A container field of a workload in the release (`workload` as `namespace/Kind/name`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    pub namespace: String,
    pub kind: String,
    pub workload: String,
    pub container: String,
    pub field: Field,
}

/// What feeds one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Traced {
    /// This values key, and nothing else in the release reads it.
    Key(Vec<String>),
    /// This key, but its sentinel appeared `times` times in the release: other fields read it.
    Shared { key: Vec<String>, times: usize },
    /// The field changed under sentinels but to none of them: the chart computes it.
    Computed,
    /// No candidate key moved it: set in the template, or fed by a key of another shape.
    /// With the first error of a sentinel render that failed, if one did.
    Unfed(Option<String>),
}

/// The chain a trace renders: the release's values files, then a sentinel file.
pub struct Chain<'c> {
    pub render: &'c mut dyn Render,
    pub values: &'c [&'c str],
    pub namespace: &'c str,
}

impl Chain<'_> {
    pub fn render_with(&mut self, extra: Option<&str>) -> Result<Rendered, RenderError> {
        let mut all: Vec<&str> = self.values.to_vec();
        all.extend(extra);
        let text = self.render.render(&all)?;
        Rendered::parse(&text, self.namespace).map_err(RenderError::Output)
    }
}

/// Traces every target: first the leaves under the `resources` maps the values already have,
/// then, for what is left, the well-known shapes (`resources`, `<component>.resources`).
pub fn trace(
    chain: &mut Chain<'_>,
    baseline: &Rendered,
    values: &[ValuesText<'_>],
    targets: &[Target],
) -> Result<BTreeMap<Target, Traced>, String> {
    let first = candidates::resources_maps(values)?;
    let second = candidates::well_known(values, &first)?;
    let mut out = BTreeMap::new();
    let mut numbered = 0;
    let mut failed = None;
    for paths in [first, second] {
        let open: Vec<&Target> = targets.iter().filter(|t| !out.contains_key(*t)).collect();
        if open.is_empty() || paths.is_empty() {
            continue;
        }
        let cands = candidates::for_paths(&paths, numbered);
        numbered += cands.len();
        let refs: Vec<&Candidate> = cands.iter().collect();
        let mut budget = RENDER_BUDGET;
        let mut batches = Vec::new();
        render_batches(chain, &refs, &mut budget, &mut batches, &mut failed);
        for t in open {
            if let Some(found) = judge(t, baseline, &batches) {
                out.insert(t.clone(), found);
            }
        }
    }
    for t in targets {
        out.entry(t.clone())
            .or_insert_with(|| Traced::Unfed(failed.clone()));
    }
    Ok(out)
}

/// Renders `cands` in one batch; a batch that fails is split in halves until single paths,
/// and a single path that fails is dropped (a chart may refuse a map at a key it reads as a
/// string).
fn render_batches<'c>(
    chain: &mut Chain<'_>,
    cands: &[&'c Candidate],
    budget: &mut usize,
    out: &mut Vec<(Vec<&'c Candidate>, Rendered)>,
    failed: &mut Option<String>,
) {
    if cands.is_empty() || *budget == 0 {
        return;
    }
    *budget -= 1;
    let overlay = candidates::overlay(cands);
    match chain.render_with(Some(&overlay)) {
        Ok(r) => out.push((cands.to_vec(), r)),
        Err(e) => {
            failed.get_or_insert_with(|| e.to_string());
            if cands.len() > 4 {
                // Split on a path boundary: four candidates per `resources` path.
                let half = (cands.len() / 8).max(1) * 4;
                render_batches(chain, &cands[..half], budget, out, failed);
                render_batches(chain, &cands[half..], budget, out, failed);
            }
        }
    }
}

fn judge(
    t: &Target,
    baseline: &Rendered,
    batches: &[(Vec<&Candidate>, Rendered)],
) -> Option<Traced> {
    let before = baseline
        .workload(&t.namespace, &t.kind, &t.workload)
        .and_then(|w| baseline.field(w, &t.container, t.field));
    let mut moved = false;
    for (cands, r) in batches {
        let Some(w) = r.workload(&t.namespace, &t.kind, &t.workload) else {
            continue;
        };
        // A field that vanished under sentinels says nothing about where it comes from.
        let Some(now) = r.field(w, &t.container, t.field) else {
            continue;
        };
        if let Some(c) = cands.iter().find(|c| c.sentinel == now) {
            let times = r.occurrences(&c.sentinel);
            return Some(if times == 1 {
                Traced::Key(c.key())
            } else {
                Traced::Shared {
                    key: c.key(),
                    times,
                }
            });
        }
        moved |= before != Some(now);
    }
    moved.then_some(Traced::Computed)
}
