//! Identities that meet at one value: a manifest without a namespace can be deployed into
//! several, so two wants can land on the same scalar.

use std::collections::{BTreeMap, BTreeSet};

use super::{Change, Op, Plan};
use crate::quantity;
use crate::repo::Problem;
use crate::yamledit::Seg;

/// The value an op writes: document and path, and inside an inline patch, the path there.
pub(super) type Spot = (usize, Vec<Seg>, Option<(usize, Vec<Seg>)>);

/// One spot of a file: the changes that write it and the identities already content with it.
type SpotGroup<'a> = (Spot, Vec<usize>, Vec<&'a Change>);

pub(super) fn spot(op: &Op) -> Spot {
    match op {
        Op::Set(set) => (set.doc, set.path.clone(), None),
        Op::Embedded(e) => (
            e.doc,
            e.path.clone(),
            e.sets.first().map(|s| (s.doc, s.path.clone())),
        ),
    }
}

/// A manifest without a namespace can be deployed into several, so two identities can meet at
/// one value. When they agree, the value is written once; when they disagree, none of them is
/// written and each is reported — which namespace should win is not ours to guess, and letting
/// the last one win would make the result depend on the order of the policies.
pub(super) fn settle_shared_spots(plan: &mut Plan) {
    let mut withdrawn = BTreeSet::new();
    let mut problems = Vec::new();
    // Per file and spot: the changes that write it, and the identities already content with it.
    let mut groups: BTreeMap<&str, Vec<SpotGroup>> = BTreeMap::new();
    for (file, file_plan) in &plan.files {
        for (id, op) in &file_plan.ops {
            let Some(id) = *id else { continue };
            let at = spot(op);
            let list = groups.entry(file.as_str()).or_default();
            match list.iter_mut().find(|(s, _, _)| *s == at) {
                Some((_, ids, _)) => ids.push(id),
                None => list.push((at, vec![id], Vec::new())),
            }
        }
    }
    for (file, at, change) in &plan.settled {
        if let Some(list) = groups.get_mut(file.as_str())
            && let Some((_, _, content)) = list.iter_mut().find(|(s, _, _)| s == at)
        {
            content.push(change);
        }
    }
    for (file, list) in groups {
        for (_, ids, content) in list {
            let involved: Vec<&Change> = ids
                .iter()
                .map(|&i| &plan.changes[i])
                .chain(content.iter().copied())
                .collect();
            if involved.len() < 2 {
                continue;
            }
            let first = involved[0];
            let agree = involved.iter().all(|c| {
                c.to == first.to || quantity::semantically_equal(&c.to, &first.to).unwrap_or(false)
            });
            if agree {
                withdrawn.extend(ids[1..].iter().copied());
                continue;
            }
            for (i, c) in involved.iter().enumerate() {
                let others: Vec<String> = involved
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, o)| {
                        format!("{}/{}/{} (wants {})", o.namespace, o.kind, o.workload, o.to)
                    })
                    .collect();
                problems.push(Problem {
                    namespace: c.namespace.clone(),
                    kind: c.kind.clone(),
                    workload: c.workload.clone(),
                    container: Some(c.container.clone()),
                    fields: vec![c.field],
                    reason: format!(
                        "the value in {file} also decides {}; give each namespace its own \
                         overlay or marker",
                        others.join(", ")
                    ),
                });
            }
            withdrawn.extend(ids);
        }
    }
    if withdrawn.is_empty() {
        return;
    }
    let mut renumber = Vec::with_capacity(plan.changes.len());
    let mut kept = Vec::new();
    for (i, change) in std::mem::take(&mut plan.changes).into_iter().enumerate() {
        if withdrawn.contains(&i) {
            renumber.push(None);
        } else {
            renumber.push(Some(kept.len()));
            kept.push(change);
        }
    }
    plan.changes = kept;
    for file_plan in plan.files.values_mut() {
        file_plan.ops.retain_mut(|(id, _)| match id {
            None => true,
            Some(i) => match renumber[*i] {
                Some(n) => {
                    *id = Some(n);
                    true
                }
                None => false,
            },
        });
    }
    // Supporting ops stay: they belong to overlay patches, which are per namespace and so
    // never shared between identities.
    plan.problems.extend(problems);
}
