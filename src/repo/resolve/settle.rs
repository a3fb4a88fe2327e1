//! Identities that meet at one value: a manifest without a namespace can be deployed into
//! several, so two wants can land on the same scalar.

use std::collections::{BTreeMap, BTreeSet};

use super::{Change, Plan, ValueAt};
use crate::quantity;
use crate::repo::Problem;

/// One place of a file: the changes that write it and the identities already content with it.
struct PlaceGroup<'a> {
    at: ValueAt,
    writers: Vec<usize>,
    content: Vec<&'a Change>,
}

/// A manifest without a namespace can be deployed into several, so two identities can meet at
/// one value. When they agree, the value is written once; when they disagree, none of them is
/// written and each is reported — which namespace should win is not ours to guess, and letting
/// the last one win would make the result depend on the order of the policies.
pub(super) fn settle_shared_places(plan: &mut Plan) {
    let mut withdrawn = BTreeSet::new();
    let mut problems = Vec::new();
    for (file, groups) in place_groups(plan) {
        for group in groups {
            let involved: Vec<&Change> = group
                .writers
                .iter()
                .map(|&i| &plan.changes[i])
                .chain(group.content.iter().copied())
                .collect();
            if involved.len() < 2 {
                continue;
            }
            let first = involved[0];
            let agree = involved.iter().all(|c| {
                c.to == first.to || quantity::semantically_equal(&c.to, &first.to).unwrap_or(false)
            });
            if agree {
                withdrawn.extend(group.writers[1..].iter().copied());
                continue;
            }
            problems.extend(conflicts(file, &involved));
            withdrawn.extend(group.writers);
        }
    }
    if withdrawn.is_empty() {
        return;
    }
    withdraw(plan, &withdrawn);
    plan.problems.extend(problems);
}

/// Per file, the places that changes write, each with the identities already content with it.
fn place_groups(plan: &Plan) -> BTreeMap<&str, Vec<PlaceGroup<'_>>> {
    let mut groups: BTreeMap<&str, Vec<PlaceGroup>> = BTreeMap::new();
    for (file, file_plan) in &plan.files {
        for (id, op) in &file_plan.ops {
            let Some(id) = *id else { continue };
            let list = groups.entry(file.as_str()).or_default();
            match list.iter_mut().find(|g| g.at == op.at) {
                Some(group) => group.writers.push(id),
                None => list.push(PlaceGroup {
                    at: op.at.clone(),
                    writers: vec![id],
                    content: Vec::new(),
                }),
            }
        }
    }
    for (file, at, change) in &plan.settled {
        if let Some(list) = groups.get_mut(file.as_str())
            && let Some(group) = list.iter_mut().find(|g| &g.at == at)
        {
            group.content.push(change);
        }
    }
    groups
}

/// One problem per identity that disagrees with the others at one place of `file`.
fn conflicts(file: &str, involved: &[&Change]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, c) in involved.iter().enumerate() {
        let others: Vec<String> = involved
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, o)| format!("{}/{}/{} (wants {})", o.namespace, o.kind, o.workload, o.to))
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
    problems
}

/// Drops the `withdrawn` changes and their operations, renumbering the rest.
fn withdraw(plan: &mut Plan, withdrawn: &BTreeSet<usize>) {
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
}
